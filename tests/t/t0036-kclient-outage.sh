#!/usr/bin/env bash
# The client's long-running mode (docs/waiting.md), against the scripted
# stub: 5xx and 429 are an outage ridden out with backoff (Retry-After
# honoured), said once when lost and once when back, until the reconnect
# timeout; a request that may have changed something is never repeated; and
# Warning: headers are printed the way kubectl prints them, each once.
. "$(dirname "$0")/lib.sh"
. "$EIDF_SRC/tests/t/lib-kclient.sh"

cat >cm.json <<'EOF'
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"k":"v"}}
EOF
echo SECRET-TOKEN-1 >tokens
start_stub --tokens tokens
P="probe --token SECRET-TOKEN-1"
$P create configmaps default cm.json >/dev/null 2>&1
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

test_expect_success 'long-running: 503 more often than a one-shot request tries is ridden out' '
	set_script "[{\"method\": \"GET\", \"path_re\": \"configmaps/cfg\$\", \"times\": 7, \"status\": 503, \"body\": \"down\"}]" &&
	: >"$REQLOG" &&
	$P --long-running 60000 get configmaps default cfg >out 2>err &&
	cat err &&
	jq -e ".data.k == \"v\"" out &&
	test "$(req_count)" = 8 &&
	test "$(grep -c "^lost the API server (503 Service Unavailable); retrying — the probe.s work keeps running" err)" = 1 &&
	test "$(grep -c "^reconnected to the API server 127.0.0.1:$STUB_PORT after" err)" = 1
'

test_expect_success 'one-shot (the default): the same outage fails after 5 tries with the server message' '
	set_script "[{\"method\": \"GET\", \"path_re\": \"configmaps/cfg\$\", \"times\": 7, \"status\": 503, \"body\": \"down\"}]" &&
	: >"$REQLOG" &&
	test_expect_code 1 $P get configmaps default cfg 2>err &&
	test "$(req_count)" = 5 &&
	test_grep "Error from server (ServiceUnavailable)" err &&
	test_must_fail grep "lost the API server" err
'

test_expect_success 'long-running: 429 waits at least its Retry-After' '
	set_script "[{\"method\": \"GET\", \"path_re\": \"configmaps/cfg\$\", \"times\": 1, \"status\": 429,
		\"headers\": {\"Retry-After\": \"3\"}, \"json\": {\"kind\": \"Status\", \"reason\": \"TooManyRequests\", \"code\": 429}}]" &&
	: >"$REQLOG" && t0=$(date +%s%N) &&
	$P --long-running 60000 get configmaps default cfg >out 2>err &&
	ms=$(ms_since $t0) && echo "took $ms ms" &&
	test "$ms" -ge 3000 &&
	test "$(req_count)" = 2 &&
	test_grep "lost the API server (429 Too Many Requests)" err
'

test_expect_success 'long-running: an outage longer than the reconnect timeout gives up, naming the flag' '
	set_script "[{\"method\": \"GET\", \"path_re\": \"configmaps/cfg\$\", \"times\": -1, \"status\": 502}]" &&
	: >"$REQLOG" &&
	test_expect_code 1 $P --long-running 2000 get configmaps default cfg 2>err &&
	cat err &&
	test_grep "error: the API server 127.0.0.1:$STUB_PORT has been unreachable for [0-9]*s (502 Bad Gateway); gave up (--reconnect-timeout)" err &&
	test "$(grep -c "^lost the API server" err)" = 1 &&
	test_must_fail grep "reconnected" err
'

test_expect_success 'long-running: a POST answered 503 is not repeated (it may have happened), 429 is' '
	set_script "[{\"method\": \"POST\", \"times\": 1, \"status\": 503}]" &&
	: >"$REQLOG" &&
	test_expect_code 1 $P --long-running 60000 create configmaps default cm.json 2>err &&
	test "$(req_count)" = 1 &&
	set_script "[{\"method\": \"POST\", \"times\": 1, \"status\": 429, \"headers\": {\"Retry-After\": \"0\"}}]" &&
	: >"$REQLOG" &&
	test_expect_code 1 $P --long-running 60000 create configmaps default cm.json 2>err &&
	test "$(req_count)" = 2 &&
	test_grep "AlreadyExists" err
'

# a PodSecurity warning (quotes escaped, a 199 that kubectl does not show)
# on every GET, and one with a control character on the dry-run POST
cat >warn.json <<'EOF'
[{"method": "GET", "times": -1, "status": 200,
  "headers": {"Warning": "299 - \"would violate PodSecurity \\\"restricted:latest\\\": runAsNonRoot != true\", 199 agent \"not shown\""},
  "json": {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "cfg"}, "data": {"k": "v"}}},
 {"method": "POST", "times": -1, "status": 201,
  "headers": {"Warning": "299 - \"dry run: x\u001b[31m\""},
  "json": {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "cfg"}}}]
EOF

test_expect_success 'Warning headers: printed like kubectl, once each, escaped, for dry runs too' '
	set_script "$(cat warn.json)" &&
	$P --repeat 3 get configmaps default cfg >out 2>err &&
	cat err &&
	test "$(grep -c "^Warning: would violate PodSecurity \"restricted:latest\": runAsNonRoot != true$" err)" = 1 &&
	test_must_fail grep "not shown" err &&
	$P create configmaps default cm.json --dry-run >out 2>err &&
	cat err &&
	grep -F "Warning: dry run: x\x1b[31m" err
'

test_done
