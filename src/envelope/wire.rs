//! Envelope and per-device delivery encodings (SPEC.md §4.1, §4.8).
//!
//! ```text
//! envelope: 0x02 || 0x03 || header || n × wrap (in key-id order) || body ciphertext
//! delivery: 0x02 || 0x04 || header || wrap of one device         || body ciphertext
//!
//! wrap, classical suite:  AES-256-GCM(message secret) (48 bytes)
//! wrap, hybrid suite:     X-Wing ciphertext (1120) || AES-256-GCM(message secret) (48)
//! ```
//!
//! A relay splits an envelope into deliveries without any key: the common
//! part (header + body) plus the one wrap of the device it delivers to.

use alloc::vec::Vec;

use crate::codec::{Reader, Writer};
use crate::consts::{object_type, size};
use crate::envelope::header::Header;
use crate::error::DecodeError;
use crate::identity::KeyId;
use crate::suite::Suite;

/// One wrapped message secret: AES-256-GCM ciphertext and tag.
pub(crate) type Wrap = [u8; size::WRAP];

/// One device's X-Wing ciphertext (hybrid suite).
pub(crate) type KemCiphertext = [u8; size::XWING_CIPHERTEXT];

/// A sealed message for every recipient device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub(crate) header: Header,
    /// Hybrid suite: one X-Wing ciphertext per recipient, in key-id order
    /// (the first part of each wrap on the wire). Empty for the classical suite.
    pub(crate) kem_ciphertexts: Vec<KemCiphertext>,
    pub(crate) wraps: Vec<Wrap>,
    pub(crate) body: Vec<u8>,
}

/// What one device downloads: the common part of an envelope and that
/// device's wrap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub(crate) header: Header,
    /// The device's X-Wing ciphertext (hybrid suite only).
    pub(crate) kem_ciphertext: Option<alloc::boxed::Box<KemCiphertext>>,
    pub(crate) wrap: Wrap,
    pub(crate) body: Vec<u8>,
}

/// A decoded envelope or delivery, borrowing its body (used by `open`).
pub(crate) struct View<'a> {
    pub(crate) header: Header,
    /// All wraps (envelope) or the single wrap (delivery), concatenated;
    /// each [`Suite::wrap_len`] bytes.
    pub(crate) wraps: &'a [u8],
    pub(crate) is_delivery: bool,
    pub(crate) body: &'a [u8],
}

/// Splits one encoded wrap of `suite` into its X-Wing ciphertext (hybrid
/// only) and its 48-byte AEAD part.
pub(crate) fn split_wrap(suite: Suite, wrap: &[u8]) -> Option<(Option<&KemCiphertext>, Wrap)> {
    let (kem, aead) = wrap.split_at_checked(suite.wrap_len() - size::WRAP)?;
    let aead: Wrap = aead.try_into().ok()?;
    let kem = match suite {
        Suite::Classical => None,
        Suite::Hybrid => Some(<&KemCiphertext>::try_from(kem).ok()?),
    };
    Some((kem, aead))
}

impl<'a> View<'a> {
    pub(crate) fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("wire version")?;
        if version != crate::consts::WIRE_VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let is_delivery = match r.u8("object type")? {
            object_type::ENVELOPE => false,
            object_type::DELIVERY => true,
            found => {
                return Err(DecodeError::WrongObjectType {
                    expected: object_type::ENVELOPE,
                    found,
                })
            }
        };
        let header = Header::decode(&mut r)?;
        let wrap_count = if is_delivery {
            1
        } else {
            header.recipients.len()
        };
        // At most 1024 × 1168 bytes: no overflow, and `take` checks the
        // bytes are there before anything is allocated.
        let wraps = r.take(wrap_count * header.suite.wrap_len(), "wraps")?;
        let body = r.take(header.body_len(), "body ciphertext")?;
        r.finish()?;
        Ok(View {
            header,
            wraps,
            is_delivery,
            body,
        })
    }

    /// The encoded wrap for the recipient at `index` in the header
    /// ([`Suite::wrap_len`] bytes).
    pub(crate) fn wrap(&self, index: usize) -> Option<&'a [u8]> {
        let i = if self.is_delivery { 0 } else { index };
        let len = self.header.suite.wrap_len();
        let start = i.checked_mul(len)?;
        self.wraps.get(start..start.checked_add(len)?)
    }
}

/// The X-Wing ciphertexts (hybrid) and AEAD wraps of concatenated wraps.
fn wraps_from(suite: Suite, bytes: &[u8]) -> (Vec<KemCiphertext>, Vec<Wrap>) {
    let mut kems = Vec::new();
    let mut wraps = Vec::with_capacity(bytes.len() / suite.wrap_len());
    for (kem, aead) in bytes
        .chunks_exact(suite.wrap_len())
        .filter_map(|c| split_wrap(suite, c))
    {
        if let Some(kem) = kem {
            kems.push(*kem);
        }
        wraps.push(aead);
    }
    (kems, wraps)
}

impl Envelope {
    /// The public header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(
            2 + self.header.encoded_len()
                + self.wraps.len() * self.header.suite.wrap_len()
                + self.body.len(),
        );
        w.object_prefix(object_type::ENVELOPE);
        self.header.encode(&mut w);
        for (i, wrap) in self.wraps.iter().enumerate() {
            if let Some(kem) = self.kem_ciphertexts.get(i) {
                w.put(kem);
            }
            w.put(wrap);
        }
        w.put(&self.body);
        w.into_vec()
    }

    /// Decodes the canonical encoding of an envelope (not a delivery).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let view = View::decode(bytes)?;
        if view.is_delivery {
            return Err(DecodeError::WrongObjectType {
                expected: object_type::ENVELOPE,
                found: object_type::DELIVERY,
            });
        }
        let (kem_ciphertexts, wraps) = wraps_from(view.header.suite, view.wraps);
        Ok(Envelope {
            kem_ciphertexts,
            wraps,
            body: view.body.to_vec(),
            header: view.header,
        })
    }

    /// The delivery for the device with `key_id`, or `None` if it is not a
    /// recipient. Relay-side: needs no key.
    pub fn delivery_for(&self, key_id: &KeyId) -> Option<Delivery> {
        let i = self.header.position(key_id)?;
        Some(self.delivery_at(i)?.1)
    }

    fn delivery_at(&self, i: usize) -> Option<(KeyId, Delivery)> {
        let key_id = *self.header.recipients.get(i)?;
        let wrap = *self.wraps.get(i)?;
        let kem_ciphertext = match self.header.suite {
            Suite::Classical => None,
            Suite::Hybrid => Some(alloc::boxed::Box::new(*self.kem_ciphertexts.get(i)?)),
        };
        Some((
            key_id,
            Delivery {
                header: self.header.clone(),
                kem_ciphertext,
                wrap,
                body: self.body.clone(),
            },
        ))
    }

    /// Every recipient's delivery, in key-id order.
    pub fn deliveries(&self) -> impl Iterator<Item = (KeyId, Delivery)> + '_ {
        (0..self.header.recipients.len()).filter_map(|i| self.delivery_at(i))
    }
}

impl Delivery {
    /// The public header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(
            2 + self.header.encoded_len() + self.header.suite.wrap_len() + self.body.len(),
        );
        w.object_prefix(object_type::DELIVERY);
        self.header.encode(&mut w);
        if let Some(kem) = &self.kem_ciphertext {
            w.put(kem.as_slice());
        }
        w.put(&self.wrap);
        w.put(&self.body);
        w.into_vec()
    }

    /// Decodes the canonical encoding of a delivery (not an envelope).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let view = View::decode(bytes)?;
        if !view.is_delivery {
            return Err(DecodeError::WrongObjectType {
                expected: object_type::DELIVERY,
                found: object_type::ENVELOPE,
            });
        }
        let (kem, wrap) = view
            .wrap(0)
            .and_then(|w| split_wrap(view.header.suite, w))
            .ok_or(DecodeError::NonCanonical("delivery wrap"))?;
        Ok(Delivery {
            kem_ciphertext: kem.map(|k| alloc::boxed::Box::new(*k)),
            wrap,
            body: view.body.to_vec(),
            header: view.header,
        })
    }
}
