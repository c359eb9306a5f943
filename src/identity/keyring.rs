//! The receiving side of a device: its secret keys together with the
//! certificate it is addressed under (SPEC.md §4.5, §5.2).
//!
//! A wrap is made for one account's device: its AEAD associated data is the
//! recipient binding (account, device id, X25519 key) and the header names
//! it by a key id that includes the account. A device therefore opens
//! envelopes only as the device of the account that certified it, never as
//! a device of an account that copied its public keys (unknown key share,
//! property P15).

use core::fmt;

use zeroize::ZeroizeOnDrop;

use crate::error::CertificateError;
use crate::identity::certificate::DeviceCertificate;
use crate::identity::keys::{DeviceSecret, KeyId};

/// A device's secret keys and its own certificate: what [`crate::open`]
/// needs. Secrets are wiped on drop; `Debug` shows only public parts.
///
/// # Example
/// ```
/// # use fanseal::*;
/// # use rand_core::SeedableRng;
/// # let mut rng = rand_chacha::ChaCha20Rng::from_seed([5; 32]);
/// let alice = AccountSecret::generate(&mut rng);
/// let phone = DeviceSecret::generate(&mut rng);
/// let cert = alice.certify_device(&CertificateParams {
///     device_id: DeviceId::random(&mut rng), keys: phone.public_keys(),
///     created_at: 0, expires_at: None, capabilities: 0,
/// }).unwrap();
/// let keyring = DeviceKeyring::new(phone, cert).unwrap();
/// assert_eq!(keyring.key_id(), keyring.certificate().key_id());
/// ```
pub struct DeviceKeyring {
    secret: DeviceSecret,
    certificate: DeviceCertificate,
    binding: [u8; 32],
    key_id: KeyId,
}

impl ZeroizeOnDrop for DeviceKeyring {}

impl DeviceKeyring {
    /// Binds `secret` to the certificate its account issued for it.
    ///
    /// # Errors
    /// [`CertificateError::KeyMismatch`] when the certificate's public keys
    /// are not `secret`'s. The certificate's signature is not checked here
    /// (it is the device's own); a certificate the account never signed
    /// only means no honest sender wraps for it.
    pub fn new(
        secret: DeviceSecret,
        certificate: DeviceCertificate,
    ) -> Result<Self, CertificateError> {
        if secret.public_keys() != *certificate.keys() {
            return Err(CertificateError::KeyMismatch);
        }
        let binding = certificate.recipient_binding();
        let key_id = certificate.key_id();
        Ok(DeviceKeyring {
            secret,
            certificate,
            binding,
            key_id,
        })
    }

    /// The device's secret keys.
    pub fn secret(&self) -> &DeviceSecret {
        &self.secret
    }

    /// The certificate this device is addressed under.
    pub fn certificate(&self) -> &DeviceCertificate {
        &self.certificate
    }

    /// The key id this device is named by in envelopes (SPEC.md §3.2).
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    pub(crate) fn recipient_binding(&self) -> &[u8; 32] {
        &self.binding
    }
}

impl fmt::Debug for DeviceKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceKeyring")
            .field("certificate", &self.certificate)
            .finish_non_exhaustive()
    }
}
