//! InboundSessions::import (type 0x25): round trip, bounded count, no other
//! owner; the largest single allocation is at most the input length plus
//! 4 KiB (a B-tree node, a slot's two sessions): an allocation by the slot
//! count or a session's length before its range check and the check that
//! its bytes are there is a crash.
#![no_main]

use fanseal_fuzz::alloc_bound::{check_allocation, largest_allocation, Largest};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: Largest = Largest;

fuzz_target!(|data: &[u8]| {
    let fx = fanseal_fuzz::fixture();
    let (outcome, largest) = largest_allocation(|| fanseal::fuzzing::sessions_import(fx, data));
    fanseal_fuzz::check(outcome);
    check_allocation(
        "session store import",
        largest,
        fanseal::fuzzing::sessions_import_allocation_limit(data.len()),
    );
});
