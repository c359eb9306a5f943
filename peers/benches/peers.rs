//! fanseal side by side with the peers a user would pick instead, on the same
//! 1 KiB message and the same device count (issue 6):
//!
//! * age: one file encrypted to N X25519 recipients; decrypt as the LAST of
//!   the N recipients (age tries every stanza until one unwraps);
//! * hpke (RFC 9180, DHKEM(X25519, HKDF-SHA256) + AES-256-GCM, the same
//!   primitive crates as fanseal): a full HPKE seal of the body per device,
//!   and the body once (AES-256-GCM) + a per-device HPKE seal of its 32-byte
//!   key;
//! * vodozemac: Olm, one message per device on an already established
//!   session (the symmetric chain step), and one Megolm group message (cost
//!   independent of N once the group key has been handed out over Olm).
//!
//! The fanseal fixture is the one of the root crate's benches
//! (`benches/common/mod.rs`). No timing is asserted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../../benches/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::io::{Read, Write};

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use common::{Fixture, FANOUT_PAYLOAD};
use criterion::measurement::Measurement;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use fanseal::Padding;
use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Kem as _, OpModeR, OpModeS};
use rand_chacha::ChaCha20Rng;
use rand_core::Rng;
use vodozemac::megolm::{GroupSession, InboundGroupSession, SessionConfig as MegolmConfig};
use vodozemac::olm::{Account, OlmMessage, Session, SessionConfig as OlmConfig};

/// Device counts of the side-by-side groups.
const PEER_COUNTS: [usize; 3] = [1, 8, 64];
const INFO: &[u8] = b"fanseal peers bench";

type HpkePrivate = <X25519HkdfSha256 as hpke::Kem>::PrivateKey;
type HpkePublic = <X25519HkdfSha256 as hpke::Kem>::PublicKey;
type HpkeEncapped = <X25519HkdfSha256 as hpke::Kem>::EncappedKey;
/// One HPKE ciphertext per device: (encapsulated key, ciphertext).
type HpkeSealed = Vec<(HpkeEncapped, Vec<u8>)>;

// ------------------------------------------------------------------ age

fn age_recipients(n: usize) -> (Vec<age::x25519::Recipient>, age::x25519::Identity) {
    let identities: Vec<age::x25519::Identity> =
        (0..n).map(|_| age::x25519::Identity::generate()).collect();
    let recipients = identities.iter().map(|i| i.to_public()).collect();
    (recipients, identities.into_iter().last().unwrap())
}

fn age_encrypt(recipients: &[age::x25519::Recipient], payload: &[u8]) -> Vec<u8> {
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .unwrap();
    let mut out = Vec::with_capacity(payload.len() + 200 + 120 * recipients.len());
    let mut writer = encryptor.wrap_output(&mut out).unwrap();
    writer.write_all(payload).unwrap();
    writer.finish().unwrap();
    out
}

fn age_decrypt(identity: &age::x25519::Identity, ciphertext: &[u8]) -> Vec<u8> {
    // `new_buffered` is age's documented fast path for `BufRead` inputs such
    // as slices (`new` re-parses the header after every small read).
    let decryptor = age::Decryptor::new_buffered(ciphertext).unwrap();
    let mut reader = decryptor
        .decrypt(std::iter::once(identity as &dyn age::Identity))
        .unwrap();
    let mut out = Vec::with_capacity(ciphertext.len());
    reader.read_to_end(&mut out).unwrap();
    out
}

// ------------------------------------------------------------------ hpke

fn hpke_keys(n: usize, rng: &mut ChaCha20Rng) -> Vec<(HpkePrivate, HpkePublic)> {
    (0..n)
        .map(|_| X25519HkdfSha256::gen_keypair_with_rng(rng))
        .collect()
}

/// One full HPKE seal of the body per device.
fn hpke_per_device(publics: &[HpkePublic], payload: &[u8], rng: &mut ChaCha20Rng) -> HpkeSealed {
    publics
        .iter()
        .map(|pk| {
            hpke::single_shot_seal_with_rng::<AesGcm256, HkdfSha256, X25519HkdfSha256>(
                &OpModeS::Base,
                pk,
                INFO,
                payload,
                common::AAD,
                rng,
            )
            .unwrap()
        })
        .collect()
}

/// The body once under a random AES-256-GCM key, and that 32-byte key sealed
/// with HPKE per device (fanseal's shape, without signature or commitment).
fn hpke_key_wrap(
    publics: &[HpkePublic],
    payload: &[u8],
    rng: &mut ChaCha20Rng,
) -> ([u8; 12], Vec<u8>, HpkeSealed) {
    let mut key = [0u8; 32];
    rng.fill_bytes(&mut key);
    let mut nonce = [0u8; 12];
    rng.fill_bytes(&mut nonce);
    let mut body = Vec::with_capacity(payload.len() + 16);
    body.extend_from_slice(payload);
    let tag = Aes256Gcm::new(&key.into())
        .encrypt_inout_detached(&Nonce::from(nonce), common::AAD, body.as_mut_slice().into())
        .unwrap();
    body.extend_from_slice(&tag);
    let wraps = publics
        .iter()
        .map(|pk| {
            hpke::single_shot_seal_with_rng::<AesGcm256, HkdfSha256, X25519HkdfSha256>(
                &OpModeS::Base,
                pk,
                INFO,
                &key,
                b"",
                rng,
            )
            .unwrap()
        })
        .collect();
    (nonce, body, wraps)
}

fn hpke_open(sk: &HpkePrivate, encapped: &HpkeEncapped, ct: &[u8], aad: &[u8]) -> Vec<u8> {
    hpke::single_shot_open::<AesGcm256, HkdfSha256, X25519HkdfSha256>(
        &OpModeR::Base,
        sk,
        encapped,
        INFO,
        ct,
        aad,
    )
    .unwrap()
}

// ------------------------------------------------------------------ vodozemac

/// `n` Olm session pairs (sender side, receiver side), each established by
/// a pre-key message and a reply, as in a conversation that has started.
fn olm_sessions(n: usize) -> Vec<(Session, Session)> {
    let alice = Account::new();
    (0..n)
        .map(|_| {
            let mut bob = Account::new();
            bob.generate_one_time_keys(1);
            let otk = *bob.one_time_keys().values().next().unwrap();
            bob.mark_keys_as_published();
            let mut outbound = alice
                .create_outbound_session(OlmConfig::version_1(), bob.curve25519_key(), otk)
                .unwrap();
            let OlmMessage::PreKey(pre_key) = outbound.encrypt(b"hello").unwrap() else {
                panic!("first message is a pre-key message")
            };
            let mut inbound = bob
                .create_inbound_session(OlmConfig::version_1(), alice.curve25519_key(), &pre_key)
                .unwrap()
                .session;
            let reply = inbound.encrypt(b"hi").unwrap();
            assert_eq!(outbound.decrypt(&reply).unwrap(), b"hi");
            // The first message after a reply carries a new ratchet key.
            let m = outbound.encrypt(b"again").unwrap();
            assert_eq!(inbound.decrypt(&m).unwrap(), b"again");
            (outbound, inbound)
        })
        .collect()
}

// ------------------------------------------------------------------ benches

fn seal<M: Measurement>(c: &mut Criterion<M>) {
    let payload = common::payload(FANOUT_PAYLOAD);
    let mut g = c.benchmark_group("peers_seal_1KiB");
    g.sample_size(10);
    for n in PEER_COUNTS {
        g.throughput(Throughput::Elements(n as u64));
        let mut rng = common::rng(40);

        let fixture = Fixture::new(n);
        g.bench_with_input(BenchmarkId::new("fanseal", n), &payload, |b, p| {
            b.iter(|| fixture.seal(black_box(p), Padding::Padme, &mut rng))
        });

        let (age_recips, age_last) = age_recipients(n);
        assert_eq!(
            age_decrypt(&age_last, &age_encrypt(&age_recips, &payload)),
            payload
        );
        g.bench_with_input(BenchmarkId::new("age", n), &payload, |b, p| {
            b.iter(|| age_encrypt(&age_recips, black_box(p)))
        });

        let keys = hpke_keys(n, &mut rng);
        let publics: Vec<HpkePublic> = keys.iter().map(|(_, pk)| pk.clone()).collect();
        g.bench_with_input(BenchmarkId::new("hpke_per_device", n), &payload, |b, p| {
            b.iter(|| hpke_per_device(&publics, black_box(p), &mut rng))
        });
        g.bench_with_input(BenchmarkId::new("hpke_key_wrap", n), &payload, |b, p| {
            b.iter(|| hpke_key_wrap(&publics, black_box(p), &mut rng))
        });

        let mut sessions = olm_sessions(n);
        g.bench_with_input(BenchmarkId::new("olm_per_device", n), &payload, |b, p| {
            b.iter(|| {
                sessions
                    .iter_mut()
                    .map(|(out, _)| out.encrypt(black_box(p)).unwrap())
                    .collect::<Vec<_>>()
            })
        });
    }
    // One Megolm message serves every device of the group: no N parameter.
    let mut group = GroupSession::new(MegolmConfig::version_1());
    g.throughput(Throughput::Elements(1));
    g.bench_with_input(BenchmarkId::new("megolm", "any_N"), &payload, |b, p| {
        b.iter(|| group.encrypt(black_box(p)))
    });
    g.finish();
}

fn open<M: Measurement>(c: &mut Criterion<M>) {
    let payload = common::payload(FANOUT_PAYLOAD);
    let mut g = c.benchmark_group("peers_open_1KiB");
    g.sample_size(10);
    g.throughput(Throughput::Elements(1));
    for n in PEER_COUNTS {
        let mut rng = common::rng(41);

        let fixture = Fixture::new(n);
        let device = fixture.last_device();
        let directory = fixture.directory();
        let delivery = fixture
            .seal(&payload, Padding::Padme, &mut rng)
            .delivery_for(&device.key_id())
            .unwrap()
            .to_bytes();
        g.bench_with_input(BenchmarkId::new("fanseal", n), &delivery, |b, w| {
            b.iter(|| fixture.open(device, black_box(w), &directory))
        });

        // age: the recipient is the last of n stanzas.
        let (age_recips, age_last) = age_recipients(n);
        let ct = age_encrypt(&age_recips, &payload);
        g.bench_with_input(BenchmarkId::new("age_last_of_n", n), &ct, |b, ct| {
            b.iter(|| age_decrypt(&age_last, black_box(ct)))
        });
    }

    // Per-device schemes: a device opens only its own ciphertext, so the
    // cost does not depend on N.
    let mut rng = common::rng(42);
    let keys = hpke_keys(1, &mut rng);
    let publics: Vec<HpkePublic> = keys.iter().map(|(_, pk)| pk.clone()).collect();
    let (sk, _) = &keys[0];
    let sealed = hpke_per_device(&publics, &payload, &mut rng);
    let (enc, ct) = &sealed[0];
    assert_eq!(hpke_open(sk, enc, ct, common::AAD), payload);
    g.bench_function(BenchmarkId::new("hpke_per_device", "any_N"), |b| {
        b.iter(|| hpke_open(sk, enc, black_box(ct), common::AAD))
    });
    let (nonce, body, wraps) = hpke_key_wrap(&publics, &payload, &mut rng);
    let (wrap_enc, wrap_ct) = &wraps[0];
    g.bench_function(BenchmarkId::new("hpke_key_wrap", "any_N"), |b| {
        b.iter(|| {
            let key: [u8; 32] = hpke_open(sk, wrap_enc, black_box(wrap_ct), b"")
                .try_into()
                .unwrap();
            let mut out = black_box(&body[..body.len() - 16]).to_vec();
            Aes256Gcm::new(&key.into())
                .decrypt_inout_detached(
                    &Nonce::from(nonce),
                    common::AAD,
                    out.as_mut_slice().into(),
                    &aes_gcm::Tag::try_from(&body[body.len() - 16..]).unwrap(),
                )
                .unwrap();
            out
        })
    });

    let mut pairs = olm_sessions(1);
    let (outbound, inbound) = &mut pairs[0];
    g.bench_function(BenchmarkId::new("olm", "any_N"), |b| {
        b.iter_batched(
            || outbound.encrypt(&payload).unwrap(),
            |m| inbound.decrypt(&m).unwrap(),
            BatchSize::SmallInput,
        )
    });

    let mut group = GroupSession::new(MegolmConfig::version_1());
    let mut inbound_group =
        InboundGroupSession::new(&group.session_key(), MegolmConfig::version_1());
    g.bench_function(BenchmarkId::new("megolm", "any_N"), |b| {
        b.iter_batched(
            || group.encrypt(&payload),
            |m| inbound_group.decrypt(&m).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// Interleaved A/B ratios at N = 64 (see `common::Paired`): the peer's time
/// over fanseal's, so above 1 means fanseal is faster.
fn paired<M: Measurement>(_: &mut Criterion<M>) {
    let Some(mut p) = common::Paired::new() else {
        return;
    };
    let n = 64;
    let payload = common::payload(FANOUT_PAYLOAD);
    let mut rng = common::rng(60);
    let mut rng2 = common::rng(61);
    let fixture = Fixture::new(n);
    let (age_recips, age_last) = age_recipients(n);
    let keys = hpke_keys(n, &mut rng);
    let publics: Vec<HpkePublic> = keys.iter().map(|(_, pk)| pk.clone()).collect();
    let mut sessions = olm_sessions(n);

    p.compare(
        "seal 1 KiB, N = 64: age vs fanseal",
        || age_encrypt(&age_recips, &payload),
        || fixture.seal(&payload, Padding::Padme, &mut rng),
    );
    p.compare(
        "seal 1 KiB, N = 64: hpke per device vs fanseal",
        || hpke_per_device(&publics, &payload, &mut rng2),
        || fixture.seal(&payload, Padding::Padme, &mut rng),
    );
    p.compare(
        "seal 1 KiB, N = 64: hpke body once + key wrap vs fanseal",
        || hpke_key_wrap(&publics, &payload, &mut rng2),
        || fixture.seal(&payload, Padding::Padme, &mut rng),
    );
    p.compare(
        "seal 1 KiB, N = 64: Olm per device vs fanseal",
        || {
            sessions
                .iter_mut()
                .map(|(out, _)| out.encrypt(&payload).unwrap())
                .collect::<Vec<_>>()
        },
        || fixture.seal(&payload, Padding::Padme, &mut rng),
    );

    let device = fixture.last_device();
    let directory = fixture.directory();
    let delivery = fixture
        .seal(&payload, Padding::Padme, &mut rng)
        .delivery_for(&device.key_id())
        .unwrap()
        .to_bytes();
    let age_ct = age_encrypt(&age_recips, &payload);
    p.compare(
        "open 1 KiB, N = 64: age (last of 64) vs fanseal",
        || age_decrypt(&age_last, &age_ct),
        || fixture.open(device, &delivery, &directory),
    );
    let (sk, _) = &keys[n - 1];
    let sealed = hpke_per_device(&publics[n - 1..], &payload, &mut rng);
    let (enc, ct) = &sealed[0];
    p.compare(
        "open 1 KiB, N = 64: hpke per device vs fanseal",
        || hpke_open(sk, enc, ct, common::AAD),
        || fixture.open(device, &delivery, &directory),
    );
    p.finish("peers");
}

bench_main!(seal, open, paired);
