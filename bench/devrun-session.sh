#!/bin/bash
# Benchmark (issue 17): the edit-test loop, a cold devrun Job against a run
# in a held session, side by side on the local test cluster.
#
#   bench/devrun-session.sh [--quick] [--runs N] [--trace N] [--bin DIR] [--cold-exec]
#
# Before every run one file of the work tree is edited (a line appended).
# Then, alternately (one warm-up each, the first side alternating):
#   (a) cold:    devrun --follow -- python3 -c 'print(1)'   (a new Job)
#   (b) session: devrun --session bench -- python3 -c 'print(1)'
# Measured from starting the command to the first line of its stdout, and to
# its exit; medians.  Also the API requests, TLS connections and exec
# sessions per run (the cluster's request log) and, for (b), what was
# shipped (devrun's "shipping ..." line); the load average before and after;
# and the CPU time a run costs from start to exit (the test cluster's
# process tree, pods included, plus the client's), which the machine's load
# does not change much (less what the idle cluster spends meanwhile,
# measured for 2 s before the runs).  Goal: (b) <= 1 s median and <= 0.2 x (a).  For
# scale, (c) the same command by `kubectl exec` alone in the session's pod.
# --quick: 3 runs (a smoke test).  --trace N (default 5; 0: none): then N
# more session runs under `perf record -a` (bench/devrun-session-trace.py):
# the time of every step of a run from devrun's start (client, API server,
# node agent, each process in the pod, the first line) and the CPU each
# part spent on a CPU and waiting for one; skipped, with a note, without
# perf or its permission.  Executables: --bin DIR, else $EIDF_BIN, else
# build/release/bin.  --cold-exec: (a) ships its changes with
# --changes-transport exec (the upload into the init container once the pod
# runs) instead of in a Secret.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
RUNS=11 BIN=${EIDF_BIN:-} TRACE=5 COLD_ARGS=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) RUNS=3 TRACE=0 ;;
	--trace) TRACE=$2; shift ;;
	--runs) RUNS=$2; shift ;;
	--bin) BIN=$2; shift ;;
	--cold-exec) COLD_ARGS=--changes-transport=exec ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: $0 [--quick] [--runs N] [--trace N] [--bin DIR] [--cold-exec]" >&2; exit 2 ;;
	esac
	shift
done
BIN=$(cd "${BIN:-$SRC/build/release/bin}" && pwd)
DEVRUN=$BIN/kubectl-eidf-devrun
[ -x "$DEVRUN" ] || { echo "bench/devrun-session.sh: $DEVRUN not built (cmake --preset release && cmake --build --preset release)" >&2; exit 1; }
for t in git busybox python3 kubectl; do
	command -v $t >/dev/null || { echo "bench/devrun-session.sh: needs $t" >&2; exit 1; }
done

W=$(mktemp -d "${TMPDIR:-/tmp}/eidf-bench-session.XXXXXX")
NS=eidf042ns
cleanup() {
	[ -f "$W/daemon.pid" ] && kill "$(cat "$W/daemon.pid")" 2>/dev/null
	python3 "$SRC/tests/cluster/eidf-test-cluster" stop "$W/cluster" >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT
export HOME=$W/home XDG_CONFIG_HOME=$W/home/.config GIT_CONFIG_NOSYSTEM=1 \
	GIT_AUTHOR_NAME=B GIT_AUTHOR_EMAIL=b@example.org GIT_COMMITTER_NAME=B GIT_COMMITTER_EMAIL=b@example.org
mkdir -p "$HOME"
export PATH="$BIN:$PATH"

python3 "$SRC/tests/cluster/eidf-test-cluster" --state-dir "$W/cluster" --kubeconfig-out "$W/cluster/kubeconfig" \
	--pki-cache "${TMPDIR:-/tmp}/eidf-test-cluster-pki" --background --parent-pid $$ \
	--tenant $NS --eidf-policy --gpu-quota 12 >"$W/cluster.out" 2>&1 || {
	cat "$W/cluster.out" >&2; echo "bench/devrun-session.sh: the test cluster did not start" >&2; exit 1; }
export KUBECONFIG=$W/cluster/kubeconfig

# the code: 200 files served by git daemon on loopback
mkdir -p "$W/srv" && git init -q --bare -b main "$W/srv/repo.git"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
git daemon --base-path="$W/srv" --export-all --enable=upload-pack --enable=receive-pack --reuseaddr \
	--listen=127.0.0.1 --port="$port" --pid-file="$W/daemon.pid" --detach
for _ in $(seq 50); do git ls-remote "git://127.0.0.1:$port/repo.git" >/dev/null 2>&1 && break; sleep 0.1; done
git clone -q "git://127.0.0.1:$port/repo.git" "$W/w" 2>/dev/null
cd "$W/w"
git checkout -q -b main
python3 - <<-'PY'
import os
for i in range(200):
    d = "pkg%02d" % (i % 10)
    os.makedirs(d, exist_ok=True)
    with open("%s/mod%03d.py" % (d, i), "w") as f:
        f.write("".join("x%d = %d\n" % (j, j) for j in range(40)))
PY
git add -A && git commit -q -m base && git push -q -u origin main

COMMON="-n $NS --image busybox:latest --cpu 100m --memory 128Mi"
echo "devrun session vs cold devrun: python3 -c 'print(1)' after a one-file edit, medians of $RUNS runs," \
	"$(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
"$DEVRUN" $COMMON --session bench -- true >/dev/null 2>"$W/start.err" || { cat "$W/start.err" >&2; exit 1; }

POD=$(kubectl get pods -n $NS -l eidf.ac.uk/session=bench -o jsonpath='{.items[0].metadata.name}')
CLUSTER_PID=$(pgrep -o -f "eidf-test-cluster --state-dir $W/cluster ")
python3 - "$RUNS" "$DEVRUN" "$COMMON" "$W/cluster/requests.jsonl" "$POD" "$CLUSTER_PID" "$COLD_ARGS" <<-'PY'
import json, os, re, resource, statistics, subprocess, sys, time
runs, devrun, common, reqlog, pod = int(sys.argv[1]), sys.argv[2], sys.argv[3].split(), sys.argv[4], sys.argv[5]
cluster = int(sys.argv[6])
cold_args = sys.argv[7].split()
def tree_cpu_ms():
    """CPU time of the cluster's process tree (API server, controllers, node agent, the pods'
    processes; reaped ones through their parents): what a run costs whatever the load."""
    kids, cpu = {}, {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rindex(")") + 2:].split()
        kids.setdefault(int(rest[1]), []).append(int(p))
        cpu[int(p)] = sum(int(x) for x in rest[11:15])
    total, todo = 0, [cluster]
    while todo:
        p = todo.pop()
        total += cpu.get(p, 0)
        todo += kids.get(p, [])
    return total * 1000.0 / os.sysconf("SC_CLK_TCK")
def own_cpu_ms():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime) * 1000.0
cmd = ["python3", "-c", "print(1)"]
sides = {
    "cold devrun Job": [devrun] + common + cold_args + ["--follow", "--"] + cmd,
    "session run": [devrun] + common[:2] + ["--session", "bench", "--"] + cmd,
    # the floor: the same command by kubectl exec alone in the session's pod
    "kubectl exec": ["kubectl"] + common[:2] + ["exec", pod, "-c", "main", "--"] + cmd,
}
edits = 0
def edit():
    global edits
    edits += 1
    with open("pkg00/mod000.py", "a") as f:
        f.write("edit%d = %d\n" % (edits, edits))
def requests():
    with open(reqlog) as f:
        return [json.loads(l) for l in f]
def run(name):
    edit()
    r0 = len(requests())
    c0 = tree_cpu_ms() + own_cpu_ms()
    t0 = time.perf_counter()
    p = subprocess.Popen(sides[name], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = p.stdout.readline()
    t1 = time.perf_counter()
    out, err = p.communicate()
    t2 = time.perf_counter()
    cpu = tree_cpu_ms() + own_cpu_ms() - c0 - idle_rate * (t2 - t0)
    if p.returncode != 0 or first.strip() != b"1":
        sys.exit("bench: %s failed (%d): %s" % (name, p.returncode, err.decode()[-600:]))
    if name == "kubectl exec":
        return (t1 - t0) * 1000, (t2 - t0) * 1000, [], "", cpu
    reqs = requests()[r0:]
    m = re.search(rb"shipping ([^()]*) \(([^,]*),", err)
    return ((t1 - t0) * 1000, (t2 - t0) * 1000, reqs, m.group(1).decode() + ", " + m.group(2).decode() if m else "",
            cpu)
# the cluster's own CPU while idle (its controllers' loops), taken off every run's figure
i0, t_i = tree_cpu_ms(), time.perf_counter()
time.sleep(2)
idle_rate = (tree_cpu_ms() - i0) / (time.perf_counter() - t_i)
res = {k: [] for k in sides}
names = list(sides)
for k in names:
    run(k)
for i in range(runs):
    for k in (names if i % 2 == 0 else names[::-1]):
        if k == "kubectl exec":
            # between session runs only: a run never meets the floor's process
            continue
        res[k].append(run(k))
    res["kubectl exec"].append(run("kubectl exec"))
med = {k: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for k, v in res.items()}
print("  %-18s %12s %12s %12s %12s" % ("", "first line", "(min)", "exit", "CPU"))
names = list(sides)
cpu = {k: statistics.median(x[4] for x in v) for k, v in res.items()}
for k in names:
    print("  %-18s %9.0f ms %9.0f ms %9.0f ms %9.0f ms" % (k, med[k][0], min(x[0] for x in res[k]), med[k][1],
                                                          cpu[k]))
a, b = med["cold devrun Job"][0], med["session run"][0]
print("  ratio session/cold (first line): %.3f   goal: session <= 1000 ms and ratio <= 0.2: %s"
      % (b / a, "met" if b <= 1000 and b / a <= 0.2 else "NOT met"))
print("  ratio session/cold (CPU to exit: the cluster's processes and the client's, less the idle "
      "cluster's %.0f ms/s): %.3f" % (idle_rate, cpu["session run"] / cpu["cold devrun Job"]))
s = res["session run"]
def kind(r):
    ua = r.get("user_agent", "")
    who = "devrun" if ua.startswith("kubectl-eidf") else "kubectl" if ua.startswith("kubectl/") else ua.split("/")[0]
    return "%s %s %s" % (who, r["method"], re.sub(r"/(pods)/[^/?]+", r"/\1/POD", r["path"]).split("/namespaces/")[-1])
def per_run(v):
    reqs = statistics.median(len(x[2]) for x in v)
    conns = statistics.median(len({r.get("conn") for r in x[2]}) for x in v)
    execs = statistics.median(sum(1 for r in x[2] if r["path"].endswith("/exec")) for x in v)
    return "%g API requests on %g connections, %g exec session%s (medians)" % (reqs, conns, execs,
                                                                              "" if execs == 1 else "s")
print("  session run: %s: %s" % (per_run(s), "; ".join(kind(r) for r in s[-1][2])))
print("  session run: shipped %s (last run; the edit is one line appended to one file)" % s[-1][3])
c = res["cold devrun Job"]
by_kubectl = statistics.median(sum(1 for r in x[2] if r.get("user_agent", "").startswith("kubectl/")) for x in c)
print("  cold devrun%s: %s, %g of them by a kubectl process" % (" " + " ".join(cold_args) if cold_args else "",
                                                                per_run(c), by_kubectl))
print("  load average after: %s" % open("/proc/loadavg").read().split()[0])
PY
if [ "$TRACE" -gt 0 ]; then
	if command -v perf >/dev/null && perf record -q -a -e sched:sched_process_exec -o "$W/perf.probe" -- true \
		>/dev/null 2>&1; then
		python3 "$SRC/bench/devrun-session-trace.py" "$TRACE" "$CLUSTER_PID" "$W/w" -- \
			"$DEVRUN" -n $NS --session bench -- python3 -c 'print(1)' ||
			echo "  (the trace failed; the figures above stand)"
	else
		echo "  (no trace: perf is missing or may not trace the system; --trace 0 skips this)"
	fi
fi
"$DEVRUN" -n $NS session stop bench >/dev/null
