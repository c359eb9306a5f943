//! InboundSession::import (type 0x24): round trip, bounded skipped keys, no other owner.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fanseal_fuzz::check(fanseal::fuzzing::inbound_import(
        fanseal_fuzz::fixture(),
        data,
    ));
});
