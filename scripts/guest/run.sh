# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# scripts/guest.sh run: the compaction-stress demo. Sourced by guest.sh.

# The demo: rzpool under compaction and memory offlining, with numbers.
do_run() {
	local rc
	ktap_print_header
	load_zsmalloc
	load_modules
	echo "# rmisc answers: $("$TOP/selftests/rmisc/rmisc_test" -r rmisc.hello 2>&1 | grep '^ok' | grep -vc SKIP) hello ok"
	echo "# rzpool compaction stress (selftests/rzpool/rzpool_stress):"
	"$TOP/selftests/rzpool/rzpool_stress" -m 256 -r 3 2>&1 | tee "$OUT/rzpool_stress.txt" | sed 's/^/#   /'
	rc=${PIPESTATUS[0]}
	if [ "$rc" = 0 ]; then
		result ok "rzpool_stress"
	else
		result fail "rzpool_stress" "exit $rc"
	fi
	echo "# rzpool volatile cache, emptied by memory pressure (selftests/rzpool/rzpool_cache):"
	"$TOP/selftests/rzpool/rzpool_cache" -m 64 2>&1 | tee "$OUT/rzpool_cache.txt" | sed 's/^/#   /'
	rc=${PIPESTATUS[0]}
	if [ "$rc" = 0 ]; then
		result ok "rzpool_cache"
	else
		result fail "rzpool_cache" "exit $rc"
	fi
	echo "# rmirror: what each change of the mapping sent the mirror (event, entries dropped):"
	"$TOP/selftests/rmirror/rmirror_test" \
		-r rmirror.munmap_invalidates -r rmirror.mprotect_invalidates \
		-r rmirror.dontneed_invalidates -r rmirror.mremap_invalidates \
		-r rmirror.fork_cow_invalidates -r rmirror.thp_split_invalidates \
		-r rmirror.ksm_merge_invalidates -r rmirror.migration_invalidates \
		-r rmirror.young_through_page_idle -r rmirror.invalidate_storm_vs_reads \
		>"$OUT/rmirror_demo.tap" 2>&1
	rc=$?
	# Its TH_LOG lines name rmirror_test.c (rmirror/rmirror_test.c when
	# built from selftests/, before lib.mk).
	sed -n 's/^# \(rmirror\/\)\{0,1\}rmirror_test.c:[0-9]*:[a-z_]*:/#   /p' "$OUT/rmirror_demo.tap"
	if grep -q '# SKIP' "$OUT/rmirror_demo.tap"; then
		result fail "rmirror invalidations" "skipped: is rmirror.ko loaded?"
	elif [ "$rc" = 0 ]; then
		result ok "rmirror invalidations"
	else
		result fail "rmirror invalidations" "exit $rc, see $OUT/rmirror_demo.tap"
	fi
	unload_modules
	check_dmesg
	tap_end
}
