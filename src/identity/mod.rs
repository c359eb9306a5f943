//! Identity: account keys, device keys, device certificates, signed device
//! lists with a hash chain, fork evidence, safety numbers, signed prekeys
//! and the device keyring (SPEC.md §3).

mod certificate;
mod device_list;
mod fork;
pub(crate) mod keyring;
mod keyring_export;
mod keys;
pub(crate) mod prekey;
mod safety_number;

pub use certificate::{
    CertificateParams, DeviceCertificate, VerifiedDeviceCertificate, CERTIFICATE_LEN,
};
pub use device_list::{DeviceList, VerifiedDeviceList, DEVICE_LIST_MAX_LEN, MAX_CHAIN_LENGTH};
pub use fork::ForkEvidence;
pub use keyring::{DeviceKeyring, PrekeyPolicy};
pub use keys::{AccountPublicKey, AccountSecret, DeviceId, DevicePublicKeys, DeviceSecret, KeyId};
pub use prekey::{SignedPrekey, VerifiedPrekey, HYBRID_SIGNED_PREKEY_LEN, SIGNED_PREKEY_LEN};
pub use safety_number::{SafetyNumber, SAFETY_NUMBER_BYTES};
