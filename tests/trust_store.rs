//! The trust store (SPEC.md §14; issue 13 situations 5 and 7): one current
//! list per contact, a bounded history, fork evidence, and an export that
//! restores exactly and refuses corrupted bytes without half-loading.
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
use rand_chacha::ChaCha20Rng;

/// An account that issues a new list version on demand.
struct Issuer {
    secret: AccountSecret,
    trusted: VerifiedDeviceList,
    lists: Vec<DeviceList>,
    next_id: u8,
}

impl Issuer {
    fn new(r: &mut ChaCha20Rng) -> Self {
        let secret = AccountSecret::generate(r);
        let d = DeviceSecret::generate(r);
        let cert = secret.certify_device(&params(1, d.public_keys())).unwrap();
        let list = secret.issue_device_list(None, NOW, vec![cert]).unwrap();
        let trusted = list.verify(&secret.public_key()).unwrap();
        Issuer {
            secret,
            trusted,
            lists: vec![list],
            next_id: 2,
        }
    }

    /// Version + 1 with one more device.
    fn next(&mut self, r: &mut ChaCha20Rng) -> DeviceList {
        let d = DeviceSecret::generate(r);
        let cert = self
            .secret
            .certify_device(&params(self.next_id, d.public_keys()))
            .unwrap();
        self.next_id = self.next_id.wrapping_add(1);
        let mut certs = self.trusted.list().certificates().to_vec();
        if certs.len() >= 4 {
            certs.remove(0);
        }
        certs.push(cert);
        let list = self
            .secret
            .issue_device_list(Some(&self.trusted), NOW, certs)
            .unwrap();
        self.trusted = list.verify(&self.secret.public_key()).unwrap();
        self.lists.push(list.clone());
        list
    }
}

/// Situation 5: a restart restores the trusted chains exactly (current list,
/// history, fork evidence, times), and after the restart an update and an
/// open behave as before it.
#[test]
fn a_restart_restores_the_trusted_chains_exactly() {
    let mut r = rng(60);
    let mut alice = Issuer::new(&mut r);
    let mut bob = Issuer::new(&mut r);
    let mut store = TrustStore::new();
    store.trust(alice.trusted.clone(), 1).unwrap();
    store.trust(bob.trusted.clone(), 2).unwrap();
    for t in 0..3 {
        let v = alice.next(&mut r);
        store
            .update(&alice.secret.public_key(), &[v], 10 + t)
            .unwrap();
    }
    // A fork of Bob: two different version-2 lists.
    let bob_v1 = bob.trusted.clone();
    let fork_a = bob.next(&mut r);
    let fork_b = bob
        .secret
        .issue_device_list(Some(&bob_v1), NOW, bob_v1.list().certificates().to_vec())
        .unwrap();
    store
        .update(&bob.secret.public_key(), &[fork_a], 20)
        .unwrap();
    let err = store
        .update(&bob.secret.public_key(), &[fork_b], 21)
        .unwrap_err();
    assert!(matches!(err, TrustError::List(DeviceListError::Fork(_))));
    let bob_contact = store.contact(&bob.secret.public_key()).unwrap();
    assert!(bob_contact.fork().is_some());
    // A forked account authenticates nobody.
    assert!(store
        .verified_device_list(&bob.secret.public_key())
        .is_none());

    let saved = store.export();
    let restored = TrustStore::import(&saved).unwrap();
    assert_eq!(restored, store);
    assert_eq!(restored.export(), saved);
    let a = restored.contact(&alice.secret.public_key()).unwrap();
    assert_eq!(a.current().version(), 4);
    assert_eq!(a.history().len(), 3);
    assert_eq!(a.since(), 12);
    // The restored store keeps working: the next update extends it.
    let mut restored = restored;
    let v5 = alice.next(&mut r);
    restored
        .update(&alice.secret.public_key(), std::slice::from_ref(&v5), 30)
        .unwrap();
    store.update(&alice.secret.public_key(), &[v5], 30).unwrap();
    assert_eq!(restored, store);
}

/// Situation 5: corrupted, truncated or mismatched bytes are refused with a
/// decode error; nothing is half-loaded (the result is all or an error).
#[test]
fn a_corrupted_or_truncated_trust_store_is_refused() {
    let mut r = rng(61);
    let mut alice = Issuer::new(&mut r);
    let mut store = TrustStore::new();
    store.trust(alice.trusted.clone(), 1).unwrap();
    let v2 = alice.next(&mut r);
    store.update(&alice.secret.public_key(), &[v2], 2).unwrap();
    let bytes = store.export();
    for cut in 0..bytes.len() {
        assert!(
            TrustStore::import(&bytes[..cut]).is_err(),
            "truncated at {cut} accepted"
        );
    }
    let mut long = bytes.clone();
    long.push(0);
    assert!(matches!(
        TrustStore::import(&long),
        Err(DecodeError::TrailingBytes { .. })
    ));
    // Every byte of the signed lists is covered by a signature or the
    // structure; only the `since` time is free (and then re-encodes).
    for i in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[i] ^= 0x01;
        if let Ok(s) = TrustStore::import(&bad) {
            let free = (2..10).contains(&i) || (14..22).contains(&i); // grace, since
            assert!(free, "byte {i} changed and was accepted");
            assert_eq!(s.export(), bad);
        }
    }
    // Another object type is refused by its prefix.
    let keyring_like = [0x02, 0x20, 0, 0, 0, 0];
    assert!(matches!(
        TrustStore::import(&keyring_like),
        Err(DecodeError::WrongObjectType { .. })
    ));
}

/// Situation 7: the store holds one list per account; trusting an account
/// twice is refused, an update replaces the current list and the old one
/// never authenticates again.
#[test]
fn one_current_list_per_account_and_the_old_one_never_authenticates() {
    let mut r = rng(62);
    let w = world(62);
    let mut store = TrustStore::new();
    store.trust(w.alice.verified(), 1).unwrap();
    store.trust(w.bob.verified(), 1).unwrap();
    assert_eq!(
        store.trust(w.alice.verified(), 2).unwrap_err(),
        TrustError::AlreadyTrusted
    );
    // Alice removes her second device (v2).
    let removed = &w.alice.devices[1];
    let v2 = w
        .alice
        .secret
        .issue_device_list(
            Some(&w.alice.verified()),
            NOW,
            vec![w.alice.devices[0].certificate.clone()],
        )
        .unwrap();
    store.update(&w.alice.public(), &[v2], 5).unwrap();
    let bytes = seal(
        &removed.secret,
        &removed.certificate,
        &[&w.bob.verified()],
        &[],
        &Message::default(),
        NOW,
        &mut r,
    )
    .unwrap()
    .to_bytes();
    assert_eq!(
        open(&w.bob.devices[0].keyring, &bytes, &store, NOW).unwrap_err(),
        OpenError::SenderNotOnTrustedList(w.alice.public())
    );
    let unknown = AccountSecret::generate(&mut r).public_key();
    assert_eq!(
        store.update(&unknown, &[], 1).unwrap_err(),
        TrustError::UnknownAccount
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Export then import restores exactly after any sequence of updates
    /// (history bounded at MAX_TRUST_HISTORY).
    #[test]
    fn trust_store_round_trips(steps in proptest::collection::vec(0u8..3, 0..14), seed in any::<u8>()) {
        let mut r = rng(seed);
        let mut issuers = [Issuer::new(&mut r), Issuer::new(&mut r)];
        let mut store = TrustStore::new();
        for i in &issuers {
            store.trust(i.trusted.clone(), 0).unwrap();
        }
        for (t, step) in steps.into_iter().enumerate() {
            if step < 2 {
                let i = &mut issuers[usize::from(step)];
                let v = i.next(&mut r);
                store.update(&i.secret.public_key(), &[v], t as u64).unwrap();
            }
            let bytes = store.export();
            let back = TrustStore::import(&bytes).unwrap();
            prop_assert_eq!(&back, &store);
            prop_assert_eq!(back.export(), bytes);
            for (_, c) in store.contacts() {
                prop_assert!(c.history().len() <= limit::MAX_TRUST_HISTORY);
            }
        }
    }
}

/// Situation 2: a message in flight across a list change. Sealed by a
/// device just before its certificate was renewed with the same keys, just
/// before it re-keyed, or one second before its certificate expired: it
/// opens for the grace period after the store learned of the change (on the
/// store's clock) and is refused after; a device the new list removed is
/// refused at once. The plain slice lookup (no grace) refuses all of them.
#[test]
fn messages_in_flight_across_a_list_change_open_within_the_grace_period() {
    let mut r = rng(63);
    let alice = AccountSecret::generate(&mut r);
    let bob_w = world(63);
    let bob_list = bob_w.bob.verified();
    let bob0 = &bob_w.bob.devices[0].keyring;
    let dev = |r: &mut ChaCha20Rng| DeviceSecret::generate(r);
    let (renewed_dev, rekeyed_dev, expiring_dev, removed_dev) =
        (dev(&mut r), dev(&mut r), dev(&mut r), dev(&mut r));
    let cert = |id: u8, keys: DevicePublicKeys, expires: u64| {
        alice
            .certify_device(&CertificateParams {
                expires_at: Some(expires),
                ..params(id, keys)
            })
            .unwrap()
    };
    let far = NOW + 100 * 86_400_000;
    let c_renew = cert(1, renewed_dev.public_keys(), far);
    let c_rekey = cert(2, rekeyed_dev.public_keys(), far);
    let c_expire = cert(3, expiring_dev.public_keys(), NOW + 1000);
    let c_removed = cert(4, removed_dev.public_keys(), far);
    let v1 = alice
        .issue_device_list(
            None,
            NOW,
            vec![
                c_renew.clone(),
                c_rekey.clone(),
                c_expire.clone(),
                c_removed.clone(),
            ],
        )
        .unwrap()
        .verify(&alice.public_key())
        .unwrap();
    let msg = Message::default();
    let send = |s: &DeviceSecret, c: &DeviceCertificate, at: u64, r: &mut ChaCha20Rng| {
        seal(s, c, &[&bob_list], &[], &msg, at, r)
            .unwrap()
            .to_bytes()
    };
    // Sealed just before the change (and one second before expiry).
    let m_renew = send(&renewed_dev, &c_renew, NOW + 10, &mut r);
    let m_rekey = send(&rekeyed_dev, &c_rekey, NOW + 10, &mut r);
    let m_expire = send(&expiring_dev, &c_expire, NOW + 999, &mut r);
    let m_removed = send(&removed_dev, &c_removed, NOW + 10, &mut r);
    // v2: device 1 renewed (same keys), device 2 re-keyed, device 3 kept,
    // device 4 removed.
    let renewal = cert(1, renewed_dev.public_keys(), far + 1);
    let new_keys = dev(&mut r);
    let rekey = cert(2, new_keys.public_keys(), far);
    let v2 = alice
        .issue_device_list(Some(&v1), NOW, vec![renewal, rekey, c_expire.clone()])
        .unwrap();
    let mut store = TrustStore::new();
    store.trust(v1, NOW).unwrap();
    store.trust(bob_list.clone(), NOW).unwrap();
    let learned = NOW + 500;
    store
        .update(&alice.public_key(), std::slice::from_ref(&v2), learned)
        .unwrap();
    let grace = store.grace_ms();
    let later = learned + 2_000; // past the expiry of device 3
    for m in [&m_renew, &m_rekey, &m_expire] {
        assert!(open(bob0, m, &store, later).unwrap().accepted_in_grace());
        // Without grace (a plain slice of the current lists): refused.
        let plain = [v2.verify(&alice.public_key()).unwrap(), bob_list.clone()];
        assert!(open(bob0, m, &plain, later).is_err());
    }
    // A removed device: refused at once.
    assert_eq!(
        open(bob0, &m_removed, &store, learned + 1).unwrap_err(),
        OpenError::SenderNotOnTrustedList(alice.public_key())
    );
    // After the grace period, the renewed and re-keyed certificates are
    // refused; the expired one after its expiry + grace.
    let after = learned + grace;
    for m in [&m_renew, &m_rekey] {
        assert!(open(bob0, m, &store, after).is_err());
    }
    assert!(open(bob0, &m_expire, &store, NOW + 1000 + grace - 1).is_ok());
    assert!(open(bob0, &m_expire, &store, NOW + 1000 + grace).is_err());
    // A message stamped after the expiry is never in grace.
    let late = send(&expiring_dev, &c_expire, NOW + 999, &mut r);
    let on_time = open(bob0, &late, &store, NOW + 998).unwrap();
    assert!(!on_time.accepted_in_grace());
    assert!(open(bob0, &late, &store, NOW + 1001)
        .unwrap()
        .accepted_in_grace());
    // Nothing newer at the directory: an empty chain changes nothing.
    let before = store.clone();
    store.update(&alice.public_key(), &[], later).unwrap();
    assert_eq!(store, before);
}

/// Conversation helpers (SPEC §14.3): the members' lists to seal to; an
/// opened message is checked for its conversation id, a member sender, and
/// a recipient set equal to the members' devices (a ghost recipient is an
/// unknown key id, a left-out device is missing); prekey key ids map to
/// their devices when the caller passes the prekeys.
#[test]
fn a_conversation_checks_id_sender_and_recipients() {
    let mut r = rng(164);
    let w = world(64);
    let carol = account(&mut r, 1);
    let mut store = TrustStore::new();
    for l in [w.alice.verified(), w.bob.verified(), carol.verified()] {
        store.trust(l, 0).unwrap();
    }
    let chat = Conversation::new(b"chat-9".to_vec(), [w.alice.public(), w.bob.public()]);
    let lists = chat.seal_lists(&store).unwrap();
    assert_eq!(lists.len(), 2);
    let sender = &w.alice.devices[0];
    let bob0 = &w.bob.devices[0].keyring;
    let send = |lists: &[&VerifiedDeviceList], aad: &[u8], r: &mut ChaCha20Rng| {
        let msg = Message {
            payload: b"x",
            aad,
            padding: Padding::Padme,
            ..Message::default()
        };
        seal(
            &sender.secret,
            &sender.certificate,
            lists,
            &[],
            &msg,
            NOW,
            r,
        )
        .unwrap()
        .to_bytes()
    };
    let good = open(bob0, &send(&lists, chat.id(), &mut r), &store, NOW).unwrap();
    chat.check(&store, &good, &[]).unwrap();
    let other = open(bob0, &send(&lists, b"chat-10", &mut r), &store, NOW).unwrap();
    assert_eq!(
        chat.check(&store, &other, &[]).unwrap_err(),
        ConversationError::WrongConversation
    );
    // Carol added as a ghost recipient: her device is an unknown key id.
    let carol_list = store.contact(&carol.public()).unwrap().current().clone();
    let with_ghost = [lists[0], lists[1], &carol_list];
    let ghosted = open(bob0, &send(&with_ghost, chat.id(), &mut r), &store, NOW).unwrap();
    match chat.check(&store, &ghosted, &[]).unwrap_err() {
        ConversationError::Recipients(a) => {
            assert_eq!(a.unknown, vec![carol.devices[0].keyring.key_id()]);
            assert!(a.missing.is_empty());
        }
        e => panic!("{e:?}"),
    }
    // Bob's second device left out (an old list of Bob's with one device).
    let bob_old = w
        .bob
        .secret
        .issue_device_list(None, NOW, vec![w.bob.devices[0].certificate.clone()])
        .unwrap()
        .verify(&w.bob.public())
        .unwrap();
    let alice_list = store.contact(&w.alice.public()).unwrap().current().clone();
    let stripped = open(
        bob0,
        &send(&[&alice_list, &bob_old], chat.id(), &mut r),
        &store,
        NOW,
    )
    .unwrap();
    match chat.check(&store, &stripped, &[]).unwrap_err() {
        ConversationError::Recipients(a) => {
            assert!(a.unknown.is_empty());
            assert_eq!(a.missing.len(), 2); // Bob's devices 2 and 3
        }
        e => panic!("{e:?}"),
    }
    // A non-member sender.
    let carol_chat = Conversation::new(b"c".to_vec(), [w.bob.public(), carol.public()]);
    let from_alice = open(bob0, &send(&lists, b"c", &mut r), &store, NOW).unwrap();
    assert_eq!(
        carol_chat.check(&store, &from_alice, &[]).unwrap_err(),
        ConversationError::NotAMember(w.alice.public())
    );
}

/// Second state review, finding 6 and 5: a removal hidden inside a
/// multi-version update still ends grace (v1 has device 1 with key K1, v2
/// removes it, v3 re-adds device 1 with key K2; a client that updates
/// v1 -> [v2, v3] in one call refuses K1 at once), and a replaced key's
/// message stamped after its replacement is never in grace.
#[test]
fn grace_never_covers_a_removal_inside_the_chain_or_a_message_stamped_after_the_replacement() {
    let mut r = rng(165);
    let alice = AccountSecret::generate(&mut r);
    let bob_w = world(65);
    let bob_list = bob_w.bob.verified();
    let bob0 = &bob_w.bob.devices[0].keyring;
    let (k1, k2, other) = (
        DeviceSecret::generate(&mut r),
        DeviceSecret::generate(&mut r),
        DeviceSecret::generate(&mut r),
    );
    let c1 = alice.certify_device(&forever(1, k1.public_keys())).unwrap();
    let c_other = alice
        .certify_device(&params(2, other.public_keys()))
        .unwrap();
    let v1 = alice
        .issue_device_list(None, NOW, vec![c1.clone(), c_other.clone()])
        .unwrap()
        .verify(&alice.public_key())
        .unwrap();
    let v2 = alice
        .issue_device_list(Some(&v1), NOW + 1, vec![c_other.clone()])
        .unwrap();
    let v2t = v2.verify(&alice.public_key()).unwrap();
    let c2 = alice.certify_device(&forever(1, k2.public_keys())).unwrap();
    let v3 = alice
        .issue_device_list(Some(&v2t), NOW + 2, vec![c2, c_other])
        .unwrap();
    let msg = Message::default();
    let stolen = seal(&k1, &c1, &[&bob_list], &[], &msg, NOW, &mut r)
        .unwrap()
        .to_bytes();
    let mut store = TrustStore::new();
    store.trust(v1.clone(), NOW).unwrap();
    store.trust(bob_list.clone(), NOW).unwrap();
    store
        .update(&alice.public_key(), &[v2.clone(), v3.clone()], NOW + 10)
        .unwrap();
    assert!(open(bob0, &stolen, &store, NOW + 20).is_err());

    // Without the removal (v1 -> v3' re-keying device 1 directly), the
    // in-flight message is in grace, but one stamped an hour after the
    // replacement is not.
    let v3b = alice
        .issue_device_list(
            Some(&v1),
            NOW - 3_600_000 + 5, // replaced at this (account-signed) time
            vec![
                alice.certify_device(&forever(1, k2.public_keys())).unwrap(),
                v1.devices()[1].certificate().clone(),
            ],
        )
        .unwrap();
    let mut store = TrustStore::new();
    store.trust(v1, NOW).unwrap();
    store.trust(bob_list.clone(), NOW).unwrap();
    store.update(&alice.public_key(), &[v3b], NOW + 10).unwrap();
    // Stamped NOW: within an hour of the replacement, in grace.
    assert!(open(bob0, &stolen, &store, NOW + 20).is_ok());
    // Stamped NOW + 10: more than an hour after the replacement, refused.
    let late = seal(&k1, &c1, &[&bob_list], &[], &msg, NOW + 10, &mut r)
        .unwrap()
        .to_bytes();
    assert!(open(bob0, &late, &store, NOW + 20).is_err());
    // A clock that stepped back before the update: no grace.
    assert!(open(bob0, &stolen, &store, NOW + 9).is_err());
}

fn forever(id: u8, keys: DevicePublicKeys) -> CertificateParams {
    CertificateParams {
        expires_at: None,
        ..params(id, keys)
    }
}
