//! Secret hygiene (P9): every secret type is `ZeroizeOnDrop`, and `Debug`
//! never prints secret bytes. The intermediate secrets that never leave the
//! crate are covered by the review table in SECURITY.md ("Zeroization").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use fanseal::{AccountSecret, DeviceKeyring, DeviceSecret, KeyId};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zeroize::{ZeroizeOnDrop, Zeroizing};

/// Compiles only if `T` wipes itself when dropped.
fn assert_zod<T: ZeroizeOnDrop + ?Sized>() {}

/// Fails to compile if any secret type, or any backend type a secret type is
/// built from, stops being `ZeroizeOnDrop` (for example after a dependency
/// upgrade that drops a `zeroize` feature). The public secret types declare
/// `ZeroizeOnDrop` by hand and rely on these fields wiping themselves.
#[test]
fn every_secret_type_is_zeroize_on_drop() {
    // Public secret types.
    assert_zod::<AccountSecret>();
    assert_zod::<DeviceSecret>();
    assert_zod::<DeviceKeyring>();
    // What the `export_secret_*` methods return.
    assert_zod::<Zeroizing<[u8; 32]>>();
    assert_zod::<Zeroizing<[u8; 64]>>();
    // The backend types inside them and inside the crate-private wrappers
    // (src/primitives.rs): X25519Secret(StaticSecret),
    // Ed25519Secret(SigningKey), AeadKey(Aes256Gcm).
    assert_zod::<x25519_dalek::StaticSecret>();
    assert_zod::<ed25519_dalek::SigningKey>();
    assert_zod::<aes_gcm::Aes256Gcm>();
    // SHA-256 state, inside every HMAC/HKDF keyed with a secret (needs the
    // sha2 `zeroize` feature in Cargo.toml).
    assert_zod::<sha2::Sha256>();
    // The buffer type of padded plaintexts and derived keys.
    assert_zod::<Zeroizing<Vec<u8>>>();
    assert_zod::<Zeroizing<[u8; 12]>>();
    // The forger's toolkit (feature `internals`, tests only) holds chosen
    // secrets too: it wipes them like everything else.
    assert_zod::<fanseal::hazmat::Forgery>();
    assert_zod::<fanseal::hazmat::ForgedRecipient>();
}

/// The export methods hand out wiping containers whose bytes rebuild the
/// same keys (so what is wiped is the real secret, not a copy left behind).
#[test]
fn exports_are_zeroizing_and_round_trip() {
    let mut rng = ChaCha20Rng::from_seed([9; 32]);
    let account = AccountSecret::generate(&mut rng);
    let seed: Zeroizing<[u8; 32]> = account.export_secret_seed();
    assert_eq!(
        AccountSecret::from_secret_seed(&seed).public_key(),
        account.public_key()
    );
    let device = DeviceSecret::generate(&mut rng);
    let bytes: Zeroizing<[u8; 64]> = device.export_secret_bytes();
    assert_eq!(
        DeviceSecret::from_secret_bytes(&bytes).public_keys(),
        device.public_keys()
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `Debug` of a secret type prints public parts only: no 4-byte window of
/// any secret byte string appears in it, in hex or as a decimal byte list.
#[test]
fn debug_never_prints_secret_bytes() {
    let mut rng = ChaCha20Rng::from_seed([10; 32]);
    let account = AccountSecret::generate(&mut rng);
    let device = DeviceSecret::generate(&mut rng);
    let forgery = fanseal::hazmat::Forgery {
        message_id: [0x11; 16],
        ephemeral_secret: [0xe1; 32],
        message_secret: [0xe2; 32],
        recipients: vec![fanseal::hazmat::ForgedRecipient {
            key_id: KeyId::of(&account.public_key(), &device.public_keys().x25519),
            x25519: device.public_keys().x25519,
            wrapped_secret: [0xe3; 32],
            recipient_binding: [0x22; 32],
        }],
        body_plaintext: vec![0xe4; 40],
    };
    let forgery_secrets: Vec<u8> = [[0xe1; 32], [0xe2; 32], [0xe3; 32], [0xe4; 32]].concat();
    let cases: [(String, Vec<u8>); 3] = [
        (
            format!("{account:?} {account:#?}"),
            account.export_secret_seed().to_vec(),
        ),
        (
            format!("{device:?} {device:#?}"),
            device.export_secret_bytes().to_vec(),
        ),
        (format!("{forgery:?} {forgery:#?}"), forgery_secrets),
    ];
    for (printed, secret) in &cases {
        assert!(!printed.is_empty());
        let printed_lower = printed.to_lowercase();
        for window in secret.windows(4) {
            assert!(
                !printed_lower.contains(&hex(window)),
                "Debug output {printed} contains secret bytes {}",
                hex(window)
            );
            let decimal = window
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            assert!(
                !printed.contains(&decimal),
                "Debug output {printed} contains secret bytes [{decimal}]"
            );
        }
    }
}
