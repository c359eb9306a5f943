//! The post-quantum hybrid per-device wrap (issue 12): RFC 9180 base mode
//! with KEM X-Wing (MLKEM768-X25519, id `0x647a`, draft-ietf-hpke-pq §4),
//! HKDF-SHA256 (`0x0001`) and AES-256-GCM (`0x0002`):
//!
//! ```text
//! suite_id      = "HPKE" || 0x647a || 0x0001 || 0x0002
//! (enc, ss)     = X-Wing.Encaps(pkR, eseed)     enc = ct_M (1088) || ct_X (32)
//! ss            = X-Wing.Decaps(skR, enc)       (no DHKEM ExtractAndExpand:
//!                                                X-Wing's output is the
//!                                                HPKE shared_secret)
//! key, base_nonce = KeySchedule(mode_base, ss, info, psk = "", psk_id = "")
//! ```
//!
//! The key schedule is `envelope/hpke.rs`'s, with this suite id; the
//! schedule context depends only on `info`, so it is computed once per
//! envelope ([`XWingScheduleContext`]). The wrap itself is sealed and opened
//! with the same [`Context`] as the classical wrap.
//!
//! Unlike the classical wrap, every device gets its own X-Wing ciphertext
//! (1120 bytes): a KEM ciphertext cannot be shared between recipients the way
//! a DHKEM ephemeral key is. The encapsulation randomness (64 bytes per
//! device) is the caller's, drawn from its RNG.

use crate::envelope::hpke::{Context, ScheduleContext, SuiteId};
use crate::primitives::{xwing_encapsulate, xwing_size, Rejected, XWingSecret};

/// The KEM id of X-Wing in HPKE (draft-ietf-hpke-pq, IANA table: `0x647a`).
#[cfg(test)]
pub(crate) const KEM_ID_XWING: u16 = 0x647a;

/// `"HPKE" || 0x647a || 0x0001 (HKDF-SHA256) || 0x0002 (AES-256-GCM)`.
pub(crate) const XWING_SUITE_ID: SuiteId = *b"HPKE\x64\x7a\x00\x01\x00\x02";

/// The key-schedule context of the X-Wing suite for one `info` (one
/// envelope). A distinct type, so a classical context cannot be passed to
/// the hybrid wrap by mistake.
pub(crate) struct XWingScheduleContext(ScheduleContext);

impl XWingScheduleContext {
    pub(crate) fn new(info: &[u8]) -> Self {
        XWingScheduleContext(ScheduleContext::for_suite(XWING_SUITE_ID, info))
    }
}

/// Sender side: X-Wing `Encaps` to `public` with `randomness`, then the key
/// schedule. Returns the device's X-Wing ciphertext and its wrap [`Context`].
/// An invalid public key (ML-KEM modulus check, non-canonical or low-order
/// X25519 part) is [`Rejected`] before any other work.
pub(crate) fn xwing_encap(
    public: &[u8; xwing_size::PUBLIC],
    randomness: &[u8; xwing_size::RANDOMNESS],
    ksc: &XWingScheduleContext,
) -> Result<([u8; xwing_size::CIPHERTEXT], Context), Rejected> {
    let (ciphertext, shared) = xwing_encapsulate(public, randomness)?;
    let ctx = Context::new(&shared, &ksc.0)?;
    Ok((ciphertext, ctx))
}

/// Receiver side: X-Wing `Decaps` of `ciphertext`, then the key schedule. A
/// low-order X25519 ciphertext is [`Rejected`]; any other tampering gives a
/// context whose key opens nothing (ML-KEM implicit rejection).
pub(crate) fn xwing_decap(
    secret: &XWingSecret,
    ciphertext: &[u8; xwing_size::CIPHERTEXT],
    ksc: &XWingScheduleContext,
) -> Result<Context, Rejected> {
    let shared = secret.decapsulate(ciphertext)?;
    Context::new(&shared, &ksc.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::check_xwing_public;
    use alloc::format;

    const INFO: &[u8] = b"fanseal v2 wrap test info";

    fn seed(n: u8) -> [u8; 32] {
        [n; 32]
    }

    fn randomness(n: u8) -> [u8; 64] {
        let mut r = [0u8; 64];
        for (i, b) in r.iter_mut().enumerate() {
            *b = n.wrapping_mul(31).wrapping_add(i as u8);
        }
        r
    }

    /// The 5 canonical low-order X25519 u-coordinates (SPEC.md §2.7).
    fn low_order_points() -> [[u8; 32]; 5] {
        let mut one = [0u8; 32];
        one[0] = 1;
        let mut p_minus_1 = [0xffu8; 32];
        p_minus_1[0] = 0xec;
        p_minus_1[31] = 0x7f;
        let order8_a: [u8; 32] =
            hex::decode("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")
                .expect("hex")
                .try_into()
                .expect("32");
        let order8_b: [u8; 32] =
            hex::decode("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157")
                .expect("hex")
                .try_into()
                .expect("32");
        [[0; 32], one, p_minus_1, order8_a, order8_b]
    }

    fn sealed(ctx: &Context, ms: &[u8; 32]) -> ([u8; 32], [u8; 16]) {
        let mut buf = *ms;
        let tag = ctx.seal_in_place(0, b"binding", &mut buf).expect("seal");
        (buf, tag)
    }

    #[test]
    fn round_trip_opens_the_wrap() {
        let sk = XWingSecret::from_seed(&seed(1));
        let pk = sk.public();
        assert!(check_xwing_public(&pk).is_ok());
        let ksc = XWingScheduleContext::new(INFO);
        let (ct, enc_ctx) = xwing_encap(&pk, &randomness(2), &ksc).expect("encap");
        let dec_ctx = xwing_decap(&sk, &ct, &ksc).expect("decap");
        assert_eq!(*enc_ctx.key, *dec_ctx.key);
        assert_eq!(*enc_ctx.base_nonce, *dec_ctx.base_nonce);
        let ms = [0x42u8; 32];
        let (mut body, tag) = sealed(&enc_ctx, &ms);
        dec_ctx
            .open_in_place(0, b"binding", &mut body, &tag)
            .expect("open");
        assert_eq!(body, ms);
        // Deterministic in (public, randomness): the same inputs give the
        // same ciphertext; other randomness gives another one.
        let (ct2, _) = xwing_encap(&pk, &randomness(2), &ksc).expect("encap");
        assert_eq!(ct, ct2);
        let (ct3, _) = xwing_encap(&pk, &randomness(3), &ksc).expect("encap");
        assert_ne!(ct, ct3);
        // Another info is another key schedule.
        let other = xwing_decap(&sk, &ct, &XWingScheduleContext::new(b"other")).expect("decap");
        assert_ne!(*other.key, *dec_ctx.key);
        // Another recipient key cannot open it.
        let stranger = xwing_decap(&XWingSecret::from_seed(&seed(9)), &ct, &ksc).expect("decap");
        assert_ne!(*stranger.key, *dec_ctx.key);
    }

    #[test]
    fn the_suite_id_is_hpke_647a_0001_0002() {
        assert_eq!(&XWING_SUITE_ID[..4], b"HPKE");
        assert_eq!(XWING_SUITE_ID[4..6], KEM_ID_XWING.to_be_bytes());
        assert_eq!(XWING_SUITE_ID[6..], [0, 1, 0, 2]);
    }

    #[test]
    fn seed_round_trips_and_debug_prints_no_secret() {
        let s = [0xa7u8; 32];
        let sk = XWingSecret::from_seed(&s);
        assert_eq!(*sk.to_seed(), s);
        assert_eq!(XWingSecret::from_seed(&sk.to_seed()).public(), sk.public());
        let debug = format!("{sk:?}");
        let debug_lower = debug.to_lowercase();
        assert!(debug.starts_with("XWingSecret"), "{debug}");
        for needle in [
            hex::encode(s),
            format!("{:?}", s),
            format!("{:?}", &s[..8]),
            "a7, a7".into(),
            "167, 167".into(),
        ] {
            assert!(!debug_lower.contains(&needle), "{debug} contains {needle}");
        }
        // It does show the public X25519 half.
        let public = sk.public();
        assert!(debug.contains(&format!("{:?}", &public[1184..])), "{debug}");
    }

    #[test]
    fn secret_is_zeroize_on_drop() {
        fn zeroize_on_drop<T: zeroize::ZeroizeOnDrop>() {}
        zeroize_on_drop::<XWingSecret>();
        // primitives.rs checks that the marker is backed by the crate's own
        // wipe of the seed.
    }

    #[test]
    fn low_order_x25519_ciphertext_is_rejected() {
        let sk = XWingSecret::from_seed(&seed(4));
        let ksc = XWingScheduleContext::new(INFO);
        let (ct, _) = xwing_encap(&sk.public(), &randomness(5), &ksc).expect("encap");
        for low in low_order_points() {
            let mut bad = ct;
            bad[1088..].copy_from_slice(&low);
            assert_eq!(
                sk.decapsulate(&bad).map(|_| ()),
                Err(Rejected),
                "{low:02x?}"
            );
            assert!(xwing_decap(&sk, &bad, &ksc).is_err());
            // Non-canonical encodings of the same points (bit 255 set: X25519
            // masks it) are low order too.
            let mut high = low;
            high[31] |= 0x80;
            bad[1088..].copy_from_slice(&high);
            assert!(sk.decapsulate(&bad).is_err(), "{high:02x?}");
        }
    }

    #[test]
    fn low_order_x25519_public_key_is_rejected() {
        let pk = XWingSecret::from_seed(&seed(6)).public();
        for low in low_order_points() {
            let mut bad = pk;
            bad[1184..].copy_from_slice(&low);
            assert_eq!(check_xwing_public(&bad), Err(Rejected));
            assert!(xwing_encap(&bad, &randomness(7), &XWingScheduleContext::new(INFO)).is_err());
        }
        // Non-canonical (u >= p, or bit 255 set) X25519 halves are rejected.
        let mut bad = pk;
        bad[1184..].copy_from_slice(&[0xff; 32]);
        assert_eq!(check_xwing_public(&bad), Err(Rejected));
        let mut bad = pk;
        bad[1215] |= 0x80;
        assert_eq!(check_xwing_public(&bad), Err(Rejected));
    }

    #[test]
    fn ml_kem_modulus_overflow_in_the_public_key_is_rejected() {
        let pk = XWingSecret::from_seed(&seed(8)).public();
        // The first 12-bit coefficient set to 0xfff >= q = 3329.
        let mut bad = pk;
        bad[0] = 0xff;
        bad[1] |= 0x0f;
        assert_eq!(check_xwing_public(&bad), Err(Rejected));
        assert!(xwing_encap(&bad, &randomness(9), &XWingScheduleContext::new(INFO)).is_err());
        // Both halves bad: the same opaque error.
        bad[1184..].copy_from_slice(&[0; 32]);
        assert_eq!(check_xwing_public(&bad), Err(Rejected));
    }

    #[test]
    fn every_tampered_ciphertext_byte_fails_the_wrap() {
        // One bit flipped in each of the 1120 ciphertext bytes: the ML-KEM
        // part gives a pseudo-random secret (implicit rejection), the X25519
        // part another DH and combiner input. Never the original key; the
        // wrap never opens.
        let sk = XWingSecret::from_seed(&seed(10));
        let ksc = XWingScheduleContext::new(INFO);
        let (ct, ctx) = xwing_encap(&sk.public(), &randomness(11), &ksc).expect("encap");
        let ms = [0x5au8; 32];
        let (body, tag) = sealed(&ctx, &ms);
        for i in 0..ct.len() {
            let mut bad = ct;
            bad[i] ^= 1 << (i % 8);
            match xwing_decap(&sk, &bad, &ksc) {
                Err(Rejected) => {}
                Ok(other) => {
                    assert_ne!(*other.key, *ctx.key, "byte {i}");
                    let mut b = body;
                    assert!(other.open_in_place(0, b"binding", &mut b, &tag).is_err());
                    assert_eq!(b, body, "byte {i}: buffer changed");
                }
            }
        }
    }

    #[test]
    fn wrong_lengths_cannot_be_expressed() {
        // The API takes fixed arrays: a 1119- or 1121-byte ciphertext, a
        // 1215-byte key or 63 bytes of randomness do not type-check. A caller
        // holding a slice must convert it first, and that conversion fails.
        let short = [0u8; 1119];
        assert!(<&[u8; xwing_size::CIPHERTEXT]>::try_from(&short[..]).is_err());
        let long = [0u8; 1217];
        assert!(<&[u8; xwing_size::PUBLIC]>::try_from(&long[..]).is_err());
        assert_eq!(xwing_size::PUBLIC, xwing_size::PUBLIC_MLKEM + 32);
        assert_eq!(xwing_size::CIPHERTEXT, xwing_size::CIPHERTEXT_MLKEM + 32);
    }
}
