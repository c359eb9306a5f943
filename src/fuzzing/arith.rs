//! Padmé arithmetic against an overflow-free model, and the replay guard.

use alloc::collections::BTreeSet;

use crate::consts::limit;
use crate::envelope::{padme, MessageId, Padding};
use crate::replay::{ReplayError, ReplayGuard};

use super::{ensure, Outcome};

/// Padmé computed in `u128` (no overflow), from the paper's definition.
fn padme_model(len: u128) -> u128 {
    if len < 2 {
        return len;
    }
    let e = 127 - len.leading_zeros(); // floor(log2 len)
    let s = 32 - e.leading_zeros(); // floor(log2 e) + 1
    let mask = (1u128 << (e - s)) - 1;
    (len + mask) & !mask
}

fn read_u64(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    for (dst, src) in b.iter_mut().zip(bytes) {
        *dst = *src;
    }
    u64::from_be_bytes(b)
}

/// `Padding::padded_len` and `padme` on lengths from `data`
/// (`mode || bucket u32 || len u64 || other len u64`, zero-filled when
/// short). Oracles: the result equals the overflow-free model, never
/// shrinks, stays within `MAX_BODY`, Padmé's overhead is at most ~1/8,
/// Padmé is idempotent and monotonic.
pub fn padding(data: &[u8]) -> Outcome {
    let mode = data.first().copied().unwrap_or(0);
    let bucket = u32::try_from(read_u64(data.get(1..5).unwrap_or(&[])) >> 32).unwrap_or(0);
    let len = usize::try_from(read_u64(data.get(5..13).unwrap_or(&[]))).unwrap_or(usize::MAX);
    let other = usize::try_from(read_u64(data.get(13..21).unwrap_or(&[]))).unwrap_or(usize::MAX);
    let padding = match mode % 3 {
        0 => Padding::None,
        1 => Padding::Padme,
        _ => Padding::Bucket(bucket),
    };
    let wide = len as u128;
    let model = match padding {
        Padding::Padme => padme_model(wide),
        Padding::Bucket(b) => {
            let b = u128::from(b.max(1));
            wide.div_ceil(b) * b
        }
        _ => wide,
    };
    let expected = (model <= limit::MAX_BODY as u128).then_some(model as usize);
    let got = padding.padded_len(len);
    ensure(
        got == expected,
        "padding: padded_len differs from the model",
    )?;
    if let Some(p) = got {
        ensure(p >= len, "padding: padded_len shrank")?;
    }

    let p = padme(len);
    if padme_model(wide) <= usize::MAX as u128 {
        ensure(
            p as u128 == padme_model(wide),
            "padme: differs from the model",
        )?;
        ensure(p >= len, "padme: shrank")?;
        ensure(p - len <= len / 8 + 1, "padme: overhead above 1/8")?;
        ensure(padme(p) == p, "padme: not idempotent")?;
        let (lo, hi) = if len <= other {
            (len, other)
        } else {
            (other, len)
        };
        if padme_model(hi as u128) <= usize::MAX as u128 {
            ensure(padme(lo) <= padme(hi), "padme: not monotonic")?;
        }
    } else {
        ensure(p >= len, "padme: shrank near usize::MAX")?;
    }
    Ok(())
}

/// Runs a [`ReplayGuard`] through `check` calls read from `data`:
/// `capacity || window u16 || skew u16` then 5-byte steps
/// `id || timestamp offset i16 || clock advance u16` (ids from a set of
/// 16, so repeats are common). Oracles: a (message id, timestamp) pair is
/// accepted at most once, ever (a replayed envelope carries its signed
/// timestamp, so this is the replay property); every acceptance is inside
/// the window; a refusal as `Replayed` names an accepted id; a never-seen id
/// newer than everything accepted so far and inside the window is accepted;
/// the guard never holds more than its capacity.
pub fn replay_guard(data: &[u8]) -> Outcome {
    let (capacity, window, skew, mut steps) = match data {
        [c, w0, w1, s0, s1, rest @ ..] => (
            usize::from(*c % 16),
            u64::from(u16::from_be_bytes([*w0, *w1])),
            u64::from(u16::from_be_bytes([*s0, *s1])),
            rest,
        ),
        _ => return Ok(()),
    };
    let mut guard = ReplayGuard::new(capacity, window, skew);
    let mut now: u64 = 1_000_000;
    let mut accepted_pairs: BTreeSet<(MessageId, u64)> = BTreeSet::new();
    let mut accepted_ids: BTreeSet<MessageId> = BTreeSet::new();
    let mut newest: Option<u64> = None;
    while let [id, t0, t1, a0, a1, rest @ ..] = steps {
        steps = rest;
        now += u64::from(u16::from_be_bytes([*a0, *a1]));
        let offset = i64::from(i16::from_be_bytes([*t0, *t1]));
        let timestamp = now.saturating_add_signed(offset);
        let id = MessageId([*id % 16; 16]);
        let remembered_before = guard.len();
        let result = guard.check(id, timestamp, now);
        let in_window = timestamp <= now + skew && timestamp >= now.saturating_sub(window);
        match result {
            Ok(()) => {
                ensure(
                    accepted_pairs.insert((id, timestamp)),
                    "replay: a (message id, timestamp) pair was accepted twice",
                )?;
                ensure(in_window, "replay: accepted outside the window")?;
                accepted_ids.insert(id);
                newest = Some(newest.map_or(timestamp, |n| n.max(timestamp)));
            }
            Err(ReplayError::Replayed) => {
                ensure(
                    accepted_ids.contains(&id),
                    "replay: Replayed for an id never accepted",
                )?;
                ensure(
                    guard.len() == remembered_before,
                    "replay: a refused check changed the guard",
                )?;
            }
            Err(ReplayError::FromTheFuture) => ensure(
                timestamp > now + skew,
                "replay: FromTheFuture for a timestamp inside the skew",
            )?,
            Err(_) => {
                let fresh = !accepted_ids.contains(&id) && newest.is_none_or(|n| timestamp > n);
                ensure(
                    !(fresh && in_window),
                    "replay: a fresh, newest, in-window id was refused as too old",
                )?;
            }
        }
        ensure(
            guard.len() <= capacity.max(1),
            "replay: the guard holds more than its capacity",
        )?;
    }
    Ok(())
}
