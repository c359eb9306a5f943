//! The strict byte codec every wire type goes through (SPEC.md §2.6).
//!
//! * integers are big-endian and fixed-width;
//! * every variable-length field has a length prefix and a declared maximum,
//!   checked before anything is allocated;
//! * nested reads are bounded by their declared length ([`Reader::nested`]);
//! * [`Reader::finish`] rejects trailing bytes.
//!
//! Nobody else in the crate slices wire bytes by hand.

use alloc::vec::Vec;

use crate::error::DecodeError;

/// A strict reader over a byte slice.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    /// Offset of `bytes[0]` within the outermost input, for error messages.
    offset: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, offset: 0 }
    }

    /// Offset of the next byte within the outermost input.
    pub(crate) fn position(&self) -> usize {
        self.offset
    }

    /// The next `n` bytes without consuming them, if there are that many.
    pub(crate) fn peek(&self, n: usize) -> Option<&'a [u8]> {
        self.bytes.get(..n)
    }

    /// Takes exactly `n` bytes.
    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if n > self.bytes.len() {
            return Err(DecodeError::Truncated {
                field,
                offset: self.offset,
                needed: n,
                available: self.bytes.len(),
            });
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        self.offset += n;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        let slice = self.take(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(u8::from_be_bytes(self.array::<1>(field)?))
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array::<2>(field)?))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array::<4>(field)?))
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array::<8>(field)?))
    }

    /// Reads a count or length already decoded as `value` and checks it
    /// against `min..=max` before anyone allocates for it.
    pub(crate) fn bounded(
        &self,
        value: usize,
        min: usize,
        max: usize,
        field: &'static str,
    ) -> Result<usize, DecodeError> {
        if value < min || value > max {
            return Err(DecodeError::OutOfRange {
                field,
                offset: self.offset,
                min,
                max,
                found: value,
            });
        }
        Ok(value)
    }

    /// Checks that at least `needed` bytes remain, before anyone allocates
    /// for a table whose count was just read: `Truncated{field}` otherwise,
    /// at the current offset.
    pub(crate) fn require(&self, needed: usize, field: &'static str) -> Result<(), DecodeError> {
        if self.bytes.len() < needed {
            return Err(DecodeError::Truncated {
                field,
                offset: self.offset,
                needed,
                available: self.bytes.len(),
            });
        }
        Ok(())
    }

    /// A `u32`-length-prefixed field of at most `max` bytes.
    pub(crate) fn bytes_u32(
        &mut self,
        max: usize,
        field: &'static str,
    ) -> Result<&'a [u8], DecodeError> {
        let len = usize::try_from(self.u32(field)?).unwrap_or(usize::MAX);
        let len = self.bounded(len, 0, max, field)?;
        self.take(len, field)
    }

    /// A nested reader over the next `len` bytes; it cannot read past them.
    pub(crate) fn nested(
        &mut self,
        len: usize,
        field: &'static str,
    ) -> Result<Reader<'a>, DecodeError> {
        let offset = self.offset;
        let bytes = self.take(len, field)?;
        Ok(Reader { bytes, offset })
    }

    /// Everything not yet read.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let rest = self.bytes;
        self.offset += rest.len();
        self.bytes = &[];
        rest
    }

    /// Ends the read: any byte left over is an error.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                offset: self.offset,
                count: self.bytes.len(),
            })
        }
    }

    /// Reads the `version || object type` prefix of a top-level object.
    pub(crate) fn object_prefix(&mut self, expected_type: u8) -> Result<(), DecodeError> {
        let version = self.u8("wire version")?;
        if version != crate::consts::WIRE_VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let found = self.u8("object type")?;
        if found != expected_type {
            return Err(DecodeError::WrongObjectType {
                expected: expected_type,
                found,
            });
        }
        Ok(())
    }

    /// Reads a suite id and rejects any suite but suite 1.
    pub(crate) fn suite(&mut self) -> Result<u16, DecodeError> {
        let suite = self.u16("suite")?;
        if suite != crate::consts::SUITE_X25519_SHA256_AES256GCM_ED25519 {
            return Err(DecodeError::UnsupportedSuite(suite));
        }
        Ok(suite)
    }

    /// Reads a suite id where both suites are defined (envelope headers and
    /// signed prekeys, SPEC.md §2.2) and rejects any other.
    pub(crate) fn any_suite(&mut self) -> Result<crate::Suite, DecodeError> {
        let suite = self.u16("suite")?;
        crate::Suite::from_id(suite).ok_or(DecodeError::UnsupportedSuite(suite))
    }
}

/// A writer for canonical encodings. Lengths are checked by the callers'
/// types (every field is bounded at construction), and a length that does
/// not fit its prefix saturates into a value every decoder rejects.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Writer {
            bytes: Vec::with_capacity(capacity),
        }
    }

    pub(crate) fn put(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.bytes.push(v);
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.put(&v.to_be_bytes());
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.put(&v.to_be_bytes());
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.put(&v.to_be_bytes());
    }

    pub(crate) fn len_u16(&mut self, len: usize) {
        self.u16(u16::try_from(len).unwrap_or(u16::MAX));
    }

    pub(crate) fn len_u32(&mut self, len: usize) {
        self.u32(u32::try_from(len).unwrap_or(u32::MAX));
    }

    pub(crate) fn bytes_u32(&mut self, bytes: &[u8]) {
        self.len_u32(bytes.len());
        self.put(bytes);
    }

    pub(crate) fn object_prefix(&mut self, object_type: u8) {
        self.u8(crate::consts::WIRE_VERSION);
        self.u8(object_type);
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.bytes
    }

    pub(crate) fn into_vec(self) -> Vec<u8> {
        self.bytes
    }
}

/// `u8 len || label`, the framing of every label that is hashed or signed.
pub(crate) fn label_prefix(label: &[u8]) -> [u8; 1] {
    [u8::try_from(label.len()).unwrap_or(u8::MAX)]
}
