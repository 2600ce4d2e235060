# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared settings and helpers for rmm's scripts. Sourced, not run.

RMM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RMM_CACHE=${RMM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rmm}
RMM_TOOLS=$RMM_CACHE/tools
RMM_BIN=$RMM_TOOLS/bin
RMM_VENV=$RMM_TOOLS/venv
RMM_SRC=$RMM_CACHE/src/linux-6.12
RMM_LOGS=${RMM_LOGS:-$RMM_TOP/logs}

export PATH="$RMM_BIN:$RMM_VENV/bin:$PATH"
export LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm-19/lib}
export BINDGEN=${BINDGEN:-$RMM_BIN/bindgen}

log() {
	printf '[rmm %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

die() {
	printf '[rmm] error: %s\n' "$*" >&2
	exit 1
}

# Minutes and seconds since the epoch second $1.
elapsed() {
	local s=$(( $(date +%s) - $1 ))
	printf '%dm%02ds' $((s / 60)) $((s % 60))
}

# Copies the sources into DIR (tracked, or new and not ignored; from a
# tarball without git, all but logs and reports), mtimes kept, so that a
# build there rebuilds only what changed.
copy_sources() {
	local dir=$1
	mkdir -p "$dir"
	if git -C "$RMM_TOP" rev-parse --git-dir >/dev/null 2>&1; then
		(cd "$RMM_TOP" && git ls-files -co --exclude-standard -z | tar --null -cf - -T -) |
			tar -C "$dir" -xf -
	else
		tar -C "$RMM_TOP" --exclude=./logs --exclude=./report -cf - . | tar -C "$dir" -xf -
	fi
}

kernel_source_version() {
	make -s -C "$RMM_SRC" kernelversion 2>/dev/null
}
