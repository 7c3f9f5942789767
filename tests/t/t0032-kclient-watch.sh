#!/usr/bin/env bash
# API client streams: list paging, watch (incremental delivery, resume after a
# cut mid-event, 410 Gone -> relist, BOOKMARKs, timeout), pod logs.
. "$(dirname "$0")/lib.sh"
. "$EIDF_SRC/tests/t/lib-kclient.sh"

start_stub
for i in 1 2 3 4 5; do
	printf '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm%s"}}' $i >cm$i.json
	probe create configmaps default cm$i.json >/dev/null 2>&1
done

# ev TYPE NAME RV: one watch event line (no newline)
ev() {
	printf '{"type":"%s","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"%s","resourceVersion":"%s"}}}' "$1" "$2" "$3"
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

test_expect_success 'list follows continue with limit and fills in kind' '
	: >"$REQLOG" &&
	probe --limit 2 list configmaps default >out &&
	printf "ConfigMap cm%s\n" 1 2 3 4 5 >expect && echo items=5 >>expect &&
	test_cmp expect out &&
	test "$(req_count)" = 3 &&
	test "$(grep -c "limit=2" "$REQLOG")" = 3 &&
	test "$(grep -c "continue=" "$REQLOG")" = 2
'

test_expect_success 'watch without resourceVersion gets the current objects' '
	probe --max-events 5 watch configmaps default >out &&
	grep -c "^ADDED cm" out >n && test "$(cat n)" = 5 &&
	test_grep "^watch-rc=0$" out
'

test_expect_success 'events are delivered as they arrive, not at the end of the stream' '
	set_script "$(jq -n --arg a "$(ev ADDED early 7)" \
		"[{query: {watch: \"1\", resourceVersion: \"3\"}, chunks: [\$a + \"\n\"], chunk_delay: 5}]")" &&
	t0=$(date +%s%N) &&
	probe --rv 3 --max-events 1 watch configmaps default >out &&
	test "$(ms_since $t0)" -lt 3000 &&
	test_grep "^ADDED early 7$" out
'

test_expect_success 'stream cut mid-event: resumed from the last resourceVersion, no duplicates' '
	a=$(ev ADDED a 10) b=$(ev MODIFIED b 11) c=$(ev ADDED c 12) &&
	set_script "$(jq -n --arg a "$a" --arg b "$b" --arg c "$c" "[
		{query: {watch: \"1\", resourceVersion: \"1\"}, chunks: [\$a + \"\n\" + (\$b | .[0:40])], cut: true},
		{query: {watch: \"1\", resourceVersion: \"10\"}, chunks: [\$b + \"\n\", \$c + \"\n\"]}]")" &&
	: >"$REQLOG" &&
	probe --rv 1 --max-events 3 watch configmaps default >out &&
	printf "ADDED a 10\nMODIFIED b 11\nADDED c 12\nwatch-rc=0\n" >expect &&
	test_cmp expect out &&
	test "$(req_count)" = 2
'

test_expect_success 'event cut inside a chunk boundary byte by byte still parses' '
	line="$(ev ADDED split 20)" &&
	set_script "$(jq -n --arg l "$line" "[{query: {watch: \"1\", resourceVersion: \"2\"},
		chunks: ((\$l + \"\n\") | split(\"\"))}]")" &&
	probe --rv 2 --max-events 1 watch configmaps default >out &&
	test_grep "^ADDED split 20$" out
'

test_expect_success 'ERROR 410 Gone event: relist (marked) and watch again' '
	set_script "$(jq -n "[{query: {watch: \"1\", resourceVersion: \"5\"}, chunks: [
		({type: \"ERROR\", object: {kind: \"Status\", apiVersion: \"v1\", status: \"Failure\",
		  message: \"too old resource version: 5 (200)\", reason: \"Expired\", code: 410}} | tojson) + \"\n\"]}]")" &&
	: >"$REQLOG" &&
	probe --rv 5 --max-events 5 watch configmaps default >out &&
	test "$(grep -c "^ADDED cm[1-5] [0-9]* relisted$" out)" = 5 &&
	jq -r "select(.method) | .query" "$REQLOG" >queries &&
	test_grep "resourceVersion=5" queries &&
	test "$(grep -c -v watch queries)" = 1
'

test_expect_success 'HTTP 410 on the watch request: relist too' '
	set_script "$(jq -n "[{query: {watch: \"1\", resourceVersion: \"6\"}, status: 410,
		json: {kind: \"Status\", apiVersion: \"v1\", status: \"Failure\", reason: \"Expired\", code: 410, message: \"too old\"}}]")" &&
	probe --rv 6 --max-events 1 watch configmaps default >out &&
	test_grep "relisted$" out
'

test_expect_success 'BOOKMARKs are not delivered but advance the resourceVersion' '
	bm="{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"60\"}}}" &&
	set_script "$(jq -n --arg bm "$bm" --arg y "$(ev ADDED y 61)" "[
		{query: {watch: \"1\", resourceVersion: \"8\"}, chunks: [\$bm + \"\n\"]},
		{query: {watch: \"1\", resourceVersion: \"60\"}, chunks: [\$y + \"\n\"]}]")" &&
	probe --rv 8 --bookmarks --max-events 1 watch configmaps default >out &&
	printf "ADDED y 61\nwatch-rc=0\n" >expect &&
	test_cmp expect out &&
	test_grep "allowWatchBookmarks=true" "$REQLOG"
'

test_expect_success 'watch ends when its time is up (rc 1)' '
	set_script "[]" &&
	rv=$(probe list configmaps default >/dev/null 2>&1; probe request GET /api/v1/namespaces/default/configmaps 2>/dev/null | sed 1d | jq -r .metadata.resourceVersion) &&
	t0=$(date +%s%N) &&
	probe --rv "$rv" --watch-timeout-ms 700 watch configmaps default >out &&
	test_grep "^watch-rc=1$" out &&
	test "$(ms_since $t0)" -lt 3000
'

test_expect_success 'watch sees changes made while it runs' '
	rv=$(probe request GET /api/v1/namespaces/default/configmaps 2>/dev/null | sed 1d | jq -r .metadata.resourceVersion) &&
	{ (sleep 0.5; probe delete configmaps default cm5 >/dev/null 2>&1) & } &&
	probe --rv "$rv" --max-events 1 --watch-timeout-ms 5000 watch configmaps default >out &&
	wait &&
	test_grep "^DELETED cm5 " out
'

test_expect_success 'pod logs stream, with tailLines and follow' '
	probe logs default p1 >out &&
	printf "log line %s of p1\n" 1 2 3 >expect && test_cmp expect out &&
	probe --tail 1 logs default p1 >out &&
	test_grep "^log line 3 of p1$" out && test "$(wc -l <out)" = 1 &&
	probe --follow --container main logs default p1 >out &&
	test "$(wc -l <out)" = 3 &&
	test_grep "follow=true" "$REQLOG" && test_grep "container=main" "$REQLOG"
'

test_expect_success 'log stream cut: bytes so far delivered, then a clear error' '
	set_script "$(jq -n "[{path_re: \"/log$\", chunks: [\"first\n\", \"seco\"], cut: true}]")" &&
	test_expect_code 1 probe logs default p2 >out 2>err &&
	printf "first\nseco" >expect && test_cmp expect out &&
	test_grep "log stream of pod \"p2\" interrupted" err
'

test_expect_success 'logs of a missing pod: kubectl-like error' '
	set_script "$(jq -n "[{path_re: \"/log$\", status: 404, json: {kind: \"Status\", apiVersion: \"v1\",
		status: \"Failure\", message: \"pods \\\"ghost\\\" not found\", reason: \"NotFound\", code: 404}}]")" &&
	test_expect_code 1 probe logs default ghost 2>err &&
	test_grep "Error from server (NotFound): pods \"ghost\" not found" err
'
stop_stub

test_done
