#!/bin/bash
# kubectl eidf devrun, more end to end: rerun, --dry-run=server, Pending
# status lines, --timeout (the client's abort switch), GPU product checks,
# completion of run names, logs --init, delete RUN, .gitattributes.
. "$(dirname "$0")/lib.sh"

if ! command -v busybox >/dev/null || ! command -v git >/dev/null; then
	test_skip "devrun cluster tests" "needs busybox and git"
	test_done
fi
NS=eidf042ns
start_cluster --tenant $NS --eidf-policy --gpu-quota 12 || exit 1
. "$EIDF_SRC/tests/t/lib-devrun.sh"
opens() { grep -c '"event": *"open"' "$EIDF_CLUSTER_STATE/connections.jsonl" || true; }
# init_env LIST.json: names of the init container's environment variables
init_env() {
	python3 -c 'import json,sys; j=[o for o in json.load(open(sys.argv[1]))["items"] if o["kind"]=="Job"][0]
print(" ".join(e["name"] for e in j["spec"]["template"]["spec"]["initContainers"][0]["env"]))' "$1"
}
jobs_named() { kubectl get jobs -n $NS -o name | grep -c "/$1-" || true; }

# kubectl finds completion programs next to the plugins (kubectl >= 1.26)
mkdir -p links
ln -s "$EIDF_BIN/kubectl-eidf" links/kubectl_complete-eidf
ln -s "$EIDF_BIN/kubectl-eidf-devrun" links/kubectl_complete-eidf-devrun
export PATH="$TRASH/links:$PATH"

test_expect_success 'setup' '
	git clone -q "$GIT_DAEMON_URL" w 2>/dev/null && cd w && git checkout -q -b main &&
	printf "echo \"hello from \$(pwd)\"; cat data.txt; exit \${1:-0}\n" >job.sh &&
	echo committed >data.txt && git add -A && git commit -q -m init && git push -q -u origin main
'

test_expect_success 'GPU product typo: did-you-mean, exit 2, no request' '
	cd w && : >"$EIDF_CLUSTER_STATE/requests.jsonl" &&
	test_expect_code 2 $DR $RES --gpu-product NVIDIA-A100-SXM4-80G --follow -- true 2>../err &&
	cat ../err &&
	test_grep "unknown GPU product \"NVIDIA-A100-SXM4-80G\": did you mean NVIDIA-A100-SXM4-80GB?" ../err &&
	test_grep "allow-unknown-gpu-product" ../err &&
	test "$(cluster_request_count .)" = 0
'

test_expect_success 'the claims and Secrets the flags name are checked before the Job is created' '
	cd w && kubectl create secret generic envsecret -n $NS --from-literal=A=1 >/dev/null &&
	: >"$EIDF_CLUSTER_STATE/requests.jsonl" &&
	test_expect_code 125 $DR $RES --pvc nosuchclaim:/data --git-secret nogit --env-from-secret envsecret \
		--env-from-secret noenv --image-pull-secret nopull --follow -- true 2>../err &&
	cat ../err &&
	test_grep "persistentvolumeclaim \"nosuchclaim\" not found in namespace $NS (needed by --pvc nosuchclaim:/data): create it with kubectl eidf pvc create nosuchclaim" ../err &&
	test_grep "secret \"nogit\" not found in namespace $NS (needed by --git-secret nogit)" ../err &&
	test_grep "secret \"noenv\" not found in namespace $NS (needed by --env-from-secret noenv)" ../err &&
	test_grep "secret \"nopull\" not found in namespace $NS (needed by --image-pull-secret nopull)" ../err &&
	test_grep -v "envsecret" ../err &&
	test "$(cluster_request_count "^POST ")" = 0 &&
	test "$(cluster_request_count "^GET .*/(persistentvolumeclaims|secrets)/")" = 5
'

test_expect_success 'unknown product forced: Pending/Unschedulable shown, --timeout 3s exits 124 promptly, Job left' '
	cd w && before=$(opens) &&
	start=$(date +%s%N) &&
	test_expect_code 124 $DR $RES --gpu-product NVIDIA-Z100-TEST --allow-unknown-gpu-product \
		--name pend --follow --timeout 3s -- true >../out 2>../err &&
	ms=$(( ($(date +%s%N) - start) / 1000000 )) && cat ../err && echo "took $ms ms" &&
	test "$ms" -lt 6000 &&
	test_grep "pending: Unschedulable: 0/3 nodes are available" ../err &&
	test_grep "node affinity/selector" ../err &&
	test_grep "timeout 3s reached; job.batch/pend-" ../err &&
	job=$(job_of ../err) &&
	test_grep "kubectl eidf devrun attach $job -n $NS" ../err &&
	test_grep "kubectl eidf devrun delete $job -n $NS" ../err &&
	echo "connections: $(( $(opens) - before ))" &&
	# one for create + the Job watch (stopping a watch mid-stream closes an
	# HTTP/1.1 connection), one for the pod watch the abort ends
	test $(( $(opens) - before )) -le 2 &&
	kubectl get job -n $NS "$job"
'

test_expect_success 'too many GPUs for any node: Insufficient nvidia.com/gpu; attach --timeout also 124' '
	cd w &&
	$DR $RES --gpu 8 --gpu-product NVIDIA-A100-SXM4-80GB --name big --detach -- true >/dev/null 2>../err &&
	job=$(job_of ../err) &&
	test_expect_code 124 $DR attach "$job" --timeout 2s >/dev/null 2>../err2 &&
	cat ../err2 &&
	test_grep "Insufficient nvidia.com/gpu" ../err2 &&
	test_grep "timeout 2s reached" ../err2 &&
	$DR delete "$job" >/dev/null 2>&1
'

test_expect_success '--timeout with --rm deletes the run' '
	cd w &&
	test_expect_code 124 $DR $RES --gpu-product NVIDIA-Z100-TEST --allow-unknown-gpu-product \
		--name pendrm --follow --rm --timeout 2s -- true >/dev/null 2>../err &&
	cat ../err && job=$(job_of ../err) && run=$(run_of ../err) &&
	test_grep "deleting job.batch/$job (--rm)" ../err &&
	test_must_fail kubectl get job -n $NS "$job" 2>/dev/null &&
	test -z "$(kubectl get pods,secrets -n $NS -l eidf.ac.uk/run=$run -o name)"
'

test_expect_success 'SIGINT while pending detaches promptly (no _exit): exit 130, hints' '
	cd w
	($DR $RES --gpu-product NVIDIA-Z100-TEST --allow-unknown-gpu-product --name sig --follow -- true \
		>../si.out 2>../si.err; echo $? >../si.rc) &
	wait_for 20 grep -q "pending: Unschedulable" ../si.err &&
	pid=$(pgrep -n -f "kubectl-eidf-devrun.*--name sig") &&
	t0=$(date +%s%N) && kill -INT "$pid" &&
	wait_for 10 test -s ../si.rc &&
	ms=$(( ($(date +%s%N) - t0) / 1000000 )) && cat ../si.err && echo "stopped after $ms ms" &&
	test "$ms" -lt 2500 && test "$(cat ../si.rc)" = 130 &&
	job=$(job_of ../si.err) &&
	test_grep "detached; job.batch/$job keeps running" ../si.err &&
	test_grep "kubectl eidf devrun attach $job -n $NS" ../si.err &&
	test_grep "kubectl eidf devrun logs $job -n $NS -f" ../si.err &&
	kubectl get job -n $NS "$job"
'

test_expect_success '--dry-run=server -o yaml: both objects sent with dryRun=All, nothing created' '
	cd w && echo dry >data.txt &&
	n=$(jobs_named dry) && : >"$EIDF_CLUSTER_STATE/requests.jsonl" && before=$(opens) &&
	$DR $RES --name dry --dry-run=server -o yaml -- sh job.sh >../out 2>../err &&
	test $(( $(opens) - before )) = 1 &&
	cat ../out | head -20 &&
	test_grep "^kind: List" ../out && test_grep "^  kind: Job" ../out && test_grep "^  kind: Secret" ../out &&
	test_grep "generateName: dry-" ../out && test_must_fail grep managedFields ../out &&
	test_grep "uid: " ../out &&
	test "$(cluster_request_count "^POST .*/jobs.*dryRun=All")" = 1 &&
	test "$(cluster_request_count "^POST .*/secrets.*dryRun=All")" = 1 &&
	test "$(cluster_request_count "^POST" )" = 2 &&
	test "$(jobs_named dry)" = "$n" &&
	git checkout data.txt
'

test_expect_success 'rerun: a new Job, same options, current code (new uncommitted edit)' '
	cd w &&
	$DR $RES --cpu 150m --name re -e GREETING=hi --follow -- sh job.sh 0 >../out1 2>../err1 &&
	grep "^committed$" ../out1 && first=$(job_of ../err1) &&
	echo "edited, not committed" >data.txt &&
	$DR rerun --follow >../out2 2>../err2 &&
	cat ../err2 && second=$(job_of ../err2) &&
	test -n "$second" && test "$second" != "$first" &&
	test_grep "rerunning $first with the current code" ../err2 &&
	grep "^edited, not committed$" ../out2 &&
	kubectl get job -n $NS "$first" "$second" &&
	kubectl get job -n $NS "$second" -o jsonpath="{.spec.template.spec.containers[0].resources.requests.cpu} {.spec.template.spec.containers[0].env}" >../spec &&
	cat ../spec && test_grep "^150m " ../spec && test_grep GREETING ../spec &&
	test "$(jobs_named re)" = 2
'

test_expect_success 'rerun RUN -- COMMAND overrides the command; exit code passed through' '
	cd w && first=$(job_of ../err1) &&
	test_expect_code 5 $DR rerun "$first" --follow -- sh job.sh 5 >../out3 2>../err3 &&
	grep "^edited, not committed$" ../out3 &&
	test_expect_code 6 $DR rerun --follow -- sh job.sh 6 >/dev/null 2>../err4 &&
	test_grep "rerunning re-" ../err4 &&
	git checkout data.txt
'

test_expect_success 'completion: run names for attach/logs/delete, GPU products filtered' '
	cd w &&
	kubectl __complete eidf devrun attach "" >../comp 2>/dev/null && cat ../comp &&
	first=$(job_of ../err1) &&
	grep "^$first	Succeeded$" ../comp &&
	test "$(tail -n1 ../comp)" = ":4" &&
	kubectl __complete eidf devrun logs re- >../comp2 2>/dev/null &&
	test "$(sed "\$d" ../comp2 | cut -f1 | grep -vc "^re-")" = 0 &&
	test "$(sed "\$d" ../comp2 | wc -l)" -ge 2 &&
	kubectl __complete eidf devrun --gpu-product NV >../comp3 2>/dev/null && cat ../comp3 &&
	grep "^NVIDIA-A100-SXM4-80GB" ../comp3 &&
	test "$(sed "\$d" ../comp3 | cut -f1 | grep -vc "^NV")" = 0 &&
	kubectl __complete eidf devrun --gpu-product XX >../comp4 2>/dev/null &&
	test "$(wc -l <../comp4)" = 1
'

test_expect_success 'logs RUN --init shows the init container log' '
	cd w && first=$(job_of ../err1) &&
	$DR logs "$first" --init >../init.log && cat ../init.log &&
	test_grep "^devrun: fetching [0-9a-f]* from $GIT_DAEMON_URL" ../init.log &&
	test_grep "^devrun: code ready at /code" ../init.log &&
	$DR logs "$first" >../main.log && test_grep "^hello from /code$" ../main.log
'

test_expect_success 'delete RUN removes only that run'"'"'s Job and Secret' '
	cd w && echo changed >data.txt &&
	$DR $RES --name del --detach -- true >/dev/null 2>../d1 &&
	$DR $RES --name del --detach -- true >/dev/null 2>../d2 &&
	j1=$(job_of ../d1) r1=$(run_of ../d1) j2=$(job_of ../d2) r2=$(run_of ../d2) &&
	test "$(kubectl get secrets -n $NS -l eidf.ac.uk/run=$r1 -o name | wc -l)" = 1 &&
	$DR delete "$r1" >../del.out 2>../del.err && cat ../del.out ../del.err &&
	test_grep "job.batch \"$j1\" deleted" ../del.out &&
	test_must_fail kubectl get job -n $NS "$j1" 2>/dev/null &&
	test -z "$(kubectl get jobs,secrets -n $NS -l eidf.ac.uk/run=$r1 -o name)" &&
	kubectl get job -n $NS "$j2" &&
	test "$(kubectl get secrets -n $NS -l eidf.ac.uk/run=$r2 -o name | wc -l)" = 1 &&
	git checkout data.txt
'

test_expect_success '.gitattributes eol=crlf on a changed file: warned, tree check skipped, code intact' '
	cd w &&
	printf "*.crlf text eol=crlf\n" >.gitattributes && printf "a\nb\n" >x.crlf &&
	git add -A && git commit -q -m attrs && git push -q &&
	rm x.crlf && git checkout x.crlf && od -c x.crlf | grep -q "\\\\r" &&
	printf "a\r\nchanged\r\n" >x.crlf &&
	$DR $RES --follow -- sh -c "od -c x.crlf" >../out 2>../err &&
	cat ../err ../out &&
	test_grep "warning: .gitattributes converts x.crlf (eol=crlf)" ../err &&
	test_grep "tree check" ../err &&
	test_grep "c   h   a   n   g   e   d  \\\\r  \\\\n" ../out &&
	job=$(job_of ../err) &&
	kubectl get job -n $NS "$job" -o jsonpath="{.spec.template.spec.initContainers[0].env[*].name}" >../envs &&
	cat ../envs && test_grep EIDF_CHANGES_DIR ../envs && test_grep -v EIDF_TREE ../envs &&
	git checkout x.crlf
'

test_expect_success '.gitattributes: unconverted shipped files keep the tree check; ident/filter skip it' '
	cd w && echo other >data.txt &&
	$DR $RES --follow -- true >../out 2>../err &&
	test_grep -v "gitattributes" ../err &&
	job=$(job_of ../err) &&
	kubectl get job -n $NS "$job" -o jsonpath="{.spec.template.spec.initContainers[0].env[*].name}" >../envs &&
	test_grep EIDF_TREE ../envs &&
	git checkout data.txt &&
	# a shipped .gitattributes edit counts too: ident and filter drivers
	printf "*.crlf text eol=crlf\n*.id ident\n*.bin filter=lfs\n" >.gitattributes &&
	printf "\$Id\$\n" >a.id &&
	kubectl-eidf-devrun render -n $NS $RES -o json -- true >../r1.json &&
	init_env ../r1.json >../e1 && test_grep EIDF_CHANGES_DIR ../e1 && test_grep -v EIDF_TREE ../e1 &&
	rm a.id && printf "data\n" >b.bin &&
	kubectl-eidf-devrun render -n $NS $RES -o json -- true >../r2.json &&
	init_env ../r2.json >../e2 && test_grep EIDF_CHANGES_DIR ../e2 && test_grep -v EIDF_TREE ../e2 &&
	rm b.bin && printf "no dollar-Id here\n" >c.id &&
	kubectl-eidf-devrun render -n $NS $RES -o json -- true >../r3.json &&
	init_env ../r3.json >../e3 && test_grep EIDF_TREE ../e3 &&
	rm c.id && git checkout .gitattributes
'

test_expect_success 'the pod has the modes git records (0644/0755), nothing world-writable' '
	cd w && printf "#!/bin/sh\necho tool\n" >tool.sh && chmod 755 tool.sh &&
	mkdir -p newdir && echo new >newdir/new.txt &&
	$DR $RES --follow -- sh -c "stat -c \"%a %n\" job.sh data.txt tool.sh newdir newdir/new.txt;
		find . -mindepth 1 -path ./.git -prune -o -perm -002 -print" >../modes 2>../err &&
	cat ../modes &&
	printf "644 job.sh\n644 data.txt\n755 tool.sh\n755 newdir\n644 newdir/new.txt\n" >../modes.expect &&
	test_cmp ../modes.expect ../modes &&
	rm -r tool.sh newdir
'

test_expect_success 'a 30 MiB change goes with kubectl exec (auto): sizes and largest files shown, bytes intact' '
	cd w && head -c 31457280 /dev/urandom >model.bin && echo small >small.txt &&
	sum=$(sha256sum <model.bin | cut -d" " -f1) &&
	: >"$EIDF_CLUSTER_STATE/requests.jsonl" &&
	$DR $RES --follow --name big -- sh -c "wc -c <model.bin; sha256sum <model.bin" >../out 2>../err &&
	cat ../err ../out &&
	cluster_requests | grep "/pods/big-[^/]*/exec" >../execs &&
	test "$(sed -n "s/.*\"user_agent\":\"\([^\"/]*\)\/.*/\1/p" ../execs | sort -u)" = kubectl-eidf &&
	test_grep "the local changes go with kubectl exec once the pod starts (too large for a Secret)" ../err &&
	test_grep "30MiB  model.bin" ../err &&
	test_grep "2 files changed, 0 deleted (30MiB, 30MiB gzip, sent with kubectl exec)" ../err &&
	test_grep "local changes uploaded to pod big-" ../err &&
	test "$(sed -n 1p ../out)" = 31457280 && test_grep "^$sum" ../out &&
	run=$(run_of ../err) &&
	test -z "$(kubectl get secrets -n $NS -l eidf.ac.uk/run=$run -o name)"
'

test_expect_success '--detach with the exec transport returns once the changes are uploaded' '
	cd w &&
	$DR $RES --detach --changes-transport exec --name exd -- sh -c "cat small.txt" >../out 2>../err &&
	cat ../out ../err && job=$(cat ../out) && test -n "$job" &&
	test_grep "local changes uploaded to pod $job-" ../err &&
	$DR attach "$job" >../out2 2>../err2 && test_grep "^small$" ../out2 &&
	rm model.bin small.txt
'

test_expect_success '--changes-transport secret refuses a change over the budget, naming the largest files' '
	cd w && head -c 2000000 /dev/urandom >huge.bin &&
	test_expect_code 125 $DR $RES --follow --changes-transport secret -- true 2>../err &&
	cat ../err && test_grep "too large to ship in a Secret" ../err && test_grep "huge.bin" ../err &&
	rm huge.bin
'

test_expect_success 'submodules end to end: relative URL, an edit inside it, --no-submodules warns' '
	git init -q --bare -b main "$TRASH/srv/sub.git" &&
	git clone -q "${GIT_DAEMON_URL%/repo.git}/sub.git" subw 2>/dev/null &&
	(cd subw && git checkout -q -b main && echo "sub v1" >s.txt && echo x >gone.txt && git add -A &&
	 git commit -q -m v1 && git push -q -u origin main) &&
	cd w && git submodule add -q ../sub.git sub 2>/dev/null && git commit -q -m sub && git push -q &&
	echo "edited inside" >sub/s.txt && rm sub/gone.txt &&
	$DR $RES --follow --changes-transport exec -- sh -c "cat sub/s.txt; ls sub; git -C sub rev-parse HEAD" \
		>../out 2>../err &&
	cat ../err ../out &&
	test_grep "^edited inside$" ../out && test_grep "^$(git -C sub rev-parse HEAD)$" ../out &&
	test_grep -v "gone.txt" ../out &&
	$DR logs "$(job_of ../err)" --init >../init.log && test_grep "fetching submodule sub" ../init.log &&
	$DR $RES --follow --no-submodules -- sh -c "ls -A sub | wc -l" >../out 2>../err &&
	test_grep "warning: submodule sub is not shipped (--no-submodules)" ../err &&
	test "$(cat ../out)" = 0 &&
	git -C sub checkout -q s.txt gone.txt
'

test_expect_success 'a refused exec upload (403): one error line naming the pod and the fix; exit 125, the Job deleted' '
	cd w && echo up >up.txt &&
	cluster_fault fail --path "/pods/.*/exec" --status 403 &&
	test_expect_code 125 $DR $RES --follow --changes-transport exec --name upfail -- true 2>../err &&
	cat ../err &&
	test_grep "^error: uploading local changes to pod upfail-[a-z0-9-]* (container code): Error from server (Forbidden): injected fault (403); the upload needs the right to create pods/exec in namespace $NS (ask the project.s admin), or commit and push the large files" ../err &&
	test "$(grep -c "^error:" ../err)" = 1 &&
	test_grep "never got the local changes (exec transport): deleting it" ../err &&
	job=$(job_of ../err) && test_must_fail kubectl get job -n $NS "$job" 2>/dev/null
'

test_expect_success 'a changed byte on the way: the pod refuses the stream (sha256), its words and exit code in the error' '
	cd w &&
	cluster_fault corrupt --path "/pods/.*/exec" --stream stdin --at 700 &&
	test_expect_code 125 $DR $RES --follow --changes-transport exec --name upbad -- true 2>../err &&
	cat ../err &&
	test_grep "^error: uploading local changes to pod upbad-[a-z0-9-]* (container code): the receiving command failed (exit code 3): error: sha256 [0-9a-f]\{64\}, expected [0-9a-f]\{64\}$" ../err &&
	job=$(job_of ../err) && test_must_fail kubectl get job -n $NS "$job" 2>/dev/null &&
	rm up.txt
'

test_done
