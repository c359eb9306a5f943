//! The symmetric chain ratchet of a sender-key session (SPEC.md §15.2).
//!
//! ```text
//! chain_key[i+1] = HKDF-Expand(prk = chain_key[i], lp("fanseal v2 session chain key"),   32)
//! message_key[i] = HKDF-Expand(prk = chain_key[i], lp("fanseal v2 session message key"), 32)
//! ```
//!
//! A chain key is 32 uniformly random bytes (or an HKDF output), a valid
//! HKDF-SHA256 PRK. The step is one-way: `chain_key[i]` gives every later key
//! and no earlier one, so a state that moved past an index cannot recompute
//! that index's message key (forward secrecy, P12).

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::codec::label_prefix;
use crate::consts::session as s;
use crate::primitives::{ct_eq, hkdf_expand, Prk, Rejected};

/// A 32-byte chain key, wiped on drop; its `Debug` prints nothing secret.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct ChainKey([u8; s::CHAIN_KEY_LEN]);

/// A 32-byte message key (the secret of one index), wiped on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct MessageKey(pub(crate) [u8; s::CHAIN_KEY_LEN]);

impl fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChainKey(..)")
    }
}

impl fmt::Debug for MessageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MessageKey(..)")
    }
}

fn expand(prk: &[u8; 32], label: &[u8]) -> Result<Zeroizing<[u8; 32]>, Rejected> {
    let mut out = Zeroizing::new([0u8; 32]);
    hkdf_expand(prk, &[&label_prefix(label), label], out.as_mut())?;
    Ok(out)
}

impl ChainKey {
    pub(crate) fn from_bytes(bytes: &[u8; s::CHAIN_KEY_LEN]) -> Self {
        ChainKey(*bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; s::CHAIN_KEY_LEN] {
        &self.0
    }

    /// The message key of this chain key's index.
    #[cfg(test)]
    pub(crate) fn message_key(&self) -> Result<MessageKey, Rejected> {
        let k = expand(&self.0, s::MESSAGE_KEY)?;
        Ok(MessageKey(*k))
    }

    /// The chain key of the next index. `self` is left unchanged; the caller
    /// replaces (and so wipes) it.
    pub(crate) fn next(&self) -> Result<ChainKey, Rejected> {
        let k = expand(&self.0, s::CHAIN_KEY)?;
        Ok(ChainKey(*k))
    }

    /// Replaces `self` by the next chain key and returns the message key of
    /// the index it had: the old chain key is overwritten in place. Both come
    /// from one keyed PRK, with the same outputs as [`ChainKey::message_key`]
    /// and [`ChainKey::next`].
    pub(crate) fn advance(&mut self) -> Result<MessageKey, Rejected> {
        let prk = Prk::new(&self.0)?;
        let mut mk = MessageKey([0u8; s::CHAIN_KEY_LEN]);
        prk.expand(&[&label_prefix(s::MESSAGE_KEY), s::MESSAGE_KEY], &mut mk.0)?;
        prk.expand(&[&label_prefix(s::CHAIN_KEY), s::CHAIN_KEY], &mut self.0)?;
        Ok(mk)
    }

    /// Constant-time equality.
    pub(crate) fn ct_equals(&self, other: &ChainKey) -> bool {
        ct_eq(&self.0, &other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn the_step_is_deterministic_and_separates_message_and_chain_keys() {
        let mut a = ChainKey::from_bytes(&[7; 32]);
        let b = ChainKey::from_bytes(&[7; 32]);
        let mk0 = b.message_key().unwrap();
        let ck1 = b.next().unwrap();
        assert_ne!(mk0.0, *ck1.as_bytes());
        let got = a.advance().unwrap();
        assert_eq!(got.0, mk0.0);
        assert!(a.ct_equals(&ck1));
        assert!(!a.ct_equals(&b));
        assert_eq!(format!("{a:?}"), "ChainKey(..)");
    }
}
