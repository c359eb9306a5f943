//! Streaming Cobblestone-256 encryption (SPEC.md §11.4, §11.5).
//!
//! Push plaintext in slices of any size; full 16 KiB chunks are sealed and
//! appended to the caller's output as soon as they are complete. At most one
//! chunk of plaintext (16 KiB) is buffered, whatever the file size.

use alloc::vec::Vec;
use core::fmt;

use rand_core::CryptoRng;
use zeroize::{Zeroize, Zeroizing};

use super::keys::{derive, AttachmentKey, ChunkKeys};
use super::params::{CHUNK, HEADER, MAX_CHUNKS, MAX_PLAINTEXT, SALT, TAG};
use super::AttachmentError;

/// A streaming Cobblestone-256 encryptor for one file (C2SP chunked
/// encryption with SHA-512 and AES-256-GCM).
///
/// Output layout: `salt(24) || commitment(32) || chunk_0 || … || chunk_n`,
/// each chunk its AES-256-GCM ciphertext and 16-byte tag; every chunk but
/// the last holds 16 384 plaintext bytes and the last fewer (possibly 0).
/// The header is written by the first [`update`](Self::update) or by
/// [`finish`](Self::finish).
///
/// ```
/// use fanseal::attachment::{AttachmentKey, Decryptor, Encryptor};
/// let mut rng = rand_chacha::ChaCha20Rng::from_seed([1; 32]);
/// # use rand_core::SeedableRng;
/// let key = AttachmentKey::generate(&mut rng);
/// let mut enc = Encryptor::new(&key, b"my context", &mut rng).unwrap();
/// let mut ct = Vec::new();
/// enc.update(b"hello ", &mut ct).unwrap();
/// enc.update(b"world", &mut ct).unwrap();
/// let ct_len = enc.finish(&mut ct).unwrap();
/// assert_eq!(ct_len, ct.len() as u64);
/// assert_eq!(ct.len(), 56 + 11 + 16);
///
/// let mut dec = Decryptor::new(&key, b"my context").unwrap();
/// let mut pt = Vec::new();
/// dec.update(&ct, &mut pt).unwrap();
/// dec.finish(&mut pt).unwrap();
/// assert_eq!(pt, b"hello world");
/// ```
pub struct Encryptor {
    keys: ChunkKeys,
    header: Option<[u8; HEADER]>,
    buf: Zeroizing<Vec<u8>>,
    next_chunk: u64,
    written: u64,
    failed: bool,
}

impl fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encryptor")
            .field("next_chunk", &self.next_chunk)
            .field("buffered", &self.buf.len())
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl Encryptor {
    /// Starts a file under `key` with a fresh random 24-byte salt and the raw
    /// C2SP `context` (at most 64 KiB; use
    /// [`fanseal_context`](super::fanseal_context) for fanseal's own).
    ///
    /// # Errors
    /// [`AttachmentError::LengthOutOfRange`] if `context` is too long.
    pub fn new<R: CryptoRng + ?Sized>(
        key: &AttachmentKey,
        context: &[u8],
        rng: &mut R,
    ) -> Result<Self, AttachmentError> {
        let mut salt = [0u8; SALT];
        rng.fill_bytes(&mut salt);
        Self::with_salt(key, salt, context)
    }

    /// Starts a file with a caller-chosen salt. The salt must never repeat
    /// under one key (reusing it reuses every nonce); prefer
    /// [`Encryptor::new`]. For test vectors and interop.
    ///
    /// # Errors
    /// [`AttachmentError::LengthOutOfRange`] if `context` is too long.
    pub fn with_salt(
        key: &AttachmentKey,
        salt: [u8; SALT],
        context: &[u8],
    ) -> Result<Self, AttachmentError> {
        let (keys, commitment) = derive(key, &salt, context)?;
        let mut header = [0u8; HEADER];
        let (s, c) = header.split_at_mut(SALT);
        s.copy_from_slice(&salt);
        c.copy_from_slice(&commitment);
        Ok(Encryptor {
            keys,
            header: Some(header),
            buf: Zeroizing::new(Vec::with_capacity(CHUNK)),
            next_chunk: 0,
            written: 0,
            failed: false,
        })
    }

    /// Ciphertext bytes appended to outputs so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    fn emit_header(&mut self, out: &mut Vec<u8>) {
        if let Some(h) = self.header.take() {
            out.extend_from_slice(&h);
            self.written += HEADER as u64;
        }
    }

    /// Encrypts `plaintext` (any length, including 0), appending every
    /// chunk it completes to `out`. A chunk is sealed as soon as its 16 KiB
    /// are in: a full chunk is never the final one.
    ///
    /// # Errors
    /// [`AttachmentError::LengthOutOfRange`] as soon as the plaintext given
    /// so far exceeds [`MAX_PLAINTEXT`](super::MAX_PLAINTEXT) (nothing of
    /// this call is written; then [`AttachmentError::Poisoned`] on every
    /// later call).
    pub fn update(
        &mut self,
        mut plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), AttachmentError> {
        if self.failed {
            return Err(AttachmentError::Poisoned);
        }
        // Refuse as soon as the input exceeds the maximum plaintext (SPEC.md
        // §11.4), before anything of this call is sealed: the plaintext so
        // far is the sealed full chunks plus the buffer.
        let so_far = self
            .next_chunk
            .saturating_mul(CHUNK as u64)
            .saturating_add(self.buf.len() as u64);
        if plaintext.len() as u64 > MAX_PLAINTEXT.saturating_sub(so_far) {
            self.failed = true;
            return Err(AttachmentError::LengthOutOfRange);
        }
        self.emit_header(out);
        if !self.buf.is_empty() {
            let take = (CHUNK - self.buf.len()).min(plaintext.len());
            let (head, tail) = plaintext.split_at(take);
            self.buf.extend_from_slice(head);
            plaintext = tail;
            if self.buf.len() < CHUNK {
                return Ok(());
            }
            let r = self.seal(None, out);
            self.buf.zeroize();
            self.buf.clear();
            r?;
        }
        while plaintext.len() >= CHUNK {
            let (chunk, rest) = plaintext.split_at(CHUNK);
            self.seal(Some(chunk), out)?;
            plaintext = rest;
        }
        self.buf.extend_from_slice(plaintext);
        Ok(())
    }

    /// Ends the file: seals the buffered bytes (0 to 16 383) as the short
    /// final chunk and returns the total ciphertext length in bytes.
    ///
    /// # Errors
    /// [`AttachmentError::LengthOutOfRange`] past 2^38 chunks;
    /// [`AttachmentError::Poisoned`] after an earlier failure.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<u64, AttachmentError> {
        if self.failed {
            return Err(AttachmentError::Poisoned);
        }
        self.emit_header(out);
        self.seal(None, out)?;
        Ok(self.written)
    }

    /// Seals `chunk` (or, if `None`, the buffer) as the next chunk and
    /// appends it to `out`.
    fn seal(&mut self, chunk: Option<&[u8]>, out: &mut Vec<u8>) -> Result<(), AttachmentError> {
        if self.next_chunk >= MAX_CHUNKS {
            self.failed = true;
            return Err(AttachmentError::LengthOutOfRange);
        }
        let chunk = chunk.unwrap_or(self.buf.as_slice());
        let start = out.len();
        out.reserve(chunk.len() + TAG);
        out.extend_from_slice(chunk);
        let len = chunk.len();
        let body = out.get_mut(start..).unwrap_or_default();
        let tag = self.keys.seal(self.next_chunk, body)?;
        out.extend_from_slice(&tag);
        self.next_chunk += 1;
        self.written += (len + TAG) as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPEC.md §11.4: at most 2^38 chunks, so a full chunk at index
    /// 2^38 - 1 is refused: the input then exceeds the maximum plaintext.
    #[test]
    fn input_beyond_the_maximum_plaintext_is_refused_at_once() {
        let key = AttachmentKey::from_bytes([7; 32]);
        let mut enc = Encryptor::with_salt(&key, [1; SALT], b"").unwrap();
        enc.next_chunk = MAX_CHUNKS - 1;
        let mut out = Vec::new();
        // 16 383 bytes fit in the final chunk 2^38 - 1 …
        let mut ok = enc.update(&[0; CHUNK - 1], &mut out);
        assert_eq!(ok, Ok(()));
        let before = out.len();
        // … one more byte would make it full.
        ok = enc.update(&[0; 1], &mut out);
        assert_eq!(ok, Err(AttachmentError::LengthOutOfRange));
        assert_eq!(out.len(), before);
        assert_eq!(enc.update(&[], &mut out), Err(AttachmentError::Poisoned));

        let mut enc = Encryptor::with_salt(&key, [1; SALT], b"").unwrap();
        enc.next_chunk = MAX_CHUNKS - 1;
        let mut out = Vec::new();
        assert_eq!(
            enc.update(&[0; CHUNK], &mut out),
            Err(AttachmentError::LengthOutOfRange)
        );
        assert!(out.is_empty());

        let mut enc = Encryptor::with_salt(&key, [1; SALT], b"").unwrap();
        enc.next_chunk = MAX_CHUNKS - 1;
        let mut out = Vec::new();
        enc.update(&[0; CHUNK - 1], &mut out).unwrap();
        assert!(enc.finish(&mut out).is_ok());
    }
}
