//! fanseal benchmarks (issue 6): seal and open over payload size and device
//! count, encode/decode, the relay's per-device delivery split, device-list
//! verification, and the primitive floor of the same work, in one run.
//!
//! The floor is the raw primitive work built from the same crates fanseal
//! uses (x25519-dalek, hkdf, sha2, aes-gcm, ed25519-dalek), so protocol
//! overhead is the ratio fanseal / floor measured in the same process:
//!
//! * seal floor: one ephemeral X25519 key; per device one X25519, one
//!   HKDF-SHA256 (extract + 44-byte expand) and a 32-byte AES-256-GCM wrap;
//!   one HKDF for the body key; SHA-256 over the payload and one Ed25519 sign
//!   of a 62-byte message (fanseal's signed transcript shape); one copy of
//!   the payload into the body buffer and one AES-256-GCM over it.
//! * open floor: one X25519, one HKDF and 32-byte AES-256-GCM unwrap, one
//!   HKDF for the body key, one copy of the ciphertext and one AES-256-GCM
//!   decrypt, SHA-256 over the payload, Ed25519 key decoding and one strict
//!   verify.
//! * body floor (1 MiB): only the bulk work, copy + SHA-256 + AES-256-GCM.
//!
//! Run: `cargo bench --bench fanseal -- --warm-up-time 1 --measurement-time 3`
//! (see BENCHMARKS.md). No timing is asserted anywhere.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::hint::black_box;

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use common::{Fixture, DEVICE_COUNTS, FANOUT_PAYLOAD, SIZES};
use criterion::measurement::Measurement;
use criterion::{BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use fanseal::{DeviceList, Envelope, Padding};
use hkdf::Hkdf;
use rand_chacha::ChaCha20Rng;
use rand_core::Rng;
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};

// ------------------------------------------------------------------ floor

/// The floor sender: the same key material a fanseal sender holds.
struct FloorSender {
    signing: SigningKey,
    recipients: Vec<PublicKey>,
}

/// What the floor seal produces (kept so the optimiser cannot drop work).
struct FloorSealed {
    ephemeral: [u8; 32],
    wraps: Vec<[u8; 48]>,
    body: Vec<u8>,
}

fn hkdf_key_nonce(salt: &[u8], ikm: &[u8], info: &[u8]) -> ([u8; 32], [u8; 12]) {
    let hk = Hkdf::<Sha256>::new(Some(salt), ikm);
    let mut okm = [0u8; 44];
    hk.expand(info, &mut okm).unwrap();
    let mut key = [0u8; 32];
    let mut nonce = [0u8; 12];
    key.copy_from_slice(&okm[..32]);
    nonce.copy_from_slice(&okm[32..]);
    (key, nonce)
}

/// The 62-byte message fanseal signs: `u8 len || 29-byte label || 32-byte digest`.
fn signed_message(digest: &[u8]) -> [u8; 62] {
    let mut m = [0u8; 62];
    m[0] = 29;
    m[30..].copy_from_slice(digest);
    m
}

fn floor_seal(s: &FloorSender, payload: &[u8], rng: &mut ChaCha20Rng) -> FloorSealed {
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut secret);
    let mut eph = [0u8; 32];
    rng.fill_bytes(&mut eph);
    let eph = StaticSecret::from(eph);
    let eph_pub = PublicKey::from(&eph);

    let mut wraps = Vec::with_capacity(s.recipients.len());
    for pk in &s.recipients {
        let dh = eph.diffie_hellman(pk);
        let (key, nonce) = hkdf_key_nonce(eph_pub.as_bytes(), dh.as_bytes(), b"wrap");
        let mut w = [0u8; 48];
        w[..32].copy_from_slice(&secret);
        let tag = Aes256Gcm::new(&key.into())
            .encrypt_inout_detached(&Nonce::from(nonce), b"", (&mut w[..32]).into())
            .unwrap();
        w[32..].copy_from_slice(&tag);
        wraps.push(w);
    }

    let (body_key, body_nonce) = hkdf_key_nonce(b"", &secret, b"body");
    let digest = Sha256::digest(payload);
    let signature = s.signing.sign(&signed_message(&digest));
    let mut body = Vec::with_capacity(payload.len() + 64 + 16);
    body.extend_from_slice(payload);
    body.extend_from_slice(&signature.to_bytes());
    let tag = Aes256Gcm::new(&body_key.into())
        .encrypt_inout_detached(&Nonce::from(body_nonce), b"", body.as_mut_slice().into())
        .unwrap();
    body.extend_from_slice(&tag);
    FloorSealed {
        ephemeral: eph_pub.to_bytes(),
        wraps,
        body,
    }
}

/// The floor receiver: its X25519 secret and the sender's Ed25519 key bytes.
struct FloorReceiver {
    x25519: StaticSecret,
    sender_ed25519: [u8; 32],
}

fn floor_open(r: &FloorReceiver, ephemeral: &[u8; 32], wrap: &[u8; 48], body_ct: &[u8]) -> Vec<u8> {
    let dh = r.x25519.diffie_hellman(&PublicKey::from(*ephemeral));
    let (key, nonce) = hkdf_key_nonce(ephemeral, dh.as_bytes(), b"wrap");
    let mut secret = [0u8; 32];
    secret.copy_from_slice(&wrap[..32]);
    let wrap_tag = Tag::try_from(&wrap[32..]).unwrap();
    Aes256Gcm::new(&key.into())
        .decrypt_inout_detached(
            &Nonce::from(nonce),
            b"",
            (&mut secret[..]).into(),
            &wrap_tag,
        )
        .unwrap();

    let (body_key, body_nonce) = hkdf_key_nonce(b"", &secret, b"body");
    let (ct, tag) = body_ct.split_at(body_ct.len() - 16);
    let tag = Tag::try_from(tag).unwrap();
    let mut body = ct.to_vec();
    Aes256Gcm::new(&body_key.into())
        .decrypt_inout_detached(
            &Nonce::from(body_nonce),
            b"",
            body.as_mut_slice().into(),
            &tag,
        )
        .unwrap();
    let payload_len = body.len() - 64;
    let digest = Sha256::digest(&body[..payload_len]);
    let signature = Signature::from_slice(&body[payload_len..]).unwrap();
    VerifyingKey::from_bytes(&r.sender_ed25519)
        .unwrap()
        .verify_strict(&signed_message(&digest), &signature)
        .unwrap();
    body.truncate(payload_len);
    body
}

/// Floor keys for `n` recipients, from a seeded RNG.
fn floor_parties(n: usize) -> (FloorSender, FloorReceiver) {
    let mut rng = common::rng(0xf1);
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    let signing = SigningKey::from_bytes(&seed);
    let mut secrets: Vec<StaticSecret> = (0..n)
        .map(|_| {
            let mut b = [0u8; 32];
            rng.fill_bytes(&mut b);
            StaticSecret::from(b)
        })
        .collect();
    let recipients = secrets.iter().map(PublicKey::from).collect();
    let receiver = FloorReceiver {
        x25519: secrets.pop().unwrap(),
        sender_ed25519: signing.verifying_key().to_bytes(),
    };
    (
        FloorSender {
            signing,
            recipients,
        },
        receiver,
    )
}

/// Body floor of seal: SHA-256 over the payload, one copy into the body
/// buffer, AES-256-GCM over it.
fn body_floor_seal(key: &[u8; 32], nonce: &[u8; 12], payload: &[u8]) -> ([u8; 32], Vec<u8>) {
    let digest: [u8; 32] = Sha256::digest(payload).into();
    let mut body = Vec::with_capacity(payload.len() + 16);
    body.extend_from_slice(payload);
    let tag = Aes256Gcm::new(&(*key).into())
        .encrypt_inout_detached(&Nonce::from(*nonce), b"", body.as_mut_slice().into())
        .unwrap();
    body.extend_from_slice(&tag);
    (digest, body)
}

/// Body floor of open: one copy of the ciphertext, AES-256-GCM decrypt,
/// SHA-256 over the plaintext.
fn body_floor_open(key: &[u8; 32], nonce: &[u8; 12], ct: &[u8], tag: &Tag) -> ([u8; 32], Vec<u8>) {
    let mut body = ct.to_vec();
    Aes256Gcm::new(&(*key).into())
        .decrypt_inout_detached(&Nonce::from(*nonce), b"", body.as_mut_slice().into(), tag)
        .unwrap();
    let digest: [u8; 32] = Sha256::digest(&body).into();
    (digest, body)
}

/// The ciphertext and tag the body floor of open starts from.
fn body_ciphertext(key: &[u8; 32], nonce: &[u8; 12], payload: &[u8]) -> (Vec<u8>, Tag) {
    let mut ct = payload.to_vec();
    let tag = Aes256Gcm::new(&(*key).into())
        .encrypt_inout_detached(&Nonce::from(*nonce), b"", ct.as_mut_slice().into())
        .unwrap();
    (ct, tag)
}

// ------------------------------------------------------------------ benches

/// seal / open and their floors over payload size, one recipient device.
fn by_size<M: Measurement>(c: &mut Criterion<M>) {
    let fixture = Fixture::new(1);
    let device = fixture.last_device();
    let directory = fixture.directory();
    let (fs, fr) = floor_parties(1);

    let mut g = c.benchmark_group("seal_size");
    g.sample_size(20);
    for &len in &SIZES {
        let payload = common::payload(len);
        g.throughput(Throughput::Bytes(len as u64));
        let mut rng = common::rng(1);
        g.bench_with_input(BenchmarkId::new("fanseal", len), &payload, |b, p| {
            b.iter(|| fixture.seal(black_box(p), Padding::Padme, &mut rng))
        });
        g.bench_with_input(BenchmarkId::new("floor", len), &payload, |b, p| {
            b.iter(|| floor_seal(&fs, black_box(p), &mut rng))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("open_size");
    g.sample_size(20);
    for &len in &SIZES {
        let payload = common::payload(len);
        g.throughput(Throughput::Bytes(len as u64));
        let mut rng = common::rng(2);
        let wire = fixture
            .seal(&payload, Padding::Padme, &mut rng)
            .delivery_for(&device.key_id())
            .unwrap()
            .to_bytes();
        assert_eq!(fixture.open(device, &wire, &directory).payload(), payload);
        g.bench_with_input(BenchmarkId::new("fanseal", len), &wire, |b, w| {
            b.iter(|| fixture.open(device, black_box(w), &directory))
        });
        let sealed = floor_seal(&fs, &payload, &mut rng);
        assert_eq!(
            floor_open(&fr, &sealed.ephemeral, &sealed.wraps[0], &sealed.body),
            payload
        );
        g.bench_with_input(BenchmarkId::new("floor", len), &sealed, |b, s| {
            b.iter(|| floor_open(&fr, &s.ephemeral, &s.wraps[0], black_box(&s.body)))
        });
    }
    g.finish();
}

/// The bulk work alone at 1 MiB: fanseal with and without Padmé against
/// copy + SHA-256 + AES-256-GCM over the same bytes.
fn body<M: Measurement>(c: &mut Criterion<M>) {
    let fixture = Fixture::new(1);
    let device = fixture.last_device();
    let directory = fixture.directory();
    let len = 1024 * 1024;
    let payload = common::payload(len);
    let mut rng = common::rng(3);
    let key = [7u8; 32];
    let nonce = [9u8; 12];

    let mut g = c.benchmark_group("body_1MiB");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(len as u64));
    g.bench_function("seal_fanseal_padme", |b| {
        b.iter(|| fixture.seal(black_box(&payload), Padding::Padme, &mut rng))
    });
    g.bench_function("seal_fanseal_unpadded", |b| {
        b.iter(|| fixture.seal(black_box(&payload), Padding::None, &mut rng))
    });
    g.bench_function("seal_floor", |b| {
        b.iter(|| body_floor_seal(&key, &nonce, black_box(&payload)))
    });
    for (name, padding) in [
        ("open_fanseal_padme", Padding::Padme),
        ("open_fanseal_unpadded", Padding::None),
    ] {
        let wire = fixture
            .seal(&payload, padding, &mut rng)
            .delivery_for(&device.key_id())
            .unwrap()
            .to_bytes();
        g.bench_function(name, |b| {
            b.iter(|| fixture.open(device, black_box(&wire), &directory))
        });
    }
    let (ct, tag) = body_ciphertext(&key, &nonce, &payload);
    g.bench_function("open_floor", |b| {
        b.iter(|| body_floor_open(&key, &nonce, black_box(&ct), &tag))
    });
    g.finish();
}

/// seal / open and their floors over device count, 1 KiB payload.
fn by_devices<M: Measurement>(c: &mut Criterion<M>) {
    let payload = common::payload(FANOUT_PAYLOAD);
    let mut seal_g = c.benchmark_group("seal_devices");
    seal_g.sample_size(20);
    seal_g.sampling_mode(SamplingMode::Flat);
    let fixtures: Vec<(usize, Fixture)> = DEVICE_COUNTS
        .iter()
        .map(|&n| (n, Fixture::new(n)))
        .collect();
    for (n, fixture) in &fixtures {
        let n = *n;
        seal_g.throughput(Throughput::Elements(n as u64));
        let mut rng = common::rng(4);
        let env = fixture.seal(&payload, Padding::Padme, &mut rng);
        assert_eq!(env.header().recipients().len(), n);
        seal_g.bench_with_input(BenchmarkId::new("fanseal", n), &payload, |b, p| {
            b.iter(|| fixture.seal(black_box(p), Padding::Padme, &mut rng))
        });
        let (fs, _) = floor_parties(n);
        seal_g.bench_with_input(BenchmarkId::new("floor", n), &payload, |b, p| {
            b.iter(|| floor_seal(&fs, black_box(p), &mut rng))
        });
    }
    seal_g.finish();

    let mut open_g = c.benchmark_group("open_devices");
    open_g.sample_size(20);
    for (n, fixture) in &fixtures {
        let n = *n;
        open_g.throughput(Throughput::Elements(1));
        let mut rng = common::rng(5);
        let env = fixture.seal(&payload, Padding::Padme, &mut rng);
        let device = fixture.last_device();
        let directory = fixture.directory();
        let envelope = env.to_bytes();
        let delivery = env.delivery_for(&device.key_id()).unwrap().to_bytes();
        assert_eq!(
            fixture.open(device, &delivery, &directory).payload(),
            payload
        );
        open_g.bench_with_input(
            BenchmarkId::new("fanseal_delivery", n),
            &delivery,
            |b, w| b.iter(|| fixture.open(device, black_box(w), &directory)),
        );
        open_g.bench_with_input(
            BenchmarkId::new("fanseal_envelope", n),
            &envelope,
            |b, w| b.iter(|| fixture.open(device, black_box(w), &directory)),
        );
        let (fs, fr) = floor_parties(n);
        let sealed = floor_seal(&fs, &payload, &mut rng);
        let last = sealed.wraps.last().unwrap();
        assert_eq!(
            floor_open(&fr, &sealed.ephemeral, last, &sealed.body),
            payload
        );
        open_g.bench_with_input(BenchmarkId::new("floor", n), &sealed, |b, s| {
            b.iter(|| floor_open(&fr, &s.ephemeral, last, black_box(&s.body)))
        });
    }
    open_g.finish();
}

/// Envelope encode / decode and the relay's per-device split, 1 KiB payload.
fn codec<M: Measurement>(c: &mut Criterion<M>) {
    let payload = common::payload(FANOUT_PAYLOAD);
    let mut g = c.benchmark_group("codec");
    g.sample_size(20);
    for &n in &DEVICE_COUNTS {
        let fixture = Fixture::new(n);
        let mut rng = common::rng(6);
        let env = fixture.seal(&payload, Padding::Padme, &mut rng);
        let wire = env.to_bytes();
        g.throughput(Throughput::Bytes(wire.len() as u64));
        g.bench_with_input(BenchmarkId::new("encode", n), &env, |b, e| {
            b.iter(|| black_box(e).to_bytes())
        });
        g.bench_with_input(BenchmarkId::new("decode", n), &wire, |b, w| {
            b.iter(|| Envelope::from_bytes(black_box(w)).unwrap())
        });
        let device = fixture.last_device();
        let delivery = env.delivery_for(&device.key_id()).unwrap();
        let delivery_wire = delivery.to_bytes();
        g.bench_with_input(BenchmarkId::new("delivery_encode", n), &delivery, |b, d| {
            b.iter(|| black_box(d).to_bytes())
        });
        g.bench_with_input(
            BenchmarkId::new("delivery_decode", n),
            &delivery_wire,
            |b, w| b.iter(|| fanseal::Delivery::from_bytes(black_box(w)).unwrap()),
        );
    }
    g.finish();

    // What a relay does with one uploaded envelope: decode it and produce
    // every device's delivery bytes.
    let mut g = c.benchmark_group("split");
    g.sample_size(20);
    for &n in &DEVICE_COUNTS {
        let fixture = Fixture::new(n);
        let mut rng = common::rng(7);
        let wire = fixture.seal(&payload, Padding::Padme, &mut rng).to_bytes();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("all_deliveries", n), &wire, |b, w| {
            b.iter(|| {
                let env = Envelope::from_bytes(black_box(w)).unwrap();
                env.deliveries()
                    .map(|(_, d)| d.to_bytes())
                    .collect::<Vec<_>>()
            })
        });
        let env = Envelope::from_bytes(&wire).unwrap();
        let key_id = fixture.last_device().key_id();
        g.bench_with_input(BenchmarkId::new("one_delivery", n), &env, |b, e| {
            b.iter(|| black_box(e).delivery_for(&key_id).unwrap().to_bytes())
        });
    }
    // Issue 13, situation 6: the borrowed split at 200 devices, 1 KiB and
    // 1 MiB bodies (what a server hands to vectored I/O: no copy).
    let fixture = Fixture::new(200);
    for len in [1024usize, 1024 * 1024] {
        let body = common::payload(len);
        let mut rng = common::rng(8);
        let wire = fixture.seal(&body, Padding::Padme, &mut rng).to_bytes();
        g.throughput(Throughput::Elements(200));
        g.bench_with_input(
            BenchmarkId::new(format!("relay_split_200_devices_{len}B"), 200),
            &wire,
            |b, w| {
                b.iter(|| {
                    let split = fanseal::RelaySplit::new(black_box(w)).unwrap();
                    split
                        .deliveries()
                        .map(|(_, d)| {
                            d.as_slices()
                                .iter()
                                .map(|p| black_box(p).len())
                                .sum::<usize>()
                        })
                        .sum::<usize>()
                })
            },
        );
    }
    g.finish();
}

/// Device-list decode + verification (one account signature and one
/// certificate signature per device, all strict).
fn device_lists<M: Measurement>(c: &mut Criterion<M>) {
    let mut g = c.benchmark_group("device_list_verify");
    g.sample_size(10);
    for n in [2usize, 16, 128] {
        let mut rng = common::rng(8);
        let (account, _, list) = common::account_with_list(n, &mut rng);
        let bytes = list.to_bytes();
        let public = account.public_key();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &bytes, |b, bytes| {
            b.iter(|| {
                DeviceList::from_bytes(black_box(bytes))
                    .unwrap()
                    .verify(&public)
                    .unwrap()
            })
        });
    }
    g.finish();
}

/// The anchor primitives of the issue (X25519 DH, Ed25519 sign, strict
/// verify) and fanseal's per-device unit of work, measured in the same run.
fn primitives<M: Measurement>(c: &mut Criterion<M>) {
    let (fs, fr) = floor_parties(1);
    let peer = fs.recipients[0];
    let msg = signed_message(&[3u8; 32]);
    let sig = fs.signing.sign(&msg);
    let vk = fs.signing.verifying_key().to_bytes();
    let mut g = c.benchmark_group("primitives");
    g.bench_function("x25519_dh", |b| {
        b.iter(|| fr.x25519.diffie_hellman(black_box(&peer)))
    });
    g.bench_function("x25519_keygen", |b| {
        b.iter_batched(
            || {
                let mut s = [0u8; 32];
                common::rng(9).fill_bytes(&mut s);
                StaticSecret::from(s)
            },
            |s| PublicKey::from(&s),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("ed25519_sign_62B", |b| {
        b.iter(|| fs.signing.sign(black_box(&msg)))
    });
    g.bench_function("ed25519_verify_strict_62B", |b| {
        b.iter(|| {
            VerifyingKey::from_bytes(black_box(&vk))
                .unwrap()
                .verify_strict(&msg, &sig)
                .unwrap()
        })
    });
    // Signing a SHA-256 digest (fanseal) versus letting Ed25519 hash the
    // whole payload (SHA-512, twice: once for the nonce, once for the
    // challenge): the bulk hash cost per MiB of each choice.
    let mib = common::payload(1024 * 1024);
    g.throughput(Throughput::Bytes(mib.len() as u64));
    g.bench_function("sha256_1MiB", |b| {
        b.iter(|| Sha256::digest(black_box(&mib)))
    });
    g.bench_function("sha512_1MiB", |b| {
        b.iter(|| sha2::Sha512::digest(black_box(&mib)))
    });
    g.bench_function("ed25519_sign_1MiB", |b| {
        b.iter(|| fs.signing.sign(black_box(&mib)))
    });
    g.finish();
}

/// Interleaved A/B ratios for the issue's targets (see `common::Paired`).
fn paired<M: Measurement>(_: &mut Criterion<M>) {
    let Some(mut p) = common::Paired::new() else {
        return;
    };
    let kib = common::payload(FANOUT_PAYLOAD);
    let mut rng = common::rng(10);
    let mut rng2 = common::rng(11);
    let one = Fixture::new(1);
    let many = Fixture::new(512);
    for n in [1usize, 8, 64] {
        let f = Fixture::new(n);
        let (fs, _) = floor_parties(n);
        p.compare(
            &format!("seal 1 KiB, N = {n}: fanseal vs floor"),
            || f.seal(&kib, Padding::Padme, &mut rng),
            || floor_seal(&fs, &kib, &mut rng2),
        );
    }
    // Issue 11: sealing to signed prekeys (verified once, when fetched)
    // costs what sealing to certificate keys costs.
    for n in [1usize, 64, 512] {
        let f = Fixture::new(n);
        p.compare(
            &format!("seal 1 KiB, N = {n}: to prekeys vs to certificate keys"),
            || f.seal_to_prekeys(&kib, Padding::Padme, &mut rng),
            || f.seal(&kib, Padding::Padme, &mut rng2),
        );
    }
    // Issue 12: the hybrid suite against its X-Wing floor (per-device work
    // dominates from N = 8 on), and against the classical suite.
    for n in [1usize, 8, 64] {
        let f = Fixture::new_hybrid(n);
        let hs = hybrid_floor_parties(n);
        p.compare(
            &format!("seal 1 KiB hybrid, N = {n}: fanseal vs X-Wing floor"),
            || f.seal_to_prekeys(&kib, Padding::Padme, &mut rng),
            || hybrid_floor_seal(&hs, &kib, &mut rng2),
        );
    }
    {
        let h = Fixture::new_hybrid(64);
        let c = Fixture::new(64);
        p.compare(
            "seal 1 KiB, N = 64: hybrid vs classical (both to prekeys)",
            || h.seal_to_prekeys(&kib, Padding::Padme, &mut rng),
            || c.seal_to_prekeys(&kib, Padding::Padme, &mut rng2),
        );
    }
    let delivery = |f: &Fixture, rng: &mut ChaCha20Rng| {
        f.seal(&kib, Padding::Padme, rng)
            .delivery_for(&f.last_device().key_id())
            .unwrap()
            .to_bytes()
    };
    let (d1, d512) = (delivery(&one, &mut rng), delivery(&many, &mut rng));
    let e512 = many.seal(&kib, Padding::Padme, &mut rng).to_bytes();
    let (dir1, dir512) = (one.directory(), many.directory());
    let (dev1, dev512) = (one.last_device(), many.last_device());
    let (fs, fr) = floor_parties(1);
    let sealed = floor_seal(&fs, &kib, &mut rng);
    let floor_open_1k = || floor_open(&fr, &sealed.ephemeral, &sealed.wraps[0], &sealed.body);
    p.compare(
        "open 1 KiB delivery, N = 1: fanseal vs floor",
        || one.open(dev1, &d1, &dir1),
        floor_open_1k,
    );
    p.compare(
        "open 1 KiB delivery, N = 512: fanseal vs floor",
        || many.open(dev512, &d512, &dir512),
        floor_open_1k,
    );
    p.compare(
        "open 1 KiB delivery: N = 512 vs N = 1",
        || many.open(dev512, &d512, &dir512),
        || one.open(dev1, &d1, &dir1),
    );
    p.compare(
        "open 1 KiB: whole envelope N = 512 vs delivery N = 1",
        || many.open(dev512, &e512, &dir512),
        || one.open(dev1, &d1, &dir1),
    );

    // Issue 10, fault 5: an update whose intermediates are 255 copies of
    // the trusted 256-device list costs what the update alone costs (each
    // copy is one hash comparison; wire v1 verified each in full).
    {
        let mut lrng = common::rng(12);
        let (account, _, v1) = common::account_with_list(256, &mut lrng);
        let trusted = v1.verify(&account.public_key()).unwrap();
        let v2 = account
            .issue_device_list(Some(&trusted), 1, v1.certificates()[1..].to_vec())
            .unwrap();
        let copies = vec![v1.clone(); 255];
        p.compare(
            "update 256 devices: 255 copies of the trusted list + next vs next alone",
            || trusted.update(&copies, &v2).unwrap(),
            || trusted.update(&[], &v2).unwrap(),
        );
    }

    let mib = common::payload(1024 * 1024);
    let (key, nonce) = ([7u8; 32], [9u8; 12]);
    let (ct, tag) = body_ciphertext(&key, &nonce, &mib);
    for (name, padding) in [("Padmé", Padding::Padme), ("unpadded", Padding::None)] {
        p.compare(
            &format!("seal 1 MiB {name}, N = 1: fanseal vs body floor"),
            || one.seal(&mib, padding, &mut rng),
            || body_floor_seal(&key, &nonce, &mib),
        );
        let wire = one
            .seal(&mib, padding, &mut rng)
            .delivery_for(&dev1.key_id())
            .unwrap()
            .to_bytes();
        p.compare(
            &format!("open 1 MiB {name}: fanseal vs body floor"),
            || one.open(dev1, &wire, &dir1),
            || body_floor_open(&key, &nonce, &ct, &tag),
        );
    }
    p.finish("fanseal");
}

// ------------------------------------------------------------------ X-Wing floor

/// RFC 9180 `LabeledExtract` / `LabeledExpand` with HKDF-SHA256 for the
/// X-Wing suite `HPKE || 0x647a || 0x0001 || 0x0002` (floor code, written
/// against the RFC, not against fanseal's).
const XWING_SUITE: &[u8] = b"HPKE\x64\x7a\x00\x01\x00\x02";

fn xwing_labeled_extract(salt: &[u8], label: &[u8], ikm: &[u8]) -> [u8; 32] {
    let mut ext = hkdf::HkdfExtract::<Sha256>::new(Some(salt));
    for part in [&b"HPKE-v1"[..], XWING_SUITE, label, ikm] {
        ext.input_ikm(part);
    }
    let (prk, _) = ext.finalize();
    prk.into()
}

fn xwing_labeled_expand(prk: &[u8; 32], label: &[u8], ctx: &[u8], out: &mut [u8]) {
    let len = (out.len() as u16).to_be_bytes();
    Hkdf::<Sha256>::from_prk(prk)
        .unwrap()
        .expand_multi_info(&[&len, b"HPKE-v1", XWING_SUITE, label, ctx], out)
        .unwrap();
}

/// `mode || psk_id_hash || info_hash`: once per envelope.
fn xwing_key_schedule_context(info: &[u8]) -> [u8; 65] {
    let mut ksc = [0u8; 65];
    ksc[1..33].copy_from_slice(&xwing_labeled_extract(b"", b"psk_id_hash", b""));
    ksc[33..].copy_from_slice(&xwing_labeled_extract(b"", b"info_hash", info));
    ksc
}

/// Per device: `secret`, `key`, `base_nonce` (RFC 9180 §5.1).
fn xwing_key_schedule(ss: &[u8], ksc: &[u8; 65]) -> ([u8; 32], [u8; 12]) {
    let secret = xwing_labeled_extract(ss, b"secret", b"");
    let mut key = [0u8; 32];
    let mut nonce = [0u8; 12];
    xwing_labeled_expand(&secret, b"key", ksc, &mut key);
    xwing_labeled_expand(&secret, b"base_nonce", ksc, &mut nonce);
    (key, nonce)
}

/// The X-Wing floor of one device's hybrid wrap, straight from the crates
/// (x-wing, hkdf, aes-gcm). Sender: 64 bytes from the RNG, the public key
/// parsed, X-Wing encapsulation, the key schedule and a 32-byte AES-256-GCM
/// seal. Receiver: X-Wing decapsulation (the x-wing crate re-expands the
/// ML-KEM and X25519 keys from the seed on every call), the key schedule and
/// the open. The key-schedule context is per envelope, outside the loop.
/// Compare with `primitives/x25519_dh` and the classical floors for the
/// per-device cost of the hybrid.
fn xwing<M: Measurement>(c: &mut Criterion<M>) {
    use x_wing::{DecapsulationKeyRejectNonContrib, KeyExport, KeyInit, TryDecapsulate};
    let mut rng = common::rng(21);
    let sk = DecapsulationKeyRejectNonContrib::new(&[0x5au8; 32].into());
    let pk_bytes = x_wing::Decapsulator::encapsulation_key(&sk).to_bytes();
    let ksc = xwing_key_schedule_context(b"\x0ffanseal v2 wrap0123456789abcdef0123456789abcdef");
    let binding = [0x42u8; 32];
    let ms = [0x24u8; 32];

    let seal = |rng: &mut ChaCha20Rng| {
        // The recipient's key arrives as bytes: parse (ML-KEM modulus check).
        let pk = <x_wing::EncapsulationKey as x_wing::TryKeyInit>::new(&pk_bytes).unwrap();
        let mut eseed = [0u8; 64];
        rng.fill_bytes(&mut eseed);
        let (ct, ss) = pk.encapsulate_deterministic(&eseed.into());
        let (key, nonce) = xwing_key_schedule(&ss, &ksc);
        let mut wrap = ms;
        let tag = Aes256Gcm::new(&key.into())
            .encrypt_inout_detached(&Nonce::from(nonce), &binding, (&mut wrap[..]).into())
            .unwrap();
        (ct, wrap, tag)
    };
    let (ct, wrap, tag) = seal(&mut rng);

    let mut g = c.benchmark_group("xwing");
    g.throughput(Throughput::Elements(1));
    g.bench_function("floor_seal_per_device", |b| b.iter(|| seal(&mut rng)));
    g.bench_function("floor_open_per_device", |b| {
        b.iter(|| {
            let ss = sk.try_decapsulate(black_box(&ct)).unwrap();
            let (key, nonce) = xwing_key_schedule(&ss, &ksc);
            let mut out = wrap;
            Aes256Gcm::new(&key.into())
                .decrypt_inout_detached(&Nonce::from(nonce), &binding, (&mut out[..]).into(), &tag)
                .unwrap();
            out
        })
    });
    g.bench_function("encapsulate", |b| {
        let pk = <x_wing::EncapsulationKey as x_wing::TryKeyInit>::new(&pk_bytes).unwrap();
        b.iter(|| pk.encapsulate_deterministic(black_box(&[7u8; 64].into())))
    });
    g.bench_function("decapsulate", |b| {
        b.iter(|| sk.try_decapsulate(black_box(&ct)).unwrap())
    });
    g.finish();
}

/// The X-Wing floor of a whole hybrid envelope (SPEC.md §4.10): per device
/// what `xwing/floor_seal_per_device` measures (64 bytes from the RNG, the
/// public key parsed, X-Wing encapsulation, the RFC 9180 key schedule, a
/// 32-byte AES-256-GCM seal), plus what every envelope costs once (the
/// message secret, the key-schedule context, the body key, SHA-256 of the
/// payload, one Ed25519 signature and one AES-256-GCM over the body).
struct HybridFloorSender {
    signing: SigningKey,
    recipients: Vec<[u8; 1216]>,
}

fn hybrid_floor_parties(n: usize) -> HybridFloorSender {
    use x_wing::{DecapsulationKeyRejectNonContrib, KeyExport, KeyInit};
    let mut rng = common::rng(0xf2);
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    let recipients = (0..n)
        .map(|_| {
            let mut s = [0u8; 32];
            rng.fill_bytes(&mut s);
            let sk = DecapsulationKeyRejectNonContrib::new(&s.into());
            x_wing::Decapsulator::encapsulation_key(&sk).to_bytes().0
        })
        .collect();
    HybridFloorSender {
        signing: SigningKey::from_bytes(&seed),
        recipients,
    }
}

fn hybrid_floor_seal(s: &HybridFloorSender, payload: &[u8], rng: &mut ChaCha20Rng) -> FloorSealed {
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut secret);
    let ksc = xwing_key_schedule_context(b"\x0ffanseal v2 wrap0123456789abcdef0123456789abcdef");
    let mut wraps = Vec::with_capacity(s.recipients.len());
    for pk_bytes in &s.recipients {
        let pk = <x_wing::EncapsulationKey as x_wing::TryKeyInit>::new(pk_bytes.into()).unwrap();
        let mut eseed = [0u8; 64];
        rng.fill_bytes(&mut eseed);
        let (ct, ss) = pk.encapsulate_deterministic(&eseed.into());
        let (key, nonce) = xwing_key_schedule(&ss, &ksc);
        let mut w = [0u8; 48];
        w[..32].copy_from_slice(&secret);
        let tag = Aes256Gcm::new(&key.into())
            .encrypt_inout_detached(&Nonce::from(nonce), b"", (&mut w[..32]).into())
            .unwrap();
        w[32..].copy_from_slice(&tag);
        black_box(&ct);
        wraps.push(w);
    }
    let (body_key, body_nonce) = hkdf_key_nonce(b"", &secret, b"body");
    let digest = Sha256::digest(payload);
    let signature = s.signing.sign(&signed_message(&digest));
    let mut body = Vec::with_capacity(payload.len() + 64 + 16);
    body.extend_from_slice(payload);
    body.extend_from_slice(&signature.to_bytes());
    let tag = Aes256Gcm::new(&body_key.into())
        .encrypt_inout_detached(&Nonce::from(body_nonce), b"", body.as_mut_slice().into())
        .unwrap();
    body.extend_from_slice(&tag);
    FloorSealed {
        ephemeral: [0; 32],
        wraps,
        body,
    }
}

/// Issue 12: sealing with the hybrid suite against its X-Wing floor and
/// against the classical suite, by device count (1 KiB payload).
fn hybrid<M: Measurement>(c: &mut Criterion<M>) {
    let payload = common::payload(FANOUT_PAYLOAD);
    let mut g = c.benchmark_group("seal_devices_hybrid");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    for n in [1usize, 8, 64] {
        let f = Fixture::new_hybrid(n);
        let mut rng = common::rng(6);
        let env = f.seal_to_prekeys(&payload, Padding::Padme, &mut rng);
        assert_eq!(env.header().suite(), fanseal::Suite::Hybrid);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("fanseal_hybrid", n), &payload, |b, p| {
            b.iter(|| f.seal_to_prekeys(black_box(p), Padding::Padme, &mut rng))
        });
        let hs = hybrid_floor_parties(n);
        g.bench_with_input(BenchmarkId::new("xwing_floor", n), &payload, |b, p| {
            b.iter(|| hybrid_floor_seal(&hs, black_box(p), &mut rng))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("open_hybrid");
    g.sample_size(20);
    let f = Fixture::new_hybrid(8);
    let mut rng = common::rng(7);
    let env = f.seal_to_prekeys(&payload, Padding::Padme, &mut rng);
    let device = f.last_device();
    let id = device.current_hybrid_prekey(common::NOW).unwrap().key_id();
    let delivery = env.delivery_for(&id).unwrap().to_bytes();
    let directory = f.directory();
    assert_eq!(
        f.open(device, &delivery, &directory).suite(),
        fanseal::Suite::Hybrid
    );
    g.bench_function("fanseal_delivery_N8", |b| {
        b.iter(|| f.open(device, black_box(&delivery), &directory))
    });
    g.finish();
}

bench_main!(
    primitives,
    xwing,
    hybrid,
    by_size,
    body,
    by_devices,
    codec,
    device_lists,
    paired
);
