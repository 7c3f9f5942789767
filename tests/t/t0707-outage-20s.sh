#!/bin/bash
# One 20 s outage of the API server, ridden out at once by devrun --follow,
# build-context submit (following) and fetch wait: each keeps its exit code,
# says once that the server was lost and once that it is back, and prints
# every line of the followed output once, in order (docs/waiting.md).
. "$(dirname "$0")/lib.sh"

. "$EIDF_SRC/tests/t/lib-outage.sh"
outage_setup --devrun busybox curl git
outage_pvc

# ---- one 20 s outage, ridden out by every kind of follower at once -----------------

cat >executor.sh <<EOF
while [ ! -e "$TRASH/release-build" ]; do sleep 0.2; done
echo "build line 1"
echo "build line 2"
exit 0
EOF

test_expect_success 'a 20 s outage: devrun --follow, build-context submit and fetch wait ride it out together' '
	git clone -q "$GIT_DAEMON_URL" w 2>/dev/null && (cd w && git checkout -q -b main &&
	printf "i=0; while [ ! -e \"%s\" ]; do i=\$((i+1)); echo tick \$i; sleep 0.3; done; echo done; exit 3\n" \
		"$TRASH/release-run" >job.sh &&
	git add -A && git commit -q -m init && git push -q -u origin main) &&
	job=$(held_fetch o8) && test -n "$job" &&
	bg f8 $FETCH wait "$job" &&
	(cd w && bg d8 $DR $RES --follow -- sh job.sh) &&
	mkdir -p ctx && echo "FROM scratch" >ctx/Dockerfile &&
	bg b8 $BC submit ctx --image registry.example/x:1 --builder-image busybox:test --cpu 100m \
		--memory 128Mi --executor-command "sh $TRASH/executor.sh" &&
	wait_for 30 grep -q "^$job: " f8.err &&
	wait_for 60 grep -q "^tick 2" d8.out &&
	wait_for 60 grep -q "job.batch/.* created" b8.out &&
	cluster_outage 20 refuse &&
	wait_for 30 grep -q "^lost the API server" d8.err &&
	touch release-build release-run && ctl "path=/slow.bin&hold_at=0" &&
	cluster_wait_up 40 &&
	wait_for 90 test -s f8.rc && wait_for 60 test -s d8.rc && wait_for 60 test -s b8.rc &&
	cat d8.err b8.err &&
	test "$(cat f8.rc)" = 0 && test "$(cat d8.rc)" = 3 && test "$(cat b8.rc)" = 0 &&
	# refused, or a stream cut when the server went away
	for n in f8 d8 b8; do lost_once $n.err ".*" && back_once $n.err || return 1; done &&
	# the command output, each line once and in order
	sed -n "s/^tick //p" d8.out >ticks && seq 1 "$(tail -n 1 ticks)" >want && test_cmp want ticks &&
	test "$(tail -n 1 d8.out)" = done &&
	test "$(grep -c "^build line" b8.out)" = 2
'

test_done
