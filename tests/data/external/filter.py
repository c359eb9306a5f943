#!/usr/bin/env python3
"""Copy and filter the external conformance data fanseal's tests use.

Usage: python3 tests/data/external/filter.py [SOURCE_DIR]

SOURCE_DIR defaults to ../shared/vectors-external (the project's read-only
mirror of the public vectors; see PROVENANCE.md for where each file came
from). Outputs are written next to this script. The script is deterministic:
running it again on the same sources reproduces every file byte for byte,
and it prints the SHA-256 of every source and output so PROVENANCE.md can be
checked.

Filters (everything else is copied byte for byte):
  * AES-GCM: only groups with keySize 256, ivSize 96, tagSize 128 (fanseal's
    AES-256-GCM always uses a 12-byte nonce and a 16-byte tag).
  * HPKE: only the mode 0 (base) entry of DHKEM(X25519, HKDF-SHA256),
    HKDF-SHA256, AES-256-GCM; modes 1-3 (psk, auth, auth_psk) are not used.
  * RFC 7748 sections 5.2 and 6.1: written from the RFC text into
    rfc/rfc7748.json (the shared rfc-kats.json has 5.2 in Wycheproof's
    clamped/masked form and only Alice's secret and Bob's public key of 6.1).
  * draft-ietf-hpke-pq: only the X-Wing entries (kem_id 0x647a), both KDFs
    (the KEM layer of both is checked, the key schedule of the HKDF-SHA256
    one only).
  * X-Wing draft vectors: copied unchanged from the x-wing crate's
    tests/test-vectors.json (located with `cargo metadata`, or XWING_VECTORS).
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SRC = os.path.normpath(os.path.join(HERE, "..", "..", "..", "..", "shared", "vectors-external"))

# Copied unchanged: (source path, output path), both relative.
COPIES = [
    ("wycheproof/x25519_test.json", "wycheproof/x25519_test.json"),
    ("wycheproof/ed25519_test.json", "wycheproof/ed25519_test.json"),
    ("wycheproof/hkdf_sha256_test.json", "wycheproof/hkdf_sha256_test.json"),
    ("wycheproof/LICENSE", "wycheproof/LICENSE"),
    ("ed25519/sign.input-TESTVECTORS.txt", "ed25519/sign.input-TESTVECTORS.txt"),
    ("ed25519/speccheck-VALIDATIONVECTORS.json", "ed25519/speccheck-VALIDATIONVECTORS.json"),
    ("ed25519/LICENSE-ed25519-dalek", "ed25519/LICENSE-ed25519-dalek"),
    ("rfc-kats.json", "rfc/rfc-kats.json"),
]

# RFC 7748 sections 5.2 and 6.1, transcribed from the RFC text. The shared
# rfc-kats.json carries the 5.2 inputs in Wycheproof's form (scalar already
# clamped, u with bit 255 cleared) and only one side of 6.1; these are the
# RFC's own bytes (vector 2's u has bit 255 set, which X25519 must ignore).
RFC7748 = {
    "_source": "RFC 7748 sections 5.2 and 6.1, transcribed from the RFC text",
    "section_5_2": [
        {
            "scalar": "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
            "u": "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
            "output": "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
        },
        {
            "scalar": "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
            "u": "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
            "output": "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
        },
    ],
    "section_6_1": {
        "alice_private": "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        "alice_public": "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
        "bob_private": "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
        "bob_public": "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
        "shared": "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
    },
}


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_json(rel, value):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(value, f, indent=1, sort_keys=False)
        f.write("\n")
    return path


def xwing_crate_vectors():
    """tests/test-vectors.json of the x-wing package in Cargo.lock's graph."""
    meta = json.loads(subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--locked"],
        cwd=os.path.join(HERE, "..", "..", ".."),
    ))
    pkg = next(p for p in meta["packages"] if p["name"] == "x-wing")
    assert pkg["version"] == "0.1.1", pkg["version"]
    return os.path.join(os.path.dirname(pkg["manifest_path"]), "tests", "test-vectors.json")


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_SRC
    report = []

    for rel_in, rel_out in COPIES:
        path_in = os.path.join(src, rel_in)
        path_out = os.path.join(HERE, rel_out)
        os.makedirs(os.path.dirname(path_out), exist_ok=True)
        shutil.copyfile(path_in, path_out)
        report.append((rel_in, sha256(path_in), rel_out, sha256(path_out), "copied"))

    # AES-GCM: AES-256, 96-bit IV, 128-bit tag only.
    rel_in = "wycheproof/aes_gcm_test.json"
    with open(os.path.join(src, rel_in), encoding="utf-8") as f:
        gcm = json.load(f)
    total = sum(len(g["tests"]) for g in gcm["testGroups"])
    groups = [
        g
        for g in gcm["testGroups"]
        if g["keySize"] == 256 and g["ivSize"] == 96 and g["tagSize"] == 128
    ]
    kept = sum(len(g["tests"]) for g in groups)
    gcm["testGroups"] = groups
    gcm["numberOfTests"] = kept
    gcm["_fanseal_filter"] = (
        "filtered by tests/data/external/filter.py: only groups with keySize 256, ivSize 96, "
        "tagSize 128 (%d of %d cases kept)" % (kept, total)
    )
    out = write_json("wycheproof/aes_gcm_256_iv96_tag128_test.json", gcm)
    report.append((rel_in, sha256(os.path.join(src, rel_in)), os.path.relpath(out, HERE), sha256(out),
                   "%d of %d cases" % (kept, total)))

    # HPKE: mode 0 (base) only.
    rel_in = "hpke/hpke-rfc9180-x25519-hkdfsha256-aes256gcm.json"
    with open(os.path.join(src, rel_in), encoding="utf-8") as f:
        hpke = json.load(f)
    base = [
        e
        for e in hpke
        if e["mode"] == 0 and e["kem_id"] == 0x20 and e["kdf_id"] == 1 and e["aead_id"] == 2
    ]
    assert len(base) == 1, "expected exactly one base-mode entry"
    out = write_json("hpke/rfc9180-base-x25519-sha256-aes256gcm.json", base)
    report.append((rel_in, sha256(os.path.join(src, rel_in)), os.path.relpath(out, HERE), sha256(out),
                   "mode 0 entry of %d" % len(hpke)))

    # draft-ietf-hpke-pq: X-Wing (0x647a) entries only.
    rel_in = "hpke-pq/test-vectors.json"
    with open(os.path.join(src, rel_in), encoding="utf-8") as f:
        pq = json.load(f)
    xwing = [e for e in pq if e["kem_id"] == 0x647A]
    assert len(xwing) == 2, "expected the HKDF-SHA256 and the SHAKE256 X-Wing entries"
    out = write_json("hpke-pq/xwing-0x647a.json", xwing)
    report.append((rel_in, sha256(os.path.join(src, rel_in)), os.path.relpath(out, HERE), sha256(out),
                   "kem_id 0x647a: %d of %d entries" % (len(xwing), len(pq))))

    # X-Wing draft vectors, as shipped in the x-wing crate.
    path_in = os.environ.get("XWING_VECTORS") or xwing_crate_vectors()
    path_out = os.path.join(HERE, "xwing", "test-vectors.json")
    os.makedirs(os.path.dirname(path_out), exist_ok=True)
    shutil.copyfile(path_in, path_out)
    report.append(("x-wing-0.1.1/tests/test-vectors.json", sha256(path_in), os.path.relpath(path_out, HERE),
                   sha256(path_out), "copied"))

    out = write_json("rfc/rfc7748.json", RFC7748)
    report.append(("(RFC 7748 text)", "-", os.path.relpath(out, HERE), sha256(out), "transcribed"))

    for rel_in, h_in, rel_out, h_out, what in report:
        print("%s\n  source sha256 %s\n  -> %s sha256 %s (%s)" % (rel_in, h_in, rel_out, h_out, what))


if __name__ == "__main__":
    main()
