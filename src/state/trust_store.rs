//! The trusted device lists of a client's contacts: exactly one current
//! list per account, a bounded history of the lists it replaced, and any
//! fork evidence (SPEC.md §14.1).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;

use crate::consts::limit;
use crate::envelope::DeviceListLookup;
use crate::error::DeviceListError;
use crate::identity::{
    AccountPublicKey, DeviceCertificate, DeviceList, ForkEvidence, VerifiedDeviceList,
};

/// What a client trusts about one contact account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub(crate) current: VerifiedDeviceList,
    /// Replaced lists, oldest first, at most `MAX_TRUST_HISTORY`.
    pub(crate) history: Vec<DeviceList>,
    pub(crate) fork: Option<ForkEvidence>,
    /// When `current` became current (the caller's clock, Unix ms).
    pub(crate) since: u64,
    /// Certificates the last update replaced whose device stayed on every
    /// list of the chain, with when they were replaced: what the grace
    /// policy may still accept (SPEC.md §14.1). Sorted by device id.
    pub(crate) grace: Vec<GraceEntry>,
}

/// A replaced certificate still acceptable during the grace period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GraceEntry {
    pub(crate) certificate: DeviceCertificate,
    /// `issued_at` of the first list of the chain that no longer held it.
    pub(crate) replaced_at: u64,
}

/// The grace entries of an update from `old` through `chain`: each
/// certificate of `old` that the new list replaced, whose device id is on
/// every list of the chain (a removal anywhere in the walk ends grace).
fn grace_entries(
    old: &VerifiedDeviceList,
    chain: &[DeviceList],
    new: &VerifiedDeviceList,
) -> Vec<GraceEntry> {
    let mut entries = Vec::new();
    for device in old.devices() {
        let id = device.device_id();
        if new.device(id).map(|d| d.certificate()) == Some(device.certificate()) {
            continue;
        }
        let mut replaced_at = None;
        let mut stayed = true;
        for list in chain {
            match list.certificates().iter().find(|c| c.device_id() == id) {
                None => stayed = false,
                Some(c) if c != device.certificate() && replaced_at.is_none() => {
                    replaced_at = Some(list.issued_at());
                }
                Some(_) => {}
            }
        }
        if let (true, Some(replaced_at)) = (stayed, replaced_at) {
            entries.push(GraceEntry {
                certificate: device.certificate().clone(),
                replaced_at,
            });
        }
    }
    entries
}

impl Contact {
    /// The account's current trusted list.
    pub fn current(&self) -> &VerifiedDeviceList {
        &self.current
    }

    /// The lists `current` replaced, oldest first (at most
    /// [`limit::MAX_TRUST_HISTORY`]).
    pub fn history(&self) -> &[DeviceList] {
        &self.history
    }

    /// Fork evidence, once the directory showed two lists of one version.
    pub fn fork(&self) -> Option<&ForkEvidence> {
        self.fork.as_ref()
    }

    /// When the current list became current (Unix ms, the caller's clock).
    pub fn since(&self) -> u64 {
        self.since
    }
}

/// Why the trust store refused a change (SPEC.md §14.1).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustError {
    /// [`TrustStore::trust`] for an account the store already trusts: use
    /// [`TrustStore::update`].
    AlreadyTrusted,
    /// [`TrustStore::update`] for an account the store does not trust.
    UnknownAccount,
    /// The store holds [`limit::MAX_CONTACTS`] accounts.
    Full,
    /// A grace period above [`limit::MAX_GRACE_MS`].
    InvalidGrace,
    /// The account has fork evidence: it authenticates nobody and is not
    /// sealed to until the user decides ([`TrustStore::remove`]).
    Forked(AccountPublicKey),
    /// The update failed: the list error. A fork is also kept as evidence
    /// ([`Contact::fork`]) and the account stops authenticating anyone.
    List(DeviceListError),
}

impl fmt::Display for TrustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustError::AlreadyTrusted => f.write_str("account already trusted; update it"),
            TrustError::UnknownAccount => f.write_str("account not trusted yet"),
            TrustError::Full => f.write_str("trust store full"),
            TrustError::InvalidGrace => f.write_str("grace period above its limit"),
            TrustError::Forked(a) => write!(f, "account {a:?} has fork evidence"),
            TrustError::List(e) => write!(f, "device list update: {e}"),
        }
    }
}

impl core::error::Error for TrustError {}

/// The client's trusted device lists, one per contact account: what
/// [`crate::open`] authenticates senders against and what a sender seals to.
/// Sans-I/O: the app fetches from the directory and stores the bytes of
/// [`TrustStore::export`]; the store decides.
///
/// There is no way to hold two lists of one account: an update replaces
/// the current list (the old one moves to a bounded history), so a
/// superseded list never authenticates anyone (issue 13, situation 7).
///
/// # Example
/// ```
/// # use fanseal::*;
/// # use rand_core::SeedableRng;
/// # let mut rng = rand_chacha::ChaCha20Rng::from_seed([8; 32]);
/// # let alice = AccountSecret::generate(&mut rng);
/// # let cert = |rng: &mut rand_chacha::ChaCha20Rng| {
/// #     let d = DeviceSecret::generate(rng);
/// #     alice.certify_device(&CertificateParams { device_id: DeviceId::random(rng),
/// #         keys: d.public_keys(), created_at: 0, expires_at: None, capabilities: 0 }).unwrap()
/// # };
/// let v1 = alice.issue_device_list(None, 0, vec![cert(&mut rng)])?.verify(&alice.public_key())?;
/// let mut store = TrustStore::new();
/// store.trust(v1.clone(), 0)?; // after comparing the safety number
/// let v2 = alice.issue_device_list(Some(&v1), 1, vec![cert(&mut rng)])?;
/// store.update(&alice.public_key(), &[v2], 5)?; // the chain after version 1
/// assert_eq!(store.contact(&alice.public_key()).unwrap().current().version(), 2);
/// let saved = store.export();
/// assert_eq!(TrustStore::import(&saved)?, store);
/// # Ok::<(), Box<dyn core::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustStore {
    pub(crate) contacts: BTreeMap<AccountPublicKey, Contact>,
    pub(crate) grace_ms: u64,
}

impl Default for TrustStore {
    fn default() -> Self {
        TrustStore::new()
    }
}

impl TrustStore {
    /// The default grace period: 2 days in ms (SPEC.md §14.1).
    pub const DEFAULT_GRACE_MS: u64 = 2 * limit::DAY_MS;

    /// An empty store with [`TrustStore::DEFAULT_GRACE_MS`].
    pub fn new() -> Self {
        TrustStore {
            contacts: BTreeMap::new(),
            grace_ms: Self::DEFAULT_GRACE_MS,
        }
    }

    /// Sets the grace period of SPEC.md §14.1 (ms, at most
    /// [`limit::MAX_GRACE_MS`]; 0 turns grace off).
    ///
    /// # Errors
    /// [`TrustError::InvalidGrace`] above the limit.
    pub fn set_grace(&mut self, grace_ms: u64) -> Result<(), TrustError> {
        if grace_ms > limit::MAX_GRACE_MS {
            return Err(TrustError::InvalidGrace);
        }
        self.grace_ms = grace_ms;
        Ok(())
    }

    /// The grace period (ms).
    pub fn grace_ms(&self) -> u64 {
        self.grace_ms
    }

    /// Trusts `list` as the first list of its account at `now` (after the
    /// user compared safety numbers, or on first use).
    ///
    /// # Errors
    /// [`TrustError::AlreadyTrusted`], [`TrustError::Full`].
    pub fn trust(&mut self, list: VerifiedDeviceList, now: u64) -> Result<(), TrustError> {
        if self.contacts.contains_key(list.account()) {
            return Err(TrustError::AlreadyTrusted);
        }
        if self.contacts.len() >= limit::MAX_CONTACTS {
            return Err(TrustError::Full);
        }
        self.contacts.insert(
            *list.account(),
            Contact {
                current: list,
                history: Vec::new(),
                fork: None,
                since: now,
                grace: Vec::new(),
            },
        );
        Ok(())
    }

    /// Updates `account` with the chain a directory served after its
    /// current version ([`VerifiedDeviceList::update_chain`]) at `now`. On
    /// success the old list moves to the history (the oldest is dropped
    /// beyond [`limit::MAX_TRUST_HISTORY`]); a chain that signs the current
    /// contents changes nothing. On a fork the evidence is kept and the
    /// account no longer authenticates senders.
    ///
    /// # Errors
    /// [`TrustError::UnknownAccount`]; [`TrustError::List`] with the update's
    /// error (nothing changes, except that a fork's evidence is kept).
    pub fn update(
        &mut self,
        account: &AccountPublicKey,
        chain: &[DeviceList],
        now: u64,
    ) -> Result<&VerifiedDeviceList, TrustError> {
        let contact = self
            .contacts
            .get_mut(account)
            .ok_or(TrustError::UnknownAccount)?;
        if contact.fork.is_some() {
            return Err(TrustError::Forked(*account));
        }
        if chain.is_empty() {
            // The directory has nothing after the current version.
            return Ok(&contact.current);
        }
        match contact.current.update_chain(chain) {
            Ok(next) => {
                if next.list().hash() != contact.current.list().hash() {
                    let grace = grace_entries(&contact.current, chain, &next);
                    let old = core::mem::replace(&mut contact.current, next);
                    contact.history.push(old.list().clone());
                    if contact.history.len() > limit::MAX_TRUST_HISTORY {
                        contact.history.remove(0);
                    }
                    contact.since = now;
                    contact.grace = grace;
                }
                Ok(&contact.current)
            }
            Err(DeviceListError::Fork(evidence)) => {
                if contact.fork.is_none() {
                    contact.fork = Some((*evidence).clone());
                }
                Err(TrustError::List(DeviceListError::Fork(evidence)))
            }
            Err(e) => Err(TrustError::List(e)),
        }
    }

    /// What the store trusts about `account`.
    pub fn contact(&self, account: &AccountPublicKey) -> Option<&Contact> {
        self.contacts.get(account)
    }

    /// Every trusted account with what the store holds for it, by account.
    pub fn contacts(&self) -> impl Iterator<Item = (&AccountPublicKey, &Contact)> {
        self.contacts.iter()
    }

    /// Forgets `account` (and its history and evidence).
    pub fn remove(&mut self, account: &AccountPublicKey) -> Option<Contact> {
        self.contacts.remove(account)
    }
}

/// The current list of each account; none for an account with fork
/// evidence (a forked account authenticates nobody until the user decides:
/// remove it and trust again).
impl DeviceListLookup for TrustStore {
    fn verified_device_list(&self, account: &AccountPublicKey) -> Option<&VerifiedDeviceList> {
        self.contacts
            .get(account)
            .filter(|c| c.fork.is_none())
            .map(|c| &c.current)
    }

    /// The grace policy of SPEC.md §14.1: what was valid when the store
    /// learned of a change stays acceptable for `grace_ms` on the caller's
    /// clock, except a device the current list removed.
    fn accepts_in_grace(&self, certificate: &DeviceCertificate, timestamp: u64, now: u64) -> bool {
        let Some(contact) = self.contacts.get(certificate.account()) else {
            return false;
        };
        if contact.fork.is_some() {
            return false;
        }
        let grace = self.grace_ms;
        let id = certificate.device_id();
        // A removed device is refused at once.
        let Some(listed) = contact.current.device(id) else {
            return false;
        };
        // An expired certificate: only for a message stamped before its
        // expiry, and only until expiry + grace.
        let expiry_ok = |c: &DeviceCertificate| match c.params().expires_at {
            Some(expires_at) if expires_at <= now => {
                timestamp < expires_at && now < expires_at.saturating_add(grace)
            }
            _ => true,
        };
        if listed.certificate() == certificate {
            return expiry_ok(certificate);
        }
        // Renewed or re-keyed: a certificate the last update replaced whose
        // device stayed on every list of the chain, for `grace` after the
        // store learned of it (on a clock that did not step back), for a
        // message stamped before it was replaced (plus the clock allowance),
        // if it was valid when the store learned of the change.
        let Some(entry) = contact.grace.iter().find(|e| e.certificate == *certificate) else {
            return false;
        };
        contact.since <= now
            && now < contact.since.saturating_add(grace)
            && timestamp
                <= entry
                    .replaced_at
                    .saturating_add(limit::MAX_PREKEY_CLOCK_SKEW_MS)
            && !certificate.is_expired(contact.since)
            && expiry_ok(certificate)
    }
}
