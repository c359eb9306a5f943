//! The session message (object type `0x08`, SPEC.md §15.3).
//!
//! ```text
//! offset size  field
//!      0    1  wire version           0x02
//!      1    1  object type            0x08 (session message)
//!      2    2  suite                  0x0001
//!      4   16  session id
//!     20    4  index                  u32, 0 ..= 2^32 - 2
//!     24   32  random                 fresh per message, mixed into the key schedule
//!     56   32  key commitment
//!     88    4  ciphertext length c    u32, 96 ..= MAX_BODY + 16
//!     92    c  ciphertext             AES-256-GCM(padded body) || tag
//! ```
//!
//! Everything a relay needs is in the clear; the sender's timestamp, AAD,
//! payload and signature are inside the ciphertext (the signature names the
//! sending device, so it stays hidden like the envelope's: P5).

use alloc::vec::Vec;
use core::fmt;

use crate::codec::{Reader, Writer};
use crate::consts::{limit, session as s, size, SUITE_X25519_SHA256_AES256GCM_ED25519};
use crate::error::DecodeError;

/// A session's 16-byte public id, random, chosen by the sending device.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(pub(crate) [u8; s::SESSION_ID]);

impl SessionId {
    /// Wraps 16 bytes.
    pub const fn from_bytes(bytes: [u8; s::SESSION_ID]) -> Self {
        SessionId(bytes)
    }

    /// The 16 bytes.
    pub const fn to_bytes(&self) -> [u8; s::SESSION_ID] {
        self.0
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// Smallest ciphertext: the smallest body plus the tag (bytes).
pub(crate) const MIN_CIPHERTEXT: usize = s::MIN_BODY + size::TAG;
/// Largest ciphertext: the envelope's body limit plus the tag (bytes).
pub(crate) const MAX_CIPHERTEXT: usize = limit::MAX_BODY + size::TAG;

/// A session message as sent (SPEC.md §15.3): public routing fields
/// and the ciphertext. Decoding checks only the structure; authenticity is
/// checked by [`crate::InboundSession::decrypt`].
///
/// Size: `92 + c` bytes, `c` the ciphertext length (at least 96).
///
/// # Example
/// ```
/// # use fanseal::*;
/// let bytes = [0u8; 10];
/// assert!(matches!(SessionMessage::from_bytes(&bytes), Err(DecodeError::UnsupportedVersion(0))));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SessionMessage {
    pub(crate) session_id: SessionId,
    pub(crate) index: u32,
    pub(crate) random: [u8; s::RANDOM],
    pub(crate) commitment: [u8; size::HASH],
    pub(crate) ciphertext: Vec<u8>,
}

impl fmt::Debug for SessionMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionMessage")
            .field("session_id", &self.session_id)
            .field("index", &self.index)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

impl SessionMessage {
    /// The session id (public): route the message to the inbound session
    /// of that id.
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    /// The message's index in its session's chain (public).
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The canonical encoding (`92 + c` bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(s::MESSAGE_HEADER + self.ciphertext.len());
        w.object_prefix(s::MESSAGE_TYPE);
        w.u16(SUITE_X25519_SHA256_AES256GCM_ED25519);
        w.put(&self.session_id.0);
        w.u32(self.index);
        w.put(&self.random);
        w.put(&self.commitment);
        w.bytes_u32(&self.ciphertext);
        w.into_vec()
    }

    /// Decodes the one canonical encoding (SPEC.md §15.3), checking,
    /// in order: version, type `0x08`, suite, session id, index (`u32::MAX`
    /// is `OutOfRange{field: "index"}`), random, commitment, ciphertext
    /// length (`OutOfRange{field: "ciphertext"}` outside `96 ..= MAX_BODY +
    /// 16`, checked before anything is allocated), the ciphertext bytes
    /// (`Truncated`), no trailing bytes.
    ///
    /// # Errors
    /// The first [`DecodeError`] in that order.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        r.object_prefix(s::MESSAGE_TYPE)?;
        r.suite()?;
        let session_id = SessionId(r.array("session id")?);
        let index = r.u32("index")?;
        if index == u32::MAX {
            return Err(DecodeError::OutOfRange {
                field: "index",
                offset: r.position(),
                min: 0,
                max: usize::try_from(u32::MAX - 1).unwrap_or(usize::MAX),
                found: usize::try_from(index).unwrap_or(usize::MAX),
            });
        }
        let random = r.array("random")?;
        let commitment = r.array("commitment")?;
        let len = usize::try_from(r.u32("ciphertext")?).unwrap_or(usize::MAX);
        let len = r.bounded(len, MIN_CIPHERTEXT, MAX_CIPHERTEXT, "ciphertext")?;
        let ciphertext = r.take(len, "ciphertext")?.to_vec();
        r.finish()?;
        Ok(SessionMessage {
            session_id,
            index,
            random,
            commitment,
            ciphertext,
        })
    }
}
