#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A build check against a kernel unlike the test kernel: arm64 with 16 KiB
# pages (selftests/kernels/arm64-16k.config), cross-built with the same clang
# and rustc. Builds that kernel (cached like the others), then rmm's drivers
# against it in a copy of the tree. Nothing boots: the test kernel's guest
# covers behaviour, this covers what the page size and the architecture
# change at build time (rust/ asserts its geometry at compile time).
#
#   scripts/cross-build.sh        (make cross)

set -eu

. "$(dirname "$0")/lib.sh"

main() {
	local t0 kdir out ko
	t0=$(date +%s)
	kdir=$(RMM_KERNEL=arm64-16k "$RMM_TOP/scripts/build-kernel.sh")
	grep -q '^CONFIG_ARM64_16K_PAGES=y' "$kdir/.config" || die "$kdir is not a 16 KiB-page arm64 kernel"
	out=$RMM_CACHE/build-arm64-16k
	copy_sources "$out"
	log "cross: building the drivers for arm64 with 16 KiB pages in $out"
	if ! make -C "$kdir" M="$out" ARCH=arm64 LLVM=-19 RMM_DRIVERS_ONLY=1 modules \
		>"$out/build.log" 2>&1; then
		tail -n 40 "$out/build.log" >&2
		die "cross build failed (log: $out/build.log)"
	fi
	if grep -n 'warning:' "$out/build.log" >&2; then
		die "cross build warned (log: $out/build.log)"
	fi
	for ko in rzpool rmirror rmisc; do
		[ -f "$out/$ko.ko" ] || die "no $ko.ko in $out"
		llvm-readelf-19 -h "$out/$ko.ko" | grep -q 'AArch64' || die "$ko.ko is not an arm64 object"
	done
	log "cross: rzpool.ko rmirror.ko rmisc.ko built for arm64 (16 KiB pages) in $(elapsed "$t0")"
}

main "$@"
