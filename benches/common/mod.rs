//! Shared bench fixture: one sending device and `n` recipient devices spread
//! over recipient accounts of at most 64 devices each, with verified device
//! lists, built from a seeded RNG so every run benches the same keys.
//!
//! Included by `benches/*.rs` of this crate and by `peers/benches/peers.rs`
//! (through `#[path]`), so fanseal and the peers seal the same message to the
//! same number of devices.

#![allow(dead_code)]

use fanseal::{
    open, seal, AccountSecret, CertificateParams, DeviceCertificate, DeviceId, DeviceKeyring,
    DeviceList, DeviceSecret, Envelope, Message, Opened, Padding, VerifiedDeviceList,
    VerifiedPrekey,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// The callers' clock for every bench (Unix ms).
pub(crate) const NOW: u64 = 1_764_300_000_000;
/// Devices per recipient account (a list holds at most 256).
pub(crate) const DEVICES_PER_ACCOUNT: usize = 64;
/// The caller associated data of every benched message.
pub(crate) const AAD: &[u8] = b"conversation:bench";

/// Payload sizes of the size groups: 64 B, 1 KiB, 64 KiB, 1 MiB.
pub(crate) const SIZES: [usize; 4] = [64, 1024, 64 * 1024, 1024 * 1024];
/// Device counts of the fan-out groups.
pub(crate) const DEVICE_COUNTS: [usize; 5] = [1, 2, 8, 64, 512];
/// The payload size of the fan-out groups and of the peers.
pub(crate) const FANOUT_PAYLOAD: usize = 1024;

/// A deterministic RNG for bench fixtures and for the randomness that
/// `seal` draws inside the timed loop.
pub(crate) fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

/// A payload of `len` bytes (content is irrelevant to the cost).
pub(crate) fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Certifies `count` fresh devices of `account`.
pub(crate) fn enroll(
    account: &AccountSecret,
    count: usize,
    rng: &mut ChaCha20Rng,
) -> Vec<(DeviceSecret, DeviceCertificate)> {
    enroll_with(account, count, 0, rng)
}

/// Certifies `count` fresh devices of `account` with `capabilities`.
pub(crate) fn enroll_with(
    account: &AccountSecret,
    count: usize,
    capabilities: u32,
    rng: &mut ChaCha20Rng,
) -> Vec<(DeviceSecret, DeviceCertificate)> {
    (0..count)
        .map(|_| {
            let secret = DeviceSecret::generate(rng);
            let cert = account
                .certify_device(&CertificateParams {
                    device_id: DeviceId::random(rng),
                    keys: secret.public_keys(),
                    created_at: NOW - 1000,
                    expires_at: None,
                    capabilities,
                })
                .expect("certify");
            (secret, cert)
        })
        .collect()
}

/// An account with `count` devices and its signed (unverified) list.
pub(crate) fn account_with_list(
    count: usize,
    rng: &mut ChaCha20Rng,
) -> (AccountSecret, Vec<DeviceKeyring>, DeviceList) {
    account_with_list_caps(count, 0, rng)
}

/// An account with `count` devices certified with `capabilities`.
pub(crate) fn account_with_list_caps(
    count: usize,
    capabilities: u32,
    rng: &mut ChaCha20Rng,
) -> (AccountSecret, Vec<DeviceKeyring>, DeviceList) {
    let account = AccountSecret::generate(rng);
    let devices = enroll_with(&account, count, capabilities, rng);
    let certs = devices.iter().map(|(_, c)| c.clone()).collect();
    let list = account
        .issue_device_list(None, NOW - 1000, certs)
        .expect("issue list");
    let keyrings = devices
        .into_iter()
        .map(|(s, c)| DeviceKeyring::new(s, c).expect("keyring"))
        .collect();
    (account, keyrings, list)
}

/// One sender, `n` recipient devices.
pub(crate) struct Fixture {
    /// The sending device.
    pub(crate) sender: DeviceSecret,
    /// Its certificate.
    pub(crate) sender_cert: DeviceCertificate,
    /// The sender account's verified list (for `open`'s directory).
    pub(crate) sender_list: VerifiedDeviceList,
    /// Recipient accounts' verified lists.
    pub(crate) lists: Vec<VerifiedDeviceList>,
    /// Every recipient device, in list order, each with one signed prekey.
    pub(crate) devices: Vec<DeviceKeyring>,
    /// Every recipient device's prekey, verified against its list (as a
    /// sender holds them after fetching them once).
    pub(crate) prekeys: Vec<VerifiedPrekey>,
}

impl Fixture {
    /// Builds the fixture deterministically.
    pub(crate) fn new(n: usize) -> Self {
        Self::build(n, false)
    }

    /// The same shape with every recipient device certified with
    /// `CAPABILITY_PREKEYS | CAPABILITY_HYBRID` and holding a classical and a
    /// hybrid prekey: [`Fixture::seal_to_prekeys`] then seals with the
    /// hybrid suite (SPEC.md §4.10).
    pub(crate) fn new_hybrid(n: usize) -> Self {
        Self::build(n, true)
    }

    fn build(n: usize, hybrid: bool) -> Self {
        let caps = if hybrid {
            fanseal::CAPABILITY_PREKEYS | fanseal::CAPABILITY_HYBRID
        } else {
            0
        };
        let mut rng = rng(n as u8 ^ 0x5a);
        let sender_account = AccountSecret::generate(&mut rng);
        let mut sender_devices = enroll(&sender_account, 1, &mut rng);
        let (sender, sender_cert) = sender_devices.pop().expect("one device");
        let sender_list = sender_account
            .issue_device_list(None, NOW - 1000, vec![sender_cert.clone()])
            .expect("sender list")
            .verify(&sender_account.public_key())
            .expect("verify sender list");
        let mut lists = Vec::new();
        let mut devices = Vec::new();
        let mut prekeys = Vec::new();
        let mut left = n;
        while left > 0 {
            let take = left.min(DEVICES_PER_ACCOUNT);
            let (account, mut secrets, list) = account_with_list_caps(take, caps, &mut rng);
            let list = list.verify(&account.public_key()).expect("verify list");
            for keyring in &mut secrets {
                let prekey = keyring.rotate_prekey(NOW - 1000, &mut rng).expect("prekey");
                prekeys.push(list.verify_prekey(&prekey, NOW).expect("verify prekey"));
                if hybrid {
                    let prekey = keyring
                        .rotate_hybrid_prekey(NOW - 1000, &mut rng)
                        .expect("hybrid prekey");
                    prekeys.push(list.verify_prekey(&prekey, NOW).expect("verify prekey"));
                }
            }
            lists.push(list);
            devices.extend(secrets);
            left -= take;
        }
        Fixture {
            sender,
            sender_cert,
            sender_list,
            lists,
            devices,
            prekeys,
        }
    }

    /// The recipient lists as `seal` takes them.
    pub(crate) fn recipients(&self) -> Vec<&VerifiedDeviceList> {
        self.lists.iter().collect()
    }

    /// The receiver's directory of verified lists (only the sender's is
    /// needed by `open`).
    pub(crate) fn directory(&self) -> Vec<VerifiedDeviceList> {
        vec![self.sender_list.clone()]
    }

    /// The recipient device whose key id sorts last in the header (the
    /// analogue of age's "last of N recipients").
    pub(crate) fn last_device(&self) -> &DeviceKeyring {
        self.devices
            .iter()
            .max_by_key(|d| d.key_id())
            .expect("at least one device")
    }

    /// Seals `payload` to every recipient device's certificate key.
    pub(crate) fn seal(&self, payload: &[u8], padding: Padding, rng: &mut ChaCha20Rng) -> Envelope {
        self.seal_to(payload, padding, &[], rng)
    }

    /// Seals `payload` to every recipient device's signed prekey (verified
    /// once, when the fixture was built: the per-seal cost is the lookup).
    pub(crate) fn seal_to_prekeys(
        &self,
        payload: &[u8],
        padding: Padding,
        rng: &mut ChaCha20Rng,
    ) -> Envelope {
        let prekeys: Vec<&VerifiedPrekey> = self.prekeys.iter().collect();
        self.seal_to(payload, padding, &prekeys, rng)
    }

    fn seal_to(
        &self,
        payload: &[u8],
        padding: Padding,
        prekeys: &[&VerifiedPrekey],
        rng: &mut ChaCha20Rng,
    ) -> Envelope {
        let recipients = self.recipients();
        seal(
            &self.sender,
            &self.sender_cert,
            &recipients,
            prekeys,
            &Message {
                payload,
                aad: AAD,
                padding,
                ..Message::default()
            },
            NOW,
            rng,
        )
        .expect("seal")
    }

    /// Opens `bytes` (an envelope or delivery) as `device`.
    pub(crate) fn open(
        &self,
        device: &DeviceKeyring,
        bytes: &[u8],
        directory: &[VerifiedDeviceList],
    ) -> Opened {
        open(device, bytes, directory, NOW + 1).expect("open")
    }
}

/// Criterion measurement: CPU time of the benchmarking thread
/// (`CLOCK_THREAD_CPUTIME_ID`), so that time the thread spends descheduled
/// while other jobs run on the shared machine is not counted. Values are
/// durations, formatted like wall time.
pub(crate) struct ThreadCpuTime;

static WALL: criterion::measurement::WallTime = criterion::measurement::WallTime;

impl criterion::measurement::Measurement for ThreadCpuTime {
    type Intermediate = cpu_time::ThreadTime;
    type Value = std::time::Duration;

    fn start(&self) -> Self::Intermediate {
        cpu_time::ThreadTime::now()
    }

    fn end(&self, i: Self::Intermediate) -> Self::Value {
        i.elapsed()
    }

    fn add(&self, v1: &Self::Value, v2: &Self::Value) -> Self::Value {
        *v1 + *v2
    }

    fn zero(&self) -> Self::Value {
        std::time::Duration::ZERO
    }

    fn to_f64(&self, value: &Self::Value) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn criterion::measurement::ValueFormatter {
        criterion::measurement::Measurement::formatter(&WALL)
    }
}

/// Runs `benches` with the clock chosen by `FANSEAL_BENCH_CLOCK`: `wall`
/// for wall-clock time, anything else (the default) for thread CPU time.
#[macro_export]
macro_rules! bench_main {
    ($($f:path),+ $(,)?) => {
        fn main() {
            fn run<M: criterion::measurement::Measurement>(mut c: criterion::Criterion<M>) {
                $($f(&mut c);)+
                c.final_summary();
            }
            if std::env::var("FANSEAL_BENCH_CLOCK").as_deref() == Ok("wall") {
                run(criterion::Criterion::default().configure_from_args());
            } else {
                run(criterion::Criterion::default()
                    .with_measurement(common::ThreadCpuTime)
                    .configure_from_args());
            }
        }
    };
}

/// Interleaved A/B comparison, run after the criterion groups.
///
/// On a shared machine the speed of the CPU shifts every few seconds (other
/// jobs, a busy SMT sibling), so two criterion benchmarks measured ten
/// seconds apart can differ by 1.5x for identical work. Here `a` and `b`
/// alternate in rounds of a few milliseconds, each round yields the ratio
/// `time(a) / time(b)` under the same conditions, and the median of those
/// ratios is reported (thread CPU time). Skipped in `--test` mode except for
/// one round, and entirely with `FANSEAL_BENCH_PAIRED=0`.
pub(crate) struct Paired {
    rounds: usize,
    rows: Vec<String>,
}

impl Paired {
    pub(crate) fn new() -> Option<Self> {
        if std::env::var("FANSEAL_BENCH_PAIRED").as_deref() == Ok("0") {
            return None;
        }
        let test = std::env::args().any(|a| a == "--test");
        Some(Paired {
            rounds: if test { 1 } else { 101 },
            rows: Vec::new(),
        })
    }

    /// Compares `a` against `b`; `name` says what the ratio means.
    pub(crate) fn compare<A, B, RA, RB>(&mut self, name: &str, a: A, b: B)
    where
        A: FnMut() -> RA,
        B: FnMut() -> RB,
    {
        self.compare_bounded(name, 1000, a, b);
    }

    /// Calls per side that [`Paired::compare_bounded`] makes at most with
    /// `max_k` calls per round: one calibration call and `rounds × max_k`.
    pub(crate) fn max_calls(&self, max_k: usize) -> usize {
        1 + self.rounds * max_k.max(1)
    }

    /// [`Paired::compare`] with at most `max_k` calls per side per round, for
    /// closures that consume a pre-built pool (messages that decrypt once).
    pub(crate) fn compare_bounded<A, B, RA, RB>(
        &mut self,
        name: &str,
        max_k: usize,
        mut a: A,
        mut b: B,
    ) where
        A: FnMut() -> RA,
        B: FnMut() -> RB,
    {
        let time = |f: &mut dyn FnMut(), k: usize| {
            let t = cpu_time::ThreadTime::now();
            for _ in 0..k {
                f();
            }
            t.elapsed().as_nanos() as f64 / k as f64
        };
        let mut fa = || {
            std::hint::black_box(a());
        };
        let mut fb = || {
            std::hint::black_box(b());
        };
        // Calibrate: about 2 ms per side per round, at least one call.
        let one = time(&mut fa, 1).max(time(&mut fb, 1)).max(1.0);
        let k = ((2e6 / one) as usize).clamp(1, max_k.max(1));
        let (mut ta, mut tb, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..self.rounds {
            // Alternate which side goes first.
            let (x, y) = if round % 2 == 0 {
                let x = time(&mut fa, k);
                (x, time(&mut fb, k))
            } else {
                let y = time(&mut fb, k);
                (time(&mut fa, k), y)
            };
            ta.push(x);
            tb.push(y);
            ratio.push(x / y);
        }
        let med = |v: &mut Vec<f64>| {
            v.sort_by(|p, q| p.total_cmp(q));
            v[v.len() / 2]
        };
        let pct = |v: &Vec<f64>, p: f64| v[((v.len() - 1) as f64 * p) as usize];
        let (ma, mb, mr) = (med(&mut ta), med(&mut tb), med(&mut ratio));
        let row = format!(
            "| {name} | {:.2} µs | {:.2} µs | {mr:.3} | {:.3} – {:.3} |",
            ma / 1e3,
            mb / 1e3,
            pct(&ratio, 0.1),
            pct(&ratio, 0.9)
        );
        println!("paired: {row}");
        self.rows.push(row);
    }

    /// Writes the rows as a Markdown table to `target/criterion/paired/<file>.md`.
    pub(crate) fn finish(self, file: &str) {
        let Some(dir) = std::env::current_exe()
            .ok()
            .and_then(|p| Some(p.parent()?.parent()?.parent()?.join("criterion/paired")))
        else {
            return;
        };
        let mut out = String::from(
            "| A vs B | A median | B median | median of A/B | 10th – 90th percentile of A/B |\n|---|---:|---:|---:|---:|\n",
        );
        for r in &self.rows {
            out.push_str(r);
            out.push('\n');
        }
        if std::fs::create_dir_all(&dir).is_ok() {
            let _ = std::fs::write(dir.join(format!("{file}.md")), out);
        }
    }
}
