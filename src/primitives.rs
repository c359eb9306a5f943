//! The only module that names the curve, signature, KDF, hash and AEAD crates
//! (SPEC.md §2.2). Everything else calls these thin, zeroizing wrappers, so a
//! backend swap touches this file alone.
//!
//! Secrets that pass through here (DH outputs, PRKs, derived keys) are
//! returned as [`Zeroizing`] values and wiped when dropped.

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use alloc::boxed::Box;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use hkdf::{Hkdf, HkdfExtract};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey as XPublic, StaticSecret};
use x_wing::kem::common::array::Array;
use x_wing::{
    DecapsulationKeyRejectNonContrib, Decapsulator, EncapsulationKey as XWingPublic, KeyExport,
    TryDecapsulate, TryKeyInit,
};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

// ---------------------------------------------------------------- stack

/// Bytes of stack [`scrub_stack`] zeroes below its caller: the deepest stack
/// the secret-handling public calls use, measured by the stack scan in
/// `ct/` (x86_64), with margin. Optimised build: `open` ~11.5 KiB, `seal`
/// ~10 KiB plus its signature, key import and signing ~3–4 KiB: 16 KiB.
/// Unoptimised build (opt-level 0): `open` ~80 KiB, `seal` ~44 KiB, key
/// generation ~41 KiB: 128 KiB when debug assertions are on (the only cfg
/// that tells such builds apart).
pub(crate) const STACK_SCRUB_BYTES: usize = if cfg!(debug_assertions) {
    128 * 1024
} else {
    16 * 1024
};

/// Zeroes [`STACK_SCRUB_BYTES`] of stack below the caller's frame, with
/// volatile writes (`zeroize`) the compiler cannot drop. Called last by the
/// public functions that handle secrets, after their secret-handling body
/// (a separate, non-inlined function) has returned: the secrets that body
/// and its callees (the hkdf, sha2, AES, curve crates) left in dead stack
/// slots are overwritten. It cannot reach registers, the caller's own frame
/// or anything deeper than the scrub size (SECURITY.md, "Zeroization").
#[inline(never)]
pub(crate) fn scrub_stack() {
    let mut area = [0u64; STACK_SCRUB_BYTES / 8];
    // Make the array's address escape, so it is a real stack object ...
    core::hint::black_box(&mut area);
    zeroize::Zeroize::zeroize(&mut area);
    // ... and the wiped bytes observably used.
    core::hint::black_box(&area);
}

/// A 32-byte secret that is wiped on drop.
pub(crate) type Secret32 = Zeroizing<[u8; 32]>;

/// The primitive said no: a bad key, tag, signature or DH result. Callers map
/// it to their own (usually opaque) error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rejected;

// ---------------------------------------------------------------- hashing

/// Incremental SHA-256.
#[derive(Clone, Default)]
pub(crate) struct Sha256Stream(Sha256);

impl Sha256Stream {
    pub(crate) fn new() -> Self {
        Sha256Stream(Sha256::new())
    }

    /// Starts a hash with a length-prefixed domain label.
    pub(crate) fn labeled(label: &[u8]) -> Self {
        let mut h = Self::new();
        h.update(&crate::codec::label_prefix(label));
        h.update(label);
        h
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub(crate) fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

/// SHA-512 of the concatenation of `parts` (used only by the safety number).
pub(crate) fn sha512(parts: &[&[u8]]) -> [u8; 64] {
    let mut h = sha2::Sha512::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

// ---------------------------------------------------------------- HKDF

/// HKDF-SHA256 extract over the concatenation of `ikm_parts`; returns the PRK.
pub(crate) fn hkdf_extract(salt: &[u8], ikm_parts: &[&[u8]]) -> Secret32 {
    let mut ext = HkdfExtract::<Sha256>::new(Some(salt));
    for p in ikm_parts {
        ext.input_ikm(p);
    }
    let (mut prk, _) = ext.finalize();
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&prk);
    // The hkdf crate returns the PRK in a plain array: wipe it here.
    zeroize::Zeroize::zeroize(prk.as_mut_slice());
    out
}

/// An HKDF-SHA256 PRK keyed once for several expands (the HMAC key
/// schedule is done once instead of per call). Like [`hkdf_expand`]'s, the
/// keyed HMAC state lives on the stack for one derivation only; the public
/// calls that derive with it end with [`scrub_stack`].
pub(crate) struct Prk(Hkdf<Sha256>);

impl Prk {
    pub(crate) fn new(prk: &[u8; 32]) -> Result<Self, Rejected> {
        Hkdf::<Sha256>::from_prk(prk).map(Prk).map_err(|_| Rejected)
    }

    /// HKDF-Expand with the concatenation of `info_parts` into `out`.
    pub(crate) fn expand(&self, info_parts: &[&[u8]], out: &mut [u8]) -> Result<(), Rejected> {
        self.0
            .expand_multi_info(info_parts, out)
            .map_err(|_| Rejected)
    }
}

/// HKDF-SHA256 expand of `prk` with the concatenation of `info_parts` into `out`.
/// `out` is at most 255 * 32 bytes everywhere in this crate.
pub(crate) fn hkdf_expand(
    prk: &[u8; 32],
    info_parts: &[&[u8]],
    out: &mut [u8],
) -> Result<(), Rejected> {
    Prk::new(prk)?.expand(info_parts, out)
}

// ---------------------------------------------------------------- AES-256-GCM

/// AES-256-GCM key, wiped on drop by the `aes` crate's `zeroize` feature.
pub(crate) struct AeadKey(Aes256Gcm);

impl AeadKey {
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        AeadKey(Aes256Gcm::new(key.into()))
    }

    /// Encrypts `buf` in place and returns the 16-byte tag.
    pub(crate) fn seal_detached(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; 16], Rejected> {
        let tag = self
            .0
            .encrypt_inout_detached(&Nonce::from(*nonce), aad, buf.into())
            .map_err(|_| Rejected)?;
        Ok(tag.into())
    }

    /// Decrypts `buf` in place if `tag` is valid. On failure `buf` is left
    /// unchanged (the tag is checked before any keystream is applied).
    pub(crate) fn open_detached(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; 16],
    ) -> Result<(), Rejected> {
        self.0
            .decrypt_inout_detached(&Nonce::from(*nonce), aad, buf.into(), &Tag::from(*tag))
            .map_err(|_| Rejected)
    }
}

// ---------------------------------------------------------------- X25519

/// An X25519 private key (clamped at use), wiped on drop. Boxed: moving the
/// key (or a `DeviceSecret` holding it) moves a pointer, so no copy of the
/// key bytes is left in a stack slot a move vacated.
pub(crate) struct X25519Secret(Box<StaticSecret>);

impl X25519Secret {
    pub(crate) fn from_bytes(bytes: &[u8; 32]) -> Self {
        // x25519-dalek takes the array by value; StaticSecret wipes its own.
        X25519Secret(Box::new(StaticSecret::from(*bytes)))
    }

    pub(crate) fn to_bytes(&self) -> Secret32 {
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(self.0.as_bytes());
        out
    }

    pub(crate) fn public(&self) -> [u8; 32] {
        XPublic::from(&*self.0).to_bytes()
    }

    /// `(address, length)` of the key in memory (for `ct/` only).
    #[cfg(feature = "internals")]
    pub(crate) fn region(&self) -> (usize, usize) {
        let key: &StaticSecret = &self.0;
        (
            core::ptr::from_ref(key) as usize,
            core::mem::size_of_val(key),
        )
    }

    /// X25519(self, their_public). An all-zero result (a low-order input) is
    /// rejected, as RFC 9180 §7.1.4 and RFC 7748 §6.1 require.
    pub(crate) fn diffie_hellman(&self, their_public: &[u8; 32]) -> Result<Secret32, Rejected> {
        let shared = self.0.diffie_hellman(&XPublic::from(*their_public));
        if !shared.was_contributory() {
            return Err(Rejected);
        }
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(shared.as_bytes());
        Ok(out)
    }
}

/// The canonical encodings (u < 2^255 - 19) of every X25519 u-coordinate of
/// low order, on the curve or its twist: 0, 1, p - 1 and the two points of
/// order 8 (the same set as libsodium's blocklist, without its non-canonical
/// entries, which [`x25519_is_canonical`] already rejects).
const LOW_ORDER_CANONICAL: [[u8; 32]; 5] = [
    [0; 32],
    [
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ],
    [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4,
        0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
        0xb8, 0x00,
    ],
    [
        0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef,
        0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f,
        0x11, 0x57,
    ],
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
];

/// Rejects an X25519 public key that is not the canonical encoding of a field
/// element (top bit set, or u >= 2^255 - 19), or that has low order. Public
/// data only. On canonical inputs the blocklist is exactly the set of keys
/// whose product with a clamped (cofactor-clearing) scalar is zero; the unit
/// test below and the Wycheproof suite (src/conformance/x25519.rs) check that
/// equivalence. A comparison costs nanoseconds where the DH probe costs one
/// scalar multiplication per certificate.
pub(crate) fn check_x25519_public(bytes: &[u8; 32]) -> Result<(), Rejected> {
    if !x25519_is_canonical(bytes) || LOW_ORDER_CANONICAL.iter().any(|low| low == bytes) {
        return Err(Rejected);
    }
    Ok(())
}

/// The reference definition of low order: the product with a clamped scalar
/// is zero. Test-only cross-check of [`check_x25519_public`].
#[cfg(test)]
pub(crate) fn x25519_low_order_by_dh(bytes: &[u8; 32]) -> bool {
    X25519Secret::from_bytes(&[0x5a; 32])
        .diffie_hellman(bytes)
        .is_err()
}

/// True when `bytes` is the canonical little-endian encoding of u < 2^255 - 19.
pub(crate) fn x25519_is_canonical(bytes: &[u8; 32]) -> bool {
    // p - 1 = 2^255 - 20 = ec ff .. ff 7f (little-endian).
    let mut p_minus_1 = [0xffu8; 32];
    p_minus_1[0] = 0xec;
    p_minus_1[31] = 0x7f;
    // Compare as little-endian integers from the top byte down.
    for (b, m) in bytes.iter().rev().zip(p_minus_1.iter().rev()) {
        if b != m {
            return b < m;
        }
    }
    true
}

// ---------------------------------------------------------------- Ed25519

/// An Ed25519 signing key, wiped on drop. Boxed, like [`X25519Secret`].
pub(crate) struct Ed25519Secret(Box<SigningKey>);

impl Ed25519Secret {
    pub(crate) fn from_seed(seed: &[u8; 32]) -> Self {
        Ed25519Secret(Box::new(SigningKey::from_bytes(seed)))
    }

    pub(crate) fn to_seed(&self) -> Secret32 {
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(self.0.as_bytes());
        out
    }

    pub(crate) fn public(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    /// `(address, length)` of the key in memory (for `ct/` only).
    #[cfg(feature = "internals")]
    pub(crate) fn region(&self) -> (usize, usize) {
        let key: &SigningKey = &self.0;
        (
            core::ptr::from_ref(key) as usize,
            core::mem::size_of_val(key),
        )
    }

    /// Signs `u8 len || label || message`, then scrubs the stack the
    /// signature used (ed25519-dalek leaves the nonce `r` and copies of the
    /// expanded key in dead stack slots).
    pub(crate) fn sign(&self, label: &[u8], message: &[u8]) -> [u8; 64] {
        let signature = self.sign_labeled(label, message);
        scrub_stack();
        signature
    }

    /// [`Ed25519Secret::sign`] without its own stack scrub, for a caller
    /// whose public entry point already ends with [`scrub_stack`] (one
    /// scrub per call instead of two).
    #[inline(never)]
    pub(crate) fn sign_labeled(&self, label: &[u8], message: &[u8]) -> [u8; 64] {
        let mut buf = alloc::vec::Vec::with_capacity(1 + label.len() + message.len());
        buf.extend_from_slice(&crate::codec::label_prefix(label));
        buf.extend_from_slice(label);
        buf.extend_from_slice(message);
        self.sign_raw(&buf)
    }

    /// RFC 8032 Ed25519 signature over `message` exactly, with no label (the
    /// path [`Ed25519Secret::sign`] ends in; the external conformance suites
    /// call it directly).
    pub(crate) fn sign_raw(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }
}

/// A validated Ed25519 public key: canonical encoding, on the curve, not of
/// small order.
#[derive(Clone, Copy)]
pub(crate) struct Ed25519Public(VerifyingKey);

impl Ed25519Public {
    pub(crate) fn from_bytes(bytes: &[u8; 32]) -> Result<Self, Rejected> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| Rejected)?;
        // Non-canonical encodings decompress too; re-encoding exposes them.
        if key.to_edwards().compress().to_bytes() != *bytes || key.is_weak() {
            return Err(Rejected);
        }
        Ok(Ed25519Public(key))
    }

    /// Strict verification (RFC 8032 with canonical `s`, no small-order `R` or
    /// key) of a signature over `u8 len || label || message`.
    pub(crate) fn verify(
        &self,
        label: &[u8],
        message: &[u8],
        signature: &[u8; 64],
    ) -> Result<(), Rejected> {
        let mut buf = alloc::vec::Vec::with_capacity(1 + label.len() + message.len());
        buf.extend_from_slice(&crate::codec::label_prefix(label));
        buf.extend_from_slice(label);
        buf.extend_from_slice(message);
        self.verify_raw(&buf, signature)
    }

    /// Strict verification of a signature over `message` exactly (for the
    /// external conformance suites).
    pub(crate) fn verify_raw(&self, message: &[u8], signature: &[u8; 64]) -> Result<(), Rejected> {
        let sig = ed25519_dalek::Signature::from_bytes(signature);
        self.0.verify_strict(message, &sig).map_err(|_| Rejected)
    }
}

/// Test-only oracle for the conformance suites: ed25519-dalek's own
/// `VerifyingKey::from_bytes` + `verify_strict`, with none of fanseal's checks
/// in front (kept here so this file stays the only one naming the crate).
#[cfg(test)]
pub(crate) fn reference_verify_strict(
    public: &[u8; 32],
    message: &[u8],
    signature: &[u8; 64],
) -> bool {
    VerifyingKey::from_bytes(public).is_ok_and(|key| {
        key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature))
            .is_ok()
    })
}

// ---------------------------------------------------------------- X-Wing

/// X-Wing (draft-connolly-cfrg-xwing-kem; draft-ietf-hpke-pq KEM 0x647a,
/// MLKEM768-X25519) sizes. Every X-Wing input is a fixed-size array of
/// these lengths, so a wrong length cannot reach the crate.
pub(crate) mod xwing_size {
    /// Decapsulation key: the 32-byte seed (`Nsk`).
    pub(crate) const SEED: usize = 32;
    /// Encapsulation key `pk_M (1184, ML-KEM-768 ek) || pk_X (32, X25519)` (`Npk`).
    pub(crate) const PUBLIC: usize = 1216;
    /// Length of the ML-KEM-768 encapsulation key at the start of [`PUBLIC`].
    pub(crate) const PUBLIC_MLKEM: usize = 1184;
    /// Ciphertext `ct_M (1088, ML-KEM-768) || ct_X (32, X25519)` (`Nenc`).
    pub(crate) const CIPHERTEXT: usize = 1120;
    /// Length of the ML-KEM-768 ciphertext at the start of [`CIPHERTEXT`].
    #[cfg(test)]
    pub(crate) const CIPHERTEXT_MLKEM: usize = 1088;
    /// Encapsulation randomness `eseed`: 32 bytes for ML-KEM, then the
    /// 32-byte X25519 ephemeral secret.
    pub(crate) const RANDOMNESS: usize = 64;
}

/// An X-Wing decapsulation key, held as the crate's
/// `DecapsulationKeyRejectNonContrib` (an all-zero X25519 output in
/// decapsulation is an error, as fanseal's DH rule, SPEC.md §2.7). Boxed like
/// [`X25519Secret`]. The crate wipes its 32-byte seed on drop (feature
/// `zeroize`); the expanded ML-KEM and X25519 keys exist only during a
/// decapsulation and are wiped by ml-kem and x25519-dalek when dropped.
pub(crate) struct XWingSecret(Box<DecapsulationKeyRejectNonContrib>);

/// The boxed key zeroizes its seed when dropped (x-wing `zeroize` feature).
impl ZeroizeOnDrop for XWingSecret {}

impl core::fmt::Debug for XWingSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Public part only, abbreviated: the X25519 half of the public key.
        let public = self.public();
        let x25519 = public.get(xwing_size::PUBLIC_MLKEM..).unwrap_or_default();
        f.debug_struct("XWingSecret")
            .field("public_x25519", &x25519)
            .finish_non_exhaustive()
    }
}

impl XWingSecret {
    /// The key whose seed is `seed` (X-Wing `DeriveKeyPair`'s input: SHAKE256
    /// expands it into the ML-KEM-768 and X25519 keys).
    pub(crate) fn from_seed(seed: &[u8; xwing_size::SEED]) -> Self {
        XWingSecret(Box::new(DecapsulationKeyRejectNonContrib::new(
            Array::cast_from_core(seed),
        )))
    }

    /// The 32-byte seed: the whole secret. Callers export it explicitly.
    pub(crate) fn to_seed(&self) -> Secret32 {
        let mut seed = self.0.to_bytes();
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&seed);
        // The crate returns a plain array: wipe it here.
        seed.as_mut_slice().zeroize();
        out
    }

    /// `(address, length)` of the boxed key in memory (for `ct/` only): the
    /// crate's key struct, i.e. its 32-byte seed and its cached public
    /// encapsulation key (which decapsulation does not read: it expands the
    /// seed again each time).
    #[cfg(feature = "internals")]
    pub(crate) fn region(&self) -> (usize, usize) {
        let key: &DecapsulationKeyRejectNonContrib = &self.0;
        (
            core::ptr::from_ref(key) as usize,
            core::mem::size_of_val(key),
        )
    }

    /// The encapsulation key `pk_M || pk_X`.
    pub(crate) fn public(&self) -> [u8; xwing_size::PUBLIC] {
        self.0.encapsulation_key().to_bytes().0
    }

    /// X-Wing `Decaps`. Rejects an X25519 ciphertext `ct_X` whose product
    /// with the secret is zero (low order). ML-KEM's implicit rejection gives
    /// a pseudo-random secret for any other modified ciphertext, so a
    /// tampered wrap fails at the AEAD, with the same opaque error.
    pub(crate) fn decapsulate(
        &self,
        ciphertext: &[u8; xwing_size::CIPHERTEXT],
    ) -> Result<Secret32, Rejected> {
        let mut ss = self
            .0
            .try_decapsulate(Array::cast_from_core(ciphertext))
            .map_err(|_| Rejected)?;
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&ss);
        ss.as_mut_slice().zeroize();
        Ok(out)
    }
}

/// Parses and checks an X-Wing encapsulation key: the ML-KEM-768 part passes
/// FIPS 203 §7.2's input checks (the type check is the array length, the
/// modulus check is ml-kem's `EncapsulationKey::new`: every coefficient
/// decodes below q = 3329), and the X25519 part `pk_X` (the last 32 bytes,
/// draft-connolly-cfrg-xwing-kem §5.2 `pk = pk_M || pk_X`) is canonical and
/// not of low order ([`check_x25519_public`]). Both halves are always
/// checked and either failure is the same [`Rejected`].
fn parse_xwing_public(public: &[u8; xwing_size::PUBLIC]) -> Result<XWingPublic, Rejected> {
    let (_, x25519) = public.split_at(xwing_size::PUBLIC_MLKEM);
    let x25519: &[u8; 32] = x25519.try_into().map_err(|_| Rejected)?;
    let x25519_ok = check_x25519_public(x25519).is_ok();
    let key = XWingPublic::new(Array::cast_from_core(public));
    match key {
        Ok(key) if x25519_ok => Ok(key),
        _ => Err(Rejected),
    }
}

/// The public-key check of [`parse_xwing_public`], for callers that validate
/// a key when it is published or certified (public data only).
pub(crate) fn check_xwing_public(public: &[u8; xwing_size::PUBLIC]) -> Result<(), Rejected> {
    parse_xwing_public(public).map(|_| ())
}

/// X-Wing `Encaps` with caller-supplied randomness `eseed` (the first 32
/// bytes are ML-KEM's `m`, the last 32 the X25519 ephemeral secret), so that
/// fanseal draws it from the caller's RNG and vectors are reproducible. The
/// public key is checked first ([`check_xwing_public`]): with a canonical,
/// non-low-order `pk_X` and a clamped ephemeral scalar the X25519 output is
/// never zero. Returns `(ct_M || ct_X, shared secret)`.
pub(crate) fn xwing_encapsulate(
    public: &[u8; xwing_size::PUBLIC],
    randomness: &[u8; xwing_size::RANDOMNESS],
) -> Result<([u8; xwing_size::CIPHERTEXT], Secret32), Rejected> {
    let key = parse_xwing_public(public)?;
    let (ct, mut ss) = key.encapsulate_deterministic(Array::cast_from_core(randomness));
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&ss);
    ss.as_mut_slice().zeroize();
    Ok((ct.0, out))
}

/// Test-only oracles for the X-Wing conformance suites, with none of
/// fanseal's checks in front (kept here so this file stays the only one
/// naming the crates): ML-KEM-768 straight from ml-kem, for Wycheproof's
/// ML-KEM KATs (which start from the 64-byte ML-KEM seed `d || z`, not from
/// an X-Wing seed), and the X-Wing combiner over SHA3-256
/// (draft-connolly-cfrg-xwing-kem §5.3), to tie Wycheproof's ML-KEM shared
/// secrets to fanseal's X-Wing output.
#[cfg(test)]
pub(crate) mod xwing_oracle {
    use alloc::vec::Vec;
    use ml_kem::kem::{Decapsulate, KeyExport};
    use ml_kem::{FromSeed, MlKem768};

    type Ek = ml_kem::ml_kem_768::EncapsulationKey;

    /// `ML-KEM.KeyGen_internal(d, z)` from `seed = d || z`: `(ek, expanded dk)`.
    pub(crate) fn mlkem_keygen(seed: &[u8; 64]) -> ([u8; 1184], Vec<u8>) {
        let (dk, ek) = MlKem768::from_seed(&(*seed).into());
        #[allow(deprecated, reason = "Wycheproof lists the expanded form")]
        let expanded = ml_kem::ExpandedKeyEncoding::to_expanded_bytes(&dk);
        (ek.to_bytes().0, expanded.to_vec())
    }

    /// `ML-KEM.Decaps` with the key from `seed` (implicit rejection included).
    pub(crate) fn mlkem_decaps(seed: &[u8; 64], c: &[u8; 1088]) -> [u8; 32] {
        let (dk, _) = MlKem768::from_seed(&(*seed).into());
        dk.decapsulate(&(*c).into()).0
    }

    /// `ML-KEM.Decaps` with an expanded 2400-byte key, `None` if the key fails
    /// ml-kem's validation (FIPS 203 §7.3 hash check, ek modulus check).
    pub(crate) fn mlkem_decaps_expanded(dk: &[u8; 2400], c: &[u8; 1088]) -> Option<[u8; 32]> {
        #[allow(deprecated, reason = "Wycheproof lists the expanded form")]
        let dk = <ml_kem::ml_kem_768::DecapsulationKey as ml_kem::ExpandedKeyEncoding>::from_expanded_bytes(
            &(*dk).into(),
        )
        .ok()?;
        Some(dk.decapsulate(&(*c).into()).0)
    }

    /// `ML-KEM.Encaps_internal(ek, m)`, `None` if `ek` fails the §7.2 check.
    pub(crate) fn mlkem_encaps(ek: &[u8; 1184], m: &[u8; 32]) -> Option<([u8; 1088], [u8; 32])> {
        let ek = Ek::new(&(*ek).into()).ok()?;
        let (c, k) = ek.encapsulate_deterministic(&(*m).into());
        Some((c.0, k.0))
    }

    /// `SHA3-256(ss_M || ss_X || ct_X || pk_X || XWingLabel)`.
    pub(crate) fn xwing_combiner(
        ss_m: &[u8; 32],
        ss_x: &[u8; 32],
        ct_x: &[u8; 32],
        pk_x: &[u8; 32],
    ) -> [u8; 32] {
        use sha3::Digest;
        let mut h = sha3::Sha3_256::new();
        for part in [&ss_m[..], ss_x, ct_x, pk_x, br"\.//^\"] {
            h.update(part);
        }
        h.finalize().into()
    }
}

// ---------------------------------------------------------------- comparison

/// Constant-time equality of two byte strings of public length.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

// ---------------------------------------------------------------- attachments (SPEC.md §11)

/// HKDF-SHA512 Expand (RFC 5869 §2.3) with a 32-byte PRK, for C2SP chunked
/// encryption, whose PRK is the 32-byte input key itself.
///
/// The `hkdf` crate refuses a PRK shorter than the hash output (64 bytes).
/// HMAC (RFC 2104 §2) zero-pads any key shorter than the block size (128
/// bytes for SHA-512), so `prk || 0^32` is the same HMAC key as `prk`, and
/// the expansion is exactly HKDF-Expand(prk, info). The Wycheproof
/// Cobblestone vectors (which list the derived key and nonce) check it.
pub(crate) fn hkdf_sha512_expand_key32(
    prk: &[u8; 32],
    info_parts: &[&[u8]],
    out: &mut [u8],
) -> Result<(), Rejected> {
    let mut padded = Zeroizing::new([0u8; 64]);
    for (d, s) in padded.iter_mut().zip(prk.iter()) {
        *d = *s;
    }
    let hk = Hkdf::<sha2::Sha512>::from_prk(padded.as_slice()).map_err(|_| Rejected)?;
    hk.expand_multi_info(info_parts, out).map_err(|_| Rejected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_order_blocklist_equals_the_dh_definition() {
        // Every blocklisted key is low order by the DH definition ...
        for low in LOW_ORDER_CANONICAL {
            assert!(x25519_low_order_by_dh(&low));
        }
        // ... and no other canonical key is: a dense sweep of small values,
        // values near p, and a pseudo-random walk.
        let mut candidates: alloc::vec::Vec<[u8; 32]> = alloc::vec::Vec::new();
        for i in 0u16..512 {
            let mut k = [0u8; 32];
            k[..2].copy_from_slice(&i.to_le_bytes());
            candidates.push(k);
            let mut near_p = [0xffu8; 32];
            near_p[31] = 0x7f;
            near_p[0] = 0xec_u8.wrapping_sub((i % 256) as u8);
            near_p[1] = 0xff - (i / 256) as u8;
            candidates.push(near_p);
        }
        let mut state = [7u8; 32];
        for _ in 0..2048 {
            state = Sha256Stream::labeled(b"walk").tap(&state);
            let mut k = state;
            k[31] &= 0x7f;
            candidates.push(k);
        }
        for k in candidates.iter().filter(|k| x25519_is_canonical(k)) {
            assert_eq!(
                check_x25519_public(k).is_err(),
                x25519_low_order_by_dh(k),
                "{k:02x?}"
            );
        }
    }

    #[test]
    fn xwing_sizes_are_the_crate_s() {
        assert_eq!(xwing_size::PUBLIC, x_wing::ENCAPSULATION_KEY_SIZE);
        assert_eq!(xwing_size::CIPHERTEXT, x_wing::CIPHERTEXT_SIZE);
        assert_eq!(xwing_size::SEED, x_wing::DECAPSULATION_KEY_SIZE);
        assert_eq!(
            xwing_size::RANDOMNESS,
            x_wing::ENCAPSULATION_RANDOMNESS_SIZE
        );
    }

    #[test]
    fn xwing_secret_zeroize_on_drop_is_the_crate_s() {
        // XWingSecret's ZeroizeOnDrop marker relies on the boxed key wiping
        // its seed: DecapsulationKeyRejectNonContrib holds a DecapsulationKey,
        // which is ZeroizeOnDrop with the `zeroize` feature.
        fn zeroize_on_drop<T: ZeroizeOnDrop>() {}
        zeroize_on_drop::<x_wing::DecapsulationKey>();
        zeroize_on_drop::<XWingSecret>();
    }

    impl Sha256Stream {
        fn tap(mut self, bytes: &[u8]) -> [u8; 32] {
            self.update(bytes);
            self.finish()
        }
    }
}
