//! Conversation helpers over the trust store (SPEC.md §14.3): the lists to
//! seal to, the check that an opened message belongs to the conversation
//! the app expects, and the audit of its recipient set.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use core::fmt;

use crate::envelope::Opened;
use crate::identity::{AccountPublicKey, DeviceId, KeyId, VerifiedDeviceList, VerifiedPrekey};
use crate::state::trust_store::{TrustError, TrustStore};
use crate::suite::Suite;

/// A conversation as the app defines it: an id (carried as each message's
/// AAD) and the member accounts (the sender's own included).
///
/// # Example
/// ```
/// # use fanseal::*;
/// # use rand_core::SeedableRng;
/// # let mut rng = rand_chacha::ChaCha20Rng::from_seed([9; 32]);
/// # let mk = |rng: &mut rand_chacha::ChaCha20Rng| {
/// #     let a = AccountSecret::generate(rng);
/// #     let d = DeviceSecret::generate(rng);
/// #     let c = a.certify_device(&CertificateParams { device_id: DeviceId::random(rng),
/// #         keys: d.public_keys(), created_at: 0, expires_at: None, capabilities: 0 }).unwrap();
/// #     let l = a.issue_device_list(None, 0, vec![c.clone()]).unwrap().verify(&a.public_key()).unwrap();
/// #     (a, DeviceKeyring::new(d, c).unwrap(), l)
/// # };
/// let (alice, alice_phone, alice_list) = mk(&mut rng);
/// let (bob, bob_phone, bob_list) = mk(&mut rng);
/// let mut store = TrustStore::new();
/// store.trust(alice_list, 0)?;
/// store.trust(bob_list, 0)?;
/// let chat = Conversation::new(b"chat-7".to_vec(), [alice.public_key(), bob.public_key()]);
/// let lists = chat.seal_lists(&store)?;
/// let msg = Message { payload: b"hi", aad: chat.id(), padding: Padding::Padme, ..Message::default() };
/// let sent = seal(alice_phone.secret(), alice_phone.certificate(), &lists, &[], &msg, 1, &mut rng)?;
/// let opened = open(&bob_phone, &sent.to_bytes(), &store, 1)?;
/// chat.check(&store, &opened, &[])?; // right conversation, member sender, every member device
/// # Ok::<(), Box<dyn core::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    id: Vec<u8>,
    members: BTreeSet<AccountPublicKey>,
}

/// Why an opened message does not fit the conversation (SPEC.md §14.3).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConversationError {
    /// The message's AAD is another conversation's id.
    WrongConversation,
    /// The sender account is not a member.
    NotAMember(AccountPublicKey),
    /// The recipient set is not the members' current devices: the audit
    /// says which key ids are unknown and which member devices are missing.
    Recipients(RecipientAudit),
    /// A member is not in the trust store, or has fork evidence.
    Trust(TrustError),
}

impl fmt::Display for ConversationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConversationError::WrongConversation => f.write_str("message of another conversation"),
            ConversationError::NotAMember(a) => write!(f, "sender {a:?} is not a member"),
            ConversationError::Recipients(a) => write!(
                f,
                "recipients differ from the members' devices: {} unknown, {} missing",
                a.unknown.len(),
                a.missing.len()
            ),
            ConversationError::Trust(e) => write!(f, "member trust: {e}"),
        }
    }
}

impl core::error::Error for ConversationError {}

/// The recipient key ids of an opened message mapped to devices (SPEC.md
/// §14.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecipientAudit {
    /// Key ids naming a device of a trusted account: (account, device).
    pub devices: Vec<(AccountPublicKey, DeviceId)>,
    /// Key ids the store cannot map (a device not on any current list, or
    /// a prekey the caller did not pass): possibly a ghost recipient.
    pub unknown: Vec<KeyId>,
    /// Devices of the audited accounts' current lists (valid at the message
    /// time) that the message was not wrapped for.
    pub missing: Vec<(AccountPublicKey, DeviceId)>,
    /// The message is classical although every device of the audited
    /// accounts' current lists valid at its time supports the hybrid suite
    /// (SPEC.md §4.10, §14.3): the sender broke the suite rule, or sealed
    /// with older lists than the caller's.
    pub suite_downgrade: bool,
}

impl Conversation {
    /// A conversation with this id and these member accounts.
    pub fn new(id: Vec<u8>, members: impl IntoIterator<Item = AccountPublicKey>) -> Self {
        Conversation {
            id,
            members: members.into_iter().collect(),
        }
    }

    /// The id, to pass as [`crate::Message::aad`].
    pub fn id(&self) -> &[u8] {
        &self.id
    }

    /// The members.
    pub fn members(&self) -> impl Iterator<Item = &AccountPublicKey> {
        self.members.iter()
    }

    /// The members' current lists, for [`crate::seal`] (one per member, in
    /// account order).
    ///
    /// # Errors
    /// [`TrustError::UnknownAccount`] for a member the store does not
    /// trust, [`TrustError::Forked`] for one with fork evidence.
    pub fn seal_lists<'s>(
        &self,
        store: &'s TrustStore,
    ) -> Result<Vec<&'s VerifiedDeviceList>, TrustError> {
        self.members
            .iter()
            .map(|a| {
                let contact = store.contact(a).ok_or(TrustError::UnknownAccount)?;
                if contact.fork().is_some() {
                    return Err(TrustError::Forked(*a));
                }
                Ok(contact.current())
            })
            .collect()
    }

    /// Checks an opened message against the conversation, in this order:
    /// its AAD is this conversation's id, its sender is a member, and its
    /// recipients are exactly the members' devices valid at the message's
    /// timestamp ([`TrustStore::audit`] with `prekeys`, the prekeys the
    /// caller knows for the members' devices).
    ///
    /// # Errors
    /// [`ConversationError`], the first check that fails.
    pub fn check(
        &self,
        store: &TrustStore,
        opened: &Opened,
        prekeys: &[&VerifiedPrekey],
    ) -> Result<(), ConversationError> {
        if opened.aad() != self.id.as_slice() {
            return Err(ConversationError::WrongConversation);
        }
        if !self.members.contains(opened.sender_account()) {
            return Err(ConversationError::NotAMember(*opened.sender_account()));
        }
        self.seal_lists(store).map_err(ConversationError::Trust)?;
        let audit = store.audit(opened, &self.members, prekeys);
        if !audit.unknown.is_empty() || !audit.missing.is_empty() || audit.suite_downgrade {
            return Err(ConversationError::Recipients(audit));
        }
        Ok(())
    }
}

impl TrustStore {
    /// Maps the recipient key ids of `opened` to devices of `accounts`
    /// (their current lists: certificate key ids, and prekey key ids of
    /// `prekeys` for those devices), lists the key ids it cannot map, and
    /// the devices of those lists valid at the message's timestamp that the
    /// message was not wrapped for (SPEC.md §14.3).
    pub fn audit(
        &self,
        opened: &Opened,
        accounts: &BTreeSet<AccountPublicKey>,
        prekeys: &[&VerifiedPrekey],
    ) -> RecipientAudit {
        let mut audit = RecipientAudit::default();
        let mut seen: BTreeSet<(AccountPublicKey, DeviceId)> = BTreeSet::new();
        let lists: Vec<&VerifiedDeviceList> = accounts
            .iter()
            .filter_map(|a| self.contact(a).map(|c| c.current()))
            .collect();
        let suite = opened.suite();
        for key_id in opened.recipients() {
            // A key id maps only to a key of the envelope's suite: a
            // certificate key or a classical prekey in a classical envelope,
            // a hybrid prekey in a hybrid one.
            let by_certificate = lists
                .iter()
                .filter(|_| suite == Suite::Classical)
                .find_map(|l| {
                    l.device_by_key_id(key_id)
                        .map(|d| (*l.account(), d.device_id()))
                });
            let by_prekey = || {
                prekeys
                    .iter()
                    .filter(|p| p.suite() == suite)
                    .find(|p| p.key_id() == *key_id && accounts.contains(p.account()))
                    .filter(|p| {
                        lists.iter().any(|l| {
                            l.account() == p.account()
                                && l.device(p.device_id())
                                    .is_some_and(|d| d.keys().ed25519 == *p.device_key())
                        })
                    })
                    .map(|p| (*p.account(), p.device_id()))
            };
            match by_certificate.or_else(by_prekey) {
                Some(device) => {
                    seen.insert(device);
                    audit.devices.push(device);
                }
                None => audit.unknown.push(*key_id),
            }
        }
        let mut all_hybrid = true;
        let mut any = false;
        for list in &lists {
            for device in list.active_devices(opened.timestamp()) {
                any = true;
                all_hybrid &= device.supports_hybrid();
                let id = (*list.account(), device.device_id());
                if !seen.contains(&id) {
                    audit.missing.push(id);
                }
            }
        }
        audit.suite_downgrade = suite == Suite::Classical && any && all_hybrid;
        audit
    }
}
