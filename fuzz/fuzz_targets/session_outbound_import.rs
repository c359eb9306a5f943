//! OutboundSession::import (type 0x23): round trip, rotation required after
//! loading, no other owner; the largest single allocation is at most the
//! input length (capped at 163 + 16·MAX_RECIPIENTS + MAX_CONVERSATION_ID)
//! plus 4 KiB: an allocation by the recipient count or conversation id
//! length before its range check and the check that its bytes are there is
//! a crash.
#![no_main]

use fanseal_fuzz::alloc_bound::{check_allocation, largest_allocation, Largest};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: Largest = Largest;

fuzz_target!(|data: &[u8]| {
    let fx = fanseal_fuzz::fixture();
    let (outcome, largest) = largest_allocation(|| fanseal::fuzzing::outbound_import(fx, data));
    fanseal_fuzz::check(outcome);
    check_allocation(
        "outbound session import",
        largest,
        fanseal::fuzzing::outbound_import_allocation_limit(data.len()),
    );
});
