//! SessionMessage::from_bytes (type 0x08) with a round-trip oracle.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fanseal_fuzz::check(fanseal::fuzzing::decode_session_message(data));
});
