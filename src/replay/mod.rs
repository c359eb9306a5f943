//! A bounded replay guard, isolated per sender account (SPEC.md §6,
//! properties P11 and P17).
//!
//! The guard remembers the message ids it accepted, **per sender account**,
//! each account in its own bounded store:
//!
//! ```text
//! ReplayGuard
//! ├── parameters: max_accounts, capacity (per account), window_ms, max_skew_ms
//! ├── forgotten_floor            (set only when a whole account is forgotten)
//! ├── anonymous namespace        (ids given to `check`; one store of its own)
//! └── accounts (≤ max_accounts), each:
//!     ├── account_floor
//!     ├── device floors          (≤ capacity)
//!     └── entries (device, id, timestamp)   (≤ capacity)
//! ```
//!
//! When an account's store is full it forgets **its own** oldest entry and
//! raises the floor of the device that sent it, so a forgotten id is refused
//! as too old; the same happens to its entries that leave the window. When
//! more than `capacity` of its devices have floors, the lowest one is folded
//! into that account's floor. There is no global floor: nothing one account
//! sends changes what the guard answers another tracked account.
//!
//! At most `max_accounts` accounts are tracked. A new account beyond that is
//! tracked only in place of an account that is safe to forget (every
//! timestamp and floor it holds is older than the window), otherwise it is
//! refused [`ReplayError::TooManySenders`] and nothing changes.
//!
//! The state persists as canonical bytes ([`ReplayGuard::to_bytes`],
//! [`ReplayGuard::from_bytes`], object type `0x21`, SPEC.md §6.4).

mod persist;
mod store;

use alloc::collections::{BTreeMap, BTreeSet};
use core::fmt;

use crate::consts::limit;
use crate::envelope::{MessageId, Opened};

use store::{Device, Store};

/// Why the guard refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayError {
    /// This message id was already accepted from this sender device.
    Replayed,
    /// The timestamp is outside the window, or at or below a floor left by
    /// forgotten entries of the same sender.
    TooOld,
    /// The timestamp is further in the future than the allowed clock skew.
    FromTheFuture,
    /// The sender's account is not tracked and `max_accounts` accounts that
    /// all hold timestamps inside the window already are. The caller's bound
    /// is too small for the number of contacts it hears from within one
    /// window: raise it (SPEC.md §6.2).
    TooManySenders,
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReplayError::Replayed => "message id seen before",
            ReplayError::TooOld => "message too old for the replay window",
            ReplayError::FromTheFuture => "message timestamp too far in the future",
            ReplayError::TooManySenders => {
                "replay guard already tracks its maximum number of active sender accounts"
            }
        })
    }
}

impl core::error::Error for ReplayError {}

/// An account key (Ed25519 public key bytes).
type Account = [u8; 32];

/// The device id every [`ReplayGuard::check`] id is kept under.
const ANONYMOUS_DEVICE: Device = [0; 16];

/// Remembers message ids per sender account, within a time window, in
/// bounded memory (SPEC.md §6).
///
/// * [`check_opened`](Self::check_opened) keys ids by the opened message's
///   authenticated sender account and device id; each account has its own
///   store of at most `capacity` ids and `capacity` device floors, and no
///   account's traffic changes another tracked account's answers.
/// * [`check`](Self::check) keeps ids in one shared anonymous namespace (a
///   store of its own, apart from every account).
///
/// Times are Unix milliseconds of the caller's clock. A message is accepted
/// when its timestamp is in `now − window_ms ..= now + max_skew_ms`, above
/// its sender's floors, and its id was not accepted from the same sender
/// device before; otherwise the answer is a [`ReplayError`]. Memory is
/// `O(max_accounts × capacity)`; every check costs `O(log n)` (amortised
/// over the entries it forgets).
///
/// Persist the guard ([`to_bytes`](Self::to_bytes)) after every acceptance:
/// a guard restored from older bytes accepts again the ids accepted after
/// those bytes were made (SPEC.md §6.4).
///
/// ```
/// use fanseal::{MessageId, ReplayError, ReplayGuard};
///
/// const DAY: u64 = 24 * 3600 * 1000;
/// // 1024 ids per account, 256 accounts, a 7-day window, 60 s of clock skew.
/// let mut guard = ReplayGuard::with_max_accounts(1024, 7 * DAY, 60_000, 256);
/// let now = 1_764_300_000_000;
/// let id = MessageId::from_bytes([1; 16]);
/// assert_eq!(guard.check(id, now - 5_000, now), Ok(()));
/// assert_eq!(guard.check(id, now - 5_000, now + 1), Err(ReplayError::Replayed));
///
/// // Persist after each acceptance; restoring gives the same guard.
/// let saved = guard.to_bytes();
/// let mut restored = ReplayGuard::from_bytes(&saved)?;
/// assert_eq!(restored, guard);
/// assert_eq!(restored.check(id, now - 5_000, now + 2), Err(ReplayError::Replayed));
/// # Ok::<(), fanseal::DecodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayGuard {
    max_accounts: usize,
    capacity: usize,
    window_ms: u64,
    max_skew_ms: u64,
    /// The highest `top` of every account forgotten so far: a newly tracked
    /// account starts with it as its account floor.
    forgotten_floor: Option<u64>,
    anonymous: Store,
    accounts: BTreeMap<Account, Store>,
    /// Every tracked account by (top, account key): the first is the one
    /// to forget when a new account arrives at the bound.
    by_top: BTreeSet<(u64, Account)>,
    /// Entries remembered in all stores.
    len: usize,
}

impl ReplayGuard {
    /// `max_accounts` of [`ReplayGuard::new`].
    pub const DEFAULT_MAX_ACCOUNTS: usize = 1024;

    /// A guard remembering up to `capacity` ids per sender account, for up
    /// to [`Self::DEFAULT_MAX_ACCOUNTS`] accounts, accepting timestamps in
    /// `now − window_ms ..= now + max_skew_ms` (milliseconds). `capacity` is
    /// clamped to `1..=`[`limit::MAX_REPLAY_CAPACITY`].
    pub fn new(capacity: usize, window_ms: u64, max_skew_ms: u64) -> Self {
        Self::with_max_accounts(capacity, window_ms, max_skew_ms, Self::DEFAULT_MAX_ACCOUNTS)
    }

    /// As [`ReplayGuard::new`], tracking at most `max_accounts` sender
    /// accounts at once (clamped to `1..=`[`limit::MAX_REPLAY_ACCOUNTS`];
    /// the anonymous namespace of [`check`](Self::check) is not counted).
    /// Choose it at least the number of contacts the app may hear from
    /// within one window: only then is no contact ever refused
    /// [`ReplayError::TooManySenders`].
    pub fn with_max_accounts(
        capacity: usize,
        window_ms: u64,
        max_skew_ms: u64,
        max_accounts: usize,
    ) -> Self {
        ReplayGuard {
            max_accounts: max_accounts.clamp(1, limit::MAX_REPLAY_ACCOUNTS),
            capacity: capacity.clamp(1, limit::MAX_REPLAY_CAPACITY),
            window_ms,
            max_skew_ms,
            forgotten_floor: None,
            anonymous: Store::default(),
            accounts: BTreeMap::new(),
            by_top: BTreeSet::new(),
            len: 0,
        }
    }

    /// How many ids are remembered, in all accounts and the anonymous namespace.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many sender accounts are tracked (at most `max_accounts`).
    pub fn account_count(&self) -> usize {
        self.accounts.len()
    }

    /// Ids remembered per account (after clamping).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Accounts tracked at most (after clamping).
    pub fn max_accounts(&self) -> usize {
        self.max_accounts
    }

    /// Accepts an opened message once, keyed by its authenticated sender
    /// account, device id and message id. `now` is the caller's clock
    /// (Unix ms). Errors, in the order checked: `FromTheFuture`, `TooOld`,
    /// `Replayed`, `TooManySenders` (SPEC.md §6.3). A refusal changes nothing.
    pub fn check_opened(&mut self, opened: &Opened, now: u64) -> Result<(), ReplayError> {
        self.check_sender(
            Some(opened.sender_account().to_bytes()),
            opened.sender_device().to_bytes(),
            opened.message_id(),
            opened.timestamp(),
            now,
        )
    }

    /// Accepts `id` at `timestamp` once, with every id in one anonymous
    /// namespace, apart from every account of
    /// [`check_opened`](Self::check_opened). Prefer `check_opened`: with one
    /// namespace a sender can pre-empt another sender's message id.
    pub fn check(&mut self, id: MessageId, timestamp: u64, now: u64) -> Result<(), ReplayError> {
        self.check_sender(None, ANONYMOUS_DEVICE, id, timestamp, now)
    }

    /// SPEC.md §6.3: `account` is `None` for the anonymous namespace.
    pub(crate) fn check_sender(
        &mut self,
        account: Option<Account>,
        device: Device,
        id: MessageId,
        timestamp: u64,
        now: u64,
    ) -> Result<(), ReplayError> {
        // 1. The skew.
        if timestamp > now.saturating_add(self.max_skew_ms) {
            return Err(ReplayError::FromTheFuture);
        }
        // 2. The window, then the sender's floors.
        let edge = now.saturating_sub(self.window_ms);
        if timestamp < edge {
            return Err(ReplayError::TooOld);
        }
        let store = match account {
            None => Some(&self.anonymous),
            Some(key) => self.accounts.get(&key),
        };
        let mut forget = None;
        match store {
            Some(store) => {
                if store.below_floor(&device, timestamp) {
                    return Err(ReplayError::TooOld);
                }
                // 3. The id.
                if store.remembers(&device, &id, edge) {
                    return Err(ReplayError::Replayed);
                }
            }
            None => {
                if self.forgotten_floor.is_some_and(|f| timestamp <= f) {
                    return Err(ReplayError::TooOld);
                }
                // 4. Room for a new account.
                if self.accounts.len() >= self.max_accounts {
                    match self.by_top.first() {
                        Some(&(top, victim)) if top < edge => forget = Some((top, victim)),
                        _ => return Err(ReplayError::TooManySenders),
                    }
                }
            }
        }
        // Every refusal happened above: from here on the id is accepted.
        if let Some((top, victim)) = forget {
            self.forget_account(top, victim);
        }
        let capacity = self.capacity;
        match account {
            None => {
                let forgotten = self.anonymous.accept(device, id, timestamp, edge, capacity);
                self.len = (self.len + 1).saturating_sub(forgotten);
            }
            Some(key) => {
                let forgotten_floor = self.forgotten_floor;
                let store = self
                    .accounts
                    .entry(key)
                    .or_insert_with(|| Store::with_floor(forgotten_floor));
                let before = store.top();
                let forgotten = store.accept(device, id, timestamp, edge, capacity);
                let after = store.top();
                self.len = (self.len + 1).saturating_sub(forgotten);
                if let Some(b) = before {
                    self.by_top.remove(&(b, key));
                }
                if let Some(a) = after {
                    self.by_top.insert((a, key));
                }
            }
        }
        Ok(())
    }

    /// Forgets a whole account whose every timestamp and floor is below the
    /// window; a later newcomer starts at or above its `top`.
    fn forget_account(&mut self, top: u64, account: Account) {
        self.by_top.remove(&(top, account));
        if let Some(store) = self.accounts.remove(&account) {
            self.len = self.len.saturating_sub(store.len());
        }
        self.forgotten_floor = Some(self.forgotten_floor.map_or(top, |f| f.max(top)));
    }
}
