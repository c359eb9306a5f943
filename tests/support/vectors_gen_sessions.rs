//! vectors/sessions.json: sender-key sessions (SPEC.md §15). Every expected
//! byte comes from `vectors_craft.rs` (chain, key schedule, messages,
//! distributions, envelopes and the three state exports, written from the
//! SPEC on the primitive crates); the expected state after each scripted
//! step comes from the plain model below (successful steps only), and every
//! expected error is the one the case was designed to trigger.

use serde_json::{json, Value};

use super::craft::{
    self, CraftEnvelope, CraftRecipient, DistributionBytes, InboundExport, KeyringBytes, List,
    OutboundExport, SessionMsg, StoreSlot,
};
use super::identity::{Account, Device};
use super::{bytes, file_rng, hx, padme, Group, VectorFile, NOW, YEAR};

/// The keyring policy of the identities (SPEC.md §3.8 defaults).
const R: u64 = 172_800_000;
const L: u64 = 604_800_000;
const G: u64 = 604_800_000;
/// SPEC.md §2.5.
const MAX_AGE: u64 = 2_592_000_000;
const SKEW: u64 = 3_600_000;
const DEFAULT_MAX_MESSAGES: u32 = 100;
const DEFAULT_MAX_AGE: u64 = 604_800_000;
const MAX_BODY: usize = 75_628_544;
/// The conversation of every session unless a case says otherwise.
const CONV: &[u8] = b"conversation:alice+bob";

struct Dev {
    name: &'static str,
    account: usize,
    device: Device,
    cert: Vec<u8>,
    on_list: bool,
}

/// (index, max_messages, now, aad, payload, padding, comment)
type MsgCase<'a> = (u32, u32, u64, &'a [u8], &'a [u8], &'a str, &'a str);
/// (index, max_messages, now, huge bucket, aad length, comment, error, flags)
type Refusal<'a> = (u32, u32, u64, usize, usize, &'a str, &'a str, &'a [&'a str]);
/// (bytes, comment, decode kind, errorField, flags)
type DecodeCase<'a> = (Vec<u8>, &'a str, &'a str, Option<&'a str>, &'a [&'a str]);
/// (payload mutation, comment, error)
type PayloadCase<'a> = (Box<dyn Fn(&mut Vec<u8>)>, &'a str, &'a str);
/// (export, owner, comment, error, errorField, errorWhat, flags)
type ImportCase<'a> = (
    Vec<u8>,
    &'a str,
    &'a str,
    String,
    Option<&'a str>,
    Option<&'a str>,
    &'a [&'a str],
);

const KEYRINGS: [&str; 3] = ["alice-phone", "alice-laptop", "bob-phone"];

struct World {
    accounts: Vec<(&'static str, Account)>,
    devs: Vec<Dev>,
    /// (name, account index, encoded list)
    lists: Vec<(&'static str, usize, Vec<u8>)>,
}

impl World {
    fn dev(&self, n: &str) -> &Dev {
        self.devs.iter().find(|d| d.name == n).unwrap()
    }

    fn keyring(&self, n: &str) -> Vec<u8> {
        let d = self.dev(n);
        KeyringBytes {
            version: 2,
            object_type: 0x20,
            rotation_ms: R,
            lifetime_ms: L,
            grace_ms: G,
            secret: d.device.secret,
            certificate: d.cert.clone(),
            retired: Vec::new(),
            prekeys: Vec::new(),
            hybrid: Vec::new(),
        }
        .clamped()
        .encode()
    }

    /// Devices a seal to these lists wraps for, by key id (SPEC.md §5.1).
    fn targets(&self, accounts: &[usize]) -> Vec<&Dev> {
        let mut t: Vec<&Dev> = self
            .devs
            .iter()
            .filter(|d| d.on_list && accounts.contains(&d.account))
            .collect();
        t.sort_by_key(|d| craft::certificate_key_id(&d.cert));
        t
    }

    fn identities(&self) -> Value {
        json!({
            "accounts": self.accounts.iter().map(|(n, a)| json!({"name": n, "publicKey": hx(&a.public)})).collect::<Vec<_>>(),
            "lists": self.lists.iter().map(|(n, a, l)| json!({"name": n, "account": self.accounts[*a].0, "deviceList": hx(l)})).collect::<Vec<_>>(),
            "devices": self.devs.iter().map(|d| json!({
                "name": d.name,
                "account": self.accounts[d.account].0,
                "secret": hx(&d.device.secret),
                "certificate": hx(&d.cert),
                "keyId": hx(&craft::certificate_key_id(&d.cert)),
                "deviceId": hx(&d.device.device_id),
            })).collect::<Vec<_>>(),
            "prekeys": [],
            "keyrings": KEYRINGS.iter().map(|n| json!({
                "name": n, "device": n, "export": hx(&self.keyring(n)),
            })).collect::<Vec<_>>(),
        })
    }
}

fn build_world(rng: &mut rand_chacha::ChaCha20Rng) -> World {
    let accounts: Vec<(&'static str, Account)> = ["alice", "bob"]
        .into_iter()
        .map(|n| (n, Account::new(rng)))
        .collect();
    let mut devs = Vec::new();
    for (name, account, on_list) in [
        ("alice-phone", 0, true),
        ("alice-laptop", 0, true),
        ("bob-phone", 1, true),
        ("alice-ghost", 0, false),
    ] {
        let device = Device::new(rng);
        let acc = &accounts[account].1;
        let cert = device.cert(acc, None).signed(&acc.seed);
        devs.push(Dev {
            name,
            account,
            device,
            cert,
            on_list,
        });
    }
    let list = |account: usize, version: u64, previous: [u8; 32], names: &[&str]| {
        let acc = &accounts[account].1;
        let mut certs: Vec<Vec<u8>> = names
            .iter()
            .map(|n| devs.iter().find(|d| d.name == *n).unwrap().cert.clone())
            .collect();
        certs.sort_by(|a, b| a[36..52].cmp(&b[36..52]));
        List {
            suite: 1,
            account: acc.public,
            version,
            previous_hash: previous,
            issued_at: NOW - YEAR + version,
            certificates: certs,
        }
        .signed(&acc.seed)
    };
    let alice = list(0, 1, [0; 32], &["alice-phone", "alice-laptop"]);
    let bob = list(1, 1, [0; 32], &["bob-phone"]);
    let alice_v2 = list(0, 2, craft::list_hash(&alice), &["alice-laptop"]);
    World {
        accounts,
        devs,
        lists: vec![
            ("alice", 0, alice),
            ("bob", 1, bob),
            ("alice-v2", 0, alice_v2),
        ],
    }
}

// ------------------------------------------------------------ the model

/// A session as its sender holds it: everything is derived from `ck0`.
#[derive(Clone)]
struct Sess {
    sender: &'static str,
    cert: Vec<u8>,
    ed_seed: [u8; 32],
    seed: [u8; 16],
    ck0: [u8; 32],
    created: u64,
    max_messages: u32,
    max_age: u64,
    conv: Vec<u8>,
}

impl Sess {
    fn id(&self) -> [u8; 16] {
        craft::session_id_of(&self.cert, &self.conv, &self.seed)
    }
    fn binding(&self) -> [u8; 32] {
        craft::session_binding(
            self.cert[84..116].try_into().unwrap(),
            &self.id(),
            &self.conv,
        )
    }
    fn ck(&self, i: u32) -> [u8; 32] {
        craft::session_chain_forward(&self.ck0, i)
    }
    fn mk(&self, i: u32) -> [u8; 32] {
        craft::session_chain_step(&self.ck(i)).0
    }
    fn dist(&self, index: u32) -> DistributionBytes {
        DistributionBytes {
            version: 2,
            object_type: 9,
            suite: 1,
            seed: self.seed,
            index,
            chain_key: self.ck(index),
            created_at: self.created,
            max_messages: self.max_messages,
            max_age_ms: self.max_age,
            conversation: self.conv.clone(),
        }
    }
    /// An honest message at `index` (Padmé), signed by the sender.
    fn msg(&self, index: u32, timestamp: u64, payload: &[u8], rng32: [u8; 32]) -> SessionMsg {
        let aad = b"m".to_vec();
        SessionMsg {
            session_id: self.id(),
            index,
            message_key: self.mk(index),
            binding: self.binding(),
            rng32,
            timestamp,
            padded_len: padme(craft::session_body_len(&aad, payload) as u64) as usize,
            aad,
            payload: payload.to_vec(),
            signer_seed: Some(self.ed_seed),
            padding_byte: 0,
            commitment_override: None,
            flip_ciphertext: None,
        }
    }
    /// The inbound state a receiver derives from a distribution at `index`.
    fn inbound(&self, owner: &[u8], index: u32) -> InboundExport {
        InboundExport {
            suite: 1,
            owner_account: owner[4..36].try_into().unwrap(),
            owner_device: owner[36..52].try_into().unwrap(),
            sender_certificate: self.cert.clone(),
            session_id: self.id(),
            created_at: self.created,
            max_messages: self.max_messages,
            max_age_ms: self.max_age,
            conversation: self.conv.clone(),
            first_index: index,
            next_index: index,
            chain_key: self.ck(index),
            skipped: Vec::new(),
        }
    }
}

/// Accepting message `i` (SPEC.md §15.9 step 10) on the model.
fn accept(s: &mut InboundExport, i: u32) {
    if i < s.next_index {
        let at = s.skipped.iter().position(|(j, _)| *j == i).unwrap();
        s.skipped.remove(at);
        return;
    }
    let mut ck = s.chain_key;
    for j in s.next_index..i {
        let (mk, next) = craft::session_chain_step(&ck);
        s.skipped.push((j, mk));
        ck = next;
    }
    s.chain_key = craft::session_chain_step(&ck).1;
    s.next_index = i + 1;
}

/// The receiving store of SPEC.md §15.4 (successful steps only).
#[derive(Clone)]
struct Store {
    owner: Vec<u8>,
    /// (slot key, floor, sessions ascending by (created at, id))
    slots: Vec<(Vec<u8>, Option<u64>, Vec<InboundExport>)>,
    /// Slot keys whose floor was raised by a conflicting distribution.
    conflicts: Vec<Vec<u8>>,
    /// The highest floor of a forgotten tombstone-only slot.
    forgotten: Option<u64>,
}

impl Store {
    fn new(owner: &[u8]) -> Self {
        Store {
            owner: owner.to_vec(),
            slots: Vec::new(),
            conflicts: Vec::new(),
            forgotten: None,
        }
    }
    fn slot(&mut self, key: &[u8]) -> usize {
        if let Some(i) = self.slots.iter().position(|s| s.0 == key) {
            return i;
        }
        self.slots.push((key.to_vec(), None, Vec::new()));
        self.slots.sort_by(|a, b| a.0.cmp(&b.0));
        self.slots.iter().position(|s| s.0 == key).unwrap()
    }
    /// A new session (store step 11).
    fn add(&mut self, s: InboundExport) {
        let i = self.slot(&s.slot_key());
        let slot = &mut self.slots[i];
        if slot.2.len() == 2 {
            let dropped = slot.2.remove(0);
            slot.1 = Some(
                slot.1
                    .map_or(dropped.created_at, |f| f.max(dropped.created_at)),
            );
        }
        slot.2.push(s);
        slot.2.sort_by_key(|x| (x.created_at, x.session_id));
    }
    fn get(&mut self, id: &[u8; 16]) -> &mut InboundExport {
        self.slots
            .iter_mut()
            .flat_map(|s| s.2.iter_mut())
            .find(|x| x.session_id == *id)
            .unwrap()
    }
    fn drop_session(&mut self, id: &[u8; 16]) {
        for slot in &mut self.slots {
            if let Some(at) = slot.2.iter().position(|x| x.session_id == *id) {
                let d = slot.2.remove(at);
                slot.1 = Some(slot.1.map_or(d.created_at, |f| f.max(d.created_at)));
            }
        }
    }
    /// `ConflictingDistribution` (store step 7): the session is dropped and
    /// its slot's floor is marked as raised by a conflict.
    fn conflict_drop(&mut self, id: &[u8; 16]) {
        let key = self.get(id).slot_key();
        self.drop_session(id);
        self.conflicts.push(key);
    }
    /// Forgets the tombstone-only slots whose floor aged out at `now`
    /// (store step 11's commit), raising the forgotten floor.
    fn forget_aged(&mut self, now: u64) {
        let mut forgotten = self.forgotten;
        self.slots.retain(|(_, floor, sessions)| {
            let aged = floor.is_none_or(|f| f.saturating_add(MAX_AGE).saturating_add(SKEW) < now);
            let forget = sessions.is_empty() && aged;
            if forget {
                forgotten = forgotten.max(*floor);
            }
            !forget
        });
        self.forgotten = forgotten;
    }
    fn floor_flag(&self, key: &[u8], floor: Option<u64>) -> u8 {
        match floor {
            None => 0,
            Some(_) if self.conflicts.iter().any(|k| k == key) => 2,
            Some(_) => 1,
        }
    }
    /// A held session's further distribution at a lower index (store step 7).
    fn merge(&mut self, sess: &Sess, index: u32) {
        let s = self.get(&sess.id());
        if index < s.first_index {
            for j in index..s.first_index {
                s.skipped.push((j, sess.mk(j)));
            }
            s.skipped.sort_by_key(|x| x.0);
            s.first_index = index;
        }
    }
    fn encode(&self) -> Vec<u8> {
        let slots: Vec<StoreSlot> = self
            .slots
            .iter()
            .map(|(k, f, ss)| StoreSlot {
                key: k.clone(),
                floor_flag: self.floor_flag(k, *f),
                floor: f.unwrap_or(0),
                sessions: ss.iter().map(InboundExport::encode).collect(),
            })
            .collect();
        craft::with_state_check(craft::store_body(
            self.owner[4..36].try_into().unwrap(),
            self.owner[36..52].try_into().unwrap(),
            self.forgotten,
            &slots,
        ))
    }
}

// ------------------------------------------------------------ the file

struct Ctx {
    w: World,
    rng: rand_chacha::ChaCha20Rng,
}

impl Ctx {
    fn session(&mut self, sender: &'static str, created: u64, mm: u32, age: u64) -> Sess {
        let d = self.w.dev(sender);
        Sess {
            sender,
            cert: d.cert.clone(),
            ed_seed: d.device.ed_seed,
            seed: bytes(&mut self.rng),
            ck0: bytes(&mut self.rng),
            created,
            max_messages: mm,
            max_age: age,
            conv: CONV.to_vec(),
        }
    }

    fn r32(&mut self) -> [u8; 32] {
        bytes(&mut self.rng)
    }

    /// The distribution envelope `sender` seals to alice's and bob's
    /// lists with `payload` and `aad` at `now`: (envelope, randomness).
    fn envelope_from(
        &mut self,
        sender: &str,
        payload: &[u8],
        aad: &[u8],
        now: u64,
    ) -> (Vec<u8>, Vec<u8>) {
        let randomness: [u8; 80] = {
            let mut r = [0u8; 80];
            r[..32].copy_from_slice(&self.r32());
            r[32..64].copy_from_slice(&self.r32());
            r[64..].copy_from_slice(&self.r32()[..16]);
            r
        };
        let s = self.w.dev(sender);
        let message_secret: [u8; 32] = randomness[16..48].try_into().unwrap();
        let unpadded = 200 + 8 + 4 + aad.len() + 4 + payload.len() + 64;
        let env = CraftEnvelope {
            version: 2,
            object_type: 3,
            suite: 1,
            message_id: randomness[..16].try_into().unwrap(),
            timestamp: now,
            ephemeral_secret: randomness[48..].try_into().unwrap(),
            ephemeral_public_override: None,
            message_secret,
            recipients: self
                .w
                .targets(&[0, 1])
                .iter()
                .map(|d| CraftRecipient::to_certificate(&d.cert, message_secret))
                .collect(),
            certificate: s.cert.clone(),
            aad: aad.to_vec(),
            payload: payload.to_vec(),
            payload_len_field: None,
            signer_seed: s.device.ed_seed,
            padded_len: padme(unpadded as u64) as usize,
            padding_byte: 0,
            small_order_r: false,
        };
        (env.encode(), randomness.to_vec())
    }

    /// The honest distribution envelope of `s` at `index`, sent at `now`.
    fn envelope(&mut self, s: &Sess, index: u32, now: u64) -> Vec<u8> {
        let p = s.dist(index).encode();
        self.envelope_from(s.sender, &p, &s.conv, now).0
    }
}

fn padding_json(p: &str, b: usize) -> Value {
    match p {
        "bucket" => json!({"type": "bucket", "bucketSize": b}),
        other => json!({ "type": other }),
    }
}

fn padded(p: &str, b: usize, len: usize) -> usize {
    match p {
        "padme" => padme(len as u64) as usize,
        "none" => len,
        _ => len.div_ceil(b) * b,
    }
}

pub(crate) fn sessions() -> String {
    let mut rng = file_rng("sessions.json");
    let w = build_world(&mut rng);
    let mut f = VectorFile::new(
        "fanseal sender-key sessions (SPEC.md §15): session messages, distributions, decrypting in order and the receiving store, the state exports",
        json!({
            "identities": "As in prekeys.json: accounts, lists (alice: alice-phone and alice-laptop; bob: bob-phone; alice-v2: version 2 of alice's list without alice-phone), devices (alice-ghost is certified by alice but on none of its lists; no device has a capability bit, so envelopes wrap to certificate keys), no prekeys, keyrings (one per listed device, no prekeys). Sessions are alice-phone's unless a case says otherwise.",
            "SessionMessage": "sender (device), conversationId, seed, chainKey (CK_index), index, createdAt, maxMessages, maxAgeMs, rng32 (the 32 bytes encrypt draws), now (the message's timestamp), aad, payload, padding -> sessionId, binding, messageKey (MK_index), nextChainKey (CK_index+1), content, random, contextHash, commitment, bodyKey, bodyNonce, headerHash, signature, message (exact bytes); or the SessionError of encrypt. To run: load the outbound state as the 0x23 export of these fields (removed 0, no recipients, suite 1) without the restored flag, and encrypt once with rng32.",
            "SessionDistribution": "sender, conversationId, maxMessages, maxAgeMs, now, randomness (OutboundSession::new draws seed 16 then CK_0 32) -> sessionId, chainKey, distribution (the payload of the 0x09 distribution at index 0); then distribute to the lists recipients at now with Padmé drawing envelopeRandomness (message id 16, message secret 32, ephemeral secret 32) -> envelope (exact bytes), outboundExport (exact 0x23 export afterwards); receivers: {device, inboundExport} (open the envelope with the device's keyring, directory = recipients, at now; InboundSession::from_opened; its exact 0x24 export), or the device's SessionError (OwnSession for the sender).",
            "SessionMessageDecode": "message -> the DecodeError of SessionMessage::from_bytes (SPEC.md §15.3 Decoding order) with errorField, or valid with sessionId, index and ciphertextSha256 (SHA-256 of the bytes from offset 92; the message re-encodes to the same bytes).",
            "SessionDecrypt": "receiver (device), directory (list names), optional initialStore (a 0x25 export to import first, else an empty store), steps in order: receive {envelope, now -> received (new | held) and sessionId, or the error: OpenError::* from open(receiver's keyring, envelope, directory, now) or the SessionError of InboundSessions::receive}; decrypt {message, now -> sessionId, index, timestamp, aad, payload, or the SessionError of InboundSessions::decrypt}; drop {sessionId} (drop_session, must return true). A step's error is its own; the case's result and error are those of its last step. Afterwards the store's export must equal store exactly, or initialStore when store is absent (refused steps change nothing except ConflictingDistribution, which drops the session).",
            "SessionExport": "sender, conversationId, maxMessages, maxAgeMs, createdAt (now of new), steps in order: new {randomness} | distribute {lists, now, randomness, optional device (whose secret and certificate are passed; default the sender)} | encrypt {lists, now, randomness (rng32), payload, aad} | updateMembership {lists, now -> membership (unchanged | added | removed)}; a step with an error is refused with it and draws nothing (randomness empty); the case's error is its last step's -> export (exact 0x23 bytes after the steps, refusals included: MemberRemoved and a removal found by encrypt set the removed flag). Padding Padmé.",
            "SessionImport": "kind (outbound 0x23 | inbound 0x24 | store 0x25), owner (device), export -> valid: importing and exporting again gives the same bytes; or the SessionError (SessionError::Decode(DecodeError::*) with errorField / errorWhat, SessionError::WrongDevice).",
        }),
    );
    f.flag("Valid", "a well-formed object used as intended");
    f.flag(
        "Order",
        "several faults at once: the first in SPEC.md's order wins",
    );
    f.flag("Bound", "at or next to a limit of SPEC.md §2.5 or §15.6");
    f.flag("Forgery", "a message not made by the honest sender");
    f.flag("Replay", "a message or distribution delivered again");
    f.flag("Rotation", "a sender's new session replaces its old ones");
    f.flag("Truncated", "input cut short");
    f.flag("TrailingBytes", "bytes after a complete object");
    f.flag("Corrupted", "a stored byte changed (the state check)");
    f.flag("Grease", "an unknown version, object type or suite");
    f.flag("Membership", "a refusal of distribute or encrypt about the session's devices or owner (SPEC.md §15.4–15.6)");
    f.extra("identities", w.identities());
    let mut cx = Ctx { w, rng };

    session_message(&mut f, &mut cx);
    session_distribution(&mut f, &mut cx);
    session_export(&mut f, &mut cx);
    message_decode(&mut f, &mut cx);
    session_decrypt(&mut f, &mut cx);
    session_import(&mut f, &mut cx);
    f.render()
}

// ------------------------------------------------------------ SessionMessage

fn session_message(f: &mut VectorFile, cx: &mut Ctx) {
    let mut g = Group::new(
        "SessionMessage",
        "OutboundSession::encrypt from a given chain state: every intermediate of SPEC.md §15.2–15.3 and the exact bytes",
    );
    let created = NOW - 3_600_000;
    let bucket = 4096usize;
    let cases: [MsgCase<'_>; 9] = [
        (
            0,
            100,
            NOW,
            b"",
            b"",
            "padme",
            "index 0, empty AAD and payload",
        ),
        (1, 100, NOW + 1, b"m", b"hello", "padme", "index 1"),
        (
            2,
            100,
            NOW + 2,
            b"",
            b"payload without aad",
            "none",
            "no padding",
        ),
        (
            3,
            100,
            NOW + 3,
            b"aad only",
            b"",
            "bucket",
            "a bucket of 4096 bytes",
        ),
        (
            17,
            100,
            NOW + 4,
            b"ctx",
            &[0x5a; 300],
            "padme",
            "a later index (17 chain steps from CK_0)",
        ),
        (
            99,
            100,
            NOW + 5,
            b"last",
            b"the last index of a 100-message policy",
            "padme",
            "index 99 = max_messages - 1",
        ),
        (
            998,
            1000,
            NOW + 6,
            b"x",
            b"near the bound",
            "none",
            "index 998 under the largest policy (1000 messages)",
        ),
        (
            999,
            1000,
            created + MAX_AGE - 1,
            b"x",
            b"last",
            "padme",
            "index 999 = MAX_SESSION_MESSAGES - 1, 1 ms before max_age_ms (30 days) ends",
        ),
        (
            5,
            100,
            created + DEFAULT_MAX_AGE - 1,
            b"",
            b"z",
            "padme",
            "1 ms before the session's age reaches max_age_ms",
        ),
    ];
    let sender = cx.w.dev("alice-phone");
    let cert = sender.cert.clone();
    let ed_seed = sender.device.ed_seed;
    for (index, mm, now, aad, payload, pad, comment) in cases {
        let seed: [u8; 16] = bytes(&mut cx.rng);
        let ck0: [u8; 32] = cx.r32();
        let age = if mm == 1000 { MAX_AGE } else { DEFAULT_MAX_AGE };
        let s = Sess {
            sender: "alice-phone",
            cert: cert.clone(),
            ed_seed,
            seed,
            ck0,
            created,
            max_messages: mm,
            max_age: age,
            conv: CONV.to_vec(),
        };
        let ck = s.ck(index);
        let (mk, next) = craft::session_chain_step(&ck);
        let rng32 = cx.r32();
        let m = SessionMsg {
            session_id: s.id(),
            index,
            message_key: mk,
            binding: s.binding(),
            rng32,
            timestamp: now,
            aad: aad.to_vec(),
            payload: payload.to_vec(),
            padded_len: padded(pad, bucket, craft::session_body_len(aad, payload)),
            signer_seed: Some(ed_seed),
            padding_byte: 0,
            commitment_override: None,
            flip_ciphertext: None,
        };
        let o = m.build();
        g.valid(
            comment,
            &if mm == 1000 || index == 99 || comment.contains("before") {
                vec!["Valid", "Bound"]
            } else {
                vec!["Valid"]
            },
            json!({
                "sender": "alice-phone", "conversationId": hx(CONV), "seed": hx(&seed),
                "chainKey": hx(&ck), "index": index, "createdAt": created,
                "maxMessages": mm, "maxAgeMs": age, "rng32": hx(&rng32), "now": now,
                "aad": hx(aad), "payload": hx(payload), "padding": padding_json(pad, bucket),
                "sessionId": hx(&s.id()), "binding": hx(&s.binding()), "messageKey": hx(&mk),
                "nextChainKey": hx(&next), "content": hx(&o.content), "random": hx(&o.random),
                "contextHash": hx(&o.context_hash), "commitment": hx(&o.commitment),
                "bodyKey": hx(&o.body_key), "bodyNonce": hx(&o.body_nonce),
                "headerHash": hx(&o.header_hash), "signature": hx(&o.signature),
                "message": hx(&o.bytes),
            }),
        );
    }
    // Refusals of encrypt, nothing drawn (SPEC.md §15.5, §15.6).
    let refusals: [Refusal<'_>; 5] = [
        (
            100,
            100,
            NOW,
            0,
            1,
            "the next index reached max_messages: the session needs rotation",
            "SessionError::RotationRequired",
            &["Bound"],
        ),
        (
            5,
            100,
            created + DEFAULT_MAX_AGE,
            0,
            1,
            "now = created_at + max_age_ms: the session needs rotation",
            "SessionError::RotationRequired",
            &["Bound"],
        ),
        (
            5,
            100,
            NOW,
            0,
            65_537,
            "an AAD of MAX_AAD + 1 bytes",
            "SessionError::AadTooLarge",
            &["Bound"],
        ),
        (
            100,
            100,
            NOW,
            0,
            65_537,
            "order: rotation (step 2) before the AAD limit (step 6)",
            "SessionError::RotationRequired",
            &["Order"],
        ),
        (
            5,
            100,
            NOW,
            1,
            0,
            "a bucket whose padded body exceeds MAX_BODY",
            "SessionError::PaddedBodyTooLarge",
            &["Bound"],
        ),
    ];
    for (index, mm, now, huge_bucket, aad_len, comment, error, flags) in refusals {
        let seed: [u8; 16] = bytes(&mut cx.rng);
        let ck: [u8; 32] = cx.r32();
        let pad = if huge_bucket == 1 {
            json!({"type": "bucket", "bucketSize": MAX_BODY + 1})
        } else {
            json!({"type": "padme"})
        };
        let aad = if aad_len > 0 {
            json!({"fill": "61", "length": aad_len})
        } else {
            json!("")
        };
        g.invalid(
            comment,
            flags,
            error,
            json!({
                "sender": "alice-phone", "conversationId": hx(CONV), "seed": hx(&seed),
                "chainKey": hx(&ck), "index": index, "createdAt": created,
                "maxMessages": mm, "maxAgeMs": DEFAULT_MAX_AGE, "rng32": "", "now": now,
                "aad": aad, "payload": hx(b"p"), "padding": pad,
            }),
        );
    }
    f.push(g);
}

// ------------------------------------------------------------ SessionDistribution

fn session_distribution(f: &mut VectorFile, cx: &mut Ctx) {
    let mut g = Group::new(
        "SessionDistribution",
        "OutboundSession::new and distribute (SPEC.md §15.4, §15.5): the session id, the distribution payload, its envelope byte for byte, the sender's export and each recipient's inbound state",
    );
    for (conv, mm, age, comment) in [
        (
            CONV.to_vec(),
            DEFAULT_MAX_MESSAGES,
            DEFAULT_MAX_AGE,
            "the default policy (100 messages, 7 days)",
        ),
        (
            Vec::new(),
            1,
            1,
            "an empty conversation id and the smallest policy (1 message, 1 ms)",
        ),
        (
            vec![0xc4; 300],
            1000,
            MAX_AGE,
            "a 300-byte conversation id and the largest policy",
        ),
    ] {
        let now = NOW - 1000;
        let seed: [u8; 16] = bytes(&mut cx.rng);
        let ck0 = cx.r32();
        let sender = cx.w.dev("alice-phone");
        let s = Sess {
            sender: "alice-phone",
            cert: sender.cert.clone(),
            ed_seed: sender.device.ed_seed,
            seed,
            ck0,
            created: now,
            max_messages: mm,
            max_age: age,
            conv: conv.clone(),
        };
        let payload = s.dist(0).encode();
        let (env, env_rand) = cx.envelope_from("alice-phone", &payload, &conv, now);
        let recipients: Vec<[u8; 16]> = {
            let mut k: Vec<[u8; 16]> =
                cx.w.targets(&[0, 1])
                    .iter()
                    .map(|d| craft::certificate_key_id(&d.cert))
                    .collect();
            k.sort();
            k
        };
        let out = OutboundExport {
            suite: 1,
            session_id: s.id(),
            owner_ed25519: s.cert[84..116].try_into().unwrap(),
            next_index: 0,
            chain_key: ck0,
            created_at: now,
            max_messages: mm,
            max_age_ms: age,
            removed: 0,
            recipients,
            conversation: conv.clone(),
            seed,
        };
        let receivers: Vec<Value> = ["alice-laptop", "bob-phone"]
            .iter()
            .map(|r| {
                let owner = cx.w.dev(r).cert.clone();
                json!({"device": r, "inboundExport": hx(&s.inbound(&owner, 0).encode())})
            })
            .chain(std::iter::once(
                json!({"device": "alice-phone", "error": "SessionError::OwnSession"}),
            ))
            .collect();
        let mut randomness = seed.to_vec();
        randomness.extend_from_slice(&ck0);
        g.valid(
            comment,
            &["Valid"],
            json!({
                "sender": "alice-phone", "conversationId": hx(&conv), "maxMessages": mm,
                "maxAgeMs": age, "now": now, "randomness": hx(&randomness),
                "sessionId": hx(&s.id()), "chainKey": hx(&ck0), "distribution": hx(&payload),
                "recipients": ["alice", "bob"], "envelopeRandomness": hx(&env_rand),
                "envelope": hx(&env), "outboundExport": hx(&out.encode()), "receivers": receivers,
            }),
        );
    }
    // Refusals of new (nothing drawn).
    for (conv_len, mm, age, comment, error) in [
        (
            10usize,
            0u32,
            DEFAULT_MAX_AGE,
            "max_messages 0",
            "SessionError::InvalidPolicy",
        ),
        (
            10,
            1001,
            DEFAULT_MAX_AGE,
            "max_messages 1001 > MAX_SESSION_MESSAGES",
            "SessionError::InvalidPolicy",
        ),
        (10, 100, 0, "max_age_ms 0", "SessionError::InvalidPolicy"),
        (
            10,
            100,
            MAX_AGE + 1,
            "max_age_ms above MAX_SESSION_AGE_MS",
            "SessionError::InvalidPolicy",
        ),
        (
            65_537,
            100,
            DEFAULT_MAX_AGE,
            "a conversation id of MAX_CONVERSATION_ID + 1 bytes",
            "SessionError::ConversationIdTooLarge",
        ),
        (
            65_537,
            0,
            DEFAULT_MAX_AGE,
            "order: the policy before the conversation id",
            "SessionError::InvalidPolicy",
        ),
    ] {
        let flags: &[&str] = if comment.starts_with("order") {
            &["Order"]
        } else {
            &["Bound"]
        };
        g.invalid(
            comment,
            flags,
            error,
            json!({
                "sender": "alice-phone", "conversationId": {"fill": "63", "length": conv_len},
                "maxMessages": mm, "maxAgeMs": age, "now": NOW, "randomness": "",
            }),
        );
    }
    f.push(g);
}

// ------------------------------------------------------------ SessionExport

fn session_export(f: &mut VectorFile, cx: &mut Ctx) {
    let mut g = Group::new(
        "SessionExport",
        "OutboundSession::export (type 0x23, SPEC.md §15.7) after scripted steps",
    );
    let created = NOW - 10_000;
    let sender = cx.w.dev("alice-phone");
    let cert = sender.cert.clone();
    let ed = sender.device.ed_seed;
    let all_keys: Vec<[u8; 16]> = {
        let mut k: Vec<[u8; 16]> =
            cx.w.targets(&[0, 1])
                .iter()
                .map(|d| craft::certificate_key_id(&d.cert))
                .collect();
        k.sort();
        k
    };
    let alice_keys: Vec<[u8; 16]> = {
        let mut k: Vec<[u8; 16]> =
            cx.w.targets(&[0])
                .iter()
                .map(|d| craft::certificate_key_id(&d.cert))
                .collect();
        k.sort();
        k
    };
    for variant in 0..10 {
        let seed: [u8; 16] = bytes(&mut cx.rng);
        let ck0 = cx.r32();
        let s = Sess {
            sender: "alice-phone",
            cert: cert.clone(),
            ed_seed: ed,
            seed,
            ck0,
            created,
            max_messages: DEFAULT_MAX_MESSAGES,
            max_age: DEFAULT_MAX_AGE,
            conv: CONV.to_vec(),
        };
        let mut new_rand = seed.to_vec();
        new_rand.extend_from_slice(&ck0);
        let mut steps = vec![json!({"op": "new", "randomness": hx(&new_rand)})];
        let mut e = OutboundExport {
            suite: 1,
            session_id: s.id(),
            owner_ed25519: cert[84..116].try_into().unwrap(),
            next_index: 0,
            chain_key: ck0,
            created_at: created,
            max_messages: DEFAULT_MAX_MESSAGES,
            max_age_ms: DEFAULT_MAX_AGE,
            removed: 0,
            recipients: Vec::new(),
            conversation: CONV.to_vec(),
            seed,
        };
        let mut error: Option<&str> = None;
        let distribute = |cx: &mut Ctx, steps: &mut Vec<Value>, lists: &[&str], now: u64| {
            let (_, er) = cx.envelope_from("alice-phone", &s.dist(0).encode(), CONV, now);
            steps.push(
                json!({"op": "distribute", "lists": lists, "now": now, "randomness": hx(&er)}),
            );
        };
        let refused = |op: &str, lists: &[&str], now: u64, err: &str| json!({"op": op, "lists": lists, "now": now, "randomness": "", "payload": "00", "aad": "", "error": err});
        let comment = match variant {
            0 => "a new session, never distributed: suite 0x0001, no recipients",
            1 => {
                distribute(cx, &mut steps, &["alice", "bob"], created + 1);
                e.recipients = all_keys.clone();
                for i in 0..3u32 {
                    let r = cx.r32();
                    steps.push(json!({"op": "encrypt", "lists": ["alice", "bob"], "now": created + 2 + u64::from(i), "randomness": hx(&r), "payload": hx(&[i as u8; 3]), "aad": ""}));
                }
                e.next_index = 3;
                e.chain_key = s.ck(3);
                "distributed to alice's and bob's lists, then three messages: next index 3, CK_3, the three recipients' key ids ascending"
            }
            2 => {
                distribute(cx, &mut steps, &["alice", "bob"], created + 1);
                steps.push(json!({"op": "updateMembership", "lists": ["alice-v2", "bob"], "now": created + 2, "membership": "removed"}));
                e.recipients = all_keys.clone();
                e.removed = 1;
                "distributed, then alice-v2 (without alice-phone) passed to update_membership: removed flag 1"
            }
            3 => {
                let mut st = refused(
                    "distribute",
                    &["alice", "bob"],
                    created + 1,
                    "SessionError::WrongDevice",
                );
                st["device"] = json!("alice-laptop");
                steps.push(st);
                error = Some("SessionError::WrongDevice");
                "distribute with alice-laptop's secret and certificate: WrongDevice (step 1), nothing drawn, nothing changed"
            }
            4 => {
                distribute(cx, &mut steps, &["alice", "bob"], created + 1);
                steps.push(refused(
                    "distribute",
                    &["alice-v2", "bob"],
                    created + 2,
                    "SessionError::MemberRemoved",
                ));
                e.recipients = all_keys.clone();
                e.removed = 1;
                error = Some("SessionError::MemberRemoved");
                "a re-distribution to lists without a recorded recipient: MemberRemoved, and the refusal sets the removed flag (SPEC.md §15.4 step 2, E7)"
            }
            5 => {
                distribute(cx, &mut steps, &["alice", "bob"], created + 1);
                steps.push(refused(
                    "encrypt",
                    &["alice-v2", "bob"],
                    created + 2,
                    "SessionError::RotationRequired",
                ));
                e.recipients = all_keys.clone();
                e.removed = 1;
                error = Some("SessionError::RotationRequired");
                "encrypt with lists that changed and dropped a recipient: RotationRequired, removed flag set, index unchanged (SPEC.md §15.5 step 3)"
            }
            6 => {
                distribute(cx, &mut steps, &["alice"], created + 1);
                steps.push(refused(
                    "encrypt",
                    &["alice", "bob"],
                    created + 2,
                    "SessionError::MembershipChanged",
                ));
                e.recipients = alice_keys.clone();
                error = Some("SessionError::MembershipChanged");
                "distributed to alice's list only, then encrypt with bob's list too: MembershipChanged (distribute first), nothing drawn"
            }
            7 => {
                steps.push(refused(
                    "encrypt",
                    &["alice", "bob"],
                    created + DEFAULT_MAX_AGE,
                    "SessionError::RotationRequired",
                ));
                error = Some("SessionError::RotationRequired");
                "order: never distributed (an addition) and now = created_at + max_age_ms: RotationRequired (step 2) before MembershipChanged (step 3)"
            }
            8 => {
                distribute(cx, &mut steps, &["alice", "bob"], created + 1);
                let mut st = refused(
                    "distribute",
                    &["alice-v2", "bob"],
                    created + 2,
                    "SessionError::WrongDevice",
                );
                st["device"] = json!("alice-laptop");
                steps.push(st);
                e.recipients = all_keys.clone();
                error = Some("SessionError::WrongDevice");
                "order: another device's secret and a removed recipient: WrongDevice (step 1), the removed flag stays 0"
            }
            _ => {
                steps.push(refused(
                    "distribute",
                    &["alice-v2", "bob"],
                    created + 1,
                    "SessionError::Seal(SealError::SenderNotOnOwnList)",
                ));
                error = Some("SessionError::Seal(SealError::SenderNotOnOwnList)");
                "the first distribution with alice's list that no longer holds the sender: seal refuses (SPEC.md §15.4 step 4), nothing recorded"
            }
        };
        let mut flags = vec![if error.is_some() { "Order" } else { "Valid" }];
        if error.is_some() && !comment.starts_with("order") {
            flags = vec!["Membership"];
        }
        let v = json!({
            "sender": "alice-phone", "conversationId": hx(CONV), "maxMessages": DEFAULT_MAX_MESSAGES,
            "maxAgeMs": DEFAULT_MAX_AGE, "createdAt": created, "steps": steps, "export": hx(&e.encode()),
        });
        match error {
            None => g.valid(comment, &flags, v),
            Some(err) => g.invalid(comment, &flags, err, v),
        }
    }
    f.push(g);
}

// ------------------------------------------------------------ SessionMessageDecode

fn message_decode(f: &mut VectorFile, cx: &mut Ctx) {
    let mut g = Group::new(
        "SessionMessageDecode",
        "SessionMessage::from_bytes (SPEC.md §15.3 Decoding, in order)",
    );
    let s = cx.session("alice-phone", NOW - 1000, 100, DEFAULT_MAX_AGE);
    let r = cx.r32();
    let good = s.msg(0, NOW, b"decode me", r).build().bytes;
    g.valid(
        "a well-formed message",
        &["Valid"],
        json!({"message": hx(&good), "sessionId": hx(&s.id()), "index": 0, "ciphertextSha256": hx(&craft::sha256(&[&good[92..]]))}),
    );
    let with = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        b
    };
    let c_field = |b: &mut Vec<u8>, c: u32| b[88..92].copy_from_slice(&c.to_be_bytes());
    let cases: Vec<DecodeCase<'_>> = vec![
        (
            with(&|b| b[3] = 2),
            "suite 0x0002 (a session message has one format)",
            "UnsupportedSuite",
            None,
            &["Grease"],
        ),
        (
            with(&|b| b[0] = 1),
            "wire version 0x01",
            "UnsupportedVersion",
            None,
            &["Grease"],
        ),
        (
            with(&|b| b[0] = 0xfa),
            "wire version 0xfa",
            "UnsupportedVersion",
            None,
            &["Grease"],
        ),
        (
            with(&|b| b[1] = 9),
            "object type 0x09 (a distribution)",
            "WrongObjectType",
            None,
            &["Grease"],
        ),
        (
            with(&|b| {
                b[1] = 3;
                b[2] = 0x0a;
            }),
            "order: object type 0x03 and suite 0x0a01: the type first",
            "WrongObjectType",
            None,
            &["Order"],
        ),
        (
            with(&|b| {
                b[2] = 0x0a;
                b[3] = 0x0a;
                b[20..24].copy_from_slice(&[0xff; 4]);
            }),
            "order: suite 0x0a0a and index 2^32 - 1: the suite first",
            "UnsupportedSuite",
            None,
            &["Order", "Grease"],
        ),
        (
            good[..19].to_vec(),
            "cut inside the session id",
            "Truncated",
            Some("session id"),
            &["Truncated"],
        ),
        (
            with(&|b| b[20..24].copy_from_slice(&[0xff; 4])),
            "index 2^32 - 1",
            "OutOfRange",
            Some("index"),
            &["Bound"],
        ),
        (
            with(&|b| {
                b[20..24].copy_from_slice(&[0xff; 4]);
                c_field(b, 95);
            }),
            "order: index 2^32 - 1 and c = 95: the index first",
            "OutOfRange",
            Some("index"),
            &["Order"],
        ),
        (
            with(&|b| b[20..24].copy_from_slice(&[0xff, 0xff, 0xff, 0xfe])),
            "index 2^32 - 2 decodes (c and the rest as well)",
            "",
            None,
            &["Bound"],
        ),
        (
            good[..50].to_vec(),
            "cut inside the random",
            "Truncated",
            Some("random"),
            &["Truncated"],
        ),
        (
            good[..80].to_vec(),
            "cut inside the commitment",
            "Truncated",
            Some("commitment"),
            &["Truncated"],
        ),
        (
            with(&|b| c_field(b, 95)),
            "c = 95 (below MIN_SESSION_BODY + 16)",
            "OutOfRange",
            Some("ciphertext"),
            &["Bound"],
        ),
        (
            with(&|b| c_field(b, (MAX_BODY + 17) as u32)),
            "c = MAX_BODY + 17, refused before anything is allocated",
            "OutOfRange",
            Some("ciphertext"),
            &["Bound"],
        ),
        (
            with(&|b| c_field(b, 96)),
            "c = 96 but more bytes follow",
            "TrailingBytes",
            None,
            &["TrailingBytes", "Bound"],
        ),
        (
            good[..good.len() - 1].to_vec(),
            "one ciphertext byte missing",
            "Truncated",
            Some("ciphertext"),
            &["Truncated"],
        ),
        (
            with(&|b| {
                let n = b.len();
                b.truncate(n - 1);
                c_field(b, (MAX_BODY + 16) as u32);
            }),
            "c = MAX_BODY + 16 (allowed) with far fewer bytes",
            "Truncated",
            Some("ciphertext"),
            &["Truncated", "Bound"],
        ),
        (
            with(&|b| b.push(0)),
            "one byte after the ciphertext",
            "TrailingBytes",
            None,
            &["TrailingBytes"],
        ),
        (
            good[..91].to_vec(),
            "cut inside the ciphertext length",
            "Truncated",
            Some("ciphertext"),
            &["Truncated"],
        ),
    ];
    for (bytes, comment, kind, field, flags) in cases {
        if kind.is_empty() {
            g.valid(comment, flags, json!({"message": hx(&bytes), "sessionId": hx(&s.id()), "index": 4_294_967_294u64, "ciphertextSha256": hx(&craft::sha256(&[&bytes[92..]]))}));
            continue;
        }
        let mut v = json!({"message": hx(&bytes)});
        if let Some(fl) = field {
            v["errorField"] = json!(fl);
        }
        g.invalid(comment, flags, &format!("DecodeError::{kind}"), v);
    }
    f.push(g);
}

// ------------------------------------------------------------ SessionDecrypt

enum Step {
    Receive(Vec<u8>, u64, Result<&'static str, String>, [u8; 16]),
    Decrypt(SessionMsg, u64, Result<(), String>),
    /// A decrypt step with its own directory.
    DecryptIn(SessionMsg, u64, Result<(), String>, &'static [&'static str]),
    Drop([u8; 16]),
}

fn step_json(s: &Step) -> Value {
    match s {
        Step::Receive(env, now, r, id) => {
            let mut v = json!({"op": "receive", "envelope": hx(env), "now": now});
            match r {
                Ok(k) => {
                    v["received"] = json!(k);
                    v["sessionId"] = hx(id);
                }
                Err(e) => v["error"] = json!(e),
            }
            v
        }
        Step::Decrypt(m, now, r) | Step::DecryptIn(m, now, r, _) => {
            let mut v = json!({"op": "decrypt", "message": hx(&m.build().bytes), "now": now});
            if let Step::DecryptIn(_, _, _, d) = s {
                v["directory"] = json!(d);
            }
            match r {
                Ok(()) => {
                    v["sessionId"] = hx(&m.session_id);
                    v["index"] = json!(m.index);
                    v["timestamp"] = json!(m.timestamp);
                    v["aad"] = hx(&m.aad);
                    v["payload"] = hx(&m.payload);
                }
                Err(e) => v["error"] = json!(e),
            }
            v
        }
        Step::Drop(id) => json!({"op": "drop", "sessionId": hx(id)}),
    }
}

#[allow(clippy::too_many_arguments)]
fn decrypt_case(
    g: &mut Group,
    comment: &str,
    flags: &[&str],
    receiver: &str,
    directory: &[&str],
    initial: Option<&Vec<u8>>,
    steps: &[Step],
    store: &Store,
) {
    let last = match steps.last().unwrap() {
        Step::Receive(_, _, Err(e), _)
        | Step::Decrypt(_, _, Err(e))
        | Step::DecryptIn(_, _, Err(e), _) => Some(e.clone()),
        _ => None,
    };
    let mut v = json!({
        "receiver": receiver,
        "directory": directory,
        "steps": steps.iter().map(step_json).collect::<Vec<_>>(),
    });
    let after = store.encode();
    match initial {
        // An unchanged imported store is not written twice.
        Some(i) if *i == after => v["initialStore"] = hx(i),
        Some(i) => {
            v["initialStore"] = hx(i);
            v["store"] = hx(&after);
        }
        None => v["store"] = hx(&after),
    }
    match last {
        None => g.valid(comment, flags, v),
        Some(e) => g.invalid(comment, flags, &e, v),
    }
}

fn ok_new(env: Vec<u8>, now: u64, s: &Sess) -> Step {
    Step::Receive(env, now, Ok("new"), s.id())
}

fn err(e: &str) -> Result<(), String> {
    Err(e.to_string())
}

#[allow(clippy::too_many_lines)]
fn session_decrypt(f: &mut VectorFile, cx: &mut Ctx) {
    let mut g = Group::new(
        "SessionDecrypt",
        "InboundSessions::receive and decrypt (SPEC.md §15.4 receiving and the store, §15.9 checks in order), step by step",
    );
    let bob = cx.w.dev("bob-phone").cert.clone();
    let alice_laptop = cx.w.dev("alice-laptop").cert.clone();
    let dir: &[&str] = &["alice", "bob"];
    let t0 = NOW - 600_000;
    let s1 = cx.session("alice-phone", t0, DEFAULT_MAX_MESSAGES, DEFAULT_MAX_AGE);
    let d1 = cx.envelope(&s1, 0, t0);
    let ts = |i: u32| NOW - 100_000 + u64::from(i);
    let m = |s: &Sess, i: u32, cx: &mut Ctx| {
        let r = cx.r32();
        s.msg(i, ts(i), format!("message {i}").as_bytes(), r)
    };
    let base = |s: &Sess, owner: &[u8]| {
        let mut st = Store::new(owner);
        st.add(s.inbound(owner, 0));
        st
    };

    // In order.
    let (m0, m1, m2, m3) = (m(&s1, 0, cx), m(&s1, 1, cx), m(&s1, 2, cx), m(&s1, 3, cx));
    let mut st = base(&s1, &bob);
    accept(st.get(&s1.id()), 0);
    accept(st.get(&s1.id()), 1);
    decrypt_case(
        &mut g,
        "in order: the distribution, then indices 0 and 1",
        &["Valid"],
        "bob-phone",
        dir,
        None,
        &[
            ok_new(d1.clone(), NOW, &s1),
            Step::Decrypt(m0.clone(), NOW, Ok(())),
            Step::Decrypt(m1.clone(), NOW, Ok(())),
        ],
        &st,
    );
    // Out of order within the window.
    let mut st = base(&s1, &bob);
    for i in [3, 1, 0] {
        accept(st.get(&s1.id()), i);
    }
    decrypt_case(&mut g, "out of order: 3 (keeps skipped keys 0, 1, 2), then 1 and 0 from the skipped keys; key 2 is still held", &["Valid"], "bob-phone", dir, None,
        &[ok_new(d1.clone(), NOW, &s1), Step::Decrypt(m3.clone(), NOW, Ok(())), Step::Decrypt(m1.clone(), NOW, Ok(())), Step::Decrypt(m0.clone(), NOW, Ok(()))], &st);
    // The same delivered via a second device (alice-laptop, the sender's other device).
    let mut st = base(&s1, &alice_laptop);
    accept(st.get(&s1.id()), 2);
    decrypt_case(
        &mut g,
        "the sender's other device reads the session (index 2, skipped keys 0 and 1 held)",
        &["Valid"],
        "alice-laptop",
        dir,
        None,
        &[
            ok_new(d1.clone(), NOW, &s1),
            Step::Decrypt(m2.clone(), NOW, Ok(())),
        ],
        &st,
    );
    // Duplicates.
    let mut st = base(&s1, &bob);
    accept(st.get(&s1.id()), 0);
    decrypt_case(
        &mut g,
        "index 0 again: DuplicateIndex",
        &["Replay"],
        "bob-phone",
        dir,
        None,
        &[
            ok_new(d1.clone(), NOW, &s1),
            Step::Decrypt(m0.clone(), NOW, Ok(())),
            Step::Decrypt(m0.clone(), NOW, err("SessionError::DuplicateIndex")),
        ],
        &st,
    );
    let mut st = base(&s1, &bob);
    accept(st.get(&s1.id()), 2);
    accept(st.get(&s1.id()), 0);
    decrypt_case(
        &mut g,
        "a skipped key is used once: 2, 0 (from the skipped keys), 0 again is DuplicateIndex",
        &["Replay"],
        "bob-phone",
        dir,
        None,
        &[
            ok_new(d1.clone(), NOW, &s1),
            Step::Decrypt(m2.clone(), NOW, Ok(())),
            Step::Decrypt(m0.clone(), NOW, Ok(())),
            Step::Decrypt(m0.clone(), NOW, err("SessionError::DuplicateIndex")),
        ],
        &st,
    );
    // Skip window and policy bounds.
    let st0 = base(&s1, &bob);
    let far = |i: u32, cx: &mut Ctx| {
        let r = cx.r32();
        s1.msg(i, ts(0), b"far", r)
    };
    let m1001 = far(1001, cx);
    decrypt_case(&mut g, "index 1001 with next index 0: more than MAX_SESSION_SKIP ahead (and at or above max_messages: TooFarAhead is checked first)", &["Bound", "Order"], "bob-phone", dir, None,
        &[ok_new(d1.clone(), NOW, &s1), Step::Decrypt(m1001, NOW, err("SessionError::TooFarAhead"))], &st0);
    let m100 = far(100, cx);
    decrypt_case(&mut g, "index 100 = max_messages of the distribution's policy: SessionExpired before anything is derived", &["Bound"], "bob-phone", dir, None,
        &[ok_new(d1.clone(), NOW, &s1), Step::Decrypt(m100, NOW, err("SessionError::SessionExpired"))], &st0);
    let m99 = far(99, cx);
    let mut st = base(&s1, &bob);
    accept(st.get(&s1.id()), 99);
    decrypt_case(
        &mut g,
        "index 99 = max_messages - 1 from next index 0: 99 skipped keys kept",
        &["Bound", "Valid"],
        "bob-phone",
        dir,
        None,
        &[
            ok_new(d1.clone(), NOW, &s1),
            Step::Decrypt(m99, NOW, Ok(())),
        ],
        &st,
    );
    let big = cx.session("alice-phone", t0 + 1, 1000, MAX_AGE);
    let dbig = cx.envelope(&big, 0, t0 + 1);
    let r = cx.r32();
    let m1000 = big.msg(1000, ts(0), b"x", r);
    let stb = base(&big, &bob);
    decrypt_case(&mut g, "index 1000 from next index 0 under the largest policy: within the skip window (gap = MAX_SESSION_SKIP), at max_messages: SessionExpired", &["Bound"], "bob-phone", dir, None,
        &[ok_new(dbig.clone(), NOW, &big), Step::Decrypt(m1000, NOW, err("SessionError::SessionExpired"))], &stb);
    // TooManySkipped: a state holding 1001 skipped keys (only an imported or
    // merged state gets there), a message 1000 ahead.
    {
        let mut s = big.inbound(&bob, 0);
        s.next_index = 1001;
        s.chain_key = big.ck(1001);
        s.skipped = (0..1001).map(|i| (i, big.mk(i))).collect();
        let mut st = Store::new(&bob);
        st.add(s);
        let init = st.encode();
        let r = cx.r32();
        let m2001 = big.msg(2001, ts(0), b"x", r);
        decrypt_case(&mut g, "1001 skipped keys held, index 2001 with next index 1001: 1001 + 1000 > MAX_SKIPPED_KEYS (checked before max_messages)", &["Bound", "Order"], "bob-phone", dir, Some(&init),
            &[Step::Decrypt(m2001, NOW, err("SessionError::TooManySkipped"))], &st);
    }
    // Before the distribution: a distribution at index 5.
    let s6 = cx.session("alice-phone", t0 + 2, DEFAULT_MAX_MESSAGES, DEFAULT_MAX_AGE);
    let d6_5 = cx.envelope(&s6, 5, t0 + 2);
    let d6_2 = cx.envelope(&s6, 2, t0 + 3);
    let (m6_3, m6_5, m6_1) = (m(&s6, 3, cx), m(&s6, 5, cx), m(&s6, 1, cx));
    let mut st = Store::new(&bob);
    st.add(s6.inbound(&bob, 5));
    decrypt_case(
        &mut g,
        "a distribution at index 5, then index 3: BeforeDistribution (history, not a replay)",
        &[],
        "bob-phone",
        dir,
        None,
        &[
            Step::Receive(d6_5.clone(), NOW, Ok("new"), s6.id()),
            Step::Decrypt(m6_3.clone(), NOW, err("SessionError::BeforeDistribution")),
        ],
        &st,
    );
    let mut st2 = st.clone();
    st2.merge(&s6, 2);
    accept(st2.get(&s6.id()), 3);
    accept(st2.get(&s6.id()), 5);
    decrypt_case(&mut g, "a re-distribution at index 2 arrives after the one at 5: Held, keys 2..4 join the skipped keys, first index 2; then 3 and 5 decrypt", &["Valid"], "bob-phone", dir, None,
        &[Step::Receive(d6_5.clone(), NOW, Ok("new"), s6.id()), Step::Receive(d6_2.clone(), NOW, Ok("held"), s6.id()), Step::Decrypt(m6_3.clone(), NOW, Ok(())), Step::Decrypt(m6_5.clone(), NOW, Ok(()))], &st2);
    let mut st3 = st.clone();
    st3.merge(&s6, 2);
    decrypt_case(
        &mut g,
        "after the merge, index 1 is still BeforeDistribution (first index 2)",
        &[],
        "bob-phone",
        dir,
        None,
        &[
            Step::Receive(d6_5.clone(), NOW, Ok("new"), s6.id()),
            Step::Receive(d6_2.clone(), NOW, Ok("held"), s6.id()),
            Step::Decrypt(m6_1.clone(), NOW, err("SessionError::BeforeDistribution")),
        ],
        &st3,
    );
    decrypt_case(
        &mut g,
        "the same distribution twice: Held, nothing added",
        &["Replay", "Valid"],
        "bob-phone",
        dir,
        None,
        &[
            Step::Receive(d6_5.clone(), NOW, Ok("new"), s6.id()),
            Step::Receive(d6_5.clone(), NOW, Ok("held"), s6.id()),
        ],
        &st,
    );
    // ConflictingDistribution: same seed, another chain key.
    {
        let mut evil = s6.clone();
        evil.ck0 = cx.r32();
        let de = cx.envelope(&evil, 5, t0 + 2);
        let mut stc = st.clone();
        stc.conflict_drop(&s6.id());
        decrypt_case(&mut g, "a second distribution of the held session with another chain key: ConflictingDistribution, the session is dropped (tombstone at its created-at)", &[], "bob-phone", dir, None,
            &[Step::Receive(d6_5.clone(), NOW, Ok("new"), s6.id()), Step::Receive(de, NOW, Err("SessionError::ConflictingDistribution".into()), s6.id())], &stc);
        let mut other = s6.clone();
        other.created += 1;
        let de = cx.envelope(&other, 5, t0 + 3);
        decrypt_case(&mut g, "a second distribution with the same chain but another created-at: ConflictingDistribution", &[], "bob-phone", dir, None,
            &[Step::Receive(d6_5.clone(), NOW, Ok("new"), s6.id()), Step::Receive(de, NOW, Err("SessionError::ConflictingDistribution".into()), s6.id())], &stc);
    }
    // Forgeries, all Unauthenticated.
    let forged = |mut msg: SessionMsg, f: &dyn Fn(&mut SessionMsg)| {
        f(&mut msg);
        msg
    };
    let bob_seed = cx.w.dev("bob-phone").device.ed_seed;
    let laptop_seed = cx.w.dev("alice-laptop").device.ed_seed;
    let other_ck = cx.r32();
    let forgeries: Vec<(SessionMsg, &str)> = vec![
        (
            forged(m0.clone(), &|x| x.signer_seed = Some(bob_seed)),
            "co-member forgery: bob-phone holds the chain and signs index 0 with its own key",
        ),
        (
            forged(m0.clone(), &|x| x.signer_seed = Some(laptop_seed)),
            "the sender's own other device signs: not the session owner's key",
        ),
        (
            forged(m0.clone(), &|x| x.signer_seed = None),
            "stripped signature (the body ends after the payload)",
        ),
        (
            forged(m0.clone(), &|x| x.commitment_override = Some([0x11; 32])),
            "commitment mismatch (checked before decrypting)",
        ),
        (
            forged(m0.clone(), &|x| x.flip_ciphertext = Some(3)),
            "a ciphertext byte changed",
        ),
        (
            forged(m0.clone(), &|x| x.flip_ciphertext = Some(x.padded_len + 15)),
            "a tag byte changed",
        ),
        (
            forged(m0.clone(), &|x| x.padding_byte = 1),
            "a non-zero padding byte (correctly signed and encrypted)",
        ),
        (
            forged(m0.clone(), &|x| {
                x.message_key = craft::session_chain_step(&other_ck).0
            }),
            "another chain's message key (a forger without the chain)",
        ),
        (
            forged(m0.clone(), &|x| x.binding = [0x22; 32]),
            "another binding in the context hash (a message moved from another sender's session)",
        ),
    ];
    for (msg, comment) in forgeries {
        decrypt_case(
            &mut g,
            comment,
            &["Forgery"],
            "bob-phone",
            dir,
            None,
            &[
                ok_new(d1.clone(), NOW, &s1),
                Step::Decrypt(msg, NOW, err("SessionError::Unauthenticated")),
            ],
            &st0,
        );
    }
    // The signed timestamp (between steps 8 and 9).
    let late = forged(m0.clone(), &|x| {
        x.timestamp = t0 + DEFAULT_MAX_AGE + SKEW + 1
    });
    decrypt_case(
        &mut g,
        "a signed timestamp 1 ms after created_at + max_age_ms + MAX_SESSION_CLOCK_SKEW_MS",
        &["Bound"],
        "bob-phone",
        dir,
        None,
        &[
            ok_new(d1.clone(), NOW, &s1),
            Step::Decrypt(late, NOW, err("SessionError::SessionExpired")),
        ],
        &st0,
    );
    let edge = forged(m0.clone(), &|x| x.timestamp = t0 + DEFAULT_MAX_AGE + SKEW);
    let mut ste = base(&s1, &bob);
    accept(ste.get(&s1.id()), 0);
    decrypt_case(
        &mut g,
        "a signed timestamp exactly created_at + max_age_ms + MAX_SESSION_CLOCK_SKEW_MS",
        &["Bound", "Valid"],
        "bob-phone",
        dir,
        None,
        &[
            ok_new(d1.clone(), NOW, &s1),
            Step::Decrypt(edge, NOW, Ok(())),
        ],
        &ste,
    );
    let early = forged(m0.clone(), &|x| x.timestamp = t0 - SKEW - 1);
    decrypt_case(
        &mut g,
        "a signed timestamp 1 ms before created_at - MAX_SESSION_CLOCK_SKEW_MS",
        &["Bound"],
        "bob-phone",
        dir,
        None,
        &[
            ok_new(d1.clone(), NOW, &s1),
            Step::Decrypt(early, NOW, err("SessionError::SessionExpired")),
        ],
        &st0,
    );
    let late_forged = forged(m0.clone(), &|x| {
        x.timestamp = t0 + DEFAULT_MAX_AGE + SKEW + 1;
        x.signer_seed = Some(bob_seed);
    });
    decrypt_case(&mut g, "order: a forged signature and a timestamp out of bounds: Unauthenticated (step 8's signature first)", &["Order", "Forgery"], "bob-phone", dir, None,
        &[ok_new(d1.clone(), NOW, &s1), Step::Decrypt(late_forged, NOW, err("SessionError::Unauthenticated"))], &st0);
    // Sender trust (step 9).
    decrypt_case(
        &mut g,
        "the directory has no list for alice (the distribution was received with one)",
        &[],
        "bob-phone",
        dir,
        None,
        &[
            ok_new(d1.clone(), NOW, &s1),
            Step::DecryptIn(
                m0.clone(),
                NOW,
                err("SessionError::SenderListUnavailable"),
                &["bob"],
            ),
        ],
        &st0,
    );
    decrypt_case(
        &mut g,
        "alice-v2 (alice-phone removed) is the directory's list of alice: SenderNotOnTrustedList",
        &[],
        "bob-phone",
        dir,
        None,
        &[
            ok_new(d1.clone(), NOW, &s1),
            Step::DecryptIn(
                m0.clone(),
                NOW,
                err("SessionError::SenderNotOnTrustedList"),
                &["alice-v2", "bob"],
            ),
        ],
        &st0,
    );
    let forged0 = forged(m0.clone(), &|x| x.signer_seed = Some(bob_seed));
    decrypt_case(
        &mut g,
        "order: a forged signature and no list of alice: Unauthenticated (step 8 before step 9)",
        &["Order", "Forgery"],
        "bob-phone",
        dir,
        None,
        &[
            ok_new(d1.clone(), NOW, &s1),
            Step::DecryptIn(forged0, NOW, err("SessionError::Unauthenticated"), &["bob"]),
        ],
        &st0,
    );
    let late1 = forged(m0.clone(), &|x| {
        x.timestamp = t0 + DEFAULT_MAX_AGE + SKEW + 1
    });
    decrypt_case(&mut g, "order: a timestamp out of bounds and the sender removed from its list: SessionExpired (checked between steps 8 and 9)", &["Order"], "bob-phone", dir, None,
        &[ok_new(d1.clone(), NOW, &s1), Step::DecryptIn(late1, NOW, err("SessionError::SessionExpired"), &["alice-v2", "bob"])], &st0);
    // Unknown session, and ordering before the lookup.
    let s2 = cx.session(
        "alice-phone",
        t0 + 100_000,
        DEFAULT_MAX_MESSAGES,
        DEFAULT_MAX_AGE,
    );
    let s2m0 = m(&s2, 0, cx);
    decrypt_case(
        &mut g,
        "a message of a session never received: UnknownSession",
        &[],
        "bob-phone",
        dir,
        None,
        &[
            ok_new(d1.clone(), NOW, &s1),
            Step::Decrypt(s2m0.clone(), NOW, err("SessionError::UnknownSession")),
        ],
        &st0,
    );
    let s2bad = forged(s2m0.clone(), &|x| x.index = 1001);
    decrypt_case(
        &mut g,
        "order: unknown session and an index far ahead: UnknownSession (step 2 before step 4)",
        &["Order"],
        "bob-phone",
        dir,
        None,
        &[
            ok_new(d1.clone(), NOW, &s1),
            Step::Decrypt(s2bad, NOW, err("SessionError::UnknownSession")),
        ],
        &st0,
    );
    let dup_forged = forged(m0.clone(), &|x| x.signer_seed = Some(bob_seed));
    let mut std = base(&s1, &bob);
    accept(std.get(&s1.id()), 0);
    decrypt_case(&mut g, "order: a duplicate index with a forged signature: DuplicateIndex (step 3, before any key work)", &["Order", "Replay"], "bob-phone", dir, None,
        &[ok_new(d1.clone(), NOW, &s1), Step::Decrypt(m0.clone(), NOW, Ok(())), Step::Decrypt(dup_forged, NOW, err("SessionError::DuplicateIndex"))], &std);
    // Rotation and the store's tombstones.
    let s4 = cx.session(
        "alice-phone",
        t0 + 50_000,
        DEFAULT_MAX_MESSAGES,
        DEFAULT_MAX_AGE,
    );
    let s3 = cx.session(
        "alice-phone",
        t0 + 200_000,
        DEFAULT_MAX_MESSAGES,
        DEFAULT_MAX_AGE,
    );
    let d2 = cx.envelope(&s2, 0, s2.created);
    let d3 = cx.envelope(&s3, 0, s3.created);
    let d4 = cx.envelope(&s4, 0, s4.created);
    let mut rot = base(&s1, &bob);
    rot.add(s2.inbound(&bob, 0));
    rot.add(s3.inbound(&bob, 0));
    let rot_steps = vec![
        ok_new(d1.clone(), NOW, &s1),
        ok_new(d2.clone(), NOW, &s2),
        ok_new(d3.clone(), NOW, &s3),
    ];
    decrypt_case(&mut g, "rotation: three sessions of one sender device and conversation; the third drops the oldest (floor = its created-at)", &["Rotation", "Valid"], "bob-phone", dir, None, &rot_steps, &rot);
    let mut steps = rot_steps.clone_steps();
    steps.push(Step::Decrypt(
        m0.clone(),
        NOW,
        err("SessionError::UnknownSession"),
    ));
    decrypt_case(
        &mut g,
        "after the rotation, a message of the dropped session: UnknownSession",
        &["Rotation"],
        "bob-phone",
        dir,
        None,
        &steps,
        &rot,
    );
    let mut steps = rot_steps.clone_steps();
    steps.push(Step::Receive(
        d1.clone(),
        NOW,
        Err("SessionError::StaleDistribution".into()),
        s1.id(),
    ));
    decrypt_case(&mut g, "the dropped session's distribution delivered again: at the floor, StaleDistribution (store step 8)", &["Rotation", "Replay"], "bob-phone", dir, None, &steps, &rot);
    let mut steps = rot_steps.clone_steps();
    steps.push(Step::Receive(
        d4.clone(),
        NOW,
        Err("SessionError::StaleDistribution".into()),
        s4.id(),
    ));
    decrypt_case(&mut g, "a session created after the floor but before both held sessions of the full slot: StaleDistribution (store step 9)", &["Rotation"], "bob-phone", dir, None, &steps, &rot);
    let mut dropped = base(&s1, &bob);
    dropped.drop_session(&s1.id());
    decrypt_case(
        &mut g,
        "drop_session, then the distribution again: StaleDistribution (the tombstone)",
        &["Replay"],
        "bob-phone",
        dir,
        None,
        &[
            ok_new(d1.clone(), NOW, &s1),
            Step::Drop(s1.id()),
            Step::Receive(
                d1.clone(),
                NOW,
                Err("SessionError::StaleDistribution".into()),
                s1.id(),
            ),
        ],
        &dropped,
    );
    decrypt_case(
        &mut g,
        "drop_session, then a message of it: UnknownSession",
        &[],
        "bob-phone",
        dir,
        None,
        &[
            ok_new(d1.clone(), NOW, &s1),
            Step::Drop(s1.id()),
            Step::Decrypt(m0.clone(), NOW, err("SessionError::UnknownSession")),
        ],
        &dropped,
    );
    // Receiving refusals (SPEC.md §15.4 steps 1–5 and store step 6).
    let empty = Store::new(&bob);
    let recv = |g: &mut Group,
                comment: &str,
                flags: &[&str],
                env: Vec<u8>,
                now: u64,
                e: &str,
                dirs: &[&str],
                receiver: &str,
                store: &Store| {
        decrypt_case(
            g,
            comment,
            flags,
            receiver,
            dirs,
            None,
            &[Step::Receive(env, now, Err(e.to_string()), [0; 16])],
            store,
        );
    };
    let dist_env = |cx: &mut Ctx, f: &dyn Fn(&mut DistributionBytes), aad: &[u8], now: u64| {
        let mut d = s1.dist(0);
        f(&mut d);
        cx.envelope_from("alice-phone", &d.encode(), aad, now).0
    };
    let e = dist_env(
        cx,
        &|d| d.conversation = b"another conversation".to_vec(),
        CONV,
        t0,
    );
    recv(
        &mut g,
        "the distribution's conversation id is not the envelope's AAD",
        &[],
        e,
        NOW,
        "SessionError::WrongConversation",
        dir,
        "bob-phone",
        &empty,
    );
    let alice_phone = cx.w.dev("alice-phone").cert.clone();
    recv(
        &mut g,
        "the sender receives its own distribution",
        &[],
        d1.clone(),
        NOW,
        "SessionError::OwnSession",
        dir,
        "alice-phone",
        &Store::new(&alice_phone),
    );
    let e = dist_env(cx, &|d| d.conversation = b"x".to_vec(), CONV, t0);
    recv(&mut g, "order: its own distribution with another conversation id: WrongConversation (step 2) before OwnSession (step 3)", &["Order"], e, NOW, "SessionError::WrongConversation", dir, "alice-phone", &Store::new(&alice_phone));
    let e = dist_env(cx, &|d| d.index = 100, CONV, t0);
    recv(
        &mut g,
        "a distribution at index 100 = its max_messages",
        &["Bound"],
        e,
        NOW,
        "SessionError::SessionExpired",
        dir,
        "bob-phone",
        &empty,
    );
    let e = cx.envelope(&s1, 99, t0);
    let mut s99 = Store::new(&bob);
    s99.add(s1.inbound(&bob, 99));
    decrypt_case(
        &mut g,
        "a distribution at index 99 = max_messages - 1 is taken",
        &["Bound", "Valid"],
        "bob-phone",
        dir,
        None,
        &[Step::Receive(e, NOW, Ok("new"), s1.id())],
        &s99,
    );
    let e = dist_env(cx, &|d| d.created_at = t0 + SKEW + 1, CONV, t0);
    recv(
        &mut g,
        "created-at 1 ms more than MAX_SESSION_CLOCK_SKEW_MS after the envelope's timestamp",
        &["Bound"],
        e,
        NOW,
        "SessionError::SessionExpired",
        dir,
        "bob-phone",
        &empty,
    );
    let e = dist_env(
        cx,
        &|d| {
            d.created_at = t0 + SKEW + 1;
            d.index = 100;
        },
        CONV,
        t0,
    );
    recv(&mut g, "order: own distribution, index at max_messages: OwnSession (step 3) before SessionExpired (step 5)", &["Order"], e, NOW, "SessionError::OwnSession", dir, "alice-phone", &Store::new(&alice_phone));
    let old = cx.session(
        "alice-phone",
        NOW - MAX_AGE - SKEW - 1,
        DEFAULT_MAX_MESSAGES,
        DEFAULT_MAX_AGE,
    );
    let e = cx.envelope(&old, 0, old.created);
    recv(
        &mut g,
        "store step 6: now = created_at + MAX_SESSION_AGE_MS + MAX_SESSION_CLOCK_SKEW_MS + 1",
        &["Bound"],
        e,
        NOW,
        "SessionError::SessionExpired",
        dir,
        "bob-phone",
        &empty,
    );
    let edge = cx.session(
        "alice-phone",
        NOW - MAX_AGE - SKEW,
        DEFAULT_MAX_MESSAGES,
        DEFAULT_MAX_AGE,
    );
    let e = cx.envelope(&edge, 0, edge.created);
    let mut se = Store::new(&bob);
    se.add(edge.inbound(&bob, 0));
    decrypt_case(&mut g, "store step 6: now = created_at + MAX_SESSION_AGE_MS + MAX_SESSION_CLOCK_SKEW_MS is still taken", &["Bound", "Valid"], "bob-phone", dir, None, &[Step::Receive(e, NOW, Ok("new"), edge.id())], &se);
    // Payloads that are not distributions.
    let bad_payloads: Vec<PayloadCase<'_>> = vec![
        (
            Box::new(|b: &mut Vec<u8>| b[1] = 8),
            "the payload's object type is 0x08",
            "SessionError::Decode(DecodeError::WrongObjectType)",
        ),
        (
            Box::new(|b: &mut Vec<u8>| b[3] = 2),
            "suite 0x0002 inside a classical envelope",
            "SessionError::Decode(DecodeError::UnsupportedSuite)",
        ),
        (
            Box::new(|b: &mut Vec<u8>| b[20..24].copy_from_slice(&[0xff; 4])),
            "index 2^32 - 1",
            "SessionError::Decode(DecodeError::OutOfRange)",
        ),
        (
            Box::new(|b: &mut Vec<u8>| b[64..68].copy_from_slice(&1001u32.to_be_bytes())),
            "max_messages 1001: Inconsistent(\"rotation policy\")",
            "SessionError::Decode(DecodeError::Inconsistent)",
        ),
        (
            Box::new(|b: &mut Vec<u8>| b[68..76].copy_from_slice(&0u64.to_be_bytes())),
            "max_age_ms 0: Inconsistent(\"rotation policy\")",
            "SessionError::Decode(DecodeError::Inconsistent)",
        ),
        (
            Box::new(|b: &mut Vec<u8>| {
                b[64..68].copy_from_slice(&0u32.to_be_bytes());
                b[76..80].copy_from_slice(&65_537u32.to_be_bytes());
            }),
            "order: policy out of bounds and conversation id length 65,537: the policy first",
            "SessionError::Decode(DecodeError::Inconsistent)",
        ),
        (
            Box::new(|b: &mut Vec<u8>| b[76..80].copy_from_slice(&65_537u32.to_be_bytes())),
            "conversation id length 65,537",
            "SessionError::Decode(DecodeError::OutOfRange)",
        ),
        (
            Box::new(|b: &mut Vec<u8>| {
                let n = b.len();
                b.truncate(n - 1);
            }),
            "one conversation id byte missing",
            "SessionError::Decode(DecodeError::Truncated)",
        ),
        (
            Box::new(|b: &mut Vec<u8>| b.push(0)),
            "a byte after the conversation id",
            "SessionError::Decode(DecodeError::TrailingBytes)",
        ),
        (
            Box::new(|b: &mut Vec<u8>| b.truncate(40)),
            "cut inside the chain key",
            "SessionError::Decode(DecodeError::Truncated)",
        ),
    ];
    for (mutate, comment, error) in bad_payloads {
        let mut p = s1.dist(0).encode();
        mutate(&mut p);
        let aad = if comment.starts_with("one conversation") {
            &CONV[..CONV.len() - 1]
        } else {
            CONV
        };
        let e = cx.envelope_from("alice-phone", &p, aad, t0).0;
        let flags: &[&str] = if comment.starts_with("order") {
            &["Order"]
        } else if error.contains("Truncated") {
            &["Truncated"]
        } else if error.contains("Trailing") {
            &["TrailingBytes"]
        } else {
            &["Bound"]
        };
        recv(
            &mut g,
            &format!("distribution payload: {comment}"),
            flags,
            e,
            NOW,
            error,
            dir,
            "bob-phone",
            &empty,
        );
    }
    // A distribution from a device not on the sender's verified list.
    let ghost = cx.w.dev("alice-ghost");
    let gs = Sess {
        sender: "alice-ghost",
        cert: ghost.cert.clone(),
        ed_seed: ghost.device.ed_seed,
        ..s1.clone()
    };
    let e = cx.envelope(&gs, 0, t0);
    recv(&mut g, "a distribution from alice-ghost (certified by alice, not on alice's list): open refuses it", &["Forgery"], e, NOW, "OpenError::SenderNotOnTrustedList", dir, "bob-phone", &empty);
    recv(
        &mut g,
        "the distribution with no list of alice in the directory: open refuses it",
        &[],
        d1.clone(),
        NOW,
        "OpenError::SenderListUnavailable",
        &["bob"],
        "bob-phone",
        &empty,
    );
    // The store's caps (store step 10): tombstone-only slots of alice's account.
    let init = tombstones(cx, &bob, 512, NOW - 1000);
    decrypt_case(&mut g, "512 tombstone-only slots of alice's account (MAX_SLOTS_PER_ACCOUNT), a distribution needing a new slot: TooManySessions", &["Bound"], "bob-phone", dir, Some(&init.encode()),
        &[Step::Receive(d1.clone(), NOW, Err("SessionError::TooManySessions".into()), s1.id())], &init);
    let aged = tombstones(cx, &bob, 512, NOW - MAX_AGE - SKEW - 1);
    let mut after = base(&s1, &bob);
    after.forgotten = Some(NOW - MAX_AGE - SKEW - 1);
    decrypt_case(&mut g, "512 tombstone-only slots whose floors aged out (floor + MAX_SESSION_AGE_MS + skew < now): they do not count against the cap, the new session is taken, and they are forgotten (the forgotten floor becomes their floor)", &["Bound", "Valid"], "bob-phone", dir, Some(&aged.encode()),
        &[ok_new(d1.clone(), NOW, &s1)], &after);

    // Store step 6: a session from the future (receiver's clock).
    let future = dist_env(cx, &|d| d.created_at = NOW + SKEW + 1, CONV, NOW + SKEW + 1);
    recv(&mut g, "created-at MAX_SESSION_CLOCK_SKEW_MS + 1 ms after the receiver's now (the envelope's timestamp as late, so step 5 passes): FromTheFuture", &["Bound"], future, NOW, "SessionError::FromTheFuture", dir, "bob-phone", &empty);
    let both = dist_env(cx, &|d| d.created_at = NOW + SKEW + 1, CONV, NOW);
    recv(&mut g, "order: created-at after both the envelope's timestamp and the receiver's now, each by more than the skew: SessionExpired (step 5) before FromTheFuture (step 6)", &["Order"], both, NOW, "SessionError::SessionExpired", dir, "bob-phone", &empty);

    // Store step 8: the forgotten floor.
    let slot_key = s1.inbound(&bob, 0).slot_key();
    let mut forgot = Store::new(&bob);
    forgot.forgotten = Some(t0);
    decrypt_case(&mut g, "the store's forgotten floor equals the session's created-at (a tombstone forgotten while the clock ran ahead): StaleDistribution", &["Bound"], "bob-phone", dir, Some(&forgot.encode()),
        &[Step::Receive(d1.clone(), NOW, Err("SessionError::StaleDistribution".into()), s1.id())], &forgot);
    let mut below = Store::new(&bob);
    below.forgotten = Some(t0 - 1);
    let mut taken = base(&s1, &bob);
    taken.forgotten = Some(t0 - 1);
    decrypt_case(
        &mut g,
        "the forgotten floor 1 ms below the session's created-at: the session is taken",
        &["Bound", "Valid"],
        "bob-phone",
        dir,
        Some(&below.encode()),
        &[ok_new(d1.clone(), NOW, &s1)],
        &taken,
    );

    // Store step 8: a slot whose floor a conflicting distribution raised.
    let mut poisoned = Store::new(&bob);
    poisoned
        .slots
        .push((slot_key.clone(), Some(t0 - 1), Vec::new()));
    poisoned.conflicts.push(slot_key.clone());
    decrypt_case(&mut g, "the slot's floor (below the created-at) was raised by a conflicting distribution and has not aged out: StaleDistribution for any new session of that sender device and conversation", &["Bound"], "bob-phone", dir, Some(&poisoned.encode()),
        &[Step::Receive(d1.clone(), NOW, Err("SessionError::StaleDistribution".into()), s1.id())], &poisoned);
    let old_floor = NOW - MAX_AGE - SKEW - 1;
    let mut aged_conflict = Store::new(&bob);
    aged_conflict
        .slots
        .push((slot_key.clone(), Some(old_floor), Vec::new()));
    aged_conflict.conflicts.push(slot_key);
    let mut after = base(&s1, &bob);
    after.forgotten = Some(old_floor);
    decrypt_case(&mut g, "a conflict floor that aged out: the session is taken; the tombstone-only slot is forgotten at the commit (the forgotten floor becomes its floor) and the slot is made anew without a floor", &["Bound", "Valid"], "bob-phone", dir, Some(&aged_conflict.encode()),
        &[ok_new(d1.clone(), NOW, &s1)], &after);
    f.push(g);
}

trait CloneSteps {
    fn clone_steps(&self) -> Vec<Step>;
}

impl CloneSteps for Vec<Step> {
    fn clone_steps(&self) -> Vec<Step> {
        self.iter()
            .map(|s| match s {
                Step::Receive(e, n, r, id) => Step::Receive(e.clone(), *n, r.clone(), *id),
                Step::Decrypt(m, n, r) => Step::Decrypt(m.clone(), *n, r.clone()),
                Step::DecryptIn(m, n, r, d) => Step::DecryptIn(m.clone(), *n, r.clone(), d),
                Step::Drop(id) => Step::Drop(*id),
            })
            .collect()
    }
}

/// A store of `n` tombstone-only slots of alice-phone (random conversation
/// digests), each with the floor given.
fn tombstones(cx: &mut Ctx, owner: &[u8], n: usize, floor: u64) -> Store {
    let phone = cx.w.dev("alice-phone").cert.clone();
    let mut st = Store::new(owner);
    for _ in 0..n {
        let mut key = phone[4..52].to_vec();
        key.extend_from_slice(&cx.r32());
        st.slots.push((key, Some(floor), Vec::new()));
    }
    st.slots.sort_by(|a, b| a.0.cmp(&b.0));
    st
}

// ------------------------------------------------------------ SessionImport

#[allow(clippy::too_many_lines)]
fn session_import(f: &mut VectorFile, cx: &mut Ctx) {
    let mut g = Group::new(
        "SessionImport",
        "OutboundSession::import (0x23), InboundSession::import (0x24), InboundSessions::import (0x25), SPEC.md §15.7–15.8, checks in order",
    );
    let bob = cx.w.dev("bob-phone").cert.clone();
    let phone = cx.w.dev("alice-phone").cert.clone();
    let s = cx.session(
        "alice-phone",
        NOW - 5000,
        DEFAULT_MAX_MESSAGES,
        DEFAULT_MAX_AGE,
    );
    let mut keys: Vec<[u8; 16]> =
        cx.w.targets(&[0, 1])
            .iter()
            .map(|d| craft::certificate_key_id(&d.cert))
            .collect();
    keys.sort();
    let out = OutboundExport {
        suite: 1,
        session_id: s.id(),
        owner_ed25519: phone[84..116].try_into().unwrap(),
        next_index: 7,
        chain_key: s.ck(7),
        created_at: s.created,
        max_messages: s.max_messages,
        max_age_ms: s.max_age,
        removed: 0,
        recipients: keys.clone(),
        conversation: CONV.to_vec(),
        seed: s.seed,
    };
    let imp = |g: &mut Group,
               kind: &str,
               owner: &str,
               bytes: Vec<u8>,
               comment: &str,
               flags: &[&str],
               error: Option<(&str, Option<&str>, Option<&str>)>| {
        let mut v = json!({"kind": kind, "owner": owner, "export": hx(&bytes)});
        match error {
            None => g.valid(comment, flags, v),
            Some((e, field, what)) => {
                if let Some(x) = field {
                    v["errorField"] = json!(x);
                }
                if let Some(x) = what {
                    v["errorWhat"] = json!(x);
                }
                g.invalid(comment, flags, e, v);
            }
        }
    };
    let dec = |k: &str| format!("SessionError::Decode(DecodeError::{k})");
    imp(&mut g, "outbound", "alice-phone", out.encode(), "an outbound session at index 7 with three recipients (import, then export: the same bytes)", &["Valid"], None);
    let mut hyb = out.clone();
    hyb.suite = 2;
    hyb.removed = 1;
    imp(
        &mut g,
        "outbound",
        "alice-phone",
        hyb.encode(),
        "suite 0x0002 (distributed hybrid) and the removed flag",
        &["Valid"],
        None,
    );
    let o = |f: &dyn Fn(&mut OutboundExport)| {
        let mut e = out.clone();
        f(&mut e);
        e.encode()
    };
    let k = dec("Inconsistent");
    let cases: Vec<ImportCase<'_>> = vec![
        (out.encode(), "bob-phone", "another device's export (owner key is alice-phone's)", "SessionError::WrongDevice".into(), None, None, &[]),
        (o(&|e| e.max_messages = 0), "bob-phone", "order: another owner and a policy out of bounds: WrongDevice (checked before any secret is read)", "SessionError::WrongDevice".into(), None, None, &["Order"]),
        (o(&|e| e.suite = 3), "alice-phone", "suite 0x0003", dec("UnsupportedSuite"), None, None, &["Grease"]),
        (o(&|e| e.max_age_ms = MAX_AGE + 1), "alice-phone", "max_age_ms above MAX_SESSION_AGE_MS", k.clone(), None, Some("rotation policy"), &["Bound"]),
        (o(&|e| e.removed = 2), "alice-phone", "removed flag 2", dec("NonCanonical"), None, Some("removed flag"), &[]),
        (o(&|e| { e.removed = 2; e.max_messages = 1001; }), "alice-phone", "order: policy out of bounds and removed flag 2: the policy first", k.clone(), None, Some("rotation policy"), &["Order"]),
        (o(&|e| e.recipients.swap(0, 1)), "alice-phone", "recipients not ascending", dec("NonCanonical"), None, Some("recipients order"), &[]),
        (o(&|e| e.recipients[1] = e.recipients[0]), "alice-phone", "a recipient twice", dec("NonCanonical"), None, Some("recipients order"), &[]),
        (craft::with_state_check({ let mut b = out.body(); b[109..111].copy_from_slice(&1025u16.to_be_bytes()); b }), "alice-phone", "recipient count 1025", dec("OutOfRange"), Some("recipient count"), None, &["Bound"]),
        (craft::with_state_check({ let mut b = out.body(); b[109..111].copy_from_slice(&1024u16.to_be_bytes()); b }), "alice-phone", "recipient count 1024 (allowed) with 3 key ids", dec("Truncated"), Some("recipients"), None, &["Truncated"]),
        (craft::with_state_check({ let mut b = out.body(); let at = 111 + 48; b[at..at + 4].copy_from_slice(&65_537u32.to_be_bytes()); b }), "alice-phone", "conversation id length 65,537", dec("OutOfRange"), Some("conversation id"), None, &["Bound"]),
        ({ let b = out.encode(); b[..b.len() - 40].to_vec() }, "alice-phone", "cut inside the session seed", dec("Truncated"), Some("session seed"), None, &["Truncated"]),
        ({ let b = out.encode(); b[..b.len() - 1].to_vec() }, "alice-phone", "cut inside the state check", dec("Truncated"), Some("state check"), None, &["Truncated"]),
        ({ let mut b = out.encode(); b[60] ^= 1; b }, "alice-phone", "a chain key byte changed: the state check fails", k.clone(), None, Some("state check"), &["Corrupted"]),
        ({ let mut b = out.encode(); b.push(0); b }, "alice-phone", "a byte after the state check", dec("TrailingBytes"), None, None, &["TrailingBytes"]),
        ({ let mut b = out.encode(); b[1] = 0x24; b }, "alice-phone", "object type 0x24", dec("WrongObjectType"), None, None, &["Grease"]),
        ({ let mut b = out.encode(); b[0] = 3; b }, "alice-phone", "wire version 0x03", dec("UnsupportedVersion"), None, None, &["Grease"]),
    ];
    for (b, owner, comment, e, field, what, flags) in cases {
        imp(
            &mut g,
            "outbound",
            owner,
            b,
            &format!("0x23: {comment}"),
            flags,
            Some((&e, field, what)),
        );
    }
    // Inbound (0x24).
    let mut inb = s.inbound(&bob, 2);
    accept(&mut inb, 5);
    let i = |f: &dyn Fn(&mut InboundExport)| {
        let mut e = inb.clone();
        f(&mut e);
        e.encode()
    };
    imp(
        &mut g,
        "inbound",
        "bob-phone",
        inb.encode(),
        "an inbound session, first index 2, next 6, skipped keys 2, 3, 4",
        &["Valid"],
        None,
    );
    let conv_at = 292;
    let first_at = conv_at + CONV.len();
    let cases: Vec<ImportCase<'_>> = vec![
        (inb.encode(), "alice-laptop", "another device's export", "SessionError::WrongDevice".into(), None, None, &[]),
        (i(&|e| { e.sender_certificate[199] ^= 1; }), "bob-phone", "the sender certificate's signature changed", k.clone(), None, Some("sender certificate"), &["Corrupted"]),
        (i(&|e| { e.sender_certificate[199] ^= 1; e.max_messages = 0; }), "alice-laptop", "order: another owner and a bad sender certificate: WrongDevice", "SessionError::WrongDevice".into(), None, None, &["Order"]),
        (i(&|e| e.max_messages = 1001), "bob-phone", "max_messages 1001", k.clone(), None, Some("rotation policy"), &["Bound"]),
        (i(&|e| { e.first_index = 7; e.skipped.clear(); }), "bob-phone", "first index 7 above next index 6", k.clone(), None, Some("first index above next index"), &[]),
        (i(&|e| e.skipped.swap(0, 1)), "bob-phone", "skipped keys not ascending", dec("NonCanonical"), None, Some("skipped keys order"), &[]),
        (i(&|e| e.skipped[0].0 = 1), "bob-phone", "a skipped key below the first index", k.clone(), None, Some("skipped key below first index"), &[]),
        (i(&|e| e.skipped[2].0 = 6), "bob-phone", "a skipped key at the next index", k.clone(), None, Some("skipped key not below next index"), &[]),
        (i(&|e| { e.skipped[0].0 = 1; e.skipped[2].0 = 3; }), "bob-phone", "order: a key below the first index (entry 1) and keys out of order (entry 3): the first entry's fault", k.clone(), None, Some("skipped key below first index"), &["Order"]),
        (i(&|e| e.skipped[2].0 = u32::MAX), "bob-phone", "a skipped index 2^32 - 1", dec("OutOfRange"), Some("skipped index"), None, &["Bound"]),
        (craft::with_state_check({ let mut b = inb.body(); let at = first_at + 4 + 4 + 32; b[at..at + 2].copy_from_slice(&2001u16.to_be_bytes()); b }), "bob-phone", "skipped count 2001", dec("OutOfRange"), Some("skipped count"), None, &["Bound"]),
        (craft::with_state_check({ let mut b = inb.body(); let at = first_at + 4 + 4 + 32; b[at..at + 2].copy_from_slice(&2000u16.to_be_bytes()); b }), "bob-phone", "skipped count 2000 (allowed) with 3 entries", dec("Truncated"), Some("skipped keys"), None, &["Truncated"]),
        (craft::with_state_check({ let mut b = inb.body(); b[288..292].copy_from_slice(&65_537u32.to_be_bytes()); b }), "bob-phone", "conversation id length 65,537", dec("OutOfRange"), Some("conversation id"), None, &["Bound"]),
        ({ let mut b = inb.encode(); b[first_at + 10] ^= 1; b }, "bob-phone", "a chain key byte changed: the state check fails", k.clone(), None, Some("state check"), &["Corrupted"]),
        ({ let mut b = inb.encode(); b.push(0); b }, "bob-phone", "a byte after the state check", dec("TrailingBytes"), None, None, &["TrailingBytes"]),
        (i(&|e| e.suite = 0x0a0a), "bob-phone", "suite 0x0a0a", dec("UnsupportedSuite"), None, None, &["Grease"]),
    ];
    for (b, owner, comment, e, field, what, flags) in cases {
        imp(
            &mut g,
            "inbound",
            owner,
            b,
            &format!("0x24: {comment}"),
            flags,
            Some((&e, field, what)),
        );
    }
    // Store (0x25).
    let s2 = cx.session(
        "alice-phone",
        NOW - 4000,
        DEFAULT_MAX_MESSAGES,
        DEFAULT_MAX_AGE,
    );
    let mut st = Store::new(&bob);
    st.add(s.inbound(&bob, 0));
    st.add(s2.inbound(&bob, 0));
    let s3 = cx.session(
        "alice-laptop",
        NOW - 3000,
        DEFAULT_MAX_MESSAGES,
        DEFAULT_MAX_AGE,
    );
    st.add(s3.inbound(&bob, 0));
    let s4 = cx.session(
        "alice-laptop",
        NOW - 2000,
        DEFAULT_MAX_MESSAGES,
        DEFAULT_MAX_AGE,
    );
    st.add(s4.inbound(&bob, 0));
    st.drop_session(&s4.id());
    imp(&mut g, "store", "bob-phone", st.encode(), "a store with two slots: alice-phone's two sessions, alice-laptop's one session and its floor", &["Valid"], None);
    let mut tomb = Store::new(&bob);
    tomb.add(s3.inbound(&bob, 0));
    tomb.drop_session(&s3.id());
    imp(
        &mut g,
        "store",
        "bob-phone",
        tomb.encode(),
        "a tombstone-only slot (no session, a floor)",
        &["Valid"],
        None,
    );
    let mut conflicted = Store::new(&bob);
    conflicted.add(s3.inbound(&bob, 0));
    conflicted.conflict_drop(&s3.id());
    conflicted.forgotten = Some(NOW - MAX_AGE - SKEW - 1);
    imp(
        &mut g,
        "store",
        "bob-phone",
        conflicted.encode(),
        "a slot whose floor a conflicting distribution raised (floor flag 2), and a forgotten floor",
        &["Valid"],
        None,
    );
    for (flag, value, comment) in [
        (2u8, 5u64, "forgotten floor flag 2"),
        (0, 5, "a non-zero forgotten floor without the flag"),
    ] {
        let mut b = tomb.encode();
        b.truncate(b.len() - 32);
        b[52] = flag;
        b[53..61].copy_from_slice(&value.to_be_bytes());
        imp(
            &mut g,
            "store",
            "bob-phone",
            craft::with_state_check(b),
            comment,
            &[],
            Some((
                "SessionError::Decode(DecodeError::NonCanonical)",
                None,
                Some("forgotten floor flag"),
            )),
        );
    }
    let slots = |st: &Store| -> Vec<StoreSlot> {
        st.slots
            .iter()
            .map(|(k, fl, ss)| StoreSlot {
                key: k.clone(),
                floor_flag: u8::from(fl.is_some()),
                floor: fl.unwrap_or(0),
                sessions: ss.iter().map(InboundExport::encode).collect(),
            })
            .collect()
    };
    let enc = |sl: &[StoreSlot]| {
        craft::with_state_check(craft::store_body(
            bob[4..36].try_into().unwrap(),
            bob[36..52].try_into().unwrap(),
            None,
            sl,
        ))
    };
    let base = slots(&st);
    let mk = |f: &dyn Fn(&mut Vec<StoreSlot>)| {
        let mut sl = base.clone();
        f(&mut sl);
        enc(&sl)
    };
    let cases: Vec<ImportCase<'_>> = vec![
        (
            st.encode(),
            "alice-laptop",
            "another device's store",
            "SessionError::WrongDevice".into(),
            None,
            None,
            &[],
        ),
        (
            mk(&|s| s.swap(0, 1)),
            "bob-phone",
            "slots not ascending",
            dec("NonCanonical"),
            None,
            Some("slots order"),
            &[],
        ),
        (
            mk(&|s| {
                let x = s[0].clone();
                s.insert(1, x);
            }),
            "bob-phone",
            "a slot twice",
            dec("NonCanonical"),
            None,
            Some("slots order"),
            &[],
        ),
        (
            mk(&|s| s[0].floor_flag = 3),
            "bob-phone",
            "floor flag 3",
            dec("NonCanonical"),
            None,
            Some("floor flag"),
            &[],
        ),
        (
            mk(&|s| {
                let j = s.iter().position(|x| x.floor_flag == 0).unwrap();
                s[j].floor = 5;
            }),
            "bob-phone",
            "a non-zero floor without the flag",
            dec("NonCanonical"),
            None,
            Some("floor flag"),
            &[],
        ),
        (
            mk(&|s| {
                let j = s.iter().position(|x| x.floor_flag == 1).unwrap();
                s[j].sessions.clear();
                s[j].floor_flag = 0;
                s[j].floor = 0;
            }),
            "bob-phone",
            "a slot with no session and no floor",
            dec("NonCanonical"),
            None,
            Some("empty slot"),
            &[],
        ),
        (
            mk(&|s| {
                let j = s.iter().position(|x| x.sessions.len() == 2).unwrap();
                let x = s[j].sessions[0].clone();
                s[j].sessions.push(x);
            }),
            "bob-phone",
            "session count 3",
            dec("OutOfRange"),
            Some("session count"),
            None,
            &["Bound"],
        ),
        (
            mk(&|s| {
                let j = s.iter().position(|x| x.sessions.len() == 2).unwrap();
                s[j].sessions.swap(0, 1);
            }),
            "bob-phone",
            "sessions not ascending by (created at, id)",
            dec("NonCanonical"),
            None,
            Some("sessions order"),
            &[],
        ),
        (
            mk(&|s| {
                let j = s.iter().position(|x| x.sessions.len() == 2).unwrap();
                let o = 1 - j;
                let x = s[j].sessions.pop().unwrap();
                s[o].sessions.push(x);
            }),
            "bob-phone",
            "a session of alice-phone in alice-laptop's slot",
            k.clone(),
            None,
            Some("session slot"),
            &[],
        ),
        (
            mk(&|s| {
                let j = s.iter().position(|x| x.sessions.len() == 2).unwrap();
                s[j].sessions[1][300 + CONV.len() + 5] ^= 1;
            }),
            "bob-phone",
            "a held session's own export corrupted (its state check)",
            k.clone(),
            None,
            Some("state check"),
            &["Corrupted"],
        ),
        (
            mk(&|s| {
                let j = s.iter().position(|x| x.sessions.len() == 2).unwrap();
                s[j].sessions[1][3] = 9;
            }),
            "bob-phone",
            "a held session's export with suite 0x0009",
            dec("UnsupportedSuite"),
            None,
            None,
            &["Grease"],
        ),
        (
            {
                let mut b = st.encode();
                let n = b.len();
                b[n - 1] ^= 1;
                b
            },
            "bob-phone",
            "the store's state check changed",
            k.clone(),
            None,
            Some("state check"),
            &["Corrupted"],
        ),
        (
            {
                let mut b = st.encode();
                b.push(0);
                b
            },
            "bob-phone",
            "a byte after the state check",
            dec("TrailingBytes"),
            None,
            None,
            &["TrailingBytes"],
        ),
        (
            craft::with_state_check({
                let mut b = craft::store_body(
                    bob[4..36].try_into().unwrap(),
                    bob[36..52].try_into().unwrap(),
                    None,
                    &[],
                );
                b[61..63].copy_from_slice(&16_385u16.to_be_bytes());
                b
            }),
            "bob-phone",
            "slot count 16,385 (MAX_SLOTS + 1)",
            dec("OutOfRange"),
            Some("slot count"),
            None,
            &["Bound"],
        ),
        (
            {
                let mut b = st.encode();
                b[3] = 2;
                b
            },
            "bob-phone",
            "suite 0x0002 (a store has suite 0x0001 only)",
            dec("UnsupportedSuite"),
            None,
            None,
            &["Grease"],
        ),
    ];
    for (b, owner, comment, e, field, what, flags) in cases {
        imp(
            &mut g,
            "store",
            owner,
            b,
            &format!("0x25: {comment}"),
            flags,
            Some((&e, field, what)),
        );
    }
    let caps = tombstones(cx, &bob, 513, NOW - 1000).encode();
    imp(&mut g, "store", "bob-phone", caps, "0x25: 513 slots of one account (above MAX_SLOTS_PER_ACCOUNT): the caps, checked after the state check", &["Bound"], Some(("SessionError::Decode(DecodeError::Inconsistent)", None, Some("session caps"))));
    f.push(g);
}
