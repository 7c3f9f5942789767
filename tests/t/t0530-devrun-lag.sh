#!/bin/bash
# kubectl eidf devrun under job-controller lag, as on a real cluster: the pod
# ends seconds before the Job says Complete/Failed (and Kubernetes >= 1.30
# says SuccessCriteriaMet/FailureTarget first; unit/test_jobstate covers those).  A run that just ended is
# seen as ended: list says so, delete --finished removes it.
. "$(dirname "$0")/lib.sh"

if ! command -v busybox >/dev/null || ! command -v git >/dev/null; then
	test_skip "devrun cluster tests" "needs busybox and git"
	test_done
fi
NS=eidf042ns
if ! "$EIDF_CLUSTER_BIN" --help 2>/dev/null | grep -q -e --job-controller-lag; then
	test_skip "devrun under job-controller lag" "the local cluster has no --job-controller-lag"
	test_done
fi
# a lag long enough that every check below runs before the Job catches up
start_cluster --tenant $NS --eidf-policy --job-controller-lag 60 || exit 1
. "$EIDF_SRC/tests/t/lib-devrun.sh"

test_expect_success 'setup' '
	git clone -q "$GIT_DAEMON_URL" w 2>/dev/null && cd w && git checkout -q -b main &&
	echo committed >data.txt && git add -A && git commit -q -m init && git push -q -u origin main
'

test_expect_success 'a run that just succeeded: list says Succeeded and delete --finished removes it at once' '
	cd w &&
	$DR $RES --follow --name lag -- true >/dev/null 2>../err &&
	job=$(job_of ../err) &&
	$DR list >../list && cat ../list &&
	# the job controller has not caught up yet: the Job has no condition
	test -z "$(kubectl get job -n $NS "$job" -o jsonpath="{.status.conditions[?(@.type==\"Complete\")].status}")" &&
	test_grep "^$job  *Succeeded " ../list &&
	$DR delete --finished >../del 2>&1 && cat ../del &&
	test_grep "job.batch \"$job\" deleted" ../del
'

test_expect_success 'a run that just failed: list says Failed with its exit code, delete --finished sees it' '
	cd w &&
	test_expect_code 3 $DR $RES --follow --name lagf -- sh -c "exit 3" >/dev/null 2>../err &&
	job=$(job_of ../err) &&
	$DR list >../list && cat ../list &&
	test -z "$(kubectl get job -n $NS "$job" -o jsonpath="{.status.conditions[?(@.type==\"Failed\")].status}")" &&
	test_grep "^$job  *Failed  *[0-9a-f]*  *no  *[0-9a-z]*  *3 " ../list &&
	$DR delete --finished >../del 2>&1 &&
	test_grep "job.batch \"$job\" deleted" ../del
'

test_done
