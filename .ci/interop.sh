#!/usr/bin/env bash
# Interop (issue 15): fanseal's Cobblestone-256 against pyca/cryptography's
# (>= 50, `cryptography.cobblestone`), both directions, byte for byte with
# the same salt, plus rejections. Installs what it needs in a virtualenv
# under target/ (python3-venv from apt if the venv module is missing).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "interop: installing python3 and python3-venv"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
fi
venv="${CARGO_TARGET_DIR:-target}/interop-venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check 'cryptography>=50,<51'

cargo build --example cobblestone_file --locked
bin="${CARGO_TARGET_DIR:-target}/debug/examples/cobblestone_file"
"$venv/bin/python" tests/interop/cobblestone.py "$bin"
