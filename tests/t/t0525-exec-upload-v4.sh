#!/bin/bash
# The exec uploads (common/kexec_upload.c: devrun's local changes with the
# exec transport, build-context submit --transport exec) against a kubelet
# from before the WebSocket v5 exec support (Kubernetes < 1.29; the node
# agent's --exec-websocket-v4): the client cannot half-close stdin there, so
# the receiving command must stop at the byte count, not at EOF.  Each
# upload completes, byte for byte, over v4.
. "$(dirname "$0")/lib.sh"

if ! command -v busybox >/dev/null || ! command -v git >/dev/null; then
	test_skip "exec uploads over v4" "needs busybox and git"
	test_done
fi
NS=eidf525ns
# A v4-only kubelet is older than the API server's own WebSocket answer
# (kube-apiserver >= 1.30, EIDF_EXEC_TRANSLATE=1), which speaks v5 to the
# client whatever the kubelet speaks: this cluster is the older kind.
unset EIDF_EXEC_TRANSLATE
start_cluster --tenant $NS --eidf-policy --exec-websocket-v4 || exit 1
. "$EIDF_SRC/tests/t/lib-devrun.sh"
# ws_execs PROTOCOL: exec sessions the node agent served over WebSocket PROTOCOL
ws_execs() { grep -c "node agent: exec in $NS/.* over WebSocket ($1)" "$EIDF_CLUSTER_STATE/cluster.log"; }

test_expect_success 'devrun: the local changes (exec transport) arrive over v4, byte for byte' '
	git clone -q "$GIT_DAEMON_URL" w 2>/dev/null && cd w && git checkout -q -b main &&
	echo one >a.txt && git add -A && git commit -q -m init && git push -q -u origin main &&
	head -c 300000 /dev/urandom >blob.bin && echo two >a.txt &&
	$DR $RES --follow --changes-transport exec -- sh -c "cat a.txt; sha256sum blob.bin" >../out 2>../err &&
	cat ../err &&
	test_grep "local changes uploaded to pod " ../err &&
	printf "two\n%s  blob.bin\n" "$(sha256sum <blob.bin | cut -d" " -f1)" >../expect && test_cmp ../expect ../out &&
	test "$(ws_execs v5.channel.k8s.io)" = 0 && test "$(ws_execs v4.channel.k8s.io)" = 1
'

test_expect_success 'build-context submit --transport exec: the context arrives over v4, digest-checked' '
	mkdir ctx && printf "FROM scratch\n" >ctx/Dockerfile && head -c 200000 /dev/urandom >ctx/blob.bin &&
	printf "tar -tzf /workspace/context.tar.gz\n" >executor.sh &&
	kubectl-eidf-build_context submit ctx --image reg.example/me/app:1 --builder-image busybox:test \
		--cpu 100m --memory 128Mi "--executor-command=sh $TRASH/executor.sh" --transport exec >out 2>err &&
	cat err &&
	test_grep "^blob.bin$" out && test_grep "build succeeded" err &&
	job=$(sed -n "s|^job.batch/\([^ ]*\) created.*|\1|p" out) &&
	kubectl logs -n $NS job/$job -c receive-context >recv.log &&
	test_grep "^context sha256:[0-9a-f]\{64\} received through kubectl exec$" recv.log &&
	test "$(ws_execs v5.channel.k8s.io)" = 0 && test "$(ws_execs v4.channel.k8s.io)" = 2
'

test_done
