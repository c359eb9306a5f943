//! **Not API.** Thin entry points into crate-private, secret-handling steps,
//! for the constant-time harness in `ct/` only (SECURITY.md, "Constant-time
//! check"). Hidden from the docs, exempt from semver, may change or vanish in
//! any release. Each function runs exactly the library's own code for one
//! step, so that the harness can mark the step's secret inputs undefined
//! under valgrind memcheck and declassify the step's public-by-design outputs
//! between steps.
//!
//! Nothing here gives a caller more than the public API already does: every
//! step needs the secret (device secret or message secret) it works on.

use alloc::vec::Vec;

use zeroize::Zeroizing;

use crate::envelope::open::{parse_body, unwrap as open_unwrap};
use crate::envelope::schedule::MessageKeys;
use crate::envelope::wire::View;
use crate::envelope::Header;
use crate::identity::{DeviceKeyring, DeviceSecret};

/// The memory regions of a device's secret keys (the X25519 secret and the
/// Ed25519 signing key), as `(address, length)`, so the harness can mark
/// exactly those bytes undefined. The public keys and key id stay defined.
/// The addresses are valid only while `device` is neither moved nor dropped.
pub fn secret_regions(device: &DeviceSecret) -> [(usize, usize); 2] {
    let x = device.x25519();
    let e = device.ed25519();
    [
        (core::ptr::from_ref(x) as usize, core::mem::size_of_val(x)),
        (core::ptr::from_ref(e) as usize, core::mem::size_of_val(e)),
    ]
}

/// Key id lookup: the index of `device`'s wrap in an envelope or delivery
/// (`Header::position`, as `open` does it).
pub fn key_id_lookup(device: &DeviceKeyring, bytes: &[u8]) -> Option<usize> {
    let view = View::decode(bytes).ok()?;
    view.header.position(&device.key_id())
}

/// Unwrap: decapsulate and open `device`'s wrap (the private `unwrap` step of
/// `open`); the message secret on success.
pub fn unwrap(device: &DeviceKeyring, bytes: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
    let view = View::decode(bytes).ok()?;
    let index = view.header.position(&device.key_id())?;
    let wrap = view.wrap(index)?;
    let context_hash = view.header.context_hash();
    let header_hash = Header::header_hash(&context_hash, &view.header.commitment);
    open_unwrap(device, &view.header, &header_hash, &wrap).ok()
}

/// Key-commitment check: derive the keys of `message_secret` for the header
/// of `bytes` and compare the commitment in constant time. The returned bit
/// is the only output (public by design: `open` branches on it).
pub fn commitment_check(message_secret: &[u8; 32], bytes: &[u8]) -> Option<bool> {
    let view = View::decode(bytes).ok()?;
    let keys = MessageKeys::derive(message_secret, &view.header.context_hash()).ok()?;
    Some(keys.commitment_matches(&view.header.commitment))
}

/// Body decryption: derive the body key of `message_secret` and open the body
/// ciphertext of `bytes` (as `open` does). `None` if the public structure is
/// malformed; otherwise the AEAD's accept bit and the buffer (the padded body
/// plaintext when accepted, unchanged ciphertext when not). The accept bit is
/// returned, not branched on, so that the harness declassifies it.
pub fn open_body(message_secret: &[u8; 32], bytes: &[u8]) -> Option<(bool, Zeroizing<Vec<u8>>)> {
    let view = View::decode(bytes).ok()?;
    let context_hash = view.header.context_hash();
    let header_hash = Header::header_hash(&context_hash, &view.header.commitment);
    let keys = MessageKeys::derive(message_secret, &context_hash).ok()?;
    let split = view.body.len().checked_sub(crate::consts::size::TAG)?;
    let (ct, tag) = view.body.split_at(split);
    let tag: [u8; 16] = tag.try_into().ok()?;
    let mut plain = Zeroizing::new(ct.to_vec());
    let accepted = keys.open_body(&header_hash, &mut plain, &tag).is_ok();
    Some((accepted, plain))
}

/// Padding removal: parse a decrypted body and check that its padding is all
/// zero (the private `parse_body` step of `open`). `true` when it parses.
pub fn remove_padding(plain: &[u8]) -> bool {
    parse_body(plain).is_some()
}

/// Signing: the device's Ed25519 signature over `message` under the
/// envelope-signature label (as `seal` signs the transcript digest).
pub fn sign(device: &DeviceSecret, message: &[u8]) -> [u8; 64] {
    device
        .ed25519()
        .sign(crate::consts::label::ENVELOPE_SIGNATURE, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        open, seal, AccountSecret, CertificateParams, DeviceId, Message, Padding,
        VerifiedDeviceList,
    };
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    /// The hooks run the same steps as `open`, on a real envelope: they find
    /// the wrap, recover the message secret, accept the commitment, body and
    /// padding, and each rejects a tampered input. (Small on purpose: it is
    /// also the Miri test of the whole seal/open path, see .ci/miri.sh.)
    #[test]
    fn hooks_run_the_steps_of_open_on_a_real_envelope() {
        let mut rng = ChaCha20Rng::from_seed([0x31; 32]);
        let account = AccountSecret::generate(&mut rng);
        let sender = DeviceSecret::generate(&mut rng);
        let receiver = DeviceSecret::generate(&mut rng);
        let certify = |d: &DeviceSecret, id: u8| {
            account
                .certify_device(&CertificateParams {
                    device_id: DeviceId::from_bytes([id; 16]),
                    keys: d.public_keys(),
                    created_at: 0,
                    expires_at: None,
                    capabilities: 0,
                })
                .unwrap()
        };
        let sender_cert = certify(&sender, 1);
        let receiver_cert = certify(&receiver, 2);
        let list: VerifiedDeviceList = account
            .issue_device_list(
                None,
                0,
                alloc::vec![sender_cert.clone(), receiver_cert.clone()],
            )
            .unwrap()
            .verify(&account.public_key())
            .unwrap();
        let msg = Message {
            payload: b"steps",
            aad: b"",
            // Pads a body of about 280 bytes to 512: it ends in zero padding.
            padding: Padding::Bucket(256),
        };
        let bytes = seal(&sender, &sender_cert, &[&list], &msg, 5, &mut rng)
            .unwrap()
            .to_bytes();

        let outsider = DeviceSecret::generate(&mut rng);
        let outsider_cert = certify(&outsider, 3);
        let outsider = crate::DeviceKeyring::new(outsider, outsider_cert).unwrap();
        let receiver_secret = DeviceSecret::from_secret_bytes(&receiver.export_secret_bytes());
        let receiver = crate::DeviceKeyring::new(receiver_secret, receiver_cert).unwrap();
        assert!(key_id_lookup(&receiver, &bytes).is_some());
        assert_eq!(key_id_lookup(&outsider, &bytes), None);
        let secret = unwrap(&receiver, &bytes).unwrap();
        assert!(unwrap(&outsider, &bytes).is_none());
        assert_eq!(commitment_check(&secret, &bytes), Some(true));
        let mut other = *secret;
        other[31] ^= 1;
        assert_eq!(commitment_check(&other, &bytes), Some(false));
        let (accepted, plain) = open_body(&secret, &bytes).unwrap();
        assert!(accepted);
        assert!(!open_body(&other, &bytes).unwrap().0);
        assert!(remove_padding(&plain));
        let mut bad = plain.to_vec();
        if let Some(last) = bad.last_mut() {
            *last ^= 1;
        }
        assert!(!remove_padding(&bad));
        let opened = open(&receiver, &bytes, &[list], 5).unwrap();
        assert_eq!(opened.payload(), b"steps");
        let signature = sign(&sender, b"m");
        assert_eq!(signature, sign(&sender, b"m"));
        assert_ne!(signature, sign(receiver.secret(), b"m"));
    }
}
