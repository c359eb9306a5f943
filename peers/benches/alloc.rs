//! Heap use of fanseal's seal and open (issue 6, allocation target): peak
//! bytes live above the fixture, number of allocations and bytes allocated,
//! for 1 KiB and 1 MiB payloads to 1, 64 and 512 devices, measured with a
//! counting global allocator that wraps the system allocator.
//!
//! Seal should allocate O(payload + N x wrap): one body buffer of the padded
//! payload, N 48-byte wraps, N recipient key ids, and no payload copy per
//! device. The table prints the peak minus `padded body + 48 N` as the rest.
//!
//! `cargo bench -p fanseal-peers --bench alloc` prints the table. It measures
//! bytes, not time, runs in well under a second, and asserts only that a
//! 1 MiB seal to 512 devices stays below 2 x (payload + 512 x 48 + 64 KiB),
//! i.e. that no per-device copy of the payload exists.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../../benches/common/mod.rs"]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use common::Fixture;
use fanseal::Padding;

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

/// Runs `f` and returns what it allocated; the result is still live when
/// the peak is read, so the peak includes it.
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

fn main() {
    println!("| operation | payload | devices | peak live bytes | allocations | bytes allocated | padded body + 48 N | peak - (body + 48 N) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for n in [1usize, 64, 512] {
        let fixture = Fixture::new(n);
        let device = fixture.last_device();
        let directory = fixture.directory();
        for len in [1024usize, 1024 * 1024] {
            let payload = common::payload(len);
            let mut rng = common::rng(50);
            let (envelope, s) = measure(|| fixture.seal(&payload, Padding::Padme, &mut rng));
            let body = envelope.header().body_len();
            let expected = body + 48 * n;
            println!(
                "| seal | {len} | {n} | {} | {} | {} | {expected} | {} |",
                s.peak,
                s.count,
                s.total,
                s.peak as i64 - expected as i64
            );
            if n == 512 && len == 1024 * 1024 {
                assert!(
                    s.peak < 2 * (len + 512 * 48 + 64 * 1024),
                    "seal holds more than one copy of the payload: peak {}",
                    s.peak
                );
            }
            let delivery = envelope.delivery_for(&device.key_id()).unwrap().to_bytes();
            drop(envelope);
            let (opened, s) = measure(|| fixture.open(device, &delivery, &directory));
            assert_eq!(opened.payload(), payload);
            println!(
                "| open (delivery) | {len} | {n} | {} | {} | {} | {body} | {} |",
                s.peak,
                s.count,
                s.total,
                s.peak as i64 - body as i64
            );
        }
    }
    relay_split();
}

/// Issue 13, situation 6: a relay splitting one envelope for 200 devices.
/// `RelaySplit` borrows the received bytes: its allocations do not depend
/// on the body size, while the copying split allocates the body per device.
fn relay_split() {
    println!();
    println!("| relay split, 200 devices | payload | allocations | bytes allocated | peak live bytes | bytes written |");
    println!("|---|---:|---:|---:|---:|---:|");
    let n = 200;
    let fixture = Fixture::new(n);
    for len in [1024usize, 1024 * 1024] {
        let payload = common::payload(len);
        let mut rng = common::rng(51);
        let wire = fixture.seal(&payload, Padding::Padme, &mut rng).to_bytes();
        let (written, s) = measure(|| {
            let split = fanseal::RelaySplit::new(&wire).unwrap();
            // A server writes each delivery's slices with vectored I/O.
            split
                .deliveries()
                .map(|(_, d)| {
                    d.as_slices()
                        .iter()
                        .map(|p| black_box(p).len())
                        .sum::<usize>()
                })
                .sum::<usize>()
        });
        println!(
            "| RelaySplit (borrowed parts) | {len} | {} | {} | {} | {written} |",
            s.count, s.total, s.peak
        );
        assert!(
            s.total < 64 * 1024,
            "the borrowed split allocated {} bytes for a {len}-byte payload",
            s.total
        );
        let (written, s) = measure(|| {
            let env = fanseal::Envelope::from_bytes(&wire).unwrap();
            env.deliveries()
                .map(|(_, d)| black_box(d.to_bytes()).len())
                .sum::<usize>()
        });
        println!(
            "| Envelope::deliveries + to_bytes (copies) | {len} | {} | {} | {} | {written} |",
            s.count, s.total, s.peak
        );
    }
}
