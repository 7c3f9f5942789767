#!/usr/bin/env bash
# API client retries: 429/5xx on idempotent requests (Retry-After honoured,
# bounded), never on create/patch; exec plugin re-run once on 401.
. "$(dirname "$0")/lib.sh"
. "$EIDF_SRC/tests/t/lib-kclient.sh"

cat >cm.json <<'EOF'
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"k":"v"}}
EOF
echo SECRET-TOKEN-1 >tokens
start_stub --tokens tokens
probe --token SECRET-TOKEN-1 create configmaps default cm.json >/dev/null 2>&1

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

test_expect_success 'GET: 429 with Retry-After is retried after the given delay' '
	set_script "[{\"method\": \"GET\", \"path_re\": \"configmaps/cfg\$\", \"times\": 2, \"status\": 429,
		\"headers\": {\"Retry-After\": \"1\"}, \"json\": {\"kind\": \"Status\", \"reason\": \"TooManyRequests\", \"code\": 429, \"message\": \"slow down\"}}]" &&
	: >"$REQLOG" && t0=$(date +%s%N) &&
	probe --token SECRET-TOKEN-1 get configmaps default cfg >out 2>err &&
	elapsed=$(ms_since $t0) &&
	jq -e ".data.k == \"v\"" out &&
	test "$(req_count)" = 3 &&
	test_grep "requests=3 connects=1 " err &&
	test "$elapsed" -ge 1900
'

test_expect_success 'GET: 500 is retried with backoff, then succeeds' '
	set_script "[{\"method\": \"GET\", \"path_re\": \"configmaps/cfg\$\", \"times\": 2, \"status\": 500, \"body\": \"boom\"}]" &&
	: >"$REQLOG" &&
	probe --token SECRET-TOKEN-1 get configmaps default cfg >out &&
	test "$(req_count)" = 3
'

test_expect_success 'GET: persistent 503 gives up after 5 tries with the server message' '
	set_script "[{\"method\": \"GET\", \"path_re\": \"configmaps/cfg\$\", \"times\": -1, \"status\": 503, \"body\": \"down\"}]" &&
	: >"$REQLOG" &&
	test_expect_code 1 probe --token SECRET-TOKEN-1 get configmaps default cfg 2>err &&
	test "$(req_count)" = 5 &&
	test_grep "Error from server (ServiceUnavailable)" err &&
	test_grep "last_status=503 last_reason=ServiceUnavailable" err
'

test_expect_success 'LIST and DELETE are retried too' '
	set_script "[{\"method\": \"GET\", \"path_re\": \"/configmaps\$\", \"times\": 1, \"status\": 502},
		{\"method\": \"DELETE\", \"times\": 1, \"status\": 429, \"headers\": {\"Retry-After\": \"0\"}}]" &&
	: >"$REQLOG" &&
	probe --token SECRET-TOKEN-1 list configmaps default >out &&
	test_grep "items=1" out &&
	test "$(req_count)" = 2 &&
	: >"$REQLOG" &&
	probe --token SECRET-TOKEN-1 delete configmaps default cfg &&
	test "$(req_count)" = 2 &&
	test_expect_code 1 probe --token SECRET-TOKEN-1 get configmaps default cfg 2>/dev/null
'

test_expect_success 'POST create is not retried on 500 or 429' '
	set_script "[{\"method\": \"POST\", \"times\": 1, \"status\": 500, \"body\": \"boom\"}]" &&
	: >"$REQLOG" &&
	test_expect_code 1 probe --token SECRET-TOKEN-1 create configmaps default cm.json 2>err &&
	test "$(req_count)" = 1 &&
	test_grep "Error from server (InternalError): an error on the server (\"boom\")" err &&
	set_script "[{\"method\": \"POST\", \"times\": 1, \"status\": 429, \"headers\": {\"Retry-After\": \"0\"}}]" &&
	: >"$REQLOG" &&
	test_expect_code 1 probe --token SECRET-TOKEN-1 create configmaps default cm.json 2>err &&
	test "$(req_count)" = 1 &&
	set_script "[]" &&
	probe --token SECRET-TOKEN-1 create configmaps default cm.json >/dev/null
'

test_expect_success 'PATCH is not retried' '
	set_script "[{\"method\": \"PATCH\", \"times\": 1, \"status\": 503}]" &&
	: >"$REQLOG" &&
	test_expect_code 1 probe --token SECRET-TOKEN-1 patch configmaps default cfg "{\"data\":{\"k\":\"w\"}}" 2>err &&
	test "$(req_count)" = 1 &&
	set_script "[]" &&
	probe --token SECRET-TOKEN-1 patch configmaps default cfg "{\"data\":{\"k\":\"w\"}}" >out &&
	jq -e ".data.k == \"w\"" out
'

test_expect_success 'a dropped connection before any answer is retried once for GET' '
	set_script "[{\"method\": \"GET\", \"times\": 1, \"status\": 200, \"chunks\": [], \"cut\": true}]" &&
	: >"$REQLOG" &&
	probe --token SECRET-TOKEN-1 get configmaps default cfg >out &&
	test "$(req_count)" = 2 &&
	set_script "[]"
'

# exec plugin: a wrapper hands out a stale token first, a fresh one after
cat >plugin.sh <<EOF
#!/bin/sh
n=\$(wc -l <"$TRASH/runs" 2>/dev/null || echo 0)
if [ "\$n" -eq 0 ]; then EXEC_PLUGIN_TOKEN=STALE-TOKEN; else EXEC_PLUGIN_TOKEN=SECRET-TOKEN-1; fi
export EXEC_PLUGIN_TOKEN EXEC_PLUGIN_COUNT="$TRASH/runs"
exec "$EIDF_SRC/tests/fixtures/exec-plugin.sh" "\$@"
EOF
chmod +x plugin.sh

test_expect_success 'exec plugin: 401 re-runs the plugin once and repeats the request' '
	rm -f runs && : >"$REQLOG" &&
	probe --exec "$TRASH/plugin.sh" get configmaps default cfg >out 2>err &&
	test "$(wc -l <runs)" = 2 &&
	test "$(req_count)" = 2 &&
	test "$(last_header Authorization)" = "Bearer SECRET-TOKEN-1"
'

test_expect_success 'exec plugin: credential cached across requests in one process' '
	rm -f runs && echo x >runs && : >"$REQLOG" &&
	probe --exec "$TRASH/plugin.sh" --repeat 5 get configmaps default cfg >out 2>err &&
	test "$(wc -l <runs)" = 2 &&
	test "$(req_count)" = 5
'

test_expect_success 'exec plugin: still 401 after the re-run -> error, no loop' '
	cat >bad.sh <<-EOF &&
	#!/bin/sh
	echo run >>"$TRASH/runs"
	EXEC_PLUGIN_TOKEN=NEVER-GOOD exec "$EIDF_SRC/tests/fixtures/exec-plugin.sh"
	EOF
	chmod +x bad.sh && rm -f runs && : >"$REQLOG" &&
	test_expect_code 1 probe --exec "$TRASH/bad.sh" get configmaps default cfg 2>err &&
	test "$(wc -l <runs)" = 2 &&
	test "$(req_count)" = 2 &&
	test_grep "You must be logged in to the server" err &&
	test_grep -v NEVER-GOOD err
'

test_expect_success 'exec plugin failure: its stderr is shown' '
	test_expect_code 1 env EXEC_PLUGIN_MODE=fail EXEC_PLUGIN_STDERR="please log in" \
		"$PROBE" --server "$STUB_URL" --ca "$CERTS/ca.crt" \
		--exec "$EIDF_SRC/tests/fixtures/exec-plugin.sh" get configmaps default cfg 2>err &&
	test_grep "please log in" err
'
stop_stub

test_done
