//! Streaming Cobblestone-256 (issue 15): encrypt a file described by the
//! input with arbitrary split points, optionally tamper with the ciphertext
//! (flip, truncate, extend, swap or duplicate chunks, splice from another
//! key), and decrypt it with other arbitrary split points.
//!
//! Oracles: never panics; untampered files round-trip and have the length
//! `ciphertext_len` predicts; whatever a decryptor releases is exactly an
//! authentic prefix of whole chunks (re-encrypting it with the file's salt
//! reproduces the ciphertext's prefix), so no unauthenticated byte is ever
//! released; tampered files never decrypt to anything but the original.
#![no_main]

use arbitrary::Arbitrary;
use fanseal::attachment::{
    ciphertext_len, AttachmentError, AttachmentKey, Decryptor, Encryptor, CHUNK, HEADER,
    SEALED_CHUNK,
};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Tamper {
    Flip { at: u32, bit: u8 },
    Truncate { at: u32 },
    Extend { bytes: Vec<u8> },
    Swap { a: u8, b: u8 },
    Duplicate { from: u8, to: u8 },
    OtherKey,
    OtherContext,
}

#[derive(Debug, Arbitrary)]
struct Input {
    len: u16,
    extra_chunks: u8,
    fill: u8,
    salt: [u8; 24],
    enc_splits: Vec<u16>,
    dec_splits: Vec<u16>,
    tamper: Vec<Tamper>,
}

fn split<'a>(mut data: &'a [u8], splits: &[u16]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut i = 0;
    while !data.is_empty() {
        let n = splits.get(i % splits.len().max(1)).map_or(data.len(), |&s| usize::from(s) % 40_000);
        let (a, b) = data.split_at(n.min(data.len()));
        out.push(a);
        data = b;
        i += 1;
        if n == 0 && i > splits.len() {
            out.push(data);
            break;
        }
    }
    out
}

fn encrypt(key: &AttachmentKey, ctx: &[u8], salt: [u8; 24], pt: &[u8], splits: &[u16]) -> Vec<u8> {
    let mut enc = Encryptor::with_salt(key, salt, ctx).unwrap();
    let mut ct = Vec::new();
    for piece in split(pt, splits) {
        enc.update(piece, &mut ct).unwrap();
    }
    let n = enc.finish(&mut ct).unwrap();
    assert_eq!(n, ct.len() as u64);
    assert_eq!(ciphertext_len(pt.len() as u64), Ok(n));
    ct
}

fn decrypt(key: &AttachmentKey, ctx: &[u8], ct: &[u8], splits: &[u16]) -> (Vec<u8>, Result<u64, AttachmentError>) {
    let mut dec = Decryptor::new(key, ctx).unwrap();
    let mut out = Vec::new();
    for piece in split(ct, splits) {
        let before = out.len();
        if let Err(e) = dec.update(piece, &mut out) {
            assert_eq!(dec.update(&[], &mut out), Err(AttachmentError::Poisoned));
            assert_eq!(dec.finish(&mut out), Err(AttachmentError::Poisoned));
            return (out, Err(e));
        }
        assert!(out.len() >= before);
    }
    let r = dec.finish(&mut out);
    (out, r)
}

fuzz_target!(|input: Input| {
    let key = AttachmentKey::from_bytes([0x11; 32]);
    let ctx: &[u8] = b"fuzz context";
    let len = usize::from(input.len) + usize::from(input.extra_chunks % 4) * CHUNK;
    let pt: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31) ^ input.fill).collect();
    let ct = encrypt(&key, ctx, input.salt, &pt, &input.enc_splits);

    // Untampered: round trip with any split points.
    let (out, r) = decrypt(&key, ctx, &ct, &input.dec_splits);
    assert_eq!(r, Ok(len as u64));
    assert_eq!(out, pt);

    if input.tamper.is_empty() {
        return;
    }
    let (mut bad, mut k2, mut ctx2) = (ct.clone(), key.clone(), ctx.to_vec());
    let chunks = (bad.len() - HEADER).div_ceil(SEALED_CHUNK);
    for t in input.tamper.iter().take(4) {
        match t {
            Tamper::Flip { at, bit } => {
                if !bad.is_empty() {
                    let i = *at as usize % bad.len();
                    bad[i] ^= 1 << (bit % 8);
                }
            }
            Tamper::Truncate { at } => bad.truncate(*at as usize % (bad.len() + 1)),
            Tamper::Extend { bytes } => bad.extend_from_slice(&bytes[..bytes.len().min(20_000)]),
            Tamper::Swap { a, b } => {
                let (a, b) = (usize::from(*a) % chunks, usize::from(*b) % chunks);
                let (ra, rb) = (HEADER + a * SEALED_CHUNK, HEADER + b * SEALED_CHUNK);
                if a != b && ra + SEALED_CHUNK <= bad.len() && rb + SEALED_CHUNK <= bad.len() {
                    let ca = bad[ra..ra + SEALED_CHUNK].to_vec();
                    let cb = bad[rb..rb + SEALED_CHUNK].to_vec();
                    bad[ra..ra + SEALED_CHUNK].copy_from_slice(&cb);
                    bad[rb..rb + SEALED_CHUNK].copy_from_slice(&ca);
                }
            }
            Tamper::Duplicate { from, to } => {
                let (a, b) = (usize::from(*from) % chunks, usize::from(*to) % chunks);
                let (ra, rb) = (HEADER + a * SEALED_CHUNK, HEADER + b * SEALED_CHUNK);
                if ra + SEALED_CHUNK <= bad.len() && rb <= bad.len() {
                    let ca = bad[ra..ra + SEALED_CHUNK].to_vec();
                    let end = (rb + SEALED_CHUNK).min(bad.len());
                    bad.splice(rb..end, ca);
                }
            }
            Tamper::OtherKey => k2 = AttachmentKey::from_bytes([0x22; 32]),
            Tamper::OtherContext => ctx2.push(0),
        }
    }
    let tampered = bad != ct || !k2.ct_eq(&key) || ctx2 != ctx;
    let (out, r) = decrypt(&k2, &ctx2, &bad, &input.dec_splits);
    if tampered {
        assert!(r.is_err() || out == pt, "a tampered file decrypted to something new");
    }
    // Released bytes: whole chunks, an authentic prefix of the original.
    if r.is_err() {
        assert_eq!(out.len() % CHUNK, 0, "released a partial chunk");
    }
    assert!(out.len() <= pt.len() && out[..] == pt[..out.len()], "released non-authentic bytes");
});
