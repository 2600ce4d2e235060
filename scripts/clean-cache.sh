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

main() {
	local keep=() v d k used freed=0 size
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
		size=$(du -sk "$d" | cut -f1)
		log "clean-cache: removing $d ($((size / 1024)) MiB)"
		rm -rf "$d"
		freed=$((freed + size))
	done
	# compile-fail's scratch areas, one per source tree: those whose tree
	# (a clone since deleted, CI's) is gone, and the old shared layout.
	for d in "$RMM_CACHE"/compile-fail/*/; do
		[ -d "$d" ] || continue
		d=${d%/}
		if [ -f "$d/tree" ] && [ -d "$(cat "$d/tree")" ]; then
			continue
		fi
		size=$(du -sk "$d" | cut -f1)
		log "clean-cache: removing $d ($((size / 1024)) MiB, its tree is gone)"
		rm -rf "$d"
		freed=$((freed + size))
	done
	log "clean-cache: freed $((freed / 1024)) MiB; left: $(du -sh "$RMM_CACHE" | cut -f1) in $RMM_CACHE"
}

main "$@"
