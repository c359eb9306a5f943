//! open of raw bytes with fixed recipient keys and sender lists.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fanseal_fuzz::check(fanseal::fuzzing::open_raw(fanseal_fuzz::fixture(), data));
});
