//! SessionMessage::from_bytes (type 0x08) with a round-trip oracle; the
//! largest single allocation is at most the input length (capped at the
//! largest message, 92 + MAX_BODY + 16) plus 4 KiB: an allocation by the
//! ciphertext length before its range and `Truncated` checks is a crash.
#![no_main]

use fanseal_fuzz::alloc_bound::{check_allocation, largest_allocation, Largest};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: Largest = Largest;

fuzz_target!(|data: &[u8]| {
    let (outcome, largest) = largest_allocation(|| fanseal::fuzzing::decode_session_message(data));
    fanseal_fuzz::check(outcome);
    check_allocation(
        "session message decode",
        largest,
        fanseal::fuzzing::session_message_allocation_limit(data.len()),
    );
});
