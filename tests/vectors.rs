//! fanseal's published test vectors (vectors/*.json): (a) the committed files
//! are exactly what the deterministic generator writes, (b) every case holds
//! against the library, and (c) the checker rejects files with a changed byte.
//! This test only reads the files; `cargo run --example gen_vectors` writes them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/vectors_gen.rs"]
mod vectors_gen;

use std::collections::BTreeMap;

use fanseal::{
    open, padme, seal, AccountPublicKey, AccountSecret, CertificateError, CertificateParams,
    DecodeError, Delivery, DeviceCertificate, DeviceId, DeviceKeyring, DeviceList, DeviceListError,
    DevicePublicKeys, DeviceSecret, Envelope, ForkEvidence, KeyId, KeyringError, Message,
    OpenError, Opened, Padding, PrekeyError, PrekeyPolicy, ReplayError, ReplayGuard, SafetyNumber,
    SealError, SignedPrekey, Suite, SuitePolicy, VerifiedDeviceList, VerifiedPrekey,
};
use serde_json::Value;
use vectors_gen::ReplayRng;

type R<T> = Result<T, String>;

// ------------------------------------------------------------ error kinds

/// The stable name of each error kind, as written in the vectors.
fn decode_kind(e: &DecodeError) -> String {
    let k = match e {
        DecodeError::Truncated { .. } => "Truncated",
        DecodeError::TrailingBytes { .. } => "TrailingBytes",
        DecodeError::OutOfRange { .. } => "OutOfRange",
        DecodeError::UnsupportedVersion(_) => "UnsupportedVersion",
        DecodeError::WrongObjectType { .. } => "WrongObjectType",
        DecodeError::UnsupportedSuite(_) => "UnsupportedSuite",
        DecodeError::NonCanonical(_) => "NonCanonical",
        DecodeError::Inconsistent(_) => "Inconsistent",
        _ => "Unknown",
    };
    format!("DecodeError::{k}")
}

/// The `what` of a NonCanonical or Inconsistent decode error (`errorWhat`).
fn decode_what(e: &DecodeError) -> Option<&'static str> {
    match e {
        DecodeError::NonCanonical(w) | DecodeError::Inconsistent(w) => Some(w),
        _ => None,
    }
}

fn prekey_kind(e: &PrekeyError) -> String {
    let k = match e {
        PrekeyError::WrongAccount => "WrongAccount",
        PrekeyError::UnknownDevice => "UnknownDevice",
        PrekeyError::WrongDevice => "WrongDevice",
        PrekeyError::WrongDeviceKey => "WrongDeviceKey",
        PrekeyError::InvalidX25519Key => "InvalidX25519Key",
        PrekeyError::InvalidHybridKey => "InvalidHybridKey",
        PrekeyError::BadSignature => "BadSignature",
        PrekeyError::InvalidLifetime { .. } => "InvalidLifetime",
        PrekeyError::NotYetValid { .. } => "NotYetValid",
        PrekeyError::Expired { .. } => "Expired",
        _ => "Unknown",
    };
    format!("PrekeyError::{k}")
}

fn keyring_kind(e: &KeyringError) -> String {
    let k = match e {
        KeyringError::Decode(d) => return format!("KeyringError::Decode({})", decode_kind(d)),
        KeyringError::Certificate(c) => {
            return format!("KeyringError::Certificate({})", cert_kind(c))
        }
        KeyringError::KeyMismatch => "KeyMismatch",
        KeyringError::CapabilityChange => "CapabilityChange",
        KeyringError::WrongDevice => "WrongDevice",
        KeyringError::SameKeys => "SameKeys",
        KeyringError::Full => "Full",
        KeyringError::InvalidPolicy => "InvalidPolicy",
        KeyringError::NotHybrid => "NotHybrid",
        _ => "Unknown",
    };
    format!("KeyringError::{k}")
}

/// The field a decode error names, where SPEC.md names it (`errorField`).
fn decode_field(e: &DecodeError) -> Option<&'static str> {
    match e {
        DecodeError::Truncated { field, .. } | DecodeError::OutOfRange { field, .. } => Some(field),
        _ => None,
    }
}

/// Checks a case's optional `errorField` against a decode error.
fn check_field(case: &Value, e: Option<&DecodeError>) -> R<()> {
    match case.get("errorField") {
        None => Ok(()),
        Some(f) => eq(
            e.and_then(decode_field),
            Some(f.as_str().ok_or("errorField")?),
            "errorField",
        ),
    }
}

/// Checks a case's optional `deviceId` against a list error naming a device.
fn check_device_id(case: &Value, e: Option<&DeviceListError>) -> R<()> {
    match case.get("deviceId") {
        None => Ok(()),
        Some(_) => match e {
            Some(DeviceListError::Certificate { device_id, .. }) => {
                eq(device_id.to_bytes(), fixed(case, "deviceId")?, "deviceId")
            }
            other => Err(format!("deviceId given, library error {other:?}")),
        },
    }
}

fn cert_kind(e: &CertificateError) -> String {
    let k = match e {
        CertificateError::WrongAccount => "WrongAccount",
        CertificateError::InvalidAccountKey => "InvalidAccountKey",
        CertificateError::InvalidX25519Key => "InvalidX25519Key",
        CertificateError::InvalidEd25519Key => "InvalidEd25519Key",
        CertificateError::BadSignature => "BadSignature",
        CertificateError::Expired { .. } => "Expired",
        CertificateError::KeyMismatch => "KeyMismatch",
        _ => "Unknown",
    };
    format!("CertificateError::{k}")
}

fn list_kind(e: &DeviceListError) -> String {
    let k = match e {
        DeviceListError::WrongAccount => "WrongAccount",
        DeviceListError::InvalidAccountKey => "InvalidAccountKey",
        DeviceListError::BadSignature => "BadSignature",
        DeviceListError::InvalidGenesis => "InvalidGenesis",
        DeviceListError::Certificate { error, .. } => {
            return format!("DeviceListError::Certificate({})", cert_kind(error))
        }
        DeviceListError::DuplicateKey => "DuplicateKey",
        DeviceListError::Rollback { .. } => "Rollback",
        DeviceListError::Fork(_) => "Fork",
        DeviceListError::BrokenChain { .. } => "BrokenChain",
        DeviceListError::ChainTooLong => "ChainTooLong",
        DeviceListError::TooManyDevices => "TooManyDevices",
        DeviceListError::NotAFork => "NotAFork",
        DeviceListError::VersionExhausted => "VersionExhausted",
        _ => "Unknown",
    };
    format!("DeviceListError::{k}")
}

fn seal_kind(e: &SealError) -> String {
    let k = match e {
        SealError::CertificateMismatch => "CertificateMismatch",
        SealError::SenderCertificateExpired => "SenderCertificateExpired",
        SealError::SenderNotOnOwnList => "SenderNotOnOwnList",
        SealError::NoRecipients => "NoRecipients",
        SealError::TooManyRecipients { .. } => "TooManyRecipients",
        SealError::DuplicateRecipient => "DuplicateRecipient",
        SealError::PayloadTooLarge => "PayloadTooLarge",
        SealError::AadTooLarge => "AadTooLarge",
        SealError::PaddedBodyTooLarge => "PaddedBodyTooLarge",
        SealError::MissingPrekey { .. } => "MissingPrekey",
        SealError::TooManyPrekeys { .. } => "TooManyPrekeys",
        SealError::HybridUnavailable { .. } => "HybridUnavailable",
        SealError::Internal => "Internal",
        _ => "Unknown",
    };
    format!("SealError::{k}")
}

fn open_kind(e: &OpenError) -> String {
    match e {
        OpenError::Decode(d) => format!("OpenError::Decode({})", decode_kind(d)),
        OpenError::NotARecipient => "OpenError::NotARecipient".into(),
        OpenError::SenderListUnavailable(_) => "OpenError::SenderListUnavailable".into(),
        OpenError::SenderNotOnTrustedList(_) => "OpenError::SenderNotOnTrustedList".into(),
        OpenError::Unauthenticated => "OpenError::Unauthenticated".into(),
        _ => "OpenError::Unknown".into(),
    }
}

fn replay_kind(e: &ReplayError) -> String {
    let k = match e {
        ReplayError::Replayed => "Replayed",
        ReplayError::TooOld => "TooOld",
        ReplayError::FromTheFuture => "FromTheFuture",
        ReplayError::TooManySenders => "TooManySenders",
        _ => "Unknown",
    };
    format!("ReplayError::{k}")
}

// ------------------------------------------------------------ JSON access

fn get<'a>(v: &'a Value, k: &str) -> R<&'a Value> {
    v.get(k).ok_or_else(|| format!("missing field `{k}`"))
}

fn st<'a>(v: &'a Value, k: &str) -> R<&'a str> {
    get(v, k)?
        .as_str()
        .ok_or_else(|| format!("`{k}` is not a string"))
}

fn num(v: &Value, k: &str) -> R<u64> {
    get(v, k)?
        .as_u64()
        .ok_or_else(|| format!("`{k}` is not an unsigned integer"))
}

fn arr<'a>(v: &'a Value, k: &str) -> R<&'a Vec<Value>> {
    get(v, k)?
        .as_array()
        .ok_or_else(|| format!("`{k}` is not an array"))
}

fn unhex(s: &str, what: &str) -> R<Vec<u8>> {
    hex::decode(s).map_err(|e| format!("`{what}` is not hex: {e}"))
}

fn hx(v: &Value, k: &str) -> R<Vec<u8>> {
    unhex(st(v, k)?, k)
}

/// A byte string: hex, or `{"fill": "<one byte hex>", "length": n}` for
/// `n` copies of one byte (large AAD values).
fn blob(v: &Value, k: &str) -> R<Vec<u8>> {
    match get(v, k)? {
        Value::Object(_) => {
            let o = get(v, k)?;
            let fill = hx(o, "fill")?;
            let [byte] = fill[..] else {
                return Err(format!("`{k}.fill` is not one byte"));
            };
            let n = usize::try_from(num(o, "length")?).map_err(|e| e.to_string())?;
            Ok(vec![byte; n])
        }
        _ => hx(v, k),
    }
}

fn fixed<const N: usize>(v: &Value, k: &str) -> R<[u8; N]> {
    hx(v, k)?
        .try_into()
        .map_err(|_| format!("`{k}` is not {N} bytes"))
}

fn names<'a>(v: &'a Value, k: &str) -> R<Vec<&'a str>> {
    arr(v, k)?
        .iter()
        .map(|x| {
            x.as_str()
                .ok_or_else(|| format!("`{k}` holds a non-string"))
        })
        .collect()
}

fn ensure(cond: bool, what: impl FnOnce() -> String) -> R<()> {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

fn eq<T: PartialEq + std::fmt::Debug>(got: T, want: T, what: &str) -> R<()> {
    ensure(got == want, || {
        format!("{what}: library gives {got:?}, vector says {want:?}")
    })
}

/// Compares a library outcome with the case's `result` / `error`; returns the
/// value when the case is valid.
fn outcome<T>(case: &Value, got: Result<T, String>) -> R<Option<T>> {
    match (st(case, "result")?, got) {
        ("valid", Ok(v)) => Ok(Some(v)),
        ("valid", Err(e)) => Err(format!("expected valid, library says {e}")),
        ("invalid", Ok(_)) => Err(format!("expected {}, library accepts", st(case, "error")?)),
        ("invalid", Err(e)) => {
            eq(e.as_str(), st(case, "error")?, "error kind")?;
            Ok(None)
        }
        (other, _) => Err(format!("unknown result `{other}`")),
    }
}

// ------------------------------------------------------------ the checker

/// Checks one vector file against the library: the header, then every case.
/// Returns the number of cases. With `first_only`, stops at the first failure.
fn check_file(name: &str, text: &str, first_only: bool) -> R<usize> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("{name}: bad JSON: {e}"))?;
    eq(
        st(&doc, "specVersion")?,
        vectors_gen::SPEC_VERSION,
        "specVersion",
    )?;
    eq(st(&doc, "generator")?, vectors_gen::GENERATOR, "generator")?;
    ensure(!st(&doc, "algorithm")?.is_empty(), || {
        "empty algorithm".into()
    })?;
    let notes = get(&doc, "notes")?
        .as_object()
        .ok_or("notes is not an object")?;
    let schema = get(&doc, "schema")?
        .as_object()
        .ok_or("schema is not an object")?;
    let ids = if name == "envelopes.json" {
        Some(Identities::parse(get(&doc, "identities")?).map_err(|e| format!("identities: {e}"))?)
    } else {
        None
    };
    let pw = if name == "prekeys.json" || name == "hybrid.json" || name == "sessions.json" {
        Some(PrekeyWorld::parse(get(&doc, "identities")?).map_err(|e| format!("identities: {e}"))?)
    } else {
        None
    };
    let mut count = 0u64;
    let mut failures = Vec::new();
    for group in arr(&doc, "testGroups")? {
        let kind = st(group, "type")?;
        ensure(schema.contains_key(kind), || {
            format!("group type {kind} has no schema")
        })?;
        for case in arr(group, "tests")? {
            count += 1;
            let id = num(case, "tcId")?;
            let res = check_common(case, notes, id == count)
                .and_then(|()| check_case(name, kind, group, case, ids.as_ref(), pw.as_ref()));
            if let Err(e) = res {
                failures.push(format!("{name} tcId {id} ({kind}): {e}"));
                if first_only {
                    return Err(failures.join("\n"));
                }
            }
        }
    }
    eq(num(&doc, "numberOfTests")?, count, "numberOfTests")?;
    if failures.is_empty() {
        Ok(usize::try_from(count).unwrap())
    } else {
        Err(failures.join("\n"))
    }
}

fn check_common(case: &Value, notes: &serde_json::Map<String, Value>, id_ok: bool) -> R<()> {
    ensure(id_ok, || "tcIds must count up from 1".into())?;
    ensure(!st(case, "comment")?.is_empty(), || "empty comment".into())?;
    for flag in names(case, "flags")? {
        ensure(notes.contains_key(flag), || {
            format!("flag {flag} not in notes")
        })?;
    }
    match st(case, "result")? {
        "valid" => ensure(case.get("error").is_none(), || {
            "valid case with an error".into()
        }),
        "invalid" => st(case, "error").map(|_| ()),
        other => Err(format!("unknown result {other}")),
    }
}

fn check_case(
    file: &str,
    kind: &str,
    group: &Value,
    case: &Value,
    ids: Option<&Identities>,
    pw: Option<&PrekeyWorld>,
) -> R<()> {
    match (file, kind) {
        ("keys.json", "AccountKey") => account_key(case),
        ("keys.json", "DeviceKey") => device_key(case),
        ("certificates.json", "CertificateIssue") => certificate_issue(group, case),
        ("certificates.json", "CertificateVerify") => certificate_verify(case),
        ("device_lists.json", "DeviceListIssue") => list_issue(group, case),
        ("device_lists.json", "DeviceListVerify") => list_verify(case),
        ("device_lists.json", "DeviceListUpdate") => list_update(group, case),
        ("device_lists.json", "ForkEvidence") => fork_evidence(case),
        ("safety_numbers.json", "SafetyNumber") => safety_number(case),
        ("safety_numbers.json", "SafetyNumberDecode") => safety_number_decode(case),
        ("padding.json", "Padme") => padme_case(case),
        ("padding.json", "PaddedLength") => padded_length(case),
        ("envelopes.json", k) => {
            let ids = ids.ok_or("no identities")?;
            match k {
                "Seal" => seal_case(ids, case),
                "SealError" => seal_error(ids, case),
                "Open" => open_case(ids, case),
                "Replay" => replay_case(ids, group, case),
                "ReplayGuardState" => replay_state(ids, group, case),
                "RelayDecode" => relay_decode(case),
                other => Err(format!("unknown group type {other}")),
            }
        }
        ("prekeys.json", k) => {
            let pw = pw.ok_or("no identities")?;
            match k {
                "PrekeyIssue" => prekey_issue(case),
                "PrekeyVerify" => prekey_verify(pw, case),
                "KeyringExport" => keyring_export(case),
                "KeyringImport" => keyring_import(case),
                "SealToPrekeys" => seal_to_prekeys(pw, case),
                "OpenWithKeyring" => open_with_keyring(pw, case),
                other => Err(format!("unknown group type {other}")),
            }
        }
        ("hybrid.json", k) => {
            let pw = pw.ok_or("no identities")?;
            match k {
                "HybridPrekeyIssue" => hybrid_prekey_issue(case),
                "HybridPrekeyVerify" => prekey_verify(pw, case),
                "HybridKeyringExport" => hybrid_keyring_export(case),
                "HybridKeyringImport" => keyring_import(case),
                "HybridSeal" | "HybridSealError" => hybrid_seal(pw, case),
                "HybridOpen" => hybrid_open(pw, case),
                other => Err(format!("unknown group type {other}")),
            }
        }
        ("sessions.json", k) => {
            let pw = pw.ok_or("no identities")?;
            match k {
                "SessionMessage" => session_message(pw, case),
                "SessionDistribution" => session_distribution(pw, case),
                "SessionExport" => session_export(pw, case),
                "SessionMessageDecode" => message_decode(case),
                "SessionDecrypt" => session_decrypt(pw, case),
                "SessionImport" => session_import(pw, case),
                other => Err(format!("unknown group type {other}")),
            }
        }
        (f, k) => Err(format!("unknown group type {k} in {f}")),
    }
}

// ------------------------------------------------------------ keys

/// For groups whose cases are all valid: the case must say so.
fn valid_only(case: &Value) -> R<()> {
    outcome(case, Ok(())).map(|_| ())
}

fn account_key(case: &Value) -> R<()> {
    valid_only(case)?;
    let seed = fixed::<32>(case, "seed")?;
    let account = AccountSecret::from_secret_seed(&seed);
    eq(
        account.public_key().to_bytes(),
        fixed(case, "publicKey")?,
        "publicKey",
    )?;
    eq(*account.export_secret_seed(), seed, "exported seed")
}

fn device_key(case: &Value) -> R<()> {
    valid_only(case)?;
    let secret = fixed::<64>(case, "secret")?;
    let account = AccountPublicKey::from_bytes(fixed(case, "account")?);
    let device = DeviceSecret::from_secret_bytes(&secret);
    let keys = device.public_keys();
    eq(keys.x25519, fixed(case, "x25519Public")?, "x25519Public")?;
    eq(keys.ed25519, fixed(case, "ed25519Public")?, "ed25519Public")?;
    // The key id of this key as certified by `account` (SPEC.md §3.2).
    eq(
        KeyId::of(&account, &keys.x25519).to_bytes(),
        fixed(case, "keyId")?,
        "KeyId::of",
    )?;
    eq(
        *device.export_secret_bytes(),
        secret,
        "exported secret bytes",
    )
}

// ------------------------------------------------------------ certificates

fn params(v: &Value) -> R<CertificateParams> {
    let p = get(v, "params")?;
    let expires_at = match get(p, "expiresAt")? {
        Value::Null => None,
        x => Some(x.as_u64().ok_or("expiresAt")?),
    };
    Ok(CertificateParams {
        device_id: DeviceId::from_bytes(fixed(p, "deviceId")?),
        keys: DevicePublicKeys {
            x25519: fixed(p, "x25519Public")?,
            ed25519: fixed(p, "ed25519Public")?,
        },
        created_at: num(p, "createdAt")?,
        expires_at,
        capabilities: u32::try_from(num(p, "capabilities")?).map_err(|e| e.to_string())?,
    })
}

fn certificate_issue(group: &Value, case: &Value) -> R<()> {
    let account = AccountSecret::from_secret_seed(&fixed(group, "accountSeed")?);
    eq(
        account.public_key().to_bytes(),
        fixed(group, "accountPublicKey")?,
        "accountPublicKey",
    )?;
    let got = account
        .certify_device(&params(case)?)
        .map_err(|e| cert_kind(&e));
    if let Some(cert) = outcome(case, got)? {
        let want = hx(case, "certificate")?;
        eq(
            hex::encode(cert.to_bytes()),
            hex::encode(&want),
            "certificate",
        )?;
        eq(
            DeviceCertificate::from_bytes(&want).as_ref(),
            Ok(&cert),
            "decoded certificate",
        )?;
        eq(cert.key_id().to_bytes(), fixed(case, "keyId")?, "keyId")?;
        eq(
            KeyId::of(&account.public_key(), &cert.keys().x25519),
            cert.key_id(),
            "KeyId::of",
        )?;
        eq(
            cert.recipient_binding(),
            fixed(case, "recipientBinding")?,
            "recipientBinding",
        )?;
        let verified = cert
            .verify(&account.public_key(), 0)
            .map_err(|e| format!("issued certificate does not verify: {e}"))?;
        eq(verified.key_id(), cert.key_id(), "key_id")?;
        eq(
            *verified.recipient_binding(),
            cert.recipient_binding(),
            "verified recipient_binding",
        )?;
    }
    Ok(())
}

fn certificate_verify(case: &Value) -> R<()> {
    let bytes = hx(case, "certificate")?;
    let account = AccountPublicKey::from_bytes(fixed(case, "account")?);
    let now = num(case, "now")?;
    let got = DeviceCertificate::from_bytes(&bytes)
        .map_err(|e| decode_kind(&e))
        .and_then(|c| c.verify(&account, now).map_err(|e| cert_kind(&e)));
    if let Some(verified) = outcome(case, got)? {
        let cert = verified.certificate();
        eq(cert.params(), &params(case)?, "params")?;
        eq(cert.key_id().to_bytes(), fixed(case, "keyId")?, "keyId")?;
        eq(cert.account(), &account, "account")?;
        eq(cert.to_bytes(), bytes, "re-encoding")?;
    }
    Ok(())
}

// ------------------------------------------------------------ device lists

fn decode_list(bytes: &[u8], what: &str) -> R<DeviceList> {
    DeviceList::from_bytes(bytes).map_err(|e| format!("{what} does not decode: {e}"))
}

fn list_issue(group: &Value, case: &Value) -> R<()> {
    let account = AccountSecret::from_secret_seed(&fixed(group, "accountSeed")?);
    eq(
        account.public_key().to_bytes(),
        fixed(group, "accountPublicKey")?,
        "accountPublicKey",
    )?;
    // The API extends only a verified list: the predecessor is verified for
    // the account it is given for, and a failure there is the case's error.
    let previous = match get(case, "previous")? {
        Value::Null => None,
        _ => {
            let owner = AccountPublicKey::from_bytes(fixed(case, "previousAccount")?);
            match decode_list(&hx(case, "previous")?, "previous")?.verify(&owner) {
                Ok(v) => Some(v),
                Err(e) => {
                    return outcome::<()>(case, Err(list_kind(&e))).map(|_| ());
                }
            }
        }
    };
    let mut certs = Vec::new();
    for c in arr(case, "certificates")? {
        let b = unhex(c.as_str().ok_or("certificate")?, "certificates")?;
        certs.push(DeviceCertificate::from_bytes(&b).map_err(|e| format!("certificate: {e}"))?);
    }
    if let Some(r) = case.get("repeat") {
        let times = usize::try_from(r.as_u64().ok_or("repeat")?).map_err(|e| e.to_string())?;
        certs = std::iter::repeat_n(certs, times).flatten().collect();
    }
    let result = account.issue_device_list(previous.as_ref(), num(case, "issuedAt")?, certs);
    check_device_id(case, result.as_ref().err())?;
    let got = result.map_err(|e| list_kind(&e));
    if let Some(list) = outcome(case, got)? {
        let want = hx(case, "list")?;
        eq(hex::encode(list.to_bytes()), hex::encode(&want), "list")?;
        eq(list.hash().to_vec(), hx(case, "hash")?, "hash")?;
        eq(decode_list(&want, "list")?, list, "decoded list")?;
    }
    Ok(())
}

fn list_verify(case: &Value) -> R<()> {
    let bytes = hx(case, "list")?;
    let account = AccountPublicKey::from_bytes(fixed(case, "account")?);
    let decoded = DeviceList::from_bytes(&bytes);
    check_field(case, decoded.as_ref().err())?;
    if let Ok(l) = &decoded {
        check_device_id(case, l.verify(&account).as_ref().err())?;
    }
    let got = decoded
        .map_err(|e| decode_kind(&e))
        .and_then(|l| l.verify(&account).map_err(|e| list_kind(&e)));
    if let Some(verified) = outcome(case, got)? {
        let list = verified.list();
        eq(list.version(), num(case, "version")?, "version")?;
        eq(
            list.previous_hash().to_vec(),
            hx(case, "previousHash")?,
            "previousHash",
        )?;
        eq(list.issued_at(), num(case, "issuedAt")?, "issuedAt")?;
        eq(list.hash().to_vec(), hx(case, "hash")?, "hash")?;
        let certs: Vec<String> = list
            .certificates()
            .iter()
            .map(|c| hex::encode(c.to_bytes()))
            .collect();
        let want: Vec<String> = names(case, "certificates")?
            .iter()
            .map(|s| (*s).to_string())
            .collect();
        eq(certs, want, "certificates")?;
        eq(
            verified.devices().len(),
            list.certificates().len(),
            "devices",
        )?;
        eq(list.to_bytes(), bytes, "re-encoding")?;
    }
    Ok(())
}

fn list_update(group: &Value, case: &Value) -> R<()> {
    let account = AccountPublicKey::from_bytes(fixed(group, "account")?);
    let lists = get(group, "lists")?;
    let named = |name: &str| -> R<DeviceList> { decode_list(&hx(lists, name)?, name) };
    let trusted = named(st(case, "trusted")?)?
        .verify(&account)
        .map_err(|e| format!("trusted list does not verify: {e}"))?;
    let mids = names(case, "intermediates")?
        .into_iter()
        .map(named)
        .collect::<R<Vec<_>>>()?;
    let next = named(st(case, "next")?)?;
    let got = trusted.update(&mids, &next);
    // The kind first, then its details.
    if let (Err(e), "invalid") = (&got, st(case, "result")?) {
        eq(list_kind(e).as_str(), st(case, "error")?, "error kind")?;
    }
    match &got {
        Err(DeviceListError::Fork(evidence)) => {
            eq(
                hex::encode(evidence.to_bytes()),
                st(case, "forkEvidence")?.to_string(),
                "forkEvidence",
            )?;
            eq(evidence.verify(), Ok(account), "fork evidence verifies")?;
        }
        Err(DeviceListError::BrokenChain { at_version }) => {
            eq(*at_version, num(case, "atVersion")?, "atVersion")?;
        }
        Err(DeviceListError::Rollback { trusted, presented }) => {
            eq(*trusted, num(case, "trustedVersion")?, "trustedVersion")?;
            eq(
                *presented,
                num(case, "presentedVersion")?,
                "presentedVersion",
            )?;
        }
        _ => {}
    }
    if let Some(v) = outcome(case, got.map_err(|e| list_kind(&e)))? {
        eq(
            hex::encode(v.list().to_bytes()),
            st(lists, st(case, "resultList")?)?.to_string(),
            "resultList (the bytes now trusted)",
        )?;
        eq(v.version(), num(case, "resultVersion")?, "resultVersion")?;
        eq(
            v.list().hash().to_vec(),
            hx(case, "resultHash")?,
            "resultHash",
        )?;
    }
    Ok(())
}

fn fork_evidence(case: &Value) -> R<()> {
    let bytes = hx(case, "evidence")?;
    let decoded = ForkEvidence::from_bytes(&bytes);
    check_field(case, decoded.as_ref().err())?;
    let got = decoded
        .map_err(|e| decode_kind(&e))
        .and_then(|e| e.verify().map(|a| (e, a)).map_err(|e| list_kind(&e)));
    if let Some((evidence, account)) = outcome(case, got)? {
        eq(account.to_bytes(), fixed(case, "account")?, "account")?;
        eq(evidence.version(), num(case, "version")?, "version")?;
        eq(evidence.to_bytes(), bytes, "re-encoding")?;
    }
    Ok(())
}

// ------------------------------------------------------------ safety numbers, padding

fn safety_number(case: &Value) -> R<()> {
    valid_only(case)?;
    let a = AccountPublicKey::from_bytes(fixed(case, "accountA")?);
    let b = AccountPublicKey::from_bytes(fixed(case, "accountB")?);
    let n = SafetyNumber::new(&a, &b);
    let compact = hx(case, "compact")?;
    eq(n, SafetyNumber::new(&b, &a), "symmetry")?;
    eq(n.to_digits().as_str(), st(case, "digits")?, "digits")?;
    eq(n.to_string().as_str(), st(case, "digits")?, "Display")?;
    eq(n.to_bytes().to_vec(), compact.clone(), "compact")?;
    ensure(n.matches_scanned(&compact), || "matches_scanned".into())?;
    eq(SafetyNumber::from_bytes(&compact), Ok(n), "decoded")
}

fn safety_number_decode(case: &Value) -> R<()> {
    let compact = hx(case, "compact")?;
    let got = SafetyNumber::from_bytes(&compact).map_err(|e| decode_kind(&e));
    if let Some(n) = outcome(case, got)? {
        eq(n.to_digits().as_str(), st(case, "digits")?, "digits")?;
        eq(n.to_bytes().to_vec(), compact, "re-encoding")?;
    }
    Ok(())
}

fn padme_case(case: &Value) -> R<()> {
    valid_only(case)?;
    let len = usize::try_from(num(case, "length")?).map_err(|e| e.to_string())?;
    let want = usize::try_from(num(case, "paddedLength")?).map_err(|e| e.to_string())?;
    eq(padme(len), want, "padme")?;
    if want <= fanseal::limit::MAX_BODY {
        eq(Padding::Padme.padded_len(len), Some(want), "Padding::Padme")?;
    }
    Ok(())
}

fn padding_policy(v: &Value) -> R<Padding> {
    let p = get(v, "padding").or_else(|_| get(v, "policy"))?;
    match st(p, "type")? {
        "padme" => Ok(Padding::Padme),
        "none" => Ok(Padding::None),
        "bucket" => Ok(Padding::Bucket(
            u32::try_from(num(p, "bucketSize")?).map_err(|e| e.to_string())?,
        )),
        other => Err(format!("unknown padding {other}")),
    }
}

fn padded_length(case: &Value) -> R<()> {
    let len = usize::try_from(num(case, "length")?).map_err(|e| e.to_string())?;
    let got = padding_policy(case)?
        .padded_len(len)
        .ok_or_else(|| "SealError::PaddedBodyTooLarge".to_string());
    if let Some(p) = outcome(case, got)? {
        eq(p as u64, num(case, "paddedLength")?, "paddedLength")?;
    }
    Ok(())
}

// ------------------------------------------------------------ envelopes

struct Account {
    public: AccountPublicKey,
    list: VerifiedDeviceList,
}

struct Device {
    secret: DeviceSecret,
    certificate: DeviceCertificate,
    keyring: DeviceKeyring,
}

/// The shared identities of envelopes.json, each checked on the way in.
struct Identities {
    accounts: BTreeMap<String, Account>,
    devices: BTreeMap<String, Device>,
}

impl Identities {
    fn parse(v: &Value) -> R<Self> {
        let mut accounts = BTreeMap::new();
        for a in arr(v, "accounts")? {
            let public = AccountPublicKey::from_bytes(fixed(a, "publicKey")?);
            let list = decode_list(&hx(a, "deviceList")?, "deviceList")?
                .verify(&public)
                .map_err(|e| format!("deviceList does not verify: {e}"))?;
            accounts.insert(st(a, "name")?.to_string(), Account { public, list });
        }
        let mut devices = BTreeMap::new();
        for d in arr(v, "devices")? {
            let name = st(d, "name")?;
            let secret = DeviceSecret::from_secret_bytes(&fixed(d, "secret")?);
            let certificate = DeviceCertificate::from_bytes(&hx(d, "certificate")?)
                .map_err(|e| format!("{name}: certificate: {e}"))?;
            let account = accounts
                .get(st(d, "account")?)
                .ok_or_else(|| format!("{name}: unknown account"))?;
            eq(
                certificate.account(),
                &account.public,
                "certificate account",
            )?;
            eq(
                *certificate.keys(),
                secret.public_keys(),
                "certificate keys",
            )?;
            eq(certificate.key_id().to_bytes(), fixed(d, "keyId")?, "keyId")?;
            eq(
                certificate.device_id().to_bytes(),
                fixed(d, "deviceId")?,
                "deviceId",
            )?;
            let listed = account
                .list
                .device(certificate.device_id())
                .map(|c| c.certificate());
            let on_list = get(d, "onList")?.as_bool().ok_or("onList")?;
            eq(listed == Some(&certificate), on_list, "onList")?;
            let keyring = DeviceKeyring::new(
                DeviceSecret::from_secret_bytes(&fixed(d, "secret")?),
                certificate.clone(),
            )
            .map_err(|e| format!("{name}: keyring: {e}"))?;
            devices.insert(
                name.to_string(),
                Device {
                    secret,
                    certificate,
                    keyring,
                },
            );
        }
        Ok(Identities { accounts, devices })
    }

    fn device(&self, name: &str) -> R<&Device> {
        self.devices
            .get(name)
            .ok_or_else(|| format!("unknown device {name}"))
    }

    fn list(&self, name: &str) -> R<&VerifiedDeviceList> {
        self.accounts
            .get(name)
            .map(|a| &a.list)
            .ok_or_else(|| format!("unknown account {name}"))
    }

    fn directory(&self, v: &Value) -> R<Vec<VerifiedDeviceList>> {
        names(v, "directory")?
            .into_iter()
            .map(|n| self.list(n).cloned())
            .collect()
    }
}

/// Checks an `Opened` against the expected fields of a valid open.
fn check_opened(ids: &Identities, o: &Opened, want: &Value) -> R<()> {
    eq(o.payload().to_vec(), hx(want, "payload")?, "payload")?;
    eq(o.aad().to_vec(), blob(want, "aad")?, "aad")?;
    eq(
        o.sender_account().to_bytes(),
        fixed(want, "senderAccount")?,
        "senderAccount",
    )?;
    eq(
        o.sender_device().to_bytes(),
        fixed(want, "senderDevice")?,
        "senderDevice",
    )?;
    eq(
        o.message_id().to_bytes(),
        fixed(want, "messageId")?,
        "messageId",
    )?;
    eq(o.timestamp(), num(want, "timestamp")?, "timestamp")?;
    let sender = ids
        .devices
        .values()
        .find(|d| d.certificate.device_id() == o.sender_device())
        .ok_or("sender is not a known device")?;
    eq(
        o.sender_certificate(),
        &sender.certificate,
        "sender certificate",
    )
}

fn open_with(
    ids: &Identities,
    device: &str,
    bytes: &[u8],
    dir: &[VerifiedDeviceList],
    now: u64,
) -> R<Result<Opened, String>> {
    let d = ids.device(device)?;
    Ok(open(&d.keyring, bytes, dir, now).map_err(|e| open_kind(&e)))
}

/// Recipient lists, payload, aad and padding of a seal case.
type SealInputs<'a> = (Vec<&'a VerifiedDeviceList>, Vec<u8>, Vec<u8>, Padding);

fn seal_inputs<'a>(ids: &'a Identities, case: &Value) -> R<SealInputs<'a>> {
    let lists = names(case, "recipients")?
        .into_iter()
        .map(|n| ids.list(n))
        .collect::<R<Vec<_>>>()?;
    Ok((
        lists,
        hx(case, "payload")?,
        blob(case, "aad")?,
        padding_policy(case)?,
    ))
}

fn seal_case(ids: &Identities, case: &Value) -> R<()> {
    valid_only(case)?;
    let sender = ids.device(st(case, "sender")?)?;
    let (lists, payload, aad, padding) = seal_inputs(ids, case)?;
    let r = get(case, "randomness")?;
    let randomness = [
        fixed::<16>(r, "messageId")?.to_vec(),
        fixed::<32>(r, "messageSecret")?.to_vec(),
        fixed::<32>(r, "ephemeralSecret")?.to_vec(),
    ]
    .concat();
    let mut rng = ReplayRng::new(randomness);
    let message = Message {
        payload: &payload,
        aad: &aad,
        padding,
        ..Message::default()
    };
    let env = seal(
        &sender.secret,
        &sender.certificate,
        &lists,
        &[],
        &message,
        num(case, "now")?,
        &mut rng,
    )
    .map_err(|e| format!("seal fails: {}", seal_kind(&e)))?;
    ensure(rng.exactly_consumed(), || {
        "seal did not draw exactly the listed randomness".into()
    })?;
    let bytes = hx(case, "envelope")?;
    eq(hex::encode(env.to_bytes()), hex::encode(&bytes), "envelope")?;
    eq(
        Envelope::from_bytes(&bytes).as_ref(),
        Ok(&env),
        "decoded envelope",
    )?;

    let h = get(case, "header")?;
    let header = env.header();
    eq(
        header.message_id().to_bytes(),
        fixed(h, "messageId")?,
        "header messageId",
    )?;
    eq(
        header.body_len() as u64,
        num(h, "bodyLength")?,
        "header bodyLength",
    )?;
    use vectors_gen::craft::offset;
    eq(
        bytes
            .get(offset::EPHEMERAL..offset::COMMITMENT)
            .map(<[u8]>::to_vec),
        Some(hx(h, "ephemeralPublic")?),
        "ephemeralPublic",
    )?;
    eq(
        bytes
            .get(offset::COMMITMENT..offset::RECIPIENT_COUNT)
            .map(<[u8]>::to_vec),
        Some(hx(h, "commitment")?),
        "commitment",
    )?;
    let recipients: Vec<String> = header
        .recipients()
        .iter()
        .map(|k| hex::encode(k.to_bytes()))
        .collect();
    eq(
        recipients.clone(),
        names(h, "recipients")?
            .iter()
            .map(|s| s.to_string())
            .collect(),
        "header recipients",
    )?;

    let ms: [u8; 32] = fixed(r, "messageSecret")?;
    check_intermediate(
        ids,
        &lists,
        case,
        get(case, "intermediate")?,
        &bytes,
        header.recipients(),
        &ms,
    )?;

    let deliveries = arr(case, "deliveries")?;
    let split: Vec<(KeyId, Delivery)> = env.deliveries().collect();
    eq(split.len(), deliveries.len(), "number of deliveries")?;
    for ((key_id, d), want) in split.iter().zip(deliveries) {
        let want_bytes = hx(want, "delivery")?;
        eq(key_id.to_bytes(), fixed(want, "keyId")?, "delivery keyId")?;
        eq(
            hex::encode(d.to_bytes()),
            hex::encode(&want_bytes),
            "delivery",
        )?;
        eq(env.delivery_for(key_id).as_ref(), Some(d), "delivery_for")?;
        eq(
            Delivery::from_bytes(&want_bytes).as_ref(),
            Ok(d),
            "decoded delivery",
        )?;
    }

    let dir = ids.directory(case)?;
    let now = num(case, "openNow")?;
    for o in arr(case, "opens")? {
        let name = st(o, "device")?;
        let key_id = ids.device(name)?.keyring.key_id();
        let mut inputs = vec![bytes.clone()];
        if let Some(d) = env.delivery_for(&key_id) {
            inputs.push(d.to_bytes());
        }
        for input in inputs {
            let got = open_with(ids, name, &input, &dir, now)?;
            if let Some(opened) = outcome(o, got).map_err(|e| format!("{name}: {e}"))? {
                check_opened(ids, &opened, o).map_err(|e| format!("{name}: {e}"))?;
                eq(
                    opened.recipients(),
                    header.recipients(),
                    "opened recipients",
                )?;
            }
        }
    }
    Ok(())
}

/// The intermediate values of a seal case, recomputed from the envelope
/// bytes, the message secret and each recipient's own secret key with the
/// primitive crates directly (tests/support/vectors_craft.rs), not with
/// fanseal: the decap side of every wrap and the body decryption.
fn check_intermediate(
    ids: &Identities,
    lists: &[&VerifiedDeviceList],
    case_randomness: &Value,
    im: &Value,
    bytes: &[u8],
    recipients: &[KeyId],
    ms: &[u8; 32],
) -> R<()> {
    use vectors_gen::craft;
    let (context, header) = craft::header_hashes(bytes).ok_or("envelope too short")?;
    eq(context.to_vec(), hx(im, "contextHash")?, "contextHash")?;
    eq(header.to_vec(), hx(im, "headerHash")?, "headerHash")?;
    let (commitment, key, nonce) = craft::message_keys(ms, &context);
    eq(
        bytes.get(craft::offset::COMMITMENT..craft::offset::RECIPIENT_COUNT),
        Some(&commitment[..]),
        "commitment of the message secret",
    )?;
    eq(key.clone(), hx(im, "bodyKey")?, "bodyKey")?;
    eq(nonce.clone(), hx(im, "bodyNonce")?, "bodyNonce")?;
    let n = recipients.len();
    let body = bytes.get(craft::offset::body(n)..).ok_or("no body")?;
    eq(
        craft::aes_gcm_open(&key, &nonce, &header, body),
        Some(hx(im, "bodyPlaintext")?),
        "bodyPlaintext",
    )?;
    let info = craft::wrap_info(&header);
    eq(info.clone(), hx(im, "wrapInfo")?, "wrapInfo")?;
    let enc: [u8; 32] = bytes
        .get(craft::offset::EPHEMERAL..craft::offset::COMMITMENT)
        .and_then(|b| b.try_into().ok())
        .ok_or("no ephemeral key")?;
    let wraps = arr(im, "wraps")?;
    eq(wraps.len(), n, "number of wraps")?;
    let eph: [u8; 32] = fixed(get(case_randomness, "randomness")?, "ephemeralSecret")?;
    for (i, (w, key_id)) in wraps.iter().zip(recipients).enumerate() {
        eq(key_id.to_bytes(), fixed(w, "keyId")?, "wrap keyId")?;
        let cert = lists
            .iter()
            .flat_map(|l| l.devices())
            .find(|d| d.key_id() == *key_id)
            .ok_or("a recipient is on no list passed to seal")?;
        let pk = cert.keys().x25519;
        // The DH output from the encap side; from the decap side too when
        // the recipient's secret is known (not for a key an attacker
        // certified with a torsion component, whose owner has other bytes).
        let dh = craft::x25519(&eph, &pk);
        if let Some(device) = ids.devices.values().find(|d| d.keyring.key_id() == *key_id) {
            let sk: [u8; 32] = device.secret.export_secret_bytes()[..32]
                .try_into()
                .map_err(|_| "secret")?;
            eq(craft::x25519(&sk, &enc), dh, "DH output (decap side)")?;
        }
        let k = craft::wrap_keys(&dh, &enc, &pk, &info);
        eq(k.shared_secret, hx(w, "sharedSecret")?, "sharedSecret")?;
        eq(k.key.clone(), hx(w, "key")?, "wrap key")?;
        eq(k.base_nonce.clone(), hx(w, "baseNonce")?, "baseNonce")?;
        // The wrap's AAD is the recipient binding of the recipient's
        // certificate on the list the sender used (SPEC.md §4.5), computed
        // here from its bytes.
        let binding = craft::certificate_binding(&cert.certificate().to_bytes());
        eq(
            binding.to_vec(),
            hx(w, "recipientBinding")?,
            "recipientBinding",
        )?;
        eq(
            cert.recipient_binding(),
            &binding,
            "VerifiedDeviceCertificate::recipient_binding",
        )?;
        let at = craft::offset::wraps(n) + 48 * i;
        let wrap = bytes.get(at..at + 48).ok_or("no wrap")?;
        eq(
            craft::aes_gcm_open(&k.key, &k.base_nonce, &binding, wrap),
            Some(ms.to_vec()),
            "the wrap opens to the message secret",
        )?;
    }
    Ok(())
}

fn seal_error(ids: &Identities, case: &Value) -> R<()> {
    let sender = ids.device(st(case, "sender")?)?;
    let cert = &ids.device(st(case, "senderCertificate")?)?.certificate;
    let (lists, payload, aad, padding) = seal_inputs(ids, case)?;
    let mut rng = ReplayRng::new(Vec::new());
    let message = Message {
        payload: &payload,
        aad: &aad,
        padding,
        ..Message::default()
    };
    let got = seal(
        &sender.secret,
        cert,
        &lists,
        &[],
        &message,
        num(case, "now")?,
        &mut rng,
    )
    .map_err(|e| seal_kind(&e));
    ensure(rng.exactly_consumed(), || {
        "a refused seal drew randomness".into()
    })?;
    outcome(case, got).map(|_| ())
}

fn open_case(ids: &Identities, case: &Value) -> R<()> {
    let dir = ids.directory(case)?;
    if case.get("errorField").is_some() || case.get("expectedObjectType").is_some() {
        let d = ids.device(st(case, "device")?)?;
        let e = open(&d.keyring, &hx(case, "message")?, &dir, num(case, "now")?).err();
        let decode = match &e {
            Some(OpenError::Decode(d)) => Some(d),
            _ => None,
        };
        check_field(case, decode)?;
        if case.get("expectedObjectType").is_some() {
            match decode {
                Some(DecodeError::WrongObjectType { expected, .. }) => eq(
                    u64::from(*expected),
                    num(case, "expectedObjectType")?,
                    "expectedObjectType",
                )?,
                other => return Err(format!("expected WrongObjectType, library gives {other:?}")),
            }
        }
    }
    let got = open_with(
        ids,
        st(case, "device")?,
        &hx(case, "message")?,
        &dir,
        num(case, "now")?,
    )?;
    if let Some(opened) = outcome(case, got)? {
        check_opened(ids, &opened, case)?;
    }
    Ok(())
}

fn relay_decode(case: &Value) -> R<()> {
    let bytes = hx(case, "bytes")?;
    let got = match st(case, "object")? {
        "envelope" => Envelope::from_bytes(&bytes).map(|e| (e.header().clone(), e.to_bytes())),
        "delivery" => Delivery::from_bytes(&bytes).map(|d| (d.header().clone(), d.to_bytes())),
        other => return Err(format!("unknown object {other}")),
    };
    if case.get("expectedObjectType").is_some() {
        match &got {
            Err(DecodeError::WrongObjectType { expected, .. }) => eq(
                u64::from(*expected),
                num(case, "expectedObjectType")?,
                "expectedObjectType",
            )?,
            other => return Err(format!("expected WrongObjectType, library gives {other:?}")),
        }
    }
    if let Some((header, again)) = outcome(case, got.map_err(|e| decode_kind(&e)))? {
        eq(hex::encode(again), hex::encode(&bytes), "re-encoding")?;
        let ids: Vec<String> = header
            .recipients()
            .iter()
            .map(|k| hex::encode(k.to_bytes()))
            .collect();
        let want: Vec<String> = names(case, "recipients")?
            .iter()
            .map(|s| (*s).to_string())
            .collect();
        eq(ids, want, "recipients")?;
        eq(
            header.body_len() as u64,
            num(case, "bodyLength")?,
            "bodyLength",
        )?;
        if st(case, "object")? == "envelope" {
            let env = Envelope::from_bytes(&bytes).map_err(|e| e.to_string())?;
            let split: Vec<(String, String)> = env
                .deliveries()
                .map(|(k, d)| (hex::encode(k.to_bytes()), hex::encode(d.to_bytes())))
                .collect();
            let want = arr(case, "deliveries")?
                .iter()
                .map(|d| Ok((st(d, "keyId")?.to_string(), st(d, "delivery")?.to_string())))
                .collect::<R<Vec<_>>>()?;
            eq(split, want, "relay split")?;
        } else {
            let env = Envelope::from_bytes(&hx(case, "envelope")?).map_err(|e| e.to_string())?;
            let key_id = KeyId::from_bytes(fixed(case, "keyId")?);
            let split = env.delivery_for(&key_id).map(|d| d.to_bytes());
            eq(
                split,
                Some(bytes.clone()),
                "delivery split from the envelope",
            )?;
        }
    }
    Ok(())
}

fn fresh_guard(group: &Value) -> R<ReplayGuard> {
    let g = get(group, "guard")?;
    let max_accounts = match g.get("maxAccounts") {
        Some(_) => num(g, "maxAccounts")?,
        None => ReplayGuard::DEFAULT_MAX_ACCOUNTS as u64,
    };
    let size = |v: u64| usize::try_from(v).map_err(|e| e.to_string());
    Ok(ReplayGuard::with_max_accounts(
        size(num(g, "capacity")?)?,
        num(g, "windowMs")?,
        num(g, "maxSkewMs")?,
        size(max_accounts)?,
    ))
}

/// Runs a case's replay steps through `open` and the public guard API;
/// returns the last step's result.
fn replay_steps(
    ids: &Identities,
    group: &Value,
    case: &Value,
    guard: &mut ReplayGuard,
) -> R<Result<(), String>> {
    let dir = ids.directory(group)?;
    let device = st(group, "device")?;
    let case_api = case
        .get("api")
        .and_then(Value::as_str)
        .unwrap_or("per step");
    let mut last = Ok(());
    for step in arr(case, "steps")? {
        let now = num(step, "now")?;
        let opened = open_with(ids, device, &hx(step, "message")?, &dir, now)?
            .map_err(|e| format!("a replay step does not open: {e}"))?;
        let api = match case_api {
            "per step" => st(step, "api")?,
            other => other,
        };
        let r = match api {
            "check_opened" => guard.check_opened(&opened, now),
            "check" => guard.check(opened.message_id(), opened.timestamp(), now),
            other => return Err(format!("unknown api {other}")),
        }
        .map_err(|e| replay_kind(&e));
        let got = match &r {
            Ok(()) => "ok".to_string(),
            Err(e) => e.clone(),
        };
        eq(got.as_str(), st(step, "expect")?, "replay step")?;
        last = r;
    }
    Ok(last)
}

fn replay_case(ids: &Identities, group: &Value, case: &Value) -> R<()> {
    let mut guard = fresh_guard(group)?;
    let last = replay_steps(ids, group, case, &mut guard)?;
    outcome(case, last).map(|_| ())
}

// ------------------------------------------------------------ prekeys.json

struct PkDevice {
    secret: DeviceSecret,
    certificate: DeviceCertificate,
}

/// The shared identities of prekeys.json, each checked on the way in.
struct PrekeyWorld {
    lists: BTreeMap<String, VerifiedDeviceList>,
    devices: BTreeMap<String, PkDevice>,
    prekeys: BTreeMap<String, SignedPrekey>,
    keyrings: BTreeMap<String, DeviceKeyring>,
}

impl PrekeyWorld {
    fn parse(v: &Value) -> R<Self> {
        let mut accounts = BTreeMap::new();
        for a in arr(v, "accounts")? {
            let public = AccountPublicKey::from_bytes(fixed(a, "publicKey")?);
            accounts.insert(st(a, "name")?.to_string(), public);
        }
        let account = |n: &str| {
            accounts
                .get(n)
                .ok_or_else(|| format!("unknown account {n}"))
        };
        let mut lists = BTreeMap::new();
        for l in arr(v, "lists")? {
            let list = decode_list(&hx(l, "deviceList")?, "deviceList")?
                .verify(account(st(l, "account")?)?)
                .map_err(|e| format!("deviceList does not verify: {e}"))?;
            lists.insert(st(l, "name")?.to_string(), list);
        }
        let mut devices = BTreeMap::new();
        for d in arr(v, "devices")? {
            let name = st(d, "name")?;
            let secret = DeviceSecret::from_secret_bytes(&fixed(d, "secret")?);
            let certificate = DeviceCertificate::from_bytes(&hx(d, "certificate")?)
                .map_err(|e| format!("{name}: certificate: {e}"))?;
            certificate
                .verify(account(st(d, "account")?)?, 0)
                .map_err(|e| format!("{name}: certificate: {e}"))?;
            eq(
                *certificate.keys(),
                secret.public_keys(),
                "certificate keys",
            )?;
            eq(certificate.key_id().to_bytes(), fixed(d, "keyId")?, "keyId")?;
            eq(
                certificate.device_id().to_bytes(),
                fixed(d, "deviceId")?,
                "deviceId",
            )?;
            if d.get("capabilities").is_some() {
                let caps = u64::from(certificate.params().capabilities);
                eq(caps, num(d, "capabilities")?, "capabilities")?;
                // Bit 1 (hybrid) implies the prekey rule (SPEC.md §3.3).
                eq(certificate.requires_prekeys(), caps & 3 != 0, "bit 0 or 1")?;
                eq(certificate.supports_hybrid(), caps & 2 != 0, "bit 1")?;
            }
            devices.insert(
                name.to_string(),
                PkDevice {
                    secret,
                    certificate,
                },
            );
        }
        let mut prekeys = BTreeMap::new();
        for p in arr(v, "prekeys")? {
            let name = st(p, "name")?;
            let prekey = SignedPrekey::from_bytes(&hx(p, "prekey")?)
                .map_err(|e| format!("{name}: prekey: {e}"))?;
            eq(
                prekey.key_id().to_bytes(),
                fixed(p, "keyId")?,
                "prekey keyId",
            )?;
            // Signed by the named device's key: it verifies against that
            // device's certificate while it is valid.
            let dev = devices
                .get(st(p, "device")?)
                .ok_or_else(|| format!("{name}: unknown device"))?;
            let cert = dev
                .certificate
                .verify(dev.certificate.account(), 0)
                .map_err(|e| e.to_string())?;
            prekey
                .verify(&cert, prekey.created_at())
                .map_err(|e| format!("{name}: {e}"))?;
            prekeys.insert(name.to_string(), prekey);
        }
        let mut keyrings = BTreeMap::new();
        for k in arr(v, "keyrings")? {
            let name = st(k, "name")?;
            let bytes = hx(k, "export")?;
            let keyring =
                DeviceKeyring::import(&bytes).map_err(|e| format!("{name}: import: {e}"))?;
            let dev = devices
                .get(st(k, "device")?)
                .ok_or_else(|| format!("{name}: unknown device"))?;
            eq(
                keyring.certificate(),
                &dev.certificate,
                "keyring certificate",
            )?;
            eq(
                hex::encode(&*keyring.export()),
                hex::encode(&bytes),
                "keyring re-export",
            )?;
            keyrings.insert(name.to_string(), keyring);
        }
        Ok(PrekeyWorld {
            lists,
            devices,
            prekeys,
            keyrings,
        })
    }

    fn list(&self, n: &str) -> R<&VerifiedDeviceList> {
        self.lists.get(n).ok_or_else(|| format!("unknown list {n}"))
    }

    fn device(&self, n: &str) -> R<&PkDevice> {
        self.devices
            .get(n)
            .ok_or_else(|| format!("unknown device {n}"))
    }

    fn prekey(&self, n: &str) -> R<&SignedPrekey> {
        self.prekeys
            .get(n)
            .ok_or_else(|| format!("unknown prekey {n}"))
    }

    fn keyring(&self, n: &str) -> R<&DeviceKeyring> {
        self.keyrings
            .get(n)
            .ok_or_else(|| format!("unknown keyring {n}"))
    }

    fn directory(&self, v: &Value) -> R<Vec<VerifiedDeviceList>> {
        names(v, "directory")?
            .into_iter()
            .map(|n| self.list(n).cloned())
            .collect()
    }
}

fn prekey_policy(v: &Value) -> R<PrekeyPolicy> {
    Ok(PrekeyPolicy {
        rotation_period_ms: num(v, "rotationPeriodMs")?,
        lifetime_ms: num(v, "lifetimeMs")?,
        grace_ms: num(v, "graceMs")?,
    })
}

/// A certificate of a keyring script: it must decode; whether it verifies
/// under the account it names is for the keyring to check (SPEC.md §3.8).
fn own_certificate(v: &Value) -> R<DeviceCertificate> {
    DeviceCertificate::from_bytes(&hx(v, "certificate")?).map_err(|e| format!("certificate: {e}"))
}

/// `DeviceKeyring::new` of the case's secret and certificate, or the
/// `CertificateError` kind it returns.
fn try_new_keyring(case: &Value) -> R<Result<DeviceKeyring, String>> {
    let certificate = own_certificate(case)?;
    Ok(DeviceKeyring::new(
        DeviceSecret::from_secret_bytes(&fixed(case, "secret")?),
        certificate,
    )
    .map_err(|e| cert_kind(&e)))
}

fn new_keyring(case: &Value) -> R<DeviceKeyring> {
    try_new_keyring(case)?.map_err(|e| format!("DeviceKeyring::new: {e}"))
}

fn prekey_issue(case: &Value) -> R<()> {
    let account = AccountPublicKey::from_bytes(fixed(case, "account")?);
    let now = num(case, "now")?;
    let mut keyring = new_keyring(case)?;
    let verified = keyring
        .certificate()
        .verify(&account, now)
        .map_err(|e| format!("certificate does not verify: {e}"))?;
    let mut rng = ReplayRng::new(hx(case, "randomness")?);
    let got = keyring
        .set_policy(prekey_policy(get(case, "policy")?)?)
        .and_then(|()| keyring.rotate_prekey(now, &mut rng))
        .map_err(|e| keyring_kind(&e));
    ensure(rng.exactly_consumed(), || {
        "rotate_prekey did not draw exactly the listed randomness".into()
    })?;
    if let Some(p) = outcome(case, got)? {
        let want = hx(case, "prekey")?;
        eq(hex::encode(p.to_bytes()), hex::encode(&want), "prekey")?;
        eq(
            SignedPrekey::from_bytes(&want).as_ref(),
            Ok(&p),
            "decoded prekey",
        )?;
        eq(p.key_id().to_bytes(), fixed(case, "keyId")?, "keyId")?;
        let v = p
            .verify(&verified, now)
            .map_err(|e| format!("the new prekey does not verify: {e}"))?;
        eq(v.key_id(), p.key_id(), "verified key_id")?;
        eq(
            *v.recipient_binding(),
            fixed(case, "recipientBinding")?,
            "recipientBinding",
        )?;
        eq(keyring.current_prekey(now), Some(&p), "current_prekey")?;
    }
    Ok(())
}

fn prekey_verify(pw: &PrekeyWorld, case: &Value) -> R<()> {
    let bytes = hx(case, "prekey")?;
    let list = pw.list(st(case, "listName")?)?;
    let now = num(case, "now")?;
    let got: Result<VerifiedPrekey, String> = match SignedPrekey::from_bytes(&bytes) {
        Err(e) => Err(decode_kind(&e)),
        Ok(p) => match st(case, "form")? {
            "certificate" => {
                let d = pw.device(st(case, "device")?)?;
                let vc = list
                    .device(d.certificate.device_id())
                    .ok_or("the device is not on the list")?;
                eq(vc.certificate(), &d.certificate, "certificate on the list")?;
                p.verify(vc, now).map_err(|e| prekey_kind(&e))
            }
            "list" => list.verify_prekey(&p, now).map_err(|e| prekey_kind(&e)),
            other => return Err(format!("unknown form {other}")),
        },
    };
    if let Some(v) = outcome(case, got)? {
        eq(v.account().to_bytes(), fixed(case, "account")?, "account")?;
        eq(
            v.device_id().to_bytes(),
            fixed(case, "deviceId")?,
            "deviceId",
        )?;
        eq(*v.device_key(), fixed(case, "deviceKey")?, "deviceKey")?;
        eq(v.public_key().to_vec(), hx(case, "publicKey")?, "publicKey")?;
        if case.get("suite").is_some() {
            eq(u64::from(v.suite().id()), num(case, "suite")?, "suite")?;
        }
        eq(v.created_at(), num(case, "createdAt")?, "createdAt")?;
        eq(v.expires_at(), num(case, "expiresAt")?, "expiresAt")?;
        eq(v.key_id().to_bytes(), fixed(case, "keyId")?, "keyId")?;
        eq(
            *v.recipient_binding(),
            fixed(case, "recipientBinding")?,
            "recipientBinding",
        )?;
        eq(v.to_bytes(), bytes, "re-encoding")?;
    }
    Ok(())
}

fn keyring_export(case: &Value) -> R<()> {
    let Some(mut keyring) = outcome(case, try_new_keyring(case)?)? else {
        for k in ["policy", "steps", "export"] {
            ensure(case.get(k).is_none(), || {
                format!("a refused creation has `{k}`")
            })?;
        }
        return Ok(());
    };
    keyring
        .set_policy(prekey_policy(get(case, "policy")?)?)
        .map_err(|e| format!("set_policy: {e}"))?;
    for (i, step) in arr(case, "steps")?.iter().enumerate() {
        let before = keyring.export();
        let got: Result<(), String> = match st(step, "op")? {
            "rotate" => {
                let mut rng = ReplayRng::new(hx(step, "randomness")?);
                let r = keyring.rotate_prekey(num(step, "now")?, &mut rng);
                ensure(rng.exactly_consumed(), || {
                    format!("step {i}: rotate_prekey did not draw exactly the listed randomness")
                })?;
                if let Ok(p) = &r {
                    eq(
                        hex::encode(p.to_bytes()),
                        hex::encode(hx(step, "prekey")?),
                        "rotated prekey",
                    )?;
                }
                r.map(|_| ()).map_err(|e| keyring_kind(&e))
            }
            "rekey" => {
                let cert = own_certificate(step).map_err(|e| format!("step {i}: {e}"))?;
                keyring
                    .rekey(
                        DeviceSecret::from_secret_bytes(&fixed(step, "secret")?),
                        cert,
                        num(step, "now")?,
                    )
                    .map_err(|e| keyring_kind(&e))
            }
            "renew" => {
                let cert = own_certificate(step).map_err(|e| format!("step {i}: {e}"))?;
                keyring
                    .renew_certificate(cert)
                    .map_err(|e| keyring_kind(&e))
            }
            "delete" => {
                let n = keyring.delete_expired(num(step, "now")?);
                eq(n as u64, num(step, "deleted")?, "deleted")?;
                Ok(())
            }
            "setPolicy" => keyring
                .set_policy(prekey_policy(get(step, "policy")?)?)
                .map_err(|e| keyring_kind(&e)),
            "current" => {
                let now = num(step, "now")?;
                let want = hx(step, "currentPrekey")?;
                let got = keyring.current_prekey(now).map(SignedPrekey::to_bytes);
                eq(
                    got.as_ref().map(hex::encode),
                    (!want.is_empty()).then(|| hex::encode(&want)),
                    &format!("step {i}: currentPrekey"),
                )?;
                let due = get(step, "rotationDue")?
                    .as_bool()
                    .ok_or("`rotationDue` is not a boolean")?;
                eq(
                    keyring.needs_rotation(now),
                    due,
                    &format!("step {i}: rotationDue"),
                )?;
                Ok(())
            }
            other => return Err(format!("unknown op {other}")),
        };
        let refused = got.is_err();
        outcome(step, got).map_err(|e| format!("step {i}: {e}"))?;
        if refused {
            eq(
                hex::encode(&*keyring.export()),
                hex::encode(&*before),
                &format!("step {i}: a refused operation changed the keyring"),
            )?;
        }
    }
    let want = hx(case, "export")?;
    eq(
        hex::encode(&*keyring.export()),
        hex::encode(&want),
        "export",
    )?;
    let back = DeviceKeyring::import(&want).map_err(|e| format!("import of the export: {e}"))?;
    eq(
        hex::encode(&*back.export()),
        hex::encode(&want),
        "import(export).export()",
    )
}

fn keyring_import(case: &Value) -> R<()> {
    let bytes = hx(case, "export")?;
    let got = DeviceKeyring::import(&bytes);
    let decode = match &got {
        Err(KeyringError::Decode(d)) => Some(d),
        _ => None,
    };
    check_field(case, decode)?;
    if let Some(w) = case.get("errorWhat") {
        eq(
            decode.and_then(decode_what),
            Some(w.as_str().ok_or("errorWhat")?),
            "errorWhat",
        )?;
    }
    if let Some(k) = outcome(case, got.map_err(|e| keyring_kind(&e)))? {
        eq(hex::encode(&*k.export()), hex::encode(&bytes), "re-export")?;
        eq(k.key_id().to_bytes(), fixed(case, "keyId")?, "keyId")?;
        eq(*k.policy(), prekey_policy(get(case, "policy")?)?, "policy")?;
        let ids: Vec<String> = k
            .prekeys()
            .map(|p| hex::encode(p.key_id().to_bytes()))
            .collect();
        eq(
            ids,
            names(case, "prekeyKeyIds")?
                .iter()
                .map(|s| s.to_string())
                .collect(),
            "prekeyKeyIds",
        )?;
    }
    Ok(())
}

/// Checks an `Opened` against the expected fields, `openedWith` included.
fn check_opened_prekeys(pw: &PrekeyWorld, o: &Opened, want: &Value) -> R<()> {
    eq(o.payload().to_vec(), hx(want, "payload")?, "payload")?;
    eq(o.aad().to_vec(), hx(want, "aad")?, "aad")?;
    eq(
        o.sender_account().to_bytes(),
        fixed(want, "senderAccount")?,
        "senderAccount",
    )?;
    eq(
        o.sender_device().to_bytes(),
        fixed(want, "senderDevice")?,
        "senderDevice",
    )?;
    eq(
        o.message_id().to_bytes(),
        fixed(want, "messageId")?,
        "messageId",
    )?;
    eq(o.timestamp(), num(want, "timestamp")?, "timestamp")?;
    eq(
        o.opened_with().to_bytes(),
        fixed(want, "openedWith")?,
        "openedWith",
    )?;
    ensure(
        pw.devices
            .values()
            .any(|d| &d.certificate == o.sender_certificate()),
        || "the sender certificate is not a known device's".into(),
    )
}

fn seal_to_prekeys(pw: &PrekeyWorld, case: &Value) -> R<()> {
    let sender = pw.device(st(case, "sender")?)?;
    let cert = match case.get("senderCertificate") {
        Some(_) => &pw.device(st(case, "senderCertificate")?)?.certificate,
        None => &sender.certificate,
    };
    let lists = names(case, "recipients")?
        .into_iter()
        .map(|n| pw.list(n))
        .collect::<R<Vec<_>>>()?;
    let mut verified = Vec::new();
    let mut times = Vec::new();
    for p in arr(case, "prekeys")? {
        let name = st(p, "prekey")?;
        let v = pw
            .list(st(p, "list")?)?
            .verify_prekey(pw.prekey(name)?, num(p, "verifiedAt")?)
            .map_err(|e| format!("{name} does not verify: {e}"))?;
        verified.push(v);
        times.push(match p.get("times") {
            None => 1,
            Some(_) => usize::try_from(num(p, "times")?).map_err(|e| e.to_string())?,
        });
    }
    // Each verified prekey passed `times` times (SPEC.md §5.1 step 6
    // counts what is passed).
    let prekeys: Vec<&VerifiedPrekey> = verified
        .iter()
        .zip(&times)
        .flat_map(|(v, n)| std::iter::repeat_n(v, *n))
        .collect();
    let payload = hx(case, "payload")?;
    let aad = hx(case, "aad")?;
    let message = Message {
        payload: &payload,
        aad: &aad,
        padding: padding_policy(case)?,
        ..Message::default()
    };
    let now = num(case, "now")?;
    if st(case, "result")? == "invalid" {
        let mut rng = ReplayRng::new(Vec::new());
        let got = seal(
            &sender.secret,
            cert,
            &lists,
            &prekeys,
            &message,
            now,
            &mut rng,
        );
        ensure(rng.exactly_consumed(), || {
            "a refused seal drew randomness".into()
        })?;
        if case.get("missingAccount").is_some() {
            match &got {
                Err(SealError::MissingPrekey { account, device_id }) => {
                    eq(
                        account.to_bytes(),
                        fixed(case, "missingAccount")?,
                        "missingAccount",
                    )?;
                    eq(
                        device_id.to_bytes(),
                        fixed(case, "missingDeviceId")?,
                        "missingDeviceId",
                    )?;
                }
                other => return Err(format!("expected MissingPrekey, library gives {other:?}")),
            }
        }
        if case.get("prekeyCount").is_some() {
            match &got {
                Err(SealError::TooManyPrekeys { count }) => {
                    eq(*count as u64, num(case, "prekeyCount")?, "prekeyCount")?;
                }
                other => return Err(format!("expected TooManyPrekeys, library gives {other:?}")),
            }
        }
        return outcome(case, got.map_err(|e| seal_kind(&e))).map(|_| ());
    }
    let r = get(case, "randomness")?;
    let randomness = [
        fixed::<16>(r, "messageId")?.to_vec(),
        fixed::<32>(r, "messageSecret")?.to_vec(),
        fixed::<32>(r, "ephemeralSecret")?.to_vec(),
    ]
    .concat();
    let mut rng = ReplayRng::new(randomness);
    let env = seal(
        &sender.secret,
        cert,
        &lists,
        &prekeys,
        &message,
        now,
        &mut rng,
    )
    .map_err(|e| format!("seal fails: {}", seal_kind(&e)))?;
    ensure(rng.exactly_consumed(), || {
        "seal did not draw exactly the listed randomness".into()
    })?;
    valid_only(case)?;
    let bytes = hx(case, "envelope")?;
    eq(hex::encode(env.to_bytes()), hex::encode(&bytes), "envelope")?;
    eq(
        Envelope::from_bytes(&bytes).as_ref(),
        Ok(&env),
        "decoded envelope",
    )?;
    let recipients: Vec<String> = env
        .header()
        .recipients()
        .iter()
        .map(|k| hex::encode(k.to_bytes()))
        .collect();
    eq(
        recipients,
        names(get(case, "header")?, "recipients")?
            .iter()
            .map(|s| s.to_string())
            .collect(),
        "header recipients",
    )?;

    // Each wrap, recomputed on the primitive crates: the key it goes to,
    // its key id and binding, and that it opens to the message secret.
    use vectors_gen::craft;
    let (_, header_hash) = craft::header_hashes(&bytes).ok_or("envelope too short")?;
    let info = craft::wrap_info(&header_hash);
    let enc: [u8; 32] = bytes
        .get(craft::offset::EPHEMERAL..craft::offset::COMMITMENT)
        .and_then(|b| b.try_into().ok())
        .ok_or("no ephemeral key")?;
    let eph: [u8; 32] = fixed(r, "ephemeralSecret")?;
    let ms: [u8; 32] = fixed(r, "messageSecret")?;
    let wraps = arr(case, "wraps")?;
    let n = env.header().recipients().len();
    eq(wraps.len(), n, "number of wraps")?;
    for (i, (w, key_id)) in wraps.iter().zip(env.header().recipients()).enumerate() {
        eq(key_id.to_bytes(), fixed(w, "keyId")?, "wrap keyId")?;
        let pk: [u8; 32] = fixed(w, "x25519Public")?;
        let binding: [u8; 32] = fixed(w, "recipientBinding")?;
        let device = pw.device(st(w, "device")?)?;
        let key = st(w, "key")?;
        match st(w, "to")? {
            "prekey" => {
                let p = pw.prekey(key)?;
                let v = verified
                    .iter()
                    .find(|v| v.prekey() == p)
                    .ok_or("wrapped to a prekey that was not passed")?;
                eq(
                    p.device_id(),
                    device.certificate.device_id(),
                    "prekey device",
                )?;
                eq(p.public_key().to_vec(), pk.to_vec(), "prekey x25519Public")?;
                eq(v.key_id(), *key_id, "prekey key id")?;
                eq(*v.recipient_binding(), binding, "prekey recipientBinding")?;
            }
            "certificate" => {
                let c = &pw.device(key)?.certificate;
                eq(c.keys().x25519, pk, "certificate x25519Public")?;
                eq(c.key_id(), *key_id, "certificate key id")?;
                eq(
                    c.recipient_binding(),
                    binding,
                    "certificate recipientBinding",
                )?;
            }
            other => return Err(format!("unknown wrap target {other}")),
        }
        let dh = craft::x25519(&eph, &pk);
        let k = craft::wrap_keys(&dh, &enc, &pk, &info);
        let at = craft::offset::wraps(n) + 48 * i;
        let wrap = bytes.get(at..at + 48).ok_or("no wrap")?;
        eq(
            craft::aes_gcm_open(&k.key, &k.base_nonce, &binding, wrap),
            Some(ms.to_vec()),
            "the wrap opens to the message secret",
        )?;
    }
    let deliveries = arr(case, "deliveries")?;
    let split: Vec<(KeyId, Delivery)> = env.deliveries().collect();
    eq(split.len(), deliveries.len(), "number of deliveries")?;
    for ((key_id, d), want) in split.iter().zip(deliveries) {
        eq(key_id.to_bytes(), fixed(want, "keyId")?, "delivery keyId")?;
        eq(
            hex::encode(d.to_bytes()),
            hex::encode(hx(want, "delivery")?),
            "delivery",
        )?;
    }
    let dir = pw.directory(case)?;
    let open_now = num(case, "openNow")?;
    for o in arr(case, "opens")? {
        let name = st(o, "keyring")?;
        let keyring = pw.keyring(name)?;
        let mut inputs = vec![bytes.clone()];
        if st(o, "result")? == "valid" {
            let with = KeyId::from_bytes(fixed(o, "openedWith")?);
            inputs.push(
                env.delivery_for(&with)
                    .ok_or_else(|| format!("{name}: no delivery for openedWith"))?
                    .to_bytes(),
            );
        }
        for input in inputs {
            let got = open(keyring, &input, &dir, open_now).map_err(|e| open_kind(&e));
            if let Some(opened) = outcome(o, got).map_err(|e| format!("{name}: {e}"))? {
                check_opened_prekeys(pw, &opened, o).map_err(|e| format!("{name}: {e}"))?;
            }
        }
    }
    Ok(())
}

fn open_with_keyring(pw: &PrekeyWorld, case: &Value) -> R<()> {
    let keyring = pw.keyring(st(case, "keyring")?)?;
    let dir = pw.directory(case)?;
    let got =
        open(keyring, &hx(case, "message")?, &dir, num(case, "now")?).map_err(|e| open_kind(&e));
    if let Some(opened) = outcome(case, got)? {
        check_opened_prekeys(pw, &opened, case)?;
    }
    Ok(())
}

// ------------------------------------------------------------ hybrid.json

fn suite_number(s: Suite) -> u64 {
    u64::from(s.id())
}

/// `DeviceKeyring::rotate_hybrid_prekey` from a fresh keyring.
fn hybrid_prekey_issue(case: &Value) -> R<()> {
    let account = AccountPublicKey::from_bytes(fixed(case, "account")?);
    let now = num(case, "now")?;
    let mut keyring = new_keyring(case)?;
    let verified = keyring
        .certificate()
        .verify(&account, now.min(u64::MAX - 1))
        .map_err(|e| format!("certificate does not verify: {e}"))?;
    let mut rng = ReplayRng::new(hx(case, "randomness")?);
    let got = keyring
        .set_policy(prekey_policy(get(case, "policy")?)?)
        .and_then(|()| keyring.rotate_hybrid_prekey(now, &mut rng))
        .map_err(|e| keyring_kind(&e));
    ensure(rng.exactly_consumed(), || {
        "rotate_hybrid_prekey did not draw exactly the listed randomness".into()
    })?;
    if let Some(p) = outcome(case, got)? {
        let want = hx(case, "prekey")?;
        eq(hex::encode(p.to_bytes()), hex::encode(&want), "prekey")?;
        eq(
            SignedPrekey::from_bytes(&want).as_ref(),
            Ok(&p),
            "decoded prekey",
        )?;
        eq(p.suite(), Suite::Hybrid, "suite")?;
        eq(p.public_key().to_vec(), hx(case, "publicKey")?, "publicKey")?;
        eq(p.key_id().to_bytes(), fixed(case, "keyId")?, "keyId")?;
        let v = p
            .verify(&verified, now)
            .map_err(|e| format!("the new prekey does not verify: {e}"))?;
        eq(v.key_id(), p.key_id(), "verified key_id")?;
        eq(
            *v.recipient_binding(),
            fixed(case, "recipientBinding")?,
            "recipientBinding",
        )?;
        eq(
            keyring.current_hybrid_prekey(now),
            Some(&p),
            "current_hybrid_prekey",
        )?;
        eq(keyring.current_prekey(now), None, "current_prekey")?;
    }
    Ok(())
}

/// A keyring built by classical and hybrid rotations, compared byte for byte.
fn hybrid_keyring_export(case: &Value) -> R<()> {
    valid_only(case)?;
    let mut keyring = new_keyring(case)?;
    keyring
        .set_policy(prekey_policy(get(case, "policy")?)?)
        .map_err(|e| format!("set_policy: {e}"))?;
    for (i, step) in arr(case, "steps")?.iter().enumerate() {
        let before = keyring.export();
        let now = num(step, "now")?;
        let mut rng = ReplayRng::new(hx(step, "randomness")?);
        let got = match st(step, "op")? {
            "rotate" => keyring.rotate_prekey(now, &mut rng),
            "rotateHybrid" => keyring.rotate_hybrid_prekey(now, &mut rng),
            other => return Err(format!("step {i}: unknown op {other}")),
        }
        .map_err(|e| keyring_kind(&e));
        ensure(rng.exactly_consumed(), || {
            format!("step {i}: did not draw exactly the listed randomness")
        })?;
        match outcome(step, got).map_err(|e| format!("step {i}: {e}"))? {
            Some(p) => eq(
                hex::encode(p.to_bytes()),
                hex::encode(hx(step, "prekey")?),
                &format!("step {i}: prekey"),
            )?,
            None => eq(
                hex::encode(&*keyring.export()),
                hex::encode(&*before),
                &format!("step {i}: a refused step changes nothing"),
            )?,
        }
    }
    let want = hx(case, "export")?;
    eq(
        hex::encode(&*keyring.export()),
        hex::encode(&want),
        "export",
    )?;
    let again = DeviceKeyring::import(&want).map_err(|e| format!("import: {e}"))?;
    eq(
        hex::encode(&*again.export()),
        hex::encode(&want),
        "re-export",
    )
}

fn suite_policy(case: &Value) -> R<SuitePolicy> {
    match st(case, "suitePolicy")? {
        "auto" => Ok(SuitePolicy::Auto),
        "requireHybrid" => Ok(SuitePolicy::RequireHybrid),
        other => Err(format!("unknown suitePolicy {other}")),
    }
}

/// Context hash and header hash of a hybrid envelope's bytes (SPEC.md §4.3:
/// no `enc`), recomputed on the primitive crates.
fn hybrid_header_hashes(bytes: &[u8], n: usize) -> R<([u8; 32], [u8; 32])> {
    use vectors_gen::craft::{self, hybrid_offset as ho, label, lp};
    let mut m = vec![bytes.first().copied().ok_or("empty")?];
    m.extend_from_slice(bytes.get(ho::SUITE..ho::COMMITMENT).ok_or("short")?);
    m.extend_from_slice(
        bytes
            .get(ho::RECIPIENT_COUNT..ho::wraps(n))
            .ok_or("short")?,
    );
    let context = craft::sha256(&[&lp(label::ENVELOPE_CONTEXT), &m]);
    let commitment = bytes
        .get(ho::COMMITMENT..ho::RECIPIENT_COUNT)
        .ok_or("short")?;
    let header = craft::sha256(&[&lp(label::ENVELOPE_HEADER), &context, commitment]);
    Ok((context, header))
}

/// HybridSeal and HybridSealError: seal under the suite rule.
fn hybrid_seal(pw: &PrekeyWorld, case: &Value) -> R<()> {
    use vectors_gen::craft;
    let sender = pw.device(st(case, "sender")?)?;
    let lists = names(case, "recipients")?
        .into_iter()
        .map(|n| pw.list(n))
        .collect::<R<Vec<_>>>()?;
    let mut verified = Vec::new();
    for p in arr(case, "prekeys")? {
        let name = st(p, "prekey")?;
        let v = pw
            .list(st(p, "list")?)?
            .verify_prekey(pw.prekey(name)?, num(p, "verifiedAt")?)
            .map_err(|e| format!("{name} does not verify: {e}"))?;
        verified.push(v);
    }
    let prekeys: Vec<&VerifiedPrekey> = verified.iter().collect();
    let payload = hx(case, "payload")?;
    let aad = hx(case, "aad")?;
    let message = Message {
        payload: &payload,
        aad: &aad,
        padding: padding_policy(case)?,
        suite: suite_policy(case)?,
    };
    let now = num(case, "now")?;
    if st(case, "result")? == "invalid" {
        let mut rng = ReplayRng::new(Vec::new());
        let got = seal(
            &sender.secret,
            &sender.certificate,
            &lists,
            &prekeys,
            &message,
            now,
            &mut rng,
        );
        ensure(rng.exactly_consumed(), || {
            "a refused seal drew randomness".into()
        })?;
        if case.get("missingAccount").is_some() {
            match &got {
                Err(SealError::MissingPrekey { account, device_id }) => {
                    eq(
                        account.to_bytes(),
                        fixed(case, "missingAccount")?,
                        "missingAccount",
                    )?;
                    eq(
                        device_id.to_bytes(),
                        fixed(case, "missingDeviceId")?,
                        "missingDeviceId",
                    )?;
                }
                other => return Err(format!("expected MissingPrekey, library gives {other:?}")),
            }
        }
        if case.get("devices").is_some() {
            match &got {
                Err(SealError::HybridUnavailable { devices }) => {
                    let want = arr(case, "devices")?
                        .iter()
                        .map(|d| Ok((fixed::<32>(d, "account")?, fixed::<16>(d, "deviceId")?)))
                        .collect::<R<Vec<_>>>()?;
                    let got: Vec<([u8; 32], [u8; 16])> = devices
                        .iter()
                        .map(|(a, d)| (a.to_bytes(), d.to_bytes()))
                        .collect();
                    eq(got, want, "HybridUnavailable devices")?;
                }
                other => {
                    return Err(format!(
                        "expected HybridUnavailable, library gives {other:?}"
                    ))
                }
            }
        }
        return outcome(case, got.map_err(|e| seal_kind(&e))).map(|_| ());
    }
    let suite = num(case, "suite")?;
    let r = get(case, "randomness")?;
    let ms: [u8; 32] = fixed(r, "messageSecret")?;
    let mut randomness = [fixed::<16>(r, "messageId")?.to_vec(), ms.to_vec()].concat();
    let eseeds: Vec<[u8; 64]> = if suite == 2 {
        arr(r, "eseeds")?
            .iter()
            .map(|e| {
                let e: [u8; 64] = unhex(e.as_str().ok_or("eseed")?, "eseed")?
                    .try_into()
                    .map_err(|_| "eseed is not 64 bytes".to_string())?;
                Ok(e)
            })
            .collect::<R<Vec<_>>>()?
    } else {
        randomness.extend_from_slice(&fixed::<32>(r, "ephemeralSecret")?);
        Vec::new()
    };
    for e in &eseeds {
        randomness.extend_from_slice(e);
    }
    let mut rng = ReplayRng::new(randomness);
    let env = seal(
        &sender.secret,
        &sender.certificate,
        &lists,
        &prekeys,
        &message,
        now,
        &mut rng,
    )
    .map_err(|e| format!("seal fails: {}", seal_kind(&e)))?;
    ensure(rng.exactly_consumed(), || {
        "seal did not draw exactly the listed randomness".into()
    })?;
    eq(suite_number(env.header().suite()), suite, "suite")?;
    let bytes = hx(case, "envelope")?;
    eq(hex::encode(env.to_bytes()), hex::encode(&bytes), "envelope")?;
    eq(
        Envelope::from_bytes(&bytes).as_ref(),
        Ok(&env),
        "decoded envelope",
    )?;
    let h = get(case, "header")?;
    eq(
        env.header().message_id().to_bytes(),
        fixed(h, "messageId")?,
        "header messageId",
    )?;
    let recipients: Vec<String> = env
        .header()
        .recipients()
        .iter()
        .map(|k| hex::encode(k.to_bytes()))
        .collect();
    eq(
        recipients,
        names(h, "recipients")?
            .iter()
            .map(|s| s.to_string())
            .collect(),
        "header recipients",
    )?;
    let n = env.header().recipients().len();
    let im = get(case, "intermediate")?;
    let wraps = arr(im, "wraps")?;
    eq(wraps.len(), n, "number of wraps")?;
    if suite == 2 {
        let (context, header_hash) = hybrid_header_hashes(&bytes, n)?;
        eq(context, fixed(im, "contextHash")?, "contextHash")?;
        eq(header_hash, fixed(im, "headerHash")?, "headerHash")?;
        eq(
            bytes.get(20..52).map(<[u8]>::to_vec),
            Some(hx(h, "commitment")?),
            "commitment",
        )?;
        let info = craft::wrap_info(&header_hash);
        eq(eseeds.len(), n, "one eseed per recipient")?;
        for (i, ((w, key_id), eseed)) in wraps
            .iter()
            .zip(env.header().recipients())
            .zip(&eseeds)
            .enumerate()
        {
            eq(key_id.to_bytes(), fixed(w, "keyId")?, "wrap keyId")?;
            let p = pw.prekey(st(w, "prekey")?)?;
            let device = pw.device(st(w, "device")?)?;
            let v = verified
                .iter()
                .find(|v| v.prekey() == p)
                .ok_or("wrapped to a prekey that was not passed")?;
            eq(
                p.suite(),
                Suite::Hybrid,
                "a hybrid wrap goes to a hybrid prekey",
            )?;
            eq(
                p.device_id(),
                device.certificate.device_id(),
                "prekey device",
            )?;
            eq(v.key_id(), *key_id, "prekey key id")?;
            let binding: [u8; 32] = fixed(w, "recipientBinding")?;
            eq(*v.recipient_binding(), binding, "recipientBinding")?;
            // The wrap, recomputed on the primitive crates.
            let (ct, ss) = craft::xwing_encaps(p.public_key(), eseed);
            let at = craft::hybrid_offset::wraps(n) + craft::HYBRID_WRAP_LEN * i;
            let wrap = bytes
                .get(at..at + craft::HYBRID_WRAP_LEN)
                .ok_or("no wrap")?;
            eq(
                ct.as_slice(),
                &wrap[..craft::XWING_CIPHERTEXT_LEN],
                "X-Wing ciphertext in the envelope",
            )?;
            eq(ct, hx(w, "xwingCiphertext")?, "xwingCiphertext")?;
            eq(ss, fixed(w, "sharedSecret")?, "sharedSecret")?;
            let k = craft::hybrid_wrap_keys(&ss, &info);
            eq(k.key.clone(), hx(w, "key")?, "key")?;
            eq(k.base_nonce.clone(), hx(w, "baseNonce")?, "baseNonce")?;
            eq(
                craft::aes_gcm_open(
                    &k.key,
                    &k.base_nonce,
                    &binding,
                    &wrap[craft::XWING_CIPHERTEXT_LEN..],
                ),
                Some(ms.to_vec()),
                "the wrap opens to the message secret",
            )?;
        }
    } else {
        let (context, _) = craft::header_hashes(&bytes).ok_or("envelope too short")?;
        eq(context, fixed(im, "contextHash")?, "contextHash")?;
        eq(
            bytes.get(52..84).map(<[u8]>::to_vec),
            Some(hx(h, "commitment")?),
            "commitment",
        )?;
        for (w, key_id) in wraps.iter().zip(env.header().recipients()) {
            eq(key_id.to_bytes(), fixed(w, "keyId")?, "wrap keyId")?;
            let device = pw.device(st(w, "device")?)?;
            let binding: [u8; 32] = fixed(w, "recipientBinding")?;
            match st(w, "to")?.strip_prefix("prekey ") {
                Some(name) => {
                    let p = pw.prekey(name)?;
                    let v = verified
                        .iter()
                        .find(|v| v.prekey() == p)
                        .ok_or("wrapped to a prekey that was not passed")?;
                    eq(
                        p.suite(),
                        Suite::Classical,
                        "a classical wrap goes to a classical prekey",
                    )?;
                    eq(
                        p.device_id(),
                        device.certificate.device_id(),
                        "prekey device",
                    )?;
                    eq(v.key_id(), *key_id, "prekey key id")?;
                    eq(*v.recipient_binding(), binding, "recipientBinding")?;
                }
                None => {
                    eq(st(w, "to")?, "certificate", "wrap target")?;
                    eq(device.certificate.key_id(), *key_id, "certificate key id")?;
                    eq(
                        device.certificate.recipient_binding(),
                        binding,
                        "recipientBinding",
                    )?;
                }
            }
        }
    }
    let deliveries = arr(case, "deliveries")?;
    let split: Vec<(KeyId, Delivery)> = env.deliveries().collect();
    if suite == 2 {
        eq(split.len(), deliveries.len(), "number of deliveries")?;
    }
    for ((key_id, d), want) in split.iter().zip(deliveries) {
        eq(key_id.to_bytes(), fixed(want, "keyId")?, "delivery keyId")?;
        eq(
            hex::encode(d.to_bytes()),
            hex::encode(hx(want, "delivery")?),
            "delivery",
        )?;
    }
    let dir = pw.directory(case)?;
    let open_now = num(case, "openNow")?;
    for o in arr(case, "opens")? {
        let name = st(o, "keyring")?;
        let keyring = pw.keyring(name)?;
        let mut inputs = vec![bytes.clone()];
        if st(o, "result")? == "valid" {
            let with = KeyId::from_bytes(fixed(o, "openedWith")?);
            inputs.push(
                env.delivery_for(&with)
                    .ok_or_else(|| format!("{name}: no delivery for openedWith"))?
                    .to_bytes(),
            );
        }
        for input in inputs {
            let got = open(keyring, &input, &dir, open_now).map_err(|e| open_kind(&e));
            if let Some(opened) = outcome(o, got).map_err(|e| format!("{name}: {e}"))? {
                check_opened_prekeys(pw, &opened, o).map_err(|e| format!("{name}: {e}"))?;
                eq(
                    suite_number(opened.suite()),
                    num(o, "suite")?,
                    "opened suite",
                )
                .map_err(|e| format!("{name}: {e}"))?;
            }
        }
    }
    Ok(())
}

fn hybrid_open(pw: &PrekeyWorld, case: &Value) -> R<()> {
    let keyring = pw.keyring(st(case, "keyring")?)?;
    let dir = pw.directory(case)?;
    let got = open(keyring, &hx(case, "message")?, &dir, num(case, "now")?);
    let decode = match &got {
        Err(OpenError::Decode(d)) => Some(d),
        _ => None,
    };
    check_field(case, decode)?;
    if let Some(opened) = outcome(case, got.map_err(|e| open_kind(&e)))? {
        check_opened_prekeys(pw, &opened, case)?;
        eq(suite_number(opened.suite()), num(case, "suite")?, "suite")?;
    }
    Ok(())
}

/// The persisted guard: steps through the public API, then the exact bytes
/// (`to_bytes`), and `from_bytes` of the published bytes re-encodes them.
fn replay_state(ids: &Identities, group: &Value, case: &Value) -> R<()> {
    let state = hx(case, "state")?;
    if case.get("steps").is_some() {
        let mut guard = fresh_guard(group)?;
        let _last_step = replay_steps(ids, group, case, &mut guard)?;
        eq(
            hex::encode(guard.to_bytes()),
            hex::encode(&state),
            "persisted state",
        )?;
    }
    let decoded = ReplayGuard::from_bytes(&state);
    if let Err(e) = &decoded {
        check_field(case, Some(e))?;
    }
    if let Some(g) = outcome(case, decoded.map_err(|e| decode_kind(&e)))? {
        eq(
            hex::encode(g.to_bytes()),
            hex::encode(&state),
            "re-encoding",
        )?;
    }
    Ok(())
}

// ------------------------------------------------------------ sessions.json

use fanseal::session::hazmat;
use fanseal::{
    DistributionReceived, InboundSession, InboundSessions, Membership, OutboundSession,
    RotationPolicy, SessionError, SessionId, SessionMessage,
};
use vectors_gen::craft::{self as vcraft, OutboundExport, SessionMsg};

fn session_kind(e: &SessionError) -> String {
    let k = match e {
        SessionError::Decode(d) => return format!("SessionError::Decode({})", decode_kind(d)),
        SessionError::Seal(x) => return format!("SessionError::Seal({})", seal_kind(x)),
        SessionError::UnknownSession => "UnknownSession",
        SessionError::BeforeDistribution { .. } => "BeforeDistribution",
        SessionError::DuplicateIndex { .. } => "DuplicateIndex",
        SessionError::TooFarAhead { .. } => "TooFarAhead",
        SessionError::TooManySkipped => "TooManySkipped",
        SessionError::Unauthenticated => "Unauthenticated",
        SessionError::SenderListUnavailable(_) => "SenderListUnavailable",
        SessionError::SenderNotOnTrustedList(_) => "SenderNotOnTrustedList",
        SessionError::WrongConversation => "WrongConversation",
        SessionError::ConflictingDistribution => "ConflictingDistribution",
        SessionError::NotThisSession => "NotThisSession",
        SessionError::RotationRequired => "RotationRequired",
        SessionError::Exhausted => "Exhausted",
        SessionError::WrongDevice => "WrongDevice",
        SessionError::MemberRemoved { .. } => "MemberRemoved",
        SessionError::MembershipChanged { .. } => "MembershipChanged",
        SessionError::PayloadTooLarge => "PayloadTooLarge",
        SessionError::AadTooLarge => "AadTooLarge",
        SessionError::PaddedBodyTooLarge => "PaddedBodyTooLarge",
        SessionError::ConversationIdTooLarge => "ConversationIdTooLarge",
        SessionError::InvalidPolicy => "InvalidPolicy",
        SessionError::SessionExpired => "SessionExpired",
        SessionError::FromTheFuture => "FromTheFuture",
        SessionError::StaleDistribution => "StaleDistribution",
        SessionError::TooManySessions => "TooManySessions",
        SessionError::SessionIdInUse => "SessionIdInUse",
        SessionError::OwnSession => "OwnSession",
        SessionError::SenderInGrace => "SenderInGrace",
        _ => "Unknown",
    };
    format!("SessionError::{k}")
}

/// The DecodeError inside a SessionError, if any.
fn session_decode(e: &SessionError) -> Option<&DecodeError> {
    match e {
        SessionError::Decode(d) => Some(d),
        _ => None,
    }
}

/// Checks `errorField` and `errorWhat` of an invalid session case.
fn check_session_detail(case: &Value, e: &SessionError) -> R<()> {
    check_field(case, session_decode(e))?;
    if let Some(w) = case.get("errorWhat") {
        eq(
            session_decode(e).and_then(decode_what),
            Some(w.as_str().ok_or("errorWhat")?),
            "errorWhat",
        )?;
    }
    Ok(())
}

fn u32_of(v: &Value, k: &str) -> R<u32> {
    u32::try_from(num(v, k)?).map_err(|e| e.to_string())
}

fn rotation_policy(v: &Value) -> R<RotationPolicy> {
    Ok(RotationPolicy {
        max_messages: u32_of(v, "maxMessages")?,
        max_age_ms: num(v, "maxAgeMs")?,
    })
}

fn named_lists<'a>(pw: &'a PrekeyWorld, v: &Value, k: &str) -> R<Vec<&'a VerifiedDeviceList>> {
    names(v, k)?.into_iter().map(|n| pw.list(n)).collect()
}

fn expect_consumed(rng: &ReplayRng) -> R<()> {
    ensure(rng.exactly_consumed(), || {
        "the library did not draw exactly the listed randomness".into()
    })
}

/// SessionMessage: encrypt once from the chain state given.
fn session_message(pw: &PrekeyWorld, case: &Value) -> R<()> {
    let dev = pw.device(st(case, "sender")?)?;
    let cert = dev.certificate.to_bytes();
    let conv = hx(case, "conversationId")?;
    let seed: [u8; 16] = fixed(case, "seed")?;
    let ck: [u8; 32] = fixed(case, "chainKey")?;
    let index = u32_of(case, "index")?;
    let policy = rotation_policy(case)?;
    let now = num(case, "now")?;
    let export = OutboundExport {
        suite: 1,
        session_id: vcraft::session_id_of(&cert, &conv, &seed),
        owner_ed25519: dev.certificate.keys().ed25519,
        next_index: index,
        chain_key: ck,
        created_at: num(case, "createdAt")?,
        max_messages: policy.max_messages,
        max_age_ms: policy.max_age_ms,
        removed: 0,
        recipients: Vec::new(),
        conversation: conv.clone(),
        seed,
    }
    .encode();
    let mut s =
        hazmat::import_live(&export, dev.certificate.keys()).map_err(|e| session_kind(&e))?;
    let payload = hx(case, "payload")?;
    let aad = blob(case, "aad")?;
    let padding = padding_policy(case)?;
    let message = Message {
        payload: &payload,
        aad: &aad,
        padding,
        ..Message::default()
    };
    let mut rng = ReplayRng::new(hx(case, "rng32")?);
    let got = hazmat::encrypt_signed_by(&mut s, &dev.secret, &message, now, &mut rng)
        .map_err(|e| session_kind(&e));
    let Some(m) = outcome(case, got)? else {
        return expect_consumed(&rng);
    };
    expect_consumed(&rng)?;
    let bytes = m.to_bytes();
    eq(
        hex::encode(&bytes),
        st(case, "message")?.to_string(),
        "message",
    )?;
    eq(
        m.session_id().to_bytes(),
        fixed(case, "sessionId")?,
        "sessionId",
    )?;
    eq(s.next_index(), index + 1, "next index")?;
    // The chain moved one step: the export holds CK_{index+1}.
    let after = s.export();
    eq(
        after[56..88].to_vec(),
        hx(case, "nextChainKey")?,
        "nextChainKey (library)",
    )?;
    // Every intermediate, recomputed on the primitive crates.
    let (mk, next) = vcraft::session_chain_step(&ck);
    eq(mk.to_vec(), hx(case, "messageKey")?, "messageKey")?;
    eq(next.to_vec(), hx(case, "nextChainKey")?, "nextChainKey")?;
    let sid: [u8; 16] = fixed(case, "sessionId")?;
    let binding = vcraft::session_binding(&dev.certificate.keys().ed25519, &sid, &conv);
    eq(binding.to_vec(), hx(case, "binding")?, "binding")?;
    let padded_len = padding
        .padded_len(vcraft::session_body_len(&aad, &payload))
        .ok_or("padding")?;
    let o = SessionMsg {
        session_id: sid,
        index,
        message_key: mk,
        binding,
        rng32: fixed(case, "rng32")?,
        timestamp: now,
        aad: aad.clone(),
        payload: payload.clone(),
        padded_len,
        signer_seed: Some(
            dev.secret.export_secret_bytes()[32..]
                .try_into()
                .map_err(|_| "seed")?,
        ),
        padding_byte: 0,
        commitment_override: None,
        flip_ciphertext: None,
    }
    .build();
    eq(o.content.to_vec(), hx(case, "content")?, "content")?;
    eq(o.random.to_vec(), hx(case, "random")?, "random")?;
    eq(
        o.context_hash.to_vec(),
        hx(case, "contextHash")?,
        "contextHash",
    )?;
    eq(o.commitment.to_vec(), hx(case, "commitment")?, "commitment")?;
    eq(o.body_key.clone(), hx(case, "bodyKey")?, "bodyKey")?;
    eq(o.body_nonce.clone(), hx(case, "bodyNonce")?, "bodyNonce")?;
    eq(
        o.header_hash.to_vec(),
        hx(case, "headerHash")?,
        "headerHash",
    )?;
    eq(o.signature.to_vec(), hx(case, "signature")?, "signature")?;
    eq(
        hex::encode(&o.bytes),
        hex::encode(&bytes),
        "message (craft)",
    )
}

/// SessionDistribution: new, distribute, every receiver.
fn session_distribution(pw: &PrekeyWorld, case: &Value) -> R<()> {
    let dev = pw.device(st(case, "sender")?)?;
    let conv = blob(case, "conversationId")?;
    let now = num(case, "now")?;
    let mut rng = ReplayRng::new(hx(case, "randomness")?);
    let got = OutboundSession::new(
        &dev.certificate,
        &conv,
        rotation_policy(case)?,
        now,
        &mut rng,
    )
    .map_err(|e| session_kind(&e));
    let Some(mut s) = outcome(case, got)? else {
        return expect_consumed(&rng);
    };
    expect_consumed(&rng)?;
    eq(
        s.session_id().to_bytes(),
        fixed(case, "sessionId")?,
        "sessionId",
    )?;
    let randomness = hx(case, "randomness")?;
    let seed: [u8; 16] = randomness[..16].try_into().map_err(|_| "seed")?;
    eq(
        vcraft::session_id_of(&dev.certificate.to_bytes(), &conv, &seed),
        fixed(case, "sessionId")?,
        "sessionId (craft)",
    )?;
    eq(randomness[16..].to_vec(), hx(case, "chainKey")?, "chainKey")?;
    let lists = named_lists(pw, case, "recipients")?;
    let mut rng = ReplayRng::new(hx(case, "envelopeRandomness")?);
    let env = s
        .distribute(
            &dev.secret,
            &dev.certificate,
            &lists,
            &[],
            Padding::Padme,
            now,
            &mut rng,
        )
        .map_err(|e| session_kind(&e))?;
    expect_consumed(&rng)?;
    let env = env.to_bytes();
    eq(
        hex::encode(&env),
        st(case, "envelope")?.to_string(),
        "envelope",
    )?;
    eq(
        hex::encode(&*s.export()),
        st(case, "outboundExport")?.to_string(),
        "outboundExport",
    )?;
    let dir: Vec<VerifiedDeviceList> = lists.iter().map(|l| (*l).clone()).collect();
    for r in arr(case, "receivers")? {
        let name = st(r, "device")?;
        let keyring = pw.keyring(name)?;
        let opened =
            open(keyring, &env, &dir, now).map_err(|e| format!("{name}: {}", open_kind(&e)))?;
        eq(
            opened.payload().to_vec(),
            hx(case, "distribution")?,
            "distribution",
        )?;
        match (
            InboundSession::from_opened(keyring, &opened),
            r.get("error"),
        ) {
            (Ok(i), None) => eq(
                hex::encode(&*i.export()),
                st(r, "inboundExport")?.to_string(),
                "inboundExport",
            )?,
            (Err(e), Some(want)) => {
                eq(session_kind(&e).as_str(), want.as_str().unwrap_or(""), name)?
            }
            (Ok(_), Some(_)) => return Err(format!("{name}: expected an error")),
            (Err(e), None) => return Err(format!("{name}: {}", session_kind(&e))),
        }
    }
    Ok(())
}

/// SessionExport: scripted outbound steps (some refused), then the exact export.
fn session_export(pw: &PrekeyWorld, case: &Value) -> R<()> {
    let dev = pw.device(st(case, "sender")?)?;
    let conv = hx(case, "conversationId")?;
    let mut s: Option<OutboundSession> = None;
    let mut last: Result<(), String> = Ok(());
    for (i, step) in arr(case, "steps")?.iter().enumerate() {
        let mut rng = ReplayRng::new(match step.get("randomness") {
            Some(_) => hx(step, "randomness")?,
            None => Vec::new(),
        });
        let got: Result<(), String> = match st(step, "op")? {
            "new" => OutboundSession::new(
                &dev.certificate,
                &conv,
                rotation_policy(case)?,
                num(case, "createdAt")?,
                &mut rng,
            )
            .map(|x| s = Some(x))
            .map_err(|e| session_kind(&e)),
            "distribute" => {
                let lists = named_lists(pw, step, "lists")?;
                let d = match step.get("device") {
                    Some(_) => pw.device(st(step, "device")?)?,
                    None => dev,
                };
                s.as_mut()
                    .ok_or("no session")?
                    .distribute(
                        &d.secret,
                        &d.certificate,
                        &lists,
                        &[],
                        Padding::Padme,
                        num(step, "now")?,
                        &mut rng,
                    )
                    .map(|_| ())
                    .map_err(|e| session_kind(&e))
            }
            "encrypt" => {
                let lists = named_lists(pw, step, "lists")?;
                let payload = hx(step, "payload")?;
                let aad = hx(step, "aad")?;
                let m = Message {
                    payload: &payload,
                    aad: &aad,
                    ..Message::default()
                };
                s.as_mut()
                    .ok_or("no session")?
                    .encrypt(&dev.secret, &lists, &m, num(step, "now")?, &mut rng)
                    .map(|_| ())
                    .map_err(|e| session_kind(&e))
            }
            "updateMembership" => {
                let lists = named_lists(pw, step, "lists")?;
                let got = match s
                    .as_mut()
                    .ok_or("no session")?
                    .update_membership(&lists, num(step, "now")?)
                {
                    Membership::Unchanged => "unchanged",
                    Membership::Added(_) => "added",
                    Membership::Removed(_) => "removed",
                    _ => "unknown",
                };
                eq(got, st(step, "membership")?, "membership")
            }
            other => return Err(format!("unknown op {other}")),
        };
        expect_consumed(&rng)?;
        match (step.get("error").and_then(Value::as_str), &got) {
            (None, Ok(())) => {}
            (Some(want), Err(e)) => eq(e.as_str(), want, &format!("step {i} error"))?,
            (Some(want), Ok(())) => return Err(format!("step {i}: expected {want}, accepted")),
            (None, Err(e)) => return Err(format!("step {i}: {e}")),
        }
        last = got;
    }
    outcome(case, last)?;
    eq(
        hex::encode(&*s.ok_or("no session")?.export()),
        st(case, "export")?.to_string(),
        "export",
    )
}

fn message_decode(case: &Value) -> R<()> {
    let got = SessionMessage::from_bytes(&hx(case, "message")?);
    if let Err(e) = &got {
        check_field(case, Some(e))?;
    }
    if let Some(m) = outcome(case, got.map_err(|e| decode_kind(&e)))? {
        eq(
            m.session_id().to_bytes(),
            fixed(case, "sessionId")?,
            "sessionId",
        )?;
        eq(u64::from(m.index()), num(case, "index")?, "index")?;
        let bytes = m.to_bytes();
        eq(
            hex::encode(&bytes),
            st(case, "message")?.to_string(),
            "re-encoding",
        )?;
        eq(
            vcraft::sha256(&[bytes.get(92..).ok_or("short")?]).to_vec(),
            hx(case, "ciphertextSha256")?,
            "ciphertextSha256",
        )?;
    }
    Ok(())
}

/// SessionDecrypt: a receiving store, step by step.
fn session_decrypt(pw: &PrekeyWorld, case: &Value) -> R<()> {
    let receiver = st(case, "receiver")?;
    let keyring = pw.keyring(receiver)?;
    let cert = keyring.certificate();
    let mut store = match case.get("initialStore") {
        Some(_) => InboundSessions::import(&hx(case, "initialStore")?, cert)
            .map_err(|e| format!("initialStore: {}", session_kind(&e)))?,
        None => InboundSessions::new(cert),
    };
    let dir = pw.directory(case)?;
    let mut last: Result<(), String> = Ok(());
    for (i, step) in arr(case, "steps")?.iter().enumerate() {
        let now = num(step, "now").unwrap_or(0);
        let got: Result<(), String> = match st(step, "op")? {
            "receive" => {
                let opened =
                    open(keyring, &hx(step, "envelope")?, &dir, now).map_err(|e| open_kind(&e));
                match opened {
                    Err(e) => Err(e),
                    Ok(o) => match store.receive(keyring, &o, now) {
                        Err(e) => Err(session_kind(&e)),
                        Ok(r) => {
                            let (kind, id) = match r {
                                DistributionReceived::New(id) => ("new", id),
                                DistributionReceived::Held(id) => ("held", id),
                                _ => ("unknown", SessionId::from_bytes([0; 16])),
                            };
                            if step.get("error").is_none() {
                                eq(kind, st(step, "received")?, "received")?;
                                eq(id.to_bytes(), fixed(step, "sessionId")?, "sessionId")?;
                            }
                            Ok(())
                        }
                    },
                }
            }
            "decrypt" => {
                let d = if step.get("directory").is_some() {
                    pw.directory(step)?
                } else {
                    dir.clone()
                };
                match store.decrypt(&hx(step, "message")?, &d, now) {
                    Err(e) => Err(session_kind(&e)),
                    Ok(p) => {
                        if step.get("error").is_none() {
                            eq(
                                p.session_id().to_bytes(),
                                fixed(step, "sessionId")?,
                                "sessionId",
                            )?;
                            eq(u64::from(p.index()), num(step, "index")?, "index")?;
                            eq(p.timestamp(), num(step, "timestamp")?, "timestamp")?;
                            eq(p.aad().to_vec(), hx(step, "aad")?, "aad")?;
                            eq(p.payload().to_vec(), hx(step, "payload")?, "payload")?;
                            eq(p.conversation_id(), store_conversation(&p), "conversation")?;
                        }
                        Ok(())
                    }
                }
            }
            "drop" => {
                let id = SessionId::from_bytes(fixed(step, "sessionId")?);
                ensure(store.drop_session(&id), || "drop_session: not held".into())?;
                Ok(())
            }
            other => return Err(format!("unknown op {other}")),
        };
        match (step.get("error").and_then(Value::as_str), &got) {
            (None, Ok(())) => {}
            (Some(want), Err(e)) => eq(e.as_str(), want, &format!("step {i} error"))?,
            (Some(want), Ok(())) => return Err(format!("step {i}: expected {want}, accepted")),
            (None, Err(e)) => return Err(format!("step {i}: {e}")),
        }
        last = got;
    }
    outcome(case, last)?;
    let want = match case.get("store") {
        Some(_) => st(case, "store")?,
        None => st(case, "initialStore")?,
    };
    eq(hex::encode(&*store.export()), want.to_string(), "store")
}

fn store_conversation(p: &fanseal::SessionPlaintext) -> &[u8] {
    p.conversation_id()
}

fn session_import(pw: &PrekeyWorld, case: &Value) -> R<()> {
    let owner = pw.device(st(case, "owner")?)?;
    let bytes = hx(case, "export")?;
    let got: Result<Vec<u8>, SessionError> = match st(case, "kind")? {
        "outbound" => OutboundSession::import(&bytes, owner.certificate.keys()).map(|s| {
            // A loaded session never encrypts (SPEC.md §15.7).
            assert!(s.needs_rotation(0));
            s.export().to_vec()
        }),
        "inbound" => {
            InboundSession::import(&bytes, &owner.certificate).map(|s| s.export().to_vec())
        }
        "store" => InboundSessions::import(&bytes, &owner.certificate).map(|s| s.export().to_vec()),
        other => return Err(format!("unknown kind {other}")),
    };
    if let Err(e) = &got {
        check_session_detail(case, e)?;
    }
    if let Some(again) = outcome(case, got.map_err(|e| session_kind(&e)))? {
        eq(hex::encode(again), hex::encode(&bytes), "re-export")?;
    }
    Ok(())
}

// ------------------------------------------------------------ tests

fn committed(name: &str) -> String {
    let path = format!("{}/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

#[test]
fn committed_vectors_equal_the_generator_output() {
    for (name, text) in vectors_gen::generate() {
        let on_disk = committed(name);
        assert!(
            on_disk == text,
            "vectors/{name} differs from the generator's output: run `cargo run --example gen_vectors` and review the diff"
        );
    }
    let mut present: Vec<String> =
        std::fs::read_dir(format!("{}/vectors", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
    present.sort();
    let mut expected: Vec<String> = vectors_gen::FILES.iter().map(|s| s.to_string()).collect();
    expected.push("README.md".into());
    expected.push("attachments.json".into()); // tests/attachment_vectors.rs
    expected.sort();
    assert_eq!(
        present, expected,
        "vectors/ holds exactly the generated files and README.md"
    );
}

#[test]
fn every_vector_holds_against_the_library() {
    let mut total = 0;
    let mut failures = Vec::new();
    for name in vectors_gen::FILES {
        match check_file(name, &committed(name), false) {
            Ok(n) => {
                println!("{name}: {n} cases, 0 failures");
                total += n;
            }
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!("vectors: {total} cases, 0 failures");
    assert!(total > 300, "suspiciously few vectors: {total}");
}

#[test]
fn the_readme_explains_every_group_type_and_error_kind() {
    let readme = committed("README.md");
    for name in vectors_gen::FILES {
        let doc: Value = serde_json::from_str(&committed(name)).unwrap();
        assert!(
            readme.contains(&format!("`{name}`")),
            "README.md does not list {name}"
        );
        for g in doc["testGroups"].as_array().unwrap() {
            let kind = g["type"].as_str().unwrap();
            assert!(
                readme.contains(&format!("`{kind}`")),
                "README.md does not name group type {kind}"
            );
            let mut errors: Vec<&str> = g["tests"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|t| t.get("error").and_then(Value::as_str))
                .collect();
            for t in g["tests"].as_array().unwrap() {
                for o in t
                    .get("opens")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    errors.extend(o.get("error").and_then(Value::as_str));
                }
            }
            for e in errors {
                // `OpenError::Decode(DecodeError::X)` is explained as its two parts.
                for part in e.split(['(', ')']).filter(|p| !p.is_empty()) {
                    assert!(
                        readme.contains(&format!("`{part}`"))
                            || readme.contains(&format!("`{part}(")),
                        "README.md does not explain the error kind {part} ({name})"
                    );
                }
            }
        }
    }
}

/// Every hex string in `v`, as a JSON pointer.
fn hex_paths(v: &Value, path: String, out: &mut Vec<String>) {
    match v {
        Value::String(s)
            if s.len() >= 2 && s.len() % 2 == 0 && s.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            out.push(path)
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                hex_paths(x, format!("{path}/{i}"), out);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                if k != "tests" {
                    hex_paths(x, format!("{path}/{k}"), out);
                }
            }
        }
        _ => {}
    }
}

/// Flips bit 4 of the byte at position `byte` (or of the last byte); bit 4
/// because X25519 clamping ignores the low bits of a secret key's first byte.
fn flip_hex(doc: &Value, pointer: &str, byte: usize) -> Value {
    let mut d = doc.clone();
    let s = d.pointer_mut(pointer).unwrap();
    let mut bytes = hex::decode(s.as_str().unwrap()).unwrap();
    let i = byte.min(bytes.len() - 1);
    bytes[i] ^= 0x10;
    *s = Value::String(hex::encode(bytes));
    d
}

fn must_fail(name: &str, doc: &Value, what: &str) {
    let text = vectors_gen::to_json(doc);
    assert!(
        check_file(name, &text, true).is_err(),
        "{name}: the checker accepts a file with {what}"
    );
}

#[test]
fn the_checker_rejects_mutated_vectors() {
    let mut mutations = 0;
    for name in vectors_gen::FILES {
        let doc: Value = serde_json::from_str(&committed(name)).unwrap();
        // Shared data: top-level identities and group fields (first byte).
        let mut shared = Vec::new();
        if let Some(ids) = doc.get("identities") {
            hex_paths(ids, "/identities".into(), &mut shared);
        }
        for (gi, g) in doc["testGroups"].as_array().unwrap().iter().enumerate() {
            hex_paths(g, format!("/testGroups/{gi}"), &mut shared);
        }
        for p in &shared {
            must_fail(name, &flip_hex(&doc, p, 0), &format!("{p} changed"));
            mutations += 1;
        }
        for (gi, g) in doc["testGroups"].as_array().unwrap().iter().enumerate() {
            let tests = g["tests"].as_array().unwrap();
            // Every hex value of the group's first valid case, at its first,
            // middle and last byte.
            if let Some(ti) = tests.iter().position(|t| t["result"] == "valid") {
                let mut paths = Vec::new();
                let base = format!("/testGroups/{gi}/tests/{ti}");
                hex_paths(&tests[ti], base.clone(), &mut paths);
                for p in &paths {
                    let len = doc.pointer(p).unwrap().as_str().unwrap().len() / 2;
                    for byte in [0, len / 2, len - 1] {
                        must_fail(
                            name,
                            &flip_hex(&doc, p, byte),
                            &format!("{p} byte {byte} changed"),
                        );
                        mutations += 1;
                    }
                }
                // A valid case turned invalid must fail too.
                let mut d = doc.clone();
                let t = d.pointer_mut(&base).unwrap().as_object_mut().unwrap();
                t.insert("result".into(), Value::from("invalid"));
                t.insert("error".into(), Value::from("DecodeError::Truncated"));
                must_fail(name, &d, &format!("{base} marked invalid"));
                mutations += 1;
            }
            // The group's first invalid case: its main object's first byte
            // (the wire version) and its expected error.
            if let Some(ti) = tests.iter().position(|t| t["result"] == "invalid") {
                let base = format!("/testGroups/{gi}/tests/{ti}");
                for field in [
                    "certificate",
                    "list",
                    "evidence",
                    "compact",
                    "message",
                    "steps/0/message",
                    "certificates/0",
                    "prekey",
                    "export",
                ] {
                    let p = format!("{base}/{field}");
                    if doc.pointer(&p).and_then(Value::as_str).is_some() {
                        must_fail(name, &flip_hex(&doc, &p, 0), &format!("{p} byte 0 changed"));
                        mutations += 1;
                    }
                }
                let mut d = doc.clone();
                *d.pointer_mut(&format!("{base}/error")).unwrap() =
                    Value::from("DecodeError::NonCanonical (not this one)");
                must_fail(name, &d, &format!("{base} with another error"));
                mutations += 1;
            }
        }
        // The header.
        let mut d = doc.clone();
        d["numberOfTests"] = Value::from(d["numberOfTests"].as_u64().unwrap() + 1);
        must_fail(name, &d, "a wrong numberOfTests");
        mutations += 1;
    }
    println!("{mutations} mutated copies, every one rejected");
}
