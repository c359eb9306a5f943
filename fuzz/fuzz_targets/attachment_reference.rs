//! The attachment reference decoder (issue 15). Oracles: never panics; what
//! decodes re-encodes to exactly the input bytes (one encoding per value);
//! its lengths are within the limits; `Debug` never prints the key.
//!
//! `regressions/attachment_reference/` holds the input that broke an
//! earlier version of this oracle (a digest equal to the key, which `Debug`
//! rightly prints as the digest).
#![no_main]

use fanseal::attachment::{plaintext_len, AttachmentReference, MAX_BINDING};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = AttachmentReference::from_bytes(data) {
        assert_eq!(&r.to_secret_bytes()[..], data, "not canonical");
        assert!(r.binding().len() <= MAX_BINDING);
        assert!(plaintext_len(r.ciphertext_len()).is_ok());
        let again = AttachmentReference::from_bytes(data).unwrap();
        assert_eq!(again, r);
        // The digest is public and printed; the key must not be. (The
        // digest may equal the key bytes in a fuzzed input: strip it first.)
        let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let shown = format!("{r:?}").replace(&hex(r.ciphertext_sha256()), "<digest>");
        let key_hex = hex(r.key().expose_secret_bytes());
        assert!(!shown.contains(&key_hex), "Debug printed the key");
    }
});
