//! Attachment benchmarks (issue 15): streaming Cobblestone-256 encryption and
//! decryption of 1 MiB and 1 GiB against the raw AES-256-GCM floor over the
//! same bytes, and random access to one chunk of a 1 MiB and a 1 GiB file.
//!
//! * floor: AES-256-GCM (the `aes-gcm` crate fanseal uses) sealing or
//!   opening 16 KiB chunks in place, one per C2SP chunk, over the same
//!   number of bytes: the bulk work any chunked scheme must do. The open
//!   floor reads real sealed chunks from a buffer of the same size as the
//!   file (memory traffic included) and copies each into a work buffer, as
//!   an in-place open of received bytes must. fanseal adds the key
//!   derivation, the copy into the caller's output and the framing.
//! * sealer: the fanseal-level [`AttachmentSealer`], which also hashes the
//!   ciphertext with SHA-256 for the reference.
//! * paired: interleaved A/B ratios on 64 MiB streams (`common::Paired`).
//!
//! Peak memory is measured by `cargo bench -p fanseal-peers --bench
//! attachment_alloc` (a counting global allocator needs `unsafe`, which
//! this crate forbids). Run: `cargo bench --bench attachment` (see
//! BENCHMARKS.md); `FANSEAL_BENCH_BIG=0` skips the 1 GiB cases.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::hint::black_box;
use std::time::Duration;

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use criterion::measurement::Measurement;
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use fanseal::attachment::{
    AttachmentKey, AttachmentSealer, Decryptor, Encryptor, SeekableDecryptor, CHUNK, HEADER, TAG,
};

const MIB: usize = 1024 * 1024;
const GIB: usize = 1024 * MIB;
/// The slice size the caller pushes (a typical read size).
const PIECE: usize = 64 * 1024;
const CTX: &[u8] = b"bench";

fn sizes() -> Vec<usize> {
    let test = std::env::args().any(|a| a == "--test");
    if test || std::env::var("FANSEAL_BENCH_BIG").as_deref() == Ok("0") {
        vec![MIB]
    } else {
        vec![MIB, GIB]
    }
}

fn key() -> AttachmentKey {
    AttachmentKey::from_bytes([7; 32])
}

/// Encrypts `total` bytes, pushing the same `PIECE`-sized buffer repeatedly
/// and draining the output after every call (constant memory).
fn stream_encrypt(piece: &[u8], total: usize) -> u64 {
    let mut enc = Encryptor::with_salt(&key(), [1; 24], CTX).unwrap();
    let mut out = Vec::with_capacity(PIECE + 4 * (CHUNK + TAG));
    let mut sum = 0u64;
    for _ in 0..total / piece.len() {
        enc.update(piece, &mut out).unwrap();
        sum = sum.wrapping_add(u64::from(*out.last().unwrap_or(&0)));
        out.clear();
    }
    enc.finish(&mut out).unwrap() + sum
}

fn stream_seal(piece: &[u8], total: usize) -> u64 {
    let mut rng = common::rng(3);
    let mut sealer = AttachmentSealer::new(&mut rng, b"bench").unwrap();
    let mut out = Vec::with_capacity(PIECE + 4 * (CHUNK + TAG));
    for _ in 0..total / piece.len() {
        sealer.update(piece, &mut out).unwrap();
        out.clear();
    }
    sealer.finish(&mut out).unwrap().ciphertext_len()
}

/// The whole ciphertext of `total` bytes of the repeated piece.
fn ciphertext(piece: &[u8], total: usize) -> Vec<u8> {
    let mut enc = Encryptor::with_salt(&key(), [1; 24], CTX).unwrap();
    let mut out = Vec::with_capacity(total + total / 1000 + 1024);
    for _ in 0..total / piece.len() {
        enc.update(piece, &mut out).unwrap();
    }
    enc.finish(&mut out).unwrap();
    out
}

fn stream_decrypt(ct: &[u8]) -> u64 {
    let mut dec = Decryptor::new(&key(), CTX).unwrap();
    let mut out = Vec::with_capacity(PIECE + 4 * CHUNK);
    let mut sum = 0u64;
    for piece in ct.chunks(PIECE) {
        dec.update(piece, &mut out).unwrap();
        sum = sum.wrapping_add(u64::from(*out.last().unwrap_or(&0)));
        out.clear();
    }
    dec.finish(&mut out).unwrap() + sum
}

/// Floor: AES-256-GCM seal of `total` bytes as 16 KiB chunks in place.
fn floor_seal(cipher: &Aes256Gcm, buf: &mut [u8], total: usize) -> u8 {
    let mut acc = 0u8;
    for i in 0..total / CHUNK {
        let mut nonce = [3u8; 12];
        nonce[4..].copy_from_slice(&(i as u64).to_be_bytes());
        let tag = cipher
            .encrypt_inout_detached(&Nonce::from(nonce), &[], (&mut buf[..CHUNK]).into())
            .unwrap();
        acc ^= tag[0];
    }
    acc
}

/// Floor: AES-256-GCM open of `total` bytes of real sealed 16 KiB chunks
/// read from memory (as the decryptor reads its ciphertext), each copied
/// into a work buffer and opened in place.
fn floor_open(cipher: &Aes256Gcm, sealed: &[u8], work: &mut [u8]) -> u8 {
    let mut acc = 0u8;
    for (i, chunk) in sealed.chunks(CHUNK + TAG).enumerate() {
        let (body, tag) = chunk.split_at(CHUNK);
        work[..CHUNK].copy_from_slice(body);
        let mut nonce = [3u8; 12];
        nonce[4..].copy_from_slice(&(i as u64).to_be_bytes());
        cipher
            .decrypt_inout_detached(
                &Nonce::from(nonce),
                &[],
                (&mut work[..CHUNK]).into(),
                &Tag::try_from(tag).unwrap(),
            )
            .unwrap();
        acc ^= work[0];
    }
    acc
}

/// The floor's input: `total` bytes as sealed 16 KiB chunks, in memory.
fn floor_ciphertext(cipher: &Aes256Gcm, total: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(total + total / CHUNK * TAG);
    let body = common::payload(CHUNK);
    for i in 0..total / CHUNK {
        let start = out.len();
        out.extend_from_slice(&body);
        let mut nonce = [3u8; 12];
        nonce[4..].copy_from_slice(&(i as u64).to_be_bytes());
        let tag = cipher
            .encrypt_inout_detached(&Nonce::from(nonce), &[], (&mut out[start..]).into())
            .unwrap();
        out.extend_from_slice(&tag);
    }
    out
}

fn streaming<M: Measurement>(c: &mut Criterion<M>) {
    let piece = common::payload(PIECE);
    let cipher = Aes256Gcm::new(&[9u8; 32].into());
    let mut g = c.benchmark_group("attachment/stream");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .sampling_mode(SamplingMode::Flat);
    for total in sizes() {
        let label = if total == GIB { "1 GiB" } else { "1 MiB" };
        g.throughput(Throughput::Bytes(total as u64));
        g.measurement_time(Duration::from_secs(if total == GIB { 8 } else { 3 }));
        g.bench_with_input(BenchmarkId::new("encrypt", label), &total, |b, &t| {
            b.iter(|| black_box(stream_encrypt(&piece, t)))
        });
        g.bench_with_input(BenchmarkId::new("floor seal", label), &total, |b, &t| {
            let mut buf = common::payload(CHUNK);
            b.iter(|| black_box(floor_seal(&cipher, &mut buf, t)))
        });
        g.bench_with_input(
            BenchmarkId::new("sealer (+SHA-256)", label),
            &total,
            |b, &t| b.iter(|| black_box(stream_seal(&piece, t))),
        );
        let ct = ciphertext(&piece, total);
        g.bench_with_input(BenchmarkId::new("decrypt", label), &ct, |b, ct| {
            b.iter(|| black_box(stream_decrypt(ct)))
        });
        drop(ct);
        let floor_ct = floor_ciphertext(&cipher, total);
        g.bench_with_input(
            BenchmarkId::new("floor open", label),
            &floor_ct,
            |b, fct| {
                let mut work = vec![0u8; CHUNK];
                b.iter(|| black_box(floor_open(&cipher, fct, &mut work)))
            },
        );
    }
    g.finish();
}

fn random_access<M: Measurement>(c: &mut Criterion<M>) {
    let piece = common::payload(PIECE);
    let mut g = c.benchmark_group("attachment/random access");
    g.sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for total in sizes() {
        let label = if total == GIB { "1 GiB" } else { "1 MiB" };
        let ct = ciphertext(&piece, total);
        let header = &ct[..HEADER];
        let mid = (total / 2) as u64;
        // Open the file (derive keys, check the commitment) and read one
        // chunk in the middle: independent of the file size.
        g.bench_with_input(
            BenchmarkId::new("open + read one chunk", label),
            &ct,
            |b, ct| {
                b.iter(|| {
                    let mut seek =
                        SeekableDecryptor::new(&key(), CTX, header, ct.len() as u64).unwrap();
                    let span = seek.ciphertext_range(mid..mid + CHUNK as u64 / 2).unwrap();
                    let mut out = Vec::with_capacity(CHUNK);
                    seek.decrypt_range(
                        mid..mid + CHUNK as u64 / 2,
                        &ct[span.start as usize..span.end as usize],
                        &mut out,
                    )
                    .unwrap();
                    black_box(out.len())
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("authenticate length", label),
            &ct,
            |b, ct| {
                let mut seek =
                    SeekableDecryptor::new(&key(), CTX, header, ct.len() as u64).unwrap();
                let last = seek.chunk_ciphertext_range(seek.chunk_count() - 1).unwrap();
                b.iter(|| {
                    seek.authenticate_length(&ct[last.start as usize..])
                        .unwrap()
                })
            },
        );
    }
    g.finish();
}

fn paired<M: Measurement>(_c: &mut Criterion<M>) {
    let Some(mut p) = common::Paired::new() else {
        return;
    };
    let total = if std::env::args().any(|a| a == "--test") {
        MIB
    } else {
        64 * MIB
    };
    let mib = total / MIB;
    let piece = common::payload(PIECE);
    let cipher = Aes256Gcm::new(&[9u8; 32].into());
    let mut buf = common::payload(CHUNK);
    let mut work = vec![0u8; CHUNK];
    p.compare(
        &format!("encrypt {mib} MiB: fanseal Encryptor vs AES-256-GCM floor"),
        || stream_encrypt(&piece, total),
        || floor_seal(&cipher, &mut buf, total),
    );
    let ct = ciphertext(&piece, total);
    let floor_ct = floor_ciphertext(&cipher, total);
    p.compare(
        &format!("decrypt {mib} MiB: fanseal Decryptor vs AES-256-GCM floor"),
        || stream_decrypt(&ct),
        || floor_open(&cipher, &floor_ct, &mut work),
    );
    let mut buf = common::payload(CHUNK);
    p.compare(
        &format!("seal {mib} MiB: AttachmentSealer (+SHA-256) vs AES-256-GCM floor"),
        || stream_seal(&piece, total),
        || floor_seal(&cipher, &mut buf, total),
    );
    p.finish("attachment");
}

bench_main!(streaming, random_access, paired);
