#!/bin/bash
# Watches (chunked streams, resume, 410 Gone, bookmarks) and fault injection of
# the local test cluster.
. "$(dirname "$0")/lib.sh"
start_cluster --bookmark-interval 0.5 || exit 1
SERVER=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"server\"])" "$EIDF_CLUSTER_STATE/cluster.json")
CURL="curl -sS --cacert $EIDF_CLUSTER_STATE/pki/ca.crt --cert $EIDF_CLUSTER_STATE/pki/client.crt --key $EIDF_CLUSTER_STATE/pki/client.key -A Go-http-client/1.1"

test_expect_success 'kubectl get pods -w shows a pod go through its phases' '
	(timeout 6 kubectl get pods -w >watch.out 2>&1 || true) &
	sleep 1 &&
	kubectl create job w --image=busybox -- true 2>/dev/null ||
	kubectl create -f - <<-\YAML &&
	apiVersion: batch/v1
	kind: Job
	metadata: {name: w}
	spec:
	  template:
	    spec:
	      restartPolicy: Never
	      containers: [{name: main, image: busybox, command: [sh, -c, "sleep 1"]}]
	YAML
	kubectl wait --for=condition=complete job/w --timeout=20s &&
	wait &&
	cat watch.out &&
	test_grep "^w-.*Running" watch.out &&
	test_grep "^w-.*Completed" watch.out
'

test_expect_success 'watch=1 is a chunked stream of {type,object} lines; resume from resourceVersion' '
	rv=$(kubectl get --raw /api/v1/namespaces/default/configmaps | python3 -c "import json,sys; print(json.load(sys.stdin)[\"metadata\"][\"resourceVersion\"])") &&
	kubectl create configmap wp --from-literal=a=b &&
	kubectl patch cm wp --type=merge -p "{\"data\":{\"a\":\"c\"}}" &&
	kubectl delete cm wp &&
	$CURL -D hdr "$SERVER/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=$rv&timeoutSeconds=1" >ev &&
	grep -qi "^transfer-encoding: chunked" hdr &&
	python3 - ev <<-\PY
	import json, sys
	evs = [json.loads(l) for l in open(sys.argv[1])]
	assert [e["type"] for e in evs] == ["ADDED", "MODIFIED", "DELETED"], evs
	assert all(e["object"]["kind"] == "ConfigMap" and e["object"]["metadata"]["name"] == "wp" for e in evs)
	rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in evs]
	assert rvs == sorted(rvs) and len(set(rvs)) == 3, rvs
	PY
'

test_expect_success 'watch with a label selector and with resourceVersion=0 (initial ADDED events)' '
	kubectl create configmap l1 && kubectl label cm l1 app=x &&
	$CURL "$SERVER/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=0&labelSelector=app%3Dx&timeoutSeconds=1" >ev &&
	test "$(grep -c . ev)" = 1 && test_grep "\"type\":\"ADDED\".*\"name\":\"l1\"" ev
'

test_expect_success 'a too old resourceVersion gets a 410 Expired ERROR event' '
	cluster_compact &&
	$CURL "$SERVER/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=1&timeoutSeconds=1" >ev &&
	test_grep "\"type\":\"ERROR\"" ev && test_grep "\"reason\":\"Expired\",\"code\":410" ev &&
	test_grep "too old resource version" ev
'

test_expect_success 'allowWatchBookmarks sends BOOKMARK events' '
	$CURL "$SERVER/api/v1/namespaces/default/configmaps?watch=1&allowWatchBookmarks=true&timeoutSeconds=2" >ev &&
	test_grep "\"type\":\"BOOKMARK\"" ev
'

test_expect_success 'fault: 429 with Retry-After is retried by kubectl' '
	cluster_fault fail --status 429 --retry-after 1 --count 1 --path "/configmaps" &&
	kubectl get cm l1 &&
	cluster_requests | grep "/configmaps/l1" | grep -c "\"status\":429" >n && test "$(cat n)" = 1 &&
	$CURL -D hdr -o /dev/null "$SERVER/api/v1/namespaces/default/configmaps" &&
	cluster_fault fail --status 429 --retry-after 3 &&
	$CURL -D hdr -o body "$SERVER/api/v1/namespaces/default/configmaps" &&
	grep -qi "^retry-after: 3" hdr && test_grep "\"reason\":\"TooManyRequests\"" body
'

test_expect_success 'fault: 500 for the next N matching requests' '
	cluster_fault fail --status 500 --count 1 --method GET --path "/configmaps/l1" &&
	test_must_fail kubectl get cm l1 2>err &&
	test_grep "injected fault" err &&
	kubectl get cm l1
'

test_expect_success 'fault: delay' '
	cluster_fault delay --seconds 1.2 --path "/configmaps/l1" &&
	start=$(date +%s%N) && kubectl get cm l1 && end=$(date +%s%N) &&
	test $(( (end - start) / 1000000 )) -ge 1200
'

test_expect_success 'fault: cut a watch stream after N bytes' '
	cluster_fault cut --bytes 100 --path "watch=1" &&
	test_expect_code 18 $CURL "$SERVER/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=0&timeoutSeconds=2" >ev 2>err;
	test "$(wc -c <ev)" = 100
'

test_expect_success 'fault: cut a log stream after N bytes' '
	# the container runs until the test is done with it (not for a fixed time
	# that a loaded machine may use up before the pod is seen Ready)
	kubectl create -f - -o name >j <<-YAML &&
	apiVersion: batch/v1
	kind: Job
	metadata: {generateName: lg-}
	spec:
	  template:
	    spec:
	      restartPolicy: Never
	      containers: [{name: main, image: busybox, command: [sh, -c, "echo line-1; echo line-2; echo line-3; until test -e $TRASH/lg-done; do sleep 0.1; done"]}]
	YAML
	cluster_job_ready $(cut -d/ -f2 j) 20 &&
	cluster_fault cut --bytes 14 --path "/log" &&
	test_must_fail kubectl logs -f $(cat j) >out 2>err;
	touch lg-done;
	cat out err; test "$(cat out)" = "$(printf "line-1\nline-2")"
'

test_expect_success 'every request names its TLS connection' '
	cluster_requests | python3 -c "import json,sys; assert all(json.loads(l)[\"conn\"] > 0 for l in sys.stdin)" &&
	test "$(cluster_connections)" -ge 1 &&
	cluster_ctl stats >stats && test_grep "\"connections\":" stats
'

test_done
