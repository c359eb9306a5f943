//! The session distribution payload decoder (type 0x09) with a round-trip oracle.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fanseal_fuzz::check(fanseal::fuzzing::decode_distribution(data));
});
