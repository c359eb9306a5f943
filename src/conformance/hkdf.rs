//! HKDF-SHA256: Wycheproof `hkdf_sha256` and RFC 5869 A.1–A.3, through
//! `primitives::hkdf_extract` and `hkdf_expand`.
//!
//! Valid cases: extract then expand gives the vector's OKM. Invalid cases
//! (output longer than 255 · 32 bytes): `hkdf_expand` refuses.

use alloc::format;
use alloc::vec;

use super::{bytes, json, list, text, wycheproof_cases, Tally};
use crate::primitives::{hkdf_expand, hkdf_extract};

const WYCHEPROOF: &str = include_str!("../../tests/data/external/wycheproof/hkdf_sha256_test.json");
const RFC_KATS: &str = include_str!("../../tests/data/external/rfc/rfc-kats.json");

fn size(v: &serde_json::Value, key: &str) -> usize {
    v[key]
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .expect("a size")
}

#[test]
fn wycheproof_hkdf_sha256() {
    let file = json(WYCHEPROOF);
    let mut t = Tally::new("hkdf-sha256 (wycheproof)");
    let (mut valid, mut invalid) = (0, 0);
    for (_, case) in wycheproof_cases(&file) {
        t.case();
        let id = &case["tcId"];
        let prk = hkdf_extract(&bytes(case, "salt"), &[&bytes(case, "ikm")]);
        let mut okm = vec![0u8; size(case, "size")];
        let expanded = hkdf_expand(&prk, &[&bytes(case, "info")], &mut okm);
        match text(case, "result") {
            "valid" => {
                valid += 1;
                t.check(expanded.is_ok() && okm == bytes(case, "okm"), || {
                    format!("tcId {id}: okm")
                });
            }
            "invalid" => {
                invalid += 1;
                t.check(expanded.is_err(), || {
                    format!("tcId {id}: {} bytes expanded", okm.len())
                });
            }
            other => panic!("tcId {id}: unexpected result {other}"),
        }
    }
    t.finish(&format!("{valid} valid, {invalid} invalid"));
}

#[test]
fn rfc5869_sha256() {
    let kats = json(RFC_KATS);
    let mut t = Tally::new("hkdf-sha256 (rfc 5869 A.1-A.3)");
    for v in list(&kats, "hkdf_sha256_rfc5869") {
        t.case();
        let name = text(v, "name");
        // Info split in two parts: the wrapper's multi-part info must equal
        // the concatenation.
        let info = bytes(v, "info");
        let (info_a, info_b) = info.split_at(info.len() / 2);
        let prk = hkdf_extract(&bytes(v, "salt"), &[&bytes(v, "ikm")]);
        let mut okm = vec![0u8; size(v, "L")];
        let expanded = hkdf_expand(&prk, &[info_a, info_b], &mut okm);
        t.check(expanded.is_ok() && okm == bytes(v, "okm"), || {
            format!("{name}: okm")
        });
    }
    t.finish("");
}
