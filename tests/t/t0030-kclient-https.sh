#!/usr/bin/env bash
# API client over real TLS: client certificates from memory, bearer tokens,
# CA verification, tls-server-name, impersonation, User-Agent, one connection.
. "$(dirname "$0")/lib.sh"
. "$EIDF_SRC/tests/t/lib-kclient.sh"

cat >cm.json <<'EOF'
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"k":"v"}}
EOF

start_stub --client-cert required

test_expect_success 'client certificate (PEM bytes in memory) authenticates' '
	probe --cert "$CERTS/client.crt" --key "$CERTS/client.key" \
		create configmaps default cm.json >out &&
	jq -e ".metadata.name == \"cfg\"" out &&
	test "$(tail -n 1 "$REQLOG" | jq -r .client_cn)" = test-user
'

test_expect_success 'NotFound is reported like kubectl, with status and reason kept' '
	test_expect_code 1 probe --cert "$CERTS/client.crt" --key "$CERTS/client.key" \
		get configmaps default nope >out 2>err &&
	test_grep "^Error from server (NotFound): configmaps \"nope\" not found$" err &&
	test_grep "last_status=404 last_reason=NotFound" err
'

test_expect_success 'no client certificate: TLS handshake refused, clear error' '
	test_must_fail probe get configmaps default cfg 2>err &&
	test_grep "Unable to connect to the server" err
'

test_expect_success 'User-Agent is kubectl-eidf/VERSION' '
	probe --cert "$CERTS/client.crt" --key "$CERTS/client.key" get configmaps default cfg &&
	last_header User-Agent >ua &&
	grep -E "^kubectl-eidf/[0-9]+\.[0-9]+\.[0-9]+$" ua
'

test_expect_success 'many requests share one TLS connection' '
	: >"$REQLOG" &&
	probe --cert "$CERTS/client.crt" --key "$CERTS/client.key" --repeat 20 \
		get configmaps default cfg >out 2>err &&
	test_grep "requests=20 connects=1 " err &&
	test "$(req_count)" = 20 &&
	test "$(conn_count)" = 1
'

test_expect_success 'the client key never reaches the output, even at -v=9' '
	probe --cert "$CERTS/client.crt" --key "$CERTS/client.key" -v 9 \
		get configmaps default cfg >out 2>err &&
	sed -n 2p "$CERTS/client.key" >keyline &&
	! grep -F -f keyline out err
'
stop_stub

echo SECRET-TOKEN-1 >tokens
start_stub --tokens tokens

test_expect_success 'bearer token authenticates' '
	probe --token SECRET-TOKEN-1 get configmaps default missing 2>err;
	test_grep "NotFound" err &&
	test "$(last_header Authorization)" = "Bearer SECRET-TOKEN-1"
'

test_expect_success 'wrong token: kubectl message for 401' '
	test_expect_code 1 probe --token WRONG get configmaps default x 2>err &&
	test_grep "^error: You must be logged in to the server (Unauthorized)$" err &&
	test_grep "last_status=401" err
'

test_expect_success 'tokenFile is read and sent' '
	printf "SECRET-TOKEN-1\n" >tokfile &&
	probe --token-file tokfile create configmaps default cm.json >out &&
	test "$(last_header Authorization)" = "Bearer SECRET-TOKEN-1"
'

test_expect_success 'impersonation headers (Impersonate-Group repeated)' '
	probe --token SECRET-TOKEN-1 --as alice --as-group g1 --as-group "g 2" --as-uid 42 \
		get configmaps default cfg >out &&
	test "$(last_header Impersonate-User)" = alice &&
	last_header Impersonate-Group >groups &&
	printf "g1\ng 2\n" >expect && test_cmp expect groups &&
	test "$(last_header Impersonate-Uid)" = 42
'

test_expect_success 'TLS verification is on: a foreign CA is refused' '
	test_expect_code 1 "$PROBE" --server "$STUB_URL" --ca "$CERTS/other-ca.crt" \
		--token SECRET-TOKEN-1 get configmaps default cfg 2>err &&
	test_grep "Unable to connect to the server: .*certificate" err
'

test_expect_success 'TLS verification is on: system CAs do not trust the stub' '
	test_must_fail "$PROBE" --server "$STUB_URL" --token SECRET-TOKEN-1 \
		get configmaps default cfg 2>err &&
	test_grep "certificate" err
'

test_expect_success '--insecure-skip-tls-verify skips verification' '
	"$PROBE" --server "$STUB_URL" --insecure --token SECRET-TOKEN-1 \
		get configmaps default cfg >out &&
	jq -e ".data.k == \"v\"" out
'

test_expect_success 'host name mismatch is refused' '
	test_must_fail probe --server "https://localhost:$STUB_PORT" --token SECRET-TOKEN-1 \
		get configmaps default cfg 2>err &&
	test_grep "Unable to connect to the server" err
'

test_expect_success 'tls-server-name verifies against that name, Host stays the server' '
	probe --server "https://localhost:$STUB_PORT" --tls-server-name kube.test \
		--token SECRET-TOKEN-1 get configmaps default cfg >out &&
	jq -e ".metadata.name == \"cfg\"" out &&
	test "$(last_header Host)" = "localhost:$STUB_PORT"
'

test_expect_success 'request timeout' '
	set_script "[{\"path_re\": \"/configmaps/slow\$\", \"delay\": 3, \"status\": 200, \"json\": {}}]" &&
	start=$(date +%s%N) &&
	test_expect_code 1 probe --token SECRET-TOKEN-1 --timeout-ms 400 \
		get configmaps default slow 2>err &&
	end=$(date +%s%N) &&
	test_grep "no answer within 400ms (--request-timeout)" err &&
	test $(( (end - start) / 1000000 )) -lt 2500 &&
	set_script "[]"
'
stop_stub

start_stub --plain --tokens tokens

test_expect_success 'plain http: no credential is sent (like kubectl)' '
	probe --token SECRET-TOKEN-1 --cert "$CERTS/client.crt" --key "$CERTS/client.key" \
		get configmaps default cfg 2>err;
	test "$(req_count)" = 1 &&
	test -z "$(last_header Authorization)" &&
	test_grep "You must be logged in" err
'

test_expect_success 'plain http: the exec plugin is not even run' '
	: >runs &&
	EXEC_PLUGIN_COUNT=$PWD/runs test_must_fail probe \
		--exec "$EIDF_SRC/tests/fixtures/exec-plugin.sh" get configmaps default cfg &&
	test ! -s runs &&
	test -z "$(last_header Authorization)"
'
stop_stub

test_done
