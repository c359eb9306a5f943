//! Client lifecycle situations from issue 13 that the envelope layer itself
//! must get right: each test failed on the code before its fix.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use fanseal::*;

fn list_with(
    account: &AccountSecret,
    prev: Option<&VerifiedDeviceList>,
    certs: Vec<DeviceCertificate>,
) -> VerifiedDeviceList {
    account
        .issue_device_list(prev, NOW, certs)
        .unwrap()
        .verify(&account.public_key())
        .unwrap()
}

/// Situation 1: Bob trusts Alice's list v1; Alice adds a laptop (v2); the
/// laptop's genuine message used to be `Unauthenticated`, like a forgery.
/// Now it names the account whose list to refresh, and a forgery built from
/// public bytes still gets the opaque error.
#[test]
fn a_device_newer_than_the_trusted_list_names_the_account_to_refresh() {
    let mut r = rng(140);
    let w = world(40);
    let alice = &w.alice;
    let v1 = alice.verified();
    let laptop = DeviceSecret::generate(&mut r);
    let laptop_cert = alice
        .secret
        .certify_device(&params(9, laptop.public_keys()))
        .unwrap();
    let mut certs: Vec<DeviceCertificate> = alice
        .devices
        .iter()
        .map(|d| d.certificate.clone())
        .collect();
    certs.push(laptop_cert.clone());
    let v2 = list_with(&alice.secret, Some(&v1), certs);
    let bob_list = w.bob.verified();
    let msg = Message {
        payload: b"from the new laptop",
        ..Message::default()
    };
    let bytes = seal(
        &laptop,
        &laptop_cert,
        &[&bob_list, &v2],
        &[],
        &msg,
        NOW,
        &mut r,
    )
    .unwrap()
    .to_bytes();
    let bob0 = &w.bob.devices[0].keyring;
    // Bob still trusts v1: the precise signal names Alice's account.
    let stale = [v1.clone(), bob_list.clone()];
    assert_eq!(
        open(bob0, &bytes, &stale, NOW).unwrap_err(),
        OpenError::SenderNotOnTrustedList(alice.public())
    );
    // After refreshing that one list, the message opens.
    let fresh = [v2, bob_list.clone()];
    assert_eq!(
        open(bob0, &bytes, &fresh, NOW).unwrap().payload(),
        b"from the new laptop"
    );

    // A forgery: a certificate for a made-up device of Alice's account that
    // Alice never signed, with a valid envelope signature by the forger.
    let forger = DeviceSecret::generate(&mut r);
    let mut fake = laptop_cert.to_bytes();
    fake[52..84].copy_from_slice(&forger.public_keys().x25519);
    fake[84..116].copy_from_slice(&forger.public_keys().ed25519);
    let fake = DeviceCertificate::from_bytes(&fake).unwrap();
    let forged = seal(&forger, &fake, &[&bob_list], &[], &msg, NOW, &mut r)
        .unwrap()
        .to_bytes();
    assert_eq!(
        open(bob0, &forged, &stale, NOW).unwrap_err(),
        OpenError::Unauthenticated
    );
}

/// Situation 4: sealing to Bob and Carol when every certificate of Bob has
/// expired used to return `Ok` with only Carol wrapped. Now it names Bob.
#[test]
fn a_recipient_account_with_no_valid_device_is_an_error_not_a_silent_drop() {
    let mut r = rng(141);
    let w = world(41);
    let bob = AccountSecret::generate(&mut r);
    let dev = DeviceSecret::generate(&mut r);
    let cert = bob
        .certify_device(&CertificateParams {
            expires_at: Some(NOW - 1),
            ..params(1, dev.public_keys())
        })
        .unwrap();
    let bob_list = list_with(&bob, None, vec![cert]);
    let carol_list = w.bob.verified();
    let alice_list = w.alice.verified();
    let sender = &w.alice.devices[0];
    let err = seal(
        &sender.secret,
        &sender.certificate,
        &[&bob_list, &carol_list, &alice_list],
        &[],
        &Message::default(),
        NOW,
        &mut r,
    )
    .unwrap_err();
    assert_eq!(err, SealError::NoActiveDevice(bob.public_key()));
}

/// Situation 6: the relay's split borrows the envelope: every delivery's
/// parts concatenate to exactly the copied delivery, the parts point into
/// the received bytes (the body is not copied), and a delivery or garbage
/// is refused like `Envelope::from_bytes` refuses it.
#[test]
fn the_relay_split_borrows_the_body_and_equals_the_copying_split() {
    let w = world(42);
    let payload = vec![7u8; 100_000];
    let envelope = w.seal(&payload, b"aad", &mut rng(142));
    let wire = envelope.to_bytes();
    let split = RelaySplit::new(&wire).unwrap();
    assert_eq!(split.recipients(), envelope.header().recipients());
    let range = wire.as_ptr_range();
    let mut count = 0;
    for (key_id, parts) in split.deliveries() {
        let copied = envelope.delivery_for(&key_id).unwrap().to_bytes();
        assert_eq!(parts.to_vec(), copied);
        assert_eq!(parts.len(), copied.len());
        let [_, header, wrap, body] = parts.as_slices();
        for part in [header, wrap, body] {
            assert!(range.contains(&part.as_ptr()), "a part was copied");
        }
        assert_eq!(body.len(), envelope.header().body_len());
        count += 1;
    }
    assert_eq!(count, envelope.header().recipients().len());
    assert!(split.delivery(&KeyId::from_bytes([0xee; 16])).is_none());
    let delivery = envelope.deliveries().next().unwrap().1.to_bytes();
    assert_eq!(
        RelaySplit::new(&delivery).unwrap_err(),
        DecodeError::WrongObjectType {
            expected: 0x03,
            found: 0x04
        }
    );
    for cut in [0, 1, 2, 50, wire.len() - 1] {
        assert_eq!(
            RelaySplit::new(&wire[..cut]).unwrap_err(),
            Envelope::from_bytes(&wire[..cut]).unwrap_err()
        );
    }
}

/// Situation 6 (directory): the chain after the trusted version, as one
/// response, updates in one call; an empty response is a broken chain, not
/// a silent success.
#[test]
fn a_chain_served_in_one_response_updates_in_one_call() {
    let mut r = rng(143);
    let alice = AccountSecret::generate(&mut r);
    let cert = |r: &mut rand_chacha::ChaCha20Rng, id: u8| {
        let d = DeviceSecret::generate(r);
        alice.certify_device(&params(id, d.public_keys())).unwrap()
    };
    let (a, b, c) = (cert(&mut r, 1), cert(&mut r, 2), cert(&mut r, 3));
    let v1 = list_with(&alice, None, vec![a.clone()]);
    let v2 = alice
        .issue_device_list(Some(&v1), NOW, vec![a.clone(), b.clone()])
        .unwrap();
    let v2t = v2.verify(&alice.public_key()).unwrap();
    let v3 = alice
        .issue_device_list(Some(&v2t), NOW, vec![a, b, c])
        .unwrap();
    let newest = v1.update_chain(&[v2.clone(), v3.clone()]).unwrap();
    assert_eq!(newest.version(), 3);
    assert_eq!(newest, v1.update(&[v2], &v3).unwrap());
    assert_eq!(
        v1.update_chain(&[]).unwrap_err(),
        DeviceListError::BrokenChain { at_version: 1 }
    );
    // A response missing v2 does not link.
    assert!(matches!(
        v1.update_chain(&[v3]),
        Err(DeviceListError::BrokenChain { .. })
    ));
}

/// Situation 7: an app that keeps Alice's old list beside the one `update`
/// returned (old first) used to authenticate a device the new list removed:
/// the lookup took the first list of the account. The highest version now
/// decides, whatever the order; two lists of one version that differ are
/// no list at all.
#[test]
fn a_superseded_list_kept_beside_the_new_one_never_decides() {
    let mut r = rng(144);
    let w = world(44);
    let alice = &w.alice;
    let v1 = alice.verified();
    let kept = alice.devices[0].certificate.clone();
    let removed = &alice.devices[1];
    let v2 = alice
        .secret
        .issue_device_list(Some(&v1), NOW, vec![kept])
        .unwrap()
        .verify(&alice.public())
        .unwrap();
    let bob_list = w.bob.verified();
    let bytes = seal(
        &removed.secret,
        &removed.certificate,
        &[&bob_list],
        &[],
        &Message::default(),
        NOW,
        &mut r,
    )
    .unwrap()
    .to_bytes();
    let bob0 = &w.bob.devices[0].keyring;
    for directory in [
        vec![v1.clone(), v2.clone(), bob_list.clone()],
        vec![v2.clone(), v1.clone(), bob_list.clone()],
    ] {
        assert_eq!(
            open(bob0, &bytes, &directory, NOW).unwrap_err(),
            OpenError::SenderNotOnTrustedList(alice.public())
        );
    }
    // A fork kept side by side (two version-2 lists): neither decides.
    let other = alice
        .secret
        .issue_device_list(Some(&v1), NOW, vec![removed.certificate.clone()])
        .unwrap()
        .verify(&alice.public())
        .unwrap();
    assert_eq!(other.version(), v2.version());
    let directory = vec![v2, other, bob_list];
    assert_eq!(
        open(bob0, &bytes, &directory, NOW).unwrap_err(),
        OpenError::SenderListUnavailable(alice.public())
    );
}
