#!/bin/bash
# kubectl-eidf benchmarks (issue 9; figures in docs/benchmarks.md).
#
#   bench/run.sh [--quick] [--bin DIR] [--runs N] [--pvcs N] [--no-stages]
#
#   B0  `kubectl-eidf version` vs `kubectl version --client`, and a
#       one-request command (`kubectl-eidf pvc get`) vs `kubectl get pvc NAME`
#       and vs curl(1) making the same GET (the libraries' own floor)
#   B1  `kubectl-eidf pvc list` vs `kubectl get pvc`: wall time, peak RSS
#       (also through kubectl's plugin lookup: `kubectl eidf pvc list`)
#   B2  completion: `kubectl_complete-eidf-fetch --pvc ""` vs
#       `kubectl __complete get pvc ""`
#   B3  API requests and TLS connections per command (cluster request log)
#   B4+ bench/fetch.sh, bench/devrun.sh, bench/build-context.sh when present
#
# All against one local test cluster (tests/cluster) started here in the
# background, same kubeconfig for both sides, runs alternating; medians.
# Executables: --bin DIR, else $EIDF_BIN, else build/release/bin (built with
# `cmake --preset release` when missing).  --quick: few runs, tiny sizes, for
# the CI smoke test.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/bench/lib.sh"

QUICK= RUNS=21 NPVC=20 STAGES=1 BIN=${EIDF_BIN:-}
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=--quick RUNS=3 NPVC=3 ;;
	--bin) BIN=$2; shift ;;
	--runs) RUNS=$2; shift ;;
	--pvcs) NPVC=$2; shift ;;
	--no-stages) STAGES= ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: $0 [--quick] [--bin DIR] [--runs N] [--pvcs N] [--no-stages]" >&2; exit 2 ;;
	esac
	shift
done

if [ -z "$BIN" ]; then
	BIN=$SRC/build/release/bin
	if [ ! -x "$BIN/kubectl-eidf-pvc" ]; then
		echo "# building the release preset" >&2
		(cd "$SRC" && cmake --preset release >/dev/null && cmake --build --preset release -j"$(nproc)" >/dev/null)
	fi
fi
BIN=$(cd "$BIN" && pwd)
for x in kubectl-eidf kubectl-eidf-pvc kubectl-eidf-fetch; do
	[ -x "$BIN/$x" ] || { echo "bench: $BIN/$x missing" >&2; exit 1; }
done
command -v kubectl >/dev/null || { echo "bench: needs kubectl" >&2; exit 1; }

W=$(mktemp -d "${TMPDIR:-/tmp}/eidf-bench.XXXXXX")
CLUSTER_DIR=$W/cluster
CLUSTER=$SRC/tests/cluster/eidf-test-cluster
cleanup() {
	python3 "$CLUSTER" stop "$CLUSTER_DIR" >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT
export HOME=$W/home XDG_CONFIG_HOME=$W/home/.config
mkdir -p "$HOME"
unset KUBECONFIG NO_COLOR
export PATH="$BIN:$PATH"
export BENCH_ERR=$W/err
# BENCH_RESULTS=FILE: also append the figures there as JSON lines

NS=eidf042ns
bench_start_cluster --state-dir "$CLUSTER_DIR" --kubeconfig-out "$W/kubeconfig" --tenant "$NS" \
	--background --parent-pid $$ >"$W/start.out" 2>&1 ||
	{ cat "$W/start.out" "$CLUSTER_DIR/cluster.log" >&2 2>/dev/null; echo "bench: cluster did not start" >&2; exit 1; }
export KUBECONFIG=$W/kubeconfig

# PVCs to list
for i in $(seq "$NPVC"); do
	printf 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: bench-%03d\nspec:\n  accessModes: [ReadWriteMany]\n  resources:\n    requests:\n      storage: %dGi\n---\n' "$i" "$i"
done >"$W/pvcs.yaml"
kubectl create -f "$W/pvcs.yaml" >/dev/null
for _ in $(seq 50); do
	[ "$(kubectl get pvc --no-headers 2>/dev/null | grep -c Bound)" -ge "$NPVC" ] && break
	sleep 0.2
done

# completion programs, as `kubectl-eidf completion install` lays them out
mkdir -p "$W/complete"
kubectl-eidf completion install --dir "$W/complete" >/dev/null
[ -e "$W/complete/kubectl_complete-eidf-fetch" ] ||
	ln -s "$BIN/kubectl-eidf" "$W/complete/kubectl_complete-eidf-fetch"

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "kubectl-eidf benchmarks  $(date -u +%Y-%m-%dT%H:%MZ)  $(nproc) CPU(s): $cpu  load average: $(cut -d" " -f1-3 /proc/loadavg)"
echo "binaries: $BIN   kubectl: $(kubectl version --client 2>/dev/null | head -1)"
echo "cluster: tests/cluster (loopback TLS), $NPVC PVCs, $RUNS runs per side$([ -n "$QUICK" ] && echo ' (quick)')"
echo

echo "B0 startup and a one-request command (issue 2)"
bench_compare "$RUNS" "kubectl-eidf version" "kubectl version --client" \
	-- kubectl-eidf version -- kubectl version --client
bench_compare "$RUNS" "kubectl-eidf pvc get X -o json" "kubectl get pvc X -o json" \
	-- kubectl-eidf pvc get bench-001 -o json -- kubectl get pvc bench-001 -o json
# The floor for one request: curl(1), on the same libcurl and OpenSSL, making
# the same GET with the same client certificate.
server=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["clusters"][0]["cluster"]["server"])' \
	"$W/kubeconfig")
pki=$CLUSTER_DIR/pki
if command -v curl >/dev/null && [ -f "$pki/client.key" ]; then
	bench_compare "$RUNS" "kubectl-eidf pvc get X -o json" "curl(1), the same GET" \
		-- kubectl-eidf pvc get bench-001 -o json \
		-- curl -sf --cacert "$pki/ca.crt" --cert "$pki/client.crt" --key "$pki/client.key" \
		"$server/api/v1/namespaces/$NS/persistentvolumeclaims/bench-001"
fi
echo
echo "B1 listing PVCs (goal: ratio <= 0.10)"
bench_compare "$RUNS" "kubectl-eidf pvc list" "kubectl get pvc" \
	-- kubectl-eidf pvc list -- kubectl get pvc
bench_compare "$RUNS" "kubectl eidf pvc list (via kubectl)" "kubectl get pvc" \
	-- kubectl eidf pvc list -- kubectl get pvc
echo
echo "B2 completion of --pvc (goal: <= 15 ms median, ratio <= 0.10)"
bench_compare "$RUNS" "kubectl_complete-eidf-fetch --pvc ''" "kubectl __complete get pvc ''" \
	-- "$W/complete/kubectl_complete-eidf-fetch" --pvc "" -- kubectl __complete get pvc ""
# the explicit subcommand always reaches the PVC lookup (one API request)
bench_compare "$RUNS" "kubectl_complete-eidf-fetch create --pvc ''" "kubectl __complete get pvc ''" \
	-- "$W/complete/kubectl_complete-eidf-fetch" create --pvc "" -- kubectl __complete get pvc ""
echo
echo "B3 API requests and TLS connections per command (goal: 1 connection per process)"
bench_counts "kubectl-eidf version" kubectl-eidf version
bench_counts "kubectl-eidf pvc list" kubectl-eidf pvc list
bench_counts "kubectl-eidf pvc get X -o json" kubectl-eidf pvc get bench-001 -o json
bench_counts "kubectl-eidf pvc get X" kubectl-eidf pvc get bench-001
bench_counts "kubectl-eidf pvc create bench-new --size 1Gi" kubectl-eidf pvc create bench-new --size 1Gi
bench_counts "kubectl-eidf pvc delete bench-new --yes" kubectl-eidf pvc delete bench-new --yes
bench_counts "kubectl_complete-eidf-fetch --pvc ''" "$W/complete/kubectl_complete-eidf-fetch" --pvc ""
bench_counts "kubectl_complete-eidf-fetch create --pvc ''" "$W/complete/kubectl_complete-eidf-fetch" create --pvc ""
bench_counts "kubectl-eidf fetch URL --pvc X" kubectl-eidf fetch http://127.0.0.1:9/none --pvc bench-001
for c in "fetch list" "fetch status" "devrun list" "build-context --help"; do
	# shellcheck disable=SC2086
	bench_counts "kubectl-eidf $c" kubectl-eidf $c
done
bench_counts "kubectl get pvc (reference)" kubectl get pvc
bench_counts "kubectl __complete get pvc '' (reference)" kubectl __complete get pvc ""

if [ -n "$STAGES" ]; then
	for s in fetch devrun build-context pvc-cp; do
		if [ -x "$SRC/bench/$s.sh" ] || [ -f "$SRC/bench/$s.sh" ]; then
			echo
			echo "B-$s: bench/$s.sh $QUICK"
			EIDF_BIN=$BIN bash "$SRC/bench/$s.sh" $QUICK || echo "  bench/$s.sh failed (exit $?)"
		fi
	done
fi
[ -n "${BENCH_RESULTS:-}" ] && echo && echo "results (JSON lines): $BENCH_RESULTS"
exit 0
