#!/usr/bin/env bash
# The EIDF "template workflow" end to end with kubectl eidf: the newcomer demo.
#
#   tests/demo/seed-workflow.sh            install deps, build (release), run
#   tests/demo/seed-workflow.sh --help     options
#
# With no cluster configured (no $KUBECONFIG and no ~/.kube/config), or with
# --local, it starts the bundled local test cluster (tests/cluster) with the
# EIDF admission policy and a tenant namespace, and stops it at exit.  Then:
#   1. kubectl eidf pvc create           a PVC for the workflow
#   2. kubectl eidf fetch --extract      a data set (iris.zip) into the PVC
#   3. kubectl eidf build-context        the custom image: init (Dockerfile +
#                                        GitHub workflow), the context with its
#                                        digest and summary, submit to the
#                                        cluster (--dry-run=server; locally also
#                                        a build Job with a stand-in executor)
#   4. kubectl eidf devrun               a Python script from a git repo, with
#                                        one uncommitted edit, reading the PVC
#   5. fetch status, build-context list, devrun list, pvc df
#   6. clean-up: the jobs and the PVC
# Every step prints a banner and the command it runs; any failure stops the
# demo with a non-zero exit code (after cleaning up).
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PROG=tests/demo/seed-workflow.sh

usage() {
	cat <<EOF
Usage: $PROG [options]

Runs the EIDF template workflow (PVC -> data fetch -> custom image ->
devrun -> status -> clean-up) with kubectl eidf, against the configured cluster or, when none is
configured, against the bundled local test cluster.

Options:
  --local             use the local test cluster even if a cluster is configured
  --no-build          do not install dependencies or build; use \$EIDF_BIN
                      (default: build/release/bin)
  --no-deps           build, but do not run tests/install-deps.sh
  --preset NAME       CMake preset to build (default: release)
  --data-url URL      data set to fetch (a zip of iris.csv or iris.data);
                      required with a real cluster: the cluster must reach it
  --sha256 HEX        sha256 of the file at --data-url (required with it)
  --repo-dir DIR      git working tree whose HEAD is pushed to a remote the
                      cluster can reach (required with a real cluster); the
                      demo adds analyse.py in a temporary worktree of it (your
                      working tree is not touched)
  --pvc NAME          PVC name (default: template-workflow-pvc); it must not
                      exist yet: the demo deletes only what it created
  --image IMAGE       image that runs the script (default: python:3.11-slim)
  -n, --namespace NS  namespace (default: the kubeconfig context's; local: eidf042ns)
  --keep              keep the work directory (and, locally, the cluster state)
  -h, --help          this help

Exit status: 0 when every step passed, 1 when one failed, 2 for usage errors
(including a real cluster without --data-url/--sha256/--repo-dir).
EOF
}

# ---- options ------------------------------------------------------------------
local_mode=0 build=1 deps=1 preset=release data_url="" data_sha="" repo_dir=""
pvc=template-workflow-pvc image=python:3.11-slim ns="" keep=0
need_arg() { [ $# -ge 2 ] || { echo "$PROG: $1 needs an argument" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
	case $1 in
	--local) local_mode=1 ;;
	--no-build) build=0 deps=0 ;;
	--no-deps) deps=0 ;;
	--preset) need_arg "$@"; preset=$2; shift ;;
	--preset=*) preset=${1#*=} ;;
	--data-url) need_arg "$@"; data_url=$2; shift ;;
	--data-url=*) data_url=${1#*=} ;;
	--sha256) need_arg "$@"; data_sha=$2; shift ;;
	--sha256=*) data_sha=${1#*=} ;;
	--repo-dir) need_arg "$@"; repo_dir=$2; shift ;;
	--repo-dir=*) repo_dir=${1#*=} ;;
	--pvc) need_arg "$@"; pvc=$2; shift ;;
	--pvc=*) pvc=${1#*=} ;;
	--image) need_arg "$@"; image=$2; shift ;;
	--image=*) image=${1#*=} ;;
	-n|--namespace) need_arg "$@"; ns=$2; shift ;;
	--namespace=*) ns=${1#*=} ;;
	--keep) keep=1 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "$PROG: unknown option: $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
if [ -n "$data_url" ] && [ -z "$data_sha" ]; then
	echo "$PROG: --data-url needs --sha256 HEX (the fetch is verified)" >&2
	exit 2
fi
if [ -n "$data_sha" ] && ! [[ $data_sha =~ ^[0-9a-fA-F]{64}$ ]]; then
	echo "$PROG: --sha256 must be 64 hex digits" >&2
	exit 2
fi
if [ -n "$repo_dir" ]; then
	repo_dir=$(cd "$repo_dir" 2>/dev/null && pwd) || { echo "$PROG: --repo-dir: no such directory" >&2; exit 2; }
fi

# A cluster is configured when kubectl would find a kubeconfig.
if [ "$local_mode" = 0 ] && [ -z "${KUBECONFIG:-}" ] && [ ! -f "$HOME/.kube/config" ]; then
	local_mode=1
fi
if [ "$local_mode" = 0 ] && { [ -z "$data_url" ] || [ -z "$repo_dir" ]; }; then
	cat >&2 <<EOF
$PROG: a cluster is configured (${KUBECONFIG:-~/.kube/config}), so the demo runs
against it.  The pods there cannot reach this machine's 127.0.0.1, so give:
  --data-url URL --sha256 HEX   a data set the cluster can download, e.g. the
                                seed's https://archive.ics.uci.edu/static/public/53/iris.zip
                                (compute HEX with: curl -sL URL | sha256sum)
  --repo-dir DIR                a git working tree whose HEAD is pushed to a
                                remote the cluster can clone
or run against the bundled local test cluster instead: $PROG --local
EOF
	exit 2
fi

# ---- output helpers -------------------------------------------------------------
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	B=$'\033[1m' G=$'\033[32m' R=$'\033[31m' C=$'\033[36m' N=$'\033[0m'
else
	B="" G="" R="" C="" N=""
fi
step_no=0 step_total=6 current=""
banner() {
	step_no=$((step_no+1)) current=$1
	printf '\n%s==> [%d/%d] %s%s\n' "$B" "$step_no" "$step_total" "$1" "$N"
}
note() { printf '%s--- %s%s\n' "$C" "$*" "$N"; }
die() {
	printf '%sFAILED%s %s\n' "$R$B" "$N" "$*" >&2
	exit 1
}
# run LOGNAME CMD...: show the command, run it with its output shown and
# kept in $WORK/LOGNAME.log; fail the demo on a non-zero exit.
run() {
	local log=$WORK/$1.log rc cmd; shift
	cmd=$(printf ' %q' "$@")
	printf '%s$%s%s\n' "$B" "$N" "$cmd"
	set +e
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	set -e
	[ "$rc" = 0 ] || die "step $step_no ($current): exit code $rc from:$cmd"
}

# ---- work directory and clean-up ----------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/eidf-demo.XXXXXX")
cluster_dir="" http_pid="" daemon_pidfile="" worktree=""
fetch_job="" devrun_job="" build_job="" pvc_created=0
NS_ARGS=()
cleanup() {
	local rc=$?
	set +e
	# Objects first (while the cluster still runs), only those this demo made.
	if [ -n "$devrun_job" ]; then kubectl eidf devrun delete "${NS_ARGS[@]}" "$devrun_job" >/dev/null 2>&1; fi
	if [ -n "$fetch_job" ]; then kubectl eidf fetch delete "${NS_ARGS[@]}" "$fetch_job" >/dev/null 2>&1; fi
	if [ -n "$build_job" ]; then kubectl delete job "${NS_ARGS[@]}" "$build_job" >/dev/null 2>&1; fi
	if [ "$pvc_created" = 1 ]; then kubectl eidf pvc delete "${NS_ARGS[@]}" --yes "$pvc" >/dev/null 2>&1; fi
	[ -n "$http_pid" ] && kill "$http_pid" 2>/dev/null && wait "$http_pid" 2>/dev/null
	[ -n "$daemon_pidfile" ] && [ -s "$daemon_pidfile" ] && kill "$(cat "$daemon_pidfile")" 2>/dev/null
	[ -n "$worktree" ] && git -C "$repo_dir" worktree remove --force "$worktree" >/dev/null 2>&1
	if [ -n "$cluster_dir" ]; then
		python3 "$SRC/tests/cluster/eidf-test-cluster" stop "$cluster_dir" >/dev/null 2>&1
	fi
	if [ "$keep" = 1 ]; then
		echo "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
	if [ "$rc" = 0 ]; then
		printf '\n%sThe seed workflow ran end to end.%s\n' "$G$B" "$N"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- 0. preparation: dependencies, build, cluster ---------------------------------------
printf '%skubectl eidf: the EIDF template workflow, end to end%s\n' "$B" "$N"
if [ "$deps" = 1 ]; then
	note "installing build dependencies (tests/install-deps.sh)"
	"$SRC/tests/install-deps.sh"
fi
if [ "$build" = 1 ]; then
	note "building (cmake --preset $preset)"
	(cd "$SRC" && cmake --preset "$preset" >"$WORK/configure.log" 2>&1 &&
		cmake --build --preset "$preset" -j "$(nproc)" >"$WORK/build.log" 2>&1) || {
		cat "$WORK/configure.log" "$WORK/build.log" 2>/dev/null | tail -40 >&2
		die "build failed (cmake --preset $preset)"
	}
	BIN=$SRC/build/$preset/bin
else
	BIN=${EIDF_BIN:-$SRC/build/$preset/bin}
fi
for exe in kubectl-eidf kubectl-eidf-pvc kubectl-eidf-fetch kubectl-eidf-build_context kubectl-eidf-devrun; do
	[ -x "$BIN/$exe" ] || die "$BIN/$exe is missing: build first (cmake --preset $preset && cmake --build --preset $preset)"
done
for tool in kubectl git python3; do
	command -v "$tool" >/dev/null || die "$tool is not installed (tests/install-deps.sh installs it)"
done
export PATH="$BIN:$PATH"
note "executables: $BIN ($(kubectl-eidf version | head -1))"

if [ "$local_mode" = 1 ]; then
	cluster_dir=$WORK/cluster
	[ -n "$ns" ] || ns=eidf042ns
	note "starting the local test cluster (EIDF policy, tenant namespace $ns)"
	mkdir -p "$cluster_dir"
	python3 "$SRC/tests/cluster/eidf-test-cluster" --state-dir "$cluster_dir" \
		--kubeconfig-out "$cluster_dir/kubeconfig" --eidf-policy --tenant "$ns" \
		--background --parent-pid $$ >"$cluster_dir/start.out" 2>&1 || {
		cat "$cluster_dir/start.out" >&2
		tail -20 "$cluster_dir/cluster.log" >&2 2>/dev/null
		die "the local test cluster did not start"
	}
	export KUBECONFIG=$cluster_dir/kubeconfig
	# Keep the user's kubectl-eidf settings out of the local run.
	export XDG_CONFIG_HOME=$WORK/config
	note "$(cat "$cluster_dir/start.out")"
else
	note "cluster: $(kubectl config current-context 2>/dev/null || echo '?') (kubeconfig ${KUBECONFIG:-~/.kube/config})"
fi
[ -z "$ns" ] || NS_ARGS=(-n "$ns")

# ---- 1. PVC ------------------------------------------------------------------------------
banner "Request a persistent volume for data and results"
run pvc-create kubectl eidf pvc create "$pvc" --size 2Gi --wait "${NS_ARGS[@]}"
pvc_created=1

# ---- 2. data -------------------------------------------------------------------------------
banner "Load the data set into the PVC with a verified background Job"
if [ -z "$data_url" ]; then
	mkdir -p "$WORK/data"
	note "making iris.zip (iris.csv: 150 rows, the classic iris layout) and serving it on 127.0.0.1"
	python3 - "$WORK/data/iris.zip" <<-'PY'
	# 50 flowers of each species, drawn around the published per-species means;
	# fixed seed and zip timestamps, so the archive (and its sha256) never change.
	import random, sys, zipfile
	rnd = random.Random(53)
	species = {   # sepal length, sepal width, petal length, petal width: (mean, sd)
	    "Iris-setosa":     ((5.006, .35), (3.428, .38), (1.462, .17), (0.246, .105)),
	    "Iris-versicolor": ((5.936, .52), (2.770, .31), (4.260, .47), (1.326, .198)),
	    "Iris-virginica":  ((6.588, .64), (2.974, .32), (5.552, .55), (2.026, .275)),
	}
	rows = ["sepal_length,sepal_width,petal_length,petal_width,species"]
	for name, dims in species.items():
	    for _ in range(50):
	        v = [max(0.1, round(rnd.gauss(m, s), 1)) for m, s in dims]
	        rows.append("%.1f,%.1f,%.1f,%.1f,%s" % (v[0], v[1], v[2], v[3], name))
	info = zipfile.ZipInfo("iris.csv", date_time=(1988, 7, 1, 0, 0, 0))
	info.compress_type = zipfile.ZIP_DEFLATED
	info.external_attr = 0o644 << 16
	with zipfile.ZipFile(sys.argv[1], "w") as z:
	    z.writestr(info, "\n".join(rows) + "\n")
	PY
	data_sha=$(sha256sum "$WORK/data/iris.zip" | cut -d' ' -f1)
	if [ -f "$SRC/tests/servers/http_data_server.py" ]; then
		python3 "$SRC/tests/servers/http_data_server.py" --root "$WORK/data" --port 0 \
			--port-file "$WORK/data.port" >"$WORK/http.log" 2>&1 &
		http_pid=$!
		for _ in $(seq 100); do [ -s "$WORK/data.port" ] && break; sleep 0.05; done
		port=$(cat "$WORK/data.port" 2>/dev/null) || die "the data server did not start"
	else
		port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
		python3 -m http.server --bind 127.0.0.1 --directory "$WORK/data" "$port" >"$WORK/http.log" 2>&1 &
		http_pid=$!
	fi
	data_url=http://127.0.0.1:$port/iris.zip
	for _ in $(seq 100); do python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$data_url" 2>/dev/null && break; sleep 0.05; done
	note "serving $data_url (sha256 $data_sha)"
fi
run fetch kubectl eidf fetch "$data_url" --pvc "$pvc" --sha256 "$data_sha" --extract --wait "${NS_ARGS[@]}"
fetch_job=$(sed -n 's|^job\.batch/\(fetch-[a-z0-9-]*\) created$|\1|p' "$WORK/fetch.log" | head -1)
[ -n "$fetch_job" ] || die "step 2: no 'job.batch/fetch-... created' line in the fetch output"
note "what is on the PVC now"
run pvc-ls kubectl eidf pvc ls "$pvc" "${NS_ARGS[@]}"
grep -Eq 'iris\.(csv|data)' "$WORK/pvc-ls.log" || die "step 2: iris.csv/iris.data not found on the PVC"

# ---- 3. custom image ----------------------------------------------------------------------------
banner "Prepare a custom Docker image: Dockerfile, GitHub workflow, context, in-cluster build"
image_repo=$WORK/image-repo
git -c init.defaultBranch=main init -q "$image_repo"
run image-init kubectl eidf build-context init "$image_repo/docker" --pip pandas,scikit-learn \
	--github-action --image demo/template-docker-image
(cd "$image_repo" && printf '$ cat docker/Dockerfile\n' && cat docker/Dockerfile &&
	printf '$ grep -A3 "tags:" .github/workflows/docker-build.yml\n' &&
	grep -A3 "tags:" .github/workflows/docker-build.yml)
grep -q 'github.sha' "$image_repo/.github/workflows/docker-build.yml" || die "step 3: the workflow does not tag the commit SHA"
printf 'Image built by the EIDF template workflow demo.\n' >"$image_repo/docker/README.txt"
run image-context kubectl eidf build-context "$image_repo/docker" --summary
image_digest=$(sed -n 's/^digest: sha256:\([0-9a-f]*\)$/\1/p' "$WORK/image-context.log")
[ -n "$image_digest" ] || die "step 3: build-context printed no digest"
build_res=(--cpu 100m --memory 128Mi)
run image-dry-run kubectl eidf build-context submit "$image_repo/docker" \
	--image registry.example/demo/template-docker-image:demo "${build_res[@]}" --dry-run=server -o name "${NS_ARGS[@]}"
grep -q '^job.batch/' "$WORK/image-dry-run.log" || die "step 3: the server dry run returned no Job"
if [ "$local_mode" = 1 ]; then
	# The local cluster runs containers as processes on this machine and
	# pulls no images, so Kaniko cannot run: a stand-in executor takes its
	# place.  Everything before it is real: the context Secrets, the init
	# container that reassembles the context and checks its sha256.
	cat >"$WORK/executor.sh" <<-'EOF'
	echo "executor: $*"
	echo "context sha256: $(gzip -dc /workspace/context.tar.gz | sha256sum | cut -d' ' -f1)"
	tar -tzf /workspace/context.tar.gz
	EOF
	run image-build kubectl eidf build-context submit "$image_repo/docker" \
		--image registry.example/demo/template-docker-image:demo "${build_res[@]}" \
		--executor-command "sh $WORK/executor.sh" "${NS_ARGS[@]}"
	build_job=$(sed -n 's|^job\.batch/\([a-z0-9-]*\) created.*|\1|p' "$WORK/image-build.log" | head -1)
	[ -n "$build_job" ] || die "step 3: no 'job.batch/... created' line in the submit output"
	grep -q "^context sha256: $image_digest$" "$WORK/image-build.log" ||
		die "step 3: the builder did not receive the context build-context printed (sha256:$image_digest)"
fi

# ---- 4. devrun ---------------------------------------------------------------------------------
banner "Run the analysis code (commit + one uncommitted edit) in a Job"
git_demo() { git -c user.name="EIDF demo" -c user.email=demo@example.org -c commit.gpgsign=false \
	-c init.defaultBranch=main "$@"; }
analyse_py() {
	cat <<-'PY'
	"""Mean petal length per iris species, read from the data set on the PVC."""
	import csv
	import os
	import statistics
	import sys

	TITLE = "Iris: mean petal length by species"
	DATA_DIR = os.environ.get("DATA_DIR", "/mnt/ceph")


	def rows():
	    """iris.csv (with a header) as made by the demo, or UCI's iris.data."""
	    csv_path = os.path.join(DATA_DIR, "iris.csv")
	    if os.path.exists(csv_path):
	        with open(csv_path, newline="") as f:
	            for r in csv.DictReader(f):
	                yield r["species"], float(r["petal_length"])
	        return
	    with open(os.path.join(DATA_DIR, "iris.data"), newline="") as f:
	        for r in csv.reader(f):
	            if len(r) == 5:
	                yield r[4], float(r[2])


	def main():
	    by_species = {}
	    for species, petal_length in rows():
	        by_species.setdefault(species, []).append(petal_length)
	    print(TITLE)
	    for species in sorted(by_species):
	        values = by_species[species]
	        print("  %-16s n=%-3d mean petal length %.2f cm" % (species, len(values), statistics.mean(values)))
	    print("rows read: %d" % sum(len(v) for v in by_species.values()))
	    return 0 if by_species else 1


	if __name__ == "__main__":
	    sys.exit(main())
	PY
}
edited_title="Iris (uncommitted edit): mean petal length by species"
if [ -z "$repo_dir" ]; then
	note "a git repo with analyse.py, pushed to a git daemon on 127.0.0.1 (its origin)"
	mkdir -p "$WORK/srv"
	git_demo init -q --bare "$WORK/srv/analysis.git"
	daemon_pidfile=$WORK/git-daemon.pid
	gport=""
	for _ in 1 2 3; do
		p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
		git daemon --base-path="$WORK/srv" --export-all --reuseaddr --listen=127.0.0.1 --port="$p" \
			--pid-file="$daemon_pidfile" --detach || continue
		for _ in $(seq 50); do
			if git ls-remote "git://127.0.0.1:$p/analysis.git" >/dev/null 2>&1; then gport=$p; break; fi
			sleep 0.1
		done
		[ -n "$gport" ] && break
		kill "$(cat "$daemon_pidfile")" 2>/dev/null || true
	done
	[ -n "$gport" ] || die "step 4: git daemon did not start on 127.0.0.1"
	code=$WORK/analysis
	mkdir -p "$code"
	(
		cd "$code"
		git_demo init -q
		git_demo remote add origin "git://127.0.0.1:$gport/analysis.git"
		# The pod clones over git://; this machine pushes straight into the bare repo.
		git_demo remote set-url --push origin "$WORK/srv/analysis.git"
		analyse_py >analyse.py
		git_demo add analyse.py
		git_demo commit -q -m "Mean petal length per species"
		git_demo push -q -u origin HEAD:main
		git_demo branch -q -u origin/main
	) || die "step 4: could not set up the demo git repository"
else
	worktree=$WORK/worktree
	note "a temporary worktree of $repo_dir at its HEAD, plus analyse.py (uncommitted)"
	git -C "$repo_dir" worktree add -q --detach "$worktree" HEAD || die "step 4: git worktree add failed in $repo_dir"
	code=$worktree
	analyse_py >"$code/analyse.py"
fi
# The one uncommitted edit: a new title.  devrun ships it, so the pod prints it.
python3 - "$code/analyse.py" "$edited_title" <<-'PY'
import sys
p, title = sys.argv[1], sys.argv[2]
s = open(p).read().replace('TITLE = "Iris: mean petal length by species"', 'TITLE = "%s"' % title)
open(p, "w").write(s)
PY
(cd "$code" && printf '$ git status --short\n' && git status --short && printf '$ git diff --stat\n' && git diff --stat)
cd "$code"
run devrun kubectl eidf devrun --image "$image" --pvc "$pvc" --cpu 1 --memory 1Gi --follow "${NS_ARGS[@]}" \
	-- python3 analyse.py
cd "$WORK"
devrun_job=$(sed -n 's|^devrun: job\.batch/\([a-z0-9-]*\) created.*|\1|p' "$WORK/devrun.log" | head -1)
[ -n "$devrun_job" ] || die "step 4: no 'devrun: job.batch/... created' line in the devrun output"
grep -qF "$edited_title" "$WORK/devrun.log" || die "step 4: the uncommitted edit (new title) did not reach the pod"
grep -q "mean petal length" "$WORK/devrun.log" || die "step 4: the analysis printed no result"

# ---- 5. status ----------------------------------------------------------------------------------
banner "Check on the work: fetch status, build-context list, devrun list, pvc df"
run fetch-status kubectl eidf fetch status "$fetch_job" "${NS_ARGS[@]}"
grep -q "$fetch_job.*Complete" "$WORK/fetch-status.log" || die "step 5: fetch status does not show $fetch_job Complete"
if [ -n "$build_job" ]; then
	run build-list kubectl eidf build-context list "${NS_ARGS[@]}"
	grep -q "^$build_job .*Succeeded" "$WORK/build-list.log" || die "step 5: build-context list does not show $build_job Succeeded"
fi
run devrun-list kubectl eidf devrun list "${NS_ARGS[@]}"
grep -q "^$devrun_job .*Succeeded" "$WORK/devrun-list.log" || die "step 5: devrun list does not show $devrun_job Succeeded"
run pvc-df kubectl eidf pvc df "$pvc" "${NS_ARGS[@]}"
grep -q "^$pvc " "$WORK/pvc-df.log" || die "step 5: pvc df has no line for $pvc"

# ---- 6. clean-up -------------------------------------------------------------------------------------
banner "Clean up: the jobs, then the PVC"
if [ -n "$build_job" ]; then
	run build-delete kubectl delete job "$build_job" "${NS_ARGS[@]}"
	build_job=""
fi
run devrun-delete kubectl eidf devrun delete "$devrun_job" "${NS_ARGS[@]}"
devrun_job=""
run fetch-delete kubectl eidf fetch delete "$fetch_job" "${NS_ARGS[@]}"
fetch_job=""
# --wait: the deleted Jobs' pods go in the background (garbage collector), and
# until they are gone PVC protection keeps the claim Terminating
run pvc-delete kubectl eidf pvc delete "$pvc" --yes --wait "${NS_ARGS[@]}"
pvc_created=0
