#!/bin/bash
# devrun --nodes N: an Indexed Job of N pods plus a headless Service owned
# by the Job, every rank's environment, Kueue admitting the N pods as one
# workload, the logs of all ranks, and the outcome of the first failed rank.
# (The real torchrun across pods: t0551.)
. "$(dirname "$0")/lib.sh"

if ! command -v busybox >/dev/null || ! command -v git >/dev/null; then
	test_skip "devrun --nodes" "needs busybox and git"
	test_done
fi
NS=eidf550ns
export EIDF_DEVRUN_POLL_MS=250  # the ranks are polled (multinode_follow.c): a quicker test
start_cluster --tenant $NS --eidf-policy --gpu-quota 2 || exit 1
. "$EIDF_SRC/tests/t/lib-devrun.sh"

test_expect_success 'setup' '
	git clone -q "$GIT_DAEMON_URL" w 2>/dev/null && cd w && git checkout -q -b main &&
	echo committed >data.txt && git add -A && git commit -q -m init && git push -q -u origin main
'

test_expect_success 'render: an Indexed Job of N pods and a headless Service, the ranks env, torchrun' '
	cd w &&
	$DR render $RES --nodes 3 --gpu 2 --torchrun --master-port 29999 -o json -- train.py --lr "0.1 x" >../r.json &&
	python3 - ../r.json <<-\EOF
	import json, sys
	items = json.load(open(sys.argv[1]))["items"]
	assert [o["kind"] for o in items] == ["Job", "Service"], [o["kind"] for o in items]
	job, svc = items
	run = job["metadata"]["labels"]["eidf.ac.uk/run"]
	assert "generateName" in job["metadata"] and "name" not in job["metadata"]
	s = job["spec"]
	assert (s["completionMode"], s["completions"], s["parallelism"], s["backoffLimit"]) == ("Indexed", 3, 3, 0), s
	ps = s["template"]["spec"]
	assert ps["subdomain"] == svc["metadata"]["name"] == "devrun-" + run
	main = [c for c in ps["containers"] if c["name"] == "main"][0]
	env = {e["name"]: e for e in main["env"]}
	assert env["EIDF_JOB_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.labels[\x27job-name\x27]"
	assert env["MASTER_ADDR"]["value"] == "$(EIDF_JOB_NAME)-0." + svc["metadata"]["name"]
	assert env["MASTER_PORT"]["value"] == "29999"
	assert env["WORLD_SIZE"]["value"] == env["NNODES"]["value"] == "3"
	assert env["NPROC_PER_NODE"]["value"] == "2"
	idx = "metadata.annotations[\x27batch.kubernetes.io/job-completion-index\x27]"
	assert env["NODE_RANK"]["valueFrom"]["fieldRef"]["fieldPath"] == idx
	names = [e["name"] for e in main["env"]]
	assert names.index("EIDF_JOB_NAME") < names.index("MASTER_ADDR")
	assert main["command"] == ["torchrun"]
	assert main["args"] == ["--nnodes", "$(NNODES)", "--nproc_per_node", "$(NPROC_PER_NODE)",
	                        "--node_rank", "$(NODE_RANK)", "--master_addr", "$(MASTER_ADDR)",
	                        "--master_port", "$(MASTER_PORT)", "train.py", "--lr", "0.1 x"], main["args"]
	assert main["resources"]["limits"]["nvidia.com/gpu"] == "2"
	sp = svc["spec"]
	assert sp["clusterIP"] == "None" and sp["publishNotReadyAddresses"] is True
	assert sp["selector"] == {"eidf.ac.uk/run": run}
	assert sp["ports"] == [{"name": "rendezvous", "protocol": "TCP", "port": 29999, "targetPort": 29999}]
	assert svc["metadata"]["labels"]["eidf.ac.uk/run"] == run
	EOF
'

test_expect_success '--dry-run=client -o yaml shows the Job and the Service; --torchrun refuses --shell' '
	cd w &&
	$DR $RES --nodes 2 --dry-run=client -o yaml -- sh run.sh >../r.yaml 2>/dev/null &&
	grep -c "^  kind: " ../r.yaml >../kinds && test "$(cat ../kinds)" = 2 &&
	grep "^  kind: Job$" ../r.yaml && grep "^  kind: Service$" ../r.yaml &&
	grep "completionMode: Indexed" ../r.yaml && grep "clusterIP: None" ../r.yaml &&
	test_expect_code 2 $DR render $RES --torchrun --shell -- python x.py 2>../err &&
	grep "cannot be combined with --shell" ../err &&
	test_expect_code 2 $DR render $RES --nodes 0 -- true 2>../err && cat ../err
'

test_expect_success 'two pods: every rank its env, name and the same local changes (exec transport), logs prefixed "[rank] ", exit 0; Service owned by the Job' '
	cd w && echo "local edit" >data.txt &&
	$DR $RES --nodes 2 --changes-transport exec --follow -- sh -c "echo rank \$NODE_RANK/\$WORLD_SIZE nnodes \$NNODES nproc \$NPROC_PER_NODE master \$MASTER_ADDR:\$MASTER_PORT host \$(hostname); cat data.txt" \
		>../out 2>../err &&
	git checkout -q data.txt &&
	cat ../out ../err &&
	job=$(job_of ../err) && run=$(run_of ../err) &&
	grep "^\[0\] rank 0/2 nnodes 2 nproc 1 master $job-0.devrun-$run:29500 host $job-0$" ../out &&
	grep "^\[1\] rank 1/2 nnodes 2 nproc 1 master $job-0.devrun-$run:29500 host $job-1$" ../out &&
	test "$(grep -c "^\[[01]\] local edit$" ../out)" = 2 &&
	test "$(grep -c "local changes uploaded to pod $job-[01]-" ../err)" = 2 &&
	test "$(wc -l <../out)" = 4 &&
	grep "admitted by Kueue (queue $NS-user-queue): 2 pods" ../err &&
	grep "all 2 ranks succeeded" ../err &&
	kubectl get service "devrun-$run" -n $NS -o jsonpath="{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}" >../owner &&
	test "$(cat ../owner)" = "Job/$job" &&
	echo "$job" >../job2
'

test_expect_success 'logs RUN: every rank prefixed (--timestamps: after the prefix); --rank R: that rank alone' '
	cd w && job=$(cat ../job2) &&
	$DR logs "$job" >../all &&
	test "$(grep -c "^\[[01]\] " ../all)" = 4 &&
	$DR logs "$job" --timestamps >../ts && grep -E "^\[1\] 20[0-9-]+T[0-9:.]+Z rank 1/2 " ../ts &&
	$DR logs "$job" --rank 1 >../one &&
	grep "^rank 1/2 " ../one && ! grep "rank 0/" ../one && test "$(wc -l <../one)" = 2 &&
	test_expect_code 2 $DR logs "$job" --rank 2 2>../err && grep "ranks 0 to 1" ../err
'

test_expect_success 'deleting the Job deletes its Service (garbage collector)' '
	cd w && job=$(cat ../job2) && svc=$(kubectl get svc -n $NS -o name) && test -n "$svc" &&
	kubectl delete job "$job" -n $NS --cascade=background &&
	wait_for 10 sh -c "! kubectl get $svc -n $NS 2>/dev/null"
'

test_expect_success 'a rank that exits 3 (--detach, then attach --rm): exit 3 naming it, the other ranks stopped, nothing left' '
	cd w &&
	$DR $RES --nodes 3 --detach -- sh -c "echo up \$NODE_RANK; if [ \$NODE_RANK = 1 ]; then exit 3; fi; exec sleep 60" \
		>../job3 2>../err && job=$(cat ../job3) && test -n "$job" &&
	test_expect_code 3 $DR attach "$job" --rm >../out 2>>../err &&
	cat ../out ../err &&
	grep "rank 1 failed with exit code 3" ../err &&
	grep -E "other ranks: 0 stopped [^,]*, 2 stopped " ../err &&
	# the failing rank said it was up; a rank still starting when rank 1
	# failed is stopped before it prints (under load rank 2 often is):
	# whatever was printed comes once, with its own rank
	grep -qx "\[1\] up 1" ../out &&
	test -z "$(sort ../out | uniq -d)" &&
	! grep -v -E "^\[([012])\] up \1$" ../out &&
	run=$(run_of ../err) &&
	wait_for 10 sh -c "test -z \"\$(kubectl get jobs,pods,services,secrets -n $NS -l eidf.ac.uk/run=$run -o name)\""
'

# Ctrl-C (SIGINT) of a run on N nodes does what it does for one
# (docs/devrun.md "Ctrl-C and --rm"): it detaches, exit 130 with the
# commands to follow, read or cancel the run, which goes on; with --rm it
# deletes the run, so that nothing holds the quota.
test_expect_success 'Ctrl-C of 2 ranks detaches (130, hints, list shows it Running); Ctrl-C of attach --rm deletes everything' '
	cd w
	($DR $RES --nodes 2 --follow -- sh -c "echo up \$NODE_RANK; exec sleep 60" >../c.out 2>../c.err &
	 echo $! >../c.pid; wait $!; echo $? >../c.rc) &
	wait_for 30 sh -c "grep -qx \"\[0\] up 0\" ../c.out && grep -qx \"\[1\] up 1\" ../c.out" &&
	kill -INT $(cat ../c.pid) &&
	wait_for 10 test -s ../c.rc &&
	cat ../c.err && test "$(cat ../c.rc)" = 130 &&
	job=$(job_of ../c.err) && run=$(run_of ../c.err) &&
	grep "detached; job.batch/$job keeps running" ../c.err &&
	grep "kubectl eidf devrun attach $job -n $NS" ../c.err &&
	grep "kubectl eidf devrun logs $job -n $NS -f" ../c.err &&
	grep "kubectl eidf devrun delete $job -n $NS" ../c.err &&
	test "$(kubectl get pods -n $NS -l eidf.ac.uk/run=$run --field-selector=status.phase=Running -o name | wc -l)" = 2 &&
	$DR list >../list && cat ../list && grep -E "^$job +Running " ../list
	($DR attach "$job" --rm >../a.out 2>../a.err & echo $! >../a.pid; wait $!; echo $? >../a.rc) &
	wait_for 30 sh -c "grep -qx \"\[0\] up 0\" ../a.out && grep -qx \"\[1\] up 1\" ../a.out" &&
	kill -INT $(cat ../a.pid) &&
	wait_for 10 test -s ../a.rc &&
	cat ../a.err && test "$(cat ../a.rc)" = 130 &&
	grep "interrupted; deleting job.batch/$job (--rm)" ../a.err &&
	grep "job.batch \"$job\" deleted" ../a.err &&
	wait_for 10 sh -c "test -z \"\$(kubectl get jobs,pods,services,secrets -n $NS -l eidf.ac.uk/run=$run -o name)\""
'

test_expect_success 'Ctrl-C of --rm while Kueue holds the N pods back: the queued Job is deleted, no pod ever started' '
	cd w
	($DR $RES --nodes 3 --gpu 1 --follow --rm -- true >../q.out 2>../q.err &
	 echo $! >../q.pid; wait $!; echo $? >../q.rc) &
	wait_for 30 grep -q "insufficient quota for nvidia.com/gpu" ../q.err &&
	kill -INT $(cat ../q.pid) &&
	wait_for 10 test -s ../q.rc &&
	cat ../q.err && test "$(cat ../q.rc)" = 130 &&
	job=$(job_of ../q.err) && run=$(run_of ../q.err) &&
	grep "interrupted; deleting job.batch/$job (--rm)" ../q.err &&
	! grep "rank [0-9]" ../q.err && test ! -s ../q.out &&
	wait_for 10 sh -c "test -z \"\$(kubectl get jobs,pods,services,secrets -n $NS -l eidf.ac.uk/run=$run -o name)\""
'

test_expect_success 'quota smaller than N pods: queued with Kueue reason, no pod starts' '
	cd w &&
	test_expect_code 124 $DR $RES --nodes 3 --gpu 1 --follow --timeout 3s -- true >../out 2>../err &&
	cat ../err &&
	grep "waiting for Kueue to admit the workload (3 pods)" ../err &&
	grep "insufficient quota for nvidia.com/gpu in flavor default-flavor, request > maximum capacity (3 > 2)" ../err &&
	! grep "rank [0-9]" ../err && test ! -s ../out &&
	job=$(job_of ../err) &&
	test "$(kubectl get job "$job" -n $NS -o jsonpath={.spec.suspend})" = true &&
	test -z "$(kubectl get pods -n $NS -l job-name=$job -o name)" &&
	uid=$(kubectl get job "$job" -n $NS -o jsonpath={.metadata.uid}) &&
	test "$(kubectl get workloads -n $NS -l kueue.x-k8s.io/job-uid=$uid -o jsonpath={.items[*].spec.podSets[*].count})" = 3 &&
	$DR delete "$job" >/dev/null
'

test_done
