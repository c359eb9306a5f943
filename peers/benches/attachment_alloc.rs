//! Peak heap of fanseal's attachment streaming (issue 15): a counting global
//! allocator (the one of `alloc.rs`) wraps the system allocator while 1 GiB
//! streams through the Encryptor, the Decryptor, the AttachmentSealer and
//! AttachmentOpener, pushed in 64 KiB slices with the caller's output drained
//! after every call, as an application streaming between files would. The
//! ciphertext is never held whole: each encryptor's output is piped straight
//! into the decryptor, so the peak counts both sides together.
//!
//! `cargo bench -p fanseal-peers --bench attachment_alloc` prints the table
//! and asserts the target: peak live bytes at most 1 MiB whatever the size
//! (`FANSEAL_BENCH_BIG=0` streams 64 MiB instead of 1 GiB; `--test` mode
//! streams 1 MiB).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use fanseal::attachment::{AttachmentKey, AttachmentSealer, Decryptor, Encryptor, CHUNK};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// Counts live bytes, their peak, allocations and bytes allocated.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static COUNT: AtomicUsize = AtomicUsize::new(0);
static TOTAL: AtomicUsize = AtomicUsize::new(0);

fn record(size: usize) {
    COUNT.fetch_add(1, Relaxed);
    TOTAL.fetch_add(size, Relaxed);
    let now = CURRENT.fetch_add(size, Relaxed) + size;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; the counters are plain atomics and never touch the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract of `GlobalAlloc::alloc`.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            record(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract of `GlobalAlloc::alloc_zeroed`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            record(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract of `GlobalAlloc::dealloc`.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded contract of `GlobalAlloc::realloc`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            CURRENT.fetch_sub(layout.size(), Relaxed);
            record(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

struct Stats {
    peak: usize,
    count: usize,
    total: usize,
}

fn measure<T>(f: impl FnOnce() -> T) -> (T, Stats) {
    let base = CURRENT.load(Relaxed);
    PEAK.store(base, Relaxed);
    COUNT.store(0, Relaxed);
    TOTAL.store(0, Relaxed);
    let out = black_box(f());
    let stats = Stats {
        peak: PEAK.load(Relaxed) - base,
        count: COUNT.load(Relaxed),
        total: TOTAL.load(Relaxed),
    };
    (out, stats)
}

const PIECE: usize = 64 * 1024;

/// Encrypt `total` bytes and decrypt them on the fly: returns the plaintext
/// length the decryptor authenticated.
fn pipe_raw(total: usize) -> u64 {
    let key = AttachmentKey::from_bytes([7; 32]);
    let piece: Vec<u8> = (0..PIECE).map(|i| (i % 251) as u8).collect();
    let mut enc = Encryptor::with_salt(&key, [1; 24], b"ctx").unwrap();
    let mut dec = Decryptor::new(&key, b"ctx").unwrap();
    let mut ct = Vec::with_capacity(PIECE + 1024);
    let mut pt = Vec::with_capacity(PIECE + 2 * CHUNK);
    for _ in 0..total / PIECE {
        enc.update(&piece, &mut ct).unwrap();
        dec.update(&ct, &mut pt).unwrap();
        ct.clear();
        pt.clear();
    }
    enc.finish(&mut ct).unwrap();
    dec.update(&ct, &mut pt).unwrap();
    dec.finish(&mut pt).unwrap()
}

/// The sealer's stream: the same seed gives the same key, salt and bytes.
fn sealer_stream(
    total: usize,
    mut sink: impl FnMut(&[u8]),
) -> fanseal::attachment::AttachmentReference {
    let mut rng = ChaCha20Rng::from_seed([5; 32]);
    let piece: Vec<u8> = (0..PIECE).map(|i| (i % 251) as u8).collect();
    let mut sealer = AttachmentSealer::new(&mut rng, b"conversation / message").unwrap();
    let mut ct = Vec::with_capacity(PIECE + 1024);
    for _ in 0..total / PIECE {
        sealer.update(&piece, &mut ct).unwrap();
        sink(&ct);
        ct.clear();
    }
    let reference = sealer.finish(&mut ct).unwrap();
    sink(&ct);
    reference
}

/// Pass 1 seals (keeping only the header and the final chunk), pass 2
/// streams the same bytes into the reference's opener (length and digest
/// checked), then the random-access length check on the final chunk.
fn pipe_reference(total: usize) -> u64 {
    let mut header = Vec::new();
    let mut last = Vec::new();
    let reference = sealer_stream(total, |bytes| {
        if header.is_empty() {
            header.extend_from_slice(&bytes[..56]);
        }
        last.clear();
        last.extend_from_slice(bytes);
    });
    let mut opener = reference.opener().unwrap();
    let mut pt = Vec::with_capacity(PIECE + 2 * CHUNK);
    sealer_stream(total, |bytes| {
        opener.update(bytes, &mut pt).unwrap();
        pt.clear();
    });
    let n = opener.finish(&mut pt).unwrap();
    let mut seek = reference.seekable(&header).unwrap();
    let range = seek.chunk_ciphertext_range(seek.chunk_count() - 1).unwrap();
    assert_eq!((range.end - range.start) as usize, last.len());
    seek.authenticate_length(&last).unwrap();
    n
}

fn main() {
    let test = std::env::args().any(|a| a == "--test");
    let total = if test {
        1024 * 1024
    } else if std::env::var("FANSEAL_BENCH_BIG").as_deref() == Ok("0") {
        64 * 1024 * 1024
    } else {
        1024 * 1024 * 1024
    };
    println!(
        "| pipeline ({} MiB in 64 KiB slices) | peak live bytes | allocations | bytes allocated |",
        total >> 20
    );
    println!("|---|---:|---:|---:|");
    let (n, s) = measure(|| pipe_raw(total));
    assert_eq!(n, total as u64);
    println!(
        "| Encryptor -> Decryptor | {} | {} | {} |",
        s.peak, s.count, s.total
    );
    assert!(s.peak <= 1024 * 1024, "peak {} > 1 MiB", s.peak);
    let (n, s) = measure(|| pipe_reference(total));
    assert_eq!(n, total as u64);
    println!(
        "| AttachmentSealer -> AttachmentOpener (2 passes) + length check | {} | {} | {} |",
        s.peak, s.count, s.total
    );
    assert!(s.peak <= 1024 * 1024, "peak {} > 1 MiB", s.peak);
}
