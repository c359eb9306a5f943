//! Replays every committed fuzz seed (`fuzz/seeds/<target>/`) and regression
//! input (`fuzz/regressions/<target>/`) through the same bodies the
//! cargo-fuzz targets run (`fanseal::fuzzing`), on stable, in `cargo test`.
//!
//! `cargo test --test fuzz_replay -- --ignored generate_seeds` regenerates
//! the seed corpora deterministically from the library and from vectors/.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use fanseal::fuzzing::{self, body_flag, Fixture, Outcome};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

#[allow(unreachable_pub, dead_code)]
#[path = "../fuzz/src/structured.rs"]
mod structured;

/// The fixture seed the fuzz targets use (`fuzz/src/lib.rs`).
const FIXTURE_SEED: [u8; 32] = [7; 32];

/// Every target, as named in `fuzz/Cargo.toml`.
const TARGETS: &[&str] = &[
    "decode_device_certificate",
    "decode_device_list",
    "decode_envelope",
    "decode_delivery",
    "decode_fork_evidence",
    "decode_safety_number",
    "device_list_update",
    "open_raw",
    "open_structured",
    "open_body",
    "padding",
    "replay_guard",
    "replay_guard_load",
    "trust_store_load",
    "decode_signed_prekey",
    "keyring_import",
    "keyring_ops",
    "open_hybrid",
    "decode_session_message",
    "decode_distribution",
    "session_outbound_import",
    "session_inbound_import",
    "session_store_import",
    "session_deliveries",
];

fn fixture() -> Fixture {
    Fixture::new(&mut ChaCha20Rng::from_seed(FIXTURE_SEED)).expect("fixture builds")
}

fn run(target: &str, fx: &Fixture, data: &[u8]) -> Outcome {
    match target {
        "decode_device_certificate" => fuzzing::decode_device_certificate(data),
        "decode_device_list" => fuzzing::decode_device_list(data),
        "decode_envelope" => fuzzing::decode_envelope(data),
        "decode_delivery" => fuzzing::decode_delivery(data),
        "decode_fork_evidence" => fuzzing::decode_fork_evidence(data),
        "decode_safety_number" => fuzzing::decode_safety_number(data),
        "device_list_update" => fuzzing::device_list_update(fx, data),
        "open_raw" => fuzzing::open_raw(fx, data),
        "open_structured" => match structured::parse(data) {
            Some(input) => structured::run(fx, input),
            None => Ok(()),
        },
        "open_body" => fuzzing::open_body(fx, data),
        "padding" => fuzzing::padding(data),
        "replay_guard" => fuzzing::replay_guard(data),
        "replay_guard_load" => fuzzing::replay_guard_load(data),
        "trust_store_load" => fuzzing::trust_store_load(data),
        "decode_signed_prekey" => fuzzing::decode_signed_prekey(fx, data),
        "keyring_import" => fuzzing::keyring_import(data),
        "keyring_ops" => fuzzing::keyring_ops(fx, data),
        "open_hybrid" => fuzzing::open_hybrid(fx, data),
        "decode_session_message" => fuzzing::decode_session_message(data),
        "decode_distribution" => fuzzing::decode_distribution(data),
        "session_outbound_import" => fuzzing::outbound_import(fx, data),
        "session_inbound_import" => fuzzing::inbound_import(fx, data),
        "session_store_import" => fuzzing::sessions_import(fx, data),
        "session_deliveries" => fuzzing::session_deliveries(fx, data),
        other => panic!("unknown fuzz target {other}"),
    }
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

fn replay(kind: &str, require_files: bool) {
    let fx = fixture();
    let mut failures = Vec::new();
    for target in TARGETS {
        let dir = fuzz_dir().join(kind).join(target);
        let inputs = files(&dir);
        assert!(
            !require_files || !inputs.is_empty(),
            "no committed {kind} for fuzz target {target} in {}",
            dir.display()
        );
        for path in inputs {
            let data = fs::read(&path).unwrap();
            if let Err(v) = run(target, &fx, &data) {
                failures.push(format!("{}: {}", path.display(), v.0));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "oracle violations:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_seed_replays_without_violation() {
    replay("seeds", true);
}

#[test]
fn every_regression_input_replays_without_violation() {
    replay("regressions", false);
}

#[test]
fn every_target_is_declared_in_the_fuzz_manifest() {
    let manifest = fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    let declared: BTreeSet<&str> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|n| *n != "fanseal-fuzz")
        .collect();
    // Attachment targets (issue 15) carry their bodies in fuzz/fuzz_targets/
    // and call the public API; they are not replayed here.
    let standalone = [
        "attachment_stream",
        "attachment_seek",
        "attachment_reference",
    ];
    let listed: BTreeSet<&str> = TARGETS.iter().chain(standalone.iter()).copied().collect();
    assert_eq!(declared, listed);
    for t in TARGETS {
        assert!(fuzz_dir()
            .join("fuzz_targets")
            .join(format!("{t}.rs"))
            .is_file());
    }
}

/// The open oracles accept the fixture's own message and reject a
/// non-recipient: if the fixture or the oracle broke, the corpus replay
/// would pass vacuously, so this checks the oracles bite.
#[test]
fn open_oracles_hold_on_the_fixture() {
    let fx = fixture();
    // The pristine envelope opens for every recipient (the oracle errs if not).
    for recipient in 0..fx.device_count() {
        let idx = u8::try_from(recipient).unwrap();
        assert_eq!(fuzzing::open_mutated(&fx, idx, &[]), Ok(()));
    }
    // A valid custom body opens; every single corruption is refused (the
    // oracle checks both directions).
    let mut data = vec![0u8, 3, 4];
    data.extend_from_slice(b"aadpayl");
    data.extend_from_slice(&[0; 9]);
    for flags in [
        0,
        body_flag::TIMESTAMP,
        body_flag::AAD_LEN,
        body_flag::PAYLOAD_LEN,
        body_flag::SIGNATURE,
        body_flag::SIGN_AS_LAPTOP,
        body_flag::LAPTOP_CERT,
        body_flag::SIGN_AS_LAPTOP | body_flag::LAPTOP_CERT,
        body_flag::HUGE_PAYLOAD_LEN,
        // The AAD one byte over MAX_AAD.
        body_flag::OVER_LIMIT,
    ] {
        data[0] = flags;
        assert_eq!(fuzzing::open_body(&fx, &data), Ok(()), "flags {flags:#x}");
    }
    // The payload one byte over MAX_PAYLOAD (even aad length byte): the
    // sender signed it, and `open` must still refuse it (issue 10, fault 2).
    let over = [body_flag::OVER_LIMIT, 0xfe, 0xff];
    assert_eq!(fuzzing::open_body(&fx, &over), Ok(()));
    // Non-zero padding must be refused.
    data[0] = 0;
    *data.last_mut().unwrap() = 1;
    assert_eq!(fuzzing::open_body(&fx, &data), Ok(()));
}

/// The hybrid open oracle accepts the pristine envelope and deliveries for
/// its recipients and every X25519 ciphertext substitution is refused; the
/// hybrid seeds are the current fixture's.
#[test]
fn hybrid_open_oracle_holds_on_the_fixture() {
    let fx = fixture();
    for opener in 0..fuzzing::HYBRID_OPENERS {
        assert_eq!(fuzzing::open_hybrid(&fx, &[opener]), Ok(()));
        for wrap in 0..3u8 {
            assert_eq!(fuzzing::open_hybrid(&fx, &[opener, 1 + 2 * wrap]), Ok(()));
            for point in 0..12u8 {
                let input = [opener, 0, fuzzing::hop::X25519_POINT, wrap, point];
                assert_eq!(fuzzing::open_hybrid(&fx, &input), Ok(()));
            }
        }
    }
    // The oracle bites: a delivery of another device's wrap is not the
    // message of this device, so claiming it "opened" would be a violation;
    // the hybrid envelope really is hybrid and its deliveries decode.
    let envelope = fanseal::Envelope::from_bytes(fx.hybrid_envelope_bytes()).unwrap();
    assert_eq!(envelope.header().suite(), fanseal::Suite::Hybrid);
    assert_eq!(fx.hybrid_delivery_bytes().len(), 3);
    let seeds: BTreeSet<Vec<u8>> = files(&fuzz_dir().join("seeds").join("decode_envelope"))
        .iter()
        .map(|p| fs::read(p).unwrap())
        .collect();
    assert!(
        seeds.contains(fx.hybrid_envelope_bytes()),
        "hybrid envelope seed is stale"
    );
}

/// The raw open seeds are the fixture's current envelope and deliveries: if
/// the wire format or key schedule changes, seeds made by the old code no
/// longer open and `open_raw` would only fuzz the early rejections.
/// Regenerate with `generate_seeds` when this fails.
#[test]
fn raw_open_seeds_are_the_current_fixture_message() {
    let fx = fixture();
    let seeds: BTreeSet<Vec<u8>> = files(&fuzz_dir().join("seeds").join("open_raw"))
        .iter()
        .map(|p| fs::read(p).unwrap())
        .collect();
    assert!(
        seeds.contains(fx.envelope_bytes()),
        "envelope seed is stale"
    );
    for i in 0..fx.device_count() {
        if let Some(delivery) = fx.delivery_bytes(i) {
            assert!(seeds.contains(&delivery), "delivery seed {i} is stale");
        }
    }
}

/// The keyring and prekey seeds are loadable, current states: if the
/// export format or the fixture changed, stale seeds would only fuzz the
/// loader's first rejections. Regenerate with `generate_seeds` when this
/// fails.
#[test]
fn keyring_seeds_load_and_prekey_seeds_decode() {
    let seeds = |target: &str| -> BTreeSet<Vec<u8>> {
        files(&fuzz_dir().join("seeds").join(target))
            .iter()
            .map(|p| fs::read(p).unwrap())
            .collect()
    };
    let fx = fixture();
    let (ops, imports) = (seeds("keyring_ops"), seeds("keyring_import"));
    let mut held = BTreeSet::new();
    let mut held_hybrid = BTreeSet::new();
    let mut retired = BTreeSet::new();
    for program in keyring_programs() {
        assert!(ops.contains(&program), "keyring_ops seeds are stale");
        let export = fx.keyring_export_after(&program).unwrap();
        assert!(imports.contains(&export), "keyring_import seeds are stale");
        let keyring = fanseal::DeviceKeyring::import(&export).unwrap();
        let hybrid = keyring
            .prekeys()
            .filter(|p| p.suite() == fanseal::Suite::Hybrid)
            .count();
        let classical = keyring.prekeys().count() - hybrid;
        held.insert(classical);
        held_hybrid.insert(hybrid);
        // SPEC.md §3.9: 293 + 240·r + 228·p + 1,412·h bytes.
        let rest = export.len() - 293 - 228 * classical - 1412 * hybrid;
        assert_eq!(rest % 240, 0, "export length is not SPEC §3.9's");
        retired.insert(rest / 240);
    }
    // Empty, one prekey, several across a re-key, and the 32 limit, for
    // each suite; no superseded key set, one, and the 8 limit.
    assert!(held.contains(&0) && held.contains(&1) && held.contains(&32));
    assert!(held_hybrid.contains(&0) && held_hybrid.contains(&1) && held_hybrid.contains(&32));
    assert!(retired.contains(&0) && retired.contains(&1) && retired.contains(&8));
    let prekeys = seeds("decode_signed_prekey");
    for prekey in fx.signed_prekeys() {
        assert!(
            prekeys.contains(&prekey),
            "decode_signed_prekey seeds are stale"
        );
    }
}

// ---------------------------------------------------------------------------
// Seed generation (run by hand; the output is committed).
// ---------------------------------------------------------------------------

fn write_seeds(target: &str, seeds: &[Vec<u8>]) {
    let dir = fuzz_dir().join("seeds").join(target);
    fs::create_dir_all(&dir).unwrap();
    // Generated seeds only: a seed committed by hand under another name
    // (open_body/over-limit-payload) survives regeneration.
    for old in files(&dir) {
        if old
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("seed-"))
        {
            fs::remove_file(old).unwrap();
        }
    }
    let mut seen = BTreeSet::new();
    for seed in seeds {
        if seen.insert(seed.clone()) {
            let name = format!("seed-{:03}", seen.len());
            fs::write(dir.join(name), seed).unwrap();
        }
    }
}

/// Every hex string in vectors/*.json, decoded.
fn vector_blobs() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
    let mut out = Vec::new();
    fn walk(v: &serde_json::Value, out: &mut Vec<Vec<u8>>) {
        match v {
            serde_json::Value::String(s) if s.len() >= 4 && s.len() % 2 == 0 => {
                if let Ok(b) = hex::decode(s) {
                    out.push(b);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    for path in files(&dir) {
        if path.extension().is_some_and(|e| e == "json") {
            let v: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
            walk(&v, &mut out);
        }
    }
    out
}

/// Regenerates fuzz/seeds/ from the fixture and vectors/ (deterministic).
#[test]
#[ignore = "writes fuzz/seeds/; run by hand"]
fn generate_seeds() {
    let fx = fixture();
    let chain = fx.chain();
    let (v1, v2, v3, v4, fork3) = (&chain[0], &chain[1], &chain[2], &chain[3], &chain[4]);
    let vectors = vector_blobs();
    let of_type = |t: u8| -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = vectors
            .iter()
            .filter(|b| b.len() >= 2 && b[0] == 1 && b[1] == t && b.len() <= 4096)
            .cloned()
            .collect();
        v.sort_by_key(Vec::len);
        v.truncate(8);
        v
    };

    let mut certs: Vec<Vec<u8>> = chain
        .iter()
        .flat_map(|l| l.certificates().iter().map(|c| c.to_bytes()))
        .collect();
    certs.extend(of_type(0x01));
    write_seeds("decode_device_certificate", &certs);

    let mut lists: Vec<Vec<u8>> = chain.iter().map(|l| l.to_bytes()).collect();
    lists.extend(of_type(0x02));
    write_seeds("decode_device_list", &lists);

    let deliveries: Vec<Vec<u8>> = (0..fx.device_count())
        .filter_map(|i| fx.delivery_bytes(i))
        .collect();
    let mut envelopes = vec![
        fx.envelope_bytes().to_vec(),
        fx.hybrid_envelope_bytes().to_vec(),
    ];
    envelopes.extend(of_type(0x03));
    write_seeds("decode_envelope", &envelopes);
    let mut dels = deliveries.clone();
    dels.extend(fx.hybrid_delivery_bytes());
    dels.extend(of_type(0x04));
    write_seeds("decode_delivery", &dels);

    let trusted3 = v3.verify(v3.account()).unwrap();
    let fork = match trusted3.update(&[], fork3) {
        Err(fanseal::DeviceListError::Fork(e)) => e.to_bytes(),
        other => panic!("expected a fork, got {other:?}"),
    };
    let mut forks = vec![fork];
    forks.extend(of_type(0x05));
    write_seeds("decode_fork_evidence", &forks);

    let other = fanseal::AccountPublicKey::from_bytes([9; 32]);
    let mut numbers = vec![fanseal::SafetyNumber::new(v1.account(), &other)
        .to_bytes()
        .to_vec()];
    numbers.extend(of_type(0x06));
    write_seeds("decode_safety_number", &numbers);

    let b = |l: &fanseal::DeviceList| l.to_bytes();
    let updates: Vec<Vec<u8>> = [
        vec![b(v3)],
        vec![b(v3), b(v4)],
        vec![b(v2), b(v3), b(v4)],
        vec![b(v4)],
        vec![b(v1)],
        vec![b(v2)],
        vec![b(fork3)],
        vec![b(v3), b(fork3)],
    ]
    .iter()
    .map(|parts| {
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        fuzzing::encode_chunks(&refs)
    })
    .collect();
    write_seeds("device_list_update", &updates);

    let mut raw = vec![fx.envelope_bytes().to_vec()];
    raw.extend(deliveries);
    write_seeds("open_raw", &raw);
    write_seeds("open_hybrid", &hybrid_programs());

    // arbitrary reads these as (recipient, mutation list): the empty list,
    // each recipient, and a few small mutation programs.
    write_seeds(
        "open_structured",
        &[
            vec![],
            vec![1],
            vec![2],
            vec![3],
            vec![2, 1, 0, 3, 1],
            vec![2, 1, 9, 0, 4, 1, 0],
            vec![1, 1, 21, 0, 0, 0, 64, 3],
        ],
    );

    let body = |flags: u8, aad: &[u8], payload: &[u8], padding: usize| {
        let mut v = vec![
            flags,
            u8::try_from(aad.len()).unwrap(),
            u8::try_from(payload.len()).unwrap(),
        ];
        v.extend_from_slice(aad);
        v.extend_from_slice(payload);
        v.extend(std::iter::repeat_n(0u8, padding));
        v
    };
    write_seeds(
        "open_body",
        &[
            body(0, b"", b"", 0),
            body(0, b"aad", b"hello", 0),
            body(0, b"conversation", b"lunch at noon?", 25),
            body(
                body_flag::SIGN_AS_LAPTOP | body_flag::LAPTOP_CERT,
                b"x",
                b"y",
                3,
            ),
            body(body_flag::PAYLOAD_LEN, b"a", b"payload", 64),
        ],
    );

    let pad = |mode: u8, bucket: u32, len: u64, other: u64| {
        let mut v = vec![mode];
        v.extend_from_slice(&bucket.to_be_bytes());
        v.extend_from_slice(&len.to_be_bytes());
        v.extend_from_slice(&other.to_be_bytes());
        v
    };
    write_seeds(
        "padding",
        &[
            pad(0, 0, 100, 200),
            pad(1, 0, 1000, 1025),
            pad(1, 0, 70_000_000, 9),
            pad(2, 256, 257, 1),
            pad(2, 0, 7, 8),
        ],
    );

    // capacity || max_accounts || window || skew, then steps
    // (sender = account + 5 · device, id, timestamp offset, clock advance).
    let guard = |capacity: u8, max: u8, window: u16, skew: u16, steps: &[(u8, u8, i16, u16)]| {
        let mut v = vec![capacity, max];
        v.extend_from_slice(&window.to_be_bytes());
        v.extend_from_slice(&skew.to_be_bytes());
        for (sender, id, offset, advance) in steps {
            v.push(*sender);
            v.push(*id);
            v.extend_from_slice(&offset.to_be_bytes());
            v.extend_from_slice(&advance.to_be_bytes());
        }
        v
    };
    // One account (0) with many devices stamped at the edge of the skew,
    // then another account's fresh message (issue 13, situation 3).
    let mut flood: Vec<(u8, u8, i16, u16)> = (0..10u8).map(|k| (5 * (k / 2), k, 100, 0)).collect();
    flood.push((1, 1, 0, 1));
    flood.push((2, 2, -5, 1));
    let guard_inputs = vec![
        guard(
            4,
            4,
            1000,
            100,
            &[(0, 1, 0, 0), (0, 1, 0, 1), (4, 2, -5, 10), (1, 3, 50, 0)],
        ),
        guard(
            2,
            2,
            60_000,
            1000,
            &[
                (0, 1, 0, 1),
                (1, 2, 0, 1),
                (2, 3, 0, 1),
                (0, 1, -2, 0),
                (0, 1, 0, 100),
            ],
        ),
        guard(
            1,
            1,
            10,
            10,
            &[(4, 5, 0, 0), (4, 5, 0, 20), (4, 6, -11, 0), (4, 7, 11, 0)],
        ),
        guard(4, 4, 60_000, 100, &flood),
        // max_accounts 1: the second account is refused, then tracked once
        // the first has left the window.
        guard(
            2,
            1,
            100,
            10,
            &[(0, 1, 0, 0), (1, 1, 0, 10), (1, 1, 0, 200), (0, 1, 0, 0)],
        ),
    ];
    write_seeds("replay_guard", &guard_inputs);

    // Persisted states: those the guard seeds pass through, and the
    // ReplayGuardState vectors.
    let mut states: Vec<Vec<u8>> = Vec::new();
    for input in &guard_inputs {
        let (cap, max) = (usize::from(input[0] % 8), usize::from(input[1] % 5));
        let w = u64::from(u16::from_be_bytes([input[2], input[3]]));
        let s = u64::from(u16::from_be_bytes([input[4], input[5]]));
        let mut g = fanseal::ReplayGuard::with_max_accounts(cap, w, s, max);
        let mut now = 1_000_000u64;
        states.push(g.to_bytes());
        for st in input[6..].chunks_exact(6) {
            now += u64::from(u16::from_be_bytes([st[4], st[5]]));
            let t = now.saturating_add_signed(i64::from(i16::from_be_bytes([st[2], st[3]])));
            let idx = st[0] % 5;
            let account = (idx < 4).then_some([0xa0 + idx; 32]);
            let id = fanseal::MessageId::from_bytes([st[1]; 16]);
            let _ = fuzzing::check_as(&mut g, account, [st[0] / 5; 16], id, t, now);
            states.push(g.to_bytes());
        }
    }
    states.extend(
        vectors
            .iter()
            .filter(|b| b.len() >= 2 && b[0] == 2 && b[1] == 0x21)
            .cloned(),
    );
    write_seeds("replay_guard_load", &states);

    // Trust stores: the fixture account after each update of its chain,
    // and with the fork of version 3 kept as evidence.
    let account = *v1.account();
    let trusted = v1.verify(&account).expect("fixture list verifies");
    let mut store = fanseal::TrustStore::new();
    let mut stores = vec![store.export()];
    store.trust(trusted, 1).expect("trust");
    stores.push(store.export());
    for (t, next) in [v2, v3, v4].into_iter().enumerate() {
        let _ = store.update(&account, core::slice::from_ref(next), 2 + t as u64);
        stores.push(store.export());
        if next.version() == 3 {
            let mut forked = store.clone();
            let _ = forked.update(&account, core::slice::from_ref(fork3), 9);
            stores.push(forked.export());
        }
    }
    write_seeds("trust_store_load", &stores);
    // The fixture's prekeys, then the signed prekeys and keyring exports
    // of vectors/prekeys.json (other accounts; valid, refused and
    // malformed: unclamped secrets, 240-byte superseded entries, truncation).
    let vectors_of = |t: u8| -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = vectors
            .iter()
            .filter(|b| b.len() >= 2 && b[1] == t)
            .cloned()
            .collect();
        v.sort();
        v
    };
    let mut prekeys = fx.signed_prekeys();
    prekeys.extend(fx.hybrid_fixture_prekeys());
    prekeys.extend(
        vectors_of(0x07)
            .into_iter()
            .filter(|b| b.len() <= 256 || (1300..=1400).contains(&b.len())),
    );
    write_seeds("decode_signed_prekey", &prekeys);

    let programs = keyring_programs();
    write_seeds("keyring_ops", &programs);
    let mut exports: Vec<Vec<u8>> = programs
        .iter()
        .map(|p| fx.keyring_export_after(p).unwrap())
        .collect();
    exports.extend(vectors_of(0x20));
    write_seeds("keyring_import", &exports);

    let mut messages = fx.session_message_seeds();
    messages.extend(of_type(0x08));
    write_seeds("decode_session_message", &messages);
    let mut distributions = fx.distribution_seeds();
    distributions.extend(of_type(0x09));
    write_seeds("decode_distribution", &distributions);
    write_seeds("session_outbound_import", &fx.outbound_export_seeds());
    write_seeds("session_inbound_import", &fx.inbound_export_seeds());
    write_seeds("session_store_import", &fx.store_export_seeds());
    write_seeds("session_deliveries", &delivery_programs());
}

/// `session_deliveries` programs: in order, reordered and replayed,
/// restored-sender / forged / unsigned variants, eviction and stale
/// distributions, reloads, drops, mutations, truncations, expiry.
fn delivery_programs() -> Vec<Vec<u8>> {
    use fuzzing::delivery_op::*;
    let deliver = |s: u8, i: u8, v: u8| (DELIVER, vec![s, i, v]);
    let mut programs = Vec::new();
    let mut in_order = vec![(RECEIVE, vec![0])];
    in_order.extend((0..6).map(|i| deliver(0, i, 0)));
    programs.push(in_order);
    let mut reordered = vec![(RECEIVE, vec![0])];
    reordered.extend([5, 3, 1, 0, 2, 4, 3].map(|i| deliver(0, i, 0)));
    programs.push(reordered);
    programs.push(vec![
        (RECEIVE, vec![1]),
        deliver(1, 0, 1),
        deliver(1, 0, 0),
        deliver(1, 1, 2),
        deliver(1, 1, 3),
        deliver(1, 1, 0),
        deliver(1, 2, 3),
        deliver(1, 2, 1),
    ]);
    programs.push(vec![
        (RECEIVE, vec![0]),
        (RECEIVE, vec![1]),
        (RECEIVE, vec![2]),
        deliver(0, 0, 0),
        (RECEIVE, vec![0]),
        deliver(1, 0, 0),
        deliver(2, 4, 0),
        deliver(2, 0, 0),
    ]);
    programs.push(vec![
        (RECEIVE, vec![2]),
        deliver(2, 1, 0),
        (RELOAD, vec![]),
        deliver(2, 1, 0),
        deliver(2, 0, 0),
        (RELOAD, vec![]),
        deliver(2, 0, 1),
        deliver(2, 2, 0),
    ]);
    programs.push(vec![
        (RECEIVE, vec![0]),
        deliver(0, 0, 0),
        (DROP, vec![0]),
        (RECEIVE, vec![0]),
        deliver(0, 1, 0),
        (RECEIVE, vec![1]),
        deliver(1, 1, 0),
    ]);
    let mut mutations = vec![(RECEIVE, vec![0])];
    for pos in [0u16, 1, 3, 10, 25, 40, 60, 80, 100, 200] {
        let [hi, lo] = pos.to_be_bytes();
        mutations.push((MUTATE, vec![0, 1, hi, lo, 0x01]));
    }
    mutations.push((TRUNCATE, vec![0, 2, 0]));
    mutations.push((TRUNCATE, vec![0, 2, 63]));
    mutations.push((TRUNCATE, vec![0, 2, 128]));
    mutations.push(deliver(0, 1, 0));
    programs.push(mutations);
    programs.push(vec![
        (RECEIVE, vec![0]),
        deliver(0, 0, 0),
        (ADVANCE, vec![255]),
        deliver(0, 1, 0),
        (ADVANCE, vec![255]),
        (ADVANCE, vec![255]),
        (ADVANCE, vec![255]),
        (PRUNE, vec![]),
        deliver(0, 2, 0),
        (RECEIVE, vec![1]),
        (RELOAD, vec![]),
    ]);
    programs
        .iter()
        .map(|p| {
            let ops: Vec<(u8, &[u8])> = p.iter().map(|(t, a)| (*t, a.as_slice())).collect();
            fuzzing::encode_deliveries(&ops)
        })
        .collect()
}

/// The session fixture's authentic messages decrypt in a fresh store, so
/// the `session_deliveries` oracle cannot pass vacuously; the seeds of the
/// decoder and loader targets decode.
#[test]
fn session_fixture_is_live_and_session_seeds_decode() {
    let fx = fixture();
    assert_eq!(fuzzing::check_session_fixture(&fx), Ok(()));
    for m in fx.session_message_seeds() {
        assert!(fanseal::SessionMessage::from_bytes(&m).is_ok());
    }
    let receiver = fx.distribution_envelopes().len();
    assert_eq!(receiver, fuzzing::SESSIONS);
    let seeds = |t: &str| files(&fuzz_dir().join("seeds").join(t));
    for t in [
        "session_outbound_import",
        "session_inbound_import",
        "session_store_import",
    ] {
        assert!(!seeds(t).is_empty(), "no seeds for {t}");
    }
    let current: BTreeSet<Vec<u8>> = fx.store_export_seeds().into_iter().collect();
    for path in seeds("session_store_import") {
        assert!(
            current.contains(&fs::read(&path).unwrap()),
            "session_store_import seeds are stale"
        );
    }
}

/// `open_hybrid` programs: each opener on the pristine envelope, each
/// delivery, and every kind of mutation (SPEC.md §2.7, §4.1–4.10, §5.2).
fn hybrid_programs() -> Vec<Vec<u8>> {
    use fuzzing::hop;
    let mut programs: Vec<Vec<u8>> = (0..fuzzing::HYBRID_OPENERS).map(|o| vec![o]).collect();
    for opener in 0..fuzzing::HYBRID_OPENERS {
        for wrap in 0..3u8 {
            programs.push(vec![opener, 1 + 2 * wrap]);
        }
    }
    // Every low-order or non-canonical X25519 ciphertext in every wrap,
    // opened by recipient 0 (one of them is its own wrap).
    for wrap in 0..3u8 {
        for point in 0..12u8 {
            programs.push(vec![0, 0, hop::X25519_POINT, wrap, point]);
        }
        programs.push(vec![1, 2 * wrap + 1, hop::X25519_POINT, 0, 2]);
    }
    let m = |opener: u8, form: u8, ops: &[&[u8]]| {
        let mut v = vec![opener, form];
        for op in ops {
            v.extend_from_slice(op);
        }
        v
    };
    for opener in 0..3u8 {
        for wrap in 0..3u8 {
            programs.push(m(opener, 0, &[&[hop::MLKEM_XOR, wrap, 0x01, 0x20, 0x80]]));
            programs.push(m(opener, 0, &[&[hop::MLKEM_XOR, wrap, 0x04, 0x3f, 0x01]]));
            programs.push(m(opener, 0, &[&[hop::X25519_XOR, wrap, 31, 0x80]]));
            programs.push(m(opener, 0, &[&[hop::X25519_XOR, wrap, 0, 0x01]]));
            programs.push(m(opener, 0, &[&[hop::AEAD_XOR, wrap, 47, 0x01]]));
            programs.push(m(opener, 0, &[&[hop::AEAD_XOR, wrap, 0, 0x01]]));
        }
    }
    programs.extend([
        m(0, 0, &[&[hop::SUITE, 0, 1]]),
        m(0, 1, &[&[hop::SUITE, 0, 1]]),
        m(0, 0, &[&[hop::SUITE, 0, 3]]),
        m(0, 0, &[&[hop::SUITE, 0, 1], &[hop::INSERT_ENC, 0]]),
        m(0, 0, &[&[hop::SUITE, 0, 1], &[hop::INSERT_ENC, 5]]),
        m(0, 0, &[&[hop::INSERT_ENC, 0]]),
        m(1, 0, &[&[hop::REMOVE_WRAP, 1]]),
        m(1, 0, &[&[hop::DUPLICATE_WRAP, 2]]),
        m(
            1,
            0,
            &[&[hop::REMOVE_WRAP, 1], &[hop::RECIPIENT_COUNT, 0, 2]],
        ),
        m(1, 0, &[&[hop::TRUNCATE_WRAP, 0, 0x04, 0x60]]),
        m(1, 0, &[&[hop::TRUNCATE_WRAP, 0, 0, 48]]),
        m(1, 0, &[&[hop::EXTEND_WRAP, 2, 48]]),
        m(1, 3, &[&[hop::TRUNCATE_WRAP, 0, 0, 48]]),
        m(2, 0, &[&[hop::RECIPIENT_COUNT, 0x04, 0x00]]),
        m(2, 0, &[&[hop::RECIPIENT_COUNT, 0xff, 0xff]]),
        m(2, 0, &[&[hop::RECIPIENT_COUNT, 0, 0]]),
        m(2, 0, &[&[hop::KEY_ID_XOR, 0, 15, 1]]),
        m(2, 0, &[&[hop::KEY_ID_XOR, 2, 0, 0x80]]),
        m(2, 0, &[&[hop::MESSAGE_ID_XOR, 3, 1]]),
        m(2, 0, &[&[hop::COMMITMENT_XOR, 31, 1]]),
        m(2, 0, &[&[hop::BODY_LEN, 0, 0, 0, 0]]),
        m(2, 0, &[&[hop::BODY_LEN, 0xff, 0xff, 0xff, 0xff]]),
        m(2, 0, &[&[hop::BODY_LEN, 0, 0x10, 0, 1]]),
        m(2, 0, &[&[hop::BODY_XOR, 0, 5, 1]]),
        m(2, 0, &[&[hop::SWAP_KEM, 0, 1]]),
        m(2, 0, &[&[hop::SWAP_WRAPS, 1, 2]]),
        m(2, 0, &[&[hop::COPY_AEAD, 0, 1]]),
        m(2, 0, &[&[hop::REMOVE_RECIPIENT, 0]]),
        m(2, 0, &[&[hop::OBJECT_TYPE, 4]]),
        m(2, 1, &[&[hop::OBJECT_TYPE, 3]]),
        m(0, 0, &[&[hop::TRUNCATE, 0, 0, 0x10, 0]]),
        m(0, 0, &[&[hop::XOR, 0, 0, 0, 2, 0x03]]),
        m(4, 0, &[&[hop::SUITE, 0, 1], &[hop::INSERT_ENC, 0]]),
        m(3, 0, &[&[hop::KEY_ID_XOR, 1, 3, 3]]),
    ]);
    programs
}

/// `keyring_ops` programs (SPEC.md §3.8): rotations over several periods,
/// deletion at the grace boundary, re-keys with prekeys of old and new keys,
/// renewals, both limits, policy changes, the overflow edge of a rotation,
/// refusals of every kind, reloads and opens of held and deleted keys.
/// Their final exports are the `keyring_import` seeds.
fn keyring_programs() -> Vec<Vec<u8>> {
    use fuzzing::op;
    let minutes = |m: u16| m.to_be_bytes().to_vec();
    let day: u16 = 24 * 60;
    let one = |b: u8| vec![b];
    let mut programs = vec![
        vec![],
        // Rotate, open the prekey, a key set and a pool key never made.
        fuzzing::encode_ops(&[
            (op::ROTATE, &[0]),
            (op::OPEN, &[0]),
            (op::OPEN, &[1]),
            (op::OPEN, &[40]),
            (op::OPEN, &[41]),
        ]),
    ];
    // Default policy for 12 days: rotate every 2 days, delete daily, open
    // everything made so far after each deletion, reload at the end.
    let mut ops: Vec<(u8, Vec<u8>)> = Vec::new();
    for i in 0..6u8 {
        ops.push((op::ROTATE, one(i)));
        for _ in 0..2 {
            ops.push((op::ADVANCE, minutes(day)));
            ops.push((op::DELETE, vec![]));
        }
    }
    ops.push((op::ADVANCE, minutes(11 * day)));
    ops.push((op::DELETE, vec![]));
    for i in 0..6u8 {
        ops.push((op::OPEN, one(i)));
    }
    ops.push((op::RELOAD, vec![]));
    programs.push(encode(&ops));
    // Rotations every 2 days, a deletion at 11 days (the first prekey's
    // expiry plus grace, exactly), then a re-key and a prekey of the new
    // key: the export holds a superseded set, its prekeys and the new one.
    let mut ops: Vec<(u8, Vec<u8>)> = Vec::new();
    for i in 0..4u8 {
        ops.push((op::ROTATE, one(10 + i)));
        ops.push((op::ADVANCE, minutes(2 * day)));
    }
    ops.push((op::ADVANCE, minutes(3 * day)));
    ops.push((op::DELETE, vec![]));
    ops.push((op::REKEY, one(1)));
    ops.push((op::ROTATE, one(14)));
    for key in [10u8, 11, 13, 14, 40, 41] {
        ops.push((op::OPEN, one(key)));
    }
    programs.push(encode(&ops));
    // Re-keys with prekeys signed by every key set, renewals and refusals
    // (same keys, mismatched keys, another device), up to 8 superseded
    // sets and the ninth refused as Full; opens of old and new keys.
    let mut ops: Vec<(u8, Vec<u8>)> = vec![(op::ROTATE, one(0))];
    for set in 1..=9u8 {
        ops.push((op::ADVANCE, minutes(60)));
        ops.push((op::REKEY, one(set)));
        ops.push((op::ROTATE, one(set)));
        ops.push((op::REKEY, one(set - 1)));
    }
    ops.push((op::REKEY_MISMATCHED, vec![3, 4]));
    // Refusals in SPEC §3.8 order: another device, a forged certificate,
    // a key set sharing one key with a held one, Full.
    ops.push((op::REKEY_WITH, vec![9, 4]));
    ops.push((op::REKEY_WITH, vec![9, 5]));
    ops.push((op::REKEY_WITH, vec![10, 0]));
    ops.push((op::REKEY_WITH, vec![11, 2]));
    // Renewals: capability 0 kept (ok), other keys, bit 0 changed, forged.
    ops.push((op::RENEW, vec![8, 1]));
    ops.push((op::RENEW, vec![3, 0]));
    ops.push((op::RENEW, vec![8, 2]));
    ops.push((op::RENEW, vec![8, 3]));
    ops.push((op::RENEW, vec![8, 5]));
    ops.push((op::RENEW, vec![8, 4]));
    ops.push((op::RENEW, vec![8, 0]));
    for key in [0u8, 5, 8, 9, 40, 44, 48, 49, 50, 51] {
        ops.push((op::OPEN, one(key)));
    }
    ops.push((op::RELOAD, vec![]));
    programs.push(encode(&ops));
    // 33 rotations, eight per minute: the 33rd is Full, a repeated pool
    // key is SameKeys; deletion after the grace period empties the keyring.
    let mut ops: Vec<(u8, Vec<u8>)> = Vec::new();
    for i in 0..33u8 {
        ops.push((op::ROTATE, one(i)));
        if i % 8 == 7 {
            ops.push((op::ADVANCE, minutes(1)));
        }
    }
    programs.push(encode(&ops));
    ops.push((op::DELETE, vec![]));
    ops.push((op::ROTATE, one(3)));
    ops.push((op::OPEN, one(31)));
    ops.push((op::OPEN, one(32)));
    ops.push((op::ADVANCE, minutes(u16::MAX)));
    ops.push((op::DELETE, vec![]));
    ops.push((op::OPEN, one(31)));
    ops.push((op::ROTATE, one(3)));
    programs.push(encode(&ops));
    // Policies: a short valid one, then invalid ones (R = 0, 2R > L, L
    // and G over 30 days, more than 32 prekeys at once) and the boundaries
    // that hold; a clock set back before a prekey (no current prekey); a
    // clock so late that no prekey can expire; deletion at the end of time.
    let hours =
        |r: u16, l: u16, g: u16| [r.to_be_bytes(), l.to_be_bytes(), g.to_be_bytes()].concat();
    let clock = |t: u64| (op::SET_CLOCK, t.to_be_bytes().to_vec());
    let ops: Vec<(u8, Vec<u8>)> = vec![
        (op::SET_POLICY, hours(1, 2, 3)),
        (op::ROTATE, one(7)),
        (op::ADVANCE, minutes(60)),
        (op::ROTATE, one(8)),
        clock(fuzzing::NOW),
        (op::ROTATE, one(6)),
        clock(fuzzing::NOW + 60 * 60_000),
        (op::SET_POLICY, hours(0, 2, 3)),
        (op::SET_POLICY, hours(3, 2, 3)),
        (op::SET_POLICY, hours(2, 3, 3)),
        (op::SET_POLICY, hours(1, 721, 3)),
        (op::SET_POLICY, hours(1, 720, 721)),
        (op::SET_POLICY, hours(1, 16, 16)),
        (op::ADVANCE, minutes(5 * 60)),
        (op::DELETE, vec![]),
        (op::OPEN, one(6)),
        (op::OPEN, one(7)),
        (op::OPEN, one(8)),
        (op::SET_POLICY, hours(1, 16, 15)),
        (op::SET_POLICY, hours(360, 720, 720)),
        clock(u64::MAX - 1000),
        (op::ROTATE, one(9)),
        clock(u64::MAX - 720 * 3_600_000),
        (op::ROTATE, one(9)),
        clock(u64::MAX - 720 * 3_600_000 - 1),
        (op::ROTATE, one(9)),
        clock(u64::MAX),
        (op::DELETE, vec![]),
        (op::RELOAD, vec![]),
    ];
    programs.push(encode(&ops));
    // A superseded key set deleted before the prekeys it signed (SPEC §3.8
    // Delete): they stay, open and import; a key set with the deleted
    // set's Ed25519 key is then allowed and makes its prekey current again.
    let ops: Vec<(u8, Vec<u8>)> = vec![
        (op::SET_POLICY, hours(24, 48, 1)),
        (op::ROTATE, one(0)),
        (op::REKEY, one(1)),
        (op::ROTATE, one(1)),
        (op::REKEY_WITH, vec![11, 0]),
        (op::REKEY_WITH, vec![10, 2]),
        (op::ADVANCE, minutes(1)),
        (op::REKEY, one(2)),
        (op::REKEY, one(11)),
        (op::ADVANCE, minutes(2 * 60)),
        (op::DELETE, vec![]),
        (op::RELOAD, vec![]),
        (op::OPEN, one(0)),
        (op::OPEN, one(1)),
        (op::OPEN, one(41)),
        (op::OPEN, one(50)),
        (op::REKEY, one(11)),
        (op::ROTATE, one(2)),
        (op::REKEY, one(10)),
        (op::OPEN, one(41)),
        (op::RELOAD, vec![]),
    ];
    programs.push(encode(&ops));
    // DeviceKeyring::new: mismatched keys, a forged certificate, another
    // device id (made and dropped), then a keyring requiring prekeys that
    // replaces the current one; its renewals keep bit 0 or are refused.
    let ops: Vec<(u8, Vec<u8>)> = vec![
        (op::ROTATE, one(0)),
        (op::CREATE, vec![0, 1, 0]),
        (op::CREATE, vec![2, 2, 5]),
        (op::CREATE, vec![3, 3, 4]),
        (op::CREATE, vec![3, 3, 2]),
        (op::OPEN, one(0)),
        (op::ROTATE, one(4)),
        (op::RENEW, vec![3, 0]),
        (op::RENEW, vec![3, 5]),
        (op::RENEW, vec![3, 3]),
        (op::REKEY_WITH, vec![5, 1]),
        (op::RENEW, vec![5, 2]),
        (op::RENEW, vec![5, 0]),
        (op::OPEN, one(4)),
        (op::OPEN, one(43)),
        (op::RELOAD, vec![]),
    ];
    programs.push(encode(&ops));
    programs.extend(hybrid_keyring_programs());
    programs
}

/// `keyring_ops` programs for hybrid prekeys (SPEC.md §3.8 Rotate hybrid,
/// §3.9 section `h`). Certificate variants: 0 none, 2 `CAPABILITY_PREKEYS`,
/// 6 and 7 `CAPABILITY_PREKEYS | CAPABILITY_HYBRID`, 8 `CAPABILITY_HYBRID`.
/// Opens 52.. are the hybrid pool's envelopes.
fn hybrid_keyring_programs() -> Vec<Vec<u8>> {
    use fuzzing::op;
    let minutes = |m: u16| m.to_be_bytes().to_vec();
    let day: u16 = 24 * 60;
    let one = |b: u8| vec![b];
    let clock = |t: u64| (op::SET_CLOCK, t.to_be_bytes().to_vec());
    let mut programs = Vec::new();
    // NotHybrid, then a re-key to a hybrid certificate: rotations of both
    // kinds, a repeated seed (SameKeys), opens of held and missing hybrid
    // keys, renewals keeping both bits or changing one (CapabilityChange),
    // a re-key to a certificate without the bit (NotHybrid again, the
    // hybrid secrets stay and open), deletion, reloads.
    let ops: Vec<(u8, Vec<u8>)> = vec![
        (op::ROTATE_HYBRID, one(0)),
        (op::REKEY_WITH, vec![1, 6]),
        (op::ROTATE, one(0)),
        (op::ROTATE_HYBRID, one(0)),
        (op::ROTATE_HYBRID, one(0)),
        (op::OPEN, one(52)),
        (op::OPEN, one(53)),
        (op::OPEN, one(0)),
        (op::ADVANCE, minutes(2 * day)),
        (op::ROTATE_HYBRID, one(1)),
        (op::ROTATE, one(1)),
        (op::RENEW, vec![1, 7]),
        (op::RENEW, vec![1, 2]),
        (op::RENEW, vec![1, 8]),
        (op::RENEW, vec![1, 0]),
        (op::RENEW, vec![1, 6]),
        (op::RELOAD, vec![]),
        (op::REKEY_WITH, vec![2, 2]),
        (op::ROTATE_HYBRID, one(5)),
        (op::OPEN, one(52)),
        (op::OPEN, one(53)),
        (op::ADVANCE, minutes(10 * day)),
        (op::DELETE, vec![]),
        (op::OPEN, one(52)),
        (op::OPEN, one(53)),
        (op::RELOAD, vec![]),
    ];
    programs.push(encode(&ops));
    // Hybrid and classical rotations interleaved, eight of each per minute,
    // up to the 64-operation limit (both sections well filled); then 33
    // hybrid rotations alone (the 33rd is Full, the export holds 32 hybrid
    // prekeys), and the same cut short, opened, reloaded and deleted after
    // the grace period (the hybrid section empties).
    let mut ops: Vec<(u8, Vec<u8>)> = vec![(op::REKEY_WITH, vec![3, 6])];
    for i in 0..33u8 {
        ops.push((op::ROTATE_HYBRID, one(i)));
        ops.push((op::ROTATE, one(i)));
        if i % 8 == 7 {
            ops.push((op::ADVANCE, minutes(1)));
        }
    }
    programs.push(encode(&ops[..ops.len().min(64)]));
    let mut full: Vec<(u8, Vec<u8>)> = vec![(op::REKEY_WITH, vec![3, 6])];
    for i in 0..33u8 {
        full.push((op::ROTATE_HYBRID, one(i)));
        if i % 8 == 7 {
            full.push((op::ADVANCE, minutes(1)));
        }
    }
    programs.push(encode(&full));
    full.truncate(30);
    full.extend([
        (op::OPEN, one(52 + 3)),
        (op::RELOAD, vec![]),
        (op::ADVANCE, minutes(u16::MAX)),
        (op::DELETE, vec![]),
        (op::OPEN, one(52 + 3)),
        (op::ROTATE_HYBRID, one(3)),
    ]);
    programs.push(encode(&full));
    // DeviceKeyring::new with a hybrid-only certificate: hybrid rotations
    // (no classical prekey is required), a rotation at the end of time
    // (InvalidPolicy), renewals, a re-key to a certificate without the bit.
    let ops: Vec<(u8, Vec<u8>)> = vec![
        (op::CREATE, vec![0, 0, 8]),
        (op::ROTATE_HYBRID, one(3)),
        (op::OPEN, one(55)),
        (op::RENEW, vec![0, 6]),
        (op::RENEW, vec![0, 8]),
        (op::ADVANCE, minutes(3 * day)),
        (op::ROTATE_HYBRID, one(4)),
        clock(u64::MAX - 1000),
        (op::ROTATE_HYBRID, one(9)),
        clock(fuzzing::NOW + 3 * 24 * 3_600_000 + 1),
        (op::REKEY, one(3)),
        (op::ROTATE_HYBRID, one(6)),
        (op::OPEN, one(55)),
        (op::OPEN, one(56)),
        (op::CREATE, vec![4, 4, 6]),
        (op::ROTATE_HYBRID, one(7)),
        (op::RELOAD, vec![]),
    ];
    programs.push(encode(&ops));
    programs
}

fn encode(ops: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let refs: Vec<(u8, &[u8])> = ops.iter().map(|(c, a)| (*c, a.as_slice())).collect();
    fuzzing::encode_ops(&refs)
}
