#!/bin/bash
# Benchmark P9 (issue 20): `kubectl eidf pvc cp` against `kubectl cp` and a
# raw `kubectl exec -i ... cat > file` (the transport's own ceiling), one
# file up to a claim and down again, on the local test cluster, in one run.
#
#   bench/pvc-cp.sh [--quick] [--size MiB] [--runs N] [--tree FILES] [--bin DIR]
#
# All three go through the same helper pod (started once by `pvc cp --keep`),
# the same kubeconfig and the real kubectl.  Every variant runs once per
# round in a rotating order after one warm-up round; the figures are medians.
# pvc cp starts from nothing each time (the file is removed on the receiving
# side first), so it sends every byte and verifies every chunk.  Then a drop:
# the local cluster's `cut` fault ends the exec stream half-way through an
# upload and a download, and `-o json` reports the bytes sent again
# (resentBytes; goal <= 1 MiB per drop).  Goal: pvc cp throughput >= 0.9x raw.
# --quick: 64 MiB, 1 round (for smoke runs).  --runs 0: one round, no warm-up.
# Then a tree of FILES files of 1 KB in 20 directories (default 2000; 0: not
# run), up and down, each from nothing, beside `kubectl cp` and a raw
# `tar c | kubectl exec -i ... tar x` (the transport's ceiling for a tree;
# neither verifies anything): the medians of the same rounds.
# Besides the times it reports the CPU each variant cost: the test cluster's
# process tree (its Python API server and node agent, and, shown apart, the pod's processes
# it reaps) and the client's (kubectl and kubectl-eidf), and the load average
# before and after (the machine may be shared: the ratios are what compare).
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
SIZE_MIB=1024 RUNS=3 TREE=2000 BIN=${EIDF_BIN:-}
while [ $# -gt 0 ]; do
	case $1 in
	--quick) SIZE_MIB=64 RUNS=1 ;;
	--size) SIZE_MIB=$2; shift ;;
	--runs) RUNS=$2; shift ;;
	--tree) TREE=$2; shift ;;
	--bin) BIN=$2; shift ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: $0 [--quick] [--size MiB] [--runs N] [--tree FILES] [--bin DIR]" >&2; exit 2 ;;
	esac
	shift
done
[ -n "$BIN" ] || BIN=$SRC/build/release/bin
[ -x "$BIN/kubectl-eidf-pvc" ] || BIN=$SRC/build/default/bin
BIN=$(cd "$BIN" && pwd)
[ -x "$BIN/kubectl-eidf-pvc" ] || { echo "bench/pvc-cp.sh: build first ($BIN/kubectl-eidf-pvc)" >&2; exit 1; }
export PATH=$BIN:$PATH
W=$(mktemp -d "${TMPDIR:-/tmp}/eidf-bench-pvc-cp.XXXXXX")
CLUSTER=
cleanup() {
	[ -n "$CLUSTER" ] && python3 "$SRC/tests/cluster/eidf-test-cluster" stop "$W/cluster" >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT
export HOME=$W/home XDG_CONFIG_HOME=$W/home/.config
mkdir -p "$HOME" "$W/out"
python3 "$SRC/tests/cluster/eidf-test-cluster" --state-dir "$W/cluster" --kubeconfig-out "$W/cluster/kubeconfig" \
	--pki-cache "${TMPDIR:-/tmp}/eidf-test-cluster-pki" --background --parent-pid $$ \
	--tenant eidf042ns --eidf-policy >"$W/cluster.out" 2>&1 || {
	cat "$W/cluster.out" >&2; echo "bench/pvc-cp.sh: the test cluster did not start" >&2; exit 1; }
CLUSTER=1
CPID=$(sed -n 's/.* pid=\([0-9]*\).*/\1/p' "$W/cluster.out" | tail -n 1)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
export KUBECONFIG=$W/cluster/kubeconfig
ctl() { python3 "$SRC/tests/cluster/eidf-test-cluster" ctl --state-dir "$W/cluster" "$@"; }

kubectl-eidf pvc create bench --size 100Gi --wait=60s >/dev/null
echo warm >"$W/warm"
kubectl-eidf pvc cp "$W/warm" bench:warm --keep >/dev/null 2>&1
POD=$(kubectl get pods -l eidf.ac.uk/pvc-cp=rw -o jsonpath='{.items[0].metadata.name}')
head -c $((SIZE_MIB * 1048576)) /dev/urandom >"$W/data.bin"
SUM=$(sha256sum <"$W/data.bin" | cut -d' ' -f1)
pexec() { kubectl exec -i "$POD" -c helper -- "$@"; }

v_up_raw() { pexec sh -c 'cat >/mnt/pvc/raw.bin' <"$W/data.bin"; }
v_up_kcp() { kubectl cp -c helper "$W/data.bin" "$POD:/mnt/pvc/kcp.bin" >/dev/null; }
v_up_eidf() { kubectl-eidf pvc cp "$W/data.bin" bench:eidf.bin >/dev/null 2>&1; }
v_down_raw() { pexec cat /mnt/pvc/raw.bin >"$W/out/raw"; }
v_down_kcp() { kubectl cp -c helper "$POD:/mnt/pvc/raw.bin" "$W/out/kcp" >/dev/null 2>&1; }
v_down_eidf() { rm -f "$W/out/eidf"; kubectl-eidf pvc cp bench:raw.bin "$W/out/eidf" >/dev/null 2>&1; }

VARIANTS=(up_raw up_kcp up_eidf down_raw down_kcp down_eidf)
nv=${#VARIANTS[@]}
now() { date +%s.%N; }
# CPU seconds of the cluster's process tree so far: its own (the Python API
# server and node agent) and its reaped children's (the pods' processes)
ccpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f %.2f", ($14 + $15) / hz, ($16 + $17) / hz }' "/proc/$CPID/stat"; }
: >"$W/times"
for r in $(seq 0 "$RUNS"); do
	order=("${VARIANTS[@]:$((r % nv))}" "${VARIANTS[@]:0:$((r % nv))}")
	for v in "${order[@]}"; do
		# the downloads read what up_raw wrote
		[ ! -e "$W/raw-done" ] && [ "${v#down}" != "$v" ] && { v_up_raw; touch "$W/raw-done"; }
		# not timed: pvc cp starts from nothing (a copy already there is skipped)
		[ "$v" = up_eidf ] && pexec rm -f /mnt/pvc/eidf.bin
		c0=$(ccpu)
		t0=$(now)
		/usr/bin/time -f "%U %S" -o "$W/client-cpu" bash -c "$(declare -f pexec "v_$v"); W='$W' POD='$POD' v_$v" ||
			{ echo "bench: $v failed" >&2; exit 1; }
		t1=$(now)
		c1=$(ccpu)
		[ "$v" = up_raw ] && touch "$W/raw-done"
		[ "$r" -gt 0 ] || [ "$RUNS" = 0 ] && echo "$v $t0 $t1 $c0 $c1 $(cat "$W/client-cpu")" >>"$W/times"
	done
done
# every copy is whole
for f in "$W/out/raw" "$W/out/kcp" "$W/out/eidf"; do
	[ "$(sha256sum <"$f" | cut -d' ' -f1)" = "$SUM" ] || echo "bench: $f differs from the source" >&2
done
[ "$(pexec sha256sum /mnt/pvc/eidf.bin | cut -d' ' -f1)" = "$SUM" ] || echo "bench: bench:eidf.bin differs" >&2

# drops: half-way through an upload and a download
pexec rm -f /mnt/pvc/drop.bin
half=$((SIZE_MIB * 1048576 / 2))
ctl fault cut --path "/pods/.*/exec" --bytes "$half" >/dev/null
kubectl-eidf pvc cp "$W/data.bin" bench:drop.bin -o json >"$W/drop-up.json" 2>/dev/null
ctl fault cut --path "/pods/.*/exec" --bytes "$half" >/dev/null
kubectl-eidf pvc cp bench:drop.bin "$W/out/drop" -o json >"$W/drop-down.json" 2>/dev/null
[ "$(sha256sum <"$W/out/drop" | cut -d' ' -f1)" = "$SUM" ] || echo "bench: the dropped download differs" >&2

# a tree of small files
: >"$W/tree-times"
if [ "$TREE" -gt 0 ]; then
	python3 - "$W/tree" "$TREE" <<'PY'
import os, sys
for i in range(int(sys.argv[2])):
    d = os.path.join(sys.argv[1], "d%02d" % (i % 20))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d" % i), "wb") as f:
        f.write(os.urandom(1000))
PY
	t_up_tar() { tar -C "$W" -cf - tree | pexec tar -xf - -C /mnt/pvc/t-tar; }
	t_up_kcp() { kubectl cp -c helper "$W/tree" "$POD:/mnt/pvc/t-kcp" >/dev/null; }
	t_up_eidf() { kubectl-eidf pvc cp "$W/tree" bench:t-eidf >/dev/null 2>&1; }
	t_down_tar() { mkdir -p "$W/tdown/tar" && pexec tar -cf - -C /mnt/pvc/t-tar tree | tar -xf - -C "$W/tdown/tar"; }
	t_down_kcp() { kubectl cp -c helper "$POD:/mnt/pvc/t-tar/tree" "$W/tdown/kcp" >/dev/null 2>&1; }
	t_down_eidf() { kubectl-eidf pvc cp bench:t-tar/tree "$W/tdown/eidf" >/dev/null 2>&1; }
	for r in $(seq 0 "$RUNS"); do
		for v in up_tar up_kcp up_eidf down_tar down_kcp down_eidf; do
			# each from nothing
			pexec sh -c 'rm -rf /mnt/pvc/t-kcp /mnt/pvc/t-eidf; [ -d /mnt/pvc/t-tar/tree ] || mkdir -p /mnt/pvc/t-tar'
			[ "$v" = up_tar ] && pexec sh -c 'rm -rf /mnt/pvc/t-tar && mkdir -p /mnt/pvc/t-tar'
			rm -rf "$W/tdown/${v#down_}"
			t0=$(now)
			"t_$v" || { echo "bench: tree $v failed" >&2; exit 1; }
			t1=$(now)
			[ "$r" -gt 0 ] || [ "$RUNS" = 0 ] && echo "$v $t0 $t1" >>"$W/tree-times"
		done
	done
	diff -r "$W/tree" "$W/tdown/eidf" >/dev/null || echo "bench: the tree pvc cp downloaded differs" >&2
fi

python3 - "$W/tree-times" "$TREE" <<'PY'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    v, a, b = line.split()
    t.setdefault(v, []).append(float(b) - float(a))
if t:
    print("tree of %s files of 1 KB, medians of %d runs (time; ratio to raw tar over kubectl exec):" % (
        sys.argv[2], len(t["up_tar"])))
    for d in ("up", "down"):
        raw = statistics.median(t[d + "_tar"])
        for v, name in (("tar", "tar | kubectl exec -i tar"), ("kcp", "kubectl cp"), ("eidf", "kubectl eidf pvc cp")):
            s = statistics.median(t["%s_%s" % (d, v)])
            print("  %-4s %-26s %6.2f s  ratio to raw %.2f" % (d, name, s, raw / s))
PY
python3 - "$W/times" "$SIZE_MIB" "$W/drop-up.json" "$W/drop-down.json" "$LOAD0" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, statistics, sys
t, cpu = {}, {}
for line in open(sys.argv[1]):
    v, a, b, p0, k0, p1, k1, u, s = line.split()
    t.setdefault(v, []).append(float(b) - float(a))
    cpu.setdefault(v, []).append((float(p1) - float(p0) + float(k1) - float(k0), float(u) + float(s),
                                  float(k1) - float(k0)))
mib = int(sys.argv[2])
med = {v: statistics.median(x) for v, x in t.items()}
print("P9 pvc cp, %d MiB, local test cluster, medians of %d runs (MiB/s; time; CPU s of cluster (of which the "
      "pod's processes) + client):" % (
    mib, len(t["up_raw"])))
for d in ("up", "down"):
    raw = med[d + "_raw"]
    for v, name in (("raw", "kubectl exec -i ... cat"), ("kcp", "kubectl cp"), ("eidf", "kubectl eidf pvc cp")):
        k = "%s_%s" % (d, v)
        s = med[k]
        cl = statistics.median(x[0] for x in cpu[k])
        cc = statistics.median(x[1] for x in cpu[k])
        ck = statistics.median(x[2] for x in cpu[k])
        print("  %-4s %-26s %7.1f MiB/s  %6.2f s  ratio to raw %.2f  CPU %5.1f (%4.1f) + %4.1f s" % (
            d, name, mib / s, s, raw / s, cl, ck, cc))
print("  load average before: %s, after: %s" % (sys.argv[5], sys.argv[6]))
for name, f in (("upload", sys.argv[3]), ("download", sys.argv[4])):
    j = json.load(open(f))
    print("  drop half-way (%s): reconnects %d, resumed %d, re-sent %d bytes (%.2f MiB)" % (
        name, j["reconnects"], j["resumed"], j["resentBytes"], j["resentBytes"] / 1048576))
PY
