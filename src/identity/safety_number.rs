//! Safety numbers: a code two people compare to check each other's account
//! keys (SPEC.md §3.6).
//!
//! `digest = SHA-512(u8 len || "fanseal v1 safety number" || min(A, B) || max(A, B))[..60]`
//! with the two 32-byte account keys ordered bytewise, so both sides compute
//! the same value. Shown as 12 groups of 5 digits: group `i` is the
//! big-endian integer of digest bytes `5i..5i+5` modulo 100000. The compact
//! form for QR codes is `0x01 || 0x06 || digest` (62 bytes).

use alloc::string::String;
use core::fmt;

use crate::codec::{label_prefix, Reader};
use crate::consts::{label, object_type, size, WIRE_VERSION};
use crate::error::DecodeError;
use crate::identity::keys::AccountPublicKey;
use crate::primitives::{ct_eq, sha512};

/// Length of [`SafetyNumber::to_bytes`].
pub const SAFETY_NUMBER_BYTES: usize = 2 + size::SAFETY_DIGEST;

/// The safety number of a pair of account keys. Equal on both sides.
#[derive(Clone, Copy)]
pub struct SafetyNumber {
    digest: [u8; size::SAFETY_DIGEST],
}

impl SafetyNumber {
    /// Computes the safety number of two account keys (order-independent).
    pub fn new(a: &AccountPublicKey, b: &AccountPublicKey) -> Self {
        let (lo, hi) = if a.0 <= b.0 { (a, b) } else { (b, a) };
        let full = sha512(&[
            &label_prefix(label::SAFETY_NUMBER),
            label::SAFETY_NUMBER,
            &lo.0,
            &hi.0,
        ]);
        let mut digest = [0u8; size::SAFETY_DIGEST];
        digest.copy_from_slice(
            full.get(..size::SAFETY_DIGEST)
                .unwrap_or(&[0u8; size::SAFETY_DIGEST]),
        );
        SafetyNumber { digest }
    }

    /// The 60 digits, as 12 groups of 5 separated by spaces.
    pub fn to_digits(&self) -> String {
        let mut s = String::with_capacity(71);
        for (i, chunk) in self.digest.chunks_exact(5).enumerate() {
            let mut v: u64 = 0;
            for b in chunk {
                v = (v << 8) | u64::from(*b);
            }
            if i > 0 {
                s.push(' ');
            }
            let group = v % 100_000;
            let _ = fmt::write(&mut s, format_args!("{group:05}"));
        }
        s
    }

    /// The compact form for a QR code.
    pub fn to_bytes(&self) -> [u8; SAFETY_NUMBER_BYTES] {
        let mut out = [0u8; SAFETY_NUMBER_BYTES];
        out[0] = WIRE_VERSION;
        out[1] = object_type::SAFETY_NUMBER;
        out[2..].copy_from_slice(&self.digest);
        out
    }

    /// Decodes the compact form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        r.object_prefix(object_type::SAFETY_NUMBER)?;
        let digest = r.array("safety number digest")?;
        r.finish()?;
        Ok(SafetyNumber { digest })
    }

    /// Compares with a scanned compact form in constant time. Any decoding
    /// problem counts as a mismatch.
    #[must_use]
    pub fn matches_scanned(&self, scanned: &[u8]) -> bool {
        ct_eq(&self.to_bytes(), scanned)
    }
}

impl PartialEq for SafetyNumber {
    fn eq(&self, other: &Self) -> bool {
        ct_eq(&self.digest, &other.digest)
    }
}

impl Eq for SafetyNumber {}

impl fmt::Debug for SafetyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SafetyNumber({})", self.to_digits())
    }
}

impl fmt::Display for SafetyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_digits())
    }
}
