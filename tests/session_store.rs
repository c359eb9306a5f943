//! The receiving store's bounds under attack (SPEC.md §15.4; review of
//! session 5, H1, M3, M4): a full store evicts by fair share, a session
//! from the future is refused, and a forgotten tombstone stays a floor
//! whatever the clock does.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{account_expiring, recheck, rng, Account, Device, NOW};
use fanseal::*;
use rand_chacha::ChaCha20Rng;

const DAY: u64 = 24 * 60 * 60 * 1000;

/// An account of one device whose certificate never expires (the tests
/// move clocks by days).
fn account(r: &mut ChaCha20Rng, devices: usize) -> Account {
    account_expiring(r, devices, None)
}

/// A distribution of a new session of `d` in `conversation`, created at
/// `at`, sealed at `at` to `to` (the receiver's list), opened by `receiver`.
fn distribution(
    d: &Device,
    conversation: &[u8],
    at: u64,
    to: &VerifiedDeviceList,
    receiver: &Device,
    directory: &[VerifiedDeviceList],
    r: &mut ChaCha20Rng,
) -> (OutboundSession, Opened) {
    let mut s =
        OutboundSession::new(&d.certificate, conversation, RotationPolicy::DEFAULT, at, r).unwrap();
    let e = s
        .distribute(&d.secret, &d.certificate, &[to], &[], Padding::None, at, r)
        .unwrap()
        .to_bytes();
    let opened = open(&receiver.keyring, &e, directory, at).unwrap();
    (s, opened)
}

fn text(payload: &[u8]) -> Message<'_> {
    Message {
        payload,
        ..Message::default()
    }
}

/// H1: eight accounts the receiver trusts, each at its own cap of 256
/// sessions, fill the store's 2,048. An honest sender's first session and
/// every rotation still get in: each evicts the oldest session of the
/// accounts holding the most. The attackers' new sessions only displace
/// their own (an account is evicted only while it holds at least as many
/// as the newcomer will), and an evicted session is tombstoned (its
/// distribution again is stale).
#[test]
fn a_full_store_evicts_by_fair_share_and_never_refuses_an_honest_sender() {
    let mut r = rng(90);
    let bob = account(&mut r, 1);
    let attackers: Vec<Account> = (0..8).map(|_| account(&mut r, 1)).collect();
    let honest = account(&mut r, 1);
    let mut directory = vec![bob.verified(), honest.verified()];
    directory.extend(attackers.iter().map(Account::verified));
    let to = bob.verified();
    let receiver = &bob.devices[0];
    let mut store = InboundSessions::new(&receiver.certificate);

    let per_account = session_limit::MAX_SESSIONS_PER_ACCOUNT;
    let conversations = per_account / 2;
    let mut first_of_each = Vec::new();
    for a in &attackers {
        for c in 0..conversations {
            let conv = format!("filler {c}");
            for k in 0..2u64 {
                let at = NOW + 2 * c as u64 + k;
                let (s, o) = distribution(
                    &a.devices[0],
                    conv.as_bytes(),
                    at,
                    &to,
                    receiver,
                    &directory,
                    &mut r,
                );
                store.receive(&receiver.keyring, &o, NOW + DAY).unwrap();
                if c == 0 && k == 0 {
                    first_of_each.push((s.session_id(), o));
                }
            }
        }
    }
    assert_eq!(store.len(), session_limit::MAX_INBOUND_SESSIONS);

    // The honest sender's first session gets in and decrypts.
    let h = &honest.devices[0];
    let (mut s1, o1) = distribution(h, b"chat", NOW + 10, &to, receiver, &directory, &mut r);
    assert_eq!(
        store.receive(&receiver.keyring, &o1, NOW + DAY).unwrap(),
        DistributionReceived::New(s1.session_id())
    );
    assert_eq!(store.len(), session_limit::MAX_INBOUND_SESSIONS);
    let m = s1
        .encrypt(&h.secret, &[&to], &text(b"hi"), NOW + 10, &mut r)
        .unwrap()
        .to_bytes();
    assert_eq!(
        store.decrypt(&m, &directory, NOW + DAY).unwrap().payload(),
        b"hi"
    );
    // The evicted session was the oldest (created at, then session id) of
    // the accounts holding the most (all eight attackers, created at `NOW`
    // first); it is tombstoned.
    let (evicted, evicted_dist) = first_of_each.iter().min_by_key(|(id, _)| *id).unwrap();
    assert!(store.get(evicted).is_none());
    assert_eq!(
        store
            .receive(&receiver.keyring, evicted_dist, NOW + DAY)
            .unwrap_err(),
        SessionError::StaleDistribution
    );

    // Its rotation gets in too (a second session in its slot).
    let (s2, o2) = distribution(h, b"chat", NOW + 20, &to, receiver, &directory, &mut r);
    assert_eq!(
        store.receive(&receiver.keyring, &o2, NOW + DAY).unwrap(),
        DistributionReceived::New(s2.session_id())
    );
    assert!(store.get(&s1.session_id()).is_some());

    // An attacker at its cap of 256 replaces its own oldest; the one at
    // 255 (evicted above) is counted 256 with its new session, as many as
    // the others: it evicts the oldest of those accounts. No attacker
    // session ever displaces the honest sender's two (fewer than anyone's).
    for a in &attackers {
        let (s, o) = distribution(
            &a.devices[0],
            b"one more",
            NOW + 30,
            &to,
            receiver,
            &directory,
            &mut r,
        );
        assert_eq!(
            store.receive(&receiver.keyring, &o, NOW + DAY).unwrap(),
            DistributionReceived::New(s.session_id())
        );
        assert!(store.get(&s1.session_id()).is_some() && store.get(&s2.session_id()).is_some());
        assert_eq!(store.len(), session_limit::MAX_INBOUND_SESSIONS);
    }

    // The honest sender keeps rotating in the full store: never refused.
    let mut latest = s2.session_id();
    for k in 0..5u64 {
        let (s, o) = distribution(h, b"chat", NOW + 40 + k, &to, receiver, &directory, &mut r);
        assert_eq!(
            store.receive(&receiver.keyring, &o, NOW + DAY).unwrap(),
            DistributionReceived::New(s.session_id())
        );
        assert!(store.get(&latest).is_some());
        latest = s.session_id();
    }

    // The store's export keeps all of it.
    let reloaded = InboundSessions::import(&store.export(), &receiver.certificate).unwrap();
    assert_eq!(*reloaded.export(), *store.export());
}

/// M4: a distribution created more than the clock skew after the
/// receiver's `now` is refused; were it taken, it would never age out of
/// the store and would hold its slot's floor above every honest session.
#[test]
fn a_session_from_the_future_is_refused() {
    let mut r = rng(91);
    let alice = account(&mut r, 1);
    let bob = account(&mut r, 1);
    let directory = vec![alice.verified(), bob.verified()];
    let receiver = &bob.devices[0];
    let mut store = InboundSessions::new(&receiver.certificate);
    let skew = session_limit::MAX_CLOCK_SKEW_MS;
    let (_, future) = distribution(
        &alice.devices[0],
        b"chat",
        NOW + skew + 1,
        &directory[1],
        receiver,
        &directory,
        &mut r,
    );
    assert_eq!(
        store.receive(&receiver.keyring, &future, NOW).unwrap_err(),
        SessionError::FromTheFuture
    );
    assert!(store.is_empty());
    // At the bound it is taken.
    let (s, edge) = distribution(
        &alice.devices[0],
        b"chat",
        NOW + skew,
        &directory[1],
        receiver,
        &directory,
        &mut r,
    );
    assert_eq!(
        store.receive(&receiver.keyring, &edge, NOW).unwrap(),
        DistributionReceived::New(s.session_id())
    );
}

/// M3: a receiver whose clock ran ahead prunes and forgets a tombstone;
/// when the clock comes back, a relay re-delivers the dropped session's
/// distribution. The store's forgotten floor refuses it (without it the
/// session would be rebuilt and its messages accepted a second time), and
/// the floor survives export and import.
#[test]
fn a_forgotten_tombstone_stays_a_floor_when_the_clock_comes_back() {
    let mut r = rng(92);
    let alice = account(&mut r, 1);
    let bob = account(&mut r, 1);
    let directory = vec![alice.verified(), bob.verified()];
    let receiver = &bob.devices[0];
    let a = &alice.devices[0];
    let mut store = InboundSessions::new(&receiver.certificate);
    let (mut s, o) = distribution(a, b"chat", NOW, &directory[1], receiver, &directory, &mut r);
    store.receive(&receiver.keyring, &o, NOW).unwrap();
    let m = s
        .encrypt(
            &a.secret,
            &[&directory[1]],
            &text(b"pay 100 EUR"),
            NOW,
            &mut r,
        )
        .unwrap()
        .to_bytes();
    assert_eq!(
        store.decrypt(&m, &directory, NOW).unwrap().payload(),
        b"pay 100 EUR"
    );
    assert!(store.drop_session(&s.session_id()));

    // The clock jumps 90 days ahead: prune forgets the tombstone's slot.
    store.prune(NOW + 90 * DAY);
    assert_eq!(store.tombstone_floor(&a.certificate, b"chat"), None);
    let store_bytes = store.export();
    let mut store = InboundSessions::import(&store_bytes, &receiver.certificate).unwrap();

    // Back to the right time: the replayed distribution is stale, and the
    // message cannot be accepted again.
    assert_eq!(
        store.receive(&receiver.keyring, &o, NOW + 1).unwrap_err(),
        SessionError::StaleDistribution
    );
    assert_eq!(
        store.decrypt(&m, &directory, NOW + 1).unwrap_err(),
        SessionError::UnknownSession
    );
    // A newer session of the same sender is not affected.
    let (s2, o2) = distribution(
        a,
        b"chat",
        NOW + 5,
        &directory[1],
        receiver,
        &directory,
        &mut r,
    );
    assert_eq!(
        store.receive(&receiver.keyring, &o2, NOW + 5).unwrap(),
        DistributionReceived::New(s2.session_id())
    );
}

/// `session::is_distribution` tells a distribution from an ordinary
/// message of the same conversation (whose payload the store would refuse
/// as a malformed distribution).
#[test]
fn distributions_are_told_apart_from_ordinary_messages() {
    let mut r = rng(93);
    let alice = account(&mut r, 1);
    let bob = account(&mut r, 1);
    let directory = vec![alice.verified(), bob.verified()];
    let receiver = &bob.devices[0];
    let a = &alice.devices[0];
    let (_, dist) = distribution(a, b"chat", NOW, &directory[1], receiver, &directory, &mut r);
    assert!(session::is_distribution(&dist));
    for payload in [&b"hello"[..], &[0x02, 0x08, 0, 1][..], &[0x02][..], &[][..]] {
        let e = seal(
            &a.secret,
            &a.certificate,
            &[&directory[1]],
            &[],
            &Message {
                payload,
                aad: b"chat",
                ..Message::default()
            },
            NOW,
            &mut r,
        )
        .unwrap();
        let o = open(&receiver.keyring, &e.to_bytes(), &directory, NOW).unwrap();
        assert!(!session::is_distribution(&o), "{payload:?}");
    }
}

/// A sender that equivocates (two chains under one session id) is caught
/// (`ConflictingDistribution`); the slot then takes no new session of that
/// sender device in that conversation until the conflict's floor ages
/// out, so the sender cannot keep the tombstone alive by adding and
/// contradicting sessions (second review, H2). It survives export.
#[test]
fn an_equivocating_slot_takes_no_new_session_until_it_ages_out() {
    let mut r = rng(94);
    let alice = account(&mut r, 1);
    let bob = account(&mut r, 2);
    let directory = vec![alice.verified(), bob.verified()];
    let receiver = &bob.devices[0];
    let a = &alice.devices[0];
    let mut store = InboundSessions::new(&receiver.certificate);
    let (s1, o1) = distribution(a, b"chat", NOW, &directory[1], receiver, &directory, &mut r);
    store.receive(&receiver.keyring, &o1, NOW).unwrap();
    // Alice edits her own state: the same session id, another chain key.
    let mut bytes = s1.export().to_vec();
    let chain_key = 2 + 2 + 16 + 32 + 4;
    for b in &mut bytes[chain_key..chain_key + 32] {
        *b ^= 0x5a;
    }
    recheck(&mut bytes);
    let mut s2 = session::hazmat::import_live(&bytes, &a.secret.public_keys()).unwrap();
    let e2 = s2
        .distribute(
            &a.secret,
            &a.certificate,
            &[&directory[1]],
            &[],
            Padding::None,
            NOW,
            &mut r,
        )
        .unwrap()
        .to_bytes();
    let o2 = open(&receiver.keyring, &e2, &directory, NOW).unwrap();
    assert_eq!(
        store.receive(&receiver.keyring, &o2, NOW).unwrap_err(),
        SessionError::ConflictingDistribution
    );
    let mut store = InboundSessions::import(&store.export(), &receiver.certificate).unwrap();
    // A fresh session of the same device and conversation, created later:
    // refused while the conflict's floor is young, taken once it aged out.
    let lifetime = session_limit::MAX_AGE_MS + session_limit::MAX_CLOCK_SKEW_MS;
    let (_, later) = distribution(
        a,
        b"chat",
        NOW + DAY,
        &directory[1],
        receiver,
        &directory,
        &mut r,
    );
    assert_eq!(
        store
            .receive(&receiver.keyring, &later, NOW + DAY)
            .unwrap_err(),
        SessionError::StaleDistribution
    );
    // Another conversation of the same sender device is not affected.
    let (s4, other) = distribution(
        a,
        b"other",
        NOW + DAY,
        &directory[1],
        receiver,
        &directory,
        &mut r,
    );
    assert_eq!(
        store.receive(&receiver.keyring, &other, NOW + DAY).unwrap(),
        DistributionReceived::New(s4.session_id())
    );
    let at = NOW + lifetime + 1;
    let (s3, fresh) = distribution(a, b"chat", at, &directory[1], receiver, &directory, &mut r);
    assert_eq!(
        store.receive(&receiver.keyring, &fresh, at).unwrap(),
        DistributionReceived::New(s3.session_id())
    );
}
