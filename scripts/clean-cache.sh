#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Frees the disk of kernel builds that nothing uses any more (make
# clean-cache). A build is keyed by kernel version, config fragment and
# toolchain (scripts/build-kernel.sh), so a Debian update of rustc-web or
# linux-source-6.12, or an edit of a fragment, leaves the old build behind.
# This keeps the build of each variant's current key and the toolchain, and
# removes every other kernel build, the module build copies and the
# compile-fail scratch areas of source trees that no longer exist.

set -eu

. "$(dirname "$0")/lib.sh"

# Removes directory $1, saying so (with $2 after its size), and adds its
# size to freed.
remove() {
	local size
	size=$(du -sk "$1" | cut -f1)
	log "clean-cache: removing $1 ($((size / 1024)) MiB$2)"
	rm -rf "$1"
	freed=$((freed + size))
}

main() {
	local keep=() v d k used freed=0
	[ -d "$RMM_CACHE/kernel" ] || { log "clean-cache: nothing cached in $RMM_CACHE"; return; }
	for v in test bench arm64-16k x86_64-minimal; do
		keep+=("$(RMM_KERNEL=$v "$RMM_TOP/scripts/build-kernel.sh" --print)")
	done
	for d in "$RMM_CACHE"/kernel/*/ "$RMM_CACHE"/build-*/; do
		[ -d "$d" ] || continue
		d=${d%/}
		used=no
		for k in "${keep[@]}"; do
			[ "$d" != "$k" ] || used=yes
		done
		if [ "$used" = yes ]; then
			log "clean-cache: keeping $d ($(du -sh "$d" | cut -f1))"
			continue
		fi
		remove "$d" ""
	done
	# compile-fail's scratch areas, one per source tree: those whose tree
	# (a clone since deleted, CI's) is gone, and the old shared layout.
	for d in "$RMM_CACHE"/compile-fail/*/; do
		[ -d "$d" ] || continue
		d=${d%/}
		if [ -f "$d/tree" ] && [ -d "$(cat "$d/tree")" ]; then
			continue
		fi
		remove "$d" ", its tree is gone"
	done
	log "clean-cache: freed $((freed / 1024)) MiB; left: $(du -sh "$RMM_CACHE" | cut -f1) in $RMM_CACHE"
}

main "$@"
