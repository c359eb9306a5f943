//! One sender account's bounded store of remembered ids and floors
//! (SPEC.md §6.2). Nothing here looks at another account.

use alloc::collections::{BTreeMap, BTreeSet};

use crate::envelope::MessageId;

/// A device id inside one account (all zero in the anonymous namespace).
pub(super) type Device = [u8; 16];

/// What the guard keeps for one sender account, or for the anonymous
/// namespace of [`crate::ReplayGuard::check`].
///
/// Invariants (checked by the decoder, kept by every operation): at most
/// `capacity` entries and at most `capacity` device floors; every entry's
/// timestamp is at or above its own device's floor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Store {
    /// Refuses every timestamp at or below it, for every device of the account.
    pub(super) account_floor: Option<u64>,
    /// Per device: refuses that device's timestamps at or below it.
    pub(super) floors: BTreeMap<Device, u64>,
    /// `floors` ordered by (floor, device), to find the lowest.
    floor_order: BTreeSet<(u64, Device)>,
    /// Remembered ids by (timestamp, device, id): the oldest first.
    by_time: BTreeSet<(u64, Device, MessageId)>,
    /// Remembered ids by (device, id), with their timestamp.
    pub(super) seen: BTreeMap<(Device, MessageId), u64>,
}

impl Store {
    /// An empty store whose account floor starts at `account_floor`.
    pub(super) fn with_floor(account_floor: Option<u64>) -> Self {
        Store {
            account_floor,
            ..Store::default()
        }
    }

    /// How many ids it remembers.
    pub(super) fn len(&self) -> usize {
        self.seen.len()
    }

    /// The highest timestamp or floor it holds: nothing of this account at
    /// or below it can be told apart from a replay once it is forgotten.
    pub(super) fn top(&self) -> Option<u64> {
        let entry = self.by_time.last().map(|e| e.0);
        let floor = self.floor_order.last().map(|f| f.0);
        [self.account_floor, entry, floor]
            .into_iter()
            .flatten()
            .max()
    }

    /// True when `timestamp` from `device` is at or below a floor.
    pub(super) fn below_floor(&self, device: &Device, timestamp: u64) -> bool {
        let at_or_below = |floor: Option<u64>| floor.is_some_and(|f| timestamp <= f);
        at_or_below(self.account_floor) || at_or_below(self.floors.get(device).copied())
    }

    /// True when `(device, id)` is remembered at a timestamp at or after
    /// `edge`. An entry below `edge` is one the next acceptance forgets
    /// (raising a floor below `edge`), so it refuses nothing at this `now`.
    pub(super) fn remembers(&self, device: &Device, id: &MessageId, edge: u64) -> bool {
        self.seen.get(&(*device, *id)).is_some_and(|t| *t >= edge)
    }

    /// Accepts a new entry at `now`: forgets the entries below `edge`
    /// (`now − window`), inserts the new one, then, while more than
    /// `capacity` entries are held, forgets the oldest (which may be the new
    /// one). Returns how many entries were forgotten.
    pub(super) fn accept(
        &mut self,
        device: Device,
        id: MessageId,
        timestamp: u64,
        edge: u64,
        capacity: usize,
    ) -> usize {
        let mut forgotten = 0;
        while let Some(&(t, d, i)) = self.by_time.first() {
            if t >= edge {
                break;
            }
            self.forget(t, d, i, capacity);
            forgotten += 1;
        }
        self.insert(device, id, timestamp);
        while self.len() > capacity {
            let Some(&(t, d, i)) = self.by_time.first() else {
                break;
            };
            self.forget(t, d, i, capacity);
            forgotten += 1;
        }
        forgotten
    }

    /// Inserts an entry without any check (the caller checked).
    pub(super) fn insert(&mut self, device: Device, id: MessageId, timestamp: u64) {
        self.by_time.insert((timestamp, device, id));
        self.seen.insert((device, id), timestamp);
    }

    /// Sets a device floor without any check (the decoder checked).
    pub(super) fn restore_floor(&mut self, device: Device, floor: u64) {
        self.floors.insert(device, floor);
        self.floor_order.insert((floor, device));
    }

    /// Forgets one entry and raises its device's floor to its timestamp.
    fn forget(&mut self, t: u64, device: Device, id: MessageId, capacity: usize) {
        self.by_time.remove(&(t, device, id));
        self.seen.remove(&(device, id));
        self.raise_floor(device, t, capacity);
    }

    /// Raises `device`'s floor to `t` (a floor never decreases). While more
    /// than `capacity` devices have floors, the lowest (ties: the smallest
    /// device id) is dropped and raises the account floor instead.
    pub(super) fn raise_floor(&mut self, device: Device, t: u64, capacity: usize) {
        let previous = self.floors.get(&device).copied();
        if previous.is_some_and(|p| p >= t) {
            return;
        }
        if let Some(p) = previous {
            self.floor_order.remove(&(p, device));
        }
        self.floors.insert(device, t);
        self.floor_order.insert((t, device));
        while self.floors.len() > capacity {
            let Some((f, d)) = self.floor_order.pop_first() else {
                break;
            };
            self.floors.remove(&d);
            self.account_floor = Some(self.account_floor.map_or(f, |a| a.max(f)));
        }
    }
}
