#!/usr/bin/env bash
# kubectl eidf pvc cp stopped before it is done: Ctrl-C in the middle of a
# file (exit 130, the part kept, the re-run resumes), and a stream that keeps
# dropping (the copy gives up after 8 reconnects with one line that says to
# run it again).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pvc-cp.sh"

start_cluster --eidf-policy --tenant eidf042ns

SIZE=$((64 << 20))
size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
# part_at_least FILE N: FILE (a part) holds N bytes or more
part_at_least() { test "$(size_of "$1")" -ge "$2"; }

test_expect_success 'setup: a claim, a 64 MiB file' '
	kubectl eidf pvc create data --size 1Gi --wait=30s &&
	head -c $SIZE /dev/urandom >big.bin
'

# interrupt PART CMD...: CMD in the background (its stdout in out, stderr in
# err); once PART holds 1 MiB, SIGINT to it (kubectl execs the plugin, which
# execs kubectl-eidf-pvc: the same process); its exit code in rc.  A shell
# without job control starts background commands with SIGINT ignored: CMD
# gets it back as at a terminal.
interrupt() {
	local part=$1 pid
	shift
	python3 -c "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])" \
		"$@" >out 2>err &
	pid=$!
	wait_for 60 part_at_least "$part" 1048576 &&
	kill -INT "$pid"
	wait "$pid"
	echo $? >rc
}

test_expect_success 'Ctrl-C in the middle of an upload: exit 130, the part kept, the helper gone; the re-run resumes' '
	vol=$(cluster_volume_dir data) &&
	interrupt "$vol/big.bin.eidf-part" kubectl eidf pvc cp big.bin data:big.bin &&
	cat err &&
	test "$(cat rc)" = 130 &&
	test_grep "^pvc cp: interrupted; big.bin stays as its part data:big.bin.eidf-part: run the same command again to resume$" err &&
	test_grep -v "^error" err &&
	test ! -s out &&
	test ! -e "$vol/big.bin" &&
	test -f "$vol/big.bin.eidf-part" &&
	test -z "$(kubectl get jobs -l eidf.ac.uk/stage=pvc -o name)" &&
	kubectl eidf pvc cp big.bin data:big.bin --keep -o json >out.json &&
	test "$(json_field out.json resumed)" = 1 &&
	test "$(json_field out.json bytes)" -lt $SIZE &&
	cmp big.bin "$vol/big.bin" &&
	no_part_files "$vol"
'

test_expect_success 'Ctrl-C in the middle of a download: exit 130, the part kept, nothing under the name; the re-run resumes' '
	interrupt down.bin.eidf-part kubectl eidf pvc cp data:big.bin down.bin &&
	cat err &&
	test "$(cat rc)" = 130 &&
	test_grep "^pvc cp: interrupted; data:big.bin stays as its part down.bin.eidf-part: run the same command again to resume$" err &&
	test_grep "^kept helper Job pvc-helper-" err &&
	test ! -e down.bin &&
	test -f down.bin.eidf-part &&
	kubectl eidf pvc cp data:big.bin down.bin -o json >out.json &&
	test "$(json_field out.json resumed)" = 1 &&
	test "$(json_field out.json bytes)" -lt $SIZE &&
	cmp big.bin down.bin &&
	no_part_files .
'

# every exec session cut after 1.5 MB both ways (the local cluster's `cut`
# fault, one per session): the copy reopens it 8 times, with a growing pause
# between (200 ms more each time: 7.2 s in all), then gives up
test_expect_success 'a stream that drops every time: after 8 reconnects, one error naming the helper pod, exit 1, the part kept' '
	vol=$(cluster_volume_dir data) &&
	head -c $((16 << 20)) big.bin >drops.bin &&
	cluster_fault cut --path "/pods/.*/exec" --bytes 1500000 --count 9 &&
	test_expect_code 1 kubectl eidf pvc cp drops.bin data:drops.bin >out 2>err &&
	cat err &&
	test "$(grep -c "^the stream to pod pvc-helper-[a-z0-9-]* dropped (.*); resuming$" err)" = 8 &&
	test_grep "^error: the stream to helper pod pvc-helper-[a-z0-9-]* dropped 8 times; last: .*; run the same command again to resume$" err &&
	test "$(grep -c "^error\|^warning" err)" = 1 &&
	test ! -s out &&
	test ! -e "$vol/drops.bin" &&
	part_at_least "$vol/drops.bin.eidf-part" 1048576 &&
	test -z "$(cluster_ctl faults | grep cut)" &&
	kubectl eidf pvc cp drops.bin data:drops.bin -o json >out.json &&
	test "$(json_field out.json resumed)" = 1 &&
	cmp drops.bin "$vol/drops.bin"
'

test_done
