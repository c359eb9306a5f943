//! Padding removal and body parsing through open: custom, correctly encrypted bodies.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fanseal_fuzz::check(fanseal::fuzzing::open_body(fanseal_fuzz::fixture(), data));
});
