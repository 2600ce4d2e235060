# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# scripts/guest.sh bench and passrate: the benchmarks (with perf's profile)
# and test_zswap's pass rate. Sourced by guest.sh.

# A measurement (make passrate): the pass rate of test_zswap's
# test_no_kmem_bypass with zswap on zsmalloc and on rzpool, RUNS runs each,
# alternating, with zswap's and reclaim's counters per run; with POLICY
# "interleave", under rmm_interleave as make check runs test_zswap, else
# with the default (local) memory policy.
do_passrate() {
	local runs=${1:-10} policy=${2:-local} drv line err wrap=
	ktap_print_header
	case $policy in
	local) ;;
	interleave) wrap=$TOP/selftests/rzpool/rmm_interleave ;;
	*) result fail "passrate" "policy $policy: expected local or interleave"; tap_end; return ;;
	esac
	if ! err=$(insmod "$TOP/rzpool.ko" 2>&1); then
		result fail "insmod rzpool" "$err"
		tap_end
		return
	fi
	zswap_setup || { tap_end; return; }
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
	tap_end
}

# Where the time goes in one case per pool: by default alloc+free of
# 3264-byte objects through each pool's own API, one thread; RMM_PROFILE
# (make bench PROFILE="...") gives other rmm_bench arguments, such as
# "-g zpool -O alloc+free -S 4096 -T 1". A kernel-wide perf profile of the
# benchmark task; under -icount, perf's cpu-clock samples every 100,000
# executed instructions, so the profile counts instructions.
profile() {
	local pool args=${RMM_PROFILE:--g ops -O alloc+free -S 3264 -T 1}
	# make bench PROFILE_RUNS="LOOPS RUNS": fewer for a slow case.
	local loops runs
	read -r loops runs <<<"${RMM_PROFILE_RUNS:-8 64}"
	[ -n "$runs" ] || runs=64
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
			for i in \$(seq $loops); do
				$TOP/bench/rmm_bench $args -P $pool -r $runs /dev/null
			done" >/dev/null 2>"$OUT/perf-$pool.err" &&
			# Bounded: once (under -icount) the guest's perf report never
			# returned; the data stays in $OUT for a host's perf report.
			timeout 300 perf report -i "$OUT/perf-$pool.data" --kallsyms="$OUT/kallsyms" --stdio \
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

# shellcheck disable=SC2034,SC2154 # MODULES: load_modules's (lib.sh); n: guest.sh's
do_bench() {
	local m rc zargs
	ktap_print_header
	bench_env
	for m in mm/zsmalloc.ko mm/zbud.ko lib/test_hmm.ko; do
		if load_kdir_module "$m"; then
			result ok "insmod $(basename "$m")"
		else
			result fail "insmod $(basename "$m")" "$(cat "$OUT/insmod.err")"
		fi
	done
	# test_hmm holds /dev/hmm_dmirror0 and 1: rmirror's test_hmm interface
	# is /dev/rmirror_hmm0 and 1 (rmm_bench's fault-in compares the two).
	MODULES="rzpool rmirror rmm_bench"
	MODULE_ARGS[rmirror]=hmm_names=0
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
		# Rounds until the wall time ratios are known within 5 points (at most 40).
		zargs="-m 32 -r 5 -w 5 -R 40 -p 2"
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
	tap_end
}
