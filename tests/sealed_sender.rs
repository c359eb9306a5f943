//! Sealed sender (P5): nothing outside the body ciphertext depends on who
//! sent an envelope, and no public byte of an envelope or delivery names the
//! sender's account, device, keys or certificate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use fanseal::{
    seal, AccountSecret, CertificateParams, DeviceCertificate, DeviceId, DeviceSecret, Envelope,
    Message, Padding, VerifiedDeviceList,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const NOW: u64 = 1_764_300_000_000;

struct Sender {
    account: AccountSecret,
    device: DeviceSecret,
    certificate: DeviceCertificate,
}

fn certify(account: &AccountSecret, device: &DeviceSecret, id: u8) -> DeviceCertificate {
    account
        .certify_device(&CertificateParams {
            device_id: DeviceId::from_bytes([id; 16]),
            keys: device.public_keys(),
            created_at: NOW,
            expires_at: None,
            capabilities: 0,
        })
        .unwrap()
}

fn sender(seed: u8, device_id: u8) -> Sender {
    let mut rng = ChaCha20Rng::from_seed([seed; 32]);
    let account = AccountSecret::generate(&mut rng);
    let device = DeviceSecret::generate(&mut rng);
    let certificate = certify(&account, &device, device_id);
    Sender {
        account,
        device,
        certificate,
    }
}

fn bob() -> VerifiedDeviceList {
    let mut rng = ChaCha20Rng::from_seed([0xb0; 32]);
    let account = AccountSecret::generate(&mut rng);
    let certs = (0..3)
        .map(|i| certify(&account, &DeviceSecret::generate(&mut rng), i))
        .collect();
    account
        .issue_device_list(None, NOW, certs)
        .unwrap()
        .verify(&account.public_key())
        .unwrap()
}

/// Seals the same message to Bob with the same randomness (seed 7).
fn seal_from(s: &Sender, bob: &VerifiedDeviceList) -> Envelope {
    let msg = Message {
        payload: b"meet at noon",
        aad: b"chat 42",
        padding: Padding::Padme,
        ..Message::default()
    };
    let mut rng = ChaCha20Rng::from_seed([7; 32]);
    seal(&s.device, &s.certificate, &[bob], &[], &msg, NOW, &mut rng).unwrap()
}

/// Two different senders (different accounts, devices and device ids), the
/// same message, recipients and randomness: every byte before the body
/// ciphertext is identical, so the header and wraps carry nothing about the
/// sender. The bodies differ (the sender is inside them).
#[test]
fn header_and_wraps_do_not_depend_on_the_sender() {
    let bob = bob();
    let alice = sender(0xa1, 1);
    let carol = sender(0xc1, 2);
    assert_ne!(alice.account.public_key(), carol.account.public_key());
    let a = seal_from(&alice, &bob);
    let c = seal_from(&carol, &bob);
    assert_eq!(a.header(), c.header());
    let (a, c) = (a.to_bytes(), c.to_bytes());
    assert_eq!(a.len(), c.len());
    let body_len = seal_from(&alice, &bob).header().body_len();
    let public = a.len() - body_len;
    assert_eq!(
        a[..public],
        c[..public],
        "a public byte depends on the sender"
    );
    assert_ne!(a[public..], c[public..], "the bodies should differ");
}

/// No 8-byte window of the sender's account key, device id, device keys or
/// certificate signature appears in the envelope or in any per-device
/// delivery.
#[test]
fn no_public_byte_names_the_sender() {
    let bob = bob();
    let alice = sender(0xa1, 0x5a);
    let envelope = seal_from(&alice, &bob);
    let mut outputs = vec![envelope.to_bytes()];
    outputs.extend(envelope.deliveries().map(|(_, d)| d.to_bytes()));
    assert_eq!(outputs.len(), 1 + 3);
    let keys = alice.device.public_keys();
    let identifying: [(&str, Vec<u8>); 5] = [
        (
            "account key",
            alice.account.public_key().to_bytes().to_vec(),
        ),
        (
            "device id",
            alice.certificate.device_id().to_bytes().to_vec(),
        ),
        ("device X25519 key", keys.x25519.to_vec()),
        ("device Ed25519 key", keys.ed25519.to_vec()),
        // The certificate's own 64-byte signature (its other fields are the
        // keys above, the device id, and low-entropy times and flags that
        // public fields such as the timestamp may equal).
        ("certificate signature", {
            let cert = alice.certificate.to_bytes();
            cert[cert.len() - 64..].to_vec()
        }),
    ];
    for out in &outputs {
        for (what, bytes) in &identifying {
            for window in bytes.windows(8) {
                assert!(
                    !out.windows(8).any(|w| w == window),
                    "the {what} of the sender appears in public bytes"
                );
            }
        }
    }
}

/// Every relay-visible length is independent of the sending device: senders
/// whose certificates differ in every field that could change a length
/// (expiry or none, capabilities, times, device ids) produce the same body
/// length for every payload length 0..=255 and several AAD lengths, under
/// every padding policy. (Wire v1 certificates were 193 or 201 bytes: about
/// half of these lengths differed under Padmé.)
#[test]
fn relay_visible_lengths_do_not_depend_on_the_certificate_shape() {
    let bob = bob();
    let shapes: Vec<Sender> = [
        (None, 0u32, 0u64),
        (Some(NOW + 1), 0, 0),
        (Some(u64::MAX - 1), u32::MAX, u64::MAX),
        (Some(1), 0x5a5a, NOW),
    ]
    .iter()
    .enumerate()
    .map(|(i, &(expires_at, capabilities, created_at))| {
        let mut rng = ChaCha20Rng::from_seed([0x40 + i as u8; 32]);
        let account = AccountSecret::generate(&mut rng);
        let device = DeviceSecret::generate(&mut rng);
        let certificate = account
            .certify_device(&CertificateParams {
                device_id: DeviceId::from_bytes([i as u8 * 37; 16]),
                keys: device.public_keys(),
                created_at,
                expires_at,
                capabilities,
            })
            .unwrap();
        Sender {
            account,
            device,
            certificate,
        }
    })
    .collect();
    for padding in [Padding::Padme, Padding::None, Padding::Bucket(64)] {
        for aad_len in [0usize, 15, 300] {
            for payload_len in 0..=255usize {
                let payload = vec![1u8; payload_len];
                let aad = vec![2u8; aad_len];
                let msg = Message {
                    payload: &payload,
                    aad: &aad,
                    padding,
                    ..Message::default()
                };
                let lens: Vec<usize> = shapes
                    .iter()
                    .map(|s| {
                        // Senders whose certificate expired at 1 seal "earlier".
                        let now = if s.certificate.params().expires_at == Some(1) {
                            0
                        } else {
                            NOW
                        };
                        let mut rng = ChaCha20Rng::from_seed([7; 32]);
                        seal(&s.device, &s.certificate, &[&bob], &[], &msg, now, &mut rng)
                            .unwrap()
                            .to_bytes()
                            .len()
                    })
                    .collect();
                assert!(
                    lens.windows(2).all(|p| p[0] == p[1]),
                    "{padding:?} aad {aad_len} payload {payload_len}: {lens:?}"
                );
            }
        }
    }
}

/// The sender's clock is not relay-visible (SPEC §4.2, §10): the same
/// message sealed at two times with the same randomness has the same header.
#[test]
fn the_sender_timestamp_is_not_in_the_header() {
    let bob = bob();
    let alice = sender(0xa1, 1);
    let msg = Message {
        payload: b"t",
        aad: b"",
        padding: Padding::Padme,
        ..Message::default()
    };
    let at = |now: u64| {
        let mut rng = ChaCha20Rng::from_seed([7; 32]);
        seal(
            &alice.device,
            &alice.certificate,
            &[&bob],
            &[],
            &msg,
            now,
            &mut rng,
        )
        .unwrap()
    };
    let (a, b) = (at(NOW), at(NOW + 12_345));
    assert_eq!(a.header(), b.header());
    let public = a.to_bytes().len() - a.header().body_len();
    assert_eq!(a.to_bytes()[..public], b.to_bytes()[..public]);
}
