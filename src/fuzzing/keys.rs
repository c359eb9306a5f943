//! Signed prekeys and the device keyring (SPEC.md §3.7–3.9, §5.2 step 2):
//! the prekey decoder, the keyring loader, and a sequence of keyring
//! operations run against an independent model.
//!
//! The fixed world ([`KeyFixture`], part of [`Fixture`]) is carol's device:
//! twelve key sets for one device id (set 0 is the first, the others are
//! what it can re-key to; sets 10 and 11 each share one key with set 1, so
//! a re-key to them is `SameKeys` exactly while set 1 is held), each with
//! the certificates a renewal or re-key can be given (capability 0 or
//! `CAPABILITY_PREKEYS`, another device id, a forged signature), a pool of
//! forty prekey secrets, and one honest envelope from alice's phone for
//! each of them (prekeys wrapped to as prekeys of carol's device, key sets
//! wrapped to as certificate keys). A prekey's key id and recipient binding
//! depend only on the account, the device id and the X25519 key (SPEC.md
//! §3.7), so an envelope made for pool key `i` opens with any keyring that
//! holds pool secret `i`, whichever key signed the prekey (held or already
//! deleted) and whenever it was made. Hybrid prekeys (SPEC.md §3.7–3.9,
//! suite `0x0002`) the same way: certificate variants with
//! `CAPABILITY_HYBRID`, a pool of forty X-Wing seeds, and for each an honest
//! hybrid envelope wrapped to it as a hybrid prekey of carol's device.

use alloc::vec;
use alloc::vec::Vec;
use core::convert::Infallible;

use rand_core::CryptoRng;

use crate::consts::{capability, limit};
use crate::envelope::{open, seal, Message, Padding, SuitePolicy};
use crate::error::{CertificateError, KeyringError, OpenError, PrekeyError};
use crate::identity::keyring::{PrekeySecret, Retired};
use crate::identity::{
    AccountPublicKey, AccountSecret, CertificateParams, DeviceCertificate, DeviceId, DeviceKeyring,
    DeviceSecret, KeyId, PrekeyPolicy, SignedPrekey, VerifiedDeviceCertificate, VerifiedDeviceList,
    HYBRID_SIGNED_PREKEY_LEN, SIGNED_PREKEY_LEN,
};
use crate::suite::Suite;

use super::{ensure, Fixture, Outcome, Violation, NOW, OPEN_AT};

/// Key sets of carol's device (set 0 is the one the keyring starts with;
/// set 10 has set 1's X25519 key, set 11 its Ed25519 key).
pub const KEY_SETS: usize = 12;
/// Certificates of each key set ([`KeySet::certificate`]).
pub const CERTIFICATES: u8 = 9;
/// Prekey secrets the `keyring_ops` rotations draw from.
pub const PREKEY_POOL: usize = 40;
/// X-Wing seeds the `keyring_ops` hybrid rotations draw from.
pub(super) const HYBRID_POOL: usize = 40;
/// Operations `keyring_ops` runs at most per input.
pub const MAX_OPS: usize = 64;

const MINUTE_MS: u64 = 60 * 1000;
const HOUR_MS: u64 = 60 * MINUTE_MS;
const PAYLOAD: &[u8] = b"fanseal fuzz keyring payload";
const AAD: &[u8] = b"conversation:alice+carol";

/// The largest export: every superseded key set and every prekey held.
const EXPORT_MAX_LEN: usize = 2
    + 24
    + (64 + crate::identity::CERTIFICATE_LEN)
    + 1
    + limit::MAX_KEYRING_RETIRED * (32 + crate::identity::CERTIFICATE_LEN + 8)
    + 1
    + limit::MAX_KEYRING_PREKEYS * (32 + SIGNED_PREKEY_LEN)
    + 1
    + limit::MAX_KEYRING_PREKEYS * (32 + HYBRID_SIGNED_PREKEY_LEN);

/// The largest single allocation `keyring_import` may make (the export
/// buffer, or a vector of superseded key sets or prekeys at its limit):
/// the thin `keyring_import` target counts allocations against it, so an
/// allocation sized by an unchecked count field (up to 255 entries) is
/// caught even when the import then fails.
pub fn keyring_import_allocation_limit() -> usize {
    EXPORT_MAX_LEN
        .max(limit::MAX_KEYRING_RETIRED * core::mem::size_of::<Retired>())
        .max(limit::MAX_KEYRING_PREKEYS * core::mem::size_of::<PrekeySecret>())
}

/// One key set of carol's device.
struct KeySet {
    secret: DeviceSecret,
    /// Its certificates, by variant: 0 capabilities 0 (the one the keyring
    /// starts with and `REKEY` installs); 1 its renewal (other expiry); 2
    /// `CAPABILITY_PREKEYS`; 3 its renewal (other expiry, an application
    /// bit); 4 the same keys for another device id of carol's account; 5
    /// variant 0 with one signature bit flipped; 6 `CAPABILITY_PREKEYS |
    /// CAPABILITY_HYBRID`; 7 its renewal (other expiry); 8
    /// `CAPABILITY_HYBRID` alone.
    certificates: Vec<DeviceCertificate>,
    verified: VerifiedDeviceCertificate,
    key_id: KeyId,
    /// An honest envelope wrapped to this set's certificate key.
    envelope: Vec<u8>,
}

impl KeySet {
    fn certificate(&self, variant: u8) -> Result<&DeviceCertificate, Violation> {
        self.certificates
            .get(usize::from(variant))
            .ok_or(Violation("key fixture: certificate variant"))
    }
}

/// The key-bound capability bits (`CAPABILITY_PREKEYS`, bit 0, and
/// `CAPABILITY_HYBRID`, bit 1) of certificate variant `v` of a key set.
fn variant_bits(v: u8) -> u32 {
    match v {
        2 | 3 => capability::PREKEYS,
        6 | 7 => capability::PREKEYS | capability::HYBRID,
        8 => capability::HYBRID,
        _ => 0,
    }
}

/// Whether certificate variant `v` has `CAPABILITY_HYBRID` (SPEC.md §3.8
/// Rotate hybrid: `NotHybrid` without it).
fn variant_supports_hybrid(v: u8) -> bool {
    variant_bits(v) & capability::HYBRID != 0
}

/// Certificate variant 4: the key set's keys for another device id.
const OTHER_DEVICE: u8 = 4;
/// Certificate variant 5: a forged signature.
const FORGED: u8 = 5;

/// One prekey secret of the pool.
struct PoolKey {
    secret: [u8; 32],
    public: [u8; 32],
    key_id: KeyId,
    /// An honest envelope wrapped to it as a prekey of carol's device.
    envelope: Vec<u8>,
}

/// One X-Wing seed of the hybrid pool.
struct HybridPoolKey {
    seed: [u8; 32],
    public: Vec<u8>,
    key_id: KeyId,
    /// An honest hybrid envelope wrapped to it as a hybrid prekey of
    /// carol's device.
    envelope: Vec<u8>,
}

/// A prekey carol's device signed, with what its verification must give.
struct KnownPrekey {
    bytes: Vec<u8>,
    /// Its X25519 key is one a sender may wrap to (SPEC.md §2.7).
    valid_key: bool,
}

/// Carol's device: key sets, the prekey pool, the honest envelopes and the
/// prekeys the device signed (see the module documentation).
pub struct KeyFixture {
    account: AccountPublicKey,
    device_id: DeviceId,
    sets: Vec<KeySet>,
    pool: Vec<PoolKey>,
    hybrid_pool: Vec<HybridPoolKey>,
    /// Carol's list with set 0's certificate.
    list: VerifiedDeviceList,
    known: Vec<KnownPrekey>,
}

impl core::fmt::Debug for KeyFixture {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyFixture").finish_non_exhaustive()
    }
}

/// An RNG that repeats one 32-byte value: `rotate_prekey` draws exactly
/// one X25519 secret, so the rotation makes pool key `i`.
struct FixedRng([u8; 32]);

impl rand_core::TryRng for FixedRng {
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
        for (d, s) in dst.iter_mut().zip(self.0.iter().cycle()) {
            *d = *s;
        }
        Ok(())
    }
}

impl rand_core::TryCryptoRng for FixedRng {}

fn fail<E>(what: &'static str) -> impl FnOnce(E) -> Violation {
    move |_| Violation(what)
}

impl KeyFixture {
    /// Builds carol's device from `rng`; `sender` (alice's phone, on
    /// `directory`) seals the honest envelopes.
    pub(super) fn new<R: CryptoRng + ?Sized>(
        rng: &mut R,
        sender: &DeviceSecret,
        sender_certificate: &DeviceCertificate,
    ) -> Result<Self, Violation> {
        let carol = AccountSecret::generate(rng);
        let account = carol.public_key();
        let device_id = DeviceId::random(rng);
        let other_id = DeviceId::random(rng);
        let certify = |keys, id, capabilities, expires_at| {
            carol
                .certify_device(&CertificateParams {
                    device_id: id,
                    keys,
                    created_at: NOW,
                    expires_at: Some(expires_at),
                    capabilities,
                })
                .map_err(fail("key fixture: certify_device failed"))
        };
        let year = 365 * limit::DAY_MS;
        let message = Message {
            payload: PAYLOAD,
            aad: AAD,
            padding: Padding::Padme,
            ..Message::default()
        };

        let mut sets: Vec<KeySet> = Vec::with_capacity(KEY_SETS);
        let mut list = None;
        for index in 0..KEY_SETS {
            let secret = DeviceSecret::generate(rng);
            // Sets 10 and 11: set 1's X25519 key with a new Ed25519 key,
            // a new X25519 key with set 1's Ed25519 key.
            let secret = match (index, sets.get(1)) {
                (10 | 11, Some(one)) => {
                    let mut bytes = secret.export_secret_bytes();
                    let theirs = one.secret.export_secret_bytes();
                    let half = if index == 10 { 0..32 } else { 32..64 };
                    if let (Some(dst), Some(src)) = (bytes.get_mut(half.clone()), theirs.get(half))
                    {
                        dst.copy_from_slice(src);
                    }
                    DeviceSecret::from_secret_bytes(&bytes)
                }
                _ => secret,
            };
            let keys = secret.public_keys();
            let certificate = certify(keys, device_id, 0, NOW + year)?;
            let mut forged = certificate.to_bytes();
            if let Some(last) = forged.last_mut() {
                *last ^= 1;
            }
            let forged = DeviceCertificate::from_bytes(&forged)
                .map_err(fail("key fixture: forged certificate does not decode"))?;
            let certificates = vec![
                certificate.clone(),
                certify(keys, device_id, 0, NOW + 2 * year)?,
                certify(keys, device_id, capability::PREKEYS, NOW + year)?,
                certify(
                    keys,
                    device_id,
                    capability::PREKEYS | 0x0001_0000,
                    NOW + 2 * year,
                )?,
                certify(keys, other_id, 0, NOW + year)?,
                forged,
                certify(
                    keys,
                    device_id,
                    capability::PREKEYS | capability::HYBRID,
                    NOW + year,
                )?,
                certify(
                    keys,
                    device_id,
                    capability::PREKEYS | capability::HYBRID,
                    NOW + 2 * year,
                )?,
                certify(keys, device_id, capability::HYBRID, NOW + year)?,
            ];
            let verified = certificate
                .verify(&account, NOW)
                .map_err(fail("key fixture: certificate does not verify"))?;
            let own_list = carol
                .issue_device_list(None, NOW, vec![certificate.clone()])
                .map_err(fail("key fixture: issue_device_list failed"))?
                .verify(&account)
                .map_err(fail("key fixture: carol's list does not verify"))?;
            let envelope = seal(
                sender,
                sender_certificate,
                &[&own_list],
                &[],
                &message,
                NOW,
                rng,
            )
            .map_err(fail("key fixture: seal to a key set failed"))?
            .to_bytes();
            list.get_or_insert(own_list);
            sets.push(KeySet {
                key_id: certificate.key_id(),
                secret,
                certificates,
                verified,
                envelope,
            });
        }
        let list = list.ok_or(Violation("key fixture: no key set"))?;
        let first = sets.first().ok_or(Violation("key fixture: no key set"))?;
        let second = sets.get(1).ok_or(Violation("key fixture: no key set"))?;

        let lifetime = PrekeyPolicy::DEFAULT.lifetime_ms;
        let mut pool = Vec::with_capacity(PREKEY_POOL);
        for _ in 0..PREKEY_POOL {
            let mut secret = [0u8; 32];
            rng.fill_bytes(&mut secret);
            let public = crate::primitives::X25519Secret::from_bytes(&secret).public();
            let prekey = SignedPrekey::sign(
                first.secret.ed25519(),
                account,
                device_id,
                crate::identity::prekey::PrekeyPublic::X25519(public),
                NOW,
                NOW + lifetime,
            );
            let verified = list
                .verify_prekey(&prekey, NOW)
                .map_err(fail("key fixture: pool prekey does not verify"))?;
            let envelope = seal(
                sender,
                sender_certificate,
                &[&list],
                &[&verified],
                &message,
                NOW,
                rng,
            )
            .map_err(fail("key fixture: seal to a prekey failed"))?
            .to_bytes();
            pool.push(PoolKey {
                secret,
                public,
                key_id: prekey.key_id(),
                envelope,
            });
        }

        // Prekeys the device signed, for decode_signed_prekey: valid ones,
        // one by the second key set, and each later verification step
        // failing alone (signed honestly, so steps 1–3 and 5 pass).
        let public = |i: usize| pool.get(i).map(|p| p.public).unwrap_or([9; 32]);
        let max = limit::MAX_PREKEY_LIFETIME_MS;
        let signed = [
            (
                first,
                account,
                device_id,
                public(0),
                NOW,
                NOW + lifetime,
                true,
            ),
            (first, account, device_id, public(1), NOW - 1, NOW + 1, true),
            (first, account, device_id, public(2), NOW - max, NOW, true),
            (first, account, device_id, public(3), NOW, NOW + max, true),
            (
                first,
                account,
                device_id,
                public(4),
                NOW,
                NOW + max + 1,
                true,
            ),
            (first, account, device_id, public(5), NOW, NOW, true),
            (first, account, device_id, public(6), NOW + 1, NOW, true),
            (
                first,
                account,
                device_id,
                [0; 32],
                NOW,
                NOW + lifetime,
                false,
            ),
            (
                first,
                account,
                device_id,
                [0xff; 32],
                NOW,
                NOW + lifetime,
                false,
            ),
            (
                first,
                account,
                other_id,
                public(7),
                NOW,
                NOW + lifetime,
                true,
            ),
            (
                first,
                *sender_certificate.account(),
                device_id,
                public(8),
                NOW,
                NOW + 5,
                true,
            ),
            (
                second,
                account,
                device_id,
                public(9),
                NOW,
                NOW + lifetime,
                true,
            ),
            // Step 7 (clock skew): an hour ahead is accepted, a millisecond
            // more is NotYetValid, an invalid lifetime is reported first,
            // and the sum saturates at the end of time.
            (
                first,
                account,
                device_id,
                public(10),
                NOW + HOUR_MS,
                NOW + HOUR_MS + lifetime,
                true,
            ),
            (
                first,
                account,
                device_id,
                public(11),
                NOW + HOUR_MS + 1,
                NOW + HOUR_MS + 1 + lifetime,
                true,
            ),
            (
                first,
                account,
                device_id,
                public(12),
                NOW + HOUR_MS + 1,
                NOW + HOUR_MS + 1,
                true,
            ),
            (
                first,
                account,
                device_id,
                public(13),
                u64::MAX - 1,
                u64::MAX,
                true,
            ),
        ];
        let known = signed
            .iter()
            .map(
                |(set, account, id, key, created, expires, valid_key)| KnownPrekey {
                    bytes: SignedPrekey::sign(
                        set.secret.ed25519(),
                        *account,
                        *id,
                        crate::identity::prekey::PrekeyPublic::X25519(*key),
                        *created,
                        *expires,
                    )
                    .to_bytes(),
                    valid_key: *valid_key,
                },
            )
            .collect::<Vec<_>>();
        let mut known = known;

        // The hybrid pool (SPEC.md §3.8 Rotate hybrid): X-Wing seeds, each
        // with an honest hybrid envelope wrapped to it as a hybrid prekey of
        // carol's device (on a list with set 0's hybrid certificate). Drawn
        // after everything above, so the classical fixture is unchanged.
        let hybrid_list = carol
            .issue_device_list(None, NOW, vec![first.certificate(6)?.clone()])
            .map_err(fail("key fixture: issue_device_list failed"))?
            .verify(&account)
            .map_err(fail("key fixture: carol's hybrid list does not verify"))?;
        let hybrid_message = Message {
            payload: PAYLOAD,
            aad: AAD,
            padding: Padding::Padme,
            suite: SuitePolicy::RequireHybrid,
        };
        let xwing = |public: [u8; crate::consts::size::XWING_PUBLIC_KEY]| {
            crate::identity::prekey::PrekeyPublic::XWing(alloc::boxed::Box::new(public))
        };
        let mut hybrid_pool = Vec::with_capacity(HYBRID_POOL);
        for _ in 0..HYBRID_POOL {
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            let public = crate::primitives::XWingSecret::from_seed(&seed).public();
            let prekey = SignedPrekey::sign(
                first.secret.ed25519(),
                account,
                device_id,
                xwing(public),
                NOW,
                NOW + lifetime,
            );
            let verified = hybrid_list
                .verify_prekey(&prekey, NOW)
                .map_err(fail("key fixture: hybrid pool prekey does not verify"))?;
            let envelope = seal(
                sender,
                sender_certificate,
                &[&hybrid_list],
                &[&verified],
                &hybrid_message,
                NOW,
                rng,
            )
            .map_err(fail("key fixture: seal to a hybrid prekey failed"))?
            .to_bytes();
            hybrid_pool.push(HybridPoolKey {
                seed,
                public: public.to_vec(),
                key_id: prekey.key_id(),
                envelope,
            });
        }

        // Hybrid prekeys the device signed, for decode_signed_prekey: a
        // valid one, one by the second key set, another device and account,
        // the lifetime and clock boundaries, and X-Wing keys that fail §2.7
        // (an ML-KEM coefficient ≥ q, a low-order or non-canonical X25519
        // half): InvalidHybridKey.
        let hybrid_public = |i: usize| {
            let mut key = [0x11u8; crate::consts::size::XWING_PUBLIC_KEY];
            if let Some(p) = hybrid_pool.get(i) {
                key.copy_from_slice(&p.public);
            }
            key
        };
        let with_x25519 = |mut key: [u8; crate::consts::size::XWING_PUBLIC_KEY], x: [u8; 32]| {
            if let Some(tail) = key.get_mut(1184..) {
                tail.copy_from_slice(&x);
            }
            key
        };
        let mut big_coefficient = hybrid_public(20);
        if let Some(head) = big_coefficient.get_mut(..3) {
            // The first 12-bit coefficient 0xfff ≥ q = 3329.
            head.copy_from_slice(&[0xff, 0x0f, 0x00]);
        }
        let mut p_x = [0xffu8; 32];
        p_x[0] = 0xed;
        p_x[31] = 0x7f;
        let mut one_x = [0u8; 32];
        one_x[0] = 1;
        let hybrid_signed = [
            (
                first,
                account,
                device_id,
                hybrid_public(0),
                NOW,
                NOW + lifetime,
                true,
            ),
            (
                first,
                account,
                device_id,
                hybrid_public(1),
                NOW - 1,
                NOW + 1,
                true,
            ),
            (
                first,
                account,
                device_id,
                hybrid_public(2),
                NOW - max,
                NOW,
                true,
            ),
            (
                first,
                account,
                device_id,
                hybrid_public(3),
                NOW,
                NOW + max + 1,
                true,
            ),
            (
                first,
                account,
                device_id,
                hybrid_public(4),
                NOW + HOUR_MS + 1,
                NOW + HOUR_MS + 1 + lifetime,
                true,
            ),
            (
                first,
                account,
                other_id,
                hybrid_public(5),
                NOW,
                NOW + lifetime,
                true,
            ),
            (
                first,
                *sender_certificate.account(),
                device_id,
                hybrid_public(6),
                NOW,
                NOW + 5,
                true,
            ),
            (
                second,
                account,
                device_id,
                hybrid_public(7),
                NOW,
                NOW + lifetime,
                true,
            ),
            (
                first,
                account,
                device_id,
                big_coefficient,
                NOW,
                NOW + lifetime,
                false,
            ),
            (
                first,
                account,
                device_id,
                with_x25519(hybrid_public(21), [0; 32]),
                NOW,
                NOW + lifetime,
                false,
            ),
            (
                first,
                account,
                device_id,
                with_x25519(hybrid_public(22), one_x),
                NOW,
                NOW + lifetime,
                false,
            ),
            (
                first,
                account,
                device_id,
                with_x25519(hybrid_public(23), p_x),
                NOW,
                NOW + lifetime,
                false,
            ),
            (
                first,
                account,
                device_id,
                [0xff; crate::consts::size::XWING_PUBLIC_KEY],
                NOW,
                NOW + lifetime,
                false,
            ),
            // An X-Wing key whose X25519 half is a classical pool key's
            // (valid): a hybrid key id is never a classical one.
            (
                first,
                account,
                device_id,
                with_x25519(hybrid_public(24), public(0)),
                NOW,
                NOW + lifetime,
                true,
            ),
        ];
        for (set, account, id, key, created, expires, valid_key) in hybrid_signed {
            known.push(KnownPrekey {
                bytes: SignedPrekey::sign(
                    set.secret.ed25519(),
                    account,
                    id,
                    xwing(key),
                    created,
                    expires,
                )
                .to_bytes(),
                valid_key,
            });
        }

        Ok(KeyFixture {
            account,
            device_id,
            sets,
            pool,
            hybrid_pool,
            list,
            known,
        })
    }

    fn set(&self, i: usize) -> Result<&KeySet, Violation> {
        self.sets
            .get(i)
            .ok_or(Violation("key fixture: key set index"))
    }

    /// Whether the keyring must refuse key set `i` as a new key set beside
    /// the held ones: an X25519 key (so also a key id) or an Ed25519 key
    /// equal to a held set's (SPEC.md §3.8 Re-key).
    fn shares_a_key(&self, i: usize, held: impl Iterator<Item = usize>) -> Result<bool, Violation> {
        let new = self.set(i)?.secret.public_keys();
        for h in held {
            let old = self.set(h)?.secret.public_keys();
            if old.x25519 == new.x25519 || old.ed25519 == new.ed25519 {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn pool_key(&self, i: usize) -> Result<&PoolKey, Violation> {
        self.pool.get(i).ok_or(Violation("key fixture: pool index"))
    }

    fn hybrid_pool_key(&self, i: usize) -> Result<&HybridPoolKey, Violation> {
        self.hybrid_pool
            .get(i)
            .ok_or(Violation("key fixture: hybrid pool index"))
    }

    /// A keyring with key set 0 and no prekeys (the default policy).
    fn keyring(&self) -> Result<DeviceKeyring, Violation> {
        let set = self.set(0)?;
        let secret = DeviceSecret::from_secret_bytes(&set.secret.export_secret_bytes());
        DeviceKeyring::new(secret, set.certificate(0)?.clone())
            .map_err(fail("key fixture: keyring of set 0"))
    }
}

impl Fixture {
    /// The encodings of the prekeys carol's device signed (seeds of
    /// `decode_signed_prekey`).
    pub fn signed_prekeys(&self) -> Vec<Vec<u8>> {
        self.keys.known.iter().map(|k| k.bytes.clone()).collect()
    }

    /// Runs `program` as [`keyring_ops`] does and returns the export of
    /// the keyring it ends with (seeds of `keyring_import`), or the
    /// violation it ran into.
    pub fn keyring_export_after(&self, program: &[u8]) -> Result<Vec<u8>, Violation> {
        let mut run = Run::new(self)?;
        run.program(program)?;
        Ok(run.keyring.export().to_vec())
    }
}

// ---------------------------------------------------------------------------
// decode_signed_prekey
// ---------------------------------------------------------------------------

/// `SignedPrekey::from_bytes`: the input is re-encoded exactly (196 bytes
/// classical, 1,380 hybrid), its key id is SPEC.md §3.7's formula of its
/// suite (it names the device), a verified prekey's recipient binding is
/// SPEC.md §4.5's of its suite, and
/// verification against each of carol's key sets agrees with a model of
/// SPEC.md §3.7: steps 1–3 compare bytes; a prekey the device signed (a
/// fixture prekey) then fails exactly the first of steps 4, 6, 7
/// (`NotYetValid`), 8 (`Expired`) its fields fail (step 4 is
/// `InvalidX25519Key` or, for an X-Wing key failing either half's check,
/// `InvalidHybridKey`), and verifies otherwise;
/// any other prekey naming the device and its key must fail at step 4 or 5
/// (an Ok there is a forgery accepted). A verified prekey is valid from
/// exactly `created_at − 1 h` until exactly `expires_at`.
pub fn decode_signed_prekey(fx: &Fixture, data: &[u8]) -> Outcome {
    let Ok(prekey) = SignedPrekey::from_bytes(data) else {
        return Ok(());
    };
    // Canonical: one encoding per value, of the fixed length.
    ensure(
        prekey.to_bytes() == data,
        "signed prekey: re-encoding differs from the input",
    )?;
    let expected_len = match prekey.suite() {
        Suite::Hybrid => HYBRID_SIGNED_PREKEY_LEN,
        _ => SIGNED_PREKEY_LEN,
    };
    ensure(
        data.len() == expected_len && prekey.public_key().len() + 164 == expected_len,
        "signed prekey: decoded from an input that is not 196 (classical) or 1,380 (hybrid) bytes",
    )?;
    ensure(
        prekey.key_id().0 == spec_prekey_key_id(&prekey),
        "signed prekey: key id is not SHA-256(lp(label) || account || device id || x25519)",
    )?;
    let keys = &fx.keys;
    let known = keys.known.iter().find(|k| k.bytes == data);
    for (index, set) in keys.sets.iter().enumerate() {
        let expected = expected_verify(keys, set, known, &prekey, NOW);
        let got = prekey.verify(&set.verified, NOW);
        check_verify(&got, expected.clone())?;
        if index == 0 {
            // The list form (carol's list holds set 0): account first, then
            // the device by id, then the same steps.
            let via_list = keys.list.verify_prekey(&prekey, NOW);
            let expected_list = if *prekey.account() != keys.account {
                Expected::Err(PrekeyError::WrongAccount)
            } else if prekey.device_id() != keys.device_id {
                Expected::Err(PrekeyError::UnknownDevice)
            } else {
                expected
            };
            check_verify(&via_list, expected_list)?;
        }
        if let Ok(verified) = got {
            ensure(
                verified.prekey() == &prekey
                    && verified.key_id() == prekey.key_id()
                    && verified.suite() == prekey.suite()
                    && *verified.recipient_binding() == spec_binding(&prekey),
                "signed prekey: the verified prekey differs from the decoded one, or its binding from SPEC §4.5",
            )?;
            // Expiry boundary (step 8): still valid a millisecond before
            // expires_at, expired at it.
            let at = prekey.expires_at();
            ensure(
                prekey.verify(&set.verified, at - 1).is_ok()
                    && prekey.verify(&set.verified, at)
                        == Err(PrekeyError::Expired {
                            expires_at: at,
                            now: at,
                        }),
                "signed prekey: expiry is not exactly at expires_at",
            )?;
            // Clock-skew boundary (step 7): valid from created_at − 1 h,
            // NotYetValid a millisecond before.
            let created_at = prekey.created_at();
            if let Some(from) = created_at.checked_sub(HOUR_MS + 1) {
                ensure(
                    prekey.verify(&set.verified, from + 1).is_ok()
                        && prekey.verify(&set.verified, from)
                            == Err(PrekeyError::NotYetValid {
                                created_at,
                                now: from,
                            }),
                    "signed prekey: NotYetValid is not exactly before created_at − 1 h",
                )?;
            }
        }
    }
    Ok(())
}

/// What verification must give.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expected {
    Ok,
    Err(PrekeyError),
    /// A prekey the device never signed: step 4 or step 5 fails.
    NotSigned,
}

fn expected_verify(
    keys: &KeyFixture,
    set: &KeySet,
    known: Option<&KnownPrekey>,
    prekey: &SignedPrekey,
    now: u64,
) -> Expected {
    if *prekey.account() != keys.account {
        return Expected::Err(PrekeyError::WrongAccount);
    }
    if prekey.device_id() != keys.device_id {
        return Expected::Err(PrekeyError::WrongDevice);
    }
    if *prekey.device_key() != set.secret.public_keys().ed25519 {
        return Expected::Err(PrekeyError::WrongDeviceKey);
    }
    let Some(known) = known else {
        return Expected::NotSigned;
    };
    let (created_at, expires_at) = (prekey.created_at(), prekey.expires_at());
    if !known.valid_key {
        Expected::Err(match prekey.suite() {
            Suite::Hybrid => PrekeyError::InvalidHybridKey,
            _ => PrekeyError::InvalidX25519Key,
        })
    } else if expires_at <= created_at || expires_at - created_at > limit::MAX_PREKEY_LIFETIME_MS {
        Expected::Err(PrekeyError::InvalidLifetime {
            created_at,
            expires_at,
        })
    } else if created_at > now.saturating_add(HOUR_MS) {
        Expected::Err(PrekeyError::NotYetValid { created_at, now })
    } else if expires_at <= now {
        Expected::Err(PrekeyError::Expired { expires_at, now })
    } else {
        Expected::Ok
    }
}

fn check_verify<T>(got: &Result<T, PrekeyError>, expected: Expected) -> Outcome {
    match (got, expected) {
        (Ok(_), Expected::Ok) => Ok(()),
        (Ok(_), Expected::NotSigned) => Err(Violation(
            "signed prekey: a prekey the device never signed verified",
        )),
        (Ok(_), Expected::Err(_)) => Err(Violation(
            "signed prekey: verified where a step of SPEC §3.7 must fail",
        )),
        (
            Err(
                PrekeyError::InvalidX25519Key
                | PrekeyError::InvalidHybridKey
                | PrekeyError::BadSignature,
            ),
            Expected::NotSigned,
        ) => Ok(()),
        (Err(_), Expected::NotSigned) => Err(Violation(
            "signed prekey: an unsigned prekey failed after the signature step",
        )),
        (Err(_), Expected::Ok) => Err(Violation(
            "signed prekey: a prekey the device signed did not verify",
        )),
        (Err(e), Expected::Err(x)) => ensure(
            *e == x,
            "signed prekey: not the first failing step of SPEC §3.7",
        ),
    }
}

// ---------------------------------------------------------------------------
// keyring_import
// ---------------------------------------------------------------------------

/// `DeviceKeyring::import`: whatever loads exports back to exactly the
/// input (one encoding per state), holds at most 32 prekeys and 8
/// superseded key sets with a valid policy, and satisfies every rule of
/// SPEC.md §3.9 when re-checked independently (the layout with clamped
/// secrets and 240-byte superseded entries, sorted entries, one device,
/// secrets that are their public keys, certificates signed by their
/// account, prekeys signed by the device key they name — held or not —
/// with valid lifetimes and key ids that name the device, no key held
/// twice).
pub fn keyring_import(data: &[u8]) -> Outcome {
    let Ok(keyring) = DeviceKeyring::import(data) else {
        return Ok(());
    };
    // Canonical: catches a field the loader accepts in two encodings or
    // drops, and any reordering.
    ensure(
        keyring.export().as_slice() == data,
        "keyring import: export differs from the input",
    )?;
    check_invariants(&keyring, true)
}

/// A policy SPEC.md §3.8 allows: `0 < R`, `2R ≤ L ≤ 30 d`, `G ≤ 30 d`,
/// `⌈(L + G) / R⌉ + 1 ≤ 32`, computed without overflow in u128.
// Written as SPEC.md states it, not as the library's `< 32`.
#[allow(clippy::int_plus_one)]
fn policy_is_valid(p: &PrekeyPolicy) -> bool {
    let (r, l, g) = (
        u128::from(p.rotation_period_ms),
        u128::from(p.lifetime_ms),
        u128::from(p.grace_ms),
    );
    let max_lifetime = u128::from(limit::MAX_PREKEY_LIFETIME_MS);
    r > 0
        && 2 * r <= l
        && l <= max_lifetime
        && g <= u128::from(limit::MAX_GRACE_MS)
        && (l + g).div_ceil(r) + 1 <= limit::MAX_KEYRING_PREKEYS as u128
}

/// The key id of a prekey (SPEC.md §3.7), computed here from the
/// specification's formula rather than by the library:
/// `SHA-256(lp("fanseal v2 prekey key id") || account || device id || x25519)[0..16]`
/// for a classical prekey, with `"fanseal v2 hybrid prekey key id"` and the
/// 1,216-byte X-Wing key for a hybrid one.
fn spec_prekey_key_id(prekey: &SignedPrekey) -> [u8; 16] {
    use sha2::Digest;
    let label: &[u8] = match prekey.suite() {
        Suite::Hybrid => b"fanseal v2 hybrid prekey key id",
        _ => b"fanseal v2 prekey key id",
    };
    let mut h = sha2::Sha256::new();
    h.update([label.len() as u8]);
    h.update(label);
    h.update(prekey.account().0);
    h.update(prekey.device_id().0);
    h.update(prekey.public_key());
    let digest = h.finalize();
    let mut id = [0u8; 16];
    for (d, s) in id.iter_mut().zip(digest.iter()) {
        *d = *s;
    }
    id
}

/// The recipient binding of wraps made to a prekey (SPEC.md §3.7, §4.5),
/// from the formula: `SHA-256(lp(label) || account || device id || key)`
/// with `"fanseal v2 recipient binding"` (classical) or `"fanseal v2 hybrid
/// recipient binding"` (hybrid).
fn spec_binding(prekey: &SignedPrekey) -> [u8; 32] {
    use sha2::Digest;
    let label: &[u8] = match prekey.suite() {
        Suite::Hybrid => b"fanseal v2 hybrid recipient binding",
        _ => b"fanseal v2 recipient binding",
    };
    let mut h = sha2::Sha256::new();
    h.update([label.len() as u8]);
    h.update(label);
    h.update(prekey.account().0);
    h.update(prekey.device_id().0);
    h.update(prekey.public_key());
    h.finalize().into()
}

/// RFC 7748 §5: bits 0–2 of the first byte clear, bit 7 of the last clear,
/// bit 6 set.
fn is_clamped(secret: &[u8]) -> bool {
    matches!(secret, [first, .., last] if first & 7 == 0 && last & 0xc0 == 0x40)
}

/// The export's layout (SPEC.md §3.9), read with offsets computed here:
/// length `293 + 240·r + 228·p + 1,412·h`, the policy, counts and public
/// parts in their places, every X25519 secret written clamped, and each
/// hybrid entry its X-Wing seed and its 1,380-byte prekey (with `derive`:
/// the seed derives the prekey's X-Wing key, by X-Wing `DeriveKeyPair`).
fn check_export(k: &DeviceKeyring, bytes: &[u8], derive: bool) -> Outcome {
    const CERT: usize = crate::identity::CERTIFICATE_LEN;
    const HYBRID: usize = 32 + HYBRID_SIGNED_PREKEY_LEN;
    let (r, p, h) = (k.retired.len(), k.prekeys.len(), k.hybrid_prekeys.len());
    ensure(
        HYBRID == 1412 && bytes.len() == 293 + 240 * r + 228 * p + HYBRID * h,
        "keyring export: not 293 + 240·r + 228·p + 1,412·h bytes",
    )?;
    let at = |from: usize, len: usize| bytes.get(from..from + len).unwrap_or(&[]);
    let policy = k.policy();
    let header: Vec<u8> = [0x02u8, 0x20]
        .into_iter()
        .chain(policy.rotation_period_ms.to_be_bytes())
        .chain(policy.lifetime_ms.to_be_bytes())
        .chain(policy.grace_ms.to_be_bytes())
        .collect();
    let hybrid_at = 293 + 240 * r + 228 * p;
    ensure(
        at(0, 26) == header.as_slice()
            && at(26 + 64, CERT) == k.certificate().to_bytes().as_slice()
            && at(290, 1) == [r as u8]
            && at(291 + 240 * r, 1) == [p as u8]
            && at(hybrid_at - 1, 1) == [h as u8],
        "keyring export: prefix, policy, certificate or counts out of place",
    )?;
    let mut clamped = is_clamped(at(26, 32));
    for (i, entry) in k.retired.iter().enumerate() {
        let o = 291 + 240 * i;
        clamped &= is_clamped(at(o, 32));
        ensure(
            at(o + 32, CERT) == entry.certificate.to_bytes().as_slice()
                && at(o + 32 + CERT, 8) == entry.retired_at.to_be_bytes(),
            "keyring export: a superseded entry is not secret ‖ certificate ‖ retired_at (240 bytes)",
        )?;
    }
    for (i, entry) in k.prekeys.iter().enumerate() {
        let o = 292 + 240 * r + 228 * i;
        clamped &= is_clamped(at(o, 32));
        ensure(
            entry.prekey.suite() == Suite::Classical
                && at(o + 32, SIGNED_PREKEY_LEN) == entry.prekey.to_bytes().as_slice(),
            "keyring export: a prekey entry is not secret ‖ classical signed prekey (228 bytes)",
        )?;
    }
    for (i, entry) in k.hybrid_prekeys.iter().enumerate() {
        let o = hybrid_at + HYBRID * i;
        // The seed is written as held: it derives the prekey's X-Wing key.
        let seed: Option<[u8; 32]> = at(o, 32).try_into().ok();
        let derives = seed.is_some_and(|seed| {
            !derive
                || crate::primitives::XWingSecret::from_seed(&seed)
                    .public()
                    .as_slice()
                    == entry.prekey.public_key()
        });
        ensure(
            entry.prekey.suite() == Suite::Hybrid
                && derives
                && at(o + 32, HYBRID_SIGNED_PREKEY_LEN) == entry.prekey.to_bytes().as_slice(),
            "keyring export: a hybrid entry is not seed ‖ hybrid signed prekey (1,412 bytes)",
        )?;
    }
    ensure(
        clamped,
        "keyring export: an X25519 secret written unclamped",
    )
}

/// The state invariants of SPEC.md §3.8–3.9, checked on a loaded or
/// operated keyring without the library's own checks. With `signatures`,
/// every certificate and prekey signature is verified again and every
/// X25519 secret's public key recomputed (the operations target leaves
/// that to the import it runs after each change, and compares the held
/// prekeys with the fixture's pool). A prekey's signer need not be held:
/// a superseded key set is deleted on its own schedule, possibly before
/// the prekeys it signed (SPEC.md §3.8 Delete, §3.9 step 4); its
/// signature is checked under the device key it names.
fn check_invariants(k: &DeviceKeyring, signatures: bool) -> Outcome {
    // Limits: catches a count check missing or off by one.
    ensure(
        k.prekeys.len() <= limit::MAX_KEYRING_PREKEYS
            && k.hybrid_prekeys.len() <= limit::MAX_KEYRING_PREKEYS
            && k.retired.len() <= limit::MAX_KEYRING_RETIRED,
        "keyring: more prekeys or superseded key sets than the limits",
    )?;
    ensure(policy_is_valid(k.policy()), "keyring: invalid policy held")?;
    ensure(
        k.retired
            .windows(2)
            .all(|w| matches!(w, [a, b] if (a.retired_at, a.key_id) < (b.retired_at, b.key_id)))
            && [&k.prekeys, &k.hybrid_prekeys].iter().all(|list| list.windows(2).all(|w| {
                matches!(w, [a, b] if (a.prekey.created_at(), a.key_id) < (b.prekey.created_at(), b.key_id))
            })),
        "keyring: entries not strictly sorted",
    )?;
    let cert = k.certificate();
    let (account, device_id) = (*cert.account(), cert.device_id());
    let signed_by_account =
        |c: &DeviceCertificate| !signatures || c.verify_signed_by(&account).is_ok();
    ensure(
        k.current.secret.public_keys() == *cert.keys()
            && k.current.key_id == cert.key_id()
            && k.current.binding == cert.recipient_binding()
            && signed_by_account(cert),
        "keyring: the current key set is not its certificate's, signed by its account",
    )?;
    for r in &k.retired {
        let c = &r.certificate;
        ensure(
            *c.account() == account
                && c.device_id() == device_id
                && r.key_id == c.key_id()
                && r.binding == c.recipient_binding()
                && (!signatures || r.secret.public() == c.keys().x25519)
                && signed_by_account(c),
            "keyring: a superseded key set that is not this device's, signed by its account",
        )?;
    }
    // Each section holds its own suite only (SPEC.md §3.9 steps 4–5).
    ensure(
        k.prekeys
            .iter()
            .all(|p| p.prekey.suite() == Suite::Classical)
            && k.hybrid_prekeys
                .iter()
                .all(|p| p.prekey.suite() == Suite::Hybrid),
        "keyring: a prekey in the other suite's section",
    )?;
    for entry in k.prekeys.iter().chain(&k.hybrid_prekeys) {
        let prekey = &entry.prekey;
        let signed = !signatures
            || crate::primitives::Ed25519Public::from_bytes(prekey.device_key())
                .is_ok_and(|key| prekey.verify_signature(&key).is_ok());
        ensure(
            *prekey.account() == account
                && prekey.device_id() == device_id
                && signed
                && (!signatures || entry.secret.public() == *prekey.key())
                && entry.key_id == prekey.key_id()
                && entry.key_id.0 == spec_prekey_key_id(prekey)
                && prekey.expires_at() > prekey.created_at()
                && prekey.expires_at() - prekey.created_at() <= limit::MAX_PREKEY_LIFETIME_MS,
            "keyring: a prekey that is not this device's, not its secret's, or not signed by the key it names",
        )?;
    }
    // No key held twice: key ids over everything, and each X25519 and
    // Ed25519 key over the key sets (SPEC.md §3.8 Re-key, §3.9 steps 3–4).
    let certificates = || core::iter::once(cert).chain(k.retired.iter().map(|r| &r.certificate));
    let mut ids: Vec<KeyId> = certificates()
        .map(DeviceCertificate::key_id)
        .chain(k.prekeys.iter().map(|p| p.key_id))
        .chain(k.hybrid_prekeys.iter().map(|p| p.key_id))
        .collect();
    let mut x: Vec<[u8; 32]> = certificates().map(|c| c.keys().x25519).collect();
    let mut ed: Vec<[u8; 32]> = certificates().map(|c| c.keys().ed25519).collect();
    let held = (ids.len(), x.len());
    ids.sort_unstable();
    ids.dedup();
    x.sort_unstable();
    x.dedup();
    ed.sort_unstable();
    ed.dedup();
    ensure(
        ids.len() == held.0 && x.len() == held.1 && ed.len() == held.1,
        "keyring: a key held twice",
    )?;
    check_export(k, &k.export(), signatures)
}

// ---------------------------------------------------------------------------
// keyring_ops
// ---------------------------------------------------------------------------

/// Opcodes of [`keyring_ops`] (the first byte of each operation, modulo
/// [`op::COUNT`]); the arguments follow, big-endian.
pub mod op {
    /// `u8 pool`: rotate at the clock, drawing pool secret `pool % 40`.
    pub const ROTATE: u8 = 0;
    /// `u16 minutes`: advance the clock.
    pub const ADVANCE: u8 = 1;
    /// Delete what expired at the clock.
    pub const DELETE: u8 = 2;
    /// `u8 set`: re-key to key set `set % 12` (its certificate variant 0)
    /// at the clock.
    pub const REKEY: u8 = 3;
    /// `u8 secret, u8 cert`: re-key with one set's secret, another's
    /// certificate (variant 0).
    pub const REKEY_MISMATCHED: u8 = 4;
    /// `u8 set, u8 variant`: re-key to the set with its certificate
    /// `variant % 9` (0, 1 capabilities 0; 2, 3 `CAPABILITY_PREKEYS`; 4
    /// another device id; 5 a forged signature; 6, 7 `CAPABILITY_PREKEYS |
    /// CAPABILITY_HYBRID`; 8 `CAPABILITY_HYBRID`).
    pub const REKEY_WITH: u8 = 5;
    /// `u8 set, u8 variant`: renew with the set's certificate `variant % 9`.
    pub const RENEW: u8 = 6;
    /// `u8 key`: open the envelope to pool key `key % 92` (40..52: key sets;
    /// 52..92: hybrid pool keys, hybrid envelopes).
    pub const OPEN: u8 = 7;
    /// `u16 r, u16 l, u16 g`: set the policy, in hours.
    pub const SET_POLICY: u8 = 8;
    /// `u64 t`: set the clock.
    pub const SET_CLOCK: u8 = 9;
    /// Replace the keyring by the import of its export.
    pub const RELOAD: u8 = 10;
    /// `u8 secret, u8 cert, u8 variant`: `DeviceKeyring::new` with one
    /// set's secret and another's certificate `variant % 9`; if it is made
    /// for carol's device it replaces the keyring.
    pub const CREATE: u8 = 11;
    /// `u8 pool`: rotate a hybrid prekey at the clock, drawing X-Wing seed
    /// `pool % 40` of the hybrid pool.
    pub const ROTATE_HYBRID: u8 = 12;
    /// Number of opcodes.
    pub const COUNT: u8 = 13;
}

/// The model's view of a held prekey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HeldPrekey {
    pool: usize,
    created_at: u64,
    expires_at: u64,
    signer: usize,
}

/// The keyring as SPEC.md §3.8 says it must be, in fixture indices.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Model {
    policy: PrekeyPolicy,
    current: usize,
    /// Which certificate variant of the current set is installed (0..=3,
    /// 6..=8).
    certificate: u8,
    retired: Vec<(usize, u64)>,
    prekeys: Vec<HeldPrekey>,
    /// Hybrid prekeys (`pool` indexes the hybrid pool).
    hybrid: Vec<HeldPrekey>,
}

struct Run<'a> {
    fx: &'a Fixture,
    keyring: DeviceKeyring,
    model: Model,
    clock: u64,
    /// The last export whose import was checked (imports are pure: the same
    /// bytes need no second check).
    checked: Vec<u8>,
}

/// Reads big-endian arguments; `None` at the end of the input.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }
    fn u16(&mut self) -> Option<u16> {
        self.take().map(u16::from_be_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_be_bytes)
    }
}

/// Structured keyring target: `data` is a sequence of operations ([`op`])
/// on carol's keyring, starting with key set 0, no prekeys, the default
/// policy and the clock at `NOW`. Each result is compared with a model of
/// SPEC.md §3.8. Oracles (each can fail):
/// * every operation succeeds or fails exactly as the model says, with the
///   model's error (catches a refusal in the wrong order, a missing limit):
///   the policy rule `0 < R`, `2R ≤ L ≤ 30 d`, `G ≤ 30 d`, `⌈(L+G)/R⌉ + 1 ≤
///   32`; creation, renewal and re-key verifying the certificate under its
///   own account key; renewal refusing a change of `CAPABILITY_PREKEYS`;
///   re-key refusing any X25519 or Ed25519 key of a held key set;
/// * an operation that fails leaves the export unchanged ("every refusal
///   changes nothing");
/// * after each operation the held prekeys, superseded sets, certificate,
///   policy, current prekey (ignoring prekeys made after the clock) and
///   rotation due-ness are the model's, within the limits, and the
///   invariants of SPEC.md §3.9 hold, with the export's layout (clamped
///   secrets, 240-byte superseded entries). A prekey outlives the
///   superseded key set that signed it: deletion removes each on its own
///   schedule and the export still imports;
/// * after `delete_expired(t)`, no prekey with `expires_at + G ≤ t` and no
///   superseded set with `retired_at + G ≤ t` is held, and the count
///   returned is the number removed;
/// * the export imports again and re-exports byte for byte, after every
///   operation (`load(export(k))` behaves exactly as `k`, SPEC.md §3.9);
/// * an honest envelope to a fixture key opens exactly when the keyring
///   holds that key (then with that key and the sealed payload), and is
///   `NotARecipient` otherwise, never `Unauthenticated`;
/// * a rotated prekey verifies for the device's current certificate;
/// * hybrid prekeys (SPEC.md §3.8 Rotate hybrid): `NotHybrid` exactly
///   without `CAPABILITY_HYBRID`, then `Full`, `InvalidPolicy`, `SameKeys`
///   as for Rotate among the hybrid ones; the rotated prekey is the hybrid
///   pool key (suite `0x0002`, 1,380 bytes); held hybrid prekeys, the
///   current hybrid prekey and hybrid due-ness (never for a certificate
///   without the bit) are the model's; renewal refuses a change of bit 1;
///   deletion removes them on the same rule; an honest hybrid envelope
///   opens (suite `Hybrid`) exactly while its seed is held;
/// * a keyring `DeviceKeyring::new` makes is its certificate's, empty, with
///   the default policy and a rotation due.
pub fn keyring_ops(fx: &Fixture, data: &[u8]) -> Outcome {
    let mut run = Run::new(fx)?;
    run.program(data)
}

impl<'a> Run<'a> {
    fn new(fx: &'a Fixture) -> Result<Self, Violation> {
        let keyring = fx.keys.keyring()?;
        let checked = keyring.export().to_vec();
        Ok(Run {
            fx,
            keyring,
            model: Model {
                policy: PrekeyPolicy::DEFAULT,
                current: 0,
                certificate: 0,
                retired: Vec::new(),
                prekeys: Vec::new(),
                hybrid: Vec::new(),
            },
            clock: NOW,
            checked,
        })
    }

    fn program(&mut self, data: &[u8]) -> Outcome {
        let mut input = Cursor(data);
        for _ in 0..MAX_OPS {
            let Some(code) = input.u8() else {
                return Ok(());
            };
            let before = self.keyring.export();
            let refused = match code % op::COUNT {
                op::ROTATE => match input.u8() {
                    Some(i) => self.rotate(usize::from(i) % PREKEY_POOL)?,
                    None => return Ok(()),
                },
                op::ADVANCE => match input.u16() {
                    Some(m) => {
                        self.clock = self.clock.saturating_add(u64::from(m) * MINUTE_MS);
                        false
                    }
                    None => return Ok(()),
                },
                op::DELETE => self.delete()?,
                op::REKEY => match input.u8() {
                    Some(i) => {
                        let i = usize::from(i) % KEY_SETS;
                        self.rekey(i, i, 0)?
                    }
                    None => return Ok(()),
                },
                op::REKEY_MISMATCHED => match (input.u8(), input.u8()) {
                    (Some(a), Some(b)) => {
                        self.rekey(usize::from(a) % KEY_SETS, usize::from(b) % KEY_SETS, 0)?
                    }
                    _ => return Ok(()),
                },
                op::REKEY_WITH => match (input.u8(), input.u8()) {
                    (Some(i), Some(v)) => {
                        let i = usize::from(i) % KEY_SETS;
                        self.rekey(i, i, v % CERTIFICATES)?
                    }
                    _ => return Ok(()),
                },
                op::RENEW => match (input.u8(), input.u8()) {
                    (Some(i), Some(v)) => {
                        self.renew(usize::from(i) % KEY_SETS, v % CERTIFICATES)?
                    }
                    _ => return Ok(()),
                },
                op::OPEN => match input.u8() {
                    Some(i) => {
                        self.open(usize::from(i) % (PREKEY_POOL + KEY_SETS + HYBRID_POOL))?
                    }
                    None => return Ok(()),
                },
                op::ROTATE_HYBRID => match input.u8() {
                    Some(i) => self.rotate_hybrid(usize::from(i) % HYBRID_POOL)?,
                    None => return Ok(()),
                },
                op::SET_POLICY => match (input.u16(), input.u16(), input.u16()) {
                    (Some(r), Some(l), Some(g)) => self.set_policy(PrekeyPolicy {
                        rotation_period_ms: u64::from(r) * HOUR_MS,
                        lifetime_ms: u64::from(l) * HOUR_MS,
                        grace_ms: u64::from(g) * HOUR_MS,
                    })?,
                    _ => return Ok(()),
                },
                op::SET_CLOCK => match input.u64() {
                    Some(t) => {
                        self.clock = t;
                        false
                    }
                    None => return Ok(()),
                },
                op::CREATE => match (input.u8(), input.u8(), input.u8()) {
                    (Some(a), Some(b), Some(v)) => self.create(
                        usize::from(a) % KEY_SETS,
                        usize::from(b) % KEY_SETS,
                        v % CERTIFICATES,
                    )?,
                    _ => return Ok(()),
                },
                _ => self.reload()?,
            };
            if refused {
                // Catches a refusal that changed the keyring.
                ensure(
                    self.keyring.export() == before,
                    "keyring ops: a refused operation changed the keyring",
                )?;
            }
            self.compare()?;
        }
        Ok(())
    }

    /// Checks a result against the model's prediction: `Ok(refused)`.
    fn as_predicted(
        got: Result<(), KeyringError>,
        expected: Option<KeyringError>,
    ) -> Result<bool, Violation> {
        match (got, expected) {
            (Ok(()), None) => Ok(false),
            (Err(e), Some(x)) if e == x => Ok(true),
            (Ok(()), Some(_)) => Err(Violation(
                "keyring ops: an operation succeeded that SPEC §3.8 refuses",
            )),
            (Err(_), None) => Err(Violation(
                "keyring ops: an operation was refused that SPEC §3.8 allows",
            )),
            (Err(_), Some(_)) => Err(Violation(
                "keyring ops: refused with another error than SPEC §3.8 gives",
            )),
        }
    }

    fn holds_pool(&self, pool: usize) -> bool {
        self.model.prekeys.iter().any(|p| p.pool == pool)
    }

    fn holds_hybrid_pool(&self, pool: usize) -> bool {
        self.model.hybrid.iter().any(|p| p.pool == pool)
    }

    /// The key sets held, current first.
    fn held_sets(&self) -> impl Iterator<Item = usize> + '_ {
        core::iter::once(self.model.current).chain(self.model.retired.iter().map(|(s, _)| *s))
    }

    /// Whether a held key set has set `set`'s X25519 key (so its key id):
    /// an envelope wrapped to `set`'s certificate key opens.
    fn holds_x25519_of(&self, set: usize) -> Result<bool, Violation> {
        let keys = &self.fx.keys;
        let x = keys.set(set)?.secret.public_keys().x25519;
        for h in self.held_sets() {
            if keys.set(h)?.secret.public_keys().x25519 == x {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn rotate(&mut self, pool: usize) -> Result<bool, Violation> {
        let keys = &self.fx.keys;
        let key = keys.pool_key(pool)?;
        let expires_at = self
            .clock
            .checked_add(self.model.policy.lifetime_ms)
            .filter(|t| *t != u64::MAX);
        let expected = if self.model.prekeys.len() >= limit::MAX_KEYRING_PREKEYS {
            Some(KeyringError::Full)
        } else if expires_at.is_none() {
            Some(KeyringError::InvalidPolicy)
        } else if self.holds_pool(pool) {
            Some(KeyringError::SameKeys)
        } else {
            None
        };
        let result = self
            .keyring
            .rotate_prekey(self.clock, &mut FixedRng(key.secret));
        let refused =
            Self::as_predicted(result.as_ref().map(|_| ()).map_err(Clone::clone), expected)?;
        if let (Ok(prekey), Some(expires_at)) = (result, expires_at) {
            let set = keys.set(self.model.current)?;
            // The published prekey is the pool key, signed now by the
            // current key for this device, and verifies for it.
            ensure(
                prekey.public_key() == key.public
                    && prekey.created_at() == self.clock
                    && prekey.expires_at() == expires_at
                    && *prekey.device_key() == set.secret.public_keys().ed25519
                    && prekey.verify(&set.verified, self.clock).is_ok(),
                "keyring ops: the rotated prekey is not the device's for now",
            )?;
            self.model.prekeys.push(HeldPrekey {
                pool,
                created_at: self.clock,
                expires_at,
                signer: self.model.current,
            });
        }
        Ok(refused)
    }

    /// SPEC.md §3.8 Rotate hybrid: `NotHybrid` without `CAPABILITY_HYBRID`,
    /// then as Rotate among the hybrid prekeys (`Full`, `InvalidPolicy`,
    /// `SameKeys`).
    fn rotate_hybrid(&mut self, pool: usize) -> Result<bool, Violation> {
        let keys = &self.fx.keys;
        let key = keys.hybrid_pool_key(pool)?;
        let expires_at = self
            .clock
            .checked_add(self.model.policy.lifetime_ms)
            .filter(|t| *t != u64::MAX);
        let expected = if !variant_supports_hybrid(self.model.certificate) {
            Some(KeyringError::NotHybrid)
        } else if self.model.hybrid.len() >= limit::MAX_KEYRING_PREKEYS {
            Some(KeyringError::Full)
        } else if expires_at.is_none() {
            Some(KeyringError::InvalidPolicy)
        } else if self.holds_hybrid_pool(pool) {
            Some(KeyringError::SameKeys)
        } else {
            None
        };
        let result = self
            .keyring
            .rotate_hybrid_prekey(self.clock, &mut FixedRng(key.seed));
        let refused =
            Self::as_predicted(result.as_ref().map(|_| ()).map_err(Clone::clone), expected)?;
        if let (Ok(prekey), Some(expires_at)) = (result, expires_at) {
            let set = keys.set(self.model.current)?;
            // The published prekey is the hybrid pool key (suite 0x0002,
            // 1,380 bytes), signed now by the current key for this device,
            // and verifies for it.
            ensure(
                prekey.suite() == Suite::Hybrid
                    && prekey.to_bytes().len() == HYBRID_SIGNED_PREKEY_LEN
                    && prekey.public_key() == key.public.as_slice()
                    && prekey.key_id() == key.key_id
                    && prekey.created_at() == self.clock
                    && prekey.expires_at() == expires_at
                    && *prekey.device_key() == set.secret.public_keys().ed25519
                    && prekey.verify(&set.verified, self.clock).is_ok(),
                "keyring ops: the rotated hybrid prekey is not the device's for now",
            )?;
            self.model.hybrid.push(HeldPrekey {
                pool,
                created_at: self.clock,
                expires_at,
                signer: self.model.current,
            });
        }
        Ok(refused)
    }

    fn delete(&mut self) -> Result<bool, Violation> {
        let now = self.clock;
        let grace = self.model.policy.grace_ms;
        let before = self.model.prekeys.len() + self.model.hybrid.len() + self.model.retired.len();
        self.model
            .prekeys
            .retain(|p| p.expires_at.saturating_add(grace) > now);
        self.model
            .hybrid
            .retain(|p| p.expires_at.saturating_add(grace) > now);
        self.model
            .retired
            .retain(|(_, at)| at.saturating_add(grace) > now);
        let removed =
            before - self.model.prekeys.len() - self.model.hybrid.len() - self.model.retired.len();
        let deleted = self.keyring.delete_expired(now);
        ensure(
            deleted == removed,
            "keyring ops: delete_expired removed another number of secrets",
        )?;
        // Directly on the keyring: catches an off-by-one at the boundary
        // even if the model had the same one.
        ensure(
            self.keyring
                .prekeys()
                .all(|p| p.expires_at().saturating_add(grace) > now)
                && self
                    .keyring
                    .retired
                    .iter()
                    .all(|r| r.retired_at.saturating_add(grace) > now),
            "keyring ops: a secret past its grace period survived delete_expired",
        )?;
        Ok(false)
    }

    /// Re-key to `secret`'s keys with certificate `variant` of set
    /// `certificate`. SPEC.md §3.8 order: WrongDevice, KeyMismatch,
    /// Certificate, SameKeys (any key of a held key set), Full.
    fn rekey(&mut self, secret: usize, certificate: usize, variant: u8) -> Result<bool, Violation> {
        let keys = &self.fx.keys;
        let (s, c) = (keys.set(secret)?, keys.set(certificate)?);
        let cert = c.certificate(variant)?;
        let expected = if variant == OTHER_DEVICE {
            Some(KeyringError::WrongDevice)
        } else if s.secret.public_keys() != c.secret.public_keys() {
            Some(KeyringError::KeyMismatch)
        } else if variant == FORGED {
            Some(KeyringError::Certificate(CertificateError::BadSignature))
        } else if keys.shares_a_key(secret, self.held_sets())? {
            Some(KeyringError::SameKeys)
        } else if self.model.retired.len() >= limit::MAX_KEYRING_RETIRED {
            Some(KeyringError::Full)
        } else {
            None
        };
        let copy = DeviceSecret::from_secret_bytes(&s.secret.export_secret_bytes());
        let result = self.keyring.rekey(copy, cert.clone(), self.clock);
        let refused = Self::as_predicted(result, expected)?;
        if !refused {
            self.model.retired.push((self.model.current, self.clock));
            self.model.current = secret;
            self.model.certificate = variant;
        }
        Ok(refused)
    }

    /// Renew with certificate `variant` of set `set`. SPEC.md §3.8 order:
    /// WrongDevice, KeyMismatch, CapabilityChange (bit 0 or bit 1 differs
    /// from the installed certificate's), Certificate.
    fn renew(&mut self, set: usize, variant: u8) -> Result<bool, Violation> {
        let keys = &self.fx.keys;
        let s = keys.set(set)?;
        let cert = s.certificate(variant)?;
        let current = keys.set(self.model.current)?;
        let expected = if variant == OTHER_DEVICE {
            Some(KeyringError::WrongDevice)
        } else if s.secret.public_keys() != current.secret.public_keys() {
            Some(KeyringError::KeyMismatch)
        } else if variant_bits(variant) != variant_bits(self.model.certificate) {
            Some(KeyringError::CapabilityChange)
        } else if variant == FORGED {
            Some(KeyringError::Certificate(CertificateError::BadSignature))
        } else {
            None
        };
        let result = self.keyring.renew_certificate(cert.clone());
        let refused = Self::as_predicted(result, expected)?;
        if !refused {
            self.model.certificate = variant;
        }
        Ok(refused)
    }

    /// `DeviceKeyring::new` with `secret`'s keys and certificate `variant`
    /// of set `certificate`: KeyMismatch, then the certificate's own
    /// verification (expiry not checked). A keyring made for carol's device
    /// replaces the current one: the default policy, nothing else held. One
    /// made for the other device id is checked and dropped.
    fn create(
        &mut self,
        secret: usize,
        certificate: usize,
        variant: u8,
    ) -> Result<bool, Violation> {
        let keys = &self.fx.keys;
        let (s, c) = (keys.set(secret)?, keys.set(certificate)?);
        let cert = c.certificate(variant)?;
        let expected = if s.secret.public_keys() != c.secret.public_keys() {
            Some(CertificateError::KeyMismatch)
        } else if variant == FORGED {
            Some(CertificateError::BadSignature)
        } else {
            None
        };
        let copy = DeviceSecret::from_secret_bytes(&s.secret.export_secret_bytes());
        match (DeviceKeyring::new(copy, cert.clone()), expected) {
            (Ok(made), None) => {
                ensure(
                    made.certificate() == cert
                        && made.key_id() == c.key_id
                        && *made.policy() == PrekeyPolicy::DEFAULT
                        && made.prekeys().next().is_none()
                        && made.retired.is_empty()
                        && made.current_prekey(self.clock).is_none()
                        && made.needs_rotation(self.clock),
                    "keyring ops: a new keyring is not its certificate's, empty, with the default policy",
                )?;
                check_invariants(&made, false)?;
                if variant != OTHER_DEVICE {
                    self.keyring = made;
                    self.model = Model {
                        policy: PrekeyPolicy::DEFAULT,
                        current: secret,
                        certificate: variant,
                        retired: Vec::new(),
                        prekeys: Vec::new(),
                        hybrid: Vec::new(),
                    };
                }
                Ok(false)
            }
            (Err(e), Some(x)) if e == x => Ok(true),
            (Ok(_), Some(_)) => Err(Violation(
                "keyring ops: DeviceKeyring::new accepted what SPEC §3.8 Create refuses",
            )),
            (Err(_), None) => Err(Violation(
                "keyring ops: DeviceKeyring::new refused what SPEC §3.8 Create allows",
            )),
            (Err(_), Some(_)) => Err(Violation(
                "keyring ops: DeviceKeyring::new refused with another error than SPEC §3.8 gives",
            )),
        }
    }

    fn set_policy(&mut self, policy: PrekeyPolicy) -> Result<bool, Violation> {
        let expected = (!policy_is_valid(&policy)).then_some(KeyringError::InvalidPolicy);
        let refused = Self::as_predicted(self.keyring.set_policy(policy), expected)?;
        if !refused {
            self.model.policy = policy;
        }
        Ok(refused)
    }

    fn open(&mut self, which: usize) -> Result<bool, Violation> {
        let keys = &self.fx.keys;
        let hybrid = which.checked_sub(PREKEY_POOL + KEY_SETS);
        let (envelope, key_id, held) = match (which.checked_sub(PREKEY_POOL), hybrid) {
            (None, _) => {
                let k = keys.pool_key(which)?;
                (&k.envelope, k.key_id, self.holds_pool(which))
            }
            (Some(set), None) => {
                let s = keys.set(set)?;
                (&s.envelope, s.key_id, self.holds_x25519_of(set)?)
            }
            (_, Some(h)) => {
                let k = keys.hybrid_pool_key(h)?;
                (&k.envelope, k.key_id, self.holds_hybrid_pool(h))
            }
        };
        let suite = if hybrid.is_some() {
            Suite::Hybrid
        } else {
            Suite::Classical
        };
        match open(&self.keyring, envelope, &self.fx.directory, OPEN_AT) {
            Ok(opened) => {
                ensure(
                    held,
                    "keyring ops: opened with a key the keyring must not hold",
                )?;
                ensure(
                    opened.opened_with() == key_id
                        && opened.suite() == suite
                        && opened.payload() == PAYLOAD
                        && opened.aad() == AAD,
                    "keyring ops: opened with another key or suite, or another message",
                )?;
            }
            Err(OpenError::NotARecipient) => ensure(
                !held,
                "keyring ops: an envelope to a held key is NotARecipient",
            )?,
            Err(_) => {
                return Err(Violation(
                    "keyring ops: an honest envelope failed other than NotARecipient",
                ))
            }
        }
        Ok(false)
    }

    fn reload(&mut self) -> Result<bool, Violation> {
        let bytes = self.keyring.export();
        self.keyring = DeviceKeyring::import(&bytes).map_err(fail(
            "keyring ops: the export of a reachable keyring does not import",
        ))?;
        Ok(false)
    }

    /// The keyring against the model, the limits and the round trip.
    fn compare(&mut self) -> Outcome {
        let keys = &self.fx.keys;
        let k = &self.keyring;
        let m = &self.model;
        let set = keys.set(m.current)?;
        let cert = set.certificate(m.certificate)?;
        ensure(
            k.certificate() == cert && k.key_id() == set.key_id && *k.policy() == m.policy,
            "keyring ops: certificate, current keys or policy differ from the model",
        )?;

        let mut expected_prekeys = Vec::with_capacity(m.prekeys.len());
        for p in &m.prekeys {
            let key_id = keys.pool_key(p.pool)?.key_id;
            let signer = keys.set(p.signer)?.secret.public_keys().ed25519;
            expected_prekeys.push((p.created_at, key_id, p.expires_at, signer));
        }
        expected_prekeys.sort_unstable_by_key(|(c, id, _, _)| (*c, *id));
        let mut expected_hybrid = Vec::with_capacity(m.hybrid.len());
        for p in &m.hybrid {
            let key_id = keys.hybrid_pool_key(p.pool)?.key_id;
            let signer = keys.set(p.signer)?.secret.public_keys().ed25519;
            expected_hybrid.push((p.created_at, key_id, p.expires_at, signer));
        }
        expected_hybrid.sort_unstable_by_key(|(c, id, _, _)| (*c, *id));
        let held = |list: &[PrekeySecret]| -> Vec<(u64, KeyId, u64, [u8; 32])> {
            list.iter()
                .map(|p| &p.prekey)
                .map(|p| (p.created_at(), p.key_id(), p.expires_at(), *p.device_key()))
                .collect()
        };
        ensure(
            held(&k.prekeys) == expected_prekeys,
            "keyring ops: held prekeys differ from the model",
        )?;
        ensure(
            held(&k.hybrid_prekeys) == expected_hybrid,
            "keyring ops: held hybrid prekeys differ from the model",
        )?;
        // The public list: classical oldest first, then hybrid oldest first.
        ensure(
            k.prekeys().map(|p| p.key_id()).eq(expected_prekeys
                .iter()
                .chain(&expected_hybrid)
                .map(|(_, id, _, _)| *id)),
            "keyring ops: prekeys() is not the classical then the hybrid prekeys",
        )?;
        let mut expected_retired = Vec::with_capacity(m.retired.len());
        for (s, at) in &m.retired {
            expected_retired.push((*at, keys.set(*s)?.key_id));
        }
        expected_retired.sort_unstable();
        ensure(
            k.retired
                .iter()
                .map(|r| (r.retired_at, r.key_id))
                .eq(expected_retired.iter().copied()),
            "keyring ops: superseded key sets differ from the model",
        )?;

        // The current prekey: the newest (created_at, key id) signed by the
        // current key, made at or before now and not expired; a rotation is
        // due without one or a rotation period after it. The signer is
        // compared by key: a set sharing an Ed25519 key with a deleted one
        // makes that set's prekeys current again.
        let now = self.clock;
        let signer = set.secret.public_keys().ed25519;
        let current = expected_prekeys
            .iter()
            .filter(|(c, _, expires_at, s)| *s == signer && *c <= now && *expires_at > now)
            .max_by_key(|(c, id, _, _)| (*c, *id));
        ensure(
            k.current_prekey(now).map(|p| p.key_id()) == current.map(|(_, id, _, _)| *id),
            "keyring ops: current_prekey differs from SPEC §3.8",
        )?;
        let due =
            current.is_none_or(|(c, _, _, _)| now >= c.saturating_add(m.policy.rotation_period_ms));
        ensure(
            k.needs_rotation(now) == due,
            "keyring ops: needs_rotation differs from SPEC §3.8",
        )?;
        // The same among the hybrid prekeys; a hybrid rotation is never due
        // for a certificate without CAPABILITY_HYBRID (SPEC.md §3.8).
        let current_hybrid = expected_hybrid
            .iter()
            .filter(|(c, _, expires_at, s)| *s == signer && *c <= now && *expires_at > now)
            .max_by_key(|(c, id, _, _)| (*c, *id));
        ensure(
            k.current_hybrid_prekey(now).map(|p| p.key_id())
                == current_hybrid.map(|(_, id, _, _)| *id),
            "keyring ops: current_hybrid_prekey differs from SPEC §3.8",
        )?;
        let hybrid_due = variant_supports_hybrid(m.certificate)
            && current_hybrid
                .is_none_or(|(c, _, _, _)| now >= c.saturating_add(m.policy.rotation_period_ms));
        ensure(
            k.needs_hybrid_rotation(now) == hybrid_due,
            "keyring ops: needs_hybrid_rotation differs from SPEC §3.8",
        )?;

        let bytes = k.export();
        if bytes.as_slice() != self.checked.as_slice() {
            let again = DeviceKeyring::import(&bytes).map_err(fail(
                "keyring ops: the export of a reachable keyring does not import",
            ))?;
            ensure(
                again.export() == bytes,
                "keyring ops: export, import, export is not the same bytes",
            )?;
            self.checked = bytes.to_vec();
        }
        check_invariants(k, false)
    }
}

/// Encodes a `keyring_ops` program from `(opcode, arguments)` pairs.
pub fn encode_ops(ops: &[(u8, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (code, args) in ops {
        out.push(*code);
        out.extend_from_slice(args);
    }
    out
}
