# Helpers for bench/run.sh (sourced).  Timing is done by a small Python
# harness: each command is started with posix_spawn and reaped with wait4, so
# wall time has no shell in it and peak RSS (ru_maxrss) is the command's own
# (kept across execve, so a dispatcher that execs a stage reports the larger).

# bench_compare RUNS NAME_A NAME_B -- ARGV_A... -- ARGV_B...
# Runs A and B alternately (the first one alternating too) after one warm-up
# each, prints median wall ms, median peak RSS and the ratio A/B, and appends
# a JSON line to $BENCH_RESULTS when set.  Fails if a run exits non-zero.
bench_compare() {
	python3 - "$@" <<-'PY'
	import json, os, shutil, statistics, sys, time
	runs = int(sys.argv[1]); names = sys.argv[2:4]; rest = sys.argv[4:]
	assert rest[0] == "--"
	i = rest.index("--", 1)
	cmds = [rest[1:i], rest[i + 1:]]
	err = os.environ.get("BENCH_ERR", "/dev/null")
	def run(argv):
	    path = argv[0] if "/" in argv[0] else shutil.which(argv[0])
	    if not path:
	        sys.exit("bench: %s not found" % argv[0])
	    fa = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
	          (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
	          (os.POSIX_SPAWN_OPEN, 2, err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)]
	    t0 = time.perf_counter()
	    pid = os.posix_spawn(path, argv, os.environ, file_actions=fa)
	    _, status, ru = os.wait4(pid, 0)
	    t = time.perf_counter() - t0
	    if status != 0:
	        sys.stderr.write("bench: %s failed (status %d):\n" % (" ".join(argv), status))
	        sys.stderr.write(open(err).read() if err != "/dev/null" else "")
	        sys.exit(1)
	    return t * 1000.0, ru.ru_maxrss / 1024.0
	res = [[], []]
	for k in (0, 1):
	    run(cmds[k])  # warm-up: page cache, kubectl's discovery cache
	for r in range(runs):
	    order = (0, 1) if r % 2 == 0 else (1, 0)
	    for k in order:
	        res[k].append(run(cmds[k]))
	med = [(statistics.median(t for t, _ in x), statistics.median(m for _, m in x)) for x in res]
	for k in (0, 1):
	    print("  %-34s median %8.1f ms  (min %7.1f)  peak RSS %6.1f MiB"
	          % (names[k], med[k][0], min(t for t, _ in res[k]), med[k][1]))
	ratio = med[0][0] / med[1][0]
	rss_ratio = med[0][1] / med[1][1]
	print("  %-34s time %.3f, RSS %.3f  (%d runs each)" % ("ratio", ratio, rss_ratio, runs))
	out = os.environ.get("BENCH_RESULTS")
	if out:
	    with open(out, "a") as f:
	        f.write(json.dumps({"a": names[0], "b": names[1], "runs": runs,
	                            "a_ms": round(med[0][0], 2), "b_ms": round(med[1][0], 2),
	                            "a_rss_mib": round(med[0][1], 1), "b_rss_mib": round(med[1][1], 1),
	                            "ratio": round(ratio, 4), "rss_ratio": round(rss_ratio, 4)}) + "\n")
	PY
}

# bench_counts LABEL ARGV...: run once, print the API requests and TLS
# connections it caused (from the test cluster's logs in $CLUSTER_DIR).
bench_counts() {
	local label=$1 r0 c0 r1 c1 rc=0
	shift
	r0=$(wc -l <"$CLUSTER_DIR/requests.jsonl") c0=$(grep -c '"event": *"open"' "$CLUSTER_DIR/connections.jsonl")
	"$@" >/dev/null 2>"$W/counts.err" || rc=$?
	sleep 0.2 # the server logs after answering
	r1=$(wc -l <"$CLUSTER_DIR/requests.jsonl") c1=$(grep -c '"event": *"open"' "$CLUSTER_DIR/connections.jsonl")
	printf '  %-44s %3d request(s)  %2d TLS connection(s)%s\n' "$label" $((r1 - r0)) $((c1 - c0)) \
		"$([ $rc = 0 ] || echo "  (exit $rc: $(head -c 120 "$W/counts.err" | tr '\n' ' '))")"
	if [ -n "${BENCH_RESULTS:-}" ]; then
		printf '{"counts": "%s", "requests": %d, "connections": %d, "exit": %d}\n' \
			"$label" $((r1 - r0)) $((c1 - c0)) "$rc" >>"$BENCH_RESULTS"
	fi
}

# bench_start_cluster ARGS...: start the local test cluster.
bench_start_cluster() {
	python3 "$SRC/tests/cluster/eidf-test-cluster" "$@"
}
