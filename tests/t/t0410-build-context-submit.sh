#!/usr/bin/env bash
# kubectl eidf build-context submit / status / secret create against the
# local test cluster.  The cluster runs containers as host processes, so the
# Kaniko executor is replaced by a script (--executor-command) that lists the
# context it received; the init container's chunk reassembly and digest check
# are the real ones.
. "$(dirname "$0")/lib.sh"

if ! command -v busybox >/dev/null; then
	test_skip "build-context submit" "needs busybox"
	test_done
fi
NS=eidf042ns
start_cluster --tenant $NS --eidf-policy || exit 1
BC="kubectl-eidf-build_context"
RES="--builder-image busybox:test --cpu 100m --memory 128Mi"

validate() {
	if command -v node >/dev/null && test -d "$EIDF_SRC/tests/node_modules/kubernetes-models"; then
		node "$EIDF_SRC/tests/validate-manifest.mjs" "$@"
	fi
}
job_of() { sed -n 's|^job.batch/\([^ ]*\) created.*|\1|p' "$1"; }
run_of() { sed -n 's|^job.batch/[^ ]* created (run \([0-9a-f]*\)).*|\1|p' "$1"; }
digest_of() { $BC "$@" 2>/dev/null | sed -n 's/^digest: sha256://p'; }
secret_data() { # secret_data NAME KEY: decoded value
	kubectl get secret "$1" -o json | python3 -c 'import sys,json,base64; print(base64.b64decode(json.load(sys.stdin)["data"][sys.argv[1]]).decode(), end="")' "$2"
}

# The stand-in executor: what it got, and the docker config it would use.
cat >fake-executor.sh <<'EOF'
echo "executor args: $*"
echo "--- context"
tar -tzf /workspace/context.tar.gz
echo "--- end"
echo "context-sha256: $(gzip -dc /workspace/context.tar.gz | sha256sum | cut -d' ' -f1)"
if [ -f /kaniko/.docker/config.json ]; then
	echo "docker-config-sha256: $(sha256sum </kaniko/.docker/config.json | cut -d' ' -f1)"
fi
EOF
printf 'echo "building..."; echo "error: step 2/3 failed" >&2; exit 7\n' >failing-executor.sh
EXEC="--executor-command=sh $TRASH/fake-executor.sh"
# stuck_pod_named JOB: the Job's pod exists (its name in stuck-pod)
stuck_pod_named() {
	kubectl get pods -l job-name="$1" -o jsonpath="{.items[0].metadata.name}" >stuck-pod 2>/dev/null &&
		test -s stuck-pod
}

test_expect_success 'setup: a context with a .dockerignore' '
	mkdir -p ctx/src ctx/test ctx/node_modules/x &&
	printf "FROM scratch\nCOPY src /src\n" >ctx/Dockerfile &&
	printf "**/test\nnode_modules\n" >ctx/.dockerignore &&
	echo "print(1)" >ctx/src/main.py && echo t >ctx/test/t.py && echo y >ctx/node_modules/x/y &&
	$BC ctx --list >want-list 2>/dev/null &&
	printf "%s\n" .dockerignore Dockerfile src/ src/main.py >expect &&
	test_cmp expect want-list
'

# ---- dry runs: the manifests ----------------------------------------------------

test_expect_success 'submit --dry-run -o json: valid Secrets and Job with the registry secret and executor command' '
	$BC submit ctx --image reg.example/me/app:1 --registry-secret regcred $RES "$EXEC" \
		--dry-run -o json >sub.json &&
	validate sub.json &&
	python3 - sub.json "$(digest_of ctx)" "$TRASH" <<-\EOF
	import sys, json
	items = json.load(open(sys.argv[1]))["items"]
	job = items[-1]
	assert [i["kind"] for i in items] == ["Secret", "Job"], items
	spec = job["spec"]["template"]["spec"]
	b = spec["containers"][0]
	assert b["command"] == ["sh", sys.argv[3] + "/fake-executor.sh"], b["command"]
	assert b["image"] == "busybox:test"
	assert {"name": "docker-config", "mountPath": "/kaniko/.docker", "readOnly": True} in b["volumeMounts"]
	vols = {v["name"]: v for v in spec["volumes"]}
	assert vols["docker-config"]["secret"] == {"secretName": "regcred",
		"items": [{"key": ".dockerconfigjson", "path": "config.json"}]}, vols["docker-config"]
	init = spec["initContainers"][0]
	env = {e["name"]: e["value"] for e in init["env"]}
	assert env["DIGEST"] == sys.argv[2] and env["CHUNKS"] == "1", env
	assert job["metadata"]["annotations"]["eidf.ac.uk/context-transport"] == "secret"
	run = job["metadata"]["labels"]["eidf.ac.uk/run"]
	assert items[0]["metadata"]["labels"]["eidf.ac.uk/run"] == run
	EOF
'

test_expect_success 'submit --dry-run --transport exec: no Secrets, an init container that waits for the upload' '
	$BC submit ctx --image reg.example/me/app:1 $RES --transport exec --upload-timeout 90s \
		--dry-run -o json >subx.json &&
	validate subx.json &&
	python3 - subx.json <<-\EOF
	import sys, json
	items = json.load(open(sys.argv[1]))["items"]
	assert [i["kind"] for i in items] == ["Job"], items
	spec = items[0]["spec"]["template"]["spec"]
	env = {e["name"]: e["value"] for e in spec["initContainers"][0]["env"]}
	assert env["UPLOAD_TIMEOUT"] == "90", env
	assert "CHUNKS" not in env
	assert [v["name"] for v in spec["volumes"]] == ["workspace"], spec["volumes"]
	EOF
'

test_expect_success 'secret create --dry-run -o json: valid, password redacted' '
	echo s3cr3t-pw | $BC secret create regcred --username me --password-stdin --registry reg.example \
		--dry-run -o json >sec.json &&
	validate sec.json &&
	! grep -q s3cr3t sec.json &&
	test_grep "kubernetes.io/dockerconfigjson" sec.json &&
	python3 - sec.json <<-\EOF
	import sys, json, base64
	cfg = json.loads(base64.b64decode(json.load(open(sys.argv[1]))["data"][".dockerconfigjson"]))
	assert cfg == {"auths": {"reg.example": {"username": "me", "password": "REDACTED", "auth": "REDACTED"}}}, cfg
	EOF
'

# ---- secret create ----------------------------------------------------------

test_expect_success 'secret create --username --password-stdin: a dockerconfigjson Secret; no password at -v=9' '
	echo s3cr3t-pw | $BC secret create regcred --username me --password-stdin --registry reg.example \
		-v=9 >out 2>err &&
	test_grep "^secret/regcred created" out &&
	for f in out err; do
		! grep -q s3cr3t $f &&
		! grep -q "$(printf me:s3cr3t-pw | base64)" $f || return 1
	done &&
	test_grep "<masked>" err &&
	test "$(kubectl get secret regcred -o jsonpath={.type})" = kubernetes.io/dockerconfigjson &&
	secret_data regcred .dockerconfigjson >regcred.json &&
	python3 - regcred.json <<-\EOF
	import sys, json, base64
	a = json.load(open(sys.argv[1]))["auths"]["reg.example"]
	assert base64.b64decode(a["auth"]) == b"me:s3cr3t-pw", a
	EOF
'

test_expect_success 'secret create: AlreadyExists, and Docker Hub key by default' '
	echo pw | test_must_fail $BC secret create regcred --username me --password-stdin 2>err &&
	test_grep "AlreadyExists" err &&
	echo pw2 | $BC secret create hub --username me --password-stdin >/dev/null &&
	secret_data hub .dockerconfigjson | grep -q "https://index.docker.io/v1/"
'

test_expect_success 'secret create --from-docker-config: stored as is; a config without auths is refused' '
	printf "{\"auths\":{\"ghcr.io\":{\"auth\":\"%s\"}}}" "$(printf u:tok | base64)" >config.json &&
	$BC secret create fromfile --from-docker-config config.json >out &&
	secret_data fromfile .dockerconfigjson >got && test_cmp config.json got &&
	echo "{\"credsStore\":\"desktop\"}" >helper.json &&
	test_must_fail $BC secret create bad --from-docker-config helper.json 2>err &&
	test_grep "credential helpers" err &&
	test_must_fail kubectl get secret bad
'

# ---- submit through Secrets ---------------------------------------------------

test_expect_success 'submit (follow): the executor gets exactly the local context; exit 0' '
	$BC submit ctx --image reg.example/me/app:1 --registry-secret regcred $RES "$EXEC" >out 2>err &&
	job=$(job_of out) && test -n "$job" &&
	sed -n "/^--- context/,/^--- end/p" out | sed "1d;\$d" >got-list &&
	test_cmp want-list got-list &&
	test_grep "^context-sha256: $(digest_of ctx)$" out &&
	test_grep "^executor args: --context=tar:///workspace/context.tar.gz --dockerfile=Dockerfile --destination=reg.example/me/app:1 --custom-platform=linux/amd64$" out &&
	test_grep "job/$job: build succeeded" err &&
	test_grep "in 1 Secret(s)" err &&
	echo "$job" >job1 && run_of out >run1
'

test_expect_success 'submit --registry-secret that does not exist: refused before anything is created' '
	: >"$EIDF_CLUSTER_STATE/requests.jsonl" &&
	test_expect_code 1 $BC submit ctx --image reg.example/me/app:1 --registry-secret nosuchcred $RES "$EXEC" >out 2>err &&
	cat err &&
	test_grep "secret \"nosuchcred\" not found in namespace $NS (needed by --registry-secret nosuchcred)" err &&
	test "$(cluster_request_count "^POST ")" = 0
'

test_expect_success 'the init container checked the digest; the registry secret is the executor docker config' '
	job=$(cat job1) &&
	kubectl logs job/$job -c receive-context >recv.log &&
	test_grep "^context sha256:$(digest_of ctx) received in 1 chunk(s)$" recv.log &&
	kubectl logs job/$job -c build >build.log &&
	test_grep "^docker-config-sha256: $(sha256sum <regcred.json | cut -d" " -f1)$" build.log
'

test_expect_success 'Job and Secrets carry the policy labels; the Secrets are owned by the Job' '
	job=$(cat job1) run=$(cat run1) &&
	kubectl get job $job -o json >job.json &&
	kubectl get secrets -l eidf.ac.uk/run=$run -o json >secrets.json &&
	python3 - job.json secrets.json <<-\EOF
	import sys, json
	job = json.load(open(sys.argv[1]))
	secs = json.load(open(sys.argv[2]))["items"]
	lab = job["metadata"]["labels"]
	assert lab["kueue.x-k8s.io/queue-name"] == "eidf042ns-user-queue", lab
	assert lab["app.kubernetes.io/managed-by"] == "kubectl-eidf" and lab["eidf.ac.uk/stage"] == "build-context"
	assert job["metadata"]["name"].startswith("build-context-")
	assert len(secs) == 1, secs
	for s in secs:
	    l = s["metadata"]["labels"]
	    assert l["app.kubernetes.io/managed-by"] == "kubectl-eidf" and l["eidf.ac.uk/stage"] == "build-context", l
	    assert l["eidf.ac.uk/run"] == lab["eidf.ac.uk/run"]
	    refs = s["metadata"]["ownerReferences"]
	    assert refs == [{"apiVersion": "batch/v1", "kind": "Job", "name": job["metadata"]["name"],
	                     "uid": job["metadata"]["uid"]}], refs
	EOF
'

test_expect_success 'a 2.5 MiB context travels in 3 chunks and is reassembled exactly' '
	mkdir -p big && printf "FROM scratch\n" >big/Dockerfile &&
	head -c 2600000 /dev/urandom >big/blob.bin &&
	$BC submit big --image reg.example/me/big:1 $RES "$EXEC" >out 2>err &&
	test_grep "in 3 Secret(s)" err &&
	test_grep "^context-sha256: $(digest_of big)$" out &&
	kubectl logs job/$(job_of out) -c receive-context | grep -q "received in 3 chunk(s)"
'

test_expect_success 'the executor failing: its log, its exit code, the reason' '
	test_expect_code 7 $BC submit ctx --image reg.example/me/app:1 $RES \
		"--executor-command=sh $TRASH/failing-executor.sh" >out 2>err &&
	test_grep "^building...$" out &&
	test_grep "error: step 2/3 failed" out &&
	test_grep "container build exited with code 7" err
'

test_expect_success '--detach returns at once with the job name and the follow commands; status --follow' '
	start=$(date +%s) &&
	$BC submit ctx --image reg.example/me/app:1 $RES "$EXEC" --detach >out 2>err &&
	test $(($(date +%s) - start)) -le 5 &&
	job=$(job_of out) && test -n "$job" &&
	test_grep "kubectl eidf build-context status --follow $job -n $NS" out &&
	test_grep "kubectl logs -f job/$job -c build -n $NS" out &&
	test_grep -v "executor args" out &&
	$BC status --follow $job >sout 2>serr &&
	test_grep "^context-sha256: $(digest_of ctx)$" sout &&
	test_grep "build succeeded" serr &&
	$BC status job/$job >st && test_grep "job/$job: build succeeded" st
'

test_expect_success 'build-context list: recent builds, newest first, with image, state and context digest' '
	$BC list >out &&
	head -n1 out | grep -q "^NAME  *IMAGE  *STATE  *CONTEXT  *AGE$" &&
	job1=$(cat job1) &&
	grep "^$job1  *reg.example/me/app:1  *Succeeded  *sha256:$(digest_of ctx | cut -c1-12)  " out &&
	$BC ls -o name >names &&
	grep -qx "job.batch/$job1" names &&
	$BC list -o wide --no-headers >wide &&
	# a Complete condition has no reason before Kubernetes 1.31 (the samples): REASON is -
	grep -q "^$job1 .* secret  *-$" wide &&
	test_expect_code 2 $BC list extra 2>err &&
	test_grep "list takes no arguments" err
'

test_expect_success 'status of a build whose pod cannot be scheduled says so, not "receiving the context"' '
	$BC submit ctx --image reg.example/me/app:3 --builder-image busybox:test --cpu 500 --memory 128Mi \
		"$EXEC" --detach >out 2>err &&
	job=$(job_of out) && test -n "$job" &&
	wait_for 20 sh -c "$BC status $job >st 2>&1 && grep -q \"not scheduled\|queued\" st" &&
	test_grep "^job/$job: \(pending: pod $job-[a-z0-9]* is not scheduled: 0/[0-9]* nodes are available: .*Insufficient cpu\|queued\)" st &&
	! grep -q "receiving the context" st &&
	kubectl delete job $job >/dev/null
'

test_expect_success 'a directory named list is still a context: ./list' '
	mkdir -p list && echo "FROM scratch" >list/Dockerfile &&
	$BC ./list >out &&
	test_grep "^digest: sha256:" out
'

test_expect_success 'a tampered chunk: the init container refuses it, status says why' '
	$BC submit ctx --image reg.example/me/app:1 $RES "$EXEC" --dry-run -o json >t.json &&
	python3 - t.json <<-\EOF
	import sys, json, base64, gzip
	d = json.load(open(sys.argv[1]))
	d["items"][0]["data"]["chunk"] = base64.b64encode(gzip.compress(b"not the context")).decode()
	json.dump(d, open(sys.argv[1], "w"))
	EOF
	kubectl create --validate=false -f t.json >created &&
	job=$(sed -n "s|^job.batch/\(.*\) created|\1|p" created) && test -n "$job" &&
	test_expect_code 1 $BC status --follow $job >out 2>err &&
	test_grep "receiving the build context failed in pod $job-[a-z0-9]* (init container receive-context, exit code 4): context digest mismatch: received sha256:[0-9a-f]\{64\}, sent sha256:$(digest_of ctx)" err &&
	test_grep -v "executor args" out &&
	test_must_fail $BC status $job 2>err2 &&
	test_grep "context digest mismatch" err2
'

test_expect_success 'status of a Job that does not exist: the friendly NotFound, naming the namespace' '
	test_expect_code 1 $BC status no-such-job 2>err &&
	test_grep "^error: build job \"no-such-job\" not found in namespace \"$NS\"; see: kubectl get jobs -l eidf.ac.uk/stage=build-context -n $NS\$" err &&
	test "$(wc -l <err)" = 1
'

test_expect_success 'status of a build whose pod does not start shows the reason from its events' '
	printf "%s\n" "apiVersion: batch/v1" "kind: Job" "metadata:" "  generateName: build-stuck-" \
		"  labels: {kueue.x-k8s.io/queue-name: $NS-user-queue, eidf.ac.uk/stage: build-context, eidf.ac.uk/run: stuck001}" \
		"spec:" "  backoffLimit: 0" "  template:" "    metadata: {labels: {eidf.ac.uk/run: stuck001}}" \
		"    spec:" "      restartPolicy: Never" "      nodeSelector: {nvidia.com/gpu.product: nope}" \
		"      initContainers:" "      - {name: receive-context, image: busybox:latest, command: [\"true\"], resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 100m, memory: 64Mi}}}" \
		"      containers:" "      - {name: build, image: busybox:latest, command: [\"true\"], resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 100m, memory: 64Mi}}}" >stuck.yaml &&
	job=$(kubectl create -f stuck.yaml -o name) && job=${job#job.batch/} &&
	wait_for 30 stuck_pod_named "$job" &&
	pod=$(cat stuck-pod) &&
	printf "%s\n" "apiVersion: v1" "kind: Event" "metadata: {name: $pod.mount1, namespace: $NS}" \
		"involvedObject: {kind: Pod, name: $pod, namespace: $NS}" "type: Warning" "reason: FailedMount" \
		"message: \"MountVolume.SetUp failed for volume \\\"regcred\\\" : secret \\\"gone\\\" not found\"" >event.yaml &&
	cluster_admin_kubectl create -f event.yaml >/dev/null &&
	$BC status "$job" >out 2>err &&
	cat out err &&
	test_grep "job/$job: waiting: pod $pod: FailedMount: MountVolume.SetUp failed for volume \"regcred\" : secret \"gone\" not found" err &&
	kubectl delete job "$job" >/dev/null
'

test_expect_success 'deleting the Job removes its context Secrets (ownerReferences)' '
	job=$(cat job1) run=$(cat run1) &&
	test -n "$(kubectl get secrets -l eidf.ac.uk/run=$run -o name)" &&
	kubectl delete job "$job" >/dev/null &&
	for i in $(seq 50); do
		test -z "$(kubectl get secrets -l eidf.ac.uk/run=$run -o name)" && break
		sleep 0.2
	done &&
	test -z "$(kubectl get secrets -l eidf.ac.uk/run=$run -o name)"
'

# ---- the exec transport ---------------------------------------------------------

# exec_uas: the user agents of the exec requests since requests.jsonl was emptied
exec_uas() {
	cluster_requests | grep "/pods/[^/]*/exec" | sed -n 's/.*"user_agent":"\([^"/]*\)\/.*/\1/p' | sort -u
}

test_expect_success 'exec transport: a refused exec (403) is one error line naming the pod and the fix; exit 1; the Job is deleted' '
	cluster_fault fail --path "/pods/.*/exec" --status 403 &&
	test_expect_code 1 $BC submit ctx --image reg.example/me/app:1 $RES "$EXEC" --transport exec >out 2>err &&
	cat err &&
	job=$(job_of out) && test -n "$job" &&
	test_grep "^error: uploading build context to pod $job-[a-z0-9]* (container receive-context): Error from server (Forbidden): injected fault (403); the upload needs the right to create pods/exec in namespace $NS (ask the project.s admin), or use --transport secret" err &&
	test "$(grep -c "^error:" err)" = 1 &&
	test_grep "deleted job/$job" err &&
	test_must_fail kubectl get job $job
'

test_expect_success 'exec transport: the upload timeout covers an exec upgrade that is not answered, and says so' '
	cluster_fault delay --path "/pods/.*/exec" --seconds 10 &&
	start=$(date +%s) &&
	test_expect_code 1 $BC submit big --image reg.example/me/app:1 $RES "$EXEC" --transport exec \
		--upload-timeout 4s >out 2>err &&
	test $(($(date +%s) - start)) -le 8 &&
	test_grep "uploading build context to pod .* (container receive-context): timed out after sending 0B of .*; raise --upload-timeout" err
'

test_expect_success '--transport secret refuses a context above --max-context' '
	test_must_fail $BC submit big --image reg.example/me/big:2 $RES --transport secret --max-context 1Mi 2>err &&
	test_grep "use --transport exec" err
'

test_expect_success 'exec transport (--transport exec): streamed by kubectl-eidf itself (no kubectl), digest-checked, built' '
	: >"$EIDF_CLUSTER_STATE/requests.jsonl" &&
	$BC submit ctx --image reg.example/me/app:1 $RES "$EXEC" --transport exec >out 2>err &&
	test "$(exec_uas)" = kubectl-eidf &&
	test_grep "sent with kubectl exec" err &&
	sed -n "/^--- context/,/^--- end/p" out | sed "1d;\$d" >got-list &&
	test_cmp want-list got-list &&
	test_grep "^context-sha256: $(digest_of ctx)$" out &&
	kubectl logs job/$(job_of out) -c receive-context >recv.log &&
	test_grep "^context sha256:$(digest_of ctx) received through kubectl exec$" recv.log
'
test_expect_success 'exec transport chosen automatically above --max-context' '
	head -c 1300000 /dev/urandom >big/blob2.bin &&
	$BC submit big --image reg.example/me/big:2 $RES "$EXEC" --max-context 1Mi >out 2>err &&
	test_grep "sent with kubectl exec" err &&
	test_grep "uploading context" err &&
	test_grep "^context-sha256: $(digest_of big)$" out
'

test_done
