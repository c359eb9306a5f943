//! A bounded replay guard (SPEC.md §6, property P11).
//!
//! It remembers the message ids it accepted within a time window, per
//! sender device. Messages older than the window, or too far in the future,
//! are refused. When full, it forgets the oldest entry of the sender that
//! holds the most entries **and raises that sender's floor** to it, so a
//! forgotten id can never be replayed: anything at or below a sender's floor
//! is refused as too old, and a sender that floods the guard only evicts its
//! own entries.
//! Entries that leave the window raise the floor the same way, so a caller
//! clock that steps back does not reopen them.
//!
//! Ids are kept per sender ([`ReplayGuard::check_opened`]): one contact can
//! neither pre-empt another's message id nor, by filling the guard with
//! future timestamps, raise the floor of anyone but itself. At most
//! `capacity` ids and `capacity` sender floors are kept; when more senders
//! have floors, the lowest floor becomes a floor for everyone.

use alloc::collections::{BTreeMap, BTreeSet};
use core::fmt;

use crate::envelope::{MessageId, Opened};

/// Why the guard refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayError {
    /// This message id was already accepted from this sender.
    Replayed,
    /// The timestamp is outside the window, or at or below a floor left by
    /// forgotten entries.
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

/// A sender device: account key and device id (all zero for [`ReplayGuard::check`]).
type Sender = ([u8; 32], [u8; 16]);

const ANONYMOUS: Sender = ([0; 32], [0; 16]);

/// Remembers up to `capacity` message ids seen within `window_ms`.
#[derive(Debug, Clone)]
pub struct ReplayGuard {
    capacity: usize,
    window_ms: u64,
    max_skew_ms: u64,
    global_floor: Option<u64>,
    floors: BTreeMap<Sender, u64>,
    floor_order: BTreeSet<(u64, Sender)>,
    by_time: BTreeSet<(u64, Sender, MessageId)>,
    by_sender: BTreeSet<(Sender, u64, MessageId)>,
    seen: BTreeSet<(Sender, MessageId)>,
    counts: BTreeMap<Sender, usize>,
    count_order: BTreeSet<(usize, Sender)>,
}

impl ReplayGuard {
    /// A guard holding at most `capacity` ids (values below 1 count as 1),
    /// accepting timestamps in `now - window_ms ..= now + max_skew_ms`.
    pub fn new(capacity: usize, window_ms: u64, max_skew_ms: u64) -> Self {
        ReplayGuard {
            capacity: capacity.max(1),
            window_ms,
            max_skew_ms,
            global_floor: None,
            floors: BTreeMap::new(),
            floor_order: BTreeSet::new(),
            by_time: BTreeSet::new(),
            by_sender: BTreeSet::new(),
            seen: BTreeSet::new(),
            counts: BTreeMap::new(),
            count_order: BTreeSet::new(),
        }
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// True when no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Accepts an opened message once, keyed by its authenticated sender
    /// device and message id. `now` is the caller's clock (Unix ms).
    pub fn check_opened(&mut self, opened: &Opened, now: u64) -> Result<(), ReplayError> {
        let sender = (
            opened.sender_account().to_bytes(),
            opened.sender_device().to_bytes(),
        );
        self.check_sender(sender, opened.message_id(), opened.timestamp(), now)
    }

    /// Accepts `id` at `timestamp` once, with every id in one namespace.
    /// Prefer [`ReplayGuard::check_opened`]: with one namespace a sender can
    /// pre-empt another sender's message id.
    pub fn check(&mut self, id: MessageId, timestamp: u64, now: u64) -> Result<(), ReplayError> {
        self.check_sender(ANONYMOUS, id, timestamp, now)
    }

    fn check_sender(
        &mut self,
        sender: Sender,
        id: MessageId,
        timestamp: u64,
        now: u64,
    ) -> Result<(), ReplayError> {
        if timestamp > now.saturating_add(self.max_skew_ms) {
            return Err(ReplayError::FromTheFuture);
        }
        let oldest = now.saturating_sub(self.window_ms);
        let at_or_below = |floor: Option<u64>| floor.is_some_and(|f| timestamp <= f);
        if timestamp < oldest
            || at_or_below(self.global_floor)
            || at_or_below(self.floors.get(&sender).copied())
        {
            return Err(ReplayError::TooOld);
        }
        if self.seen.contains(&(sender, id)) {
            return Err(ReplayError::Replayed);
        }
        self.expire(oldest);
        // Every refusal happened above: from here on the id is accepted.
        if self.seen.len() >= self.capacity {
            self.evict_from_largest_sender();
        }
        self.by_time.insert((timestamp, sender, id));
        self.by_sender.insert((sender, timestamp, id));
        self.seen.insert((sender, id));
        self.adjust_count(sender, true);
        Ok(())
    }

    /// Forgets the oldest entry of the sender holding the most entries.
    fn evict_from_largest_sender(&mut self) {
        let Some(&(_, sender)) = self.count_order.last() else {
            return;
        };
        let oldest = self
            .by_sender
            .range((sender, 0, MessageId([0; 16]))..)
            .next()
            .copied();
        if let Some((s, t, id)) = oldest {
            self.remove(s, t, id);
        }
    }

    fn remove(&mut self, sender: Sender, t: u64, id: MessageId) {
        self.by_time.remove(&(t, sender, id));
        self.by_sender.remove(&(sender, t, id));
        self.seen.remove(&(sender, id));
        self.adjust_count(sender, false);
        self.raise_floor(sender, t);
    }

    fn adjust_count(&mut self, sender: Sender, up: bool) {
        let old = self.counts.get(&sender).copied().unwrap_or(0);
        let new = if up { old + 1 } else { old.saturating_sub(1) };
        self.count_order.remove(&(old, sender));
        if new == 0 {
            self.counts.remove(&sender);
        } else {
            self.counts.insert(sender, new);
            self.count_order.insert((new, sender));
        }
    }

    /// Forgets entries older than the window, raising their senders' floors.
    fn expire(&mut self, oldest: u64) {
        while let Some(&(t, s, id)) = self.by_time.first() {
            if t >= oldest {
                break;
            }
            self.remove(s, t, id);
        }
    }

    fn raise_floor(&mut self, sender: Sender, t: u64) {
        let previous = self.floors.get(&sender).copied();
        if previous.is_some_and(|p| p >= t) {
            return;
        }
        if let Some(p) = previous {
            self.floor_order.remove(&(p, sender));
        }
        self.floors.insert(sender, t);
        self.floor_order.insert((t, sender));
        while self.floors.len() > self.capacity {
            let Some((f, s)) = self.floor_order.pop_first() else {
                break;
            };
            self.floors.remove(&s);
            self.global_floor = Some(self.global_floor.map_or(f, |g| g.max(f)));
        }
    }
}
