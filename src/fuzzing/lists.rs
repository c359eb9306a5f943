//! Device-list verification and update against an independent model.

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
            // A list of the trusted version with the same contents keeps the
            // list already trusted; a newer one becomes the trusted list.
            let expected = if next.version() == fx.trusted.version() {
                fx.trusted.list()
            } else {
                next
            };
            ensure(
                verified.list() == expected && verified.version() == next.version(),
                "update: the new trusted list is not the expected one",
            )?;
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
/// code: every presented list must be signed, `next` must not be older,
/// the same version must sign the same contents, and a newer one must be reached
/// by a hash chain of consecutive versions (copies of the trusted list
/// among the intermediates are allowed).
fn update_model(
    trusted: &DeviceList,
    intermediates: &[DeviceList],
    next: &DeviceList,
    signed: &dyn Fn(&DeviceList) -> bool,
) -> bool {
    if intermediates.len() > MAX_CHAIN_LENGTH || !signed(next) {
        return false;
    }
    if next.version() < trusted.version() {
        return false;
    }
    if next.version() == trusted.version() {
        return same_contents(next, trusted);
    }
    let mut previous = trusted;
    for list in intermediates {
        if !signed(list) {
            return false;
        }
        if list.version() == trusted.version() {
            if !same_contents(list, trusted) {
                return false;
            }
            continue;
        }
        if previous.version().checked_add(1) != Some(list.version())
            || list.previous_hash() != previous.hash()
        {
            return false;
        }
        previous = list;
    }
    previous.version().checked_add(1) == Some(next.version())
        && next.previous_hash() == previous.hash()
}
