#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Copyright (C) 2026 The rmm authors.
#
# Turns the samples bench/rmm_bench wrote in one guest boot into a report:
# a markdown file with every ratio and the goals' pass/fail, and PNG plots.
#
#   report.py BENCH.json OUTDIR

import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

# For each group: the side everything is compared with.
BASELINE = {
    "alloc+free": "zsmalloc",
    "write+read": "zsmalloc",
    "memory": "zsmalloc",
    "migration": "zsmalloc",
    "munmap": "dmirror",
    "mprotect": "dmirror",
    "fault-in": "dmirror",
    "young": "no mirror",
}


def stats(samples):
    a = np.asarray(samples, dtype=float)
    return float(np.median(a)), float(np.percentile(a, 99)), len(a)


def load(path):
    with open(path) as f:
        data = json.load(f)
    groups = {}
    for r in data["records"]:
        g = groups.setdefault(r["group"], {})
        g.setdefault(r["key"], {})[r["side"]] = (r["unit"], r["samples"])
    return data, groups


def fmt(v):
    if v >= 10000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.3f}"


def table(name, keys):
    """A markdown table of one group: every side's median and p99, ratios to the baseline."""
    base = BASELINE[name]
    sides = []
    for k in keys.values():
        for s in k:
            if s not in sides:
                sides.append(s)
    sides.sort(key=lambda s: (s != base, s))
    unit = next(iter(next(iter(keys.values())).values()))[0]
    head = ["case"]
    for s in sides:
        head += [f"{s} median", f"{s} p99"]
    head += [f"{s} / {base}" for s in sides if s != base]
    lines = [f"| {' | '.join(head)} |", "|" + "---|" * len(head)]
    for key, by_side in keys.items():
        row = [key]
        med = {}
        for s in sides:
            if s in by_side:
                m, p, _ = stats(by_side[s][1])
                med[s] = m
                row += [fmt(m), fmt(p)]
            else:
                row += ["", ""]
        for s in sides:
            if s != base:
                row.append(f"{med[s] / med[base]:.2f}" if s in med and med.get(base) else "")
        lines.append(f"| {' | '.join(row)} |")
    return f"Unit: {unit}; runs alternate between the sides in one boot.\n\n" + "\n".join(lines)


def med(groups, g, k, s):
    return stats(groups[g][k][s][1])[0]


def goals(groups):
    """The goals of issue 5, each with its measured value and verdict."""
    rows = []
    need = ["alloc+free", "memory", "migration", "munmap", "young"]
    if any(g not in groups for g in need):
        return [("goals", "not all groups were run (-g): no verdicts", False)]

    ratios = {k: med(groups, "alloc+free", k, "rzpool") / med(groups, "alloc+free", k, "zsmalloc")
              for k in groups["alloc+free"]}
    worst = max(ratios, key=ratios.get)
    ok = all(r <= 0.9 for r in ratios.values())
    rows.append(("rzpool alloc+free <= 0.9x zsmalloc",
                 f"{sum(r <= 0.9 for r in ratios.values())}/{len(ratios)} cases pass; "
                 f"median ratio {np.median(list(ratios.values())):.2f}, worst {ratios[worst]:.2f} ({worst})",
                 ok))

    mem = {k: (med(groups, "memory", k, "rzpool"), med(groups, "memory", k, "zsmalloc"))
           for k in groups["memory"]}
    ok = all(r <= z for r, z in mem.values())
    rows.append(("memory overhead <= zsmalloc's",
                 "; ".join(f"{k}: {r:.3f} vs {z:.3f}" for k, (r, z) in mem.items()), ok))

    mig = med(groups, "migration", "ns per migrated page", "rzpool")
    zmig = med(groups, "migration", "ns per migrated page", "zsmalloc")
    floor = med(groups, "migration", "ns per migrated page", "copy_page floor")
    rows.append(("migrate <= 2x the 4 KiB copy per page",
                 f"rzpool {fmt(mig)} ns/page = {mig / floor:.1f}x copy_page ({fmt(floor)} ns); "
                 f"zsmalloc {fmt(zmig)} ns/page = {zmig / floor:.1f}x", mig <= 2 * floor))

    over = {}
    for k in groups["munmap"]:
        none = med(groups, "munmap", k, "no mirror")
        over[k] = (med(groups, "munmap", k, "rmirror") - none, med(groups, "munmap", k, "dmirror") - none)
    ok = all(r <= d for r, d in over.values())
    rows.append(("rmirror munmap overhead <= dmirror's",
                 "; ".join(f"{k}: {r:+.1f} vs {d:+.1f} us" for k, (r, d) in over.items()), ok))

    y = med(groups, "young", "page_idle pass", "rmirror")
    y0 = med(groups, "young", "page_idle pass", "no mirror")
    rows.append(("young harvesting <= 30 ns/page",
                 f"{fmt(y)} ns/page with rmirror ({fmt(y - y0)} ns/page more than with no mirror)",
                 y <= 30))
    return rows


def bars(groups, name, path):
    keys = list(groups[name])
    sides = ["zsmalloc", "rzpool"]
    x = np.arange(len(keys))
    fig, ax = plt.subplots(figsize=(11, 4.5))
    for i, s in enumerate(sides):
        m = [stats(groups[name][k][s][1])[0] for k in keys]
        p = [stats(groups[name][k][s][1])[1] for k in keys]
        ax.bar(x + (i - 0.5) * 0.38, m, 0.38, label=s,
               yerr=[np.zeros(len(m)), np.array(p) - np.array(m)], capsize=3)
    ax.set_xticks(x, keys, rotation=30, ha="right")
    ax.set_ylabel("ns per operation pair (median, whisker: p99)")
    ax.set_title(f"{name}: rzpool vs zsmalloc, same in-kernel harness")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def boxes(groups, name, sides, path, ylabel, log=False):
    keys = list(groups[name])
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / len(sides)
    for i, s in enumerate(sides):
        data = [groups[name][k][s][1] for k in keys if s in groups[name][k]]
        pos = [j + (i - (len(sides) - 1) / 2) * width for j, k in enumerate(keys) if s in groups[name][k]]
        bp = ax.boxplot(data, positions=pos, widths=width * 0.9, patch_artist=True, showfliers=True,
                        medianprops={"color": "black"})
        color = f"C{i}"
        for patch in bp["boxes"]:
            patch.set_facecolor(color)
            patch.set_alpha(0.6)
        ax.plot([], [], color=color, linewidth=8, alpha=0.6, label=s)
    ax.set_xticks(range(len(keys)), keys)
    if log:
        ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{name}: distribution over runs")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: report.py BENCH.json OUTDIR")
    data, groups = load(sys.argv[1])
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)

    if "alloc+free" in groups:
        bars(groups, "alloc+free", os.path.join(out, "alloc_free.png"))
        bars(groups, "write+read", os.path.join(out, "write_read.png"))
    for op in ("munmap", "mprotect"):
        if op in groups:
            boxes(groups, op, ["no mirror", "dmirror", "rmirror"], os.path.join(out, f"{op}.png"),
                  f"{op} latency, us (log)", log=True)
    if "migration" in groups:
        mig = {"ns per migrated page": groups["migration"]["ns per migrated page"]}
        boxes({"migration": mig}, "migration", ["copy_page floor", "zsmalloc", "rzpool"],
              os.path.join(out, "migration.png"), "ns per migrated page during compact_memory")

    g = goals(groups)
    md = ["# rmm benchmark report", "",
          f"One guest boot (QEMU TCG unless KVM worked), {data['runs']} runs per side, "
          "sides alternating run by run (A B A B ...). Medians and p99 over all samples; "
          "ratios are medians over the baseline's median. Under TCG, absolute times are "
          "those of an emulated CPU: compare ratios, not nanoseconds.", "",
          "## Goals", "", "| goal | measured | result |", "|---|---|---|"]
    for name, val, ok in g:
        md.append(f"| {name} | {val} | {'PASS' if ok else 'FAIL'} |")
    sections = [
        ("alloc+free", "rzpool vs zsmalloc: alloc+free (ns per pair), in-kernel", "alloc_free.png"),
        ("write+read", "rzpool vs zsmalloc: write+read of whole objects (ns per pair)", "write_read.png"),
        ("memory", "Memory efficiency: pool bytes per stored byte (mixed stream)", None),
        ("migration", "Migration during compact_memory of a 256 MiB pool", "migration.png"),
        ("munmap", "munmap latency of populated ranges", "munmap.png"),
        ("mprotect", "mprotect(PROT_READ) latency of populated ranges", "mprotect.png"),
        ("fault-in", "Mirror fault-in throughput: a device read that faults every page in", None),
        ("young", "Young harvesting: one page_idle pass (mark idle + read) per page", None),
    ]
    for name, title, png in sections:
        if name not in groups:
            continue
        md += ["", f"## {title}", "", table(name, groups[name])]
        if png:
            md += ["", f"![{name}]({png})"]
    profiles = []
    for pool in ("zsmalloc", "rzpool"):
        path = os.path.join(os.path.dirname(sys.argv[1]), f"profile-{pool}.txt")
        if os.path.exists(path):
            with open(path) as f:
                profiles.append((pool, f.read().rstrip()))
    if profiles:
        md += ["", "## Profile: alloc+free, 3264 bytes, 1 thread", "",
               "`perf record` of the benchmark task for this one case per pool: kernel "
               "self time by symbol (>= 0.7%), Rust symbols v0-mangled:"]
        for pool, text in profiles:
            md += ["", f"### {pool}", "", "```", text, "```"]
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write("\n".join(md) + "\n")

    print(f"report: {os.path.join(out, 'README.md')}")
    for name, val, ok in g:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}: {val}")


if __name__ == "__main__":
    main()
