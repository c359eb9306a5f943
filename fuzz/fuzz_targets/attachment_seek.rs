//! Random-access Cobblestone-256 (issue 15): encrypt a file described by the
//! input, optionally tamper with it or lie about its length, and read
//! arbitrary ranges (from the start or, after authenticating the length,
//! from the end) and single chunks.
//!
//! Oracles: never panics; every byte returned equals the original plaintext
//! at that position (only authenticated bytes are released; a failed range
//! leaves the output unchanged); an untampered file serves every range; a
//! seek from the end before the length is authenticated is refused.
#![no_main]

use arbitrary::Arbitrary;
use fanseal::attachment::{AttachmentError, AttachmentKey, Encryptor, SeekFrom, SeekableDecryptor, CHUNK, HEADER};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    len: u16,
    extra_chunks: u8,
    flip: Option<(u32, u8)>,
    claimed_len_delta: i16,
    reads: Vec<(bool, u32, u16)>,
    authenticate_first: bool,
}

fuzz_target!(|input: Input| {
    let key = AttachmentKey::from_bytes([0x33; 32]);
    let ctx: &[u8] = b"seek";
    let len = usize::from(input.len) + usize::from(input.extra_chunks % 4) * CHUNK;
    let pt: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
    let mut enc = Encryptor::with_salt(&key, [5; 24], ctx).unwrap();
    let mut ct = Vec::new();
    enc.update(&pt, &mut ct).unwrap();
    enc.finish(&mut ct).unwrap();
    let honest = input.flip.is_none() && input.claimed_len_delta == 0;
    if let Some((at, bit)) = input.flip {
        let i = at as usize % ct.len();
        ct[i] ^= 1 << (bit % 8);
    }
    let claimed = (ct.len() as i64 + i64::from(input.claimed_len_delta)).max(0) as u64;
    let Ok(mut seek) = SeekableDecryptor::new(&key, ctx, &ct[..HEADER], claimed) else {
        assert!(!honest);
        return;
    };
    let fetch = |r: std::ops::Range<u64>| -> Vec<u8> {
        let (s, e) = (r.start as usize, r.end as usize);
        ct.get(s.min(ct.len())..e.min(ct.len())).unwrap_or_default().to_vec()
    };
    if input.authenticate_first {
        let last = seek.chunk_ciphertext_range(seek.chunk_count() - 1).unwrap();
        let r = seek.authenticate_length(&fetch(last));
        assert!(r.is_ok() || !honest);
        assert_eq!(seek.is_length_authenticated(), r.is_ok());
    } else {
        assert_eq!(seek.resolve(SeekFrom::End(0)), Err(AttachmentError::LengthUnauthenticated));
    }
    let plen = seek.plaintext_len();
    if honest {
        assert_eq!(plen, len as u64);
    }
    for &(from_end, off, n) in input.reads.iter().take(8) {
        let pos = if from_end { SeekFrom::End(u64::from(off)) } else { SeekFrom::Start(u64::from(off)) };
        let start = match seek.resolve(pos) {
            Ok(s) => s,
            Err(e) => {
                // SPEC §11.6: past the end is LengthUnauthenticated until the
                // length is authenticated, RangeOutOfBounds afterwards.
                if seek.is_length_authenticated() {
                    assert_eq!(e, AttachmentError::RangeOutOfBounds);
                } else {
                    assert_eq!(e, AttachmentError::LengthUnauthenticated);
                }
                continue;
            }
        };
        let end = (start + u64::from(n)).min(plen);
        let Ok(span) = seek.ciphertext_range(start..end) else {
            panic!("resolved range rejected");
        };
        let mut out = vec![0xEE];
        match seek.decrypt_range(start..end, &fetch(span), &mut out) {
            Ok(()) => {
                // Bytes released must be the plaintext at that position (an
                // empty range below a claimed, unauthenticated length releases
                // nothing, even if the true file is shorter).
                if out.len() > 1 {
                    assert_eq!(Some(&out[1..]), pt.get(start as usize..end as usize), "wrong bytes released");
                }
                // SPEC §11.6: a read that ends at p opens the final chunk.
                assert!(end < plen || seek.is_length_authenticated(), "read to the end left the length unauthenticated");
            }
            Err(_) => {
                assert_eq!(out, [0xEE], "a failed range released bytes");
                assert!(!honest, "an honest range failed");
            }
        }
        // One chunk on its own, too.
        let index = start / CHUNK as u64;
        let range = seek.chunk_ciphertext_range(index).unwrap();
        let mut one = Vec::new();
        if seek.decrypt_chunk(index, &fetch(range), &mut one).is_ok() {
            let s = (index as usize) * CHUNK;
            assert_eq!(&one[..], &pt[s..s + one.len()]);
        } else {
            assert!(one.is_empty() && !honest);
        }
    }
});
