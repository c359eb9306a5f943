//! Constant-time check of fanseal's secret-handling steps under valgrind
//! memcheck (SECURITY.md, "Constant-time check"; run by `.ci/ct.sh`).
//!
//! Method (ctgrind): secret bytes are marked *undefined* with valgrind client
//! requests. Memcheck then reports every conditional jump ("Conditional jump
//! or move depends on uninitialised value(s)") and every memory address
//! ("Use of uninitialised value") computed from them: exactly the
//! secret-dependent branches and indices a timing or cache attacker exploits.
//! Outputs that are public by design are marked defined again by
//! [`valgrind::declassify`] here, each call commented; the few declassified
//! branches *inside* a step are listed, with reasons, in `ct/declassify.supp`.
//!
//! Modes:
//! * `library`: the library's steps. Must finish with no memcheck error.
//! * `planted-branch`: an early-exit byte comparison on a secret. Must be
//!   reported, or the check is blind.
//! * `planted-index`: a table lookup indexed by a secret byte. Must be
//!   reported, or the check is blind.
//! * `stack-scan` (natively, not under valgrind): after each public call
//!   that handles secrets, search the stack below the caller for them
//!   ([`stack_scan`]). Must find none.
//! * `stack-scan-planted` (natively): the same for `seal` and `open` run
//!   without their final stack scrub. Must find leftovers, or the scan is
//!   blind.
//!
//! Exit codes: 0 ok, 2 not under valgrind or bad usage, 3 a functional check
//! failed (a step did not accept or reject as expected), 4 the stack scan
//! found a secret (`stack-scan`) or found none (`stack-scan-planted`).
//! Memcheck errors give valgrind's `--error-exitcode`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod stack_scan;
mod valgrind;

use std::hint::black_box;
use std::process::ExitCode;

use fanseal::__ct;
use fanseal::{
    open, seal, AccountSecret, CertificateParams, DeviceCertificate, DeviceId, DeviceKeyring,
    DeviceSecret, Envelope, Message, Padding, Suite, SuitePolicy, VerifiedDeviceList,
    CAPABILITY_HYBRID, CAPABILITY_PREKEYS,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{Infallible, Rng, SeedableRng, TryCryptoRng, TryRng};

use valgrind::{declassify, is_fully_undefined, is_fully_undefined_raw, poison, poison_raw};

const NOW: u64 = 1_764_300_000_000;

fn main() -> ExitCode {
    let mode = std::env::args().nth(1).unwrap_or_default();
    if let Some(planted) = match mode.as_str() {
        "stack-scan" => Some(false),
        "stack-scan-planted" => Some(true),
        _ => None,
    } {
        return stack_scan_mode(planted);
    }
    if !valgrind::running_on_valgrind() {
        eprintln!("fanseal-ct: run me under `valgrind --tool=memcheck` (see .ci/ct.sh)");
        return ExitCode::from(2);
    }
    let ok = match mode.as_str() {
        "library" => library(),
        "planted-branch" => planted_branch(),
        "planted-index" => planted_index(),
        _ => {
            eprintln!(
                "usage: fanseal-ct library|planted-branch|planted-index|stack-scan|stack-scan-planted"
            );
            return ExitCode::from(2);
        }
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    }
}

// ------------------------------------------------------------ stack scan

/// Runs the stack scan on a thread with an 8 MiB stack (see [`stack_scan`]).
fn stack_scan_mode(planted: bool) -> ExitCode {
    let reports = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || stack_scan::run(!planted))
        .unwrap()
        .join()
        .unwrap();
    let mut found = 0;
    for r in &reports {
        println!(
            "  {:<36} stack used {:>6} bytes, {} leftover(s)",
            r.name,
            r.depth,
            r.hits.len()
        );
        for (what, depth) in &r.hits {
            println!("      {what} at {depth} bytes below the caller");
        }
        found += r.hits.len();
    }
    let ok = if planted { found > 0 } else { found == 0 };
    if !planted {
        // The cost of the scrub, against a whole seal (for scale; an X25519
        // costs about 40 µs on this machine).
        let runs = 20_000u32;
        let start = std::time::Instant::now();
        let mut bytes = 0;
        for _ in 0..runs {
            bytes = black_box(fanseal::__ct::scrub_stack());
        }
        let per = start.elapsed() / runs;
        println!("  stack scrub of {} KiB: {per:?} per call", bytes / 1024);
    }
    println!(
        "fanseal-ct {}: {found} secret(s) left on the stack",
        if planted {
            "stack-scan-planted"
        } else {
            "stack-scan"
        }
    );
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(4)
    }
}

// ------------------------------------------------------------ planted leaks

/// The leak every naive MAC check has: return at the first differing byte.
#[inline(never)]
fn leaky_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    for (x, y) in a.iter().zip(b) {
        if black_box(*x) != black_box(*y) {
            return false;
        }
    }
    true
}

fn planted_branch() -> bool {
    let secret = Box::new([0x5au8; 32]);
    poison(&*secret);
    assert!(is_fully_undefined(&*secret));
    let guess = [0x5au8; 32];
    let equal = leaky_eq(black_box(&*secret), &guess);
    declassify(&equal);
    println!("planted-branch: compared, equal = {equal}");
    equal
}

/// A secret-indexed table lookup (the cache-timing leak of table AES).
#[inline(never)]
fn leaky_lookup(table: &[u8; 256], index: u8) -> u8 {
    table[usize::from(black_box(index))]
}

fn planted_index() -> bool {
    let table: [u8; 256] = core::array::from_fn(|i| i as u8 ^ 0x63);
    let secret = Box::new([0x11u8; 1]);
    poison(&*secret);
    let out = leaky_lookup(&table, secret[0]);
    declassify(&out);
    println!("planted-index: looked up {out:#04x}");
    out == 0x72
}

// ------------------------------------------------------------ the library

/// Functional results: every step must accept or reject as expected, or the
/// run proves nothing about the path it claims to cover.
struct Checks {
    failed: usize,
}

impl Checks {
    fn expect(&mut self, ok: bool, what: &str) {
        if ok {
            println!("  ok    {what}");
        } else {
            println!("  FAIL  {what}");
            self.failed += 1;
        }
    }
}

/// An RNG whose output is secret except for the first `public_prefix` bytes
/// (seal draws the message id first: public by design).
struct PoisoningRng {
    inner: ChaCha20Rng,
    public_prefix: usize,
}

impl TryRng for PoisoningRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.inner.fill_bytes(dst);
        let public = self.public_prefix.min(dst.len());
        self.public_prefix -= public;
        poison(&dst[public..]);
        Ok(())
    }
}

impl TryCryptoRng for PoisoningRng {}

fn certify(
    account: &AccountSecret,
    device: &DeviceSecret,
    rng: &mut ChaCha20Rng,
) -> DeviceCertificate {
    account
        .certify_device(&CertificateParams {
            device_id: DeviceId::random(rng),
            keys: device.public_keys(),
            created_at: NOW,
            expires_at: None,
            capabilities: 0,
        })
        .unwrap()
}

/// Marks both secret keys of `device` undefined and checks that it took.
fn poison_device(device: &DeviceSecret) -> bool {
    __ct::secret_regions(device).iter().all(|&(addr, len)| {
        poison_raw(addr, len);
        is_fully_undefined_raw(addr, len)
    })
}

/// Byte offsets in an envelope with `n` recipients (SPEC.md §4.1–4.2).
struct Layout {
    ephemeral: usize,
    commitment: usize,
    wraps: usize,
    body: usize,
}

fn layout(envelope: &Envelope) -> Layout {
    let n = envelope.header().recipients().len();
    let header = 2 + 16 + 32 + 32 + 2 + 16 * n + 4;
    Layout {
        ephemeral: 2 + 2 + 16,
        commitment: 2 + 2 + 16 + 32,
        wraps: 2 + header,
        body: 2 + header + 48 * n,
    }
}

fn flipped(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut v = bytes.to_vec();
    v[at] ^= 0x01;
    v
}

/// Step 2b of [`library`]: the hybrid unwrap. Setup (public): another
/// account with two devices with `CAPABILITY_PREKEYS | CAPABILITY_HYBRID`,
/// each with one hybrid prekey, and a hybrid envelope the phone sealed to
/// them. Then the receiving device's X-Wing secrets are marked undefined.
fn hybrid_unwrap(
    c: &mut Checks,
    phone: &DeviceSecret,
    phone_cert: &DeviceCertificate,
    msg: &Message<'_>,
) {
    let mut rng = ChaCha20Rng::from_seed([0x48; 32]);
    let account = AccountSecret::generate(&mut rng);
    let mut keyrings = Vec::new();
    let mut certs = Vec::new();
    for _ in 0..2 {
        let device = DeviceSecret::generate(&mut rng);
        let cert = account
            .certify_device(&CertificateParams {
                device_id: DeviceId::random(&mut rng),
                keys: device.public_keys(),
                created_at: NOW,
                expires_at: None,
                capabilities: CAPABILITY_PREKEYS | CAPABILITY_HYBRID,
            })
            .unwrap();
        certs.push(cert.clone());
        keyrings.push(Box::new(DeviceKeyring::new(device, cert).unwrap()));
    }
    let list = account
        .issue_device_list(None, NOW, certs)
        .unwrap()
        .verify(&account.public_key())
        .unwrap();
    let prekeys: Vec<_> = keyrings
        .iter_mut()
        .map(|k| {
            let p = k.rotate_hybrid_prekey(NOW, &mut rng).unwrap();
            list.verify_prekey(&p, NOW).unwrap()
        })
        .collect();
    let refs: Vec<_> = prekeys.iter().collect();
    let hybrid_msg = Message {
        suite: SuitePolicy::RequireHybrid,
        ..*msg
    };
    // seal draws: message id (16 bytes), message secret (32), then per wrap
    // the X-Wing encapsulation randomness.
    let mut replay = rng.clone();
    let mut expected_secret = [0u8; 32];
    replay.fill_bytes(&mut [0u8; 16]);
    replay.fill_bytes(&mut expected_secret);
    let envelope = seal(
        phone,
        phone_cert,
        &[&list],
        &refs,
        &hybrid_msg,
        NOW,
        &mut rng,
    )
    .unwrap();
    c.expect(
        envelope.header().suite() == Suite::Hybrid,
        "the hybrid envelope is sealed with suite 0x0002",
    );
    let bytes = envelope.to_bytes();
    let device = &keyrings[0];
    let key_id = prekeys[0].key_id();
    let index = envelope
        .header()
        .recipients()
        .iter()
        .position(|k| *k == key_id)
        .unwrap();
    let n = envelope.header().recipients().len();
    // Hybrid layout (SPEC.md §4.2): no shared enc; 1,168-byte wraps.
    let wraps = 2 + 2 + 16 + 32 + 2 + 16 * n + 4;
    let wrap = wraps + 1168 * index;

    println!("secrets marked undefined: the receiving device's X-Wing secret (seed)");
    let regions = __ct::hybrid_secret_regions(device);
    c.expect(
        regions.len() == 1
            && regions.iter().all(|&(addr, len)| {
                poison_raw(addr, len);
                is_fully_undefined_raw(addr, len)
            }),
        "the X-Wing secret is undefined",
    );
    c.expect(
        poison_device(device.secret()),
        "its device keys are undefined too",
    );
    c.expect(
        __ct::key_id_lookup(device, &bytes) == Some(index),
        "hybrid key id lookup finds the wrap",
    );
    let secret = __ct::unwrap(device, &bytes);
    c.expect(secret.is_some(), "hybrid unwrap accepts the genuine wrap");
    if let Some(secret) = secret {
        c.expect(
            is_fully_undefined(&*secret),
            "the hybrid message secret stays undefined",
        );
        let copy = *secret;
        declassify(&copy);
        c.expect(
            copy == expected_secret,
            "hybrid unwrap returns the sealed message secret",
        );
        let ok = __ct::commitment_check(&secret, &bytes);
        declassify(&ok);
        c.expect(ok == Some(true), "hybrid commitment check accepts");
    }
    // Failure paths: the ML-KEM ciphertext changed (implicit rejection, then
    // the AEAD fails), the X25519 ciphertext changed, a low-order X25519
    // ciphertext (all-zero DH: rejected), the AEAD part changed.
    let mlkem = flipped(&bytes, wrap + 100);
    c.expect(
        __ct::unwrap(device, &mlkem).is_none(),
        "hybrid unwrap rejects a changed ML-KEM ciphertext (implicit rejection)",
    );
    let x25519 = flipped(&bytes, wrap + 1088 + 3);
    c.expect(
        __ct::unwrap(device, &x25519).is_none(),
        "hybrid unwrap rejects a changed X25519 ciphertext",
    );
    let mut low_order = bytes.clone();
    low_order[wrap + 1088..wrap + 1120].fill(0);
    c.expect(
        __ct::unwrap(device, &low_order).is_none(),
        "hybrid unwrap rejects a low-order X25519 ciphertext (all-zero DH)",
    );
    let aead = flipped(&bytes, wrap + 1120 + 5);
    c.expect(
        __ct::unwrap(device, &aead).is_none(),
        "hybrid unwrap rejects a changed wrap",
    );
}

fn library() -> bool {
    let mut c = Checks { failed: 0 };
    let mut rng = ChaCha20Rng::from_seed([0xc7; 32]);

    // Setup, all public (defined): one account, a sending phone and two
    // receiving devices, a verified list, one sealed envelope.
    let account = AccountSecret::generate(&mut rng);
    let phone = Box::new(DeviceSecret::generate(&mut rng));
    let laptop = Box::new(DeviceSecret::generate(&mut rng));
    let tablet = Box::new(DeviceSecret::generate(&mut rng));
    let certs: Vec<DeviceCertificate> = [&phone, &laptop, &tablet]
        .iter()
        .map(|d| certify(&account, d, &mut rng))
        .collect();
    let list: VerifiedDeviceList = account
        .issue_device_list(None, NOW, certs.clone())
        .unwrap()
        .verify(&account.public_key())
        .unwrap();
    let payload: Vec<u8> = (0..100u8).collect();
    let msg = Message {
        payload: &payload,
        aad: b"conversation 7",
        padding: Padding::Padme,
        ..Message::default()
    };
    // seal draws: message id (16 bytes), message secret (32), ephemeral (32).
    let mut replay = rng.clone();
    let mut expected_secret = [0u8; 32];
    replay.fill_bytes(&mut [0u8; 16]);
    replay.fill_bytes(&mut expected_secret);
    let envelope = seal(&phone, &certs[0], &[&list], &[], &msg, NOW, &mut rng).unwrap();
    let bytes = envelope.to_bytes();
    // What `open` takes: each receiving device's keys bound to its certificate.
    let laptop = Box::new(DeviceKeyring::new(*laptop, certs[1].clone()).unwrap());
    let tablet = Box::new(DeviceKeyring::new(*tablet, certs[2].clone()).unwrap());
    let at = layout(&envelope);
    let laptop_index = envelope
        .header()
        .recipients()
        .iter()
        .position(|k| *k == laptop.key_id())
        .unwrap();
    let reference_signature = __ct::sign(&phone, b"transcript digest");

    println!("secrets marked undefined: receiving device keys");
    c.expect(
        poison_device(laptop.secret()),
        "laptop's secret keys are undefined",
    );

    // 1. Key id lookup: public (the header and the device's key id) even
    //    with the device's secret keys undefined.
    let found = __ct::key_id_lookup(&laptop, &bytes);
    c.expect(found == Some(laptop_index), "key id lookup finds the wrap");

    // 2. Unwrap (DHKEM decap, HPKE key schedule, AES-GCM open of the wrap).
    let secret = __ct::unwrap(&laptop, &bytes);
    c.expect(secret.is_some(), "unwrap accepts the genuine wrap");
    let secret = secret.unwrap();
    c.expect(
        is_fully_undefined(&*secret),
        "the message secret stays undefined",
    );
    {
        // Test-only declassification of a copy, to check the value.
        let copy = *secret;
        declassify(&copy);
        c.expect(
            copy == expected_secret,
            "unwrap returns the sealed message secret",
        );
    }
    let tampered_wrap = flipped(&bytes, at.wraps + 48 * laptop_index + 3);
    c.expect(
        __ct::unwrap(&laptop, &tampered_wrap).is_none(),
        "unwrap rejects a tampered wrap (tag failure path)",
    );
    let tampered_tag = flipped(&bytes, at.wraps + 48 * laptop_index + 40);
    c.expect(
        __ct::unwrap(&laptop, &tampered_tag).is_none(),
        "unwrap rejects a tampered wrap tag",
    );
    let mut low_order = bytes.clone();
    low_order[at.ephemeral..at.ephemeral + 32].fill(0);
    c.expect(
        __ct::unwrap(&laptop, &low_order).is_none(),
        "unwrap rejects a low-order ephemeral key (all-zero DH)",
    );

    // 2b. Hybrid unwrap (suite 0x0002, SPEC.md §4.5): X-Wing decapsulation
    //     (SHAKE256 expansion of the seed into the ML-KEM-768 and X25519
    //     keys, ML-KEM decapsulation with its re-encryption and implicit
    //     rejection, X25519, the SHA3-256 combiner), the HPKE key schedule and
    //     the AES-GCM open of the wrap, with the receiving device's X-Wing
    //     seed undefined; the message secret must come out undefined.
    hybrid_unwrap(&mut c, &phone, &certs[0], &msg);

    // 3. Key commitment check, with the message secret undefined. The
    //    accept bit is public by design (open branches on it): declassified.
    let ok = __ct::commitment_check(&secret, &bytes);
    declassify(&ok);
    c.expect(ok == Some(true), "commitment check accepts");
    let bad_commitment = flipped(&bytes, at.commitment + 5);
    let ok = __ct::commitment_check(&secret, &bad_commitment);
    declassify(&ok);
    c.expect(
        ok == Some(false),
        "commitment check rejects a changed commitment",
    );
    let mut wrong_secret = *secret;
    wrong_secret[0] ^= 0x80;
    poison(&wrong_secret);
    let ok = __ct::commitment_check(&wrong_secret, &bytes);
    declassify(&ok);
    c.expect(ok == Some(false), "commitment check rejects another secret");

    // 4. Body decryption, success and failure paths, secret undefined. The
    //    AEAD's accept bit is public by design (open fails on it):
    //    declassified.
    let body_accepts = |secret: &[u8; 32], bytes: &[u8]| {
        let (accepted, plain) = __ct::open_body(secret, bytes)?;
        declassify(&accepted);
        Some((accepted, plain))
    };
    let opened = body_accepts(&secret, &bytes);
    c.expect(matches!(opened, Some((true, _))), "body decryption accepts");
    let tampered_body = flipped(&bytes, at.body + 7);
    c.expect(
        matches!(body_accepts(&secret, &tampered_body), Some((false, _))),
        "body decryption rejects a tampered ciphertext",
    );
    let tampered_body_tag = flipped(&bytes, bytes.len() - 1);
    c.expect(
        matches!(body_accepts(&secret, &tampered_body_tag), Some((false, _))),
        "body decryption rejects a tampered tag",
    );
    c.expect(
        matches!(body_accepts(&wrong_secret, &bytes), Some((false, _))),
        "body decryption rejects another message secret",
    );

    // 5. Padding removal on the decrypted body, which is undefined (derived
    //    from the secret). Declassified: the two length fields only. The
    //    receiving device's own work depends on them anyway (it copies and
    //    hashes the payload); padding hides lengths from the relay, not from
    //    the recipient's own timing. Certificate, AAD, payload, signature
    //    and padding bytes stay undefined.
    let plain = opened.unwrap().1;
    c.expect(
        is_fully_undefined(plain.as_slice()),
        "decrypted body is undefined",
    );
    let field = |plain: &[u8], at: usize, n: usize| -> usize {
        declassify(&plain[at..at + n]);
        plain[at..at + n]
            .iter()
            .fold(0usize, |acc, b| acc << 8 | usize::from(*b))
    };
    // Wire v2 body: certificate (200 bytes) || u64 timestamp || u32 aad
    // length || aad || u32 payload length || payload || signature || padding.
    let aad_at = 200 + 8;
    let aad_len = field(&plain, aad_at, 4);
    let payload_at = aad_at + 4 + aad_len;
    let payload_len = field(&plain, payload_at, 4);
    let padding_at = payload_at + 4 + payload_len + 64;
    c.expect(
        payload_len == payload.len() && padding_at < plain.len(),
        "body layout as sealed, with padding",
    );
    c.expect(
        __ct::remove_padding(&plain),
        "padding removal accepts zero padding",
    );
    let mut bad_padding = plain.to_vec();
    let last = bad_padding.len() - 1;
    bad_padding[last] = 0x01;
    poison(&bad_padding[last]);
    c.expect(
        !__ct::remove_padding(&bad_padding),
        "padding removal rejects a non-zero padding byte",
    );

    // 6. Signing with the phone's keys undefined. The signature is public by
    //    design: declassified, then checked against the one made in the clear
    //    (Ed25519 is deterministic).
    c.expect(poison_device(&phone), "phone's secret keys are undefined");
    let signature = __ct::sign(&phone, b"transcript digest");
    declassify(&signature);
    c.expect(
        signature == reference_signature,
        "signing gives the same signature",
    );

    // 7. A whole seal with the sender's keys (still undefined), the message
    //    secret and the ephemeral key undefined (the RNG poisons all but the
    //    16-byte message id). The envelope is public by design: its bytes are
    //    declassified, then opened in the clear by the tablet.
    let mut secret_rng = PoisoningRng {
        inner: ChaCha20Rng::from_seed([0x5e; 32]),
        public_prefix: 16,
    };
    let sealed = seal(&phone, &certs[0], &[&list], &[], &msg, NOW, &mut secret_rng);
    c.expect(
        sealed.is_ok(),
        "seal succeeds with secret randomness and keys",
    );
    if let Ok(sealed) = sealed {
        let out = sealed.to_bytes();
        declassify(out.as_slice());
        let opened = open(&tablet, &out, std::slice::from_ref(&list), NOW);
        c.expect(
            opened.as_ref().map(|o| o.payload()) == Ok(payload.as_slice()),
            "the tablet opens that envelope",
        );
    }

    // 8. Key generation and the account key's signing, from secret bytes.
    //    The public keys, the key id and the certificate are public by
    //    design: declassified (copies), then compared with the clear run.
    let mut key_bytes = [0u8; 64];
    ChaCha20Rng::from_seed([0x6b; 32]).fill_bytes(&mut key_bytes);
    let clear_device = DeviceSecret::from_secret_bytes(&key_bytes);
    let mut seed = [0u8; 32];
    ChaCha20Rng::from_seed([0x6c; 32]).fill_bytes(&mut seed);
    let clear_account = AccountSecret::from_secret_seed(&seed);
    let clear_cert = certify(
        &clear_account,
        &clear_device,
        &mut ChaCha20Rng::from_seed([1; 32]),
    );
    poison(&key_bytes);
    poison(&seed);
    let device = DeviceSecret::from_secret_bytes(&key_bytes);
    let account = AccountSecret::from_secret_seed(&seed);
    let public = device.public_keys();
    declassify(&public);
    c.expect(
        public == clear_device.public_keys(),
        "device key generation gives the same public keys",
    );
    let account_public = account.public_key();
    declassify(&account_public);
    c.expect(
        account_public == clear_account.public_key(),
        "account key generation gives the same public key",
    );
    let cert = certify(
        &account,
        &clear_device,
        &mut ChaCha20Rng::from_seed([1; 32]),
    )
    .to_bytes();
    declassify(cert.as_slice());
    c.expect(
        cert == clear_cert.to_bytes(),
        "certifying a device with the account key gives the same certificate",
    );

    println!(
        "fanseal-ct library: {} functional check(s) failed",
        c.failed
    );
    c.failed == 0
}
