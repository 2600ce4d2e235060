#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# zswap.zpool=rzpool on the kernel command line, as on a real machine: zswap
# picks its pool at late_initcall time, before any root filesystem, so the
# request_module("zpool-rzpool") it makes must find rzpool in the initramfs.
# Boots the test kernel once under QEMU with an initramfs holding what an
# initramfs-tools image would for it (kmod's modprobe and the module tree
# that `make install` made) and an /init that reports zswap's pool; prints
# one TAP line.
#
#   scripts/initramfs-boot.sh KDIR MODROOT OUTDIR

set -eu

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kernel-reports.sh"

KDIR=$1 MODROOT=$2 OUT=$3
NAME="zswap.zpool=rzpool at boot, rzpool in the initramfs"

tap_fail() {
	echo "not ok $NAME # $*"
	exit 1
}

main() {
	local root=$OUT/initramfs lib rel line
	rel=$(cat "$KDIR/include/config/kernel.release")
	grep -q '^CONFIG_BLK_DEV_INITRD=y' "$KDIR/.config" || tap_fail "the kernel has no CONFIG_BLK_DEV_INITRD"
	[ -f "$MODROOT/lib/modules/$rel/updates/rzpool.ko" ] || tap_fail "no rzpool.ko in $MODROOT (make install)"
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,proc,sys,dev,lib64} "$root/lib/x86_64-linux-gnu"
	cp /bin/busybox "$root/bin/"
	for a in sh mount cat grep; do ln -s busybox "$root/bin/$a"; done
	cp /bin/kmod "$root/bin/"
	ln -s ../bin/kmod "$root/sbin/modprobe"
	for lib in $(ldd /bin/kmod | grep -o '/lib[^ ]*'); do
		cp "$lib" "$root$lib"
	done
	cp -a "$MODROOT/lib/modules" "$root/lib/"
	cat >"$root/init" <<-'EOF'
		#!/bin/sh
		mount -t proc proc /proc
		mount -t sysfs sysfs /sys
		echo "rmm-initramfs: zpool=$(cat /sys/module/zswap/parameters/zpool)" \
			"enabled=$(cat /sys/module/zswap/parameters/enabled)" \
			"rzpool=$(grep -c '^rzpool ' /proc/modules)"
		echo o >/proc/sysrq-trigger
	EOF
	chmod +x "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet) >"$OUT/initramfs.cpio"
	timeout 300 qemu-system-x86_64 -machine accel=tcg -cpu max -smp 1 -m 1G \
		-kernel "$KDIR/arch/x86/boot/bzImage" -initrd "$OUT/initramfs.cpio" \
		-append "console=ttyS0 rdinit=/init panic=-1 zswap.enabled=1 zswap.zpool=rzpool" \
		-nographic -no-reboot </dev/null >"$OUT/initramfs-boot.log" 2>&1 || true
	line=$(grep -a 'rmm-initramfs:' "$OUT/initramfs-boot.log" | tail -n 1)
	[ -n "$line" ] || tap_fail "the guest's /init reported nothing (log: $OUT/initramfs-boot.log)"
	if grep -aqE "$SPLAT_RE" "$OUT/initramfs-boot.log"; then
		tap_fail "the kernel reported: $(grep -aE "$SPLAT_RE" "$OUT/initramfs-boot.log" | head -n 1)"
	fi
	case "$line" in
	*"zpool=rzpool enabled=Y rzpool=1"*) ;;
	*) tap_fail "$line; zswap said: $(grep -a 'zswap' "$OUT/initramfs-boot.log" | head -n 3 | tr '\n' ' ')" ;;
	esac
	# The image is rebuilt each run: keep only the log.
	rm -rf "$root" "$OUT/initramfs.cpio"
	echo "ok $NAME # $(grep -a 'zswap: loaded using pool' "$OUT/initramfs-boot.log" | sed 's/^\[[^]]*\] //' | head -n 1)"
}

main
