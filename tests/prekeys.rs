//! Signed prekeys and the device keyring (SPEC.md §3.7–3.9, §4.9; issue 11;
//! properties P12 and P13): the thief who copies every secret, the directory
//! that withholds or substitutes prekeys, envelopes in flight across
//! rotations and re-keys, and the keyring's persisted form.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::keyed::{certify, keyed_account, KeyedAccount as Account, DAY};
use common::{rng, NOW};
use fanseal::*;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;

/// An account of `devices` devices, each with capabilities `caps`.
fn account(r: &mut ChaCha20Rng, devices: u8, caps: u32) -> Account {
    keyed_account(r, &vec![caps; usize::from(devices)])
}

fn message(payload: &[u8]) -> Message<'_> {
    Message {
        payload,
        aad: b"conversation",
        padding: Padding::Padme,
        ..Message::default()
    }
}

/// Each device of `account` makes a prekey at `now`; the verified prekeys a
/// sender would hold after fetching them from the directory.
fn rotate_all(account: &mut Account, now: u64, r: &mut ChaCha20Rng) -> Vec<VerifiedPrekey> {
    let mut out = Vec::new();
    for k in &mut account.keyrings {
        let p = k.rotate_prekey(now, r).unwrap();
        out.push(account.list.verify_prekey(&p, now).unwrap());
    }
    out
}

/// The thief (P12): it copies every secret of Bob's device at `T` (the
/// keyring export) and can open no envelope sealed before `T − W`, while it
/// opens those sealed inside the window. A backup of the keyring from the
/// first day opens the oldest envelope: the refusals come from deletion,
/// and the test fails if deletion stops working.
#[test]
fn thief_of_every_secret_at_t_cannot_open_envelopes_older_than_the_window() {
    let mut r = rng(1);
    let alice = account(&mut r, 1, 0);
    let mut bob = account(&mut r, 1, CAPABILITY_PREKEYS);
    let window = PrekeyPolicy::DEFAULT.forward_secrecy_window_ms();
    assert_eq!(window, 14 * DAY);
    let sender = &alice.keyrings[0];

    // Bob's device rotates when due and deletes daily; Alice seals to his
    // current prekey every day for 30 days.
    let mut first_day_backup = None;
    let mut sent = Vec::new();
    let mut current: Option<VerifiedPrekey> = None;
    for day in 0..30u64 {
        let now = NOW + day * DAY;
        if bob.keyrings[0].needs_rotation(now) {
            current = Some(rotate_all(&mut bob, now, &mut r).remove(0));
        }
        bob.keyrings[0].delete_expired(now);
        if day == 0 {
            first_day_backup = Some(bob.keyrings[0].export());
        }
        let e = seal(
            sender.secret(),
            sender.certificate(),
            &[&bob.list, &alice.list],
            &[current.as_ref().unwrap()],
            &message(&day.to_be_bytes()),
            now,
            &mut r,
        )
        .unwrap();
        sent.push((now, e.to_bytes()));
    }

    let theft_at = NOW + 29 * DAY;
    bob.keyrings[0].delete_expired(theft_at);
    let stolen = DeviceKeyring::import(&bob.keyrings[0].export()).unwrap();
    let directory = [alice.list.clone()];
    let (mut old_refused, mut recent_opened) = (0, 0);
    for (sealed_at, bytes) in &sent {
        let result = open(&stolen, bytes, &directory, theft_at);
        if *sealed_at < theft_at - window {
            assert_eq!(
                result.unwrap_err(),
                OpenError::NotARecipient,
                "sealed at {sealed_at}"
            );
            old_refused += 1;
        } else if *sealed_at >= theft_at - PrekeyPolicy::DEFAULT.lifetime_ms {
            // Wrapped to prekeys the device still holds: the thief reads them.
            assert!(result.is_ok(), "sealed at {sealed_at}");
            recent_opened += 1;
        }
    }
    assert!(old_refused >= 10, "{old_refused}");
    assert!(recent_opened >= 4, "{recent_opened}");
    // Had the device kept its secrets (or restored the first day's backup),
    // the thief would read the oldest envelope.
    let backup = DeviceKeyring::import(&first_day_backup.unwrap()).unwrap();
    let (_, oldest) = &sent[0];
    assert!(open(&backup, oldest, &directory, theft_at).is_ok());
    assert_eq!(
        open(&stolen, oldest, &directory, theft_at).unwrap_err(),
        OpenError::NotARecipient
    );
}

/// No downgrade (§4.9): a directory that withholds, expires or substitutes a
/// prekey never makes the sender fall back to the certificate key; the
/// error names the device. Fails if the rule is removed (seal would wrap to
/// the certificate key and succeed).
#[test]
fn a_withheld_or_substituted_prekey_never_leads_to_a_silent_fallback() {
    let mut r = rng(2);
    let alice = account(&mut r, 1, 0);
    let mut bob = account(&mut r, 2, CAPABILITY_PREKEYS);
    let sender = &alice.keyrings[0];
    let bob_prekeys = rotate_all(&mut bob, NOW, &mut r);
    let lists = [&bob.list, &alice.list];
    let missing = |device: u8| SealError::MissingPrekey {
        account: bob.secret.public_key(),
        device_id: DeviceId::from_bytes([device; 16]),
    };
    let try_seal = |prekeys: &[&VerifiedPrekey], now: u64, r: &mut ChaCha20Rng| {
        seal(
            sender.secret(),
            sender.certificate(),
            &lists,
            prekeys,
            &message(b"x"),
            now,
            r,
        )
    };

    // Withheld: all of them, or only the second device's.
    assert_eq!(try_seal(&[], NOW, &mut r).unwrap_err(), missing(1));
    assert_eq!(
        try_seal(&[&bob_prekeys[0]], NOW, &mut r).unwrap_err(),
        missing(2)
    );
    // Only expired prekeys: the same refusal, never the long-lived key.
    let later = NOW + PrekeyPolicy::DEFAULT.lifetime_ms;
    let all: Vec<&VerifiedPrekey> = bob_prekeys.iter().collect();
    assert_eq!(try_seal(&all, later, &mut r).unwrap_err(), missing(1));
    // Both given: every wrap goes to a prekey, none to a certificate key.
    let e = try_seal(&all, NOW, &mut r).unwrap();
    for k in &bob.keyrings {
        assert!(!e.header().recipients().contains(&k.key_id()));
    }
    for p in &bob_prekeys {
        assert!(e.header().recipients().contains(&p.key_id()));
    }

    // Substituted by the directory: its own key signed by its own device
    // key, a prekey of Bob's other device, a prekey from another account.
    let mut mallory = account(&mut r, 1, CAPABILITY_PREKEYS);
    let forged = mallory.keyrings[0].rotate_prekey(NOW, &mut r).unwrap();
    assert_eq!(
        bob.list.verify_prekey(&forged, NOW).unwrap_err(),
        PrekeyError::WrongAccount
    );
    let device_1 = bob.list.device(DeviceId::from_bytes([1; 16])).unwrap();
    let of_device_2 = bob_prekeys[1].prekey().clone();
    assert_eq!(
        of_device_2.verify(device_1, NOW).unwrap_err(),
        PrekeyError::WrongDevice
    );
    // A forgery naming Bob's device 1 but signed by Mallory's device key.
    let mut bytes = forged.to_bytes();
    bytes[4..36].copy_from_slice(bob.secret.public_key().as_bytes());
    bytes[36..52].copy_from_slice(&[1; 16]);
    let renamed = SignedPrekey::from_bytes(&bytes).unwrap();
    assert_eq!(
        bob.list.verify_prekey(&renamed, NOW).unwrap_err(),
        PrekeyError::WrongDeviceKey
    );
    // ... and with Bob's device key written in: the signature fails.
    bytes[52..84].copy_from_slice(&device_1.keys().ed25519);
    let resigned = SignedPrekey::from_bytes(&bytes).unwrap();
    assert_eq!(
        bob.list.verify_prekey(&resigned, NOW).unwrap_err(),
        PrekeyError::BadSignature
    );
}

/// Stale prekeys after a re-key: a prekey verified against the device's old
/// certificate is not usable for the new one (§4.9), and verifying it
/// against the new certificate names the reason.
#[test]
fn a_prekey_from_before_a_rekey_is_refused_and_not_used() {
    let mut r = rng(3);
    let alice = account(&mut r, 1, 0);
    let mut bob = account(&mut r, 1, CAPABILITY_PREKEYS);
    let old = rotate_all(&mut bob, NOW, &mut r).remove(0);
    let new_keys = DeviceSecret::generate(&mut r);
    let cert = certify(&bob.secret, 1, new_keys.public_keys(), CAPABILITY_PREKEYS);
    bob.keyrings[0]
        .rekey(new_keys, cert.clone(), NOW + 1)
        .unwrap();
    assert!(bob.keyrings[0].needs_rotation(NOW + 1));
    let list2 = bob
        .secret
        .issue_device_list(Some(&bob.list), NOW + 1, vec![cert])
        .unwrap()
        .verify(&bob.secret.public_key())
        .unwrap();
    assert_eq!(
        list2.verify_prekey(old.prekey(), NOW + 2).unwrap_err(),
        PrekeyError::WrongDeviceKey
    );
    let sender = &alice.keyrings[0];
    let e = seal(
        sender.secret(),
        sender.certificate(),
        &[&list2, &alice.list],
        &[&old],
        &message(b"x"),
        NOW + 2,
        &mut r,
    );
    assert_eq!(
        e.unwrap_err(),
        SealError::MissingPrekey {
            account: bob.secret.public_key(),
            device_id: DeviceId::from_bytes([1; 16])
        }
    );
}

/// In flight across a rotation (§3.8): an envelope sealed to a superseded
/// prekey opens until its expiry plus the grace period, then is refused as
/// `NotARecipient` once the secret is deleted.
#[test]
fn in_flight_envelopes_to_a_superseded_prekey_open_until_the_grace_period_ends() {
    let mut r = rng(4);
    let alice = account(&mut r, 1, 0);
    let mut bob = account(&mut r, 1, CAPABILITY_PREKEYS);
    let first = rotate_all(&mut bob, NOW, &mut r).remove(0);
    let sender = &alice.keyrings[0];
    let sealed_at = NOW + DAY;
    let e = seal(
        sender.secret(),
        sender.certificate(),
        &[&bob.list, &alice.list],
        &[&first],
        &message(b"in flight"),
        sealed_at,
        &mut r,
    )
    .unwrap()
    .to_bytes();
    // Bob rotates twice before the envelope is delivered.
    let policy = PrekeyPolicy::DEFAULT;
    rotate_all(&mut bob, NOW + policy.rotation_period_ms, &mut r);
    rotate_all(&mut bob, NOW + 2 * policy.rotation_period_ms, &mut r);
    let directory = [alice.list.clone()];
    let last_moment = first.expires_at() + policy.grace_ms - 1;
    assert_eq!(bob.keyrings[0].delete_expired(last_moment), 0);
    let opened = open(&bob.keyrings[0], &e, &directory, sealed_at + 1).unwrap();
    assert_eq!(opened.payload(), b"in flight");
    assert_eq!(opened.opened_with(), first.key_id());
    assert_eq!(bob.keyrings[0].delete_expired(last_moment + 1), 1);
    assert_eq!(
        open(&bob.keyrings[0], &e, &directory, sealed_at + 1).unwrap_err(),
        OpenError::NotARecipient
    );
}

/// A re-key is the same mechanism (§3.8): envelopes in flight to the old
/// certificate key open until `retired_at + grace`.
#[test]
fn a_rekeyed_device_opens_envelopes_in_flight_to_its_old_keys_until_the_grace_ends() {
    let mut r = rng(5);
    let alice = account(&mut r, 1, 0);
    let mut bob = account(&mut r, 1, 0);
    let sender = &alice.keyrings[0];
    let e = seal(
        sender.secret(),
        sender.certificate(),
        &[&bob.list, &alice.list],
        &[],
        &message(b"to the old key"),
        NOW,
        &mut r,
    )
    .unwrap()
    .to_bytes();
    let old_key_id = bob.keyrings[0].key_id();
    let new_keys = DeviceSecret::generate(&mut r);
    let cert = certify(&bob.secret, 1, new_keys.public_keys(), 0);
    let at = NOW + 10;
    bob.keyrings[0].rekey(new_keys, cert, at).unwrap();
    assert_ne!(bob.keyrings[0].key_id(), old_key_id);
    let directory = [alice.list.clone()];
    let opened = open(&bob.keyrings[0], &e, &directory, NOW + 20).unwrap();
    assert_eq!(opened.opened_with(), old_key_id);
    let grace = PrekeyPolicy::DEFAULT.grace_ms;
    assert_eq!(bob.keyrings[0].delete_expired(at + grace - 1), 0);
    assert_eq!(bob.keyrings[0].delete_expired(at + grace), 1);
    assert_eq!(
        open(&bob.keyrings[0], &e, &directory, NOW + 20).unwrap_err(),
        OpenError::NotARecipient
    );
}

/// The sender picks the newest usable prekey (§4.9 rule 1) and uses a
/// prekey of a device that does not require one; without one that device
/// is wrapped to its certificate key.
#[test]
fn the_newest_usable_prekey_is_chosen_and_optional_prekeys_are_used() {
    let mut r = rng(6);
    let alice = account(&mut r, 1, 0);
    let mut bob = account(&mut r, 2, 0);
    let older = rotate_all(&mut bob, NOW, &mut r);
    let newer = rotate_all(&mut bob, NOW + 1, &mut r);
    let sender = &alice.keyrings[0];
    let e = seal(
        sender.secret(),
        sender.certificate(),
        &[&bob.list, &alice.list],
        &[&older[0], &newer[0], &older[1]],
        &message(b"x"),
        NOW + 2,
        &mut r,
    )
    .unwrap();
    let ids = e.header().recipients();
    assert!(ids.contains(&newer[0].key_id()) && !ids.contains(&older[0].key_id()));
    assert!(ids.contains(&older[1].key_id()));
    assert!(ids.contains(&alice.keyrings[0].key_id()));
    let directory = [alice.list.clone()];
    for k in &bob.keyrings {
        assert_eq!(
            open(k, &e.to_bytes(), &directory, NOW + 3)
                .unwrap()
                .payload(),
            b"x"
        );
    }
}

/// Bad prekeys are refused with named errors at verification (§3.7).
#[test]
fn forged_expired_and_malformed_prekeys_are_refused_with_named_errors() {
    let mut r = rng(7);
    let mut bob = account(&mut r, 1, CAPABILITY_PREKEYS);
    let p = bob.keyrings[0].rotate_prekey(NOW, &mut r).unwrap();
    let list = &bob.list;
    assert!(list.verify_prekey(&p, p.expires_at() - 1).is_ok());
    assert_eq!(
        list.verify_prekey(&p, p.expires_at()).unwrap_err(),
        PrekeyError::Expired {
            expires_at: p.expires_at(),
            now: p.expires_at()
        }
    );
    let mut forged = p.to_bytes();
    forged[120] ^= 1; // created_at: a signed field
    assert_eq!(
        list.verify_prekey(&SignedPrekey::from_bytes(&forged).unwrap(), NOW)
            .unwrap_err(),
        PrekeyError::BadSignature
    );
    let mut unknown = p.to_bytes();
    unknown[36] ^= 1;
    assert_eq!(
        list.verify_prekey(&SignedPrekey::from_bytes(&unknown).unwrap(), NOW)
            .unwrap_err(),
        PrekeyError::UnknownDevice
    );
    let bytes = p.to_bytes();
    assert_eq!(bytes.len(), SIGNED_PREKEY_LEN);
    for cut in 0..bytes.len() {
        assert!(matches!(
            SignedPrekey::from_bytes(&bytes[..cut]),
            Err(DecodeError::Truncated { .. })
        ));
    }
    let mut long = bytes.clone();
    long.push(0);
    assert!(matches!(
        SignedPrekey::from_bytes(&long),
        Err(DecodeError::TrailingBytes {
            offset: 196,
            count: 1
        })
    ));
    // A lifetime beyond the limit, signed by the device itself.
    let mut k = DeviceKeyring::import(&bob.keyrings[0].export()).unwrap();
    assert_eq!(
        k.set_policy(PrekeyPolicy {
            lifetime_ms: limit::MAX_PREKEY_LIFETIME_MS + 1,
            ..PrekeyPolicy::DEFAULT
        }),
        Err(KeyringError::InvalidPolicy)
    );
}

/// Exported keyring bytes: every truncation and every changed byte of a
/// secret, certificate or prekey is refused, and nothing is half-loaded;
/// a change in a time field either is refused or is another canonical
/// keyring.
#[test]
fn a_corrupted_or_truncated_keyring_export_is_refused() {
    let mut r = rng(8);
    let mut bob = account(&mut r, 1, CAPABILITY_PREKEYS);
    let keyring = &mut bob.keyrings[0];
    keyring.rotate_prekey(NOW, &mut r).unwrap();
    keyring.rotate_prekey(NOW + DAY, &mut r).unwrap();
    let new_keys = DeviceSecret::generate(&mut r);
    let cert = certify(&bob.secret, 1, new_keys.public_keys(), CAPABILITY_PREKEYS);
    keyring.rekey(new_keys, cert, NOW + DAY).unwrap();
    keyring.rotate_prekey(NOW + DAY, &mut r).unwrap();
    let bytes = keyring.export();
    assert_eq!(bytes.len(), 2 + 24 + 264 + 1 + 240 + 1 + 3 * 228 + 1);
    assert_eq!(
        &DeviceKeyring::import(&bytes).unwrap().export()[..],
        &bytes[..]
    );
    for cut in 0..bytes.len() {
        assert!(
            matches!(
                DeviceKeyring::import(&bytes[..cut]),
                Err(KeyringError::Decode(DecodeError::Truncated { .. }))
            ),
            "cut at {cut}"
        );
    }
    let times = |i: usize| {
        (2..26).contains(&i)                        // policy
            || (2 + 24 + 64 + 116..2 + 24 + 64 + 136).contains(&i) // current cert times+caps: signed
            || (291 + 232..291 + 240).contains(&i) // retired_at
    };
    for i in 0..bytes.len() {
        let mut bad = bytes.to_vec();
        bad[i] ^= 0x01;
        match DeviceKeyring::import(&bad) {
            Err(KeyringError::Decode(_)) => {}
            Ok(k) => {
                assert!(times(i), "byte {i} changed and was accepted");
                assert_eq!(&k.export()[..], &bad[..]);
            }
            Err(e) => panic!("byte {i}: {e:?}"),
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Rotate(u64),
    Delete(u64),
    Rekey(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..20 * DAY).prop_map(Op::Rotate),
        (0..40 * DAY).prop_map(Op::Delete),
        (0..20 * DAY).prop_map(Op::Rekey),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Export then import restores exactly (the same bytes, the same keys
    /// to open with), after any sequence of operations.
    #[test]
    fn keyring_export_round_trips(ops in proptest::collection::vec(op(), 0..12), seed in any::<u8>()) {
        let mut r = rng(seed);
        let mut bob = account(&mut r, 1, CAPABILITY_PREKEYS);
        let account_secret = AccountSecret::from_secret_seed(&bob.secret.export_secret_seed());
        let k = &mut bob.keyrings[0];
        for op in ops {
            let _ = match op {
                Op::Rotate(t) => k.rotate_prekey(NOW + t, &mut r).map(|_| ()),
                Op::Delete(t) => { k.delete_expired(NOW + t); Ok(()) }
                Op::Rekey(t) => {
                    let keys = DeviceSecret::generate(&mut r);
                    let cert = certify(&account_secret, 1, keys.public_keys(), CAPABILITY_PREKEYS);
                    k.rekey(keys, cert, NOW + t)
                }
            };
            let bytes = k.export();
            let back = DeviceKeyring::import(&bytes).unwrap();
            prop_assert_eq!(&back.export()[..], &bytes[..]);
            prop_assert_eq!(back.key_id(), k.key_id());
            prop_assert_eq!(back.prekeys().collect::<Vec<_>>(), k.prekeys().collect::<Vec<_>>());
        }
    }
}

/// Post-compromise (P13, first half): a thief whose access ended (it copied
/// the keyring at `T`, then lost the device) cannot open envelopes wrapped
/// to the prekey the device makes at its next rotation; before that, it
/// reads what is wrapped to the prekeys it copied.
#[test]
fn a_thief_whose_access_ended_cannot_open_envelopes_to_later_prekeys() {
    let mut r = rng(9);
    let alice = account(&mut r, 1, 0);
    let mut bob = account(&mut r, 1, CAPABILITY_PREKEYS);
    let before = rotate_all(&mut bob, NOW, &mut r).remove(0);
    let stolen = DeviceKeyring::import(&bob.keyrings[0].export()).unwrap();
    let next = NOW + PrekeyPolicy::DEFAULT.rotation_period_ms;
    assert!(bob.keyrings[0].needs_rotation(next));
    let after = rotate_all(&mut bob, next, &mut r).remove(0);
    let sender = &alice.keyrings[0];
    let directory = [alice.list.clone()];
    for (prekey, thief_reads) in [(&before, true), (&after, false)] {
        let e = seal(
            sender.secret(),
            sender.certificate(),
            &[&bob.list, &alice.list],
            &[prekey],
            &message(b"later"),
            next,
            &mut r,
        )
        .unwrap()
        .to_bytes();
        assert!(open(&bob.keyrings[0], &e, &directory, next).is_ok());
        let by_thief = open(&stolen, &e, &directory, next);
        if thief_reads {
            assert!(by_thief.is_ok());
        } else {
            assert_eq!(by_thief.unwrap_err(), OpenError::NotARecipient);
        }
    }
}

/// Review findings on SPEC §3.7–3.9 (issue 11): a prekey dated in the
/// future is refused at verification and never published as current; a
/// renewal cannot turn prekeys on or off (that takes a re-key, so an old
/// list's key is never a prekey device's key); keyring operations verify
/// certificates; a re-key needs both keys new; policies that would fill the
/// keyring are refused; seal bounds the prekeys it takes; a prekey's key id
/// names its device.
#[test]
fn future_prekeys_capability_renewals_bad_certificates_and_policies_are_refused() {
    let mut r = rng(10);
    let mut bob = account(&mut r, 2, CAPABILITY_PREKEYS);
    let skew = limit::MAX_PREKEY_CLOCK_SKEW_MS;
    let future = bob.keyrings[0]
        .rotate_prekey(NOW + skew + 1, &mut r)
        .unwrap();
    assert_eq!(
        bob.list.verify_prekey(&future, NOW).unwrap_err(),
        PrekeyError::NotYetValid {
            created_at: NOW + skew + 1,
            now: NOW
        }
    );
    assert!(bob.list.verify_prekey(&future, NOW + 1).is_ok());
    assert_eq!(bob.keyrings[0].current_prekey(NOW), None);

    let cert = bob.keyrings[0].certificate().clone();
    let off = certify(&bob.secret, 1, *cert.keys(), 0);
    assert_eq!(
        bob.keyrings[0].renew_certificate(off),
        Err(KeyringError::CapabilityChange)
    );
    let renewed = certify(
        &bob.secret,
        1,
        *cert.keys(),
        CAPABILITY_PREKEYS | 0x0001_0000,
    );
    bob.keyrings[0].renew_certificate(renewed).unwrap();
    let mallory = AccountSecret::generate(&mut r);
    let mut forged = certify(&mallory, 1, *cert.keys(), CAPABILITY_PREKEYS).to_bytes();
    forged[4..36].copy_from_slice(bob.secret.public_key().as_bytes());
    let forged = DeviceCertificate::from_bytes(&forged).unwrap();
    assert_eq!(
        bob.keyrings[0].renew_certificate(forged.clone()),
        Err(KeyringError::Certificate(CertificateError::BadSignature))
    );
    let copy = DeviceSecret::from_secret_bytes(&bob.keyrings[0].secret().export_secret_bytes());
    assert_eq!(
        DeviceKeyring::new(copy, forged).unwrap_err(),
        CertificateError::BadSignature
    );
    let same = DeviceSecret::from_secret_bytes(&bob.keyrings[0].secret().export_secret_bytes());
    let c = certify(&bob.secret, 1, same.public_keys(), CAPABILITY_PREKEYS);
    assert_eq!(
        bob.keyrings[0].rekey(same, c, NOW),
        Err(KeyringError::SameKeys)
    );

    let policy = |r: u64, l: u64, g: u64| PrekeyPolicy {
        rotation_period_ms: r,
        lifetime_ms: l,
        grace_ms: g,
    };
    for (p, ok) in [
        (policy(2 * DAY, 4 * DAY, 7 * DAY), true),
        (policy(2 * DAY, 3 * DAY, 0), false),
        (policy(3_600_000, 7_200_000, 7 * DAY), false),
        (policy(0, DAY, 0), false),
        (policy(DAY, 30 * DAY, 0), true),
        (policy(DAY, 31 * DAY, 0), false),
    ] {
        assert_eq!(bob.keyrings[1].set_policy(p).is_ok(), ok, "{p:?}");
    }

    let made = bob.keyrings[1].rotate_prekey(NOW, &mut r).unwrap();
    let p = bob.list.verify_prekey(&made, NOW).unwrap();
    let many: Vec<&VerifiedPrekey> = (0..=limit::MAX_SEAL_PREKEYS).map(|_| &p).collect();
    let sender = &bob.keyrings[1];
    let refused = seal(
        sender.secret(),
        sender.certificate(),
        &[&bob.list],
        &many,
        &message(b"x"),
        NOW,
        &mut r,
    );
    assert_eq!(
        refused.unwrap_err(),
        SealError::TooManyPrekeys {
            count: limit::MAX_SEAL_PREKEYS + 1
        }
    );

    let key: [u8; 32] = p.public_key().try_into().unwrap();
    let account = bob.secret.public_key();
    let id = |d: u8| KeyId::of_prekey(&account, &DeviceId::from_bytes([d; 16]), &key);
    assert_ne!(id(1), id(2));
    assert_eq!(p.key_id(), id(2));
}

/// Second review, N1: the account cannot issue a list that keeps a device
/// key and flips its CAPABILITY_PREKEYS bit (a sender served the older list
/// would wrap to a key the device still uses); a re-key with new keys can.
#[test]
fn issuing_refuses_a_capability_change_that_keeps_the_device_key() {
    let mut r = rng(11);
    let bob = account(&mut r, 1, 0);
    let cert = bob.keyrings[0].certificate().clone();
    let flipped = certify(&bob.secret, 1, *cert.keys(), CAPABILITY_PREKEYS);
    assert_eq!(
        bob.secret
            .issue_device_list(Some(&bob.list), NOW, vec![flipped])
            .unwrap_err(),
        DeviceListError::CapabilityChange {
            device_id: DeviceId::from_bytes([1; 16])
        }
    );
    let new_keys = DeviceSecret::generate(&mut r);
    let rekeyed = certify(&bob.secret, 1, new_keys.public_keys(), CAPABILITY_PREKEYS);
    assert!(bob
        .secret
        .issue_device_list(Some(&bob.list), NOW, vec![rekeyed])
        .is_ok());
}
