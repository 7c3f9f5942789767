#!/bin/bash
# devrun and build-context submit -o json|yaml|name without a dry run: stdout
# is only the Job, so that `devrun -o json ... | jq` works whatever the
# command waits for.  Followed, it is
# the Job once the job controller has recorded the end (the local cluster lags
# like a real one here, so a Job printed at the pod's end would still be
# active); detached, the Job as created; stopped waiting, the Job as it is.
# The command's own output (the build log) then goes to stderr with the messages.
. "$(dirname "$0")/lib.sh"

if ! command -v busybox >/dev/null || ! command -v git >/dev/null; then
	test_skip "output tests" "needs busybox and git"
	test_done
fi
NS=eidf540ns
# claims bind after 60 s: pvc create --wait and a fetch into one wait long enough to be stopped
start_cluster --tenant $NS --eidf-policy --job-controller-lag 2 --bind-delay 60 || exit 1
. "$EIDF_SRC/tests/t/lib-devrun.sh"

test_expect_success 'setup' '
	git clone -q "$GIT_DAEMON_URL" w 2>/dev/null && cd w && git checkout -q -b main &&
	echo committed >data.txt && git add -A && git commit -q -m init && git push -q -u origin main
'

test_expect_success '--follow -o json: only the finished Job (Failed, exit code passed through); the output on stderr' '
	cd w &&
	test_expect_code 3 $DR $RES --follow -o json -- sh -c "echo out-line; exit 3" >../out 2>../err &&
	jq -e ".kind == \"Job\" and .status.failed == 1 and
		any(.status.conditions[]; .type == \"Failed\" and .status == \"True\")" ../out &&
	test_grep "^out-line$" ../err &&
	test_grep "failed: exit code 3" ../err
'

test_expect_success '--detach -o name: the created Job, one line' '
	cd w &&
	$DR $RES --detach -o name -- true >../out 2>../err &&
	test "$(cat ../out)" = "job.batch/$(job_of ../err)"
'

test_expect_success 'devrun list: newest first (the order of fetch list and build-context list, common/job_list.c)' '
	$DR list --no-headers >list && cat list &&
	test "$(wc -l <list)" = 2 &&
	test "$(sed -n "1s/ .*//p" list)" = "$(job_of err)"
'

test_expect_success '--timeout -o yaml --rm: the Job as it was when devrun stopped waiting, nothing else' '
	cd w &&
	test_expect_code 124 $DR $RES --follow --timeout 1s --rm -o yaml -- sleep 30 >../out 2>../err &&
	job=$(job_of ../err) &&
	test_grep "^kind: Job$" ../out &&
	test_grep "^  name: $job$" ../out &&
	test_must_fail grep -v "^ \|^[a-zA-Z]*:" ../out &&
	test_grep "timeout 1s reached" ../err
'

test_expect_success '-o wide is a table format: a usage error before anything is created' '
	cd w &&
	: >"$EIDF_CLUSTER_STATE/requests.jsonl" &&
	test_expect_code 2 $DR $RES -o wide -- true 2>../err &&
	test_grep "devrun list -o wide" ../err &&
	test "$(cluster_request_count "^POST ")" = 0
'

BC="kubectl-eidf-build_context -n $NS"
test_expect_success 'build-context submit -o json: only the Job as the build left it (Complete); the log on stderr' '
	mkdir ctx && echo "FROM scratch" >ctx/Dockerfile &&
	kubectl-eidf-build_context -n $NS submit ctx --image reg.example/x:1 --builder-image busybox:test \
		--cpu 100m --memory 128Mi "--executor-command=echo build-log-line" -o json >out 2>err &&
	jq -e ".kind == \"Job\" and .status.succeeded == 1 and
		any(.status.conditions[]; .type == \"Complete\" and .status == \"True\")" out &&
	test_grep "^build-log-line" err &&
	test_grep "^job.batch/build-context-[a-z0-9]* created" err &&
	kubectl-eidf-build_context -n $NS submit ctx --image reg.example/x:1 --builder-image busybox:test \
		--cpu 100m --memory 128Mi "--executor-command=true" --detach -o name >out 2>err &&
	test "$(cat out)" = "job.batch/$(sed -n "s|^job.batch/\([^ ]*\) created.*|\1|p" err)" &&
	test_grep "^follow it with:" err
'

test_expect_success 'build-context --timeout and Ctrl-C stop following while the build log streams (124 / 130, the build goes on)' '
	printf "echo building\nsleep 60\n" >slow.sh &&
	$BC submit ctx --image reg.example/x:1 --builder-image busybox:test --cpu 100m --memory 128Mi \
		"--executor-command=sh $TRASH/slow.sh" --detach >out 2>err &&
	job=$(sed -n "s|^job.batch/\([^ ]*\) created.*|\1|p" out) &&
	t0=$(date +%s) &&
	test_expect_code 124 $BC status --follow "$job" --timeout 3s >out 2>err &&
	# the build runs 60 s; the limit is the command'"'"'s, not the stream'"'"'s end
	test $(( $(date +%s) - t0 )) -lt 20 &&
	test_grep "^building" out &&
	test_grep "timeout 3s reached; job.batch/$job goes on" err &&
	{ ($BC status --follow "$job" >c.out 2>c.err & echo $! >c.pid; wait $!; echo $? >c.rc) & } &&
	wait_for 30 grep -q "^building" c.out &&
	kill -INT $(cat c.pid) &&
	wait_for 10 test -s c.rc &&
	test "$(cat c.rc)" = 130 &&
	test_grep "detached; job.batch/$job keeps running" c.err &&
	test_grep "follow it: *kubectl eidf build-context status --follow $job" c.err &&
	kubectl delete job -n $NS "$job" >/dev/null
'

test_expect_success 'pvc create --wait and fetch --wait: --timeout 124 and Ctrl-C 130 print what devrun prints' '
	test_expect_code 124 kubectl-eidf-pvc -n $NS create slow --size 1Gi --wait=2s >out 2>err &&
	test_grep "pvc: --wait=2s reached; persistentvolumeclaim/slow goes on" err &&
	test_grep "cancel it: *kubectl eidf pvc delete slow -n $NS" err &&
	{ (kubectl-eidf-pvc -n $NS create slow2 --size 1Gi --wait >p.out 2>p.err & echo $! >p.pid; wait $!; echo $? >p.rc) & } &&
	wait_for 30 grep -q "created" p.out &&
	kill -INT $(cat p.pid) && wait_for 10 test -s p.rc &&
	test "$(cat p.rc)" = 130 &&
	test_grep "pvc: detached; persistentvolumeclaim/slow2" p.err &&
	test_grep "follow it: *kubectl eidf pvc describe slow2 -n $NS" p.err &&
	{ (kubectl-eidf-fetch -n $NS https://127.0.0.1:9/x.bin --pvc slow --wait >f.out 2>f.err & echo $! >f.pid; wait $!; echo $? >f.rc) & } &&
	wait_for 30 grep -q "Pending\|Queued" f.err &&
	kill -INT $(cat f.pid) && wait_for 10 test -s f.rc &&
	test "$(cat f.rc)" = 130 &&
	job=$(sed -n "s|^job.batch/\([^ ]*\) created$|\1|p" f.out) &&
	test_grep "fetch: detached; job.batch/$job keeps running" f.err &&
	test_grep "cancel it: *kubectl eidf fetch delete $job -n $NS" f.err
'

test_done
