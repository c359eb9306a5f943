//! Signed device lists with a version and a hash chain (SPEC.md §3.4–3.5).
//!
//! ```text
//! size  field
//!    1  wire version          0x01
//!    1  object type           0x02 (device list)
//!   32  account public key
//!    8  list version          u64, >= 1, +1 per update
//!   32  previous list hash    all zero iff version = 1
//!    8  issued at             u64, Unix milliseconds
//!    2  device count n        0..=256
//!    n  × ( u16 length || device certificate )   sorted by device id, no duplicates
//!   64  signature             Ed25519 over u8 len || label || all bytes above
//! ```
//!
//! The list hash is `SHA-256(u8 len || "fanseal v1 device list hash" || encoding)`.

use alloc::boxed::Box;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use crate::codec::{Reader, Writer};
use crate::consts::{label, limit, object_type};
use crate::error::{DecodeError, DeviceListError};
use crate::identity::certificate::{
    DeviceCertificate, VerifiedDeviceCertificate, CERTIFICATE_MAX_LEN, CERTIFICATE_MIN_LEN,
};
use crate::identity::fork::ForkEvidence;
use crate::identity::keys::{AccountPublicKey, AccountSecret, DeviceId, KeyId};
use crate::primitives::Sha256Stream;

/// Most intermediate lists [`VerifiedDeviceList::update`] will walk.
pub const MAX_CHAIN_LENGTH: usize = 256;

/// Largest encoded device list.
pub(crate) const DEVICE_LIST_MAX_LEN: usize =
    2 + 32 + 8 + 32 + 8 + 2 + limit::MAX_DEVICES_PER_LIST * (2 + CERTIFICATE_MAX_LEN) + 64;

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
    /// Signs a new device list. With `previous = None` it is the first list
    /// (version 1); otherwise its version is `previous.version() + 1` and it
    /// chains to `previous` by hash. Certificates are sorted by device id.
    ///
    /// Errors: a certificate of another account ([`DeviceListError::Certificate`]),
    /// two certificates for one device or one key ([`DeviceListError::DuplicateKey`]),
    /// more than [`crate::limit::MAX_DEVICES_PER_LIST`] devices
    /// ([`DeviceListError::TooManyDevices`]), a `previous` list of another account.
    pub fn issue_device_list(
        &self,
        previous: Option<&DeviceList>,
        issued_at: u64,
        mut certificates: Vec<DeviceCertificate>,
    ) -> Result<DeviceList, DeviceListError> {
        let account = self.public_key();
        let (version, previous_hash) = match previous {
            None => (1, [0u8; 32]),
            Some(p) if p.account != account => return Err(DeviceListError::WrongAccount),
            Some(p) => (
                p.version
                    .checked_add(1)
                    .ok_or(DeviceListError::InvalidGenesis)?,
                p.hash,
            ),
        };
        if certificates.len() > limit::MAX_DEVICES_PER_LIST {
            return Err(DeviceListError::TooManyDevices);
        }
        for c in &certificates {
            if *c.account() != account {
                return Err(DeviceListError::Certificate {
                    device_id: c.device_id(),
                    error: crate::error::CertificateError::WrongAccount,
                });
            }
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
        list.hash = list_hash(&list.to_bytes());
        Ok(list)
    }
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

    /// This list's hash, which the next version carries.
    pub fn hash(&self) -> &[u8; 32] {
        &self.hash
    }

    /// Verifies the list as the first trusted list of `account` (from a
    /// safety-number check or trust on first use): the account matches, the
    /// version/previous-hash pair is consistent, the account's signature and
    /// every certificate's signature verify strictly, every device key is
    /// valid, and no two devices share a key. Expiry is not checked here:
    /// senders skip expired devices and receivers reject expired senders.
    #[must_use = "a device list is only trusted if verification succeeded"]
    pub fn verify(
        &self,
        account: &AccountPublicKey,
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
            let signed = if c.account() == account {
                c.verify_signed_with(&key)
            } else {
                Err(crate::error::CertificateError::WrongAccount)
            };
            signed.map_err(|error| DeviceListError::Certificate {
                device_id: c.device_id(),
                error,
            })?;
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
            || self.encode_unsigned().as_slice() == other.encode_unsigned().as_slice()
    }

    fn encode_unsigned(&self) -> Writer {
        let mut w = Writer::with_capacity(
            2 + 32 + 8 + 32 + 8 + 2 + self.certificates.len() * (2 + CERTIFICATE_MAX_LEN) + 64,
        );
        w.object_prefix(object_type::DEVICE_LIST);
        w.put(&self.account.0);
        w.u64(self.version);
        w.put(&self.previous_hash);
        w.u64(self.issued_at);
        w.len_u16(self.certificates.len());
        for c in &self.certificates {
            w.len_u16(c.encoded_len());
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
        // Each entry needs at least its minimum size: reject before allocating.
        let min_needed = count * (2 + CERTIFICATE_MIN_LEN) + 64;
        if r.remaining() < min_needed {
            return Err(DecodeError::Truncated {
                field: "device certificates",
                offset: r.position(),
                needed: min_needed,
                available: r.remaining(),
            });
        }
        let mut certificates: Vec<DeviceCertificate> = Vec::with_capacity(count);
        for _ in 0..count {
            let len = usize::from(r.u16("certificate length")?);
            let len = r.bounded(
                len,
                CERTIFICATE_MIN_LEN,
                CERTIFICATE_MAX_LEN,
                "certificate length",
            )?;
            if len != CERTIFICATE_MIN_LEN && len != CERTIFICATE_MAX_LEN {
                return Err(DecodeError::NonCanonical(
                    "certificate length must be 193 or 201",
                ));
            }
            let mut inner = r.nested(len, "device certificate")?;
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
        let signature = r.array("signature")?;
        r.finish()?;
        Ok(DeviceList {
            account,
            version,
            previous_hash,
            issued_at,
            certificates,
            signature,
            hash: list_hash(bytes),
        })
    }
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

    /// Accepts `next` as the new trusted list if it extends this one.
    ///
    /// * same version and same hash: no change;
    /// * same version, different list: [`DeviceListError::Fork`] with evidence;
    /// * lower version: [`DeviceListError::Rollback`];
    /// * higher version: `intermediates` must hold every list between this
    ///   one and `next`, in order; each must verify, have version + 1 and
    ///   carry the previous list's hash ([`DeviceListError::BrokenChain`]).
    ///   An intermediate of this list's version that differs from it is a fork.
    #[must_use = "the update is only trusted if verification succeeded"]
    pub fn update(
        &self,
        intermediates: &[DeviceList],
        next: &DeviceList,
    ) -> Result<VerifiedDeviceList, DeviceListError> {
        if intermediates.len() > MAX_CHAIN_LENGTH {
            return Err(DeviceListError::ChainTooLong);
        }
        let account = self.list.account;
        let verified_next = next.verify(&account)?;
        if next.version < self.list.version {
            return Err(DeviceListError::Rollback {
                trusted: self.list.version,
                presented: next.version,
            });
        }
        if next.version == self.list.version {
            // Same contents: keep the list already trusted, so the chain goes
            // on from the hash this client committed to.
            return self.same_version(next).map(|()| self.clone());
        }
        let mut previous = &self.list;
        for list in intermediates.iter() {
            if list.version == self.list.version {
                list.verify(&account)?;
                self.same_version(list)?;
                continue;
            }
            Self::link(previous, list)?;
            list.verify(&account)?;
            previous = list;
        }
        Self::link(previous, next)?;
        Ok(verified_next)
    }

    /// Equal signed contents are the same list even if the signature bytes
    /// differ (a randomized or re-run signer); anything else is a fork.
    fn same_version(&self, other: &DeviceList) -> Result<(), DeviceListError> {
        if other.same_contents(&self.list) {
            Ok(())
        } else {
            Err(DeviceListError::Fork(Box::new(ForkEvidence::new(
                self.list.clone(),
                other.clone(),
            ))))
        }
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
