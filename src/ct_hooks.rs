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
/// The addresses (of the boxed keys) are valid until `device` is dropped.
pub fn secret_regions(device: &DeviceSecret) -> [(usize, usize); 2] {
    [device.x25519().region(), device.ed25519().region()]
}

/// The memory regions of the X-Wing secret of every hybrid prekey `keyring`
/// holds (SPEC.md §3.8: the seed, boxed with the key's public part; see
/// `XWingSecret::region`), as `(address, length)`, so the harness can mark
/// them undefined. Valid until `keyring` is dropped or changed.
pub fn hybrid_secret_regions(keyring: &DeviceKeyring) -> Vec<(usize, usize)> {
    keyring
        .hybrid_prekeys
        .iter()
        .filter_map(|p| match &p.secret {
            crate::identity::keyring::PrekeyKey::XWing(k) => Some(k.region()),
            crate::identity::keyring::PrekeyKey::X25519(_) => None,
        })
        .collect()
}

/// Key id lookup: the index of `device`'s wrap in an envelope or delivery
/// (`Header::position`, as `open` does it).
pub fn key_id_lookup(device: &DeviceKeyring, bytes: &[u8]) -> Option<usize> {
    let view = View::decode(bytes).ok()?;
    device.find(&view.header).map(|(index, _)| index)
}

/// Unwrap: decapsulate and open `device`'s wrap (the private `unwrap` step of
/// `open`); the message secret on success.
pub fn unwrap(device: &DeviceKeyring, bytes: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
    let view = View::decode(bytes).ok()?;
    let (index, key) = device.find(&view.header)?;
    let wrap = view.wrap(index)?;
    let context_hash = view.header.context_hash();
    let header_hash = Header::header_hash(&context_hash, &view.header.commitment);
    open_unwrap(&key, &view.header, &header_hash, wrap).ok()
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

// ------------------------------------------------------------ stack scan

/// A named secret byte string the stack scan in `ct/` looks for.
pub type Needle = (&'static str, Zeroizing<Vec<u8>>);

fn needle(name: &'static str, bytes: &[u8]) -> Needle {
    (name, Zeroizing::new(bytes.to_vec()))
}

/// An X25519 scalar as x25519-dalek clamps it at use (RFC 7748 §5).
fn clamped(bytes: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let mut c = Zeroizing::new(*bytes);
    let [first, .., last] = &mut *c;
    *first &= 248;
    *last &= 127;
    *last |= 64;
    c
}

/// An Ed25519 seed and what signing expands it to: the clamped lower half
/// of SHA-512(seed) (before reduction) and the hash prefix (upper half).
fn ed25519_needles(out: &mut Vec<Needle>, seed: &[u8; 32]) {
    let h = Zeroizing::new(crate::primitives::sha512(&[seed]));
    let (lower, prefix) = h.split_at(32);
    let mut lo = Zeroizing::new([0u8; 32]);
    lo.copy_from_slice(lower);
    out.push(needle("ed25519 seed", seed));
    out.push(needle("ed25519 clamped scalar", clamped(&lo).as_ref()));
    out.push(needle("ed25519 hash prefix", prefix));
}

/// The secret key bytes of a device, in the forms the library handles them.
pub fn device_needles(device: &DeviceSecret) -> Vec<Needle> {
    let mut out = Vec::new();
    let x = device.x25519().to_bytes();
    out.push(needle("device x25519 secret", x.as_ref()));
    out.push(needle("device x25519 clamped", clamped(&x).as_ref()));
    ed25519_needles(&mut out, &device.ed25519().to_seed());
    out
}

/// The secret key bytes of an account key.
pub fn account_needles(account: &crate::identity::AccountSecret) -> Vec<Needle> {
    let mut out = Vec::new();
    ed25519_needles(&mut out, &account.export_secret_seed());
    out
}

/// Every secret `seal` derives for the envelope `bytes` from its message
/// secret and ephemeral key, and `open` derives for a recipient, computed
/// here independently of `seal`/`open` (from the SPEC.md §4.4–4.5 formulas
/// and the primitives): the message-secret PRK, body key and nonce, and per
/// recipient X25519 key in `recipients` the DH output, DHKEM `eae_prk` and
/// shared secret, HPKE `secret`, key and base nonce. Plus the message secret
/// and the ephemeral key (raw and clamped) themselves.
pub fn envelope_needles(
    message_secret: &[u8; 32],
    ephemeral_secret: &[u8; 32],
    recipients: &[[u8; 32]],
    bytes: &[u8],
) -> Option<Vec<Needle>> {
    use crate::codec::label_prefix;
    use crate::consts::label;
    use crate::primitives::{hkdf_expand, hkdf_extract, X25519Secret};
    let view = View::decode(bytes).ok()?;
    let context_hash = view.header.context_hash();
    let header_hash = Header::header_hash(&context_hash, &view.header.commitment);
    let mut out = Vec::new();
    out.push(needle("message secret", message_secret));
    out.push(needle("ephemeral x25519 secret", ephemeral_secret));
    out.push(needle(
        "ephemeral x25519 clamped",
        clamped(ephemeral_secret).as_ref(),
    ));

    let l = label::MESSAGE_SECRET;
    let prk = hkdf_extract(&[&label_prefix(l)[..], l].concat(), &[message_secret]);
    out.push(needle("message-secret PRK", prk.as_ref()));
    let mut body_key = Zeroizing::new([0u8; 32]);
    let mut body_nonce = Zeroizing::new([0u8; 12]);
    for (l, o) in [
        (label::BODY_KEY, &mut body_key[..]),
        (label::BODY_NONCE, &mut body_nonce[..]),
    ] {
        hkdf_expand(&prk, &[&label_prefix(l), l, &context_hash], o).ok()?;
    }
    out.push(needle("body key", body_key.as_ref()));
    out.push(needle("body nonce", body_nonce.as_ref()));

    // RFC 9180 §4.1, §5.1, written out again here.
    let v1: &[u8] = b"HPKE-v1";
    let kem: &[u8] = b"KEM\x00\x20";
    let hpke_id: &[u8] = b"HPKE\x00\x20\x00\x01\x00\x02";
    let ephemeral = X25519Secret::from_bytes(ephemeral_secret);
    let enc = ephemeral.public();
    let info = crate::envelope::schedule::wrap_info(&header_hash);
    let psk_id_hash = hkdf_extract(b"", &[v1, hpke_id, b"psk_id_hash", b""]);
    let info_hash = hkdf_extract(b"", &[v1, hpke_id, b"info_hash", &info]);
    let ksc = [&[0u8][..], &psk_id_hash[..], &info_hash[..]].concat();
    for pk in recipients {
        let dh = ephemeral.diffie_hellman(pk).ok()?;
        out.push(needle("X25519 DH output", dh.as_ref()));
        let eae_prk = hkdf_extract(b"", &[v1, kem, b"eae_prk", &dh[..]]);
        out.push(needle("DHKEM eae_prk", eae_prk.as_ref()));
        let mut ss = Zeroizing::new([0u8; 32]);
        let kem_context = [&enc[..], &pk[..]].concat();
        hkdf_expand(
            &eae_prk,
            &[
                &32u16.to_be_bytes(),
                v1,
                kem,
                b"shared_secret",
                &kem_context,
            ],
            &mut ss[..],
        )
        .ok()?;
        out.push(needle("DHKEM shared secret", ss.as_ref()));
        let secret = hkdf_extract(&ss[..], &[v1, hpke_id, b"secret", b""]);
        out.push(needle("HPKE secret (PRK)", secret.as_ref()));
        let mut key = Zeroizing::new([0u8; 32]);
        let mut nonce = Zeroizing::new([0u8; 12]);
        hkdf_expand(
            &secret,
            &[&32u16.to_be_bytes(), v1, hpke_id, b"key", &ksc],
            &mut key[..],
        )
        .ok()?;
        hkdf_expand(
            &secret,
            &[&12u16.to_be_bytes(), v1, hpke_id, b"base_nonce", &ksc],
            &mut nonce[..],
        )
        .ok()?;
        out.push(needle("HPKE wrap key", key.as_ref()));
        out.push(needle("HPKE wrap nonce", nonce.as_ref()));
    }
    Some(out)
}

/// The library's stack scrub (to time it), and the number of bytes it
/// zeroes.
pub fn scrub_stack() -> usize {
    crate::primitives::scrub_stack();
    crate::primitives::STACK_SCRUB_BYTES
}

/// `seal` without its final stack scrub (its `seal_inner`): the planted leak of the stack scan
/// (it must find secrets after this, or the scan is blind).
pub fn seal_unscrubbed<R: rand_core::CryptoRng + ?Sized>(
    sender: &DeviceSecret,
    sender_certificate: &crate::identity::DeviceCertificate,
    recipients: &[&crate::identity::VerifiedDeviceList],
    prekeys: &[&crate::identity::VerifiedPrekey],
    message: &crate::envelope::Message<'_>,
    now: u64,
    rng: &mut R,
) -> Result<crate::envelope::Envelope, crate::error::SealError> {
    crate::envelope::seal::seal_inner(
        sender,
        sender_certificate,
        recipients,
        prekeys,
        message,
        now,
        rng,
    )
}

/// `open` without its final stack scrub (its `open_inner`): the planted leak of the stack scan.
pub fn open_unscrubbed(
    device: &DeviceKeyring,
    bytes: &[u8],
    directory: &[crate::identity::VerifiedDeviceList],
    now: u64,
) -> Result<crate::envelope::Opened, crate::error::OpenError> {
    crate::envelope::open::open_inner(device, bytes, directory, now)
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
            ..Message::default()
        };
        let bytes = seal(&sender, &sender_cert, &[&list], &[], &msg, 5, &mut rng)
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
