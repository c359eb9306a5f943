//! The deterministic generator of fanseal's published test vectors
//! (vectors/*.json).
//!
//! Shared by `examples/gen_vectors.rs`, which writes the files, and by
//! `tests/vectors.rs`, which regenerates them in memory and requires the
//! committed bytes to be equal. The generator does not call fanseal's seal,
//! verify or open: valid outputs come from the independent re-implementation
//! in `vectors_craft.rs` (written on the primitive crates), and every
//! expected error is the one the case was designed to trigger. The test then
//! checks the library against both.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "vectors_craft.rs"]
pub(crate) mod craft;
#[path = "vectors_gen_envelopes.rs"]
mod envelopes;
#[path = "vectors_gen_hybrid.rs"]
mod hybrid;
#[path = "vectors_gen_identity.rs"]
mod identity;
#[path = "vectors_gen_prekeys.rs"]
mod prekeys;
#[path = "vectors_replay_model.rs"]
pub(crate) mod replay_model;
#[path = "vectors_gen_sessions.rs"]
mod sessions;

use std::collections::{BTreeMap, BTreeSet};

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

/// The files the generator writes, in order.
pub(crate) const FILES: [&str; 9] = [
    "keys.json",
    "certificates.json",
    "device_lists.json",
    "safety_numbers.json",
    "padding.json",
    "envelopes.json",
    "prekeys.json",
    "hybrid.json",
    "sessions.json",
];

/// The specification version every file is written for.
pub(crate) const SPEC_VERSION: &str = "fanseal wire v2, suites 0x0001 and 0x0002";
/// How to regenerate.
pub(crate) const GENERATOR: &str = "cargo run --example gen_vectors";
/// The clock every vector uses unless a case says otherwise (Unix ms).
pub(crate) const NOW: u64 = 1_764_300_000_000;
/// One year in milliseconds.
pub(crate) const YEAR: u64 = 365 * 24 * 3600 * 1000;

/// Every vector file, as (file name, JSON text).
pub(crate) fn generate() -> Vec<(&'static str, String)> {
    FILES
        .iter()
        .map(|name| {
            let text = match *name {
                "keys.json" => keys(),
                "certificates.json" => identity::certificates(),
                "device_lists.json" => identity::device_lists(),
                "safety_numbers.json" => safety_numbers(),
                "padding.json" => padding(),
                "envelopes.json" => envelopes::envelopes(),
                "prekeys.json" => prekeys::prekeys(),
                "hybrid.json" => hybrid::hybrid(),
                "sessions.json" => sessions::sessions(),
                other => panic!("no generator for {other}"),
            };
            (*name, text)
        })
        .collect()
}

// ------------------------------------------------------------ helpers

/// Lower-case hex string value.
pub(crate) fn hx(bytes: &[u8]) -> Value {
    Value::String(hex::encode(bytes))
}

/// The deterministic RNG of one vector file.
pub(crate) fn file_rng(name: &str) -> ChaCha20Rng {
    ChaCha20Rng::from_seed(craft::sha256(&[b"fanseal vectors v2 ", name.as_bytes()]))
}

pub(crate) fn bytes<const N: usize>(rng: &mut ChaCha20Rng) -> [u8; N] {
    let mut b = [0u8; N];
    rng.fill_bytes(&mut b);
    b
}

/// An RNG that hands out exactly the listed bytes, in order: seal's
/// randomness in a vector is data, not a hidden seed. Reading past the end
/// yields zeros and sets `overrun`, which the checker treats as a failure.
#[derive(Debug, Clone)]
pub(crate) struct ReplayRng {
    bytes: Vec<u8>,
    pos: usize,
    overrun: bool,
}

impl ReplayRng {
    pub(crate) fn new(bytes: Vec<u8>) -> Self {
        ReplayRng {
            bytes,
            pos: 0,
            overrun: false,
        }
    }

    /// True when every listed byte was drawn and nothing more.
    pub(crate) fn exactly_consumed(&self) -> bool {
        !self.overrun && self.pos == self.bytes.len()
    }

    fn fill(&mut self, dst: &mut [u8]) {
        for d in dst.iter_mut() {
            match self.bytes.get(self.pos) {
                Some(b) => {
                    *d = *b;
                    self.pos += 1;
                }
                None => {
                    *d = 0;
                    self.overrun = true;
                }
            }
        }
    }
}

impl rand_core::TryRng for ReplayRng {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.fill(&mut b);
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.fill(&mut b);
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.fill(dst);
        Ok(())
    }
}

impl rand_core::TryCryptoRng for ReplayRng {}

// ------------------------------------------------------------ file layout

/// One vector file under construction.
pub(crate) struct VectorFile {
    algorithm: &'static str,
    schema: Value,
    notes: BTreeMap<&'static str, &'static str>,
    extra: Vec<(&'static str, Value)>,
    groups: Vec<Group>,
}

/// One group of cases sharing a type (which decides how the checker runs
/// them) and possibly some fields.
pub(crate) struct Group {
    kind: &'static str,
    comment: &'static str,
    fields: Map<String, Value>,
    tests: Vec<Map<String, Value>>,
}

impl VectorFile {
    pub(crate) fn new(algorithm: &'static str, schema: Value) -> Self {
        VectorFile {
            algorithm,
            schema,
            notes: BTreeMap::new(),
            extra: Vec::new(),
            groups: Vec::new(),
        }
    }

    /// Declares a flag used by cases of this file.
    pub(crate) fn flag(&mut self, name: &'static str, description: &'static str) {
        self.notes.insert(name, description);
    }

    /// A top-level field besides the header (for example shared identities).
    pub(crate) fn extra(&mut self, key: &'static str, value: Value) {
        self.extra.push((key, value));
    }

    pub(crate) fn push(&mut self, group: Group) {
        self.groups.push(group);
    }

    /// The JSON text: header, then groups with tcIds numbered from 1.
    pub(crate) fn render(self) -> String {
        let mut used = BTreeSet::new();
        let mut id = 0u64;
        let mut groups = Vec::new();
        for g in self.groups {
            let mut tests = Vec::new();
            for mut t in g.tests {
                id += 1;
                t.insert("tcId".into(), json!(id));
                for f in t["flags"].as_array().unwrap() {
                    let f = f.as_str().unwrap().to_string();
                    assert!(self.notes.contains_key(f.as_str()), "undeclared flag {f}");
                    used.insert(f);
                }
                tests.push(Value::Object(t));
            }
            let mut obj = g.fields;
            obj.insert("type".into(), json!(g.kind));
            obj.insert("comment".into(), json!(g.comment));
            obj.insert("tests".into(), Value::Array(tests));
            groups.push(Value::Object(obj));
        }
        for n in self.notes.keys() {
            assert!(used.contains(*n), "flag {n} declared but unused");
        }
        let mut top = Map::new();
        top.insert("algorithm".into(), json!(self.algorithm));
        top.insert("specVersion".into(), json!(SPEC_VERSION));
        top.insert("generator".into(), json!(GENERATOR));
        top.insert("schema".into(), self.schema);
        top.insert("numberOfTests".into(), json!(id));
        top.insert("notes".into(), json!(self.notes));
        for (k, v) in self.extra {
            top.insert(k.into(), v);
        }
        top.insert("testGroups".into(), Value::Array(groups));
        let mut text = to_json(&Value::Object(top));
        text.push('\n');
        text
    }
}

/// JSON text with objects one field per line (two-space indent) and arrays
/// of scalars on one line, so the files stay small and diffs stay readable.
pub(crate) fn to_json(v: &Value) -> String {
    let mut out = String::new();
    write_json(v, 0, &mut out);
    out
}

/// Header and identifying fields first, `result`/`error` after the data,
/// the lists of groups and cases last; everything else alphabetical.
fn key_rank(key: &str) -> usize {
    const FIRST: [&str; 11] = [
        "algorithm",
        "specVersion",
        "generator",
        "numberOfTests",
        "schema",
        "notes",
        "identities",
        "type",
        "tcId",
        "comment",
        "flags",
    ];
    const LAST: [&str; 4] = ["result", "error", "tests", "testGroups"];
    if let Some(i) = FIRST.iter().position(|k| *k == key) {
        i
    } else if let Some(i) = LAST.iter().position(|k| *k == key) {
        FIRST.len() + 1 + i
    } else {
        FIRST.len()
    }
}

fn write_json(v: &Value, depth: usize, out: &mut String) {
    let pad = |d: usize| "  ".repeat(d);
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push_str("{\n");
            let mut fields: Vec<(&String, &Value)> = m.iter().collect();
            fields.sort_by_key(|(k, _)| (key_rank(k), (*k).clone()));
            for (i, (k, x)) in fields.into_iter().enumerate() {
                out.push_str(&pad(depth + 1));
                out.push_str(&serde_json::to_string(k).unwrap());
                out.push_str(": ");
                write_json(x, depth + 1, out);
                out.push_str(if i + 1 < m.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push('}');
        }
        Value::Array(a) if a.iter().any(|x| x.is_object() || x.is_array()) => {
            out.push_str("[\n");
            for (i, x) in a.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                write_json(x, depth + 1, out);
                out.push_str(if i + 1 < a.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push(']');
        }
        Value::Array(a) => {
            let items: Vec<String> = a
                .iter()
                .map(|x| serde_json::to_string(x).unwrap())
                .collect();
            out.push('[');
            out.push_str(&items.join(", "));
            out.push(']');
        }
        scalar => out.push_str(&serde_json::to_string(scalar).unwrap()),
    }
}

impl Group {
    pub(crate) fn new(kind: &'static str, comment: &'static str) -> Self {
        Group {
            kind,
            comment,
            fields: Map::new(),
            tests: Vec::new(),
        }
    }

    /// A field shared by every case of the group.
    pub(crate) fn field(mut self, key: &str, value: Value) -> Self {
        self.fields.insert(key.into(), value);
        self
    }

    fn case(&mut self, comment: &str, flags: &[&str], fields: Value, error: Option<&str>) {
        let mut t = match fields {
            Value::Object(m) => m,
            _ => panic!("case fields must be an object"),
        };
        t.insert("comment".into(), json!(comment));
        t.insert("flags".into(), json!(flags));
        match error {
            None => {
                t.insert("result".into(), json!("valid"));
            }
            Some(e) => {
                t.insert("result".into(), json!("invalid"));
                t.insert("error".into(), json!(e));
            }
        }
        self.tests.push(t);
    }

    /// A case that must be accepted with the outputs given in `fields`.
    pub(crate) fn valid(&mut self, comment: &str, flags: &[&str], fields: Value) {
        self.case(comment, flags, fields, None);
    }

    /// A case that must be rejected with exactly `error`.
    pub(crate) fn invalid(&mut self, comment: &str, flags: &[&str], error: &str, fields: Value) {
        self.case(comment, flags, fields, Some(error));
    }
}

// ------------------------------------------------------------ keys.json

fn keys() -> String {
    let mut rng = file_rng("keys.json");
    let mut f = VectorFile::new(
        "fanseal identity keys",
        json!({
            "AccountKey": "seed (32-byte Ed25519 seed) -> publicKey (Ed25519, RFC 8032). AccountSecret::from_secret_seed.",
            "DeviceKey": "secret (64 bytes: X25519 secret key || Ed25519 seed, the order DeviceSecret::generate draws them), account (an account public key) -> x25519Public (RFC 7748, clamped at use), ed25519Public, keyId = SHA-256(u8 len || \"fanseal v2 key id\" || account || x25519Public)[0..16], the key id of this device's key as certified by that account. DeviceSecret::from_secret_bytes, KeyId::of.",
        }),
    );
    f.flag(
        "Random",
        "key material drawn from the generator's seeded RNG",
    );
    f.flag("EdgeValue", "all-zero or all-one key material");

    let mut g = Group::new(
        "AccountKey",
        "An account key is a 32-byte Ed25519 seed (SPEC.md §3.1).",
    );
    let seeds: Vec<([u8; 32], &str, &str)> = vec![
        ([0u8; 32], "all-zero seed", "EdgeValue"),
        ([0xff; 32], "all-one seed", "EdgeValue"),
        (bytes(&mut rng), "random seed", "Random"),
        (bytes(&mut rng), "random seed", "Random"),
        (bytes(&mut rng), "random seed", "Random"),
    ];
    for (seed, comment, flag) in seeds {
        g.valid(
            comment,
            &[flag],
            json!({"seed": hx(&seed), "publicKey": hx(&craft::ed25519_public(&seed))}),
        );
    }
    f.push(g);

    let mut g = Group::new(
        "DeviceKey",
        "Device keys are 64 secret bytes: the X25519 secret key, then the Ed25519 seed (SPEC.md §3.2).",
    );
    let secrets: Vec<([u8; 64], &str, &str)> = vec![
        ([0u8; 64], "all-zero secret bytes", "EdgeValue"),
        ([0xff; 64], "all-one secret bytes", "EdgeValue"),
        (bytes(&mut rng), "random secret bytes", "Random"),
        (bytes(&mut rng), "random secret bytes", "Random"),
        (bytes(&mut rng), "random secret bytes", "Random"),
    ];
    let device_key =
        |g: &mut Group, secret: &[u8; 64], account: &[u8; 32], comment: &str, flag: &str| {
            let x: [u8; 32] = secret[..32].try_into().unwrap();
            let e: [u8; 32] = secret[32..].try_into().unwrap();
            let xp = craft::x25519_public(&x);
            g.valid(
                comment,
                &[flag],
                json!({
                    "secret": hx(secret),
                    "account": hx(account),
                    "x25519Public": hx(&xp),
                    "ed25519Public": hx(&craft::ed25519_public(&e)),
                    "keyId": hx(&craft::key_id(account, &xp)),
                }),
            );
        };
    // Each under an account of its own (key ids include the account, SPEC.md
    // §3.2); then the last secret again under another account.
    let accounts: Vec<[u8; 32]> = secrets
        .iter()
        .map(|_| craft::ed25519_public(&bytes(&mut rng)))
        .collect();
    for ((secret, comment, flag), account) in secrets.iter().zip(&accounts) {
        device_key(&mut g, secret, account, comment, flag);
    }
    let (last, _, _) = secrets[secrets.len() - 1];
    let other = craft::ed25519_public(&bytes(&mut rng));
    assert_ne!(
        craft::key_id(
            &other,
            &craft::x25519_public(&last[..32].try_into().unwrap())
        ),
        craft::key_id(
            &accounts[accounts.len() - 1],
            &craft::x25519_public(&last[..32].try_into().unwrap())
        )
    );
    device_key(
        &mut g,
        &last,
        &other,
        "the previous secret bytes certified by another account: the same public keys, another key id",
        "Random",
    );
    f.push(g);
    f.render()
}

// ------------------------------------------------------------ safety_numbers.json

/// Independent computation of the safety number digest (SPEC.md §3.6).
fn safety_digest(a: &[u8; 32], b: &[u8; 32]) -> [u8; 60] {
    use sha2::Digest;
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut h = sha2::Sha512::new();
    h.update(craft::lp(craft::label::SAFETY_NUMBER));
    h.update(lo);
    h.update(hi);
    let full = h.finalize();
    full[..60].try_into().unwrap()
}

fn safety_digits(digest: &[u8; 60]) -> String {
    digest
        .chunks(5)
        .map(|c| {
            let v = c.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            format!("{:05}", v % 100_000)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn safety_numbers() -> String {
    let mut rng = file_rng("safety_numbers.json");
    let mut f = VectorFile::new(
        "fanseal safety number",
        json!({
            "SafetyNumber": "accountA, accountB (32-byte Ed25519 account public keys) -> digits (12 groups of 5 decimal digits, space separated) and compact (62 bytes: 0x02 || 0x06 || 60-byte digest). The same for (A, B) and (B, A). SafetyNumber::new, to_digits, to_bytes.",
            "SafetyNumberDecode": "compact (bytes scanned from a QR code) -> digits, or the DecodeError of SafetyNumber::from_bytes.",
        }),
    );
    f.flag("Random", "account keys of random seeds");
    f.flag("EdgeValue", "equal or extreme key bytes");
    f.flag("Truncated", "the input ends early");
    f.flag("TrailingBytes", "bytes after a complete object");
    f.flag(
        "Grease",
        "an unknown version or object type (reserved for future use)",
    );

    let mut g = Group::new(
        "SafetyNumber",
        "Safety numbers of account key pairs (SPEC.md §3.6).",
    );
    let mut pairs: Vec<([u8; 32], [u8; 32], &str, &str)> = Vec::new();
    for _ in 0..3 {
        let a = craft::ed25519_public(&bytes(&mut rng));
        let b = craft::ed25519_public(&bytes(&mut rng));
        pairs.push((a, b, "two random account keys", "Random"));
    }
    let a = craft::ed25519_public(&bytes(&mut rng));
    pairs.push((a, a, "both sides the same key", "EdgeValue"));
    pairs.push((
        [0u8; 32],
        [0xff; 32],
        "extreme key bytes (keys are not validated here)",
        "EdgeValue",
    ));
    let mut first_compact = Vec::new();
    for (a, b, comment, flag) in pairs {
        let d = safety_digest(&a, &b);
        let mut compact = vec![2u8, 6];
        compact.extend_from_slice(&d);
        if first_compact.is_empty() {
            first_compact = compact.clone();
        }
        g.valid(
            comment,
            &[flag],
            json!({
                "accountA": hx(&a),
                "accountB": hx(&b),
                "digits": safety_digits(&d),
                "compact": hx(&compact),
            }),
        );
    }
    f.push(g);

    let mut g = Group::new("SafetyNumberDecode", "The compact (QR code) form.");
    let digest: [u8; 60] = first_compact[2..].try_into().unwrap();
    g.valid(
        "compact form of the first pair",
        &["Random"],
        json!({"compact": hx(&first_compact), "digits": safety_digits(&digest)}),
    );
    let c = &first_compact;
    let with = |i: usize, v: u8| {
        let mut x = c.clone();
        x[i] = v;
        x
    };
    let cases: Vec<(Vec<u8>, &str, &str, &str)> = vec![
        (
            c[..61].to_vec(),
            "one byte short",
            "Truncated",
            "DecodeError::Truncated",
        ),
        (Vec::new(), "empty", "Truncated", "DecodeError::Truncated"),
        (
            c[..2].to_vec(),
            "prefix only",
            "Truncated",
            "DecodeError::Truncated",
        ),
        (
            [c.as_slice(), &[0]].concat(),
            "one extra byte",
            "TrailingBytes",
            "DecodeError::TrailingBytes",
        ),
        (
            with(0, 0x01),
            "version 0x01 (wire v1 was never released; no decoder accepts it)",
            "Grease",
            "DecodeError::UnsupportedVersion",
        ),
        (
            with(0, 0x03),
            "version 0x03",
            "Grease",
            "DecodeError::UnsupportedVersion",
        ),
        (
            with(0, 0xfa),
            "version 0xfa",
            "Grease",
            "DecodeError::UnsupportedVersion",
        ),
        (
            with(1, 0x05),
            "object type of fork evidence",
            "Grease",
            "DecodeError::WrongObjectType",
        ),
        (
            with(1, 0x7f),
            "unknown object type 0x7f",
            "Grease",
            "DecodeError::WrongObjectType",
        ),
        (
            with(0, 0xfa)[..10].to_vec(),
            "order: version 0xfa and only 10 bytes: the version first",
            "Grease",
            "DecodeError::UnsupportedVersion",
        ),
        (
            [with(1, 0x05).as_slice(), &[0]].concat(),
            "order: object type 0x05 and a trailing byte: the type first",
            "Grease",
            "DecodeError::WrongObjectType",
        ),
    ];
    for (compact, comment, flag, error) in cases {
        g.invalid(comment, &[flag], error, json!({"compact": hx(&compact)}));
    }
    f.push(g);
    f.render()
}

// ------------------------------------------------------------ padding.json

/// MAX_BODY of SPEC.md §2.5: 64 MiB + 8 MiB + 128 KiB.
pub(crate) const MAX_BODY: u64 = 64 * 1024 * 1024 + 8 * 1024 * 1024 + 2 * 64 * 1024;

/// Padmé, written from the paper: E = floor(log2 L), S = floor(log2 E) + 1,
/// round L up to a multiple of 2^(E - S).
pub(crate) fn padme(len: u64) -> u64 {
    if len < 2 {
        return len;
    }
    let e = 63 - u64::from(len.leading_zeros());
    let s = 64 - u64::from(e.leading_zeros());
    let z = e - s;
    let mask = (1u64 << z) - 1;
    (len + mask) & !mask
}

fn padding() -> String {
    let mut f = VectorFile::new(
        "fanseal body padding",
        json!({
            "Padme": "length -> paddedLength = padme(length) (Nikitin et al., PETS 2019). fanseal::padme.",
            "PaddedLength": "policy {\"type\": \"padme\" | \"none\" | \"bucket\", \"bucketSize\"}, length (unpadded body plaintext bytes) -> paddedLength; invalid when the padded body would exceed limit::MAX_BODY (Padding::padded_len returns None and seal fails with SealError::PaddedBodyTooLarge).",
        }),
    );
    f.flag(
        "Small",
        "lengths 0..=20, where Padmé pads little or nothing",
    );
    f.flag("PowerOfTwo", "around a power of two");
    f.flag("Limit", "at or beyond limit::MAX_BODY");
    f.flag("Typical", "a typical message body length");

    let mut g = Group::new("Padme", "Padmé lengths (SPEC.md §4.7).");
    let mut lens: Vec<(u64, &str)> = (0..=20).map(|l| (l, "Small")).collect();
    for p in [5u32, 6, 8, 10, 12, 16, 20, 24, 26] {
        for d in [-1i64, 0, 1] {
            lens.push((((1u64 << p) as i64 + d) as u64, "PowerOfTwo"));
        }
    }
    for l in [
        100u64, 300, 517, 1000, 1500, 4000, 65_000, 1_000_000, 12_345_678,
    ] {
        lens.push((l, "Typical"));
    }
    for (l, flag) in lens {
        g.valid(
            "padme(length)",
            &[flag],
            json!({"length": l, "paddedLength": padme(l)}),
        );
    }
    f.push(g);

    let mut g = Group::new("PaddedLength", "Padding policies and the MAX_BODY limit.");
    let policies = [
        (json!({"type": "padme"}), 0u64),
        (json!({"type": "none"}), 0),
        (json!({"type": "bucket", "bucketSize": 256}), 256),
        (json!({"type": "bucket", "bucketSize": 1}), 1),
        (json!({"type": "bucket", "bucketSize": 0}), 1),
        (json!({"type": "bucket", "bucketSize": 4096}), 4096),
        (
            json!({"type": "bucket", "bucketSize": u32::MAX}),
            u64::from(u32::MAX),
        ),
    ];
    for (policy, bucket) in policies.iter() {
        let kind = policy["type"].as_str().unwrap();
        let mut lens = vec![
            (0u64, "Small"),
            (1, "Small"),
            (300, "Typical"),
            (4097, "Typical"),
        ];
        lens.push((MAX_BODY, "Limit"));
        lens.push((MAX_BODY + 1, "Limit"));
        if kind != "none" {
            lens.push((MAX_BODY - 1000, "Limit"));
        }
        for (l, flag) in lens {
            let padded = match kind {
                "padme" => padme(l),
                "none" => l,
                _ => l.div_ceil(*bucket) * bucket,
            };
            if padded <= MAX_BODY {
                g.valid(
                    "padded length within MAX_BODY",
                    &[flag],
                    json!({"policy": policy, "length": l, "paddedLength": padded}),
                );
            } else {
                g.invalid(
                    "padded length would exceed MAX_BODY",
                    &[flag],
                    "SealError::PaddedBodyTooLarge",
                    json!({"policy": policy, "length": l}),
                );
            }
        }
    }
    f.push(g);
    f.render()
}
