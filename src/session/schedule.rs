//! From a message key to the commitment, body key and nonce of one session
//! message, and the transcript its sender signs (SPEC.md §15.3).
//!
//! ```text
//! binding      = SHA-256(lp(L_binding) || sender Ed25519 key || session id ||
//!                        u32 len(conversation id) || conversation id)
//! context_hash = SHA-256(lp(L_context) || 0x02 || 0x08 || suite || session id ||
//!                        u32 index || random || u32 ciphertext length || binding)
//! prk          = HKDF-Extract(salt = lp(L_secret), ikm = message key)
//! commitment   = HKDF-Expand(prk, lp(L_commit) || context_hash, 32)
//! body key     = HKDF-Expand(prk, lp(L_key)    || context_hash, 32)
//! body nonce   = HKDF-Expand(prk, lp(L_nonce)  || context_hash, 12)
//! header_hash  = SHA-256(lp(L_header) || context_hash || commitment)
//! content      = SHA-256(lp(L_content) || u64 timestamp || u32 len || aad ||
//!                        u32 len || payload || u32 ciphertext length)
//! signed       = lp(L_signature) || header_hash || content
//! ```
//!
//! The payload is hashed once per message, into `content`, which both the
//! hedged random and the signature use.
//!
//! The per-message `random` is in the context hash, so one message key with
//! two randoms gives two unrelated (key, nonce) pairs. It is hedged
//! ([`hedged_random`]): derived from 32 RNG bytes, the message key and the
//! content, so a sender restored from an old copy reuses an index, never a
//! key/nonce pair with a different plaintext, even when its RNG is
//! restored with it.

use alloc::vec::Vec;

use zeroize::Zeroizing;

use crate::codec::label_prefix;
use crate::consts::{session as s, SUITE_X25519_SHA256_AES256GCM_ED25519, WIRE_VERSION};
use crate::primitives::{
    ct_eq, hkdf_expand, hkdf_extract, AeadKey, Prk, Rejected, Secret32, Sha256Stream,
};
use crate::session::chain::MessageKey;
use crate::session::message::SessionId;

/// The session binding (SPEC.md §15.3): which device's chain, which
/// session, which conversation. Computed once per session.
pub(crate) fn binding(
    sender_ed25519: &[u8; 32],
    session_id: &SessionId,
    conversation: &[u8],
) -> [u8; 32] {
    let mut h = Sha256Stream::labeled(s::BINDING);
    h.update(sender_ed25519);
    h.update(&session_id.0);
    h.update(&len_u32(conversation.len()));
    h.update(conversation);
    h.finish()
}

/// The session id (SPEC.md §15.4): it commits to the sending device
/// and the conversation, so two senders share an id only through a
/// 128-bit collision, and receivers recompute it from the authenticated
/// envelope:
///
/// ```text
/// session_id = SHA-256(lp(L_id) || account || device id || sender Ed25519 key ||
///                      u32 len(conversation id) || conversation id || seed)[0..16]
/// ```
pub(crate) fn session_id(
    sender: &crate::identity::DeviceCertificate,
    conversation: &[u8],
    seed: &[u8; s::SESSION_ID],
) -> SessionId {
    let mut h = Sha256Stream::labeled(s::SESSION_ID_LABEL);
    h.update(sender.account().as_bytes());
    h.update(&sender.device_id().0);
    h.update(&sender.keys().ed25519);
    h.update(&len_u32(conversation.len()));
    h.update(conversation);
    h.update(seed);
    let full = h.finish();
    let mut id = [0u8; s::SESSION_ID];
    id.copy_from_slice(&full[..s::SESSION_ID]);
    SessionId(id)
}

/// The content hash (SPEC.md §15.3): what the sender says, and the
/// length it is padded to.
///
/// ```text
/// content = SHA-256(lp(L_content) || u64 timestamp || u32 len || aad ||
///                   u32 len || payload || u32 ciphertext length)
/// ```
pub(crate) fn content(
    timestamp: u64,
    aad: &[u8],
    payload: &[u8],
    ciphertext_len: usize,
) -> [u8; 32] {
    let mut h = Sha256Stream::labeled(s::CONTENT);
    h.update(&timestamp.to_be_bytes());
    h.update(&len_u32(aad.len()));
    h.update(aad);
    h.update(&len_u32(payload.len()));
    h.update(payload);
    h.update(&len_u32(ciphertext_len));
    h.finish()
}

/// The hedged per-message random (SPEC.md §15.3):
///
/// ```text
/// prk_r   = HKDF-Extract(salt = rng32, ikm = message key)
/// random  = HKDF-Expand(prk_r, lp(L_random) || content, 32)
/// ```
///
/// A sender restored together with its RNG (a VM snapshot) draws the same
/// `rng32` at the same index: a different message still gets another
/// random, so another body key and nonce; the same message gets the same
/// bytes (a duplicate receivers refuse). With a working RNG it is as
/// random as `rng32`.
pub(crate) fn hedged_random(
    rng32: &[u8; s::RANDOM],
    mk: &MessageKey,
    content: &[u8; 32],
) -> Result<[u8; s::RANDOM], Rejected> {
    let prk = hkdf_extract(rng32, &[&mk.0]);
    let mut random = [0u8; s::RANDOM];
    hkdf_expand(
        &prk,
        &[&label_prefix(s::RANDOM_LABEL), s::RANDOM_LABEL, content],
        &mut random,
    )?;
    Ok(random)
}

/// `lp(L_secret) || L_secret`, the salt of the per-message extract, spelled
/// out so no call allocates it (a unit test checks it against the label).
const SECRET_SALT: &[u8] = b"\x21fanseal v2 session message secret";
const _: () = assert!(SECRET_SALT.len() == 1 + s::SECRET.len());

/// The public fields of a message that the key schedule binds.
pub(crate) struct Context<'a> {
    pub(crate) session_id: &'a SessionId,
    pub(crate) index: u32,
    pub(crate) random: &'a [u8; s::RANDOM],
    pub(crate) ciphertext_len: usize,
    pub(crate) binding: &'a [u8; 32],
}

impl Context<'_> {
    pub(crate) fn hash(&self) -> [u8; 32] {
        let mut h = Sha256Stream::labeled(s::CONTEXT);
        h.update(&[WIRE_VERSION, s::MESSAGE_TYPE]);
        h.update(&SUITE_X25519_SHA256_AES256GCM_ED25519.to_be_bytes());
        h.update(&self.session_id.0);
        h.update(&self.index.to_be_bytes());
        h.update(self.random);
        h.update(&len_u32(self.ciphertext_len));
        h.update(self.binding);
        h.finish()
    }
}

/// `SHA-256(lp(L_header) || context_hash || commitment)`.
pub(crate) fn header_hash(context_hash: &[u8; 32], commitment: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256Stream::labeled(s::HEADER);
    h.update(context_hash);
    h.update(commitment);
    h.finish()
}

/// The keys one message key yields for one context.
pub(crate) struct BodyKeys {
    pub(crate) commitment: [u8; 32],
    key: Secret32,
    nonce: Zeroizing<[u8; 12]>,
}

impl BodyKeys {
    pub(crate) fn derive(mk: &MessageKey, context_hash: &[u8; 32]) -> Result<Self, Rejected> {
        let prk = Prk::new(&hkdf_extract(SECRET_SALT, &[&mk.0]))?;
        let expand =
            |l: &[u8], out: &mut [u8]| prk.expand(&[&label_prefix(l), l, context_hash], out);
        let mut commitment = [0u8; 32];
        let mut key = Zeroizing::new([0u8; 32]);
        let mut nonce = Zeroizing::new([0u8; 12]);
        expand(s::COMMITMENT, &mut commitment)?;
        expand(s::BODY_KEY, key.as_mut())?;
        expand(s::BODY_NONCE, nonce.as_mut())?;
        Ok(BodyKeys {
            commitment,
            key,
            nonce,
        })
    }

    pub(crate) fn commitment_matches(&self, carried: &[u8; 32]) -> bool {
        ct_eq(&self.commitment, carried)
    }

    pub(crate) fn seal(
        &self,
        header_hash: &[u8; 32],
        buf: &mut [u8],
    ) -> Result<[u8; 16], Rejected> {
        AeadKey::new(&self.key).seal_detached(&self.nonce, header_hash, buf)
    }

    pub(crate) fn open(
        &self,
        header_hash: &[u8; 32],
        buf: &mut [u8],
        tag: &[u8; 16],
    ) -> Result<(), Rejected> {
        AeadKey::new(&self.key).open_detached(&self.nonce, header_hash, buf, tag)
    }
}

/// The bytes the sending device signs after the label (SPEC.md
/// §15.3): `header_hash || content`.
pub(crate) fn transcript(header_hash: &[u8; 32], content: &[u8; 32]) -> [u8; 64] {
    let mut t = [0u8; 64];
    t[..32].copy_from_slice(header_hash);
    t[32..].copy_from_slice(content);
    t
}

pub(crate) fn len_u32(len: usize) -> [u8; 4] {
    u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes()
}

/// The unpadded body plaintext: `u64 timestamp || u32 len || aad || u32 len
/// || payload || signature`.
pub(crate) fn body_len(aad: &[u8], payload: &[u8]) -> usize {
    s::MIN_BODY + aad.len() + payload.len()
}

pub(crate) fn write_body(
    out: &mut Vec<u8>,
    timestamp: u64,
    aad: &[u8],
    payload: &[u8],
    sig: &[u8; 64],
) {
    out.extend_from_slice(&timestamp.to_be_bytes());
    out.extend_from_slice(&len_u32(aad.len()));
    out.extend_from_slice(aad);
    out.extend_from_slice(&len_u32(payload.len()));
    out.extend_from_slice(payload);
    out.extend_from_slice(sig);
}

/// The check value that ends a persisted session (SPEC.md §15.7–15.8):
/// `SHA-256(lp("fanseal v2 session state check") || every preceding byte)`.
/// The chain key and message keys have no public counterpart to check them
/// against, so a corrupted byte would otherwise load and fail every later
/// message as `Unauthenticated`; this turns it into a clear load error. It
/// detects accidents, not an attacker who can rewrite the stored bytes.
pub(crate) fn state_check(bytes: &[u8]) -> [u8; 32] {
    let mut h = Sha256Stream::labeled(s::STATE_CHECK);
    h.update(bytes);
    h.finish()
}

/// Reads the 32-byte check value at the reader's position and compares it
/// with that of `bytes[..position]`.
pub(crate) fn read_state_check(
    r: &mut crate::codec::Reader<'_>,
    bytes: &[u8],
) -> Result<(), crate::error::DecodeError> {
    let covered = bytes.get(..r.position()).unwrap_or(bytes);
    let expected = state_check(covered);
    let found: [u8; 32] = r.array("state check")?;
    if !ct_eq(&expected, &found) {
        return Err(crate::error::DecodeError::Inconsistent("state check"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spelled_out_salt_is_the_framed_label() {
        let mut framed = label_prefix(s::SECRET).to_vec();
        framed.extend_from_slice(s::SECRET);
        assert_eq!(SECRET_SALT, framed.as_slice());
    }
}
