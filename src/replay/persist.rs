//! The persisted replay guard, object type `0x21` (SPEC.md §6.4).
//!
//! ```text
//! u8  wire version (0x02) || u8 object type (0x21)
//! u32 max_accounts                 1..=MAX_REPLAY_ACCOUNTS
//! u32 capacity                     1..=MAX_REPLAY_CAPACITY
//! u64 window_ms || u64 max_skew_ms
//! opt forgotten_floor              0x00, or 0x01 || u64
//! store (anonymous namespace)      no account floor, device ids all zero
//! u32 account count                0..=max_accounts
//! account count × (account key[32] || store), keys strictly increasing
//!
//! store:
//! opt account_floor
//! u32 floor count                  0..=capacity
//! floor count × (device id[16] || u64 floor), device ids strictly increasing
//! u32 entry count                  (1 for an account, 0 anonymous)..=capacity
//! entry count × (device id[16] || message id[16] || u64 timestamp),
//!     (device id, message id) strictly increasing,
//!     timestamp at or above its device's floor
//! ```
//!
//! Every count is checked against its bound before the entries it counts
//! are read; entries are inserted one by one as their bytes are read, so
//! memory follows the input's length, and nothing is returned unless the
//! whole input decoded.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use super::{Account, ReplayGuard, Store, ANONYMOUS_DEVICE};
use crate::codec::{Reader, Writer};
use crate::consts::{limit, object_type};
use crate::envelope::MessageId;
use crate::error::DecodeError;

/// Bytes of one floor record and one entry record.
const FLOOR_LEN: usize = 16 + 8;
const ENTRY_LEN: usize = 16 + 16 + 8;

fn put_floor(w: &mut Writer, floor: Option<u64>) {
    match floor {
        None => w.u8(0),
        Some(f) => {
            w.u8(1);
            w.u64(f);
        }
    }
}

fn put_store(w: &mut Writer, store: &Store) {
    put_floor(w, store.account_floor);
    w.len_u32(store.floors.len());
    for (device, floor) in &store.floors {
        w.put(device);
        w.u64(*floor);
    }
    w.len_u32(store.seen.len());
    for ((device, id), timestamp) in &store.seen {
        w.put(device);
        w.put(&id.0);
        w.u64(*timestamp);
    }
}

fn read_floor(r: &mut Reader<'_>, field: &'static str) -> Result<Option<u64>, DecodeError> {
    match r.u8(field)? {
        0 => Ok(None),
        1 => Ok(Some(r.u64(field)?)),
        _ => Err(DecodeError::NonCanonical("replay floor flag")),
    }
}

fn read_count(
    r: &mut Reader<'_>,
    min: usize,
    max: usize,
    field: &'static str,
) -> Result<usize, DecodeError> {
    let n = usize::try_from(r.u32(field)?).unwrap_or(usize::MAX);
    r.bounded(n, min, max, field)
}

/// One store; `anonymous` adds the anonymous namespace's rules.
fn read_store(r: &mut Reader<'_>, capacity: usize, anonymous: bool) -> Result<Store, DecodeError> {
    let account_floor = read_floor(r, "replay account floor")?;
    if anonymous && account_floor.is_some() {
        return Err(DecodeError::NonCanonical(
            "replay anonymous namespace has an account floor",
        ));
    }
    let mut store = Store::with_floor(account_floor);
    let floors = read_count(r, 0, capacity, "replay floor count")?;
    let mut previous: Option<[u8; 16]> = None;
    for _ in 0..floors {
        let device: [u8; 16] = r.array("replay floor")?;
        let floor = r.u64("replay floor")?;
        if previous.is_some_and(|p| p >= device) {
            return Err(DecodeError::NonCanonical(
                "replay floors not strictly increasing",
            ));
        }
        if anonymous && device != ANONYMOUS_DEVICE {
            return Err(DecodeError::NonCanonical(
                "replay anonymous namespace names a device",
            ));
        }
        previous = Some(device);
        store.restore_floor(device, floor);
    }
    let entries = read_count(r, usize::from(!anonymous), capacity, "replay entry count")?;
    let mut previous: Option<([u8; 16], [u8; 16])> = None;
    for _ in 0..entries {
        let device: [u8; 16] = r.array("replay entry")?;
        let id: [u8; 16] = r.array("replay entry")?;
        let timestamp = r.u64("replay entry")?;
        if previous.is_some_and(|p| p >= (device, id)) {
            return Err(DecodeError::NonCanonical(
                "replay entries not strictly increasing",
            ));
        }
        if anonymous && device != ANONYMOUS_DEVICE {
            return Err(DecodeError::NonCanonical(
                "replay anonymous namespace names a device",
            ));
        }
        if store.floors.get(&device).is_some_and(|f| timestamp < *f) {
            return Err(DecodeError::NonCanonical(
                "replay entry below its device floor",
            ));
        }
        previous = Some((device, id));
        store.insert(device, MessageId(id), timestamp);
    }
    Ok(store)
}

impl ReplayGuard {
    /// The guard's whole state as canonical bytes (SPEC.md §6.4): wire
    /// version `0x02`, object type `0x21`, the parameters, then every
    /// account and entry in sorted order. Equal guards give equal bytes.
    ///
    /// Persist these bytes after every acceptance: a guard restored from
    /// bytes made before an acceptance accepts that message again.
    pub fn to_bytes(&self) -> Vec<u8> {
        let records = self.len + self.accounts.len() + 1;
        let mut w = Writer::with_capacity(48 + records.saturating_mul(ENTRY_LEN + FLOOR_LEN));
        w.object_prefix(object_type::REPLAY_GUARD);
        w.len_u32(self.max_accounts);
        w.len_u32(self.capacity);
        w.u64(self.window_ms);
        w.u64(self.max_skew_ms);
        put_floor(&mut w, self.forgotten_floor);
        put_store(&mut w, &self.anonymous);
        w.len_u32(self.accounts.len());
        for (account, store) in &self.accounts {
            w.put(account);
            put_store(&mut w, store);
        }
        w.into_vec()
    }

    /// Restores a guard from [`to_bytes`](Self::to_bytes) output. It then
    /// answers every later check exactly as the guard that wrote the bytes.
    ///
    /// Errors ([`DecodeError`], the first failing field in encoding order):
    /// `Truncated`, `UnsupportedVersion`, `WrongObjectType` (anything but
    /// `0x21`), `OutOfRange` (a parameter or count outside its bound),
    /// `NonCanonical` (a floor flag other than 0 or 1, unsorted or duplicate
    /// accounts, floors or entries, an entry below its device's floor, an
    /// anonymous namespace with an account floor or a device id),
    /// `TrailingBytes`.
    pub fn from_bytes(bytes: &[u8]) -> Result<ReplayGuard, DecodeError> {
        let mut r = Reader::new(bytes);
        r.object_prefix(object_type::REPLAY_GUARD)?;
        let max_accounts =
            read_count(&mut r, 1, limit::MAX_REPLAY_ACCOUNTS, "replay max accounts")?;
        let capacity = read_count(&mut r, 1, limit::MAX_REPLAY_CAPACITY, "replay capacity")?;
        let window_ms = r.u64("replay window")?;
        let max_skew_ms = r.u64("replay max skew")?;
        let forgotten_floor = read_floor(&mut r, "replay forgotten floor")?;
        let anonymous = read_store(&mut r, capacity, true)?;
        let count = read_count(&mut r, 0, max_accounts, "replay account count")?;
        let mut len = anonymous.len();
        let mut accounts: BTreeMap<Account, Store> = BTreeMap::new();
        let mut by_top = BTreeSet::new();
        let mut previous: Option<Account> = None;
        for _ in 0..count {
            let account: Account = r.array("replay account")?;
            if previous.is_some_and(|p| p >= account) {
                return Err(DecodeError::NonCanonical(
                    "replay accounts not strictly increasing",
                ));
            }
            previous = Some(account);
            let store = read_store(&mut r, capacity, false)?;
            len += store.len();
            if let Some(top) = store.top() {
                by_top.insert((top, account));
            }
            accounts.insert(account, store);
        }
        r.finish()?;
        Ok(ReplayGuard {
            max_accounts,
            capacity,
            window_ms,
            max_skew_ms,
            forgotten_floor,
            anonymous,
            accounts,
            by_top,
            len,
        })
    }
}
