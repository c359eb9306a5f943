//! InboundSession::import (type 0x24): round trip, bounded skipped keys, no
//! other owner; the largest single allocation is at most the input length
//! (capped at 366 + MAX_CONVERSATION_ID + 36·MAX_SKIPPED_KEYS) plus 4 KiB:
//! an allocation by the skipped count or conversation id length before its
//! range check and the check that its bytes are there is a crash.
#![no_main]

use fanseal_fuzz::alloc_bound::{check_allocation, largest_allocation, Largest};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: Largest = Largest;

fuzz_target!(|data: &[u8]| {
    let fx = fanseal_fuzz::fixture();
    let (outcome, largest) = largest_allocation(|| fanseal::fuzzing::inbound_import(fx, data));
    fanseal_fuzz::check(outcome);
    check_allocation(
        "inbound session import",
        largest,
        fanseal::fuzzing::inbound_import_allocation_limit(data.len()),
    );
});
