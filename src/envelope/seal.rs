//! `seal`: encrypt once, wrap the message secret per device, sign inside
//! (SPEC.md §5.1).
//!
//! Randomness is drawn from the caller's RNG in this order: message id (16
//! bytes), message secret (32), then for the classical suite the ephemeral
//! X25519 key (32), for the hybrid suite 64 bytes of X-Wing encapsulation
//! randomness per recipient device in key-id order. Nothing else is random,
//! so a seeded RNG reproduces an envelope byte for byte.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use rand_core::CryptoRng;
use zeroize::{Zeroize, Zeroizing};

use crate::consts::{limit, size};
use crate::envelope::header::{Header, MessageId};
use crate::envelope::hpke::{self, ScheduleContext};
use crate::envelope::hpke_xwing::{xwing_encap, XWingScheduleContext};
use crate::envelope::padding::Padding;
use crate::envelope::schedule::{transcript, wrap_info, write_body, BodyFields, MessageKeys};
use crate::envelope::wire::{Envelope, KemCiphertext, Wrap};
use crate::error::SealError;
use crate::identity::prekey::PrekeyPublic;
use crate::identity::{
    AccountPublicKey, DeviceCertificate, DeviceId, DeviceSecret, KeyId, VerifiedDeviceCertificate,
    VerifiedDeviceList, VerifiedPrekey,
};
use crate::primitives::X25519Secret;
use crate::suite::Suite;

/// What to send: the payload, caller associated data (carried encrypted and
/// returned to every recipient), the padding policy and the suite policy.
///
/// Build it with struct update syntax so that later fields keep their
/// defaults: `Message { payload, aad, ..Message::default() }`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Message<'a> {
    /// The payload.
    pub payload: &'a [u8],
    /// Associated data, for example a conversation id. Encrypted and signed.
    pub aad: &'a [u8],
    /// Padding policy (Padmé by default).
    pub padding: Padding,
    /// Suite policy ([`SuitePolicy::Auto`] by default: hybrid exactly when
    /// every recipient device supports it, SPEC.md §4.10).
    pub suite: SuitePolicy,
}

/// Which suite a sender accepts (SPEC.md §4.10). The suite itself is never
/// the sender's free choice: an envelope is hybrid exactly when every
/// recipient device's certificate has [`crate::CAPABILITY_HYBRID`], so no
/// directory, relay or network attacker can make a sender that could use the
/// hybrid suite use the classical one, and one classical wrap never exposes a
/// hybrid envelope's body (there is one message secret per envelope).
///
/// # Example
/// ```
/// use fanseal::{Message, SuitePolicy};
/// let msg = Message { payload: b"hi", suite: SuitePolicy::RequireHybrid, ..Message::default() };
/// assert_eq!(msg.suite, SuitePolicy::RequireHybrid);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SuitePolicy {
    /// The hybrid suite when every recipient device supports it, else the
    /// classical one. [`crate::Opened::suite`] tells each receiver which.
    #[default]
    Auto,
    /// Seal only with the hybrid suite: when some recipient device lacks
    /// [`crate::CAPABILITY_HYBRID`], fail with
    /// [`SealError::HybridUnavailable`] listing every such device.
    RequireHybrid,
}

/// Seals `message` from the sending device to every active device on the
/// `recipients` lists (the sender's own list included for self-sync; devices
/// whose certificate expired at `now` are skipped).
///
/// The sending device is wrapped for too when its own list is passed: if it
/// were left out, the relay could subtract the header's key ids from the
/// sender's published list and learn which device sent the message (SPEC.md
/// §5.1). It costs one X25519, and lets the sender reopen what it sent.
///
/// The suite (SPEC.md §4.10): hybrid (X-Wing, 1,168 bytes per device) when
/// every recipient device's certificate has [`crate::CAPABILITY_HYBRID`],
/// each wrapped to its newest usable hybrid prekey; otherwise classical
/// (DHKEM(X25519), 48 bytes per device), each wrapped to its newest usable
/// classical prekey, or to its certificate key when it does not require
/// prekeys (SPEC.md §4.9). Pass every verified prekey you have, of either
/// suite; those that are not needed are ignored.
///
/// # Errors
/// [`SealError`] for caller mistakes: keys that do not match the certificate,
/// an expired sending certificate, a sending device missing from its own
/// account's list, no or too many recipients, one account twice, oversized
/// payload or AAD, a missing prekey of the suite in use (never a fallback),
/// and [`SealError::HybridUnavailable`] when [`SuitePolicy::RequireHybrid`]
/// cannot be met.
///
/// # Example
/// ```
/// # use fanseal::*;
/// # let mut rng = rand_chacha::ChaCha20Rng::from_seed([7; 32]);
/// # use rand_core::SeedableRng;
/// let alice = AccountSecret::generate(&mut rng);
/// let phone = DeviceSecret::generate(&mut rng);
/// let cert = alice.certify_device(&CertificateParams {
///     device_id: DeviceId::random(&mut rng), keys: phone.public_keys(),
///     created_at: 0, expires_at: None, capabilities: 0,
/// }).unwrap();
/// let laptop = DeviceSecret::generate(&mut rng);
/// let cert2 = alice.certify_device(&CertificateParams {
///     device_id: DeviceId::random(&mut rng), keys: laptop.public_keys(),
///     created_at: 0, expires_at: None, capabilities: 0,
/// }).unwrap();
/// let list = alice.issue_device_list(None, 0, vec![cert.clone(), cert2.clone()]).unwrap()
///     .verify(&alice.public_key()).unwrap();
/// let laptop = DeviceKeyring::new(laptop, cert2).unwrap();
/// let msg = Message { payload: b"hi", aad: b"chat-1", padding: Padding::Padme, ..Message::default() };
/// let envelope = seal(&phone, &cert, &[&list], &[], &msg, 1_000, &mut rng).unwrap();
/// let opened = open(&laptop, &envelope.to_bytes(), &[list], 1_000).unwrap();
/// assert_eq!(opened.payload(), b"hi");
/// ```
pub fn seal<R: CryptoRng + ?Sized>(
    sender: &DeviceSecret,
    sender_certificate: &DeviceCertificate,
    recipients: &[&VerifiedDeviceList],
    prekeys: &[&VerifiedPrekey],
    message: &Message<'_>,
    now: u64,
    rng: &mut R,
) -> Result<Envelope, SealError> {
    let r = seal_inner(
        sender,
        sender_certificate,
        recipients,
        prekeys,
        message,
        now,
        rng,
    );
    crate::primitives::scrub_stack();
    r
}

/// The body of [`seal`], in a frame of its own so that [`seal`] can scrub
/// the stack it used (SECURITY.md, "Zeroization").
#[inline(never)]
pub(crate) fn seal_inner<R: CryptoRng + ?Sized>(
    sender: &DeviceSecret,
    sender_certificate: &DeviceCertificate,
    recipients: &[&VerifiedDeviceList],
    prekeys: &[&VerifiedPrekey],
    message: &Message<'_>,
    now: u64,
    rng: &mut R,
) -> Result<Envelope, SealError> {
    // Every refusal comes before any randomness is drawn (SPEC.md §5.1).
    if sender.public_keys() != *sender_certificate.keys() {
        return Err(SealError::CertificateMismatch);
    }
    if sender_certificate.is_expired(now) {
        return Err(SealError::SenderCertificateExpired);
    }
    if message.payload.len() > limit::MAX_PAYLOAD {
        return Err(SealError::PayloadTooLarge);
    }
    if message.aad.len() > limit::MAX_AAD {
        return Err(SealError::AadTooLarge);
    }
    let certificate = sender_certificate.to_bytes();
    let fields = BodyFields {
        certificate: &certificate,
        timestamp: now,
        aad: message.aad,
        payload: message.payload,
    };
    let padded_len = message
        .padding
        .padded_len(fields.body_len())
        .ok_or(SealError::PaddedBodyTooLarge)?;
    let body_len =
        u32::try_from(padded_len + size::TAG).map_err(|_| SealError::PaddedBodyTooLarge)?;
    let (suite, targets) =
        collect_recipients(sender_certificate, recipients, prekeys, message.suite, now)?;

    let mut message_id = [0u8; size::MESSAGE_ID];
    rng.fill_bytes(&mut message_id);
    let mut message_secret = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(message_secret.as_mut());
    let ephemeral = match suite {
        Suite::Classical => {
            let mut eph_bytes = Zeroizing::new([0u8; 32]);
            rng.fill_bytes(eph_bytes.as_mut());
            Some(X25519Secret::from_bytes(&eph_bytes))
        }
        Suite::Hybrid => None,
    };

    let mut header = Header {
        suite,
        message_id: MessageId(message_id),
        ephemeral: ephemeral.as_ref().map_or([0; 32], X25519Secret::public),
        commitment: [0; 32],
        recipients: targets.iter().map(|t| t.key_id).collect(),
        body_len,
    };
    let context_hash = header.context_hash();
    let keys =
        MessageKeys::derive(&message_secret, &context_hash).map_err(|_| SealError::Internal)?;
    header.commitment = keys.commitment;
    let header_hash = Header::header_hash(&context_hash, &header.commitment);

    // Per-device wraps (§4.5): classical, one X25519 each with the shared
    // ephemeral key; hybrid, one X-Wing encapsulation each. One key-schedule
    // context per envelope; each wrap's AEAD binds the recipient binding.
    // Only the envelope's suite's key-schedule context is computed.
    let info = wrap_info(&header_hash);
    let classical = ephemeral
        .as_ref()
        .map(|ephemeral| (ephemeral, ScheduleContext::new(&info)));
    let hybrid = classical
        .is_none()
        .then(|| XWingScheduleContext::new(&info));
    let mut wraps: Vec<Wrap> = Vec::with_capacity(targets.len());
    let mut kem_ciphertexts: Vec<KemCiphertext> = Vec::new();
    if suite == Suite::Hybrid {
        kem_ciphertexts.reserve_exact(targets.len());
    }
    for target in &targets {
        let ctx = match (target.kem, &classical, &hybrid) {
            (TargetKem::X25519(public), Some((ephemeral, ksc)), _) => {
                let shared = hpke::encap(ephemeral, &header.ephemeral, public)
                    .map_err(|_| SealError::Internal)?;
                hpke::Context::new(&shared, ksc)
            }
            (TargetKem::XWing(public), _, Some(xksc)) => {
                let mut randomness = Zeroizing::new([0u8; 64]);
                rng.fill_bytes(randomness.as_mut());
                let (ciphertext, ctx) =
                    xwing_encap(public, &randomness, xksc).map_err(|_| SealError::Internal)?;
                kem_ciphertexts.push(ciphertext);
                Ok(ctx)
            }
            _ => return Err(SealError::Internal),
        }
        .map_err(|_| SealError::Internal)?;
        let mut wrap = [0u8; size::WRAP];
        let (secret_part, tag_part) = wrap.split_at_mut(size::HASH);
        secret_part.copy_from_slice(message_secret.as_ref());
        let tag = ctx
            .seal_in_place(0, target.binding, secret_part)
            .map_err(|_| SealError::Internal)?;
        tag_part.copy_from_slice(&tag);
        wraps.push(wrap);
    }

    // The body: encrypted once, signed inside.
    let digest = transcript(&header_hash, &fields);
    let signature = sender
        .ed25519()
        .sign(crate::consts::label::ENVELOPE_SIGNATURE, &digest);
    let mut body = Vec::with_capacity(padded_len + size::TAG);
    write_body(&mut body, &fields, &signature);
    body.resize(padded_len, 0);
    match keys.seal_body(&header_hash, &mut body) {
        Ok(tag) => body.extend_from_slice(&tag),
        Err(_) => {
            body.zeroize();
            return Err(SealError::Internal);
        }
    }
    Ok(Envelope {
        header,
        kem_ciphertexts,
        wraps,
        body,
    })
}

/// The public key a wrap goes to.
#[derive(Clone, Copy)]
enum TargetKem<'a> {
    X25519(&'a [u8; 32]),
    XWing(&'a [u8; size::XWING_PUBLIC_KEY]),
}

/// One device to wrap for.
struct Target<'a> {
    key_id: KeyId,
    kem: TargetKem<'a>,
    binding: &'a [u8; 32],
}

/// The suite and every device to wrap for, sorted by key id (SPEC.md §5.1
/// steps 6–8, §4.10).
fn collect_recipients<'a>(
    sender_certificate: &DeviceCertificate,
    lists: &[&'a VerifiedDeviceList],
    prekeys: &[&'a VerifiedPrekey],
    policy: SuitePolicy,
    now: u64,
) -> Result<(Suite, Vec<Target<'a>>), SealError> {
    if prekeys.len() > limit::MAX_SEAL_PREKEYS {
        return Err(SealError::TooManyPrekeys {
            count: prekeys.len(),
        });
    }
    let mut accounts = BTreeSet::new();
    for list in lists {
        if !accounts.insert(*list.account()) {
            return Err(SealError::DuplicateRecipient);
        }
        if list.account() == sender_certificate.account() {
            let listed = list.device(sender_certificate.device_id());
            if listed.map(|d| d.certificate()) != Some(sender_certificate) {
                return Err(SealError::SenderNotOnOwnList);
            }
        }
        // An account whose every certificate expired would silently
        // receive nothing (issue 13, situation 4).
        if list.active_devices(now).next().is_none() {
            return Err(SealError::NoActiveDevice(*list.account()));
        }
    }
    let total: usize = lists.iter().map(|l| l.devices().len()).sum();
    if total > limit::MAX_RECIPIENTS {
        let active = lists.iter().map(|l| l.active_devices(now).count()).sum();
        if active > limit::MAX_RECIPIENTS {
            return Err(SealError::TooManyRecipients { count: active });
        }
    }
    let own_key_id = sender_certificate.key_id();
    let others = lists
        .iter()
        .flat_map(|l| l.active_devices(now))
        .filter(|d| d.key_id() != own_key_id)
        .count();
    if others == 0 {
        return Err(SealError::NoRecipients);
    }
    // The suite rule (§4.10): hybrid exactly when every recipient device
    // signed up for it. Nothing here is the directory's or the relay's to
    // change: the bit is in the account-signed certificate.
    let active = || lists.iter().flat_map(|l| l.active_devices(now));
    let suite = if active().all(|d| d.supports_hybrid()) {
        Suite::Hybrid
    } else {
        Suite::Classical
    };
    if suite == Suite::Classical && policy == SuitePolicy::RequireHybrid {
        return Err(SealError::HybridUnavailable {
            devices: active()
                .filter(|d| !d.supports_hybrid())
                .map(|d| (*d.account(), d.device_id()))
                .collect(),
        });
    }
    let usable = usable_prekeys(prekeys, suite, now);
    let mut targets = Vec::with_capacity(total.min(limit::MAX_RECIPIENTS));
    for device in active() {
        targets.push(target_for(device, &usable, suite)?);
    }
    targets.sort_unstable_by_key(|t| t.key_id);
    if targets
        .windows(2)
        .any(|w| matches!(w, [a, b] if a.key_id == b.key_id))
    {
        return Err(SealError::DuplicateRecipient);
    }
    Ok((suite, targets))
}

/// The prekeys of `suite` usable at `now` (not expired, not dated more than
/// the clock skew ahead: SPEC.md §4.9), sorted by (account, device id, device
/// key), then newest first: `(created_at, key id)` descending (SPEC.md §4.9).
fn usable_prekeys<'a>(
    prekeys: &[&'a VerifiedPrekey],
    suite: Suite,
    now: u64,
) -> Vec<&'a VerifiedPrekey> {
    let mut usable: Vec<&VerifiedPrekey> = prekeys
        .iter()
        .copied()
        .filter(|p| p.suite() == suite && p.is_created_by(now) && !p.is_expired(now))
        .collect();
    usable.sort_unstable_by(|a, b| {
        prekey_owner(a)
            .cmp(&prekey_owner(b))
            .then_with(|| (b.created_at(), b.key_id()).cmp(&(a.created_at(), a.key_id())))
    });
    usable
}

fn prekey_owner(p: &VerifiedPrekey) -> (&AccountPublicKey, DeviceId, &[u8; 32]) {
    (p.account(), p.device_id(), p.device_key())
}

/// The key to wrap to for one device (SPEC.md §4.9, §4.10): its newest
/// usable prekey of the suite, signed by its current key; else, only in the
/// classical suite and only when its certificate does not require prekeys,
/// its certificate key. A hybrid envelope never falls back to anything.
fn target_for<'a>(
    device: &'a VerifiedDeviceCertificate,
    usable: &[&'a VerifiedPrekey],
    suite: Suite,
) -> Result<Target<'a>, SealError> {
    let owner = (device.account(), device.device_id(), &device.keys().ed25519);
    let at = usable.partition_point(|p| prekey_owner(p) < owner);
    let missing = || SealError::MissingPrekey {
        account: *device.account(),
        device_id: device.device_id(),
    };
    match usable.get(at).filter(|p| prekey_owner(p) == owner) {
        Some(prekey) => Ok(Target {
            key_id: prekey.key_id(),
            kem: match prekey.key() {
                PrekeyPublic::X25519(k) => TargetKem::X25519(k),
                PrekeyPublic::XWing(k) => TargetKem::XWing(k),
            },
            binding: prekey.recipient_binding(),
        }),
        None if suite == Suite::Hybrid || device.requires_prekeys() => Err(missing()),
        None => Ok(Target {
            key_id: device.key_id(),
            kem: TargetKem::X25519(&device.keys().x25519),
            binding: device.recipient_binding(),
        }),
    }
}
