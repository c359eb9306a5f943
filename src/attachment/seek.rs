//! Random-access Cobblestone-256 decryption (SPEC.md §11.6).
//!
//! Plaintext byte `i` is at offset `i % 16384` of chunk `i / 16384`; chunk
//! `k` starts at ciphertext offset `56 + k * 16400`. The caller fetches the
//! ciphertext bytes this module names (for example with HTTP range
//! requests) and hands them back; only authenticated bytes are released.

use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

use zeroize::Zeroize;

use super::decrypt::open_chunk;
use super::keys::{derive_checked, AttachmentKey, ChunkKeys};
use super::params::{
    chunk_count, chunk_of, chunk_offset, chunk_start, plaintext_len, CHUNK, HEADER, SEALED_CHUNK,
    TAG,
};
use super::AttachmentError;

/// Where a seek is measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeekFrom {
    /// Bytes from the start of the plaintext.
    Start(u64),
    /// Bytes back from the end of the plaintext; needs the total length
    /// authenticated first ([`SeekableDecryptor::authenticate_length`], or
    /// a read ending at the plaintext length), even when the length came
    /// from an [`AttachmentReference`](super::AttachmentReference).
    End(u64),
}

/// Random-access decryption of one Cobblestone-256 file whose total
/// ciphertext length the caller knows (from the store, or better from an
/// [`AttachmentReference`](super::AttachmentReference)).
///
/// ```
/// use fanseal::attachment::{AttachmentKey, Encryptor, SeekableDecryptor, SeekFrom};
/// # use rand_core::SeedableRng;
/// let mut rng = rand_chacha::ChaCha20Rng::from_seed([2; 32]);
/// let key = AttachmentKey::generate(&mut rng);
/// let plaintext: Vec<u8> = (0..40_000u32).map(|i| i as u8).collect();
/// let mut ct = Vec::new();
/// let mut enc = Encryptor::new(&key, b"ctx", &mut rng).unwrap();
/// enc.update(&plaintext, &mut ct).unwrap();
/// enc.finish(&mut ct).unwrap();
///
/// let mut seek = SeekableDecryptor::new(&key, b"ctx", &ct[..56], ct.len() as u64).unwrap();
/// // Bytes 20 000..20 010: fetch the chunks that cover them, then decrypt.
/// let span = seek.ciphertext_range(20_000..20_010).unwrap();
/// let fetched = &ct[span.start as usize..span.end as usize];
/// let mut out = Vec::new();
/// seek.decrypt_range(20_000..20_010, fetched, &mut out).unwrap();
/// assert_eq!(out, &plaintext[20_000..20_010]);
///
/// // Relative to the end: authenticate the length by opening the final chunk.
/// let last = seek.chunk_ciphertext_range(seek.chunk_count() - 1).unwrap();
/// seek.authenticate_length(&ct[last.start as usize..]).unwrap();
/// assert_eq!(seek.resolve(SeekFrom::End(10)), Ok(39_990));
/// ```
pub struct SeekableDecryptor {
    keys: ChunkKeys,
    ciphertext_len: u64,
    plaintext_len: u64,
    length_authenticated: bool,
}

impl fmt::Debug for SeekableDecryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeekableDecryptor")
            .field("ciphertext_len", &self.ciphertext_len)
            .field("plaintext_len", &self.plaintext_len)
            .field("length_authenticated", &self.length_authenticated)
            .finish_non_exhaustive()
    }
}

impl SeekableDecryptor {
    /// Opens a file of `ciphertext_len` bytes whose first 56 bytes (salt and
    /// commitment) are `header`.
    ///
    /// Checks, in this order: `ciphertext_len` is a valid Cobblestone length,
    /// `header` is 56 bytes, the commitment matches `key` and `context`.
    ///
    /// # Errors
    /// [`AttachmentError::Truncated`] / [`AttachmentError::LengthOutOfRange`]
    /// for an impossible length or a short header,
    /// [`AttachmentError::TrailingData`] for a longer header,
    /// [`AttachmentError::Unauthenticated`] for a wrong commitment.
    pub fn new(
        key: &AttachmentKey,
        context: &[u8],
        header: &[u8],
        ciphertext_len: u64,
    ) -> Result<Self, AttachmentError> {
        let plaintext_len = plaintext_len(ciphertext_len)?;
        let header: &[u8; HEADER] = match header.len() {
            n if n < HEADER => return Err(AttachmentError::Truncated),
            n if n > HEADER => return Err(AttachmentError::TrailingData),
            _ => header.try_into().map_err(|_| AttachmentError::Truncated)?,
        };
        if context.len() > super::params::MAX_CONTEXT {
            return Err(AttachmentError::LengthOutOfRange);
        }
        let keys = derive_checked(key, header, context)?;
        Ok(SeekableDecryptor {
            keys,
            ciphertext_len,
            plaintext_len,
            length_authenticated: false,
        })
    }

    /// Plaintext length in bytes implied by the ciphertext length. Not yet
    /// authenticated unless [`is_length_authenticated`](Self::is_length_authenticated).
    pub fn plaintext_len(&self) -> u64 {
        self.plaintext_len
    }

    /// Total ciphertext length in bytes.
    pub fn ciphertext_len(&self) -> u64 {
        self.ciphertext_len
    }

    /// Number of chunks (at least 1: the final short chunk).
    pub fn chunk_count(&self) -> u64 {
        chunk_count(self.plaintext_len)
    }

    /// True once the final chunk has been decrypted at its position, which
    /// proves the total length (SPEC.md §11.6).
    pub fn is_length_authenticated(&self) -> bool {
        self.length_authenticated
    }

    /// The ciphertext byte range of chunk `index`.
    ///
    /// # Errors
    /// [`AttachmentError::RangeOutOfBounds`] if `index >= chunk_count()`.
    pub fn chunk_ciphertext_range(&self, index: u64) -> Result<Range<u64>, AttachmentError> {
        if index >= self.chunk_count() {
            return Err(AttachmentError::RangeOutOfBounds);
        }
        let start = chunk_offset(index);
        let end = (start + SEALED_CHUNK as u64).min(self.ciphertext_len);
        Ok(start..end)
    }

    /// A plaintext position as an offset from the start.
    ///
    /// # Errors
    /// [`AttachmentError::LengthUnauthenticated`] for [`SeekFrom::End`], or
    /// for a position past the plaintext length, before the length is
    /// authenticated (a store may under-report it, SPEC.md §11.6);
    /// [`AttachmentError::RangeOutOfBounds`] past either end afterwards.
    pub fn resolve(&self, pos: SeekFrom) -> Result<u64, AttachmentError> {
        match pos {
            SeekFrom::Start(n) if n <= self.plaintext_len => Ok(n),
            _ if !self.length_authenticated => Err(AttachmentError::LengthUnauthenticated),
            SeekFrom::End(n) if n <= self.plaintext_len => Ok(self.plaintext_len - n),
            _ => Err(AttachmentError::RangeOutOfBounds),
        }
    }

    /// The chunks a plaintext range needs (SPEC.md §11.6): none for an
    /// empty range that ends before `p`; otherwise from the chunk holding
    /// the first byte to the one holding the last, and also the final chunk
    /// whenever the range ends at `p` (even an empty range at `p`), so
    /// that reaching the end authenticates the length.
    fn chunks_for(&self, plaintext: &Range<u64>) -> Result<Range<u64>, AttachmentError> {
        if plaintext.start > plaintext.end {
            return Err(AttachmentError::RangeOutOfBounds);
        }
        if plaintext.end > self.plaintext_len {
            return Err(if self.length_authenticated {
                AttachmentError::RangeOutOfBounds
            } else {
                AttachmentError::LengthUnauthenticated
            });
        }
        if plaintext.end == self.plaintext_len {
            return Ok(chunk_of(plaintext.start)..self.chunk_count());
        }
        if plaintext.start == plaintext.end {
            return Ok(0..0);
        }
        Ok(chunk_of(plaintext.start)..chunk_of(plaintext.end - 1) + 1)
    }

    /// The ciphertext byte range covering the plaintext range: whole chunks,
    /// from the first to the last chunk the range touches, plus the final
    /// chunk if the range ends at the plaintext length (even an empty range
    /// there). An empty range before the end needs nothing: `0..0`.
    ///
    /// # Errors
    /// [`AttachmentError::RangeOutOfBounds`] if the range is reversed (or
    /// ends past the plaintext length once that is authenticated);
    /// [`AttachmentError::LengthUnauthenticated`] if it ends past the
    /// plaintext length before the length is authenticated.
    pub fn ciphertext_range(&self, plaintext: Range<u64>) -> Result<Range<u64>, AttachmentError> {
        let chunks = self.chunks_for(&plaintext)?;
        if chunks.is_empty() {
            return Ok(0..0);
        }
        let start = self.chunk_ciphertext_range(chunks.start)?.start;
        let end = self.chunk_ciphertext_range(chunks.end - 1)?.end;
        Ok(start..end)
    }

    /// Decrypts chunk `index` from its sealed bytes (exactly
    /// [`chunk_ciphertext_range`](Self::chunk_ciphertext_range) long),
    /// appending its plaintext to `out` only if it authenticates. Opening
    /// the final chunk authenticates the total length.
    ///
    /// # Errors
    /// [`AttachmentError::RangeOutOfBounds`] for an index past the end;
    /// [`AttachmentError::Truncated`] / [`AttachmentError::TrailingData`]
    /// if `sealed` is shorter / longer than the chunk;
    /// [`AttachmentError::Unauthenticated`] if its tag fails.
    pub fn decrypt_chunk(
        &mut self,
        index: u64,
        sealed: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), AttachmentError> {
        let range = self.chunk_ciphertext_range(index)?;
        let want = range.end - range.start;
        let got = sealed.len() as u64;
        if got < want {
            return Err(AttachmentError::Truncated);
        }
        if got > want {
            return Err(AttachmentError::TrailingData);
        }
        let mut i = index;
        open_chunk(&self.keys, &mut i, sealed, out)?;
        if index + 1 == self.chunk_count() {
            self.length_authenticated = true;
        }
        Ok(())
    }

    /// Decrypts the final chunk and discards its plaintext: afterwards the
    /// total length is authenticated and [`SeekFrom::End`] works. `sealed`
    /// is the ciphertext from the final chunk's offset to the end.
    ///
    /// # Errors
    /// As [`decrypt_chunk`](Self::decrypt_chunk).
    pub fn authenticate_length(&mut self, sealed: &[u8]) -> Result<(), AttachmentError> {
        let mut scratch = Vec::with_capacity(CHUNK);
        let r = self.decrypt_chunk(self.chunk_count() - 1, sealed, &mut scratch);
        scratch.zeroize();
        r
    }

    /// Decrypts the plaintext `range` from `span`, the ciphertext bytes of
    /// [`ciphertext_range(range)`](Self::ciphertext_range), appending exactly
    /// the requested bytes to `out`. All or nothing: if any covering chunk
    /// fails, `out` is restored to its previous length. A range that ends
    /// at the plaintext length opens the final chunk and so authenticates
    /// the length. Reads are independent: a failed read changes no state
    /// (nothing is poisoned), so a later read of good chunks succeeds.
    ///
    /// # Errors
    /// [`AttachmentError::RangeOutOfBounds`] for a reversed range, or one
    /// past the end once the length is authenticated;
    /// [`AttachmentError::LengthUnauthenticated`] for a range past the end
    /// before that;
    /// [`AttachmentError::Truncated`] / [`AttachmentError::TrailingData`]
    /// if `span` has the wrong length; [`AttachmentError::Unauthenticated`]
    /// if a chunk fails.
    pub fn decrypt_range(
        &mut self,
        range: Range<u64>,
        span: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), AttachmentError> {
        let want = self.ciphertext_range(range.clone())?;
        let want_len = want.end - want.start;
        if (span.len() as u64) < want_len {
            return Err(AttachmentError::Truncated);
        }
        if (span.len() as u64) > want_len {
            return Err(AttachmentError::TrailingData);
        }
        let chunks = self.chunks_for(&range)?;
        let start_len = out.len();
        let mut scratch = Vec::with_capacity(CHUNK);
        let mut rest = span;
        let mut result = Ok(());
        for index in chunks {
            let len = self.chunk_ciphertext_range(index)?;
            let n = usize::try_from(len.end - len.start).unwrap_or(usize::MAX);
            let Some((sealed, tail)) = rest.split_at_checked(n) else {
                result = Err(AttachmentError::Truncated);
                break;
            };
            rest = tail;
            scratch.zeroize();
            scratch.clear();
            if let Err(e) = self.decrypt_chunk(index, sealed, &mut scratch) {
                result = Err(e);
                break;
            }
            // Keep only the requested part of this chunk.
            let first = chunk_start(index);
            let lo = range.start.saturating_sub(first).min(scratch.len() as u64);
            let hi = range.end.saturating_sub(first).min(scratch.len() as u64);
            let (lo, hi) = (lo as usize, hi.max(lo) as usize);
            out.extend_from_slice(scratch.get(lo..hi).unwrap_or_default());
        }
        scratch.zeroize();
        if result.is_err() {
            if let Some(released) = out.get_mut(start_len..) {
                released.zeroize();
            }
            out.truncate(start_len);
        }
        result
    }
}

const _: () = assert!(SEALED_CHUNK == CHUNK + TAG);
