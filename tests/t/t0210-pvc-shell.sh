#!/usr/bin/env bash
# kubectl eidf pvc shell: a helper Job mounts the claim and the real kubectl
# execs a shell in it (the local cluster's WebSocket exec); the Job is deleted
# afterwards unless --keep.
. "$(dirname "$0")/lib.sh"

start_cluster --eidf-policy --tenant eidf042ns

no_helper_jobs() { test -z "$(kubectl get jobs -l eidf.ac.uk/stage=pvc -o name)"; }
no_pods() { test -z "$(kubectl get pods -o name)"; }

test_expect_success 'setup: a bound claim with files on it' '
	kubectl eidf pvc create data --size 1Gi --wait=30s &&
	vol=$(cluster_volume_dir data) &&
	echo hello >"$vol/file1.txt" &&
	mkdir "$vol/results"
'

test_expect_success 'shell with piped stdin runs the commands at the mount and deletes its Job' '
	echo "ls /mnt/ceph; pwd; exit 0" | kubectl eidf pvc shell data >out 2>err &&
	test_grep "^file1.txt$" out &&
	test_grep "^results$" out &&
	test_grep "^/mnt/ceph$" out &&
	test_grep "PVC \"data\" is mounted at /mnt/ceph in pod pvc-helper-" err &&
	test_grep "deleted Job pvc-helper-" err &&
	no_helper_jobs &&
	wait_for 20 no_pods
'

test_expect_success 'what the shell writes lands on the volume; its exit code is the plugin'"'"'s' '
	printf "echo made-in-shell >results/new.txt\nexit 7\n" | test_expect_code 7 kubectl eidf pvc shell data 2>err &&
	echo made-in-shell >expect &&
	test_cmp expect "$(cluster_volume_dir data)/results/new.txt" &&
	test_grep "deleted Job" err &&
	no_helper_jobs
'

test_expect_success '--keep leaves the Job and says how to re-attach and delete it' '
	echo "exit 0" | kubectl eidf pvc shell data --keep 2>err &&
	test_grep "kept Job pvc-helper-" err &&
	test_grep -v "deleted Job" err &&
	job=$(kubectl get jobs -l eidf.ac.uk/stage=pvc -o jsonpath="{.items[0].metadata.name}") &&
	test -n "$job" &&
	attach=$(sed -n "/re-attach with:/{n;s/^  //p}" err) &&
	delete=$(sed -n "/delete it with:/{n;s/^  //p}" err) &&
	echo "$attach" | grep "^kubectl --namespace=eidf042ns exec -it $job-[a-z0-9]* -c helper -- sh -c .cd /mnt/ceph; exec sh.$" &&
	test "$delete" = "kubectl --namespace=eidf042ns delete job $job" &&
	echo "ls" | eval "${attach/ -it / -i }" >out &&
	test_grep "^file1.txt$" out &&
	$delete &&
	no_helper_jobs &&
	wait_for 20 no_pods
'

if tmux_setup; then
	test_expect_success 'shell on a terminal (tmux): interactive, then the Job is gone' '
		rm -f "$TRASH/tty.rc" &&
		tmux_start "kubectl eidf pvc shell data; echo \$? >\"$TRASH/tty.rc\"; sleep 60" &&
		tmux_wait "/mnt/ceph #" &&
		tmux_keys "ls; echo \$((6*7)); exit" Enter &&
		wait_for 20 test -s "$TRASH/tty.rc" &&
		echo 0 >expect && test_cmp expect "$TRASH/tty.rc" &&
		tmux_wait "file1.txt" &&
		tmux_wait "^42" &&
		tmux_wait "deleted Job pvc-helper-" &&
		tmux_stop &&
		no_helper_jobs
	'
else
	test_skip 'shell on a terminal (tmux): interactive, then the Job is gone' 'tmux is not installed'
fi

test_expect_success 'shell on a missing claim fails before creating a Job' '
	test_must_fail kubectl eidf pvc shell nosuch </dev/null 2>err &&
	test_grep "nosuch" err &&
	no_helper_jobs
'

test_done
