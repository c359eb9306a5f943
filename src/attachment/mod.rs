//! Attachments: streaming, seekable, constant-memory encryption of large
//! files with C2SP chunked encryption, instantiation **Cobblestone-256**
//! (HKDF-SHA-512, AES-256-GCM), and the reference a message carries
//! (SPEC.md §11).
//!
//! # Byte layout of an encrypted file
//!
//! ```text
//! offset 0        salt        24 bytes, random, never repeated under a key
//! offset 24       commitment  32 bytes, from HKDF-Expand (checked first)
//! offset 56       chunk 0     16 384 + 16 bytes (AES-256-GCM body || tag)
//! …               chunk k     at 56 + k * 16 400
//! last            chunk n     (plaintext_len % 16 384) + 16 bytes: always
//!                             shorter than a full chunk, possibly just a tag
//! ```
//!
//! The ciphertext of a `p`-byte file is `56 + p + 16 * (p / 16384 + 1)`
//! bytes ([`ciphertext_len`]). Nonce of chunk `i`: the derived base nonce
//! XOR `i` (big-endian, in the low-order bytes); AAD empty.
//!
//! # Which type to use
//!
//! * [`AttachmentSealer`] → [`AttachmentReference`] → [`AttachmentOpener`]:
//!   fanseal's API. The sealer draws a key and salt, uses the fanseal
//!   context of the caller's binding ([`fanseal_context`]), hashes the
//!   ciphertext and returns the reference to send inside an envelope. The
//!   recipient checks a download ([`AttachmentReference::download_check`]),
//!   decrypts it as a stream ([`AttachmentReference::opener`]) or by range
//!   ([`AttachmentReference::seekable`]).
//! * [`Encryptor`], [`Decryptor`], [`SeekableDecryptor`]: plain
//!   Cobblestone-256 with a raw context, interoperable with other
//!   implementations (pyca/cryptography's `Cobblestone256Encryptor`).
//!
//! Memory: an [`Encryptor`] buffers at most 16 KiB of plaintext, a
//! [`Decryptor`] at most one sealed chunk (16 400 bytes), whatever the file
//! size. Outputs are appended to the caller's `Vec`, which the caller drains.

mod decrypt;
mod encrypt;
mod error;
mod keys;
mod params;
mod reference;
mod seek;

pub use decrypt::Decryptor;
pub use encrypt::Encryptor;
pub use error::AttachmentError;
pub use keys::{fanseal_context, AttachmentKey};
pub use params::{
    ciphertext_len, plaintext_len, CHUNK, COMMITMENT, HEADER, KEY, MAX_BINDING, MAX_CHUNKS,
    MAX_CIPHERTEXT, MAX_CONTEXT, MAX_PLAINTEXT, MIN_CIPHERTEXT, NONCE, SALT, SEALED_CHUNK, TAG,
};
pub use reference::{AttachmentOpener, AttachmentReference, AttachmentSealer, DownloadCheck};
pub use seek::{SeekFrom, SeekableDecryptor};

/// Object type byte of an encoded [`AttachmentReference`].
pub use crate::consts::attachment::REFERENCE_OBJECT_TYPE;
/// Scheme id of Cobblestone-256 with the fanseal context.
pub use crate::consts::attachment::SCHEME_COBBLESTONE_256;
