//! vectors/attachments.json (issue 15): (a) the committed file is exactly
//! what the deterministic generator writes, (b) every case holds against the
//! library, (c) a changed expected value is caught. This test only reads the
//! file; `cargo run --example gen_vectors` writes it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/vectors_gen_attachments.rs"]
mod gen;

use fanseal::attachment::{
    fanseal_context, AttachmentError, AttachmentKey, AttachmentReference, Encryptor,
};
use fanseal::DecodeError;
use serde_json::Value;
use sha2::{Digest, Sha256};

type R<T> = Result<T, String>;

fn committed() -> String {
    let path = format!("{}/vectors/{}", env!("CARGO_MANIFEST_DIR"), gen::FILE);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn hx(v: &Value, k: &str) -> R<Vec<u8>> {
    hex::decode(v[k].as_str().ok_or(format!("{k} missing"))?).map_err(|e| e.to_string())
}

fn kind(e: &AttachmentError) -> String {
    match e {
        AttachmentError::Decode(d) => format!(
            "DecodeError::{}",
            match d {
                DecodeError::Truncated { .. } => "Truncated",
                DecodeError::TrailingBytes { .. } => "TrailingBytes",
                DecodeError::OutOfRange { .. } => "OutOfRange",
                DecodeError::UnsupportedVersion(_) => "UnsupportedVersion",
                DecodeError::WrongObjectType { .. } => "WrongObjectType",
                DecodeError::UnsupportedSuite(_) => "UnsupportedSuite",
                DecodeError::NonCanonical(_) => "NonCanonical",
                _ => "Unknown",
            }
        ),
        other => format!("{other:?}"),
    }
}

fn ensure(cond: bool, what: impl FnOnce() -> String) -> R<()> {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

fn seal_case(c: &Value) -> R<()> {
    let key: [u8; 32] = hx(c, "key")?.try_into().map_err(|_| "key")?;
    let salt: [u8; 24] = hx(c, "salt")?.try_into().map_err(|_| "salt")?;
    let binding = hx(c, "binding")?;
    let ctx = fanseal_context(&binding).map_err(|e| format!("{e:?}"))?;
    ensure(ctx == hx(c, "context")?, || "context differs".into())?;
    let len = c["plaintextLength"].as_u64().ok_or("plaintextLength")? as usize;
    let pt = gen::pattern(len);
    let key = AttachmentKey::from_bytes(key);
    let mut enc = Encryptor::with_salt(&key, salt, &ctx).map_err(|e| format!("{e:?}"))?;
    let mut ct = Vec::new();
    for piece in pt.chunks(4099) {
        enc.update(piece, &mut ct).map_err(|e| format!("{e:?}"))?;
    }
    enc.finish(&mut ct).map_err(|e| format!("{e:?}"))?;
    ensure(
        ct.len() as u64 == c["ciphertextLength"].as_u64().unwrap_or(0),
        || "length".into(),
    )?;
    let digest: [u8; 32] = Sha256::digest(&ct).into();
    ensure(digest.to_vec() == hx(c, "ciphertextSha256")?, || {
        "digest".into()
    })?;
    if c.get("ciphertext").is_some() {
        ensure(ct == hx(c, "ciphertext")?, || "ciphertext bytes".into())?;
    }
    let r = AttachmentReference::new(key, &binding, ct.len() as u64, digest)
        .map_err(|e| format!("{e:?}"))?;
    ensure(r.to_secret_bytes()[..] == hx(c, "reference")?[..], || {
        "reference bytes".into()
    })?;
    // And the recipient's side opens it.
    let back =
        AttachmentReference::from_bytes(&hx(c, "reference")?).map_err(|e| format!("{e:?}"))?;
    let mut opener = back.opener().map_err(|e| format!("{e:?}"))?;
    let mut out = Vec::new();
    opener.update(&ct, &mut out).map_err(|e| format!("{e:?}"))?;
    ensure(
        opener.finish(&mut out) == Ok(len as u64) && out == pt,
        || "open".into(),
    )
}

fn open_case(c: &Value) -> R<()> {
    let want = c["error"].as_str().ok_or("error")?;
    let got = (|| {
        let r = AttachmentReference::from_bytes(&hx(c, "reference").unwrap())?;
        let download = hx(c, "download").unwrap();
        let mut opener = r.opener()?;
        let mut out = Vec::new();
        // In uneven pieces, as a network would deliver them.
        for piece in download.chunks(1000) {
            opener.update(piece, &mut out)?;
        }
        opener.finish(&mut out).map(|_| ())
    })();
    match got {
        Ok(()) => Err(format!("accepted, expected {want}")),
        Err(e) => ensure(kind(&e) == want, || {
            format!("got {}, expected {want}", kind(&e))
        }),
    }
}

fn decode_case(c: &Value) -> R<()> {
    let bytes = hx(c, "reference")?;
    let want = c["error"].as_str().unwrap_or("");
    match AttachmentReference::from_bytes(&bytes) {
        Ok(r) if want.is_empty() => ensure(r.to_secret_bytes()[..] == bytes[..], || {
            "not canonical".into()
        }),
        Ok(_) => Err(format!("accepted, expected {want}")),
        Err(e) => ensure(kind(&e) == want, || {
            format!("got {}, expected {want}", kind(&e))
        }),
    }
}

fn check(text: &str) -> R<usize> {
    let doc: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut n = 0;
    for g in doc["testGroups"].as_array().ok_or("testGroups")? {
        for c in g["tests"].as_array().ok_or("tests")? {
            let id = &c["tcId"];
            match g["type"].as_str() {
                Some("Seal") => seal_case(c),
                Some("Open") => open_case(c),
                Some("ReferenceDecode") => decode_case(c),
                other => Err(format!("unknown group {other:?}")),
            }
            .map_err(|e| format!("tc {id}: {e}"))?;
            n += 1;
        }
    }
    ensure(doc["numberOfTests"].as_u64() == Some(n as u64), || {
        "numberOfTests".into()
    })?;
    Ok(n)
}

#[test]
fn committed_attachment_vectors_equal_the_generator_output() {
    assert!(
        committed() == gen::generate(),
        "vectors/attachments.json differs from the generator's output: run `cargo run --example gen_vectors` and review the diff"
    );
}

#[test]
fn every_attachment_vector_holds_against_the_library() {
    let n = check(&committed()).unwrap_or_else(|e| panic!("{e}"));
    println!("attachments.json: {n} cases, 0 failures");
    assert!(n >= 30, "{n}");
}

#[test]
fn the_checker_rejects_a_changed_expected_value() {
    let text = committed();
    for (from, to) in [
        ("\"error\": \"Truncated\"", "\"error\": \"Unauthenticated\""),
        ("\"error\": \"DigestMismatch\"", "\"error\": \"Truncated\""),
        ("\"plaintextLength\": 100,", "\"plaintextLength\": 101,"),
        (
            "\"error\": \"DecodeError::NonCanonical\"",
            "\"error\": \"DecodeError::OutOfRange\"",
        ),
    ] {
        assert!(text.contains(from), "{from}");
        assert!(
            check(&text.replacen(from, to, 1)).is_err(),
            "{from} -> {to} went unnoticed"
        );
    }
    // A changed ciphertext byte.
    let doc: Value = serde_json::from_str(&text).unwrap();
    let ct = doc["testGroups"][0]["tests"][2]["ciphertext"]
        .as_str()
        .unwrap();
    let mut flipped = ct.to_string();
    flipped.replace_range(0..1, if ct.starts_with('0') { "1" } else { "0" });
    assert!(check(&text.replacen(ct, &flipped, 1)).is_err());
}
