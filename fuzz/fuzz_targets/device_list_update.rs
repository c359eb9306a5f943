//! Device-list verification and update against a fixed trusted list.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fanseal_fuzz::check(fanseal::fuzzing::device_list_update(
        fanseal_fuzz::fixture(),
        data,
    ));
});
