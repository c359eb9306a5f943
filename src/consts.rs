//! Every wire constant, domain-separation label and limit, in one screen.
//!
//! Each item cites the SPEC.md section that defines it. Labels are distinct per
//! object type, and every label is written length-prefixed (`u8 len || label`)
//! wherever it is hashed or signed, so no label is a prefix of another use.

/// Wire version of every object in this crate (SPEC.md §2.1).
pub const WIRE_VERSION: u8 = 0x02;

/// Suite 1: X25519, HKDF-SHA256, AES-256-GCM, Ed25519 (SPEC.md §2.2).
pub const SUITE_X25519_SHA256_AES256GCM_ED25519: u16 = 0x0001;

/// Suite 2, the post-quantum hybrid: X-Wing (ML-KEM-768 + X25519,
/// draft-ietf-hpke-pq KEM `0x647a`), HKDF-SHA256, AES-256-GCM, Ed25519
/// (SPEC.md §2.2). Only envelopes and signed prekeys carry it.
pub const SUITE_XWING_SHA256_AES256GCM_ED25519: u16 = 0x0002;

/// Object type bytes (SPEC.md §2.1).
pub(crate) mod object_type {
    pub(crate) const DEVICE_CERTIFICATE: u8 = 0x01;
    pub(crate) const DEVICE_LIST: u8 = 0x02;
    pub(crate) const ENVELOPE: u8 = 0x03;
    pub(crate) const DELIVERY: u8 = 0x04;
    pub(crate) const FORK_EVIDENCE: u8 = 0x05;
    pub(crate) const SAFETY_NUMBER: u8 = 0x06;
    pub(crate) const SIGNED_PREKEY: u8 = 0x07;
    /// Persisted state, never sent (SPEC.md §3.9).
    pub(crate) const DEVICE_KEYRING: u8 = 0x20;
    /// Persisted replay guard (SPEC.md §6.4). `0x20` is reserved for the
    /// device keyring, `0x22` and up for later client state.
    pub(crate) const REPLAY_GUARD: u8 = 0x21;
    /// Persisted trust store (SPEC.md §14.2).
    pub(crate) const TRUST_STORE: u8 = 0x22;
}

/// Certificate capability bits defined by this specification (SPEC.md §3.3).
/// Bits 0–15 are reserved for fanseal; bits 16–31 are the application's.
pub mod capability {
    /// The device has signed prekeys, and senders MUST wrap to one of them
    /// (never to the certificate's X25519 key): SPEC.md §4.9.
    pub const PREKEYS: u32 = 0x0000_0001;
    /// The device publishes hybrid (X-Wing) signed prekeys and opens suite
    /// `0x0002` envelopes; an envelope whose every recipient device has it
    /// MUST use the hybrid suite (SPEC.md §4.10).
    pub const HYBRID: u32 = 0x0000_0002;
    /// The bits a renewal of a kept device key cannot change (SPEC.md §3.4).
    pub(crate) const KEY_BOUND: u32 = PREKEYS | HYBRID;
    /// The bits fanseal reserves; the others are the application's.
    pub const RESERVED: u32 = 0x0000_ffff;
}

/// Domain-separation labels (SPEC.md §2.3). One per signed or hashed object type.
pub(crate) mod label {
    /// Signature over a device certificate (§3.3).
    pub(crate) const CERTIFICATE_SIGNATURE: &[u8] = b"fanseal v2 device certificate signature";
    /// Signature over a device list (§3.4).
    pub(crate) const DEVICE_LIST_SIGNATURE: &[u8] = b"fanseal v2 device list signature";
    /// Hash of a device list's signed contents, chained by the next list (§3.4).
    pub(crate) const DEVICE_LIST_HASH: &[u8] = b"fanseal v2 device list hash";
    /// Recipient binding of a certified device key, bound into the wraps made for it (§4.5).
    pub(crate) const RECIPIENT_BINDING: &[u8] = b"fanseal v2 recipient binding";
    /// Key id of a device X25519 key (§3.2).
    pub(crate) const KEY_ID: &[u8] = b"fanseal v2 key id";
    /// Key id of a signed prekey's X25519 key (§3.7).
    pub(crate) const PREKEY_KEY_ID: &[u8] = b"fanseal v2 prekey key id";
    /// Key id of a hybrid signed prekey's X-Wing key (§3.7).
    pub(crate) const HYBRID_PREKEY_KEY_ID: &[u8] = b"fanseal v2 hybrid prekey key id";
    /// Recipient binding of a hybrid prekey's X-Wing key (§4.5).
    pub(crate) const HYBRID_RECIPIENT_BINDING: &[u8] = b"fanseal v2 hybrid recipient binding";
    /// Safety number digest (§3.6).
    pub(crate) const SAFETY_NUMBER: &[u8] = b"fanseal v2 safety number";
    /// Envelope binding context: the header without its commitment (§4.3).
    pub(crate) const ENVELOPE_CONTEXT: &[u8] = b"fanseal v2 envelope context";
    /// Envelope header hash: context hash plus commitment (§4.3).
    pub(crate) const ENVELOPE_HEADER: &[u8] = b"fanseal v2 envelope header";
    /// HKDF salt for the message secret (§4.4).
    pub(crate) const MESSAGE_SECRET: &[u8] = b"fanseal v2 message secret";
    /// HKDF info prefix for the key commitment (§4.4).
    pub(crate) const COMMITMENT: &[u8] = b"fanseal v2 key commitment";
    /// HKDF info prefix for the body key (§4.4).
    pub(crate) const BODY_KEY: &[u8] = b"fanseal v2 body key";
    /// HKDF info prefix for the body nonce (§4.4).
    pub(crate) const BODY_NONCE: &[u8] = b"fanseal v2 body nonce";
    /// HPKE `info` prefix for the per-device wrap (§4.5).
    pub(crate) const WRAP_INFO: &[u8] = b"fanseal v2 wrap";
    /// Signature over a signed prekey, by the device key (§3.7).
    pub(crate) const PREKEY_SIGNATURE: &[u8] = b"fanseal v2 signed prekey signature";
    /// Signature over an envelope transcript (§4.6).
    pub(crate) const ENVELOPE_SIGNATURE: &[u8] = b"fanseal v2 envelope signature";
}

/// Sizes of fixed fields (SPEC.md §2.4).
pub mod size {
    /// Ed25519 or X25519 public key.
    pub const PUBLIC_KEY: usize = 32;
    /// Ed25519 signature.
    pub const SIGNATURE: usize = 64;
    /// Device id.
    pub const DEVICE_ID: usize = 16;
    /// Key id of a device X25519 key.
    pub const KEY_ID: usize = 16;
    /// Message id.
    pub const MESSAGE_ID: usize = 16;
    /// SHA-256 digest, list hash, key commitment, message secret.
    pub const HASH: usize = 32;
    /// AES-GCM tag.
    pub const TAG: usize = 16;
    /// A per-device wrap: the AES-256-GCM encryption of the 32-byte message secret.
    pub const WRAP: usize = HASH + TAG;
    /// X-Wing public key (ML-KEM-768 encapsulation key 1,184 || X25519 32).
    pub const XWING_PUBLIC_KEY: usize = 1216;
    /// X-Wing ciphertext (ML-KEM-768 ciphertext 1,088 || X25519 32).
    pub const XWING_CIPHERTEXT: usize = 1120;
    /// A hybrid per-device wrap: the X-Wing ciphertext and the 48-byte wrap.
    pub const HYBRID_WRAP: usize = XWING_CIPHERTEXT + WRAP;
    /// Safety number digest bytes.
    pub const SAFETY_DIGEST: usize = 60;
}

/// Limits every decoder and builder enforces before allocating (SPEC.md §2.5).
pub mod limit {
    /// Devices in one device list.
    pub const MAX_DEVICES_PER_LIST: usize = 256;
    /// Recipient devices in one envelope.
    pub const MAX_RECIPIENTS: usize = 1024;
    /// Caller associated data carried in an envelope.
    pub const MAX_AAD: usize = 64 * 1024;
    /// Payload of one envelope (64 MiB).
    pub const MAX_PAYLOAD: usize = 64 * 1024 * 1024;
    /// Body ciphertext of one envelope: payload plus its framing and padding.
    /// Padmé adds at most 12 % to bodies this large; the bound leaves room.
    pub const MAX_BODY: usize = MAX_PAYLOAD + MAX_PAYLOAD / 8 + 2 * MAX_AAD;
    /// Longest validity of a signed prekey, `expires_at − created_at`: 30 days in ms (§3.7).
    pub const MAX_PREKEY_LIFETIME_MS: u64 = 30 * DAY_MS;
    /// Longest grace period a keyring keeps a superseded secret: 30 days in ms (§3.8).
    pub const MAX_GRACE_MS: u64 = 30 * DAY_MS;
    /// How far in the future a prekey's `created_at` may be at verification
    /// and seal, for clocks that differ: one hour in ms (§3.7).
    pub const MAX_PREKEY_CLOCK_SKEW_MS: u64 = 60 * 60 * 1000;
    /// Verified prekeys one seal takes (§5.1).
    pub const MAX_SEAL_PREKEYS: usize = 4 * MAX_RECIPIENTS;
    /// Prekey secrets of each suite one keyring holds (§3.8): 32 classical
    /// and 32 hybrid at most.
    pub const MAX_KEYRING_PREKEYS: usize = 32;
    /// Superseded device key sets one keyring holds besides the current one (§3.8).
    pub const MAX_KEYRING_RETIRED: usize = 8;
    /// Contact accounts one trust store holds (§14.1).
    pub const MAX_CONTACTS: usize = 65_536;
    /// Replaced lists a trust store keeps per contact (§14.1).
    pub const MAX_TRUST_HISTORY: usize = 8;
    /// One day in milliseconds.
    pub const DAY_MS: u64 = 24 * 60 * 60 * 1000;
    /// Ids a replay guard remembers per sender account, at most (SPEC.md §6.1).
    pub const MAX_REPLAY_CAPACITY: usize = 1 << 20;
    /// Sender accounts a replay guard tracks, at most (SPEC.md §6.1).
    pub const MAX_REPLAY_ACCOUNTS: usize = 1 << 20;
}

/// Attachments: Cobblestone-256 (C2SP chunked encryption) and the attachment
/// reference (SPEC.md §11). Kept in one block at the end of this file.
pub(crate) mod attachment {
    /// Object type byte of an encoded attachment reference (SPEC.md §11.7).
    pub const REFERENCE_OBJECT_TYPE: u8 = 0x10;
    /// Scheme id inside a reference: Cobblestone-256 with the fanseal context
    /// of SPEC.md §11.2 (the only scheme this crate reads).
    pub const SCHEME_COBBLESTONE_256: u16 = 0x0001;
    /// HKDF-Expand info prefix of C2SP chunked encryption v1 (SPEC.md §11.3).
    pub(crate) const C2SP_INFO_PREFIX: &[u8] = b"c2sp.org/chunked-encryption@v1+";
    /// IANA AEAD name written into the info, followed by a zero byte (§11.3).
    pub(crate) const AEAD_NAME: &[u8] = b"AEAD_AES_256_GCM";
    /// Label that starts every fanseal attachment context (§11.2).
    pub(crate) const CONTEXT_LABEL: &[u8] = b"fanseal v2 attachment";

    /// Input key, AEAD key and SHA-256 digest size in bytes.
    pub const KEY: usize = 32;
    /// Random salt prepended to the ciphertext (bytes).
    pub const SALT: usize = 24;
    /// Key commitment after the salt (bytes).
    pub const COMMITMENT: usize = 32;
    /// Header: salt || commitment (bytes).
    pub const HEADER: usize = SALT + COMMITMENT;
    /// AES-GCM base nonce (bytes).
    pub const NONCE: usize = 12;
    /// AES-GCM tag per chunk (bytes).
    pub const TAG: usize = 16;
    /// Plaintext bytes of every chunk but the final one (16 KiB).
    pub const CHUNK: usize = 16 * 1024;
    /// Ciphertext bytes of a full chunk.
    pub const SEALED_CHUNK: usize = CHUNK + TAG;
    /// Chunks in one message, at most (2^38, the C2SP limit).
    pub const MAX_CHUNKS: u64 = 1 << 38;
    /// Largest plaintext, 4 PiB - 1 byte (bytes).
    pub const MAX_PLAINTEXT: u64 = MAX_CHUNKS * CHUNK as u64 - 1;
    /// Largest ciphertext: that of [`MAX_PLAINTEXT`] (bytes).
    pub const MAX_CIPHERTEXT: u64 = HEADER as u64 + MAX_PLAINTEXT + MAX_CHUNKS * TAG as u64;
    /// Smallest ciphertext: the header and one empty final chunk (bytes).
    pub const MIN_CIPHERTEXT: u64 = (HEADER + TAG) as u64;
    /// Raw C2SP context accepted by the low-level API, at most (bytes).
    pub const MAX_CONTEXT: usize = 64 * 1024;
    /// Caller binding inside a fanseal context and a reference, at most (bytes).
    pub const MAX_BINDING: usize = 1024;
}

/// Sender-key sessions (SPEC.md §15): object
/// types, labels and limits, kept in one block at the end of this file.
pub mod session {
    /// Object type of a session message (SPEC.md §15.3).
    pub(crate) const MESSAGE_TYPE: u8 = 0x08;
    /// Object type of a session distribution, the payload of an envelope
    /// (SPEC.md §15.4).
    pub(crate) const DISTRIBUTION_TYPE: u8 = 0x09;
    /// Object type of a persisted outbound session (SPEC.md §15.7).
    pub(crate) const OUTBOUND_TYPE: u8 = 0x23;
    /// Object type of a persisted inbound session (SPEC.md §15.8).
    pub(crate) const INBOUND_TYPE: u8 = 0x24;
    /// Object type of a persisted receiving store (SPEC.md §15.8).
    pub(crate) const STORE_TYPE: u8 = 0x25;

    /// HKDF-Expand info: the next chain key (§15.2).
    pub(crate) const CHAIN_KEY: &[u8] = b"fanseal v2 session chain key";
    /// HKDF-Expand info: the message key of an index (§15.2).
    pub(crate) const MESSAGE_KEY: &[u8] = b"fanseal v2 session message key";
    /// Hash of the session binding: sender device key, session id, conversation (§15.2).
    pub(crate) const BINDING: &[u8] = b"fanseal v2 session binding";
    /// Context hash of a session message header (§15.3).
    pub(crate) const CONTEXT: &[u8] = b"fanseal v2 session context";
    /// Header hash: context hash plus commitment (§15.3).
    pub(crate) const HEADER: &[u8] = b"fanseal v2 session header";
    /// HKDF-Extract salt of the per-message key schedule (§15.3).
    pub(crate) const SECRET: &[u8] = b"fanseal v2 session message secret";
    /// HKDF-Expand info prefix: the key commitment (§15.3).
    pub(crate) const COMMITMENT: &[u8] = b"fanseal v2 session key commitment";
    /// HKDF-Expand info prefix: the body key (§15.3).
    pub(crate) const BODY_KEY: &[u8] = b"fanseal v2 session body key";
    /// HKDF-Expand info prefix: the body nonce (§15.3).
    pub(crate) const BODY_NONCE: &[u8] = b"fanseal v2 session body nonce";
    /// Signature over a session message transcript, by the device key (§15.3).
    pub(crate) const SIGNATURE: &[u8] = b"fanseal v2 session message signature";
    /// Check value at the end of a persisted session (§15.7, §15.8).
    pub(crate) const STATE_CHECK: &[u8] = b"fanseal v2 session state check";

    /// Session id (bytes).
    pub const SESSION_ID: usize = 16;
    /// Chain key and message key (bytes).
    pub const CHAIN_KEY_LEN: usize = 32;
    /// Per-message random value mixed into the key schedule (bytes).
    pub const RANDOM: usize = 32;
    /// Fixed part of a session message before its ciphertext (bytes):
    /// prefix 2, suite 2, session id 16, index 4, random 32, commitment 32,
    /// ciphertext length 4.
    pub const MESSAGE_HEADER: usize = 2 + 2 + SESSION_ID + 4 + RANDOM + 32 + 4;
    /// Smallest body plaintext: timestamp 8, two lengths 4 + 4, signature 64.
    pub const MIN_BODY: usize = 8 + 4 + 4 + 64;

    /// How far ahead of the next expected index a message may be: at most
    /// this many message keys are derived for one message.
    pub const MAX_SKIP: u32 = 1000;
    /// Skipped message keys one inbound session holds, at most.
    pub const MAX_SKIPPED_KEYS: usize = 2000;
    /// Highest `max_messages` a rotation policy may set (≤ [`MAX_SKIP`], so
    /// an honest session never needs more skipping than a receiver allows).
    pub const MAX_MESSAGES: u32 = MAX_SKIP;
    /// Default messages per session before rotation (Megolm's default).
    pub const DEFAULT_MAX_MESSAGES: u32 = 100;
    /// Longest `max_age_ms` a rotation policy may set: 30 days in ms.
    pub const MAX_AGE_MS: u64 = 30 * super::limit::DAY_MS;
    /// Default session age before rotation: 7 days in ms (Megolm's default).
    pub const DEFAULT_MAX_AGE_MS: u64 = 7 * super::limit::DAY_MS;
    /// Conversation id bound into a session, at most (bytes): the envelope's
    /// AAD limit, since the distribution's envelope carries it as AAD.
    pub const MAX_CONVERSATION_ID: usize = super::limit::MAX_AAD;

    /// Clock difference a receiver allows between a sender's session times
    /// (created at, message timestamps) and its own: one hour in ms (§15.4).
    pub const MAX_CLOCK_SKEW_MS: u64 = 60 * 60 * 1000;
    /// Inbound sessions one receiving store holds per (sender device,
    /// conversation): the current and the previous (§15.4).
    pub const MAX_SESSIONS_PER_SENDER_DEVICE: usize = 2;
    /// Inbound sessions one receiving store holds per sender account
    /// (§15.4); at the cap, a new session of the account replaces the
    /// account's own oldest.
    pub const MAX_SESSIONS_PER_ACCOUNT: usize = 256;
    /// Inbound sessions one receiving store holds in total (§15.4). When
    /// it is full, a new session evicts the oldest session of the accounts
    /// holding the most, counting the new session's account with it (fair
    /// share, §15.4 step 10).
    pub const MAX_INBOUND_SESSIONS: usize = 2048;
    /// (sender device, conversation) slots one receiving store holds, those
    /// that keep only a tombstone included (§15.4): 16,384 slots of 88
    /// bytes, so that only 32 accounts at their slot cap fill it.
    pub const MAX_SLOTS: usize = 16_384;
    /// Slots one receiving store holds per sender account (§15.4).
    pub const MAX_SLOTS_PER_ACCOUNT: usize = 512;

    /// Digest of a conversation id in the receiving store's slot key (§15.4).
    pub(crate) const CONVERSATION_DIGEST: &[u8] = b"fanseal v2 session conversation";

    /// Session id derivation from the sender and a random seed (§15.4).
    pub(crate) const SESSION_ID_LABEL: &[u8] = b"fanseal v2 session id";

    /// HKDF-Expand info prefix: the hedged per-message random (§15.3).
    pub(crate) const RANDOM_LABEL: &[u8] = b"fanseal v2 session random";
    /// Hash of a message's content for the hedged random (§15.3).
    pub(crate) const CONTENT: &[u8] = b"fanseal v2 session content";
}
