//! The post-quantum hybrid suite (SPEC.md §2.2, §3.7, §4.5, §4.10; issue 12;
//! property P14): X-Wing envelopes open on every device, the suite follows
//! the recipients' signed capabilities and nothing on the path can make a
//! sender that could use it fall back to the classical suite.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::keyed::{certify, keyed_account as account, KeyedAccount as Account, DAY};
use common::{rng, NOW};
use ed25519_dalek::{Signer, SigningKey};
use fanseal::*;
use rand_chacha::ChaCha20Rng;

const BOTH: u32 = CAPABILITY_PREKEYS | CAPABILITY_HYBRID;

/// Every prekey each device of `a` publishes at `NOW` (classical when it
/// requires prekeys, hybrid when it supports the hybrid suite), verified
/// as a sender would after fetching them.
fn publish(a: &mut Account, r: &mut ChaCha20Rng) -> Vec<VerifiedPrekey> {
    let mut out = Vec::new();
    for k in &mut a.keyrings {
        let cert = k.certificate().clone();
        let mut made = Vec::new();
        if cert.requires_prekeys() {
            made.push(k.rotate_prekey(NOW, r).unwrap());
        }
        if cert.supports_hybrid() {
            made.push(k.rotate_hybrid_prekey(NOW, r).unwrap());
        }
        for p in made {
            let fetched = SignedPrekey::from_bytes(&p.to_bytes()).unwrap();
            out.push(a.list.verify_prekey(&fetched, NOW).unwrap());
        }
    }
    out
}

fn message(policy: SuitePolicy) -> Message<'static> {
    Message {
        payload: b"harvest me later if you can",
        aad: b"conversation",
        suite: policy,
        ..Message::default()
    }
}

struct Pair {
    alice: Account,
    bob: Account,
    prekeys: Vec<VerifiedPrekey>,
}

fn pair(seed: u8, alice_caps: &[u32], bob_caps: &[u32]) -> Pair {
    let mut r = rng(seed);
    let mut alice = account(&mut r, alice_caps);
    let mut bob = account(&mut r, bob_caps);
    let mut prekeys = publish(&mut alice, &mut r);
    prekeys.extend(publish(&mut bob, &mut r));
    Pair {
        alice,
        bob,
        prekeys,
    }
}

impl Pair {
    fn seal(
        &self,
        prekeys: &[&VerifiedPrekey],
        policy: SuitePolicy,
        r: &mut ChaCha20Rng,
    ) -> Result<Envelope, SealError> {
        let sender = &self.alice.keyrings[0];
        seal(
            sender.secret(),
            sender.certificate(),
            &[&self.alice.list, &self.bob.list],
            prekeys,
            &message(policy),
            NOW,
            r,
        )
    }

    fn all_prekeys(&self) -> Vec<&VerifiedPrekey> {
        self.prekeys.iter().collect()
    }

    fn directory(&self) -> Vec<VerifiedDeviceList> {
        vec![self.alice.list.clone(), self.bob.list.clone()]
    }

    fn keyrings(&self) -> impl Iterator<Item = &DeviceKeyring> {
        self.alice.keyrings.iter().chain(&self.bob.keyrings)
    }
}

#[test]
fn hybrid_envelopes_open_on_every_recipient_device_and_say_so() {
    let p = pair(
        100,
        &[BOTH, BOTH],
        &[BOTH, CAPABILITY_HYBRID | CAPABILITY_PREKEYS],
    );
    let mut r = rng(101);
    let envelope = p.seal(&p.all_prekeys(), SuitePolicy::Auto, &mut r).unwrap();
    assert_eq!(envelope.header().suite(), Suite::Hybrid);
    let bytes = envelope.to_bytes();
    assert_eq!(bytes[2..4], [0x00, 0x02]);
    let directory = p.directory();
    let mut opened = 0;
    for keyring in p.keyrings() {
        let o = open(keyring, &bytes, &directory, NOW).unwrap();
        assert_eq!(o.payload(), b"harvest me later if you can");
        assert_eq!(o.suite(), Suite::Hybrid);
        // Opened with the device's hybrid prekey, never a classical key.
        let hybrid = keyring.current_hybrid_prekey(NOW).unwrap();
        assert_eq!(o.opened_with(), hybrid.key_id());
        // The relay's split gives each device its 1,168-byte wrap.
        let delivery = envelope.delivery_for(&hybrid.key_id()).unwrap();
        let d = delivery.to_bytes();
        assert_eq!(Delivery::from_bytes(&d).unwrap(), delivery);
        assert_eq!(
            open(keyring, &d, &directory, NOW).unwrap().suite(),
            Suite::Hybrid
        );
        let split = RelaySplit::new(&bytes).unwrap();
        assert_eq!(split.delivery(&hybrid.key_id()).unwrap().to_vec(), d);
        opened += 1;
    }
    assert_eq!(opened, 4);
    assert_eq!(Envelope::from_bytes(&bytes).unwrap(), envelope);
}

#[test]
fn a_hybrid_envelope_costs_1120_bytes_more_per_device_and_no_shared_enc() {
    let p = pair(102, &[BOTH], &[BOTH, BOTH]);
    let hybrid = p
        .seal(&p.all_prekeys(), SuitePolicy::Auto, &mut rng(103))
        .unwrap();
    // The same set without the hybrid prekeys' owners' capability: rebuild
    // with classical devices to compare sizes for the same payload.
    let q = pair(
        102,
        &[CAPABILITY_PREKEYS],
        &[CAPABILITY_PREKEYS, CAPABILITY_PREKEYS],
    );
    let classical = q
        .seal(&q.all_prekeys(), SuitePolicy::Auto, &mut rng(103))
        .unwrap();
    assert_eq!(classical.header().suite(), Suite::Classical);
    let (h, c) = (hybrid.to_bytes().len(), classical.to_bytes().len());
    assert_eq!(h, c - 32 + 3 * (1168 - 48));
    assert_eq!(Suite::Hybrid.wrap_len() - Suite::Classical.wrap_len(), 1120);
}

/// The named downgrade test (issue 12): a directory that strips the PQ
/// capability or substitutes a classical prekey cannot make a sender to an
/// all-hybrid set produce a classical envelope. Fails if the suite rule of
/// SPEC.md §4.10 is removed (seal would fall back to the classical prekeys).
#[test]
fn a_directory_cannot_downgrade_a_pq_capable_recipient_set() {
    let p = pair(104, &[BOTH], &[BOTH, BOTH]);
    let mut r = rng(105);
    let bob_device = p.bob.keyrings[1].certificate().device_id();

    // 1. Withholding bob's second device's hybrid prekey (serving only its
    // classical one): seal names the device, never a classical envelope.
    let withheld: Vec<&VerifiedPrekey> = p
        .prekeys
        .iter()
        .filter(|v| !(v.device_id() == bob_device && v.suite() == Suite::Hybrid))
        .collect();
    assert_eq!(
        p.seal(&withheld, SuitePolicy::Auto, &mut r).unwrap_err(),
        SealError::MissingPrekey {
            account: *p.bob.list.account(),
            device_id: bob_device
        }
    );
    // Serving only classical prekeys for everyone: the same refusal.
    let classical_only: Vec<&VerifiedPrekey> = p
        .prekeys
        .iter()
        .filter(|v| v.suite() == Suite::Classical)
        .collect();
    assert!(matches!(
        p.seal(&classical_only, SuitePolicy::Auto, &mut r),
        Err(SealError::MissingPrekey { .. })
    ));

    // 2. Substituting a classical prekey for the hybrid one by relabelling
    // its suite: the suite is signed and fixes the layout, so the bytes do
    // not even decode as a hybrid prekey, and a re-signed one needs the
    // device key.
    let classical = p.bob.keyrings[1].current_prekey(NOW).unwrap().to_bytes();
    let mut relabelled = classical.clone();
    relabelled[3] = 0x02;
    assert!(matches!(
        SignedPrekey::from_bytes(&relabelled),
        Err(DecodeError::Truncated { .. })
    ));
    let hybrid = p.bob.keyrings[1]
        .current_hybrid_prekey(NOW)
        .unwrap()
        .to_bytes();
    let mut relabelled = hybrid.clone();
    relabelled[3] = 0x01;
    assert!(matches!(
        SignedPrekey::from_bytes(&relabelled),
        Err(DecodeError::TrailingBytes { .. })
    ));

    // 3. Stripping CAPABILITY_HYBRID from bob's certificate in the list it
    // serves: the certificate is signed by bob's account, so the list no
    // longer verifies (and the account itself cannot strip the bit from a
    // kept key: see the capability tests below).
    let mut list = p.bob.list.list().to_bytes();
    let cert = p.bob.keyrings[1].certificate().to_bytes();
    let at = list
        .windows(cert.len())
        .position(|w| w == cert.as_slice())
        .unwrap();
    list[at + 132 + 3] &= !0x02; // capabilities are at offset 132 (u32, big endian)
    let stripped = DeviceList::from_bytes(&list).unwrap();
    assert!(stripped.verify(&p.bob.secret.public_key()).is_err());

    // With everything served honestly the envelope is hybrid; the same test
    // passes only because the rule, not the sender, picked the suite.
    let honest = p.seal(&p.all_prekeys(), SuitePolicy::Auto, &mut r).unwrap();
    assert_eq!(honest.header().suite(), Suite::Hybrid);
}

/// A mixed set (one device without the capability) is classical, and is
/// refused with the list of the devices that prevent the hybrid suite when
/// the sender requires it.
#[test]
fn a_mixed_set_is_refused_when_the_sender_requires_the_hybrid_suite() {
    let p = pair(106, &[BOTH, CAPABILITY_PREKEYS], &[BOTH, 0, BOTH]);
    let mut r = rng(107);
    let err = p
        .seal(&p.all_prekeys(), SuitePolicy::RequireHybrid, &mut r)
        .unwrap_err();
    assert_eq!(
        err,
        SealError::HybridUnavailable {
            devices: vec![
                (*p.alice.list.account(), DeviceId::from_bytes([2; 16])),
                (*p.bob.list.account(), DeviceId::from_bytes([2; 16])),
            ]
        }
    );
    // The refusal drew no randomness: the next seal is the same as from a
    // fresh generator.
    let auto = p.seal(&p.all_prekeys(), SuitePolicy::Auto, &mut r).unwrap();
    assert_eq!(
        auto,
        p.seal(&p.all_prekeys(), SuitePolicy::Auto, &mut rng(107))
            .unwrap()
    );
    assert_eq!(auto.header().suite(), Suite::Classical);
    let directory = p.directory();
    for keyring in p.keyrings() {
        let o = open(keyring, &auto.to_bytes(), &directory, NOW).unwrap();
        assert_eq!(o.suite(), Suite::Classical);
        // A device with both bits is wrapped to its classical prekey.
        if keyring.certificate().requires_prekeys() {
            assert_eq!(
                o.opened_with(),
                keyring.current_prekey(NOW).unwrap().key_id()
            );
        }
    }
}

/// The suite field of an envelope cannot be rewritten on the path: a
/// relabelled envelope or delivery never opens, in either direction.
#[test]
fn relabelling_the_suite_of_an_envelope_never_opens() {
    let p = pair(108, &[BOTH], &[BOTH]);
    let q = pair(108, &[CAPABILITY_PREKEYS], &[CAPABILITY_PREKEYS]);
    let hybrid = p
        .seal(&p.all_prekeys(), SuitePolicy::Auto, &mut rng(109))
        .unwrap();
    let classical = q
        .seal(&q.all_prekeys(), SuitePolicy::Auto, &mut rng(109))
        .unwrap();
    for (pp, env, to) in [(&p, &hybrid, 0x01u8), (&q, &classical, 0x02u8)] {
        let directory = pp.directory();
        for keyring in pp.keyrings() {
            let mut bytes = env.to_bytes();
            bytes[3] = to;
            assert!(open(keyring, &bytes, &directory, NOW).is_err());
        }
    }
}

/// Bad input (issue 12): tampered X-Wing ciphertexts (implicit rejection),
/// a low-order X25519 half, a tampered AEAD part and wrong lengths all end in
/// the opaque error or a decode error, never an oracle on which half failed.
#[test]
fn tampered_hybrid_wraps_end_in_the_one_opaque_error() {
    let p = pair(110, &[BOTH], &[BOTH]);
    let envelope = p
        .seal(&p.all_prekeys(), SuitePolicy::Auto, &mut rng(111))
        .unwrap();
    let bob = &p.bob.keyrings[0];
    let id = bob.current_hybrid_prekey(NOW).unwrap().key_id();
    let delivery = envelope.delivery_for(&id).unwrap().to_bytes();
    let directory = p.directory();
    assert!(open(bob, &delivery, &directory, NOW).is_ok());
    // Header: prefix 2, suite 2, message id 16, commitment 32, count 2,
    // n key ids of 16, body length 4; then the wrap.
    let n = envelope.header().recipients().len();
    assert_eq!(n, 2);
    let wrap_at = 2 + 2 + 16 + 32 + 2 + 16 * n + 4;
    let mut order_8 = [0u8; 32];
    order_8.copy_from_slice(
        &hex::decode("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157").unwrap(),
    );
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, offset) in [
        ("ML-KEM ciphertext, first byte", 0),
        ("ML-KEM ciphertext, last byte", 1087),
        ("X25519 ciphertext", 1088),
        ("AEAD ciphertext", 1120),
        ("AEAD tag", 1167),
    ] {
        let mut m = delivery.clone();
        m[wrap_at + offset] ^= 0x01;
        cases.push((name.into(), m));
    }
    for (name, point) in [("zero", [0u8; 32]), ("order 8", order_8)] {
        let mut m = delivery.clone();
        m[wrap_at + 1088..wrap_at + 1120].copy_from_slice(&point);
        cases.push((format!("low-order X25519 half ({name})"), m));
    }
    for (name, m) in &cases {
        assert_eq!(
            open(bob, m, &directory, NOW).unwrap_err(),
            OpenError::Unauthenticated,
            "{name}"
        );
    }
    // Wrong lengths are structure, refused before any decapsulation.
    let mut short = delivery.clone();
    short.truncate(wrap_at + 1167);
    assert!(matches!(
        open(bob, &short, &directory, NOW),
        Err(OpenError::Decode(DecodeError::Truncated { .. }))
    ));
}

/// Signs raw prekey bytes with a device's Ed25519 key, as a device (or a
/// thief of its key) could: to reach verification's key checks.
fn sign_raw(device: &DeviceKeyring, tbs: &[u8]) -> Vec<u8> {
    let secret = device.secret().export_secret_bytes();
    let seed: [u8; 32] = secret[32..].try_into().unwrap();
    let label = b"fanseal v2 signed prekey signature";
    let mut m = vec![label.len() as u8];
    m.extend_from_slice(label);
    m.extend_from_slice(tbs);
    let mut out = tbs.to_vec();
    out.extend_from_slice(&SigningKey::from_bytes(&seed).sign(&m).to_bytes());
    out
}

#[test]
fn an_invalid_xwing_prekey_key_is_refused_with_one_error_for_either_half() {
    let p = pair(112, &[BOTH], &[BOTH]);
    let bob = &p.bob.keyrings[0];
    let good = bob.current_hybrid_prekey(NOW).unwrap().to_bytes();
    let tbs = &good[..good.len() - 64];
    assert_eq!(sign_raw(bob, tbs), good);
    let key_at = 84;
    let mut cases = Vec::new();
    // ML-KEM half: a 12-bit coefficient of 4095 ≥ q (FIPS 203 modulus check).
    let mut m = tbs.to_vec();
    m[key_at] = 0xff;
    m[key_at + 1] |= 0x0f;
    cases.push(m);
    // X25519 half: low order (zero) and non-canonical (2^255 - 19 + 1).
    let mut m = tbs.to_vec();
    m[key_at + 1184..key_at + 1216].fill(0);
    cases.push(m);
    let mut m = tbs.to_vec();
    let mut p25519 = [0xffu8; 32];
    p25519[0] = 0xee;
    p25519[31] = 0x7f;
    m[key_at + 1184..key_at + 1216].copy_from_slice(&p25519);
    cases.push(m);
    for tbs in cases {
        let forged = SignedPrekey::from_bytes(&sign_raw(bob, &tbs)).unwrap();
        assert_eq!(
            p.bob.list.verify_prekey(&forged, NOW).unwrap_err(),
            PrekeyError::InvalidHybridKey
        );
    }
}

#[test]
fn the_hybrid_capability_is_bound_to_the_device_key() {
    let mut r = rng(113);
    let a = account(&mut r, &[BOTH]);
    // Issuing: a list that keeps the key but drops bit 1 is refused.
    let k = &a.keyrings[0];
    let renewed = certify(&a.secret, 1, *k.certificate().keys(), CAPABILITY_PREKEYS);
    assert_eq!(
        a.secret
            .issue_device_list(Some(&a.list), NOW, vec![renewed.clone()])
            .unwrap_err(),
        DeviceListError::CapabilityChange {
            device_id: DeviceId::from_bytes([1; 16])
        }
    );
    // Keyring: a renewal that flips it is refused.
    let mut keyring = DeviceKeyring::new(
        DeviceSecret::from_secret_bytes(&k.secret().export_secret_bytes()),
        k.certificate().clone(),
    )
    .unwrap();
    assert_eq!(
        keyring.renew_certificate(renewed).unwrap_err(),
        KeyringError::CapabilityChange
    );
    // A device without the bit cannot make hybrid prekeys.
    let b = account(&mut r, &[CAPABILITY_PREKEYS]);
    let mut kb = DeviceKeyring::new(
        DeviceSecret::from_secret_bytes(&b.keyrings[0].secret().export_secret_bytes()),
        b.keyrings[0].certificate().clone(),
    )
    .unwrap();
    assert_eq!(
        kb.rotate_hybrid_prekey(NOW, &mut r).unwrap_err(),
        KeyringError::NotHybrid
    );
    assert!(!kb.needs_hybrid_rotation(NOW));
    assert!(keyring.needs_hybrid_rotation(NOW));
    keyring.rotate_hybrid_prekey(NOW, &mut r).unwrap();
    assert!(!keyring.needs_hybrid_rotation(NOW));
    assert!(keyring.needs_hybrid_rotation(NOW + 2 * DAY));
}

#[test]
fn a_keyring_with_hybrid_prekeys_exports_and_loads_exactly() {
    let mut r = rng(114);
    let mut p = pair(114, &[BOTH], &[BOTH]);
    let k = &mut p.bob.keyrings[0];
    k.rotate_hybrid_prekey(NOW + DAY, &mut r).unwrap();
    k.rotate_prekey(NOW + DAY, &mut r).unwrap();
    let bytes = k.export();
    // 2 + 24 + 264, r = 0, p = 2 classical, h = 2 hybrid.
    assert_eq!(bytes.len(), 2 + 24 + 264 + 1 + 1 + 2 * 228 + 1 + 2 * 1412);
    let loaded = DeviceKeyring::import(&bytes).unwrap();
    assert_eq!(&loaded.export()[..], &bytes[..]);
    // The loaded keyring opens hybrid envelopes sealed to either prekey.
    let envelope = p.seal(&p.all_prekeys(), SuitePolicy::Auto, &mut r).unwrap();
    let o = open(&loaded, &envelope.to_bytes(), &p.directory(), NOW).unwrap();
    assert_eq!(o.suite(), Suite::Hybrid);
    // A wrong seed (the public key it derives is not the prekey's) is
    // inconsistent; every truncation is refused.
    let h_at = 2 + 24 + 264 + 1 + 1 + 2 * 228;
    let mut wrong = bytes.to_vec();
    wrong[h_at + 1] ^= 1;
    assert_eq!(
        DeviceKeyring::import(&wrong).unwrap_err(),
        KeyringError::Decode(DecodeError::Inconsistent("prekey secret and public key"))
    );
    for cut in (0..bytes.len()).step_by(97) {
        assert!(
            DeviceKeyring::import(&bytes[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    // Deletion covers the hybrid prekeys too.
    let mut loaded = loaded;
    assert_eq!(loaded.delete_expired(NOW + 7 * DAY + 7 * DAY + DAY), 4);
    assert_eq!(loaded.prekeys().count(), 0);
}

/// A receiver whose lists say every device of the conversation supports the
/// hybrid suite flags a classical message (issue 12 review: a sender served
/// an older list with a legacy device, or one that broke the rule), and maps
/// key ids by the envelope's suite only.
#[test]
fn the_recipient_audit_flags_a_classical_message_to_an_all_hybrid_set() {
    let mut r = rng(115);
    let mut alice = account(&mut r, &[BOTH]);
    // Bob's first list has a legacy device without the hybrid suite; the
    // second (after removing it) is all-hybrid.
    let mut bob = account(&mut r, &[BOTH, CAPABILITY_PREKEYS]);
    let old_list = bob.list.clone();
    let kept = bob.keyrings[0].certificate().clone();
    bob.list = bob
        .secret
        .issue_device_list(Some(&old_list), NOW - DAY / 2, vec![kept])
        .unwrap()
        .verify(&bob.secret.public_key())
        .unwrap();
    let mut prekeys = publish(&mut alice, &mut r);
    // The stale sender verified Bob's prekeys against the old list.
    for k in &mut bob.keyrings {
        let p = k.rotate_prekey(NOW, &mut r).unwrap();
        prekeys.push(old_list.verify_prekey(&p, NOW).unwrap());
        if k.certificate().supports_hybrid() {
            let h = k.rotate_hybrid_prekey(NOW, &mut r).unwrap();
            prekeys.push(old_list.verify_prekey(&h, NOW).unwrap());
        }
    }
    let refs: Vec<&VerifiedPrekey> = prekeys.iter().collect();
    let sender = &alice.keyrings[0];
    let stale = seal(
        sender.secret(),
        sender.certificate(),
        &[&alice.list, &old_list],
        &refs,
        &message(SuitePolicy::Auto),
        NOW,
        &mut r,
    )
    .unwrap();
    assert_eq!(stale.header().suite(), Suite::Classical);

    let mut store = TrustStore::new();
    store.trust(alice.list.clone(), NOW).unwrap();
    store.trust(bob.list.clone(), NOW).unwrap();
    let opened = open(&bob.keyrings[0], &stale.to_bytes(), &store, NOW).unwrap();
    let members = [*alice.list.account(), *bob.list.account()];
    let audit = store.audit(&opened, &members.into_iter().collect(), &refs);
    assert!(audit.suite_downgrade, "{audit:?}");
    assert_eq!(
        audit.unknown.len(),
        1,
        "the legacy device's key id: {audit:?}"
    );
    let conversation = Conversation::new(b"conversation".to_vec(), members);
    assert!(matches!(
        conversation.check(&store, &opened, &refs),
        Err(ConversationError::Recipients(a)) if a.suite_downgrade
    ));

    // The same recipients sealed with the current lists: hybrid, no flag,
    // and every key id maps (hybrid prekeys only).
    let current: Vec<VerifiedPrekey> = prekeys
        .iter()
        .filter(|p| {
            p.account() == alice.list.account() || p.device_id() == DeviceId::from_bytes([1; 16])
        })
        .cloned()
        .collect();
    let refs: Vec<&VerifiedPrekey> = current.iter().collect();
    let fresh = seal(
        sender.secret(),
        sender.certificate(),
        &[&alice.list, &bob.list],
        &refs,
        &message(SuitePolicy::Auto),
        NOW,
        &mut r,
    )
    .unwrap();
    let opened = open(&bob.keyrings[0], &fresh.to_bytes(), &store, NOW).unwrap();
    assert_eq!(opened.suite(), Suite::Hybrid);
    let audit = store.audit(&opened, &members.into_iter().collect(), &refs);
    assert!(
        !audit.suite_downgrade && audit.unknown.is_empty() && audit.missing.is_empty(),
        "{audit:?}"
    );
    conversation.check(&store, &opened, &refs).unwrap();
}
