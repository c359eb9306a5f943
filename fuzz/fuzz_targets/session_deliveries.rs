//! Sequences of deliveries (distributions, reordered, replayed, restored-sender, forged, unsigned, mutated and truncated messages, drops, prunes, clock moves, reloads) against a receiving store: only authentic messages decrypt, each index at most once, exports round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fanseal_fuzz::check(fanseal::fuzzing::session_deliveries(
        fanseal_fuzz::fixture(),
        data,
    ));
});
