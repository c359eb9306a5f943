//! Cobblestone-256 sizes and the plaintext/ciphertext length mapping
//! (SPEC.md §11.4, §11.8).
//!
//! A plaintext of `p` bytes has `p / 16384 + 1` chunks (the final one is
//! always shorter than 16 KiB, possibly empty) and a ciphertext of
//! `56 + p + 16 * (p / 16384 + 1)` bytes. Only ciphertext lengths of that
//! form are valid; every other length is truncated (or too long).

use super::AttachmentError;
pub use crate::consts::attachment::{
    CHUNK, COMMITMENT, HEADER, KEY, MAX_BINDING, MAX_CHUNKS, MAX_CIPHERTEXT, MAX_CONTEXT,
    MAX_PLAINTEXT, MIN_CIPHERTEXT, NONCE, SALT, SEALED_CHUNK, TAG,
};

const CHUNK_U64: u64 = CHUNK as u64;
const SEALED_U64: u64 = SEALED_CHUNK as u64;
const HEADER_U64: u64 = HEADER as u64;
const TAG_U64: u64 = TAG as u64;

/// Ciphertext length in bytes of a plaintext of `plaintext_len` bytes.
///
/// # Errors
/// [`AttachmentError::LengthOutOfRange`] above [`MAX_PLAINTEXT`] (4 PiB - 1).
///
/// ```
/// use fanseal::attachment::ciphertext_len;
/// assert_eq!(ciphertext_len(0), Ok(72));
/// assert_eq!(ciphertext_len(16384), Ok(56 + 16384 + 32));
/// ```
pub fn ciphertext_len(plaintext_len: u64) -> Result<u64, AttachmentError> {
    if plaintext_len > MAX_PLAINTEXT {
        return Err(AttachmentError::LengthOutOfRange);
    }
    Ok(HEADER_U64 + plaintext_len + TAG_U64 * (plaintext_len / CHUNK_U64 + 1))
}

/// Plaintext length in bytes of a ciphertext of `ciphertext_len` bytes.
///
/// # Errors
/// [`AttachmentError::Truncated`] when no plaintext has this ciphertext
/// length (shorter than 72 bytes, a chunk boundary, or inside a tag);
/// [`AttachmentError::LengthOutOfRange`] above [`MAX_CIPHERTEXT`].
///
/// ```
/// use fanseal::attachment::{plaintext_len, AttachmentError};
/// assert_eq!(plaintext_len(72), Ok(0));
/// assert_eq!(plaintext_len(56 + 16400), Err(AttachmentError::Truncated));
/// ```
pub fn plaintext_len(ciphertext_len: u64) -> Result<u64, AttachmentError> {
    if ciphertext_len > MAX_CIPHERTEXT {
        return Err(AttachmentError::LengthOutOfRange);
    }
    if ciphertext_len < MIN_CIPHERTEXT {
        return Err(AttachmentError::Truncated);
    }
    let body = ciphertext_len - HEADER_U64;
    let full = body / SEALED_U64;
    let rest = body % SEALED_U64;
    if rest < TAG_U64 {
        return Err(AttachmentError::Truncated);
    }
    Ok(full * CHUNK_U64 + rest - TAG_U64)
}

/// Number of chunks of a plaintext of `plaintext_len` bytes (at least one).
pub(crate) fn chunk_count(plaintext_len: u64) -> u64 {
    plaintext_len / CHUNK_U64 + 1
}

/// Ciphertext offset of chunk `index` (SPEC.md §11.6).
pub(crate) fn chunk_offset(index: u64) -> u64 {
    HEADER_U64 + index * SEALED_U64
}

/// Chunk index holding plaintext byte `offset`.
pub(crate) fn chunk_of(offset: u64) -> u64 {
    offset / CHUNK_U64
}

/// First plaintext byte of chunk `index`.
pub(crate) fn chunk_start(index: u64) -> u64 {
    index * CHUNK_U64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip_and_invalid_lengths_are_truncated() {
        for p in [0u64, 1, 16383, 16384, 16385, 32768, 1 << 30, MAX_PLAINTEXT] {
            let c = ciphertext_len(p).unwrap();
            assert_eq!(plaintext_len(c), Ok(p));
        }
        assert_eq!(
            ciphertext_len(MAX_PLAINTEXT + 1),
            Err(AttachmentError::LengthOutOfRange)
        );
        assert_eq!(
            plaintext_len(MAX_CIPHERTEXT + 1),
            Err(AttachmentError::LengthOutOfRange)
        );
        for c in [
            0u64,
            55,
            56,
            71,
            56 + 16400,
            56 + 16400 + 15,
            56 + 2 * 16400,
        ] {
            assert_eq!(plaintext_len(c), Err(AttachmentError::Truncated), "{c}");
        }
        assert_eq!(MAX_CIPHERTEXT, ciphertext_len(MAX_PLAINTEXT).unwrap());
    }
}
