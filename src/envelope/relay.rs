//! The relay's split of an envelope into per-device deliveries without
//! copying the body (SPEC.md §4.8, §13.2).
//!
//! A delivery is `0x02 || 0x04 || header || one wrap || body`: every byte
//! but the type byte and the wrap is the envelope's own. [`RelaySplit`]
//! parses the envelope once, borrowing its bytes, and hands out each
//! delivery as four borrowed slices ([`DeliveryParts`]) that a server writes
//! with vectored I/O. The work per device is one binary search; nothing is
//! allocated or copied per device.

use alloc::vec::Vec;

use crate::consts::{object_type, WIRE_VERSION};
use crate::envelope::wire::View;
use crate::error::DecodeError;
use crate::identity::KeyId;

/// The prefix of every delivery: wire version and the delivery type.
static DELIVERY_PREFIX: [u8; 2] = [WIRE_VERSION, object_type::DELIVERY];

/// An envelope as a relay holds it: parsed once, borrowing the received
/// bytes (SPEC.md §13.2).
///
/// # Example
/// ```
/// # use fanseal::*;
/// # use rand_core::SeedableRng;
/// # let mut rng = rand_chacha::ChaCha20Rng::from_seed([4; 32]);
/// # let alice = AccountSecret::generate(&mut rng);
/// # let phone = DeviceSecret::generate(&mut rng);
/// # let cert = alice.certify_device(&CertificateParams { device_id: DeviceId::random(&mut rng),
/// #     keys: phone.public_keys(), created_at: 0, expires_at: None, capabilities: 0 }).unwrap();
/// # let laptop = DeviceSecret::generate(&mut rng);
/// # let cert2 = alice.certify_device(&CertificateParams { device_id: DeviceId::random(&mut rng),
/// #     keys: laptop.public_keys(), created_at: 0, expires_at: None, capabilities: 0 }).unwrap();
/// # let list = alice.issue_device_list(None, 0, vec![cert.clone(), cert2.clone()]).unwrap()
/// #     .verify(&alice.public_key()).unwrap();
/// # let received = seal(&phone, &cert, &[&list], &[], &Message::default(), 1, &mut rng)
/// #     .unwrap().to_bytes();
/// // The relay received `received` (an envelope) and splits it per device.
/// let split = RelaySplit::new(&received)?;
/// for (key_id, parts) in split.deliveries() {
///     // A server would write `parts.as_slices()` with vectored I/O.
///     assert_eq!(parts.len(), parts.as_slices().iter().map(|s| s.len()).sum::<usize>());
///     let bytes = parts.to_vec();
///     assert_eq!(Some(bytes), Envelope::from_bytes(&received)?.delivery_for(&key_id).map(|d| d.to_bytes()));
/// }
/// # Ok::<(), DecodeError>(())
/// ```
#[derive(Debug)]
pub struct RelaySplit<'a> {
    header: &'a [u8],
    suite: crate::Suite,
    recipients: Vec<KeyId>,
    wraps: &'a [u8],
    body: &'a [u8],
}

/// One device's delivery, borrowed from the envelope: `prefix || header ||
/// wrap || body` (SPEC.md §4.8).
#[derive(Debug, Clone, Copy)]
pub struct DeliveryParts<'a> {
    header: &'a [u8],
    wrap: &'a [u8],
    body: &'a [u8],
}

impl<'a> RelaySplit<'a> {
    /// Parses an envelope (type `0x03`) exactly as [`crate::Envelope::from_bytes`]
    /// does, without copying its wraps or body. Allocates only the list of
    /// recipient key ids.
    ///
    /// # Errors
    /// [`DecodeError`] as `Envelope::from_bytes`, including
    /// `WrongObjectType` for a delivery.
    pub fn new(envelope: &'a [u8]) -> Result<Self, DecodeError> {
        let view = View::decode(envelope)?;
        if view.is_delivery {
            return Err(DecodeError::WrongObjectType {
                expected: object_type::ENVELOPE,
                found: object_type::DELIVERY,
            });
        }
        let header_len = view.header.encoded_len();
        let header = envelope
            .get(2..2 + header_len)
            .ok_or(DecodeError::NonCanonical("header"))?;
        Ok(RelaySplit {
            header,
            suite: view.header.suite,
            recipients: view.header.recipients,
            wraps: view.wraps,
            body: view.body,
        })
    }

    /// The recipient key ids, ascending: one delivery each.
    pub fn recipients(&self) -> &[KeyId] {
        &self.recipients
    }

    /// The delivery for `key_id`, or `None` if it is not a recipient:
    /// `O(log n)`, no allocation.
    pub fn delivery(&self, key_id: &KeyId) -> Option<DeliveryParts<'a>> {
        let i = self.recipients.binary_search(key_id).ok()?;
        self.parts(i)
    }

    /// Every delivery with its key id, in key-id order.
    pub fn deliveries(&self) -> impl Iterator<Item = (KeyId, DeliveryParts<'a>)> + '_ {
        self.recipients
            .iter()
            .enumerate()
            .filter_map(|(i, id)| Some((*id, self.parts(i)?)))
    }

    fn parts(&self, i: usize) -> Option<DeliveryParts<'a>> {
        let len = self.suite.wrap_len();
        let start = i.checked_mul(len)?;
        let wrap = self.wraps.get(start..start.checked_add(len)?)?;
        Some(DeliveryParts {
            header: self.header,
            wrap,
            body: self.body,
        })
    }
}

impl<'a> DeliveryParts<'a> {
    /// The delivery as four slices, in order: the 2-byte prefix, the header,
    /// this device's wrap, the body ciphertext. Their concatenation is the
    /// delivery's canonical encoding.
    pub fn as_slices(&self) -> [&'a [u8]; 4] {
        [&DELIVERY_PREFIX, self.header, self.wrap, self.body]
    }

    /// The delivery's length in bytes.
    pub fn len(&self) -> usize {
        DELIVERY_PREFIX.len() + self.header.len() + self.wrap.len() + self.body.len()
    }

    /// Always false: a delivery has a header and a body.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The delivery in one buffer (a copy; servers should write the slices).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        for part in self.as_slices() {
            out.extend_from_slice(part);
        }
        out
    }
}
