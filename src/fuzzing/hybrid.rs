//! The hybrid suite `0x0002` (SPEC.md §2.2, §2.7, §4.1–4.10, §5.2; issue
//! 12): `open` of a valid X-Wing envelope or delivery after structured
//! mutations of its fields, checked against an oracle.
//!
//! The world ([`HybridFixture`], part of [`Fixture`], built after everything
//! else from the same RNG) is dave's account: four devices with
//! `CAPABILITY_PREKEYS | CAPABILITY_HYBRID`, each holding one classical and
//! one hybrid prekey; three of them are on dave's list, and alice's phone
//! (the fixture's sender, on the fixture's directory) sealed one envelope to
//! them with `SuitePolicy::RequireHybrid`. The fourth device (hybrid, not a
//! recipient) and bob's phone (classical, not a recipient) open it too.

use alloc::vec;
use alloc::vec::Vec;

use rand_core::CryptoRng;

use crate::consts::{capability, size};
use crate::envelope::{open, seal, Delivery, Envelope, Message, Padding, SuitePolicy};
use crate::error::OpenError;
use crate::identity::{
    AccountSecret, CertificateParams, DeviceId, DeviceKeyring, DeviceSecret, KeyId,
};
use crate::suite::Suite;

use super::open::xor_at;
use super::{ensure, Fixture, Outcome, Violation, NOW, OPEN_AT};

/// Bytes of the ML-KEM-768 part of an X-Wing ciphertext (`ct_M`); the
/// X25519 part `ct_X` is the last 32 bytes.
const CT_MLKEM: usize = 1088;
/// Devices on dave's list (the recipients).
const RECIPIENTS: usize = 3;
/// Openers: dave's three recipients, dave's fourth device, bob's phone.
pub const HYBRID_OPENERS: u8 = 5;
/// Mutations applied at most per input.
const MAX_MUTATIONS: usize = 32;

/// X25519 u-coordinates `ct_X` may be set to: the canonical low-order ones
/// (0, 1, the two points of order 8, p − 1), non-canonical encodings of
/// low-order points (p, p + 1, with the top bit set), 2^255 − 1, and one
/// more non-canonical encoding (2^256 − 1).
const X25519_POINTS: [[u8; 32]; 12] = [
    // 0
    [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00,
    ],
    // 1
    [
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00,
    ],
    // order 8
    [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4,
        0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
        0xb8, 0x00,
    ],
    // order 8
    [
        0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef,
        0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f,
        0x11, 0x57,
    ],
    // p − 1
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    // p (≡ 0)
    [
        0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    // p + 1 (≡ 1)
    [
        0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    // 0 with the top bit set
    [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x80,
    ],
    // 1 with the top bit set
    [
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x80,
    ],
    // order 8 with the top bit set
    [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4,
        0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
        0xb8, 0x80,
    ],
    // 2^255 − 1 (p + 18)
    [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    // 2^256 − 1
    [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff,
    ],
];

/// Dave's hybrid devices and the hybrid envelope alice's phone sealed to
/// them (see the module documentation).
pub(super) struct HybridFixture {
    /// Dave's devices 0..3 (recipients) and 3 (not on the list).
    keyrings: Vec<DeviceKeyring>,
    envelope: Envelope,
    envelope_bytes: Vec<u8>,
}

const PAYLOAD: &[u8] = b"fanseal fuzz hybrid payload";
const AAD: &[u8] = b"conversation:alice+dave";

impl HybridFixture {
    pub(super) fn new<R: CryptoRng + ?Sized>(
        rng: &mut R,
        sender: &DeviceKeyring,
    ) -> Result<Self, Violation> {
        let dave = AccountSecret::generate(rng);
        let mut keyrings = Vec::with_capacity(RECIPIENTS + 1);
        let mut certificates = Vec::with_capacity(RECIPIENTS);
        let mut prekeys = Vec::with_capacity(RECIPIENTS);
        for i in 0..=RECIPIENTS {
            let secret = DeviceSecret::generate(rng);
            let certificate = dave
                .certify_device(&CertificateParams {
                    device_id: DeviceId::random(rng),
                    keys: secret.public_keys(),
                    created_at: NOW,
                    expires_at: Some(NOW + 365 * 24 * 3600 * 1000),
                    capabilities: capability::PREKEYS | capability::HYBRID,
                })
                .map_err(|_| Violation("hybrid fixture: certify_device failed"))?;
            let mut keyring = DeviceKeyring::new(secret, certificate.clone())
                .map_err(|_| Violation("hybrid fixture: keyring"))?;
            keyring
                .rotate_prekey(NOW, rng)
                .map_err(|_| Violation("hybrid fixture: rotate_prekey failed"))?;
            let prekey = keyring
                .rotate_hybrid_prekey(NOW, rng)
                .map_err(|_| Violation("hybrid fixture: rotate_hybrid_prekey failed"))?;
            if i < RECIPIENTS {
                certificates.push(certificate);
                prekeys.push(prekey);
            }
            keyrings.push(keyring);
        }
        let list = dave
            .issue_device_list(None, NOW - 1000, certificates)
            .map_err(|_| Violation("hybrid fixture: issue_device_list failed"))?
            .verify(&dave.public_key())
            .map_err(|_| Violation("hybrid fixture: dave's list does not verify"))?;
        let verified = prekeys
            .iter()
            .map(|p| list.verify_prekey(p, NOW))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| Violation("hybrid fixture: a hybrid prekey does not verify"))?;
        let refs: Vec<_> = verified.iter().collect();
        let envelope = seal(
            sender.secret(),
            sender.certificate(),
            &[&list],
            &refs,
            &Message {
                payload: PAYLOAD,
                aad: AAD,
                padding: Padding::Padme,
                suite: SuitePolicy::RequireHybrid,
            },
            NOW,
            rng,
        )
        .map_err(|_| Violation("hybrid fixture: seal failed"))?;
        ensure(
            envelope.header.suite == Suite::Hybrid
                && envelope.kem_ciphertexts.len() == RECIPIENTS
                && envelope.wraps.len() == RECIPIENTS,
            "hybrid fixture: the envelope is not a hybrid one to three devices",
        )?;
        let envelope_bytes = envelope.to_bytes();
        Ok(HybridFixture {
            keyrings,
            envelope,
            envelope_bytes,
        })
    }

    /// The key id each opener's wraps are made to: its hybrid prekey's.
    fn hybrid_key_id(keyring: &DeviceKeyring) -> Option<KeyId> {
        keyring.hybrid_prekeys.first().map(|p| p.key_id)
    }
}

impl Fixture {
    /// The valid hybrid envelope (a seed of `decode_envelope`).
    pub fn hybrid_envelope_bytes(&self) -> &[u8] {
        &self.hybrid.envelope_bytes
    }

    /// The hybrid envelope's deliveries, in key-id order (seeds of
    /// `decode_delivery`).
    pub fn hybrid_delivery_bytes(&self) -> Vec<Vec<u8>> {
        self.hybrid
            .envelope
            .deliveries()
            .map(|(_, d)| d.to_bytes())
            .collect()
    }

    /// The hybrid signed prekeys dave's devices published (seeds of
    /// `decode_signed_prekey`; other devices than the key fixture's).
    pub fn hybrid_fixture_prekeys(&self) -> Vec<Vec<u8>> {
        self.hybrid
            .keyrings
            .iter()
            .flat_map(|k| k.prekeys().map(|p| p.to_bytes()))
            .collect()
    }

    fn hybrid_opener(&self, index: usize) -> Option<&DeviceKeyring> {
        match index {
            0..=RECIPIENTS => self.hybrid.keyrings.get(index),
            _ => self.devices.get(2),
        }
    }
}

/// Opcodes of [`open_hybrid`] (the first byte of each mutation, modulo
/// [`hop::COUNT`]); the arguments follow, big-endian. A wrap index is taken
/// modulo the number of wraps, a byte index modulo the part's length.
pub mod hop {
    /// `u16 id`: set the suite field (relabel; the layout that follows is
    /// the original hybrid one).
    pub const SUITE: u8 = 0;
    /// `u8 wrap, u16 i, u8 v`: xor byte `i` of the wrap's ML-KEM ciphertext.
    pub const MLKEM_XOR: u8 = 1;
    /// `u8 wrap, u8 point`: set the wrap's X25519 ciphertext to a low-order
    /// or non-canonical point (`X25519_POINTS`).
    pub const X25519_POINT: u8 = 2;
    /// `u8 wrap, u8 i, u8 v`: xor byte `i` of the wrap's X25519 ciphertext.
    pub const X25519_XOR: u8 = 3;
    /// `u8 wrap, u8 i, u8 v`: xor byte `i` of the wrap's 48-byte AEAD part.
    pub const AEAD_XOR: u8 = 4;
    /// `u8 wrap`: remove a wrap (the key ids stay).
    pub const REMOVE_WRAP: u8 = 5;
    /// `u8 wrap`: duplicate a wrap (the key ids stay).
    pub const DUPLICATE_WRAP: u8 = 6;
    /// `u8 wrap, u16 n`: truncate a wrap to `n` bytes (modulo its length).
    pub const TRUNCATE_WRAP: u8 = 7;
    /// `u8 wrap, u8 n`: append `n` bytes 0xa5 to a wrap.
    pub const EXTEND_WRAP: u8 = 8;
    /// `u16 n`: override the encoded recipient count.
    pub const RECIPIENT_COUNT: u8 = 9;
    /// `u8 k, u8 i, u8 v`: xor byte `i` of recipient key id `k`.
    pub const KEY_ID_XOR: u8 = 10;
    /// `u8 i, u8 v`: xor byte `i` of the message id.
    pub const MESSAGE_ID_XOR: u8 = 11;
    /// `u8 i, u8 v`: xor byte `i` of the key commitment.
    pub const COMMITMENT_XOR: u8 = 12;
    /// `u32 n`: override the encoded body length.
    pub const BODY_LEN: u8 = 13;
    /// `u16 i, u8 v`: xor one body byte.
    pub const BODY_XOR: u8 = 14;
    /// `u8 which`: insert a classical header's 32-byte shared `enc` after
    /// the message id (even: wrap 0's X25519 ciphertext; odd: a point).
    pub const INSERT_ENC: u8 = 15;
    /// `u8 a, u8 b`: swap the X-Wing ciphertexts (not the AEAD parts) of
    /// two wraps.
    pub const SWAP_KEM: u8 = 16;
    /// `u8 a, u8 b`: swap two whole wraps.
    pub const SWAP_WRAPS: u8 = 17;
    /// `u32 n`: truncate the encoding (after the field mutations).
    pub const TRUNCATE: u8 = 18;
    /// `u32 i, u8 v`: xor one byte of the encoding (after the field
    /// mutations).
    pub const XOR: u8 = 19;
    /// `u8 k`: remove a recipient key id and its wrap.
    pub const REMOVE_RECIPIENT: u8 = 20;
    /// `u8 t`: set the object type byte.
    pub const OBJECT_TYPE: u8 = 21;
    /// `u8 a, u8 b`: copy wrap `a`'s AEAD part over wrap `b`'s.
    pub const COPY_AEAD: u8 = 22;
    /// Number of opcodes.
    pub const COUNT: u8 = 23;
}

/// The hybrid envelope, field by field.
struct Model {
    object_type: u8,
    suite: u16,
    message_id: [u8; 16],
    enc: Option<[u8; 32]>,
    commitment: [u8; 32],
    count: Option<u16>,
    key_ids: Vec<[u8; 16]>,
    /// Each wrap: X-Wing ciphertext ‖ AEAD part (1,168 bytes until changed).
    wraps: Vec<Vec<u8>>,
    body_len: Option<u32>,
    body: Vec<u8>,
}

fn point(i: u8) -> [u8; 32] {
    X25519_POINTS
        .get(usize::from(i) % X25519_POINTS.len())
        .copied()
        .unwrap_or([0; 32])
}

fn pick(index: u8, len: usize) -> Option<usize> {
    (len > 0).then(|| usize::from(index) % len)
}

/// Reads big-endian arguments; `None` at the end of the input.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }
    fn u16(&mut self) -> Option<u16> {
        self.take().map(u16::from_be_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_be_bytes)
    }
}

/// A byte-level change applied to the encoding after the field changes.
enum Late {
    Truncate(u32),
    Xor(u32, u8),
}

impl Model {
    fn of(envelope: &Envelope) -> Self {
        let h = &envelope.header;
        Model {
            object_type: 0x03,
            suite: h.suite.id(),
            message_id: h.message_id.0,
            enc: None,
            commitment: h.commitment,
            count: None,
            key_ids: h.recipients.iter().map(|k| k.0).collect(),
            wraps: envelope
                .kem_ciphertexts
                .iter()
                .zip(&envelope.wraps)
                .map(|(k, w)| [k.as_slice(), w.as_slice()].concat())
                .collect(),
            body_len: None,
            body: envelope.body.clone(),
        }
    }

    fn wrap(&mut self, i: u8) -> Option<&mut Vec<u8>> {
        let i = pick(i, self.wraps.len())?;
        self.wraps.get_mut(i)
    }

    /// Applies one mutation read from `c`; `None` at the end of the input.
    fn apply(&mut self, code: u8, c: &mut Cursor<'_>, late: &mut Vec<Late>) -> Option<()> {
        match code % hop::COUNT {
            hop::SUITE => self.suite = c.u16()?,
            hop::MLKEM_XOR => {
                let (w, i, v) = (c.u8()?, c.u16()?, c.u8()?);
                if let Some(wrap) = self.wrap(w) {
                    let len = wrap.len().min(CT_MLKEM);
                    if let Some(part) = wrap.get_mut(..len) {
                        xor_at(part, usize::from(i), v);
                    }
                }
            }
            hop::X25519_POINT => {
                let (w, p) = (c.u8()?, c.u8()?);
                let point = point(p);
                if let Some(part) = self
                    .wrap(w)
                    .and_then(|wrap| wrap.get_mut(CT_MLKEM..size::XWING_CIPHERTEXT))
                {
                    part.copy_from_slice(&point);
                }
            }
            hop::X25519_XOR => {
                let (w, i, v) = (c.u8()?, c.u8()?, c.u8()?);
                if let Some(part) = self
                    .wrap(w)
                    .and_then(|wrap| wrap.get_mut(CT_MLKEM..size::XWING_CIPHERTEXT))
                {
                    xor_at(part, usize::from(i), v);
                }
            }
            hop::AEAD_XOR => {
                let (w, i, v) = (c.u8()?, c.u8()?, c.u8()?);
                if let Some(part) = self
                    .wrap(w)
                    .and_then(|wrap| wrap.get_mut(size::XWING_CIPHERTEXT..))
                {
                    xor_at(part, usize::from(i), v);
                }
            }
            hop::REMOVE_WRAP => {
                if let Some(i) = pick(c.u8()?, self.wraps.len()) {
                    self.wraps.remove(i);
                }
            }
            hop::DUPLICATE_WRAP => {
                if let Some(i) = pick(c.u8()?, self.wraps.len()) {
                    let w = self.wraps.get(i).cloned().unwrap_or_default();
                    self.wraps.insert(i, w);
                }
            }
            hop::TRUNCATE_WRAP => {
                let (w, n) = (c.u8()?, c.u16()?);
                if let Some(wrap) = self.wrap(w) {
                    let len = wrap.len();
                    wrap.truncate(usize::from(n) % (len + 1));
                }
            }
            hop::EXTEND_WRAP => {
                let (w, n) = (c.u8()?, c.u8()?);
                if let Some(wrap) = self.wrap(w) {
                    wrap.extend(core::iter::repeat_n(0xa5, usize::from(n)));
                }
            }
            hop::RECIPIENT_COUNT => self.count = Some(c.u16()?),
            hop::KEY_ID_XOR => {
                let (k, i, v) = (c.u8()?, c.u8()?, c.u8()?);
                if let Some(id) = pick(k, self.key_ids.len()).and_then(|k| self.key_ids.get_mut(k))
                {
                    xor_at(id, usize::from(i), v);
                }
            }
            hop::MESSAGE_ID_XOR => {
                let (i, v) = (c.u8()?, c.u8()?);
                xor_at(&mut self.message_id, usize::from(i), v);
            }
            hop::COMMITMENT_XOR => {
                let (i, v) = (c.u8()?, c.u8()?);
                xor_at(&mut self.commitment, usize::from(i), v);
            }
            hop::BODY_LEN => self.body_len = Some(c.u32()?),
            hop::BODY_XOR => {
                let (i, v) = (c.u16()?, c.u8()?);
                xor_at(&mut self.body, usize::from(i), v);
            }
            hop::INSERT_ENC => {
                let which = c.u8()?;
                let enc = if which % 2 == 0 {
                    self.wraps
                        .first()
                        .and_then(|w| w.get(CT_MLKEM..size::XWING_CIPHERTEXT))
                        .and_then(|x| <[u8; 32]>::try_from(x).ok())
                        .unwrap_or([9; 32])
                } else {
                    point(which / 2)
                };
                self.enc = Some(enc);
            }
            hop::SWAP_KEM => {
                let (a, b) = (c.u8()?, c.u8()?);
                let len = self.wraps.len();
                if let (Some(a), Some(b)) = (pick(a, len), pick(b, len)) {
                    let kem = |w: &Vec<u8>| w.get(..size::XWING_CIPHERTEXT).map(<[u8]>::to_vec);
                    let (ka, kb) = (
                        self.wraps.get(a).and_then(kem),
                        self.wraps.get(b).and_then(kem),
                    );
                    if let (Some(ka), Some(kb)) = (ka, kb) {
                        if let Some(w) = self.wraps.get_mut(a) {
                            w.splice(..size::XWING_CIPHERTEXT, kb);
                        }
                        if let Some(w) = self.wraps.get_mut(b) {
                            w.splice(..size::XWING_CIPHERTEXT, ka);
                        }
                    }
                }
            }
            hop::SWAP_WRAPS => {
                let (a, b) = (c.u8()?, c.u8()?);
                let len = self.wraps.len();
                if let (Some(a), Some(b)) = (pick(a, len), pick(b, len)) {
                    self.wraps.swap(a, b);
                }
            }
            hop::TRUNCATE => late.push(Late::Truncate(c.u32()?)),
            hop::XOR => late.push(Late::Xor(c.u32()?, c.u8()?)),
            hop::REMOVE_RECIPIENT => {
                if let Some(i) = pick(c.u8()?, self.key_ids.len()) {
                    self.key_ids.remove(i);
                    if i < self.wraps.len() {
                        self.wraps.remove(i);
                    }
                }
            }
            hop::OBJECT_TYPE => self.object_type = c.u8()?,
            _ => {
                let (a, b) = (c.u8()?, c.u8()?);
                let len = self.wraps.len();
                if let (Some(a), Some(b)) = (pick(a, len), pick(b, len)) {
                    let aead = self
                        .wraps
                        .get(a)
                        .and_then(|w| w.get(size::XWING_CIPHERTEXT..))
                        .map(<[u8]>::to_vec);
                    if let (Some(aead), Some(w)) = (aead, self.wraps.get_mut(b)) {
                        w.truncate(size::XWING_CIPHERTEXT.min(w.len()));
                        w.extend_from_slice(&aead);
                    }
                }
            }
        }
        Some(())
    }

    /// The encoding (SPEC.md §4.1, §4.2, §4.8), written here field by field.
    fn encode(&self) -> Vec<u8> {
        let mut out = vec![crate::consts::WIRE_VERSION, self.object_type];
        out.extend_from_slice(&self.suite.to_be_bytes());
        out.extend_from_slice(&self.message_id);
        if let Some(enc) = &self.enc {
            out.extend_from_slice(enc);
        }
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

/// Structured hybrid open: `data[0] % 5` picks the opener (dave's devices
/// 0–2 are recipients, dave's device 3 and bob's classical phone are not),
/// `data[1]` the form (even: the envelope; odd: a delivery of wrap
/// `data[1] / 2`, i.e. object type `0x04` and that one wrap), then up to 32
/// mutations ([`hop`]) of the valid hybrid envelope's fields (suite
/// relabel, ML-KEM and X25519 parts of the X-Wing ciphertexts including
/// low-order and non-canonical points, AEAD parts, wrap count and length,
/// header fields, body), then byte-level ones. A missing byte ends the input.
///
/// Oracles (each can fail):
/// * the unmodified envelope and each recipient's delivery open, with the
///   sealed payload, aad, sender, message id, timestamp and recipients,
///   suite `Hybrid`, and `opened_with` the opener's hybrid prekey; for a
///   non-recipient they are `NotARecipient`;
/// * anything that opens is the fixture's message for this opener: the
///   same header and body and the same own wrap (X-Wing ciphertext and AEAD
///   part), with exactly that content (never other plaintext);
/// * every failure is `Decode`, `NotARecipient` or `Unauthenticated`;
///   `Decode` exactly when `Envelope::from_bytes` and
///   `Delivery::from_bytes` both refuse the bytes; `NotARecipient` only
///   when the decoded header names no key of its suite the opener holds
///   (hybrid prekeys for a hybrid header; the certificate key and
///   classical prekeys for a classical one).
///
/// The thin cargo-fuzz target also bounds the largest single allocation
/// made while opening (and checking) by the opened bytes' length plus
/// 64 KiB.
pub fn open_hybrid(fx: &Fixture, data: &[u8]) -> Outcome {
    let (opener, bytes) = hybrid_input(fx, data);
    check_hybrid_open(fx, opener, &bytes)
}

/// The opener and the bytes [`open_hybrid`] opens for `data` (the thin
/// target tracks allocations around [`check_hybrid_open`] only).
pub fn hybrid_input(fx: &Fixture, data: &[u8]) -> (usize, Vec<u8>) {
    let mut c = Cursor(data);
    let opener = usize::from(c.u8().unwrap_or(0) % HYBRID_OPENERS);
    let form = c.u8().unwrap_or(0);
    let mut model = Model::of(&fx.hybrid.envelope);
    if form % 2 == 1 {
        model.object_type = 0x04;
        if let Some(w) = pick(form / 2, model.wraps.len()).and_then(|i| model.wraps.get(i)) {
            model.wraps = vec![w.clone()];
        }
    }
    let mut late = Vec::new();
    for _ in 0..MAX_MUTATIONS {
        let Some(code) = c.u8() else { break };
        if model.apply(code, &mut c, &mut late).is_none() {
            break;
        }
    }
    let mut bytes = model.encode();
    for l in &late {
        match l {
            Late::Truncate(n) => {
                let len = bytes.len();
                bytes.truncate(*n as usize % (len + 1));
            }
            Late::Xor(i, v) => xor_at(&mut bytes, *i as usize, *v),
        }
    }
    (opener, bytes)
}

/// The oracle of [`open_hybrid`] for `bytes` opened by opener `index`.
pub fn check_hybrid_open(fx: &Fixture, index: usize, bytes: &[u8]) -> Outcome {
    let Some(keyring) = fx.hybrid_opener(index) else {
        return Ok(());
    };
    let hx = &fx.hybrid;
    let result = open(keyring, bytes, &fx.directory, OPEN_AT);

    let own_id = HybridFixture::hybrid_key_id(keyring);
    let own_delivery = own_id.and_then(|id| hx.envelope.delivery_for(&id));
    let is_recipient = own_delivery.is_some();
    let pristine = bytes == hx.envelope_bytes.as_slice()
        || own_delivery
            .as_ref()
            .is_some_and(|d| d.to_bytes().as_slice() == bytes);
    // What the decoders make of the bytes: the header and, for this opener,
    // the delivery it would open (an envelope is cut to its own wrap).
    let envelope = Envelope::from_bytes(bytes).ok();
    let delivery = Delivery::from_bytes(bytes).ok();
    let header = envelope
        .as_ref()
        .map(|e| &e.header)
        .or(delivery.as_ref().map(|d| &d.header));

    match result {
        Ok(opened) => {
            ensure(
                is_recipient,
                "hybrid open: a non-recipient opened the message",
            )?;
            let same = match (&envelope, &delivery, own_id) {
                (Some(e), _, Some(id)) => {
                    e.header == hx.envelope.header
                        && e.body == hx.envelope.body
                        && e.delivery_for(&id) == own_delivery
                }
                (None, Some(d), _) => Some(d) == own_delivery.as_ref(),
                _ => false,
            };
            ensure(
                same,
                "hybrid open: Ok for bytes that are not the fixture's message for this device",
            )?;
            ensure(
                opened.payload() == PAYLOAD
                    && opened.aad() == AAD
                    && opened.sender_certificate() == &fx.sender_certificate
                    && opened.message_id() == hx.envelope.header.message_id
                    && opened.timestamp() == NOW
                    && opened.recipients() == hx.envelope.header.recipients()
                    && opened.suite() == Suite::Hybrid
                    && Some(opened.opened_with()) == own_id
                    && !opened.accepted_in_grace(),
                "hybrid open: opened message differs from what was sealed",
            )
        }
        Err(e) => {
            ensure(
                !pristine || !is_recipient,
                "hybrid open: the unmodified message did not open for a recipient",
            )?;
            match e {
                OpenError::Decode(_) => ensure(
                    header.is_none(),
                    "hybrid open: Decode for bytes the envelope and delivery decoders accept",
                ),
                OpenError::NotARecipient => {
                    let Some(h) = header else {
                        return Err(Violation(
                            "hybrid open: NotARecipient for bytes that do not decode",
                        ));
                    };
                    let held: Vec<KeyId> = match h.suite {
                        Suite::Hybrid => keyring.hybrid_prekeys.iter().map(|p| p.key_id).collect(),
                        _ => core::iter::once(keyring.key_id())
                            .chain(keyring.retired.iter().map(|r| r.key_id))
                            .chain(keyring.prekeys.iter().map(|p| p.key_id))
                            .collect(),
                    };
                    ensure(
                        !h.recipients.iter().any(|r| held.contains(r)),
                        "hybrid open: NotARecipient although the header names a key the device holds",
                    )
                }
                OpenError::Unauthenticated => ensure(
                    header.is_some(),
                    "hybrid open: Unauthenticated for bytes that do not decode",
                ),
                _ => Err(Violation(
                    "hybrid open: a failure other than Decode, NotARecipient or Unauthenticated",
                )),
            }
        }
    }
}
