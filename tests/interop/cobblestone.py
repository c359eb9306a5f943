#!/usr/bin/env python3
"""Interop: fanseal's Cobblestone-256 against pyca/cryptography (>= 50).

Usage: cobblestone.py PATH_TO_cobblestone_file_BINARY

For every size (empty, one byte, around the 16 KiB chunk boundary, a few
chunks, 1 MiB + 7) and two contexts it checks, both ways:

  * pyca encrypts (update() called with random slice sizes), fanseal
    decrypts: same plaintext; fanseal re-encrypts with pyca's salt: the same
    ciphertext byte for byte;
  * fanseal encrypts, pyca decrypts: same plaintext;
  * random access: fanseal reads the last bytes of a pyca file;
  * rejections: a flipped bit in a pyca file fails in fanseal, a truncated
    (one chunk boundary) or extended fanseal file fails in pyca, a wrong
    context fails in both.

Prints "interop: N passed, 0 failed" and exits 0, or exits 1 on the first
failure.
"""

import os
import random
import subprocess
import sys
import tempfile

from cryptography import __version__ as pyca_version
from cryptography.cobblestone import Cobblestone256Decryptor, Cobblestone256Encryptor

BIN = sys.argv[1]
RNG = random.Random(15)
SIZES = [0, 1, 16383, 16384, 16385, 32768, 40000, 1024 * 1024 + 7]
CONTEXTS = [b"", b"fanseal interop\x00context"]
passed = 0


def check(cond, what):
    global passed
    if not cond:
        print(f"interop: FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    passed += 1


def rust(*args):
    r = subprocess.run([BIN, *args], capture_output=True)
    return r.returncode == 0


def pieces(data):
    i = 0
    while i < len(data):
        n = RNG.choice([1, 7, 1000, 16384, 16400, 70000])
        yield data[i : i + n]
        i += n


def py_encrypt(key, ctx, pt):
    enc = Cobblestone256Encryptor(key, context=ctx)
    return b"".join(enc.update(p) for p in pieces(pt)) + enc.finalize()


def py_decrypt(key, ctx, ct):
    dec = Cobblestone256Decryptor(key, context=ctx)
    try:
        out = b"".join(dec.update(p) for p in pieces(ct))
        return out + dec.finalize()
    except Exception:
        return None


def main():
    print(f"interop: pyca/cryptography {pyca_version}, binary {BIN}")
    with tempfile.TemporaryDirectory() as d:
        p = lambda name: os.path.join(d, name)
        for size in SIZES:
            for ctx in CONTEXTS:
                key = os.urandom(32)
                pt = os.urandom(size)
                kx, cx = key.hex(), ctx.hex()
                what = f"size {size}, context {ctx!r}"
                with open(p("pt"), "wb") as f:
                    f.write(pt)

                # pyca -> fanseal
                ct = py_encrypt(key, ctx, pt)
                with open(p("py.ct"), "wb") as f:
                    f.write(ct)
                check(rust("decrypt", kx, cx, p("py.ct"), p("py.pt")), f"fanseal decrypts pyca ({what})")
                check(open(p("py.pt"), "rb").read() == pt, f"plaintext equal ({what})")
                salt = ct[:24].hex()
                check(rust("encrypt", kx, cx, salt, p("pt"), p("again.ct")), f"re-encrypt ({what})")
                check(open(p("again.ct"), "rb").read() == ct, f"same bytes as pyca with its salt ({what})")
                n = min(size, 5000)
                check(rust("read", kx, cx, p("py.ct"), p("tail"), str(n), str(n)), f"random access ({what})")
                check(open(p("tail"), "rb").read() == pt[size - n :], f"random access bytes ({what})")

                # fanseal -> pyca
                check(rust("encrypt", kx, cx, os.urandom(24).hex(), p("pt"), p("rs.ct")), f"fanseal encrypts ({what})")
                rct = open(p("rs.ct"), "rb").read()
                check(py_decrypt(key, ctx, rct) == pt, f"pyca decrypts fanseal ({what})")

                # rejections, both ways
                bad = bytearray(ct)
                bad[RNG.randrange(len(bad))] ^= 1 << RNG.randrange(8)
                with open(p("bad.ct"), "wb") as f:
                    f.write(bad)
                check(not rust("decrypt", kx, cx, p("bad.ct"), p("bad.pt")), f"fanseal rejects a flipped bit ({what})")
                check(not os.path.exists(p("bad.pt")), f"no output left for a rejected file ({what})")
                cut = 56 + (size // 16384) * 16400
                check(py_decrypt(key, ctx, rct[:cut]) is None, f"pyca rejects fanseal truncated to {cut} ({what})")
                check(py_decrypt(key, ctx, rct + b"\x00") is None, f"pyca rejects fanseal extended ({what})")
                check(py_decrypt(key, ctx + b"x", rct) is None, f"pyca rejects a wrong context ({what})")
                check(not rust("decrypt", kx, cx + "78", p("py.ct"), p("x.pt")), f"fanseal rejects a wrong context ({what})")
    print(f"interop: {passed} passed, 0 failed")


main()
