#!/bin/bash
# Fault suite (issue 9): 429 with Retry-After and 5xx on idempotent requests
# are retried within bounds; a create is not blindly retried; transport drops
# on GET are retried.  Uses the local test cluster's fault switches and
# tests/tools/kclient-probe, then the same through a stage command.
. "$(dirname "$0")/lib.sh"

PROBE=$EIDF_BUILD/tests/kclient-probe
NS=eidf042ns
if [ ! -x "$PROBE" ]; then
	test_skip 'retry faults' "kclient-probe not built ($PROBE)"
	test_done
fi
start_cluster --tenant "$NS" || { echo "Bail out! no cluster"; exit 1; }
probe() { "$PROBE" --kubeconfig "$KUBECONFIG" "$@"; }
now_ms() { date +%s%3N; }
# requests on PATH-REGEX since the log had $1 lines
reqs_since() { tail -n +"$(($1 + 1))" "$EIDF_CLUSTER_STATE/requests.jsonl" | grep -c "$2" || true; }
log_lines() { wc -l <"$EIDF_CLUSTER_STATE/requests.jsonl"; }

cat >cm.json <<-\JSON
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"probe-cm"},"data":{"k":"v"}}
JSON

test_expect_success '429 with Retry-After on a list: waits and retries' '
	cluster_fault fail --status 429 --retry-after 1 --count 2 --path "persistentvolumeclaims" --method GET &&
	n0=$(log_lines) && t0=$(now_ms) &&
	probe list pvcs $NS >out 2>err &&
	t1=$(now_ms) &&
	test_grep "^items=0" out &&
	test "$(reqs_since $n0 "\"status\":429")" = 2 &&
	test "$(reqs_since $n0 "persistentvolumeclaims.*\"status\":200")" = 1 &&
	test $((t1 - t0)) -ge 1900 &&
	test $((t1 - t0)) -lt 10000 &&
	test_grep "requests=3 connects=1" err
'

test_expect_success '500 on a GET: retried with backoff, one connection' '
	cluster_fault fail --status 500 --count 2 --path "/configmaps" --method GET &&
	n0=$(log_lines) &&
	probe list configmaps $NS >out 2>err &&
	test "$(reqs_since $n0 "\"status\":500")" = 2 &&
	test_grep "requests=3 connects=1" err
'

test_expect_success '503 on every GET: gives up after a bounded number of tries' '
	cluster_fault fail --status 503 --count 50 --path "/configmaps" --method GET &&
	n0=$(log_lines) && t0=$(now_ms) &&
	test_expect_code 1 probe list configmaps $NS >out 2>err &&
	t1=$(now_ms) &&
	cluster_clear_faults &&
	tries=$(reqs_since $n0 "\"status\":503") &&
	echo "tries=$tries ms=$((t1 - t0))" &&
	test "$tries" -ge 2 && test "$tries" -le 10 &&
	test $((t1 - t0)) -lt 30000 &&
	test_grep "^Error from server (ServiceUnavailable): " err &&
	test "$(grep -v "^probe:" err | wc -l)" = 1
'

test_expect_success '500 on a create: not retried, the error is reported' '
	cluster_fault fail --status 500 --count 1 --path "/configmaps" --method POST &&
	n0=$(log_lines) &&
	test_expect_code 1 probe create configmaps $NS cm.json >out 2>err &&
	test "$(reqs_since $n0 "\"method\":\"POST\"")" = 1 &&
	test_grep "^Error from server (InternalError): " err &&
	cluster_clear_faults
'

test_expect_success '429 on a create: not blindly retried either' '
	cluster_fault fail --status 429 --retry-after 1 --count 1 --path "/configmaps" --method POST &&
	n0=$(log_lines) &&
	test_must_fail probe create configmaps $NS cm.json >out 2>err &&
	test "$(reqs_since $n0 "\"method\":\"POST\"")" = 1 &&
	cluster_clear_faults &&
	probe create configmaps $NS cm.json >out 2>err &&
	test "$(cluster_request_count "^POST .*/configmaps")" = 3
'

test_expect_success '503 on a DELETE (idempotent): retried' '
	cluster_fault fail --status 503 --count 1 --path "/configmaps/probe-cm" --method DELETE &&
	n0=$(log_lines) &&
	probe delete configmaps $NS probe-cm >out 2>err &&
	test "$(reqs_since $n0 "\"method\":\"DELETE\"")" = 2 &&
	test_must_fail probe get configmaps $NS probe-cm 2>err &&
	test_grep "NotFound" err
'

test_expect_success 'connection dropped without an answer on a GET: retried' '
	cluster_fault drop --count 1 --path "/configmaps" --method GET &&
	probe list configmaps $NS >out 2>err &&
	test_grep "^items=" out
'

# --request-timeout bounds the request with its retries, as client-go's
# request context does: a Retry-After beyond it is not waited for (not even
# the 30 s the client caps Retry-After at); the 429 is the answer, at once.
test_expect_success 'Retry-After larger than the request timeout: the 429 at once, no wait' '
	cluster_fault fail --status 429 --retry-after 3600 --count 1 --path "/secrets" --method GET &&
	t0=$(now_ms) &&
	{ timeout 60 "$PROBE" --kubeconfig "$KUBECONFIG" --timeout-ms 2000 list secrets $NS >out 2>err; rc=$?; } &&
	t1=$(now_ms) && cluster_clear_faults &&
	echo "rc=$rc ms=$((t1 - t0))" && cat err &&
	test "$rc" = 1 &&
	test_grep "^Error from server (TooManyRequests): " err &&
	test $((t1 - t0)) -lt 10000
'

if command -v kubectl-eidf-pvc >/dev/null; then
	test_expect_success 'stage command: pvc list survives a 500 and a 429' '
		cluster_fault fail --status 500 --count 1 --path "persistentvolumeclaims" --method GET &&
		cluster_fault fail --status 429 --retry-after 1 --count 1 --path "persistentvolumeclaims" --method GET &&
		kubectl-eidf pvc list >out 2>err &&
		cat out err
	'
	test_expect_success 'stage command: pvc create is not retried after a 500' '
		cluster_fault fail --status 500 --count 1 --path "persistentvolumeclaims" --method POST &&
		n0=$(log_lines) &&
		test_expect_code 1 kubectl-eidf pvc create data --size 1Gi >out 2>err &&
		cat err &&
		test "$(reqs_since $n0 "\"method\":\"POST\"")" = 1 &&
		test_grep "^Error from server (InternalError): " err &&
		test "$(wc -l <err)" = 1 &&
		cluster_clear_faults
	'
else
	test_skip 'stage command retries' 'kubectl-eidf-pvc not built'
fi

test_done
