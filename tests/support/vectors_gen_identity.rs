//! certificates.json and device_lists.json.

use serde_json::{json, Value};

use super::craft::{self, Cert, List};
use super::{bytes, file_rng, hx, Group, VectorFile, NOW, YEAR};

/// An account of the generator: seed and public key.
#[derive(Clone, Copy)]
pub(crate) struct Account {
    pub(crate) seed: [u8; 32],
    pub(crate) public: [u8; 32],
}

impl Account {
    pub(crate) fn new(rng: &mut rand_chacha::ChaCha20Rng) -> Self {
        let seed = bytes(rng);
        Account {
            seed,
            public: craft::ed25519_public(&seed),
        }
    }
}

/// A device of the generator: 64 secret bytes, public keys, id.
#[derive(Clone, Copy)]
pub(crate) struct Device {
    pub(crate) secret: [u8; 64],
    pub(crate) x25519: [u8; 32],
    pub(crate) ed25519: [u8; 32],
    pub(crate) ed_seed: [u8; 32],
    pub(crate) device_id: [u8; 16],
}

impl Device {
    pub(crate) fn new(rng: &mut rand_chacha::ChaCha20Rng) -> Self {
        let secret: [u8; 64] = bytes(rng);
        let x: [u8; 32] = secret[..32].try_into().unwrap();
        let ed_seed: [u8; 32] = secret[32..].try_into().unwrap();
        Device {
            secret,
            x25519: craft::x25519_public(&x),
            ed25519: craft::ed25519_public(&ed_seed),
            ed_seed,
            device_id: bytes(rng),
        }
    }

    pub(crate) fn x25519_secret(&self) -> [u8; 32] {
        self.secret[..32].try_into().unwrap()
    }

    /// The certificate fields of this device under `account`.
    pub(crate) fn cert(&self, account: &Account, expires_at: Option<u64>) -> Cert {
        Cert::new(
            account.public,
            self.device_id,
            self.x25519,
            self.ed25519,
            NOW - YEAR,
            expires_at,
            0,
        )
    }
}

/// Canonical low-order X25519 points (RFC 7748 §6.1, Wycheproof X25519).
pub(crate) fn low_order_x25519() -> Vec<([u8; 32], &'static str)> {
    let h = |s: &str| -> [u8; 32] { hex::decode(s).unwrap().try_into().unwrap() };
    vec![
        ([0u8; 32], "low-order X25519 point u = 0"),
        (
            h("0100000000000000000000000000000000000000000000000000000000000000"),
            "low-order X25519 point u = 1",
        ),
        (
            h("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
            "X25519 point of order 8",
        ),
        (
            h("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
            "X25519 point of order 8 (the other one)",
        ),
        (
            h("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
            "low-order X25519 point u = p - 1 = 2^255 - 20",
        ),
    ]
}

/// Non-canonical X25519 encodings (u >= p or the top bit set).
pub(crate) fn non_canonical_x25519(valid: &[u8; 32]) -> Vec<([u8; 32], &'static str)> {
    let h = |s: &str| -> [u8; 32] { hex::decode(s).unwrap().try_into().unwrap() };
    let mut high = *valid;
    high[31] |= 0x80;
    vec![
        (
            h("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
            "u = p, non-canonical 0",
        ),
        (
            h("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
            "u = p + 1, non-canonical 1",
        ),
        (high, "a valid key with the top bit set"),
    ]
}

/// Small-order and non-canonical Ed25519 public keys.
pub(crate) fn bad_ed25519() -> Vec<([u8; 32], &'static str)> {
    let h = |s: &str| -> [u8; 32] { hex::decode(s).unwrap().try_into().unwrap() };
    let mut v = vec![
        (
            h("0100000000000000000000000000000000000000000000000000000000000000"),
            "the neutral element (small order)",
        ),
        (
            h("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
            "y = -1, point of order 2",
        ),
        (
            h("0000000000000000000000000000000000000000000000000000000000000000"),
            "y = 0, point of order 4",
        ),
        (
            h("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
            "Ed25519 point of order 8",
        ),
        (
            h("0100000000000000000000000000000000000000000000000000000000000080"),
            "the neutral element with the sign bit set (non-canonical)",
        ),
    ];
    // y = p + k for small k: a non-canonical encoding of a curve point that
    // is not of small order; found by trying to decompress.
    for k in 2u8..=18 {
        let mut b = [0xffu8; 32];
        b[0] = 0xed + k;
        b[31] = 0x7f;
        if let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&b) {
            if !key.is_weak() {
                v.push((
                    b,
                    "y >= p: non-canonical encoding of a point of large order",
                ));
                break;
            }
        }
    }
    assert_eq!(
        v.len(),
        6,
        "no non-canonical large-order Ed25519 encoding found"
    );
    v
}

/// The Ed25519 neutral element: an account key of small order.
pub(crate) fn identity_key_of_order_one() -> [u8; 32] {
    bad_ed25519()[0].0
}

/// `s + L`: a signature with a non-canonical scalar.
pub(crate) fn non_canonical_s(sig: &[u8]) -> Vec<u8> {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut out = sig.to_vec();
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(sig[32 + i]) + u16::from(L[i]) + carry;
        out[32 + i] = v as u8;
        carry = v >> 8;
    }
    assert_eq!(carry, 0);
    out
}

/// A copy of a list with its last signature byte flipped (same contents).
fn bad_l2_any(l: &[u8]) -> Vec<u8> {
    flip(l, l.len() - 1)
}

fn with(bytes: &[u8], i: usize, v: u8) -> Vec<u8> {
    let mut x = bytes.to_vec();
    x[i] = v;
    x
}

fn flip(bytes: &[u8], i: usize) -> Vec<u8> {
    let mut x = bytes.to_vec();
    x[i] ^= 0x01;
    x
}

fn params(c: &Cert) -> Value {
    json!({
        "deviceId": hx(&c.device_id),
        "x25519Public": hx(&c.x25519),
        "ed25519Public": hx(&c.ed25519),
        "createdAt": c.created_at,
        "expiresAt": c.expiry().map_or(Value::Null, |t| json!(t)),
        "capabilities": c.capabilities,
    })
}

// ------------------------------------------------------------ certificates.json

pub(crate) fn certificates() -> String {
    let mut rng = file_rng("certificates.json");
    let mut f = VectorFile::new(
        "fanseal device certificate",
        json!({
            "CertificateIssue": "accountSeed (group), params {deviceId, x25519Public, ed25519Public, createdAt, expiresAt (null = never; 2^64 - 1 is the same value), capabilities} -> certificate (exact 200 bytes: Ed25519 is deterministic), keyId = SHA-256(u8 len || \"fanseal v2 key id\" || accountPublicKey || x25519Public)[0..16] and recipientBinding = SHA-256(u8 len || \"fanseal v2 recipient binding\" || accountPublicKey || deviceId || x25519Public), or the CertificateError of AccountSecret::certify_device.",
            "CertificateVerify": "certificate (bytes), account (the expected account public key), now (Unix ms) -> the decoded fields (expiresAt null = never) and keyId (under the certificate's account), or the error of DeviceCertificate::from_bytes (DecodeError::*) then DeviceCertificate::verify (CertificateError::*; when several steps of SPEC.md §3.3 fail, the first).",
        }),
    );
    f.flag("Valid", "a well-formed certificate");
    f.flag("Expiry", "expiry handling at the caller's time");
    f.flag("WrongAccount", "verified against another account");
    f.flag("Ghost", "signed by a key other than the account it names");
    f.flag("BadSignature", "a signature that does not verify strictly");
    f.flag(
        "LabelConfusion",
        "a signature made with another label or no label",
    );
    f.flag(
        "LowOrderKey",
        "a low-order X25519 or small-order Ed25519 key",
    );
    f.flag("NonCanonicalKey", "a key encoding that is not canonical");
    f.flag("NonCanonicalSignature", "a signature scalar s >= L");
    f.flag(
        "InvalidAccountKey",
        "the account key itself is not a valid strict Ed25519 key",
    );

    f.flag("Truncated", "the input ends early");
    f.flag("TrailingBytes", "bytes after a complete object");
    f.flag(
        "Grease",
        "an unknown version, object type or suite (reserved for future use)",
    );

    let alice = Account::new(&mut rng);
    let bob = Account::new(&mut rng);
    let devices: Vec<Device> = (0..4).map(|_| Device::new(&mut rng)).collect();

    // --- issuing
    let mut g = Group::new(
        "CertificateIssue",
        "An account signs a device certificate; invalid device keys are refused (SPEC.md §3.3).",
    )
    .field("accountSeed", hx(&alice.seed))
    .field("accountPublicKey", hx(&alice.public));
    // The exact bytes, key id (SPEC.md §3.2) and recipient binding (§4.5).
    let issued = |c: &Cert, params: Value| -> Value {
        let bytes = c.signed(&alice.seed);
        json!({
            "params": params,
            "certificate": hx(&bytes),
            "keyId": hx(&craft::key_id(&c.account, &c.x25519)),
            "recipientBinding": hx(&craft::recipient_binding(&c.account, &c.device_id, &c.x25519)),
        })
    };
    let c0 = devices[0].cert(&alice, None);
    g.valid("no expiry", &["Valid"], issued(&c0, params(&c0)));
    let c1 = devices[1].cert(&alice, Some(NOW + YEAR));
    g.valid(
        "with expiry",
        &["Valid", "Expiry"],
        issued(&c1, params(&c1)),
    );
    let mut renewed = c1.clone();
    renewed.created_at = NOW;
    renewed.expires_at = NOW + 2 * YEAR;
    renewed.capabilities = 1;
    assert_ne!(renewed.signed(&alice.seed), c1.signed(&alice.seed));
    g.valid(
        "a renewal of the previous certificate (same device id and keys; other times and capabilities): other bytes, the same key id and recipient binding",
        &["Valid", "Expiry"],
        issued(&renewed, params(&renewed)),
    );
    let mut c2 = devices[2].cert(&alice, Some(u64::MAX - 1));
    c2.capabilities = 0xffff_ffff;
    c2.created_at = 0;
    g.valid(
        "extreme field values (created at 0, every capability bit, expires at 2^64 - 2)",
        &["Valid"],
        issued(&c2, params(&c2)),
    );
    let mut never = params(&c0);
    never["expiresAt"] = json!(u64::MAX);
    g.valid(
        "expiresAt 2^64 - 1 given explicitly: the same value as no expiry, the same bytes",
        &["Valid", "Expiry"],
        issued(&c0, never),
    );
    for (k, why) in low_order_x25519() {
        let mut c = devices[3].cert(&alice, None);
        c.x25519 = k;
        g.invalid(
            why,
            &["LowOrderKey"],
            "CertificateError::InvalidX25519Key",
            json!({"params": params(&c)}),
        );
    }
    for (k, why) in non_canonical_x25519(&devices[3].x25519) {
        let mut c = devices[3].cert(&alice, None);
        c.x25519 = k;
        g.invalid(
            why,
            &["NonCanonicalKey"],
            "CertificateError::InvalidX25519Key",
            json!({"params": params(&c)}),
        );
    }
    for (k, why) in bad_ed25519() {
        let mut c = devices[3].cert(&alice, None);
        c.ed25519 = k;
        let flag = if why.contains("non-canonical") {
            "NonCanonicalKey"
        } else {
            "LowOrderKey"
        };
        g.invalid(
            why,
            &[flag],
            "CertificateError::InvalidEd25519Key",
            json!({"params": params(&c)}),
        );
    }
    let mut c = devices[3].cert(&alice, None);
    c.x25519 = low_order_x25519()[0].0;
    c.ed25519 = bad_ed25519()[1].0;
    g.invalid(
        "order: a low-order X25519 key and a small-order Ed25519 key: InvalidX25519Key is checked first",
        &["LowOrderKey"],
        "CertificateError::InvalidX25519Key",
        json!({"params": params(&c)}),
    );
    f.push(g);

    // --- verifying
    let mut g = Group::new(
        "CertificateVerify",
        "Decode, then verify for an expected account at a time (SPEC.md §3.3).",
    );
    let verify_valid =
        |g: &mut Group, c: &Cert, account: &Account, now: u64, comment: &str, flags: &[&str]| {
            g.valid(
                comment,
                flags,
                json!({
                    "certificate": hx(&c.signed(&account.seed)),
                    "account": hx(&account.public),
                    "now": now,
                    "params": params(c),
                    "keyId": hx(&craft::key_id(&c.account, &c.x25519)),
                }),
            );
        };
    verify_valid(&mut g, &c0, &alice, NOW, "no expiry", &["Valid"]);
    verify_valid(
        &mut g,
        &c1,
        &alice,
        NOW,
        "expires in a year",
        &["Valid", "Expiry"],
    );
    verify_valid(
        &mut g,
        &c1,
        &alice,
        NOW + YEAR - 1,
        "one millisecond before expiry",
        &["Valid", "Expiry"],
    );
    verify_valid(
        &mut g,
        &c2,
        &alice,
        u64::MAX - 2,
        "expires at 2^64 - 2, one millisecond before",
        &["Valid", "Expiry"],
    );
    verify_valid(
        &mut g,
        &c0,
        &alice,
        u64::MAX,
        "no expiry (2^64 - 1) never expires, even at now = 2^64 - 1",
        &["Valid", "Expiry"],
    );
    let good = c1.signed(&alice.seed);
    let inv = |g: &mut Group,
               bytes: &[u8],
               account: &[u8; 32],
               now: u64,
               comment: &str,
               flags: &[&str],
               error: &str| {
        g.invalid(
            comment,
            flags,
            error,
            json!({"certificate": hx(bytes), "account": hx(account), "now": now}),
        );
    };
    inv(
        &mut g,
        &good,
        &alice.public,
        NOW + YEAR,
        "now equals the expiry",
        &["Expiry"],
        "CertificateError::Expired",
    );
    inv(
        &mut g,
        &good,
        &alice.public,
        NOW + 2 * YEAR,
        "long expired",
        &["Expiry"],
        "CertificateError::Expired",
    );
    inv(
        &mut g,
        &good,
        &bob.public,
        NOW,
        "a valid certificate of Alice verified for Bob",
        &["WrongAccount"],
        "CertificateError::WrongAccount",
    );
    inv(
        &mut g,
        &c1.signed(&bob.seed),
        &alice.public,
        NOW,
        "names Alice's account, signed by Bob's key",
        &["Ghost"],
        "CertificateError::BadSignature",
    );
    let sig_at = good.len() - 64;
    inv(
        &mut g,
        &flip(&good, sig_at),
        &alice.public,
        NOW,
        "first byte of R flipped",
        &["BadSignature"],
        "CertificateError::BadSignature",
    );
    inv(
        &mut g,
        &flip(&good, good.len() - 1),
        &alice.public,
        NOW,
        "last byte of s flipped",
        &["BadSignature"],
        "CertificateError::BadSignature",
    );
    inv(
        &mut g,
        &flip(&good, 120),
        &alice.public,
        NOW,
        "signed field (created at) changed",
        &["BadSignature"],
        "CertificateError::BadSignature",
    );
    let mut ncs = good[..sig_at].to_vec();
    ncs.extend_from_slice(&non_canonical_s(&good[sig_at..]));
    inv(
        &mut g,
        &ncs,
        &alice.public,
        NOW,
        "s replaced by s + L (accepted by lax verifiers)",
        &["NonCanonicalSignature"],
        "CertificateError::BadSignature",
    );
    let tbs = c1.tbs();
    let mut small_r = tbs.clone();
    small_r.extend_from_slice(&craft::sign_small_order_r(
        &alice.seed,
        craft::label::CERTIFICATE_SIGNATURE,
        &tbs,
    ));
    inv(
        &mut g,
        &small_r,
        &alice.public,
        NOW,
        "R of small order (the neutral element) and s = k·a: accepted by lax cofactorless verifiers, refused by strict verification",
        &["BadSignature"],
        "CertificateError::BadSignature",
    );
    let mut raw = tbs.clone();
    raw.extend_from_slice(
        &ed25519_dalek::Signer::sign(&ed25519_dalek::SigningKey::from_bytes(&alice.seed), &tbs)
            .to_bytes(),
    );
    inv(
        &mut g,
        &raw,
        &alice.public,
        NOW,
        "signature over the bytes without the label",
        &["LabelConfusion"],
        "CertificateError::BadSignature",
    );
    let mut other = tbs.clone();
    other.extend_from_slice(&craft::sign(
        &alice.seed,
        craft::label::DEVICE_LIST_SIGNATURE,
        &tbs,
    ));
    inv(
        &mut g,
        &other,
        &alice.public,
        NOW,
        "signature with the device-list label",
        &["LabelConfusion"],
        "CertificateError::BadSignature",
    );
    for (k, why) in low_order_x25519() {
        let mut c = devices[3].cert(&alice, None);
        c.x25519 = k;
        inv(
            &mut g,
            &c.signed(&alice.seed),
            &alice.public,
            NOW,
            why,
            &["LowOrderKey"],
            "CertificateError::InvalidX25519Key",
        );
    }
    for (k, why) in non_canonical_x25519(&devices[3].x25519) {
        let mut c = devices[3].cert(&alice, None);
        c.x25519 = k;
        inv(
            &mut g,
            &c.signed(&alice.seed),
            &alice.public,
            NOW,
            why,
            &["NonCanonicalKey"],
            "CertificateError::InvalidX25519Key",
        );
    }
    for (k, why) in bad_ed25519() {
        let mut c = devices[3].cert(&alice, None);
        c.ed25519 = k;
        let flag = if why.contains("non-canonical") {
            "NonCanonicalKey"
        } else {
            "LowOrderKey"
        };
        inv(
            &mut g,
            &c.signed(&alice.seed),
            &alice.public,
            NOW,
            why,
            &[flag],
            "CertificateError::InvalidEd25519Key",
        );
    }
    let identity_key = bad_ed25519()[0].0;
    let mut c = devices[0].cert(&alice, None);
    c.account = identity_key;
    inv(
        &mut g,
        &c.signed(&alice.seed),
        &identity_key,
        NOW,
        "account key is the neutral element",
        &["InvalidAccountKey"],
        "CertificateError::InvalidAccountKey",
    );

    inv(
        &mut g,
        &c2.signed(&alice.seed),
        &alice.public,
        u64::MAX - 1,
        "expires at 2^64 - 2, now equals the expiry",
        &["Expiry"],
        "CertificateError::Expired",
    );

    // Verification order (SPEC.md §3.3): when several steps fail, the first wins.
    let mut c = devices[3].cert(&alice, None);
    c.x25519 = low_order_x25519()[2].0;
    inv(
        &mut g,
        &c.signed(&bob.seed),
        &bob.public,
        NOW,
        "order: names Alice, verified for Bob, low-order X25519 key, signed by Bob: WrongAccount (step 1) first",
        &["WrongAccount", "LowOrderKey"],
        "CertificateError::WrongAccount",
    );
    let mut c = devices[3].cert(&alice, Some(NOW - 1));
    c.account = identity_key_of_order_one();
    c.x25519 = low_order_x25519()[0].0;
    inv(
        &mut g,
        &c.signed(&alice.seed),
        &identity_key_of_order_one(),
        NOW,
        "order: invalid account key, low-order X25519 key, expired: InvalidAccountKey (step 2) first",
        &["InvalidAccountKey", "LowOrderKey"],
        "CertificateError::InvalidAccountKey",
    );
    let mut c = devices[3].cert(&alice, Some(NOW - 1));
    c.x25519 = low_order_x25519()[1].0;
    c.ed25519 = bad_ed25519()[0].0;
    inv(
        &mut g,
        &c.signed(&bob.seed),
        &alice.public,
        NOW,
        "order: low-order X25519 and Ed25519 keys, signed by Bob, expired: InvalidX25519Key (step 3) first",
        &["LowOrderKey", "Ghost"],
        "CertificateError::InvalidX25519Key",
    );
    let mut c = devices[3].cert(&alice, Some(NOW - 1));
    c.ed25519 = bad_ed25519()[3].0;
    inv(
        &mut g,
        &c.signed(&bob.seed),
        &alice.public,
        NOW,
        "order: small-order Ed25519 key, signed by Bob, expired: InvalidEd25519Key (step 4) first",
        &["LowOrderKey", "Ghost"],
        "CertificateError::InvalidEd25519Key",
    );
    let c = devices[3].cert(&alice, Some(NOW - 1));
    inv(
        &mut g,
        &c.signed(&bob.seed),
        &alice.public,
        NOW,
        "order: signed by Bob and expired: BadSignature (step 5) before Expired (step 6)",
        &["Ghost", "Expiry"],
        "CertificateError::BadSignature",
    );

    // Decoding (SPEC.md §3.3, §2.1, §2.6): prefix, suite, fixed fields, exactly 200 bytes.
    assert_eq!(good.len(), craft::CERTIFICATE_LEN);
    inv(
        &mut g,
        &with(&with(&good, 0, 0xfa), 1, 0x7f),
        &alice.public,
        NOW,
        "order: version 0xfa and object type 0x7f: the version is read first",
        &["Grease"],
        "DecodeError::UnsupportedVersion",
    );
    let mut c = c1.clone();
    c.suite = 0x0a0a;
    inv(
        &mut g,
        &with(&c.signed(&alice.seed), 1, 0x7f),
        &alice.public,
        NOW,
        "order: object type 0x7f and suite 0x0a0a: the type is read before the suite",
        &["Grease"],
        "DecodeError::WrongObjectType",
    );
    inv(
        &mut g,
        &[c.signed(&alice.seed).as_slice(), &[0]].concat(),
        &alice.public,
        NOW,
        "order: 201 bytes with suite 0x0a0a: UnsupportedSuite (fields are read in order), not TrailingBytes",
        &["Grease", "TrailingBytes"],
        "DecodeError::UnsupportedSuite",
    );
    inv(
        &mut g,
        &c.signed(&alice.seed)[..10],
        &alice.public,
        NOW,
        "order: suite 0x0a0a, then the input ends: the suite is rejected before the length",
        &["Grease", "Truncated"],
        "DecodeError::UnsupportedSuite",
    );
    for len in [0usize, 1, 3, 36, 124, good.len() - 64, good.len() - 1] {
        inv(
            &mut g,
            &good[..len],
            &alice.public,
            NOW,
            &format!("truncated to {len} bytes"),
            &["Truncated"],
            "DecodeError::Truncated",
        );
    }
    inv(
        &mut g,
        &[good.as_slice(), &[0]].concat(),
        &alice.public,
        NOW,
        "one trailing byte",
        &["TrailingBytes"],
        "DecodeError::TrailingBytes",
    );
    inv(
        &mut g,
        &[good.as_slice(), &good].concat(),
        &alice.public,
        NOW,
        "two certificates back to back",
        &["TrailingBytes"],
        "DecodeError::TrailingBytes",
    );
    for v in [0x00u8, 0x01, 0x03, 0xfa] {
        inv(
            &mut g,
            &with(&good, 0, v),
            &alice.public,
            NOW,
            &format!("wire version {v:#04x}"),
            &["Grease"],
            "DecodeError::UnsupportedVersion",
        );
    }
    for t in [0x02u8, 0x03, 0x7f] {
        inv(
            &mut g,
            &with(&good, 1, t),
            &alice.public,
            NOW,
            &format!("object type {t:#04x}"),
            &["Grease"],
            "DecodeError::WrongObjectType",
        );
    }
    for s in [0x0000u16, 0x0002, 0x0a0a, 0xfafa] {
        let mut c = c1.clone();
        c.suite = s;
        inv(
            &mut g,
            &c.signed(&alice.seed),
            &alice.public,
            NOW,
            &format!("suite {s:#06x} (validly signed)"),
            &["Grease"],
            "DecodeError::UnsupportedSuite",
        );
    }
    f.push(g);
    f.render()
}

// ------------------------------------------------------------ device_lists.json

/// The version field of an encoded device list.
pub(crate) fn list_version(l: &[u8]) -> u64 {
    u64::from_be_bytes(l[36..44].try_into().unwrap())
}

/// Fork evidence encoding (SPEC.md §3.5): the two lists in byte order.
pub(crate) fn fork_evidence(a: &[u8], b: &[u8]) -> Vec<u8> {
    let (x, y) = if a <= b { (a, b) } else { (b, a) };
    raw_fork_evidence(x, y)
}

fn raw_fork_evidence(x: &[u8], y: &[u8]) -> Vec<u8> {
    let mut out = vec![2u8, 5];
    out.extend_from_slice(&u32::try_from(x.len()).unwrap().to_be_bytes());
    out.extend_from_slice(x);
    out.extend_from_slice(&u32::try_from(y.len()).unwrap().to_be_bytes());
    out.extend_from_slice(y);
    out
}

fn sorted_certs(mut certs: Vec<(Cert, Vec<u8>)>) -> Vec<Vec<u8>> {
    certs.sort_by_key(|c| c.0.device_id);
    certs.into_iter().map(|c| c.1).collect()
}

struct Lists {
    account: Account,
    l1: Vec<u8>,
    l2: Vec<u8>,
    l3: Vec<u8>,
    l4: Vec<u8>,
    l2_fork: Vec<u8>,
    l3_fork: Vec<u8>,
}

pub(crate) fn device_lists() -> String {
    let mut rng = file_rng("device_lists.json");
    let mut f = VectorFile::new(
        "fanseal device list",
        json!({
            "DeviceListIssue": "accountSeed (group), previous (bytes of the current list, or null for version 1) with previousAccount (the account it is verified for: AccountSecret::issue_device_list takes a verified list, so previous is first verified with DeviceList::verify, and that error is the case's error if it fails), issuedAt, certificates (bytes, in the order passed; repeat: pass the whole sequence that many times) -> list (exact bytes; certificates sorted by device id) and hash = SHA-256(u8 len || \"fanseal v2 device list hash\" || list without its signature), or the DeviceListError of AccountSecret::issue_device_list (deviceId: the device a Certificate error names).",
            "DeviceListVerify": "list (bytes), account (expected account public key) -> version, previousHash, issuedAt, certificates (bytes, sorted), hash = SHA-256(u8 len || \"fanseal v2 device list hash\" || list without its 64-byte signature), or the error of DeviceList::from_bytes (DecodeError::*; errorField: the field SPEC.md names for OutOfRange / Truncated) then DeviceList::verify (DeviceListError::*; a certificate failure is DeviceListError::Certificate(CertificateError::*), deviceId the device it names).",
            "DeviceListUpdate": "account, lists (group: named list bytes), trusted (verified first), intermediates (in order), next -> resultList (the name of the list now trusted: the trusted bytes themselves when next has the same contents, the last walked intermediate when next has its contents), resultVersion and resultHash, or the DeviceListError of VerifiedDeviceList::update; a fork also gives forkEvidence (its exact bytes), a broken chain atVersion, a rollback trustedVersion and presentedVersion.",
            "ForkEvidence": "evidence (bytes) -> account and version, or the error of ForkEvidence::from_bytes (DecodeError::*; errorField as in DeviceListVerify) then ForkEvidence::verify (DeviceListError::*).",
        }),
    );
    f.flag("Valid", "a well-formed, correctly signed list or update");
    f.flag("Chain", "an update along the hash chain");
    f.flag("Rollback", "an older list than the trusted one");
    f.flag(
        "Fork",
        "two different lists with the same version (equivocation)",
    );
    f.flag(
        "BrokenChain",
        "a missing or non-matching link in the hash chain",
    );
    f.flag(
        "Ghost",
        "a device certificate not signed by the list's account",
    );
    f.flag("WrongAccount", "verified against another account");
    f.flag("BadSignature", "a list signature that does not verify");
    f.flag(
        "LabelConfusion",
        "a signature made with another object's label",
    );
    f.flag("Genesis", "version and previous-hash inconsistency");
    f.flag(
        "InvalidAccountKey",
        "the account key itself is not a valid strict Ed25519 key",
    );
    f.flag("LowOrderKey", "a device with a low-order X25519 key");
    f.flag("DuplicateKey", "two devices share an X25519 key");
    f.flag(
        "Unsorted",
        "certificates not sorted by device id, or a duplicate id",
    );
    f.flag("Limit", "a count or length outside its bounds");
    f.flag(
        "Expired",
        "a listed device certificate is expired (lists keep them)",
    );
    f.flag("Truncated", "the input ends early");
    f.flag("TrailingBytes", "bytes after a complete object");
    f.flag(
        "Grease",
        "an unknown version, object type or suite (reserved for future use)",
    );
    f.flag("NotAFork", "two lists that do not prove equivocation");
    f.flag("NonCanonical", "an encoding that is not the canonical one");

    let alice = Account::new(&mut rng);
    let bob = Account::new(&mut rng);
    let mallory = Account::new(&mut rng);
    let ad: Vec<Device> = (0..5).map(|_| Device::new(&mut rng)).collect();
    let bd = Device::new(&mut rng);
    let ac: Vec<(Cert, Vec<u8>)> = ad
        .iter()
        .map(|d| {
            let c = d.cert(&alice, Some(NOW + YEAR));
            let b = c.signed(&alice.seed);
            (c, b)
        })
        .collect();
    let expired = {
        let c = ad[4].cert(&alice, Some(NOW - 1));
        let b = c.signed(&alice.seed);
        (c, b)
    };
    let bob_cert = {
        let c = bd.cert(&bob, None);
        let b = c.signed(&bob.seed);
        (c, b)
    };
    let list = |version: u64, prev: [u8; 32], certs: Vec<(Cert, Vec<u8>)>| List {
        suite: 1,
        account: alice.public,
        version,
        previous_hash: prev,
        issued_at: NOW + (version & 0xffff),
        certificates: sorted_certs(certs),
    };
    let l1 = list(1, [0; 32], vec![ac[0].clone()]).signed(&alice.seed);
    let l2 = list(2, craft::list_hash(&l1), vec![ac[0].clone(), ac[1].clone()]).signed(&alice.seed);
    let l3 = list(3, craft::list_hash(&l2), vec![ac[1].clone()]).signed(&alice.seed);
    let l4 = list(4, craft::list_hash(&l3), vec![ac[1].clone(), ac[2].clone()]).signed(&alice.seed);
    let l2_fork =
        list(2, craft::list_hash(&l1), vec![ac[0].clone(), ac[3].clone()]).signed(&alice.seed);
    let l3_fork = list(3, craft::list_hash(&l2_fork), vec![ac[3].clone()]).signed(&alice.seed);
    let ls = Lists {
        account: alice,
        l1,
        l2,
        l3,
        l4,
        l2_fork,
        l3_fork,
    };

    // --- issuing
    let mut g = Group::new(
        "DeviceListIssue",
        "An account signs the next list of its device certificates from its verified current list (SPEC.md §3.4 \"Issuing\").",
    )
    .field("accountSeed", hx(&alice.seed))
    .field("accountPublicKey", hx(&alice.public));
    // `previous` is verified for `previousAccount` first (the API takes a
    // verified list only); `repeat` passes the certificates that many times
    // over (so that 257 certificates fit in a few lines).
    let issue = |prev: Option<(&[u8], &[u8; 32])>, certs: &[&(Cert, Vec<u8>)]| {
        let mut v = json!({
            "previous": prev.map_or(Value::Null, |p| hx(p.0)),
            "issuedAt": NOW + prev.map_or(1, |_| 2),
            "certificates": certs.iter().map(|c| hx(&c.1)).collect::<Vec<_>>(),
        });
        if let Some((_, account)) = prev {
            v["previousAccount"] = hx(account);
        }
        v
    };
    let repeat = |mut v: Value, times: u64| {
        v["repeat"] = json!(times);
        v
    };
    let cert_err = |mut v: Value, device_id: &[u8; 16]| {
        v["deviceId"] = hx(device_id);
        v
    };
    let with_out = |mut v: Value, out: &[u8]| {
        v["list"] = hx(out);
        v["hash"] = hx(&craft::list_hash(out));
        v
    };
    let a_pub = alice.public;
    g.valid(
        "version 1 with one device",
        &["Valid"],
        with_out(issue(None, &[&ac[0]]), &ls.l1),
    );
    g.valid(
        "version 2 chained to the verified version 1; the list sorts the certificates by device id",
        &["Valid", "Chain"],
        with_out(issue(Some((&ls.l1, &a_pub)), &[&ac[1], &ac[0]]), &ls.l2),
    );
    let empty = List {
        suite: 1,
        account: alice.public,
        version: 1,
        previous_hash: [0; 32],
        issued_at: NOW + 1,
        certificates: vec![],
    }
    .signed(&alice.seed);
    g.valid("empty list", &["Valid"], with_out(issue(None, &[]), &empty));
    // Version 2 again, re-signed (same contents, another signature): the
    // successor chains to the contents, so it is the same as from l2.
    let l2_tbs = &ls.l2[..ls.l2.len() - 64];
    let resigned = [
        l2_tbs,
        &craft::sign_other_nonce(
            &alice.seed,
            craft::label::DEVICE_LIST_SIGNATURE,
            l2_tbs,
            [0x5a; 32],
        ),
    ]
    .concat();
    assert_ne!(resigned, ls.l2);
    let l3_from = |prev: &[u8]| list(3, craft::list_hash(prev), vec![ac[1].clone()]);
    let mut l3_issue = l3_from(&resigned);
    l3_issue.issued_at = NOW + 2;
    g.valid(
        "version 3 from a re-signed copy of version 2: the previous hash is the hash of the signed contents, whatever the signature",
        &["Valid", "Chain"],
        with_out(
            issue(Some((&resigned, &a_pub)), &[&ac[1]]),
            &l3_issue.signed(&alice.seed),
        ),
    );
    g.valid(
        "a certificate that has already expired is listed: issuing checks §3.3 steps 1-5, not the expiry",
        &["Valid", "Expired"],
        with_out(
            issue(None, &[&ac[0], &expired]),
            &list(1, [0; 32], vec![ac[0].clone(), expired.clone()]).signed(&alice.seed),
        ),
    );
    g.invalid(
        "a certificate of Bob's account",
        &["Ghost"],
        "DeviceListError::Certificate(CertificateError::WrongAccount)",
        cert_err(issue(None, &[&ac[0], &bob_cert]), &bob_cert.0.device_id),
    );
    let forged = {
        let c = ad[3].cert(&alice, None);
        let b = c.signed(&mallory.seed);
        (c, b)
    };
    g.invalid(
        "a ghost certificate: names Alice, signed by Mallory (issuing verifies each certificate)",
        &["Ghost"],
        "DeviceListError::Certificate(CertificateError::BadSignature)",
        cert_err(issue(None, &[&ac[0], &forged]), &forged.0.device_id),
    );
    let unsigned = {
        let c = ad[3].cert(&alice, None);
        let mut b = c.tbs();
        b.extend_from_slice(&[0u8; 64]);
        (c, b)
    };
    g.invalid(
        "an unsigned certificate (all-zero signature)",
        &["Ghost", "BadSignature"],
        "DeviceListError::Certificate(CertificateError::BadSignature)",
        cert_err(issue(None, &[&unsigned]), &unsigned.0.device_id),
    );
    let low = {
        let mut c = ad[3].cert(&alice, None);
        c.x25519 = low_order_x25519()[2].0;
        let b = c.signed(&alice.seed);
        (c, b)
    };
    g.invalid(
        "a certificate Alice signed over a low-order X25519 key",
        &["LowOrderKey"],
        "DeviceListError::Certificate(CertificateError::InvalidX25519Key)",
        cert_err(issue(None, &[&ac[0], &low]), &low.0.device_id),
    );
    g.invalid(
        "the same certificate twice",
        &["DuplicateKey"],
        "DeviceListError::DuplicateKey",
        issue(None, &[&ac[0], &ac[0]]),
    );
    let twin = {
        let mut c = ac[0].0.clone();
        c.device_id = ad[1].device_id;
        let b = c.signed(&alice.seed);
        (c, b)
    };
    g.invalid(
        "two device ids with the same X25519 key",
        &["DuplicateKey"],
        "DeviceListError::DuplicateKey",
        issue(None, &[&ac[0], &twin]),
    );
    let same_id = {
        let mut c = ac[1].0.clone();
        c.device_id = ad[0].device_id;
        let b = c.signed(&alice.seed);
        (c, b)
    };
    g.invalid(
        "one device id with two different keys",
        &["DuplicateKey"],
        "DeviceListError::DuplicateKey",
        issue(None, &[&ac[0], &same_id]),
    );
    let bob_list = List {
        suite: 1,
        account: bob.public,
        version: 1,
        previous_hash: [0; 32],
        issued_at: NOW,
        certificates: vec![bob_cert.1.clone()],
    }
    .signed(&bob.seed);
    g.invalid(
        "previous list of another account (Bob's, verified for Bob)",
        &["WrongAccount"],
        "DeviceListError::WrongAccount",
        issue(Some((&bob_list, &bob.public)), &[&ac[0]]),
    );
    g.invalid(
        "a forged predecessor (names Alice, signed by Mallory): it does not verify, so it cannot be extended",
        &["Ghost", "BadSignature"],
        "DeviceListError::BadSignature",
        issue(
            Some((
                &list(1, [0; 32], vec![ac[0].clone()]).signed(&mallory.seed),
                &a_pub,
            )),
            &[&ac[0]],
        ),
    );
    g.invalid(
        "an unverifiable predecessor (version 2 with an all-zero previous hash)",
        &["Genesis"],
        "DeviceListError::InvalidGenesis",
        issue(
            Some((
                &list(2, [0; 32], vec![ac[0].clone()]).signed(&alice.seed),
                &a_pub,
            )),
            &[&ac[0]],
        ),
    );
    // Version 2^64 - 1: the library will not issue it, so it is signed here
    // with Alice's seed; the checker verifies it with the library first.
    let last = list(u64::MAX, [0x11; 32], vec![ac[0].clone()]).signed(&alice.seed);
    g.invalid(
        "the predecessor has version 2^64 - 1: no later list can exist",
        &["Limit"],
        "DeviceListError::VersionExhausted",
        issue(Some((&last, &a_pub)), &[&ac[0]]),
    );
    let bob_last = List {
        suite: 1,
        account: bob.public,
        version: u64::MAX,
        previous_hash: [0x22; 32],
        issued_at: NOW,
        certificates: vec![bob_cert.1.clone()],
    }
    .signed(&bob.seed);
    g.invalid(
        "order: Bob's predecessor at version 2^64 - 1: WrongAccount (step 1) before VersionExhausted (step 2)",
        &["WrongAccount", "Limit"],
        "DeviceListError::WrongAccount",
        issue(Some((&bob_last, &bob.public)), &[&ac[0]]),
    );
    g.invalid(
        "257 certificates (the same one 257 times): TooManyDevices (step 3) before the duplicate check (step 5)",
        &["Limit", "DuplicateKey"],
        "DeviceListError::TooManyDevices",
        repeat(issue(None, &[&ac[0]]), 257),
    );
    g.invalid(
        "order: 257 certificates of Bob: TooManyDevices (step 3) before the certificate checks (step 4)",
        &["Limit", "Ghost"],
        "DeviceListError::TooManyDevices",
        repeat(issue(None, &[&bob_cert]), 257),
    );
    g.invalid(
        "order: predecessor at version 2^64 - 1 and 257 certificates: VersionExhausted (step 2) before TooManyDevices (step 3)",
        &["Limit"],
        "DeviceListError::VersionExhausted",
        repeat(issue(Some((&last, &a_pub)), &[&ac[0]]), 257),
    );
    g.invalid(
        "order: Bob's predecessor and 257 certificates: WrongAccount (step 1) first",
        &["WrongAccount", "Limit"],
        "DeviceListError::WrongAccount",
        repeat(issue(Some((&bob_list, &bob.public)), &[&ac[0]]), 257),
    );
    g.invalid(
        "order: Bob's certificate, then the same Alice certificate twice: the certificate checks (step 4) before duplicates (step 5)",
        &["Ghost", "DuplicateKey"],
        "DeviceListError::Certificate(CertificateError::WrongAccount)",
        cert_err(
            issue(None, &[&ac[0], &ac[0], &bob_cert]),
            &bob_cert.0.device_id,
        ),
    );
    g.invalid(
        "order: two failing certificates, checked in the order given (not sorted): Mallory's forgery, then Bob's",
        &["Ghost"],
        "DeviceListError::Certificate(CertificateError::BadSignature)",
        cert_err(issue(None, &[&forged, &bob_cert]), &forged.0.device_id),
    );
    g.invalid(
        "order: the same two, the other way round",
        &["Ghost"],
        "DeviceListError::Certificate(CertificateError::WrongAccount)",
        cert_err(issue(None, &[&bob_cert, &forged]), &bob_cert.0.device_id),
    );
    f.push(g);

    // --- verifying
    let mut g = Group::new(
        "DeviceListVerify",
        "Decode, then verify for an expected account (SPEC.md §3.4).",
    );
    let vv = |g: &mut Group, l: &[u8], comment: &str, flags: &[&str]| {
        let certs: Vec<Value> = craft::list_certificates(l).iter().map(|c| hx(c)).collect();
        g.valid(
            comment,
            flags,
            json!({
                "list": hx(l),
                "account": hx(&l[4..36]),
                "version": list_version(l),
                "previousHash": hx(&l[44..76]),
                "issuedAt": u64::from_be_bytes(l[76..84].try_into().unwrap()),
                "certificates": certs,
                "hash": hx(&craft::list_hash(l)),
            }),
        );
    };
    vv(&mut g, &ls.l1, "version 1", &["Valid"]);
    vv(&mut g, &ls.l2, "version 2", &["Valid", "Chain"]);
    vv(
        &mut g,
        &ls.l3,
        "version 3 (a device removed)",
        &["Valid", "Chain"],
    );
    vv(&mut g, &ls.l4, "version 4", &["Valid", "Chain"]);
    vv(&mut g, &empty, "no devices", &["Valid"]);
    vv(
        &mut g,
        &bob_list,
        "Bob's list (a certificate without expiry)",
        &["Valid"],
    );
    let with_expired = list(1, [0; 32], vec![ac[0].clone(), expired.clone()]).signed(&alice.seed);
    vv(
        &mut g,
        &with_expired,
        "an expired device stays on the list",
        &["Valid", "Expired"],
    );

    let iv = |g: &mut Group,
              l: &[u8],
              account: &[u8; 32],
              comment: &str,
              flags: &[&str],
              error: &str| {
        g.invalid(
            comment,
            flags,
            error,
            json!({"list": hx(l), "account": hx(account)}),
        );
    };
    let a = alice.public;
    iv(
        &mut g,
        &ls.l1,
        &bob.public,
        "Alice's list verified for Bob",
        &["WrongAccount"],
        "DeviceListError::WrongAccount",
    );
    iv(
        &mut g,
        &flip(&ls.l2, ls.l2.len() - 64),
        &a,
        "signature R flipped",
        &["BadSignature"],
        "DeviceListError::BadSignature",
    );
    iv(
        &mut g,
        &flip(&ls.l2, 80),
        &a,
        "issued-at changed after signing",
        &["BadSignature"],
        "DeviceListError::BadSignature",
    );
    iv(
        &mut g,
        &list(1, [0; 32], vec![ac[0].clone()]).signed(&mallory.seed),
        &a,
        "names Alice, signed by Mallory",
        &["Ghost", "BadSignature"],
        "DeviceListError::BadSignature",
    );
    let tbs = list(1, [0; 32], vec![ac[0].clone()]).tbs();
    let mut small_r = tbs.clone();
    small_r.extend_from_slice(&craft::sign_small_order_r(
        &alice.seed,
        craft::label::DEVICE_LIST_SIGNATURE,
        &tbs,
    ));
    iv(
        &mut g,
        &small_r,
        &a,
        "R of small order (the neutral element) and s = k·a: accepted by lax verifiers, refused by strict verification",
        &["BadSignature"],
        "DeviceListError::BadSignature",
    );
    let mut confused = tbs.clone();
    confused.extend_from_slice(&craft::sign(
        &alice.seed,
        craft::label::CERTIFICATE_SIGNATURE,
        &tbs,
    ));
    iv(
        &mut g,
        &confused,
        &a,
        "signed with the certificate label",
        &["LabelConfusion"],
        "DeviceListError::BadSignature",
    );
    iv(
        &mut g,
        &list(1, [7; 32], vec![ac[0].clone()]).signed(&alice.seed),
        &a,
        "version 1 with a previous hash",
        &["Genesis"],
        "DeviceListError::InvalidGenesis",
    );
    iv(
        &mut g,
        &list(2, [0; 32], vec![ac[0].clone()]).signed(&alice.seed),
        &a,
        "version 2 with an all-zero previous hash",
        &["Genesis"],
        "DeviceListError::InvalidGenesis",
    );
    iv(
        &mut g,
        &list(0, [0; 32], vec![ac[0].clone()]).signed(&alice.seed),
        &a,
        "version 0 (validly signed): rejected by the decoder",
        &["Genesis", "Limit"],
        "DecodeError::OutOfRange",
    );
    let identity_key = bad_ed25519()[0].0;
    let bad_acct = List {
        suite: 1,
        account: identity_key,
        version: 1,
        previous_hash: [0; 32],
        issued_at: NOW,
        certificates: vec![],
    }
    .signed(&alice.seed);
    iv(
        &mut g,
        &bad_acct,
        &identity_key,
        "account key is the neutral element",
        &["InvalidAccountKey"],
        "DeviceListError::InvalidAccountKey",
    );
    iv(
        &mut g,
        &list(1, [0; 32], vec![ac[0].clone(), bob_cert.clone()]).signed(&alice.seed),
        &a,
        "ghost: Bob's certificate in Alice's signed list",
        &["Ghost"],
        "DeviceListError::Certificate(CertificateError::WrongAccount)",
    );
    let forged = {
        let c = ad[3].cert(&alice, None);
        let b = c.signed(&mallory.seed);
        (c, b)
    };
    iv(
        &mut g,
        &list(1, [0; 32], vec![ac[0].clone(), forged]).signed(&alice.seed),
        &a,
        "ghost: a certificate naming Alice, signed by Mallory",
        &["Ghost"],
        "DeviceListError::Certificate(CertificateError::BadSignature)",
    );
    let low = {
        let mut c = ad[3].cert(&alice, None);
        c.x25519 = low_order_x25519()[2].0;
        let b = c.signed(&alice.seed);
        (c, b)
    };
    iv(
        &mut g,
        &list(1, [0; 32], vec![ac[0].clone(), low]).signed(&alice.seed),
        &a,
        "a device with a low-order X25519 key",
        &["LowOrderKey"],
        "DeviceListError::Certificate(CertificateError::InvalidX25519Key)",
    );
    iv(
        &mut g,
        &list(1, [0; 32], vec![ac[0].clone(), twin.clone()]).signed(&alice.seed),
        &a,
        "two devices share an X25519 key",
        &["DuplicateKey"],
        "DeviceListError::DuplicateKey",
    );
    let mut unsorted = List {
        suite: 1,
        account: a,
        version: 1,
        previous_hash: [0; 32],
        issued_at: NOW,
        certificates: sorted_certs(vec![ac[0].clone(), ac[1].clone()]),
    };
    unsorted.certificates.reverse();
    iv(
        &mut g,
        &unsorted.signed(&alice.seed),
        &a,
        "certificates in descending device-id order",
        &["Unsorted"],
        "DecodeError::NonCanonical",
    );
    let dup = List {
        suite: 1,
        account: a,
        version: 1,
        previous_hash: [0; 32],
        issued_at: NOW,
        certificates: vec![ac[0].1.clone(), ac[0].1.clone()],
    };
    iv(
        &mut g,
        &dup.signed(&alice.seed),
        &a,
        "the same certificate twice",
        &["Unsorted"],
        "DecodeError::NonCanonical",
    );
    // Counts and lengths.
    let head = &ls.l1[..84];
    iv(
        &mut g,
        &[head, &257u16.to_be_bytes()].concat(),
        &a,
        "device count 257 (limit 256)",
        &["Limit"],
        "DecodeError::OutOfRange",
    );
    iv(
        &mut g,
        &[head, &0xffffu16.to_be_bytes()].concat(),
        &a,
        "device count 65535",
        &["Limit"],
        "DecodeError::OutOfRange",
    );
    iv(
        &mut g,
        &[head, &256u16.to_be_bytes()].concat(),
        &a,
        "device count 256 (allowed) with no certificates following",
        &["Limit", "Truncated"],
        "DecodeError::Truncated",
    );
    let mut grease_cert = ac[0].0.clone();
    grease_cert.suite = 0x0a0a;
    let gl = List {
        suite: 1,
        account: a,
        version: 1,
        previous_hash: [0; 32],
        issued_at: NOW,
        certificates: vec![grease_cert.signed(&alice.seed)],
    }
    .signed(&alice.seed);
    iv(
        &mut g,
        &gl,
        &a,
        "a listed certificate with suite 0x0a0a",
        &["Grease"],
        "DecodeError::UnsupportedSuite",
    );
    for len in [
        0usize,
        1,
        3,
        40,
        85,
        86,
        200,
        ls.l1.len() - 64,
        ls.l1.len() - 1,
    ] {
        iv(
            &mut g,
            &ls.l1[..len],
            &a,
            &format!("truncated to {len} bytes"),
            &["Truncated"],
            "DecodeError::Truncated",
        );
    }
    iv(
        &mut g,
        &[ls.l1.as_slice(), &[0]].concat(),
        &a,
        "one trailing byte",
        &["TrailingBytes"],
        "DecodeError::TrailingBytes",
    );
    for v in [0x00u8, 0x01, 0x03, 0xfa] {
        iv(
            &mut g,
            &with(&ls.l1, 0, v),
            &a,
            &format!("wire version {v:#04x}"),
            &["Grease"],
            "DecodeError::UnsupportedVersion",
        );
    }
    for t in [0x01u8, 0x05, 0x7f] {
        iv(
            &mut g,
            &with(&ls.l1, 1, t),
            &a,
            &format!("object type {t:#04x}"),
            &["Grease"],
            "DecodeError::WrongObjectType",
        );
    }
    let mut grease_list = list(1, [0; 32], vec![ac[0].clone()]);
    grease_list.suite = 0x0a0a;
    let grease_list = grease_list.signed(&alice.seed);
    iv(
        &mut g,
        &grease_list,
        &a,
        "list suite 0x0a0a (validly signed)",
        &["Grease"],
        "DecodeError::UnsupportedSuite",
    );

    // Decoding order (SPEC.md §3.4): prefix, suite, account, version (0 is
    // out of range), previous hash, issued at, count (> 256 out of range),
    // room for every certificate and the signature, each certificate then
    // its order, the signature, trailing bytes.
    let ivf = |g: &mut Group, l: &[u8], comment: &str, flags: &[&str], error: &str, field: &str| {
        g.invalid(
            comment,
            flags,
            error,
            json!({"list": hx(l), "account": hx(&alice.public), "errorField": field}),
        );
    };
    iv(
        &mut g,
        &with(&with(&ls.l1, 0, 0xfa), 1, 0x7f),
        &a,
        "order: version 0xfa and object type 0x7f: the version first",
        &["Grease"],
        "DecodeError::UnsupportedVersion",
    );
    iv(
        &mut g,
        &with(&grease_list, 1, 0x7f),
        &a,
        "order: object type 0x7f and suite 0x0a0a: the type first",
        &["Grease"],
        "DecodeError::WrongObjectType",
    );
    let mut v0 = list(0, [0; 32], vec![ac[0].clone()]);
    v0.suite = 0x0a0a;
    iv(
        &mut g,
        &v0.signed(&alice.seed),
        &a,
        "order: suite 0x0a0a and version 0: the suite first",
        &["Grease", "Limit"],
        "DecodeError::UnsupportedSuite",
    );
    let v0 = list(0, [0; 32], vec![ac[0].clone()]).signed(&alice.seed);
    ivf(
        &mut g,
        &v0[..44],
        "order: version 0, then the input ends: the version is checked as soon as it is read",
        &["Limit", "Truncated"],
        "DecodeError::OutOfRange",
        "list version",
    );
    let mut v0_257 = v0[..84].to_vec();
    v0_257.extend_from_slice(&257u16.to_be_bytes());
    ivf(
        &mut g,
        &v0_257,
        "order: version 0 and device count 257: the version first",
        &["Limit"],
        "DecodeError::OutOfRange",
        "list version",
    );
    ivf(
        &mut g,
        &[head, &257u16.to_be_bytes()].concat(),
        "order: device count 257 and nothing after it: the count before any length check",
        &["Limit", "Truncated"],
        "DecodeError::OutOfRange",
        "device count",
    );
    // Count 2, but one certificate (with an unsupported suite) and a
    // signature: the room check comes before any certificate is decoded.
    let mut short = head.to_vec();
    short.extend_from_slice(&2u16.to_be_bytes());
    short.extend_from_slice(&grease_cert.signed(&alice.seed));
    short.extend_from_slice(&[0u8; 64]);
    ivf(
        &mut g,
        &short,
        "order: device count 2, bytes for one certificate (suite 0x0a0a) and a signature: Truncated before decoding any certificate",
        &["Truncated", "Grease"],
        "DecodeError::Truncated",
        "device certificates",
    );
    let mut no_sig = head.to_vec();
    no_sig.extend_from_slice(&1u16.to_be_bytes());
    no_sig.extend_from_slice(&ac[0].1);
    no_sig.extend_from_slice(&[0u8; 63]);
    ivf(
        &mut g,
        &no_sig,
        "device count 1, one certificate and 63 bytes of signature",
        &["Truncated"],
        "DecodeError::Truncated",
        "device certificates",
    );
    // Unsorted pair whose second certificate does not decode: each
    // certificate is decoded, then compared with the previous one.
    let pair = sorted_certs(vec![ac[0].clone(), ac[1].clone()]);
    let hi_cert = pair[1].clone();
    let lo_cert = pair[0].clone();
    let mut lo_grease = lo_cert.clone();
    lo_grease[2..4].copy_from_slice(&0x0a0au16.to_be_bytes());
    let raw = |certs: Vec<Vec<u8>>| {
        List {
            suite: 1,
            account: a,
            version: 1,
            previous_hash: [0; 32],
            issued_at: NOW,
            certificates: certs,
        }
        .signed(&alice.seed)
    };
    iv(
        &mut g,
        &raw(vec![hi_cert.clone(), lo_grease]),
        &a,
        "order: descending ids, the second certificate with suite 0x0a0a: the certificate is decoded before the order check",
        &["Unsorted", "Grease"],
        "DecodeError::UnsupportedSuite",
    );
    let mut third_bad = lo_cert.clone();
    third_bad[0] = 0xfa;
    iv(
        &mut g,
        &raw(vec![hi_cert.clone(), lo_cert.clone(), third_bad]),
        &a,
        "order: descending ids, then a certificate with version 0xfa: the order check right after each certificate",
        &["Unsorted", "Grease"],
        "DecodeError::NonCanonical",
    );
    let mut first_v = lo_cert.clone();
    first_v[0] = 0x01;
    iv(
        &mut g,
        &raw(vec![first_v]),
        &a,
        "a listed certificate with wire version 0x01",
        &["Grease"],
        "DecodeError::UnsupportedVersion",
    );
    let mut cert_type = lo_cert.clone();
    cert_type[1] = 0x02;
    iv(
        &mut g,
        &raw(vec![cert_type]),
        &a,
        "a listed certificate with the object type of a list",
        &["Grease"],
        "DecodeError::WrongObjectType",
    );
    let mut trail_unsorted = raw(vec![hi_cert.clone(), lo_cert.clone()]);
    trail_unsorted.push(0);
    iv(
        &mut g,
        &trail_unsorted,
        &a,
        "order: descending ids and a trailing byte: NonCanonical (read in order) before TrailingBytes",
        &["Unsorted", "TrailingBytes"],
        "DecodeError::NonCanonical",
    );

    // Verification order (SPEC.md §3.4): account, genesis, key and
    // signature, duplicates, then each certificate in list order.
    iv(
        &mut g,
        &list(1, [7; 32], vec![ac[0].clone()]).signed(&mallory.seed),
        &bob.public,
        "order: names Alice, verified for Bob, version 1 with a previous hash, signed by Mallory: WrongAccount first",
        &["WrongAccount", "Genesis"],
        "DeviceListError::WrongAccount",
    );
    iv(
        &mut g,
        &list(1, [7; 32], vec![ac[0].clone()]).signed(&mallory.seed),
        &a,
        "order: version 1 with a previous hash, signed by Mallory: InvalidGenesis before the signature",
        &["Genesis", "BadSignature"],
        "DeviceListError::InvalidGenesis",
    );
    let bad_genesis_key = List {
        suite: 1,
        account: identity_key,
        version: 2,
        previous_hash: [0; 32],
        issued_at: NOW,
        certificates: vec![],
    }
    .signed(&alice.seed);
    iv(
        &mut g,
        &bad_genesis_key,
        &identity_key,
        "order: version 2 with a zero previous hash under an invalid account key: InvalidGenesis before InvalidAccountKey",
        &["Genesis", "InvalidAccountKey"],
        "DeviceListError::InvalidGenesis",
    );
    iv(
        &mut g,
        &list(1, [0; 32], vec![ac[0].clone(), twin.clone(), bob_cert.clone()])
            .signed(&mallory.seed),
        &a,
        "order: shared key and a ghost, signed by Mallory: BadSignature before DuplicateKey and the certificates",
        &["BadSignature", "DuplicateKey", "Ghost"],
        "DeviceListError::BadSignature",
    );
    iv(
        &mut g,
        &list(1, [0; 32], vec![ac[0].clone(), twin.clone(), bob_cert.clone()])
            .signed(&alice.seed),
        &a,
        "order: shared key and a ghost certificate of Bob: DuplicateKey before the certificate checks",
        &["DuplicateKey", "Ghost"],
        "DeviceListError::DuplicateKey",
    );
    // Two failing certificates: the first in list (device id) order wins.
    let forged2 = {
        let c = ad[2].cert(&alice, None);
        let b = c.signed(&mallory.seed);
        (c, b)
    };
    let bob_named = {
        let mut c = ad[3].cert(&bob, None);
        c.account = bob.public;
        let b = c.signed(&bob.seed);
        (c, b)
    };
    let both = list(1, [0; 32], vec![forged2.clone(), bob_named.clone()]).signed(&alice.seed);
    let (first_err, first_id) = if forged2.0.device_id < bob_named.0.device_id {
        (
            "DeviceListError::Certificate(CertificateError::BadSignature)",
            forged2.0.device_id,
        )
    } else {
        (
            "DeviceListError::Certificate(CertificateError::WrongAccount)",
            bob_named.0.device_id,
        )
    };
    g.invalid(
        "order: a forged certificate and one of Bob's: the first failing one in device-id order",
        &["Ghost"],
        first_err,
        json!({"list": hx(&both), "account": hx(&a), "deviceId": hx(&first_id)}),
    );

    // 256 devices (the limit) verify; 257 do not decode (above).
    let many: Vec<(Cert, Vec<u8>)> = (0..256u16)
        .map(|i| {
            let mut c = ad[0].cert(&alice, None);
            let mut id = [0u8; 16];
            id[14..].copy_from_slice(&i.to_be_bytes());
            c.device_id = id;
            // A distinct, valid X25519 key per device: the public key of a
            // secret derived from the index.
            c.x25519 = craft::x25519_public(&craft::sha256(&[b"device", &i.to_be_bytes()]));
            let b = c.signed(&alice.seed);
            (c, b)
        })
        .collect();
    let full = list(1, [0; 32], many).signed(&alice.seed);
    assert_eq!(full.len(), 51_350);
    vv(
        &mut g,
        &full,
        "256 devices: the largest list, 51,350 bytes (DEVICE_LIST_MAX_LEN)",
        &["Valid", "Limit"],
    );
    f.push(g);

    // --- updating
    // The lists are named once in the group; cases refer to them by name.
    // A flipped signature byte keeps the list hash (it covers the signed
    // contents only): such a list has the contents of the original.
    let bad_l1 = flip(&ls.l1, ls.l1.len() - 1);
    let bad_l2 = flip(&ls.l2, ls.l2.len() - 1);
    let bad_l3 = flip(&ls.l3, ls.l3.len() - 1);
    assert_eq!(craft::list_hash(&bad_l2), craft::list_hash(&ls.l2));
    let ghost_next = list(
        2,
        craft::list_hash(&ls.l1),
        vec![ac[0].clone(), bob_cert.clone()],
    )
    .signed(&alice.seed);
    let mallory_next = list(2, craft::list_hash(&ls.l1), vec![ac[0].clone()]).signed(&mallory.seed);
    let ghost_v3 = list(
        3,
        craft::list_hash(&ls.l2),
        vec![ac[1].clone(), bob_cert.clone()],
    )
    .signed(&alice.seed);
    // Version 3 chained to the re-signed copy of version 2: the same list
    // hash as version 2, so this is exactly ls.l3.
    assert_eq!(
        list(3, craft::list_hash(&resigned), vec![ac[1].clone()]).signed(&alice.seed),
        ls.l3
    );
    // Bob's version 2 (chained to bob-v1): another account's list at a
    // version of Alice's walk.
    let bob_v2 = List {
        suite: 1,
        account: bob.public,
        version: 2,
        previous_hash: craft::list_hash(&bob_list),
        issued_at: NOW,
        certificates: vec![bob_cert.1.clone()],
    }
    .signed(&bob.seed);
    let named: Vec<(&str, &[u8])> = vec![
        ("v1", &ls.l1),
        ("v2", &ls.l2),
        ("v3", &ls.l3),
        ("v4", &ls.l4),
        ("v2-fork", &ls.l2_fork),
        ("v3-fork", &ls.l3_fork),
        ("v1-bad-signature", &bad_l1),
        ("v2-bad-signature", &bad_l2),
        ("v3-bad-signature", &bad_l3),
        ("v2-with-ghost", &ghost_next),
        ("v2-signed-by-mallory", &mallory_next),
        ("bob-v1", &bob_list),
        ("v2-re-signed", &resigned),
        ("v3-with-ghost", &ghost_v3),
        ("bob-v2", &bob_v2),
    ];
    let lookup = |name: &str| -> &[u8] { named.iter().find(|n| n.0 == name).unwrap().1 };
    let mut lists_obj = serde_json::Map::new();
    for (name, bytes) in &named {
        lists_obj.insert((*name).into(), hx(bytes));
    }
    let mut g = Group::new(
        "DeviceListUpdate",
        "Move the trusted list forward along the hash chain; rollback, forks and broken chains are refused (SPEC.md §3.5, checks in the order given there).",
    )
    .field("account", hx(&alice.public))
    .field("lists", Value::Object(lists_obj));
    let up = |t: &str, mids: &[&str], next: &str| json!({"trusted": t, "intermediates": mids, "next": next});
    let up_ok =
        |g: &mut Group, t: &str, mids: &[&str], next: &str, comment: &str, flags: &[&str]| {
            let mut v = up(t, mids, next);
            // The same contents keep the list already trusted (its bytes).
            let n = if craft::list_hash(lookup(next)) == craft::list_hash(lookup(t)) {
                t
            } else {
                next
            };
            v["resultVersion"] = json!(list_version(lookup(n)));
            v["resultHash"] = hx(&craft::list_hash(lookup(n)));
            v["resultList"] = json!(n);
            g.valid(comment, flags, v);
        };
    let up_ok_as = |g: &mut Group,
                    t: &str,
                    mids: &[&str],
                    next: &str,
                    result: &str,
                    comment: &str,
                    flags: &[&str]| {
        let mut v = up(t, mids, next);
        v["resultVersion"] = json!(list_version(lookup(result)));
        v["resultHash"] = hx(&craft::list_hash(lookup(result)));
        v["resultList"] = json!(result);
        g.valid(comment, flags, v);
    };
    up_ok(
        &mut g,
        "v1",
        &[],
        "v2",
        "version 1 to 2",
        &["Valid", "Chain"],
    );
    up_ok(
        &mut g,
        "v1",
        &["v2", "v3"],
        "v4",
        "version 1 to 4 with both intermediates",
        &["Valid", "Chain"],
    );
    up_ok(
        &mut g,
        "v2",
        &["v3"],
        "v4",
        "version 2 to 4",
        &["Valid", "Chain"],
    );
    up_ok(
        &mut g,
        "v2",
        &[],
        "v2",
        "the same list again: no change",
        &["Valid"],
    );
    up_ok(
        &mut g,
        "v1",
        &["v1", "v2"],
        "v3",
        "an intermediate equal to the trusted list is skipped",
        &["Valid", "Chain"],
    );
    up_ok(
        &mut g,
        "v1",
        &["v1", "v1", "v2", "v1", "v1-bad-signature", "v1"],
        "v3",
        "many copies of the trusted list, before and after version 2, one with a broken signature: each skipped unverified",
        &["Valid", "Chain"],
    );
    up_ok(
        &mut g,
        "v1",
        &[],
        "v2-fork",
        "version 1 to the other branch's version 2 (a fork is only visible with both)",
        &["Valid", "Chain"],
    );
    up_ok(
        &mut g,
        "v2",
        &[],
        "v2-re-signed",
        "next is a re-signed copy of the trusted list (same contents, another valid signature): no change, the trusted bytes are kept",
        &["Valid"],
    );
    up_ok(
        &mut g,
        "v2",
        &[],
        "v2-bad-signature",
        "next has the trusted contents and a broken signature: no change, nothing verified (SPEC.md §3.5 step 2)",
        &["Valid", "BadSignature"],
    );
    up_ok(
        &mut g,
        "v2",
        &["bob-v1", "v2-signed-by-mallory", "v1-bad-signature"],
        "v2-re-signed",
        "order: next has the trusted contents: no change (step 2) before the intermediates are looked at, whatever they are",
        &["Valid", "WrongAccount", "BadSignature"],
    );
    up_ok(
        &mut g,
        "v2",
        &["v2-re-signed"],
        "v3",
        "a re-signed copy of the trusted list as an intermediate is skipped",
        &["Valid", "Chain"],
    );
    up_ok(
        &mut g,
        "v2",
        &["v2-bad-signature"],
        "v3",
        "an intermediate with the trusted contents and a broken signature is skipped unverified",
        &["Valid", "Chain", "BadSignature"],
    );
    up_ok(
        &mut g,
        "v2-re-signed",
        &[],
        "v3",
        "trusting the re-signed copy, version 3 chains to it: the list hash covers the signed contents, not the signature",
        &["Valid", "Chain"],
    );
    up_ok(
        &mut g,
        "v1",
        &["v2-re-signed"],
        "v3",
        "version 1 to 3 through a re-signed version 2",
        &["Valid", "Chain"],
    );
    let up_bad = |g: &mut Group,
                  t: &str,
                  mids: &[&str],
                  next: &str,
                  comment: &str,
                  flags: &[&str],
                  error: &str,
                  extra: Value| {
        let mut v = up(t, mids, next);
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        g.invalid(comment, flags, error, v);
    };
    let evidence = hx(&fork_evidence(&ls.l2, &ls.l2_fork));
    up_bad(
        &mut g,
        "v2",
        &[],
        "v1",
        "version 2 to 1",
        &["Rollback"],
        "DeviceListError::Rollback",
        json!({"trustedVersion": 2, "presentedVersion": 1}),
    );
    up_bad(
        &mut g,
        "v4",
        &[],
        "v2",
        "version 4 to 2",
        &["Rollback"],
        "DeviceListError::Rollback",
        json!({"trustedVersion": 4, "presentedVersion": 2}),
    );
    up_bad(
        &mut g,
        "v2",
        &[],
        "v1-bad-signature",
        "order: an older list with a broken signature: next is verified before the rollback check (both SPEC.md §3.5 step 3)",
        &["Rollback", "BadSignature"],
        "DeviceListError::BadSignature",
        json!({}),
    );
    up_bad(
        &mut g,
        "v2",
        &[],
        "v2-fork",
        "another version 2",
        &["Fork"],
        "DeviceListError::Fork",
        json!({"forkEvidence": evidence}),
    );
    up_bad(
        &mut g,
        "v2-fork",
        &[],
        "v2",
        "another version 2, seen from the other branch",
        &["Fork"],
        "DeviceListError::Fork",
        json!({"forkEvidence": evidence}),
    );
    up_bad(
        &mut g,
        "v2-re-signed",
        &[],
        "v2-fork",
        "another version 2 while trusting a re-signed copy: the evidence holds the trusted bytes",
        &["Fork"],
        "DeviceListError::Fork",
        json!({"forkEvidence": hx(&fork_evidence(&resigned, &ls.l2_fork))}),
    );
    up_bad(
        &mut g,
        "v2",
        &[],
        "v2-signed-by-mallory",
        "order: another version 2 that does not verify: its error (step 3), not a fork",
        &["Fork", "BadSignature"],
        "DeviceListError::BadSignature",
        json!({}),
    );
    up_bad(
        &mut g,
        "v2",
        &["bob-v1", "v1-bad-signature"],
        "v2-fork",
        "order: another version 2 with unrelated intermediates: the fork (step 3, n = t) is found without any walk",
        &["Fork", "WrongAccount"],
        "DeviceListError::Fork",
        json!({"forkEvidence": evidence}),
    );
    up_bad(
        &mut g,
        "v3",
        &["bob-v1", "v1-bad-signature"],
        "v2",
        "order: an older next with unrelated intermediates: Rollback (step 3, n < t) without any walk",
        &["Rollback", "WrongAccount"],
        "DeviceListError::Rollback",
        json!({"trustedVersion": 3, "presentedVersion": 2}),
    );
    up_bad(
        &mut g,
        "v2",
        &["v2-fork"],
        "v3-fork",
        "the other branch's version 3 via its version 2",
        &["Fork"],
        "DeviceListError::Fork",
        json!({"forkEvidence": evidence}),
    );
    up_bad(
        &mut g,
        "v2",
        &["v2-signed-by-mallory"],
        "v3",
        "order: an intermediate of the trusted version with other contents that does not verify: its error, not a fork",
        &["Fork", "BadSignature"],
        "DeviceListError::BadSignature",
        json!({}),
    );
    up_bad(
        &mut g,
        "v1",
        &[],
        "v3",
        "version 1 to 3 without version 2",
        &["BrokenChain"],
        "DeviceListError::BrokenChain",
        json!({"atVersion": 3}),
    );
    up_bad(
        &mut g,
        "v1",
        &["v2"],
        "v4",
        "version 1 to 4 missing version 3",
        &["BrokenChain"],
        "DeviceListError::BrokenChain",
        json!({"atVersion": 4}),
    );
    up_bad(
        &mut g,
        "v1",
        &["v2-fork"],
        "v3",
        "version 3 does not chain to the intermediate version 2",
        &["BrokenChain"],
        "DeviceListError::BrokenChain",
        json!({"atVersion": 3}),
    );
    up_bad(
        &mut g,
        "v1",
        &["v3", "v2"],
        "v4",
        "intermediates out of order",
        &["BrokenChain"],
        "DeviceListError::BrokenChain",
        json!({"atVersion": 3}),
    );
    up_bad(
        &mut g,
        "v2",
        &["v1"],
        "v3",
        "an intermediate below the trusted version",
        &["BrokenChain", "Rollback"],
        "DeviceListError::BrokenChain",
        json!({"atVersion": 1}),
    );
    up_bad(
        &mut g,
        "v2",
        &["v1-bad-signature"],
        "v3",
        "order: an intermediate below the trusted version with a broken signature: BrokenChain, never verified",
        &["BrokenChain", "BadSignature"],
        "DeviceListError::BrokenChain",
        json!({"atVersion": 1}),
    );
    up_ok_as(
        &mut g,
        "v1",
        &["v2", "v3"],
        "v3",
        "v3",
        "the newest list also passed as the last intermediate: next has the contents of the last walked list, accepted as that list",
        &["Valid", "Chain"],
    );
    up_ok_as(
        &mut g,
        "v1",
        &["v2", "v3"],
        "v3-bad-signature",
        "v3",
        "next has the contents of the last walked intermediate and a broken signature: skipped unverified, the walked (verified) version 3 becomes trusted",
        &["Valid", "Chain", "BadSignature"],
    );
    up_ok_as(
        &mut g,
        "v1",
        &["v2-re-signed"],
        "v2",
        "v2-re-signed",
        "next has the contents of the last walked intermediate, a re-signed copy: the walked list (its bytes) becomes trusted",
        &["Valid", "Chain"],
    );
    up_bad(
        &mut g,
        "v1",
        &["v2", "v3"],
        "v2",
        "next has the contents of an earlier walked list (version 2, the walk is at version 3): BrokenChain at next's version",
        &["BrokenChain"],
        "DeviceListError::BrokenChain",
        json!({"atVersion": 2}),
    );
    up_bad(
        &mut g,
        "v1",
        &["v2", "v3"],
        "v2-bad-signature",
        "next has the contents of an earlier walked list and a broken signature: BrokenChain at next's version, never verified",
        &["BrokenChain", "BadSignature"],
        "DeviceListError::BrokenChain",
        json!({"atVersion": 2}),
    );
    up_ok_as(
        &mut g,
        "v1",
        &["v2", "v3"],
        "v1-bad-signature",
        "v1",
        "next has the trusted list's own contents (broken signature) after a valid walk's intermediates: no change, nothing verified (step 2)",
        &["Valid", "BadSignature"],
    );
    up_ok(
        &mut g,
        "v1",
        &["v2", "v3", "v2-bad-signature", "v3-bad-signature", "v2-re-signed", "v1-bad-signature"],
        "v4",
        "copies of every walked list (broken signatures, a re-signed copy) as intermediates: each skipped unverified",
        &["Valid", "Chain", "BadSignature"],
    );
    up_bad(
        &mut g,
        "v1",
        &["v2", "v2-fork"],
        "v3",
        "two different version 2 lists among the intermediates: a fork between the walked version 2 and the new one",
        &["Fork"],
        "DeviceListError::Fork",
        json!({"forkEvidence": evidence}),
    );
    up_bad(
        &mut g,
        "v1",
        &["v2-re-signed", "v2-fork"],
        "v3",
        "two different version 2 lists among the intermediates, the first a re-signed copy: the evidence holds the walked bytes",
        &["Fork"],
        "DeviceListError::Fork",
        json!({"forkEvidence": hx(&fork_evidence(&resigned, &ls.l2_fork))}),
    );
    up_bad(
        &mut g,
        "v1",
        &["v2", "v3"],
        "v3-fork",
        "next is another version 3 than the walked intermediate: a fork between the walked version 3 and next",
        &["Fork"],
        "DeviceListError::Fork",
        json!({"forkEvidence": hx(&fork_evidence(&ls.l3, &ls.l3_fork))}),
    );
    up_bad(
        &mut g,
        "v1",
        &["v2", "v2-signed-by-mallory"],
        "v3",
        "order: another version 2 in the walk that does not verify: its error (verified before the fork is reported)",
        &["Fork", "BadSignature"],
        "DeviceListError::BadSignature",
        json!({}),
    );
    up_bad(
        &mut g,
        "v1",
        &["v2", "bob-v2"],
        "v3",
        "order: Bob's version 2 after Alice's walked version 2: verified for Alice's account (WrongAccount), not a fork",
        &["Fork", "WrongAccount"],
        "DeviceListError::WrongAccount",
        json!({}),
    );
    up_bad(
        &mut g,
        "v1",
        &["bob-v1"],
        "v2",
        "order: Bob's version 1 as an intermediate of a walk from Alice's version 1: WrongAccount, not a fork",
        &["Fork", "WrongAccount"],
        "DeviceListError::WrongAccount",
        json!({}),
    );
    up_bad(
        &mut g,
        "v1",
        &[],
        "v2-bad-signature",
        "next list with a bad signature",
        &["BadSignature"],
        "DeviceListError::BadSignature",
        json!({}),
    );
    up_bad(
        &mut g,
        "v1",
        &[],
        "v3-bad-signature",
        "order: next does not chain (no version 2) and has a broken signature: next is walked like an intermediate, link check before verification",
        &["BadSignature", "BrokenChain"],
        "DeviceListError::BrokenChain",
        json!({"atVersion": 3}),
    );
    up_bad(
        &mut g,
        "v1",
        &["v2-bad-signature"],
        "v3",
        "an intermediate at the next version with a bad signature: the link check passes, then verification fails",
        &["BadSignature"],
        "DeviceListError::BadSignature",
        json!({}),
    );
    up_bad(
        &mut g,
        "v1",
        &["v2-bad-signature"],
        "v3-with-ghost",
        "order: next (version 3, a ghost of Bob) and the intermediate version 2 (broken signature) both fail: the walk reaches version 2 first (next is not verified before the walk)",
        &["Ghost", "BadSignature"],
        "DeviceListError::BadSignature",
        json!({}),
    );
    up_bad(
        &mut g,
        "v1",
        &["v3-bad-signature"],
        "v4",
        "order: an intermediate that neither links nor verifies: the link check comes first",
        &["BrokenChain", "BadSignature"],
        "DeviceListError::BrokenChain",
        json!({"atVersion": 3}),
    );
    up_bad(
        &mut g,
        "v1",
        &["v2-signed-by-mallory"],
        "v3",
        "an intermediate that links but is signed by Mallory",
        &["Ghost", "BadSignature"],
        "DeviceListError::BadSignature",
        json!({}),
    );
    up_bad(
        &mut g,
        "v1",
        &[],
        "v2-with-ghost",
        "next list with a ghost device of another account",
        &["Ghost"],
        "DeviceListError::Certificate(CertificateError::WrongAccount)",
        json!({}),
    );
    up_bad(
        &mut g,
        "v1",
        &["v2-with-ghost"],
        "v3",
        "an intermediate with a ghost device of another account",
        &["Ghost"],
        "DeviceListError::Certificate(CertificateError::WrongAccount)",
        json!({}),
    );
    up_bad(
        &mut g,
        "v1",
        &[],
        "v2-signed-by-mallory",
        "next list chained correctly but signed by Mallory",
        &["Ghost", "BadSignature"],
        "DeviceListError::BadSignature",
        json!({}),
    );
    up_bad(
        &mut g,
        "v1",
        &[],
        "bob-v1",
        "next list of another account",
        &["WrongAccount"],
        "DeviceListError::WrongAccount",
        json!({}),
    );
    // MAX_CHAIN_LENGTH = 256 intermediates.
    let mut at_limit = vec!["v1"; 255];
    at_limit.push("v2");
    up_ok(
        &mut g,
        "v1",
        &at_limit,
        "v3",
        "256 intermediates (the limit): 255 copies of the trusted list, then version 2",
        &["Valid", "Chain", "Limit"],
    );
    let mut over = vec!["v1"; 256];
    over.push("v2");
    up_bad(
        &mut g,
        "v1",
        &over,
        "v3",
        "257 intermediates: refused before any verification",
        &["Limit"],
        "DeviceListError::ChainTooLong",
        json!({}),
    );
    up_bad(
        &mut g,
        "v1",
        &vec!["v1"; 257],
        "v1",
        "order: 257 intermediates and next equal to the trusted list: ChainTooLong (step 1) before the no-op (step 2)",
        &["Limit"],
        "DeviceListError::ChainTooLong",
        json!({}),
    );
    up_bad(
        &mut g,
        "v2",
        &vec!["v2"; 257],
        "v1-bad-signature",
        "order: 257 intermediates and a rolled-back next with a broken signature: ChainTooLong first",
        &["Limit", "Rollback", "BadSignature"],
        "DeviceListError::ChainTooLong",
        json!({}),
    );
    f.push(g);

    // --- fork evidence
    let mut g = Group::new(
        "ForkEvidence",
        "Evidence of equivocation checks on its own (SPEC.md §3.5).",
    );
    let ev = fork_evidence(&ls.l2, &ls.l2_fork);
    g.valid(
        "two different version 2 lists",
        &["Fork"],
        json!({"evidence": hx(&ev), "account": hx(&alice.public), "version": 2}),
    );
    let ev3 = fork_evidence(&ls.l3, &ls.l3_fork);
    g.valid(
        "two different version 3 lists",
        &["Fork"],
        json!({"evidence": hx(&ev3), "account": hx(&alice.public), "version": 3}),
    );
    let fi = |g: &mut Group, e: &[u8], comment: &str, flags: &[&str], error: &str| {
        g.invalid(comment, flags, error, json!({"evidence": hx(e)}));
    };
    fi(
        &mut g,
        &fork_evidence(&ls.l1, &ls.l2),
        "versions 1 and 2",
        &["NotAFork"],
        "DeviceListError::NotAFork",
    );
    let bob_v2 = List {
        suite: 1,
        account: bob.public,
        version: 2,
        previous_hash: [9; 32],
        issued_at: NOW,
        certificates: vec![],
    }
    .signed(&bob.seed);
    fi(
        &mut g,
        &fork_evidence(&ls.l2, &bob_v2),
        "version 2 of two accounts",
        &["NotAFork"],
        "DeviceListError::NotAFork",
    );
    fi(
        &mut g,
        &fork_evidence(&ls.l2, &resigned),
        "the same contents under two valid signatures",
        &["NotAFork"],
        "DeviceListError::NotAFork",
    );
    let (x, y) = if ls.l2 <= ls.l2_fork {
        (&ls.l2, &ls.l2_fork)
    } else {
        (&ls.l2_fork, &ls.l2)
    };
    fi(
        &mut g,
        &raw_fork_evidence(y, x),
        "lists in descending byte order",
        &["NonCanonical"],
        "DecodeError::NonCanonical",
    );
    fi(
        &mut g,
        &raw_fork_evidence(x, x),
        "the same list twice",
        &["NotAFork", "NonCanonical"],
        "DecodeError::NonCanonical",
    );
    let forged_v2 = list(2, craft::list_hash(&ls.l1), vec![ac[1].clone()]).signed(&mallory.seed);
    fi(
        &mut g,
        &fork_evidence(&ls.l2, &forged_v2),
        "the second list is not signed by the account",
        &["BadSignature"],
        "DeviceListError::BadSignature",
    );
    fi(
        &mut g,
        &[ev.as_slice(), &[0]].concat(),
        "one trailing byte",
        &["TrailingBytes"],
        "DecodeError::TrailingBytes",
    );
    fi(
        &mut g,
        &ev[..ev.len() - 1],
        "one byte short",
        &["Truncated"],
        "DecodeError::Truncated",
    );
    fi(
        &mut g,
        &ev[..5],
        "inside the first length",
        &["Truncated"],
        "DecodeError::Truncated",
    );
    let mut huge = ev.clone();
    huge[2..6].copy_from_slice(&u32::MAX.to_be_bytes());
    fi(
        &mut g,
        &huge,
        "first length 2^32 - 1",
        &["Limit"],
        "DecodeError::OutOfRange",
    );
    fi(
        &mut g,
        &with(&ev, 0, 0x01),
        "wire version 0x01",
        &["Grease"],
        "DecodeError::UnsupportedVersion",
    );
    fi(
        &mut g,
        &with(&ev, 1, 0x02),
        "object type of a device list",
        &["Grease"],
        "DecodeError::WrongObjectType",
    );
    let mut inner = ev.clone();
    inner[2 + 4 + x.len() + 4] = 0xfa;
    fi(
        &mut g,
        &inner,
        "second list with wire version 0xfa",
        &["Grease"],
        "DecodeError::UnsupportedVersion",
    );
    g.valid(
        "a re-signed copy of version 2 and the other branch's version 2",
        &["Fork"],
        json!({"evidence": hx(&fork_evidence(&resigned, &ls.l2_fork)), "account": hx(&alice.public), "version": 2}),
    );

    // Decoding order (SPEC.md §3.5): prefix; a (<= 51,350); a bytes; b
    // (<= 51,350); b bytes; trailing bytes; byte order; then each list.
    let fif = |g: &mut Group, e: &[u8], comment: &str, flags: &[&str], error: &str, field: &str| {
        g.invalid(
            comment,
            flags,
            error,
            json!({"evidence": hx(e), "errorField": field}),
        );
    };
    let len_only = |a: u32| {
        let mut e = vec![2u8, 5];
        e.extend_from_slice(&a.to_be_bytes());
        e
    };
    fif(
        &mut g,
        &len_only(51_351),
        "first length 51,351 (one above DEVICE_LIST_MAX_LEN) and nothing after it: OutOfRange before Truncated",
        &["Limit", "Truncated"],
        "DecodeError::OutOfRange",
        "first list",
    );
    fi(
        &mut g,
        &len_only(51_350),
        "first length 51,350 (allowed) and nothing after it",
        &["Limit", "Truncated"],
        "DecodeError::Truncated",
    );
    fi(
        &mut g,
        &with(&with(&ev, 0, 0xfa), 1, 0x7f),
        "order: version 0xfa and object type 0x7f: the version first",
        &["Grease"],
        "DecodeError::UnsupportedVersion",
    );
    let mut second_huge = raw_fork_evidence(x, &[]);
    second_huge.truncate(second_huge.len() - 4);
    second_huge.extend_from_slice(&51_351u32.to_be_bytes());
    fif(
        &mut g,
        &second_huge,
        "second length 51,351 and nothing after it",
        &["Limit", "Truncated"],
        "DecodeError::OutOfRange",
        "second list",
    );
    // First list cut short (its bytes run into the second length): the
    // second length is never read.
    let mut cut_first = raw_fork_evidence(x, y);
    cut_first[2..6].copy_from_slice(
        &u32::try_from(x.len() + 4 + y.len() + 1)
            .unwrap()
            .to_be_bytes(),
    );
    fi(
        &mut g,
        &cut_first,
        "first length one more than every remaining byte",
        &["Truncated"],
        "DecodeError::Truncated",
    );
    let mut desc_trailing = raw_fork_evidence(y, x);
    desc_trailing.push(0);
    fi(
        &mut g,
        &desc_trailing,
        "order: lists in descending order and a trailing byte: TrailingBytes before the order check",
        &["TrailingBytes", "NonCanonical"],
        "DecodeError::TrailingBytes",
    );
    let bad_first = with(x, 0, 0xfa);
    let (p, q) = if bad_first.as_slice() <= y.as_slice() {
        (y.as_slice(), bad_first.as_slice())
    } else {
        (bad_first.as_slice(), y.as_slice())
    };
    fi(
        &mut g,
        &raw_fork_evidence(p, q),
        "order: descending order, one list with version 0xfa: the order check before decoding the lists",
        &["NonCanonical", "Grease"],
        "DecodeError::NonCanonical",
    );
    // Both lists fail to decode: the first one's error.
    let mut e1 = x.to_vec();
    e1[2..4].copy_from_slice(&0x0a0au16.to_be_bytes());
    let mut e2 = y.to_vec();
    e2[1] = 0x7f;
    let (p, q, want) = if e1 <= e2 {
        (&e1, &e2, "DecodeError::UnsupportedSuite")
    } else {
        (&e2, &e1, "DecodeError::WrongObjectType")
    };
    fi(
        &mut g,
        &raw_fork_evidence(p, q),
        "order: both lists fail to decode (suite 0x0a0a, object type 0x7f): the first list's error",
        &["Grease"],
        want,
    );
    let trailing_second = [x.as_slice(), &[0]].concat();
    fi(
        &mut g,
        &raw_fork_evidence(x, &trailing_second),
        "the second list is the first plus one byte: in order (a shorter prefix sorts first), then the second list has a trailing byte",
        &["TrailingBytes"],
        "DecodeError::TrailingBytes",
    );
    let mut nested_out = x.to_vec();
    nested_out[84..86].copy_from_slice(&300u16.to_be_bytes());
    let (p, q) = if nested_out.as_slice() <= y.as_slice() {
        (nested_out.as_slice(), y.as_slice())
    } else {
        (y.as_slice(), nested_out.as_slice())
    };
    fif(
        &mut g,
        &raw_fork_evidence(p, q),
        "a list with device count 300 inside the evidence",
        &["Limit"],
        "DecodeError::OutOfRange",
        "device count",
    );

    // Verification order: account, then version and contents, then the
    // first list, then the second.
    let bad_key_v3 = List {
        suite: 1,
        account: identity_key,
        version: 3,
        previous_hash: [9; 32],
        issued_at: NOW,
        certificates: vec![],
    }
    .signed(&alice.seed);
    fi(
        &mut g,
        &fork_evidence(&bad_key_v3, &bob_v2),
        "order: two accounts (one key invalid), two versions: NotAFork before any verification",
        &["NotAFork", "InvalidAccountKey"],
        "DeviceListError::NotAFork",
    );
    fi(
        &mut g,
        &fork_evidence(&bad_l2_any(&ls.l2), &ls.l3),
        "order: versions 2 (broken signature) and 3: NotAFork before verification",
        &["NotAFork", "BadSignature"],
        "DeviceListError::NotAFork",
    );
    fi(
        &mut g,
        &fork_evidence(&ls.l2, &bad_l2_any(&ls.l2)),
        "the same contents, one signature broken: NotAFork (equal list hashes) before verification",
        &["NotAFork", "BadSignature"],
        "DeviceListError::NotAFork",
    );
    // Both lists fail verification: the first one's error.
    let ghost_v2 = list(
        2,
        craft::list_hash(&ls.l1),
        vec![ac[0].clone(), bob_cert.clone()],
    )
    .signed(&alice.seed);
    let want = if forged_v2 <= ghost_v2 {
        "DeviceListError::BadSignature"
    } else {
        "DeviceListError::Certificate(CertificateError::WrongAccount)"
    };
    fi(
        &mut g,
        &fork_evidence(&forged_v2, &ghost_v2),
        "order: a version 2 signed by Mallory and one with a ghost of Bob: the first list's error",
        &["Ghost", "BadSignature"],
        want,
    );
    f.push(g);
    f.render()
}
