//! Not API. What a malicious sender or co-recipient can do with a session's
//! chain state, for the attack tests: encrypt under a session's chain and
//! sign with another device's key, or leave the signature out. Everything
//! here uses only state the forger holds; nothing here weakens
//! [`crate::InboundSession::decrypt`].

use rand_core::CryptoRng;

use crate::envelope::Message;
use crate::identity::DeviceSecret;
use crate::session::error::SessionError;
use crate::session::message::SessionMessage;
use crate::session::outbound::{OutboundSession, Signer};

/// Encrypts the next message of `session` (whoever owns it) and signs it
/// with `signer`'s device key.
pub fn encrypt_signed_by<R: CryptoRng + ?Sized>(
    session: &mut OutboundSession,
    signer: &DeviceSecret,
    message: &Message<'_>,
    now: u64,
    rng: &mut R,
) -> Result<SessionMessage, SessionError> {
    session.encrypt_as(Signer::Device(signer), message, now, rng)
}

/// Encrypts the next message of `session` with no signature in the body.
pub fn encrypt_unsigned<R: CryptoRng + ?Sized>(
    session: &mut OutboundSession,
    message: &Message<'_>,
    now: u64,
    rng: &mut R,
) -> Result<SessionMessage, SessionError> {
    session.encrypt_as(Signer::Stripped, message, now, rng)
}

/// A byte-for-byte copy of a live outbound session, as a VM snapshot or a
/// container checkpoint restores it (no [`OutboundSession::import`], so no
/// rotation flag): for the restored-RNG attack test.
pub fn snapshot(session: &OutboundSession) -> OutboundSession {
    session.snapshot()
}

/// [`OutboundSession::import`] without the restored flag: what a malicious
/// sender's own code (or a co-recipient turning its inbound state into an
/// outbound one) can do with the bytes; honest code cannot.
pub fn import_live(
    bytes: &[u8],
    owner: &crate::identity::DevicePublicKeys,
) -> Result<OutboundSession, SessionError> {
    let mut s = OutboundSession::import(bytes, owner)?;
    s.restored = false;
    Ok(s)
}
