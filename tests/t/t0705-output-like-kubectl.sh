#!/bin/bash
# Output like kubectl: -o json|yaml leave out metadata.managedFields unless
# --show-managed-fields, and --dry-run=server prints the same way in every
# stage - one "KIND/NAME created (server dry run)" line per object sent, or
# with -o the server's answer (a v1 List when several objects were sent).
. "$(dirname "$0")/lib.sh"

if ! command -v busybox >/dev/null; then
	test_skip "output tests" "needs busybox"
	test_done
fi
NS=eidf042ns
start_cluster --tenant $NS --eidf-policy || exit 1
PVC="kubectl-eidf-pvc -n $NS"
FETCH="kubectl-eidf-fetch -n $NS"
BC="kubectl-eidf-build_context -n $NS"
posts() { cluster_request_count "^POST "; }

test_expect_success 'setup: a bound claim, a build context' '
	cluster_bound_pvc data -n $NS &&
	mkdir ctx && echo "FROM scratch" >ctx/Dockerfile
'

test_expect_success '-o yaml|json drop managedFields; --show-managed-fields keeps them' '
	kubectl get pvc data -n $NS -o json --show-managed-fields | jq -e ".metadata.managedFields | length > 0" &&
	$PVC get data -o yaml >y &&
	test_must_fail grep managedFields y &&
	$PVC list -o json >j &&
	jq -e "[.items[] | .metadata | has(\"managedFields\")] | any | not" j &&
	$PVC get data -o json --show-managed-fields >k &&
	jq -e ".metadata.managedFields[0].manager" k
'

test_expect_success 'pvc create --dry-run=server: one line, or the answer without managedFields' '
	: >"$EIDF_CLUSTER_STATE/requests.jsonl" &&
	$PVC create d1 --size 1Gi --dry-run=server >out &&
	test "$(cat out)" = "persistentvolumeclaim/d1 created (server dry run)" &&
	$PVC create d1 --size 1Gi --dry-run=server -o json >j &&
	jq -e ".kind == \"PersistentVolumeClaim\" and (.metadata | has(\"managedFields\") | not)" j &&
	test "$(cluster_request_count "^POST .*dryRun=All")" = 2 &&
	test_must_fail kubectl get pvc d1 -n $NS 2>/dev/null
'

test_expect_success 'fetch --dry-run=server: a line per object sent (its list Secret and the Job); -o yaml: a v1 List of both' '
	url="https://data.example.org/a.bin?X-Amz-Signature=abc" &&
	: >"$EIDF_CLUSTER_STATE/requests.jsonl" &&
	$FETCH "$url" --pvc data --dry-run=server >out &&
	cat out &&
	test "$(wc -l <out)" = 2 &&
	test_grep "^secret/fetch-list-[a-z0-9]* created (server dry run)$" out &&
	test_grep "^job.batch/fetch-[a-z0-9]* created (server dry run)$" out &&
	$FETCH "$url" --pvc data --dry-run=server -o yaml >y &&
	test_grep "^kind: List$" y && test_grep "^apiVersion: v1$" y &&
	test_grep "^  kind: Secret$" y && test_grep "^  kind: Job$" y &&
	test_must_fail grep managedFields y &&
	test "$(cluster_request_count "^POST ")" = "$(cluster_request_count "^POST .*dryRun=All")" &&
	test -z "$(kubectl get jobs -n $NS -o name)"
'

test_expect_success 'build-context submit --dry-run=server: the context Secret and the Job, the same way' '
	: >"$EIDF_CLUSTER_STATE/requests.jsonl" &&
	$BC submit ctx --image reg.example/me/app:1 --builder-image busybox:test --cpu 100m --memory 128Mi \
		--dry-run=server >out 2>err &&
	cat out &&
	test_grep "^secret/build-context-[a-z0-9-]* created (server dry run)$" out &&
	test "$(tail -n 1 out | sed "s/-[a-z0-9]* created/ created/")" = "job.batch/build-context created (server dry run)" &&
	$BC submit ctx --image reg.example/me/app:1 --builder-image busybox:test --cpu 100m --memory 128Mi \
		--dry-run=server -o json >j 2>err &&
	jq -e ".kind == \"List\" and ([.items[].kind] == [\"Secret\", \"Job\"])" j &&
	test "$(cluster_request_count "^POST ")" = "$(cluster_request_count "^POST .*dryRun=All")" &&
	test -z "$(kubectl get jobs,secrets -n $NS -l eidf.ac.uk/stage=build-context -o name)"
'

test_expect_success 'build-context secret create --dry-run=server: one line; -o json redacted' '
	printf "%s" "s3cr3t-pass" >pw &&
	$BC secret create regcred --username me --password-stdin --registry reg.example --dry-run=server <pw >out &&
	test "$(cat out)" = "secret/regcred created (server dry run)" &&
	$BC secret create regcred --username me --password-stdin --registry reg.example --dry-run=server -o json <pw >j &&
	jq -e ".kind == \"Secret\"" j &&
	jq -r ".data[\".dockerconfigjson\"]" j | base64 -d >cfg &&
	test_must_fail grep -q s3cr3t-pass cfg && test_must_fail grep -q "$(printf me:s3cr3t-pass | base64)" cfg &&
	test_must_fail kubectl get secret regcred -n $NS 2>/dev/null
'

test_expect_success 'pvc df --dry-run=server sends the helper Job (it used to print the manifest unsent)' '
	: >"$EIDF_CLUSTER_STATE/requests.jsonl" &&
	$PVC df data --dry-run=server >out &&
	cat out &&
	test_grep "^job.batch/[a-z0-9-]* created (server dry run)$" out &&
	test "$(cluster_request_count "^POST .*/jobs.*dryRun=All")" = 1 &&
	test -z "$(kubectl get jobs -n $NS -o name)"
'

test_done
