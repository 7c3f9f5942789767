#!/usr/bin/env bash
# kubectl eidf pvc cp and trees of many small files: files up to 1 MiB go
# in batches (one tar of at most 1 MiB and 256 files, unpacked by one tar in
# the pod, hashed by one hasher, renamed into place a directory at a time;
# downloads likewise), not a put or get with its processes each.  A batch is
# verified file by file like a single file; a file whose copy differs is
# sent again by itself; a drop costs at most the batch.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pvc-cp.sh"

start_cluster --eidf-policy --tenant eidf042ns

execs() { cluster_requests | grep -c "/pods/pvc-helper-[^/]*/exec"; }

test_expect_success 'setup: a claim and a tree of 300 files, 0 B to 1.5 MiB, in nested directories' '
	kubectl eidf pvc create data --size 1Gi --wait=30s &&
	python3 - <<-\PY
	import os, random
	r = random.Random(20)
	for d in range(3):
	    base = "src/d%d/sub%d" % (d, d % 2)
	    os.makedirs(base)
	    for f in range(100):
	        size = r.choice([0, 1, 100, 1000, 4096, 30000]) if f % 25 else r.choice([1048576, 1048577, 1500000])
	        p = "%s/f%03d%s" % (base, f, " x" if f % 7 == 0 else "")
	        with open(p, "wb") as fh:
	            fh.write(r.randbytes(size))
	        os.chmod(p, 0o755 if f % 5 == 0 else 0o640)
	PY
	test "$(find src -type f | wc -l)" = 300
'

test_expect_success 'upload: the same tree, on one exec stream, no part left' '
	: >"$EIDF_CLUSTER_STATE/requests.jsonl" &&
	kubectl eidf pvc cp src data:tree --keep -o json >out.json 2>err &&
	test "$(json_field out.json files)" = 300 &&
	test "$(json_field out.json reconnects)" = 0 &&
	test "$(execs)" = 1 &&
	vol=$(cluster_volume_dir data) &&
	same_tree src "$vol/tree" && no_part_files "$vol"
'

test_expect_success 'a re-run sends nothing' '
	kubectl eidf pvc cp src data:tree -o json >out.json &&
	test "$(json_field out.json files)" = 0 &&
	test "$(json_field out.json skipped)" = 300
'

test_expect_success 'download: the same tree, no part left; a re-run receives nothing' '
	kubectl eidf pvc cp data:tree back -o json >out.json &&
	test "$(json_field out.json files)" = 300 &&
	same_tree src back && no_part_files back &&
	kubectl eidf pvc cp data:tree back -o json >out.json &&
	test "$(json_field out.json files)" = 0 &&
	test "$(json_field out.json skipped)" = 300
'

test_expect_success 'another upload'"'"'s staging directory on the claim is never downloaded' '
	vol=$(cluster_volume_dir data) &&
	mkdir -p "$vol/tree/.eidf-batch.0f1e.eidf-part/d0" && echo staged >"$vol/tree/.eidf-batch.0f1e.eidf-part/d0/x" &&
	kubectl eidf pvc cp data:tree back -o json >out.json 2>err &&
	test "$(json_field out.json files)" = 0 &&
	test ! -e back/.eidf-batch.0f1e.eidf-part &&
	rm -r "$vol/tree/.eidf-batch.0f1e.eidf-part"
'

test_expect_success 'a byte flipped inside an upload batch: that file is sent again alone, the tree is right' '
	vol=$(cluster_volume_dir data) &&
	cluster_fault corrupt --stream stdin --at 300000 &&
	kubectl eidf pvc cp src data:flip -o json >out.json 2>err &&
	test_grep "^warning: src/.* failed verification on the claim (its sha256 differed); sending it again by itself" err &&
	test "$(json_field out.json resentBytes)" -gt 0 &&
	test "$(json_field out.json files)" = 300 &&
	same_tree src "$vol/flip" && no_part_files "$vol"
'

test_expect_success 'a byte flipped inside a download batch: that file is received again alone' '
	cluster_fault corrupt --stream stdout --at 300000 &&
	kubectl eidf pvc cp data:tree flip-back -o json >out.json 2>err &&
	test_grep "^warning: data:tree/.* failed verification (its sha256 differed); receiving it again by itself" err &&
	test "$(json_field out.json resentBytes)" -gt 0 &&
	test "$(json_field out.json files)" = 300 &&
	same_tree src flip-back && no_part_files flip-back
'

test_expect_success 'a stream dropped inside an upload batch: resumed, at most the batch (1 MiB) sent again' '
	vol=$(cluster_volume_dir data) &&
	cluster_fault cut --path "/pods/.*/exec" --bytes 1500000 &&
	kubectl eidf pvc cp src data:cut -o json >out.json 2>err &&
	test_grep "the stream to pod .* dropped" err &&
	test "$(json_field out.json reconnects)" = 1 &&
	test "$(json_field out.json resentBytes)" -le 1048576 &&
	same_tree src "$vol/cut" && no_part_files "$vol"
'

test_expect_success 'a stream dropped inside a download batch: resumed, at most the batch received again' '
	cluster_fault cut --path "/pods/.*/exec" --bytes 1500000 &&
	kubectl eidf pvc cp data:tree cut-back -o json >out.json 2>err &&
	test_grep "the stream to pod .* dropped" err &&
	test "$(json_field out.json reconnects)" = 1 &&
	test "$(json_field out.json resentBytes)" -le 1048576 &&
	same_tree src cut-back && no_part_files cut-back
'

ro_helper_pod() { kubectl get pods -l eidf.ac.uk/pvc-cp=ro -o name | grep -q .; }

test_expect_success 'without a kept helper a download starts its own: the claim mounted read-only, the Job gone at the end; -o yaml' '
	kubectl delete jobs -l eidf.ac.uk/stage=pvc >/dev/null &&
	wait_for 30 eval "test -z \"\$(kubectl get pods -l eidf.ac.uk/pvc-cp -o name)\"" &&
	cluster_fault delay --path "/pods/.*/exec" --seconds 3 &&
	{ kubectl eidf pvc cp data:tree ro-back -o yaml >out.yaml 2>err; echo $? >rc; } &
	wait_for 30 ro_helper_pod &&
	kubectl get pods -l eidf.ac.uk/pvc-cp=ro -o json >pod.json &&
	wait &&
	test "$(cat rc)" = 0 &&
	python3 - pod.json <<-\PY &&
	import json, sys
	spec = json.load(open(sys.argv[1]))["items"][0]["spec"]
	claims = [v for v in spec["volumes"] if "persistentVolumeClaim" in v]
	assert claims and all(v["persistentVolumeClaim"].get("readOnly") for v in claims), spec["volumes"]
	names = {v["name"] for v in claims}
	mounts = [m for c in spec["containers"] for m in c.get("volumeMounts", []) if m["name"] in names]
	assert mounts and all(m.get("readOnly") for m in mounts), mounts
	PY
	test_grep "^files: 300$" out.yaml &&
	test_grep "^direction: download$" out.yaml &&
	same_tree src ro-back &&
	test -z "$(kubectl get jobs -l eidf.ac.uk/stage=pvc -o name)"
'

test_done
