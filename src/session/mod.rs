//! Sender-key sessions (SPEC.md §15): per
//! conversation and sending device a symmetric chain ratchet, distributed
//! once inside an ordinary envelope; each message then costs one AEAD and
//! one Ed25519 signature whatever the number of recipient devices.
//!
//! * `chain`: the one-way chain step and message keys;
//! * `message`: the session message wire format (type `0x08`);
//! * `schedule`: commitment, body key and nonce, signed transcript;
//! * `distribution`: the distribution payload (type `0x09`);
//! * `policy`, `outbound`: the sending side and its rotation rules;
//! * `inbound`: the receiving side, skipped keys and ordering;
//! * `store`: a receiving device's sessions: lookup, tombstones, caps;
//! * `outbound_export`, `inbound_export`: persisted state (`0x23`, `0x24`).

pub(crate) mod chain;
pub(crate) mod distribution;
mod error;
/// Not API (feature `internals`): a malicious session sender's toolkit for
/// the attack tests.
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod hazmat;
pub(crate) mod inbound;
mod inbound_export;
pub(crate) mod message;
pub(crate) mod outbound;
mod outbound_export;
mod policy;
pub(crate) mod schedule;
mod store;

pub use distribution::is_distribution;
pub use error::SessionError;
pub use inbound::{InboundSession, SessionPlaintext};
pub use message::{SessionId, SessionMessage};
pub use outbound::{Membership, OutboundSession};
pub use policy::RotationPolicy;
pub use store::{DistributionReceived, InboundSessions};
