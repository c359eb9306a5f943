//! The device keyring's persisted form (SPEC.md §3.9): versioned, canonical
//! bytes that hold secrets, produced in a zeroizing buffer and loaded
//! all-or-nothing.
//!
//! ```text
//! 0x02 || 0x20
//! u64 rotation period || u64 lifetime || u64 grace            (ms)
//! current:  64 secret bytes || 200-byte certificate
//! u8 r (0..=8),  r × (32-byte X25519 secret || certificate || u64 retired at)
//! u8 p (0..=32), p × (32-byte X25519 secret || 196-byte signed prekey)
//! u8 h (0..=32), h × (32-byte X-Wing seed   || 1380-byte hybrid signed prekey)
//! ```
//!
//! Superseded key sets are sorted by `(retired at, key id)`, prekeys of each
//! suite by `(created at, key id)`, all strictly, so each keyring has exactly
//! one encoding.

use alloc::vec::Vec;

use zeroize::Zeroizing;

use crate::codec::{Reader, Writer};
use crate::consts::{limit, object_type};
use crate::error::{DecodeError, KeyringError};
use crate::identity::certificate::{DeviceCertificate, CERTIFICATE_LEN};
use crate::identity::keyring::{
    DeviceKeyring, Identity, PrekeyKey, PrekeyPolicy, PrekeySecret, Retired,
};
use crate::identity::keys::DeviceSecret;
use crate::identity::prekey::{
    lifetime_is_valid, SignedPrekey, HYBRID_SIGNED_PREKEY_LEN, SIGNED_PREKEY_LEN,
};
use crate::primitives::{Ed25519Public, X25519Secret, XWingSecret};
use crate::suite::Suite;

const IDENTITY_LEN: usize = 64 + CERTIFICATE_LEN;
const RETIRED_LEN: usize = 32 + CERTIFICATE_LEN + 8;
const PREKEY_LEN: usize = 32 + SIGNED_PREKEY_LEN;
const HYBRID_PREKEY_LEN: usize = 32 + HYBRID_SIGNED_PREKEY_LEN;

fn inconsistent(what: &'static str) -> KeyringError {
    KeyringError::Decode(DecodeError::Inconsistent(what))
}

impl DeviceKeyring {
    /// The keyring as versioned, canonical bytes (SPEC.md §3.9), in a buffer
    /// that is wiped on drop. They hold every secret of the device: store
    /// them as carefully as the device's keys. Export after every change
    /// (rotation, deletion, re-key): a restored older copy holds secrets
    /// deleted since, and so reopens the forward-secrecy window they closed.
    pub fn export(&self) -> Zeroizing<Vec<u8>> {
        let r = self.export_inner();
        crate::primitives::scrub_stack();
        r
    }

    #[inline(never)]
    fn export_inner(&self) -> Zeroizing<Vec<u8>> {
        let len = 2
            + 24
            + IDENTITY_LEN
            + 1
            + RETIRED_LEN * self.retired.len()
            + 1
            + PREKEY_LEN * self.prekeys.len()
            + 1
            + HYBRID_PREKEY_LEN * self.hybrid_prekeys.len();
        // Exactly sized: the buffer never reallocates, so no copy of a
        // secret is left behind in freed memory.
        let mut w = Writer::with_capacity(len);
        w.object_prefix(object_type::DEVICE_KEYRING);
        w.u64(self.policy.rotation_period_ms);
        w.u64(self.policy.lifetime_ms);
        w.u64(self.policy.grace_ms);
        put_identity(&mut w, &self.current);
        w.u8(u8::try_from(self.retired.len()).unwrap_or(u8::MAX));
        for r in &self.retired {
            let mut secret = r.secret.to_bytes();
            clamp(&mut secret);
            w.put(secret.as_ref());
            r.certificate.encode_into(&mut w);
            w.u64(r.retired_at);
        }
        for prekeys in [&self.prekeys, &self.hybrid_prekeys] {
            w.u8(u8::try_from(prekeys.len()).unwrap_or(u8::MAX));
            for p in prekeys {
                w.put(p.secret.export_bytes().as_ref());
                w.put(&p.prekey.to_bytes());
            }
        }
        Zeroizing::new(w.into_vec())
    }

    /// Loads a keyring exported by [`DeviceKeyring::export`], checking
    /// everything in the order of SPEC.md §3.9; nothing is half-loaded.
    ///
    /// # Errors
    /// [`KeyringError::Decode`] with the first field that fails: a
    /// [`DecodeError`] for malformed bytes (truncated, trailing, counts out
    /// of range, unsorted entries: `NonCanonical`) and
    /// [`DecodeError::Inconsistent`] for bytes that decode but contradict
    /// themselves (a secret that is not its certificate's or prekey's key, a
    /// signature that does not verify, another device's certificate, a key
    /// held twice, an invalid policy or prekey lifetime).
    pub fn import(bytes: &[u8]) -> Result<Self, KeyringError> {
        let r = import_inner(bytes);
        crate::primitives::scrub_stack();
        r
    }
}

fn put_identity(w: &mut Writer, identity: &Identity) {
    let mut secret = identity.secret.export_secret_bytes();
    if let Some(x25519) = secret.first_chunk_mut::<32>() {
        clamp(x25519);
    }
    w.put(secret.as_ref());
    identity.certificate.encode_into(w);
}

/// RFC 7748 §5 clamping. X25519 uses only the clamped scalar, so the export
/// stores it clamped: one encoding per key (SPEC.md §3.9).
pub(crate) fn clamp(scalar: &mut [u8; 32]) {
    scalar[0] &= 248;
    scalar[31] &= 127;
    scalar[31] |= 64;
}

fn is_clamped(scalar: &[u8]) -> bool {
    matches!(scalar, [first, .., last] if first & 7 == 0 && last & 0xc0 == 0x40)
}

#[inline(never)]
fn import_inner(bytes: &[u8]) -> Result<DeviceKeyring, KeyringError> {
    let mut r = Reader::new(bytes);
    r.object_prefix(object_type::DEVICE_KEYRING)?;
    let policy = PrekeyPolicy {
        rotation_period_ms: r.u64("rotation period")?,
        lifetime_ms: r.u64("prekey lifetime")?,
        grace_ms: r.u64("grace period")?,
    };
    if !policy.is_valid() {
        return Err(inconsistent("keyring policy"));
    }
    let current = read_identity(&mut r)?;
    let cert = &current.certificate;
    let (account, device_id) = (*cert.account(), cert.device_id());

    let count = usize::from(r.u8("retired count")?);
    let count = r.bounded(count, 0, limit::MAX_KEYRING_RETIRED, "retired count")?;
    r.require(count.saturating_mul(RETIRED_LEN), "retired keys")?;
    let mut retired: Vec<Retired> = Vec::with_capacity(count);
    for _ in 0..count {
        let entry = read_retired(&mut r)?;
        let c = &entry.certificate;
        if *c.account() != account || c.device_id() != device_id {
            return Err(inconsistent("retired keys of another device"));
        }
        if retired
            .last()
            .is_some_and(|prev| prev.order() >= entry.order())
        {
            return Err(DecodeError::NonCanonical("retired keys order").into());
        }
        let same_keys = |other: &DeviceCertificate| {
            let (a, b) = (other.keys(), c.keys());
            a.x25519 == b.x25519 || a.ed25519 == b.ed25519
        };
        if same_keys(&current.certificate) || retired.iter().any(|x| same_keys(&x.certificate)) {
            return Err(inconsistent("device keys held twice"));
        }
        retired.push(entry);
    }

    let prekeys = read_prekeys(&mut r, Suite::Classical, &current, &retired, &[])?;
    let hybrid_prekeys = read_prekeys(&mut r, Suite::Hybrid, &current, &retired, &prekeys)?;
    r.finish()?;
    Ok(DeviceKeyring {
        current,
        retired,
        prekeys,
        hybrid_prekeys,
        policy,
    })
}

/// One prekey section (SPEC.md §3.9): a count, then `secret || signed prekey`
/// entries of `suite`, strictly by `(created at, key id)`. `held` are the
/// prekeys already read (of the other suite).
fn read_prekeys(
    r: &mut Reader<'_>,
    suite: Suite,
    current: &Identity,
    retired: &[Retired],
    held: &[PrekeySecret],
) -> Result<Vec<PrekeySecret>, KeyringError> {
    let (count_field, entry_len) = match suite {
        Suite::Classical => ("prekey count", PREKEY_LEN),
        Suite::Hybrid => ("hybrid prekey count", HYBRID_PREKEY_LEN),
    };
    let count = usize::from(r.u8(count_field)?);
    let count = r.bounded(count, 0, limit::MAX_KEYRING_PREKEYS, count_field)?;
    r.require(count.saturating_mul(entry_len), "prekeys")?;
    let mut prekeys: Vec<PrekeySecret> = Vec::with_capacity(count);
    for _ in 0..count {
        let secret_bytes = Zeroizing::new(r.array::<32>("prekey secret")?);
        if suite == Suite::Classical && !is_clamped(secret_bytes.as_ref()) {
            return Err(DecodeError::NonCanonical("X25519 secret not clamped").into());
        }
        // The entry's suite field (bytes 2–3 of the signed prekey) is
        // checked before its layout is decoded (SPEC.md §3.9 step 4).
        let other = match suite {
            Suite::Classical => Suite::Hybrid,
            Suite::Hybrid => Suite::Classical,
        };
        if r.peek(4).and_then(|b| b.get(2..4)) == Some(&other.id().to_be_bytes()[..]) {
            return Err(DecodeError::NonCanonical("prekey of the other suite's section").into());
        }
        let prekey = SignedPrekey::decode(r)?;
        let secret = match suite {
            Suite::Classical => PrekeyKey::X25519(X25519Secret::from_bytes(&secret_bytes)),
            Suite::Hybrid => PrekeyKey::XWing(XWingSecret::from_seed(&secret_bytes)),
        };
        let entry = PrekeySecret::new(secret, prekey);
        if prekeys
            .last()
            .is_some_and(|prev| prev.order() >= entry.order())
        {
            return Err(DecodeError::NonCanonical("prekeys order").into());
        }
        check_prekey(&entry, current)?;
        let id = entry.key_id;
        let dup = current.key_id == id
            || retired.iter().any(|x| x.key_id == id)
            || held.iter().chain(&prekeys).any(|p| p.key_id == id);
        if dup {
            return Err(inconsistent("key held twice"));
        }
        prekeys.push(entry);
    }
    Ok(prekeys)
}

/// A superseded key set: its clamped X25519 secret, the certificate it was
/// addressed under (signed by its own account), and when it was replaced.
fn read_retired(r: &mut Reader<'_>) -> Result<Retired, KeyringError> {
    let secret_bytes = Zeroizing::new(r.array::<32>("retired X25519 secret")?);
    if !is_clamped(secret_bytes.as_ref()) {
        return Err(DecodeError::NonCanonical("X25519 secret not clamped").into());
    }
    let certificate = DeviceCertificate::decode(r)?;
    let secret = X25519Secret::from_bytes(&secret_bytes);
    if secret.public() != certificate.keys().x25519 {
        return Err(inconsistent("device secret and certificate"));
    }
    certificate
        .verify_signed_by(certificate.account())
        .map_err(|_| inconsistent("certificate signature"))?;
    let retired_at = r.u64("retired at")?;
    Ok(Retired {
        key_id: certificate.key_id(),
        binding: certificate.recipient_binding(),
        secret,
        certificate,
        retired_at,
    })
}

/// 64 secret bytes and the certificate they belong to, which must be
/// signed by its own account (the device's own certificate).
fn read_identity(r: &mut Reader<'_>) -> Result<Identity, KeyringError> {
    let secret_bytes = Zeroizing::new(r.array::<64>("device secret")?);
    if !is_clamped(secret_bytes.get(..32).unwrap_or(&[])) {
        return Err(DecodeError::NonCanonical("X25519 secret not clamped").into());
    }
    let certificate = DeviceCertificate::decode(r)?;
    let secret = DeviceSecret::from_secret_bytes(&secret_bytes);
    Identity::new(secret, certificate).map_err(|e| match e {
        KeyringError::KeyMismatch => inconsistent("device secret and certificate"),
        _ => inconsistent("certificate signature"),
    })
}

/// A held prekey belongs to this device, its secret is its key, its
/// lifetime is valid and its signature verifies under the device key it
/// names. That key need not be held any more: a superseded key set is
/// deleted on its own schedule, before the prekeys it signed (SPEC.md §3.8).
fn check_prekey(entry: &PrekeySecret, current: &Identity) -> Result<(), KeyringError> {
    let p = &entry.prekey;
    let cert = &current.certificate;
    if p.account() != cert.account() || p.device_id() != cert.device_id() {
        return Err(inconsistent("prekey of another device"));
    }
    if entry.secret.public() != *p.key() {
        return Err(inconsistent("prekey secret and public key"));
    }
    if !lifetime_is_valid(p.created_at(), p.expires_at()) {
        return Err(inconsistent("prekey lifetime"));
    }
    let signer =
        Ed25519Public::from_bytes(p.device_key()).map_err(|_| inconsistent("prekey signature"))?;
    p.verify_signature(&signer)
        .map_err(|_| inconsistent("prekey signature"))
}
