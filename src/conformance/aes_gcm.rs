//! Wycheproof AES-GCM, AES-256 with a 96-bit IV and 128-bit tag only (the
//! other groups were filtered out when copying: fanseal never uses another
//! key, nonce or tag size), through `primitives::AeadKey`.
//!
//! Valid cases: `seal_detached` gives the vector's ciphertext and tag, and
//! `open_detached` gives the message back. Invalid cases (modified tags,
//! counter wrap, special IVs): `open_detached` fails and leaves the buffer
//! exactly as it was.

use alloc::format;

use super::{array, bytes, json, text, wycheproof_cases, Tally};
use crate::primitives::AeadKey;

const DATA: &str =
    include_str!("../../tests/data/external/wycheproof/aes_gcm_256_iv96_tag128_test.json");

#[test]
fn wycheproof_aes256_gcm() {
    let file = json(DATA);
    let mut t = Tally::new("aes-256-gcm (wycheproof)");
    let (mut valid, mut invalid) = (0, 0);
    for (group, case) in wycheproof_cases(&file) {
        assert_eq!(group["keySize"], 256);
        assert_eq!(group["ivSize"], 96);
        assert_eq!(group["tagSize"], 128);
        t.case();
        let id = &case["tcId"];
        let key = AeadKey::new(&array(case, "key"));
        let nonce: [u8; 12] = array(case, "iv");
        let aad = bytes(case, "aad");
        let msg = bytes(case, "msg");
        let ct = bytes(case, "ct");
        let tag: [u8; 16] = array(case, "tag");
        match text(case, "result") {
            "valid" => {
                valid += 1;
                let mut buf = msg.clone();
                let sealed = key.seal_detached(&nonce, &aad, &mut buf);
                t.check(sealed == Ok(tag) && buf == ct, || {
                    format!("tcId {id}: seal gave {sealed:?}")
                });
                let mut buf = ct.clone();
                let opened = key.open_detached(&nonce, &aad, &mut buf, &tag);
                t.check(opened.is_ok() && buf == msg, || format!("tcId {id}: open"));
            }
            "invalid" => {
                invalid += 1;
                let mut buf = ct.clone();
                let opened = key.open_detached(&nonce, &aad, &mut buf, &tag);
                t.check(opened.is_err(), || {
                    format!("tcId {id}: invalid case opened")
                });
                t.check(buf == ct, || {
                    format!("tcId {id}: buffer changed on failure")
                });
            }
            other => panic!("tcId {id}: unexpected result {other}"),
        }
    }
    t.finish(&format!("{valid} valid, {invalid} invalid"));
}
