#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Compile-fail tests: every selftests/compile_fail/<case>.rs (but prelude.rs)
# is appended to prelude.rs to make a driver crate root that must NOT
# compile, and must fail with the error its `// expect:` line names (an
# extended regular expression matched against rustc's output). Each is built
# as the crate root of a scratch module with the rmm tree, exactly as a
# driver of samples/ is. A case that compiles, or fails for another reason,
# fails the test. Its `// compiles with:` line is a sed script that takes the
# offending code out: the case must then build, which proves it fails for
# that code and nothing else.
#
#   scripts/compile-fail.sh KDIR OUTDIR [CASE...]
#
# Every selftests/compile_pass/<case>.rs is built the same way and must
# build, warning-free: the examples the documentation shows. rustdoc cannot
# build the doctests of out-of-tree code, so each ```ignore example of rust/
# names the case it is compiled as just after it, and every line of the
# example must be found in that case, in order (indentation aside).
#
# The cases are shared out among one scratch module per CPU, built side by
# side. Prints one TAP line per case, in order, and writes "pass fail" to
# OUTDIR/compile-fail.summary.

set -u

. "$(dirname "$0")/lib.sh"

KDIR=$1
OUT=$2
shift 2
CASES_DIR=$RMM_TOP/selftests/compile_fail
PASS_DIR=$RMM_TOP/selftests/compile_pass
# One scratch area per source tree: runs from two clones or worktrees at
# once would otherwise build in each other's directories.
# make clean-cache removes the area once its tree is gone.
WORK_TOP=$RMM_CACHE/compile-fail/$(printf '%s' "$RMM_TOP" | sha256sum | cut -c1-12)
mkdir -p "$WORK_TOP" && printf '%s\n' "$RMM_TOP" >"$WORK_TOP/tree"
JOBS=$(nproc)

# The scratch module: the rmm tree, the rmisc and rzpool uapi headers (for
# the uapi and kernel API cases) and one crate root, built with
# rust/rmm.kbuild like the drivers.
setup() {
	WORK=$WORK_TOP/$1
	rm -rf "$WORK"
	mkdir -p "$WORK/samples/cf" "$WORK/samples/rmisc" "$WORK/samples/rzpool"
	(cd "$RMM_TOP" && git ls-files -co --exclude-standard rust | tar -cf - -T -) | tar -C "$WORK" -xf -
	cp "$RMM_TOP"/samples/rmisc/rmisc_uapi*.h "$WORK/samples/rmisc/"
	cp "$RMM_TOP"/samples/rzpool/rzpool_uapi*.h "$RMM_TOP"/samples/rzpool/rzpool_kapi.h \
		"$WORK/samples/rzpool/"
	echo '#include "../../rust/rmm.c"' >"$WORK/samples/cf/cf_helpers.c"
	cat >"$WORK/Kbuild" <<'KBUILD'
obj-m := cf.o
cf-y := samples/cf/cf_main.o samples/cf/cf_helpers.o
rustflags-y += -Dunsafe_code
include $(src)/rust/rmm.kbuild
$(eval $(call rmm_uapi_rule,rmisc))
$(eval $(call rmm_uapi_rule,rzpool))
$(eval $(call rmm_no_unsafe_rule,cf))
$(obj)/samples/cf/cf_main.o: $(rmm_bindings) $(obj)/rust/uapi/rmisc_uapi_generated.rs \
	$(obj)/rust/uapi/rzpool_uapi_generated.rs
KBUILD
}

# Builds the crate root of prelude.rs and $1 (through the sed script $2).
build() {
	cat "$CASES_DIR/prelude.rs" "$1" | sed -e "$2" >"$WORK/samples/cf/cf_main.rs"
	rm -f "$WORK/samples/cf/cf_main.o"
	make -s -C "$KDIR" M="$WORK" LLVM=-19 samples/cf/cf_main.o
}

run_case() {
	local f=$1 name expect fix log
	name=$(basename "$f" .rs)
	expect=$(sed -n 's|^// expect: ||p' "$f")
	fix=$(sed -n 's|^// compiles with: ||p' "$f")
	log=$OUT/compile-fail-$name.log
	if [ -z "$fix" ]; then
		echo "not ok compile-fail: $name # no '// compiles with:' line"
	elif ! build "$f" "$fix" >"$log.fixed" 2>&1; then
		echo "not ok compile-fail: $name # does not build even with its offending code out (see $log.fixed)"
		grep -E '^error' "$log.fixed" | head -n 3 | sed 's/^/#   /'
	elif build "$f" "" >"$log" 2>&1; then
		echo "not ok compile-fail: $name # it compiled"
	elif [ -z "$expect" ]; then
		echo "not ok compile-fail: $name # no '// expect:' line"
	elif grep -Eq -- "$expect" "$log"; then
		echo "ok compile-fail: $name"
	else
		echo "not ok compile-fail: $name # failed, but not with /$expect/ (see $log)"
		grep -E '^error' "$log" | head -n 3 | sed 's/^/#   /'
	fi
}

run_pass_case() {
	local f=$1 name log
	name=$(basename "$f" .rs)
	log=$OUT/compile-pass-$name.log
	if ! build "$f" "" >"$log" 2>&1; then
		echo "not ok compile-pass: $name # does not build (see $log)"
		grep -E '^error' "$log" | head -n 3 | sed 's/^/#   /'
	elif grep -q 'warning:' "$log"; then
		echo "not ok compile-pass: $name # warns (see $log)"
	else
		echo "ok compile-pass: $name"
	fi
}

# One TAP line per ```ignore example of rust/: see the head of this file.
doc_examples() {
	local f
	for f in "$RMM_TOP"/rust/*.rs; do
		awk -v top="$RMM_TOP" -v src="${f#"$RMM_TOP"/}" '
		function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
		function check(   path, line, i) {
			if (!match(after, /selftests\/compile_(pass|fail)\/[a-z_0-9]+\.rs/)) {
				printf "not ok compile-pass: example %s:%d # names no compiled case\n", src, start
				return
			}
			path = substr(after, RSTART, RLENGTH)
			i = 1
			while (i <= nex && (getline line <(top "/" path)) > 0)
				if (trim(line) == ex[i])
					i++
			close(top "/" path)
			if (i > nex)
				printf "ok compile-pass: example %s:%d (%s)\n", src, start, path
			else
				printf "not ok compile-pass: example %s:%d # %s lacks: %s\n", src, start, path, ex[i]
		}
		state == 2 && /^[ \t]*\/\/[\/!]/ && lines < 6 { after = after " " $0; lines++; next }
		state == 2 { check(); state = 0 }
		state == 1 && /^[ \t]*\/\/[\/!] ?```$/ { state = 2; after = ""; lines = 0; next }
		state == 1 {
			l = $0
			sub(/^[ \t]*\/\/[\/!] ?/, "", l)
			l = trim(l)
			if (l != "")
				ex[++nex] = l
			next
		}
		/^[ \t]*\/\/[\/!] ?```ignore$/ { state = 1; start = FNR; nex = 0; delete ex }
		END { if (state == 2) check() }
		' "$f"
	done
}

# Runs every JOBS-th job from job $1 in scratch module $1; each output line
# goes out after its job's number, for the merge.
run_shard() {
	local k=$1 i=0 job
	setup "$k"
	for job in "${jobs[@]}"; do
		if [ $((i % JOBS)) = "$k" ]; then
			case $job in
			pass:*) run_pass_case "${job#pass:}" ;;
			*) run_case "$job" ;;
			esac | sed "s/^/$i\t/"
		fi
		i=$((i + 1))
	done
}

main() {
	local f k pass fail jobs=("$@")
	mkdir -p "$OUT"
	if [ ${#jobs[@]} = 0 ]; then
		for f in "$CASES_DIR"/*.rs; do
			[ "$(basename "$f")" = prelude.rs ] || jobs+=("$f")
		done
		for f in "$PASS_DIR"/*.rs; do
			jobs+=("pass:$f")
		done
	else
		jobs=("${jobs[@]/#/$CASES_DIR/}")
		jobs=("${jobs[@]/%/.rs}")
	fi
	[ "$JOBS" -le "${#jobs[@]}" ] || JOBS=${#jobs[@]}
	for ((k = 0; k < JOBS; k++)); do
		run_shard "$k" >"$OUT/compile-fail-shard-$k.tap" &
	done
	wait
	sort -s -n -k1,1 "$OUT"/compile-fail-shard-*.tap | cut -f2- >"$OUT/compile-fail-all.tap"
	rm -f "$OUT"/compile-fail-shard-*.tap
	[ $# != 0 ] || doc_examples >>"$OUT/compile-fail-all.tap"
	cat "$OUT/compile-fail-all.tap"
	pass=$(grep -c '^ok ' "$OUT/compile-fail-all.tap")
	fail=$(grep -c '^not ok ' "$OUT/compile-fail-all.tap")
	echo "$pass $fail" >"$OUT/compile-fail.summary"
	[ "$fail" = 0 ]
}

main "$@"
