//! Streaming Cobblestone-256 decryption (SPEC.md §11.5).
//!
//! Push ciphertext in slices of any size. The header's commitment is checked
//! before any chunk is decrypted; a chunk's plaintext is appended to the
//! caller's output only after its tag verified. At most one sealed chunk
//! (16 400 bytes) of ciphertext is buffered. [`Decryptor::finish`] decrypts
//! the final chunk, which must be shorter than 16 KiB: a stream that ends at
//! a chunk boundary or inside a tag is [`AttachmentError::Truncated`].

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use super::keys::{derive_checked, AttachmentKey, ChunkKeys};
use super::params::{HEADER, MAX_CHUNKS, MAX_CONTEXT, SEALED_CHUNK, TAG};
use super::AttachmentError;

enum State {
    /// Collecting the 56-byte header; the key and context wait for it.
    Header {
        key: AttachmentKey,
        context: Vec<u8>,
        header: Vec<u8>,
    },
    /// Header checked; `buf` holds the start of the next sealed chunk.
    Body { keys: Box<ChunkKeys>, buf: Vec<u8> },
    /// A call failed: every later call fails too.
    Failed,
}

/// A streaming Cobblestone-256 decryptor for one file.
///
/// See [`Encryptor`](super::Encryptor) for an example. Plaintext released by
/// [`update`](Self::update) is authenticated chunk by chunk; the file is
/// complete (not truncated, not extended) only when
/// [`finish`](Self::finish) returns `Ok`.
pub struct Decryptor {
    state: State,
    next_chunk: u64,
    released: u64,
}

impl fmt::Debug for Decryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Header { .. } => "header",
            State::Body { .. } => "body",
            State::Failed => "failed",
        };
        f.debug_struct("Decryptor")
            .field("state", &state)
            .field("next_chunk", &self.next_chunk)
            .field("released", &self.released)
            .finish_non_exhaustive()
    }
}

impl Decryptor {
    /// A decryptor for a file sealed under `key` and the raw C2SP `context`.
    ///
    /// # Errors
    /// [`AttachmentError::LengthOutOfRange`] if `context` exceeds 64 KiB.
    pub fn new(key: &AttachmentKey, context: &[u8]) -> Result<Self, AttachmentError> {
        if context.len() > MAX_CONTEXT {
            return Err(AttachmentError::LengthOutOfRange);
        }
        Ok(Decryptor {
            state: State::Header {
                key: key.clone(),
                context: context.to_vec(),
                header: Vec::with_capacity(HEADER),
            },
            next_chunk: 0,
            released: 0,
        })
    }

    /// Authenticated plaintext bytes released so far.
    pub fn plaintext_released(&self) -> u64 {
        self.released
    }

    /// Decrypts what it can of `ciphertext`, appending the plaintext of
    /// every chunk that completes and authenticates to `out`.
    ///
    /// # Errors
    /// [`AttachmentError::Unauthenticated`] for a wrong commitment (wrong
    /// key or context) or a chunk that fails its tag (`out` is left as it
    /// was before that chunk: chunks of the same call before it stay
    /// released and counted, SPEC.md §11.5 step 3);
    /// [`AttachmentError::LengthOutOfRange`] for a full chunk at index
    /// 2^38 - 1; [`AttachmentError::Poisoned`] after any failure.
    pub fn update(&mut self, ciphertext: &[u8], out: &mut Vec<u8>) -> Result<(), AttachmentError> {
        let r = self.update_inner(ciphertext, out);
        if r.is_err() {
            self.state = State::Failed;
        }
        r
    }

    fn update_inner(&mut self, mut ct: &[u8], out: &mut Vec<u8>) -> Result<(), AttachmentError> {
        if let State::Header {
            key,
            context,
            header,
        } = &mut self.state
        {
            let take = (HEADER - header.len()).min(ct.len());
            let (head, tail) = ct.split_at(take);
            header.extend_from_slice(head);
            ct = tail;
            if header.len() < HEADER {
                return Ok(());
            }
            let h: [u8; HEADER] = header
                .as_slice()
                .try_into()
                .map_err(|_| AttachmentError::Truncated)?;
            let keys = derive_checked(key, &h, context)?;
            self.state = State::Body {
                keys: Box::new(keys),
                buf: Vec::with_capacity(SEALED_CHUNK),
            };
        }
        let State::Body { keys, buf } = &mut self.state else {
            return Err(AttachmentError::Poisoned);
        };
        if !buf.is_empty() {
            let need = SEALED_CHUNK - buf.len();
            if ct.len() < need {
                buf.extend_from_slice(ct);
                return Ok(());
            }
            // Complete the buffered chunk with the head of the input,
            // assembling it once in the output (no second staging copy).
            let (head, tail) = ct.split_at(need);
            check_full_chunk_index(self.next_chunk)?;
            open_parts(keys, &mut self.next_chunk, buf, head, out)?;
            self.released += (SEALED_CHUNK - TAG) as u64;
            buf.clear();
            ct = tail;
        }
        // Full sealed chunks straight from the input. A full chunk is never
        // the final one, so it can be opened at once.
        while ct.len() >= SEALED_CHUNK {
            let (chunk, rest) = ct.split_at(SEALED_CHUNK);
            check_full_chunk_index(self.next_chunk)?;
            open_chunk(keys, &mut self.next_chunk, chunk, out)?;
            self.released += (SEALED_CHUNK - TAG) as u64;
            ct = rest;
        }
        buf.extend_from_slice(ct);
        Ok(())
    }

    /// Ends the file: decrypts the buffered final chunk (16 to 16 399 sealed
    /// bytes, i.e. 0 to 16 383 plaintext bytes) and returns the total
    /// plaintext length in bytes.
    ///
    /// # Errors
    /// [`AttachmentError::Truncated`] if the stream ended inside the header,
    /// inside a tag, or at a chunk boundary (a missing final chunk);
    /// [`AttachmentError::Unauthenticated`] if the final chunk fails its tag
    /// (including data appended after the true end);
    /// [`AttachmentError::Poisoned`] after an earlier failure.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<u64, AttachmentError> {
        match core::mem::replace(&mut self.state, State::Failed) {
            State::Header { .. } => Err(AttachmentError::Truncated),
            State::Failed => Err(AttachmentError::Poisoned),
            State::Body { keys, buf } => {
                if buf.len() < TAG {
                    return Err(AttachmentError::Truncated);
                }
                let len = buf.len() - TAG;
                open_chunk(&keys, &mut self.next_chunk, &buf, out)?;
                Ok(self.released + len as u64)
            }
        }
    }
}

/// A full chunk is never final, so one at index 2^38 - 1 (the last index
/// there is) would need a chunk 2^38 after it: `LengthOutOfRange`, and it is
/// not opened (SPEC.md §11.4, §11.5 step 3).
fn check_full_chunk_index(index: u64) -> Result<(), AttachmentError> {
    if index >= MAX_CHUNKS - 1 {
        return Err(AttachmentError::LengthOutOfRange);
    }
    Ok(())
}

/// Opens `sealed` (body || tag) as chunk `*index`, appending its plaintext
/// to `out` only if the tag verifies, and advances the index.
pub(crate) fn open_chunk(
    keys: &ChunkKeys,
    index: &mut u64,
    sealed: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), AttachmentError> {
    open_parts(keys, index, sealed, &[], out)
}

/// Opens the sealed chunk `first || second` as chunk `*index`: the bytes
/// are copied once into `out`, decrypted there in place, and removed again
/// (they are still ciphertext: a failed open changes nothing) unless the
/// tag verifies.
fn open_parts(
    keys: &ChunkKeys,
    index: &mut u64,
    first: &[u8],
    second: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), AttachmentError> {
    if *index >= MAX_CHUNKS {
        return Err(AttachmentError::LengthOutOfRange);
    }
    if first.len() + second.len() < TAG {
        return Err(AttachmentError::Truncated);
    }
    let start = out.len();
    out.reserve(first.len() + second.len());
    out.extend_from_slice(first);
    out.extend_from_slice(second);
    let body_end = out.len() - TAG;
    let mut tag = [0u8; TAG];
    tag.copy_from_slice(out.get(body_end..).unwrap_or_default());
    out.truncate(body_end);
    let r = match out.get_mut(start..) {
        Some(dst) => keys.open(*index, dst, &tag),
        None => Err(AttachmentError::Unauthenticated),
    };
    if r.is_err() {
        out.truncate(start);
        return r;
    }
    *index += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attachment::Encryptor;

    /// SPEC.md §11.5 step 3: a full chunk at index 2^38 - 1 is
    /// `LengthOutOfRange` and is not opened (whether it arrives in one
    /// slice or completes a buffered one).
    #[test]
    fn a_full_chunk_at_the_last_index_is_refused() {
        let key = AttachmentKey::from_bytes([9; 32]);
        let mut enc = Encryptor::with_salt(&key, [4; 24], b"c").unwrap();
        let mut ct = Vec::new();
        enc.update(&[1; 2 * SEALED_CHUNK], &mut ct).unwrap();
        enc.finish(&mut ct).unwrap();
        let (header, body) = ct.split_at(HEADER);
        for split in [0, 100] {
            let mut dec = Decryptor::new(&key, b"c").unwrap();
            let mut out = Vec::new();
            dec.update(header, &mut out).unwrap();
            dec.update(&body[..split], &mut out).unwrap();
            dec.next_chunk = MAX_CHUNKS - 1;
            assert_eq!(
                dec.update(&body[split..SEALED_CHUNK], &mut out),
                Err(AttachmentError::LengthOutOfRange)
            );
            assert!(out.is_empty());
        }
        // The final (short) chunk at that index is looked at normally.
        let mut dec = Decryptor::new(&key, b"c").unwrap();
        let mut out = Vec::new();
        dec.update(header, &mut out).unwrap();
        dec.next_chunk = MAX_CHUNKS - 1;
        dec.update(&body[..100], &mut out).unwrap();
        assert_eq!(dec.finish(&mut out), Err(AttachmentError::Unauthenticated));
    }
}
