#!/bin/bash
# devrun --nodes N --torchrun: real distributed training across pods of the
# local cluster.  Each pod has its own address (127.0.x.y) and resolves the
# others' names (<job>-<i>.<service>) through its hosts file; torchrun's
# rendezvous (rank 0's TCPStore at MASTER_ADDR:MASTER_PORT) and gloo's
# all_reduce go between the pods.  A tiny DDP step on CPU
# (tests/fixtures/devrun-nodes/ddp_step.py): every rank must print the same
# reduced value, loss and weights, on 2 pods and on 3.
. "$(dirname "$0")/lib.sh"

if ! command -v busybox >/dev/null || ! command -v git >/dev/null; then
	test_skip "devrun --torchrun" "needs busybox and git"
	test_done
fi
# Debian's torch is for /usr/bin/python3 (tests/install-deps.sh installs it)
if ! test -x /usr/bin/torchrun || ! /usr/bin/python3 -c "import torch.distributed" 2>/dev/null; then
	test_skip "devrun --torchrun" "needs Debian's python3-torch (tests/install-deps.sh)"
	test_done
fi
NS=eidf551ns
export EIDF_DEVRUN_POLL_MS=250  # the ranks are polled (multinode_follow.c): a quicker test
start_cluster --tenant $NS --eidf-policy --gpu-quota 2 || exit 1
. "$EIDF_SRC/tests/t/lib-devrun.sh"
# Containers share the host's ports: rank 0's TCPStore listens on MASTER_PORT
# on every address, so each run takes a free one.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("",0)); print(s.getsockname()[1])'; }
# torch 1.13 (Debian) with Python 3.11 cannot parse torchrun's default
# --redirects/--tee 0 (its Std flag lookup skips 0): ask for stderr teed, so
# stdout stays unprefixed.  Newer torch needs nothing.
TORCHRUN_FIX="--redirects 2 --tee 2"

test_expect_success 'setup' '
	git clone -q "$GIT_DAEMON_URL" w 2>/dev/null && cd w && git checkout -q -b main &&
	cp "$EIDF_SRC/tests/fixtures/devrun-nodes/ddp_step.py" . &&
	git add -A && git commit -q -m ddp && git push -q -u origin main
'

# check_ranks N OUT: N lines, one per rank, all with the same reduced value
# (1+...+N), loss and weights
check_ranks() {
	python3 - "$1" "$2" <<-\EOF
	import re, sys
	n, lines = int(sys.argv[1]), open(sys.argv[2]).read().splitlines()
	got = [re.match(r"^\[(\d+)\] rank (\d+)/(\d+) node (\d+) allreduce (\d+) loss (\S+) weights (.*)$", l)
	       for l in lines if " allreduce " in l]
	assert all(got) and len(got) == n, lines
	assert sorted(int(m.group(1)) for m in got) == list(range(n)), lines
	for m in got:
	    # the prefix is the pod's rank; with one process per node, torch's rank too
	    assert m.group(1) == m.group(2) == m.group(4) and int(m.group(3)) == n, m.group(0)
	    assert int(m.group(5)) == n * (n + 1) // 2, m.group(0)
	assert len({(m.group(6), m.group(7)) for m in got}) == 1, lines
	print("ranks agree:", got[0].group(6), got[0].group(7))
	EOF
}

# torchrun's agent looks at its worker every --monitor_interval seconds (5
# by default): without a shorter one each run would idle seconds after its
# worker has ended.
FAST="--monitor_interval 0.2"

# torchrun_ddp N OUT ERR: a run of the DDP step on N pods, with --rm (and
# a bound: a rendezvous that never completes fails the test, not the suite)
torchrun_ddp() {
	$DR --image pytorch/pytorch:2.3.0-cuda12.1-cudnn8-runtime --cpu 1 --memory 1Gi --nodes "$1" --torchrun \
		--master-port $(free_port) --env OMP_NUM_THREADS=1 --follow --rm --timeout 150s \
		-- $TORCHRUN_FIX $FAST ddp_step.py \
		>"$2" 2>"$3"
}

# Both runs at once in one namespace (each its own Service, rendezvous and
# port): the machine's cores are busy with one while the other waits.
test_expect_success 'torchrun across 2 and 3 pods: the same all_reduce, loss and weights on every rank; --rm leaves nothing' '
	cd w
	{ torchrun_ddp 2 ../out2 ../err2; echo $? >../rc2; } &
	{ torchrun_ddp 3 ../out3 ../err3; echo $? >../rc3; } &
	wait &&
	for n in 2 3; do
		cat ../out$n ../err$n &&
		test "$(cat ../rc$n)" = 0 &&
		check_ranks $n ../out$n &&
		grep "all $n ranks succeeded" ../err$n &&
		job=$(job_of ../err$n) && run=$(run_of ../err$n) &&
		grep "job.batch \"$job\" deleted" ../err$n &&
		wait_for 10 sh -c "test -z \"\$(kubectl get jobs,services,pods,secrets -n $NS -l eidf.ac.uk/run=$run -o name)\"" ||
		return 1
	done
'

test_done
