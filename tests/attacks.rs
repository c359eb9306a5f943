//! One named test per envelope attack of DESIGN.md, written as the attacker
//! would do it. The forger's toolkit (`fanseal::hazmat`) builds envelopes an
//! honest `seal` never would; `open` must refuse every one.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use fanseal::hazmat::{self, ForgedRecipient, Forgery};
use fanseal::*;

const MSG_ID: [u8; 16] = [0x11; 16];
const SECRET: [u8; 32] = [0x22; 32];
const EPHEMERAL: [u8; 32] = [0x33; 32];

/// Alice's phone seals "attack at dawn" to Bob's three devices with known randomness.
fn sealed(w: &World) -> Envelope {
    let sender = &w.alice.devices[0];
    let msg = Message {
        payload: b"attack at dawn",
        aad: b"chat",
        padding: Padding::Padme,
        ..Message::default()
    };
    let mut rng = FixedRng::for_seal(MSG_ID, SECRET, EPHEMERAL);
    seal(
        &sender.secret,
        &sender.certificate,
        &[&w.directory[1]],
        &[],
        &msg,
        NOW,
        &mut rng,
    )
    .unwrap()
}

fn slot(d: &Device, wrapped_secret: [u8; 32]) -> ForgedRecipient {
    ForgedRecipient {
        key_id: d.keyring.key_id(),
        x25519: d.secret.public_keys().x25519,
        wrapped_secret,
        recipient_binding: d.certificate.recipient_binding(),
    }
}

fn sorted(mut slots: Vec<ForgedRecipient>) -> Vec<ForgedRecipient> {
    slots.sort_by_key(|s| s.key_id);
    slots
}

/// A forgery signed by `signer` with `certificate`, as a malicious sender builds it.
fn signed_forgery(
    mut f: Forgery,
    signer: &DeviceSecret,
    certificate: &[u8],
    aad: &[u8],
    payload: &[u8],
) -> Envelope {
    let body = |sig: &[u8; 64]| {
        let mut b = hazmat::body_plaintext(certificate, NOW, aad, payload, sig);
        b.resize(padme(b.len()), 0); // padded like an honest sender
        b
    };
    f.body_plaintext = body(&[0; 64]);
    let hh = hazmat::forged_header_hash(&f).unwrap();
    let sig = hazmat::sign(signer, &hh, certificate, NOW, aad, payload);
    f.body_plaintext = body(&sig);
    hazmat::forge(&f).unwrap()
}

fn bob_forgery(w: &World, secrets: [[u8; 32]; 3]) -> Forgery {
    Forgery {
        message_id: MSG_ID,
        ephemeral_secret: EPHEMERAL,
        message_secret: SECRET,
        recipients: sorted(
            w.bob
                .devices
                .iter()
                .zip(secrets)
                .map(|(d, s)| slot(d, s))
                .collect(),
        ),
        body_plaintext: Vec::new(),
    }
}

#[test]
fn attack_forger_toolkit_reproduces_an_honest_envelope() {
    // Control: with honest inputs the forger's envelope is byte-identical to
    // seal's, so every refusal below is caused by the attack alone.
    let w = world(1);
    let honest = sealed(&w);
    let a = &w.alice.devices[0];
    let forged = signed_forgery(
        bob_forgery(&w, [SECRET; 3]),
        &a.secret,
        &a.certificate.to_bytes(),
        b"chat",
        b"attack at dawn",
    );
    assert_eq!(forged.to_bytes(), honest.to_bytes());
    for d in &w.bob.devices {
        assert_eq!(
            open(&d.keyring, &forged.to_bytes(), &w.directory, NOW)
                .unwrap()
                .payload(),
            b"attack at dawn"
        );
    }
}

#[test]
fn attack_invisible_salamanders_different_secrets_for_different_devices() {
    // A malicious sender wraps a different message secret for Bob's second
    // device, hoping it decrypts the shared body to a different plaintext.
    // The header commits to one secret: that device refuses.
    let w = world(2);
    let a = &w.alice.devices[0];
    let other = [0x44; 32];
    let f = bob_forgery(&w, [SECRET, other, SECRET]);
    let target = w.bob.devices[1].keyring.key_id();
    let mut f2 = f.clone();
    for r in &mut f2.recipients {
        r.wrapped_secret = if r.key_id == target { other } else { SECRET };
    }
    let env = signed_forgery(
        f2,
        &a.secret,
        &a.certificate.to_bytes(),
        b"chat",
        b"attack at dawn",
    )
    .to_bytes();
    for d in &w.bob.devices {
        let r = open(&d.keyring, &env, &w.directory, NOW);
        if d.keyring.key_id() == target {
            assert_eq!(r.unwrap_err(), OpenError::Unauthenticated);
        } else {
            assert_eq!(r.unwrap().payload(), b"attack at dawn");
        }
    }
    // Even a body encrypted under the other secret cannot be accepted by
    // anyone: the commitment names SECRET, not `other`.
    let mut f3 = f;
    f3.message_secret = other;
    for r in &mut f3.recipients {
        r.wrapped_secret = SECRET;
    }
    let env = signed_forgery(
        f3,
        &a.secret,
        &a.certificate.to_bytes(),
        b"chat",
        b"attack at dusk",
    )
    .to_bytes();
    for d in &w.bob.devices {
        assert_eq!(
            open(&d.keyring, &env, &w.directory, NOW).unwrap_err(),
            OpenError::Unauthenticated
        );
    }
}

#[test]
fn attack_ghost_device_as_sender() {
    // The directory enrolls a ghost device under its own key, relabels the
    // certificate as Alice's and sends Bob a perfectly encrypted message.
    let w = world(3);
    let mut r = rng(30);
    let directory_key = AccountSecret::generate(&mut r);
    let ghost = DeviceSecret::generate(&mut r);
    let ghost_cert = directory_key
        .certify_device(&params(77, ghost.public_keys()))
        .unwrap();
    let mut relabelled = ghost_cert.to_bytes();
    relabelled[4..36].copy_from_slice(&w.alice.public().to_bytes());
    let relabelled = DeviceCertificate::from_bytes(&relabelled).unwrap();
    let msg = Message {
        payload: b"send money",
        ..Message::default()
    };
    let env = seal(
        &ghost,
        &relabelled,
        &[&w.directory[1]],
        &[],
        &msg,
        NOW,
        &mut r,
    )
    .unwrap()
    .to_bytes();
    assert_eq!(
        open(&w.bob.devices[0].keyring, &env, &w.directory, NOW).unwrap_err(),
        OpenError::Unauthenticated
    );
    // Under its own account the ghost is simply unknown to Bob.
    let env = seal(
        &ghost,
        &ghost_cert,
        &[&w.directory[1]],
        &[],
        &msg,
        NOW,
        &mut r,
    )
    .unwrap()
    .to_bytes();
    assert_eq!(
        open(&w.bob.devices[0].keyring, &env, &w.directory, NOW).unwrap_err(),
        OpenError::SenderListUnavailable(directory_key.public_key())
    );
}

#[test]
fn attack_ghost_device_as_recipient() {
    // The directory serves Alice a list for Bob with a ghost device appended.
    // It does not verify, so Alice cannot seal to it; and every recipient can
    // audit the signed header's key ids against the lists it trusts.
    let w = world(4);
    let mut r = rng(40);
    let ghost = DeviceSecret::generate(&mut r);
    let evil = AccountSecret::generate(&mut r);
    let ghost_cert = evil
        .certify_device(&params(200, ghost.public_keys()))
        .unwrap();
    let ghost_key_id = ghost_cert.key_id();
    let mut certs = w.bob.list.certificates().to_vec();
    certs.push(ghost_cert);
    assert!(w
        .bob
        .secret
        .issue_device_list(Some(&w.bob.verified()), NOW, certs)
        .is_err());
    let env = sealed(&w);
    let opened = open(
        &w.bob.devices[0].keyring,
        &env.to_bytes(),
        &w.directory,
        NOW,
    )
    .unwrap();
    for key_id in opened.recipients() {
        assert!(
            w.directory
                .iter()
                .any(|l| l.device_by_key_id(key_id).is_some()),
            "unknown recipient {key_id:?}"
        );
    }
    assert!(!opened.recipients().contains(&ghost_key_id));
}

#[test]
fn attack_key_substitution_by_the_relay() {
    // The relay (no keys) swaps in its own ephemeral key and wraps its own
    // secret for Bob, hoping Bob decrypts under a key the relay knows.
    let w = world(5);
    let honest = sealed(&w);
    let mut f = bob_forgery(&w, [[0x55; 32]; 3]);
    f.message_secret = [0x55; 32];
    f.ephemeral_secret = [0x66; 32];
    f.body_plaintext = vec![0; honest.header().body_len() - 16];
    let mut env = hazmat::forge(&f).unwrap().to_bytes();
    // Keep the honest body ciphertext (the relay cannot re-encrypt it).
    let n = env.len();
    let body = honest.to_bytes();
    env[n - honest.header().body_len()..]
        .copy_from_slice(&body[body.len() - honest.header().body_len()..]);
    assert_eq!(
        open(&w.bob.devices[0].keyring, &env, &w.directory, NOW).unwrap_err(),
        OpenError::Unauthenticated
    );
}

#[test]
fn attack_re_signing_by_another_account_imessage_2016() {
    // Mallory is a recipient (she has the message secret). She strips Alice's
    // signature and certificate and re-signs, keeping Alice as the claimed sender.
    let w = world(6);
    let mut r = rng(60);
    let mallory = account(&mut r, 1);
    let directory = [w.directory.clone(), vec![mallory.verified()]].concat();
    let m = &mallory.devices[0];
    let a = &w.alice.devices[0];
    // 1. Alice's certificate, Mallory's signature: refused.
    let env = signed_forgery(
        bob_forgery(&w, [SECRET; 3]),
        &m.secret,
        &a.certificate.to_bytes(),
        b"chat",
        b"attack at dawn",
    );
    assert_eq!(
        open(&w.bob.devices[0].keyring, &env.to_bytes(), &directory, NOW).unwrap_err(),
        OpenError::Unauthenticated
    );
    // 2. A certificate for Mallory's device key relabelled as Alice's account: refused.
    let mut cert = m.certificate.to_bytes();
    cert[4..36].copy_from_slice(&w.alice.public().to_bytes());
    let env = signed_forgery(
        bob_forgery(&w, [SECRET; 3]),
        &m.secret,
        &cert,
        b"chat",
        b"attack at dawn",
    );
    assert_eq!(
        open(&w.bob.devices[0].keyring, &env.to_bytes(), &directory, NOW).unwrap_err(),
        OpenError::Unauthenticated
    );
    // 3. Alice's signature under Mallory's certificate: refused.
    let honest = sealed(&w);
    let plain = hazmat::decrypt_body(&SECRET, &honest).unwrap();
    let sig_at = a.certificate.to_bytes().len() + 8 + 4 + 4 + 4 + 14;
    let alice_sig: [u8; 64] = plain[sig_at..sig_at + 64].try_into().unwrap();
    let mut f = bob_forgery(&w, [SECRET; 3]);
    f.body_plaintext = hazmat::body_plaintext(
        &m.certificate.to_bytes(),
        NOW,
        b"chat",
        b"attack at dawn",
        &alice_sig,
    );
    let env = hazmat::forge(&f).unwrap();
    assert_eq!(
        open(&w.bob.devices[0].keyring, &env.to_bytes(), &directory, NOW).unwrap_err(),
        OpenError::Unauthenticated
    );
    // Mallory signing as herself is attributed to Mallory, never to Alice.
    let env = signed_forgery(
        bob_forgery(&w, [SECRET; 3]),
        &m.secret,
        &m.certificate.to_bytes(),
        b"chat",
        b"attack at dawn",
    );
    let opened = open(&w.bob.devices[0].keyring, &env.to_bytes(), &directory, NOW).unwrap();
    assert_eq!(opened.sender_account(), &mallory.public());
}

#[test]
fn attack_recipient_stripping_by_the_relay() {
    // The relay drops Bob's third device from the header and its wrap.
    let w = world(7);
    let env = sealed(&w);
    let bytes = env.to_bytes();
    let ids = env.header().recipients().to_vec();
    let removed = 2;
    let count_at = 2 + 2 + 16 + 32 + 32;
    let ids_at = count_at + 2;
    let wraps_at = ids_at + 16 * 3 + 4;
    let mut m = Vec::new();
    m.extend_from_slice(&bytes[..count_at]);
    m.extend_from_slice(&2u16.to_be_bytes());
    for (i, id) in ids.iter().enumerate().filter(|(i, _)| *i != removed) {
        let _ = i;
        m.extend_from_slice(&id.to_bytes());
    }
    m.extend_from_slice(&bytes[wraps_at - 4..wraps_at]);
    for i in (0..3).filter(|i| *i != removed) {
        m.extend_from_slice(&bytes[wraps_at + 48 * i..wraps_at + 48 * (i + 1)]);
    }
    m.extend_from_slice(&bytes[wraps_at + 48 * 3..]);
    assert_eq!(
        Envelope::from_bytes(&m)
            .unwrap()
            .header()
            .recipients()
            .len(),
        2
    );
    for d in &w.bob.devices {
        let err = open(&d.keyring, &m, &w.directory, NOW).unwrap_err();
        if d.keyring.key_id() == ids[removed] {
            assert_eq!(err, OpenError::NotARecipient);
        } else {
            assert_eq!(err, OpenError::Unauthenticated);
        }
    }
}

#[test]
fn attack_recipient_adding_and_surreptitious_forwarding() {
    // Bob's first device (a recipient, so it knows the message secret)
    // forwards Alice's signed message to Carol, adding Carol to the header and
    // keeping Alice's signature: Carol refuses, because Alice signed the
    // original recipient list.
    let w = world(8);
    let mut r = rng(80);
    let carol = account(&mut r, 1);
    let directory = [w.directory.clone(), vec![carol.verified()]].concat();
    let honest = sealed(&w);
    let plain = hazmat::decrypt_body(&SECRET, &honest).unwrap();
    let mut f = bob_forgery(&w, [SECRET; 3]);
    f.recipients.push(slot(&carol.devices[0], SECRET));
    f.recipients = sorted(core::mem::take(&mut f.recipients));
    f.body_plaintext = plain;
    let env = hazmat::forge(&f).unwrap().to_bytes();
    assert_eq!(
        open(&carol.devices[0].keyring, &env, &directory, NOW).unwrap_err(),
        OpenError::Unauthenticated
    );
    for d in &w.bob.devices {
        assert_eq!(
            open(&d.keyring, &env, &directory, NOW).unwrap_err(),
            OpenError::Unauthenticated
        );
    }
    // Without adding Carol to the header she is simply not a recipient.
    let mut f = bob_forgery(&w, [SECRET; 3]);
    f.body_plaintext = hazmat::decrypt_body(&SECRET, &honest).unwrap();
    let env = hazmat::forge(&f).unwrap().to_bytes();
    assert_eq!(
        open(&carol.devices[0].keyring, &env, &directory, NOW).unwrap_err(),
        OpenError::NotARecipient
    );
}

#[test]
fn attack_replay_of_a_delivered_message() {
    let w = world(9);
    let env = sealed(&w).to_bytes();
    let device = &w.bob.devices[0].keyring;
    let mut guard = ReplayGuard::new(100, 600_000, 60_000);
    let first = open(device, &env, &w.directory, NOW).unwrap();
    assert_eq!(
        guard.check(first.message_id(), first.timestamp(), NOW),
        Ok(())
    );
    // The relay delivers the same bytes again ten minutes minus one second later:
    // the envelope still opens (it is stateless), the guard refuses it.
    let again = open(device, &env, &w.directory, NOW + 599_000).unwrap();
    assert_eq!(
        guard.check(again.message_id(), again.timestamp(), NOW + 599_000),
        Err(ReplayError::Replayed)
    );
    // After the window, the timestamp is too old.
    assert_eq!(
        guard.check(again.message_id(), again.timestamp(), NOW + 600_001),
        Err(ReplayError::TooOld)
    );
}

#[test]
fn replay_guard_eviction_never_reopens_a_replay() {
    let mut guard = ReplayGuard::new(2, 1_000_000, 0);
    let id = |b| MessageId::from_bytes([b; 16]);
    assert_eq!(guard.check(id(1), 10, 100), Ok(()));
    assert_eq!(guard.check(id(2), 20, 100), Ok(()));
    assert_eq!(guard.check(id(3), 30, 100), Ok(())); // evicts id 1, floor = 10
    assert_eq!(guard.len(), 2);
    assert_eq!(guard.check(id(1), 10, 100), Err(ReplayError::TooOld));
    assert_eq!(guard.check(id(4), 5, 100), Err(ReplayError::TooOld));
    assert_eq!(
        guard.check(id(5), 101, 100),
        Err(ReplayError::FromTheFuture)
    );
}

#[test]
fn attack_suite_and_version_downgrade() {
    let w = world(10);
    let bytes = sealed(&w).to_bytes();
    let device = &w.bob.devices[0].keyring;
    for (at, value, expected) in [
        (
            0usize,
            0x00u8,
            OpenError::Decode(DecodeError::UnsupportedVersion(0x00)),
        ),
        (
            0,
            0x01,
            OpenError::Decode(DecodeError::UnsupportedVersion(0x01)),
        ),
        (
            1,
            0x01,
            OpenError::Decode(DecodeError::WrongObjectType {
                expected: 0x03,
                found: 0x01,
            }),
        ),
        (
            3,
            0x00,
            OpenError::Decode(DecodeError::UnsupportedSuite(0x0000)),
        ),
        (
            3,
            0x03,
            OpenError::Decode(DecodeError::UnsupportedSuite(0x0003)),
        ),
    ] {
        let mut m = bytes.clone();
        m[at] = value;
        assert_eq!(open(device, &m, &w.directory, NOW).unwrap_err(), expected);
    }
    // Relabelling a classical envelope as hybrid (suite 0x0002) re-parses it
    // under the hybrid layout (no `enc`, 1,168-byte wraps): it never opens.
    let mut m = bytes.clone();
    m[3] = 0x02;
    assert!(open(device, &m, &w.directory, NOW).is_err());
    // The suite and version are also bound into the context hash, so a future
    // decoder that accepted another suite id for these bytes could not open them:
    // the forger's envelope under the same secrets but another message id fails.
    let mut f = bob_forgery(&w, [SECRET; 3]);
    f.body_plaintext = hazmat::decrypt_body(&SECRET, &sealed(&w)).unwrap();
    f.message_id[0] ^= 1;
    let env = hazmat::forge(&f).unwrap().to_bytes();
    assert_eq!(
        open(device, &env, &w.directory, NOW).unwrap_err(),
        OpenError::Unauthenticated
    );
}

#[test]
fn attack_low_order_ephemeral_key() {
    let w = world(11);
    let bytes = sealed(&w).to_bytes();
    let device = &w.bob.devices[0].keyring;
    let eph_at = 2 + 2 + 16;
    let mut order8 = [0u8; 32];
    order8.copy_from_slice(
        &hex::decode("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157").unwrap(),
    );
    let mut one = [0u8; 32];
    one[0] = 1;
    let mut p_minus_1 = [0xffu8; 32];
    p_minus_1[0] = 0xec;
    p_minus_1[31] = 0x7f;
    for low in [[0u8; 32], one, order8, p_minus_1] {
        let mut m = bytes.clone();
        m[eph_at..eph_at + 32].copy_from_slice(&low);
        assert_eq!(
            open(device, &m, &w.directory, NOW).unwrap_err(),
            OpenError::Unauthenticated
        );
    }
    // Non-canonical encodings (u >= p, top bit) are refused before any DH.
    let mut p_plus_1 = p_minus_1;
    p_plus_1[0] = 0xee;
    let mut m = bytes.clone();
    m[eph_at..eph_at + 32].copy_from_slice(&p_plus_1);
    assert!(matches!(
        open(device, &m, &w.directory, NOW).unwrap_err(),
        OpenError::Decode(DecodeError::NonCanonical(_))
    ));
}

#[test]
fn attack_oversized_recipient_count() {
    let w = world(12);
    let bytes = sealed(&w).to_bytes();
    let count_at = 2 + 2 + 16 + 32 + 32;
    for (count, expect_range) in [(0u16, true), (1025, true), (u16::MAX, true), (1024, false)] {
        let mut m = bytes.clone();
        m[count_at..count_at + 2].copy_from_slice(&count.to_be_bytes());
        let err = open(&w.bob.devices[0].keyring, &m, &w.directory, NOW).unwrap_err();
        if expect_range {
            assert!(
                matches!(
                    err,
                    OpenError::Decode(DecodeError::OutOfRange {
                        field: "recipient count",
                        ..
                    })
                ),
                "{err:?}"
            );
        } else {
            // Within the limit but more ids than bytes: refused before allocating.
            assert!(
                matches!(err, OpenError::Decode(DecodeError::Truncated { .. })),
                "{err:?}"
            );
        }
    }
    // A sender cannot produce one either.
    let mut r = rng(120);
    let big: Vec<Account> = (0..5).map(|_| account(&mut r, 256)).collect();
    let lists: Vec<VerifiedDeviceList> = big.iter().map(Account::verified).collect();
    let refs: Vec<&VerifiedDeviceList> = lists.iter().collect();
    let a = &w.alice.devices[0];
    let msg = Message {
        payload: b"x",
        ..Message::default()
    };
    assert_eq!(
        seal(&a.secret, &a.certificate, &refs, &[], &msg, NOW, &mut r).unwrap_err(),
        SealError::TooManyRecipients { count: 1280 }
    );
}

#[test]
fn attack_trailing_bytes() {
    let w = world(13);
    let env = sealed(&w);
    let device = &w.bob.devices[0].keyring;
    for bytes in [
        env.to_bytes(),
        env.delivery_for(&device.key_id()).unwrap().to_bytes(),
    ] {
        let mut m = bytes.clone();
        m.extend_from_slice(b"\x00");
        assert!(matches!(
            open(device, &m, &w.directory, NOW),
            Err(OpenError::Decode(DecodeError::TrailingBytes {
                count: 1,
                ..
            }))
        ));
        assert!(Envelope::from_bytes(&m).is_err() && Delivery::from_bytes(&m).is_err());
    }
}

#[test]
fn attack_length_leakage_is_bounded_by_padding() {
    // The relay sees body_len only; with Padmé, payloads of 1..=64 bytes
    // fall in few size classes.
    let w = world(14);
    let a = &w.alice.devices[0];
    let mut classes = std::collections::BTreeSet::new();
    for n in 1..=64usize {
        let p = vec![1u8; n];
        let msg = Message {
            payload: &p,
            ..Message::default()
        };
        let e = seal(
            &a.secret,
            &a.certificate,
            &[&w.directory[1]],
            &[],
            &msg,
            NOW,
            &mut rng(n as u8),
        )
        .unwrap();
        classes.insert(e.header().body_len());
    }
    assert!(
        classes.len() <= 8,
        "{} size classes for 64 lengths",
        classes.len()
    );
}

#[test]
fn attack_replay_guard_id_squatting_by_another_sender() {
    // Bob copies the public message id of Alice's message into his own,
    // validly signed message and gets it delivered first.
    let w = world(20);
    let honest = w.seal(b"honest", b"chat", &mut rng(21));
    let b0 = &w.bob.devices[0];
    let mut fixed = FixedRng::for_seal(honest.header().message_id().to_bytes(), [7; 32], [8; 32]);
    let msg = Message {
        payload: b"squat",
        aad: b"chat",
        padding: Padding::Padme,
        ..Message::default()
    };
    let squat = seal(
        &b0.secret,
        &b0.certificate,
        &[&w.directory[0]],
        &[],
        &msg,
        NOW,
        &mut fixed,
    )
    .unwrap();
    let victim = &w.alice.devices[1].keyring;
    let mut guard = ReplayGuard::new(100, 600_000, 60_000);
    let first = open(victim, &squat.to_bytes(), &w.directory, NOW).unwrap();
    assert_eq!(guard.check_opened(&first, NOW), Ok(()));
    let second = open(victim, &honest.to_bytes(), &w.directory, NOW).unwrap();
    assert_eq!(second.message_id(), first.message_id());
    assert_eq!(guard.check_opened(&second, NOW), Ok(()));
    assert_eq!(guard.check_opened(&second, NOW), Err(ReplayError::Replayed));
}

#[test]
fn attack_replay_guard_flooded_with_future_timestamps() {
    // One sender fills the guard with messages stamped at the edge of the
    // allowed skew; another sender's messages are still accepted, and every
    // flooded id stays refused after its eviction.
    let w = world(22);
    let mut guard = ReplayGuard::new(16, 600_000, 60_000);
    let mut flood = Vec::new();
    for i in 0..16u8 {
        let mut fixed = FixedRng::for_seal([0x80 + i; 16], [i + 1; 32], [i + 9; 32]);
        let b0 = &w.bob.devices[0];
        let msg = Message {
            payload: b"flood",
            ..Message::default()
        };
        let env = seal(
            &b0.secret,
            &b0.certificate,
            &[&w.directory[0]],
            &[],
            &msg,
            NOW + 60_000,
            &mut fixed,
        )
        .unwrap();
        let o = open(
            &w.alice.devices[1].keyring,
            &env.to_bytes(),
            &w.directory,
            NOW,
        )
        .unwrap();
        assert_eq!(guard.check_opened(&o, NOW), Ok(()));
        flood.push(o);
    }
    for i in 0..8u8 {
        let env = w.seal(&[i], b"", &mut rng(30 + i));
        let o = open(
            &w.alice.devices[1].keyring,
            &env.to_bytes(),
            &w.directory,
            NOW,
        )
        .unwrap();
        assert_eq!(
            guard.check_opened(&o, NOW),
            Ok(()),
            "honest message {i} refused"
        );
    }
    for o in &flood {
        assert!(guard.check_opened(o, NOW).is_err());
    }
    // Each account has its own store of 16: Bob's flood filled only his.
    assert_eq!(guard.len(), 16 + 8);
    assert_eq!(guard.account_count(), 2);
}

#[test]
fn replay_guard_clock_step_back_does_not_reopen_expired_ids() {
    let mut guard = ReplayGuard::new(100, 1_000, 0);
    let id = MessageId::from_bytes([1; 16]);
    assert_eq!(guard.check(id, 10_000, 10_000), Ok(()));
    assert_eq!(
        guard.check(MessageId::from_bytes([2; 16]), 12_000, 12_000),
        Ok(())
    ); // expires id 1
    assert_eq!(guard.check(id, 10_000, 10_500), Err(ReplayError::TooOld)); // clock stepped back
}

#[test]
fn attack_forgery_from_public_bytes_does_not_name_an_account() {
    // A forger who only knows Carol's public certificate builds a body that
    // claims Carol, with no valid signature. Bob has no list for Carol: the
    // answer must still be the opaque error, not "fetch Carol's list".
    let w = world(23);
    let carol = account(&mut rng(24), 1);
    let v = &w.bob.devices[0].keyring;
    let f = Forgery {
        message_id: [1; 16],
        ephemeral_secret: [2; 32],
        message_secret: [3; 32],
        recipients: vec![ForgedRecipient {
            key_id: v.key_id(),
            x25519: v.secret().public_keys().x25519,
            wrapped_secret: [3; 32],
            recipient_binding: v.certificate().recipient_binding(),
        }],
        body_plaintext: hazmat::body_plaintext(
            &carol.devices[0].certificate.to_bytes(),
            NOW,
            b"",
            b"x",
            &[0u8; 64],
        ),
    };
    let env = hazmat::forge(&f).unwrap().to_bytes();
    assert_eq!(
        open(v, &env, &w.directory, NOW).unwrap_err(),
        OpenError::Unauthenticated
    );
    // Signed by Carol's device for real, the claim is self-consistent and
    // Bob is told which list to fetch.
    let c = &carol.devices[0];
    let mut f2 = f.clone();
    f2.body_plaintext.clear();
    let env = signed_forgery(f2, &c.secret, &c.certificate.to_bytes(), b"", b"x").to_bytes();
    assert_eq!(
        open(v, &env, &w.directory, NOW).unwrap_err(),
        OpenError::SenderListUnavailable(carol.public())
    );
}
