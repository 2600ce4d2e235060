#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds bench/qemu/rmm_prof.c, the TCG plugin of make bench PLUGIN=1, for
# the QEMU installed here, and prints the plugin's path. The plugin header
# (include/qemu/qemu-plugin.h) must be the one of this QEMU's version: it is
# taken from Debian's source package of the installed qemu-system-x86, which
# apt downloads through a source list of our own (the system's, as deb-src)
# into the cache, once per QEMU version.

set -eu

. "$(dirname "$0")/lib.sh"

ver=$(dpkg-query -W -f='${source:Version}' qemu-system-x86 2>/dev/null) ||
	die "no qemu-system-x86 package: make setup installs it"
dir=$RMM_TOOLS/qemu-plugin/${ver//:/_}
so=$dir/rmm_prof.so
if [ -f "$so" ] && [ "$so" -nt "$RMM_TOP/bench/qemu/rmm_prof.c" ]; then
	echo "$so"
	exit 0
fi
mkdir -p "$dir"
if [ ! -f "$dir/qemu-plugin.h" ]; then
	log "qemu plugin: fetching the header of qemu $ver (Debian source package)"
	apt=$dir/apt
	mkdir -p "$apt/parts" "$apt/lists/partial" "$apt/dl"
	found=
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		sed 's/^Types:.*/Types: deb-src/' "$f" >"$apt/parts/$(basename "$f")"
		found=1
	done
	if [ -f /etc/apt/sources.list ]; then
		sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >"$apt/parts/system.list"
		[ -s "$apt/parts/system.list" ] && found=1
	fi
	[ -n "$found" ] || die "no apt sources to take Debian's qemu source package from"
	opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt/parts"
		-o "Dir::State::Lists=$apt/lists" -o APT::Sandbox::User=root)
	apt-get -qq "${opts[@]}" update >"$apt/update.log" 2>&1 ||
		die "apt-get update of the source lists failed: see $apt/update.log"
	(cd "$apt/dl" && apt-get -qq "${opts[@]}" source --download-only "qemu=$ver") \
		>"$apt/source.log" 2>&1 ||
		die "apt-get source qemu=$ver failed: see $apt/source.log"
	orig=$(ls "$apt"/dl/qemu_*.orig.tar.* | head -n 1)
	tar -xf "$orig" -C "$dir" --wildcards --strip-components=3 '*/include/qemu/qemu-plugin.h'
	rm -rf "$apt"
fi
log "qemu plugin: building rmm_prof.so for qemu $ver"
gcc -O2 -Wall -shared -fPIC -I"$dir" -o "$so.tmp" "$RMM_TOP/bench/qemu/rmm_prof.c" -lpthread
mv "$so.tmp" "$so"
echo "$so"
