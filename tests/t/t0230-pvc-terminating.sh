#!/usr/bin/env bash
# kubectl eidf pvc and PVC protection as Kubernetes does it: a deleted claim
# stays Terminating while any scheduled pod that references it still exists,
# finished pods included (a Job keeps its Succeeded pod until its TTL), so
# delete names those holders, offers to delete their Jobs, says when the
# claim is kept, and --wait waits until it is gone; list/get/describe show
# Terminating; USED BY shows only pods that have not ended.
. "$(dirname "$0")/lib.sh"

NS=eidf042ns
# the local cluster's PVC protection keeps claims for finished pods since
# it emulates the job controller's lag
if ! "$EIDF_CLUSTER_BIN" --help 2>/dev/null | grep -q -e --job-controller-lag; then
	test_skip "PVC protection of finished pods" "the local cluster does not emulate it"
	test_done
fi
start_cluster --eidf-policy --tenant $NS || exit 1

# finished_job CLAIM: a Job whose one pod mounted CLAIM and has Succeeded;
# prints the Job's name
finished_job() {
	local job
	printf '%s\n' "apiVersion: batch/v1" "kind: Job" "metadata:" "  generateName: user-" \
		"  labels: {kueue.x-k8s.io/queue-name: $NS-user-queue}" "spec:" "  backoffLimit: 0" \
		"  template:" "    spec:" "      restartPolicy: Never" "      containers:" "      - name: c" \
		"        image: busybox:latest" "        command: [sh, -c, 'true']" \
		"        resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 100m, memory: 64Mi}}" \
		"        volumeMounts: [{name: v, mountPath: /mnt/ceph}]" \
		"      volumes: [{name: v, persistentVolumeClaim: {claimName: $1}}]" >job-$1.yaml &&
	job=$(kubectl create -f job-$1.yaml -o name) && job=${job#job.batch/} &&
	wait_for 30 pod_succeeded "$job" &&
	echo "$job"
}
pod_succeeded() {
	test "$(kubectl get pods -l job-name="$1" -o jsonpath='{.items[0].status.phase}')" = Succeeded
}

test_expect_success 'setup: claims held only by the finished pods of Jobs' '
	cluster_bound_pvc data2 && cluster_bound_pvc data3 &&
	finished_job data2 >job2 && finished_job data3 >job3 &&
	test -s job2 && test -s job3
'

test_expect_success 'list: USED BY has no finished pods; -o wide names them as holders' '
	job=$(cat job2) &&
	kubectl eidf pvc list >out && cat out &&
	test_grep "^data2  *Bound  *10Gi  *RWX  *csi-cephfs-sc  *<none> " out &&
	kubectl eidf pvc list -o wide >wide && cat wide &&
	test_grep "FINISHED HOLDERS$" wide &&
	test_grep "^data2  *Bound .* job/$job(Completed)$" wide
'

test_expect_success 'delete without --with-finished-jobs: holders named, the claim stays Terminating and says why' '
	job=$(cat job2) &&
	kubectl eidf pvc delete data2 --yes </dev/null >out 2>err &&
	cat out err &&
	test_grep "PVC \"data2\" is held by finished job/$job (Completed)" err &&
	test_grep "^persistentvolumeclaim \"data2\" marked for deletion (Terminating)$" out &&
	test_grep "stays Terminating while finished job/$job (Completed) still exist (kubernetes.io/pvc-protection)" err &&
	test_grep "pvc delete data2 -n $NS --with-finished-jobs" err &&
	kubectl get job "$job" >/dev/null &&
	test -n "$(kubectl get pvc data2 -o jsonpath={.metadata.deletionTimestamp})"
'

test_expect_success 'list, get and describe show Terminating as kubectl does' '
	job=$(cat job2) &&
	kubectl eidf pvc list >out && test_grep "^data2  *Terminating " out &&
	kubectl eidf pvc get data2 >out && test_grep "^data2  *Terminating " out &&
	kubectl eidf pvc describe data2 >out && cat out &&
	test_grep "^Status: *Terminating (lasts [0-9]*[sm])$" out &&
	test_grep "^Finalizers: *\[kubernetes.io/pvc-protection\]$" out &&
	test_grep "^Held By: *job/$job (Completed)$" out
'

test_expect_success 'delete --wait gives up with 124 while a finished holder stays, and says what goes on' '
	job=$(cat job3) &&
	test_expect_code 124 kubectl eidf pvc delete data3 --yes --wait=1s </dev/null >out 2>err &&
	cat out err &&
	test_grep "held by finished job/$job (Completed)" err &&
	test_grep "persistentvolumeclaim/data3" err &&
	kubectl get pvc data3 >/dev/null
'

test_expect_success 'delete --with-finished-jobs --wait: the Jobs go, and the claim is gone when it returns' '
	job=$(cat job2) &&
	kubectl eidf pvc delete data2 --yes --with-finished-jobs --wait=60s </dev/null >out 2>err &&
	cat out err &&
	test_grep "^job.batch \"$job\" deleted$" out &&
	test_grep "^persistentvolumeclaim \"data2\" deleted$" out &&
	test_must_fail kubectl get pvc data2 2>/dev/null &&
	test_must_fail kubectl get job "$job" 2>/dev/null
'

if tmux_setup; then
test_expect_success 'on a terminal, delete asks whether to delete the finished Jobs holding the claim' '
	job=$(cat job3) &&
	tmux_start "KUBECONFIG=$KUBECONFIG kubectl eidf pvc delete data3 --wait=60s >\"$TRASH/tty.out\" 2>\"$TRASH/tty.err\"; echo \$? >\"$TRASH/tty.rc\"; sleep 60" &&
	tmux_wait "Delete the finished job/$job (Completed) too? \[y/N\]" &&
	tmux_keys y Enter &&
	wait_for 60 test -s "$TRASH/tty.rc" &&
	tmux_stop &&
	cat tty.out tty.err &&
	test "$(cat tty.rc)" = 0 &&
	test_grep "^job.batch \"$job\" deleted$" tty.out &&
	test_grep "^persistentvolumeclaim \"data3\" deleted$" tty.out &&
	test_must_fail kubectl get pvc data3 2>/dev/null
'
fi

test_done
