#!/usr/bin/env python3
"""Prints the medians of the last criterion run (target/criterion) as the
Markdown tables of BENCHMARKS.md, with the ratios against the floor and the
peers. Reads only criterion's own output; measures nothing.

Usage: python3 benches/report.py [target/criterion]
"""
import json
import os
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"


def load():
    out = {}
    for dirpath, _, files in os.walk(ROOT):
        if os.path.basename(dirpath) != "new" or "benchmark.json" not in files:
            continue
        with open(os.path.join(dirpath, "benchmark.json")) as f:
            meta = json.load(f)
        with open(os.path.join(dirpath, "estimates.json")) as f:
            est = json.load(f)
        key = (meta["group_id"], meta.get("function_id"), meta.get("value_str"))
        out[key] = (est["median"]["point_estimate"], meta.get("throughput"))
    return out


def fmt_time(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.3f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def fmt_tp(ns, tp):
    if not tp:
        return ""
    if "Bytes" in tp:
        return f"{tp['Bytes'] / ns * 1e9 / 2**20:.1f} MiB/s"
    if "Elements" in tp:
        n = tp["Elements"]
        return f"{ns / n / 1e3:.2f} µs/elem"
    return ""


def main():
    d = load()
    if not d:
        sys.exit(f"no criterion results under {ROOT}")

    def get(g, f, v):
        r = d.get((g, f, str(v) if v is not None else None))
        return r[0] if r else None

    def ratio(a, b):
        return f"{a / b:.2f}x" if a and b else "n/a"

    print("## All medians\n")
    print("| group | function | parameter | median | throughput |")
    print("|---|---|---|---:|---:|")
    for (g, f, v), (ns, tp) in sorted(d.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", _num(kv[0][2]))):
        print(f"| {g} | {f or ''} | {v or ''} | {fmt_time(ns)} | {fmt_tp(ns, tp)} |")

    print("\n## fanseal / floor\n")
    print("| operation | parameter | fanseal | floor | fanseal / floor |")
    print("|---|---|---:|---:|---:|")
    for g, fn, label in [
        ("seal_size", "fanseal", "seal, 1 device, payload bytes"),
        ("open_size", "fanseal", "open, payload bytes"),
        ("seal_devices", "fanseal", "seal 1 KiB, devices"),
        ("open_devices", "fanseal_delivery", "open 1 KiB delivery, devices"),
        ("open_devices", "fanseal_envelope", "open 1 KiB whole envelope, devices"),
    ]:
        params = sorted({v for (gg, ff, v) in d if gg == g and ff == fn}, key=_num)
        for v in params:
            a, b = get(g, fn, v), get(g, "floor", v)
            print(f"| {label} | {v} | {fmt_time(a)} | {fmt_time(b) if b else ''} | {ratio(a, b)} |")

    print("\n## Open is flat in N\n")
    for fn in ["fanseal_delivery", "fanseal_envelope"]:
        a, b = get("open_devices", fn, 512), get("open_devices", fn, 1)
        print(f"- open_devices/{fn}: N=512 / N=1 = {ratio(a, b)}")

    print("\n## Body throughput at 1 MiB (floor time / fanseal time)\n")
    for op in ["seal", "open"]:
        floor = get("body_1MiB", f"{op}_floor", None)
        for variant in ["padme", "unpadded"]:
            t = get("body_1MiB", f"{op}_fanseal_{variant}", None)
            if t and floor:
                print(f"- {op} ({variant}): {floor / t * 100:.1f} % of the floor's throughput")

    print("\n## Peers, 1 KiB (peer / fanseal: above 1 means fanseal is faster)\n")
    for g in ["peers_seal_1KiB", "peers_open_1KiB"]:
        params = sorted({v for (gg, ff, v) in d if gg == g and ff == "fanseal"}, key=_num)
        fns = sorted({ff for (gg, ff, v) in d if gg == g and ff != "fanseal"})
        print(f"\n{g}:\n")
        print("| N | fanseal | " + " | ".join(fns) + " |")
        print("|---|---:|" + "---:|" * len(fns))
        for v in params:
            base = get(g, "fanseal", v)
            cells = []
            for f in fns:
                t = get(g, f, v) or get(g, f, "any_N")
                cells.append(f"{fmt_time(t)} ({ratio(t, base)})" if t else "")
            print(f"| {v} | {fmt_time(base)} | " + " | ".join(cells) + " |")

    paired = os.path.join(ROOT, "paired")
    if os.path.isdir(paired):
        for name in sorted(os.listdir(paired)):
            print(f"\n## Interleaved A/B ({name})\n")
            with open(os.path.join(paired, name)) as f:
                print(f.read().rstrip())


def _num(v):
    try:
        return (0, float(v))
    except (TypeError, ValueError):
        return (1, str(v))


if __name__ == "__main__":
    main()
