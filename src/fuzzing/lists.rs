//! Device-list verification and update against an independent model.

use alloc::vec;
use alloc::vec::Vec;

use crate::error::DeviceListError;
use crate::identity::{AccountPublicKey, DeviceList, ForkEvidence, MAX_CHAIN_LENGTH};

use super::{ensure, Fixture, Outcome};

/// Splits `data` into `u16 length || bytes` chunks (the last one may be
/// short: it takes the rest).
fn chunks(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let [hi, lo, rest @ ..] = data {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(rest.len());
        let (chunk, tail) = rest.split_at(len);
        out.push(chunk);
        data = tail;
    }
    out
}

/// Encodes lists in the input format of [`device_list_update`].
pub fn encode_chunks(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(&u16::try_from(part.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// Device lists decoded from `data` (`u16 length || list` chunks; the last
/// is `next`, the others intermediates) are verified for bob's account and
/// presented to `trusted.update`. Oracles: a list verifies only if it is
/// one of the fixture's signed lists; `update` succeeds exactly when an
/// independent model of the rules (SPEC.md §3.5) says it must; a fork
/// error carries evidence that verifies on its own; a rollback is lower.
pub fn device_list_update(fx: &Fixture, data: &[u8]) -> Outcome {
    let account: AccountPublicKey = *fx.trusted.account();
    let known: Vec<Vec<u8>> = fx.chain.iter().map(DeviceList::to_bytes).collect();
    let mut lists: Vec<DeviceList> = Vec::new();
    for chunk in chunks(data) {
        let Ok(list) = DeviceList::from_bytes(chunk) else {
            continue;
        };
        let is_known = known.iter().any(|k| k.as_slice() == chunk);
        ensure(
            list.verify(&account).is_ok() == is_known,
            "update: verify disagrees with the set of signed lists",
        )?;
        lists.push(list);
    }
    let Some((next, intermediates)) = lists.split_last() else {
        return Ok(());
    };
    let is_known = |l: &DeviceList| known.iter().any(|k| *k == l.to_bytes());
    let result = fx.trusted.update(intermediates, next);
    let expected_ok = update_model(fx.trusted.list(), intermediates, next, &is_known);
    match &result {
        Ok(verified) => {
            ensure(expected_ok, "update: accepted what the model refuses")?;
            // The new trusted list signs `next`'s contents (it is the list
            // already trusted, or a walked copy, when the contents are equal).
            ensure(
                verified.list().hash() == next.hash() && verified.version() == next.version(),
                "update: the new trusted list is not the expected one",
            )?;
            if same_contents(next, fx.trusted.list()) {
                ensure(
                    verified.list() == fx.trusted.list(),
                    "update: a copy of the trusted list replaced it",
                )?;
            }
        }
        Err(error) => {
            ensure(!expected_ok, "update: refused what the model accepts")?;
            match error {
                DeviceListError::Fork(evidence) => {
                    ensure(
                        evidence.verify() == Ok(account),
                        "update: fork evidence does not verify",
                    )?;
                    ensure(
                        ForkEvidence::from_bytes(&evidence.to_bytes()).as_ref()
                            == Ok(evidence.as_ref()),
                        "update: fork evidence does not round-trip",
                    )?;
                }
                DeviceListError::Rollback { trusted, presented } => {
                    ensure(
                        *trusted == fx.trusted.version()
                            && *presented == next.version()
                            && presented < trusted,
                        "update: rollback error with wrong versions",
                    )?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Two lists sign the same contents: their encodings without the trailing
/// 64-byte signature are equal.
fn same_contents(a: &DeviceList, b: &DeviceList) -> bool {
    let (a, b) = (a.to_bytes(), b.to_bytes());
    a.get(..a.len().saturating_sub(64)) == b.get(..b.len().saturating_sub(64))
}

/// The update rules, written again from SPEC.md §3.5 without the library's
/// code: `next` with the trusted contents keeps the trusted list; an older
/// or equal version is refused; otherwise the walk over the intermediates
/// and `next` skips copies of walked lists (unverified), refuses two lists
/// of one version, and extends the chain only by a signed list of the next
/// version that carries the previous list's hash.
fn update_model(
    trusted: &DeviceList,
    intermediates: &[DeviceList],
    next: &DeviceList,
    signed: &dyn Fn(&DeviceList) -> bool,
) -> bool {
    if intermediates.len() > MAX_CHAIN_LENGTH {
        return false;
    }
    if same_contents(next, trusted) {
        return true;
    }
    if next.version() <= trusted.version() {
        return false;
    }
    let mut walked: Vec<&DeviceList> = vec![trusted];
    let total = intermediates.len() + 1;
    for (i, list) in intermediates
        .iter()
        .chain(core::iter::once(next))
        .enumerate()
    {
        let Some(offset) = list.version().checked_sub(trusted.version()) else {
            return false;
        };
        let offset = usize::try_from(offset).unwrap_or(usize::MAX);
        if let Some(same) = walked.get(offset) {
            if !same_contents(list, same) {
                return false;
            }
            if i + 1 == total {
                return offset + 1 == walked.len();
            }
            continue;
        }
        let Some(last) = walked.last() else {
            return false;
        };
        if last.version().checked_add(1) != Some(list.version())
            || list.previous_hash() != &list_hash_of(last)
            || !signed(list)
        {
            return false;
        }
        walked.push(list);
    }
    true
}

/// The list hash of SPEC.md §3.4, recomputed: SHA-256 of the label and the
/// encoding without its signature.
fn list_hash_of(list: &DeviceList) -> [u8; 32] {
    let bytes = list.to_bytes();
    let mut h = crate::primitives::Sha256Stream::labeled(b"fanseal v2 device list hash");
    h.update(bytes.get(..bytes.len().saturating_sub(64)).unwrap_or(&[]));
    h.finish()
}
