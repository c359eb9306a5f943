//! The fixed accounts, devices, lists and valid envelope of the open and
//! device-list targets, and the open oracle they share.

use alloc::vec;
use alloc::vec::Vec;

use rand_core::CryptoRng;

use crate::envelope::{open, seal, Delivery, Envelope, Message, Padding};
use crate::error::OpenError;
use crate::identity::{
    AccountSecret, CertificateParams, DeviceCertificate, DeviceId, DeviceKeyring, DeviceList,
    DeviceSecret, VerifiedDeviceList,
};

use super::hybrid::HybridFixture;
use super::keys::KeyFixture;
use super::sessions::SessionFixture;
use super::{ensure, Outcome, Violation, NOW, OPEN_AT};

/// Fixed keys, device lists and envelopes for the open and device-list
/// targets, built deterministically from a seeded RNG.
pub struct Fixture {
    /// Devices: 0 alice phone (the sender), 1 alice laptop, 2 bob phone,
    /// 3 bob tablet.
    pub(super) devices: Vec<DeviceKeyring>,
    /// The sender's certificate and alice laptop's certificate.
    pub(super) sender_certificate: DeviceCertificate,
    pub(super) laptop_certificate: DeviceCertificate,
    /// Verified lists of alice and bob (bob's at version 2).
    pub(super) directory: Vec<VerifiedDeviceList>,
    /// The valid envelope from alice phone to bob's devices and alice laptop.
    pub(super) envelope: Envelope,
    pub(super) envelope_bytes: Vec<u8>,
    pub(super) payload: Vec<u8>,
    pub(super) aad: Vec<u8>,
    /// Bob's signed lists: versions 1..=4, then a second version 3 (a fork).
    pub(super) chain: Vec<DeviceList>,
    /// Bob's list version 2, verified: the trusted list of the update target.
    pub(super) trusted: VerifiedDeviceList,
    /// Message secret and ephemeral key of the custom-body envelopes.
    pub(super) body_secret: [u8; 32],
    pub(super) body_ephemeral: [u8; 32],
    pub(super) body_message_id: [u8; 16],
    /// Carol's device for the prekey and keyring targets (built last, from
    /// the same RNG, so everything above is unchanged by it).
    pub(super) keys: KeyFixture,
    /// Dave's hybrid devices and the hybrid envelope (built after `keys`,
    /// from the same RNG, so everything above is unchanged by it).
    pub(super) hybrid: HybridFixture,
    /// Alice phone's sessions to bob phone (built after `hybrid`, from the
    /// same RNG, so everything above is unchanged by it).
    pub(super) sessions: SessionFixture,
}

impl core::fmt::Debug for Fixture {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Fixture").finish_non_exhaustive()
    }
}

fn certify<R: CryptoRng + ?Sized>(
    account: &AccountSecret,
    device: &DeviceSecret,
    rng: &mut R,
) -> Result<DeviceCertificate, Violation> {
    account
        .certify_device(&CertificateParams {
            device_id: DeviceId::random(rng),
            keys: device.public_keys(),
            created_at: NOW,
            expires_at: Some(NOW + 365 * 24 * 3600 * 1000),
            capabilities: 0,
        })
        .map_err(|_| Violation("fixture: certify_device failed"))
}

impl Fixture {
    /// Builds the fixture from `rng` (the targets pass a seeded ChaCha20Rng).
    pub fn new<R: CryptoRng + ?Sized>(rng: &mut R) -> Result<Self, Violation> {
        let alice = AccountSecret::generate(rng);
        let bob = AccountSecret::generate(rng);
        let devices: Vec<DeviceSecret> = (0..4).map(|_| DeviceSecret::generate(rng)).collect();
        let extra: Vec<DeviceSecret> = (0..2).map(|_| DeviceSecret::generate(rng)).collect();
        let device = |i: usize| devices.get(i).ok_or(Violation("fixture: device index"));
        let extra_device = |i: usize| extra.get(i).ok_or(Violation("fixture: device index"));
        let sender_certificate = certify(&alice, device(0)?, rng)?;
        let laptop_certificate = certify(&alice, device(1)?, rng)?;
        let bob_phone = certify(&bob, device(2)?, rng)?;
        let bob_tablet = certify(&bob, device(3)?, rng)?;
        let (bob_phone_certificate, bob_tablet_certificate) =
            (bob_phone.clone(), bob_tablet.clone());
        let bob_desktop = certify(&bob, extra_device(0)?, rng)?;
        let bob_other = certify(&bob, extra_device(1)?, rng)?;

        let issue = |previous: Option<&DeviceList>, at: u64, certs: Vec<DeviceCertificate>| {
            let previous = previous
                .map(|p| p.verify(&bob.public_key()))
                .transpose()
                .map_err(|_| Violation("fixture: bob's list does not verify"))?;
            bob.issue_device_list(previous.as_ref(), at, certs)
                .map_err(|_| Violation("fixture: issue_device_list failed"))
        };
        let v1 = issue(None, NOW - 4000, vec![bob_phone.clone()])?;
        let v2 = issue(
            Some(&v1),
            NOW - 3000,
            vec![bob_phone.clone(), bob_tablet.clone()],
        )?;
        let v3 = issue(
            Some(&v2),
            NOW - 2000,
            vec![bob_phone.clone(), bob_tablet.clone(), bob_desktop.clone()],
        )?;
        let v4 = issue(Some(&v3), NOW - 1000, vec![bob_phone.clone(), bob_desktop])?;
        let fork3 = issue(
            Some(&v2),
            NOW - 2000,
            vec![bob_phone, bob_tablet, bob_other],
        )?;
        let trusted = v2
            .verify(&bob.public_key())
            .map_err(|_| Violation("fixture: bob's list does not verify"))?;
        let alice_list = alice
            .issue_device_list(
                None,
                NOW - 5000,
                vec![sender_certificate.clone(), laptop_certificate.clone()],
            )
            .map_err(|_| Violation("fixture: issue_device_list failed"))?
            .verify(&alice.public_key())
            .map_err(|_| Violation("fixture: alice's list does not verify"))?;
        let directory = vec![alice_list, trusted.clone()];

        let payload = b"fanseal fuzz fixture payload".to_vec();
        let aad = b"conversation:alice+bob".to_vec();
        let envelope = seal(
            device(0)?,
            &sender_certificate,
            &[&trusted, directory.first().ok_or(Violation("fixture"))?],
            &[],
            &Message {
                payload: &payload,
                aad: &aad,
                padding: Padding::Padme,
                ..Message::default()
            },
            NOW,
            rng,
        )
        .map_err(|_| Violation("fixture: seal failed"))?;
        let envelope_bytes = envelope.to_bytes();

        let mut body_secret = [0u8; 32];
        let mut body_ephemeral = [0u8; 32];
        let mut body_message_id = [0u8; 16];
        rng.fill_bytes(&mut body_secret);
        rng.fill_bytes(&mut body_ephemeral);
        rng.fill_bytes(&mut body_message_id);

        let certificates = [
            sender_certificate.clone(),
            laptop_certificate.clone(),
            bob_phone_certificate,
            bob_tablet_certificate,
        ];
        let devices = devices
            .into_iter()
            .zip(certificates)
            .map(|(d, c)| DeviceKeyring::new(d, c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| Violation("fixture: keyring"))?;
        let sender = devices.first().ok_or(Violation("fixture: device index"))?;
        let keys = KeyFixture::new(rng, sender.secret(), &sender_certificate)?;
        let hybrid = HybridFixture::new(rng, sender)?;
        let sessions = SessionFixture::new(rng, &devices, &directory)?;
        Ok(Fixture {
            devices,
            sender_certificate,
            laptop_certificate,
            directory,
            envelope,
            envelope_bytes,
            payload,
            aad,
            chain: vec![v1, v2, v3, v4, fork3],
            trusted,
            body_secret,
            body_ephemeral,
            body_message_id,
            keys,
            hybrid,
            sessions,
        })
    }

    /// The valid envelope's encoding (a seed for the open targets).
    pub fn envelope_bytes(&self) -> &[u8] {
        &self.envelope_bytes
    }

    /// The delivery of the valid envelope for device `index` (0..4), if that
    /// device is a recipient.
    pub fn delivery_bytes(&self, index: usize) -> Option<Vec<u8>> {
        let device = self.devices.get(index)?;
        Some(self.envelope.delivery_for(&device.key_id())?.to_bytes())
    }

    /// Bob's signed lists (versions 1..=4, then the fork at version 3).
    pub fn chain(&self) -> &[DeviceList] {
        &self.chain
    }

    /// The number of devices the open targets can open as.
    pub fn device_count(&self) -> usize {
        self.devices.len()
    }

    /// Checks one `open` result of `bytes` for device `index` against the
    /// fixture: `Ok` only for the fixture's own message, and then exactly
    /// its payload, aad, sender, id and recipients; the unmodified envelope
    /// and delivery always open.
    pub(super) fn check_open(&self, index: usize, bytes: &[u8]) -> Outcome {
        let Some(device) = self.devices.get(index) else {
            return Ok(());
        };
        let result = open(device, bytes, &self.directory, OPEN_AT);
        let is_recipient = self.envelope.header.position(&device.key_id()).is_some();
        let own_delivery = self.envelope.delivery_for(&device.key_id());
        let pristine = bytes == self.envelope_bytes.as_slice()
            || own_delivery
                .as_ref()
                .is_some_and(|d| d.to_bytes().as_slice() == bytes);
        match result {
            Ok(opened) => {
                ensure(is_recipient, "open: a non-recipient opened the message")?;
                // Limit oracle: nothing beyond a limit is ever accepted.
                ensure(
                    opened.payload().len() <= crate::limit::MAX_PAYLOAD
                        && opened.aad().len() <= crate::limit::MAX_AAD
                        && opened.recipients().len() <= crate::limit::MAX_RECIPIENTS,
                    "open: accepted a message beyond a limit",
                )?;
                // Only this device's wrap is authenticated for it: an envelope
                // whose header, body and own wrap are the fixture's opens even
                // if another device's wrap was changed (by design: each device
                // checks only its own wrap).
                let same_message = match Envelope::from_bytes(bytes) {
                    Ok(e) => {
                        e.header == self.envelope.header
                            && e.body == self.envelope.body
                            && e.delivery_for(&device.key_id()) == own_delivery
                    }
                    Err(_) => Delivery::from_bytes(bytes).ok() == own_delivery,
                };
                ensure(
                    same_message,
                    "open: Ok for bytes that are not the fixture's message",
                )?;
                ensure(
                    opened.payload() == self.payload.as_slice()
                        && opened.aad() == self.aad.as_slice()
                        && opened.sender_certificate() == &self.sender_certificate
                        && opened.message_id() == self.envelope.header.message_id
                        && opened.timestamp() == NOW
                        && opened.recipients() == self.envelope.header.recipients(),
                    "open: opened message differs from what was sealed",
                )
            }
            Err(OpenError::NotARecipient) if !is_recipient && pristine => Ok(()),
            Err(_) => ensure(!pristine, "open: the unmodified message did not open"),
        }
    }
}
