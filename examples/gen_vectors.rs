//! Writes fanseal's published test vectors, vectors/*.json, deterministically.
//!
//! Run with `cargo run --example gen_vectors` from the repository root. CI
//! runs it and fails if `git diff --exit-code vectors/` shows a change, and
//! `tests/vectors.rs` regenerates the same bytes in memory and checks every
//! case against the library.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../tests/support/vectors_gen.rs"]
mod vectors_gen;
#[path = "../tests/support/vectors_gen_attachments.rs"]
mod vectors_gen_attachments;

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors");
    std::fs::create_dir_all(&dir)?;
    let mut total = 0usize;
    for (name, text) in vectors_gen::generate() {
        let path = dir.join(name);
        std::fs::write(&path, &text)?;
        total += text.len();
        println!("wrote {} ({} bytes)", path.display(), text.len());
    }
    // Attachments (issue 15): vectors/attachments.json.
    let text = vectors_gen_attachments::generate();
    std::fs::write(dir.join(vectors_gen_attachments::FILE), &text)?;
    total += text.len();
    println!("{total} bytes in total");
    Ok(())
}
