#!/bin/bash
# PVC protection and Kubernetes >= 1.30 Job conditions under job-controller lag,
# in the local cluster, against apiserver-samples/pvc-protection-*: a deleted
# claim stays Terminating while any scheduled pod object mounts it, finished
# pods included, and goes once they are deleted.
. "$(dirname "$0")/lib.sh"
start_cluster --job-controller-lag 2 --job-interim-conditions || exit 1
SERVER=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"server\"])" "$EIDF_CLUSTER_STATE/cluster.json")
CURL="curl -sS --cacert $EIDF_CLUSTER_STATE/pki/ca.crt --cert $EIDF_CLUSTER_STATE/pki/client.crt --key $EIDF_CLUSTER_STATE/pki/client.key -A Go-http-client/1.1"
SAMPLES=$EIDF_SRC/tests/fixtures/apiserver-samples  # recorded from a real kube-apiserver: README.md there
PVCS=$SERVER/api/v1/namespaces/default/persistentvolumeclaims

job_cond() { kubectl get job "$1" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].status}" | grep -qx True; }
pvc_phase() { kubectl get pvc "$1" -o jsonpath="{.status.phase}" | grep -qx "$2"; }
pvc_gone() { ! kubectl get pvc "$1" >/dev/null 2>&1; }
# keys KEY...: the JSON object on stdin has these metadata/status facts of a terminating claim
terminating_claim() {
	python3 -c '
import json, sys
o = json.load(open(sys.argv[1]))
md = o["metadata"]
assert o["kind"] == "PersistentVolumeClaim", o
assert md.get("deletionTimestamp") and md.get("deletionGracePeriodSeconds") == 0, md
assert md.get("finalizers") == ["kubernetes.io/pvc-protection"], md
assert o["status"]["phase"] == "Bound", o["status"]
' "$1"
}

test_expect_success 'the sample claim and a Job mounting it run to Complete' '
	$CURL -X POST -H "Content-Type: application/json" -d @"$SAMPLES/pvc-protection-request-pvc.json" "$PVCS" >/dev/null &&
	wait_for 10 pvc_phase data Bound &&
	sed "s/rk-sleep=3/true/" "$SAMPLES/pvc-protection-request-job.json" >job.json &&
	kubectl create -f job.json &&
	wait_for 30 job_cond pvc-user Complete
'

test_expect_success 'Kubernetes >= 1.30: SuccessCriteriaMet came first, Complete only after the lag' '
	kubectl get job pvc-user -o jsonpath="{range .status.conditions[*]}{.type}={.status}{\"\\n\"}{end}" >conds &&
	printf "SuccessCriteriaMet=True\nComplete=True\n" >expect &&
	test_cmp expect conds &&
	kubectl get pods -l job-name=pvc-user -o jsonpath="{.items[0].status.containerStatuses[0].state.terminated.finishedAt}" >finished &&
	kubectl get job pvc-user -o jsonpath="{.status.completionTime}" >completed &&
	python3 -c "
import sys, calendar, time
t = lambda s: calendar.timegm(time.strptime(s, \"%Y-%m-%dT%H:%M:%SZ\"))
lag = t(open(sys.argv[2]).read()) - t(open(sys.argv[1]).read())
assert lag >= 2, lag" finished completed
'

test_expect_success 'DELETE of a claim a finished pod still mounts: 200 with the object, Terminating (as the sample)' '
	$CURL -X DELETE -D hdr "$PVCS/data" >deleted.json &&
	head -1 hdr | grep -q " 200" &&
	terminating_claim deleted.json &&
	terminating_claim "$SAMPLES/pvc-protection-delete.json"
'

test_expect_success 'it stays Terminating, unchanged, after the PVC controller has run again' '
	kubectl create -f - <<-\YAML &&
	apiVersion: v1
	kind: PersistentVolumeClaim
	metadata: {name: other}
	spec: {accessModes: [ReadWriteMany], resources: {requests: {storage: 1Gi}}}
	YAML
	wait_for 10 pvc_phase other Bound &&
	$CURL "$PVCS/data" >again.json &&
	terminating_claim again.json &&
	python3 -c "import json,sys; a,b=[json.load(open(f))[\"metadata\"][\"resourceVersion\"] for f in sys.argv[1:]]; assert a == b" deleted.json again.json
'

test_expect_success 'kubectl get pvc (a Table from the server) says Terminating, as the real printer does' '
	kubectl get pvc data other >table &&
	cat table &&
	test_grep "^data  *Terminating  *pvc-" table &&
	test_grep "^other  *Bound  *pvc-" table &&
	kubectl get pvc data -o jsonpath={.status.phase} | grep -qx Bound
'

test_expect_success 'a new pod mounting the Terminating claim is not scheduled' '
	kubectl create -f - <<-\YAML &&
	apiVersion: v1
	kind: Pod
	metadata: {name: late}
	spec:
	  restartPolicy: Never
	  containers: [{name: main, image: busybox, command: ["true"]}]
	  volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]
	YAML
	wait_for 10 sh -c "kubectl get pod late -o jsonpath={.status.conditions} | grep -q \"persistentvolumeclaim .*data.* is being deleted\"" &&
	kubectl delete pod late
'

test_expect_success 'deleting the Job (its pod is collected) frees the claim: DELETED with the last state' '
	$CURL -N "$PVCS?watch=1&resourceVersion=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"metadata\"][\"resourceVersion\"])" again.json)&timeoutSeconds=30" >pvcs.jsonl &
	kubectl delete job pvc-user --cascade=background &&
	wait_for 20 pvc_gone data &&
	wait_for 10 grep -q "\"type\":\"DELETED\".*\"name\":\"data\"" pvcs.jsonl &&
	grep "\"type\":\"DELETED\".*\"name\":\"data\"" pvcs.jsonl | python3 -c "
import json, sys
o = json.loads(sys.stdin.readline())[\"object\"]
assert o[\"metadata\"][\"finalizers\"] == [\"kubernetes.io/pvc-protection\"] and o[\"status\"][\"phase\"] == \"Bound\", o"
'

test_expect_success 'an unscheduled pod does not keep a claim' '
	kubectl create -f - <<-\YAML &&
	apiVersion: v1
	kind: Pod
	metadata: {name: nowhere}
	spec:
	  restartPolicy: Never
	  nodeSelector: {no-such-label: x}
	  containers: [{name: main, image: busybox, command: ["true"]}]
	  volumes: [{name: d, persistentVolumeClaim: {claimName: other}}]
	YAML
	wait_for 10 sh -c "kubectl get pod nowhere -o jsonpath={.status.conditions} | grep -q Unschedulable" &&
	kubectl delete pvc other --wait=false &&
	wait_for 10 pvc_gone other
'

test_expect_success 'Kubernetes >= 1.30: FailureTarget before Failed' '
	kubectl create -f - <<-\YAML &&
	apiVersion: batch/v1
	kind: Job
	metadata: {name: fails}
	spec:
	  backoffLimit: 0
	  template:
	    spec:
	      restartPolicy: Never
	      containers: [{name: main, image: busybox, command: [sh, -c, "exit 3"]}]
	YAML
	wait_for 30 job_cond fails Failed &&
	kubectl get job fails -o jsonpath="{range .status.conditions[*]}{.type}={.reason}{\"\\n\"}{end}" >conds &&
	printf "FailureTarget=BackoffLimitExceeded\nFailed=BackoffLimitExceeded\n" >expect &&
	test_cmp expect conds
'

test_done
