#!/bin/bash
# kubectl eidf devrun end to end in the local test cluster (EIDF policy,
# Kueue stand-in), code served by git daemon on 127.0.0.1.
. "$(dirname "$0")/lib.sh"

if ! command -v busybox >/dev/null || ! command -v git >/dev/null; then
	test_skip "devrun cluster tests" "needs busybox and git"
	test_done
fi
NS=eidf989ns
start_cluster --tenant $NS --eidf-policy --gpu-quota 1 --missing-image-regex 'does-not-exist' || exit 1
. "$EIDF_SRC/tests/t/lib-devrun.sh"
# pod_of_job JOB: the Job's pod exists (its name in ../pod-name, from w/)
pod_of_job() {
	kubectl get pods -n $NS -l job-name="$1" -o jsonpath="{.items[0].metadata.name}" >../pod-name 2>/dev/null &&
		test -s ../pod-name
}

test_expect_success 'setup' '
	git clone -q "$GIT_DAEMON_URL" w 2>/dev/null && cd w && git checkout -q -b main &&
	printf "echo \"hello from \$(pwd)\"; cat data.txt; i=0; while [ \$i -lt \${2:-0} ]; do echo line \$i; i=\$((i+1)); sleep \${3:-0}; done; exit \${1:-0}\n" >job.sh &&
	echo committed >data.txt && git add -A && git commit -q -m init && git push -q -u origin main
'

test_expect_success 'clean tree: output streamed, exit code 0, <= 4 requests before streaming' '
	cd w && git stash list >/dev/null &&
	: >"$EIDF_CLUSTER_STATE/requests.jsonl" &&
	$DR $RES --follow -- sh job.sh 0 >../out 2>../err &&
	cat ../out ../err &&
	grep "^hello from /code$" ../out && grep "^committed$" ../out &&
	n=$(python3 -c "
import json
n = 0
for l in open(\"$EIDF_CLUSTER_STATE/requests.jsonl\"):
    r = json.loads(l)
    if \"/log\" in r[\"path\"]: break
    n += 1
print(n)") && echo "requests before streaming: $n" && test "$n" -le 4
'

test_expect_success 'local changes and a non-zero exit code passed through' '
	cd w && echo local >data.txt &&
	test_expect_code 3 $DR $RES --follow -- sh job.sh 3 >../out 2>../err &&
	grep "^local$" ../out && grep "exit code 3" ../err &&
	git checkout data.txt
'

test_expect_success 'image pull failure exits 127 quickly' '
	cd w &&
	start=$(date +%s) &&
	test_expect_code 127 $DR --image example.org/does-not-exist:1 --cpu 100m --memory 128Mi --rm --follow -- true 2>../err &&
	test $(( $(date +%s) - start )) -lt 30 &&
	grep "cannot pull image" ../err
'

test_expect_success 'image pull failure without --rm: the run is deleted, its GPU quota free again' '
	cd w &&
	test_expect_code 127 $DR --image example.org/does-not-exist:1 --cpu 100m --memory 128Mi --gpu 1 \
		--follow -- true 2>../err &&
	cat ../err &&
	grep "can never start; deleting its objects so that they hold no quota" ../err &&
	job=$(job_of ../err) && run=$(run_of ../err) &&
	test_must_fail kubectl get job -n $NS "$job" 2>/dev/null &&
	test -z "$(kubectl get secrets,pods -n $NS -l eidf.ac.uk/run=$run -o name)" &&
	# the namespace has one GPU: it is free for the next run
	test_expect_code 0 $DR $RES --gpu 1 --timeout 60s --follow -- true 2>../err2
'

test_expect_success '--keep-failed keeps it: list shows Failed, exit 127; delete --finished sees it' '
	cd w &&
	test_expect_code 127 $DR --image example.org/does-not-exist:1 --cpu 100m --memory 128Mi \
		--keep-failed --follow -- true 2>../err &&
	grep "kept job.batch/.* (--keep-failed)" ../err &&
	job=$(job_of ../err) &&
	kubectl get job -n $NS "$job" &&
	$DR list >../list && cat ../list &&
	grep "^$job  *Failed  *[0-9a-f]*  *no  *[0-9a-z]*  *127 " ../list &&
	$DR delete --finished >../del && grep "job.batch \"$job\" deleted" ../del &&
	test_must_fail kubectl get job -n $NS "$job" 2>/dev/null
'

test_expect_success 'a pod that does not start: the reason from its Warning events is shown' '
	cd w &&
	$DR $RES --gpu-product NVIDIA-Z100-TEST --allow-unknown-gpu-product --name stuck --detach -- true \
		>/dev/null 2>../st.err &&
	job=$(job_of ../st.err) && wait_for 30 pod_of_job "$job" &&
	pod=$(cat ../pod-name) &&
	printf "%s\n" "apiVersion: v1" "kind: Event" "metadata: {name: $pod.mount1, namespace: $NS}" \
		"involvedObject: {kind: Pod, name: $pod, namespace: $NS}" "type: Warning" "reason: FailedMount" \
		"message: \"MountVolume.SetUp failed for volume \\\"code\\\" : secret \\\"gone\\\" not found\"" \
		"lastTimestamp: \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"" >../event.yaml &&
	cluster_admin_kubectl create -f ../event.yaml >/dev/null &&
	test_expect_code 124 $DR attach "$job" --timeout 20s >/dev/null 2>../ev-err &&
	cat ../ev-err &&
	test_grep "pod $pod: FailedMount: MountVolume.SetUp failed for volume \"code\" : secret \"gone\" not found" ../ev-err &&
	$DR delete "$job" >/dev/null
'

test_expect_success 'queued (GPU quota exhausted) then admitted, in order' '
	cd w &&
	$DR $RES --gpu 1 --detach -- sleep 4 >../first 2>../first.err &&
	$DR $RES --gpu 1 --follow -- sh job.sh 0 >../out 2>../err &&
	cat ../err &&
	q=$(grep -n "queued in $NS-user-queue" ../err | head -1 | cut -d: -f1) &&
	a=$(grep -n "admitted" ../err | head -1 | cut -d: -f1) &&
	test -n "$q" && test -n "$a" && test "$q" -lt "$a"
'

test_expect_success 'log stream cut mid-run: no lost or duplicated lines' '
	cd w &&
	cluster_fault cut --path "/log" --bytes 60 --count 3 &&
	$DR $RES --follow -- sh job.sh 0 40 0.05 >../out 2>../err &&
	cluster_clear_faults &&
	grep "^line " ../out >../lines &&
	seq 0 39 | sed "s/^/line /" >../expect &&
	test_cmp ../expect ../lines
'

# The command would run for a minute: ending at all proves the eviction
# stopped it, however slowly a loaded machine lets the preemption through.
test_expect_success 'evicted mid-run: exit 126' '
	cd w
	($DR $RES --follow -- sh job.sh 0 600 0.1 >../ev.out 2>../ev.err; echo $? >../ev.rc) &
	wait_for 30 grep -q "^line 3" ../ev.out &&
	pod=$(sed -n "s/^devrun: running in pod //p" ../ev.err) &&
	cluster_evict "$pod" -n $NS &&
	wait_for 40 test -s ../ev.rc &&
	cat ../ev.err && test "$(cat ../ev.rc)" = 126 &&
	test_grep "pod $pod was stopped before the command ended: " ../ev.err &&
	test_grep -v "^line 599" ../ev.out
'

test_expect_success 'SIGINT detaches, the run goes on' '
	cd w
	($DR $RES --follow -- sh job.sh 0 30 0.1 >../si.out 2>../si.err & echo $! >../pid; wait) &
	wait_for 30 grep -q "^line 2" ../si.out &&
	kill -INT $(cat ../pid) &&
	wait_for 10 grep -q "detached" ../si.err &&
	grep "kubectl eidf devrun attach" ../si.err &&
	job=$(job_of ../si.err) &&
	test_expect_code 0 $DR attach "$job" >../ev.out2 2>../ev.err2 &&
	grep "^line 29$" ../ev.out2
'

test_expect_success '--rm deletes only this run'"'"'s objects' '
	cd w && echo changed >data.txt &&
	$DR $RES --detach --name keep -- true >/dev/null 2>../keep.err &&
	keep=$(job_of ../keep.err) &&
	$DR $RES --rm --follow --name keep -- true >/dev/null 2>../err &&
	gone=$(job_of ../err) && run=$(run_of ../err) &&
	cat ../err &&
	test_must_fail kubectl get job -n $NS "$gone" 2>/dev/null &&
	kubectl get job -n $NS "$keep" &&
	test -z "$(kubectl get secrets -n $NS -l eidf.ac.uk/run=$run -o name)" &&
	git checkout data.txt
'

# what `devrun list` shows for: -- sh -c "exit 0" "a b" "it's"
quoted_cmd="sh -c 'exit 0' 'a b' 'it'\\''s'"
test_expect_success 'list, logs and delete; COMMAND quoted as a shell would' '
	cd w &&
	$DR $RES --follow --name quoted -- sh -c "exit 0" "a b" "it'"'"'s" >/dev/null 2>&1 &&
	$DR list >../list && cat ../list && grep "^NAME" ../list && grep "Succeeded" ../list &&
	grep "^quoted-" ../list | grep -F -e "$quoted_cmd" &&
	job=$(sed -n 2p ../list | cut -d" " -f1) &&
	$DR logs "$job" >/dev/null &&
	$DR delete --finished >../del && grep deleted ../del
'

test_done
