//! Sequences of keyring operations (rotate, delete, re-key, renew, set the
//! policy, reload, open) against a model of SPEC.md §3.8.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fanseal_fuzz::check(fanseal::fuzzing::keyring_ops(
        fanseal_fuzz::fixture(),
        data,
    ));
});
