//! A three-account messenger core on fanseal, told as a story that checks
//! every outcome (issue 13: every situation, with the client-state API).
//!
//! * Alice (phone, tablet; later a laptop), Bob (phone, desktop) and Carol
//!   (phone); every device requires signed prekeys (`CAPABILITY_PREKEYS`).
//! * An in-memory **directory** keeps every device list version of each
//!   account and serves "the chain after version v" in one response, plus
//!   each device's signed prekeys (SPEC.md §13.1).
//! * An in-memory **relay** stores each uploaded envelope once, splits it
//!   with `RelaySplit` and routes each delivery by key id through the
//!   certificates and prekeys the directory publishes (SPEC.md §13.2).
//! * Each device runs a **client** that holds only fanseal state: its
//!   `DeviceKeyring`, a `TrustStore` and a `ReplayGuard` (SPEC.md §14). A
//!   restart exports the three to bytes and imports them.
//! * The friends' **group chat** runs on sender-key sessions (`group.rs`,
//!   SPEC.md §15): each sending device distributes one session per
//!   conversation in one envelope, then sends session messages the relay
//!   routes by session id; the sessions are part of the client's saved state.
//!
//! Randomness comes from a seeded `ChaCha20Rng` (reproducible); time is a
//! Unix-ms counter the story advances explicitly.
//!
//! Run with `cargo run --example messenger` (this file is
//! `examples/messenger/main.rs`).

mod group;

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::fmt;

use fanseal::{
    open, seal, AccountPublicKey, AccountSecret, CertificateParams, DecodeError, DeviceCertificate,
    DeviceId, DeviceKeyring, DeviceList, DeviceListError, DeviceListLookup, DevicePublicKeys,
    DeviceSecret, DistributionReceived, Envelope, KeyId, Membership, Message, OpenError, Opened,
    Padding, RelaySplit, ReplayError, ReplayGuard, SafetyNumber, SealError, SessionError,
    SessionId, SessionMessage, SignedPrekey, TrustError, TrustStore, VerifiedDeviceList,
    VerifiedPrekey, CAPABILITY_PREKEYS,
};
use group::{
    group_outcome, Before, GroupEvent, GroupReceived, SavedSessions, Sessions, FRIENDS,
    GROUP_POLICY,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zeroize::Zeroizing;

type Res<T> = Result<T, Box<dyn Error>>;

const T0: u64 = 1_764_300_000_000; // the story's first instant, Unix ms
const SECOND: u64 = 1000;
const MINUTE: u64 = 60 * SECOND;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;
const YEAR: u64 = 365 * DAY;

// ---------------------------------------------------------------------------
// The directory (SPEC.md §13.1): public bytes only; clients verify all of it.
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Directory {
    /// Every list version ever published per account (index = version − 1).
    lists: BTreeMap<AccountPublicKey, Vec<Vec<u8>>>,
    /// Every signed prekey uploaded per device (the relay routes by them).
    prekeys: BTreeMap<(AccountPublicKey, DeviceId), Vec<Vec<u8>>>,
    /// Devices whose prekeys this directory (misbehaving) does not serve.
    withheld: BTreeSet<(AccountPublicKey, DeviceId)>,
}

impl Directory {
    /// Accepts the next version of an account's list, if it extends the
    /// newest one it holds (an honest directory; clients check again).
    fn publish_list(&mut self, list: &DeviceList) -> Res<()> {
        let account = *list.account();
        match self.newest(&account)? {
            None => drop(list.verify(&account)?),
            Some(newest) => drop(newest.verify(&account)?.update(&[], list)?),
        }
        self.lists.entry(account).or_default().push(list.to_bytes());
        Ok(())
    }

    fn newest(&self, account: &AccountPublicKey) -> Res<Option<DeviceList>> {
        match self.lists.get(account).and_then(|v| v.last()) {
            Some(bytes) => Ok(Some(DeviceList::from_bytes(bytes)?)),
            None => Ok(None),
        }
    }

    /// "The chain after version v": every list v+1 ..= newest, ascending,
    /// in one response.
    fn chain_after(&self, account: &AccountPublicKey, version: u64) -> Res<Vec<DeviceList>> {
        let all = self.lists.get(account).ok_or("unknown account")?;
        let skip = usize::try_from(version)?;
        Ok(all
            .iter()
            .skip(skip)
            .map(|b| DeviceList::from_bytes(b))
            .collect::<Result<_, _>>()?)
    }

    /// A prekey upload, checked against the device on the newest list
    /// (SPEC.md §13.1: §3.7 steps 1–8 at the directory's clock).
    fn upload_prekey(&mut self, prekey: &SignedPrekey, now: u64) -> Res<()> {
        let account = *prekey.account();
        let newest = self.newest(&account)?.ok_or("no list for this account")?;
        newest.verify(&account)?.verify_prekey(prekey, now)?;
        let key = (account, prekey.device_id());
        self.prekeys.entry(key).or_default().push(prekey.to_bytes());
        Ok(())
    }

    /// The device's current prekey: the greatest `(created_at, key id)` of
    /// those that still verify against the newest list at `now`.
    fn current_prekey(
        &self,
        account: &AccountPublicKey,
        device: DeviceId,
        now: u64,
    ) -> Option<SignedPrekey> {
        if self.withheld.contains(&(*account, device)) {
            return None;
        }
        let newest = self.newest(account).ok()??.verify(account).ok()?;
        self.prekeys
            .get(&(*account, device))?
            .iter()
            .filter_map(|b| SignedPrekey::from_bytes(b).ok())
            .filter(|p| newest.verify_prekey(p, now).is_ok())
            .max_by_key(|p| (p.created_at(), p.key_id()))
    }

    /// Every prekey ever published with this key id (for audits).
    fn prekey_by_key_id(&self, key_id: &KeyId) -> Option<SignedPrekey> {
        self.prekeys
            .values()
            .flatten()
            .filter_map(|b| SignedPrekey::from_bytes(b).ok())
            .find(|p| p.key_id() == *key_id)
    }

    /// The mailbox a key id routes to: a device certificate key of any
    /// published list, or a published prekey (SPEC.md §13.2).
    fn mailbox_of(&self, key_id: &KeyId) -> Option<Mailbox> {
        if let Some(p) = self.prekey_by_key_id(key_id) {
            return Some((*p.account(), p.device_id()));
        }
        self.lists
            .values()
            .flatten()
            .filter_map(|b| DeviceList::from_bytes(b).ok())
            .flat_map(|l| l.certificates().to_vec())
            .find(|c| c.key_id() == *key_id)
            .map(|c| (*c.account(), c.device_id()))
    }
}

// ---------------------------------------------------------------------------
// The relay (SPEC.md §13.2): stores each envelope once, routes by key id.
// ---------------------------------------------------------------------------

type Mailbox = (AccountPublicKey, DeviceId);

/// A delivery still to hand out: a cut of a stored envelope, or a stored
/// session message.
enum Pending {
    Envelope(usize, KeyId),
    Session(usize),
}

/// What a device fetches.
enum Delivery {
    Envelope(Vec<u8>),
    Session(Vec<u8>),
}

#[derive(Default)]
struct Relay {
    /// Envelopes exactly as uploaded; deliveries are cut from these bytes.
    stored: Vec<Vec<u8>>,
    /// Session messages as uploaded (each once, whatever the group size).
    session_messages: Vec<Vec<u8>>,
    /// Per session id, the devices its distributions went to: the sender
    /// declares the session id with each distribution it uploads.
    routes: BTreeMap<SessionId, BTreeSet<Mailbox>>,
    /// Per device: deliveries still to hand out.
    mailboxes: BTreeMap<Mailbox, Vec<Pending>>,
    /// Key ids the directory could not map (kept or dropped by retention).
    unroutable: usize,
}

impl Relay {
    /// Stores an envelope and files one pending delivery per recipient key
    /// id; returns the devices it went to.
    fn upload(
        &mut self,
        envelope: Vec<u8>,
        directory: &Directory,
    ) -> Result<BTreeSet<Mailbox>, DecodeError> {
        let index = self.stored.len();
        let routes: Vec<(KeyId, Option<Mailbox>)> = RelaySplit::new(&envelope)?
            .recipients()
            .iter()
            .map(|k| (*k, directory.mailbox_of(k)))
            .collect();
        let mut to = BTreeSet::new();
        for (key_id, mailbox) in &routes {
            match mailbox {
                Some(m) => {
                    let pending = Pending::Envelope(index, *key_id);
                    self.mailboxes.entry(*m).or_default().push(pending);
                    to.insert(*m);
                }
                None => self.unroutable += 1,
            }
        }
        self.stored.push(envelope);
        Ok(to)
    }

    /// A distribution envelope, with the session id its sender declares:
    /// the session's messages go to the devices it went to (a
    /// re-distribution adds the added devices).
    fn upload_distribution(
        &mut self,
        envelope: Vec<u8>,
        session: SessionId,
        directory: &Directory,
    ) -> Result<(), DecodeError> {
        let to = self.upload(envelope, directory)?;
        self.routes.entry(session).or_default().extend(to);
        Ok(())
    }

    /// Stores a session message once and files it for every device of its
    /// session (read from the message's public header), the sender's own
    /// included: every device fetches every message (SPEC.md §15.11).
    fn upload_session(&mut self, message: Vec<u8>) -> Result<usize, DecodeError> {
        let session = SessionMessage::from_bytes(&message)?.session_id();
        let index = self.session_messages.len();
        let to = self.routes.get(&session).cloned().unwrap_or_default();
        for mailbox in &to {
            let pending = Pending::Session(index);
            self.mailboxes.entry(*mailbox).or_default().push(pending);
        }
        self.session_messages.push(message);
        Ok(to.len())
    }

    /// Hands a device its pending deliveries. A server writes the four
    /// borrowed slices of `DeliveryParts` with vectored I/O; in memory the
    /// "network" is one `Vec` per delivery.
    fn fetch(&mut self, mailbox: &Mailbox) -> Res<Vec<Delivery>> {
        let pending = self.mailboxes.remove(mailbox).unwrap_or_default();
        let mut out = Vec::new();
        for p in pending {
            match p {
                Pending::Envelope(index, key_id) => {
                    let stored = self.stored.get(index).ok_or("no such envelope")?;
                    let split = RelaySplit::new(stored)?;
                    let delivery = split.delivery(&key_id).ok_or("no such delivery")?;
                    out.push(Delivery::Envelope(delivery.to_vec()));
                }
                Pending::Session(index) => {
                    let stored = self.session_messages.get(index).ok_or("no such message")?;
                    out.push(Delivery::Session(stored.clone()));
                }
            }
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------
// Accounts: the account key signs certificates and device lists.
// ---------------------------------------------------------------------------

struct Account {
    name: &'static str,
    secret: AccountSecret,
    list: Option<VerifiedDeviceList>,
}

impl Account {
    fn new(name: &'static str, rng: &mut ChaCha20Rng) -> Self {
        let secret = AccountSecret::generate(rng);
        Account {
            name,
            secret,
            list: None,
        }
    }

    fn key(&self) -> AccountPublicKey {
        self.secret.public_key()
    }

    fn certify(
        &self,
        device_id: DeviceId,
        keys: DevicePublicKeys,
        now: u64,
        valid_for: u64,
    ) -> Res<DeviceCertificate> {
        Ok(self.secret.certify_device(&CertificateParams {
            device_id,
            keys,
            created_at: now,
            expires_at: Some(now + valid_for),
            capabilities: CAPABILITY_PREKEYS,
        })?)
    }

    /// The certificates on the newest list.
    fn certificates(&self) -> Vec<DeviceCertificate> {
        self.list
            .as_ref()
            .map(|l| l.list().certificates().to_vec())
            .unwrap_or_default()
    }

    /// Issues the next list version with `certificates` and publishes it.
    fn publish(
        &mut self,
        certificates: Vec<DeviceCertificate>,
        now: u64,
        directory: &mut Directory,
    ) -> Res<u64> {
        let list = self
            .secret
            .issue_device_list(self.list.as_ref(), now, certificates)?;
        directory.publish_list(&list)?;
        let verified = list.verify(&self.key())?;
        let version = verified.version();
        self.list = Some(verified);
        println!("  {} publishes device list v{version}", self.name);
        Ok(version)
    }
}

// ---------------------------------------------------------------------------
// A device's client: only fanseal state (keyring, trust store, replay guard).
// ---------------------------------------------------------------------------

/// Why a client refused a delivery.
#[derive(Debug, PartialEq)]
enum Refusal {
    Open(OpenError),
    Replay(ReplayError),
    Trust(TrustError),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Open(e) => write!(f, "open: {e}"),
            Refusal::Replay(e) => write!(f, "replay guard: {e}"),
            Refusal::Trust(e) => write!(f, "trust store: {e}"),
        }
    }
}

impl Error for Refusal {}

/// Why a client could not send.
#[derive(Debug, PartialEq)]
enum SendError {
    /// The app must trust (compare safety numbers with) this account first.
    NotTrusted(AccountPublicKey),
    Seal(SealError),
    Session(SessionError),
    Relay(DecodeError),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NotTrusted(a) => write!(f, "{a:?} is not trusted yet"),
            SendError::Seal(e) => write!(f, "seal: {e}"),
            SendError::Session(e) => write!(f, "session: {e}"),
            SendError::Relay(e) => write!(f, "relay refused the upload: {e}"),
        }
    }
}

impl Error for SendError {}

/// A client's state objects as the bytes an app writes to storage.
#[derive(Clone)]
struct Saved {
    keyring: Zeroizing<Vec<u8>>,
    trust: Vec<u8>,
    guard: Vec<u8>,
    sessions: SavedSessions,
}

struct Client {
    name: &'static str,
    keyring: DeviceKeyring,
    trust: TrustStore,
    guard: ReplayGuard,
    /// The group chat's sessions (`group.rs`).
    sessions: Sessions,
}

impl Client {
    /// A new device of `account`: fresh keys, a certificate, empty state.
    fn enrol(
        account: &Account,
        name: &'static str,
        now: u64,
        rng: &mut ChaCha20Rng,
    ) -> Res<Client> {
        let secret = DeviceSecret::generate(rng);
        let cert = account.certify(DeviceId::random(rng), secret.public_keys(), now, YEAR)?;
        Ok(Client {
            name,
            sessions: Sessions::new(&cert),
            keyring: DeviceKeyring::new(secret, cert)?,
            trust: TrustStore::new(),
            // 64 ids per contact account, a 7-day window, 60 s of clock skew.
            guard: ReplayGuard::new(64, 7 * DAY, MINUTE),
        })
    }

    fn account(&self) -> AccountPublicKey {
        *self.keyring.certificate().account()
    }

    fn mailbox(&self) -> Mailbox {
        (self.account(), self.keyring.certificate().device_id())
    }

    /// Trusts `account`'s newest list from the directory, verified under the
    /// account key the user confirmed with the safety number (SPEC.md §3.6).
    fn trust_account(
        &mut self,
        directory: &Directory,
        account: &AccountPublicKey,
        now: u64,
    ) -> Res<()> {
        let list = directory.newest(account)?.ok_or("not in the directory")?;
        self.trust.trust(list.verify(account)?, now)?;
        Ok(())
    }

    /// Fetches the chain after the trusted version of `account` (one
    /// response) and updates the store (one call).
    fn refresh(
        &mut self,
        directory: &Directory,
        account: &AccountPublicKey,
        now: u64,
    ) -> Result<Option<Update>, Refusal> {
        let from = self
            .trust
            .contact(account)
            .map(|c| c.current().version())
            .ok_or(Refusal::Trust(TrustError::UnknownAccount))?;
        let chain = directory.chain_after(account, from).unwrap_or_default();
        if chain.is_empty() {
            return Ok(None);
        }
        let to = self
            .trust
            .update(account, &chain, now)
            .map_err(Refusal::Trust)?
            .version();
        let (account, chain) = (*account, chain.len());
        Ok(Some(Update {
            account,
            from,
            to,
            chain,
        }))
    }

    /// Refreshes every trusted account the directory has news for.
    fn sync(&mut self, directory: &Directory, now: u64) -> Result<Vec<Update>, Refusal> {
        let accounts: Vec<AccountPublicKey> = self.trust.contacts().map(|(a, _)| *a).collect();
        let mut updates = Vec::new();
        for account in accounts {
            updates.extend(self.refresh(directory, &account, now)?);
        }
        Ok(updates)
    }

    /// Makes a prekey and uploads it (SPEC.md §3.8 Rotate, §13.1).
    fn publish_prekey(&mut self, net: &mut Net, now: u64) -> Res<SignedPrekey> {
        let prekey = self.keyring.rotate_prekey(now, &mut net.rng)?;
        net.directory.upload_prekey(&prekey, now)?;
        Ok(prekey)
    }

    /// What an app runs at start-up and periodically: delete what the
    /// policy says is past its grace, rotate when due (SPEC.md §3.8).
    fn maintain(&mut self, net: &mut Net, now: u64) -> Res<()> {
        self.keyring.delete_expired(now);
        if self.keyring.needs_rotation(now) {
            self.publish_prekey(net, now)?;
        }
        Ok(())
    }

    /// Seals to the trusted lists of `to` (the own account included for
    /// self-sync) with the prekeys the directory serves, each verified
    /// against the trusted list, and uploads to the relay.
    fn send(
        &self,
        to: &[AccountPublicKey],
        payload: &[u8],
        net: &mut Net,
        now: u64,
    ) -> Result<Envelope, SendError> {
        let mut lists = Vec::new();
        for account in to {
            let list = self
                .trust
                .verified_device_list(account)
                .ok_or(SendError::NotTrusted(*account))?;
            lists.push(list);
        }
        let prekeys = fetch_prekeys(&lists, &net.directory, now);
        let refs: Vec<&VerifiedPrekey> = prekeys.iter().collect();
        let message = Message {
            payload,
            aad: b"conversation:friends",
            padding: Padding::Padme,
            ..Message::default()
        };
        let secret = self.keyring.secret();
        let cert = self.keyring.certificate();
        let envelope = seal(secret, cert, &lists, &refs, &message, now, &mut net.rng)
            .map_err(SendError::Seal)?;
        net.relay
            .upload(envelope.to_bytes(), &net.directory)
            .map_err(SendError::Relay)?;
        Ok(envelope)
    }

    /// Opens a delivery against the trust store, then the replay guard
    /// decides (SPEC.md §6).
    fn accept(
        &mut self,
        delivery: &[u8],
        directory: &Directory,
        now: u64,
    ) -> Result<Opened, Refusal> {
        let opened = self.open_delivery(delivery, directory, now)?;
        self.guard
            .check_opened(&opened, now)
            .map_err(Refusal::Replay)?;
        Ok(opened)
    }

    /// Opens a delivery against the trust store. On the precise
    /// `SenderNotOnTrustedList(account)` it refreshes that one account and
    /// retries once (SPEC.md §5.2 step 9).
    fn open_delivery(
        &mut self,
        delivery: &[u8],
        directory: &Directory,
        now: u64,
    ) -> Result<Opened, Refusal> {
        let opened = match open(&self.keyring, delivery, &self.trust, now) {
            Err(OpenError::SenderNotOnTrustedList(account)) => {
                if let Some(u) = self.refresh(directory, &account, now)? {
                    println!("    {}: refreshed {u}", self.name);
                }
                open(&self.keyring, delivery, &self.trust, now).map_err(Refusal::Open)?
            }
            other => other.map_err(Refusal::Open)?,
        };
        Ok(opened)
    }

    /// Fetches the mailbox and handles each delivery.
    fn receive(&mut self, net: &mut Net, now: u64) -> Res<Inbox> {
        let mut inbox = Inbox::default();
        for delivery in net.relay.fetch(&self.mailbox())? {
            self.deliver(delivery, &net.directory, now, &mut inbox);
        }
        Ok(inbox)
    }

    /// One delivery: an envelope is opened; a session distribution
    /// (`session::is_distribution`) goes to the session store, which is
    /// the replay authority for distributions (SPEC.md §15.4); any other
    /// envelope is a direct message and passes the replay guard. A session
    /// message goes to the store.
    fn deliver(&mut self, delivery: Delivery, directory: &Directory, now: u64, inbox: &mut Inbox) {
        match delivery {
            Delivery::Envelope(bytes) => match self.open_delivery(&bytes, directory, now) {
                Ok(opened) if fanseal::session::is_distribution(&opened) => {
                    let event = self.take_distribution(&opened, directory, now);
                    inbox.group.push(GroupReceived { bytes, event });
                }
                Ok(opened) => {
                    let result = self
                        .guard
                        .check_opened(&opened, now)
                        .map_err(Refusal::Replay)
                        .map(|()| opened);
                    inbox.direct.push(Received { bytes, result });
                }
                Err(e) => inbox.direct.push(Received {
                    bytes,
                    result: Err(e),
                }),
            },
            Delivery::Session(bytes) => {
                let event = self.read_group(&bytes, now);
                inbox.group.push(GroupReceived { bytes, event });
            }
        }
    }

    /// The state objects as canonical bytes (SPEC.md §3.9, §6.4, §14.2;
    /// SPEC.md §15.7–15.8).
    fn save(&self) -> Saved {
        Saved {
            keyring: self.keyring.export(),
            trust: self.trust.export(),
            guard: self.guard.to_bytes(),
            sessions: self.sessions.save(),
        }
    }

    /// All or nothing: any part that fails to load loads nothing.
    fn restore(name: &'static str, saved: &Saved) -> Res<Client> {
        let keyring = DeviceKeyring::import(&saved.keyring)?;
        Ok(Client {
            name,
            sessions: Sessions::restore(&saved.sessions, keyring.certificate())?,
            keyring,
            trust: TrustStore::import(&saved.trust)?,
            guard: ReplayGuard::from_bytes(&saved.guard)?,
        })
    }
}

/// A trust store update from one directory response.
struct Update {
    account: AccountPublicKey,
    from: u64,
    to: u64,
    chain: usize,
}

impl fmt::Display for Update {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (key, from, to, n) = (short(&self.account), self.from, self.to, self.chain);
        write!(
            f,
            "account {key}: v{from} -> v{to} ({n} list(s) in one response, one update)"
        )
    }
}

/// An account key's first 4 bytes in hex, for printing.
fn short(account: &AccountPublicKey) -> String {
    let hex: String = account
        .as_bytes()
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{hex}..")
}

struct Received {
    bytes: Vec<u8>,
    result: Result<Opened, Refusal>,
}

/// What one fetch brought: direct messages, and the group chat's traffic
/// (distributions and session messages).
#[derive(Default)]
struct Inbox {
    direct: Vec<Received>,
    group: Vec<GroupReceived>,
}

impl Inbox {
    fn group_outcomes(&self) -> Vec<String> {
        self.group.iter().map(group_outcome).collect()
    }
}

/// "ok: <payload>" or "refused: <reason>", for compact assertions.
fn outcome(r: &Received) -> String {
    match &r.result {
        Ok(o) => format!("ok: {}", String::from_utf8_lossy(o.payload())),
        Err(Refusal::Open(OpenError::SenderNotOnTrustedList(a))) => {
            format!("refused: SenderNotOnTrustedList({})", short(a))
        }
        Err(e) => format!("refused: {e:?}"),
    }
}

/// The prekey the directory serves for every active device of `lists`,
/// verified against the list the client trusts (SPEC.md §3.7). A prekey
/// that is missing or fails verification is left out: `seal` then names
/// the device (`MissingPrekey`) instead of falling back.
fn fetch_prekeys(
    lists: &[&VerifiedDeviceList],
    directory: &Directory,
    now: u64,
) -> Vec<VerifiedPrekey> {
    let mut out = Vec::new();
    for list in lists {
        for device in list.active_devices(now) {
            let served = directory.current_prekey(list.account(), device.device_id(), now);
            if let Some(p) = served.and_then(|p| list.verify_prekey(&p, now).ok()) {
                out.push(p);
            }
        }
    }
    out
}

/// What every client talks to, and the story's RNG (a seeded ChaCha20:
/// real code uses `fanseal::os_rng()`, see step 9).
struct Net {
    directory: Directory,
    relay: Relay,
    rng: ChaCha20Rng,
}

/// The clients of the story, by name.
#[derive(Default)]
struct Clients(Vec<Client>);

impl Clients {
    fn get(&self, name: &str) -> Res<&Client> {
        Ok(self
            .0
            .iter()
            .find(|c| c.name == name)
            .ok_or(format!("no client {name}"))?)
    }

    fn get_mut(&mut self, name: &str) -> Res<&mut Client> {
        Ok(self
            .0
            .iter_mut()
            .find(|c| c.name == name)
            .ok_or(format!("no client {name}"))?)
    }

    fn take(&mut self, name: &str) -> Res<Client> {
        let at = self
            .0
            .iter()
            .position(|c| c.name == name)
            .ok_or(format!("no client {name}"))?;
        Ok(self.0.remove(at))
    }

    /// Every client but `except` fetches and accepts its deliveries.
    fn receive_all(
        &mut self,
        except: &[&str],
        net: &mut Net,
        now: u64,
    ) -> Res<BTreeMap<&'static str, Inbox>> {
        let mut out = BTreeMap::new();
        for c in self.0.iter_mut().filter(|c| !except.contains(&c.name)) {
            out.insert(c.name, c.receive(net, now)?);
        }
        Ok(out)
    }

    fn maintain_all(&mut self, net: &mut Net, now: u64) -> Res<()> {
        for c in &mut self.0 {
            c.maintain(net, now)?;
        }
        Ok(())
    }
}

/// Names for printing and for the audit's report.
#[derive(Default)]
struct Names {
    accounts: BTreeMap<AccountPublicKey, &'static str>,
    devices: BTreeMap<DeviceId, &'static str>,
}

impl Names {
    fn update(&self, u: &Update) -> String {
        let a = self.accounts.get(&u.account).copied().unwrap_or("?");
        let one = if u.chain > 1 {
            format!(" ({} lists, one response)", u.chain)
        } else {
            String::new()
        };
        format!("{a} v{}->v{}{one}", u.from, u.to)
    }

    fn device(&self, account: &AccountPublicKey, device: DeviceId) -> String {
        let a = self.accounts.get(account).copied().unwrap_or("?");
        let d = self.devices.get(&device).copied().unwrap_or("?");
        format!("{a}/{d}")
    }
}

/// The recipient audit: maps every key id in the signed header to a device
/// of a trusted account, through the trusted lists (certificate key ids)
/// and the prekeys the directory published, each verified against the
/// trusted list. `None` flags a key id no trusted device accounts for.
fn audit(client: &Client, opened: &Opened, directory: &Directory) -> Vec<(KeyId, Option<Mailbox>)> {
    opened
        .recipients()
        .iter()
        .map(|key_id| {
            let by_cert = client.trust.contacts().find_map(|(a, c)| {
                c.current()
                    .device_by_key_id(key_id)
                    .map(|d| (*a, d.device_id()))
            });
            let by_prekey = || {
                let p = directory.prekey_by_key_id(key_id)?;
                let list = client.trust.verified_device_list(p.account())?;
                let v = list.verify_prekey(&p, opened.timestamp()).ok()?;
                Some((*v.account(), v.device_id()))
            };
            (*key_id, by_cert.or_else(by_prekey))
        })
        .collect()
}

/// Situation 8: one device key from the OS RNG when the feature is on.
#[cfg(feature = "getrandom")]
fn os_drawn_key() -> Option<DeviceSecret> {
    Some(DeviceSecret::generate(&mut fanseal::os_rng()))
}

#[cfg(not(feature = "getrandom"))]
fn os_drawn_key() -> Option<DeviceSecret> {
    None
}

fn main() -> Res<()> {
    // Situation 8: the RNG. Real code passes `fanseal::os_rng()` (feature
    // `getrandom`) wherever fanseal takes an RNG; this story uses a seeded
    // ChaCha20 so that every run is the same (see step 9).
    let mut net = Net {
        directory: Directory::default(),
        relay: Relay::default(),
        rng: ChaCha20Rng::from_seed([13; 32]),
    };
    let mut now = T0;
    let mut clients = Clients::default();
    let mut names = Names::default();

    // -----------------------------------------------------------------
    println!(
        "1. enrolment, lists, safety numbers, prekeys, a group message (SPEC §3, §4.9, §5, §13)"
    );
    // -----------------------------------------------------------------
    let mut alice = Account::new("alice", &mut net.rng);
    let mut bob = Account::new("bob", &mut net.rng);
    let mut carol = Account::new("carol", &mut net.rng);
    let (a, b, c) = (short(&alice.key()), short(&bob.key()), short(&carol.key()));
    println!("  account keys: alice {a}, bob {b}, carol {c}");
    for (account, devices) in [
        (&mut alice, &["alice-phone", "alice-tablet"][..]),
        (&mut bob, &["bob-phone", "bob-desktop"][..]),
        (&mut carol, &["carol-phone"][..]),
    ] {
        names.accounts.insert(account.key(), account.name);
        let mut certs = Vec::new();
        for name in devices {
            let client = Client::enrol(account, name, now, &mut net.rng)?;
            names
                .devices
                .insert(client.keyring.certificate().device_id(), name);
            certs.push(client.keyring.certificate().clone());
            clients.0.push(client);
        }
        account.publish(certs, now, &mut net.directory)?;
    }
    // Each device uploads a signed prekey; the directory checked it against
    // the newest list, and a sender verifies it again when fetching.
    for c in &mut clients.0 {
        c.publish_prekey(&mut net, now)?;
    }
    for account in [&alice, &bob, &carol] {
        let list = account.list.as_ref().ok_or("unpublished")?;
        let fetched = fetch_prekeys(&[list], &net.directory, now);
        assert_eq!(fetched.len(), list.devices().len());
        println!(
            "  {}: {} prekey(s) fetched and verified against v1",
            account.name,
            fetched.len()
        );
    }
    // Safety numbers: both sides of each pair compute the same number; the
    // users compare them, then each client trusts the lists (its own too).
    for (a, b) in [(&alice, &bob), (&alice, &carol), (&bob, &carol)] {
        let n = SafetyNumber::new(&a.key(), &b.key());
        assert_eq!(n, SafetyNumber::new(&b.key(), &a.key()));
        println!("  safety number {}-{}: {n}", a.name, b.name);
    }
    for c in &mut clients.0 {
        for account in [&alice, &bob, &carol] {
            c.trust_account(&net.directory, &account.key(), now)?;
        }
    }
    // An old backup, used in step 7: bob-phone's trust store (all at v1).
    let bob_phone_backup = clients.get("bob-phone")?.trust.export();
    // The friends' group chat runs on sessions (group.rs). Alice's phone
    // starts one and distributes it in one envelope to the 5 devices (its
    // own among them: sealed sender), then sends the first message as a
    // session message the relay routes by session id.
    let everyone = [alice.key(), bob.key(), carol.key()];
    let sent = clients.get_mut("alice-phone")?.send_group(
        FRIENDS,
        &everyone,
        b"dinner on friday?",
        &mut net,
        now,
    )?;
    let [Before::Started(alice_session)] = sent.before[..] else {
        return Err(format!("expected a new session: {:?}", sent.before).into());
    };
    let [distribution] = sent.distributions.as_slice() else {
        return Err("expected one distribution".into());
    };
    assert_eq!(distribution.header().recipients().len(), 5);
    assert_eq!(
        net.relay.routes.get(&alice_session).map(|r| r.len()),
        Some(5)
    );
    assert_eq!(net.relay.unroutable, 0);
    // Kept for step 2: the history a device added later may not read.
    let dinner = sent.message.to_bytes();
    println!(
        "  alice-phone started a session ({} messages or {} days): one distribution envelope for 5 devices, then message 0 ({} B)",
        GROUP_POLICY.max_messages,
        GROUP_POLICY.max_age_ms / DAY,
        dinner.len()
    );
    now += SECOND;
    let got = clients.receive_all(&[], &mut net, now)?;
    for (name, inbox) in &got {
        let own = *name == "alice-phone";
        let want = if own {
            ["session refused: OwnSession", "own message"]
        } else {
            ["new session", "group: dinner on friday?"]
        };
        assert_eq!(inbox.group_outcomes(), want, "{name}");
        assert!(inbox.direct.is_empty(), "{name}");
        let [distribution, message] = inbox.group.as_slice() else {
            return Err(format!("{name}: expected two deliveries").into());
        };
        // The relay delivers the distribution again: the store is the
        // replay authority for distributions, and a replay of a held
        // session is `Held`, which changes nothing.
        let client = clients.get_mut(name)?;
        let opened = client.open_delivery(&distribution.bytes, &net.directory, now)?;
        let before = client.sessions.inbound.export();
        let again = client.take_distribution(&opened, &net.directory, now);
        let GroupEvent::Session { result, .. } = again else {
            return Err("not a distribution".into());
        };
        if *name == "alice-phone" {
            assert_eq!(result, Err(SessionError::OwnSession));
        } else {
            assert!(
                matches!(result, Ok(DistributionReceived::Held(_))),
                "{name}"
            );
        }
        assert_eq!(*client.sessions.inbound.export(), *before, "{name}");
        // The recipient audit of the distribution: every key id in its
        // signed header is a device of a trusted account; nothing unknown.
        let GroupEvent::Session { audit, .. } = &distribution.event else {
            return Err("not a distribution".into());
        };
        assert!(audit.iter().all(|(_, who)| who.is_some()), "unknown key id");
        let devices: BTreeSet<String> = audit
            .iter()
            .filter_map(|(_, who)| who.map(|(a, d)| names.device(&a, d)))
            .collect();
        assert_eq!(devices.len(), 5);
        if !own {
            // The message names its sender (checked against the trust
            // store) and its conversation; delivered again, it is refused.
            let GroupEvent::Message(Ok(m)) = &message.event else {
                return Err("not a message".into());
            };
            assert_eq!(m.sender_account(), &alice.key());
            assert_eq!(m.conversation_id(), FRIENDS);
            let GroupEvent::Message(again) = client.read_group(&message.bytes, now) else {
                return Err("not a message".into());
            };
            assert_eq!(again.err(), Some(SessionError::DuplicateIndex { index: 0 }));
        }
        println!("  {name:<12} {want:?}; replays refused; audit: {devices:?}");
    }
    // Bob's phone answers: a session of its own (one per sending device
    // and conversation).
    let sent = clients.get_mut("bob-phone")?.send_group(
        FRIENDS,
        &everyone,
        b"friday works",
        &mut net,
        now,
    )?;
    assert!(matches!(sent.before[..], [Before::Started(_)]));
    let got = clients.receive_all(&[], &mut net, now)?;
    for (name, inbox) in &got {
        let want = if *name == "bob-phone" {
            ["session refused: OwnSession", "own message"]
        } else {
            ["new session", "group: friday works"]
        };
        assert_eq!(inbox.group_outcomes(), want, "{name}");
    }
    println!("  bob-phone started its own session; the 4 other devices read \"friday works\"");

    // -----------------------------------------------------------------
    println!("\n2. situation 1: a stale list gives a precise error (SPEC §5.2 step 9, §13.1)");
    // -----------------------------------------------------------------
    now += HOUR;
    let mut laptop = Client::enrol(&alice, "alice-laptop", now, &mut net.rng)?;
    names
        .devices
        .insert(laptop.keyring.certificate().device_id(), "alice-laptop");
    let mut certs = alice.certificates();
    certs.push(laptop.keyring.certificate().clone());
    assert_eq!(alice.publish(certs, now, &mut net.directory)?, 2);
    laptop.publish_prekey(&mut net, now)?;
    for account in &everyone {
        laptop.trust_account(&net.directory, account, now)?;
    }
    laptop.send(
        &[alice.key(), bob.key()],
        b"hello from my new laptop",
        &mut net,
        now,
    )?;
    clients.0.push(laptop);
    let bob_phone = clients.get_mut("bob-phone")?;
    let deliveries = net.relay.fetch(&bob_phone.mailbox())?;
    let Some(Delivery::Envelope(delivery)) = deliveries.first() else {
        return Err("no envelope delivered".into());
    };
    // Bob's phone trusts Alice's v1: not "unauthenticated", but the account
    // whose list to refresh.
    let stale = open(&bob_phone.keyring, delivery, &bob_phone.trust, now);
    assert_eq!(
        stale.err(),
        Some(OpenError::SenderNotOnTrustedList(alice.key()))
    );
    println!("  bob-phone (alice v1): SenderNotOnTrustedList(alice)");
    let chain = net.directory.chain_after(&alice.key(), 1)?;
    assert_eq!(chain.len(), 1);
    bob_phone.trust.update(&alice.key(), &chain, now)?;
    let opened = bob_phone.accept(delivery, &net.directory, now)?;
    assert_eq!(opened.payload(), b"hello from my new laptop");
    println!("  bob-phone fetched alice's chain after v1 ([v2]), one update, opened it");
    // The others refresh the same way inside `accept`.
    let got = clients.receive_all(&[], &mut net, now)?;
    for (name, inbox) in &got {
        for r in &inbox.direct {
            assert_eq!(outcome(r), "ok: hello from my new laptop", "{name}");
        }
    }
    println!("  alice-phone, alice-tablet, alice-laptop, bob-desktop opened it too");
    // The group chat: alice-phone's session went out before the laptop
    // existed. Its trust store now has alice v2 (refreshed above), so
    // `encrypt` answers MembershipChanged and the session's current state
    // goes out again: the laptop reads from index 1 on.
    let laptop_key = clients.get("alice-laptop")?.keyring.certificate().key_id();
    let sent = clients.get_mut("alice-phone")?.send_group(
        FRIENDS,
        &everyone,
        b"my laptop joins us",
        &mut net,
        now,
    )?;
    assert_eq!(sent.before, [Before::Redistributed(vec![laptop_key])]);
    assert_eq!(sent.message.index(), 1);
    println!("  alice-phone's next group message: encrypt said MembershipChanged(alice-laptop); re-distributed at index 1");
    let got = clients.receive_all(&[], &mut net, now)?;
    for (name, inbox) in &got {
        let want = match *name {
            "alice-phone" => ["session refused: OwnSession", "own message"],
            "alice-laptop" => ["new session", "group: my laptop joins us"],
            _ => ["held session", "group: my laptop joins us"],
        };
        assert_eq!(inbox.group_outcomes(), want, "{name}");
    }
    // Carol's phone still trusts alice v1: its audit of the re-distribution
    // cannot account for one recipient (the laptop's prekey) until it
    // refreshes Alice's list (step 3). The audit is the app's to act on.
    let carol_got = got.get("carol-phone").ok_or("no result")?;
    let Some(GroupEvent::Session { audit, .. }) = carol_got.group.first().map(|r| &r.event) else {
        return Err("no distribution".into());
    };
    let unknown = audit.iter().filter(|(_, who)| who.is_none()).count();
    assert_eq!((audit.len(), unknown), (6, 1));
    println!("  carol-phone (alice v1) audits it: 1 of 6 recipient key ids unaccounted for until it refreshes");
    // The history before the laptop's distribution stays unreadable.
    let laptop = clients.get_mut("alice-laptop")?;
    let GroupEvent::Message(history) = laptop.read_group(&dinner, now) else {
        return Err("not a message".into());
    };
    let before_it = SessionError::BeforeDistribution {
        index: 0,
        first_index: 1,
    };
    assert_eq!(history.err(), Some(before_it));
    println!("  the laptop took the session (the others: Held) and read message 1; message 0 -> BeforeDistribution");

    // -----------------------------------------------------------------
    println!("\n3. situation 2: messages in flight across list changes (SPEC §5.2 step 9, §14.1)");
    // -----------------------------------------------------------------
    now = T0 + DAY;
    clients.maintain_all(&mut net, now)?;
    // Three messages are sealed just before three list changes.
    let to_alice_bob = [alice.key(), bob.key()];
    let to_bob_carol = [bob.key(), carol.key()];
    clients
        .get("bob-desktop")?
        .send(&to_alice_bob, b"sent before my renewal", &mut net, now)?;
    clients
        .get("carol-phone")?
        .send(&to_bob_carol, b"sent before my re-key", &mut net, now)?;
    clients
        .get("alice-tablet")?
        .send(&to_alice_bob, b"sent before my removal", &mut net, now)?;
    now += MINUTE;
    // Bob renews the desktop's certificate with the same keys (bob v2).
    let desktop = clients.get_mut("bob-desktop")?;
    let old = desktop.keyring.certificate().clone();
    let renewed = bob.certify(old.device_id(), *old.keys(), now, YEAR)?;
    desktop.keyring.renew_certificate(renewed.clone())?;
    let certs = bob
        .certificates()
        .into_iter()
        .map(|c| {
            if c.device_id() == old.device_id() {
                renewed.clone()
            } else {
                c
            }
        })
        .collect();
    bob.publish(certs, now, &mut net.directory)?;
    // Carol re-keys her phone (carol v2), its certificate valid for 3 days
    // only (it expires in step 5), and publishes the new key's prekey with
    // the list (SPEC §13.1).
    let carol_phone = clients.get_mut("carol-phone")?;
    let device_id = carol_phone.keyring.certificate().device_id();
    let carol_old_key = carol_phone.keyring.certificate().key_id();
    let new_keys = DeviceSecret::generate(&mut net.rng);
    let carol_expiry = now + 3 * DAY;
    let rekeyed = carol.certify(device_id, new_keys.public_keys(), now, 3 * DAY)?;
    carol_phone.keyring.rekey(new_keys, rekeyed.clone(), now)?;
    carol.publish(vec![rekeyed], now, &mut net.directory)?;
    carol_phone.publish_prekey(&mut net, now)?;
    // Alice reports the tablet lost and removes it (alice v3).
    let mut tablet = clients.take("alice-tablet")?;
    let tablet_id = tablet.keyring.certificate().device_id();
    let certs = alice
        .certificates()
        .into_iter()
        .filter(|c| c.device_id() != tablet_id)
        .collect();
    assert_eq!(alice.publish(certs, now, &mut net.directory)?, 3);
    // Bob's phone's copy of alice v2, which the app "remembers" (step 8).
    let remembered_v2 = clients
        .get("bob-phone")?
        .trust
        .verified_device_list(&alice.key())
        .ok_or("alice not trusted")?
        .clone();
    assert_eq!(remembered_v2.version(), 2);

    // The receivers learn of the changes (periodic sync); Alice's laptop is
    // asleep. Carol's phone was still at alice v1: [v2, v3] in one response.
    now += 10 * MINUTE;
    let learned = now;
    for c in clients.0.iter_mut().filter(|c| c.name != "alice-laptop") {
        let updates = c.sync(&net.directory, now)?;
        assert_eq!(updates.len(), 3);
        let learned: Vec<String> = updates.iter().map(|u| names.update(u)).collect();
        println!("  {:<12} learned {}", c.name, learned.join(", "));
    }
    let carol_sees = clients
        .get("carol-phone")?
        .trust
        .verified_device_list(&alice.key());
    assert_eq!(carol_sees.map(|l| l.version()), Some(3));
    now += 10 * MINUTE;
    let got = clients.receive_all(&["alice-laptop"], &mut net, now)?;
    let removed = outcome(&Received {
        bytes: Vec::new(),
        result: Err(Refusal::Open(OpenError::SenderNotOnTrustedList(
            alice.key(),
        ))),
    });
    let expect =
        |msgs: &[&str]| -> Vec<String> { msgs.iter().map(|m| format!("ok: {m}")).collect() };
    let mut bob_sees = expect(&["sent before my renewal", "sent before my re-key"]);
    bob_sees.push(removed.clone());
    let mut alice_sees = expect(&["sent before my renewal"]);
    alice_sees.push(removed.clone());
    for (name, want) in [
        ("alice-phone", alice_sees),
        ("bob-phone", bob_sees.clone()),
        ("bob-desktop", bob_sees),
        ("carol-phone", expect(&["sent before my re-key"])),
    ] {
        let have: Vec<String> = got
            .get(name)
            .ok_or("no result")?
            .direct
            .iter()
            .map(outcome)
            .collect();
        assert_eq!(have, want, "{name}");
        println!("  {name:<12} {have:?}");
    }
    // Grace is what opened them: with the current lists alone (no grace
    // policy), the renewed and re-keyed senders are refused.
    let alice_phone = clients.get("alice-phone")?;
    let renewal_copy = &got
        .get("alice-phone")
        .and_then(|r| r.direct.first())
        .ok_or("no delivery")?
        .bytes;
    let current: Vec<VerifiedDeviceList> = alice_phone
        .trust
        .contacts()
        .map(|(_, c)| c.current().clone())
        .collect();
    assert_eq!(
        open(&alice_phone.keyring, renewal_copy, &current, now).err(),
        Some(OpenError::SenderNotOnTrustedList(bob.key()))
    );
    println!(
        "  renewal and re-key opened within the trust store's grace ({} days after learning); the removed tablet at once refused",
        alice_phone.trust.grace_ms() / DAY
    );
    // The laptop wakes up 2 days later: it learns of the changes now, so
    // its grace starts now; the relay also delivers the renewal message to
    // alice-phone again, after alice-phone's grace ended.
    now = learned + alice_phone.trust.grace_ms() + HOUR;
    let laptop = clients.get_mut("alice-laptop")?;
    laptop.maintain(&mut net, now)?;
    assert_eq!(laptop.sync(&net.directory, now)?.len(), 3);
    let got = laptop.receive(&mut net, now)?;
    let have: Vec<String> = got.direct.iter().map(outcome).collect();
    assert_eq!(
        have,
        [expect(&["sent before my renewal"]), vec![removed.clone()]].concat()
    );
    println!("  alice-laptop (asleep 2 days, learned now) {have:?}");
    let alice_phone = clients.get_mut("alice-phone")?;
    let late = alice_phone.accept(renewal_copy, &net.directory, now);
    assert_eq!(
        late.err(),
        Some(Refusal::Open(OpenError::SenderNotOnTrustedList(bob.key())))
    );
    println!("  alice-phone, the same renewal message after its grace ended: refused");
    // The group chat after the removal, and after Carol's re-key (a new
    // key counts as a removed device: the old one may be why). Asked after
    // the sync, alice-phone's session names the devices at once.
    let tablet_key = tablet.keyring.certificate().key_id();
    let alice_phone = clients.get_mut("alice-phone")?;
    let lists: Vec<&VerifiedDeviceList> = everyone
        .iter()
        .filter_map(|a| alice_phone.trust.verified_device_list(a))
        .collect();
    let session = alice_phone
        .sessions
        .outbound
        .get_mut(FRIENDS)
        .ok_or("no session")?;
    let Membership::Removed(gone) = session.update_membership(&lists, now) else {
        return Err("expected a removal".into());
    };
    let gone: BTreeSet<KeyId> = gone.into_iter().collect();
    assert_eq!(gone, BTreeSet::from([tablet_key, carol_old_key]));
    assert!(session.needs_rotation(now));
    println!("  alice-phone's session: update_membership -> Removed(alice-tablet, carol-phone's old key)");
    // So `encrypt` says RotationRequired; a new session goes to the 5
    // devices of the current lists only.
    let sent = alice_phone.send_group(FRIENDS, &everyone, b"the tablet is gone", &mut net, now)?;
    let [Before::Rotated { old, new }] = sent.before[..] else {
        return Err(format!("expected a rotation: {:?}", sent.before).into());
    };
    assert_eq!(old, alice_session);
    let [distribution] = sent.distributions.as_slice() else {
        return Err("expected one distribution".into());
    };
    assert_eq!(distribution.header().recipients().len(), 5);
    let route = net.relay.routes.get(&new).ok_or("no route")?;
    assert!(route.len() == 5 && !route.contains(&tablet.mailbox()));
    // The tablet's thief gets the message anyway (say, from the relay's
    // storage): it holds no session to read it with.
    let GroupEvent::Message(stolen) = tablet.read_group(&sent.message.to_bytes(), now) else {
        return Err("not a message".into());
    };
    assert_eq!(stolen.err(), Some(SessionError::UnknownSession));
    println!("  alice-phone: RotationRequired -> a new session for 5 devices; the tablet: UnknownSession");
    // Bob's phone, whose session also went to both removed devices (and
    // not yet to the laptop), rotates at its next message.
    let sent = clients
        .get_mut("bob-phone")?
        .send_group(FRIENDS, &everyone, b"noted", &mut net, now)?;
    assert!(matches!(sent.before[..], [Before::Rotated { .. }]));
    let got = clients.receive_all(&[], &mut net, now)?;
    for (name, inbox) in &got {
        let want = match *name {
            "alice-phone" => [
                "session refused: OwnSession",
                "own message",
                "new session",
                "group: noted",
            ],
            "bob-phone" => [
                "new session",
                "group: the tablet is gone",
                "session refused: OwnSession",
                "own message",
            ],
            _ => [
                "new session",
                "group: the tablet is gone",
                "new session",
                "group: noted",
            ],
        };
        assert_eq!(inbox.group_outcomes(), want, "{name}");
    }
    println!("  bob-phone rotated too; every remaining device took both new sessions and read both messages");

    // -----------------------------------------------------------------
    println!("\n4. situation 3: a flood of future-stamped messages from one contact (SPEC §6)");
    // -----------------------------------------------------------------
    now += HOUR;
    clients.maintain_all(&mut net, now)?;
    // Alice's devices, clocks 59 s fast, send 40 messages each to Bob: more
    // than the 64 ids Bob's guard keeps per account.
    let mut flood = 0;
    for name in ["alice-phone", "alice-laptop"] {
        for _ in 0..40 {
            let sender = clients.get(name)?;
            sender.send(&to_alice_bob, b"flood", &mut net, now + 59 * SECOND)?;
            flood += 1;
        }
    }
    clients
        .get("carol-phone")?
        .send(&to_bob_carol, b"a fresh message", &mut net, now)?;
    let got = clients.receive_all(&[], &mut net, now)?;
    let bob_got = &got.get("bob-phone").ok_or("no result")?.direct;
    assert_eq!(bob_got.len(), flood + 1);
    assert!(
        bob_got.iter().all(|r| r.result.is_ok()),
        "a message was refused"
    );
    let fresh = bob_got.last().ok_or("no delivery")?;
    assert_eq!(outcome(fresh), "ok: a fresh message");
    println!("  bob-phone accepted {flood} flood messages (+59 s) and then Carol's fresh one");
    // Replays: Carol's is refused as seen. Of Alice's own, those of the
    // device whose ids Bob's guard had to forget (64 kept per account) are
    // refused as too old: forgetting raised that device's floor to their
    // common timestamp. Only Alice's account pays for her flood.
    let bob_phone = clients.get_mut("bob-phone")?;
    let again = bob_phone.accept(&fresh.bytes, &net.directory, now + SECOND);
    assert_eq!(again.err(), Some(Refusal::Replay(ReplayError::Replayed)));
    let mut answers = BTreeMap::new();
    for r in bob_got.iter().take(flood) {
        let sender = r
            .result
            .as_ref()
            .map(|o| o.sender_device())
            .map_err(|e| e.to_string())?;
        let refusal = bob_phone
            .accept(&r.bytes, &net.directory, now + SECOND)
            .err();
        let refusal = refusal.ok_or("a replay was accepted")?;
        *answers
            .entry((names.device(&alice.key(), sender), format!("{refusal:?}")))
            .or_insert(0) += 1;
    }
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert!(answers.values().all(|n| *n == 40));
    let kinds: BTreeSet<&String> = answers.keys().map(|(_, k)| k).collect();
    let want = [
        Refusal::Replay(ReplayError::Replayed),
        Refusal::Replay(ReplayError::TooOld),
    ]
    .map(|r| format!("{r:?}"));
    assert_eq!(kinds, want.iter().collect());
    println!("  replays refused: Carol's Replayed; Alice's {answers:?}");
    assert_eq!(bob_phone.guard.account_count(), 3);

    // -----------------------------------------------------------------
    println!("\n5. situation 4: an account whose every certificate expired (SPEC §5.1 step 6)");
    // -----------------------------------------------------------------
    now = carol_expiry + HOUR;
    clients.maintain_all(&mut net, now)?;
    let attempt = clients
        .get("bob-phone")?
        .send(&to_bob_carol, b"are you there?", &mut net, now);
    assert_eq!(
        attempt.err(),
        Some(SendError::Seal(SealError::NoActiveDevice(carol.key())))
    );
    println!("  bob-phone -> carol: NoActiveDevice(carol), not a silent drop");
    // Carol renews (same keys, carol v3); both sides sync; it goes through.
    let carol_phone = clients.get_mut("carol-phone")?;
    let old = carol_phone.keyring.certificate().clone();
    let renewed = carol.certify(old.device_id(), *old.keys(), now, YEAR)?;
    carol_phone.keyring.renew_certificate(renewed.clone())?;
    carol.publish(vec![renewed], now, &mut net.directory)?;
    for name in [
        "carol-phone",
        "bob-phone",
        "bob-desktop",
        "alice-phone",
        "alice-laptop",
    ] {
        clients.get_mut(name)?.sync(&net.directory, now)?;
    }
    clients
        .get("bob-phone")?
        .send(&to_bob_carol, b"are you there?", &mut net, now)?;
    let got = clients.get_mut("carol-phone")?.receive(&mut net, now)?;
    assert_eq!(
        got.direct.iter().map(outcome).collect::<Vec<_>>(),
        ["ok: are you there?"]
    );
    clients.receive_all(&[], &mut net, now)?;
    println!("  after carol's renewal (v3): delivered and opened");

    // -----------------------------------------------------------------
    println!("\n6. situation 5: restart (SPEC §3.9, §6.4, §14.2)");
    // -----------------------------------------------------------------
    now += HOUR;
    clients
        .get("carol-phone")?
        .send(&to_bob_carol, b"yes, renewed", &mut net, now)?;
    // Carol's renewal kept her key: alice-phone's session goes on.
    let sent = clients.get_mut("alice-phone")?.send_group(
        FRIENDS,
        &everyone,
        b"see you on friday",
        &mut net,
        now,
    )?;
    assert!(sent.before.is_empty());
    let got = clients.get_mut("bob-phone")?.receive(&mut net, now)?;
    let before = got.direct.first().ok_or("no delivery")?;
    assert_eq!(outcome(before), "ok: yes, renewed");
    assert_eq!(got.group_outcomes(), ["group: see you on friday"]);
    let old_client = clients.take("bob-phone")?;
    let saved = old_client.save();
    println!(
        "  bob-phone saved: keyring {} B, trust store {} B, replay guard {} B, {} outbound session(s) {} B, inbound sessions {} B",
        saved.keyring.len(),
        saved.trust.len(),
        saved.guard.len(),
        saved.sessions.outbound.len(),
        saved.sessions.outbound.iter().map(|b| b.len()).sum::<usize>(),
        saved.sessions.inbound.len()
    );
    let mut restored = Client::restore("bob-phone", &saved)?;
    assert_eq!(restored.trust, old_client.trust);
    assert_eq!(restored.guard, old_client.guard);
    assert_eq!(*restored.keyring.export(), *saved.keyring);
    assert_eq!(restored.keyring.key_id(), old_client.keyring.key_id());
    assert_eq!(*restored.sessions.inbound.export(), *saved.sessions.inbound);
    assert_eq!(
        restored.sessions.inbound.len(),
        old_client.sessions.inbound.len()
    );
    let outbound = |c: &Client| -> Vec<Vec<u8>> {
        c.sessions
            .outbound
            .values()
            .map(|s| s.export().to_vec())
            .collect()
    };
    assert_eq!(outbound(&restored), outbound(&old_client));
    drop(old_client);
    // A replay of what was accepted before the restart: refused.
    let replay = restored.accept(&before.bytes, &net.directory, now);
    assert_eq!(replay.err(), Some(Refusal::Replay(ReplayError::Replayed)));
    println!("  restored equal; a delivery accepted before the restart, replayed: refused");
    clients.0.push(restored);
    clients
        .get("carol-phone")?
        .send(&to_bob_carol, b"after your restart", &mut net, now)?;
    let got = clients.get_mut("bob-phone")?.receive(&mut net, now)?;
    assert_eq!(
        got.direct.iter().map(outcome).collect::<Vec<_>>(),
        ["ok: after your restart"]
    );
    println!("  the next message opens");
    // The group chat: the restored store reads alice-phone's session on…
    let sent = clients.get_mut("alice-phone")?.send_group(
        FRIENDS,
        &everyone,
        b"welcome back",
        &mut net,
        now,
    )?;
    assert!(sent.before.is_empty());
    let got = clients.get_mut("bob-phone")?.receive(&mut net, now)?;
    assert_eq!(got.group_outcomes(), ["group: welcome back"]);
    // …and its loaded outbound session may not encrypt (it cannot know it
    // is the latest copy): the first group message after the restart rotates.
    let bob_phone = clients.get_mut("bob-phone")?;
    let loaded = bob_phone
        .sessions
        .outbound
        .get(FRIENDS)
        .ok_or("no session")?;
    assert!(loaded.needs_rotation(now));
    let sent = bob_phone.send_group(FRIENDS, &everyone, b"thanks", &mut net, now)?;
    assert!(matches!(sent.before[..], [Before::Rotated { .. }]));
    println!("  group: the restored store read the next message; the loaded outbound session said RotationRequired");
    let got = clients.receive_all(&[], &mut net, now)?;
    for (name, inbox) in &got {
        assert!(inbox.direct.iter().all(|r| r.result.is_ok()), "{name}");
        let want = match *name {
            "bob-phone" => vec!["session refused: OwnSession", "own message"],
            "alice-phone" => vec!["own message", "own message", "new session", "group: thanks"],
            _ => vec![
                "group: see you on friday",
                "group: welcome back",
                "new session",
                "group: thanks",
            ],
        };
        assert_eq!(inbox.group_outcomes(), want, "{name}");
    }
    // Corrupted storage: truncated, a trailing byte, a changed byte, or the
    // wrong object: each part is refused, and the client loads nothing.
    let corruptions = |bytes: &[u8], changed_at: usize| -> Vec<Vec<u8>> {
        let mut flipped = bytes.to_vec();
        if let Some(b) = flipped.get_mut(changed_at) {
            *b ^= 0x01;
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        vec![
            bytes.get(..bytes.len() - 1).unwrap_or_default().to_vec(),
            longer,
            flipped,
        ]
    };
    let mut refused = 0;
    for (part, bad_copies) in [
        ("keyring", corruptions(&saved.keyring, 40)), // inside the device secret
        ("trust store", corruptions(&saved.trust, 60)), // inside a signed list
        ("replay guard", corruptions(&saved.guard, 1)), // the object type
        ("inbound sessions", corruptions(&saved.sessions.inbound, 1)), // the object type
    ] {
        for bad in bad_copies {
            let mut copy = saved.clone();
            match part {
                "keyring" => copy.keyring = Zeroizing::new(bad),
                "trust store" => copy.trust = bad,
                "replay guard" => copy.guard = bad,
                _ => copy.sessions.inbound = Zeroizing::new(bad),
            }
            let result = Client::restore("bob-phone", &copy);
            assert!(result.is_err(), "corrupted {part} loaded");
            if let Err(e) = result {
                println!("  corrupted {part}: {e}");
            }
            refused += 1;
        }
    }
    assert!(
        TrustStore::import(&saved.keyring).is_err() && DeviceKeyring::import(&saved.trust).is_err()
    );
    println!(
        "  {refused} corrupted saves refused, nothing loaded; swapped objects refused by type"
    );

    // -----------------------------------------------------------------
    println!(
        "\n7. situation 6: relay split without copying, directory chain in one response (SPEC §13)"
    );
    // -----------------------------------------------------------------
    now += HOUR;
    let big = vec![0x5a_u8; 1 << 20];
    let sent = clients
        .get("alice-laptop")?
        .send(&everyone, &big, &mut net, now)?;
    let stored = net.relay.stored.last().ok_or("nothing stored")?;
    let range = stored.as_ptr_range();
    let split = RelaySplit::new(stored)?;
    assert_eq!(split.recipients(), sent.header().recipients());
    for (key_id, parts) in split.deliveries() {
        let [_prefix, header, wrap, body] = parts.as_slices();
        for part in [header, wrap, body] {
            assert!(range.contains(&part.as_ptr()), "a part was copied");
        }
        assert_eq!(body.len(), sent.header().body_len());
        assert!(body.len() > 1 << 20);
        assert!(net.directory.mailbox_of(&key_id).is_some());
    }
    println!(
        "  {} deliveries of {} B each point into the one stored {} B envelope",
        split.recipients().len(),
        split.deliveries().next().map(|(_, p)| p.len()).unwrap_or(0),
        stored.len()
    );
    let got = clients.receive_all(&[], &mut net, now)?;
    for (name, inbox) in &got {
        let [r] = inbox.direct.as_slice() else {
            return Err(format!("{name}: expected one delivery").into());
        };
        let payload = r
            .result
            .as_ref()
            .map_err(|e| format!("{name}: {e}"))?
            .payload();
        assert_eq!(payload, big.as_slice(), "{name}");
    }
    println!("  every device opened its 1 MiB delivery");
    // The directory side: bob-phone's trust store as backed up in step 1
    // (every list at v1) catches up with one response per account.
    let mut backup = TrustStore::import(&bob_phone_backup)?;
    let bob_phone = clients.get("bob-phone")?;
    for (account, versions) in [(&alice, 2), (&bob, 1), (&carol, 2)] {
        let chain = net.directory.chain_after(&account.key(), 1)?;
        assert_eq!(chain.len(), versions);
        backup.update(&account.key(), &chain, now)?;
        assert_eq!(
            backup.verified_device_list(&account.key()),
            bob_phone.trust.verified_device_list(&account.key())
        );
    }
    println!("  an old trust store (all v1) caught up: alice [v2, v3], bob [v2], carol [v2, v3], one call each");

    // -----------------------------------------------------------------
    println!("\n8. situation 7: one list per account in the trust store (SPEC §14.1)");
    // -----------------------------------------------------------------
    now += HOUR;
    // The lost tablet (its thief) sends to Bob with its still-valid keys.
    tablet.send(&[bob.key()], b"send me the codes", &mut net, now)?;
    let bob_phone = clients.get_mut("bob-phone")?;
    let got = bob_phone.receive(&mut net, now)?.direct;
    assert_eq!(
        got.iter().map(outcome).collect::<Vec<_>>(),
        [removed.as_str()]
    );
    let stolen = &got.first().ok_or("no delivery")?.bytes;
    println!(
        "  the removed tablet -> bob-phone: refused (after a refresh that found nothing newer)"
    );
    // The app still remembers alice v2, which listed the tablet. The store
    // offers no way to open against it:
    assert_eq!(
        bob_phone.trust.trust(remembered_v2.clone(), now),
        Err(TrustError::AlreadyTrusted)
    );
    assert_eq!(
        bob_phone
            .trust
            .update(&alice.key(), &[remembered_v2.list().clone()], now),
        Err(TrustError::List(DeviceListError::Rollback {
            trusted: 3,
            presented: 2
        }))
    );
    let contact = bob_phone
        .trust
        .contact(&alice.key())
        .ok_or("alice not trusted")?;
    assert_eq!(contact.current().version(), 3);
    // v2 is kept only as history, an unverified `DeviceList` that no lookup reads.
    assert_eq!(contact.history().last().map(|l| l.version()), Some(2));
    // Even a lookup the app builds with both lists takes the highest version.
    let both = [remembered_v2.clone(), contact.current().clone()];
    assert_eq!(
        open(&bob_phone.keyring, stolen, &both, now).err(),
        Some(OpenError::SenderNotOnTrustedList(alice.key()))
    );
    println!(
        "  trust(v2): AlreadyTrusted; update(v2): Rollback 3 -> 2; [v2, v3] lookup: v3 decides"
    );

    // -----------------------------------------------------------------
    println!("\n9. situation 8: where the RNG comes from");
    // -----------------------------------------------------------------
    // Real code: `let mut rng = fanseal::os_rng();` (feature `getrandom`),
    // passed to every call that takes an RNG (generate, rotate_prekey, seal).
    match os_drawn_key() {
        Some(key) => {
            let cert = bob.certify(DeviceId::random(&mut net.rng), key.public_keys(), now, YEAR)?;
            let keyring = DeviceKeyring::new(key, cert)?;
            assert!(clients.0.iter().all(|c| c.keyring.key_id() != keyring.key_id()));
            println!("  feature getrandom: drew a device key from fanseal::os_rng(): {:?}", keyring.key_id());
        }
        None => println!("  seeded ChaCha20Rng (build with --features getrandom to draw one key from fanseal::os_rng())"),
    }

    // -----------------------------------------------------------------
    println!("\n10. prekeys: a withheld prekey, a rotation, the forward-secrecy window (SPEC §3.8, §4.9)");
    // -----------------------------------------------------------------
    now += DAY;
    clients.maintain_all(&mut net, now)?;
    // The directory withholds carol-phone's prekey: seal names the device
    // and never falls back to its long-lived certificate key.
    let carol_device = clients.get("carol-phone")?.mailbox();
    net.directory.withheld.insert(carol_device);
    let attempt = clients
        .get("bob-phone")?
        .send(&to_bob_carol, b"withheld?", &mut net, now);
    let missing = SealError::MissingPrekey {
        account: carol.key(),
        device_id: carol_device.1,
    };
    assert_eq!(attempt.err(), Some(SendError::Seal(missing)));
    net.directory.withheld.clear();
    println!("  carol-phone's prekey withheld: MissingPrekey(carol-phone)");
    // Alice's phone seals to bob-phone's current prekey P; bob-phone rotates
    // before the delivery arrives; the message in flight still opens.
    let bob_device = clients.get("bob-phone")?.mailbox();
    let p = net
        .directory
        .current_prekey(&bob_device.0, bob_device.1, now)
        .ok_or("no prekey")?;
    clients
        .get("alice-phone")?
        .send(&to_alice_bob, b"sealed to P", &mut net, now)?;
    now += MINUTE;
    let bob_phone = clients.get_mut("bob-phone")?;
    let next = bob_phone.publish_prekey(&mut net, now)?;
    let got = bob_phone.receive(&mut net, now)?.direct;
    let in_flight = got.first().ok_or("no delivery")?;
    assert_eq!(outcome(in_flight), "ok: sealed to P");
    assert_eq!(
        in_flight.result.as_ref().map(|o| o.opened_with()),
        Ok(p.key_id())
    );
    println!("  bob-phone rotated P -> P'; the message sealed to P opened with P");
    clients
        .get("alice-phone")?
        .send(&to_alice_bob, b"sealed to P'", &mut net, now)?;
    let bob_phone = clients.get_mut("bob-phone")?;
    let got = bob_phone.receive(&mut net, now)?.direct;
    let opened = got
        .first()
        .ok_or("no delivery")?
        .result
        .as_ref()
        .map_err(|e| e.to_string())?;
    assert_eq!(opened.opened_with(), next.key_id());
    // P's secret goes at its expiry plus the grace period: from then on
    // nobody (the phone, or a thief of its storage) opens what was sealed to it.
    let policy = *bob_phone.keyring.policy();
    now = p.expires_at() + policy.grace_ms;
    bob_phone.maintain(&mut net, now)?;
    assert!(bob_phone
        .keyring
        .prekeys()
        .all(|k| k.key_id() != p.key_id()));
    let thief = DeviceKeyring::import(&bob_phone.keyring.export())?;
    assert_eq!(
        open(&thief, &in_flight.bytes, &bob_phone.trust, now).err(),
        Some(OpenError::NotARecipient)
    );
    println!(
        "  {} days after P was made its secret is deleted: the message sealed to P -> NotARecipient (window {} days)",
        (now - p.created_at()) / DAY,
        policy.forward_secrecy_window_ms() / DAY
    );

    // -----------------------------------------------------------------
    println!("\n11. the group chat: rotation on schedule, order, replays (SPEC.md §15.6, §15.9)");
    // -----------------------------------------------------------------
    // A week after alice-phone's session began: its age reached the policy.
    let alice_phone = clients.get("alice-phone")?;
    let session = alice_phone
        .sessions
        .outbound
        .get(FRIENDS)
        .ok_or("no session")?;
    let began = session.created_at();
    now = (now + HOUR).max(began + GROUP_POLICY.max_age_ms);
    assert!(session.needs_rotation(now));
    clients.maintain_all(&mut net, now)?;
    // What step 10 left in the mailboxes (Alice's copies of her messages).
    clients.receive_all(&[], &mut net, now)?;
    let sent = clients.get_mut("alice-phone")?.send_group(
        FRIENDS,
        &everyone,
        b"a new week",
        &mut net,
        now,
    )?;
    let [Before::Rotated { new: weekly, .. }] = sent.before[..] else {
        return Err(format!("expected a rotation: {:?}", sent.before).into());
    };
    println!(
        "  alice-phone's session is {} days old (policy {} days): RotationRequired, a new session",
        (now - began) / DAY,
        GROUP_POLICY.max_age_ms / DAY
    );
    let got = clients.receive_all(&[], &mut net, now)?;
    for (name, inbox) in &got {
        let want = if *name == "alice-phone" {
            ["session refused: OwnSession", "own message"]
        } else {
            ["new session", "group: a new week"]
        };
        assert_eq!(inbox.group_outcomes(), want, "{name}");
    }
    // Three messages; the relay hands them to bob-desktop as 3, 1, 2.
    for text in ["one", "two", "three"] {
        let alice_phone = clients.get_mut("alice-phone")?;
        let sent = alice_phone.send_group(FRIENDS, &everyone, text.as_bytes(), &mut net, now)?;
        assert!(sent.before.is_empty());
    }
    let desktop = clients.get_mut("bob-desktop")?;
    let mut deliveries = net.relay.fetch(&desktop.mailbox())?;
    deliveries.rotate_right(1);
    let mut inbox = Inbox::default();
    let mut skipped = Vec::new();
    for delivery in deliveries {
        desktop.deliver(delivery, &net.directory, now, &mut inbox);
        let held = desktop.sessions.inbound.get(&weekly).ok_or("no session")?;
        skipped.push(held.skipped_count());
    }
    assert_eq!(
        inbox.group_outcomes(),
        ["group: three", "group: one", "group: two"]
    );
    assert_eq!(skipped, [2, 1, 0]);
    // Each index is accepted once: "one" again (its skipped key was used
    // and deleted) is refused.
    let one = &inbox.group.get(1).ok_or("no delivery")?.bytes;
    let GroupEvent::Message(again) = desktop.read_group(one, now) else {
        return Err("not a message".into());
    };
    assert_eq!(again.err(), Some(SessionError::DuplicateIndex { index: 1 }));
    println!("  bob-desktop got indices 3, 1, 2: all read (skipped keys kept 2, 1, 0); index 1 again: DuplicateIndex");
    // Four more: the session has encrypted its 8 messages; the ninth
    // message goes out in a new session.
    for i in 4..8 {
        let text = format!("message {i}");
        let alice_phone = clients.get_mut("alice-phone")?;
        let sent = alice_phone.send_group(FRIENDS, &everyone, text.as_bytes(), &mut net, now)?;
        assert!(sent.before.is_empty());
    }
    let alice_phone = clients.get_mut("alice-phone")?;
    let session = alice_phone
        .sessions
        .outbound
        .get(FRIENDS)
        .ok_or("no session")?;
    assert_eq!(session.next_index(), GROUP_POLICY.max_messages);
    assert!(session.needs_rotation(now));
    let sent = alice_phone.send_group(FRIENDS, &everyone, b"the ninth", &mut net, now)?;
    assert!(matches!(sent.before[..], [Before::Rotated { old, .. }] if old == weekly));
    println!(
        "  after {} messages: RotationRequired, the ninth goes out in a new session",
        GROUP_POLICY.max_messages
    );
    let got = clients.receive_all(&[], &mut net, now)?;
    for (name, inbox) in &got {
        let mut want: Vec<String> = Vec::new();
        if *name == "alice-phone" {
            want.extend((0..7).map(|_| "own message".to_string()));
            want.extend(["session refused: OwnSession", "own message"].map(String::from));
        } else {
            if *name != "bob-desktop" {
                want.extend(["one", "two", "three"].map(|t| format!("group: {t}")));
            }
            want.extend((4..8).map(|i| format!("group: message {i}")));
            want.extend(["new session", "group: the ninth"].map(String::from));
        }
        assert_eq!(inbox.group_outcomes(), want, "{name}");
    }
    println!("  every device read messages 4-7 and took the new session");

    assert_eq!(net.relay.unroutable, 0);
    println!("\nall steps passed");
    Ok(())
}
