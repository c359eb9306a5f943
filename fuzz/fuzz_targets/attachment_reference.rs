//! The attachment reference decoder (issue 15). Oracles: never panics; what
//! decodes re-encodes to exactly the input bytes (one encoding per value);
//! its lengths are within the limits; `Debug` never prints the key.
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
        let shown = format!("{r:?}");
        let key_hex: String = r.key().expose_secret_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert!(!shown.contains(&key_hex), "Debug printed the key");
    }
});
