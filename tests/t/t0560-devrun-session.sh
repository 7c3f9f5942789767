#!/bin/bash
# kubectl eidf devrun --session: one held pod, runs with kubectl exec that
# ship only what changed since the previous run (checked by tree id in the
# pod), exit codes passed through, Ctrl-C stopping the command in the pod,
# one run at a time, the idle timeout giving the GPU back, --watch.
. "$(dirname "$0")/lib.sh"

if ! command -v busybox >/dev/null || ! command -v git >/dev/null || ! command -v python3 >/dev/null; then
	test_skip "devrun session tests" "needs busybox, git and python3"
	test_done
fi
NS=eidf989ns
start_cluster --tenant $NS --eidf-policy --gpu-quota 1 || exit 1
. "$EIDF_SRC/tests/t/lib-devrun.sh"
S="$DR --session s1"
# shipped FILE: the "shipping ..." part of devrun's line about the run
shipped() { sed -n 's/^devrun: session [a-z0-9-]*: run [a-z0-9]* in pod [^:]*: .*; shipping \(.*\) (.*/\1/p' "$1"; }
pod_of() { sed -n 's/^devrun: session [a-z0-9-]*: run [a-z0-9]* in pod \([^:]*\):.*/\1/p' "$1"; }
job_succeeded() { test "$(kubectl get job -n $NS "$1" -o jsonpath='{.status.succeeded}')" = 1; }
session_pod() { kubectl get pods -n $NS -l eidf.ac.uk/session=$1 -o jsonpath='{.items[0].metadata.name}'; }

test_expect_success 'setup' '
	git clone -q "$GIT_DAEMON_URL" w 2>/dev/null && cd w && git checkout -q -b main &&
	echo one >a.txt && echo two >b.txt && mkdir sub && echo three >sub/c.txt &&
	printf "import sys, json\nprint(json.dumps(sys.argv[1:]))\n" >argv.py &&
	git add -A && git commit -q -m init && git push -q -u origin main &&
	cluster_bound_pvc data -n $NS
'

test_expect_success 'the first run creates the session and runs the command in /code' '
	cd w && echo local >a.txt &&
	$S --idle-timeout 10m --pvc data $RES -- sh -c "pwd; cat a.txt sub/c.txt; echo \$EIDF_RUN" >../out 2>../err &&
	cat ../err &&
	test_grep "^devrun: session s1: job.batch/devrun-s1-[a-z0-9]* created" ../err &&
	printf "/code\nlocal\nthree\n" >../expect && head -3 ../out >../got && test_cmp ../expect ../got &&
	run=$(sed -n "s/^devrun: session s1: run \([a-z0-9]*\) .*/\1/p" ../err) &&
	test "$(sed -n 4p ../out)" = "$run" &&
	test "$(shipped ../err)" = "1 file, 0 deleted, 0 restored" &&
	test_grep "devrun: session s1 (pod .*) ends after 10m without a run" ../err &&
	pod_of ../err >../pod1
'

test_expect_success 'the next run reuses the pod and ships only the one file edited since' '
	cd w && echo "x = 1" >big.py && seq 1 20000 >>big.py && $S -- true 2>../err0 && cat ../err0 &&
	echo edited >b.txt &&
	: >"$EIDF_CLUSTER_STATE/requests.jsonl" &&
	$S -- cat a.txt b.txt >../out 2>../err && cat ../err &&
	test_grep -v "created" ../err &&
	test "$(pod_of ../err)" = "$(cat ../pod1)" &&
	test "$(shipped ../err)" = "1 file, 0 deleted, 0 restored" &&
	printf "local\nedited\n" >../expect && test_cmp ../expect ../out &&
	# big.py (100 KiB) went once, with the run before: now a few hundred bytes
	test_grep "0 restored ([0-9]*B, changed since the previous run)" ../err &&
	test_grep "shipping 1 file, 0 deleted, 0 restored ([0-9.]*KiB, changed since the previous run)" ../err0 &&
	# devrun goes straight to the pod the previous run used: one exec (one
	# WebSocket, devrun'"'"'s own, no kubectl); while it runs, devrun records
	# the run on the pod (session list)
	cluster_requests >../requests &&
	test "$(grep -c "\"GET\".*/pods/$(cat ../pod1)/exec\".*kubectl-eidf/" ../requests)" = 1 &&
	test "$(grep -c "\"PATCH\".*/pods/$(cat ../pod1)\".*kubectl-eidf/" ../requests)" = 1 &&
	test "$(wc -l <../requests)" = 2
'

test_expect_success 'deleted, renamed and re-added files; what a run wrote in /code is gone, on the PVC kept' '
	cd w && git rm -qf b.txt && git mv sub/c.txt sub/d.txt && rm big.py &&
	$S -- sh -c "ls -R; echo out >written-by-run.txt; echo kept >/mnt/ceph/on-the-pvc.txt" >../out 2>../err &&
	cat ../err &&
	test "$(shipped ../err)" = "1 file, 3 deleted, 0 restored" &&
	test_grep -v "^b.txt$" ../out && test_grep -v "^c.txt$" ../out && test_grep "^d.txt$" ../out &&
	git checkout -q HEAD b.txt && git mv sub/d.txt sub/c.txt &&
	$S -- ls . sub /mnt/ceph >../out 2>../err && cat ../err &&
	test_grep "^on-the-pvc.txt$" ../out &&
	test "$(shipped ../err)" = "0 files, 1 deleted, 2 restored" &&
	test_grep "^b.txt$" ../out && test_grep "^c.txt$" ../out && test_grep -v "^d.txt$" ../out &&
	test_grep -v "written-by-run" ../out
'

test_expect_success 'a mode change alone is shipped' '
	cd w && chmod +x a.txt &&
	$S -- sh -c "test -x a.txt && echo executable" >../out 2>../err &&
	test "$(shipped ../err)" = "1 file, 0 deleted, 0 restored" && test_grep "^executable$" ../out &&
	chmod -x a.txt
'

test_expect_success 'a new pushed commit is fetched in the pod; nothing else ships' '
	cd w && echo pushed >p.txt && git add -A && git commit -q -m more && git push -q &&
	$S -- cat p.txt a.txt >../out 2>../err && cat ../err &&
	printf "pushed\nlocal\n" >../expect && test_cmp ../expect ../out &&
	test_grep "fetching the new commit $(git rev-parse HEAD)" ../err &&
	test "$(shipped ../err)" = "0 files, 0 deleted, 0 restored"
'

test_expect_success 'a private repository: a new pushed commit is fetched with --git-secret; the token shows nowhere' '
	tok=t0560-token-$$-s3cr3t &&
	mkdir priv-root && git clone -q --bare "$TRASH/srv/repo.git" priv-root/private.git &&
	{ python3 "$EIDF_SRC/tests/servers/git_http_server.py" "$TRASH/priv-root" u "$tok" "$TRASH/priv.port" \
		"$TRASH/priv.log" >priv.out 2>&1 & } &&
	test_atexit "kill $!" &&
	wait_for 10 test -s priv.port &&
	url=http://127.0.0.1:$(cat priv.port)/private.git &&
	cred="!f() { echo username=u; echo password=$tok; }; f" &&
	git -c credential.helper="$cred" clone -q "$url" p && cd p &&
	kubectl create secret generic gitcred -n $NS --from-literal=username=u --from-literal=token="$tok" >/dev/null &&
	$DR --session priv --git-secret gitcred $RES -- cat a.txt >../pout 2>../perr && cat ../perr &&
	echo more >m.txt && git add m.txt && git commit -q -m m && git -c credential.helper="$cred" push -q origin main &&
	$DR --session priv -- cat m.txt >../pout2 2>../perr2 && cat ../perr2 &&
	test "$(cat ../pout2)" = more &&
	test_grep "fetching the new commit $(git rev-parse HEAD)" ../perr2 &&
	# the server asked, and the pod answered with the Secret
	test_grep "^GET /private.git/info/refs 401 noauth$" ../priv.log &&
	test_grep "^POST /private.git/git-upload-pack 200 auth$" ../priv.log &&
	kubectl get jobs,pods -n $NS -l eidf.ac.uk/session=priv -o json >../pjson &&
	kubectl logs -n $NS "$(session_pod priv)" -c sync >../plog &&
	! grep -l "$tok" ../perr ../perr2 ../pout ../pout2 ../pjson ../plog &&
	$DR session stop priv >/dev/null
'

test_expect_success 'submodules: at the commit checked out here, local edits and deletions shipped, a new commit fetched' '
	sub_url=${GIT_DAEMON_URL%/repo.git}/sub.git &&
	git init -q --bare -b main "$TRASH/srv/sub.git" &&
	git clone -q "$sub_url" subw 2>/dev/null && (cd subw && git checkout -q -b main && echo s1 >s.txt &&
		echo keep >k.txt && git add -A && git commit -q -m s && git push -q -u origin main) &&
	git clone -q "$GIT_DAEMON_URL" sm && cd sm && git checkout -q -b sm &&
	git submodule add -q "$sub_url" lib && git commit -q -m "with lib" && git push -q -u origin sm &&
	echo local >lib/s.txt &&
	$DR --session sm $RES -- cat lib/s.txt lib/k.txt >../smout 2>../smerr && cat ../smerr &&
	printf "local\nkeep\n" >../expect && test_cmp ../expect ../smout &&
	(cd lib && git checkout -q s.txt && echo s2 >s.txt && git commit -q -am s2 && git push -q origin HEAD:main) &&
	$DR --session sm -- cat lib/s.txt >../smout 2>../smerr && cat ../smerr &&
	test "$(cat ../smout)" = s2 &&
	test_grep "fetching submodule lib: $(git -C lib rev-parse HEAD)" ../smerr &&
	(cd lib && git rm -q k.txt) &&
	$DR --session sm -- ls lib >../smout 2>../smerr && cat ../smerr &&
	test_grep "^s.txt$" ../smout && test_grep -v "^k.txt$" ../smout &&
	# refused here after the exec started (it overlaps with the diff): the
	# pod ends that run unstarted and the session is free for the next
	(cd lib && echo s3 >s.txt && git commit -q -am s3) &&
	test_expect_code 125 $DR --session sm -- echo never >../smout 2>../smerr && cat ../smerr &&
	test ! -s ../smout && test_grep "is not on any remote-tracking branch" ../smerr &&
	(cd lib && git push -q origin HEAD:main) &&
	$DR --session sm -- cat lib/s.txt >../smout 2>../smerr && cat ../smerr &&
	test "$(cat ../smout)" = s3 &&
	$DR session stop sm >/dev/null
'

test_expect_success 'exit codes 3 and 137 are the command'"'"'s own (0: every run above)' '
	cd w &&
	test_expect_code 3 $S -- sh -c "exit 3" 2>/dev/null &&
	test_expect_code 137 $S -- sh -c "kill -9 \$\$" 2>/dev/null
'

test_expect_success 'argv reaches the command exactly: quotes, spaces, newlines, no shell' '
	cd w &&
	$S -- python3 argv.py "a b" "\"q\"" "it'"'"'s" "\$HOME" "line1
line2" "" "*" >../out 2>/dev/null &&
	python3 -c "import json,sys; assert json.load(open(sys.argv[1])) == [\"a b\", \"\\\"q\\\"\", \"it'"'"'s\", \"\$HOME\", \"line1\\nline2\", \"\", \"*\"], open(sys.argv[1]).read()" ../out &&
	$S --shell -- echo "\$EIDF_COMMIT" >../out 2>/dev/null &&
	test "$(cat ../out)" = "$(git rev-parse HEAD)"
'

test_expect_success '/code changed by hand between runs is put back before the next run' '
	cd w && pod=$(session_pod s1) &&
	kubectl exec -n $NS "$pod" -c sync -- sh -c "echo by-hand >/code/a.txt; echo stray >/code/stray.txt" &&
	$S -- sh -c "cat a.txt; ls" >../out 2>../err && cat ../err &&
	test "$(sed -n 1p ../out)" = local &&
	test_grep -v "^stray.txt$" ../out
'

test_expect_success 'the tree check fails loudly when the pod'"'"'s tree differs' '
	cd w && pod=$(session_pod s1) &&
	kubectl exec -n $NS "$pod" -c sync -- sh -c "echo new.txt >>/code/.git/info/exclude" &&
	echo new >new.txt &&
	test_expect_code 125 $S -- echo never >../out 2>../err && cat ../err &&
	test ! -s ../out &&
	test_grep "does not match the local working tree" ../err &&
	test_grep "the tree in pod $pod differs from the local working tree" ../err &&
	kubectl exec -n $NS "$pod" -c sync -- sh -c "sed -i /new.txt/d /code/.git/info/exclude" &&
	$S -- cat new.txt >../out 2>../err && test "$(cat ../out)" = new &&
	rm new.txt
'

test_expect_success 'a second run while one runs is refused, naming the run' '
	cd w
	($S -- sh -c "echo started; while [ ! -f /tmp/t0560-go ]; do sleep 0.1; done" >../long.out 2>../long.err; echo $? >../long.rc) &
	wait_for 30 grep -q started ../long.out &&
	test_expect_code 125 $S -- true 2>../err && cat ../err &&
	run=$(sed -n "s/^devrun: session s1: run \([a-z0-9]*\) .*/\1/p" ../long.err) &&
	test_grep "session s1 is busy: run $run holds it" ../err &&
	touch /tmp/t0560-go && wait_for 30 test -s ../long.rc && rm -f /tmp/t0560-go &&
	test "$(cat ../long.rc)" = 0
'

test_expect_success 'Ctrl-C stops the command in the pod; the session goes on' '
	cd w
	($S -- sh -c "echo started; exec sleep 4560" >../ci.out 2>../ci.err & echo $! >../ci.pid; wait $!; echo $? >../ci.rc) &
	wait_for 30 grep -q started ../ci.out &&
	test -n "$(cluster_pids "^sleep 4560\$")" &&
	kill -INT $(cat ../ci.pid) &&
	wait_for 30 test -s ../ci.rc && cat ../ci.err &&
	test "$(cat ../ci.rc)" = 130 &&
	test_grep "stopping run" ../ci.err &&
	test -z "$(cluster_pids "sleep 4560")" &&
	$S -- echo still-here >../out 2>/dev/null && test "$(cat ../out)" = still-here
'

test_expect_success '--watch runs again after a save, stopping the run still going' '
	cd w
	echo v1 >w.txt &&
	($S --watch -- sh -c "cat w.txt; exec sleep 4561" >../w.out 2>../w.err & echo $! >../w.pid; wait $!; echo $? >../w.rc) &
	wait_for 30 grep -q "^v1$" ../w.out &&
	echo v2 >w.txt &&
	wait_for 30 grep -q "^v2$" ../w.out && cat ../w.err &&
	test_grep "w.txt changed: stopping the run to start it again" ../w.err &&
	test "$(cluster_pids "^sleep 4561\$" | wc -l)" = 1 &&
	kill -INT $(cat ../w.pid) && wait_for 30 test -s ../w.rc &&
	test -z "$(cluster_pids "sleep 4561")" &&
	rm w.txt
'

test_expect_success 'session list shows it; session attach shows the last run'"'"'s output and code' '
	cd w &&
	$DR session list >../list && cat ../list &&
	test_grep "^NAME  *POD  *GPU  *STATE  *IDLE  *RUNS  *COMMIT  *AGE$" ../list &&
	test_grep "^s1  *devrun-s1-[a-z0-9-]*  *0  *Ready  *[0-9][0-9a-z]*  *[1-9][0-9]*  *$(git rev-parse --short=12 HEAD)  " ../list &&
	test_expect_code 130 $DR session attach s1 >../att.out 2>../att.err &&
	test_grep "^v2$" ../att.out && test_grep "(ended)" ../att.err
'

test_expect_success 'a run differing from the session'"'"'s pod is refused, naming the difference' '
	cd w &&
	test_expect_code 2 $S --image alpine:3 -- true 2>../err &&
	test_grep "session s1 was started with other options: --image alpine:3 (the session has busybox:latest)" ../err &&
	test_expect_code 2 $S --pvc other -- true 2>../err &&
	test_grep "other options: --pvc other (the session has data)" ../err
'

test_expect_success 'the session pod evicted mid-run: exit 126, the session is gone' '
	cd w
	($S -- sh -c "echo started; exec sleep 4562" >../ev.out 2>../ev.err; echo $? >../ev.rc) &
	wait_for 30 grep -q started ../ev.out &&
	cluster_evict "$(pod_of ../ev.err)" -n $NS &&
	wait_for 30 test -s ../ev.rc && cat ../ev.err &&
	test "$(cat ../ev.rc)" = 126 &&
	test_grep "session s1 is gone: its pod" ../ev.err &&
	$DR session stop s1 >../stop && test_grep "session \"s1\" stopped" ../stop &&
	# the next run goes to the pod it knew, finds it gone, and starts the session again
	$S $RES -- echo again >../out 2>../err && cat ../err &&
	test "$(cat ../out)" = again &&
	test_grep "^devrun: session s1: job.batch/devrun-s1-[a-z0-9]* created" ../err &&
	test_grep -v "not found" ../err &&
	$DR session stop s1 >../stop
'

test_expect_success 'session start; the idle timeout ends the pod: the GPU goes to the next Job in the queue' '
	cd w &&
	$DR session start gpu --gpu 1 --idle-timeout 2s $RES >../pod 2>../err && cat ../err &&
	test_grep "session gpu: job.batch/devrun-gpu-[a-z0-9]* created (1 GPU; it ends after 2s without a run)" ../err &&
	test_grep "session gpu is ready (pod $(cat ../pod))" ../err &&
	$DR $RES --gpu 1 --detach -- true >../job 2>/dev/null &&
	wait_for 30 job_succeeded "$(cat ../job)" &&
	test "$(kubectl get pods -n $NS -l eidf.ac.uk/session=gpu -o jsonpath="{.items[0].status.phase}")" = Succeeded
'

test_expect_success 'every request line stayed short (scripts go on the exec'"'"'s stdin; proxies refuse long lines)' '
	cluster_long_requests 2048 >long && cat long && test ! -s long
'

test_done
