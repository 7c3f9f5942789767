#!/bin/bash
# EIDF tenant authorization and admission policy of the local test cluster.
. "$(dirname "$0")/lib.sh"
NS=eidf042ns
SAMPLES=/work/shared/reference/apiserver-samples
[ -d "$SAMPLES" ] || SAMPLES="$EIDF_SRC/tests/fixtures/apiserver-samples"
start_cluster --tenant $NS --eidf-policy || exit 1
SERVER=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"server\"])" "$EIDF_CLUSTER_STATE/cluster.json")

# jobyaml [name|generateName] [queue label yes|no] [init container yes|no] [resources full|nolimits]
jobyaml() {
	local meta="generateName: pol-" labels="labels: {kueue.x-k8s.io/queue-name: $NS-user-queue}" res
	[ "$1" = name ] && meta="name: pol-named"
	[ "$2" = no ] && labels=""
	res="resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 100m, memory: 64Mi}}"
	[ "${4:-full}" = nolimits ] && res="resources: {requests: {cpu: 100m, memory: 64Mi}}"
	cat <<-YAML
	apiVersion: batch/v1
	kind: Job
	metadata:
	  $meta
	  $labels
	spec:
	  template:
	    spec:
	      restartPolicy: Never
	YAML
	if [ "${3:-no}" = yes ]; then
		cat <<-YAML
		      initContainers:
		      - name: init
		        image: busybox
		        command: ["true"]
		YAML
	fi
	cat <<-YAML
	      containers:
	      - name: main
	        image: busybox
	        command: ["true"]
	        $res
	YAML
}

test_expect_success 'a conformant job is accepted' '
	jobyaml generateName yes no full | kubectl create -f - -o name >j &&
	kubectl wait --for=condition=complete $(cat j) --timeout=20s
'

test_expect_success 'a job without the queue label is rejected by the webhook' '
	jobyaml generateName no | test_must_fail kubectl create -f - 2>err &&
	test_grep "admission webhook \"validate.kyverno.svc-fail\" denied the request" err &&
	test_grep "kueue.x-k8s.io/queue-name" err
'

test_expect_success 'a job with metadata.name instead of generateName is rejected' '
	jobyaml name yes | test_must_fail kubectl create -f - 2>err &&
	test_grep "generateName" err && test_grep "denied the request" err
'

test_expect_success 'missing cpu/memory limits, also on init containers, are rejected' '
	jobyaml generateName yes no nolimits | test_must_fail kubectl create -f - 2>err &&
	test_grep "main limits.cpu" err &&
	jobyaml generateName yes yes full | test_must_fail kubectl create -f - 2>err &&
	test_grep "init requests.cpu" err && test_grep "init limits.memory" err
'

test_expect_success 'the webhook answer is a 400 Status with the message' '
	jobyaml generateName no | python3 -c "import sys,json; print(json.dumps({\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"generateName\":\"x-\"},\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"m\",\"image\":\"busybox\"}]}}}}))" >j.json &&
	curl -sS --cacert "$EIDF_CLUSTER_STATE/pki/ca.crt" --cert "$EIDF_CLUSTER_STATE/pki/client.crt" --key "$EIDF_CLUSTER_STATE/pki/client.key" \
		-A Go-http-client/1.1 -H "Content-Type: application/json" -d @j.json -o body -w "%{http_code}" \
		"$SERVER/apis/batch/v1/namespaces/$NS/jobs" >code &&
	test "$(cat code)" = 400 &&
	test_grep "^{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"admission webhook" body
'

test_expect_success 'other namespaces are 403 Forbidden with the real message' '
	jobyaml generateName yes | test_must_fail kubectl create -n default -f - 2>err &&
	test_grep "jobs.batch is forbidden: User \"u-$NS\" cannot create resource \"jobs\" in API group \"batch\" in the namespace \"default\"" err &&
	curl -sS --cacert "$EIDF_CLUSTER_STATE/pki/ca.crt" --cert "$EIDF_CLUSTER_STATE/pki/client.crt" --key "$EIDF_CLUSTER_STATE/pki/client.key" \
		-A Go-http-client/1.1 -o body "$SERVER/apis/batch/v1/namespaces/default/jobs" &&
	sed "s/limited-user/u-$NS/" "$SAMPLES/status-403-forbidden.json" >expect &&
	test_cmp expect body
'

test_expect_success 'tenants cannot list nodes or namespaces, can read storage classes' '
	test_must_fail kubectl get nodes 2>err &&
	test_grep "nodes is forbidden: User \"u-$NS\" cannot list resource \"nodes\" in API group \"\" at the cluster scope" err &&
	test_must_fail kubectl get ns 2>err && test_grep forbidden err &&
	kubectl get ns $NS &&
	kubectl get sc -o name >out && test_grep csi-rbd-sc out
'

test_expect_success 'the token kubeconfig is the same tenant user' '
	test_must_fail kubectl --kubeconfig "$EIDF_CLUSTER_STATE/kubeconfig-token" get pods -n default 2>err &&
	test_grep "User \"u-$NS\" cannot list resource \"pods\"" err &&
	kubectl --kubeconfig "$EIDF_CLUSTER_STATE/kubeconfig-token" get pods
'

test_expect_success 'the admin kubeconfig may do anything' '
	cluster_admin_kubectl get nodes &&
	cluster_admin_kubectl get pods -n default
'

test_done
