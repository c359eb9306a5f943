//! The receiving side of a sender-key session (SPEC.md §15.5, §15.9).
//!
//! One inbound session per (sender device, session id): the chain key of
//! the next expected index, and the message keys of indices skipped on the
//! way (at most [`s::MAX_SKIPPED_KEYS`]). A message key is derived when its
//! message arrives (or when a later one does), used once and wiped.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;

use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::codec::Reader;
use crate::consts::{limit, session as s, size};
use crate::envelope::{DeviceListLookup, Opened};
use crate::identity::{AccountPublicKey, DeviceCertificate, DeviceId, DeviceKeyring};
use crate::primitives::Ed25519Public;
use crate::session::chain::{ChainKey, MessageKey};
use crate::session::distribution::Distribution;
use crate::session::error::SessionError;
use crate::session::message::{SessionId, SessionMessage};
use crate::session::schedule::{self, BodyKeys, Context};

/// A receiving device's state for one sender device's session. Holds the
/// chain key and skipped message keys: wiped on drop, never printed,
/// exported only by the loudly named [`InboundSession::export`].
///
/// See [`crate::OutboundSession`] for an example.
pub struct InboundSession {
    /// The receiving device this state belongs to (account, device id).
    pub(crate) owner_account: AccountPublicKey,
    pub(crate) owner_device: DeviceId,
    /// The sending device's certificate, as the distribution's envelope
    /// authenticated it.
    pub(crate) sender: DeviceCertificate,
    /// The certificate's Ed25519 key, validated once (decompressing it per
    /// message would cost as much as a third of a verification).
    pub(crate) sender_key: Ed25519Public,
    pub(crate) session_id: SessionId,
    pub(crate) created_at: u64,
    /// The sender's rotation policy, from the distribution: indices at or
    /// above `max_messages` and timestamps past `created_at + max_age_ms`
    /// (plus skew) are refused (M8 of the review).
    pub(crate) policy: crate::session::policy::RotationPolicy,
    pub(crate) conversation: Vec<u8>,
    pub(crate) binding: [u8; 32],
    /// The lowest index this state could ever decrypt: every index below
    /// it was never accepted here (M6 of the review: an earlier consistent
    /// distribution lowers it and adds the keys in between).
    pub(crate) first_index: u32,
    pub(crate) next_index: u32,
    pub(crate) chain_key: ChainKey,
    pub(crate) skipped: BTreeMap<u32, MessageKey>,
    /// The weakest suite of the distribution envelopes this state took:
    /// the session is as confidential as that one (M5 of the review).
    pub(crate) suite: crate::Suite,
}

impl ZeroizeOnDrop for InboundSession {}

impl fmt::Debug for InboundSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboundSession")
            .field("sender", &self.sender)
            .field("session_id", &self.session_id)
            .field("next_index", &self.next_index)
            .field("skipped", &self.skipped.len())
            .finish_non_exhaustive()
    }
}

/// An authenticated session message. Its `Debug` shows lengths, not the
/// payload or AAD; the payload is the caller's (not wiped on drop).
#[derive(Clone, PartialEq, Eq)]
pub struct SessionPlaintext {
    payload: Vec<u8>,
    aad: Vec<u8>,
    timestamp: u64,
    index: u32,
    session_id: SessionId,
    sender: DeviceCertificate,
    in_grace: bool,
    conversation: Vec<u8>,
    suite: crate::Suite,
}

impl fmt::Debug for SessionPlaintext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionPlaintext")
            .field("payload_len", &self.payload.len())
            .field("aad_len", &self.aad.len())
            .field("timestamp", &self.timestamp)
            .field("index", &self.index)
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

impl SessionPlaintext {
    /// The payload.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }
    /// Takes the payload.
    pub fn into_payload(self) -> Vec<u8> {
        self.payload
    }
    /// The per-message associated data the sender bound.
    pub fn aad(&self) -> &[u8] {
        &self.aad
    }
    /// The sender's timestamp (Unix ms, signed).
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }
    /// The message's index in the session.
    pub fn index(&self) -> u32 {
        self.index
    }
    /// The session id.
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }
    /// The sending device's certificate (on its account's verified list at
    /// decryption, or accepted in grace).
    pub fn sender_certificate(&self) -> &DeviceCertificate {
        &self.sender
    }
    /// The sender's account.
    pub fn sender_account(&self) -> &AccountPublicKey {
        self.sender.account()
    }
    /// True when the sender certificate was accepted under the caller's
    /// grace policy (SPEC.md §5.2 step 9).
    pub fn accepted_in_grace(&self) -> bool {
        self.in_grace
    }
    /// The conversation id the session is bound to (its distribution's
    /// envelope AAD). The per-message [`SessionPlaintext::aad`] is the
    /// sender's free choice and is **not** the conversation: check this one
    /// against the conversation's current members (SPEC.md §15.9).
    pub fn conversation_id(&self) -> &[u8] {
        &self.conversation
    }
    /// The weakest suite of the distribution envelopes that carried this
    /// session's chain to this device: the message is as confidential as
    /// that envelope (a session message's own suite field only names its
    /// format).
    pub fn suite(&self) -> crate::Suite {
        self.suite
    }
}

/// The work a message needs before anything is committed.
struct Pending {
    message_key: MessageKey,
    /// For an index at or after `next_index`: the skipped keys before it
    /// and the chain key after it.
    advance: Option<(Vec<(u32, MessageKey)>, ChainKey)>,
}

impl InboundSession {
    /// Creates the inbound session from an opened envelope whose payload is
    /// a distribution (SPEC.md §15.4). `receiver` is the keyring that
    /// opened it (the state's owner). `open` already authenticated the
    /// sending device against its account's verified list (a device not on
    /// that list never yields an [`Opened`]).
    ///
    /// This builds one session and keeps no record of sessions dropped
    /// since: receivers use [`crate::InboundSessions::receive`], which adds
    /// the tombstones, caps and age check that stop a replayed distribution
    /// from rebuilding a dropped session (SPEC.md §15.4).
    ///
    /// Checks, in order: the payload decodes as a distribution
    /// ([`SessionError::Decode`]); its conversation id equals the envelope's
    /// AAD ([`SessionError::WrongConversation`]); the sender is not the
    /// receiving device ([`SessionError::OwnSession`]); the envelope was not
    /// accepted in grace ([`SessionError::SenderInGrace`]); its index is below
    /// [`crate::session_limit::MAX_MESSAGES`] and its created-at at most the
    /// envelope's timestamp plus [`crate::session_limit::MAX_CLOCK_SKEW_MS`]
    /// ([`SessionError::SessionExpired`]).
    ///
    /// # Errors
    /// As above.
    pub fn from_opened(receiver: &DeviceKeyring, opened: &Opened) -> Result<Self, SessionError> {
        let r = Self::from_opened_inner(receiver, opened);
        crate::primitives::scrub_stack();
        r
    }

    #[inline(never)]
    fn from_opened_inner(receiver: &DeviceKeyring, opened: &Opened) -> Result<Self, SessionError> {
        let d = Distribution::decode(opened.payload())?;
        check_new_distribution(receiver, opened, &d)?;
        Self::from_distribution(receiver, opened, &d)
    }

    /// The state a checked distribution gives.
    pub(crate) fn from_distribution(
        receiver: &DeviceKeyring,
        opened: &Opened,
        d: &Distribution,
    ) -> Result<Self, SessionError> {
        let sender = opened.sender_certificate().clone();
        let session_id = d.session_id(&sender);
        // `open` verified a signature under this key: it is valid.
        let sender_key = Ed25519Public::from_bytes(&sender.keys().ed25519)
            .map_err(|_| SessionError::Internal)?;
        let owner = receiver.certificate();
        Ok(InboundSession {
            sender_key,
            owner_account: *owner.account(),
            owner_device: owner.device_id(),
            binding: schedule::binding(&sender.keys().ed25519, &session_id, &d.conversation),
            sender,
            session_id,
            created_at: d.created_at,
            policy: d.policy,
            conversation: d.conversation.clone(),
            first_index: d.index,
            next_index: d.index,
            chain_key: d.chain_key.clone(),
            skipped: BTreeMap::new(),
            suite: opened.suite(),
        })
    }

    /// The session id.
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }
    /// The sending device's certificate.
    pub fn sender_certificate(&self) -> &DeviceCertificate {
        &self.sender
    }
    /// The conversation id the session is bound to.
    pub fn conversation_id(&self) -> &[u8] {
        &self.conversation
    }
    /// When the sender created the session (its clock, Unix ms).
    pub fn created_at(&self) -> u64 {
        self.created_at
    }
    /// The lowest index this state could ever decrypt (the lowest index
    /// of a distribution it took).
    pub fn first_index(&self) -> u32 {
        self.first_index
    }
    /// The next index not yet reached.
    pub fn next_index(&self) -> u32 {
        self.next_index
    }
    /// The weakest suite of the distribution envelopes this state took.
    pub fn suite(&self) -> crate::Suite {
        self.suite
    }
    /// Skipped message keys held (at most [`crate::session_limit::MAX_SKIPPED_KEYS`]).
    pub fn skipped_count(&self) -> usize {
        self.skipped.len()
    }

    /// Checks a further distribution of the same session (a re-send to an
    /// added device also reaches present ones) against the held chain: the
    /// held state is kept either way.
    ///
    /// # Errors
    /// In order: [`SessionError::Decode`]; [`SessionError::NotThisSession`]
    /// (another sender device, key or session id);
    /// [`SessionError::WrongConversation`] (its conversation id is not the
    /// envelope AAD); [`SessionError::TooFarAhead`] (the indices differ by
    /// more than [`crate::session_limit::MAX_SKIP`]: not compared);
    /// [`SessionError::ConflictingDistribution`] (another conversation,
    /// creation time or chain: the sender gave devices different states).
    pub fn check_distribution(&self, opened: &Opened) -> Result<(), SessionError> {
        let r = self.check_distribution_inner(opened);
        crate::primitives::scrub_stack();
        r
    }

    #[inline(never)]
    fn check_distribution_inner(&self, opened: &Opened) -> Result<(), SessionError> {
        let d = Distribution::decode(opened.payload())?;
        self.check_decoded(opened, &d)
    }

    /// A further distribution of this held session, in the receiving
    /// store: checked as [`InboundSession::check_distribution`]; one at an
    /// index below [`InboundSession::first_index`] (the relay delivered a
    /// re-distribution first) adds the message keys of the indices in
    /// between as skipped keys, so the device loses none it was sent. No
    /// index below `first_index` was ever accepted here, so this opens no
    /// replay; delivering the same distribution again adds nothing.
    ///
    /// # Errors
    /// As [`InboundSession::check_distribution`], then
    /// [`SessionError::TooManySkipped`].
    pub(crate) fn merge_distribution(
        &mut self,
        opened: &Opened,
        d: &Distribution,
    ) -> Result<(), SessionError> {
        self.check_decoded(opened, d)?;
        self.suite = self.suite.min(opened.suite());
        if d.index >= self.first_index {
            return Ok(());
        }
        let gap = usize::try_from(self.first_index - d.index).unwrap_or(usize::MAX);
        if self.skipped.len().saturating_add(gap) > s::MAX_SKIPPED_KEYS {
            return Err(SessionError::TooManySkipped);
        }
        let mut ck = d.chain_key.clone();
        let mut keys = Vec::with_capacity(gap);
        for i in d.index..self.first_index {
            keys.push((i, ck.advance().map_err(|_| SessionError::Internal)?));
        }
        self.skipped.extend(keys);
        self.first_index = d.index;
        Ok(())
    }

    fn check_decoded(&self, opened: &Opened, d: &Distribution) -> Result<(), SessionError> {
        let cert = opened.sender_certificate();
        if cert.account() != self.sender.account()
            || cert.device_id() != self.sender.device_id()
            || cert.keys().ed25519 != self.sender.keys().ed25519
            || d.session_id(cert) != self.session_id
        {
            return Err(SessionError::NotThisSession);
        }
        if d.conversation.as_slice() != opened.aad() {
            return Err(SessionError::WrongConversation);
        }
        let (low, low_index, high, high_index) = if d.index >= self.next_index {
            (&self.chain_key, self.next_index, &d.chain_key, d.index)
        } else {
            (&d.chain_key, d.index, &self.chain_key, self.next_index)
        };
        let steps = high_index - low_index;
        if steps > s::MAX_SKIP {
            return Err(SessionError::TooFarAhead {
                index: d.index,
                next: self.next_index,
            });
        }
        let mut ck = low.clone();
        for _ in 0..steps {
            ck = ck.next().map_err(|_| SessionError::Internal)?;
        }
        let same = ck.ct_equals(high)
            && d.conversation == self.conversation
            && d.created_at == self.created_at
            && d.policy == self.policy;
        if same {
            Ok(())
        } else {
            Err(SessionError::ConflictingDistribution)
        }
    }

    /// Decrypts and authenticates a session message (SPEC.md §15.9),
    /// then checks the sender device against `directory` at `now` like
    /// [`crate::open`] (on its account's list and unexpired, or accepted by
    /// the caller's grace policy). Only then is the state changed: the
    /// message key is wiped, skipped keys before it are kept, the chain
    /// advances past it. A refused message changes nothing.
    ///
    /// Work: at most [`crate::session_limit::MAX_SKIP`] + 1 chain steps (two
    /// HKDF-Expand each), one AEAD, one signature verification.
    ///
    /// # Errors
    /// In this order: [`SessionError::Decode`]; [`SessionError::UnknownSession`];
    /// [`SessionError::BeforeDistribution`] (below the first index);
    /// [`SessionError::DuplicateIndex`] (below the next index and not a held
    /// skipped key); [`SessionError::TooFarAhead`]; [`SessionError::TooManySkipped`];
    /// [`SessionError::SessionExpired`] (index at or above
    /// [`crate::session_limit::MAX_MESSAGES`]);
    /// [`SessionError::Unauthenticated`] (commitment, AEAD, body, signature);
    /// [`SessionError::SessionExpired`] (the signed timestamp outside the
    /// session's lifetime); [`SessionError::SenderListUnavailable`];
    /// [`SessionError::SenderNotOnTrustedList`].
    pub fn decrypt<D: DeviceListLookup + ?Sized>(
        &mut self,
        bytes: &[u8],
        directory: &D,
        now: u64,
    ) -> Result<SessionPlaintext, SessionError> {
        let r = self.decrypt_inner(bytes, directory, now);
        crate::primitives::scrub_stack();
        r
    }

    #[inline(never)]
    fn decrypt_inner<D: DeviceListLookup + ?Sized>(
        &mut self,
        bytes: &[u8],
        directory: &D,
        now: u64,
    ) -> Result<SessionPlaintext, SessionError> {
        let msg = SessionMessage::from_bytes(bytes)?;
        self.decrypt_message(&msg, directory, now)
    }

    /// [`InboundSession::decrypt`] after decoding.
    pub(crate) fn decrypt_message<D: DeviceListLookup + ?Sized>(
        &mut self,
        msg: &SessionMessage,
        directory: &D,
        now: u64,
    ) -> Result<SessionPlaintext, SessionError> {
        if msg.session_id != self.session_id {
            return Err(SessionError::UnknownSession);
        }
        let pending = self.pending(msg.index)?;
        let context = Context {
            session_id: &msg.session_id,
            index: msg.index,
            random: &msg.random,
            ciphertext_len: msg.ciphertext.len(),
            binding: &self.binding,
        }
        .hash();
        let keys = BodyKeys::derive(&pending.message_key, &context)
            .map_err(|_| SessionError::Unauthenticated)?;
        if !keys.commitment_matches(&msg.commitment) {
            return Err(SessionError::Unauthenticated);
        }
        let header_hash = schedule::header_hash(&context, &msg.commitment);
        let (ct, tag) = msg
            .ciphertext
            .split_at(msg.ciphertext.len().saturating_sub(size::TAG));
        let tag: [u8; size::TAG] = tag.try_into().map_err(|_| SessionError::Unauthenticated)?;
        let mut plain = Zeroizing::new(ct.to_vec());
        keys.open(&header_hash, &mut plain, &tag)
            .map_err(|_| SessionError::Unauthenticated)?;
        let body = parse_body(&plain).ok_or(SessionError::Unauthenticated)?;
        let content =
            schedule::content(body.timestamp, body.aad, body.payload, msg.ciphertext.len());
        let transcript = schedule::transcript(&header_hash, &content);
        self.sender_key
            .verify(s::SIGNATURE, &transcript, &body.signature)
            .map_err(|_| SessionError::Unauthenticated)?;

        let lifetime = self.policy.max_age_ms.saturating_add(s::MAX_CLOCK_SKEW_MS);
        if body.timestamp > self.created_at.saturating_add(lifetime)
            || body.timestamp.saturating_add(s::MAX_CLOCK_SKEW_MS) < self.created_at
        {
            return Err(SessionError::SessionExpired);
        }
        let in_grace = self.check_sender(directory, body.timestamp, now)?;
        let out = SessionPlaintext {
            payload: body.payload.to_vec(),
            aad: body.aad.to_vec(),
            timestamp: body.timestamp,
            index: msg.index,
            session_id: msg.session_id,
            sender: self.sender.clone(),
            in_grace,
            conversation: self.conversation.clone(),
            suite: self.suite,
        };
        self.commit(msg.index, pending);
        Ok(out)
    }

    /// The message key of `index`, and what accepting it changes; no state
    /// is touched. The gap is checked before any key is derived.
    fn pending(&self, index: u32) -> Result<Pending, SessionError> {
        if index < self.first_index {
            return Err(SessionError::BeforeDistribution {
                index,
                first_index: self.first_index,
            });
        }
        if index < self.next_index {
            let key = self
                .skipped
                .get(&index)
                .ok_or(SessionError::DuplicateIndex { index })?;
            return Ok(Pending {
                message_key: key.clone(),
                advance: None,
            });
        }
        let gap = index - self.next_index;
        if gap > s::MAX_SKIP {
            return Err(SessionError::TooFarAhead {
                index,
                next: self.next_index,
            });
        }
        let gap_len = usize::try_from(gap).unwrap_or(usize::MAX);
        if self.skipped.len().saturating_add(gap_len) > s::MAX_SKIPPED_KEYS {
            return Err(SessionError::TooManySkipped);
        }
        // No honest session reaches this index (policies stop at
        // `MAX_MESSAGES`), so a receiver never follows a sender that does
        // not rotate (SPEC.md §15.9 step 4).
        if index >= self.policy.max_messages {
            return Err(SessionError::SessionExpired);
        }
        let mut ck = self.chain_key.clone();
        let mut skipped = Vec::with_capacity(gap_len);
        for i in self.next_index..index {
            skipped.push((i, ck.advance().map_err(|_| SessionError::Internal)?));
        }
        let message_key = ck.advance().map_err(|_| SessionError::Internal)?;
        Ok(Pending {
            message_key,
            advance: Some((skipped, ck)),
        })
    }

    /// Applies an accepted message: its key is dropped (wiped), skipped
    /// keys are kept, the chain moves past it.
    fn commit(&mut self, index: u32, pending: Pending) {
        match pending.advance {
            None => {
                // Dropping the removed key wipes it.
                self.skipped.remove(&index);
            }
            Some((skipped, ck)) => {
                self.skipped.extend(skipped);
                self.chain_key = ck;
                // `index < u32::MAX` (the decoder refuses u32::MAX).
                self.next_index = index.saturating_add(1);
            }
        }
    }

    /// Sender trust at `now`, as SPEC.md §5.2 steps 8–9 (the message
    /// authenticated): `Ok(in_grace)`.
    fn check_sender<D: DeviceListLookup + ?Sized>(
        &self,
        directory: &D,
        timestamp: u64,
        now: u64,
    ) -> Result<bool, SessionError> {
        let account = self.sender.account();
        let list = directory
            .verified_device_list(account)
            .ok_or(SessionError::SenderListUnavailable(*account))?;
        // The device is listed with the same keys: a renewal (new expiry,
        // same keys) is no change, and the listed certificate's expiry
        // applies (M4 of the review). The list is the account's, so the
        // account matches.
        let listed = list
            .device(self.sender.device_id())
            .map(|d| d.certificate());
        if let Some(current) = listed {
            if current.keys() == self.sender.keys() && !current.is_expired(now) {
                return Ok(false);
            }
        }
        if directory.accepts_in_grace(&self.sender, timestamp, now) {
            return Ok(true);
        }
        Err(SessionError::SenderNotOnTrustedList(*account))
    }
}

struct Body<'a> {
    timestamp: u64,
    aad: &'a [u8],
    payload: &'a [u8],
    signature: [u8; 64],
}

/// Parses the decrypted body (SPEC.md §15.3) with the sender's
/// limits; every padding byte must be zero (checked without early exit).
fn parse_body(plain: &[u8]) -> Option<Body<'_>> {
    let mut r = Reader::new(plain);
    let timestamp = r.u64("timestamp").ok()?;
    let aad = r.bytes_u32(limit::MAX_AAD, "aad").ok()?;
    let payload = r.bytes_u32(limit::MAX_PAYLOAD, "payload").ok()?;
    let signature = r.array("signature").ok()?;
    let padding = r.rest();
    if padding.iter().fold(0u8, |acc, b| acc | b) != 0 {
        return None;
    }
    Some(Body {
        timestamp,
        aad,
        payload,
        signature,
    })
}

/// The checks every new inbound session passes (SPEC.md §15.4
/// "Receiving a distribution" steps 2–4), before any state is built.
pub(crate) fn check_new_distribution(
    receiver: &DeviceKeyring,
    opened: &Opened,
    d: &Distribution,
) -> Result<(), SessionError> {
    if d.conversation.as_slice() != opened.aad() {
        return Err(SessionError::WrongConversation);
    }
    let owner = receiver.certificate();
    let sender = opened.sender_certificate();
    if sender.account() == owner.account() && sender.device_id() == owner.device_id() {
        return Err(SessionError::OwnSession);
    }
    if opened.accepted_in_grace() {
        return Err(SessionError::SenderInGrace);
    }
    if d.index >= d.policy.max_messages
        || d.created_at > opened.timestamp().saturating_add(s::MAX_CLOCK_SKEW_MS)
    {
        return Err(SessionError::SessionExpired);
    }
    Ok(())
}
