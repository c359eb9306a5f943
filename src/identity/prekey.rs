//! Signed prekeys: medium-term KEM keys a device signs, publishes and
//! rotates, so that envelopes stop depending on one long-lived key
//! (SPEC.md §3.7, properties P12–P14). A classical prekey (suite `0x0001`)
//! carries an X25519 key; a hybrid prekey (suite `0x0002`) an X-Wing key.
//!
//! ```text
//! offset size  field
//!      0    1  wire version            0x02
//!      1    1  object type             0x07 (signed prekey)
//!      2    2  suite                   0x0001 (classical) or 0x0002 (hybrid)
//!      4   32  account public key      the account that certified the device
//!     36   16  device id
//!     52   32  device Ed25519 key      the signer: the device's certified key
//!     84    k  prekey public key       k = 32 (X25519) or 1216 (X-Wing)
//! 84+k      8  created at              u64, Unix milliseconds
//! 92+k      8  expires at              u64, Unix milliseconds (always set)
//! 100+k    64  signature               Ed25519 by the device key over u8 len || label || bytes 0..100+k
//! ```
//!
//! A prekey names the device it belongs to (account, device id and the
//! device's signing key), so a prekey copied from another device, another
//! account, or from before the device re-keyed fails verification with an
//! error that says which.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use crate::codec::{Reader, Writer};
use crate::consts::{label, limit, object_type, size};
use crate::error::{DecodeError, PrekeyError};
use crate::identity::certificate::{recipient_binding, VerifiedDeviceCertificate};
use crate::identity::device_list::VerifiedDeviceList;
use crate::identity::keys::{AccountPublicKey, DeviceId, KeyId};
use crate::primitives::{
    check_x25519_public, check_xwing_public, Ed25519Public, Ed25519Secret, Rejected, Sha256Stream,
};
use crate::suite::Suite;

/// Size of every encoded classical signed prekey (SPEC.md §3.7).
pub const SIGNED_PREKEY_LEN: usize = 4 + 32 + 16 + 32 + 32 + 8 + 8 + 64;

/// Size of every encoded hybrid signed prekey (SPEC.md §3.7): the X-Wing key
/// is 1,216 bytes instead of 32.
pub const HYBRID_SIGNED_PREKEY_LEN: usize =
    SIGNED_PREKEY_LEN - size::PUBLIC_KEY + size::XWING_PUBLIC_KEY;

/// The public key a signed prekey carries: X25519 (classical) or X-Wing
/// (hybrid, boxed: 1,216 bytes).
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum PrekeyPublic {
    X25519([u8; 32]),
    XWing(Box<[u8; size::XWING_PUBLIC_KEY]>),
}

impl PrekeyPublic {
    pub(crate) fn suite(&self) -> Suite {
        match self {
            PrekeyPublic::X25519(_) => Suite::Classical,
            PrekeyPublic::XWing(_) => Suite::Hybrid,
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            PrekeyPublic::X25519(k) => k,
            PrekeyPublic::XWing(k) => k.as_slice(),
        }
    }

    /// The key id (SPEC.md §3.7): per suite, with its own label.
    pub(crate) fn key_id(&self, account: &AccountPublicKey, device_id: &DeviceId) -> KeyId {
        match self {
            PrekeyPublic::X25519(k) => KeyId::of_prekey(account, device_id, k),
            PrekeyPublic::XWing(k) => KeyId::of_hybrid_prekey(account, device_id, k),
        }
    }

    /// The recipient binding of wraps made to this key (SPEC.md §4.5).
    pub(crate) fn binding(&self, account: &AccountPublicKey, device_id: &DeviceId) -> [u8; 32] {
        match self {
            PrekeyPublic::X25519(k) => recipient_binding(account, device_id, k),
            PrekeyPublic::XWing(k) => hybrid_recipient_binding(account, device_id, k),
        }
    }
}

impl fmt::Debug for PrekeyPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, bytes) = match self {
            PrekeyPublic::X25519(k) => ("X25519", k.as_slice()),
            // The X25519 half identifies the key; 1,184 ML-KEM bytes do not help.
            PrekeyPublic::XWing(k) => ("XWing", k.get(1184..).unwrap_or_default()),
        };
        write!(f, "{name}(")?;
        for b in bytes {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// `SHA-256(lp("fanseal v2 hybrid recipient binding") || account || device id
/// || X-Wing key)`: the AEAD associated data of every hybrid wrap made to that
/// key as a key of that account's device (SPEC.md §4.5).
pub(crate) fn hybrid_recipient_binding(
    account: &AccountPublicKey,
    device_id: &DeviceId,
    xwing: &[u8; size::XWING_PUBLIC_KEY],
) -> [u8; 32] {
    let mut h = Sha256Stream::labeled(label::HYBRID_RECIPIENT_BINDING);
    h.update(&account.0);
    h.update(&device_id.0);
    h.update(xwing);
    h.finish()
}

/// A signed prekey as decoded or issued: not trusted until verified against
/// the device's certificate ([`SignedPrekey::verify`] or
/// [`VerifiedDeviceList::verify_prekey`]).
///
/// # Example
/// ```
/// # use fanseal::*;
/// # use rand_core::SeedableRng;
/// # let mut rng = rand_chacha::ChaCha20Rng::from_seed([3; 32]);
/// let alice = AccountSecret::generate(&mut rng);
/// let phone = DeviceSecret::generate(&mut rng);
/// let cert = alice.certify_device(&CertificateParams {
///     device_id: DeviceId::random(&mut rng), keys: phone.public_keys(),
///     created_at: 0, expires_at: None, capabilities: CAPABILITY_PREKEYS,
/// }).unwrap();
/// let list = alice.issue_device_list(None, 0, vec![cert.clone()]).unwrap()
///     .verify(&alice.public_key()).unwrap();
/// let mut keyring = DeviceKeyring::new(phone, cert).unwrap();
/// let prekey = keyring.rotate_prekey(1_000, &mut rng).unwrap();
/// // Published as 196 bytes; a sender verifies it once, against the list.
/// let fetched = SignedPrekey::from_bytes(&prekey.to_bytes()).unwrap();
/// let verified = list.verify_prekey(&fetched, 2_000).unwrap();
/// assert_eq!(verified.key_id(), prekey.key_id());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPrekey {
    account: AccountPublicKey,
    device_id: DeviceId,
    device_key: [u8; 32],
    public_key: PrekeyPublic,
    created_at: u64,
    expires_at: u64,
    signature: [u8; 64],
}

impl SignedPrekey {
    /// Signs a prekey for the device with signing key `signer` (the device's
    /// certified Ed25519 key). The caller checked the key and the times.
    pub(crate) fn sign(
        signer: &Ed25519Secret,
        account: AccountPublicKey,
        device_id: DeviceId,
        public_key: PrekeyPublic,
        created_at: u64,
        expires_at: u64,
    ) -> Self {
        let mut prekey = SignedPrekey {
            account,
            device_id,
            device_key: signer.public(),
            public_key,
            created_at,
            expires_at,
            signature: [0; 64],
        };
        let tbs = prekey.encode_unsigned();
        prekey.signature = signer.sign(label::PREKEY_SIGNATURE, tbs.as_slice());
        prekey
    }

    /// The account the prekey claims to belong to.
    pub fn account(&self) -> &AccountPublicKey {
        &self.account
    }

    /// The device id it claims to belong to.
    pub fn device_id(&self) -> DeviceId {
        self.device_id
    }

    /// The Ed25519 key that signed it: the device's certified key.
    pub fn device_key(&self) -> &[u8; 32] {
        &self.device_key
    }

    /// The suite the prekey is for: [`Suite::Classical`] (an X25519 key) or
    /// [`Suite::Hybrid`] (an X-Wing key).
    pub fn suite(&self) -> Suite {
        self.public_key.suite()
    }

    /// The prekey's public key, to which envelopes of its suite are wrapped:
    /// 32 bytes (X25519) or 1,216 bytes (X-Wing, `pk_M || pk_X`).
    pub fn public_key(&self) -> &[u8] {
        self.public_key.as_bytes()
    }

    pub(crate) fn key(&self) -> &PrekeyPublic {
        &self.public_key
    }

    /// When the device made it (Unix ms).
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// When senders stop using it (Unix ms). The device keeps its secret for
    /// a grace period after this (SPEC.md §3.8).
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// True when the prekey has expired at `now`: `expires_at ≤ now`.
    pub fn is_expired(&self, now: u64) -> bool {
        self.expires_at <= now
    }

    /// False for a prekey dated more than
    /// [`limit::MAX_PREKEY_CLOCK_SKEW_MS`] after `now` (SPEC.md §3.7).
    pub(crate) fn is_created_by(&self, now: u64) -> bool {
        self.created_at <= now.saturating_add(limit::MAX_PREKEY_CLOCK_SKEW_MS)
    }

    /// The key id envelopes name it by: [`KeyId::of_prekey`] (classical) or
    /// [`KeyId::of_hybrid_prekey`] (hybrid) of the account, the device id
    /// and the prekey's public key (SPEC.md §3.7).
    pub fn key_id(&self) -> KeyId {
        self.public_key.key_id(&self.account, &self.device_id)
    }

    /// Verifies the prekey as one of `device`'s at `now` (Unix ms), checking
    /// in this order (SPEC.md §3.7):
    ///
    /// 1. the account is the certificate's, else [`PrekeyError::WrongAccount`];
    /// 2. the device id is the certificate's, else [`PrekeyError::WrongDevice`];
    /// 3. the signing key is the certificate's Ed25519 key, else
    ///    [`PrekeyError::WrongDeviceKey`] (a prekey from before a re-key);
    /// 4. the public key is valid: an X25519 key canonical and not of low
    ///    order, else [`PrekeyError::InvalidX25519Key`]; an X-Wing key whose
    ///    ML-KEM part passes the FIPS 203 modulus check and whose X25519 part
    ///    is canonical and not of low order, else
    ///    [`PrekeyError::InvalidHybridKey`];
    /// 5. the signature verifies strictly, else [`PrekeyError::BadSignature`];
    /// 6. `created_at < expires_at ≤ created_at + MAX_PREKEY_LIFETIME`, else
    ///    [`PrekeyError::InvalidLifetime`];
    /// 7. `created_at ≤ now + MAX_PREKEY_CLOCK_SKEW_MS`, else
    ///    [`PrekeyError::NotYetValid`];
    /// 8. it has not expired at `now`, else [`PrekeyError::Expired`].
    ///
    /// Verify once, when fetched: [`crate::seal`] takes the verified type.
    #[must_use = "a prekey is only trusted if verification succeeded"]
    pub fn verify(
        &self,
        device: &VerifiedDeviceCertificate,
        now: u64,
    ) -> Result<VerifiedPrekey, PrekeyError> {
        if self.account != *device.account() {
            return Err(PrekeyError::WrongAccount);
        }
        if self.device_id != device.device_id() {
            return Err(PrekeyError::WrongDevice);
        }
        if self.device_key != device.keys().ed25519 {
            return Err(PrekeyError::WrongDeviceKey);
        }
        match &self.public_key {
            PrekeyPublic::X25519(k) => {
                check_x25519_public(k).map_err(|_| PrekeyError::InvalidX25519Key)?;
            }
            PrekeyPublic::XWing(k) => {
                check_xwing_public(k).map_err(|_| PrekeyError::InvalidHybridKey)?;
            }
        }
        let signer =
            Ed25519Public::from_bytes(&self.device_key).map_err(|_| PrekeyError::BadSignature)?;
        self.verify_signature(&signer)
            .map_err(|_| PrekeyError::BadSignature)?;
        if !lifetime_is_valid(self.created_at, self.expires_at) {
            return Err(PrekeyError::InvalidLifetime {
                created_at: self.created_at,
                expires_at: self.expires_at,
            });
        }
        if !self.is_created_by(now) {
            return Err(PrekeyError::NotYetValid {
                created_at: self.created_at,
                now,
            });
        }
        if self.is_expired(now) {
            return Err(PrekeyError::Expired {
                expires_at: self.expires_at,
                now,
            });
        }
        Ok(VerifiedPrekey {
            key_id: self.key_id(),
            binding: self.public_key.binding(&self.account, &self.device_id),
            prekey: self.clone(),
        })
    }

    /// The signature check alone (strict Ed25519 under the prekey label).
    pub(crate) fn verify_signature(&self, signer: &Ed25519Public) -> Result<(), Rejected> {
        signer.verify(
            label::PREKEY_SIGNATURE,
            self.encode_unsigned().as_slice(),
            &self.signature,
        )
    }

    fn encode_unsigned(&self) -> Writer {
        let mut w = Writer::with_capacity(self.encoded_len());
        w.object_prefix(object_type::SIGNED_PREKEY);
        w.u16(self.suite().id());
        w.put(&self.account.0);
        w.put(&self.device_id.0);
        w.put(&self.device_key);
        w.put(self.public_key.as_bytes());
        w.u64(self.created_at);
        w.u64(self.expires_at);
        w
    }

    /// Length of the encoding: [`SIGNED_PREKEY_LEN`] (classical) or
    /// [`HYBRID_SIGNED_PREKEY_LEN`] (hybrid).
    pub fn encoded_len(&self) -> usize {
        match self.suite() {
            Suite::Classical => SIGNED_PREKEY_LEN,
            Suite::Hybrid => HYBRID_SIGNED_PREKEY_LEN,
        }
    }

    /// The canonical encoding ([`SignedPrekey::encoded_len`] bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = self.encode_unsigned();
        w.put(&self.signature);
        w.into_vec()
    }

    /// Decodes the one canonical encoding (SPEC.md §3.7): prefix, suite
    /// (`0x0001` or `0x0002`, which fixes the key's length), then the fixed
    /// fields; trailing bytes are rejected. Keys, times and
    /// the signature are checked by verification, not here.
    ///
    /// # Errors
    /// [`DecodeError`]: `UnsupportedVersion`, `WrongObjectType`,
    /// `UnsupportedSuite`, `Truncated`, `TrailingBytes`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let prekey = Self::decode(&mut r)?;
        r.finish()?;
        Ok(prekey)
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.object_prefix(object_type::SIGNED_PREKEY)?;
        let suite = r.any_suite()?;
        let account = AccountPublicKey(r.array("account public key")?);
        let device_id = DeviceId(r.array("device id")?);
        let device_key = r.array("device Ed25519 public key")?;
        let public_key = match suite {
            Suite::Classical => PrekeyPublic::X25519(r.array("prekey X25519 public key")?),
            Suite::Hybrid => PrekeyPublic::XWing(Box::new(r.array("prekey X-Wing public key")?)),
        };
        Ok(SignedPrekey {
            account,
            device_id,
            device_key,
            public_key,
            created_at: r.u64("created at")?,
            expires_at: r.u64("expires at")?,
            signature: r.array("signature")?,
        })
    }
}

/// `created_at < expires_at ≤ created_at + MAX_PREKEY_LIFETIME` (SPEC.md §3.7).
pub(crate) fn lifetime_is_valid(created_at: u64, expires_at: u64) -> bool {
    expires_at > created_at && expires_at - created_at <= limit::MAX_PREKEY_LIFETIME_MS
}

/// A prekey that verified for a device: the only prekey type
/// [`crate::seal`] wraps to. It caches the key id and the recipient binding
/// (SPEC.md §4.5), so sealing does no signature work per prekey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPrekey {
    prekey: SignedPrekey,
    key_id: KeyId,
    binding: [u8; 32],
}

impl VerifiedPrekey {
    /// The verified prekey.
    pub fn prekey(&self) -> &SignedPrekey {
        &self.prekey
    }

    /// The key id (SPEC.md §3.2), cached at verification.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The recipient binding of wraps made to this prekey (SPEC.md §4.5).
    pub fn recipient_binding(&self) -> &[u8; 32] {
        &self.binding
    }
}

impl core::ops::Deref for VerifiedPrekey {
    type Target = SignedPrekey;
    fn deref(&self) -> &SignedPrekey {
        &self.prekey
    }
}

impl VerifiedDeviceList {
    /// Verifies `prekey` for the device of this list it names (SPEC.md §3.7).
    ///
    /// # Errors
    /// [`PrekeyError::WrongAccount`] when the prekey names another account,
    /// [`PrekeyError::UnknownDevice`] when no device on this list has its
    /// device id, then the checks of [`SignedPrekey::verify`].
    pub fn verify_prekey(
        &self,
        prekey: &SignedPrekey,
        now: u64,
    ) -> Result<VerifiedPrekey, PrekeyError> {
        if prekey.account != *self.account() {
            return Err(PrekeyError::WrongAccount);
        }
        let device = self
            .device(prekey.device_id)
            .ok_or(PrekeyError::UnknownDevice)?;
        prekey.verify(device, now)
    }
}
