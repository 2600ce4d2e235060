#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the virtme-ng guest (as root, on the host's root filesystem):
# loads rmm's modules, runs the kselftests or the demo, unloads the modules
# and fails on any splat in dmesg. Prints KTAP; writes the counts to
# $OUT/summary for the host.
#
#   guest.sh check OUT [TESTDIR...]   kselftests (all, or the named dirs)
#   guest.sh run OUT                  the compaction-stress demo
#   guest.sh bench OUT [ARGS...]      the benchmarks (RMM_KDIR: the kernel tree,
#                                     for zsmalloc.ko and test_hmm.ko)

set -u

TOP=$(cd "$(dirname "$0")/.." && pwd)
MODE=$1
OUT=$2
shift 2

MODULES="rmisc rzpool rmirror rmm_bench rmm_page_lock rzpool_map_race rmm_contig rmm_drop_test"
ALL_TESTS="init rmisc movable rzpool rmirror"

# n numbers our top-level TAP lines; pass/fail/skip count test cases: each
# kselftest case, plus our own checks (insmod, rmmod, dmesg).
n=0 pass=0 fail=0 skip=0

# A top-level TAP line, not counted.
tap() {
	local ok=$1 name=$2 why=${3:-}
	n=$((n + 1))
	case $ok in
	ok) echo "ok $n $name" ;;
	skip) echo "ok $n $name # SKIP $why" ;;
	*) echo "not ok $n $name${why:+ # $why}" ;;
	esac
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

load_modules() {
	local m err
	for m in $MODULES; do
		if err=$(insmod "$TOP/$m.ko" 2>&1); then
			result ok "insmod $m"
		else
			result fail "insmod $m" "$err"
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

# A timeout from the test directory's `settings` file, as kselftest does.
test_timeout() {
	local t=120
	[ -f "$1/settings" ] && t=$(sed -n 's/^timeout=//p' "$1/settings")
	echo "${t:-120}"
}

# Copies stdin to stdout, and each case's result line to $1 after the
# seconds since the start: where a test binary's time goes.
stamp_cases() {
	local t0=$SECONDS line
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		"ok "*|"not ok "*) printf '%5d %s\n' $((SECONDS - t0)) "$line" >>"$1" ;;
		esac
	done
}

# Runs one kselftest binary; its TAP is shown nested ("# " prefix, as the
# kselftest runner does) and its `# Totals:` line is added to our counts. A
# crash or timeout without totals counts as one failure.
run_selftest() {
	local bin=$1 name log t t0 rc totals p f s
	name=${bin#"$TOP"/selftests/}
	log=$OUT/$(basename "$bin").tap
	t=$(test_timeout "$(dirname "$bin")")
	echo "# selftests: rmm: $name"
	t0=$SECONDS
	(cd "$(dirname "$bin")" && timeout "$t" "$bin") 2>&1 |
		stamp_cases "$OUT/$(basename "$bin").times" >"$log"
	rc=${PIPESTATUS[0]}
	sed 's/^/# /' "$log"
	echo "# selftests: rmm: $name: $((SECONDS - t0)) s"
	totals=$(grep -E '^# Totals: pass:' "$log" | tail -n 1)
	if [ -z "$totals" ]; then
		result fail "selftests: rmm: $name" "exit $rc without totals (crash, or timeout after ${t}s)"
		return
	fi
	p=$(echo "$totals" | sed -E 's/.*Totals: pass:([0-9]+).*/\1/')
	f=$(echo "$totals" | sed -E 's/.* fail:([0-9]+).*/\1/')
	s=$(echo "$totals" | sed -E 's/.* skip:([0-9]+).*/\1/')
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	if [ "$rc" = 0 ] && [ "$f" = 0 ]; then
		tap ok "selftests: rmm: $name"
	elif [ "$f" = 0 ]; then
		# Every case passed but the binary failed: count that too.
		result fail "selftests: rmm: $name" "exit $rc"
	else
		tap fail "selftests: rmm: $name" "exit $rc"
	fi
}

# Any kernel report (scripts/kernel-reports.sh) fails the run. An OOM kill that a test causes on purpose prints
# a stack dump ("Call Trace:"): the tests put "rmm: oom test begin/end"
# markers around it, and stack dumps between them are not splats (a WARN or
# BUG there still is); so do tests whose steps dump the stack on purpose
# ("rmm: expected stack dumps begin/end": a misc device name taken twice),
# and between those markers rmm's own reports of a driver bug ("rmm: BUG:")
# that a test provokes are not splats either.
# shellcheck source=SCRIPTDIR/kernel-reports.sh
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

# A module leaks a pool it made through rzpool's kernel API (its pages stay
# movable, pointing at rzpool's code): rzpool must refuse to unload, and
# compaction must go on safely. Last, since rzpool then stays loaded.
leaked_pool_pins_rzpool() {
	local err
	if ! err=$({ insmod "$TOP/rzpool.ko" && insmod "$TOP/rzpool_leak.ko" && rmmod rzpool_leak; } 2>&1); then
		result fail "leaked pool pins rzpool" "setup: $err"
		return
	fi
	if err=$(rmmod rzpool 2>&1); then
		result fail "leaked pool pins rzpool" "rmmod rzpool succeeded with a leaked pool"
	else
		result ok "leaked pool pins rzpool" "${err##*: }"
	fi
	echo 1 >/proc/sys/vm/compact_memory
	result ok "compaction with a leaked pool"
}

# A zpool driver whose map covers 8 bytes of any object (rmm_zpool_liar.ko,
# safe Rust), and zswap's store through its callbacks (rmm_zpool_check.ko,
# which writes the whole 64-byte object at the pointer it gets): rust/zpool.rs
# must map the short object through its buffer and say so, and nothing may
# be written past the page (KASAN, the dmesg check).
zpool_map_lie_caught() {
	local err line while_mapped after
	echo "rmm: expected stack dumps begin" >/dev/kmsg
	if ! err=$({ insmod "$TOP/rmm_zpool_liar.ko" && insmod "$TOP/rmm_zpool_check.ko" &&
		rmmod rmm_zpool_check && rmmod rmm_zpool_liar; } 2>&1); then
		echo "rmm: expected stack dumps end" >/dev/kmsg
		rmmod rmm_zpool_check rmm_zpool_liar 2>/dev/null
		result fail "zpool map shorter than the object is caught" "$err"
		return
	fi
	echo "rmm: expected stack dumps end" >/dev/kmsg
	line=$(dmesg | grep 'rmm: BUG: zpool driver rmm_liar: map of a 64-byte object gave 8 bytes' | tail -n 1)
	if [ -n "$line" ] && dmesg | grep -q 'rmm_zpool_check: wrote 64 bytes'; then
		result ok "zpool map shorter than the object is caught" "${line#*] }"
	else
		result fail "zpool map shorter than the object is caught" "no report of the short mapping in dmesg"
	fi
	# The same driver read and wrote its page while the piece was mapped,
	# and again after unmap: refused, then allowed.
	while_mapped=$(dmesg | sed -n 's/.*rmm_zpool_liar: while mapped: //p' | tail -n 1)
	after=$(dmesg | sed -n 's/.*rmm_zpool_liar: after unmap: //p' | tail -n 1)
	if [ "$while_mapped" = "read EBUSY, write EBUSY" ] && [ "$after" = "read ok, write ok" ]; then
		result ok "a driver's read and write of a mapped page are refused" "while mapped: $while_mapped; after unmap: $after"
	else
		result fail "a driver's read and write of a mapped page are refused" "while mapped: ${while_mapped:-no report}; after unmap: ${after:-no report}"
	fi
}

# zswap.zpool=rzpool loads rzpool by itself: zpool asks modprobe for
# "zpool-rzpool", rzpool's alias, once the module is installed where
# modprobe looks. The guest's /lib/modules/<release> is the kernel tree's,
# read-only: the module goes to a module root in the guest's /tmp, and the
# kernel's modprobe (/proc/sys/kernel/modprobe) becomes a two-line wrapper
# that runs the real one on that root (`modprobe -d`). rzpool must not be
# loaded before.
zswap_autoloads_rzpool() {
	local root=$OUT/../modroot name="zswap.zpool=rzpool loads rzpool" old oldprobe ok=no
	[ -d "$ZSWAP" ] || { result skip "$name" "no /sys/module/zswap (CONFIG_ZSWAP off)"; return; }
	if grep -q "^rzpool " /proc/modules; then
		result fail "$name" "rzpool is loaded already"
		return
	fi
	# What `make install INSTALL_MOD_PATH=` (run on the host before the
	# boot) put there: the drivers, and depmod's alias of rzpool.
	if ! grep -q "^alias zpool-rzpool rzpool$" "$root/lib/modules/$(uname -r)/modules.alias" 2>/dev/null ||
		[ ! -f "$root/lib/modules/$(uname -r)/updates/rzpool.ko" ]; then
		result fail "$name" "make install left no updates/rzpool.ko or zpool-rzpool alias in $root"
		return
	fi
	printf '#!/bin/sh\nexec %s -d %s "$@"\n' "$(command -v modprobe)" "$root" >/tmp/rmm-modprobe
	chmod +x /tmp/rmm-modprobe
	oldprobe=$(cat /proc/sys/kernel/modprobe)
	echo /tmp/rmm-modprobe >/proc/sys/kernel/modprobe
	old=$(cat "$ZSWAP/zpool")
	if echo rzpool >"$ZSWAP/zpool" 2>"$OUT/zpool.err" && [ "$(cat "$ZSWAP/zpool")" = rzpool ] &&
		grep -q "^rzpool " /proc/modules; then
		ok=yes
	fi
	echo "$oldprobe" >/proc/sys/kernel/modprobe
	echo "$old" >"$ZSWAP/zpool" 2>/dev/null
	# zswap frees the old pool from a work item: wait (bounded) until rzpool can go.
	for _ in $(seq 60); do
		rmmod rzpool 2>/dev/null && break
		grep -q "^rzpool " /proc/modules || break
		sleep 1
	done
	rm -f /tmp/rmm-modprobe
	if [ "$ok" = yes ]; then
		result ok "$name" "modprobe zpool-rzpool, from the module root of make install"
	else
		result fail "$name" "zpool: $(cat "$ZSWAP/zpool"); $(head -n 2 "$OUT/zpool.err" 2>/dev/null | tr '\n' ' ')"
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

# The kernel's own tools/testing/selftests/cgroup/test_zswap, built from
# the kernel source unchanged (selftests/Makefile), run once with zswap on
# rzpool. A case counts as passed if rzpool passes it; a case rzpool fails
# is judged against zsmalloc, on which the suite then runs once in the same
# boot: if zsmalloc fails it too, it is a SKIP that says so (rzpool must
# pass what zsmalloc passes). When rzpool passes every case the zsmalloc run
# would prove nothing, and it is not made (4 minutes under KASAN).
UPSTREAM_ZSWAP=$TOP/selftests/upstream/test_zswap
run_upstream_zswap() {
	local drv t rc case zs rz t0
	if [ ! -x "$UPSTREAM_ZSWAP" ]; then
		result fail "upstream test_zswap" "not built: $UPSTREAM_ZSWAP"
		return
	fi
	t=$(test_timeout "$TOP/selftests/rzpool")
	for drv in rzpool zsmalloc; do
		if [ "$drv" = zsmalloc ] && ! grep -qE '^not ok' "$OUT/test_zswap-rzpool.tap" &&
			grep -qE '^ok' "$OUT/test_zswap-rzpool.tap"; then
			echo "# test_zswap on zsmalloc: not run (rzpool passed every case)"
			break
		fi
		if ! echo "$drv" >"$ZSWAP/zpool" 2>"$OUT/zpool.err" || [ "$(cat "$ZSWAP/zpool")" != "$drv" ]; then
			result fail "upstream test_zswap on $drv" "cannot select zpool $drv: $(cat "$OUT/zpool.err")"
			continue
		fi
		echo "# selftests: cgroup: test_zswap (kernel $(uname -r), zswap.zpool=$drv)"
		t0=$SECONDS
		# Line-buffered: the test forks, and a child would flush a copy of
		# a full stdio buffer again. Interleaved over the nodes: the test
		# was written for a one-node VM (rmm_interleave.c says why).
		(cd "$(dirname "$UPSTREAM_ZSWAP")" && timeout "$t" "$TOP/selftests/rzpool/rmm_interleave" \
			stdbuf -oL -eL "$UPSTREAM_ZSWAP") 2>&1 |
			stamp_cases "$OUT/test_zswap-$drv.times" >"$OUT/test_zswap-$drv.tap"
		rc=${PIPESTATUS[0]}
		sed 's/^/# /' "$OUT/test_zswap-$drv.tap"
		echo "# test_zswap on $drv: exit $rc, $((SECONDS - t0)) s"
		# zswap frees an unused old pool asynchronously: let it go before the next run.
		sync
		echo 3 >/proc/sys/vm/drop_caches
	done
	echo zsmalloc >"$ZSWAP/zpool"
	echo "# test_zswap side by side:"
	printf '#   %-36s %-10s %-10s\n' case rzpool zsmalloc
	for case in $(sed -n -E 's/^(ok|not ok) [0-9]+ ([a-z_0-9]+).*/\2/p' "$OUT/test_zswap-rzpool.tap" | awk '!seen[$0]++'); do
		rz=$(upstream_result "$OUT/test_zswap-rzpool.tap" "$case")
		zs="not run"
		[ ! -f "$OUT/test_zswap-zsmalloc.tap" ] || zs=$(upstream_result "$OUT/test_zswap-zsmalloc.tap" "$case")
		printf '#   %-36s %-10s %-10s\n' "$case" "$rz" "$zs"
		if [ "$rz" = pass ]; then
			result ok "test_zswap $case on rzpool"
		elif [ "$rz" = skip ]; then
			result skip "test_zswap $case on rzpool" "test_zswap skipped it (its reason is in the TAP above)"
		elif [ "$zs" = pass ]; then
			result fail "test_zswap $case on rzpool" "rzpool: $rz, zsmalloc: pass"
		elif [ "$zs" = "not run" ]; then
			result fail "test_zswap $case on rzpool" "rzpool: $rz; zsmalloc could not be run to judge it"
		else
			result skip "test_zswap $case on rzpool" "rzpool: $rz, and zsmalloc: $zs in this guest too"
		fi
	done
	[ -n "${case:-}" ] || result fail "upstream test_zswap" "no results: see $OUT/test_zswap-rzpool.tap"
}

# The kernel's own tools/testing/selftests/mm/hmm-tests, built from the
# kernel source unchanged (selftests/Makefile), against rmirror's
# /dev/hmm_dmirror0 and 1 (now, while rmirror is loaded) and, later in the
# same boot, against the kernel's test_hmm (hmm_tests_on_test_hmm). The
# cases that need only READ, WRITE and SNAPSHOT must pass on rmirror; the
# others need device memory or exclusive access, which rmirror does not
# have: they fail there as they must, and count as SKIPs that say so.
UPSTREAM_HMM=$TOP/selftests/upstream/hmm-tests
HMM_OURS="open_close anon_read anon_read_prot anon_write anon_write_prot \
anon_write_child anon_write_child_shared anon_write_huge anon_write_hugetlbfs \
file_read file_write anon_read_multiple anon_teardown mixedmap compound"
HUGEPAGES=8
run_upstream_hmm() {
	local dev=$1 t rc
	if [ ! -x "$UPSTREAM_HMM" ]; then
		result fail "upstream hmm-tests on $dev" "not built: $UPSTREAM_HMM"
		return 1
	fi
	if [ ! -c /dev/hmm_dmirror0 ]; then
		result fail "upstream hmm-tests on $dev" "no /dev/hmm_dmirror0"
		return 1
	fi
	# compound and anon_write_hugetlbfs need free huge pages.
	echo "$HUGEPAGES" >/proc/sys/vm/nr_hugepages
	t=$(test_timeout "$TOP/selftests/rmirror")
	echo "# selftests: mm: hmm-tests (kernel $(uname -r), devices: $dev," \
		"$(grep HugePages_Free /proc/meminfo | tr -s ' ') of $(grep Hugepagesize /proc/meminfo | tr -s ' '))"
	(cd /tmp && timeout "$t" stdbuf -oL -eL "$UPSTREAM_HMM") 2>&1 |
		stamp_cases "$OUT/hmm-tests-$dev.times" >"$OUT/hmm-tests-$dev.tap"
	rc=${PIPESTATUS[0]}
	sed 's/^/# /' "$OUT/hmm-tests-$dev.tap"
	echo "# hmm-tests on $dev: exit $rc"
	echo 0 >/proc/sys/vm/nr_hugepages
}

# Both hmm-tests result sets side by side, and our verdicts (rmirror's).
hmm_side_by_side() {
	local case name tm rm
	echo "# hmm-tests side by side (device_private variants; the device_coherent ones need /dev/hmm_dmirror2, which neither has):"
	printf '#   %-40s %-10s %-10s\n' case test_hmm rmirror
	for case in $(sed -n -E 's/^(ok|not ok) [0-9]+ (hmm2?\.hmm2?_device_private\.[a-z_0-9]+).*/\2/p' \
			"$OUT/hmm-tests-rmirror.tap" "$OUT/hmm-tests-test_hmm.tap" 2>/dev/null | awk '!seen[$0]++'); do
		name=${case##*.}
		tm=$(upstream_result "$OUT/hmm-tests-test_hmm.tap" "$case")
		rm=$(upstream_result "$OUT/hmm-tests-rmirror.tap" "$case")
		printf '#   %-40s %-10s %-10s\n' "$case" "$tm" "$rm"
		case " $HMM_OURS " in
		*" $name "*)
			if [ "$rm" = pass ]; then
				result ok "hmm-tests $name on rmirror" "test_hmm: $tm"
			else
				result fail "hmm-tests $name on rmirror" "rmirror: $rm, test_hmm: $tm"
			fi ;;
		*)
			if [ "$rm" = pass ]; then
				result ok "hmm-tests $name on rmirror" "test_hmm: $tm"
			elif [ "$rm" = skip ]; then
				result skip "hmm-tests $name on rmirror" "hmm-tests skipped it (its reason is in the TAP above); test_hmm: $tm"
			else
				result skip "hmm-tests $name on rmirror" "needs device memory or exclusive access, which rmirror does not have (EOPNOTSUPP); rmirror: $rm, test_hmm: $tm"
			fi ;;
		esac
	done
	for name in $HMM_OURS; do
		grep -qE "^(ok|not ok) [0-9]+ hmm\.hmm_device_private\.$name( |\$)" "$OUT/hmm-tests-rmirror.tap" 2>/dev/null ||
			result fail "hmm-tests $name on rmirror" "missing from the output"
	done
}

# hmm-tests against the kernel's test_hmm, with rmirror unloaded (its
# devices would take the names).
hmm_tests_on_test_hmm() {
	if grep -q "^rmirror " /proc/modules; then
		result fail "upstream hmm-tests on test_hmm" "rmirror is still loaded"
		return
	fi
	if ! load_kdir_module lib/test_hmm.ko; then
		result fail "upstream hmm-tests on test_hmm" "insmod test_hmm: $(cat "$OUT/insmod.err")"
		return
	fi
	local from bad
	from=$(($(dmesg | wc -l) + 1))
	run_upstream_hmm test_hmm
	rmmod test_hmm 2>/dev/null
	hmm_side_by_side
	# test_hmm's own splats (6.12's test_hmm takes devmem_lock under
	# mmap_lock in migrate_to_device, after memremap_pages() took the
	# hotplug locks under it: lockdep reports the cycle once memory
	# offlining and KSM have run in the boot) are reported, not counted;
	# one that names rmm's code fails.
	dmesg | tail -n +"$from" >"$OUT/dmesg-test_hmm.txt"
	bad=$(dmesg_splats "$from")
	if [ -z "$bad" ]; then
		result ok "dmesg clean after test_hmm"
	elif grep -qE 'rmirror|rzpool|rmisc|rmm_' "$OUT/dmesg-test_hmm.txt"; then
		echo "$bad" | sed 's/^/# dmesg: /'
		result fail "dmesg clean after test_hmm" "a splat names rmm's code, see $OUT/dmesg-test_hmm.txt"
	else
		echo "$bad" | sed 's/^/# dmesg (test_hmm): /'
		result skip "dmesg clean after test_hmm" "a splat in the kernel's test_hmm, not in rmm's code: see $OUT/dmesg-test_hmm.txt"
	fi
}

# pass, fail, skip or missing: a case's result in a kselftest TAP file.
upstream_result() {
	local line
	line=$(grep -E "^(ok|not ok) [0-9]+ $2( |\$)" "$1" | head -n 1)
	case $line in
	"") echo missing ;;
	*"# SKIP"*) echo skip ;;
	ok*) echo pass ;;
	*) echo fail ;;
	esac
}

do_check() {
	local d bin tests=${*:-$ALL_TESTS}
	echo "TAP version 13"
	kmemleak_clear
	# Failed inits first: they need rmm's modules unloaded.
	case " $tests " in *" init "*) run_selftest "$TOP/selftests/init/init_fail_test" ;; esac
	load_zsmalloc
	load_modules
	for d in $tests; do
		[ "$d" != init ] || continue
		[ -d "$TOP/selftests/$d" ] || { result fail "selftests: rmm: $d" "no such test directory"; continue; }
		# Swap and zswap only around rzpool's tests: with swap, the other
		# tests' memory cgroups would swap where they mean to hit their limit.
		zswap=no
		[ "$d" != rzpool ] || { zswap_setup && zswap=yes; }
		for bin in "$TOP/selftests/$d"/*_test; do
			[ -x "$bin" ] || { result fail "selftests: rmm: $d" "not built: run make selftests"; continue; }
			run_selftest "$bin"
		done
		[ "$zswap" = no ] || zswap_teardown
		[ "$d" != rmirror ] || run_upstream_hmm rmirror
	done
	unload_modules
	rmmod zsmalloc 2>/dev/null
	case " $tests " in *" rzpool "*) zpool_map_lie_caught ;; esac
	[ $# != 0 ] || zswap_autoloads_rzpool
	kmemleak_check
	[ $# != 0 ] || leaked_pool_pins_rzpool
	# The kernel's test_zswap last, after the kmemleak scan: it drives the
	# guest so low on memory (test_no_kmem_bypass) that kmemleak runs out of
	# metadata and disables itself, which would blind the scan.
	case " $tests " in *" rzpool "*) upstream_zswap_phase ;; esac
	check_dmesg
	# test_hmm last, after the kmemleak scan and the dmesg check: what it
	# does to the kernel is not rmm's (see hmm_tests_on_test_hmm).
	case " $tests " in *" rmirror "*) hmm_tests_on_test_hmm ;; esac
	echo "1..$n"
}

# test_zswap with rzpool loaded (it stays loaded after the leaked-pool
# check; otherwise it is loaded here and unloaded after).
upstream_zswap_phase() {
	local loaded=no err
	if ! grep -q "^rzpool " /proc/modules; then
		if ! err=$(insmod "$TOP/rzpool.ko" 2>&1); then
			result fail "upstream test_zswap" "insmod rzpool: $err"
			return
		fi
		loaded=yes
	fi
	if zswap_setup; then
		run_upstream_zswap
		zswap_teardown
	fi
	if [ "$loaded" = yes ]; then
		if err=$(rmmod rzpool 2>&1); then
			result ok "rmmod rzpool after test_zswap"
		else
			result fail "rmmod rzpool after test_zswap" "$err"
		fi
	fi
}

# A measurement (make passrate): the pass rate of test_zswap's
# test_no_kmem_bypass with zswap on zsmalloc and on rzpool, RUNS runs each,
# alternating, with zswap's and reclaim's counters per run; with POLICY
# "interleave", under rmm_interleave as make check runs test_zswap, else
# with the default (local) memory policy.
do_passrate() {
	local runs=${1:-10} policy=${2:-local} drv line err wrap=
	echo "TAP version 13"
	case $policy in
	local) ;;
	interleave) wrap=$TOP/selftests/rzpool/rmm_interleave ;;
	*) result fail "passrate" "policy $policy: expected local or interleave"; echo "1..$n"; return ;;
	esac
	if ! err=$(insmod "$TOP/rzpool.ko" 2>&1); then
		result fail "insmod rzpool" "$err"
		echo "1..$n"
		return
	fi
	zswap_setup || { echo "1..$n"; return; }
	: >"$OUT/passrate.txt"
	for _ in $(seq "$runs"); do
		for drv in zsmalloc rzpool; do
			echo "$drv" >"$ZSWAP/zpool"
			line=$($wrap "$TOP/bench/test_zswap_one" 1 2>&1 | grep '^run')
			echo "$drv $line" | tee -a "$OUT/passrate.txt" | sed 's/^/# /'
			sync
			echo 3 >/proc/sys/vm/drop_caches
		done
	done
	zswap_teardown
	rmmod rzpool 2>/dev/null
	for drv in zsmalloc rzpool; do
		tap ok "test_no_kmem_bypass on $drv ($policy memory policy): $(grep -c "^$drv run 0: pass" "$OUT/passrate.txt") of $runs runs passed"
	done
	echo "1..$n"
}

# The demo: rzpool under compaction and memory offlining, with numbers.
do_run() {
	local rc
	echo "TAP version 13"
	load_zsmalloc
	load_modules
	echo "# rmisc answers: $("$TOP/selftests/rmisc/rmisc_test" -r rmisc.hello 2>&1 | grep '^ok' | grep -vc SKIP) hello ok"
	echo "# rzpool compaction stress (selftests/rzpool/rzpool_stress):"
	"$TOP/selftests/rzpool/rzpool_stress" -m 256 -r 3 2>&1 | tee "$OUT/rzpool_stress.txt" | sed 's/^/#   /'
	rc=${PIPESTATUS[0]}
	if [ "$rc" = 0 ]; then
		result ok "rzpool_stress"
	else
		result fail "rzpool_stress" "exit $rc"
	fi
	echo "# rzpool volatile cache, emptied by memory pressure (selftests/rzpool/rzpool_cache):"
	"$TOP/selftests/rzpool/rzpool_cache" -m 64 2>&1 | tee "$OUT/rzpool_cache.txt" | sed 's/^/#   /'
	rc=${PIPESTATUS[0]}
	if [ "$rc" = 0 ]; then
		result ok "rzpool_cache"
	else
		result fail "rzpool_cache" "exit $rc"
	fi
	echo "# rmirror: what each change of the mapping sent the mirror (event, entries dropped):"
	"$TOP/selftests/rmirror/rmirror_test" \
		-r rmirror.munmap_invalidates -r rmirror.mprotect_invalidates \
		-r rmirror.dontneed_invalidates -r rmirror.mremap_invalidates \
		-r rmirror.fork_cow_invalidates -r rmirror.thp_split_invalidates \
		-r rmirror.ksm_merge_invalidates -r rmirror.migration_invalidates \
		-r rmirror.young_through_page_idle -r rmirror.invalidate_storm_vs_reads \
		>"$OUT/rmirror_demo.tap" 2>&1
	rc=$?
	sed -n 's/^# rmirror\/rmirror_test.c:[0-9]*:[a-z_]*:/#   /p' "$OUT/rmirror_demo.tap"
	if grep -q '# SKIP' "$OUT/rmirror_demo.tap"; then
		result fail "rmirror invalidations" "skipped: is rmirror.ko loaded?"
	elif [ "$rc" = 0 ]; then
		result ok "rmirror invalidations"
	else
		result fail "rmirror invalidations" "exit $rc, see $OUT/rmirror_demo.tap"
	fi
	unload_modules
	check_dmesg
	echo "1..$n"
}

# Where the time goes in one case per pool: by default alloc+free of
# 3264-byte objects through each pool's own API, one thread; RMM_PROFILE
# (make bench PROFILE="...") gives other rmm_bench arguments, such as
# "-g zpool -O alloc+free -S 4096 -T 1". A kernel-wide perf profile of the
# benchmark task; under -icount, perf's cpu-clock samples every 100,000
# executed instructions, so the profile counts instructions.
profile() {
	local pool args=${RMM_PROFILE:--g ops -O alloc+free -S 3264 -T 1}
	if ! command -v perf >/dev/null || [ ! -e /proc/sys/kernel/perf_event_paranoid ]; then
		echo "# profile: skipped (no perf, or no CONFIG_PERF_EVENTS)"
		return
	fi
	cp /proc/kallsyms "$OUT/kallsyms"
	echo "$args" >"$OUT/profile-args"
	for pool in zsmalloc rzpool; do
		# Only the benchmark task (the pool runs in its ioctls), long enough
		# for thousands of samples.
		perf record -q -F 10000 -g -o "$OUT/perf-$pool.data" -- sh -c "
			for i in 1 2 3 4 5 6 7 8; do
				$TOP/bench/rmm_bench $args -P $pool -r 64 /dev/null
			done" >/dev/null 2>"$OUT/perf-$pool.err" &&
			perf report -i "$OUT/perf-$pool.data" --kallsyms="$OUT/kallsyms" --stdio \
				--no-children --sort symbol --percent-limit 0.7 2>/dev/null |
				grep -E '^ +[0-9.]+% +\[k\]' | head -n 30 >"$OUT/profile-$pool.txt"
		echo "# profile of $pool: $(wc -l <"$OUT/profile-$pool.txt" 2>/dev/null || echo 0) kernel symbols"
	done
}

# The benchmarks: the C baselines' modules come from the kernel tree. zbud
# before rmm_bench, which finds the zpool drivers when it is loaded.
# How this boot counts time and on what CPU, for the report (bench/report.py).
bench_env() {
	local cpu flags f sep='' json
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	flags=$(sed -n 's/^flags[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	json="{\"mode\": \"${RMM_CLOCK:-tcg}\", \"cpu\": \"$cpu\", \"flags\": {"
	for f in erms fsrm; do
		case " $flags " in *" $f "*) json="$json$sep\"$f\": true" ;; *) json="$json$sep\"$f\": false" ;; esac
		sep=", "
	done
	json="$json}, \"clocksource\": \"$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)\"}"
	echo "$json" >"$OUT/env.json"
	echo "# guest clock and CPU: $json"
}

# Whether rmm_bench's arguments ask for group $1: no -g asks for all.
want_group() {
	local g=$1 groups=''
	shift
	while [ $# -gt 0 ]; do
		case $1 in -g) groups=${2:-}; shift ;; -g*) groups=${1#-g} ;; esac
		shift
	done
	[ -z "$groups" ] || case ",$groups," in *",$g,"*) true ;; *) false ;; esac
}

do_bench() {
	local m rc zargs
	echo "TAP version 13"
	bench_env
	for m in mm/zsmalloc.ko mm/zbud.ko lib/test_hmm.ko; do
		if load_kdir_module "$m"; then
			result ok "insmod $(basename "$m")"
		else
			result fail "insmod $(basename "$m")" "$(cat "$OUT/insmod.err")"
		fi
	done
	MODULES="rzpool rmirror rmm_bench"
	load_modules
	# The cache group runs in a memory cgroup of its own.
	cgroup_setup
	local prof=()
	if [ "${RMM_PLUGIN:-0}" = 1 ]; then
		# The QEMU plugin counts the profiled runs: symbols for its addresses.
		cp /proc/kallsyms "$OUT/kallsyms"
		prof=(-Q "$OUT/prof-index")
	fi
	"$TOP/bench/rmm_bench" "${prof[@]}" "$@" "$OUT/bench.json"
	rc=$?
	if [ "$rc" = 0 ]; then
		result ok "rmm_bench"
	else
		result fail "rmm_bench" "exit $rc"
	fi
	# The zswap workload: zswap's pool drivers in turn (zbud.ko loaded above),
	# unless -g names groups without "zswap".
	if ! want_group zswap "$@"; then
		echo "# zswap workload: not run (-g without zswap)"
	elif zswap_setup; then
		zargs="-m 32 -r 5 -p 2"
		case " $* " in *" -q "*) zargs="-m 32 -r 1 -p 1" ;; esac
		# shellcheck disable=SC2086 # zargs: several arguments
		timeout 1800 "$TOP/bench/rmm_zswap_bench" $zargs -d zsmalloc,zbud,rzpool "$OUT/zswap.json" 2>&1 |
			tee "$OUT/rmm_zswap_bench.txt" | sed 's/^/# /'
		rc=${PIPESTATUS[0]}
		if [ "$rc" = 0 ]; then
			result ok "rmm_zswap_bench"
		else
			result fail "rmm_zswap_bench" "exit $rc, see $OUT/rmm_zswap_bench.txt"
		fi
		zswap_teardown
	fi
	profile
	unload_modules
	rmmod test_hmm zbud zsmalloc 2>/dev/null
	check_dmesg
	echo "1..$n"
}

case $MODE in
check) do_check "$@" ;;
run) do_run ;;
bench) do_bench "$@" ;;
passrate) do_passrate "$@" ;;
*) echo "guest.sh: unknown mode $MODE" >&2; exit 2 ;;
esac

echo "$pass $fail $skip" >"$OUT/summary"
[ "$fail" = 0 ]
