#!/bin/bash
# The local test cluster (tests/cluster) answers the real kubectl like a
# kube-apiserver: discovery, auth, CRUD, status bodies, selectors, paging.
. "$(dirname "$0")/lib.sh"
FIX="$EIDF_SRC/tests/fixtures/cluster"
SAMPLES=/work/shared/reference/apiserver-samples
[ -d "$SAMPLES" ] || SAMPLES="$EIDF_SRC/tests/fixtures/apiserver-samples"

start=$(date +%s%N)
start_cluster || exit 1
startup_ms=$(( ($(date +%s%N) - start) / 1000000 ))
# Under 2 s; a machine busier than its CPU count gets more slack.
limit_ms=2000
[ "$(cut -d. -f1 /proc/loadavg)" -ge "$(nproc)" ] && limit_ms=6000
test_expect_success 'cluster starts in the background in under 2 seconds' '
	echo "start-up took $startup_ms ms (limit $limit_ms ms)" &&
	test "$startup_ms" -lt "$limit_ms" &&
	test -s "$EIDF_CLUSTER_STATE/cluster.pid" &&
	kill -0 "$(cat "$EIDF_CLUSTER_STATE/cluster.pid")"
'
CURL="curl -sS --cacert $EIDF_CLUSTER_STATE/pki/ca.crt"
SERVER=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"server\"])" "$EIDF_CLUSTER_STATE/cluster.json")
CERT="--cert $EIDF_CLUSTER_STATE/pki/client.crt --key $EIDF_CLUSTER_STATE/pki/client.key"

test_expect_success 'kubectl get ns lists the seeded namespaces' '
	kubectl get ns >out &&
	test_grep "^default .*Active" out &&
	test_grep "^kube-system" out
'

test_expect_success 'requests without credentials get a 401 Status' '
	$CURL -A Go-http-client/1.1 -D hdr -o body "$SERVER/api/v1/namespaces" &&
	test_grep "^HTTP/1.1 401" hdr &&
	grep -qi "^content-type: application/json" hdr &&
	grep -qi "^audit-id: " hdr &&
	printf "%s\n" "$(cat "$SAMPLES/status-401-unauthorized.json")" >expect &&
	test_cmp expect body
'

test_expect_success 'a bad bearer token gets 401, the right one works' '
	$CURL -H "Authorization: Bearer nope" -o body -w "%{http_code}" "$SERVER/api/v1/namespaces" >code &&
	test "$(cat code)" = 401 &&
	kubectl --kubeconfig "$EIDF_CLUSTER_STATE/kubeconfig-token" get ns default &&
	kubectl --kubeconfig "$EIDF_CLUSTER_STATE/kubeconfig-exec" get ns default &&
	test -s "$EIDF_CLUSTER_STATE/exec-plugin.count"
'

test_expect_success 'kubectl create -f pvc.yaml, then wait for Bound' '
	kubectl create -f "$FIX/pvc.yaml" &&
	kubectl wait --for=jsonpath="{.status.phase}"=Bound pvc/demo-pvc --timeout=10s &&
	kubectl get pvc demo-pvc -o jsonpath="{.spec.volumeName} {.status.capacity.storage}" >out &&
	test_grep "^pvc-.* 2Gi$" out &&
	kubectl get pv >out && test_grep "demo-pvc" out
'

test_expect_success 'creating it again is 409 AlreadyExists with the real body' '
	$CURL $CERT -A Go-http-client/1.1 -H "Content-Type: application/json" -o body \
		-d "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":\"demo-pvc\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}}}" \
		"$SERVER/api/v1/namespaces/default/persistentvolumeclaims" &&
	printf "%s\n" "$(cat "$SAMPLES/status-409-alreadyexists.json")" >expect &&
	test_cmp expect body &&
	test_must_fail kubectl create -f "$FIX/pvc.yaml" 2>err &&
	test_grep "AlreadyExists" err
'

test_expect_success 'unknown storage class stays Pending with a ProvisioningFailed event' '
	sed -e "s/demo-pvc/bad-pvc/" -e "s/csi-cephfs-sc/no-such-sc/" "$FIX/pvc.yaml" >bad.yaml &&
	kubectl create -f bad.yaml &&
	wait_for 20 eval "kubectl get events --field-selector involvedObject.name=bad-pvc -o jsonpath=\"{.items[*].reason}: {.items[*].message}\" >out && test -s out" &&
	test "$(kubectl get pvc bad-pvc -o jsonpath="{.status.phase}")" = Pending &&
	test_grep "ProvisioningFailed: storageclass.storage.k8s.io \"no-such-sc\" not found" out
'

test_expect_success '404 bodies: object, namespace, unknown path' '
	$CURL $CERT -A Go-http-client/1.1 -o body "$SERVER/api/v1/namespaces/default/pods/does-not-exist" &&
	printf "%s\n" "$(cat "$SAMPLES/status-404-notfound.json")" >expect && test_cmp expect body &&
	$CURL $CERT -o body "$SERVER/api/v1/namespaces/default/pods/does-not-exist" &&
	test_cmp "$SAMPLES/status-404-notfound.curl-ua-pretty.json" body &&
	$CURL $CERT -A Go-http-client/1.1 -o body "$SERVER/apis/batch/v1/namespaces/default/jobs/does-not-exist" &&
	printf "%s\n" "$(cat "$SAMPLES/status-404-job-notfound.json")" >expect && test_cmp expect body &&
	$CURL $CERT -A Go-http-client/1.1 -o body "$SERVER/api/v1/namespaces/nope" &&
	printf "%s\n" "$(cat "$SAMPLES/status-404-namespace-notfound.json")" >expect && test_cmp expect body &&
	$CURL $CERT -D hdr -o body "$SERVER/api/v1/flurbs" &&
	grep -qi "^content-type: text/plain; charset=utf-8" hdr &&
	echo "404 page not found" >expect && test_cmp expect body
'

test_expect_success '422 Invalid for a Job without containers and for a bad name' '
	cat >nocont.json <<-\JSON &&
	{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"bad-job-nsl4s"},"spec":{"template":{"spec":{"restartPolicy":"Never"}}}}
	JSON
	$CURL $CERT -A Go-http-client/1.1 -H "Content-Type: application/json" -d @nocont.json -o body \
		"$SERVER/apis/batch/v1/namespaces/default/jobs" &&
	printf "%s\n" "$(cat "$SAMPLES/status-422-invalid-job.json")" >expect && test_cmp expect body &&
	kubectl create configmap Bad_Name 2>err; test_grep "is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain" err
'

test_expect_success '400 for a bad quantity and for a truncated body' '
	sed "s/2Gi/2Gx/; s/demo-pvc/q-pvc/" "$FIX/pvc.yaml" >q.yaml &&
	test_must_fail kubectl create -f q.yaml 2>err &&
	test_grep "quantities must match the regular expression" err &&
	$CURL $CERT -A Go-http-client/1.1 -H "Content-Type: application/json" -d "{\"apiVersion\":\"v1\",\"kind\":\"Con" \
		-o body "$SERVER/api/v1/namespaces/default/configmaps" &&
	test_grep "\"reason\":\"BadRequest\",\"code\":400" body
'

test_expect_success 'generateName, uid, creationTimestamp and resourceVersion' '
	kubectl create -f - -o json >cm.json <<-\YAML &&
	apiVersion: v1
	kind: ConfigMap
	metadata: {generateName: gen-}
	data: {a: b}
	YAML
	python3 - cm.json <<-\PY
	import json, re, sys
	o = json.load(open(sys.argv[1]))["metadata"]
	assert re.match(r"^gen-[a-z0-9]{5}$", o["name"]), o
	assert re.match(r"^[0-9a-f-]{36}$", o["uid"]), o
	assert o["creationTimestamp"].endswith("Z") and int(o["resourceVersion"]) > 0, o
	PY
'

test_expect_success 'patch (merge, strategic, json) bumps resourceVersion; stale update is 409 Conflict' '
	kubectl create configmap pc --from-literal=a=1 &&
	rv1=$(kubectl get cm pc -o jsonpath="{.metadata.resourceVersion}") &&
	kubectl patch cm pc --type=merge -p "{\"data\":{\"b\":\"2\"}}" &&
	kubectl patch cm pc -p "{\"metadata\":{\"labels\":{\"x\":\"y\"}}}" &&
	kubectl patch cm pc --type=json -p "[{\"op\":\"remove\",\"path\":\"/data/a\"}]" &&
	kubectl get cm pc -o jsonpath="{.data} {.metadata.labels.x} {.metadata.resourceVersion}" >out &&
	cat out && test_grep "{\"b\":\"2\"} y " out &&
	rv2=$(kubectl get cm pc -o jsonpath="{.metadata.resourceVersion}") && test "$rv2" -gt "$rv1" &&
	kubectl label cm pc z=1 && kubectl annotate cm pc note=hi &&
	$CURL $CERT -A Go-http-client/1.1 -X PUT -H "Content-Type: application/json" -o body \
		-d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"pc\",\"resourceVersion\":\"$rv1\"}}" \
		"$SERVER/api/v1/namespaces/default/configmaps/pc" &&
	test_grep "\"reason\":\"Conflict\"" body && test_grep "the object has been modified" body
'

test_expect_success 'label selectors: =, ==, !=, in, notin, exists, !key' '
	for i in 1 2 3; do kubectl create configmap sel$i; done &&
	kubectl label cm sel1 tier=web env=prod && kubectl label cm sel2 tier=db env=dev && kubectl label cm sel3 tier=web &&
	check() { kubectl get cm -l "$1" -o name | sort | tr "\n" " " >out; echo "$2" >expect; echo "$1 -> $(cat out)"; test "$(cat out)" = "$2"; } &&
	check tier=web "configmap/sel1 configmap/sel3 " &&
	check tier==db "configmap/sel2 " &&
	check "tier!=web,env" "configmap/sel2 " &&
	check "env in (prod,dev)" "configmap/sel1 configmap/sel2 " &&
	check "tier,env notin (prod)" "configmap/sel2 configmap/sel3 " &&
	check "tier,!env" "configmap/sel3 "
'

test_expect_success 'field selectors and limit/continue paging' '
	kubectl get cm --field-selector metadata.name=sel2 -o name >out &&
	echo configmap/sel2 >expect && test_cmp expect out &&
	kubectl get cm --chunk-size=2 -o name >all &&
	test "$(wc -l <all)" -ge 5 &&
	cluster_request_count "GET /api/v1/namespaces/default/configmaps\?.*continue=" >n &&
	test "$(cat n)" -ge 2 &&
	$CURL $CERT "$SERVER/api/v1/namespaces/default/configmaps?fieldSelector=data.a%3Db" -o body &&
	test_grep "is not a known field selector" body
'

test_expect_success 'dryRun=All does not store the object' '
	kubectl create configmap dry --dry-run=server -o name >out &&
	test_grep configmap/dry out &&
	test_must_fail kubectl get cm dry
'

test_expect_success 'the request log has method, path, query, status, duration, user agent, connection' '
	cluster_requests >log &&
	python3 - log <<-\PY
	import json, sys
	recs = [json.loads(l) for l in open(sys.argv[1])]
	assert recs, "empty log"
	for r in recs:
	    for k in ("method", "path", "query", "status", "duration_ms", "user_agent", "conn"):
	        assert k in r, (k, r)
	assert any(r["status"] == 409 for r in recs)
	PY
	test "$(cluster_connections)" -ge 1
'

test_expect_success 'kubectl get works with tables and -o wide/yaml/json' '
	kubectl get sc >out && test_grep "csi-cephfs-sc (default)" out && test_grep csi-rbd-sc out &&
	kubectl get pvc -o wide >out && test_grep "demo-pvc .*Bound" out &&
	kubectl get pvc demo-pvc -o yaml >out && test_grep "phase: Bound" out &&
	cluster_admin_kubectl get nodes -o jsonpath="{.items[*].metadata.labels.nvidia\.com/gpu\.product}" >out &&
	test_grep NVIDIA-H100-80GB-HBM3 out && test_grep NVIDIA-A100-SXM4-80GB out
'

test_expect_success 'kubectl delete pvc removes it and its volume' '
	dir=$(kubectl get pvc demo-pvc -o jsonpath="{.spec.volumeName}") &&
	test -d "$EIDF_CLUSTER_STATE/volumes/$dir" &&
	kubectl delete pvc demo-pvc --timeout=10s &&
	test_must_fail kubectl get pvc demo-pvc &&
	! test -d "$EIDF_CLUSTER_STATE/volumes/$dir"
'

test_done
