//! Accounts whose devices each hold a `DeviceKeyring` (prekeys, hybrid
//! prekeys), with per-device capabilities: the fixture of the prekey and
//! hybrid-suite tests.

use fanseal::*;
use rand_chacha::ChaCha20Rng;

use super::NOW;

pub const DAY: u64 = 24 * 60 * 60 * 1000;

/// An account, one keyring per device, and its verified list.
pub struct KeyedAccount {
    pub secret: AccountSecret,
    pub keyrings: Vec<DeviceKeyring>,
    pub list: VerifiedDeviceList,
}

/// A certificate for device `[id; 16]` with `keys` and `caps`, created a
/// day before `NOW`, never expiring.
pub fn certify(
    account: &AccountSecret,
    id: u8,
    keys: DevicePublicKeys,
    caps: u32,
) -> DeviceCertificate {
    account
        .certify_device(&CertificateParams {
            device_id: DeviceId::from_bytes([id; 16]),
            keys,
            created_at: NOW - DAY,
            expires_at: None,
            capabilities: caps,
        })
        .unwrap()
}

/// An account whose device `i` (id `i + 1`) has capabilities `caps[i]`.
pub fn keyed_account(r: &mut ChaCha20Rng, caps: &[u32]) -> KeyedAccount {
    let secret = AccountSecret::generate(r);
    let mut keyrings = Vec::new();
    let mut certs = Vec::new();
    for (i, c) in caps.iter().enumerate() {
        let device = DeviceSecret::generate(r);
        let id = u8::try_from(i + 1).unwrap();
        let cert = certify(&secret, id, device.public_keys(), *c);
        certs.push(cert.clone());
        keyrings.push(DeviceKeyring::new(device, cert).unwrap());
    }
    let list = secret
        .issue_device_list(None, NOW - DAY, certs)
        .unwrap()
        .verify(&secret.public_key())
        .unwrap();
    KeyedAccount {
        secret,
        keyrings,
        list,
    }
}
