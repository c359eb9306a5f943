//! Plain Cobblestone-256 (C2SP chunked encryption) over files, streaming in
//! fixed 64 KiB reads, for the interop check against pyca/cryptography
//! (`tests/interop/cobblestone.py`, run by `.ci/interop.sh`).
//!
//! ```text
//! cargo run --example cobblestone_file -- encrypt KEY_HEX CONTEXT_HEX SALT_HEX IN OUT
//! cargo run --example cobblestone_file -- decrypt KEY_HEX CONTEXT_HEX IN OUT
//! cargo run --example cobblestone_file -- read KEY_HEX CONTEXT_HEX IN OUT FROM_END LEN
//! ```
//!
//! `read` is random access: it reads the header, authenticates the length by
//! opening the final chunk, then decrypts `LEN` bytes starting `FROM_END`
//! bytes before the end, fetching only the chunks that cover them.
//! Exit status 0 on success, 1 on any error (printed to stderr); a failed
//! decryption removes `OUT`.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom as IoSeek, Write};

use fanseal::attachment::{AttachmentKey, Decryptor, Encryptor, SeekFrom, SeekableDecryptor};

type R<T> = Result<T, Box<dyn std::error::Error>>;

fn unhex(s: &str) -> R<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return Err("odd hex length".into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| Ok(u8::from_str_radix(s.get(i..i + 2).ok_or("bad hex")?, 16)?))
        .collect()
}

fn encrypt(key: &AttachmentKey, ctx: &[u8], salt: &str, input: &str, output: &str) -> R<()> {
    let salt: [u8; 24] = unhex(salt)?
        .try_into()
        .map_err(|_| "salt must be 24 bytes")?;
    let mut enc = Encryptor::with_salt(key, salt, ctx)?;
    let (mut src, mut dst) = (File::open(input)?, File::create(output)?);
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::with_capacity(buf.len() + 1024);
    loop {
        let n = src.read(&mut buf)?;
        if n == 0 {
            break;
        }
        enc.update(buf.get(..n).ok_or("read")?, &mut out)?;
        dst.write_all(&out)?;
        out.clear();
    }
    enc.finish(&mut out)?;
    dst.write_all(&out)?;
    Ok(())
}

fn decrypt(key: &AttachmentKey, ctx: &[u8], input: &str, output: &str) -> R<()> {
    let mut dec = Decryptor::new(key, ctx)?;
    let (mut src, mut dst) = (File::open(input)?, File::create(output)?);
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::with_capacity(buf.len());
    loop {
        let n = src.read(&mut buf)?;
        if n == 0 {
            break;
        }
        dec.update(buf.get(..n).ok_or("read")?, &mut out)?;
        dst.write_all(&out)?;
        out.clear();
    }
    dec.finish(&mut out)?;
    dst.write_all(&out)?;
    Ok(())
}

fn read_at(src: &mut File, range: std::ops::Range<u64>) -> R<Vec<u8>> {
    src.seek(IoSeek::Start(range.start))?;
    let mut v = vec![0u8; usize::try_from(range.end - range.start)?];
    src.read_exact(&mut v)?;
    Ok(v)
}

fn read(key: &AttachmentKey, ctx: &[u8], args: &[String]) -> R<()> {
    let [input, output, from_end, len] = args else {
        return Err("read needs IN OUT FROM_END LEN".into());
    };
    let (from_end, len): (u64, u64) = (from_end.parse()?, len.parse()?);
    let mut src = File::open(input)?;
    let total = src.metadata()?.len();
    let header = read_at(&mut src, 0..total.min(56))?;
    let mut seek = SeekableDecryptor::new(key, ctx, &header, total)?;
    let last = seek.chunk_ciphertext_range(seek.chunk_count() - 1)?;
    seek.authenticate_length(&read_at(&mut src, last)?)?;
    let start = seek.resolve(SeekFrom::End(from_end))?;
    let range = start..start + len;
    let span = read_at(&mut src, seek.ciphertext_range(range.clone())?)?;
    let mut out = Vec::new();
    seek.decrypt_range(range, &span, &mut out)?;
    File::create(output)?.write_all(&out)?;
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let run = || -> R<()> {
        let [mode, key, ctx, rest @ ..] = args.as_slice() else {
            return Err("usage: encrypt|decrypt|read KEY_HEX CONTEXT_HEX ...".into());
        };
        let key = AttachmentKey::from_slice(&unhex(key)?)?;
        let ctx = unhex(ctx)?;
        match (mode.as_str(), rest) {
            ("encrypt", [salt, input, output]) => encrypt(&key, &ctx, salt, input, output),
            ("decrypt", [input, output]) => decrypt(&key, &ctx, input, output),
            ("read", rest) => read(&key, &ctx, rest),
            _ => Err("bad arguments".into()),
        }
    };
    if let Err(e) = run() {
        eprintln!("cobblestone_file: {e}");
        if let Some(out) = args.get(if args.first().map(String::as_str) == Some("encrypt") {
            5
        } else {
            4
        }) {
            let _ = std::fs::remove_file(out);
        }
        std::process::exit(1);
    }
}
