//! The outbound session's persisted form (object type `0x23`,
//! SPEC.md §15.7): versioned, canonical, zeroizing, loaded
//! all-or-nothing.
//!
//! ```text
//! 0x02 || 0x23 || u16 suite
//! 16 session id || 32 owner Ed25519 key
//! u32 next index || 32 chain key || u64 created at
//! u32 max messages || u64 max age ms || u8 removed (0 or 1)
//! u16 n (0..=1024) || n × 16-byte certificate key id, strictly ascending
//! u32 len (0..=MAX_CONVERSATION_ID) || conversation id
//! 16 session seed
//! 32 state check = SHA-256(lp("fanseal v2 session state check") || every byte above)
//! ```
//!
//! **A loaded session never encrypts.** A copy cannot know whether it is
//! the latest: an old one rewinds the chain (reusing indices already sent)
//! and forgets devices added and removed since, which would then read on.
//! So [`OutboundSession::import`] returns a session that needs rotation
//! (`RotationRequired` from `encrypt` and `distribute`); it can still be
//! exported and inspected. The cost: one new session, so one distribution
//! envelope, per conversation after every load (a restart included). The
//! hedged random (§15.3) is the second line: a copy restored with its RNG
//! (a VM snapshot, which bypasses `import`) still never reuses a key/nonce
//! pair for different content.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use zeroize::Zeroizing;

use crate::codec::{Reader, Writer};
use crate::consts::{limit, session as s, size, SUITE_X25519_SHA256_AES256GCM_ED25519};
use crate::error::DecodeError;
use crate::identity::{DevicePublicKeys, KeyId};
use crate::session::chain::ChainKey;
use crate::session::error::SessionError;
use crate::session::message::SessionId;
use crate::session::outbound::OutboundSession;
use crate::session::policy::RotationPolicy;
use crate::session::schedule;

/// Fixed part of the export (bytes).
const FIXED: usize = 2 + 2 + 16 + 32 + 4 + 32 + 8 + 4 + 8 + 1 + 2 + 4 + 16 + 32;

impl OutboundSession {
    /// The session as versioned, canonical bytes (SPEC.md §15.7), in
    /// a buffer wiped on drop. They hold the chain key: whoever has them
    /// can read every later message of the session. Export after every
    /// [`OutboundSession::encrypt`]; a restored older copy never reuses a
    /// key/nonce pair, and every loaded copy must be rotated (see the
    /// module docs).
    ///
    /// Size: `163 + 16·n + len(conversation id)` bytes.
    pub fn export(&self) -> Zeroizing<Vec<u8>> {
        let r = self.export_inner();
        crate::primitives::scrub_stack();
        r
    }

    #[inline(never)]
    fn export_inner(&self) -> Zeroizing<Vec<u8>> {
        let len = FIXED + size::KEY_ID * self.recipients.len() + self.conversation.len();
        let mut w = Writer::with_capacity(len);
        w.object_prefix(s::OUTBOUND_TYPE);
        // The suite field is the session's distribution suite (0x0001
        // before the first distribution).
        w.u16(
            self.suite
                .map_or(SUITE_X25519_SHA256_AES256GCM_ED25519, crate::Suite::id),
        );
        w.put(&self.session_id.0);
        w.put(&self.owner);
        w.u32(self.next_index);
        w.put(self.chain_key.as_bytes());
        w.u64(self.created_at);
        w.u32(self.policy.max_messages);
        w.u64(self.policy.max_age_ms);
        w.u8(u8::from(self.removed));
        w.len_u16(self.recipients.len());
        for k in &self.recipients {
            w.put(&k.0);
        }
        w.bytes_u32(&self.conversation);
        w.put(&self.seed);
        let check = schedule::state_check(w.as_slice());
        w.put(&check);
        Zeroizing::new(w.into_vec())
    }

    /// Loads an export of the session of the device whose public keys are
    /// `owner`, checking in the order of SPEC.md §15.7; nothing is
    /// half-loaded. The loaded session **needs rotation**
    /// ([`OutboundSession::needs_rotation`]): it never encrypts or
    /// distributes again, since no copy can know it is the latest; start a
    /// new session (one distribution per conversation after a load).
    ///
    /// # Errors
    /// [`SessionError::Decode`] with the first failing field (`Truncated`,
    /// `OutOfRange` for counts and lengths, `NonCanonical("removed flag")`,
    /// `NonCanonical("recipients order")`, `Inconsistent("rotation
    /// policy")`, `Inconsistent("state check")`, `TrailingBytes`);
    /// [`SessionError::WrongDevice`] when the
    /// export's owner key is not `owner.ed25519`.
    pub fn import(bytes: &[u8], owner: &DevicePublicKeys) -> Result<Self, SessionError> {
        let r = Self::import_inner(bytes, owner);
        crate::primitives::scrub_stack();
        r
    }

    #[inline(never)]
    fn import_inner(bytes: &[u8], owner: &DevicePublicKeys) -> Result<Self, SessionError> {
        let mut r = Reader::new(bytes);
        r.object_prefix(s::OUTBOUND_TYPE)?;
        let suite = r.any_suite()?;
        let session_id = SessionId(r.array("session id")?);
        let owner_key: [u8; 32] = r.array("owner key")?;
        if owner_key != owner.ed25519 {
            return Err(SessionError::WrongDevice);
        }
        let next_index = r.u32("next index")?;
        let chain_key = ChainKey::from_bytes(&Zeroizing::new(r.array("chain key")?));
        let created_at = r.u64("created at")?;
        let policy = RotationPolicy {
            max_messages: r.u32("max messages")?,
            max_age_ms: r.u64("max age")?,
        };
        if !policy.is_valid() {
            return Err(DecodeError::Inconsistent("rotation policy").into());
        }
        let removed = match r.u8("removed")? {
            0 => false,
            1 => true,
            _ => return Err(DecodeError::NonCanonical("removed flag").into()),
        };
        let n = usize::from(r.u16("recipient count")?);
        let n = r.bounded(n, 0, limit::MAX_RECIPIENTS, "recipient count")?;
        r.require(n.saturating_mul(size::KEY_ID), "recipients")?;
        let mut recipients = BTreeSet::new();
        let mut previous: Option<KeyId> = None;
        for _ in 0..n {
            let k = KeyId(r.array("recipient")?);
            if previous.is_some_and(|p| p >= k) {
                return Err(DecodeError::NonCanonical("recipients order").into());
            }
            previous = Some(k);
            recipients.insert(k);
        }
        let conversation = r
            .bytes_u32(s::MAX_CONVERSATION_ID, "conversation id")?
            .to_vec();
        let seed = r.array("session seed")?;
        schedule::read_state_check(&mut r, bytes)?;
        r.finish()?;
        Ok(OutboundSession {
            binding: schedule::binding(&owner_key, &session_id, &conversation),
            session_id,
            seed,
            owner: owner_key,
            next_index,
            chain_key,
            created_at,
            conversation,
            policy,
            recipients,
            removed,
            suite: Some(suite),
            seen_order: Vec::new(),
            first_expiry: None,
            restored: true,
        })
    }
}
