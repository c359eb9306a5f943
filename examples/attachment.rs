//! Attachments end to end: Alice encrypts a 1 MiB file as a stream, uploads
//! the ciphertext to an untrusted store and sends the reference inside a
//! message; Bob decodes the reference, checks the download, decrypts it as a
//! stream, and reads a range from the end without downloading the file.
//!
//! Run with `cargo run --example attachment`.

use fanseal::attachment::{AttachmentError, AttachmentReference, AttachmentSealer, SeekFrom};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// The untrusted store's range request: bytes `range` of the upload.
fn fetch(store: &[u8], range: std::ops::Range<u64>) -> Result<&[u8], Box<dyn std::error::Error>> {
    let (start, end) = (usize::try_from(range.start)?, usize::try_from(range.end)?);
    Ok(store.get(start..end).ok_or("range outside the upload")?)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = ChaCha20Rng::from_seed([42; 32]);
    let file: Vec<u8> = (0..1024 * 1024 + 123).map(|i| (i % 251) as u8).collect();

    // Alice: stream the file in (any) slices; the sealer buffers <= 16 KiB.
    let binding = b"conversation 7 / message 1234";
    let mut sealer = AttachmentSealer::new(&mut rng, binding)?;
    let mut upload = Vec::new();
    for piece in file.chunks(10_000) {
        sealer.update(piece, &mut upload)?;
    }
    let reference = sealer.finish(&mut upload)?;
    let in_message = reference.to_secret_bytes(); // goes inside an envelope
    println!(
        "alice: {} plaintext bytes -> {} ciphertext bytes; reference {} bytes",
        file.len(),
        upload.len(),
        in_message.len()
    );

    // The store sees only `upload`. Bob gets the reference from the message.
    let reference = AttachmentReference::from_bytes(&in_message)?;
    assert_eq!(reference.binding(), binding);

    // 1. Check the download against the reference before decrypting.
    let mut check = reference.download_check();
    check.update(&upload)?;
    check.finish()?;

    // 2. Stream-decrypt it (what the store serves, in any slices).
    let mut opener = reference.opener()?;
    let mut plaintext = Vec::new();
    for piece in upload.chunks(7_777) {
        opener.update(piece, &mut plaintext)?;
    }
    let len = opener.finish(&mut plaintext)?;
    assert_eq!(plaintext, file);
    println!("bob: downloaded, checked and decrypted {len} bytes");

    // 3. Random access: the last 100 bytes, fetching only the chunks covering them.
    let mut seek = reference.seekable(fetch(&upload, 0..56)?)?;
    let last = seek.chunk_ciphertext_range(seek.chunk_count() - 1)?;
    seek.authenticate_length(fetch(&upload, last)?)?;
    let start = seek.resolve(SeekFrom::End(100))?;
    let span = seek.ciphertext_range(start..start + 100)?;
    let mut tail = Vec::new();
    let fetched = span.end - span.start;
    seek.decrypt_range(start..start + 100, fetch(&upload, span)?, &mut tail)?;
    assert_eq!(Some(&tail[..]), file.get(file.len() - 100..));
    println!("bob: read the last 100 bytes from {fetched} fetched ciphertext bytes");

    // A truncated download is caught.
    let mut opener = reference.opener()?;
    opener.update(
        fetch(&upload, 0..upload.len() as u64 - 16)?,
        &mut Vec::new(),
    )?;
    assert_eq!(
        opener.finish(&mut Vec::new()),
        Err(AttachmentError::Truncated)
    );
    println!("bob: a truncated download is rejected");
    Ok(())
}
