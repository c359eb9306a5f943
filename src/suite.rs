//! The two cipher suites of wire version 2 (SPEC.md §2.2): which KEM wraps
//! an envelope's message secret for each device. Everything else (HKDF-SHA256,
//! AES-256-GCM, Ed25519, SHA-256) is the same in both.

use crate::consts::{
    size, SUITE_X25519_SHA256_AES256GCM_ED25519, SUITE_XWING_SHA256_AES256GCM_ED25519,
};

/// The suite that protected an envelope, or that a signed prekey is for
/// (SPEC.md §2.2).
///
/// * [`Suite::Classical`] (`0x0001`): per-device wraps with DHKEM(X25519),
///   one ephemeral key shared by every wrap; 48 bytes per device.
/// * [`Suite::Hybrid`] (`0x0002`): per-device wraps with X-Wing
///   (ML-KEM-768 + X25519, draft-ietf-hpke-pq KEM `0x647a`): a message stays
///   confidential if either ML-KEM-768 or X25519 holds (P14); 1,168 bytes per
///   device (a 1,120-byte X-Wing ciphertext and the 48-byte wrap).
///
/// A sender picks the suite from the recipients' signed certificates
/// (SPEC.md §4.10): hybrid exactly when every recipient device has
/// [`crate::CAPABILITY_HYBRID`]. [`crate::Opened::suite`] tells the receiver.
///
/// # Example
/// ```
/// use fanseal::Suite;
/// assert_eq!(Suite::Hybrid.id(), 0x0002);
/// assert_eq!(Suite::from_id(0x0001), Some(Suite::Classical));
/// assert_eq!(Suite::Hybrid.wrap_len(), 1168);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Suite {
    /// `0x0001`: X25519, HKDF-SHA256, AES-256-GCM, Ed25519, SHA-256.
    Classical,
    /// `0x0002`: X-Wing (ML-KEM-768 + X25519), HKDF-SHA256, AES-256-GCM,
    /// Ed25519, SHA-256.
    Hybrid,
}

impl Suite {
    /// The suite id on the wire.
    pub const fn id(self) -> u16 {
        match self {
            Suite::Classical => SUITE_X25519_SHA256_AES256GCM_ED25519,
            Suite::Hybrid => SUITE_XWING_SHA256_AES256GCM_ED25519,
        }
    }

    /// The suite with wire id `id`, if wire version 2 defines it.
    pub const fn from_id(id: u16) -> Option<Self> {
        match id {
            SUITE_X25519_SHA256_AES256GCM_ED25519 => Some(Suite::Classical),
            SUITE_XWING_SHA256_AES256GCM_ED25519 => Some(Suite::Hybrid),
            _ => None,
        }
    }

    /// Bytes of one device's wrap in an envelope of this suite: 48
    /// (classical) or 1,120 + 48 = 1,168 (hybrid).
    pub const fn wrap_len(self) -> usize {
        match self {
            Suite::Classical => size::WRAP,
            Suite::Hybrid => size::HYBRID_WRAP,
        }
    }

    /// Bytes of a prekey public key of this suite: 32 (X25519) or 1,216
    /// (X-Wing).
    pub const fn prekey_public_len(self) -> usize {
        match self {
            Suite::Classical => size::PUBLIC_KEY,
            Suite::Hybrid => size::XWING_PUBLIC_KEY,
        }
    }
}
