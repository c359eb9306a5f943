//! The audit findings of wire v1 (issue 10), each as a test that failed on
//! the v1 code: receiving-side limits, seal refusing before it draws
//! randomness, issuing only from a verified predecessor, unknown key share
//! (same key and torsion variant), updates bounded by what is new, re-signed
//! lists chaining by contents, and `into_payload` releasing the padding.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::type_complexity
)]

mod common;

use common::*;
use ed25519_dalek::Signer;
use fanseal::hazmat::{self, ForgedRecipient, Forgery};
use fanseal::*;

/// An RNG that fails the test if anything draws from it.
struct NoRandomness;

impl rand_core::TryRng for NoRandomness {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        panic!("randomness drawn before a refusal")
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        panic!("randomness drawn before a refusal")
    }
    fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Self::Error> {
        panic!("randomness drawn before a refusal")
    }
}
impl rand_core::TryCryptoRng for NoRandomness {}

/// `u8 len || label || message`, signed with the account seed as SPEC §2.3 says.
fn account_sign(account: &AccountSecret, label: &[u8], message: &[u8]) -> [u8; 64] {
    let key = ed25519_dalek::SigningKey::from_bytes(&account.export_secret_seed());
    let mut m = vec![label.len() as u8];
    m.extend_from_slice(label);
    m.extend_from_slice(message);
    key.sign(&m).to_bytes()
}

/// Re-signs an edited list encoding (`bytes` without its old signature).
fn resign_list(account: &AccountSecret, mut tbs: Vec<u8>) -> DeviceList {
    let sig = account_sign(account, b"fanseal v2 device list signature", &tbs);
    tbs.extend_from_slice(&sig);
    DeviceList::from_bytes(&tbs).unwrap()
}

/// A malicious sender's envelope from `w.alice.devices[0]` to Bob's first
/// device with the given AAD and payload, correctly wrapped, committed,
/// encrypted and signed: only the limits can refuse it.
fn hand_built(w: &World, aad: &[u8], payload: &[u8]) -> Vec<u8> {
    let sender = &w.alice.devices[0];
    let bob = &w.bob.devices[0];
    let mut f = Forgery {
        message_id: [9; 16],
        ephemeral_secret: [0x42; 32],
        message_secret: [0x24; 32],
        recipients: vec![ForgedRecipient {
            key_id: bob.keyring.key_id(),
            x25519: bob.secret.public_keys().x25519,
            wrapped_secret: [0x24; 32],
            recipient_binding: bob.certificate.recipient_binding(),
        }],
        body_plaintext: Vec::new(),
    };
    let cert = sender.certificate.to_bytes();
    f.body_plaintext = hazmat::body_plaintext(&cert, NOW, aad, payload, &[0; 64]);
    let hh = hazmat::forged_header_hash(&f).unwrap();
    let sig = hazmat::sign(&sender.secret, &hh, &cert, NOW, aad, payload);
    f.body_plaintext = hazmat::body_plaintext(&cert, NOW, aad, payload, &sig);
    hazmat::forge(&f).unwrap().to_bytes()
}

// ------------------------------------------------------------ fault 2: limits

#[test]
fn open_enforces_the_payload_limit_a_malicious_sender_ignored() {
    let w = world(40);
    let bob = &w.bob.devices[0].keyring;
    let at_limit = vec![0x5a; limit::MAX_PAYLOAD];
    let opened = open(bob, &hand_built(&w, b"", &at_limit), &w.directory, NOW).unwrap();
    assert_eq!(opened.payload().len(), limit::MAX_PAYLOAD);
    drop(opened);
    // One byte over: seal refuses to build it, and open refuses to accept it
    // although it is correctly encrypted and signed (v1 accepted it).
    let over = vec![0x5a; limit::MAX_PAYLOAD + 1];
    assert_eq!(
        open(bob, &hand_built(&w, b"", &over), &w.directory, NOW).unwrap_err(),
        OpenError::Unauthenticated
    );
    let s = &w.alice.devices[0];
    let msg = Message {
        payload: &over,
        aad: b"",
        padding: Padding::None,
        ..Message::default()
    };
    assert_eq!(
        seal(
            &s.secret,
            &s.certificate,
            &[&w.directory[1]],
            &[],
            &msg,
            NOW,
            &mut NoRandomness
        )
        .unwrap_err(),
        SealError::PayloadTooLarge
    );
}

#[test]
fn open_enforces_the_aad_limit_a_malicious_sender_ignored() {
    let w = world(41);
    let bob = &w.bob.devices[0].keyring;
    let at_limit = vec![1u8; limit::MAX_AAD];
    let opened = open(bob, &hand_built(&w, &at_limit, b"p"), &w.directory, NOW).unwrap();
    assert_eq!(opened.aad().len(), limit::MAX_AAD);
    let over = vec![1u8; limit::MAX_AAD + 1];
    assert_eq!(
        open(bob, &hand_built(&w, &over, b"p"), &w.directory, NOW).unwrap_err(),
        OpenError::Unauthenticated
    );
    let s = &w.alice.devices[0];
    let msg = Message {
        payload: b"p",
        aad: &over,
        padding: Padding::None,
        ..Message::default()
    };
    assert_eq!(
        seal(
            &s.secret,
            &s.certificate,
            &[&w.directory[1]],
            &[],
            &msg,
            NOW,
            &mut NoRandomness
        )
        .unwrap_err(),
        SealError::AadTooLarge
    );
}

#[test]
fn body_and_count_limits_hold_when_decoding() {
    let w = world(42);
    let bytes = w.seal(b"x", b"", &mut rng(43)).to_bytes();
    let n = w.directory.iter().map(|l| l.devices().len()).sum::<usize>();
    let body_len_at = 2 + 2 + 16 + 32 + 32 + 2 + 16 * n;
    // Below the smallest valid body (296 bytes of ciphertext) and above the largest.
    for (len, ok) in [
        (295u32, false),
        (296, true),
        ((limit::MAX_BODY + 16) as u32, true),
        ((limit::MAX_BODY + 17) as u32, false),
    ] {
        let mut m = bytes.clone();
        m[body_len_at..body_len_at + 4].copy_from_slice(&len.to_be_bytes());
        let err = open(&w.bob.devices[0].keyring, &m, &w.directory, NOW).unwrap_err();
        let out_of_range = matches!(
            err,
            OpenError::Decode(DecodeError::OutOfRange {
                field: "body length",
                ..
            })
        );
        assert_eq!(out_of_range, !ok, "body length {len}: {err:?}");
    }
}

#[test]
fn device_count_limit_holds_when_issuing_and_decoding() {
    let mut r = rng(44);
    let a = AccountSecret::generate(&mut r);
    let certs: Vec<DeviceCertificate> = (0..257u16)
        .map(|i| {
            let d = DeviceSecret::generate(&mut r);
            let mut id = [0u8; 16];
            id[..2].copy_from_slice(&i.to_be_bytes());
            a.certify_device(&CertificateParams {
                device_id: DeviceId::from_bytes(id),
                ..params(0, d.public_keys())
            })
            .unwrap()
        })
        .collect();
    assert_eq!(
        a.issue_device_list(None, NOW, certs.clone()).unwrap_err(),
        DeviceListError::TooManyDevices
    );
    let full = a
        .issue_device_list(None, NOW, certs[..256].to_vec())
        .unwrap();
    assert_eq!(full.to_bytes().len(), DEVICE_LIST_MAX_LEN);
    assert!(full.verify(&a.public_key()).is_ok());
    // 257 certificates by hand, correctly signed: refused by the decoder.
    let mut bytes = full.to_bytes();
    bytes.truncate(bytes.len() - 64);
    bytes[84..86].copy_from_slice(&257u16.to_be_bytes());
    bytes.extend_from_slice(&certs[256].to_bytes());
    let sig = account_sign(&a, b"fanseal v2 device list signature", &bytes);
    bytes.extend_from_slice(&sig);
    assert!(matches!(
        DeviceList::from_bytes(&bytes),
        Err(DecodeError::OutOfRange {
            field: "device count",
            found: 257,
            ..
        })
    ));
}

// ------------------------------------------- seal refuses before randomness

#[test]
fn every_seal_refusal_happens_before_any_randomness_is_drawn() {
    let w = world(45);
    let s = &w.alice.devices[0];
    let lists = [&w.directory[1], &w.directory[0]];
    let msg = |padding| Message {
        payload: b"x",
        aad: b"",
        padding,
        ..Message::default()
    };
    // A bucket larger than the body limit: its own error (v1 said
    // PayloadTooLarge for a 1-byte payload, after drawing 80 bytes).
    assert_eq!(
        seal(
            &s.secret,
            &s.certificate,
            &lists,
            &[],
            &msg(Padding::Bucket(u32::MAX)),
            NOW,
            &mut NoRandomness
        )
        .unwrap_err(),
        SealError::PaddedBodyTooLarge
    );
    let other = &w.alice.devices[1];
    let cases: Vec<(SealError, Box<dyn Fn() -> Result<Envelope, SealError>>)> = vec![
        (
            SealError::CertificateMismatch,
            Box::new(|| {
                seal(
                    &other.secret,
                    &s.certificate,
                    &lists,
                    &[],
                    &msg(Padding::Padme),
                    NOW,
                    &mut NoRandomness,
                )
            }),
        ),
        (
            SealError::SenderCertificateExpired,
            Box::new(|| {
                seal(
                    &s.secret,
                    &s.certificate,
                    &lists,
                    &[],
                    &msg(Padding::Padme),
                    NOW + 2_000_000,
                    &mut NoRandomness,
                )
            }),
        ),
        (
            SealError::DuplicateRecipient,
            Box::new(|| {
                seal(
                    &s.secret,
                    &s.certificate,
                    &[&w.directory[1], &w.directory[1]],
                    &[],
                    &msg(Padding::Padme),
                    NOW,
                    &mut NoRandomness,
                )
            }),
        ),
        (
            SealError::NoRecipients,
            Box::new(|| {
                seal(
                    &s.secret,
                    &s.certificate,
                    &[],
                    &[],
                    &msg(Padding::Padme),
                    NOW,
                    &mut NoRandomness,
                )
            }),
        ),
    ];
    for (expected, case) in cases {
        assert_eq!(case().unwrap_err(), expected);
    }
}

// ------------------------------------- fault 3: issuing from a verified list

#[test]
fn issuing_extends_only_a_verified_list_of_the_same_account() {
    let mut r = rng(46);
    let a = account(&mut r, 2);
    let b = account(&mut r, 1);
    // `issue_device_list` takes a VerifiedDeviceList: a forged "previous"
    // list from a directory (bad signature, version 1000) cannot be passed
    // without verifying it first, and verification refuses it.
    let mut tbs = a.list.to_bytes();
    tbs.truncate(tbs.len() - 64);
    tbs[36..44].copy_from_slice(&1000u64.to_be_bytes());
    tbs[44..76].copy_from_slice(&[7; 32]);
    tbs.extend_from_slice(&[0x11; 64]);
    let forged = DeviceList::from_bytes(&tbs).unwrap();
    assert_eq!(
        forged.verify(&a.public()).unwrap_err(),
        DeviceListError::BadSignature
    );
    // Another account's verified list: WrongAccount.
    assert_eq!(
        a.secret
            .issue_device_list(Some(&b.verified()), NOW, a.list.certificates().to_vec())
            .unwrap_err(),
        DeviceListError::WrongAccount
    );
    // A genuine list at the last version: its own error, not InvalidGenesis.
    let mut tbs = a.list.to_bytes();
    tbs.truncate(tbs.len() - 64);
    tbs[36..44].copy_from_slice(&u64::MAX.to_be_bytes());
    tbs[44..76].copy_from_slice(&[7; 32]);
    let last = resign_list(&a.secret, tbs).verify(&a.public()).unwrap();
    assert_eq!(
        a.secret
            .issue_device_list(Some(&last), NOW, a.list.certificates().to_vec())
            .unwrap_err(),
        DeviceListError::VersionExhausted
    );
    // A certificate the account never signed is refused when issuing.
    let mut bad = a.devices[1].certificate.to_bytes();
    bad[199] ^= 1;
    let bad = DeviceCertificate::from_bytes(&bad).unwrap();
    assert_eq!(
        a.secret
            .issue_device_list(
                Some(&a.verified()),
                NOW,
                vec![a.devices[0].certificate.clone(), bad]
            )
            .unwrap_err(),
        DeviceListError::Certificate {
            device_id: a.devices[1].certificate.device_id(),
            error: CertificateError::BadSignature
        }
    );
}

// ------------------------------------ fault 5: update bounded by what is new

#[test]
fn copies_of_the_trusted_list_are_not_verified_again() {
    let mut r = rng(47);
    let a = account(&mut r, 3);
    let trusted = a.verified();
    let next = a
        .secret
        .issue_device_list(Some(&trusted), NOW + 1, a.list.certificates()[..2].to_vec())
        .unwrap();
    // 256 copies of the trusted contents with garbage signatures: equal list
    // hashes, skipped by a hash comparison. v1 verified each one in full (and
    // refused these as BadSignature).
    let mut copy = a.list.to_bytes();
    let n = copy.len();
    copy[n - 64..].copy_from_slice(&[0x33; 64]);
    let copy = DeviceList::from_bytes(&copy).unwrap();
    assert_eq!(copy.hash(), a.list.hash());
    let copies = vec![copy; MAX_CHAIN_LENGTH];
    let updated = trusted.update(&copies, &next).unwrap();
    assert_eq!(updated.version(), 2);
    // One more than the limit is refused before any work.
    let too_many = vec![a.list.clone(); MAX_CHAIN_LENGTH + 1];
    assert_eq!(
        trusted.update(&too_many, &next).unwrap_err(),
        DeviceListError::ChainTooLong
    );
}

// ------------------------------- fault 8: the chain links signed contents

#[test]
fn a_successor_of_a_re_signed_copy_is_accepted_by_holders_of_the_original() {
    use ed25519_dalek::hazmat::{raw_sign, ExpandedSecretKey};
    use sha2::Digest;
    let mut r = rng(48);
    let a = account(&mut r, 2);
    let v1 = a.verified();
    // The account signs the same contents again with another nonce: a
    // different, equally valid signature.
    let tbs = {
        let b = a.list.to_bytes();
        b[..b.len() - 64].to_vec()
    };
    let seed = a.secret.export_secret_seed();
    let h: [u8; 64] = sha2::Sha512::digest(*seed).into();
    let mut esk = ExpandedSecretKey::from_bytes(&h);
    esk.hash_prefix = [0x5c; 32];
    let label = b"fanseal v2 device list signature";
    let mut m = vec![label.len() as u8];
    m.extend_from_slice(label);
    m.extend_from_slice(&tbs);
    let vk = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
    let sig = raw_sign::<sha2::Sha512>(&esk, &m, &vk).to_bytes();
    let mut copy_bytes = tbs.clone();
    copy_bytes.extend_from_slice(&sig);
    assert_ne!(copy_bytes, a.list.to_bytes());
    let copy = DeviceList::from_bytes(&copy_bytes).unwrap();
    let copy_verified = copy.verify(&a.public()).unwrap();
    // The next list, chained from the copy a directory served to the account.
    let v2 = a
        .secret
        .issue_device_list(
            Some(&copy_verified),
            NOW + 1,
            a.list.certificates()[..1].to_vec(),
        )
        .unwrap();
    // A client holding the original follows it (v1: BrokenChain forever).
    assert_eq!(v1.update(&[], &v2).unwrap().version(), 2);
    // And the copy itself is no fork and no change.
    assert_eq!(v1.update(&[], &copy).unwrap().list(), v1.list());
}

// --------------------------------------------- fault 4: unknown key share

/// Mallory certifies Bob's phone's public keys (`x25519` as given) under her
/// own account; Alice seals to Mallory's list. Returns Mallory's verified
/// list and the envelope.
fn mallory_claims(w: &World, x25519: [u8; 32]) -> (VerifiedDeviceList, Envelope) {
    let mut r = rng(50);
    let mallory = AccountSecret::generate(&mut r);
    let victim = &w.bob.devices[0];
    let keys = DevicePublicKeys {
        x25519,
        ed25519: victim.secret.public_keys().ed25519,
    };
    let cert = mallory
        .certify_device(&CertificateParams {
            device_id: victim.certificate.device_id(),
            ..params(0, keys)
        })
        .unwrap();
    let list = mallory
        .issue_device_list(None, NOW, vec![cert])
        .unwrap()
        .verify(&mallory.public_key())
        .unwrap();
    let s = &w.alice.devices[0];
    let msg = Message {
        payload: b"for mallory",
        aad: b"chat with mallory",
        padding: Padding::Padme,
        ..Message::default()
    };
    let env = seal(
        &s.secret,
        &s.certificate,
        &[&list, &w.directory[0]],
        &[],
        &msg,
        NOW,
        &mut rng(51),
    )
    .unwrap();
    (list, env)
}

#[test]
fn attack_unknown_key_share_same_key() {
    let w = world(49);
    let victim = &w.bob.devices[0];
    let (mallory_list, env) = mallory_claims(&w, victim.secret.public_keys().x25519);
    let copy = &mallory_list.devices()[0];
    // Layer 1 (key ids name the account): Mallory's copy of the key is
    // another recipient; the victim is not named, whatever the relay sends.
    assert_ne!(copy.key_id(), victim.keyring.key_id());
    assert_eq!(
        open(&victim.keyring, &env.to_bytes(), &w.directory, NOW).unwrap_err(),
        OpenError::NotARecipient
    );
    let delivery = env.delivery_for(&copy.key_id()).unwrap().to_bytes();
    assert_eq!(
        open(&victim.keyring, &delivery, &w.directory, NOW).unwrap_err(),
        OpenError::NotARecipient
    );
    // Layer 2 (the wrap binds the recipient): an envelope that names the
    // victim's key id but whose wrap was made for Mallory's certificate of
    // the same key (what v1's account-less key ids produced) is refused.
    let sender = &w.alice.devices[0];
    let forged = |binding: [u8; 32]| {
        let mut f = Forgery {
            message_id: [4; 16],
            ephemeral_secret: [5; 32],
            message_secret: [6; 32],
            recipients: vec![ForgedRecipient {
                key_id: victim.keyring.key_id(),
                x25519: victim.secret.public_keys().x25519,
                wrapped_secret: [6; 32],
                recipient_binding: binding,
            }],
            body_plaintext: Vec::new(),
        };
        let cert = sender.certificate.to_bytes();
        f.body_plaintext = hazmat::body_plaintext(&cert, NOW, b"", b"hi", &[0; 64]);
        let hh = hazmat::forged_header_hash(&f).unwrap();
        let sig = hazmat::sign(&sender.secret, &hh, &cert, NOW, b"", b"hi");
        f.body_plaintext = hazmat::body_plaintext(&cert, NOW, b"", b"hi", &sig);
        hazmat::forge(&f).unwrap().to_bytes()
    };
    assert_ne!(
        copy.recipient_binding(),
        &victim.certificate.recipient_binding()
    );
    assert_eq!(
        open(
            &victim.keyring,
            &forged(*copy.recipient_binding()),
            &w.directory,
            NOW
        )
        .unwrap_err(),
        OpenError::Unauthenticated
    );
    // Control: the same envelope bound to the victim's own certificate opens,
    // so the binding alone refused the one above.
    assert!(open(
        &victim.keyring,
        &forged(victim.certificate.recipient_binding()),
        &w.directory,
        NOW
    )
    .is_ok());
    // A group holding both accounts still seals (v1: DuplicateRecipient),
    // and the victim opens only its own wrap.
    let msg = Message {
        payload: b"group",
        aad: b"",
        padding: Padding::Padme,
        ..Message::default()
    };
    let env = seal(
        &sender.secret,
        &sender.certificate,
        &[&w.directory[1], &mallory_list],
        &[],
        &msg,
        NOW,
        &mut rng(52),
    )
    .unwrap();
    assert_eq!(
        open(&victim.keyring, &env.to_bytes(), &w.directory, NOW)
            .unwrap()
            .payload(),
        b"group"
    );
}

#[test]
fn attack_unknown_key_share_torsion_variant() {
    use curve25519_dalek::constants::EIGHT_TORSION;
    use curve25519_dalek::montgomery::MontgomeryPoint;
    let w = world(53);
    let victim = &w.bob.devices[0];
    let key = victim.secret.public_keys().x25519;
    // The victim's key plus a point of order 8: same X25519 output for every
    // clamped scalar, different bytes (so a directory's byte comparison does
    // not see a copied key).
    let variant = MontgomeryPoint(key).to_edwards(0).unwrap() + EIGHT_TORSION[1];
    let variant = variant.to_montgomery().to_bytes();
    assert_ne!(variant, key);
    let (_, env) = mallory_claims(&w, variant);
    // Whatever a relay does, the victim never accepts it: the header names
    // another key id, and the wrap binds Mallory's certificate of another key.
    let delivery = env.deliveries().next().unwrap().1.to_bytes();
    assert!(matches!(
        open(&victim.keyring, &delivery, &w.directory, NOW).unwrap_err(),
        OpenError::NotARecipient | OpenError::Unauthenticated
    ));
    assert_eq!(
        open(&victim.keyring, &env.to_bytes(), &w.directory, NOW).unwrap_err(),
        OpenError::NotARecipient
    );
}

// ------------------------------------- fault 6: into_payload releases padding

#[test]
fn into_payload_keeps_no_padding_memory() {
    let w = world(54);
    let s = &w.alice.devices[0];
    let msg = Message {
        payload: b"hi",
        aad: b"",
        padding: Padding::Bucket(1 << 20),
        ..Message::default()
    };
    let env = seal(
        &s.secret,
        &s.certificate,
        &[&w.directory[1]],
        &[],
        &msg,
        NOW,
        &mut rng(55),
    )
    .unwrap();
    assert_eq!(env.header().body_len(), (1 << 20) + 16);
    let opened = open(
        &w.bob.devices[0].keyring,
        &env.to_bytes(),
        &w.directory,
        NOW,
    )
    .unwrap();
    let payload = opened.into_payload();
    assert_eq!(payload, b"hi");
    assert_eq!(payload.capacity(), 2);
}

// ------------------------------- review: forks and copies anywhere in a walk

#[test]
fn two_lists_of_one_version_among_the_intermediates_are_a_fork() {
    let mut r = rng(56);
    let a = account(&mut r, 3);
    let v1 = a.verified();
    let certs = a.list.certificates().to_vec();
    let v2 = a
        .secret
        .issue_device_list(Some(&v1), NOW + 1, certs[..2].to_vec())
        .unwrap();
    let v2b = a
        .secret
        .issue_device_list(Some(&v1), NOW + 1, certs[1..].to_vec())
        .unwrap();
    let v3 = a
        .secret
        .issue_device_list(
            Some(&v2.verify(&a.public()).unwrap()),
            NOW + 2,
            certs.clone(),
        )
        .unwrap();
    // v1 reported BrokenChain here and lost the evidence.
    let Err(DeviceListError::Fork(evidence)) = v1.update(&[v2.clone(), v2b.clone()], &v3) else {
        panic!("fork among intermediates not reported")
    };
    assert_eq!(evidence.verify(), Ok(a.public()));
    assert_eq!(evidence.version(), 2);
    // The newest list passed as the last intermediate too: accepted.
    assert_eq!(
        v1.update(&[v2.clone(), v3.clone()], &v3).unwrap().version(),
        3
    );
    // A copy of a walked intermediate is skipped.
    assert_eq!(
        v1.update(&[v2.clone(), v2.clone()], &v3).unwrap().version(),
        3
    );
    // `next` with the contents of an earlier walked list: a broken chain.
    assert_eq!(
        v1.update(&[v2.clone(), v3.clone()], &v2).unwrap_err(),
        DeviceListError::BrokenChain { at_version: 2 }
    );
}

#[test]
fn a_renewed_certificate_with_the_same_keys_keeps_the_binding() {
    let w = world(57);
    let bob = &w.bob.devices[0];
    let renewed = w
        .bob
        .secret
        .certify_device(&CertificateParams {
            device_id: bob.certificate.device_id(),
            created_at: NOW + 5,
            expires_at: Some(NOW + 9_000_000),
            capabilities: 0x77,
            keys: bob.secret.public_keys(),
        })
        .unwrap();
    assert_ne!(renewed, bob.certificate);
    assert_eq!(
        renewed.recipient_binding(),
        bob.certificate.recipient_binding()
    );
    assert_eq!(renewed.key_id(), bob.certificate.key_id());
    // Sealed to the old certificate, opened with a keyring holding the new one.
    let env = w.seal(b"in flight", b"", &mut rng(58));
    let keyring = keyring(&bob.secret, &renewed);
    assert_eq!(
        open(&keyring, &env.to_bytes(), &w.directory, NOW)
            .unwrap()
            .payload(),
        b"in flight"
    );
}
