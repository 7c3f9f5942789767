#!/bin/bash
# Every command that waits on work in the cluster rides out an API server
# outage (docs/waiting.md): refused or reset connections, a restart that drops
# every watch, 429/503 with Retry-After, a log stream cut mid-line.  The exit
# code is the one the command has without the outage, followed logs show each
# line once, and only after --reconnect-timeout does a command stop waiting
# (exit 124, the follow/cancel hints, the Job going on).  t0707: one 20 s
# outage ridden out by fetch, devrun and build-context at once.
. "$(dirname "$0")/lib.sh"

. "$EIDF_SRC/tests/t/lib-outage.sh"
outage_setup --devrun busybox curl git
MiB=1048576
outage_pvc

test_expect_success 'fetch wait rides out refused connections: exit 0, lost and back said once' '
	job=$(held_fetch o1) && test -n "$job" &&
	bg w1 $FETCH wait "$job" --timeout 120s &&
	wait_for 30 grep -q "^$job: " w1.err &&
	cluster_outage 3 refuse &&
	wait_for 20 grep -q "^lost the API server" w1.err &&
	cluster_wait_up 20 &&
	ctl "path=/slow.bin&hold_at=0" &&
	wait_for 90 test -s w1.rc &&
	cat w1.err &&
	test "$(cat w1.rc)" = 0 &&
	# refused, or the watch cut as the server went away
	lost_once w1.err ".*" &&
	test_grep "retrying — job.batch/$job keeps running" w1.err &&
	back_once w1.err &&
	test_grep "^job.batch/$job complete" w1.out
'

test_expect_success 'fetch --wait and logs -f through reset connections and a cut log stream: each log line once' '
	ctl reset=1 && ctl "path=/slow.bin&hold_at=$MiB" &&
	bg w2 $FETCH "$BASE/slow.bin" --sha256 "$(sha root/slow.bin)" --pvc data --dest o2 \
		--progress-interval 1 --wait &&
	wait_for 30 grep -q "^job.batch/.* created" w2.out &&
	job=$(job_of w2.out) &&
	wait_for 30 sh -c "kubectl logs -n $NS job/$job | grep -q progress" &&
	# the log stream is cut after 100 bytes (mid-line), then the server resets connections
	cluster_fault cut --bytes 100 --path "pods/.*/log" --count 1 &&
	bg l2 $FETCH logs -f "$job" &&
	# eval: the count is taken again at every try, not once when wait_for is called
	wait_for 20 eval "test \"\$(cluster_request_count \"GET .*/log.*follow=true\")\" -ge 2" &&
	cluster_outage 3 reset &&
	wait_for 20 grep -q "^lost the API server" l2.err &&
	cluster_wait_up 20 &&
	ctl "path=/slow.bin&hold_at=0" &&
	wait_for 90 test -s w2.rc && wait_for 30 test -s l2.rc &&
	cat w2.err l2.err &&
	test "$(cat w2.rc)" = 0 && test "$(cat l2.rc)" = 0 &&
	test_grep "^job.batch/$job complete" w2.out &&
	kubectl logs -n $NS "job/$job" >expect &&
	test_cmp expect l2.out &&
	lost_once l2.err "connection reset by peer" && back_once l2.err
'

test_expect_success 'status --watch and wait through an API server restart (every watch dropped)' '
	job=$(held_fetch o3) && test -n "$job" &&
	bg w3 $FETCH wait "$job" &&
	bg s3 $FETCH status --watch "$job" &&
	wait_for 30 grep -q "^$job: " w3.err &&
	wait_for 30 grep -q "$job" s3.out &&
	cluster_restart 1 &&
	cluster_wait_up 20 &&
	ctl "path=/slow.bin&hold_at=0" &&
	wait_for 90 test -s w3.rc && wait_for 30 test -s s3.rc &&
	test "$(cat w3.rc)" = 0 && test "$(cat s3.rc)" = 0 &&
	tail -n 3 s3.out >last && test_grep "Complete" last
'

test_expect_success '429 and 503 with Retry-After are waited out, Retry-After honoured' '
	# two Jobs waited for at once: o5 (503 six times) in the background
	# while o4 (429 twice, Retry-After 2 s) is timed in the foreground
	job=$(held_fetch o4) && test -n "$job" &&
	job5=$(held_fetch o5) && test -n "$job5" &&
	ctl "path=/slow.bin&hold_at=0" &&
	cluster_fault fail --status 429 --retry-after 2 --count 2 --path "jobs/$job\$" &&
	cluster_fault fail --status 503 --count 6 --path "jobs/$job5\$" &&
	bg w5 $FETCH wait "$job5" --timeout 120s &&
	t0=$(date +%s%N) &&
	$FETCH wait "$job" --timeout 120s >w4.out 2>w4.err &&
	ms=$(( ($(date +%s%N) - t0) / 1000000 )) && cat w4.err && echo "waited $ms ms" &&
	lost_once w4.err "429 Too Many Requests" && back_once w4.err &&
	test "$ms" -ge 4000 &&
	wait_for 90 test -s w5.rc && cat w5.err &&
	test "$(cat w5.rc)" = 0 &&
	lost_once w5.err "503 Service Unavailable" && back_once w5.err
'

test_expect_success 'away longer than --reconnect-timeout: exit 124, the hints, the Job goes on' '
	job=$(held_fetch o6) && test -n "$job" &&
	bg w6 $FETCH wait "$job" --reconnect-timeout 2s &&
	wait_for 30 grep -q "^$job: " w6.err &&
	# the server stays away until the command has given up (60 s at most)
	cluster_outage 60 refuse &&
	wait_for 30 test -s w6.rc &&
	cluster_outage_end &&
	cat w6.err &&
	test "$(cat w6.rc)" = 124 &&
	test_grep "unreachable for .*gave up (--reconnect-timeout)" w6.err &&
	test_grep "fetch: stopped waiting without the API server (--reconnect-timeout); job.batch/$job goes on" w6.err &&
	test_grep "follow it: *kubectl eidf fetch wait $job -n $NS" w6.err &&
	test_grep "cancel it: *kubectl eidf fetch delete $job -n $NS" w6.err &&
	ctl "path=/slow.bin&hold_at=0" &&
	$FETCH wait "$job" --timeout 120s
'

test_expect_success 'one-shot commands still fail fast with kubectl'"'"'s message' '
	# the server stays away until the command has answered (60 s at most)
	cluster_outage 60 refuse &&
	t0=$(date +%s%N) &&
	test_expect_code 1 $FETCH list 2>err &&
	ms=$(( ($(date +%s%N) - t0) / 1000000 )) &&
	cluster_outage_end &&
	test_grep "The connection to the server .* was refused" err &&
	test_must_fail grep -q "lost the API server" err &&
	test "$ms" -lt 4000
'

test_expect_success '--timeout and Ctrl-C while waiting: 124 / 130 with the hints, the Job goes on' '
	job=$(held_fetch o7) && test -n "$job" &&
	test_expect_code 124 $FETCH wait "$job" --timeout 2s 2>t7.err &&
	test_grep "fetch: --timeout 2s reached; job.batch/$job goes on" t7.err &&
	test_grep "follow it: *kubectl eidf fetch wait $job -n $NS" t7.err &&
	bg c7 $FETCH wait "$job" &&
	wait_for 30 grep -q "^$job: " c7.err &&
	kill -INT $(pgrep -n -f "kubectl-eidf-fetch -n $NS wait $job") &&
	wait_for 10 test -s c7.rc &&
	test "$(cat c7.rc)" = 130 &&
	test_grep "fetch: detached; job.batch/$job keeps running" c7.err &&
	test_grep "its logs: *kubectl eidf fetch logs $job -n $NS -f" c7.err &&
	kubectl get job -n $NS "$job"
'

test_expect_success 'pvc create --wait rides out more 503s than a one-shot request would retry' '
	# 6: one more than a one-shot request tries
	cluster_fault fail --status 503 --count 6 --path "persistentvolumeclaims.*watch" &&
	kubectl-eidf-pvc -n $NS create p9 --size 1Gi --wait=60s >p9.out 2>p9.err &&
	cat p9.err &&
	test_grep "^persistentvolumeclaim/p9 bound" p9.out &&
	lost_once p9.err "503 Service Unavailable" && back_once p9.err
'

test_done
