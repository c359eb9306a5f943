//! The group chat on sender-key sessions (SPEC.md §15, issue 14):
//! the part of a client that sends with one `OutboundSession` per
//! conversation and reads with its `InboundSessions` store.
//!
//! * Sending: the first message of a conversation starts a session and
//!   distributes it in **one envelope** to every device of every member
//!   (the sender's own other devices included); every message after that
//!   is a `SessionMessage` of one AEAD and one signature, uploaded once and
//!   routed by the relay by session id. `encrypt` itself says when the
//!   session must change: `MembershipChanged` (distribute the current state
//!   to the added devices) or `RotationRequired` (schedule, removal, or a
//!   session loaded after a restart: start a new one).
//! * Receiving: a distribution is an envelope: it is opened against the
//!   trust store, recognised by `session::is_distribution`, audited, then
//!   goes into the store (`InboundSessions::receive`), which is the replay
//!   authority for distributions (SPEC.md §15.4: a replay of a held
//!   session is `Held`, of a dropped one `StaleDistribution`); a session
//!   message is decrypted by the store (`InboundSessions::decrypt`).
//! * Restart: every outbound session and the store are exported with the
//!   rest of the client's state. A loaded outbound session never encrypts
//!   again (SPEC.md §15.7): the first message after a restart rotates.

use std::collections::{BTreeMap, BTreeSet};

use fanseal::{
    AccountPublicKey, DeviceCertificate, DeviceKeyring, DeviceListLookup, DevicePublicKeys,
    DistributionReceived, Envelope, InboundSessions, KeyId, Message, Opened, OutboundSession,
    Padding, RotationPolicy, SessionError, SessionId, SessionMessage, SessionPlaintext, TrustStore,
    VerifiedDeviceList, VerifiedPrekey,
};
use zeroize::Zeroizing;

use super::{audit, fetch_prekeys, Client, Directory, Mailbox, Net, SendError, DAY};

/// The friends' group chat (Alice, Bob and Carol). In this app a group
/// conversation id starts with `group:` (direct messages use
/// `conversation:…`); a client tells a distribution from a direct message
/// after `open` with `session::is_distribution`.
pub(super) const FRIENDS: &[u8] = b"group:friends";

/// The friends' rotation policy: a session encrypts at most 8 messages and
/// lives at most 7 days (the default is 100 messages; 8 lets the story show
/// a rotation on schedule). The policy travels in the distribution and
/// receivers hold the session to it.
pub(super) const GROUP_POLICY: RotationPolicy = RotationPolicy {
    max_messages: 8,
    max_age_ms: 7 * DAY,
};

/// A client's session state.
pub(super) struct Sessions {
    /// This device's sending session, per conversation id.
    pub(super) outbound: BTreeMap<Vec<u8>, OutboundSession>,
    /// The sessions of the other devices this device reads.
    pub(super) inbound: InboundSessions,
    /// Ids of this device's own sessions (started here, or loaded with the
    /// outbound sessions): the relay hands the sender its own session
    /// messages too (every device of a session fetches every message,
    /// SPEC.md §15.11 L8), and the sender discards them.
    pub(super) own: BTreeSet<SessionId>,
}

/// The session part of a client's saved state (bytes wiped on drop: they
/// hold chain keys).
#[derive(Clone)]
pub(super) struct SavedSessions {
    pub(super) outbound: Vec<Zeroizing<Vec<u8>>>,
    pub(super) inbound: Zeroizing<Vec<u8>>,
}

impl Sessions {
    pub(super) fn new(owner: &DeviceCertificate) -> Self {
        Sessions {
            outbound: BTreeMap::new(),
            inbound: InboundSessions::new(owner),
            own: BTreeSet::new(),
        }
    }

    /// Every outbound session and the receiving store as canonical bytes
    /// (SPEC.md §15.7, §15.8). An app writes them after every change.
    pub(super) fn save(&self) -> SavedSessions {
        SavedSessions {
            outbound: self.outbound.values().map(|s| s.export()).collect(),
            inbound: self.inbound.export(),
        }
    }

    /// Loads the exports of the device whose certificate is `owner`; a
    /// part that fails loads nothing. Loaded outbound sessions only say
    /// `RotationRequired`: their messages are discarded as the device's
    /// own, and the next message of each conversation starts a new one.
    pub(super) fn restore(
        saved: &SavedSessions,
        owner: &DeviceCertificate,
    ) -> Result<Self, SessionError> {
        let keys: &DevicePublicKeys = owner.keys();
        let mut outbound = BTreeMap::new();
        let mut own = BTreeSet::new();
        for bytes in &saved.outbound {
            let session = OutboundSession::import(bytes, keys)?;
            own.insert(session.session_id());
            outbound.insert(session.conversation_id().to_vec(), session);
        }
        Ok(Sessions {
            outbound,
            inbound: InboundSessions::import(&saved.inbound, owner)?,
            own,
        })
    }
}

/// What `send_group` had to do before its message could go out, each step
/// the answer of the API.
#[derive(Debug, PartialEq)]
pub(super) enum Before {
    /// No session for the conversation: started one and distributed it.
    Started(SessionId),
    /// `encrypt` answered `MembershipChanged { added }`: the session's
    /// current state went out again to every member device (the added ones
    /// read from now on; the others answer `Held`).
    Redistributed(Vec<KeyId>),
    /// `encrypt` answered `RotationRequired` (the policy's count or age, a
    /// removed device, or a session loaded after a restart): a new session
    /// replaced `old`, distributed to the devices of the current lists only.
    Rotated { old: SessionId, new: SessionId },
}

/// A group message as sent.
pub(super) struct GroupSent {
    pub(super) before: Vec<Before>,
    /// The distribution envelopes `before` sealed, in order.
    pub(super) distributions: Vec<Envelope>,
    pub(super) message: SessionMessage,
}

/// What a group chat delivery did on a receiving device.
pub(super) enum GroupEvent {
    /// A distribution (an envelope that opened and passed the replay
    /// guard), given to the store; `audit` maps every recipient key id of
    /// its signed header to a trusted device (SPEC.md §15.11 P4).
    Session {
        result: Result<DistributionReceived, SessionError>,
        audit: Vec<(KeyId, Option<Mailbox>)>,
    },
    /// A session message, decrypted by the store (boxed: it is large).
    Message(Result<Box<SessionPlaintext>, SessionError>),
    /// A message of this device's own session: discarded.
    Own,
}

pub(super) struct GroupReceived {
    pub(super) bytes: Vec<u8>,
    pub(super) event: GroupEvent,
}

/// "group: <payload>", "new session", "refused: <error>", … for compact
/// assertions.
pub(super) fn group_outcome(r: &GroupReceived) -> String {
    match &r.event {
        GroupEvent::Session { result, .. } => match result {
            Ok(DistributionReceived::New(_)) => "new session".into(),
            Ok(DistributionReceived::Held(_)) => "held session".into(),
            Ok(_) => "session?".into(),
            Err(e) => format!("session refused: {e:?}"),
        },
        GroupEvent::Message(Ok(p)) => format!("group: {}", String::from_utf8_lossy(p.payload())),
        GroupEvent::Message(Err(e)) => format!("refused: {e:?}"),
        GroupEvent::Own => "own message".into(),
    }
}

/// The trusted lists of `members` (the own account included): what
/// `distribute` and every `encrypt` are given, from the trust store at each
/// call (SPEC.md §15.5).
fn member_lists<'a>(
    trust: &'a TrustStore,
    members: &[AccountPublicKey],
) -> Result<Vec<&'a VerifiedDeviceList>, SendError> {
    members
        .iter()
        .map(|a| {
            trust
                .verified_device_list(a)
                .ok_or(SendError::NotTrusted(*a))
        })
        .collect()
}

impl Client {
    /// Sends `payload` to the group `conversation` of `members` as a
    /// session message, after whatever the session needs first.
    pub(super) fn send_group(
        &mut self,
        conversation: &[u8],
        members: &[AccountPublicKey],
        payload: &[u8],
        net: &mut Net,
        now: u64,
    ) -> Result<GroupSent, SendError> {
        let lists = member_lists(&self.trust, members)?;
        let keyring = &self.keyring;
        let cert = keyring.certificate();
        let message = Message {
            payload,
            aad: b"",
            padding: Padding::Padme,
            ..Message::default()
        };
        let mut before = Vec::new();
        let mut distributions = Vec::new();
        // Start (or rotate, or re-distribute) once, then encrypt: a fresh
        // distribution leaves nothing for `encrypt` to object to, so three
        // rounds are plenty.
        for _ in 0..3 {
            let Some(session) = self.sessions.outbound.get_mut(conversation) else {
                let mut session =
                    OutboundSession::new(cert, conversation, GROUP_POLICY, now, &mut net.rng)
                        .map_err(SendError::Session)?;
                distributions.push(distribute(&mut session, keyring, &lists, net, now)?);
                before.push(Before::Started(session.session_id()));
                self.sessions.own.insert(session.session_id());
                self.sessions
                    .outbound
                    .insert(conversation.to_vec(), session);
                continue;
            };
            match session.encrypt(keyring.secret(), &lists, &message, now, &mut net.rng) {
                Ok(sent) => {
                    net.relay
                        .upload_session(sent.to_bytes())
                        .map_err(SendError::Relay)?;
                    return Ok(GroupSent {
                        before,
                        distributions,
                        message: sent,
                    });
                }
                Err(SessionError::MembershipChanged { added }) => {
                    distributions.push(distribute(session, keyring, &lists, net, now)?);
                    before.push(Before::Redistributed(added));
                }
                Err(SessionError::RotationRequired) => {
                    let old = session.session_id();
                    let mut new =
                        OutboundSession::new(cert, conversation, GROUP_POLICY, now, &mut net.rng)
                            .map_err(SendError::Session)?;
                    distributions.push(distribute(&mut new, keyring, &lists, net, now)?);
                    before.push(Before::Rotated {
                        old,
                        new: new.session_id(),
                    });
                    self.sessions.own.insert(new.session_id());
                    // The old session's state (its chain key) is dropped, wiped.
                    self.sessions.outbound.insert(conversation.to_vec(), new);
                }
                Err(e) => return Err(SendError::Session(e)),
            }
        }
        Err(SendError::Session(SessionError::Internal))
    }

    /// A distribution that opened: audited,
    /// then given to the store. The device's own distribution (it is a
    /// recipient of its envelope, sealed sender) is refused by the store as
    /// `OwnSession` and discarded.
    pub(super) fn take_distribution(
        &mut self,
        opened: &Opened,
        directory: &Directory,
        now: u64,
    ) -> GroupEvent {
        let audit = audit(self, opened, directory);
        let result = self.sessions.inbound.receive(&self.keyring, opened, now);
        GroupEvent::Session { result, audit }
    }

    /// A session message: the store finds the session by its id and
    /// checks the sender against the trust store (SPEC.md §15.9).
    pub(super) fn read_group(&mut self, bytes: &[u8], now: u64) -> GroupEvent {
        let own = SessionMessage::from_bytes(bytes)
            .is_ok_and(|m| self.sessions.own.contains(&m.session_id()));
        if own {
            return GroupEvent::Own;
        }
        let result = self.sessions.inbound.decrypt(bytes, &self.trust, now);
        GroupEvent::Message(result.map(Box::new))
    }
}

/// Seals the session's current state to every device of `lists` with the
/// prekeys the directory serves, uploads the envelope, and tells the relay
/// the session id so it routes the session's messages to the same devices.
fn distribute(
    session: &mut OutboundSession,
    keyring: &DeviceKeyring,
    lists: &[&VerifiedDeviceList],
    net: &mut Net,
    now: u64,
) -> Result<Envelope, SendError> {
    let prekeys = fetch_prekeys(lists, &net.directory, now);
    let refs: Vec<&VerifiedPrekey> = prekeys.iter().collect();
    let envelope = session
        .distribute(
            keyring.secret(),
            keyring.certificate(),
            lists,
            &refs,
            Padding::Padme,
            now,
            &mut net.rng,
        )
        .map_err(SendError::Session)?;
    net.relay
        .upload_distribution(envelope.to_bytes(), session.session_id(), &net.directory)
        .map_err(SendError::Relay)?;
    Ok(envelope)
}
