#!/bin/bash
# fetch hf://ORG/NAME against tests/servers/hf_server.py, a loopback Hub that
# answers the revision, tree (paginated) and resolve endpoints in the Hub's
# shapes (tests/fixtures/hf/), with LFS files behind a redirect to a CDN host;
# then listed sources end to end in the local cluster (hf:// and s3:// with
# their Secrets mounted, never in the Job).
. "$(dirname "$0")/lib.sh"

if ! command -v busybox >/dev/null || ! command -v curl >/dev/null; then
	test_skip "fetch hf tests" "needs busybox and curl"
	test_done
fi
FETCH=$EIDF_BIN/kubectl-eidf-fetch
SCRIPT=$EIDF_SRC/plugins/fetch/fetch-job.sh
TOKEN=hf_eidfTestToken123
unset HF_TOKEN HF_ENDPOINT HF_HOME HF_TOKEN_PATH
export HOME=$TRASH/home
mkdir -p "$HOME"

# repos: TYPE/ORG/NAME/commits/SHA/<files>, refs.json names the branches
commit() { # repo sha: copy the staged tree as commit SHA
	mkdir -p "hub/$1/commits/$2" && cp -r stage/. "hub/$1/commits/$2/" && rm -rf stage
}
A=1111111111111111111111111111111111111111 B=2222222222222222222222222222222222222222
mkdir -p stage/sub/deeper
head -c 5000 /dev/urandom >stage/model.safetensors
head -c 3000 /dev/urandom >stage/sub/shard-00001.bin
head -c 3001 /dev/urandom >stage/sub/deeper/shard-00002.bin
echo '{"hidden": 8}' >stage/config.json
printf 'docs\n' >"stage/sub/read me ü.md"
cp -r stage stageA
commit models/eidf-test/tiny $A
mkdir -p stage && head -c 4000 /dev/urandom >stage/model.safetensors && echo '{"hidden": 16}' >stage/config.json
commit models/eidf-test/tiny $B
echo "{\"main\": \"$A\", \"v1\": \"$A\"}" >hub/models/eidf-test/tiny/refs.json
mkdir -p stage && head -c 2500 /dev/urandom >stage/train.parquet && echo x >stage/README.md
commit datasets/eidf-test/corpus $B
echo "{\"main\": \"$B\"}" >hub/datasets/eidf-test/corpus/refs.json
mkdir -p stage && head -c 1500 /dev/urandom >stage/weights.bin
commit models/eidf-test/gated $A
echo "{\"main\": \"$A\"}" >hub/models/eidf-test/gated/refs.json

python3 "$EIDF_SRC/tests/servers/hf_server.py" --root hub --port-file port --token $TOKEN \
	--gated models/eidf-test/gated --page-size 2 --lfs-threshold 1000 >hf.log 2>&1 &
test_atexit "kill $!"
wait_for 10 test -s port || { echo "Bail out! the Hub server did not start"; exit 1; }
EP=http://127.0.0.1:$(cat port)
HF="--hf-endpoint $EP"
stats() { curl -fsS "$EP/_stats" | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"; }
list_of() {
	python3 -c 'import json, sys
for e in json.load(open(sys.argv[1]))["spec"]["template"]["spec"]["containers"][0]["env"]:
    if e["name"] == "EIDF_FETCH_LIST":
        sys.stdout.write(e["value"])' "$1"
}
sha() { sha256sum <"$1" | cut -d' ' -f1; }

test_expect_success 'the fixtures are what the server answers (the shapes of the Hub API)' '
	curl -fsS "$EP/api/models/eidf-test/tiny/revision/main" >rev.json &&
	curl -fsS -D hdr "$EP/api/models/eidf-test/tiny/tree/main?recursive=True&expand=False" >tree.json &&
	python3 - "$EIDF_SRC/tests/fixtures/hf" <<-\EOF
	import json, sys
	fx = sys.argv[1]
	def keys(o): return set(o) if isinstance(o, dict) else set()
	want, got = json.load(open(fx + "/revision.json")), json.load(open("rev.json"))
	assert {"id", "sha", "siblings", "private", "gated"} <= keys(got) & keys(want), (keys(got), keys(want))
	want, got = json.load(open(fx + "/tree-page.json")), json.load(open("tree.json"))
	f = lambda l, t: [e for e in l if e["type"] == t]
	for t in ("file", "directory"):
	    assert keys(f(got, t)[0]) - {"lfs"} == keys(f(want, t)[0]) - {"lfs"}, t
	lfs = lambda l: [e["lfs"] for e in l if "lfs" in e]
	assert keys(lfs(got)[0]) == keys(lfs(want)[0])
	assert "error" in json.load(open(fx + "/error-gated.json"))
	EOF
	test_grep "^Link: <.*cursor=2.*>; rel=\"next\"" hdr
'

test_expect_success 'listing: revision pinned to its commit, tree in pages, LFS sha256 and sizes' '
	$FETCH hf://eidf-test/tiny $HF --pvc data -n ns --dry-run=client -o json >job.json &&
	list_of job.json >list && cat list &&
	test "$(wc -l <list)" = 5 && # 5 files, 2 folders: 4 pages of 2
	grep -q "^$EP/eidf-test/tiny/resolve/$A/model.safetensors	$(sha stageA/model.safetensors)	model.safetensors	size=5000	rev=$A$" list &&
	grep -q "^$EP/eidf-test/tiny/resolve/$A/config.json	-	config.json	size=14	gitsha1=[0-9a-f]\{40\}	rev=$A$" list &&
	grep -q "/resolve/$A/sub/read%20me%20%C3%BC.md	-	sub/read me ü.md	" list &&
	grep -q "	sub/deeper/shard-00002.bin	size=3001	rev=$A$" list &&
	test "$(stats "s[\"requests\"][\"/api/models/eidf-test/tiny/tree/$A\"]")" = 4 &&
	test_grep "\"eidf.ac.uk/fetch-sources\": *\"hf://eidf-test/tiny commit=$A\"" job.json &&
	test_grep "\"/mnt/ceph/tiny\"" job.json
'

test_expect_success '@REV, /PATH (a directory or one file), datasets/, --include/--exclude' '
	$FETCH hf://eidf-test/tiny@$B $HF --pvc data -n ns --dry-run=client -o json >job.json &&
	list_of job.json | cut -f3 | sort >names && printf "config.json\nmodel.safetensors\n" >want && test_cmp want names &&
	$FETCH hf://eidf-test/tiny@v1/sub $HF --exclude "*.md" --pvc data -n ns --dry-run=client -o json >job.json &&
	list_of job.json | cut -f3 >names && printf "sub/shard-00001.bin\nsub/deeper/shard-00002.bin\n" >want &&
	sort want >w && sort names >n && test_cmp w n &&
	$FETCH hf://eidf-test/tiny/sub/deeper/shard-00002.bin $HF --pvc data -n ns --dry-run=client -o json >job.json &&
	list_of job.json | cut -f3 >names && echo sub/deeper/shard-00002.bin >want && test_cmp want names &&
	$FETCH hf://datasets/eidf-test/corpus $HF --include "*.parquet" --pvc data -n ns --dry-run=client -o json >job.json &&
	list_of job.json >list && grep -q "^$EP/datasets/eidf-test/corpus/resolve/$B/train.parquet	[0-9a-f]\{64\}	train.parquet	size=2500" list &&
	test "$(wc -l <list)" = 1
'

test_expect_success 'errors: gated (401 without a token, 403 with another), missing repo, revision, path' '
	test_expect_code 1 $FETCH hf://eidf-test/gated $HF --pvc data -n ns --dry-run=client 2>err &&
	test_grep "^error: hf://eidf-test/gated: resolving the revision refused: HTTP 401 GatedRepo (Access to model eidf-test/gated is restricted.*); the repo is gated: accept its conditions at $EP/eidf-test/gated with your account, then give a token of that account" err &&
	test_expect_code 1 env HF_TOKEN=hf_other $FETCH hf://eidf-test/gated $HF --pvc data -n ns --dry-run=client 2>err &&
	test_grep "HTTP 403 GatedRepo (.*not in the authorized list" err &&
	! grep hf_other err &&
	HF_TOKEN=$TOKEN $FETCH hf://eidf-test/gated $HF --pvc data -n ns --dry-run=client -o json >job.json 2>err &&
	test_grep "listed with a token; if the repo is gated or private the Job needs it too: --hf-token-secret" err &&
	! grep -e $TOKEN job.json &&
	test_expect_code 1 $FETCH hf://eidf-test/nothere $HF --pvc data -n ns --dry-run=client 2>err &&
	test_grep "HTTP 401 RepoNotFound .*check the name; a private repo needs a token" err &&
	test_expect_code 1 $FETCH hf://eidf-test/tiny@nobranch $HF --pvc data -n ns --dry-run=client 2>err &&
	test_grep "HTTP 404 RevisionNotFound .*no revision \"nobranch\"" err &&
	test_expect_code 1 $FETCH hf://eidf-test/tiny/nope.bin $HF --pvc data -n ns --dry-run=client 2>err &&
	test_grep "no file \"nope.bin\" at revision main ($A)" err &&
	test_expect_code 2 $FETCH "hf://eidf-test" $HF --pvc data -n ns --dry-run=client 2>err &&
	test_grep "expected hf://\[datasets/|spaces/\]ORG/NAME\[@REVISION\]\[/PATH\]" err &&
	test_expect_code 2 $FETCH "hf://eidf-test/tiny/../x" $HF --pvc data -n ns --dry-run=client 2>err &&
	test_grep "contains \"..\"" err
'

test_expect_success 'HF_ENDPOINT and the fetch.hf-endpoint setting name the Hub' '
	HF_ENDPOINT=$EP $FETCH hf://eidf-test/tiny --pvc data -n ns --dry-run=client -o json >job.json &&
	list_of job.json | grep -q "^$EP/eidf-test/tiny/resolve/$A/" &&
	mkdir -p "$HOME/.config/kubectl-eidf" &&
	printf "fetch.hf-endpoint: %s\n" "$EP" >"$HOME/.config/kubectl-eidf/config.yaml" &&
	HF_ENDPOINT=http://127.0.0.1:1 $FETCH hf://eidf-test/tiny --pvc data -n ns --dry-run=client -o json >job.json &&
	list_of job.json | grep -q "^$EP/eidf-test/tiny/resolve/$A/" &&
	rm "$HOME/.config/kubectl-eidf/config.yaml"
'

# ---- the Job's side: fetch-job.sh under busybox sh with the host's curl ----
BB=$TRASH/bb BUSYBOX=$(command -v busybox)
mkdir -p "$BB" hfdir
"$BUSYBOX" --install -s "$BB"
rm -f "$BB/wget" "$BB/curl"
ln -s "$(command -v curl)" "$BB/curl"
printf %s "$TOKEN" >hfdir/HF_TOKEN
run_job() {
	env -i PATH="$BB" HOME=/tmp EIDF_FETCH_LIST="$EIDF_FETCH_LIST" \
		"$BUSYBOX" sh -c "$(cat "$SCRIPT")" fetch-job --backoff 0 --interval 1 --retries 2 "$@"
}

test_expect_success 'the Job: pinned commit wins over a branch that moved; LFS sha256 and git blob ids verified' '
	$FETCH hf://eidf-test/tiny $HF --pvc data -n ns --dry-run=client -o json >job.json &&
	curl -fsS "$EP/_control?repo=models/eidf-test/tiny&ref=main&sha=$B" >/dev/null &&
	EIDF_FETCH_LIST=$(list_of job.json) run_job --dest "$TRASH/pvc/tiny" >out 2>&1 &&
	cat out &&
	cmp stageA/model.safetensors pvc/tiny/model.safetensors &&
	cmp stageA/config.json pvc/tiny/config.json &&
	cmp "stageA/sub/read me ü.md" "pvc/tiny/sub/read me ü.md" &&
	test_grep "model.safetensors: complete (5000 bytes, size verified, sha256 verified)" out &&
	test_grep "config.json: complete (14 bytes, size verified, git blob id verified)" out &&
	test_grep "\"revision\":\"$A\"" pvc/tiny/.eidf-fetch/model.safetensors.json &&
	test "$(stats "s.get(\"cdn_authorization\", 0)")" = 0 &&
	curl -fsS "$EP/_control?repo=models/eidf-test/tiny&ref=main&sha=$A" >/dev/null
'

test_expect_success 'the Job: a wrong LFS sha256 fails the file (exit 3); gated needs the token file' '
	curl -fsS "$EP/_control?wrong_sha=sub/shard-00001.bin" >/dev/null &&
	$FETCH hf://eidf-test/tiny/sub/shard-00001.bin $HF --pvc data -n ns --dry-run=client -o json >job.json &&
	EIDF_FETCH_LIST=$(list_of job.json) test_expect_code 3 run_job --dest "$TRASH/pvc/wrong" >out 2>&1 &&
	test_grep "sha256 mismatch" out && test ! -e pvc/wrong/sub/shard-00001.bin &&
	HF_TOKEN=$TOKEN $FETCH hf://eidf-test/gated $HF --hf-token-secret hf-token --pvc data -n ns \
		--dry-run=client -o json >job.json 2>/dev/null &&
	list_of job.json | grep -q "auth=hf$" &&
	EIDF_FETCH_LIST=$(list_of job.json) test_expect_code 4 run_job --dest "$TRASH/pvc/gated" >out 2>&1 &&
	test_grep "HTTP 401" out &&
	EIDF_FETCH_LIST=$(list_of job.json) run_job --dest "$TRASH/pvc/gated" --hf-token-file "$TRASH/hfdir/HF_TOKEN" >out 2>&1 &&
	cmp hub/models/eidf-test/gated/commits/$A/weights.bin pvc/gated/weights.bin &&
	! grep -e $TOKEN out &&
	test "$(stats "s.get(\"cdn_authorization\", 0)")" = 0
'

# ---- in the cluster: the Secrets are mounted, never in the Job ----
NS=eidf361ns
start_cluster --tenant $NS --eidf-policy --job-backoff 1 || exit 1
KF="$FETCH -n $NS"
export EIDF_FETCH_POLL_MS=300

test_expect_success 'cluster: hf:// with --hf-token-secret (gated repo) completes; the token is nowhere' '
	cluster_bound_pvc data -n $NS && cluster_volume_dir data -n $NS >voldir &&
	kubectl -n $NS create secret generic hf-token --from-literal=HF_TOKEN=$TOKEN &&
	$KF hf://eidf-test/gated $HF --hf-token-secret hf-token --pvc data --wait --timeout 60s >out 2>err &&
	cmp hub/models/eidf-test/gated/commits/$A/weights.bin "$(cat voldir)/gated/weights.bin" &&
	job=$(sed -n "s|^job.batch/\([^ ]*\) complete.*|\1|p" out) && test -n "$job" &&
	kubectl -n $NS get job "$job" -o json >job.json &&
	test_grep "secretName.*hf-token" job.json &&
	for f in out err job.json "$EIDF_CLUSTER_STATE"/pods/*/logs/*.log; do
		if grep -F -e "$TOKEN" "$f"; then echo "leak in $f"; return 1; fi
	done
'

test_expect_success 'cluster: s3:// with --s3-secret completes (signed by the pod), keys nowhere' '
	if ! /usr/bin/python3 -c "import botocore" 2>/dev/null; then echo "no botocore: skipped"; return 0; fi &&
	mkdir -p s3root/bkt/d && head -c 4096 /dev/urandom >s3root/bkt/d/x.bin &&
	/usr/bin/python3 "$EIDF_SRC/tests/servers/s3_server.py" --root s3root --port-file s3port \
		--key AKIAEIDF:s3cr3tKeyValue >s3.log 2>&1 &
	pid=$! && test_atexit "kill $pid" &&
	wait_for 10 test -s s3port &&
	kubectl -n $NS create secret generic s3-keys --from-literal=AWS_ACCESS_KEY_ID=AKIAEIDF \
		--from-literal=AWS_SECRET_ACCESS_KEY=s3cr3tKeyValue &&
	$KF s3://bkt/d/ --s3-endpoint http://127.0.0.1:$(cat s3port) --s3-secret s3-keys --pvc data \
		--wait --timeout 60s >out 2>err &&
	cmp s3root/bkt/d/x.bin "$(cat voldir)/bkt/x.bin" &&
	job=$(sed -n "s|^job.batch/\([^ ]*\) complete.*|\1|p" out) &&
	kubectl -n $NS get job "$job" -o json >job.json &&
	for f in out err job.json "$EIDF_CLUSTER_STATE"/pods/*/logs/*.log; do
		if grep -F -e s3cr3tKeyValue "$f"; then echo "leak in $f"; return 1; fi
	done &&
	test "$(curl -fsS "http://127.0.0.1:$(cat s3port)/_stats" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"_auth\"].get(\"ok\"))")" = 2
'

test_done
