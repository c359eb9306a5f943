//! ReplayGuard: checks from several accounts against per-account guards.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fanseal_fuzz::check(fanseal::fuzzing::replay_guard(data));
});
