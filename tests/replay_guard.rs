//! The replay guard (SPEC.md §6, property P11): one contact, with any number
//! of devices, can never make the guard refuse another contact (issue 13,
//! situation 3), and the guard's state persists (situation 5).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use fanseal::*;

const DAY: u64 = 24 * 3600 * 1000;

/// `sender` (a device of some account) seals one message to `to` stamped at
/// `timestamp`; `reader` opens it at `now`.
fn opened(
    sender: &Device,
    sender_list: &VerifiedDeviceList,
    to: &VerifiedDeviceList,
    reader: &Device,
    timestamp: u64,
    now: u64,
    seed: u64,
) -> Opened {
    let mut r = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(seed);
    let msg = Message {
        payload: b"hi",
        ..Message::default()
    };
    let env = seal(
        &sender.secret,
        &sender.certificate,
        &[to],
        &[],
        &msg,
        timestamp,
        &mut r,
    )
    .unwrap();
    open(
        &reader.keyring,
        &env.to_bytes(),
        &[sender_list.clone(), to.clone()],
        now,
    )
    .unwrap()
}

/// Issue 13, situation 3, exactly: `ReplayGuard::new(4, 7 days, 60 s)`; one
/// account with 5 devices sends 2 messages each stamped 59 s in the future
/// (all accepted); another account's fresh message must then be accepted.
/// The guard before this change refused it `TooOld` (its global floor).
#[test]
fn issue_13_situation_3_five_devices_in_the_future_do_not_refuse_another_contact() {
    let mut r = rng(131);
    let bob = account(&mut r, 1);
    let mallory = account(&mut r, 5);
    let alice = account(&mut r, 1);
    let bob_list = bob.verified();
    let reader = &bob.devices[0];
    let mut guard = ReplayGuard::new(4, 7 * DAY, 60_000);
    let mut seed = 0;
    for device in &mallory.devices {
        for _ in 0..2 {
            seed += 1;
            let o = opened(
                device,
                &mallory.verified(),
                &bob_list,
                reader,
                NOW + 59_000,
                NOW,
                seed,
            );
            assert_eq!(guard.check_opened(&o, NOW), Ok(()));
        }
    }
    let fresh = opened(
        &alice.devices[0],
        &alice.verified(),
        &bob_list,
        reader,
        NOW,
        NOW,
        1000,
    );
    assert_eq!(
        guard.check_opened(&fresh, NOW),
        Ok(()),
        "another contact's fresh message was refused"
    );
}

// ---------------------------------------------------------------------------
// Many devices, many accounts: through `check_opened` where a device list can
// hold the devices (at most 256), through the hidden `check_as` beyond that.
// ---------------------------------------------------------------------------

use fanseal::fuzzing::check_as;
use proptest::prelude::*;

fn id(n: u64) -> MessageId {
    let mut b = [0u8; 16];
    b[8..].copy_from_slice(&n.to_be_bytes());
    MessageId::from_bytes(b)
}

fn account_key(n: u32) -> Option<[u8; 32]> {
    let mut k = [0x5a; 32];
    k[28..].copy_from_slice(&n.to_be_bytes());
    Some(k)
}

fn device(n: u32) -> [u8; 16] {
    let mut d = [0x01; 16];
    d[12..].copy_from_slice(&n.to_be_bytes());
    d
}

#[test]
fn a_full_list_of_256_devices_in_the_future_does_not_touch_another_contact() {
    let mut r = rng(132);
    let bob = account(&mut r, 1);
    let mallory = account(&mut r, 256);
    let alice = account(&mut r, 1);
    let (bob_list, mallory_list, alice_list) =
        (bob.verified(), mallory.verified(), alice.verified());
    let reader = &bob.devices[0];
    let mut guard = ReplayGuard::new(4, 7 * DAY, 60_000);
    // Alice's message first: it must stay remembered through the flood.
    let before = opened(
        &alice.devices[0],
        &alice_list,
        &bob_list,
        reader,
        NOW - 10,
        NOW,
        1,
    );
    assert_eq!(guard.check_opened(&before, NOW), Ok(()));
    let mut seed = 10;
    for device in &mallory.devices {
        for _ in 0..2 {
            seed += 1;
            let o = opened(
                device,
                &mallory_list,
                &bob_list,
                reader,
                NOW + 59_000,
                NOW,
                seed,
            );
            // Beyond 4 devices with floors, mallory's own account floor
            // reaches its future timestamp: it refuses only mallory.
            let r = guard.check_opened(&o, NOW);
            assert!(r == Ok(()) || r == Err(ReplayError::TooOld), "{r:?}");
        }
    }
    assert_eq!(guard.account_count(), 2);
    assert_eq!(guard.len(), 1 + 4, "mallory keeps only its own 4 entries");
    assert_eq!(
        guard.check_opened(&before, NOW + 1),
        Err(ReplayError::Replayed),
        "alice's entry was evicted by another account"
    );
    let fresh = opened(
        &alice.devices[0],
        &alice_list,
        &bob_list,
        reader,
        NOW,
        NOW,
        2,
    );
    assert_eq!(guard.check_opened(&fresh, NOW), Ok(()));
}

#[test]
fn three_hundred_devices_of_one_account_and_many_accounts_never_refuse_an_honest_sender() {
    const NOW_MS: u64 = 1_764_300_000_000;
    let honest = account_key(0);
    let mut guard = ReplayGuard::with_max_accounts(8, DAY, 60_000, 64);
    let mut honest_ids = Vec::new();
    let mut n = 0u64;
    let mut now = NOW_MS;
    for round in 0..3u32 {
        // 40 accounts × 300 devices, 2 messages each at the edge of the skew.
        for acc in 1..=40u32 {
            for dev in 0..300u32 {
                for k in 0..2u64 {
                    let t = now + 60_000 - k;
                    let r = check_as(&mut guard, account_key(acc), device(dev), id(n), t, now);
                    // Only the flooding account's own floors refuse it.
                    assert!(
                        r == Ok(()) || r == Err(ReplayError::TooOld),
                        "round {round} account {acc} device {dev}: {r:?}"
                    );
                    n += 1;
                }
            }
            // The honest sender, after each account's burst.
            now += 1;
            let hid = id(1 << 40 | n);
            assert_eq!(
                check_as(&mut guard, honest, device(1), hid, now - 5, now),
                Ok(()),
                "honest message refused after account {acc}"
            );
            honest_ids.push((hid, now - 5));
        }
        assert!(guard.len() <= 8 * 41);
    }
    // Its last 8 ids are still remembered; the older ones are below its own floor.
    for (i, (hid, t)) in honest_ids.iter().enumerate() {
        let r = check_as(&mut guard, honest, device(1), *hid, *t, now);
        let expected = if i + 8 >= honest_ids.len() {
            ReplayError::Replayed
        } else {
            ReplayError::TooOld
        };
        assert_eq!(r, Err(expected), "honest id {i}");
    }
}

#[test]
fn an_account_floods_only_its_own_devices_floors() {
    // Capacity 2: the flooding account's store evicts its own entries; its
    // honest phone (device 1) keeps working beside its fast laptop (device 2).
    let mut g = ReplayGuard::new(2, DAY, 60_000);
    let (a, b) = (account_key(1), account_key(2));
    let now = 10 * DAY;
    assert_eq!(check_as(&mut g, b, device(1), id(1), now, now), Ok(()));
    for k in 0..10 {
        let t = now + 50_000 + k;
        assert_eq!(check_as(&mut g, a, device(2), id(100 + k), t, now), Ok(()));
    }
    // a's phone: its own device floor is untouched by a's laptop.
    assert_eq!(check_as(&mut g, a, device(1), id(7), now, now), Ok(()));
    // b: still remembered, still accepted.
    assert_eq!(
        check_as(&mut g, b, device(1), id(1), now, now),
        Err(ReplayError::Replayed)
    );
    assert_eq!(check_as(&mut g, b, device(1), id(2), now, now), Ok(()));
    // a's laptop's evicted ids are refused as too old (below its floor).
    assert_eq!(
        check_as(&mut g, a, device(2), id(100), now + 50_000, now),
        Err(ReplayError::TooOld)
    );
}

#[test]
fn more_devices_with_floors_than_capacity_raise_only_that_accounts_floor() {
    let mut g = ReplayGuard::new(1, DAY, 60_000);
    let (a, b) = (account_key(1), account_key(2));
    let now = 10 * DAY;
    for dev in 0..5u32 {
        let t = now + 50_000 + u64::from(dev);
        assert_eq!(
            check_as(&mut g, a, device(dev), id(u64::from(dev)), t, now),
            Ok(())
        );
    }
    // a's account floor is now its laptop's future timestamp: a's own fresh
    // message at `now` is refused, b's is not.
    assert_eq!(
        check_as(&mut g, a, device(9), id(9), now, now),
        Err(ReplayError::TooOld)
    );
    assert_eq!(check_as(&mut g, b, device(9), id(9), now, now), Ok(()));
}

#[test]
fn the_anonymous_namespace_and_accounts_do_not_affect_each_other() {
    let mut g = ReplayGuard::new(1, DAY, 60_000);
    let now = 10 * DAY;
    for k in 0..5 {
        assert_eq!(g.check(id(k), now + 50_000 + k, now), Ok(()));
    }
    assert_eq!(
        check_as(&mut g, account_key(1), device(1), id(0), now, now),
        Ok(())
    );
    for k in 0..5 {
        let t = now + 50_000 + k;
        assert_eq!(
            check_as(&mut g, account_key(2), device(k as u32), id(k), t, now),
            Ok(())
        );
    }
    assert_eq!(g.check(id(77), now + 59_001, now), Ok(()));
}

#[test]
fn a_new_account_at_the_bound_is_refused_until_an_old_one_is_safe_to_forget() {
    let mut g = ReplayGuard::with_max_accounts(4, 1_000, 100, 2);
    let (a, b, c) = (account_key(1), account_key(2), account_key(3));
    assert_eq!(
        check_as(&mut g, a, device(1), id(1), 10_000, 10_000),
        Ok(())
    );
    assert_eq!(
        check_as(&mut g, b, device(1), id(1), 10_050, 10_050),
        Ok(())
    );
    let before = g.clone();
    assert_eq!(
        check_as(&mut g, c, device(1), id(1), 10_100, 10_100),
        Err(ReplayError::TooManySenders)
    );
    assert_eq!(g, before, "a refusal changes nothing");
    // The anonymous namespace is not counted.
    assert_eq!(g.check(id(1), 10_100, 10_100), Ok(()));
    // a and b stay tracked and unaffected.
    assert_eq!(
        check_as(&mut g, a, device(1), id(2), 10_100, 10_100),
        Ok(())
    );
    // At 11_060 the window starts at 10_060: b's newest timestamp (10_050)
    // is outside it, a's (10_100) is not; b is forgotten for c.
    assert_eq!(
        check_as(&mut g, c, device(1), id(1), 11_060, 11_060),
        Ok(())
    );
    assert_eq!(g.account_count(), 2);
    // Now a and c are both inside the window: b comes back too early.
    assert_eq!(
        check_as(&mut g, b, device(1), id(2), 11_070, 11_070),
        Err(ReplayError::TooManySenders)
    );
    // b's forgotten ids stay refused even if the clock steps back.
    assert_eq!(
        check_as(&mut g, b, device(1), id(1), 10_050, 10_200),
        Err(ReplayError::TooOld)
    );
    // a is tracked and untouched: its own entries only.
    assert_eq!(
        check_as(&mut g, a, device(1), id(2), 10_100, 10_200),
        Err(ReplayError::Replayed)
    );
    // Once a is outside the window too, b is tracked again in its place.
    assert_eq!(
        check_as(&mut g, b, device(1), id(2), 11_101, 11_101),
        Ok(())
    );
}

#[test]
fn a_clock_step_back_does_not_reopen_expired_ids_of_an_account() {
    let mut g = ReplayGuard::new(100, 1_000, 0);
    let a = account_key(1);
    assert_eq!(
        check_as(&mut g, a, device(1), id(1), 10_000, 10_000),
        Ok(())
    );
    assert_eq!(
        check_as(&mut g, a, device(1), id(2), 12_000, 12_000),
        Ok(())
    );
    assert_eq!(
        check_as(&mut g, a, device(1), id(1), 10_000, 10_500),
        Err(ReplayError::TooOld)
    );
}

// ---------------------------------------------------------------------------
// Persistence (situation 5).
// ---------------------------------------------------------------------------

fn sample_guard() -> ReplayGuard {
    let mut g = ReplayGuard::with_max_accounts(2, 1_000, 100, 2);
    let (a, b, c) = (account_key(1), account_key(2), account_key(3));
    for (acc, dev, i, t, now) in [
        (a, 1, 1, 10_000, 10_000),
        (a, 2, 2, 10_010, 10_010),
        (a, 3, 3, 10_020, 10_020),
        (b, 1, 1, 10_030, 10_030),
        (None, 0, 9, 10_040, 10_040),
        (c, 1, 1, 11_050, 11_050),
    ] {
        assert_eq!(check_as(&mut g, acc, device(dev), id(i), t, now), Ok(()));
    }
    g
}

#[test]
fn the_persisted_guard_round_trips_and_behaves_identically() {
    let g = sample_guard();
    let bytes = g.to_bytes();
    assert_eq!(&bytes[..2], &[0x02, 0x21]);
    let mut restored = ReplayGuard::from_bytes(&bytes).unwrap();
    assert_eq!(restored, g);
    assert_eq!(restored.to_bytes(), bytes);
    let mut original = g;
    for (acc, dev, i, t, now) in [
        (account_key(1), 1, 1, 10_000, 10_500),
        (account_key(2), 1, 1, 10_030, 10_500),
        (account_key(3), 1, 2, 11_060, 11_060),
        (account_key(4), 1, 1, 11_070, 11_070),
        (None, 0, 9, 10_040, 10_500),
    ] {
        assert_eq!(
            check_as(&mut restored, acc, device(dev), id(i), t, now),
            check_as(&mut original, acc, device(dev), id(i), t, now)
        );
    }
    assert_eq!(restored.to_bytes(), original.to_bytes());
}

#[test]
fn restoring_an_old_copy_reopens_the_ids_accepted_after_it() {
    // SPEC.md §6.4: the app must persist after every acceptance.
    let mut g = ReplayGuard::new(16, DAY, 60_000);
    let a = account_key(1);
    let now = 10 * DAY;
    let old = g.to_bytes();
    assert_eq!(check_as(&mut g, a, device(1), id(1), now, now), Ok(()));
    let mut restored = ReplayGuard::from_bytes(&old).unwrap();
    assert_eq!(
        check_as(&mut restored, a, device(1), id(1), now, now),
        Ok(())
    );
    assert_eq!(
        check_as(&mut g, a, device(1), id(1), now, now),
        Err(ReplayError::Replayed)
    );
}

#[test]
fn decoding_refuses_every_malformed_state_with_its_exact_error() {
    let good = sample_guard().to_bytes();
    let dec = |b: &[u8]| ReplayGuard::from_bytes(b).unwrap_err();
    let with = |at: usize, v: u8| {
        let mut b = good.clone();
        b[at] = v;
        b
    };
    assert_eq!(dec(&with(0, 0x01)), DecodeError::UnsupportedVersion(1));
    assert_eq!(
        dec(&with(1, 0x20)),
        DecodeError::WrongObjectType {
            expected: 0x21,
            found: 0x20
        }
    );
    assert!(matches!(
        dec(&good[..good.len() - 1]),
        DecodeError::Truncated { .. }
    ));
    let mut long = good.clone();
    long.push(0);
    assert!(matches!(
        dec(&long),
        DecodeError::TrailingBytes { count: 1, .. }
    ));
    // max_accounts 0, capacity 0.
    assert!(matches!(
        dec(&[&good[..2], &[0, 0, 0, 0], &good[6..]].concat()),
        DecodeError::OutOfRange {
            field: "replay max accounts",
            found: 0,
            ..
        }
    ));
    assert!(matches!(
        dec(&[&good[..6], &[0, 0, 0, 0], &good[10..]].concat()),
        DecodeError::OutOfRange {
            field: "replay capacity",
            found: 0,
            ..
        }
    ));
    // Forgotten floor flag 2.
    assert_eq!(
        dec(&with(26, 2)),
        DecodeError::NonCanonical("replay floor flag")
    );
    // capacity 1: one account holds 2 entries.
    let mut two = ReplayGuard::new(2, 1_000, 0);
    check_as(&mut two, account_key(1), device(1), id(1), 500, 500).unwrap();
    check_as(&mut two, account_key(1), device(1), id(2), 500, 500).unwrap();
    let mut b = two.to_bytes();
    b[9] = 1;
    assert!(matches!(
        dec(&b),
        DecodeError::OutOfRange {
            field: "replay entry count",
            found: 2,
            max: 1,
            ..
        }
    ));
    // max_accounts 1: two accounts are listed.
    assert!(matches!(
        dec(&with(5, 1)),
        DecodeError::OutOfRange {
            field: "replay account count",
            found: 2,
            ..
        }
    ));
}

// ---------------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Step {
    account: u8,
    device: u8,
    id: u8,
    offset: i32,
    advance: u16,
}

fn step() -> impl Strategy<Value = Step> {
    (0u8..6, 0u8..40, 0u8..24, -3_000i32..3_000, 0u16..400).prop_map(
        |(account, device, id, offset, advance)| Step {
            account,
            device,
            id,
            offset,
            advance,
        },
    )
}

fn apply(g: &mut ReplayGuard, s: &Step, now: &mut u64) -> Result<(), ReplayError> {
    *now += u64::from(s.advance);
    let t = now.saturating_add_signed(i64::from(s.offset));
    let acc = (s.account < 5)
        .then(|| account_key(u32::from(s.account)))
        .flatten();
    check_as(
        g,
        acc,
        device(u32::from(s.device)),
        id(u64::from(s.id)),
        t,
        *now,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// from_bytes(to_bytes(g)) is g, and behaves as g on every later step.
    #[test]
    fn persisted_state_behaves_identically(
        cap in 1usize..6, max in 1usize..5,
        before in proptest::collection::vec(step(), 0..60),
        after in proptest::collection::vec(step(), 0..60),
    ) {
        let mut g = ReplayGuard::with_max_accounts(cap, 2_000, 1_000, max);
        let mut now = 1_000_000u64;
        for s in &before { let _ = apply(&mut g, s, &mut now); }
        let bytes = g.to_bytes();
        let mut r = ReplayGuard::from_bytes(&bytes).unwrap();
        prop_assert_eq!(&r, &g);
        prop_assert_eq!(r.to_bytes(), bytes);
        let mut now_r = now;
        for s in &after {
            prop_assert_eq!(apply(&mut r, s, &mut now_r), apply(&mut g, s, &mut now));
        }
        prop_assert_eq!(r.to_bytes(), g.to_bytes());
    }

    /// A (sender, id, timestamp) is accepted at most once, whatever the clock does.
    #[test]
    fn accepted_at_most_once(
        cap in 1usize..6, max in 1usize..5,
        steps in proptest::collection::vec((step(), any::<bool>()), 0..150),
    ) {
        let mut g = ReplayGuard::with_max_accounts(cap, 2_000, 1_000, max);
        let mut now = 1_000_000u64;
        let mut seen = std::collections::BTreeSet::new();
        for (s, back) in &steps {
            if *back { now = now.saturating_sub(1_500); }
            let before = now;
            if apply(&mut g, s, &mut now).is_ok() {
                let t = now.saturating_add_signed(i64::from(s.offset));
                let dev = if s.account < 5 { s.device } else { 0 };
                prop_assert!(seen.insert((s.account, dev, s.id, t)), "accepted twice");
            }
            prop_assert!(now >= before);
        }
    }

    /// An honest sender's fresh, correctly timestamped messages are all
    /// accepted, whatever other accounts (many devices, timestamps anywhere
    /// within the window and skew, the honest ids reused) send in between.
    #[test]
    fn an_honest_sender_is_never_refused_because_of_others(
        cap in 1usize..6,
        traffic in proptest::collection::vec(
            proptest::collection::vec((1u32..12, 0u32..400, 0u64..64, -2_000i64..=1_000), 0..30), 1..30),
        delays in proptest::collection::vec(0u64..50, 30),
    ) {
        let mut g = ReplayGuard::with_max_accounts(cap, 2_000, 1_000, 12);
        let honest = account_key(0);
        let mut now = 1_000_000u64;
        let mut last = 0u64;
        for (k, burst) in traffic.iter().enumerate() {
            for (acc, dev, i, off) in burst {
                let t = now.saturating_add_signed(*off);
                let _ = check_as(&mut g, account_key(*acc), device(*dev), id(*i), t, now);
            }
            now += 60;
            let t = (now - delays[k]).max(last + 1);
            last = t;
            let r = check_as(&mut g, honest, device(k as u32 % 3), id(k as u64), t, now);
            prop_assert_eq!(r, Ok(()), "honest message {} refused", k);
        }
    }

    /// The fuzz body's oracles (isolation against per-account guards, at
    /// most once, bounds, round trip) on random inputs, on stable.
    #[test]
    fn the_fuzz_oracles_hold(data in proptest::collection::vec(any::<u8>(), 0..900)) {
        prop_assert_eq!(fanseal::fuzzing::replay_guard(&data), Ok(()));
        prop_assert_eq!(fanseal::fuzzing::replay_guard_load(&data), Ok(()));
    }
}
