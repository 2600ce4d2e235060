#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the virtme-ng guest (as root, on the host's root filesystem):
# loads rmm's modules, runs the kselftests or the demo, unloads the modules
# and fails on any splat in dmesg. Prints KTAP; writes the counts to
# $OUT/summary for the host.
#
#   guest.sh check OUT [TESTDIR...]   kselftests (all, or the named dirs)
#   guest.sh run OUT                  the compaction-stress demo
#   guest.sh bench OUT [ARGS...]      the benchmarks (RMM_KDIR: the kernel tree,
#                                     for zsmalloc.ko and test_hmm.ko)

set -u

TOP=$(cd "$(dirname "$0")/.." && pwd)
MODE=$1
OUT=$2
shift 2

MODULES="rmisc rzpool rmirror rmm_bench rmm_page_lock rzpool_map_race rmm_contig rmm_drop_test"
ALL_TESTS="init rmisc movable rzpool rmirror"

# pass/fail/skip count test cases: each kselftest case, plus our own checks
# (insmod, rmmod, dmesg); ktap_helpers.sh numbers and counts the top-level
# KTAP lines.
pass=0 fail=0 skip=0

# The functions, by concern: what the modes share, then each mode's.
# shellcheck source=SCRIPTDIR/guest/lib.sh
. "$TOP/scripts/guest/lib.sh"
# shellcheck source=SCRIPTDIR/guest/check.sh
. "$TOP/scripts/guest/check.sh"
# shellcheck source=SCRIPTDIR/guest/run.sh
. "$TOP/scripts/guest/run.sh"
# shellcheck source=SCRIPTDIR/guest/bench.sh
. "$TOP/scripts/guest/bench.sh"

case $MODE in
check) do_check "$@" ;;
run) do_run ;;
bench) do_bench "$@" ;;
passrate) do_passrate "$@" ;;
*) echo "guest.sh: unknown mode $MODE" >&2; exit 2 ;;
esac

echo "$pass $fail $skip" >"$OUT/summary"
[ "$fail" = 0 ]
