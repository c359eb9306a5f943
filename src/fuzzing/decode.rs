//! The six wire decoders, each with a round-trip oracle.

use alloc::vec::Vec;

use crate::consts::limit;
use crate::envelope::{Delivery, Envelope};
use crate::identity::{DeviceCertificate, DeviceList, ForkEvidence, KeyId, SafetyNumber};

use super::{ensure, Outcome, NOW};

/// `DeviceCertificate::from_bytes`: re-encoding what decoded gives back the
/// input; verification of what decoded never panics.
pub fn decode_device_certificate(data: &[u8]) -> Outcome {
    let Ok(cert) = DeviceCertificate::from_bytes(data) else {
        return Ok(());
    };
    ensure(
        cert.to_bytes() == data,
        "certificate: re-encoding differs from the input",
    )?;
    ensure(
        data.len() == crate::identity::CERTIFICATE_LEN,
        "certificate: decoded from an input that is not 200 bytes",
    )?;
    let verified = cert.verify(cert.account(), NOW);
    ensure(
        verified.is_err() || !cert.is_expired(NOW),
        "certificate: an expired certificate verified",
    )
}

/// `DeviceList::from_bytes`: round trip, sorted unique device ids, bounded
/// count; small lists are also verified against their own account.
pub fn decode_device_list(data: &[u8]) -> Outcome {
    let Ok(list) = DeviceList::from_bytes(data) else {
        return Ok(());
    };
    let bytes = list.to_bytes();
    ensure(
        bytes == data,
        "device list: re-encoding differs from the input",
    )?;
    ensure(
        DeviceList::from_bytes(&bytes).as_ref() == Ok(&list),
        "device list: decoding the re-encoding gives another list",
    )?;
    ensure(
        list.certificates().len() <= limit::MAX_DEVICES_PER_LIST
            && data.len() <= crate::identity::DEVICE_LIST_MAX_LEN,
        "device list: beyond a limit (devices or encoded length)",
    )?;
    ensure(
        list.certificates()
            .windows(2)
            .all(|w| matches!(w, [a, b] if a.device_id() < b.device_id())),
        "device list: certificates not strictly sorted by device id",
    )?;
    if list.certificates().len() <= 4 {
        if let Ok(verified) = list.verify(list.account()) {
            ensure(
                verified.list() == &list && verified.devices().len() == list.certificates().len(),
                "device list: the verified list differs from the decoded one",
            )?;
        }
    }
    Ok(())
}

/// `Envelope::from_bytes`: round trip, one wrap per recipient, and the relay
/// split gives deliveries that round-trip too.
pub fn decode_envelope(data: &[u8]) -> Outcome {
    ensure(
        Delivery::from_bytes(data).is_err() || Envelope::from_bytes(data).is_err(),
        "envelope: the same bytes decode as an envelope and as a delivery",
    )?;
    let Ok(envelope) = Envelope::from_bytes(data) else {
        return Ok(());
    };
    ensure(
        envelope.to_bytes() == data,
        "envelope: re-encoding differs from the input",
    )?;
    let header = envelope.header();
    ensure(
        envelope.wraps.len() == header.recipients().len(),
        "envelope: wrap count differs from the recipient count",
    )?;
    ensure(
        envelope.body.len() == header.body_len(),
        "envelope: body length differs from the header",
    )?;
    check_recipients(header.recipients())?;
    check_body_len(header.body_len())?;
    let mut count = 0usize;
    for (key_id, delivery) in envelope.deliveries() {
        count += 1;
        let bytes = delivery.to_bytes();
        ensure(
            Delivery::from_bytes(&bytes).as_ref() == Ok(&delivery),
            "envelope: a split delivery does not round-trip",
        )?;
        ensure(
            envelope.delivery_for(&key_id).as_ref() == Some(&delivery),
            "envelope: delivery_for differs from deliveries()",
        )?;
        ensure(
            delivery.header() == header && delivery.body == envelope.body,
            "envelope: a delivery changed the header or body",
        )?;
    }
    ensure(
        count == header.recipients().len(),
        "envelope: deliveries() skipped a recipient",
    )
}

/// Limit oracle: the body length is within the bounds SPEC §4.2 gives.
fn check_body_len(len: usize) -> Outcome {
    ensure(
        (crate::envelope::header::MIN_BODY + crate::consts::size::TAG
            ..=limit::MAX_BODY + crate::consts::size::TAG)
            .contains(&len),
        "header: body length beyond a limit",
    )
}

fn check_recipients(recipients: &[KeyId]) -> Outcome {
    ensure(
        !recipients.is_empty() && recipients.len() <= limit::MAX_RECIPIENTS,
        "header: recipient count out of range",
    )?;
    ensure(
        recipients.windows(2).all(|w| matches!(w, [a, b] if a < b)),
        "header: recipient key ids not strictly ascending",
    )
}

/// `Delivery::from_bytes`: round trip and the header's body length.
pub fn decode_delivery(data: &[u8]) -> Outcome {
    let Ok(delivery) = Delivery::from_bytes(data) else {
        return Ok(());
    };
    ensure(
        delivery.to_bytes() == data,
        "delivery: re-encoding differs from the input",
    )?;
    ensure(
        Envelope::from_bytes(data).is_err(),
        "delivery: the same bytes decode as an envelope",
    )?;
    ensure(
        delivery.body.len() == delivery.header().body_len(),
        "delivery: body length differs from the header",
    )?;
    check_body_len(delivery.header().body_len())?;
    check_recipients(delivery.header().recipients())
}

/// `ForkEvidence::from_bytes`: round trip, lists in byte order; a verified
/// piece of evidence names one account and one version.
pub fn decode_fork_evidence(data: &[u8]) -> Outcome {
    let Ok(evidence) = ForkEvidence::from_bytes(data) else {
        return Ok(());
    };
    ensure(
        evidence.to_bytes() == data,
        "fork evidence: re-encoding differs from the input",
    )?;
    let (a, b) = evidence.lists();
    ensure(
        a.to_bytes() < b.to_bytes(),
        "fork evidence: lists not in strict byte order",
    )?;
    ensure(
        a.to_bytes().len() <= crate::identity::DEVICE_LIST_MAX_LEN
            && b.to_bytes().len() <= crate::identity::DEVICE_LIST_MAX_LEN,
        "fork evidence: a list beyond the encoded-length limit",
    )?;
    if a.certificates().len() + b.certificates().len() <= 8 {
        if let Ok(account) = evidence.verify() {
            ensure(
                account == *a.account()
                    && account == *b.account()
                    && a.version() == b.version()
                    && a.hash() != b.hash(),
                "fork evidence: verified evidence that is not a fork",
            )?;
        }
    }
    Ok(())
}

/// `SafetyNumber::from_bytes`: round trip, the scanned form matches itself,
/// the digits are 12 groups of 5.
pub fn decode_safety_number(data: &[u8]) -> Outcome {
    let Ok(number) = SafetyNumber::from_bytes(data) else {
        return Ok(());
    };
    ensure(
        number.to_bytes().as_slice() == data,
        "safety number: re-encoding differs from the input",
    )?;
    ensure(
        number.matches_scanned(data),
        "safety number: does not match its own encoding",
    )?;
    let digits = number.to_digits();
    let groups: Vec<&str> = digits.split(' ').collect();
    ensure(
        digits.len() == 71
            && groups.len() == 12
            && groups
                .iter()
                .all(|g| g.len() == 5 && g.bytes().all(|c| c.is_ascii_digit())),
        "safety number: digits are not 12 groups of 5",
    )
}
