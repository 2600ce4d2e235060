#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Is KDIR a kernel tree rmm's modules can be built against? Checked before
# Kbuild starts, so that a user's own tree fails with one sentence naming
# what is missing instead of an error deep in bindgen or rustc:
#
#   scripts/check-kdir.sh KDIR          # exit 1 with the reasons, else silent
#   scripts/check-kdir.sh --llvm KDIR   # the LLVM= that builds like KDIR's compiler
#
# What the drivers need beyond this (CONFIG_ZPOOL for rzpool's zswap backend,
# CONFIG_HMM_MIRROR for rmirror) is optional: the Kbuild leaves that part
# out and says so.

set -eu

LLVM_ONLY=
if [ "${1:-}" = --llvm ]; then
	LLVM_ONLY=1
	shift
fi
KDIR=${1:-}

fail() {
	printf 'rmm: KDIR=%s: %s\n' "$KDIR" "$*" >&2
	exit 1
}

# The value of CONFIG_$1 in the tree's auto.conf, or "" when it is not set.
conf() {
	sed -n "s/^CONFIG_$1=//p" "$KDIR/include/config/auto.conf" | tr -d '"'
}

[ -n "$KDIR" ] || fail "no kernel tree given: run 'make kernel' for rmm's own, or pass KDIR=/path/to/a/6.12/build/tree"
[ -f "$KDIR/Makefile" ] || fail "not a kernel build tree (no Makefile there)"
[ -f "$KDIR/include/config/auto.conf" ] ||
	fail "not configured (no include/config/auto.conf): configure and build it first (make olddefconfig && make)"

# LLVM= as the tree was built: clang-N if the tree's clang was N, plain LLVM=1
# if only an unsuffixed clang is there, nothing for a GCC-built tree.
llvm_value() {
	local ver major
	[ "$(conf CC_IS_CLANG)" = y ] || return 0
	ver=$(conf CLANG_VERSION)
	major=$((ver / 10000))
	if command -v "clang-$major" >/dev/null; then
		echo "-$major"
	elif clang --version 2>/dev/null | grep -q "version $major\."; then
		echo 1
	else
		fail "was built with clang $major, which is not installed (apt-get install clang-$major lld-$major llvm-$major)"
	fi
}

if [ -n "$LLVM_ONLY" ]; then
	llvm_value
	exit 0
fi

# A configured tree that was never built has no kernel.release yet.
release=$(cat "$KDIR/include/config/kernel.release" 2>/dev/null ||
	make -s -C "$KDIR" kernelversion 2>/dev/null || true)
case "$release" in
6.12|6.12.*) ;;
6.1[7-9]*|6.[2-9]*|[7-9].*)
	fail "is Linux $release; rmm is for 6.12 LTS (6.17 gave movable_operations to the balloon and zsmalloc page types alone, 6.18 removed zpool): see the README's \"Which kernels\"" ;;
*)
	fail "is Linux ${release:-of unknown version}; rmm is for 6.12 LTS (6.13 to 6.16 are untested): see the README's \"Which kernels\"" ;;
esac

[ "$(conf RUST)" = y ] ||
	fail "is built without CONFIG_RUST (distribution kernels are, Debian's among them): rmm's modules are Rust, so they need a kernel built with CONFIG_RUST=y; 'make kernel' builds rmm's own"

missing=
for opt in MODULES COMPACTION MIGRATION DEBUG_FS; do
	[ "$(conf $opt)" = y ] || missing="$missing CONFIG_$opt"
done
[ -z "$missing" ] ||
	fail "lacks$missing (movable pages need COMPACTION and MIGRATION; the statistics live in debugfs)"

[ -f "$KDIR/rust/libkernel.rmeta" ] && [ -f "$KDIR/Module.symvers" ] ||
	fail "is configured but not built (no rust/libkernel.rmeta or Module.symvers): run make in it"

# A Rust module must be built by the rustc that built its kernel (else rustc
# refuses the kernel crate: error E0514).
want=$(conf RUSTC_VERSION_TEXT)
have=$(rustc --version 2>/dev/null || echo "no rustc")
[ "$want" = "$have" ] ||
	fail "was built with '$want', but the rustc first on PATH is '$have': build modules with the kernel's rustc (rmm's set-up puts Debian's rustc-web first)"

command -v "${BINDGEN:-bindgen}" >/dev/null ||
	fail "bindgen not found (BINDGEN=${BINDGEN:-bindgen}): run 'make setup', or point BINDGEN at bindgen-cli 0.65.1 or later"
[ -d "${LIBCLANG_PATH:-/usr/lib/llvm-19/lib}" ] ||
	fail "libclang not found in LIBCLANG_PATH=${LIBCLANG_PATH:-}: bindgen needs it (apt-get install libclang-19-dev)"
llvm_value >/dev/null
