//! Device certificates: the account key's signature over one device's keys
//! (SPEC.md §3.3).
//!
//! ```text
//! offset size  field
//!      0    1  wire version            0x02
//!      1    1  object type             0x01 (device certificate)
//!      2    2  suite                   0x0001
//!      4   32  account public key      Ed25519
//!     36   16  device id
//!     52   32  device X25519 public key
//!     84   32  device Ed25519 public key
//!    116    8  created at              u64, Unix milliseconds
//!    124    8  expires at              u64, Unix milliseconds; u64::MAX = never
//!    132    4  capabilities            u32 bit set
//!    136   64  signature               Ed25519 over u8 len || label || bytes 0..136
//! ```
//!
//! Every certificate is exactly 200 bytes: a sender's certificate travels
//! inside the envelope body, and a length that depended on its fields would
//! tell the relay something about the sender (SPEC.md §3.3, property P5).
//!
//! `recipient binding = SHA-256(lp("fanseal v2 recipient binding") || account || device id || x25519)`
//! names the device as this account's device in every wrap made for it
//! (SPEC.md §4.5: identity binding).

use alloc::vec::Vec;

use crate::codec::{Reader, Writer};
use crate::consts::{label, object_type, SUITE_X25519_SHA256_AES256GCM_ED25519};
use crate::error::{CertificateError, DecodeError};
use crate::identity::keys::{AccountPublicKey, AccountSecret, DeviceId, DevicePublicKeys, KeyId};
use crate::primitives::{check_x25519_public, Ed25519Public, Sha256Stream};

/// Size of every encoded certificate (SPEC.md §3.3).
pub const CERTIFICATE_LEN: usize = 4 + 32 + 16 + 32 + 32 + 8 + 8 + 4 + 64;

/// The `expires at` value that means "never" (SPEC.md §3.3).
const NEVER: u64 = u64::MAX;

/// What an account signs about one of its devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificateParams {
    /// The device's id within the account.
    pub device_id: DeviceId,
    /// The device's public keys.
    pub keys: DevicePublicKeys,
    /// When the certificate was made (Unix milliseconds).
    pub created_at: u64,
    /// When it stops being valid (Unix milliseconds), if ever. Encoded as
    /// `u64::MAX` when `None`, so `Some(u64::MAX)` is the same as `None`.
    pub expires_at: Option<u64>,
    /// A bit set of device capabilities (SPEC.md §3.3). Bits 0–15 are
    /// fanseal's ([`crate::capability`]: [`crate::CAPABILITY_PREKEYS`] makes
    /// senders wrap only to the device's signed prekeys); bits 16–31 are the
    /// application's. Unknown bits are preserved and signed.
    pub capabilities: u32,
}

/// A device certificate as decoded or issued. Not trusted until verified
/// against the expected account ([`DeviceCertificate::verify`]) or as part of
/// a verified device list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCertificate {
    account: AccountPublicKey,
    params: CertificateParams,
    signature: [u8; 64],
}

impl AccountSecret {
    /// Signs a device certificate. The device keys are checked first: a
    /// non-canonical or low-order X25519 key and a non-canonical or
    /// small-order Ed25519 key are refused.
    pub fn certify_device(
        &self,
        params: &CertificateParams,
    ) -> Result<DeviceCertificate, CertificateError> {
        check_device_keys(&params.keys)?;
        let mut params = *params;
        params.expires_at = params.expires_at.filter(|t| *t != NEVER);
        let mut cert = DeviceCertificate {
            account: self.public_key(),
            params,
            signature: [0; 64],
        };
        let tbs = cert.encode_unsigned();
        cert.signature = self.sign(label::CERTIFICATE_SIGNATURE, tbs.as_slice());
        Ok(cert)
    }
}

fn check_device_keys(keys: &DevicePublicKeys) -> Result<(), CertificateError> {
    check_x25519_public(&keys.x25519).map_err(|_| CertificateError::InvalidX25519Key)?;
    Ed25519Public::from_bytes(&keys.ed25519).map_err(|_| CertificateError::InvalidEd25519Key)?;
    Ok(())
}

impl DeviceCertificate {
    /// The account that signed it (claimed until verified).
    pub fn account(&self) -> &AccountPublicKey {
        &self.account
    }

    /// The device id.
    pub fn device_id(&self) -> DeviceId {
        self.params.device_id
    }

    /// The device's public keys.
    pub fn keys(&self) -> &DevicePublicKeys {
        &self.params.keys
    }

    /// The key id of the device's X25519 key.
    pub fn key_id(&self) -> KeyId {
        KeyId::of(&self.account, &self.params.keys.x25519)
    }

    /// All signed fields.
    pub fn params(&self) -> &CertificateParams {
        &self.params
    }

    /// True when the account requires senders to wrap to the device's signed
    /// prekeys ([`crate::CAPABILITY_PREKEYS`], SPEC.md §4.9).
    pub fn requires_prekeys(&self) -> bool {
        // CAPABILITY_HYBRID implies it (SPEC.md §3.3): a hybrid device gets
        // classical envelopes, for sets with a device without the hybrid
        // suite, only through its classical prekeys.
        self.params.capabilities
            & (crate::consts::capability::PREKEYS | crate::consts::capability::HYBRID)
            != 0
    }

    /// True when the certificate has [`crate::CAPABILITY_HYBRID`]: the
    /// device publishes hybrid (X-Wing) prekeys, and an envelope whose every
    /// recipient device has this bit is sealed with the hybrid suite, to
    /// hybrid prekeys only (SPEC.md §4.10).
    pub fn supports_hybrid(&self) -> bool {
        self.params.capabilities & crate::consts::capability::HYBRID != 0
    }

    /// The capability bits a renewal of this key cannot change
    /// ([`crate::CAPABILITY_PREKEYS`] and [`crate::CAPABILITY_HYBRID`]).
    pub(crate) fn key_bound_capabilities(&self) -> u32 {
        self.params.capabilities & crate::consts::capability::KEY_BOUND
    }

    /// True when the certificate has an expiry at or before `now`.
    pub fn is_expired(&self, now: u64) -> bool {
        self.params.expires_at.is_some_and(|t| t <= now)
    }

    /// Verifies the certificate for `account` at time `now` (Unix ms):
    /// the account matches, every key is valid (strict Ed25519, no low-order
    /// X25519), the signature verifies strictly, and it has not expired.
    #[must_use = "a certificate is only trusted if verification succeeded"]
    pub fn verify(
        &self,
        account: &AccountPublicKey,
        now: u64,
    ) -> Result<VerifiedDeviceCertificate, CertificateError> {
        self.verify_signed_by(account)?;
        if let Some(expires_at) = self.params.expires_at {
            if expires_at <= now {
                return Err(CertificateError::Expired { expires_at, now });
            }
        }
        Ok(VerifiedDeviceCertificate::from_list(self.clone()))
    }

    /// Everything [`DeviceCertificate::verify`] checks except expiry (device
    /// lists keep expired devices; senders skip them and receivers reject them).
    pub(crate) fn verify_signed_by(
        &self,
        account: &AccountPublicKey,
    ) -> Result<(), CertificateError> {
        if self.account != *account {
            return Err(CertificateError::WrongAccount);
        }
        let account_key = account
            .validated()
            .ok_or(CertificateError::InvalidAccountKey)?;
        self.verify_signed_with(&account_key)
    }

    /// The key and signature checks, with the account key already validated
    /// (a device list validates it once for all its certificates). The
    /// caller has checked that the certificate names that account.
    pub(crate) fn verify_signed_with(
        &self,
        account_key: &Ed25519Public,
    ) -> Result<(), CertificateError> {
        check_device_keys(&self.params.keys)?;
        account_key
            .verify(
                label::CERTIFICATE_SIGNATURE,
                self.encode_unsigned().as_slice(),
                &self.signature,
            )
            .map_err(|_| CertificateError::BadSignature)
    }

    /// The recipient binding every wrap made for this device carries as
    /// AEAD associated data (SPEC.md §4.5):
    /// `SHA-256(lp("fanseal v2 recipient binding") || account || device id || x25519 key)`.
    /// It names the device as a device of this account (no unknown key
    /// share) and stays the same when the account renews the certificate
    /// with the same keys.
    pub fn recipient_binding(&self) -> [u8; 32] {
        recipient_binding(
            &self.account,
            &self.params.device_id,
            &self.params.keys.x25519,
        )
    }

    fn encode_unsigned(&self) -> Writer {
        let mut w = Writer::with_capacity(CERTIFICATE_LEN);
        w.object_prefix(object_type::DEVICE_CERTIFICATE);
        w.u16(SUITE_X25519_SHA256_AES256GCM_ED25519);
        w.put(&self.account.0);
        w.put(&self.params.device_id.0);
        w.put(&self.params.keys.x25519);
        w.put(&self.params.keys.ed25519);
        w.u64(self.params.created_at);
        w.u64(self.params.expires_at.unwrap_or(NEVER));
        w.u32(self.params.capabilities);
        w
    }

    pub(crate) fn encode_into(&self, w: &mut Writer) {
        w.put(self.encode_unsigned().as_slice());
        w.put(&self.signature);
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = self.encode_unsigned();
        w.put(&self.signature);
        w.into_vec()
    }

    /// Decodes the one canonical encoding; trailing bytes are rejected.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let cert = Self::decode(&mut r)?;
        r.finish()?;
        Ok(cert)
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.object_prefix(object_type::DEVICE_CERTIFICATE)?;
        r.suite()?;
        let account = AccountPublicKey(r.array("account public key")?);
        let device_id = DeviceId(r.array("device id")?);
        let x25519 = r.array("device X25519 public key")?;
        let ed25519 = r.array("device Ed25519 public key")?;
        let created_at = r.u64("created at")?;
        let expires_at = Some(r.u64("expires at")?).filter(|t| *t != NEVER);
        let capabilities = r.u32("capabilities")?;
        let signature = r.array("signature")?;
        Ok(DeviceCertificate {
            account,
            params: CertificateParams {
                device_id,
                keys: DevicePublicKeys { x25519, ed25519 },
                created_at,
                expires_at,
                capabilities,
            },
            signature,
        })
    }
}

/// `SHA-256(lp("fanseal v2 recipient binding") || account || device id || x25519 key)`:
/// the AEAD associated data of every wrap made to `x25519` as a key of that
/// account's device, whether the certificate's key or a signed prekey (SPEC.md §4.5).
pub(crate) fn recipient_binding(
    account: &AccountPublicKey,
    device_id: &DeviceId,
    x25519: &[u8; 32],
) -> [u8; 32] {
    let mut h = Sha256Stream::labeled(label::RECIPIENT_BINDING);
    h.update(&account.0);
    h.update(&device_id.0);
    h.update(x25519);
    h.finish()
}

/// A certificate that verified for its account: the only certificate type
/// the rest of the API trusts. It caches the key id and the recipient
/// binding (SPEC.md §3.2, §4.5) that seal uses for every wrap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDeviceCertificate {
    certificate: DeviceCertificate,
    key_id: KeyId,
    binding: [u8; 32],
}

impl VerifiedDeviceCertificate {
    /// The verified certificate.
    pub fn certificate(&self) -> &DeviceCertificate {
        &self.certificate
    }

    /// The recipient binding (SPEC.md §4.5), cached.
    pub fn recipient_binding(&self) -> &[u8; 32] {
        &self.binding
    }

    /// The key id (SPEC.md §3.2), cached at verification: it shadows
    /// [`DeviceCertificate::key_id`], which hashes on every call.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    pub(crate) fn from_list(certificate: DeviceCertificate) -> Self {
        let binding = certificate.recipient_binding();
        let key_id = certificate.key_id();
        VerifiedDeviceCertificate {
            certificate,
            key_id,
            binding,
        }
    }
}

impl core::ops::Deref for VerifiedDeviceCertificate {
    type Target = DeviceCertificate;
    fn deref(&self) -> &DeviceCertificate {
        &self.certificate
    }
}
