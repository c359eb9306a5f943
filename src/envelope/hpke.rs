//! The per-device wrap: RFC 9180 DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
//! AES-256-GCM, base mode (SPEC.md §4.5). Only single-shot use (sequence 0)
//! is needed by the envelope; `seq` exists so the RFC 9180 vectors can be
//! checked whole.
//!
//! The key-schedule context (`mode || psk_id_hash || info_hash`) depends only
//! on the suite and `info`, which are the same for every device of an
//! envelope, so it is computed once per envelope ([`ScheduleContext`]).
//!
//! The key schedule takes the HPKE `suite_id` as a parameter (carried by the
//! [`ScheduleContext`]): the classical wrap uses [`HPKE_SUITE_ID`]; the X-Wing
//! hybrid wrap (`hpke_xwing.rs`) uses its own, over the same code.

use zeroize::Zeroizing;

use crate::primitives::{hkdf_expand, hkdf_extract, AeadKey, Rejected, Secret32, X25519Secret};

const KEM_SUITE_ID: &[u8] = b"KEM\x00\x20";
/// `"HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id, 2)`
/// (RFC 9180 §5.1).
pub(crate) type SuiteId = [u8; 10];
/// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM.
pub(crate) const HPKE_SUITE_ID: SuiteId = *b"HPKE\x00\x20\x00\x01\x00\x02";
const VERSION_LABEL: &[u8] = b"HPKE-v1";
const MODE_BASE: u8 = 0x00;

fn labeled_extract(salt: &[u8], suite_id: &[u8], label: &[u8], ikm: &[u8]) -> Secret32 {
    hkdf_extract(salt, &[VERSION_LABEL, suite_id, label, ikm])
}

fn labeled_expand(
    prk: &[u8; 32],
    suite_id: &[u8],
    label: &[u8],
    info: &[u8],
    out: &mut [u8],
) -> Result<(), Rejected> {
    let len = u16::try_from(out.len())
        .map_err(|_| Rejected)?
        .to_be_bytes();
    hkdf_expand(prk, &[&len, VERSION_LABEL, suite_id, label, info], out)
}

/// `ExtractAndExpand(dh, enc || pkR)` of DHKEM (RFC 9180 §4.1).
fn kem_shared_secret(dh: &[u8; 32], enc: &[u8; 32], pk_r: &[u8; 32]) -> Result<Secret32, Rejected> {
    let eae_prk = labeled_extract(b"", KEM_SUITE_ID, b"eae_prk", dh);
    let mut kem_context = [0u8; 64];
    kem_context[..32].copy_from_slice(enc);
    kem_context[32..].copy_from_slice(pk_r);
    let mut ss = Zeroizing::new([0u8; 32]);
    labeled_expand(
        &eae_prk,
        KEM_SUITE_ID,
        b"shared_secret",
        &kem_context,
        ss.as_mut(),
    )?;
    Ok(ss)
}

/// `Encap` with a given ephemeral key (RFC 9180 §4.1): the shared secret for
/// `pk_r`. An all-zero DH output is rejected.
pub(crate) fn encap(
    ephemeral: &X25519Secret,
    enc: &[u8; 32],
    pk_r: &[u8; 32],
) -> Result<Secret32, Rejected> {
    let dh = ephemeral.diffie_hellman(pk_r)?;
    kem_shared_secret(&dh, enc, pk_r)
}

/// `Decap` (RFC 9180 §4.1). An all-zero DH output is rejected.
pub(crate) fn decap(
    recipient: &X25519Secret,
    pk_r: &[u8; 32],
    enc: &[u8; 32],
) -> Result<Secret32, Rejected> {
    let dh = recipient.diffie_hellman(enc)?;
    kem_shared_secret(&dh, enc, pk_r)
}

/// `mode || psk_id_hash || info_hash` for base mode, a suite and an `info`,
/// with the suite id the rest of the key schedule uses.
pub(crate) struct ScheduleContext {
    suite_id: SuiteId,
    ksc: [u8; 65],
}

impl ScheduleContext {
    /// The classical wrap's suite ([`HPKE_SUITE_ID`]).
    pub(crate) fn new(info: &[u8]) -> Self {
        Self::for_suite(HPKE_SUITE_ID, info)
    }

    /// Any HPKE suite whose KDF is HKDF-SHA256 (`Nh` = 32) and whose AEAD has
    /// a 32-byte key and a 12-byte nonce (AES-256-GCM, ChaCha20-Poly1305).
    pub(crate) fn for_suite(suite_id: SuiteId, info: &[u8]) -> Self {
        let psk_id_hash = labeled_extract(b"", &suite_id, b"psk_id_hash", b"");
        let info_hash = labeled_extract(b"", &suite_id, b"info_hash", info);
        let mut ksc = [0u8; 65];
        ksc[0] = MODE_BASE;
        ksc[1..33].copy_from_slice(psk_id_hash.as_ref());
        ksc[33..].copy_from_slice(info_hash.as_ref());
        ScheduleContext { suite_id, ksc }
    }
}

/// The AEAD key and base nonce of one HPKE context (RFC 9180 §5.1).
pub(crate) struct Context {
    pub(crate) key: Secret32,
    pub(crate) base_nonce: Zeroizing<[u8; 12]>,
}

impl Context {
    /// `KeySchedule` (RFC 9180 §5.1, base mode) from the KEM's shared secret,
    /// in the suite of `ksc`.
    pub(crate) fn new(shared_secret: &[u8; 32], ksc: &ScheduleContext) -> Result<Self, Rejected> {
        let suite_id = &ksc.suite_id;
        let secret = labeled_extract(shared_secret, suite_id, b"secret", b"");
        let mut key = Zeroizing::new([0u8; 32]);
        let mut base_nonce = Zeroizing::new([0u8; 12]);
        labeled_expand(&secret, suite_id, b"key", &ksc.ksc, key.as_mut())?;
        labeled_expand(
            &secret,
            suite_id,
            b"base_nonce",
            &ksc.ksc,
            base_nonce.as_mut(),
        )?;
        Ok(Context { key, base_nonce })
    }

    /// `base_nonce XOR I2OSP(seq, 12)` (RFC 9180 §5.2).
    pub(crate) fn nonce(&self, seq: u64) -> [u8; 12] {
        let mut n = *self.base_nonce;
        for (b, s) in n[4..].iter_mut().zip(seq.to_be_bytes()) {
            *b ^= s;
        }
        n
    }

    /// Seals `buf` in place at sequence `seq`; returns the tag.
    pub(crate) fn seal_in_place(
        &self,
        seq: u64,
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; 16], Rejected> {
        AeadKey::new(&self.key).seal_detached(&self.nonce(seq), aad, buf)
    }

    /// Opens `buf` in place at sequence `seq`; `buf` is unchanged on failure.
    pub(crate) fn open_in_place(
        &self,
        seq: u64,
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; 16],
    ) -> Result<(), Rejected> {
        AeadKey::new(&self.key).open_detached(&self.nonce(seq), aad, buf, tag)
    }
}
