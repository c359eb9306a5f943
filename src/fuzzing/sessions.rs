//! Sender-key sessions (issue 14): the five session decoders, each with a
//! round-trip oracle, and sequences of deliveries against a receiving store.
//!
//! The fixture: alice phone (the fixture's sender) starts three sessions in
//! one conversation (created at `NOW`, `NOW + 1`, `NOW + 2`), distributes
//! each to bob's devices and alice laptop, and encrypts [`SESSION_MESSAGES`]
//! messages in each. For every index it also keeps what an attacker or a
//! restored sender produces at that index: another authentic message with a
//! different payload (a restored sender state), one signed by bob tablet
//! (a co-recipient holding the chain) and one with no signature.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use rand_core::CryptoRng;

use crate::envelope::{open, Message, Opened, Padding};
use crate::identity::{DeviceKeyring, VerifiedDeviceList};
use crate::session::distribution::{self, Distribution};
use crate::session::{
    hazmat, InboundSession, InboundSessions, OutboundSession, RotationPolicy, SessionId,
    SessionMessage,
};

use crate::consts::session as s;

use super::{ensure, Fixture, Outcome, Violation, NOW, OPEN_AT};

/// Messages per fixture session (indices `0..SESSION_MESSAGES`).
pub const SESSION_MESSAGES: usize = 6;
/// Sessions of the fixture.
pub const SESSIONS: usize = 3;
/// Variants at each index: 0 the message, 1 another authentic message at the
/// same index (restored sender), 2 signed by bob tablet, 3 unsigned.
pub const VARIANTS: usize = 4;
/// Operations one `session_deliveries` input runs, at most.
pub const MAX_DELIVERY_OPS: usize = 64;

/// The conversation of the fixture sessions.
const CONVERSATION: &[u8] = b"conversation:alice+bob";
/// The receiving device: bob phone.
const RECEIVER: usize = 2;

/// The session part of the fuzz [`Fixture`].
pub(crate) struct SessionFixture {
    ids: Vec<SessionId>,
    /// Each session's distribution as bob phone opened it, and its bytes.
    opened: Vec<Opened>,
    distributions: Vec<Vec<u8>>,
    /// `messages[session][index][variant]`.
    messages: Vec<Vec<Vec<Vec<u8>>>>,
    /// Every message's bytes → (session, index, variant).
    by_bytes: BTreeMap<Vec<u8>, (usize, usize, usize)>,
    /// Exports: the outbound sessions after their messages, bob phone's
    /// inbound sessions after a few deliveries, and its store.
    outbound_exports: Vec<Vec<u8>>,
    inbound_exports: Vec<Vec<u8>>,
    store_exports: Vec<Vec<u8>>,
}

/// The payload of (session, index, variant).
fn payload(session: usize, index: usize, variant: usize) -> Vec<u8> {
    let mut p = b"session message s? i? v?".to_vec();
    let n = p.len();
    if let Some(x) = p.get_mut(n - 7) {
        *x = b'0' + session as u8;
    }
    if let Some(x) = p.get_mut(n - 4) {
        *x = b'0' + index as u8;
    }
    if let Some(x) = p.get_mut(n - 1) {
        *x = b'0' + variant as u8;
    }
    p
}

fn m(payload: &[u8]) -> Message<'_> {
    Message {
        payload,
        aad: b"m",
        ..Message::default()
    }
}

fn bad(_: impl core::fmt::Debug) -> Violation {
    Violation("session fixture: a session operation failed")
}

impl SessionFixture {
    pub(crate) fn new<R: CryptoRng + ?Sized>(
        rng: &mut R,
        devices: &[DeviceKeyring],
        directory: &[VerifiedDeviceList],
    ) -> Result<Self, Violation> {
        let device = |i: usize| devices.get(i).ok_or(Violation("session fixture: device"));
        let sender = device(0)?;
        let tablet = device(3)?;
        let receiver = device(RECEIVER)?;
        let lists: Vec<&VerifiedDeviceList> = directory.iter().collect();
        let policy = RotationPolicy::DEFAULT;
        let mut fx = SessionFixture {
            ids: Vec::new(),
            opened: Vec::new(),
            distributions: Vec::new(),
            messages: Vec::new(),
            by_bytes: BTreeMap::new(),
            outbound_exports: Vec::new(),
            inbound_exports: Vec::new(),
            store_exports: Vec::new(),
        };
        let mut store = InboundSessions::new(receiver.certificate());
        for session in 0..SESSIONS {
            let at = NOW + session as u64;
            let mut out = OutboundSession::new(sender.certificate(), CONVERSATION, policy, at, rng)
                .map_err(bad)?;
            let envelope = out
                .distribute(
                    sender.secret(),
                    sender.certificate(),
                    &lists,
                    &[],
                    Padding::Padme,
                    at,
                    rng,
                )
                .map_err(bad)?;
            let bytes = envelope.to_bytes();
            let opened = open(receiver, &bytes, directory, OPEN_AT).map_err(bad)?;
            let mut inbound = InboundSession::from_opened(receiver, &opened).map_err(bad)?;
            let mut per_index = Vec::new();
            for index in 0..SESSION_MESSAGES {
                let mut restored = hazmat::snapshot(&out);
                let mut forged = hazmat::snapshot(&out);
                let mut unsigned = hazmat::snapshot(&out);
                let msg = |v: usize| payload(session, index, v);
                let (p0, p1, p2, p3) = (msg(0), msg(1), msg(2), msg(3));
                let variants = [
                    out.encrypt(sender.secret(), &lists, &m(&p0), at, rng),
                    restored.encrypt(sender.secret(), &lists, &m(&p1), at, rng),
                    hazmat::encrypt_signed_by(&mut forged, tablet.secret(), &m(&p2), at, rng),
                    hazmat::encrypt_unsigned(&mut unsigned, &m(&p3), at, rng),
                ];
                let mut v = Vec::new();
                for (variant, r) in variants.into_iter().enumerate() {
                    let bytes = r.map_err(bad)?.to_bytes();
                    fx.by_bytes.insert(bytes.clone(), (session, index, variant));
                    v.push(bytes);
                }
                per_index.push(v);
            }
            // Inbound exports: fresh, and after 2 then 0 (a skipped key held).
            fx.inbound_exports.push(inbound.export().to_vec());
            for index in [2usize, 0] {
                let m = per_index
                    .get(index)
                    .and_then(|v| v.first())
                    .ok_or(Violation("session fixture: message"))?;
                inbound.decrypt(m, directory, OPEN_AT).map_err(bad)?;
                fx.inbound_exports.push(inbound.export().to_vec());
            }
            fx.outbound_exports.push(out.export().to_vec());
            fx.ids.push(out.session_id());
            store.receive(receiver, &opened, OPEN_AT).map_err(bad)?;
            if let Some(first) = per_index.first().and_then(|v| v.first()) {
                store.decrypt(first, directory, OPEN_AT).map_err(bad)?;
            }
            fx.store_exports.push(store.export().to_vec());
            fx.opened.push(opened);
            fx.distributions.push(bytes);
            fx.messages.push(per_index);
        }
        fx.store_exports.push(
            InboundSessions::new(receiver.certificate())
                .export()
                .to_vec(),
        );
        Ok(fx)
    }
}

impl Fixture {
    fn sessions_receiver(&self) -> Result<&DeviceKeyring, Violation> {
        self.devices
            .get(RECEIVER)
            .ok_or(Violation("session fixture: receiver"))
    }

    /// Seeds: the fixture's session messages (every variant).
    pub fn session_message_seeds(&self) -> Vec<Vec<u8>> {
        self.sessions
            .messages
            .iter()
            .flatten()
            .flatten()
            .cloned()
            .collect()
    }

    /// Seeds: the fixture's distribution payloads (as bob phone opened them).
    pub fn distribution_seeds(&self) -> Vec<Vec<u8>> {
        self.sessions
            .opened
            .iter()
            .map(|o| o.payload().to_vec())
            .collect()
    }

    /// Seeds: the outbound session exports.
    pub fn outbound_export_seeds(&self) -> Vec<Vec<u8>> {
        self.sessions.outbound_exports.clone()
    }

    /// Seeds: the inbound session exports.
    pub fn inbound_export_seeds(&self) -> Vec<Vec<u8>> {
        self.sessions.inbound_exports.clone()
    }

    /// Seeds: the receiving-store exports.
    pub fn store_export_seeds(&self) -> Vec<Vec<u8>> {
        self.sessions.store_exports.clone()
    }

    /// The distribution envelopes (what the relay carries).
    pub fn distribution_envelopes(&self) -> &[Vec<u8>] {
        &self.sessions.distributions
    }
}

// ------------------------------------------------------------ decoders

// Allocation bounds of the five decoder targets. Every variable-length
// field these decoders keep (ciphertext, conversation id, recipients,
// skipped keys, sessions) is a copy of, or proportional to, bytes present
// in the input, and the oracles' re-exports are exactly the input: so the
// largest single allocation is at most the input length (capped at the
// largest object the documented limits allow) plus [`SESSION_ALLOCATION_SLACK`]
// for fixed-size bookkeeping. A decoder that allocates by a count or
// length field before checking it against its limit and against the bytes
// left (§15.3, §15.4, §15.7, §15.8, the store export) exceeds it.

/// Fixed-size bookkeeping a session decoder may allocate whatever the
/// input length: one B-tree node (a leaf of the store's slots is 1,336
/// bytes, of skipped keys 408, of recipients 192) or a slot's session
/// vector (`MAX_SESSIONS_PER_SENDER_DEVICE` sessions).
pub const SESSION_ALLOCATION_SLACK: usize = 4096;

const _: () = assert!(
    s::MAX_SESSIONS_PER_SENDER_DEVICE * core::mem::size_of::<InboundSession>()
        <= SESSION_ALLOCATION_SLACK
);

/// The largest session message (§15.3): header and `MAX_BODY + 16`.
const MAX_SESSION_MESSAGE: usize = s::MESSAGE_HEADER + crate::session::message::MAX_CIPHERTEXT;
/// The largest distribution (§15.4): `80 + MAX_CONVERSATION_ID`.
const MAX_DISTRIBUTION: usize = distribution::DISTRIBUTION_FIXED + s::MAX_CONVERSATION_ID;
/// The largest outbound export (§15.7): `163 + 16·MAX_RECIPIENTS +
/// MAX_CONVERSATION_ID`.
const MAX_OUTBOUND_EXPORT: usize =
    163 + 16 * crate::consts::limit::MAX_RECIPIENTS + s::MAX_CONVERSATION_ID;
/// The largest inbound export (§15.8): `366 + MAX_CONVERSATION_ID +
/// 36·MAX_SKIPPED_KEYS`.
const MAX_INBOUND_EXPORT: usize = 366 + s::MAX_CONVERSATION_ID + 36 * s::MAX_SKIPPED_KEYS;
/// The largest store export (§15.8, type `0x25`): `MAX_SLOTS` slots of
/// 90 bytes and `MAX_INBOUND_SESSIONS` sessions, each with its length.
const MAX_STORE_EXPORT: usize = 4
    + 32
    + 16
    + 2
    + s::MAX_SLOTS * (80 + 1 + 8 + 1)
    + s::MAX_INBOUND_SESSIONS * (4 + MAX_INBOUND_EXPORT)
    + 32;

fn allocation_limit(input_len: usize, largest_object: usize) -> usize {
    input_len.min(largest_object) + SESSION_ALLOCATION_SLACK
}

/// The largest single allocation `decode_session_message` may make on an
/// input of `input_len` bytes (the `decode_session_message` target checks
/// it): the ciphertext copy and the re-encoding, at most the input and the
/// largest message, plus [`SESSION_ALLOCATION_SLACK`]. An allocation by
/// the ciphertext length before the `Truncated` check exceeds it.
pub fn session_message_allocation_limit(input_len: usize) -> usize {
    allocation_limit(input_len, MAX_SESSION_MESSAGE)
}

/// As [`session_message_allocation_limit`], for `decode_distribution`: the
/// conversation id copy and the re-encoding (largest: `80 +
/// MAX_CONVERSATION_ID`).
pub fn distribution_allocation_limit(input_len: usize) -> usize {
    allocation_limit(input_len, MAX_DISTRIBUTION)
}

/// As [`session_message_allocation_limit`], for `outbound_import`: the
/// recipients (at most `16·n` bytes of input, `n ≤ 1024`), the
/// conversation id and the re-export.
pub fn outbound_import_allocation_limit(input_len: usize) -> usize {
    allocation_limit(input_len, MAX_OUTBOUND_EXPORT)
}

/// As [`session_message_allocation_limit`], for `inbound_import`: the
/// skipped keys (at most `36·k` bytes of input, `k ≤ 2000`), the
/// conversation id and the re-export.
pub fn inbound_import_allocation_limit(input_len: usize) -> usize {
    allocation_limit(input_len, MAX_INBOUND_EXPORT)
}

/// As [`session_message_allocation_limit`], for `sessions_import`: the
/// slots (`≤ MAX_SLOTS`), each session's export (its length `≤` the
/// largest inbound export, checked before reading) and the re-export.
pub fn sessions_import_allocation_limit(input_len: usize) -> usize {
    allocation_limit(input_len, MAX_STORE_EXPORT)
}

/// `SessionMessage::from_bytes`: the one canonical encoding round-trips.
pub fn decode_session_message(data: &[u8]) -> Outcome {
    let Ok(m) = SessionMessage::from_bytes(data) else {
        return Ok(());
    };
    ensure(
        m.to_bytes() == data,
        "session message: re-encoding differs from the input",
    )?;
    ensure(
        m.index() < u32::MAX,
        "session message: decoded the index u32::MAX",
    )
}

/// The distribution payload decoder: round trip, bounded conversation id,
/// valid policy.
pub fn decode_distribution(data: &[u8]) -> Outcome {
    let Ok(d) = Distribution::decode(data) else {
        return Ok(());
    };
    let again = distribution::encode(
        &d.seed,
        d.index,
        &d.chain_key,
        d.created_at,
        &d.policy,
        &d.conversation,
    );
    ensure(
        again.as_slice() == data,
        "distribution: re-encoding differs from the input",
    )?;
    ensure(
        d.conversation.len() <= s::MAX_CONVERSATION_ID && d.policy.is_valid(),
        "distribution: beyond a limit (conversation id or policy)",
    )
}

/// `OutboundSession::import` as alice phone: what loads exports to the same
/// bytes, must rotate before encrypting again, and loads for no other owner.
pub fn outbound_import(fx: &Fixture, data: &[u8]) -> Outcome {
    let owner = fx.sender_certificate.keys();
    let Ok(session) = OutboundSession::import(data, owner) else {
        return Ok(());
    };
    ensure(
        session.export().as_slice() == data,
        "outbound export: re-export differs from the input",
    )?;
    ensure(
        session.needs_rotation(session.created_at()),
        "outbound export: a loaded session may encrypt without rotating",
    )?;
    ensure(
        OutboundSession::import(data, fx.laptop_certificate.keys()).is_err(),
        "outbound export: loaded for another device",
    )
}

/// `InboundSession::import` as bob phone: round trip, bounded skipped keys,
/// and no other device loads it.
pub fn inbound_import(fx: &Fixture, data: &[u8]) -> Outcome {
    let receiver = fx.sessions_receiver()?;
    let Ok(session) = InboundSession::import(data, receiver.certificate()) else {
        return Ok(());
    };
    ensure(
        session.export().as_slice() == data,
        "inbound export: re-export differs from the input",
    )?;
    ensure(
        session.skipped_count() <= s::MAX_SKIPPED_KEYS
            && session.first_index() <= session.next_index(),
        "inbound export: beyond a bound (skipped keys or indices)",
    )?;
    ensure(
        InboundSession::import(data, &fx.laptop_certificate).is_err(),
        "inbound export: loaded for another device",
    )
}

/// `InboundSessions::import` as bob phone: round trip, bounded count, and
/// no other device loads it.
pub fn sessions_import(fx: &Fixture, data: &[u8]) -> Outcome {
    let receiver = fx.sessions_receiver()?;
    let Ok(store) = InboundSessions::import(data, receiver.certificate()) else {
        return Ok(());
    };
    ensure(
        store.export().as_slice() == data,
        "session store: re-export differs from the input",
    )?;
    ensure(
        store.len() <= s::MAX_INBOUND_SESSIONS,
        "session store: more sessions than MAX_INBOUND_SESSIONS",
    )?;
    ensure(
        store.is_empty() || InboundSessions::import(data, &fx.laptop_certificate).is_err(),
        "session store: loaded for another device",
    )
}

// ------------------------------------------------------------ deliveries

/// One operation of a `session_deliveries` input (tag byte, then its
/// arguments; a missing argument reads as 0).
pub mod delivery_op {
    /// `[session]`: the store takes that session's distribution.
    pub const RECEIVE: u8 = 0;
    /// `[session, index, variant]`: deliver that message.
    pub const DELIVER: u8 = 1;
    /// `[session, index, pos_hi, pos_lo, xor]`: deliver message variant 0
    /// with one byte changed (`xor` 0 counts as 1).
    pub const MUTATE: u8 = 2;
    /// `[]`: export the store, load the export, go on with the loaded one.
    pub const RELOAD: u8 = 3;
    /// `[session]`: drop that session.
    pub const DROP: u8 = 4;
    /// `[]`: prune at the current clock.
    pub const PRUNE: u8 = 5;
    /// `[hours]`: move the clock forward.
    pub const ADVANCE: u8 = 6;
    /// `[session, index, cut]`: deliver message variant 0 truncated by
    /// `cut + 1` bytes, or with `cut` trailing bytes when `cut ≥ 128`.
    pub const TRUNCATE: u8 = 7;
    /// Tags are read modulo this.
    pub const COUNT: u8 = 8;
}

struct Deliveries<'a> {
    fx: &'a Fixture,
    store: InboundSessions,
    now: u64,
    /// (session, index) that decrypted.
    decrypted: BTreeSet<(usize, usize)>,
}

impl Deliveries<'_> {
    fn deliver(&mut self, bytes: &[u8]) -> Outcome {
        let sf = &self.fx.sessions;
        let result = self.store.decrypt(bytes, &self.fx.directory, self.now);
        let Ok(plain) = result else {
            return Ok(());
        };
        let Some(&(session, index, variant)) = sf.by_bytes.get(bytes) else {
            return Err(Violation(
                "deliveries: bytes that are no sender's message decrypted",
            ));
        };
        ensure(
            variant <= 1,
            "deliveries: a forged or unsigned message decrypted",
        )?;
        ensure(
            self.decrypted.insert((session, index)),
            "deliveries: a session index decrypted twice",
        )?;
        ensure(
            plain.payload() == payload(session, index, variant).as_slice()
                && plain.aad() == b"m"
                && usize::try_from(plain.index()).ok() == Some(index)
                && sf.ids.get(session) == Some(&plain.session_id())
                && plain.sender_certificate() == &self.fx.sender_certificate,
            "deliveries: the plaintext differs from what was sent",
        )
    }

    fn bounds(&self) -> Outcome {
        ensure(
            self.store.len() <= s::MAX_SESSIONS_PER_SENDER_DEVICE,
            "deliveries: more sessions held than allowed per sender device",
        )?;
        for id in &self.fx.sessions.ids {
            if let Some(held) = self.store.get(id) {
                ensure(
                    held.skipped_count() <= s::MAX_SKIPPED_KEYS,
                    "deliveries: more skipped keys than MAX_SKIPPED_KEYS",
                )?;
            }
        }
        Ok(())
    }

    fn message(&self, session: u8, index: u8, variant: u8) -> Option<&Vec<u8>> {
        self.fx
            .sessions
            .messages
            .get(usize::from(session) % SESSIONS)?
            .get(usize::from(index) % SESSION_MESSAGES)?
            .get(usize::from(variant) % VARIANTS)
    }
}

/// Sequences of deliveries (distributions, messages in any order, replays,
/// restored-sender, forged and unsigned messages, one-byte mutations,
/// truncations, drops, prunes, clock moves, export/reload) against bob
/// phone's receiving store. Oracles: only the sender's authentic messages
/// decrypt, each (session, index) at most once, with exactly what was sent;
/// the store stays within its bounds; every export loads back to the same
/// bytes.
pub fn session_deliveries(fx: &Fixture, data: &[u8]) -> Outcome {
    let receiver = fx.sessions_receiver()?;
    let mut run = Deliveries {
        fx,
        store: InboundSessions::new(receiver.certificate()),
        now: OPEN_AT,
        decrypted: BTreeSet::new(),
    };
    let mut bytes = data.iter().copied();
    for _ in 0..MAX_DELIVERY_OPS {
        let Some(tag) = bytes.next() else {
            break;
        };
        let mut arg = || bytes.next().unwrap_or(0);
        match tag % delivery_op::COUNT {
            delivery_op::RECEIVE => {
                let session = usize::from(arg()) % SESSIONS;
                if let Some(opened) = fx.sessions.opened.get(session) {
                    let _ = run.store.receive(receiver, opened, run.now);
                }
            }
            delivery_op::DELIVER => {
                let (session, index, variant) = (arg(), arg(), arg());
                if let Some(m) = run.message(session, index, variant).cloned() {
                    run.deliver(&m)?;
                }
            }
            delivery_op::MUTATE => {
                let (session, index) = (arg(), arg());
                let pos = usize::from(u16::from_be_bytes([arg(), arg()]));
                let xor = arg().max(1);
                if let Some(mut m) = run.message(session, index, 0).cloned() {
                    let at = pos % m.len().max(1);
                    if let Some(b) = m.get_mut(at) {
                        *b ^= xor;
                    }
                    run.deliver(&m)?;
                }
            }
            delivery_op::RELOAD => {
                let export = run.store.export();
                let loaded = InboundSessions::import(&export, receiver.certificate())
                    .map_err(|_| Violation("deliveries: a store export does not load"))?;
                ensure(
                    loaded.export() == export,
                    "deliveries: a loaded store exports other bytes",
                )?;
                run.store = loaded;
            }
            delivery_op::DROP => {
                let session = usize::from(arg()) % SESSIONS;
                if let Some(id) = fx.sessions.ids.get(session) {
                    run.store.drop_session(id);
                }
            }
            delivery_op::PRUNE => run.store.prune(run.now),
            delivery_op::ADVANCE => {
                run.now = run.now.saturating_add(u64::from(arg()) * 3600 * 1000);
            }
            _ => {
                let (session, index, cut) = (arg(), arg(), arg());
                if let Some(mut m) = run.message(session, index, 0).cloned() {
                    if cut >= 128 {
                        m.resize(m.len() + usize::from(cut - 127), 0);
                    } else {
                        m.truncate(m.len().saturating_sub(usize::from(cut) + 1));
                    }
                    run.deliver(&m)?;
                }
            }
        }
        run.bounds()?;
    }
    Ok(())
}

/// Encodes `session_deliveries` operations (tag, arguments) for seeds.
pub fn encode_deliveries(ops: &[(u8, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (tag, args) in ops {
        out.push(*tag);
        out.extend_from_slice(args);
    }
    out
}

/// The liveness check the replay test runs: in a fresh store, after its
/// distribution, every variant-0 message of every session decrypts (in any
/// order), so the delivery oracle cannot pass vacuously.
pub fn check_session_fixture(fx: &Fixture) -> Outcome {
    let receiver = fx.sessions_receiver()?;
    let sf = &fx.sessions;
    for (session, opened) in sf.opened.iter().enumerate() {
        let mut store = InboundSessions::new(receiver.certificate());
        store
            .receive(receiver, opened, OPEN_AT)
            .map_err(|_| Violation("session fixture: a distribution is refused"))?;
        let msgs = sf
            .messages
            .get(session)
            .ok_or(Violation("session fixture: messages"))?;
        for index in (0..SESSION_MESSAGES).rev() {
            let m = msgs
                .get(index)
                .and_then(|v| v.first())
                .ok_or(Violation("session fixture: message"))?;
            let p = store
                .decrypt(m, &fx.directory, OPEN_AT)
                .map_err(|_| Violation("session fixture: an authentic message is refused"))?;
            ensure(
                p.payload() == payload(session, index, 0).as_slice(),
                "session fixture: wrong payload",
            )?;
        }
    }
    Ok(())
}
