//! Errors, split by whose fault they are (SPEC.md §7).
//!
//! * [`DecodeError`]: the bytes are malformed (what was expected, what was found).
//! * [`CertificateError`], [`DeviceListError`]: a peer signed something wrong,
//!   stale or contradictory.
//! * [`SealError`]: the caller misused the API.
//! * [`OpenError`]: an envelope could not be opened. Every authentication
//!   failure is the single opaque [`OpenError::Unauthenticated`].
//!
//! All enums are `#[non_exhaustive]`.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use crate::identity::{AccountPublicKey, DeviceId, ForkEvidence};

/// Malformed bytes: a decoder found something other than the one canonical
/// encoding it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended inside a field.
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Offset of the field in the input.
        offset: usize,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// Bytes were left after a complete object.
    TrailingBytes {
        /// Offset of the first extra byte.
        offset: usize,
        /// How many extra bytes.
        count: usize,
    },
    /// A count or length is outside its allowed range.
    OutOfRange {
        /// The field.
        field: &'static str,
        /// Offset just after the field.
        offset: usize,
        /// Smallest allowed value.
        min: usize,
        /// Largest allowed value.
        max: usize,
        /// The value found.
        found: usize,
    },
    /// The wire version byte is not one this crate reads.
    UnsupportedVersion(u8),
    /// The object type byte is not the expected one.
    WrongObjectType {
        /// The type this decoder reads.
        expected: u8,
        /// The type found.
        found: u8,
    },
    /// The suite id is not one this crate implements.
    UnsupportedSuite(u16),
    /// A field has a value with more than one encoding, or an encoding that is
    /// not the canonical one (unsorted or duplicate entries, a bad tag, …).
    NonCanonical(&'static str),
    /// Persisted state decodes but contradicts itself: a secret that is not
    /// the public key beside it, a signature that does not verify, an entry
    /// of another device, a key held twice (SPEC.md §3.9).
    Inconsistent(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { field, offset, needed, available } => write!(
                f,
                "truncated input: field `{field}` at offset {offset} needs {needed} bytes, {available} left"
            ),
            DecodeError::TrailingBytes { offset, count } => {
                write!(f, "{count} trailing bytes at offset {offset}")
            }
            DecodeError::OutOfRange { field, offset, min, max, found } => write!(
                f,
                "field `{field}` before offset {offset} is {found}, allowed {min}..={max}"
            ),
            DecodeError::UnsupportedVersion(v) => write!(f, "unsupported wire version {v:#04x}"),
            DecodeError::WrongObjectType { expected, found } => {
                write!(f, "wrong object type: expected {expected:#04x}, found {found:#04x}")
            }
            DecodeError::UnsupportedSuite(s) => write!(f, "unsupported suite {s:#06x}"),
            DecodeError::NonCanonical(what) => write!(f, "non-canonical encoding: {what}"),
            DecodeError::Inconsistent(what) => write!(f, "inconsistent state: {what}"),
        }
    }
}

impl core::error::Error for DecodeError {}

/// A device certificate failed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateError {
    /// The certificate names a different account than the one expected
    /// (for example a "ghost" certificate signed by another account).
    WrongAccount,
    /// The account key is not a valid strict Ed25519 key.
    InvalidAccountKey,
    /// The device X25519 key is non-canonical or of low order.
    InvalidX25519Key,
    /// The device Ed25519 key is non-canonical or of small order.
    InvalidEd25519Key,
    /// The account's signature does not verify (strictly).
    BadSignature,
    /// The certificate expired at `expires_at`, before `now` (Unix ms).
    Expired {
        /// The certificate's expiry.
        expires_at: u64,
        /// The caller's time.
        now: u64,
    },
    /// The device secret keys do not match the certificate's public keys
    /// ([`crate::DeviceKeyring::new`]).
    KeyMismatch,
}

impl fmt::Display for CertificateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertificateError::WrongAccount => f.write_str("certificate is for a different account"),
            CertificateError::InvalidAccountKey => f.write_str("invalid account Ed25519 key"),
            CertificateError::InvalidX25519Key => {
                f.write_str("invalid (non-canonical or low-order) device X25519 key")
            }
            CertificateError::InvalidEd25519Key => {
                f.write_str("invalid (non-canonical or small-order) device Ed25519 key")
            }
            CertificateError::BadSignature => f.write_str("certificate signature does not verify"),
            CertificateError::Expired { expires_at, now } => {
                write!(f, "certificate expired at {expires_at}, now is {now}")
            }
            CertificateError::KeyMismatch => {
                f.write_str("device secret keys do not match the certificate")
            }
        }
    }
}

impl core::error::Error for CertificateError {}

/// A device list failed verification or does not extend the trusted list.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceListError {
    /// The list is for a different account than expected.
    WrongAccount,
    /// The account key is not a valid strict Ed25519 key.
    InvalidAccountKey,
    /// The account's signature over the list does not verify.
    BadSignature,
    /// Version 1 must have an all-zero previous hash and later versions must not.
    InvalidGenesis,
    /// Issuing: a certificate keeps a device key of the previous list but
    /// changes its [`crate::CAPABILITY_PREKEYS`] or [`crate::CAPABILITY_HYBRID`]
    /// bit (SPEC.md §3.4); turning either on or off takes new device keys.
    CapabilityChange {
        /// The device whose certificate changed the bit.
        device_id: DeviceId,
    },
    /// A certificate in the list does not verify.
    Certificate {
        /// The device whose certificate failed.
        device_id: DeviceId,
        /// Why.
        error: CertificateError,
    },
    /// Two devices in the list share an X25519 key (or key id).
    DuplicateKey,
    /// The presented list is older than the trusted one.
    Rollback {
        /// Version of the trusted list.
        trusted: u64,
        /// Version of the presented list.
        presented: u64,
    },
    /// Two different lists signed for the same account and version: the
    /// account key equivocated (or is compromised). The evidence verifies on
    /// its own.
    Fork(Box<ForkEvidence>),
    /// The hash chain from the trusted list to the presented one is missing a
    /// link or a link does not match; pass the intermediate lists in order.
    BrokenChain {
        /// Version at which the chain broke.
        at_version: u64,
    },
    /// Too many intermediate lists were passed.
    ChainTooLong,
    /// The predecessor has version `u64::MAX`: no later version can be issued.
    VersionExhausted,
    /// More devices than [`crate::limit::MAX_DEVICES_PER_LIST`].
    TooManyDevices,
    /// Fork evidence that is not a fork: the two lists are equal, or differ
    /// in account or version.
    NotAFork,
}

impl fmt::Display for DeviceListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceListError::WrongAccount => f.write_str("device list is for a different account"),
            DeviceListError::InvalidAccountKey => f.write_str("invalid account Ed25519 key"),
            DeviceListError::BadSignature => f.write_str("device list signature does not verify"),
            DeviceListError::InvalidGenesis => {
                f.write_str("previous-hash field inconsistent with version")
            }
            DeviceListError::CapabilityChange { device_id } => write!(
                f,
                "device {device_id:?} keeps its key but changes CAPABILITY_PREKEYS or CAPABILITY_HYBRID; re-key it"
            ),
            DeviceListError::Certificate { device_id, error } => {
                write!(f, "certificate of device {device_id:?}: {error}")
            }
            DeviceListError::DuplicateKey => f.write_str("two devices share an X25519 key"),
            DeviceListError::Rollback { trusted, presented } => {
                write!(
                    f,
                    "rollback: trusted version {trusted}, presented {presented}"
                )
            }
            DeviceListError::Fork(e) => {
                write!(f, "fork: two different lists with version {}", e.version())
            }
            DeviceListError::BrokenChain { at_version } => {
                write!(f, "hash chain broken at version {at_version}")
            }
            DeviceListError::ChainTooLong => f.write_str("too many intermediate lists"),
            DeviceListError::VersionExhausted => {
                f.write_str("the previous list has the last possible version")
            }
            DeviceListError::TooManyDevices => f.write_str("too many devices in one list"),
            DeviceListError::NotAFork => f.write_str("the two lists are not a fork"),
        }
    }
}

impl core::error::Error for DeviceListError {}

/// The caller asked `seal` for something it cannot do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealError {
    /// The sending device's secret keys do not match its certificate.
    CertificateMismatch,
    /// The sending device's certificate has expired at `now`: every
    /// recipient would reject the envelope.
    SenderCertificateExpired,
    /// The sending device's certificate is for another account than the
    /// sender's own device list passed as a recipient, or is not on it.
    SenderNotOnOwnList,
    /// No recipient device is left (after skipping the sender and expired devices).
    NoRecipients,
    /// More recipient devices than [`crate::limit::MAX_RECIPIENTS`].
    TooManyRecipients {
        /// Devices requested.
        count: usize,
    },
    /// The same account's list was passed twice, or two devices share a key id.
    DuplicateRecipient,
    /// The payload is longer than [`crate::limit::MAX_PAYLOAD`].
    PayloadTooLarge,
    /// The associated data is longer than [`crate::limit::MAX_AAD`].
    AadTooLarge,
    /// A recipient list has no device whose certificate is valid at `now`:
    /// the account would receive nothing (SPEC.md §5.1 step 6). Refresh its
    /// list, or leave the account out deliberately.
    NoActiveDevice(AccountPublicKey),
    /// The padding policy pads the body beyond [`crate::limit::MAX_BODY`]
    /// (for example a bucket larger than the limit) although payload and
    /// AAD are within their limits.
    PaddedBodyTooLarge,
    /// A recipient device's certificate requires prekeys
    /// ([`crate::CAPABILITY_PREKEYS`]) and no verified, unexpired prekey of
    /// that device, signed by its current key, was passed (SPEC.md §4.9).
    /// Fetch that device's prekey, verify it, seal again; fanseal never
    /// falls back to the device's certificate key.
    MissingPrekey {
        /// The device's account.
        account: AccountPublicKey,
        /// The device.
        device_id: DeviceId,
    },
    /// More verified prekeys than [`crate::limit::MAX_SEAL_PREKEYS`].
    TooManyPrekeys {
        /// Prekeys given.
        count: usize,
    },
    /// The message asked for [`crate::SuitePolicy::RequireHybrid`] and these
    /// recipient devices (every one without [`crate::CAPABILITY_HYBRID`], in
    /// the order of the lists passed and ascending device id) prevent the
    /// hybrid suite (SPEC.md §4.10). At most
    /// [`crate::limit::MAX_RECIPIENTS`] entries.
    HybridUnavailable {
        /// `(account, device id)` of each device without the capability.
        devices: Vec<(AccountPublicKey, DeviceId)>,
    },
    /// An internal primitive failed: a bug, never caused by input.
    Internal,
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SealError::CertificateMismatch => {
                f.write_str("device secret does not match its certificate")
            }
            SealError::SenderCertificateExpired => {
                f.write_str("the sending device's certificate has expired")
            }
            SealError::SenderNotOnOwnList => {
                f.write_str("sending device is not on its own account's device list")
            }
            SealError::NoRecipients => f.write_str("no recipient devices"),
            SealError::TooManyRecipients { count } => {
                write!(
                    f,
                    "{count} recipient devices exceed the limit of {}",
                    crate::limit::MAX_RECIPIENTS
                )
            }
            SealError::DuplicateRecipient => f.write_str("duplicate recipient account or key id"),
            SealError::PayloadTooLarge => f.write_str("payload too large"),
            SealError::AadTooLarge => f.write_str("associated data too large"),
            SealError::NoActiveDevice(a) => {
                write!(f, "no device of account {a:?} has a valid certificate")
            }
            SealError::PaddedBodyTooLarge => {
                f.write_str("the padding policy pads the body beyond its limit")
            }
            SealError::MissingPrekey { account, device_id } => write!(
                f,
                "no valid signed prekey for device {device_id:?} of account {account:?}, which requires one"
            ),
            SealError::TooManyPrekeys { count } => write!(
                f,
                "{count} prekeys exceed the limit of {}",
                crate::limit::MAX_SEAL_PREKEYS
            ),
            SealError::HybridUnavailable { devices } => write!(
                f,
                "the hybrid suite is required but {} recipient device(s) lack CAPABILITY_HYBRID",
                devices.len()
            ),
            SealError::Internal => f.write_str("internal error (a bug in fanseal)"),
        }
    }
}

impl core::error::Error for SealError {}

/// An envelope or delivery could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenError {
    /// The outer (public, unauthenticated) structure is malformed.
    Decode(DecodeError),
    /// This device's key id is not among the recipients in the header.
    NotARecipient,
    /// The claimed sender account has no verified device list in the
    /// caller's directory. The claim is **unauthenticated**: fetch and verify
    /// that account's list, then open again.
    SenderListUnavailable(AccountPublicKey),
    /// The caller holds a verified list for the claimed sender account, but
    /// the sender's certificate is not on it (same device id and bytes),
    /// although the certificate verifies under that account and its device
    /// signed the message: a device added or a certificate renewed after
    /// that list, or a device removed from it. Refresh this account's list
    /// (one fetch) and open again; if it is still not on the newest list,
    /// treat the message as unauthenticated (SPEC.md §5.2 step 9).
    SenderNotOnTrustedList(AccountPublicKey),
    /// Authentication failed. Deliberately carries no detail: wrong key,
    /// tampered bytes, failed key commitment, bad body, ghost sender, bad
    /// signature and low-order keys all look the same.
    Unauthenticated,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Decode(e) => write!(f, "malformed envelope: {e}"),
            OpenError::NotARecipient => f.write_str("this device is not a recipient"),
            OpenError::SenderListUnavailable(a) => {
                write!(f, "no verified device list for claimed sender {a:?}")
            }
            OpenError::SenderNotOnTrustedList(a) => write!(
                f,
                "the sender's certificate is not on the trusted device list of {a:?}"
            ),
            OpenError::Unauthenticated => f.write_str("envelope failed authentication"),
        }
    }
}

impl core::error::Error for OpenError {}

impl From<DecodeError> for OpenError {
    fn from(e: DecodeError) -> Self {
        OpenError::Decode(e)
    }
}

/// A signed prekey failed verification (SPEC.md §3.7), in the order checked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PrekeyError {
    /// The prekey names another account than the device's.
    WrongAccount,
    /// No device of the list has the prekey's device id
    /// ([`crate::VerifiedDeviceList::verify_prekey`]).
    UnknownDevice,
    /// The prekey names another device of the account (for example one
    /// copied from another device).
    WrongDevice,
    /// The prekey was signed by another key than the device's certified
    /// Ed25519 key (for example from before the device re-keyed).
    WrongDeviceKey,
    /// The prekey's X25519 key is non-canonical or of low order.
    InvalidX25519Key,
    /// The hybrid prekey's X-Wing key is invalid: its ML-KEM-768 part fails
    /// the FIPS 203 modulus check, or its X25519 part is non-canonical or of
    /// low order (one error for both halves).
    InvalidHybridKey,
    /// The device's signature does not verify (strictly).
    BadSignature,
    /// `expires_at` is not after `created_at`, or more than
    /// [`crate::limit::MAX_PREKEY_LIFETIME_MS`] after it.
    InvalidLifetime {
        /// The prekey's creation time.
        created_at: u64,
        /// The prekey's expiry.
        expires_at: u64,
    },
    /// The prekey is dated more than
    /// [`crate::limit::MAX_PREKEY_CLOCK_SKEW_MS`] after `now`: a prekey
    /// from the future would be preferred by senders and outlive the
    /// forward-secrecy window.
    NotYetValid {
        /// The prekey's creation time.
        created_at: u64,
        /// The caller's time.
        now: u64,
    },
    /// The prekey expired at `expires_at`, at or before `now` (Unix ms).
    Expired {
        /// The prekey's expiry.
        expires_at: u64,
        /// The caller's time.
        now: u64,
    },
}

impl fmt::Display for PrekeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrekeyError::WrongAccount => f.write_str("prekey is for a different account"),
            PrekeyError::UnknownDevice => f.write_str("prekey names a device not on the list"),
            PrekeyError::WrongDevice => f.write_str("prekey is for a different device"),
            PrekeyError::WrongDeviceKey => {
                f.write_str("prekey was not signed by the device's certified key")
            }
            PrekeyError::InvalidX25519Key => {
                f.write_str("invalid (non-canonical or low-order) prekey X25519 key")
            }
            PrekeyError::InvalidHybridKey => f.write_str("invalid prekey X-Wing key"),
            PrekeyError::BadSignature => f.write_str("prekey signature does not verify"),
            PrekeyError::InvalidLifetime {
                created_at,
                expires_at,
            } => write!(
                f,
                "prekey lifetime {created_at}..{expires_at} is empty or longer than allowed"
            ),
            PrekeyError::NotYetValid { created_at, now } => {
                write!(f, "prekey created at {created_at}, in the future of {now}")
            }
            PrekeyError::Expired { expires_at, now } => {
                write!(f, "prekey expired at {expires_at}, now is {now}")
            }
        }
    }
}

impl core::error::Error for PrekeyError {}

/// A device keyring operation failed (SPEC.md §3.8, §3.9).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyringError {
    /// Exported keyring bytes are malformed, truncated, not canonical, or
    /// inconsistent (a secret that is not its public key, a signature that
    /// does not verify): nothing was loaded.
    Decode(DecodeError),
    /// Secret keys do not match the certificate's public keys.
    KeyMismatch,
    /// The certificate does not verify under its own account key (SPEC.md
    /// §3.3 steps 1–5).
    Certificate(CertificateError),
    /// A renewal that turns [`crate::CAPABILITY_PREKEYS`] or
    /// [`crate::CAPABILITY_HYBRID`] on or off: that
    /// takes a re-key (new keys), so that the key of a certificate without
    /// the capability is never the key of one with it (SPEC.md §3.8).
    CapabilityChange,
    /// A certificate for another account or device id than the keyring's.
    WrongDevice,
    /// [`crate::DeviceKeyring::rekey`] was given a key the keyring holds
    /// (both the X25519 and the Ed25519 key must be new), or a rotation
    /// drew a key it holds (a broken RNG).
    SameKeys,
    /// The keyring holds [`crate::limit::MAX_KEYRING_PREKEYS`] prekeys or
    /// [`crate::limit::MAX_KEYRING_RETIRED`] superseded key sets: call
    /// [`crate::DeviceKeyring::delete_expired`] first.
    Full,
    /// A policy outside `0 < rotation`, `2·rotation ≤ lifetime ≤
    /// MAX_PREKEY_LIFETIME_MS`, `grace ≤ MAX_GRACE_MS` and
    /// `⌈(lifetime + grace) / rotation⌉ + 1 ≤ MAX_KEYRING_PREKEYS`, or a
    /// time so late that a prekey made now could not expire (SPEC.md §3.8).
    InvalidPolicy,
    /// [`crate::DeviceKeyring::rotate_hybrid_prekey`] on a device whose
    /// certificate lacks [`crate::CAPABILITY_HYBRID`]: nobody would use it.
    NotHybrid,
}

impl fmt::Display for KeyringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyringError::Decode(e) => write!(f, "malformed keyring export: {e}"),
            KeyringError::KeyMismatch => {
                f.write_str("device secret keys do not match the certificate")
            }
            KeyringError::Certificate(e) => write!(f, "keyring certificate: {e}"),
            KeyringError::CapabilityChange => f.write_str(
                "a renewal cannot change CAPABILITY_PREKEYS or CAPABILITY_HYBRID; re-key instead",
            ),
            KeyringError::WrongDevice => {
                f.write_str("certificate is for another account or device than the keyring")
            }
            KeyringError::SameKeys => f.write_str("re-key with the keys already in use"),
            KeyringError::Full => f.write_str("keyring full: delete expired secrets first"),
            KeyringError::InvalidPolicy => f.write_str("invalid prekey policy or time"),
            KeyringError::NotHybrid => {
                f.write_str("the device's certificate does not have CAPABILITY_HYBRID")
            }
        }
    }
}

impl core::error::Error for KeyringError {}

impl From<DecodeError> for KeyringError {
    fn from(e: DecodeError) -> Self {
        KeyringError::Decode(e)
    }
}
