//! The whole fanseal flow: accounts, devices, signed device lists, signed
//! prekeys, a safety number, and one message from Alice (2 devices) to Bob
//! (3 devices) with self-sync, split by the relay into per-device deliveries
//! that each device opens alone; then a prekey rotation, a message in
//! flight across it, and the deletion that ends the forward-secrecy window.
//! Every device of Alice and Bob supports the post-quantum hybrid suite
//! (X-Wing), so their messages are hybrid; a contact without it makes the
//! conversation classical, which a sender can refuse.
//!
//! Run with `cargo run --example quickstart`.

use fanseal::{
    open, seal, AccountSecret, CertificateParams, DeviceCertificate, DeviceId, DeviceKeyring,
    DeviceSecret, Envelope, Message, OpenError, Padding, ReplayGuard, SafetyNumber, SealError,
    SignedPrekey, Suite, SuitePolicy, VerifiedDeviceList, VerifiedPrekey, CAPABILITY_HYBRID,
    CAPABILITY_PREKEYS,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const NOW: u64 = 1_764_300_000_000; // the caller's clock, Unix milliseconds
const DAY: u64 = 24 * 3600 * 1000;

struct Device {
    name: &'static str,
    secret: DeviceSecret,
    certificate: DeviceCertificate,
    /// The same keys bound to the certificate they are addressed under:
    /// what `open` takes (a wrap opens only for that account's certificate).
    keyring: DeviceKeyring,
}

/// Devices that publish classical and hybrid (X-Wing) prekeys.
const PQ: u32 = CAPABILITY_PREKEYS | CAPABILITY_HYBRID;

fn enroll(
    account: &AccountSecret,
    names: &[&'static str],
    capabilities: u32,
    rng: &mut ChaCha20Rng,
) -> Result<Vec<Device>, Box<dyn std::error::Error>> {
    let mut devices = Vec::new();
    for name in names {
        let secret = DeviceSecret::generate(rng);
        let certificate = account.certify_device(&CertificateParams {
            device_id: DeviceId::random(rng),
            keys: secret.public_keys(),
            created_at: NOW,
            expires_at: Some(NOW + 365 * DAY),
            // Senders must wrap to this device's signed prekeys, never to
            // the certificate's long-lived key (SPEC.md §4.9); with
            // CAPABILITY_HYBRID, to its hybrid prekey when every recipient
            // device has the bit (SPEC.md §4.10).
            capabilities,
        })?;
        // The keyring owns its copy of the secret (an app keeps just one).
        let copy = DeviceSecret::from_secret_bytes(&secret.export_secret_bytes());
        let keyring = DeviceKeyring::new(copy, certificate.clone())?;
        devices.push(Device {
            name,
            secret,
            certificate,
            keyring,
        });
    }
    Ok(devices)
}

fn publish(
    account: &AccountSecret,
    devices: &[Device],
) -> Result<VerifiedDeviceList, Box<dyn std::error::Error>> {
    let certs = devices.iter().map(|d| d.certificate.clone()).collect();
    let list = account.issue_device_list(None, NOW, certs)?;
    // What a contact does with the bytes the directory serves:
    let from_directory = fanseal::DeviceList::from_bytes(&list.to_bytes())?;
    Ok(from_directory.verify(&account.public_key())?)
}

/// Each device makes a signed prekey and publishes it; a sender fetches the
/// bytes from the directory and verifies each once, against the owner's list.
fn publish_prekeys(
    devices: &mut [Device],
    list: &VerifiedDeviceList,
    now: u64,
    rng: &mut ChaCha20Rng,
) -> Result<Vec<VerifiedPrekey>, Box<dyn std::error::Error>> {
    let mut verified = Vec::new();
    for device in devices {
        let mut published = vec![device.keyring.rotate_prekey(now, rng)?.to_bytes()];
        if device.certificate.supports_hybrid() {
            // 1,380 bytes: an X-Wing key (ML-KEM-768 + X25519), signed.
            published.push(device.keyring.rotate_hybrid_prekey(now, rng)?.to_bytes());
        }
        for bytes in published {
            let fetched = SignedPrekey::from_bytes(&bytes)?;
            verified.push(list.verify_prekey(&fetched, now)?);
        }
    }
    Ok(verified)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A fixed seed makes this run reproducible; real callers pass an OS RNG.
    let mut rng = ChaCha20Rng::from_seed([42; 32]);

    let alice = AccountSecret::generate(&mut rng);
    let bob = AccountSecret::generate(&mut rng);
    let mut alice_devices = enroll(&alice, &["alice-phone", "alice-laptop"], PQ, &mut rng)?;
    let mut bob_devices = enroll(
        &bob,
        &["bob-phone", "bob-tablet", "bob-desktop"],
        PQ,
        &mut rng,
    )?;
    let alice_list = publish(&alice, &alice_devices)?;
    let bob_list = publish(&bob, &bob_devices)?;
    let mut prekeys = publish_prekeys(&mut alice_devices, &alice_list, NOW, &mut rng)?;
    prekeys.extend(publish_prekeys(&mut bob_devices, &bob_list, NOW, &mut rng)?);

    for (who, account, list) in [("alice", &alice, &alice_list), ("bob", &bob, &bob_list)] {
        println!("account {who}: {:?}", account.public_key());
        println!(
            "  device list version {}, {} devices",
            list.version(),
            list.devices().len()
        );
        for d in list.devices() {
            println!("    device {:?} key id {:?}", d.device_id(), d.key_id());
        }
    }
    let safety = SafetyNumber::new(&alice.public_key(), &bob.public_key());
    assert_eq!(
        safety,
        SafetyNumber::new(&bob.public_key(), &alice.public_key())
    );
    println!("safety number (same on both sides): {safety}");

    // Alice's phone sends to Bob's 3 devices and to her own devices (self-sync).
    let sender = alice_devices.first().ok_or("alice has no device")?;
    let message = Message {
        payload: b"lunch at noon?",
        aad: b"conversation:alice+bob",
        padding: Padding::Padme,
        ..Message::default()
    };
    let prekey_refs: Vec<&VerifiedPrekey> = prekeys.iter().collect();
    let envelope = seal(
        &sender.secret,
        &sender.certificate,
        &[&bob_list, &alice_list],
        &prekey_refs,
        &message,
        NOW,
        &mut rng,
    )?;
    let wire = envelope.to_bytes();
    // Every recipient device supports the hybrid suite, so the envelope is
    // hybrid: each wrap carries its own X-Wing ciphertext.
    assert_eq!(envelope.header().suite(), Suite::Hybrid);
    println!(
        "\n{} sealed {} bytes for {} devices: {:?} envelope {} bytes ({} recipients x {}-byte wrap, body {} bytes)",
        sender.name,
        message.payload.len(),
        envelope.header().recipients().len(),
        envelope.header().suite(),
        wire.len(),
        envelope.header().recipients().len(),
        Suite::Hybrid.wrap_len(),
        envelope.header().body_len()
    );

    // The relay splits the envelope; each device downloads only its delivery.
    let relay_view = Envelope::from_bytes(&wire)?;
    let directory = vec![alice_list.clone(), bob_list.clone()];
    for device in bob_devices.iter().chain(alice_devices.iter()) {
        // The header names each device by its (hybrid) prekey's key id,
        // which the relay learns from the directory like the device lists.
        let prekey = device
            .keyring
            .current_hybrid_prekey(NOW)
            .ok_or("device has no prekey")?;
        let delivery = relay_view
            .delivery_for(&prekey.key_id())
            .ok_or("relay has no delivery for this device")?
            .to_bytes();
        let opened = open(&device.keyring, &delivery, &directory, NOW + 5)?;
        let mut guard = ReplayGuard::new(1024, 24 * 3600 * 1000, 60_000);
        guard.check_opened(&opened, NOW + 5)?;
        let replay = guard.check_opened(&opened, NOW + 6);
        assert_eq!(opened.suite(), Suite::Hybrid);
        println!(
            "  {:<12} delivery {} bytes ({:?}) -> {:?} from {:?} device {:?} (aad {:?}); replay -> {:?}",
            device.name,
            delivery.len(),
            opened.suite(),
            String::from_utf8_lossy(opened.payload()),
            opened.sender_account(),
            opened.sender_device(),
            String::from_utf8_lossy(opened.aad()),
            replay
        );
    }
    // The sending device is wrapped for too (sealed sender: the relay cannot
    // tell which of Alice's devices sent it); a device of nobody's list is not.
    let carol = AccountSecret::generate(&mut rng);
    let mut carol_devices = enroll(&carol, &["carol-phone"], CAPABILITY_PREKEYS, &mut rng)?;
    let outsider = &carol_devices.first().ok_or("carol has no device")?.keyring;
    println!(
        "  outsider     -> {:?}",
        open(outsider, &wire, &directory, NOW).err()
    );

    // Carol's phone has no CAPABILITY_HYBRID: an envelope to Alice, Bob and
    // Carol is classical (one classical wrap would expose the body anyway).
    // A sender that requires the hybrid suite is told which device prevents it.
    let carol_list = publish(&carol, &carol_devices)?;
    let carol_prekeys = publish_prekeys(&mut carol_devices, &carol_list, NOW, &mut rng)?;
    let all: Vec<&VerifiedPrekey> = prekeys.iter().chain(&carol_prekeys).collect();
    let group = [&bob_list, &alice_list, &carol_list];
    let strict = Message {
        suite: SuitePolicy::RequireHybrid,
        ..message
    };
    let refused = seal(
        &sender.secret,
        &sender.certificate,
        &group,
        &all,
        &strict,
        NOW,
        &mut rng,
    );
    assert!(matches!(refused, Err(SealError::HybridUnavailable { .. })));
    let mixed = seal(
        &sender.secret,
        &sender.certificate,
        &group,
        &all,
        &message,
        NOW,
        &mut rng,
    )?;
    assert_eq!(mixed.header().suite(), Suite::Classical);
    println!(
        "with carol (no hybrid suite): RequireHybrid -> {}; Auto -> {:?}, {} bytes",
        refused.err().map(|e| e.to_string()).unwrap_or_default(),
        mixed.header().suite(),
        mixed.to_bytes().len()
    );

    // Two days later Bob's phone rotates its prekey (the policy says when).
    // Alice still holds the old one and seals to it: in flight across the
    // rotation, the envelope opens while the old secret is kept.
    let later = NOW + 2 * DAY;
    let bob_phone = bob_devices.first_mut().ok_or("bob has no device")?;
    assert!(bob_phone.keyring.needs_rotation(later));
    assert!(bob_phone.keyring.needs_hybrid_rotation(later));
    bob_phone.keyring.rotate_prekey(later, &mut rng)?;
    let new_prekey = bob_phone.keyring.rotate_hybrid_prekey(later, &mut rng)?;
    let in_flight = seal(
        &sender.secret,
        &sender.certificate,
        &[&bob_list, &alice_list],
        &prekey_refs,
        &Message {
            payload: b"sent to the old prekey",
            ..message
        },
        later,
        &mut rng,
    )?
    .to_bytes();
    let opened = open(&bob_phone.keyring, &in_flight, &directory, later)?;
    println!(
        "\nbob-phone rotated its prekey at +2 days (new key id {:?}); a message sealed to the old one still opens: {:?}",
        new_prekey.key_id(),
        String::from_utf8_lossy(opened.payload())
    );
    // The old prekey expired at +7 days; its secret goes 7 days later. A
    // thief of the phone after that cannot open what was sealed to it.
    let policy = *bob_phone.keyring.policy();
    let deleted = bob_phone
        .keyring
        .delete_expired(NOW + policy.lifetime_ms + policy.grace_ms);
    let refused = open(&bob_phone.keyring, &in_flight, &directory, later);
    assert_eq!(refused.as_ref().err(), Some(&OpenError::NotARecipient));
    println!(
        "after {} days bob-phone deleted {deleted} prekey secret(s); the same message -> {:?} (forward-secrecy window {} days)",
        (policy.lifetime_ms + policy.grace_ms) / DAY,
        refused.err(),
        policy.forward_secrecy_window_ms() / DAY
    );
    // What the phone keeps between runs: its keyring, as canonical bytes.
    let saved = bob_phone.keyring.export();
    let restored = DeviceKeyring::import(&saved)?;
    assert_eq!(
        restored.current_hybrid_prekey(later),
        bob_phone.keyring.current_hybrid_prekey(later)
    );
    println!(
        "bob-phone keyring export: {} bytes (restored exactly)",
        saved.len()
    );
    Ok(())
}
