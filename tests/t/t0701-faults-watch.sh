#!/bin/bash
# Fault suite (issue 9): a watch stream cut mid-event resumes from the last
# resourceVersion without duplicate or lost events; 410 Gone (history
# compacted) relists and continues, each object exactly once.
. "$(dirname "$0")/lib.sh"

PROBE=$EIDF_BUILD/tests/kclient-probe
NS=eidf042ns
if [ ! -x "$PROBE" ]; then
	test_skip 'watch faults' "kclient-probe not built ($PROBE)"
	test_done
fi
start_cluster --tenant "$NS" || { echo "Bail out! no cluster"; exit 1; }
probe() { "$PROBE" --kubeconfig "$KUBECONFIG" "$@"; }
list_rv() {
	probe request GET "/api/v1/namespaces/$NS/configmaps" 2>/dev/null | sed 1d |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])'
}
make_cms() { # PREFIX N [LABEL=VALUE]
	local i labels=
	[ -n "${3:-}" ] && labels=$(printf ',"labels":{"%s":"%s"}' "${3%%=*}" "${3#*=}")
	for i in $(seq "$2"); do
		printf '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"%s-%d"%s},"data":{"payload":"%s"}}\n' \
			"$1" "$i" "$labels" "$(printf "%0100d" "$i")" >cm.json
		probe create configmaps "$NS" cm.json >/dev/null 2>&1 || return 1
	done
}
# check_events FILE N: N event lines, no object twice, then watch-rc=0
check_events() {
	grep -v "^watch-rc=" "$1" >events &&
	cut -d" " -f2 events | sort >names &&
	sort -u names >unames &&
	test_cmp unames names &&
	test "$(wc -l <events)" = "$2" &&
	test_grep "^watch-rc=0" "$1"
}
watch_requests() { cluster_request_count "^GET .*/configmaps\?.*watch=1"; }

test_expect_success 'setup' '
	rv0=$(list_rv) && test -n "$rv0" &&
	echo "$rv0" >rv0 &&
	make_cms a 5 &&
	ev=$(probe get configmaps $NS a-1 2>/dev/null | wc -c) &&
	echo $((ev + 26)) >evsize
'

test_expect_success 'stream cut in the middle of the second event: resumed, no duplicates' '
	w0=$(watch_requests) &&
	cluster_fault cut --bytes $(( $(cat evsize) * 3 / 2 )) --path "watch=1" &&
	probe watch configmaps $NS --rv "$(cat rv0)" --max-events 5 --watch-timeout-ms 15000 >out 2>err &&
	cat out &&
	check_events out 5 &&
	test "$(cut -d" " -f1 events | sort -u)" = ADDED &&
	test $(( $(watch_requests) - w0 )) = 2
'

test_expect_success 'three cuts inside the first event in a row: still exactly once each' '
	w0=$(watch_requests) &&
	cluster_fault cut --count 3 --bytes 40 --path "watch=1" &&
	probe watch configmaps $NS --rv "$(cat rv0)" --max-events 5 --watch-timeout-ms 20000 >out 2>err &&
	check_events out 5 &&
	test $(( $(watch_requests) - w0 )) = 4
'

test_expect_success 'a cut right after a complete event line' '
	cluster_fault cut --bytes "$(probe request GET "/api/v1/namespaces/$NS/configmaps?watch=1&resourceVersion=$(cat rv0)&timeoutSeconds=1" 2>/dev/null | sed -n 2p | wc -c)" --path "watch=1" &&
	probe watch configmaps $NS --rv "$(cat rv0)" --max-events 5 --watch-timeout-ms 15000 >out 2>err &&
	check_events out 5
'

test_expect_success '410 Gone after compaction: relist, each object once, then live events' '
	cluster_compact &&
	n=$(probe list configmaps $NS 2>/dev/null | sed -n "s/^items=//p") &&
	test "$n" -ge 5 &&
	w0=$(watch_requests) &&
	# the live event is made once the watch after the relist is open (the
	# 410 answer is the first watch request, the resumed watch the second)
	{ (for _ in $(seq 300); do [ "$(watch_requests)" -ge $((w0 + 2)) ] && break; sleep 0.05; done &&
	   make_cms late 1) & } &&
	probe watch configmaps $NS --rv "$(cat rv0)" --max-events $((n + 1)) --watch-timeout-ms 15000 >out 2>err &&
	wait &&
	cat out &&
	check_events out $((n + 1)) &&
	test "$(grep -c " relisted$" out)" = "$n" &&
	test_grep "^ADDED late-1 [0-9]*$" out &&
	for i in 1 2 3 4 5; do test_grep "^ADDED a-$i .* relisted$" out || return 1; done
'

test_expect_success '410 when resuming after a cut: relisted once, live events not repeated' '
	rv1=$(list_rv) &&
	make_cms b 3 set=b &&
	rvb1=$(probe get configmaps $NS b-1 2>/dev/null |
		python3 -c "import json,sys; print(json.load(sys.stdin)[\"metadata\"][\"resourceVersion\"])") &&
	cluster_fault cut --bytes $(( $(cat evsize) * 3 / 2 )) --path "watch=1" &&
	cluster_fault compact --path "watch=1.*resourceVersion=$rvb1" &&
	probe watch configmaps $NS --selector set=b --rv "$rv1" --max-events 4 --watch-timeout-ms 15000 >out 2>err &&
	cat out &&
	test "$(grep -c "^ADDED b-1 [0-9]*$" out)" = 1 &&
	grep " relisted$" out | cut -d" " -f2 | sort >relisted &&
	printf "b-1\nb-2\nb-3\n" >expect &&
	test_cmp expect relisted &&
	test_grep "^watch-rc=0" out &&
	cluster_clear_faults
'

test_done
