#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The README's two commands: set everything up on a fresh machine, build the
# test kernel (cached) and the modules, boot the guest and run.
#
#   scripts/rmm.sh check [TESTDIR...]   kselftests; last line "N passed, N failed"
#   scripts/rmm.sh run                  the compaction-stress demo
#   scripts/rmm.sh bench [-q] [-r RUNS] benchmarks against the kernel's C; report in ./report
#
# Environment: KDIR (use this build tree instead of the cached test kernel),
# RMM_KVM=0|1 (skip KVM detection),
# RMM_GUEST_MOVABLE (ZONE_MOVABLE size, default 768M), RMM_GUEST_TIMEOUT
# (seconds, default 4800), RMM_LOGS (default ./logs).

set -eu

. "$(dirname "$0")/lib.sh"

PHASES=""

# Runs "$@" as the phase named $1, timing it.
phase() {
	local name=$1 t0
	shift
	t0=$(date +%s)
	log "== $name"
	"$@"
	PHASES="$PHASES$(printf '%-10s %s' "$name" "$(elapsed "$t0")")\n"
}

toolchain() {
	"$RMM_TOP/scripts/setup-toolchain.sh"
}

kernel() {
	if [ -n "${KDIR:-}" ]; then
		log "kernel: using KDIR=$KDIR"
	else
		KDIR=$(RMM_KERNEL=$VARIANT "$RMM_TOP/scripts/build-kernel.sh")
	fi
	[ -f "$KDIR/arch/x86/boot/bzImage" ] || die "$KDIR has no arch/x86/boot/bzImage: not a built kernel tree"
}

# The benchmark kernel's modules are built in a copy of the tree, so that
# they never replace the test kernel's in the work tree.
build_tree() {
	if [ "$VARIANT" = test ]; then
		BUILD_TOP=$RMM_TOP
		return
	fi
	BUILD_TOP=$RMM_CACHE/build-$VARIANT
	copy_sources "$BUILD_TOP"
	log "modules: building in $BUILD_TOP"
}

modules() {
	build_tree
	# make install first, as a user runs it, into a module root of the
	# run's own, where the guest's zswap autoload test finds rzpool with
	# modprobe; then everything else (it builds the drivers only).
	if [ "$VARIANT" = test ]; then
		make -s -C "$BUILD_TOP" KDIR="$KDIR" CLIPPY=1 INSTALL_MOD_PATH="$LOGDIR/modroot" install \
			>"$LOGDIR/install.log" 2>&1 ||
			{ cat "$LOGDIR/install.log" >&2; die "make install failed (log: $LOGDIR/install.log)"; }
	fi
	# With clippy: its warnings, like the compiler's, fail the lint phase.
	make -s -C "$BUILD_TOP" KDIR="$KDIR" CLIPPY=1 modules >"$LOGDIR/modules.log" 2>&1 ||
		{ cat "$LOGDIR/modules.log" >&2; die "module build failed (log: $LOGDIR/modules.log)"; }
	make -s -C "$BUILD_TOP/selftests" KDIR="$KDIR" >"$LOGDIR/selftests-build.log" 2>&1 ||
		{ cat "$LOGDIR/selftests-build.log" >&2; die "selftest build failed (log: $LOGDIR/selftests-build.log)"; }
	make -s -C "$BUILD_TOP/bench" KDIR="$KDIR" >"$LOGDIR/bench-build.log" 2>&1 ||
		{ cat "$LOGDIR/bench-build.log" >&2; die "benchmark build failed (log: $LOGDIR/bench-build.log)"; }
	log "modules: $(cd "$BUILD_TOP" && ls ./*.ko | tr '\n' ' ')"
}

# The compile-fail cases (selftests/compile_fail): rules the types must
# enforce, proven by code that must not build. Counted with the guest's.
compile_fail() {
	HOST_PASS=0 HOST_FAIL=0
	"$RMM_TOP/scripts/compile-fail.sh" "$KDIR" "$LOGDIR" | tee "$LOGDIR/compile-fail.tap" || true
	read -r HOST_PASS HOST_FAIL <"$LOGDIR/compile-fail.summary" || HOST_FAIL=1
	# `unsafe` outside rust/: the compiler refuses it in the drivers, and
	# no file of samples/ may even say it.
	if grep -rn unsafe "$RMM_TOP/samples" --include='*.rs' --include='*.c' --include='*.h' >"$LOGDIR/unsafe-in-samples.txt"; then
		echo "not ok no unsafe in samples/ # $(head -n 1 "$LOGDIR/unsafe-in-samples.txt")"
		HOST_FAIL=$((HOST_FAIL + 1))
	else
		echo "ok no unsafe in samples/"
		HOST_PASS=$((HOST_PASS + 1))
	fi
	# A module parameter of rust/module_param.rs, as modinfo reads it from
	# the .modinfo strings C's module_param() and MODULE_PARM_DESC() make.
	if modinfo -p "$BUILD_TOP/rmirror.ko" 2>&1 | grep -q '^hmm_names:.* (bool)$'; then
		echo "ok modinfo -p rmirror.ko lists hmm_names (bool)"
		HOST_PASS=$((HOST_PASS + 1))
	else
		echo "not ok modinfo -p rmirror.ko lists hmm_names (bool) # $(modinfo -p "$BUILD_TOP/rmirror.ko" 2>&1 | head -n 1)"
		HOST_FAIL=$((HOST_FAIL + 1))
	fi
}

# The habits (scripts/lint.sh): rustfmt, clippy and compiler warnings,
# checkpatch, shellcheck. Counted with the guest's.
lint() {
	local p f
	cat "$LOGDIR/install.log" "$LOGDIR/modules.log" >"$LOGDIR/build.log" 2>/dev/null
	"$RMM_TOP/scripts/lint.sh" "$LOGDIR/build.log" "$LOGDIR" | tee "$LOGDIR/lint.tap" || true
	read -r p f <"$LOGDIR/lint.summary" || { p=0 f=1; }
	HOST_PASS=$((HOST_PASS + p)) HOST_FAIL=$((HOST_FAIL + f))
}

# zswap.zpool=rzpool on the command line of a boot from an initramfs that
# holds rzpool (scripts/initramfs-boot.sh). Counted with the guest's.
initramfs_boot() {
	local line
	line=$("$RMM_TOP/scripts/initramfs-boot.sh" "$KDIR" "$LOGDIR/modroot" "$LOGDIR") || true
	echo "$line" | tee "$LOGDIR/initramfs-boot.tap"
	case "$line" in
	"ok "*) HOST_PASS=$((HOST_PASS + 1)) ;;
	*) HOST_FAIL=$((HOST_FAIL + 1)) ;;
	esac
}

# KVM hangs on some machines (the guest never gets past "Decompressing
# Linux"): probe it once per host boot with a short timeout and remember.
use_kvm() {
	local probe=$RMM_CACHE/kvm-probe boot_id
	case ${RMM_KVM:-} in 0) return 1 ;; 1) return 0 ;; esac
	[ -w /dev/kvm ] || return 1
	boot_id=$(cat /proc/sys/kernel/random/boot_id)
	if [ ! -f "$probe" ] || [ "$(head -n 1 "$probe")" != "$boot_id" ]; then
		log "guest: probing KVM (up to 30 s)"
		if timeout 30 vng --run "$KDIR" --user root --exec true </dev/null >/dev/null 2>&1; then
			printf '%s\nkvm\n' "$boot_id" >"$probe"
		else
			printf '%s\ntcg\n' "$boot_id" >"$probe"
		fi
	fi
	[ "$(sed -n 2p "$probe")" = kvm ]
}

# The report of a benchmark run: markdown and plots in ./report.
report() {
	if [ -f "$LOGDIR/guest/prof-index" ]; then
		"$RMM_VENV/bin/python" "$RMM_TOP/bench/profile.py" "$LOGDIR/guest" >"$LOGDIR/guest/profile.md"
	fi
	"$RMM_VENV/bin/python" "$RMM_TOP/bench/report.py" "$LOGDIR/guest/bench.json" "$RMM_TOP/report"
}

main() {
	local mode=${1:-check} summary pass fail skip
	[ $# -gt 0 ] && shift
	case $mode in check|run|bench|passrate) ;; *) die "usage: $0 check [TESTDIR...] | run | bench [-q] [-r RUNS] | passrate [RUNS [local|interleave]]" ;; esac
	# Benchmarks and pass rates run on a kernel without lock and VM
	# debugging (the pass rate's many runs would take 2.5 min each on KASAN).
	VARIANT="test"
	case $mode in bench|passrate) VARIANT=bench ;; esac

	LOGDIR=$RMM_LOGS/$(date +%Y%m%d-%H%M%S)-$mode
	mkdir -p "$LOGDIR/guest"
	ln -sfn "$LOGDIR" "$RMM_LOGS/latest"
	log "logs: $LOGDIR"

	phase toolchain toolchain
	phase kernel kernel
	phase modules modules
	HOST_PASS=0 HOST_FAIL=0
	[ "$mode" != check ] || [ $# != 0 ] || phase compile-fail compile_fail
	[ "$mode" != check ] || [ $# != 0 ] || phase lint lint
	[ "$mode" != check ] || [ $# != 0 ] || phase initramfs initramfs_boot
	phase guest guest "$mode" "$@"
	if [ "$mode" = bench ] && [ -f "$LOGDIR/guest/bench.json" ]; then
		phase report report
	fi

	printf '\nphase      time\n%b' "$PHASES"
	summary=$(cat "$LOGDIR/guest/summary" 2>/dev/null || echo "")
	if [ -z "$summary" ]; then
		log "guest gave no results (exit $GUEST_RC): see $LOGDIR/console.log"
		echo "0 passed, 1 failed"
		exit 1
	fi
	read -r pass fail skip <<<"$summary"
	pass=$((pass + HOST_PASS)) fail=$((fail + HOST_FAIL))
	echo "logs: $LOGDIR"
	# Skips (each with its reason in the TAP above) on a line of their own:
	# the last line is always "N passed, N failed".
	[ "$skip" = 0 ] || echo "$skip skipped"
	echo "$pass passed, $fail failed"
	[ "$fail" = 0 ] && [ "$GUEST_RC" = 0 ]
}

# Boots the test kernel and runs guest.sh MODE OUT [TESTDIR...] in it; the
# console (TAP included) is shown and kept in $LOGDIR/console.log.
guest() {
	local mode=$1
	shift
	local t=${RMM_GUEST_TIMEOUT:-4800} accel=() clock rc plugin=''
	if [ "${RMM_PLUGIN:-0}" = 1 ]; then
		[ "$mode" = bench ] && [ "${RMM_ICOUNT:-0}" = 1 ] ||
			die "PLUGIN=1 is for make bench ICOUNT=1 (its counts need one vCPU at a time)"
		plugin=" -plugin $("$RMM_TOP/scripts/qemu-plugin.sh"),out=$LOGDIR/guest/prof"
	fi
	if [ "${RMM_ICOUNT:-0}" = 1 ]; then
		# Guest time counts executed instructions (1 ns each), the same
		# from run to run; the vCPUs run one at a time.
		log "guest: TCG with instruction counts (-icount shift=0)"
		accel=(--disable-kvm --qemu-opts "-icount shift=0,align=off,sleep=off$plugin")
		clock=icount
	elif use_kvm; then
		log "guest: KVM"
		clock=kvm
	else
		log "guest: TCG (KVM unavailable or hangs here)"
		accel=(--disable-kvm)
		clock=tcg
	fi
	set +e
	timeout "$t" vng --run "$KDIR" --user root "${accel[@]}" \
		--cpus 2 --memory 2G \
		--numa 1G,cpus=0-1 --numa 1G \
		--append "movablecore=${RMM_GUEST_MOVABLE:-768M} log_buf_len=16M" \
		--rwdir="$LOGDIR" \
		--exec "RMM_KDIR=$KDIR RMM_CLOCK=$clock RMM_PLUGIN=${RMM_PLUGIN:-0} RMM_PROFILE='${RMM_PROFILE:-}' RMM_PROFILE_RUNS='${RMM_PROFILE_RUNS:-}' $BUILD_TOP/scripts/guest.sh $mode $LOGDIR/guest $*" \
		</dev/null 2>&1 | tee "$LOGDIR/console.log"
	rc=${PIPESTATUS[0]}
	set -e
	[ "$rc" != 124 ] || log "guest: timed out after ${t}s"
	GUEST_RC=$rc
}

main "$@"
