# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# What every mode of scripts/guest.sh shares: the TAP lines and counts, the
# modules' load and unload, the dmesg and kmemleak checks, the kernel tree's
# modules, and the zswap and cgroup set-up. Sourced by guest.sh, which sets
# TOP, OUT, MODULES and the counts first.

# The kernel's KTAP helpers and kselftest runner, which make selftests
# copies from the kernel source (selftests/Makefile): our checks' lines come
# from ktap_helpers.sh, the kselftest binaries run under runner.sh's run_one.
# shellcheck source=/dev/null
. "$TOP/selftests/kselftest/ktap_helpers.sh"
BASE_DIR=$TOP/selftests
# shellcheck source=/dev/null
. "$BASE_DIR/kselftest/runner.sh"

# A top-level KTAP line, not counted in the case counts: ok, skip or fail.
# ktap_helpers.sh puts no reason on the line: a skip's or a failure's
# reason is the diagnostic line just above it.
tap() {
	local ok=$1 name=$2 why=${3:-}
	case $ok in
	ok) ktap_test_pass "$name" ;;
	skip) ktap_print_msg "SKIP $name: $why"; ktap_test_skip "$name" ;;
	*) [ -z "$why" ] || ktap_print_msg "FAIL $name: $why"; ktap_test_fail "$name" ;;
	esac
}

# The plan, at the end (TAP allows it there), and the top-level totals.
tap_end() {
	ktap_set_plan $((KTAP_TESTNO - 1))
	ktap_print_totals
}

# One check of ours: a TAP line, counted.
result() {
	case $1 in
	ok) pass=$((pass + 1)) ;;
	skip) skip=$((skip + 1)) ;;
	*) fail=$((fail + 1)) ;;
	esac
	tap "$@"
}

# Loads $MODULES in order, each with the parameters MODULE_ARGS gives it
# (MODULE_ARGS[rmirror]="hmm_names=0": words as insmod takes them).
declare -A MODULE_ARGS=()
load_modules() {
	local m err args
	for m in $MODULES; do
		read -ra args <<<"${MODULE_ARGS[$m]:-}"
		if err=$(insmod "$TOP/$m.ko" "${args[@]}" 2>&1); then
			result ok "insmod $m${args[*]:+ ${args[*]}}"
		else
			result fail "insmod $m${args[*]:+ ${args[*]}}" "$err"
		fi
	done
}

# In reverse order of loading: a module may use the symbols of an earlier one.
unload_modules() {
	local m err
	for m in $(echo "$MODULES" | tr ' ' '\n' | tac); do
		grep -q "^$m " /proc/modules || continue
		if err=$(rmmod "$m" 2>&1); then
			result ok "rmmod $m"
		else
			result fail "rmmod $m" "$err"
		fi
	done
}

# Any kernel report (scripts/kernel-reports.sh) fails the run. An OOM kill that a test causes on purpose prints
# a stack dump ("Call Trace:"): the tests put "rmm: oom test begin/end"
# markers around it, and stack dumps between them are not splats (a WARN or
# BUG there still is); so do tests whose steps dump the stack on purpose
# ("rmm: expected stack dumps begin/end": a misc device name taken twice),
# and between those markers rmm's own reports of a driver bug ("rmm: BUG:")
# that a test provokes are not splats either.
# shellcheck source=SCRIPTDIR/../kernel-reports.sh
. "$TOP/scripts/kernel-reports.sh"

# Splats in dmesg from line $1 on (the OOM test's own report excepted).
# virtme-ng's init writes its own complaints to the kernel log ("virtme-ng-init:
# WARNING: failed to run: ip", on a host without iproute2): user space, not
# kernel reports.
dmesg_splats() {
	dmesg | tail -n +"$1" | awk '/rmm: (oom test|expected stack dumps) begin/ { oom = 1 }
		/rmm: (oom test|expected stack dumps) end/ { oom = 0 }
		/\] virtme-ng-init: / { next }
		!(oom && /Call Trace:|rmm: BUG:/)' | grep -E "$SPLAT_RE" | head -n 5
}

check_dmesg() {
	local bad
	dmesg >"$OUT/dmesg.txt"
	bad=$(dmesg_splats 1)
	# A kernel log that no longer starts at boot has lost lines: reports,
	# and the markers that say which dumps are expected (rmm.sh boots with
	# log_buf_len=16M; the default 128 KiB wrapped in a full run).
	if ! head -n 1 "$OUT/dmesg.txt" | grep -q '^\[ *0\.000000\]'; then
		result fail "dmesg clean" "the kernel log wrapped: it begins with $(head -n 1 "$OUT/dmesg.txt")"
	elif [ -n "$bad" ]; then
		echo "$bad" | sed 's/^/# dmesg: /'
		result fail "dmesg clean" "splat in dmesg, see $OUT/dmesg.txt"
	else
		result ok "dmesg clean"
	fi
}

# kmemleak: forget what boot left (clear), and after the tests report what
# is unreferenced (two scans, as kmemleak ages objects between them).
KMEMLEAK=/sys/kernel/debug/kmemleak

kmemleak_clear() {
	[ -e "$KMEMLEAK" ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null
	[ -w "$KMEMLEAK" ] && echo clear >"$KMEMLEAK"
}

kmemleak_check() {
	local leaks
	if [ ! -w "$KMEMLEAK" ]; then
		result skip "kmemleak clean" "no $KMEMLEAK (CONFIG_DEBUG_KMEMLEAK off)"
		return
	fi
	if ! { echo scan >"$KMEMLEAK" && sleep 6 && echo scan >"$KMEMLEAK"; } 2>/dev/null; then
		result fail "kmemleak clean" "kmemleak cannot scan: $(dmesg | grep 'kmemleak:' | tail -n 2 | tr '\n' ' ')"
		return
	fi
	cat "$KMEMLEAK" >"$OUT/kmemleak.txt"
	leaks=$(grep -c 'unreferenced object' "$OUT/kmemleak.txt")
	if [ "$leaks" = 0 ]; then
		result ok "kmemleak clean"
	else
		sed -n '1,12p' "$OUT/kmemleak.txt" | sed 's/^/# kmemleak: /'
		result fail "kmemleak clean" "$leaks unreferenced objects, see $OUT/kmemleak.txt"
	fi
}

# Loads a module of the kernel tree (RMM_KDIR), e.g. mm/zsmalloc.ko, unless
# it is loaded already or built in; insmod's error goes to $OUT/insmod.err.
load_kdir_module() {
	[ -n "${RMM_KDIR:-}" ] && grep -q "/$1\$" "$RMM_KDIR/modules.builtin" 2>/dev/null && return 0
	[ -n "${RMM_KDIR:-}" ] && [ -f "$RMM_KDIR/$1" ] || { echo "no $RMM_KDIR/$1" >"$OUT/insmod.err"; return 1; }
	grep -q "^$(basename "$1" .ko) " /proc/modules && return 0
	insmod "$RMM_KDIR/$1" 2>"$OUT/insmod.err"
}

# zsmalloc.ko for rmm_bench (the kernel API's test); rmm_bench's own insmod
# reports a failure.
load_zsmalloc() {
	load_kdir_module mm/zsmalloc.ko || true
}

# zswap needs a swap device: a zram disk (virtme-ng shares the host's root
# filesystem, where no swap file can live; zram needs no image and no
# virtio disk). zram compresses what zswap writes back, with zsmalloc. Then
# cgroup v2 with the memory controller, and zswap on.
ZSWAP=/sys/module/zswap/parameters
ZRAM_SIZE=1G

# cgroup v2 with the memory controller for the children of the root.
cgroup_setup() {
	grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts || mount -t cgroup2 none /sys/fs/cgroup
	echo +memory >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
}

zswap_setup() {
	local err
	[ -d "$ZSWAP" ] || { result skip "zswap set-up" "no /sys/module/zswap (CONFIG_ZSWAP off)"; return 1; }
	if ! err=$({ load_kdir_module drivers/block/zram/zram.ko || cat "$OUT/insmod.err"; } 2>&1) ||
		[ ! -e /sys/block/zram0 ]; then
		result fail "zswap set-up" "zram: $err"
		return 1
	fi
	if ! err=$({ echo "$ZRAM_SIZE" >/sys/block/zram0/disksize && mkswap /dev/zram0 >/dev/null &&
		swapon /dev/zram0; } 2>&1); then
		result fail "zswap set-up" "swap on zram0: $err"
		return 1
	fi
	cgroup_setup
	echo Y >"$ZSWAP/enabled"
	RZPOOL_REFS=$(rzpool_refs)
	result ok "zswap set-up" "swap: $ZRAM_SIZE zram0, zswap $(cat "$ZSWAP/compressor")/$(cat "$ZSWAP/zpool")"
}

# Back to zsmalloc and no swap. zswap releases a pool it no longer uses from
# a work item once its last entry is gone: wait (bounded) for rzpool's last
# pool to go (its references back to what they were before zswap), so that
# rzpool can be unloaded.
zswap_teardown() {
	echo zsmalloc >"$ZSWAP/zpool" 2>/dev/null
	echo N >"$ZSWAP/enabled" 2>/dev/null
	swapoff /dev/zram0 2>/dev/null
	rmmod zram 2>/dev/null
	for _ in $(seq 60); do
		[ "$(rzpool_refs)" = "$RZPOOL_REFS" ] && break
		sleep 1
	done
	return 0
}

# rzpool's module reference count (/proc/modules): the modules using its
# symbols hold one each, and each zswap pool one.
rzpool_refs() {
	awk '$1 == "rzpool" { print $3 }' /proc/modules
}
