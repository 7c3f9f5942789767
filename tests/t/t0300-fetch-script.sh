#!/bin/bash
# fetch-job.sh run directly under busybox sh (as in alpine/curl, with the
# host's curl) against the test data server; manifests from
# `fetch --dry-run=client` validated against the kubernetes-models schemas.
. "$(dirname "$0")/lib.sh"

BUSYBOX=$(command -v busybox || true)
if [ -z "$BUSYBOX" ] || ! command -v curl >/dev/null || ! command -v python3 >/dev/null; then
	test_skip "fetch script tests" "needs busybox, curl and python3"
	test_done
fi
SCRIPT=$EIDF_SRC/plugins/fetch/fetch-job.sh
FETCH=$EIDF_BIN/kubectl-eidf-fetch

# busybox applets first on PATH, except the downloaders: curl is the host's.
BB=$TRASH/bb
mkdir -p "$BB" "$TRASH/root" "$TRASH/pvc"
"$BUSYBOX" --install -s "$BB"
rm -f "$BB/wget" "$BB/curl" "$BB/ftpget"
ln -s "$(command -v curl)" "$BB/curl"
ln -sf "$BUSYBOX" "$BB/busybox"

python3 "$EIDF_SRC/tests/servers/http_data_server.py" --root "$TRASH/root" \
	--port-file "$TRASH/port" >"$TRASH/server.log" 2>&1 &
SERVER_PID=$!
test_atexit "kill $SERVER_PID"
for _ in $(seq 50); do [ -s "$TRASH/port" ] && break; sleep 0.1; done
PORT=$(cat "$TRASH/port")
BASE=http://127.0.0.1:$PORT
MiB=1048576

# run the script the way the Job does: sh -c "$script" fetch-job ARGS
run_job() {
	env -i PATH="$BB" HOME=/tmp ${EIDF_FETCH_LIST+EIDF_FETCH_LIST="$EIDF_FETCH_LIST"} \
		${EIDF_FETCH_HEADERS+EIDF_FETCH_HEADERS="$EIDF_FETCH_HEADERS"} \
		${JOB_COMPLETION_INDEX+JOB_COMPLETION_INDEX="$JOB_COMPLETION_INDEX"} \
		${EIDF_FETCH_RUN+EIDF_FETCH_RUN="$EIDF_FETCH_RUN"} \
		"$BUSYBOX" sh -c "$(cat "$SCRIPT")" fetch-job --backoff 0 --interval 1 "$@"
}
list_line() { printf '%s\t%s\t%s' "$1" "$2" "$3"; }
ctl() { curl -fsS "$BASE/_control?$1" >/dev/null; }
# stat PATH FIELD: from the server's counters
srv_stat() {
	curl -fsS "$BASE/_stats" | python3 -c 'import json,sys; s=json.load(sys.stdin).get(sys.argv[1], {}); v=s.get(sys.argv[2], 0); print(len(v) if isinstance(v, list) else v)' "$1" "$2"
}
sha() { sha256sum <"$1" | cut -d' ' -f1; }
gen() { head -c "$2" /dev/urandom >"$TRASH/root/$1"; }

gen a.bin $((3 * MiB + 12345))
gen big.bin $((8 * MiB))
gen c.bin 200000

test_expect_success 'single URL: downloaded, verified, renamed, marker written' '
	ctl reset=1 &&
	EIDF_FETCH_LIST=$(list_line "$BASE/a.bin" "$(sha root/a.bin)" a.bin) \
		run_job --dest "$TRASH/pvc/one" >out 2>err &&
	cmp root/a.bin pvc/one/a.bin &&
	test ! -e pvc/one/a.bin.part &&
	test_grep "\"url\":\"$BASE/a.bin\",\"size\":$((3 * MiB + 12345)),\"sha256\":\"$(sha root/a.bin)\",\"time\":\"20" pvc/one/.eidf-fetch/a.bin.json &&
	test_grep "^eidf-fetch done files=1/1 bytes=$((3 * MiB + 12345))" out &&
	test_grep "sha256 verified" out &&
	test "$(srv_stat /a.bin bytes)" = $((3 * MiB + 12345))
'

test_expect_success 're-run of a completed fetch downloads nothing' '
	ctl reset=1 &&
	EIDF_FETCH_LIST=$(list_line "$BASE/a.bin" "$(sha root/a.bin)" a.bin) \
		run_job --dest "$TRASH/pvc/one" >out &&
	test_grep "already complete" out &&
	test "$(srv_stat /a.bin requests)" = 0
'

test_expect_success 'a different URL for the same name downloads again' '
	ctl reset=1 &&
	cp root/a.bin root/a2.bin &&
	EIDF_FETCH_LIST=$(list_line "$BASE/a2.bin" - a.bin) run_job --dest "$TRASH/pvc/one" >out &&
	test_grep "marker does not match" out &&
	test "$(srv_stat /a2.bin requests)" = 1
'

test_expect_success 'connection dropped 4 times: completes, <= 1 MiB re-sent per drop' '
	ctl reset=1 &&
	ctl "path=/big.bin&drop_after=1500000&drop_times=4" &&
	EIDF_FETCH_LIST=$(list_line "$BASE/big.bin" "$(sha root/big.bin)" big.bin) \
		run_job --dest "$TRASH/pvc/drop" >out 2>&1 &&
	cmp root/big.bin pvc/drop/big.bin &&
	test "$(grep -c "retrying in" out)" -ge 4 &&
	test "$(srv_stat /big.bin requests)" = 5 &&
	sent=$(srv_stat /big.bin bytes) &&
	echo "sent $sent for $((8 * MiB))" &&
	test $((sent - 8 * MiB)) -le $((4 * MiB))
'

test_expect_success 'connection reset (RST) 3 times: completes, verifies, <= 1 MiB re-sent per reset' '
	ctl reset=1 &&
	ctl "path=/big.bin&drop_after=2000000&drop_times=3&drop_rst=1" &&
	EIDF_FETCH_LIST=$(list_line "$BASE/big.bin" "$(sha root/big.bin)" big.bin) \
		run_job --dest "$TRASH/pvc/rst" >out 2>&1 &&
	cmp root/big.bin pvc/rst/big.bin &&
	test "$(srv_stat /big.bin requests)" = 4 &&
	sent=$(srv_stat /big.bin bytes) &&
	echo "sent $sent for $((8 * MiB))" &&
	test $((sent - 8 * MiB)) -le $((3 * MiB))
'

test_expect_success 'resume from an existing .part sends only the rest' '
	ctl reset=1 &&
	mkdir -p pvc/resume &&
	head -c 3000000 root/big.bin >pvc/resume/big.bin.part &&
	EIDF_FETCH_LIST=$(list_line "$BASE/big.bin" "$(sha root/big.bin)" big.bin) \
		run_job --dest "$TRASH/pvc/resume" >out &&
	cmp root/big.bin pvc/resume/big.bin &&
	test_grep "resuming at byte 3000000" out &&
	test "$(srv_stat /big.bin bytes)" = $((8 * MiB - 3000000))
'

test_expect_success 'complete .part without marker (416) is success without a body' '
	ctl reset=1 &&
	mkdir -p pvc/416 && cp root/c.bin pvc/416/c.bin.part &&
	EIDF_FETCH_LIST=$(list_line "$BASE/c.bin" "$(sha root/c.bin)" c.bin) \
		run_job --dest "$TRASH/pvc/416" >out &&
	cmp root/c.bin pvc/416/c.bin &&
	test "$(srv_stat /c.bin bytes)" = 0 &&
	test -f pvc/416/.eidf-fetch/c.bin.json
'

test_expect_success 'wrong checksum: exit 3 (not retried), the final name never appears' '
	ctl reset=1 &&
	test_expect_code 3 env EIDF_FETCH_LIST="$(list_line "$BASE/c.bin" "$(sha root/a.bin)" c.bin)" \
		bash -c "$(declare -f run_job); BUSYBOX=$BUSYBOX BB=$BB SCRIPT=$SCRIPT run_job --dest $TRASH/pvc/bad" >out &&
	test ! -e pvc/bad/c.bin &&
	test ! -e pvc/bad/c.bin.part &&
	test ! -e pvc/bad/.eidf-fetch/c.bin.json &&
	test_grep "sha256 mismatch" out &&
	test_grep "^eidf-fetch error code=3 file=c.bin reason=sha256 mismatch" out &&
	test_grep "^eidf-fetch failed files=0/1" out
'

test_expect_success 'corrupted bytes from the server: checksum catches it' '
	ctl reset=1 && ctl "path=/c.bin&corrupt=1" &&
	! EIDF_FETCH_LIST=$(list_line "$BASE/c.bin" "$(sha root/c.bin)" c.bin) run_job --dest "$TRASH/pvc/corrupt" >out &&
	test ! -e pvc/corrupt/c.bin && test_grep "sha256 mismatch" out
'

test_expect_success 'HTTP 503 twice then success; 404 is not retried' '
	ctl reset=1 && ctl "path=/c.bin&status=503&status_times=2" &&
	EIDF_FETCH_LIST=$(list_line "$BASE/c.bin" - c.bin) run_job --dest "$TRASH/pvc/503" >out &&
	cmp root/c.bin pvc/503/c.bin &&
	test "$(srv_stat /c.bin requests)" = 3 &&
	! EIDF_FETCH_LIST=$(list_line "$BASE/nope.bin" - nope.bin) run_job --dest "$TRASH/pvc/503" >out &&
	test_grep "HTTP 404.*not retried" out &&
	test "$(srv_stat /nope.bin requests)" = 1 && test ! -e pvc/503/nope.bin
'

test_expect_success 'one failure does not stop the other files; a 404 exits 4' '
	ctl reset=1 &&
	list="$(list_line "$BASE/nope.bin" - nope.bin)
$(list_line "$BASE/c.bin" - c2.bin)" &&
	test_expect_code 4 env EIDF_FETCH_LIST="$list" \
		bash -c "$(declare -f run_job); BUSYBOX=$BUSYBOX BB=$BB SCRIPT=$SCRIPT run_job --dest $TRASH/pvc/mixed" >out &&
	cmp root/c.bin pvc/mixed/c2.bin &&
	test_grep "^eidf-fetch error code=4 http=404 file=nope.bin reason=HTTP 404" out &&
	test_grep "^eidf-fetch failed files=1/2 failed=1" out
'

# as the Job runs it: a new pod after an exit 1 (same EIDF_FETCH_RUN)
run_pod() {
	env EIDF_FETCH_RUN=${RUN:-run1} EIDF_FETCH_LIST="$1" \
		bash -c "$(declare -f run_job); BUSYBOX=$BUSYBOX BB=$BB SCRIPT=$SCRIPT run_job --retries 1 --dest $TRASH/pvc/$2"
}

test_expect_success 'transient and deterministic failures: exit 1, the next pod does not download the bad file again' '
	ctl reset=1 && ctl "path=/a.bin&status=500&status_times=1" &&
	list="$(list_line "$BASE/c.bin" "$(sha root/a.bin)" c.bin)
$(list_line "$BASE/a.bin" - a.bin)" &&
	test_expect_code 1 run_pod "$list" det >out1 &&
	test_grep "^eidf-fetch error code=3 file=c.bin reason=sha256 mismatch" out1 &&
	test_grep "^eidf-fetch error code=1 http=500 curl=22 file=a.bin reason=curl exit 22 (HTTP 500) after 1 attempts" out1 &&
	test "$(srv_stat /c.bin requests)" = 1 &&
	test_expect_code 3 run_pod "$list" det >out2 &&
	cmp root/a.bin pvc/det/a.bin &&
	test_grep "c.bin: failed in an earlier pod of this job (sha256 mismatch), not retried" out2 &&
	test_grep "^eidf-fetch error code=3 file=c.bin reason=sha256 mismatch" out2 &&
	test "$(srv_stat /c.bin requests)" = 1 &&
	RUN=run2 test_expect_code 3 run_pod "$list" det >out3 &&
	test "$(srv_stat /c.bin requests)" = 2
'

test_expect_success 'server without Range support: restarts from byte 0' '
	ctl reset=1 && ctl "path=/c.bin&no_range=1" &&
	mkdir -p pvc/norange && head -c 1000 root/c.bin >pvc/norange/c.bin.part &&
	EIDF_FETCH_LIST=$(list_line "$BASE/c.bin" "$(sha root/c.bin)" c.bin) run_job --dest "$TRASH/pvc/norange" >out 2>&1 &&
	cmp root/c.bin pvc/norange/c.bin
'

test_expect_success 'progress lines: bytes, total and rate while a slow file downloads' '
	ctl reset=1 && ctl "path=/a.bin&rate=1000000" &&
	EIDF_FETCH_LIST=$(list_line "$BASE/a.bin" - slow.bin) run_job --dest "$TRASH/pvc/slow" >out &&
	grep "^eidf-fetch progress files=0/1 bytes=[1-9][0-9]* total=$((3 * MiB + 12345)) rate=[1-9][0-9]* fbytes=[1-9][0-9]* ftotal=$((3 * MiB + 12345)) file=slow.bin$" out
'

# Hostile names and URLs travel as data: through the real client into the
# manifest, then to the script exactly as the Job would run it.
cat >"$TRASH/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: eidf989ns}}]
current-context: x
EOF
K="--kubeconfig $TRASH/kubeconfig"
# job_from_manifest FILE PVCDIR: run the container's command/args/env locally
job_from_manifest() {
	python3 - "$1" "$2" >job.env <<-'PY'
	import base64, json, os, sys, shlex
	doc = json.load(open(sys.argv[1]))
	objs = doc["items"] if doc["kind"] == "List" else [doc]
	job = [o for o in objs if o["kind"] == "Job"][0]
	for o in objs:  # the list's Secret (presigned URLs) or ConfigMap (large)
	    if o["kind"] == "Secret":
	        open("job.list", "wb").write(base64.b64decode(o["data"]["list"]))
	    elif o["kind"] == "ConfigMap":
	        open("job.list", "w").write(o["data"]["list"])
	c = job["spec"]["template"]["spec"]["containers"][0]
	assert c["command"][:2] == ["sh", "-c"] and c["command"][3] == "fetch-job"
	args = [a.replace("/mnt/ceph", sys.argv[2]) for a in c.get("args", [])]
	args = [os.path.abspath("job.list") if a == "/etc/eidf-fetch/list/list" else a for a in args]
	env = {e["name"]: e["value"] for e in c.get("env", [])}
	print("ARGS=(%s)" % " ".join(shlex.quote(a) for a in args))
	for k, v in env.items():
	    print("export %s=%s" % (k, shlex.quote(v)))
	print("SCRIPT_TEXT=%s" % shlex.quote(c["command"][2]))
	PY
	(
		. ./job.env
		env -i PATH="$BB" EIDF_FETCH_LIST="${EIDF_FETCH_LIST:-}" EIDF_FETCH_HEADERS="${EIDF_FETCH_HEADERS:-}" \
			"$BUSYBOX" sh -c "$SCRIPT_TEXT" fetch-job --backoff 0 "${ARGS[@]}"
	)
}

test_expect_success 'hostile names and URLs: nothing executed, literal files' '
	ctl reset=1 &&
	cat >hostile.list <<-EOF &&
	# quotes, command substitution, backticks, spaces
	$BASE/c.bin?x=\$(touch\${IFS}$TRASH/pwned1)	-	it'"'"'s "q" \$(touch $TRASH/pwned2) \`touch $TRASH/pwned3\`.bin
	$BASE/c.bin?\`touch\${IFS}$TRASH/pwned4\`	sub dir/;touch $TRASH/pwned5;.bin
	$BASE/c.bin	-	-rf
	EOF
	$FETCH $K --pvc data --dest "/in; rm -rf /" --from-file hostile.list --dry-run=client -o json >job.json &&
	node "$EIDF_SRC/tests/validate-manifest.mjs" job.json &&
	job_from_manifest job.json "$TRASH/pvc/hostile" >out 2>&1 &&
	cat out &&
	ls -laR pvc/hostile &&
	test ! -e pwned1 && test ! -e pwned2 && test ! -e pwned3 && test ! -e pwned4 && test ! -e pwned5 &&
	cmp root/c.bin "pvc/hostile/in; rm -rf /it'"'"'s \"q\" \$(touch $TRASH/pwned2) \`touch $TRASH/pwned3\`.bin" &&
	cmp root/c.bin "pvc/hostile/in; rm -rf /sub dir/;touch $TRASH/pwned5;.bin" &&
	cmp root/c.bin "pvc/hostile/in; rm -rf /-rf"
'

test_expect_success 'hostile inputs refused by the client with clear errors' '
	test_expect_code 2 $FETCH $K --pvc data --dry-run=client "file:///etc/passwd" 2>err &&
	test_grep "unsupported URL scheme \"file\"" err &&
	test_expect_code 2 $FETCH $K --pvc data --dry-run=client "$BASE/x" --name ../../etc/passwd 2>err &&
	test_grep "contains \"..\": files must stay inside the PVC" err &&
	test_expect_code 2 $FETCH $K --pvc data --dry-run=client "$BASE/x" --dest ../.. 2>err &&
	test_grep "dest" err &&
	test_expect_code 2 $FETCH $K --pvc data --dry-run=client "$BASE/a b" 2>err &&
	test_grep "space" err &&
	printf "%s\t-\ta\nb\n" "$BASE/x" >nl.list &&
	test_expect_code 2 $FETCH $K --pvc data --dry-run=client --from-file nl.list 2>err &&
	cat err &&
	test_expect_code 2 $FETCH $K --pvc data --dry-run=client "$BASE/x" --name "a
b" 2>err &&
	test_grep "control character" err &&
	test_expect_code 2 $FETCH $K --pvc data --dry-run=client "$BASE/x" --header "X: a
Evil: b" 2>err &&
	test_grep "newline" err
'

test_expect_success 'headers from --header and a Secret directory reach the server' '
	mkdir -p secret && printf "Bearer s3cret" >secret/Authorization &&
	EIDF_FETCH_LIST=$(list_line "$BASE/_headers" - h.json) EIDF_FETCH_HEADERS="X-Test: yes" \
		run_job --dest "$TRASH/pvc/hdr" --header-dir "$TRASH/secret" >out &&
	test_grep "\"Authorization\": \"Bearer s3cret\"" pvc/hdr/h.json &&
	test_grep "\"X-Test\": \"yes\"" pvc/hdr/h.json &&
	test_grep -v s3cret out
'

test_expect_success 'presigned query strings are not printed in the log' '
	EIDF_FETCH_LIST=$(list_line "$BASE/c.bin?X-Amz-Signature=topsecret" - sig.bin) \
		run_job --dest "$TRASH/pvc/sig" >out &&
	test_grep "c.bin?<redacted>" out && test_grep -v topsecret out
'

test_expect_success 'sharding: 3 indexes x 9 URLs, each file downloaded exactly once' '
	ctl reset=1 &&
	list= &&
	for i in 1 2 3 4 5 6 7 8 9; do
		gen "s$i.bin" $((100000 + i)) &&
		list="$list$(list_line "$BASE/s$i.bin" "$(sha root/s$i.bin)" "s$i.bin")
" || return 1
	done &&
	for idx in 0 1 2; do
		EIDF_FETCH_LIST=$list JOB_COMPLETION_INDEX=$idx run_job --shards 3 --dest "$TRASH/pvc/shard" >out.$idx &&
		test_grep "^eidf-fetch done files=3/3" out.$idx || return 1
	done &&
	for i in 1 2 3 4 5 6 7 8 9; do
		cmp root/s$i.bin pvc/shard/s$i.bin && test "$(srv_stat /s$i.bin requests)" = 1 || return 1
	done
'

# --extract runs in its own container (fetch-extract.sh/.py): t0330.

test_expect_success 'manifests: single, Indexed --parallel 3, header Secret, large list' '
	$FETCH $K --pvc data "$BASE/a.bin" --sha256 "$(sha root/a.bin)" --dry-run=client -o json >m1.json &&
	node "$EIDF_SRC/tests/validate-manifest.mjs" m1.json &&
	for i in 1 2 3 4 5 6 7 8 9; do echo "$BASE/s$i.bin"; done >nine.list &&
	$FETCH $K --pvc data --from-file nine.list --parallel 3 --header-secret hf --extract \
		--dry-run=client -o json >m2.json &&
	node "$EIDF_SRC/tests/validate-manifest.mjs" m2.json &&
	python3 -c "
import json; j = json.load(open(\"m2.json\")); s = j[\"spec\"]
assert s[\"completionMode\"] == \"Indexed\" and s[\"completions\"] == 3 and s[\"parallelism\"] == 3, s
c = s[\"template\"][\"spec\"][\"initContainers\"][0]
assert c[\"name\"] == \"fetch\" and c[\"resources\"][\"requests\"] == c[\"resources\"][\"limits\"], c
assert \"--shards\" in c[\"args\"] and \"--header-dir\" in c[\"args\"] and \"--extract\" not in c[\"args\"]
x = s[\"template\"][\"spec\"][\"containers\"][0]
assert x[\"name\"] == \"extract\" and x[\"image\"] == \"python:3.14-alpine\", x
assert x[\"args\"] == [\"--dest\", \"/mnt/ceph\", \"--shards\", \"3\"], x[\"args\"]
assert x[\"resources\"] == c[\"resources\"]
assert j[\"metadata\"][\"generateName\"] == \"fetch-\" and s[\"ttlSecondsAfterFinished\"] == 1800
assert j[\"metadata\"][\"labels\"][\"kueue.x-k8s.io/queue-name\"] == \"eidf989ns-user-queue\"
" &&
	for i in $(seq 4000); do echo "$BASE/many/f$i.bin"; done >many.list &&
	$FETCH $K --pvc data --from-file many.list --dry-run=client -o json >m3.json &&
	node "$EIDF_SRC/tests/validate-manifest.mjs" m3.json >v3 &&
	test_grep "valid ConfigMap/fetch-list-" v3 && test_grep "valid Job/fetch-" v3 &&
	$FETCH $K --pvc data "$BASE/a.bin" --dry-run=client -o yaml >m4.yaml &&
	test_grep "^kind: Job" m4.yaml
'

test_expect_success 'large list through a ConfigMap file is read by the script' '
	python3 -c "
import json; l = json.load(open(\"m3.json\"))
cm = [o for o in l[\"items\"] if o[\"kind\"] == \"ConfigMap\"][0]
open(\"list.tsv\", \"w\").write(cm[\"data\"][\"list\"])" &&
	test "$(wc -l <list.tsv)" = 4000 &&
	head -n 2 list.tsv | sed "s|/many/f[0-9]*.bin|/c.bin|" >two.tsv &&
	run_job --list "$TRASH/two.tsv" --dest "$TRASH/pvc/cm" >out &&
	cmp root/c.bin pvc/cm/f1.bin && cmp root/c.bin pvc/cm/f2.bin
'

test_done
