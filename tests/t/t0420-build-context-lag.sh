#!/usr/bin/env bash
# kubectl eidf build-context under job-controller lag, as on a real cluster:
# the build pod ends seconds before the Job says Complete/Failed.  submit
# --follow, status --follow and status read the build's state from its pods
# and its Job together (common/jobstate), so a build that ended is reported
# at once, with its exit code.
. "$(dirname "$0")/lib.sh"

if ! command -v busybox >/dev/null; then
	test_skip "build-context under job-controller lag" "needs busybox"
	test_done
fi
NS=eidf042ns
# a lag long enough that every check below runs before the Job catches up
start_cluster --tenant $NS --eidf-policy --job-controller-lag 60 || exit 1
BC="kubectl-eidf-build_context"
RES="--builder-image busybox:test --cpu 100m --memory 128Mi"
job_of() { sed -n 's|^job.batch/\([^ ]*\) created.*|\1|p' "$1"; }
# no_condition JOB TYPE: the job controller has not recorded the end yet
no_condition() {
	test -z "$(kubectl get job "$1" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].status}")"
}

test_expect_success 'setup: a context and two stand-in executors' '
	mkdir ctx && printf "FROM scratch\n" >ctx/Dockerfile &&
	echo "echo built" >ok.sh &&
	printf "echo \"error: step 2/3 failed\" >&2; exit 7\n" >fail.sh
'

test_expect_success 'a build that succeeded: submit --follow exits 0 before the Job says Complete; status agrees' '
	$BC submit ctx --image reg.example/me/app:1 $RES "--executor-command=sh $TRASH/ok.sh" >out 2>err &&
	job=$(job_of out) && test -n "$job" &&
	no_condition "$job" Complete &&
	test_grep "^built$" out &&
	test_grep "job/$job: build succeeded" err &&
	$BC status --follow "$job" >sout 2>serr &&
	test_grep "job/$job: build succeeded" serr &&
	$BC status "$job" >st &&
	test_grep "^job/$job: build succeeded$" st &&
	no_condition "$job" Complete
'

test_expect_success 'a build that failed: its exit code and reason before the Job says Failed' '
	test_expect_code 7 $BC submit ctx --image reg.example/me/app:2 $RES "--executor-command=sh $TRASH/fail.sh" \
		>out 2>err &&
	job=$(job_of out) && test -n "$job" &&
	no_condition "$job" Failed &&
	test_grep "container build exited with code 7" err &&
	test_expect_code 7 $BC status --follow "$job" >sout 2>serr &&
	test_grep "container build exited with code 7" serr &&
	test_expect_code 7 $BC status "$job" 2>serr2 &&
	no_condition "$job" Failed
'

test_done
