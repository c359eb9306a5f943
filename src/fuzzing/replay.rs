//! The replay guard (SPEC.md §6): checks against isolated per-account
//! guards, and the persisted-state decoder.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use crate::envelope::MessageId;
use crate::replay::{ReplayError, ReplayGuard};

use super::{ensure, Outcome};

/// Accounts the `replay_guard` target sends from (the last is the anonymous
/// namespace of `check`).
const ACCOUNTS: usize = 5;

/// Not API: checks `id` as if opened from `account` / `device` (`None`: the
/// anonymous namespace of [`ReplayGuard::check`]). Lets tests drive many
/// accounts and devices without sealing an envelope for each.
pub fn check_as(
    guard: &mut ReplayGuard,
    account: Option<[u8; 32]>,
    device: [u8; 16],
    id: MessageId,
    timestamp: u64,
    now: u64,
) -> Result<(), ReplayError> {
    let device = if account.is_none() { [0; 16] } else { device };
    guard.check_sender(account, device, id, timestamp, now)
}

fn account_key(index: usize) -> Option<[u8; 32]> {
    (index + 1 < ACCOUNTS).then(|| {
        let mut key = [0xa0; 32];
        key[31] = u8::try_from(index).unwrap_or(u8::MAX);
        key
    })
}

/// Runs one shared [`ReplayGuard`] through checks from several accounts
/// read from `data`, and beside it one guard per account that sees only
/// that account's checks.
///
/// Input: `capacity u8 || max_accounts u8 || window u16 || skew u16`, then
/// 6-byte steps `sender u8 || id u8 || timestamp offset i16 || clock
/// advance u16` (sender: account `sender % 5`, the fifth being the
/// anonymous namespace, and device `sender / 5`, so up to 52 devices per
/// account; ids from a set of 16, so repeats are common). The clock never
/// steps back.
///
/// Oracles:
/// * isolation: the shared guard answers every check exactly as the guard
///   that saw only the sender account's own checks, except that a new
///   account may be refused `TooManySenders` (and only while `max_accounts`
///   accounts are tracked); after such a refusal that account is compared
///   with a guard that saw nothing of it (the shared guard keeps nothing of
///   it that refuses inside the window);
/// * a (sender account, device, id, timestamp) is accepted at most once,
///   ever (a replayed envelope carries its signed timestamp);
/// * every acceptance is inside the window; `FromTheFuture` exactly beyond
///   the skew; `Replayed` only for an id accepted from that device;
/// * a message with a fresh id, newer than everything the isolated guard
///   accepted from its account and inside the window, is accepted by it;
/// * a refusal changes nothing; the stores stay within their bounds;
/// * the state round-trips through `to_bytes`/`from_bytes` after every step.
pub fn replay_guard(data: &[u8]) -> Outcome {
    let (capacity, max_accounts, window, skew, mut steps) = match data {
        [c, m, w0, w1, s0, s1, rest @ ..] => (
            usize::from(*c % 8),
            usize::from(*m % 5),
            u64::from(u16::from_be_bytes([*w0, *w1])),
            u64::from(u16::from_be_bytes([*s0, *s1])),
            rest,
        ),
        _ => return Ok(()),
    };
    let fresh = || ReplayGuard::with_max_accounts(capacity, window, skew, max_accounts);
    let mut shared = fresh();
    let mut alone: Vec<ReplayGuard> = (0..ACCOUNTS).map(|_| fresh()).collect();
    let mut now: u64 = 1_000_000;
    let mut accepted: BTreeSet<(usize, u8, MessageId, u64)> = BTreeSet::new();
    let mut alone_ids: BTreeSet<(usize, MessageId)> = BTreeSet::new();
    let mut newest: Vec<Option<u64>> = alloc::vec![None; ACCOUNTS];
    while let [sender, id, t0, t1, a0, a1, rest @ ..] = steps {
        steps = rest;
        now += u64::from(u16::from_be_bytes([*a0, *a1]));
        let offset = i64::from(i16::from_be_bytes([*t0, *t1]));
        let timestamp = now.saturating_add_signed(offset);
        let index = usize::from(*sender) % ACCOUNTS;
        let account = account_key(index);
        let device_byte = if account.is_some() { *sender / 5 } else { 0 };
        let device = [device_byte; 16];
        let id = MessageId([*id % 16; 16]);

        let before = shared.clone();
        let result = check_as(&mut shared, account, device, id, timestamp, now);
        let Some(isolated) = alone.get_mut(index) else {
            return Err(super::Violation("replay: account index out of range"));
        };
        let alone_result = check_as(isolated, account, device, id, timestamp, now);
        let in_window = timestamp <= now + skew && timestamp >= now.saturating_sub(window);
        let key = (index, device_byte, id, timestamp);

        if result == Err(ReplayError::TooManySenders) {
            ensure(
                account.is_some() && shared.account_count() == shared.max_accounts(),
                "replay: TooManySenders below the account bound",
            )?;
            // The shared guard holds nothing of this account that can
            // refuse a timestamp inside the window any more: compare it from
            // now on with a guard that saw nothing of it either.
            *isolated = fresh();
            alone_ids.retain(|a| a.0 != index);
            if let Some(n) = newest.get_mut(index) {
                *n = None;
            }
        } else {
            ensure(
                result == alone_result,
                "replay: another account's traffic changed a sender's answer",
            )?;
        }
        // What the isolated guard accepted from this account so far.
        let fresh_newest = !alone_ids.contains(&(index, id))
            && newest
                .get(index)
                .copied()
                .flatten()
                .is_none_or(|n| timestamp > n);
        if fresh_newest && in_window {
            ensure(
                alone_result.is_ok(),
                "replay: a fresh, newest, in-window id was refused",
            )?;
        }
        if alone_result.is_ok() && result != Err(ReplayError::TooManySenders) {
            alone_ids.insert((index, id));
            if let Some(n) = newest.get_mut(index) {
                *n = Some(n.map_or(timestamp, |v| v.max(timestamp)));
            }
        }
        match result {
            Ok(()) => {
                ensure(
                    accepted.insert(key),
                    "replay: a (sender, id, timestamp) was accepted twice",
                )?;
                ensure(in_window, "replay: accepted outside the window")?;
            }
            Err(e) => {
                ensure(
                    shared == before,
                    "replay: a refused check changed the guard",
                )?;
                match e {
                    ReplayError::Replayed => ensure(
                        accepted
                            .iter()
                            .any(|a| a.0 == index && a.1 == device_byte && a.2 == id),
                        "replay: Replayed for an id never accepted from that device",
                    )?,
                    ReplayError::FromTheFuture => ensure(
                        timestamp > now + skew,
                        "replay: FromTheFuture for a timestamp inside the skew",
                    )?,
                    _ => {}
                }
            }
        }
        if result != Err(ReplayError::FromTheFuture) {
            ensure(
                timestamp <= now + skew,
                "replay: a timestamp beyond the skew was not FromTheFuture",
            )?;
        }
        ensure(
            shared.account_count() <= shared.max_accounts()
                && shared.len() <= shared.capacity() * (shared.account_count() + 1),
            "replay: the guard holds more than its bounds",
        )?;
        match ReplayGuard::from_bytes(&shared.to_bytes()) {
            Ok(restored) => ensure(restored == shared, "replay: restored state differs")?,
            Err(_) => return Err(super::Violation("replay: to_bytes output does not decode")),
        }
    }
    Ok(())
}

/// `ReplayGuard::from_bytes` on arbitrary bytes. Oracles: it never panics;
/// what decodes re-encodes to exactly the input (one encoding per state);
/// checks on the decoded guard (ids, times and senders from the input's
/// last bytes) keep it decodable and equal to its own round trip.
pub fn replay_guard_load(data: &[u8]) -> Outcome {
    let Ok(mut guard) = ReplayGuard::from_bytes(data) else {
        return Ok(());
    };
    ensure(
        guard.to_bytes() == data,
        "replay load: a decoded state re-encodes differently (not canonical)",
    )?;
    ensure(
        guard.account_count() <= guard.max_accounts(),
        "replay load: more accounts than the bound",
    )?;
    let tail: Vec<u8> = data.iter().rev().take(16).copied().collect();
    let word = |i: usize| {
        let mut b = [0u8; 8];
        for (k, slot) in b.iter_mut().enumerate() {
            *slot = tail.get((i + k) % tail.len().max(1)).copied().unwrap_or(0);
        }
        u64::from_be_bytes(b)
    };
    for round in 0..4usize {
        let now = word(round);
        let timestamp = now.saturating_sub(word(round + 8) % 1_000);
        let pick = tail.get(round).copied().unwrap_or(0);
        let account = (pick % 2 == 0).then(|| {
            let mut k = [0u8; 32];
            for (i, slot) in k.iter_mut().enumerate() {
                *slot = data
                    .get(data.len().saturating_sub(32 + i))
                    .copied()
                    .unwrap_or(0);
            }
            k
        });
        let _ = check_as(
            &mut guard,
            account,
            [pick; 16],
            MessageId([pick; 16]),
            timestamp,
            now,
        );
        let bytes = guard.to_bytes();
        match ReplayGuard::from_bytes(&bytes) {
            Ok(again) => ensure(
                again == guard,
                "replay load: round trip after a check differs",
            )?,
            Err(_) => {
                return Err(super::Violation(
                    "replay load: a check on a decoded state made it undecodable",
                ))
            }
        }
    }
    Ok(())
}
