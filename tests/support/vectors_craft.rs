//! An independent, deliberately plain re-implementation of fanseal's wire
//! encodings, signatures and envelope construction, written from SPEC.md and
//! the module docs, directly on the primitive crates.
//!
//! The vector generator builds every expected output with it, without
//! calling fanseal, so `tests/vectors.rs` checks the library against a second
//! implementation (for example, `fanseal::seal` must reproduce each envelope
//! byte for byte). It also crafts the invalid vectors the library refuses to
//! build: a low-order device key with a valid signature, a ghost certificate
//! inside a signed list, a salamander wrap, wraps under an all-zero DH
//! output, a body re-signed by another recipient, a list re-signed with
//! another nonce. The checker reuses its byte-level helpers to recompute the
//! intermediate values of each envelope from the decap side.

#![allow(dead_code)]

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use ed25519_dalek::{Signer, SigningKey};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};

/// Labels (SPEC.md §2.3), each written as `u8 len || label`.
pub(crate) mod label {
    pub(crate) const CERTIFICATE_SIGNATURE: &[u8] = b"fanseal v2 device certificate signature";
    pub(crate) const DEVICE_LIST_SIGNATURE: &[u8] = b"fanseal v2 device list signature";
    pub(crate) const DEVICE_LIST_HASH: &[u8] = b"fanseal v2 device list hash";
    pub(crate) const RECIPIENT_BINDING: &[u8] = b"fanseal v2 recipient binding";
    pub(crate) const SAFETY_NUMBER: &[u8] = b"fanseal v2 safety number";
    pub(crate) const KEY_ID: &[u8] = b"fanseal v2 key id";
    pub(crate) const PREKEY_KEY_ID: &[u8] = b"fanseal v2 prekey key id";
    pub(crate) const ENVELOPE_CONTEXT: &[u8] = b"fanseal v2 envelope context";
    pub(crate) const ENVELOPE_HEADER: &[u8] = b"fanseal v2 envelope header";
    pub(crate) const MESSAGE_SECRET: &[u8] = b"fanseal v2 message secret";
    pub(crate) const COMMITMENT: &[u8] = b"fanseal v2 key commitment";
    pub(crate) const BODY_KEY: &[u8] = b"fanseal v2 body key";
    pub(crate) const BODY_NONCE: &[u8] = b"fanseal v2 body nonce";
    pub(crate) const WRAP_INFO: &[u8] = b"fanseal v2 wrap";
    pub(crate) const ENVELOPE_SIGNATURE: &[u8] = b"fanseal v2 envelope signature";
    pub(crate) const PREKEY_SIGNATURE: &[u8] = b"fanseal v2 signed prekey signature";
    pub(crate) const HYBRID_PREKEY_KEY_ID: &[u8] = b"fanseal v2 hybrid prekey key id";
    pub(crate) const HYBRID_RECIPIENT_BINDING: &[u8] = b"fanseal v2 hybrid recipient binding";
}

/// `u8 len || label`.
pub(crate) fn lp(label: &[u8]) -> Vec<u8> {
    let mut v = vec![u8::try_from(label.len()).unwrap()];
    v.extend_from_slice(label);
    v
}

pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Ed25519 signature by the key with `seed` over `lp(label) || message`.
pub(crate) fn sign(seed: &[u8; 32], label: &[u8], message: &[u8]) -> [u8; 64] {
    let mut m = lp(label);
    m.extend_from_slice(message);
    SigningKey::from_bytes(seed).sign(&m).to_bytes()
}

/// Like [`sign`], with another nonce: RFC 8032 derives `r` from the second
/// half of SHA-512(seed); replacing it by `hash_prefix` gives a different,
/// equally valid signature over the same bytes (what a randomized signer or
/// a re-run with another implementation produces).
pub(crate) fn sign_other_nonce(
    seed: &[u8; 32],
    label: &[u8],
    message: &[u8],
    hash_prefix: [u8; 32],
) -> [u8; 64] {
    use ed25519_dalek::hazmat::{raw_sign, ExpandedSecretKey};
    let h: [u8; 64] = sha2::Sha512::digest(seed).into();
    let mut esk = ExpandedSecretKey::from_bytes(&h);
    esk.hash_prefix = hash_prefix;
    let mut m = lp(label);
    m.extend_from_slice(message);
    let key = SigningKey::from_bytes(seed).verifying_key();
    raw_sign::<sha2::Sha512>(&esk, &m, &key).to_bytes()
}

/// The same type as `like`, from a small integer (names curve25519-dalek's
/// scalar type without depending on that crate).
fn scalar_from<S: From<u64>>(_like: &S, v: u64) -> S {
    S::from(v)
}

/// A signature over `lp(label) || message` by the key with `seed` whose `R`
/// is the neutral element (a point of small order) and `s = k·a mod ℓ`, with
/// `k = SHA-512(R || A || M)`: it satisfies the cofactorless equation
/// `[s]B = R + [k]A`, so a lax verifier accepts it, while strict
/// verification (SPEC.md §2.7: `R` not of small order) refuses it.
pub(crate) fn sign_small_order_r(seed: &[u8; 32], label: &[u8], message: &[u8]) -> [u8; 64] {
    use ed25519_dalek::hazmat::ExpandedSecretKey;
    use ed25519_dalek::Verifier;
    let h: [u8; 64] = sha2::Sha512::digest(seed).into();
    let a = ExpandedSecretKey::from_bytes(&h).scalar;
    let mut r = [0u8; 32];
    r[0] = 1;
    let public = ed25519_public(seed);
    let mut m = lp(label);
    m.extend_from_slice(message);
    let kh: [u8; 64] = sha2::Sha512::new()
        .chain_update(r)
        .chain_update(public)
        .chain_update(&m)
        .finalize()
        .into();
    let base = scalar_from(&a, 256);
    let mut k = scalar_from(&a, 0);
    for b in kh.iter().rev() {
        k = k * base + scalar_from(&a, u64::from(*b));
    }
    let s = k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r);
    sig[32..].copy_from_slice(&s.to_bytes());
    let key = ed25519_dalek::VerifyingKey::from_bytes(&public).unwrap();
    let parsed = ed25519_dalek::Signature::from_bytes(&sig);
    assert!(key.verify(&m, &parsed).is_ok(), "lax verification");
    assert!(
        key.verify_strict(&m, &parsed).is_err(),
        "strict verification"
    );
    sig
}

pub(crate) fn ed25519_public(seed: &[u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(seed).verifying_key().to_bytes()
}

pub(crate) fn x25519_public(secret: &[u8; 32]) -> [u8; 32] {
    x25519_dalek::x25519(*secret, x25519_dalek::X25519_BASEPOINT_BYTES)
}

/// Raw X25519 with no check of the output.
pub(crate) fn x25519(secret: &[u8; 32], public: &[u8; 32]) -> [u8; 32] {
    x25519_dalek::x25519(*secret, *public)
}

/// `SHA-256(lp("fanseal v2 key id") || account_public || x25519_public)[0..16]`
/// (SPEC.md §3.2).
pub(crate) fn key_id(account_public: &[u8; 32], x25519_public: &[u8; 32]) -> [u8; 16] {
    let d = sha256(&[&lp(label::KEY_ID), account_public, x25519_public]);
    d[..16].try_into().unwrap()
}

/// `SHA-256(lp("fanseal v2 prekey key id") || account_public || device_id ||
/// prekey_x25519)[0..16]` (SPEC.md §3.7): a prekey's key id names the device.
pub(crate) fn prekey_key_id_of(
    account_public: &[u8; 32],
    device_id: &[u8; 16],
    x25519_public: &[u8; 32],
) -> [u8; 16] {
    let d = sha256(&[
        &lp(label::PREKEY_KEY_ID),
        account_public,
        device_id,
        x25519_public,
    ]);
    d[..16].try_into().unwrap()
}

/// RFC 7748 §5 clamping: clear bits 0–2 of the first byte and bit 7 of the
/// last, set bit 6 of the last (SPEC.md §3.9 stores X25519 secrets so).
pub(crate) fn clamp(secret: &[u8; 32]) -> [u8; 32] {
    let mut s = *secret;
    s[0] &= 0xf8;
    s[31] &= 0x7f;
    s[31] |= 0x40;
    s
}

/// `b[0] & 7 = 0` and `b[31] & 0xc0 = 0x40` (SPEC.md §3.9 step 2).
pub(crate) fn is_clamped(secret: &[u8]) -> bool {
    secret[0] & 7 == 0 && secret[31] & 0xc0 == 0x40
}

/// SPEC.md §2.7: a valid X25519 public key is canonical (`u < 2^255 − 19`,
/// top bit clear) and `X25519(k, u)` is not zero for a clamped `k`.
pub(crate) fn x25519_valid(u: &[u8; 32]) -> bool {
    let top_clear = u[31] & 0x80 == 0;
    // u >= p = 2^255 - 19 exactly when bytes 1..31 are 0xff, byte 31 is 0x7f
    // and byte 0 is at least 0xed.
    let at_least_p = u[31] == 0x7f && u[1..31].iter().all(|b| *b == 0xff) && u[0] >= 0xed;
    top_clear && !at_least_p && x25519(&clamp(&[0x5a; 32]), u) != [0; 32]
}

/// SPEC.md §2.7: a valid Ed25519 public key decodes to a curve point, is
/// that point's canonical encoding and is not of small order.
pub(crate) fn ed25519_valid(public: &[u8; 32]) -> bool {
    match ed25519_dalek::VerifyingKey::from_bytes(public) {
        Ok(k) => !k.is_weak() && k.to_edwards().compress().to_bytes() == *public,
        Err(_) => false,
    }
}

/// Strict verification (SPEC.md §2.7) of `sig` over `lp(label) || message`
/// under `public`, which must be a valid key.
pub(crate) fn verify_strict(public: &[u8; 32], label: &[u8], message: &[u8], sig: &[u8]) -> bool {
    let Ok(sig) = <[u8; 64]>::try_from(sig) else {
        return false;
    };
    let mut m = lp(label);
    m.extend_from_slice(message);
    ed25519_valid(public)
        && ed25519_dalek::VerifyingKey::from_bytes(public)
            .unwrap()
            .verify_strict(&m, &ed25519_dalek::Signature::from_bytes(&sig))
            .is_ok()
}

// ------------------------------------------------------------ certificates

/// Steps 2–5 of certificate verification (SPEC.md §3.3) under the account
/// key the certificate itself names (step 1 holds trivially): the
/// `CertificateError` kind of the first that fails. Expiry is not checked.
pub(crate) fn certificate_own_check(certificate: &[u8]) -> Result<(), &'static str> {
    let account: [u8; 32] = certificate[4..36].try_into().unwrap();
    let x: [u8; 32] = certificate[52..84].try_into().unwrap();
    let ed: [u8; 32] = certificate[84..116].try_into().unwrap();
    if !ed25519_valid(&account) {
        return Err("CertificateError::InvalidAccountKey");
    }
    if !x25519_valid(&x) {
        return Err("CertificateError::InvalidX25519Key");
    }
    if !ed25519_valid(&ed) {
        return Err("CertificateError::InvalidEd25519Key");
    }
    if !verify_strict(
        &account,
        label::CERTIFICATE_SIGNATURE,
        &certificate[..136],
        &certificate[136..200],
    ) {
        return Err("CertificateError::BadSignature");
    }
    Ok(())
}

/// "Never expires" (SPEC.md §3.3).
pub(crate) const NEVER: u64 = u64::MAX;

/// Every certificate is 200 bytes (SPEC.md §3.3).
pub(crate) const CERTIFICATE_LEN: usize = 200;

/// `SHA-256(lp("fanseal v2 recipient binding") || account_public || device_id
/// || x25519_public)` (SPEC.md §4.5).
pub(crate) fn recipient_binding(
    account_public: &[u8; 32],
    device_id: &[u8; 16],
    x25519_public: &[u8; 32],
) -> [u8; 32] {
    sha256(&[
        &lp(label::RECIPIENT_BINDING),
        account_public,
        device_id,
        x25519_public,
    ])
}

/// The recipient binding of an encoded certificate (SPEC.md §3.3 layout:
/// account at 4..36, device id at 36..52, X25519 key at 52..84).
pub(crate) fn certificate_binding(certificate: &[u8]) -> [u8; 32] {
    let account: [u8; 32] = certificate[4..36].try_into().unwrap();
    let device_id: [u8; 16] = certificate[36..52].try_into().unwrap();
    let x25519: [u8; 32] = certificate[52..84].try_into().unwrap();
    recipient_binding(&account, &device_id, &x25519)
}

/// The key id of an encoded certificate (SPEC.md §3.2).
pub(crate) fn certificate_key_id(certificate: &[u8]) -> [u8; 16] {
    let account: [u8; 32] = certificate[4..36].try_into().unwrap();
    let x25519: [u8; 32] = certificate[52..84].try_into().unwrap();
    key_id(&account, &x25519)
}

/// Every field of a device certificate (SPEC.md §3.3), and the raw bytes of
/// the version, type and suite so that grease values can be written.
#[derive(Clone, Debug)]
pub(crate) struct Cert {
    pub(crate) version: u8,
    pub(crate) object_type: u8,
    pub(crate) suite: u16,
    pub(crate) account: [u8; 32],
    pub(crate) device_id: [u8; 16],
    pub(crate) x25519: [u8; 32],
    pub(crate) ed25519: [u8; 32],
    pub(crate) created_at: u64,
    /// Always present; `u64::MAX` means "never" (SPEC.md §3.3).
    pub(crate) expires_at: u64,
    pub(crate) capabilities: u32,
}

impl Cert {
    pub(crate) fn new(
        account: [u8; 32],
        device_id: [u8; 16],
        x25519: [u8; 32],
        ed25519: [u8; 32],
        created_at: u64,
        expires_at: Option<u64>,
        capabilities: u32,
    ) -> Self {
        Cert {
            version: 2,
            object_type: 1,
            suite: 1,
            account,
            device_id,
            x25519,
            ed25519,
            created_at,
            expires_at: expires_at.unwrap_or(NEVER),
            capabilities,
        }
    }

    /// The bytes the account signs.
    pub(crate) fn tbs(&self) -> Vec<u8> {
        let mut w = vec![self.version, self.object_type];
        w.extend_from_slice(&self.suite.to_be_bytes());
        w.extend_from_slice(&self.account);
        w.extend_from_slice(&self.device_id);
        w.extend_from_slice(&self.x25519);
        w.extend_from_slice(&self.ed25519);
        w.extend_from_slice(&self.created_at.to_be_bytes());
        w.extend_from_slice(&self.expires_at.to_be_bytes());
        w.extend_from_slice(&self.capabilities.to_be_bytes());
        w
    }

    /// The certificate signed by the account key with `seed`.
    pub(crate) fn signed(&self, seed: &[u8; 32]) -> Vec<u8> {
        let mut w = self.tbs();
        let sig = sign(seed, label::CERTIFICATE_SIGNATURE, &w);
        w.extend_from_slice(&sig);
        w
    }

    /// `expires_at` as the API presents it: `None` for "never".
    pub(crate) fn expiry(&self) -> Option<u64> {
        (self.expires_at != NEVER).then_some(self.expires_at)
    }
}

// ------------------------------------------------------------ device lists

/// Every field of a device list (SPEC.md §3.4). Certificates are written in
/// the order given (the generator writes unsorted lists on purpose).
#[derive(Clone, Debug)]
pub(crate) struct List {
    pub(crate) suite: u16,
    pub(crate) account: [u8; 32],
    pub(crate) version: u64,
    pub(crate) previous_hash: [u8; 32],
    pub(crate) issued_at: u64,
    pub(crate) certificates: Vec<Vec<u8>>,
}

impl List {
    pub(crate) fn tbs(&self) -> Vec<u8> {
        let mut w = vec![2u8, 2];
        w.extend_from_slice(&self.suite.to_be_bytes());
        w.extend_from_slice(&self.account);
        w.extend_from_slice(&self.version.to_be_bytes());
        w.extend_from_slice(&self.previous_hash);
        w.extend_from_slice(&self.issued_at.to_be_bytes());
        w.extend_from_slice(
            &u16::try_from(self.certificates.len())
                .unwrap()
                .to_be_bytes(),
        );
        for c in &self.certificates {
            w.extend_from_slice(c);
        }
        w
    }

    pub(crate) fn signed(&self, seed: &[u8; 32]) -> Vec<u8> {
        let mut w = self.tbs();
        let sig = sign(seed, label::DEVICE_LIST_SIGNATURE, &w);
        w.extend_from_slice(&sig);
        w
    }
}

/// `SHA-256(lp(L_hash) || TBS)`: the hash of a signed list's contents, every
/// byte before its 64-byte signature (SPEC.md §3.4).
pub(crate) fn list_hash(encoding: &[u8]) -> [u8; 32] {
    sha256(&[
        &lp(label::DEVICE_LIST_HASH),
        &encoding[..encoding.len() - 64],
    ])
}

/// Fixed bytes of a device list before the certificates (SPEC.md §3.4).
pub(crate) const LIST_HEAD_LEN: usize = 86;

/// The certificates of an encoded list (200 bytes each, after the head).
pub(crate) fn list_certificates(encoding: &[u8]) -> Vec<Vec<u8>> {
    encoding[LIST_HEAD_LEN..encoding.len() - 64]
        .chunks(CERTIFICATE_LEN)
        .map(<[u8]>::to_vec)
        .collect()
}

// ------------------------------------------------------------ signed prekeys

/// Every signed prekey is 196 bytes (SPEC.md §3.7).
pub(crate) const SIGNED_PREKEY_LEN: usize = 196;

/// `MAX_PREKEY_LIFETIME_MS` and `MAX_GRACE_MS`: 30 days (SPEC.md §2.5).
pub(crate) const MAX_PREKEY_LIFETIME_MS: u64 = 30 * 24 * 3600 * 1000;
pub(crate) const MAX_GRACE_MS: u64 = 30 * 24 * 3600 * 1000;
/// `MAX_PREKEY_CLOCK_SKEW_MS`: one hour (SPEC.md §2.5, §3.7 step 7, §4.9).
pub(crate) const MAX_PREKEY_CLOCK_SKEW_MS: u64 = 3600 * 1000;
/// `MAX_SEAL_PREKEYS` (SPEC.md §2.5, §5.1 step 6).
pub(crate) const MAX_SEAL_PREKEYS: usize = 4096;
/// `MAX_KEYRING_PREKEYS` and `MAX_KEYRING_RETIRED` (SPEC.md §2.5).
pub(crate) const MAX_KEYRING_PREKEYS: u64 = 32;
pub(crate) const MAX_KEYRING_RETIRED: usize = 8;

/// Every field of a signed prekey (SPEC.md §3.7), with the raw prefix and
/// suite so that grease values can be written.
#[derive(Clone, Debug)]
pub(crate) struct Prekey {
    pub(crate) version: u8,
    pub(crate) object_type: u8,
    pub(crate) suite: u16,
    pub(crate) account: [u8; 32],
    pub(crate) device_id: [u8; 16],
    /// The signer: the device's certified Ed25519 key.
    pub(crate) device_key: [u8; 32],
    pub(crate) x25519: [u8; 32],
    pub(crate) created_at: u64,
    pub(crate) expires_at: u64,
}

impl Prekey {
    pub(crate) fn new(
        account: [u8; 32],
        device_id: [u8; 16],
        device_key: [u8; 32],
        x25519: [u8; 32],
        created_at: u64,
        expires_at: u64,
    ) -> Self {
        Prekey {
            version: 2,
            object_type: 7,
            suite: 1,
            account,
            device_id,
            device_key,
            x25519,
            created_at,
            expires_at,
        }
    }

    /// Bytes 0..132, what the device signs.
    pub(crate) fn tbs(&self) -> Vec<u8> {
        let mut w = vec![self.version, self.object_type];
        w.extend_from_slice(&self.suite.to_be_bytes());
        w.extend_from_slice(&self.account);
        w.extend_from_slice(&self.device_id);
        w.extend_from_slice(&self.device_key);
        w.extend_from_slice(&self.x25519);
        w.extend_from_slice(&self.created_at.to_be_bytes());
        w.extend_from_slice(&self.expires_at.to_be_bytes());
        w
    }

    /// Signed by the device key with Ed25519 `seed` (the signer named in
    /// the prekey is not checked here: a vector may name another).
    pub(crate) fn signed(&self, seed: &[u8; 32]) -> Vec<u8> {
        self.signed_with_label(seed, label::PREKEY_SIGNATURE)
    }

    /// Signed under another label (label confusion vectors).
    pub(crate) fn signed_with_label(&self, seed: &[u8; 32], l: &[u8]) -> Vec<u8> {
        let mut w = self.tbs();
        let sig = sign(seed, l, &w);
        w.extend_from_slice(&sig);
        w
    }

    /// The prekey key id of `(account, device_id, prekey_x25519)` (SPEC.md §3.7).
    pub(crate) fn key_id(&self) -> [u8; 16] {
        prekey_key_id_of(&self.account, &self.device_id, &self.x25519)
    }

    /// `binding(account, device_id, prekey_x25519)` (SPEC.md §3.7, §4.5).
    pub(crate) fn binding(&self) -> [u8; 32] {
        recipient_binding(&self.account, &self.device_id, &self.x25519)
    }
}

/// The key id of an encoded signed prekey (account at 4..36, device id at
/// 36..52, prekey key at 84..84 + k; SPEC.md §3.7), of its suite (bytes
/// 2..4: `0x0002` is hybrid, anything else is read as classical).
pub(crate) fn prekey_key_id(prekey: &[u8]) -> [u8; 16] {
    if prekey[2..4] == [0, 2] {
        return hybrid_prekey_key_id_of(
            &prekey[4..36].try_into().unwrap(),
            &prekey[36..52].try_into().unwrap(),
            &prekey[84..84 + XWING_PUBLIC_LEN],
        );
    }
    prekey_key_id_of(
        &prekey[4..36].try_into().unwrap(),
        &prekey[36..52].try_into().unwrap(),
        &prekey[84..116].try_into().unwrap(),
    )
}

/// The length `k` of the prekey public key of an encoded signed prekey's
/// suite (SPEC.md §3.7).
pub(crate) fn prekey_key_len(prekey: &[u8]) -> usize {
    if prekey[2..4] == [0, 2] {
        XWING_PUBLIC_LEN
    } else {
        32
    }
}

/// `created_at` of an encoded signed prekey (at `84 + k`).
pub(crate) fn prekey_created_at(prekey: &[u8]) -> u64 {
    let at = 84 + prekey_key_len(prekey);
    u64::from_be_bytes(prekey[at..at + 8].try_into().unwrap())
}

/// `expires_at` of an encoded signed prekey (at `92 + k`).
pub(crate) fn prekey_expires_at(prekey: &[u8]) -> u64 {
    let at = 92 + prekey_key_len(prekey);
    u64::from_be_bytes(prekey[at..at + 8].try_into().unwrap())
}

// ------------------------------------------------------------ hybrid suite

/// X-Wing sizes (SPEC.md §2.4).
pub(crate) const XWING_PUBLIC_LEN: usize = 1216;
pub(crate) const XWING_CIPHERTEXT_LEN: usize = 1120;
/// Every hybrid signed prekey is 1,380 bytes (SPEC.md §3.7).
pub(crate) const HYBRID_SIGNED_PREKEY_LEN: usize = 1380;
/// A hybrid wrap: X-Wing ciphertext || 48-byte AEAD wrap (SPEC.md §4.1).
pub(crate) const HYBRID_WRAP_LEN: usize = XWING_CIPHERTEXT_LEN + 48;

/// X-Wing `DeriveKeyPair(seed)`'s public key `pk_M || pk_X`, from the
/// x-wing crate (the primitive).
pub(crate) fn xwing_public(seed: &[u8; 32]) -> Vec<u8> {
    use x_wing::{Decapsulator, KeyExport};
    let dk = x_wing::DecapsulationKey::from(*seed);
    dk.encapsulation_key().to_bytes().to_vec()
}

/// X-Wing `EncapsDerand(pk, eseed)`: `(ct_M || ct_X, shared_secret)`, from
/// the x-wing crate's deterministic encapsulation (no fanseal check in
/// front: the caller passes a valid key).
pub(crate) fn xwing_encaps(pk: &[u8], eseed: &[u8; 64]) -> (Vec<u8>, [u8; 32]) {
    use x_wing::kem::common::array::Array;
    let ek = x_wing::EncapsulationKey::try_from(pk).expect("a valid X-Wing public key");
    let (ct, ss) = ek.encapsulate_deterministic(Array::cast_from_core(eseed));
    (ct.to_vec(), ss.as_slice().try_into().unwrap())
}

/// X-Wing `Decaps(seed, ct)` (the crate's plain decapsulation, which accepts
/// a zero X25519 output; only used on honest ciphertexts here).
pub(crate) fn xwing_decaps(seed: &[u8; 32], ct: &[u8]) -> [u8; 32] {
    use x_wing::kem::common::array::Array;
    use x_wing::Decapsulate;
    let dk = x_wing::DecapsulationKey::from(*seed);
    let ct: &[u8; XWING_CIPHERTEXT_LEN] = ct.try_into().unwrap();
    let ss = dk.decapsulate(Array::cast_from_core(ct));
    ss.as_slice().try_into().unwrap()
}

/// FIPS 203 §7.2 modulus check of an ML-KEM-768 encapsulation key, written
/// here from the standard: the first 1,152 bytes are 768 12-bit
/// little-endian coefficients, each must be below q = 3329.
pub(crate) fn mlkem768_modulus_ok(pk_m: &[u8]) -> bool {
    pk_m[..1152].chunks(3).all(|c| {
        let a = u16::from(c[0]) | (u16::from(c[1] & 0x0f) << 8);
        let b = u16::from(c[1] >> 4) | (u16::from(c[2]) << 4);
        a < 3329 && b < 3329
    })
}

/// An X-Wing public key is valid (SPEC.md §2.7): the ML-KEM half passes the
/// modulus check and the X25519 half is canonical and not of low order.
pub(crate) fn xwing_public_valid(pk: &[u8]) -> bool {
    pk.len() == XWING_PUBLIC_LEN
        && mlkem768_modulus_ok(&pk[..1184])
        && x25519_valid(&pk[1184..].try_into().unwrap())
}

/// `SHA-256(lp("fanseal v2 hybrid prekey key id") || account_public ||
/// device_id || prekey_xwing)[0..16]` (SPEC.md §3.7).
pub(crate) fn hybrid_prekey_key_id_of(
    account_public: &[u8; 32],
    device_id: &[u8; 16],
    xwing_public: &[u8],
) -> [u8; 16] {
    let d = sha256(&[
        &lp(label::HYBRID_PREKEY_KEY_ID),
        account_public,
        device_id,
        xwing_public,
    ]);
    d[..16].try_into().unwrap()
}

/// `hybrid_binding(R) = SHA-256(lp("fanseal v2 hybrid recipient binding") ||
/// account_public || device_id || prekey_xwing)` (SPEC.md §4.5).
pub(crate) fn hybrid_recipient_binding(
    account_public: &[u8; 32],
    device_id: &[u8; 16],
    xwing_public: &[u8],
) -> [u8; 32] {
    sha256(&[
        &lp(label::HYBRID_RECIPIENT_BINDING),
        account_public,
        device_id,
        xwing_public,
    ])
}

/// Every field of a hybrid signed prekey (SPEC.md §3.7, suite `0x0002`,
/// `k` = 1,216), with the raw prefix and suite so that vectors can relabel.
#[derive(Clone, Debug)]
pub(crate) struct HybridPrekey {
    pub(crate) version: u8,
    pub(crate) object_type: u8,
    pub(crate) suite: u16,
    pub(crate) account: [u8; 32],
    pub(crate) device_id: [u8; 16],
    pub(crate) device_key: [u8; 32],
    /// `pk_M || pk_X`, 1,216 bytes.
    pub(crate) xwing: Vec<u8>,
    pub(crate) created_at: u64,
    pub(crate) expires_at: u64,
}

impl HybridPrekey {
    pub(crate) fn new(
        account: [u8; 32],
        device_id: [u8; 16],
        device_key: [u8; 32],
        xwing: Vec<u8>,
        created_at: u64,
        expires_at: u64,
    ) -> Self {
        assert_eq!(xwing.len(), XWING_PUBLIC_LEN);
        HybridPrekey {
            version: 2,
            object_type: 7,
            suite: 2,
            account,
            device_id,
            device_key,
            xwing,
            created_at,
            expires_at,
        }
    }

    /// Bytes `0 .. 100 + k`, what the device signs.
    pub(crate) fn tbs(&self) -> Vec<u8> {
        let mut w = vec![self.version, self.object_type];
        w.extend_from_slice(&self.suite.to_be_bytes());
        w.extend_from_slice(&self.account);
        w.extend_from_slice(&self.device_id);
        w.extend_from_slice(&self.device_key);
        w.extend_from_slice(&self.xwing);
        w.extend_from_slice(&self.created_at.to_be_bytes());
        w.extend_from_slice(&self.expires_at.to_be_bytes());
        w
    }

    pub(crate) fn signed(&self, seed: &[u8; 32]) -> Vec<u8> {
        self.signed_with_label(seed, label::PREKEY_SIGNATURE)
    }

    pub(crate) fn signed_with_label(&self, seed: &[u8; 32], l: &[u8]) -> Vec<u8> {
        let mut w = self.tbs();
        let sig = sign(seed, l, &w);
        w.extend_from_slice(&sig);
        w
    }

    pub(crate) fn key_id(&self) -> [u8; 16] {
        hybrid_prekey_key_id_of(&self.account, &self.device_id, &self.xwing)
    }

    pub(crate) fn binding(&self) -> [u8; 32] {
        hybrid_recipient_binding(&self.account, &self.device_id, &self.xwing)
    }
}

// ------------------------------------------------------------ keyring export

/// A device keyring export (SPEC.md §3.9), field by field. Entries are
/// written in the order held here: [`KeyringBytes::canonical`] sorts them the
/// way an honest export does; vectors may leave them unsorted.
#[derive(Clone, Debug)]
pub(crate) struct KeyringBytes {
    pub(crate) version: u8,
    pub(crate) object_type: u8,
    pub(crate) rotation_ms: u64,
    pub(crate) lifetime_ms: u64,
    pub(crate) grace_ms: u64,
    pub(crate) secret: [u8; 64],
    pub(crate) certificate: Vec<u8>,
    /// (32-byte X25519 secret, 200-byte certificate, retired_at), written
    /// as given (an honest export clamps it: [`KeyringBytes::clamped`])
    pub(crate) retired: Vec<([u8; 32], Vec<u8>, u64)>,
    /// (32-byte X25519 secret, 196-byte signed prekey)
    pub(crate) prekeys: Vec<([u8; 32], Vec<u8>)>,
    /// (32-byte X-Wing seed, 1,380-byte hybrid signed prekey), written
    /// after the count `h` that every export carries (SPEC.md §3.9)
    pub(crate) hybrid: Vec<([u8; 32], Vec<u8>)>,
}

impl KeyringBytes {
    /// Retired sets strictly ascending by `(retired_at, key id)`, prekeys by
    /// `(created_at, key id)` (SPEC.md §3.9).
    pub(crate) fn canonical(mut self) -> Self {
        self.retired
            .sort_by_key(|(_, c, at)| (*at, certificate_key_id(c)));
        self.prekeys
            .sort_by_key(|(_, p)| (prekey_created_at(p), prekey_key_id(p)));
        self.hybrid
            .sort_by_key(|(_, p)| (prekey_created_at(p), prekey_key_id(p)));
        self
    }

    /// Every X25519 secret clamped, as SPEC.md §3.9 writes them (the
    /// current key set's first 32 bytes, superseded sets, prekeys).
    pub(crate) fn clamped(mut self) -> Self {
        let x: [u8; 32] = self.secret[..32].try_into().unwrap();
        self.secret[..32].copy_from_slice(&clamp(&x));
        for (s, _, _) in &mut self.retired {
            *s = clamp(s);
        }
        for (s, _) in &mut self.prekeys {
            *s = clamp(s);
        }
        self
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = vec![self.version, self.object_type];
        w.extend_from_slice(&self.rotation_ms.to_be_bytes());
        w.extend_from_slice(&self.lifetime_ms.to_be_bytes());
        w.extend_from_slice(&self.grace_ms.to_be_bytes());
        w.extend_from_slice(&self.secret);
        w.extend_from_slice(&self.certificate);
        w.push(u8::try_from(self.retired.len()).unwrap());
        for (s, c, at) in &self.retired {
            w.extend_from_slice(s);
            w.extend_from_slice(c);
            w.extend_from_slice(&at.to_be_bytes());
        }
        w.push(u8::try_from(self.prekeys.len()).unwrap());
        for (s, p) in &self.prekeys {
            w.extend_from_slice(s);
            w.extend_from_slice(p);
        }
        w.push(u8::try_from(self.hybrid.len()).unwrap());
        for (s, p) in &self.hybrid {
            w.extend_from_slice(s);
            w.extend_from_slice(p);
        }
        w
    }
}

/// Offsets of a keyring export (SPEC.md §3.9).
pub(crate) mod keyring_offset {
    pub(crate) const POLICY: usize = 2;
    pub(crate) const SECRET: usize = 26;
    pub(crate) const CERTIFICATE: usize = 90;
    pub(crate) const RETIRED_COUNT: usize = 290;
    pub(crate) const RETIRED_LEN: usize = 32 + 200 + 8;
    pub(crate) const PREKEY_LEN: usize = 32 + 196;
    pub(crate) const HYBRID_PREKEY_LEN: usize = 32 + 1380;
}

// ------------------------------------------------------------ RFC 9180 wrap

const KEM_SUITE_ID: &[u8] = b"KEM\x00\x20";
const HPKE_SUITE_ID: &[u8] = b"HPKE\x00\x20\x00\x01\x00\x02";
/// `"HPKE" || 0x647a (X-Wing) || 0x0001 || 0x0002` (SPEC.md §4.5).
const HPKE_XWING_SUITE_ID: &[u8] = b"HPKE\x64\x7a\x00\x01\x00\x02";

fn labeled_extract(salt: &[u8], suite: &[u8], label: &[u8], ikm: &[u8]) -> [u8; 32] {
    let mut m = b"HPKE-v1".to_vec();
    m.extend_from_slice(suite);
    m.extend_from_slice(label);
    m.extend_from_slice(ikm);
    let (prk, _) = Hkdf::<Sha256>::extract(Some(salt), &m);
    prk.into()
}

fn labeled_expand(prk: &[u8; 32], suite: &[u8], label: &[u8], info: &[u8], len: usize) -> Vec<u8> {
    let mut m = u16::try_from(len).unwrap().to_be_bytes().to_vec();
    m.extend_from_slice(b"HPKE-v1");
    m.extend_from_slice(suite);
    m.extend_from_slice(label);
    m.extend_from_slice(info);
    let mut out = vec![0u8; len];
    Hkdf::<Sha256>::from_prk(prk)
        .unwrap()
        .expand(&m, &mut out)
        .unwrap();
    out
}

fn aes_gcm_seal(key: &[u8], nonce: &[u8], aad: &[u8], buf: &mut [u8]) -> [u8; 16] {
    let key: [u8; 32] = key.try_into().unwrap();
    let nonce: [u8; 12] = nonce.try_into().unwrap();
    Aes256Gcm::new(&key.into())
        .encrypt_inout_detached(&Nonce::from(nonce), aad, buf.into())
        .unwrap()
        .into()
}

/// The per-device wrap of `secret` (SPEC.md §4.5): DHKEM(X25519) shared
/// secret from the given DH output, base-mode key schedule with `info`,
/// AES-256-GCM at sequence 0 with empty AAD.
/// The RFC 9180 values behind one wrap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WrapKeys {
    /// DHKEM `shared_secret = ExtractAndExpand(dh, enc || pkR)`.
    pub(crate) shared_secret: Vec<u8>,
    /// Key-schedule AEAD key.
    pub(crate) key: Vec<u8>,
    /// Key-schedule base nonce (sequence 0 uses it unchanged).
    pub(crate) base_nonce: Vec<u8>,
}

/// DHKEM(X25519) shared secret from a DH output, then the base-mode key
/// schedule with `info` (SPEC.md §4.5).
pub(crate) fn wrap_keys(dh: &[u8; 32], enc: &[u8; 32], pk_r: &[u8; 32], info: &[u8]) -> WrapKeys {
    let eae_prk = labeled_extract(b"", KEM_SUITE_ID, b"eae_prk", dh);
    let mut kem_context = enc.to_vec();
    kem_context.extend_from_slice(pk_r);
    let ss = labeled_expand(&eae_prk, KEM_SUITE_ID, b"shared_secret", &kem_context, 32);
    let psk_id_hash = labeled_extract(b"", HPKE_SUITE_ID, b"psk_id_hash", b"");
    let info_hash = labeled_extract(b"", HPKE_SUITE_ID, b"info_hash", info);
    let mut ksc = vec![0u8];
    ksc.extend_from_slice(&psk_id_hash);
    ksc.extend_from_slice(&info_hash);
    let s = labeled_extract(&ss, HPKE_SUITE_ID, b"secret", b"");
    WrapKeys {
        key: labeled_expand(&s, HPKE_SUITE_ID, b"key", &ksc, 32),
        base_nonce: labeled_expand(&s, HPKE_SUITE_ID, b"base_nonce", &ksc, 12),
        shared_secret: ss,
    }
}

/// RFC 9180 `KeySchedule(mode_base, shared_secret, info, "", "")` for the
/// hybrid suite: `(key, base_nonce)` (SPEC.md §4.5, hybrid wrap).
pub(crate) fn hybrid_wrap_keys(shared_secret: &[u8; 32], info: &[u8]) -> WrapKeys {
    let psk_id_hash = labeled_extract(b"", HPKE_XWING_SUITE_ID, b"psk_id_hash", b"");
    let info_hash = labeled_extract(b"", HPKE_XWING_SUITE_ID, b"info_hash", info);
    let mut ksc = vec![0u8];
    ksc.extend_from_slice(&psk_id_hash);
    ksc.extend_from_slice(&info_hash);
    let s = labeled_extract(shared_secret, HPKE_XWING_SUITE_ID, b"secret", b"");
    WrapKeys {
        key: labeled_expand(&s, HPKE_XWING_SUITE_ID, b"key", &ksc, 32),
        base_nonce: labeled_expand(&s, HPKE_XWING_SUITE_ID, b"base_nonce", &ksc, 12),
        shared_secret: shared_secret.to_vec(),
    }
}

/// The per-device wrap of `secret` (SPEC.md §4.5): AES-256-GCM under the
/// wrap keys, sequence 0, with the recipient certificate's hash as the
/// associated data.
pub(crate) fn wrap_with_dh(
    dh: &[u8; 32],
    enc: &[u8; 32],
    pk_r: &[u8; 32],
    info: &[u8],
    aad: &[u8],
    secret: &[u8; 32],
) -> [u8; 48] {
    let k = wrap_keys(dh, enc, pk_r, info);
    let mut out = [0u8; 48];
    out[..32].copy_from_slice(secret);
    let tag = aes_gcm_seal(&k.key, &k.base_nonce, aad, &mut out[..32]);
    out[32..].copy_from_slice(&tag);
    out
}

/// AES-256-GCM decryption of `ct || tag`; `None` if the tag is wrong.
pub(crate) fn aes_gcm_open(key: &[u8], nonce: &[u8], aad: &[u8], ct_tag: &[u8]) -> Option<Vec<u8>> {
    let key: [u8; 32] = key.try_into().ok()?;
    let nonce: [u8; 12] = nonce.try_into().ok()?;
    let split = ct_tag.len().checked_sub(16)?;
    let (ct, tag) = ct_tag.split_at(split);
    let tag: [u8; 16] = tag.try_into().ok()?;
    let mut buf = ct.to_vec();
    Aes256Gcm::new(&key.into())
        .decrypt_inout_detached(
            &Nonce::from(nonce),
            aad,
            buf.as_mut_slice().into(),
            &tag.into(),
        )
        .ok()?;
    Some(buf)
}

/// `info` of every wrap of an envelope: `lp("fanseal v2 wrap") || header_hash`.
pub(crate) fn wrap_info(header_hash: &[u8; 32]) -> Vec<u8> {
    let mut info = lp(label::WRAP_INFO);
    info.extend_from_slice(header_hash);
    info
}

/// Context hash and header hash of an encoded envelope or delivery, read
/// from its bytes (SPEC.md §4.3).
pub(crate) fn header_hashes(bytes: &[u8]) -> Option<([u8; 32], [u8; 32])> {
    let n = usize::from(u16::from_be_bytes(
        bytes
            .get(offset::RECIPIENT_COUNT..offset::KEY_IDS)?
            .try_into()
            .ok()?,
    ));
    let mut m = vec![bytes.first().copied()?];
    m.extend_from_slice(bytes.get(offset::SUITE..offset::COMMITMENT)?);
    m.extend_from_slice(bytes.get(offset::RECIPIENT_COUNT..offset::wraps(n))?);
    let context = sha256(&[&lp(label::ENVELOPE_CONTEXT), &m]);
    let commitment = bytes.get(offset::COMMITMENT..offset::RECIPIENT_COUNT)?;
    let header = sha256(&[&lp(label::ENVELOPE_HEADER), &context, commitment]);
    Some((context, header))
}

/// Commitment, body key and body nonce of a message secret (SPEC.md §4.4).
pub(crate) fn message_keys(
    secret: &[u8; 32],
    context_hash: &[u8; 32],
) -> ([u8; 32], Vec<u8>, Vec<u8>) {
    let (prk, _) = Hkdf::<Sha256>::extract(Some(&lp(label::MESSAGE_SECRET)), secret);
    let expand = |l: &[u8], len: usize| {
        let mut info = lp(l);
        info.extend_from_slice(context_hash);
        let mut out = vec![0u8; len];
        Hkdf::<Sha256>::from_prk(&prk)
            .unwrap()
            .expand(&info, &mut out)
            .unwrap();
        out
    };
    let commitment: [u8; 32] = expand(label::COMMITMENT, 32).try_into().unwrap();
    (
        commitment,
        expand(label::BODY_KEY, 32),
        expand(label::BODY_NONCE, 12),
    )
}

// ------------------------------------------------------------ envelopes

impl CraftRecipient {
    /// An honest wrap of `secret` to the certificate key of an encoded
    /// certificate (SPEC.md §4.9 rule 3).
    pub(crate) fn to_certificate(certificate: &[u8], secret: [u8; 32]) -> Self {
        CraftRecipient {
            key_id: certificate_key_id(certificate),
            x25519: certificate[52..84].try_into().unwrap(),
            wrapped_secret: secret,
            dh_override: None,
            recipient_binding: certificate_binding(certificate),
        }
    }

    /// An honest wrap of `secret` to the X25519 key of an encoded signed
    /// prekey: its prekey key id (SPEC.md §3.7) and the binding
    /// `binding(account, device_id, prekey_x25519)` (SPEC.md §3.7, §4.9 rule 1).
    pub(crate) fn to_prekey(prekey: &[u8], secret: [u8; 32]) -> Self {
        let account: [u8; 32] = prekey[4..36].try_into().unwrap();
        let device_id: [u8; 16] = prekey[36..52].try_into().unwrap();
        let x25519: [u8; 32] = prekey[84..116].try_into().unwrap();
        CraftRecipient {
            key_id: prekey_key_id_of(&account, &device_id, &x25519),
            x25519,
            wrapped_secret: secret,
            dh_override: None,
            recipient_binding: recipient_binding(&account, &device_id, &x25519),
        }
    }
}

/// One recipient of a crafted envelope.
#[derive(Clone, Debug)]
pub(crate) struct CraftRecipient {
    pub(crate) key_id: [u8; 16],
    pub(crate) x25519: [u8; 32],
    /// The message secret written into this device's wrap (the honest value
    /// is the envelope's message secret).
    pub(crate) wrapped_secret: [u8; 32],
    /// Replace the DH output (an attacker who sends a low-order ephemeral
    /// key knows the DH output is all zero).
    pub(crate) dh_override: Option<[u8; 32]>,
    /// The wrap's AEAD associated data: the recipient binding of the
    /// recipient's certificate on the list the sender used (SPEC.md §4.5).
    pub(crate) recipient_binding: [u8; 32],
}

/// Everything that determines an envelope (SPEC.md §4).
#[derive(Clone, Debug)]
pub(crate) struct CraftEnvelope {
    pub(crate) version: u8,
    pub(crate) object_type: u8,
    pub(crate) suite: u16,
    pub(crate) message_id: [u8; 16],
    /// The sender's timestamp, inside the body (SPEC.md §4.7).
    pub(crate) timestamp: u64,
    pub(crate) ephemeral_secret: [u8; 32],
    /// Replace the ephemeral public key written in the header.
    pub(crate) ephemeral_public_override: Option<[u8; 32]>,
    pub(crate) message_secret: [u8; 32],
    /// In the order written (the honest order is ascending key id).
    pub(crate) recipients: Vec<CraftRecipient>,
    pub(crate) certificate: Vec<u8>,
    pub(crate) aad: Vec<u8>,
    pub(crate) payload: Vec<u8>,
    /// The payload length written in the body (honest: `payload.len()`).
    pub(crate) payload_len_field: Option<u32>,
    /// Ed25519 seed of the signing device.
    pub(crate) signer_seed: [u8; 32],
    /// Padded body plaintext length.
    pub(crate) padded_len: usize,
    /// Byte the padding is filled with (honest: 0).
    pub(crate) padding_byte: u8,
    /// Sign with a small-order `R` (see [`sign_small_order_r`]); honest: false.
    pub(crate) small_order_r: bool,
}

impl CraftEnvelope {
    pub(crate) fn ephemeral_public(&self) -> [u8; 32] {
        self.ephemeral_public_override
            .unwrap_or_else(|| x25519_public(&self.ephemeral_secret))
    }

    /// The unpadded body plaintext length `L` (SPEC.md §4.7).
    pub(crate) fn unpadded_len(&self) -> usize {
        self.certificate.len() + 8 + 4 + self.aad.len() + 4 + self.payload.len() + 64
    }

    fn body_len(&self) -> u32 {
        u32::try_from(self.padded_len + 16).unwrap()
    }

    /// Header fields after the suite, without the commitment.
    pub(crate) fn context_hash(&self) -> [u8; 32] {
        let mut m = vec![2u8];
        m.extend_from_slice(&self.suite.to_be_bytes());
        m.extend_from_slice(&self.message_id);
        m.extend_from_slice(&self.ephemeral_public());
        m.extend_from_slice(&u16::try_from(self.recipients.len()).unwrap().to_be_bytes());
        for r in &self.recipients {
            m.extend_from_slice(&r.key_id);
        }
        m.extend_from_slice(&self.body_len().to_be_bytes());
        sha256(&[&lp(label::ENVELOPE_CONTEXT), &m])
    }

    /// The encoded envelope.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let context_hash = self.context_hash();
        let (commitment, body_key, body_nonce) = message_keys(&self.message_secret, &context_hash);
        let header_hash = sha256(&[&lp(label::ENVELOPE_HEADER), &context_hash, &commitment]);
        let enc = self.ephemeral_public();

        let mut out = vec![self.version, self.object_type];
        out.extend_from_slice(&self.suite.to_be_bytes());
        out.extend_from_slice(&self.message_id);
        out.extend_from_slice(&enc);
        out.extend_from_slice(&commitment);
        out.extend_from_slice(&u16::try_from(self.recipients.len()).unwrap().to_be_bytes());
        for r in &self.recipients {
            out.extend_from_slice(&r.key_id);
        }
        out.extend_from_slice(&self.body_len().to_be_bytes());

        let mut info = lp(label::WRAP_INFO);
        info.extend_from_slice(&header_hash);
        for r in &self.recipients {
            let dh = r
                .dh_override
                .unwrap_or_else(|| x25519(&self.ephemeral_secret, &r.x25519));
            out.extend_from_slice(&wrap_with_dh(
                &dh,
                &enc,
                &r.x25519,
                &info,
                &r.recipient_binding,
                &r.wrapped_secret,
            ));
        }

        // Transcript and signature (SPEC.md §4.6).
        let timestamp = self.timestamp.to_be_bytes();
        let aad_len = u32::try_from(self.aad.len()).unwrap().to_be_bytes();
        let payload_len = u32::try_from(self.payload.len()).unwrap().to_be_bytes();
        let digest = sha256(&[
            &header_hash,
            &self.certificate,
            &timestamp,
            &aad_len,
            &self.aad,
            &payload_len,
            &self.payload,
        ]);
        let signature = if self.small_order_r {
            sign_small_order_r(&self.signer_seed, label::ENVELOPE_SIGNATURE, &digest)
        } else {
            sign(&self.signer_seed, label::ENVELOPE_SIGNATURE, &digest)
        };
        // Body plaintext (SPEC.md §4.7).
        let mut body = self.certificate.clone();
        body.extend_from_slice(&timestamp);
        body.extend_from_slice(&aad_len);
        body.extend_from_slice(&self.aad);
        let written_len = self.payload_len_field.map_or(payload_len, u32::to_be_bytes);
        body.extend_from_slice(&written_len);
        body.extend_from_slice(&self.payload);
        body.extend_from_slice(&signature);
        assert!(body.len() <= self.padded_len, "padded length too small");
        body.resize(self.padded_len, self.padding_byte);
        let tag = aes_gcm_seal(&body_key, &body_nonce, &header_hash, &mut body);
        out.extend_from_slice(&body);
        out.extend_from_slice(&tag);
        out
    }
}

/// Offsets into an encoded envelope or delivery with `n` recipient key ids.
pub(crate) mod offset {
    pub(crate) const VERSION: usize = 0;
    pub(crate) const OBJECT_TYPE: usize = 1;
    pub(crate) const SUITE: usize = 2;
    pub(crate) const MESSAGE_ID: usize = 4;
    pub(crate) const EPHEMERAL: usize = 20;
    pub(crate) const COMMITMENT: usize = 52;
    pub(crate) const RECIPIENT_COUNT: usize = 84;
    pub(crate) const KEY_IDS: usize = 86;

    pub(crate) fn body_len(n: usize) -> usize {
        KEY_IDS + 16 * n
    }

    pub(crate) fn wraps(n: usize) -> usize {
        body_len(n) + 4
    }

    /// Start of the body ciphertext of an envelope with `n` wraps.
    pub(crate) fn body(n: usize) -> usize {
        wraps(n) + 48 * n
    }
}

/// The decoding steps of SPEC.md §5.2 step 1 (with §4.2), for either suite:
/// `Ok(suite)`, or the first failing field's `DecodeError` kind and the
/// field SPEC.md names (`errorField`). Written from the SPEC to predict the
/// exact error of relabelled, truncated and padded envelopes and deliveries.
pub(crate) fn decode_envelope_model(b: &[u8]) -> Result<u16, (&'static str, Option<&'static str>)> {
    const MIN_BODY_LEN: u64 = 296;
    const MAX_BODY_LEN: u64 = 64 * 1024 * 1024 + 8 * 1024 * 1024 + 2 * 64 * 1024 + 16;
    let need = |at: usize, n: usize| -> Result<(), (&'static str, Option<&'static str>)> {
        if b.len() < at + n {
            Err(("Truncated", None))
        } else {
            Ok(())
        }
    };
    need(0, 1)?;
    if b[0] != 2 {
        return Err(("UnsupportedVersion", None));
    }
    need(1, 1)?;
    let delivery = match b[1] {
        3 => false,
        4 => true,
        _ => return Err(("WrongObjectType", None)),
    };
    need(2, 2)?;
    let suite = u16::from_be_bytes([b[2], b[3]]);
    if suite != 1 && suite != 2 {
        return Err(("UnsupportedSuite", None));
    }
    let mut at = 4;
    need(at, 16)?;
    at += 16;
    if suite == 1 {
        need(at, 32)?;
        let enc: [u8; 32] = b[at..at + 32].try_into().unwrap();
        // Canonical: top bit clear and u < 2^255 - 19.
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        let below_p = enc.iter().rev().cmp(p.iter().rev()) == std::cmp::Ordering::Less;
        if enc[31] & 0x80 != 0 || !below_p {
            return Err(("NonCanonical", None));
        }
        at += 32;
    }
    need(at, 32)?;
    at += 32;
    need(at, 2)?;
    let n = usize::from(u16::from_be_bytes([b[at], b[at + 1]]));
    at += 2;
    if n == 0 || n > 1024 {
        return Err(("OutOfRange", Some("recipient count")));
    }
    if b.len() - at < 16 * n {
        return Err(("Truncated", Some("recipient key ids")));
    }
    for i in 1..n {
        if b[at + 16 * i - 16..at + 16 * i] >= b[at + 16 * i..at + 16 * i + 16] {
            return Err(("NonCanonical", None));
        }
    }
    at += 16 * n;
    need(at, 4)?;
    let body_len = u64::from(u32::from_be_bytes(b[at..at + 4].try_into().unwrap()));
    at += 4;
    if !(MIN_BODY_LEN..=MAX_BODY_LEN).contains(&body_len) {
        return Err(("OutOfRange", Some("body length")));
    }
    let w = if suite == 1 { 48 } else { HYBRID_WRAP_LEN };
    let wraps = if delivery { w } else { w * n };
    if b.len() - at < wraps {
        return Err(("Truncated", Some("wraps")));
    }
    at += wraps;
    let body_len = usize::try_from(body_len).unwrap();
    if b.len() - at < body_len {
        return Err(("Truncated", Some("body ciphertext")));
    }
    at += body_len;
    if at < b.len() {
        return Err(("TrailingBytes", None));
    }
    Ok(suite)
}

// ------------------------------------------------------------ hybrid envelopes

/// One recipient of a crafted hybrid envelope: a hybrid signed prekey.
#[derive(Clone, Debug)]
pub(crate) struct CraftHybridRecipient {
    pub(crate) key_id: [u8; 16],
    /// The X-Wing public key wrapped to (1,216 bytes).
    pub(crate) xwing: Vec<u8>,
    /// The 64 bytes `eseed` of X-Wing `EncapsDerand` (SPEC.md §4.5).
    pub(crate) eseed: [u8; 64],
    /// The hybrid binding: the wrap's AEAD associated data.
    pub(crate) binding: [u8; 32],
}

impl CraftHybridRecipient {
    /// An honest recipient for an encoded hybrid signed prekey.
    pub(crate) fn to_prekey(prekey: &[u8], eseed: [u8; 64]) -> Self {
        let account: [u8; 32] = prekey[4..36].try_into().unwrap();
        let device_id: [u8; 16] = prekey[36..52].try_into().unwrap();
        let xwing = prekey[84..84 + XWING_PUBLIC_LEN].to_vec();
        CraftHybridRecipient {
            key_id: hybrid_prekey_key_id_of(&account, &device_id, &xwing),
            binding: hybrid_recipient_binding(&account, &device_id, &xwing),
            xwing,
            eseed,
        }
    }
}

/// The values behind one hybrid wrap (SPEC.md §4.5).
#[derive(Clone, Debug)]
pub(crate) struct HybridWrapValues {
    pub(crate) ciphertext: Vec<u8>,
    pub(crate) keys: WrapKeys,
    pub(crate) wrap: Vec<u8>,
}

/// Everything that determines an honest hybrid envelope (suite `0x0002`,
/// SPEC.md §4.1–4.7: no `enc`, one X-Wing ciphertext per wrap).
#[derive(Clone, Debug)]
pub(crate) struct CraftHybridEnvelope {
    pub(crate) message_id: [u8; 16],
    pub(crate) timestamp: u64,
    pub(crate) message_secret: [u8; 32],
    /// In ascending key-id order.
    pub(crate) recipients: Vec<CraftHybridRecipient>,
    pub(crate) certificate: Vec<u8>,
    pub(crate) aad: Vec<u8>,
    pub(crate) payload: Vec<u8>,
    pub(crate) signer_seed: [u8; 32],
    pub(crate) padded_len: usize,
}

impl CraftHybridEnvelope {
    fn body_len(&self) -> u32 {
        u32::try_from(self.padded_len + 16).unwrap()
    }

    /// `context_hash` without `enc` (SPEC.md §4.3).
    pub(crate) fn context_hash(&self) -> [u8; 32] {
        let mut m = vec![2u8];
        m.extend_from_slice(&2u16.to_be_bytes());
        m.extend_from_slice(&self.message_id);
        m.extend_from_slice(&u16::try_from(self.recipients.len()).unwrap().to_be_bytes());
        for r in &self.recipients {
            m.extend_from_slice(&r.key_id);
        }
        m.extend_from_slice(&self.body_len().to_be_bytes());
        sha256(&[&lp(label::ENVELOPE_CONTEXT), &m])
    }

    /// `(commitment, header_hash)`.
    pub(crate) fn hashes(&self) -> ([u8; 32], [u8; 32]) {
        let context_hash = self.context_hash();
        let (commitment, _, _) = message_keys(&self.message_secret, &context_hash);
        let header_hash = sha256(&[&lp(label::ENVELOPE_HEADER), &context_hash, &commitment]);
        (commitment, header_hash)
    }

    /// Each recipient's wrap: `X-Wing.EncapsDerand(pkR, eseed)`, the key
    /// schedule with the X-Wing suite id, AES-256-GCM with the hybrid
    /// binding.
    pub(crate) fn wraps(&self) -> Vec<HybridWrapValues> {
        let (_, header_hash) = self.hashes();
        let info = wrap_info(&header_hash);
        self.recipients
            .iter()
            .map(|r| {
                let (ciphertext, ss) = xwing_encaps(&r.xwing, &r.eseed);
                let keys = hybrid_wrap_keys(&ss, &info);
                let mut buf = self.message_secret;
                let tag = aes_gcm_seal(&keys.key, &keys.base_nonce, &r.binding, &mut buf);
                let mut wrap = ciphertext.clone();
                wrap.extend_from_slice(&buf);
                wrap.extend_from_slice(&tag);
                HybridWrapValues {
                    ciphertext,
                    keys,
                    wrap,
                }
            })
            .collect()
    }

    /// The padded body plaintext (SPEC.md §4.6, §4.7).
    pub(crate) fn body_plaintext(&self) -> Vec<u8> {
        let (_, header_hash) = self.hashes();
        let timestamp = self.timestamp.to_be_bytes();
        let aad_len = u32::try_from(self.aad.len()).unwrap().to_be_bytes();
        let payload_len = u32::try_from(self.payload.len()).unwrap().to_be_bytes();
        let digest = sha256(&[
            &header_hash,
            &self.certificate,
            &timestamp,
            &aad_len,
            &self.aad,
            &payload_len,
            &self.payload,
        ]);
        let signature = sign(&self.signer_seed, label::ENVELOPE_SIGNATURE, &digest);
        let mut body = self.certificate.clone();
        body.extend_from_slice(&timestamp);
        body.extend_from_slice(&aad_len);
        body.extend_from_slice(&self.aad);
        body.extend_from_slice(&payload_len);
        body.extend_from_slice(&self.payload);
        body.extend_from_slice(&signature);
        assert!(body.len() <= self.padded_len, "padded length too small");
        body.resize(self.padded_len, 0);
        body
    }

    /// The header after the prefix: suite, message id, commitment, key ids,
    /// body length.
    pub(crate) fn header(&self) -> Vec<u8> {
        let (commitment, _) = self.hashes();
        let mut out = 2u16.to_be_bytes().to_vec();
        out.extend_from_slice(&self.message_id);
        out.extend_from_slice(&commitment);
        out.extend_from_slice(&u16::try_from(self.recipients.len()).unwrap().to_be_bytes());
        for r in &self.recipients {
            out.extend_from_slice(&r.key_id);
        }
        out.extend_from_slice(&self.body_len().to_be_bytes());
        out
    }

    /// The body ciphertext.
    pub(crate) fn body_ciphertext(&self) -> Vec<u8> {
        let context_hash = self.context_hash();
        let (_, body_key, body_nonce) = message_keys(&self.message_secret, &context_hash);
        let (_, header_hash) = self.hashes();
        let mut body = self.body_plaintext();
        let tag = aes_gcm_seal(&body_key, &body_nonce, &header_hash, &mut body);
        body.extend_from_slice(&tag);
        body
    }

    /// The encoded envelope.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = vec![2u8, 3];
        out.extend_from_slice(&self.header());
        for w in self.wraps() {
            out.extend_from_slice(&w.wrap);
        }
        out.extend_from_slice(&self.body_ciphertext());
        out
    }

    /// The delivery for recipient `i` (SPEC.md §4.8).
    pub(crate) fn delivery(&self, i: usize) -> Vec<u8> {
        let mut out = vec![2u8, 4];
        out.extend_from_slice(&self.header());
        out.extend_from_slice(&self.wraps()[i].wrap);
        out.extend_from_slice(&self.body_ciphertext());
        out
    }
}

/// Offsets into an encoded hybrid envelope or delivery with `n` key ids.
pub(crate) mod hybrid_offset {
    pub(crate) const SUITE: usize = 2;
    pub(crate) const MESSAGE_ID: usize = 4;
    pub(crate) const COMMITMENT: usize = 20;
    pub(crate) const RECIPIENT_COUNT: usize = 52;
    pub(crate) const KEY_IDS: usize = 54;

    pub(crate) fn wraps(n: usize) -> usize {
        KEY_IDS + 16 * n + 4
    }
}

// ------------------------------------------------------------ sessions (SPEC.md §15)

/// The labels of SPEC.md §2.3 for sender-key sessions.
pub(crate) mod session_label {
    pub(crate) const CHAIN_KEY: &[u8] = b"fanseal v2 session chain key";
    pub(crate) const MESSAGE_KEY: &[u8] = b"fanseal v2 session message key";
    pub(crate) const BINDING: &[u8] = b"fanseal v2 session binding";
    pub(crate) const CONTEXT: &[u8] = b"fanseal v2 session context";
    pub(crate) const HEADER: &[u8] = b"fanseal v2 session header";
    pub(crate) const MESSAGE_SECRET: &[u8] = b"fanseal v2 session message secret";
    pub(crate) const COMMITMENT: &[u8] = b"fanseal v2 session key commitment";
    pub(crate) const BODY_KEY: &[u8] = b"fanseal v2 session body key";
    pub(crate) const BODY_NONCE: &[u8] = b"fanseal v2 session body nonce";
    pub(crate) const SIGNATURE: &[u8] = b"fanseal v2 session message signature";
    pub(crate) const STATE_CHECK: &[u8] = b"fanseal v2 session state check";
    pub(crate) const CONTENT: &[u8] = b"fanseal v2 session content";
    pub(crate) const RANDOM: &[u8] = b"fanseal v2 session random";
    pub(crate) const CONVERSATION: &[u8] = b"fanseal v2 session conversation";
    pub(crate) const SESSION_ID: &[u8] = b"fanseal v2 session id";
}

fn expand_prk(prk: &[u8], info: &[&[u8]], len: usize) -> Vec<u8> {
    let info: Vec<u8> = info.concat();
    let mut out = vec![0u8; len];
    Hkdf::<Sha256>::from_prk(prk)
        .unwrap()
        .expand(&info, &mut out)
        .unwrap();
    out
}

fn u32_len(n: usize) -> [u8; 4] {
    u32::try_from(n).unwrap().to_be_bytes()
}

/// One chain step (SPEC.md §15.2): `(MK_i, CK_{i+1})` from `CK_i`.
pub(crate) fn session_chain_step(ck: &[u8; 32]) -> ([u8; 32], [u8; 32]) {
    let mk = expand_prk(ck, &[&lp(session_label::MESSAGE_KEY)], 32);
    let next = expand_prk(ck, &[&lp(session_label::CHAIN_KEY)], 32);
    (mk.try_into().unwrap(), next.try_into().unwrap())
}

/// `CK_{i+steps}` from `CK_i`.
pub(crate) fn session_chain_forward(ck: &[u8; 32], steps: u32) -> [u8; 32] {
    let mut c = *ck;
    for _ in 0..steps {
        c = session_chain_step(&c).1;
    }
    c
}

/// The session id (SPEC.md §15.4).
pub(crate) fn session_id(
    account: &[u8; 32],
    device_id: &[u8; 16],
    ed25519: &[u8; 32],
    conversation: &[u8],
    seed: &[u8; 16],
) -> [u8; 16] {
    sha256(&[
        &lp(session_label::SESSION_ID),
        account,
        device_id,
        ed25519,
        &u32_len(conversation.len()),
        conversation,
        seed,
    ])[..16]
        .try_into()
        .unwrap()
}

/// The session id of a session owned by the device of an encoded certificate.
pub(crate) fn session_id_of(certificate: &[u8], conversation: &[u8], seed: &[u8; 16]) -> [u8; 16] {
    session_id(
        certificate[4..36].try_into().unwrap(),
        certificate[36..52].try_into().unwrap(),
        certificate[84..116].try_into().unwrap(),
        conversation,
        seed,
    )
}

/// The session binding (SPEC.md §15.2).
pub(crate) fn session_binding(
    ed25519: &[u8; 32],
    session_id: &[u8; 16],
    conversation: &[u8],
) -> [u8; 32] {
    sha256(&[
        &lp(session_label::BINDING),
        ed25519,
        session_id,
        &u32_len(conversation.len()),
        conversation,
    ])
}

/// The slot digest of a conversation id (SPEC.md §15.4, the store).
pub(crate) fn conversation_digest(conversation: &[u8]) -> [u8; 32] {
    sha256(&[&lp(session_label::CONVERSATION), conversation])
}

/// `SHA-256(lp("fanseal v2 session state check") || bytes)` (SPEC.md §15.7).
pub(crate) fn session_state_check(bytes: &[u8]) -> [u8; 32] {
    sha256(&[&lp(session_label::STATE_CHECK), bytes])
}

/// A session message (SPEC.md §15.3), every input explicit, with the
/// knobs a forger has.
#[derive(Clone, Debug)]
pub(crate) struct SessionMsg {
    pub(crate) session_id: [u8; 16],
    pub(crate) index: u32,
    /// `MK_index` (the receiver's and the sender's).
    pub(crate) message_key: [u8; 32],
    pub(crate) binding: [u8; 32],
    pub(crate) rng32: [u8; 32],
    pub(crate) timestamp: u64,
    pub(crate) aad: Vec<u8>,
    pub(crate) payload: Vec<u8>,
    pub(crate) padded_len: usize,
    /// Ed25519 seed of the signer; `None` leaves the signature out.
    pub(crate) signer_seed: Option<[u8; 32]>,
    pub(crate) padding_byte: u8,
    /// Replace the commitment written on the wire.
    pub(crate) commitment_override: Option<[u8; 32]>,
    /// Flip bit 0 of this ciphertext byte after encrypting.
    pub(crate) flip_ciphertext: Option<usize>,
}

/// Everything a session message derives, and its bytes.
#[derive(Clone, Debug)]
pub(crate) struct SessionMsgOut {
    pub(crate) content: [u8; 32],
    pub(crate) random: [u8; 32],
    pub(crate) context_hash: [u8; 32],
    pub(crate) commitment: [u8; 32],
    pub(crate) body_key: Vec<u8>,
    pub(crate) body_nonce: Vec<u8>,
    pub(crate) header_hash: [u8; 32],
    pub(crate) signature: [u8; 64],
    pub(crate) bytes: Vec<u8>,
}

/// `L = 80 + a + p` (SPEC.md §15.3).
pub(crate) fn session_body_len(aad: &[u8], payload: &[u8]) -> usize {
    80 + aad.len() + payload.len()
}

impl SessionMsg {
    pub(crate) fn build(&self) -> SessionMsgOut {
        let c = u32_len(self.padded_len + 16);
        let content = sha256(&[
            &lp(session_label::CONTENT),
            &self.timestamp.to_be_bytes(),
            &u32_len(self.aad.len()),
            &self.aad,
            &u32_len(self.payload.len()),
            &self.payload,
            &c,
        ]);
        let (prk_r, _) = Hkdf::<Sha256>::extract(Some(&self.rng32), &self.message_key);
        let random: [u8; 32] = expand_prk(&prk_r, &[&lp(session_label::RANDOM), &content], 32)
            .try_into()
            .unwrap();
        let context_hash = sha256(&[
            &lp(session_label::CONTEXT),
            &[2u8, 8, 0, 1],
            &self.session_id,
            &self.index.to_be_bytes(),
            &random,
            &c,
            &self.binding,
        ]);
        let (prk, _) =
            Hkdf::<Sha256>::extract(Some(&lp(session_label::MESSAGE_SECRET)), &self.message_key);
        let commitment: [u8; 32] =
            expand_prk(&prk, &[&lp(session_label::COMMITMENT), &context_hash], 32)
                .try_into()
                .unwrap();
        let body_key = expand_prk(&prk, &[&lp(session_label::BODY_KEY), &context_hash], 32);
        let body_nonce = expand_prk(&prk, &[&lp(session_label::BODY_NONCE), &context_hash], 12);
        let commitment_written = self.commitment_override.unwrap_or(commitment);
        let header_hash = sha256(&[
            &lp(session_label::HEADER),
            &context_hash,
            &commitment_written,
        ]);
        let mut signed = header_hash.to_vec();
        signed.extend_from_slice(&content);
        let signature = self
            .signer_seed
            .map_or([0u8; 64], |s| sign(&s, session_label::SIGNATURE, &signed));
        let mut body = self.timestamp.to_be_bytes().to_vec();
        body.extend_from_slice(&u32_len(self.aad.len()));
        body.extend_from_slice(&self.aad);
        body.extend_from_slice(&u32_len(self.payload.len()));
        body.extend_from_slice(&self.payload);
        if self.signer_seed.is_some() {
            body.extend_from_slice(&signature);
        }
        assert!(body.len() <= self.padded_len, "padded length too small");
        body.resize(self.padded_len, self.padding_byte);
        let tag = aes_gcm_seal(&body_key, &body_nonce, &header_hash, &mut body);
        body.extend_from_slice(&tag);
        if let Some(i) = self.flip_ciphertext {
            body[i] ^= 1;
        }
        let mut bytes = vec![2u8, 8, 0, 1];
        bytes.extend_from_slice(&self.session_id);
        bytes.extend_from_slice(&self.index.to_be_bytes());
        bytes.extend_from_slice(&random);
        bytes.extend_from_slice(&commitment_written);
        bytes.extend_from_slice(&c);
        bytes.extend_from_slice(&body);
        SessionMsgOut {
            content,
            random,
            context_hash,
            commitment,
            body_key,
            body_nonce,
            header_hash,
            signature,
            bytes,
        }
    }
}

/// A distribution payload (SPEC.md §15.4), field by field.
#[derive(Clone, Debug)]
pub(crate) struct DistributionBytes {
    pub(crate) version: u8,
    pub(crate) object_type: u8,
    pub(crate) suite: u16,
    pub(crate) seed: [u8; 16],
    pub(crate) index: u32,
    pub(crate) chain_key: [u8; 32],
    pub(crate) created_at: u64,
    pub(crate) max_messages: u32,
    pub(crate) max_age_ms: u64,
    pub(crate) conversation: Vec<u8>,
}

impl DistributionBytes {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = vec![self.version, self.object_type];
        w.extend_from_slice(&self.suite.to_be_bytes());
        w.extend_from_slice(&self.seed);
        w.extend_from_slice(&self.index.to_be_bytes());
        w.extend_from_slice(&self.chain_key);
        w.extend_from_slice(&self.created_at.to_be_bytes());
        w.extend_from_slice(&self.max_messages.to_be_bytes());
        w.extend_from_slice(&self.max_age_ms.to_be_bytes());
        w.extend_from_slice(&u32_len(self.conversation.len()));
        w.extend_from_slice(&self.conversation);
        w
    }
}

/// An outbound session export (SPEC.md §15.7), field by field; `encode`
/// appends the state check.
#[derive(Clone, Debug)]
pub(crate) struct OutboundExport {
    pub(crate) suite: u16,
    pub(crate) session_id: [u8; 16],
    pub(crate) owner_ed25519: [u8; 32],
    pub(crate) next_index: u32,
    pub(crate) chain_key: [u8; 32],
    pub(crate) created_at: u64,
    pub(crate) max_messages: u32,
    pub(crate) max_age_ms: u64,
    pub(crate) removed: u8,
    /// Written in the order held (honest: ascending).
    pub(crate) recipients: Vec<[u8; 16]>,
    pub(crate) conversation: Vec<u8>,
    pub(crate) seed: [u8; 16],
}

impl OutboundExport {
    /// Every byte before the state check.
    pub(crate) fn body(&self) -> Vec<u8> {
        let mut w = vec![2u8, 0x23];
        w.extend_from_slice(&self.suite.to_be_bytes());
        w.extend_from_slice(&self.session_id);
        w.extend_from_slice(&self.owner_ed25519);
        w.extend_from_slice(&self.next_index.to_be_bytes());
        w.extend_from_slice(&self.chain_key);
        w.extend_from_slice(&self.created_at.to_be_bytes());
        w.extend_from_slice(&self.max_messages.to_be_bytes());
        w.extend_from_slice(&self.max_age_ms.to_be_bytes());
        w.push(self.removed);
        w.extend_from_slice(&u16::try_from(self.recipients.len()).unwrap().to_be_bytes());
        for r in &self.recipients {
            w.extend_from_slice(r);
        }
        w.extend_from_slice(&u32_len(self.conversation.len()));
        w.extend_from_slice(&self.conversation);
        w.extend_from_slice(&self.seed);
        w
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        with_state_check(self.body())
    }
}

/// `bytes || state_check(bytes)`.
pub(crate) fn with_state_check(mut bytes: Vec<u8>) -> Vec<u8> {
    let c = session_state_check(&bytes);
    bytes.extend_from_slice(&c);
    bytes
}

/// An inbound session export (SPEC.md §15.8), field by field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InboundExport {
    pub(crate) suite: u16,
    pub(crate) owner_account: [u8; 32],
    pub(crate) owner_device: [u8; 16],
    pub(crate) sender_certificate: Vec<u8>,
    pub(crate) session_id: [u8; 16],
    pub(crate) created_at: u64,
    pub(crate) max_messages: u32,
    pub(crate) max_age_ms: u64,
    pub(crate) conversation: Vec<u8>,
    pub(crate) first_index: u32,
    pub(crate) next_index: u32,
    pub(crate) chain_key: [u8; 32],
    /// Written in the order held (honest: ascending).
    pub(crate) skipped: Vec<(u32, [u8; 32])>,
}

impl InboundExport {
    pub(crate) fn body(&self) -> Vec<u8> {
        let mut w = vec![2u8, 0x24];
        w.extend_from_slice(&self.suite.to_be_bytes());
        w.extend_from_slice(&self.owner_account);
        w.extend_from_slice(&self.owner_device);
        w.extend_from_slice(&self.sender_certificate);
        w.extend_from_slice(&self.session_id);
        w.extend_from_slice(&self.created_at.to_be_bytes());
        w.extend_from_slice(&self.max_messages.to_be_bytes());
        w.extend_from_slice(&self.max_age_ms.to_be_bytes());
        w.extend_from_slice(&u32_len(self.conversation.len()));
        w.extend_from_slice(&self.conversation);
        w.extend_from_slice(&self.first_index.to_be_bytes());
        w.extend_from_slice(&self.next_index.to_be_bytes());
        w.extend_from_slice(&self.chain_key);
        w.extend_from_slice(&u16::try_from(self.skipped.len()).unwrap().to_be_bytes());
        for (i, k) in &self.skipped {
            w.extend_from_slice(&i.to_be_bytes());
            w.extend_from_slice(k);
        }
        w
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        with_state_check(self.body())
    }

    /// The slot key (SPEC.md §15.4): sender account, device id, digest.
    pub(crate) fn slot_key(&self) -> Vec<u8> {
        let mut k = self.sender_certificate[4..52].to_vec();
        k.extend_from_slice(&conversation_digest(&self.conversation));
        k
    }
}

/// One slot of a receiving store export (SPEC.md §15.8, type `0x25`).
#[derive(Clone, Debug)]
pub(crate) struct StoreSlot {
    /// 80 bytes: sender account, sender device id, conversation digest.
    pub(crate) key: Vec<u8>,
    /// 0 none, 1 a floor, 2 a floor raised by a conflicting distribution.
    pub(crate) floor_flag: u8,
    pub(crate) floor: u64,
    /// Each session's `0x24` export, in the order written.
    pub(crate) sessions: Vec<Vec<u8>>,
}

/// A receiving store export; `encode` appends the state check.
pub(crate) fn store_body(
    owner_account: &[u8; 32],
    owner_device: &[u8; 16],
    forgotten_floor: Option<u64>,
    slots: &[StoreSlot],
) -> Vec<u8> {
    let mut w = vec![2u8, 0x25, 0, 1];
    w.extend_from_slice(owner_account);
    w.extend_from_slice(owner_device);
    w.push(u8::from(forgotten_floor.is_some()));
    w.extend_from_slice(&forgotten_floor.unwrap_or(0).to_be_bytes());
    w.extend_from_slice(&u16::try_from(slots.len()).unwrap().to_be_bytes());
    for s in slots {
        w.extend_from_slice(&s.key);
        w.push(s.floor_flag);
        w.extend_from_slice(&s.floor.to_be_bytes());
        w.push(u8::try_from(s.sessions.len()).unwrap());
        for x in &s.sessions {
            w.extend_from_slice(&u32_len(x.len()));
            w.extend_from_slice(x);
        }
    }
    w
}
