//! SignedPrekey::from_bytes (classical and hybrid) with a round-trip oracle;
//! what decodes is verified against every key set of the fixture's device
//! (SPEC.md §3.7, both suites).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fanseal_fuzz::check(fanseal::fuzzing::decode_signed_prekey(
        fanseal_fuzz::fixture(),
        data,
    ));
});
