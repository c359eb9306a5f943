#!/usr/bin/env bash
# MSRV check: the library builds with the `rust-version` of Cargo.toml, and no
# dependency of the library asks for a newer compiler.
set -euo pipefail
cd "$(dirname "$0")/.."

msrv=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
if [ -z "$msrv" ]; then
    echo "msrv: FAIL: no rust-version in Cargo.toml" >&2
    exit 1
fi
# "1.89" means every 1.89.x: check the oldest, 1.89.0.
case "$msrv" in
    *.*.*) toolchain="$msrv" ;;
    *) toolchain="$msrv.0" ;;
esac

# 1. Works without the old toolchain: every package in the library's own
#    dependency graph (normal and build dependencies, as locked) must declare
#    a rust-version no newer than ours.
cargo metadata --format-version 1 --locked --filter-platform "$(rustc -vV | sed -n 's/^host: //p')" |
    python3 -c '
import json, sys
msrv = tuple(int(x) for x in sys.argv[1].split("."))
m = json.load(sys.stdin)
packages = {p["id"]: p for p in m["packages"]}
nodes = {n["id"]: n for n in m["resolve"]["nodes"]}
root = next(p["id"] for p in m["packages"] if p["name"] == "fanseal")
seen, stack = set(), [root]
while stack:
    node = stack.pop()
    if node in seen:
        continue
    seen.add(node)
    for dep in nodes[node]["deps"]:
        if any(k["kind"] in (None, "build") for k in dep["dep_kinds"]):
            stack.append(dep["pkg"])
too_new = []
for node in seen:
    p = packages[node]
    rv = p.get("rust_version")
    if rv and p["name"] != "fanseal":
        if tuple(int(x) for x in rv.split(".")) > msrv + (0,) * (3 - len(msrv)):
            too_new.append("%s %s requires rustc %s" % (p["name"], p["version"], rv))
print(f"msrv: {len(seen) - 1} library dependencies checked against rust-version {sys.argv[1]}")
if too_new:
    print("msrv: FAIL: dependencies need a newer compiler than rust-version:", *too_new, sep="\n  ")
    sys.exit(1)
' "$msrv"

# 2. The real build with that compiler.
if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1; then
    echo "msrv: installing Rust $toolchain"
    if ! timeout 600 rustup toolchain install "$toolchain" --profile minimal; then
        echo "msrv: SKIP the build with Rust $toolchain: the toolchain cannot be installed here (the dependency check above still ran)"
        exit 0
    fi
fi
cargo +"$toolchain" build --lib --locked --target-dir target/msrv
echo "msrv: the library builds with Rust $toolchain (rust-version = \"$msrv\")"
