#!/usr/bin/env bash
# Dynamic completion through the real kubectl: PVC names, storage classes
# and run names come from the local cluster, GPU products from the known list.
. "$(dirname "$0")/lib.sh"

start_cluster --eidf-policy --tenant eidf042ns

# kubectl >= 1.26 runs kubectl_complete-eidf[-STAGE] from PATH.
mkdir -p "$TRASH/complete-bin"
kubectl-eidf completion install --dir "$TRASH/complete-bin" >/dev/null
export PATH="$TRASH/complete-bin:$PATH"

test_expect_success 'setup: two claims' '
	kubectl eidf pvc create data --size 1Gi --wait=20s >/dev/null &&
	kubectl eidf pvc create datasets --size 1Gi >/dev/null
'

test_expect_success 'kubectl __complete eidf fetch --pvc "" lists the PVCs of the namespace' '
	kubectl __complete eidf fetch --pvc "" >out 2>/dev/null &&
	test_grep "^data" out &&
	test_grep "^datasets" out &&
	test "$(tail -1 out)" = ":4"
'

test_expect_success '-n "": the context namespace for a tenant (who may not list them); every namespace for who may' '
	kubectl __complete eidf pvc list -n "" >out 2>/dev/null &&
	test_grep "^eidf042ns	the context" out &&
	test "$(grep -vc "^:" out)" = 1 &&
	KUBECONFIG=$EIDF_CLUSTER_STATE/kubeconfig-admin kubectl __complete eidf devrun list -n "" >out 2>/dev/null &&
	test_grep "^kube-system$" out &&
	test_grep "^default$" out &&
	test "$(grep -c "^eidf042ns" out)" = 1
'

test_expect_success 'PVC names are filtered by the typed prefix' '
	kubectl __complete eidf pvc describe datas >out 2>/dev/null &&
	test_grep "^datasets" out &&
	test_grep -v "^data	" out &&
	test_grep -v "^data$" out
'

test_expect_success '--storage-class lists the cluster storage classes' '
	kubectl __complete eidf pvc create x --storage-class "" >out 2>/dev/null &&
	test_grep "^csi-cephfs-sc" out &&
	test_grep "^csi-rbd-sc" out
'

test_expect_success '--gpu-product NV filters the known GPU products (no API call needed)' '
	: >"$EIDF_CLUSTER_STATE/requests.jsonl" &&
	kubectl __complete eidf devrun --gpu-product NVIDIA-H >out 2>/dev/null &&
	test_grep "^NVIDIA-H100-80GB-HBM3" out &&
	test_grep "^NVIDIA-H200" out &&
	test_grep -v "^NVIDIA-A100" out &&
	test_must_fail grep -q "persistentvolumeclaims\|storageclasses" "$EIDF_CLUSTER_STATE/requests.jsonl"
'

test_expect_success 'a kubeconfig that does not parse: no candidates, still exit 0' '
	echo "clusters: [" >broken.yaml &&
	KUBECONFIG=$PWD/broken.yaml kubectl_complete-eidf-fetch --pvc "" >out 2>err &&
	test "$(cat out)" = ":4"
'

test_done
