//! Envelope::from_bytes with a round-trip oracle and the relay split.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fanseal_fuzz::check(fanseal::fuzzing::decode_envelope(data));
});
