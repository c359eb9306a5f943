//! From the message secret to the key commitment, body key and body nonce,
//! and the signed transcript (SPEC.md §4.4, §4.6).
//!
//! ```text
//! prk        = HKDF-Extract(salt = lp(L_msg) || L_msg, ikm = message secret)
//! commitment = HKDF-Expand(prk, lp(L_commit) || L_commit || context hash, 32)
//! body key   = HKDF-Expand(prk, lp(L_key)    || L_key    || context hash, 32)
//! body nonce = HKDF-Expand(prk, lp(L_nonce)  || L_nonce  || context hash, 12)
//! ```

use alloc::vec::Vec;

use zeroize::Zeroizing;

use crate::codec::label_prefix;
use crate::consts::label;
use crate::primitives::{
    ct_eq, hkdf_expand, hkdf_extract, AeadKey, Rejected, Secret32, Sha256Stream,
};

/// The keys one message secret yields for one header context.
pub(crate) struct MessageKeys {
    pub(crate) commitment: [u8; 32],
    body_key: Secret32,
    body_nonce: Zeroizing<[u8; 12]>,
}

fn expand(
    prk: &[u8; 32],
    l: &[u8],
    context_hash: &[u8; 32],
    out: &mut [u8],
) -> Result<(), Rejected> {
    hkdf_expand(prk, &[&label_prefix(l), l, context_hash], out)
}

impl MessageKeys {
    pub(crate) fn derive(
        message_secret: &[u8; 32],
        context_hash: &[u8; 32],
    ) -> Result<Self, Rejected> {
        let mut salt = Vec::with_capacity(1 + label::MESSAGE_SECRET.len());
        salt.extend_from_slice(&label_prefix(label::MESSAGE_SECRET));
        salt.extend_from_slice(label::MESSAGE_SECRET);
        let prk = hkdf_extract(&salt, &[message_secret]);
        let mut commitment = [0u8; 32];
        let mut body_key = Zeroizing::new([0u8; 32]);
        let mut body_nonce = Zeroizing::new([0u8; 12]);
        expand(&prk, label::COMMITMENT, context_hash, &mut commitment)?;
        expand(&prk, label::BODY_KEY, context_hash, body_key.as_mut())?;
        expand(&prk, label::BODY_NONCE, context_hash, body_nonce.as_mut())?;
        Ok(MessageKeys {
            commitment,
            body_key,
            body_nonce,
        })
    }

    /// Constant-time check of the commitment carried in the header.
    pub(crate) fn commitment_matches(&self, carried: &[u8; 32]) -> bool {
        ct_eq(&self.commitment, carried)
    }

    pub(crate) fn seal_body(
        &self,
        header_hash: &[u8; 32],
        buf: &mut [u8],
    ) -> Result<[u8; 16], Rejected> {
        AeadKey::new(&self.body_key).seal_detached(&self.body_nonce, header_hash, buf)
    }

    pub(crate) fn open_body(
        &self,
        header_hash: &[u8; 32],
        buf: &mut [u8],
        tag: &[u8; 16],
    ) -> Result<(), Rejected> {
        AeadKey::new(&self.body_key).open_detached(&self.body_nonce, header_hash, buf, tag)
    }
}

/// The 32-byte digest the sender's device signs (SPEC.md §4.6):
/// `SHA-256(header hash || certificate || u64 timestamp || u32 len || aad || u32 len || payload)`.
/// Callers have bounded every length (certificate 200 bytes, AAD and payload
/// by their limits), so the prefixes never saturate.
pub(crate) fn transcript(header_hash: &[u8; 32], fields: &BodyFields<'_>) -> [u8; 32] {
    let mut h = Sha256Stream::new();
    h.update(header_hash);
    h.update(fields.certificate);
    h.update(&fields.timestamp.to_be_bytes());
    h.update(&len_u32(fields.aad));
    h.update(fields.aad);
    h.update(&len_u32(fields.payload));
    h.update(fields.payload);
    h.finish()
}

fn len_u32(bytes: &[u8]) -> [u8; 4] {
    u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes()
}

/// `info` of the per-device wrap: `lp(L_wrap) || L_wrap || header hash`.
pub(crate) fn wrap_info(header_hash: &[u8; 32]) -> [u8; 1 + 15 + 32] {
    let mut info = [0u8; 1 + 15 + 32];
    let (p, rest) = info.split_at_mut(1);
    p.copy_from_slice(&label_prefix(label::WRAP_INFO));
    let (l, h) = rest.split_at_mut(15);
    l.copy_from_slice(label::WRAP_INFO);
    h.copy_from_slice(header_hash);
    info
}

/// The signed fields of a body (SPEC.md §4.6–4.7).
#[derive(Clone, Copy)]
pub(crate) struct BodyFields<'a> {
    /// The sender's certificate (200 bytes).
    pub(crate) certificate: &'a [u8],
    /// The sender's clock (Unix ms).
    pub(crate) timestamp: u64,
    pub(crate) aad: &'a [u8],
    pub(crate) payload: &'a [u8],
}

impl BodyFields<'_> {
    /// Length of the unpadded body plaintext.
    pub(crate) fn body_len(&self) -> usize {
        self.certificate.len() + 8 + 4 + self.aad.len() + 4 + self.payload.len() + 64
    }
}

/// Appends the unpadded body plaintext (SPEC.md §4.7):
/// `certificate || u64 timestamp || u32 len || aad || u32 len || payload || signature`.
pub(crate) fn write_body(out: &mut Vec<u8>, fields: &BodyFields<'_>, signature: &[u8; 64]) {
    out.extend_from_slice(fields.certificate);
    out.extend_from_slice(&fields.timestamp.to_be_bytes());
    out.extend_from_slice(&len_u32(fields.aad));
    out.extend_from_slice(fields.aad);
    out.extend_from_slice(&len_u32(fields.payload));
    out.extend_from_slice(fields.payload);
    out.extend_from_slice(signature);
}
