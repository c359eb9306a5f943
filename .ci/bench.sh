#!/usr/bin/env bash
# Benchmarks smoke run (issue 6): builds every criterion bench of the
# workspace (fanseal's own benches and the fanseal-peers crate with age, hpke
# and vodozemac) and runs each benchmark once in criterion's --test mode.
# Nothing is timed or asserted about time; the real measurement is done by
# hand as BENCHMARKS.md describes.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --workspace --bench '*' --locked -- --test
