//! A bounded replay guard (SPEC.md §6, property P11).
//!
//! It remembers the message ids it accepted within a time window. Messages
//! older than the window, or too far in the future, are refused. When full,
//! it forgets the oldest entry **and raises its floor** to that entry's
//! timestamp, so a forgotten id can never be replayed: anything at or below
//! the floor is refused as too old.

use alloc::collections::{BTreeMap, BTreeSet};
use core::fmt;

use crate::envelope::MessageId;

/// Why the guard refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayError {
    /// This message id was already accepted.
    Replayed,
    /// The timestamp is outside the window (or at or below the floor left by
    /// evictions).
    TooOld,
    /// The timestamp is further in the future than the allowed clock skew.
    FromTheFuture,
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReplayError::Replayed => "message id seen before",
            ReplayError::TooOld => "message too old for the replay window",
            ReplayError::FromTheFuture => "message timestamp too far in the future",
        })
    }
}

impl core::error::Error for ReplayError {}

/// Remembers up to `capacity` message ids seen within `window_ms`.
#[derive(Debug, Clone)]
pub struct ReplayGuard {
    capacity: usize,
    window_ms: u64,
    max_skew_ms: u64,
    floor: Option<u64>,
    by_time: BTreeSet<(u64, MessageId)>,
    by_id: BTreeMap<MessageId, u64>,
}

impl ReplayGuard {
    /// A guard holding at most `capacity` ids (at least 1), accepting
    /// timestamps in `now - window_ms ..= now + max_skew_ms`.
    pub fn new(capacity: usize, window_ms: u64, max_skew_ms: u64) -> Self {
        ReplayGuard {
            capacity: capacity.max(1),
            window_ms,
            max_skew_ms,
            floor: None,
            by_time: BTreeSet::new(),
            by_id: BTreeMap::new(),
        }
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Accepts `id` at `timestamp` once; refuses replays, stale and future
    /// messages. `now` is the caller's clock (Unix ms).
    pub fn check(&mut self, id: MessageId, timestamp: u64, now: u64) -> Result<(), ReplayError> {
        if timestamp > now.saturating_add(self.max_skew_ms) {
            return Err(ReplayError::FromTheFuture);
        }
        let oldest = now.saturating_sub(self.window_ms);
        if timestamp < oldest || self.floor.is_some_and(|f| timestamp <= f) {
            return Err(ReplayError::TooOld);
        }
        if self.by_id.contains_key(&id) {
            return Err(ReplayError::Replayed);
        }
        self.expire(oldest);
        while self.by_id.len() >= self.capacity {
            let Some((t, old)) = self.by_time.pop_first() else {
                break;
            };
            self.by_id.remove(&old);
            self.floor = Some(self.floor.map_or(t, |f| f.max(t)));
        }
        if self.floor.is_some_and(|f| timestamp <= f) {
            return Err(ReplayError::TooOld);
        }
        self.by_time.insert((timestamp, id));
        self.by_id.insert(id, timestamp);
        Ok(())
    }

    /// Forgets entries older than the window (they would be refused anyway).
    fn expire(&mut self, oldest: u64) {
        while let Some(&(t, id)) = self.by_time.first() {
            if t >= oldest {
                break;
            }
            self.by_time.pop_first();
            self.by_id.remove(&id);
        }
    }
}
