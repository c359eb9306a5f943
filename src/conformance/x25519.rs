//! Wycheproof X25519 and RFC 7748 §5.2 / §6.1 through fanseal's X25519
//! boundaries.
//!
//! Every Wycheproof case whose shared secret is all-zero (a low-order public
//! key, 31 cases) must be rejected wherever fanseal takes an X25519 public
//! key or does DH:
//!
//! * `primitives::check_x25519_public` (the key check behind certificates);
//! * `X25519Secret::diffie_hellman`;
//! * `hpke::encap` (sender side: the low-order key as the recipient's key)
//!   and `hpke::decap` (receiver side: the low-order key as `enc`);
//! * `AccountSecret::certify_device` → `CertificateError::InvalidX25519Key`;
//! * `open` of a real envelope, addressed to a device holding the case's
//!   private key, whose ephemeral key is replaced by the case's public key:
//!   `OpenError::Unauthenticated` when the encoding is canonical (the zero
//!   DH output is rejected in `decap`), or
//!   `OpenError::Decode(DecodeError::NonCanonical(_))` when it is not (the
//!   header decoder refuses u ≥ 2^255 − 19 and a set top bit before any DH).
//!   16 of the 31 zero cases are non-canonical encodings.
//!
//! Non-zero cases (487): DH with the case's private key gives the expected
//! shared secret, and `encap`/`decap` give the RFC 9180 `ExtractAndExpand` of
//! it. Non-canonical public keys (13 non-zero cases) are treated per
//! boundary:
//!
//! * `X25519Secret::diffie_hellman`, `hpke::encap`, `hpke::decap` accept them
//!   and compute the RFC 7748 §5 value (bit 255 masked, u reduced mod p),
//!   which is what Wycheproof expects;
//! * `check_x25519_public` and therefore `certify_device` (and certificate
//!   and device-list verification, which call the same check) reject them;
//! * `open` rejects them at decode, before any DH, with
//!   `DecodeError::NonCanonical`. So no non-canonical key ever reaches DH
//!   through the public API; the lenient DH only matters to crate-internal
//!   callers, which all pass keys that went through one of the two checks.
//!
//! Canonical non-zero keys are accepted by `check_x25519_public` (the check
//! `certify_device` and certificate verification apply).

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::{array, json, text, wycheproof_cases, Tally};
use crate::envelope::hpke::{decap, encap};
use crate::primitives::{check_x25519_public, hkdf_expand, hkdf_extract, X25519Secret};
use crate::{
    open, seal, AccountSecret, CertificateError, CertificateParams, DecodeError, DeviceId,
    DeviceSecret, Message, OpenError, Padding,
};

const WYCHEPROOF: &str = include_str!("../../tests/data/external/wycheproof/x25519_test.json");
const RFC_KATS: &str = include_str!("../../tests/data/external/rfc/rfc-kats.json");
const RFC7748: &str = include_str!("../../tests/data/external/rfc/rfc7748.json");

/// Offset of the ephemeral key in an encoded envelope: version (1), object
/// type (1), suite (2), message id (16), timestamp (8).
const EPHEMERAL_AT: usize = 1 + 1 + 2 + 16;
const NOW: u64 = 1_700_000_000_000;

/// u < 2^255 - 19, computed here independently of the library's check.
fn is_canonical(u: &[u8; 32]) -> bool {
    if u[31] & 0x80 != 0 {
        return false;
    }
    // u >= p  <=>  u[31] == 0x7f, u[1..31] all 0xff, u[0] >= 0xed.
    !(u[31] == 0x7f && u[1..31].iter().all(|b| *b == 0xff) && u[0] >= 0xed)
}

/// RFC 9180 §4.1 `ExtractAndExpand(dh, enc || pkR)` for DHKEM(X25519,
/// HKDF-SHA256), written out from the RFC as the expected value of
/// `encap` / `decap` given the Wycheproof shared secret.
fn rfc9180_kem_shared_secret(dh: &[u8; 32], enc: &[u8; 32], pk_r: &[u8; 32]) -> [u8; 32] {
    let suite: &[u8] = b"KEM\x00\x20";
    let prk = hkdf_extract(b"", &[b"HPKE-v1", suite, b"eae_prk", dh]);
    let mut out = [0u8; 32];
    hkdf_expand(
        &prk,
        &[&[0, 32], b"HPKE-v1", suite, b"shared_secret", enc, pk_r],
        &mut out,
    )
    .expect("32 bytes");
    out
}

/// A sealed envelope from a fixed sender to a device holding `x25519`, and
/// everything needed to open it.
struct Fixture {
    recipient: crate::DeviceKeyring,
    directory: Vec<crate::VerifiedDeviceList>,
    envelope: Vec<u8>,
}

impl Fixture {
    fn new(account: &AccountSecret, recipient_x25519: &[u8; 32]) -> Self {
        let sender = DeviceSecret::from_secret_bytes(&[0x11; 64]);
        let mut secret = [0x22u8; 64];
        secret[..32].copy_from_slice(recipient_x25519);
        let recipient = DeviceSecret::from_secret_bytes(&secret);
        let certify = |d: &DeviceSecret, id: u8| {
            account
                .certify_device(&params(d.public_keys().x25519, d.public_keys().ed25519, id))
                .expect("valid device keys")
        };
        let sender_cert = certify(&sender, 1);
        let recipient_cert = certify(&recipient, 2);
        let list = account
            .issue_device_list(None, 0, vec![sender_cert.clone(), recipient_cert.clone()])
            .expect("list")
            .verify(&account.public_key())
            .expect("verifies");
        let message = Message {
            payload: b"conformance",
            aad: b"",
            padding: Padding::Padme,
            ..Message::default()
        };
        let mut rng = ChaCha20Rng::from_seed([0x33; 32]);
        let envelope = seal(
            &sender,
            &sender_cert,
            &[&list],
            &[],
            &message,
            NOW,
            &mut rng,
        )
        .expect("seal")
        .to_bytes();
        Fixture {
            recipient: crate::DeviceKeyring::new(recipient, recipient_cert).expect("keyring"),
            directory: vec![list],
            envelope,
        }
    }

    fn open_as_is(&self) -> Result<crate::Opened, OpenError> {
        open(&self.recipient, &self.envelope, &self.directory, NOW)
    }

    fn open_with_ephemeral(&self, ephemeral: &[u8; 32]) -> Result<crate::Opened, OpenError> {
        let mut bytes = self.envelope.clone();
        bytes[EPHEMERAL_AT..EPHEMERAL_AT + 32].copy_from_slice(ephemeral);
        open(&self.recipient, &bytes, &self.directory, NOW)
    }
}

fn params(x25519: [u8; 32], ed25519: [u8; 32], id: u8) -> CertificateParams {
    CertificateParams {
        device_id: DeviceId::from_bytes([id; 16]),
        keys: crate::DevicePublicKeys { x25519, ed25519 },
        created_at: 0,
        expires_at: None,
        capabilities: 0,
    }
}

#[test]
fn wycheproof_x25519_at_every_boundary() {
    let file = json(WYCHEPROOF);
    let account = AccountSecret::from_secret_seed(&[0x44; 32]);
    // A valid device Ed25519 key, so only the X25519 key decides certify_device.
    let ed25519 = DeviceSecret::from_secret_bytes(&[0x55; 64])
        .public_keys()
        .ed25519;
    // One envelope for the non-canonical non-zero cases (rejected at decode,
    // whatever the recipient's key); zero cases get their own, addressed to
    // a device holding the case's private key.
    let shared_fixture = Fixture::new(&account, &[0x66; 32]);
    assert!(
        shared_fixture.open_as_is().is_ok(),
        "fixture opens untouched"
    );

    let mut t = Tally::new("x25519 (wycheproof)");
    let (mut zero, mut zero_noncanonical, mut noncanonical) = (0, 0, 0);
    for (group, case) in wycheproof_cases(&file) {
        assert_eq!(text(group, "curve"), "curve25519");
        t.case();
        let id = &case["tcId"];
        let public: [u8; 32] = array(case, "public");
        let private: [u8; 32] = array(case, "private");
        let shared: [u8; 32] = array(case, "shared");
        let secret = X25519Secret::from_bytes(&private);
        let own_public = secret.public();
        let canonical = is_canonical(&public);
        noncanonical += usize::from(!canonical);

        if shared == [0u8; 32] {
            zero += 1;
            zero_noncanonical += usize::from(!canonical);
            t.check(check_x25519_public(&public).is_err(), || {
                format!("tcId {id}: check_x25519_public accepted a low-order key")
            });
            t.check(secret.diffie_hellman(&public).is_err(), || {
                format!("tcId {id}: diffie_hellman returned the zero secret")
            });
            t.check(encap(&secret, &own_public, &public).is_err(), || {
                format!("tcId {id}: encap to a low-order key")
            });
            t.check(decap(&secret, &own_public, &public).is_err(), || {
                format!("tcId {id}: decap of a low-order enc")
            });
            let certified = account.certify_device(&params(public, ed25519, 9));
            t.check(certified == Err(CertificateError::InvalidX25519Key), || {
                format!("tcId {id}: certify_device gave {certified:?}")
            });
            let fixture = Fixture::new(&account, &private);
            t.check(fixture.open_as_is().is_ok(), || {
                format!("tcId {id}: fixture does not open untouched")
            });
            let opened = fixture.open_with_ephemeral(&public);
            let expected_ok = if canonical {
                opened == Err(OpenError::Unauthenticated)
            } else {
                matches!(opened, Err(OpenError::Decode(DecodeError::NonCanonical(_))))
            };
            t.check(expected_ok, || {
                format!("tcId {id}: open (canonical: {canonical}) gave {opened:?}")
            });
        } else {
            let dh = secret.diffie_hellman(&public);
            t.check(dh.as_deref() == Ok(&shared), || {
                format!("tcId {id}: shared secret {dh:?}")
            });
            let sender = encap(&secret, &own_public, &public);
            let expected = rfc9180_kem_shared_secret(&shared, &own_public, &public);
            t.check(sender.as_deref() == Ok(&expected), || {
                format!("tcId {id}: encap")
            });
            let receiver = decap(&secret, &own_public, &public);
            let expected = rfc9180_kem_shared_secret(&shared, &public, &own_public);
            t.check(receiver.as_deref() == Ok(&expected), || {
                format!("tcId {id}: decap")
            });
            let checked = check_x25519_public(&public).is_ok();
            t.check(checked == canonical, || {
                format!("tcId {id}: check_x25519_public {checked}, canonical {canonical}")
            });
            // certify_device and open are exercised with the non-canonical
            // keys only: for canonical non-zero keys certify_device's
            // decision is check_x25519_public's (asserted just above), and
            // open would only show that a substituted ephemeral key breaks
            // the wrap. Skipping them keeps the suite fast in debug builds.
            if !canonical {
                let certified = account.certify_device(&params(public, ed25519, 9));
                t.check(certified == Err(CertificateError::InvalidX25519Key), || {
                    format!("tcId {id}: certify_device accepted a non-canonical key: {certified:?}")
                });
                let opened = shared_fixture.open_with_ephemeral(&public);
                t.check(
                    matches!(opened, Err(OpenError::Decode(DecodeError::NonCanonical(_)))),
                    || format!("tcId {id}: open with a non-canonical ephemeral gave {opened:?}"),
                );
            }
        }
    }
    t.finish(&format!(
        "{zero} all-zero shared secrets ({zero_noncanonical} non-canonical) rejected at 6 boundaries, \
         {noncanonical} non-canonical public keys"
    ));
}

#[test]
fn rfc7748_scalar_mult_and_dh() {
    let rfc = json(RFC7748);
    let kats = json(RFC_KATS);
    let mut t = Tally::new("x25519 (rfc 7748 5.2 + 6.1)");

    // §5.2 with the RFC's own bytes: vector 1's scalar is unclamped, vector
    // 2's u has bit 255 set; X25519 clamps the scalar and ignores that bit.
    for (i, v) in super::list(&rfc, "section_5_2").iter().enumerate() {
        t.case();
        let out = X25519Secret::from_bytes(&array(v, "scalar")).diffie_hellman(&array(v, "u"));
        let expected: [u8; 32] = array(v, "output");
        t.check(out.as_deref() == Ok(&expected), || {
            format!("5.2 vector {}: {out:?}", i + 1)
        });
    }
    // The same vectors in Wycheproof's form (rfc-kats.json: clamped scalar,
    // masked u), plus §6.1's Alice × Bob as its third entry.
    for v in super::list(&kats, "x25519_rfc7748") {
        t.case();
        let name = text(v, "name");
        let out = X25519Secret::from_bytes(&array(v, "scalar")).diffie_hellman(&array(v, "u"));
        let expected: [u8; 32] = array(v, "output");
        t.check(out.as_deref() == Ok(&expected), || {
            format!("{name}: {out:?}")
        });
    }

    // §5.2 iterated: k = u = 9; each round k, u = X25519(k, u), k.
    // 1 and 1,000 iterations; 1,000,000 is skipped (minutes in a debug build).
    let iterated = &kats["x25519_rfc7748_iterated"];
    let after_1: [u8; 32] = array(iterated, "after_1");
    let after_1000: [u8; 32] = array(iterated, "after_1000");
    let mut k = [0u8; 32];
    k[0] = 9;
    let mut u = k;
    for round in 1..=1000 {
        let next = X25519Secret::from_bytes(&k)
            .diffie_hellman(&u)
            .expect("non-zero");
        u = k;
        k = *next;
        if round == 1 {
            t.case();
            t.check(k == after_1, || "iterated 1".into());
        }
    }
    t.case();
    t.check(k == after_1000, || "iterated 1,000".into());

    // §6.1: both public keys from the private keys, both sides agree.
    let v = &rfc["section_6_1"];
    t.case();
    let alice = X25519Secret::from_bytes(&array(v, "alice_private"));
    let bob = X25519Secret::from_bytes(&array(v, "bob_private"));
    let shared: [u8; 32] = array(v, "shared");
    t.check(alice.public() == array::<32>(v, "alice_public"), || {
        "6.1 Alice public".into()
    });
    t.check(bob.public() == array::<32>(v, "bob_public"), || {
        "6.1 Bob public".into()
    });
    let a = alice.diffie_hellman(&bob.public());
    let b = bob.diffie_hellman(&alice.public());
    t.check(a.as_deref() == Ok(&shared), || "6.1 Alice's side".into());
    t.check(b.as_deref() == Ok(&shared), || "6.1 Bob's side".into());
    t.finish(
        "5.2 vectors in RFC and Wycheproof form, iterated 1 and 1,000 (1,000,000 skipped), 6.1 both sides",
    );
}
