#!/bin/bash
# Outages of the local test cluster's API server (tests/t/lib.sh: cluster_outage,
# cluster_restart, cluster_wait_up): what a client sees while the server is down
# or a proxy resets connections, and that the cluster comes back with its state.
. "$(dirname "$0")/lib.sh"
start_cluster || exit 1
SERVER=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"server\"])" "$EIDF_CLUSTER_STATE/cluster.json")
CURL="curl -sS --cacert $EIDF_CLUSTER_STATE/pki/ca.crt --cert $EIDF_CLUSTER_STATE/pki/client.crt --key $EIDF_CLUSTER_STATE/pki/client.key -A Go-http-client/1.1"
CMS="$SERVER/api/v1/namespaces/default/configmaps"

list_rv() { $CURL "$CMS" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"metadata\"][\"resourceVersion\"])"; }
# (curl, not kubectl: case 1 needs kubectl's discovery cache still empty when the server is down)
cm_rv() { $CURL "$CMS/$1" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"metadata\"][\"resourceVersion\"])"; }
# kept RV CM CM_RV: the state came back: the configmap with its own resourceVersion, and the
# store's version did not go back (other writers, the node agent's Lease renewals, move it on)
kept() { test "$(cm_rv "$2")" = "$3" && test "$(list_rv)" -ge "$1"; }
# watch_in_background FILE: a configmap watch from the current resourceVersion;
# its curl exit code goes to FILE.rc
watch_in_background() {
	(rc=0; $CURL -N "$CMS?watch=1&resourceVersion=$(list_rv)&timeoutSeconds=60" >"$1" 2>"$1.err" || rc=$?; echo $rc >"$1.rc") &
	wait_for 10 grep -q '"stream":true' "$EIDF_CLUSTER_STATE/requests.jsonl"
}

test_expect_success 'refuse: open watches end, new connections are refused, then the server is back with its state' '
	kubectl create configmap before --from-literal=k=v &&
	rv=$(list_rv) && crv=$(cm_rv before) &&
	watch_in_background w1 &&
	start=$(date +%s) &&
	cluster_outage 3 refuse &&
	wait_for 10 test -s w1.rc &&
	test "$(cat w1.rc)" != 0 &&
	test_expect_code 7 $CURL "$SERVER/version" 2>err &&
	test_grep "Could.*n.t connect" err &&
	test_must_fail kubectl get configmap before 2>err &&
	test_grep "connection refused" err &&
	cluster_wait_up 20 &&
	test $(($(date +%s) - start)) -ge 2 &&
	kubectl get configmap before -o jsonpath="{.data.k}" >out && test "$(cat out)" = v &&
	kept "$rv" before "$crv"
'

test_expect_success 'a watch resumes after the outage from the last resourceVersion it saw' '
	rv=$(list_rv) &&
	cluster_outage 1 refuse &&
	cluster_wait_up 20 &&
	kubectl create configmap after &&
	$CURL "$CMS?watch=1&resourceVersion=$rv&timeoutSeconds=1" >ev &&
	test_grep "\"type\":\"ADDED\".*\"name\":\"after\"" ev &&
	test_must_fail grep "\"name\":\"before\"" ev
'

test_expect_success 'reset: connections are accepted, then reset by peer, for the duration' '
	watch_in_background w2 &&
	cluster_outage 3 reset &&
	wait_for 10 test -s w2.rc &&
	test "$(cat w2.rc)" != 0 &&
	test_must_fail $CURL "$SERVER/version" 2>err &&
	test_grep "reset by peer" err &&
	# kubectl (client-go) retries a GET reset by peer, once a second, 10 times
	kubectl get configmap before &&
	test "$(grep -c "\"event\":\"reset\"" "$EIDF_CLUSTER_STATE/connections.jsonl")" -ge 2 &&
	cluster_wait_up 20
'

test_expect_success 'restart: every watch is dropped, the state and resourceVersions are kept' '
	kubectl create configmap r1 &&
	rv=$(list_rv) && crv=$(cm_rv r1) &&
	watch_in_background w3 &&
	cluster_restart 1 &&
	wait_for 10 test -s w3.rc &&
	test "$(cat w3.rc)" != 0 &&
	cluster_wait_up 20 &&
	kept "$rv" r1 "$crv" &&
	cluster_ctl stats >stats &&
	python3 -c "import json,sys; s=json.load(open(sys.argv[1])); assert s[\"outages\"] == 4 and s[\"outage\"] is None, s" stats
'

test_expect_success 'the Jobs keep running through an outage' '
	kubectl create -f - <<-\YAML &&
	apiVersion: batch/v1
	kind: Job
	metadata: {name: through}
	spec:
	  template:
	    spec:
	      restartPolicy: Never
	      containers: [{name: main, image: busybox, command: [sh, -c, "sleep 2"]}]
	YAML
	cluster_outage 4 refuse &&
	cluster_wait_up 20 &&
	kubectl wait --for=condition=complete job/through --timeout=20s
'

test_done
