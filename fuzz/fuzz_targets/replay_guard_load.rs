//! ReplayGuard::from_bytes on arbitrary bytes: no panic, canonical re-encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fanseal_fuzz::check(fanseal::fuzzing::replay_guard_load(data));
});
