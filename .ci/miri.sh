#!/usr/bin/env bash
# Miri: a representative subset of the library's unit tests under
# `cargo +nightly miri test` (SECURITY.md, "Supply chain, MSRV and Miri").
# fanseal has no `unsafe`; this runs the dependencies' `unsafe` (zeroize's
# volatile writes, hybrid-array, the portable AES, GHASH and field arithmetic
# backends Miri selects) under Miri's undefined-behaviour checks. Curve
# arithmetic is slow under Miri, so the subset is chosen by test name to
# finish in a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

tests=(
    envelope::padding::tests::padme_matches_the_paper_examples
    envelope::padding::tests::bucket_rounds_up
    conformance::hkdf::rfc5869_sha256
    __ct::tests::hooks_run_the_steps_of_open_on_a_real_envelope
)

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "miri: installing the nightly toolchain"
    if ! timeout 900 rustup toolchain install nightly --profile minimal; then
        echo "miri: SKIP: no nightly toolchain can be installed here"
        exit 0
    fi
fi
if ! cargo +nightly miri --version >/dev/null 2>&1; then
    echo "miri: installing the miri component"
    if ! timeout 900 rustup component add --toolchain nightly miri rust-src; then
        echo "miri: SKIP: the miri component cannot be installed here"
        exit 0
    fi
fi
cargo +nightly miri --version
cargo +nightly miri setup
cargo +nightly miri test --lib --locked -- --exact "${tests[@]}"
