//! Identity: certificates, device lists, fork evidence and safety numbers —
//! round trips, strict decoding, bit flips, and the named attacks of
//! DESIGN.md that target identity (ghost devices, rollback, forks, bad keys,
//! cross-type signatures).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use fanseal::*;
use proptest::prelude::*;

// ------------------------------------------------------------ helpers

/// Every strict prefix of `bytes` and `bytes` plus a trailing byte must fail to decode.
fn assert_strict<T, E: core::fmt::Debug>(bytes: &[u8], decode: impl Fn(&[u8]) -> Result<T, E>) {
    assert!(decode(bytes).is_ok(), "the untouched encoding must decode");
    for len in 0..bytes.len() {
        assert!(
            decode(&bytes[..len]).is_err(),
            "truncation to {len} bytes decoded"
        );
    }
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert!(decode(&longer).is_err(), "a trailing byte was accepted");
}

// ------------------------------------------------------------ round trips (proptest)

fn arb_params() -> impl Strategy<Value = (u8, [u8; 16], u64, Option<u64>, u32)> {
    (
        any::<u8>(),
        any::<[u8; 16]>(),
        any::<u64>(),
        any::<Option<u64>>(),
        any::<u32>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn certificate_round_trips((seed, id, created_at, expires_at, capabilities) in arb_params()) {
        let mut r = rng(seed);
        let account = AccountSecret::generate(&mut r);
        let device = DeviceSecret::generate(&mut r);
        let cert = account.certify_device(&CertificateParams {
            device_id: DeviceId::from_bytes(id), keys: device.public_keys(), created_at, expires_at, capabilities,
        }).unwrap();
        let bytes = cert.to_bytes();
        let decoded = DeviceCertificate::from_bytes(&bytes).unwrap();
        prop_assert_eq!(&decoded, &cert);
        prop_assert_eq!(decoded.to_bytes(), bytes);
        prop_assert!(decoded.verify(&account.public_key(), created_at.min(u64::MAX - 1)).is_ok() || cert.is_expired(created_at));
    }

    #[test]
    fn device_list_round_trips(seed in any::<u8>(), devices in 0usize..6, issued_at in any::<u64>()) {
        let mut r = rng(seed);
        let a = account(&mut r, devices);
        let next = a.secret.issue_device_list(Some(&a.verified()), issued_at, a.list.certificates().to_vec()).unwrap();
        for list in [&a.list, &next] {
            let bytes = list.to_bytes();
            let decoded = DeviceList::from_bytes(&bytes).unwrap();
            prop_assert_eq!(&decoded, list);
            prop_assert_eq!(decoded.to_bytes(), bytes);
            prop_assert!(decoded.verify(&a.public()).is_ok());
        }
    }

    #[test]
    fn safety_number_is_order_independent_and_round_trips(s1 in any::<u8>(), s2 in any::<u8>()) {
        let a = AccountSecret::generate(&mut rng(s1)).public_key();
        let b = AccountSecret::generate(&mut rng(s2.wrapping_add(1).max(1).wrapping_add(s1))).public_key();
        let ab = SafetyNumber::new(&a, &b);
        prop_assert_eq!(ab, SafetyNumber::new(&b, &a));
        prop_assert_eq!(SafetyNumber::from_bytes(&ab.to_bytes()).unwrap(), ab);
        prop_assert!(ab.matches_scanned(&SafetyNumber::new(&b, &a).to_bytes()));
        let digits = ab.to_digits();
        prop_assert_eq!(digits.len(), 12 * 5 + 11);
        prop_assert!(digits.split(' ').all(|g| g.len() == 5 && g.bytes().all(|c| c.is_ascii_digit())));
    }

    #[test]
    fn decoders_never_panic_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = DeviceCertificate::from_bytes(&bytes);
        let _ = DeviceList::from_bytes(&bytes);
        let _ = ForkEvidence::from_bytes(&bytes);
        let _ = SafetyNumber::from_bytes(&bytes);
    }
}

#[test]
fn fork_evidence_round_trips_and_verifies_alone() {
    let mut r = rng(9);
    let a = account(&mut r, 2);
    let left = a
        .secret
        .issue_device_list(
            Some(&a.verified()),
            NOW + 1,
            a.list.certificates()[..1].to_vec(),
        )
        .unwrap();
    let right = a
        .secret
        .issue_device_list(Some(&a.verified()), NOW + 2, a.list.certificates().to_vec())
        .unwrap();
    let trusted = a.verified().update(&[], &left).unwrap();
    let Err(DeviceListError::Fork(evidence)) = trusted.update(&[], &right) else {
        panic!("fork not detected")
    };
    let bytes = evidence.to_bytes();
    let decoded = ForkEvidence::from_bytes(&bytes).unwrap();
    assert_eq!(decoded.to_bytes(), bytes);
    assert_eq!(decoded.verify(), Ok(a.public()));
    assert_eq!(decoded.version(), 2);
    assert_strict(&bytes, ForkEvidence::from_bytes);
}

// ------------------------------------------------------------ strict decoding

#[test]
fn decoders_reject_every_truncation_and_trailing_bytes() {
    let mut r = rng(1);
    let a = account(&mut r, 3);
    assert_strict(
        &a.devices[0].certificate.to_bytes(),
        DeviceCertificate::from_bytes,
    );
    assert_strict(&a.list.to_bytes(), DeviceList::from_bytes);
    let sn = SafetyNumber::new(&a.public(), &AccountSecret::generate(&mut r).public_key());
    assert_strict(&sn.to_bytes(), SafetyNumber::from_bytes);
}

#[test]
fn certificate_without_expiry_is_200_bytes_like_every_certificate() {
    let mut r = rng(2);
    let acct = AccountSecret::generate(&mut r);
    let dev = DeviceSecret::generate(&mut r);
    let cert = acct
        .certify_device(&CertificateParams {
            expires_at: None,
            ..params(1, dev.public_keys())
        })
        .unwrap();
    let bytes = cert.to_bytes();
    assert_strict(&bytes, DeviceCertificate::from_bytes);
    // Wire v2: one length for every certificate (the sender's certificate
    // travels in the body, so its length must not depend on its fields).
    let with_expiry = acct.certify_device(&params(1, dev.public_keys())).unwrap();
    assert_eq!(bytes.len(), CERTIFICATE_LEN);
    assert_eq!(with_expiry.to_bytes().len(), CERTIFICATE_LEN);
    // "never" is u64::MAX on the wire; Some(u64::MAX) is the same certificate.
    assert_eq!(bytes[124..132], [0xff; 8]);
    let max = acct
        .certify_device(&CertificateParams {
            expires_at: Some(u64::MAX),
            ..params(1, dev.public_keys())
        })
        .unwrap();
    assert_eq!(max.to_bytes(), bytes);
    assert_eq!(
        DeviceCertificate::from_bytes(&bytes)
            .unwrap()
            .params()
            .expires_at,
        None
    );
}

#[test]
fn device_list_count_is_bounded_before_allocation() {
    let mut r = rng(3);
    let a = account(&mut r, 1);
    let mut bytes = a.list.to_bytes();
    // The count field sits after prefix(2) + suite(2) + account(32) + version(8) + prev(32) + issued(8).
    bytes[84] = 0xff;
    bytes[85] = 0xff;
    assert!(matches!(
        DeviceList::from_bytes(&bytes),
        Err(DecodeError::OutOfRange {
            field: "device count",
            found: 65535,
            ..
        })
    ));
    // A count within the limit but more than the bytes present: refused before allocating.
    bytes[84] = 0x01;
    bytes[85] = 0x00;
    assert!(matches!(
        DeviceList::from_bytes(&bytes),
        Err(DecodeError::Truncated { .. })
    ));
}

#[test]
fn unsorted_or_duplicate_devices_are_non_canonical() {
    let mut r = rng(4);
    let a = account(&mut r, 2);
    let bytes = a.list.to_bytes();
    let cert_len = a.devices[0].certificate.to_bytes().len();
    let first = 86..86 + cert_len;
    let second = first.end..first.end + cert_len;
    let mut swapped = bytes.clone();
    swapped[first.clone()].copy_from_slice(&bytes[second.clone()]);
    swapped[second.clone()].copy_from_slice(&bytes[first.clone()]);
    assert!(matches!(
        DeviceList::from_bytes(&swapped),
        Err(DecodeError::NonCanonical(_))
    ));
    let mut duplicated = bytes.clone();
    duplicated[second].copy_from_slice(&bytes[first]);
    assert!(matches!(
        DeviceList::from_bytes(&duplicated),
        Err(DecodeError::NonCanonical(_))
    ));
}

// ------------------------------------------------------------ bit flips

#[test]
fn flipping_any_bit_of_a_certificate_breaks_it() {
    let mut r = rng(5);
    let acct = AccountSecret::generate(&mut r);
    let dev = DeviceSecret::generate(&mut r);
    let cert = acct.certify_device(&params(7, dev.public_keys())).unwrap();
    let bytes = cert.to_bytes();
    for bit in 0..bytes.len() * 8 {
        let mut m = bytes.clone();
        m[bit / 8] ^= 1 << (bit % 8);
        let ok = DeviceCertificate::from_bytes(&m)
            .is_ok_and(|c| c.verify(&acct.public_key(), NOW).is_ok());
        assert!(!ok, "flipping bit {bit} still verifies");
    }
}

#[test]
fn flipping_any_bit_of_a_device_list_breaks_it() {
    let mut r = rng(6);
    let a = account(&mut r, 1);
    let bytes = a.list.to_bytes();
    for bit in 0..bytes.len() * 8 {
        let mut m = bytes.clone();
        m[bit / 8] ^= 1 << (bit % 8);
        let ok = DeviceList::from_bytes(&m).is_ok_and(|l| l.verify(&a.public()).is_ok());
        assert!(!ok, "flipping bit {bit} still verifies");
    }
}

// ------------------------------------------------------------ named attacks

#[test]
fn attack_ghost_device_certificate_signed_by_another_account() {
    // The directory slips in a device certified by the directory's own key.
    let mut r = rng(10);
    let victim = account(&mut r, 2);
    let directory_key = AccountSecret::generate(&mut r);
    let ghost = DeviceSecret::generate(&mut r);
    let ghost_cert = directory_key
        .certify_device(&params(9, ghost.public_keys()))
        .unwrap();
    // As a standalone certificate: refused for the victim's account.
    assert_eq!(
        ghost_cert.verify(&victim.public(), NOW),
        Err(CertificateError::WrongAccount)
    );
    // Relabelled as the victim's: the signature no longer verifies.
    let mut relabelled = ghost_cert.to_bytes();
    relabelled[4..36].copy_from_slice(&victim.public().to_bytes());
    let relabelled = DeviceCertificate::from_bytes(&relabelled).unwrap();
    assert_eq!(
        relabelled.verify(&victim.public(), NOW),
        Err(CertificateError::BadSignature)
    );
    // The account key refuses to list it, and a list carrying it does not verify.
    let mut certs = victim.list.certificates().to_vec();
    certs.push(ghost_cert.clone());
    assert!(matches!(
        victim
            .secret
            .issue_device_list(Some(&victim.verified()), NOW, certs),
        Err(DeviceListError::Certificate {
            error: CertificateError::WrongAccount,
            ..
        })
    ));
    let list = directory_key
        .issue_device_list(None, NOW, vec![ghost_cert])
        .unwrap();
    assert_eq!(
        list.verify(&victim.public()),
        Err(DeviceListError::WrongAccount)
    );
}

#[test]
fn attack_ghost_device_absent_from_signed_list() {
    // The directory appends a genuinely certified (but revoked) device to a list
    // without the account re-signing: the list signature breaks.
    let mut r = rng(11);
    let victim = account(&mut r, 3);
    let trimmed = victim
        .secret
        .issue_device_list(
            Some(&victim.verified()),
            NOW,
            victim.list.certificates()[..2].to_vec(),
        )
        .unwrap();
    let removed = &victim.list.certificates()[2];
    let mut bytes = trimmed.to_bytes();
    let sig = bytes.split_off(bytes.len() - 64);
    bytes[84..86].copy_from_slice(&3u16.to_be_bytes());
    let cert = removed.to_bytes();
    bytes.extend_from_slice(&cert);
    bytes.extend_from_slice(&sig);
    let forged = DeviceList::from_bytes(&bytes).unwrap();
    assert_eq!(
        forged.verify(&victim.public()),
        Err(DeviceListError::BadSignature)
    );
    // And the trusted list has no such device.
    let trusted = victim.verified().update(&[], &trimmed).unwrap();
    assert!(trusted.device(removed.device_id()).is_none());
}

#[test]
fn attack_device_list_rollback() {
    let mut r = rng(12);
    let a = account(&mut r, 2);
    let v2 = a
        .secret
        .issue_device_list(
            Some(&a.verified()),
            NOW + 1,
            a.list.certificates()[..1].to_vec(),
        )
        .unwrap();
    let trusted = a.verified().update(&[], &v2).unwrap();
    assert_eq!(trusted.version(), 2);
    // The directory serves the old list (which still has the revoked device).
    assert_eq!(
        trusted.update(&[], &a.list),
        Err(DeviceListError::Rollback {
            trusted: 2,
            presented: 1
        })
    );
}

#[test]
fn attack_device_list_fork_yields_evidence() {
    let mut r = rng(13);
    let a = account(&mut r, 2);
    let extra = DeviceSecret::generate(&mut r);
    let extra_cert = a
        .secret
        .certify_device(&params(50, extra.public_keys()))
        .unwrap();
    let mut with_extra = a.list.certificates().to_vec();
    with_extra.push(extra_cert);
    // Two different version-2 lists, shown to two different contacts.
    let shown_to_carol = a
        .secret
        .issue_device_list(Some(&a.verified()), NOW + 1, a.list.certificates().to_vec())
        .unwrap();
    let shown_to_dave = a
        .secret
        .issue_device_list(Some(&a.verified()), NOW + 1, with_extra)
        .unwrap();
    let carol = a.verified().update(&[], &shown_to_carol).unwrap();
    let Err(DeviceListError::Fork(evidence)) = carol.update(&[], &shown_to_dave) else {
        panic!("fork not detected")
    };
    // A third party checks the evidence with nothing but its bytes.
    let third_party = ForkEvidence::from_bytes(&evidence.to_bytes()).unwrap();
    assert_eq!(third_party.verify(), Ok(a.public()));
    // A fork further down the chain is caught through the intermediates too.
    let v3 = a
        .secret
        .issue_device_list(
            Some(&shown_to_dave.verify(&a.public()).unwrap()),
            NOW + 2,
            a.list.certificates().to_vec(),
        )
        .unwrap();
    assert!(matches!(
        carol.update(&[], &v3),
        Err(DeviceListError::BrokenChain { at_version: 3 })
    ));
    let dave_v2_then_v3 = a
        .verified()
        .update(std::slice::from_ref(&shown_to_dave), &v3)
        .unwrap();
    assert_eq!(dave_v2_then_v3.version(), 3);
    // Evidence that is not a fork does not verify.
    let same = ForkEvidence::from_bytes(&evidence.to_bytes()).unwrap();
    let (x, _) = same.lists();
    assert_eq!(x.version(), 2);
}

#[test]
fn update_walks_the_hash_chain_through_intermediates() {
    let mut r = rng(14);
    let a = account(&mut r, 2);
    let v2 = a
        .secret
        .issue_device_list(Some(&a.verified()), NOW + 1, a.list.certificates().to_vec())
        .unwrap();
    let v3 = a
        .secret
        .issue_device_list(
            Some(&v2.verify(&a.public()).unwrap()),
            NOW + 2,
            a.list.certificates()[..1].to_vec(),
        )
        .unwrap();
    let v4 = a
        .secret
        .issue_device_list(
            Some(&v3.verify(&a.public()).unwrap()),
            NOW + 3,
            a.list.certificates().to_vec(),
        )
        .unwrap();
    let trusted = a.verified();
    assert_eq!(
        trusted
            .update(&[v2.clone(), v3.clone()], &v4)
            .unwrap()
            .version(),
        4
    );
    // Missing link.
    assert_eq!(
        trusted.update(std::slice::from_ref(&v2), &v4),
        Err(DeviceListError::BrokenChain { at_version: 4 })
    );
    assert_eq!(
        trusted.update(std::slice::from_ref(&v3), &v4),
        Err(DeviceListError::BrokenChain { at_version: 3 })
    );
    // Same list again is not an error.
    assert_eq!(trusted.update(&[], &a.list).unwrap().version(), 1);
}

#[test]
fn attack_low_order_x25519_device_key() {
    let mut r = rng(15);
    let acct = AccountSecret::generate(&mut r);
    let dev = DeviceSecret::generate(&mut r);
    // Low-order points (RFC 7748 / Wycheproof "zero shared secret" keys).
    let mut order8 = [0u8; 32];
    order8.copy_from_slice(
        &hex::decode("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800").unwrap(),
    );
    let mut minus_one = [0xffu8; 32];
    minus_one[0] = 0xec;
    minus_one[31] = 0x7f;
    let mut one = [0u8; 32];
    one[0] = 1;
    for bad in [[0u8; 32], one, order8, minus_one] {
        let keys = DevicePublicKeys {
            x25519: bad,
            ..dev.public_keys()
        };
        assert_eq!(
            acct.certify_device(&params(1, keys)),
            Err(CertificateError::InvalidX25519Key)
        );
    }
    // A certificate that carries one anyway (signed over the bad key) is refused at verification.
    let good = acct.certify_device(&params(1, dev.public_keys())).unwrap();
    let mut bytes = good.to_bytes();
    bytes[52..84].copy_from_slice(&order8);
    let cert = DeviceCertificate::from_bytes(&bytes).unwrap();
    assert_eq!(
        cert.verify(&acct.public_key(), NOW),
        Err(CertificateError::InvalidX25519Key)
    );
}

#[test]
fn attack_non_canonical_and_small_order_ed25519_keys() {
    let mut r = rng(16);
    let acct = AccountSecret::generate(&mut r);
    let dev = DeviceSecret::generate(&mut r);
    // The identity point (small order) and a non-canonical encoding of it (y = p + 1).
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut non_canonical = [0xffu8; 32];
    non_canonical[0] = 0xee;
    non_canonical[31] = 0x7f;
    for bad in [identity, non_canonical] {
        let keys = DevicePublicKeys {
            ed25519: bad,
            ..dev.public_keys()
        };
        assert_eq!(
            acct.certify_device(&params(1, keys)),
            Err(CertificateError::InvalidEd25519Key)
        );
        // As an account key: nothing verifies under it.
        let cert = acct.certify_device(&params(1, dev.public_keys())).unwrap();
        assert_eq!(
            cert.verify(&AccountPublicKey::from_bytes(bad), NOW),
            Err(CertificateError::WrongAccount)
        );
        let mut bytes = cert.to_bytes();
        bytes[4..36].copy_from_slice(&bad);
        let relabelled = DeviceCertificate::from_bytes(&bytes).unwrap();
        assert_eq!(
            relabelled.verify(&AccountPublicKey::from_bytes(bad), NOW),
            Err(CertificateError::InvalidAccountKey)
        );
    }
}

#[test]
fn attack_expired_certificate() {
    let mut r = rng(17);
    let acct = AccountSecret::generate(&mut r);
    let dev = DeviceSecret::generate(&mut r);
    let cert = acct
        .certify_device(&CertificateParams {
            expires_at: Some(NOW),
            ..params(1, dev.public_keys())
        })
        .unwrap();
    assert!(cert.verify(&acct.public_key(), NOW - 1).is_ok());
    assert_eq!(
        cert.verify(&acct.public_key(), NOW),
        Err(CertificateError::Expired {
            expires_at: NOW,
            now: NOW
        })
    );
}

#[test]
fn attack_signature_of_one_object_type_presented_as_another() {
    // An account signs a device list; the attacker tries to pass that
    // signature off as a certificate signature and vice versa. Labels differ,
    // so neither verifies even over identical bytes.
    let mut r = rng(18);
    let a = account(&mut r, 1);
    let cert = &a.devices[0].certificate;
    let cert_bytes = cert.to_bytes();
    let list_bytes = a.list.to_bytes();
    let list_sig = &list_bytes[list_bytes.len() - 64..];
    let cert_sig = &cert_bytes[cert_bytes.len() - 64..];
    let mut forged_cert = cert_bytes.clone();
    let n = forged_cert.len();
    forged_cert[n - 64..].copy_from_slice(list_sig);
    let forged_cert = DeviceCertificate::from_bytes(&forged_cert).unwrap();
    assert_eq!(
        forged_cert.verify(&a.public(), NOW),
        Err(CertificateError::BadSignature)
    );
    let mut forged_list = list_bytes.clone();
    let n = forged_list.len();
    forged_list[n - 64..].copy_from_slice(cert_sig);
    let forged_list = DeviceList::from_bytes(&forged_list).unwrap();
    assert_eq!(
        forged_list.verify(&a.public()),
        Err(DeviceListError::BadSignature)
    );
    // The object-type byte is inside the signed bytes as well: a certificate
    // re-typed as a list does not even decode.
    let mut retyped = cert_bytes;
    retyped[1] = 0x02;
    assert!(DeviceList::from_bytes(&retyped).is_err());
}

#[test]
fn secrets_are_zeroize_on_drop_and_debug_shows_no_secret() {
    fn assert_zod<T: zeroize::ZeroizeOnDrop>() {}
    assert_zod::<AccountSecret>();
    assert_zod::<DeviceSecret>();
    let mut r = rng(19);
    let acct = AccountSecret::generate(&mut r);
    let dev = DeviceSecret::generate(&mut r);
    let seed_hex = hex::encode(*acct.export_secret_seed());
    let dev_hex = hex::encode(*dev.export_secret_bytes());
    let shown = format!("{acct:?} {dev:?} {acct:#?} {dev:#?}");
    for secret in [&seed_hex[..16], &dev_hex[..16], &dev_hex[64..80]] {
        assert!(
            !shown.contains(secret),
            "Debug printed secret bytes: {shown}"
        );
    }
    // Export/import round trip.
    assert_eq!(
        AccountSecret::from_secret_seed(&acct.export_secret_seed()).public_key(),
        acct.public_key()
    );
    assert_eq!(
        DeviceSecret::from_secret_bytes(&dev.export_secret_bytes()).public_keys(),
        dev.public_keys()
    );
}

#[test]
fn a_re_signed_list_with_identical_contents_is_not_a_fork() {
    // Same signed contents, different signature bytes (as a randomized or
    // hardware signer would produce): not equivocation.
    let mut r = rng(20);
    let a = account(&mut r, 2);
    let mut bytes = a.list.to_bytes();
    let n = bytes.len();
    bytes[n - 1] ^= 0x01; // a different (invalid) signature over the same contents
    let other = DeviceList::from_bytes(&bytes).unwrap();
    assert_eq!(
        other.verify(&a.public()),
        Err(DeviceListError::BadSignature)
    );
    // Valid re-signature is impossible to produce with deterministic Ed25519,
    // so check the comparison itself through fork evidence: equal contents
    // are refused as evidence.
    let ev_bytes = {
        let (lo, hi) = if a.list.to_bytes() < bytes {
            (a.list.to_bytes(), bytes.clone())
        } else {
            (bytes.clone(), a.list.to_bytes())
        };
        let mut e = vec![WIRE_VERSION, 5];
        e.extend_from_slice(&(lo.len() as u32).to_be_bytes());
        e.extend_from_slice(&lo);
        e.extend_from_slice(&(hi.len() as u32).to_be_bytes());
        e.extend_from_slice(&hi);
        e
    };
    let evidence = ForkEvidence::from_bytes(&ev_bytes).unwrap();
    assert_eq!(evidence.verify(), Err(DeviceListError::NotAFork));
}

#[test]
fn list_version_zero_and_short_certificates_do_not_decode() {
    let mut r = rng(21);
    let a = account(&mut r, 1);
    let mut bytes = a.list.to_bytes();
    bytes[36..44].copy_from_slice(&0u64.to_be_bytes());
    assert!(matches!(
        DeviceList::from_bytes(&bytes),
        Err(DecodeError::OutOfRange {
            field: "list version",
            ..
        })
    ));
    // A list one byte short: the certificates and the signature no longer fit.
    let bytes = a.list.to_bytes();
    assert!(matches!(
        DeviceList::from_bytes(&bytes[..bytes.len() - 1]),
        Err(DecodeError::Truncated { .. })
    ));
}
