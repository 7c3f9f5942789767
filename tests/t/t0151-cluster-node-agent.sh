#!/bin/bash
# The local cluster is built like Kubernetes: the node agent (kubelet
# stand-in), the Kueue stand-in and the scheduler are API clients of the API
# server, never readers of its store.  Here the cluster runs without them;
# Kueue started as a separate process creates and admits the Workload, the
# scheduler binds the pod through pods/binding, and a node agent
# started as a separate process with its own kubeconfig and kubelet serving
# certificate registers the nodes, runs the Job's pod, writes pods/status and
# events through the API, and serves the logs and exec the API server
# proxies to its kubelet port.
. "$(dirname "$0")/lib.sh"

NS=eidf042ns
AGENT_SRC="$EIDF_SRC/tests/cluster"

test_expect_success 'the node agent, Kueue, the scheduler and their API client import nothing of the API server' '
	python3 - "$AGENT_SRC/eidfcluster" <<-\PY
	import ast, os, sys
	d = sys.argv[1]
	for mod in ("nodeagent.py", "kueue.py", "scheduler.py", "apiclient.py", "objects.py"):
	    tree = ast.parse(open(os.path.join(d, mod)).read())
	    for node in ast.walk(tree):
	        if isinstance(node, ast.ImportFrom) and node.level:
	            for a in node.names:
	                name = node.module or a.name
	                assert name in ("util", "execws", "execspdy", "execsession", "apiclient", "tlsserver", "poddns", "objects"), \
	                    "%s imports .%s" % (mod, name)
	        if isinstance(node, ast.Attribute):
	            assert node.attr not in ("store", "cluster"), "%s uses .%s" % (mod, node.attr)
	PY
'

start_cluster --tenant "$NS" --no-node-agent --no-kueue --no-scheduler || { echo "Bail out! no cluster"; exit 1; }
ST=$EIDF_CLUSTER_STATE
# the components the cases start go when the script ends (a test_atexit inside a
# case would be lost with the case's subshell)
test_atexit 'pkill -f -- "--kubeconfig $ST/kubeconfig-(kueue|scheduler|node-agent)"'
SERVER=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"server\"])" "$ST/cluster.json")
# curl_as IDENTITY ARGS...: curl with one of the cluster's client certificates (admin, client),
# with a Go User-Agent so that bodies come compact, as kubectl and the components get them
curl_as() {
	local who=$1; shift
	curl -sS -A Go-http-client/1.1 --cacert "$ST/pki/ca.crt" --cert "$ST/pki/$who.crt" --key "$ST/pki/$who.key" "$@"
}
# bind IDENTITY POD NODE: POST a v1 Binding to pods/POD/binding (answer in bind.json, headers in bind.hdr)
bind() {
	printf '{"apiVersion":"v1","kind":"Binding","metadata":{"name":"%s"},"target":{"apiVersion":"v1","kind":"Node","name":"%s"}}' "$2" "$3" |
		curl_as "$1" -D bind.hdr -X POST -H "Content-Type: application/json" -d @- \
			"$SERVER/api/v1/namespaces/$NS/pods/$2/binding" >bind.json
}

job() {
	cat <<-YAML
	apiVersion: batch/v1
	kind: Job
	metadata:
	  generateName: $1-
	  labels: {kueue.x-k8s.io/queue-name: $NS-user-queue}
	spec:
	  backoffLimit: 0
	  template:
	    spec:
	      restartPolicy: Never
	      containers:
	      - name: main
	        image: busybox:1.36
	        command: [sh, -c, '$2']
	YAML
}

test_expect_success 'without Kueue a queued Job stays suspended, with no Workload' '
	job early "echo early" | kubectl create -f - -o name >j0 &&
	test "$(kubectl get "$(cat j0)" -o jsonpath="{.spec.suspend}")" = true &&
	kubectl get workloads -o name >wl &&
	test ! -s wl
'

test_expect_success 'Kueue and the scheduler started alone: admitted; without a node agent there are no nodes, the pod stays Pending' '
	(cd "$AGENT_SRC" && exec python3 -m eidfcluster.kueue --kubeconfig "$ST/kubeconfig-kueue" >"$TRASH/kueue.out" 2>&1) &
	echo $! >kueue.pid &&
	test_atexit "kill $(cat kueue.pid) 2>/dev/null; true" &&
	PYTHONPATH="$AGENT_SRC" python3 -m eidfcluster.scheduler --kubeconfig "$ST/kubeconfig-scheduler" >"$TRASH/scheduler.out" 2>&1 &
	echo $! >scheduler.pid &&
	wait_for 20 eval "kubectl get workloads -o name | grep -q ." &&
	kubectl wait --for=condition=Admitted workloads --all --timeout=20s &&
	cluster_admin_kubectl get nodes -o name >nodes &&
	test ! -s nodes &&
	wait_for 20 eval "kubectl get pods -l job-name=\$(cut -d/ -f2 j0) -o jsonpath=\"{.items[0].status.conditions[0].reason}\" | grep -qx Unschedulable" &&
	grep -q "\"PUT\".*/workloads/.*/status\".*kueue-controller-manager" "$ST/components.jsonl"
'

test_expect_success 'a node agent started alone registers the nodes with its kubelet port' '
	(cd "$AGENT_SRC" && exec python3 -m eidfcluster.nodeagent --kubeconfig "$ST/kubeconfig-node-agent" \
		--state-dir "$TRASH/agent" --tls-cert-file "$ST/pki/kubelet.crt" \
		--tls-private-key-file "$ST/pki/kubelet.key" --client-ca-file "$ST/pki/ca.crt" --port 0 \
		--node-lease-duration-seconds 4 --node-status-report-frequency 1 \
		--busybox-dir "$ST/busybox-bin" >"$TRASH/agent.out" 2>&1) &
	echo $! >agent.pid &&
	test_atexit "kill $(cat agent.pid) 2>/dev/null; true" &&
	wait_for 20 grep -q "kubelet port" agent.out &&
	port=$(sed -n "s/.*kubelet port 127.0.0.1:\([0-9]*\),.*/\1/p" agent.out) &&
	test -n "$port" &&
	cluster_admin_kubectl get node gpu-h100-node-1 -o jsonpath="{.status.daemonEndpoints.kubeletEndpoint.Port} {.status.addresses[0].address}" >ep &&
	test "$(cat ep)" = "$port 127.0.0.1"
'

# lease_of NODE FIELDS: the node's Lease in kube-node-lease, as jsonpath FIELDS
lease_of() { cluster_admin_kubectl get lease -n kube-node-lease "$1" -o jsonpath="$2"; }
heartbeat_of() { cluster_admin_kubectl get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}'; }
# differs VALUE CMD...: CMD now prints something else than VALUE
differs() { test "$("${@:2}")" != "$1"; }

test_expect_success 'it heartbeats like a kubelet: a Lease per node in kube-node-lease, renewed; the Node status posted again' '
	uid=$(cluster_admin_kubectl get node gpu-h100-node-1 -o jsonpath="{.metadata.uid}") &&
	lease_of gpu-h100-node-1 "{.spec.holderIdentity} {.spec.leaseDurationSeconds} {.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].uid}" >lease &&
	test "$(cat lease)" = "gpu-h100-node-1 4 Node/$uid" &&
	renewed=$(lease_of gpu-h100-node-1 "{.spec.renewTime}") &&
	beat=$(heartbeat_of gpu-h100-node-1) &&
	# renewed every quarter of the 4 s duration; the status every second (seconds resolution)
	wait_for 10 differs "$renewed" lease_of gpu-h100-node-1 "{.spec.renewTime}" &&
	wait_for 10 differs "$beat" heartbeat_of gpu-h100-node-1 &&
	grep "\"PUT\".*\"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/gpu-h100-node-1\"" "$ST/components.jsonl" |
		grep -q "system:node:eidf-node-agent" &&
	cluster_admin_kubectl get nodes --no-headers >nodes &&
	test "$(grep -c " Ready " nodes)" = 3
'

test_expect_success 'the pending pod runs; its status and events came through the API' '
	kubectl wait --for=condition=complete "$(cat j0)" --timeout=30s &&
	kubectl logs "$(cat j0)" >out &&
	echo early >expect &&
	test_cmp expect out &&
	pod=$(kubectl get pods -l job-name=$(cut -d/ -f2 j0) -o jsonpath="{.items[0].metadata.name}") &&
	uid=$(kubectl get pod "$pod" -o jsonpath="{.metadata.uid}") &&
	test -s "$TRASH/agent/pods/$uid/logs/main.0.log" &&
	test ! -e "$ST/pods/$uid" &&
	grep "\"PUT\".*\"/api/v1/namespaces/$NS/pods/$pod/status\"" "$ST/components.jsonl" | grep -q "system:node:eidf-node-agent" &&
	grep "\"POST\".*\"/api/v1/namespaces/$NS/pods/$pod/binding\".*\"status\":201" "$ST/components.jsonl" |
		grep -q "system:kube-scheduler" &&
	grep -q "\"POST\".*\"/api/v1/namespaces/$NS/events\"" "$ST/components.jsonl" &&
	! grep -q "system:node" "$ST/requests.jsonl"
'

test_expect_success 'pods/binding as the real server answers it: 201 with a Status, 409 once bound, 403 for a tenant' '
	pod=$(kubectl get pods -l job-name=$(cut -d/ -f2 j0) -o jsonpath="{.items[0].metadata.name}") &&
	node=$(kubectl get pod "$pod" -o jsonpath="{.spec.nodeName}") &&
	bind admin "$pod" gpu-h100-node-1 &&
	head -1 bind.hdr | grep -q " 409 " &&
	cat >expect <<-EOF &&
	{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Operation cannot be fulfilled on pods/binding \"$pod\": pod $pod is already assigned to node \"$node\"","reason":"Conflict","details":{"name":"$pod","kind":"pods/binding"},"code":409}
	EOF
	test_cmp expect bind.json &&
	kubectl create -f - <<-\YAML &&
	apiVersion: v1
	kind: Pod
	metadata: {name: placed-by-hand}
	spec:
	  restartPolicy: Never
	  nodeSelector: {eidf.test/nowhere: "true"}
	  containers: [{name: main, image: busybox:1.36, command: [sh, -c, "echo placed"]}]
	YAML
	wait_for 20 eval "kubectl get pod placed-by-hand -o jsonpath={.status.conditions[0].reason} | grep -qx Unschedulable" &&
	bind client placed-by-hand gpu-h100-node-1 &&
	head -1 bind.hdr | grep -q " 403 " &&
	test_grep "cannot create resource ..pods/binding.. in API group" bind.json &&
	bind admin placed-by-hand gpu-h100-node-1 &&
	head -1 bind.hdr | grep -q " 201 " &&
	echo "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Success\",\"code\":201}" >expect &&
	test_cmp expect bind.json &&
	kubectl get pod placed-by-hand -o jsonpath="{.spec.nodeName} {.status.conditions[?(@.type==\"PodScheduled\")].status}" >placed &&
	test "$(cat placed)" = "gpu-h100-node-1 True" &&
	wait_for 20 eval "kubectl get pod placed-by-hand -o jsonpath={.status.phase} | grep -qx Succeeded" &&
	kubectl delete pod placed-by-hand
'

test_expect_success 'logs -f and exec go through the API server to the kubelet port' '
	job runner "echo started; sleep 300" | kubectl create -f - -o name >j1 &&
	cluster_job_ready $(cut -d/ -f2 j1) 30 &&
	kubectl exec "$(cat j1)" -- sh -c "echo from-exec >&2; exit 3" 2>err
	test $? = 3 &&
	test_grep "^from-exec" err &&
	# the container never ends: the stream stays open; its first line is what counts
	{ kubectl logs -f "$(cat j1)" >out & } &&
	lp=$! &&
	wait_for 60 grep -q "^started" out &&
	kill $lp
'

test_expect_success 'deleting a running pod: the agent stops it and deletes it with grace 0' '
	pod=$(kubectl get pods -l job-name=$(cut -d/ -f2 j1) -o jsonpath="{.items[0].metadata.name}") &&
	kubectl delete "$(cat j1)" --cascade=foreground --timeout=20s &&
	kubectl get pod "$pod" 2>err
	test_grep "NotFound" err &&
	grep "\"DELETE\".*\"/api/v1/namespaces/$NS/pods/$pod\"" "$ST/components.jsonl" | grep -q system:node &&
	test -z "$(cluster_pids "sleep 300")"
'

test_expect_success 'with the agent gone, logs answer 500: the API server has no kubelet to ask' '
	job late "echo late" | kubectl create -f - -o name >j2 &&
	kubectl wait --for=condition=complete "$(cat j2)" --timeout=30s &&
	kill "$(cat agent.pid)" &&
	wait_for 10 eval "! kill -0 $(cat agent.pid) 2>/dev/null" &&
	test_expect_code 1 kubectl logs "$(cat j2)" 2>err &&
	test_grep "connect\|refused" err
'

test_done
