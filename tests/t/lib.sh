# Shell test library, modelled on git's t/test-lib.sh.
#
#   . "$(dirname "$0")/lib.sh"
#   test_expect_success 'what it shows' '
#       kubectl eidf version >out &&
#       grep "^kubectl-eidf " out
#   '
#   test_done
#
# Each test script runs in its own scratch directory ($TRASH), with the built
# executables first on PATH so that the real kubectl finds them as plugins.
set -u
: "${EIDF_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${EIDF_BUILD:=$EIDF_SRC/build/default}"
: "${EIDF_BIN:=$EIDF_BUILD/bin}"
export EIDF_SRC EIDF_BUILD EIDF_BIN
TEST_NAME=$(basename "$0" .sh)
TRASH=$(mktemp -d "${TMPDIR:-/tmp}/eidf-$TEST_NAME.XXXXXX")
export PATH="$EIDF_BIN:$PATH"
export HOME="$TRASH/home" XDG_CONFIG_HOME="$TRASH/home/.config"
mkdir -p "$HOME"
unset KUBECONFIG NO_COLOR
# Sanitizer reports must fail the test that triggered them.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=99}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=99}"
cd "$TRASH" || exit 1

test_count=0 test_failed=0 test_skipped=0
# test_atexit CMD: run CMD when the script ends, last registered first.  The
# list is a file beside $TRASH, not a shell variable, so a registration made
# inside a case (which runs in a subshell) is not lost with the subshell: a
# server a case starts is stopped even when the case is the one that starts it.
_atexit_file="$TRASH.atexit"
: >"$_atexit_file"
test_atexit() { printf '%s\0' "$1" >>"$_atexit_file"; }
_run_cleanups() {
	local i c=()
	[ -f "$_atexit_file" ] && mapfile -d '' c <"$_atexit_file"
	for ((i=${#c[@]}-1; i>=0; i--)); do eval "${c[$i]}" >/dev/null 2>&1 || true; done
	rm -f "$_atexit_file" "$_finished_file"
}
trap '_run_cleanups' EXIT

say() { printf '%s\n' "$*"; }

# test_when_finished CMD, inside a case: run CMD once the case has ended,
# passed or failed, last registered first (as git's); a CMD that fails fails
# the case.  A file, as test_atexit's list: the case runs in a subshell.
_finished_file="$TRASH.finished"
test_when_finished() { printf '%s\0' "$1" >>"$_finished_file"; }
_run_finished() {
	local i rc=0 c=()
	[ -s "$_finished_file" ] && mapfile -d '' c <"$_finished_file"
	: >"$_finished_file"
	for ((i=${#c[@]}-1; i>=0; i--)); do eval "${c[$i]}" || rc=1; done
	return $rc
}

# Each case's wall time follows its line as a TAP comment ("# took 1234 ms"):
# ctest's LastTest.log then shows where a slow script spends it.
test_expect_success() {
	local desc=$1 body=$2 t0=${EPOCHREALTIME/[.,]/} _failed=0
	test_count=$((test_count+1))
	: >"$_finished_file"
	(set -e; eval "$body") >"$TRASH/.out.$test_count" 2>&1 || _failed=1
	_run_finished >>"$TRASH/.out.$test_count" 2>&1 || _failed=1
	if [ "$_failed" = 0 ]; then
		say "ok $test_count - $desc"
		_say_time "$t0"
	else
		test_failed=$((test_failed+1))
		say "not ok $test_count - $desc"
		sed 's/^/#   /' "$TRASH/.out.$test_count"
		say "#   test body:"; printf '%s\n' "$body" | sed 's/^/#   /'
	fi
}

_say_time() { # microseconds since $1 (EPOCHREALTIME without its point), in ms
	local t1=${EPOCHREALTIME/[.,]/}
	say "# took $(( (10#$t1 - 10#$1) / 1000 )) ms"
}

test_skip() {
	test_count=$((test_count+1)) test_skipped=$((test_skipped+1))
	say "ok $test_count # skip $1 ($2)"
}

# test_expect_code CODE CMD...: run CMD, succeed only if it exits with CODE.
test_expect_code() {
	local want=$1; shift
	local got=0
	"$@" || got=$?
	if [ "$got" != "$want" ]; then
		echo "expected exit code $want, got $got from: $*" >&2
		return 1
	fi
}

# test_must_fail CMD...: CMD must exit non-zero, but not by a signal or sanitizer.
test_must_fail() {
	local got=0
	"$@" || got=$?
	if [ "$got" = 0 ]; then echo "command succeeded unexpectedly: $*" >&2; return 1; fi
	if [ "$got" -gt 128 ] || [ "$got" = 99 ]; then echo "command crashed ($got): $*" >&2; return 1; fi
}

test_cmp() { diff -u "$1" "$2"; }

# test_grep [-v] PATTERN FILE: like grep, but show the file when it fails.
test_grep() {
	if [ "$1" = -v ]; then
		shift
		if grep -q -e "$1" "$2"; then echo "unexpected match for '$1' in $2:" >&2; cat "$2" >&2; return 1; fi
		return 0
	fi
	if ! grep -q -e "$1" "$2"; then echo "no match for '$1' in $2:" >&2; cat "$2" >&2; return 1; fi
}

test_done() {
	say "1..$test_count"
	say "# $TEST_NAME: $((test_count-test_failed-test_skipped)) passed, $test_failed failed, $test_skipped skipped"
	_run_cleanups; _cleanups=()
	if [ "$test_failed" = 0 ]; then cd / && rm -rf "$TRASH"; exit 0; fi
	say "# trash kept in $TRASH"
	exit 1
}

# wait_for SECONDS CMD...: retry CMD every 0.1 s until it succeeds
wait_for() {
	local n=$(($1 * 10))
	shift
	while [ $n -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; n=$((n - 1)); done
	echo "timed out waiting for: $*" >&2
	return 1
}

# start_git_daemon: a bare repository "$TRASH/srv/repo.git" (branch main)
# served by git daemon on 127.0.0.1, pushes allowed; sets GIT_DAEMON_URL.
start_git_daemon() {
	local port i
	mkdir -p "$TRASH/srv" && git init -q --bare -b main "$TRASH/srv/repo.git" || return 1
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	git daemon --base-path="$TRASH/srv" --export-all --enable=upload-pack --enable=receive-pack --reuseaddr \
		--listen=127.0.0.1 --port="$port" --pid-file="$TRASH/daemon.pid" --detach || return 1
	test_atexit 'kill $(cat "$TRASH/daemon.pid")'
	GIT_DAEMON_URL="git://127.0.0.1:$port/repo.git"
	for i in $(seq 50); do
		git ls-remote "$GIT_DAEMON_URL" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "start_git_daemon: git daemon did not answer on 127.0.0.1:$port" >&2
	return 1
}

# ---- terminals (tmux) ----------------------------------------------------------
# `if tmux_setup; then ...; fi` at top level (false without tmux); then
# tmux_start CMD runs CMD in a detached 100x30 terminal (session "t", in
# $TRASH), tmux_keys KEYS... types into it (send-keys syntax: "text" Enter),
# tmux_wait PATTERN waits up to 15 s for the screen to show PATTERN, and
# tmux_stop closes the session.
tmux_setup() {
	command -v tmux >/dev/null 2>&1 || return 1
	unset TMUX
	EIDF_TMUX_SOCK=eidf-$TEST_NAME-$$
	test_atexit "tmux -L '$EIDF_TMUX_SOCK' kill-server"
}
tmux_start() { tmux -L "$EIDF_TMUX_SOCK" new-session -d -s t -x 100 -y 30 -c "$TRASH" "$1"; }
tmux_keys() { tmux -L "$EIDF_TMUX_SOCK" send-keys -t t "$@"; }
tmux_stop() { tmux -L "$EIDF_TMUX_SOCK" kill-session -t t; }
tmux_wait() {
	local i
	for i in $(seq 150); do
		tmux -L "$EIDF_TMUX_SOCK" capture-pane -t t -p >"$TRASH/.pane" 2>/dev/null &&
			grep -q -e "$1" "$TRASH/.pane" && return 0
		sleep 0.1
	done
	echo "the terminal never showed '$1':" >&2
	cat "$TRASH/.pane" >&2
	return 1
}

# ---- local test cluster (tests/cluster, docs/testing.md) -------------------
# start_cluster [eidf-test-cluster options...]: start a cluster in
# "$TRASH/cluster" in the background (its own port), export KUBECONFIG and
# EIDF_CLUSTER_STATE, stop it when the script ends.  Examples:
#   start_cluster --tenant eidf042ns --eidf-policy --gpu-quota 2
# The environment can make every test's cluster stricter (a test's own
# options win): EIDF_JOB_CONTROLLER_LAG=3 (seconds between a pod finishing and
# its Job counting it), EIDF_JOB_INTERIM_CONDITIONS=1 (Kubernetes >= 1.30 Job
# conditions), EIDF_EXEC_TRANSLATE=1 (the API server talks SPDY to the kubelet
# for a WebSocket exec, as kube-apiserver >= 1.30), EIDF_EXEC_WEBSOCKET_V4=1
# (exec over WebSockets speaks v4 only, as before Kubernetes 1.29).
# Helpers: cluster_requests (the request log, JSON lines), cluster_request_count
# [REGEX] (requests whose "METHOD path?query" matches REGEX), cluster_long_requests
# BYTES (requests whose path?query is longer), cluster_connections,
# cluster_fault fail|cut|delay|drop|corrupt [--count N --status 429 --retry-after S
# --bytes N --seconds S --path REGEX --method M; corrupt: --stream stdin|stdout
# --at N | --pattern REGEX --replace TEMPLATE --hold REGEX], cluster_clear_faults,
# cluster_evict POD, cluster_kill POD [-c CONTAINER] [--signal TERM],
# cluster_quota N [-n NS], cluster_compact, cluster_ctl ARGS (anything else),
# cluster_bound_pvc NAME [-n NS], cluster_volume_dir PVC [-n NS],
# cluster_pids REGEX, cluster_job_ready JOB [SECONDS],
# cluster_outage SECONDS [refuse|reset], cluster_restart [SECONDS], cluster_wait_up [SECONDS],
# cluster_outage_end [SECONDS].
EIDF_CLUSTER_BIN="$EIDF_SRC/tests/cluster/eidf-test-cluster"
start_cluster() {
	local dir="$TRASH/cluster"
	mkdir -p "$dir"
	EIDF_CLUSTER_STATE=$dir
	export EIDF_CLUSTER_STATE
	local strict=()
	[ -n "${EIDF_JOB_CONTROLLER_LAG:-}" ] && strict+=(--job-controller-lag "$EIDF_JOB_CONTROLLER_LAG")
	[ "${EIDF_JOB_INTERIM_CONDITIONS:-}" = 1 ] && strict+=(--job-interim-conditions)
	[ "${EIDF_EXEC_TRANSLATE:-}" = 1 ] && strict+=(--exec-translate)
	[ "${EIDF_EXEC_WEBSOCKET_V4:-}" = 1 ] && strict+=(--exec-websocket-v4)
	if ! python3 "$EIDF_CLUSTER_BIN" --state-dir "$dir" --kubeconfig-out "$dir/kubeconfig" \
		--pki-cache "${TMPDIR:-/tmp}/eidf-test-cluster-pki" \
		--background --parent-pid $$ "${strict[@]}" "$@" >"$dir/start.out" 2>&1; then
		cat "$dir/start.out" "$dir/cluster.log" >&2 2>/dev/null
		echo "start_cluster: the test cluster did not start" >&2
		return 1
	fi
	KUBECONFIG="$dir/kubeconfig"
	EIDF_CLUSTER_PORT=$(sed -n 's/^ *"port": \([0-9]*\).*/\1/p' "$dir/cluster.json")
	EIDF_CLUSTER_PYTHON=$(sed -n 's/^ *"python": "\(.*\)",\{0,1\}$/\1/p' "$dir/cluster.json")
	test -x "$EIDF_CLUSTER_PYTHON" || EIDF_CLUSTER_PYTHON=python3
	export KUBECONFIG EIDF_CLUSTER_PORT EIDF_CLUSTER_PYTHON
	test_atexit "cluster_python '$EIDF_CLUSTER_BIN' stop '$dir'"
}
# cluster_python ARGS: the helpers' many short Python runs use the cluster's
# own interpreter, not python3 on PATH: a version manager's shim (pyenv's)
# costs about 0.5 s a run, more than the ctl call it starts
cluster_python() { "${EIDF_CLUSTER_PYTHON:-python3}" "$@"; }
cluster_ctl() { cluster_python "$EIDF_CLUSTER_BIN" ctl --state-dir "$EIDF_CLUSTER_STATE" "$@"; }
cluster_requests() { cat "$EIDF_CLUSTER_STATE/requests.jsonl"; }
cluster_request_count() {
	cluster_python - "$EIDF_CLUSTER_STATE/requests.jsonl" "${1:-.}" <<-'PY'
	import json, re, sys
	pat = re.compile(sys.argv[2])
	n = 0
	for line in open(sys.argv[1]):
	    r = json.loads(line)
	    if pat.search("%s %s?%s" % (r["method"], r["path"], r["query"])):
	        n += 1
	print(n)
	PY
}
# cluster_long_requests BYTES: the requests whose target (path?query) is
# longer than BYTES, one line each (its length, method and start); nothing
# when none is: proxies in front of API servers refuse long request lines
cluster_long_requests() {
	cluster_python - "$EIDF_CLUSTER_STATE/requests.jsonl" "$1" <<-'PY'
	import json, sys
	for line in open(sys.argv[1]):
	    r = json.loads(line)
	    t = r["path"] + ("?" + r["query"] if r["query"] else "")
	    if len(t) > int(sys.argv[2]):
	        print(len(t), r["method"], t[:160])
	PY
}
cluster_connections() { grep -c '"event":"open"' "$EIDF_CLUSTER_STATE/connections.jsonl"; }
cluster_fault() { cluster_ctl fault "$@"; }
cluster_clear_faults() { cluster_ctl clear-faults; }
cluster_evict() { cluster_ctl evict "$@"; }
cluster_kill() { cluster_ctl kill "$@"; }
cluster_quota() { cluster_ctl quota "$@"; }
cluster_compact() { cluster_ctl compact; }
# cluster_outage SECONDS [refuse|reset]: from now on, for SECONDS, the API server
# refuses connections (it is down) or resets them (a proxy in between fails);
# open connections and watches are dropped; then it comes back, same port and
# state. Returns at once: run the client meanwhile, then cluster_wait_up.
cluster_outage() { cluster_ctl outage "$@" >/dev/null; }
# cluster_restart [SECONDS]: the API server restarts: every connection and watch
# is dropped, connections are refused for SECONDS (default 1), state is kept.
cluster_restart() { cluster_ctl restart "$@" >/dev/null; }
# cluster_wait_up [SECONDS]: wait (default at most 60 s) until the outage is over
cluster_wait_up() { cluster_ctl wait-up "$@"; }
# cluster_outage_end [SECONDS]: end the outage now and wait until the server
# answers: an outage long enough for anything (cluster_outage 60) that ends
# once the client has shown what it does without the server
cluster_outage_end() { cluster_ctl end-outage "$@"; }
# cluster_bound_pvc NAME [-n NS]: a 10Gi ReadWriteMany CephFS claim, once Bound
cluster_bound_pvc() {
	local name=$1
	shift
	printf 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: %s}\nspec:\n  accessModes: [ReadWriteMany]\n  resources: {requests: {storage: 10Gi}}\n  storageClassName: csi-cephfs-sc\n' "$name" |
		kubectl "$@" create -f - >/dev/null &&
		kubectl "$@" wait --for=jsonpath='{.status.phase}'=Bound "pvc/$name" --timeout=20s >/dev/null
}
# cluster_volume_dir PVC [-n NS]: the host directory behind a bound claim
cluster_volume_dir() {
	local vol
	vol=$(kubectl get pvc "$@" -o jsonpath='{.spec.volumeName}') && test -n "$vol" &&
		echo "$EIDF_CLUSTER_STATE/volumes/$vol"
}
# cluster_pids REGEX: this cluster's container processes whose command line
# matches REGEX (the kubelet gives them KUBERNETES_SERVICE_PORT=its port, so
# processes of other tests' clusters do not count)
cluster_pids() {
	local pid
	for pid in $(pgrep -f "$1"); do
		tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null |
			grep -qx "KUBERNETES_SERVICE_PORT=$EIDF_CLUSTER_PORT" && echo "$pid"
	done
	return 0
}
# cluster_job_ready JOB [SECONDS]: the Job's pods exist and are Ready (a
# selector wait alone fails at once while the Job has no pod yet)
cluster_job_ready() {
	wait_for "${2:-20}" cluster_job_has_pod "$1" &&
		kubectl wait --for=condition=ready pod -l "job-name=$1" --timeout="${2:-20}s"
}
# cluster_job_has_pod JOB: the Job has a pod (any phase)
cluster_job_has_pod() { test -n "$(kubectl get pods -l "job-name=$1" -o name)"; }
# cluster_admin_kubectl ARGS: kubectl as cluster admin (not confined to the tenant)
cluster_admin_kubectl() { kubectl --kubeconfig "$EIDF_CLUSTER_STATE/kubeconfig-admin" "$@"; }
# ---- end of local test cluster section --------------------------------------
