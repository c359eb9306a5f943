//! Feature `getrandom` (issue 13, situation 8): `os_rng()` is an infallible
//! `CryptoRng` every fanseal call accepts. Run by `.ci/run` with
//! `--features getrandom`; without the feature this file is empty.
#![cfg(feature = "getrandom")]
#![allow(clippy::unwrap_used)]

use fanseal::*;

#[test]
fn os_rng_drives_generation_and_differs_between_calls() {
    let mut rng = os_rng();
    let a = DeviceSecret::generate(&mut rng);
    let b = DeviceSecret::generate(&mut os_rng());
    // Two draws from the OS RNG give two different keys (a constant RNG
    // would fail this).
    assert_ne!(a.public_keys(), b.public_keys());
    let account = AccountSecret::generate(&mut rng);
    assert_ne!(account.public_key().to_bytes(), [0u8; 32]);
}
