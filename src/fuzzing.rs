//! Fuzz target bodies (issue 5). Hidden from the docs; not part of the API.
//!
//! Every function here takes what a fuzzer produced and returns
//! `Err(Violation)` when an oracle fails. None of them panics: the thin
//! cargo-fuzz targets in `fuzz/fuzz_targets/` turn a [`Violation`] into a
//! panic (a crash for libFuzzer), and `tests/fuzz_replay.rs` replays every
//! committed seed and regression input through the same functions on stable.
//!
//! The targets that open envelopes or update device lists use a [`Fixture`]
//! built once from a caller-supplied seeded RNG (the fuzz targets and the
//! replay test both pass `ChaCha20Rng::from_seed([7; 32])`).

use alloc::collections::BTreeSet;
use alloc::vec;
use alloc::vec::Vec;

use rand_core::CryptoRng;

use crate::consts::{label, limit, size};
use crate::envelope::hpke::{self, ScheduleContext};
use crate::envelope::schedule::{transcript, wrap_info, MessageKeys};
use crate::envelope::{open, padme, seal, Delivery, Envelope, Header, Message, MessageId, Padding};
use crate::error::{DeviceListError, OpenError};
use crate::identity::{
    AccountPublicKey, AccountSecret, CertificateParams, DeviceCertificate, DeviceId, DeviceList,
    DeviceSecret, ForkEvidence, KeyId, SafetyNumber, VerifiedDeviceList, MAX_CHAIN_LENGTH,
};
use crate::primitives::X25519Secret;
use crate::replay::{ReplayError, ReplayGuard};

/// The clock every fixture object is made at (Unix ms).
pub const NOW: u64 = 1_764_300_000_000;

/// The clock the open targets open at: shortly after [`NOW`].
pub const OPEN_AT: u64 = NOW + 5;

/// An oracle that failed: what the target expected and did not get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Violation(pub &'static str);

/// What every target body returns.
pub type Outcome = Result<(), Violation>;

fn ensure(condition: bool, what: &'static str) -> Outcome {
    if condition {
        Ok(())
    } else {
        Err(Violation(what))
    }
}

// ---------------------------------------------------------------------------
// Decoders with a round-trip oracle.
// ---------------------------------------------------------------------------

/// `DeviceCertificate::from_bytes`: re-encoding what decoded gives back the
/// input; verification of what decoded never panics.
pub fn decode_device_certificate(data: &[u8]) -> Outcome {
    let Ok(cert) = DeviceCertificate::from_bytes(data) else {
        return Ok(());
    };
    ensure(
        cert.to_bytes() == data,
        "certificate: re-encoding differs from the input",
    )?;
    ensure(
        cert.encoded_len() == data.len(),
        "certificate: encoded_len differs from the input length",
    )?;
    let verified = cert.verify(cert.account(), NOW);
    ensure(
        verified.is_err() || !cert.is_expired(NOW),
        "certificate: an expired certificate verified",
    )
}

/// `DeviceList::from_bytes`: round trip, sorted unique device ids, bounded
/// count; small lists are also verified against their own account.
pub fn decode_device_list(data: &[u8]) -> Outcome {
    let Ok(list) = DeviceList::from_bytes(data) else {
        return Ok(());
    };
    let bytes = list.to_bytes();
    ensure(
        bytes == data,
        "device list: re-encoding differs from the input",
    )?;
    ensure(
        DeviceList::from_bytes(&bytes).as_ref() == Ok(&list),
        "device list: decoding the re-encoding gives another list",
    )?;
    ensure(
        list.certificates().len() <= limit::MAX_DEVICES_PER_LIST,
        "device list: more devices than the limit",
    )?;
    ensure(
        list.certificates()
            .windows(2)
            .all(|w| matches!(w, [a, b] if a.device_id() < b.device_id())),
        "device list: certificates not strictly sorted by device id",
    )?;
    if list.certificates().len() <= 4 {
        if let Ok(verified) = list.verify(list.account()) {
            ensure(
                verified.list() == &list && verified.devices().len() == list.certificates().len(),
                "device list: the verified list differs from the decoded one",
            )?;
        }
    }
    Ok(())
}

/// `Envelope::from_bytes`: round trip, one wrap per recipient, and the relay
/// split gives deliveries that round-trip too.
pub fn decode_envelope(data: &[u8]) -> Outcome {
    ensure(
        Delivery::from_bytes(data).is_err() || Envelope::from_bytes(data).is_err(),
        "envelope: the same bytes decode as an envelope and as a delivery",
    )?;
    let Ok(envelope) = Envelope::from_bytes(data) else {
        return Ok(());
    };
    ensure(
        envelope.to_bytes() == data,
        "envelope: re-encoding differs from the input",
    )?;
    let header = envelope.header();
    ensure(
        envelope.wraps.len() == header.recipients().len(),
        "envelope: wrap count differs from the recipient count",
    )?;
    ensure(
        envelope.body.len() == header.body_len(),
        "envelope: body length differs from the header",
    )?;
    check_recipients(header.recipients())?;
    let mut count = 0usize;
    for (key_id, delivery) in envelope.deliveries() {
        count += 1;
        let bytes = delivery.to_bytes();
        ensure(
            Delivery::from_bytes(&bytes).as_ref() == Ok(&delivery),
            "envelope: a split delivery does not round-trip",
        )?;
        ensure(
            envelope.delivery_for(&key_id).as_ref() == Some(&delivery),
            "envelope: delivery_for differs from deliveries()",
        )?;
        ensure(
            delivery.header() == header && delivery.body == envelope.body,
            "envelope: a delivery changed the header or body",
        )?;
    }
    ensure(
        count == header.recipients().len(),
        "envelope: deliveries() skipped a recipient",
    )
}

fn check_recipients(recipients: &[KeyId]) -> Outcome {
    ensure(
        !recipients.is_empty() && recipients.len() <= limit::MAX_RECIPIENTS,
        "header: recipient count out of range",
    )?;
    ensure(
        recipients.windows(2).all(|w| matches!(w, [a, b] if a < b)),
        "header: recipient key ids not strictly ascending",
    )
}

/// `Delivery::from_bytes`: round trip and the header's body length.
pub fn decode_delivery(data: &[u8]) -> Outcome {
    let Ok(delivery) = Delivery::from_bytes(data) else {
        return Ok(());
    };
    ensure(
        delivery.to_bytes() == data,
        "delivery: re-encoding differs from the input",
    )?;
    ensure(
        Envelope::from_bytes(data).is_err(),
        "delivery: the same bytes decode as an envelope",
    )?;
    ensure(
        delivery.body.len() == delivery.header().body_len(),
        "delivery: body length differs from the header",
    )?;
    check_recipients(delivery.header().recipients())
}

/// `ForkEvidence::from_bytes`: round trip, lists in byte order; a verified
/// piece of evidence names one account and one version.
pub fn decode_fork_evidence(data: &[u8]) -> Outcome {
    let Ok(evidence) = ForkEvidence::from_bytes(data) else {
        return Ok(());
    };
    ensure(
        evidence.to_bytes() == data,
        "fork evidence: re-encoding differs from the input",
    )?;
    let (a, b) = evidence.lists();
    ensure(
        a.to_bytes() < b.to_bytes(),
        "fork evidence: lists not in strict byte order",
    )?;
    if a.certificates().len() + b.certificates().len() <= 8 {
        if let Ok(account) = evidence.verify() {
            ensure(
                account == *a.account()
                    && account == *b.account()
                    && a.version() == b.version()
                    && a.hash() != b.hash(),
                "fork evidence: verified evidence that is not a fork",
            )?;
        }
    }
    Ok(())
}

/// `SafetyNumber::from_bytes`: round trip, the scanned form matches itself,
/// the digits are 12 groups of 5.
pub fn decode_safety_number(data: &[u8]) -> Outcome {
    let Ok(number) = SafetyNumber::from_bytes(data) else {
        return Ok(());
    };
    ensure(
        number.to_bytes().as_slice() == data,
        "safety number: re-encoding differs from the input",
    )?;
    ensure(
        number.matches_scanned(data),
        "safety number: does not match its own encoding",
    )?;
    let digits = number.to_digits();
    let groups: Vec<&str> = digits.split(' ').collect();
    ensure(
        digits.len() == 71
            && groups.len() == 12
            && groups
                .iter()
                .all(|g| g.len() == 5 && g.bytes().all(|c| c.is_ascii_digit())),
        "safety number: digits are not 12 groups of 5",
    )
}

// ---------------------------------------------------------------------------
// The fixture: fixed accounts, devices, lists and a valid envelope.
// ---------------------------------------------------------------------------

/// Fixed keys, device lists and envelopes for the open and device-list
/// targets, built deterministically from a seeded RNG.
pub struct Fixture {
    /// Devices: 0 alice phone (the sender), 1 alice laptop, 2 bob phone,
    /// 3 bob tablet.
    devices: Vec<DeviceSecret>,
    /// The sender's certificate and alice laptop's certificate.
    sender_certificate: DeviceCertificate,
    laptop_certificate: DeviceCertificate,
    /// Verified lists of alice and bob (bob's at version 2).
    directory: Vec<VerifiedDeviceList>,
    /// The valid envelope from alice phone to bob's devices and alice laptop.
    envelope: Envelope,
    envelope_bytes: Vec<u8>,
    payload: Vec<u8>,
    aad: Vec<u8>,
    /// Bob's signed lists: versions 1..=4, then a second version 3 (a fork).
    chain: Vec<DeviceList>,
    /// Bob's list version 2, verified: the trusted list of the update target.
    trusted: VerifiedDeviceList,
    /// Message secret and ephemeral key of the custom-body envelopes.
    body_secret: [u8; 32],
    body_ephemeral: [u8; 32],
    body_message_id: [u8; 16],
}

impl core::fmt::Debug for Fixture {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Fixture").finish_non_exhaustive()
    }
}

fn certify<R: CryptoRng + ?Sized>(
    account: &AccountSecret,
    device: &DeviceSecret,
    rng: &mut R,
) -> Result<DeviceCertificate, Violation> {
    account
        .certify_device(&CertificateParams {
            device_id: DeviceId::random(rng),
            keys: device.public_keys(),
            created_at: NOW,
            expires_at: Some(NOW + 365 * 24 * 3600 * 1000),
            capabilities: 0,
        })
        .map_err(|_| Violation("fixture: certify_device failed"))
}

impl Fixture {
    /// Builds the fixture from `rng` (the targets pass a seeded ChaCha20Rng).
    pub fn new<R: CryptoRng + ?Sized>(rng: &mut R) -> Result<Self, Violation> {
        let alice = AccountSecret::generate(rng);
        let bob = AccountSecret::generate(rng);
        let devices: Vec<DeviceSecret> = (0..4).map(|_| DeviceSecret::generate(rng)).collect();
        let extra: Vec<DeviceSecret> = (0..2).map(|_| DeviceSecret::generate(rng)).collect();
        let device = |i: usize| devices.get(i).ok_or(Violation("fixture: device index"));
        let extra_device = |i: usize| extra.get(i).ok_or(Violation("fixture: device index"));
        let sender_certificate = certify(&alice, device(0)?, rng)?;
        let laptop_certificate = certify(&alice, device(1)?, rng)?;
        let bob_phone = certify(&bob, device(2)?, rng)?;
        let bob_tablet = certify(&bob, device(3)?, rng)?;
        let bob_desktop = certify(&bob, extra_device(0)?, rng)?;
        let bob_other = certify(&bob, extra_device(1)?, rng)?;

        let issue = |previous: Option<&DeviceList>, at: u64, certs: Vec<DeviceCertificate>| {
            bob.issue_device_list(previous, at, certs)
                .map_err(|_| Violation("fixture: issue_device_list failed"))
        };
        let v1 = issue(None, NOW - 4000, vec![bob_phone.clone()])?;
        let v2 = issue(
            Some(&v1),
            NOW - 3000,
            vec![bob_phone.clone(), bob_tablet.clone()],
        )?;
        let v3 = issue(
            Some(&v2),
            NOW - 2000,
            vec![bob_phone.clone(), bob_tablet.clone(), bob_desktop.clone()],
        )?;
        let v4 = issue(Some(&v3), NOW - 1000, vec![bob_phone.clone(), bob_desktop])?;
        let fork3 = issue(
            Some(&v2),
            NOW - 2000,
            vec![bob_phone, bob_tablet, bob_other],
        )?;
        let trusted = v2
            .verify(&bob.public_key())
            .map_err(|_| Violation("fixture: bob's list does not verify"))?;
        let alice_list = alice
            .issue_device_list(
                None,
                NOW - 5000,
                vec![sender_certificate.clone(), laptop_certificate.clone()],
            )
            .map_err(|_| Violation("fixture: issue_device_list failed"))?
            .verify(&alice.public_key())
            .map_err(|_| Violation("fixture: alice's list does not verify"))?;
        let directory = vec![alice_list, trusted.clone()];

        let payload = b"fanseal fuzz fixture payload".to_vec();
        let aad = b"conversation:alice+bob".to_vec();
        let envelope = seal(
            device(0)?,
            &sender_certificate,
            &[&trusted, directory.first().ok_or(Violation("fixture"))?],
            &Message {
                payload: &payload,
                aad: &aad,
                padding: Padding::Padme,
            },
            NOW,
            rng,
        )
        .map_err(|_| Violation("fixture: seal failed"))?;
        let envelope_bytes = envelope.to_bytes();

        let mut body_secret = [0u8; 32];
        let mut body_ephemeral = [0u8; 32];
        let mut body_message_id = [0u8; 16];
        rng.fill_bytes(&mut body_secret);
        rng.fill_bytes(&mut body_ephemeral);
        rng.fill_bytes(&mut body_message_id);

        Ok(Fixture {
            devices,
            sender_certificate,
            laptop_certificate,
            directory,
            envelope,
            envelope_bytes,
            payload,
            aad,
            chain: vec![v1, v2, v3, v4, fork3],
            trusted,
            body_secret,
            body_ephemeral,
            body_message_id,
        })
    }

    /// The valid envelope's encoding (a seed for the open targets).
    pub fn envelope_bytes(&self) -> &[u8] {
        &self.envelope_bytes
    }

    /// The delivery of the valid envelope for device `index` (0..4), if that
    /// device is a recipient.
    pub fn delivery_bytes(&self, index: usize) -> Option<Vec<u8>> {
        let device = self.devices.get(index)?;
        Some(self.envelope.delivery_for(&device.key_id())?.to_bytes())
    }

    /// Bob's signed lists (versions 1..=4, then the fork at version 3).
    pub fn chain(&self) -> &[DeviceList] {
        &self.chain
    }

    /// The number of devices the open targets can open as.
    pub fn device_count(&self) -> usize {
        self.devices.len()
    }

    /// Checks one `open` result of `bytes` for device `index` against the
    /// fixture: `Ok` only for the fixture's own message, and then exactly
    /// its payload, aad, sender, id and recipients; the unmodified envelope
    /// and delivery always open.
    fn check_open(&self, index: usize, bytes: &[u8]) -> Outcome {
        let Some(device) = self.devices.get(index) else {
            return Ok(());
        };
        let result = open(device, bytes, &self.directory, OPEN_AT);
        let is_recipient = self.envelope.header.position(&device.key_id()).is_some();
        let own_delivery = self.envelope.delivery_for(&device.key_id());
        let pristine = bytes == self.envelope_bytes.as_slice()
            || own_delivery
                .as_ref()
                .is_some_and(|d| d.to_bytes().as_slice() == bytes);
        match result {
            Ok(opened) => {
                ensure(is_recipient, "open: a non-recipient opened the message")?;
                // Only this device's wrap is authenticated for it: an envelope
                // whose header, body and own wrap are the fixture's opens even
                // if another device's wrap was changed (by design: each device
                // checks only its own wrap).
                let same_message = match Envelope::from_bytes(bytes) {
                    Ok(e) => {
                        e.header == self.envelope.header
                            && e.body == self.envelope.body
                            && e.delivery_for(&device.key_id()) == own_delivery
                    }
                    Err(_) => Delivery::from_bytes(bytes).ok() == own_delivery,
                };
                ensure(
                    same_message,
                    "open: Ok for bytes that are not the fixture's message",
                )?;
                ensure(
                    opened.payload() == self.payload.as_slice()
                        && opened.aad() == self.aad.as_slice()
                        && opened.sender_certificate() == &self.sender_certificate
                        && opened.message_id() == self.envelope.header.message_id
                        && opened.timestamp() == NOW
                        && opened.recipients() == self.envelope.header.recipients(),
                    "open: opened message differs from what was sealed",
                )
            }
            Err(OpenError::NotARecipient) if !is_recipient && pristine => Ok(()),
            Err(_) => ensure(!pristine, "open: the unmodified message did not open"),
        }
    }
}

// ---------------------------------------------------------------------------
// Device-list verification and update.
// ---------------------------------------------------------------------------

/// Splits `data` into `u16 length || bytes` chunks (the last one may be
/// short: it takes the rest).
fn chunks(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let [hi, lo, rest @ ..] = data {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(rest.len());
        let (chunk, tail) = rest.split_at(len);
        out.push(chunk);
        data = tail;
    }
    out
}

/// Encodes lists in the input format of [`device_list_update`].
pub fn encode_chunks(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(&u16::try_from(part.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// Device lists decoded from `data` (`u16 length || list` chunks; the last
/// is `next`, the others intermediates) are verified for bob's account and
/// presented to `trusted.update`. Oracles: a list verifies only if it is
/// one of the fixture's signed lists; `update` succeeds exactly when an
/// independent model of the rules (SPEC.md §3.5) says it must; a fork
/// error carries evidence that verifies on its own; a rollback is lower.
pub fn device_list_update(fx: &Fixture, data: &[u8]) -> Outcome {
    let account: AccountPublicKey = *fx.trusted.account();
    let known: Vec<Vec<u8>> = fx.chain.iter().map(DeviceList::to_bytes).collect();
    let mut lists: Vec<DeviceList> = Vec::new();
    for chunk in chunks(data) {
        let Ok(list) = DeviceList::from_bytes(chunk) else {
            continue;
        };
        let is_known = known.iter().any(|k| k.as_slice() == chunk);
        ensure(
            list.verify(&account).is_ok() == is_known,
            "update: verify disagrees with the set of signed lists",
        )?;
        lists.push(list);
    }
    let Some((next, intermediates)) = lists.split_last() else {
        return Ok(());
    };
    let is_known = |l: &DeviceList| known.iter().any(|k| *k == l.to_bytes());
    let result = fx.trusted.update(intermediates, next);
    let expected_ok = update_model(fx.trusted.list(), intermediates, next, &is_known);
    match &result {
        Ok(verified) => {
            ensure(expected_ok, "update: accepted what the model refuses")?;
            ensure(
                verified.list() == next && verified.version() == next.version(),
                "update: the new trusted list is not `next`",
            )?;
        }
        Err(error) => {
            ensure(!expected_ok, "update: refused what the model accepts")?;
            match error {
                DeviceListError::Fork(evidence) => {
                    ensure(
                        evidence.verify() == Ok(account),
                        "update: fork evidence does not verify",
                    )?;
                    ensure(
                        ForkEvidence::from_bytes(&evidence.to_bytes()).as_ref()
                            == Ok(evidence.as_ref()),
                        "update: fork evidence does not round-trip",
                    )?;
                }
                DeviceListError::Rollback { trusted, presented } => {
                    ensure(
                        *trusted == fx.trusted.version()
                            && *presented == next.version()
                            && presented < trusted,
                        "update: rollback error with wrong versions",
                    )?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// The update rules, written again from SPEC.md §3.5 without the library's
/// code: every presented list must be signed, `next` must not be older,
/// the same version must be the same list, and a newer one must be reached
/// by a hash chain of consecutive versions (copies of the trusted list
/// among the intermediates are allowed).
fn update_model(
    trusted: &DeviceList,
    intermediates: &[DeviceList],
    next: &DeviceList,
    signed: &dyn Fn(&DeviceList) -> bool,
) -> bool {
    if intermediates.len() > MAX_CHAIN_LENGTH || !signed(next) {
        return false;
    }
    if next.version() < trusted.version() {
        return false;
    }
    if next.version() == trusted.version() {
        return next.hash() == trusted.hash();
    }
    let mut previous = trusted;
    for list in intermediates {
        if !signed(list) {
            return false;
        }
        if list.version() == trusted.version() {
            if list.hash() != trusted.hash() {
                return false;
            }
            continue;
        }
        if previous.version().checked_add(1) != Some(list.version())
            || list.previous_hash() != previous.hash()
        {
            return false;
        }
        previous = list;
    }
    previous.version().checked_add(1) == Some(next.version())
        && next.previous_hash() == previous.hash()
}

// ---------------------------------------------------------------------------
// open: raw bytes, structured mutations, custom bodies.
// ---------------------------------------------------------------------------

/// `open` of raw bytes by bob's phone (device 2), with the fixture's
/// directory: Ok only for the fixture's message (see [`Fixture`]).
pub fn open_raw(fx: &Fixture, data: &[u8]) -> Outcome {
    fx.check_open(2, data)
}

/// One change to a valid envelope, applied by [`open_mutated`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutation {
    /// Sets the wire version byte.
    Version(u8),
    /// Sets the object type byte (0x03 envelope, 0x04 delivery).
    ObjectType(u8),
    /// Sets the suite.
    Suite(u16),
    /// Sets the message id.
    MessageId([u8; 16]),
    /// Sets the timestamp.
    Timestamp(u64),
    /// Sets the ephemeral public key.
    Ephemeral([u8; 32]),
    /// Xors one byte of the ephemeral key.
    EphemeralXor(u8, u8),
    /// Sets the key commitment.
    Commitment([u8; 32]),
    /// Xors one byte of the key commitment.
    CommitmentXor(u8, u8),
    /// Overrides the encoded recipient count (not the list).
    RecipientCount(u16),
    /// Replaces a recipient key id (index taken modulo the count).
    KeyId(u16, [u8; 16]),
    /// Xors one byte of a recipient key id.
    KeyIdXor(u16, u8, u8),
    /// Swaps two recipient key ids.
    SwapKeyIds(u16, u16),
    /// Removes a recipient key id and its wrap.
    RemoveRecipient(u16),
    /// Duplicates a recipient key id and its wrap.
    DuplicateRecipient(u16),
    /// Xors one byte of a wrap.
    WrapXor(u16, u8, u8),
    /// Swaps two wraps.
    SwapWraps(u16, u16),
    /// Removes a wrap only.
    RemoveWrap(u16),
    /// Keeps only one wrap (a hand-made delivery when the type is 0x04).
    KeepOneWrap(u16),
    /// Overrides the encoded body length.
    BodyLen(u32),
    /// Xors one body byte.
    BodyXor(u32, u8),
    /// Truncates the body.
    TruncateBody(u32),
    /// Appends bytes to the body.
    ExtendBody(Vec<u8>),
    /// Truncates the whole encoding.
    Truncate(u32),
    /// Appends bytes to the whole encoding.
    Append(Vec<u8>),
    /// Xors one byte of the whole encoding.
    Xor(u32, u8),
}

/// The valid envelope, field by field, to mutate.
struct Model {
    version: u8,
    object_type: u8,
    suite: u16,
    message_id: [u8; 16],
    timestamp: u64,
    ephemeral: [u8; 32],
    commitment: [u8; 32],
    count: Option<u16>,
    key_ids: Vec<[u8; 16]>,
    wraps: Vec<[u8; size::WRAP]>,
    body_len: Option<u32>,
    body: Vec<u8>,
}

fn pick(index: u16, len: usize) -> Option<usize> {
    (len > 0).then(|| usize::from(index) % len)
}

fn xor_at(bytes: &mut [u8], index: usize, value: u8) {
    let len = bytes.len();
    if len > 0 {
        if let Some(b) = bytes.get_mut(index % len) {
            *b ^= value;
        }
    }
}

impl Model {
    fn of(envelope: &Envelope) -> Self {
        let h = &envelope.header;
        Model {
            version: crate::consts::WIRE_VERSION,
            object_type: 0x03,
            suite: crate::consts::SUITE_X25519_SHA256_AES256GCM_ED25519,
            message_id: h.message_id.0,
            timestamp: h.timestamp,
            ephemeral: h.ephemeral,
            commitment: h.commitment,
            count: None,
            key_ids: h.recipients.iter().map(|k| k.0).collect(),
            wraps: envelope.wraps.clone(),
            body_len: None,
            body: envelope.body.clone(),
        }
    }

    fn apply(&mut self, m: &Mutation) {
        match m {
            Mutation::Version(v) => self.version = *v,
            Mutation::ObjectType(t) => self.object_type = *t,
            Mutation::Suite(s) => self.suite = *s,
            Mutation::MessageId(id) => self.message_id = *id,
            Mutation::Timestamp(t) => self.timestamp = *t,
            Mutation::Ephemeral(e) => self.ephemeral = *e,
            Mutation::EphemeralXor(i, v) => xor_at(&mut self.ephemeral, usize::from(*i), *v),
            Mutation::Commitment(c) => self.commitment = *c,
            Mutation::CommitmentXor(i, v) => xor_at(&mut self.commitment, usize::from(*i), *v),
            Mutation::RecipientCount(n) => self.count = Some(*n),
            Mutation::KeyId(i, id) => {
                if let Some(k) = pick(*i, self.key_ids.len()).and_then(|i| self.key_ids.get_mut(i))
                {
                    *k = *id;
                }
            }
            Mutation::KeyIdXor(i, j, v) => {
                if let Some(k) = pick(*i, self.key_ids.len()).and_then(|i| self.key_ids.get_mut(i))
                {
                    xor_at(k, usize::from(*j), *v);
                }
            }
            Mutation::SwapKeyIds(a, b) => {
                let len = self.key_ids.len();
                if let (Some(a), Some(b)) = (pick(*a, len), pick(*b, len)) {
                    self.key_ids.swap(a, b);
                }
            }
            Mutation::RemoveRecipient(i) => {
                if let Some(i) = pick(*i, self.key_ids.len()) {
                    self.key_ids.remove(i);
                    if i < self.wraps.len() {
                        self.wraps.remove(i);
                    }
                }
            }
            Mutation::DuplicateRecipient(i) => {
                if let Some(i) = pick(*i, self.key_ids.len()) {
                    if let Some(k) = self.key_ids.get(i).copied() {
                        self.key_ids.insert(i, k);
                    }
                    if let Some(w) = self.wraps.get(i).copied() {
                        self.wraps.insert(i, w);
                    }
                }
            }
            Mutation::WrapXor(i, j, v) => {
                if let Some(w) = pick(*i, self.wraps.len()).and_then(|i| self.wraps.get_mut(i)) {
                    xor_at(w, usize::from(*j), *v);
                }
            }
            Mutation::SwapWraps(a, b) => {
                let len = self.wraps.len();
                if let (Some(a), Some(b)) = (pick(*a, len), pick(*b, len)) {
                    self.wraps.swap(a, b);
                }
            }
            Mutation::RemoveWrap(i) => {
                if let Some(i) = pick(*i, self.wraps.len()) {
                    self.wraps.remove(i);
                }
            }
            Mutation::KeepOneWrap(i) => {
                if let Some(w) = pick(*i, self.wraps.len()).and_then(|i| self.wraps.get(i)) {
                    self.wraps = vec![*w];
                }
            }
            Mutation::BodyLen(n) => self.body_len = Some(*n),
            Mutation::BodyXor(i, v) => xor_at(&mut self.body, *i as usize, *v),
            Mutation::TruncateBody(n) => {
                let len = self.body.len();
                self.body.truncate(*n as usize % (len + 1));
            }
            Mutation::ExtendBody(bytes) => self.body.extend_from_slice(bytes),
            Mutation::Truncate(_) | Mutation::Append(_) | Mutation::Xor(_, _) => {}
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            2 + 2
                + 16
                + 8
                + 64
                + 2
                + 16 * self.key_ids.len()
                + 4
                + 48 * self.wraps.len()
                + self.body.len(),
        );
        out.push(self.version);
        out.push(self.object_type);
        out.extend_from_slice(&self.suite.to_be_bytes());
        out.extend_from_slice(&self.message_id);
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ephemeral);
        out.extend_from_slice(&self.commitment);
        let count = self
            .count
            .unwrap_or_else(|| u16::try_from(self.key_ids.len()).unwrap_or(u16::MAX));
        out.extend_from_slice(&count.to_be_bytes());
        for k in &self.key_ids {
            out.extend_from_slice(k);
        }
        let body_len = self
            .body_len
            .unwrap_or_else(|| u32::try_from(self.body.len()).unwrap_or(u32::MAX));
        out.extend_from_slice(&body_len.to_be_bytes());
        for w in &self.wraps {
            out.extend_from_slice(w);
        }
        out.extend_from_slice(&self.body);
        out
    }
}

/// Structure-aware open: device `recipient % 4` opens the fixture's valid
/// envelope after `mutations` (field changes first, in order, then the
/// byte-level ones on the encoding, in order). Must never panic, and must
/// only return Ok for the fixture's own message (see [`Fixture`]).
pub fn open_mutated(fx: &Fixture, recipient: u8, mutations: &[Mutation]) -> Outcome {
    let mut model = Model::of(&fx.envelope);
    for m in mutations {
        model.apply(m);
    }
    let mut bytes = model.encode();
    for m in mutations {
        match m {
            Mutation::Truncate(n) => {
                let len = bytes.len();
                bytes.truncate(*n as usize % (len + 1));
            }
            Mutation::Append(extra) => bytes.extend_from_slice(extra),
            Mutation::Xor(i, v) => xor_at(&mut bytes, *i as usize, *v),
            _ => {}
        }
    }
    let index = usize::from(recipient) % fx.device_count();
    fx.check_open(index, &bytes)
}

/// How [`open_body`] corrupts an otherwise valid body (bit flags).
pub mod body_flag {
    /// The certificate length prefix claims one byte more.
    pub const CERT_LEN: u8 = 0x01;
    /// The aad length prefix claims one byte more.
    pub const AAD_LEN: u8 = 0x02;
    /// The payload length prefix claims one byte more.
    pub const PAYLOAD_LEN: u8 = 0x04;
    /// One bit of the signature is flipped.
    pub const SIGNATURE: u8 = 0x08;
    /// The signature is made with alice laptop's key (corrupt alone; with
    /// [`LAPTOP_CERT`] it is a valid message from the laptop).
    pub const SIGN_AS_LAPTOP: u8 = 0x10;
    /// The body carries alice laptop's certificate (corrupt alone; with
    /// [`SIGN_AS_LAPTOP`] it is a valid message from the laptop).
    pub const LAPTOP_CERT: u8 = 0x20;
    /// The payload length prefix is `u32::MAX`.
    pub const HUGE_PAYLOAD_LEN: u8 = 0x40;
    /// Every corruption.
    pub const ALL: u8 = 0x7f;
}

/// Padding removal through `open`: builds a correctly encrypted and signed
/// envelope from alice phone to bob phone whose body plaintext is made from
/// `data` (`flags || aad len || payload len || aad || payload || padding`,
/// lengths one byte each, the padding is whatever is left), corrupted as
/// the [`body_flag`] bits say. Oracle: `open` succeeds exactly when no
/// corruption bit is set and the padding is all zero, and then returns the
/// payload and aad unchanged.
pub fn open_body(fx: &Fixture, data: &[u8]) -> Outcome {
    let (flags, aad_len, payload_len, rest) = match data {
        [f, a, p, rest @ ..] => (*f, usize::from(*a), usize::from(*p), rest),
        _ => return Ok(()),
    };
    let (aad, rest) = rest.split_at(aad_len.min(rest.len()));
    let (payload, padding) = rest.split_at(payload_len.min(rest.len()));
    let bytes = custom_body_envelope(fx, flags, aad, payload, padding)?;
    let (Some(recipient), Some(other)) = (fx.devices.get(2), fx.devices.get(1)) else {
        return Ok(());
    };
    let result = open(recipient, &bytes, &fx.directory, OPEN_AT);
    let laptop = body_flag::SIGN_AS_LAPTOP | body_flag::LAPTOP_CERT;
    let corrupt =
        flags & body_flag::ALL & !laptop != 0 || (flags & laptop != 0 && flags & laptop != laptop);
    let expect_ok = !corrupt && padding.iter().all(|b| *b == 0);
    let sender = if flags & laptop == laptop {
        &fx.laptop_certificate
    } else {
        &fx.sender_certificate
    };
    match result {
        Ok(opened) => {
            ensure(expect_ok, "open_body: a corrupted body opened")?;
            ensure(
                opened.payload() == payload
                    && opened.aad() == aad
                    && opened.sender_certificate() == sender,
                "open_body: opened payload or aad differs",
            )?;
        }
        Err(e) => {
            ensure(!expect_ok, "open_body: a valid body did not open")?;
            ensure(
                e == OpenError::Unauthenticated,
                "open_body: a bad body gave an error other than Unauthenticated",
            )?;
        }
    }
    // Alice's laptop is not a recipient of these envelopes.
    ensure(
        open(other, &bytes, &fx.directory, OPEN_AT) == Err(OpenError::NotARecipient),
        "open_body: a non-recipient was not told NotARecipient",
    )
}

fn custom_body_envelope(
    fx: &Fixture,
    flags: u8,
    aad: &[u8],
    payload: &[u8],
    padding: &[u8],
) -> Result<Vec<u8>, Violation> {
    const FAIL: Violation = Violation("open_body: building the envelope failed");
    let recipient = fx.devices.get(2).ok_or(FAIL)?;
    let signer = if flags & body_flag::SIGN_AS_LAPTOP != 0 {
        fx.devices.get(1).ok_or(FAIL)?
    } else {
        fx.devices.first().ok_or(FAIL)?
    };
    let certificate = if flags & body_flag::LAPTOP_CERT != 0 {
        fx.laptop_certificate.to_bytes()
    } else {
        fx.sender_certificate.to_bytes()
    };
    let plain_len =
        2 + certificate.len() + 4 + aad.len() + 4 + payload.len() + size::SIGNATURE + padding.len();
    let ephemeral = X25519Secret::from_bytes(fx.body_ephemeral);
    let mut header = Header {
        message_id: MessageId(fx.body_message_id),
        timestamp: NOW,
        ephemeral: ephemeral.public(),
        commitment: [0; 32],
        recipients: vec![recipient.key_id()],
        body_len: u32::try_from(plain_len + size::TAG).map_err(|_| FAIL)?,
    };
    let context_hash = header.context_hash();
    let keys = MessageKeys::derive(&fx.body_secret, &context_hash).map_err(|_| FAIL)?;
    header.commitment = keys.commitment;
    let header_hash = Header::header_hash(&context_hash, &header.commitment);

    let shared = hpke::encap(
        &ephemeral,
        &header.ephemeral,
        &recipient.public_keys().x25519,
    )
    .map_err(|_| FAIL)?;
    let ctx = hpke::Context::new(&shared, &ScheduleContext::new(&wrap_info(&header_hash)))
        .map_err(|_| FAIL)?;
    let mut wrap = [0u8; size::WRAP];
    let (secret_part, tag_part) = wrap.split_at_mut(size::HASH);
    secret_part.copy_from_slice(&fx.body_secret);
    let tag = ctx.seal_in_place(0, b"", secret_part).map_err(|_| FAIL)?;
    tag_part.copy_from_slice(&tag);

    let digest = transcript(&header_hash, &certificate, aad, payload);
    let mut signature = signer.ed25519().sign(label::ENVELOPE_SIGNATURE, &digest);
    if flags & body_flag::SIGNATURE != 0 {
        xor_at(&mut signature, 0, 1);
    }
    let bump = |flag: u8, len: usize| len + usize::from(flags & flag != 0);
    let cert_len = u16::try_from(bump(body_flag::CERT_LEN, certificate.len())).map_err(|_| FAIL)?;
    let aad_len = u32::try_from(bump(body_flag::AAD_LEN, aad.len())).map_err(|_| FAIL)?;
    let payload_len = if flags & body_flag::HUGE_PAYLOAD_LEN != 0 {
        u32::MAX
    } else {
        u32::try_from(bump(body_flag::PAYLOAD_LEN, payload.len())).map_err(|_| FAIL)?
    };
    let mut body = Vec::with_capacity(plain_len + size::TAG);
    body.extend_from_slice(&cert_len.to_be_bytes());
    body.extend_from_slice(&certificate);
    body.extend_from_slice(&aad_len.to_be_bytes());
    body.extend_from_slice(aad);
    body.extend_from_slice(&payload_len.to_be_bytes());
    body.extend_from_slice(payload);
    body.extend_from_slice(&signature);
    body.extend_from_slice(padding);
    let tag = keys.seal_body(&header_hash, &mut body).map_err(|_| FAIL)?;
    body.extend_from_slice(&tag);
    Ok(Envelope {
        header,
        wraps: vec![wrap],
        body,
    }
    .to_bytes())
}

// ---------------------------------------------------------------------------
// Padding arithmetic and the replay guard.
// ---------------------------------------------------------------------------

/// Padmé computed in `u128` (no overflow), from the paper's definition.
fn padme_model(len: u128) -> u128 {
    if len < 2 {
        return len;
    }
    let e = 127 - len.leading_zeros(); // floor(log2 len)
    let s = 32 - e.leading_zeros(); // floor(log2 e) + 1
    let mask = (1u128 << (e - s)) - 1;
    (len + mask) & !mask
}

fn read_u64(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    for (dst, src) in b.iter_mut().zip(bytes) {
        *dst = *src;
    }
    u64::from_be_bytes(b)
}

/// `Padding::padded_len` and `padme` on lengths from `data`
/// (`mode || bucket u32 || len u64 || other len u64`, zero-filled when
/// short). Oracles: the result equals the overflow-free model, never
/// shrinks, stays within `MAX_BODY`, Padmé's overhead is at most ~1/8,
/// Padmé is idempotent and monotonic.
pub fn padding(data: &[u8]) -> Outcome {
    let mode = data.first().copied().unwrap_or(0);
    let bucket = u32::try_from(read_u64(data.get(1..5).unwrap_or(&[])) >> 32).unwrap_or(0);
    let len = usize::try_from(read_u64(data.get(5..13).unwrap_or(&[]))).unwrap_or(usize::MAX);
    let other = usize::try_from(read_u64(data.get(13..21).unwrap_or(&[]))).unwrap_or(usize::MAX);
    let padding = match mode % 3 {
        0 => Padding::None,
        1 => Padding::Padme,
        _ => Padding::Bucket(bucket),
    };
    let wide = len as u128;
    let model = match padding {
        Padding::Padme => padme_model(wide),
        Padding::Bucket(b) => {
            let b = u128::from(b.max(1));
            wide.div_ceil(b) * b
        }
        _ => wide,
    };
    let expected = (model <= limit::MAX_BODY as u128).then_some(model as usize);
    let got = padding.padded_len(len);
    ensure(
        got == expected,
        "padding: padded_len differs from the model",
    )?;
    if let Some(p) = got {
        ensure(p >= len, "padding: padded_len shrank")?;
    }

    let p = padme(len);
    if padme_model(wide) <= usize::MAX as u128 {
        ensure(
            p as u128 == padme_model(wide),
            "padme: differs from the model",
        )?;
        ensure(p >= len, "padme: shrank")?;
        ensure(p - len <= len / 8 + 1, "padme: overhead above 1/8")?;
        ensure(padme(p) == p, "padme: not idempotent")?;
        let (lo, hi) = if len <= other {
            (len, other)
        } else {
            (other, len)
        };
        if padme_model(hi as u128) <= usize::MAX as u128 {
            ensure(padme(lo) <= padme(hi), "padme: not monotonic")?;
        }
    } else {
        ensure(p >= len, "padme: shrank near usize::MAX")?;
    }
    Ok(())
}

/// Runs a [`ReplayGuard`] through `check` calls read from `data`:
/// `capacity || window u16 || skew u16` then 5-byte steps
/// `id || timestamp offset i16 || clock advance u16` (ids from a set of
/// 16, so repeats are common). Oracles: a (message id, timestamp) pair is
/// accepted at most once, ever (a replayed envelope carries its signed
/// timestamp, so this is the replay property); every acceptance is inside
/// the window; a refusal as `Replayed` names an accepted id; a never-seen id
/// newer than everything accepted so far and inside the window is accepted;
/// the guard never holds more than its capacity.
pub fn replay_guard(data: &[u8]) -> Outcome {
    let (capacity, window, skew, mut steps) = match data {
        [c, w0, w1, s0, s1, rest @ ..] => (
            usize::from(*c % 16),
            u64::from(u16::from_be_bytes([*w0, *w1])),
            u64::from(u16::from_be_bytes([*s0, *s1])),
            rest,
        ),
        _ => return Ok(()),
    };
    let mut guard = ReplayGuard::new(capacity, window, skew);
    let mut now: u64 = 1_000_000;
    let mut accepted_pairs: BTreeSet<(MessageId, u64)> = BTreeSet::new();
    let mut accepted_ids: BTreeSet<MessageId> = BTreeSet::new();
    let mut newest: Option<u64> = None;
    while let [id, t0, t1, a0, a1, rest @ ..] = steps {
        steps = rest;
        now += u64::from(u16::from_be_bytes([*a0, *a1]));
        let offset = i64::from(i16::from_be_bytes([*t0, *t1]));
        let timestamp = now.saturating_add_signed(offset);
        let id = MessageId([*id % 16; 16]);
        let remembered_before = guard.len();
        let result = guard.check(id, timestamp, now);
        let in_window = timestamp <= now + skew && timestamp >= now.saturating_sub(window);
        match result {
            Ok(()) => {
                ensure(
                    accepted_pairs.insert((id, timestamp)),
                    "replay: a (message id, timestamp) pair was accepted twice",
                )?;
                ensure(in_window, "replay: accepted outside the window")?;
                accepted_ids.insert(id);
                newest = Some(newest.map_or(timestamp, |n| n.max(timestamp)));
            }
            Err(ReplayError::Replayed) => {
                ensure(
                    accepted_ids.contains(&id),
                    "replay: Replayed for an id never accepted",
                )?;
                ensure(
                    guard.len() == remembered_before,
                    "replay: a refused check changed the guard",
                )?;
            }
            Err(ReplayError::FromTheFuture) => ensure(
                timestamp > now + skew,
                "replay: FromTheFuture for a timestamp inside the skew",
            )?,
            Err(_) => {
                let fresh = !accepted_ids.contains(&id) && newest.is_none_or(|n| timestamp > n);
                ensure(
                    !(fresh && in_window),
                    "replay: a fresh, newest, in-window id was refused as too old",
                )?;
            }
        }
        ensure(
            guard.len() <= capacity.max(1),
            "replay: the guard holds more than its capacity",
        )?;
    }
    Ok(())
}
