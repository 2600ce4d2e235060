#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make KDIR= on trees that are not rmm's test kernel, as a user's own would
# be (make kdir-check). Nothing boots; this checks what the build decides:
#
# - a tree configured without zpool, MMU notifiers or HMM
#   (selftests/kernels/x86_64-minimal.config, built and cached like the
#   others) builds rzpool without its zpool driver and leaves rmirror and the
#   test modules out, each with its sentence, warning-free;
# - trees that cannot work are refused by scripts/check-kdir.sh before Kbuild
#   starts, with the sentence that names the cause: not a tree, no
#   CONFIG_RUST, not built, another kernel version, another rustc.

set -eu

. "$(dirname "$0")/lib.sh"

PASS=0

# expect_refusal NAME KDIR PATTERN [ENV...]: `make KDIR=` must fail, before
# any compiler runs, with a line matching PATTERN.
expect_refusal() {
	local name=$1 kdir=$2 pattern=$3 out
	shift 3
	out=$(cd "$BUILD" && env "$@" make -s KDIR="$kdir" modules 2>&1) &&
		die "$name: make KDIR=$kdir succeeded"
	grep -q -- "$pattern" <<<"$out" || die "$name: expected /$pattern/, got: $out"
	grep -qE 'BINDGEN|RUSTC|CC \[M\]' <<<"$out" && die "$name: refused only after building: $out"
	log "kdir-check: $name: refused: $(grep -- "$pattern" <<<"$out" | head -n 1)"
	PASS=$((PASS + 1))
}

main() {
	local t0 kdir scratch log ko
	t0=$(date +%s)
	kdir=$(RMM_KERNEL=x86_64-minimal "$RMM_TOP/scripts/build-kernel.sh")
	BUILD=$RMM_CACHE/build-x86_64-minimal
	rm -rf "$BUILD"
	copy_sources "$BUILD"
	log=$BUILD/build.log

	log "kdir-check: make KDIR=$kdir (no zpool, no HMM) in $BUILD"
	if ! make -C "$BUILD" KDIR="$kdir" modules >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		die "build against the minimal kernel failed (log: $log)"
	fi
	grep -n 'warning:' "$log" >&2 && die "build against the minimal kernel warned (log: $log)"
	grep -q 'LLVM=-19' "$log" || die "make did not take LLVM=-19 from the tree's clang (log: $log)"
	for ko in rzpool rmisc; do
		[ -f "$BUILD/$ko.ko" ] || die "no $ko.ko in $BUILD"
	done
	for ko in rmirror rmm_bench rzpool_map_race; do
		[ ! -e "$BUILD/$ko.ko" ] || die "$ko.ko was built against a kernel without what it needs"
	done
	grep -q 'rmm: rmirror left out: this kernel lacks CONFIG_HMM_MIRROR' "$log" ||
		die "no sentence saying rmirror was left out (log: $log)"
	grep -q 'rmm: rzpool built without its zpool driver' "$log" ||
		die "no sentence saying rzpool has no zpool driver (log: $log)"
	modinfo -F alias "$BUILD/rzpool.ko" | grep -q zpool-rzpool || die "rzpool.ko has no zpool-rzpool alias"
	log "kdir-check: minimal kernel: rzpool.ko (no zpool driver) and rmisc.ko built, rmirror left out, no warnings"
	PASS=$((PASS + 1))

	scratch=$RMM_CACHE/kdir-check
	rm -rf "$scratch"
	mkdir -p "$scratch/not-a-tree" "$scratch/bin"
	expect_refusal "not a tree" "$scratch/not-a-tree" "not a kernel build tree"

	# A Debian-like tree: configured, CONFIG_RUST off. Configuring takes seconds.
	make -s -C "$RMM_SRC" O="$scratch/norust" LLVM=-19 allnoconfig >/dev/null 2>&1 ||
		die "allnoconfig failed"
	expect_refusal "no CONFIG_RUST" "$scratch/norust" "built without CONFIG_RUST"

	# The minimal tree's configuration, not built.
	mkdir -p "$scratch/unbuilt"
	cp "$kdir/.config" "$scratch/unbuilt/.config"
	make -s -C "$RMM_SRC" O="$scratch/unbuilt" LLVM=-19 olddefconfig >/dev/null 2>&1 ||
		die "olddefconfig failed"
	make -s -C "$RMM_SRC" O="$scratch/unbuilt" LLVM=-19 syncconfig >/dev/null 2>&1 || true
	expect_refusal "not built" "$scratch/unbuilt" "configured but not built"

	# Another release: the minimal tree's files, with 6.18's name.
	mkdir -p "$scratch/v6.18/include/config"
	cp "$kdir/Makefile" "$scratch/v6.18/"
	cp "$kdir/include/config/auto.conf" "$scratch/v6.18/include/config/"
	echo 6.18.1 >"$scratch/v6.18/include/config/kernel.release"
	expect_refusal "6.18" "$scratch/v6.18" "6.18 removed zpool"

	# Another rustc first on PATH than the one that built the tree.
	printf '#!/bin/sh\necho "rustc 1.85.0 (4d91de4e4 2025-02-17)"\n' >"$scratch/bin/rustc"
	chmod +x "$scratch/bin/rustc"
	expect_refusal "other rustc" "$kdir" "but the rustc first on PATH is 'rustc 1.85.0" \
		PATH="$scratch/bin:$PATH" RMM_CACHE="$scratch/empty-cache"

	log "kdir-check: $PASS passed in $(elapsed "$t0")"
}

main "$@"
