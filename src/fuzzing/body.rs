//! Padding removal and body parsing through `open`: correctly encrypted
//! and signed envelopes whose body plaintext comes from the input.

use alloc::vec;
use alloc::vec::Vec;

use crate::consts::{label, limit, size};
use crate::envelope::hpke::{self, ScheduleContext};
use crate::envelope::schedule::{transcript, wrap_info, BodyFields, MessageKeys};
use crate::envelope::{open, Envelope, Header, MessageId};
use crate::error::OpenError;
use crate::primitives::X25519Secret;

use super::open::xor_at;
use super::{ensure, Fixture, Outcome, Violation, NOW, OPEN_AT};

/// How [`open_body`] corrupts an otherwise valid body (bit flags).
pub mod body_flag {
    /// The body's timestamp differs from the signed one by one.
    pub const TIMESTAMP: u8 = 0x01;
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
    /// Beyond a limit: the AAD, or (for exactly the input
    /// `[0x80, 0xfe, 0xff]`) the payload, is padded with zeros to one byte
    /// over `MAX_AAD` / `MAX_PAYLOAD`, and signed as such. A limit violated only by the sender must still be
    /// refused by `open` (SPEC.md §2.5).
    pub const OVER_LIMIT: u8 = 0x80;
    /// Every corruption.
    pub const ALL: u8 = 0xff;
}

/// The length bytes that select the (slow) over-limit payload case.
const OVER_PAYLOAD_AAD: usize = 0xfe;
/// See [`OVER_PAYLOAD_AAD`].
const OVER_PAYLOAD_LEN: usize = 0xff;

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
    let (mut aad, mut payload) = (aad.to_vec(), payload.to_vec());
    if flags & body_flag::OVER_LIMIT != 0 {
        // The payload case costs a 64 MiB seal and open: only for one exact
        // 3-byte input (a seed), so the target stays fast.
        if flags == body_flag::OVER_LIMIT
            && aad_len == OVER_PAYLOAD_AAD
            && payload_len == OVER_PAYLOAD_LEN
            && data.len() == 3
        {
            payload.resize(limit::MAX_PAYLOAD + 1, 0);
        } else {
            aad.resize(limit::MAX_AAD + 1, 0);
        }
    }
    let (aad, payload) = (aad.as_slice(), payload.as_slice());
    let bytes = custom_body_envelope(fx, flags, aad, payload, padding)?;
    let (Some(recipient), Some(other)) = (fx.devices.get(2), fx.devices.get(1)) else {
        return Ok(());
    };
    let result = open(recipient, &bytes, &fx.directory, OPEN_AT);
    if let Ok(opened) = &result {
        // Limit oracle: nothing beyond a limit is ever accepted.
        ensure(
            opened.payload().len() <= limit::MAX_PAYLOAD && opened.aad().len() <= limit::MAX_AAD,
            "open_body: a body beyond a limit opened",
        )?;
    }
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
    let signer = signer.secret();
    let certificate = if flags & body_flag::LAPTOP_CERT != 0 {
        fx.laptop_certificate.to_bytes()
    } else {
        fx.sender_certificate.to_bytes()
    };
    let plain_len =
        certificate.len() + 8 + 4 + aad.len() + 4 + payload.len() + size::SIGNATURE + padding.len();
    let ephemeral = X25519Secret::from_bytes(&fx.body_ephemeral);
    let mut header = Header {
        suite: crate::Suite::Classical,
        message_id: MessageId(fx.body_message_id),
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
        &recipient.secret().public_keys().x25519,
    )
    .map_err(|_| FAIL)?;
    let ctx = hpke::Context::new(&shared, &ScheduleContext::new(&wrap_info(&header_hash)))
        .map_err(|_| FAIL)?;
    let mut wrap = [0u8; size::WRAP];
    let (secret_part, tag_part) = wrap.split_at_mut(size::HASH);
    secret_part.copy_from_slice(&fx.body_secret);
    let tag = ctx
        .seal_in_place(0, &recipient.certificate().recipient_binding(), secret_part)
        .map_err(|_| FAIL)?;
    tag_part.copy_from_slice(&tag);

    let fields = BodyFields {
        certificate: &certificate,
        timestamp: NOW,
        aad,
        payload,
    };
    let digest = transcript(&header_hash, &fields);
    let mut signature = signer.ed25519().sign(label::ENVELOPE_SIGNATURE, &digest);
    if flags & body_flag::SIGNATURE != 0 {
        xor_at(&mut signature, 0, 1);
    }
    let bump = |flag: u8, len: usize| len + usize::from(flags & flag != 0);
    let timestamp = NOW + u64::from(flags & body_flag::TIMESTAMP != 0);
    let aad_len = u32::try_from(bump(body_flag::AAD_LEN, aad.len())).map_err(|_| FAIL)?;
    let payload_len = if flags & body_flag::HUGE_PAYLOAD_LEN != 0 {
        u32::MAX
    } else {
        u32::try_from(bump(body_flag::PAYLOAD_LEN, payload.len())).map_err(|_| FAIL)?
    };
    let mut body = Vec::with_capacity(plain_len + size::TAG);
    body.extend_from_slice(&certificate);
    body.extend_from_slice(&timestamp.to_be_bytes());
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
        kem_ciphertexts: Vec::new(),
        wraps: vec![wrap],
        body,
    }
    .to_bytes())
}
