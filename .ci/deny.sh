#!/usr/bin/env bash
# Supply chain: cargo-deny over fanseal's own dependency graph (deny.toml):
# licences, bans (one version of every crate, so of every crypto crate),
# sources (crates.io only), and RustSec advisories from the offline snapshot
# in ../shared/advisory-db when it is present.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-deny >/dev/null 2>&1; then
    echo "deny: installing cargo-deny"
    cargo install --locked cargo-deny
fi
cargo deny --version

cargo deny --log-level warn --locked check bans licenses sources

snapshot="../shared/advisory-db/crates.tgz"
if [ ! -f "$snapshot" ]; then
    echo "deny: SKIP advisories: no advisory database snapshot at $snapshot (no network fetch in CI)"
    exit 0
fi
# cargo-deny reads each database as a git repository in
# <db-path>/<name>-<hash of its URL>; this is the directory name cargo-deny
# uses for the default RustSec URL (it names the path it wants if this ever
# changes).
db_path="$PWD/target/advisory-db"
repo="$db_path/advisory-db-3157b0e258782691"
rm -rf "$db_path"
mkdir -p "$repo"
tar -xzf "$snapshot" -C "$repo"
git -C "$repo" init -q
git -C "$repo" add -A
git -C "$repo" -c user.name=ci -c user.email=ci@localhost commit -qm "advisory-db snapshot"
config="target/deny-advisories.toml"
sed "s|^\[advisories\]$|[advisories]\ndb-path = \"$db_path\"|" deny.toml >"$config"
grep -q '^db-path = ' "$config"
echo "deny: advisories from the RustSec snapshot ($(grep -o 'snapshot of [0-9-]*' ../shared/advisory-db/SOURCE.txt 2>/dev/null || echo 'date unknown'); $(ls "$repo/crates" | wc -l) crates with advisories)"
cargo deny --log-level warn --locked --offline --config "$config" check advisories
