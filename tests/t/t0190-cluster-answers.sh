#!/bin/bash
# The local cluster's answers compared with the real kube-apiserver's
# (tests/fixtures/apiserver-samples): logs of unscheduled pods and missing
# containers, server-side dry runs, DELETE with each propagation policy, and
# lists/continues with old or future resourceVersions.
. "$(dirname "$0")/lib.sh"
start_cluster || exit 1
SERVER=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"server\"])" "$EIDF_CLUSTER_STATE/cluster.json")
PKI=$EIDF_CLUSTER_STATE/pki
CURL="curl -sS --cacert $PKI/ca.crt --cert $PKI/client.crt --key $PKI/client.key -A Go-http-client/1.1"
SAMPLES=$EIDF_SRC/tests/fixtures/apiserver-samples  # recorded from a real kube-apiserver: README.md there
NSP=$SERVER/api/v1/namespaces/default
JOBS=$SERVER/apis/batch/v1/namespaces/default/jobs

status_of() { head -1 "${1:-hdr}" | cut -d" " -f2; }
# header NAME [FILE]: the value of a header of a curl -D dump (name's case ignored)
header() { tr -d "\r" <"${2:-hdr}" | sed -n "s/^$1: //Ip"; }
# same_status A B: two Status bodies are equal once the names in them are replaced by X
same_status() {
	python3 - "$1" "$2" "${3:-}" <<-\PY
	import json, re, sys
	a, b = [json.load(open(f)) for f in sys.argv[1:3]]
	for s in (a, b):
	    s["message"] = re.sub(r"(pod |pods? \"|in pod \")[a-z0-9-]+", r"\1X", s.get("message", ""))
	    s.get("details", {}).pop("name", None)
	assert a == b, (a, b)
	PY
}
sample_req() { python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))[sys.argv[2]]))' "$SAMPLES/dryrun-requests.json" "$1"; }

test_expect_success 'logs of a pod not on a node: 204 No Content, no body, no Content-Type (follow too)' '
	kubectl create -f - <<-\YAML &&
	apiVersion: v1
	kind: Pod
	metadata: {name: logs-unscheduled}
	spec:
	  nodeSelector: {no-such-label: x}
	  containers: [{name: main, image: busybox, command: [sleep, "30"]}]
	YAML
	for q in "" "?follow=true"; do
		$CURL -D hdr -o body "$NSP/pods/logs-unscheduled/log$q" &&
		test "$(status_of)" = 204 && test ! -s body &&
		test -z "$(header content-type)" &&
		test "$(status_of "$SAMPLES/logs-unscheduled-follow-204.headers")" = 204 || return 1
	done
'

test_expect_success 'logs of a missing container: 400 from the API server, on a pod scheduled or not' '
	$CURL -D hdr -o body "$NSP/pods/logs-unscheduled/log?container=nope" &&
	test "$(status_of)" = 400 && same_status body "$SAMPLES/logs-bad-container-400.json" &&
	kubectl create -f - <<-\YAML &&
	apiVersion: v1
	kind: Pod
	metadata: {name: logs-running}
	spec:
	  containers: [{name: main, image: busybox, command: [sh, -c, "echo one; echo two; sleep 30"]}]
	YAML
	kubectl wait --for=condition=ready pod/logs-running --timeout=20s &&
	$CURL -D hdr -o body "$NSP/pods/logs-running/log?container=nope" &&
	test "$(status_of)" = 400 && same_status body "$SAMPLES/logs-bad-container-running-400.json" &&
	$CURL -D hdr -o body "$NSP/pods/no-such-pod/log" &&
	test "$(status_of)" = 404 && same_status body "$SAMPLES/logs-pod-notfound-404.json"
'

test_expect_success 'previous=true without a previous instance: 400 with the kubelet message' '
	$CURL -D hdr -o body "$NSP/pods/logs-running/log?previous=true" &&
	test "$(status_of)" = 400 &&
	same_status body "$SAMPLES/logs-previous-none-400.kubelet-emulated.json"
'

test_expect_success 'logs with tailLines and timestamps: RFC 3339 with 9 fractional digits' '
	wait_for 10 sh -c "$CURL \"$NSP/pods/logs-running/log\" | grep -q two" &&
	$CURL -D hdr -o body "$NSP/pods/logs-running/log?tailLines=2&timestamps=true" &&
	test "$(status_of)" = 200 && header content-type | grep -q "^text/plain" &&
	grep -E "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z " body >ts && test $(wc -l <ts) = 2 &&
	grep -E -c "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z " "$SAMPLES/logs-completed-tail2-timestamps.txt" >n && test "$(cat n)" = 2
'

test_expect_success 'dry-run create of a Job: 201, the name resolved, a uid, no resourceVersion; nothing stored' '
	sample_req job >job.json &&
	$CURL -D hdr -o body -X POST -H "Content-Type: application/json" --data-binary @job.json "$JOBS?dryRun=All" &&
	test "$(status_of)" = 201 &&
	python3 - body "$SAMPLES/dryrun-job.json" <<-\PY &&
	import json, sys
	for f in sys.argv[1:]:
	    md = json.load(open(f))["metadata"]
	    assert md["name"].startswith("dryrun-job-") and len(md["name"]) == len("dryrun-job-") + 5, md
	    assert md.get("uid") and md.get("creationTimestamp") and "resourceVersion" not in md, md
	PY
	test -z "$(kubectl get jobs -o name)"
'

test_expect_success 'dry-run Secret: stringData merged into data; dry-run PVC: class, finalizer, Filesystem, Pending' '
	sample_req secret >secret.json && sample_req pvc >pvc.json &&
	$CURL -o secret.out -X POST -H "Content-Type: application/json" --data-binary @secret.json "$NSP/secrets?dryRun=All" &&
	$CURL -o pvc.out -X POST -H "Content-Type: application/json" --data-binary @pvc.json "$NSP/persistentvolumeclaims?dryRun=All" &&
	python3 - secret.out pvc.out "$SAMPLES/dryrun-secret.json" "$SAMPLES/dryrun-pvc.json" <<-\PY &&
	import json, sys
	s, p, rs, rp = [json.load(open(f)) for f in sys.argv[1:]]
	assert s["data"] == rs["data"] and "stringData" not in s, s
	for x in (p, rp):
	    assert x["spec"]["storageClassName"] == "csi-cephfs-sc" and x["spec"]["volumeMode"] == "Filesystem", x
	    assert x["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"], x
	    assert x["status"] == {"phase": "Pending"}, x
	PY
	$CURL -D hdr -o body "$NSP/secrets/dryrun-secret" && test "$(status_of)" = 404
'

# job NAME: a Job whose pod runs until the script ends
job() {
	kubectl create -f - <<-YAML
	apiVersion: batch/v1
	kind: Job
	metadata: {name: $1}
	spec:
	  template:
	    spec:
	      restartPolicy: Never
	      containers: [{name: main, image: busybox, command: [sh, -c, "until test -e $TRASH/done; do sleep 0.2; done"]}]
	YAML
}
# delete_job NAME BODY [QUERY]: DELETE the Job with the DeleteOptions BODY (none if empty)
delete_job() {
	if test -n "$2"; then
		$CURL -D hdr -o body -X DELETE -H "Content-Type: application/json" -d "$2" "$JOBS/$1${3:-}"
	else
		$CURL -D hdr -o body -X DELETE "$JOBS/$1${3:-}"
	fi
}
# like_sample BODY SAMPLE: same kind, and for objects the same finalizers and deletion marks
like_sample() {
	python3 - "$1" "$2" <<-\PY
	import json, sys
	a, b = [json.load(open(f)) for f in sys.argv[1:]]
	assert a["kind"] == b["kind"], (a["kind"], b["kind"])
	if a["kind"] == "Status":
	    assert a["status"] == b["status"] == "Success" and set(a["details"]) == set(b["details"]), (a, b)
	else:
	    ma, mb = a["metadata"], b["metadata"]
	    for k in ("finalizers", "deletionGracePeriodSeconds"):
	        assert ma.get(k) == mb.get(k), (k, ma.get(k), mb.get(k))
	    assert ma.get("deletionTimestamp") and mb.get("deletionTimestamp")
	PY
}

test_expect_success 'DELETE of a Job: Background is a Status, Foreground and Orphan the marked object' '
	test_atexit "touch $TRASH/done" &&
	job bg && job fg && job orph &&
	delete_job bg "{\"propagationPolicy\":\"Background\"}" && like_sample body "$SAMPLES/delete-job-background.json" &&
	delete_job fg "{\"propagationPolicy\":\"Foreground\"}" && like_sample body "$SAMPLES/delete-job-foreground.json" &&
	delete_job orph "{\"propagationPolicy\":\"Orphan\"}" && like_sample body "$SAMPLES/delete-job-orphan.json" &&
	wait_for 10 test_must_fail kubectl get job orph &&
	kubectl get pods -l job-name=orph -o jsonpath="{.items[*].metadata.ownerReferences}" >refs &&
	test ! -s refs && test -n "$(kubectl get pods -l job-name=orph -o name)"
'

test_expect_success 'dry-run DELETE (body or query): the would-be object, same resourceVersion, nothing deleted' '
	job dry &&
	# once its pod is Ready the Job stays unchanged until the script ends
	wait_for 20 sh -c "kubectl get job dry -o jsonpath={.status.ready} | grep -qx 1" &&
	rv=$(kubectl get job dry -o jsonpath="{.metadata.resourceVersion}") &&
	delete_job dry "{\"dryRun\":[\"All\"],\"propagationPolicy\":\"Foreground\"}" &&
	like_sample body "$SAMPLES/delete-job-dryrun-body.json" &&
	python3 -c "import json,sys; assert json.load(open(sys.argv[1]))[\"metadata\"][\"resourceVersion\"] == sys.argv[2]" body "$rv" &&
	delete_job dry "" "?dryRun=All&propagationPolicy=Foreground" &&
	like_sample body "$SAMPLES/delete-job-dryrun-query.json" &&
	kubectl get job dry -o jsonpath="{.metadata.resourceVersion}" >after && test "$(cat after)" = "$rv"
'

test_expect_success 'lists with old resourceVersions after a compaction: Exact is 410, NotOlderThan the current state' '
	rv=$(kubectl get --raw /api/v1/namespaces/default/configmaps | python3 -c "import json,sys; print(json.load(sys.stdin)[\"metadata\"][\"resourceVersion\"])") &&
	kubectl create configmap c1 && kubectl create configmap c2 &&
	$CURL "$NSP/configmaps?limit=1" >page1 &&
	# a write after page 1, so that the compaction really passes its version
	# (etcd keeps the revision it compacts at)
	kubectl create configmap c3 &&
	cluster_compact &&
	$CURL -D hdr -o body "$NSP/configmaps?resourceVersion=$rv&resourceVersionMatch=Exact" &&
	test "$(status_of)" = 410 &&
	python3 -c "import json,sys; a,b=[json.load(open(f)) for f in sys.argv[1:]]; assert a == b, (a, b)" body "$SAMPLES/watch-expired-list-exact-410.json" &&
	$CURL -D hdr -o body "$NSP/configmaps?resourceVersion=$rv&resourceVersionMatch=NotOlderThan" &&
	test "$(status_of)" = 200 && test_grep "\"name\":\"c2\"" body
'

test_expect_success 'a continue token from before the compaction: 410 with a token to go on inconsistently' '
	tok=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"metadata\"][\"continue\"])" page1) &&
	$CURL -D hdr -o body "$NSP/configmaps?limit=1&continue=$tok" &&
	test "$(status_of)" = 410 &&
	python3 - body "$SAMPLES/watch-expired-continue-410.json" <<-\PY &&
	import json, sys
	a, b = [json.load(open(f)) for f in sys.argv[1:]]
	assert a["message"] == b["message"] and a["reason"] == b["reason"] == "Expired", a
	assert a["metadata"].get("continue"), a
	PY
	tok2=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"metadata\"][\"continue\"])" body) &&
	$CURL -D hdr -o body "$NSP/configmaps?continue=$tok2" && test "$(status_of)" = 200
'

test_expect_success 'a list from a future resourceVersion: 504 Timeout with Retry-After after waiting for it' '
	$CURL -D hdr -o body "$NSP/configmaps?resourceVersion=999999&resourceVersionMatch=NotOlderThan" &&
	test "$(status_of)" = 504 && test "$(header retry-after)" = 1 &&
	python3 - body "$SAMPLES/list-rv-too-large-504.json" <<-\PY
	import json, sys
	a, b = [json.load(open(f)) for f in sys.argv[1:]]
	assert a["details"] == b["details"] and a["reason"] == b["reason"] and a["code"] == 504, (a, b)
	assert a["message"].startswith("Timeout: Too large resource version: 999999, current: "), a
	PY
'

test_done
