//! Stack scan (SECURITY.md, "Zeroization"): after each public call that
//! handles secrets, are any of the secrets it held or derived still in the
//! stack memory below the caller?
//!
//! Method. The cases run on a thread of their own with an 8 MiB stack.
//! Right before each call, [`observe`] writes a marker byte over the [`SCAN`]
//! bytes below its stack pointer (dead memory: nothing lives below the stack
//! pointer but the 128-byte red zone, which is skipped). The call then runs
//! in a non-inlined frame below, and right after it the same region is
//! copied to a buffer allocated beforehand (no call, no allocation in
//! between, so nothing else writes there). The
//! snapshot is then searched for every secret the call had: the keys used
//! and their clamped and expanded forms, and every value derived from the
//! message secret and the ephemeral key, computed independently by
//! `fanseal::__ct::*_needles` (the RNG records what it hands out, so the
//! harness knows the message secret and the ephemeral key). Any exact match
//! of a 32-byte secret or 12-byte nonce is a leftover.
//!
//! Why the region is valid to read and write: a spawned thread's stack is
//! one `mmap` of its full size (glibc `allocate_stack`), readable and
//! writable, with the guard page at its low end. The scan starts a few
//! hundred bytes below the top of that 8 MiB mapping and covers 256 KiB, so
//! it stays inside the mapping. The accesses are `rep stosb` / `rep movsb`
//! in inline assembly, outside the Rust memory model (the region belongs to
//! no Rust object).
//!
//! Each case also reports how deep below the caller it wrote ("stack used",
//! from the marker): how `STACK_SCRUB_BYTES` in `src/primitives.rs` was
//! chosen. With the scrub in place the figure is the scrub's own size
//! (16 KiB release, 128 KiB debug) plus its frame; the unscrubbed `stack-scan-planted` run shows the calls' own
//! depth. `FANSEAL_CT_PAGES=1` prints where in the region the writes are.
//!
//! Limits: secrets in registers, in the caller's own frame (values it moves
//! after the call returns) and on the heap are not looked at; a secret split
//! across non-adjacent slots, or transformed (reduced scalars, AES round
//! keys), is not matched.

use std::arch::asm;
use std::hint::black_box;

use fanseal::__ct::{self, Needle};
use fanseal::{
    AccountSecret, CertificateParams, DeviceCertificate, DeviceId, DeviceKeyring, DeviceSecret,
    Message, Padding, VerifiedDeviceList,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{Infallible, Rng, SeedableRng, TryCryptoRng, TryRng};

/// Bytes scanned below the caller's stack pointer.
pub const SCAN: usize = 256 * 1024;
/// Skipped just below the stack pointer: the System V red zone.
const RED_ZONE: usize = 128;
const MARK: u8 = 0xa5;

/// The stack pointer of the calling frame.
#[inline(always)]
fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads a register.
    unsafe { asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
    sp
}

/// Writes `MARK` over the `SCAN` bytes below `top - RED_ZONE`.
#[inline(always)]
fn fill_below(top: usize) {
    // SAFETY: `top` is the stack pointer of the (live) calling frame: the
    // region below it minus the red zone is dead memory inside the thread's
    // mapped stack (see module docs).
    unsafe {
        asm!(
            "rep stosb",
            in("al") MARK,
            inout("rcx") SCAN => _,
            inout("rdi") top - SCAN - RED_ZONE => _,
            options(nostack),
        );
    }
}

/// Copies the `SCAN` bytes below `top - RED_ZONE` into `buf` (index 0 is the
/// lowest address, the deepest stack).
#[inline(always)]
fn snapshot(top: usize, buf: &mut [u8]) {
    assert_eq!(buf.len(), SCAN);
    // SAFETY: reads the region `fill_below` wrote (mapped, dead); writes
    // `buf`, which is `SCAN` bytes long.
    unsafe {
        asm!(
            "rep movsb",
            inout("rdi") buf.as_mut_ptr() => _,
            inout("rcx") SCAN => _,
            inout("rsi") top - SCAN - RED_ZONE => _,
            options(nostack),
        );
    }
}

/// Runs `f` in a frame of its own, below this one.
#[inline(never)]
fn call<T>(f: impl FnOnce() -> T) -> T {
    black_box(f())
}

/// Fills, calls, snapshots: the fill and the snapshot cover exactly the same
/// bytes (below this frame's stack pointer, read once). The result is kept
/// (dropped by the caller after the snapshot).
#[inline(never)]
fn observe<T>(buf: &mut [u8], f: impl FnOnce() -> T) -> T {
    assert_eq!(buf.len(), SCAN);
    let top = stack_pointer();
    fill_below(top);
    let out = call(f);
    snapshot(top, buf);
    out
}

/// How deep below the caller the call wrote (bytes), from the marker.
fn depth(buf: &[u8]) -> usize {
    buf.iter()
        .position(|&b| b != MARK)
        .map_or(0, |i| SCAN - i + RED_ZONE)
}

/// Every needle found in `buf`, with its depth below the caller.
fn find(buf: &[u8], needles: &[Needle]) -> Vec<(&'static str, usize)> {
    let mut hits = Vec::new();
    for (name, n) in needles {
        if n.iter().all(|&b| b == 0) || n.len() > buf.len() {
            continue;
        }
        for (i, w) in buf.windows(n.len()).enumerate() {
            if w[0] == n[0] && w == n.as_slice() {
                hits.push((*name, SCAN - i + RED_ZONE));
            }
        }
    }
    hits
}

/// A ChaCha20 RNG that records what it hands out (to know the message secret
/// and the ephemeral key `seal` drew).
struct RecordingRng {
    inner: ChaCha20Rng,
    drawn: Vec<u8>,
}

impl TryRng for RecordingRng {
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
        self.drawn.extend_from_slice(dst);
        Ok(())
    }
}

impl TryCryptoRng for RecordingRng {}

fn recording(seed: u8) -> RecordingRng {
    RecordingRng {
        inner: ChaCha20Rng::from_seed([seed; 32]),
        drawn: Vec::with_capacity(4096),
    }
}

const NOW: u64 = 1_764_300_000_000;

fn params(device: &DeviceSecret, id: u8) -> CertificateParams {
    CertificateParams {
        device_id: DeviceId::from_bytes([id; 16]),
        keys: device.public_keys(),
        created_at: NOW,
        expires_at: None,
        capabilities: 0,
    }
}

struct World {
    account: Box<AccountSecret>,
    phone: Box<DeviceSecret>,
    laptop: Box<DeviceSecret>,
    certs: Vec<DeviceCertificate>,
    list: VerifiedDeviceList,
    /// The laptop's keys bound to its certificate (what `open` takes).
    laptop_keyring: Box<DeviceKeyring>,
}

fn world() -> World {
    let mut rng = ChaCha20Rng::from_seed([0x5c; 32]);
    let account = Box::new(AccountSecret::generate(&mut rng));
    let phone = Box::new(DeviceSecret::generate(&mut rng));
    let laptop = Box::new(DeviceSecret::generate(&mut rng));
    let certs: Vec<DeviceCertificate> = [(&phone, 1), (&laptop, 2)]
        .iter()
        .map(|(d, id)| account.certify_device(&params(d, *id)).unwrap())
        .collect();
    let list = account
        .issue_device_list(None, NOW, certs.clone())
        .unwrap()
        .verify(&account.public_key())
        .unwrap();
    let laptop_keyring = Box::new(
        DeviceKeyring::new(
            DeviceSecret::from_secret_bytes(&laptop.export_secret_bytes()),
            certs[1].clone(),
        )
        .unwrap(),
    );
    World {
        account,
        phone,
        laptop,
        certs,
        list,
        laptop_keyring,
    }
}

/// One case's outcome: name, stack depth reached, leftovers found.
pub struct Report {
    pub name: &'static str,
    pub depth: usize,
    pub hits: Vec<(&'static str, usize)>,
}

fn report(name: &'static str, buf: &[u8], needles: &[Needle]) -> Report {
    if std::env::var_os("FANSEAL_CT_PAGES").is_some() {
        let pages: Vec<usize> = buf
            .chunks(1024)
            .map(|c| c.iter().filter(|&&b| b != MARK).count())
            .collect();
        eprintln!("{name}: non-marker bytes per KiB, deepest first: {pages:?}");
        let first: Vec<(usize, u8)> = buf
            .iter()
            .enumerate()
            .filter(|(_, &b)| b != MARK)
            .take(10)
            .map(|(i, &b)| (SCAN - i + RED_ZONE, b))
            .collect();
        eprintln!("{name}: deepest writes (depth, byte): {first:?}");
    }
    Report {
        name,
        depth: depth(buf),
        hits: find(buf, needles),
    }
}

/// Runs every case. `scrubbed == false` runs `seal` and `open` through the
/// `__ct::*_unscrubbed` hooks (the planted leak).
pub fn run(scrubbed: bool) -> Vec<Report> {
    let w = world();
    let mut buf = vec![0u8; SCAN];
    let mut out = Vec::new();
    let payload: Vec<u8> = (0..100u8).collect();
    let msg = Message {
        payload: &payload,
        aad: b"conversation 7",
        padding: Padding::Padme,
        ..Message::default()
    };
    let recipients: Vec<[u8; 32]> = [&w.phone, &w.laptop]
        .iter()
        .map(|d| d.public_keys().x25519)
        .collect();

    // seal: the sender's keys, the message secret, the ephemeral key and
    // everything derived from them.
    let mut rng = recording(0x71);
    let envelope = observe(&mut buf, || {
        if scrubbed {
            fanseal::seal(&w.phone, &w.certs[0], &[&w.list], &[], &msg, NOW, &mut rng)
        } else {
            __ct::seal_unscrubbed(&w.phone, &w.certs[0], &[&w.list], &[], &msg, NOW, &mut rng)
        }
    })
    .unwrap();
    let bytes = envelope.to_bytes();
    // seal draws: message id (16 bytes), message secret (32), ephemeral (32).
    let secret: [u8; 32] = rng.drawn[16..48].try_into().unwrap();
    let ephemeral: [u8; 32] = rng.drawn[48..80].try_into().unwrap();
    let mut needles = __ct::envelope_needles(&secret, &ephemeral, &recipients, &bytes).unwrap();
    needles.extend(__ct::device_needles(&w.phone));
    out.push(report(
        if scrubbed {
            "seal"
        } else {
            "seal (unscrubbed, planted)"
        },
        &buf,
        &needles,
    ));

    // open: the receiving device's keys, the message secret and everything
    // derived from it for that device (the sender-only values, such as the
    // ephemeral key, are searched too and must be absent anyway).
    let directory = std::slice::from_ref(&w.list);
    let opened = observe(&mut buf, || {
        if scrubbed {
            fanseal::open(&w.laptop_keyring, &bytes, directory, NOW)
        } else {
            __ct::open_unscrubbed(&w.laptop_keyring, &bytes, directory, NOW)
        }
    });
    assert_eq!(opened.unwrap().payload(), payload.as_slice());
    let mut needles = __ct::envelope_needles(&secret, &ephemeral, &recipients, &bytes).unwrap();
    needles.extend(__ct::device_needles(&w.laptop));
    out.push(report(
        if scrubbed {
            "open"
        } else {
            "open (unscrubbed, planted)"
        },
        &buf,
        &needles,
    ));
    if !scrubbed {
        return out;
    }

    // Key generation, import and export: the key bytes, clamped and
    // expanded. The new key is dropped inside the call (it wipes itself), so
    // what remains is what the library left.
    let mut rng = ChaCha20Rng::from_seed([0x72; 32]);
    let again = rng.clone();
    let public = observe(&mut buf, || DeviceSecret::generate(&mut rng).public_keys());
    let device = DeviceSecret::generate(&mut again.clone());
    assert_eq!(device.public_keys(), public);
    out.push(report(
        "DeviceSecret::generate",
        &buf,
        &__ct::device_needles(&device),
    ));

    let exported = device.export_secret_bytes();
    let public = observe(&mut buf, || {
        DeviceSecret::from_secret_bytes(&exported).public_keys()
    });
    assert_eq!(device.public_keys(), public);
    out.push(report(
        "DeviceSecret::from_secret_bytes",
        &buf,
        &__ct::device_needles(&device),
    ));

    observe(&mut buf, || drop(black_box(device.export_secret_bytes())));
    out.push(report(
        "DeviceSecret::export_secret_bytes",
        &buf,
        &__ct::device_needles(&device),
    ));

    let mut rng = ChaCha20Rng::from_seed([0x73; 32]);
    let again = rng.clone();
    let public = observe(&mut buf, || AccountSecret::generate(&mut rng).public_key());
    let account = AccountSecret::generate(&mut again.clone());
    assert_eq!(account.public_key(), public);
    out.push(report(
        "AccountSecret::generate",
        &buf,
        &__ct::account_needles(&account),
    ));

    let seed = account.export_secret_seed();
    let public = observe(&mut buf, || {
        AccountSecret::from_secret_seed(&seed).public_key()
    });
    assert_eq!(account.public_key(), public);
    out.push(report(
        "AccountSecret::from_secret_seed",
        &buf,
        &__ct::account_needles(&account),
    ));

    observe(&mut buf, || drop(black_box(account.export_secret_seed())));
    out.push(report(
        "AccountSecret::export_secret_seed",
        &buf,
        &__ct::account_needles(&account),
    ));

    // Signing with the account key.
    let cert = observe(&mut buf, || {
        w.account.certify_device(&params(&device, 3)).unwrap()
    });
    out.push(report(
        "AccountSecret::certify_device",
        &buf,
        &__ct::account_needles(&w.account),
    ));

    let mut certs = w.certs.clone();
    certs.push(cert);
    let list = observe(&mut buf, || {
        w.account.issue_device_list(None, NOW + 1, certs).unwrap()
    });
    drop(list);
    out.push(report(
        "AccountSecret::issue_device_list",
        &buf,
        &__ct::account_needles(&w.account),
    ));
    out
}
