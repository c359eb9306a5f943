//! Sequences of keyring operations (rotate, rotate hybrid, delete, re-key,
//! renew, create, set the policy, reload, open classical and hybrid
//! envelopes) against a model of SPEC.md §3.8.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fanseal_fuzz::check(fanseal::fuzzing::keyring_ops(
        fanseal_fuzz::fixture(),
        data,
    ));
});
