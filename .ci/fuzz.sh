#!/usr/bin/env bash
# Fuzz smoke run (issue 5): every cargo-fuzz target for ~30 s, two at a time
# (the machine has 2 cores), so the whole step stays well under 10 minutes.
# Installs the nightly toolchain and cargo-fuzz when missing. Longer runs are
# done by hand (README "Fuzzing"); the committed seeds and regressions also
# replay on stable in `cargo test` (tests/fuzz_replay.rs).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

SECONDS_PER_TARGET="${FUZZ_SECONDS:-30}"
LOGS="$(mktemp -d)"

if ! cargo +nightly --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz
fi

# No sanitizer: the library forbids `unsafe`. Debug assertions and overflow
# checks stay on (-a), so an arithmetic overflow is a crash.
FLAGS=(-O -a -s none)
cargo +nightly fuzz build "${FLAGS[@]}"

run_target() {
    local target=$1
    mkdir -p "corpus/$target"
    # corpus/ is scratch (git-ignored); seeds/ and regressions/ are read-only inputs.
    if cargo +nightly fuzz run "${FLAGS[@]}" "$target" "corpus/$target" "seeds/$target" \
        $([ -d "regressions/$target" ] && echo "regressions/$target") -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$LOGS/$target.log" 2>&1; then
        printf 'fuzz: %-28s ok  %s\n' "$target" "$(grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$LOGS/$target.log" | tr -s ' ' | tr '\n' ' ')"
    else
        echo "fuzz: $target FAILED; the crashing input is in fuzz/artifacts/$target/" >&2
        tail -n 60 "$LOGS/$target.log" >&2
        return 1
    fi
}

mapfile -t targets < <(cargo +nightly fuzz list)
failed=0
for ((i = 0; i < ${#targets[@]}; i += 2)); do
    run_target "${targets[i]}" & first=$!
    second=
    if ((i + 1 < ${#targets[@]})); then
        run_target "${targets[i + 1]}" & second=$!
    fi
    wait "$first" || failed=1
    if [ -n "$second" ]; then wait "$second" || failed=1; fi
done
if [ "$failed" -ne 0 ]; then
    echo "fuzz: a target crashed" >&2
    exit 1
fi
echo "fuzz: all ${#targets[@]} targets passed their smoke run"
