//! Account and device keys (SPEC.md §3.1–3.2).
//!
//! Secret types are `ZeroizeOnDrop`, their `Debug` prints public parts only,
//! and secret bytes leave only through the loudly named `export_secret_*`
//! methods, as [`Zeroizing`] values, for the caller's own storage.

use core::fmt;

use rand_core::CryptoRng;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::consts::{label, size};
use crate::primitives::{Ed25519Public, Ed25519Secret, Sha256Stream, X25519Secret};

fn hex_prefix(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes.iter().take(8) {
        write!(f, "{b:02x}")?;
    }
    f.write_str("…")
}

/// An account's long-term Ed25519 public key: the identity a person's
/// contacts verify (SPEC.md §3.1). Held as bytes; validated strictly
/// (canonical, not small-order) whenever it verifies anything.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountPublicKey(pub(crate) [u8; 32]);

impl AccountPublicKey {
    /// Wraps 32 bytes. Validity is checked when the key is used to verify.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        AccountPublicKey(bytes)
    }

    /// The 32-byte encoding.
    pub const fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// The 32-byte encoding, borrowed.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub(crate) fn validated(&self) -> Option<Ed25519Public> {
        Ed25519Public::from_bytes(&self.0).ok()
    }
}

impl fmt::Debug for AccountPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccountPublicKey(")?;
        hex_prefix(f, &self.0)?;
        f.write_str(")")
    }
}

/// An account's long-term Ed25519 signing key. It signs device certificates
/// and device lists, nothing else.
pub struct AccountSecret {
    key: Ed25519Secret,
    public: AccountPublicKey,
}

impl ZeroizeOnDrop for AccountSecret {}

impl AccountSecret {
    /// Generates a new account key: 32 bytes from `rng` are the Ed25519 seed.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        Self::from_secret_seed(&seed)
    }

    /// Rebuilds an account key from its 32-byte Ed25519 seed, as exported by
    /// [`AccountSecret::export_secret_seed`].
    pub fn from_secret_seed(seed: &[u8; 32]) -> Self {
        let r = Self::from_secret_seed_inner(seed);
        crate::primitives::scrub_stack();
        r
    }

    #[inline(never)]
    fn from_secret_seed_inner(seed: &[u8; 32]) -> Self {
        let key = Ed25519Secret::from_seed(seed);
        let public = AccountPublicKey(key.public());
        AccountSecret { key, public }
    }

    /// Exports the secret seed for the caller's own protected storage.
    /// Whoever holds these bytes controls the account.
    pub fn export_secret_seed(&self) -> Zeroizing<[u8; 32]> {
        self.key.to_seed()
    }

    /// The public account key.
    pub fn public_key(&self) -> AccountPublicKey {
        self.public
    }

    pub(crate) fn sign(&self, label: &[u8], message: &[u8]) -> [u8; 64] {
        self.key.sign(label, message)
    }
}

impl fmt::Debug for AccountSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountSecret")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// A device's identifier within its account, chosen when the device is
/// enrolled (SPEC.md §3.2). Stable across key rotations if the caller wishes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceId(pub(crate) [u8; size::DEVICE_ID]);

impl DeviceId {
    /// Wraps 16 bytes.
    pub const fn from_bytes(bytes: [u8; size::DEVICE_ID]) -> Self {
        DeviceId(bytes)
    }

    /// A random device id: 16 bytes from `rng`.
    pub fn random<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut b = [0u8; size::DEVICE_ID];
        rng.fill_bytes(&mut b);
        DeviceId(b)
    }

    /// The 16 bytes.
    pub const fn to_bytes(&self) -> [u8; size::DEVICE_ID] {
        self.0
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceId(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// The short public name of one account's device key in an envelope header:
/// `SHA-256(u8 len || "fanseal v2 key id" || account public key || x25519 public key)[..16]`
/// (SPEC.md §3.2). It names the key *as certified by that account*: another
/// account that certifies the same key gets another key id, so a copied key
/// is a separate recipient and cannot collide with the original.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub(crate) [u8; size::KEY_ID]);

impl KeyId {
    /// The key id of `x25519` as a device key of `account`.
    pub fn of(account: &AccountPublicKey, x25519: &[u8; 32]) -> Self {
        Self::hashed(label::KEY_ID, &[&account.0, x25519])
    }

    /// The key id of a signed prekey's X25519 key (SPEC.md §3.7):
    /// `SHA-256(u8 len || "fanseal v2 prekey key id" || account || device id || x25519)[..16]`.
    /// It names the device too, so a device that republishes another
    /// device's prekey key gets another key id.
    pub fn of_prekey(account: &AccountPublicKey, device_id: &DeviceId, x25519: &[u8; 32]) -> Self {
        Self::hashed(label::PREKEY_KEY_ID, &[&account.0, &device_id.0, x25519])
    }

    /// The key id of a hybrid signed prekey's X-Wing key (SPEC.md §3.7):
    /// `SHA-256(lp("fanseal v2 hybrid prekey key id") || account || device id
    /// || X-Wing key)[0..16]`. Its own label keeps it apart from every
    /// classical key id.
    pub fn of_hybrid_prekey(
        account: &AccountPublicKey,
        device_id: &DeviceId,
        xwing: &[u8; crate::consts::size::XWING_PUBLIC_KEY],
    ) -> Self {
        Self::hashed(
            label::HYBRID_PREKEY_KEY_ID,
            &[&account.0, &device_id.0, xwing],
        )
    }

    /// `SHA-256(lp(label) || parts…)[..16]`.
    fn hashed(label: &[u8], parts: &[&[u8]]) -> Self {
        let mut h = Sha256Stream::labeled(label);
        for part in parts {
            h.update(part);
        }
        let digest = h.finish();
        let mut id = [0u8; size::KEY_ID];
        id.copy_from_slice(digest.get(..size::KEY_ID).unwrap_or(&[0u8; size::KEY_ID]));
        KeyId(id)
    }

    /// Wraps 16 bytes.
    pub const fn from_bytes(bytes: [u8; size::KEY_ID]) -> Self {
        KeyId(bytes)
    }

    /// The 16 bytes.
    pub const fn to_bytes(&self) -> [u8; size::KEY_ID] {
        self.0
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyId(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// The public keys of one device.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DevicePublicKeys {
    /// X25519 key: envelopes are wrapped to it.
    pub x25519: [u8; 32],
    /// Ed25519 key: the device signs what it sends with it.
    pub ed25519: [u8; 32],
}

impl fmt::Debug for DevicePublicKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DevicePublicKeys { x25519: ")?;
        hex_prefix(f, &self.x25519)?;
        f.write_str(", ed25519: ")?;
        hex_prefix(f, &self.ed25519)?;
        f.write_str(" }")
    }
}

/// A device's secret keys: X25519 (to receive) and Ed25519 (to sign).
pub struct DeviceSecret {
    x25519: X25519Secret,
    ed25519: Ed25519Secret,
    public: DevicePublicKeys,
}

impl ZeroizeOnDrop for DeviceSecret {}

impl DeviceSecret {
    /// Generates device keys: 32 bytes from `rng` for the X25519 key, then 32
    /// for the Ed25519 seed (SPEC.md §3.2).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = Zeroizing::new([0u8; 64]);
        rng.fill_bytes(bytes.as_mut());
        Self::from_secret_bytes(&bytes)
    }

    /// Rebuilds device keys from the 64 bytes exported by
    /// [`DeviceSecret::export_secret_bytes`] (X25519 key || Ed25519 seed).
    pub fn from_secret_bytes(bytes: &[u8; 64]) -> Self {
        let r = Self::from_secret_bytes_inner(bytes);
        crate::primitives::scrub_stack();
        r
    }

    #[inline(never)]
    fn from_secret_bytes_inner(bytes: &[u8; 64]) -> Self {
        let mut x = Zeroizing::new([0u8; 32]);
        let mut e = Zeroizing::new([0u8; 32]);
        let (xs, es) = bytes.split_at(32);
        x.copy_from_slice(xs);
        e.copy_from_slice(es);
        let x25519 = X25519Secret::from_bytes(&x);
        let ed25519 = Ed25519Secret::from_seed(&e);
        let public = DevicePublicKeys {
            x25519: x25519.public(),
            ed25519: ed25519.public(),
        };
        DeviceSecret {
            x25519,
            ed25519,
            public,
        }
    }

    /// Exports the 64 secret bytes (X25519 key || Ed25519 seed) for the
    /// caller's own protected storage.
    pub fn export_secret_bytes(&self) -> Zeroizing<[u8; 64]> {
        let mut out = Zeroizing::new([0u8; 64]);
        let (x, e) = out.split_at_mut(32);
        x.copy_from_slice(self.x25519.to_bytes().as_ref());
        e.copy_from_slice(self.ed25519.to_seed().as_ref());
        out
    }

    /// The device's public keys.
    pub fn public_keys(&self) -> DevicePublicKeys {
        self.public
    }

    pub(crate) fn x25519(&self) -> &X25519Secret {
        &self.x25519
    }

    pub(crate) fn ed25519(&self) -> &Ed25519Secret {
        &self.ed25519
    }
}

impl fmt::Debug for DeviceSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceSecret")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}
