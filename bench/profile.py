#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Copyright (C) 2026 The rmm authors.
#
# Cost classes per operation from the QEMU plugin bench/qemu/rmm_prof.c
# (make bench ICOUNT=1 PLUGIN=1): for each profiled run that rmm_bench -Q
# listed in DIR/prof-index, the plugin's counts in DIR/prof.N, by
# translation block, added up per run and per kernel symbol
# (DIR/kallsyms). Prints markdown, which bench/report.py includes.
#
#   bench/profile.py DIR > DIR/profile.md

import bisect
import os
import shutil
import subprocess
import sys
from collections import defaultdict

CLASSES = ("insns", "locks", "calls", "reps", "mems")
HEADS = {
    "insns": "instructions",
    "locks": "LOCK'd",
    "calls": "calls",
    "reps": "rep iterations",
    "mems": "memory accesses",
}
TOP = 12
# The side each test's ratios are to (the kernel's own C, or no mirror).
BASE = {"fault-in": "dmirror", "young": "no mirror"}


def load_symbols(path):
    addrs, names = [], []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3 or parts[1] not in "tTwW":
                continue
            name = parts[2] + (f" {parts[3]}" if len(parts) > 3 else "")
            addrs.append(int(parts[0], 16))
            names.append(name)
    order = sorted(range(len(addrs)), key=addrs.__getitem__)
    return [addrs[i] for i in order], [names[i] for i in order]


def demangle(names):
    tool = shutil.which("llvm-cxxfilt-19") or shutil.which("llvm-cxxfilt")
    if not tool or not names:
        return {n: n for n in names}
    bare = [n.split(" ")[0] for n in names]
    out = subprocess.run([tool], input="\n".join(bare), capture_output=True, text=True).stdout
    return {n: d + n[len(b):] for n, b, d in zip(names, bare, out.splitlines())}


def load_run(path, addrs, names):
    """Totals and per-symbol instructions of one plugin dump."""
    total = dict.fromkeys(CLASSES, 0)
    by_sym = defaultdict(lambda: dict.fromkeys(CLASSES, 0))
    with open(path) as f:
        for line in f:
            pc, execs, insns, locks, calls, reps, mems = line.split()
            pc, execs = int(pc, 16), int(execs)
            counts = {"insns": execs * int(insns), "locks": execs * int(locks),
                      "calls": execs * int(calls), "reps": execs * int(reps), "mems": int(mems)}
            i = bisect.bisect_right(addrs, pc) - 1
            sym = names[i] if i >= 0 else f"{pc:x}"
            for k in CLASSES:
                total[k] += counts[k]
                by_sym[sym][k] += counts[k]
    return total, by_sym


def main():
    d = sys.argv[1]
    addrs, names = load_symbols(os.path.join(d, "kallsyms"))
    runs = []
    with open(os.path.join(d, "prof-index")) as f:
        for line in f:
            seq, test, case, driver, ops = line.rstrip("\n").split("\t")
            path = os.path.join(d, f"prof.{seq}")
            if not os.path.exists(path):
                continue
            total, by_sym = load_run(path, addrs, names)
            runs.append((test, case, driver, int(ops), total, by_sym))
    pretty = demangle(sorted({s for r in runs for s in r[5]}))

    print("## Cost classes per operation (QEMU plugin)")
    print()
    print("Counted by the TCG plugin `bench/qemu/rmm_prof.c` between two markers: every "
          "kernel instruction executed, and of them the LOCK-prefixed ones, calls, "
          "iterations of `rep` string instructions, and memory accesses. zpool cases: one "
          "more run per driver after the timed runs, around the batches (per operation "
          "pair: alloc+free, or store+load). fault-in and young: the first timed run of each "
          "side, around its ioctl or page_idle pass (per page; the markers' own system calls "
          "are in, a few hundred instructions per run). Counts, not samples: they include "
          "the harness and any timer interrupt, alike for every side.")
    tests = []
    for r in runs:
        if r[0] not in tests:
            tests.append(r[0])
    for test in tests:
        print()
        print(f"### {test}")
        print()
        side0 = BASE.get(test, "zsmalloc")
        print("| case | side | " + " | ".join(HEADS[k] + "/op" for k in CLASSES)
              + f" | instructions vs {side0} |")
        print("|---|---|" + "---|" * (len(CLASSES) + 1))
        base = {}
        for t, case, driver, ops, total, _ in runs:
            if t == test and driver == side0:
                base[case] = total["insns"] / ops
        for t, case, driver, ops, total, _ in runs:
            if t != test:
                continue
            per = {k: total[k] / ops for k in CLASSES}
            ratio = f"{per['insns'] / base[case]:.2f}" if case in base else "n/a"
            print(f"| {case} | {driver} | " + " | ".join(f"{per[k]:.1f}" for k in CLASSES)
                  + f" | {ratio} |")
        for t, case, driver, ops, total, by_sym in runs:
            if t != test or driver == "zbud":
                continue
            top = sorted(by_sym.items(), key=lambda kv: -kv[1]["insns"])[:TOP]
            print()
            print(f"<details><summary>{test}, {case}, {driver}: the {TOP} symbols with the most "
                  "instructions per op</summary>")
            print()
            print("| symbol | " + " | ".join(HEADS[k] + "/op" for k in CLASSES) + " |")
            print("|---|" + "---|" * len(CLASSES))
            for sym, c in top:
                name = pretty.get(sym, sym).replace("|", "\\|")
                print(f"| `{name}` | " + " | ".join(f"{c[k] / ops:.1f}" for k in CLASSES) + " |")
            print()
            print("</details>")


if __name__ == "__main__":
    main()
