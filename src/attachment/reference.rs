//! The attachment reference a message carries, and the fanseal-level
//! streaming API built on it (SPEC.md §11.7, §11.8).
//!
//! ```text
//! u8   wire_version        crate::WIRE_VERSION
//! u8   object_type         0x10
//! u16  scheme              0x0001 = Cobblestone-256, fanseal context (§11.2)
//! [32] input key           secret
//! u16  binding_len         0..=1024
//! [binding_len] binding    the caller's binding (part of the C2SP context)
//! u64  ciphertext_len      a valid Cobblestone-256 length (72..=MAX_CIPHERTEXT)
//! [32] ciphertext_sha256   SHA-256 of the whole ciphertext (header included)
//! ```

use alloc::vec::Vec;
use core::fmt;

use rand_core::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::keys::{fanseal_context, AttachmentKey};
use super::params::{plaintext_len, HEADER, KEY, MAX_BINDING, MAX_CIPHERTEXT, MIN_CIPHERTEXT};
use super::{AttachmentError, Decryptor, Encryptor, SeekableDecryptor};
use crate::codec::{Reader, Writer};
use crate::consts::attachment::{REFERENCE_OBJECT_TYPE, SCHEME_COBBLESTONE_256};
use crate::error::DecodeError;
use crate::primitives::{ct_eq, Sha256Stream};

/// What a recipient needs to fetch, check and decrypt one attachment: the
/// input key, the caller's binding, the ciphertext length and its SHA-256.
///
/// It is secret (it holds the key): send it only inside an envelope. Wiped
/// on drop; `Debug` shows the public parts only; `==` compares the key in
/// constant time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct AttachmentReference {
    key: AttachmentKey,
    binding: Vec<u8>,
    #[zeroize(skip)]
    ciphertext_len: u64,
    #[zeroize(skip)]
    digest: [u8; 32],
}

impl fmt::Debug for AttachmentReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttachmentReference")
            .field("key", &"<secret>")
            .field("binding_len", &self.binding.len())
            .field("ciphertext_len", &self.ciphertext_len)
            .field("ciphertext_sha256", &Hex(&self.digest))
            .finish()
    }
}

struct Hex<'a>(&'a [u8]);

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl PartialEq for AttachmentReference {
    fn eq(&self, other: &Self) -> bool {
        // Evaluate every part: no early exit on the secret key.
        let key = self.key.ct_eq(&other.key);
        key & (self.binding == other.binding)
            & (self.ciphertext_len == other.ciphertext_len)
            & ct_eq(&self.digest, &other.digest)
    }
}

impl Eq for AttachmentReference {}

impl AttachmentReference {
    /// Builds a reference from its parts (for example after encrypting with
    /// the low-level [`Encryptor`] under [`fanseal_context`]`(binding)`).
    ///
    /// # Errors
    /// [`AttachmentError::LengthOutOfRange`] for a binding over 1024 bytes;
    /// [`AttachmentError::Truncated`] / [`AttachmentError::LengthOutOfRange`]
    /// for a ciphertext length no file has.
    pub fn new(
        key: AttachmentKey,
        binding: &[u8],
        ciphertext_len: u64,
        ciphertext_sha256: [u8; 32],
    ) -> Result<Self, AttachmentError> {
        if binding.len() > MAX_BINDING {
            return Err(AttachmentError::LengthOutOfRange);
        }
        plaintext_len(ciphertext_len)?;
        Ok(AttachmentReference {
            key,
            binding: binding.to_vec(),
            ciphertext_len,
            digest: ciphertext_sha256,
        })
    }

    /// The input key.
    pub fn key(&self) -> &AttachmentKey {
        &self.key
    }

    /// The caller's binding the file is tied to. fanseal does not compare it
    /// with anything; a recipient that expects a binding must compare it
    /// before fetching or decrypting (SPEC.md §11.2).
    pub fn binding(&self) -> &[u8] {
        &self.binding
    }

    /// Refuses the reference unless its binding is exactly `expected`
    /// (SPEC.md §11.2). Call it before fetching or decrypting anything when
    /// the application expects a particular binding.
    ///
    /// # Errors
    /// [`AttachmentError::BindingMismatch`] for any other binding.
    pub fn expect_binding(&self, expected: &[u8]) -> Result<(), AttachmentError> {
        if self.binding.len() == expected.len() && ct_eq(&self.binding, expected) {
            Ok(())
        } else {
            Err(AttachmentError::BindingMismatch)
        }
    }

    /// The full C2SP context: [`fanseal_context`]`(binding)`.
    pub fn context(&self) -> Vec<u8> {
        // The binding was bounded when the reference was made.
        fanseal_context(&self.binding).unwrap_or_default()
    }

    /// Total ciphertext length in bytes.
    pub fn ciphertext_len(&self) -> u64 {
        self.ciphertext_len
    }

    /// Plaintext length in bytes (as claimed by the sender; the decryptors
    /// authenticate it).
    pub fn plaintext_len(&self) -> u64 {
        plaintext_len(self.ciphertext_len).unwrap_or(0)
    }

    /// SHA-256 of the whole ciphertext.
    pub fn ciphertext_sha256(&self) -> &[u8; 32] {
        &self.digest
    }

    /// The canonical encoding (SPEC.md §11.7). It contains the key: wiped
    /// on drop, and it must travel only inside an envelope.
    pub fn to_secret_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::with_capacity(2 + 2 + KEY + 2 + self.binding.len() + 8 + 32);
        w.object_prefix(REFERENCE_OBJECT_TYPE);
        w.u16(SCHEME_COBBLESTONE_256);
        w.put(self.key.expose_secret_bytes());
        w.len_u16(self.binding.len());
        w.put(&self.binding);
        w.u64(self.ciphertext_len);
        w.put(&self.digest);
        Zeroizing::new(w.into_vec())
    }

    /// Decodes the canonical encoding; rejects anything else.
    ///
    /// Checks, in order: wire version, object type `0x10`, scheme `0x0001`,
    /// the key, the binding length (at most 1024), the binding, the
    /// ciphertext length (a valid Cobblestone-256 length), the digest, no
    /// trailing bytes.
    ///
    /// # Errors
    /// [`AttachmentError::Decode`] with the first problem found.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AttachmentError> {
        let mut r = Reader::new(bytes);
        r.object_prefix(REFERENCE_OBJECT_TYPE)?;
        let scheme = r.u16("scheme")?;
        if scheme != SCHEME_COBBLESTONE_256 {
            return Err(DecodeError::UnsupportedSuite(scheme).into());
        }
        let key = AttachmentKey::from_bytes(r.array::<KEY>("attachment key")?);
        let binding_len = usize::from(r.u16("binding length")?);
        let binding_len = r.bounded(binding_len, 0, MAX_BINDING, "binding length")?;
        let binding = r.take(binding_len, "binding")?;
        let ciphertext_len = r.u64("ciphertext length")?;
        // Validated before the digest is read (SPEC.md §11.7): too long is
        // `OutOfRange` (§2.6), any other invalid length `NonCanonical`.
        match plaintext_len(ciphertext_len) {
            Ok(_) => {}
            Err(AttachmentError::LengthOutOfRange) => {
                return Err(DecodeError::OutOfRange {
                    field: "ciphertext length",
                    offset: r.position(),
                    min: usize::try_from(MIN_CIPHERTEXT).unwrap_or(usize::MAX),
                    max: usize::try_from(MAX_CIPHERTEXT).unwrap_or(usize::MAX),
                    found: usize::try_from(ciphertext_len).unwrap_or(usize::MAX),
                }
                .into())
            }
            Err(_) => {
                return Err(DecodeError::NonCanonical("attachment ciphertext length").into());
            }
        }
        let digest = r.array::<32>("ciphertext sha256")?;
        r.finish()?;
        Ok(AttachmentReference {
            key,
            binding: binding.to_vec(),
            ciphertext_len,
            digest,
        })
    }

    /// A checker for a download, to run before decrypting: the bytes must
    /// have exactly the reference's length and SHA-256.
    pub fn download_check(&self) -> DownloadCheck {
        DownloadCheck {
            expected_len: self.ciphertext_len,
            expected_digest: self.digest,
            seen: 0,
            hash: Sha256Stream::new(),
            failed: false,
        }
    }

    /// A streaming decryptor that also checks the length and digest.
    ///
    /// # Errors
    /// None in practice (the binding is bounded); the type leaves room.
    pub fn opener(&self) -> Result<AttachmentOpener, AttachmentError> {
        Ok(AttachmentOpener {
            inner: Decryptor::new(&self.key, &self.context())?,
            check: self.download_check(),
        })
    }

    /// A random-access decryptor for the file, given its first 56 bytes.
    ///
    /// The reference's length is the sender's claim: it is authenticated
    /// only when the final chunk opens, and random access does not check
    /// the digest, so released bytes are authentic under the key but not
    /// necessarily from the referenced ciphertext (SPEC.md §11.8).
    ///
    /// # Errors
    /// As [`SeekableDecryptor::new`].
    pub fn seekable(&self, header: &[u8]) -> Result<SeekableDecryptor, AttachmentError> {
        SeekableDecryptor::new(&self.key, &self.context(), header, self.ciphertext_len)
    }
}

/// Checks a downloaded ciphertext against its reference (length, then
/// SHA-256) in any number of slices, with constant memory.
#[must_use]
pub struct DownloadCheck {
    expected_len: u64,
    expected_digest: [u8; 32],
    seen: u64,
    hash: Sha256Stream,
    failed: bool,
}

impl fmt::Debug for DownloadCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownloadCheck")
            .field("expected_len", &self.expected_len)
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

impl DownloadCheck {
    /// Feeds the next downloaded bytes.
    ///
    /// # Errors
    /// [`AttachmentError::TrailingData`] as soon as the download is longer
    /// than the reference says (then [`AttachmentError::Poisoned`]).
    pub fn update(&mut self, bytes: &[u8]) -> Result<(), AttachmentError> {
        if self.failed {
            return Err(AttachmentError::Poisoned);
        }
        let n = bytes.len() as u64;
        if n > self.expected_len - self.seen {
            self.failed = true;
            return Err(AttachmentError::TrailingData);
        }
        self.seen += n;
        self.hash.update(bytes);
        Ok(())
    }

    /// Ends the check.
    ///
    /// # Errors
    /// [`AttachmentError::Truncated`] if fewer bytes came than expected;
    /// [`AttachmentError::DigestMismatch`] if the SHA-256 differs;
    /// [`AttachmentError::Poisoned`] after a failed update.
    pub fn finish(self) -> Result<(), AttachmentError> {
        if self.failed {
            return Err(AttachmentError::Poisoned);
        }
        if self.seen < self.expected_len {
            return Err(AttachmentError::Truncated);
        }
        if !ct_eq(&self.hash.finish(), &self.expected_digest) {
            return Err(AttachmentError::DigestMismatch);
        }
        Ok(())
    }
}

/// Streaming decryption of a download named by an [`AttachmentReference`]:
/// the [`Decryptor`] plus the length and digest checks of [`DownloadCheck`].
///
/// Plaintext of full chunks is released as they authenticate; the final
/// chunk is decrypted only after the length and digest matched, and the
/// file is complete only when [`finish`](Self::finish) returns `Ok`.
#[derive(Debug)]
pub struct AttachmentOpener {
    inner: Decryptor,
    check: DownloadCheck,
}

impl AttachmentOpener {
    /// Decrypts the next downloaded bytes, appending authenticated plaintext
    /// to `out`.
    ///
    /// # Errors
    /// [`AttachmentError::TrailingData`] if this slice would take the
    /// download past the reference's length (checked before any byte of
    /// the slice is decrypted: nothing of it is released), and every error
    /// of [`Decryptor::update`].
    pub fn update(&mut self, ciphertext: &[u8], out: &mut Vec<u8>) -> Result<(), AttachmentError> {
        self.check.update(ciphertext)?;
        self.inner.update(ciphertext, out)
    }

    /// Ends the download; returns the plaintext length in bytes.
    ///
    /// Checks, in order: the length ([`AttachmentError::Truncated`]), the
    /// digest ([`AttachmentError::DigestMismatch`]), then the final chunk
    /// as [`Decryptor::finish`] does.
    ///
    /// # Errors
    /// As listed above.
    pub fn finish(self, out: &mut Vec<u8>) -> Result<u64, AttachmentError> {
        self.check.finish()?;
        self.inner.finish(out)
    }
}

/// Streaming encryption of a new attachment under a fresh key (never reuse
/// one: SPEC.md §11.8) and salt, for
/// the fanseal context of `binding`; [`finish`](Self::finish) returns the
/// [`AttachmentReference`] to send inside a message.
///
/// ```
/// use fanseal::attachment::AttachmentSealer;
/// # use rand_core::SeedableRng;
/// let mut rng = rand_chacha::ChaCha20Rng::from_seed([3; 32]);
/// let mut sealer = AttachmentSealer::new(&mut rng, b"\x00\x0econversation 7 attachment 9").unwrap();
/// let mut upload = Vec::new();
/// sealer.update(&[0x42; 50_000], &mut upload).unwrap();
/// let reference = sealer.finish(&mut upload).unwrap();
/// assert_eq!(reference.ciphertext_len(), upload.len() as u64);
///
/// // The recipient decodes the reference from the message, checks the
/// // download, then decrypts it.
/// let reference = fanseal::attachment::AttachmentReference::from_bytes(
///     &reference.to_secret_bytes(),
/// ).unwrap();
/// let mut opener = reference.opener().unwrap();
/// let mut plaintext = Vec::new();
/// opener.update(&upload, &mut plaintext).unwrap();
/// assert_eq!(opener.finish(&mut plaintext), Ok(50_000));
/// assert_eq!(plaintext, vec![0x42; 50_000]);
/// ```
pub struct AttachmentSealer {
    key: AttachmentKey,
    binding: Vec<u8>,
    inner: Encryptor,
    hash: Sha256Stream,
}

impl fmt::Debug for AttachmentSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttachmentSealer")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl AttachmentSealer {
    /// Draws a fresh key and salt from `rng` and starts the file.
    ///
    /// # Errors
    /// [`AttachmentError::LengthOutOfRange`] for a binding over 1024 bytes.
    pub fn new<R: CryptoRng + ?Sized>(
        rng: &mut R,
        binding: &[u8],
    ) -> Result<Self, AttachmentError> {
        // Every refusal before any randomness is drawn (SPEC.md §11.8).
        let context = fanseal_context(binding)?;
        let key = AttachmentKey::generate(rng);
        let inner = Encryptor::new(&key, &context, rng)?;
        Ok(AttachmentSealer {
            key,
            binding: binding.to_vec(),
            inner,
            hash: Sha256Stream::new(),
        })
    }

    /// Encrypts the next plaintext bytes, appending ciphertext to `out`.
    ///
    /// # Errors
    /// As [`Encryptor::update`].
    pub fn update(&mut self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), AttachmentError> {
        let start = out.len();
        let r = self.inner.update(plaintext, out);
        self.hash.update(out.get(start..).unwrap_or_default());
        r
    }

    /// Ends the file and returns its reference.
    ///
    /// # Errors
    /// As [`Encryptor::finish`].
    pub fn finish(self, out: &mut Vec<u8>) -> Result<AttachmentReference, AttachmentError> {
        let AttachmentSealer {
            key,
            binding,
            inner,
            mut hash,
        } = self;
        let start = out.len();
        let len = inner.finish(out)?;
        hash.update(out.get(start..).unwrap_or_default());
        AttachmentReference::new(key, &binding, len, hash.finish())
    }
}

const _: () = assert!(HEADER == 56);
