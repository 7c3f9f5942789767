#!/bin/bash
# kubectl eidf fetch, second round: the single-pass sha256, re-sent bytes
# after clean closes and TCP resets, the Kueue reason of a Queued fetch,
# `logs -f` interleaving the pods of an Indexed Job, and --header-secret end
# to end without the header value leaking anywhere.
. "$(dirname "$0")/lib.sh"

BUSYBOX=$(command -v busybox || true)
if [ -z "$BUSYBOX" ] || ! command -v curl >/dev/null || ! command -v python3 >/dev/null; then
	test_skip "fetch tests" "needs busybox, curl and python3"
	test_done
fi
SCRIPT=$EIDF_SRC/plugins/fetch/fetch-job.sh
MiB=1048576
TOKEN="Bearer tok-$$-Zq7xK2"

BB=$TRASH/bb
mkdir -p "$BB" "$TRASH/root/private" "$TRASH/pvc"
"$BUSYBOX" --install -s "$BB"
rm -f "$BB/wget" "$BB/curl" "$BB/ftpget"
ln -s "$(command -v curl)" "$BB/curl"

. "$EIDF_SRC/tests/t/lib-fetch.sh"
start_data_server --auth "$TOKEN" || { echo "Bail out! the data server did not start"; exit 1; }
gen() { head -c "$2" /dev/urandom >"$TRASH/root/$1"; }
run_job() {
	env -i PATH="$BB" HOME=/tmp ${EIDF_FETCH_LIST+EIDF_FETCH_LIST="$EIDF_FETCH_LIST"} \
		"$BUSYBOX" sh -c "$(cat "$SCRIPT")" fetch-job --backoff 0 --interval 1 "$@"
}
list_line() { printf '%s\t%s\t%s' "$1" "$2" "$3"; }

gen big.bin $((16 * MiB + 4321))
gen c.bin 300000
gen private/secret.bin $((1 * MiB + 5))

# ---- the script alone --------------------------------------------------------

test_expect_success 'fresh download: sha256 computed while downloading, one pass' '
	ctl reset=1 &&
	EIDF_FETCH_LIST=$(list_line "$BASE/big.bin" "$(sha root/big.bin)" big.bin) \
		run_job --dest "$TRASH/pvc/one" >out 2>&1 &&
	cmp root/big.bin pvc/one/big.bin &&
	test_grep "sha256 computed while downloading" out &&
	test_grep -v "verifying sha256 of the whole file" out &&
	test "$(srv_stat /big.bin bytes)" = $((16 * MiB + 4321))
'

test_expect_success 'single pass catches corrupted bytes; nothing left behind' '
	ctl reset=1 && ctl "path=/c.bin&corrupt=1" &&
	! EIDF_FETCH_LIST=$(list_line "$BASE/c.bin" "$(sha root/c.bin)" c.bin) \
		run_job --dest "$TRASH/pvc/corrupt" >out 2>&1 &&
	test_grep "sha256 mismatch" out &&
	test ! -e pvc/corrupt/c.bin && test ! -e pvc/corrupt/c.bin.part
'

test_expect_success 'a 404 with a digest leaves no empty .part' '
	ctl reset=1 &&
	! EIDF_FETCH_LIST=$(list_line "$BASE/nope.bin" "$(sha root/c.bin)" nope.bin) \
		run_job --dest "$TRASH/pvc/404" >out 2>&1 &&
	test_grep "HTTP 404" out && test ! -e pvc/404/nope.bin.part
'

test_expect_success 'resumed .part: hashed from byte 0 in the same pass' '
	ctl reset=1 &&
	mkdir -p pvc/resume && head -c 5000000 root/big.bin >pvc/resume/big.bin.part &&
	EIDF_FETCH_LIST=$(list_line "$BASE/big.bin" "$(sha root/big.bin)" big.bin) \
		run_job --dest "$TRASH/pvc/resume" >out 2>&1 &&
	cmp root/big.bin pvc/resume/big.bin &&
	test_grep "resuming at byte 5000000" out &&
	test_grep "sha256 computed while downloading" out &&
	test "$(srv_stat /big.bin bytes)" = $((16 * MiB + 4321 - 5000000))
'

test_expect_success 'resumed .part with wrong leading bytes: the digest covers them' '
	ctl reset=1 &&
	mkdir -p pvc/badpart && head -c 5000000 root/c.bin >pvc/badpart/big.bin.part &&
	head -c 4700000 /dev/zero >>pvc/badpart/big.bin.part &&
	! EIDF_FETCH_LIST=$(list_line "$BASE/big.bin" "$(sha root/big.bin)" big.bin) \
		run_job --dest "$TRASH/pvc/badpart" >out 2>&1 &&
	test_grep "sha256 mismatch" out && test ! -e pvc/badpart/big.bin
'

# bytes served - file size = what was downloaded twice; the server makes
# "served" mean "delivered" even for resets (see http_data_server.py)
for kind in fin rst; do
	test_expect_success "4 drops mid-body ($kind): completes, <= 1 MiB re-sent per drop" '
		ctl reset=1 &&
		extra= && [ '$kind' = rst ] && extra="&drop_rst=1"
		ctl "path=/big.bin&drop_after=3000000&drop_times=4$extra" &&
		EIDF_FETCH_LIST=$(list_line "$BASE/big.bin" "$(sha root/big.bin)" big.bin) \
			run_job --dest "$TRASH/pvc/drop-'$kind'" >out 2>&1 &&
		cmp root/big.bin pvc/drop-'$kind'/big.bin &&
		test "$(srv_stat /big.bin requests)" = 5 &&
		sent=$(srv_stat /big.bin bytes) &&
		echo "'$kind': served $sent for $((16 * MiB + 4321)): re-sent $((sent - 16 * MiB - 4321))" &&
		test $((sent - 16 * MiB - 4321)) -le $((4 * MiB)) &&
		test_grep "sha256 computed while downloading" out
	'
done

test_expect_success 'data server: /private/ needs the Authorization header' '
	test "$(curl -s -o /dev/null -w "%{http_code}" "$BASE/private/secret.bin")" = 401 &&
	curl -fsS -H "Authorization: $TOKEN" -o got "$BASE/private/secret.bin" &&
	cmp root/private/secret.bin got
'

# ---- in the cluster ------------------------------------------------------------

NS=eidf989ns
start_cluster --tenant $NS --eidf-policy --job-backoff 1 || exit 1
FETCH="$EIDF_BIN/kubectl-eidf-fetch -n $NS"
export EIDF_FETCH_POLL_MS=300

test_expect_success 'setup: a bound PVC' '
	cluster_bound_pvc data -n $NS &&
	cluster_volume_dir data -n $NS >voldir &&
	test -d "$(cat voldir)"
'
VOL() { cat "$TRASH/voldir"; }

test_expect_success 'Queued: status shows the queue and the Kueue reason; runs once admitted' '
	ctl reset=1 &&
	cluster_admin_kubectl -n $NS get localqueue $NS-user-queue -o json >lq.json &&
	python3 -c "
import json; o = json.load(open(\"lq.json\")); m = o[\"metadata\"]
o[\"metadata\"] = {\"name\": m[\"name\"], \"namespace\": m[\"namespace\"]}; o.pop(\"status\", None)
json.dump(o, open(\"lq-new.json\", \"w\"))" &&
	cluster_admin_kubectl -n $NS delete localqueue $NS-user-queue &&
	$FETCH "$BASE/c.bin" --pvc data --dest q >out 2>err &&
	job=$(job_of out) &&
	for _ in $(seq 50); do
		$FETCH status "$job" >st && grep -q "doesn.t exist" st && break
		sleep 0.2
	done &&
	cat st &&
	test_grep "^$job  *data  *0/1 .*Queued in $NS-user-queue (Inadmissible: LocalQueue $NS-user-queue doesn.t exist)" st &&
	$FETCH list >l && test_grep "^$job .* Queued " l &&
	cluster_admin_kubectl create -f lq-new.json &&
	$FETCH wait "$job" --timeout 60s &&
	cmp root/c.bin "$(VOL)/q/c.bin"
'

test_expect_success 'logs -f of a --parallel 3 job interleaves the pods with [index] prefixes' '
	ctl reset=1 &&
	for i in 0 1 2; do gen "l$i.bin" $((3 * MiB)) && ctl "path=/l$i.bin&rate=1000000" || return 1; done &&
	for i in 0 1 2; do echo "$BASE/l$i.bin $(sha root/l$i.bin)"; done >three.list &&
	$FETCH --pvc data --dest logs --from-file three.list --parallel 3 --progress-interval 1 >out 2>err &&
	job=$(job_of out) &&
	c0=$(cluster_connections) &&
	timeout 90 $FETCH logs "$job" -f >flog 2>ferr &&
	c1=$(cluster_connections) &&
	cat flog &&
	for i in 0 1 2; do
		test_grep "^\[$i\] eidf-fetch done files=1/1 bytes=$((3 * MiB))$" flog || return 1
		test "$(grep -c "^\[$i\] eidf-fetch done" flog)" = 1 || return 1
	done &&
	grep -n "^\[0\]" flog | tail -n 1 | cut -d: -f1 >last0 &&
	grep -n "^\[1\]\|^\[2\]" flog | head -n 1 | cut -d: -f1 >first12 &&
	echo "last [0] line: $(cat last0), first [1]/[2] line: $(cat first12)" &&
	test "$(cat first12)" -lt "$(cat last0)" &&
	echo "TLS connections for logs -f: $((c1 - c0))" && test $((c1 - c0)) = 1 &&
	for i in 0 1 2; do
		pod=$(kubectl -n $NS get pods -l job-name=$job,batch.kubernetes.io/job-completion-index=$i \
			-o jsonpath="{.items[0].metadata.name}") &&
		kubectl -n $NS logs "$pod" >"pod$i.log" &&
		sed -n "s/^\[$i\] //p" flog >"got$i.log" &&
		test_cmp "pod$i.log" "got$i.log" || return 1
	done
'

test_expect_success '--header-secret end to end: the download is authorized, the value never shows' '
	ctl reset=1 &&
	kubectl -n $NS create secret generic hf --from-literal=Authorization="$TOKEN" &&
	$FETCH "$BASE/private/secret.bin" --sha256 "$(sha root/private/secret.bin)" \
		--header-secret hf --pvc data --dest auth -v=9 >out 2>err &&
	job=$(job_of out) &&
	$FETCH wait "$job" --timeout 60s -v=9 >wout 2>werr &&
	cmp root/private/secret.bin "$(VOL)/auth/secret.bin" &&
	test "$(srv_stat /private/secret.bin unauthorized)" = 0 &&
	$FETCH logs "$job" -v=9 >log 2>lerr &&
	$FETCH status "$job" -v=9 >st 2>sterr &&
	kubectl -n $NS get job "$job" -o json >job.json &&
	kubectl -n $NS get pods -l job-name=$job -o json >pods.json &&
	b64=$(printf %s "$TOKEN" | base64 -w0) &&
	secret=${TOKEN#Bearer } &&
	for f in out err wout werr log lerr st sterr job.json pods.json "$EIDF_CLUSTER_STATE"/pods/*/logs/*.log; do
		if grep -F -e "$secret" -e "$b64" "$f"; then echo "leak in $f"; return 1; fi
	done &&
	test_grep "secretName.*hf" job.json
'

test_expect_success '--header-secret: a wrong value is a 401, not retried, Job fails' '
	ctl reset=1 &&
	kubectl -n $NS create secret generic wrong --from-literal=Authorization="Bearer nope" &&
	$FETCH "$BASE/private/secret.bin" --header-secret wrong --pvc data --dest auth2 \
		--backoff-limit 0 >out 2>err &&
	job=$(job_of out) &&
	test_expect_code 1 $FETCH wait "$job" --timeout 60s 2>werr &&
	test_grep "HTTP 401" werr &&
	test "$(srv_stat /private/secret.bin requests)" = 1 &&
	test ! -e "$(VOL)/auth2/secret.bin"
'

test_done
