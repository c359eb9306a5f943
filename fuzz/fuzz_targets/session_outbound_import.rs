//! OutboundSession::import (type 0x23): round trip, rotation required after loading, no other owner.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fanseal_fuzz::check(fanseal::fuzzing::outbound_import(
        fanseal_fuzz::fixture(),
        data,
    ));
});
