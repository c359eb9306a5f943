//! Shared fixtures: deterministic accounts, devices and verified lists.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use fanseal::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

pub mod keyed;

pub const NOW: u64 = 1_764_300_000_000;

pub fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

pub struct Device {
    pub secret: DeviceSecret,
    pub certificate: DeviceCertificate,
    /// The same secret bound to its certificate: what `open` takes.
    pub keyring: DeviceKeyring,
}

/// Binds a copy of `secret` to `certificate`.
pub fn keyring(secret: &DeviceSecret, certificate: &DeviceCertificate) -> DeviceKeyring {
    let copy = DeviceSecret::from_secret_bytes(&secret.export_secret_bytes());
    DeviceKeyring::new(copy, certificate.clone()).unwrap()
}

pub struct Account {
    pub secret: AccountSecret,
    pub devices: Vec<Device>,
    pub list: DeviceList,
}

impl Account {
    pub fn public(&self) -> AccountPublicKey {
        self.secret.public_key()
    }

    pub fn verified(&self) -> VerifiedDeviceList {
        self.list.verify(&self.public()).unwrap()
    }
}

pub fn params(id: u8, keys: DevicePublicKeys) -> CertificateParams {
    CertificateParams {
        device_id: DeviceId::from_bytes([id; 16]),
        keys,
        created_at: NOW - 1000,
        expires_at: Some(NOW + 1_000_000),
        capabilities: 0x0005_0000,
    }
}

pub fn account(rng: &mut ChaCha20Rng, devices: usize) -> Account {
    account_expiring(rng, devices, Some(NOW + 1_000_000))
}

/// [`account`] with every certificate expiring at `expires_at` (`None`:
/// never).
pub fn account_expiring(rng: &mut ChaCha20Rng, devices: usize, expires_at: Option<u64>) -> Account {
    let secret = AccountSecret::generate(rng);
    let devices: Vec<Device> = (0..devices)
        .map(|i| {
            let dev = DeviceSecret::generate(rng);
            let mut id = [1u8; 16];
            id[..2].copy_from_slice(&(i as u16 + 1).to_be_bytes());
            let p = CertificateParams {
                device_id: DeviceId::from_bytes(id),
                expires_at,
                ..params(0, dev.public_keys())
            };
            let certificate = secret.certify_device(&p).unwrap();
            Device {
                keyring: keyring(&dev, &certificate),
                secret: dev,
                certificate,
            }
        })
        .collect();
    let list = secret
        .issue_device_list(
            None,
            NOW,
            devices.iter().map(|d| d.certificate.clone()).collect(),
        )
        .unwrap();
    Account {
        secret,
        devices,
        list,
    }
}

/// Alice (2 devices) and Bob (3 devices), and a directory holding both lists.
pub struct World {
    pub alice: Account,
    pub bob: Account,
    pub directory: Vec<VerifiedDeviceList>,
}

pub fn world(seed: u8) -> World {
    let mut r = rng(seed);
    let alice = account(&mut r, 2);
    let bob = account(&mut r, 3);
    let directory = vec![alice.verified(), bob.verified()];
    World {
        alice,
        bob,
        directory,
    }
}

impl World {
    /// Alice's first device seals `payload` to Bob and to her own other device.
    pub fn seal(&self, payload: &[u8], aad: &[u8], rng: &mut ChaCha20Rng) -> Envelope {
        let sender = &self.alice.devices[0];
        let lists = [&self.directory[1], &self.directory[0]];
        let message = Message {
            payload,
            aad,
            padding: Padding::Padme,
            ..Message::default()
        };
        seal(
            &sender.secret,
            &sender.certificate,
            &lists,
            &[],
            &message,
            NOW,
            rng,
        )
        .unwrap()
    }

    /// Every device that should be able to open Alice's first device's messages
    /// (the sending device included: it is wrapped for too).
    pub fn recipients(&self) -> Vec<&Device> {
        self.bob
            .devices
            .iter()
            .chain(self.alice.devices.iter())
            .collect()
    }
}

/// An RNG that replays fixed bytes (message id, message secret, ephemeral
/// secret, …) so a test knows every secret a seal used.
pub struct FixedRng {
    bytes: Vec<u8>,
    pos: usize,
}

impl FixedRng {
    pub fn new(bytes: Vec<u8>) -> Self {
        FixedRng { bytes, pos: 0 }
    }

    /// message id || message secret || ephemeral secret
    pub fn for_seal(message_id: [u8; 16], message_secret: [u8; 32], ephemeral: [u8; 32]) -> Self {
        Self::new([&message_id[..], &message_secret, &ephemeral].concat())
    }
}

impl rand_core::TryRng for FixedRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for d in dst {
            *d = self.bytes[self.pos];
            self.pos += 1;
        }
        Ok(())
    }
}

impl rand_core::TryCryptoRng for FixedRng {}

/// Recomputes the trailing state check of an export a thief edited (the
/// check detects accidents, not a thief who rewrites the bytes).
pub fn recheck(bytes: &mut [u8]) {
    use sha2::{Digest, Sha256};
    let label = b"fanseal v2 session state check";
    let (covered, check) = bytes.split_at_mut(bytes.len() - 32);
    let mut h = Sha256::new();
    h.update([label.len() as u8]);
    h.update(label);
    h.update(covered);
    check.copy_from_slice(&h.finalize());
}
