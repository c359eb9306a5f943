//! Fork evidence: two different device lists signed by one account key for
//! the same version (SPEC.md §3.5). A third party verifies it alone.
//!
//! ```text
//! size  field
//!    1  wire version   0x01
//!    1  object type    0x05 (fork evidence)
//!    4  length a       u32
//!    a  device list A
//!    4  length b       u32
//!    b  device list B  (A's encoding sorts strictly before B's)
//! ```

use alloc::vec::Vec;

use crate::codec::{Reader, Writer};
use crate::consts::object_type;
use crate::error::{DecodeError, DeviceListError};
use crate::identity::device_list::{DeviceList, DEVICE_LIST_MAX_LEN};
use crate::identity::keys::AccountPublicKey;

/// Two signed device lists of one account with the same version and
/// different contents: proof that the account key equivocated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkEvidence {
    first: DeviceList,
    second: DeviceList,
}

impl ForkEvidence {
    /// Orders the two lists canonically (by encoding).
    pub(crate) fn new(a: DeviceList, b: DeviceList) -> Self {
        if a.to_bytes() <= b.to_bytes() {
            ForkEvidence {
                first: a,
                second: b,
            }
        } else {
            ForkEvidence {
                first: b,
                second: a,
            }
        }
    }

    /// The two conflicting lists.
    pub fn lists(&self) -> (&DeviceList, &DeviceList) {
        (&self.first, &self.second)
    }

    /// The version both lists claim.
    pub fn version(&self) -> u64 {
        self.first.version()
    }

    /// The account that equivocated.
    pub fn account(&self) -> &AccountPublicKey {
        self.first.account()
    }

    /// Checks the evidence on its own: both lists verify under the same
    /// account key, claim the same version, and differ.
    #[must_use = "evidence proves nothing unless verification succeeded"]
    pub fn verify(&self) -> Result<AccountPublicKey, DeviceListError> {
        let account = *self.first.account();
        if *self.second.account() != account {
            return Err(DeviceListError::NotAFork);
        }
        if self.first.version() != self.second.version() || self.first.same_contents(&self.second) {
            return Err(DeviceListError::NotAFork);
        }
        self.first.verify(&account)?;
        self.second.verify(&account)?;
        Ok(account)
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let a = self.first.to_bytes();
        let b = self.second.to_bytes();
        let mut w = Writer::with_capacity(2 + 8 + a.len() + b.len());
        w.object_prefix(object_type::FORK_EVIDENCE);
        w.bytes_u32(&a);
        w.bytes_u32(&b);
        w.into_vec()
    }

    /// Decodes the canonical encoding (lists in order, no trailing bytes).
    /// Decoding does not verify: call [`ForkEvidence::verify`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        r.object_prefix(object_type::FORK_EVIDENCE)?;
        let a = r.bytes_u32(DEVICE_LIST_MAX_LEN, "first list")?;
        let b = r.bytes_u32(DEVICE_LIST_MAX_LEN, "second list")?;
        r.finish()?;
        if a >= b {
            return Err(DecodeError::NonCanonical(
                "fork evidence lists must be distinct and in byte order",
            ));
        }
        Ok(ForkEvidence {
            first: DeviceList::from_bytes(a)?,
            second: DeviceList::from_bytes(b)?,
        })
    }
}
