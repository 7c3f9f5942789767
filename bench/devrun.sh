#!/bin/bash
# Benchmark (issue 6): devrun's client side.
#
#   bench/devrun.sh [--quick] [--runs N] [--bin DIR]
#
# 1. Packaging local changes, for 1, 100 and 1000 changed files (half
#    modified tracked files, half untracked new ones) in a repository of
#    2000 tracked files: `kubectl-eidf-devrun render` (libgit2 diff, tar.gz,
#    expected tree, base64 Secret + Job as YAML; no cluster, no kubeconfig)
#    against `git diff --binary HEAD` + `git ls-files -o --exclude-standard`
#    + a tar.gz of the untracked files, on the same repository.  Goal: ratio
#    (devrun / git) <= 1.0.
# 2. Client-side time from start to Job created: `devrun --detach` (Job and
#    Secret created, no following) against the local test cluster, with the
#    100-file state; plus its API requests and TLS connections.
#
# Runs alternate between the two sides after one warm-up each; medians.
# --quick: tiny sizes (1, 10, 50 files in a 200-file repo), 3 runs (< 20 s).
# Executables: --bin DIR, else $EIDF_BIN, else build/release/bin.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
RUNS=11 SIZES="1 100 1000" TRACKED=2000 JOBRUNS=11 BIN=${EIDF_BIN:-}
while [ $# -gt 0 ]; do
	case $1 in
	--quick) RUNS=3 SIZES="1 10 50" TRACKED=200 JOBRUNS=3 ;;
	--runs) RUNS=$2 JOBRUNS=$2; shift ;;
	--bin) BIN=$2; shift ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: $0 [--quick] [--runs N] [--bin DIR]" >&2; exit 2 ;;
	esac
	shift
done
BIN=$(cd "${BIN:-$SRC/build/release/bin}" && pwd)
DEVRUN=$BIN/kubectl-eidf-devrun
[ -x "$DEVRUN" ] || { echo "bench/devrun.sh: $DEVRUN not built (cmake --preset release && cmake --build --preset release)" >&2; exit 1; }
command -v git >/dev/null || { echo "bench/devrun.sh: needs git" >&2; exit 1; }

W=$(mktemp -d "${TMPDIR:-/tmp}/eidf-bench-devrun.XXXXXX")
CLUSTER=
cleanup() {
	[ -n "$CLUSTER" ] && python3 "$SRC/tests/cluster/eidf-test-cluster" stop "$W/cluster" >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT
export HOME=$W/home XDG_CONFIG_HOME=$W/home/.config GIT_CONFIG_NOSYSTEM=1 \
	GIT_AUTHOR_NAME=B GIT_AUTHOR_EMAIL=b@example.org GIT_COMMITTER_NAME=B GIT_COMMITTER_EMAIL=b@example.org
mkdir -p "$HOME"
unset KUBECONFIG

# A repository of $TRACKED files in 20 directories, "pushed" (a remote-tracking
# ref holds HEAD, which is all devrun checks on the client).
make_repo() { # DIR
	mkdir -p "$1" && cd "$1" && git init -q -b main . &&
	python3 - "$TRACKED" <<-'PY'
	import os, random, sys
	random.seed(1)
	n = int(sys.argv[1])
	words = ["tensor", "loss", "epoch", "batch", "model", "grad", "layer", "import", "def", "return"]
	for i in range(n):
	    d = "pkg%02d" % (i % 20)
	    os.makedirs(d, exist_ok=True)
	    with open("%s/mod%04d.py" % (d, i), "w") as f:
	        for _ in range(40):
	            f.write(" ".join(random.choice(words) for _ in range(8)) + "\n")
	PY
	printf '*.log\nbuild/\n' >.gitignore && mkdir -p build && echo x >build/ignored.o &&
	git add -A && git commit -q -m base &&
	git remote add origin https://git.example.org/bench/repo.git &&
	git update-ref refs/remotes/origin/main HEAD && git branch -q -u origin/main
}
# change_files N: N/2 (at least 1) tracked files modified, the rest new untracked files.
change_files() {
	git reset -q --hard && git clean -q -fd
	python3 - "$1" <<-'PY'
	import os, sys
	n = int(sys.argv[1]); mod = max(1, n // 2)
	tracked = sorted(os.path.join(d, f) for d in os.listdir(".") if d.startswith("pkg")
	                 for f in os.listdir(d))
	for i in range(mod):
	    with open(tracked[i * 7 % len(tracked)], "a") as f:
	        f.write("# local edit %d\n" % i)
	os.makedirs("new", exist_ok=True)
	for i in range(n - mod):
	    with open("new/file%04d.py" % i, "w") as f:
	        f.write("print(%d)\n" % i * 20)
	with open("debug.log", "w") as f:   # ignored: shipped by neither side
	    f.write("noise\n")
	PY
}

# time_pair RUNS LABEL_A CMD_A LABEL_B CMD_B: alternating, one warm-up each,
# prints "wall_a wall_b cpu_a cpu_b": medians in ms; cpu is user+sys of every
# process of the side (sh, and for git: git, git, tar, gzip), which a busy
# machine disturbs less than wall time.  Commands are sh -c strings run in $PWD.
time_pair() {
	python3 - "$@" <<-'PY'
	import resource, statistics, subprocess, sys, time
	runs = int(sys.argv[1]); cmds = [sys.argv[3], sys.argv[5]]
	def cpu():
	    r = resource.getrusage(resource.RUSAGE_CHILDREN)
	    return (r.ru_utime + r.ru_stime) * 1000
	def run(c):
	    c0 = cpu(); t0 = time.perf_counter()
	    r = subprocess.run(["sh", "-c", c], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
	    t = (time.perf_counter() - t0) * 1000
	    if r.returncode:
	        sys.exit("bench: %r failed (%d): %s" % (c, r.returncode, r.stderr.decode()[-400:]))
	    return t, cpu() - c0
	res = [[], []]
	for k in (0, 1):
	    run(cmds[k])
	for i in range(runs):
	    for k in ((0, 1) if i % 2 == 0 else (1, 0)):
	        res[k].append(run(cmds[k]))
	med = lambda k, j: statistics.median(x[j] for x in res[k])
	print("%.1f %.1f %.1f %.1f" % (med(0, 0), med(1, 0), med(0, 1), med(1, 1)))
	PY
}
ratio() { python3 -c "print('%.2f' % ($1 / $2))"; }

RENDER="'$DEVRUN' render -n bench --image busybox:latest -- true >/dev/null"
GITSIDE="git diff --binary HEAD >'$W/p.diff' && git ls-files -z -o --exclude-standard | tar --null -T - -czf '$W/u.tgz'"

echo "devrun packaging: $TRACKED tracked files, medians of $RUNS runs, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
printf '  %-6s %10s %10s %6s   %10s %10s %6s  %12s\n' files "devrun" "git+tar" ratio "devrun" "git+tar" ratio shipped
printf '  %-6s %29s   %29s\n' "" "wall ms (median)" "cpu ms (median)"
(
	make_repo "$W/repo" >/dev/null
	for n in $SIZES; do
		change_files "$n"
		read -r a b ca cb < <(time_pair "$RUNS" devrun "$RENDER" git "$GITSIDE")
		shipped=$("$DEVRUN" render -n bench --image busybox:latest -o json -- true 2>/dev/null |
			python3 -c 'import json,sys; l=json.load(sys.stdin); s=[o for o in l["items"] if o["kind"]=="Secret"]; print(sum(len(v) for v in s[0]["data"].values()) if s else 0)')
		printf '  %-6s %10s %10s %6s   %10s %10s %6s  %12s\n' "$n" "$a" "$b" "$(ratio "$a" "$b")" \
			"$ca" "$cb" "$(ratio "$ca" "$cb")" "${shipped}B b64"
	done
)

# Start to Job created, against the local test cluster.  GPU quota 0: the
# Jobs stay queued in Kueue, so no pods run meanwhile.
python3 "$SRC/tests/cluster/eidf-test-cluster" --state-dir "$W/cluster" --kubeconfig-out "$W/cluster/kubeconfig" \
	--pki-cache "${TMPDIR:-/tmp}/eidf-test-cluster-pki" --background --parent-pid $$ \
	--tenant eidf042ns --eidf-policy --gpu-quota 0 >"$W/cluster.out" 2>&1 || {
	cat "$W/cluster.out" >&2; echo "bench/devrun.sh: the test cluster did not start" >&2; exit 1; }
CLUSTER=1
export KUBECONFIG=$W/cluster/kubeconfig
N=$(set -- $SIZES; echo "$2")
(
	cd "$W/repo" && change_files "$N"
	DETACH="'$DEVRUN' -n eidf042ns --image busybox:latest --cpu 100m --memory 128Mi --gpu 1 --detach -- true"
	read -r a b ca cb < <(time_pair "$JOBRUNS" detach "$DETACH" render "$RENDER")
	echo
	echo "devrun start to Job created ($N changed files, local test cluster, medians of $JOBRUNS runs):"
	printf '  %-44s %8s ms wall %8s ms cpu\n' "devrun --detach (Job + Secret created)" "$a" "$ca" \
		"devrun render (same work, no cluster)" "$b" "$cb"
	r0=$(wc -l <"$W/cluster/requests.jsonl") c0=$(grep -c '"event": *"open"' "$W/cluster/connections.jsonl")
	sh -c "$DETACH" >/dev/null 2>&1
	sleep 0.2
	r1=$(wc -l <"$W/cluster/requests.jsonl") c1=$(grep -c '"event": *"open"' "$W/cluster/connections.jsonl")
	printf '  %-44s %d request(s), %d TLS connection(s)\n' "devrun --detach" $((r1 - r0)) $((c1 - c0))
)
