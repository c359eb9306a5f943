//! The sending side of a sender-key session (SPEC.md §15.5–15.6).
//!
//! One outbound session per (conversation, sending device): a random chain
//! key and session id, advanced once per message; the current state is
//! handed to every recipient device in one envelope ([`OutboundSession::distribute`]);
//! each message then costs one AEAD and one signature whatever the number
//! of devices.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use core::fmt;

use rand_core::CryptoRng;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::consts::{limit, session as s, size};
use crate::envelope::{seal, Envelope, Message};
use crate::identity::{DeviceCertificate, DeviceSecret, KeyId, VerifiedDeviceList, VerifiedPrekey};
use crate::session::chain::ChainKey;
use crate::session::distribution;
use crate::session::error::SessionError;
use crate::session::message::{SessionId, SessionMessage, MAX_CIPHERTEXT};
use crate::session::policy::RotationPolicy;
use crate::session::schedule::{self, BodyKeys, Context};

/// How the devices of the lists compare with those the session was
/// distributed to (certificate key ids of devices unexpired at `now`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Membership {
    /// The same devices.
    Unchanged,
    /// Devices were added and none removed: distribute the current state to
    /// them ([`OutboundSession::distribute`]); they cannot read earlier
    /// messages.
    Added(Vec<KeyId>),
    /// Devices were removed (or re-keyed, or expired): the session encrypts
    /// no more; start a new one.
    Removed(Vec<KeyId>),
}

/// A sending device's session for one conversation. Holds the chain key:
/// wiped on drop, never printed, exported only by the loudly named
/// [`OutboundSession::export`].
///
/// # Example
/// ```
/// # use fanseal::*;
/// # use rand_core::SeedableRng;
/// # let mut rng = rand_chacha::ChaCha20Rng::from_seed([3; 32]);
/// # let mk = |rng: &mut rand_chacha::ChaCha20Rng| {
/// #     let a = AccountSecret::generate(rng);
/// #     let d = DeviceSecret::generate(rng);
/// #     let c = a.certify_device(&CertificateParams { device_id: DeviceId::random(rng),
/// #         keys: d.public_keys(), created_at: 0, expires_at: None, capabilities: 0 }).unwrap();
/// #     let l = a.issue_device_list(None, 0, vec![c.clone()]).unwrap().verify(&a.public_key()).unwrap();
/// #     (DeviceKeyring::new(d, c).unwrap(), l)
/// # };
/// let (alice, alice_list) = mk(&mut rng);
/// let (bob, bob_list) = mk(&mut rng);
/// let directory = [alice_list.clone(), bob_list.clone()];
/// let now = 1_000;
/// let mut out = OutboundSession::new(alice.certificate(), b"chat-1",
///     RotationPolicy::DEFAULT, now, &mut rng)?;
/// let envelope = out.distribute(alice.secret(), alice.certificate(), &[&bob_list, &alice_list],
///     &[], Padding::Padme, now, &mut rng)?;
/// let opened = open(&bob, &envelope.to_bytes(), &directory, now)?;
/// let mut inbound = InboundSession::from_opened(&bob, &opened)?;
/// let msg = Message { payload: b"hi", aad: b"", ..Message::default() };
/// let sent = out.encrypt(alice.secret(), &[&bob_list, &alice_list], &msg, now, &mut rng)?;
/// let got = inbound.decrypt(&sent.to_bytes(), &directory, now)?;
/// assert_eq!(got.payload(), b"hi");
/// # Ok::<(), Box<dyn core::error::Error>>(())
/// ```
pub struct OutboundSession {
    pub(crate) session_id: SessionId,
    /// The random seed the session id derives from (SPEC.md §15.4),
    /// carried in every distribution.
    pub(crate) seed: [u8; s::SESSION_ID],
    /// The owning device's Ed25519 key: the only key that may sign.
    pub(crate) owner: [u8; 32],
    pub(crate) next_index: u32,
    pub(crate) chain_key: ChainKey,
    pub(crate) created_at: u64,
    pub(crate) conversation: Vec<u8>,
    pub(crate) binding: [u8; 32],
    pub(crate) policy: RotationPolicy,
    /// Certificate key ids of every device the state was distributed to.
    pub(crate) recipients: BTreeSet<KeyId>,
    /// A device was removed: no more messages.
    pub(crate) removed: bool,
    /// The suite of the session's distribution envelopes: the first one's,
    /// and no later one may be weaker (M5 of the review: every device gets
    /// the same chain key, so one classical re-distribution would expose a
    /// session that went out hybrid). `None` before the first.
    pub(crate) suite: Option<crate::Suite>,
    /// (account, list hash) of every list the last distribution (or the
    /// last `encrypt` that found no change) saw, in the order given:
    /// `encrypt` compares the lists it is given with these, without
    /// allocating when they come in the same order, as sorted sets
    /// otherwise (removal "at once" does not rest on the caller
    /// remembering `update_membership`). Not persisted: a loaded session
    /// never encrypts.
    pub(crate) seen_order: Vec<([u8; 32], [u8; 32])>,
    /// The earliest expiry of a recorded recipient's certificate on those
    /// lists: from then on `encrypt` rechecks membership.
    pub(crate) first_expiry: Option<u64>,
    /// Loaded by [`OutboundSession::import`]: the copy cannot know whether
    /// it is the latest, so it never encrypts or distributes (H2 of the
    /// review; SPEC.md §15.7). Not persisted: every import sets it.
    pub(crate) restored: bool,
}

impl ZeroizeOnDrop for OutboundSession {}

impl fmt::Debug for OutboundSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundSession")
            .field("session_id", &self.session_id)
            .field("next_index", &self.next_index)
            .field("created_at", &self.created_at)
            .field("policy", &self.policy)
            .field("recipients", &self.recipients.len())
            .field("removed", &self.removed)
            .field("restored", &self.restored)
            .finish_non_exhaustive()
    }
}

impl OutboundSession {
    /// Starts a session for the device whose certificate is `owner`, for
    /// the conversation `conversation_id` (the AAD of its distribution
    /// envelopes, at most [`crate::session_limit::MAX_CONVERSATION_ID`] bytes), at
    /// `now` (Unix ms). Draws 16 bytes (the seed the session id derives
    /// from, with the owner's account, device id and Ed25519 key and the
    /// conversation) then 32 (chain key) from `rng`, after every check.
    ///
    /// # Errors
    /// [`SessionError::InvalidPolicy`], [`SessionError::ConversationIdTooLarge`].
    pub fn new<R: CryptoRng + ?Sized>(
        owner: &DeviceCertificate,
        conversation_id: &[u8],
        policy: RotationPolicy,
        now: u64,
        rng: &mut R,
    ) -> Result<Self, SessionError> {
        if !policy.is_valid() {
            return Err(SessionError::InvalidPolicy);
        }
        if conversation_id.len() > s::MAX_CONVERSATION_ID {
            return Err(SessionError::ConversationIdTooLarge);
        }
        let mut seed = [0u8; s::SESSION_ID];
        rng.fill_bytes(&mut seed);
        let mut ck = Zeroizing::new([0u8; s::CHAIN_KEY_LEN]);
        rng.fill_bytes(ck.as_mut());
        let session_id = schedule::session_id(owner, conversation_id, &seed);
        let owner = owner.keys();
        Ok(OutboundSession {
            session_id,
            seed,
            owner: owner.ed25519,
            next_index: 0,
            chain_key: ChainKey::from_bytes(&ck),
            created_at: now,
            binding: schedule::binding(&owner.ed25519, &session_id, conversation_id),
            conversation: conversation_id.to_vec(),
            policy,
            recipients: BTreeSet::new(),
            removed: false,
            suite: None,
            seen_order: Vec::new(),
            first_expiry: None,
            restored: false,
        })
    }

    /// The session id.
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    /// The index the next message will have (also the number of messages
    /// encrypted so far: sessions start at 0).
    pub fn next_index(&self) -> u32 {
        self.next_index
    }

    /// When the session began (Unix ms, the caller's clock).
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// The conversation id bound into the session.
    pub fn conversation_id(&self) -> &[u8] {
        &self.conversation
    }

    /// The rotation policy.
    pub fn policy(&self) -> &RotationPolicy {
        &self.policy
    }

    /// The suite of the session's distribution envelopes (`None` before
    /// the first): a session that went out hybrid is re-distributed only
    /// with the hybrid suite.
    pub fn suite(&self) -> Option<crate::Suite> {
        self.suite
    }

    /// True when the session may not encrypt at `now`: it encrypted
    /// `max_messages` messages, `now ≥ created_at + max_age_ms`
    /// (saturating), the clock went back more than
    /// [`crate::session_limit::MAX_CLOCK_SKEW_MS`] before `created_at`
    /// (receivers would refuse every message), a recipient device was
    /// removed, or it was loaded by
    /// [`OutboundSession::import`] (SPEC.md §15.6–15.7).
    pub fn needs_rotation(&self, now: u64) -> bool {
        self.removed
            || self.restored
            || self.next_index >= self.policy.max_messages
            || now >= self.created_at.saturating_add(self.policy.max_age_ms)
            || now.saturating_add(s::MAX_CLOCK_SKEW_MS) < self.created_at
    }

    /// Compares the devices of `lists` (unexpired at `now`) with those the
    /// session was distributed to. A removal (a device no longer listed,
    /// re-keyed, or expired) marks the session for rotation at once: every
    /// later [`OutboundSession::encrypt`] is `RotationRequired`.
    pub fn update_membership(&mut self, lists: &[&VerifiedDeviceList], now: u64) -> Membership {
        let current = active_key_ids(lists, now);
        let removed: Vec<KeyId> = self.recipients.difference(&current).copied().collect();
        if !removed.is_empty() {
            self.removed = true;
            return Membership::Removed(removed);
        }
        let added: Vec<KeyId> = current.difference(&self.recipients).copied().collect();
        if added.is_empty() {
            Membership::Unchanged
        } else {
            Membership::Added(added)
        }
    }

    /// Seals the session's **current** state (next index and its chain key,
    /// never an earlier one) in one envelope to every unexpired device of
    /// `recipients` (pass the sender's own list too: its other devices, and
    /// sealed sender, §5.1), with the conversation id as AAD, and records
    /// those devices as members. Call it once at the start and again when
    /// [`Membership::Added`] (a re-send to present members is harmless).
    /// `recipients` must be the lists of **every** member account: a
    /// recorded device missing from them counts as removed.
    ///
    /// # Errors
    /// In this order: [`SessionError::WrongDevice`] (`sender` is not the
    /// owner); [`SessionError::MemberRemoved`] (a recorded device is not
    /// among the lists' unexpired devices: the session is marked for
    /// rotation); [`SessionError::RotationRequired`]; then
    /// [`SessionError::Seal`] from [`crate::seal`], which is
    /// `HybridUnavailable` when the session went out hybrid and a listed
    /// device lacks the hybrid capability (rotate: a new session may go out
    /// classical, this one may not).
    #[allow(clippy::too_many_arguments)]
    pub fn distribute<R: CryptoRng + ?Sized>(
        &mut self,
        sender: &DeviceSecret,
        sender_certificate: &DeviceCertificate,
        recipients: &[&VerifiedDeviceList],
        prekeys: &[&VerifiedPrekey],
        padding: crate::Padding,
        now: u64,
        rng: &mut R,
    ) -> Result<Envelope, SessionError> {
        if sender.public_keys().ed25519 != self.owner {
            return Err(SessionError::WrongDevice);
        }
        if let Membership::Removed(removed) = self.update_membership(recipients, now) {
            return Err(SessionError::MemberRemoved { removed });
        }
        if self.needs_rotation(now) {
            return Err(SessionError::RotationRequired);
        }
        let payload = distribution::encode(
            &self.seed,
            self.next_index,
            &self.chain_key,
            self.created_at,
            &self.policy,
            &self.conversation,
        );
        // A session that went out hybrid is only ever re-distributed
        // hybrid: a device without the capability needs a new session.
        let suite = match self.suite {
            Some(crate::Suite::Hybrid) => crate::SuitePolicy::RequireHybrid,
            _ => crate::SuitePolicy::Auto,
        };
        let message = Message {
            payload: &payload,
            aad: &self.conversation,
            padding,
            suite,
        };
        let envelope = seal(
            sender,
            sender_certificate,
            recipients,
            prekeys,
            &message,
            now,
            rng,
        )?;
        self.recipients.extend(active_key_ids(recipients, now));
        self.record_lists(recipients);
        let sealed = envelope.header().suite();
        self.suite = Some(self.suite.map_or(sealed, |s| s.min(sealed)));
        Ok(envelope)
    }

    /// Encrypts `message` (payload, AAD, padding) as the next index: one
    /// AEAD and one Ed25519 signature by `device` (the owner), whatever the
    /// number of recipients. `lists` are the current verified lists of
    /// every member account, as for [`OutboundSession::distribute`]: when
    /// one differs from those of the last distribution (compared by list
    /// hash: one comparison per account, not per device) or a recipient's
    /// certificate may have expired, membership is rechecked first; a
    /// removal refuses at once (`RotationRequired`, the session is marked),
    /// an addition is [`SessionError::MembershipChanged`] (distribute
    /// first). Draws 32 bytes after every check, from which,
    /// the message key and the content the message's random is derived
    /// (hedged: a restored RNG never repeats a key/nonce pair for different
    /// content, SPEC.md §15.3); the chain advances and the message key is wiped before
    /// this returns.
    ///
    /// Output size: `92 + padded(80 + aad + payload) + 16` bytes.
    ///
    /// # Errors
    /// In this order: [`SessionError::WrongDevice`],
    /// [`SessionError::RotationRequired`] ([`OutboundSession::needs_rotation`],
    /// or a device removed from `lists`), [`SessionError::MembershipChanged`],
    /// [`SessionError::Exhausted`], [`SessionError::PayloadTooLarge`],
    /// [`SessionError::AadTooLarge`], [`SessionError::PaddedBodyTooLarge`].
    pub fn encrypt<R: CryptoRng + ?Sized>(
        &mut self,
        device: &DeviceSecret,
        lists: &[&VerifiedDeviceList],
        message: &Message<'_>,
        now: u64,
        rng: &mut R,
    ) -> Result<SessionMessage, SessionError> {
        let r = self.encrypt_inner(device, lists, message, now, rng);
        crate::primitives::scrub_stack();
        r
    }

    #[inline(never)]
    fn encrypt_inner<R: CryptoRng + ?Sized>(
        &mut self,
        device: &DeviceSecret,
        lists: &[&VerifiedDeviceList],
        message: &Message<'_>,
        now: u64,
        rng: &mut R,
    ) -> Result<SessionMessage, SessionError> {
        if device.public_keys().ed25519 != self.owner {
            return Err(SessionError::WrongDevice);
        }
        if self.needs_rotation(now) {
            return Err(SessionError::RotationRequired);
        }
        if self.lists_changed(lists, now) {
            match self.update_membership(lists, now) {
                // The removed flag is set: refused below.
                Membership::Removed(_) => {}
                Membership::Added(added) => {
                    return Err(SessionError::MembershipChanged { added });
                }
                Membership::Unchanged => self.record_lists(lists),
            }
        }
        self.encrypt_as(Signer::Device(device), message, now, rng)
    }

    /// True when `lists` are not (by account and list hash) those last
    /// recorded, or a recorded recipient's certificate may have expired.
    fn lists_changed(&self, lists: &[&VerifiedDeviceList], now: u64) -> bool {
        if self.first_expiry.is_some_and(|e| now >= e) || lists.len() != self.seen_order.len() {
            return true;
        }
        // Fast path, no allocation: the lists in the order last recorded.
        let same_order = lists
            .iter()
            .zip(&self.seen_order)
            .all(|(l, (a, h))| l.account().as_bytes() == a && l.list().hash() == h);
        if same_order {
            return false;
        }
        let mut given: Vec<([u8; 32], [u8; 32])> = lists
            .iter()
            .map(|l| (*l.account().as_bytes(), *l.list().hash()))
            .collect();
        given.sort_unstable();
        let mut seen = self.seen_order.clone();
        seen.sort_unstable();
        given != seen
    }

    /// Records the lists' (account, hash) and the earliest expiry of a
    /// recorded recipient on them.
    fn record_lists(&mut self, lists: &[&VerifiedDeviceList]) {
        self.seen_order = lists
            .iter()
            .map(|l| (*l.account().as_bytes(), *l.list().hash()))
            .collect();
        self.first_expiry = lists
            .iter()
            .flat_map(|l| l.devices())
            .filter(|d| self.recipients.contains(&d.key_id()))
            .filter_map(|d| d.certificate().params().expires_at)
            .min();
    }

    /// [`OutboundSession::encrypt`] after the owner check, with the
    /// signature `signer` gives (the hazmat forger signs with another key,
    /// or strips the signature).
    pub(crate) fn encrypt_as<R: CryptoRng + ?Sized>(
        &mut self,
        signer: Signer<'_>,
        message: &Message<'_>,
        now: u64,
        rng: &mut R,
    ) -> Result<SessionMessage, SessionError> {
        if self.needs_rotation(now) {
            return Err(SessionError::RotationRequired);
        }
        if self.next_index == u32::MAX {
            return Err(SessionError::Exhausted);
        }
        if message.payload.len() > limit::MAX_PAYLOAD {
            return Err(SessionError::PayloadTooLarge);
        }
        if message.aad.len() > limit::MAX_AAD {
            return Err(SessionError::AadTooLarge);
        }
        let body_len = schedule::body_len(message.aad, message.payload);
        let padded = message
            .padding
            .padded_len(body_len)
            .filter(|p| p + size::TAG <= MAX_CIPHERTEXT)
            .ok_or(SessionError::PaddedBodyTooLarge)?;

        let mut rng32 = Zeroizing::new([0u8; s::RANDOM]);
        rng.fill_bytes(rng32.as_mut());
        let index = self.next_index;
        let mk = self
            .chain_key
            .advance()
            .map_err(|_| SessionError::Internal)?;
        self.next_index += 1;
        let content = schedule::content(now, message.aad, message.payload, padded + size::TAG);
        let random =
            schedule::hedged_random(&rng32, &mk, &content).map_err(|_| SessionError::Internal)?;

        let context = Context {
            session_id: &self.session_id,
            index,
            random: &random,
            ciphertext_len: padded + size::TAG,
            binding: &self.binding,
        }
        .hash();
        let keys = BodyKeys::derive(&mk, &context).map_err(|_| SessionError::Internal)?;
        let header_hash = schedule::header_hash(&context, &keys.commitment);
        let transcript = schedule::transcript(&header_hash, &content);
        let mut body = Zeroizing::new(Vec::with_capacity(padded + size::TAG));
        match signer {
            Signer::Device(device) => {
                let signature = device.ed25519().sign_labeled(s::SIGNATURE, &transcript);
                schedule::write_body(&mut body, now, message.aad, message.payload, &signature);
            }
            #[cfg(feature = "internals")]
            Signer::Stripped => {
                let mut full = Vec::new();
                schedule::write_body(&mut full, now, message.aad, message.payload, &[0; 64]);
                full.truncate(full.len() - 64);
                body.extend_from_slice(&full);
            }
        }
        body.resize(padded, 0);
        let tag = keys
            .seal(&header_hash, &mut body)
            .map_err(|_| SessionError::Internal)?;
        let mut ciphertext = core::mem::take(&mut *body);
        ciphertext.extend_from_slice(&tag);
        Ok(SessionMessage {
            session_id: self.session_id,
            index,
            random,
            commitment: keys.commitment,
            ciphertext,
        })
    }
}

impl OutboundSession {
    /// A copy of every field (hazmat's VM-snapshot simulation only).
    #[cfg(feature = "internals")]
    pub(crate) fn snapshot(&self) -> OutboundSession {
        OutboundSession {
            session_id: self.session_id,
            seed: self.seed,
            owner: self.owner,
            next_index: self.next_index,
            chain_key: self.chain_key.clone(),
            created_at: self.created_at,
            conversation: self.conversation.clone(),
            binding: self.binding,
            policy: self.policy,
            recipients: self.recipients.clone(),
            removed: self.removed,
            suite: self.suite,
            seen_order: self.seen_order.clone(),
            first_expiry: self.first_expiry,
            restored: self.restored,
        }
    }
}

/// Who signs a message: the owning device, or (hazmat only) nobody.
pub(crate) enum Signer<'a> {
    /// Sign with this device's Ed25519 key.
    Device(&'a DeviceSecret),
    /// Leave the signature out of the body (a forger's stripped message).
    #[cfg(feature = "internals")]
    Stripped,
}

/// Certificate key ids of the devices of `lists` unexpired at `now`.
fn active_key_ids(lists: &[&VerifiedDeviceList], now: u64) -> BTreeSet<KeyId> {
    lists
        .iter()
        .flat_map(|l| l.active_devices(now))
        .map(|d| d.key_id())
        .collect()
}
