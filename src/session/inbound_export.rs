//! The inbound session's persisted form (object type `0x24`,
//! SPEC.md §15.8): versioned, canonical, zeroizing, loaded
//! all-or-nothing.
//!
//! ```text
//! 0x02 || 0x24 || u16 suite
//! 32 owner account || 16 owner device id
//! 200 sender certificate
//! 16 session id || u64 created at || u32 max messages || u64 max age ms
//! u32 len (0..=MAX_CONVERSATION_ID) || conversation id
//! u32 first index (≤ next index) || u32 next index || 32 chain key
//! u16 k (0..=2000) || k × (u32 index || 32 message key), indices strictly
//!                     ascending, at or above the first index and below
//!                     the next index
//! 32 state check = SHA-256(lp("fanseal v2 session state check") || every byte above)
//! ```
//!
//! A restored **older** copy holds keys deleted since: a thief of that copy
//! reads the messages received after it was made, and the device accepts
//! them again if they are delivered again (pair it with the replay guard,
//! SPEC.md §6, restored from the same moment or later). It never causes a
//! key/nonce reuse: receiving encrypts nothing.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use zeroize::Zeroizing;

use crate::codec::{Reader, Writer};
use crate::consts::session as s;
use crate::error::DecodeError;
use crate::identity::{AccountPublicKey, DeviceCertificate, DeviceId, CERTIFICATE_LEN};
use crate::primitives::Ed25519Public;
use crate::session::chain::{ChainKey, MessageKey};
use crate::session::distribution::read_index;
use crate::session::error::SessionError;
use crate::session::inbound::InboundSession;
use crate::session::message::SessionId;
use crate::session::schedule;

/// Fixed part of the export (bytes).
const FIXED: usize = 2 + 2 + 32 + 16 + CERTIFICATE_LEN + 16 + 8 + 4 + 8 + 4 + 4 + 4 + 32 + 2 + 32;
/// One skipped key: index and message key (bytes).
const SKIPPED: usize = 4 + 32;

impl InboundSession {
    /// The session as versioned, canonical bytes (SPEC.md §15.8), in
    /// a buffer wiped on drop. They hold the chain key and skipped message
    /// keys. Export after every accepted message: an older copy brings back
    /// keys deleted since (see the module docs).
    ///
    /// Size: `366 + len(conversation id) + 36·k` bytes.
    pub fn export(&self) -> Zeroizing<Vec<u8>> {
        let r = self.export_inner();
        crate::primitives::scrub_stack();
        r
    }

    #[inline(never)]
    fn export_inner(&self) -> Zeroizing<Vec<u8>> {
        let len = FIXED + self.conversation.len() + SKIPPED * self.skipped.len();
        let mut w = Writer::with_capacity(len);
        w.object_prefix(s::INBOUND_TYPE);
        // The suite field is the session's weakest distribution suite.
        w.u16(self.suite.id());
        w.put(self.owner_account.as_bytes());
        w.put(&self.owner_device.0);
        self.sender.encode_into(&mut w);
        w.put(&self.session_id.0);
        w.u64(self.created_at);
        w.u32(self.policy.max_messages);
        w.u64(self.policy.max_age_ms);
        w.bytes_u32(&self.conversation);
        w.u32(self.first_index);
        w.u32(self.next_index);
        w.put(self.chain_key.as_bytes());
        w.len_u16(self.skipped.len());
        for (i, k) in &self.skipped {
            w.u32(*i);
            w.put(&k.0);
        }
        let check = schedule::state_check(w.as_slice());
        w.put(&check);
        Zeroizing::new(w.into_vec())
    }

    /// Loads an export made by the device whose certificate is `owner`
    /// (same account and device id: the state survives a re-key), checking
    /// in the order of SPEC.md §15.8; nothing is half-loaded.
    ///
    /// # Errors
    /// [`SessionError::WrongDevice`] when the export's owner is another
    /// device (checked right after the owner fields);
    /// [`SessionError::Decode`] with the first failing field otherwise:
    /// `Truncated`, `OutOfRange` (conversation id length, skipped count,
    /// an index of `u32::MAX`), the sender certificate's own decode errors,
    /// `Inconsistent("sender certificate")` (it does not verify under its
    /// own account), `NonCanonical("skipped keys order")`,
    /// `Inconsistent("skipped key not below next index")`,
    /// `Inconsistent("state check")`, `TrailingBytes`.
    pub fn import(bytes: &[u8], owner: &DeviceCertificate) -> Result<Self, SessionError> {
        let r = Self::import_inner(bytes, owner);
        crate::primitives::scrub_stack();
        r
    }

    #[inline(never)]
    fn import_inner(bytes: &[u8], owner: &DeviceCertificate) -> Result<Self, SessionError> {
        let mut r = Reader::new(bytes);
        r.object_prefix(s::INBOUND_TYPE)?;
        let suite = r.any_suite()?;
        let owner_account = AccountPublicKey(r.array("owner account")?);
        let owner_device = DeviceId(r.array("owner device id")?);
        if owner_account != *owner.account() || owner_device != owner.device_id() {
            return Err(SessionError::WrongDevice);
        }
        let sender = DeviceCertificate::decode(&mut r)?;
        sender
            .verify_signed_by(sender.account())
            .map_err(|_| DecodeError::Inconsistent("sender certificate"))?;
        let sender_key = Ed25519Public::from_bytes(&sender.keys().ed25519)
            .map_err(|_| DecodeError::Inconsistent("sender certificate"))?;
        let session_id = SessionId(r.array("session id")?);
        let created_at = r.u64("created at")?;
        let policy = crate::session::policy::RotationPolicy {
            max_messages: r.u32("max messages")?,
            max_age_ms: r.u64("max age")?,
        };
        if !policy.is_valid() {
            return Err(DecodeError::Inconsistent("rotation policy").into());
        }
        let conversation = r
            .bytes_u32(s::MAX_CONVERSATION_ID, "conversation id")?
            .to_vec();
        let first_index = r.u32("first index")?;
        let next_index = r.u32("next index")?;
        if first_index > next_index {
            return Err(DecodeError::Inconsistent("first index above next index").into());
        }
        let chain_key = ChainKey::from_bytes(&Zeroizing::new(r.array("chain key")?));
        let k = usize::from(r.u16("skipped count")?);
        let k = r.bounded(k, 0, s::MAX_SKIPPED_KEYS, "skipped count")?;
        r.require(k.saturating_mul(SKIPPED), "skipped keys")?;
        let mut skipped = BTreeMap::new();
        let mut previous: Option<u32> = None;
        for _ in 0..k {
            let index = read_index(&mut r, "skipped index")?;
            let key = MessageKey(*Zeroizing::new(r.array("message key")?));
            if previous.is_some_and(|p| p >= index) {
                return Err(DecodeError::NonCanonical("skipped keys order").into());
            }
            if index < first_index {
                return Err(DecodeError::Inconsistent("skipped key below first index").into());
            }
            if index >= next_index {
                return Err(DecodeError::Inconsistent("skipped key not below next index").into());
            }
            previous = Some(index);
            skipped.insert(index, key);
        }
        schedule::read_state_check(&mut r, bytes)?;
        r.finish()?;
        Ok(InboundSession {
            sender_key,
            owner_account,
            owner_device,
            binding: schedule::binding(&sender.keys().ed25519, &session_id, &conversation),
            sender,
            session_id,
            created_at,
            policy,
            conversation,
            first_index,
            next_index,
            chain_key,
            skipped,
            suite,
        })
    }
}
