//! Session errors (SPEC.md §15.10), split by whose fault they are:
//! malformed bytes ([`SessionError::Decode`]), the public routing and
//! ordering facts of a message (unknown session, duplicate or far index:
//! they depend only on public header fields and on which indices this
//! device already accepted), the caller ([`SessionError::RotationRequired`],
//! limits, policy), trust ([`SessionError::SenderListUnavailable`],
//! [`SessionError::SenderNotOnTrustedList`]), and every authentication
//! failure as the single opaque [`SessionError::Unauthenticated`].

use core::fmt;

use crate::error::{DecodeError, SealError};
use crate::identity::{AccountPublicKey, KeyId};

/// Why a session operation was refused (SPEC.md §15.10).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// Malformed bytes: a session message, distribution or state export
    /// that is not the one canonical encoding, or persisted state that
    /// contradicts itself (`DecodeError::Inconsistent`).
    Decode(DecodeError),
    /// The message names a session id this inbound session is not
    /// (route it by [`crate::SessionMessage::session_id`]).
    UnknownSession,
    /// The index was accepted before, or lies below the session's next
    /// index and its key was never kept (a replay, or history from before
    /// this device received the session).
    DuplicateIndex {
        /// The message's index.
        index: u32,
    },
    /// The index lies below the lowest index of any distribution this
    /// device took: the message was sent before this device received the
    /// session (history it may never read, P16), not a replay.
    BeforeDistribution {
        /// The message's index.
        index: u32,
        /// The session's first index on this device.
        first_index: u32,
    },
    /// The index is more than [`crate::session_limit::MAX_SKIP`] ahead of the next
    /// expected one; nothing was derived.
    TooFarAhead {
        /// The message's index.
        index: u32,
        /// The session's next expected index.
        next: u32,
    },
    /// Accepting the message would keep more than
    /// [`crate::session_limit::MAX_SKIPPED_KEYS`] skipped message keys; nothing was
    /// derived.
    TooManySkipped,
    /// Every authentication failure: commitment, AEAD, body format,
    /// signature. No detail, so no oracle.
    Unauthenticated,
    /// The message authenticated, but the caller holds no verified list of
    /// the sender's account: fetch it, verify it, retry.
    SenderListUnavailable(AccountPublicKey),
    /// The message authenticated, but the sender's certificate is not on
    /// the account's current verified list (or has expired) and the grace
    /// policy does not accept it: the device was removed or re-keyed.
    SenderNotOnTrustedList(AccountPublicKey),
    /// The opened envelope's payload is a distribution whose conversation
    /// id is not the envelope's AAD.
    WrongConversation,
    /// A distribution for a session this device already holds, from the
    /// same sender device, with a chain that is not the held chain: the
    /// sender gave devices inconsistent states (or the state was forged).
    ConflictingDistribution,
    /// The distribution is for another sender device or session id than
    /// this inbound session.
    NotThisSession,
    /// The outbound session may not encrypt any more: its message count or
    /// age reached the policy, or a device was removed from its recipients.
    /// Start a new session and distribute it.
    RotationRequired,
    /// The next index would be `u32::MAX`: the chain is exhausted.
    Exhausted,
    /// The device secret or certificate is not the session owner's, or a
    /// state export belongs to another device.
    WrongDevice,
    /// A distribution would remove a device the session was distributed
    /// to: rotate instead.
    MemberRemoved {
        /// Certificate key ids of the removed devices.
        removed: alloc::vec::Vec<KeyId>,
    },
    /// `encrypt` was given lists on which devices were added since the last
    /// distribution: distribute the current state to them first
    /// ([`crate::OutboundSession::distribute`]), then encrypt.
    MembershipChanged {
        /// Certificate key ids of the added devices.
        added: alloc::vec::Vec<KeyId>,
    },
    /// Payload above [`crate::limit::MAX_PAYLOAD`].
    PayloadTooLarge,
    /// AAD above [`crate::limit::MAX_AAD`].
    AadTooLarge,
    /// Conversation id above [`crate::session_limit::MAX_CONVERSATION_ID`].
    ConversationIdTooLarge,
    /// The padded body would exceed [`crate::limit::MAX_BODY`].
    PaddedBodyTooLarge,
    /// A rotation policy outside its bounds (SPEC.md §15.6).
    InvalidPolicy,
    /// Sealing the distribution failed.
    Seal(SealError),
    /// Outside the bounds any honest session keeps, whatever its policy:
    /// a message index at or above [`crate::session_limit::MAX_MESSAGES`], a
    /// message timestamp outside `created_at − skew ..= created_at +
    /// MAX_AGE_MS + skew`, or a distribution created more than
    /// `MAX_AGE_MS + skew` before `now` (or after its envelope's timestamp
    /// plus skew). [`crate::session_limit::MAX_CLOCK_SKEW_MS`] is the skew.
    SessionExpired,
    /// A distribution created more than
    /// [`crate::session_limit::MAX_CLOCK_SKEW_MS`] after the receiver's
    /// `now`: a session from the future would never age out of the store.
    FromTheFuture,
    /// A distribution of a session this store dropped (a tombstone), or no
    /// newer than the sessions it holds or dropped for that sender device
    /// and conversation: a replay, or a very late delivery.
    StaleDistribution,
    /// Accepting the distribution would need a new (sender device,
    /// conversation) slot beyond the sender account's
    /// [`crate::session_limit::MAX_SLOTS_PER_ACCOUNT`] or the store's
    /// [`crate::session_limit::MAX_SLOTS`]. (Session caps never refuse:
    /// they evict, SPEC.md §15.4 step 10.)
    TooManySessions,
    /// The distribution names a session id this store holds for another
    /// sender device or conversation.
    SessionIdInUse,
    /// The distribution comes from the receiving device itself: a device
    /// never holds an inbound copy of its own session (it would keep the
    /// chain key the outbound state has already deleted).
    OwnSession,
    /// The distribution's envelope was accepted only under the grace
    /// policy (its sender was re-keyed or removed): messages of existing
    /// sessions may still be accepted in grace, but no new session starts
    /// from a sender that is no longer on its list.
    SenderInGrace,
    /// A primitive failed where it cannot (a bug).
    Internal,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Decode(e) => write!(f, "malformed session bytes: {e}"),
            SessionError::UnknownSession => f.write_str("message of another session"),
            SessionError::DuplicateIndex { index } => {
                write!(f, "index {index} already accepted or not held")
            }
            SessionError::BeforeDistribution { index, first_index } => {
                write!(
                    f,
                    "index {index} precedes this device's first index {first_index}"
                )
            }
            SessionError::TooFarAhead { index, next } => {
                write!(f, "index {index} too far ahead of {next}")
            }
            SessionError::TooManySkipped => f.write_str("skipped message key store full"),
            SessionError::Unauthenticated => f.write_str("session message not authentic"),
            SessionError::SenderListUnavailable(a) => {
                write!(f, "no verified device list for sender {a:?}")
            }
            SessionError::SenderNotOnTrustedList(a) => {
                write!(f, "sender device not on the trusted list of {a:?}")
            }
            SessionError::WrongConversation => {
                f.write_str("distribution conversation id is not the envelope AAD")
            }
            SessionError::ConflictingDistribution => {
                f.write_str("distribution conflicts with the held chain")
            }
            SessionError::NotThisSession => f.write_str("distribution of another session"),
            SessionError::RotationRequired => f.write_str("session must be rotated"),
            SessionError::Exhausted => f.write_str("session chain exhausted"),
            SessionError::WrongDevice => f.write_str("session belongs to another device"),
            SessionError::MemberRemoved { removed } => {
                write!(f, "{} recipient devices removed: rotate", removed.len())
            }
            SessionError::MembershipChanged { added } => {
                write!(
                    f,
                    "{} recipient devices added: distribute first",
                    added.len()
                )
            }
            SessionError::PayloadTooLarge => f.write_str("payload too large"),
            SessionError::AadTooLarge => f.write_str("AAD too large"),
            SessionError::ConversationIdTooLarge => f.write_str("conversation id too large"),
            SessionError::PaddedBodyTooLarge => f.write_str("padded body too large"),
            SessionError::InvalidPolicy => f.write_str("rotation policy out of bounds"),
            SessionError::Seal(e) => write!(f, "sealing the distribution: {e}"),
            SessionError::SessionExpired => f.write_str("outside the session's bounds"),
            SessionError::FromTheFuture => f.write_str("session created in the future"),
            SessionError::StaleDistribution => {
                f.write_str("distribution of a dropped or older session")
            }
            SessionError::TooManySessions => f.write_str("too many inbound sessions"),
            SessionError::SessionIdInUse => f.write_str("session id held for another sender"),
            SessionError::OwnSession => f.write_str("distribution of this device's own session"),
            SessionError::SenderInGrace => {
                f.write_str("no new session from a sender accepted only in grace")
            }
            SessionError::Internal => f.write_str("internal error"),
        }
    }
}

impl core::error::Error for SessionError {}

impl From<DecodeError> for SessionError {
    fn from(e: DecodeError) -> Self {
        SessionError::Decode(e)
    }
}

impl From<SealError> for SessionError {
    fn from(e: SealError) -> Self {
        SessionError::Seal(e)
    }
}
