//! Not API. A malicious sender's toolkit, so tests and vectors can build
//! envelopes the honest [`crate::seal`] never would: different secrets
//! wrapped for different devices, arbitrary headers and arbitrary body
//! plaintexts. Everything here uses only public information plus the
//! secrets the forger chose itself; nothing here weakens `open`.

use alloc::vec::Vec;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::envelope::hpke::{self, ScheduleContext};
use crate::envelope::schedule::{transcript, wrap_info, BodyFields, MessageKeys};
use crate::envelope::{Envelope, Header, MessageId};
use crate::identity::{DeviceSecret, KeyId};
use crate::primitives::X25519Secret;

/// One recipient slot of a forged envelope. Its `Debug` names the slot's key
/// id only; the wrapped secret is wiped on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ForgedRecipient {
    /// The key id named in the header.
    #[zeroize(skip)]
    pub key_id: KeyId,
    /// The X25519 key the wrap is made for.
    pub x25519: [u8; 32],
    /// The secret wrapped in this slot (an honest sender uses one secret for all).
    pub wrapped_secret: [u8; 32],
    /// The wrap's AEAD associated data: the recipient binding it is made
    /// for (an honest sender uses the recipient certificate's, SPEC §4.5).
    pub recipient_binding: [u8; 32],
}

/// Everything a forger controls. Its `Debug` prints the public fields and
/// lengths only; the secrets (ephemeral key, message secret, wrapped
/// secrets) and the body plaintext are wiped on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Forgery {
    /// Message id.
    pub message_id: [u8; 16],
    /// Ephemeral X25519 secret (its public key is the header's `enc`).
    pub ephemeral_secret: [u8; 32],
    /// The secret the header commits to and the body is encrypted under.
    pub message_secret: [u8; 32],
    /// Recipient slots, in the order given (sorted by the forger if it wants
    /// the envelope to decode).
    pub recipients: Vec<ForgedRecipient>,
    /// The body plaintext (see [`body_plaintext`]).
    pub body_plaintext: Vec<u8>,
}

impl core::fmt::Debug for ForgedRecipient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ForgedRecipient")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl core::fmt::Debug for Forgery {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Forgery")
            .field("message_id", &self.message_id)
            .field("recipients", &self.recipients)
            .field("body_plaintext_len", &self.body_plaintext.len())
            .finish_non_exhaustive()
    }
}

/// Builds the envelope a forger would send.
pub fn forge(f: &Forgery) -> Option<Envelope> {
    let ephemeral = X25519Secret::from_bytes(&f.ephemeral_secret);
    let mut header = Header {
        suite: crate::Suite::Classical,
        message_id: MessageId(f.message_id),
        ephemeral: ephemeral.public(),
        commitment: [0; 32],
        recipients: f.recipients.iter().map(|r| r.key_id).collect(),
        body_len: u32::try_from(f.body_plaintext.len() + 16).ok()?,
    };
    let context = header.context_hash();
    let keys = MessageKeys::derive(&f.message_secret, &context).ok()?;
    header.commitment = keys.commitment;
    let header_hash = Header::header_hash(&context, &header.commitment);
    let ksc = ScheduleContext::new(&wrap_info(&header_hash));
    let mut wraps = Vec::new();
    for r in &f.recipients {
        let shared = hpke::encap(&ephemeral, &header.ephemeral, &r.x25519).ok()?;
        let ctx = hpke::Context::new(&shared, &ksc).ok()?;
        let mut wrap = [0u8; 48];
        let (s, t) = wrap.split_at_mut(32);
        s.copy_from_slice(&r.wrapped_secret);
        t.copy_from_slice(&ctx.seal_in_place(0, &r.recipient_binding, s).ok()?);
        wraps.push(wrap);
    }
    let mut body = f.body_plaintext.clone();
    let tag = keys.seal_body(&header_hash, &mut body).ok()?;
    body.extend_from_slice(&tag);
    Some(Envelope {
        header,
        kem_ciphertexts: Vec::new(),
        wraps,
        body,
    })
}

/// The header hash of an envelope (public).
pub fn header_hash(header: &Header) -> [u8; 32] {
    Header::header_hash(&header.context_hash(), &header.commitment)
}

/// The body plaintext of an envelope, given its message secret.
pub fn decrypt_body(message_secret: &[u8; 32], envelope: &Envelope) -> Option<Vec<u8>> {
    let context = envelope.header.context_hash();
    let keys = MessageKeys::derive(message_secret, &context).ok()?;
    let hh = Header::header_hash(&context, &envelope.header.commitment);
    let split = envelope.body.len().checked_sub(16)?;
    let (ct, tag) = envelope.body.split_at(split);
    let tag: [u8; 16] = tag.try_into().ok()?;
    let mut plain = Zeroizing::new(ct.to_vec());
    keys.open_body(&hh, &mut plain, &tag).ok()?;
    Some(plain.to_vec())
}

/// `certificate || u64 timestamp || u32 len || aad || u32 len || payload || signature`, unpadded.
pub fn body_plaintext(
    certificate: &[u8],
    timestamp: u64,
    aad: &[u8],
    payload: &[u8],
    signature: &[u8; 64],
) -> Vec<u8> {
    let mut b = Vec::new();
    let fields = BodyFields {
        certificate,
        timestamp,
        aad,
        payload,
    };
    crate::envelope::schedule::write_body(&mut b, &fields, signature);
    b
}

/// The signature a device makes over a message with the given header hash.
pub fn sign(
    device: &DeviceSecret,
    header_hash: &[u8; 32],
    certificate: &[u8],
    timestamp: u64,
    aad: &[u8],
    payload: &[u8],
) -> [u8; 64] {
    let fields = BodyFields {
        certificate,
        timestamp,
        aad,
        payload,
    };
    let digest = transcript(header_hash, &fields);
    device
        .ed25519()
        .sign(crate::consts::label::ENVELOPE_SIGNATURE, &digest)
}

/// The header a forger will produce for `f` (to sign over before forging).
pub fn forged_header_hash(f: &Forgery) -> Option<[u8; 32]> {
    forge(f).map(|e| header_hash(&e.header))
}
