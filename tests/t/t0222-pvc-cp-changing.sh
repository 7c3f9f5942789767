#!/usr/bin/env bash
# kubectl eidf pvc cp and a local file written to while it is uploaded: it
# was sent as no version of it ever was, so it is not renamed into place on
# the claim; the error says so and the next run keeps what of the part still
# matches.  To change the file at a known moment, the pod's writer (the one
# dd of the put) is stopped: the sender then cannot get more than 1 MiB
# ahead of what the part holds, so the copy waits there until it goes on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pvc-cp.sh"

start_cluster --eidf-policy --tenant eidf042ns

SIZE=$((32 * 1048576))
pod_writer() { pgrep -f "^dd bs.65536 count.$SIZE " | head -n 1; }
have_pod_writer() { test -n "$(pod_writer)"; }

# upload FILE to data:FILE in the background; once the pod writes it, stop
# the writer, run CHANGE, let it go on; the copy's exit code in "rc"
upload_changing() { # FILE CHANGE
	head -c $SIZE /dev/urandom >"$1" &&
	{ kubectl eidf pvc cp "$1" "data:$1" >out 2>err; echo $? >rc; } &
	wait_for 60 have_pod_writer &&
	w=$(pod_writer) && kill -STOP "$w" &&
	eval "$2" &&
	kill -CONT "$w" &&
	wait
}

test_expect_success 'setup: a claim and its helper' '
	kubectl eidf pvc create data --size 1Gi --wait=30s &&
	echo warm >warm && kubectl eidf pvc cp warm data:warm --keep 2>/dev/null
'

test_expect_success 'a file that grows while it is sent: refused, its part kept; the re-run sends only the rest' '
	upload_changing grow.bin "head -c 1048576 /dev/urandom >>grow.bin" &&
	test "$(cat rc)" = 1 &&
	test_grep "^error: grow.bin changed while it was being copied (written to since it was listed); its part stays on PVC \"data\"" err &&
	vol=$(cluster_volume_dir data) &&
	test ! -e "$vol/grow.bin" && test -f "$vol/grow.bin.eidf-part" &&
	kubectl eidf pvc cp grow.bin data:grow.bin -o json >out.json &&
	test "$(json_field out.json resumed)" = 1 &&
	test "$(json_field out.json bytes)" = 1048576 &&
	cmp grow.bin "$vol/grow.bin" && test ! -e "$vol/grow.bin.eidf-part"
'

test_expect_success 'a file changed in place (same size) while it is sent: refused; the re-run sends it right' '
	upload_changing same.bin "printf XXXX | dd of=same.bin bs=1 seek=5 conv=notrunc status=none" &&
	test "$(cat rc)" = 1 &&
	test_grep "^error: same.bin changed while it was being copied" err &&
	vol=$(cluster_volume_dir data) &&
	test ! -e "$vol/same.bin" &&
	kubectl eidf pvc cp same.bin data:same.bin >/dev/null &&
	cmp same.bin "$vol/same.bin" && test ! -e "$vol/same.bin.eidf-part"
'

test_expect_success 'a file that shrinks while it is sent: refused, nothing under its name' '
	upload_changing shrink.bin "truncate -s 1048576 shrink.bin" &&
	test "$(cat rc)" = 1 &&
	test_grep "^error: shrink.bin changed (shrank) while it was being copied; copy it again" err &&
	test ! -e "$(cluster_volume_dir data)/shrink.bin"
'

test_done
