//! prekeys.json: signed prekeys (SPEC.md §3.7), the device keyring and its
//! export (§3.8, §3.9), and sealing to prekeys without fallback (§4.9, §5.1
//! step 7, §5.2 step 2).
//!
//! Every expected output is built here and in `vectors_craft.rs` from the
//! SPEC, without fanseal: prekeys are encoded and signed by the craft code,
//! keyrings are a plain model of the §3.8 operations written out in the §3.9
//! layout, and envelopes are built by `CraftEnvelope` with the wrap key of
//! each device chosen by the §4.9 rules below.

use serde_json::{json, Value};

use super::craft::{
    self, keyring_offset as ko, offset, CraftEnvelope, CraftRecipient, KeyringBytes, List, Prekey,
    MAX_GRACE_MS, MAX_PREKEY_LIFETIME_MS,
};
use super::identity::{low_order_x25519, non_canonical_s, non_canonical_x25519, Account, Device};
use super::{bytes, file_rng, hx, padme, Group, VectorFile, NOW, YEAR};

const DAY: u64 = 24 * 3600 * 1000;
/// `CAPABILITY_PREKEYS` (SPEC.md §3.3).
const CAP_PREKEYS: u32 = 1;

// ------------------------------------------------------------ keyring model

/// A prekey policy `(R, L, G)` (SPEC.md §3.8).
#[derive(Clone, Copy, Debug)]
struct Policy {
    r: u64,
    l: u64,
    g: u64,
}

const DEFAULT_POLICY: Policy = Policy {
    r: 2 * DAY,
    l: 4 * DAY,
    g: 7 * DAY,
};

impl Policy {
    fn json(self) -> Value {
        json!({"rotationPeriodMs": self.r, "lifetimeMs": self.l, "graceMs": self.g})
    }

    fn valid(self) -> bool {
        0 < self.r && self.r <= self.l && self.l <= MAX_PREKEY_LIFETIME_MS && self.g <= MAX_GRACE_MS
    }
}

fn public_keys(secret: &[u8; 64]) -> ([u8; 32], [u8; 32]) {
    (
        craft::x25519_public(&secret[..32].try_into().unwrap()),
        craft::ed25519_public(&secret[32..].try_into().unwrap()),
    )
}

fn cert_keys(cert: &[u8]) -> ([u8; 32], [u8; 32]) {
    (
        cert[52..84].try_into().unwrap(),
        cert[84..116].try_into().unwrap(),
    )
}

/// A plain model of a device keyring and its operations (SPEC.md §3.8),
/// exported in the layout of §3.9. Refusals return the expected error and
/// change nothing.
#[derive(Clone, Debug)]
struct Model {
    policy: Policy,
    secret: [u8; 64],
    cert: Vec<u8>,
    retired: Vec<([u8; 64], Vec<u8>, u64)>,
    prekeys: Vec<([u8; 32], Vec<u8>)>,
}

impl Model {
    fn new(secret: [u8; 64], cert: Vec<u8>) -> Self {
        assert_eq!(public_keys(&secret), cert_keys(&cert));
        Model {
            policy: DEFAULT_POLICY,
            secret,
            cert,
            retired: Vec::new(),
            prekeys: Vec::new(),
        }
    }

    fn held_key_ids(&self) -> Vec<[u8; 16]> {
        let mut ids = vec![craft::certificate_key_id(&self.cert)];
        ids.extend(
            self.retired
                .iter()
                .map(|(_, c, _)| craft::certificate_key_id(c)),
        );
        ids.extend(self.prekeys.iter().map(|(_, p)| craft::prekey_key_id(p)));
        ids
    }

    fn set_policy(&mut self, p: Policy) -> Result<(), &'static str> {
        if !p.valid() {
            return Err("KeyringError::InvalidPolicy");
        }
        self.policy = p;
        Ok(())
    }

    /// Rotate at `now`; `drawn` is consulted only once the checks before
    /// the draw passed (returns whether it was drawn).
    fn rotate(&mut self, now: u64, drawn: [u8; 32]) -> (Result<Vec<u8>, &'static str>, bool) {
        if self.prekeys.len() >= 32 {
            return (Err("KeyringError::Full"), false);
        }
        let Some(expires) = now.checked_add(self.policy.l).filter(|t| *t != u64::MAX) else {
            return (Err("KeyringError::InvalidPolicy"), false);
        };
        let seed: [u8; 32] = self.secret[32..].try_into().unwrap();
        let p = Prekey::new(
            self.cert[4..36].try_into().unwrap(),
            self.cert[36..52].try_into().unwrap(),
            craft::ed25519_public(&seed),
            craft::x25519_public(&drawn),
            now,
            expires,
        )
        .signed(&seed);
        if self.held_key_ids().contains(&craft::prekey_key_id(&p)) {
            return (Err("KeyringError::SameKeys"), true);
        }
        self.prekeys.push((drawn, p.clone()));
        (Ok(p), true)
    }

    fn same_device(&self, cert: &[u8]) -> bool {
        cert[4..52] == self.cert[4..52]
    }

    fn rekey(&mut self, secret: [u8; 64], cert: Vec<u8>, now: u64) -> Result<(), &'static str> {
        if !self.same_device(&cert) {
            return Err("KeyringError::WrongDevice");
        }
        if public_keys(&secret) != cert_keys(&cert) {
            return Err("KeyringError::KeyMismatch");
        }
        let ed = cert_keys(&cert).1;
        let ed_held = std::iter::once(&self.cert)
            .chain(self.retired.iter().map(|(_, c, _)| c))
            .any(|c| cert_keys(c).1 == ed);
        if ed_held
            || self
                .held_key_ids()
                .contains(&craft::certificate_key_id(&cert))
        {
            return Err("KeyringError::SameKeys");
        }
        if self.retired.len() >= 8 {
            return Err("KeyringError::Full");
        }
        let old_secret = std::mem::replace(&mut self.secret, secret);
        let old_cert = std::mem::replace(&mut self.cert, cert);
        self.retired.push((old_secret, old_cert, now));
        Ok(())
    }

    fn renew(&mut self, cert: Vec<u8>) -> Result<(), &'static str> {
        if !self.same_device(&cert) {
            return Err("KeyringError::WrongDevice");
        }
        if cert_keys(&cert) != cert_keys(&self.cert) {
            return Err("KeyringError::KeyMismatch");
        }
        self.cert = cert;
        Ok(())
    }

    fn delete(&mut self, now: u64) -> usize {
        let g = self.policy.g;
        let before = self.prekeys.len() + self.retired.len();
        self.prekeys.retain(|(_, p)| {
            let expires = u64::from_be_bytes(p[124..132].try_into().unwrap());
            expires.saturating_add(g) > now
        });
        self.retired.retain(|(_, _, at)| at.saturating_add(g) > now);
        before - self.prekeys.len() - self.retired.len()
    }

    fn bytes(&self) -> KeyringBytes {
        KeyringBytes {
            version: 2,
            object_type: 0x20,
            rotation_ms: self.policy.r,
            lifetime_ms: self.policy.l,
            grace_ms: self.policy.g,
            secret: self.secret,
            certificate: self.cert.clone(),
            retired: self.retired.clone(),
            prekeys: self.prekeys.clone(),
        }
        .canonical()
    }

    fn export(&self) -> Vec<u8> {
        self.bytes().encode()
    }
}

// ------------------------------------------------------------ the world

struct Dev {
    name: &'static str,
    account: &'static str,
    device: Device,
    cert: Vec<u8>,
}

struct NamedPrekey {
    name: &'static str,
    device: &'static str,
    bytes: Vec<u8>,
}

struct World {
    accounts: Vec<(&'static str, Account)>,
    /// (list name, account name, encoded list)
    lists: Vec<(&'static str, &'static str, Vec<u8>)>,
    devices: Vec<Dev>,
    prekeys: Vec<NamedPrekey>,
    keyrings: Vec<(&'static str, &'static str, Model)>,
}

impl World {
    fn new(rng: &mut rand_chacha::ChaCha20Rng) -> Self {
        let mut accounts = Vec::new();
        for name in ["alice", "bob", "carol"] {
            accounts.push((name, Account::new(rng)));
        }
        let acct =
            |accounts: &[(&str, Account)], n: &str| accounts.iter().find(|a| a.0 == n).unwrap().1;
        // (account, device, expiry, capabilities)
        let plan: [(&str, &str, Option<u64>, u32); 8] = [
            ("alice", "alice-phone", None, CAP_PREKEYS),
            ("alice", "alice-laptop", None, CAP_PREKEYS),
            ("alice", "alice-watch", Some(NOW - 1), CAP_PREKEYS),
            ("bob", "bob-phone-old", None, 0),
            ("bob", "bob-phone", None, CAP_PREKEYS),
            ("bob", "bob-tablet", None, 0),
            ("carol", "carol-server", None, 0),
            ("carol", "carol-phone", Some(NOW + YEAR), CAP_PREKEYS),
        ];
        let mut devices: Vec<Dev> = Vec::new();
        for (a, name, expiry, caps) in plan {
            let account = acct(&accounts, a);
            let mut device = Device::new(rng);
            if name == "bob-phone" {
                // The same device as bob-phone-old, re-keyed: same device id.
                device.device_id = devices
                    .iter()
                    .find(|d| d.name == "bob-phone-old")
                    .unwrap()
                    .device
                    .device_id;
            }
            let mut cert = device.cert(&account, expiry);
            cert.capabilities = caps;
            devices.push(Dev {
                name,
                account: a,
                device,
                cert: cert.signed(&account.seed),
            });
        }
        let list_of = |accounts: &[(&str, Account)],
                       devices: &[Dev],
                       a: &str,
                       names: &[&str],
                       version: u64,
                       previous_hash: [u8; 32]| {
            let account = acct(accounts, a);
            let mut certs: Vec<&Dev> = devices.iter().filter(|d| names.contains(&d.name)).collect();
            certs.sort_by_key(|d| d.device.device_id);
            List {
                suite: 1,
                account: account.public,
                version,
                previous_hash,
                issued_at: NOW - YEAR,
                certificates: certs.iter().map(|d| d.cert.clone()).collect(),
            }
            .signed(&account.seed)
        };
        let alice = list_of(
            &accounts,
            &devices,
            "alice",
            &["alice-phone", "alice-laptop", "alice-watch"],
            1,
            [0; 32],
        );
        let bob_old = list_of(
            &accounts,
            &devices,
            "bob",
            &["bob-phone-old", "bob-tablet"],
            1,
            [0; 32],
        );
        let bob = list_of(
            &accounts,
            &devices,
            "bob",
            &["bob-phone", "bob-tablet"],
            2,
            craft::list_hash(&bob_old),
        );
        let carol = list_of(
            &accounts,
            &devices,
            "carol",
            &["carol-server", "carol-phone"],
            1,
            [0; 32],
        );
        let lists = vec![
            ("alice", "alice", alice),
            ("bob-old", "bob", bob_old),
            ("bob", "bob", bob),
            ("carol", "carol", carol),
        ];

        let mut world = World {
            accounts,
            lists,
            devices,
            prekeys: Vec::new(),
            keyrings: Vec::new(),
        };
        // Keyrings, each a scripted history under the default policy.
        let mut rot = |world: &mut World, m: &mut Model, device: &'static str, now: u64, name| {
            let (p, drawn) = m.rotate(now, bytes(rng));
            assert!(drawn);
            world.prekeys.push(NamedPrekey {
                name,
                device,
                bytes: p.unwrap(),
            });
        };
        let mut m = world.model("alice-phone");
        rot(
            &mut world,
            &mut m,
            "alice-phone",
            NOW - 3 * DAY,
            "alice-phone-1",
        );
        rot(
            &mut world,
            &mut m,
            "alice-phone",
            NOW - DAY,
            "alice-phone-2",
        );
        world.keyrings.push(("alice-phone", "alice-phone", m));
        let mut m = world.model("alice-laptop");
        rot(
            &mut world,
            &mut m,
            "alice-laptop",
            NOW - DAY,
            "alice-laptop-a",
        );
        rot(
            &mut world,
            &mut m,
            "alice-laptop",
            NOW - DAY,
            "alice-laptop-b",
        );
        world.keyrings.push(("alice-laptop", "alice-laptop", m));
        let mut m = world.model("alice-watch");
        rot(
            &mut world,
            &mut m,
            "alice-watch",
            NOW - 2 * DAY,
            "alice-watch-1",
        );
        let mut m = world.model("bob-phone-old");
        rot(
            &mut world,
            &mut m,
            "bob-phone-old",
            NOW - 12 * DAY,
            "bob-phone-old-1",
        );
        let new = world.dev("bob-phone");
        m.rekey(new.device.secret, new.cert.clone(), NOW - 10 * DAY)
            .unwrap();
        rot(&mut world, &mut m, "bob-phone", NOW - DAY, "bob-phone-1");
        let mut deleted = m.clone();
        assert_eq!(deleted.delete(NOW), 2);
        world.keyrings.push(("bob-phone", "bob-phone", m));
        world
            .keyrings
            .push(("bob-phone-deleted", "bob-phone", deleted));
        let mut m = world.model("bob-tablet");
        rot(&mut world, &mut m, "bob-tablet", NOW - DAY, "bob-tablet-1");
        world.keyrings.push(("bob-tablet", "bob-tablet", m));
        let m = world.model("carol-server");
        world.keyrings.push(("carol-server", "carol-server", m));
        let mut m = world.model("carol-phone");
        rot(
            &mut world,
            &mut m,
            "carol-phone",
            NOW - 4 * DAY,
            "carol-phone-old",
        );
        rot(
            &mut world,
            &mut m,
            "carol-phone",
            NOW - DAY,
            "carol-phone-1",
        );
        world.keyrings.push(("carol-phone", "carol-phone", m));
        world
    }

    fn model(&self, device: &str) -> Model {
        let d = self.dev(device);
        Model::new(d.device.secret, d.cert.clone())
    }

    fn dev(&self, name: &str) -> &Dev {
        self.devices.iter().find(|d| d.name == name).unwrap()
    }

    fn account(&self, name: &str) -> Account {
        self.accounts.iter().find(|a| a.0 == name).unwrap().1
    }

    fn list(&self, name: &str) -> &[u8] {
        &self.lists.iter().find(|l| l.0 == name).unwrap().2
    }

    fn prekey(&self, name: &str) -> &[u8] {
        &self.prekeys.iter().find(|p| p.name == name).unwrap().bytes
    }

    fn keyring(&self, name: &str) -> &Model {
        &self.keyrings.iter().find(|k| k.0 == name).unwrap().2
    }

    fn identities(&self) -> Value {
        json!({
            "accounts": self.accounts.iter().map(|(n, a)| json!({
                "name": n,
                "publicKey": hx(&a.public),
            })).collect::<Vec<_>>(),
            "lists": self.lists.iter().map(|(n, a, l)| json!({
                "name": n,
                "account": a,
                "deviceList": hx(l),
            })).collect::<Vec<_>>(),
            "devices": self.devices.iter().map(|d| json!({
                "name": d.name,
                "account": d.account,
                "secret": hx(&d.device.secret),
                "certificate": hx(&d.cert),
                "keyId": hx(&craft::certificate_key_id(&d.cert)),
                "deviceId": hx(&d.device.device_id),
            })).collect::<Vec<_>>(),
            "prekeys": self.prekeys.iter().map(|p| json!({
                "name": p.name,
                "device": p.device,
                "prekey": hx(&p.bytes),
                "keyId": hx(&craft::prekey_key_id(&p.bytes)),
            })).collect::<Vec<_>>(),
            "keyrings": self.keyrings.iter().map(|(n, d, m)| json!({
                "name": n,
                "device": d,
                "export": hx(&m.export()),
            })).collect::<Vec<_>>(),
        })
    }

    /// The name of the keyring key (certificate or prekey) with this key id.
    fn key_name(&self, key_id: &[u8; 16]) -> (&'static str, &'static str) {
        if let Some(d) = self
            .devices
            .iter()
            .find(|d| craft::certificate_key_id(&d.cert) == *key_id)
        {
            return ("certificate", d.name);
        }
        let p = self
            .prekeys
            .iter()
            .find(|p| craft::prekey_key_id(&p.bytes) == *key_id)
            .unwrap();
        ("prekey", p.name)
    }
}

// ------------------------------------------------------------ §4.9, §5.1 step 7

/// A prekey passed to seal: its name, the list it was verified against
/// (SPEC.md §3.7, list form) and when.
#[derive(Clone, Copy)]
struct Passed {
    name: &'static str,
    list: &'static str,
    at: u64,
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}

/// The wraps seal makes (SPEC.md §4.9, §5.1 step 7), in key-id order, or
/// the `(account, device id)` of the first device (lists in the order
/// passed, devices in list order) with no key to wrap to.
fn wrap_targets(
    world: &World,
    lists: &[&str],
    passed: &[Passed],
    now: u64,
    secret: [u8; 32],
) -> Result<Vec<CraftRecipient>, ([u8; 32], [u8; 16])> {
    // Only verified prekeys are passed: check what verification would.
    for p in passed {
        let b = world.prekey(p.name);
        let (created, expires) = (u64_at(b, 116), u64_at(b, 124));
        assert!(created < expires && expires - created <= MAX_PREKEY_LIFETIME_MS);
        assert!(expires > p.at, "{} is expired when verified", p.name);
        let listed = craft::list_certificates(world.list(p.list))
            .into_iter()
            .any(|c| c[4..52] == b[4..52] && c[84..116] == b[52..84]);
        assert!(listed, "{} does not verify against {}", p.name, p.list);
    }
    let mut out = Vec::new();
    for l in lists {
        for cert in craft::list_certificates(world.list(l)) {
            let expires = u64_at(&cert, 124);
            if expires != craft::NEVER && expires <= now {
                continue;
            }
            let best = passed
                .iter()
                .map(|p| world.prekey(p.name))
                .filter(|p| {
                    p[4..36] == cert[4..36]
                        && p[36..52] == cert[36..52]
                        && p[52..84] == cert[84..116]
                        && u64_at(p, 124) > now
                })
                .max_by_key(|p| (u64_at(p, 116), craft::prekey_key_id(p)));
            let caps = u32::from_be_bytes(cert[132..136].try_into().unwrap());
            match best {
                Some(p) => out.push(CraftRecipient::to_prekey(p, secret)),
                None if caps & CAP_PREKEYS != 0 => {
                    return Err((
                        cert[4..36].try_into().unwrap(),
                        cert[36..52].try_into().unwrap(),
                    ))
                }
                None => out.push(CraftRecipient::to_certificate(&cert, secret)),
            }
        }
    }
    out.sort_by_key(|r| r.key_id);
    Ok(out)
}

fn envelope(
    world: &World,
    sender: &str,
    recipients: Vec<CraftRecipient>,
    payload: &[u8],
    aad: &[u8],
    now: u64,
    randomness: &[u8; 80],
) -> CraftEnvelope {
    let s = world.dev(sender);
    let unpadded = s.cert.len() + 8 + 4 + aad.len() + 4 + payload.len() + 64;
    CraftEnvelope {
        version: 2,
        object_type: 3,
        suite: 1,
        message_id: randomness[..16].try_into().unwrap(),
        timestamp: now,
        ephemeral_secret: randomness[48..].try_into().unwrap(),
        ephemeral_public_override: None,
        message_secret: randomness[16..48].try_into().unwrap(),
        recipients,
        certificate: s.cert.clone(),
        aad: aad.to_vec(),
        payload: payload.to_vec(),
        payload_len_field: None,
        signer_seed: s.device.ed_seed,
        padded_len: usize::try_from(padme(unpadded as u64)).unwrap(),
        padding_byte: 0,
        small_order_r: false,
    }
}

fn delivery(env: &[u8], n: usize, i: usize) -> Vec<u8> {
    let mut d = vec![2u8, 4];
    d.extend_from_slice(&env[2..offset::wraps(n)]);
    let w = offset::wraps(n) + 48 * i;
    d.extend_from_slice(&env[w..w + 48]);
    d.extend_from_slice(&env[offset::body(n)..]);
    d
}

/// Every key id a keyring model holds, in the order SPEC.md §5.2 step 2
/// lists them (the lowest header position wins, so the order does not matter).
fn keyring_ids(m: &Model) -> Vec<[u8; 16]> {
    m.held_key_ids()
}

/// What `keyring` gets from opening an honest envelope `e` (SPEC.md §5.2):
/// the key found at the lowest header position, or NotARecipient.
fn open_result(world: &World, e: &CraftEnvelope, keyring: &str) -> Value {
    let m = world.keyring(keyring);
    let held = keyring_ids(m);
    let at = e.recipients.iter().position(|r| held.contains(&r.key_id));
    match at {
        None => {
            json!({"keyring": keyring, "result": "invalid", "error": "OpenError::NotARecipient"})
        }
        Some(i) => {
            let sender = world
                .devices
                .iter()
                .find(|d| d.cert == e.certificate)
                .unwrap();
            json!({
                "keyring": keyring,
                "result": "valid",
                "payload": hx(&e.payload),
                "aad": hx(&e.aad),
                "senderAccount": hx(&world.account(sender.account).public),
                "senderDevice": hx(&sender.device.device_id),
                "messageId": hx(&e.message_id),
                "timestamp": e.timestamp,
                "openedWith": hx(&e.recipients[i].key_id),
            })
        }
    }
}

fn passed_json(passed: &[Passed]) -> Value {
    json!(passed
        .iter()
        .map(|p| json!({"prekey": p.name, "list": p.list, "verifiedAt": p.at}))
        .collect::<Vec<_>>())
}

fn with(b: &[u8], i: usize, v: u8) -> Vec<u8> {
    let mut x = b.to_vec();
    x[i] = v;
    x
}

fn flip(b: &[u8], i: usize) -> Vec<u8> {
    let mut x = b.to_vec();
    x[i] ^= 0x01;
    x
}

// ------------------------------------------------------------ the file

pub(crate) fn prekeys() -> String {
    let mut rng = file_rng("prekeys.json");
    let mut f = VectorFile::new(
        "fanseal signed prekeys and device keyrings",
        json!({
            "identities": "Shared by every group. accounts: name, publicKey. lists: name, account, deviceList (bytes; verifies for the account's publicKey; bob-old is Bob's list before bob-phone re-keyed, bob the list after, version 2). devices: name, account, secret (64 bytes: X25519 secret || Ed25519 seed), certificate (bytes, its public keys are the secret's), keyId, deviceId; bob-phone-old and bob-phone are one device (same device id) before and after a re-key. prekeys: name, device (whose current Ed25519 key signed it), prekey (196 bytes), keyId. keyrings: name, device (the device whose certificate is the keyring's current one), export (the keyring as DeviceKeyring::export writes it; DeviceKeyring::import loads it).",
            "PrekeyIssue": "secret (64 bytes), certificate (bytes; verifies for account), policy {rotationPeriodMs, lifetimeMs, graceMs} (DeviceKeyring::set_policy), now, randomness (the 32 bytes DeviceKeyring::rotate_prekey draws: the prekey's X25519 secret, clamped at use) -> prekey (exact 196 bytes: Ed25519 is deterministic), keyId = SHA-256(u8 len || \"fanseal v2 key id\" || account || prekeyX25519)[0..16], recipientBinding = SHA-256(u8 len || \"fanseal v2 recipient binding\" || account || deviceId || prekeyX25519); or the KeyringError of set_policy / rotate_prekey. A refusal before the draw draws nothing (randomness is then empty).",
            "PrekeyVerify": "prekey (bytes), form, listName (a list of identities), now. form \"certificate\": SignedPrekey::verify against the verified certificate of device (its certificate on that list); form \"list\": VerifiedDeviceList::verify_prekey on that list. -> the decoded fields (account, deviceId, deviceKey, publicKey, createdAt, expiresAt), keyId and recipientBinding; or the DecodeError of SignedPrekey::from_bytes, then the PrekeyError (the first step of SPEC.md §3.7 that fails).",
            "KeyringExport": "secret and certificate (start a DeviceKeyring; every certificate of a script is signed by the account it names), policy (set_policy, before the steps), steps in order: {op: rotate, now, randomness (32 bytes drawn) -> prekey} | {op: rekey, secret, certificate, now} | {op: renew, certificate} | {op: delete, now -> deleted (count)} | {op: setPolicy, policy}; a step with result invalid must be refused with its error and change nothing -> export (exact bytes of DeviceKeyring::export after the last step; DeviceKeyring::import(export).export() equals it).",
            "KeyringImport": "export (bytes) -> DeviceKeyring::import succeeds and export() gives the same bytes, with the current keyId, the policy and the prekeys' keyIds in export order; or KeyringError::Decode(DecodeError::*), the first failure of SPEC.md §3.9 steps 1-5. errorField: the field of a Truncated or OutOfRange error; errorWhat: the string of an Inconsistent or NonCanonical error.",
            "SealToPrekeys": "sender (device: its secret and certificate), recipients (list names, in the order passed), prekeys [{prekey, list, verifiedAt}] (each verified with VerifiedDeviceList::verify_prekey against list at verifiedAt, then all passed to seal), payload, aad, padding, now, randomness (messageId 16, messageSecret 32, ephemeralSecret 32) -> envelope (exact bytes), header (recipients: key ids ascending), wraps (per recipient in key-id order: keyId, device, to = \"prekey\" (name in key) or \"certificate\", x25519Public and recipientBinding: the key wrapped to and the wrap's AEAD associated data), deliveries (keyId, delivery), then opens: each named keyring opens the envelope and its delivery (if any) with directory (list names) at openNow -> payload, aad, senderAccount, senderDevice, messageId, timestamp, openedWith (key id of the keyring key that opened it), or the OpenError. Invalid: the SealError (no randomness drawn); for MissingPrekey, missingAccount and missingDeviceId name the device.",
            "OpenWithKeyring": "keyring (name), message (envelope or delivery bytes), directory (list names), now -> payload, aad, senderAccount, senderDevice, messageId, timestamp, openedWith; or the OpenError of open.",
        }),
    );
    f.flag("Valid", "a well-formed object used as intended");
    f.flag(
        "Policy",
        "a rotation policy other than the default, or at its limits",
    );
    f.flag(
        "Boundary",
        "a time or lifetime exactly at, or one off, a limit",
    );
    f.flag("WrongAccount", "a prekey naming another account");
    f.flag(
        "WrongDevice",
        "a prekey naming another device, or replayed from one",
    );
    f.flag("Rekey", "a device that re-keyed: old and new device keys");
    f.flag("LowOrderKey", "a low-order X25519 prekey");
    f.flag("NonCanonicalKey", "a non-canonical X25519 prekey encoding");
    f.flag("BadSignature", "a signature that does not verify strictly");
    f.flag("LabelConfusion", "a signature made under another label");
    f.flag("NonCanonicalSignature", "a signature scalar s >= L");
    f.flag(
        "Lifetime",
        "a prekey lifetime outside (0, MAX_PREKEY_LIFETIME_MS]",
    );
    f.flag("Expiry", "expiry at the caller's time");
    f.flag("ListForm", "VerifiedDeviceList::verify_prekey");
    f.flag("Truncated", "the input ends early");
    f.flag("TrailingBytes", "bytes after a complete object");
    f.flag("Grease", "an unknown version, object type or suite");
    f.flag(
        "Order",
        "several checks fail: the first in the specified order wins",
    );
    f.flag(
        "Inconsistent",
        "persisted state that decodes but contradicts itself",
    );
    f.flag("NonCanonical", "entries not in their one canonical order");
    f.flag("Limit", "a count outside its bounds");
    f.flag("Refusal", "a keyring operation refused (changing nothing)");
    f.flag("Deletion", "secrets deleted after their grace period");
    f.flag(
        "NoCapability",
        "a device whose certificate does not set CAPABILITY_PREKEYS",
    );
    f.flag("SelfSync", "the sender's own device is a recipient");
    f.flag(
        "MissingPrekey",
        "a device that requires a prekey has no usable one",
    );
    f.flag(
        "Superseded",
        "a key set or prekey superseded but still held",
    );
    f.flag("NotARecipient", "the keyring holds no key the header names");
    f.flag(
        "Crafted",
        "an envelope no honest seal produces, built by hand",
    );

    let world = World::new(&mut rng);
    f.extra("identities", world.identities());

    prekey_issue(&mut f, &world, &mut rng);
    prekey_verify(&mut f, &world, &mut rng);
    let scripts = keyring_export(&mut f, &world, &mut rng);
    keyring_import(&mut f, &world, &scripts, &mut rng);
    let sealed = seal_to_prekeys(&mut f, &world, &mut rng);
    open_with_keyring(&mut f, &world, &sealed, &mut rng);
    f.render()
}

// ------------------------------------------------------------ PrekeyIssue

fn prekey_issue(f: &mut VectorFile, world: &World, rng: &mut rand_chacha::ChaCha20Rng) {
    let mut g = Group::new(
        "PrekeyIssue",
        "A device keyring signs a prekey from 32 drawn bytes at now (SPEC.md §3.7, §3.8 Rotate).",
    );
    let issue = |g: &mut Group,
                 dev: &str,
                 policy: Policy,
                 now: u64,
                 drawn: [u8; 32],
                 comment: &str,
                 flags: &[&str]| {
        let d = world.dev(dev);
        let mut m = Model::new(d.device.secret, d.cert.clone());
        let set = m.set_policy(policy);
        let (r, was_drawn) = match set {
            Ok(()) => m.rotate(now, drawn),
            Err(e) => (Err(e), false),
        };
        let mut fields = json!({
            "secret": hx(&d.device.secret),
            "certificate": hx(&d.cert),
            "account": hx(&world.account(d.account).public),
            "policy": policy.json(),
            "now": now,
            "randomness": if was_drawn { hx(&drawn) } else { json!("") },
        });
        match r {
            Ok(p) => {
                let x = craft::x25519_public(&drawn);
                fields["prekey"] = hx(&p);
                fields["keyId"] = hx(&craft::prekey_key_id(&p));
                fields["recipientBinding"] = hx(&craft::recipient_binding(
                    &p[4..36].try_into().unwrap(),
                    &d.device.device_id,
                    &x,
                ));
                g.valid(comment, flags, fields);
            }
            Err(e) => g.invalid(comment, flags, e, fields),
        }
    };
    issue(
        &mut g,
        "alice-phone",
        DEFAULT_POLICY,
        NOW,
        bytes(rng),
        "default policy: expires 4 days after now",
        &["Valid"],
    );
    issue(
        &mut g,
        "bob-tablet",
        DEFAULT_POLICY,
        NOW,
        bytes(rng),
        "a device without CAPABILITY_PREKEYS may publish prekeys too",
        &["Valid", "NoCapability"],
    );
    issue(
        &mut g,
        "bob-phone",
        Policy {
            r: DAY,
            l: MAX_PREKEY_LIFETIME_MS,
            g: MAX_GRACE_MS,
        },
        NOW,
        bytes(rng),
        "lifetime = MAX_PREKEY_LIFETIME_MS and grace = MAX_GRACE_MS exactly",
        &["Valid", "Policy", "Boundary"],
    );
    issue(
        &mut g,
        "carol-phone",
        Policy { r: 1, l: 1, g: 0 },
        0,
        bytes(rng),
        "the smallest policy (R = L = 1 ms, G = 0) at now = 0",
        &["Valid", "Policy", "Boundary"],
    );
    issue(
        &mut g,
        "alice-laptop",
        DEFAULT_POLICY,
        u64::MAX - DEFAULT_POLICY.l - 1,
        bytes(rng),
        "now + L = 2^64 - 2: the latest time a prekey can be made",
        &["Valid", "Boundary"],
    );
    let zero = [0u8; 32];
    issue(
        &mut g,
        "alice-phone",
        DEFAULT_POLICY,
        NOW,
        zero,
        "32 zero bytes drawn (clamping makes them a valid secret)",
        &["Valid"],
    );
    issue(
        &mut g,
        "alice-laptop",
        DEFAULT_POLICY,
        u64::MAX - DEFAULT_POLICY.l,
        bytes(rng),
        "now + L = 2^64 - 1 (an expiry reserved as \"never\" by certificates): refused before drawing",
        &["Boundary"],
    );
    issue(
        &mut g,
        "alice-laptop",
        DEFAULT_POLICY,
        u64::MAX - 5,
        bytes(rng),
        "now + L overflows: refused before drawing",
        &["Boundary"],
    );
    let d = world.dev("alice-phone");
    issue(
        &mut g,
        "alice-phone",
        DEFAULT_POLICY,
        NOW,
        d.device.x25519_secret(),
        "the drawn bytes are the device's own X25519 secret: the prekey's key id is the certificate's, refused after the draw",
        &["Refusal"],
    );
    for (p, why) in [
        (
            Policy {
                r: 0,
                l: DAY,
                g: DAY,
            },
            "rotation period 0",
        ),
        (
            Policy {
                r: 2 * DAY,
                l: DAY,
                g: DAY,
            },
            "rotation period above the lifetime",
        ),
        (
            Policy {
                r: DAY,
                l: MAX_PREKEY_LIFETIME_MS + 1,
                g: DAY,
            },
            "lifetime MAX_PREKEY_LIFETIME_MS + 1",
        ),
        (
            Policy {
                r: DAY,
                l: DAY,
                g: MAX_GRACE_MS + 1,
            },
            "grace MAX_GRACE_MS + 1",
        ),
    ] {
        issue(
            &mut g,
            "alice-phone",
            p,
            NOW,
            bytes(rng),
            &format!("set_policy refuses: {why}"),
            &["Policy", "Boundary"],
        );
    }
    f.push(g);
}

// ------------------------------------------------------------ PrekeyVerify

fn prekey_verify(f: &mut VectorFile, world: &World, rng: &mut rand_chacha::ChaCha20Rng) {
    let mut g = Group::new(
        "PrekeyVerify",
        "Decode a signed prekey, then verify it as a prekey of a device (SPEC.md §3.7).",
    );
    let alice = world.account("alice");
    let bob = world.account("bob");
    let phone = world.dev("alice-phone");
    let laptop = world.dev("alice-laptop");
    let seed = phone.device.ed_seed;
    // A fresh prekey of alice-phone, made for these cases.
    let x = craft::x25519_public(&bytes(rng));
    let created = NOW - DAY;
    let base = Prekey::new(
        alice.public,
        phone.device.device_id,
        phone.device.ed25519,
        x,
        created,
        created + 4 * DAY,
    );
    let good = base.signed(&seed);

    let fields = |p: &[u8]| -> Value {
        json!({
            "account": hx(&p[4..36]),
            "deviceId": hx(&p[36..52]),
            "deviceKey": hx(&p[52..84]),
            "publicKey": hx(&p[84..116]),
            "createdAt": u64_at(p, 116),
            "expiresAt": u64_at(p, 124),
            "keyId": hx(&craft::prekey_key_id(p)),
            "recipientBinding": hx(&craft::recipient_binding(
                &p[4..36].try_into().unwrap(),
                &p[36..52].try_into().unwrap(),
                &p[84..116].try_into().unwrap(),
            )),
        })
    };
    let valid = |g: &mut Group,
                 p: &[u8],
                 form: &str,
                 list: &str,
                 device: &str,
                 now: u64,
                 comment: &str,
                 flags: &[&str]| {
        let mut v = fields(p);
        v["prekey"] = hx(p);
        v["form"] = json!(form);
        v["listName"] = json!(list);
        if form == "certificate" {
            v["device"] = json!(device);
        }
        v["now"] = json!(now);
        g.valid(comment, flags, v);
    };
    let inv = |g: &mut Group,
               p: &[u8],
               form: &str,
               list: &str,
               device: &str,
               now: u64,
               comment: &str,
               flags: &[&str],
               error: &str| {
        let mut v = json!({"prekey": hx(p), "form": form, "listName": list, "now": now});
        if form == "certificate" {
            v["device"] = json!(device);
        }
        g.invalid(comment, flags, error, v);
    };
    let signed = |p: &Prekey| p.signed(&seed);

    valid(
        &mut g,
        &good,
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "a prekey of alice-phone, verified against its certificate",
        &["Valid"],
    );
    valid(
        &mut g,
        &good,
        "list",
        "alice",
        "",
        NOW,
        "the same prekey, verified against Alice's list",
        &["Valid", "ListForm"],
    );
    valid(
        &mut g,
        world.prekey("alice-laptop-a"),
        "list",
        "alice",
        "",
        NOW,
        "a prekey published by alice-laptop's keyring",
        &["Valid", "ListForm"],
    );
    valid(&mut g, world.prekey("alice-watch-1"), "list", "alice", "", NOW, "a prekey of alice-watch, whose certificate has expired: the list form verifies it anyway (seal skips expired devices)", &["Valid", "ListForm", "Expiry"]);
    valid(
        &mut g,
        world.prekey("bob-phone-1"),
        "certificate",
        "bob",
        "bob-phone",
        NOW,
        "bob-phone's prekey after the re-key, against its new certificate",
        &["Valid", "Rekey"],
    );
    valid(&mut g, world.prekey("bob-phone-old-1"), "certificate", "bob-old", "bob-phone-old", NOW - 11 * DAY, "bob-phone's prekey before the re-key, against its old certificate (Bob's previous list), before it expired", &["Valid", "Rekey"]);
    let mut p = base.clone();
    p.expires_at = created + MAX_PREKEY_LIFETIME_MS;
    valid(
        &mut g,
        &signed(&p),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "lifetime exactly MAX_PREKEY_LIFETIME_MS",
        &["Valid", "Lifetime", "Boundary"],
    );
    let mut p = base.clone();
    p.expires_at = created + 1;
    valid(
        &mut g,
        &signed(&p),
        "certificate",
        "alice",
        "alice-phone",
        created,
        "lifetime 1 ms, verified at created_at",
        &["Valid", "Lifetime", "Boundary"],
    );
    valid(
        &mut g,
        &good,
        "certificate",
        "alice",
        "alice-phone",
        base.expires_at - 1,
        "now = expires_at - 1: not expired",
        &["Valid", "Expiry", "Boundary"],
    );

    // Step 1: WrongAccount alone (every other field right for alice-phone).
    let mut p = base.clone();
    p.account = bob.public;
    inv(
        &mut g,
        &signed(&p),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "names Bob's account, otherwise alice-phone's own prekey (signed by its key)",
        &["WrongAccount"],
        "PrekeyError::WrongAccount",
    );
    inv(
        &mut g,
        world.prekey("bob-tablet-1"),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "bob-tablet's genuine prekey replayed as alice-phone's (another account)",
        &["WrongAccount", "WrongDevice"],
        "PrekeyError::WrongAccount",
    );
    // Step 2.
    let mut p = base.clone();
    p.device_id = laptop.device.device_id;
    inv(
        &mut g,
        &signed(&p),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "names alice-laptop's device id, signed by alice-phone's key",
        &["WrongDevice"],
        "PrekeyError::WrongDevice",
    );
    inv(&mut g, world.prekey("alice-laptop-a"), "certificate", "alice", "alice-phone", NOW, "alice-laptop's genuine prekey replayed as alice-phone's (another device of the same account)", &["WrongDevice"], "PrekeyError::WrongDevice");
    // Step 3.
    let mut p = base.clone();
    p.device_key = laptop.device.ed25519;
    inv(
        &mut g,
        &p.signed(&laptop.device.ed_seed),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "names alice-phone, signed by (and naming) alice-laptop's Ed25519 key",
        &["WrongDevice"],
        "PrekeyError::WrongDeviceKey",
    );
    inv(
        &mut g,
        world.prekey("bob-phone-old-1"),
        "certificate",
        "bob",
        "bob-phone",
        NOW - 11 * DAY,
        "a prekey signed before bob-phone re-keyed, against its new certificate (unexpired at now)",
        &["Rekey"],
        "PrekeyError::WrongDeviceKey",
    );
    // Step 4.
    for (k, why) in low_order_x25519() {
        let mut p = base.clone();
        p.x25519 = k;
        inv(
            &mut g,
            &signed(&p),
            "certificate",
            "alice",
            "alice-phone",
            NOW,
            &format!("{why}, validly signed"),
            &["LowOrderKey"],
            "PrekeyError::InvalidX25519Key",
        );
    }
    for (k, why) in non_canonical_x25519(&x) {
        let mut p = base.clone();
        p.x25519 = k;
        inv(
            &mut g,
            &signed(&p),
            "certificate",
            "alice",
            "alice-phone",
            NOW,
            &format!("{why}, validly signed"),
            &["NonCanonicalKey"],
            "PrekeyError::InvalidX25519Key",
        );
    }
    // Step 5.
    let sig_at = 132;
    inv(
        &mut g,
        &base.signed_with_label(&seed, craft::label::CERTIFICATE_SIGNATURE),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "signed under the certificate label",
        &["LabelConfusion"],
        "PrekeyError::BadSignature",
    );
    inv(
        &mut g,
        &base.signed_with_label(&seed, craft::label::ENVELOPE_SIGNATURE),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "signed under the envelope label",
        &["LabelConfusion"],
        "PrekeyError::BadSignature",
    );
    let mut raw = base.tbs();
    raw.extend_from_slice(
        &ed25519_dalek::Signer::sign(&ed25519_dalek::SigningKey::from_bytes(&seed), &base.tbs())
            .to_bytes(),
    );
    inv(
        &mut g,
        &raw,
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "signed without a label",
        &["LabelConfusion"],
        "PrekeyError::BadSignature",
    );
    inv(
        &mut g,
        &flip(&good, 120),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "created at changed after signing",
        &["BadSignature"],
        "PrekeyError::BadSignature",
    );
    inv(
        &mut g,
        &flip(&good, 90),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "prekey X25519 key changed after signing (still a valid key)",
        &["BadSignature"],
        "PrekeyError::BadSignature",
    );
    inv(
        &mut g,
        &flip(&good, 3),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "suite byte changed after signing: UnsupportedSuite at decoding",
        &["Grease"],
        "DecodeError::UnsupportedSuite",
    );
    inv(
        &mut g,
        &flip(&good, sig_at),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "first byte of R flipped",
        &["BadSignature"],
        "PrekeyError::BadSignature",
    );
    inv(
        &mut g,
        &flip(&good, 195),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "last byte of s flipped",
        &["BadSignature"],
        "PrekeyError::BadSignature",
    );
    let mut ncs = good[..sig_at].to_vec();
    ncs.extend_from_slice(&non_canonical_s(&good[sig_at..]));
    inv(
        &mut g,
        &ncs,
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "s replaced by s + L (accepted by lax verifiers)",
        &["NonCanonicalSignature"],
        "PrekeyError::BadSignature",
    );
    let mut small_r = base.tbs();
    small_r.extend_from_slice(&craft::sign_small_order_r(
        &seed,
        craft::label::PREKEY_SIGNATURE,
        &base.tbs(),
    ));
    inv(
        &mut g,
        &small_r,
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "R of small order, s = k·a: accepted by lax cofactorless verifiers",
        &["BadSignature"],
        "PrekeyError::BadSignature",
    );
    let account_seed = alice.seed;
    inv(
        &mut g,
        &base.signed(&account_seed),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "signed by the account key instead of the device key",
        &["BadSignature"],
        "PrekeyError::BadSignature",
    );
    // Step 6.
    for (exp, why, flag) in [
        (created, "expires_at = created_at", "Boundary"),
        (created - 1, "expires_at before created_at", "Lifetime"),
        (
            created + MAX_PREKEY_LIFETIME_MS + 1,
            "lifetime MAX_PREKEY_LIFETIME_MS + 1",
            "Boundary",
        ),
        (
            u64::MAX,
            "expires_at = 2^64 - 1 (a prekey has no \"never\")",
            "Lifetime",
        ),
    ] {
        let mut p = base.clone();
        p.expires_at = exp;
        let now = if exp > created { created } else { created - 10 };
        inv(
            &mut g,
            &signed(&p),
            "certificate",
            "alice",
            "alice-phone",
            now,
            why,
            &["Lifetime", flag],
            "PrekeyError::InvalidLifetime",
        );
    }
    // Step 7.
    inv(
        &mut g,
        &good,
        "certificate",
        "alice",
        "alice-phone",
        base.expires_at,
        "now = expires_at",
        &["Expiry", "Boundary"],
        "PrekeyError::Expired",
    );
    inv(
        &mut g,
        &good,
        "certificate",
        "alice",
        "alice-phone",
        u64::MAX,
        "now = 2^64 - 1",
        &["Expiry"],
        "PrekeyError::Expired",
    );
    inv(
        &mut g,
        world.prekey("carol-phone-old"),
        "list",
        "carol",
        "",
        NOW,
        "carol-phone's first prekey, which expires exactly at now",
        &["Expiry", "Boundary", "ListForm"],
        "PrekeyError::Expired",
    );

    // Order: several faults, the first step wins.
    let mut all = base.clone();
    all.account = bob.public;
    all.device_id = laptop.device.device_id;
    all.device_key = laptop.device.ed25519;
    all.x25519 = low_order_x25519()[0].0;
    all.expires_at = created;
    let mut all_bytes = all.signed(&laptop.device.ed_seed);
    all_bytes[sig_at] ^= 1;
    inv(&mut g, &all_bytes, "certificate", "alice", "alice-phone", NOW, "order: other account, device id and key, low-order key, bad signature, invalid lifetime, expired: WrongAccount (step 1)", &["Order", "WrongAccount"], "PrekeyError::WrongAccount");
    let mut p = all.clone();
    p.account = alice.public;
    let mut b = p.signed(&laptop.device.ed_seed);
    b[sig_at] ^= 1;
    inv(&mut g, &b, "certificate", "alice", "alice-phone", NOW, "order: other device id and key, low-order key, bad signature, invalid lifetime: WrongDevice (step 2)", &["Order", "WrongDevice"], "PrekeyError::WrongDevice");
    p.device_id = phone.device.device_id;
    let mut b = p.signed(&laptop.device.ed_seed);
    b[sig_at] ^= 1;
    inv(&mut g, &b, "certificate", "alice", "alice-phone", NOW, "order: other device key, low-order key, bad signature, invalid lifetime: WrongDeviceKey (step 3)", &["Order", "WrongDevice"], "PrekeyError::WrongDeviceKey");
    p.device_key = phone.device.ed25519;
    let mut b = p.signed(&seed);
    b[sig_at] ^= 1;
    inv(
        &mut g,
        &b,
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "order: low-order key, bad signature, invalid lifetime, expired: InvalidX25519Key (step 4)",
        &["Order", "LowOrderKey"],
        "PrekeyError::InvalidX25519Key",
    );
    p.x25519 = x;
    let mut b = p.signed(&seed);
    b[sig_at] ^= 1;
    inv(
        &mut g,
        &b,
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "order: bad signature, invalid lifetime, expired: BadSignature (step 5)",
        &["Order", "BadSignature"],
        "PrekeyError::BadSignature",
    );
    inv(
        &mut g,
        &signed(&p),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "order: expires_at = created_at, expired at now: InvalidLifetime (step 6) before Expired",
        &["Order", "Lifetime"],
        "PrekeyError::InvalidLifetime",
    );
    let mut p = base.clone();
    p.expires_at = created + MAX_PREKEY_LIFETIME_MS + 1;
    inv(
        &mut g,
        &signed(&p),
        "certificate",
        "alice",
        "alice-phone",
        u64::MAX,
        "order: lifetime too long and expired: InvalidLifetime",
        &["Order", "Lifetime"],
        "PrekeyError::InvalidLifetime",
    );

    // The list form.
    let mut p = base.clone();
    p.account = bob.public;
    inv(
        &mut g,
        &signed(&p),
        "list",
        "alice",
        "",
        NOW,
        "list form: names Bob's account, verified against Alice's list",
        &["ListForm", "WrongAccount"],
        "PrekeyError::WrongAccount",
    );
    inv(
        &mut g,
        world.prekey("bob-tablet-1"),
        "list",
        "alice",
        "",
        NOW,
        "list form: bob-tablet's genuine prekey against Alice's list",
        &["ListForm", "WrongAccount"],
        "PrekeyError::WrongAccount",
    );
    let mut p = base.clone();
    p.device_id = bytes(rng);
    inv(
        &mut g,
        &signed(&p),
        "list",
        "alice",
        "",
        NOW,
        "list form: a device id not on Alice's list (signed by alice-phone's key)",
        &["ListForm", "WrongDevice"],
        "PrekeyError::UnknownDevice",
    );
    let mut p = all.clone();
    p.device_id = bytes(rng);
    inv(
        &mut g,
        &p.signed(&seed),
        "list",
        "alice",
        "",
        NOW,
        "order: list form, another account and an unknown device id: WrongAccount first",
        &["ListForm", "Order"],
        "PrekeyError::WrongAccount",
    );
    p.account = alice.public;
    inv(&mut g, &p.signed(&seed), "list", "alice", "", NOW, "order: list form, unknown device id, other key, low-order key, invalid lifetime: UnknownDevice", &["ListForm", "Order"], "PrekeyError::UnknownDevice");
    inv(
        &mut g,
        world.prekey("bob-phone-old-1"),
        "list",
        "bob",
        "",
        NOW - 11 * DAY,
        "list form: a prekey from before bob-phone re-keyed, against Bob's current list",
        &["ListForm", "Rekey"],
        "PrekeyError::WrongDeviceKey",
    );
    let mut p = base.clone();
    p.x25519 = low_order_x25519()[2].0;
    inv(
        &mut g,
        &signed(&p),
        "list",
        "alice",
        "",
        NOW,
        "list form: the steps of the certificate form follow (a low-order key)",
        &["ListForm", "LowOrderKey"],
        "PrekeyError::InvalidX25519Key",
    );

    // Decoding (SPEC.md §3.7, §2.1, §2.6).
    assert_eq!(good.len(), craft::SIGNED_PREKEY_LEN);
    for len in [0usize, 1, 2, 3, 4, 36, 52, 84, 116, 124, 132, 195] {
        inv(
            &mut g,
            &good[..len],
            "certificate",
            "alice",
            "alice-phone",
            NOW,
            &format!("truncated to {len} bytes"),
            &["Truncated"],
            "DecodeError::Truncated",
        );
    }
    inv(
        &mut g,
        &[good.as_slice(), &[0]].concat(),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "one trailing byte",
        &["TrailingBytes"],
        "DecodeError::TrailingBytes",
    );
    inv(
        &mut g,
        &[good.as_slice(), &good].concat(),
        "list",
        "alice",
        "",
        NOW,
        "two prekeys back to back",
        &["TrailingBytes"],
        "DecodeError::TrailingBytes",
    );
    for v in [0x00u8, 0x01, 0x03, 0xfa] {
        inv(
            &mut g,
            &with(&good, 0, v),
            "certificate",
            "alice",
            "alice-phone",
            NOW,
            &format!("wire version {v:#04x}"),
            &["Grease"],
            "DecodeError::UnsupportedVersion",
        );
    }
    for t in [0x01u8, 0x06, 0x20, 0x7f] {
        inv(
            &mut g,
            &with(&good, 1, t),
            "certificate",
            "alice",
            "alice-phone",
            NOW,
            &format!("object type {t:#04x}"),
            &["Grease"],
            "DecodeError::WrongObjectType",
        );
    }
    for s in [0x0000u16, 0x0002, 0x0a0a] {
        let mut p = base.clone();
        p.suite = s;
        inv(
            &mut g,
            &signed(&p),
            "certificate",
            "alice",
            "alice-phone",
            NOW,
            &format!("suite {s:#06x} (validly signed)"),
            &["Grease"],
            "DecodeError::UnsupportedSuite",
        );
    }
    inv(
        &mut g,
        &with(&with(&good, 0, 0xfa), 1, 0x7f),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "order: version 0xfa and type 0x7f: the version first",
        &["Grease", "Order"],
        "DecodeError::UnsupportedVersion",
    );
    let mut p = base.clone();
    p.suite = 0x0a0a;
    let sp = signed(&p);
    inv(
        &mut g,
        &with(&sp, 1, 0x01),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "order: object type 0x01 (a certificate) and suite 0x0a0a: the type first",
        &["Grease", "Order"],
        "DecodeError::WrongObjectType",
    );
    inv(
        &mut g,
        &[sp.as_slice(), &[0]].concat(),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "order: suite 0x0a0a and a trailing byte: UnsupportedSuite",
        &["Grease", "Order"],
        "DecodeError::UnsupportedSuite",
    );
    inv(
        &mut g,
        &sp[..40],
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "order: suite 0x0a0a, then the input ends: UnsupportedSuite",
        &["Grease", "Order"],
        "DecodeError::UnsupportedSuite",
    );
    inv(
        &mut g,
        &[all_bytes.as_slice(), &[0]].concat(),
        "certificate",
        "alice",
        "alice-phone",
        NOW,
        "order: trailing byte on a prekey with every verification fault: decoding comes first",
        &["TrailingBytes", "Order"],
        "DecodeError::TrailingBytes",
    );
    f.push(g);
}

// ------------------------------------------------------------ KeyringExport

/// One step of a keyring script, applied to the model and written as JSON.
enum Step {
    Rotate(u64, [u8; 32]),
    Rekey([u8; 64], Vec<u8>, u64),
    Renew(Vec<u8>),
    Delete(u64),
    SetPolicy(Policy),
}

fn run_script(m: &mut Model, steps: Vec<Step>) -> (Vec<Value>, bool) {
    let mut out = Vec::new();
    let mut refused = false;
    for s in steps {
        let (mut v, r) = match s {
            Step::Rotate(now, drawn) => {
                let (r, was_drawn) = m.rotate(now, drawn);
                let mut v = json!({"op": "rotate", "now": now, "randomness": if was_drawn { hx(&drawn) } else { json!("") }});
                if let Ok(p) = &r {
                    v["prekey"] = hx(p);
                }
                (v, r.map(|_| ()))
            }
            Step::Rekey(secret, cert, now) => (
                json!({"op": "rekey", "secret": hx(&secret), "certificate": hx(&cert), "now": now}),
                m.rekey(secret, cert, now),
            ),
            Step::Renew(cert) => (
                json!({"op": "renew", "certificate": hx(&cert)}),
                m.renew(cert),
            ),
            Step::Delete(now) => {
                let n = m.delete(now);
                (json!({"op": "delete", "now": now, "deleted": n}), Ok(()))
            }
            Step::SetPolicy(p) => (
                json!({"op": "setPolicy", "policy": p.json()}),
                m.set_policy(p),
            ),
        };
        match r {
            Ok(()) => v["result"] = json!("valid"),
            Err(e) => {
                refused = true;
                v["result"] = json!("invalid");
                v["error"] = json!(e);
            }
        }
        out.push(v);
    }
    (out, refused)
}

/// A device of the script world: fresh keys for `device_id` under `account`.
fn fresh(
    rng: &mut rand_chacha::ChaCha20Rng,
    account: &Account,
    device_id: [u8; 16],
    caps: u32,
    expiry: Option<u64>,
) -> (Device, Vec<u8>) {
    let mut d = Device::new(rng);
    d.device_id = device_id;
    let mut c = d.cert(account, expiry);
    c.capabilities = caps;
    (d, c.signed(&account.seed))
}

/// Script B's keyring and its devices, the base of `KeyringImport`.
struct Scripts {
    /// One superseded key set and prekeys signed by both device keys.
    b: Model,
    /// The device's old and new keys (same device id).
    old: Device,
    new: Device,
    account: Account,
}

fn keyring_export(
    f: &mut VectorFile,
    world: &World,
    rng: &mut rand_chacha::ChaCha20Rng,
) -> Scripts {
    let mut g = Group::new(
        "KeyringExport",
        "A keyring after a scripted history, exported byte for byte (SPEC.md §3.8, §3.9).",
    );
    let carol = world.account("carol");
    let alice = world.account("alice");
    let case = |g: &mut Group,
                secret: [u8; 64],
                cert: Vec<u8>,
                policy: Policy,
                steps: Vec<Step>,
                comment: &str,
                flags: &[&str]|
     -> Model {
        let mut m = Model::new(secret, cert.clone());
        m.set_policy(policy).unwrap();
        let (steps, _) = run_script(&mut m, steps);
        g.valid(
            comment,
            flags,
            json!({
                "secret": hx(&secret),
                "certificate": hx(&cert),
                "policy": policy.json(),
                "steps": steps,
                "export": hx(&m.export()),
            }),
        );
        m
    };

    // A: rotations out of clock order and at one time, a re-key, a renewal,
    // two deletions (one at the grace boundary), a last rotation.
    let id: [u8; 16] = bytes(rng);
    let (d0, c0) = fresh(rng, &carol, id, CAP_PREKEYS, None);
    let (d1, c1) = fresh(rng, &carol, id, CAP_PREKEYS, None);
    let mut renewed = d1.cert(&carol, Some(NOW + YEAR));
    renewed.capabilities = CAP_PREKEYS | 0x0001_0000;
    renewed.created_at = NOW - 15 * DAY;
    let renewed = renewed.signed(&carol.seed);
    let t0 = NOW - 20 * DAY;
    let pa = Policy {
        r: DAY,
        l: 3 * DAY,
        g: 2 * DAY,
    };
    let steps = vec![
        Step::Rotate(t0, bytes(rng)),
        Step::Rotate(t0 + DAY, bytes(rng)),
        Step::Rotate(t0 + DAY, bytes(rng)),
        Step::Rotate(t0 - DAY, bytes(rng)),
        Step::Rekey(d1.secret, c1, t0 + 2 * DAY),
        Step::Rotate(t0 + 2 * DAY, bytes(rng)),
        Step::Renew(renewed),
        Step::Delete(t0 + 5 * DAY),
        Step::Delete(t0 + 6 * DAY),
        Step::Rotate(t0 + 6 * DAY, bytes(rng)),
    ];
    let m = case(
        &mut g,
        d0.secret,
        c0,
        pa,
        steps,
        "rotations (one with the clock stepped back, two at the same time: ordered by key id), a re-key, a renewal (capabilities and expiry), deletion at created_at + L + G and retired_at + G exactly, a last rotation",
        &["Valid", "Policy", "Rekey", "Deletion", "Boundary"],
    );
    assert!(m.retired.is_empty() && m.prekeys.len() == 2);

    // B: the base of KeyringImport.
    let id: [u8; 16] = bytes(rng);
    let (old, c_old) = fresh(rng, &alice, id, CAP_PREKEYS, None);
    let (new, c_new) = fresh(rng, &alice, id, CAP_PREKEYS, None);
    let steps = vec![
        Step::Rotate(NOW - 5 * DAY, bytes(rng)),
        Step::Rotate(NOW - 3 * DAY, bytes(rng)),
        Step::Rekey(new.secret, c_new.clone(), NOW - 2 * DAY),
        Step::Rotate(NOW - 2 * DAY, bytes(rng)),
        Step::Rotate(NOW - DAY, bytes(rng)),
    ];
    let b = case(
        &mut g,
        old.secret,
        c_old,
        DEFAULT_POLICY,
        steps,
        "default policy: two rotations, a re-key, two rotations; the old key set and its prekeys stay (no deletion)",
        &["Valid", "Rekey", "Superseded"],
    );
    assert!(b.retired.len() == 1 && b.prekeys.len() == 4);

    // C: nothing but the current key set.
    let d = world.dev("carol-server");
    case(
        &mut g,
        d.device.secret,
        d.cert.clone(),
        DEFAULT_POLICY,
        vec![],
        "a fresh keyring: default policy, no superseded keys, no prekeys",
        &["Valid"],
    );

    // D: refusals, each changing nothing.
    let id: [u8; 16] = bytes(rng);
    let (k0, c0) = fresh(rng, &carol, id, CAP_PREKEYS, None);
    let (k1, c1) = fresh(rng, &carol, id, CAP_PREKEYS, None);
    let nid: [u8; 16] = bytes(rng);
    let (other, c_other) = fresh(rng, &carol, nid, CAP_PREKEYS, None);
    let mut same_keys_renewed = k0.cert(&carol, Some(NOW + YEAR));
    same_keys_renewed.capabilities = CAP_PREKEYS;
    let same_keys_renewed = same_keys_renewed.signed(&carol.seed);
    let mut moved = k0;
    moved.device_id = other.device_id;
    let mut moved = moved.cert(&carol, None);
    moved.capabilities = CAP_PREKEYS;
    let moved = moved.signed(&carol.seed);
    let mut foreign = k0.cert(&alice, None);
    foreign.capabilities = CAP_PREKEYS;
    let foreign = foreign.signed(&alice.seed);
    // New X25519 key with the current Ed25519 key; new keys whose X25519
    // secret is a held prekey's.
    let first_drawn: [u8; 32] = bytes(rng);
    let mut same_ed = Device::new(rng);
    same_ed.secret[32..].copy_from_slice(&k0.ed_seed);
    same_ed.ed_seed = k0.ed_seed;
    same_ed.ed25519 = k0.ed25519;
    same_ed.device_id = id;
    let same_ed_cert = same_ed.cert(&carol, None).signed(&carol.seed);
    let mut prekey_x = Device::new(rng);
    prekey_x.secret[..32].copy_from_slice(&first_drawn);
    prekey_x.x25519 = craft::x25519_public(&first_drawn);
    prekey_x.device_id = id;
    let prekey_x_cert = prekey_x.cert(&carol, None).signed(&carol.seed);
    let steps = vec![
        Step::Rotate(NOW, first_drawn),
        Step::Rekey(k0.secret, same_keys_renewed.clone(), NOW),
        Step::Rekey(other.secret, c_other.clone(), NOW),
        Step::Rekey(k1.secret, c_other, NOW),
        Step::Rekey(other.secret, c1.clone(), NOW),
        Step::Rekey(same_ed.secret, same_ed_cert, NOW),
        Step::Rekey(prekey_x.secret, prekey_x_cert, NOW),
        Step::Renew(c1.clone()),
        Step::Renew(moved),
        Step::Renew(foreign),
        Step::Rotate(u64::MAX - DEFAULT_POLICY.l, bytes(rng)),
        Step::Rotate(NOW + 1, k0.x25519_secret()),
        Step::Rotate(NOW + 2, first_drawn),
        Step::SetPolicy(Policy {
            r: 0,
            l: DAY,
            g: DAY,
        }),
        Step::SetPolicy(Policy {
            r: DAY,
            l: MAX_PREKEY_LIFETIME_MS + 1,
            g: DAY,
        }),
        Step::Renew(same_keys_renewed),
        Step::Rekey(k1.secret, c1, NOW + 3),
        Step::Rekey(k0.secret, c0.clone(), NOW + 4),
        Step::Rotate(NOW + 5, bytes(rng)),
    ];
    let mut m = Model::new(k0.secret, c0.clone());
    let (json_steps, refused) = run_script(&mut m, steps);
    assert!(refused);
    g.valid(
        "refusals change nothing: re-key with the current keys (SameKeys), another device's certificate (WrongDevice), keys that are not the certificate's (KeyMismatch, WrongDevice first when both), the current Ed25519 key with a new X25519 key (SameKeys), an X25519 key a prekey holds (SameKeys); renew with other keys (KeyMismatch), another device id or account (WrongDevice); rotate when now + L = 2^64 - 1 (InvalidPolicy, nothing drawn), to the certificate's or a prekey's key (SameKeys, 32 bytes drawn); invalid policies; then a renewal, a re-key and back to the old keys (SameKeys: still held), a rotation",
        &["Refusal", "Rekey"],
        json!({
            "secret": hx(&k0.secret),
            "certificate": hx(&c0),
            "policy": DEFAULT_POLICY.json(),
            "steps": json_steps,
            "export": hx(&m.export()),
        }),
    );

    // E: the limits: 8 superseded key sets, 32 prekeys.
    let id: [u8; 16] = bytes(rng);
    let (e0, ce0) = fresh(rng, &carol, id, CAP_PREKEYS, None);
    let mut steps = Vec::new();
    for i in 0..9u64 {
        let (d, c) = fresh(rng, &carol, id, CAP_PREKEYS, None);
        steps.push(Step::Rekey(d.secret, c, NOW + i));
    }
    for i in 0..33u64 {
        steps.push(Step::Rotate(NOW + 10 + i, bytes(rng)));
    }
    steps.push(Step::Delete(NOW + 10 + 4 * DAY + 7 * DAY + 3));
    steps.push(Step::Rotate(NOW + 11 * DAY + 100, bytes(rng)));
    let mut m = Model::new(e0.secret, ce0.clone());
    let (json_steps, refused) = run_script(&mut m, steps);
    assert!(refused);
    g.valid(
        "limits: a 9th superseded key set and a 33rd prekey are refused (Full, the 33rd draws nothing); a deletion frees room (its count includes the 9 key sets: the grace after retired_at passed too), a rotation follows",
        &["Refusal", "Limit", "Deletion"],
        json!({
            "secret": hx(&e0.secret),
            "certificate": hx(&ce0),
            "policy": DEFAULT_POLICY.json(),
            "steps": json_steps,
            "export": hx(&m.export()),
        }),
    );
    f.push(g);
    Scripts {
        b,
        old,
        new,
        account: alice,
    }
}

// ------------------------------------------------------------ KeyringImport

/// A held prekey `(secret, signed prekey)` of `dev` under `account`,
/// signed by `signer` (an Ed25519 seed).
fn held_prekey(
    rng: &mut rand_chacha::ChaCha20Rng,
    account: &[u8; 32],
    device_id: [u8; 16],
    signer: &[u8; 32],
    created: u64,
    expires: u64,
) -> ([u8; 32], Vec<u8>) {
    let drawn: [u8; 32] = bytes(rng);
    let p = Prekey::new(
        *account,
        device_id,
        craft::ed25519_public(signer),
        craft::x25519_public(&drawn),
        created,
        expires,
    );
    (drawn, p.signed(signer))
}

fn keyring_import(
    f: &mut VectorFile,
    world: &World,
    s: &Scripts,
    rng: &mut rand_chacha::ChaCha20Rng,
) {
    let mut g = Group::new(
        "KeyringImport",
        "Loading a keyring export: every check of SPEC.md §3.9 in order.",
    );
    let valid = |g: &mut Group, k: &KeyringBytes, comment: &str, flags: &[&str]| {
        let bytes = k.encode();
        g.valid(
            comment,
            flags,
            json!({
                "export": hx(&bytes),
                "keyId": hx(&craft::certificate_key_id(&k.certificate)),
                "policy": json!({"rotationPeriodMs": k.rotation_ms, "lifetimeMs": k.lifetime_ms, "graceMs": k.grace_ms}),
                "prekeyKeyIds": k.prekeys.iter().map(|(_, p)| hx(&craft::prekey_key_id(p))).collect::<Vec<_>>(),
            }),
        );
    };
    let inv = |g: &mut Group,
               bytes: &[u8],
               comment: &str,
               flags: &[&str],
               kind: &str,
               detail: Option<&str>| {
        let mut v = json!({"export": hx(bytes)});
        match kind {
            "Truncated" | "OutOfRange" => {
                if let Some(d) = detail {
                    v["errorField"] = json!(d);
                }
            }
            "Inconsistent" | "NonCanonical" => {
                v["errorWhat"] = json!(detail.unwrap());
            }
            _ => assert!(detail.is_none()),
        }
        g.invalid(
            comment,
            flags,
            &format!("KeyringError::Decode(DecodeError::{kind})"),
            v,
        );
    };
    let base = s.b.bytes();
    let account = s.account;
    let bob = world.account("bob");
    let id = s.new.device_id;

    // Valid.
    valid(
        &mut g,
        &world.keyring("carol-server").bytes(),
        "a keyring with no superseded keys and no prekeys",
        &["Valid"],
    );
    valid(
        &mut g,
        &base,
        "one superseded key set, prekeys signed by the old and the new device key",
        &["Valid", "Rekey", "Superseded"],
    );
    let mut k = base.clone();
    k.prekeys.insert(
        0,
        held_prekey(rng, &account.public, id, &s.old.ed_seed, 1, 1 + DAY),
    );
    valid(&mut g, &k, "a prekey that expired long ago is still loaded (expiry is not checked; deletion is the keyring's job)", &["Valid", "Expiry"]);
    let mut c = s.new.cert(&account, Some(NOW - YEAR));
    c.capabilities = CAP_PREKEYS;
    let mut k = base.clone();
    k.certificate = c.signed(&account.seed);
    valid(
        &mut g,
        &k,
        "the current certificate has expired: loaded (its signature is checked, not its expiry)",
        &["Valid", "Expiry"],
    );
    let mut k = base.clone();
    (k.rotation_ms, k.lifetime_ms, k.grace_ms) =
        (MAX_PREKEY_LIFETIME_MS, MAX_PREKEY_LIFETIME_MS, MAX_GRACE_MS);
    valid(
        &mut g,
        &k,
        "policy at its limits: R = L = MAX_PREKEY_LIFETIME_MS, G = MAX_GRACE_MS",
        &["Valid", "Policy", "Boundary"],
    );
    let mut k = base.clone();
    (k.rotation_ms, k.lifetime_ms, k.grace_ms) = (1, 1, 0);
    valid(
        &mut g,
        &k,
        "policy R = L = 1 ms, G = 0",
        &["Valid", "Policy", "Boundary"],
    );

    // Step 1: prefix, policy.
    let enc = |k: &KeyringBytes| k.encode();
    for (r, l, gr, why) in [
        (0, DAY, DAY, "rotation period 0"),
        (2 * DAY, DAY, DAY, "rotation period above the lifetime"),
        (
            DAY,
            MAX_PREKEY_LIFETIME_MS + 1,
            DAY,
            "lifetime MAX_PREKEY_LIFETIME_MS + 1",
        ),
        (DAY, DAY, MAX_GRACE_MS + 1, "grace MAX_GRACE_MS + 1"),
        (0, 0, 0, "all zero"),
    ] {
        let mut k = base.clone();
        (k.rotation_ms, k.lifetime_ms, k.grace_ms) = (r, l, gr);
        inv(
            &mut g,
            &enc(&k),
            &format!("invalid policy: {why}"),
            &["Inconsistent", "Policy"],
            "Inconsistent",
            Some("keyring policy"),
        );
    }
    let good = enc(&base);
    for v in [0x01u8, 0x03, 0xfa] {
        inv(
            &mut g,
            &with(&good, 0, v),
            &format!("wire version {v:#04x}"),
            &["Grease"],
            "UnsupportedVersion",
            None,
        );
    }
    for t in [0x01u8, 0x07, 0x21] {
        inv(
            &mut g,
            &with(&good, 1, t),
            &format!("object type {t:#04x}"),
            &["Grease"],
            "WrongObjectType",
            None,
        );
    }
    let mut k = base.clone();
    k.rotation_ms = 0;
    let bad_policy = enc(&k);
    inv(&mut g, &bad_policy[..100], "order: invalid policy, then the input ends inside the current certificate: the policy first", &["Order", "Policy"], "Inconsistent", Some("keyring policy"));
    inv(
        &mut g,
        &[bad_policy.as_slice(), &[0]].concat(),
        "order: invalid policy and a trailing byte",
        &["Order", "Policy"],
        "Inconsistent",
        Some("keyring policy"),
    );
    inv(
        &mut g,
        &with(&good, 0, 0xfa)[..20],
        "order: version 0xfa and truncated in the policy: the version first",
        &["Order", "Grease"],
        "UnsupportedVersion",
        None,
    );

    // Step 2: the current key set.
    let mut k = base.clone();
    k.secret[0] ^= 0x10;
    inv(
        &mut g,
        &enc(&k),
        "the current X25519 secret is not the certificate's",
        &["Inconsistent"],
        "Inconsistent",
        Some("device secret and certificate"),
    );
    let mut k = base.clone();
    k.secret[40] ^= 0x01;
    inv(
        &mut g,
        &enc(&k),
        "the current Ed25519 seed is not the certificate's",
        &["Inconsistent"],
        "Inconsistent",
        Some("device secret and certificate"),
    );
    let mut cert = s.new.cert(&account, None);
    cert.capabilities = CAP_PREKEYS;
    let mut k = base.clone();
    k.certificate = cert.signed(&bob.seed);
    inv(
        &mut g,
        &enc(&k),
        "the current certificate names Alice's account but Bob signed it",
        &["Inconsistent", "BadSignature"],
        "Inconsistent",
        Some("certificate signature"),
    );
    let mut k = base.clone();
    k.certificate[199] ^= 0x01;
    inv(
        &mut g,
        &enc(&k),
        "the current certificate's signature is changed",
        &["Inconsistent", "BadSignature"],
        "Inconsistent",
        Some("certificate signature"),
    );
    let mut k = base.clone();
    k.certificate[0] = 0x01;
    inv(
        &mut g,
        &enc(&k),
        "the current certificate has wire version 0x01",
        &["Grease"],
        "UnsupportedVersion",
        None,
    );
    let mut k = base.clone();
    k.certificate[1] = 0x07;
    inv(
        &mut g,
        &enc(&k),
        "the current certificate has object type 0x07 (a prekey)",
        &["Grease"],
        "WrongObjectType",
        None,
    );
    let mut c = cert.clone();
    c.suite = 0x0a0a;
    let mut k = base.clone();
    k.certificate = c.signed(&account.seed);
    inv(
        &mut g,
        &enc(&k),
        "the current certificate has suite 0x0a0a (validly signed)",
        &["Grease"],
        "UnsupportedSuite",
        None,
    );
    let mut k = base.clone();
    k.secret[0] ^= 0x10;
    k.certificate[199] ^= 0x01;
    inv(&mut g, &enc(&k), "order: a secret that is not the certificate's, and a bad certificate signature: the keys first", &["Order", "Inconsistent"], "Inconsistent", Some("device secret and certificate"));

    // Step 3: superseded key sets.
    let mut b = good.clone();
    b[ko::RETIRED_COUNT] = 9;
    inv(
        &mut g,
        &b,
        "retired count 9",
        &["Limit"],
        "OutOfRange",
        Some("retired count"),
    );
    let mut b = good.clone();
    b[ko::RETIRED_COUNT] = 255;
    inv(
        &mut g,
        &b[..300],
        "order: retired count 255 and the input ends: OutOfRange before Truncated",
        &["Limit", "Order"],
        "OutOfRange",
        Some("retired count"),
    );
    let mut b = good.clone();
    b[ko::RETIRED_COUNT] = 8;
    inv(
        &mut g,
        &b,
        "retired count 8 with one set and the prekeys following: fewer than 8 × 272 bytes left",
        &["Truncated"],
        "Truncated",
        Some("retired keys"),
    );
    let rb = ko::RETIRED_COUNT + 1;
    let mut b = good.clone();
    b.truncate(rb + ko::RETIRED_LEN - 1);
    inv(
        &mut g,
        &b,
        "the input ends one byte before the end of the superseded set",
        &["Truncated"],
        "Truncated",
        Some("retired keys"),
    );
    // Another device, another account.
    let nid: [u8; 16] = bytes(rng);
    let (od, oc) = fresh(rng, &account, nid, CAP_PREKEYS, None);
    let mut k = base.clone();
    k.retired[0] = (od.secret, oc, NOW - 2 * DAY);
    inv(
        &mut g,
        &enc(&k),
        "a superseded set of another device of the account (its own keys and certificate)",
        &["Inconsistent", "WrongDevice"],
        "Inconsistent",
        Some("retired keys of another device"),
    );
    let mut c = s.old.cert(&bob, None);
    c.capabilities = CAP_PREKEYS;
    let mut k = base.clone();
    k.retired[0].1 = c.signed(&bob.seed);
    inv(
        &mut g,
        &enc(&k),
        "the superseded set's certificate is Bob's certificate of the same keys and device id",
        &["Inconsistent", "WrongAccount"],
        "Inconsistent",
        Some("retired keys of another device"),
    );
    // Order and duplicates.
    let (d2, c2) = fresh(rng, &account, id, CAP_PREKEYS, None);
    let second = (d2.secret, c2.clone(), NOW - 4 * DAY);
    let mut k = base.clone();
    k.retired.push(second.clone());
    inv(
        &mut g,
        &enc(&k),
        "two superseded sets, retired_at descending",
        &["NonCanonical"],
        "NonCanonical",
        Some("retired keys order"),
    );
    let mut sorted = k.clone();
    sorted.retired.reverse();
    valid(
        &mut g,
        &sorted,
        "the same two superseded sets in ascending retired_at",
        &["Valid", "Rekey"],
    );
    let mut k = base.clone();
    let mut b2 = second.clone();
    b2.2 = k.retired[0].2;
    k.retired.push(b2);
    let mut same_time = k.clone();
    same_time
        .retired
        .sort_by_key(|(_, c, at)| std::cmp::Reverse((*at, craft::certificate_key_id(c))));
    inv(
        &mut g,
        &enc(&same_time),
        "two superseded sets retired at the same time, key ids descending",
        &["NonCanonical"],
        "NonCanonical",
        Some("retired keys order"),
    );
    let mut k = base.clone();
    k.retired.push(k.retired[0].clone());
    inv(&mut g, &enc(&k), "order: the same superseded set twice: NonCanonical (not greater) before device keys held twice", &["NonCanonical", "Order"], "NonCanonical", Some("retired keys order"));
    let mut k = base.clone();
    k.retired[0] = (k.secret, k.certificate.clone(), NOW - 2 * DAY);
    inv(
        &mut g,
        &enc(&k),
        "the superseded set is the current key set",
        &["Inconsistent"],
        "Inconsistent",
        Some("device keys held twice"),
    );
    let mut same_ed = Device::new(rng);
    same_ed.secret[32..].copy_from_slice(&s.new.ed_seed);
    same_ed.ed25519 = s.new.ed25519;
    same_ed.device_id = id;
    let mut c = same_ed.cert(&account, None);
    c.capabilities = CAP_PREKEYS;
    let mut k = base.clone();
    k.retired
        .push((same_ed.secret, c.signed(&account.seed), NOW));
    inv(
        &mut g,
        &enc(&k),
        "a second superseded set with another X25519 key but the current Ed25519 key",
        &["Inconsistent"],
        "Inconsistent",
        Some("device keys held twice"),
    );
    let mut same_x = Device::new(rng);
    same_x.secret[..32].copy_from_slice(&s.old.secret[..32]);
    same_x.x25519 = s.old.x25519;
    same_x.device_id = id;
    let mut c = same_x.cert(&account, None);
    c.capabilities = CAP_PREKEYS;
    let mut k = base.clone();
    k.retired
        .push((same_x.secret, c.signed(&account.seed), NOW));
    inv(
        &mut g,
        &enc(&k),
        "a second superseded set with the first one's X25519 key (another Ed25519 key)",
        &["Inconsistent"],
        "Inconsistent",
        Some("device keys held twice"),
    );
    let mut k = base.clone();
    k.retired[0].0[0] ^= 0x10;
    inv(
        &mut g,
        &enc(&k),
        "the superseded X25519 secret is not its certificate's",
        &["Inconsistent"],
        "Inconsistent",
        Some("device secret and certificate"),
    );
    let mut k = base.clone();
    k.retired[0].1[120] ^= 0x01;
    inv(
        &mut g,
        &enc(&k),
        "the superseded certificate's signature does not verify (signed field changed)",
        &["Inconsistent", "BadSignature"],
        "Inconsistent",
        Some("certificate signature"),
    );
    let mut k = base.clone();
    let nid: [u8; 16] = bytes(rng);
    let (od2, oc2) = fresh(rng, &account, nid, CAP_PREKEYS, None);
    k.retired.push((od2.secret, oc2, NOW - 9 * DAY));
    inv(
        &mut g,
        &enc(&k),
        "order: a superseded set of another device, out of order as well: another device first",
        &["Order", "WrongDevice"],
        "Inconsistent",
        Some("retired keys of another device"),
    );
    let mut k = base.clone();
    k.retired[0].1[199] ^= 0x01;
    k.retired[0].1[40] ^= 0x01;
    inv(&mut g, &enc(&k), "order: the superseded certificate names another device id and its signature is bad: the certificate signature (step 2 of the set) first", &["Order", "Inconsistent"], "Inconsistent", Some("certificate signature"));

    // Step 4: prekeys.
    let pb = rb + ko::RETIRED_LEN;
    let mut b = good.clone();
    b[pb] = 33;
    inv(
        &mut g,
        &b,
        "prekey count 33",
        &["Limit"],
        "OutOfRange",
        Some("prekey count"),
    );
    let mut b = good.clone();
    b[pb] = 5;
    inv(
        &mut g,
        &b,
        "prekey count 5 with 4 prekeys",
        &["Truncated"],
        "Truncated",
        Some("prekeys"),
    );
    let mut k = base.clone();
    k.prekeys[1].1[0] = 0x01;
    inv(
        &mut g,
        &enc(&k),
        "a held prekey with wire version 0x01",
        &["Grease"],
        "UnsupportedVersion",
        None,
    );
    let mut k = base.clone();
    k.prekeys[1].1[1] = 0x01;
    inv(
        &mut g,
        &enc(&k),
        "a held prekey with object type 0x01",
        &["Grease"],
        "WrongObjectType",
        None,
    );
    let mut k = base.clone();
    k.prekeys[1].1[3] = 0x02;
    inv(
        &mut g,
        &enc(&k),
        "a held prekey with suite 0x0002",
        &["Grease"],
        "UnsupportedSuite",
        None,
    );
    let mut k = base.clone();
    k.prekeys.swap(1, 2);
    inv(
        &mut g,
        &enc(&k),
        "two prekeys out of (created_at, key id) order",
        &["NonCanonical"],
        "NonCanonical",
        Some("prekeys order"),
    );
    let mut k = base.clone();
    k.prekeys.insert(2, k.prekeys[1].clone());
    inv(
        &mut g,
        &enc(&k),
        "order: the same prekey twice: NonCanonical (not greater) before key held twice",
        &["NonCanonical", "Order"],
        "NonCanonical",
        Some("prekeys order"),
    );
    let c3 = craft::prekey_created_at(&base.prekeys[3].1);
    let e3 = c3 + 4 * DAY;
    let twin = held_prekey(rng, &account.public, id, &s.new.ed_seed, c3, e3);
    let mut k = base.clone();
    k.prekeys.push(twin);
    k.prekeys
        .sort_by_key(|(_, p)| std::cmp::Reverse(craft::prekey_key_id(p)));
    let mut k2 = base.clone();
    k2.prekeys.truncate(3);
    k2.prekeys.extend(
        k.prekeys
            .iter()
            .filter(|(_, p)| craft::prekey_created_at(p) == c3)
            .cloned(),
    );
    inv(
        &mut g,
        &enc(&k2),
        "two prekeys created at the same time, key ids descending",
        &["NonCanonical"],
        "NonCanonical",
        Some("prekeys order"),
    );
    let last = |k: &mut KeyringBytes, p: ([u8; 32], Vec<u8>)| k.prekeys.push(p);
    let t = NOW;
    let mut k = base.clone();
    let nid: [u8; 16] = bytes(rng);
    last(
        &mut k,
        held_prekey(rng, &account.public, nid, &s.new.ed_seed, t, t + DAY),
    );
    inv(
        &mut g,
        &enc(&k),
        "a prekey naming another device id (signed by the current key)",
        &["Inconsistent", "WrongDevice"],
        "Inconsistent",
        Some("prekey of another device"),
    );
    let mut k = base.clone();
    last(
        &mut k,
        held_prekey(rng, &bob.public, id, &s.new.ed_seed, t, t + DAY),
    );
    inv(
        &mut g,
        &enc(&k),
        "a prekey naming Bob's account (signed by the current key)",
        &["Inconsistent", "WrongAccount"],
        "Inconsistent",
        Some("prekey of another device"),
    );
    let foreign_seed: [u8; 32] = bytes(rng);
    let mut k = base.clone();
    last(
        &mut k,
        held_prekey(rng, &account.public, id, &foreign_seed, t, t + DAY),
    );
    inv(
        &mut g,
        &enc(&k),
        "a prekey signed by (and naming) an Ed25519 key the keyring does not hold",
        &["Inconsistent"],
        "Inconsistent",
        Some("prekey signed by a key the keyring does not hold"),
    );
    let mut k = base.clone();
    let mut p = held_prekey(rng, &account.public, id, &s.new.ed_seed, t, t + DAY);
    p.0[0] ^= 0x10;
    last(&mut k, p);
    inv(
        &mut g,
        &enc(&k),
        "a prekey secret that is not the prekey's key",
        &["Inconsistent"],
        "Inconsistent",
        Some("prekey secret and public key"),
    );
    let mut k = base.clone();
    last(
        &mut k,
        held_prekey(rng, &account.public, id, &s.new.ed_seed, t, t),
    );
    inv(
        &mut g,
        &enc(&k),
        "a prekey with expires_at = created_at (validly signed)",
        &["Inconsistent", "Lifetime", "Boundary"],
        "Inconsistent",
        Some("prekey lifetime"),
    );
    let mut k = base.clone();
    last(
        &mut k,
        held_prekey(
            rng,
            &account.public,
            id,
            &s.new.ed_seed,
            t,
            t + MAX_PREKEY_LIFETIME_MS + 1,
        ),
    );
    inv(
        &mut g,
        &enc(&k),
        "a prekey with lifetime MAX_PREKEY_LIFETIME_MS + 1 (validly signed)",
        &["Inconsistent", "Lifetime", "Boundary"],
        "Inconsistent",
        Some("prekey lifetime"),
    );
    let mut k = base.clone();
    k.prekeys[3].1[195] ^= 0x01;
    inv(
        &mut g,
        &enc(&k),
        "a held prekey's signature changed",
        &["Inconsistent", "BadSignature"],
        "Inconsistent",
        Some("prekey signature"),
    );
    let mut k = base.clone();
    let (sec, p) = held_prekey(rng, &account.public, id, &s.new.ed_seed, t, t + DAY);
    let mut ncs = p[..132].to_vec();
    ncs.extend_from_slice(&non_canonical_s(&p[132..]));
    last(&mut k, (sec, ncs));
    inv(
        &mut g,
        &enc(&k),
        "a held prekey with s + L",
        &["Inconsistent", "NonCanonicalSignature"],
        "Inconsistent",
        Some("prekey signature"),
    );
    let mut k = base.clone();
    let x_secret: [u8; 32] = s.new.secret[..32].try_into().unwrap();
    let p = Prekey::new(account.public, id, s.new.ed25519, s.new.x25519, t, t + DAY)
        .signed(&s.new.ed_seed);
    last(&mut k, (x_secret, p));
    inv(
        &mut g,
        &enc(&k),
        "a prekey whose key is the current certificate's X25519 key",
        &["Inconsistent"],
        "Inconsistent",
        Some("key held twice"),
    );
    let mut k = base.clone();
    let x_old: [u8; 32] = s.old.secret[..32].try_into().unwrap();
    let p = Prekey::new(account.public, id, s.new.ed25519, s.old.x25519, t, t + DAY)
        .signed(&s.new.ed_seed);
    last(&mut k, (x_old, p));
    inv(
        &mut g,
        &enc(&k),
        "a prekey whose key is the superseded certificate's X25519 key",
        &["Inconsistent", "Superseded"],
        "Inconsistent",
        Some("key held twice"),
    );
    let mut k = base.clone();
    let (sec, p0) = base.prekeys[3].clone();
    let p = Prekey::new(
        account.public,
        id,
        s.new.ed25519,
        craft::x25519_public(&sec),
        t,
        t + DAY,
    )
    .signed(&s.new.ed_seed);
    assert_eq!(&p0[84..116], &p[84..116]);
    last(&mut k, (sec, p));
    inv(
        &mut g,
        &enc(&k),
        "a second prekey with an earlier prekey's key (another created_at, validly signed)",
        &["Inconsistent"],
        "Inconsistent",
        Some("key held twice"),
    );
    // Order within step 4.
    let mut k = base.clone();
    let nid: [u8; 16] = bytes(rng);
    let mut p = held_prekey(rng, &account.public, nid, &foreign_seed, 1, 1 + DAY);
    p.0[0] ^= 0x10;
    k.prekeys.push(p);
    inv(&mut g, &enc(&k), "order: a last prekey out of order, of another device, foreign signer, wrong secret: NonCanonical first", &["Order", "NonCanonical"], "NonCanonical", Some("prekeys order"));
    let mut k = base.clone();
    let nid: [u8; 16] = bytes(rng);
    let mut p = held_prekey(rng, &account.public, nid, &foreign_seed, t, t);
    p.0[0] ^= 0x10;
    last(&mut k, p);
    inv(&mut g, &enc(&k), "order: another device, foreign signer, wrong secret, invalid lifetime: another device first", &["Order", "WrongDevice"], "Inconsistent", Some("prekey of another device"));
    let mut k = base.clone();
    let mut p = held_prekey(rng, &account.public, id, &foreign_seed, t, t);
    p.0[0] ^= 0x10;
    last(&mut k, p);
    inv(
        &mut g,
        &enc(&k),
        "order: foreign signer, wrong secret, invalid lifetime: the signer first",
        &["Order", "Inconsistent"],
        "Inconsistent",
        Some("prekey signed by a key the keyring does not hold"),
    );
    let mut k = base.clone();
    let mut p = held_prekey(rng, &account.public, id, &s.new.ed_seed, t, t);
    p.0[0] ^= 0x10;
    p.1[195] ^= 0x01;
    last(&mut k, p);
    inv(
        &mut g,
        &enc(&k),
        "order: wrong secret, invalid lifetime, bad signature: the secret first",
        &["Order", "Inconsistent"],
        "Inconsistent",
        Some("prekey secret and public key"),
    );
    let mut k = base.clone();
    let mut p = held_prekey(rng, &account.public, id, &s.new.ed_seed, t, t);
    p.1[195] ^= 0x01;
    last(&mut k, p);
    inv(
        &mut g,
        &enc(&k),
        "order: invalid lifetime and bad signature: the lifetime first",
        &["Order", "Lifetime"],
        "Inconsistent",
        Some("prekey lifetime"),
    );
    let mut k = base.clone();
    let mut p = Prekey::new(account.public, id, s.new.ed25519, s.new.x25519, t, t + DAY)
        .signed(&s.new.ed_seed);
    p[195] ^= 0x01;
    last(&mut k, (x_secret, p));
    inv(
        &mut g,
        &enc(&k),
        "order: bad signature and the current certificate's key: the signature first",
        &["Order", "BadSignature"],
        "Inconsistent",
        Some("prekey signature"),
    );
    let mut k = base.clone();
    k.prekeys[0].1[195] ^= 0x01;
    k.prekeys[3].1[0] = 0x03;
    inv(&mut g, &enc(&k), "order: a bad signature on the first prekey and a bad version on the last: the entries are checked in order", &["Order", "BadSignature"], "Inconsistent", Some("prekey signature"));

    // Step 5.
    inv(
        &mut g,
        &[good.as_slice(), &[0]].concat(),
        "one trailing byte",
        &["TrailingBytes"],
        "TrailingBytes",
        None,
    );
    inv(
        &mut g,
        &[good.as_slice(), &good].concat(),
        "two exports back to back",
        &["TrailingBytes"],
        "TrailingBytes",
        None,
    );
    let mut k = base.clone();
    k.prekeys[3].1[195] ^= 0x01;
    inv(
        &mut g,
        &[enc(&k).as_slice(), &[0]].concat(),
        "order: a bad prekey signature and a trailing byte: the signature first",
        &["Order", "TrailingBytes"],
        "Inconsistent",
        Some("prekey signature"),
    );

    // Truncation at every field boundary of the base export.
    let mut cuts: Vec<(usize, Option<&str>)> = vec![
        (0, None),
        (1, None),
        (2, Some("rotation period")),
        (10, Some("prekey lifetime")),
        (18, Some("grace period")),
        (ko::SECRET, None),
    ];
    for c in [0usize, 1, 2, 4, 36, 52, 84, 116, 124, 132, 136] {
        cuts.push((ko::CERTIFICATE + c, None));
    }
    cuts.push((ko::RETIRED_COUNT, Some("retired count")));
    for c in [0usize, 64, 264] {
        cuts.push((rb + c, Some("retired keys")));
    }
    cuts.push((pb, Some("prekey count")));
    for i in 0..4 {
        for c in [0usize, 32, 34, 132] {
            cuts.push((pb + 1 + i * ko::PREKEY_LEN + c, Some("prekeys")));
        }
    }
    cuts.push((good.len() - 1, Some("prekeys")));
    for (cut, field) in cuts {
        inv(
            &mut g,
            &good[..cut],
            &format!("truncated to {cut} bytes"),
            &["Truncated"],
            "Truncated",
            field,
        );
    }
    f.push(g);
}

// ------------------------------------------------------------ SealToPrekeys

/// An honest envelope of a SealToPrekeys case, reused by OpenWithKeyring.
struct Sealed {
    label: &'static str,
    env: CraftEnvelope,
    bytes: Vec<u8>,
}

const DIRECTORY: [&str; 3] = ["alice", "bob", "carol"];
const OPEN_NOW: u64 = NOW + 5;

fn seal_to_prekeys(
    f: &mut VectorFile,
    world: &World,
    rng: &mut rand_chacha::ChaCha20Rng,
) -> Vec<Sealed> {
    let mut g = Group::new(
        "SealToPrekeys",
        "seal to verified prekeys, byte for byte, and its refusals (SPEC.md §4.9, §5.1 step 7); every keyring opens each envelope (§5.2 step 2).",
    );
    let pk = |name: &'static str, list: &'static str, at: u64| Passed { name, list, at };
    type Case = (
        &'static str,
        &'static str,
        Vec<&'static str>,
        Vec<Passed>,
        u64,
        &'static [u8],
        &'static str,
        Vec<&'static str>,
    );
    let cases: Vec<Case> = vec![
        (
            "all",
            "alice-phone",
            vec!["alice", "bob", "carol"],
            vec![
                pk("alice-phone-1", "alice", NOW),
                pk("alice-phone-2", "alice", NOW),
                pk("alice-laptop-a", "alice", NOW),
                pk("alice-laptop-b", "alice", NOW),
                pk("bob-phone-1", "bob", NOW),
                pk("bob-tablet-1", "bob", NOW),
                pk("carol-phone-old", "carol", NOW - 1),
                pk("carol-phone-1", "carol", NOW),
            ],
            NOW,
            b"prekeys everywhere",
            "to every account, the sender's own device included: alice-phone (itself) and bob-phone to their newest prekey, alice-laptop to the greater key id of two prekeys made at the same time, bob-tablet (no CAPABILITY_PREKEYS) to the prekey passed for it, carol-server (no capability, no prekey) to its certificate key, carol-phone to its unexpired prekey (the expired one is skipped); alice-watch has expired and is skipped",
            vec!["Valid", "SelfSync", "NoCapability", "Expiry"],
        ),
        (
            "tablet",
            "bob-tablet",
            vec!["bob", "carol"],
            vec![pk("bob-phone-1", "bob", NOW), pk("carol-phone-1", "carol", NOW)],
            NOW,
            b"no prekey for the sender",
            "bob-tablet (no capability) sends with no prekey of its own passed: it wraps to its own certificate key; bob-phone and carol-phone to their prekeys",
            vec!["Valid", "SelfSync", "NoCapability"],
        ),
        (
            "older",
            "carol-server",
            vec!["alice"],
            vec![
                pk("alice-phone-1", "alice", NOW - 2 * DAY),
                pk("alice-laptop-a", "alice", NOW - 2 * DAY),
                pk("alice-watch-1", "alice", NOW - 2 * DAY),
            ],
            NOW - 2 * DAY,
            b"two days ago",
            "sealed two days ago to alice-phone's then newest prekey (its next prekey did not exist yet), alice-laptop's, and alice-watch's (its certificate expired since)",
            vec!["Valid", "Superseded"],
        ),
        (
            "bob-old-cert",
            "carol-server",
            vec!["bob-old"],
            vec![],
            NOW - 11 * DAY,
            b"before the re-key",
            "sealed to Bob's list before bob-phone re-keyed (its old certificate had no CAPABILITY_PREKEYS), no prekeys: both devices' certificate keys",
            vec!["Valid", "NoCapability", "Rekey"],
        ),
        (
            "bob-old-prekey",
            "carol-server",
            vec!["bob-old"],
            vec![pk("bob-phone-old-1", "bob-old", NOW - 11 * DAY)],
            NOW - 11 * DAY,
            b"before the re-key, to a prekey",
            "sealed to Bob's list before the re-key with bob-phone's prekey of that time: a prekey passed for a device without the capability is used",
            vec!["Valid", "NoCapability", "Rekey"],
        ),
        (
            "ignored",
            "carol-phone",
            vec!["bob"],
            vec![
                pk("alice-phone-2", "alice", NOW),
                pk("bob-phone-old-1", "bob-old", NOW - 11 * DAY),
                pk("bob-phone-1", "bob", NOW),
            ],
            NOW,
            b"only bob",
            "prekeys for devices that are not recipients (alice-phone) and bob-phone's prekey from before its re-key are ignored; the sender's own list is not passed",
            vec!["Valid", "Rekey"],
        ),
    ];
    let mut sealed = Vec::new();
    for (label, sender, lists, passed, now, payload, comment, flags) in cases {
        let randomness: [u8; 80] = bytes(rng);
        let ms: [u8; 32] = randomness[16..48].try_into().unwrap();
        let targets = wrap_targets(world, &lists, &passed, now, ms).unwrap();
        let e = envelope(
            world,
            sender,
            targets,
            payload,
            b"prekey-vectors",
            now,
            &randomness,
        );
        let enc = e.encode();
        let n = e.recipients.len();
        let wraps: Vec<Value> = e
            .recipients
            .iter()
            .map(|r| {
                let (to, key) = world.key_name(&r.key_id);
                let device = if to == "prekey" {
                    world.prekeys.iter().find(|p| p.name == key).unwrap().device
                } else {
                    key
                };
                json!({
                    "keyId": hx(&r.key_id),
                    "device": device,
                    "to": to,
                    "key": key,
                    "x25519Public": hx(&r.x25519),
                    "recipientBinding": hx(&r.recipient_binding),
                })
            })
            .collect();
        if label == "all" {
            let to = |k: &str| wraps.iter().find(|w| w["key"] == k).is_some();
            assert!(
                to("alice-phone-2")
                    && !to("alice-phone-1")
                    && to("carol-server")
                    && to("bob-tablet-1")
            );
            assert!(to("carol-phone-1") && !to("carol-phone-old") && !to("alice-watch"));
            let (a, b) = (
                craft::prekey_key_id(world.prekey("alice-laptop-a")),
                craft::prekey_key_id(world.prekey("alice-laptop-b")),
            );
            assert!(to(if a > b {
                "alice-laptop-a"
            } else {
                "alice-laptop-b"
            }));
        }
        let opens: Vec<Value> = world
            .keyrings
            .iter()
            .map(|(name, _, _)| open_result(world, &e, name))
            .collect();
        g.valid(
            comment,
            &flags,
            json!({
                "sender": sender,
                "recipients": lists,
                "prekeys": passed_json(&passed),
                "payload": hx(payload),
                "aad": hx(b"prekey-vectors"),
                "padding": {"type": "padme"},
                "now": now,
                "randomness": {
                    "messageId": hx(&randomness[..16]),
                    "messageSecret": hx(&randomness[16..48]),
                    "ephemeralSecret": hx(&randomness[48..]),
                },
                "envelope": hx(&enc),
                "header": {"recipients": e.recipients.iter().map(|r| hx(&r.key_id)).collect::<Vec<_>>()},
                "wraps": wraps,
                "deliveries": e.recipients.iter().enumerate().map(|(i, r)| json!({
                    "keyId": hx(&r.key_id),
                    "delivery": hx(&delivery(&enc, n, i)),
                })).collect::<Vec<_>>(),
                "directory": DIRECTORY,
                "openNow": OPEN_NOW,
                "opens": opens,
            }),
        );
        sealed.push(Sealed {
            label,
            env: e,
            bytes: enc,
        });
    }

    // Refusals: nothing is drawn.
    let refuse = |g: &mut Group,
                  sender: &str,
                  cert: &str,
                  lists: &[&str],
                  passed: &[Passed],
                  now: u64,
                  comment: &str,
                  flags: &[&str],
                  error: &str,
                  missing: Option<&str>| {
        let mut v = json!({
            "sender": sender,
            "senderCertificate": cert,
            "recipients": lists,
            "prekeys": passed_json(passed),
            "payload": hx(b"hello"),
            "aad": hx(b""),
            "padding": {"type": "padme"},
            "now": now,
        });
        if let Some(dev) = missing {
            let d = world.dev(dev);
            let got = wrap_targets(world, lists, passed, now, [0; 32])
                .err()
                .unwrap();
            assert_eq!(
                got,
                (world.account(d.account).public, d.device.device_id),
                "{comment}"
            );
            v["missingAccount"] = hx(&got.0);
            v["missingDeviceId"] = hx(&got.1);
        }
        g.invalid(comment, flags, error, v);
    };
    const MP: &str = "SealError::MissingPrekey";
    refuse(
        &mut g,
        "alice-phone",
        "alice-phone",
        &["bob"],
        &[pk("bob-tablet-1", "bob", NOW)],
        NOW,
        "bob-phone requires prekeys and its prekey is withheld (bob-tablet's is passed)",
        &["MissingPrekey"],
        MP,
        Some("bob-phone"),
    );
    refuse(&mut g, "alice-phone", "alice-phone", &["carol"], &[pk("carol-phone-old", "carol", NOW - 1)], NOW, "only an expired prekey of carol-phone (verified before it expired, expires exactly at now)", &["MissingPrekey", "Expiry", "Boundary"], MP, Some("carol-phone"));
    refuse(&mut g, "alice-phone", "alice-phone", &["bob"], &[pk("bob-phone-old-1", "bob-old", NOW - 11 * DAY), pk("bob-tablet-1", "bob", NOW - 9 * DAY)], NOW - 9 * DAY, "bob-phone's only prekey was verified against its certificate from before the re-key (unexpired, but signed by the old key): not usable for the current certificate", &["MissingPrekey", "Rekey"], MP, Some("bob-phone"));
    refuse(
        &mut g,
        "alice-phone",
        "alice-phone",
        &["alice", "bob"],
        &[
            pk("alice-laptop-a", "alice", NOW),
            pk("bob-phone-1", "bob", NOW),
            pk("bob-tablet-1", "bob", NOW),
        ],
        NOW,
        "the sender's own device requires prekeys and its own prekey is not passed",
        &["MissingPrekey", "SelfSync"],
        MP,
        Some("alice-phone"),
    );
    refuse(&mut g, "alice-phone", "alice-phone", &["carol", "bob"], &[], NOW, "order: carol-phone and bob-phone both lack a prekey: the first list passed names the device", &["MissingPrekey", "Order"], MP, Some("carol-phone"));
    refuse(
        &mut g,
        "alice-phone",
        "alice-phone",
        &["bob", "carol"],
        &[],
        NOW,
        "order: the same lists in the other order",
        &["MissingPrekey", "Order"],
        MP,
        Some("bob-phone"),
    );
    let (p, l) = (world.dev("alice-phone"), world.dev("alice-laptop"));
    let first = if p.device.device_id < l.device.device_id {
        "alice-phone"
    } else {
        "alice-laptop"
    };
    refuse(&mut g, "carol-server", "carol-server", &["alice"], &[], NOW, "order: alice-phone and alice-laptop both lack a prekey: the first in list order (ascending device id) is named", &["MissingPrekey", "Order"], MP, Some(first));
    refuse(&mut g, "alice-phone", "alice-phone", &["bob", "bob"], &[], NOW, "order: Bob's list twice, no prekeys: DuplicateRecipient (step 6) before MissingPrekey (step 7)", &["Order"], "SealError::DuplicateRecipient", None);
    refuse(&mut g, "bob-phone-old", "bob-phone-old", &["bob"], &[], NOW, "order: bob-phone's old keys and certificate send to Bob's current list, no prekeys: SenderNotOnOwnList (step 6) first", &["Order", "Rekey"], "SealError::SenderNotOnOwnList", None);
    refuse(&mut g, "alice-phone", "carol-server", &["bob"], &[], NOW, "order: alice-phone's keys with carol-server's certificate, no prekeys: CertificateMismatch (step 1) first", &["Order"], "SealError::CertificateMismatch", None);
    refuse(
        &mut g,
        "alice-watch",
        "alice-watch",
        &["bob"],
        &[],
        NOW,
        "order: an expired sender, no prekeys: SenderCertificateExpired (step 2) first",
        &["Order", "Expiry"],
        "SealError::SenderCertificateExpired",
        None,
    );
    f.push(g);
    sealed
}

// ------------------------------------------------------------ OpenWithKeyring

fn open_with_keyring(
    f: &mut VectorFile,
    world: &World,
    sealed: &[Sealed],
    rng: &mut rand_chacha::ChaCha20Rng,
) {
    let mut g = Group::new(
        "OpenWithKeyring",
        "A keyring opens with any key it holds: current and superseded certificate keys, prekeys; a deleted key is NotARecipient (SPEC.md §3.8, §5.2 step 2).",
    );
    let get = |label: &str| sealed.iter().find(|s| s.label == label).unwrap();
    let case = |g: &mut Group,
                keyring: &str,
                e: &CraftEnvelope,
                message: &[u8],
                comment: &str,
                flags: &[&str]| {
        let mut v = open_result(world, e, keyring);
        let obj = v.as_object_mut().unwrap();
        obj.remove("keyring");
        let result = obj.remove("result").unwrap();
        let error = obj.remove("error");
        obj.insert("keyring".into(), json!(keyring));
        obj.insert("message".into(), hx(message));
        obj.insert("directory".into(), json!(DIRECTORY));
        obj.insert("now".into(), json!(OPEN_NOW));
        match (result.as_str().unwrap(), error) {
            ("valid", None) => g.valid(comment, flags, v),
            (_, Some(err)) => g.invalid(comment, flags, err.as_str().unwrap(), v),
            _ => unreachable!(),
        }
    };
    let all = get("all");
    let ap2 = craft::prekey_key_id(world.prekey("alice-phone-2"));
    let i = all
        .env
        .recipients
        .iter()
        .position(|r| r.key_id == ap2)
        .unwrap();
    case(&mut g, "alice-phone", &all.env, &delivery(&all.bytes, all.env.recipients.len(), i), "alice-phone opens its delivery with its current prekey (every byte of a delivery matters to its device)", &["Valid"]);
    case(
        &mut g,
        "alice-phone",
        &all.env,
        &all.bytes,
        "alice-phone opens the whole envelope with its current prekey",
        &["Valid"],
    );
    let older = get("older");
    let ap1 = craft::prekey_key_id(world.prekey("alice-phone-1"));
    let i = older
        .env
        .recipients
        .iter()
        .position(|r| r.key_id == ap1)
        .unwrap();
    case(&mut g, "alice-phone", &older.env, &delivery(&older.bytes, older.env.recipients.len(), i), "alice-phone opens its delivery of an envelope wrapped to its superseded prekey (expired at now, still held: the grace period has not passed)", &["Valid", "Superseded"]);
    let c = get("bob-old-cert");
    case(
        &mut g,
        "bob-phone",
        &c.env,
        &c.bytes,
        "bob-phone, re-keyed, opens an envelope wrapped to its superseded certificate key",
        &["Valid", "Rekey", "Superseded"],
    );
    let p = get("bob-old-prekey");
    case(
        &mut g,
        "bob-phone",
        &p.env,
        &p.bytes,
        "bob-phone, re-keyed, opens an envelope wrapped to a prekey its old key signed",
        &["Valid", "Rekey", "Superseded"],
    );
    case(
        &mut g,
        "bob-phone-deleted",
        &p.env,
        &p.bytes,
        "after deletion at now, the prekey's secret is gone (expires_at + G <= now)",
        &["Deletion", "NotARecipient"],
    );
    case(
        &mut g,
        "bob-phone-deleted",
        &c.env,
        &c.bytes,
        "after deletion at now, the superseded key set is gone (retired_at + G <= now)",
        &["Deletion", "NotARecipient"],
    );
    case(
        &mut g,
        "bob-tablet",
        &all.env,
        &all.bytes,
        "bob-tablet (no capability) opens with the prekey it was sealed to",
        &["Valid", "NoCapability"],
    );
    let t = get("tablet");
    case(
        &mut g,
        "bob-tablet",
        &t.env,
        &t.bytes,
        "bob-tablet opens what it sent itself, wrapped to its certificate key",
        &["Valid", "SelfSync", "NoCapability"],
    );
    case(
        &mut g,
        "carol-phone",
        &all.env,
        &all.bytes,
        "carol-phone holds an expired prekey and a current one: the header names the current one",
        &["Valid"],
    );

    // Crafted envelopes from carol-server.
    let craft_env = |recipients: Vec<CraftRecipient>, randomness: &[u8; 80], payload: &[u8]| {
        let mut r = recipients;
        r.sort_by_key(|x| x.key_id);
        let e = envelope(
            world,
            "carol-server",
            r,
            payload,
            b"crafted",
            NOW,
            randomness,
        );
        let b = e.encode();
        (e, b)
    };
    let randomness: [u8; 80] = bytes(rng);
    let ms: [u8; 32] = randomness[16..48].try_into().unwrap();
    let phone_cert = &world.dev("alice-phone").cert;
    let (e, b) = craft_env(
        vec![CraftRecipient::to_certificate(phone_cert, ms)],
        &randomness,
        b"to the certificate key",
    );
    case(&mut g, "alice-phone", &e, &b, "a sender that breaks rule 2 wraps to alice-phone's certificate key although it requires prekeys: alice-phone opens it (the receiver refuses nothing it holds)", &["Valid", "Crafted"]);
    case(
        &mut g,
        "alice-laptop",
        &e,
        &b,
        "the same envelope: alice-laptop is not named",
        &["Crafted", "NotARecipient"],
    );
    let randomness: [u8; 80] = bytes(rng);
    let ms: [u8; 32] = randomness[16..48].try_into().unwrap();
    let two = vec![
        CraftRecipient::to_prekey(world.prekey("alice-phone-1"), ms),
        CraftRecipient::to_prekey(world.prekey("alice-phone-2"), ms),
    ];
    let (e, b) = craft_env(two.clone(), &randomness, b"two keys of one keyring");
    case(&mut g, "alice-phone", &e, &b, "the header names two prekeys of alice-phone (both wraps valid): the key at the lowest header position opens", &["Valid", "Crafted"]);
    let mut bad = two;
    bad.sort_by_key(|x| x.key_id);
    bad[0].wrapped_secret = bytes(rng);
    let (e, b) = craft_env(bad, &randomness, b"two keys of one keyring");
    g.invalid(
        "the same, but the wrap at the lowest position carries another message secret: Unauthenticated, with no second try at the later position",
        &["Crafted"],
        "OpenError::Unauthenticated",
        json!({"keyring": "alice-phone", "message": hx(&b), "directory": DIRECTORY, "now": OPEN_NOW}),
    );
    let _ = e;
    let randomness: [u8; 80] = bytes(rng);
    let ms: [u8; 32] = randomness[16..48].try_into().unwrap();
    let mut r = CraftRecipient::to_prekey(world.prekey("alice-phone-2"), ms);
    r.recipient_binding = craft::certificate_binding(phone_cert);
    let (_, b) = craft_env(vec![r], &randomness, b"wrong binding");
    g.invalid(
        "a wrap to alice-phone's current prekey bound with its certificate's binding instead of the prekey's: Unauthenticated",
        &["Crafted"],
        "OpenError::Unauthenticated",
        json!({"keyring": "alice-phone", "message": hx(&b), "directory": DIRECTORY, "now": OPEN_NOW}),
    );
    f.push(g);
}
