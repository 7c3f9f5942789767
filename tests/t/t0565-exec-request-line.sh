#!/bin/bash
# The scripts that pvc cp and devrun sessions run in a pod (pvc-cp.sh, 15
# KB; session-run.sh, 6 KB) reach it on the exec's stdin behind a short
# bootstrap, not in the exec URL: behind a proxy that refuses request lines
# over 8 KiB with 414 (nginx's default; the cluster's --max-request-line),
# a copy both ways, session runs (busybox sh and dd; dash and coreutils dd
# for a non-busybox image), an exit code read back and attach all work.
. "$(dirname "$0")/lib.sh"

if ! command -v busybox >/dev/null || ! command -v git >/dev/null || ! command -v python3 >/dev/null; then
	test_skip "exec behind a proxy" "needs busybox, git and python3"
	test_done
fi
NS=eidf565ns
start_cluster --tenant $NS --eidf-policy --max-request-line 8192 || exit 1
. "$EIDF_SRC/tests/t/lib-devrun.sh"

test_expect_success 'the proxy refuses a request line over 8 KiB with 414' '
	sel=$(printf "k%d=v," $(seq 1 1200)) &&
	test_must_fail kubectl get pods -l "${sel%,}" 2>err && cat err &&
	test "$(cluster_request_count "^GET /api/v1/namespaces/$NS/pods\?labelSelector=k1%3Dv%2C")" = 1 &&
	grep -q "\"status\":414" "$EIDF_CLUSTER_STATE/requests.jsonl" &&
	: >"$EIDF_CLUSTER_STATE/requests.jsonl"
'

test_expect_success 'pvc cp both ways behind it' '
	cluster_bound_pvc data -n $NS &&
	mkdir src && head -c 100000 /dev/urandom >src/blob && echo hi >src/a.txt &&
	kubectl eidf pvc cp -n $NS src data:in &&
	kubectl eidf pvc cp -n $NS data:in back &&
	cmp src/blob back/blob && cmp src/a.txt back/a.txt
'

test_expect_success 'session runs behind it: output, exit code read back, attach (busybox image)' '
	git clone -q "$GIT_DAEMON_URL" w 2>/dev/null && cd w && git checkout -q -b main &&
	echo one >a.txt && git add -A && git commit -q -m init && git push -q -u origin main &&
	$DR --session bb $RES -- cat a.txt >../out 2>../err && cat ../err &&
	test "$(cat ../out)" = one &&
	echo two >a.txt &&
	test_expect_code 3 $DR --session bb -- sh -c "cat a.txt; exit 3" >../out 2>../err &&
	test "$(cat ../out)" = two &&
	test_expect_code 3 $DR session attach bb >../att.out 2>../att.err &&
	test "$(cat ../att.out)" = two
'

test_expect_success 'a session in a non-busybox image (dash, coreutils dd) behind it' '
	cd w &&
	$DR --session deb --image debian:12 --cpu 100m --memory 128Mi -- sh -c "cat a.txt; exit 4" >../out 2>../err
	echo $? >../rc && cat ../err &&
	test "$(cat ../rc)" = 4 && test "$(cat ../out)" = two &&
	$DR session stop deb bb >/dev/null
'

test_expect_success 'nothing was refused; every request line stayed under 2 KiB' '
	cluster_long_requests 2048 >long && cat long && test ! -s long &&
	test "$(grep -c "\"status\":414" "$EIDF_CLUSTER_STATE/requests.jsonl")" = 0
'

test_done
