//! prekeys.json: signed prekeys (SPEC.md §3.7), the device keyring and its
//! export (§3.8, §3.9), and sealing to prekeys without fallback (§4.9, §5.1
//! step 7, §5.2 step 2).
//!
//! Every expected output is built here and in `vectors_craft.rs` from the
//! SPEC, without fanseal: prekeys are encoded and signed by the craft code,
//! keyrings are a plain model of the §3.8 operations written out in the §3.9
//! layout, and envelopes are built by `CraftEnvelope` with the wrap key of
//! each device chosen by the §4.9 rules below.

use serde_json::{json, Value};

use super::craft::{
    self, keyring_offset as ko, offset, CraftEnvelope, CraftRecipient, KeyringBytes, List, Prekey,
    MAX_GRACE_MS, MAX_KEYRING_PREKEYS, MAX_KEYRING_RETIRED, MAX_PREKEY_CLOCK_SKEW_MS,
    MAX_PREKEY_LIFETIME_MS, MAX_SEAL_PREKEYS,
};
use super::identity::{
    bad_ed25519, low_order_x25519, non_canonical_s, non_canonical_x25519, Account, Device,
};
use super::{bytes, file_rng, hx, padme, Group, VectorFile, NOW, YEAR};

const DAY: u64 = 24 * 3600 * 1000;
const SKEW: u64 = MAX_PREKEY_CLOCK_SKEW_MS;
/// `CAPABILITY_PREKEYS` (SPEC.md §3.3).
const CAP_PREKEYS: u32 = 1;
/// `CAPABILITY_HYBRID` (SPEC.md §3.3 bit 1).
const CAP_HYBRID: u32 = 2;

// ------------------------------------------------------------ keyring model

/// A prekey policy `(R, L, G)` (SPEC.md §3.8).
#[derive(Clone, Copy, Debug)]
struct Policy {
    r: u64,
    l: u64,
    g: u64,
}

const DEFAULT_POLICY: Policy = Policy {
    r: 2 * DAY,
    l: 7 * DAY,
    g: 7 * DAY,
};

impl Policy {
    fn json(self) -> Value {
        json!({"rotationPeriodMs": self.r, "lifetimeMs": self.l, "graceMs": self.g})
    }

    /// `0 < R`, `2R ≤ L ≤ MAX_PREKEY_LIFETIME_MS`, `G ≤ MAX_GRACE_MS`,
    /// `⌈(L + G) / R⌉ + 1 ≤ MAX_KEYRING_PREKEYS` (SPEC.md §3.8), written as
    /// the SPEC states it.
    #[allow(clippy::int_plus_one)]
    fn valid(self) -> bool {
        let (r, l, g) = (u128::from(self.r), u128::from(self.l), u128::from(self.g));
        0 < r
            && 2 * r <= l
            && l <= u128::from(MAX_PREKEY_LIFETIME_MS)
            && g <= u128::from(MAX_GRACE_MS)
            && (l + g).div_ceil(r) + 1 <= u128::from(MAX_KEYRING_PREKEYS)
    }
}

fn public_keys(secret: &[u8; 64]) -> ([u8; 32], [u8; 32]) {
    (
        craft::x25519_public(&secret[..32].try_into().unwrap()),
        craft::ed25519_public(&secret[32..].try_into().unwrap()),
    )
}

fn cert_keys(cert: &[u8]) -> ([u8; 32], [u8; 32]) {
    (
        cert[52..84].try_into().unwrap(),
        cert[84..116].try_into().unwrap(),
    )
}

fn cert_caps(cert: &[u8]) -> u32 {
    u32::from_be_bytes(cert[132..136].try_into().unwrap())
}

fn x_secret(secret: &[u8; 64]) -> [u8; 32] {
    secret[..32].try_into().unwrap()
}

/// A plain model of a device keyring and its operations (SPEC.md §3.8),
/// exported in the layout of §3.9. Refusals return the expected error and
/// change nothing.
#[derive(Clone, Debug)]
struct Model {
    policy: Policy,
    secret: [u8; 64],
    cert: Vec<u8>,
    /// Superseded key sets: only the X25519 secret is kept (SPEC.md §3.8).
    retired: Vec<([u8; 32], Vec<u8>, u64)>,
    prekeys: Vec<([u8; 32], Vec<u8>)>,
}

impl Model {
    /// Create (SPEC.md §3.8): `KeyMismatch`, then the certificate's own
    /// verification (§3.3 steps 1–5), as `CertificateError`s.
    fn create(secret: [u8; 64], cert: Vec<u8>) -> Result<Self, String> {
        if public_keys(&secret) != cert_keys(&cert) {
            return Err("CertificateError::KeyMismatch".into());
        }
        craft::certificate_own_check(&cert)?;
        Ok(Model {
            policy: DEFAULT_POLICY,
            secret,
            cert,
            retired: Vec::new(),
            prekeys: Vec::new(),
        })
    }

    fn new(secret: [u8; 64], cert: Vec<u8>) -> Self {
        Self::create(secret, cert).unwrap()
    }

    /// Key ids of the key sets: the current and superseded certificates'.
    fn key_set_ids(&self) -> Vec<[u8; 16]> {
        std::iter::once(&self.cert)
            .chain(self.retired.iter().map(|(_, c, _)| c))
            .map(|c| craft::certificate_key_id(c))
            .collect()
    }

    fn held_key_ids(&self) -> Vec<[u8; 16]> {
        let mut ids = self.key_set_ids();
        ids.extend(self.prekeys.iter().map(|(_, p)| craft::prekey_key_id(p)));
        ids
    }

    fn set_policy(&mut self, p: Policy) -> Result<(), String> {
        if !p.valid() {
            return Err("KeyringError::InvalidPolicy".into());
        }
        self.policy = p;
        Ok(())
    }

    /// Rotate at `now`; `drawn` is consulted only once the checks before
    /// the draw passed (returns whether it was drawn).
    fn rotate(&mut self, now: u64, drawn: [u8; 32]) -> (Result<Vec<u8>, String>, bool) {
        if self.prekeys.len() as u64 >= MAX_KEYRING_PREKEYS {
            return (Err("KeyringError::Full".into()), false);
        }
        let Some(expires) = now.checked_add(self.policy.l).filter(|t| *t != u64::MAX) else {
            return (Err("KeyringError::InvalidPolicy".into()), false);
        };
        let seed: [u8; 32] = self.secret[32..].try_into().unwrap();
        let p = Prekey::new(
            self.cert[4..36].try_into().unwrap(),
            self.cert[36..52].try_into().unwrap(),
            craft::ed25519_public(&seed),
            craft::x25519_public(&drawn),
            now,
            expires,
        )
        .signed(&seed);
        if self.held_key_ids().contains(&craft::prekey_key_id(&p)) {
            return (Err("KeyringError::SameKeys".into()), true);
        }
        self.prekeys.push((drawn, p.clone()));
        (Ok(p), true)
    }

    /// The current prekey at `now` (SPEC.md §3.8 Rotate): the greatest
    /// `(created_at, key id)` among the held prekeys signed by the current
    /// Ed25519 key with `created_at ≤ now` and not expired at `now`; and
    /// whether a rotation is due.
    fn current(&self, now: u64) -> (Option<Vec<u8>>, bool) {
        let signer = cert_keys(&self.cert).1;
        let best = self
            .prekeys
            .iter()
            .map(|(_, p)| p)
            .filter(|p| p[52..84] == signer && u64_at(p, 116) <= now && u64_at(p, 124) > now)
            .max_by_key(|p| (u64_at(p, 116), craft::prekey_key_id(p)))
            .cloned();
        let due = match &best {
            None => true,
            Some(p) => now >= u64_at(p, 116).saturating_add(self.policy.r),
        };
        (best, due)
    }

    fn same_device(&self, cert: &[u8]) -> bool {
        cert[4..52] == self.cert[4..52]
    }

    /// Re-key (SPEC.md §3.8): WrongDevice, KeyMismatch, Certificate(e),
    /// SameKeys, Full.
    fn rekey(&mut self, secret: [u8; 64], cert: Vec<u8>, now: u64) -> Result<(), String> {
        if !self.same_device(&cert) {
            return Err("KeyringError::WrongDevice".into());
        }
        if public_keys(&secret) != cert_keys(&cert) {
            return Err("KeyringError::KeyMismatch".into());
        }
        craft::certificate_own_check(&cert)
            .map_err(|e| format!("KeyringError::Certificate({e})"))?;
        let (x, ed) = cert_keys(&cert);
        let held = std::iter::once(&self.cert)
            .chain(self.retired.iter().map(|(_, c, _)| c))
            .any(|c| cert_keys(c).0 == x || cert_keys(c).1 == ed);
        if held
            || self
                .key_set_ids()
                .contains(&craft::certificate_key_id(&cert))
        {
            return Err("KeyringError::SameKeys".into());
        }
        if self.retired.len() >= MAX_KEYRING_RETIRED {
            return Err("KeyringError::Full".into());
        }
        let old_secret = std::mem::replace(&mut self.secret, secret);
        let old_cert = std::mem::replace(&mut self.cert, cert);
        self.retired.push((x_secret(&old_secret), old_cert, now));
        Ok(())
    }

    /// Renew (SPEC.md §3.8): WrongDevice, KeyMismatch, CapabilityChange,
    /// Certificate(e).
    fn renew(&mut self, cert: Vec<u8>) -> Result<(), String> {
        if !self.same_device(&cert) {
            return Err("KeyringError::WrongDevice".into());
        }
        if cert_keys(&cert) != cert_keys(&self.cert) {
            return Err("KeyringError::KeyMismatch".into());
        }
        // Bits 0 and 1 (CAPABILITY_PREKEYS, CAPABILITY_HYBRID) may not change.
        let kept = CAP_PREKEYS | CAP_HYBRID;
        if cert_caps(&cert) & kept != cert_caps(&self.cert) & kept {
            return Err("KeyringError::CapabilityChange".into());
        }
        craft::certificate_own_check(&cert)
            .map_err(|e| format!("KeyringError::Certificate({e})"))?;
        self.cert = cert;
        Ok(())
    }

    fn delete(&mut self, now: u64) -> usize {
        let g = self.policy.g;
        let before = self.prekeys.len() + self.retired.len();
        self.prekeys
            .retain(|(_, p)| u64_at(p, 124).saturating_add(g) > now);
        self.retired.retain(|(_, _, at)| at.saturating_add(g) > now);
        before - self.prekeys.len() - self.retired.len()
    }

    /// The §3.9 fields, entries in canonical order, secrets clamped.
    fn bytes(&self) -> KeyringBytes {
        KeyringBytes {
            version: 2,
            object_type: 0x20,
            rotation_ms: self.policy.r,
            lifetime_ms: self.policy.l,
            grace_ms: self.policy.g,
            secret: self.secret,
            certificate: self.cert.clone(),
            retired: self.retired.clone(),
            prekeys: self.prekeys.clone(),
            hybrid: Vec::new(),
        }
        .canonical()
        .clamped()
    }

    fn export(&self) -> Vec<u8> {
        let b = self.bytes().encode();
        assert_eq!(import_model(&b), Ok(()), "the model's own export loads");
        b
    }
}

// ------------------------------------------------------------ §3.7, §3.9 models

/// Decoding the fixed-size objects of SPEC.md §3.3 and §3.7 from the start
/// of `b` (`len` bytes; §2.1 prefix, §2.2 suite, then the fixed fields):
/// the `DecodeError` kind of the first field that fails.
fn decode_fixed(b: &[u8], object_type: u8, len: usize) -> Result<(), &'static str> {
    if b.is_empty() {
        return Err("Truncated");
    }
    if b[0] != 2 {
        return Err("UnsupportedVersion");
    }
    if b.len() < 2 {
        return Err("Truncated");
    }
    if b[1] != object_type {
        return Err("WrongObjectType");
    }
    if b.len() < 4 {
        return Err("Truncated");
    }
    if b[2..4] != [0, 1] {
        return Err("UnsupportedSuite");
    }
    if b.len() < len {
        return Err("Truncated");
    }
    Ok(())
}

/// Decoding then verification of a signed prekey against a device
/// certificate at `now` (SPEC.md §3.7 steps 1–8): the error kind.
fn verify_prekey_model(p: &[u8], cert: &[u8], now: u64) -> Result<(), String> {
    let (len, hybrid) = decode_prekey(p).map_err(|e| format!("DecodeError::{e}"))?;
    if p.len() > len {
        return Err("DecodeError::TrailingBytes".into());
    }
    assert!(!hybrid, "a model of classical prekeys");
    verify_decoded_prekey(p, cert, now).map_err(|e| format!("PrekeyError::{e}"))
}

fn verify_decoded_prekey(p: &[u8], cert: &[u8], now: u64) -> Result<(), &'static str> {
    if p[4..36] != cert[4..36] {
        return Err("WrongAccount");
    }
    if p[36..52] != cert[36..52] {
        return Err("WrongDevice");
    }
    if p[52..84] != cert[84..116] {
        return Err("WrongDeviceKey");
    }
    if !craft::x25519_valid(&p[84..116].try_into().unwrap()) {
        return Err("InvalidX25519Key");
    }
    let signer: [u8; 32] = p[52..84].try_into().unwrap();
    if !craft::verify_strict(
        &signer,
        craft::label::PREKEY_SIGNATURE,
        &p[..132],
        &p[132..],
    ) {
        return Err("BadSignature");
    }
    if !lifetime_valid(p) {
        return Err("InvalidLifetime");
    }
    if u64_at(p, 116) > now.saturating_add(SKEW) {
        return Err("NotYetValid");
    }
    if u64_at(p, 124) <= now {
        return Err("Expired");
    }
    Ok(())
}

/// SPEC.md §3.7 step 6 (either suite).
pub(crate) fn lifetime_valid(p: &[u8]) -> bool {
    let (c, e) = (craft::prekey_created_at(p), craft::prekey_expires_at(p));
    c < e && e - c <= MAX_PREKEY_LIFETIME_MS
}

/// The list form (SPEC.md §3.7): the list's account, the device with the
/// prekey's device id, then steps 1–8 against its certificate.
fn verify_prekey_list_model(p: &[u8], list: &[u8], now: u64) -> Result<(), String> {
    let (len, hybrid) = decode_prekey(p).map_err(|e| format!("DecodeError::{e}"))?;
    if p.len() > len {
        return Err("DecodeError::TrailingBytes".into());
    }
    assert!(!hybrid, "a model of classical prekeys");
    if p[4..36] != list[4..36] {
        return Err("PrekeyError::WrongAccount".into());
    }
    let Some(cert) = craft::list_certificates(list)
        .into_iter()
        .find(|c| c[36..52] == p[36..52])
    else {
        return Err("PrekeyError::UnknownDevice".into());
    };
    verify_decoded_prekey(p, &cert, now).map_err(|e| format!("PrekeyError::{e}"))
}

/// The first failure of loading a keyring export (SPEC.md §3.9 steps 1–5):
/// `(DecodeError kind, errorField or errorWhat)`.
pub(crate) type ImportError = (&'static str, Option<&'static str>);

pub(crate) fn import_model(b: &[u8]) -> Result<(), ImportError> {
    const CLAMP: ImportError = ("NonCanonical", Some("X25519 secret not clamped"));
    let inc = |w: &'static str| -> ImportError { ("Inconsistent", Some(w)) };
    // Step 1.
    if b.is_empty() {
        return Err(("Truncated", None));
    }
    if b[0] != 2 {
        return Err(("UnsupportedVersion", None));
    }
    if b.len() < 2 {
        return Err(("Truncated", None));
    }
    if b[1] != 0x20 {
        return Err(("WrongObjectType", None));
    }
    for (end, field) in [
        (10, "rotation period"),
        (18, "prekey lifetime"),
        (26, "grace period"),
    ] {
        if b.len() < end {
            return Err(("Truncated", Some(field)));
        }
    }
    let policy = Policy {
        r: u64_at(b, 2),
        l: u64_at(b, 10),
        g: u64_at(b, 18),
    };
    if !policy.valid() {
        return Err(inc("keyring policy"));
    }
    // Step 2.
    if b.len() < ko::CERTIFICATE {
        return Err(("Truncated", None));
    }
    if !craft::is_clamped(&b[ko::SECRET..ko::SECRET + 32]) {
        return Err(CLAMP);
    }
    decode_fixed(&b[ko::CERTIFICATE..], 1, 200).map_err(|e| (e, None))?;
    let secret: [u8; 64] = b[ko::SECRET..ko::CERTIFICATE].try_into().unwrap();
    let cert = &b[ko::CERTIFICATE..ko::RETIRED_COUNT];
    if public_keys(&secret) != cert_keys(cert) {
        return Err(inc("device secret and certificate"));
    }
    if craft::certificate_own_check(cert).is_err() {
        return Err(inc("certificate signature"));
    }
    // Step 3.
    let mut at = ko::RETIRED_COUNT;
    let Some(&r) = b.get(at) else {
        return Err(("Truncated", Some("retired count")));
    };
    at += 1;
    if usize::from(r) > MAX_KEYRING_RETIRED {
        return Err(("OutOfRange", Some("retired count")));
    }
    if b.len() - at < usize::from(r) * ko::RETIRED_LEN {
        return Err(("Truncated", Some("retired keys")));
    }
    let mut key_sets: Vec<&[u8]> = vec![cert];
    let mut prev: Option<(u64, [u8; 16])> = None;
    for _ in 0..r {
        let e = &b[at..at + ko::RETIRED_LEN];
        at += ko::RETIRED_LEN;
        if !craft::is_clamped(&e[..32]) {
            return Err(CLAMP);
        }
        let c = &e[32..232];
        decode_fixed(c, 1, 200).map_err(|e| (e, None))?;
        if craft::x25519_public(&e[..32].try_into().unwrap()) != cert_keys(c).0 {
            return Err(inc("device secret and certificate"));
        }
        if craft::certificate_own_check(c).is_err() {
            return Err(inc("certificate signature"));
        }
        let retired_at = u64_at(e, 232);
        if c[4..52] != cert[4..52] {
            return Err(inc("retired keys of another device"));
        }
        let order = (retired_at, craft::certificate_key_id(c));
        if prev.is_some_and(|p| p >= order) {
            return Err(("NonCanonical", Some("retired keys order")));
        }
        prev = Some(order);
        let (x, ed) = cert_keys(c);
        if key_sets
            .iter()
            .any(|k| cert_keys(k).0 == x || cert_keys(k).1 == ed)
        {
            return Err(inc("device keys held twice"));
        }
        key_sets.push(c);
    }
    // Steps 4 and 5: the classical, then the hybrid prekeys.
    let mut ids: Vec<[u8; 16]> = key_sets
        .iter()
        .map(|c| craft::certificate_key_id(c))
        .collect();
    import_prekey_section(b, &mut at, false, cert, &mut ids)?;
    import_prekey_section(b, &mut at, true, cert, &mut ids)?;
    // Step 6.
    if at < b.len() {
        return Err(("TrailingBytes", None));
    }
    Ok(())
}

/// Decoding a signed prekey (SPEC.md §3.7) from the start of `b`: its
/// suite decides its length (196 or 1,380 bytes), `Truncated` when it does
/// not fit. Returns `(length, hybrid)`.
pub(crate) fn decode_prekey(b: &[u8]) -> Result<(usize, bool), &'static str> {
    decode_fixed_suites(b, 7, &[1, 2])?;
    let hybrid = b[2..4] == [0, 2];
    let len = if hybrid {
        craft::HYBRID_SIGNED_PREKEY_LEN
    } else {
        craft::SIGNED_PREKEY_LEN
    };
    if b.len() < len {
        return Err("Truncated");
    }
    Ok((len, hybrid))
}

/// The prefix and suite checks of [`decode_fixed`], with the suites the
/// object allows.
fn decode_fixed_suites(b: &[u8], object_type: u8, suites: &[u16]) -> Result<(), &'static str> {
    if b.is_empty() {
        return Err("Truncated");
    }
    if b[0] != 2 {
        return Err("UnsupportedVersion");
    }
    if b.len() < 2 {
        return Err("Truncated");
    }
    if b[1] != object_type {
        return Err("WrongObjectType");
    }
    if b.len() < 4 {
        return Err("Truncated");
    }
    if !suites.contains(&u16_at(b, 2)) {
        return Err("UnsupportedSuite");
    }
    Ok(())
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes(b[at..at + 2].try_into().unwrap())
}

/// One prekey section of a keyring export (SPEC.md §3.9 step 4, or step 5
/// with `hybrid`), from `*at`; `ids` are the key ids held so far.
fn import_prekey_section(
    b: &[u8],
    at: &mut usize,
    hybrid: bool,
    cert: &[u8],
    ids: &mut Vec<[u8; 16]>,
) -> Result<(), ImportError> {
    const CLAMP: ImportError = ("NonCanonical", Some("X25519 secret not clamped"));
    let inc = |w: &'static str| -> ImportError { ("Inconsistent", Some(w)) };
    let (count_field, entry_len) = if hybrid {
        ("hybrid prekey count", ko::HYBRID_PREKEY_LEN)
    } else {
        ("prekey count", ko::PREKEY_LEN)
    };
    let Some(&n) = b.get(*at) else {
        return Err(("Truncated", Some(count_field)));
    };
    *at += 1;
    if u64::from(n) > MAX_KEYRING_PREKEYS {
        return Err(("OutOfRange", Some(count_field)));
    }
    if b.len() - *at < usize::from(n) * entry_len {
        return Err(("Truncated", Some("prekeys")));
    }
    let mut prev: Option<(u64, [u8; 16])> = None;
    for _ in 0..n {
        if b.len() - *at < 32 {
            return Err(("Truncated", None));
        }
        let secret: [u8; 32] = b[*at..*at + 32].try_into().unwrap();
        *at += 32;
        if !hybrid && !craft::is_clamped(&secret) {
            return Err(CLAMP);
        }
        // SPEC.md §3.9 steps 4–5: the entry's suite field (bytes 2–3 of the
        // signed prekey) is read before its layout is decoded.
        let other: [u8; 2] = if hybrid { [0, 1] } else { [0, 2] };
        if b.len() - *at >= 4 && b[*at + 2..*at + 4] == other {
            return Err(("NonCanonical", Some("prekey of the other suite's section")));
        }
        let (len, _) = decode_prekey(&b[*at..]).map_err(|e| (e, None))?;
        let p = &b[*at..*at + len];
        *at += len;
        let id = craft::prekey_key_id(p);
        let order = (craft::prekey_created_at(p), id);
        if prev.is_some_and(|q| q >= order) {
            return Err(("NonCanonical", Some("prekeys order")));
        }
        prev = Some(order);
        if p[4..52] != cert[4..52] {
            return Err(inc("prekey of another device"));
        }
        let k = craft::prekey_key_len(p);
        let public = if hybrid {
            craft::xwing_public(&secret)
        } else {
            craft::x25519_public(&secret).to_vec()
        };
        if public[..] != p[84..84 + k] {
            return Err(inc("prekey secret and public key"));
        }
        if !lifetime_valid(p) {
            return Err(inc("prekey lifetime"));
        }
        let signer: [u8; 32] = p[52..84].try_into().unwrap();
        if !craft::verify_strict(
            &signer,
            craft::label::PREKEY_SIGNATURE,
            &p[..100 + k],
            &p[100 + k..],
        ) {
            return Err(inc("prekey signature"));
        }
        if ids.contains(&id) {
            return Err(inc("key held twice"));
        }
        ids.push(id);
    }
    Ok(())
}

// ------------------------------------------------------------ the world

struct Dev {
    name: &'static str,
    account: &'static str,
    device: Device,
    cert: Vec<u8>,
}

struct NamedPrekey {
    name: &'static str,
    device: &'static str,
    bytes: Vec<u8>,
}

struct World {
    accounts: Vec<(&'static str, Account)>,
    /// (list name, account name, encoded list)
    lists: Vec<(&'static str, &'static str, Vec<u8>)>,
    devices: Vec<Dev>,
    prekeys: Vec<NamedPrekey>,
    keyrings: Vec<(&'static str, &'static str, Model)>,
}

impl World {
    fn new(rng: &mut rand_chacha::ChaCha20Rng) -> Self {
        let mut accounts = Vec::new();
        for name in ["alice", "bob", "carol"] {
            accounts.push((name, Account::new(rng)));
        }
        let acct =
            |accounts: &[(&str, Account)], n: &str| accounts.iter().find(|a| a.0 == n).unwrap().1;
        // (account, device, expiry, capabilities)
        let plan: [(&str, &str, Option<u64>, u32); 8] = [
            ("alice", "alice-phone", None, CAP_PREKEYS),
            ("alice", "alice-laptop", None, CAP_PREKEYS),
            ("alice", "alice-watch", Some(NOW - 1), CAP_PREKEYS),
            ("bob", "bob-phone-old", None, 0),
            ("bob", "bob-phone", None, CAP_PREKEYS),
            ("bob", "bob-tablet", None, 0),
            ("carol", "carol-server", None, 0),
            ("carol", "carol-phone", Some(NOW + YEAR), CAP_PREKEYS),
        ];
        let mut devices: Vec<Dev> = Vec::new();
        for (a, name, expiry, caps) in plan {
            let account = acct(&accounts, a);
            let mut device = Device::new(rng);
            if name == "bob-phone" {
                // The same device as bob-phone-old, re-keyed: same device id.
                device.device_id = devices
                    .iter()
                    .find(|d| d.name == "bob-phone-old")
                    .unwrap()
                    .device
                    .device_id;
            }
            let mut cert = device.cert(&account, expiry);
            cert.capabilities = caps;
            devices.push(Dev {
                name,
                account: a,
                device,
                cert: cert.signed(&account.seed),
            });
        }
        let list_of = |accounts: &[(&str, Account)],
                       devices: &[Dev],
                       a: &str,
                       names: &[&str],
                       version: u64,
                       previous_hash: [u8; 32]| {
            let account = acct(accounts, a);
            let mut certs: Vec<&Dev> = devices.iter().filter(|d| names.contains(&d.name)).collect();
            certs.sort_by_key(|d| d.device.device_id);
            List {
                suite: 1,
                account: account.public,
                version,
                previous_hash,
                issued_at: NOW - YEAR,
                certificates: certs.iter().map(|d| d.cert.clone()).collect(),
            }
            .signed(&account.seed)
        };
        let alice = list_of(
            &accounts,
            &devices,
            "alice",
            &["alice-phone", "alice-laptop", "alice-watch"],
            1,
            [0; 32],
        );
        let bob_old = list_of(
            &accounts,
            &devices,
            "bob",
            &["bob-phone-old", "bob-tablet"],
            1,
            [0; 32],
        );
        let bob = list_of(
            &accounts,
            &devices,
            "bob",
            &["bob-phone", "bob-tablet"],
            2,
            craft::list_hash(&bob_old),
        );
        let carol = list_of(
            &accounts,
            &devices,
            "carol",
            &["carol-server", "carol-phone"],
            1,
            [0; 32],
        );
        let lists = vec![
            ("alice", "alice", alice),
            ("bob-old", "bob", bob_old),
            ("bob", "bob", bob),
            ("carol", "carol", carol),
        ];

        let mut world = World {
            accounts,
            lists,
            devices,
            prekeys: Vec::new(),
            keyrings: Vec::new(),
        };
        // Keyrings, each a scripted history under the default policy.
        let mut rot = |world: &mut World, m: &mut Model, device: &'static str, now: u64, name| {
            let (p, drawn) = m.rotate(now, bytes(rng));
            assert!(drawn);
            world.prekeys.push(NamedPrekey {
                name,
                device,
                bytes: p.unwrap(),
            });
        };
        let mut m = world.model("alice-phone");
        rot(
            &mut world,
            &mut m,
            "alice-phone",
            NOW - 3 * DAY,
            "alice-phone-1",
        );
        rot(
            &mut world,
            &mut m,
            "alice-phone",
            NOW - DAY,
            "alice-phone-2",
        );
        world.keyrings.push(("alice-phone", "alice-phone", m));
        let mut m = world.model("alice-laptop");
        rot(
            &mut world,
            &mut m,
            "alice-laptop",
            NOW - 2 * DAY,
            "alice-laptop-a",
        );
        rot(
            &mut world,
            &mut m,
            "alice-laptop",
            NOW - 2 * DAY,
            "alice-laptop-b",
        );
        world.keyrings.push(("alice-laptop", "alice-laptop", m));
        let mut m = world.model("alice-watch");
        rot(
            &mut world,
            &mut m,
            "alice-watch",
            NOW - 2 * DAY,
            "alice-watch-1",
        );
        let mut m = world.model("bob-phone-old");
        rot(
            &mut world,
            &mut m,
            "bob-phone-old",
            NOW - 15 * DAY,
            "bob-phone-old-1",
        );
        let new = world.dev("bob-phone");
        m.rekey(new.device.secret, new.cert.clone(), NOW - 10 * DAY)
            .unwrap();
        rot(&mut world, &mut m, "bob-phone", NOW - DAY, "bob-phone-1");
        // A clock an hour ahead (the most SPEC.md §3.7 step 7 accepts at
        // NOW), and one more millisecond.
        rot(
            &mut world,
            &mut m,
            "bob-phone",
            NOW + SKEW,
            "bob-phone-skew",
        );
        rot(
            &mut world,
            &mut m,
            "bob-phone",
            NOW + SKEW + 1,
            "bob-phone-future",
        );
        let mut deleted = m.clone();
        assert_eq!(deleted.delete(NOW), 2);
        // Deleted when the superseded key set's grace has passed but not that
        // of the prekey its key signed: the prekey stays.
        let mut partial = m.clone();
        assert_eq!(partial.delete(NOW - 2 * DAY), 1);
        assert!(partial.retired.is_empty() && partial.prekeys.len() == 4);
        world.keyrings.push(("bob-phone", "bob-phone", m));
        world
            .keyrings
            .push(("bob-phone-deleted", "bob-phone", deleted));
        world
            .keyrings
            .push(("bob-phone-partial", "bob-phone", partial));
        let mut m = world.model("bob-tablet");
        rot(&mut world, &mut m, "bob-tablet", NOW - DAY, "bob-tablet-1");
        world.keyrings.push(("bob-tablet", "bob-tablet", m));
        let m = world.model("carol-server");
        world.keyrings.push(("carol-server", "carol-server", m));
        let mut m = world.model("carol-phone");
        rot(
            &mut world,
            &mut m,
            "carol-phone",
            NOW - DEFAULT_POLICY.l,
            "carol-phone-old",
        );
        rot(
            &mut world,
            &mut m,
            "carol-phone",
            NOW - DAY,
            "carol-phone-1",
        );
        // A compromised sibling: carol-server republishes carol-phone-1's
        // X25519 key (secret included) as its own prekey.
        let copied = m.prekeys.last().unwrap().0;
        world.keyrings.push(("carol-phone", "carol-phone", m));
        let mut m = world.model("carol-server");
        let (p, drawn) = m.rotate(NOW - DAY, copied);
        assert!(drawn);
        world.prekeys.push(NamedPrekey {
            name: "carol-server-copy",
            device: "carol-server",
            bytes: p.unwrap(),
        });
        world
            .keyrings
            .push(("carol-server-sibling", "carol-server", m));
        world
    }

    fn model(&self, device: &str) -> Model {
        let d = self.dev(device);
        Model::new(d.device.secret, d.cert.clone())
    }

    fn dev(&self, name: &str) -> &Dev {
        self.devices.iter().find(|d| d.name == name).unwrap()
    }

    fn account(&self, name: &str) -> Account {
        self.accounts.iter().find(|a| a.0 == name).unwrap().1
    }

    fn list(&self, name: &str) -> &[u8] {
        &self.lists.iter().find(|l| l.0 == name).unwrap().2
    }

    fn prekey(&self, name: &str) -> &[u8] {
        &self.prekeys.iter().find(|p| p.name == name).unwrap().bytes
    }

    fn keyring(&self, name: &str) -> &Model {
        &self.keyrings.iter().find(|k| k.0 == name).unwrap().2
    }

    fn identities(&self) -> Value {
        json!({
            "accounts": self.accounts.iter().map(|(n, a)| json!({
                "name": n,
                "publicKey": hx(&a.public),
            })).collect::<Vec<_>>(),
            "lists": self.lists.iter().map(|(n, a, l)| json!({
                "name": n,
                "account": a,
                "deviceList": hx(l),
            })).collect::<Vec<_>>(),
            "devices": self.devices.iter().map(|d| json!({
                "name": d.name,
                "account": d.account,
                "secret": hx(&d.device.secret),
                "certificate": hx(&d.cert),
                "keyId": hx(&craft::certificate_key_id(&d.cert)),
                "deviceId": hx(&d.device.device_id),
            })).collect::<Vec<_>>(),
            "prekeys": self.prekeys.iter().map(|p| json!({
                "name": p.name,
                "device": p.device,
                "prekey": hx(&p.bytes),
                "keyId": hx(&craft::prekey_key_id(&p.bytes)),
            })).collect::<Vec<_>>(),
            "keyrings": self.keyrings.iter().map(|(n, d, m)| json!({
                "name": n,
                "device": d,
                "export": hx(&m.export()),
            })).collect::<Vec<_>>(),
        })
    }

    /// The name of the keyring key (certificate or prekey) with this key id.
    fn key_name(&self, key_id: &[u8; 16]) -> (&'static str, &'static str) {
        if let Some(d) = self
            .devices
            .iter()
            .find(|d| craft::certificate_key_id(&d.cert) == *key_id)
        {
            return ("certificate", d.name);
        }
        let p = self
            .prekeys
            .iter()
            .find(|p| craft::prekey_key_id(&p.bytes) == *key_id)
            .unwrap();
        ("prekey", p.name)
    }
}

// ------------------------------------------------------------ §4.9, §5.1 step 7

/// A prekey passed to seal: its name, the list it was verified against
/// (SPEC.md §3.7, list form), when, and how many times it is passed.
#[derive(Clone, Copy)]
struct Passed {
    name: &'static str,
    list: &'static str,
    at: u64,
    times: usize,
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}

/// The wraps seal makes (SPEC.md §4.9, §5.1 step 7), in key-id order, or
/// the `(account, device id)` of the first device (lists in the order
/// passed, devices in list order) with no key to wrap to.
fn wrap_targets(
    world: &World,
    lists: &[&str],
    passed: &[Passed],
    now: u64,
    secret: [u8; 32],
) -> Result<Vec<CraftRecipient>, ([u8; 32], [u8; 16])> {
    // Only verified prekeys are passed (SPEC.md §3.7, list form).
    for p in passed {
        assert_eq!(
            verify_prekey_list_model(world.prekey(p.name), world.list(p.list), p.at),
            Ok(()),
            "{} does not verify against {}",
            p.name,
            p.list
        );
    }
    let mut out = Vec::new();
    for l in lists {
        for cert in craft::list_certificates(world.list(l)) {
            let expires = u64_at(&cert, 124);
            if expires != craft::NEVER && expires <= now {
                continue;
            }
            let best = passed
                .iter()
                .map(|p| world.prekey(p.name))
                .filter(|p| {
                    p[4..36] == cert[4..36]
                        && p[36..52] == cert[36..52]
                        && p[52..84] == cert[84..116]
                        && u64_at(p, 116) <= now.saturating_add(SKEW)
                        && u64_at(p, 124) > now
                })
                .max_by_key(|p| (u64_at(p, 116), craft::prekey_key_id(p)));
            let caps = u32::from_be_bytes(cert[132..136].try_into().unwrap());
            match best {
                Some(p) => out.push(CraftRecipient::to_prekey(p, secret)),
                None if caps & CAP_PREKEYS != 0 => {
                    return Err((
                        cert[4..36].try_into().unwrap(),
                        cert[36..52].try_into().unwrap(),
                    ))
                }
                None => out.push(CraftRecipient::to_certificate(&cert, secret)),
            }
        }
    }
    out.sort_by_key(|r| r.key_id);
    Ok(out)
}

fn envelope(
    world: &World,
    sender: &str,
    recipients: Vec<CraftRecipient>,
    payload: &[u8],
    aad: &[u8],
    now: u64,
    randomness: &[u8; 80],
) -> CraftEnvelope {
    let s = world.dev(sender);
    let unpadded = s.cert.len() + 8 + 4 + aad.len() + 4 + payload.len() + 64;
    CraftEnvelope {
        version: 2,
        object_type: 3,
        suite: 1,
        message_id: randomness[..16].try_into().unwrap(),
        timestamp: now,
        ephemeral_secret: randomness[48..].try_into().unwrap(),
        ephemeral_public_override: None,
        message_secret: randomness[16..48].try_into().unwrap(),
        recipients,
        certificate: s.cert.clone(),
        aad: aad.to_vec(),
        payload: payload.to_vec(),
        payload_len_field: None,
        signer_seed: s.device.ed_seed,
        padded_len: usize::try_from(padme(unpadded as u64)).unwrap(),
        padding_byte: 0,
        small_order_r: false,
    }
}

fn delivery(env: &[u8], n: usize, i: usize) -> Vec<u8> {
    let mut d = vec![2u8, 4];
    d.extend_from_slice(&env[2..offset::wraps(n)]);
    let w = offset::wraps(n) + 48 * i;
    d.extend_from_slice(&env[w..w + 48]);
    d.extend_from_slice(&env[offset::body(n)..]);
    d
}

/// Every key id a keyring model holds, in the order SPEC.md §5.2 step 2
/// lists them (the lowest header position wins, so the order does not matter).
fn keyring_ids(m: &Model) -> Vec<[u8; 16]> {
    m.held_key_ids()
}

/// What `keyring` gets from opening an honest envelope `e` (SPEC.md §5.2):
/// the key found at the lowest header position, or NotARecipient.
fn open_result(world: &World, e: &CraftEnvelope, keyring: &str) -> Value {
    let m = world.keyring(keyring);
    let held = keyring_ids(m);
    let at = e.recipients.iter().position(|r| held.contains(&r.key_id));
    match at {
        None => {
            json!({"keyring": keyring, "result": "invalid", "error": "OpenError::NotARecipient"})
        }
        Some(i) => {
            let sender = world
                .devices
                .iter()
                .find(|d| d.cert == e.certificate)
                .unwrap();
            json!({
                "keyring": keyring,
                "result": "valid",
                "payload": hx(&e.payload),
                "aad": hx(&e.aad),
                "senderAccount": hx(&world.account(sender.account).public),
                "senderDevice": hx(&sender.device.device_id),
                "messageId": hx(&e.message_id),
                "timestamp": e.timestamp,
                "openedWith": hx(&e.recipients[i].key_id),
            })
        }
    }
}

fn passed_json(passed: &[Passed]) -> Value {
    json!(passed
        .iter()
        .map(|p| {
            let mut v = json!({"prekey": p.name, "list": p.list, "verifiedAt": p.at});
            if p.times != 1 {
                v["times"] = json!(p.times);
            }
            v
        })
        .collect::<Vec<_>>())
}

/// How many verified prekeys a seal is given (each entry `times` times).
fn passed_count(passed: &[Passed]) -> usize {
    passed.iter().map(|p| p.times).sum()
}

/// The refusal of seal (SPEC.md §5.1 steps 1, 2, 6, 7; the payload of the
/// refusal cases is within every limit of steps 3–5), or `None`.
fn seal_refusal(
    world: &World,
    sender: &str,
    cert: &str,
    lists: &[&str],
    passed: &[Passed],
    now: u64,
) -> Option<String> {
    let s = world.dev(sender);
    let c = &world.dev(cert).cert;
    let refuse = |e: &str| Some(format!("SealError::{e}"));
    if public_keys(&s.device.secret) != cert_keys(c) {
        return refuse("CertificateMismatch");
    }
    let expires = u64_at(c, 124);
    if expires != craft::NEVER && expires <= now {
        return refuse("SenderCertificateExpired");
    }
    if passed_count(passed) > MAX_SEAL_PREKEYS {
        return refuse("TooManyPrekeys");
    }
    let mut accounts: Vec<&[u8]> = Vec::new();
    for l in lists {
        let list = world.list(l);
        if accounts.contains(&&list[4..36]) {
            return refuse("DuplicateRecipient");
        }
        accounts.push(&list[4..36]);
        if list[4..36] == c[4..36] && !craft::list_certificates(list).iter().any(|x| x == c) {
            return refuse("SenderNotOnOwnList");
        }
    }
    let devices: Vec<Vec<u8>> = lists
        .iter()
        .flat_map(|l| craft::list_certificates(world.list(l)))
        .filter(|x| {
            let e = u64_at(x, 124);
            e == craft::NEVER || e > now
        })
        .collect();
    if devices.len() > 1024 {
        return refuse("TooManyRecipients");
    }
    let own = craft::certificate_key_id(c);
    if !devices.iter().any(|x| craft::certificate_key_id(x) != own) {
        return refuse("NoRecipients");
    }
    match wrap_targets(world, lists, passed, now, [0; 32]) {
        Err(_) => refuse("MissingPrekey"),
        Ok(t) if t.windows(2).any(|w| w[0].key_id == w[1].key_id) => refuse("DuplicateRecipient"),
        Ok(_) => None,
    }
}

fn with(b: &[u8], i: usize, v: u8) -> Vec<u8> {
    let mut x = b.to_vec();
    x[i] = v;
    x
}

fn flip(b: &[u8], i: usize) -> Vec<u8> {
    let mut x = b.to_vec();
    x[i] ^= 0x01;
    x
}

// ------------------------------------------------------------ the file

pub(crate) fn prekeys() -> String {
    let mut rng = file_rng("prekeys.json");
    let mut f = VectorFile::new(
        "fanseal signed prekeys and device keyrings",
        json!({
            "identities": "Shared by every group. accounts: name, publicKey. lists: name, account, deviceList (bytes; verifies for the account's publicKey; bob-old is Bob's list before bob-phone re-keyed, bob the list after, version 2). devices: name, account, secret (64 bytes: X25519 secret || Ed25519 seed), certificate (bytes, its public keys are the secret's), keyId, deviceId; bob-phone-old and bob-phone are one device (same device id) before and after a re-key. prekeys: name, device (whose current Ed25519 key signed it), prekey (196 bytes), keyId. keyrings: name, device (the device whose certificate is the keyring's current one), export (the keyring as DeviceKeyring::export writes it; DeviceKeyring::import loads it).",
            "PrekeyIssue": "secret (64 bytes), certificate (bytes; verifies for account), policy {rotationPeriodMs, lifetimeMs, graceMs} (DeviceKeyring::set_policy), now, randomness (the 32 bytes DeviceKeyring::rotate_prekey draws: the prekey's X25519 secret, clamped at use) -> prekey (exact 196 bytes: Ed25519 is deterministic), keyId = SHA-256(u8 len || \"fanseal v2 prekey key id\" || account || deviceId || prekeyX25519)[0..16], recipientBinding = SHA-256(u8 len || \"fanseal v2 recipient binding\" || account || deviceId || prekeyX25519); or the KeyringError of set_policy / rotate_prekey. A refusal before the draw draws nothing (randomness is then empty).",
            "PrekeyVerify": "prekey (bytes), form, listName (a list of identities), now. form \"certificate\": SignedPrekey::verify against the verified certificate of device (its certificate on that list); form \"list\": VerifiedDeviceList::verify_prekey on that list. -> the decoded fields (account, deviceId, deviceKey, publicKey, createdAt, expiresAt), keyId and recipientBinding; or the DecodeError of SignedPrekey::from_bytes, then the PrekeyError (the first step of SPEC.md §3.7 that fails).",
            "KeyringExport": "secret and certificate (DeviceKeyring::new; result invalid: the CertificateError it returns, and the case has nothing else), policy (set_policy, before the steps), steps in order: {op: rotate, now, randomness (32 bytes drawn) -> prekey} | {op: rekey, secret, certificate, now} | {op: renew, certificate} | {op: delete, now -> deleted (count)} | {op: setPolicy, policy} | {op: current, now -> currentPrekey (DeviceKeyring::current_prekey: bytes, or empty for none), rotationDue (DeviceKeyring::needs_rotation)}; a step with result invalid must be refused with its error and change nothing; a certificate of a step decodes but need not verify -> export (exact bytes of DeviceKeyring::export after the last step; DeviceKeyring::import(export).export() equals it).",
            "KeyringImport": "export (bytes) -> DeviceKeyring::import succeeds and export() gives the same bytes, with the current keyId, the policy and the prekeys' keyIds in export order; or KeyringError::Decode(DecodeError::*), the first failure of SPEC.md §3.9 steps 1-5. errorField: the field of a Truncated or OutOfRange error; errorWhat: the string of an Inconsistent or NonCanonical error.",
            "SealToPrekeys": "sender (device: its secret and certificate), recipients (list names, in the order passed), prekeys [{prekey, list, verifiedAt, times}] (each verified with VerifiedDeviceList::verify_prekey against list at verifiedAt, then passed to seal times times, 1 when absent), payload, aad, padding, now, randomness (messageId 16, messageSecret 32, ephemeralSecret 32) -> envelope (exact bytes), header (recipients: key ids ascending), wraps (per recipient in key-id order: keyId, device, to = \"prekey\" (name in key) or \"certificate\", x25519Public and recipientBinding: the key wrapped to and the wrap's AEAD associated data), deliveries (keyId, delivery), then opens: each named keyring opens the envelope and its delivery (if any) with directory (list names) at openNow -> payload, aad, senderAccount, senderDevice, messageId, timestamp, openedWith (key id of the keyring key that opened it), or the OpenError. Invalid: the SealError (no randomness drawn); for MissingPrekey, missingAccount and missingDeviceId name the device; for TooManyPrekeys, prekeyCount is its count.",
            "OpenWithKeyring": "keyring (name), message (envelope or delivery bytes), directory (list names), now -> payload, aad, senderAccount, senderDevice, messageId, timestamp, openedWith; or the OpenError of open.",
        }),
    );
    f.flag("Valid", "a well-formed object used as intended");
    f.flag(
        "Policy",
        "a rotation policy other than the default, or at its limits",
    );
    f.flag(
        "Boundary",
        "a time or lifetime exactly at, or one off, a limit",
    );
    f.flag("WrongAccount", "a prekey naming another account");
    f.flag(
        "WrongDevice",
        "a prekey naming another device, or replayed from one",
    );
    f.flag("Rekey", "a device that re-keyed: old and new device keys");
    f.flag("LowOrderKey", "a low-order X25519 prekey");
    f.flag("NonCanonicalKey", "a non-canonical X25519 prekey encoding");
    f.flag("BadSignature", "a signature that does not verify strictly");
    f.flag("LabelConfusion", "a signature made under another label");
    f.flag("NonCanonicalSignature", "a signature scalar s >= L");
    f.flag(
        "Lifetime",
        "a prekey lifetime outside (0, MAX_PREKEY_LIFETIME_MS]",
    );
    f.flag("Expiry", "expiry at the caller's time");
    f.flag(
        "NotYetValid",
        "a prekey dated more than MAX_PREKEY_CLOCK_SKEW_MS after now, or exactly that much",
    );
    f.flag(
        "Sibling",
        "another device of the account publishes the same X25519 prekey key",
    );
    f.flag(
        "Unclamped",
        "an X25519 secret in a keyring export that is not clamped",
    );
    f.flag(
        "CertificateCheck",
        "a keyring certificate checked under its own account key, or a renewal changing CAPABILITY_PREKEYS",
    );
    f.flag("ListForm", "VerifiedDeviceList::verify_prekey");
    f.flag("Truncated", "the input ends early");
    f.flag("TrailingBytes", "bytes after a complete object");
    f.flag("Grease", "an unknown version, object type or suite");
    f.flag(
        "Order",
        "several checks fail: the first in the specified order wins",
    );
    f.flag(
        "Inconsistent",
        "persisted state that decodes but contradicts itself",
    );
    f.flag("NonCanonical", "entries not in their one canonical order");
    f.flag("Limit", "a count outside its bounds");
    f.flag("Refusal", "a keyring operation refused (changing nothing)");
    f.flag("Deletion", "secrets deleted after their grace period");
    f.flag(
        "NoCapability",
        "a device whose certificate does not set CAPABILITY_PREKEYS",
    );
    f.flag("SelfSync", "the sender's own device is a recipient");
    f.flag(
        "MissingPrekey",
        "a device that requires a prekey has no usable one",
    );
    f.flag(
        "Superseded",
        "a key set or prekey superseded but still held",
    );
    f.flag("NotARecipient", "the keyring holds no key the header names");
    f.flag(
        "Crafted",
        "an envelope no honest seal produces, built by hand",
    );

    let world = World::new(&mut rng);
    f.extra("identities", world.identities());

    prekey_issue(&mut f, &world, &mut rng);
    prekey_verify(&mut f, &world, &mut rng);
    let scripts = keyring_export(&mut f, &world, &mut rng);
    keyring_import(&mut f, &world, &scripts, &mut rng);
    let sealed = seal_to_prekeys(&mut f, &world, &mut rng);
    open_with_keyring(&mut f, &world, &sealed, &mut rng);
    f.render()
}

// ------------------------------------------------------------ PrekeyIssue

fn prekey_issue(f: &mut VectorFile, world: &World, rng: &mut rand_chacha::ChaCha20Rng) {
    let mut g = Group::new(
        "PrekeyIssue",
        "A device keyring signs a prekey from 32 drawn bytes at now (SPEC.md §3.7, §3.8 Rotate).",
    );
    let issue = |g: &mut Group,
                 dev: &str,
                 policy: Policy,
                 now: u64,
                 drawn: [u8; 32],
                 comment: &str,
                 flags: &[&str]| {
        let d = world.dev(dev);
        let mut m = Model::new(d.device.secret, d.cert.clone());
        let set = m.set_policy(policy);
        let (r, was_drawn) = match set {
            Ok(()) => m.rotate(now, drawn),
            Err(e) => (Err(e), false),
        };
        let mut fields = json!({
            "secret": hx(&d.device.secret),
            "certificate": hx(&d.cert),
            "account": hx(&world.account(d.account).public),
            "policy": policy.json(),
            "now": now,
            "randomness": if was_drawn { hx(&drawn) } else { json!("") },
        });
        match r {
            Ok(p) => {
                let x = craft::x25519_public(&drawn);
                fields["prekey"] = hx(&p);
                fields["keyId"] = hx(&craft::prekey_key_id(&p));
                fields["recipientBinding"] = hx(&craft::recipient_binding(
                    &p[4..36].try_into().unwrap(),
                    &d.device.device_id,
                    &x,
                ));
                g.valid(comment, flags, fields);
            }
            Err(e) => g.invalid(comment, flags, &e, fields),
        }
    };
    issue(
        &mut g,
        "alice-phone",
        DEFAULT_POLICY,
        NOW,
        bytes(rng),
        "default policy: expires 7 days after now",
        &["Valid"],
    );
    issue(
        &mut g,
        "bob-tablet",
        DEFAULT_POLICY,
        NOW,
        bytes(rng),
        "a device without CAPABILITY_PREKEYS may publish prekeys too",
        &["Valid", "NoCapability"],
    );
    issue(
        &mut g,
        "bob-phone",
        Policy {
            r: MAX_PREKEY_LIFETIME_MS / 2,
            l: MAX_PREKEY_LIFETIME_MS,
            g: MAX_GRACE_MS,
        },
        NOW,
        bytes(rng),
        "lifetime = MAX_PREKEY_LIFETIME_MS = 2R and grace = MAX_GRACE_MS exactly",
        &["Valid", "Policy", "Boundary"],
    );
    issue(
        &mut g,
        "carol-phone",
        Policy { r: 1, l: 2, g: 0 },
        0,
        bytes(rng),
        "the smallest policy (R = 1 ms, L = 2R = 2 ms, G = 0) at now = 0",
        &["Valid", "Policy", "Boundary"],
    );
    issue(
        &mut g,
        "alice-laptop",
        DEFAULT_POLICY,
        u64::MAX - DEFAULT_POLICY.l - 1,
        bytes(rng),
        "now + L = 2^64 - 2: the latest time a prekey can be made",
        &["Valid", "Boundary"],
    );
    let zero = [0u8; 32];
    issue(
        &mut g,
        "alice-phone",
        DEFAULT_POLICY,
        NOW,
        zero,
        "32 zero bytes drawn (clamping makes them a valid secret)",
        &["Valid"],
    );
    issue(
        &mut g,
        "alice-laptop",
        DEFAULT_POLICY,
        u64::MAX - DEFAULT_POLICY.l,
        bytes(rng),
        "now + L = 2^64 - 1 (an expiry reserved as \"never\" by certificates): refused before drawing",
        &["Boundary"],
    );
    issue(
        &mut g,
        "alice-laptop",
        DEFAULT_POLICY,
        u64::MAX - 5,
        bytes(rng),
        "now + L overflows: refused before drawing",
        &["Boundary"],
    );
    for (p, why) in [
        (
            Policy {
                r: 2 * DAY,
                l: 4 * DAY,
                g: 7 * DAY,
            },
            "2R = L exactly (R = 2 days, L = 4 days, G = 7 days)",
        ),
        (
            Policy {
                r: DAY,
                l: 3 * DAY,
                g: 28 * DAY,
            },
            "ceil((L + G) / R) + 1 = 32 = MAX_KEYRING_PREKEYS exactly (R = 1 day, L = 3 days, G = 28 days)",
        ),
        (
            Policy {
                r: DAY,
                l: 2 * DAY,
                g: 29 * DAY,
            },
            "2R = L and ceil((L + G) / R) + 1 = 32 at once",
        ),
    ] {
        issue(
            &mut g,
            "carol-phone",
            p,
            NOW,
            bytes(rng),
            why,
            &["Valid", "Policy", "Boundary"],
        );
    }
    let d = world.dev("alice-phone");
    issue(
        &mut g,
        "alice-phone",
        DEFAULT_POLICY,
        NOW,
        d.device.x25519_secret(),
        "the drawn bytes are the device's own X25519 secret: accepted, the prekey key id (its own label, with the device id) is not the certificate's key id",
        &["Valid"],
    );
    for (p, why) in [
        (
            Policy {
                r: 0,
                l: DAY,
                g: DAY,
            },
            "rotation period 0",
        ),
        (
            Policy {
                r: 2 * DAY,
                l: DAY,
                g: DAY,
            },
            "rotation period above the lifetime",
        ),
        (
            Policy {
                r: DAY,
                l: DAY,
                g: DAY,
            },
            "R = L (valid before 2R <= L)",
        ),
        (
            Policy {
                r: DAY,
                l: 2 * DAY - 1,
                g: DAY,
            },
            "2R = L + 1",
        ),
        (
            Policy {
                r: 2 * DAY,
                l: 4 * DAY - 1,
                g: 7 * DAY,
            },
            "2R = L + 1 (R = 2 days)",
        ),
        (
            Policy {
                r: MAX_PREKEY_LIFETIME_MS / 2,
                l: MAX_PREKEY_LIFETIME_MS + 1,
                g: 0,
            },
            "lifetime MAX_PREKEY_LIFETIME_MS + 1",
        ),
        (
            Policy {
                r: MAX_PREKEY_LIFETIME_MS / 2,
                l: MAX_PREKEY_LIFETIME_MS,
                g: MAX_GRACE_MS + 1,
            },
            "grace MAX_GRACE_MS + 1",
        ),
        (
            Policy {
                r: DAY,
                l: 3 * DAY,
                g: 28 * DAY + 1,
            },
            "ceil((L + G) / R) + 1 = 33: more prekeys alive at once than a keyring holds",
        ),
        (
            Policy {
                r: DAY,
                l: 2 * DAY,
                g: 30 * DAY,
            },
            "ceil((L + G) / R) + 1 = 33 with (L + G) / R exact",
        ),
        (
            Policy {
                r: u64::MAX,
                l: u64::MAX,
                g: u64::MAX,
            },
            "every field 2^64 - 1 (2R overflows)",
        ),
    ] {
        issue(
            &mut g,
            "alice-phone",
            p,
            NOW,
            bytes(rng),
            &format!("set_policy refuses: {why}"),
            &["Policy", "Boundary"],
        );
    }
    f.push(g);
}

// ------------------------------------------------------------ PrekeyVerify

fn prekey_verify(f: &mut VectorFile, world: &World, rng: &mut rand_chacha::ChaCha20Rng) {
    let mut g = Group::new(
        "PrekeyVerify",
        "Decode a signed prekey, then verify it as a prekey of a device (SPEC.md §3.7).",
    );
    let alice = world.account("alice");
    let bob = world.account("bob");
    let phone = world.dev("alice-phone");
    let laptop = world.dev("alice-laptop");
    let seed = phone.device.ed_seed;
    // A fresh prekey of alice-phone, made for these cases.
    let x = craft::x25519_public(&bytes(rng));
    let created = NOW - DAY;
    let base = Prekey::new(
        alice.public,
        phone.device.device_id,
        phone.device.ed25519,
        x,
        created,
        created + 4 * DAY,
    );
    let good = base.signed(&seed);

    let fields = |p: &[u8]| -> Value {
        json!({
            "account": hx(&p[4..36]),
            "deviceId": hx(&p[36..52]),
            "deviceKey": hx(&p[52..84]),
            "publicKey": hx(&p[84..116]),
            "createdAt": u64_at(p, 116),
            "expiresAt": u64_at(p, 124),
            "keyId": hx(&craft::prekey_key_id(p)),
            "recipientBinding": hx(&craft::recipient_binding(
                &p[4..36].try_into().unwrap(),
                &p[36..52].try_into().unwrap(),
                &p[84..116].try_into().unwrap(),
            )),
        })
    };
    // The expected outcome of every case, from the §3.7 model.
    let model = |p: &[u8], form: &str, list: &str, device: &str, now: u64| match form {
        "certificate" => verify_prekey_model(p, &world.dev(device).cert, now),
        _ => verify_prekey_list_model(p, world.list(list), now),
    };
    let valid = |g: &mut Group,
                 p: &[u8],
                 form: &str,
                 list: &str,
                 device: &str,
                 now: u64,
                 comment: &str,
                 flags: &[&str]| {
        assert_eq!(model(p, form, list, device, now), Ok(()), "{comment}");
        let mut v = fields(p);
        v["prekey"] = hx(p);
        v["form"] = json!(form);
        v["listName"] = json!(list);
        if form == "certificate" {
            v["device"] = json!(device);
        }
        v["now"] = json!(now);
        g.valid(comment, flags, v);
    };
    let inv = |g: &mut Group,
               p: &[u8],
               form: &str,
               list: &str,
               device: &str,
               now: u64,
               comment: &str,
               flags: &[&str],
               error: &str| {
        assert_eq!(
            model(p, form, list, device, now),
            Err(error.to_string()),
            "{comment}"
        );
        let mut v = json!({"prekey": hx(p), "form": form, "listName": list, "now": now});
        if form == "certificate" {
            v["device"] = json!(device);
        }
        g.invalid(comment, flags, error, v);
    };
    let signed = |p: &Prekey| p.signed(&seed);

    valid(
        &mut g,
        &good,
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "a prekey of alice-phone, verified against its certificate",
        &["Valid"],
    );
    valid(
        &mut g,
        &good,
        "list",
        "alice",
        "",
        NOW,
        "the same prekey, verified against Alice's list",
        &["Valid", "ListForm"],
    );
    valid(
        &mut g,
        world.prekey("alice-laptop-a"),
        "list",
        "alice",
        "",
        NOW,
        "a prekey published by alice-laptop's keyring",
        &["Valid", "ListForm"],
    );
    valid(&mut g, world.prekey("alice-watch-1"), "list", "alice", "", NOW, "a prekey of alice-watch, whose certificate has expired: the list form verifies it anyway (seal skips expired devices)", &["Valid", "ListForm", "Expiry"]);
    valid(
        &mut g,
        world.prekey("bob-phone-1"),
        "certificate",
        "bob",
        "bob-phone",
        NOW,
        "bob-phone's prekey after the re-key, against its new certificate",
        &["Valid", "Rekey"],
    );
    valid(&mut g, world.prekey("bob-phone-old-1"), "certificate", "bob-old", "bob-phone-old", NOW - 11 * DAY, "bob-phone's prekey before the re-key, against its old certificate (Bob's previous list), before it expired", &["Valid", "Rekey"]);
    let mut p = base.clone();
    p.expires_at = created + MAX_PREKEY_LIFETIME_MS;
    valid(
        &mut g,
        &signed(&p),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "lifetime exactly MAX_PREKEY_LIFETIME_MS",
        &["Valid", "Lifetime", "Boundary"],
    );
    let mut p = base.clone();
    p.expires_at = created + 1;
    valid(
        &mut g,
        &signed(&p),
        "certificate",
        "alice",
        "alice-phone",
        created,
        "lifetime 1 ms, verified at created_at",
        &["Valid", "Lifetime", "Boundary"],
    );
    valid(
        &mut g,
        &good,
        "certificate",
        "alice",
        "alice-phone",
        base.expires_at - 1,
        "now = expires_at - 1: not expired",
        &["Valid", "Expiry", "Boundary"],
    );

    // Step 1: WrongAccount alone (every other field right for alice-phone).
    let mut p = base.clone();
    p.account = bob.public;
    inv(
        &mut g,
        &signed(&p),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "names Bob's account, otherwise alice-phone's own prekey (signed by its key)",
        &["WrongAccount"],
        "PrekeyError::WrongAccount",
    );
    inv(
        &mut g,
        world.prekey("bob-tablet-1"),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "bob-tablet's genuine prekey replayed as alice-phone's (another account)",
        &["WrongAccount", "WrongDevice"],
        "PrekeyError::WrongAccount",
    );
    // Step 2.
    let mut p = base.clone();
    p.device_id = laptop.device.device_id;
    inv(
        &mut g,
        &signed(&p),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "names alice-laptop's device id, signed by alice-phone's key",
        &["WrongDevice"],
        "PrekeyError::WrongDevice",
    );
    inv(&mut g, world.prekey("alice-laptop-a"), "certificate", "alice", "alice-phone", NOW, "alice-laptop's genuine prekey replayed as alice-phone's (another device of the same account)", &["WrongDevice"], "PrekeyError::WrongDevice");
    // Step 3.
    let mut p = base.clone();
    p.device_key = laptop.device.ed25519;
    inv(
        &mut g,
        &p.signed(&laptop.device.ed_seed),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "names alice-phone, signed by (and naming) alice-laptop's Ed25519 key",
        &["WrongDevice"],
        "PrekeyError::WrongDeviceKey",
    );
    inv(
        &mut g,
        world.prekey("bob-phone-old-1"),
        "certificate",
        "bob",
        "bob-phone",
        NOW - 11 * DAY,
        "a prekey signed before bob-phone re-keyed, against its new certificate (unexpired at now)",
        &["Rekey"],
        "PrekeyError::WrongDeviceKey",
    );
    // Step 4.
    for (k, why) in low_order_x25519() {
        let mut p = base.clone();
        p.x25519 = k;
        inv(
            &mut g,
            &signed(&p),
            "certificate",
            "alice",
            "alice-phone",
            NOW,
            &format!("{why}, validly signed"),
            &["LowOrderKey"],
            "PrekeyError::InvalidX25519Key",
        );
    }
    for (k, why) in non_canonical_x25519(&x) {
        let mut p = base.clone();
        p.x25519 = k;
        inv(
            &mut g,
            &signed(&p),
            "certificate",
            "alice",
            "alice-phone",
            NOW,
            &format!("{why}, validly signed"),
            &["NonCanonicalKey"],
            "PrekeyError::InvalidX25519Key",
        );
    }
    // Step 5.
    let sig_at = 132;
    inv(
        &mut g,
        &base.signed_with_label(&seed, craft::label::CERTIFICATE_SIGNATURE),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "signed under the certificate label",
        &["LabelConfusion"],
        "PrekeyError::BadSignature",
    );
    inv(
        &mut g,
        &base.signed_with_label(&seed, craft::label::ENVELOPE_SIGNATURE),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "signed under the envelope label",
        &["LabelConfusion"],
        "PrekeyError::BadSignature",
    );
    let mut raw = base.tbs();
    raw.extend_from_slice(
        &ed25519_dalek::Signer::sign(&ed25519_dalek::SigningKey::from_bytes(&seed), &base.tbs())
            .to_bytes(),
    );
    inv(
        &mut g,
        &raw,
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "signed without a label",
        &["LabelConfusion"],
        "PrekeyError::BadSignature",
    );
    inv(
        &mut g,
        &flip(&good, 120),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "created at changed after signing",
        &["BadSignature"],
        "PrekeyError::BadSignature",
    );
    inv(
        &mut g,
        &flip(&good, 90),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "prekey X25519 key changed after signing (still a valid key)",
        &["BadSignature"],
        "PrekeyError::BadSignature",
    );
    inv(
        &mut g,
        &flip(&good, 3),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "suite byte changed after signing: UnsupportedSuite at decoding",
        &["Grease"],
        "DecodeError::UnsupportedSuite",
    );
    inv(
        &mut g,
        &flip(&good, sig_at),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "first byte of R flipped",
        &["BadSignature"],
        "PrekeyError::BadSignature",
    );
    inv(
        &mut g,
        &flip(&good, 195),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "last byte of s flipped",
        &["BadSignature"],
        "PrekeyError::BadSignature",
    );
    let mut ncs = good[..sig_at].to_vec();
    ncs.extend_from_slice(&non_canonical_s(&good[sig_at..]));
    inv(
        &mut g,
        &ncs,
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "s replaced by s + L (accepted by lax verifiers)",
        &["NonCanonicalSignature"],
        "PrekeyError::BadSignature",
    );
    let mut small_r = base.tbs();
    small_r.extend_from_slice(&craft::sign_small_order_r(
        &seed,
        craft::label::PREKEY_SIGNATURE,
        &base.tbs(),
    ));
    inv(
        &mut g,
        &small_r,
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "R of small order, s = k·a: accepted by lax cofactorless verifiers",
        &["BadSignature"],
        "PrekeyError::BadSignature",
    );
    let account_seed = alice.seed;
    inv(
        &mut g,
        &base.signed(&account_seed),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "signed by the account key instead of the device key",
        &["BadSignature"],
        "PrekeyError::BadSignature",
    );
    // Step 6.
    for (exp, why, flag) in [
        (created, "expires_at = created_at", "Boundary"),
        (created - 1, "expires_at before created_at", "Lifetime"),
        (
            created + MAX_PREKEY_LIFETIME_MS + 1,
            "lifetime MAX_PREKEY_LIFETIME_MS + 1",
            "Boundary",
        ),
        (
            u64::MAX,
            "expires_at = 2^64 - 1 (a prekey has no \"never\")",
            "Lifetime",
        ),
    ] {
        let mut p = base.clone();
        p.expires_at = exp;
        let now = if exp > created { created } else { created - 10 };
        inv(
            &mut g,
            &signed(&p),
            "certificate",
            "alice",
            "alice-phone",
            now,
            why,
            &["Lifetime", flag],
            "PrekeyError::InvalidLifetime",
        );
    }
    // Step 7: created_at <= now + MAX_PREKEY_CLOCK_SKEW_MS.
    let mut future = base.clone();
    future.created_at = NOW + SKEW;
    future.expires_at = NOW + SKEW + 4 * DAY;
    valid(
        &mut g,
        &signed(&future),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "created_at = now + MAX_PREKEY_CLOCK_SKEW_MS: not yet valid by at most the allowed skew",
        &["Valid", "NotYetValid", "Boundary"],
    );
    let mut p = future.clone();
    p.created_at += 1;
    inv(
        &mut g,
        &signed(&p),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "created_at = now + MAX_PREKEY_CLOCK_SKEW_MS + 1",
        &["NotYetValid", "Boundary"],
        "PrekeyError::NotYetValid",
    );
    inv(
        &mut g,
        &signed(&p),
        "list",
        "alice",
        "",
        NOW,
        "list form: created_at = now + MAX_PREKEY_CLOCK_SKEW_MS + 1",
        &["NotYetValid", "Boundary", "ListForm"],
        "PrekeyError::NotYetValid",
    );
    valid(
        &mut g,
        &signed(&p),
        "certificate",
        "alice",
        "alice-phone",
        NOW + 1,
        "the same prekey one millisecond later: valid",
        &["Valid", "NotYetValid", "Boundary"],
    );
    valid(
        &mut g,
        world.prekey("bob-phone-skew"),
        "list",
        "bob",
        "",
        NOW,
        "bob-phone's keyring rotated with its clock an hour ahead: created_at = now + MAX_PREKEY_CLOCK_SKEW_MS",
        &["Valid", "NotYetValid", "Boundary", "ListForm"],
    );
    inv(
        &mut g,
        world.prekey("bob-phone-future"),
        "list",
        "bob",
        "",
        NOW,
        "bob-phone's keyring rotated one millisecond later still: refused at now",
        &["NotYetValid", "Boundary", "ListForm"],
        "PrekeyError::NotYetValid",
    );
    let mut late = base.clone();
    late.created_at = u64::MAX - 2;
    late.expires_at = u64::MAX - 1;
    valid(
        &mut g,
        &signed(&late),
        "certificate",
        "alice",
        "alice-phone",
        u64::MAX - 10,
        "now + MAX_PREKEY_CLOCK_SKEW_MS saturates at 2^64 - 1 (created_at = 2^64 - 3, now = 2^64 - 11)",
        &["Valid", "NotYetValid", "Boundary"],
    );
    inv(
        &mut g,
        &signed(&late),
        "certificate",
        "alice",
        "alice-phone",
        u64::MAX - 3 - SKEW,
        "the same prekey at now = 2^64 - 4 - MAX_PREKEY_CLOCK_SKEW_MS: one millisecond too early",
        &["NotYetValid", "Boundary"],
        "PrekeyError::NotYetValid",
    );
    // Step 8.
    inv(
        &mut g,
        &good,
        "certificate",
        "alice",
        "alice-phone",
        base.expires_at,
        "now = expires_at",
        &["Expiry", "Boundary"],
        "PrekeyError::Expired",
    );
    inv(
        &mut g,
        &good,
        "certificate",
        "alice",
        "alice-phone",
        u64::MAX,
        "now = 2^64 - 1",
        &["Expiry"],
        "PrekeyError::Expired",
    );
    inv(
        &mut g,
        world.prekey("carol-phone-old"),
        "list",
        "carol",
        "",
        NOW,
        "carol-phone's first prekey, which expires exactly at now",
        &["Expiry", "Boundary", "ListForm"],
        "PrekeyError::Expired",
    );

    // Order: several faults, the first step wins.
    let mut all = base.clone();
    all.account = bob.public;
    all.device_id = laptop.device.device_id;
    all.device_key = laptop.device.ed25519;
    all.x25519 = low_order_x25519()[0].0;
    all.expires_at = created;
    let mut all_bytes = all.signed(&laptop.device.ed_seed);
    all_bytes[sig_at] ^= 1;
    inv(&mut g, &all_bytes, "certificate", "alice", "alice-phone", NOW, "order: other account, device id and key, low-order key, bad signature, invalid lifetime, expired: WrongAccount (step 1)", &["Order", "WrongAccount"], "PrekeyError::WrongAccount");
    let mut p = all.clone();
    p.account = alice.public;
    let mut b = p.signed(&laptop.device.ed_seed);
    b[sig_at] ^= 1;
    inv(&mut g, &b, "certificate", "alice", "alice-phone", NOW, "order: other device id and key, low-order key, bad signature, invalid lifetime: WrongDevice (step 2)", &["Order", "WrongDevice"], "PrekeyError::WrongDevice");
    p.device_id = phone.device.device_id;
    let mut b = p.signed(&laptop.device.ed_seed);
    b[sig_at] ^= 1;
    inv(&mut g, &b, "certificate", "alice", "alice-phone", NOW, "order: other device key, low-order key, bad signature, invalid lifetime: WrongDeviceKey (step 3)", &["Order", "WrongDevice"], "PrekeyError::WrongDeviceKey");
    p.device_key = phone.device.ed25519;
    let mut b = p.signed(&seed);
    b[sig_at] ^= 1;
    inv(
        &mut g,
        &b,
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "order: low-order key, bad signature, invalid lifetime, expired: InvalidX25519Key (step 4)",
        &["Order", "LowOrderKey"],
        "PrekeyError::InvalidX25519Key",
    );
    p.x25519 = x;
    let mut b = p.signed(&seed);
    b[sig_at] ^= 1;
    inv(
        &mut g,
        &b,
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "order: bad signature, invalid lifetime, expired: BadSignature (step 5)",
        &["Order", "BadSignature"],
        "PrekeyError::BadSignature",
    );
    inv(
        &mut g,
        &signed(&p),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "order: expires_at = created_at, expired at now: InvalidLifetime (step 6) before Expired",
        &["Order", "Lifetime"],
        "PrekeyError::InvalidLifetime",
    );
    let mut p = base.clone();
    p.expires_at = created + MAX_PREKEY_LIFETIME_MS + 1;
    inv(
        &mut g,
        &signed(&p),
        "certificate",
        "alice",
        "alice-phone",
        u64::MAX,
        "order: lifetime too long and expired: InvalidLifetime",
        &["Order", "Lifetime"],
        "PrekeyError::InvalidLifetime",
    );
    // Steps 6, 7 and 8 at once: a prekey from the future that expired
    // before it was made. (Steps 7 and 8 cannot fail together once step 6
    // holds: created_at > now + skew >= now and expires_at > created_at.)
    let mut p = base.clone();
    p.created_at = NOW + SKEW + 1;
    p.expires_at = NOW;
    inv(
        &mut g,
        &signed(&p),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "order: expires_at before created_at, created_at = now + MAX_PREKEY_CLOCK_SKEW_MS + 1, expires_at = now: InvalidLifetime (step 6) before NotYetValid (7) and Expired (8)",
        &["Order", "Lifetime", "NotYetValid", "Expiry"],
        "PrekeyError::InvalidLifetime",
    );
    let mut p = base.clone();
    p.created_at = NOW + SKEW + 1;
    p.expires_at = p.created_at + MAX_PREKEY_LIFETIME_MS + 1;
    inv(
        &mut g,
        &signed(&p),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "order: lifetime too long and created_at = now + MAX_PREKEY_CLOCK_SKEW_MS + 1: InvalidLifetime before NotYetValid",
        &["Order", "Lifetime", "NotYetValid"],
        "PrekeyError::InvalidLifetime",
    );
    let mut p = future.clone();
    p.created_at += 1;
    let mut b = signed(&p);
    b[sig_at] ^= 1;
    inv(
        &mut g,
        &b,
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "order: a bad signature on a prekey dated one millisecond past the skew: BadSignature (step 5) first",
        &["Order", "BadSignature", "NotYetValid"],
        "PrekeyError::BadSignature",
    );
    let mut p = future.clone();
    p.created_at += 1;
    p.device_key = laptop.device.ed25519;
    inv(
        &mut g,
        &p.signed(&laptop.device.ed_seed),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "order: signed by alice-laptop's key and dated past the skew: WrongDeviceKey (step 3) first",
        &["Order", "WrongDevice", "NotYetValid"],
        "PrekeyError::WrongDeviceKey",
    );

    // Prekey key ids name the device: a sibling that republishes a key.
    valid(
        &mut g,
        world.prekey("carol-phone-1"),
        "list",
        "carol",
        "",
        NOW,
        "carol-phone's prekey",
        &["Valid", "ListForm", "Sibling"],
    );
    valid(
        &mut g,
        world.prekey("carol-server-copy"),
        "list",
        "carol",
        "",
        NOW,
        "carol-server republishes carol-phone's prekey X25519 key, signed by its own key: valid, with another key id (the device id is hashed in)",
        &["Valid", "ListForm", "Sibling", "NoCapability"],
    );
    inv(
        &mut g,
        world.prekey("carol-server-copy"),
        "certificate",
        "carol",
        "carol-phone",
        NOW,
        "carol-server's copy presented as carol-phone's prekey",
        &["Sibling", "WrongDevice"],
        "PrekeyError::WrongDevice",
    );

    // The list form.
    let mut p = base.clone();
    p.account = bob.public;
    inv(
        &mut g,
        &signed(&p),
        "list",
        "alice",
        "",
        NOW,
        "list form: names Bob's account, verified against Alice's list",
        &["ListForm", "WrongAccount"],
        "PrekeyError::WrongAccount",
    );
    inv(
        &mut g,
        world.prekey("bob-tablet-1"),
        "list",
        "alice",
        "",
        NOW,
        "list form: bob-tablet's genuine prekey against Alice's list",
        &["ListForm", "WrongAccount"],
        "PrekeyError::WrongAccount",
    );
    let mut p = base.clone();
    p.device_id = bytes(rng);
    inv(
        &mut g,
        &signed(&p),
        "list",
        "alice",
        "",
        NOW,
        "list form: a device id not on Alice's list (signed by alice-phone's key)",
        &["ListForm", "WrongDevice"],
        "PrekeyError::UnknownDevice",
    );
    let mut p = all.clone();
    p.device_id = bytes(rng);
    inv(
        &mut g,
        &p.signed(&seed),
        "list",
        "alice",
        "",
        NOW,
        "order: list form, another account and an unknown device id: WrongAccount first",
        &["ListForm", "Order"],
        "PrekeyError::WrongAccount",
    );
    p.account = alice.public;
    inv(&mut g, &p.signed(&seed), "list", "alice", "", NOW, "order: list form, unknown device id, other key, low-order key, invalid lifetime: UnknownDevice", &["ListForm", "Order"], "PrekeyError::UnknownDevice");
    inv(
        &mut g,
        world.prekey("bob-phone-old-1"),
        "list",
        "bob",
        "",
        NOW - 11 * DAY,
        "list form: a prekey from before bob-phone re-keyed, against Bob's current list",
        &["ListForm", "Rekey"],
        "PrekeyError::WrongDeviceKey",
    );
    let mut p = base.clone();
    p.x25519 = low_order_x25519()[2].0;
    inv(
        &mut g,
        &signed(&p),
        "list",
        "alice",
        "",
        NOW,
        "list form: the steps of the certificate form follow (a low-order key)",
        &["ListForm", "LowOrderKey"],
        "PrekeyError::InvalidX25519Key",
    );

    // Decoding (SPEC.md §3.7, §2.1, §2.6).
    assert_eq!(good.len(), craft::SIGNED_PREKEY_LEN);
    for len in [0usize, 1, 2, 3, 4, 36, 52, 84, 116, 124, 132, 195] {
        inv(
            &mut g,
            &good[..len],
            "certificate",
            "alice",
            "alice-phone",
            NOW,
            &format!("truncated to {len} bytes"),
            &["Truncated"],
            "DecodeError::Truncated",
        );
    }
    inv(
        &mut g,
        &[good.as_slice(), &[0]].concat(),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "one trailing byte",
        &["TrailingBytes"],
        "DecodeError::TrailingBytes",
    );
    inv(
        &mut g,
        &[good.as_slice(), &good].concat(),
        "list",
        "alice",
        "",
        NOW,
        "two prekeys back to back",
        &["TrailingBytes"],
        "DecodeError::TrailingBytes",
    );
    for v in [0x00u8, 0x01, 0x03, 0xfa] {
        inv(
            &mut g,
            &with(&good, 0, v),
            "certificate",
            "alice",
            "alice-phone",
            NOW,
            &format!("wire version {v:#04x}"),
            &["Grease"],
            "DecodeError::UnsupportedVersion",
        );
    }
    for t in [0x01u8, 0x06, 0x20, 0x7f] {
        inv(
            &mut g,
            &with(&good, 1, t),
            "certificate",
            "alice",
            "alice-phone",
            NOW,
            &format!("object type {t:#04x}"),
            &["Grease"],
            "DecodeError::WrongObjectType",
        );
    }
    for s in [0x0000u16, 0x0003, 0x0a0a] {
        let mut p = base.clone();
        p.suite = s;
        inv(
            &mut g,
            &signed(&p),
            "certificate",
            "alice",
            "alice-phone",
            NOW,
            &format!("suite {s:#06x} (not defined; validly signed)"),
            &["Grease"],
            "DecodeError::UnsupportedSuite",
        );
    }
    {
        // Suite 0x0002 is the hybrid suite (SPEC.md §3.7): a 196-byte
        // object that says so is decoded with the 1,380-byte layout.
        let mut p = base.clone();
        p.suite = 2;
        let b = signed(&p);
        assert_eq!(
            verify_prekey_model(&b, &[], NOW),
            Err("DecodeError::Truncated".into())
        );
        inv(
            &mut g,
            &b,
            "certificate",
            "alice",
            "alice-phone",
            NOW,
            "a classical prekey with suite 0x0002 (validly signed): decoded with the hybrid layout, 196 of 1,380 bytes",
            &["Grease"],
            "DecodeError::Truncated",
        );
    }
    inv(
        &mut g,
        &with(&with(&good, 0, 0xfa), 1, 0x7f),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "order: version 0xfa and type 0x7f: the version first",
        &["Grease", "Order"],
        "DecodeError::UnsupportedVersion",
    );
    let mut p = base.clone();
    p.suite = 0x0a0a;
    let sp = signed(&p);
    inv(
        &mut g,
        &with(&sp, 1, 0x01),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "order: object type 0x01 (a certificate) and suite 0x0a0a: the type first",
        &["Grease", "Order"],
        "DecodeError::WrongObjectType",
    );
    inv(
        &mut g,
        &[sp.as_slice(), &[0]].concat(),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "order: suite 0x0a0a and a trailing byte: UnsupportedSuite",
        &["Grease", "Order"],
        "DecodeError::UnsupportedSuite",
    );
    inv(
        &mut g,
        &sp[..40],
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "order: suite 0x0a0a, then the input ends: UnsupportedSuite",
        &["Grease", "Order"],
        "DecodeError::UnsupportedSuite",
    );
    inv(
        &mut g,
        &[all_bytes.as_slice(), &[0]].concat(),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "order: trailing byte on a prekey with every verification fault: decoding comes first",
        &["TrailingBytes", "Order"],
        "DecodeError::TrailingBytes",
    );
    f.push(g);
}

// ------------------------------------------------------------ KeyringExport

/// One step of a keyring script, applied to the model and written as JSON.
enum Step {
    Rotate(u64, [u8; 32]),
    Rekey([u8; 64], Vec<u8>, u64),
    Renew(Vec<u8>),
    Delete(u64),
    SetPolicy(Policy),
    Current(u64),
}

fn run_script(m: &mut Model, steps: Vec<Step>) -> (Vec<Value>, bool) {
    let mut out = Vec::new();
    let mut refused = false;
    for s in steps {
        let (mut v, r) = match s {
            Step::Rotate(now, drawn) => {
                let (r, was_drawn) = m.rotate(now, drawn);
                let mut v = json!({"op": "rotate", "now": now, "randomness": if was_drawn { hx(&drawn) } else { json!("") }});
                if let Ok(p) = &r {
                    v["prekey"] = hx(p);
                }
                (v, r.map(|_| ()))
            }
            Step::Rekey(secret, cert, now) => (
                json!({"op": "rekey", "secret": hx(&secret), "certificate": hx(&cert), "now": now}),
                m.rekey(secret, cert, now),
            ),
            Step::Renew(cert) => (
                json!({"op": "renew", "certificate": hx(&cert)}),
                m.renew(cert),
            ),
            Step::Delete(now) => {
                let n = m.delete(now);
                (json!({"op": "delete", "now": now, "deleted": n}), Ok(()))
            }
            Step::SetPolicy(p) => (
                json!({"op": "setPolicy", "policy": p.json()}),
                m.set_policy(p),
            ),
            Step::Current(now) => {
                let (p, due) = m.current(now);
                (
                    json!({"op": "current", "now": now, "currentPrekey": p.map_or(json!(""), |p| hx(&p)), "rotationDue": due}),
                    Ok(()),
                )
            }
        };
        match r {
            Ok(()) => v["result"] = json!("valid"),
            Err(e) => {
                refused = true;
                v["result"] = json!("invalid");
                v["error"] = json!(e);
            }
        }
        out.push(v);
    }
    (out, refused)
}

/// A device of the script world: fresh keys for `device_id` under `account`.
fn fresh(
    rng: &mut rand_chacha::ChaCha20Rng,
    account: &Account,
    device_id: [u8; 16],
    caps: u32,
    expiry: Option<u64>,
) -> (Device, Vec<u8>) {
    let mut d = Device::new(rng);
    d.device_id = device_id;
    let mut c = d.cert(account, expiry);
    c.capabilities = caps;
    (d, c.signed(&account.seed))
}

/// `d`'s certificate under `account` with `caps`, signed by `signer` (an
/// account seed: another account's makes a certificate that does not verify).
fn cert_by(d: &Device, account: &Account, caps: u32, signer: &[u8; 32]) -> Vec<u8> {
    let mut c = d.cert(account, None);
    c.capabilities = caps;
    c.signed(signer)
}

/// A device with `like`'s Ed25519 key and another X25519 key (`x` false), or
/// `like`'s X25519 key and another Ed25519 key (`x` true).
fn sharing(rng: &mut rand_chacha::ChaCha20Rng, like: &Device, x: bool) -> Device {
    let mut d = Device::new(rng);
    if x {
        d.secret[..32].copy_from_slice(&like.secret[..32]);
        d.x25519 = like.x25519;
    } else {
        d.secret[32..].copy_from_slice(&like.ed_seed);
        d.ed_seed = like.ed_seed;
        d.ed25519 = like.ed25519;
    }
    d.device_id = like.device_id;
    d
}

/// The keyrings of the scripts that `KeyringImport` starts from.
struct Scripts {
    /// One superseded key set and prekeys signed by both device keys.
    b: Model,
    /// Deleted after a re-key: prekeys signed by a key set no longer held.
    f: Model,
    /// The device's old and new keys (same device id).
    old: Device,
    new: Device,
    account: Account,
}

fn keyring_export(
    f: &mut VectorFile,
    world: &World,
    rng: &mut rand_chacha::ChaCha20Rng,
) -> Scripts {
    let mut g = Group::new(
        "KeyringExport",
        "A keyring after a scripted history, exported byte for byte (SPEC.md §3.8, §3.9).",
    );
    let carol = world.account("carol");
    let alice = world.account("alice");
    let script = |g: &mut Group,
                  secret: [u8; 64],
                  cert: Vec<u8>,
                  policy: Policy,
                  steps: Vec<Step>,
                  comment: &str,
                  flags: &[&str]|
     -> Model {
        let mut m = Model::new(secret, cert.clone());
        m.set_policy(policy).unwrap();
        let (json_steps, refused) = run_script(&mut m, steps);
        assert_eq!(refused, flags.contains(&"Refusal"), "{comment}");
        g.valid(
            comment,
            flags,
            json!({
                "secret": hx(&secret),
                "certificate": hx(&cert),
                "policy": policy.json(),
                "steps": json_steps,
                "export": hx(&m.export()),
            }),
        );
        m
    };

    // A: rotations out of clock order and at one time, a re-key, a renewal,
    // two deletions (one at the grace boundary), a last rotation.
    let id: [u8; 16] = bytes(rng);
    let (d0, c0) = fresh(rng, &carol, id, CAP_PREKEYS, None);
    let (d1, c1) = fresh(rng, &carol, id, CAP_PREKEYS, None);
    let mut renewed = d1.cert(&carol, Some(NOW + YEAR));
    renewed.capabilities = CAP_PREKEYS | 0x0001_0000;
    renewed.created_at = NOW - 15 * DAY;
    let renewed = renewed.signed(&carol.seed);
    let t0 = NOW - 20 * DAY;
    let pa = Policy {
        r: DAY,
        l: 3 * DAY,
        g: 2 * DAY,
    };
    let steps = vec![
        Step::Rotate(t0, bytes(rng)),
        Step::Rotate(t0 + DAY, bytes(rng)),
        Step::Rotate(t0 + DAY, bytes(rng)),
        Step::Rotate(t0 - DAY, bytes(rng)),
        Step::Current(t0 + DAY),
        Step::Rekey(d1.secret, c1, t0 + 2 * DAY),
        Step::Current(t0 + 2 * DAY),
        Step::Rotate(t0 + 2 * DAY, bytes(rng)),
        Step::Renew(renewed),
        Step::Delete(t0 + 5 * DAY),
        Step::Delete(t0 + 6 * DAY),
        Step::Rotate(t0 + 6 * DAY, bytes(rng)),
    ];
    let m = script(
        &mut g,
        d0.secret,
        c0,
        pa,
        steps,
        "rotations (one with the clock stepped back, two at the same time: ordered by key id), the current prekey, a re-key (no current prekey: its prekeys are the old key's), a renewal (application capability bit and expiry), deletion at created_at + L + G and retired_at + G exactly, a last rotation",
        &["Valid", "Policy", "Rekey", "Deletion", "Boundary"],
    );
    assert!(m.retired.is_empty() && m.prekeys.len() == 2);

    // B: the base of KeyringImport.
    let id: [u8; 16] = bytes(rng);
    let (old, c_old) = fresh(rng, &alice, id, CAP_PREKEYS, None);
    let (new, c_new) = fresh(rng, &alice, id, CAP_PREKEYS, None);
    let steps = vec![
        Step::Rotate(NOW - 5 * DAY, bytes(rng)),
        Step::Rotate(NOW - 3 * DAY, bytes(rng)),
        Step::Rekey(new.secret, c_new.clone(), NOW - 2 * DAY),
        Step::Rotate(NOW - 2 * DAY, bytes(rng)),
        Step::Rotate(NOW - DAY, bytes(rng)),
    ];
    let b = script(
        &mut g,
        old.secret,
        c_old,
        DEFAULT_POLICY,
        steps,
        "default policy: two rotations, a re-key, two rotations; the old key set and its prekeys stay (no deletion)",
        &["Valid", "Rekey", "Superseded"],
    );
    assert!(b.retired.len() == 1 && b.prekeys.len() == 4);

    // C: nothing but the current key set.
    let d = world.dev("carol-server");
    script(
        &mut g,
        d.device.secret,
        d.cert.clone(),
        DEFAULT_POLICY,
        vec![],
        "a fresh keyring: default policy, no superseded keys, no prekeys",
        &["Valid"],
    );

    // F: a re-key, then a deletion that removes the superseded key set
    // while prekeys it signed remain (SPEC.md §3.8 Delete): the export loads.
    let id: [u8; 16] = bytes(rng);
    let (f0, cf0) = fresh(rng, &carol, id, CAP_PREKEYS, None);
    let (f1, cf1) = fresh(rng, &carol, id, CAP_PREKEYS, None);
    let t = NOW - 12 * DAY;
    let steps = vec![
        Step::Rotate(t, bytes(rng)),
        Step::Rotate(t + 2 * DAY, bytes(rng)),
        Step::Rekey(f1.secret, cf1, t + 3 * DAY),
        Step::Delete(t + 3 * DAY + DEFAULT_POLICY.g - 1),
        Step::Delete(t + 3 * DAY + DEFAULT_POLICY.g),
        Step::Current(t + 3 * DAY + DEFAULT_POLICY.g),
        Step::Rotate(t + 3 * DAY + DEFAULT_POLICY.g, bytes(rng)),
    ];
    let fm = script(
        &mut g,
        f0.secret,
        cf0,
        DEFAULT_POLICY,
        steps,
        "rotate, re-key, delete at retired_at + G: the superseded key set goes (one ms earlier nothing does), the two prekeys its key signed stay (expires_at + G later); the export holds prekeys whose signer it no longer holds and loads",
        &["Valid", "Rekey", "Deletion", "Superseded", "Boundary"],
    );
    assert!(fm.retired.is_empty() && fm.prekeys.len() == 3);

    // Create: DeviceKeyring::new checks the keys, then the certificate
    // under its own account key (SPEC.md §3.8 Create, §3.3 steps 1–5).
    let create = |g: &mut Group, secret: [u8; 64], cert: Vec<u8>, comment: &str, flags: &[&str]| {
        let e = Model::create(secret, cert.clone()).err().unwrap();
        g.invalid(
            comment,
            flags,
            &e,
            json!({"secret": hx(&secret), "certificate": hx(&cert)}),
        );
    };
    let id: [u8; 16] = bytes(rng);
    let (k, _) = fresh(rng, &carol, id, CAP_PREKEYS, None);
    let (other, c_other) = fresh(rng, &carol, id, CAP_PREKEYS, None);
    create(
        &mut g,
        k.secret,
        c_other.clone(),
        "create with keys that are not the certificate's",
        &["Refusal"],
    );
    let by_alice = cert_by(&k, &carol, CAP_PREKEYS, &alice.seed);
    create(
        &mut g,
        k.secret,
        by_alice.clone(),
        "create with a certificate naming Carol's account, signed by Alice's",
        &["Refusal", "CertificateCheck", "BadSignature"],
    );
    create(
        &mut g,
        other.secret,
        by_alice,
        "order: other keys and a bad signature: KeyMismatch first",
        &["Refusal", "CertificateCheck", "Order"],
    );
    let weak = Account {
        seed: carol.seed,
        public: bad_ed25519()[0].0,
    };
    create(
        &mut g,
        k.secret,
        cert_by(&k, &weak, CAP_PREKEYS, &carol.seed),
        "create with a certificate whose account key is the Ed25519 neutral element (its signature cannot verify either): InvalidAccountKey",
        &["Refusal", "CertificateCheck", "Order"],
    );
    let mut tampered = c_other;
    tampered[199] ^= 0x01;
    create(
        &mut g,
        other.secret,
        tampered,
        "create with a certificate whose signature was changed",
        &["Refusal", "CertificateCheck", "BadSignature"],
    );

    // D: refusals, each changing nothing.
    let id: [u8; 16] = bytes(rng);
    let (k0, c0) = fresh(rng, &carol, id, CAP_PREKEYS, None);
    let (k1, c1) = fresh(rng, &carol, id, CAP_PREKEYS, None);
    let nid: [u8; 16] = bytes(rng);
    let (other, c_other) = fresh(rng, &carol, nid, CAP_PREKEYS, None);
    let mut same_keys_renewed = k0.cert(&carol, Some(NOW + YEAR));
    same_keys_renewed.capabilities = CAP_PREKEYS;
    let same_keys_renewed = same_keys_renewed.signed(&carol.seed);
    let mut moved = k0;
    moved.device_id = other.device_id;
    let moved_k1 = {
        let mut d = k1;
        d.device_id = other.device_id;
        cert_by(&d, &carol, 0, &alice.seed)
    };
    let moved = cert_by(&moved, &carol, CAP_PREKEYS, &carol.seed);
    let foreign = cert_by(&k0, &alice, CAP_PREKEYS, &alice.seed);
    let first_drawn: [u8; 32] = bytes(rng);
    let same_ed = sharing(rng, &k0, false);
    let same_ed_cert = cert_by(&same_ed, &carol, CAP_PREKEYS, &carol.seed);
    let same_x = sharing(rng, &k0, true);
    let same_x_cert = cert_by(&same_x, &carol, CAP_PREKEYS, &carol.seed);
    let c1_by_alice = cert_by(&k1, &carol, CAP_PREKEYS, &alice.seed);
    let steps = vec![
        Step::Rotate(NOW, first_drawn),
        // Re-key: WrongDevice, KeyMismatch, Certificate, SameKeys, Full.
        Step::Rekey(k0.secret, same_keys_renewed.clone(), NOW),
        Step::Rekey(other.secret, c_other.clone(), NOW),
        Step::Rekey(k1.secret, c_other, NOW),
        Step::Rekey(other.secret, c1.clone(), NOW),
        Step::Rekey(other.secret, c1_by_alice.clone(), NOW),
        Step::Rekey(k1.secret, c1_by_alice, NOW),
        Step::Rekey(
            k0.secret,
            cert_by(&k0, &carol, CAP_PREKEYS, &alice.seed),
            NOW,
        ),
        Step::Rekey(same_ed.secret, same_ed_cert, NOW),
        Step::Rekey(same_x.secret, same_x_cert, NOW),
        // Renew: WrongDevice, KeyMismatch, CapabilityChange, Certificate.
        Step::Renew(c1.clone()),
        Step::Renew(moved),
        Step::Renew(foreign),
        Step::Renew(moved_k1),
        Step::Renew(cert_by(&k1, &carol, 0, &alice.seed)),
        Step::Renew(cert_by(&k0, &carol, 0, &carol.seed)),
        Step::Renew(cert_by(&k0, &carol, CAP_PREKEYS | CAP_HYBRID, &carol.seed)),
        Step::Renew(cert_by(&k0, &carol, CAP_PREKEYS | 4, &carol.seed)),
        Step::Renew(cert_by(&k0, &carol, 0, &alice.seed)),
        Step::Renew(cert_by(&k0, &carol, CAP_PREKEYS, &alice.seed)),
        // Rotate and policies.
        Step::Rotate(u64::MAX - DEFAULT_POLICY.l, bytes(rng)),
        Step::Rotate(NOW + 2, first_drawn),
        Step::SetPolicy(Policy {
            r: 0,
            l: DAY,
            g: DAY,
        }),
        Step::SetPolicy(Policy {
            r: DAY,
            l: 2 * DAY - 1,
            g: DAY,
        }),
        Step::SetPolicy(Policy {
            r: DAY,
            l: 3 * DAY,
            g: 28 * DAY + 1,
        }),
        Step::SetPolicy(Policy {
            r: DAY,
            l: 2 * DAY,
            g: 29 * DAY,
        }),
        Step::SetPolicy(DEFAULT_POLICY),
        Step::Renew(same_keys_renewed),
        Step::Rekey(k1.secret, c1, NOW + 3),
        Step::Current(NOW + 4),
        Step::Rekey(k0.secret, c0.clone(), NOW + 4),
        Step::Rekey(
            same_ed.secret,
            cert_by(&same_ed, &carol, CAP_PREKEYS, &carol.seed),
            NOW + 4,
        ),
        Step::Rekey(
            same_x.secret,
            cert_by(&same_x, &carol, CAP_PREKEYS, &carol.seed),
            NOW + 4,
        ),
        Step::Rotate(NOW + 5, bytes(rng)),
        Step::Current(NOW + 4),
        Step::Current(NOW + 5),
    ];
    script(
        &mut g,
        k0.secret,
        c0.clone(),
        DEFAULT_POLICY,
        steps,
        "refusals change nothing. Re-key: with the current keys (SameKeys); another device's certificate (WrongDevice; first when the keys are not its either); keys that are not the certificate's (KeyMismatch; first when the certificate does not verify either); a certificate Alice signed (Certificate(BadSignature); first when the keys are the current ones); the current Ed25519 key with a new X25519 key, the current X25519 key with a new Ed25519 key (SameKeys). Renew: other keys (KeyMismatch), another device id or account (WrongDevice; first with other keys, CAPABILITY_PREKEYS off and a bad signature), other keys with the capability off and a bad signature (KeyMismatch), the capability off (CapabilityChange), CAPABILITY_HYBRID (bit 1) turned on (CapabilityChange), reserved bit 2 set (accepted: only bits 0 and 1 count), the capability off and a bad signature (CapabilityChange), a bad signature (Certificate). Rotate when now + L = 2^64 - 1 (InvalidPolicy, nothing drawn), to a held prekey's key (SameKeys, 32 bytes drawn). Policies: R = 0, 2R = L + 1, ceil((L + G) / R) + 1 = 33 refused; 2R = L with 32 accepted, then the default. Then a renewal, a re-key, back to the superseded keys or either of its keys (SameKeys: still held), a rotation; the current prekey before and after it",
        &["Refusal", "Rekey", "CertificateCheck", "Policy", "Order"],
    );

    // E: the limits: 8 superseded key sets, 32 prekeys.
    let id: [u8; 16] = bytes(rng);
    let (e0, ce0) = fresh(rng, &carol, id, CAP_PREKEYS, None);
    let mut steps = Vec::new();
    let mut last = (e0.secret, ce0.clone());
    for i in 0..9u64 {
        let (d, c) = fresh(rng, &carol, id, CAP_PREKEYS, None);
        if i < 8 {
            last = (d.secret, c.clone());
        }
        steps.push(Step::Rekey(d.secret, c, NOW + i));
    }
    steps.push(Step::Rekey(last.0, last.1, NOW + 9));
    for i in 0..33u64 {
        steps.push(Step::Rotate(NOW + 10 + i, bytes(rng)));
    }
    steps.push(Step::Delete(
        NOW + 10 + DEFAULT_POLICY.l + DEFAULT_POLICY.g + 3,
    ));
    steps.push(Step::Rotate(NOW + 15 * DAY, bytes(rng)));
    script(
        &mut g,
        e0.secret,
        ce0,
        DEFAULT_POLICY,
        steps,
        "limits: a 9th superseded key set is refused (Full), a re-key to the current keys with 8 held is SameKeys (before Full); a 33rd prekey is refused (Full, nothing drawn); a deletion frees room (its count includes the 8 superseded key sets: the grace after retired_at passed too), a rotation follows",
        &["Refusal", "Limit", "Deletion", "Order"],
    );

    // G: keys reused across kinds. Prekey key ids have their own label
    // (SPEC.md §3.7) and re-key compares key sets only (§3.8): a prekey
    // whose X25519 key is a key set's, and a key set whose X25519 key is a
    // prekey's, are both accepted and load.
    let id: [u8; 16] = bytes(rng);
    let (g0, cg0) = fresh(rng, &carol, id, CAP_PREKEYS, None);
    let drawn: [u8; 32] = bytes(rng);
    let mut g1 = Device::new(rng);
    g1.secret[..32].copy_from_slice(&drawn);
    g1.x25519 = craft::x25519_public(&drawn);
    g1.device_id = id;
    let cg1 = cert_by(&g1, &carol, CAP_PREKEYS, &carol.seed);
    let steps = vec![
        Step::Rotate(NOW, g0.x25519_secret()),
        Step::Rotate(NOW + 1, drawn),
        Step::Rekey(g1.secret, cg1, NOW + 2),
        Step::Rotate(NOW + 3, g1.x25519_secret()),
    ];
    script(
        &mut g,
        g0.secret,
        cg0,
        DEFAULT_POLICY,
        steps,
        "a rotation that draws the device's own X25519 secret, a re-key to the X25519 key of a held prekey, then a rotation drawing that key again (another signer and time, same prekey key id: SameKeys): a prekey key id never equals a certificate key id",
        &["Refusal", "Rekey"],
    );
    f.push(g);
    Scripts {
        b,
        f: fm,
        old,
        new,
        account: alice,
    }
}

// ------------------------------------------------------------ KeyringImport

/// A held prekey `(secret, signed prekey)` of `dev` under `account`,
/// signed by `signer` (an Ed25519 seed).
fn held_prekey(
    rng: &mut rand_chacha::ChaCha20Rng,
    account: &[u8; 32],
    device_id: [u8; 16],
    signer: &[u8; 32],
    created: u64,
    expires: u64,
) -> ([u8; 32], Vec<u8>) {
    let drawn: [u8; 32] = bytes(rng);
    let p = Prekey::new(
        *account,
        device_id,
        craft::ed25519_public(signer),
        craft::x25519_public(&drawn),
        created,
        expires,
    );
    (craft::clamp(&drawn), p.signed(signer))
}

/// The X25519 secret of a device's 64 secret bytes, clamped (SPEC.md §3.9).
fn clamped_x(d: &Device) -> [u8; 32] {
    craft::clamp(&d.x25519_secret())
}

fn keyring_import(
    f: &mut VectorFile,
    world: &World,
    s: &Scripts,
    rng: &mut rand_chacha::ChaCha20Rng,
) {
    let mut g = Group::new(
        "KeyringImport",
        "Loading a keyring export: every check of SPEC.md §3.9 in order.",
    );
    let valid = |g: &mut Group, k: &KeyringBytes, comment: &str, flags: &[&str]| {
        let bytes = k.encode();
        assert_eq!(import_model(&bytes), Ok(()), "{comment}");
        g.valid(
            comment,
            flags,
            json!({
                "export": hx(&bytes),
                "keyId": hx(&craft::certificate_key_id(&k.certificate)),
                "policy": json!({"rotationPeriodMs": k.rotation_ms, "lifetimeMs": k.lifetime_ms, "graceMs": k.grace_ms}),
                "prekeyKeyIds": k.prekeys.iter().map(|(_, p)| hx(&craft::prekey_key_id(p))).collect::<Vec<_>>(),
            }),
        );
    };
    let inv = |g: &mut Group,
               bytes: &[u8],
               comment: &str,
               flags: &[&str],
               kind: &'static str,
               detail: Option<&'static str>| {
        assert_eq!(import_model(bytes), Err((kind, detail)), "{comment}");
        let mut v = json!({"export": hx(bytes)});
        match kind {
            "Truncated" | "OutOfRange" => {
                if let Some(d) = detail {
                    v["errorField"] = json!(d);
                }
            }
            "Inconsistent" | "NonCanonical" => {
                v["errorWhat"] = json!(detail.unwrap());
            }
            _ => assert!(detail.is_none()),
        }
        g.invalid(
            comment,
            flags,
            &format!("KeyringError::Decode(DecodeError::{kind})"),
            v,
        );
    };
    let base = s.b.bytes();
    let account = s.account;
    let bob = world.account("bob");
    let id = s.new.device_id;

    // Valid.
    valid(
        &mut g,
        &world.keyring("carol-server").bytes(),
        "a keyring with no superseded keys and no prekeys",
        &["Valid"],
    );
    valid(
        &mut g,
        &base,
        "one superseded key set, prekeys signed by the old and the new device key",
        &["Valid", "Rekey", "Superseded"],
    );
    let mut k = base.clone();
    k.prekeys.insert(
        0,
        held_prekey(rng, &account.public, id, &s.old.ed_seed, 1, 1 + DAY),
    );
    valid(&mut g, &k, "a prekey that expired long ago is still loaded (expiry is not checked; deletion is the keyring's job)", &["Valid", "Expiry"]);
    let mut c = s.new.cert(&account, Some(NOW - YEAR));
    c.capabilities = CAP_PREKEYS;
    let mut k = base.clone();
    k.certificate = c.signed(&account.seed);
    valid(
        &mut g,
        &k,
        "the current certificate has expired: loaded (its signature is checked, not its expiry)",
        &["Valid", "Expiry"],
    );
    for (r, l, gr, why) in [
        (
            MAX_PREKEY_LIFETIME_MS / 2,
            MAX_PREKEY_LIFETIME_MS,
            MAX_GRACE_MS,
            "policy at its limits: L = MAX_PREKEY_LIFETIME_MS = 2R, G = MAX_GRACE_MS",
        ),
        (1, 2, 0, "policy R = 1 ms, L = 2R = 2 ms, G = 0"),
        (
            2 * DAY,
            4 * DAY,
            7 * DAY,
            "policy 2R = L (R = 2 days, L = 4 days, G = 7 days)",
        ),
        (
            DAY,
            3 * DAY,
            28 * DAY,
            "policy with ceil((L + G) / R) + 1 = 32 = MAX_KEYRING_PREKEYS",
        ),
    ] {
        let mut k = base.clone();
        (k.rotation_ms, k.lifetime_ms, k.grace_ms) = (r, l, gr);
        valid(&mut g, &k, why, &["Valid", "Policy", "Boundary"]);
    }
    valid(
        &mut g,
        &s.f.bytes(),
        "deleted after a re-key: the superseded key set is gone, prekeys its key signed remain (their signer need not be held)",
        &["Valid", "Rekey", "Deletion"],
    );
    let t = NOW;
    let foreign_seed: [u8; 32] = bytes(rng);
    let mut k = base.clone();
    k.prekeys.push(held_prekey(
        rng,
        &account.public,
        id,
        &foreign_seed,
        t,
        t + DAY,
    ));
    valid(
        &mut g,
        &k,
        "a prekey signed by (and naming) an Ed25519 key the keyring never held: its signature verifies under the key it names",
        &["Valid"],
    );
    let mut k = base.clone();
    let p = Prekey::new(account.public, id, s.new.ed25519, s.new.x25519, t, t + DAY)
        .signed(&s.new.ed_seed);
    k.prekeys.push((clamped_x(&s.new), p));
    valid(
        &mut g,
        &k,
        "a prekey whose X25519 key is the current certificate's: its prekey key id is not the certificate key id, so nothing is held twice by key id",
        &["Valid"],
    );
    let mut k = base.clone();
    let p = Prekey::new(account.public, id, s.new.ed25519, s.old.x25519, t, t + DAY)
        .signed(&s.new.ed_seed);
    k.prekeys.push((clamped_x(&s.old), p));
    valid(
        &mut g,
        &k,
        "a prekey whose X25519 key is the superseded certificate's (another key id)",
        &["Valid", "Superseded"],
    );

    // Step 1: prefix, policy.
    let enc = |k: &KeyringBytes| k.encode();
    for (r, l, gr, why) in [
        (0, DAY, DAY, "rotation period 0"),
        (2 * DAY, DAY, DAY, "rotation period above the lifetime"),
        (DAY, DAY, DAY, "R = L (valid before 2R <= L)"),
        (DAY, 2 * DAY - 1, DAY, "2R = L + 1"),
        (2 * DAY, 4 * DAY - 1, 7 * DAY, "2R = L + 1 (R = 2 days)"),
        (
            MAX_PREKEY_LIFETIME_MS / 2,
            MAX_PREKEY_LIFETIME_MS + 1,
            0,
            "lifetime MAX_PREKEY_LIFETIME_MS + 1",
        ),
        (
            MAX_PREKEY_LIFETIME_MS / 2,
            MAX_PREKEY_LIFETIME_MS,
            MAX_GRACE_MS + 1,
            "grace MAX_GRACE_MS + 1",
        ),
        (DAY, 3 * DAY, 28 * DAY + 1, "ceil((L + G) / R) + 1 = 33"),
        (
            DAY,
            2 * DAY,
            30 * DAY,
            "ceil((L + G) / R) + 1 = 33 with (L + G) / R exact",
        ),
        (u64::MAX, u64::MAX, u64::MAX, "every field 2^64 - 1"),
        (0, 0, 0, "all zero"),
    ] {
        let mut k = base.clone();
        (k.rotation_ms, k.lifetime_ms, k.grace_ms) = (r, l, gr);
        inv(
            &mut g,
            &enc(&k),
            &format!("invalid policy: {why}"),
            &["Inconsistent", "Policy"],
            "Inconsistent",
            Some("keyring policy"),
        );
    }
    let good = enc(&base);
    for v in [0x01u8, 0x03, 0xfa] {
        inv(
            &mut g,
            &with(&good, 0, v),
            &format!("wire version {v:#04x}"),
            &["Grease"],
            "UnsupportedVersion",
            None,
        );
    }
    for t in [0x01u8, 0x07, 0x21] {
        inv(
            &mut g,
            &with(&good, 1, t),
            &format!("object type {t:#04x}"),
            &["Grease"],
            "WrongObjectType",
            None,
        );
    }
    let mut k = base.clone();
    k.rotation_ms = 0;
    let bad_policy = enc(&k);
    inv(&mut g, &bad_policy[..100], "order: invalid policy, then the input ends inside the current certificate: the policy first", &["Order", "Policy"], "Inconsistent", Some("keyring policy"));
    inv(
        &mut g,
        &[bad_policy.as_slice(), &[0]].concat(),
        "order: invalid policy and a trailing byte",
        &["Order", "Policy"],
        "Inconsistent",
        Some("keyring policy"),
    );
    inv(
        &mut g,
        &with(&good, 0, 0xfa)[..20],
        "order: version 0xfa and truncated in the policy: the version first",
        &["Order", "Grease"],
        "UnsupportedVersion",
        None,
    );

    // Step 2: the current key set.
    for (i, bit, why) in [
        (0usize, 0x01u8, "bit 0 of the first byte set"),
        (0, 0x04, "bit 2 of the first byte set"),
        (31, 0x80, "bit 7 of the last byte set"),
        (31, 0x40, "bit 6 of the last byte clear"),
    ] {
        let mut k = base.clone();
        k.secret[i] ^= bit;
        inv(
            &mut g,
            &enc(&k),
            &format!("the current X25519 secret is not clamped: {why} (the same key: X25519 clamps at use)"),
            &["Unclamped"],
            "NonCanonical",
            Some("X25519 secret not clamped"),
        );
    }
    let mut k = base.clone();
    k.secret[0] |= 0x07;
    inv(
        &mut g,
        &enc(&k)[..ko::CERTIFICATE + 50],
        "order: an unclamped current secret, then the input ends inside the certificate: NonCanonical first",
        &["Unclamped", "Order"],
        "NonCanonical",
        Some("X25519 secret not clamped"),
    );
    k.certificate[0] = 0x01;
    k.secret[40] ^= 0x01;
    inv(
        &mut g,
        &enc(&k),
        "order: an unclamped current secret, a certificate of wire version 0x01, a seed that is not the certificate's: NonCanonical first",
        &["Unclamped", "Order"],
        "NonCanonical",
        Some("X25519 secret not clamped"),
    );
    let mut k = base.clone();
    k.secret[31] |= 0x80;
    k.rotation_ms = 0;
    inv(
        &mut g,
        &enc(&k),
        "order: an invalid policy and an unclamped current secret: the policy first",
        &["Unclamped", "Order", "Policy"],
        "Inconsistent",
        Some("keyring policy"),
    );
    let mut k = base.clone();
    k.secret[0] ^= 0x10;
    inv(
        &mut g,
        &enc(&k),
        "the current X25519 secret is not the certificate's",
        &["Inconsistent"],
        "Inconsistent",
        Some("device secret and certificate"),
    );
    let mut k = base.clone();
    k.secret[40] ^= 0x01;
    inv(
        &mut g,
        &enc(&k),
        "the current Ed25519 seed is not the certificate's",
        &["Inconsistent"],
        "Inconsistent",
        Some("device secret and certificate"),
    );
    let mut cert = s.new.cert(&account, None);
    cert.capabilities = CAP_PREKEYS;
    let mut k = base.clone();
    k.certificate = cert.signed(&bob.seed);
    inv(
        &mut g,
        &enc(&k),
        "the current certificate names Alice's account but Bob signed it",
        &["Inconsistent", "BadSignature"],
        "Inconsistent",
        Some("certificate signature"),
    );
    let mut k = base.clone();
    k.certificate[199] ^= 0x01;
    inv(
        &mut g,
        &enc(&k),
        "the current certificate's signature is changed",
        &["Inconsistent", "BadSignature"],
        "Inconsistent",
        Some("certificate signature"),
    );
    let mut k = base.clone();
    k.certificate[0] = 0x01;
    inv(
        &mut g,
        &enc(&k),
        "the current certificate has wire version 0x01",
        &["Grease"],
        "UnsupportedVersion",
        None,
    );
    let mut k = base.clone();
    k.certificate[1] = 0x07;
    inv(
        &mut g,
        &enc(&k),
        "the current certificate has object type 0x07 (a prekey)",
        &["Grease"],
        "WrongObjectType",
        None,
    );
    let mut c = cert.clone();
    c.suite = 0x0a0a;
    let mut k = base.clone();
    k.certificate = c.signed(&account.seed);
    inv(
        &mut g,
        &enc(&k),
        "the current certificate has suite 0x0a0a (validly signed)",
        &["Grease"],
        "UnsupportedSuite",
        None,
    );
    let mut k = base.clone();
    k.secret[0] ^= 0x10;
    k.certificate[199] ^= 0x01;
    inv(&mut g, &enc(&k), "order: a secret that is not the certificate's, and a bad certificate signature: the keys first", &["Order", "Inconsistent"], "Inconsistent", Some("device secret and certificate"));

    // Step 3: superseded key sets.
    let mut b = good.clone();
    b[ko::RETIRED_COUNT] = 9;
    inv(
        &mut g,
        &b,
        "retired count 9",
        &["Limit"],
        "OutOfRange",
        Some("retired count"),
    );
    let mut b = good.clone();
    b[ko::RETIRED_COUNT] = 255;
    inv(
        &mut g,
        &b[..300],
        "order: retired count 255 and the input ends: OutOfRange before Truncated",
        &["Limit", "Order"],
        "OutOfRange",
        Some("retired count"),
    );
    let mut b = good.clone();
    b[ko::RETIRED_COUNT] = 8;
    inv(
        &mut g,
        &b,
        "retired count 8 with one set and the prekeys following: fewer than 8 × 240 bytes left",
        &["Truncated"],
        "Truncated",
        Some("retired keys"),
    );
    let rb = ko::RETIRED_COUNT + 1;
    let mut b = good.clone();
    b.truncate(rb + ko::RETIRED_LEN - 1);
    inv(
        &mut g,
        &b,
        "the input ends one byte before the end of the superseded set",
        &["Truncated"],
        "Truncated",
        Some("retired keys"),
    );
    // Another device, another account.
    let nid: [u8; 16] = bytes(rng);
    let (od, oc) = fresh(rng, &account, nid, CAP_PREKEYS, None);
    let mut k = base.clone();
    k.retired[0] = (clamped_x(&od), oc, NOW - 2 * DAY);
    inv(
        &mut g,
        &enc(&k),
        "a superseded set of another device of the account (its own keys and certificate)",
        &["Inconsistent", "WrongDevice"],
        "Inconsistent",
        Some("retired keys of another device"),
    );
    let mut c = s.old.cert(&bob, None);
    c.capabilities = CAP_PREKEYS;
    let mut k = base.clone();
    k.retired[0].1 = c.signed(&bob.seed);
    inv(
        &mut g,
        &enc(&k),
        "the superseded set's certificate is Bob's certificate of the same keys and device id",
        &["Inconsistent", "WrongAccount"],
        "Inconsistent",
        Some("retired keys of another device"),
    );
    // Order and duplicates.
    let (d2, c2) = fresh(rng, &account, id, CAP_PREKEYS, None);
    let second = (clamped_x(&d2), c2.clone(), NOW - 4 * DAY);
    let mut k = base.clone();
    k.retired.push(second.clone());
    inv(
        &mut g,
        &enc(&k),
        "two superseded sets, retired_at descending",
        &["NonCanonical"],
        "NonCanonical",
        Some("retired keys order"),
    );
    let mut sorted = k.clone();
    sorted.retired.reverse();
    valid(
        &mut g,
        &sorted,
        "the same two superseded sets in ascending retired_at",
        &["Valid", "Rekey"],
    );
    let mut k = base.clone();
    let mut b2 = second.clone();
    b2.2 = k.retired[0].2;
    k.retired.push(b2);
    let mut same_time = k.clone();
    same_time
        .retired
        .sort_by_key(|(_, c, at)| std::cmp::Reverse((*at, craft::certificate_key_id(c))));
    inv(
        &mut g,
        &enc(&same_time),
        "two superseded sets retired at the same time, key ids descending",
        &["NonCanonical"],
        "NonCanonical",
        Some("retired keys order"),
    );
    let mut k = base.clone();
    k.retired.push(k.retired[0].clone());
    inv(&mut g, &enc(&k), "order: the same superseded set twice: NonCanonical (not greater) before device keys held twice", &["NonCanonical", "Order"], "NonCanonical", Some("retired keys order"));
    let mut k = base.clone();
    k.retired[0] = (clamped_x(&s.new), k.certificate.clone(), NOW - 2 * DAY);
    inv(
        &mut g,
        &enc(&k),
        "the superseded set is the current key set",
        &["Inconsistent"],
        "Inconsistent",
        Some("device keys held twice"),
    );
    let mut same_ed = Device::new(rng);
    same_ed.secret[32..].copy_from_slice(&s.new.ed_seed);
    same_ed.ed25519 = s.new.ed25519;
    same_ed.device_id = id;
    let mut c = same_ed.cert(&account, None);
    c.capabilities = CAP_PREKEYS;
    let mut k = base.clone();
    k.retired
        .push((clamped_x(&same_ed), c.signed(&account.seed), NOW));
    inv(
        &mut g,
        &enc(&k),
        "a second superseded set with another X25519 key, its certificate naming the current Ed25519 key",
        &["Inconsistent"],
        "Inconsistent",
        Some("device keys held twice"),
    );
    let mut same_x = Device::new(rng);
    same_x.secret[..32].copy_from_slice(&s.old.secret[..32]);
    same_x.x25519 = s.old.x25519;
    same_x.device_id = id;
    let mut c = same_x.cert(&account, None);
    c.capabilities = CAP_PREKEYS;
    let mut k = base.clone();
    k.retired
        .push((clamped_x(&same_x), c.signed(&account.seed), NOW));
    inv(
        &mut g,
        &enc(&k),
        "a second superseded set with the first one's X25519 key (another Ed25519 key)",
        &["Inconsistent"],
        "Inconsistent",
        Some("device keys held twice"),
    );
    let mut k = base.clone();
    k.retired[0].0[0] ^= 0x10;
    inv(
        &mut g,
        &enc(&k),
        "the superseded X25519 secret is not its certificate's",
        &["Inconsistent"],
        "Inconsistent",
        Some("device secret and certificate"),
    );
    let mut k = base.clone();
    k.retired[0].1[120] ^= 0x01;
    inv(
        &mut g,
        &enc(&k),
        "the superseded certificate's signature does not verify (signed field changed)",
        &["Inconsistent", "BadSignature"],
        "Inconsistent",
        Some("certificate signature"),
    );
    let mut k = base.clone();
    let nid: [u8; 16] = bytes(rng);
    let (od2, oc2) = fresh(rng, &account, nid, CAP_PREKEYS, None);
    k.retired.push((clamped_x(&od2), oc2, NOW - 9 * DAY));
    inv(
        &mut g,
        &enc(&k),
        "order: a superseded set of another device, out of order as well: another device first",
        &["Order", "WrongDevice"],
        "Inconsistent",
        Some("retired keys of another device"),
    );
    let mut k = base.clone();
    k.retired[0].1[199] ^= 0x01;
    k.retired[0].1[40] ^= 0x01;
    inv(&mut g, &enc(&k), "order: the superseded certificate names another device id and its signature is bad: the certificate signature (step 2 of the set) first", &["Order", "Inconsistent"], "Inconsistent", Some("certificate signature"));

    for (i, bit, why) in [
        (0usize, 0x02u8, "bit 1 of the first byte set"),
        (31, 0x80, "bit 7 of the last byte set"),
        (31, 0x40, "bit 6 of the last byte clear"),
    ] {
        let mut k = base.clone();
        k.retired[0].0[i] ^= bit;
        inv(
            &mut g,
            &enc(&k),
            &format!("the superseded X25519 secret is not clamped: {why}"),
            &["Unclamped", "Superseded"],
            "NonCanonical",
            Some("X25519 secret not clamped"),
        );
    }
    let mut k = base.clone();
    k.retired[0].0[0] |= 0x01;
    k.retired[0].1[0] = 0x01;
    inv(
        &mut g,
        &enc(&k),
        "order: an unclamped superseded secret and its certificate of wire version 0x01: NonCanonical first",
        &["Unclamped", "Order"],
        "NonCanonical",
        Some("X25519 secret not clamped"),
    );
    let mut k = base.clone();
    k.retired[0].0[0] ^= 0x10;
    k.retired[0].1[1] = 0x07;
    inv(
        &mut g,
        &enc(&k),
        "order: a superseded certificate of object type 0x07 and a secret that is not its key: the certificate's decoding first",
        &["Order", "Grease"],
        "WrongObjectType",
        None,
    );
    let mut k = base.clone();
    k.retired[0].0[0] ^= 0x10;
    k.retired[0].1[199] ^= 0x01;
    inv(
        &mut g,
        &enc(&k),
        "order: a superseded secret that is not its certificate's key and a bad certificate signature: the key first",
        &["Order", "Inconsistent"],
        "Inconsistent",
        Some("device secret and certificate"),
    );
    let mut k = base.clone();
    let (od3, oc3) = fresh(rng, &bob, id, CAP_PREKEYS, None);
    k.retired[0] = (clamped_x(&od3), oc3, NOW - 2 * DAY);
    let mut bad = k.clone();
    bad.retired[0].1[199] ^= 0x01;
    inv(
        &mut g,
        &enc(&bad),
        "order: a superseded set of Bob's account whose signature is bad: the certificate signature before another device",
        &["Order", "WrongAccount"],
        "Inconsistent",
        Some("certificate signature"),
    );

    // Step 4: prekeys.
    let pb = rb + ko::RETIRED_LEN;
    let mut b = good.clone();
    b[pb] = 33;
    inv(
        &mut g,
        &b,
        "prekey count 33",
        &["Limit"],
        "OutOfRange",
        Some("prekey count"),
    );
    let mut b = good.clone();
    b[pb] = 5;
    inv(
        &mut g,
        &b,
        "prekey count 5 with 4 prekeys",
        &["Truncated"],
        "Truncated",
        Some("prekeys"),
    );
    let mut k = base.clone();
    k.prekeys[1].1[0] = 0x01;
    inv(
        &mut g,
        &enc(&k),
        "a held prekey with wire version 0x01",
        &["Grease"],
        "UnsupportedVersion",
        None,
    );
    let mut k = base.clone();
    k.prekeys[1].1[1] = 0x01;
    inv(
        &mut g,
        &enc(&k),
        "a held prekey with object type 0x01",
        &["Grease"],
        "WrongObjectType",
        None,
    );
    let mut k = base.clone();
    k.prekeys[1].1[3] = 0x03;
    inv(
        &mut g,
        &enc(&k),
        "a held prekey with suite 0x0003 (not defined)",
        &["Grease"],
        "UnsupportedSuite",
        None,
    );
    // Suite 0x0002 is defined (hybrid, SPEC.md §3.7) but belongs to the
    // other section: refused from its suite field, before the entry's
    // layout is decoded (SPEC.md §3.9 step 4).
    let mut k = base.clone();
    k.prekeys[1].1[3] = 0x02;
    inv(
        &mut g,
        &enc(&k),
        "a held classical prekey relabelled to suite 0x0002: the other suite's section, refused before decoding",
        &["Grease"],
        "NonCanonical",
        Some("prekey of the other suite's section"),
    );
    let mut k = base.clone();
    k.prekeys.swap(1, 2);
    inv(
        &mut g,
        &enc(&k),
        "two prekeys out of (created_at, key id) order",
        &["NonCanonical"],
        "NonCanonical",
        Some("prekeys order"),
    );
    let mut k = base.clone();
    k.prekeys.insert(2, k.prekeys[1].clone());
    inv(
        &mut g,
        &enc(&k),
        "order: the same prekey twice: NonCanonical (not greater) before key held twice",
        &["NonCanonical", "Order"],
        "NonCanonical",
        Some("prekeys order"),
    );
    let c3 = craft::prekey_created_at(&base.prekeys[3].1);
    let e3 = c3 + 4 * DAY;
    let twin = held_prekey(rng, &account.public, id, &s.new.ed_seed, c3, e3);
    let mut k = base.clone();
    k.prekeys.push(twin);
    k.prekeys
        .sort_by_key(|(_, p)| std::cmp::Reverse(craft::prekey_key_id(p)));
    let mut k2 = base.clone();
    k2.prekeys.truncate(3);
    k2.prekeys.extend(
        k.prekeys
            .iter()
            .filter(|(_, p)| craft::prekey_created_at(p) == c3)
            .cloned(),
    );
    inv(
        &mut g,
        &enc(&k2),
        "two prekeys created at the same time, key ids descending",
        &["NonCanonical"],
        "NonCanonical",
        Some("prekeys order"),
    );
    let last = |k: &mut KeyringBytes, p: ([u8; 32], Vec<u8>)| k.prekeys.push(p);
    for (i, bit, why) in [
        (0usize, 0x04u8, "bit 2 of the first byte set"),
        (31, 0x80, "bit 7 of the last byte set"),
        (31, 0x40, "bit 6 of the last byte clear"),
    ] {
        let mut k = base.clone();
        k.prekeys[2].0[i] ^= bit;
        inv(
            &mut g,
            &enc(&k),
            &format!("the third prekey's X25519 secret is not clamped: {why}"),
            &["Unclamped"],
            "NonCanonical",
            Some("X25519 secret not clamped"),
        );
    }
    let mut k = base.clone();
    k.prekeys.swap(1, 2);
    k.prekeys[1].0[0] |= 0x01;
    k.prekeys[1].1[0] = 0x03;
    inv(
        &mut g,
        &enc(&k),
        "order: a prekey out of order, with an unclamped secret and wire version 0x03: NonCanonical(X25519 secret not clamped) first",
        &["Unclamped", "Order"],
        "NonCanonical",
        Some("X25519 secret not clamped"),
    );
    let mut k = base.clone();
    k.prekeys.swap(1, 2);
    k.prekeys[1].1[0] = 0x03;
    inv(
        &mut g,
        &enc(&k),
        "order: a prekey out of order with wire version 0x03: its decoding first",
        &["Order", "Grease"],
        "UnsupportedVersion",
        None,
    );
    let mut k = base.clone();
    let nid: [u8; 16] = bytes(rng);
    last(
        &mut k,
        held_prekey(rng, &account.public, nid, &s.new.ed_seed, t, t + DAY),
    );
    inv(
        &mut g,
        &enc(&k),
        "a prekey naming another device id (signed by the current key)",
        &["Inconsistent", "WrongDevice"],
        "Inconsistent",
        Some("prekey of another device"),
    );
    let mut k = base.clone();
    last(
        &mut k,
        held_prekey(rng, &bob.public, id, &s.new.ed_seed, t, t + DAY),
    );
    inv(
        &mut g,
        &enc(&k),
        "a prekey naming Bob's account (signed by the current key)",
        &["Inconsistent", "WrongAccount"],
        "Inconsistent",
        Some("prekey of another device"),
    );
    let mut k = base.clone();
    let mut p = held_prekey(rng, &account.public, id, &s.new.ed_seed, t, t + DAY);
    p.0[0] ^= 0x10;
    last(&mut k, p);
    inv(
        &mut g,
        &enc(&k),
        "a prekey secret that is not the prekey's key",
        &["Inconsistent"],
        "Inconsistent",
        Some("prekey secret and public key"),
    );
    let mut k = base.clone();
    last(
        &mut k,
        held_prekey(rng, &account.public, id, &s.new.ed_seed, t, t),
    );
    inv(
        &mut g,
        &enc(&k),
        "a prekey with expires_at = created_at (validly signed)",
        &["Inconsistent", "Lifetime", "Boundary"],
        "Inconsistent",
        Some("prekey lifetime"),
    );
    let mut k = base.clone();
    last(
        &mut k,
        held_prekey(
            rng,
            &account.public,
            id,
            &s.new.ed_seed,
            t,
            t + MAX_PREKEY_LIFETIME_MS + 1,
        ),
    );
    inv(
        &mut g,
        &enc(&k),
        "a prekey with lifetime MAX_PREKEY_LIFETIME_MS + 1 (validly signed)",
        &["Inconsistent", "Lifetime", "Boundary"],
        "Inconsistent",
        Some("prekey lifetime"),
    );
    let mut k = base.clone();
    k.prekeys[3].1[195] ^= 0x01;
    inv(
        &mut g,
        &enc(&k),
        "a held prekey's signature changed",
        &["Inconsistent", "BadSignature"],
        "Inconsistent",
        Some("prekey signature"),
    );
    let mut k = base.clone();
    let (sec, p) = held_prekey(rng, &account.public, id, &s.new.ed_seed, t, t + DAY);
    let mut ncs = p[..132].to_vec();
    ncs.extend_from_slice(&non_canonical_s(&p[132..]));
    last(&mut k, (sec, ncs));
    inv(
        &mut g,
        &enc(&k),
        "a held prekey with s + L",
        &["Inconsistent", "NonCanonicalSignature"],
        "Inconsistent",
        Some("prekey signature"),
    );
    let mut k = base.clone();
    let (sec, p0) = base.prekeys[3].clone();
    let p = Prekey::new(
        account.public,
        id,
        s.new.ed25519,
        craft::x25519_public(&sec),
        t,
        t + DAY,
    )
    .signed(&s.new.ed_seed);
    assert_eq!(&p0[84..116], &p[84..116]);
    last(&mut k, (sec, p));
    inv(
        &mut g,
        &enc(&k),
        "a second prekey with an earlier prekey's key (another created_at, validly signed)",
        &["Inconsistent"],
        "Inconsistent",
        Some("key held twice"),
    );
    // Order within step 4.
    let mut k = base.clone();
    let nid: [u8; 16] = bytes(rng);
    let mut p = held_prekey(rng, &account.public, nid, &foreign_seed, 1, 1 + DAY);
    p.0[0] ^= 0x10;
    k.prekeys.push(p);
    inv(&mut g, &enc(&k), "order: a last prekey out of order, of another device, foreign signer, wrong secret: NonCanonical first", &["Order", "NonCanonical"], "NonCanonical", Some("prekeys order"));
    let mut k = base.clone();
    let nid: [u8; 16] = bytes(rng);
    let mut p = held_prekey(rng, &account.public, nid, &foreign_seed, t, t);
    p.0[0] ^= 0x10;
    last(&mut k, p);
    inv(&mut g, &enc(&k), "order: another device (signed by a key never held), wrong secret, invalid lifetime: another device first", &["Order", "WrongDevice"], "Inconsistent", Some("prekey of another device"));
    let mut k = base.clone();
    let mut p = held_prekey(rng, &account.public, id, &s.new.ed_seed, t, t);
    p.0[0] ^= 0x10;
    p.1[195] ^= 0x01;
    last(&mut k, p);
    inv(
        &mut g,
        &enc(&k),
        "order: wrong secret, invalid lifetime, bad signature: the secret first",
        &["Order", "Inconsistent"],
        "Inconsistent",
        Some("prekey secret and public key"),
    );
    let mut k = base.clone();
    let mut p = held_prekey(rng, &account.public, id, &s.new.ed_seed, t, t);
    p.1[195] ^= 0x01;
    last(&mut k, p);
    inv(
        &mut g,
        &enc(&k),
        "order: invalid lifetime and bad signature: the lifetime first",
        &["Order", "Lifetime"],
        "Inconsistent",
        Some("prekey lifetime"),
    );
    let mut k = base.clone();
    let (sec, p0) = base.prekeys[3].clone();
    let mut p = Prekey::new(
        account.public,
        id,
        s.new.ed25519,
        craft::x25519_public(&sec),
        t,
        t + DAY,
    )
    .signed(&s.new.ed_seed);
    assert_eq!(&p0[84..116], &p[84..116]);
    p[195] ^= 0x01;
    last(&mut k, (sec, p));
    inv(
        &mut g,
        &enc(&k),
        "order: a bad signature on a prekey with an earlier prekey's key: the signature first, then key held twice",
        &["Order", "BadSignature"],
        "Inconsistent",
        Some("prekey signature"),
    );
    let mut k = base.clone();
    k.prekeys[0].1[195] ^= 0x01;
    k.prekeys[3].1[0] = 0x03;
    inv(&mut g, &enc(&k), "order: a bad signature on the first prekey and a bad version on the last: the entries are checked in order", &["Order", "BadSignature"], "Inconsistent", Some("prekey signature"));

    // Step 5.
    inv(
        &mut g,
        &[good.as_slice(), &[0]].concat(),
        "one trailing byte",
        &["TrailingBytes"],
        "TrailingBytes",
        None,
    );
    inv(
        &mut g,
        &[good.as_slice(), &good].concat(),
        "two exports back to back",
        &["TrailingBytes"],
        "TrailingBytes",
        None,
    );
    let mut k = base.clone();
    k.prekeys[3].1[195] ^= 0x01;
    inv(
        &mut g,
        &[enc(&k).as_slice(), &[0]].concat(),
        "order: a bad prekey signature and a trailing byte: the signature first",
        &["Order", "TrailingBytes"],
        "Inconsistent",
        Some("prekey signature"),
    );

    // Truncation at every field boundary of the base export.
    let mut cuts: Vec<(usize, Option<&str>)> = vec![
        (0, None),
        (1, None),
        (2, Some("rotation period")),
        (10, Some("prekey lifetime")),
        (18, Some("grace period")),
        (ko::SECRET, None),
    ];
    for c in [0usize, 1, 2, 4, 36, 52, 84, 116, 124, 132, 136] {
        cuts.push((ko::CERTIFICATE + c, None));
    }
    cuts.push((ko::RETIRED_COUNT, Some("retired count")));
    for c in [0usize, 32, 232] {
        cuts.push((rb + c, Some("retired keys")));
    }
    cuts.push((pb, Some("prekey count")));
    for i in 0..4 {
        for c in [0usize, 32, 34, 132] {
            cuts.push((pb + 1 + i * ko::PREKEY_LEN + c, Some("prekeys")));
        }
    }
    cuts.push((good.len() - 2, Some("prekeys")));
    cuts.push((good.len() - 1, Some("hybrid prekey count")));
    for (cut, field) in cuts {
        inv(
            &mut g,
            &good[..cut],
            &format!("truncated to {cut} bytes"),
            &["Truncated"],
            "Truncated",
            field,
        );
    }
    f.push(g);
}

// ------------------------------------------------------------ SealToPrekeys

/// An honest envelope of a SealToPrekeys case, reused by OpenWithKeyring.
struct Sealed {
    label: &'static str,
    env: CraftEnvelope,
    bytes: Vec<u8>,
}

const DIRECTORY: [&str; 3] = ["alice", "bob", "carol"];
const OPEN_NOW: u64 = NOW + 5;

fn seal_to_prekeys(
    f: &mut VectorFile,
    world: &World,
    rng: &mut rand_chacha::ChaCha20Rng,
) -> Vec<Sealed> {
    let mut g = Group::new(
        "SealToPrekeys",
        "seal to verified prekeys, byte for byte, and its refusals (SPEC.md §4.9, §5.1 step 7); every keyring opens each envelope (§5.2 step 2).",
    );
    let pk = |name: &'static str, list: &'static str, at: u64| Passed {
        name,
        list,
        at,
        times: 1,
    };
    let pkn = |name: &'static str, list: &'static str, at: u64, times: usize| Passed {
        name,
        list,
        at,
        times,
    };
    type Case = (
        &'static str,
        &'static str,
        Vec<&'static str>,
        Vec<Passed>,
        u64,
        &'static [u8],
        &'static str,
        Vec<&'static str>,
    );
    let cases: Vec<Case> = vec![
        (
            "all",
            "alice-phone",
            vec!["alice", "bob", "carol"],
            vec![
                pk("alice-phone-1", "alice", NOW),
                pk("alice-phone-2", "alice", NOW),
                pk("alice-laptop-a", "alice", NOW),
                pk("alice-laptop-b", "alice", NOW),
                pk("bob-phone-1", "bob", NOW),
                pk("bob-tablet-1", "bob", NOW),
                pk("carol-phone-old", "carol", NOW - 1),
                pk("carol-phone-1", "carol", NOW),
            ],
            NOW,
            b"prekeys everywhere",
            "to every account, the sender's own device included: alice-phone (itself) and bob-phone to their newest prekey, alice-laptop to the greater key id of two prekeys made at the same time, bob-tablet (no CAPABILITY_PREKEYS) to the prekey passed for it, carol-server (no capability, no prekey) to its certificate key, carol-phone to its unexpired prekey (the expired one is skipped); alice-watch has expired and is skipped",
            vec!["Valid", "SelfSync", "NoCapability", "Expiry"],
        ),
        (
            "tablet",
            "bob-tablet",
            vec!["bob", "carol"],
            vec![pk("bob-phone-1", "bob", NOW), pk("carol-phone-1", "carol", NOW)],
            NOW,
            b"no prekey for the sender",
            "bob-tablet (no capability) sends with no prekey of its own passed: it wraps to its own certificate key; bob-phone and carol-phone to their prekeys",
            vec!["Valid", "SelfSync", "NoCapability"],
        ),
        (
            "older",
            "carol-server",
            vec!["alice"],
            vec![
                pk("alice-phone-1", "alice", NOW - 2 * DAY),
                pk("alice-laptop-a", "alice", NOW - 2 * DAY),
                pk("alice-laptop-b", "alice", NOW - 2 * DAY),
                pk("alice-watch-1", "alice", NOW - 2 * DAY),
            ],
            NOW - 2 * DAY,
            b"two days ago",
            "sealed two days ago to alice-phone's then newest prekey (its next prekey did not exist yet), alice-laptop's two of that moment, and alice-watch's (its certificate expired since)",
            vec!["Valid", "Superseded"],
        ),
        (
            "bob-old-cert",
            "carol-server",
            vec!["bob-old"],
            vec![],
            NOW - 11 * DAY,
            b"before the re-key",
            "sealed to Bob's list before bob-phone re-keyed (its old certificate had no CAPABILITY_PREKEYS), no prekeys: both devices' certificate keys",
            vec!["Valid", "NoCapability", "Rekey"],
        ),
        (
            "bob-old-prekey",
            "carol-server",
            vec!["bob-old"],
            vec![pk("bob-phone-old-1", "bob-old", NOW - 11 * DAY)],
            NOW - 11 * DAY,
            b"before the re-key, to a prekey",
            "sealed to Bob's list before the re-key with bob-phone's prekey of that time: a prekey passed for a device without the capability is used",
            vec!["Valid", "NoCapability", "Rekey"],
        ),
        (
            "ignored",
            "carol-phone",
            vec!["bob"],
            vec![
                pk("alice-phone-2", "alice", NOW),
                pk("bob-phone-old-1", "bob-old", NOW - 11 * DAY),
                pk("bob-phone-1", "bob", NOW),
            ],
            NOW,
            b"only bob",
            "prekeys for devices that are not recipients (alice-phone) and bob-phone's prekey from before its re-key are ignored; the sender's own list is not passed",
            vec!["Valid", "Rekey"],
        ),
        (
            "skew",
            "carol-server",
            vec!["bob"],
            vec![
                pk("bob-phone-1", "bob", NOW),
                pk("bob-phone-skew", "bob", NOW),
                pk("bob-tablet-1", "bob", NOW),
            ],
            NOW,
            b"an hour ahead",
            "bob-phone's prekey dated exactly MAX_PREKEY_CLOCK_SKEW_MS after now is usable, and the newest: the wrap goes to it",
            vec!["Valid", "NotYetValid", "Boundary"],
        ),
        (
            "future",
            "carol-server",
            vec!["bob"],
            vec![
                pk("bob-phone-future", "bob", NOW + 1),
                pk("bob-phone-1", "bob", NOW),
                pk("bob-tablet-1", "bob", NOW),
            ],
            NOW,
            b"not from the future",
            "bob-phone's prekey dated MAX_PREKEY_CLOCK_SKEW_MS + 1 after now (verified a millisecond later) is not usable at now: the wrap goes to its older prekey",
            vec!["Valid", "NotYetValid", "Boundary"],
        ),
        (
            "sibling",
            "alice-phone",
            vec!["carol"],
            vec![
                pk("carol-phone-1", "carol", NOW),
                pk("carol-server-copy", "carol", NOW),
            ],
            NOW,
            b"one key, two devices",
            "carol-server republished carol-phone's prekey X25519 key: the two prekeys have distinct key ids (the device id is hashed in), so both devices are sealed to, each wrap bound to its own device",
            vec!["Valid", "Sibling", "NoCapability"],
        ),
        (
            "many",
            "carol-server",
            vec!["bob"],
            vec![
                pkn("bob-phone-1", "bob", NOW, MAX_SEAL_PREKEYS - 1),
                pk("bob-tablet-1", "bob", NOW),
            ],
            NOW,
            b"4096 prekeys",
            "exactly MAX_SEAL_PREKEYS verified prekeys passed (bob-phone's 4095 times, bob-tablet's once)",
            vec!["Valid", "Limit", "Boundary"],
        ),
    ];
    let mut sealed = Vec::new();
    for (label, sender, lists, passed, now, payload, comment, flags) in cases {
        assert_eq!(
            seal_refusal(world, sender, sender, &lists, &passed, now),
            None,
            "{comment}"
        );
        let randomness: [u8; 80] = bytes(rng);
        let ms: [u8; 32] = randomness[16..48].try_into().unwrap();
        let targets = wrap_targets(world, &lists, &passed, now, ms).unwrap();
        let e = envelope(
            world,
            sender,
            targets,
            payload,
            b"prekey-vectors",
            now,
            &randomness,
        );
        let enc = e.encode();
        let n = e.recipients.len();
        let wraps: Vec<Value> = e
            .recipients
            .iter()
            .map(|r| {
                let (to, key) = world.key_name(&r.key_id);
                let device = if to == "prekey" {
                    world.prekeys.iter().find(|p| p.name == key).unwrap().device
                } else {
                    key
                };
                json!({
                    "keyId": hx(&r.key_id),
                    "device": device,
                    "to": to,
                    "key": key,
                    "x25519Public": hx(&r.x25519),
                    "recipientBinding": hx(&r.recipient_binding),
                })
            })
            .collect();
        if label == "all" {
            let to = |k: &str| wraps.iter().find(|w| w["key"] == k).is_some();
            assert!(
                to("alice-phone-2")
                    && !to("alice-phone-1")
                    && to("carol-server")
                    && to("bob-tablet-1")
            );
            assert!(to("carol-phone-1") && !to("carol-phone-old") && !to("alice-watch"));
            let (a, b) = (
                craft::prekey_key_id(world.prekey("alice-laptop-a")),
                craft::prekey_key_id(world.prekey("alice-laptop-b")),
            );
            assert!(to(if a > b {
                "alice-laptop-a"
            } else {
                "alice-laptop-b"
            }));
        }
        let to = |k: &str| wraps.iter().any(|w| w["key"] == k);
        match label {
            "skew" => assert!(to("bob-phone-skew") && !to("bob-phone-1")),
            "future" => assert!(to("bob-phone-1") && !to("bob-phone-future")),
            "sibling" => {
                assert!(to("carol-phone-1") && to("carol-server-copy"));
                assert_eq!(wraps[0]["x25519Public"], wraps[1]["x25519Public"]);
                assert_ne!(wraps[0]["keyId"], wraps[1]["keyId"]);
            }
            _ => {}
        }
        let opens: Vec<Value> = world
            .keyrings
            .iter()
            .map(|(name, _, _)| open_result(world, &e, name))
            .collect();
        g.valid(
            comment,
            &flags,
            json!({
                "sender": sender,
                "recipients": lists,
                "prekeys": passed_json(&passed),
                "payload": hx(payload),
                "aad": hx(b"prekey-vectors"),
                "padding": {"type": "padme"},
                "now": now,
                "randomness": {
                    "messageId": hx(&randomness[..16]),
                    "messageSecret": hx(&randomness[16..48]),
                    "ephemeralSecret": hx(&randomness[48..]),
                },
                "envelope": hx(&enc),
                "header": {"recipients": e.recipients.iter().map(|r| hx(&r.key_id)).collect::<Vec<_>>()},
                "wraps": wraps,
                "deliveries": e.recipients.iter().enumerate().map(|(i, r)| json!({
                    "keyId": hx(&r.key_id),
                    "delivery": hx(&delivery(&enc, n, i)),
                })).collect::<Vec<_>>(),
                "directory": DIRECTORY,
                "openNow": OPEN_NOW,
                "opens": opens,
            }),
        );
        sealed.push(Sealed {
            label,
            env: e,
            bytes: enc,
        });
    }

    // Refusals: nothing is drawn.
    let refuse = |g: &mut Group,
                  sender: &str,
                  cert: &str,
                  lists: &[&str],
                  passed: &[Passed],
                  now: u64,
                  comment: &str,
                  flags: &[&str],
                  error: &str,
                  missing: Option<&str>| {
        let mut v = json!({
            "sender": sender,
            "senderCertificate": cert,
            "recipients": lists,
            "prekeys": passed_json(passed),
            "payload": hx(b"hello"),
            "aad": hx(b""),
            "padding": {"type": "padme"},
            "now": now,
        });
        assert_eq!(
            seal_refusal(world, sender, cert, lists, passed, now).as_deref(),
            Some(error),
            "{comment}"
        );
        if error == "SealError::TooManyPrekeys" {
            v["prekeyCount"] = json!(passed_count(passed));
        }
        if let Some(dev) = missing {
            let d = world.dev(dev);
            let got = wrap_targets(world, lists, passed, now, [0; 32])
                .err()
                .unwrap();
            assert_eq!(
                got,
                (world.account(d.account).public, d.device.device_id),
                "{comment}"
            );
            v["missingAccount"] = hx(&got.0);
            v["missingDeviceId"] = hx(&got.1);
        }
        g.invalid(comment, flags, error, v);
    };
    const MP: &str = "SealError::MissingPrekey";
    refuse(
        &mut g,
        "alice-phone",
        "alice-phone",
        &["bob"],
        &[pk("bob-tablet-1", "bob", NOW)],
        NOW,
        "bob-phone requires prekeys and its prekey is withheld (bob-tablet's is passed)",
        &["MissingPrekey"],
        MP,
        Some("bob-phone"),
    );
    refuse(&mut g, "alice-phone", "alice-phone", &["carol"], &[pk("carol-phone-old", "carol", NOW - 1)], NOW, "only an expired prekey of carol-phone (verified before it expired, expires exactly at now)", &["MissingPrekey", "Expiry", "Boundary"], MP, Some("carol-phone"));
    refuse(&mut g, "alice-phone", "alice-phone", &["bob"], &[pk("bob-phone-old-1", "bob-old", NOW - 11 * DAY)], NOW - 9 * DAY, "bob-phone's only prekey was verified against its certificate from before the re-key (unexpired, but signed by the old key): not usable for the current certificate", &["MissingPrekey", "Rekey"], MP, Some("bob-phone"));
    refuse(&mut g, "carol-server", "carol-server", &["bob"], &[pk("bob-phone-future", "bob", NOW + 1), pk("bob-tablet-1", "bob", NOW)], NOW, "bob-phone's only prekey is dated MAX_PREKEY_CLOCK_SKEW_MS + 1 after now (verified a millisecond later): not usable, and no fallback", &["MissingPrekey", "NotYetValid", "Boundary"], MP, Some("bob-phone"));
    const TM: &str = "SealError::TooManyPrekeys";
    let too_many = [
        pkn("bob-phone-1", "bob", NOW, MAX_SEAL_PREKEYS),
        pk("bob-tablet-1", "bob", NOW),
    ];
    refuse(
        &mut g,
        "carol-server",
        "carol-server",
        &["bob"],
        &too_many,
        NOW,
        "MAX_SEAL_PREKEYS + 1 verified prekeys passed",
        &["Limit", "Boundary"],
        TM,
        None,
    );
    refuse(
        &mut g,
        "carol-server",
        "carol-server",
        &["bob", "bob"],
        &too_many,
        NOW,
        "order: too many prekeys and Bob's list twice: TooManyPrekeys is the first check of step 6",
        &["Limit", "Order"],
        TM,
        None,
    );
    refuse(&mut g, "carol-server", "carol-server", &["carol"], &too_many, NOW, "order: too many prekeys and carol-phone without one: TooManyPrekeys (step 6) before MissingPrekey (step 7)", &["Limit", "Order"], TM, None);
    refuse(&mut g, "alice-phone", "carol-server", &["bob"], &too_many, NOW, "order: alice-phone's keys with carol-server's certificate and too many prekeys: CertificateMismatch (step 1) first", &["Limit", "Order"], "SealError::CertificateMismatch", None);
    refuse(
        &mut g,
        "alice-watch",
        "alice-watch",
        &["bob"],
        &too_many,
        NOW,
        "order: an expired sender and too many prekeys: SenderCertificateExpired (step 2) first",
        &["Limit", "Order", "Expiry"],
        "SealError::SenderCertificateExpired",
        None,
    );
    refuse(
        &mut g,
        "alice-phone",
        "alice-phone",
        &["alice", "bob"],
        &[
            pk("alice-laptop-a", "alice", NOW),
            pk("bob-phone-1", "bob", NOW),
            pk("bob-tablet-1", "bob", NOW),
        ],
        NOW,
        "the sender's own device requires prekeys and its own prekey is not passed",
        &["MissingPrekey", "SelfSync"],
        MP,
        Some("alice-phone"),
    );
    refuse(&mut g, "alice-phone", "alice-phone", &["carol", "bob"], &[], NOW, "order: carol-phone and bob-phone both lack a prekey: the first list passed names the device", &["MissingPrekey", "Order"], MP, Some("carol-phone"));
    refuse(
        &mut g,
        "alice-phone",
        "alice-phone",
        &["bob", "carol"],
        &[],
        NOW,
        "order: the same lists in the other order",
        &["MissingPrekey", "Order"],
        MP,
        Some("bob-phone"),
    );
    let (p, l) = (world.dev("alice-phone"), world.dev("alice-laptop"));
    let first = if p.device.device_id < l.device.device_id {
        "alice-phone"
    } else {
        "alice-laptop"
    };
    refuse(&mut g, "carol-server", "carol-server", &["alice"], &[], NOW, "order: alice-phone and alice-laptop both lack a prekey: the first in list order (ascending device id) is named", &["MissingPrekey", "Order"], MP, Some(first));
    refuse(&mut g, "alice-phone", "alice-phone", &["bob", "bob"], &[], NOW, "order: Bob's list twice, no prekeys: DuplicateRecipient (step 6) before MissingPrekey (step 7)", &["Order"], "SealError::DuplicateRecipient", None);
    refuse(&mut g, "bob-phone-old", "bob-phone-old", &["bob"], &[], NOW, "order: bob-phone's old keys and certificate send to Bob's current list, no prekeys: SenderNotOnOwnList (step 6) first", &["Order", "Rekey"], "SealError::SenderNotOnOwnList", None);
    refuse(&mut g, "alice-phone", "carol-server", &["bob"], &[], NOW, "order: alice-phone's keys with carol-server's certificate, no prekeys: CertificateMismatch (step 1) first", &["Order"], "SealError::CertificateMismatch", None);
    refuse(
        &mut g,
        "alice-watch",
        "alice-watch",
        &["bob"],
        &[],
        NOW,
        "order: an expired sender, no prekeys: SenderCertificateExpired (step 2) first",
        &["Order", "Expiry"],
        "SealError::SenderCertificateExpired",
        None,
    );
    f.push(g);
    sealed
}

// ------------------------------------------------------------ OpenWithKeyring

fn open_with_keyring(
    f: &mut VectorFile,
    world: &World,
    sealed: &[Sealed],
    rng: &mut rand_chacha::ChaCha20Rng,
) {
    let mut g = Group::new(
        "OpenWithKeyring",
        "A keyring opens with any key it holds: current and superseded certificate keys, prekeys; a deleted key is NotARecipient (SPEC.md §3.8, §5.2 step 2).",
    );
    let get = |label: &str| sealed.iter().find(|s| s.label == label).unwrap();
    let case = |g: &mut Group,
                keyring: &str,
                e: &CraftEnvelope,
                message: &[u8],
                comment: &str,
                flags: &[&str]| {
        let mut v = open_result(world, e, keyring);
        let obj = v.as_object_mut().unwrap();
        obj.remove("keyring");
        let result = obj.remove("result").unwrap();
        let error = obj.remove("error");
        obj.insert("keyring".into(), json!(keyring));
        obj.insert("message".into(), hx(message));
        obj.insert("directory".into(), json!(DIRECTORY));
        obj.insert("now".into(), json!(OPEN_NOW));
        match (result.as_str().unwrap(), error) {
            ("valid", None) => g.valid(comment, flags, v),
            (_, Some(err)) => g.invalid(comment, flags, err.as_str().unwrap(), v),
            _ => unreachable!(),
        }
    };
    let all = get("all");
    let ap2 = craft::prekey_key_id(world.prekey("alice-phone-2"));
    let i = all
        .env
        .recipients
        .iter()
        .position(|r| r.key_id == ap2)
        .unwrap();
    case(&mut g, "alice-phone", &all.env, &delivery(&all.bytes, all.env.recipients.len(), i), "alice-phone opens its delivery with its current prekey (every byte of a delivery matters to its device)", &["Valid"]);
    case(
        &mut g,
        "alice-phone",
        &all.env,
        &all.bytes,
        "alice-phone opens the whole envelope with its current prekey",
        &["Valid"],
    );
    let older = get("older");
    let ap1 = craft::prekey_key_id(world.prekey("alice-phone-1"));
    let i = older
        .env
        .recipients
        .iter()
        .position(|r| r.key_id == ap1)
        .unwrap();
    case(&mut g, "alice-phone", &older.env, &delivery(&older.bytes, older.env.recipients.len(), i), "alice-phone opens its delivery of an envelope wrapped to its older prekey (a newer one is current)", &["Valid", "Superseded"]);
    let c = get("bob-old-cert");
    case(
        &mut g,
        "bob-phone",
        &c.env,
        &c.bytes,
        "bob-phone, re-keyed, opens an envelope wrapped to its superseded certificate key",
        &["Valid", "Rekey", "Superseded"],
    );
    let p = get("bob-old-prekey");
    case(
        &mut g,
        "bob-phone",
        &p.env,
        &p.bytes,
        "bob-phone, re-keyed, opens an envelope wrapped to a prekey its old key signed",
        &["Valid", "Rekey", "Superseded"],
    );
    case(
        &mut g,
        "bob-phone-deleted",
        &p.env,
        &p.bytes,
        "after deletion at now, the prekey's secret is gone (expires_at + G <= now)",
        &["Deletion", "NotARecipient"],
    );
    case(
        &mut g,
        "bob-phone-deleted",
        &c.env,
        &c.bytes,
        "after deletion at now, the superseded key set is gone (retired_at + G <= now)",
        &["Deletion", "NotARecipient"],
    );
    case(
        &mut g,
        "bob-phone-partial",
        &p.env,
        &p.bytes,
        "deleted after the superseded key set's grace but not the prekey's: the prekey its old key signed still opens",
        &["Valid", "Deletion", "Rekey"],
    );
    case(
        &mut g,
        "bob-phone-partial",
        &c.env,
        &c.bytes,
        "the same keyring: the superseded certificate key is gone",
        &["Deletion", "NotARecipient"],
    );
    let sk = get("skew");
    case(
        &mut g,
        "bob-phone",
        &sk.env,
        &sk.bytes,
        "bob-phone opens with the prekey dated MAX_PREKEY_CLOCK_SKEW_MS ahead",
        &["Valid", "NotYetValid"],
    );
    let sib = get("sibling");
    case(
        &mut g,
        "carol-phone",
        &sib.env,
        &sib.bytes,
        "carol-phone opens with its own prekey, although carol-server's copy of its key is named too",
        &["Valid", "Sibling"],
    );
    case(
        &mut g,
        "carol-server-sibling",
        &sib.env,
        &sib.bytes,
        "carol-server opens with its copy (its own key id and binding)",
        &["Valid", "Sibling"],
    );
    case(
        &mut g,
        "bob-tablet",
        &all.env,
        &all.bytes,
        "bob-tablet (no capability) opens with the prekey it was sealed to",
        &["Valid", "NoCapability"],
    );
    let t = get("tablet");
    case(
        &mut g,
        "bob-tablet",
        &t.env,
        &t.bytes,
        "bob-tablet opens what it sent itself, wrapped to its certificate key",
        &["Valid", "SelfSync", "NoCapability"],
    );
    case(
        &mut g,
        "carol-phone",
        &all.env,
        &all.bytes,
        "carol-phone holds an expired prekey and a current one: the header names the current one",
        &["Valid"],
    );

    // Crafted envelopes from carol-server.
    let craft_env = |recipients: Vec<CraftRecipient>, randomness: &[u8; 80], payload: &[u8]| {
        let mut r = recipients;
        r.sort_by_key(|x| x.key_id);
        let e = envelope(
            world,
            "carol-server",
            r,
            payload,
            b"crafted",
            NOW,
            randomness,
        );
        let b = e.encode();
        (e, b)
    };
    let randomness: [u8; 80] = bytes(rng);
    let ms: [u8; 32] = randomness[16..48].try_into().unwrap();
    let phone_cert = &world.dev("alice-phone").cert;
    let (e, b) = craft_env(
        vec![CraftRecipient::to_certificate(phone_cert, ms)],
        &randomness,
        b"to the certificate key",
    );
    case(&mut g, "alice-phone", &e, &b, "a sender that breaks rule 2 wraps to alice-phone's certificate key although it requires prekeys: alice-phone opens it (the receiver refuses nothing it holds)", &["Valid", "Crafted"]);
    case(
        &mut g,
        "alice-laptop",
        &e,
        &b,
        "the same envelope: alice-laptop is not named",
        &["Crafted", "NotARecipient"],
    );
    let randomness: [u8; 80] = bytes(rng);
    let ms: [u8; 32] = randomness[16..48].try_into().unwrap();
    let two = vec![
        CraftRecipient::to_prekey(world.prekey("alice-phone-1"), ms),
        CraftRecipient::to_prekey(world.prekey("alice-phone-2"), ms),
    ];
    let (e, b) = craft_env(two.clone(), &randomness, b"two keys of one keyring");
    case(&mut g, "alice-phone", &e, &b, "the header names two prekeys of alice-phone (both wraps valid): the key at the lowest header position opens", &["Valid", "Crafted"]);
    let mut bad = two;
    bad.sort_by_key(|x| x.key_id);
    bad[0].wrapped_secret = bytes(rng);
    let (e, b) = craft_env(bad, &randomness, b"two keys of one keyring");
    g.invalid(
        "the same, but the wrap at the lowest position carries another message secret: Unauthenticated, with no second try at the later position",
        &["Crafted"],
        "OpenError::Unauthenticated",
        json!({"keyring": "alice-phone", "message": hx(&b), "directory": DIRECTORY, "now": OPEN_NOW}),
    );
    let _ = e;
    let randomness: [u8; 80] = bytes(rng);
    let ms: [u8; 32] = randomness[16..48].try_into().unwrap();
    let (e, b) = craft_env(
        vec![CraftRecipient::to_prekey(
            world.prekey("carol-server-copy"),
            ms,
        )],
        &randomness,
        b"for the sibling only",
    );
    case(&mut g, "carol-phone", &e, &b, "an envelope wrapped only to carol-server's copy of carol-phone's prekey key: carol-phone, which holds that X25519 secret, is not named (the key id names the device) and does not try the wrap", &["Sibling", "Crafted", "NotARecipient"]);
    case(
        &mut g,
        "carol-server-sibling",
        &e,
        &b,
        "the same envelope: carol-server opens it",
        &["Valid", "Sibling", "Crafted"],
    );
    let randomness: [u8; 80] = bytes(rng);
    let ms: [u8; 32] = randomness[16..48].try_into().unwrap();
    let mut r = CraftRecipient::to_prekey(world.prekey("alice-phone-2"), ms);
    r.recipient_binding = craft::certificate_binding(phone_cert);
    let (_, b) = craft_env(vec![r], &randomness, b"wrong binding");
    g.invalid(
        "a wrap to alice-phone's current prekey bound with its certificate's binding instead of the prekey's: Unauthenticated",
        &["Crafted"],
        "OpenError::Unauthenticated",
        json!({"keyring": "alice-phone", "message": hx(&b), "directory": DIRECTORY, "now": OPEN_NOW}),
    );
    f.push(g);
}
