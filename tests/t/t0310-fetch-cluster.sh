#!/bin/bash
# kubectl eidf fetch end to end in the local test cluster (EIDF policy on),
# downloading from the test data server on 127.0.0.1.
. "$(dirname "$0")/lib.sh"

if ! command -v busybox >/dev/null || ! command -v curl >/dev/null; then
	test_skip "fetch cluster tests" "needs busybox and curl"
	test_done
fi
NS=eidf989ns
start_cluster --tenant $NS --eidf-policy --job-backoff 1 || exit 1
FETCH="$EIDF_BIN/kubectl-eidf-fetch -n $NS"
export EIDF_FETCH_POLL_MS=300
MiB=1048576

mkdir -p root
. "$EIDF_SRC/tests/t/lib-fetch.sh"
start_data_server || { echo "Bail out! the data server did not start"; exit 1; }
gen() { head -c "$2" /dev/urandom >"root/$1"; }

gen a.bin $((2 * MiB + 777))
gen slow.bin $((6 * MiB))
for i in 1 2 3 4 5 6 7 8 9; do gen "p$i.bin" $((200000 + i * 1000)); done

test_expect_success 'setup: a bound PVC' '
	cluster_bound_pvc data -n $NS &&
	cluster_volume_dir data -n $NS >voldir &&
	test -d "$(cat voldir)"
'
VOL() { cat "$TRASH/voldir"; }

test_expect_success 'single URL: returns at once, then wait exits 0; bytes equal, marker written' '
	ctl reset=1 &&
	$FETCH "$BASE/a.bin" --sha256 "$(sha root/a.bin)" --pvc data --dest sets \
		--progress-interval 1 >out 2>err &&
	cat out err &&
	job=$(job_of out) && test -n "$job" && echo "$job" >job1 &&
	test_grep "kubectl eidf fetch status $job" err &&
	$FETCH wait "$job" --timeout 60s >wout 2>werr &&
	test_grep "complete" wout &&
	cmp root/a.bin "$(VOL)/sets/a.bin" &&
	test_grep "\"sha256\":\"$(sha root/a.bin)\"" "$(VOL)/sets/.eidf-fetch/a.bin.json" &&
	test "$(srv_stat /a.bin bytes)" = $((2 * MiB + 777))
'

test_expect_success 'status: numbers match the server counters' '
	job=$(cat job1) &&
	$FETCH status "$job" >out &&
	cat out &&
	test_grep "^JOB  *PVC  *FILES  *BYTES  *RATE  *ETA  *STATE" out &&
	test_grep "^$job  *data  *1/1  *2MiB/2MiB .*Complete" out &&
	$FETCH status >all && test_grep "^$job " all
'

test_expect_success 're-run of the same fetch (--wait) downloads nothing' '
	ctl reset=1 &&
	$FETCH "$BASE/a.bin" --sha256 "$(sha root/a.bin)" --pvc data --dest sets --wait --timeout 60s >out 2>err &&
	test_grep "^job.batch/$(job_of out) complete" out &&
	$FETCH logs "$(job_of out)" >log &&
	test_grep "already complete" log &&
	test "$(srv_stat /a.bin requests)" = 0
'

test_expect_success '-o json --wait: stdout is only the finished Job, once; messages on stderr' '
	$FETCH "$BASE/p1.bin" --pvc data --dest ojson -o json --wait >out 2>err &&
	python3 -c "import json,sys; j=json.load(open(\"out\")); sys.exit(j[\"kind\"] != \"Job\" or j[\"status\"].get(\"succeeded\") != 1)" &&
	test_grep "job.batch/fetch-[a-z0-9]* complete" err &&
	$FETCH "$BASE/p2.bin" --pvc data --dest ojson -o name --wait >out 2>err &&
	test "$(wc -l <out)" = 1 && test_grep "^job.batch/fetch-[a-z0-9]*$" out
'

test_expect_success 'wrong checksum: wait exits 1, final name never appears, status says why' '
	ctl reset=1 &&
	$FETCH "$BASE/p1.bin" --sha256 "$(sha root/a.bin)" --pvc data --dest bad --backoff-limit 0 >out 2>err &&
	job=$(job_of out) &&
	test_expect_code 1 $FETCH wait "$job" --timeout 60s 2>werr &&
	test_grep "sha256 mismatch" werr &&
	test ! -e "$(VOL)/bad/p1.bin" &&
	$FETCH status "$job" >st && cat st &&
	test_grep "Failed: sha256 mismatch (1 file)$" st &&
	test_grep "^  p1.bin: sha256 mismatch$" st
'

test_expect_success '--parallel 3 with 9 URLs: Indexed Job, each file exactly once, status aggregates' '
	ctl reset=1 &&
	for i in 1 2 3 4 5 6 7 8 9; do echo "$BASE/p$i.bin $(sha root/p$i.bin)"; done >nine.list &&
	$FETCH --pvc data --dest par --from-file nine.list --parallel 3 >out 2>err &&
	job=$(job_of out) &&
	kubectl -n $NS get job "$job" -o jsonpath="{.spec.completionMode} {.spec.completions} {.spec.parallelism}" >mode &&
	test "$(cat mode)" = "Indexed 3 3" &&
	$FETCH wait "$job" --timeout 90s &&
	sum=0 &&
	for i in 1 2 3 4 5 6 7 8 9; do
		cmp root/p$i.bin "$(VOL)/par/p$i.bin" &&
		test "$(srv_stat /p$i.bin requests)" = 1 || return 1
		sum=$((sum + 200000 + i * 1000))
	done &&
	test "$(total_bytes)" = $sum &&
	$FETCH status "$job" >st && cat st &&
	test_grep "^$job  *data  *9/9 .*Complete" st
'

test_expect_success 'pod killed mid-download: the retry resumes from the .part' '
	# the server holds the body at 4 MiB until released, so the pod is
	# killed mid-download however slow or fast the machine is
	ctl reset=1 && ctl "path=/slow.bin&rate=1500000&hold_at=$((4 * MiB))" &&
	$FETCH "$BASE/slow.bin" --sha256 "$(sha root/slow.bin)" --pvc data --dest kill \
		--progress-interval 1 >out 2>err &&
	job=$(job_of out) &&
	for _ in $(seq 300); do
		s=$(stat -c %s "$(VOL)/kill/slow.bin.part" 2>/dev/null || echo 0)
		[ "$s" -gt $((2 * MiB)) ] && break
		sleep 0.1
	done &&
	$FETCH status "$job" >st1 && cat st1 &&
	test_grep "Running" st1 && test_grep "[KM]iB/s" st1 &&
	pod=$(kubectl -n $NS get pods -l job-name=$job -o jsonpath="{.items[0].metadata.name}") &&
	cluster_kill "$pod" &&
	ctl "path=/slow.bin&hold_at=0" &&
	$FETCH wait "$job" --timeout 90s &&
	cmp root/slow.bin "$(VOL)/kill/slow.bin" &&
	test "$(srv_stat /slow.bin requests)" -ge 2 &&
	sent=$(srv_stat /slow.bin bytes) && echo "sent $sent for $((6 * MiB))" &&
	test $((sent - 6 * MiB)) -le $MiB &&
	$FETCH logs "$job" >log && test_grep "resuming at byte" log
'

test_expect_success 'logs --tail, status --watch on finished jobs, job name completion' '
	job=$(cat job1) &&
	$FETCH logs "$job" --tail 1 >log && test_grep "^eidf-fetch done files=1/1" log &&
	test "$(wc -l <log)" = 1 &&
	timeout 20 $FETCH status --watch "$job" >w && test_grep "Complete" w &&
	$EIDF_BIN/kubectl-eidf-fetch __complete -n $NS wait "" >c && cat c &&
	test_grep "^$job	Complete into data" c
'

test_expect_success 'list, delete --completed, dry-run=server' '
	$FETCH list >l && cat l &&
	test_grep "^NAME  *PVC  *FILES  *PODS  *STATE  *AGE" l &&
	test_grep " Failed " l && test_grep " Complete " l &&
	$FETCH "$BASE/a.bin" --pvc data --dry-run=server >out &&
	test_grep "created (server dry run)" out &&
	$FETCH delete --completed >d && cat d &&
	test_grep "deleted" d &&
	$FETCH list >l2 && test_grep -v " Complete " l2 &&
	test_expect_code 1 $FETCH wait fetch-nope 2>err && test_grep "not found" err
'

test_expect_success 'presigned URL: the list travels in a Secret owned by the Job, not in its env' '
	ctl reset=1 &&
	$FETCH "$BASE/p2.bin?X-Amz-Signature=topsecret42" --name p2.bin --pvc data --dest sig \
		--wait --timeout 60s >out 2>err &&
	job=$(sed -n "s|^job.batch/\([^ ]*\) complete$|\1|p" out) && test -n "$job" &&
	cmp root/p2.bin "$(VOL)/sig/p2.bin" &&
	kubectl -n $NS get job "$job" -o json >job.json &&
	test_grep -v topsecret42 job.json && test_grep -v topsecret42 err &&
	sec=$(kubectl -n $NS get job "$job" -o jsonpath="{.spec.template.spec.volumes[?(@.name==\"fetch-list\")].secret.secretName}") &&
	test -n "$sec" &&
	kubectl -n $NS get secret "$sec" -o jsonpath="{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}" >owner &&
	test "$(cat owner)" = "Job/$job" &&
	kubectl -n $NS get secret "$sec" -o jsonpath="{.data.list}" | base64 -d >list &&
	test_grep "topsecret42" list
'

test_expect_success '--wait follows by watches: a small file returns long before the next poll would be due' '
	echo hello >root/six.txt &&
	t0=$(date +%s) &&
	EIDF_FETCH_POLL_MS=600000 $FETCH "$BASE/six.txt" --pvc data --dest six --wait >out 2>err &&
	# polling alone would wait 10 minutes; the Job and pod watches wake it at once
	test $(( $(date +%s) - t0 )) -lt 60 &&
	test_grep "^job.batch/$(job_of out) complete" out
'

test_expect_success 'missing PVC: clear error, nothing created' '
	test_expect_code 1 $FETCH "$BASE/a.bin" --pvc nope 2>err &&
	test_grep "PVC \"nope\" not found" err &&
	test_grep "kubectl eidf pvc create nope" err
'

test_done
