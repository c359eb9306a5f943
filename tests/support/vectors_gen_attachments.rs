//! The deterministic generator of vectors/attachments.json (issue 15):
//! Cobblestone-256 files under the fanseal context and the attachment
//! reference encoding (SPEC.md §11).
//!
//! Used by `examples/gen_vectors.rs`, which writes the file, and by
//! `tests/attachment_vectors.rs`, which regenerates it in memory, requires
//! the committed bytes to be equal and checks every case against the
//! library. Like the other generators it does not call fanseal to make the
//! expected outputs: key derivation, chunking, nonces and the reference
//! bytes are written here again on the primitive crates (hkdf, sha2,
//! aes-gcm), straight from SPEC.md §11. Only `fanseal::WIRE_VERSION` is read
//! from the crate, so the files follow the wire version.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::Aes256Gcm;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use serde_json::{json, Value};
use sha2::{Digest, Sha256, Sha512};

/// The file this generator writes.
pub(crate) const FILE: &str = "attachments.json";

const CHUNK: usize = 16 * 1024;
const SEALED: usize = CHUNK + 16;
const HEADER: usize = 56;
const OBJECT_TYPE: u8 = 0x10;
const SCHEME: u16 = 0x0001;
const LABEL: &[u8] = b"fanseal v2 attachment";

fn hx(b: &[u8]) -> Value {
    Value::String(hex::encode(b))
}

fn sha256(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

/// `u8 len || label || binding` (SPEC.md §11.2).
pub(crate) fn context(binding: &[u8]) -> Vec<u8> {
    let mut c = vec![LABEL.len() as u8];
    c.extend_from_slice(LABEL);
    c.extend_from_slice(binding);
    c
}

/// HKDF-SHA512-Expand(prk = key, info), 76 bytes, written out from RFC 5869
/// over HMAC-SHA512 (the `hkdf` crate's `hmac` re-export), so the padding
/// argument of fanseal's wrapper is not reused here.
fn expand(key: &[u8; 32], info: &[u8]) -> [u8; 76] {
    use hkdf::hmac::{Hmac, Mac};
    let mut out = [0u8; 76];
    let mut t: Vec<u8> = Vec::new();
    let mut pos = 0;
    for i in 1u8..=2 {
        let mut m = <Hmac<Sha512> as hkdf::hmac::KeyInit>::new_from_slice(key).unwrap();
        m.update(&t);
        m.update(info);
        m.update(&[i]);
        t = m.finalize().into_bytes().to_vec();
        let n = (76 - pos).min(64);
        out[pos..pos + n].copy_from_slice(&t[..n]);
        pos += n;
    }
    out
}

/// A whole Cobblestone-256 file (SPEC.md §11.3-§11.5).
pub(crate) fn encrypt(key: &[u8; 32], salt: &[u8; 24], ctx: &[u8], pt: &[u8]) -> Vec<u8> {
    let mut info = b"c2sp.org/chunked-encryption@v1+AEAD_AES_256_GCM\x00".to_vec();
    info.extend_from_slice(salt);
    info.extend_from_slice(ctx);
    let okm = expand(key, &info);
    let cipher = Aes256Gcm::new_from_slice(&okm[..32]).unwrap();
    let mut ct = salt.to_vec();
    ct.extend_from_slice(&okm[44..76]);
    let n_chunks = pt.len() / CHUNK + 1;
    for i in 0..n_chunks {
        let body = &pt[i * CHUNK..((i + 1) * CHUNK).min(pt.len())];
        let mut nonce: [u8; 12] = okm[32..44].try_into().unwrap();
        for (n, c) in nonce[4..].iter_mut().zip((i as u64).to_be_bytes()) {
            *n ^= c;
        }
        let mut buf = body.to_vec();
        let tag = cipher
            .encrypt_inout_detached(&nonce.into(), &[], buf.as_mut_slice().into())
            .unwrap();
        ct.extend_from_slice(&buf);
        ct.extend_from_slice(&tag);
    }
    ct
}

/// The reference encoding (SPEC.md §11.7).
pub(crate) fn reference(key: &[u8; 32], binding: &[u8], ct_len: u64, digest: &[u8; 32]) -> Vec<u8> {
    let mut v = vec![fanseal::WIRE_VERSION, OBJECT_TYPE];
    v.extend_from_slice(&SCHEME.to_be_bytes());
    v.extend_from_slice(key);
    v.extend_from_slice(&(binding.len() as u16).to_be_bytes());
    v.extend_from_slice(binding);
    v.extend_from_slice(&ct_len.to_be_bytes());
    v.extend_from_slice(digest);
    v
}

/// The plaintext of a case: `i % 251` for byte `i` (written as a rule, not
/// bytes, for the larger files).
pub(crate) fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn bytes<const N: usize>(rng: &mut ChaCha20Rng) -> [u8; N] {
    let mut b = [0u8; N];
    rng.fill_bytes(&mut b);
    b
}

/// vectors/attachments.json as text.
pub(crate) fn generate() -> String {
    let mut rng = ChaCha20Rng::from_seed(sha256(b"fanseal vectors v1 attachments.json"));
    let mut id = 0usize;
    let mut next = || {
        id += 1;
        id
    };

    // ---- Seal: whole files under the fanseal context.
    let mut seal_cases = Vec::new();
    let sizes: [(usize, &str); 8] = [
        (0, "empty file: one empty final chunk"),
        (1, "one byte"),
        (100, "short single chunk"),
        (CHUNK - 1, "largest single-chunk file"),
        (CHUNK, "one full chunk and an empty final chunk"),
        (CHUNK + 1, "one full chunk and a one-byte final chunk"),
        (2 * CHUNK, "two full chunks and an empty final chunk"),
        (2 * CHUNK + 1000, "two full chunks and a short final chunk"),
    ];
    let mut small_file = None;
    for (len, comment) in sizes {
        let key = bytes::<32>(&mut rng);
        let salt = bytes::<24>(&mut rng);
        let binding = format!("conversation 7 / message {len}").into_bytes();
        let ctx = context(&binding);
        let pt = pattern(len);
        let ct = encrypt(&key, &salt, &ctx, &pt);
        let digest = sha256(&ct);
        let reference = reference(&key, &binding, ct.len() as u64, &digest);
        let mut case = json!({
            "tcId": next(),
            "comment": comment,
            "flags": [],
            "key": hx(&key),
            "salt": hx(&salt),
            "binding": hx(&binding),
            "context": hx(&ctx),
            "plaintextLength": len,
            "ciphertextLength": ct.len(),
            "ciphertextSha256": hx(&digest),
            "reference": hx(&reference),
            "result": "valid",
        });
        if len <= 100 {
            case["plaintext"] = hx(&pt);
            case["ciphertext"] = hx(&ct);
        }
        if len == 100 {
            small_file = Some((key, salt, binding.clone(), ct.clone()));
        }
        seal_cases.push(case);
    }

    // ---- Open: what a recipient holding the reference must reject.
    let (key, salt, binding, ct) = small_file.unwrap();
    let ctx = context(&binding);
    let pt = pattern(100);
    // A two-chunk file for the chunk-level attacks.
    let pt2 = pattern(CHUNK + 10);
    let ct2 = encrypt(&key, &salt, &ctx, &pt2);
    let other_key = bytes::<32>(&mut rng);
    let other_salt = bytes::<24>(&mut rng);
    let mut open_cases = Vec::new();
    let mut open = |comment: &str, flags: &[&str], refd: &[u8], download: &[u8], error: &str| {
        open_cases.push(json!({
            "tcId": next(),
            "comment": comment,
            "flags": flags,
            "reference": hx(refd),
            "download": hx(download),
            "result": "invalid",
            "error": error,
        }));
    };
    let honest = |c: &[u8]| reference(&key, &binding, c.len() as u64, &sha256(c));
    // The store serves a modified file: the reference's checks catch it.
    let r1 = honest(&ct);
    open(
        "download truncated by one byte",
        &["Truncation"],
        &r1,
        &ct[..ct.len() - 1],
        "Truncated",
    );
    let mut ext = ct.clone();
    ext.push(0);
    open(
        "download with one trailing byte",
        &["TrailingData"],
        &r1,
        &ext,
        "TrailingData",
    );
    let mut flipped = ct.clone();
    flipped[HEADER + 3] ^= 1;
    open(
        "download with a flipped bit",
        &["ModifiedCiphertext"],
        &r1,
        &flipped,
        "DigestMismatch",
    );
    let resalted = encrypt(&key, &other_salt, &ctx, &pt);
    open(
        "another valid file of the same length and key (other salt)",
        &["Splice"],
        &r1,
        &resalted,
        "DigestMismatch",
    );
    // The sender's reference names the attacked bytes (a malicious sender, or
    // a check that hashes what it got): the Cobblestone checks catch it.
    let r2 = |c: &[u8]| honest(c);
    let cut = &ct2[..HEADER + SEALED];
    open(
        "full-size final chunk (empty final chunk removed)",
        &["Truncation"],
        &honest(&ct2),
        cut,
        "Truncated",
    );
    open(
        "flipped ciphertext bit (the reference hashes the modified file)",
        &["ModifiedCiphertext"],
        &r2(&flipped),
        &flipped,
        "Unauthenticated",
    );
    let mut spliced = ct2.clone();
    let other_file = encrypt(&key, &other_salt, &ctx, &pt2);
    spliced[HEADER..HEADER + SEALED].copy_from_slice(&other_file[HEADER..HEADER + SEALED]);
    open(
        "chunk 0 spliced from another file under the same key",
        &["Splice"],
        &r2(&spliced),
        &spliced,
        "Unauthenticated",
    );
    let mut other_k = ct2.clone();
    let under_other = encrypt(&other_key, &salt, &ctx, &pt2);
    other_k[HEADER..HEADER + SEALED].copy_from_slice(&under_other[HEADER..HEADER + SEALED]);
    open(
        "chunk 0 spliced from a file under another key",
        &["Splice"],
        &r2(&other_k),
        &other_k,
        "Unauthenticated",
    );
    let mut swapped = ct2[..HEADER].to_vec();
    swapped.extend_from_slice(
        &encrypt(&key, &salt, &ctx, &pattern(2 * CHUNK + 10))[HEADER + SEALED..HEADER + 2 * SEALED],
    );
    swapped.extend_from_slice(&ct2[HEADER..]);
    open(
        "chunks 0 and 1 of a longer file in the wrong order",
        &["Reordering"],
        &r2(&swapped),
        &swapped,
        "Unauthenticated",
    );
    let mut extended = ct2.clone();
    extended.extend_from_slice(&[0u8; 16]);
    open(
        "a tag-sized block after the final chunk",
        &["Extension"],
        &r2(&extended),
        &extended,
        "Unauthenticated",
    );
    let mut commitment = ct.clone();
    commitment[30] ^= 0x40;
    open(
        "wrong commitment",
        &["ModifiedCiphertext"],
        &r2(&commitment),
        &commitment,
        "Unauthenticated",
    );
    let wrong_binding = reference(
        &key,
        b"conversation 8 / message 100",
        ct.len() as u64,
        &sha256(&ct),
    );
    open(
        "reference with another binding (context)",
        &["WrongContext"],
        &wrong_binding,
        &ct,
        "Unauthenticated",
    );
    let _ = (&pt, &other_key);

    // ---- ReferenceDecode: malformed references.
    let good = honest(&ct);
    let mut decode_cases = Vec::new();
    let mut decode = |comment: &str, bytes: &[u8], error: &str| {
        decode_cases.push(json!({
            "tcId": next(),
            "comment": comment,
            "flags": [],
            "reference": hx(bytes),
            "result": if error.is_empty() { "valid" } else { "invalid" },
            "error": error,
        }));
    };
    decode("canonical reference", &good, "");
    let mut v = good.clone();
    v[0] = 0xfe;
    decode(
        "unknown wire version",
        &v,
        "DecodeError::UnsupportedVersion",
    );
    let mut v = good.clone();
    v[1] = 0x03;
    decode(
        "object type of an envelope",
        &v,
        "DecodeError::WrongObjectType",
    );
    let mut v = good.clone();
    v[3] = 0x02;
    decode("unknown scheme 0x0002", &v, "DecodeError::UnsupportedSuite");
    decode("empty", &[], "DecodeError::Truncated");
    decode("cut inside the key", &good[..20], "DecodeError::Truncated");
    decode(
        "cut inside the digest",
        &good[..good.len() - 1],
        "DecodeError::Truncated",
    );
    let mut v = good.clone();
    v.push(0);
    decode("one trailing byte", &v, "DecodeError::TrailingBytes");
    let mut v = good[..36].to_vec();
    v.extend_from_slice(&1025u16.to_be_bytes());
    v.extend(vec![0u8; 1025 + 40]);
    decode("binding of 1025 bytes", &v, "DecodeError::OutOfRange");
    let len_at = good.len() - 40;
    for (len, comment) in [
        (71u64, "ciphertext length 71 (below the 72-byte minimum)"),
        (
            (HEADER + SEALED) as u64,
            "ciphertext length at a chunk boundary",
        ),
        (
            (HEADER + SEALED + 15) as u64,
            "ciphertext length inside a final tag",
        ),
    ] {
        let mut v = good.clone();
        v[len_at..len_at + 8].copy_from_slice(&len.to_be_bytes());
        decode(comment, &v, "DecodeError::NonCanonical");
    }
    // SPEC §11.4/§11.7: too long is OutOfRange (checked before the chunk
    // boundary rule: max + 1 is at a chunk boundary), computed here from
    // 56 + 16400 * 2^38 - 1 rather than from the library's constant.
    let max_c: u64 = 56 + 16400 * (1u64 << 38) - 1;
    for (len, comment) in [
        (
            max_c + 1,
            "ciphertext length one above the maximum (also at a chunk boundary)",
        ),
        (max_c + 2, "ciphertext length above 4 PiB"),
        (u64::MAX, "ciphertext length 2^64 - 1"),
    ] {
        let mut v = good.clone();
        v[len_at..len_at + 8].copy_from_slice(&len.to_be_bytes());
        decode(comment, &v, "DecodeError::OutOfRange");
    }
    // SPEC §11.7: each field is validated as soon as it is read, so a bad
    // ciphertext length is reported even when the digest is missing.
    let mut v = good[..len_at + 8].to_vec();
    v[len_at..len_at + 8].copy_from_slice(&71u64.to_be_bytes());
    decode(
        "invalid ciphertext length, then no digest",
        &v,
        "DecodeError::NonCanonical",
    );
    v[len_at..len_at + 8].copy_from_slice(&(max_c + 1).to_be_bytes());
    decode(
        "ciphertext length above the maximum, then no digest",
        &v,
        "DecodeError::OutOfRange",
    );
    let mut v = good[..len_at + 4].to_vec();
    v[len_at..len_at + 4].copy_from_slice(&[0xff; 4]);
    decode(
        "cut inside the ciphertext length",
        &v,
        "DecodeError::Truncated",
    );

    let groups = vec![
        json!({"type": "Seal", "comment": "Cobblestone-256 files under the fanseal context of the binding; plaintext byte i is i % 251", "tests": seal_cases}),
        json!({"type": "Open", "comment": "a recipient holding the reference checks the download and decrypts it", "tests": open_cases}),
        json!({"type": "ReferenceDecode", "comment": "the attachment reference decoder", "tests": decode_cases}),
    ];
    let total: usize = groups
        .iter()
        .map(|g| g["tests"].as_array().unwrap().len())
        .sum();
    let doc = json!({
        "algorithm": "fanseal attachments: Cobblestone-256 (C2SP chunked encryption, HKDF-SHA-512, AES-256-GCM) and the attachment reference",
        "specVersion": format!("fanseal wire {:#04x}, SPEC.md §11", fanseal::WIRE_VERSION),
        "generator": "cargo run --example gen_vectors",
        "schema": {
            "Seal": "key, salt, binding -> context = u8 21 || \"fanseal v2 attachment\" || binding; Cobblestone-256(key, salt, context, plaintext) has ciphertextLength bytes and SHA-256 ciphertextSha256 (and equals ciphertext when given); reference = its canonical encoding",
            "Open": "decode reference; check download (length, then SHA-256); stream-decrypt it -> error",
            "ReferenceDecode": "reference bytes -> valid (re-encodes to the same bytes) or error",
        },
        "numberOfTests": total,
        "notes": {
            "Truncation": "the file ends early (inside a chunk, or at a chunk boundary: the short final chunk is missing)",
            "TrailingData": "bytes after the end the reference names",
            "Extension": "data after the short final chunk",
            "ModifiedCiphertext": "a flipped bit in the header, a chunk or a tag",
            "Splice": "a chunk or a whole file from another file or key",
            "Reordering": "chunks in the wrong order",
            "WrongContext": "the reference binds another conversation/message",
        },
        "testGroups": groups,
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap();
    s.push('\n');
    s
}
