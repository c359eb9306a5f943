//! vectors/hybrid.json: the hybrid suite `0x0002` (X-Wing). Every expected
//! output comes from `vectors_craft.rs` (X-Wing from the x-wing crate, the
//! key schedule, AEAD, hashes and signatures on the primitive crates), every
//! expected error from the case's design, cross-checked against the plain
//! models of SPEC.md §3.9 and §5.2 step 1 where bytes decide it.

use serde_json::{json, Value};

use super::craft::{
    self, hybrid_offset, CraftEnvelope, CraftHybridEnvelope, CraftHybridRecipient, CraftRecipient,
    HybridPrekey, KeyringBytes, List, Prekey,
};
use super::identity::{Account, Device};
use super::prekeys::{decode_prekey, import_model};
use super::{bytes, file_rng, hx, padme, Group, VectorFile, NOW, YEAR};

/// Capability bits (SPEC.md §3.3).
const PREKEYS: u32 = 1;
const HYBRID: u32 = 2;
/// The default policy (SPEC.md §3.8).
const R: u64 = 172_800_000;
const L: u64 = 604_800_000;
const G: u64 = 604_800_000;
const SKEW: u64 = craft::MAX_PREKEY_CLOCK_SKEW_MS;
/// When the published prekeys were made.
const MADE: u64 = NOW - 3_600_000;
const OPEN_NOW: u64 = NOW + 5;

struct Dev {
    name: &'static str,
    account: usize,
    device: Device,
    caps: u32,
    cert: Vec<u8>,
}

struct Pk {
    name: &'static str,
    device: &'static str,
    secret: [u8; 32],
    bytes: Vec<u8>,
}

struct World {
    accounts: Vec<(&'static str, Account)>,
    devs: Vec<Dev>,
    /// (name, account index, encoded list)
    lists: Vec<(&'static str, usize, Vec<u8>)>,
    prekeys: Vec<Pk>,
}

impl World {
    fn dev(&self, n: &str) -> &Dev {
        self.devs.iter().find(|d| d.name == n).unwrap()
    }
    fn acc(&self, d: &Dev) -> &Account {
        &self.accounts[d.account].1
    }
    fn pk(&self, n: &str) -> &Pk {
        self.prekeys.iter().find(|p| p.name == n).unwrap()
    }
    fn list(&self, n: &str) -> &Vec<u8> {
        &self.lists.iter().find(|l| l.0 == n).unwrap().2
    }
    /// The keyring of a device holding the named prekeys (default policy).
    fn keyring(&self, device: &str, prekeys: &[&str]) -> KeyringBytes {
        let d = self.dev(device);
        let mut classical = Vec::new();
        let mut hybrid = Vec::new();
        for n in prekeys {
            let p = self.pk(n);
            if p.bytes[2..4] == [0, 2] {
                hybrid.push((p.secret, p.bytes.clone()));
            } else {
                classical.push((p.secret, p.bytes.clone()));
            }
        }
        KeyringBytes {
            version: 2,
            object_type: 0x20,
            rotation_ms: R,
            lifetime_ms: L,
            grace_ms: G,
            secret: d.device.secret,
            certificate: d.cert.clone(),
            retired: Vec::new(),
            prekeys: classical,
            hybrid,
        }
        .canonical()
        .clamped()
    }
}

fn hybrid_prekey(d: &Dev, acc: &Account, seed: &[u8; 32], created: u64, expires: u64) -> Vec<u8> {
    HybridPrekey::new(
        acc.public,
        d.device.device_id,
        d.device.ed25519,
        craft::xwing_public(seed),
        created,
        expires,
    )
    .signed(&d.device.ed_seed)
}

fn classical_prekey(d: &Dev, acc: &Account, secret: &[u8; 32], created: u64) -> Vec<u8> {
    Prekey::new(
        acc.public,
        d.device.device_id,
        d.device.ed25519,
        craft::x25519_public(secret),
        created,
        created + L,
    )
    .signed(&d.device.ed_seed)
}

fn build_world(rng: &mut rand_chacha::ChaCha20Rng) -> World {
    let accounts: Vec<(&'static str, Account)> = ["alice", "bob", "carol"]
        .into_iter()
        .map(|n| (n, Account::new(rng)))
        .collect();
    let mut devs = Vec::new();
    for (name, account, caps) in [
        ("alice-phone", 0, PREKEYS | HYBRID),
        ("bob-phone", 1, PREKEYS | HYBRID),
        ("bob-laptop", 1, HYBRID),
        ("carol-phone", 2, PREKEYS),
        ("carol-server", 2, 0),
    ] {
        let device = Device::new(rng);
        let acc = &accounts[account].1;
        let mut c = device.cert(acc, None);
        c.capabilities = caps;
        let cert = c.signed(&acc.seed);
        devs.push(Dev {
            name,
            account,
            device,
            caps,
            cert,
        });
    }
    let mut lists = Vec::new();
    for (i, (name, acc)) in accounts.iter().enumerate() {
        let mut certs: Vec<Vec<u8>> = devs
            .iter()
            .filter(|d| d.account == i)
            .map(|d| d.cert.clone())
            .collect();
        certs.sort_by(|a, b| a[36..52].cmp(&b[36..52]));
        let list = List {
            suite: 1,
            account: acc.public,
            version: 1,
            previous_hash: [0; 32],
            issued_at: NOW - YEAR,
            certificates: certs,
        }
        .signed(&acc.seed);
        lists.push((*name, i, list));
    }
    let mut world = World {
        accounts,
        devs,
        lists,
        prekeys: Vec::new(),
    };
    let mut prekeys = Vec::new();
    for (name, device, hybrid) in [
        ("alice-phone-h", "alice-phone", true),
        ("alice-phone-c", "alice-phone", false),
        ("bob-phone-h", "bob-phone", true),
        ("bob-phone-c", "bob-phone", false),
        ("bob-laptop-h", "bob-laptop", true),
        ("bob-laptop-c", "bob-laptop", false),
        ("carol-phone-c", "carol-phone", false),
    ] {
        let secret: [u8; 32] = bytes(rng);
        let d = world.dev(device);
        let acc = world.acc(d);
        let bytes = if hybrid {
            hybrid_prekey(d, acc, &secret, MADE, MADE + L)
        } else {
            classical_prekey(d, acc, &secret, MADE)
        };
        prekeys.push(Pk {
            name,
            device,
            secret,
            bytes,
        });
    }
    world.prekeys = prekeys;
    world
}

const KEYRINGS: [(&str, &str, &[&str]); 5] = [
    (
        "alice-phone",
        "alice-phone",
        &["alice-phone-c", "alice-phone-h"],
    ),
    ("bob-phone", "bob-phone", &["bob-phone-c", "bob-phone-h"]),
    (
        "bob-laptop",
        "bob-laptop",
        &["bob-laptop-c", "bob-laptop-h"],
    ),
    ("carol-phone", "carol-phone", &["carol-phone-c"]),
    ("carol-server", "carol-server", &[]),
];

fn identities(w: &World) -> Value {
    json!({
        "accounts": w.accounts.iter().map(|(n, a)| json!({"name": n, "publicKey": hx(&a.public)})).collect::<Vec<_>>(),
        "lists": w.lists.iter().map(|(n, a, l)| json!({"name": n, "account": w.accounts[*a].0, "deviceList": hx(l)})).collect::<Vec<_>>(),
        "devices": w.devs.iter().map(|d| json!({
            "name": d.name,
            "account": w.accounts[d.account].0,
            "secret": hx(&d.device.secret),
            "certificate": hx(&d.cert),
            "capabilities": d.caps,
            "keyId": hx(&craft::certificate_key_id(&d.cert)),
            "deviceId": hx(&d.device.device_id),
        })).collect::<Vec<_>>(),
        "prekeys": w.prekeys.iter().map(|p| json!({
            "name": p.name,
            "device": p.device,
            "prekey": hx(&p.bytes),
            "keyId": hx(&craft::prekey_key_id(&p.bytes)),
        })).collect::<Vec<_>>(),
        "keyrings": KEYRINGS.iter().map(|(n, d, p)| json!({
            "name": n,
            "device": d,
            "export": hx(&w.keyring(d, p).encode()),
        })).collect::<Vec<_>>(),
    })
}

pub(crate) fn hybrid() -> String {
    let mut rng = file_rng("hybrid.json");
    let world = build_world(&mut rng);
    let mut f = VectorFile::new(
        "fanseal hybrid suite 0x0002 (X-Wing): hybrid signed prekeys, keyrings with hybrid prekeys, hybrid envelopes and the suite rule",
        json!({
            "identities": "As in prekeys.json (accounts, lists, devices, prekeys, keyrings), plus each device's capabilities (bit 0 CAPABILITY_PREKEYS, bit 1 CAPABILITY_HYBRID). alice-phone and bob-phone have both bits, bob-laptop bit 1 only (which implies the prekey rule of bit 0, SPEC.md §3.3, so it publishes a classical prekey too), carol-phone bit 0 only, carol-server none. Prekeys named *-h are hybrid (1,380 bytes, suite 0x0002), *-c classical (196 bytes); each keyring holds its device's prekeys.",
            "HybridPrekeyIssue": "secret (64 bytes), certificate, account, policy, now, randomness (the 32 bytes DeviceKeyring::rotate_hybrid_prekey draws: the X-Wing seed) -> prekey (exact 1,380 bytes), publicKey (X-Wing DeriveKeyPair(seed): pk_M || pk_X, 1,216 bytes), keyId = SHA-256(u8 len || \"fanseal v2 hybrid prekey key id\" || account || deviceId || prekeyXWing)[0..16], recipientBinding = SHA-256(u8 len || \"fanseal v2 hybrid recipient binding\" || account || deviceId || prekeyXWing); or the KeyringError (nothing drawn).",
            "HybridPrekeyVerify": "as PrekeyVerify in prekeys.json, for prekeys of either suite: prekey, form, listName, device, now -> account, deviceId, deviceKey, publicKey (32 or 1,216 bytes), suite (1 or 2), createdAt, expiresAt, keyId, recipientBinding (of the prekey's suite); or the DecodeError, then the PrekeyError (InvalidHybridKey for an X-Wing key whose ML-KEM half fails the FIPS 203 modulus check or whose X25519 half is non-canonical or of low order).",
            "HybridKeyringExport": "secret, certificate (DeviceKeyring::new), policy, steps in order: {op: rotate | rotateHybrid, now, randomness (32 bytes drawn) -> prekey} (a step with result invalid is refused with its KeyringError, draws nothing and changes nothing) -> export (exact bytes of DeviceKeyring::export; importing it and exporting again gives the same bytes).",
            "HybridKeyringImport": "as KeyringImport in prekeys.json: export -> the keyring's keyId, policy and prekeyKeyIds (classical prekeys, then hybrid ones, each in export order), or KeyringError::Decode(DecodeError::*) with errorField / errorWhat.",
            "HybridSeal": "sender, recipients (list names), prekeys [{prekey, list, verifiedAt}], payload, aad, padding (padme), suitePolicy (auto | requireHybrid), now, randomness -> suite (2 or 1), envelope (exact bytes), header (messageId, commitment, recipients), intermediate (contextHash, headerHash; per wrap in key-id order: keyId, device, prekey, xwingCiphertext (1,120 bytes), sharedSecret, key, baseNonce, recipientBinding), deliveries, opens (each keyring opens the envelope and its delivery at openNow: payload, aad, senderAccount, senderDevice, messageId, timestamp, openedWith, suite; or the OpenError). randomness of a hybrid envelope: messageId 16, messageSecret 32, then eseeds: 64 bytes per recipient in key-id order (X-Wing EncapsDerand: ML-KEM m || X25519 ephemeral secret); of a classical one: messageId, messageSecret, ephemeralSecret 32 (the wraps then go to the classical prekeys, or to a certificate key for a device without CAPABILITY_PREKEYS).",
            "HybridSealError": "the inputs of HybridSeal -> the SealError, with no randomness drawn; HybridUnavailable lists devices [{account, deviceId}] exactly, in order; MissingPrekey names missingAccount and missingDeviceId.",
            "HybridOpen": "keyring, message (envelope or delivery), directory, now -> payload, aad, senderAccount, senderDevice, messageId, timestamp, openedWith, suite; or the OpenError (decode errors with errorField where SPEC.md names the field).",
        }),
    );
    f.flag("Valid", "a well-formed object used as intended");
    f.flag("Hybrid", "the hybrid suite 0x0002");
    f.flag("SuiteRule", "which suite an envelope uses (SPEC.md §4.10)");
    f.flag("InvalidHybridKey", "an X-Wing key failing SPEC.md §2.7 (ML-KEM modulus check, or a non-canonical or low-order X25519 half)");
    f.flag("Downgrade", "a suite field relabelled");
    f.flag("Truncated", "input cut short");
    f.flag("TrailingBytes", "bytes after a complete object");
    f.flag(
        "Order",
        "several faults at once: the first in SPEC.md's order wins",
    );
    f.flag("Tampered", "a changed byte in a wrap");
    f.flag("LowOrder", "a low-order X25519 value");
    f.flag("Misrouted", "a wrap made for another device");
    f.extra("identities", identities(&world));

    prekey_issue(&mut f, &world, &mut rng);
    prekey_verify(&mut f, &world);
    keyring_export(&mut f, &world, &mut rng);
    keyring_import(&mut f, &world);
    let sealed = seal(&mut f, &world, &mut rng);
    seal_errors(&mut f, &world);
    open_attacks(&mut f, &world, &sealed);
    f.render()
}

// ------------------------------------------------------------ prekeys

fn policy_json(r: u64, l: u64, g: u64) -> Value {
    json!({"rotationPeriodMs": r, "lifetimeMs": l, "graceMs": g})
}

fn prekey_issue(f: &mut VectorFile, w: &World, rng: &mut rand_chacha::ChaCha20Rng) {
    let mut g = Group::new(
        "HybridPrekeyIssue",
        "DeviceKeyring::rotate_hybrid_prekey (SPEC.md §3.7, §3.8 Rotate hybrid)",
    );
    for (dev, now, l) in [("bob-phone", NOW, L), ("bob-laptop", NOW + 17, 2 * R)] {
        let d = w.dev(dev);
        let acc = w.acc(d);
        let seed: [u8; 32] = bytes(rng);
        let p = hybrid_prekey(d, acc, &seed, now, now + l);
        let xw = craft::xwing_public(&seed);
        g.valid(
            &format!("{dev} (capabilities {}) makes a hybrid prekey", d.caps),
            &["Valid", "Hybrid"],
            json!({
                "secret": hx(&d.device.secret), "certificate": hx(&d.cert), "account": hx(&acc.public),
                "policy": policy_json(R, l, G), "now": now, "randomness": hx(&seed),
                "prekey": hx(&p), "publicKey": hx(&xw),
                "keyId": hx(&craft::hybrid_prekey_key_id_of(&acc.public, &d.device.device_id, &xw)),
                "recipientBinding": hx(&craft::hybrid_recipient_binding(&acc.public, &d.device.device_id, &xw)),
            }),
        );
    }
    let refuse = |g: &mut Group,
                  dev: &str,
                  now: u64,
                  comment: &str,
                  flags: &[&str],
                  error: &str| {
        let d = w.dev(dev);
        let acc = w.acc(d);
        g.invalid(
            comment,
            flags,
            error,
            json!({
                "secret": hx(&d.device.secret), "certificate": hx(&d.cert), "account": hx(&acc.public),
                "policy": policy_json(R, L, G), "now": now, "randomness": "",
            }),
        );
    };
    refuse(
        &mut g,
        "carol-phone",
        NOW,
        "carol-phone's certificate lacks CAPABILITY_HYBRID: NotHybrid, nothing drawn",
        &["Hybrid"],
        "KeyringError::NotHybrid",
    );
    refuse(
        &mut g,
        "carol-server",
        u64::MAX - L,
        "order: no CAPABILITY_HYBRID and now + L = 2^64 - 1: NotHybrid first",
        &["Hybrid", "Order"],
        "KeyringError::NotHybrid",
    );
    refuse(
        &mut g,
        "bob-phone",
        u64::MAX - L,
        "now + L = 2^64 - 1: InvalidPolicy, nothing drawn",
        &["Hybrid"],
        "KeyringError::InvalidPolicy",
    );
    f.push(g);
}

/// An X-Wing public key with its ML-KEM coefficient `i` set to `v`.
fn with_coefficient(pk: &[u8], i: usize, v: u16) -> Vec<u8> {
    let mut pk = pk.to_vec();
    let at = 3 * (i / 2);
    if i.is_multiple_of(2) {
        pk[at] = (v & 0xff) as u8;
        pk[at + 1] = (pk[at + 1] & 0xf0) | ((v >> 8) as u8);
    } else {
        pk[at + 1] = (pk[at + 1] & 0x0f) | (((v & 0x0f) as u8) << 4);
        pk[at + 2] = (v >> 4) as u8;
    }
    pk
}

fn with_x25519(pk: &[u8], x: &[u8; 32]) -> Vec<u8> {
    let mut pk = pk.to_vec();
    pk[1184..].copy_from_slice(x);
    pk
}

/// The 5 canonical low-order X25519 u-coordinates and two non-canonical
/// encodings (SPEC.md §2.7).
fn bad_x25519() -> Vec<(&'static str, [u8; 32], &'static str)> {
    let mut one = [0u8; 32];
    one[0] = 1;
    let mut p_minus_1 = [0xffu8; 32];
    p_minus_1[0] = 0xec;
    p_minus_1[31] = 0x7f;
    let order8: [u8; 32] =
        hex::decode("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")
            .unwrap()
            .try_into()
            .unwrap();
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    let mut top = one;
    top[31] = 0x80;
    vec![
        ("all-zero", [0; 32], "LowOrder"),
        ("u = 1", one, "LowOrder"),
        ("u = p - 1", p_minus_1, "LowOrder"),
        ("a point of order 8", order8, "LowOrder"),
        ("u = p (non-canonical)", p, "InvalidHybridKey"),
        (
            "u = 1 with the top bit set (non-canonical)",
            top,
            "InvalidHybridKey",
        ),
    ]
}

fn verified_fields(p: &[u8]) -> Value {
    let k = craft::prekey_key_len(p);
    let account: [u8; 32] = p[4..36].try_into().unwrap();
    let device_id: [u8; 16] = p[36..52].try_into().unwrap();
    let key = &p[84..84 + k];
    let (binding, suite) = if k == 32 {
        (
            craft::recipient_binding(&account, &device_id, key.try_into().unwrap()),
            1,
        )
    } else {
        (
            craft::hybrid_recipient_binding(&account, &device_id, key),
            2,
        )
    };
    json!({
        "account": hx(&account), "deviceId": hx(&device_id), "deviceKey": hx(&p[52..84]),
        "publicKey": hx(key), "suite": suite,
        "createdAt": craft::prekey_created_at(p), "expiresAt": craft::prekey_expires_at(p),
        "keyId": hx(&craft::prekey_key_id(p)), "recipientBinding": hx(&binding),
    })
}

fn prekey_verify(f: &mut VectorFile, w: &World) {
    let mut g = Group::new(
        "HybridPrekeyVerify",
        "verifying hybrid signed prekeys (SPEC.md §3.7 steps 1-8, §2.7 X-Wing keys)",
    );
    let case = |p: &[u8], form: &str, list: &str, device: &str, now: u64| json!({"prekey": hx(p), "form": form, "listName": list, "device": device, "now": now});
    for (pk, list, dev) in [
        ("bob-phone-h", "bob", "bob-phone"),
        ("bob-laptop-h", "bob", "bob-laptop"),
        ("alice-phone-h", "alice", "alice-phone"),
    ] {
        let p = &w.pk(pk).bytes;
        for form in ["certificate", "list"] {
            let mut c = case(p, form, list, dev, NOW);
            for (k, v) in verified_fields(p).as_object().unwrap() {
                c[k] = v.clone();
            }
            g.valid(&format!("{pk}, {form} form"), &["Valid", "Hybrid"], c);
        }
    }
    // A hybrid prekey whose fields are changed and re-signed by bob-phone.
    let d = w.dev("bob-phone");
    let acc = w.acc(d);
    let good = HybridPrekey::new(
        acc.public,
        d.device.device_id,
        d.device.ed25519,
        w.pk("bob-phone-h").bytes[84..1300].to_vec(),
        MADE,
        MADE + L,
    );
    assert_eq!(good.signed(&d.device.ed_seed), w.pk("bob-phone-h").bytes);
    let inv = |g: &mut Group, p: &[u8], form: &str, comment: &str, flags: &[&str], error: &str| {
        g.invalid(
            comment,
            flags,
            error,
            case(p, form, "bob", "bob-phone", NOW),
        );
    };
    let resigned = |xw: Vec<u8>| {
        let mut h = good.clone();
        h.xwing = xw;
        h.signed(&d.device.ed_seed)
    };
    for (i, v) in [(0usize, 3329u16), (1, 4095), (767, 3329)] {
        let xw = with_coefficient(&good.xwing, i, v);
        assert!(!craft::mlkem768_modulus_ok(&xw[..1184]));
        inv(
            &mut g,
            &resigned(xw),
            "certificate",
            &format!("ML-KEM half: coefficient {i} is {v} (>= q = 3329), re-signed"),
            &["Hybrid", "InvalidHybridKey"],
            "PrekeyError::InvalidHybridKey",
        );
    }
    for (what, x, flag) in bad_x25519() {
        let xw = with_x25519(&good.xwing, &x);
        assert!(!craft::xwing_public_valid(&xw));
        inv(
            &mut g,
            &resigned(xw),
            "list",
            &format!("X25519 half {what}, re-signed"),
            &["Hybrid", flag],
            "PrekeyError::InvalidHybridKey",
        );
    }
    // Order: step 3 before step 4, step 4 before step 5.
    {
        let mut h = good.clone();
        h.xwing = with_coefficient(&good.xwing, 0, 3329);
        h.device_key = w.dev("bob-laptop").device.ed25519;
        inv(&mut g, &h.signed(&w.dev("bob-laptop").device.ed_seed), "certificate", "order: signed by bob-laptop's key (WrongDeviceKey, step 3) and an invalid ML-KEM half (step 4): WrongDeviceKey", &["Hybrid", "Order"], "PrekeyError::WrongDeviceKey");
        let mut p = resigned(with_coefficient(&good.xwing, 0, 3329));
        let last = p.len() - 1;
        p[last] ^= 1;
        inv(
            &mut g,
            &p,
            "certificate",
            "order: an invalid ML-KEM half (step 4) and a bad signature (step 5): InvalidHybridKey",
            &["Hybrid", "Order", "InvalidHybridKey"],
            "PrekeyError::InvalidHybridKey",
        );
    }
    // Each other step alone.
    {
        let mut h = good.clone();
        h.account = w.accounts[0].1.public;
        inv(
            &mut g,
            &h.signed(&d.device.ed_seed),
            "certificate",
            "names Alice's account",
            &["Hybrid"],
            "PrekeyError::WrongAccount",
        );
        inv(
            &mut g,
            &h.signed(&d.device.ed_seed),
            "list",
            "names Alice's account, list form",
            &["Hybrid"],
            "PrekeyError::WrongAccount",
        );
        let mut h = good.clone();
        h.device_id = bytes::<16>(&mut file_rng("hybrid.json unknown device"));
        inv(
            &mut g,
            &h.signed(&d.device.ed_seed),
            "list",
            "names a device id not on Bob's list",
            &["Hybrid"],
            "PrekeyError::UnknownDevice",
        );
        g.invalid(
            "bob-laptop's hybrid prekey verified as bob-phone's",
            &["Hybrid"],
            "PrekeyError::WrongDevice",
            case(
                &w.pk("bob-laptop-h").bytes,
                "certificate",
                "bob",
                "bob-phone",
                NOW,
            ),
        );
        let mut p = good.signed(&d.device.ed_seed);
        p[1160] ^= 0x01; // inside rho (bytes 1152..1184): still a valid key
        assert!(craft::xwing_public_valid(&p[84..1300]));
        inv(
            &mut g,
            &p,
            "certificate",
            "a changed byte of the ML-KEM seed rho (a valid key): BadSignature",
            &["Hybrid"],
            "PrekeyError::BadSignature",
        );
        inv(
            &mut g,
            &good.signed_with_label(&d.device.ed_seed, craft::label::CERTIFICATE_SIGNATURE),
            "certificate",
            "signed under another label",
            &["Hybrid"],
            "PrekeyError::BadSignature",
        );
        let mut h = good.clone();
        h.expires_at = h.created_at + craft::MAX_PREKEY_LIFETIME_MS + 1;
        inv(
            &mut g,
            &h.signed(&d.device.ed_seed),
            "certificate",
            "lifetime one ms above 30 days",
            &["Hybrid"],
            "PrekeyError::InvalidLifetime",
        );
        let mut h = good.clone();
        h.created_at = NOW + SKEW + 1;
        h.expires_at = h.created_at + L;
        inv(
            &mut g,
            &h.signed(&d.device.ed_seed),
            "certificate",
            "created one ms after now + MAX_PREKEY_CLOCK_SKEW_MS",
            &["Hybrid"],
            "PrekeyError::NotYetValid",
        );
        g.invalid(
            "expired: now = expiresAt",
            &["Hybrid"],
            "PrekeyError::Expired",
            case(
                &w.pk("bob-phone-h").bytes,
                "certificate",
                "bob",
                "bob-phone",
                MADE + L,
            ),
        );
    }
    // Decoding.
    let p = &w.pk("bob-phone-h").bytes;
    let dec = |b: &[u8]| -> String {
        match decode_prekey(b) {
            Err(e) => format!("DecodeError::{e}"),
            Ok((len, _)) if b.len() > len => "DecodeError::TrailingBytes".into(),
            Ok(_) => panic!("decodes"),
        }
    };
    for cut in [4usize, 84, 1299, 1300, 1316, 1379] {
        let b = &p[..cut];
        g.invalid(
            &format!("truncated to {cut} bytes"),
            &["Hybrid", "Truncated"],
            &dec(b),
            case(b, "certificate", "bob", "bob-phone", NOW),
        );
    }
    let mut b = p.clone();
    b.push(0);
    g.invalid(
        "a trailing byte",
        &["Hybrid", "TrailingBytes"],
        &dec(&b),
        case(&b, "certificate", "bob", "bob-phone", NOW),
    );
    let relabel = |b: &[u8], s: u16| {
        let mut b = b.to_vec();
        b[2..4].copy_from_slice(&s.to_be_bytes());
        b
    };
    let b = relabel(p, 1);
    g.invalid("a hybrid prekey relabelled to suite 0x0001: a 196-byte classical prekey followed by 1,184 bytes", &["Hybrid", "Downgrade"], &dec(&b), case(&b, "certificate", "bob", "bob-phone", NOW));
    let b = relabel(&w.pk("bob-phone-c").bytes, 2);
    g.invalid(
        "a classical prekey relabelled to suite 0x0002: too short for a hybrid prekey",
        &["Hybrid", "Downgrade"],
        &dec(&b),
        case(&b, "certificate", "bob", "bob-phone", NOW),
    );
    let b = relabel(p, 3);
    g.invalid(
        "suite 0x0003 (not defined)",
        &["Hybrid", "Downgrade"],
        &dec(&b),
        case(&b, "certificate", "bob", "bob-phone", NOW),
    );
    // A classical prekey signed claiming suite 2 but of hybrid length: the
    // suite is signed, so the kind cannot be swapped under a signature.
    let mut h = good.clone();
    h.suite = 1;
    let b = h.signed(&d.device.ed_seed);
    g.invalid("a hybrid layout signed with suite 0x0001: decodes as a classical prekey, then trailing bytes", &["Hybrid", "Downgrade"], &dec(&b), case(&b, "certificate", "bob", "bob-phone", NOW));
    f.push(g);
}

// ------------------------------------------------------------ keyrings

fn keyring_export(f: &mut VectorFile, w: &World, rng: &mut rand_chacha::ChaCha20Rng) {
    let mut g = Group::new(
        "HybridKeyringExport",
        "keyrings with hybrid prekeys: exact export bytes after rotations of both kinds (SPEC.md §3.8, §3.9)",
    );
    for dev in ["bob-phone", "bob-laptop", "carol-phone"] {
        let d = w.dev(dev);
        let acc = w.acc(d);
        let mut model = w.keyring(dev, &[]);
        let mut steps = Vec::new();
        for (op, now) in [
            ("rotate", NOW - 2 * R),
            ("rotateHybrid", NOW - 2 * R),
            ("rotateHybrid", NOW - R),
            ("rotate", NOW),
            ("rotateHybrid", NOW),
        ] {
            let hybrid = op == "rotateHybrid";
            let refused = if hybrid { d.caps & HYBRID == 0 } else { false };
            if refused {
                steps.push(json!({"op": op, "now": now, "randomness": "", "result": "invalid", "error": "KeyringError::NotHybrid"}));
                continue;
            }
            let secret: [u8; 32] = bytes(rng);
            let p = if hybrid {
                hybrid_prekey(d, acc, &secret, now, now + L)
            } else {
                classical_prekey(d, acc, &secret, now)
            };
            if hybrid {
                model.hybrid.push((secret, p.clone()));
            } else {
                model.prekeys.push((secret, p.clone()));
            }
            steps.push(json!({"op": op, "now": now, "randomness": hx(&secret), "result": "valid", "prekey": hx(&p)}));
        }
        let export = model.canonical().clamped().encode();
        assert_eq!(import_model(&export), Ok(()));
        g.valid(
            &format!(
                "{dev} (capabilities {}): classical and hybrid rotations",
                d.caps
            ),
            &["Valid", "Hybrid"],
            json!({
                "secret": hx(&d.device.secret), "certificate": hx(&d.cert),
                "policy": policy_json(R, L, G), "steps": steps, "export": hx(&export),
            }),
        );
    }
    f.push(g);
}

fn keyring_import(f: &mut VectorFile, w: &World) {
    let mut g = Group::new(
        "HybridKeyringImport",
        "loading keyring exports with a hybrid section (SPEC.md §3.9 steps 4-6)",
    );
    let base = w.keyring("bob-phone", &["bob-phone-c", "bob-phone-h"]);
    let good = base.encode();
    let inv = |g: &mut Group,
               b: &[u8],
               comment: &str,
               flags: &[&str],
               kind: &'static str,
               detail: Option<&'static str>| {
        assert_eq!(import_model(b), Err((kind, detail)), "{comment}");
        let mut fields = json!({"export": hx(b)});
        if let Some(d) = detail {
            let key = if matches!(kind, "Truncated" | "OutOfRange") {
                "errorField"
            } else {
                "errorWhat"
            };
            fields[key] = Value::from(d);
        }
        g.invalid(
            comment,
            flags,
            &format!("KeyringError::Decode(DecodeError::{kind})"),
            fields,
        );
    };
    for (name, dev, pks) in KEYRINGS {
        let k = w.keyring(dev, pks);
        let b = k.encode();
        assert_eq!(import_model(&b), Ok(()));
        let ids: Vec<Value> = k
            .prekeys
            .iter()
            .chain(&k.hybrid)
            .map(|(_, p)| hx(&craft::prekey_key_id(p)))
            .collect();
        g.valid(
            &format!(
                "the {name} keyring ({} classical, {} hybrid prekeys)",
                k.prekeys.len(),
                k.hybrid.len()
            ),
            &["Valid", "Hybrid"],
            json!({
                "export": hx(&b), "keyId": hx(&craft::certificate_key_id(&k.certificate)),
                "policy": policy_json(R, L, G), "prekeyKeyIds": ids,
            }),
        );
    }
    let mut k = base.clone();
    k.hybrid[0].0[5] ^= 1;
    inv(
        &mut g,
        &k.encode(),
        "a wrong X-Wing seed for the hybrid prekey",
        &["Hybrid"],
        "Inconsistent",
        Some("prekey secret and public key"),
    );
    let mut k = base.clone();
    k.hybrid[0].0 = w.pk("bob-laptop-h").secret;
    inv(
        &mut g,
        &k.encode(),
        "another device's X-Wing seed for bob-phone's hybrid prekey",
        &["Hybrid"],
        "Inconsistent",
        Some("prekey secret and public key"),
    );
    let mut k = base.clone();
    let h = k.hybrid.remove(0);
    k.prekeys.push((craft::clamp(&h.0), h.1));
    inv(
        &mut g,
        &k.encode(),
        "the hybrid prekey in the classical section (its seed clamped): NonCanonical",
        &["Hybrid", "Downgrade"],
        "NonCanonical",
        Some("prekey of the other suite's section"),
    );
    let mut k = base.clone();
    let c = k.prekeys.remove(0);
    k.hybrid = vec![c];
    // h = 1 needs 1,412 bytes: 1,184 bytes after the classical entry pass
    // the section's length check; then the entry's suite field is refused
    // before its layout is decoded (SPEC.md §3.9 step 5).
    let mut b = k.encode();
    b.extend_from_slice(&[0u8; 1184]);
    inv(&mut g, &b, "the classical prekey (with its X25519 secret) in the hybrid section, 1,184 zero bytes after it: NonCanonical", &["Hybrid", "Downgrade"], "NonCanonical", Some("prekey of the other suite's section"));
    inv(
        &mut g,
        &k.encode(),
        "the classical prekey in the hybrid section, nothing after it: fewer than 1,412 bytes left",
        &["Hybrid", "Truncated"],
        "Truncated",
        Some("prekeys"),
    );
    let mut k = base.clone();
    k.prekeys.clear();
    let h = k.hybrid[0].clone();
    k.prekeys.push(h);
    k.hybrid.clear();
    inv(&mut g, &k.encode(), "order: the hybrid prekey in the classical section with an unclamped seed: the clamping check first", &["Hybrid", "Order"], "NonCanonical", Some("X25519 secret not clamped"));
    let h_at = good.len() - 1 - 1412;
    assert_eq!(good[h_at], 1);
    let mut b = good[..=h_at].to_vec();
    b[h_at] = 33;
    inv(
        &mut g,
        &b,
        "h = 33",
        &["Hybrid"],
        "OutOfRange",
        Some("hybrid prekey count"),
    );
    let mut b = good.clone();
    b[h_at] = 33;
    inv(
        &mut g,
        &b,
        "h = 33 followed by one entry",
        &["Hybrid"],
        "OutOfRange",
        Some("hybrid prekey count"),
    );
    let mut b = good.clone();
    b[h_at] = 2;
    inv(
        &mut g,
        &b,
        "h = 2 with one entry",
        &["Hybrid", "Truncated"],
        "Truncated",
        Some("prekeys"),
    );
    for cut in [h_at, h_at + 1, h_at + 32, h_at + 33 + 1379] {
        inv(
            &mut g,
            &good[..cut],
            &format!("truncated to {cut} bytes"),
            &["Hybrid", "Truncated"],
            "Truncated",
            Some(if cut == h_at {
                "hybrid prekey count"
            } else {
                "prekeys"
            }),
        );
    }
    let mut b = good.clone();
    b.push(0);
    inv(
        &mut g,
        &b,
        "a trailing byte after the hybrid section",
        &["Hybrid", "TrailingBytes"],
        "TrailingBytes",
        None,
    );
    // Two hybrid prekeys out of order; the same hybrid prekey twice.
    let mut k = w.keyring("bob-phone", &["bob-phone-c", "bob-phone-h"]);
    let d = w.dev("bob-phone");
    let acc = w.acc(d);
    let seed2: [u8; 32] = bytes(&mut file_rng("hybrid.json second seed"));
    let later = hybrid_prekey(d, acc, &seed2, MADE + 1, MADE + 1 + L);
    k.hybrid.insert(0, (seed2, later.clone()));
    inv(
        &mut g,
        &k.encode(),
        "two hybrid prekeys, newer first",
        &["Hybrid"],
        "NonCanonical",
        Some("prekeys order"),
    );
    let mut k = base.clone();
    let mut p = k.hybrid[0].1.clone();
    let last = p.len() - 1;
    p[last] ^= 1;
    k.hybrid[0].1 = p;
    inv(
        &mut g,
        &k.encode(),
        "a hybrid prekey with a bad signature",
        &["Hybrid"],
        "Inconsistent",
        Some("prekey signature"),
    );
    let mut k = base.clone();
    k.hybrid[0] = (
        w.pk("bob-laptop-h").secret,
        w.pk("bob-laptop-h").bytes.clone(),
    );
    inv(
        &mut g,
        &k.encode(),
        "bob-laptop's hybrid prekey (and seed) in bob-phone's keyring",
        &["Hybrid"],
        "Inconsistent",
        Some("prekey of another device"),
    );
    f.push(g);
}

// ------------------------------------------------------------ seal

struct Sealed {
    label: &'static str,
    hybrid: Option<CraftHybridEnvelope>,
    bytes: Vec<u8>,
}

/// The result of each keyring opening `env` (bytes) at OPEN_NOW, from the
/// crafted envelope's recipients: `NotARecipient` for a keyring holding
/// none of the header's keys of the suite.
fn opens(
    w: &World,
    held: &[(&'static str, [u8; 16])],
    sender: &str,
    message_id: &[u8; 16],
    payload: &[u8],
    aad: &[u8],
    suite: u16,
) -> Vec<Value> {
    let s = w.dev(sender);
    KEYRINGS
        .iter()
        .map(|(name, _, _)| match held.iter().find(|(n, _)| n == name) {
            Some((_, key_id)) => json!({
                "keyring": name, "result": "valid",
                "payload": hx(payload), "aad": hx(aad),
                "senderAccount": hx(&w.acc(s).public), "senderDevice": hx(&s.device.device_id),
                "messageId": hx(message_id), "timestamp": NOW, "openedWith": hx(key_id), "suite": suite,
            }),
            None => json!({"keyring": name, "result": "invalid", "error": "OpenError::NotARecipient"}),
        })
        .collect()
}

fn passed(w: &World, names: &[&str]) -> Vec<Value> {
    names
        .iter()
        .map(|n| {
            let p = w.pk(n);
            let acc = w.acc(w.dev(p.device));
            let list = w
                .accounts
                .iter()
                .find(|(_, a)| a.public == acc.public)
                .unwrap()
                .0;
            json!({"prekey": n, "list": list, "verifiedAt": NOW})
        })
        .collect()
}

fn unpadded(w: &World, sender: &str, payload: &[u8], aad: &[u8]) -> usize {
    w.dev(sender).cert.len() + 8 + 4 + aad.len() + 4 + payload.len() + 64
}

fn seal(f: &mut VectorFile, w: &World, rng: &mut rand_chacha::ChaCha20Rng) -> Vec<Sealed> {
    let mut g = Group::new(
        "HybridSeal",
        "seal under the suite rule (SPEC.md §4.10, §5.1): all-hybrid sets get hybrid envelopes byte for byte, a set with one classical device a classical envelope",
    );
    let all_prekeys = [
        "alice-phone-c",
        "alice-phone-h",
        "bob-phone-c",
        "bob-phone-h",
        "bob-laptop-h",
        "bob-laptop-c",
        "carol-phone-c",
    ];
    let mut out = Vec::new();
    for (label, lists, policy, payload) in [
        (
            "alice-to-alice-bob",
            vec!["alice", "bob"],
            "auto",
            b"hybrid hello".to_vec(),
        ),
        (
            "alice-to-bob",
            vec!["bob"],
            "requireHybrid",
            b"to bob only".to_vec(),
        ),
        ("bob-to-bob", vec!["bob"], "auto", vec![0x5a; 300]),
    ] {
        let sender = if label == "bob-to-bob" {
            "bob-laptop"
        } else {
            "alice-phone"
        };
        let aad = b"conversation 7".to_vec();
        let message_id: [u8; 16] = bytes(rng);
        let ms: [u8; 32] = bytes(rng);
        // Recipients: every device of the lists, each to its hybrid prekey.
        let mut recips: Vec<(&'static str, &'static str)> = Vec::new();
        for l in &lists {
            for d in w.devs.iter().filter(|d| w.accounts[d.account].0 == *l) {
                recips.push((
                    d.name,
                    w.prekeys
                        .iter()
                        .find(|p| p.device == d.name && p.bytes[2..4] == [0, 2])
                        .unwrap()
                        .name,
                ));
            }
        }
        recips.sort_by_key(|(_, p)| craft::prekey_key_id(&w.pk(p).bytes));
        let mut recipients = Vec::new();
        for (_, p) in &recips {
            let eseed: [u8; 64] = bytes(rng);
            recipients.push(CraftHybridRecipient::to_prekey(&w.pk(p).bytes, eseed));
        }
        let s = w.dev(sender);
        let env = CraftHybridEnvelope {
            message_id,
            timestamp: NOW,
            message_secret: ms,
            recipients,
            certificate: s.cert.clone(),
            aad: aad.clone(),
            payload: payload.clone(),
            signer_seed: s.device.ed_seed,
            padded_len: usize::try_from(padme(unpadded(w, sender, &payload, &aad) as u64)).unwrap(),
        };
        let bytes = env.encode();
        assert_eq!(craft::decode_envelope_model(&bytes), Ok(2));
        let (commitment, header_hash) = env.hashes();
        let wraps = env.wraps();
        let held: Vec<(&'static str, [u8; 16])> = recips
            .iter()
            .map(|(d, p)| (*d, craft::prekey_key_id(&w.pk(p).bytes)))
            .collect();
        let intermediate: Vec<Value> = recips
            .iter()
            .zip(&env.recipients)
            .zip(&wraps)
            .map(|(((d, p), r), v)| {
                // The craft's own round trip: the recipient's seed
                // decapsulates to the same shared secret.
                assert_eq!(
                    craft::xwing_decaps(&w.pk(p).secret, &v.ciphertext).to_vec(),
                    v.keys.shared_secret
                );
                json!({
                    "keyId": hx(&r.key_id), "device": d, "prekey": p,
                    "xwingCiphertext": hx(&v.ciphertext), "sharedSecret": hx(&v.keys.shared_secret),
                    "key": hx(&v.keys.key), "baseNonce": hx(&v.keys.base_nonce),
                    "recipientBinding": hx(&r.binding),
                })
            })
            .collect();
        let deliveries: Vec<Value> = (0..env.recipients.len())
            .map(|i| json!({"keyId": hx(&env.recipients[i].key_id), "delivery": hx(&env.delivery(i))}))
            .collect();
        g.valid(
            &format!("{sender} seals to {} (every device has CAPABILITY_HYBRID, suite policy {policy}): a hybrid envelope, {} wraps of 1,168 bytes", lists.join(" and "), env.recipients.len()),
            &["Valid", "Hybrid", "SuiteRule"],
            json!({
                "sender": sender, "recipients": lists, "prekeys": passed(w, &all_prekeys),
                "payload": hx(&payload), "aad": hx(&aad), "padding": {"type": "padme"},
                "suitePolicy": policy, "now": NOW,
                "randomness": {"messageId": hx(&message_id), "messageSecret": hx(&ms),
                    "eseeds": env.recipients.iter().map(|r| hx(&r.eseed)).collect::<Vec<_>>()},
                "suite": 2, "envelope": hx(&bytes),
                "header": {"messageId": hx(&message_id), "commitment": hx(&commitment),
                    "recipients": env.recipients.iter().map(|r| hx(&r.key_id)).collect::<Vec<_>>()},
                "intermediate": {"contextHash": hx(&env.context_hash()), "headerHash": hx(&header_hash), "wraps": intermediate},
                "deliveries": deliveries,
                "directory": ["alice", "bob", "carol"], "openNow": OPEN_NOW,
                "opens": opens(w, &held, sender, &message_id, &payload, &aad, 2),
            }),
        );
        out.push(Sealed {
            label,
            hybrid: Some(env),
            bytes,
        });
    }
    // A mixed set: classical, to the classical prekeys (bit 0 or bit 1,
    // which implies the prekey rule: bob-laptop) or the certificate key
    // (carol-server: no bit).
    {
        let sender = "alice-phone";
        let lists = ["alice", "bob", "carol"];
        let payload = b"mixed set".to_vec();
        let aad = b"conversation 8".to_vec();
        let message_id: [u8; 16] = bytes(rng);
        let ms: [u8; 32] = bytes(rng);
        let eph: [u8; 32] = bytes(rng);
        let mut recips: Vec<(&'static str, CraftRecipient, String)> = Vec::new();
        for d in &w.devs {
            let c = w
                .prekeys
                .iter()
                .find(|p| p.device == d.name && p.bytes[2..4] == [0, 1]);
            match c {
                Some(p) if d.caps & (PREKEYS | HYBRID) != 0 => {
                    recips.push((
                        d.name,
                        CraftRecipient::to_prekey(&p.bytes, ms),
                        format!("prekey {}", p.name),
                    ));
                }
                _ => recips.push((
                    d.name,
                    CraftRecipient::to_certificate(&d.cert, ms),
                    "certificate".into(),
                )),
            }
        }
        recips.sort_by_key(|(_, r, _)| r.key_id);
        let s = w.dev(sender);
        let env = CraftEnvelope {
            version: 2,
            object_type: 3,
            suite: 1,
            message_id,
            timestamp: NOW,
            ephemeral_secret: eph,
            ephemeral_public_override: None,
            message_secret: ms,
            recipients: recips.iter().map(|(_, r, _)| r.clone()).collect(),
            certificate: s.cert.clone(),
            aad: aad.clone(),
            payload: payload.clone(),
            payload_len_field: None,
            signer_seed: s.device.ed_seed,
            padded_len: usize::try_from(padme(unpadded(w, sender, &payload, &aad) as u64)).unwrap(),
            padding_byte: 0,
            small_order_r: false,
        };
        let bytes = env.encode();
        assert_eq!(craft::decode_envelope_model(&bytes), Ok(1));
        let held: Vec<(&'static str, [u8; 16])> =
            recips.iter().map(|(d, r, _)| (*d, r.key_id)).collect();
        g.valid(
            "alice-phone seals to alice, bob and carol: carol-phone (bit 0 only) and carol-server (no bit) lack CAPABILITY_HYBRID, so the envelope is classical; the wraps go to the classical prekeys of devices with bit 0 or bit 1 (bob-laptop: bit 1 only) and to the certificate key of carol-server, never to a hybrid prekey",
            &["Valid", "SuiteRule"],
            json!({
                "sender": sender, "recipients": lists, "prekeys": passed(w, &all_prekeys),
                "payload": hx(&payload), "aad": hx(&aad), "padding": {"type": "padme"},
                "suitePolicy": "auto", "now": NOW,
                "randomness": {"messageId": hx(&message_id), "messageSecret": hx(&ms), "ephemeralSecret": hx(&eph)},
                "suite": 1, "envelope": hx(&bytes),
                "header": {"messageId": hx(&message_id), "commitment": hx(&bytes[52..84]),
                    "recipients": recips.iter().map(|(_, r, _)| hx(&r.key_id)).collect::<Vec<_>>()},
                "intermediate": {"contextHash": hx(&env.context_hash()), "wraps": recips.iter().map(|(d, r, to)| json!({"keyId": hx(&r.key_id), "device": d, "to": to, "recipientBinding": hx(&r.recipient_binding)})).collect::<Vec<_>>()},
                "deliveries": [],
                "directory": ["alice", "bob", "carol"], "openNow": OPEN_NOW,
                "opens": opens(w, &held, sender, &message_id, &payload, &aad, 1),
            }),
        );
        out.push(Sealed {
            label: "classical-mixed",
            hybrid: None,
            bytes,
        });
    }
    f.push(g);
    out
}

fn seal_errors(f: &mut VectorFile, w: &World) {
    let mut g = Group::new(
        "HybridSealError",
        "refusals of the suite rule (SPEC.md §4.10, §5.1 step 7); no randomness is drawn",
    );
    let case = |sender: &str, lists: &[&str], prekeys: &[&str], policy: &str| {
        json!({
            "sender": sender, "recipients": lists, "prekeys": passed(w, prekeys),
            "payload": hx(b"x"), "aad": "", "padding": {"type": "padme"},
            "suitePolicy": policy, "now": NOW,
        })
    };
    let ident = |d: &str| {
        let d = w.dev(d);
        json!({"account": hx(&w.acc(d).public), "deviceId": hx(&d.device.device_id)})
    };
    let all = [
        "alice-phone-c",
        "alice-phone-h",
        "bob-phone-c",
        "bob-phone-h",
        "bob-laptop-h",
        "bob-laptop-c",
        "carol-phone-c",
    ];
    // carol-phone and carol-server in ascending device id.
    let mut carol: Vec<&Dev> = w.devs.iter().filter(|d| d.account == 2).collect();
    carol.sort_by_key(|d| d.device.device_id);
    let carol_devices: Vec<Value> = carol.iter().map(|d| ident(d.name)).collect();
    let mut c = case(
        "alice-phone",
        &["alice", "bob", "carol"],
        &all,
        "requireHybrid",
    );
    c["devices"] = Value::Array(carol_devices.clone());
    g.invalid("RequireHybrid with carol's two devices lacking CAPABILITY_HYBRID: HybridUnavailable lists both, in device-id order", &["SuiteRule"], "SealError::HybridUnavailable", c);
    let mut c = case("alice-phone", &["carol", "bob"], &all, "requireHybrid");
    c["devices"] = Value::Array(carol_devices);
    g.invalid(
        "RequireHybrid, carol's list passed first",
        &["SuiteRule"],
        "SealError::HybridUnavailable",
        c,
    );
    let mut c = case(
        "alice-phone",
        &["alice", "bob", "carol"],
        &[],
        "requireHybrid",
    );
    c["devices"] = Value::Array(carol.iter().map(|d| ident(d.name)).collect());
    g.invalid("order: RequireHybrid with a mixed set and no prekeys at all: HybridUnavailable before MissingPrekey", &["SuiteRule", "Order"], "SealError::HybridUnavailable", c);
    let missing = |g: &mut Group,
                   lists: &[&str],
                   prekeys: &[&str],
                   policy: &str,
                   dev: &str,
                   comment: &str| {
        let mut c = case("alice-phone", lists, prekeys, policy);
        let d = w.dev(dev);
        c["missingAccount"] = hx(&w.acc(d).public);
        c["missingDeviceId"] = hx(&d.device.device_id);
        g.invalid(
            comment,
            &["SuiteRule", "Hybrid"],
            "SealError::MissingPrekey",
            c,
        );
    };
    let without = |n: &str| -> Vec<&str> { all.iter().copied().filter(|p| *p != n).collect() };
    missing(&mut g, &["alice", "bob"], &without("bob-laptop-h"), "auto", "bob-laptop", "all-hybrid set, bob-laptop's hybrid prekey withheld: MissingPrekey naming it (never a classical envelope, never its certificate key)");
    missing(&mut g, &["alice", "bob"], &without("bob-phone-h"), "auto", "bob-phone", "all-hybrid set, bob-phone's hybrid prekey withheld although its classical one is passed: MissingPrekey naming bob-phone");
    missing(
        &mut g,
        &["alice", "bob"],
        &without("bob-phone-h"),
        "requireHybrid",
        "bob-phone",
        "the same with RequireHybrid: the set is hybrid, so MissingPrekey",
    );
    let first_bob = w
        .devs
        .iter()
        .filter(|d| d.account == 1)
        .min_by_key(|d| d.device.device_id)
        .unwrap()
        .name;
    missing(&mut g, &["bob", "alice"], &["alice-phone-c", "bob-phone-c", "carol-phone-c"], "auto", first_bob, "all-hybrid set with only classical prekeys: the first device in list order (bob's list first, ascending device id) is named");
    f.push(g);
}

// ------------------------------------------------------------ open

fn open_attacks(f: &mut VectorFile, w: &World, sealed: &[Sealed]) {
    let mut g = Group::new(
        "HybridOpen",
        "opening hybrid envelopes: honest, tampered, low-order, relabelled, wrong-length and misrouted wraps (SPEC.md §2.7, §4.5, §5.2)",
    );
    let s = &sealed[0];
    let env = s.hybrid.as_ref().unwrap();
    let b = &s.bytes;
    let n = env.recipients.len();
    let dir = ["alice", "bob", "carol"];
    let idx = |dev: &str| {
        let pk = w
            .prekeys
            .iter()
            .find(|p| p.device == dev && p.bytes[2..4] == [0, 2])
            .unwrap();
        let id = craft::prekey_key_id(&pk.bytes);
        env.recipients.iter().position(|r| r.key_id == id).unwrap()
    };
    let bob = idx("bob-phone");
    let wrap_at = |i: usize| hybrid_offset::wraps(n) + craft::HYBRID_WRAP_LEN * i;
    let s_dev = w.dev("alice-phone");
    let ok = |g: &mut Group, m: &[u8], keyring: &str, comment: &str| {
        let key_id = env.recipients[idx(keyring)].key_id;
        g.valid(comment, &["Valid", "Hybrid"], json!({
            "keyring": keyring, "message": hx(m), "directory": dir, "now": OPEN_NOW,
            "payload": hx(&env.payload), "aad": hx(&env.aad),
            "senderAccount": hx(&w.acc(s_dev).public), "senderDevice": hx(&s_dev.device.device_id),
            "messageId": hx(&env.message_id), "timestamp": NOW, "openedWith": hx(&key_id), "suite": 2,
        }));
    };
    let bad =
        |g: &mut Group, m: &[u8], keyring: &str, comment: &str, flags: &[&str], error: &str| {
            g.invalid(
                comment,
                flags,
                error,
                json!({"keyring": keyring, "message": hx(m), "directory": dir, "now": OPEN_NOW}),
            );
        };
    let decode_bad = |g: &mut Group, m: &[u8], comment: &str, flags: &[&str]| {
        let (kind, field) = craft::decode_envelope_model(m).expect_err(comment);
        let mut c =
            json!({"keyring": "bob-phone", "message": hx(m), "directory": dir, "now": OPEN_NOW});
        if let Some(fl) = field {
            c["errorField"] = Value::from(fl);
        }
        g.invalid(
            comment,
            flags,
            &format!("OpenError::Decode(DecodeError::{kind})"),
            c,
        );
    };
    const UNAUTH: &str = "OpenError::Unauthenticated";
    ok(
        &mut g,
        b,
        "bob-phone",
        "the honest hybrid envelope, opened by bob-phone",
    );
    ok(
        &mut g,
        &env.delivery(bob),
        "bob-phone",
        "bob-phone's delivery",
    );
    ok(
        &mut g,
        &env.delivery(idx("bob-laptop")),
        "bob-laptop",
        "bob-laptop's delivery",
    );
    bad(
        &mut g,
        b,
        "carol-phone",
        "carol-phone holds no hybrid key of the header",
        &["Hybrid"],
        "OpenError::NotARecipient",
    );
    let flip = |at: usize, mask: u8| {
        let mut m = b.clone();
        m[at] ^= mask;
        m
    };
    bad(
        &mut g,
        &flip(wrap_at(bob) + 17, 0x01),
        "bob-phone",
        "a changed byte in bob-phone's ct_M: ML-KEM implicit rejection, the AEAD fails",
        &["Hybrid", "Tampered"],
        UNAUTH,
    );
    bad(
        &mut g,
        &flip(wrap_at(bob) + 1087, 0x80),
        "bob-phone",
        "the last byte of bob-phone's ct_M changed",
        &["Hybrid", "Tampered"],
        UNAUTH,
    );
    for (what, x, _) in bad_x25519()
        .into_iter()
        .filter(|(w, _, _)| *w == "all-zero" || *w == "a point of order 8")
    {
        let mut m = b.clone();
        m[wrap_at(bob) + 1088..wrap_at(bob) + 1120].copy_from_slice(&x);
        bad(&mut g, &m, "bob-phone", &format!("bob-phone's ct_X replaced by {what}: the X25519 output is zero, decapsulation fails"), &["Hybrid", "LowOrder"], UNAUTH);
    }
    bad(
        &mut g,
        &flip(wrap_at(bob) + 1120 + 3, 0x01),
        "bob-phone",
        "a changed byte in the encrypted message secret of bob-phone's wrap",
        &["Hybrid", "Tampered"],
        UNAUTH,
    );
    bad(
        &mut g,
        &flip(wrap_at(bob) + 1167, 0x01),
        "bob-phone",
        "a changed byte in the tag of bob-phone's wrap",
        &["Hybrid", "Tampered"],
        UNAUTH,
    );
    ok(&mut g, &flip(wrap_at(idx("bob-laptop")) + 5, 0x01), "bob-phone", "a changed byte in bob-laptop's wrap: bob-phone still opens (each wrap is authenticated for its own device only)");
    bad(
        &mut g,
        &flip(wrap_at(idx("bob-laptop")) + 5, 0x01),
        "bob-laptop",
        "a changed byte in bob-laptop's ct_M: bob-laptop fails",
        &["Hybrid", "Tampered"],
        UNAUTH,
    );
    {
        let laptop = idx("bob-laptop");
        let mut m = b.clone();
        let (a, c) = (wrap_at(bob), wrap_at(laptop));
        let wb = b[a..a + craft::HYBRID_WRAP_LEN].to_vec();
        let wl = b[c..c + craft::HYBRID_WRAP_LEN].to_vec();
        m[a..a + craft::HYBRID_WRAP_LEN].copy_from_slice(&wl);
        m[c..c + craft::HYBRID_WRAP_LEN].copy_from_slice(&wb);
        bad(&mut g, &m, "bob-phone", "bob-phone's and bob-laptop's wraps swapped: bob-phone finds bob-laptop's wrap at its position (made to another device)", &["Hybrid", "Misrouted"], UNAUTH);
        let mut d = env.delivery(bob);
        let at = 2 + env.header().len();
        d[at..at + craft::HYBRID_WRAP_LEN].copy_from_slice(&wl);
        bad(
            &mut g,
            &d,
            "bob-phone",
            "bob-phone's delivery carrying bob-laptop's wrap",
            &["Hybrid", "Misrouted"],
            UNAUTH,
        );
    }
    // Relabelled suites.
    let mut m = b.clone();
    m[2..4].copy_from_slice(&1u16.to_be_bytes());
    decode_bad(&mut g, &m, "the hybrid envelope relabelled to the classical suite: read as a classical header (the commitment as enc)", &["Hybrid", "Downgrade"]);
    let mut m = env.delivery(bob);
    m[2..4].copy_from_slice(&1u16.to_be_bytes());
    decode_bad(
        &mut g,
        &m,
        "bob-phone's hybrid delivery relabelled to the classical suite",
        &["Hybrid", "Downgrade"],
    );
    let classical = &sealed
        .iter()
        .find(|s| s.label == "classical-mixed")
        .unwrap()
        .bytes;
    let mut m = classical.clone();
    m[2..4].copy_from_slice(&2u16.to_be_bytes());
    decode_bad(
        &mut g,
        &m,
        "the classical mixed-set envelope relabelled to the hybrid suite",
        &["Hybrid", "Downgrade"],
    );
    let mut m = b.clone();
    m[2..4].copy_from_slice(&3u16.to_be_bytes());
    decode_bad(
        &mut g,
        &m,
        "suite 0x0003 (not defined)",
        &["Hybrid", "Downgrade"],
    );
    // Wrong-length wraps.
    let d = env.delivery(bob);
    let at = 2 + env.header().len();
    let mut short = d.clone();
    short.remove(at + 100);
    decode_bad(
        &mut g,
        &short,
        "a delivery whose wrap is one byte short (1,167 bytes)",
        &["Hybrid", "Truncated"],
    );
    let mut classical_len = d[..at + 48].to_vec();
    classical_len.extend_from_slice(&d[at + craft::HYBRID_WRAP_LEN..]);
    decode_bad(
        &mut g,
        &classical_len,
        "a hybrid delivery with a 48-byte (classical-length) wrap",
        &["Hybrid", "Truncated"],
    );
    let mut m = b[..wrap_at(n - 1)].to_vec();
    m.extend_from_slice(&b[wrap_at(n)..]);
    decode_bad(
        &mut g,
        &m,
        "a hybrid envelope missing its last wrap",
        &["Hybrid", "Truncated"],
    );
    decode_bad(
        &mut g,
        &b[..wrap_at(1) - 1],
        "a hybrid envelope cut inside its first wrap",
        &["Hybrid", "Truncated"],
    );
    let mut m = b.clone();
    m.push(0);
    decode_bad(&mut g, &m, "a trailing byte", &["Hybrid", "TrailingBytes"]);
    f.push(g);
}
