#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Copyright (C) 2026 The rmm authors.
#
# Turns the samples bench/rmm_bench wrote in one guest boot into a report:
# a markdown file with every ratio and the goals' pass/fail, and PNG plots.
# The zswap workload's samples (bench/rmm_zswap_bench) are in a file of
# their own, in the same format: ZSWAP.json, by default zswap.json next to
# BENCH.json; the report says so if it is missing.
#
#   report.py BENCH.json OUTDIR [ZSWAP.json]

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
    "zpool alloc+free": "zsmalloc",
    "zpool map+copy+unmap": "zsmalloc",
    "memory": "zsmalloc",
    "migration": "zsmalloc",
    "munmap": "dmirror",
    "mprotect": "dmirror",
    "fault-in": "dmirror",
    "table migration": "copy_page floor",
    "young": "no mirror",
    "states": "spinlock",
    "cache": "MADV_FREE",
}


def stats(samples):
    a = np.asarray(samples, dtype=float)
    return float(np.median(a)), float(np.percentile(a, 99)), len(a)


def ratio_ci(a, b, n=2000, seed=1):
    """A bootstrap 95 % interval of median(a) / median(b): both sample sets
    resampled with replacement, n times. None without samples."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if not len(a) or not len(b):
        return None
    rng = np.random.default_rng(seed)
    ma = np.median(rng.choice(a, (n, len(a))), axis=1)
    mb = np.median(rng.choice(b, (n, len(b))), axis=1)
    r = ma / np.where(mb == 0, np.nan, mb)
    lo, hi = np.nanpercentile(r, [2.5, 97.5])
    return float(lo), float(hi)


def fmt_ci(ci):
    return "n/a" if ci is None else f"{ci[0]:.2f}-{ci[1]:.2f}"


# How the guest counted time (bench/env.json, written by guest.sh): QEMU
# TCG wall time, or instruction counts (-icount shift=0: one instruction is
# one nanosecond of guest time, the same from run to run).
CLOCK = {"mode": "tcg"}


def load_env(path):
    if os.path.exists(path):
        with open(path) as f:
            CLOCK.update(json.load(f))


def icount():
    return CLOCK.get("mode") == "icount"


def load(path):
    """Records by group, key and side: (unit, samples, why the side could not run it or None)."""
    with open(path) as f:
        data = json.load(f)
    groups = {}
    for r in data["records"]:
        g = groups.setdefault(r["group"], {})
        g.setdefault(r["key"], {})[r["side"]] = (r["unit"], r["samples"], r.get("na"))
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
    units = {u for by_side in keys.values() for u, _, _ in by_side.values()}
    unit = next(iter(units)) if len(units) == 1 else None
    head = ["case"]
    for s in sides:
        head += [f"{s} median", f"{s} p99"]
    head += [f"{s} / {base} (95 % interval)" for s in sides if s != base]
    lines = [f"| {' | '.join(head)} |", "|" + "---|" * len(head)]
    for key, by_side in keys.items():
        row = [key if unit else f"{key} ({next(iter(by_side.values()))[0]})"]
        med = {}
        for s in sides:
            if s in by_side and by_side[s][1]:
                m, p, _ = stats(by_side[s][1])
                med[s] = m
                row += [fmt(m), fmt(p)]
            elif s in by_side and by_side[s][2]:
                row += [f"n/a: {by_side[s][2]}", ""]
            else:
                row += ["", ""]
        for s in sides:
            if s != base:
                if s in med and med.get(base):
                    ci = ratio_ci(by_side[s][1], by_side[base][1])
                    row.append(f"{med[s] / med[base]:.2f} ({fmt_ci(ci)})")
                else:
                    row.append("")
        lines.append(f"| {' | '.join(row)} |")
    what = f"Unit: {unit_of(unit)}" if unit else "Units: per row"
    return f"{what}; runs alternate between the sides in one boot.\n\n" + "\n".join(lines)


def unit_of(unit):
    """The unit as measured: with instruction counts, a guest ns is one instruction."""
    if not icount():
        return unit
    note = " (QEMU -icount shift=0: 1 ns of guest time = 1 instruction)"
    if unit.startswith("ns"):
        return "instructions" + unit[2:] + note
    if unit.startswith("us"):
        return "thousands of instructions" + unit[2:] + note
    if unit == "pages/s":
        return "pages per 10^9 instructions" + note
    return unit


def med(groups, g, k, s):
    return stats(groups[g][k][s][1])[0]


def goals(groups):
    """The goals of issue 5, each with its measured value and verdict."""
    rows = []
    need = ["alloc+free", "memory", "migration", "munmap", "young"]
    if any(g not in groups for g in need):
        return [("issue 5 goals", "not all of their groups were run (-g): no verdicts", None)]

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
    core = ""
    if groups["young"]["page_idle pass"].get("empty notifier", (0, []))[1]:
        ye = med(groups, "young", "page_idle pass", "empty notifier")
        core = (f"; a notifier with no callbacks alone (the notifier core: SRCU, list walk): "
                f"{fmt(ye)} ns/page = {ye / y0:.3f}x, so rmirror's own part is {fmt(y - ye)} ns/page")
    rows.append(("page_idle pass with rmirror <= 1.05x with no mirror",
                 f"{fmt(y)} vs {fmt(y0)} ns/page: {y / y0:.3f}x{core}", y <= 1.05 * y0))

    if "fault-in" in groups:
        f = med(groups, "fault-in", "16 MiB read, pages/s", "rmirror")
        f0 = med(groups, "fault-in", "16 MiB read, pages/s", "dmirror")
        rows.append(("on-demand fault-in, rmirror vs test_hmm (same READ)",
                     f"{fmt(f)} vs {fmt(f0)} pages/s: {f / f0:.2f}x", None))
    tm = groups.get("table migration", {}).get("ns per migrated table page", {})
    if tm.get("rmirror") and tm["rmirror"][1] and tm.get("copy_page floor"):
        t = med(groups, "table migration", "ns per migrated table page", "rmirror")
        c = med(groups, "table migration", "ns per migrated table page", "copy_page floor")
        n = med(groups, "table migration", "table pages migrated", "rmirror")
        rows.append(("table page migration vs copy_page",
                     f"{fmt(t)} ns per table page = {t / c:.1f}x copy_page ({fmt(c)} ns); "
                     f"median {n:.0f} table pages migrated per run", None))
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


# The zpool drivers, through the callbacks zswap calls: each group, the bar
# rzpool / zsmalloc must stay under (the whole interval of the ratio of
# medians), per case, and the bar's name. Issue 19's bars: alloc+free at most
# 0.8x up to 2 KiB and for the mixed stream, 1.0x at 3 and 4 KiB;
# map+copy+unmap at most 0.9x, and 0.8x for the mixed stream.
ZPOOL_SIDES = ["zsmalloc", "zbud", "rzpool"]


class Bar:
    def __init__(self, rule, text):
        self.rule, self.text = rule, text

    def __call__(self, key):
        return self.rule(split_key(key)[0])


def alloc_free_bar(case):
    if case == "mixed":
        return 0.8
    return 0.8 if int(case.split()[0]) <= 2048 else 1.0


ZPOOL_GROUPS = [
    ("zpool alloc+free", Bar(alloc_free_bar, "0.8x up to 2 KiB and mixed, 1.0x at 3-4 KiB"),
     "alloc+free", "zpool_alloc_free.png"),
    ("zpool map+copy+unmap", Bar(lambda c: 0.8 if c == "mixed" else 0.9, "0.9x, mixed 0.8x"),
     "map+copy+unmap", "zpool_map_copy.png"),
]


def split_key(key):
    """'64 B, 2 threads' -> ('64 B', 2)."""
    case, threads = key.rsplit(", ", 1)
    return case, int(threads.split()[0])


def zpool_rows(groups, name, bar):
    """Per case of one zpool group: medians and p99 per driver (None: n/a),
    the ratios to zsmalloc and the verdicts (None where they do not apply)."""
    keys = groups[name]
    rows = []
    for key, by_side in keys.items():
        row = {"key": key, "side": {}, "na": {}}
        for s in ZPOOL_SIDES:
            unit, samples, na = by_side.get(s, (None, [], "not run"))
            if na or not samples:
                row["na"][s] = na or "no samples"
                row["side"][s] = None
            else:
                row["side"][s] = stats(samples)
        zs = row["side"]["zsmalloc"]
        for s in ("rzpool", "zbud"):
            v = row["side"][s]
            row[s] = v[0] / zs[0] if v and zs and zs[0] else None
        row["ci"] = ratio_ci(by_side.get("rzpool", (0, []))[1], by_side.get("zsmalloc", (0, []))[1]) \
            if row["rzpool"] is not None else None
        # PASS only when the whole interval is below the bar.
        row["bar"] = row["ci"] is not None and row["ci"][1] <= bar(key)
        rows.append(row)
    # A 2-thread case against the same case with 1 thread (not with
    # instruction counts: -icount runs the vCPUs one at a time).
    ratio1 = {split_key(r["key"])[0]: r["rzpool"] for r in rows if split_key(r["key"])[1] == 1}
    for r in rows:
        case, threads = split_key(r["key"])
        r["ratio1"] = ratio1.get(case) if threads > 1 else None
        if threads == 1 or case not in ratio1 or icount():
            # No bar, or nothing to compare with (-T 2).
            r["scale"] = None
        else:
            r["scale"] = r["rzpool"] is not None and r["ratio1"] is not None and r["rzpool"] <= r["ratio1"]
    return rows


def verdict(ok):
    return "" if ok is None else ("PASS" if ok else "FAIL")


def zpool_goals(groups):
    """The zpool bars, summed up over every case: rows for the goals table."""
    goals_rows = []
    scale = []
    for name, bar, label, _ in ZPOOL_GROUPS:
        if name not in groups:
            continue
        rows = zpool_rows(groups, name, bar)
        ratios = {r["key"]: r["rzpool"] for r in rows if r["rzpool"] is not None}
        npass = sum(r["bar"] for r in rows)
        text = f"{npass}/{len(rows)} cases pass"
        if ratios:
            worst = max(ratios, key=ratios.get)
            text += (f"; median ratio {np.median(list(ratios.values())):.2f}, "
                     f"worst {ratios[worst]:.2f} ({worst})")
        missing = len(rows) - len(ratios)
        if missing:
            text += f"; {missing} without both drivers' samples"
        goals_rows.append((f"zpool: rzpool {label} <= {bar.text} zsmalloc", text, npass == len(rows)))
        scale += [(name, r) for r in rows if r["scale"] is not None]
    if scale:
        # The failing cases, worst (2-thread ratio most above 1-thread's) first.
        bad = sorted(((n, r) for n, r in scale if not r["scale"]),
                     key=lambda nr: -((nr[1]["rzpool"] or np.inf) - (nr[1]["ratio1"] or 0)))
        text = f"{len(scale) - len(bad)}/{len(scale)} cases pass"
        if bad:
            text += "; worst: " + "; ".join(
                f"{label_of(n)} {r['key']}: {fmt_ratio(r['rzpool'], 3)} vs {fmt_ratio(r['ratio1'], 3)}"
                for n, r in bad[:3])
            if len(bad) > 3:
                text += f"; {len(bad) - 3} more"
        goals_rows.append(("zpool: rzpool/zsmalloc with 2 threads <= with 1 thread", text, not bad))
    return goals_rows


def volatile_goals(groups):
    """Issue 16's bars: the cache against MADV_FREE, the lock-free pair against a spinlock.

    A bar passes only when the whole 95 % interval of its ratio is on the
    right side of it.
    """
    rows = []
    cache = groups.get("cache", {})

    def ci(g, key, a, b):
        sides = groups[g].get(key, {})
        if not (sides.get(a, (0, []))[1] and sides.get(b, (0, []))[1]):
            return None
        return ratio_ci(sides[a][1], sides[b][1])

    if cache:
        dens, give = [], []
        for key in cache:
            size = key.split(":")[0]
            small = size.split()[0].isdigit() and int(size.split()[0]) <= 1024
            if key.endswith("memory per cached byte") and small:
                dens.append((size, ci("cache", key, "rzpool", "MADV_FREE")))
            if key.endswith("give back 1/4"):
                give.append((size, ci("cache", key, "rzpool", "MADV_FREE")))
        for label, bar, items in (
                ("cache: rzpool memory per cached byte <= 0.5x MADV_FREE's (objects <= 1 KiB)",
                 0.5, dens),
                ("cache: rzpool time to give back 1/4 <= MADV_FREE's", 1.0, give)):
            if not items or any(c is None for _, c in items):
                rows.append((label, "not measured on both sides", None))
                continue
            text = "; ".join(f"{size} {fmt_ci(c)}" for size, c in items)
            rows.append((label, text, all(c[1] <= bar for _, c in items)))
    states = groups.get("states", {})
    key = "volatile+stable pair, 1 thread"
    if key in states:
        c = ci("states", key, "rzpool", "spinlock")
        two = ci("states", "volatile+stable pair, 2 threads", "rzpool", "spinlock")
        if c is None:
            rows.append(("states: lock-free pair <= 0.7x the spinlocked one", "not measured", None))
        else:
            text = f"1 thread {fmt_ci(c)}" + (f"; 2 threads {fmt_ci(two)}" if two else "")
            rows.append(("states: lock-free pair <= 0.7x the spinlocked one (1 thread)", text,
                         c[1] <= 0.7))
    return rows


def label_of(name):
    return next(label for n, _, label, _ in ZPOOL_GROUPS if n == name)


def fmt_ratio(v, digits=2):
    return "n/a" if v is None else f"{v:.{digits}f}"


def zpool_table(groups, name, bar):
    rows = zpool_rows(groups, name, bar)
    unit = next(u for k in groups[name].values() for u, _, _ in k.values())
    head = ["case"]
    for s in ZPOOL_SIDES:
        head += [f"{s} median", f"{s} p99"]
    head += ["rzpool / zsmalloc", "95 % interval", "zbud / zsmalloc", "bar", "rzpool <= bar",
             "2 threads <= 1 thread", "result"]
    lines = [f"| {' | '.join(head)} |", "|" + "---|" * len(head)]
    notes = {}
    for r in rows:
        cells = [r["key"]]
        for s in ZPOOL_SIDES:
            v = r["side"][s]
            cells += [fmt(v[0]), fmt(v[1])] if v else ["n/a", "n/a"]
            if s in r["na"]:
                notes.setdefault((s, r["na"][s]), []).append(r["key"])
        scale = verdict(r["scale"])
        if r["scale"] is not None:
            scale += f" ({fmt_ratio(r['rzpool'], 3)} vs {fmt_ratio(r['ratio1'], 3)})"
        ok = r["bar"] and r["scale"] is not False
        cells += [fmt_ratio(r["rzpool"]), fmt_ci(r["ci"]), fmt_ratio(r["zbud"]),
                  f"{bar(r['key']):.1f}x", verdict(r["bar"]),
                  scale, verdict(ok)]
        lines.append(f"| {' | '.join(cells)} |")
    npass = sum(r["bar"] and r["scale"] is not False for r in rows)
    text = (f"Unit: {unit_of(unit)}. {npass}/{len(rows)} cases pass both bars "
            f"(rzpool <= {bar.text} zsmalloc, the whole bootstrap 95 % interval of the ratio of "
            "medians below the bar; with 2 threads, rzpool/zsmalloc no worse than with 1).\n\n")
    text += "\n".join(lines)
    for (s, why), keys in notes.items():
        where = "every case" if len(keys) == len(rows) else "; ".join(keys)
        text += f"\n\nn/a: {s} ({why}): {where}."
    return text


def zpool_bars(groups, name, bar, path):
    """Medians (whisker: p99) per driver and case; below, the ratios to zsmalloc and the bar."""
    rows = zpool_rows(groups, name, bar)
    x = np.arange(len(rows))
    width = 0.8 / len(ZPOOL_SIDES)
    fig, (ax, rax) = plt.subplots(2, 1, figsize=(12, 7), sharex=True,
                                  gridspec_kw={"height_ratios": [3, 2]})
    for i, s in enumerate(ZPOOL_SIDES):
        pos = x + (i - (len(ZPOOL_SIDES) - 1) / 2) * width
        m = np.array([r["side"][s][0] if r["side"][s] else np.nan for r in rows])
        p = np.array([r["side"][s][1] if r["side"][s] else np.nan for r in rows])
        ax.bar(pos, np.nan_to_num(m), width, label=s, color=f"C{i}",
               yerr=[np.zeros(len(m)), np.nan_to_num(p - m)], capsize=2)
        for j in np.flatnonzero(np.isnan(m)):
            ax.annotate("n/a", (pos[j], 0), xytext=(0, 3), textcoords="offset points",
                        ha="center", va="bottom", rotation=90, fontsize=8)
    ax.set_ylabel("ns per operation pair\n(median, whisker: p99)")
    ax.set_title(f"{name}: zpool drivers through zswap's calls, same in-kernel harness")
    ax.legend()
    for i, s in enumerate(("rzpool", "zbud")):
        ratio = [r[s] if r[s] is not None else np.nan for r in rows]
        rax.plot(x, ratio, "o-", color=f"C{ZPOOL_SIDES.index(s)}", label=f"{s} / zsmalloc")
    for i, r in enumerate(rows):
        rax.hlines(bar(r["key"]), i - 0.4, i + 0.4, color="red", linestyle="--", linewidth=1,
                   label="bar" if i == 0 else None)
    rax.axhline(1.0, color="gray", linewidth=0.8)
    rax.set_ylabel("median / zsmalloc's")
    rax.set_xticks(x, [r["key"] for r in rows], rotation=30, ha="right")
    rax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def zpool_section(groups, out):
    """The markdown of the zpool drivers' section, and its plots."""
    md = ["", "## zpool drivers: rzpool, zsmalloc and zbud as zswap calls them", "",
          "Each driver through its `struct zpool_driver` callbacks, as zswap reaches them "
          "through `zpool_*()`: zswap's gfp (`__GFP_NORETRY | __GFP_NOWARN | "
          "__GFP_KSWAPD_RECLAIM`, plus `__GFP_HIGHMEM | __GFP_MOVABLE` where the driver "
          "supports movable objects), a store as map (WO) + copy + unmap, a load as map (RO) "
          "+ copy + unmap. alloc+free: per batch, allocate then free every object (ns per "
          "pair). map+copy+unmap: objects allocated beforehand; per batch, store then load "
          "each (ns per store + load pair). The three drivers alternate run by run in one boot.",
          "",
          "zbud stores at most PAGE_SIZE - 2 * PAGE_SIZE / 64 bytes (3968 of 4096): bigger "
          "objects are n/a for it. The mixed stream here is therefore uniform over 32 .. 3968 "
          "bytes for all three drivers (the ops sections' goes up to 4096)."]
    for name, bar, label, png in ZPOOL_GROUPS:
        if name not in groups:
            continue
        zpool_bars(groups, name, bar, os.path.join(out, png))
        md += ["", f"### {label}", "", zpool_table(groups, name, bar), "", f"![{name}]({png})"]
    return md


# The zswap workload (bench/rmm_zswap_bench): zswap's pool drivers under a
# memory cgroup's reclaim, one sample per round. Its bars: rzpool / zsmalloc
# (medians) at most this, per key.
ZSWAP_GROUP = "zswap workload"
ZSWAP_SIDES = ["zsmalloc", "zbud", "rzpool"]
ZSWAP_BARS = [
    ("wall time", 1.0, "wall time"),
    ("pool bytes per stored page", 1.0, "pool bytes per stored page"),
]


def load_zswap(path):
    """(header, records by key and side as load() gives them, or None; why not, or None)."""
    if not os.path.exists(path):
        return None, None, f"no {os.path.basename(path)}: bench/rmm_zswap_bench did not run"
    try:
        with open(path) as f:
            data = json.load(f)
        keys = {}
        for r in data["records"]:
            if r["group"] == ZSWAP_GROUP:
                keys.setdefault(r["key"], {})[r["side"]] = (r["unit"], r["samples"], r.get("na"))
    except (OSError, ValueError, KeyError, TypeError) as e:
        return None, None, f"{os.path.basename(path)} unreadable: {e}"
    if not keys:
        return data, None, f"{os.path.basename(path)} has no \"{ZSWAP_GROUP}\" records"
    return data, keys, None


def zswap_sides(keys):
    sides = [s for s in ZSWAP_SIDES if any(s in k for k in keys.values())]
    return sides + sorted({s for k in keys.values() for s in k} - set(sides))


def zswap_median(keys, key, side):
    """The median of one key and driver, or None (not run, n/a, no samples)."""
    _, samples, na = keys.get(key, {}).get(side, (None, [], "not run"))
    return None if na or not samples else float(np.median(samples))


def zswap_ratio(keys, key, side, base="zsmalloc"):
    v, b = zswap_median(keys, key, side), zswap_median(keys, key, base)
    return v / b if v is not None and b else None


def zswap_rounds_why(meta):
    """Why the zswap workload ran as many rounds as it did (rmm_zswap_bench -w)."""
    if "target_width" not in meta:
        return ""
    w, t = meta["width"], meta["target_width"]
    if w <= t:
        return (f" (run until the widest 95 % interval of a wall time ratio to zsmalloc was "
                f"{t:.1f} points or narrower: {w:.1f})")
    return (f" (to be run until the widest 95 % interval of a wall time ratio to zsmalloc was "
            f"{t:.1f} points or narrower, but stopped at the limit of {meta['max_rounds']} rounds "
            f"with {w:.1f})")


def zswap_goals(meta, keys, why):
    """The zswap workload's bars for the goals table; ok None: no verdict."""
    if keys is None:
        return [(f"zswap workload: rzpool {label} <= {bar:.2f}x zsmalloc", why, None)
                for _, bar, label in ZSWAP_BARS]
    rows = []
    for key, bar, label in ZSWAP_BARS:
        r, z = zswap_median(keys, key, "rzpool"), zswap_median(keys, key, "zsmalloc")
        unit = next(iter(keys.get(key, {"": ("",)}).values()))[0]
        if r is None or z is None:
            rows.append((f"zswap workload: rzpool {label} <= {bar:.2f}x zsmalloc",
                         "n/a: " + ("no rzpool samples" if r is None else "no zsmalloc samples"), False))
            continue
        # PASS only when the whole bootstrap interval of the ratio of medians
        # is below the bar; its width says whether the rounds were enough.
        ci = ratio_ci(keys[key]["rzpool"][1], keys[key]["zsmalloc"][1])
        interval = (f" (95 % interval {ci[0]:.3f}-{ci[1]:.3f}, width {100 * (ci[1] - ci[0]):.1f} %)"
                    if ci else " (no interval)")
        rows.append((f"zswap workload: rzpool {label} <= {bar:.2f}x zsmalloc",
                     f"rzpool {fmt(r)} {unit} vs zsmalloc {fmt(z)} {unit} (medians): {r / z:.3f}x"
                     + interval,
                     ci is not None and ci[1] <= bar))
    corrupt = {}
    for s in zswap_sides(keys):
        _, samples, na = keys.get("corrupt pages", {}).get(s, (None, [], "not run"))
        corrupt[s] = None if na or not samples else int(sum(samples))
    errors = meta.get("errors", []) if meta else []
    text = "corrupt pages: " + "; ".join(f"{s}: {'n/a' if n is None else n}" for s, n in corrupt.items())
    if errors:
        text += f"; {len(errors)} error{'s' if len(errors) > 1 else ''} (see the zswap section)"
    rows.append(("zswap workload: every page read back intact", text,
                 not errors and not any(corrupt.values())))
    return rows


def zswap_table(keys):
    """Every key: per driver median and min/max (few rounds) or p99, ratios to zsmalloc."""
    sides = zswap_sides(keys)
    n = max((len(v[1]) for k in keys.values() for v in k.values()), default=0)
    spread = ["min", "max"] if n < 10 else ["p99"]
    head = ["metric", "unit"]
    for s in sides:
        head += [f"{s} median"] + [f"{s} {c}" for c in spread]
    head += [f"{s} / zsmalloc" for s in sides if s != "zsmalloc"]
    lines = [f"| {' | '.join(head)} |", "|" + "---|" * len(head)]
    notes = {}
    for key, by_side in keys.items():
        unit = next(iter(by_side.values()))[0]
        row = [key, unit]
        for s in sides:
            _, samples, na = by_side.get(s, (unit, [], "not run"))
            if na or not samples:
                row += ["n/a"] * (1 + len(spread))
                notes.setdefault((s, na or "no samples"), []).append(key)
                continue
            a = np.asarray(samples, dtype=float)
            row.append(fmt(float(np.median(a))))
            row += [fmt(float(a.min())), fmt(float(a.max()))] if n < 10 else [fmt(float(np.percentile(a, 99)))]
        for s in sides:
            if s != "zsmalloc":
                row.append(fmt_ratio(zswap_ratio(keys, key, s), 3))
        lines.append(f"| {' | '.join(row)} |")
    text = "\n".join(lines)
    for (s, why), ks in notes.items():
        where = "every metric" if len(ks) == len(keys) else "; ".join(ks)
        text += f"\n\nn/a: {s} ({why}): {where}."
    return text


def zswap_plot(keys, path):
    """Wall time and pool bytes per stored page per driver: medians, min-max, every round."""
    sides = zswap_sides(keys)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, (key, bar, label) in zip(axes, ZSWAP_BARS):
        by_side = keys.get(key, {})
        unit = next(iter(by_side.values()))[0] if by_side else ""
        for i, s in enumerate(sides):
            _, samples, na = by_side.get(s, (unit, [], "not run"))
            if na or not samples:
                ax.annotate("n/a", (i, 0), xytext=(0, 3), textcoords="offset points", ha="center")
                continue
            a = np.asarray(samples, dtype=float)
            m = float(np.median(a))
            ax.bar(i, m, 0.6, color=f"C{ZSWAP_SIDES.index(s) if s in ZSWAP_SIDES else i}",
                   yerr=[[m - a.min()], [a.max() - m]], capsize=4, alpha=0.8)
            ax.plot(np.full(len(a), i) + np.linspace(-0.15, 0.15, len(a)), a, "k.", markersize=4)
        z = zswap_median(keys, key, "zsmalloc")
        if z is not None:
            ax.axhline(z * bar, color="red", linestyle="--", linewidth=1,
                       label=f"bar: rzpool <= {bar:.2f}x zsmalloc")
        if key == "pool bytes per stored page":
            c = [zswap_median(keys, "compressed bytes per stored page", s) for s in sides]
            c = [v for v in c if v is not None]
            if c:
                ax.axhline(float(np.median(c)), color="gray", linewidth=1,
                           label="compressed data per page (no pool overhead)")
        ax.set_xticks(range(len(sides)), sides)
        ax.set_ylabel(unit)
        ax.set_title(label)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("zswap workload, per driver: median (bar), min and max (whiskers), each round (dots)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def zswap_section(meta, keys, why, out):
    md = ["", "## zswap workload: zsmalloc, zbud and rzpool as zswap's pool", ""]
    if keys is None:
        return md + [f"Not in this report: {why}."]
    mib, rounds, passes = meta.get("mib", "?"), meta.get("rounds", "?"), meta.get("passes", "?")
    md += [
        f"bench/rmm_zswap_bench: a process in a memory cgroup (cgroup v2, `memory.max` = {mib} MiB) "
        f"writes {meta.get('pages', '?')} pages (twice `memory.max`), each a header with its index, "
        "896 .. 1408 pseudo-random bytes seeded by the index and a repeating pattern, then reads "
        f"every page back and checks it, {passes} times. Reclaim puts half of the pages or more "
        f"in zswap (compressor {meta.get('compressor', '?')}), whose pool driver is switched "
        f"(`zswap.zpool`) before each round; the drivers alternate round by round in one boot, "
        f"{rounds} rounds each{zswap_rounds_why(meta)}. `compact_memory` runs once per round, "
        "between the write pass and the read passes. One sample per round; with few rounds the "
        "table gives min and max, not p99.",
        "",
        "- *wall time*: write pass + read passes (without `compact_memory`, timed on its own).",
        "- *pool total size*, *stored pages*: zswap's debugfs after the write pass (zswap's peak); "
        "a round starts only once the pools of the one before are empty (`stored_pages` 0), "
        "anything left is subtracted. *pool bytes per stored page* is their quotient; "
        "*compressed bytes per stored page* is the data's own size (the cgroup's `zswap` / "
        "`zswapped` in `memory.stat`): the difference is the pool's overhead.",
        "- *zswap stores*, *zswap loads*: the cgroup's `zswpout`, `zswpin` (the work each round did).",
        "- *written back pages*, *reject_\\**, *pool_limit_hit*: deltas of zswap's debugfs counters "
        "over the round (global counters).",
        "- *pages migrated (pool)*: rzpool only, the `migrate` delta of the pool zswap used "
        "(`rzpool/zpool-<id>/stats`); zsmalloc and zbud keep no such counter. *pages migrated "
        "(system-wide pgmigrate_success)*: every page compaction moved in the round, the "
        "workload's own LRU pages included, for all three alike (zbud's pages cannot move).",
        "- *corrupt pages*: pages read back wrong; anything but 0 fails the run.",
    ]
    errors = meta.get("errors", [])
    if errors:
        md += ["", f"**Errors in this run ({len(errors)}):**", ""] + [f"- {e}" for e in errors]
    png = "zswap.png"
    zswap_plot(keys, os.path.join(out, png))
    md += ["", zswap_table(keys), "", f"![zswap workload]({png})"]
    return md


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: report.py BENCH.json OUTDIR [ZSWAP.json]")
    data, groups = load(sys.argv[1])
    load_env(os.path.join(os.path.dirname(sys.argv[1]), "env.json"))
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)
    # A report of fewer groups than the last must not keep the last one's
    # figures beside it.
    for f in os.listdir(out):
        if f.endswith(".png") or f == "README.md":
            os.remove(os.path.join(out, f))
    zpath = sys.argv[3] if len(sys.argv) == 4 else os.path.join(os.path.dirname(sys.argv[1]), "zswap.json")
    zmeta, zkeys, zwhy = load_zswap(zpath)

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

    g = goals(groups) + zpool_goals(groups) + zswap_goals(zmeta, zkeys, zwhy) + volatile_goals(groups)
    if icount():
        clock = ("**Instruction counts** (QEMU `-icount shift=0,align=off,sleep=off`): guest time "
                 "advances one nanosecond per executed instruction, so every \"ns\" below is an "
                 "instruction, the same from run to run. The vCPUs run one at a time: two-thread "
                 "rows measure nothing here (take them from a TCG wall-time report).")
    else:
        clock = (f"**{CLOCK['mode'].upper()} wall time**: under TCG, absolute times are those of an "
                 "emulated CPU, which weights string instructions, atomics and cache misses unlike "
                 "hardware: compare ratios, not nanoseconds.")
    guest = CLOCK.get("cpu", "unknown CPU")
    flags = ", ".join(f"{f} {'yes' if on else 'no'}" for f, on in CLOCK.get("flags", {}).items())
    md = ["# rmm benchmark report", "",
          f"One guest boot, {data['runs']} runs per side, "
          "sides alternating run by run (A B A B ...). Medians and p99 over all samples; "
          "ratios are medians over the baseline's median, with bootstrap 95 % intervals "
          "(both sides' samples resampled 2,000 times).", "",
          clock, "",
          f"Guest CPU: {guest}" + (f" ({flags})" if flags else "") +
          f"; clocksource {CLOCK.get('clocksource', 'unknown')}.", "",
          "## Goals", "", "| goal | measured | result |", "|---|---|---|"]
    for name, val, ok in g:
        md.append(f"| {name} | {val} | {verdict(ok) or 'n/a'} |")
    sections = [
        ("alloc+free", "rzpool vs zsmalloc: alloc+free (ns per pair), in-kernel", "alloc_free.png"),
        ("write+read", "rzpool vs zsmalloc: write+read of whole objects (ns per pair)", "write_read.png"),
        ("zpool", None, None),
        ("zswap", None, None),
        ("memory", "Memory efficiency: pool bytes per stored byte (mixed stream)", None),
        ("migration", "Migration during compact_memory of a 256 MiB pool", "migration.png"),
        ("munmap", "munmap latency of populated ranges", "munmap.png"),
        ("mprotect", "mprotect(PROT_READ) latency of populated ranges", "mprotect.png"),
        ("fault-in", "Mirror fault-in throughput: HMM_DMIRROR_READ of a fresh 16 MiB range, "
         "faulting every page in on demand (test_hmm vs rmirror's test_hmm interface)", None),
        ("table migration", "The mirror's table pages migrating (compaction and offlining "
         "of a 256 MiB mirror): the driver's time per table page vs copy_page", None),
        ("young", "Young harvesting: one page_idle pass (mark idle + read) per page", None),
        ("states", "Object states: a make_volatile + make_stable pair, rzpool's lock-free "
         "transitions (C API) against the same state machine under a spinlock, in-kernel", None),
        ("cache", "A purgeable cache: rzpool volatile objects against MADV_FREE (one object "
         "per page), 1/10 hot and pinned, 9/10 cold and unpinned; a quarter of the cached "
         "bytes given back under root memory.reclaim (bench/rmm_bench_cache.c). The hit rate "
         "is at equal bytes given back: a denser cache loses more objects per MiB", None),
    ]
    for name, title, png in sections:
        if name == "zpool":
            if any(n in groups for n, _, _, _ in ZPOOL_GROUPS):
                md += zpool_section(groups, out)
            continue
        if name == "zswap":
            md += zswap_section(zmeta, zkeys, zwhy, out)
            continue
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
    args_path = os.path.join(os.path.dirname(sys.argv[1]), "profile-args")
    args = "-g ops -O alloc+free -S 3264 -T 1"
    if os.path.exists(args_path):
        with open(args_path) as f:
            args = f.read().strip() or args
    if profiles:
        unit = ("executed instructions (-icount: perf's cpu-clock samples every 100,000)"
                if icount() else "TCG time")
        md += ["", f"## Profile: rmm_bench {args}", "",
               "`perf record` of the benchmark task for this one case per pool: kernel "
               f"self share of {unit} by symbol (>= 0.7%), Rust symbols v0-mangled:"]
        for pool, text in profiles:
            md += ["", f"### {pool}", "", "```", text, "```"]
    # Cost classes of the QEMU plugin (bench/profile.py), if it ran.
    prof = os.path.join(os.path.dirname(sys.argv[1]), "profile.md")
    if os.path.exists(prof):
        with open(prof) as f:
            md += ["", f.read().rstrip()]
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write("\n".join(md) + "\n")

    print(f"report: {os.path.join(out, 'README.md')}")
    for name, val, ok in g:
        print(f"  {verdict(ok) or 'n/a ':4}  {name}: {val}")


if __name__ == "__main__":
    main()
