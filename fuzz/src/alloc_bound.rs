//! The allocation-bound oracle: a counting global allocator that records
//! the largest single allocation made while a closure runs.
//!
//! A decoder of untrusted bytes must not allocate by a count or length
//! field before it has checked that field against its limit and against
//! the bytes actually present: otherwise a few bytes make the receiver
//! reserve megabytes (or abort). Such an allocation is invisible to a
//! round-trip oracle when the decode then fails, so the targets that use
//! this module measure the largest single request made while decoding and
//! crash when it exceeds the bound they state.
//!
//! A target opts in by installing the allocator (the library does not
//! install it, so the other targets keep the plain system allocator):
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOCATOR: fanseal_fuzz::alloc_bound::Largest = fanseal_fuzz::alloc_bound::Largest;
//! ```
//!
//! then runs the code under test in [`largest_allocation`] and checks the
//! result with [`check_allocation`]. [`largest_allocation`] panics when
//! the allocator is not installed, so the oracle cannot pass vacuously.
//! Only the calling thread is measured, and only while the closure runs
//! (libFuzzer's own allocations are not).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, recording the largest request while tracking.
pub struct Largest;

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

/// Runs `f` and returns its result with the size of the largest single
/// allocation (or reallocation) it made on this thread.
///
/// # Panics
/// When the target did not install [`Largest`] as its global allocator.
pub fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(0));
    TRACKING.with(|t| t.set(true));
    // A probe of one byte: recorded only when `Largest` is installed.
    drop(std::hint::black_box(Vec::<u8>::with_capacity(1)));
    let out = f();
    TRACKING.with(|t| t.set(false));
    let largest = LARGEST.with(Cell::get);
    assert!(
        largest > 0,
        "alloc_bound: the target did not install alloc_bound::Largest as its global allocator"
    );
    (out, largest)
}

/// The oracle: a crash when `largest` exceeds `limit` (`what` names the
/// operation in the message).
pub fn check_allocation(what: &str, largest: usize, limit: usize) {
    assert!(
        largest <= limit,
        "oracle violated: {what} allocated {largest} bytes at once (limit {limit})"
    );
}
