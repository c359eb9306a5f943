#!/usr/bin/env bash
# The hidden modules (`hazmat`, `fuzzing`, `__ct`: not API, they hand out
# message secrets, unauthenticated plaintext and raw signatures) must not be
# in a user's build. They compile only with the `internals` feature, which
# this crate's own tests turn on through a self dev-dependency (Cargo.toml).
# Two checks, each with a positive control so that it can fail:
#   1. a dependent crate that names each module fails to compile against a
#      plain `fanseal` dependency, and compiles with `features = ["internals"]`;
#   2. the release rlib of `cargo build --lib` defines no symbol of those
#      modules, and the `--features internals` rlib does.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
t="$root/target/internals"
mkdir -p "$t"

modules=(hazmat fuzzing __ct session::hazmat)
# One item each module really has (a probe that names a missing item would
# fail for the wrong reason; the positive control catches that).
declare -A item=([hazmat]="hazmat::forge" [fuzzing]="fuzzing::padding" [__ct]="__ct::sign"
    [session::hazmat]="session::hazmat::encrypt_unsigned")

probe() { # module, features ("" or internals) -> exit status of the build
    local m="$1" features="$2" dir="$t/probe-${1//::/-}${2:+-$2}"
    mkdir -p "$dir/src"
    cat >"$dir/Cargo.toml" <<EOF
[package]
name = "fanseal-internals-probe"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
fanseal = { path = "$root"${features:+, features = [\"$features\"]} }
EOF
    printf '%s\n' "#![allow(unused_imports)]" "pub use fanseal::${item[$m]};" >"$dir/src/lib.rs"
    cp Cargo.lock "$dir/Cargo.lock"
    cargo build --quiet --manifest-path "$dir/Cargo.toml" --target-dir "$t/probe" >"$dir/build.log" 2>&1
}

for m in "${modules[@]}"; do
    if probe "$m" ""; then
        echo "internals: FAIL: a dependent crate can name fanseal::${item[$m]} without the feature" >&2
        exit 1
    fi
    if ! grep -Eq "error\[E04(32|33)\].*${m}" "$t/probe-${m//::/-}/build.log"; then
        cat "$t/probe-${m//::/-}/build.log"
        echo "internals: FAIL: the probe for '$m' failed for another reason than a missing module" >&2
        exit 1
    fi
    if ! probe "$m" internals; then
        cat "$t/probe-${m//::/-}-internals/build.log"
        echo "internals: FAIL: positive control: fanseal::${item[$m]} does not build even with the feature" >&2
        exit 1
    fi
    echo "internals: fanseal::$m is absent from a dependent's build (present with the feature)"
done

rlib() { # extra cargo args -> path of fanseal's release rlib
    cargo build --lib --locked --release --target-dir "$t/lib" --message-format=json "$@" |
        python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "fanseal":
        print(*[f for f in m["filenames"] if f.endswith(".rlib")])
'
}
count_symbols() {
    nm -C --defined-only "$1" 2>/dev/null | grep -cE 'fanseal::(hazmat|fuzzing|__ct|session::hazmat)::' || true
}
plain=$(count_symbols "$(rlib)")
with=$(count_symbols "$(rlib --features internals)")
if [ "$with" -eq 0 ]; then
    echo "internals: FAIL: positive control: no hidden-module symbol found even with the feature" >&2
    exit 1
fi
if [ "$plain" -ne 0 ]; then
    echo "internals: FAIL: the plain release rlib defines $plain hidden-module symbol(s)" >&2
    exit 1
fi
echo "internals: release rlib: 0 hidden-module symbols (with the feature: $with)"
echo "internals: the hidden modules are out of users' builds"
