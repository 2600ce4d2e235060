#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The habits make check enforces, one TAP line each (counted with the
# guest's): rustfmt with the kernel's .rustfmt.toml, clippy (the module
# build log of `make CLIPPY=1`, warning-free), checkpatch on the kernel C,
# the scripts' shellcheck (warnings and errors), and the commit messages
# (kernel-style subjects, a body saying why).
#
#   scripts/lint.sh BUILD_LOG OUTDIR
#
# The compile-fail cases are not formatted: their `// compiles with:` sed
# scripts match their lines as they are written.

set -u

. "$(dirname "$0")/lib.sh"

MODLOG=$1 OUT=$2
pass=0 fail=0

# check NAME COMMAND...: ok when COMMAND succeeds and prints nothing.
check() {
	local name=$1 log=$OUT/lint-$1.log
	shift
	if "$@" >"$log" 2>&1 && [ ! -s "$log" ]; then
		pass=$((pass + 1))
		echo "ok lint: $name"
	else
		fail=$((fail + 1))
		echo "not ok lint: $name # see $log"
		head -n 5 "$log" | sed 's/^/#   /'
	fi
}

rust_sources() {
	git -C "$RMM_TOP" ls-files -co --exclude-standard -- 'rust/*.rs' 'samples/*.rs' \
		'selftests/modules/*.rs' 'selftests/compile_pass/*.rs' | sed "s|^|$RMM_TOP/|"
}

kernel_c() {
	git -C "$RMM_TOP" ls-files -co --exclude-standard -- 'rust/*.[ch]' 'samples/*.[ch]' \
		'selftests/modules/*.[ch]' | sed "s|^|$RMM_TOP/|"
}

checkpatch() {
	local f
	for f in $(kernel_c); do
		# EXPORT_SYMBOL: rzpool_helpers.c exports functions defined in Rust.
		"$RMM_SRC/scripts/checkpatch.pl" --no-tree --quiet --terse --ignore EXPORT_SYMBOL -f "$f" |
			grep -v '^total: 0 errors, 0 warnings' || true
	done
}

# Commit messages: every subject "prefix: what", at most 75 characters, no
# merge commits (history is linear), and a body saying why. The rule holds
# from SUBJECTS_SINCE on (the commits before it are not rewritten), the body
# from BODIES_SINCE on.
SUBJECTS_SINCE=054eab5
BODIES_SINCE=90be975
commit_messages() {
	local c s re='^[A-Za-z0-9_.,/ -]+: [^ ]'
	git -C "$RMM_TOP" cat-file -e "$SUBJECTS_SINCE^{commit}" 2>/dev/null ||
		{ echo "no commit $SUBJECTS_SINCE in $RMM_TOP (a shallow clone?): cannot check"; return 1; }
	git -C "$RMM_TOP" rev-list --merges "$SUBJECTS_SINCE..HEAD" | sed 's/$/: a merge commit/'
	# One git log for every subject, not one per commit.
	while read -r c s; do
		[ "${#s}" -le 75 ] || echo "$c: subject of ${#s} characters: $s"
		[[ $s =~ $re ]] || echo "$c: subject not \"prefix: what\": $s"
	done < <(git -C "$RMM_TOP" log --format='%h %s' "$SUBJECTS_SINCE..HEAD")
	for c in $(git -C "$RMM_TOP" rev-list "$BODIES_SINCE..HEAD"); do
		[ -n "$(git -C "$RMM_TOP" log -1 --format=%b "$c" | tr -d '[:space:]')" ] ||
			echo "${c:0:12}: no body saying why: $(git -C "$RMM_TOP" log -1 --format=%s "$c")"
	done
}

clippy_log() {
	[ -s "$MODLOG" ] || { echo "no module build log $MODLOG"; return 1; }
	grep -n -A3 'warning:' "$MODLOG" || true
}

main() {
	mkdir -p "$OUT"
	# shellcheck disable=SC2046
	check rustfmt rustfmt --check --color never --edition 2021 --config-path "$RMM_SRC/.rustfmt.toml" $(rust_sources)
	check clippy clippy_log
	check checkpatch checkpatch
	check shellcheck shellcheck -x -S warning "$RMM_TOP"/scripts/*.sh "$RMM_TOP"/scripts/guest/*.sh \
		"$RMM_TOP/.ci/run"
	check commits commit_messages
	echo "$pass $fail" >"$OUT/lint.summary"
	[ "$fail" = 0 ]
}

main "$@"
