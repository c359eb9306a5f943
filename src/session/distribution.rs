//! The session distribution (object type `0x09`, SPEC.md §15.4): the
//! payload of one ordinary envelope that hands a session's current chain
//! state to every recipient device.
//!
//! ```text
//! offset size  field
//!      0    1  wire version           0x02
//!      1    1  object type            0x09 (session distribution)
//!      2    2  suite                  0x0001
//!      4   16  session seed           the session id derives from it and the sender
//!     20    4  index                  u32, the next index the sender will use, 0 ..= 2^32 - 2
//!     24   32  chain key              the chain key of that index
//!     56    8  created at             u64 ms, the sender's clock when the session began
//!     64    4  max_messages           u32, of the sender's rotation policy
//!     68    8  max_age_ms             u64, of the sender's rotation policy
//!     76    4  conversation id length u32, 0 ..= MAX_CONVERSATION_ID
//!     80    n  conversation id        equal to the envelope's AAD
//! ```
//!
//! The sending device is not named here: the envelope authenticates it
//! (its certificate, on its account's verified list, signed the envelope).

use alloc::vec::Vec;
use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::codec::{Reader, Writer};
use crate::consts::{session as s, SUITE_X25519_SHA256_AES256GCM_ED25519};
use crate::error::DecodeError;
use crate::session::chain::ChainKey;
use crate::session::message::SessionId;
use crate::session::policy::RotationPolicy;

/// Fixed part of a distribution (bytes).
pub(crate) const DISTRIBUTION_FIXED: usize = 2 + 2 + s::SESSION_ID + 4 + 32 + 8 + 4 + 8 + 4;

/// A decoded distribution. Holds the chain key: wiped on drop, never printed.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct Distribution {
    /// The 16 random bytes the session id derives from, with the sender
    /// (§15.4): [`Distribution::session_id`].
    pub(crate) seed: [u8; s::SESSION_ID],
    pub(crate) index: u32,
    pub(crate) chain_key: ChainKey,
    pub(crate) created_at: u64,
    /// The sender's rotation policy: receivers hold it to it (M8 of the
    /// review).
    #[zeroize(skip)]
    pub(crate) policy: RotationPolicy,
    pub(crate) conversation: Vec<u8>,
}

impl fmt::Debug for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Distribution")
            .field("seed", &self.seed)
            .field("index", &self.index)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// Encodes a distribution into a buffer wiped on drop (exactly sized, so it
/// never reallocates and leaves no copy of the chain key behind).
pub(crate) fn encode(
    seed: &[u8; s::SESSION_ID],
    index: u32,
    chain_key: &ChainKey,
    created_at: u64,
    policy: &RotationPolicy,
    conversation: &[u8],
) -> Zeroizing<Vec<u8>> {
    let mut w = Writer::with_capacity(DISTRIBUTION_FIXED + conversation.len());
    w.object_prefix(s::DISTRIBUTION_TYPE);
    w.u16(SUITE_X25519_SHA256_AES256GCM_ED25519);
    w.put(seed);
    w.u32(index);
    w.put(chain_key.as_bytes());
    w.u64(created_at);
    w.u32(policy.max_messages);
    w.u64(policy.max_age_ms);
    w.bytes_u32(conversation);
    Zeroizing::new(w.into_vec())
}

/// Reads an index that must be below `u32::MAX` (the chain's last index is
/// `2^32 − 2`, so `index + 1` always fits).
pub(crate) fn read_index(r: &mut Reader<'_>, field: &'static str) -> Result<u32, DecodeError> {
    let index = r.u32(field)?;
    let max = u32::MAX - 1;
    r.bounded(
        usize::try_from(index).unwrap_or(usize::MAX),
        0,
        usize::try_from(max).unwrap_or(usize::MAX),
        field,
    )?;
    Ok(index)
}

impl Distribution {
    /// The session id this distribution names when `sender` sent it.
    pub(crate) fn session_id(&self, sender: &crate::identity::DeviceCertificate) -> SessionId {
        crate::session::schedule::session_id(sender, &self.conversation, &self.seed)
    }

    /// Decodes the one canonical encoding (SPEC.md §15.4): version,
    /// type `0x09`, suite, session seed, index (`OutOfRange` at `u32::MAX`),
    /// chain key, created at, the rotation policy (`Inconsistent` out of
    /// bounds), conversation id length (`OutOfRange` above
    /// [`s::MAX_CONVERSATION_ID`], before allocating), its bytes, no
    /// trailing bytes.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        r.object_prefix(s::DISTRIBUTION_TYPE)?;
        r.suite()?;
        let seed = r.array("session seed")?;
        let index = read_index(&mut r, "index")?;
        let chain_key = ChainKey::from_bytes(&Zeroizing::new(r.array("chain key")?));
        let created_at = r.u64("created at")?;
        let policy = RotationPolicy {
            max_messages: r.u32("max messages")?,
            max_age_ms: r.u64("max age")?,
        };
        if !policy.is_valid() {
            return Err(DecodeError::Inconsistent("rotation policy"));
        }
        let conversation = r
            .bytes_u32(s::MAX_CONVERSATION_ID, "conversation id")?
            .to_vec();
        r.finish()?;
        Ok(Distribution {
            seed,
            index,
            chain_key,
            created_at,
            policy,
            conversation,
        })
    }
}

/// True when an opened envelope's payload is a session distribution (it
/// starts with the prefix `0x02 0x09`, SPEC.md §15.4): pass it to
/// [`crate::InboundSessions::receive`]; otherwise it is an ordinary
/// message. The payload is authenticated, so only the sender chooses;
/// an application whose ordinary payloads may themselves start with these
/// two bytes must frame its payloads so that they cannot (for example
/// with a type byte of its own), or tell distributions apart by the
/// envelope's AAD.
///
/// # Example
/// ```
/// use fanseal::*;
/// use rand_core::SeedableRng;
/// let mut rng = rand_chacha::ChaCha20Rng::from_seed([7; 32]);
/// let now = 1_764_300_000_000;
/// let account = AccountSecret::generate(&mut rng);
/// let (phone, laptop) = (DeviceSecret::generate(&mut rng), DeviceSecret::generate(&mut rng));
/// let certify = |id: u8, keys| {
///     account.certify_device(&CertificateParams {
///         device_id: DeviceId::from_bytes([id; 16]),
///         keys,
///         created_at: now,
///         expires_at: None,
///         capabilities: 0,
///     })
/// };
/// let phone_cert = certify(1, phone.public_keys()).unwrap();
/// let laptop_cert = certify(2, laptop.public_keys()).unwrap();
/// let list = account
///     .issue_device_list(None, now, vec![phone_cert.clone(), laptop_cert.clone()])
///     .unwrap()
///     .verify(&account.public_key())
///     .unwrap();
///
/// // The phone starts a session and distributes it to the laptop.
/// let mut session =
///     OutboundSession::new(&phone_cert, b"chat", RotationPolicy::DEFAULT, now, &mut rng).unwrap();
/// let envelope = session
///     .distribute(&phone, &phone_cert, &[&list], &[], Padding::Padme, now, &mut rng)
///     .unwrap();
/// let laptop = DeviceKeyring::new(laptop, laptop_cert).unwrap();
/// let opened = open(&laptop, &envelope.to_bytes(), &[list], now).unwrap();
/// assert!(session::is_distribution(&opened));
/// ```
pub fn is_distribution(opened: &crate::Opened) -> bool {
    opened
        .payload()
        .starts_with(&[crate::consts::WIRE_VERSION, s::DISTRIBUTION_TYPE])
}
