#!/usr/bin/env bash
# -v=6..9 request logging like kubectl; tokens, client keys and Secret values
# never appear at any level.
. "$(dirname "$0")/lib.sh"
. "$EIDF_SRC/tests/t/lib-kclient.sh"

echo SECRET-TOKEN-V >tokens
start_stub --tokens tokens
# c2VjcmV0LXZhbHVlLTQy = base64("secret-value-42")
cat >secret.json <<'EOF'
{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s1","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"data\":{\"password\":\"c2VjcmV0LXZhbHVlLTQy\"}}"}},"type":"Opaque","data":{"password":"c2VjcmV0LXZhbHVlLTQy"},"stringData":{"plain":"PLAIN-SECRET-99"}}
EOF
big=$(head -c 3000 /dev/zero | tr '\0' x)
printf '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"k":"%s"}}' "$big" >big.json

test_expect_success '-v=6: one line per request, like kubectl' '
	probe --token SECRET-TOKEN-V -v 6 get configmaps default nope 2>err;
	grep -E "^GET https://127\.0\.0\.1:$STUB_PORT/api/v1/namespaces/default/configmaps/nope 404 Not Found in [0-9]+ milliseconds$" err &&
	test_grep -v "Request Headers" err
'

test_expect_success '-v=7: request headers, Authorization masked' '
	probe --token SECRET-TOKEN-V -v 7 get configmaps default nope 2>err;
	test_grep "^Request Headers:$" err &&
	test_grep "^    Authorization: Bearer <masked>$" err &&
	test_grep "^    User-Agent: kubectl-eidf/" err &&
	test_grep -v SECRET-TOKEN-V err &&
	test_grep -v "Response Body" err
'

test_expect_success '-v=8: bodies cut to 1024 characters' '
	probe --token SECRET-TOKEN-V -v 8 create configmaps default big.json >out 2>err &&
	test_grep "^Response Headers:$" err &&
	grep "^Response Body: " err >body &&
	test_grep "\[truncated [0-9]* chars\]$" body &&
	sed -e "s/^Response Body: //" -e "s/ \[truncated [0-9]* chars\]$//" body >cut &&
	test "$(head -c -1 cut | wc -c)" -le 1024 &&
	test_grep "^Request Body: " err
'

test_expect_success '-v=9: curl command line, bodies up to 10240 characters' '
	probe --token SECRET-TOKEN-V -v 9 get configmaps default big >out 2>err &&
	grep -E "^curl -v -XGET  -H \"Accept: [^\"]*\" .*-H \"Authorization: Bearer <masked>\" .https://127.0.0.1:$STUB_PORT/api/v1/namespaces/default/configmaps/big.$" err &&
	grep "^Response Body: " err >body &&
	test_grep -v truncated body
'

test_expect_success 'Secret values never printed at -v=9 (create, get, list, watch)' '
	probe --token SECRET-TOKEN-V -v 9 create secrets default secret.json >out 2>err &&
	probe --token SECRET-TOKEN-V -v 9 get secrets default s1 >>out 2>>err &&
	probe --token SECRET-TOKEN-V -v 9 list secrets default >>out 2>>err &&
	probe --token SECRET-TOKEN-V -v 9 --max-events 1 watch secrets default >>out 2>>err &&
	test_grep "Request Body: " err &&
	test_grep "\"password\":\"<masked>\"" err &&
	test_grep -v "c2VjcmV0LXZhbHVlLTQy" err &&
	test_grep -v "PLAIN-SECRET-99" err &&
	test_grep -v "secret-value-42" err &&
	test_grep -v SECRET-TOKEN-V err
'

test_expect_success 'exec plugin token masked at -v=9' '
	EXEC_PLUGIN_TOKEN=SECRET-TOKEN-V probe -v 9 \
		--exec "$EIDF_SRC/tests/fixtures/exec-plugin.sh" get configmaps default big >out 2>err &&
	test_grep "Bearer <masked>" err &&
	test_grep -v SECRET-TOKEN-V err
'

test_expect_success 'retries are visible at -v=6' '
	set_script "[{\"method\": \"GET\", \"times\": 1, \"status\": 429, \"headers\": {\"Retry-After\": \"0\"}}]" &&
	probe --token SECRET-TOKEN-V -v 6 get configmaps default big >out 2>err &&
	test_grep " 429 Too Many Requests in " err &&
	test_grep "Got a Retry-After 0s response for attempt 1" err &&
	test_grep " 200 OK in " err
'
stop_stub

test_done
