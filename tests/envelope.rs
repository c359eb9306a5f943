//! The fan-out envelope: open(seal(m)) == m for every recipient, non-recipients
//! fail, the relay split, and tampering with every bit and every truncation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use fanseal::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random payload sizes (0..64 KiB), random recipient sets (1..32 devices
    /// over several accounts) and AAD: every recipient device opens the same
    /// payload, AAD, sender and ids, through the envelope and its own delivery;
    /// a device that is not a recipient fails.
    #[test]
    fn every_recipient_opens_what_was_sealed(
        seed in any::<u8>(),
        devices_per_account in proptest::collection::vec(1usize..9, 1..5),
        payload in proptest::collection::vec(any::<u8>(), 0..65_536),
        aad in proptest::collection::vec(any::<u8>(), 0..64),
        padding in prop_oneof![Just(Padding::Padme), Just(Padding::None), (1u32..512).prop_map(Padding::Bucket)],
    ) {
        let mut r = rng(seed);
        let sender = account(&mut r, 2);
        let others: Vec<Account> = devices_per_account.iter().map(|&n| account(&mut r, n)).collect();
        let mut directory = vec![sender.verified()];
        directory.extend(others.iter().map(Account::verified));
        let lists: Vec<&VerifiedDeviceList> = directory.iter().collect();
        let from = &sender.devices[0];
        let message = Message { payload: &payload, aad: &aad, padding, ..Message::default() };
        let envelope = seal(&from.secret, &from.certificate, &lists, &[], &message, NOW, &mut r).unwrap();
        let bytes = envelope.to_bytes();
        prop_assert_eq!(Envelope::from_bytes(&bytes).unwrap(), envelope.clone());

        let recipients: Vec<&Device> = others.iter().flat_map(|a| a.devices.iter()).chain(sender.devices.iter()).collect();
        prop_assert_eq!(envelope.header().recipients().len(), recipients.len());
        for device in recipients {
            let via_delivery = envelope.delivery_for(&device.keyring.key_id()).unwrap().to_bytes();
            for input in [&bytes, &via_delivery] {
                let opened = open(&device.keyring, input, &directory, NOW).unwrap();
                prop_assert_eq!(opened.payload(), &payload[..]);
                prop_assert_eq!(opened.aad(), &aad[..]);
                prop_assert_eq!(opened.sender_account(), &sender.public());
                prop_assert_eq!(opened.sender_device(), from.certificate.device_id());
                prop_assert_eq!(opened.message_id(), envelope.header().message_id());
                prop_assert_eq!(opened.timestamp(), NOW);
            }
        }
        // The sending device itself and an outsider are not recipients.
        // Sealed sender: the sending device is wrapped for too, so the header
        // names every listed device and the relay cannot single out the sender.
        let listed: std::collections::BTreeSet<KeyId> = directory.iter().flat_map(|l| l.devices().iter().map(|d| d.key_id())).collect();
        let named: std::collections::BTreeSet<KeyId> = envelope.header().recipients().iter().copied().collect();
        prop_assert_eq!(named, listed);
        let own = open(&from.keyring, &bytes, &directory, NOW).unwrap();
        prop_assert_eq!(own.payload(), &payload[..]);
        let outsider = common::account(&mut r, 1);
        let outsider = &outsider.devices[0].keyring;
        prop_assert_eq!(open(outsider, &bytes, &directory, NOW).unwrap_err(), OpenError::NotARecipient);
    }

    #[test]
    fn random_bytes_never_panic_and_never_open(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
        let w = world(1);
        prop_assert!(open(&w.bob.devices[0].keyring, &bytes, &w.directory, NOW).is_err());
        let _ = Envelope::from_bytes(&bytes);
        let _ = Delivery::from_bytes(&bytes);
    }
}

#[test]
fn deliveries_round_trip_and_are_smaller_than_the_envelope() {
    let w = world(2);
    let envelope = w.seal(b"payload", b"aad", &mut rng(3));
    let full = envelope.to_bytes();
    let mut seen = 0;
    for (key_id, delivery) in envelope.deliveries() {
        let bytes = delivery.to_bytes();
        assert_eq!(Delivery::from_bytes(&bytes).unwrap(), delivery);
        assert_eq!(
            bytes.len(),
            full.len() - 48 * (envelope.header().recipients().len() - 1)
        );
        assert!(matches!(
            Envelope::from_bytes(&bytes),
            Err(DecodeError::WrongObjectType { .. })
        ));
        let device = w
            .recipients()
            .into_iter()
            .find(|d| d.keyring.key_id() == key_id)
            .unwrap();
        assert_eq!(
            open(&device.keyring, &bytes, &w.directory, NOW)
                .unwrap()
                .payload(),
            b"payload"
        );
        // Another device's delivery does not open for this one.
        for other in w
            .recipients()
            .into_iter()
            .filter(|d| d.keyring.key_id() != key_id)
        {
            assert_eq!(
                open(&other.keyring, &bytes, &w.directory, NOW).unwrap_err(),
                OpenError::Unauthenticated
            );
        }
        seen += 1;
    }
    assert_eq!(seen, 5);
}

/// Every single-bit flip and every truncation of a small envelope and of a
/// delivery is rejected; once the public structure still parses and still
/// names the device, the error is always the opaque `Unauthenticated`.
fn assert_tamper_proof(bytes: &[u8], device: &DeviceKeyring, directory: &[VerifiedDeviceList]) {
    assert!(open(device, bytes, directory, NOW).is_ok());
    let still_names_device = |m: &[u8]| {
        Envelope::from_bytes(m)
            .map(|e| e.header().recipients().contains(&device.key_id()))
            .or_else(|_| {
                Delivery::from_bytes(m).map(|d| d.header().recipients().contains(&device.key_id()))
            })
            .unwrap_or(false)
    };
    let mut opaque = 0;
    for bit in 0..bytes.len() * 8 {
        let mut m = bytes.to_vec();
        m[bit / 8] ^= 1 << (bit % 8);
        let err = open(device, &m, directory, NOW).expect_err("a flipped bit opened");
        if still_names_device(&m) {
            assert_eq!(err, OpenError::Unauthenticated, "bit {bit}");
            opaque += 1;
        } else {
            assert!(
                matches!(err, OpenError::Decode(_) | OpenError::NotARecipient),
                "bit {bit}: {err:?}"
            );
        }
    }
    // Most of the bytes are authenticated content, not structure.
    assert!(
        opaque > bytes.len() * 8 * 3 / 4,
        "only {opaque} flips reached authentication"
    );
    for len in 0..bytes.len() {
        assert!(
            open(device, &bytes[..len], directory, NOW).is_err(),
            "truncation to {len} opened"
        );
    }
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert!(matches!(
        open(device, &longer, directory, NOW),
        Err(OpenError::Decode(DecodeError::TrailingBytes { .. }))
    ));
}

#[test]
fn tampering_with_any_bit_or_length_of_an_envelope_fails() {
    let w = world(4);
    let sender = &w.alice.devices[0];
    let bob_list = &w.directory[1];
    let message = Message {
        payload: b"hi",
        aad: b"",
        padding: Padding::None,
        ..Message::default()
    };
    // One recipient, so every byte of the envelope belongs to its delivery.
    let solo = account(&mut rng(55), 1);
    let directory = vec![w.directory[0].clone(), solo.verified()];
    let envelope = seal(
        &sender.secret,
        &sender.certificate,
        &[&directory[1]],
        &[],
        &message,
        NOW,
        &mut rng(5),
    )
    .unwrap();
    assert_tamper_proof(&envelope.to_bytes(), &solo.devices[0].keyring, &directory);
    // With several recipients, each wrap is authenticated for its own device
    // only (the relay may split the envelope): flipping a bit of Bob's wrap
    // breaks Bob's device and no other.
    let envelope = seal(
        &sender.secret,
        &sender.certificate,
        &[bob_list],
        &[],
        &message,
        NOW,
        &mut rng(5),
    )
    .unwrap();
    let bytes = envelope.to_bytes();
    let wraps_start = bytes.len() - 48 * 3 - envelope.header().body_len();
    for (i, key_id) in envelope.header().recipients().iter().enumerate() {
        let mut m = bytes.clone();
        m[wraps_start + 48 * i + 5] ^= 1;
        for d in &w.bob.devices {
            let r = open(&d.keyring, &m, &w.directory, NOW);
            if d.keyring.key_id() == *key_id {
                assert_eq!(r.unwrap_err(), OpenError::Unauthenticated);
            } else {
                assert_eq!(r.unwrap().payload(), b"hi");
            }
        }
    }
}

#[test]
fn tampering_with_any_bit_or_length_of_a_delivery_fails() {
    let w = world(6);
    let envelope = w.seal(b"hi", b"x", &mut rng(7));
    let device = &w.bob.devices[2].keyring;
    let delivery = envelope.delivery_for(&device.key_id()).unwrap().to_bytes();
    assert_tamper_proof(&delivery, device, &w.directory);
}

#[test]
fn a_failed_open_returns_no_plaintext_and_seal_is_fresh() {
    let w = world(8);
    let mut r = rng(9);
    let a = w.seal(b"same", b"", &mut r);
    let b = w.seal(b"same", b"", &mut r);
    assert_ne!(a.header().message_id(), b.header().message_id());
    assert_ne!(a.to_bytes(), b.to_bytes());
    // The only way to get plaintext is Ok(Opened); errors carry none.
    let mut bytes = a.to_bytes();
    let n = bytes.len();
    bytes[n - 20] ^= 0x80;
    let err = open(&w.bob.devices[0].keyring, &bytes, &w.directory, NOW).unwrap_err();
    assert_eq!(err, OpenError::Unauthenticated);
    assert!(!format!("{err:?} {err}").contains("same"));
}

#[test]
fn seal_refuses_misuse() {
    let w = world(10);
    let mut r = rng(11);
    let alice0 = &w.alice.devices[0];
    let alice1 = &w.alice.devices[1];
    let bob = &w.directory[1];
    let msg = Message {
        payload: b"x",
        ..Message::default()
    };
    assert_eq!(
        seal(
            &alice0.secret,
            &alice1.certificate,
            &[bob],
            &[],
            &msg,
            NOW,
            &mut r
        )
        .unwrap_err(),
        SealError::CertificateMismatch
    );
    assert_eq!(
        seal(
            &alice0.secret,
            &alice0.certificate,
            &[bob, bob],
            &[],
            &msg,
            NOW,
            &mut r
        )
        .unwrap_err(),
        SealError::DuplicateRecipient
    );
    assert_eq!(
        seal(
            &alice0.secret,
            &alice0.certificate,
            &[],
            &[],
            &msg,
            NOW,
            &mut r
        )
        .unwrap_err(),
        SealError::NoRecipients
    );
    // Only the sender itself on its own list: nobody to send to.
    let solo = account(&mut r, 1);
    let solo_list = solo.verified();
    let d = &solo.devices[0];
    assert_eq!(
        seal(
            &d.secret,
            &d.certificate,
            &[&solo_list],
            &[],
            &msg,
            NOW,
            &mut r
        )
        .unwrap_err(),
        SealError::NoRecipients
    );
    // A sender missing from its own account's list.
    let other = account(&mut r, 2);
    let rogue = DeviceSecret::generate(&mut r);
    let rogue_cert = other
        .secret
        .certify_device(&params(99, rogue.public_keys()))
        .unwrap();
    assert_eq!(
        seal(
            &rogue,
            &rogue_cert,
            &[&other.verified(), bob],
            &[],
            &msg,
            NOW,
            &mut r
        )
        .unwrap_err(),
        SealError::SenderNotOnOwnList
    );
    let big_aad = vec![0u8; limit::MAX_AAD + 1];
    let msg = Message {
        payload: b"x",
        aad: &big_aad,
        padding: Padding::None,
        ..Message::default()
    };
    assert_eq!(
        seal(
            &alice0.secret,
            &alice0.certificate,
            &[bob],
            &[],
            &msg,
            NOW,
            &mut r
        )
        .unwrap_err(),
        SealError::AadTooLarge
    );
}

#[test]
fn expired_recipients_are_skipped_and_expired_senders_rejected() {
    let w = world(12);
    let later = NOW + 2_000_000; // past every fixture certificate's expiry
    let sender = &w.alice.devices[0];
    let msg = Message {
        payload: b"x",
        ..Message::default()
    };
    // Bob's devices expire soon; Alice's certificate is still valid.
    let mut r = rng(13);
    let bob = AccountSecret::generate(&mut r);
    let short = DeviceSecret::generate(&mut r);
    let short_cert = bob
        .certify_device(&CertificateParams {
            expires_at: Some(NOW + 10),
            ..params(1, short.public_keys())
        })
        .unwrap();
    let bob_list = bob
        .issue_device_list(None, NOW, vec![short_cert])
        .unwrap()
        .verify(&bob.public_key())
        .unwrap();
    assert!(seal(
        &sender.secret,
        &sender.certificate,
        &[&bob_list],
        &[],
        &msg,
        NOW,
        &mut r
    )
    .is_ok());
    assert_eq!(
        seal(
            &sender.secret,
            &sender.certificate,
            &[&bob_list],
            &[],
            &msg,
            NOW + 10,
            &mut r
        )
        .unwrap_err(),
        SealError::NoActiveDevice(bob.public_key())
    );
    // An expired sender cannot seal, and its old envelopes no longer open.
    assert_eq!(
        seal(
            &sender.secret,
            &sender.certificate,
            &[&w.directory[1]],
            &[],
            &msg,
            later,
            &mut r
        )
        .unwrap_err(),
        SealError::SenderCertificateExpired
    );
    let envelope = w.seal(b"x", b"", &mut rng(14));
    assert_eq!(
        open(
            &w.bob.devices[0].keyring,
            &envelope.to_bytes(),
            &w.directory,
            later
        )
        .unwrap_err(),
        OpenError::Unauthenticated
    );
}

#[test]
fn padding_hides_the_exact_length() {
    let w = world(15);
    let sender = &w.alice.devices[0];
    let lens: Vec<usize> = [1001usize, 1002, 1004, 1010]
        .iter()
        .map(|&n| {
            let payload = vec![7u8; n];
            let msg = Message {
                payload: &payload,
                aad: b"",
                padding: Padding::Padme,
                ..Message::default()
            };
            seal(
                &sender.secret,
                &sender.certificate,
                &[&w.directory[1]],
                &[],
                &msg,
                NOW,
                &mut rng(16),
            )
            .unwrap()
            .header()
            .body_len()
        })
        .collect();
    assert!(
        lens.windows(2).all(|p| p[0] == p[1]),
        "Padmé should put these in one bucket: {lens:?}"
    );
    let exact = {
        let payload = vec![7u8; 1001];
        let msg = Message {
            payload: &payload,
            aad: b"",
            padding: Padding::None,
            ..Message::default()
        };
        seal(
            &sender.secret,
            &sender.certificate,
            &[&w.directory[1]],
            &[],
            &msg,
            NOW,
            &mut rng(16),
        )
        .unwrap()
        .header()
        .body_len()
    };
    assert!(lens[0] > exact);
    assert_eq!(lens[0], padme(exact - 16) + 16);
}
