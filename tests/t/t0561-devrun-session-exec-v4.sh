#!/bin/bash
# devrun sessions against a kubelet from before the WebSocket v5 exec
# support (Kubernetes < 1.29; the node agent's --exec-websocket-v4): devrun's
# own exec client (common/kclient_exec.c) offers v5 and v4, gets v4, and
# then cannot half-close stdin.  Every exec a session makes still works: the
# run (its request and changes on stdin, read to the byte; a run given up
# after the exec started ends in the pod without a close), the exit code
# read back after a non-zero one, Ctrl-C's cancel, attach.
. "$(dirname "$0")/lib.sh"

if ! command -v busybox >/dev/null || ! command -v git >/dev/null || ! command -v python3 >/dev/null; then
	test_skip "devrun session tests" "needs busybox, git and python3"
	test_done
fi
NS=eidf561ns
# A v4-only kubelet is older than the API server's own WebSocket answer
# (kube-apiserver >= 1.30, EIDF_EXEC_TRANSLATE=1), which speaks v5 to the
# client whatever the kubelet speaks: this cluster is the older kind.
unset EIDF_EXEC_TRANSLATE
start_cluster --tenant $NS --eidf-policy --exec-websocket-v4 || exit 1
. "$EIDF_SRC/tests/t/lib-devrun.sh"
S="$DR --session v4"
# ws_execs PROTOCOL: exec sessions the node agent served over WebSocket PROTOCOL
ws_execs() { grep -c "node agent: exec in $NS/.* over WebSocket ($1)" "$EIDF_CLUSTER_STATE/cluster.log"; }

test_expect_success 'setup: a session in the v4-only cluster' '
	git clone -q "$GIT_DAEMON_URL" w 2>/dev/null && cd w && git checkout -q -b main &&
	echo one >a.txt && git add -A && git commit -q -m init && git push -q -u origin main &&
	$S $RES -- cat a.txt >../out 2>../err && cat ../err &&
	test "$(cat ../out)" = one
'

test_expect_success 'runs ship their changes over v4 stdin, read to the byte (1 MiB, then one line)' '
	cd w && head -c 1048576 /dev/urandom >blob.bin && echo two >a.txt &&
	$S -- sh -c "cat a.txt; sha256sum blob.bin" >../out 2>../err && cat ../err &&
	test_grep "shipping 2 files" ../err &&
	printf "two\n%s  blob.bin\n" "$(sha256sum <blob.bin | cut -d" " -f1)" >../expect && test_cmp ../expect ../out &&
	echo three >a.txt &&
	$S -- cat a.txt >../out 2>../err && test "$(cat ../out)" = three &&
	test_grep "shipping 1 file, 0 deleted, 0 restored" ../err &&
	test "$(ws_execs v5.channel.k8s.io)" = 0 && test "$(ws_execs v4.channel.k8s.io)" -ge 3
'

test_expect_success 'a non-zero exit code is the command'"'"'s, read back by another exec' '
	cd w &&
	test_expect_code 3 $S -- sh -c "echo out; echo err >&2; exit 3" >../out 2>../err &&
	test "$(cat ../out)" = out && test_grep "^err$" ../err
'

test_expect_success 'a run given up after its exec started ends in the pod; the session is free' '
	cd w && sub_url=${GIT_DAEMON_URL%/repo.git}/sub.git &&
	git init -q --bare -b main "$TRASH/srv/sub.git" &&
	git clone -q "$sub_url" subw 2>/dev/null && (cd subw && git checkout -q -b main && echo s >s.txt &&
		git add -A && git commit -q -m s && git push -q -u origin main) &&
	git submodule add -q "$sub_url" lib && (cd lib && echo local >s.txt && git commit -q -am unpushed) &&
	test_expect_code 125 $S -- echo never >../out 2>../err && cat ../err &&
	test ! -s ../out && test_grep "is not on any remote-tracking branch" ../err &&
	(cd lib && git push -q origin HEAD:main) &&
	$S -- cat lib/s.txt >../out 2>../err && cat ../err && test "$(cat ../out)" = local
'

test_expect_success 'Ctrl-C stops the command through the cancel exec; attach shows the run' '
	cd w
	($S -- sh -c "echo started; exec sleep 5610" >../ci.out 2>../ci.err & echo $! >../ci.pid; wait $!; echo $? >../ci.rc) &
	wait_for 30 grep -q started ../ci.out &&
	kill -INT $(cat ../ci.pid) &&
	wait_for 30 test -s ../ci.rc && cat ../ci.err &&
	test "$(cat ../ci.rc)" = 130 &&
	test -z "$(cluster_pids "sleep 5610")" &&
	test_expect_code 130 $DR session attach v4 >../att.out 2>../att.err &&
	test_grep "^started$" ../att.out &&
	test "$(ws_execs v5.channel.k8s.io)" = 0 &&
	$DR session stop v4 >/dev/null
'

test_expect_success 'every request line stayed short (scripts go on the exec'"'"'s stdin; proxies refuse long lines)' '
	cluster_long_requests 2048 >long && cat long && test ! -s long
'

test_done
