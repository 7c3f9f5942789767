#!/bin/bash
# The local test cluster runs Jobs for real: PVC binding, job controller,
# Kueue stand-in, scheduler stand-in and the kubelet, driven by the real kubectl.
. "$(dirname "$0")/lib.sh"
FIX="$EIDF_SRC/tests/fixtures/cluster"
NS=eidf042ns
start_cluster --tenant $NS --eidf-policy --gpu-quota 2 || exit 1

# job NAME-PREFIX COMMAND [extra spec yaml] [extra container yaml]: a policy-conformant Job
job() {
	local extra
	extra=$(printf '%b' "${3:-}")
	cat <<-YAML
	apiVersion: batch/v1
	kind: Job
	metadata:
	  generateName: $1-
	  labels: {kueue.x-k8s.io/queue-name: $NS-user-queue}
	spec:
	  backoffLimit: 0
	$extra
	  template:
	    spec:
	      restartPolicy: Never
	      containers:
	      - name: main
	        image: busybox:1.36
	        command: ["sh", "-c", "$2"]
	        resources:
	          requests: {cpu: 100m, memory: 64Mi}
	          limits: {cpu: 100m, memory: 64Mi${4:-}}
	YAML
}
create() { kubectl create -f - -o name; }
# no_container REGEX: no container process of this cluster matches REGEX
no_container() { test -z "$(cluster_pids "$1")"; }

test_expect_success 'the seed download Job fills a PVC (file:// URL), kubectl wait/logs work' '
	head -c 100000 /dev/urandom >payload.bin &&
	kubectl create -f "$FIX/pvc.yaml" &&
	kubectl wait --for=jsonpath="{.status.phase}"=Bound pvc/demo-pvc --timeout=10s &&
	sed "s|@URL@|file://$TRASH/payload.bin|" "$FIX/download-job.yaml" | create >jobname &&
	kubectl wait --for=condition=complete "$(cat jobname)" --timeout=30s &&
	kubectl logs "$(cat jobname)" >log &&
	test_grep download-done log &&
	vol=$(kubectl get pvc demo-pvc -o jsonpath="{.spec.volumeName}") &&
	cmp payload.bin "$EIDF_CLUSTER_STATE/volumes/$vol/data.bin"
'

test_expect_success 'job status, conditions, pod labels/ownerReferences and events are like the real ones' '
	j=$(cat jobname | cut -d/ -f2) &&
	kubectl get job $j -o jsonpath="{.status.succeeded} {.status.conditions[?(@.type==\"Complete\")].status} {.spec.selector.matchLabels}" >out &&
	test_grep "^1 True .*batch.kubernetes.io/controller-uid" out &&
	kubectl get pods -l job-name=$j -o jsonpath="{.items[0].metadata.ownerReferences[0].kind}/{.items[0].metadata.ownerReferences[0].name} {.items[0].status.phase} {.items[0].status.containerStatuses[0].state.terminated.reason}" >out &&
	test_grep "^Job/$j Succeeded Completed$" out &&
	kubectl get events --field-selector involvedObject.name=$j -o jsonpath="{range .items[*]}{.reason}{\"\\n\"}{end}" >ev &&
	test_grep SuccessfulCreate ev && test_grep Completed ev && test_grep CreatedWorkload ev &&
	kubectl get workloads -o jsonpath="{.items[0].status.conditions[?(@.type==\"Admitted\")].status}" >out &&
	test_grep True out
'

test_expect_success 'init containers, emptyDir, configMap (binaryData) and secret volumes, env, workingDir' '
	printf "\000\001\002" >bin && kubectl create configmap cfg --from-literal=greeting=hello --from-file=blob=bin &&
	kubectl create secret generic sec --from-literal=token=s3cret &&
	cat >vol-job.yaml <<-\YAML &&
	apiVersion: batch/v1
	kind: Job
	metadata: {generateName: vols-, labels: {kueue.x-k8s.io/queue-name: eidf042ns-user-queue}}
	spec:
	  backoffLimit: 0
	  template:
	    spec:
	      restartPolicy: Never
	      initContainers:
	      - name: clone
	        image: alpine/git
	        command: [sh, -c, "echo print from init > /code/script.sh"]
	        volumeMounts: [{name: code, mountPath: /code}]
	        resources: {requests: {cpu: 1, memory: 1Gi}, limits: {cpu: 1, memory: 1Gi}}
	      containers:
	      - name: main
	        image: busybox
	        workingDir: /code
	        command: [sh, -c, "cat script.sh; pwd; cat /etc/cfg/greeting; od -An -tx1 /etc/cfg/blob; cat /etc/sec/token; echo; echo FOO=$FOO; hostname"]
	        env: [{name: FOO, value: bar}]
	        volumeMounts:
	        - {name: code, mountPath: /code}
	        - {name: cfg, mountPath: /etc/cfg}
	        - {name: sec, mountPath: /etc/sec, readOnly: true}
	        resources: {requests: {cpu: 1, memory: 1Gi}, limits: {cpu: 1, memory: 1Gi}}
	      volumes:
	      - {name: code, emptyDir: {}}
	      - {name: cfg, configMap: {name: cfg}}
	      - {name: sec, secret: {secretName: sec}}
	YAML
	kubectl create -f vol-job.yaml -o name >j &&
	kubectl wait --for=condition=complete $(cat j) --timeout=20s &&
	kubectl logs $(cat j) >log && cat log &&
	test_grep "^print from init$" log && test_grep "^/code$" log && test_grep "^hello" log &&
	test_grep "00 01 02" log && test_grep "^s3cret$" log && test_grep "^FOO=bar$" log &&
	test_grep "^vols-" log
'

test_expect_success 'Indexed jobs: completion index label and JOB_COMPLETION_INDEX, parallelism' '
	job idx "echo index=\$JOB_COMPLETION_INDEX" "  completions: 3\\n  parallelism: 2\\n  completionMode: Indexed" | create >j &&
	kubectl wait --for=condition=complete $(cat j) --timeout=20s &&
	kubectl get $(cat j) -o jsonpath="{.status.completedIndexes} {.status.succeeded}" >out &&
	test_grep "^0-2 3$" out &&
	for p in $(kubectl get pods -l job-name=$(cut -d/ -f2 j) -o name); do
		i=$(kubectl get $p -o jsonpath="{.metadata.labels.batch\.kubernetes\.io/job-completion-index}") &&
		kubectl logs $p >l && test_grep "^index=$i$" l || return 1
	done
'

test_expect_success 'backoffLimit: failing pods, then Failed/BackoffLimitExceeded' '
	job fail "echo failing; exit 3" | sed "s/backoffLimit: 0/backoffLimit: 1/" | create >j &&
	kubectl wait --for=condition=failed $(cat j) --timeout=20s &&
	kubectl get $(cat j) -o jsonpath="{.status.failed} {.status.conditions[?(@.type==\"Failed\")].reason}" >out &&
	test_grep "^2 BackoffLimitExceeded$" out &&
	kubectl get pods -l job-name=$(cut -d/ -f2 j) -o jsonpath="{.items[0].status.containerStatuses[0].state.terminated.exitCode}" >out &&
	test_grep "^3$" out
'

test_expect_success 'activeDeadlineSeconds: DeadlineExceeded' '
	job slow "sleep 30" "  activeDeadlineSeconds: 1" | create >j &&
	kubectl wait --for=condition=failed $(cat j) --timeout=20s &&
	kubectl get $(cat j) -o jsonpath="{.status.conditions[?(@.type==\"Failed\")].reason}" >out &&
	test_grep DeadlineExceeded out
'

test_expect_success 'kubectl delete job --cascade=foreground removes the running pods first' '
	job long "sleep 300" | create >j &&
	kubectl wait --for=jsonpath="{.status.active}"=1 $(cat j) --timeout=20s &&
	cluster_job_ready $(cut -d/ -f2 j) 20 &&
	kubectl delete $(cat j) --cascade=foreground --timeout=20s &&
	test_must_fail kubectl get $(cat j) &&
	kubectl get pods -l job-name=$(cut -d/ -f2 j) -o name >out &&
	test_must_fail test -s out &&
	# the pod object goes when its main process exits; a child still
	# dying from the same SIGTERM may outlive it by a moment
	wait_for 5 no_container "sleep 300" || { ps -o pid,ppid,pgid,stat,etimes,args -p "$(cluster_pids "sleep 300")"; false; }
'

# workload_pending JOB: Kueue keeps the Job's Workload Pending (QuotaReserved=False)
workload_pending() {
	kubectl get workloads -o jsonpath='{range .items[*]}{.metadata.ownerReferences[0].name} {.status.conditions[?(@.type=="QuotaReserved")].reason}{"\n"}{end}' |
		grep -qx "$1 Pending"
}
# failed_scheduling POD: the scheduler's FailedScheduling event for the pod, in msg
failed_scheduling() {
	kubectl get events --field-selector involvedObject.name=$1,reason=FailedScheduling -o jsonpath="{.items[0].message}" >msg &&
		test -s msg
}

test_expect_success 'Kueue stand-in: over-quota jobs stay suspended until quota frees up' '
	job gpu2 "sleep 300" "" ", nvidia.com/gpu: 2" | create >j1 &&
	kubectl wait --for=jsonpath="{.spec.suspend}"=false $(cat j1) --timeout=10s &&
	job gpu1 "true" "" ", nvidia.com/gpu: 1" | create >j2 &&
	# Kueue has looked at it and said why it waits: the quota
	wait_for 20 workload_pending $(cut -d/ -f2 j2) &&
	test "$(kubectl get $(cat j2) -o jsonpath="{.spec.suspend}")" = true &&
	kubectl delete $(cat j1) --cascade=background &&
	kubectl wait --for=condition=complete $(cat j2) --timeout=30s
'

test_expect_success 'scheduler stand-in: a GPU product nobody has stays Unschedulable' '
	job h200 "true" "" ", nvidia.com/gpu: 1" | sed "s/restartPolicy: Never/restartPolicy: Never\n      nodeSelector: {nvidia.com\/gpu.product: NVIDIA-H200}/" | create >j &&
	wait_for 20 cluster_job_has_pod $(cut -d/ -f2 j) &&
	p=$(kubectl get pods -l job-name=$(cut -d/ -f2 j) -o name) &&
	wait_for 20 failed_scheduling ${p#pod/} &&
	kubectl get $p -o jsonpath="{.status.phase} {.status.conditions[?(@.type==\"PodScheduled\")].reason}" >out &&
	test_grep "^Pending Unschedulable$" out &&
	test_grep "^0/3 nodes are available: 3 node(s) didn.t match Pod.s node affinity/selector" msg &&
	kubectl delete $(cat j) --cascade=background
'

test_expect_success 'a missing image gives ErrImagePull then ImagePullBackOff' '
	job img "true" | sed "s/image: busybox:1.36/image: registry.example.org\/does-not-exist:1/" | create >j &&
	wait_for 10 cluster_job_has_pod $(cut -d/ -f2 j) &&
	p=$(kubectl get pods -l job-name=$(cut -d/ -f2 j) -o name) &&
	kubectl wait --for=jsonpath="{.status.containerStatuses[0].state.waiting.reason}"=ErrImagePull $p --timeout=10s &&
	kubectl wait --for=jsonpath="{.status.containerStatuses[0].state.waiting.reason}"=ImagePullBackOff $p --timeout=10s &&
	test_must_fail kubectl logs $p 2>err && test_grep "is waiting to start" err &&
	kubectl delete $(cat j) --cascade=foreground --timeout=10s
'

test_expect_success 'kubectl logs: -f, --tail, --timestamps, --since-time, --limit-bytes' '
	# the container runs on the host file system: it prints once the test saw it Ready;
	# line1 and line5 are more than a second apart (--since-time has whole seconds)
	job logs "while [ ! -e $TRASH/logs-go ]; do sleep 0.1; done; for i in 1 2 3 4 5; do echo line\$i; sleep 0.3; done" | create >j &&
	kubectl wait --for=jsonpath="{.status.active}"=1 $(cat j) --timeout=10s &&
	cluster_job_ready $(cut -d/ -f2 j) 20 &&
	touch "$TRASH/logs-go" &&
	kubectl logs -f $(cat j) >all &&
	test "$(cat all | tr "\n" " ")" = "line1 line2 line3 line4 line5 " &&
	kubectl logs --tail=2 $(cat j) >t && test "$(cat t | tr "\n" " ")" = "line4 line5 " &&
	kubectl logs --timestamps $(cat j) >ts && test_grep "^20[0-9-]*T[0-9:.]*Z line1$" ts &&
	since=$(sed -n 5p ts | cut -d" " -f1) &&
	kubectl logs --since-time=$since $(cat j) >s && test_grep -v line1 s && test_grep line5 s &&
	kubectl logs --limit-bytes=8 $(cat j) >lb && test "$(wc -c <lb)" = 8
'

test_expect_success 'evict: Kueue-style preemption suspends the job, deletes the pod, requeues' '
	job victim "sleep 300" | create >j &&
	cluster_job_ready $(cut -d/ -f2 j) 20 &&
	p=$(kubectl get pods -l job-name=$(cut -d/ -f2 j) -o jsonpath="{.items[0].metadata.name}") &&
	cluster_evict $p &&
	kubectl wait --for=delete pod/$p --timeout=10s &&
	kubectl get events --field-selector involvedObject.name=$(cut -d/ -f2 j),reason=Stopped -o jsonpath="{.items[0].message}" >msg &&
	test_grep "^Preempted to accommodate a workload" msg &&
	kubectl get workloads -o json >wl.json &&
	test_grep "\"Evicted\"" wl.json &&
	kubectl wait --for=jsonpath="{.status.active}"=1 $(cat j) --timeout=20s &&
	kubectl delete $(cat j) --cascade=foreground --timeout=20s
'

test_expect_success 'kill: a container killed mid-run fails the pod (exit 137)' '
	job killme "sleep 300" | create >j &&
	cluster_job_ready $(cut -d/ -f2 j) 20 &&
	p=$(kubectl get pods -l job-name=$(cut -d/ -f2 j) -o jsonpath="{.items[0].metadata.name}") &&
	cluster_kill $p &&
	kubectl wait --for=condition=failed $(cat j) --timeout=20s &&
	kubectl get pod $p -o jsonpath="{.status.phase} {.status.containerStatuses[0].state.terminated.exitCode}" >out &&
	test_grep "^Failed 137$" out
'

test_expect_success 'ttlSecondsAfterFinished deletes the finished job and its pods' '
	job ttl "true" "  ttlSecondsAfterFinished: 1" | create >j &&
	kubectl wait --for=delete $(cat j) --timeout=20s &&
	test -z "$(kubectl get pods -l job-name=$(cut -d/ -f2 j) -o name)"
'

test_expect_success 'stopping the cluster kills the containers and leaves no mounts behind' '
	job left "sleep 301" | create >j &&
	cluster_job_ready $(cut -d/ -f2 j) 20 &&
	test -n "$(cluster_pids "sleep 301")" &&
	python3 "$EIDF_CLUSTER_BIN" stop "$EIDF_CLUSTER_STATE" &&
	no_container "sleep 301" &&
	# every mount of a container is made in its own mount namespace: none of them
	# (volumes, /etc/hosts: all under $TRASH, by its own name even where /tmp
	# is a file system of its own) is seen here
	! grep -F "/$(basename "$TRASH")/" /proc/self/mountinfo &&
	! test -e "$EIDF_CLUSTER_STATE/cluster.pid"
'

test_done
