# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# scripts/guest.sh check: the kselftests, the kernel's own test_zswap and
# hmm-tests, and the checks of ours around them (a leaked pool, a lying
# zpool driver, zswap's autoload of rzpool). Sourced by guest.sh.

# A timeout from the test directory's `settings` file, as kselftest does
# (for the kernel's own suites, which runner.sh does not run here).
test_timeout() {
	local t=120
	[ -f "$1/settings" ] && t=$(sed -n 's/^timeout=//p' "$1/settings")
	echo "${t:-120}"
}

# Copies stdin to stdout, and each case's result line (nested or not) to
# $1 after the seconds since the start: where a test binary's time goes.
stamp_cases() {
	local t0=$SECONDS line
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		"ok "*|"not ok "*|"# ok "*|"# not ok "*) printf '%5d %s\n' $((SECONDS - t0)) "$line" >>"$1" ;;
		esac
	done
}

# The kselftests of collection $1, as make selftests listed them
# (kselftest-list.txt, lib.mk's emit_tests).
collection_tests() {
	sed -n "s/^$1://p" "$BASE_DIR/kselftest-list.txt" 2>/dev/null
}

# Runs one kselftest, $2 of collection $1, with the kernel's runner.sh
# (run_one: the timeout of the directory's `settings`, the output nested
# with "# ", the ok / not ok / SKIP / TIMEOUT line). Its cases' `# Totals:`
# line is added to our counts; a crash or timeout without totals counts as
# one failure, and so does a binary that failed with every case passed.
run_selftest() {
	local dir=$1 test=$2 log verdict t0 totals p f s fifo stamper keep
	log=$OUT/$test.tap
	t0=$SECONDS
	# runner.sh writes the nested output to $logfile by name: a FIFO, read
	# by stamp_cases into the log as it comes (kept open for writing here, so
	# that runner.sh's separate writes do not end it); /dev/stdout is not the
	# pipe in virtme-ng's guest. The ok / not ok line comes on stdout. The
	# FIFO is in the guest's /tmp: the 9p share of $OUT has no special files.
	fifo=$(mktemp -u /tmp/rmm-runner.XXXXXX)
	mkfifo "$fifo" || { result fail "selftests: $dir: $test" "mkfifo $fifo failed"; return; }
	stamp_cases "$OUT/$test.times" <"$fifo" >"$log" &
	stamper=$!
	exec {keep}>"$fifo"
	# runner.sh reads variables it may not have set (no -o/--override-timeout,
	# no KSELFTEST_<TEST>_ARGS): not under guest.sh's set -u.
	# shellcheck disable=SC2034 # logfile: runner.sh's
	verdict=$(set +u; logfile=$fifo; run_one "$dir" "$BASE_DIR/$dir/$test" "$KTAP_TESTNO" 2>&1)
	exec {keep}>&-
	wait "$stamper"
	rm -f "$fifo"
	echo "$verdict" | grep -v -E "^(ok|not ok) $KTAP_TESTNO "
	cat "$log"
	verdict=$(echo "$verdict" | grep -E "^(ok|not ok) $KTAP_TESTNO " | tail -n 1)
	ktap_print_msg "selftests: $dir: $test: $((SECONDS - t0)) s"
	KTAP_TESTNO=$((KTAP_TESTNO + 1))
	case $verdict in
	"ok "*"# SKIP"*) KTAP_CNT_SKIP=$((KTAP_CNT_SKIP + 1)) ;;
	"ok "*) KTAP_CNT_PASS=$((KTAP_CNT_PASS + 1)) ;;
	*) KTAP_CNT_FAIL=$((KTAP_CNT_FAIL + 1)) ;;
	esac
	echo "${verdict:-not ok $((KTAP_TESTNO - 1)) selftests: $dir: $test # no verdict from runner.sh}"
	totals=$(grep -E '^# # Totals: pass:' "$log" | tail -n 1)
	if [ -z "$totals" ]; then
		ktap_print_msg "selftests: $dir: $test: no totals (crash, or timeout after $(test_timeout "$BASE_DIR/$dir") s)"
		fail=$((fail + 1))
		return
	fi
	p=$(echo "$totals" | sed -E 's/.*Totals: pass:([0-9]+).*/\1/')
	f=$(echo "$totals" | sed -E 's/.* fail:([0-9]+).*/\1/')
	s=$(echo "$totals" | sed -E 's/.* skip:([0-9]+).*/\1/')
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	case $verdict in
	"ok "*) ;;
	*) [ "$f" != 0 ] || fail=$((fail + 1)) ;;
	esac
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

# rmirror beside test_hmm, which holds /dev/hmm_dmirror0 and 1: loaded with
# its default names (hmm_names=1), rmirror must refuse to load (EEXIST, and
# say to use hmm_names=0), for devtmpfs keeps test_hmm's nodes under those
# names without a word; with hmm_names=0 (as make bench loads it), its
# interface is /dev/rmirror_hmm0 and 1.
rmirror_beside_test_hmm() {
	local from err bad
	from=$(($(dmesg | wc -l) + 1))
	if err=$(insmod "$TOP/rmirror.ko" 2>&1); then
		rmmod rmirror
		result fail "rmirror beside test_hmm refuses hmm_names=1" "insmod succeeded"
	elif ! echo "$err" | grep -q 'File exists'; then
		result fail "rmirror beside test_hmm refuses hmm_names=1" "not EEXIST: $err"
	elif ! dmesg | tail -n +"$from" | grep -q 'rmirror: .*hmm_names=0'; then
		result fail "rmirror beside test_hmm refuses hmm_names=1" "no hint to load with hmm_names=0 in dmesg"
	else
		result ok "rmirror beside test_hmm refuses hmm_names=1"
	fi
	if ! err=$(insmod "$TOP/rmirror.ko" hmm_names=0 2>&1); then
		result fail "rmirror beside test_hmm with hmm_names=0" "$err"
	elif [ "$(cat /sys/module/rmirror/parameters/hmm_names)" != N ] ||
		[ ! -c /dev/rmirror_hmm0 ] || [ ! -c /dev/rmirror_hmm1 ]; then
		result fail "rmirror beside test_hmm with hmm_names=0" \
			"hmm_names: $(cat /sys/module/rmirror/parameters/hmm_names), $(ls /dev/rmirror_hmm* 2>&1 | tr '\n' ' ')"
	elif ! err=$(rmmod rmirror 2>&1); then
		result fail "rmirror beside test_hmm with hmm_names=0" "rmmod: $err"
	else
		result ok "rmirror beside test_hmm with hmm_names=0"
	fi
	grep -q "^rmirror " /proc/modules && rmmod rmirror
	bad=$(dmesg_splats "$from")
	if [ -z "$bad" ]; then
		result ok "dmesg clean after rmirror beside test_hmm"
	else
		echo "$bad" | sed 's/^/# dmesg: /'
		result fail "dmesg clean after rmirror beside test_hmm" "splat in dmesg"
	fi
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
	rmirror_beside_test_hmm
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
	local d t tests=${*:-$ALL_TESTS}
	ktap_print_header
	kmemleak_clear
	# Failed inits first: they need rmm's modules unloaded.
	case " $tests " in *" init "*) for t in $(collection_tests init); do run_selftest init "$t"; done ;; esac
	load_zsmalloc
	load_modules
	for d in $tests; do
		[ "$d" != init ] || continue
		[ -n "$(collection_tests "$d")" ] || { result fail "selftests: $d" "no such collection in $BASE_DIR/kselftest-list.txt (run make selftests)"; continue; }
		# Swap and zswap only around rzpool's tests: with swap, the other
		# tests' memory cgroups would swap where they mean to hit their limit.
		zswap=no
		[ "$d" != rzpool ] || { zswap_setup && zswap=yes; }
		for t in $(collection_tests "$d"); do
			run_selftest "$d" "$t"
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
	tap_end
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
