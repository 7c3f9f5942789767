#!/bin/bash
# fetch --segments: one file as byte ranges over several connections written
# at their offsets into one .part, each segment resumed on its own (drops,
# resets, a killed process, a killed pod), the whole file's sha256 verified;
# spread over the pods of an Indexed Job; one connection without Range support.
. "$(dirname "$0")/lib.sh"

BUSYBOX=$(command -v busybox || true)
if [ -z "$BUSYBOX" ] || ! command -v curl >/dev/null; then
	test_skip "fetch segment tests" "needs busybox and curl"
	test_done
fi
SCRIPT=$EIDF_SRC/plugins/fetch/fetch-job.sh
MiB=1048576
. "$EIDF_SRC/tests/t/lib-fetch.sh"
start_data_server || { echo "Bail out! the data server did not start"; exit 1; }
gen() { head -c "$2" /dev/urandom >"root/$1"; }
gen big.bin $((8 * MiB + 4321))
gen norange.bin $((3 * MiB))
gen spread.bin $((6 * MiB + 99))

BB=$TRASH/bb
mkdir -p "$BB" pvc
"$BUSYBOX" --install -s "$BB"
rm -f "$BB/wget" "$BB/curl"
ln -s "$(command -v curl)" "$BB/curl"
run_job() {
	env -i PATH="$BB" HOME=/tmp EIDF_FETCH_LIST="$EIDF_FETCH_LIST" \
		"$BUSYBOX" sh -c "$(cat "$SCRIPT")" fetch-job --backoff 0 --interval 1 --segment-chunk $MiB "$@"
}
line() { printf '%s\t%s\t%s' "$BASE/$1" "$(sha "root/$1")" "$1"; }
sent_over() { echo $(($(srv_stat "/$1" bytes) - $(stat -c %s "root/$1"))); }

test_expect_success '4 segments: 4 connections at once, one .part, sha256 of the whole file, state removed' '
	ctl reset=1 &&
	EIDF_FETCH_LIST=$(line big.bin) run_job --dest "$TRASH/pvc/a" --segments 4 >out 2>&1 &&
	cat out &&
	cmp root/big.bin pvc/a/big.bin &&
	test_grep "big.bin: $((8 * MiB + 4321)) bytes in 4 segments, 4 of them by this pod" out &&
	test_grep "big.bin: complete ($((8 * MiB + 4321)) bytes, size verified, sha256 verified)" out &&
	test ! -e pvc/a/big.bin.part && test ! -e pvc/a/.eidf-fetch/big.bin.segs &&
	test "$(sent_over big.bin)" = 1 &&
	test "$(srv_stat /big.bin requests)" = 13 # the probe + 4 x 3 ranges of <= 1 MiB
'

test_expect_success 'drops and TCP resets in several segments: each resumes at its byte, <= 1 MiB re-sent per drop' '
	ctl reset=1 && ctl "path=/big.bin&drop_after=300000&drop_times=3" &&
	EIDF_FETCH_LIST=$(line big.bin) run_job --dest "$TRASH/pvc/b" --segments 4 >out 2>&1 &&
	cmp root/big.bin pvc/b/big.bin &&
	# the server drops its next 3 requests (the probe is one): which
	# segments they hit depends on arrival order, so count the failures
	test "$(grep -c "segment [0-3]: attempt [0-9]* failed (curl exit 18" out)" -ge 2 &&
	over=$(sent_over big.bin) && echo "re-sent $over" && test "$over" -le $((3 * MiB)) &&
	ctl reset=1 && ctl "path=/big.bin&drop_after=300000&drop_times=3&drop_rst=1" &&
	EIDF_FETCH_LIST=$(line big.bin) run_job --dest "$TRASH/pvc/c" --segments 4 >out 2>&1 &&
	cmp root/big.bin pvc/c/big.bin &&
	test "$(grep -c "segment [0-3]: attempt [0-9]* failed" out)" -ge 2 &&
	over=$(sent_over big.bin) && echo "re-sent $over" && test "$over" -le $((3 * MiB))
'

test_expect_success 'a killed process: the next run resumes every segment from the state on the volume' '
	ctl reset=1 && ctl "path=/big.bin&hold_at=$((7 * MiB))" &&
	# its own session: the kill takes the script, its curls and dds at once
	setsid "$BUSYBOX" sh -c "echo \$\$ >\"\$0\"; exec \"\$@\"" "$TRASH/pgid" \
		env -i PATH="$BB" HOME=/tmp EIDF_FETCH_LIST="$(line big.bin)" "$BUSYBOX" sh -c "$(cat "$SCRIPT")" \
		fetch-job --backoff 0 --interval 1 --segment-chunk $MiB --dest "$TRASH/pvc/k" --segments 4 >kout 2>&1 &
	bg=$! &&
	wait_for 10 test -s pgid &&
	# segments 0-2 done (2098233 bytes each), segment 3 held at 7 MiB after its first 1 MiB range
	segs=pvc/k/.eidf-fetch/big.bin.segs &&
	wait_for 60 sh -c "for i in 0 1 2; do test \"\$(cat $segs/\$i 2>/dev/null)\" = 2098233 || exit 1; done" &&
	wait_for 30 sh -c "test \"\$(cat $segs/3 2>/dev/null)\" -ge $MiB" &&
	kill -KILL -- -"$(cat pgid)" &&
	{ wait "$bg"; true; } &&
	ctl "path=/big.bin&hold_at=0" &&
	before=$(srv_stat /big.bin bytes) &&
	EIDF_FETCH_LIST=$(line big.bin) run_job --dest "$TRASH/pvc/k" --segments 4 >out 2>&1 &&
	cat out &&
	cmp root/big.bin pvc/k/big.bin &&
	test_grep "sha256 verified" out &&
	again=$(($(srv_stat /big.bin bytes) - before)) && echo "second run: $again bytes" &&
	# what is left of segment 3, plus the trickle the server may still count
	# on the killed connection after "before" was read (1 KiB a step)
	test "$again" -le $((8392929 - 3 * 2098233 - MiB + 65536)) &&
	over=$(sent_over big.bin) && echo "re-sent $over" && test "$over" -le $MiB
'

test_expect_success 'segment state is trusted only with its .part, and a .part with holes is never resumed by -C -' '
	ctl reset=1 &&
	size=$(stat -c %s root/big.bin) &&
	mkdir -p pvc/st/.eidf-fetch/big.bin.segs &&
	printf "%s 2 %s\n" "$size" "$BASE/big.bin" >pvc/st/.eidf-fetch/big.bin.segs/plan &&
	echo $((size / 2)) >pvc/st/.eidf-fetch/big.bin.segs/0 && echo $((size / 2)) >pvc/st/.eidf-fetch/big.bin.segs/1 &&
	EIDF_FETCH_LIST=$(line big.bin) run_job --dest "$TRASH/pvc/st" --segments 2 >out 2>&1 &&
	cmp root/big.bin pvc/st/big.bin &&
	rm -r pvc/st && mkdir -p pvc/st/.eidf-fetch/big.bin.segs &&
	printf "%s 2 %s\n" "$size" "$BASE/big.bin" >pvc/st/.eidf-fetch/big.bin.segs/plan &&
	head -c 100 /dev/zero >pvc/st/big.bin.part && truncate -s $((size / 2)) pvc/st/big.bin.part &&
	EIDF_FETCH_LIST=$(line big.bin) run_job --dest "$TRASH/pvc/st" >out 2>&1 &&
	test_grep "the .part was written in segments; downloading on one connection from byte 0" out &&
	cmp root/big.bin pvc/st/big.bin && test ! -e pvc/st/.eidf-fetch/big.bin.segs
'

test_expect_success 'a server without Range support: one connection, said once' '
	ctl reset=1 && ctl "path=/norange.bin&no_range=1" &&
	EIDF_FETCH_LIST=$(line norange.bin) run_job --dest "$TRASH/pvc/n" --segments 4 >out 2>&1 &&
	cmp root/norange.bin pvc/n/norange.bin &&
	test "$(grep -c "does not answer byte ranges (HTTP 200): one connection" out)" = 1 &&
	test "$(srv_stat /norange.bin requests)" = 2
'

# --segments auto decides per file from what the list and the server say:
# a file of 64 MiB or more that the server answers byte ranges for is split,
# one segment per 16 MiB, at most 8; a smaller one, or one from a server that
# answers 200 to a range, gets one connection.  The big files are sparse and
# the server fails every request after the probe (404: not retried), so the
# plan shows in the Range headers the server received and nothing is
# downloaded.
sparse() { truncate -s "$2" "root/$1"; }
# the Range headers a path received, sorted ("-" for none)
asked() {
	curl -fsS "$BASE/_stats" | python3 -c 'import json,sys
s = json.load(sys.stdin).get(sys.argv[1], {})
print(" ".join(sorted(s.get("ranges", []))) or "-")' "/$1"
}
# want_ranges SEGLEN N: the Range headers of the probe and of the first
# request (1 MiB: run_job's --segment-chunk) of each of N segments of
# SEGLEN bytes, as asked() prints them
starts() {
	for i in $(seq 0 $(($2 - 1))); do a=$((i * $1)); echo "bytes=$a-$((a + MiB - 1))"; done
	echo "bytes=0-0"
}
want_ranges() { starts "$@" | sort | tr "\n" " " | sed "s/ \$//"; }
sparse auto64.bin $((64 * MiB))
sparse auto200.bin $((200 * MiB))
# auto_run NAME [LIST FIELDS]: --segments auto into a new directory, with
# every request after the first SKIP (1: the probe) failing; exit 4 expected
auto_run() {
	ctl reset=1 && ctl "path=/$1&status=404&status_times=99&status_skip=${SKIP:-1}${SWITCH:-}" || return 1
	EIDF_FETCH_LIST="$(printf '%s\t-\t%s%s' "$BASE/$1" "$1" "${2:-}")" \
		test_expect_code 4 run_job --dest "$(mktemp -d "$TRASH/pvc/auto.XXXXXX")" --segments auto >out 2>&1
	rc=$?
	cat out
	return $rc
}

test_expect_success 'auto: 64 MiB (the threshold) with ranges: 4 segments of 16 MiB, planned from the probe' '
	auto_run auto64.bin &&
	test_grep "auto64.bin: $((64 * MiB)) bytes in 4 segments, 4 of them by this pod" out &&
	test "$(srv_stat /auto64.bin requests)" = 5 &&
	test "$(asked auto64.bin)" = "$(want_ranges $((16 * MiB)) 4)"
'

test_expect_success 'auto: 200 MiB: 8 segments (the most auto takes), each 25 MiB' '
	auto_run auto200.bin &&
	test_grep "auto200.bin: $((200 * MiB)) bytes in 8 segments" out &&
	test "$(asked auto200.bin)" = "$(want_ranges $((25 * MiB)) 8)"
'

test_expect_success 'auto: a big file from a server that answers ranges with 200: one connection, said once' '
	SWITCH="&no_range=1" auto_run auto200.bin &&
	test "$(grep -c "auto200.bin: the server does not answer byte ranges (HTTP 200): one connection" out)" = 1 &&
	! grep "bytes in [0-9]* segments" out &&
	test "$(srv_stat /auto200.bin requests)" = 2 && test "$(asked auto200.bin)" = "bytes=0-0"
'

test_expect_success 'auto: a probe that fails is said as such (not as a server without ranges); the one connection reports the error' '
	SKIP=0 auto_run auto200.bin &&
	test_grep "auto200.bin: the byte-range probe failed (HTTP 404): one connection" out &&
	test_grep "auto200.bin: failed: HTTP 404 from $BASE/auto200.bin (not retried)" out
'

test_expect_success 'auto: a listed size under 64 MiB: one connection without a probe; small unlisted files too' '
	SKIP=0 auto_run auto64.bin "$(printf "\tsize=%s" $((64 * MiB - 1)))" &&
	test "$(srv_stat /auto64.bin requests)" = 1 && ! grep "bytes in [0-9]* segments" out &&
	ctl reset=1 &&
	EIDF_FETCH_LIST=$(line norange.bin) run_job --dest "$TRASH/pvc/auto" --segments auto >out 2>&1 &&
	cmp root/norange.bin pvc/auto/norange.bin && ! grep -q "bytes in [0-9]* segments" out &&
	test "$(srv_stat /norange.bin requests)" = 2 &&
	test_expect_code 2 "$EIDF_BIN/kubectl-eidf-fetch" "$BASE/x" --segments 0 --pvc p -n ns --dry-run=client 2>err &&
	test_grep "a number from 1 to 64, or auto" err
'

# ---- spread over the pods of an Indexed Job, one pod killed ----
NS=eidf370ns
start_cluster --tenant $NS --eidf-policy --job-backoff 1 || exit 1
FETCH="$EIDF_BIN/kubectl-eidf-fetch -n $NS"
export EIDF_FETCH_POLL_MS=300

test_expect_success 'cluster: one file, 3 segments over 3 pods, the last pod killed mid-segment resumes' '
	cluster_bound_pvc data -n $NS && cluster_volume_dir data -n $NS >voldir && VOL=$(cat voldir) &&
	ctl reset=1 && ctl "path=/spread.bin&hold_at=$((5 * MiB))" &&
	$FETCH "$BASE/spread.bin" --sha256 "$(sha root/spread.bin)" --pvc data --dest s --parallel 3 \
		--segments 3 --segment-chunk $MiB --progress-interval 1 >out 2>err &&
	cat out err && job=$(job_of out) &&
	test_grep "Indexed Job" err &&
	wait_for 60 sh -c "test \"\$(cat $VOL/s/.eidf-fetch/spread.bin.segs/2 2>/dev/null)\" -ge $MiB" &&
	pod=$(kubectl -n $NS get pods -l job-name=$job,batch.kubernetes.io/job-completion-index=2 \
		-o jsonpath="{.items[0].metadata.name}") &&
	cluster_kill "$pod" &&
	ctl "path=/spread.bin&hold_at=0" &&
	$FETCH wait "$job" --timeout 90s &&
	cmp root/spread.bin "$VOL/s/spread.bin" &&
	test ! -e "$VOL/s/spread.bin.part" &&
	over=$(sent_over spread.bin) && echo "re-sent $over" && test "$over" -le $MiB &&
	$FETCH logs "$job" >log && cat log &&
	test "$(grep -c "in 3 segments, 1 of them by this pod" log)" -ge 3 &&
	test_grep "sha256 verified" log &&
	$FETCH status "$job" >st && cat st &&
	test_grep "^$job  *data  *1/1  *6MiB/6MiB .*Complete" st
'

test_done
