#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build rmm's test kernel: Debian's linux-source-6.12 configured from
# allnoconfig plus selftests/config, built out of the repository into a cache
# keyed by kernel version, fragment and toolchain. Rebuilds only when one of
# those changes. Prints the build tree (KDIR) on stdout.
#
#   scripts/build-kernel.sh            # build if needed, print KDIR
#   scripts/build-kernel.sh --print    # print KDIR of the current key, build nothing
#   RMM_KERNEL=bench scripts/build-kernel.sh   # the benchmark kernel:
#                                      # selftests/config + bench/config
#   RMM_KERNEL=arm64-16k scripts/build-kernel.sh   # a build check only:
#                                      # arm64, 16 KiB pages (scripts/cross-build.sh)
#   RMM_KERNEL=x86_64-minimal scripts/build-kernel.sh   # a build check only:
#                                      # no zpool, no HMM (scripts/cross-build.sh)

set -eu

. "$(dirname "$0")/lib.sh"

VARIANT=${RMM_KERNEL:-test}
KARCH=x86_64
case $VARIANT in
test) FRAGMENTS="$RMM_TOP/selftests/config" ;;
bench) FRAGMENTS="$RMM_TOP/selftests/config $RMM_TOP/bench/config" ;;
arm64-16k) FRAGMENTS="$RMM_TOP/selftests/kernels/arm64-16k.config" KARCH=arm64 ;;
x86_64-minimal) FRAGMENTS="$RMM_TOP/selftests/kernels/x86_64-minimal.config" ;;
*) die "RMM_KERNEL=$VARIANT: expected test, bench, arm64-16k or x86_64-minimal" ;;
esac

cache_key() {
	{
		kernel_source_version
		# shellcheck disable=SC2086
		cat $FRAGMENTS
		rustc --version
		"$BINDGEN" --version
		clang-19 --version | head -n 1
	} | sha256sum | cut -c1-12
}

# Every option of the merged fragment must be in .config as asked (the last
# setting of an option wins, as in Kconfig): Kconfig drops an option silently
# when a dependency is missing.
check_config() {
	local out=$1 merged=$2 bad
	bad=$(awk -v cfg="$out/.config" '
		/^CONFIG_[A-Za-z0-9_]+=/ { split($0, a, "="); want[a[1]] = $0; next }
		/^# CONFIG_[A-Za-z0-9_]+ is not set/ { want[$2] = "unset"; next }
		END {
			while ((getline line < cfg) > 0) {
				if (line ~ /^CONFIG_/) { split(line, a, "="); have[a[1]] = line }
			}
			for (o in want) {
				if (want[o] == "unset" ? (o in have) : have[o] != want[o])
					printf " %s", (want[o] == "unset" ? "# " o " is not set" : want[o])
			}
		}' "$merged")
	[ -z "$bad" ] || die "Kconfig did not take:$bad (see $FRAGMENTS)"
}

configure() {
	local out=$1
	# shellcheck disable=SC2086
	cat $FRAGMENTS >"$out/rmm.config"
	log "kernel: configuring the $VARIANT kernel (allnoconfig + $(echo $FRAGMENTS | sed "s|$RMM_TOP/||g"))"
	# Overrides of the bench fragment make Kconfig warn: keep that in a log.
	make -s -C "$RMM_SRC" O="$out" ARCH="$KARCH" LLVM=-19 KCONFIG_ALLCONFIG="$out/rmm.config" allnoconfig \
		>"$out/config.log" 2>&1 || { cat "$out/config.log" >&2; die "kernel configuration failed"; }
	check_config "$out" "$out/rmm.config"
}

build() {
	local out=$1 jobs t0
	jobs=$(( $(nproc) + 1 ))
	t0=$(date +%s)
	log "kernel: building $(kernel_source_version) in $out with -j$jobs (4 to 16 minutes or more on 2 cores, by machine; log: $out/build.log)"
	if ! make -C "$RMM_SRC" O="$out" ARCH="$KARCH" LLVM=-19 -j"$jobs" >"$out/build.log" 2>&1; then
		tail -n 30 "$out/build.log" >&2
		die "kernel build failed: full log in $out/build.log"
	fi
	log "kernel: built in $(elapsed "$t0")"
}

main() {
	local key out
	[ -f "$RMM_SRC/Makefile" ] || die "no kernel source in $RMM_SRC: run scripts/setup-toolchain.sh first"
	key=$(cache_key)
	out=$RMM_CACHE/kernel/$(kernel_source_version)-$key
	[ "$VARIANT" = test ] || out=$RMM_CACHE/kernel/$(kernel_source_version)-$VARIANT-$key
	if [ "${1:-}" = --print ]; then
		echo "$out"
		return
	fi
	if [ -f "$out/.rmm-built" ]; then
		log "kernel: cached build $out"
	else
		rm -rf "$out"
		mkdir -p "$out"
		configure "$out"
		build "$out"
		touch "$out/.rmm-built"
	fi
	echo "$out"
}

main "$@"
