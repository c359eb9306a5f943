//! Sender-key sessions (issue 14; SPEC.md §15; properties P1–P4,
//! P12, P13, P16, P17 for sessions): each attack named in the issue, written
//! as the attacker would do it, every refusal with its error, and the state
//! exports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{account, recheck, rng, Account, Device, NOW};
use fanseal::session::hazmat;
use fanseal::*;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;

const CHAT: &[u8] = b"chat";

/// Alice (2 devices) sends in a conversation with Bob (3 devices).
struct Group {
    alice: Account,
    bob: Account,
    directory: Vec<VerifiedDeviceList>,
}

fn group(seed: u8) -> (Group, ChaCha20Rng) {
    let mut r = rng(seed);
    let alice = account(&mut r, 2);
    let bob = account(&mut r, 3);
    let directory = vec![alice.verified(), bob.verified()];
    (
        Group {
            alice,
            bob,
            directory,
        },
        r,
    )
}

impl Group {
    fn sender(&self) -> &Device {
        &self.alice.devices[0]
    }

    fn lists(&self) -> Vec<&VerifiedDeviceList> {
        vec![&self.directory[1], &self.directory[0]]
    }

    /// A new outbound session of Alice's first device and its distribution
    /// envelope to every device of both accounts.
    fn start(&self, policy: RotationPolicy, r: &mut ChaCha20Rng) -> (OutboundSession, Vec<u8>) {
        let d = self.sender();
        let mut s = OutboundSession::new(&d.certificate, CHAT, policy, NOW, r).unwrap();
        let e = s
            .distribute(
                &d.secret,
                &d.certificate,
                &self.lists(),
                &[],
                Padding::Padme,
                NOW,
                r,
            )
            .unwrap();
        (s, e.to_bytes())
    }
}

fn receive(device: &Device, envelope: &[u8], directory: &[VerifiedDeviceList]) -> InboundSession {
    let opened = open(&device.keyring, envelope, directory, NOW).unwrap();
    InboundSession::from_opened(&device.keyring, &opened).unwrap()
}

fn msg(payload: &[u8]) -> Message<'_> {
    Message {
        payload,
        aad: b"m",
        ..Message::default()
    }
}

fn send(
    s: &mut OutboundSession,
    d: &Device,
    lists: &[&VerifiedDeviceList],
    payload: &[u8],
    r: &mut ChaCha20Rng,
) -> Vec<u8> {
    s.encrypt(&d.secret, lists, &msg(payload), NOW, r)
        .unwrap()
        .to_bytes()
}

/// Offset of the next index in an inbound export (conversation id `CHAT`).
const INBOUND_NEXT_INDEX: usize = 2 + 2 + 32 + 16 + 200 + 16 + 8 + 12 + 4 + CHAT.len() + 4;

// ------------------------------------------------------------ round trip

#[test]
fn every_recipient_device_decrypts_including_the_senders_own_devices() {
    let (g, mut r) = group(1);
    let (mut s, env) = g.start(RotationPolicy::DEFAULT, &mut r);
    let mut inbound: Vec<InboundSession> = g
        .bob
        .devices
        .iter()
        .chain(g.alice.devices[1..].iter())
        .map(|d| receive(d, &env, &g.directory))
        .collect();
    for i in 0..5u8 {
        let m = send(&mut s, g.sender(), &g.lists(), &[i; 40], &mut r);
        for ib in &mut inbound {
            let p = ib.decrypt(&m, &g.directory, NOW).unwrap();
            assert_eq!(p.payload(), &[i; 40]);
            assert_eq!(p.aad(), b"m");
            assert_eq!(p.index(), u32::from(i));
            assert_eq!(p.sender_certificate(), &g.sender().certificate);
        }
    }
    // One AEAD and one signature whatever the group size: the message
    // length does not depend on the number of devices.
    let m = s
        .encrypt(&g.sender().secret, &g.lists(), &msg(&[0; 40]), NOW, &mut r)
        .unwrap();
    assert_eq!(m.to_bytes().len(), 92 + padme(80 + 1 + 40) + 16);
}

// ------------------------------------------------------------ P12

/// P12: a thief copies Bob's device's inbound state after it received
/// messages 4, 0, 2, 1 (3 is still in transit) and gets the ciphertexts from the
/// relay. It decrypts none of 0, 1, 2, 4: their keys were deleted and the
/// chain moved on. Editing the stolen state back to index 0 does not help:
/// the chain step is one-way. A backup from before they were received does
/// decrypt them (the test fails if keys stop being deleted).
#[test]
fn thief_of_a_receiving_devices_current_state_cannot_decrypt_messages_it_already_received() {
    let (g, mut r) = group(2);
    let (mut s, env) = g.start(RotationPolicy::DEFAULT, &mut r);
    let bob = &g.bob.devices[0];
    let mut ib = receive(bob, &env, &g.directory);
    let before = ib.export();
    let sent: Vec<Vec<u8>> = (0..5u8)
        .map(|i| send(&mut s, g.sender(), &g.lists(), &[i], &mut r))
        .collect();
    // Out of order, so that 0–2 come out of the skipped-key store.
    for i in [4, 0, 2, 1] {
        ib.decrypt(&sent[i], &g.directory, NOW).unwrap();
    }
    assert_eq!(ib.skipped_count(), 1);

    let stolen = ib.export();
    let mut thief = InboundSession::import(&stolen, &bob.certificate).unwrap();
    for i in [0u32, 1, 2, 4] {
        assert_eq!(
            thief
                .decrypt(&sent[i as usize], &g.directory, NOW)
                .unwrap_err(),
            SessionError::DuplicateIndex { index: i }
        );
    }
    // Not yet received: the thief reads it (the device would too).
    assert_eq!(
        thief
            .decrypt(&sent[3], &g.directory, NOW)
            .unwrap()
            .payload(),
        &[3]
    );

    // The thief rewinds the stolen state's index: the chain key it holds is
    // index 5's, and nothing recomputes index 0's from it.
    let mut edited = stolen.to_vec();
    edited[INBOUND_NEXT_INDEX..INBOUND_NEXT_INDEX + 4].copy_from_slice(&0u32.to_be_bytes());
    let skipped_count = INBOUND_NEXT_INDEX + 4 + 32;
    edited.drain(skipped_count + 2..skipped_count + 2 + 36);
    edited[skipped_count..skipped_count + 2].copy_from_slice(&0u16.to_be_bytes());
    recheck(&mut edited);
    let mut rewound = InboundSession::import(&edited, &bob.certificate).unwrap();
    assert_eq!(rewound.next_index(), 0);
    for m in &sent {
        assert_eq!(
            rewound.decrypt(m, &g.directory, NOW).unwrap_err(),
            SessionError::Unauthenticated
        );
    }

    // Control: the state from before reception reads everything.
    let mut backup = InboundSession::import(&before, &bob.certificate).unwrap();
    for m in &sent {
        backup.decrypt(m, &g.directory, NOW).unwrap();
    }
}

// ------------------------------------------------------------ P16, P13

/// P16: Bob removes his third device. Alice's session learns it from Bob's
/// new list and refuses to encrypt; the new session goes to Bob's two
/// remaining devices only. The removed device opens neither the new
/// distribution nor any new message, with its old session or any other.
#[test]
fn removed_device_cannot_read_after_the_rotation() {
    let (mut g, mut r) = group(3);
    let (mut s, env) = g.start(RotationPolicy::DEFAULT, &mut r);
    let removed = &g.bob.devices[2];
    let mut old = receive(removed, &env, &g.directory);
    let m = send(&mut s, g.sender(), &g.lists(), b"before", &mut r);
    assert_eq!(
        old.decrypt(&m, &g.directory, NOW).unwrap().payload(),
        b"before"
    );

    let certs = g.bob.list.certificates()[..2].to_vec();
    let v2 = g
        .bob
        .secret
        .issue_device_list(Some(&g.directory[1]), NOW + 1, certs)
        .unwrap();
    g.directory[1] = g.directory[1].update(&[], &v2).unwrap();

    let gone = removed.certificate.key_id();
    let unaware = s.export();
    assert_eq!(
        s.update_membership(&g.lists(), NOW),
        Membership::Removed(vec![gone])
    );
    assert!(s.needs_rotation(NOW));
    assert_eq!(
        s.encrypt(&g.sender().secret, &g.lists(), &msg(b"x"), NOW, &mut r)
            .unwrap_err(),
        SessionError::RotationRequired
    );
    // The flag persists.
    let d = g.sender();
    let copy = OutboundSession::import(&s.export(), &d.secret.public_keys()).unwrap();
    assert!(copy.needs_rotation(NOW));

    let (mut s2, env2) = g.start(RotationPolicy::DEFAULT, &mut r);
    assert_ne!(s2.session_id(), s.session_id());
    assert_eq!(
        open(&removed.keyring, &env2, &g.directory, NOW).unwrap_err(),
        OpenError::NotARecipient
    );
    let mut kept = receive(&g.bob.devices[0], &env2, &g.directory);
    let m2 = send(&mut s2, g.sender(), &g.lists(), b"after", &mut r);
    assert_eq!(
        kept.decrypt(&m2, &g.directory, NOW).unwrap().payload(),
        b"after"
    );
    assert_eq!(
        old.decrypt(&m2, &g.directory, NOW).unwrap_err(),
        SessionError::UnknownSession
    );
    // A loaded copy that never learned of the removal is refused too: every
    // import must rotate (H2).
    let mut loaded = OutboundSession::import(&unaware, &d.secret.public_keys()).unwrap();
    assert_eq!(
        loaded
            .encrypt(&d.secret, &g.lists(), &msg(b"x"), NOW, &mut r)
            .unwrap_err(),
        SessionError::RotationRequired
    );
    // Control: a live copy of the session that never learned of the removal
    // (hazmat: no restored flag) still encrypts, and the removed device
    // reads it; the refusals above are what protect it. Distributing that
    // copy to the new lists is refused.
    let mut stale = hazmat::import_live(&unaware, &d.secret.public_keys()).unwrap();
    let leak = hazmat::encrypt_signed_by(&mut stale, &d.secret, &msg(b"leak"), NOW, &mut r)
        .unwrap()
        .to_bytes();
    assert_eq!(
        old.decrypt(&leak, &g.directory, NOW).unwrap().payload(),
        b"leak"
    );
    assert_eq!(
        stale
            .distribute(
                &d.secret,
                &d.certificate,
                &g.lists(),
                &[],
                Padding::Padme,
                NOW,
                &mut r
            )
            .unwrap_err(),
        SessionError::MemberRemoved {
            removed: vec![gone]
        }
    );
    assert_eq!(
        stale
            .encrypt(&d.secret, &g.lists(), &msg(b"x"), NOW, &mut r)
            .unwrap_err(),
        SessionError::RotationRequired
    );
}

/// H2: a restored outbound copy cannot know it is old. The review's
/// sequence: export with {Alice, Bob 1–3}; Bob adds a fourth device, which
/// gets the session; Bob removes it and the live session rotates; the old
/// export is restored. It never recorded the fourth device, so membership
/// says `Unchanged`; were it to encrypt, the removed device would read on
/// (and indices would be reused). An imported session therefore never
/// encrypts or distributes: `RotationRequired` until a new one is made.
#[test]
fn a_restored_outbound_session_must_rotate_before_it_encrypts() {
    let (mut g, mut r) = group(31);
    let (mut s, _env) = g.start(RotationPolicy::DEFAULT, &mut r);
    let backup = s.export();

    let new_device = DeviceSecret::generate(&mut r);
    let cert = g
        .bob
        .secret
        .certify_device(&common::params(4, new_device.public_keys()))
        .unwrap();
    let keyring4 = common::keyring(&new_device, &cert);
    let mut certs = g.bob.list.certificates().to_vec();
    certs.push(cert.clone());
    let v2 = g
        .bob
        .secret
        .issue_device_list(Some(&g.directory[1]), NOW + 1, certs)
        .unwrap();
    g.directory[1] = g.directory[1].update(&[], &v2).unwrap();
    let d = &g.alice.devices[0];
    let env2 = s
        .distribute(
            &d.secret,
            &d.certificate,
            &g.lists(),
            &[],
            Padding::Padme,
            NOW,
            &mut r,
        )
        .unwrap()
        .to_bytes();
    let opened = open(&keyring4, &env2, &g.directory, NOW).unwrap();
    let mut k3 = InboundSession::from_opened(&keyring4, &opened).unwrap();

    let v3 = g
        .bob
        .secret
        .issue_device_list(
            Some(&g.directory[1]),
            NOW + 2,
            g.bob.list.certificates().to_vec(),
        )
        .unwrap();
    g.directory[1] = g.directory[1].update(&[], &v3).unwrap();
    assert!(matches!(
        s.update_membership(&g.lists(), NOW),
        Membership::Removed(_)
    ));

    let d = &g.alice.devices[0];
    let mut restored = OutboundSession::import(&backup, &d.secret.public_keys()).unwrap();
    assert_eq!(
        restored.update_membership(&g.lists(), NOW),
        Membership::Unchanged,
        "the old copy cannot see the removal"
    );
    assert!(restored.needs_rotation(NOW));
    let attempt = restored.encrypt(&d.secret, &g.lists(), &msg(b"after removal"), NOW, &mut r);
    if let Ok(m) = &attempt {
        // What the old code allowed: the removed device reads on.
        let _ = k3.decrypt(&m.to_bytes(), &g.directory, NOW);
    }
    assert_eq!(attempt.unwrap_err(), SessionError::RotationRequired);
    assert_eq!(
        restored
            .distribute(
                &d.secret,
                &d.certificate,
                &g.lists(),
                &[],
                Padding::Padme,
                NOW,
                &mut r
            )
            .unwrap_err(),
        SessionError::RotationRequired
    );
    // Still exportable and inspectable; an export of it stays restored.
    let again = OutboundSession::import(&restored.export(), &d.secret.public_keys()).unwrap();
    assert!(again.needs_rotation(NOW));
    assert_eq!(again.session_id(), s.session_id());
    // The cost: one new session (one distribution) per conversation.
    let (mut fresh, _) = g.start(RotationPolicy::DEFAULT, &mut r);
    assert!(!fresh.needs_rotation(NOW));
    send(&mut fresh, d, &g.lists(), b"ok", &mut r);
}

/// The removed device is refused at decryption too: the receiver checks the
/// sender against its current list, so a device the *sender's* account
/// removed can no longer send in its sessions (P2).
#[test]
fn a_sender_removed_from_its_list_is_refused_at_decryption() {
    let (mut g, mut r) = group(4);
    let (mut s, env) = g.start(RotationPolicy::DEFAULT, &mut r);
    let mut ib = receive(&g.bob.devices[0], &env, &g.directory);
    let m = send(&mut s, g.sender(), &g.lists(), b"hi", &mut r);
    let alice = g.alice.public();
    let certs = g.alice.list.certificates()[1..].to_vec();
    let v2 = g
        .alice
        .secret
        .issue_device_list(Some(&g.directory[0]), NOW + 1, certs)
        .unwrap();
    let before = ib.export();
    g.directory[0] = g.directory[0].update(&[], &v2).unwrap();
    assert_eq!(
        ib.decrypt(&m, &g.directory, NOW).unwrap_err(),
        SessionError::SenderNotOnTrustedList(alice)
    );
    // Refused messages change nothing.
    assert_eq!(*ib.export(), *before);
    assert_eq!(
        ib.decrypt(&m, &g.directory[1..], NOW).unwrap_err(),
        SessionError::SenderListUnavailable(alice)
    );
}

/// A sender device re-keys: its old session can no longer encrypt (the
/// owner key changed: `WrongDevice`, so it rotates), and messages of the old
/// session still in flight are accepted only under the trust store's grace
/// policy (reported), as envelopes are (SPEC.md §14.1).
#[test]
fn a_rekeyed_sender_rotates_and_its_messages_in_flight_are_accepted_in_grace() {
    let (g, mut r) = group(23);
    let (mut s, env) = g.start(RotationPolicy::DEFAULT, &mut r);
    let bob = &g.bob.devices[0];
    let mut ib = receive(bob, &env, &g.directory);
    let in_flight = send(
        &mut s,
        g.sender(),
        &g.lists(),
        b"sent before the re-key",
        &mut r,
    );

    let new_keys = DeviceSecret::generate(&mut r);
    let rekeyed = g
        .alice
        .secret
        .certify_device(&CertificateParams {
            device_id: g.sender().certificate.device_id(),
            ..common::params(0, new_keys.public_keys())
        })
        .unwrap();
    let mut certs = g.alice.list.certificates().to_vec();
    certs[0] = rekeyed;
    let v2 = g
        .alice
        .secret
        .issue_device_list(Some(&g.directory[0]), NOW + 1, certs)
        .unwrap();
    let mut store = TrustStore::new();
    store.trust(g.directory[0].clone(), NOW).unwrap();
    store.trust(g.directory[1].clone(), NOW).unwrap();
    store
        .update(&g.alice.public(), std::slice::from_ref(&v2), NOW + 1)
        .unwrap();

    assert_eq!(
        s.encrypt(&new_keys, &g.lists(), &msg(b"x"), NOW + 2, &mut r)
            .unwrap_err(),
        SessionError::WrongDevice
    );
    let plain = [
        v2.verify(&g.alice.public()).unwrap(),
        g.directory[1].clone(),
    ];
    assert_eq!(
        ib.decrypt(&in_flight, &plain, NOW + 2).unwrap_err(),
        SessionError::SenderNotOnTrustedList(g.alice.public())
    );
    let got = ib.decrypt(&in_flight, &store, NOW + 2).unwrap();
    assert!(got.accepted_in_grace());
    assert_eq!(got.payload(), b"sent before the re-key");
    // L5: the old distribution, opened in grace, starts no new session (a
    // thief of the old keys could otherwise open sessions during grace).
    let late = open(&g.bob.devices[1].keyring, &env, &store, NOW + 2).unwrap();
    assert!(late.accepted_in_grace());
    assert_eq!(
        InboundSession::from_opened(&g.bob.devices[1].keyring, &late).unwrap_err(),
        SessionError::SenderInGrace
    );
}

/// P16: Bob adds a fourth device after Alice sent messages 0–2. Alice's
/// session reports it and hands it the current state (index 3): it reads 3
/// and later, never 0–2. The re-sent distribution is consistent for the
/// devices that already hold the session.
#[test]
fn added_device_cannot_read_history() {
    let (mut g, mut r) = group(5);
    let (mut s, env) = g.start(RotationPolicy::DEFAULT, &mut r);
    let present = receive(&g.bob.devices[0], &env, &g.directory);
    let history: Vec<Vec<u8>> = (0..3u8)
        .map(|i| send(&mut s, g.sender(), &g.lists(), &[i], &mut r))
        .collect();

    let new_device = DeviceSecret::generate(&mut r);
    let cert = g
        .bob
        .secret
        .certify_device(&common::params(4, new_device.public_keys()))
        .unwrap();
    let keyring4 = common::keyring(&new_device, &cert);
    let mut certs = g.bob.list.certificates().to_vec();
    certs.push(cert.clone());
    let v2 = g
        .bob
        .secret
        .issue_device_list(Some(&g.directory[1]), NOW + 1, certs)
        .unwrap();
    g.directory[1] = g.directory[1].update(&[], &v2).unwrap();

    assert_eq!(
        s.update_membership(&g.lists(), NOW),
        Membership::Added(vec![cert.key_id()])
    );
    assert!(!s.needs_rotation(NOW));
    let d = g.sender();
    let env2 = s
        .distribute(
            &d.secret,
            &d.certificate,
            &g.lists(),
            &[],
            Padding::Padme,
            NOW,
            &mut r,
        )
        .unwrap()
        .to_bytes();
    assert_eq!(s.update_membership(&g.lists(), NOW), Membership::Unchanged);

    let opened = open(&keyring4, &env2, &g.directory, NOW).unwrap();
    let mut added = InboundSession::from_opened(&keyring4, &opened).unwrap();
    assert_eq!(added.next_index(), 3);
    for (i, m) in history.iter().enumerate() {
        assert_eq!(
            added.decrypt(m, &g.directory, NOW).unwrap_err(),
            SessionError::BeforeDistribution {
                index: i as u32,
                first_index: 3
            }
        );
    }
    let m3 = send(&mut s, g.sender(), &g.lists(), b"welcome", &mut r);
    assert_eq!(
        added.decrypt(&m3, &g.directory, NOW).unwrap().payload(),
        b"welcome"
    );

    let reopened = open(&g.bob.devices[0].keyring, &env2, &g.directory, NOW).unwrap();
    present.check_distribution(&reopened).unwrap();
}

/// P13: the schedule. A session refuses to encrypt after `max_messages`
/// messages or `max_age_ms`, so a compromise of its chain key stops
/// exposing messages at the next rotation (a new random chain key sent in a
/// new envelope to fresh prekeys).
#[test]
fn the_schedule_forces_rotation_by_count_and_by_age() {
    let (g, mut r) = group(6);
    let policy = RotationPolicy {
        max_messages: 3,
        max_age_ms: 1000,
    };
    let (mut s, env) = g.start(policy, &mut r);
    let mut ib = receive(&g.bob.devices[0], &env, &g.directory);
    for i in 0..3u8 {
        ib.decrypt(
            &send(&mut s, g.sender(), &g.lists(), &[i], &mut r),
            &g.directory,
            NOW,
        )
        .unwrap();
    }
    assert!(s.needs_rotation(NOW));
    assert_eq!(
        s.encrypt(&g.sender().secret, &g.lists(), &msg(b"x"), NOW, &mut r)
            .unwrap_err(),
        SessionError::RotationRequired
    );
    let (s2, _) = g.start(policy, &mut r);
    assert!(!s2.needs_rotation(NOW + 999));
    assert!(s2.needs_rotation(NOW + 1000));
    // A clock that went back more than the skew before the session's
    // creation: receivers would refuse every message, so the sender must
    // rotate (review L2).
    let skew = session_limit::MAX_CLOCK_SKEW_MS;
    assert!(!s2.needs_rotation(NOW - skew));
    assert!(s2.needs_rotation(NOW - skew - 1));
    // A thief of the first session's state learns nothing of the second:
    // its messages name another session and use an independent chain.
    let (mut s3, _) = g.start(policy, &mut r);
    let m = send(&mut s3, g.sender(), &g.lists(), b"later", &mut r);
    assert_eq!(
        ib.decrypt(&m, &g.directory, NOW).unwrap_err(),
        SessionError::UnknownSession
    );
    // Defaults and bounds.
    assert_eq!(RotationPolicy::default().max_messages, 100);
    assert_eq!(RotationPolicy::default().max_age_ms, 7 * 24 * 3600 * 1000);
    for bad in [
        RotationPolicy {
            max_messages: 0,
            ..policy
        },
        RotationPolicy {
            max_messages: 1001,
            ..policy
        },
        RotationPolicy {
            max_age_ms: 0,
            ..policy
        },
        RotationPolicy {
            max_age_ms: 30 * 24 * 3600 * 1000 + 1,
            ..policy
        },
    ] {
        assert_eq!(
            OutboundSession::new(&g.sender().certificate, CHAT, bad, NOW, &mut r).unwrap_err(),
            SessionError::InvalidPolicy
        );
    }
}

// ------------------------------------------------------------ P17

/// P17: Alice's device is restored from a backup of its outbound state and
/// sends again at indices it already used. Every message draws a fresh
/// random that enters its key schedule, so the two ciphertexts of an index
/// are under different (key, nonce) pairs: XORing them does not give the
/// XOR of the plaintexts. A receiver that saw the first refuses the second
/// as a duplicate; a device that did not accepts it. The control (the same
/// random twice, as a repeating RNG would give) shows the XOR test detects
/// a reuse.
#[test]
fn restored_old_sender_state_reuses_no_key_nonce_pair() {
    let (g, mut r) = group(7);
    let (mut s, env) = g.start(RotationPolicy::DEFAULT, &mut r);
    let d = g.sender();
    let mut seen = receive(&g.bob.devices[0], &env, &g.directory);
    let mut fresh = receive(&g.bob.devices[1], &env, &g.directory);
    send(&mut s, d, &g.lists(), b"zero", &mut r);
    let backup = s.export();

    let p1: Vec<[u8; 32]> = (0..4u8).map(|i| [i; 32]).collect();
    let p2: Vec<[u8; 32]> = (0..4u8).map(|i| [0x80 | i; 32]).collect();
    let first: Vec<Vec<u8>> = p1
        .iter()
        .map(|p| send(&mut s, d, &g.lists(), p, &mut r))
        .collect();
    // An honest import refuses to encrypt (H2); a copy that does encrypt
    // (hazmat: a live copy) reuses indices, never a key/nonce pair.
    let loaded = OutboundSession::import(&backup, &d.secret.public_keys()).unwrap();
    assert!(loaded.needs_rotation(NOW));
    let mut restored = hazmat::import_live(&backup, &d.secret.public_keys()).unwrap();
    assert_eq!(restored.next_index(), 1);
    let second: Vec<Vec<u8>> = p2
        .iter()
        .map(|p| send(&mut restored, d, &g.lists(), p, &mut r))
        .collect();

    // Payload bytes sit after the 92-byte header, the timestamp, the AAD
    // length, the 1-byte AAD and the payload length.
    let at = 92 + 8 + 4 + 1 + 4;
    let xor = |a: &[u8], b: &[u8]| -> Vec<u8> { a.iter().zip(b).map(|(x, y)| x ^ y).collect() };
    for i in 0..4 {
        let a = SessionMessage::from_bytes(&first[i]).unwrap();
        let b = SessionMessage::from_bytes(&second[i]).unwrap();
        assert_eq!(a.index(), b.index());
        assert_ne!(
            xor(&first[i][at..at + 32], &second[i][at..at + 32]),
            xor(&p1[i], &p2[i]),
            "index {} reused a key/nonce pair",
            a.index()
        );
        assert_ne!(first[i][24..88], second[i][24..88], "random and commitment");
    }
    for i in 0..4 {
        seen.decrypt(&first[i], &g.directory, NOW).unwrap();
        assert_eq!(
            seen.decrypt(&second[i], &g.directory, NOW).unwrap_err(),
            SessionError::DuplicateIndex {
                index: i as u32 + 1
            }
        );
        let got = fresh.decrypt(&second[i], &g.directory, NOW).unwrap();
        assert_eq!(got.payload(), &p2[i]);
    }

    // A VM snapshot (or container checkpoint) restores the state **and**
    // the RNG: both copies draw the same bytes. The per-message random is
    // hedged (derived from the RNG output, the message key and the
    // content), so different content still gets another key/nonce pair.
    let mut r1 = rng(99);
    let mut r2 = rng(99);
    let mut a = hazmat::snapshot(&s);
    let mut b = hazmat::snapshot(&s);
    let ca = send(&mut a, d, &g.lists(), &p1[0], &mut r1);
    let cb = send(&mut b, d, &g.lists(), &p2[0], &mut r2);
    assert_eq!(ca.len(), cb.len(), "equal padded lengths");
    assert_ne!(
        xor(&ca[at..at + 32], &cb[at..at + 32]),
        xor(&p1[0], &p2[0]),
        "a restored RNG reused a key/nonce pair"
    );
    assert_ne!(ca[24..88], cb[24..88], "random and commitment");
    // Only a different timestamp or AAD changes too.
    let mut r3 = rng(99);
    let mut c = hazmat::snapshot(&s);
    let other_time = c
        .encrypt(&d.secret, &g.lists(), &msg(&p1[0]), NOW + 1, &mut r3)
        .unwrap()
        .to_bytes();
    assert_ne!(ca[24..88], other_time[24..88]);
    // The same RNG and the same content give byte-identical messages,
    // which receivers refuse as a duplicate: nothing leaks.
    let mut r4 = rng(99);
    let mut e = hazmat::snapshot(&s);
    let again = send(&mut e, d, &g.lists(), &p1[0], &mut r4);
    assert_eq!(ca, again);
}

// ------------------------------------------------------------ P3

/// P3: a malicious Alice gives Bob's first device one chain and his second
/// device another under the same session id (two distributions, each
/// delivered to one device by a colluding relay). Every message she makes
/// with either chain, and every splice of their fields, is accepted by at
/// most the devices holding that chain, with one plaintext: the commitment
/// in each message pins the message key. A device that receives both
/// distributions detects the conflict.
#[test]
fn inconsistent_distributions_are_detected_devices_never_accept_different_plaintexts() {
    let (g, mut r) = group(8);
    let d = g.sender();
    let (mut s1, env1) = g.start(RotationPolicy::DEFAULT, &mut r);
    // The second chain: the same session id, another chain key (the export
    // format is public; Alice edits her own state).
    let mut bytes = s1.export().to_vec();
    let chain_key = 2 + 2 + 16 + 32 + 4;
    for b in &mut bytes[chain_key..chain_key + 32] {
        *b ^= 0x5a;
    }
    recheck(&mut bytes);
    let mut s2 = hazmat::import_live(&bytes, &d.secret.public_keys()).unwrap();
    assert_eq!(s1.session_id(), s2.session_id());
    let env2 = s2
        .distribute(
            &d.secret,
            &d.certificate,
            &g.lists(),
            &[],
            Padding::Padme,
            NOW,
            &mut r,
        )
        .unwrap()
        .to_bytes();

    let b1 = &g.bob.devices[0];
    let b2 = &g.bob.devices[1];
    let in1 = receive(b1, &env1, &g.directory);
    let in2 = receive(b2, &env2, &g.directory);

    let m1 = send(&mut s1, d, &g.lists(), b"pay alice 10", &mut r);
    let m2 = send(&mut s2, d, &g.lists(), b"pay alice 99", &mut r);
    // Splices: m2 under m1's commitment and random, and the reverse.
    let mut splice_a = m2.clone();
    splice_a[24..88].copy_from_slice(&m1[24..88]);
    let mut splice_b = m1.clone();
    splice_b[56..88].copy_from_slice(&m2[56..88]);

    for m in [&m1, &m2, &splice_a, &splice_b] {
        let mut accepted = Vec::new();
        for (base, owner) in [(&in1, b1), (&in2, b2)] {
            let mut st = InboundSession::import(&base.export(), &owner.certificate).unwrap();
            match st.decrypt(m, &g.directory, NOW) {
                Ok(p) => accepted.push(p.payload().to_vec()),
                Err(e) => assert_eq!(e, SessionError::Unauthenticated),
            }
        }
        accepted.dedup();
        assert!(
            accepted.len() <= 1,
            "two devices accepted different plaintexts"
        );
    }
    // Each honest-looking message is accepted by exactly the device whose chain it used.
    let mut t1 = InboundSession::import(&in1.export(), &b1.certificate).unwrap();
    assert_eq!(
        t1.decrypt(&m1, &g.directory, NOW).unwrap().payload(),
        b"pay alice 10"
    );

    // A device that receives both distributions detects the conflict.
    let o2 = open(&b1.keyring, &env2, &g.directory, NOW).unwrap();
    assert_eq!(
        in1.check_distribution(&o2).unwrap_err(),
        SessionError::ConflictingDistribution
    );
    let o1 = open(&b1.keyring, &env1, &g.directory, NOW).unwrap();
    in1.check_distribution(&o1).unwrap();
    // And a consistent later distribution (the chain moved on) passes.
    let env1b = s1
        .distribute(
            &d.secret,
            &d.certificate,
            &g.lists(),
            &[],
            Padding::Padme,
            NOW,
            &mut r,
        )
        .unwrap()
        .to_bytes();
    let o1b = open(&b1.keyring, &env1b, &g.directory, NOW).unwrap();
    in1.check_distribution(&o1b).unwrap();

    // L6: the receiving store always runs the check, and a conflict drops
    // the session (leaving a tombstone): the equivocating sender's session
    // is read no further on this device, and the error names the sender.
    let mut store = InboundSessions::new(&b1.certificate);
    store.receive(&b1.keyring, &o1, NOW).unwrap();
    assert_eq!(
        store.receive(&b1.keyring, &o2, NOW).unwrap_err(),
        SessionError::ConflictingDistribution
    );
    assert!(store.get(&s1.session_id()).is_none());
    assert_eq!(
        store.decrypt(&m1, &g.directory, NOW).unwrap_err(),
        SessionError::UnknownSession
    );
    assert_eq!(
        store.receive(&b1.keyring, &o1, NOW).unwrap_err(),
        SessionError::StaleDistribution
    );
}

// ------------------------------------------------------------ ordering

/// Out-of-order delivery: the newest of 1000 messages first (999 keys
/// skipped), then the rest shuffled; each decrypts once. An index more
/// than `MAX_SKIP` ahead is refused before any key is derived; one exactly
/// `MAX_SKIP` ahead passes the bound (and then fails authentication, here
/// forged) and changes nothing.
#[test]
fn reordering_within_the_window_works_and_beyond_it_is_refused() {
    let (g, mut r) = group(9);
    let policy = RotationPolicy {
        max_messages: 1000,
        ..RotationPolicy::DEFAULT
    };
    let (mut s, env) = g.start(policy, &mut r);
    let mut ib = receive(&g.bob.devices[0], &env, &g.directory);
    let mut sent: Vec<(u32, Vec<u8>)> = (0..1000u32)
        .map(|i| {
            (
                i,
                send(&mut s, g.sender(), &g.lists(), &i.to_be_bytes(), &mut r),
            )
        })
        .collect();
    let (last_i, last) = sent.pop().unwrap();
    assert_eq!(
        ib.decrypt(&last, &g.directory, NOW).unwrap().index(),
        last_i
    );
    assert_eq!(ib.skipped_count(), 999);
    // A deterministic shuffle.
    for i in (1..sent.len()).rev() {
        let j = (rand_core::Rng::next_u32(&mut r) as usize) % (i + 1);
        sent.swap(i, j);
    }
    for (i, m) in &sent {
        let p = ib.decrypt(m, &g.directory, NOW).unwrap();
        assert_eq!(p.payload(), &i.to_be_bytes());
        assert_eq!(
            ib.decrypt(m, &g.directory, NOW).unwrap_err(),
            SessionError::DuplicateIndex { index: *i }
        );
    }
    assert_eq!(ib.skipped_count(), 0);

    // Beyond the window, on a fresh receiver at index 0.
    let mut ib = receive(&g.bob.devices[1], &env, &g.directory);
    let before = ib.export();
    let base = sent[0].1.clone();
    let with_index = |i: u32| {
        let mut b = base.clone();
        b[20..24].copy_from_slice(&i.to_be_bytes());
        b
    };
    assert_eq!(
        ib.decrypt(&with_index(1001), &g.directory, NOW)
            .unwrap_err(),
        SessionError::TooFarAhead {
            index: 1001,
            next: 0
        }
    );
    assert_eq!(
        ib.decrypt(&with_index(u32::MAX - 1), &g.directory, NOW)
            .unwrap_err(),
        SessionError::TooFarAhead {
            index: u32::MAX - 1,
            next: 0
        }
    );
    assert_eq!(
        ib.decrypt(&with_index(999), &g.directory, NOW).unwrap_err(),
        SessionError::Unauthenticated
    );
    // Index 1000 is within the skip but no honest session reaches it
    // (`MAX_SESSION_MESSAGES`): refused before anything is derived.
    assert_eq!(
        ib.decrypt(&with_index(1000), &g.directory, NOW)
            .unwrap_err(),
        SessionError::SessionExpired
    );
    assert_eq!(*ib.export(), *before, "a refused message changed the state");
}

/// The skipped-key store is bounded: a state holding `MAX_SKIPPED_KEYS`
/// keys refuses a message that would add one more, before deriving.
#[test]
fn the_skipped_key_store_is_bounded() {
    let (g, mut r) = group(10);
    let (mut s, env) = g.start(RotationPolicy::DEFAULT, &mut r);
    let bob = &g.bob.devices[0];
    let ib = receive(bob, &env, &g.directory);
    let m0 = send(&mut s, g.sender(), &g.lists(), b"x", &mut r);
    // Build a state at next index 3000 holding 2000 skipped keys.
    let mut bytes = ib.export().to_vec();
    bytes.truncate(bytes.len() - 32);
    bytes[INBOUND_NEXT_INDEX..INBOUND_NEXT_INDEX + 4].copy_from_slice(&3000u32.to_be_bytes());
    let count_at = INBOUND_NEXT_INDEX + 4 + 32;
    bytes.truncate(count_at);
    bytes.extend_from_slice(&2000u16.to_be_bytes());
    for i in 0..2000u32 {
        bytes.extend_from_slice(&i.to_be_bytes());
        bytes.extend_from_slice(&[7; 32]);
    }
    bytes.extend_from_slice(&[0; 32]);
    recheck(&mut bytes);
    let mut full = InboundSession::import(&bytes, &bob.certificate).unwrap();
    assert_eq!(full.skipped_count(), 2000);
    let mut m = m0.clone();
    m[20..24].copy_from_slice(&3001u32.to_be_bytes());
    assert_eq!(
        full.decrypt(&m, &g.directory, NOW).unwrap_err(),
        SessionError::TooManySkipped
    );
    // The next index itself adds no skipped key: it passes the bound (and
    // meets the index bound, which no honest session reaches).
    m[20..24].copy_from_slice(&3000u32.to_be_bytes());
    assert_eq!(
        full.decrypt(&m, &g.directory, NOW).unwrap_err(),
        SessionError::SessionExpired
    );
    // 2001 keys do not load.
    let mut over = bytes.clone();
    over[count_at..count_at + 2].copy_from_slice(&2001u16.to_be_bytes());
    assert!(matches!(
        InboundSession::import(&over, &bob.certificate).unwrap_err(),
        SessionError::Decode(DecodeError::OutOfRange {
            field: "skipped count",
            ..
        })
    ));
}

// ------------------------------------------------------------ bad input

#[test]
fn unknown_session_is_refused() {
    let (g, mut r) = group(11);
    let (_, env) = g.start(RotationPolicy::DEFAULT, &mut r);
    let (mut other, _) = g.start(RotationPolicy::DEFAULT, &mut r);
    let mut ib = receive(&g.bob.devices[0], &env, &g.directory);
    let m = send(&mut other, g.sender(), &g.lists(), b"x", &mut r);
    assert_eq!(
        ib.decrypt(&m, &g.directory, NOW).unwrap_err(),
        SessionError::UnknownSession
    );
}

#[test]
fn replayed_index_is_refused() {
    let (g, mut r) = group(12);
    let (mut s, env) = g.start(RotationPolicy::DEFAULT, &mut r);
    let mut ib = receive(&g.bob.devices[0], &env, &g.directory);
    let m = send(&mut s, g.sender(), &g.lists(), b"x", &mut r);
    ib.decrypt(&m, &g.directory, NOW).unwrap();
    assert_eq!(
        ib.decrypt(&m, &g.directory, NOW).unwrap_err(),
        SessionError::DuplicateIndex { index: 0 }
    );
}

/// A co-recipient (Bob's device, which holds the chain) makes a message in
/// Alice's session and signs it with its own key, or strips the signature:
/// the commitment and AEAD check out, the signature does not (P2).
#[test]
fn forged_or_stripped_signature_is_refused() {
    let (g, mut r) = group(13);
    let d = g.sender();
    let (s, env) = g.start(RotationPolicy::DEFAULT, &mut r);
    let mut victim = receive(&g.bob.devices[1], &env, &g.directory);
    let before = victim.export();
    // Bob's first device turns its inbound state into an outbound state of
    // Alice's session (every field it needs is in its own state).
    let mut forger_state = hazmat::import_live(&s.export(), &d.secret.public_keys()).unwrap();
    let forger = &g.bob.devices[0];
    let forged = hazmat::encrypt_signed_by(
        &mut forger_state,
        &forger.secret,
        &msg(b"evil"),
        NOW,
        &mut r,
    )
    .unwrap()
    .to_bytes();
    assert_eq!(
        victim.decrypt(&forged, &g.directory, NOW).unwrap_err(),
        SessionError::Unauthenticated
    );
    let mut forger_state = hazmat::import_live(&s.export(), &d.secret.public_keys()).unwrap();
    let stripped = hazmat::encrypt_unsigned(&mut forger_state, &msg(b"evil"), NOW, &mut r)
        .unwrap()
        .to_bytes();
    assert_eq!(
        victim.decrypt(&stripped, &g.directory, NOW).unwrap_err(),
        SessionError::Unauthenticated
    );
    assert_eq!(*victim.export(), *before);
    // Control: the same path signed by Alice's own key is accepted.
    let mut honest = hazmat::import_live(&s.export(), &d.secret.public_keys()).unwrap();
    let ok = hazmat::encrypt_signed_by(&mut honest, &d.secret, &msg(b"ok"), NOW, &mut r)
        .unwrap()
        .to_bytes();
    assert_eq!(
        victim.decrypt(&ok, &g.directory, NOW).unwrap().payload(),
        b"ok"
    );
}

/// Every byte of a message is authenticated or checked: flipping any bit
/// of the header or ciphertext is refused, and no flip panics.
#[test]
fn every_flipped_bit_is_refused() {
    let (g, mut r) = group(14);
    let (mut s, env) = g.start(RotationPolicy::DEFAULT, &mut r);
    let ib = receive(&g.bob.devices[0], &env, &g.directory);
    let m = send(&mut s, g.sender(), &g.lists(), b"flip me", &mut r);
    for byte in 0..m.len() {
        for bit in [0x01u8, 0x80] {
            let mut st =
                InboundSession::import(&ib.export(), &g.bob.devices[0].certificate).unwrap();
            let mut bad = m.clone();
            bad[byte] ^= bit;
            assert!(st.decrypt(&bad, &g.directory, NOW).is_err(), "byte {byte}");
        }
    }
    for len in 0..m.len() {
        let mut st = InboundSession::import(&ib.export(), &g.bob.devices[0].certificate).unwrap();
        assert!(st.decrypt(&m[..len], &g.directory, NOW).is_err());
    }
}

/// A distribution from a device that is not on the sender's verified list
/// (a "ghost" the account certified but did not list, or a device of an
/// account the receiver has no list for) never opens, so no inbound
/// session can be made from it.
#[test]
fn distribution_from_a_device_not_on_the_senders_verified_list_is_refused() {
    let (g, mut r) = group(15);
    let ghost_secret = DeviceSecret::generate(&mut r);
    let ghost_cert = g
        .alice
        .secret
        .certify_device(&common::params(9, ghost_secret.public_keys()))
        .unwrap();
    let mut s =
        OutboundSession::new(&ghost_cert, CHAT, RotationPolicy::DEFAULT, NOW, &mut r).unwrap();
    // The ghost's own list: the one it claims to be on.
    let mut certs = g.alice.list.certificates().to_vec();
    certs.push(ghost_cert.clone());
    let forged_list = g
        .alice
        .secret
        .issue_device_list(Some(&g.directory[0]), NOW, certs)
        .unwrap()
        .verify(&g.alice.public())
        .unwrap();
    let env = s
        .distribute(
            &ghost_secret,
            &ghost_cert,
            &[&g.directory[1], &forged_list],
            &[],
            Padding::Padme,
            NOW,
            &mut r,
        )
        .unwrap()
        .to_bytes();
    let bob = &g.bob.devices[0];
    assert_eq!(
        open(&bob.keyring, &env, &g.directory, NOW).unwrap_err(),
        OpenError::SenderNotOnTrustedList(g.alice.public())
    );
    assert_eq!(
        open(&bob.keyring, &env, &g.directory[1..], NOW).unwrap_err(),
        OpenError::SenderListUnavailable(g.alice.public())
    );
}

#[test]
fn a_distribution_must_name_the_envelopes_conversation() {
    let (g, mut r) = group(16);
    let d = g.sender();
    let (s, _) = g.start(RotationPolicy::DEFAULT, &mut r);
    // An envelope whose payload is the session's distribution bytes but
    // whose AAD names another conversation: build it from the export.
    let mut s2 = OutboundSession::new(
        &d.certificate,
        b"other",
        RotationPolicy::DEFAULT,
        NOW,
        &mut r,
    )
    .unwrap();
    let env = s2
        .distribute(
            &d.secret,
            &d.certificate,
            &g.lists(),
            &[],
            Padding::Padme,
            NOW,
            &mut r,
        )
        .unwrap();
    let opened = open(
        &g.bob.devices[0].keyring,
        &env.to_bytes(),
        &g.directory,
        NOW,
    )
    .unwrap();
    let ib = InboundSession::from_opened(&g.bob.devices[0].keyring, &opened).unwrap();
    assert_eq!(ib.conversation_id(), b"other");
    // A payload that is not a distribution.
    let plain = seal(
        &d.secret,
        &d.certificate,
        &g.lists(),
        &[],
        &Message {
            payload: b"hello",
            aad: CHAT,
            ..Message::default()
        },
        NOW,
        &mut r,
    )
    .unwrap();
    let opened = open(
        &g.bob.devices[0].keyring,
        &plain.to_bytes(),
        &g.directory,
        NOW,
    )
    .unwrap();
    assert!(matches!(
        InboundSession::from_opened(&g.bob.devices[0].keyring, &opened).unwrap_err(),
        SessionError::Decode(_)
    ));
    // A distribution under another AAD: the conversation check.
    let mut payload = vec![0x02, 0x09, 0x00, 0x01];
    payload.extend_from_slice(&s.session_id().to_bytes());
    payload.extend_from_slice(&0u32.to_be_bytes());
    payload.extend_from_slice(&[1; 32]);
    payload.extend_from_slice(&NOW.to_be_bytes());
    payload.extend_from_slice(&100u32.to_be_bytes());
    payload.extend_from_slice(&session_limit::DEFAULT_MAX_AGE_MS.to_be_bytes());
    payload.extend_from_slice(&(CHAT.len() as u32).to_be_bytes());
    payload.extend_from_slice(CHAT);
    let env = seal(
        &d.secret,
        &d.certificate,
        &g.lists(),
        &[],
        &Message {
            payload: &payload,
            aad: b"not the chat",
            ..Message::default()
        },
        NOW,
        &mut r,
    )
    .unwrap();
    let opened = open(
        &g.bob.devices[0].keyring,
        &env.to_bytes(),
        &g.directory,
        NOW,
    )
    .unwrap();
    assert_eq!(
        InboundSession::from_opened(&g.bob.devices[0].keyring, &opened).unwrap_err(),
        SessionError::WrongConversation
    );
}

#[test]
fn state_exports_truncated_corrupted_or_of_another_device_are_refused() {
    let (g, mut r) = group(17);
    let d = g.sender();
    let (mut s, env) = g.start(RotationPolicy::DEFAULT, &mut r);
    let bob = &g.bob.devices[0];
    let mut ib = receive(bob, &env, &g.directory);
    let m0 = send(&mut s, d, &g.lists(), b"0", &mut r);
    let _m1 = send(&mut s, d, &g.lists(), b"1", &mut r);
    let m2 = send(&mut s, d, &g.lists(), b"2", &mut r);
    ib.decrypt(&m2, &g.directory, NOW).unwrap();
    let out = s.export();
    let inn = ib.export();
    let owner = d.secret.public_keys();
    // The sizes SPEC.md §15.7–15.8 states: 5 recipients, 2 skipped keys.
    assert_eq!(out.len(), 163 + 16 * 5 + CHAT.len());
    assert_eq!(inn.len(), 366 + CHAT.len() + 36 * 2);

    for len in 0..out.len() {
        assert!(
            OutboundSession::import(&out[..len], &owner).is_err(),
            "len {len}"
        );
    }
    for len in 0..inn.len() {
        assert!(
            InboundSession::import(&inn[..len], &bob.certificate).is_err(),
            "len {len}"
        );
    }
    for i in 0..out.len() {
        let mut b = out.to_vec();
        b[i] ^= 0x01;
        assert!(OutboundSession::import(&b, &owner).is_err(), "byte {i}");
    }
    for i in 0..inn.len() {
        let mut b = inn.to_vec();
        b[i] ^= 0x01;
        assert!(
            InboundSession::import(&b, &bob.certificate).is_err(),
            "byte {i}"
        );
    }
    // A corrupted chain key is a clear load error, not later failures.
    let mut b = inn.to_vec();
    b[INBOUND_NEXT_INDEX + 4] ^= 0x01;
    assert_eq!(
        InboundSession::import(&b, &bob.certificate).unwrap_err(),
        SessionError::Decode(DecodeError::Inconsistent("state check"))
    );
    let mut long = inn.to_vec();
    long.push(0);
    assert!(matches!(
        InboundSession::import(&long, &bob.certificate).unwrap_err(),
        SessionError::Decode(_)
    ));
    // Another device's export.
    assert_eq!(
        InboundSession::import(&inn, &g.bob.devices[1].certificate).unwrap_err(),
        SessionError::WrongDevice
    );
    assert_eq!(
        OutboundSession::import(&out, &g.alice.devices[1].secret.public_keys()).unwrap_err(),
        SessionError::WrongDevice
    );
    assert_eq!(
        s.encrypt(
            &g.alice.devices[1].secret,
            &g.lists(),
            &msg(b"x"),
            NOW,
            &mut r
        )
        .unwrap_err(),
        SessionError::WrongDevice
    );
    // Another object type.
    assert!(matches!(
        InboundSession::import(&out, &bob.certificate).unwrap_err(),
        SessionError::Decode(DecodeError::WrongObjectType {
            expected: 0x24,
            found: 0x23
        })
    ));
    // The loaded state behaves as the original.
    let mut back = InboundSession::import(&inn, &bob.certificate).unwrap();
    assert_eq!(
        back.decrypt(&m0, &g.directory, NOW).unwrap().payload(),
        b"0"
    );
}

#[test]
fn message_decoding_is_canonical_and_bounded() {
    let (g, mut r) = group(18);
    let (mut s, _) = g.start(RotationPolicy::DEFAULT, &mut r);
    let m = send(&mut s, g.sender(), &g.lists(), b"x", &mut r);
    assert!(SessionMessage::from_bytes(&m).is_ok());
    let mut b = m.clone();
    b.push(0);
    assert!(matches!(
        SessionMessage::from_bytes(&b).unwrap_err(),
        DecodeError::TrailingBytes { .. }
    ));
    let mut b = m.clone();
    b[0] = 0x01;
    assert_eq!(
        SessionMessage::from_bytes(&b).unwrap_err(),
        DecodeError::UnsupportedVersion(1)
    );
    let mut b = m.clone();
    b[1] = 0x03;
    assert_eq!(
        SessionMessage::from_bytes(&b).unwrap_err(),
        DecodeError::WrongObjectType {
            expected: 0x08,
            found: 0x03
        }
    );
    let mut b = m.clone();
    b[3] = 0x02;
    assert_eq!(
        SessionMessage::from_bytes(&b).unwrap_err(),
        DecodeError::UnsupportedSuite(2)
    );
    let mut b = m.clone();
    b[20..24].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        SessionMessage::from_bytes(&b).unwrap_err(),
        DecodeError::OutOfRange { field: "index", .. }
    ));
    // A huge declared ciphertext length is refused before allocating.
    let mut b = m[..92].to_vec();
    b[88..92].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        SessionMessage::from_bytes(&b).unwrap_err(),
        DecodeError::OutOfRange {
            field: "ciphertext",
            ..
        }
    ));
    let mut b = m[..92].to_vec();
    b[88..92].copy_from_slice(&95u32.to_be_bytes());
    assert!(matches!(
        SessionMessage::from_bytes(&b).unwrap_err(),
        DecodeError::OutOfRange {
            field: "ciphertext",
            min: 96,
            ..
        }
    ));
    // An envelope is not a session message, and the reverse.
    let env = g.start(RotationPolicy::DEFAULT, &mut r).1;
    assert!(matches!(
        SessionMessage::from_bytes(&env).unwrap_err(),
        DecodeError::WrongObjectType {
            expected: 0x08,
            found: 0x03
        }
    ));
    assert!(open(&g.bob.devices[0].keyring, &m, &g.directory, NOW).is_err());
}

/// P9: the session states wipe their chain keys and message keys on drop,
/// and their exports are wiping buffers.
#[test]
fn session_states_are_zeroize_on_drop() {
    fn assert_zod<T: zeroize::ZeroizeOnDrop + ?Sized>(_: &T) {}
    let (g, mut r) = group(22);
    let (s, env) = g.start(RotationPolicy::DEFAULT, &mut r);
    let ib = receive(&g.bob.devices[0], &env, &g.directory);
    assert_zod(&s);
    assert_zod(&ib);
    let e: zeroize::Zeroizing<Vec<u8>> = s.export();
    assert_zod(&e);
    let e: zeroize::Zeroizing<Vec<u8>> = ib.export();
    assert_zod(&e);
    let mut store = InboundSessions::new(&g.bob.devices[1].certificate);
    let o = open(&g.bob.devices[1].keyring, &env, &g.directory, NOW).unwrap();
    store.receive(&g.bob.devices[1].keyring, &o, NOW).unwrap();
    assert_zod(&store);
    let e: zeroize::Zeroizing<Vec<u8>> = store.export();
    assert_zod(&e);
}

#[test]
fn secrets_are_not_printed() {
    let (g, mut r) = group(19);
    let (s, env) = g.start(RotationPolicy::DEFAULT, &mut r);
    let ib = receive(&g.bob.devices[0], &env, &g.directory);
    let export = s.export();
    let chain_key = &export[2 + 2 + 16 + 32 + 4..2 + 2 + 16 + 32 + 4 + 32];
    let hex: String = chain_key
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut store = InboundSessions::new(&g.bob.devices[1].certificate);
    let o = open(&g.bob.devices[1].keyring, &env, &g.directory, NOW).unwrap();
    store.receive(&g.bob.devices[1].keyring, &o, NOW).unwrap();
    for text in [format!("{s:?}"), format!("{ib:?}"), format!("{store:?}")] {
        assert!(!text.contains(&hex), "{text}");
        assert!(!text.contains(&format!("{:?}", &chain_key[..4])), "{text}");
    }
}

#[test]
fn a_distribution_of_another_session_or_sender_is_not_compared() {
    let (g, mut r) = group(20);
    let (_, env) = g.start(RotationPolicy::DEFAULT, &mut r);
    let (_, other) = g.start(RotationPolicy::DEFAULT, &mut r);
    let bob = &g.bob.devices[0];
    let ib = receive(bob, &env, &g.directory);
    let o = open(&bob.keyring, &other, &g.directory, NOW).unwrap();
    assert_eq!(
        ib.check_distribution(&o).unwrap_err(),
        SessionError::NotThisSession
    );
    // Alice's other device distributes its own session: another sender.
    let d = &g.alice.devices[1];
    let mut s =
        OutboundSession::new(&d.certificate, CHAT, RotationPolicy::DEFAULT, NOW, &mut r).unwrap();
    let e = s
        .distribute(
            &d.secret,
            &d.certificate,
            &g.lists(),
            &[],
            Padding::Padme,
            NOW,
            &mut r,
        )
        .unwrap();
    let o = open(&bob.keyring, &e.to_bytes(), &g.directory, NOW).unwrap();
    assert_eq!(
        ib.check_distribution(&o).unwrap_err(),
        SessionError::NotThisSession
    );
}

// ------------------------------------------------------------ proptest

#[derive(Debug, Clone)]
enum Op {
    Send(u8),
    Deliver(usize),
    Rotate,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<u8>().prop_map(Op::Send),
        (0usize..16).prop_map(Op::Deliver),
        Just(Op::Rotate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// After any sequence of sends and out-of-order deliveries, both
    /// exports load back to the same bytes, and the loaded states answer
    /// the next message exactly as the originals.
    #[test]
    fn session_exports_round_trip(ops in proptest::collection::vec(op(), 0..24), seed in any::<u8>()) {
        let (g, mut r) = group(seed);
        let d = g.sender();
        let bob = &g.bob.devices[0];
        let (mut s, env) = g.start(RotationPolicy::DEFAULT, &mut r);
        let mut ib = receive(bob, &env, &g.directory);
        let mut pending: Vec<Vec<u8>> = Vec::new();
        for op in ops {
            match op {
                Op::Send(b) => pending.push(send(&mut s, d, &g.lists(), &[b; 3], &mut r)),
                Op::Deliver(i) if !pending.is_empty() => {
                    let m = pending.remove(i % pending.len());
                    ib.decrypt(&m, &g.directory, NOW).unwrap();
                }
                Op::Deliver(_) => {}
                Op::Rotate => {
                    let _ = s.update_membership(&g.lists(), NOW);
                }
            }
        }
        let out = s.export();
        let inn = ib.export();
        let loaded = OutboundSession::import(&out, &d.secret.public_keys()).unwrap();
        prop_assert_eq!(&*loaded.export(), &*out);
        // A loaded outbound session never encrypts (H2); a live copy
        // (hazmat) behaves exactly as the original.
        prop_assert!(loaded.needs_rotation(NOW));
        let mut s2 = hazmat::import_live(&out, &d.secret.public_keys()).unwrap();
        let mut ib2 = InboundSession::import(&inn, &bob.certificate).unwrap();
        prop_assert_eq!(&*ib2.export(), &*inn);
        let mut r2 = r.clone();
        let a = send(&mut s, d, &g.lists(), b"next", &mut r);
        let b = send(&mut s2, d, &g.lists(), b"next", &mut r2);
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(&*s.export(), &*s2.export());
        for m in pending.iter().chain([&a]) {
            let x = ib.decrypt(m, &g.directory, NOW);
            let y = ib2.decrypt(m, &g.directory, NOW);
            prop_assert_eq!(x, y);
        }
        prop_assert_eq!(&*ib.export(), &*ib2.export());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The decoders and the receiving state never panic on arbitrary bytes,
    /// and a refused input changes nothing.
    #[test]
    fn arbitrary_bytes_are_refused_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let (g, mut r) = group(21);
        let (_, env) = g.start(RotationPolicy::DEFAULT, &mut r);
        let bob = &g.bob.devices[0];
        let mut ib = receive(bob, &env, &g.directory);
        let before = ib.export();
        let _ = SessionMessage::from_bytes(&bytes);
        prop_assert!(ib.decrypt(&bytes, &g.directory, NOW).is_err());
        prop_assert_eq!(&*ib.export(), &*before);
        prop_assert!(InboundSession::import(&bytes, &bob.certificate).is_err());
        prop_assert!(InboundSessions::import(&bytes, &bob.certificate).is_err());
        prop_assert!(OutboundSession::import(&bytes, &g.sender().secret.public_keys()).is_err());
        // With a valid header in front.
        let mut framed = vec![0x02, 0x08, 0x00, 0x01];
        framed.extend_from_slice(&ib.session_id().to_bytes());
        framed.extend_from_slice(&bytes);
        prop_assert!(ib.decrypt(&framed, &g.directory, NOW).is_err());
        prop_assert_eq!(&*ib.export(), &*before);
    }
}

// ------------------------------------------------------------ the receiving store

/// H3: the relay holds distribution envelopes and can re-deliver one after
/// the receiver dropped the session. A bare `from_opened` rebuilds it and
/// accepts every old message again; the store keeps a tombstone (the slot's
/// floor) and refuses the distribution, so the replayed messages find no
/// session. Rotation evicts the oldest of (current, previous) the same way.
#[test]
fn a_distribution_redelivered_after_the_session_was_dropped_is_refused() {
    let (g, mut r) = group(41);
    let bob = &g.bob.devices[0];
    let (mut s1, env1) = g.start(RotationPolicy::DEFAULT, &mut r);
    let pay = send(&mut s1, g.sender(), &g.lists(), b"pay 100 EUR", &mut r);

    let mut store = InboundSessions::new(&bob.certificate);
    let opened = open(&bob.keyring, &env1, &g.directory, NOW).unwrap();
    assert_eq!(
        store.receive(&bob.keyring, &opened, NOW).unwrap(),
        DistributionReceived::New(s1.session_id())
    );
    assert_eq!(
        store.decrypt(&pay, &g.directory, NOW).unwrap().payload(),
        b"pay 100 EUR"
    );
    assert_eq!(
        store.decrypt(&pay, &g.directory, NOW).unwrap_err(),
        SessionError::DuplicateIndex { index: 0 }
    );
    assert!(store.drop_session(&s1.session_id()));
    assert_eq!(
        store.tombstone_floor(&g.sender().certificate, CHAT),
        Some(NOW)
    );

    // The relay re-delivers the distribution, then the message.
    let again = open(&bob.keyring, &env1, &g.directory, NOW).unwrap();
    assert_eq!(
        store.receive(&bob.keyring, &again, NOW).unwrap_err(),
        SessionError::StaleDistribution
    );
    assert_eq!(
        store.decrypt(&pay, &g.directory, NOW).unwrap_err(),
        SessionError::UnknownSession
    );
    // Control: the bare constructor keeps no tombstone, and the payment is
    // accepted a second time: what the store prevents.
    let mut bare = InboundSession::from_opened(&bob.keyring, &again).unwrap();
    assert_eq!(
        bare.decrypt(&pay, &g.directory, NOW).unwrap().payload(),
        b"pay 100 EUR"
    );

    // Rotation: the store keeps the current and the previous session of a
    // sender device; a third evicts the oldest, which leaves a tombstone.
    let later = |s: &mut OutboundSession, at: u64, r: &mut ChaCha20Rng| {
        let d = g.sender();
        *s = OutboundSession::new(&d.certificate, CHAT, RotationPolicy::DEFAULT, at, r).unwrap();
        s.distribute(
            &d.secret,
            &d.certificate,
            &g.lists(),
            &[],
            Padding::Padme,
            NOW,
            r,
        )
        .unwrap()
        .to_bytes()
    };
    let mut s2 = OutboundSession::new(
        &g.sender().certificate,
        CHAT,
        RotationPolicy::DEFAULT,
        NOW,
        &mut r,
    )
    .unwrap();
    let env2 = later(&mut s2, NOW + 10, &mut r);
    let m2 = send(&mut s2, g.sender(), &g.lists(), b"two", &mut r);
    let mut s3 = OutboundSession::new(
        &g.sender().certificate,
        CHAT,
        RotationPolicy::DEFAULT,
        NOW,
        &mut r,
    )
    .unwrap();
    let env3 = later(&mut s3, NOW + 20, &mut r);
    let mut s4 = OutboundSession::new(
        &g.sender().certificate,
        CHAT,
        RotationPolicy::DEFAULT,
        NOW,
        &mut r,
    )
    .unwrap();
    let env4 = later(&mut s4, NOW + 30, &mut r);
    for env in [&env2, &env3, &env4] {
        let o = open(&bob.keyring, env, &g.directory, NOW).unwrap();
        assert!(matches!(
            store.receive(&bob.keyring, &o, NOW).unwrap(),
            DistributionReceived::New(_)
        ));
    }
    assert_eq!(store.len(), 2);
    assert!(store.get(&s2.session_id()).is_none());
    assert_eq!(
        store.tombstone_floor(&g.sender().certificate, CHAT),
        Some(NOW + 10)
    );
    let o2 = open(&bob.keyring, &env2, &g.directory, NOW).unwrap();
    assert_eq!(
        store.receive(&bob.keyring, &o2, NOW).unwrap_err(),
        SessionError::StaleDistribution
    );
    assert_eq!(
        store.decrypt(&m2, &g.directory, NOW).unwrap_err(),
        SessionError::UnknownSession
    );
    // A re-delivery of a held session is consistent and changes nothing.
    let o4 = open(&bob.keyring, &env4, &g.directory, NOW).unwrap();
    assert_eq!(
        store.receive(&bob.keyring, &o4, NOW).unwrap(),
        DistributionReceived::Held(s4.session_id())
    );
    assert_eq!(store.len(), 2);

    // The tombstones survive a restart: the store's export carries them.
    let bytes = store.export();
    let mut restarted = InboundSessions::import(&bytes, &bob.certificate).unwrap();
    assert_eq!(*restarted.export(), *bytes);
    assert_eq!(restarted.len(), 2);
    assert_eq!(
        restarted.receive(&bob.keyring, &o2, NOW).unwrap_err(),
        SessionError::StaleDistribution
    );
    let m4 = send(&mut s4, g.sender(), &g.lists(), b"four", &mut r);
    assert_eq!(
        restarted.decrypt(&m4, &g.directory, NOW).unwrap().payload(),
        b"four"
    );
    assert_eq!(
        InboundSessions::import(&bytes, &g.bob.devices[1].certificate).unwrap_err(),
        SessionError::WrongDevice
    );
    for cut in [0, 10, 60, bytes.len() / 2, bytes.len() - 1] {
        assert!(InboundSessions::import(&bytes[..cut], &bob.certificate).is_err());
    }
    let mut flipped = bytes.to_vec();
    flipped[100] ^= 1;
    assert!(InboundSessions::import(&flipped, &bob.certificate).is_err());

    // The receiver's own age bound: a distribution created more than
    // MAX_AGE_MS + skew before `now` is refused, whatever its policy says.
    let late = NOW + 30 + session_limit::MAX_AGE_MS + session_limit::MAX_CLOCK_SKEW_MS + 1;
    let mut other = InboundSessions::new(&bob.certificate);
    assert_eq!(
        other.receive(&bob.keyring, &o4, late).unwrap_err(),
        SessionError::SessionExpired
    );
    // Pruning forgets the tombstones that age made redundant.
    store.prune(late + 2 * session_limit::MAX_AGE_MS);
    assert!(store.is_empty());
    assert_eq!(store.tombstone_floor(&g.sender().certificate, CHAT), None);
}

/// H4: a sender (say a malicious member) cannot make a receiver hold more
/// than two sessions per (sender device, conversation), nor more than
/// `MAX_SESSIONS_PER_ACCOUNT` across conversations; the cap is a clear
/// error and the store is unchanged.
#[test]
fn distributions_per_sender_are_capped() {
    let (g, mut r) = group(43);
    let bob = &g.bob.devices[0];
    let d = g.sender();
    let mut store = InboundSessions::new(&bob.certificate);
    let dist = |conv: &[u8], at: u64, r: &mut ChaCha20Rng| {
        let mut s =
            OutboundSession::new(&d.certificate, conv, RotationPolicy::DEFAULT, at, r).unwrap();
        let e = s
            .distribute(
                &d.secret,
                &d.certificate,
                &[&g.directory[1]],
                &[],
                Padding::None,
                NOW,
                r,
            )
            .unwrap()
            .to_bytes();
        (
            s.session_id(),
            open(&bob.keyring, &e, &g.directory, NOW).unwrap(),
        )
    };

    // One conversation: ten sessions leave two held.
    let mut ids = Vec::new();
    for i in 0..10u64 {
        let (id, o) = dist(CHAT, NOW + i, &mut r);
        store.receive(&bob.keyring, &o, NOW).unwrap();
        ids.push(id);
    }
    assert_eq!(store.len(), 2);
    assert!(store.get(&ids[9]).is_some() && store.get(&ids[8]).is_some());
    // One older than both held ones is stale, not a third session.
    let (_, old) = dist(CHAT, NOW + 5, &mut r);
    assert_eq!(
        store.receive(&bob.keyring, &old, NOW).unwrap_err(),
        SessionError::StaleDistribution
    );

    // Across conversations: the per-account cap. At it, a new session of
    // the account replaces the account's own oldest (created at, then
    // session id), which is tombstoned; the store never holds more.
    let per_account = session_limit::MAX_SESSIONS_PER_ACCOUNT;
    let mut others = Vec::new();
    for i in 0..per_account - 2 {
        let conv = format!("conv-{i}");
        let (id, o) = dist(conv.as_bytes(), NOW, &mut r);
        store.receive(&bob.keyring, &o, NOW).unwrap();
        others.push((id, o));
    }
    assert_eq!(store.len(), per_account);
    let (id, o) = dist(b"one more", NOW, &mut r);
    assert_eq!(
        store.receive(&bob.keyring, &o, NOW).unwrap(),
        DistributionReceived::New(id)
    );
    assert_eq!(store.len(), per_account);
    let (oldest, oldest_dist) = others.iter().min_by_key(|(id, _)| *id).unwrap();
    assert!(store.get(oldest).is_none());
    assert!(others
        .iter()
        .filter(|(i, _)| i != oldest)
        .all(|(i, _)| store.get(i).is_some()));
    assert_eq!(
        store.receive(&bob.keyring, oldest_dist, NOW).unwrap_err(),
        SessionError::StaleDistribution
    );
    // Another sender account is not affected by Alice's cap.
    let mut s = OutboundSession::new(
        &g.bob.devices[1].certificate,
        CHAT,
        RotationPolicy::DEFAULT,
        NOW,
        &mut r,
    )
    .unwrap();
    let e = s
        .distribute(
            &g.bob.devices[1].secret,
            &g.bob.devices[1].certificate,
            &[&g.directory[1]],
            &[],
            Padding::None,
            NOW,
            &mut r,
        )
        .unwrap()
        .to_bytes();
    let o = open(&bob.keyring, &e, &g.directory, NOW).unwrap();
    store.receive(&bob.keyring, &o, NOW).unwrap();
}

/// M7: the sending device is a recipient of its own distribution (sealed
/// sender); it never keeps an inbound copy, which would hold the chain key
/// its outbound state already deleted.
#[test]
fn a_device_never_takes_its_own_distribution() {
    let (g, mut r) = group(45);
    let (_s, env) = g.start(RotationPolicy::DEFAULT, &mut r);
    let me = g.sender();
    let opened = open(&me.keyring, &env, &g.directory, NOW).unwrap();
    assert_eq!(
        InboundSession::from_opened(&me.keyring, &opened).unwrap_err(),
        SessionError::OwnSession
    );
    let mut store = InboundSessions::new(&me.certificate);
    assert_eq!(
        store.receive(&me.keyring, &opened, NOW).unwrap_err(),
        SessionError::OwnSession
    );
    // Its other device takes it.
    receive(&g.alice.devices[1], &env, &g.directory);
}

/// M6: the relay delivers the re-distribution that adds a device (index 3)
/// before the original distribution (index 0) to a device that was a
/// recipient from the start. The store keeps the session it has and
/// extends it down to index 0, so messages 0–2 are not lost; the same
/// distribution delivered again adds nothing, and an accepted index stays
/// a duplicate.
#[test]
fn a_redistribution_delivered_first_never_loses_earlier_indices() {
    let (mut g, mut r) = group(47);
    let (mut s, env0) = g.start(RotationPolicy::DEFAULT, &mut r);
    let early: Vec<Vec<u8>> = (0..3u8)
        .map(|i| send(&mut s, g.sender(), &g.lists(), &[i], &mut r))
        .collect();

    let new_device = DeviceSecret::generate(&mut r);
    let cert = g
        .bob
        .secret
        .certify_device(&common::params(4, new_device.public_keys()))
        .unwrap();
    let mut certs = g.bob.list.certificates().to_vec();
    certs.push(cert);
    let v2 = g
        .bob
        .secret
        .issue_device_list(Some(&g.directory[1]), NOW + 1, certs)
        .unwrap();
    g.directory[1] = g.directory[1].update(&[], &v2).unwrap();
    let d = &g.alice.devices[0];
    let env3 = s
        .distribute(
            &d.secret,
            &d.certificate,
            &g.lists(),
            &[],
            Padding::Padme,
            NOW,
            &mut r,
        )
        .unwrap()
        .to_bytes();

    let bob = &g.bob.devices[0];
    let mut store = InboundSessions::new(&bob.certificate);
    let o3 = open(&bob.keyring, &env3, &g.directory, NOW).unwrap();
    store.receive(&bob.keyring, &o3, NOW).unwrap();
    assert_eq!(store.get(&s.session_id()).unwrap().first_index(), 3);
    let o0 = open(&bob.keyring, &env0, &g.directory, NOW).unwrap();
    assert_eq!(
        store.receive(&bob.keyring, &o0, NOW).unwrap(),
        DistributionReceived::Held(s.session_id())
    );
    let held = store.get(&s.session_id()).unwrap();
    assert_eq!((held.first_index(), held.skipped_count()), (0, 3));
    for (i, m) in early.iter().enumerate() {
        assert_eq!(
            store.decrypt(m, &g.directory, NOW).unwrap().payload(),
            &[i as u8]
        );
    }
    // Again: nothing is added back, the accepted indices stay duplicates.
    store.receive(&bob.keyring, &o0, NOW).unwrap();
    assert_eq!(store.get(&s.session_id()).unwrap().skipped_count(), 0);
    assert_eq!(
        store.decrypt(&early[0], &g.directory, NOW).unwrap_err(),
        SessionError::DuplicateIndex { index: 0 }
    );
    // The extension survives an export.
    let copy = InboundSessions::import(&store.export(), &bob.certificate).unwrap();
    assert_eq!(copy.get(&s.session_id()).unwrap().first_index(), 0);
}

/// M4: the sender renews its certificate (same keys, a later expiry) and
/// its account publishes the new list. Its sessions go on: a renewal is no
/// change for the sender (§15.6), so receivers compare the listed device's
/// keys, not the certificate's bytes, and apply the listed expiry.
#[test]
fn a_certificate_renewal_with_the_same_keys_keeps_sessions_working() {
    let (mut g, mut r) = group(49);
    let (mut s, env) = g.start(RotationPolicy::DEFAULT, &mut r);
    let mut ib = receive(&g.bob.devices[0], &env, &g.directory);
    let d = &g.alice.devices[0];
    let renewed = g
        .alice
        .secret
        .certify_device(&CertificateParams {
            device_id: d.certificate.device_id(),
            keys: d.secret.public_keys(),
            created_at: NOW,
            expires_at: Some(NOW + 5_000_000),
            capabilities: d.certificate.params().capabilities,
        })
        .unwrap();
    assert_ne!(renewed, d.certificate);
    let mut certs = g.alice.list.certificates().to_vec();
    certs[0] = renewed;
    let v2 = g
        .alice
        .secret
        .issue_device_list(Some(&g.directory[0]), NOW + 1, certs)
        .unwrap();
    g.directory[0] = g.directory[0].update(&[], &v2).unwrap();
    assert_eq!(s.update_membership(&g.lists(), NOW), Membership::Unchanged);
    let m = send(
        &mut s,
        &g.alice.devices[0],
        &g.lists(),
        b"still here",
        &mut r,
    );
    assert_eq!(
        ib.decrypt(&m, &g.directory, NOW).unwrap().payload(),
        b"still here"
    );
    // After the old certificate's expiry, the renewed one still counts.
    // (Bob's certificates expire then too, so the sender's own `encrypt`
    // would refuse: the receiving side is the point here.)
    let m = hazmat::encrypt_signed_by(
        &mut s,
        &g.alice.devices[0].secret,
        &msg(b"later"),
        NOW + 2_000_000,
        &mut r,
    )
    .unwrap()
    .to_bytes();
    assert_eq!(
        ib.decrypt(&m, &g.directory, NOW + 2_000_000)
            .unwrap()
            .payload(),
        b"later"
    );
}

/// M1: the session id commits to the sending device (account, device id,
/// Ed25519 key) and the conversation. A member who copies another sender's
/// seed into its own distribution gets another id, so it can neither
/// front-run the honest sender's distribution (the receiver would have to
/// refuse one of the two) nor have its messages routed to the honest
/// session; the store holds both, each under its own id.
#[test]
fn two_senders_cannot_share_a_session_id() {
    let (g, mut r) = group(51);
    let (mut s, env) = g.start(RotationPolicy::DEFAULT, &mut r);
    let mallory = &g.bob.devices[1];
    // Mallory (a member: Bob's second device) copies Alice's state, seed
    // included, into an outbound state of its own key.
    let mut bytes = s.export().to_vec();
    bytes[20..52].copy_from_slice(&mallory.secret.public_keys().ed25519);
    recheck(&mut bytes);
    let mut copy = hazmat::import_live(&bytes, &mallory.secret.public_keys()).unwrap();
    let forged_env = copy
        .distribute(
            &mallory.secret,
            &mallory.certificate,
            &g.lists(),
            &[],
            Padding::Padme,
            NOW,
            &mut r,
        )
        .unwrap()
        .to_bytes();

    let victim = &g.bob.devices[0];
    let mut store = InboundSessions::new(&victim.certificate);
    // Mallory's distribution arrives first.
    let o = open(&victim.keyring, &forged_env, &g.directory, NOW).unwrap();
    let DistributionReceived::New(mallory_id) = store.receive(&victim.keyring, &o, NOW).unwrap()
    else {
        panic!("new session expected")
    };
    assert_ne!(mallory_id, s.session_id());
    let o = open(&victim.keyring, &env, &g.directory, NOW).unwrap();
    assert_eq!(
        store.receive(&victim.keyring, &o, NOW).unwrap(),
        DistributionReceived::New(s.session_id())
    );
    assert_eq!(store.len(), 2);
    let m = send(&mut s, g.sender(), &g.lists(), b"from alice", &mut r);
    let got = store.decrypt(&m, &g.directory, NOW).unwrap();
    assert_eq!(got.payload(), b"from alice");
    assert_eq!(got.sender_certificate(), &g.sender().certificate);
    // Mallory's messages (under the copied id) reach Alice's session and
    // fail there.
    send(
        &mut copy,
        mallory,
        &g.lists(),
        b"index 0, already taken",
        &mut r,
    );
    let forged = send(&mut copy, mallory, &g.lists(), b"from mallory", &mut r);
    assert_eq!(
        store.decrypt(&forged, &g.directory, NOW).unwrap_err(),
        SessionError::Unauthenticated
    );
}

/// M5: a session's chain key is as confidential as its weakest
/// distribution envelope. A session that went out hybrid is never
/// re-distributed classical (adding a device without the hybrid capability
/// needs a new session), receivers remember the weakest suite they saw and
/// every decrypted message says it.
#[test]
fn a_session_that_went_out_hybrid_is_never_redistributed_classical() {
    const BOTH: u32 = CAPABILITY_PREKEYS | CAPABILITY_HYBRID;
    let mut r = rng(53);
    let mk = |r: &mut ChaCha20Rng, account: &AccountSecret, id: u8, caps: u32| {
        let secret = DeviceSecret::generate(r);
        let cert = account
            .certify_device(&CertificateParams {
                device_id: DeviceId::from_bytes([id; 16]),
                keys: secret.public_keys(),
                created_at: NOW - 1000,
                expires_at: None,
                capabilities: caps,
            })
            .unwrap();
        DeviceKeyring::new(secret, cert).unwrap()
    };
    let alice = AccountSecret::generate(&mut r);
    let bob = AccountSecret::generate(&mut r);
    let mut a1 = mk(&mut r, &alice, 1, BOTH);
    let mut b1 = mk(&mut r, &bob, 1, BOTH);
    let mut b2 = mk(&mut r, &bob, 2, CAPABILITY_PREKEYS);
    let list = |acc: &AccountSecret, ks: &[&DeviceKeyring]| {
        acc.issue_device_list(
            None,
            NOW - 1000,
            ks.iter().map(|k| k.certificate().clone()).collect(),
        )
        .unwrap()
        .verify(&acc.public_key())
        .unwrap()
    };
    let alice_list = list(&alice, &[&a1]);
    let bob_one = list(&bob, &[&b1]);
    let bob_two = list(&bob, &[&b1, &b2]);
    let mut prekeys = Vec::new();
    for (k, l) in [
        (&mut a1, &alice_list),
        (&mut b1, &bob_two),
        (&mut b2, &bob_two),
    ] {
        let mut made = vec![k.rotate_prekey(NOW, &mut r).unwrap()];
        if k.certificate().supports_hybrid() {
            made.push(k.rotate_hybrid_prekey(NOW, &mut r).unwrap());
        }
        for p in made {
            let fetched = SignedPrekey::from_bytes(&p.to_bytes()).unwrap();
            prekeys.push(l.verify_prekey(&fetched, NOW).unwrap());
        }
    }
    let pk: Vec<&VerifiedPrekey> = prekeys.iter().collect();

    let mut s =
        OutboundSession::new(a1.certificate(), CHAT, RotationPolicy::DEFAULT, NOW, &mut r).unwrap();
    let env = s
        .distribute(
            a1.secret(),
            a1.certificate(),
            &[&bob_one, &alice_list],
            &pk,
            Padding::Padme,
            NOW,
            &mut r,
        )
        .unwrap();
    assert_eq!(env.header().suite(), Suite::Hybrid);
    assert_eq!(s.suite(), Some(Suite::Hybrid));
    let dir1 = [alice_list.clone(), bob_one.clone()];
    let opened = open(&b1, &env.to_bytes(), &dir1, NOW).unwrap();
    let mut ib = InboundSession::from_opened(&b1, &opened).unwrap();
    assert_eq!(ib.suite(), Suite::Hybrid);
    let m = s
        .encrypt(
            a1.secret(),
            &[&bob_one, &alice_list],
            &msg(b"pq"),
            NOW,
            &mut r,
        )
        .unwrap()
        .to_bytes();
    assert_eq!(ib.decrypt(&m, &dir1, NOW).unwrap().suite(), Suite::Hybrid);

    // Bob adds a classical-only device: the session may not go out to it.
    assert!(matches!(
        s.update_membership(&[&bob_two, &alice_list], NOW),
        Membership::Added(_)
    ));
    let refused = s
        .distribute(
            a1.secret(),
            a1.certificate(),
            &[&bob_two, &alice_list],
            &pk,
            Padding::Padme,
            NOW,
            &mut r,
        )
        .unwrap_err();
    assert!(
        matches!(
            refused,
            SessionError::Seal(SealError::HybridUnavailable { .. })
        ),
        "{refused:?}"
    );
    // The state survives an export with its suite.
    let copy = hazmat::import_live(&s.export(), &a1.secret().public_keys()).unwrap();
    assert_eq!(copy.suite(), Some(Suite::Hybrid));

    // A sender that re-distributes classical anyway (edited state): the
    // receiver keeps the weakest suite and says so.
    let mut bytes = s.export().to_vec();
    bytes[2..4].copy_from_slice(&1u16.to_be_bytes());
    recheck(&mut bytes);
    let mut downgraded = hazmat::import_live(&bytes, &a1.secret().public_keys()).unwrap();
    let env2 = downgraded
        .distribute(
            a1.secret(),
            a1.certificate(),
            &[&bob_two, &alice_list],
            &pk,
            Padding::Padme,
            NOW,
            &mut r,
        )
        .unwrap();
    assert_eq!(env2.header().suite(), Suite::Classical);
    let dir2 = [alice_list.clone(), bob_two.clone()];
    let opened2 = open(&b1, &env2.to_bytes(), &dir2, NOW).unwrap();
    let mut store = InboundSessions::new(b1.certificate());
    store.receive(&b1, &opened, NOW).unwrap();
    store.receive(&b1, &opened2, NOW).unwrap();
    assert_eq!(
        store.get(&s.session_id()).unwrap().suite(),
        Suite::Classical
    );
    let m2 = downgraded
        .encrypt(
            a1.secret(),
            &[&bob_two, &alice_list],
            &msg(b"weaker"),
            NOW,
            &mut r,
        )
        .unwrap()
        .to_bytes();
    assert_eq!(
        store.decrypt(&m2, &dir2, NOW).unwrap().suite(),
        Suite::Classical
    );
}

/// M8: the sender's rotation policy travels in the distribution and the
/// receiver holds the session to it. A sender whose code ignores its own
/// policy (here: an edited state) is read for `max_messages` messages and
/// `max_age_ms` (+ skew) after the session's creation, no longer: healing
/// (P13) no longer depends on the sender's code.
#[test]
fn receivers_hold_a_session_to_the_policy_it_was_distributed_with() {
    let (g, mut r) = group(55);
    let policy = RotationPolicy {
        max_messages: 3,
        max_age_ms: 60_000,
    };
    let (s, env) = g.start(policy, &mut r);
    let mut ib = receive(&g.bob.devices[0], &env, &g.directory);
    let mut late_ib = receive(&g.bob.devices[1], &env, &g.directory);
    assert_eq!(
        ib.next_index(),
        0,
        "the distribution went out at index 0 with the policy"
    );
    // The sender's code ignores the policy: its state says 1000 messages
    // and 30 days.
    let mut bytes = s.export().to_vec();
    bytes[96..100].copy_from_slice(&1000u32.to_be_bytes());
    bytes[100..108].copy_from_slice(&session_limit::MAX_AGE_MS.to_be_bytes());
    recheck(&mut bytes);
    let d = g.sender();
    let mut rogue = hazmat::import_live(&bytes, &d.secret.public_keys()).unwrap();
    let mut late = hazmat::import_live(&bytes, &d.secret.public_keys()).unwrap();
    for i in 0..3u8 {
        let m = send(&mut rogue, d, &g.lists(), &[i], &mut r);
        assert_eq!(ib.decrypt(&m, &g.directory, NOW).unwrap().payload(), &[i]);
    }
    let m3 = send(&mut rogue, d, &g.lists(), b"past max_messages", &mut r);
    assert_eq!(
        ib.decrypt(&m3, &g.directory, NOW).unwrap_err(),
        SessionError::SessionExpired
    );
    let when = NOW + 60_000 + session_limit::MAX_CLOCK_SKEW_MS + 1;
    // (Every certificate has expired by then, so `encrypt` itself would
    // refuse; the rogue code signs directly.)
    let old = hazmat::encrypt_signed_by(&mut late, &d.secret, &msg(b"past max_age"), when, &mut r)
        .unwrap()
        .to_bytes();
    assert_eq!(
        late_ib.decrypt(&old, &g.directory, NOW).unwrap_err(),
        SessionError::SessionExpired
    );
    // A distribution whose policy is out of bounds does not decode.
    let opened = open(&g.bob.devices[2].keyring, &env, &g.directory, NOW).unwrap();
    let mut payload = opened.payload().to_vec();
    payload[64..68].copy_from_slice(&0u32.to_be_bytes());
    let bad = seal(
        &d.secret,
        &d.certificate,
        &g.lists(),
        &[],
        &Message {
            payload: &payload,
            aad: CHAT,
            ..Message::default()
        },
        NOW,
        &mut r,
    )
    .unwrap();
    let o = open(
        &g.bob.devices[2].keyring,
        &bad.to_bytes(),
        &g.directory,
        NOW,
    )
    .unwrap();
    assert_eq!(
        InboundSession::from_opened(&g.bob.devices[2].keyring, &o).unwrap_err(),
        SessionError::Decode(DecodeError::Inconsistent("rotation policy"))
    );
}

#[derive(Debug, Clone)]
enum StoreOp {
    /// A new session of Alice's first device, created `at` ms after NOW.
    New(u8),
    /// The relay re-delivers the distribution made `n` steps ago.
    Replay(u8),
    /// The app drops the session made `n` steps ago.
    Drop(u8),
    /// Restart: export and import.
    Restart,
}

fn store_op() -> impl Strategy<Value = StoreOp> {
    prop_oneof![
        any::<u8>().prop_map(StoreOp::New),
        any::<u8>().prop_map(StoreOp::Replay),
        any::<u8>().prop_map(StoreOp::Drop),
        Just(StoreOp::Restart),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any sequence of distributions, re-deliveries, drops and restarts:
    /// the store never holds more than two sessions of the sender device,
    /// never takes back a session it dropped (or evicted), and its export
    /// loads to the same bytes.
    #[test]
    fn the_store_never_takes_back_a_dropped_session(
        ops in proptest::collection::vec(store_op(), 1..12),
    ) {
        let (g, mut r) = group(57);
        let bob = &g.bob.devices[0];
        let d = g.sender();
        let mut store = InboundSessions::new(&bob.certificate);
        let mut made: Vec<(SessionId, Vec<u8>)> = Vec::new();
        let mut gone: Vec<SessionId> = Vec::new();
        for op in ops {
            match op {
                StoreOp::New(at) => {
                    let mut s = OutboundSession::new(
                        &d.certificate, CHAT, RotationPolicy::DEFAULT, NOW + u64::from(at), &mut r,
                    ).unwrap();
                    let e = s
                        .distribute(&d.secret, &d.certificate, &[&g.directory[1]], &[],
                            Padding::None, NOW, &mut r)
                        .unwrap()
                        .to_bytes();
                    made.push((s.session_id(), e));
                    let o = open(&bob.keyring, &made.last().unwrap().1, &g.directory, NOW).unwrap();
                    let before: Vec<SessionId> =
                        made.iter().map(|m| m.0).filter(|id| store.get(id).is_some()).collect();
                    match store.receive(&bob.keyring, &o, NOW) {
                        Ok(_) => {
                            for id in before {
                                if store.get(&id).is_none() {
                                    gone.push(id);
                                }
                            }
                        }
                        Err(e) => prop_assert_eq!(e, SessionError::StaleDistribution),
                    }
                }
                StoreOp::Replay(n) if !made.is_empty() => {
                    let (id, e) = &made[usize::from(n) % made.len()];
                    let o = open(&bob.keyring, e, &g.directory, NOW).unwrap();
                    let got = store.receive(&bob.keyring, &o, NOW);
                    if gone.contains(id) {
                        prop_assert_eq!(got.unwrap_err(), SessionError::StaleDistribution);
                    } else if store.get(id).is_some() {
                        prop_assert_eq!(got.unwrap(), DistributionReceived::Held(*id));
                    }
                }
                StoreOp::Drop(n) if !made.is_empty() => {
                    let id = made[usize::from(n) % made.len()].0;
                    if store.drop_session(&id) {
                        gone.push(id);
                    }
                }
                StoreOp::Restart => {
                    let bytes = store.export();
                    store = InboundSessions::import(&bytes, &bob.certificate).unwrap();
                    prop_assert_eq!(&*store.export(), &*bytes);
                }
                _ => {}
            }
            prop_assert!(store.len() <= session_limit::MAX_SESSIONS_PER_SENDER_DEVICE);
            for id in &gone {
                prop_assert!(store.get(id).is_none());
            }
        }
    }
}

/// M3: `encrypt` sees the lists. The sender never calls
/// `update_membership` after Bob removes a device (list updates arrive
/// asynchronously and a caller can forget): the next `encrypt` compares the
/// lists it is given with those of the distribution (one hash per
/// account), finds the removal and refuses at once; an addition asks for a
/// distribution first.
#[test]
fn encrypt_sees_a_membership_change_without_update_membership() {
    let (mut g, mut r) = group(59);
    let (mut s, env) = g.start(RotationPolicy::DEFAULT, &mut r);
    let mut old = receive(&g.bob.devices[2], &env, &g.directory);
    let first = send(&mut s, &g.alice.devices[0], &g.lists(), b"before", &mut r);
    old.decrypt(&first, &g.directory, NOW).unwrap();

    // Addition: distribute first.
    let new_device = DeviceSecret::generate(&mut r);
    let cert = g
        .bob
        .secret
        .certify_device(&common::params(4, new_device.public_keys()))
        .unwrap();
    let mut certs = g.bob.list.certificates().to_vec();
    certs.push(cert.clone());
    let v2 = g
        .bob
        .secret
        .issue_device_list(Some(&g.directory[1]), NOW + 1, certs.clone())
        .unwrap();
    g.directory[1] = g.directory[1].update(&[], &v2).unwrap();
    let d = &g.alice.devices[0];
    assert_eq!(
        s.encrypt(&d.secret, &g.lists(), &msg(b"x"), NOW, &mut r)
            .unwrap_err(),
        SessionError::MembershipChanged {
            added: vec![cert.key_id()]
        }
    );
    s.distribute(
        &d.secret,
        &d.certificate,
        &g.lists(),
        &[],
        Padding::Padme,
        NOW,
        &mut r,
    )
    .unwrap();
    send(&mut s, d, &g.lists(), b"to five devices", &mut r);

    // Removal: refused at once, no update_membership call needed.
    certs.remove(2);
    let v3 = g
        .bob
        .secret
        .issue_device_list(Some(&g.directory[1]), NOW + 2, certs)
        .unwrap();
    g.directory[1] = g.directory[1].update(&[], &v3).unwrap();
    let d = &g.alice.devices[0];
    assert_eq!(
        s.encrypt(&d.secret, &g.lists(), &msg(b"secret"), NOW, &mut r)
            .unwrap_err(),
        SessionError::RotationRequired
    );
    assert!(s.needs_rotation(NOW));
    // A list that changed without a membership change (a renewal) passes.
    let (mut s2, _) = g.start(RotationPolicy::DEFAULT, &mut r);
    let renewed = g
        .bob
        .secret
        .issue_device_list(
            Some(&g.directory[1]),
            NOW + 3,
            g.directory[1].list().certificates().to_vec(),
        )
        .unwrap();
    g.directory[1] = g.directory[1].update(&[], &renewed).unwrap();
    send(
        &mut s2,
        &g.alice.devices[0],
        &g.lists(),
        b"same devices",
        &mut r,
    );
}
