//! Identity: account keys, device keys, device certificates, signed device
//! lists with a hash chain, fork evidence and safety numbers (SPEC.md §3).

mod certificate;
mod device_list;
mod fork;
mod keyring;
mod keys;
mod safety_number;

pub use certificate::{
    CertificateParams, DeviceCertificate, VerifiedDeviceCertificate, CERTIFICATE_LEN,
};
pub use device_list::{DeviceList, VerifiedDeviceList, DEVICE_LIST_MAX_LEN, MAX_CHAIN_LENGTH};
pub use fork::ForkEvidence;
pub use keyring::DeviceKeyring;
pub use keys::{AccountPublicKey, AccountSecret, DeviceId, DevicePublicKeys, DeviceSecret, KeyId};
pub use safety_number::{SafetyNumber, SAFETY_NUMBER_BYTES};
