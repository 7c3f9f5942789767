#!/bin/bash
# Warning headers (PodSecurity warn/enforce labels, deprecated and removed API
# versions, DELETE of a Job without a propagation policy) and quantities in
# canonical form, as the real kube-apiserver answers them
# (tests/fixtures/apiserver-samples/warning-*, quantity-canonical.json, delete-*).
. "$(dirname "$0")/lib.sh"
start_cluster || exit 1
SERVER=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"server\"])" "$EIDF_CLUSTER_STATE/cluster.json")
PKI=$EIDF_CLUSTER_STATE/pki
CURL="curl -sS --cacert $PKI/ca.crt --cert $PKI/client.crt --key $PKI/client.key -A Go-http-client/1.1"
ADMIN_CURL="curl -sS --cacert $PKI/ca.crt --cert $PKI/admin.crt --key $PKI/admin.key -A Go-http-client/1.1"
SAMPLES=$EIDF_SRC/tests/fixtures/apiserver-samples  # recorded from a real kube-apiserver: README.md there
JOBS=$SERVER/apis/batch/v1/namespaces/default/jobs
PODS=$SERVER/api/v1/namespaces/default/pods

# warnings FILE: the Warning header values of a curl -D dump, one a line, names' case ignored
warnings() { tr -d '\r' <"$1" | sed -n 's/^[Ww]arning: //p'; }
# post URL FILE: POST the JSON FILE, headers to hdr, body to body
post() { $CURL -D hdr -o body -X POST -H "Content-Type: application/json" --data-binary @"$2" "$1"; }
status_of() { head -1 hdr | cut -d" " -f2; }
# pod_of_job FILE NAME: a bare Pod with the pod template of the Job in FILE
pod_of_job() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": sys.argv[2]}, "spec": j["spec"]["template"]["spec"]}))' "$1" "$2"
}

test_expect_success 'namespace with a PodSecurity warn label: a Job that violates it gets 201 and the same warning as the real server' '
	kubectl label ns default pod-security.kubernetes.io/warn=restricted &&
	post "$JOBS?dryRun=All" "$SAMPLES/warning-psa-request-job.json" &&
	test "$(status_of)" = 201 &&
	warnings hdr >actual &&
	warnings "$SAMPLES/warning-psa-job-dryrun.headers" >expect &&
	test_cmp expect actual &&
	post "$JOBS" "$SAMPLES/warning-psa-request-job.json" && test "$(status_of)" = 201 &&
	warnings hdr >actual && test_cmp expect actual
'

test_expect_success 'kubectl prints it as "Warning: ..." on stderr, dry run or not' '
	kubectl create --dry-run=server -f "$SAMPLES/warning-psa-request-job.json" 2>err >/dev/null;
	test_grep "^Warning: would violate PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false" err
'

test_expect_success 'a dry-run create of an existing name: 409 AlreadyExists still carries the warning' '
	post "$JOBS?dryRun=All" "$SAMPLES/warning-psa-request-job.json" &&
	test "$(status_of)" = 409 &&
	warnings hdr >actual &&
	warnings "$SAMPLES/warning-psa-dryrun-alreadyexists-409.headers" >expect &&
	test_cmp expect actual
'

test_expect_success 'a bare Pod gets the same warning; a restricted-compliant Job gets none' '
	pod_of_job "$SAMPLES/warning-psa-request-job.json" psa-pod >pod.json &&
	post "$PODS?dryRun=All" pod.json && test "$(status_of)" = 201 &&
	warnings hdr >actual &&
	warnings "$SAMPLES/warning-psa-pod-dryrun.headers" >expect &&
	test_cmp expect actual &&
	python3 -c "import json,sys; print(json.dumps(json.load(open(sys.argv[1]))[\"job\"]))" "$SAMPLES/dryrun-requests.json" >ok-job.json &&
	post "$JOBS?dryRun=All" ok-job.json && test "$(status_of)" = 201 &&
	test -z "$(warnings hdr)"
'

test_expect_success 'enforce: a violating Pod is 403 Forbidden without a warning, a Job is admitted with the warning' '
	kubectl label ns default pod-security.kubernetes.io/enforce=restricted &&
	post "$PODS?dryRun=All" pod.json && test "$(status_of)" = 403 &&
	test -z "$(warnings hdr)" &&
	python3 -c "import json,sys; a,b=[json.load(open(f)) for f in sys.argv[1:]]; assert a == b, (a, b)" body "$SAMPLES/warning-psa-enforce-pod-dryrun-403.json" &&
	sed "s/\"psa-warn\"/\"psa-enforced\"/" "$SAMPLES/warning-psa-request-job.json" >enforced.json &&
	post "$JOBS" enforced.json && test "$(status_of)" = 201 &&
	warnings hdr >actual &&
	warnings "$SAMPLES/warning-psa-enforce-job-dryrun.headers" >expect &&
	test_cmp expect actual
'

test_expect_success 'enforce: the job controller cannot create the pods of such a Job (FailedCreate event)' '
	wait_for 10 sh -c "kubectl get events --field-selector reason=FailedCreate,involvedObject.name=psa-enforced -o name | grep -q ." &&
	kubectl get events --field-selector reason=FailedCreate,involvedObject.name=psa-enforced -o jsonpath="{.items[0].message}" >msg &&
	test_grep "^Error creating: pods \"psa-enforced-.*\" is forbidden: violates PodSecurity \"restricted:latest\"" msg &&
	test -z "$(kubectl get pods -l job-name=psa-enforced -o name)" &&
	kubectl label ns default pod-security.kubernetes.io/enforce- pod-security.kubernetes.io/warn-
'

test_expect_success 'DELETE of a Job with no options: the pods are orphaned and a warning says so' '
	$CURL -D hdr -o body -X DELETE "$JOBS/psa-warn" && test "$(status_of)" = 200 &&
	warnings hdr >actual &&
	warnings "$SAMPLES/delete-job-no-options.headers" >expect &&
	test_cmp expect actual &&
	$CURL -D hdr -o body -X DELETE -H "Content-Type: application/json" -d "{\"propagationPolicy\":\"Background\"}" "$JOBS/psa-enforced" &&
	test -z "$(warnings hdr)"
'

test_expect_success 'DELETE with a body ignores ?dryRun=All in the query: the object is really deleted' '
	kubectl create -f ok-job.json -o name >name &&
	job=$(sed "s|.*/||" name) &&
	$CURL -o body -X DELETE -H "Content-Type: application/json" -d "{\"propagationPolicy\":\"Foreground\"}" "$JOBS/$job?dryRun=All" &&
	wait_for 10 test_must_fail kubectl get job "$job"
'

test_expect_success 'a deprecated API version answers with its deprecation warning' '
	$ADMIN_CURL -D hdr -o body "$SERVER/apis/flowcontrol.apiserver.k8s.io/v1beta2/flowschemas" &&
	test "$(status_of)" = 200 &&
	warnings hdr >actual &&
	warnings "$SAMPLES/warning-deprecated-flowschema-v1beta2.headers" >expect &&
	test_cmp expect actual &&
	cluster_admin_kubectl get flowschemas 2>err &&
	test_grep "^Warning: flowcontrol.apiserver.k8s.io/v1beta2 FlowSchema is deprecated" err
'

test_expect_success 'a removed version of a served group is a JSON Status 404, not "404 page not found"' '
	$ADMIN_CURL -D hdr -o body "$SERVER/apis/batch/v1beta1/namespaces/default/cronjobs" &&
	test "$(status_of)" = 404 &&
	tr -d "\r" <hdr | grep -qi "^content-type: application/json" &&
	python3 -c "import json,sys; a,b=[json.load(open(f)) for f in sys.argv[1:]]; assert a == b, (a, b)" body "$SAMPLES/warning-removed-batch-v1beta1-cronjobs-404.json"
'

test_expect_success 'quantities come back in the canonical form the real server stores' '
	python3 - "$SAMPLES/quantity-canonical.json" >cases <<-\PY &&
	import json, sys
	d = json.load(open(sys.argv[1]))
	for k, v in d.items():
	    if isinstance(v, dict):
	        kind = "storage" if k.startswith("pvc") else k.split("requests")[1].strip("[].").split(" ")[0]
	        for i, o in v.items():
	            print(kind, i, o)
	PY
	i=0 &&
	while read kind in out; do
		i=$((i + 1)) &&
		if test "$kind" = storage; then
			printf "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":\"q%d\"},\"spec\":{\"storageClassName\":\"\",\"accessModes\":[\"ReadWriteMany\"],\"resources\":{\"requests\":{\"storage\":\"%s\"}}}}" $i "$in" >q.json &&
			kubectl create -f q.json -o jsonpath="{.spec.resources.requests.storage}" >got &&
			kubectl get pvc q$i -o jsonpath="{.spec.resources.requests.storage}" >got2
		else
			printf "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"q%d\"},\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"main\",\"image\":\"busybox\",\"command\":[\"true\"],\"resources\":{\"requests\":{\"%s\":\"%s\"},\"limits\":{\"%s\":\"%s\"}}}]}}}}" $i "$kind" "$in" "$kind" "$in" >q.json &&
			$CURL -o q.out -X POST -H "Content-Type: application/json" --data-binary @q.json "$JOBS?dryRun=All" &&
			python3 -c "import json,sys; r=json.load(open(sys.argv[1]))[\"spec\"][\"template\"][\"spec\"][\"containers\"][0][\"resources\"]; print(r[\"requests\"][sys.argv[2]], end=\"\"); assert r[\"limits\"] == r[\"requests\"], r" q.out "$kind" >got &&
			cp got got2
		fi &&
		echo "$kind $in -> $(cat got) $(cat got2)" >>results &&
		test "$(cat got)" = "$out" && test "$(cat got2)" = "$out" || { cat results; false; } || return 1
	done <cases &&
	test $i -ge 20
'

test_done
