#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything rmm needs on a fresh Debian 12 or 13 machine,
# idempotently: Debian's Rust with core sources, clang/LLVM 19, bindgen-cli
# (Debian 13's own; on Debian 12, whose bindgen 0.60 is too old for 6.12, built
# from crates.io with Debian's cargo), QEMU, udev and virtme-ng, and Debian's
# linux-source-6.12.
# Ends with the kernel's own `make rustavailable` check.

set -eu

. "$(dirname "$0")/lib.sh"

DEB_PKGS="rustc-web rust-web-src rust-web-clippy rustfmt-web linux-perf clang-19 lld-19 llvm-19 libclang-19-dev
	qemu-system-x86 udev flex bison bc libelf-dev libssl-dev cpio kmod
	linux-source-6.12 xz-utils make gcc python3-pip python3-venv pkg-config busybox-static perl shellcheck file iproute2"
BINDGEN_VERSION=0.69.5
BINDGEN_MIN=0.65.1
# Debian 12 builds bindgen-cli with Debian's cargo; later releases have it.
CODENAME=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
case "$CODENAME" in
bookworm) DEB_PKGS="$DEB_PKGS cargo-web" ;;
*) DEB_PKGS="$DEB_PKGS bindgen" ;;
esac
VNG_VERSION=1.42

missing_debs() {
	local p
	for p in $DEB_PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			printf '%s ' "$p"
	done
}

install_debs() {
	local miss
	miss=$(missing_debs)
	if [ -z "$miss" ]; then
		log "Debian packages: all present"
		return
	fi
	log "Debian packages: installing $miss"
	[ "$(id -u)" = 0 ] || die "need root to install Debian packages: $miss (run as root or install them yourself)"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
		die "apt-get update failed: check that Debian's package mirror is reachable"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $miss >/dev/null ||
		die "apt-get install failed for: $miss"
}

# The version a bindgen prints ("bindgen 0.71.1"), or 0.
bindgen_version() {
	"$1" --version 2>/dev/null | awk '{ print $2; exit }' | grep . || echo 0
}

install_bindgen() {
	if [ -x /usr/bin/bindgen ] &&
	   dpkg --compare-versions "$(bindgen_version /usr/bin/bindgen)" ge "$BINDGEN_MIN"; then
		mkdir -p "$RMM_BIN"
		ln -sf /usr/bin/bindgen "$RMM_BIN/bindgen"
		log "bindgen $(bindgen_version /usr/bin/bindgen): Debian's"
		return
	fi
	if [ -x "$RMM_BIN/bindgen" ] && [ ! -L "$RMM_BIN/bindgen" ] &&
	   "$RMM_BIN/bindgen" --version 2>/dev/null | grep -q "$BINDGEN_VERSION"; then
		log "bindgen $BINDGEN_VERSION: present"
		return
	fi
	# Debian's cargo-web (/usr/bin/cargo) matches rustc-web.
	command -v cargo >/dev/null || die "cargo not found: bindgen-cli is built with cargo (apt-get install cargo-web)"
	log "bindgen-cli $BINDGEN_VERSION: building from crates.io (about 2 minutes)"
	rm -f "$RMM_BIN/bindgen"
	cargo install --locked --quiet --root "$RMM_TOOLS" bindgen-cli --version "$BINDGEN_VERSION" ||
		die "cargo install bindgen-cli failed: is crates.io reachable?"
}

install_vng() {
	if [ -x "$RMM_VENV/bin/vng" ] && "$RMM_VENV/bin/python" -c "import matplotlib" 2>/dev/null; then
		log "virtme-ng, matplotlib: present"
		return
	fi
	log "virtme-ng $VNG_VERSION, matplotlib (for bench reports): installing from PyPI into $RMM_VENV"
	[ -x "$RMM_VENV/bin/pip" ] || python3 -m venv "$RMM_VENV" ||
		die "python3 -m venv failed: install Debian's python3-venv"
	"$RMM_VENV/bin/pip" install -q "virtme-ng==$VNG_VERSION" matplotlib numpy ||
		die "pip install virtme-ng matplotlib numpy failed: is PyPI reachable?"
}

# Debian's rustc (with core sources) must come first on PATH: rustup's rustc
# in ~/.cargo/bin has no rust-src. Kconfig probes `rustc` itself, so a PATH
# entry is the only thing that reaches it.
link_debian_rust() {
	mkdir -p "$RMM_BIN"
	ln -sf /usr/bin/rustc "$RMM_BIN/rustc"
	ln -sf /usr/bin/rustdoc "$RMM_BIN/rustdoc"
	ln -sf /usr/bin/rustfmt "$RMM_BIN/rustfmt"
	ln -sf /usr/bin/clippy-driver "$RMM_BIN/clippy-driver"
	[ -d /usr/lib/rustlib/src/rust/library ] ||
		die "Debian's rust-web-src is missing /usr/lib/rustlib/src/rust/library"
}

unpack_kernel_source() {
	local tarball=/usr/src/linux-source-6.12.tar.xz
	[ -f "$tarball" ] || die "$tarball missing: apt-get install linux-source-6.12"
	if [ -f "$RMM_SRC/Makefile" ] && [ "$RMM_SRC/.unpacked" -nt "$tarball" ]; then
		log "kernel source: $RMM_SRC ($(kernel_source_version))"
		return
	fi
	log "kernel source: unpacking $tarball into $RMM_SRC"
	rm -rf "$RMM_SRC"
	mkdir -p "$RMM_SRC"
	tar -xJf "$tarball" -C "$RMM_SRC" --strip-components=1
	touch "$RMM_SRC/.unpacked"
}

check_rust_available() {
	# rustavailable writes nothing into the tree worth keeping, but run it
	# in a scratch copy of the build dir so the source stays clean.
	make -s -C "$RMM_SRC" LLVM=-19 rustavailable ||
		die "the kernel says Rust is not available: see the messages above"
}

main() {
	local t0
	t0=$(date +%s)
	install_debs
	install_vng
	link_debian_rust
	install_bindgen
	unpack_kernel_source
	check_rust_available
	log "toolchain ready in $(elapsed "$t0")"
}

main "$@"
