#!/usr/bin/env bash
# Constant-time check under valgrind memcheck (SECURITY.md, "Constant-time
# check"). Builds the harness in ct/ (its own workspace) in release mode with
# debug info, runs the stack scan (with its planted leak), proves the check
# can fail on two planted leaks, then runs the library's secret-handling
# steps, which must produce no memcheck error.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null 2>&1; then
    echo "ct: installing valgrind"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq valgrind >/dev/null
fi

target="target/ct"
mkdir -p "$target"
# Build against exactly the dependency versions the root Cargo.lock pins (so
# the check covers what the library ships with, and a dependency change in
# the root needs no second lock update): use the root lock for this build,
# then put ct/Cargo.lock back.
cp ct/Cargo.lock "$target/Cargo.lock.ct"
trap 'cp "$target/Cargo.lock.ct" ct/Cargo.lock' EXIT
cp Cargo.lock ct/Cargo.lock
cargo build --release --manifest-path ct/Cargo.toml --target-dir "$target"
# The unoptimised build too, for the stack scan only (its stack is deeper:
# src/primitives.rs STACK_SCRUB_BYTES).
cargo build --manifest-path ct/Cargo.toml --target-dir "$target"
cp ct/Cargo.lock "$target/Cargo.lock.used"
bin="$target/release/fanseal-ct"
debug_bin="$target/debug/fanseal-ct"

# Fill in the declassified lines (ct/declassify.supp.in): each is found by its
# exact source text, so a moved line is followed and a changed one fails here.
line_of() { # file, fixed string, offset
    local n
    n=$(grep -nF -- "$2" "$1" | cut -d: -f1)
    if [ -z "$n" ] || [ "$(printf '%s\n' "$n" | wc -l)" -ne 1 ]; then
        echo "ct: declassification point not found exactly once in $1: $2" >&2
        echo "ct: review the change and update ct/declassify.supp.in" >&2
        exit 1
    fi
    echo $((n + ${3:-0}))
}
# The first line after the (unique) anchor line that is exactly the given text.
line_after() { # file, anchor, fixed string
    local a n
    a=$(line_of "$1" "$2")
    n=$(tail -n +"$a" "$1" | grep -nF -m1 -- "$3" | cut -d: -f1)
    if [ -z "$n" ]; then
        echo "ct: declassification point not found after '$2' in $1: $3" >&2
        echo "ct: review the change and update ct/declassify.supp.in" >&2
        exit 1
    fi
    echo $((a + n - 1))
}
aes_gcm_version=$(grep -A1 '^name = "aes-gcm"$' "$target/Cargo.lock.used" | sed -n 's/^version = "\(.*\)"$/\1/p')
aes_gcm_src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/aes-gcm-"$aes_gcm_version"/src/lib.rs | head -n1)
supp="$target/declassify.supp"
line_of "$aes_gcm_src" 'if expected_tag[..TagSize::to_usize()].ct_eq(tag).into() {' >/dev/null
line_of src/envelope/open.rs 'ctx.open_in_place(0, key.binding, secret.as_mut(), &tag)' >/dev/null
x25519_line=$(line_of src/primitives.rs 'if !shared.was_contributory() {')
padding_line=$(line_of src/envelope/open.rs 'if nonzero != 0 {')
# The hybrid unwrap's crates (ct/declassify.supp.in): x-wing, and the ml-kem
# version x-wing depends on (the lock may hold another for other crates).
xwing_version=$(grep -A1 '^name = "x-wing"$' "$target/Cargo.lock.used" | sed -n 's/^version = "\(.*\)"$/\1/p')
xwing_src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/x-wing-"$xwing_version"/src/lib.rs | head -n1)
mlkem_version=$(awk '/^name = "x-wing"$/,/^$/' "$target/Cargo.lock.used" | sed -n 's/^ "ml-kem \(.*\)",$/\1/p')
if [ -z "$mlkem_version" ]; then # a single ml-kem in the lock: named without version
    mlkem_version=$(grep -A1 '^name = "ml-kem"$' "$target/Cargo.lock.used" | sed -n 's/^version = "\(.*\)"$/\1/p')
fi
mlkem_src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/ml-kem-"$mlkem_version"/src/algebra.rs | head -n1)
xwing_line=$(line_of "$xwing_src" 'if !ss_x.was_contributory() {')
rej_anchor='fn rej_uniform(coeffs: &mut [Elem; 256], mut n: usize, bytes: &[u8]) -> usize {'
line_of "$mlkem_src" 'let mut n = rej_uniform(&mut coeffs, 0, &bytes);' >/dev/null
line_of "$mlkem_src" 'pub(crate) fn matrix_sample_ntt<K: ArraySize>(rho: &B32, transpose: bool) -> NttMatrix<K> {' >/dev/null
mlkem_d1_line=$(line_after "$mlkem_src" "$rej_anchor" 'if d1 < BaseField::Q {')
mlkem_d2_line=$(line_after "$mlkem_src" "$rej_anchor" 'if d2 < BaseField::Q && n < coeffs.len() {')
sed -e "s/@X25519_CONTRIBUTORY@/$x25519_line/" -e "s/@PADDING_ACCEPT@/$padding_line/" \
    -e "s/@XWING_CONTRIBUTORY@/$xwing_line/" \
    -e "s/@MLKEM_REJ_D1@/$mlkem_d1_line/" -e "s/@MLKEM_REJ_D2@/$mlkem_d2_line/" \
    ct/declassify.supp.in >"$supp"

vg() {
    valgrind --tool=memcheck --error-exitcode=1 --track-origins=yes -s \
        --suppressions="$supp" "$bin" "$@"
}

# 0. Stack scan (natively, not under valgrind; SECURITY.md, "Zeroization"):
#    no secret may be left in the stack below the caller of a public call,
#    in the optimised and the unoptimised build. It must be able to fail:
#    with seal and open run without their final stack scrub (the planted
#    leak), leftovers must be found.
for b in "$bin" "$debug_bin"; do
    build=$(basename "$(dirname "$b")")
    log="$target/stack-scan-planted-$build.log"
    if ! "$b" stack-scan-planted >"$log" 2>&1; then
        cat "$log"
        echo "ct: FAIL ($build): the stack scan found nothing after the unscrubbed seal/open (blind)" >&2
        exit 1
    fi
    grep -E 'leftover\(s\)|stack-scan' "$log"
    echo "ct: ($build) planted stack leftovers caught, as required"
    log="$target/stack-scan-$build.log"
    if ! "$b" stack-scan >"$log" 2>&1; then
        cat "$log"
        echo "ct: FAIL ($build): secrets left on the stack after a public call (see above)" >&2
        exit 1
    fi
    cat "$log"
    echo "ct: ($build) no secret left on the stack below the caller"
done

# 1. The check must be able to fail: both planted leaks must be reported.
for leak in planted-branch planted-index; do
    log="$target/$leak.log"
    if vg "$leak" >"$log" 2>&1; then
        cat "$log"
        echo "ct: FAIL: memcheck did not report the planted leak '$leak'" >&2
        exit 1
    fi
    if ! grep -Eq 'Conditional jump or move depends on uninitialised value|Use of uninitialised value' "$log"; then
        cat "$log"
        echo "ct: FAIL: '$leak' failed without the expected memcheck report" >&2
        exit 1
    fi
    echo "ct: planted leak '$leak' caught, as required"
done

# 2. The library's steps: no secret-dependent branch or index.
log="$target/library.log"
if ! vg library >"$log" 2>&1; then
    cat "$log"
    echo "ct: FAIL: secret-dependent branch or index in the library (see above)" >&2
    exit 1
fi
grep -E '^  (ok|FAIL) ' "$log"
echo "ct: declassified (ct/declassify.supp.in), times used:"
grep -E 'used_suppression' "$log" | sed 's/^--[0-9]*-- */    /'
grep -m1 -E 'ERROR SUMMARY' "$log"
echo "ct: library steps are free of secret-dependent branches and indices"
