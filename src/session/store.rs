//! A receiving device's inbound sessions (SPEC.md §15.4 "The
//! receiving store", §15.9): lookup by session id, tombstones of dropped
//! sessions, and caps on how many sessions any sender can make it hold.
//!
//! Sessions are grouped in **slots**, one per (sender account, sender
//! device id, SHA-256 of the conversation id). A slot holds at most
//! [`s::MAX_SESSIONS_PER_SENDER_DEVICE`] sessions (the current and the
//! previous) and a **floor**: the highest `created_at` of a session the slot
//! dropped. A distribution at or below the floor, or of a dropped session,
//! is a replay ([`SessionError::StaleDistribution`]): a relay that
//! re-delivers an old distribution cannot rebuild a dropped session and
//! have its messages accepted twice. A floor is forgotten once every
//! distribution at or below it would be refused by age anyway
//! (`floor + MAX_AGE_MS + MAX_CLOCK_SKEW_MS < now`).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;

use zeroize::Zeroizing;

use crate::codec::{Reader, Writer};
use crate::consts::{session as s, SUITE_X25519_SHA256_AES256GCM_ED25519};
use crate::envelope::{DeviceListLookup, Opened};
use crate::error::DecodeError;
use crate::identity::{AccountPublicKey, DeviceCertificate, DeviceId, DeviceKeyring};
use crate::primitives::Sha256Stream;
use crate::session::distribution::Distribution;
use crate::session::error::SessionError;
use crate::session::inbound::{check_new_distribution, InboundSession, SessionPlaintext};
use crate::session::message::{SessionId, SessionMessage};
use crate::session::schedule;

/// (sender account, sender device id, conversation digest).
type SlotKey = ([u8; 32], [u8; 16], [u8; 32]);

#[derive(Default)]
struct Slot {
    /// Highest `created_at` of a session this slot dropped.
    floor: Option<u64>,
    /// The floor was raised by a [`SessionError::ConflictingDistribution`]:
    /// the slot takes no new session until that floor ages out (an
    /// equivocating sender cannot keep refreshing a tombstone).
    conflict: bool,
    /// At most [`s::MAX_SESSIONS_PER_SENDER_DEVICE`], oldest first.
    sessions: Vec<InboundSession>,
}

impl Slot {
    /// A tombstone-only slot whose floor has aged out at `now`: it does not
    /// count against the caps and is forgotten at the next commit.
    fn forgettable(&self, now: u64) -> bool {
        self.sessions.is_empty() && self.floor.is_none_or(|f| aged_out(f, now))
    }

    /// A conflict floor that has not aged out at `now`: the slot takes no
    /// new session (SPEC.md §15.4 step 8).
    fn conflict_holds(&self, now: u64) -> bool {
        self.conflict && self.floor.is_some_and(|f| !aged_out(f, now))
    }
}

/// What [`InboundSessions::receive`] did with a distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DistributionReceived {
    /// A new inbound session was created.
    New(SessionId),
    /// The session was already held; the distribution was consistent
    /// with it (and may have extended it to earlier indices).
    Held(SessionId),
}

/// Every inbound session of one receiving device, with the tombstones and
/// caps of SPEC.md §15.4. Holds chain keys: wiped on drop (each
/// session is), never printed.
///
/// Bounds: at most [`s::MAX_INBOUND_SESSIONS`] sessions in total,
/// [`s::MAX_SESSIONS_PER_ACCOUNT`] per sender account and
/// [`s::MAX_SESSIONS_PER_SENDER_DEVICE`] per (sender device, conversation)
/// (at a session cap a new session evicts, by fair share); at most
/// [`s::MAX_SLOTS`] slots ([`s::MAX_SLOTS_PER_ACCOUNT`] per account).
pub struct InboundSessions {
    owner_account: AccountPublicKey,
    owner_device: DeviceId,
    slots: BTreeMap<SlotKey, Slot>,
    /// Session id → its slot (session ids are unique in a store).
    by_id: BTreeMap<SessionId, SlotKey>,
    /// The highest floor of a tombstone this store forgot (aged out): a
    /// distribution created at or before it is stale whatever the clock
    /// does later (§15.4 step 8).
    forgotten_floor: Option<u64>,
}

// Every held session wipes its keys on drop; the rest is public.
impl zeroize::ZeroizeOnDrop for InboundSessions {}

impl fmt::Debug for InboundSessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboundSessions")
            .field("sessions", &self.by_id.len())
            .field("slots", &self.slots.len())
            .finish_non_exhaustive()
    }
}

fn conversation_digest(conversation: &[u8]) -> [u8; 32] {
    let mut h = Sha256Stream::labeled(s::CONVERSATION_DIGEST);
    h.update(conversation);
    h.finish()
}

fn slot_key(sender: &DeviceCertificate, conversation: &[u8]) -> SlotKey {
    (
        *sender.account().as_bytes(),
        sender.device_id().0,
        conversation_digest(conversation),
    )
}

/// `created_at + MAX_AGE_MS + MAX_CLOCK_SKEW_MS < now`: a distribution
/// created at `created_at` is refused by age at `now`.
fn aged_out(created_at: u64, now: u64) -> bool {
    created_at
        .saturating_add(s::MAX_AGE_MS)
        .saturating_add(s::MAX_CLOCK_SKEW_MS)
        < now
}

impl InboundSessions {
    /// An empty store for the receiving device whose certificate is `owner`.
    pub fn new(owner: &DeviceCertificate) -> Self {
        InboundSessions {
            owner_account: *owner.account(),
            owner_device: owner.device_id(),
            slots: BTreeMap::new(),
            by_id: BTreeMap::new(),
            forgotten_floor: None,
        }
    }

    /// Sessions held.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when no session is held.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The held session with this id.
    pub fn get(&self, id: &SessionId) -> Option<&InboundSession> {
        let key = self.by_id.get(id)?;
        self.slots
            .get(key)?
            .sessions
            .iter()
            .find(|x| x.session_id == *id)
    }

    fn get_mut(&mut self, id: &SessionId) -> Option<&mut InboundSession> {
        let key = self.by_id.get(id)?;
        self.slots
            .get_mut(key)?
            .sessions
            .iter_mut()
            .find(|x| x.session_id == *id)
    }

    fn account_counts(&self, account: &[u8; 32]) -> (usize, usize) {
        let lo = (*account, [0u8; 16], [0u8; 32]);
        let hi = (*account, [0xffu8; 16], [0xffu8; 32]);
        self.slots
            .range(lo..=hi)
            .fold((0, 0), |(slots, sessions), (_, v)| {
                (slots + 1, sessions + v.sessions.len())
            })
    }

    /// Takes a distribution (an envelope `receiver` opened, which SHOULD
    /// have passed the replay guard's `check_opened` first: a distribution
    /// is an envelope and its replay id is the envelope's message id).
    ///
    /// Checks, in order (SPEC.md §15.4): `receiver` is the store's owner
    /// ([`SessionError::WrongDevice`]); the payload decodes
    /// ([`SessionError::Decode`]); [`SessionError::WrongConversation`];
    /// [`SessionError::OwnSession`]; [`SessionError::SenderInGrace`];
    /// [`SessionError::SessionExpired`]
    /// (index at or above `MAX_MESSAGES`, created after the envelope's
    /// timestamp plus skew, or created more than `MAX_AGE_MS + skew` before
    /// `now`); [`SessionError::FromTheFuture`] (created more than the skew
    /// after `now`); then, for a held session id: another sender device or
    /// conversation holds it ([`SessionError::SessionIdInUse`]), else the
    /// consistency check of [`InboundSession::check_distribution`] and
    /// `Ok(DistributionReceived::Held)`; a
    /// [`SessionError::ConflictingDistribution`] **drops** the held session
    /// (with a tombstone), the one refusal that changes the store. For a new id: [`SessionError::StaleDistribution`]
    /// (at or below the slot's floor, or older than both held sessions of a
    /// full slot, or a slot whose floor a conflicting distribution raised
    /// and has not aged out); [`SessionError::TooManySessions`] (a new slot beyond the
    /// account's or the store's slot cap; aged-out tombstones do not
    /// count). Only then: aged-out tombstones are forgotten, the eviction
    /// victim (at the account's session cap its own oldest; in a full
    /// store the fair-share victim, SPEC.md §15.4 step 10) and the oldest
    /// session of a full slot are dropped (tombstoned), and the new one is
    /// stored. Any other refusal changes nothing.
    pub fn receive(
        &mut self,
        receiver: &DeviceKeyring,
        opened: &Opened,
        now: u64,
    ) -> Result<DistributionReceived, SessionError> {
        let r = self.receive_inner(receiver, opened, now);
        crate::primitives::scrub_stack();
        r
    }

    #[inline(never)]
    fn receive_inner(
        &mut self,
        receiver: &DeviceKeyring,
        opened: &Opened,
        now: u64,
    ) -> Result<DistributionReceived, SessionError> {
        let owner = receiver.certificate();
        if *owner.account() != self.owner_account || owner.device_id() != self.owner_device {
            return Err(SessionError::WrongDevice);
        }
        let d = Distribution::decode(opened.payload())?;
        check_new_distribution(receiver, opened, &d)?;
        if aged_out(d.created_at, now) {
            return Err(SessionError::SessionExpired);
        }
        if d.created_at > now.saturating_add(s::MAX_CLOCK_SKEW_MS) {
            return Err(SessionError::FromTheFuture);
        }
        let key = slot_key(opened.sender_certificate(), &d.conversation);
        let id = d.session_id(opened.sender_certificate());
        if let Some(held_key) = self.by_id.get(&id) {
            if *held_key != key {
                return Err(SessionError::SessionIdInUse);
            }
            let held = self.get_mut(&id).ok_or(SessionError::Internal)?;
            return match held.merge_distribution(opened, &d) {
                Ok(()) => Ok(DistributionReceived::Held(id)),
                Err(SessionError::ConflictingDistribution) => {
                    // The sender gave devices different chains: this
                    // device reads the session no further (a tombstone
                    // stops it coming back); the error names the sender.
                    self.drop_session(&id);
                    if let Some(slot) = self.slots.get_mut(&key) {
                        slot.conflict = true;
                    }
                    Err(SessionError::ConflictingDistribution)
                }
                Err(e) => Err(e),
            };
        }
        let order = (d.created_at, id);
        let mut evict = false;
        if self.forgotten_floor.is_some_and(|f| d.created_at <= f) {
            return Err(SessionError::StaleDistribution);
        }
        let is_new_slot = match self.slots.get(&key) {
            Some(slot) => {
                if slot.floor.is_some_and(|f| d.created_at <= f) || slot.conflict_holds(now) {
                    return Err(SessionError::StaleDistribution);
                }
                if slot.sessions.len() >= s::MAX_SESSIONS_PER_SENDER_DEVICE {
                    let oldest = slot
                        .sessions
                        .first()
                        .map(|x| (x.created_at, x.session_id))
                        .ok_or(SessionError::Internal)?;
                    if order < oldest {
                        return Err(SessionError::StaleDistribution);
                    }
                    evict = true;
                }
                false
            }
            None => true,
        };
        let mut victim = None;
        if !evict {
            if is_new_slot {
                let (account_slots, all_slots) = self.live_slot_counts(&key.0, now);
                if account_slots >= s::MAX_SLOTS_PER_ACCOUNT || all_slots >= s::MAX_SLOTS {
                    return Err(SessionError::TooManySessions);
                }
            }
            let (_, held) = self.account_counts(&key.0);
            if held >= s::MAX_SESSIONS_PER_ACCOUNT || self.by_id.len() >= s::MAX_INBOUND_SESSIONS {
                victim = Some(
                    self.eviction_victim(&key, held)
                        .ok_or(SessionError::Internal)?,
                );
            }
        }
        let session = InboundSession::from_distribution(receiver, opened, &d)?;
        self.forget_aged_tombstones(now);
        if let Some(victim) = victim {
            self.drop_session(&victim);
        }
        let slot = self.slots.entry(key).or_default();
        if evict {
            let dropped = slot.sessions.remove(0);
            slot.floor = Some(
                slot.floor
                    .map_or(dropped.created_at, |f| f.max(dropped.created_at)),
            );
            self.by_id.remove(&dropped.session_id);
        }
        let at = slot
            .sessions
            .iter()
            .position(|x| (x.created_at, x.session_id) > order)
            .unwrap_or(slot.sessions.len());
        slot.sessions.insert(at, session);
        self.by_id.insert(id, key);
        Ok(DistributionReceived::New(id))
    }

    /// Decrypts a session message with the held session its session id
    /// names (SPEC.md §15.9), [`SessionError::UnknownSession`] when
    /// none is held (never created, or dropped).
    pub fn decrypt<D: DeviceListLookup + ?Sized>(
        &mut self,
        bytes: &[u8],
        directory: &D,
        now: u64,
    ) -> Result<SessionPlaintext, SessionError> {
        let msg = SessionMessage::from_bytes(bytes)?;
        let r = match self.get_mut(&msg.session_id) {
            Some(session) => session.decrypt_message(&msg, directory, now),
            None => Err(SessionError::UnknownSession),
        };
        crate::primitives::scrub_stack();
        r
    }

    /// Drops a held session (its keys are wiped) and leaves a tombstone:
    /// its slot's floor rises to its `created_at`, so no distribution of it
    /// (or of an older session of that sender device and conversation) is
    /// accepted again. Returns whether it was held.
    pub fn drop_session(&mut self, id: &SessionId) -> bool {
        let Some(key) = self.by_id.remove(id) else {
            return false;
        };
        if let Some(slot) = self.slots.get_mut(&key) {
            if let Some(at) = slot.sessions.iter().position(|x| x.session_id == *id) {
                let dropped = slot.sessions.remove(at);
                slot.floor = Some(
                    slot.floor
                        .map_or(dropped.created_at, |f| f.max(dropped.created_at)),
                );
            }
        }
        true
    }

    /// Drops every held session created more than `2 · MAX_AGE_MS` before
    /// `now` (no message of it can be newer than `MAX_AGE_MS + skew` after
    /// its creation; the rest is time for delivery), leaving tombstones,
    /// and forgets the tombstones no distribution can pass any more.
    pub fn prune(&mut self, now: u64) {
        let old: Vec<SessionId> = self
            .slots
            .values()
            .flat_map(|slot| slot.sessions.iter())
            .filter(|x| {
                x.created_at.saturating_add(2 * s::MAX_AGE_MS) < now
                    || x.created_at > now.saturating_add(s::MAX_CLOCK_SKEW_MS)
            })
            .map(|x| x.session_id)
            .collect();
        for id in old {
            self.drop_session(&id);
        }
        self.forget_aged_tombstones(now);
    }

    /// Removes slots that hold no session and whose floor has aged out;
    /// the store's forgotten floor rises to the highest floor removed.
    fn forget_aged_tombstones(&mut self, now: u64) {
        let mut forgotten = self.forgotten_floor;
        self.slots.retain(|_, slot| {
            let forget = slot.forgettable(now);
            if forget {
                forgotten = forgotten.max(slot.floor);
            }
            !forget
        });
        self.forgotten_floor = forgotten;
    }

    /// The session a new one in slot `key` evicts (§15.4 step 10) when its
    /// account holds `held` sessions and the account or the store is at its
    /// cap. At the account's cap: the account's own oldest session. At the
    /// store's: the **fair-share** victim: counting the new session's
    /// account as `held + 1`, the accounts holding the most sessions; among
    /// their sessions, the smallest `(created at, session id)`. Sessions in
    /// `key`'s own slot are never candidates. An account is evicted only
    /// while it holds at least as many sessions as the new one's account
    /// will, so no set of senders can push another below a fair share.
    fn eviction_victim(&self, key: &SlotKey, held: usize) -> Option<SessionId> {
        let candidates = || {
            self.slots
                .iter()
                .filter(move |(k, _)| *k != key)
                .flat_map(|(k, slot)| slot.sessions.iter().map(move |x| (k, x)))
        };
        let oldest_of = |accounts: &dyn Fn(&[u8; 32]) -> bool| {
            candidates()
                .filter(|(k, _)| accounts(&k.0))
                .map(|(_, x)| (x.created_at, x.session_id))
                .min()
                .map(|(_, id)| id)
        };
        if held >= s::MAX_SESSIONS_PER_ACCOUNT {
            return oldest_of(&|a| *a == key.0);
        }
        let mut counts: BTreeMap<&[u8; 32], usize> = BTreeMap::new();
        for (k, slot) in &self.slots {
            *counts.entry(&k.0).or_default() += slot.sessions.len();
        }
        counts.insert(&key.0, held + 1);
        // Accounts with a candidate session, by count.
        let mut with_candidates: BTreeMap<&[u8; 32], usize> = BTreeMap::new();
        for (k, _) in candidates() {
            with_candidates.insert(&k.0, counts.get(&k.0).copied().unwrap_or(0));
        }
        let most = with_candidates.values().copied().max()?;
        oldest_of(&|a| with_candidates.get(a) == Some(&most))
    }

    /// Slots of `account`, and of the store, that are not tombstone-only
    /// slots whose floor has aged out at `now` (those are forgotten at the
    /// next commit, so they do not count against the caps).
    fn live_slot_counts(&self, account: &[u8; 32], now: u64) -> (usize, usize) {
        let mut mine = 0;
        let mut all = 0;
        for (k, slot) in &self.slots {
            if !slot.forgettable(now) {
                all += 1;
                if k.0 == *account {
                    mine += 1;
                }
            }
        }
        (mine, all)
    }

    /// The floor of the slot of (sender, conversation): the highest
    /// `created_at` of a session dropped there, if any.
    pub fn tombstone_floor(&self, sender: &DeviceCertificate, conversation: &[u8]) -> Option<u64> {
        self.slots.get(&slot_key(sender, conversation))?.floor
    }
}

impl InboundSessions {
    /// The store as versioned, canonical bytes (object type `0x25`,
    /// SPEC.md §15.8), in a buffer wiped on drop: every held session
    /// (its `0x24` export) and every tombstone. Export after every change
    /// (an accepted distribution or message, a drop): an older copy brings
    /// back deleted keys and forgets tombstones.
    ///
    /// ```text
    /// 0x02 || 0x25 || u16 suite || 32 owner account || 16 owner device id
    /// u8 has forgotten floor (0 or 1) || u64 forgotten floor (0 without one)
    /// u16 slot count (0..=MAX_SLOTS), slots strictly ascending by key:
    ///   32 sender account || 16 sender device id || 32 conversation digest
    ///   u8 floor flag (0 none, 1 floor, 2 floor raised by a conflicting
    ///   distribution) || u64 floor (0 without one)
    ///   u8 sessions (0..=2; 0 only with a floor), ascending (created at, id):
    ///     u32 length || inbound session export (0x24)
    /// 32 state check
    /// ```
    pub fn export(&self) -> Zeroizing<Vec<u8>> {
        let r = self.export_inner();
        crate::primitives::scrub_stack();
        r
    }

    #[inline(never)]
    fn export_inner(&self) -> Zeroizing<Vec<u8>> {
        // Every session's bytes first, so the output is allocated once at
        // its exact size (a growing buffer would leave copies of chain keys
        // in freed memory).
        let parts: Vec<Zeroizing<Vec<u8>>> = self
            .slots
            .values()
            .flat_map(|slot| slot.sessions.iter().map(InboundSession::export))
            .collect();
        let len = 2
            + 2
            + 32
            + 16
            + 1
            + 8
            + 2
            + self.slots.len() * (32 + 16 + 32 + 1 + 8 + 1)
            + parts.iter().map(|p| 4 + p.len()).sum::<usize>()
            + 32;
        let mut w = Writer::with_capacity(len);
        w.object_prefix(s::STORE_TYPE);
        w.u16(SUITE_X25519_SHA256_AES256GCM_ED25519);
        w.put(self.owner_account.as_bytes());
        w.put(&self.owner_device.0);
        w.u8(u8::from(self.forgotten_floor.is_some()));
        w.u64(self.forgotten_floor.unwrap_or(0));
        w.len_u16(self.slots.len());
        let mut parts = parts.iter();
        for (key, slot) in &self.slots {
            w.put(&key.0);
            w.put(&key.1);
            w.put(&key.2);
            w.u8(match (slot.floor, slot.conflict) {
                (None, _) => 0,
                (Some(_), false) => 1,
                (Some(_), true) => 2,
            });
            w.u64(slot.floor.unwrap_or(0));
            w.u8(u8::try_from(slot.sessions.len()).unwrap_or(u8::MAX));
            for _ in &slot.sessions {
                if let Some(bytes) = parts.next() {
                    w.bytes_u32(bytes);
                }
            }
        }
        let check = schedule::state_check(w.as_slice());
        w.put(&check);
        Zeroizing::new(w.into_vec())
    }

    /// Loads an export of the store of the device whose certificate is
    /// `owner`; nothing is half-loaded.
    ///
    /// # Errors
    /// [`SessionError::WrongDevice`] (another owner); [`SessionError::Decode`]:
    /// `Truncated`, `OutOfRange` (slot count, session count, a session's
    /// length), `NonCanonical("forgotten floor flag")`,
    /// `NonCanonical("slots order")`, `NonCanonical("floor flag")`,
    /// `NonCanonical("empty slot")`, `Inconsistent("session caps")` (as
    /// soon as a slot would exceed a cap), a session's own import errors,
    /// `Inconsistent("session slot")` (a session's sender or conversation
    /// is not its slot's), `NonCanonical("sessions order")`,
    /// `Inconsistent("duplicate session id")`, `Inconsistent("state
    /// check")`, `TrailingBytes`.
    pub fn import(bytes: &[u8], owner: &DeviceCertificate) -> Result<Self, SessionError> {
        let r = Self::import_inner(bytes, owner);
        crate::primitives::scrub_stack();
        r
    }

    #[inline(never)]
    fn import_inner(bytes: &[u8], owner: &DeviceCertificate) -> Result<Self, SessionError> {
        let mut r = Reader::new(bytes);
        r.object_prefix(s::STORE_TYPE)?;
        r.suite()?;
        let owner_account = AccountPublicKey(r.array("owner account")?);
        let owner_device = DeviceId(r.array("owner device id")?);
        if owner_account != *owner.account() || owner_device != owner.device_id() {
            return Err(SessionError::WrongDevice);
        }
        let mut store = InboundSessions::new(owner);
        let (forgotten, _) = read_floor(&mut r, "forgotten floor flag", "forgotten floor", false)?;
        store.forgotten_floor = forgotten;
        let n = usize::from(r.u16("slot count")?);
        let n = r.bounded(n, 0, s::MAX_SLOTS, "slot count")?;
        let mut previous: Option<SlotKey> = None;
        // The caps are checked as the slots load (they are sorted by
        // account), so a crafted export costs at most what a full store
        // holds, never more (§15.8).
        let (mut account_slots, mut account_sessions) = (0usize, 0usize);
        for _ in 0..n {
            let key: SlotKey = (
                r.array("sender account")?,
                r.array("sender device id")?,
                r.array("conversation digest")?,
            );
            if previous.is_some_and(|p| p >= key) {
                return Err(DecodeError::NonCanonical("slots order").into());
            }
            if previous.is_none_or(|p| p.0 != key.0) {
                (account_slots, account_sessions) = (0, 0);
            }
            previous = Some(key);
            let (floor, conflict) = read_floor(&mut r, "floor flag", "floor", true)?;
            let count = usize::from(r.u8("session count")?);
            let count = r.bounded(count, 0, s::MAX_SESSIONS_PER_SENDER_DEVICE, "session count")?;
            if count == 0 && floor.is_none() {
                return Err(DecodeError::NonCanonical("empty slot").into());
            }
            account_slots += 1;
            account_sessions += count;
            if account_slots > s::MAX_SLOTS_PER_ACCOUNT
                || account_sessions > s::MAX_SESSIONS_PER_ACCOUNT
                || store.by_id.len() + count > s::MAX_INBOUND_SESSIONS
            {
                return Err(DecodeError::Inconsistent("session caps").into());
            }
            let mut slot = Slot {
                floor,
                conflict,
                sessions: Vec::with_capacity(count),
            };
            for _ in 0..count {
                let inner = r.bytes_u32(MAX_SESSION_EXPORT, "session")?;
                let session = InboundSession::import(inner, owner)?;
                if slot_key(&session.sender, &session.conversation) != key {
                    return Err(DecodeError::Inconsistent("session slot").into());
                }
                let order = (session.created_at, session.session_id);
                if slot
                    .sessions
                    .last()
                    .is_some_and(|p| (p.created_at, p.session_id) >= order)
                {
                    return Err(DecodeError::NonCanonical("sessions order").into());
                }
                if store.by_id.insert(session.session_id, key).is_some() {
                    return Err(DecodeError::Inconsistent("duplicate session id").into());
                }
                slot.sessions.push(session);
            }
            store.slots.insert(key, slot);
        }
        schedule::read_state_check(&mut r, bytes)?;
        r.finish()?;
        Ok(store)
    }
}

/// `u8 flag || u64 value`: flag 0 with value 0 is none, flag 1 is
/// `Some(value)`, flag 2 (only where `conflict_allowed`: a slot's floor)
/// is `Some(value)` raised by a conflicting distribution; anything else is
/// `NonCanonical(flag_name)`. Returns the floor and whether it is a
/// conflict floor.
fn read_floor(
    r: &mut Reader<'_>,
    flag_name: &'static str,
    name: &'static str,
    conflict_allowed: bool,
) -> Result<(Option<u64>, bool), DecodeError> {
    let flag = r.u8(flag_name)?;
    let value = r.u64(name)?;
    match (flag, value) {
        (0, 0) => Ok((None, false)),
        (1, f) => Ok((Some(f), false)),
        (2, f) if conflict_allowed => Ok((Some(f), true)),
        _ => Err(DecodeError::NonCanonical(flag_name)),
    }
}

/// The largest inbound session export (bytes): §15.8's length with the
/// largest conversation id and skipped store.
const MAX_SESSION_EXPORT: usize = 366 + s::MAX_CONVERSATION_ID + 36 * s::MAX_SKIPPED_KEYS;
