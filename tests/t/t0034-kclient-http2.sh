#!/usr/bin/env bash
# HTTP/2 where the server offers it: against an h2-only TLS server
# (tests/servers/h2_stub.py, python3-h2) the client negotiates h2 by ALPN and
# runs its requests as streams of one connection; against an HTTP/1.1-only
# server (https_stub.py) it falls back to HTTP/1.1.
. "$(dirname "$0")/lib.sh"
. "$EIDF_SRC/tests/t/lib-kclient.sh"

H2_PY=$EIDF_SRC/tests/servers/h2_stub.py
H2_LOG=$TRASH/h2.log
H2_PID=
# python3-h2 is a Debian package: find an interpreter that sees it
H2_PYTHON=
for py in python3 /usr/bin/python3; do
	if "$py" -c 'import h2' 2>/dev/null; then H2_PYTHON=$py; break; fi
done

start_h2() {
	local portfile=$TRASH/h2.port i
	rm -f "$portfile"
	: >"$H2_LOG"
	"$H2_PYTHON" "$H2_PY" --dir "$CERTS" --log "$H2_LOG" --port-file "$portfile" \
		--lifetime 240 2>"$TRASH/h2.err" &
	H2_PID=$!
	test_atexit "kill $H2_PID"
	for i in $(seq 1 100); do
		[ -s "$portfile" ] && break
		sleep 0.05
	done
	if [ ! -s "$portfile" ]; then
		echo "Bail out! h2 server did not start"; cat "$TRASH/h2.err"; exit 1
	fi
	H2_PORT=$(cat "$portfile")
	H2_URL=https://127.0.0.1:$H2_PORT
}
h2probe() { "$PROBE" --server "$H2_URL" --ca "$CERTS/ca.crt" "$@"; }
h2_requests() { grep -c '"method"' "$H2_LOG"; }
h2_conns() { jq -r 'select(.conn and .method) | .conn' "$H2_LOG" | sort -u | wc -l; }

cat >cm.json <<'EOF'
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"posted"},"data":{"k":"v"}}
EOF

if [ -n "$H2_PYTHON" ]; then
	start_h2

	test_expect_success 'h2-only server: the client negotiates HTTP/2 (ALPN h2)' '
		h2probe get configmaps default cfg >out 2>err &&
		jq -e ".metadata.name == \"cfg\"" out &&
		test_grep "^probe: http_version=20$" err &&
		test "$(jq -r "select(.method) | .alpn" "$H2_LOG" | sort -u)" = h2
	'

	test_expect_success 'HTTP/2: many requests are streams of one connection' '
		: >"$H2_LOG" &&
		h2probe --repeat 5 get configmaps default cfg >out 2>err &&
		test_grep "requests=5 connects=1 " err &&
		test "$(h2_requests)" = 5 &&
		test "$(h2_conns)" = 1 &&
		jq -r "select(.method) | .stream" "$H2_LOG" >streams &&
		printf "1\n3\n5\n7\n9\n" >expect &&
		test_cmp expect streams
	'

	test_expect_success 'HTTP/2: list, create (request body in DATA frames), 404 Status' '
		: >"$H2_LOG" &&
		h2probe list configmaps default >out 2>err &&
		test_grep "^items=2$" out &&
		h2probe create configmaps default cm.json >out 2>err &&
		jq -e ".metadata.name == \"posted\" and .metadata.resourceVersion == \"8\"" out &&
		test "$(jq -r "select(.method == \"POST\") | .body_len" "$H2_LOG")" = \
			"$(tr -d "\n" <cm.json | wc -c)" &&
		test_expect_code 1 h2probe get configmaps default nope 2>err &&
		test_grep "^Error from server (NotFound): configmaps \"nope\" not found$" err &&
		test_grep "last_status=404 last_reason=NotFound" err &&
		test_grep "^probe: http_version=20$" err
	'

	test_expect_success 'HTTP/2: a body larger than the 64 KiB flow-control window arrives whole' '
		h2probe get configmaps default big >out 2>err &&
		test "$(jq -r ".data.k | length" out)" = 300000 &&
		test_grep "^probe: http_version=20$" err
	'

	test_expect_success 'HTTP/2: bearer token and User-Agent arrive, token masked at -v=7' '
		: >"$H2_LOG" &&
		h2probe --token SECRET-TOKEN-H2 -v 7 get configmaps default cfg >out 2>err &&
		test "$(jq -r ".headers[] | select(.[0] == \"authorization\") | .[1]" "$H2_LOG")" = \
			"Bearer SECRET-TOKEN-H2" &&
		jq -r ".headers[] | select(.[0] == \"user-agent\") | .[1]" "$H2_LOG" >ua &&
		grep -E "^kubectl-eidf/[0-9]+\.[0-9]+\.[0-9]+$" ua &&
		test_grep "^    Authorization: Bearer <masked>$" err &&
		test_grep -v SECRET-TOKEN-H2 err
	'

	test_expect_success 'HTTP/2: -v=6 prints one line per request as over HTTP/1.1' '
		h2probe -v 6 --repeat 2 get configmaps default cfg >out 2>err &&
		grep -E "^GET https://127\.0\.0\.1:$H2_PORT/api/v1/namespaces/default/configmaps/cfg 200 OK in [0-9]+ milliseconds$" err >lines &&
		test "$(wc -l <lines)" = 2 &&
		test_expect_code 1 h2probe -v 6 get configmaps default nope 2>err &&
		grep -E "^GET https://127\.0\.0\.1:$H2_PORT/api/v1/namespaces/default/configmaps/nope 404 Not Found in [0-9]+ milliseconds$" err
	'

	test_expect_success 'HTTP/2: tls-server-name verifies that name, :authority is the server' '
		: >"$H2_LOG" &&
		h2probe --server "https://localhost:$H2_PORT" --tls-server-name kube.test \
			get configmaps default cfg >out 2>err &&
		test_grep "^probe: http_version=20$" err &&
		test "$(jq -r ".headers[] | select(.[0] == \":authority\") | .[1]" "$H2_LOG")" = \
			"localhost:$H2_PORT"
	'

	test_expect_success 'HTTP/2: certificate verification still applies (foreign CA refused)' '
		test_expect_code 1 "$PROBE" --server "$H2_URL" --ca "$CERTS/other-ca.crt" \
			get configmaps default cfg 2>err &&
		test_grep "Unable to connect to the server: .*certificate" err
	'

	test_expect_success 'HTTP/2: a watch is a long stream; resumed watches reuse the connection' '
		: >"$H2_LOG" &&
		h2probe watch configmaps default --timeout-seconds 1 --watch-timeout-ms 2500 \
			>out 2>err &&
		test_grep "^watch-rc=1$" out &&
		grep "^ADDED cm-1 1$" out && grep "^ADDED cm-3 3$" out &&
		grep "^ADDED cm-1 4$" out &&
		test "$(h2_requests)" -ge 2 &&
		test "$(h2_conns)" = 1 &&
		test_grep "connects=1 " err &&
		jq -r "select(.method) | .query" "$H2_LOG" | sed -n 2p >q2 &&
		test_grep "resourceVersion=3" q2 &&
		test_grep "^probe: http_version=20$" err
	'

	test_expect_success 'HTTP/2: a watch stopped by the caller ends cleanly' '
		h2probe watch configmaps default --max-events 2 >out 2>err &&
		printf "ADDED cm-1 1\nADDED cm-2 2\nwatch-rc=0\n" >expect &&
		test_cmp expect out
	'
	kill "$H2_PID" 2>/dev/null && wait "$H2_PID" 2>/dev/null
else
	test_skip 'HTTP/2 against an h2 server' 'python3-h2 not installed (tests/install-deps.sh)'
fi

echo SECRET-TOKEN-1 >tokens
start_stub --tokens tokens

test_expect_success 'HTTP/1.1-only server: the client falls back to HTTP/1.1' '
	probe --token SECRET-TOKEN-1 -v 6 create configmaps default cm.json >out 2>err &&
	jq -e ".metadata.name == \"posted\"" out &&
	grep -E "^POST https://127\.0\.0\.1:$STUB_PORT/api/v1/namespaces/default/configmaps\?fieldManager=kubectl-eidf 201 Created in [0-9]+ milliseconds$" err &&
	test_grep "^probe: http_version=11$" err
'

test_expect_success 'HTTP/1.1-only server: requests still share one connection' '
	: >"$REQLOG" &&
	probe --token SECRET-TOKEN-1 --repeat 3 get configmaps default posted >out 2>err &&
	test_grep "requests=3 connects=1 " err &&
	test "$(conn_count)" = 1 &&
	test_grep "^probe: http_version=11$" err
'
stop_stub

test_done
