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

set -eu

. "$(dirname "$0")/lib.sh"

FRAGMENT=$RMM_TOP/selftests/config

cache_key() {
	{
		kernel_source_version
		cat "$FRAGMENT"
		rustc --version
		"$BINDGEN" --version
		clang-19 --version | head -n 1
	} | sha256sum | cut -c1-12
}

# Every CONFIG_X=y/m in the fragment must be in .config as asked: Kconfig
# drops an option silently when a dependency is missing.
check_config() {
	local out=$1 bad="" line
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qx "$line" "$out/.config" || bad="$bad $line"
			;;
		esac
	done <"$FRAGMENT"
	[ -z "$bad" ] || die "Kconfig dropped:$bad (a dependency is missing from $FRAGMENT)"
}

configure() {
	local out=$1
	log "kernel: configuring (allnoconfig + selftests/config)"
	make -s -C "$RMM_SRC" O="$out" LLVM=-19 KCONFIG_ALLCONFIG="$FRAGMENT" allnoconfig >/dev/null
	check_config "$out"
}

build() {
	local out=$1 jobs t0
	jobs=$(( $(nproc) + 1 ))
	t0=$(date +%s)
	log "kernel: building $(kernel_source_version) in $out with -j$jobs (about 16 minutes on 2 cores; log: $out/build.log)"
	if ! make -C "$RMM_SRC" O="$out" LLVM=-19 -j"$jobs" >"$out/build.log" 2>&1; then
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
