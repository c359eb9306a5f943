//! RFC 9180 base mode (mode 0) for DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
//! AES-256-GCM, through fanseal's per-device wrap (`envelope/hpke.rs`).
//!
//! With the vector's `skEm` / `skRm`, fanseal's `encap` and `decap` must give
//! the vector's `shared_secret`; `ScheduleContext` + `Context` must give its
//! `key` and `base_nonce`; and `Context::seal_in_place` at sequence `i` must
//! give the `i`-th encryption's ciphertext (then `open_in_place` gives the
//! plaintext back). The vector's exporter values are not checked: fanseal has
//! no exporter interface.

use alloc::format;
use alloc::vec::Vec;

use super::{array, bytes, json, list, Tally};
use crate::envelope::hpke::{decap, encap, Context, ScheduleContext};
use crate::primitives::X25519Secret;

const DATA: &str =
    include_str!("../../tests/data/external/hpke/rfc9180-base-x25519-sha256-aes256gcm.json");

#[test]
fn rfc9180_base_mode_wrap() {
    let file = json(DATA);
    let entries = file.as_array().expect("a list of key schedules");
    let mut t = Tally::new("rfc9180 base mode (key schedules and encryptions)");
    let mut encryptions = 0usize;
    for entry in entries {
        assert_eq!(entry["mode"], 0, "filtered to mode 0");
        assert_eq!(entry["kem_id"], 0x20);
        assert_eq!(entry["kdf_id"], 1);
        assert_eq!(entry["aead_id"], 2);
        t.case();
        let sk_e = X25519Secret::from_bytes(&array(entry, "skEm"));
        let sk_r = X25519Secret::from_bytes(&array(entry, "skRm"));
        let pk_e: [u8; 32] = array(entry, "pkEm");
        let pk_r: [u8; 32] = array(entry, "pkRm");
        let enc: [u8; 32] = array(entry, "enc");
        let shared: [u8; 32] = array(entry, "shared_secret");
        let key: [u8; 32] = array(entry, "key");
        let base_nonce: [u8; 12] = array(entry, "base_nonce");

        t.check(sk_e.public() == pk_e, || "pkEm from skEm".into());
        t.check(sk_r.public() == pk_r, || "pkRm from skRm".into());
        t.check(enc == pk_e, || "enc == pkEm (DHKEM)".into());

        let sender_ss = encap(&sk_e, &pk_e, &pk_r);
        t.check(sender_ss.as_deref() == Ok(&shared), || {
            format!("encap shared_secret: {sender_ss:?}")
        });
        let receiver_ss = decap(&sk_r, &pk_r, &enc);
        t.check(receiver_ss.as_deref() == Ok(&shared), || {
            format!("decap shared_secret: {receiver_ss:?}")
        });

        let ksc = ScheduleContext::new(&bytes(entry, "info"));
        let ctx = Context::new(&shared, &ksc).expect("key schedule");
        t.check(*ctx.key == key, || "key".into());
        t.check(*ctx.base_nonce == base_nonce, || "base_nonce".into());

        for (seq, e) in list(entry, "encryptions").iter().enumerate() {
            t.case();
            encryptions += 1;
            let seq = u64::try_from(seq).expect("small");
            let aad = bytes(e, "aad");
            let pt = bytes(e, "pt");
            let expected_ct = bytes(e, "ct");
            let nonce: [u8; 12] = array(e, "nonce");
            t.check(ctx.nonce(seq) == nonce, || format!("seq {seq}: nonce"));

            let mut buf = pt.clone();
            let tag = ctx.seal_in_place(seq, &aad, &mut buf).expect("seal");
            let mut ct = buf.clone();
            ct.extend_from_slice(&tag);
            t.check(ct == expected_ct, || format!("seq {seq}: ciphertext"));

            let (body, tag) = expected_ct.split_at(expected_ct.len() - 16);
            let mut opened: Vec<u8> = body.to_vec();
            let tag: [u8; 16] = tag.try_into().expect("16-byte tag");
            let ok = ctx.open_in_place(seq, &aad, &mut opened, &tag).is_ok();
            t.check(ok && opened == pt, || format!("seq {seq}: open"));
            // The same ciphertext at the next sequence number must not open.
            let mut wrong = body.to_vec();
            let rejected = ctx.open_in_place(seq + 1, &aad, &mut wrong, &tag).is_err();
            t.check(rejected && wrong == body, || {
                format!("seq {seq}: opened at seq+1")
            });
        }
    }
    t.finish(&format!(
        "{} key schedule(s), {encryptions} encryptions",
        entries.len()
    ));
}
