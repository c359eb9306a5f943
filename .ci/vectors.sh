#!/usr/bin/env bash
# Regenerates fanseal's published test vectors and fails if they differ from
# the committed files (a vector must never silently follow the code).
# tests/vectors.rs checks the same equality in memory and checks every case
# against the library; this step also catches files the generator writes that
# were never committed.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo run --example gen_vectors --locked
git diff --exit-code vectors/
untracked="$(git ls-files --others --exclude-standard vectors/)"
if [ -n "$untracked" ]; then
    echo "vectors: files written by the generator but not committed:" >&2
    echo "$untracked" >&2
    exit 1
fi
echo "vectors: regenerated files equal the committed ones"
