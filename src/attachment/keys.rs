//! Key derivation and the fanseal context (SPEC.md §11.2, §11.3).
//!
//! ```text
//! key(32) || base_nonce(12) || commitment(32) = HKDF-SHA512-Expand(
//!     prk  = input key (32 bytes),
//!     info = "c2sp.org/chunked-encryption@v1+" || "AEAD_AES_256_GCM" || 0x00
//!            || salt(24) || context)
//! nonce(i) = base_nonce XOR (i as a 96-bit big-endian integer)
//! ```

use alloc::vec::Vec;
use core::fmt;

use rand_core::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::params::{COMMITMENT, KEY, MAX_BINDING, MAX_CONTEXT, NONCE, SALT};
use super::AttachmentError;
use crate::consts::attachment::{AEAD_NAME, C2SP_INFO_PREFIX, CONTEXT_LABEL};
use crate::primitives::{ct_eq, hkdf_sha512_expand_key32, AeadKey};

/// A Cobblestone-256 input key: 32 uniformly random bytes, one per file.
///
/// Wiped on drop; `Debug` prints no key byte. It travels to recipients
/// inside an [`AttachmentReference`](super::AttachmentReference), which an
/// envelope encrypts.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct AttachmentKey([u8; KEY]);

impl AttachmentKey {
    /// A fresh key from the caller's CSPRNG.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut key = AttachmentKey([0u8; KEY]);
        rng.fill_bytes(&mut key.0);
        key
    }

    /// A key from exactly 32 bytes, which must be uniformly random (a CSPRNG
    /// or KDF output, never a password).
    pub fn from_bytes(bytes: [u8; KEY]) -> Self {
        AttachmentKey(bytes)
    }

    /// A key from a slice.
    ///
    /// # Errors
    /// [`AttachmentError::InvalidKeyLength`] unless `bytes` is 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, AttachmentError> {
        let arr: [u8; KEY] = bytes
            .try_into()
            .map_err(|_| AttachmentError::InvalidKeyLength)?;
        Ok(AttachmentKey(arr))
    }

    /// The secret key bytes. Loudly named: whoever holds them decrypts the file.
    pub fn expose_secret_bytes(&self) -> &[u8; KEY] {
        &self.0
    }

    /// Constant-time equality.
    pub fn ct_eq(&self, other: &AttachmentKey) -> bool {
        ct_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for AttachmentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AttachmentKey(<secret>)")
    }
}

/// The C2SP context fanseal uses for an attachment (SPEC.md §11.2):
/// `u8 len(label) || "fanseal v2 attachment" || binding`, where `binding`
/// (at most [`MAX_BINDING`] bytes) is the caller's: what it means and
/// whether recipients compare it is the application's rule (SPEC.md §11.2
/// recommends a framed conversation id and a per-attachment id; not the
/// message id, which is drawn only when the envelope is sealed).
///
/// # Errors
/// [`AttachmentError::LengthOutOfRange`] if `binding` is longer than
/// [`MAX_BINDING`].
///
/// ```
/// let ctx = fanseal::attachment::fanseal_context(b"conversation 42").unwrap();
/// assert_eq!(&ctx[..22], b"\x15fanseal v2 attachment");
/// ```
pub fn fanseal_context(binding: &[u8]) -> Result<Vec<u8>, AttachmentError> {
    if binding.len() > MAX_BINDING {
        return Err(AttachmentError::LengthOutOfRange);
    }
    let mut ctx = Vec::with_capacity(1 + CONTEXT_LABEL.len() + binding.len());
    ctx.extend_from_slice(&crate::codec::label_prefix(CONTEXT_LABEL));
    ctx.extend_from_slice(CONTEXT_LABEL);
    ctx.extend_from_slice(binding);
    Ok(ctx)
}

/// The per-file AEAD key and base nonce, wiped on drop.
pub(crate) struct ChunkKeys {
    aead: AeadKey,
    base_nonce: Zeroizing<[u8; NONCE]>,
}

impl ChunkKeys {
    /// The nonce of chunk `index` (< 2^38): the base nonce XOR the index as
    /// a big-endian integer in its low-order bytes.
    fn nonce(&self, index: u64) -> [u8; NONCE] {
        let mut nonce = *self.base_nonce;
        for (n, c) in nonce.iter_mut().skip(NONCE - 8).zip(index.to_be_bytes()) {
            *n ^= c;
        }
        nonce
    }

    /// Encrypts `buf` in place as chunk `index` (empty AAD); returns the tag.
    pub(crate) fn seal(&self, index: u64, buf: &mut [u8]) -> Result<[u8; 16], AttachmentError> {
        self.aead
            .seal_detached(&self.nonce(index), &[], buf)
            .map_err(|_| AttachmentError::LengthOutOfRange)
    }

    /// Decrypts `buf` in place as chunk `index` if `tag` verifies; on
    /// failure `buf` is unchanged.
    pub(crate) fn open(
        &self,
        index: u64,
        buf: &mut [u8],
        tag: &[u8; 16],
    ) -> Result<(), AttachmentError> {
        self.aead
            .open_detached(&self.nonce(index), &[], buf, tag)
            .map_err(|_| AttachmentError::Unauthenticated)
    }

    /// Test/conformance view of the derived key and base nonce.
    #[cfg(test)]
    pub(crate) fn base_nonce(&self) -> [u8; NONCE] {
        *self.base_nonce
    }
}

/// Derives (chunk keys, commitment) from the input key, salt and context.
pub(crate) fn derive(
    key: &AttachmentKey,
    salt: &[u8; SALT],
    context: &[u8],
) -> Result<(ChunkKeys, [u8; COMMITMENT]), AttachmentError> {
    if context.len() > MAX_CONTEXT {
        return Err(AttachmentError::LengthOutOfRange);
    }
    let mut okm = Zeroizing::new([0u8; KEY + NONCE + COMMITMENT]);
    hkdf_sha512_expand_key32(
        &key.0,
        &[C2SP_INFO_PREFIX, AEAD_NAME, &[0u8], salt, context],
        okm.as_mut_slice(),
    )
    .map_err(|_| AttachmentError::LengthOutOfRange)?;
    let (k, rest) = okm.split_at(KEY);
    let (n, c) = rest.split_at(NONCE);
    let mut aead_key = Zeroizing::new([0u8; KEY]);
    aead_key.copy_from_slice(k);
    let mut base_nonce = Zeroizing::new([0u8; NONCE]);
    base_nonce.copy_from_slice(n);
    let mut commitment = [0u8; COMMITMENT];
    commitment.copy_from_slice(c);
    Ok((
        ChunkKeys {
            aead: AeadKey::new(&aead_key),
            base_nonce,
        },
        commitment,
    ))
}

/// Derives the chunk keys for a received header, checking its commitment in
/// constant time before anything is decrypted.
pub(crate) fn derive_checked(
    key: &AttachmentKey,
    header: &[u8; SALT + COMMITMENT],
    context: &[u8],
) -> Result<ChunkKeys, AttachmentError> {
    let (salt, commitment) = header.split_at(SALT);
    let mut s = [0u8; SALT];
    s.copy_from_slice(salt);
    let (keys, expected) = derive(key, &s, context)?;
    if !ct_eq(&expected, commitment) {
        return Err(AttachmentError::Unauthenticated);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_xors_the_counter_into_the_low_bytes() {
        let (keys, _) = derive(&AttachmentKey::from_bytes([1; 32]), &[2; 24], b"").unwrap();
        let base = keys.base_nonce();
        let n = keys.nonce((1 << 37) | 0x0102);
        let mut want = base;
        want[7] ^= 0x20;
        want[10] ^= 0x01;
        want[11] ^= 0x02;
        assert_eq!(n, want);
        assert_eq!(keys.nonce(0), base);
    }
}
