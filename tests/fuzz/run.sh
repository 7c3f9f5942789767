#!/bin/bash
# Build the libFuzzer targets with clang in build/fuzz and run each one for
# SECONDS (default 30) on its seed corpus (docs/fuzzing.md).
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#
# New interesting inputs go to build/fuzz/corpus/<target> (the seed corpus in
# tests/fuzz/corpus is read, never written); crashes are written to
# build/fuzz/crashes/<target>/ and make the script exit 1.  Copy a crash to
# tests/fuzz/regressions/<target>/ once it is fixed (or to track it): ctest's
# fuzz-regress tests replay that directory in every build.
#
# Environment: EIDF_FUZZ_BUILD (default build/fuzz), EIDF_FUZZ_JOBS (parallel
# libFuzzer workers per target, default 1), EIDF_FUZZ_ARGS (extra libFuzzer
# flags, e.g. "-max_len=65536 -dict=...").
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-30}
[ $# -gt 0 ] && shift
build=${EIDF_FUZZ_BUILD:-$src/build/fuzz}
jobs=${EIDF_FUZZ_JOBS:-1}
targets=("$@")

case $secs in ''|*[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2;; esac
if ! command -v clang >/dev/null; then
	echo "run.sh: clang is required (apt-get install clang libclang-rt-dev)" >&2
	exit 2
fi

# -Werror off: clang -Wformat=2 flags va_list wrappers that gcc accepts
cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DEIDF_FUZZ=ON -DEIDF_WERROR=OFF >"$build.configure.log" 2>&1 ||
	{ cat "$build.configure.log" >&2; echo "run.sh: configure failed" >&2; exit 1; }
cmake --build "$build" --target fuzz -j"$(nproc)" >"$build.build.log" 2>&1 ||
	{ tail -50 "$build.build.log" >&2; echo "run.sh: build failed" >&2; exit 1; }

if [ ${#targets[@]} = 0 ]; then
	for exe in "$build"/bin/fuzz_*; do targets+=("$(basename "$exe" | sed 's/^fuzz_//')"); done
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
printf '%-16s %8s %8s %8s  %s\n' target runs execs/s corpus result
for t in "${targets[@]}"; do
	exe=$build/bin/fuzz_$t
	if [ ! -x "$exe" ]; then echo "run.sh: no target $t" >&2; status=1; continue; fi
	work=$build/corpus/$t crashes=$build/crashes/$t
	mkdir -p "$work" "$crashes"
	log=$build/fuzz_$t.log
	seeds=()
	[ -d "$src/tests/fuzz/corpus/$t" ] && seeds+=("$src/tests/fuzz/corpus/$t")
	[ -d "$src/tests/fuzz/regressions/$t" ] && seeds+=("$src/tests/fuzz/regressions/$t")
	# stdout is closed; stderr too for the option parser, which prints a
	# usage error per input (libFuzzer and the sanitizers keep their own copy
	# of stderr; replay a crash with the fuzz-replay-* driver to see the
	# FUZZ_CHECK message).
	mask=1
	[ "$t" = options ] && mask=3
	# shellcheck disable=SC2086
	"$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
		-close_fd_mask=$mask -print_final_stats=1 -artifact_prefix="$crashes/" \
		${EIDF_FUZZ_ARGS:-} $( [ "$jobs" -gt 1 ] && echo "-fork=$jobs -ignore_crashes=1" ) \
		"$work" "${seeds[@]}" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	ncorp=$(find "$work" -type f | wc -l)
	ncrash=$(find "$crashes" -type f | wc -l)
	if [ $rc = 0 ] && [ "$ncrash" = 0 ]; then
		result=ok
	else
		result="FAILED (exit $rc, $ncrash artifact(s) in $crashes, log $log)"
		status=1
	fi
	printf '%-16s %8s %8s %8s  %s\n' "$t" "${runs:-?}" "${rate:-?}" "$ncorp" "$result"
done
exit $status
