//! `open`: find this device's wrap, unwrap, check the key commitment,
//! decrypt, authenticate the sender (SPEC.md §5.2).
//!
//! Every authentication failure returns [`OpenError::Unauthenticated`], and
//! no plaintext leaves this function unless every check passed.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use zeroize::{Zeroize, Zeroizing};

use crate::codec::Reader;
use crate::consts::{label, limit, size};
use crate::envelope::header::{Header, MessageId};
use crate::envelope::hpke::{self, ScheduleContext};
use crate::envelope::hpke_xwing::{xwing_decap, XWingScheduleContext};
use crate::envelope::schedule::{transcript, wrap_info, BodyFields, MessageKeys};
use crate::envelope::wire::{split_wrap, View};
use crate::error::OpenError;
use crate::identity::keyring::{KemSecretRef, KeyRef};
use crate::identity::{
    AccountPublicKey, DeviceCertificate, DeviceId, DeviceKeyring, KeyId, VerifiedDeviceList,
};
use crate::suite::Suite;

/// Where `open` finds the verified device list of a claimed sender. The
/// library does no I/O: the caller keeps verified lists and answers here.
pub trait DeviceListLookup {
    /// The verified device list of `account`, if the caller has one.
    fn verified_device_list(&self, account: &AccountPublicKey) -> Option<&VerifiedDeviceList>;

    /// The grace policy (SPEC.md §5.2 step 9, §14.1): whether a sender
    /// certificate that is not on the account's list, or has expired at
    /// `now`, is still accepted for a message the sender stamped
    /// `timestamp`. Called only for a certificate whose device signed the
    /// message. The default accepts nothing: only the list decides.
    /// [`crate::TrustStore`] accepts what was valid when it learned of a
    /// change, for its grace period, and never a removed device.
    fn accepts_in_grace(&self, certificate: &DeviceCertificate, timestamp: u64, now: u64) -> bool {
        let _ = (certificate, timestamp, now);
        false
    }
}

/// A slice may hold several lists of one account (an app that keeps an old
/// list beside the one `update` returned): the **highest version** is the
/// account's list, whatever the order, so a superseded list never decides
/// (SPEC.md §5.2 step 8). Two lists of that version with different contents
/// (a fork the caller kept) are no list at all: `open` then asks for the
/// account's list (`SenderListUnavailable`) instead of picking one.
impl DeviceListLookup for [VerifiedDeviceList] {
    fn verified_device_list(&self, account: &AccountPublicKey) -> Option<&VerifiedDeviceList> {
        let mut best: Option<&VerifiedDeviceList> = None;
        let mut ambiguous = false;
        for list in self.iter().filter(|l| l.account() == account) {
            match best {
                Some(b) if list.version() < b.version() => {}
                Some(b) if list.version() == b.version() => {
                    ambiguous |= list.list().hash() != b.list().hash();
                }
                _ => {
                    best = Some(list);
                    ambiguous = false;
                }
            }
        }
        if ambiguous {
            None
        } else {
            best
        }
    }
}

impl<const N: usize> DeviceListLookup for [VerifiedDeviceList; N] {
    fn verified_device_list(&self, account: &AccountPublicKey) -> Option<&VerifiedDeviceList> {
        self.as_slice().verified_device_list(account)
    }
}

impl DeviceListLookup for Vec<VerifiedDeviceList> {
    fn verified_device_list(&self, account: &AccountPublicKey) -> Option<&VerifiedDeviceList> {
        self.as_slice().verified_device_list(account)
    }
}

impl DeviceListLookup for BTreeMap<AccountPublicKey, VerifiedDeviceList> {
    fn verified_device_list(&self, account: &AccountPublicKey) -> Option<&VerifiedDeviceList> {
        self.get(account)
    }
}

impl<T: DeviceListLookup + ?Sized> DeviceListLookup for &T {
    fn verified_device_list(&self, account: &AccountPublicKey) -> Option<&VerifiedDeviceList> {
        (**self).verified_device_list(account)
    }

    fn accepts_in_grace(&self, certificate: &DeviceCertificate, timestamp: u64, now: u64) -> bool {
        (**self).accepts_in_grace(certificate, timestamp, now)
    }
}

/// An opened, authenticated message. Its `Debug` shows lengths, not the
/// payload or AAD. The payload belongs to the caller from here on (it is
/// not wiped on drop: wrap [`Opened::into_payload`] in `Zeroizing` if it
/// must be). A failed `open` leaves no plaintext anywhere: its buffer is
/// wiped before the error is returned.
#[derive(Clone, PartialEq, Eq)]
pub struct Opened {
    /// The decrypted body; the payload is `body[payload]`. Kept whole so a
    /// large payload is never copied again.
    body: Vec<u8>,
    payload: core::ops::Range<usize>,
    aad: Vec<u8>,
    sender: DeviceCertificate,
    message_id: MessageId,
    timestamp: u64,
    recipients: Vec<KeyId>,
    opened_with: KeyId,
    in_grace: bool,
    suite: Suite,
}

impl core::fmt::Debug for Opened {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Opened")
            .field("payload_len", &self.payload.len())
            .field("aad_len", &self.aad.len())
            .field("sender", &self.sender)
            .field("message_id", &self.message_id)
            .field("timestamp", &self.timestamp)
            .field("recipients", &self.recipients.len())
            .field("suite", &self.suite)
            .finish()
    }
}

impl Opened {
    /// The payload.
    pub fn payload(&self) -> &[u8] {
        self.body.get(self.payload.clone()).unwrap_or(&[])
    }

    /// Takes the payload, in an allocation of exactly its length: the rest
    /// of the decrypted body (certificate, AAD, signature, padding) is wiped
    /// and freed, however much padding the sender chose.
    pub fn into_payload(mut self) -> Vec<u8> {
        let payload = self.payload().to_vec();
        self.body.zeroize();
        payload
    }

    /// The caller associated data the sender bound to the message.
    pub fn aad(&self) -> &[u8] {
        &self.aad
    }

    /// The sender's account (verified through its device list).
    pub fn sender_account(&self) -> &AccountPublicKey {
        self.sender.account()
    }

    /// The sending device (verified through the sender's device list).
    pub fn sender_device(&self) -> DeviceId {
        self.sender.device_id()
    }

    /// The sending device's certificate.
    pub fn sender_certificate(&self) -> &DeviceCertificate {
        &self.sender
    }

    /// The message id (check it with a [`crate::ReplayGuard`]).
    pub fn message_id(&self) -> MessageId {
        self.message_id
    }

    /// The sender's timestamp (Unix ms).
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// Key ids of every recipient device named in the signed header.
    pub fn recipients(&self) -> &[KeyId] {
        &self.recipients
    }

    /// True when the sender's certificate was accepted under the caller's
    /// grace policy (SPEC.md §5.2 step 9, §14.1): not on the current list
    /// (renewed or re-keyed since) or expired at `now`. An app may show it.
    pub fn accepted_in_grace(&self) -> bool {
        self.in_grace
    }

    /// The key id of the keyring key the wrap was made to: a signed
    /// prekey's, or the certificate key's of the current or a superseded
    /// key set (SPEC.md §5.2 step 2).
    pub fn opened_with(&self) -> KeyId {
        self.opened_with
    }

    /// The suite that protected the message: [`Suite::Hybrid`] when every
    /// recipient's wrap was X-Wing (the message stays confidential if either
    /// ML-KEM-768 or X25519 holds), else [`Suite::Classical`] (SPEC.md
    /// §4.10). It is bound into the key schedule and the sender's signature,
    /// so no one on the path could have changed it.
    pub fn suite(&self) -> Suite {
        self.suite
    }
}

/// Opens an envelope or a per-device delivery for the device whose keys and
/// certificate `keyring` holds (SPEC.md §5.2).
///
/// `directory` answers with verified device lists; the sender's certificate
/// must be on its account's list there, unexpired at `now` (Unix ms).
///
/// # Errors
/// * [`OpenError::Decode`]: the public structure is malformed, or `bytes`
///   is another object type (`WrongObjectType { expected: 0x03, .. }`);
/// * [`OpenError::NotARecipient`]: the header names no key `keyring`
///   holds (not this device, or a prekey or superseded key already deleted);
/// * [`OpenError::SenderListUnavailable`]: `directory` has no list for the
///   (self-consistent) claimed sender; fetch it, verify it, retry;
/// * [`OpenError::SenderNotOnTrustedList`]: the (self-consistent) sender's
///   certificate is not on the list `directory` holds for its account
///   (newer than that list, or removed from it); refresh that account's
///   list and retry;
/// * [`OpenError::Unauthenticated`]: anything else, including a wrap made
///   for another account's certificate of this device's key.
pub fn open<D: DeviceListLookup + ?Sized>(
    keyring: &DeviceKeyring,
    bytes: &[u8],
    directory: &D,
    now: u64,
) -> Result<Opened, OpenError> {
    let r = open_inner(keyring, bytes, directory, now);
    crate::primitives::scrub_stack();
    r
}

/// The body of [`open`], in a frame of its own so that [`open`] can scrub
/// the stack it used (SECURITY.md, "Zeroization").
#[inline(never)]
pub(crate) fn open_inner<D: DeviceListLookup + ?Sized>(
    keyring: &DeviceKeyring,
    bytes: &[u8],
    directory: &D,
    now: u64,
) -> Result<Opened, OpenError> {
    let view = View::decode(bytes)?;
    let (index, key) = keyring.find(&view.header).ok_or(OpenError::NotARecipient)?;
    let wrap = view.wrap(index).ok_or(OpenError::NotARecipient)?;

    let context_hash = view.header.context_hash();
    let header_hash = Header::header_hash(&context_hash, &view.header.commitment);
    let message_secret = unwrap(&key, &view.header, &header_hash, wrap)?;
    let keys = MessageKeys::derive(&message_secret, &context_hash)
        .map_err(|_| OpenError::Unauthenticated)?;
    if !keys.commitment_matches(&view.header.commitment) {
        return Err(OpenError::Unauthenticated);
    }

    let (ct, tag) = view
        .body
        .split_at(view.body.len().saturating_sub(size::TAG));
    let tag: [u8; size::TAG] = tag.try_into().map_err(|_| OpenError::Unauthenticated)?;
    let mut plain = Zeroizing::new(ct.to_vec());
    keys.open_body(&header_hash, &mut plain, &tag)
        .map_err(|_| OpenError::Unauthenticated)?;

    let body = parse_body(&plain).ok_or(OpenError::Unauthenticated)?;
    let sender = DeviceCertificate::from_bytes(body.fields.certificate)
        .map_err(|_| OpenError::Unauthenticated)?;
    let device_key = crate::primitives::Ed25519Public::from_bytes(&sender.keys().ed25519)
        .map_err(|_| OpenError::Unauthenticated)?;
    let digest = transcript(&header_hash, &body.fields);
    let signed = device_key
        .verify(label::ENVELOPE_SIGNATURE, &digest, &body.signature)
        .is_ok();
    // Name the account to fetch only for a self-consistent claim: the
    // certificate verifies under that account and its device signed this
    // message. Anything less is an authentication failure like any other.
    let self_consistent = || signed && sender.verify_signed_by(sender.account()).is_ok();
    let Some(list) = directory.verified_device_list(sender.account()) else {
        if self_consistent() {
            return Err(OpenError::SenderListUnavailable(*sender.account()));
        }
        return Err(OpenError::Unauthenticated);
    };
    let listed = list.device(sender.device_id()).map(|d| d.certificate());
    let on_list = listed == Some(&sender);
    let valid = on_list && !sender.is_expired(now);
    // The caller's grace policy (SPEC.md §5.2 step 9): a certificate that
    // was valid when the caller learned of a change, for a bounded time.
    let in_grace = || signed && directory.accepts_in_grace(&sender, body.fields.timestamp, now);
    if !valid && !in_grace() {
        // A certificate the account signed but the trusted list does not
        // hold (a device added, or a certificate renewed, after that list):
        // the caller refreshes that one account's list.
        if !on_list && self_consistent() {
            return Err(OpenError::SenderNotOnTrustedList(*sender.account()));
        }
        return Err(OpenError::Unauthenticated);
    }
    if !signed {
        return Err(OpenError::Unauthenticated);
    }

    let aad = body.fields.aad.to_vec();
    let timestamp = body.fields.timestamp;
    let payload_range = body.payload_start..body.payload_start + body.fields.payload.len();
    Ok(Opened {
        // Authenticated: the plaintext is the caller's now (not wiped).
        body: core::mem::take(&mut *plain),
        payload: payload_range,
        aad,
        sender,
        message_id: view.header.message_id,
        timestamp,
        recipients: view.header.recipients,
        opened_with: key.key_id,
        in_grace: !valid,
        suite: view.header.suite,
    })
}

/// Decapsulates and opens this device's wrap (SPEC.md §5.2 step 3), whose
/// AEAD associated data is the recipient binding of the key it was made to:
/// the message secret. The classical suite decapsulates the header's shared
/// `enc` (DHKEM(X25519)); the hybrid suite the wrap's own X-Wing ciphertext.
/// Every failure, in either half of X-Wing or in the AEAD, is the same
/// [`OpenError::Unauthenticated`].
pub(crate) fn unwrap(
    key: &KeyRef<'_>,
    header: &Header,
    header_hash: &[u8; 32],
    wrap: &[u8],
) -> Result<Zeroizing<[u8; 32]>, OpenError> {
    let (kem_ciphertext, wrap) =
        split_wrap(header.suite, wrap).ok_or(OpenError::Unauthenticated)?;
    let info = wrap_info(header_hash);
    let ctx = match (&key.kem, kem_ciphertext) {
        (KemSecretRef::X25519 { secret, public }, None) => {
            let shared = hpke::decap(secret, public, &header.ephemeral)
                .map_err(|_| OpenError::Unauthenticated)?;
            hpke::Context::new(&shared, &ScheduleContext::new(&info))
        }
        (KemSecretRef::XWing(secret), Some(ciphertext)) => {
            xwing_decap(secret, ciphertext, &XWingScheduleContext::new(&info))
        }
        // `find` only returns keys of the header's suite.
        _ => return Err(OpenError::Unauthenticated),
    }
    .map_err(|_| OpenError::Unauthenticated)?;
    let mut secret = Zeroizing::new([0u8; 32]);
    let (ct, tag) = wrap.split_at(size::HASH);
    secret.copy_from_slice(ct);
    let tag: [u8; size::TAG] = tag.try_into().map_err(|_| OpenError::Unauthenticated)?;
    ctx.open_in_place(0, key.binding, secret.as_mut(), &tag)
        .map_err(|_| OpenError::Unauthenticated)?;
    Ok(secret)
}

pub(crate) struct Body<'a> {
    pub(crate) fields: BodyFields<'a>,
    payload_start: usize,
    signature: [u8; 64],
}

/// Parses the decrypted body (SPEC.md §4.7). Every limit the sender obeys
/// holds here too: a 200-byte certificate, AAD at most
/// [`limit::MAX_AAD`] and payload at most [`limit::MAX_PAYLOAD`] bytes.
/// The padding must be all zero (checked without an early exit).
pub(crate) fn parse_body(plain: &[u8]) -> Option<Body<'_>> {
    let mut r = Reader::new(plain);
    let certificate = r
        .take(crate::identity::CERTIFICATE_LEN, "certificate")
        .ok()?;
    let timestamp = r.u64("timestamp").ok()?;
    let aad = r.bytes_u32(limit::MAX_AAD, "aad").ok()?;
    let payload_len = r.u32("payload length").ok()?;
    let payload_len = usize::try_from(payload_len).ok()?;
    if payload_len > limit::MAX_PAYLOAD {
        return None;
    }
    let payload_start = r.position();
    let payload = r.take(payload_len, "payload").ok()?;
    let signature = r.array("signature").ok()?;
    let padding = r.rest();
    let nonzero = padding.iter().fold(0u8, |acc, b| acc | b);
    if nonzero != 0 {
        return None;
    }
    Some(Body {
        fields: BodyFields {
            certificate,
            timestamp,
            aad,
            payload,
        },
        payload_start,
        signature,
    })
}
