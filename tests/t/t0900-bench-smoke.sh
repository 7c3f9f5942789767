#!/bin/bash
# Benchmarks are not tests, but they must keep working: run bench/run.sh in
# its quick mode (tiny sizes, 3 runs) against the built executables and check
# that every benchmark reported, and that no kubectl-eidf process opened more
# than one TLS connection (B3).  The stage benchmarks (bench/fetch.sh, ...)
# are left out (--no-stages): even their --quick modes take about a minute.
. "$(dirname "$0")/lib.sh"

if ! command -v kubectl >/dev/null; then
	test_skip 'bench/run.sh --quick' 'kubectl not installed'
	test_done
fi

test_expect_success 'bench/run.sh --quick runs every benchmark' '
	BENCH_RESULTS=$TRASH/results.jsonl "$EIDF_SRC/bench/run.sh" --quick --no-stages --bin "$EIDF_BIN" >out 2>err ||
		{ cat out err; false; } &&
	cat out &&
	for b in B0 B1 B2 B3; do test_grep "^$b " out; done &&
	test "$(grep -c "^  ratio " out)" = 7 &&
	test_grep "curl(1), the same GET" out &&
	test_grep "kubectl-eidf pvc list .* 1 TLS connection(s)" out &&
	test_grep -v "failed (exit" out
'

test_expect_success 'one TLS connection per kubectl-eidf process' '
	python3 - "$TRASH/results.jsonl" <<-\PY
	import json, sys
	bad = []
	for line in open(sys.argv[1]):
	    r = json.loads(line)
	    if "counts" in r and r["counts"].startswith("kubectl") and "reference" not in r["counts"]:
	        if r["connections"] > 1 or (r["requests"] > 0 and r["connections"] != 1):
	            bad.append(r)
	for r in bad:
	    print("too many connections:", r)
	sys.exit(1 if bad else 0)
	PY
'

test_expect_success 'figures are JSON lines with medians and ratios' '
	python3 - "$TRASH/results.jsonl" <<-\PY
	import json, sys
	rows = [json.loads(l) for l in open(sys.argv[1])]
	cmp = [r for r in rows if "ratio" in r]
	assert len(cmp) == 7, cmp
	for r in cmp:
	    assert r["a_ms"] > 0 and r["b_ms"] > 0 and r["ratio"] > 0, r
	PY
'

test_done
