#!/usr/bin/env bash
# pods/exec over SPDY/3.1, the protocol a real kube-apiserver speaks to the kubelet
# (it passes an SPDY upgrade through, and from 1.30 translates kubectl's
# WebSockets into SPDY).  The oracle is the real kubectl, which speaks SPDY when
# KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false: the local API server passes its
# upgrade through to the node agent's kubelet port, as kube-apiserver's
# UpgradeAwareProxy does, and the agent serves it (execspdy.py).  The cluster
# runs with --exec-translate, so kubectl's default WebSocket exec is answered by
# the API server and reaches the kubelet as SPDY too, as from kube-apiserver
# 1.30 (exectranslate.py): the last cases.
. "$(dirname "$0")/lib.sh"

NS=eidf042ns
start_cluster --tenant "$NS" --exec-translate
ST=$EIDF_CLUSTER_STATE
export KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false
# wskubectl ...: kubectl with its default exec protocol, WebSockets
wskubectl() { KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true kubectl "$@"; }
# exec_sessions PROTOCOL: how many exec sessions reached the kubelet port over PROTOCOL
exec_sessions() { grep -c "node agent: exec in $NS/box/main over $1 " "$ST/cluster.log"; }

pod_running() { test "$(kubectl get pod "$1" -o jsonpath='{.status.phase}')" = Running; }
no_sleeper() { test -z "$(cluster_pids "sleep 988")"; }

test_expect_success 'setup: a running pod' '
	kubectl create -f - <<-\EOF &&
	apiVersion: v1
	kind: Pod
	metadata: {name: box}
	spec:
	  restartPolicy: Never
	  containers:
	  - name: main
	    image: busybox:1.36
	    command: [sh, -c, "trap \"exit 0\" TERM; while :; do sleep 1; done"]
	    env: [{name: GREETING, value: hello-over-spdy}]
	EOF
	wait_for 20 pod_running box
'

test_expect_success 'stdin in, stdout out; the upgrade is SPDY (a POST answered 101), not a WebSocket GET' '
	echo hi | kubectl exec -i box -- cat >out 2>err &&
	echo hi >expect &&
	test_cmp expect out &&
	test ! -s err &&
	cluster_requests | grep "\"POST\".*/pods/box/exec\".*command=cat" | grep "\"status\":101" | grep -q "\"stream\":true" &&
	test "$(cluster_request_count "^GET .*/pods/box/exec")" = 0
'

test_expect_success 'stdout and stderr stay separate; a non-zero exit code is kubectl exec'"'"'s' '
	test_expect_code 3 kubectl exec box -- sh -c "echo to-out; echo \$GREETING >&2; exit 3" >out 2>err &&
	echo to-out >expect && test_cmp expect out &&
	test_grep "^hello-over-spdy$" err &&
	test_grep "command terminated with exit code 3" err &&
	kubectl exec box -- true
'

test_expect_success 'a 4 MiB binary goes through cat intact (many DATA frames each way)' '
	head -c 4194304 /dev/urandom >big.bin &&
	kubectl exec -i box -- cat <big.bin >big.out &&
	test "$(sha256sum <big.bin)" = "$(sha256sum <big.out)"
'

test_expect_success 'errors: a missing command, a container that is not there' '
	test_expect_code 1 kubectl exec box -- no-such-command 2>err &&
	test_grep "executable file not found in \$PATH" err &&
	test_expect_code 1 kubectl exec box -c nope -- true 2>err &&
	test_grep "container nope is not valid for pod box" err
'

test_expect_success 'a client offering no protocol the kubelet speaks is refused (403, what it accepts)' '
	SERVER=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"server\"])" "$ST/cluster.json") &&
	curl -sS --cacert "$ST/pki/ca.crt" --cert "$ST/pki/client.crt" --key "$ST/pki/client.key" \
		-X POST -H "Connection: Upgrade" -H "Upgrade: SPDY/3.1" -H "X-Stream-Protocol-Version: v3.channel.k8s.io" \
		-o body -w "%{http_code}\n" "$SERVER/api/v1/namespaces/$NS/pods/box/exec?command=true&stdout=true" >code &&
	echo 403 >expect && test_cmp expect code &&
	test_grep "unable to negotiate protocol: client supports \[v3.channel.k8s.io\], server accepts \[v5.channel.k8s.io v4.channel.k8s.io\]" body
'

test_expect_success 'exec -it: a terminal of the client'"'"'s size, resized when it is (the resize stream)' '
	# kubectl on a pty of 33x111: stty in the pod says so; the pty becomes 44x122
	# (SIGWINCH to kubectl) and the pod sees that; "exit 5" is kubectl'"'"'s exit code
	python3 - >tty.out 2>&1 <<-\PY
	import fcntl, os, pty, select, signal, struct, sys, termios, time
	pid, fd = pty.fork()
	if pid == 0:
	    os.execvp("kubectl", ["kubectl", "exec", "-it", "box", "--", "sh"])
	def size(rows, cols):
	    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
	size(33, 111)
	seen = b""
	def wait_for(text, seconds):
	    global seen
	    end = time.time() + seconds
	    while text not in seen and time.time() < end:
	        if select.select([fd], [], [], 0.1)[0]:
	            try:
	                seen += os.read(fd, 4096)
	            except OSError:
	                return False
	    return text in seen
	assert wait_for(b"# ", 20), seen
	os.write(fd, b"stty size\n")
	assert wait_for(b"33 111", 10), seen
	size(44, 122)
	os.kill(pid, signal.SIGWINCH)
	# the resize and the next command travel on different streams: ask until the pod sees it
	for _ in range(20):
	    os.write(fd, b"stty size\n")
	    if wait_for(b"44 122", 1):
	        break
	assert b"44 122" in seen, seen
	os.write(fd, b"exit 5\n")
	wait_for(b"exit code 5", 10)
	for _ in range(200):             # kubectl ends within 20 s, or it is killed (rc=-9)
	    done, st = os.waitpid(pid, os.WNOHANG)
	    if done:
	        break
	    try:                         # keep reading its output meanwhile
	        if select.select([fd], [], [], 0.1)[0]:
	            os.read(fd, 4096)
	    except OSError:              # the terminal is closed already
	        time.sleep(0.1)
	else:
	    os.kill(pid, signal.SIGKILL)
	    _, st = os.waitpid(pid, 0)
	print("rc=%d" % os.waitstatus_to_exitcode(st))
	PY
	test_grep "^rc=5$" tty.out
'

test_expect_success 'a client that goes away ends its exec'"'"'d process' '
	kubectl exec box -- sleep 988 >/dev/null 2>&1 &
	bg=$! &&
	wait_for 20 eval "test -n \"\$(cluster_pids \"sleep 988\")\"" &&
	kill -9 $bg &&
	wait_for 10 no_sleeper
'

test_expect_success 'translated (kube-apiserver >= 1.30): kubectl'"'"'s WebSocket exec reaches the kubelet as SPDY' '
	spdy0=$(exec_sessions SPDY/3.1) &&
	echo hi | wskubectl exec -i box -- cat >out 2>err &&
	echo hi >expect && test_cmp expect out && test ! -s err &&
	test_expect_code 4 wskubectl exec box -- sh -c "echo to-out; echo to-err >&2; exit 4" >out 2>err &&
	echo to-out >expect && test_cmp expect out &&
	test_grep "^to-err$" err &&
	test_grep "command terminated with exit code 4" err &&
	head -c 1048576 /dev/urandom >one.bin &&
	wskubectl exec -i box -- cat <one.bin >one.out &&
	test "$(sha256sum <one.bin)" = "$(sha256sum <one.out)" &&
	test "$(cluster_request_count "^GET .*/pods/box/exec")" = 3 &&
	test "$(exec_sessions SPDY/3.1)" = $((spdy0 + 3)) &&
	test "$(exec_sessions WebSocket)" = 0
'

test_expect_success 'translated: a client that goes away ends its exec'"'"'d process' '
	KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true kubectl exec box -- sleep 988 >/dev/null 2>&1 &
	bg=$! &&
	wait_for 20 eval "test -n \"\$(cluster_pids \"sleep 988\")\"" &&
	kill -9 $bg &&
	wait_for 10 no_sleeper
'

test_done
