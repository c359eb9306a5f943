//! `open` of raw bytes and of field-mutated valid envelopes.

use alloc::vec;
use alloc::vec::Vec;

use crate::consts::size;
use crate::envelope::Envelope;

use super::{Fixture, Outcome};

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

pub(super) fn xor_at(bytes: &mut [u8], index: usize, value: u8) {
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
