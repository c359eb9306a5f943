//! Envelope and per-device delivery encodings (SPEC.md §4.1, §4.8).
//!
//! ```text
//! envelope: 0x01 || 0x03 || header || n × wrap (48 bytes, in key-id order) || body ciphertext
//! delivery: 0x01 || 0x04 || header || wrap of one device (48 bytes)        || body ciphertext
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

/// One wrapped message secret: AES-256-GCM ciphertext and tag.
pub(crate) type Wrap = [u8; size::WRAP];

/// A sealed message for every recipient device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub(crate) header: Header,
    pub(crate) wraps: Vec<Wrap>,
    pub(crate) body: Vec<u8>,
}

/// What one device downloads: the common part of an envelope and that
/// device's wrap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub(crate) header: Header,
    pub(crate) wrap: Wrap,
    pub(crate) body: Vec<u8>,
}

/// A decoded envelope or delivery, borrowing its body (used by `open`).
pub(crate) struct View<'a> {
    pub(crate) header: Header,
    /// All wraps (envelope) or the single wrap (delivery), concatenated.
    pub(crate) wraps: &'a [u8],
    pub(crate) is_delivery: bool,
    pub(crate) body: &'a [u8],
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
        let wraps = r.take(wrap_count * size::WRAP, "wraps")?;
        let body = r.take(header.body_len(), "body ciphertext")?;
        r.finish()?;
        Ok(View {
            header,
            wraps,
            is_delivery,
            body,
        })
    }

    /// The wrap for the recipient at `index` in the header.
    pub(crate) fn wrap(&self, index: usize) -> Option<Wrap> {
        let i = if self.is_delivery { 0 } else { index };
        let start = i.checked_mul(size::WRAP)?;
        let slice = self.wraps.get(start..start.checked_add(size::WRAP)?)?;
        let mut w = [0u8; size::WRAP];
        w.copy_from_slice(slice);
        Some(w)
    }
}

fn wraps_from(bytes: &[u8]) -> Vec<Wrap> {
    bytes
        .chunks_exact(size::WRAP)
        .map(|c| {
            let mut w = [0u8; size::WRAP];
            w.copy_from_slice(c);
            w
        })
        .collect()
}

impl Envelope {
    /// The public header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(
            2 + self.header.encoded_len() + self.wraps.len() * size::WRAP + self.body.len(),
        );
        w.object_prefix(object_type::ENVELOPE);
        self.header.encode(&mut w);
        for wrap in &self.wraps {
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
        Ok(Envelope {
            wraps: wraps_from(view.wraps),
            body: view.body.to_vec(),
            header: view.header,
        })
    }

    /// The delivery for the device with `key_id`, or `None` if it is not a
    /// recipient. Relay-side: needs no key.
    pub fn delivery_for(&self, key_id: &KeyId) -> Option<Delivery> {
        let i = self.header.position(key_id)?;
        let wrap = *self.wraps.get(i)?;
        Some(Delivery {
            header: self.header.clone(),
            wrap,
            body: self.body.clone(),
        })
    }

    /// Every recipient's delivery, in key-id order.
    pub fn deliveries(&self) -> impl Iterator<Item = (KeyId, Delivery)> + '_ {
        self.header
            .recipients
            .iter()
            .zip(self.wraps.iter())
            .map(|(id, wrap)| {
                (
                    *id,
                    Delivery {
                        header: self.header.clone(),
                        wrap: *wrap,
                        body: self.body.clone(),
                    },
                )
            })
    }
}

impl Delivery {
    /// The public header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w =
            Writer::with_capacity(2 + self.header.encoded_len() + size::WRAP + self.body.len());
        w.object_prefix(object_type::DELIVERY);
        self.header.encode(&mut w);
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
        let wrap = view
            .wrap(0)
            .ok_or(DecodeError::NonCanonical("delivery wrap"))?;
        Ok(Delivery {
            wrap,
            body: view.body.to_vec(),
            header: view.header,
        })
    }
}
