//! DeviceKeyring::import with a canonical round-trip oracle and the
//! invariants of SPEC.md §3.9; the largest single allocation made while
//! loading is checked against the bound the count limits allow (an
//! allocation sized by an unchecked count field is a crash even when the
//! import then fails).
#![no_main]

use fanseal_fuzz::alloc_bound::{check_allocation, largest_allocation, Largest};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: Largest = Largest;

fuzz_target!(|data: &[u8]| {
    let (outcome, largest) = largest_allocation(|| fanseal::fuzzing::keyring_import(data));
    fanseal_fuzz::check(outcome);
    let limit = fanseal::fuzzing::keyring_import_allocation_limit();
    check_allocation("keyring import", largest, limit);
});
