//! The envelope header: the public, authenticated part every recipient
//! receives (SPEC.md §4.2–4.3).
//!
//! ```text
//! size  field
//!    2  suite                 0x0001 (classical) or 0x0002 (hybrid)
//!   16  message id            random; the relay's idempotency key
//!   32  ephemeral public key  X25519, the HPKE `enc` shared by all wraps
//!                             (classical suite only: a hybrid wrap carries
//!                             its own X-Wing ciphertext)
//!   32  key commitment        HKDF(message secret, context hash)
//!    2  recipient count n     1..=1024
//! 16·n  recipient key ids     strictly ascending
//!    4  body length           u32, MIN_BODY + 16 ..= MAX_BODY + 16
//! ```
//!
//! Every field is one the relay needs (routing, parsing, idempotency) or one
//! a recipient needs before it can decrypt; the sender's timestamp travels
//! inside the body (SPEC.md §10, relay-visible metadata).
//!
//! `context hash = SHA-256(lp("fanseal v2 envelope context") || 0x02 || header without the commitment)`,
//! `header hash  = SHA-256(lp("fanseal v2 envelope header") || context hash || commitment)`.

use alloc::vec::Vec;

use crate::codec::{Reader, Writer};
use crate::consts::{label, limit, size, WIRE_VERSION};
use crate::error::DecodeError;
use crate::identity::KeyId;
use crate::primitives::{x25519_is_canonical, Sha256Stream};
use crate::suite::Suite;

/// A message's unique id, drawn at random by the sender.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(pub(crate) [u8; size::MESSAGE_ID]);

impl MessageId {
    /// Wraps 16 bytes.
    pub const fn from_bytes(bytes: [u8; size::MESSAGE_ID]) -> Self {
        MessageId(bytes)
    }

    /// The 16 bytes.
    pub const fn to_bytes(&self) -> [u8; size::MESSAGE_ID] {
        self.0
    }
}

impl core::fmt::Debug for MessageId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("MessageId(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// The envelope header (public; authenticated by the body AEAD, the wraps,
/// the key commitment and the sender's signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub(crate) suite: Suite,
    pub(crate) message_id: MessageId,
    /// The shared `enc` of the classical suite; unused (all zero) and not
    /// encoded in a hybrid header.
    pub(crate) ephemeral: [u8; 32],
    pub(crate) commitment: [u8; 32],
    pub(crate) recipients: Vec<KeyId>,
    pub(crate) body_len: u32,
}

/// Smallest body plaintext: certificate, timestamp, two length fields and
/// the signature, with empty AAD and payload (SPEC.md §4.7).
pub(crate) const MIN_BODY: usize = crate::identity::CERTIFICATE_LEN + 8 + 4 + 4 + size::SIGNATURE;
/// Smallest body ciphertext.
const MIN_BODY_CT: usize = MIN_BODY + size::TAG;
/// Largest body ciphertext.
pub(crate) const MAX_BODY_CT: usize = limit::MAX_BODY + size::TAG;

impl Header {
    /// The suite: [`Suite::Classical`] or [`Suite::Hybrid`] (SPEC.md §2.2).
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The message id.
    pub fn message_id(&self) -> MessageId {
        self.message_id
    }

    /// The recipient key ids, ascending.
    pub fn recipients(&self) -> &[KeyId] {
        &self.recipients
    }

    /// Length of the body ciphertext.
    pub fn body_len(&self) -> usize {
        self.body_len as usize
    }

    /// Index of `key_id` among the recipients (binary search: O(log n)).
    pub(crate) fn position(&self, key_id: &KeyId) -> Option<usize> {
        self.recipients.binary_search(key_id).ok()
    }

    pub(crate) fn context_hash(&self) -> [u8; 32] {
        let mut h = Sha256Stream::labeled(label::ENVELOPE_CONTEXT);
        h.update(&[WIRE_VERSION]);
        h.update(&self.suite.id().to_be_bytes());
        h.update(&self.message_id.0);
        if self.suite == Suite::Classical {
            h.update(&self.ephemeral);
        }
        h.update(
            &u16::try_from(self.recipients.len())
                .unwrap_or(u16::MAX)
                .to_be_bytes(),
        );
        for r in &self.recipients {
            h.update(&r.0);
        }
        h.update(&self.body_len.to_be_bytes());
        h.finish()
    }

    pub(crate) fn header_hash(context_hash: &[u8; 32], commitment: &[u8; 32]) -> [u8; 32] {
        let mut h = Sha256Stream::labeled(label::ENVELOPE_HEADER);
        h.update(context_hash);
        h.update(commitment);
        h.finish()
    }

    pub(crate) fn encoded_len(&self) -> usize {
        let enc = if self.suite == Suite::Classical {
            32
        } else {
            0
        };
        2 + 16 + enc + 32 + 2 + size::KEY_ID * self.recipients.len() + 4
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u16(self.suite.id());
        w.put(&self.message_id.0);
        if self.suite == Suite::Classical {
            w.put(&self.ephemeral);
        }
        w.put(&self.commitment);
        w.len_u16(self.recipients.len());
        for r in &self.recipients {
            w.put(&r.0);
        }
        w.u32(self.body_len);
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let suite = r.any_suite()?;
        let message_id = MessageId(r.array("message id")?);
        let ephemeral = match suite {
            Suite::Classical => {
                let ephemeral = r.array("ephemeral public key")?;
                if !x25519_is_canonical(&ephemeral) {
                    return Err(DecodeError::NonCanonical(
                        "ephemeral X25519 key must be below 2^255 - 19",
                    ));
                }
                ephemeral
            }
            Suite::Hybrid => [0; 32],
        };
        let commitment = r.array("key commitment")?;
        let n = usize::from(r.u16("recipient count")?);
        let n = r.bounded(n, 1, limit::MAX_RECIPIENTS, "recipient count")?;
        let ids = r.take(n * size::KEY_ID, "recipient key ids")?;
        let mut recipients: Vec<KeyId> = Vec::with_capacity(n);
        for chunk in ids.chunks_exact(size::KEY_ID) {
            let mut id = [0u8; size::KEY_ID];
            id.copy_from_slice(chunk);
            let id = KeyId(id);
            if recipients.last().is_some_and(|last| *last >= id) {
                return Err(DecodeError::NonCanonical(
                    "recipient key ids must be strictly ascending",
                ));
            }
            recipients.push(id);
        }
        let body_len = r.u32("body length")?;
        r.bounded(body_len as usize, MIN_BODY_CT, MAX_BODY_CT, "body length")?;
        Ok(Header {
            suite,
            message_id,
            ephemeral,
            commitment,
            recipients,
            body_len,
        })
    }
}
