#!/usr/bin/env bash
# The kubeconfig and authentication matrix, judged by what is SENT: every
# case of tests/t/kubeconfig-matrix.cases (about 300) runs through the real
# kubectl (`kubectl get pvc`) and through `kubectl-eidf-pvc list` (what
# `kubectl eidf pvc list` execs) with the same kubeconfig, flags and
# environment, against recording servers on loopback (an HTTPS and a plain
# HTTP tests/servers/https_stub.py, one more on ::1, and an HTTP CONNECT
# proxy).  Both must exit alike and send alike: server and scheme, path
# (namespace), bearer token, impersonation headers, client certificate, SNI,
# Host, Accept-Encoding, which proxy tunnel and its credentials, or nothing
# at all.  A case marked `eidf` is a deliberate difference
# (docs/configuration.md): kubectl is not run, kubectl-eidf must fail with
# that message and send nothing.  In-cluster cases run both clients in a
# mount namespace of their own (unshare -m; skipped where that is not
# allowed).
#
# kubectl costs about 0.5 s of CPU a case, minutes for the whole matrix: too
# long for every CI run.  So by default kubectl-eidf is compared with what the
# real kubectl sent when the cases were recorded (kubeconfig-matrix.kubectl);
# t0022 runs kubectl live for each class of the issue every time.
#   MATRIX_KUBECTL=1            run the real kubectl for every case, live
#   MATRIX_RECORD=FILE          with MATRIX_KUBECTL: only kubectl runs, its
#                               results go to FILE (the .kubectl format)
#   MATRIX_ONLY=ERE             only the cases whose description matches
#                               (record a new case: MATRIX_ONLY + append)
#   MATRIX_SHARD=I/N            every Nth case from the Ith (parallel records)
#   MATRIX_SHOW=1               print kubectl's result for each case
# e.g. re-record everything (a new kubectl):
#   MATRIX_KUBECTL=1 MATRIX_RECORD=$PWD/new ctest --preset asan -R t0023
#   (then put new, in case order, under the header of kubeconfig-matrix.kubectl)
# The case format is described at the top of the .cases file; add a case
# there, not here.
. "$(dirname "$0")/lib.sh"
. "$EIDF_SRC/tests/t/lib-kclient.sh"

if ! command -v kubectl >/dev/null || ! command -v jq >/dev/null; then
	test_skip 'kubeconfig matrix' "needs kubectl and jq"
	test_done
fi
CASES=$EIDF_SRC/tests/t/kubeconfig-matrix.cases
RECORDED=$EIDF_SRC/tests/t/kubeconfig-matrix.kubectl
LIVE=${MATRIX_KUBECTL:-}
PVC=$EIDF_BIN/kubectl-eidf-pvc

# Discovery for kubectl (the stub's store answers the lists themselves).
cat >"$SCRIPT" <<'EOF'
[{"path": "/api", "times": -1, "json": {"kind": "APIVersions", "versions": ["v1"],
  "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]}},
 {"path": "/apis", "times": -1, "json": {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}},
 {"path_re": "^/(prefix/)?api/v1$", "times": -1, "json": {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
   {"name": "persistentvolumeclaims", "singularName": "persistentvolumeclaim", "namespaced": true,
    "kind": "PersistentVolumeClaim", "verbs": ["create", "delete", "get", "list", "patch", "watch"],
    "shortNames": ["pvc"]}]}},
 {"path": "/prefix/api", "times": -1, "json": {"kind": "APIVersions", "versions": ["v1"]}},
 {"path": "/prefix/apis", "times": -1, "json": {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}},
 {"path_re": "^/prefix/api/v1/namespaces/[^/]+/persistentvolumeclaims$", "times": -1,
  "json": {"kind": "PersistentVolumeClaimList", "apiVersion": "v1", "metadata": {}, "items": []}}]
EOF
start_stub
PLAINLOG=$TRASH/plain.log
PLOG=$TRASH/proxy.log
: >"$PLAINLOG"; : >"$PLOG"
python3 "$STUB_PY" --dir "$CERTS" --plain --log "$PLAINLOG" --script "$SCRIPT" \
	--port-file "$TRASH/plain.port" 2>"$TRASH/plain.err" &
test_atexit "kill $!"
python3 "$EIDF_SRC/tests/servers/connect_proxy.py" --port-file "$TRASH/proxy.port" --log "$PLOG" \
	--map kube.test=127.0.0.1 --map 0.0.0.0=127.0.0.1 --map "[::]=::1" \
	--map LOCALHOST=127.0.0.1 --lifetime 600 2>"$TRASH/proxy.err" &
test_atexit "kill $!"
python3 "$STUB_PY" --dir "$CERTS" --bind ::1 --log "$REQLOG" --script "$SCRIPT" \
	--port-file "$TRASH/v6.port" 2>"$TRASH/v6.err" &
test_atexit "kill $!"
wait_for 5 test -s "$TRASH/v6.port" || { echo "Bail out! IPv6 stub did not start"; exit 1; }
wait_for 5 test -s "$TRASH/plain.port" || { echo "Bail out! plain stub did not start"; exit 1; }
wait_for 5 test -s "$TRASH/proxy.port" || { echo "Bail out! proxy did not start"; exit 1; }

# The placeholders a case may use, @NAME@ in its kubeconfig, args and env.
declare -A P=(
	[HTTPS]=$STUB_URL [HOSTPORT]=127.0.0.1:$STUB_PORT [PORT]=$STUB_PORT
	[PLAIN]=http://127.0.0.1:$(cat "$TRASH/plain.port") [PLAINPORT]=$(cat "$TRASH/plain.port")
	[NAMED]=https://kube.test:$STUB_PORT [PROXY]=http://127.0.0.1:$(cat "$TRASH/proxy.port")
	[PROXYPORT]=$(cat "$TRASH/proxy.port") [P6]=$(cat "$TRASH/v6.port")
	[CA]=$CERTS/ca.crt [CA_DATA]=$(base64 -w0 "$CERTS/ca.crt") [OTHER_CA]=$CERTS/other-ca.crt
	[CERT]=$CERTS/client.crt [KEY]=$CERTS/client.key
	[CERT_DATA]=$(base64 -w0 "$CERTS/client.crt") [KEY_DATA]=$(base64 -w0 "$CERTS/client.key")
	[PLUGIN]=$EIDF_SRC/tests/fixtures/exec-plugin.sh [DIR]=$TRASH/m
	[STUB_PY]=$STUB_PY [CERTS]=$CERTS [REQLOG]=$REQLOG [SCRIPT]=$SCRIPT
)
subst() {
	local s=$1 k
	for k in "${!P[@]}"; do s=${s//@$k@/${P[$k]}}; done
	printf '%s' "$s"
}
mkdir -p "$HOME" "$TRASH/m"

# What reached the servers, one line: the first claims list request (path,
# TLS, SNI, client certificate CN, the headers that matter) and every
# tunnel the proxy opened (target and Proxy-Authorization).
sent() {
	# (one jq for all three logs: jq's start-up is most of a case's time)
	jq -rn --slurpfile r "$REQLOG" --slurpfile q "$PLAINLOG" --slurpfile x "$PLOG" '
	  ($r + $q) as $all |
	  ([$all[] | select((.path // "") | test("persistentvolumeclaims$"))] | first // empty |
	   {path, tls, sni, cn: .client_cn,
	    h: ([.headers[] | select(.[0] | ascii_downcase |
	         test("^(authorization|impersonate-.*|host|accept-encoding|x-injected)$")) |
	         [(.[0] | ascii_downcase), .[1]]] | sort)} | tojson),
	  ([$x[] | {proxy: (.request | split(" ") | .[0] + " " + (.[1] | sub("(?<h>://[^/]*)/.*"; "\(.h)"))),
	            auth: ([.headers[] | select(.[0] | ascii_downcase == "proxy-authorization") | .[1]])} |
	    tojson] | unique[]),
	  # (TLS handshakes that failed are no requests)
	  (if any($all[]; .method) then "requests: some" else "requests: 0" end)'
}

# run WHO: one client with the case's kubeconfig, args and env; WHO.rc,
# WHO.err, WHO.sent
run() {
	: >"$REQLOG"; : >"$PLAINLOG"; : >"$PLOG"
	local cmd='"$PVC" list'
	[ "$1" = kc ] && cmd='kubectl get pvc'
	(eval "exec $c_wrap env $c_env $cmd $c_args") </dev/null >"$1.out" 2>"$1.err"
	echo $? >"$1.rc"
	sent | norm >"$1.sent"
}

# the random ports as placeholders, so that what kubectl sent can be recorded
norm() {
	sed "s/:${P[PORT]}\b/:@PORT@/g; s/:${P[PLAINPORT]}\b/:@PLAINPORT@/g;
	     s/:${P[P6]}\b/:@P6@/g; s/:${P[PROXYPORT]}\b/:@PROXYPORT@/g"
}

# kubectl's result for the case: live, or as recorded from the real kubectl
# in kubeconfig-matrix.kubectl (see the top of this file)
oracle() {
	if [ -z "$LIVE" ]; then
		[ -n "${REC[$c_desc]+set}" ] || { echo "no recorded kubectl result: record it"; return 1; }
		printf '%s\n' "${REC[$c_desc]}" | sed -n '1s/^rc //p' >kc.rc
		printf '%s\n' "${REC[$c_desc]}" | sed 1d >kc.sent
		: >kc.err
		return 0
	fi
	run kc
	if [ -n "${MATRIX_RECORD:-}" ]; then
		{ printf '### %s\nrc %s\n' "$c_desc" "$(cat kc.rc)"; cat kc.sent; } >>"$MATRIX_RECORD"
	fi
}

# kubeconfig k for the case: the whole file, or one context x with cluster
# c, user u and the case's bodies (defaults: the HTTPS stub and its CA, a
# token, namespace ns1)
write_kubeconfig() {
	if [ -n "$c_file" ]; then
		subst "$c_file" >k
		return
	fi
	{
		echo "apiVersion: v1"
		echo "kind: Config"
		echo "current-context: x"
		echo "clusters:"
		echo "- name: c"
		echo "  cluster:"
		subst "${c_cluster:-server: @HTTPS@
certificate-authority: @CA@
}" | sed 's/^/    /'
		echo "users:"
		echo "- name: u"
		echo "  user:"
		subst "${c_user:-token: SECRET-T
}" | sed 's/^/    /'
		echo "contexts:"
		echo "- name: x"
		echo "  context:"
		subst "${c_ctx:-cluster: c
user: u
namespace: ns1
}" | sed 's/^/    /'
	} >k
}

run_case() {
	cd "$TRASH/m" && rm -rf ./* ./.kube && mkdir -p "$HOME" || return 1
	write_kubeconfig
	[ -z "$c_setup" ] || eval "$(subst "$c_setup")" || return 1
	if [ -n "$c_eidf" ]; then
		run eidf
		grep -q "requests: 0" eidf.sent || { echo "eidf sent something:"; cat eidf.sent; return 1; }
		test "$(cat eidf.rc)" = 1 || { echo "eidf exited $(cat eidf.rc)"; cat eidf.err; return 1; }
		grep -Eq -- "$c_eidf" eidf.err || { echo "eidf said:"; cat eidf.err; return 1; }
		! grep -q SECRET eidf.err || { echo "a secret in the message:"; cat eidf.err; return 1; }
		return 0
	fi
	oracle || return 1
	[ -z "${MATRIX_RECORD:-}" ] || return 0
	run eidf
	if ! test_cmp kc.rc eidf.rc; then
		echo "kubectl:"; cat kc.err; echo "eidf:"; cat eidf.err
		return 1
	fi
	[ -z "${MATRIX_SHOW:-}" ] || { echo "kubectl (exit $(cat kc.rc)):"; cat kc.sent kc.err; } >&3
	test_cmp kc.sent eidf.sent || { echo "kubectl:"; cat kc.err; echo "eidf:"; cat eidf.err; return 1; }
	case $c_expect in
	ok) test "$(cat eidf.rc)" = 0 || { cat eidf.err; return 1; } ;;
	refused)
		test "$(cat eidf.rc)" = 1 && grep -q "requests: 0" eidf.sent &&
		! grep -q "proxy" eidf.sent &&
		! grep -q SECRET eidf.err || { cat eidf.sent eidf.err; return 1; } ;;
	error) test "$(cat eidf.rc)" != 0 ;;
	esac || return 1
	if [ -n "$c_msg" ] && ! grep -Eq -- "$c_msg" eidf.err; then
		echo "eidf said:"; cat eidf.err; return 1
	fi
	if [ -n "$c_check" ] && ! head -n 1 eidf.sent | jq -e "$c_check" >/dev/null; then
		echo "check failed: $c_check"; cat eidf.sent; return 1
	fi
	return 0
}

# in-cluster: the service account files of the case (@DIR@/sa) appear at
# /var/run/secrets/kubernetes.io/serviceaccount in a mount namespace of
# their own (kubectl reads that fixed path), and KUBERNETES_SERVICE_HOST/PORT
# name the HTTPS stub
INCLUSTER='unshare -m sh -c '\''mount -t tmpfs tmpfs /run && mkdir -p /run/secrets/kubernetes.io && ln -s "$PWD/sa" /run/secrets/kubernetes.io/serviceaccount && exec "$@"'\'' sh'
if ! unshare -m sh -c 'mount -t tmpfs tmpfs /run' 2>/dev/null; then
	INCLUSTER=
fi

reset_case() {
	c_wrap=
	c_desc= c_args= c_env= c_cluster= c_user= c_ctx= c_file= c_setup= c_expect= c_eidf=
	c_msg= c_check= c_skip=
}
flush_case() {
	[ -n "$c_desc" ] || return 0
	# (MATRIX_ONLY=ERE runs only the cases whose description matches;
	# MATRIX_SHARD=I/N only every Nth case from the Ith, 0-based)
	[[ -z "${MATRIX_ONLY:-}" || "$c_desc" =~ $MATRIX_ONLY ]] || return 0
	nth=$((nth + 1))
	[[ -z "${MATRIX_SHARD:-}" || $((nth % ${MATRIX_SHARD#*/})) = "${MATRIX_SHARD%/*}" ]] || return 0
	c_args=$(subst "$c_args") c_env=$(subst "$c_env")
	if [ -n "$c_skip" ]; then
		test_skip "$c_desc" "$c_skip"
	else
		test_expect_success "$c_desc" 'run_case'
	fi
	cd "$TRASH" || exit 1
	ncases=$((ncases + 1))
}

# kubectl's recorded results: "### DESCRIPTION", "rc N", then what it sent
declare -A REC=()
if [ -z "$LIVE" ]; then
	desc=
	while IFS= read -r line; do
		case $line in
		'### '*) desc=${line#'### '}; REC[$desc]= ;;
		'#'*) ;;
		*) REC[$desc]+="${REC[$desc]:+$'\n'}$line" ;;
		esac
	done <"$RECORDED"
fi

ncases=0 nth=0
declare -A seen=()
reset_case
while IFS= read -r line || [ -n "$line" ]; do
	case $line in
	'### '*) flush_case; reset_case; c_desc=${line#'### '}
		[ -z "${seen[$c_desc]+set}" ] || { echo "Bail out! two cases named: $c_desc"; exit 1; }
		seen[$c_desc]=1 ;;
	'#'*|'') ;;
	'args '*) c_args+=" ${line#args }" ;;
	'env '*) c_env+=" ${line#env }" ;;
	'cluster|'*) c_cluster+="${line#'cluster| '}"$'\n' ;;
	'user|'*) c_user+="${line#'user| '}"$'\n' ;;
	'ctx|'*) c_ctx+="${line#'ctx| '}"$'\n' ;;
	'file|'*) c_file+="${line#'file| '}"$'\n' ;;
	'setup '*) c_setup+="${line#setup }"$'\n' ;;
	'expect '*) c_expect=${line#expect } ;;
	'eidf '*) c_eidf=${line#eidf } ;;
	'msg '*) c_msg=${line#msg } ;;
	'check '*) c_check=${line#check } ;;
	'incluster') c_wrap=$INCLUSTER
		c_env+=" KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=@PORT@"
		c_setup="mkdir sa && cp @CA@ sa/ca.crt"$'\n'"$c_setup"
		[ -n "$INCLUSTER" ] || c_skip="needs unshare -m (root)" ;;
	*) echo "Bail out! $CASES: cannot read: $line"; exit 1 ;;
	esac
done <"$CASES"
flush_case
say "# $ncases cases compared"

test_done
