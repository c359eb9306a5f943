//! Sender-key sessions (issue 14) against vodozemac's Megolm, and against
//! fanseal's own stateless envelope, as interleaved A/B ratios
//! (`common::Paired`, thread CPU time):
//!
//! * encrypt and decrypt of a 1 KiB message: a fanseal session message
//!   (one AES-256-GCM, one Ed25519 signature, default Padmé padding) against
//!   a Megolm v1 message (AES-256-CBC + HMAC-SHA-256, one Ed25519 signature);
//! * the per-message cost of a session whose distribution went to 1,000
//!   recipient devices against one that went to 1;
//! * a distribution (the session state sealed to N devices' prekeys) against
//!   an ordinary 1 KiB envelope sealed to the same N prekeys: the ratio of
//!   the totals is the ratio of the per-device costs.
//!
//! Sessions encrypt at most 1,000 messages, and a message decrypts once, so
//! each side consumes a pool built before the measurement; the pools hold
//! as many messages as `Paired::compare_bounded` can ask for.
//!
//! Run: `cargo bench -p fanseal-peers --bench sessions` (about a minute).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../../benches/common/mod.rs"]
mod common;

use common::{Fixture, FANOUT_PAYLOAD, NOW};
use criterion::measurement::Measurement;
use criterion::Criterion;
use fanseal::{
    open, InboundSessions, Message, Opened, OutboundSession, Padding, RotationPolicy,
    SessionMessage, VerifiedDeviceList, VerifiedPrekey,
};
use rand_chacha::ChaCha20Rng;
use vodozemac::megolm::{GroupSession, InboundGroupSession, MegolmMessage, SessionConfig};

const CONVERSATION: &[u8] = b"conversation:bench";
/// At most this many calls per side and round of a pooled comparison.
const MAX_K: usize = 64;
const POLICY: RotationPolicy = RotationPolicy {
    max_messages: 1000,
    max_age_ms: 7 * 24 * 3600 * 1000,
};

/// One sending device's sessions to `n` recipient devices, and the last
/// recipient device's receiving store.
struct Sessions {
    fx: Fixture,
    /// Every list: the recipients' and the sender's own.
    directory: Vec<VerifiedDeviceList>,
    rng: ChaCha20Rng,
    /// Each new session starts 1 ms after the previous one (a receiving
    /// store keeps the two newest sessions per sender device and refuses an
    /// older one).
    clock: u64,
}

impl Sessions {
    fn new(n: usize) -> Self {
        let fx = Fixture::new(n);
        let mut directory = fx.lists.clone();
        directory.push(fx.sender_list.clone());
        Sessions {
            fx,
            directory,
            rng: common::rng(70),
            clock: NOW,
        }
    }

    fn lists(&self) -> Vec<&VerifiedDeviceList> {
        self.directory.iter().collect()
    }

    fn prekeys(&self) -> Vec<&VerifiedPrekey> {
        self.fx.prekeys.iter().collect()
    }

    /// A new session, distributed to every device (to their prekeys); the
    /// distribution as the last recipient device opened it, and the time
    /// it was created.
    fn start(&mut self) -> (OutboundSession, Opened, u64) {
        self.clock += 1;
        let now = self.clock;
        let mut s = OutboundSession::new(
            &self.fx.sender_cert,
            CONVERSATION,
            POLICY,
            now,
            &mut self.rng,
        )
        .unwrap();
        let mut rng = self.rng.clone();
        let env = s
            .distribute(
                &self.fx.sender,
                &self.fx.sender_cert,
                &self.lists(),
                &self.prekeys(),
                Padding::Padme,
                now,
                &mut rng,
            )
            .unwrap();
        self.rng = rng;
        let device = self.fx.last_device();
        // Sealed to prekeys: the whole envelope (setup only, not timed).
        let opened = open(device, &env.to_bytes(), &self.directory, now + 1).unwrap();
        (s, opened, now)
    }

    /// `count` outbound sessions ready to encrypt (each up to 1,000 messages).
    fn outbound_pool(&mut self, messages: usize) -> Vec<(OutboundSession, u64)> {
        (0..messages.div_ceil(POLICY.max_messages as usize))
            .map(|_| {
                let (s, _, t) = self.start();
                (s, t)
            })
            .collect()
    }

    /// `messages` session messages in order, over as many sessions as that
    /// takes, each session with its opened distribution.
    fn inbound_pool(&mut self, payload: &[u8], messages: usize) -> Vec<Pooled> {
        let mut left = messages;
        let mut out = Vec::new();
        while left > 0 {
            let (mut s, opened, now) = self.start();
            let take = left.min(POLICY.max_messages as usize);
            let lists = self.lists();
            let mut rng = self.rng.clone();
            let msgs = (0..take)
                .map(|_| {
                    s.encrypt(&self.fx.sender, &lists, &message(payload), now, &mut rng)
                        .unwrap()
                        .to_bytes()
                })
                .collect();
            self.rng = rng;
            out.push((opened, now, msgs));
            left -= take;
        }
        out
    }
}

/// A session's opened distribution, its creation time and its messages.
type Pooled = (Opened, u64, Vec<Vec<u8>>);

fn message(payload: &[u8]) -> Message<'_> {
    Message {
        payload,
        ..Message::default()
    }
}

/// Encrypts the next message, moving to the next pooled session when one
/// is used up.
struct Encryptor<'a> {
    s: &'a Sessions,
    pool: Vec<(OutboundSession, u64)>,
    lists: Vec<&'a VerifiedDeviceList>,
    rng: ChaCha20Rng,
}

impl<'a> Encryptor<'a> {
    fn new(s: &'a mut Sessions, messages: usize) -> Self {
        let mut pool = s.outbound_pool(messages);
        pool.reverse();
        let s: &'a Sessions = s;
        Encryptor {
            s,
            pool,
            lists: s.lists(),
            rng: common::rng(71),
        }
    }

    fn next(&mut self, payload: &[u8]) -> SessionMessage {
        if self.pool.last().unwrap().0.next_index() >= POLICY.max_messages {
            self.pool.pop();
        }
        let (session, now) = self
            .pool
            .last_mut()
            .expect("pool sized by Paired::max_calls");
        session
            .encrypt(
                &self.s.fx.sender,
                &self.lists,
                &message(payload),
                *now,
                &mut self.rng,
            )
            .unwrap()
    }
}

/// Decrypts the next pooled message with the last device's receiving store,
/// taking each session's distribution when its first message comes.
struct Decryptor<'a> {
    s: &'a Sessions,
    store: InboundSessions,
    pool: Vec<Pooled>,
    session: usize,
    index: usize,
}

impl<'a> Decryptor<'a> {
    fn new(s: &'a mut Sessions, payload: &[u8], messages: usize) -> Self {
        let pool = s.inbound_pool(payload, messages);
        let s: &'a Sessions = s;
        let mut store = InboundSessions::new(s.fx.last_device().certificate());
        store
            .receive(s.fx.last_device(), &pool[0].0, pool[0].1 + 1)
            .unwrap();
        Decryptor {
            s,
            store,
            pool,
            session: 0,
            index: 0,
        }
    }

    fn next(&mut self) -> usize {
        if self.index == self.pool[self.session].2.len() {
            self.session += 1;
            self.index = 0;
            let (opened, t, _) = &self.pool[self.session];
            self.store
                .receive(self.s.fx.last_device(), opened, t + 1)
                .unwrap();
        }
        let (_, t, msgs) = &self.pool[self.session];
        let m = &msgs[self.index];
        self.index += 1;
        self.store
            .decrypt(m, &self.s.directory, t + 1)
            .unwrap()
            .payload()
            .len()
    }
}

fn megolm_messages(group: &mut GroupSession, payload: &[u8], n: usize) -> Vec<MegolmMessage> {
    (0..n).map(|_| group.encrypt(payload)).collect()
}

fn paired<M: Measurement>(_: &mut Criterion<M>) {
    let Some(mut p) = common::Paired::new() else {
        return;
    };
    let payload = common::payload(FANOUT_PAYLOAD);
    let calls = p.max_calls(MAX_K);

    // ---- encrypt, 1 KiB, one recipient device: session vs Megolm.
    let mut one = Sessions::new(1);
    let mut thousand = Sessions::new(1000);
    {
        let mut enc = Encryptor::new(&mut one, calls);
        let mut group = GroupSession::new(SessionConfig::version_1());
        p.compare_bounded(
            "encrypt 1 KiB: fanseal session vs Megolm",
            MAX_K,
            || enc.next(&payload),
            || group.encrypt(&payload),
        );
    }

    // ---- decrypt, 1 KiB: session (receiving store) vs Megolm inbound.
    {
        let mut dec = Decryptor::new(&mut one, &payload, calls);
        let mut group = GroupSession::new(SessionConfig::version_1());
        let mut inbound =
            InboundGroupSession::new(&group.session_key(), SessionConfig::version_1());
        let megolm = megolm_messages(&mut group, &payload, calls);
        let mut it = megolm.iter();
        p.compare_bounded(
            "decrypt 1 KiB: fanseal session vs Megolm",
            MAX_K,
            || dec.next(),
            || {
                inbound
                    .decrypt(it.next().expect("pool sized by Paired::max_calls"))
                    .unwrap()
                    .plaintext
                    .len()
            },
        );
    }

    // ---- the floor both share: one Ed25519 signature (fanseal's
    // ed25519-dalek 3; vodozemac signs with ed25519-dalek 2) per message.
    {
        use ed25519_dalek::{Signer, SigningKey};
        let key = SigningKey::from_bytes(&[7; 32]);
        let public = key.verifying_key();
        // Session messages sign a label and a 32-byte transcript digest.
        let digest = [9u8; 64];
        let signature = key.sign(&digest);
        let mut group = GroupSession::new(SessionConfig::version_1());
        p.compare(
            "Ed25519 sign (64 B) vs Megolm encrypt 1 KiB",
            || key.sign(&digest),
            || group.encrypt(&payload),
        );
        let mut enc = Encryptor::new(&mut one, calls);
        p.compare_bounded(
            "encrypt 1 KiB: fanseal session vs Ed25519 sign (64 B)",
            MAX_K,
            || enc.next(&payload),
            || key.sign(&digest),
        );
        let mut inbound =
            InboundGroupSession::new(&group.session_key(), SessionConfig::version_1());
        let megolm = megolm_messages(&mut group, &payload, calls);
        let mut it = megolm.iter();
        p.compare_bounded(
            "Ed25519 strict verify (64 B) vs Megolm decrypt 1 KiB",
            MAX_K,
            || public.verify_strict(&digest, &signature).unwrap(),
            || {
                inbound
                    .decrypt(it.next().expect("pool sized by Paired::max_calls"))
                    .unwrap()
                    .plaintext
                    .len()
            },
        );
        let mut dec = Decryptor::new(&mut one, &payload, calls);
        p.compare_bounded(
            "decrypt 1 KiB: fanseal session vs Ed25519 strict verify (64 B)",
            MAX_K,
            || dec.next(),
            || public.verify_strict(&digest, &signature).unwrap(),
        );
    }

    // ---- per-message cost at 1,000 recipient devices against 1.
    {
        let mut a = Encryptor::new(&mut thousand, calls);
        let mut b = Encryptor::new(&mut one, calls);
        p.compare_bounded(
            "session encrypt 1 KiB: 1,000 recipient devices vs 1",
            MAX_K,
            || a.next(&payload),
            || b.next(&payload),
        );
    }
    {
        let mut a = Decryptor::new(&mut thousand, &payload, calls);
        let mut b = Decryptor::new(&mut one, &payload, calls);
        p.compare_bounded(
            "session decrypt 1 KiB: 1,000 recipient devices vs 1",
            MAX_K,
            || a.next(),
            || b.next(),
        );
    }

    // ---- distribution against an ordinary envelope to the same prekeys.
    for n in [1usize, 64, 1000] {
        let mut s = if n == 1000 {
            std::mem::replace(&mut thousand, Sessions::new(1))
        } else {
            Sessions::new(n)
        };
        let (mut session, _, now) = s.start();
        let lists = s.lists();
        let prekeys = s.prekeys();
        let (mut ra, mut rb) = (common::rng(72), common::rng(73));
        // The envelope goes to the same lists (recipients and the sender's
        // own) and prekeys as the distribution.
        p.compare(
            &format!("seal to {n} prekey(s): distribution vs 1 KiB envelope"),
            || {
                session
                    .distribute(
                        &s.fx.sender,
                        &s.fx.sender_cert,
                        &lists,
                        &prekeys,
                        Padding::Padme,
                        now,
                        &mut ra,
                    )
                    .unwrap()
            },
            || {
                fanseal::seal(
                    &s.fx.sender,
                    &s.fx.sender_cert,
                    &lists,
                    &prekeys,
                    &Message {
                        payload: &payload,
                        aad: CONVERSATION,
                        padding: Padding::Padme,
                        ..Message::default()
                    },
                    now,
                    &mut rb,
                )
                .unwrap()
            },
        );
    }
    p.finish("sessions");
}

bench_main!(paired);
