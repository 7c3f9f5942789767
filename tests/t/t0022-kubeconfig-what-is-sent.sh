#!/usr/bin/env bash
# The kubeconfig and authentication rules judged by what is SENT: the real
# kubectl (`kubectl get pvc`) and `kubectl eidf pvc list` run with the same
# kubeconfig, flags and environment against recording HTTPS servers on
# loopback (tests/servers/https_stub.py, an HTTP CONNECT proxy), and must
# exit alike and send alike: which server, scheme, namespace, credential,
# client certificate, SNI/Host, impersonation, compression and proxy.
# Where kubectl-eidf deliberately differs (docs/configuration.md) the case
# says so and checks the clear error instead.  The broader matrix (about 300
# cases, one line of data each) is t0023 with tests/t/kubeconfig-matrix.cases.
. "$(dirname "$0")/lib.sh"
. "$EIDF_SRC/tests/t/lib-kclient.sh"

if ! command -v kubectl >/dev/null || ! command -v jq >/dev/null; then
	test_skip 'kubeconfig: what is sent' "needs kubectl and jq"
	test_done
fi

# Discovery for kubectl (the stub's store answers the lists themselves).
cat >"$SCRIPT" <<'EOF'
[{"path": "/api", "times": -1, "json": {"kind": "APIVersions", "versions": ["v1"],
  "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]}},
 {"path": "/apis", "times": -1, "json": {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}},
 {"path": "/api/v1", "times": -1, "json": {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
   {"name": "persistentvolumeclaims", "singularName": "persistentvolumeclaim", "namespaced": true,
    "kind": "PersistentVolumeClaim", "verbs": ["create", "delete", "get", "list", "patch", "watch"],
    "shortNames": ["pvc"]},
   {"name": "pods", "singularName": "pod", "namespaced": true, "kind": "Pod",
    "verbs": ["get", "list"], "shortNames": ["po"]}]}}]
EOF
start_stub
HTTPS=$STUB_URL
PLAINLOG=$TRASH/plain.log
: >"$PLAINLOG"
python3 "$STUB_PY" --dir "$CERTS" --plain --log "$PLAINLOG" --script "$SCRIPT" \
	--port-file "$TRASH/plain.port" 2>"$TRASH/plain.err" &
test_atexit "kill $!"
wait_for 5 test -s "$TRASH/plain.port" || { echo "Bail out! plain stub did not start"; exit 1; }
PLAIN_PORT=$(cat "$TRASH/plain.port")
CA=$CERTS/ca.crt
CA_DATA=$(base64 -w0 "$CA")
mkdir -p "$HOME"

# What reached the servers: every request to the claims list, the headers
# that matter (lower-case names), the client certificate and SNI.
sent() {
	jq -c 'select(.path | test("persistentvolumeclaims$")) |
	  {path, tls, sni, cn: .client_cn,
	   h: ([.headers[] | select(.[0] | ascii_downcase |
	        test("^(authorization|impersonate-.*|host|accept-encoding|x-injected)$")) |
	        [(.[0] | ascii_downcase), .[1]]] | sort)}' "$REQLOG" "$PLAINLOG" | head -n 1
}
# has_header NAME VALUE: eidf's request carried that header
has_header() { jq -e --arg n "$1" --arg v "$2" 'any(.h[]; . == [$n, $v])' eidf.sent >/dev/null; }

# both ARGS...: kubectl get pvc ARGS and kubectl eidf pvc list ARGS, in the
# caller's environment: the same exit status, the same request (or none).
both() {
	: >"$REQLOG"; : >"$PLAINLOG"
	kubectl get pvc "$@" </dev/null >kc.out 2>kc.err
	echo $? >kc.rc
	sent >kc.sent
	cp "$REQLOG" kc.reqs; cat "$PLAINLOG" >>kc.reqs
	: >"$REQLOG"; : >"$PLAINLOG"
	kubectl eidf pvc list "$@" </dev/null >eidf.out 2>eidf.err
	echo $? >eidf.rc
	sent >eidf.sent
	cp "$REQLOG" eidf.reqs; cat "$PLAINLOG" >>eidf.reqs
	if ! test_cmp kc.rc eidf.rc; then
		echo "kubectl:"; cat kc.err; echo "eidf:"; cat eidf.err
		return 1
	fi
	test_cmp kc.sent eidf.sent
}
# refused_by_both ARGS...: both exit 1 and nothing at all reached a server
refused_by_both() {
	both "$@" &&
	test "$(cat eidf.rc)" = 1 &&
	test ! -s kc.reqs && test ! -s eidf.reqs &&
	test_grep -v SECRET eidf.err
}

# kc FILE CLUSTER-BODY USER-BODY [CONTEXT-EXTRA]: a one-context kubeconfig
kc() {
	{
		echo "apiVersion: v1"
		echo "kind: Config"
		echo "current-context: x"
		echo "clusters:"
		echo "- name: c"
		echo "  cluster:"
		printf '%s\n' "$2" | sed 's/^/    /'
		echo "users:"
		echo "- name: u"
		echo "  user:"
		printf '%s\n' "$3" | sed 's/^/    /'
		echo "contexts:"
		echo "- name: x"
		echo "  context: {cluster: c, user: u, namespace: ns1${4:-}}"
	} >"$1"
}
ok_cluster="server: $HTTPS
certificate-authority: $CA"

# ---- security -------------------------------------------------------------------------

test_expect_success 'baseline: same server, namespace and bearer token' '
	kc k "$ok_cluster" "token: SECRET-T1" &&
	both --kubeconfig k &&
	test "$(cat eidf.rc)" = 0 &&
	has_header authorization "Bearer SECRET-T1"
'

test_expect_success 'header injection: inline token with CR/LF' '
	kc k "$ok_cluster" "token: \"SECRET-T\\r\\nX-Injected: yes\"" &&
	refused_by_both --kubeconfig k &&
	test_grep "invalid header field value for \"Authorization\"" eidf.err
'

test_expect_success 'header injection: --token with LF' '
	kc k "$ok_cluster" "token: SECRET-T" &&
	refused_by_both --kubeconfig k --token "SECRET-F
X-Injected: yes" &&
	test_grep "the token from --token" eidf.err
'

test_expect_success 'header injection: tokenFile content' '
	printf "SECRET-T\r\nX-Injected: yes\n" >tokfile &&
	kc k "$ok_cluster" "tokenFile: $PWD/tokfile" &&
	refused_by_both --kubeconfig k
'

test_expect_success 'header injection: --as and --as-group' '
	kc k "$ok_cluster" "token: SECRET-T" &&
	refused_by_both --kubeconfig k --as "bob
X-Injected: yes" &&
	refused_by_both --kubeconfig k --as bob --as-group "ops
X-Injected: yes"
'

test_expect_success 'header injection: a token from an exec plugin' '
	kc k "$ok_cluster" "exec:
  apiVersion: client.authentication.k8s.io/v1beta1
  command: $EIDF_SRC/tests/fixtures/exec-plugin.sh" &&
	EXEC_PLUGIN_TOKEN="SECRET-E\\r\\nX-Injected: yes" refused_by_both --kubeconfig k
'

test_expect_success 'TLS downgrade: insecure-skip-tls-verify: tRuE is refused, not "true"' '
	kc k "server: $HTTPS
insecure-skip-tls-verify: tRuE" "token: SECRET-T" &&
	refused_by_both --kubeconfig k &&
	kc k "server: $HTTPS
insecure-skip-tls-verify: \"true\"" "token: SECRET-T" &&
	refused_by_both --kubeconfig k
'

test_expect_success 'YAML 1.1: insecure-skip-tls-verify: yes is true for both' '
	kc k "server: $HTTPS
insecure-skip-tls-verify: yes" "token: SECRET-T" &&
	both --kubeconfig k && test "$(cat eidf.rc)" = 0
'

test_expect_success 'typed YAML: a number or boolean in a string field is a load error' '
	kc k "$ok_cluster" "token: 12345" &&
	refused_by_both --kubeconfig k &&
	kc k "$ok_cluster" "token: SECRET-T" ", namespace: no" &&
	refused_by_both --kubeconfig k
'

test_expect_success 'merge keys and repeated keys (the last wins)' '
	cat >k <<-EOF &&
	apiVersion: v1
	kind: Config
	current-context: x
	base: &base {server: "https://127.0.0.1:1", certificate-authority: "$CA"}
	clusters:
	- name: c
	  cluster:
	    <<: *base
	    server: $HTTPS
	users:
	- name: u
	  user: {token: SECRET-A, token: SECRET-B}
	contexts:
	- name: x
	  context: {cluster: c, user: u, namespace: a, namespace: b}
	EOF
	both --kubeconfig k && test "$(cat eidf.rc)" = 0 &&
	jq -e ".path == \"/api/v1/namespaces/b/persistentvolumeclaims\"" eidf.sent
'

test_expect_success 'auth-provider gcp next to a token: refused, the token is not sent' '
	kc k "$ok_cluster" "token: SECRET-T
auth-provider: {name: gcp}" &&
	refused_by_both --kubeconfig k
'

test_expect_success 'conflicts: CA file + data, client cert -data + --client-certificate' '
	kc k "$ok_cluster
certificate-authority-data: $CA_DATA" "token: SECRET-T" &&
	refused_by_both --kubeconfig k &&
	kc k "$ok_cluster" "client-certificate-data: $(base64 -w0 "$CERTS/client.crt")
client-key-data: $(base64 -w0 "$CERTS/client.key")" &&
	refused_by_both --kubeconfig k --client-certificate "$CERTS/client.crt"
'

test_expect_success 'as-user-extra: refused without as, Impersonate-Extra-* with it' '
	kc k "$ok_cluster" "token: SECRET-T
as-user-extra: {scopes: [view]}" &&
	refused_by_both --kubeconfig k &&
	kc k "$ok_cluster" "token: SECRET-T
as: bob
as-groups: [ops]
as-user-extra: {scopes: [view, edit], example.org/team: [a]}" &&
	both --kubeconfig k && test "$(cat eidf.rc)" = 0 &&
	has_header impersonate-extra-scopes "edit"
'

test_expect_success 'client certificate: the same CN reaches the server' '
	kc k "$ok_cluster" "client-certificate: $CERTS/client.crt
client-key: $CERTS/client.key" &&
	both --kubeconfig k && test "$(cat eidf.rc)" = 0 &&
	jq -e ".cn == \"test-user\"" eidf.sent
'

# ---- semantics --------------------------------------------------------------------------

test_expect_success 'server without a scheme and no TLS settings: plain http, no credential' '
	kc k "server: 127.0.0.1:$PLAIN_PORT" "token: SECRET-T" &&
	both --kubeconfig k && test "$(cat eidf.rc)" = 0 &&
	jq -e ".tls == false and (.h | map(.[0]) | index(\"authorization\") == null)" eidf.sent
'

test_expect_success 'server without a scheme, even with a CA: plain http' '
	kc k "server: 127.0.0.1:$PLAIN_PORT
certificate-authority: $CA" "token: SECRET-T" &&
	both --kubeconfig k && test "$(cat eidf.rc)" = 0 &&
	jq -e ".tls == false" eidf.sent &&
	kc k "server: 127.0.0.1:$PLAIN_PORT
insecure-skip-tls-verify: true" "token: SECRET-T" &&
	both --kubeconfig k && test "$(cat eidf.rc)" = 0 &&
	jq -e ".tls == false" eidf.sent
'

test_expect_success 'uppercase scheme, query and fragment in server' '
	kc k "server: \"HTTPS://${HTTPS#https://}/?a=b#frag\"
certificate-authority: $CA" "token: SECRET-T" &&
	both --kubeconfig k && test "$(cat eidf.rc)" = 0
'

test_expect_success 'KUBERNETES_MASTER: the server of a cluster without one' '
	kc k "certificate-authority: $CA" "token: SECRET-T" &&
	KUBERNETES_MASTER=$HTTPS both --kubeconfig k && test "$(cat eidf.rc)" = 0 &&
	jq -e ".path == \"/api/v1/namespaces/ns1/persistentvolumeclaims\"" eidf.sent
'

test_expect_success 'KUBERNETES_MASTER with no kubeconfig at all and --token' '
	KUBECONFIG=$PWD/none KUBERNETES_MASTER=$HTTPS \
		both --token SECRET-M --certificate-authority "$CA" &&
	test "$(cat eidf.rc)" = 0 &&
	has_header authorization "Bearer SECRET-M"
'

test_expect_success 'HOME unset: .kube/config in the working directory' '
	mkdir -p nohome/.kube &&
	kc nohome/.kube/config "$ok_cluster" "token: SECRET-H" &&
	(cd nohome && env -u HOME -u KUBECONFIG sh -c "
		kubectl get pvc </dev/null >../kc.out 2>&1; echo \$? >../kc.rc
		kubectl eidf pvc list </dev/null >../eidf.out 2>&1; echo \$? >../eidf.rc") &&
	test_cmp kc.rc eidf.rc &&
	test "$(cat eidf.rc)" = 0 &&
	test "$(grep -c "Bearer SECRET-H" "$REQLOG")" -ge 2
'

test_expect_success 'token plus a missing tokenFile: the inline token' '
	kc k "$ok_cluster" "token: SECRET-INLINE
tokenFile: $PWD/missing-token" &&
	both --kubeconfig k && test "$(cat eidf.rc)" = 0 &&
	has_header authorization "Bearer SECRET-INLINE"
'

test_expect_success 'tokenFile plus --token: the file'"'"'s token' '
	echo SECRET-FROM-FILE >tokfile &&
	kc k "$ok_cluster" "tokenFile: $PWD/tokfile" &&
	both --kubeconfig k --token SECRET-FLAG && test "$(cat eidf.rc)" = 0 &&
	has_header authorization "Bearer SECRET-FROM-FILE"
'

test_expect_success 'a context with no user: a clear error, never an anonymous request' '
	cat >k <<-EOF &&
	apiVersion: v1
	kind: Config
	current-context: x
	clusters:
	- name: c
	  cluster: {server: "$HTTPS", certificate-authority: "$CA"}
	contexts:
	- name: x
	  context: {cluster: c}
	EOF
	: >"$REQLOG" &&
	test_expect_code 1 kubectl eidf pvc list --kubeconfig k </dev/null >out 2>err &&
	test_grep "context \"x\" has no user" err &&
	test ! -s "$REQLOG" &&
	test_expect_code 1 kubectl eidf pvc list --kubeconfig k --cluster c --context "" </dev/null 2>err &&
	test ! -s "$REQLOG"
'

test_expect_success '--username/--password accepted, basic auth a clear error; --disable-compression' '
	kc k "$ok_cluster" "token: SECRET-T" &&
	test_expect_code 1 kubectl eidf pvc list --kubeconfig k --username a --password SECRET-P 2>err &&
	test_grep "basic authentication" err &&
	test_grep -v SECRET-P err &&
	both --kubeconfig k --disable-compression && test "$(cat eidf.rc)" = 0 &&
	jq -e ".h | map(.[0]) | index(\"accept-encoding\") == null" eidf.sent
'

test_expect_success 'tls-server-name: SNI and Host as kubectl sends them' '
	kc k "server: $HTTPS
certificate-authority: $CA
tls-server-name: kube.test" "token: SECRET-T" &&
	both --kubeconfig k && test "$(cat eidf.rc)" = 0 &&
	jq -e ".sni == \"kube.test\"" eidf.sent
'

test_expect_success 'Host header: no :443 for the default port' '
	# a loopback address of its own, so port 443 is free (needs root)
	a=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
	python3 "$STUB_PY" --dir "$CERTS" --bind "$a" --port 443 --log "$REQLOG" --script "$SCRIPT" \
		--port-file p443 2>p443.err &
	pid=$!
	test_atexit "kill $pid"
	if wait_for 5 test -s p443; then
		kc k "server: https://$a
certificate-authority: $CA
tls-server-name: kube.test" "token: SECRET-T" &&
		both --kubeconfig k && test "$(cat eidf.rc)" = 0 &&
		has_header host "$a" &&
		kc k "server: https://$a:443
certificate-authority: $CA
tls-server-name: kube.test" "token: SECRET-T" &&
		both --kubeconfig k && test "$(cat eidf.rc)" = 0
	else
		say "# port 443 not available here: $(cat p443.err)"
	fi
'

test_expect_success 'exec plugin: stderr reaches the terminal, KUBERNETES_EXEC_INFO typed alike' '
	kc k "$ok_cluster
extensions:
- name: client.authentication.k8s.io/exec
  extension: {audience: eidf, flag: yes, mode: 0755, big: 1_000, ratio: 1.50}" "exec:
  apiVersion: client.authentication.k8s.io/v1
  command: $EIDF_SRC/tests/fixtures/exec-plugin.sh
  interactiveMode: Never
  provideClusterInfo: true" &&
	EXEC_PLUGIN_INFO_OUT=$PWD/kc.info EXEC_PLUGIN_MODE=token \
		kubectl get pvc --kubeconfig k </dev/null >out 2>err &&
	EXEC_PLUGIN_INFO_OUT=$PWD/eidf.info kubectl eidf pvc list --kubeconfig k </dev/null >out 2>err &&
	jq -S . kc.info >kc.json && jq -S . eidf.info >eidf.json &&
	test_cmp kc.json eidf.json &&
	jq -e ".spec.cluster.config.flag == true and .spec.cluster.config.mode == 493" eidf.json &&
	EXEC_PLUGIN_MODE=fail EXEC_PLUGIN_STDERR="open https://login.example/device and enter CODE-1" \
		test_expect_code 1 kubectl eidf pvc list --kubeconfig k </dev/null >out 2>err &&
	test_grep "^open https://login.example/device and enter CODE-1$" err
'

test_expect_success 'exec plugin without a cluster extension: "config": null' '
	kc k "$ok_cluster" "exec:
  apiVersion: client.authentication.k8s.io/v1
  command: $EIDF_SRC/tests/fixtures/exec-plugin.sh
  interactiveMode: Never
  provideClusterInfo: true" &&
	EXEC_PLUGIN_INFO_OUT=$PWD/kc.info kubectl get pvc --kubeconfig k </dev/null >out 2>err &&
	EXEC_PLUGIN_INFO_OUT=$PWD/eidf.info kubectl eidf pvc list --kubeconfig k </dev/null >out 2>err &&
	jq -S . kc.info >kc.json && jq -S . eidf.info >eidf.json &&
	test_cmp kc.json eidf.json &&
	jq -e ".spec.cluster | has(\"config\") and .config == null" eidf.json
'

# ---- proxies from the environment (Go's http.ProxyFromEnvironment) -------------------------
# kube.test only resolves through the proxy (--map), so a client that skips
# the proxy fails to connect, and the proxy's log shows who used it.

PLOG=$TRASH/proxy.log
: >"$PLOG"
python3 "$EIDF_SRC/tests/servers/connect_proxy.py" --port-file "$TRASH/proxy.port" --log "$PLOG" \
	--map kube.test=127.0.0.1 --lifetime 600 2>"$TRASH/proxy.err" &
test_atexit "kill $!"
wait_for 5 test -s "$TRASH/proxy.port" || { echo "Bail out! proxy did not start"; exit 1; }
PROXY=http://127.0.0.1:$(cat "$TRASH/proxy.port")
NAMED=https://kube.test:$STUB_PORT

# via_proxy ARGS...: like both, and the proxy was used by both or by neither;
# prints yes or no
via_proxy() {
	local before mid
	before=$(wc -l <"$PLOG")
	: >"$REQLOG"; : >"$PLAINLOG"
	kubectl get pvc "$@" </dev/null >kc.out 2>kc.err
	echo $? >kc.rc
	sent >kc.sent
	mid=$(wc -l <"$PLOG")
	: >"$REQLOG"; : >"$PLAINLOG"
	kubectl eidf pvc list "$@" </dev/null >eidf.out 2>eidf.err
	echo $? >eidf.rc
	sent >eidf.sent
	test "$mid" -gt "$before" && echo yes >kc.proxy || echo no >kc.proxy
	test "$(wc -l <"$PLOG")" -gt "$mid" && echo yes >eidf.proxy || echo no >eidf.proxy
	test_cmp kc.rc eidf.rc && test_cmp kc.sent eidf.sent && test_cmp kc.proxy eidf.proxy &&
	cat eidf.proxy
}

test_expect_success 'HTTPS_PROXY: an https server goes through the tunnel' '
	kc k "server: $NAMED
certificate-authority: $CA" "token: SECRET-T" &&
	test "$(HTTPS_PROXY=$PROXY via_proxy --kubeconfig k)" = yes &&
	test "$(cat eidf.rc)" = 0 &&
	test "$(https_proxy=$PROXY via_proxy --kubeconfig k)" = yes &&
	HTTPS_PROXY=http://127.0.0.1:1 test_expect_code 1 kubectl eidf pvc list --kubeconfig k 2>err &&
	test_grep "the proxy 127.0.0.1:1 refused the connection (check HTTPS_PROXY/HTTP_PROXY and NO_PROXY)" err
'

test_expect_success 'ALL_PROXY is ignored, HTTP_PROXY is not for https' '
	test "$(ALL_PROXY=$PROXY all_proxy=$PROXY via_proxy --kubeconfig k)" = no &&
	test "$(HTTP_PROXY=$PROXY via_proxy --kubeconfig k)" = no &&
	test "$(cat eidf.rc)" = 1
'

test_expect_success 'NO_PROXY: host:port, domains, subdomains, CIDR' '
	for np in kube.test:$STUB_PORT kube.test .test test "*.test" "*" " KUBE.test "; do
		test "$(HTTPS_PROXY=$PROXY NO_PROXY="$np" via_proxy --kubeconfig k)" = no ||
		{ echo "NO_PROXY=$np"; return 1; }
	done &&
	for np in kube.test:1 ube.test 127.0.0.1 127.0.0.0/8 other.test; do
		test "$(HTTPS_PROXY=$PROXY NO_PROXY="$np" via_proxy --kubeconfig k)" = yes ||
		{ echo "NO_PROXY=$np"; return 1; }
	done &&
	test "$(HTTPS_PROXY=$PROXY no_proxy=kube.test via_proxy --kubeconfig k)" = no
'

test_expect_success 'the server host decides, never tls-server-name; loopback is direct' '
	kc k "server: $HTTPS
certificate-authority: $CA
tls-server-name: kube.test" "token: SECRET-T" &&
	test "$(HTTPS_PROXY=$PROXY via_proxy --kubeconfig k)" = no &&
	test "$(cat eidf.rc)" = 0
'

test_expect_success 'an http server: HTTP_PROXY (upper or lower case), not under CGI' '
	kc k "server: http://kube.test:$PLAIN_PORT" "token: SECRET-T" &&
	test "$(HTTP_PROXY=$PROXY via_proxy --kubeconfig k)" = yes &&
	test "$(http_proxy=$PROXY via_proxy --kubeconfig k)" = yes &&
	test "$(HTTPS_PROXY=$PROXY via_proxy --kubeconfig k)" = no &&
	test "$(REQUEST_METHOD=GET HTTP_PROXY=$PROXY via_proxy --kubeconfig k)" = no
'

test_done
