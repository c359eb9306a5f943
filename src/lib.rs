#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

extern crate alloc;

pub mod attachment;
mod codec;
#[cfg(test)]
mod conformance;
mod consts;
mod envelope;
mod error;
/// Not API (feature `internals`): fuzz target bodies, shared by `fuzz/` and
/// `tests/fuzz_replay.rs`.
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod fuzzing;
/// Not API (feature `internals`): a malicious sender's toolkit for the
/// attack tests and vectors.
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod hazmat;
mod identity;
mod primitives;
mod replay;
#[cfg(feature = "getrandom")]
mod rng;
pub mod session;
mod state;
mod suite;

/// Not API (feature `internals`): entry points for the constant-time harness
/// in `ct/` only.
#[cfg(feature = "internals")]
#[doc(hidden)]
#[path = "ct_hooks.rs"]
pub mod __ct;

/// Sender-key session limits and defaults (SPEC.md §15).
pub use consts::session as session_limit;
pub use consts::{
    capability, limit, size, SUITE_X25519_SHA256_AES256GCM_ED25519,
    SUITE_XWING_SHA256_AES256GCM_ED25519, WIRE_VERSION,
};
/// Certificate capability: senders MUST wrap to the device's signed prekeys
/// (SPEC.md §4.9). The same value as [`capability::PREKEYS`].
pub const CAPABILITY_PREKEYS: u32 = capability::PREKEYS;
/// Certificate capability: the device publishes hybrid (X-Wing) signed
/// prekeys, and an envelope whose every recipient device has this bit MUST
/// use the hybrid suite (SPEC.md §4.10). The same value as
/// [`capability::HYBRID`].
pub const CAPABILITY_HYBRID: u32 = capability::HYBRID;
pub use envelope::*;
pub use error::{
    CertificateError, DecodeError, DeviceListError, KeyringError, OpenError, PrekeyError, SealError,
};
pub use identity::*;
pub use replay::{ReplayError, ReplayGuard};
#[cfg(feature = "getrandom")]
pub use rng::{os_rng, OsRng};
pub use session::{
    DistributionReceived, InboundSession, InboundSessions, Membership, OutboundSession,
    RotationPolicy, SessionError, SessionId, SessionMessage, SessionPlaintext,
};
pub use state::{Contact, Conversation, ConversationError, RecipientAudit, TrustError, TrustStore};
pub use suite::Suite;
