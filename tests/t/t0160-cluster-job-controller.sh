#!/bin/bash
# The local cluster's job controller answers like the real one
# (apiserver-samples/job-lifecycle-*): a finished pod is seen only after a lag
# (first still active, then uncountedTerminatedPods, then counted with the
# condition), status.active counts Pending pods, retries back off, and
# podFailurePolicy rules decide as in Kubernetes.
. "$(dirname "$0")/lib.sh"
start_cluster || exit 1
SERVER=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"server\"])" "$EIDF_CLUSTER_STATE/cluster.json")
CURL="curl -sS --cacert $EIDF_CLUSTER_STATE/pki/ca.crt --cert $EIDF_CLUSTER_STATE/pki/client.crt --key $EIDF_CLUSTER_STATE/pki/client.key -A Go-http-client/1.1"
SAMPLES=$EIDF_SRC/tests/fixtures/apiserver-samples  # recorded from a real kube-apiserver: README.md there
SHAPES="python3 $EIDF_SRC/tests/tools/job-shapes.py"
NS=default

# job_finished JOB: the Job has a True Complete or Failed condition
job_finished() {
	kubectl get job "$1" -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{"\n"}{end}' |
		grep -qx -e Complete -e Failed
}
# watch_label KIND LABEL FILE: a watch of KIND with sample=LABEL into FILE (ended by the script)
watch_label() {
	local api=api/v1
	[ "$1" = jobs ] && api=apis/batch/v1
	$CURL -N "$SERVER/$api/namespaces/$NS/$1?watch=1&labelSelector=sample%3D$2&timeoutSeconds=120" >"$3" 2>/dev/null &
}
# run_job FILE NAME: create the Job in FILE with watches of it and its pods, wait
# until it finished and its final state reached the watches
run_job() {
	watch_label jobs "$2" "$2-jobs.jsonl"
	watch_label pods "$2" "$2-pods.jsonl"
	# eval: the count is taken again at every try, not once when wait_for is called
	wait_for 10 eval "test \"\$(cluster_request_count \"sample%3D$2\")\" -ge 2" &&
	kubectl create -f "$1" >/dev/null &&
	wait_for 60 job_finished "$2" &&
	wait_for 10 grep -q -e "\"type\":\"Complete\"" -e "\"type\":\"Failed\"" "$2-jobs.jsonl"
}

for n in succeed fail retry; do
	test_expect_success "job lifecycle '$n' goes through the same states as with the real controller" "
		python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))[sys.argv[2]]))' \
			'$SAMPLES/job-lifecycle-requests.json' $n | sed 's/rk-sleep=3/sleep 1/; s/rk-exit=3; //' >lc-$n.json &&
		run_job lc-$n.json lc-$n &&
		$SHAPES '$SAMPLES/job-lifecycle-$n-jobs.jsonl' '$SAMPLES/job-lifecycle-$n-pods.jsonl' >expect &&
		$SHAPES lc-$n-jobs.jsonl lc-$n-pods.jsonl >actual &&
		test_cmp expect actual
	"
done

test_expect_success 'Complete carries no reason in 1.26 (as in the samples), and no interim conditions' '
	kubectl get job lc-succeed -o jsonpath="{.status.conditions}" >conds &&
	python3 -c "import json,sys; c=json.load(open(sys.argv[1])); assert [x[\"type\"] for x in c] == [\"Complete\"] and \"reason\" not in c[0], c" conds
'

test_expect_success 'status.active counts a Pending (unschedulable) pod' '
	kubectl create -f - <<-\YAML &&
	apiVersion: batch/v1
	kind: Job
	metadata: {name: pending}
	spec:
	  template:
	    spec:
	      restartPolicy: Never
	      nodeSelector: {no-such-label: x}
	      containers: [{name: main, image: busybox, command: ["true"]}]
	YAML
	wait_for 10 sh -c "kubectl get pods -l job-name=pending -o jsonpath={.items[0].status.conditions} | grep -q Unschedulable" &&
	kubectl get pods -l job-name=pending -o jsonpath="{.items[0].status.phase}" >phase && test "$(cat phase)" = Pending &&
	kubectl get job pending -o jsonpath="{.status.active}" >active && test "$(cat active)" = 1
'

# pfp_job NAME BACKOFF SCRIPT RULES: a Job whose container "main" runs SCRIPT
# (and a container "side" that exits 0), with the podFailurePolicy RULES (JSON)
pfp_job() {
	cat >"$1.json" <<-JSON
	{"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "$1", "labels": {"sample": "$1"}},
	 "spec": {"backoffLimit": $2, "podFailurePolicy": {"rules": $4},
	  "template": {"metadata": {"labels": {"sample": "$1"}}, "spec": {"restartPolicy": "Never",
	   "containers": [{"name": "main", "image": "busybox", "command": ["sh", "-c", "$3"]},
	                  {"name": "side", "image": "busybox", "command": ["true"]}]}}}}
	JSON
	run_job "$1.json" "$1"
}
job_field() { kubectl get job "$1" -o jsonpath="$2"; }

test_expect_success 'podFailurePolicy FailJob on an exit code: FailureTarget, then Failed at once (no retries)' '
	pfp_job pfp-failjob 6 "exit 3" "[{\"action\": \"FailJob\", \"onExitCodes\": {\"operator\": \"In\", \"values\": [2, 3]}}]" &&
	pod=$(kubectl get pods -l job-name=pfp-failjob -o name) && test $(echo "$pod" | wc -l) = 1 &&
	job_field pfp-failjob "{.status.failed}" >failed && test "$(cat failed)" = 1 &&
	$SHAPES pfp-failjob-jobs.jsonl | tail -2 >actual &&
	cat >expect <<-\EOT &&
	job active=- uncounted=- succeeded=- failed=1 conditions=FailureTarget(PodFailurePolicy)
	job active=- uncounted=- succeeded=- failed=1 conditions=FailureTarget(PodFailurePolicy),Failed(PodFailurePolicy)
	EOT
	test_cmp expect actual &&
	job_field pfp-failjob "{.status.conditions[?(@.type==\"Failed\")].message}" >msg &&
	test "$(cat msg)" = "Container main for pod $NS/${pod#pod/} failed with exit code 3 matching FailJob rule at index 0"
'

test_expect_success 'podFailurePolicy: a rule for another containerName does not match; Count counts' '
	pfp_job pfp-other 1 "exit 3" "[{\"action\": \"FailJob\", \"onExitCodes\": {\"containerName\": \"side\", \"operator\": \"In\", \"values\": [3]}}, {\"action\": \"Count\", \"onExitCodes\": {\"operator\": \"NotIn\", \"values\": [7]}}]" &&
	job_field pfp-other "{.status.failed}" >failed && test "$(cat failed)" = 2 &&
	job_field pfp-other "{.status.conditions[?(@.type==\"Failed\")].reason}" >reason &&
	test "$(cat reason)" = BackoffLimitExceeded
'

test_expect_success 'podFailurePolicy Ignore: the failure is not counted, the pod is replaced' '
	pfp_job pfp-ignore 0 "test -e $TRASH/ignored && exit 0; touch $TRASH/ignored; exit 5" "[{\"action\": \"Ignore\", \"onExitCodes\": {\"operator\": \"In\", \"values\": [5]}}]" &&
	job_field pfp-ignore "{.status.succeeded}/{.status.failed}" >counts && test "$(cat counts)" = 1/ &&
	test $(kubectl get pods -l job-name=pfp-ignore -o name | wc -l) = 2
'

test_expect_success 'podFailurePolicy Ignore on DisruptionTarget: an evicted pod is not a failure' '
	cat >pfp-evict.json <<-JSON &&
	{"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pfp-evict", "labels": {"sample": "pfp-evict"}},
	 "spec": {"backoffLimit": 0, "podFailurePolicy": {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]},
	  "template": {"metadata": {"labels": {"sample": "pfp-evict"}}, "spec": {"restartPolicy": "Never",
	   "containers": [{"name": "main", "image": "busybox", "command": ["sh", "-c", "test -e $TRASH/evicted && exit 0; touch $TRASH/evicted; sleep 60"]}]}}}}
	JSON
	kubectl create -f pfp-evict.json &&
	cluster_job_ready pfp-evict &&
	cluster_evict "$(kubectl get pods -l job-name=pfp-evict -o jsonpath="{.items[0].metadata.name}")" &&
	wait_for 30 job_finished pfp-evict &&
	job_field pfp-evict "{.status.succeeded}/{.status.failed}" >counts && test "$(cat counts)" = 1/
'

test_done
