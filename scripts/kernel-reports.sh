# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# What a kernel report looks like in a log: any lockdep or KASAN report,
# WARN, BUG, Oops or kmemleak leak. Banners at boot mention "lockdep" and
# "leak": look for reports, not words. Sourced by guest/lib.sh (dmesg) and
# initramfs-boot.sh (the console of its own boot).

# shellcheck disable=SC2034
SPLAT_RE='WARNING:|BUG:|Oops|cut here|general protection|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|INFO: task .* blocked|Call Trace:|kernel BUG|UBSAN|KASAN|unreferenced object|suspected memory leak'
