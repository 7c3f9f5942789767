#!/usr/bin/env bash
# kubectl eidf pvc: create, list, get, describe, delete, df, du, ls against
# the local test cluster with EIDF policy on.
. "$(dirname "$0")/lib.sh"

# --pvc-protection-lag: the claim a DELETE leaves Terminating is released a
# moment later, as by the real controller, not at once
start_cluster --eidf-policy --tenant eidf042ns --pvc-protection-lag 1.5


test_expect_success 'create validates the name and size before any request' '
	: >"$EIDF_CLUSTER_STATE/requests.jsonl" &&
	test_expect_code 2 kubectl eidf pvc create Bad_Name --size 1Gi 2>err &&
	test_grep "invalid PVC name \"Bad_Name\"" err &&
	test_expect_code 2 kubectl eidf pvc create data --size 10GB 2>err &&
	test_grep "invalid argument \"10GB\" for \"--size\" flag: not a size" err &&
	test_expect_code 2 kubectl eidf pvc create data 2>err &&
	test_grep "required flag(s) \"size\" not set" err &&
	test ! -s "$EIDF_CLUSTER_STATE/requests.jsonl"
'

test_expect_success 'create --dry-run=client -o json emits a schema-valid claim with EIDF defaults' '
	kubectl eidf pvc create data --size 100Gi --dry-run=client -o json >pvc.json &&
	node "$EIDF_SRC/tests/validate-manifest.mjs" pvc.json &&
	grep "\"storageClassName\": \"csi-cephfs-sc\"" pvc.json &&
	grep "\"ReadWriteMany\"" pvc.json &&
	grep "\"storage\": \"100Gi\"" pvc.json &&
	kubectl eidf pvc create data --size 1Gi --dry-run=client -o yaml >pvc.yaml &&
	test_grep "storageClassName: csi-cephfs-sc" pvc.yaml
'

test_expect_success 'create --wait returns once the claim is Bound' '
	kubectl eidf pvc create data --size 1Gi --wait=30s >out &&
	test_grep "persistentvolumeclaim/data created" out &&
	test_grep "persistentvolumeclaim/data bound" out &&
	test "$(kubectl get pvc data -o jsonpath={.status.phase})" = Bound
'

test_expect_success 'create -o json --wait prints only the Bound claim, once; messages go to stderr' '
	kubectl eidf pvc create x3 --size 1Gi -o json --wait=30s >out 2>err &&
	python3 -c "import json,sys; o=json.load(open(\"out\")); sys.exit(o[\"status\"][\"phase\"] != \"Bound\")" &&
	test "$(grep -c "\"kind\"" out)" = 1 &&
	test_grep "persistentvolumeclaim/x3 bound" err &&
	kubectl eidf pvc create x4 --size 1Gi -o name --wait=30s >out 2>err &&
	echo persistentvolumeclaim/x4 >expect &&
	test_cmp expect out &&
	kubectl delete pvc x3 x4 >/dev/null
'

test_expect_success 'create of an existing claim says how to see it' '
	test_expect_code 1 kubectl eidf pvc create data --size 1Gi 2>err &&
	test_grep "PVC \"data\" already exists in namespace \"eidf042ns\"" err
'

test_expect_success 'an unknown storage class is refused before the claim is created, naming the classes' '
	: >"$EIDF_CLUSTER_STATE/requests.jsonl" &&
	test_expect_code 1 kubectl eidf pvc create slow --size 1Gi --storage-class no-such-class --wait=3s 2>err &&
	cat err &&
	test_grep "storageclass \"no-such-class\" not found (needed by --storage-class no-such-class): the cluster has: csi-cephfs-sc, csi-rbd-sc" err &&
	test "$(cluster_request_count "^POST ")" = 0 &&
	test_must_fail kubectl get pvc slow 2>/dev/null &&
	kubectl eidf pvc create slow --size 1Gi --storage-class csi-rbd-sc --dry-run=server >out &&
	test_grep "created (server dry run)" out
'

test_expect_success 'the default namespace is refused with an explanation' '
	test_expect_code 1 kubectl eidf pvc create other --size 1Gi -n default 2>err &&
	test_grep "namespace \"default\"" err
'

test_expect_success 'another namespace is Forbidden, shown verbatim' '
	test_expect_code 1 kubectl eidf pvc create other --size 1Gi -n eidf999ns 2>err &&
	test_grep "Error from server (Forbidden)" err &&
	test_grep "cannot create resource \"persistentvolumeclaims\"" err
'

test_expect_success 'list shows the claim and which Job uses it' '
	cat >job.yaml <<-\EOF &&
	apiVersion: batch/v1
	kind: Job
	metadata:
	  generateName: reader-
	  labels: {kueue.x-k8s.io/queue-name: eidf042ns-user-queue}
	spec:
	  template:
	    spec:
	      restartPolicy: Never
	      containers:
	      - name: c
	        image: busybox:latest
	        command: [sh, -c, "sleep 30"]
	        resources:
	          requests: {cpu: 100m, memory: 64Mi}
	          limits: {cpu: 100m, memory: 64Mi}
	        volumeMounts: [{name: v, mountPath: /mnt/ceph}]
	      volumes: [{name: v, persistentVolumeClaim: {claimName: data}}]
	EOF
	job=$(kubectl create -f job.yaml -o name) && job=${job#job.batch/} &&
	echo "$job" >job-name &&
	kubectl wait --for=jsonpath="{.status.active}"=1 "job/$job" --timeout=20s &&
	kubectl eidf pvc list >out &&
	test_grep "^NAME  *STATUS  *CAPACITY  *ACCESS MODES  *STORAGECLASS  *USED BY  *AGE" out &&
	test_grep "^data  *Bound  *1Gi  *RWX  *csi-cephfs-sc  *job/$job " out &&
	kubectl eidf pvc ls --no-headers >out2 &&
	test_grep "^data " out2 &&
	kubectl eidf pvc list -o name >names &&
	test_grep "^persistentvolumeclaim/data$" names
'

# A claim "busy" that a running Job's pod mounts (the Job of job.yaml on
# another claim, running until it is deleted): --force is what deletes it.
test_expect_success 'delete without --force of a claim a running pod uses: refused, no DELETE sent' '
	cluster_bound_pvc busy &&
	sed -e "s/claimName: data/claimName: busy/" -e "s/sleep 30/sleep 600/" job.yaml >busy-job.yaml &&
	job=$(kubectl create -f busy-job.yaml -o name) && job=${job#job.batch/} &&
	echo "$job" >busy-job &&
	cluster_job_ready "$job" &&
	: >"$EIDF_CLUSTER_STATE/requests.jsonl" &&
	test_expect_code 1 kubectl eidf pvc delete busy --yes >out 2>err &&
	echo "error: PVC \"busy\" is mounted by job/$job; delete those first, or pass --force" >expect &&
	test_cmp expect err &&
	test ! -s out &&
	test "$(cluster_request_count "^DELETE ")" = 0 &&
	test -z "$(kubectl get pvc busy -o jsonpath={.metadata.deletionTimestamp})"
'

test_expect_success 'delete --force of a claim a running pod uses: marked Terminating, returns without waiting' '
	job=$(cat busy-job) &&
	: >"$EIDF_CLUSTER_STATE/requests.jsonl" &&
	kubectl eidf pvc delete busy --yes --force >out 2>err &&
	echo "persistentvolumeclaim \"busy\" marked for deletion (Terminating)" >expect &&
	test_cmp expect out &&
	echo "PVC \"busy\" stays Terminating while it is mounted by job/$job (kubernetes.io/pvc-protection): no new pod can mount it, and it is deleted once those pods are gone; --wait waits for it" >expect &&
	test_cmp expect err &&
	test "$(cluster_request_count "^DELETE .*/persistentvolumeclaims/busy")" = 1 &&
	# promptly: it does not watch for a release that cannot come while the
	# pod runs (the quiet wait for an unused claim is a watch of up to 10 s)
	test "$(cluster_request_count "persistentvolumeclaims.*watch=")" = 0
'

test_expect_success 'the force-deleted claim stays while the pod runs and goes with the pod (PVC protection)' '
	job=$(cat busy-job) &&
	# an unused claim deleted after it going shows that PVC protection has
	# looked at both since (and past its lag)
	cluster_bound_pvc witness &&
	kubectl delete pvc witness --timeout=30s >/dev/null &&
	test -n "$(kubectl get pvc busy -o jsonpath={.metadata.deletionTimestamp})" &&
	test "$(kubectl get pods -l job-name=$job -o jsonpath={.items[0].status.phase})" = Running &&
	kubectl eidf pvc get busy >out &&
	test_grep "^busy  *Terminating " out &&
	kubectl delete job "$job" >/dev/null &&
	kubectl wait --for=delete pvc/busy --timeout=30s &&
	test -z "$(kubectl get pods -l job-name=$job -o name)"
'

test_expect_success 'describe shows users and events' '
	kubectl eidf pvc describe data >out &&
	test_grep "^Used By: *job/$(cat job-name)" out &&
	test_grep "ProvisioningSucceeded" out
'

test_expect_success 'get of a missing claim says how to create it' '
	test_expect_code 1 kubectl eidf pvc get nope 2>err &&
	test_grep "error: PVC \"nope\" not found in namespace \"eidf042ns\"; create it with: kubectl eidf pvc create nope --size 100Gi" err
'

test_expect_success 'du agrees with du on the volume directory, largest first' '
	dir=$(cluster_volume_dir data) &&
	mkdir -p "$dir/raw/a" "$dir/models" &&
	head -c 3000000 /dev/urandom >"$dir/raw/a/big.bin" &&
	head -c 1000000 /dev/urandom >"$dir/models/m.pt" &&
	kubectl eidf pvc du data --depth 1 -o json >du.json &&
	for p in "" raw models; do
		want=$(( $(du -k -d 0 "$dir/$p" | cut -f1) * 1024 )) &&
		got=$(python3 -c "import json,sys; print([int(r[\"bytes\"]) for r in json.load(open(\"du.json\")) if r[\"path\"]==sys.argv[1]][0])" "/$p") &&
		test "$got" = "$want" || { echo "/$p: du says $want, pvc du says $got"; false; }
	done &&
	kubectl eidf pvc du data --depth 1 --no-headers >du.out &&
	sed -n 1p du.out | grep " /$" &&
	sed -n 2p du.out | grep " /raw$" &&
	sed -n 3p du.out | grep " /models$" &&
	kubectl eidf pvc du data raw --depth 2 --no-headers >du2.out &&
	test_grep " /raw/a$" du2.out
'

test_expect_success 'the paths du prints are paths ls and du accept' '
	kubectl eidf pvc ls data / >ls-root.out &&
	test_grep "^dir  .* raw/$" ls-root.out &&
	kubectl eidf pvc du data /raw --depth 1 --no-headers >du3.out &&
	path=$(sed -n 2p du3.out | sed "s/.* //") && test "$path" = /raw/a &&
	kubectl eidf pvc ls data "$path" >ls-a.out &&
	test_grep "^file  *2.9MiB .* big.bin$" ls-a.out &&
	: >"$EIDF_CLUSTER_STATE/requests.jsonl" &&
	test_expect_code 2 kubectl eidf pvc ls data /raw/../../etc 2>err &&
	test_grep "path \"/raw/../../etc\" leaves the volume" err &&
	test "$(cluster_request_count .)" = 0
'

test_expect_success 'df agrees with df on the volume directory' '
	dir=$(cluster_volume_dir data) &&
	kubectl eidf pvc df data -o json >df.json &&
	set -- $(df -Pk "$dir" | awk "NR==2 {print \$2, \$3, \$4}") &&
	python3 - "$1" "$2" "$3" <<-\EOF &&
	import json, sys
	r = json.load(open("df.json"))[0]
	size, used, avail = (int(v) * 1024 for v in sys.argv[1:])
	assert r["name"] == "data", r
	assert int(r["sizeBytes"]) == size, (r, size)
	# other processes write to the host filesystem meanwhile: allow 64 MiB
	assert abs(int(r["usedBytes"]) - used) < 64 << 20, (r, used)
	assert abs(int(r["availableBytes"]) - avail) < 64 << 20, (r, avail)
	EOF
	kubectl eidf pvc df data >df.out &&
	test_grep "^NAME  *SIZE  *USED  *AVAIL  *USE%" df.out &&
	test_grep "^data .*\[#*-*\] *[0-9]*%" df.out
'

test_expect_success 'ls lists a directory on the claim; helper Jobs are gone afterwards' '
	kubectl eidf pvc ls data raw/a >ls.out &&
	test_grep "^file  *2.9MiB .* big.bin$" ls.out &&
	kubectl eidf pvc ls data >ls2.out &&
	test_grep "^dir  .* raw/$" ls2.out &&
	test_expect_code 2 kubectl eidf pvc ls data ../../etc 2>err &&
	test_grep "leaves the volume" err &&
	test "$(kubectl get jobs -l eidf.ac.uk/stage=pvc -o name | wc -l)" = 0
'

test_expect_success 'helper Jobs follow the policy and validate against the schema' '
	kubectl eidf pvc du data --dry-run=client -o json >helper.json &&
	node "$EIDF_SRC/tests/validate-manifest.mjs" helper.json &&
	grep "\"generateName\": \"pvc-helper-\"" helper.json &&
	grep "\"kueue.x-k8s.io/queue-name\": \"eidf042ns-user-queue\"" helper.json &&
	grep "\"readOnly\": true" helper.json &&
	grep "\"ttlSecondsAfterFinished\"" helper.json &&
	python3 -c "import json,sys; c=json.load(open(\"helper.json\"))[\"spec\"][\"template\"][\"spec\"][\"containers\"][0][\"command\"]; assert c[:2]==[\"sh\",\"-c\"] and \"eidf-pvc du\" in c[2] and c[3:5]==[\"pvc-helper\",\"du\"], c" &&
	kubectl eidf pvc shell data --dry-run=client -o json >shell.json &&
	node "$EIDF_SRC/tests/validate-manifest.mjs" shell.json
'

test_expect_success '--queue and --eidf-user set the Job policy labels of every Job-creating command' '
	USER=tester kubectl eidf pvc du data --dry-run=client -o json --eidf-user --queue other-queue >p1.json &&
	grep "\"eidf/user\": \"tester\"" p1.json &&
	grep "\"kueue.x-k8s.io/queue-name\": \"other-queue\"" p1.json &&
	kubectl eidf pvc du data --dry-run=client -o json --eidf-user=alice >p2.json &&
	grep "\"eidf/user\": \"alice\"" p2.json &&
	kubectl eidf pvc du data --dry-run=client -o json >p3.json &&
	test_must_fail grep -q "eidf/user" p3.json &&
	mkdir -p "$XDG_CONFIG_HOME/kubectl-eidf" &&
	printf "eidf-user: carol\nqueue: cfg-queue\n" >"$XDG_CONFIG_HOME/kubectl-eidf/config.yaml" &&
	kubectl eidf fetch http://127.0.0.1:1/x.bin --pvc data --dry-run=client -o json >f1.json &&
	grep "\"eidf/user\": \"carol\"" f1.json &&
	grep "\"kueue.x-k8s.io/queue-name\": \"cfg-queue\"" f1.json &&
	kubectl eidf fetch http://127.0.0.1:1/x.bin --pvc data --dry-run=client -o json --eidf-user=dave --queue q3 >f2.json &&
	grep "\"eidf/user\": \"dave\"" f2.json &&
	grep "\"kueue.x-k8s.io/queue-name\": \"q3\"" f2.json &&
	rm "$XDG_CONFIG_HOME/kubectl-eidf/config.yaml"
'

test_expect_success 'delete removes an unused claim (said once PVC protection has let it go)' '
	kubectl delete job "$(cat job-name)" --wait=false >/dev/null &&
	kubectl eidf pvc create scratch --size 1Gi --wait=20s >/dev/null &&
	kubectl eidf pvc delete scratch --yes >out &&
	test_grep "persistentvolumeclaim \"scratch\" deleted" out &&
	test_must_fail kubectl get pvc scratch
'

test_expect_success 'delete without --yes and without a terminal refuses' '
	kubectl eidf pvc create keepme --size 1Gi >/dev/null &&
	test_expect_code 1 kubectl eidf pvc delete keepme </dev/null 2>err &&
	test_grep "without confirmation; pass --yes" err &&
	kubectl get pvc keepme
'

test_done
