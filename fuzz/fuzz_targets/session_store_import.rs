//! InboundSessions::import (type 0x25): round trip, bounded count, no other owner.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fanseal_fuzz::check(fanseal::fuzzing::sessions_import(
        fanseal_fuzz::fixture(),
        data,
    ));
});
