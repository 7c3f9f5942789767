#!/bin/bash
# kubectl eidf fetch status/list/wait tell the truth: a failed Job shows how
# many files are done, why it failed and which files failed; states come from
# pods and conditions together (an Unschedulable pod is not Running); --wait
# follows by watches (it returns on the Job's end, not on a poll tick); a
# deterministic failure (sha256) fails the Job with one pod.
. "$(dirname "$0")/lib.sh"

if ! command -v busybox >/dev/null || ! command -v curl >/dev/null; then
	test_skip "fetch status tests" "needs busybox and curl"
	test_done
fi
NS=eidf330ns
# --job-controller-lag: the Job is marked Complete/Failed 2 s after its pods end
start_cluster --tenant $NS --eidf-policy --job-backoff 1 --job-controller-lag 2 || exit 1
FETCH="$EIDF_BIN/kubectl-eidf-fetch -n $NS"
export EIDF_FETCH_POLL_MS=300

mkdir -p root
. "$EIDF_SRC/tests/t/lib-fetch.sh"
start_data_server || { echo "Bail out! the data server did not start"; exit 1; }
for i in $(seq 16); do printf 'file %d\n' "$i" >root/f$i.bin; done
printf 'hello\n' >root/tiny.txt
head -c 3000000 /dev/urandom >root/big.bin

test_expect_success 'setup: a bound PVC' '
	cluster_bound_pvc data -n $NS
'

test_expect_success 'failed Job, 5 of 16 files: honest count, the cause, every failed file' '
	ctl reset=1 &&
	for i in $(seq 6 16); do ctl "path=/f$i.bin&status=500&status_times=1000" || return 1; done &&
	for i in $(seq 16); do echo "$BASE/f$i.bin"; done >list &&
	$FETCH --from-file list --pvc data --dest sixteen --retries 1 --backoff-limit 0 >out 2>err &&
	job=$(job_of out) && echo "$job" >job16 &&
	test_expect_code 1 $FETCH wait "$job" --timeout 60s 2>werr &&
	cat werr &&
	test_grep "Failed: HTTP 500 (11 files)" werr &&
	$FETCH status "$job" >st && cat st &&
	test_grep "^$job  *data  *5/16 .*Failed: HTTP 500 (11 files)$" st &&
	test_grep "^$job: 11 files failed:" st &&
	test "$(grep -c "^  f[0-9]*.bin: HTTP 500$" st)" = 5 &&
	test_grep "and 6 more (all of them: kubectl eidf fetch status $job -o wide)" st &&
	$FETCH status "$job" -o wide >wide &&
	for i in $(seq 6 16); do test_grep "^  f$i.bin: HTTP 500$" wide || return 1; done &&
	test_grep -v "f[1-5].bin:" wide
'

test_expect_success 'the progress bar of the failed Job is not full' '
	job=$(cat job16) &&
	$FETCH status --watch "$job" >w && cat w &&
	test_grep "\[#*-*\] 31%  *Failed: HTTP 500" w
'

test_expect_success 'wait follows by watches: done long before the next poll' '
	EIDF_FETCH_POLL_MS=600000 $FETCH "$BASE/tiny.txt" --pvc data --dest tiny --wait --timeout 60s >out 2>err &&
	cat err &&
	test_grep "^job.batch/.* complete$" out &&
	test_grep "1/1 files.*Complete" err
'

test_expect_success 'under job-controller lag: Completing between the pod and the Job, never Pending' '
	$FETCH "$BASE/tiny.txt" --pvc data --dest lag --wait --timeout 60s >out 2>err &&
	cat err &&
	test_grep "^job.batch/.* complete$" out &&
	sed -n "/Running\|Completing/,\$p" err >after &&
	test_grep -v "Pending" after &&
	test_grep "Completing$" err
'

test_expect_success 'an Unschedulable pod: list says Unschedulable, status says why, not Running' '
	$FETCH "$BASE/tiny.txt" --pvc data --dest huge --cpu 500 --memory 1Gi >out 2>err &&
	job=$(job_of out) &&
	wait_for 30 sh -c "kubectl -n $NS get pods -l job-name=$job -o jsonpath={.items[0].status.conditions[0].reason} | grep -q Unschedulable" &&
	$FETCH list >l && cat l &&
	test_grep "^$job  *data  *1  *1  *Unschedulable " l &&
	$FETCH status "$job" >st && cat st &&
	test_grep "Pending (Unschedulable)" st &&
	$FETCH delete "$job"
'

test_expect_success 'a failed fetch leaves a .part: list -o wide and status show it, delete --purge-partial removes it' '
	ctl reset=1 && ctl "path=/big.bin&drop_after=1000000&drop_times=10" &&
	# --extract: the download is an init container, the purge finds it there
	$FETCH "$BASE/big.bin" "$BASE/f1.bin" --pvc data --dest part --retries 1 --backoff-limit 0 --extract >out 2>err &&
	job=$(job_of out) &&
	test_expect_code 1 $FETCH wait "$job" --timeout 60s 2>werr &&
	vol=$(cluster_volume_dir data -n $NS) &&
	test -f "$vol/part/big.bin.part" && test -f "$vol/part/f1.bin" &&
	$FETCH list -o wide >l && cat l &&
	test_grep "PARTIAL" l &&
	test_grep "^$job .* Failed .* 1 (" l &&
	$FETCH status "$job" >st && cat st &&
	test_grep "1 .part file (.*) left on the PVC; remove them with: kubectl eidf fetch delete $job --purge-partial" st &&
	$FETCH delete "$job" --purge-partial >d 2>derr && cat d derr &&
	test_grep "^removed 1 .part file (.*) of $job from pvc/data:/part$" d &&
	test_grep "^job.batch \"$job\" deleted" d &&
	test ! -e "$vol/part/big.bin.part" && test -f "$vol/part/f1.bin" &&
	test_expect_code 1 $FETCH status "$job" 2>/dev/null
'

test_expect_success '--purge-partial refuses a fetch that is still running' '
	ctl reset=1 && ctl "path=/big.bin&rate=100000" &&
	$FETCH "$BASE/big.bin" --pvc data --dest slow >out 2>err &&
	job=$(job_of out) &&
	wait_for 30 sh -c "$FETCH status $job | grep -q Running" &&
	test_expect_code 1 $FETCH delete "$job" --purge-partial 2>derr &&
	test_grep "is Running: its .part files are still in use" derr &&
	$FETCH status "$job" >/dev/null &&
	$FETCH delete "$job"
'

test_expect_success 'sha256 mismatch: the Job fails at once with one pod (podFailurePolicy), one download' '
	ctl reset=1 &&
	$FETCH "$BASE/tiny.txt" --sha256 "$(sha root/f1.bin)" --pvc data --dest bad --backoff-limit 3 >out 2>err &&
	job=$(job_of out) &&
	test_expect_code 1 $FETCH wait "$job" --timeout 60s 2>werr &&
	test_grep "Failed: sha256 mismatch (1 file)" werr &&
	kubectl -n $NS get pods -l job-name=$job -o name >pods && cat pods &&
	test "$(wc -l <pods)" = 1 &&
	test "$(curl -fsS "$BASE/_stats" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"/tiny.txt\"][\"requests\"])")" = 1
'

test_done
