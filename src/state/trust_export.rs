//! The trust store's persisted form (SPEC.md §14.2): versioned, canonical
//! bytes, loaded all-or-nothing, every list verified again.
//!
//! ```text
//! 0x02 || 0x22 || u64 grace (ms, ≤ MAX_GRACE_MS) || u32 n (0..=MAX_CONTACTS), n × contact, by account ascending
//! contact: u64 since
//!          u32 len || current device list (verified under its own account)
//!          u8 h (0..=8), h × (u32 len || replaced list), versions ascending, below the current
//!          u8 fork (0 or 1) [|| u32 len || fork evidence of this account]
//!          u16 g (0..=256), g × (200-byte certificate || u64 replaced at), by device id ascending
//! ```

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::codec::{Reader, Writer};
use crate::consts::{limit, object_type};
use crate::error::DecodeError;
use crate::identity::{
    AccountPublicKey, DeviceCertificate, DeviceList, ForkEvidence, CERTIFICATE_LEN,
    DEVICE_LIST_MAX_LEN,
};
use crate::state::trust_store::{Contact, GraceEntry, TrustStore};

/// Longest fork evidence: prefix and two length-prefixed lists.
const FORK_MAX_LEN: usize = 2 + 2 * (4 + DEVICE_LIST_MAX_LEN);

impl TrustStore {
    /// The store as versioned, canonical bytes (SPEC.md §14.2). Public data
    /// only (signed lists and evidence), but its integrity is the client's
    /// trust: store it where the app stores its keys.
    pub fn export(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(6);
        w.object_prefix(object_type::TRUST_STORE);
        w.u64(self.grace_ms);
        w.len_u32(self.contacts.len());
        for contact in self.contacts.values() {
            w.u64(contact.since);
            w.bytes_u32(&contact.current.list().to_bytes());
            w.u8(u8::try_from(contact.history.len()).unwrap_or(u8::MAX));
            for list in &contact.history {
                w.bytes_u32(&list.to_bytes());
            }
            match &contact.fork {
                None => w.u8(0),
                Some(evidence) => {
                    w.u8(1);
                    w.bytes_u32(&evidence.to_bytes());
                }
            }
            w.len_u16(contact.grace.len());
            for entry in &contact.grace {
                entry.certificate.encode_into(&mut w);
                w.u64(entry.replaced_at);
            }
        }
        w.into_vec()
    }

    /// Loads a store exported by [`TrustStore::export`], checking in the
    /// order of SPEC.md §14.2; nothing is half-loaded.
    ///
    /// # Errors
    /// [`DecodeError`] for the first field that fails: malformed bytes
    /// (`Truncated`, `OutOfRange`, `TrailingBytes`, a list's own decode
    /// error), `NonCanonical` for unsorted accounts or history, and
    /// `Inconsistent` for a list that does not verify or belongs to another
    /// account, or evidence that is not a fork of this account.
    pub fn import(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        r.object_prefix(object_type::TRUST_STORE)?;
        let grace_ms = r.u64("grace period")?;
        if grace_ms > limit::MAX_GRACE_MS {
            return Err(DecodeError::OutOfRange {
                field: "grace period",
                offset: r.position(),
                min: 0,
                max: usize::try_from(limit::MAX_GRACE_MS).unwrap_or(usize::MAX),
                found: usize::try_from(grace_ms).unwrap_or(usize::MAX),
            });
        }
        let n = usize::try_from(r.u32("contact count")?).unwrap_or(usize::MAX);
        let n = r.bounded(n, 0, limit::MAX_CONTACTS, "contact count")?;
        let mut contacts = BTreeMap::new();
        let mut previous: Option<AccountPublicKey> = None;
        for _ in 0..n {
            let (account, contact) = read_contact(&mut r)?;
            if previous.is_some_and(|p| p >= account) {
                return Err(DecodeError::NonCanonical("contacts order"));
            }
            previous = Some(account);
            contacts.insert(account, contact);
        }
        r.finish()?;
        Ok(TrustStore { contacts, grace_ms })
    }
}

fn read_contact(r: &mut Reader<'_>) -> Result<(AccountPublicKey, Contact), DecodeError> {
    let since = r.u64("since")?;
    let current = DeviceList::from_bytes(r.bytes_u32(DEVICE_LIST_MAX_LEN, "current list")?)?;
    let account = *current.account();
    let current = current
        .verify(&account)
        .map_err(|_| DecodeError::Inconsistent("current list does not verify"))?;
    let h = usize::from(r.u8("history count")?);
    let h = r.bounded(h, 0, limit::MAX_TRUST_HISTORY, "history count")?;
    let mut history: Vec<DeviceList> = Vec::with_capacity(h);
    for _ in 0..h {
        let list = DeviceList::from_bytes(r.bytes_u32(DEVICE_LIST_MAX_LEN, "replaced list")?)?;
        if *list.account() != account {
            return Err(DecodeError::Inconsistent(
                "replaced list of another account",
            ));
        }
        let after_previous = history.last().is_none_or(|p| p.version() < list.version());
        if !after_previous || list.version() >= current.version() {
            return Err(DecodeError::NonCanonical("replaced lists order"));
        }
        list.verify(&account)
            .map_err(|_| DecodeError::Inconsistent("replaced list does not verify"))?;
        history.push(list);
    }
    let fork = match r.u8("fork flag")? {
        0 => None,
        1 => {
            let evidence = ForkEvidence::from_bytes(r.bytes_u32(FORK_MAX_LEN, "fork evidence")?)?;
            let forked = evidence
                .verify()
                .map_err(|_| DecodeError::Inconsistent("fork evidence does not verify"))?;
            if forked != account {
                return Err(DecodeError::Inconsistent(
                    "fork evidence of another account",
                ));
            }
            Some(evidence)
        }
        _ => return Err(DecodeError::NonCanonical("fork flag")),
    };
    let g = usize::from(r.u16("grace count")?);
    let g = r.bounded(g, 0, limit::MAX_DEVICES_PER_LIST, "grace count")?;
    r.require(g.saturating_mul(CERTIFICATE_LEN + 8), "grace entries")?;
    let mut grace: Vec<GraceEntry> = Vec::with_capacity(g);
    for _ in 0..g {
        let certificate = DeviceCertificate::decode(r)?;
        let replaced_at = r.u64("replaced at")?;
        let id = certificate.device_id();
        if grace
            .last()
            .is_some_and(|e| e.certificate.device_id() >= id)
        {
            return Err(DecodeError::NonCanonical("grace entries order"));
        }
        let listed = current.device(id).map(|d| d.certificate());
        if listed.is_none() || listed == Some(&certificate) {
            return Err(DecodeError::Inconsistent(
                "grace entry not replaced on the current list",
            ));
        }
        certificate
            .verify_signed_by(&account)
            .map_err(|_| DecodeError::Inconsistent("grace certificate does not verify"))?;
        grace.push(GraceEntry {
            certificate,
            replaced_at,
        });
    }
    Ok((
        account,
        Contact {
            current,
            history,
            fork,
            since,
            grace,
        },
    ))
}
