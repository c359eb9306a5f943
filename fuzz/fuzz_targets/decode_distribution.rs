//! The session distribution payload decoder (type 0x09) with a round-trip
//! oracle; the largest single allocation is at most the input length
//! (capped at 80 + MAX_CONVERSATION_ID) plus 4 KiB: an allocation by the
//! conversation id length before its range and `Truncated` checks is a
//! crash.
#![no_main]

use fanseal_fuzz::alloc_bound::{check_allocation, largest_allocation, Largest};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: Largest = Largest;

fuzz_target!(|data: &[u8]| {
    let (outcome, largest) = largest_allocation(|| fanseal::fuzzing::decode_distribution(data));
    fanseal_fuzz::check(outcome);
    check_allocation(
        "distribution decode",
        largest,
        fanseal::fuzzing::distribution_allocation_limit(data.len()),
    );
});
