#!/usr/bin/env bash
# kubeconfig proxy-url: requests to an https:// cluster go through an HTTP
# CONNECT tunnel (tests/servers/connect_proxy.py), TLS is verified end to end
# through it, and the proxy sees nothing but the CONNECT request.
. "$(dirname "$0")/lib.sh"
. "$EIDF_SRC/tests/t/lib-kclient.sh"

PROXY_PY=$EIDF_SRC/tests/servers/connect_proxy.py
PCOUNT=$TRASH/proxy.count
PLOG=$TRASH/proxy.log
PDUMP=$TRASH/proxy.dump
PROXY_PID=

start_proxy() {
	local portfile=$TRASH/proxy.port i
	rm -f "$portfile" "$PCOUNT"
	: >"$PLOG"
	: >"$PDUMP"
	python3 "$PROXY_PY" --port-file "$portfile" --count "$PCOUNT" --log "$PLOG" \
		--dump "$PDUMP" --lifetime 240 2>"$TRASH/proxy.err" &
	PROXY_PID=$!
	test_atexit "kill $PROXY_PID"
	for i in $(seq 1 100); do
		[ -s "$portfile" ] && break
		sleep 0.05
	done
	if [ ! -s "$portfile" ]; then
		echo "Bail out! proxy did not start"; cat "$TRASH/proxy.err"; exit 1
	fi
	PROXY_PORT=$(cat "$portfile")
}
tunnels() { cat "$PCOUNT" 2>/dev/null || echo 0; }

# kubeconfig SERVER CA PROXY-URL > file
write_kubeconfig() {
	cat <<-EOF
	apiVersion: v1
	kind: Config
	clusters:
	- name: c
	  cluster:
	    server: $1
	    certificate-authority: $2
	    proxy-url: $3
	users:
	- name: u
	  user:
	    token: SECRET-TOKEN-P
	contexts:
	- name: x
	  context: {cluster: c, user: u, namespace: default}
	current-context: x
	EOF
}

cat >cm.json <<'EOF'
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"k":"v"}}
EOF
echo SECRET-TOKEN-P >tokens
start_stub --tokens tokens
start_proxy
write_kubeconfig "$STUB_URL" "$CERTS/ca.crt" "http://127.0.0.1:$PROXY_PORT" >kc
kp() { "$PROBE" --kubeconfig kc "$@"; }

test_expect_success 'proxy-url: the request goes through a CONNECT tunnel' '
	kp create configmaps default cm.json >out 2>err &&
	jq -e ".metadata.name == \"cfg\"" out &&
	test "$(tunnels)" = 1 &&
	test "$(jq -r .request "$PLOG")" = "CONNECT 127.0.0.1:$STUB_PORT HTTP/1.1" &&
	test "$(last_header Authorization)" = "Bearer SECRET-TOKEN-P"
'

test_expect_success 'proxy-url: many requests share one tunnel (one TLS connection)' '
	: >"$REQLOG" &&
	kp --repeat 5 get configmaps default cfg >out 2>err &&
	test_grep "requests=5 connects=1 " err &&
	test "$(tunnels)" = 2 &&
	test "$(conn_count)" = 1
'

test_expect_success 'the proxy sees only the CONNECT request, never the token' '
	jq -r ".headers[][0]" "$PLOG" | sort -u >names &&
	test_grep -v -i "authorization" names &&
	test_grep -v -i "impersonate" names &&
	test -s "$PDUMP" &&
	! grep -a -q SECRET-TOKEN-P "$PDUMP" &&
	! grep -a -q "/api/v1" "$PDUMP" &&
	! grep -a -q -i "^authorization:" "$PDUMP"
'

test_expect_success 'proxy-url beats NO_PROXY, as in client-go' '
	before=$(tunnels) &&
	NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost \
		kp get configmaps default cfg >out 2>err &&
	test "$(tunnels)" = $((before + 1))
'

test_expect_success 'proxy-url: -v=6 lines name the server, not the proxy' '
	kp -v 6 get configmaps default cfg >out 2>err &&
	grep -E "^GET https://127\.0\.0\.1:$STUB_PORT/api/v1/namespaces/default/configmaps/cfg 200 OK in [0-9]+ milliseconds$" err
'

test_expect_success 'TLS is verified end to end through the tunnel: a foreign CA fails' '
	write_kubeconfig "$STUB_URL" "$CERTS/other-ca.crt" "http://127.0.0.1:$PROXY_PORT" >kc-bad &&
	before=$(tunnels) &&
	test_expect_code 1 "$PROBE" --kubeconfig kc-bad get configmaps default cfg >out 2>err &&
	test_grep "^error: Unable to connect to the server: .*certificate" err &&
	test "$(tunnels)" -gt "$before"
'

test_expect_success 'TLS through the tunnel checks the host name too' '
	write_kubeconfig "https://localhost:$STUB_PORT" "$CERTS/ca.crt" \
		"http://127.0.0.1:$PROXY_PORT" >kc-name &&
	test_expect_code 1 "$PROBE" --kubeconfig kc-name get configmaps default cfg >out 2>err &&
	test_grep "^error: Unable to connect to the server" err &&
	test "$(jq -r .request "$PLOG" | tail -n 1)" = "CONNECT localhost:$STUB_PORT HTTP/1.1"
'

test_expect_success 'unsupported proxy scheme: clear kubeconfig error, nothing sent' '
	write_kubeconfig "$STUB_URL" "$CERTS/ca.crt" "ftp://127.0.0.1:$PROXY_PORT" >kc-ftp &&
	before=$(tunnels) && lines=$(wc -l <"$PLOG") &&
	test_expect_code 1 "$PROBE" --kubeconfig kc-ftp get configmaps default cfg >out 2>err &&
	echo "error: cluster \"c\" in kc-ftp: proxy-url must be an http://, https:// or socks5:// URL" >expect &&
	test_cmp expect err &&
	test "$(tunnels)" = "$before" &&
	test "$(wc -l <"$PLOG")" = "$lines"
'

test_expect_success 'proxy refusing the tunnel: the error says so' '
	write_kubeconfig "https://blocked.invalid:443" "$CERTS/ca.crt" \
		"http://127.0.0.1:$PROXY_PORT" >kc-403 &&
	test_expect_code 1 "$PROBE" --kubeconfig kc-403 get configmaps default cfg >out 2>err &&
	test_grep "^error: Unable to connect to the server: CONNECT tunnel failed, response 403$" err
'

test_expect_success 'proxy not running: the error names the proxy, not the server' '
	write_kubeconfig "$STUB_URL" "$CERTS/ca.crt" "http://user:pw-SECRET@127.0.0.1:1" >kc-down &&
	test_expect_code 1 "$PROBE" --kubeconfig kc-down get configmaps default cfg >out 2>err &&
	test_grep "^error: Unable to connect to the server: the proxy 127.0.0.1:1 refused the connection (check proxy-url in the kubeconfig)$" err &&
	test_grep -v pw-SECRET err
'

test_expect_success 'no proxy-url: HTTPS_PROXY is not used for a loopback server (like Go)' '
	write_kubeconfig "$STUB_URL" "$CERTS/ca.crt" "" >kc-none &&
	before=$(tunnels) &&
	HTTPS_PROXY=http://127.0.0.1:$PROXY_PORT https_proxy=http://127.0.0.1:$PROXY_PORT \
		"$PROBE" --kubeconfig kc-none get configmaps default cfg >out 2>err &&
	test "$(tunnels)" = "$before"
'

kill "$PROXY_PID" 2>/dev/null && wait "$PROXY_PID" 2>/dev/null
stop_stub

test_done
