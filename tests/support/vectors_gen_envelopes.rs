//! envelopes.json: seal output byte for byte, per-device deliveries, open
//! results for every device, replay, seal misuse, and every attack on the
//! envelope.

use serde_json::{json, Value};

use super::craft::{self, offset, Cert, CraftEnvelope, CraftRecipient, List};
use super::identity::{low_order_x25519, non_canonical_x25519, Account, Device};
use super::{bytes, file_rng, hx, padme, Group, VectorFile, NOW, YEAR};

/// Padding policy (SPEC.md §4.7).
#[derive(Clone, Copy)]
enum Pad {
    Padme,
    None,
    Bucket(u64),
}

impl Pad {
    fn padded(self, len: usize) -> usize {
        let len = len as u64;
        let p = match self {
            Pad::Padme => padme(len),
            Pad::None => len,
            Pad::Bucket(b) => len.div_ceil(b) * b,
        };
        usize::try_from(p).unwrap()
    }

    fn json(self) -> Value {
        match self {
            Pad::Padme => json!({"type": "padme"}),
            Pad::None => json!({"type": "none"}),
            Pad::Bucket(b) => json!({"type": "bucket", "bucketSize": b}),
        }
    }
}

/// sender, recipient accounts, payload, aad, padding, comment, flags.
type SealInput<'a> = (
    &'a str,
    &'a [&'a str],
    &'a [u8],
    &'a [u8],
    Pad,
    &'a str,
    Vec<&'a str>,
);

struct Ident {
    name: &'static str,
    account: &'static str,
    device: Device,
    cert: Cert,
    cert_bytes: Vec<u8>,
    on_list: bool,
    /// An attacker's certificate of another device's public keys: listed on
    /// the attacker's list, but not a device of `identities` (no secret).
    public_only: bool,
}

impl Ident {
    /// The key id of this certificate (account and X25519 key, SPEC.md §3.2).
    fn key_id(&self) -> [u8; 16] {
        craft::certificate_key_id(&self.cert_bytes)
    }

    /// The recipient binding of this certificate (SPEC.md §4.5).
    fn binding(&self) -> [u8; 32] {
        craft::certificate_binding(&self.cert_bytes)
    }
}

struct World {
    accounts: Vec<(&'static str, Account, Vec<u8>)>,
    devices: Vec<Ident>,
}

impl World {
    fn new(rng: &mut rand_chacha::ChaCha20Rng) -> Self {
        // (account, device, expiry, on the account's list)
        let plan: [(&str, &str, Option<u64>, bool); 10] = [
            ("alice", "alice-phone", Some(NOW + YEAR), true),
            ("alice", "alice-laptop", Some(NOW + YEAR), true),
            ("alice", "alice-watch", Some(NOW - 1), true),
            ("alice", "alice-ghost", Some(NOW + YEAR), false),
            ("bob", "bob-phone", None, true),
            ("bob", "bob-tablet", None, true),
            ("bob", "bob-desktop", Some(NOW + 2 * YEAR), true),
            ("carol", "carol-phone", None, true),
            ("mallory", "mallory-phone", None, true),
            ("mallory", "mallory-laptop", None, true),
        ];
        let mut accounts: Vec<(&'static str, Account, Vec<u8>)> = Vec::new();
        for name in ["alice", "bob", "carol", "mallory", "eve", "trudy", "oscar"] {
            accounts.push((name, Account::new(rng), Vec::new()));
        }
        let mut devices = Vec::new();
        for (acct, name, expiry, on_list) in plan {
            let account = accounts.iter().find(|a| a.0 == acct).unwrap().1;
            let device = Device::new(rng);
            let cert = device.cert(&account, expiry);
            let cert_bytes = cert.signed(&account.seed);
            devices.push(Ident {
                name,
                account: acct,
                device,
                cert,
                cert_bytes,
                on_list,
                public_only: false,
            });
        }
        // alice-phone re-certified by Alice (same keys and device id, another
        // expiry: a renewal) but not on Alice's list: seal refuses it as a
        // sender; as a receiver it has the key id and recipient binding of
        // the listed certificate (SPEC.md §3.2, §4.5), so it opens wraps made
        // for that one.
        {
            let phone: &Ident = devices
                .iter()
                .find(|d: &&Ident| d.name == "alice-phone")
                .unwrap();
            let alice = accounts[0].1;
            let device = phone.device;
            let cert = device.cert(&alice, Some(NOW + 2 * YEAR));
            let cert_bytes = cert.signed(&alice.seed);
            devices.push(Ident {
                name: "alice-phone-recertified",
                account: "alice",
                device,
                cert,
                cert_bytes,
                on_list: false,
                public_only: false,
            });
        }
        // Unknown key share (SPEC.md §4.5, P15): accounts certifying public
        // keys of devices they do not own (each gets its own key id, as key
        // ids include the account, SPEC.md §3.2). Eve copies bob-phone's keys
        // exactly; Trudy certifies bob-phone's X25519 key plus a point of
        // order 8 (another valid key, other bytes); Oscar copies
        // carol-phone's keys.
        let copies: [(&str, &str, &str, bool); 3] = [
            ("eve", "eve-copy-of-bob-phone", "bob-phone", false),
            ("trudy", "trudy-torsion-of-bob-phone", "bob-phone", true),
            ("oscar", "oscar-copy-of-carol-phone", "carol-phone", false),
        ];
        for (acct, name, victim, torsion) in copies {
            let account = accounts.iter().find(|a| a.0 == acct).unwrap().1;
            let victim: &Ident = devices.iter().find(|d: &&Ident| d.name == victim).unwrap();
            let mut device = victim.device;
            if torsion {
                device.x25519 = torsion_variant(&victim.device.x25519_secret(), &device.x25519);
            }
            device.device_id = bytes(rng);
            let cert = device.cert(&account, None);
            let cert_bytes = cert.signed(&account.seed);
            devices.push(Ident {
                name,
                account: acct,
                device,
                cert,
                cert_bytes,
                on_list: true,
                public_only: true,
            });
        }
        for (name, account, list) in accounts.iter_mut() {
            let mut certs: Vec<&Ident> = devices
                .iter()
                .filter(|d| d.account == *name && d.on_list)
                .collect();
            certs.sort_by_key(|d| d.cert.device_id);
            *list = List {
                suite: 1,
                account: account.public,
                version: 1,
                previous_hash: [0; 32],
                issued_at: NOW - YEAR,
                certificates: certs.iter().map(|d| d.cert_bytes.clone()).collect(),
            }
            .signed(&account.seed);
        }
        World { accounts, devices }
    }

    fn dev(&self, name: &str) -> &Ident {
        self.devices.iter().find(|d| d.name == name).unwrap()
    }

    fn account(&self, name: &str) -> &Account {
        &self.accounts.iter().find(|a| a.0 == name).unwrap().1
    }

    fn identities(&self) -> Value {
        json!({
            "accounts": self.accounts.iter().map(|(name, a, list)| json!({
                "name": name,
                "publicKey": hx(&a.public),
                "deviceList": hx(list),
            })).collect::<Vec<_>>(),
            "devices": self.devices.iter().filter(|d| !d.public_only).map(|d| json!({
                "name": d.name,
                "account": d.account,
                "secret": hx(&d.device.secret),
                "certificate": hx(&d.cert_bytes),
                "keyId": hx(&d.key_id()),
                "deviceId": hx(&d.device.device_id),
                "onList": d.on_list,
            })).collect::<Vec<_>>(),
        })
    }

    /// The devices seal wraps for: active devices of the listed accounts
    /// (on the list, not expired at `now`), by key id.
    fn targets(&self, lists: &[&str], now: u64) -> Vec<&Ident> {
        let mut t: Vec<&Ident> = self
            .devices
            .iter()
            .filter(|d| lists.contains(&d.account) && d.on_list)
            .filter(|d| d.cert.expiry().is_none_or(|t| t > now))
            .collect();
        // The sending device is a recipient too when its own list is passed
        // (SPEC.md §5.1): leaving it out would tell the relay who sent. It is
        // on its own list (seal checks that), so nothing is filtered here.
        t.sort_by_key(|d| d.key_id());
        t
    }

    /// What `seal` builds from these inputs and randomness.
    #[allow(clippy::too_many_arguments)]
    fn honest(
        &self,
        sender: &str,
        lists: &[&str],
        payload: &[u8],
        aad: &[u8],
        pad: Pad,
        now: u64,
        randomness: &[u8; 80],
    ) -> CraftEnvelope {
        let s = self.dev(sender);
        let message_secret: [u8; 32] = randomness[16..48].try_into().unwrap();
        let unpadded = s.cert_bytes.len() + 8 + 4 + aad.len() + 4 + payload.len() + 64;
        CraftEnvelope {
            version: 2,
            object_type: 3,
            suite: 1,
            message_id: randomness[..16].try_into().unwrap(),
            timestamp: now,
            ephemeral_secret: randomness[48..].try_into().unwrap(),
            ephemeral_public_override: None,
            message_secret,
            recipients: self
                .targets(lists, now)
                .iter()
                .map(|d| CraftRecipient {
                    key_id: d.key_id(),
                    x25519: d.device.x25519,
                    wrapped_secret: message_secret,
                    dh_override: None,
                    recipient_binding: d.binding(),
                })
                .collect(),
            certificate: s.cert_bytes.clone(),
            aad: aad.to_vec(),
            payload: payload.to_vec(),
            payload_len_field: None,
            signer_seed: s.device.ed_seed,
            padded_len: pad.padded(unpadded),
            padding_byte: 0,
            small_order_r: false,
        }
    }
}

/// `victim` (the X25519 public key of `secret`) plus a point of order 8:
/// a canonical key of large order with other bytes, which a clamped scalar
/// (a multiple of 8) maps to the same shared secrets. Computed once with
/// curve25519-dalek (`MontgomeryPoint::to_edwards(0)` + the order-8 Edwards
/// point `26e8958f…fc05`, `.to_montgomery()`) and checked here with X25519
/// alone: equal DH outputs for the victim's own clamped secret and for
/// another clamped scalar, other bytes, canonical, not of low order.
fn torsion_variant(secret: &[u8; 32], victim: &[u8; 32]) -> [u8; 32] {
    let t: [u8; 32] = hex::decode(TORSION_OF_BOB_PHONE)
        .unwrap()
        .try_into()
        .unwrap();
    assert_ne!(&t, victim);
    assert!(t[31] & 0x80 == 0, "canonical (top bit clear)");
    let other = craft::sha256(&[b"another scalar"]);
    for k in [secret, &other] {
        let dh = craft::x25519(k, &t);
        assert_eq!(dh, craft::x25519(k, victim), "not a torsion variant");
        assert_ne!(dh, [0u8; 32], "low order");
    }
    t
}

/// See [`torsion_variant`].
const TORSION_OF_BOB_PHONE: &str =
    "e1e4a7f8e4ab03f7fd09cdd97a5bd6d2cf0b5241984092d0a1c639863e403922";

/// The delivery of recipient `i` of an encoded envelope with `n` recipients.
fn delivery(env: &[u8], n: usize, i: usize) -> Vec<u8> {
    let mut d = vec![2u8, 4];
    d.extend_from_slice(&env[2..offset::wraps(n)]);
    let w = offset::wraps(n) + 48 * i;
    d.extend_from_slice(&env[w..w + 48]);
    d.extend_from_slice(&env[offset::body(n)..]);
    d
}

/// Intermediate values of an honest envelope, for implementers to debug
/// against (SPEC.md §4.3–4.7).
fn intermediate(e: &CraftEnvelope, enc: &[u8]) -> Value {
    let context_hash = e.context_hash();
    let commitment: [u8; 32] = enc[offset::COMMITMENT..offset::RECIPIENT_COUNT]
        .try_into()
        .unwrap();
    let header_hash = craft::sha256(&[
        &craft::lp(craft::label::ENVELOPE_HEADER),
        &context_hash,
        &commitment,
    ]);
    assert_eq!(craft::header_hashes(enc), Some((context_hash, header_hash)));
    let (c, body_key, body_nonce) = craft::message_keys(&e.message_secret, &context_hash);
    assert_eq!(c, commitment);
    let n = e.recipients.len();
    let body_plaintext = craft::aes_gcm_open(
        &body_key,
        &body_nonce,
        &header_hash,
        &enc[offset::body(n)..],
    )
    .unwrap();
    let eph = e.ephemeral_public();
    let info = craft::wrap_info(&header_hash);
    let wraps: Vec<Value> = e
        .recipients
        .iter()
        .map(|r| {
            let k = craft::wrap_keys(
                &craft::x25519(&e.ephemeral_secret, &r.x25519),
                &eph,
                &r.x25519,
                &info,
            );
            json!({
                "keyId": hx(&r.key_id),
                "recipientBinding": hx(&r.recipient_binding),
                "sharedSecret": hx(&k.shared_secret),
                "key": hx(&k.key),
                "baseNonce": hx(&k.base_nonce),
            })
        })
        .collect();
    json!({
        "contextHash": hx(&context_hash),
        "headerHash": hx(&header_hash),
        "bodyKey": hx(&body_key),
        "bodyNonce": hx(&body_nonce),
        "bodyPlaintext": hx(&body_plaintext),
        "wrapInfo": hx(&info),
        "wraps": wraps,
    })
}

fn opened(world: &World, e: &CraftEnvelope, device: &str) -> Value {
    let sender = world
        .devices
        .iter()
        .find(|d| d.cert_bytes == e.certificate)
        .unwrap();
    json!({
        "device": device,
        "result": "valid",
        "payload": hx(&e.payload),
        "aad": hx(&e.aad),
        "senderAccount": hx(&world.account(sender.account).public),
        "senderDevice": hx(&sender.device.device_id),
        "messageId": hx(&e.message_id),
        "timestamp": e.timestamp,
    })
}

pub(crate) fn envelopes() -> String {
    let mut rng = file_rng("envelopes.json");
    let mut f = VectorFile::new(
        "fanseal fan-out envelope",
        json!({
            "identities": "Shared by every group. accounts: name, publicKey, deviceList (bytes; verifies for publicKey; eve, trudy and oscar certify other accounts' device keys). devices: name, account, secret (64 bytes: X25519 secret || Ed25519 seed), certificate (bytes), keyId, deviceId, onList (whether the account's deviceList holds this certificate). A directory is the set of verified device lists of the named accounts.",
            "Seal": "sender (device name), recipients (account names, in the order passed to seal; each account's verified deviceList), payload, aad, padding {type: padme | none | bucket, bucketSize}, now, randomness (the bytes seal draws, in order: messageId 16, messageSecret 32, ephemeralSecret 32) -> envelope (exact bytes), header (messageId, ephemeralPublic, commitment, recipients = key ids ascending, bodyLength), intermediate (contextHash, headerHash, bodyKey, bodyNonce, bodyPlaintext = the padded body before encryption, wrapInfo, and per recipient in key-id order the recipientBinding of its certificate on the list used (SHA-256(lp(\"fanseal v2 recipient binding\") || account || deviceId || x25519Public): the wrap's AEAD associated data) and the RFC 9180 sharedSecret, key and baseNonce of its wrap: for debugging, not needed to check the outputs), deliveries (per recipient, in key-id order: the relay's split, exact bytes); then opens: each named device opens both the envelope and its delivery (if any) with the directory at openNow, under its keyring (its secret and its own certificate) -> payload, aad, senderAccount, senderDevice, messageId, timestamp (the sender's, from the body), or the OpenError.",
            "SealError": "sender (device whose secret keys are used), senderCertificate (device whose certificate is passed), recipients, payload, aad (hex, or {fill, length}: length copies of one byte), padding, now -> the SealError of seal, the first of SPEC.md §5.1 when several apply; no randomness is drawn.",
            "Open": "device (name; opens under its keyring: its secret and certificate), message (bytes: an envelope or a delivery), directory (account names), now -> payload, aad (hex, or {fill, length}), senderAccount, senderDevice, messageId, timestamp, or the OpenError of open. Decode failures are OpenError::Decode(DecodeError::*); errorField names the field of an OutOfRange / Truncated error, expectedObjectType the expected type of WrongObjectType (0x03 for anything but an envelope or delivery).",
            "RelayDecode": "object (\"envelope\" or \"delivery\"), bytes -> recipients (key ids) and bodyLength, and the bytes re-encode identically; or the DecodeError of Envelope::from_bytes / Delivery::from_bytes (what a relay runs, with no key; expectedObjectType: the type a WrongObjectType names as expected). A valid envelope also lists its split (deliveries: keyId, delivery); a valid delivery names the envelope and keyId it was split from.",
            "Replay": "device, directory, guard {capacity, maxAccounts (absent: 1024), windowMs, maxSkewMs} (a fresh ReplayGuard::with_max_accounts(capacity, windowMs, maxSkewMs, maxAccounts)), api, steps: each opens message at now and passes it to the guard -> expect \"ok\" or the ReplayError. api \"check_opened\": ReplayGuard::check_opened(opened, now), ids kept per sender account and device id; \"check\": ReplayGuard::check(message id, timestamp, now), one anonymous namespace; \"per step\": each step names its api. The case's result is that of its last step.",
            "ReplayGuardState": "device, directory, guard (as for Replay). A case with steps runs them as a Replay case does (each names its api) on a fresh guard -> each step's expect, then ReplayGuard::to_bytes() == state exactly, and ReplayGuard::from_bytes(state) re-encodes to state. A case without steps: ReplayGuard::from_bytes(state) -> valid (and re-encodes to state exactly) or the DecodeError (errorField: the field of an OutOfRange / Truncated error).",
        }),
    );
    f.flag("Valid", "an honest envelope, opened as intended");
    f.flag("SelfSync", "the sender's own other devices are recipients");
    f.flag(
        "Padding",
        "a padding policy other than Padmé, or padding edge cases",
    );
    f.flag(
        "Expired",
        "expired certificates (skipped by seal, refused by open)",
    );
    f.flag(
        "NotARecipient",
        "a device whose key id is not in the header",
    );
    f.flag(
        "Salamander",
        "a wrap carrying a different message secret (key commitment)",
    );
    f.flag(
        "LowOrderKey",
        "a low-order X25519 ephemeral key, the attacker knowing the all-zero DH output",
    );
    f.flag("NonCanonicalKey", "an ephemeral key encoding >= p");
    f.flag(
        "Ghost",
        "a sender device not on its account's verified list",
    );
    f.flag(
        "UnknownSender",
        "no verified list for the claimed sender account in the directory",
    );
    f.flag(
        "Forgery",
        "another recipient re-encrypts a changed message under the sender's name",
    );
    f.flag(
        "RecipientStripping",
        "the relay removes a recipient from the header",
    );
    f.flag(
        "RecipientAdding",
        "the relay adds a recipient to the header",
    );
    f.flag("Tamper", "a changed byte of an otherwise honest envelope");
    f.flag(
        "Splice",
        "a wrap or delivery moved from another envelope or device",
    );
    f.flag("BadBody", "a body plaintext that is not canonical");
    f.flag("Downgrade", "an unknown or older version or suite");
    f.flag(
        "Grease",
        "an unknown version, object type or suite (reserved for future use)",
    );
    f.flag("Limit", "a count or length outside its bounds");
    f.flag("NonCanonical", "an encoding that is not the canonical one");
    f.flag("Truncated", "the input ends early");
    f.flag("TrailingBytes", "bytes after a complete object");
    f.flag(
        "Replay",
        "a message id seen before, too old, or from the future",
    );
    f.flag("Misuse", "the caller asks seal for something it cannot do");
    f.flag(
        "UnknownKeyShare",
        "an account certifies another account's device keys (exactly, or plus a point of small order)",
    );
    f.flag(
        "Renewal",
        "a device opens under a renewed certificate (same account, device id and keys; other times): same key id and recipient binding",
    );
    f.flag(
        "Order",
        "several checks fail: the first in the specified order wins",
    );
    f.flag(
        "State",
        "a persisted replay guard (SPEC.md §6.4): exact bytes after steps, or a decode failure",
    );

    let world = World::new(&mut rng);
    f.extra("identities", world.identities());
    let all = ["alice", "bob", "carol"];

    // --- seal
    let mut g = Group::new(
        "Seal",
        "seal reproduced from the listed randomness; every device opens its copy (SPEC.md §4–5).",
    );
    let long_text: Vec<u8> = (0..300u32).map(|i| b"fanseal "[(i % 8) as usize]).collect();
    let binary: Vec<u8> = (0..100u8).collect();
    let seal_cases: Vec<SealInput<'_>> = vec![
        (
            "alice-phone",
            &["bob", "alice"],
            b"lunch at noon?",
            b"conversation:alice+bob",
            Pad::Padme,
            "to Bob's devices and Alice's other active device",
            vec!["Valid", "SelfSync", "Expired"],
        ),
        (
            "alice-phone",
            &["bob"],
            b"",
            b"",
            Pad::None,
            "empty payload and aad, no padding",
            vec!["Valid", "Padding"],
        ),
        (
            "bob-tablet",
            &["alice", "bob"],
            &long_text,
            b"conversation:alice+bob",
            Pad::Bucket(256),
            "300-byte payload, 256-byte buckets",
            vec!["Valid", "SelfSync", "Padding"],
        ),
        (
            "carol-phone",
            &["carol", "alice"],
            b"hi",
            b"x",
            Pad::Padme,
            "the sender is its account's only device",
            vec!["Valid", "SelfSync"],
        ),
        (
            "bob-phone",
            &["carol"],
            &binary,
            b"\x00\x01",
            Pad::Padme,
            "a single recipient, binary payload",
            vec!["Valid"],
        ),
        (
            "alice-phone",
            &["carol", "alice"],
            b"same length",
            b"aad",
            Pad::None,
            "a sender whose certificate has an expiry: the body length only depends on the payload and AAD lengths (compare the next case)",
            vec!["Valid", "Padding"],
        ),
        (
            "bob-phone",
            &["carol", "bob"],
            b"same length",
            b"aad",
            Pad::None,
            "a sender whose certificate has no expiry: the same body length as the previous case (certificates are always 200 bytes)",
            vec!["Valid", "Padding"],
        ),
        (
            "alice-phone",
            &["eve"],
            b"for bob-phone?",
            b"",
            Pad::Padme,
            "unknown key share: Eve certified bob-phone's exact public keys; the key id names Eve's account (and the wrap binds it), so bob-phone is not a recipient",
            vec!["UnknownKeyShare"],
        ),
        (
            "alice-phone",
            &["trudy"],
            b"for bob-phone?",
            b"",
            Pad::Padme,
            "unknown key share with a torsion variant: Trudy certified bob-phone's X25519 key plus a point of order 8 (another key id, so bob-phone is not even named)",
            vec!["UnknownKeyShare"],
        ),
        (
            "alice-phone",
            &["bob", "eve"],
            b"for bob and eve",
            b"",
            Pad::Padme,
            "Bob and Eve, who certified bob-phone's exact keys: two key ids (key ids include the account), two wraps; bob-phone opens only its own (was DuplicateRecipient in the first draft of wire v2)",
            vec!["Valid", "UnknownKeyShare"],
        ),
        (
            "carol-phone",
            &["carol", "oscar"],
            b"for carol and oscar",
            b"",
            Pad::Padme,
            "Carol's list (the sender is its only device) and Oscar's, which certifies carol-phone's exact keys: Oscar's certificate has another key id, so it is a recipient other than the sender (no NoRecipients, no DuplicateRecipient); carol-phone opens only its own wrap",
            vec!["Valid", "UnknownKeyShare"],
        ),
        (
            "bob-phone",
            &["alice"],
            b"renewal",
            b"",
            Pad::Padme,
            "to Alice's list: alice-phone-recertified, a renewal of alice-phone's certificate (same keys and device id, another expiry), has the same key id and recipient binding, so it opens the wraps made for the listed certificate",
            vec!["Valid", "Renewal"],
        ),
    ];
    let mut envs: Vec<CraftEnvelope> = Vec::new();
    for (sender, lists, payload, aad, pad, comment, flags) in seal_cases {
        let randomness: [u8; 80] = bytes(&mut rng);
        let e = world.honest(sender, lists, payload, aad, pad, NOW, &randomness);
        let enc = e.encode();
        let n = e.recipients.len();
        let intermediate = intermediate(&e, &enc);
        let mut opens = Vec::new();
        for d in world.devices.iter().filter(|d| !d.public_only) {
            let named = e.recipients.iter().find(|r| r.key_id == d.key_id());
            match named {
                Some(r) if r.recipient_binding == d.binding() => {
                    opens.push(opened(&world, &e, d.name));
                }
                // Named by key id, but the wrap is bound to another
                // account's certificate of the same key (SPEC.md §4.5).
                Some(_) => opens.push(json!({"device": d.name, "result": "invalid", "error": "OpenError::Unauthenticated"})),
                None if d.account != "mallory" && d.name != "alice-ghost" && d.name != "alice-phone-recertified" => {
                    opens.push(json!({"device": d.name, "result": "invalid", "error": "OpenError::NotARecipient"}));
                }
                None => {}
            }
        }
        if lists == ["trudy"] {
            assert!(opens
                .iter()
                .any(|o| o["device"] == "bob-phone" && o["error"] == "OpenError::NotARecipient"));
        }
        if lists == ["eve"] || lists == ["bob", "eve"] {
            // Eve's copy of bob-phone's keys has another key id.
            assert_eq!(
                e.recipients
                    .iter()
                    .filter(|r| r.x25519 == world.dev("bob-phone").device.x25519)
                    .count(),
                lists.len()
            );
        }
        if lists == ["eve"] {
            assert!(opens
                .iter()
                .any(|o| o["device"] == "bob-phone" && o["error"] == "OpenError::NotARecipient"));
        }
        if lists == ["alice"] {
            assert!(opens
                .iter()
                .any(|o| o["device"] == "alice-phone-recertified" && o["result"] == "valid"));
        }
        g.valid(
            comment,
            &flags,
            json!({
                "sender": sender,
                "recipients": lists,
                "payload": hx(payload),
                "aad": hx(aad),
                "padding": pad.json(),
                "now": NOW,
                "randomness": {
                    "messageId": hx(&randomness[..16]),
                    "messageSecret": hx(&randomness[16..48]),
                    "ephemeralSecret": hx(&randomness[48..]),
                },
                "envelope": hx(&enc),
                "header": {
                    "messageId": hx(&e.message_id),
                    "ephemeralPublic": hx(&e.ephemeral_public()),
                    "commitment": hx(&enc[offset::COMMITMENT..offset::COMMITMENT + 32]),
                    "recipients": e.recipients.iter().map(|r| hx(&r.key_id)).collect::<Vec<_>>(),
                    "bodyLength": e.padded_len + 16,
                },
                "intermediate": intermediate,
                "deliveries": e.recipients.iter().enumerate().map(|(i, r)| json!({
                    "keyId": hx(&r.key_id),
                    "delivery": hx(&delivery(&enc, n, i)),
                })).collect::<Vec<_>>(),
                "directory": all,
                "openNow": NOW + 5,
                "opens": opens,
            }),
        );
        envs.push(e);
    }
    assert_eq!(envs[5].padded_len, envs[6].padded_len);
    f.push(g);

    // --- seal misuse
    let mut g = Group::new(
        "SealError",
        "Caller mistakes seal refuses before drawing randomness.",
    );
    let misuse =
        |g: &mut Group, sender: &str, cert: &str, lists: &[&str], comment: &str, error: &str| {
            g.invalid(
                comment,
                &["Misuse"],
                error,
                json!({
                    "sender": sender,
                    "senderCertificate": cert,
                    "recipients": lists,
                    "payload": hx(b"hello"),
                    "aad": hx(b""),
                    "padding": Pad::Padme.json(),
                    "now": NOW,
                }),
            );
        };
    misuse(
        &mut g,
        "alice-phone",
        "alice-laptop",
        &["bob"],
        "keys of one device, certificate of another",
        "SealError::CertificateMismatch",
    );
    misuse(
        &mut g,
        "alice-ghost",
        "alice-ghost",
        &["alice", "bob"],
        "sender missing from its own account's list",
        "SealError::SenderNotOnOwnList",
    );
    misuse(
        &mut g,
        "alice-phone-recertified",
        "alice-phone-recertified",
        &["alice", "bob"],
        "Alice's list holds another certificate of the sending device (same keys and id): not on it unchanged",
        "SealError::SenderNotOnOwnList",
    );
    misuse(
        &mut g,
        "carol-phone",
        "carol-phone",
        &["carol"],
        "the only device of the only account is the sender",
        "SealError::NoRecipients",
    );
    misuse(
        &mut g,
        "alice-phone",
        "alice-phone",
        &[],
        "no recipient lists",
        "SealError::NoRecipients",
    );
    misuse(
        &mut g,
        "alice-watch",
        "alice-watch",
        &["bob"],
        "the sending device's certificate has expired",
        "SealError::SenderCertificateExpired",
    );
    misuse(
        &mut g,
        "alice-phone",
        "alice-phone",
        &["bob", "bob"],
        "the same account twice",
        "SealError::DuplicateRecipient",
    );
    // Several refusals at once: the first in SPEC.md §5.1's order wins, and
    // nothing is drawn from the RNG. `aad` {fill, length} is `length` copies
    // of the byte `fill` (to keep the file small).
    let big_aad = json!({"fill": "61", "length": 65_537});
    let misuse2 = |g: &mut Group,
                   sender: &str,
                   cert: &str,
                   lists: &[&str],
                   payload: &[u8],
                   aad: Value,
                   pad: Pad,
                   comment: &str,
                   flags: &[&str],
                   error: &str| {
        g.invalid(
            comment,
            flags,
            error,
            json!({
                "sender": sender,
                "senderCertificate": cert,
                "recipients": lists,
                "payload": hx(payload),
                "aad": aad,
                "padding": pad.json(),
                "now": NOW,
            }),
        );
    };
    let huge_bucket = Pad::Bucket(u64::from(u32::MAX));
    misuse2(
        &mut g,
        "alice-phone",
        "alice-phone",
        &["bob"],
        b"x",
        hx(b""),
        huge_bucket,
        "a 1-byte payload in 2^32 - 1 byte buckets: the padded body would exceed MAX_BODY",
        &["Misuse", "Padding", "Limit"],
        "SealError::PaddedBodyTooLarge",
    );
    misuse2(
        &mut g,
        "alice-phone",
        "alice-phone",
        &["bob"],
        b"hello",
        big_aad.clone(),
        Pad::Padme,
        "AAD of 65,537 bytes (MAX_AAD + 1)",
        &["Misuse", "Limit"],
        "SealError::AadTooLarge",
    );
    misuse2(
        &mut g,
        "alice-phone",
        "alice-watch",
        &["bob", "bob"],
        b"hello",
        big_aad.clone(),
        huge_bucket,
        "order: keys of one device with the expired certificate of another, AAD too large, huge bucket, Bob twice: CertificateMismatch (step 1)",
        &["Misuse", "Order"],
        "SealError::CertificateMismatch",
    );
    misuse2(
        &mut g,
        "alice-watch",
        "alice-watch",
        &["bob", "bob"],
        b"hello",
        big_aad.clone(),
        huge_bucket,
        "order: expired sender, AAD too large, huge bucket, Bob twice: SenderCertificateExpired (step 2)",
        &["Misuse", "Order", "Expired"],
        "SealError::SenderCertificateExpired",
    );
    misuse2(
        &mut g,
        "alice-phone",
        "alice-phone",
        &["bob", "bob"],
        b"hello",
        big_aad.clone(),
        huge_bucket,
        "order: AAD too large, huge bucket, Bob twice: AadTooLarge (step 4)",
        &["Misuse", "Order", "Limit"],
        "SealError::AadTooLarge",
    );
    misuse2(
        &mut g,
        "alice-ghost",
        "alice-ghost",
        &["alice", "bob", "bob"],
        b"x",
        hx(b""),
        huge_bucket,
        "order: huge bucket, sender not on its own list, Bob twice: PaddedBodyTooLarge (step 5)",
        &["Misuse", "Order", "Padding", "Limit"],
        "SealError::PaddedBodyTooLarge",
    );
    misuse2(
        &mut g,
        "alice-ghost",
        "alice-ghost",
        &["bob", "bob", "alice"],
        b"hello",
        hx(b""),
        Pad::Padme,
        "order: Bob twice, then the sender's own list without it: lists are checked in the order passed (DuplicateRecipient at the second)",
        &["Misuse", "Order"],
        "SealError::DuplicateRecipient",
    );
    misuse2(
        &mut g,
        "alice-ghost",
        "alice-ghost",
        &["alice", "bob", "bob"],
        b"hello",
        hx(b""),
        Pad::Padme,
        "order: the sender's own list without it, then Bob twice: SenderNotOnOwnList at the first list",
        &["Misuse", "Order"],
        "SealError::SenderNotOnOwnList",
    );
    misuse2(
        &mut g,
        "carol-phone",
        "carol-phone",
        &["carol", "carol"],
        b"hello",
        hx(b""),
        Pad::Padme,
        "order: Carol's list twice (the sender is its only device): DuplicateRecipient (step 6) before NoRecipients (step 7)",
        &["Misuse", "Order"],
        "SealError::DuplicateRecipient",
    );
    f.push(g);

    // --- open: attacks and malformed input
    let mut g = Group::new(
        "Open",
        "Attacks on an envelope from alice-phone to Bob's three devices, and malformed encodings (SPEC.md §5.2).",
    );
    let base_rand: [u8; 80] = bytes(&mut rng);
    let base = world.honest(
        "alice-phone",
        &["bob"],
        b"attack at dawn",
        b"conversation:alice+bob",
        Pad::Padme,
        NOW,
        &base_rand,
    );
    let b = base.encode();
    let n = base.recipients.len();
    assert_eq!(n, 3);
    let idx = |name: &str| {
        let k = world.dev(name).key_id();
        base.recipients.iter().position(|r| r.key_id == k).unwrap()
    };
    let ok = |g: &mut Group,
              m: &[u8],
              e: &CraftEnvelope,
              device: &str,
              dir: &[&str],
              now: u64,
              comment: &str,
              flags: &[&str]| {
        let mut v = opened(&world, e, device);
        let o = v.as_object_mut().unwrap();
        o.remove("result");
        o.insert("message".into(), hx(m));
        o.insert("directory".into(), json!(dir));
        o.insert("now".into(), json!(now));
        g.valid(comment, flags, v);
    };
    let bad = |g: &mut Group,
               m: &[u8],
               device: &str,
               dir: &[&str],
               now: u64,
               comment: &str,
               flags: &[&str],
               error: &str| {
        g.invalid(
            comment,
            flags,
            error,
            json!({"message": hx(m), "device": device, "directory": dir, "now": now}),
        );
    };
    const UNAUTH: &str = "OpenError::Unauthenticated";
    ok(
        &mut g,
        &b,
        &base,
        "bob-phone",
        &all,
        NOW,
        "the honest envelope",
        &["Valid"],
    );
    ok(
        &mut g,
        &delivery(&b, n, idx("bob-tablet")),
        &base,
        "bob-tablet",
        &all,
        NOW,
        "the honest delivery",
        &["Valid"],
    );

    // Salamander: one device's wrap holds another message secret.
    let mut sal = base.clone();
    let other_secret: [u8; 32] = bytes(&mut rng);
    sal.recipients[idx("bob-tablet")].wrapped_secret = other_secret;
    let s = sal.encode();
    bad(
        &mut g,
        &s,
        "bob-tablet",
        &all,
        NOW,
        "the sender wraps a different message secret for this device: key commitment fails",
        &["Salamander"],
        UNAUTH,
    );
    ok(
        &mut g,
        &s,
        &base,
        "bob-phone",
        &all,
        NOW,
        "the same salamander envelope: the device with the committed secret opens it",
        &["Salamander"],
    );

    // Low-order ephemeral keys: every wrap made with the all-zero DH output.
    for (k, why) in low_order_x25519() {
        let mut e = base.clone();
        e.ephemeral_public_override = Some(k);
        for r in e.recipients.iter_mut() {
            r.dh_override = Some([0u8; 32]);
        }
        bad(
            &mut g,
            &e.encode(),
            "bob-phone",
            &all,
            NOW,
            why,
            &["LowOrderKey"],
            UNAUTH,
        );
    }
    for (k, why) in non_canonical_x25519(&base.ephemeral_public()) {
        let mut m = b.clone();
        m[offset::EPHEMERAL..offset::EPHEMERAL + 32].copy_from_slice(&k);
        bad(
            &mut g,
            &m,
            "bob-phone",
            &all,
            NOW,
            why,
            &["NonCanonicalKey"],
            "OpenError::Decode(DecodeError::NonCanonical)",
        );
    }

    // Senders.
    let ghost = world.honest(
        "alice-ghost",
        &["bob"],
        b"from a ghost",
        b"",
        Pad::Padme,
        NOW,
        &bytes(&mut rng),
    );
    bad(
        &mut g,
        &ghost.encode(),
        "bob-phone",
        &all,
        NOW,
        "a device Alice certified but never listed: the certificate verifies under Alice's key and its device signed, so the error names Alice's account (refresh her list; still absent there, it is unauthenticated)",
        &["Ghost"],
        "OpenError::SenderNotOnTrustedList",
    );
    let watch = world.honest(
        "alice-watch",
        &["bob"],
        b"from an expired device",
        b"",
        Pad::Padme,
        NOW,
        &bytes(&mut rng),
    );
    bad(
        &mut g,
        &watch.encode(),
        "bob-phone",
        &all,
        NOW,
        "the sender's certificate expired",
        &["Expired"],
        UNAUTH,
    );
    bad(
        &mut g,
        &b,
        "bob-phone",
        &all,
        NOW + YEAR,
        "opened when the sender's certificate has expired",
        &["Expired"],
        UNAUTH,
    );
    let mal = world.honest(
        "mallory-phone",
        &["bob"],
        b"hello from mallory",
        b"",
        Pad::Padme,
        NOW,
        &bytes(&mut rng),
    );
    bad(
        &mut g,
        &mal.encode(),
        "bob-phone",
        &all,
        NOW,
        "sender account not in the directory",
        &["UnknownSender"],
        "OpenError::SenderListUnavailable",
    );
    ok(
        &mut g,
        &mal.encode(),
        &mal,
        "bob-phone",
        &["alice", "bob", "carol", "mallory"],
        NOW,
        "the same envelope once Mallory's list is verified",
        &["Valid", "UnknownSender"],
    );
    bad(
        &mut g,
        &b,
        "bob-phone",
        &["bob"],
        NOW,
        "Alice's list missing from the directory",
        &["UnknownSender"],
        "OpenError::SenderListUnavailable",
    );
    // SenderListUnavailable only for a self-consistent claim (SPEC.md §5.2 step 8).
    let mut mal_unsigned = mal.clone();
    mal_unsigned.signer_seed = world.dev("mallory-laptop").device.ed_seed;
    bad(
        &mut g,
        &mal_unsigned.encode(),
        "bob-phone",
        &all,
        NOW,
        "sender account not in the directory, and the message is not signed by the certified device: Unauthenticated, no fetch requested",
        &["UnknownSender", "Forgery"],
        UNAUTH,
    );
    let mut mal_badcert = mal.clone();
    let last = mal_badcert.certificate.len() - 1;
    mal_badcert.certificate[last] ^= 0x01;
    bad(
        &mut g,
        &mal_badcert.encode(),
        "bob-phone",
        &all,
        NOW,
        "sender account not in the directory, signed by the device, but the certificate's account signature is broken: Unauthenticated",
        &["UnknownSender", "Forgery"],
        UNAUTH,
    );
    let mut undecodable = base.clone();
    undecodable.certificate[0] = 0xfa;
    bad(
        &mut g,
        &undecodable.encode(),
        "bob-phone",
        &all,
        NOW,
        "the body's certificate does not decode (version 0xfa), everything else correctly signed by alice-phone",
        &["BadBody"],
        UNAUTH,
    );
    ok(
        &mut g,
        &b,
        &base,
        "bob-phone",
        &all,
        NOW + YEAR - 1,
        "opened one millisecond before the sender's certificate expires",
        &["Valid", "Expired"],
    );
    bad(
        &mut g,
        &b,
        "alice-phone-recertified",
        &all,
        NOW,
        "a device of Alice that is not a recipient (alice-phone's keys under another certificate)",
        &["NotARecipient"],
        "OpenError::NotARecipient",
    );
    let mut forged = base.clone();
    forged.payload = b"attack at noon".to_vec();
    forged.signer_seed = world.dev("bob-phone").device.ed_seed;
    bad(&mut g, &forged.encode(), "bob-tablet", &all, NOW, "bob-phone knows the message secret and re-encrypts a changed payload under Alice's certificate, signing with its own key", &["Forgery"], UNAUTH);
    let mut lax = base.clone();
    lax.small_order_r = true;
    bad(
        &mut g,
        &lax.encode(),
        "bob-phone",
        &all,
        NOW,
        "signed by alice-phone with R of small order (the neutral element) and s = k·a: valid for a lax cofactorless verifier, refused by strict verification",
        &["Forgery"],
        UNAUTH,
    );
    let mut unsigned = base.clone();
    unsigned.signer_seed = world.dev("alice-laptop").device.ed_seed;
    bad(
        &mut g,
        &unsigned.encode(),
        "bob-phone",
        &all,
        NOW,
        "alice-phone's certificate, signed by alice-laptop's key",
        &["Forgery"],
        UNAUTH,
    );

    // Recipient stripping and adding by the relay.
    let strip = {
        let i = idx("bob-desktop");
        let mut e = base.clone();
        e.recipients.remove(i);
        let mut m = b[..offset::RECIPIENT_COUNT].to_vec();
        m.extend_from_slice(&2u16.to_be_bytes());
        for (j, r) in base.recipients.iter().enumerate() {
            if j != i {
                m.extend_from_slice(&r.key_id);
            }
        }
        m.extend_from_slice(&b[offset::body_len(n)..offset::wraps(n)]);
        for j in 0..n {
            if j != i {
                let w = offset::wraps(n) + 48 * j;
                m.extend_from_slice(&b[w..w + 48]);
            }
        }
        m.extend_from_slice(&b[offset::body(n)..]);
        m
    };
    bad(
        &mut g,
        &strip,
        "bob-phone",
        &all,
        NOW,
        "bob-desktop and its wrap removed from the header",
        &["RecipientStripping"],
        UNAUTH,
    );
    let add = {
        let extra = world.dev("mallory-phone").key_id();
        let mut ids: Vec<[u8; 16]> = base.recipients.iter().map(|r| r.key_id).collect();
        ids.push(extra);
        ids.sort();
        let pos = ids.iter().position(|k| *k == extra).unwrap();
        let mut m = b[..offset::RECIPIENT_COUNT].to_vec();
        m.extend_from_slice(&4u16.to_be_bytes());
        for k in &ids {
            m.extend_from_slice(k);
        }
        m.extend_from_slice(&b[offset::body_len(n)..offset::wraps(n)]);
        let fake: [u8; 48] = bytes(&mut rng);
        let mut j = 0;
        for k in 0..=n {
            if k == pos {
                m.extend_from_slice(&fake);
            } else {
                let w = offset::wraps(n) + 48 * j;
                m.extend_from_slice(&b[w..w + 48]);
                j += 1;
            }
        }
        m.extend_from_slice(&b[offset::body(n)..]);
        m
    };
    bad(
        &mut g,
        &add,
        "bob-phone",
        &all,
        NOW,
        "mallory-phone's key id and a wrap added to the header",
        &["RecipientAdding"],
        UNAUTH,
    );
    bad(
        &mut g,
        &add,
        "mallory-phone",
        &["alice", "bob", "carol", "mallory"],
        NOW,
        "the added device cannot open it",
        &["RecipientAdding"],
        UNAUTH,
    );

    // Single-byte tampering.
    let tamper = |at: usize| {
        let mut m = b.clone();
        m[at] ^= 0x01;
        m
    };
    bad(
        &mut g,
        &tamper(offset::MESSAGE_ID),
        "bob-phone",
        &all,
        NOW,
        "message id changed",
        &["Tamper"],
        UNAUTH,
    );
    bad(
        &mut g,
        &tamper(offset::EPHEMERAL),
        "bob-phone",
        &all,
        NOW,
        "ephemeral key changed",
        &["Tamper"],
        UNAUTH,
    );
    bad(
        &mut g,
        &tamper(offset::COMMITMENT),
        "bob-phone",
        &all,
        NOW,
        "key commitment changed",
        &["Tamper"],
        UNAUTH,
    );
    let other = idx("bob-desktop");
    bad(
        &mut g,
        &tamper(offset::KEY_IDS + 16 * other + 15),
        "bob-phone",
        &all,
        NOW,
        "another recipient's key id changed",
        &["Tamper"],
        UNAUTH,
    );
    bad(
        &mut g,
        &tamper(offset::KEY_IDS + 16 * idx("bob-phone") + 15),
        "bob-phone",
        &all,
        NOW,
        "the opener's own key id changed",
        &["Tamper", "NotARecipient"],
        "OpenError::NotARecipient",
    );
    bad(
        &mut g,
        &tamper(offset::wraps(n) + 48 * idx("bob-phone")),
        "bob-phone",
        &all,
        NOW,
        "the opener's wrap changed",
        &["Tamper"],
        UNAUTH,
    );
    bad(
        &mut g,
        &tamper(offset::wraps(n) + 48 * idx("bob-phone") + 47),
        "bob-phone",
        &all,
        NOW,
        "the opener's wrap tag changed",
        &["Tamper"],
        UNAUTH,
    );
    bad(
        &mut g,
        &tamper(offset::body(n)),
        "bob-phone",
        &all,
        NOW,
        "first body byte changed",
        &["Tamper"],
        UNAUTH,
    );
    bad(
        &mut g,
        &tamper(b.len() - 1),
        "bob-phone",
        &all,
        NOW,
        "body tag changed",
        &["Tamper"],
        UNAUTH,
    );

    // Splices.
    let other_env = world
        .honest(
            "alice-phone",
            &["bob"],
            b"attack at dawn",
            b"conversation:alice+bob",
            Pad::Padme,
            NOW,
            &bytes(&mut rng),
        )
        .encode();
    let mut spliced = b.clone();
    let w = offset::wraps(n) + 48 * idx("bob-phone");
    spliced[w..w + 48].copy_from_slice(&other_env[w..w + 48]);
    bad(
        &mut g,
        &spliced,
        "bob-phone",
        &all,
        NOW,
        "bob-phone's wrap taken from another envelope of the same sender and recipients",
        &["Splice", "Salamander"],
        UNAUTH,
    );
    bad(
        &mut g,
        &delivery(&b, n, idx("bob-tablet")),
        "bob-phone",
        &all,
        NOW,
        "bob-tablet's delivery opened by bob-phone",
        &["Splice"],
        UNAUTH,
    );

    // Non-canonical body plaintext.
    let mut nz = base.clone();
    nz.padded_len += 16;
    nz.padding_byte = 1;
    bad(
        &mut g,
        &nz.encode(),
        "bob-phone",
        &all,
        NOW,
        "non-zero padding",
        &["BadBody"],
        UNAUTH,
    );
    let mut zl = base.clone();
    zl.padded_len += 16;
    ok(
        &mut g,
        &zl.encode(),
        &zl,
        "bob-phone",
        &all,
        NOW,
        "16 more zero bytes of padding than Padmé: accepted (the padding policy is the sender's)",
        &["Valid", "Padding"],
    );
    let mut pl = base.clone();
    pl.payload_len_field = Some(u32::try_from(pl.payload.len()).unwrap() + 1);
    bad(
        &mut g,
        &pl.encode(),
        "bob-phone",
        &all,
        NOW,
        "payload length field one too large",
        &["BadBody"],
        UNAUTH,
    );

    // Not a recipient.
    bad(
        &mut g,
        &b,
        "carol-phone",
        &all,
        NOW,
        "a device of another account",
        &["NotARecipient"],
        "OpenError::NotARecipient",
    );
    bad(
        &mut g,
        &b,
        "alice-phone",
        &all,
        NOW,
        "the sending device itself",
        &["NotARecipient"],
        "OpenError::NotARecipient",
    );

    // Unknown key share (SPEC.md §3.2, §4.5): the key id and the wrap name
    // the account.
    let eve_env = envs[7].encode();
    assert_eq!(envs[7].recipients.len(), 1);
    bad(
        &mut g,
        &delivery(&eve_env, 1, 0),
        "bob-phone",
        &all,
        NOW,
        "the delivery of a message sealed to Eve's list, which certifies bob-phone's exact keys: Eve's key id, not bob-phone's",
        &["UnknownKeyShare", "NotARecipient"],
        "OpenError::NotARecipient",
    );
    let mut eve_relabelled = delivery(&eve_env, 1, 0);
    eve_relabelled[offset::KEY_IDS..offset::KEY_IDS + 16]
        .copy_from_slice(&world.dev("bob-phone").key_id());
    bad(
        &mut g,
        &eve_relabelled,
        "bob-phone",
        &all,
        NOW,
        "the same delivery with the key id rewritten to bob-phone's by a relay: the wrap binds Eve's account (and the header changed)",
        &["UnknownKeyShare", "Tamper"],
        UNAUTH,
    );
    // A renewal keeps the key id and the binding (SPEC.md §4.5, §5.2): the
    // keyring's certificate is what matters, not the one on the list.
    let renewal = &envs[11];
    assert_eq!(renewal.certificate, world.dev("bob-phone").cert_bytes);
    let renewal_env = renewal.encode();
    let rn = renewal.recipients.len();
    let phone_at = renewal
        .recipients
        .iter()
        .position(|r| r.key_id == world.dev("alice-phone").key_id())
        .unwrap();
    assert_eq!(
        world.dev("alice-phone").key_id(),
        world.dev("alice-phone-recertified").key_id()
    );
    assert_eq!(
        world.dev("alice-phone").binding(),
        world.dev("alice-phone-recertified").binding()
    );
    ok(
        &mut g,
        &delivery(&renewal_env, rn, phone_at),
        renewal,
        "alice-phone-recertified",
        &all,
        NOW,
        "a delivery sealed by bob-phone to alice-phone's listed certificate, opened under a renewal of that certificate (same keys and device id, another expiry; not on Alice's list): same key id and recipient binding, and the sender's list verifies",
        &["Valid", "Renewal"],
    );
    bad(
        &mut g,
        &delivery(&renewal_env, rn, phone_at),
        "alice-phone-recertified",
        &["alice", "carol"],
        NOW,
        "the same delivery opened under the renewal without the sender's list in the directory",
        &["Renewal"],
        "OpenError::SenderListUnavailable",
    );
    let both = &envs[9];
    let both_env = both.encode();
    assert_eq!(both.recipients.len(), 4);
    let eve_copy = world.dev("eve-copy-of-bob-phone").key_id();
    let eve_at = both
        .recipients
        .iter()
        .position(|r| r.key_id == eve_copy)
        .unwrap();
    bad(
        &mut g,
        &delivery(&both_env, 4, eve_at),
        "bob-phone",
        &all,
        NOW,
        "the delivery for Eve's copy of bob-phone's keys in a message sealed to Bob and Eve, given to bob-phone: its key id is in the header, but the delivery's only wrap is bound to Eve's account (same DH, KEM context and header; another recipient binding)",
        &["UnknownKeyShare"],
        UNAUTH,
    );
    let trudy_env = envs[8].encode();
    assert_eq!(envs[8].recipients.len(), 1);
    let mut relabelled = delivery(&trudy_env, 1, 0);
    relabelled[offset::KEY_IDS..offset::KEY_IDS + 16]
        .copy_from_slice(&world.dev("bob-phone").key_id());
    bad(
        &mut g,
        &delivery(&trudy_env, 1, 0),
        "bob-phone",
        &all,
        NOW,
        "the delivery of a message sealed to Trudy's torsion variant of bob-phone's key: another key id",
        &["UnknownKeyShare", "NotARecipient"],
        "OpenError::NotARecipient",
    );
    bad(
        &mut g,
        &relabelled,
        "bob-phone",
        &all,
        NOW,
        "the same delivery with the key id rewritten to bob-phone's (same DH output for bob-phone's clamped key, other KEM context, certificate and header)",
        &["UnknownKeyShare", "Tamper"],
        UNAUTH,
    );

    // Limits hold on the receiving side (SPEC.md §2.5, §5.2 step 6).
    let max_aad = world.honest(
        "alice-phone",
        &["bob"],
        b"aad at the limit",
        &vec![0x61; 65_536],
        Pad::None,
        NOW,
        &bytes(&mut rng),
    );
    let mut v = opened(&world, &max_aad, "bob-phone");
    let o = v.as_object_mut().unwrap();
    o.remove("result");
    o.insert("aad".into(), json!({"fill": "61", "length": 65_536}));
    o.insert("message".into(), hx(&max_aad.encode()));
    o.insert("directory".into(), json!(all));
    o.insert("now".into(), json!(NOW));
    g.valid(
        "AAD of exactly MAX_AAD = 65,536 bytes",
        &["Valid", "Limit"],
        v,
    );
    let over_aad = world.honest(
        "alice-phone",
        &["bob"],
        b"aad over the limit",
        &vec![0x61; 65_537],
        Pad::None,
        NOW,
        &bytes(&mut rng),
    );
    bad(
        &mut g,
        &over_aad.encode(),
        "bob-phone",
        &all,
        NOW,
        "AAD of 65,537 bytes, correctly encrypted and signed by alice-phone (seal refuses to build it): refused",
        &["Limit", "BadBody"],
        UNAUTH,
    );

    // The sender's timestamp is in the body; the header has none.
    let early = world.honest(
        "alice-phone",
        &["bob"],
        b"sent a little earlier",
        b"",
        Pad::Padme,
        NOW - 7,
        &bytes(&mut rng),
    );
    ok(
        &mut g,
        &early.encode(),
        &early,
        "bob-phone",
        &all,
        NOW,
        "sealed at now - 7, opened at now: the timestamp returned is the sender's, from the body",
        &["Valid"],
    );

    // Open order (SPEC.md §5.2 steps 1-2, 9).
    let mut low_enc = base.clone();
    low_enc.ephemeral_public_override = Some(low_order_x25519()[0].0);
    for r in low_enc.recipients.iter_mut() {
        r.dh_override = Some([0u8; 32]);
    }
    bad(
        &mut g,
        &low_enc.encode(),
        "carol-phone",
        &all,
        NOW,
        "order: a low-order ephemeral key, opened by a device that is not a recipient: NotARecipient (step 2) before any DH",
        &["NotARecipient", "LowOrderKey", "Order"],
        "OpenError::NotARecipient",
    );
    bad(
        &mut g,
        &[b.as_slice(), &[0]].concat(),
        "carol-phone",
        &all,
        NOW,
        "order: a trailing byte, opened by a device that is not a recipient: the decode error (step 1) first",
        &["TrailingBytes", "NotARecipient", "Order"],
        "OpenError::Decode(DecodeError::TrailingBytes)",
    );
    let recert = world.honest(
        "alice-phone-recertified",
        &["bob"],
        b"under another certificate",
        b"",
        Pad::Padme,
        NOW,
        &bytes(&mut rng),
    );
    bad(
        &mut g,
        &recert.encode(),
        "bob-phone",
        &all,
        NOW,
        "signed by alice-phone's key under a certificate Alice signed but did not list (the list holds another certificate for that device id): names Alice's account",
        &["Ghost"],
        "OpenError::SenderNotOnTrustedList",
    );

    // Decoding.
    let set = |at: usize, bytes: &[u8]| {
        let mut m = b.clone();
        m[at..at + bytes.len()].copy_from_slice(bytes);
        m
    };
    let setm = |m: &[u8], at: usize, bytes: &[u8]| {
        let mut m = m.to_vec();
        m[at..at + bytes.len()].copy_from_slice(bytes);
        m
    };
    // Header decoding order (SPEC.md §4.2, §5.2 step 1).
    let badf = |g: &mut Group,
                m: &[u8],
                comment: &str,
                flags: &[&str],
                error: &str,
                field: &str| {
        g.invalid(
            comment,
            flags,
            error,
            json!({"message": hx(m), "device": "bob-phone", "directory": all, "now": NOW, "errorField": field}),
        );
    };
    let p_enc = non_canonical_x25519(&base.ephemeral_public())[0].0;
    let bl = offset::body_len(n);
    bad(
        &mut g,
        &setm(&set(offset::VERSION, &[0xfa]), offset::OBJECT_TYPE, &[0x7f]),
        "bob-phone",
        &all,
        NOW,
        "order: version 0xfa and object type 0x7f: the version first",
        &["Grease", "Order"],
        "OpenError::Decode(DecodeError::UnsupportedVersion)",
    );
    bad(
        &mut g,
        &setm(
            &set(offset::OBJECT_TYPE, &[0x7f]),
            offset::SUITE,
            &0x0a0au16.to_be_bytes(),
        ),
        "bob-phone",
        &all,
        NOW,
        "order: object type 0x7f and suite 0x0a0a: the type first",
        &["Grease", "Order"],
        "OpenError::Decode(DecodeError::WrongObjectType)",
    );
    bad(
        &mut g,
        &setm(
            &set(offset::SUITE, &0x0a0au16.to_be_bytes()),
            offset::EPHEMERAL,
            &p_enc,
        ),
        "bob-phone",
        &all,
        NOW,
        "order: suite 0x0a0a and a non-canonical ephemeral key: the suite first",
        &["Grease", "Order", "NonCanonicalKey"],
        "OpenError::Decode(DecodeError::UnsupportedSuite)",
    );
    bad(
        &mut g,
        &setm(
            &set(offset::EPHEMERAL, &p_enc),
            offset::RECIPIENT_COUNT,
            &0u16.to_be_bytes(),
        ),
        "bob-phone",
        &all,
        NOW,
        "order: a non-canonical ephemeral key and recipient count 0: the key first",
        &["NonCanonicalKey", "Order", "Limit"],
        "OpenError::Decode(DecodeError::NonCanonical)",
    );
    let mut unsorted0 = b.clone();
    let ids0 = offset::KEY_IDS;
    unsorted0[ids0..ids0 + 16].copy_from_slice(&b[ids0 + 16..ids0 + 32]);
    unsorted0[ids0 + 16..ids0 + 32].copy_from_slice(&b[ids0..ids0 + 16]);
    badf(
        &mut g,
        &setm(&unsorted0, offset::RECIPIENT_COUNT, &0u16.to_be_bytes()),
        "order: recipient count 0 (key ids unsorted behind it): the count first",
        &["Limit", "Order"],
        "OpenError::Decode(DecodeError::OutOfRange)",
        "recipient count",
    );
    bad(
        &mut g,
        &setm(&unsorted0, bl, &0u32.to_be_bytes()),
        "bob-phone",
        &all,
        NOW,
        "order: key ids not ascending and body length 0: the key ids first",
        &["NonCanonical", "Order", "Limit"],
        "OpenError::Decode(DecodeError::NonCanonical)",
    );
    badf(
        &mut g,
        &set(bl, &0u32.to_be_bytes())[..offset::wraps(n) + 10],
        "order: body length 0 and the input ends inside the wraps: the header is decoded (and its body length rejected) first",
        &["Limit", "Truncated", "Order"],
        "OpenError::Decode(DecodeError::OutOfRange)",
        "body length",
    );
    badf(
        &mut g,
        &set(offset::RECIPIENT_COUNT, &1024u16.to_be_bytes()),
        "recipient count 1024 (allowed), far fewer key ids present",
        &["Limit", "Truncated"],
        "OpenError::Decode(DecodeError::Truncated)",
        "recipient key ids",
    );
    badf(
        &mut g,
        &unsorted0[..offset::KEY_IDS + 16 * n - 1],
        "order: key ids not ascending, and the input ends inside the last key id: Truncated before reading any id",
        &["Truncated", "NonCanonical", "Order"],
        "OpenError::Decode(DecodeError::Truncated)",
        "recipient key ids",
    );
    // "Never" never expires: bob-phone (no expiry) sealed at 2^64 - 1,
    // opened at 2^64 - 1.
    let end = world.honest(
        "bob-phone",
        &["carol"],
        b"at the end of time",
        b"",
        Pad::Padme,
        u64::MAX,
        &bytes(&mut rng),
    );
    ok(
        &mut g,
        &end.encode(),
        &end,
        "carol-phone",
        &all,
        u64::MAX,
        "a sender without expiry, timestamp and now 2^64 - 1: never expires",
        &["Valid", "Expired"],
    );
    const DEC: &str = "OpenError::Decode(DecodeError::";
    let dec = |kind: &str| format!("{DEC}{kind})");
    for v in [0x00u8, 0x01, 0x03, 0xfa] {
        bad(
            &mut g,
            &set(offset::VERSION, &[v]),
            "bob-phone",
            &all,
            NOW,
            &format!("wire version {v:#04x}"),
            &["Grease", "Downgrade"],
            &dec("UnsupportedVersion"),
        );
    }
    for t in [0x00u8, 0x01, 0x02, 0x05, 0x06, 0x7f, 0xff] {
        g.invalid(
            &format!("object type {t:#04x}: neither an envelope (0x03) nor a delivery (0x04); the error names 0x03 as expected"),
            &["Grease"],
            &dec("WrongObjectType"),
            json!({
                "message": hx(&set(offset::OBJECT_TYPE, &[t])),
                "device": "bob-phone",
                "directory": all,
                "now": NOW,
                "expectedObjectType": 3,
            }),
        );
    }
    for s in [0x0000u16, 0x0003, 0x0a0a] {
        bad(
            &mut g,
            &set(offset::SUITE, &s.to_be_bytes()),
            "bob-phone",
            &all,
            NOW,
            &format!("suite {s:#06x} (not defined)"),
            &["Grease", "Downgrade"],
            &dec("UnsupportedSuite"),
        );
    }
    {
        // Relabelled to the hybrid suite: it decodes as a hybrid header
        // (SPEC.md §4.2: no `enc`), so the classical `enc` is read as the
        // commitment and the classical commitment's first two bytes as the
        // recipient count; the error is whatever §4.2 / §5.2 step 1 give
        // for those bytes, never an authenticated open.
        let m = set(offset::SUITE, &2u16.to_be_bytes());
        let (kind, field) = craft::decode_envelope_model(&m)
            .expect_err("a relabelled classical envelope never decodes as hybrid");
        let mut fields =
            json!({"message": hx(&m), "device": "bob-phone", "directory": all, "now": NOW});
        if let Some(f) = field {
            fields["errorField"] = Value::from(f);
        }
        g.invalid(
            &format!("a classical envelope relabelled to the hybrid suite 0x0002: decoded as a hybrid header (no enc), it fails at {}", field.unwrap_or(kind)),
            &["Downgrade"],
            &dec(kind),
            fields,
        );
    }
    for c in [0u16, 1025, 0xffff] {
        bad(
            &mut g,
            &set(offset::RECIPIENT_COUNT, &c.to_be_bytes()),
            "bob-phone",
            &all,
            NOW,
            &format!("recipient count {c} (allowed 1..=1024)"),
            &["Limit"],
            &dec("OutOfRange"),
        );
    }
    let mut unsorted = b.clone();
    let ids = offset::KEY_IDS;
    let (first, second) = (b[ids..ids + 16].to_vec(), b[ids + 16..ids + 32].to_vec());
    unsorted[ids..ids + 16].copy_from_slice(&second);
    unsorted[ids + 16..ids + 32].copy_from_slice(&first);
    bad(
        &mut g,
        &unsorted,
        "bob-phone",
        &all,
        NOW,
        "recipient key ids not ascending",
        &["NonCanonical"],
        &dec("NonCanonical"),
    );
    bad(
        &mut g,
        &set(ids + 16, &first),
        "bob-phone",
        &all,
        NOW,
        "duplicate recipient key id",
        &["NonCanonical"],
        &dec("NonCanonical"),
    );
    let bl = offset::body_len(n);
    let body_len = u32::from_be_bytes(b[bl..bl + 4].try_into().unwrap());
    bad(
        &mut g,
        &set(bl, &295u32.to_be_bytes()),
        "bob-phone",
        &all,
        NOW,
        "body length 295 (below MIN_BODY + 16 = 296)",
        &["Limit"],
        &dec("OutOfRange"),
    );
    bad(
        &mut g,
        &set(bl, &296u32.to_be_bytes()),
        "bob-phone",
        &all,
        NOW,
        "body length 296 (the smallest allowed) with a longer body following",
        &["Limit", "TrailingBytes"],
        &dec("TrailingBytes"),
    );
    let max_ct = u32::try_from(super::MAX_BODY + 16).unwrap();
    bad(
        &mut g,
        &set(bl, &max_ct.to_be_bytes()),
        "bob-phone",
        &all,
        NOW,
        "body length MAX_BODY + 16 (allowed), far more than present",
        &["Limit", "Truncated"],
        &dec("Truncated"),
    );
    bad(
        &mut g,
        &set(bl, &(max_ct + 1).to_be_bytes()),
        "bob-phone",
        &all,
        NOW,
        "body length MAX_BODY + 17",
        &["Limit"],
        &dec("OutOfRange"),
    );
    bad(
        &mut g,
        &set(bl, &u32::MAX.to_be_bytes()),
        "bob-phone",
        &all,
        NOW,
        "body length 2^32 - 1",
        &["Limit"],
        &dec("OutOfRange"),
    );
    bad(
        &mut g,
        &set(bl, &(body_len + 1).to_be_bytes()),
        "bob-phone",
        &all,
        NOW,
        "body length one more than present",
        &["Truncated"],
        &dec("Truncated"),
    );
    bad(
        &mut g,
        &set(bl, &(body_len - 1).to_be_bytes()),
        "bob-phone",
        &all,
        NOW,
        "body length one less than present",
        &["TrailingBytes"],
        &dec("TrailingBytes"),
    );
    for len in [
        0usize,
        1,
        3,
        50,
        offset::RECIPIENT_COUNT + 1,
        offset::wraps(n) - 1,
        offset::wraps(n) + 100,
        b.len() - 1,
    ] {
        bad(
            &mut g,
            &b[..len],
            "bob-phone",
            &all,
            NOW,
            &format!("truncated to {len} bytes"),
            &["Truncated"],
            &dec("Truncated"),
        );
    }
    bad(
        &mut g,
        &[b.as_slice(), &[0]].concat(),
        "bob-phone",
        &all,
        NOW,
        "one trailing byte",
        &["TrailingBytes"],
        &dec("TrailingBytes"),
    );
    let d = delivery(&b, n, idx("bob-phone"));
    bad(
        &mut g,
        &[d.as_slice(), &[0]].concat(),
        "bob-phone",
        &all,
        NOW,
        "a delivery with one trailing byte",
        &["TrailingBytes"],
        &dec("TrailingBytes"),
    );
    bad(
        &mut g,
        &d[..d.len() - 1],
        "bob-phone",
        &all,
        NOW,
        "a delivery one byte short",
        &["Truncated"],
        &dec("Truncated"),
    );
    bad(
        &mut g,
        &set(offset::OBJECT_TYPE, &[4]),
        "bob-phone",
        &all,
        NOW,
        "a 3-recipient envelope relabelled as a delivery",
        &["NonCanonical", "TrailingBytes"],
        &dec("TrailingBytes"),
    );
    f.push(g);

    // --- relay-side decoding
    let mut g = Group::new(
        "RelayDecode",
        "What a relay decodes without any key (SPEC.md §4.1, §4.8).",
    );
    let rd_ok = |g: &mut Group, object: &str, m: &[u8], comment: &str, extra: Value| {
        let mut v = json!({
            "object": object,
            "bytes": hx(m),
            "recipients": base.recipients.iter().map(|r| hx(&r.key_id)).collect::<Vec<_>>(),
            "bodyLength": base.padded_len + 16,
        });
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        g.valid(comment, &["Valid"], v);
    };
    let rd_bad =
        |g: &mut Group, object: &str, m: &[u8], comment: &str, flags: &[&str], error: &str| {
            let mut v = json!({"object": object, "bytes": hx(m)});
            if error == "DecodeError::WrongObjectType" {
                // The type the decoder expected (SPEC.md §2.1).
                v["expectedObjectType"] = json!(if object == "envelope" { 3 } else { 4 });
            }
            g.invalid(comment, flags, error, v);
        };
    let split: Vec<Value> = base
        .recipients
        .iter()
        .enumerate()
        .map(|(i, r)| json!({"keyId": hx(&r.key_id), "delivery": hx(&delivery(&b, n, i))}))
        .collect();
    rd_ok(
        &mut g,
        "envelope",
        &b,
        "an envelope to three devices and the relay's split",
        json!({"deliveries": split}),
    );
    rd_ok(
        &mut g,
        "delivery",
        &d,
        "one device's delivery, split from the envelope given",
        json!({"envelope": hx(&b), "keyId": hx(&world.dev("bob-phone").key_id())}),
    );
    rd_bad(
        &mut g,
        "envelope",
        &d,
        "a delivery given to the envelope decoder",
        &["Grease"],
        "DecodeError::WrongObjectType",
    );
    rd_bad(
        &mut g,
        "delivery",
        &b,
        "an envelope given to the delivery decoder",
        &["Grease"],
        "DecodeError::WrongObjectType",
    );
    rd_bad(
        &mut g,
        "envelope",
        &set(offset::OBJECT_TYPE, &[0x7f]),
        "unknown object type 0x7f",
        &["Grease"],
        "DecodeError::WrongObjectType",
    );
    rd_bad(
        &mut g,
        "envelope",
        &set(offset::VERSION, &[0xfa]),
        "wire version 0xfa",
        &["Grease"],
        "DecodeError::UnsupportedVersion",
    );
    let mut grease_suite = d.clone();
    grease_suite[offset::SUITE..offset::SUITE + 2].copy_from_slice(&0x0a0au16.to_be_bytes());
    rd_bad(
        &mut g,
        "delivery",
        &grease_suite,
        "suite 0x0a0a in a delivery",
        &["Grease"],
        "DecodeError::UnsupportedSuite",
    );
    rd_bad(
        &mut g,
        "envelope",
        &set(offset::RECIPIENT_COUNT, &1025u16.to_be_bytes()),
        "recipient count 1025",
        &["Limit"],
        "DecodeError::OutOfRange",
    );
    rd_bad(
        &mut g,
        "envelope",
        &[b.as_slice(), &[0]].concat(),
        "one trailing byte",
        &["TrailingBytes"],
        "DecodeError::TrailingBytes",
    );
    rd_bad(
        &mut g,
        "delivery",
        &d[..offset::wraps(n) + 10],
        "a delivery cut inside its wrap",
        &["Truncated"],
        "DecodeError::Truncated",
    );
    f.push(g);

    // --- replay
    let mut g = Group::new(
        "Replay",
        "The caller checks each opened message with a ReplayGuard (SPEC.md §6).",
    )
    .field("device", json!("bob-phone"))
    .field("directory", json!(all))
    .field(
        "guard",
        json!({"capacity": 16, "windowMs": 86_400_000u64, "maxSkewMs": 60_000u64}),
    );
    let step =
        |m: &[u8], now: u64, expect: &str| json!({"message": hx(m), "now": now, "expect": expect});
    let env2 = envs[1].encode();
    let mut same_id: [u8; 80] = bytes(&mut rng);
    same_id[..16].copy_from_slice(&base_rand[..16]);
    let carol = world
        .honest(
            "carol-phone",
            &["bob"],
            b"same id",
            b"",
            Pad::Padme,
            NOW,
            &same_id,
        )
        .encode();
    let cases: Vec<(&str, &str, Option<&str>, Vec<Value>)> = vec![
        (
            "the same envelope twice",
            "check_opened",
            Some("ReplayError::Replayed"),
            vec![
                step(&b, NOW + 5, "ok"),
                step(&b, NOW + 6, "ReplayError::Replayed"),
            ],
        ),
        (
            "the envelope, then the relay's delivery of it",
            "check_opened",
            Some("ReplayError::Replayed"),
            vec![
                step(&b, NOW + 5, "ok"),
                step(&d, NOW + 6, "ReplayError::Replayed"),
            ],
        ),
        (
            "two different messages",
            "check_opened",
            None,
            vec![step(&b, NOW + 5, "ok"), step(&env2, NOW + 6, "ok")],
        ),
        (
            "the same message id from two senders: ids are kept per sender device",
            "check_opened",
            None,
            vec![step(&b, NOW + 5, "ok"), step(&carol, NOW + 6, "ok")],
        ),
        (
            "the same message id from two senders in the single namespace of check",
            "check",
            Some("ReplayError::Replayed"),
            vec![
                step(&b, NOW + 5, "ok"),
                step(&carol, NOW + 6, "ReplayError::Replayed"),
            ],
        ),
        (
            "the same envelope twice, single namespace",
            "check",
            Some("ReplayError::Replayed"),
            vec![
                step(&b, NOW + 5, "ok"),
                step(&b, NOW + 6, "ReplayError::Replayed"),
            ],
        ),
        (
            "older than the window",
            "check_opened",
            Some("ReplayError::TooOld"),
            vec![step(&b, NOW + 86_400_001, "ReplayError::TooOld")],
        ),
        (
            "at the edge of the window",
            "check_opened",
            None,
            vec![step(&b, NOW + 86_400_000, "ok")],
        ),
        (
            "order: accepted, then the same message from beyond the clock skew: FromTheFuture is checked before Replayed",
            "check_opened",
            Some("ReplayError::FromTheFuture"),
            vec![
                step(&b, NOW + 5, "ok"),
                step(&b, NOW - 60_001, "ReplayError::FromTheFuture"),
            ],
        ),
        (
            "order: accepted, then the same message after the window: TooOld is checked before Replayed",
            "check_opened",
            Some("ReplayError::TooOld"),
            vec![
                step(&b, NOW + 5, "ok"),
                step(&b, NOW + 86_400_001, "ReplayError::TooOld"),
            ],
        ),
        (
            "at the edge of the clock skew",
            "check_opened",
            None,
            vec![step(&b, NOW - 60_000, "ok")],
        ),
        (
            "from beyond the allowed clock skew",
            "check_opened",
            Some("ReplayError::FromTheFuture"),
            vec![step(&b, NOW - 60_001, "ReplayError::FromTheFuture")],
        ),
    ];
    for (comment, api, error, steps) in cases {
        let v = json!({"api": api, "steps": steps});
        match error {
            None => g.valid(comment, &["Valid"], v),
            Some(e) => g.invalid(comment, &["Replay"], e, v),
        }
    }
    f.push(g);

    // --- replay guard: per-account stores, eviction, tie-breaks, the
    // account bound (SPEC.md §6). Every step's expectation is computed by an
    // independent naive model (vectors_replay_model.rs); where a case was
    // designed for a given answer, the generator also asserts it.
    use super::replay_model::Model;
    struct Msg {
        bytes: Vec<u8>,
        account: [u8; 32],
        device: [u8; 16],
        id: [u8; 16],
        ts: u64,
    }
    let msg = |sender: &str, ts: u64, rng: &mut rand_chacha::ChaCha20Rng| {
        let e = world.honest(
            sender,
            &["bob"],
            b"replay",
            b"",
            Pad::Padme,
            ts,
            &bytes(rng),
        );
        let d = world.dev(sender);
        Msg {
            bytes: e.encode(),
            account: world.account(d.account).public,
            device: d.device.device_id,
            id: e.message_id,
            ts,
        }
    };
    // (message, now, api, designed answer or None)
    type Step<'m> = (&'m Msg, u64, &'static str, Option<&'static str>);
    let run = |model: &mut Model, steps: &[Step<'_>]| -> Vec<Value> {
        steps
            .iter()
            .map(|(m, now, api, designed)| {
                let got = match *api {
                    "check" => model.check(None, [0; 16], m.id, m.ts, *now),
                    _ => model.check(Some(m.account), m.device, m.id, m.ts, *now),
                };
                if let Some(d) = designed {
                    assert_eq!(got, *d, "the replay model disagrees with a designed step");
                }
                json!({"message": hx(&m.bytes), "now": now, "api": api, "expect": got})
            })
            .collect()
    };
    const W: u64 = 86_400_000;
    const SKEW: u64 = 60_000;
    let at = NOW + 100;
    let ok = Some("ok");
    let old = Some("ReplayError::TooOld");
    let replayed = Some("ReplayError::Replayed");
    let co = "check_opened";
    let a1 = msg("alice-phone", NOW + 1, &mut rng);
    let a2 = msg("alice-phone", NOW + 2, &mut rng);
    let c3 = msg("carol-phone", NOW + 3, &mut rng);
    let a3 = msg("alice-phone", NOW + 4, &mut rng);
    let pa = msg("alice-phone", NOW + 5, &mut rng);
    let pl = msg("alice-laptop", NOW + 5, &mut rng);
    let pa2 = msg("alice-phone", NOW + 6, &mut rng);
    let (evicted, kept) = if pa.device < pl.device {
        (&pa, &pl)
    } else {
        (&pl, &pa)
    };
    let z1 = msg("alice-phone", NOW + 7, &mut rng);
    let z2 = msg("alice-phone", NOW + 8, &mut rng);
    // Alice's two devices stamp messages at the edge of the skew.
    let flood: Vec<Msg> = ["alice-phone", "alice-phone", "alice-laptop", "alice-laptop"]
        .iter()
        .map(|d| msg(d, at + SKEW, &mut rng))
        .collect();
    let fc = msg("carol-phone", NOW + 50, &mut rng);
    let fb = msg("bob-tablet", NOW + 50, &mut rng);
    let fa = msg("alice-phone", NOW + 50, &mut rng);
    let late = NOW + W + 100;
    let cl = msg("carol-phone", late - 50, &mut rng);
    let bl = msg("bob-tablet", late - 40, &mut rng);
    // (capacity, maxAccounts, comment, steps)
    let mut flood_steps: Vec<Step<'_>> = flood.iter().map(|m| (m, at, co, None)).collect();
    flood_steps.extend([(&fc, at, co, ok), (&fb, at, co, ok), (&fa, at, co, old)]);
    let cases: Vec<(u64, u64, &str, Vec<Step<'_>>)> = vec![
        (
            2,
            1024,
            "capacity 2 per account: carol-phone's message evicts nothing of alice; alice-phone's third message evicts alice's own oldest, whose id is then below alice-phone's floor",
            vec![
                (&a1, at, co, ok),
                (&a2, at, co, ok),
                (&c3, at, co, ok),
                (&a1, at, co, replayed),
                (&c3, at, co, replayed),
                (&a3, at, co, ok),
                (&a1, at, co, old),
                (&a2, at, co, replayed),
            ],
        ),
        (
            2,
            1024,
            "capacity 2, alice-phone and alice-laptop at the same timestamp: alice-phone's next message evicts the entry with the smaller device id (the oldest by timestamp, device id, message id)",
            vec![
                (&pa, at, co, ok),
                (&pl, at, co, ok),
                (&pa2, at, co, ok),
                (evicted, at, co, old),
                (kept, at, co, replayed),
            ],
        ),
        (
            0,
            1024,
            "capacity 0 is treated as 1: the first id is remembered until the next acceptance evicts it",
            vec![
                (&z1, at, co, ok),
                (&z1, at, co, replayed),
                (&z2, at, co, ok),
                (&z1, at, co, old),
            ],
        ),
        (
            1,
            1024,
            "capacity 1, issue 13: alice's two devices send two messages each stamped at the edge of the skew; alice's floors reach the future, yet carol-phone's and bob-tablet's fresh messages are accepted; only alice's own fresh message is refused (the former global floor refused every sender)",
            flood_steps,
        ),
        (
            2,
            1,
            "maxAccounts 1: carol is refused TooManySenders while alice's entry is inside the window; once it is not, alice is forgotten for carol, and alice's old message stays refused when the clock steps back",
            vec![
                (&a1, at, co, ok),
                (&c3, at, co, Some("ReplayError::TooManySenders")),
                (&a1, at, "check", ok),
                (&cl, late, co, ok),
                (&a1, at, co, old),
            ],
        ),
    ];
    for (capacity, max_accounts, comment, steps) in &cases {
        let mut g = Group::new(
            "Replay",
            "Per-account stores, eviction and its tie-breaks, the account bound (SPEC.md §6).",
        )
        .field("device", json!("bob-phone"))
        .field("directory", json!(all))
        .field(
            "guard",
            json!({"capacity": capacity, "maxAccounts": max_accounts, "windowMs": W, "maxSkewMs": SKEW}),
        );
        let mut model = Model::new(*capacity, W, SKEW, *max_accounts);
        let steps = run(&mut model, steps);
        let last = steps.last().unwrap()["expect"]
            .as_str()
            .unwrap()
            .to_string();
        let v = json!({"api": "per step", "steps": steps});
        if last == "ok" {
            g.valid(comment, &["Valid"], v);
        } else {
            g.invalid(comment, &["Replay", "Order"], &last, v);
        }
        f.push(g);
    }

    // --- the persisted replay guard (SPEC.md §6.4)
    let mut g = Group::new(
        "ReplayGuardState",
        "The replay guard's persisted bytes (object type 0x21, SPEC.md §6.4): after a sequence of steps, and decode failures.",
    )
    .field("device", json!("bob-phone"))
    .field("directory", json!(all))
    .field(
        "guard",
        json!({"capacity": 2, "maxAccounts": 2, "windowMs": W, "maxSkewMs": SKEW}),
    );
    let state_cases: Vec<(&str, Vec<Step<'_>>)> = vec![
        ("a fresh guard", vec![]),
        (
            "alice-phone's three messages (one evicted: a device floor) and carol-phone's one",
            vec![(&a1, at, co, ok), (&a2, at, co, ok), (&c3, at, co, ok), (&a3, at, co, ok)],
        ),
        (
            "an id in the anonymous namespace of check, then three accounts with maxAccounts 2: bob is tracked in place of alice (forgotten floor), carol's entry leaves the window when carol sends again (a device floor)",
            vec![
                (&a1, at, "check", ok),
                (&a1, at, co, ok),
                (&c3, at, co, ok),
                (&bl, late, co, ok),
                (&cl, late, co, ok),
            ],
        ),
        (
            "alice's flood at the edge of the skew: device floors folded into alice's account floor",
            flood.iter().map(|m| (m, at, co, None)).collect(),
        ),
    ];
    let mut last_state = Vec::new();
    for (comment, steps) in &state_cases {
        let mut model = Model::new(2, W, SKEW, 2);
        let steps = run(&mut model, steps);
        last_state = model.to_bytes();
        g.valid(
            comment,
            &["State"],
            json!({"steps": steps, "state": hx(&last_state)}),
        );
    }
    // Hand-built states for the decoder (layout of SPEC.md §6.4).
    let opt = |f: Option<u64>| -> Vec<u8> {
        match f {
            None => vec![0],
            Some(v) => [&[1u8][..], &v.to_be_bytes()].concat(),
        }
    };
    let store =
        |af: Option<u64>, floors: &[([u8; 16], u64)], entries: &[([u8; 16], [u8; 16], u64)]| {
            let mut out = opt(af);
            out.extend_from_slice(&(floors.len() as u32).to_be_bytes());
            for (d, v) in floors {
                out.extend_from_slice(d);
                out.extend_from_slice(&v.to_be_bytes());
            }
            out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
            for (d, i, t) in entries {
                out.extend_from_slice(d);
                out.extend_from_slice(i);
                out.extend_from_slice(&t.to_be_bytes());
            }
            out
        };
    let state =
        |max: u32, cap: u32, ff: Option<u64>, anon: Vec<u8>, accounts: &[([u8; 32], Vec<u8>)]| {
            let mut out = vec![0x02, 0x21];
            out.extend_from_slice(&max.to_be_bytes());
            out.extend_from_slice(&cap.to_be_bytes());
            out.extend_from_slice(&W.to_be_bytes());
            out.extend_from_slice(&SKEW.to_be_bytes());
            out.extend(opt(ff));
            out.extend(anon);
            out.extend_from_slice(&(accounts.len() as u32).to_be_bytes());
            for (a, s) in accounts {
                out.extend_from_slice(a);
                out.extend_from_slice(s);
            }
            out
        };
    let (k1, k2) = ([0x11u8; 32], [0x22u8; 32]);
    let (d1, d2, z) = ([1u8; 16], [2u8; 16], [0u8; 16]);
    let (i1, i2) = ([0xa1u8; 16], [0xa2u8; 16]);
    let empty = store(None, &[], &[]);
    let good_a = store(
        Some(5),
        &[(d1, 10), (d2, 20)],
        &[(d1, i1, 30), (d2, i2, 20)],
    );
    let good_b = store(None, &[], &[(d1, i1, 40)]);
    let anon = store(None, &[(z, 7)], &[(z, i1, 9)]);
    g.valid(
        "a hand-built state with every field: forgotten floor, anonymous namespace, two accounts (account floor, device floors, an entry at its device's floor)",
        &["State"],
        json!({"state": hx(&state(2, 2, Some(3), anon.clone(), &[(k1, good_a.clone()), (k2, good_b.clone())]))}),
    );
    let mut decode_cases: Vec<(&str, Vec<u8>, &str, Option<&str>)> = Vec::new();
    let mut v1 = last_state.clone();
    v1[0] = 0x01;
    decode_cases.push((
        "wire version 0x01",
        v1,
        "DecodeError::UnsupportedVersion",
        None,
    ));
    let mut t20 = last_state.clone();
    t20[1] = 0x20;
    decode_cases.push((
        "object type 0x20 (reserved for the device keyring)",
        t20,
        "DecodeError::WrongObjectType",
        None,
    ));
    decode_cases.push((
        "truncated by one byte",
        last_state[..last_state.len() - 1].to_vec(),
        "DecodeError::Truncated",
        Some("replay entry"),
    ));
    let mut trailing = last_state.clone();
    trailing.push(0);
    decode_cases.push((
        "one byte after the state",
        trailing,
        "DecodeError::TrailingBytes",
        None,
    ));
    let fine = |max: u32, cap: u32| state(max, cap, None, empty.clone(), &[(k1, good_b.clone())]);
    decode_cases.push((
        "maxAccounts 0",
        fine(0, 2),
        "DecodeError::OutOfRange",
        Some("replay max accounts"),
    ));
    decode_cases.push((
        "maxAccounts 2^20 + 1",
        fine((1 << 20) + 1, 2),
        "DecodeError::OutOfRange",
        Some("replay max accounts"),
    ));
    decode_cases.push((
        "capacity 0",
        fine(2, 0),
        "DecodeError::OutOfRange",
        Some("replay capacity"),
    ));
    let mut flag = fine(2, 2);
    flag[26] = 2;
    decode_cases.push(("a floor flag of 2", flag, "DecodeError::NonCanonical", None));
    decode_cases.push((
        "two accounts with maxAccounts 1",
        state(
            1,
            2,
            None,
            empty.clone(),
            &[(k1, good_b.clone()), (k2, good_b.clone())],
        ),
        "DecodeError::OutOfRange",
        Some("replay account count"),
    ));
    decode_cases.push((
        "accounts not in ascending order",
        state(
            2,
            2,
            None,
            empty.clone(),
            &[(k2, good_b.clone()), (k1, good_b.clone())],
        ),
        "DecodeError::NonCanonical",
        None,
    ));
    decode_cases.push((
        "the same account twice",
        state(
            2,
            2,
            None,
            empty.clone(),
            &[(k1, good_b.clone()), (k1, good_b.clone())],
        ),
        "DecodeError::NonCanonical",
        None,
    ));
    decode_cases.push((
        "an account with no entry (no acceptance leaves one)",
        state(2, 2, None, empty.clone(), &[(k1, store(Some(5), &[], &[]))]),
        "DecodeError::OutOfRange",
        Some("replay entry count"),
    ));
    decode_cases.push((
        "three entries with capacity 2",
        state(
            2,
            2,
            None,
            empty.clone(),
            &[(
                k1,
                store(None, &[], &[(d1, i1, 1), (d1, i2, 2), (d2, i1, 3)]),
            )],
        ),
        "DecodeError::OutOfRange",
        Some("replay entry count"),
    ));
    decode_cases.push((
        "three device floors with capacity 2",
        state(
            2,
            2,
            None,
            empty.clone(),
            &[(k1, store(None, &[(z, 1), (d1, 1), (d2, 1)], &[(d1, i1, 3)]))],
        ),
        "DecodeError::OutOfRange",
        Some("replay floor count"),
    ));
    decode_cases.push((
        "device floors not in ascending order",
        state(
            2,
            2,
            None,
            empty.clone(),
            &[(k1, store(None, &[(d2, 1), (d1, 1)], &[(d1, i1, 3)]))],
        ),
        "DecodeError::NonCanonical",
        None,
    ));
    decode_cases.push((
        "entries not in ascending (device id, message id) order",
        state(
            2,
            2,
            None,
            empty.clone(),
            &[(k1, store(None, &[], &[(d1, i2, 1), (d1, i1, 2)]))],
        ),
        "DecodeError::NonCanonical",
        None,
    ));
    decode_cases.push((
        "one (device, message id) twice, at two timestamps",
        state(
            2,
            2,
            None,
            empty.clone(),
            &[(k1, store(None, &[], &[(d1, i1, 1), (d1, i1, 2)]))],
        ),
        "DecodeError::NonCanonical",
        None,
    ));
    decode_cases.push((
        "an entry below its device's floor",
        state(
            2,
            2,
            None,
            empty.clone(),
            &[(k1, store(None, &[(d1, 10)], &[(d1, i1, 9)]))],
        ),
        "DecodeError::NonCanonical",
        None,
    ));
    decode_cases.push((
        "an anonymous namespace with an account floor",
        state(2, 2, None, store(Some(1), &[], &[]), &[]),
        "DecodeError::NonCanonical",
        None,
    ));
    decode_cases.push((
        "an anonymous namespace entry under a non-zero device id",
        state(2, 2, None, store(None, &[], &[(d1, i1, 1)]), &[]),
        "DecodeError::NonCanonical",
        None,
    ));
    decode_cases.push((
        "order: capacity 0 and a wrong floor flag: the capacity is read first",
        {
            let mut b = fine(2, 0);
            b[26] = 7;
            b
        },
        "DecodeError::OutOfRange",
        Some("replay capacity"),
    ));
    for (comment, bytes, error, field) in decode_cases {
        let mut v = json!({"state": hx(&bytes)});
        if let Some(fl) = field {
            v["errorField"] = json!(fl);
        }
        let flag = match error {
            "DecodeError::Truncated" => "Truncated",
            "DecodeError::TrailingBytes" => "TrailingBytes",
            "DecodeError::OutOfRange" => "Limit",
            "DecodeError::NonCanonical" => "NonCanonical",
            _ => "Grease",
        };
        g.invalid(comment, &["State", flag], error, v);
    }
    f.push(g);

    f.render()
}
