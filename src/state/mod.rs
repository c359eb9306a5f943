//! Client state (sans-I/O): what an app keeps between calls, as types that
//! decide and export to versioned, canonical bytes (SPEC.md §14). The
//! device keyring ([`crate::DeviceKeyring`], §3.8–3.9) and the replay
//! guard ([`crate::ReplayGuard`], §6) persist the same way.

mod conversation;
mod trust_export;
mod trust_store;

pub use conversation::{Conversation, ConversationError, RecipientAudit};
pub use trust_store::{Contact, TrustError, TrustStore};
