//! Signed device lists with a version and a hash chain (SPEC.md §3.4–3.5).
//!
//! ```text
//! size  field
//!    1  wire version          0x02
//!    1  object type           0x02 (device list)
//!    2  suite                 0x0001
//!   32  account public key
//!    8  list version          u64, >= 1, +1 per update
//!   32  previous list hash    all zero iff version = 1
//!    8  issued at             u64, Unix milliseconds
//!    2  device count n        0..=256
//! 200n  device certificates   sorted by device id, strictly ascending
//!   64  signature             Ed25519 over u8 len || label || all bytes above
//! ```
//!
//! The list hash is `SHA-256(u8 len || "fanseal v2 device list hash" || all
//! bytes before the signature)`: the chain links what was signed, not which
//! of several valid signatures a directory chose to serve (SPEC.md §3.4).

use alloc::boxed::Box;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use crate::codec::{Reader, Writer};
use crate::consts::{label, limit, object_type};
use crate::error::{DecodeError, DeviceListError};
use crate::identity::certificate::{DeviceCertificate, VerifiedDeviceCertificate, CERTIFICATE_LEN};
use crate::identity::fork::ForkEvidence;
use crate::identity::keys::{AccountPublicKey, AccountSecret, DeviceId, KeyId};
use crate::primitives::Sha256Stream;

/// Most intermediate lists [`VerifiedDeviceList::update`] will walk.
pub const MAX_CHAIN_LENGTH: usize = 256;

/// Bytes of a device list besides its certificates.
const LIST_FIXED_LEN: usize = 2 + 2 + 32 + 8 + 32 + 8 + 2 + 64;

/// Largest encoded device list: 51,350 bytes (SPEC.md §3.4).
pub const DEVICE_LIST_MAX_LEN: usize =
    LIST_FIXED_LEN + limit::MAX_DEVICES_PER_LIST * CERTIFICATE_LEN;

/// A device list as decoded or issued: **untrusted** until verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceList {
    account: AccountPublicKey,
    version: u64,
    previous_hash: [u8; 32],
    issued_at: u64,
    certificates: Vec<DeviceCertificate>,
    signature: [u8; 64],
    hash: [u8; 32],
}

impl AccountSecret {
    /// Signs the next device list (SPEC.md §3.4 "Issuing").
    ///
    /// With `previous = None` it is the first list (version 1, previous hash
    /// all zero). Otherwise `previous` must be this account's **verified**
    /// current list (a list fetched from a directory is verified first, so
    /// the account never extends a forged predecessor); the new list has
    /// version `previous.version() + 1` and carries `previous`'s list hash.
    /// Certificates are sorted by device id.
    ///
    /// Checks, in this order:
    /// 1. `previous` belongs to this account, else [`DeviceListError::WrongAccount`];
    /// 2. its version is below `u64::MAX`, else [`DeviceListError::VersionExhausted`];
    /// 3. at most [`crate::limit::MAX_DEVICES_PER_LIST`] certificates, else
    ///    [`DeviceListError::TooManyDevices`];
    /// 4. each certificate, in the order given, names this account and
    ///    verifies under its key (§3.3 steps 1–5), else
    ///    [`DeviceListError::Certificate`] for the first that fails;
    /// 5. no two certificates share a device id or a key id, else
    ///    [`DeviceListError::DuplicateKey`].
    ///
    /// # Example
    /// ```
    /// # use fanseal::*;
    /// # use rand_core::SeedableRng;
    /// # let mut rng = rand_chacha::ChaCha20Rng::from_seed([3; 32]);
    /// let alice = AccountSecret::generate(&mut rng);
    /// let phone = DeviceSecret::generate(&mut rng);
    /// let cert = alice.certify_device(&CertificateParams {
    ///     device_id: DeviceId::random(&mut rng), keys: phone.public_keys(),
    ///     created_at: 0, expires_at: None, capabilities: 0,
    /// }).unwrap();
    /// let v1 = alice.issue_device_list(None, 0, vec![cert.clone()]).unwrap()
    ///     .verify(&alice.public_key()).unwrap();
    /// let v2 = alice.issue_device_list(Some(&v1), 10, vec![cert]).unwrap();
    /// assert_eq!(v2.version(), 2);
    /// assert_eq!(v2.previous_hash(), v1.list().hash());
    /// ```
    pub fn issue_device_list(
        &self,
        previous: Option<&VerifiedDeviceList>,
        issued_at: u64,
        mut certificates: Vec<DeviceCertificate>,
    ) -> Result<DeviceList, DeviceListError> {
        let account = self.public_key();
        let (version, previous_hash) = match previous {
            None => (1, [0u8; 32]),
            Some(p) if *p.account() != account => return Err(DeviceListError::WrongAccount),
            Some(p) => (
                p.version()
                    .checked_add(1)
                    .ok_or(DeviceListError::VersionExhausted)?,
                p.list.hash,
            ),
        };
        if certificates.len() > limit::MAX_DEVICES_PER_LIST {
            return Err(DeviceListError::TooManyDevices);
        }
        let key = account
            .validated()
            .ok_or(DeviceListError::InvalidAccountKey)?;
        for c in &certificates {
            check_certificate(c, &account, &key)?;
        }
        if let Some(p) = previous {
            check_capability_kept(p, &certificates)?;
        }
        certificates.sort_by_key(|c| c.device_id());
        check_unique(&certificates)?;
        let mut list = DeviceList {
            account,
            version,
            previous_hash,
            issued_at,
            certificates,
            signature: [0; 64],
            hash: [0; 32],
        };
        let tbs = list.encode_unsigned();
        list.signature = self.sign(label::DEVICE_LIST_SIGNATURE, tbs.as_slice());
        list.hash = list_hash(tbs.as_slice());
        Ok(list)
    }
}

/// SPEC.md §3.3 steps 1–5 for one certificate of a list of `account`, whose
/// key was validated once for the whole list.
fn check_certificate(
    c: &DeviceCertificate,
    account: &AccountPublicKey,
    key: &crate::primitives::Ed25519Public,
) -> Result<(), DeviceListError> {
    let signed = if c.account() == account {
        c.verify_signed_with(key)
    } else {
        Err(crate::error::CertificateError::WrongAccount)
    };
    signed.map_err(|error| DeviceListError::Certificate {
        device_id: c.device_id(),
        error,
    })
}

fn check_unique(certs: &[DeviceCertificate]) -> Result<(), DeviceListError> {
    let mut ids = BTreeSet::new();
    let mut keys = BTreeSet::new();
    for c in certs {
        if !ids.insert(c.device_id()) || !keys.insert(c.key_id()) {
            return Err(DeviceListError::DuplicateKey);
        }
    }
    Ok(())
}

fn list_hash(encoding: &[u8]) -> [u8; 32] {
    let mut h = Sha256Stream::labeled(label::DEVICE_LIST_HASH);
    h.update(encoding);
    h.finish()
}

impl DeviceList {
    /// The account this list claims to belong to.
    pub fn account(&self) -> &AccountPublicKey {
        &self.account
    }

    /// The list version (1 for the first list, +1 per update).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Hash of the previous list (all zero for version 1).
    pub fn previous_hash(&self) -> &[u8; 32] {
        &self.previous_hash
    }

    /// When the list was issued (Unix ms).
    pub fn issued_at(&self) -> u64 {
        self.issued_at
    }

    /// The certificates, sorted by device id.
    pub fn certificates(&self) -> &[DeviceCertificate] {
        &self.certificates
    }

    /// This list's hash (of its signed contents, SPEC.md §3.4), which the
    /// next version carries. Two lists with equal hashes sign the same
    /// contents, whatever their signatures.
    pub fn hash(&self) -> &[u8; 32] {
        &self.hash
    }

    /// Verifies the list as the first trusted list of `account` (from a
    /// safety-number check or trust on first use), SPEC.md §3.4, in this
    /// order: the account matches ([`DeviceListError::WrongAccount`]), the
    /// version/previous-hash pair is consistent
    /// ([`DeviceListError::InvalidGenesis`]), the account key is valid
    /// ([`DeviceListError::InvalidAccountKey`]), the list signature verifies
    /// strictly ([`DeviceListError::BadSignature`]), no two devices share an
    /// id or key id ([`DeviceListError::DuplicateKey`]), and every
    /// certificate verifies for the account ([`DeviceListError::Certificate`],
    /// first failing one in list order). Expiry is not checked here: senders
    /// skip expired devices and receivers reject expired senders.
    #[must_use = "a device list is only trusted if verification succeeded"]
    pub fn verify(
        &self,
        account: &AccountPublicKey,
    ) -> Result<VerifiedDeviceList, DeviceListError> {
        self.verify_after(account, &[])
    }

    /// [`DeviceList::verify`], skipping the signature check of certificates
    /// byte-identical to one in `known` (already verified under this
    /// account's key): the work of an update is bounded by what is new.
    fn verify_after(
        &self,
        account: &AccountPublicKey,
        known: &[VerifiedDeviceCertificate],
    ) -> Result<VerifiedDeviceList, DeviceListError> {
        if self.account != *account {
            return Err(DeviceListError::WrongAccount);
        }
        if (self.version == 1) != (self.previous_hash == [0u8; 32]) || self.version == 0 {
            return Err(DeviceListError::InvalidGenesis);
        }
        let key = account
            .validated()
            .ok_or(DeviceListError::InvalidAccountKey)?;
        key.verify(
            label::DEVICE_LIST_SIGNATURE,
            self.encode_unsigned().as_slice(),
            &self.signature,
        )
        .map_err(|_| DeviceListError::BadSignature)?;
        check_unique(&self.certificates)?;
        let mut devices = Vec::with_capacity(self.certificates.len());
        for c in &self.certificates {
            let seen = known
                .binary_search_by_key(&c.device_id(), |k| k.device_id())
                .ok()
                .and_then(|i| known.get(i))
                .filter(|k| k.certificate() == c);
            if let Some(k) = seen {
                devices.push(k.clone());
                continue;
            }
            check_certificate(c, account, &key)?;
            devices.push(VerifiedDeviceCertificate::from_list(c.clone()));
        }
        Ok(VerifiedDeviceList {
            list: self.clone(),
            devices,
        })
    }

    /// True when both lists sign the same contents (signatures may differ).
    pub(crate) fn same_contents(&self, other: &DeviceList) -> bool {
        self.hash == other.hash
    }

    fn encode_unsigned(&self) -> Writer {
        let mut w =
            Writer::with_capacity(LIST_FIXED_LEN + self.certificates.len() * CERTIFICATE_LEN);
        w.object_prefix(object_type::DEVICE_LIST);
        w.u16(crate::consts::SUITE_X25519_SHA256_AES256GCM_ED25519);
        w.put(&self.account.0);
        w.u64(self.version);
        w.put(&self.previous_hash);
        w.u64(self.issued_at);
        w.len_u16(self.certificates.len());
        for c in &self.certificates {
            c.encode_into(&mut w);
        }
        w
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = self.encode_unsigned();
        w.put(&self.signature);
        w.into_vec()
    }

    /// Decodes the one canonical encoding: counts are bounded before
    /// allocation, certificates must be sorted by device id without
    /// duplicates, trailing bytes are rejected.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        r.object_prefix(object_type::DEVICE_LIST)?;
        r.suite()?;
        let account = AccountPublicKey(r.array("account public key")?);
        let version = r.u64("list version")?;
        if version == 0 {
            return Err(DecodeError::OutOfRange {
                field: "list version",
                offset: r.position(),
                min: 1,
                max: usize::MAX,
                found: 0,
            });
        }
        let previous_hash = r.array("previous list hash")?;
        let issued_at = r.u64("issued at")?;
        let count = usize::from(r.u16("device count")?);
        let count = r.bounded(count, 0, limit::MAX_DEVICES_PER_LIST, "device count")?;
        // Every certificate and the signature must be present: reject before allocating.
        r.require(count * CERTIFICATE_LEN + 64, "device certificates")?;
        let mut certificates: Vec<DeviceCertificate> = Vec::with_capacity(count);
        for _ in 0..count {
            let mut inner = r.nested(CERTIFICATE_LEN, "device certificate")?;
            let cert = DeviceCertificate::decode(&mut inner)?;
            inner.finish()?;
            if let Some(last) = certificates.last() {
                if last.device_id() >= cert.device_id() {
                    return Err(DecodeError::NonCanonical(
                        "certificates must be sorted by device id without duplicates",
                    ));
                }
            }
            certificates.push(cert);
        }
        let tbs_len = r.position();
        let signature = r.array("signature")?;
        r.finish()?;
        Ok(DeviceList {
            account,
            version,
            previous_hash,
            issued_at,
            certificates,
            signature,
            hash: list_hash(bytes.get(..tbs_len).unwrap_or(bytes)),
        })
    }
}

fn fork(a: &DeviceList, b: &DeviceList) -> DeviceListError {
    DeviceListError::Fork(Box::new(ForkEvidence::new(a.clone(), b.clone())))
}

/// A device list whose signatures all verified for a known account: the only
/// list type `seal` and `open` accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDeviceList {
    list: DeviceList,
    devices: Vec<VerifiedDeviceCertificate>,
}

impl VerifiedDeviceList {
    /// The underlying signed list.
    pub fn list(&self) -> &DeviceList {
        &self.list
    }

    /// The account.
    pub fn account(&self) -> &AccountPublicKey {
        &self.list.account
    }

    /// The list version.
    pub fn version(&self) -> u64 {
        self.list.version
    }

    /// Every device on the list, expired or not.
    pub fn devices(&self) -> &[VerifiedDeviceCertificate] {
        &self.devices
    }

    /// Devices whose certificate has not expired at `now`.
    pub fn active_devices(&self, now: u64) -> impl Iterator<Item = &VerifiedDeviceCertificate> {
        self.devices.iter().filter(move |d| !d.is_expired(now))
    }

    /// The device with this id, if listed.
    pub fn device(&self, id: DeviceId) -> Option<&VerifiedDeviceCertificate> {
        self.devices
            .binary_search_by_key(&id, |d| d.device_id())
            .ok()
            .and_then(|i| self.devices.get(i))
    }

    /// The device with this key id, if listed.
    pub fn device_by_key_id(&self, key_id: &KeyId) -> Option<&VerifiedDeviceCertificate> {
        self.devices.iter().find(|d| d.key_id() == *key_id)
    }

    /// [`VerifiedDeviceList::update`] with the chain as a directory serves
    /// it in one response (SPEC.md §13.1): every list after this one's
    /// version, ascending, the newest last. An empty chain is
    /// [`DeviceListError::BrokenChain`] at this list's version.
    ///
    /// # Example
    /// ```
    /// # use fanseal::*;
    /// # use rand_core::SeedableRng;
    /// # let mut rng = rand_chacha::ChaCha20Rng::from_seed([6; 32]);
    /// # let alice = AccountSecret::generate(&mut rng);
    /// # let cert = |rng: &mut rand_chacha::ChaCha20Rng| {
    /// #     let d = DeviceSecret::generate(rng);
    /// #     alice.certify_device(&CertificateParams { device_id: DeviceId::random(rng),
    /// #         keys: d.public_keys(), created_at: 0, expires_at: None, capabilities: 0 }).unwrap()
    /// # };
    /// let (a, b) = (cert(&mut rng), cert(&mut rng));
    /// let v1 = alice.issue_device_list(None, 0, vec![a.clone()])?;
    /// let trusted = v1.verify(&alice.public_key())?;
    /// let v2 = alice.issue_device_list(Some(&trusted), 1, vec![a.clone(), b])?;
    /// let v2_trusted = v2.verify(&alice.public_key())?;
    /// let v3 = alice.issue_device_list(Some(&v2_trusted), 2, vec![a])?;
    /// // The directory answers "everything after version 1" with [v2, v3].
    /// let newest = trusted.update_chain(&[v2, v3])?;
    /// assert_eq!(newest.version(), 3);
    /// # Ok::<(), DeviceListError>(())
    /// ```
    #[must_use = "the update is only trusted if verification succeeded"]
    pub fn update_chain(
        &self,
        chain: &[DeviceList],
    ) -> Result<VerifiedDeviceList, DeviceListError> {
        match chain.split_last() {
            Some((next, intermediates)) => self.update(intermediates, next),
            None => Err(DeviceListError::BrokenChain {
                at_version: self.version(),
            }),
        }
    }

    /// Accepts `next` as the new trusted list if it extends this one
    /// (SPEC.md §3.5), checking in this order:
    ///
    /// 1. more than [`MAX_CHAIN_LENGTH`] intermediates: [`DeviceListError::ChainTooLong`];
    /// 2. `next` signs the same contents as this list (equal list hashes):
    ///    no change, this list is kept (nothing is verified);
    /// 3. `next` at this list's version or below must verify for this
    ///    account (its error); then a lower version is
    ///    [`DeviceListError::Rollback`] and the same version (other contents)
    ///    is [`DeviceListError::Fork`] with evidence;
    /// 4. each intermediate, then `next`, in order, against the lists walked
    ///    so far (this list first): below this list's version is
    ///    [`DeviceListError::BrokenChain`]; an intermediate with the contents
    ///    of a walked list is skipped unverified (`next` with the contents of
    ///    the last walked list is that list; of an earlier one, a broken
    ///    chain); at the version of a walked list with other contents it is
    ///    verified and is a [`DeviceListError::Fork`] with that list;
    ///    otherwise it must link to the last walked list (version + 1 and
    ///    its list hash), else `BrokenChain`, and then verify (its error).
    ///
    /// Certificates identical to one on the previous list of the chain are
    /// not verified again: the work is bounded by what is new.
    #[must_use = "the update is only trusted if verification succeeded"]
    pub fn update(
        &self,
        intermediates: &[DeviceList],
        next: &DeviceList,
    ) -> Result<VerifiedDeviceList, DeviceListError> {
        if intermediates.len() > MAX_CHAIN_LENGTH {
            return Err(DeviceListError::ChainTooLong);
        }
        if next.same_contents(&self.list) {
            // Same contents: keep the list already trusted.
            return Ok(self.clone());
        }
        let account = self.list.account;
        if next.version <= self.list.version {
            next.verify_after(&account, &self.devices)?;
            if next.version < self.list.version {
                return Err(DeviceListError::Rollback {
                    trusted: self.list.version,
                    presented: next.version,
                });
            }
            return Err(fork(&self.list, next));
        }
        // The walked lists, in version order (this list's version first),
        // and the last one verified.
        let mut walked: Vec<&DeviceList> = Vec::with_capacity(intermediates.len() + 1);
        walked.push(&self.list);
        let mut last: VerifiedDeviceList = self.clone();
        for (position, list) in intermediates
            .iter()
            .chain(core::iter::once(next))
            .enumerate()
        {
            let is_next = position == intermediates.len();
            let index = list
                .version
                .checked_sub(self.list.version)
                .and_then(|d| usize::try_from(d).ok());
            let Some(index) = index else {
                return Err(DeviceListError::BrokenChain {
                    at_version: list.version,
                });
            };
            if let Some(same_version) = walked.get(index) {
                if list.same_contents(same_version) {
                    if !is_next {
                        continue;
                    }
                    // `next` was also passed as the last intermediate: that list.
                    if index + 1 == walked.len() {
                        return Ok(last);
                    }
                    return Err(DeviceListError::BrokenChain {
                        at_version: list.version,
                    });
                }
                list.verify_after(&account, &last.devices)?;
                return Err(fork(same_version, list));
            }
            Self::link(&last.list, list)?;
            last = list.verify_after(&account, &last.devices)?;
            walked.push(list);
        }
        Ok(last)
    }

    fn link(previous: &DeviceList, list: &DeviceList) -> Result<(), DeviceListError> {
        if previous.version.checked_add(1) != Some(list.version)
            || list.previous_hash != previous.hash
        {
            return Err(DeviceListError::BrokenChain {
                at_version: list.version,
            });
        }
        Ok(())
    }
}

/// A device key certified on `previous` keeps its [`crate::CAPABILITY_PREKEYS`]
/// and [`crate::CAPABILITY_HYBRID`] bits in every new certificate of that key
/// (SPEC.md §3.4): turning prekeys or the hybrid suite on or off takes new
/// keys, so a sender served the older list never wraps to a key the device
/// still uses without forward secrecy, nor classically to a device that
/// asked for the hybrid suite.
fn check_capability_kept(
    previous: &VerifiedDeviceList,
    certificates: &[DeviceCertificate],
) -> Result<(), DeviceListError> {
    for c in certificates {
        let changed = previous.devices().iter().any(|p| {
            p.keys().x25519 == c.keys().x25519
                && p.key_bound_capabilities() != c.key_bound_capabilities()
        });
        if changed {
            return Err(DeviceListError::CapabilityChange {
                device_id: c.device_id(),
            });
        }
    }
    Ok(())
}
