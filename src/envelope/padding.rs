//! Length hiding (SPEC.md §4.7). The padding is zero bytes appended to the
//! body plaintext before encryption, so it is authenticated by the body AEAD.

use crate::consts::limit;

/// How much to pad the body plaintext before encryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Padding {
    /// Padmé (Nikitin et al., PETS 2019): at most ~12 % overhead, leaks
    /// O(log log L) bits of the length L. The default.
    #[default]
    Padme,
    /// No padding: the exact length is visible to the relay.
    None,
    /// Round up to a multiple of the given bucket size (bytes, at least 1).
    Bucket(u32),
}

impl Padding {
    /// The padded length of an unpadded body of `len` bytes, or `None` if it
    /// would exceed [`crate::limit::MAX_BODY`].
    pub fn padded_len(self, len: usize) -> Option<usize> {
        let padded = match self {
            Padding::None => len,
            Padding::Padme => padme(len),
            Padding::Bucket(b) => {
                let b = usize::try_from(b).ok()?.max(1);
                len.div_ceil(b).checked_mul(b)?
            }
        };
        (padded <= limit::MAX_BODY).then_some(padded)
    }
}

/// Padmé: keep the top `floor(log2 E) + 1` bits of `len`, where
/// `E = floor(log2 len)`, and round the remaining low bits up.
pub fn padme(len: usize) -> usize {
    if len < 2 {
        return len;
    }
    let e = usize::BITS - 1 - len.leading_zeros(); // floor(log2 len)
    let s = u32::BITS - e.leading_zeros(); // floor(log2 e) + 1
    let last_bits = e - s;
    let mask = (1usize << last_bits) - 1;
    // Lengths near usize::MAX would overflow (a panic in debug, a tiny
    // wrapped result in release); they exceed every limit, so saturate.
    len.checked_add(mask)
        .map_or(usize::MAX, |padded| padded & !mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padme_matches_the_paper_examples() {
        // Values from the Padmé paper's definition, computed by hand.
        assert_eq!(padme(0), 0);
        assert_eq!(padme(1), 1);
        assert_eq!(padme(9), 10); // E=3, S=2, 1 low bit
        assert_eq!(padme(100), 104); // E=6, S=3, 3 low bits
        assert_eq!(padme(1000), 1024); // E=9, S=4, 5 low bits
        assert_eq!(padme(1025), 1088); // E=10, S=4, 6 low bits
    }

    #[test]
    fn padme_never_shrinks_and_overhead_is_bounded() {
        for len in 1..20_000usize {
            let p = padme(len);
            assert!(p >= len);
            assert!(p - len <= len / 8 + 1, "len {len} padded to {p}");
        }
    }

    #[test]
    fn bucket_rounds_up() {
        assert_eq!(Padding::Bucket(256).padded_len(1), Some(256));
        assert_eq!(Padding::Bucket(256).padded_len(256), Some(256));
        assert_eq!(Padding::Bucket(256).padded_len(257), Some(512));
        assert_eq!(Padding::Bucket(0).padded_len(7), Some(7));
        assert_eq!(Padding::None.padded_len(7), Some(7));
        assert_eq!(Padding::None.padded_len(limit::MAX_BODY + 1), None);
    }
}
