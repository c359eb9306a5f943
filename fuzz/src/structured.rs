//! The structure-aware input of the `open_structured` target: `arbitrary`
//! builds it from the fuzzer's bytes, and it converts into the plain
//! `fanseal::fuzzing::Mutation` values the library body applies.
//! `tests/fuzz_replay.rs` includes this file too (with `#[path]`), so the
//! committed inputs replay on stable exactly as the fuzzer saw them.

use arbitrary::Arbitrary;
use fanseal::fuzzing::Mutation;

/// Which device opens, and what to change first.
#[derive(Debug, Arbitrary)]
pub struct StructuredInput {
    /// Device index, modulo the fixture's device count.
    pub recipient: u8,
    /// Changes to the valid envelope, in order.
    pub mutations: Vec<Op>,
}

/// Mirror of `fanseal::fuzzing::Mutation` with `Arbitrary`.
#[derive(Debug, Arbitrary)]
#[allow(missing_docs)]
pub enum Op {
    Version(u8),
    ObjectType(u8),
    Suite(u16),
    MessageId([u8; 16]),
    Ephemeral([u8; 32]),
    EphemeralXor(u8, u8),
    Commitment([u8; 32]),
    CommitmentXor(u8, u8),
    RecipientCount(u16),
    KeyId(u16, [u8; 16]),
    KeyIdXor(u16, u8, u8),
    SwapKeyIds(u16, u16),
    RemoveRecipient(u16),
    DuplicateRecipient(u16),
    WrapXor(u16, u8, u8),
    SwapWraps(u16, u16),
    RemoveWrap(u16),
    KeepOneWrap(u16),
    BodyLen(u32),
    BodyXor(u32, u8),
    TruncateBody(u32),
    ExtendBody(Vec<u8>),
    Truncate(u32),
    Append(Vec<u8>),
    Xor(u32, u8),
}

impl From<Op> for Mutation {
    fn from(op: Op) -> Self {
        match op {
            Op::Version(v) => Mutation::Version(v),
            Op::ObjectType(t) => Mutation::ObjectType(t),
            Op::Suite(s) => Mutation::Suite(s),
            Op::MessageId(id) => Mutation::MessageId(id),
            Op::Ephemeral(e) => Mutation::Ephemeral(e),
            Op::EphemeralXor(i, v) => Mutation::EphemeralXor(i, v),
            Op::Commitment(c) => Mutation::Commitment(c),
            Op::CommitmentXor(i, v) => Mutation::CommitmentXor(i, v),
            Op::RecipientCount(n) => Mutation::RecipientCount(n),
            Op::KeyId(i, k) => Mutation::KeyId(i, k),
            Op::KeyIdXor(i, j, v) => Mutation::KeyIdXor(i, j, v),
            Op::SwapKeyIds(a, b) => Mutation::SwapKeyIds(a, b),
            Op::RemoveRecipient(i) => Mutation::RemoveRecipient(i),
            Op::DuplicateRecipient(i) => Mutation::DuplicateRecipient(i),
            Op::WrapXor(i, j, v) => Mutation::WrapXor(i, j, v),
            Op::SwapWraps(a, b) => Mutation::SwapWraps(a, b),
            Op::RemoveWrap(i) => Mutation::RemoveWrap(i),
            Op::KeepOneWrap(i) => Mutation::KeepOneWrap(i),
            Op::BodyLen(n) => Mutation::BodyLen(n),
            Op::BodyXor(i, v) => Mutation::BodyXor(i, v),
            Op::TruncateBody(n) => Mutation::TruncateBody(n),
            Op::ExtendBody(b) => Mutation::ExtendBody(b),
            Op::Truncate(n) => Mutation::Truncate(n),
            Op::Append(b) => Mutation::Append(b),
            Op::Xor(i, v) => Mutation::Xor(i, v),
        }
    }
}

/// Reads a structured input from raw fuzzer bytes exactly as
/// `fuzz_target!(|input: StructuredInput| ...)` does.
pub fn parse(data: &[u8]) -> Option<StructuredInput> {
    StructuredInput::arbitrary_take_rest(arbitrary::Unstructured::new(data)).ok()
}

/// Runs the open body on a structured input.
pub fn run(
    fixture: &fanseal::fuzzing::Fixture,
    input: StructuredInput,
) -> fanseal::fuzzing::Outcome {
    let mutations: Vec<Mutation> = input.mutations.into_iter().map(Mutation::from).collect();
    fanseal::fuzzing::open_mutated(fixture, input.recipient, &mutations)
}
