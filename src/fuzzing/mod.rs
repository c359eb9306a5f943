//! Fuzz target bodies (issue 5). Hidden from the docs; not part of the API.
//!
//! Every function here takes what a fuzzer produced and returns
//! `Err(Violation)` when an oracle fails. None of them panics: the thin
//! cargo-fuzz targets in `fuzz/fuzz_targets/` turn a `Violation` into a
//! panic (a crash for libFuzzer), and `tests/fuzz_replay.rs` replays every
//! committed seed and regression input through the same functions on stable.
//!
//! The targets that open envelopes or update device lists use a `Fixture`
//! built once from a caller-supplied seeded RNG (the fuzz targets and the
//! replay test both pass `ChaCha20Rng::from_seed([7; 32])`).
//!
//! | file | targets |
//! |---|---|
//! | `decode.rs` | the six wire decoders, each with a round-trip oracle |
//! | `fixture.rs` | the fixed keys, lists and envelope; the open oracle |
//! | `lists.rs` | device-list verification and update, against a model |
//! | `open.rs` | `open` of raw bytes and of field-mutated envelopes |
//! | `body.rs` | padding removal and body parsing through `open` |
//! | `arith.rs` | Padmé arithmetic |
//! | `replay.rs` | the replay guard against isolated guards; its state loader |
//! | `state.rs` | the trust store loader |
//! | `hybrid.rs` | `open` of structured mutations of a hybrid (X-Wing) envelope |
//! | `keys.rs` | signed prekeys, the keyring loader, keyring operations against a model |
//! | `sessions.rs` | the session decoders and state loaders; deliveries against a receiving store |

mod arith;
mod body;
mod decode;
mod fixture;
mod hybrid;
mod keys;
mod lists;
mod open;
mod replay;
mod sessions;
mod state;

pub use arith::padding;
pub use body::{body_flag, open_body};
pub use decode::{
    decode_delivery, decode_device_certificate, decode_device_list, decode_envelope,
    decode_fork_evidence, decode_safety_number,
};
pub use fixture::Fixture;
pub use hybrid::{check_hybrid_open, hop, hybrid_input, open_hybrid, HYBRID_OPENERS};
pub use keys::{
    decode_signed_prekey, encode_ops, keyring_import, keyring_import_allocation_limit, keyring_ops,
    op, KeyFixture, CERTIFICATES, KEY_SETS, MAX_OPS, PREKEY_POOL,
};
pub use lists::{device_list_update, encode_chunks};
pub use open::{open_mutated, open_raw, Mutation};
pub use replay::{check_as, replay_guard, replay_guard_load};
pub use sessions::{
    check_session_fixture, decode_distribution, decode_session_message, delivery_op,
    distribution_allocation_limit, encode_deliveries, inbound_import,
    inbound_import_allocation_limit, outbound_import, outbound_import_allocation_limit,
    session_deliveries, session_message_allocation_limit, sessions_import,
    sessions_import_allocation_limit, MAX_DELIVERY_OPS, SESSIONS, SESSION_ALLOCATION_SLACK,
    SESSION_MESSAGES, VARIANTS,
};
pub use state::trust_store_load;

/// The clock every fixture object is made at (Unix ms).
pub const NOW: u64 = 1_764_300_000_000;

/// The clock the open targets open at: shortly after [`NOW`].
pub const OPEN_AT: u64 = NOW + 5;

/// An oracle that failed: what the target expected and did not get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Violation(pub &'static str);

/// What every target body returns.
pub type Outcome = Result<(), Violation>;

fn ensure(condition: bool, what: &'static str) -> Outcome {
    if condition {
        Ok(())
    } else {
        Err(Violation(what))
    }
}
