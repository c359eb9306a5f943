//! Attachments (issue 15, P18): the attacks of DESIGN.md on Cobblestone-256
//! files, written as the attacker (or a broken store) would do them, and
//! proptest round trips with arbitrary split points. Every test checks the
//! exact error and that no unauthenticated byte was released.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use fanseal::attachment::{
    ciphertext_len, fanseal_context, plaintext_len, AttachmentError, AttachmentKey,
    AttachmentReference, AttachmentSealer, Decryptor, Encryptor, SeekFrom, SeekableDecryptor,
    CHUNK, HEADER, MAX_BINDING, MAX_CIPHERTEXT, MAX_CONTEXT, MAX_PLAINTEXT, SEALED_CHUNK, TAG,
};
use fanseal::DecodeError;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const CTX: &[u8] = b"attachment tests";

fn key(b: u8) -> AttachmentKey {
    AttachmentKey::from_bytes([b; 32])
}

fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ 0x5a).collect()
}

fn encrypt_with(k: &AttachmentKey, salt: [u8; 24], ctx: &[u8], pt: &[u8]) -> Vec<u8> {
    let mut enc = Encryptor::with_salt(k, salt, ctx).unwrap();
    let mut ct = Vec::new();
    enc.update(pt, &mut ct).unwrap();
    assert_eq!(enc.finish(&mut ct).unwrap(), ct.len() as u64);
    ct
}

fn encrypt(pt: &[u8]) -> Vec<u8> {
    encrypt_with(&key(1), [9; 24], CTX, pt)
}

/// Streaming decryption in pieces of `step` bytes: (released, result).
fn decrypt_steps(
    k: &AttachmentKey,
    ctx: &[u8],
    ct: &[u8],
    step: usize,
) -> (Vec<u8>, Result<u64, AttachmentError>) {
    let mut dec = Decryptor::new(k, ctx).unwrap();
    let mut out = Vec::new();
    for piece in ct.chunks(step.max(1)) {
        if let Err(e) = dec.update(piece, &mut out) {
            return (out, Err(e));
        }
    }
    let r = dec.finish(&mut out);
    (out, r)
}

fn decrypt(ct: &[u8]) -> (Vec<u8>, Result<u64, AttachmentError>) {
    decrypt_steps(&key(1), CTX, ct, 5000)
}

/// The released bytes are whole chunks of the original plaintext.
fn assert_authentic_prefix(out: &[u8], pt: &[u8]) {
    assert_eq!(out.len() % CHUNK, 0, "released a partial chunk");
    assert_eq!(
        out,
        &pt[..out.len()],
        "released bytes that are not the original"
    );
}

fn chunk(ct: &[u8], i: usize) -> std::ops::Range<usize> {
    let s = HEADER + i * SEALED_CHUNK;
    s..(s + SEALED_CHUNK).min(ct.len())
}

#[test]
fn round_trip_at_the_chunk_boundaries() {
    for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 5] {
        let pt = plaintext(len);
        let ct = encrypt(&pt);
        assert_eq!(ct.len() as u64, ciphertext_len(len as u64).unwrap());
        assert_eq!(plaintext_len(ct.len() as u64), Ok(len as u64));
        for step in [1, 16, 16_399, 16_400, 16_401, 100_000] {
            let (out, r) = decrypt_steps(&key(1), CTX, &ct, step);
            assert_eq!(r, Ok(len as u64));
            assert_eq!(out, pt);
        }
    }
}

#[test]
fn truncation_at_every_chunk_boundary_is_detected() {
    let pt = plaintext(4 * CHUNK + 100);
    let ct = encrypt(&pt);
    for k in 0..=4 {
        let cut = HEADER + k * SEALED_CHUNK;
        let (out, r) = decrypt(&ct[..cut]);
        assert_eq!(r, Err(AttachmentError::Truncated), "cut after {k} chunks");
        assert_authentic_prefix(&out, &pt);
        assert_eq!(plaintext_len(cut as u64), Err(AttachmentError::Truncated));
    }
    // A file of whole chunks loses its empty final chunk.
    let pt = plaintext(2 * CHUNK);
    let ct = encrypt(&pt);
    let (out, r) = decrypt(&ct[..ct.len() - TAG]);
    assert_eq!(r, Err(AttachmentError::Truncated));
    assert_eq!(
        out, pt,
        "both full chunks are authentic; finish reports the truncation"
    );
}

#[test]
fn truncation_inside_chunks_is_detected() {
    // Every length of a small file, and every length around each boundary
    // of a larger one.
    let small = plaintext(100);
    let ct = encrypt(&small);
    for cut in 0..ct.len() {
        let (out, r) = decrypt(&ct[..cut]);
        assert!(r.is_err(), "cut at {cut}");
        assert!(out.is_empty(), "cut at {cut} released bytes");
        if cut < HEADER + TAG {
            assert_eq!(r, Err(AttachmentError::Truncated), "cut at {cut}");
        }
    }
    let pt = plaintext(3 * CHUNK + 10);
    let ct = encrypt(&pt);
    for k in 0..3 {
        let b = HEADER + (k + 1) * SEALED_CHUNK;
        for cut in (b - 40..b + 40).filter(|&c| c != b && c < ct.len()) {
            let (out, r) = decrypt(&ct[..cut]);
            assert!(r.is_err(), "cut at {cut}");
            assert_authentic_prefix(&out, &pt);
        }
    }
}

#[test]
fn extension_is_detected() {
    let pt = plaintext(CHUNK + 10);
    let ct = encrypt(&pt);
    // Garbage after the final chunk.
    for extra in [1usize, 15, 16, 17, SEALED_CHUNK, SEALED_CHUNK + 20] {
        let mut bad = ct.clone();
        bad.extend(std::iter::repeat_n(0xAB, extra));
        let (out, r) = decrypt(&bad);
        assert_eq!(r, Err(AttachmentError::Unauthenticated), "+{extra}");
        assert_authentic_prefix(&out, &pt);
    }
    // A genuine chunk appended: the longer file the sender made with the same
    // key and salt has the same first chunks; splice its tail on.
    let long_pt = plaintext(3 * CHUNK + 10);
    let long = encrypt(&long_pt);
    let mut bad = ct[..HEADER + SEALED_CHUNK].to_vec();
    bad.extend_from_slice(&long[HEADER + SEALED_CHUNK..HEADER + 2 * SEALED_CHUNK]);
    bad.extend_from_slice(&ct[HEADER + SEALED_CHUNK..]);
    let (out, r) = decrypt(&bad);
    assert_eq!(
        r,
        Err(AttachmentError::Unauthenticated),
        "a short chunk is final"
    );
    assert_eq!(out.len(), 2 * CHUNK);
    assert_eq!(out, &long_pt[..2 * CHUNK]);
}

#[test]
fn chunks_reordered_are_detected() {
    let pt = plaintext(3 * CHUNK + 10);
    let ct = encrypt(&pt);
    let mut bad = ct.clone();
    let (a, b) = (chunk(&ct, 0), chunk(&ct, 1));
    bad[a.clone()].copy_from_slice(&ct[b.clone()]);
    bad[b].copy_from_slice(&ct[a]);
    let (out, r) = decrypt(&bad);
    assert_eq!(r, Err(AttachmentError::Unauthenticated));
    assert!(out.is_empty());
}

#[test]
fn chunks_duplicated_are_detected() {
    let pt = plaintext(3 * CHUNK + 10);
    let ct = encrypt(&pt);
    let mut bad = ct.clone();
    bad[chunk(&ct, 1)].copy_from_slice(&ct[chunk(&ct, 0)]);
    let (out, r) = decrypt(&bad);
    assert_eq!(r, Err(AttachmentError::Unauthenticated));
    assert_eq!(out, &pt[..CHUNK]);
    // Duplicated in place of the final chunk, the file growing by one chunk.
    let mut bad = ct[..HEADER + 3 * SEALED_CHUNK].to_vec();
    bad.extend_from_slice(&ct[chunk(&ct, 2)]);
    bad.extend_from_slice(&ct[chunk(&ct, 3)]);
    let (out, r) = decrypt(&bad);
    assert_eq!(r, Err(AttachmentError::Unauthenticated));
    assert_authentic_prefix(&out, &pt);
}

#[test]
fn chunks_spliced_from_another_file_are_detected() {
    // Same key, another file (another salt): every chunk position is an
    // honest chunk of *some* file, but not of this one.
    let pt = plaintext(2 * CHUNK + 10);
    let ct = encrypt(&pt);
    let other = encrypt_with(&key(1), [10; 24], CTX, &pt);
    for i in 0..3 {
        let mut bad = ct.clone();
        bad[chunk(&ct, i)].copy_from_slice(&other[chunk(&other, i)]);
        let (out, r) = decrypt(&bad);
        assert_eq!(r, Err(AttachmentError::Unauthenticated), "chunk {i}");
        assert_eq!(out, &pt[..i * CHUNK]);
    }
    // The other file's header on this file's chunks.
    let mut bad = ct.clone();
    bad[..HEADER].copy_from_slice(&other[..HEADER]);
    let (out, r) = decrypt(&bad);
    assert_eq!(r, Err(AttachmentError::Unauthenticated));
    assert!(out.is_empty());
}

#[test]
fn chunks_spliced_from_another_key_are_detected() {
    let pt = plaintext(2 * CHUNK + 10);
    let ct = encrypt(&pt);
    let other = encrypt_with(&key(2), [9; 24], CTX, &pt);
    for i in 0..3 {
        let mut bad = ct.clone();
        bad[chunk(&ct, i)].copy_from_slice(&other[chunk(&other, i)]);
        let (out, r) = decrypt(&bad);
        assert_eq!(r, Err(AttachmentError::Unauthenticated), "chunk {i}");
        assert_eq!(out, &pt[..i * CHUNK]);
    }
    // The whole file under the wrong key: the commitment stops it.
    let (out, r) = decrypt_steps(&key(2), CTX, &ct, 1000);
    assert_eq!(r, Err(AttachmentError::Unauthenticated));
    assert!(out.is_empty());
}

#[test]
fn wrong_commitment_is_rejected_before_any_chunk() {
    let pt = plaintext(CHUNK + 10);
    let ct = encrypt(&pt);
    for byte in 0..HEADER {
        let mut bad = ct.clone();
        bad[byte] ^= 0x80;
        let mut dec = Decryptor::new(&key(1), CTX).unwrap();
        let mut out = Vec::new();
        // The header alone already fails: nothing after it is looked at.
        assert_eq!(
            dec.update(&bad[..HEADER], &mut out),
            Err(AttachmentError::Unauthenticated)
        );
        assert!(out.is_empty());
        assert_eq!(
            dec.update(&bad[HEADER..], &mut out),
            Err(AttachmentError::Poisoned)
        );
        assert!(out.is_empty());
    }
    // Another context (the caller's binding) gives another commitment.
    let (out, r) = decrypt_steps(&key(1), b"attachment tests!", &ct, 100);
    assert_eq!(r, Err(AttachmentError::Unauthenticated));
    assert!(out.is_empty());
}

#[test]
fn every_bit_flip_is_detected() {
    let pt = plaintext(40);
    let ct = encrypt(&pt);
    for i in 0..ct.len() * 8 {
        let mut bad = ct.clone();
        bad[i / 8] ^= 1 << (i % 8);
        let (out, r) = decrypt(&bad);
        assert_eq!(r, Err(AttachmentError::Unauthenticated), "bit {i}");
        assert!(out.is_empty(), "bit {i}");
    }
}

#[test]
fn a_full_size_final_chunk_is_truncation() {
    // Exactly one full chunk and no final short chunk: the sender's file
    // of 16 KiB always ends with an empty chunk, so this is a truncation.
    let pt = plaintext(CHUNK);
    let ct = encrypt(&pt);
    assert_eq!(ct.len(), HEADER + SEALED_CHUNK + TAG);
    let cut = &ct[..HEADER + SEALED_CHUNK];
    for step in [1, 100, SEALED_CHUNK, 100_000] {
        let (out, r) = decrypt_steps(&key(1), CTX, cut, step);
        assert_eq!(r, Err(AttachmentError::Truncated), "step {step}");
        assert_eq!(out, pt);
    }
    let header: &[u8] = &ct[..HEADER];
    assert_eq!(
        SeekableDecryptor::new(&key(1), CTX, header, cut.len() as u64).unwrap_err(),
        AttachmentError::Truncated
    );
}

#[test]
fn lengths_beyond_limits_are_rejected() {
    assert_eq!(
        ciphertext_len(MAX_PLAINTEXT + 1),
        Err(AttachmentError::LengthOutOfRange)
    );
    assert_eq!(
        plaintext_len(MAX_CIPHERTEXT + 1),
        Err(AttachmentError::LengthOutOfRange)
    );
    assert_eq!(
        plaintext_len(u64::MAX),
        Err(AttachmentError::LengthOutOfRange)
    );
    assert_eq!(plaintext_len(MAX_CIPHERTEXT), Ok(MAX_PLAINTEXT));
    let ct = encrypt(b"x");
    let header: &[u8] = &ct[..HEADER];
    for len in [MAX_CIPHERTEXT + 1, u64::MAX] {
        assert_eq!(
            SeekableDecryptor::new(&key(1), CTX, header, len).unwrap_err(),
            AttachmentError::LengthOutOfRange
        );
    }
    // The largest file is addressable: its last chunk is chunk 2^38 - 1.
    let seek = SeekableDecryptor::new(&key(1), CTX, header, MAX_CIPHERTEXT).unwrap();
    assert_eq!(seek.chunk_count(), 1 << 38);
    assert_eq!(
        seek.chunk_ciphertext_range((1 << 38) - 1).unwrap().end,
        MAX_CIPHERTEXT
    );
    assert_eq!(
        seek.chunk_ciphertext_range(1 << 38),
        Err(AttachmentError::RangeOutOfBounds)
    );
    // Contexts and bindings.
    let big = vec![0u8; MAX_CONTEXT + 1];
    assert_eq!(
        Decryptor::new(&key(1), &big).unwrap_err(),
        AttachmentError::LengthOutOfRange
    );
    assert_eq!(
        Encryptor::with_salt(&key(1), [0; 24], &big).unwrap_err(),
        AttachmentError::LengthOutOfRange
    );
    assert_eq!(
        fanseal_context(&big[..MAX_BINDING + 1]),
        Err(AttachmentError::LengthOutOfRange)
    );
    let mut rng = ChaCha20Rng::from_seed([1; 32]);
    assert_eq!(
        AttachmentSealer::new(&mut rng, &big[..MAX_BINDING + 1]).unwrap_err(),
        AttachmentError::LengthOutOfRange
    );
    assert_eq!(
        AttachmentKey::from_slice(&[0; 31]).unwrap_err(),
        AttachmentError::InvalidKeyLength
    );
    assert_eq!(
        AttachmentKey::from_slice(&[0; 33]).unwrap_err(),
        AttachmentError::InvalidKeyLength
    );
}

fn seekable(ct: &[u8], len: u64) -> SeekableDecryptor {
    SeekableDecryptor::new(&key(1), CTX, &ct[..HEADER], len).unwrap()
}

fn span(ct: &[u8], r: std::ops::Range<u64>) -> &[u8] {
    &ct[r.start as usize..r.end as usize]
}

#[test]
fn random_access_never_returns_unauthenticated_bytes() {
    let pt = plaintext(4 * CHUNK + 300);
    let ct = encrypt(&pt);
    let plen = pt.len() as u64;
    let ranges = [
        0..1,
        0..plen,
        100..CHUNK as u64 + 100,
        2 * CHUNK as u64 - 1..2 * CHUNK as u64 + 1,
        plen - 5..plen,
        plen..plen,
    ];
    // Tamper with each chunk in turn: ranges that touch it fail and leave
    // the output untouched; the others still read.
    for bad_chunk in 0..5 {
        let mut bad = ct.clone();
        let r = chunk(&bad, bad_chunk);
        bad[r.start + 3] ^= 1;
        let mut seek = seekable(&bad, bad.len() as u64);
        for range in ranges.clone() {
            let mut out = b"prefix".to_vec();
            let cr = seek.ciphertext_range(range.clone()).unwrap();
            let res = seek.decrypt_range(range.clone(), span(&bad, cr), &mut out);
            let first = range.start as usize / CHUNK;
            let last = if range.is_empty() {
                first
            } else {
                (range.end as usize - 1) / CHUNK
            };
            if (first..=last).contains(&bad_chunk) {
                assert_eq!(
                    res,
                    Err(AttachmentError::Unauthenticated),
                    "{range:?} / chunk {bad_chunk}"
                );
                assert_eq!(out, b"prefix");
            } else {
                assert_eq!(res, Ok(()), "{range:?}");
                assert_eq!(&out[6..], &pt[range.start as usize..range.end as usize]);
            }
        }
        // A chunk read alone.
        let mut out = Vec::new();
        let cr = seek.chunk_ciphertext_range(bad_chunk as u64).unwrap();
        assert_eq!(
            seek.decrypt_chunk(bad_chunk as u64, span(&bad, cr), &mut out),
            Err(AttachmentError::Unauthenticated)
        );
        assert!(out.is_empty());
        assert_eq!(
            seek.is_length_authenticated(),
            bad_chunk != 4,
            "the final chunk (read by the last ranges) authenticates the length only when intact"
        );
    }
    // A span of the wrong size is refused before decrypting.
    let mut seek = seekable(&ct, ct.len() as u64);
    let cr = seek.ciphertext_range(0..10).unwrap();
    let mut out = Vec::new();
    assert_eq!(
        seek.decrypt_range(0..10, &ct[cr.start as usize..cr.end as usize - 1], &mut out),
        Err(AttachmentError::Truncated)
    );
    assert_eq!(
        seek.decrypt_range(0..10, &ct[cr.start as usize..cr.end as usize + 1], &mut out),
        Err(AttachmentError::TrailingData)
    );
    assert_eq!(
        seek.decrypt_range(0..plen + 1, &[], &mut out),
        Err(AttachmentError::LengthUnauthenticated)
    );
    assert!(out.is_empty());
    // A chunk moved to another index does not open there.
    let c1 = chunk(&ct, 1);
    assert_eq!(
        seek.decrypt_chunk(2, &ct[c1], &mut out),
        Err(AttachmentError::Unauthenticated)
    );
    assert!(out.is_empty());
}

#[test]
fn random_access_from_the_end_needs_the_length_authenticated() {
    let pt = plaintext(2 * CHUNK + 300);
    let ct = encrypt(&pt);
    let mut seek = seekable(&ct, ct.len() as u64);
    assert_eq!(
        seek.resolve(SeekFrom::End(10)),
        Err(AttachmentError::LengthUnauthenticated)
    );
    assert_eq!(seek.resolve(SeekFrom::Start(10)), Ok(10));
    let last = seek.chunk_ciphertext_range(2).unwrap();
    seek.authenticate_length(span(&ct, last)).unwrap();
    assert!(seek.is_length_authenticated());
    assert_eq!(seek.resolve(SeekFrom::End(10)), Ok(pt.len() as u64 - 10));
    assert_eq!(
        seek.resolve(SeekFrom::End(pt.len() as u64 + 1)),
        Err(AttachmentError::RangeOutOfBounds)
    );
}

#[test]
fn random_access_detects_a_store_that_lies_about_the_length() {
    // The store claims the file ends one chunk earlier (or later): the
    // "final" chunk at the claimed position does not open as final.
    let pt = plaintext(3 * CHUNK + 300);
    let ct = encrypt(&pt);
    // 2 full chunks + the 3rd full chunk presented as a short final chunk
    // is not a valid length; shorten to a length that is valid.
    let claimed = (HEADER + 2 * SEALED_CHUNK + 300 + TAG) as u64;
    let mut seek = seekable(&ct, claimed);
    let last = seek.chunk_ciphertext_range(seek.chunk_count() - 1).unwrap();
    assert_eq!(
        seek.authenticate_length(span(&ct, last)),
        Err(AttachmentError::Unauthenticated)
    );
    assert_eq!(
        seek.resolve(SeekFrom::End(1)),
        Err(AttachmentError::LengthUnauthenticated)
    );
    let longer = (ct.len() + SEALED_CHUNK) as u64;
    let mut ext = ct.clone();
    ext.extend(std::iter::repeat_n(0u8, SEALED_CHUNK));
    let mut seek = seekable(&ext, longer);
    let last = seek.chunk_ciphertext_range(seek.chunk_count() - 1).unwrap();
    assert_eq!(
        seek.authenticate_length(span(&ext, last)),
        Err(AttachmentError::Unauthenticated)
    );
}

// ---------------------------------------------------------------- reference

fn sealed_file(rng: &mut ChaCha20Rng, pt: &[u8], binding: &[u8]) -> (AttachmentReference, Vec<u8>) {
    let mut sealer = AttachmentSealer::new(rng, binding).unwrap();
    let mut ct = Vec::new();
    for piece in pt.chunks(3000) {
        sealer.update(piece, &mut ct).unwrap();
    }
    let r = sealer.finish(&mut ct).unwrap();
    (r, ct)
}

#[test]
fn reference_round_trip_and_download_checks() {
    let mut rng = ChaCha20Rng::from_seed([4; 32]);
    let pt = plaintext(2 * CHUNK + 7);
    let (r, ct) = sealed_file(&mut rng, &pt, b"conv 1 / msg 2");
    assert_eq!(r.ciphertext_len(), ct.len() as u64);
    assert_eq!(r.plaintext_len(), pt.len() as u64);
    let bytes = r.to_secret_bytes();
    assert_eq!(bytes.len(), 78 + 14);
    assert_eq!(bytes[0], fanseal::WIRE_VERSION);
    assert_eq!(bytes[1], 0x10);
    let back = AttachmentReference::from_bytes(&bytes).unwrap();
    assert_eq!(back, r);
    // It is plain Cobblestone-256 under the fanseal context.
    let (out, res) = decrypt_steps(
        r.key(),
        &fanseal_context(b"conv 1 / msg 2").unwrap(),
        &ct,
        999,
    );
    assert_eq!(res, Ok(pt.len() as u64));
    assert_eq!(out, pt);

    let check = |data: &[u8]| {
        let mut c = back.download_check();
        c.update(data)?;
        c.finish()
    };
    assert_eq!(check(&ct), Ok(()));
    assert_eq!(check(&ct[..ct.len() - 1]), Err(AttachmentError::Truncated));
    let mut ext = ct.clone();
    ext.push(0);
    assert_eq!(check(&ext), Err(AttachmentError::TrailingData));
    // Another valid file of the same length under the same key (the sender
    // re-encrypted with another salt): the digest pins this one.
    let mut other = Encryptor::with_salt(r.key(), [0x77; 24], &r.context()).unwrap();
    let mut oct = Vec::new();
    other.update(&pt, &mut oct).unwrap();
    other.finish(&mut oct).unwrap();
    assert_eq!(oct.len(), ct.len());
    assert_eq!(check(&oct), Err(AttachmentError::DigestMismatch));
    let mut opener = back.opener().unwrap();
    let mut out = Vec::new();
    opener.update(&oct, &mut out).unwrap();
    assert_eq!(
        opener.finish(&mut out),
        Err(AttachmentError::DigestMismatch)
    );
    assert_eq!(
        out.len(),
        2 * CHUNK,
        "the final chunk is not released on a digest mismatch"
    );
    // The opener refuses bytes past the reference's length at once.
    let mut opener = back.opener().unwrap();
    assert_eq!(
        opener.update(&ext, &mut Vec::new()),
        Err(AttachmentError::TrailingData)
    );
    // Seekable from the reference.
    let mut seek = back.seekable(&ct[..HEADER]).unwrap();
    let cr = seek
        .ciphertext_range(CHUNK as u64..CHUNK as u64 + 9)
        .unwrap();
    let mut out = Vec::new();
    seek.decrypt_range(CHUNK as u64..CHUNK as u64 + 9, span(&ct, cr), &mut out)
        .unwrap();
    assert_eq!(out, &pt[CHUNK..CHUNK + 9]);
}

#[test]
fn reference_decoding_is_strict() {
    let mut rng = ChaCha20Rng::from_seed([5; 32]);
    let (r, _) = sealed_file(&mut rng, b"hi", b"b");
    let good = r.to_secret_bytes().to_vec();
    let dec = |b: &[u8]| AttachmentReference::from_bytes(b).map(|_| ()).unwrap_err();
    let mut v = good.clone();
    v[0] ^= 0xff;
    assert_eq!(
        dec(&v),
        AttachmentError::Decode(DecodeError::UnsupportedVersion(v[0]))
    );
    let mut v = good.clone();
    v[1] = 0x03;
    assert_eq!(
        dec(&v),
        AttachmentError::Decode(DecodeError::WrongObjectType {
            expected: 0x10,
            found: 0x03
        })
    );
    let mut v = good.clone();
    v[3] = 2;
    assert_eq!(
        dec(&v),
        AttachmentError::Decode(DecodeError::UnsupportedSuite(2))
    );
    let mut v = good.clone();
    v.push(0);
    assert!(matches!(
        dec(&v),
        AttachmentError::Decode(DecodeError::TrailingBytes { .. })
    ));
    for cut in 0..good.len() {
        assert!(
            matches!(
                dec(&good[..cut]),
                AttachmentError::Decode(DecodeError::Truncated { .. })
            ),
            "{cut}"
        );
    }
    // Binding length over the limit.
    let mut v = good[..36].to_vec();
    v.extend_from_slice(&((MAX_BINDING + 1) as u16).to_be_bytes());
    v.extend(vec![0u8; MAX_BINDING + 1 + 40]);
    assert!(matches!(
        dec(&v),
        AttachmentError::Decode(DecodeError::OutOfRange { .. })
    ));
    // Impossible ciphertext lengths (too-large ones are `OutOfRange`, see
    // reference_ciphertext_length_errors_come_before_the_digest).
    let len_at = good.len() - 40;
    for bad_len in [0u64, 71, (HEADER + SEALED_CHUNK) as u64] {
        let mut v = good.clone();
        v[len_at..len_at + 8].copy_from_slice(&bad_len.to_be_bytes());
        assert_eq!(
            dec(&v),
            AttachmentError::Decode(DecodeError::NonCanonical("attachment ciphertext length")),
            "{bad_len}"
        );
    }
}

#[test]
fn secrets_are_not_printed_and_are_zeroized_on_drop() {
    fn zeroize_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    zeroize_on_drop::<AttachmentKey>();
    zeroize_on_drop::<AttachmentReference>();
    let k = key(0xAB);
    assert!(!format!("{k:?}").contains("ab"));
    let mut rng = ChaCha20Rng::from_seed([6; 32]);
    let (r, _) = sealed_file(&mut rng, b"x", b"binding");
    let key_hex: String = r
        .key()
        .expose_secret_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let shown = format!("{r:?}");
    assert!(!shown.contains(&key_hex[..8]), "{shown}");
    assert!(shown.contains("ciphertext_len"));
    let sealer = AttachmentSealer::new(&mut rng, b"b").unwrap();
    assert!(!format!("{sealer:?}").contains(&key_hex[..8]));
    // Constant-time equality compares keys.
    assert!(key(1).ct_eq(&key(1)));
    assert!(!key(1).ct_eq(&key(2)));
}

#[test]
fn a_failed_stream_stays_failed() {
    let ct = encrypt(&plaintext(CHUNK + 1));
    let mut bad = ct.clone();
    bad[HEADER] ^= 1;
    let mut dec = Decryptor::new(&key(1), CTX).unwrap();
    let mut out = Vec::new();
    assert_eq!(
        dec.update(&bad, &mut out),
        Err(AttachmentError::Unauthenticated)
    );
    assert_eq!(dec.update(&[], &mut out), Err(AttachmentError::Poisoned));
    assert_eq!(dec.finish(&mut out), Err(AttachmentError::Poisoned));
    assert!(out.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn streaming_round_trip_with_arbitrary_split_points(
        len in prop_oneof![0usize..300, (CHUNK - 20)..(CHUNK + 20), 0usize..(3 * CHUNK + 50)],
        enc_splits in proptest::collection::vec(0usize..20_000, 1..12),
        dec_splits in proptest::collection::vec(0usize..20_000, 1..12),
        salt in any::<[u8; 24]>(),
    ) {
        let pt = plaintext(len);
        let mut enc = Encryptor::with_salt(&key(3), salt, CTX).unwrap();
        let mut ct = Vec::new();
        let mut rest = &pt[..];
        for s in enc_splits.iter().cycle().take(64) {
            let (a, b) = rest.split_at((*s).min(rest.len()));
            enc.update(a, &mut ct).unwrap();
            rest = b;
        }
        enc.update(rest, &mut ct).unwrap();
        enc.finish(&mut ct).unwrap();
        prop_assert_eq!(&ct, &encrypt_with(&key(3), salt, CTX, &pt), "split points changed the ciphertext");
        let mut dec = Decryptor::new(&key(3), CTX).unwrap();
        let mut out = Vec::new();
        let mut rest = &ct[..];
        for s in dec_splits.iter().cycle().take(64) {
            let (a, b) = rest.split_at((*s).min(rest.len()));
            dec.update(a, &mut out).unwrap();
            prop_assert_eq!(&out[..], &pt[..out.len()]);
            rest = b;
        }
        dec.update(rest, &mut out).unwrap();
        prop_assert_eq!(dec.finish(&mut out), Ok(len as u64));
        prop_assert_eq!(out, pt);
    }

    #[test]
    fn random_access_reads_equal_the_plaintext(
        len in 0usize..(3 * CHUNK + 50),
        a in any::<u64>(),
        b in any::<u64>(),
    ) {
        let pt = plaintext(len);
        let ct = encrypt(&pt);
        let mut seek = seekable(&ct, ct.len() as u64);
        let (x, y) = (a % (len as u64 + 1), b % (len as u64 + 1));
        let range = x.min(y)..x.max(y);
        let cr = seek.ciphertext_range(range.clone()).unwrap();
        let mut out = Vec::new();
        seek.decrypt_range(range.clone(), span(&ct, cr), &mut out).unwrap();
        prop_assert_eq!(&out[..], &pt[range.start as usize..range.end as usize]);
    }

    #[test]
    fn reference_encoding_round_trips(
        key_bytes in any::<[u8; 32]>(),
        binding in proptest::collection::vec(any::<u8>(), 0..64),
        plen in 0u64..(1 << 40),
        digest in any::<[u8; 32]>(),
    ) {
        let r = AttachmentReference::new(
            AttachmentKey::from_bytes(key_bytes), &binding, ciphertext_len(plen).unwrap(), digest,
        ).unwrap();
        let bytes = r.to_secret_bytes();
        let back = AttachmentReference::from_bytes(&bytes).unwrap();
        prop_assert_eq!(&back, &r);
        prop_assert_eq!(&back.to_secret_bytes()[..], &bytes[..]);
    }
}

// ------------------------------------------- random access: ends and ranges

/// SPEC.md §11.6: a read whose end is `p` opens the final chunk even when it
/// holds none of the requested bytes. A store that under-reports the length
/// of a file of whole chunks (`56 + 16400·k + 16`) cannot make a whole-file
/// read succeed on a truncated file, nor make the next read look like EOF.
#[test]
fn random_access_whole_file_read_of_an_under_reported_file_fails() {
    let pt = plaintext(3 * CHUNK);
    let ct = encrypt(&pt);
    // Claims 2 full chunks and an empty final chunk: p' = 2 * 16384.
    let claimed = (HEADER + 2 * SEALED_CHUNK + TAG) as u64;
    let mut seek = seekable(&ct, claimed);
    let p = seek.plaintext_len();
    assert_eq!(p, 2 * CHUNK as u64);
    let cr = seek.ciphertext_range(0..p).unwrap();
    assert_eq!(cr, HEADER as u64..claimed, "the empty final chunk is named");
    let mut out = Vec::new();
    assert_eq!(
        seek.decrypt_range(0..p, span(&ct, cr), &mut out),
        Err(AttachmentError::Unauthenticated)
    );
    assert!(out.is_empty());
    // A read at or past p is not EOF before the length is authenticated.
    assert_eq!(
        seek.ciphertext_range(p..p + 1),
        Err(AttachmentError::LengthUnauthenticated)
    );
    assert_eq!(
        seek.resolve(SeekFrom::Start(p + 1)),
        Err(AttachmentError::LengthUnauthenticated)
    );
    // The empty read at p opens the final chunk: it fails here too.
    let cr = seek.ciphertext_range(p..p).unwrap();
    assert_eq!(cr, claimed - TAG as u64..claimed);
    assert_eq!(
        seek.decrypt_range(p..p, span(&ct, cr), &mut out),
        Err(AttachmentError::Unauthenticated)
    );
    assert!(!seek.is_length_authenticated());

    // Honest length: the same whole-file read authenticates the length.
    let honest = (HEADER + 3 * SEALED_CHUNK + TAG) as u64;
    assert_eq!(honest, ct.len() as u64);
    let mut seek = seekable(&ct, honest);
    let p = seek.plaintext_len();
    let cr = seek.ciphertext_range(0..p).unwrap();
    assert_eq!(cr, HEADER as u64..honest);
    seek.decrypt_range(0..p, span(&ct, cr), &mut out).unwrap();
    assert_eq!(out, pt);
    assert!(seek.is_length_authenticated());
    // Now past the end is a plain range error.
    assert_eq!(
        seek.ciphertext_range(p..p + 1),
        Err(AttachmentError::RangeOutOfBounds)
    );
    assert_eq!(
        seek.resolve(SeekFrom::Start(p + 1)),
        Err(AttachmentError::RangeOutOfBounds)
    );
    assert_eq!(seek.resolve(SeekFrom::End(0)), Ok(p));
}

/// SPEC.md §11.6: `a > b` is `RangeOutOfBounds`; `b > p` is
/// `LengthUnauthenticated` until the length is authenticated, then
/// `RangeOutOfBounds`; `a = b < p` is empty, fetches nothing (`0..0`) and
/// authenticates nothing; `a = b = p` opens the final chunk.
#[test]
fn random_access_empty_and_reversed_ranges() {
    let pt = plaintext(2 * CHUNK + 10);
    let ct = encrypt(&pt);
    let mut seek = seekable(&ct, ct.len() as u64);
    let p = pt.len() as u64;
    #[allow(clippy::reversed_empty_ranges)]
    let reversed = 5..4;
    assert_eq!(
        seek.ciphertext_range(reversed.clone()),
        Err(AttachmentError::RangeOutOfBounds)
    );
    let mut out = b"x".to_vec();
    assert_eq!(
        seek.decrypt_range(reversed, &[], &mut out),
        Err(AttachmentError::RangeOutOfBounds)
    );
    assert_eq!(
        seek.decrypt_range(p - 1..p + 1, &[], &mut out),
        Err(AttachmentError::LengthUnauthenticated)
    );
    for a in [0, 7, CHUNK as u64, p - 1] {
        assert_eq!(seek.ciphertext_range(a..a), Ok(0..0), "{a}");
        seek.decrypt_range(a..a, &[], &mut out).unwrap();
        assert_eq!(out, b"x");
        assert_eq!(
            seek.decrypt_range(a..a, &ct[..1], &mut out),
            Err(AttachmentError::TrailingData)
        );
    }
    assert!(!seek.is_length_authenticated());
    let cr = seek.ciphertext_range(p..p).unwrap();
    assert_eq!(cr, (HEADER + 2 * SEALED_CHUNK) as u64..ct.len() as u64);
    seek.decrypt_range(p..p, span(&ct, cr), &mut out).unwrap();
    assert_eq!(out, b"x");
    assert!(seek.is_length_authenticated());
    assert_eq!(
        seek.decrypt_range(p - 1..p + 1, &[], &mut out),
        Err(AttachmentError::RangeOutOfBounds)
    );
}

/// SPEC.md §11.6: reads are independent; a failed read poisons nothing.
#[test]
fn random_access_reads_are_independent_after_a_failure() {
    let pt = plaintext(3 * CHUNK + 5);
    let ct = encrypt(&pt);
    let mut bad = ct.clone();
    bad[chunk(&ct, 1).start] ^= 1;
    let mut seek = seekable(&bad, bad.len() as u64);
    let mut out = Vec::new();
    let r = 0..2 * CHUNK as u64;
    let cr = seek.ciphertext_range(r.clone()).unwrap();
    assert_eq!(
        seek.decrypt_range(r, span(&bad, cr), &mut out),
        Err(AttachmentError::Unauthenticated)
    );
    assert!(out.is_empty());
    // Chunk 0 alone, and the rest of the file, still read.
    let cr = seek.ciphertext_range(0..100).unwrap();
    seek.decrypt_range(0..100, span(&bad, cr), &mut out)
        .unwrap();
    assert_eq!(out, &pt[..100]);
    out.clear();
    let p = pt.len() as u64;
    let r = 2 * CHUNK as u64..p;
    let cr = seek.ciphertext_range(r.clone()).unwrap();
    seek.decrypt_range(r.clone(), span(&bad, cr), &mut out)
        .unwrap();
    assert_eq!(out, &pt[r.start as usize..]);
    assert!(seek.is_length_authenticated());
}

/// SPEC.md §11.8: a reference's `ciphertext_len` does not authenticate the
/// length; `SeekFrom::End` waits for the final chunk.
#[test]
fn a_reference_length_is_unauthenticated_until_the_final_chunk_opens() {
    let mut rng = ChaCha20Rng::from_seed([21; 32]);
    let pt = plaintext(CHUNK + 9);
    let (reference, ct) = sealed_file(&mut rng, &pt, b"b");
    let mut seek = reference.seekable(&ct[..HEADER]).unwrap();
    assert!(!seek.is_length_authenticated());
    assert_eq!(
        seek.resolve(SeekFrom::End(0)),
        Err(AttachmentError::LengthUnauthenticated)
    );
    let last = seek.chunk_ciphertext_range(1).unwrap();
    seek.authenticate_length(span(&ct, last)).unwrap();
    assert_eq!(seek.resolve(SeekFrom::End(9)), Ok(CHUNK as u64));
}

/// SPEC.md §11.4: `c > max` is `LengthOutOfRange` first (max + 1 is at a
/// chunk boundary), then `c < 72` or inside a tag is `Truncated`; no
/// underflow below 56.
#[test]
fn length_checks_are_in_the_stated_order() {
    assert_eq!(
        (MAX_CIPHERTEXT + 1 - HEADER as u64) % SEALED_CHUNK as u64,
        0
    );
    assert_eq!(
        MAX_CIPHERTEXT,
        56 + 16400 * (1u64 << 38) - 1,
        "SPEC §11.1 max ciphertext"
    );
    for (c, want) in [
        (MAX_CIPHERTEXT + 1, AttachmentError::LengthOutOfRange),
        (u64::MAX, AttachmentError::LengthOutOfRange),
        (0, AttachmentError::Truncated),
        (55, AttachmentError::Truncated),
        (71, AttachmentError::Truncated),
        (
            MAX_CIPHERTEXT + 1 - SEALED_CHUNK as u64,
            AttachmentError::Truncated,
        ),
    ] {
        assert_eq!(plaintext_len(c), Err(want.clone()), "{c}");
        assert_eq!(
            SeekableDecryptor::new(&key(1), CTX, &[0; 7], c).unwrap_err(),
            want,
            "{c}"
        );
    }
}

/// SPEC.md §11.7: each field is validated as soon as it is read; a too-long
/// `ciphertext_len` is `OutOfRange`, any other invalid one `NonCanonical`,
/// both before the (missing) digest is read.
#[test]
fn reference_ciphertext_length_errors_come_before_the_digest() {
    let mut rng = ChaCha20Rng::from_seed([22; 32]);
    let (reference, _) = sealed_file(&mut rng, b"abc", b"bind");
    let good = reference.to_secret_bytes().to_vec();
    let at = good.len() - 40;
    for (c, too_long) in [
        (MAX_CIPHERTEXT + 1, true),
        (u64::MAX, true),
        (71, false),
        ((HEADER + SEALED_CHUNK) as u64, false),
    ] {
        let mut v = good.clone();
        v[at..at + 8].copy_from_slice(&c.to_be_bytes());
        for cut in [v.len(), at + 8, at + 9] {
            let e = AttachmentReference::from_bytes(&v[..cut]).unwrap_err();
            match e {
                AttachmentError::Decode(DecodeError::OutOfRange { .. }) if too_long => {}
                AttachmentError::Decode(DecodeError::NonCanonical(_)) if !too_long => {}
                other => panic!("{c} cut {cut}: {other:?}"),
            }
        }
    }
    // Ending inside any field is Truncated.
    for cut in 0..good.len() {
        assert!(
            matches!(
                AttachmentReference::from_bytes(&good[..cut]),
                Err(AttachmentError::Decode(DecodeError::Truncated { .. }))
            ),
            "{cut}"
        );
    }
}

/// SPEC.md §11.8: a slice that would take the download past
/// `ciphertext_len` is `TrailingData` before any of it is decrypted, even
/// when it also completes a chunk.
#[test]
fn an_overrunning_slice_releases_nothing() {
    let mut rng = ChaCha20Rng::from_seed([23; 32]);
    let pt = plaintext(2 * CHUNK + 1);
    let (reference, ct) = sealed_file(&mut rng, &pt, b"b");
    let mut opener = reference.opener().unwrap();
    let mut out = Vec::new();
    opener.update(&ct[..HEADER + 10], &mut out).unwrap();
    let mut rest = ct[HEADER + 10..].to_vec();
    rest.push(0);
    assert_eq!(
        opener.update(&rest, &mut out),
        Err(AttachmentError::TrailingData)
    );
    assert!(out.is_empty());
    assert_eq!(opener.update(&[], &mut out), Err(AttachmentError::Poisoned));
}

/// SPEC.md §11.5 step 3: when one call completes several chunks and a later
/// one fails, the earlier authentic chunks of that call stay released (and
/// counted); the failing chunk and everything after it are not.
#[test]
fn a_failed_update_keeps_the_earlier_chunks_of_the_same_call() {
    let pt = plaintext(3 * CHUNK + 1);
    let mut ct = encrypt(&pt);
    let c1 = chunk(&ct, 1).start;
    ct[c1 + 2] ^= 4;
    let mut dec = Decryptor::new(&key(1), CTX).unwrap();
    let mut out = b"old".to_vec();
    assert_eq!(
        dec.update(&ct, &mut out),
        Err(AttachmentError::Unauthenticated)
    );
    assert_eq!(&out[..3], b"old");
    assert_eq!(&out[3..], &pt[..CHUNK]);
    assert_eq!(dec.plaintext_released(), CHUNK as u64);
    assert_eq!(dec.update(&[], &mut out), Err(AttachmentError::Poisoned));
}

/// An RNG that fails the test if anything draws from it.
struct NoRandomness;

impl rand_core::TryRng for NoRandomness {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        panic!("randomness drawn before a refusal")
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        panic!("randomness drawn before a refusal")
    }
    fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Self::Error> {
        panic!("randomness drawn before a refusal")
    }
}
impl rand_core::TryCryptoRng for NoRandomness {}

/// SPEC.md §11.8: seal refuses a binding over 1 024 bytes before drawing
/// any randomness.
#[test]
fn seal_refuses_a_long_binding_before_drawing_randomness() {
    assert_eq!(
        AttachmentSealer::new(&mut NoRandomness, &[0; MAX_BINDING + 1]).unwrap_err(),
        AttachmentError::LengthOutOfRange
    );
}

/// SPEC.md §11.2: a recipient that expects a binding refuses any other with
/// the named error, before fetching anything.
#[test]
fn expect_binding_refuses_another_binding() {
    let mut rng = ChaCha20Rng::from_seed([24; 32]);
    let (reference, _) = sealed_file(&mut rng, b"x", b"\x00\x01c-attachment id");
    assert_eq!(reference.expect_binding(b"\x00\x01c-attachment id"), Ok(()));
    for other in [
        &b""[..],
        b"\x00\x01c-attachment iD",
        b"\x00\x01c-attachment id!",
    ] {
        assert_eq!(
            reference.expect_binding(other),
            Err(AttachmentError::BindingMismatch)
        );
    }
}

/// SPEC.md §11.8: every file gets a fresh input key (and salt), even from
/// one RNG and for the same plaintext and binding.
#[test]
fn the_sealer_draws_a_fresh_key_per_file() {
    let mut rng = ChaCha20Rng::from_seed([25; 32]);
    let (a, ct_a) = sealed_file(&mut rng, b"same", b"b");
    let (b, ct_b) = sealed_file(&mut rng, b"same", b"b");
    assert!(!a.key().ct_eq(b.key()));
    assert_ne!(ct_a[..24], ct_b[..24]);
    assert_ne!(a.ciphertext_sha256(), b.ciphertext_sha256());
}
