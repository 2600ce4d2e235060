#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A new user's first run, for real: a minimal Debian made by debootstrap
# (--variant=minbase, plus git and make, and nothing of this machine's), a
# clone of this repository in it, and the README's set-up, kernel build and
# module build run there as root, each phase timed. With "boot", also one
# guest boot and the smallest kselftest (make check T=rmisc); with "check",
# every test (make check, what .ci/run runs), as a new user's first
# `make check` would be.
#
#   scripts/fresh-host.sh bookworm|trixie [DIR] [boot|check|debootstrap]
#
# "debootstrap" stops after making the chroot (it only downloads).
# DIR defaults to $RMM_CACHE/fresh/<suite>; the chroot keeps its own cache
# (DIR/root/.cache/rmm), so nothing built on this machine is reused. A second
# run reuses the chroot and its cache; delete DIR for a first run again.
# It is not part of make check: it downloads about 1.5 GB and builds a kernel.
# The log and a summary of each phase go to logs/fresh-<suite>-<date>/.
#
# The one thing taken from the host is its CA certificates, for machines
# that reach the package registries through a TLS proxy (see the README).

set -eu

. "$(dirname "$0")/lib.sh"

SUITE=${1:-}
case "$SUITE" in
bookworm|trixie) ;;
*) die "usage: scripts/fresh-host.sh bookworm|trixie [DIR] [boot|check|debootstrap]" ;;
esac
DIR=${2:-$RMM_CACHE/fresh/$SUITE}
BOOT=${3:-}
MIRROR=${RMM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${RMM_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}

[ "$(id -u)" = 0 ] || die "debootstrap and chroot need root"
command -v debootstrap >/dev/null || die "debootstrap not found: apt-get install debootstrap"

OUT=$RMM_LOGS/fresh-$SUITE-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
SUMMARY=$OUT/summary.txt

# One line per phase, in the summary and on the terminal.
phase_done() {
	log "$1: $2"
	printf '%-10s %s\n' "$1" "$2" >>"$SUMMARY"
}

bootstrap() {
	local t0
	if [ -f "$DIR/.rmm-bootstrapped" ]; then
		phase_done debootstrap "reused $DIR"
		return
	fi
	t0=$(date +%s)
	log "debootstrap: minimal $SUITE into $DIR"
	rm -rf "$DIR"
	debootstrap --variant=minbase --include=git,make,ca-certificates \
		"$SUITE" "$DIR" "$MIRROR" >"$OUT/debootstrap.log" 2>&1 ||
		die "debootstrap failed: see $OUT/debootstrap.log"
	# What a Debian installer writes: the release, its updates and security.
	# (Debian 12's linux-source-6.12 and rustc-web come from security.)
	rm -f "$DIR/etc/apt/sources.list"
	cat >"$DIR/etc/apt/sources.list.d/debian.sources" <<-EOF
		Types: deb
		URIs: $MIRROR
		Suites: $SUITE $SUITE-updates
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

		Types: deb
		URIs: $SECURITY
		Suites: $SUITE-security
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	touch "$DIR/.rmm-bootstrapped"
	phase_done debootstrap "$(elapsed "$t0") ($(du -sh "$DIR" | cut -f1))"
}

mount_all() {
	local m
	for m in proc sys dev dev/pts; do
		mkdir -p "$DIR/$m"
		mountpoint -q "$DIR/$m" || mount --bind "/$m" "$DIR/$m"
	done
	trap umount_all EXIT
}

umount_all() {
	local m
	for m in dev/pts dev sys proc; do
		mountpoint -q "$DIR/$m" && umount -l "$DIR/$m"
	done
	return 0
}

# The machine's way out to the registries, nothing else of it.
host_network() {
	cp /etc/resolv.conf "$DIR/etc/resolv.conf"
	if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
		mkdir -p "$DIR/usr/local/share/ca-certificates"
		cp /usr/local/share/ca-certificates/*.crt "$DIR/usr/local/share/ca-certificates/"
		in_chroot update-ca-certificates >/dev/null
	fi
}

# A login shell's environment, not ours: no rustup, no pyenv, no cache.
in_chroot() {
	env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
		PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
		chroot "$DIR" "$@"
}

clone() {
	rm -rf "$DIR/root/rmm"
	git clone -q "file://$RMM_TOP" "$DIR/root/rmm"
	phase_done clone "$(git -C "$DIR/root/rmm" log -1 --format='%h %s')"
}

# Runs `make TARGET` in the chroot's clone, timed, logged.
step() {
	local name=$1 t0 rc=0
	shift
	t0=$(date +%s)
	log "$name: make $* (log: $OUT/$name.log)"
	in_chroot bash -c "cd /root/rmm && make $*" </dev/null >"$OUT/$name.log" 2>&1 || rc=$?
	if [ "$rc" != 0 ]; then
		phase_done "$name" "FAILED after $(elapsed "$t0") (exit $rc); last lines:"
		tail -15 "$OUT/$name.log" | sed 's/^/    /' | tee -a "$SUMMARY" >&2
		exit 1
	fi
	phase_done "$name" "$(elapsed "$t0")"
}

main() {
	local t0
	t0=$(date +%s)
	bootstrap
	[ "$BOOT" = debootstrap ] && return
	mount_all
	host_network
	printf 'host       %s\n' "$(. "$DIR/etc/os-release" && echo "$PRETTY_NAME")" >>"$SUMMARY"
	clone
	step setup setup
	step kernel kernel
	step modules "modules selftests"
	case $BOOT in
	boot)
		step boot "check T=rmisc"
		grep -E '^[0-9]+ passed, [0-9]+ failed' "$OUT/boot.log" | tail -1 >>"$SUMMARY"
		;;
	check)
		step check check
		grep -E '^[0-9]+ (passed|skipped)' "$OUT/check.log" | tail -2 >>"$SUMMARY"
		sed -n '/^phase      time/,/^logs:/p' "$OUT/check.log" >>"$SUMMARY"
		;;
	esac
	# What a first run fetched and keeps, as a user would see it.
	{
		printf 'download   Debian packages %s, crates %s; virtme-ng venv (PyPI) %s\n' \
			"$(du -sh "$DIR/var/cache/apt/archives" | cut -f1)" \
			"$(du -sh "$DIR/root/.cargo/registry" 2>/dev/null | cut -f1 | grep . || echo none)" \
			"$(du -sh "$DIR/root/.cache/rmm/tools/venv" | cut -f1)"
		printf 'disk       rmm cache %s (kernel source %s, kernel build %s), whole chroot %s\n' \
			"$(du -sh "$DIR/root/.cache/rmm" | cut -f1)" \
			"$(du -sh "$DIR/root/.cache/rmm/src" | cut -f1)" \
			"$(du -sh "$DIR/root/.cache/rmm/kernel" | cut -f1)" \
			"$(du -shx "$DIR" | cut -f1)"
	} >>"$SUMMARY"
	phase_done total "$(elapsed "$t0")"
	cat "$SUMMARY"
}

main
