//! Attachment errors (SPEC.md §11.9).

use core::fmt;

use crate::error::DecodeError;

/// Why an attachment could not be encrypted, checked or decrypted.
///
/// Every authentication failure (a commitment that does not match the key
/// and context, a chunk whose tag does not verify) is the single opaque
/// [`AttachmentError::Unauthenticated`]. Length errors are told apart, since
/// lengths are public.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttachmentError {
    /// The ciphertext ends early: inside the header or a tag, or at a chunk
    /// boundary (the short final chunk is missing), or a download is shorter
    /// than its reference says.
    Truncated,
    /// More ciphertext than the reference (or the chunk position) allows:
    /// bytes after the end of the file.
    TrailingData,
    /// Opaque authentication failure: the key commitment does not match the
    /// key and context, or a chunk's AES-GCM tag does not verify (modified,
    /// reordered, duplicated or spliced chunks; wrong key or context).
    Unauthenticated,
    /// A length beyond the limits: more than 2^38 chunks (4 PiB - 1 byte of
    /// plaintext), a context or binding longer than its maximum.
    LengthOutOfRange,
    /// A key of the wrong length (Cobblestone-256 keys are 32 bytes).
    InvalidKeyLength,
    /// A plaintext range or chunk index outside the file.
    RangeOutOfBounds,
    /// A seek relative to the end of the file before the total length was
    /// authenticated by decrypting the final chunk (SPEC.md §11.6).
    LengthUnauthenticated,
    /// A download has the right length but not the SHA-256 digest its
    /// reference names.
    DigestMismatch,
    /// An earlier call already failed; a failed stream stays failed.
    Poisoned,
    /// A reference's binding is not the one the recipient expects
    /// ([`AttachmentReference::expect_binding`](super::AttachmentReference::expect_binding)).
    BindingMismatch,
    /// A reference's bytes are malformed.
    Decode(DecodeError),
}

impl fmt::Display for AttachmentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttachmentError::Truncated => f.write_str("attachment ciphertext is truncated"),
            AttachmentError::TrailingData => {
                f.write_str("attachment ciphertext has data after its end")
            }
            AttachmentError::Unauthenticated => f.write_str("attachment failed authentication"),
            AttachmentError::LengthOutOfRange => f.write_str("attachment length out of range"),
            AttachmentError::InvalidKeyLength => f.write_str("attachment key must be 32 bytes"),
            AttachmentError::RangeOutOfBounds => {
                f.write_str("range or chunk index outside the attachment")
            }
            AttachmentError::LengthUnauthenticated => {
                f.write_str("seek from the end needs the length authenticated first")
            }
            AttachmentError::DigestMismatch => {
                f.write_str("download does not match the reference's digest")
            }
            AttachmentError::Poisoned => f.write_str("stream already failed"),
            AttachmentError::BindingMismatch => {
                f.write_str("attachment reference has another binding than expected")
            }
            AttachmentError::Decode(e) => write!(f, "attachment reference: {e}"),
        }
    }
}

impl core::error::Error for AttachmentError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            AttachmentError::Decode(e) => Some(e),
            _ => None,
        }
    }
}

impl From<DecodeError> for AttachmentError {
    fn from(e: DecodeError) -> Self {
        AttachmentError::Decode(e)
    }
}
