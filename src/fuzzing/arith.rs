//! Padmé arithmetic against an overflow-free model.

use crate::consts::limit;
use crate::envelope::{padme, Padding};

use super::{ensure, Outcome};

/// Padmé computed in `u128` (no overflow), from the paper's definition.
fn padme_model(len: u128) -> u128 {
    if len < 2 {
        return len;
    }
    let e = 127 - len.leading_zeros(); // floor(log2 len)
    let s = 32 - e.leading_zeros(); // floor(log2 e) + 1
    let mask = (1u128 << (e - s)) - 1;
    (len + mask) & !mask
}

fn read_u64(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    for (dst, src) in b.iter_mut().zip(bytes) {
        *dst = *src;
    }
    u64::from_be_bytes(b)
}

/// `Padding::padded_len` and `padme` on lengths from `data`
/// (`mode || bucket u32 || len u64 || other len u64`, zero-filled when
/// short). Oracles: the result equals the overflow-free model, never
/// shrinks, stays within `MAX_BODY`, Padmé's overhead is at most ~1/8,
/// Padmé is idempotent and monotonic.
pub fn padding(data: &[u8]) -> Outcome {
    let mode = data.first().copied().unwrap_or(0);
    let bucket = u32::try_from(read_u64(data.get(1..5).unwrap_or(&[])) >> 32).unwrap_or(0);
    let len = usize::try_from(read_u64(data.get(5..13).unwrap_or(&[]))).unwrap_or(usize::MAX);
    let other = usize::try_from(read_u64(data.get(13..21).unwrap_or(&[]))).unwrap_or(usize::MAX);
    let padding = match mode % 3 {
        0 => Padding::None,
        1 => Padding::Padme,
        _ => Padding::Bucket(bucket),
    };
    let wide = len as u128;
    let model = match padding {
        Padding::Padme => padme_model(wide),
        Padding::Bucket(b) => {
            let b = u128::from(b.max(1));
            wide.div_ceil(b) * b
        }
        _ => wide,
    };
    let expected = (model <= limit::MAX_BODY as u128).then_some(model as usize);
    let got = padding.padded_len(len);
    ensure(
        got == expected,
        "padding: padded_len differs from the model",
    )?;
    if let Some(p) = got {
        ensure(p >= len, "padding: padded_len shrank")?;
    }

    let p = padme(len);
    if padme_model(wide) <= usize::MAX as u128 {
        ensure(
            p as u128 == padme_model(wide),
            "padme: differs from the model",
        )?;
        ensure(p >= len, "padme: shrank")?;
        ensure(p - len <= len / 8 + 1, "padme: overhead above 1/8")?;
        ensure(padme(p) == p, "padme: not idempotent")?;
        let (lo, hi) = if len <= other {
            (len, other)
        } else {
            (other, len)
        };
        if padme_model(hi as u128) <= usize::MAX as u128 {
            ensure(padme(lo) <= padme(hi), "padme: not monotonic")?;
        }
    } else {
        ensure(p >= len, "padme: shrank near usize::MAX")?;
    }
    Ok(())
}
