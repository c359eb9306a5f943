//! The receiving side of a device: its current keys and certificate, the
//! keys it superseded by re-keying, and its signed prekeys' secrets, each
//! kept until a grace period after it stopped being used (SPEC.md §3.8).
//!
//! A wrap is made for one account's device: its AEAD associated data is the
//! recipient binding (account, device id, X25519 key) and the header names
//! it by a key id that includes the account. A device therefore opens
//! envelopes only as the device of the account that certified it, never as
//! a device of an account that copied its public keys (unknown key share,
//! property P15).

use alloc::vec::Vec;
use core::fmt;

use rand_core::CryptoRng;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::consts::limit;
use crate::envelope::header::Header;
use crate::error::{CertificateError, KeyringError};
use crate::identity::certificate::DeviceCertificate;
use crate::identity::keys::{DeviceSecret, KeyId};
use crate::identity::prekey::{PrekeyPublic, SignedPrekey};
use crate::primitives::{X25519Secret, XWingSecret};
use crate::suite::Suite;

/// How a keyring rotates and deletes prekeys (SPEC.md §3.8). Times in ms.
///
/// A prekey is published for `lifetime_ms` (senders refuse it after), the
/// device makes a new one every `rotation_period_ms`, and keeps each
/// secret `grace_ms` past its expiry for envelopes still in flight. The
/// forward-secrecy window is `lifetime_ms + grace_ms`: a thief of every
/// secret at time `T` opens no envelope sealed to a prekey before
/// `T − (lifetime_ms + grace_ms)` (SPEC.md §3.8, SECURITY.md P12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrekeyPolicy {
    /// A new prekey is due this long after the current one was made.
    pub rotation_period_ms: u64,
    /// Each prekey's `expires_at − created_at`.
    pub lifetime_ms: u64,
    /// How long a secret is kept after its prekey expired, or after its
    /// device keys were superseded by a re-key.
    pub grace_ms: u64,
}

impl PrekeyPolicy {
    /// Rotate every 2 days, each prekey valid 7 days (a device offline for
    /// up to 5 days after its last rotation stays reachable), secrets kept
    /// 7 days after expiry: a forward-secrecy window of 14 days.
    pub const DEFAULT: PrekeyPolicy = PrekeyPolicy {
        rotation_period_ms: 2 * limit::DAY_MS,
        lifetime_ms: 7 * limit::DAY_MS,
        grace_ms: 7 * limit::DAY_MS,
    };

    /// `lifetime_ms + grace_ms`: how far back a thief of every current
    /// secret can read (SPEC.md §3.8).
    pub fn forward_secrecy_window_ms(&self) -> u64 {
        self.lifetime_ms.saturating_add(self.grace_ms)
    }

    /// `0 < R`, `2R ≤ L ≤ MAX_PREKEY_LIFETIME_MS`, `G ≤ MAX_GRACE_MS`, and
    /// the prekeys alive at once, `⌈(L + G) / R⌉ + 1`, fit the keyring
    /// (SPEC.md §3.8). `2R ≤ L` leaves a sender's cached prekey valid for at
    /// least one rotation period after a newer one is published.
    pub(crate) fn is_valid(&self) -> bool {
        let (r, l, g) = (self.rotation_period_ms, self.lifetime_ms, self.grace_ms);
        r > 0
            && r.saturating_mul(2) <= l
            && l <= limit::MAX_PREKEY_LIFETIME_MS
            && g <= limit::MAX_GRACE_MS
            && (l + g).div_ceil(r) < limit::MAX_KEYRING_PREKEYS as u64
    }
}

impl Default for PrekeyPolicy {
    fn default() -> Self {
        PrekeyPolicy::DEFAULT
    }
}

/// One set of device keys with the certificate it is addressed under.
pub(crate) struct Identity {
    pub(crate) secret: DeviceSecret,
    pub(crate) certificate: DeviceCertificate,
    pub(crate) key_id: KeyId,
    pub(crate) binding: [u8; 32],
}

impl Identity {
    pub(crate) fn new(
        secret: DeviceSecret,
        certificate: DeviceCertificate,
    ) -> Result<Self, KeyringError> {
        if secret.public_keys() != *certificate.keys() {
            return Err(KeyringError::KeyMismatch);
        }
        certificate
            .verify_signed_by(certificate.account())
            .map_err(KeyringError::Certificate)?;
        Ok(Identity {
            key_id: certificate.key_id(),
            binding: certificate.recipient_binding(),
            secret,
            certificate,
        })
    }
}

/// Device keys superseded by a re-key, kept until `retired_at + grace`:
/// only the X25519 secret (to open envelopes in flight); the Ed25519 key is
/// dropped at the re-key, so a later thief cannot sign with it.
pub(crate) struct Retired {
    pub(crate) secret: X25519Secret,
    pub(crate) certificate: DeviceCertificate,
    pub(crate) key_id: KeyId,
    pub(crate) binding: [u8; 32],
    pub(crate) retired_at: u64,
}

/// A prekey's secret key: X25519 (classical) or X-Wing (hybrid).
pub(crate) enum PrekeyKey {
    X25519(X25519Secret),
    XWing(XWingSecret),
}

impl PrekeyKey {
    /// The public key this secret belongs to.
    pub(crate) fn public(&self) -> PrekeyPublic {
        match self {
            PrekeyKey::X25519(k) => PrekeyPublic::X25519(k.public()),
            PrekeyKey::XWing(k) => PrekeyPublic::XWing(alloc::boxed::Box::new(k.public())),
        }
    }

    /// The 32 exported secret bytes: the clamped X25519 scalar, or the
    /// X-Wing seed (SPEC.md §3.9).
    pub(crate) fn export_bytes(&self) -> Zeroizing<[u8; 32]> {
        match self {
            PrekeyKey::X25519(k) => {
                let mut b = k.to_bytes();
                crate::identity::keyring_export::clamp(&mut b);
                b
            }
            PrekeyKey::XWing(k) => k.to_seed(),
        }
    }
}

/// A prekey's secret with the signed prekey it belongs to.
pub(crate) struct PrekeySecret {
    pub(crate) secret: PrekeyKey,
    pub(crate) prekey: SignedPrekey,
    pub(crate) key_id: KeyId,
    pub(crate) binding: [u8; 32],
}

impl PrekeySecret {
    pub(crate) fn new(secret: PrekeyKey, prekey: SignedPrekey) -> Self {
        let key_id = prekey.key_id();
        let binding = prekey.key().binding(prekey.account(), &prekey.device_id());
        PrekeySecret {
            secret,
            prekey,
            key_id,
            binding,
        }
    }

    pub(crate) fn order(&self) -> (u64, KeyId) {
        (self.prekey.created_at(), self.key_id)
    }
}

/// The secret half of a [`KeyRef`]: what the header's suite decapsulates with.
pub(crate) enum KemSecretRef<'a> {
    X25519 {
        secret: &'a X25519Secret,
        public: [u8; 32],
    },
    XWing(&'a XWingSecret),
}

/// The key a wrap was made to, found in a keyring (SPEC.md §5.2 step 2).
pub(crate) struct KeyRef<'a> {
    pub(crate) kem: KemSecretRef<'a>,
    pub(crate) binding: &'a [u8; 32],
    pub(crate) key_id: KeyId,
}

impl KeyRef<'_> {
    pub(crate) fn suite(&self) -> Suite {
        match self.kem {
            KemSecretRef::X25519 { .. } => Suite::Classical,
            KemSecretRef::XWing(_) => Suite::Hybrid,
        }
    }
}

/// Everything [`crate::open`] needs on a device: its current keys and
/// certificate, keys superseded by a re-key, and its prekey secrets, each
/// kept until its grace period ends (SPEC.md §3.8). Secrets are wiped on
/// drop; `Debug` shows only public parts. Export it with
/// [`DeviceKeyring::export`] after every change.
///
/// # Example
/// ```
/// # use fanseal::*;
/// # use rand_core::SeedableRng;
/// # let mut rng = rand_chacha::ChaCha20Rng::from_seed([5; 32]);
/// let alice = AccountSecret::generate(&mut rng);
/// let phone = DeviceSecret::generate(&mut rng);
/// let cert = alice.certify_device(&CertificateParams {
///     device_id: DeviceId::random(&mut rng), keys: phone.public_keys(),
///     created_at: 0, expires_at: None, capabilities: CAPABILITY_PREKEYS,
/// }).unwrap();
/// let mut keyring = DeviceKeyring::new(phone, cert).unwrap();
/// let day = 24 * 60 * 60 * 1000;
/// let first = keyring.rotate_prekey(0, &mut rng).unwrap(); // publish it
/// assert!(keyring.needs_rotation(2 * day));
/// let second = keyring.rotate_prekey(2 * day, &mut rng).unwrap();
/// assert_eq!(keyring.current_prekey(2 * day), Some(&second));
/// // The first prekey's secret stays until its expiry plus the grace period.
/// assert_eq!(keyring.delete_expired(13 * day), 0);
/// assert_eq!(keyring.delete_expired(14 * day), 1);
/// # let _ = first;
/// ```
pub struct DeviceKeyring {
    pub(crate) current: Identity,
    pub(crate) retired: Vec<Retired>,
    /// Classical (X25519) prekey secrets, by `(created_at, key id)`.
    pub(crate) prekeys: Vec<PrekeySecret>,
    /// Hybrid (X-Wing) prekey secrets, by `(created_at, key id)`.
    pub(crate) hybrid_prekeys: Vec<PrekeySecret>,
    pub(crate) policy: PrekeyPolicy,
}

impl ZeroizeOnDrop for DeviceKeyring {}

impl DeviceKeyring {
    /// Binds `secret` to the certificate its account issued for it, with
    /// [`PrekeyPolicy::DEFAULT`] and no prekeys yet.
    ///
    /// # Errors
    /// [`CertificateError::KeyMismatch`] when the certificate's public keys
    /// are not `secret`'s; then the errors of the certificate's verification
    /// under its own account key (SPEC.md §3.3 steps 1–5, expiry not
    /// checked: a keyring outlives its certificate's renewals).
    pub fn new(
        secret: DeviceSecret,
        certificate: DeviceCertificate,
    ) -> Result<Self, CertificateError> {
        let current = Identity::new(secret, certificate).map_err(|e| match e {
            KeyringError::Certificate(e) => e,
            _ => CertificateError::KeyMismatch,
        })?;
        Ok(DeviceKeyring {
            current,
            retired: Vec::new(),
            prekeys: Vec::new(),
            hybrid_prekeys: Vec::new(),
            policy: PrekeyPolicy::DEFAULT,
        })
    }

    /// Replaces the rotation policy. Prekeys already made keep their own
    /// expiry: the window of SPEC.md §3.8 uses the longest lifetime held.
    ///
    /// # Errors
    /// [`KeyringError::InvalidPolicy`] unless `0 < R`, `2R ≤ L ≤
    /// MAX_PREKEY_LIFETIME_MS`, `G ≤ MAX_GRACE_MS` and `⌈(L + G) / R⌉ + 1 ≤
    /// MAX_KEYRING_PREKEYS`.
    pub fn set_policy(&mut self, policy: PrekeyPolicy) -> Result<(), KeyringError> {
        if !policy.is_valid() {
            return Err(KeyringError::InvalidPolicy);
        }
        self.policy = policy;
        Ok(())
    }

    /// The rotation policy.
    pub fn policy(&self) -> &PrekeyPolicy {
        &self.policy
    }

    /// The device's current secret keys.
    pub fn secret(&self) -> &DeviceSecret {
        &self.current.secret
    }

    /// The certificate the device's current keys are addressed under.
    pub fn certificate(&self) -> &DeviceCertificate {
        &self.current.certificate
    }

    /// The key id of the current certificate's X25519 key (SPEC.md §3.2).
    pub fn key_id(&self) -> KeyId {
        self.current.key_id
    }

    /// Makes a new prekey at `now` (Unix ms), valid for the policy's
    /// lifetime, signed by the current device key, and keeps its secret.
    /// Draws 32 bytes from `rng` (the X25519 secret). Publish the result.
    ///
    /// # Errors
    /// [`KeyringError::Full`] with [`limit::MAX_KEYRING_PREKEYS`] prekeys
    /// held ([`DeviceKeyring::delete_expired`] first);
    /// [`KeyringError::InvalidPolicy`] when `now + lifetime` overflows.
    pub fn rotate_prekey<R: CryptoRng + ?Sized>(
        &mut self,
        now: u64,
        rng: &mut R,
    ) -> Result<SignedPrekey, KeyringError> {
        let r = self.rotate_inner(Suite::Classical, now, rng);
        crate::primitives::scrub_stack();
        r
    }

    /// Makes a new **hybrid** prekey (an X-Wing key, suite `0x0002`,
    /// [`crate::HYBRID_SIGNED_PREKEY_LEN`] bytes) at `now`, like
    /// [`DeviceKeyring::rotate_prekey`]: valid for the policy's lifetime,
    /// signed by the current device key, its secret kept. Draws 32 bytes
    /// from `rng` (the X-Wing seed). A device with
    /// [`crate::CAPABILITY_HYBRID`] publishes one beside its classical
    /// prekey (SPEC.md §3.8): senders to an all-hybrid set need it, senders
    /// to a mixed set use the classical one.
    ///
    /// # Errors
    /// [`KeyringError::NotHybrid`] when the certificate lacks
    /// [`crate::CAPABILITY_HYBRID`]; [`KeyringError::Full`] with
    /// [`limit::MAX_KEYRING_PREKEYS`] hybrid prekeys held;
    /// [`KeyringError::InvalidPolicy`] when `now + lifetime` overflows.
    ///
    /// # Example
    /// ```
    /// # use fanseal::*;
    /// # use rand_core::SeedableRng;
    /// # let mut rng = rand_chacha::ChaCha20Rng::from_seed([9; 32]);
    /// let alice = AccountSecret::generate(&mut rng);
    /// let phone = DeviceSecret::generate(&mut rng);
    /// let cert = alice.certify_device(&CertificateParams {
    ///     device_id: DeviceId::random(&mut rng), keys: phone.public_keys(), created_at: 0,
    ///     expires_at: None, capabilities: CAPABILITY_PREKEYS | CAPABILITY_HYBRID,
    /// }).unwrap();
    /// let mut keyring = DeviceKeyring::new(phone, cert).unwrap();
    /// let classical = keyring.rotate_prekey(0, &mut rng).unwrap();
    /// let hybrid = keyring.rotate_hybrid_prekey(0, &mut rng).unwrap();
    /// assert_eq!((classical.suite(), hybrid.suite()), (Suite::Classical, Suite::Hybrid));
    /// assert_eq!(hybrid.to_bytes().len(), HYBRID_SIGNED_PREKEY_LEN);
    /// assert!(!keyring.needs_rotation(0) && !keyring.needs_hybrid_rotation(0));
    /// ```
    pub fn rotate_hybrid_prekey<R: CryptoRng + ?Sized>(
        &mut self,
        now: u64,
        rng: &mut R,
    ) -> Result<SignedPrekey, KeyringError> {
        if !self.current.certificate.supports_hybrid() {
            return Err(KeyringError::NotHybrid);
        }
        let r = self.rotate_inner(Suite::Hybrid, now, rng);
        crate::primitives::scrub_stack();
        r
    }

    #[inline(never)]
    fn rotate_inner<R: CryptoRng + ?Sized>(
        &mut self,
        suite: Suite,
        now: u64,
        rng: &mut R,
    ) -> Result<SignedPrekey, KeyringError> {
        if self.prekeys_of(suite).len() >= limit::MAX_KEYRING_PREKEYS {
            return Err(KeyringError::Full);
        }
        let expires_at = now
            .checked_add(self.policy.lifetime_ms)
            .filter(|t| *t != u64::MAX)
            .ok_or(KeyringError::InvalidPolicy)?;
        let mut bytes = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(bytes.as_mut());
        let secret = match suite {
            Suite::Classical => PrekeyKey::X25519(X25519Secret::from_bytes(&bytes)),
            Suite::Hybrid => PrekeyKey::XWing(XWingSecret::from_seed(&bytes)),
        };
        let cert = &self.current.certificate;
        let prekey = SignedPrekey::sign(
            self.current.secret.ed25519(),
            *cert.account(),
            cert.device_id(),
            secret.public(),
            now,
            expires_at,
        );
        let entry = PrekeySecret::new(secret, prekey.clone());
        if self.holds_key_id(&entry.key_id) {
            // Only a broken RNG repeats a key; refuse rather than hold two.
            return Err(KeyringError::SameKeys);
        }
        let list = match suite {
            Suite::Classical => &mut self.prekeys,
            Suite::Hybrid => &mut self.hybrid_prekeys,
        };
        let at = list.partition_point(|p| p.order() < entry.order());
        list.insert(at, entry);
        Ok(prekey)
    }

    fn prekeys_of(&self, suite: Suite) -> &[PrekeySecret] {
        match suite {
            Suite::Classical => &self.prekeys,
            Suite::Hybrid => &self.hybrid_prekeys,
        }
    }

    /// The newest prekey of `suite` signed by the current device key, made
    /// at or before `now`, that has not expired.
    fn current_of(&self, suite: Suite, now: u64) -> Option<&SignedPrekey> {
        let signer = self.current.secret.public_keys().ed25519;
        self.prekeys_of(suite)
            .iter()
            .rev()
            .map(|p| &p.prekey)
            .find(|p| *p.device_key() == signer && p.created_at() <= now && !p.is_expired(now))
    }

    /// The classical prekey to publish at `now`: the newest one signed by
    /// the current device key, made at or before `now`, that has not
    /// expired, if any.
    pub fn current_prekey(&self, now: u64) -> Option<&SignedPrekey> {
        self.current_of(Suite::Classical, now)
    }

    /// The hybrid prekey to publish at `now`, chosen like
    /// [`DeviceKeyring::current_prekey`] among the hybrid ones.
    pub fn current_hybrid_prekey(&self, now: u64) -> Option<&SignedPrekey> {
        self.current_of(Suite::Hybrid, now)
    }

    fn due(&self, suite: Suite, now: u64) -> bool {
        self.current_of(suite, now).is_none_or(|p| {
            now >= p
                .created_at()
                .saturating_add(self.policy.rotation_period_ms)
        })
    }

    /// True when there is no current classical prekey at `now`, or the
    /// current one was made a rotation period or more ago: call
    /// [`DeviceKeyring::rotate_prekey`] and publish.
    pub fn needs_rotation(&self, now: u64) -> bool {
        self.due(Suite::Classical, now)
    }

    /// For a device with [`crate::CAPABILITY_HYBRID`], the same test for its
    /// hybrid prekeys: call [`DeviceKeyring::rotate_hybrid_prekey`] and
    /// publish. Always false for a device without the capability.
    pub fn needs_hybrid_rotation(&self, now: u64) -> bool {
        self.current.certificate.supports_hybrid() && self.due(Suite::Hybrid, now)
    }

    /// Every prekey whose secret the keyring holds: the classical ones
    /// oldest first, then the hybrid ones oldest first.
    pub fn prekeys(&self) -> impl Iterator<Item = &SignedPrekey> {
        self.prekeys
            .iter()
            .chain(&self.hybrid_prekeys)
            .map(|p| &p.prekey)
    }

    /// Deletes, at `now`, every prekey secret whose prekey expired at least
    /// a grace period ago (`expires_at + grace ≤ now`) and every superseded
    /// key set retired at least a grace period ago (`retired_at + grace ≤
    /// now`). Returns how many secrets were deleted. Envelopes wrapped to
    /// them no longer open ([`crate::OpenError::NotARecipient`]).
    pub fn delete_expired(&mut self, now: u64) -> usize {
        let grace = self.policy.grace_ms;
        let held = |k: &Self| k.prekeys.len() + k.hybrid_prekeys.len() + k.retired.len();
        let before = held(self);
        self.prekeys
            .retain(|p| p.prekey.expires_at().saturating_add(grace) > now);
        self.hybrid_prekeys
            .retain(|p| p.prekey.expires_at().saturating_add(grace) > now);
        self.retired
            .retain(|r| r.retired_at.saturating_add(grace) > now);
        before - held(self)
    }

    /// Replaces the current certificate by a renewal with the same keys
    /// (other times or application capabilities). The recipient binding
    /// does not change (SPEC.md §4.5), so nothing in flight is affected.
    ///
    /// # Errors
    /// In this order: [`KeyringError::WrongDevice`] for another account or
    /// device id; [`KeyringError::KeyMismatch`] for other keys (use
    /// [`DeviceKeyring::rekey`]); [`KeyringError::CapabilityChange`] when
    /// [`crate::CAPABILITY_PREKEYS`] differs (turning prekeys on or off
    /// takes a re-key); [`KeyringError::Certificate`] when it does not
    /// verify under its account key.
    pub fn renew_certificate(
        &mut self,
        certificate: DeviceCertificate,
    ) -> Result<(), KeyringError> {
        self.check_same_device(&certificate)?;
        let current = &self.current.certificate;
        if certificate.keys() != current.keys() {
            return Err(KeyringError::KeyMismatch);
        }
        if certificate.key_bound_capabilities() != current.key_bound_capabilities() {
            return Err(KeyringError::CapabilityChange);
        }
        certificate
            .verify_signed_by(certificate.account())
            .map_err(KeyringError::Certificate)?;
        self.current.certificate = certificate;
        Ok(())
    }

    /// Re-keys the device: `secret` and its new `certificate` become
    /// current; the old keys are kept as superseded until `now + grace`, so
    /// envelopes in flight to them still open. Prekeys signed by the old
    /// key stay until their own grace ends; make and publish a new prekey
    /// ([`DeviceKeyring::needs_rotation`] is true now).
    ///
    /// # Errors
    /// In this order: [`KeyringError::WrongDevice`],
    /// [`KeyringError::KeyMismatch`] (the certificate is not `secret`'s),
    /// [`KeyringError::Certificate`] (it does not verify under its account
    /// key), [`KeyringError::SameKeys`] (an X25519 or Ed25519 key of a key
    /// set the keyring holds: both must be new, or prekeys the old signing
    /// key made would stay valid), [`KeyringError::Full`] (with
    /// [`limit::MAX_KEYRING_RETIRED`] superseded key sets held).
    pub fn rekey(
        &mut self,
        secret: DeviceSecret,
        certificate: DeviceCertificate,
        now: u64,
    ) -> Result<(), KeyringError> {
        self.check_same_device(&certificate)?;
        let identity = Identity::new(secret, certificate)?;
        let new_keys = identity.secret.public_keys();
        let key_in_use = core::iter::once(&self.current.certificate)
            .chain(self.retired.iter().map(|r| &r.certificate))
            .any(|c| c.keys().ed25519 == new_keys.ed25519 || c.keys().x25519 == new_keys.x25519);
        if key_in_use || self.holds_key_id(&identity.key_id) {
            return Err(KeyringError::SameKeys);
        }
        if self.retired.len() >= limit::MAX_KEYRING_RETIRED {
            return Err(KeyringError::Full);
        }
        let old = core::mem::replace(&mut self.current, identity);
        let retired = Retired::from_identity(old, now);
        let at = self
            .retired
            .partition_point(|r| r.order() < retired.order());
        self.retired.insert(at, retired);
        Ok(())
    }

    fn check_same_device(&self, certificate: &DeviceCertificate) -> Result<(), KeyringError> {
        let cert = &self.current.certificate;
        if certificate.account() != cert.account() || certificate.device_id() != cert.device_id() {
            return Err(KeyringError::WrongDevice);
        }
        Ok(())
    }

    fn holds_key_id(&self, key_id: &KeyId) -> bool {
        self.keys().any(|k| k.key_id == *key_id)
    }

    /// Every key the keyring can open with: the current keys, superseded
    /// keys, classical prekeys, then hybrid prekeys.
    fn keys(&self) -> impl Iterator<Item = KeyRef<'_>> {
        let current = core::iter::once(KeyRef {
            kem: KemSecretRef::X25519 {
                secret: self.current.secret.x25519(),
                public: self.current.secret.public_keys().x25519,
            },
            binding: &self.current.binding,
            key_id: self.current.key_id,
        });
        let retired = self.retired.iter().map(|r| KeyRef {
            kem: KemSecretRef::X25519 {
                secret: &r.secret,
                public: r.certificate.keys().x25519,
            },
            binding: &r.binding,
            key_id: r.key_id,
        });
        let prekeys = self
            .prekeys
            .iter()
            .chain(&self.hybrid_prekeys)
            .filter_map(|p| {
                let kem = match (&p.secret, p.prekey.key()) {
                    (PrekeyKey::X25519(secret), PrekeyPublic::X25519(public)) => {
                        KemSecretRef::X25519 {
                            secret,
                            public: *public,
                        }
                    }
                    (PrekeyKey::XWing(secret), PrekeyPublic::XWing(_)) => {
                        KemSecretRef::XWing(secret)
                    }
                    // Never built: a secret is always stored with its own prekey.
                    _ => return None,
                };
                Some(KeyRef {
                    kem,
                    binding: &p.binding,
                    key_id: p.key_id,
                })
            });
        current.chain(retired).chain(prekeys)
    }

    /// The key of this keyring of the header's suite that the header names
    /// at the lowest position, and that position (SPEC.md §5.2 step 2): one
    /// binary search per key held, `O(k log n)`. A classical header is
    /// searched for certificate and classical prekey keys, a hybrid header
    /// for hybrid prekey keys only.
    pub(crate) fn find(&self, header: &Header) -> Option<(usize, KeyRef<'_>)> {
        let suite = header.suite();
        self.keys()
            .filter(|k| k.suite() == suite)
            .filter_map(|k| header.position(&k.key_id).map(|i| (i, k)))
            .min_by_key(|(i, _)| *i)
    }
}

impl Retired {
    /// Keeps the X25519 secret of a replaced key set; its Ed25519 key is
    /// dropped (and wiped) here.
    pub(crate) fn from_identity(identity: Identity, retired_at: u64) -> Self {
        let secret = X25519Secret::from_bytes(&identity.secret.x25519().to_bytes());
        Retired {
            secret,
            key_id: identity.key_id,
            binding: identity.binding,
            certificate: identity.certificate,
            retired_at,
        }
    }

    pub(crate) fn order(&self) -> (u64, KeyId) {
        (self.retired_at, self.key_id)
    }
}

impl fmt::Debug for DeviceKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceKeyring")
            .field("certificate", &self.current.certificate)
            .field("retired", &self.retired.len())
            .field("prekeys", &self.prekeys.len())
            .field("hybrid_prekeys", &self.hybrid_prekeys.len())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}
