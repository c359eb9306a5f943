//! TrustStore::import: arbitrary bytes (SPEC.md §14.2).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fanseal_fuzz::check(fanseal::fuzzing::trust_store_load(data));
});
