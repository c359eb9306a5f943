//! `open` of structured mutations of a valid hybrid (X-Wing) envelope or
//! delivery (issue 12), with the oracle of `fanseal::fuzzing::open_hybrid`;
//! the largest single allocation made while opening (and checking) is
//! bounded by the opened bytes' length plus 64 KiB (an allocation sized by an unchecked length
//! or count field is a crash even when `open` then fails).
#![no_main]

use fanseal_fuzz::alloc_bound::{check_allocation, largest_allocation, Largest};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: Largest = Largest;

fuzz_target!(|data: &[u8]| {
    let fx = fanseal_fuzz::fixture();
    let (opener, bytes) = fanseal::fuzzing::hybrid_input(fx, data);
    let (outcome, largest) =
        largest_allocation(|| fanseal::fuzzing::check_hybrid_open(fx, opener, &bytes));
    fanseal_fuzz::check(outcome);
    let limit = bytes.len() + 64 * 1024;
    check_allocation("hybrid open", largest, limit);
});
