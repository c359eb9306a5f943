//! Structure-aware open: arbitrary mutations of a valid envelope's fields.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(input) = fanseal_fuzz::structured::parse(data) {
        fanseal_fuzz::check(fanseal_fuzz::structured::run(
            fanseal_fuzz::fixture(),
            input,
        ));
    }
});
