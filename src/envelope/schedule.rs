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
/// `SHA-256(header hash || u16 len || certificate || u32 len || aad || u32 len || payload)`.
pub(crate) fn transcript(
    header_hash: &[u8; 32],
    certificate: &[u8],
    aad: &[u8],
    payload: &[u8],
) -> [u8; 32] {
    let mut h = Sha256Stream::new();
    h.update(header_hash);
    h.update(
        &u16::try_from(certificate.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    h.update(certificate);
    h.update(&u32::try_from(aad.len()).unwrap_or(u32::MAX).to_be_bytes());
    h.update(aad);
    h.update(
        &u32::try_from(payload.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    h.update(payload);
    h.finish()
}

/// `info` of the per-device HPKE wrap: `lp(L_wrap) || L_wrap || header hash`.
pub(crate) fn wrap_info(header_hash: &[u8; 32]) -> [u8; 1 + 15 + 32] {
    let mut info = [0u8; 1 + 15 + 32];
    let (p, rest) = info.split_at_mut(1);
    p.copy_from_slice(&label_prefix(label::WRAP_INFO));
    let (l, h) = rest.split_at_mut(15);
    l.copy_from_slice(label::WRAP_INFO);
    h.copy_from_slice(header_hash);
    info
}

/// Appends the unpadded body plaintext (SPEC.md §4.7):
/// `u16 len || certificate || u32 len || aad || u32 len || payload || signature`.
/// Callers have bounded every length (certificate ≤ 201 bytes, AAD and
/// payload by their limits), so the prefixes never saturate.
pub(crate) fn write_body(
    out: &mut Vec<u8>,
    certificate: &[u8],
    aad: &[u8],
    payload: &[u8],
    signature: &[u8; 64],
) {
    out.extend_from_slice(
        &u16::try_from(certificate.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    out.extend_from_slice(certificate);
    out.extend_from_slice(&u32::try_from(aad.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(aad);
    out.extend_from_slice(
        &u32::try_from(payload.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    out.extend_from_slice(payload);
    out.extend_from_slice(signature);
}
