//! Shared helpers of the fanseal fuzz targets.

pub mod alloc_bound;
pub mod structured;

use std::sync::OnceLock;

use fanseal::fuzzing::{Fixture, Outcome};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// The seed of the fixture; `tests/fuzz_replay.rs` uses the same one.
pub const FIXTURE_SEED: [u8; 32] = [7; 32];

/// The fixture, built once per process.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        Fixture::new(&mut ChaCha20Rng::from_seed(FIXTURE_SEED)).expect("fixture builds")
    })
}

/// Turns an oracle violation into a crash libFuzzer records.
pub fn check(outcome: Outcome) {
    if let Err(violation) = outcome {
        panic!("oracle violated: {}", violation.0);
    }
}
