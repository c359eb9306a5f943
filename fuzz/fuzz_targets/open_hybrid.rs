//! `open` of structured mutations of a valid hybrid (X-Wing) envelope or
//! delivery (issue 12), with the oracle of `fanseal::fuzzing::open_hybrid`;
//! the largest single allocation made while opening (and checking) is
//! bounded by the opened bytes' length plus 64 KiB (an allocation sized by an unchecked length
//! or count field is a crash even when `open` then fails).
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use libfuzzer_sys::fuzz_target;

/// The system allocator, recording the largest request while `TRACKING`.
struct Largest;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn record(size: usize) {
    // try_with: never touch a thread-local that is being torn down.
    let _ = TRACKING.try_with(|t| {
        if t.get() {
            let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
        }
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// bookkeeping only reads the layout's size.
unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Largest = Largest;

fuzz_target!(|data: &[u8]| {
    let fx = fanseal_fuzz::fixture();
    let (opener, bytes) = fanseal::fuzzing::hybrid_input(fx, data);
    LARGEST.with(|l| l.set(0));
    TRACKING.with(|t| t.set(true));
    let outcome = fanseal::fuzzing::check_hybrid_open(fx, opener, &bytes);
    TRACKING.with(|t| t.set(false));
    fanseal_fuzz::check(outcome);
    let largest = LARGEST.with(Cell::get);
    let limit = bytes.len() + 64 * 1024;
    assert!(
        largest <= limit,
        "oracle violated: hybrid open allocated {largest} bytes at once (limit {limit})"
    );
});
