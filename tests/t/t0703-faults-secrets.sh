#!/bin/bash
# Bad-input suite (issue 9): verbose output, up to -v=9, never contains a
# bearer token, a client key or a Secret's value, whatever the auth method
# (client certificate, token, token flag, exec plugin) and whatever the
# request (reading Secrets, creating one, failing with 401).
. "$(dirname "$0")/lib.sh"

PROBE=$EIDF_BUILD/tests/kclient-probe
NS=eidf042ns
start_cluster --tenant "$NS" || { echo "Bail out! no cluster"; exit 1; }
S=$EIDF_CLUSTER_STATE
TOKEN=$(cat "$S/token")
SECRET_PLAIN=fixture-s3cret-value-7f3a91
SECRET_B64=$(printf %s "$SECRET_PLAIN" | base64 -w0)
# key material: a body line of the PEM key, and a slice of its base64 in the kubeconfig
KEY_LINE=$(sed -n 2p "$S/pki/client.key")
KEY_DATA=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["users"][0]["user"]["client-key-data"][60:120])' "$S/kubeconfig")
BAD_TOKEN=wrong-fixture-token-5d2c

# no_secrets FILE...: none of the fixture secrets appear
no_secrets() {
	local f s
	for f in "$@"; do
		for s in "$TOKEN" "$SECRET_PLAIN" "$SECRET_B64" "$KEY_LINE" "$KEY_DATA" "$BAD_TOKEN"; do
			if grep -qF -e "$s" "$f"; then
				echo "secret leaked into $f: ${s:0:12}..." >&2
				grep -nF -e "$s" "$f" | cut -c1-200 >&2
				return 1
			fi
		done
	done
}

cat >secret.json <<EOF
{"apiVersion":"v1","kind":"Secret","metadata":{"name":"fixture"},"type":"Opaque","data":{"password":"$SECRET_B64"}}
EOF
cat >secret2.json <<EOF
{"apiVersion":"v1","kind":"Secret","metadata":{"name":"fixture2"},"type":"Opaque","stringData":{"password":"$SECRET_PLAIN"}}
EOF

test_expect_success 'setup: a Secret holding the fixture value' '
	cluster_admin_kubectl -n $NS create -f secret.json &&
	test -n "$KEY_LINE" && test -n "$KEY_DATA" && test -n "$TOKEN"
'

if [ -x "$PROBE" ]; then
	test_expect_success 'kclient -v 9: reading a Secret (client certificate)' '
		"$PROBE" --kubeconfig "$S/kubeconfig" -v 9 get secrets $NS fixture >out 2>err &&
		test_grep "$SECRET_B64" out &&
		test -s err && no_secrets err
	'
	test_expect_success 'kclient -v 9: listing Secrets (bearer token)' '
		"$PROBE" --kubeconfig "$S/kubeconfig-token" -v 9 list secrets $NS >out 2>err &&
		grep -qi "^ *authorization: " err &&
		no_secrets err
	'
	test_expect_success 'kclient -v 9: creating a Secret (request body)' '
		"$PROBE" --kubeconfig "$S/kubeconfig-token" -v 9 create secrets $NS secret2.json >out 2>err &&
		no_secrets err
	'
	test_expect_success 'kclient -v 9: exec plugin credential' '
		"$PROBE" --kubeconfig "$S/kubeconfig-exec" -v 9 get secrets $NS fixture >out 2>err &&
		no_secrets err
	'
	test_expect_success 'kclient -v 9: wrong token, 401' '
		server=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"server\"])" "$S/cluster.json") &&
		test_must_fail "$PROBE" --server "$server" --ca "$S/pki/ca.crt" --token "$BAD_TOKEN" -v 9 \
			list secrets $NS >out 2>err &&
		test_grep "401" err &&
		no_secrets out err
	'
else
	test_skip 'kclient -v 9 secrets' "kclient-probe not built ($PROBE)"
fi

if command -v kubectl-eidf-pvc >/dev/null; then
	for kc in kubeconfig kubeconfig-token kubeconfig-exec; do
		test_expect_success "stage commands -v=9 ($kc)" '
			for c in "pvc list" "fetch list" "devrun list"; do
				kubectl-eidf $c --kubeconfig "$S/$kc" -v=9 >out 2>err || { cat err; return 1; }
				test -s err && no_secrets out err || return 1
			done
		'
	done
	test_expect_success 'stage command -v=9 with --token on the command line' '
		kubectl-eidf pvc list --kubeconfig "$S/kubeconfig-token" --token "$TOKEN" -v=9 >out 2>err &&
		no_secrets out err
	'
	test_expect_success 'stage command -v=9 with a rejected --token' '
		test_must_fail kubectl-eidf pvc list --kubeconfig "$S/kubeconfig-token" --token "$BAD_TOKEN" -v=9 >out 2>err &&
		no_secrets out err
	'
	test_expect_success 'stage command -v=9 with --client-key given as a file' '
		kubectl-eidf pvc list --kubeconfig "$S/kubeconfig-token" --token "" \
			--client-certificate "$S/pki/client.crt" --client-key "$S/pki/client.key" -v=9 >out 2>err;
		no_secrets out err
	'
else
	test_skip 'stage commands -v=9' 'kubectl-eidf-pvc not built'
fi

test_done
