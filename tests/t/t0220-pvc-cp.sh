#!/usr/bin/env bash
# kubectl eidf pvc cp: files and directory trees to and from a claim through a
# helper Job and one exec stream of the API client, with sha256 on both
# sides; a re-run sends nothing; a stream dropped by the local cluster (a
# `cut` fault on the exec request) resumes after the last verified byte; a
# corrupted chunk is caught and sent again; hostile paths and missing or
# busy claims are refused with the fix.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pvc-cp.sh"

start_cluster --eidf-policy --tenant eidf042ns

# kubectl >= 1.26 runs kubectl_complete-eidf[-STAGE] from PATH.
mkdir -p "$TRASH/complete-bin"
kubectl-eidf completion install --dir "$TRASH/complete-bin" >/dev/null
export PATH="$TRASH/complete-bin:$PATH"


test_expect_success 'setup: a claim, and a tree with nested dirs, symlinks, an executable, a 3 MiB file' '
	kubectl eidf pvc create data --size 1Gi --wait=30s &&
	mkdir -p src/sub/deep "src/with space" &&
	head -c 3145728 /dev/urandom >src/big.bin &&
	head -c 1048576 /dev/urandom >src/sub/one-mib.bin &&
	printf "#!/bin/sh\necho run\n" >src/sub/run.sh && chmod 755 src/sub/run.sh &&
	echo deep >src/sub/deep/file.txt && chmod 640 src/sub/deep/file.txt &&
	echo spaced >"src/with space/a b.txt" &&
	: >src/empty &&
	ln -s sub/run.sh src/link-in &&
	ln -s ../../../etc/passwd src/sub/link-out &&
	chmod 4755 src/sub/run.sh && chmod 711 src/sub
'

test_expect_success 'upload a tree (--keep leaves the helper for the next copies)' '
	kubectl eidf pvc cp src data:proj --keep -o json >out.json 2>err &&
	test "$(json_field out.json files)" = 6 &&
	test "$(json_field out.json bytes)" = $((3145728 + 1048576 + 19 + 5 + 7)) &&
	test "$(json_field out.json symlinks)" = 2 &&
	test "$(json_field out.json skipped)" = 0 &&
	test_grep "kept helper Job pvc-helper-" err &&
	vol=$(cluster_volume_dir data) &&
	test "$(stat -c %a "$vol/proj/sub/run.sh")" = 755 &&
	chmod 755 src/sub/run.sh && same_tree src "$vol/proj" &&
	test "$(readlink "$vol/proj/sub/link-out")" = ../../../etc/passwd &&
	no_part_files "$vol"
'

test_expect_success 'modes are kept without setuid/setgid' '
	vol=$(cluster_volume_dir data) &&
	test "$(stat -c %a "$vol/proj/sub/run.sh")" = 755 &&
	test "$(stat -c %a "$vol/proj/sub/deep/file.txt")" = 640 &&
	test "$(stat -c %a "$vol/proj/sub")" = 711
'

test_expect_success 'a re-run sends nothing (size and sha256 equal); piped: one summary line' '
	kubectl eidf pvc cp src data:proj >out 2>err &&
	test_grep "using the kept helper Job" err &&
	test "$(wc -l <out)" = 1 &&
	test_grep "^uploaded 0 files (0B) to data:proj in .*, 6 already there, 2 symlinks$" out
'

test_expect_success 'download the tree: the same files, modes and symlinks' '
	kubectl eidf pvc cp data:proj back -o json >out.json &&
	test "$(json_field out.json files)" = 6 &&
	same_tree src back &&
	no_part_files back &&
	kubectl eidf pvc cp data:proj back -o json >out.json &&
	test "$(json_field out.json files)" = 0 &&
	test "$(json_field out.json skipped)" = 6
'

# on_pty OUT CMD...: CMD with a pseudo-terminal of 200 columns as its stdin,
# stdout and stderr (what a user at a terminal sees), all of it into OUT; CMD's
# exit code
on_pty() {
	python3 - "$@" >"$1" <<-\PY
	import fcntl, os, pty, struct, sys, termios
	pid, fd = pty.fork()
	if pid == 0:
	    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 200, 0, 0))
	    os.execvp(sys.argv[2], sys.argv[2:])
	out = b""
	while True:
	    try:
	        b = os.read(fd, 65536)
	    except OSError:              # EIO: the terminal's last writer is gone
	        break
	    if not b:
	        break
	    out += b
	_, st = os.waitpid(pid, 0)
	sys.stdout.buffer.write(out)
	sys.exit(os.waitstatus_to_exitcode(st))
	PY
}
# the lines of a terminal's output, each redraw of a progress line on its own
screen_lines() { sed -e "s/\r$//" "$1" | tr "\r" "\n" | sed -e "s/\x1b\[K//g" | grep -v "^$"; }

test_expect_success 'a 200 MiB file both ways; progress on a terminal (bytes, rate, ETA, file), one line piped' '
	head -c $((200 << 20)) /dev/urandom >big200.bin &&
	on_pty pty.out kubectl eidf pvc cp big200.bin data:big200.bin &&
	screen_lines pty.out >lines &&
	cat lines &&
	vol=$(cluster_volume_dir data) &&
	cmp big200.bin "$vol/big200.bin" &&
	no_part_files "$vol" &&
	test_grep "^uploading to data:big200.bin \[[#-]*\] [0-9]*%  [0-9.]*[KMG]*i*B of 200MiB, [0-9.]*MiB/s, ETA [0-9]*s  big200.bin$" lines &&
	grep -A1 "^uploading to " lines | tail -n 2 >end &&
	test_grep "^uploading to data:big200.bin \[#*\] 100%  200MiB of 200MiB, [0-9.]*MiB/s$" end &&
	test_grep "^uploaded 1 file (200MiB) to data:big200.bin in [0-9.]*s ([0-9.]*MiB/s)$" end &&
	kubectl eidf pvc cp data:big200.bin big200-down.bin >out 2>err &&
	test "$(wc -l <out)" = 1 &&
	test_grep "^downloaded 1 file (200MiB) from data:big200.bin in [0-9.]*s ([0-9.]*MiB/s)$" out &&
	test_grep -v "downloading\|%" err &&
	cmp big200.bin big200-down.bin &&
	no_part_files . &&
	rm -f big200.bin big200-down.bin "$vol/big200.bin"
'

# the first drawing of the line and the one at 100% are never skipped (the
# others at most every 100 ms): they name the first file sent and the last
test_expect_success 'progress on a terminal across a tree names each file as it goes, and none again once left' '
	mkdir ptree && for f in a b c; do head -c 4194304 /dev/urandom >ptree/$f.bin || return 1; done &&
	on_pty pty.out kubectl eidf pvc cp ptree data:ptree &&
	screen_lines pty.out | grep "^uploading to data:ptree .*  ptree/" >lines &&
	sed -e "s/.*  //" lines | uniq >names &&
	cat names &&
	test "$(wc -l <names)" -ge 2 &&
	test -z "$(sort names | uniq -d)" &&
	test -z "$(grep -v "^ptree/[abc].bin$" names)" &&
	same_tree ptree "$(cluster_volume_dir data)/ptree"
'

test_expect_success 'one file: into an existing directory, or under a new name' '
	mkdir into &&
	kubectl eidf pvc cp data:proj/sub/run.sh into >/dev/null &&
	cmp src/sub/run.sh into/run.sh &&
	kubectl eidf pvc cp src/sub/run.sh src/empty data:two/ >/dev/null &&
	cmp src/sub/run.sh "$(cluster_volume_dir data)/two/run.sh"
'

test_expect_success 'a dropped exec stream (upload) resumes after the verified bytes, <= 1 MiB sent again' '
	head -c 4194304 /dev/urandom >drop-up.bin &&
	cluster_fault cut --path "/pods/.*/exec" --bytes 2500000 &&
	kubectl eidf pvc cp drop-up.bin data:drop-up.bin -o json >out.json 2>err &&
	cat err &&
	test_grep "the stream to pod .* dropped" err &&
	test "$(json_field out.json reconnects)" = 1 &&
	test "$(json_field out.json resumed)" = 1 &&
	test "$(json_field out.json resentBytes)" -le 1048576 &&
	cmp drop-up.bin "$(cluster_volume_dir data)/drop-up.bin" &&
	no_part_files "$(cluster_volume_dir data)"
'

test_expect_success 'a dropped exec stream (download) resumes, <= 1 MiB received again' '
	cluster_fault cut --path "/pods/.*/exec" --bytes 2500000 &&
	kubectl eidf pvc cp data:drop-up.bin drop-down.bin -o json >out.json 2>err &&
	test_grep "the stream to pod .* dropped" err &&
	test "$(json_field out.json resumed)" = 1 &&
	test "$(json_field out.json resentBytes)" -le 1048576 &&
	cmp drop-up.bin drop-down.bin &&
	cluster_requests | grep "/pods/pvc-helper-[^/]*/exec" >execs &&
	test_grep "\"user_agent\":\"kubectl-eidf/" execs &&
	! grep "\"user_agent\":\"kubectl/" execs &&
	test ! -e drop-down.bin.eidf-part
'

test_expect_success 'a part left on the claim counts only as far as its chunks match this file' '
	vol=$(cluster_volume_dir data) &&
	head -c 3145728 /dev/urandom >stale.bin &&
	{ head -c 1048576 stale.bin && head -c 1048576 /dev/urandom; } >"$vol/stale.bin.eidf-part" &&
	kubectl eidf pvc cp stale.bin data:stale.bin -o json >out.json &&
	test "$(json_field out.json resumed)" = 1 &&
	test "$(json_field out.json bytes)" = 2097152 &&
	cmp stale.bin "$vol/stale.bin" &&
	head -c 2097152 /dev/urandom >"$vol/other.bin.eidf-part" &&
	kubectl eidf pvc cp stale.bin data:other.bin -o json >out.json &&
	test "$(json_field out.json resumed)" = 0 &&
	test "$(json_field out.json bytes)" = 3145728 &&
	cmp stale.bin "$vol/other.bin" &&
	no_part_files "$vol"
'

test_expect_success 'a local part left by an interrupted download continues only if the claim.s file begins with it' '
	head -c 1048576 drop-up.bin >resume-down.bin.eidf-part &&
	kubectl eidf pvc cp data:drop-up.bin resume-down.bin -o json >out.json &&
	test "$(json_field out.json resumed)" = 1 &&
	test "$(json_field out.json bytes)" = 3145728 &&
	cmp drop-up.bin resume-down.bin &&
	head -c 1048576 /dev/urandom >other-down.bin.eidf-part &&
	kubectl eidf pvc cp data:drop-up.bin other-down.bin -o json >out.json &&
	test "$(json_field out.json resumed)" = 0 &&
	test "$(json_field out.json bytes)" = 4194304 &&
	cmp drop-up.bin other-down.bin &&
	no_part_files .
'

test_expect_success 'CLAIM: alone is the claim.s root' '
	echo at-root >root.txt &&
	kubectl eidf pvc cp root.txt data: >out &&
	test_grep "^uploaded 1 file (8B) to data: in " out &&
	test "$(cat "$(cluster_volume_dir data)/root.txt")" = at-root
'

test_expect_success 'a file the claim cannot take is refused before its bytes are sent; the next file still goes' '
	vol=$(cluster_volume_dir data) &&
	mkdir -p refuse/a && head -c 2097152 /dev/urandom >refuse/a/f && echo b >refuse/b &&
	mkdir -p "$vol/refused" && echo file >"$vol/refused/a" &&
	test_expect_code 1 kubectl eidf pvc cp refuse data:refused 2>err &&
	test_grep "error: PVC \"data\": cannot create the directory of \"refused/a/f\"" err &&
	cmp refuse/b "$vol/refused/b" &&
	no_part_files "$vol"
'

# one byte flipped on its way (the first exec session's stdin for an upload,
# its stdout for a download): the local cluster's `corrupt` fault
test_expect_success 'a corrupted chunk is detected and sent again (upload)' '
	cluster_fault corrupt --path "/pods/.*/exec" --stream stdin --at 1600000 &&
	kubectl eidf pvc cp drop-up.bin data:flip.bin -o json >out.json 2>err &&
	test -z "$(cluster_ctl faults | grep corrupt)" &&
	test_grep "a chunk of drop-up.bin (bytes 1572864-2097152) failed verification on the claim (the file.s sha256 differed, then this chunk.s MD5); sending it again" err &&
	test "$(json_field out.json resentBytes)" -ge 524288 &&
	cmp drop-up.bin "$(cluster_volume_dir data)/flip.bin"
'

test_expect_success 'a corrupted chunk is detected and received again (download)' '
	cluster_fault corrupt --path "/pods/.*/exec" --stream stdout --at 1600000 &&
	kubectl eidf pvc cp data:flip.bin flip-down.bin 2>err &&
	test -z "$(cluster_ctl faults | grep corrupt)" &&
	test_grep "a chunk of data:flip.bin (bytes 1572864-2097152) failed verification (the file.s sha256 differed, then this chunk.s MD5); receiving it again" err &&
	test "$(grep -c "failed verification" err)" = 1 &&
	cmp drop-up.bin flip-down.bin
'

# a chunk corrupted each time it passes, first and repairs alike (`corrupt
# --every`): a marker in the file's third chunk is changed on its way every
# time.  The rest is base64 text, which has no "#": only the marker's own
# beginning is ever held back, so no chunk's last byte waits for more.
marker_file() { # FILE: 2 MiB of text with the marker at byte 1200000
	{ head -c 900000 /dev/urandom | base64 -w 0 | head -c 1200000 &&
	  printf "#CORRUPT-ME-NOW" &&
	  head -c 700000 /dev/urandom | base64 -w 0 | head -c $((2097152 - 1200015)); } >"$1"
}
corrupt_every_time() { # stdin|stdout
	cluster_fault corrupt --path "/pods/.*/exec" --stream "$1" --every --pattern "#CORRUPT-ME-NOW" \
		--replace "#corrupt-me-now" --hold "#[A-Z-]{0,13}\Z"
}

test_expect_success 'a chunk corrupted every time (upload): 3 repairs, then an error naming the file; a re-run without it works' '
	vol=$(cluster_volume_dir data) &&
	marker_file again.bin &&
	corrupt_every_time stdin &&
	test_expect_code 1 kubectl eidf pvc cp again.bin data:again.bin >out 2>err &&
	test "$(grep -c "^warning: a chunk of again.bin (bytes 1048576-1572864) failed verification on the claim" err)" = 3 &&
	test_grep "^error: again.bin: chunks kept failing verification on PVC \"data\" (3 rounds); .* Its part stays as data:again.bin.eidf-part: run the copy again$" err &&
	test "$(grep -c "^error" err)" = 1 &&
	test ! -s out &&
	test ! -e "$vol/again.bin" && test -f "$vol/again.bin.eidf-part" &&
	kubectl eidf pvc cp again.bin data:again.bin -o json >out.json &&
	test "$(json_field out.json resumed)" = 1 &&
	cmp again.bin "$vol/again.bin" &&
	no_part_files "$vol"
'

test_expect_success 'a chunk corrupted every time (download): 3 repairs, then an error naming the file; a re-run without it works' '
	corrupt_every_time stdout &&
	test_expect_code 1 kubectl eidf pvc cp data:again.bin again-down.bin >out 2>err &&
	test "$(grep -c "^warning: a chunk of data:again.bin (bytes 1048576-1572864) failed verification" err)" = 3 &&
	test_grep "^error: chunks of data:again.bin kept failing verification (3 rounds); .* Its part stays as again-down.bin.eidf-part: run the copy again$" err &&
	test "$(grep -c "^error" err)" = 1 &&
	test ! -s out &&
	test ! -e again-down.bin && test -f again-down.bin.eidf-part &&
	kubectl eidf pvc cp data:again.bin again-down.bin >/dev/null &&
	cmp again.bin again-down.bin &&
	no_part_files .
'

# a byte flipped in the last 128 KiB of the third chunk, and the stream cut
# 128 KiB after the first 4 MiB (both ways together): while that chunk is sent
# again, before the flipped byte's place is rewritten.  resentBytes counts an
# upload's chunk when it is sent (twice here), a download's once it has
# arrived whole (once)
fault_then_cut() { # stdin|stdout
	cluster_fault corrupt --path "/pods/.*/exec" --stream "$1" --at 2090000 &&
	cluster_fault cut --path "/pods/.*/exec" --bytes $((4194304 + 131072))
}

test_expect_success 'a stream dropped while a chunk is sent again (upload): the repair goes on, only that chunk again' '
	fault_then_cut stdin &&
	kubectl eidf pvc cp drop-up.bin data:fix-drop.bin -o json >out.json 2>err &&
	test "$(grep -c "a chunk of drop-up.bin (bytes 1572864-2097152) failed verification on the claim" err)" = 2 &&
	test_grep "the stream to pod .* dropped" err &&
	test "$(json_field out.json reconnects)" = 1 &&
	test "$(json_field out.json resentBytes)" = 1048576 &&
	cmp drop-up.bin "$(cluster_volume_dir data)/fix-drop.bin" &&
	no_part_files "$(cluster_volume_dir data)"
'

test_expect_success 'a stream dropped while a chunk is received again (download): the repair goes on, only that chunk again' '
	fault_then_cut stdout &&
	kubectl eidf pvc cp data:fix-drop.bin fix-drop.bin -o json >out.json 2>err &&
	test "$(grep -c "a chunk of data:fix-drop.bin (bytes 1572864-2097152) failed verification" err)" = 2 &&
	test_grep "the stream to pod .* dropped" err &&
	test "$(json_field out.json reconnects)" = 1 &&
	test "$(json_field out.json resentBytes)" = 524288 &&
	cmp drop-up.bin fix-drop.bin &&
	no_part_files .
'

# the whole file's sha256 that one side sends the other ("e SHA256" after an
# upload's last chunk, "h SHA256" after a download's bytes) replaced by zeros
# on its way, while every chunk stays intact
swap_sha() { # stdin|stdout
	cluster_fault corrupt --path "/pods/.*/exec" --stream "$1" --pattern "(?<![^\n])([eh]) [0-9a-f]{64}\n" \
		--replace "\\1 $(printf "%064d" 0)\n" --hold "(?<![^\n])[eh](?: [0-9a-f]{0,64})?\Z"
}

test_expect_success 'the claim side lists chunk MD5s the same with split (32 chunks a batch) and without' '
	mkdir -p chunks/bin && head -c 17000000 /dev/urandom >chunks/f.bin &&
	for t in sh dd md5sum stat awk rm mkdir cat; do ln -s "$(command -v $t)" chunks/bin/$t || return 1; done &&
	printf "chunks 524288\nf.bin\n" | sh "$EIDF_SRC/plugins/pvc/pvc-cp.sh" "$TRASH/chunks" >with &&
	printf "chunks 524288\nf.bin\n" | PATH=$TRASH/chunks/bin sh "$EIDF_SRC/plugins/pvc/pvc-cp.sh" "$TRASH/chunks" >without &&
	test_cmp with without &&
	test "$(grep -c "^m " with)" = 33 &&
	test_grep "^m 16777216 222784 $(tail -c 222784 chunks/f.bin | md5sum | cut -d" " -f1)$" with
'

test_expect_success 'the sha256 of every file is compared whole: a mismatch is an error naming the file, nothing renamed' '
	head -c 1048577 /dev/urandom >whole.bin &&
	swap_sha stdin &&
	test_expect_code 1 kubectl eidf pvc cp whole.bin data:whole.bin 2>err &&
	test_grep "error: whole.bin: its sha256 on PVC \"data\" (data:whole.bin, [0-9a-f]*...) differs from the local file.s" err &&
	test ! -e "$(cluster_volume_dir data)/whole.bin" &&
	no_part_files "$(cluster_volume_dir data)" &&
	kubectl eidf pvc cp whole.bin data:whole.bin >/dev/null &&
	swap_sha stdout &&
	test_expect_code 1 kubectl eidf pvc cp data:whole.bin whole-down.bin 2>err &&
	test_grep "error: data:whole.bin: the sha256 of the copy (.*) differs from the claim.s" err &&
	test ! -e whole-down.bin
'

test_expect_success 'the exec upgrade refused (403, 404): an error naming the helper pod and the fix, exit 1' '
	cluster_fault fail --path "/pods/.*/exec" --status 403 &&
	test_expect_code 1 kubectl eidf pvc cp data:whole.bin refused.bin 2>err &&
	test_grep "^error: cannot exec into helper pod pvc-helper-[a-z0-9-]*: Error from server (Forbidden): injected fault (403); the copy needs the right to create pods/exec in namespace eidf042ns" err &&
	cluster_fault fail --path "/pods/.*/exec" --status 404 &&
	test_expect_code 1 kubectl eidf pvc cp whole.bin data:refused.bin 2>err &&
	test_grep "^error: cannot exec into helper pod pvc-helper-[a-z0-9-]*: Error from server (NotFound): injected fault (404); it is gone or not running" err &&
	test ! -e refused.bin && test ! -e refused.bin.eidf-part &&
	test ! -e "$(cluster_volume_dir data)/refused.bin"
'

test_expect_success 'not enough space: refused before sending, with both numbers' '
	truncate -s 10T huge.img &&
	test_expect_code 1 kubectl eidf pvc cp huge.img data: 2>err &&
	test_grep "error: not enough space on PVC \"data\": the copy needs 10TiB, .* are free" err &&
	test ! -e "$(cluster_volume_dir data)/huge.img.eidf-part"
'

test_expect_success 'hostile paths are refused before any request' '
	for p in "data:../x" "data:a/../../x" "data:/etc" "data:a/.."; do
		test_expect_code 2 kubectl eidf pvc cp src "$p" 2>err &&
		test_grep "refused\|relative to its root" err || return 1
	done &&
	test_expect_code 2 kubectl eidf pvc cp "data:../../etc/passwd" x 2>err &&
	test_grep "\"..\" is refused in a path on the claim" err
'

test_expect_success 'a symlink on the claim is never followed out of the local tree' '
	vol=$(cluster_volume_dir data) &&
	mkdir -p "$vol/evil" outside &&
	ln -s "$TRASH/outside" "$vol/evil/d" &&
	kubectl eidf pvc cp data:evil evil-copy >/dev/null &&
	test "$(readlink evil-copy/d)" = "$TRASH/outside" &&
	mkdir -p evil-copy2 && ln -s "$TRASH/outside" evil-copy2/d &&
	mkdir -p "$vol/evil2/d" && echo x >"$vol/evil2/d/f" &&
	test_expect_code 1 kubectl eidf pvc cp data:evil2 evil-copy2 2>err &&
	test_grep "evil-copy2/d" err &&
	test ! -e outside/f
'

test_expect_success 'an upload never follows a symlink on the claim out of it (a file, a tree)' '
	vol=$(cluster_volume_dir data) &&
	mkdir outside-up &&
	ln -s "$TRASH/outside-up" "$vol/escape" &&
	test_expect_code 1 kubectl eidf pvc cp src/empty data:escape/x 2>err &&
	test_grep "^error: PVC \"data\": a directory on the way to \"escape/x\" is a symlink; not followed" err &&
	test_expect_code 1 kubectl eidf pvc cp src/sub data:escape/tree 2>err &&
	test_grep "^error: PVC \"data\": path \"escape/tree\" leaves the claim" err &&
	test -z "$(ls -A outside-up)"
'

test_expect_success 'special files are skipped with a warning' '
	mkdir -p spec && mkfifo spec/fifo && echo ok >spec/ok &&
	kubectl eidf pvc cp spec data:spec -o json >out.json 2>err &&
	test_grep "warning: skipping special file spec/fifo (a device, FIFO or socket)" err &&
	test "$(json_field out.json specialSkipped)" = 1 &&
	test -f "$(cluster_volume_dir data)/spec/ok"
'

test_expect_success 'special files on the claim are skipped with a warning (download)' '
	vol=$(cluster_volume_dir data) &&
	mkdir -p "$vol/spec-down" && mkfifo "$vol/spec-down/fifo" && echo ok >"$vol/spec-down/ok" &&
	kubectl eidf pvc cp data:spec-down spec-down -o json >out.json 2>err &&
	test_grep "warning: skipping special file data:spec-down/fifo (a device, FIFO or socket)" err &&
	test "$(json_field out.json specialSkipped)" = 1 &&
	test "$(cat spec-down/ok)" = ok && test ! -e spec-down/fifo
'

test_expect_success 'a claim that does not exist: the error names it and the fix' '
	test_expect_code 1 kubectl eidf pvc cp src nosuch:x 2>err &&
	test_grep "PVC \"nosuch\" not found in namespace \"eidf042ns\"; create it with: kubectl eidf pvc create nosuch" err
'

test_expect_success 'a single-attach claim mounted by a running pod: refused, naming the pod' '
	kubectl eidf pvc create solo --size 1Gi --access-mode ReadWriteOnce --wait=30s &&
	cat >solo-pod.yaml <<-\EOF &&
	apiVersion: v1
	kind: Pod
	metadata: {name: holder}
	spec:
	  containers:
	  - name: main
	    image: busybox
	    command: [sleep, "600"]
	    resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {cpu: 10m, memory: 16Mi}}
	    volumeMounts: [{name: v, mountPath: /v}]
	  volumes: [{name: v, persistentVolumeClaim: {claimName: solo}}]
	EOF
	kubectl create -f solo-pod.yaml &&
	test_expect_code 1 kubectl eidf pvc cp src/empty solo:x 2>err &&
	test_grep "PVC \"solo\" is single-attach (ReadWriteOnce) and pod/holder mounts it" err
'

test_expect_success 'completion: CLAIM: and the paths inside it (through the kept helper)' '
	kubectl __complete eidf pvc cp src da >out &&
	test_grep "^data:	claim$" out &&
	test "$(tail -n 1 out)" = ":6" &&
	kubectl __complete eidf pvc cp src data:pr >out &&
	test_grep "^data:proj/$" out &&
	kubectl __complete eidf pvc cp src data:proj/s >out &&
	test_grep "^data:proj/sub/$" out
'

test_expect_success 'the kept helper Job stays until it is deleted' '
	job=$(kubectl get jobs -l eidf.ac.uk/stage=pvc -o jsonpath="{.items[0].metadata.name}") &&
	kubectl delete job "$job" >/dev/null
'

no_helper_pod() { test -z "$(kubectl get pods -l eidf.ac.uk/pvc-cp -o name)"; }

test_expect_success 'completion without a kept helper: nothing inside the claim, and no Job started for a Tab' '
	wait_for 60 no_helper_pod &&
	kubectl __complete eidf pvc cp src data:pr >out &&
	! grep "^data:" out &&
	test -z "$(kubectl get jobs -l eidf.ac.uk/stage=pvc -o name)"
'

test_expect_success 'completion through any running pod that mounts the claim (read-only, or a subPath of it)' '
	cat >reader-pod.yaml <<-\EOF &&
	apiVersion: v1
	kind: Pod
	metadata: {name: reader}
	spec:
	  containers:
	  - name: main
	    image: busybox
	    command: [sleep, "600"]
	    resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {cpu: 10m, memory: 16Mi}}
	    volumeMounts:
	    - {name: v, mountPath: /results, subPath: proj/sub, readOnly: true}
	    - {name: w, mountPath: /data, readOnly: true}
	  volumes:
	  - {name: v, persistentVolumeClaim: {claimName: data, readOnly: true}}
	  - {name: w, persistentVolumeClaim: {claimName: data, readOnly: true}}
	EOF
	kubectl create -f reader-pod.yaml &&
	kubectl wait --for=condition=Ready pod/reader --timeout=60s &&
	kubectl __complete eidf pvc cp src data:pr >out &&
	test_grep "^data:proj/$" out &&
	kubectl __complete eidf pvc cp src data:proj/sub/r >out &&
	test_grep "^data:proj/sub/run.sh$" out &&
	test "$(grep -c "^data:" out)" = 1 &&
	test -z "$(kubectl get jobs -l eidf.ac.uk/stage=pvc -o name)"
'

# a smaller file system inside the claim (as a CephFS quota on one of its
# directories would be): the check before an upload sees the claim's root,
# so the copy meets the full disk while it writes.  Mounted before the
# helper pod starts, which sees the host's mounts of that moment.
mkdir -p "$TRASH/tmpfs-probe"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=64k tmpfs "$TRASH/tmpfs-probe" 2>/dev/null &&
	umount "$TRASH/tmpfs-probe"; then
	test_expect_success 'the claim full in the middle of an upload: exit 1, the fix named, the part removed; a file that fits goes; small files too' '
		vol=$(cluster_volume_dir data) &&
		mkdir -p "$vol/small" &&
		mount -t tmpfs -o size=4m tmpfs "$vol/small" &&
		test_when_finished "umount \"$vol/small\"" &&
		head -c $((8 << 20)) /dev/urandom >toobig.bin &&
		test_expect_code 1 kubectl eidf pvc cp toobig.bin data:small/toobig.bin >out 2>err &&
		test_grep "^error: no space left on PVC \"data\" for toobig.bin (data:small/toobig.bin): [0-9.]*MiB of 8MiB written, [0-9.]*[KMi]*B free there; make room (see: kubectl eidf pvc du data) or use a bigger claim, then copy again (the unfinished part was removed)$" err &&
		test "$(grep -c "^error\|^warning" err)" = 1 &&
		test ! -s out &&
		test ! -e "$vol/small/toobig.bin" && no_part_files "$vol/small" &&
		test -z "$(kubectl get jobs -l eidf.ac.uk/stage=pvc -o name)" &&
		test_expect_code 1 kubectl eidf pvc cp toobig.bin data:small/toobig.bin --keep 2>err &&
		test_grep "^error: no space left on PVC \"data\" for toobig.bin" err &&
		test_grep "^kept helper Job pvc-helper-" err &&
		head -c $((3 << 20)) /dev/urandom >fits.bin &&
		kubectl eidf pvc cp fits.bin data:small/fits.bin >out 2>err &&
		test_grep "^using the kept helper Job" err &&
		test_grep "^uploaded 1 file (3MiB) to data:small/fits.bin" out &&
		cmp fits.bin "$vol/small/fits.bin" &&
		no_part_files "$vol/small" &&
		rm "$vol/small/fits.bin" &&
		mkdir smalls && for i in 1 2 3 4 5; do head -c 900000 /dev/urandom >smalls/f$i || return 1; done &&
		test_expect_code 1 kubectl eidf pvc cp smalls data:small/smalls 2>err &&
		test_grep "^error: no space left on PVC \"data\" for smalls/f5 (data:small/smalls/f5): " err &&
		test "$(grep -c "^error\|^warning" err)" = 1 &&
		for i in 1 2 3 4; do cmp smalls/f$i "$vol/small/smalls/f$i" || return 1; done &&
		test ! -e "$vol/small/smalls/f5" &&
		no_part_files "$vol/small" &&
		kubectl delete jobs -l eidf.ac.uk/stage=pvc >/dev/null
	'
else
	test_skip 'the claim full in the middle of an upload' 'needs root, to mount a small tmpfs inside the claim'
fi

# a directory inside the claim that refuses writes for another reason than
# space (read-only: a bind mount of itself remounted so), mounted before the
# helper pod starts, as above
if [ "$(id -u)" = 0 ] && mkdir -p "$TRASH/ro-probe" && mount --bind "$TRASH/ro-probe" "$TRASH/ro-probe" 2>/dev/null &&
	umount "$TRASH/ro-probe"; then
	test_expect_success 'a directory on the claim that cannot be written: one error naming the file and why, the next file still goes' '
		vol=$(cluster_volume_dir data) &&
		mkdir -p "$vol/rotree/ro" &&
		mount --bind "$vol/rotree/ro" "$vol/rotree/ro" &&
		test_when_finished "umount \"$vol/rotree/ro\"" &&
		mount -o remount,bind,ro "$vol/rotree/ro" &&
		mkdir -p rotree/ro && head -c 2097152 /dev/urandom >rotree/ro/a.bin &&
		head -c 2097152 /dev/urandom >rotree/z.bin &&
		test_expect_code 1 kubectl eidf pvc cp rotree data:rotree >out 2>err &&
		cat err &&
		test_grep "^error: .*ro/a.bin.*Read-only file system" err &&
		test "$(grep -c "^error\|^warning" err)" = 1 &&
		test ! -e "$vol/rotree/ro/a.bin" && no_part_files "$vol/rotree" &&
		cmp rotree/z.bin "$vol/rotree/z.bin"
	'
else
	test_skip 'a directory on the claim that cannot be written' 'needs root, to bind-mount a directory read-only inside the claim'
fi

test_expect_success 'every request line stayed short (scripts go on the exec'"'"'s stdin; proxies refuse long lines)' '
	cluster_long_requests 2048 >long && cat long && test ! -s long
'

test_done
