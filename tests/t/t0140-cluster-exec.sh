#!/usr/bin/env bash
# The local test cluster's pods/exec (WebSocket, v5.channel.k8s.io) with the
# real kubectl: stdin/stdout/stderr streaming, exit codes, the container's
# mounts and environment, errors, and a TTY session driven through tmux.
. "$(dirname "$0")/lib.sh"

start_cluster --tenant eidf042ns

sleep_running() { pgrep -fx "sleep 987" >/dev/null; }
pod_running() { test "$(kubectl get pod "$1" -o jsonpath='{.status.phase}')" = Running; }

test_expect_success 'setup: a running pod that mounts a claim' '
	cat >pod.yaml <<-\EOF &&
	apiVersion: v1
	kind: PersistentVolumeClaim
	metadata: {name: data}
	spec:
	  accessModes: [ReadWriteMany]
	  resources: {requests: {storage: 1Gi}}
	---
	apiVersion: v1
	kind: Pod
	metadata: {name: box}
	spec:
	  restartPolicy: Never
	  containers:
	  - name: main
	    image: busybox:1.36
	    command: [sh, -c, "trap \"exit 0\" TERM; while :; do sleep 1; done"]
	    workingDir: /mnt/ceph
	    env: [{name: GREETING, value: hello-from-env}]
	    volumeMounts: [{name: data, mountPath: /mnt/ceph}]
	  volumes:
	  - name: data
	    persistentVolumeClaim: {claimName: data}
	EOF
	kubectl create -f pod.yaml &&
	wait_for 20 pod_running box &&
	echo on-the-volume >"$(cluster_volume_dir data)/host-file.txt"
'

test_expect_success 'stdin is streamed in and stdout out (echo hi | exec -i cat)' '
	echo hi | kubectl exec -i box -- cat >out 2>err &&
	echo hi >expect &&
	test_cmp expect out &&
	test ! -s err
'

test_expect_success 'the remote exit code is kubectl exec'"'"'s exit code' '
	test_expect_code 3 kubectl exec box -- sh -c "exit 3" 2>err &&
	test_grep "command terminated with exit code 3" err &&
	kubectl exec box -- true
'

test_expect_success 'stdout and stderr stay separate' '
	kubectl exec box -- sh -c "echo to-out; echo to-err >&2" >out 2>err &&
	echo to-out >expect && test_cmp expect out &&
	echo to-err >expect && test_cmp expect err
'

test_expect_success 'exec runs with the container'"'"'s mounts, workingDir, env, hostname and PATH' '
	kubectl exec box -- sh -c "ls /mnt/ceph; pwd; echo \$GREETING; hostname; command -v sh" >out &&
	test_grep "^host-file.txt$" out &&
	test_grep "^/mnt/ceph$" out &&
	test_grep "^hello-from-env$" out &&
	test_grep "^box$" out &&
	test_grep "busybox-bin/sh$" out &&
	kubectl exec box -- sh -c "echo from-exec >/mnt/ceph/exec-file.txt" &&
	echo from-exec >expect &&
	test_cmp expect "$(cluster_volume_dir data)/exec-file.txt"
'

test_expect_success 'a 2 MiB binary goes through cat intact' '
	head -c 2097152 /dev/urandom >big.bin &&
	kubectl exec -i box -- cat <big.bin >big.out &&
	test "$(sha256sum <big.bin)" = "$(sha256sum <big.out)"
'

test_expect_success 'other requests are served while an exec session is open' '
	(sleep 2; echo late) | kubectl exec -i box -- cat >late.out &
	bg=$! &&
	sleep 0.5 &&
	start=$(date +%s%N) &&
	kubectl get pod box -o name >name &&
	elapsed=$((($(date +%s%N) - start) / 1000000)) &&
	wait $bg &&
	echo late >expect && test_cmp expect late.out &&
	echo "kubectl get took ${elapsed} ms" &&
	test "$elapsed" -lt 1500
'

test_expect_success 'the exec request is logged (101, stream) and needs create on pods/exec' '
	test "$(cluster_request_count "^GET /api/v1/namespaces/eidf042ns/pods/box/exec\\?.*command=cat")" -ge 2 &&
	cluster_requests | grep "/pods/box/exec" | grep "\"status\":101" | grep -q "\"stream\":true" &&
	test_must_fail kubectl create --raw "/api/v1/namespaces/default/pods/box/exec?command=true" -f /dev/null 2>err &&
	test_grep "User \"u-eidf042ns\" cannot create resource \"pods/exec\" in API group \"\" in the namespace \"default\"" err
'

test_expect_success 'exec into a missing pod is NotFound, into another namespace Forbidden' '
	test_expect_code 1 kubectl exec nosuchpod -- true 2>err &&
	test_grep "Error from server (NotFound): pods \"nosuchpod\" not found" err &&
	test_expect_code 1 kubectl exec -n default box -- true 2>err &&
	test_grep "Error from server (Forbidden)" err
'

test_expect_success 'bad container, missing command, container not running' '
	test_expect_code 1 kubectl exec box -c nope -- true 2>err &&
	test_grep "container nope is not valid for pod box" err &&
	test_expect_code 1 kubectl exec box -- no-such-command 2>err &&
	test_grep "executable file not found in \$PATH" err &&
	cat >nopull.yaml <<-\EOF &&
	apiVersion: v1
	kind: Pod
	metadata: {name: nopull}
	spec:
	  containers: [{name: main, image: missing-image:1, command: [sleep, "1"]}]
	EOF
	kubectl create -f nopull.yaml &&
	test_expect_code 1 kubectl exec nopull -- true 2>err &&
	test_grep "unable to upgrade connection: container not found (\"main\")" err
'

if tmux_setup; then
	test_expect_success 'exec -it: an interactive shell on a terminal (tmux)' '
		rm -f "$TRASH/tty.rc" &&
		tmux_start "kubectl exec -it box -- sh; echo \$? >\"$TRASH/tty.rc\"; sleep 60" &&
		tmux_wait "/mnt/ceph #" &&
		tmux_keys "echo \$((6*7)); tty; stty size" Enter &&
		tmux_wait "^42" &&
		tmux_wait "^/dev/pts/" &&
		tmux_wait "^30 100" &&
		tmux_keys "exit 4" Enter &&
		wait_for 20 test -s "$TRASH/tty.rc" &&
		echo 4 >expect && test_cmp expect "$TRASH/tty.rc" &&
		tmux_wait "command terminated with exit code 4" &&
		tmux_stop
	'
else
	test_skip 'exec -it: an interactive shell on a terminal (tmux)' 'tmux is not installed'
fi

test_expect_success 'deleting the pod ends its exec sessions' '
	kubectl exec box -- sleep 987 >/dev/null 2>&1 &
	bg=$! &&
	wait_for 20 sleep_running &&
	kubectl delete pod box --wait=false &&
	rc=0 && wait $bg || rc=$? &&
	test "$rc" = 143 &&
	! sleep_running
'

test_done
