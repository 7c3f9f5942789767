#!/bin/bash
# The library's kubeconfig resolution (tests/kubeconfig-resolve) against the
# real kubectl for the same inputs.  kubectl's side comes from
#  - `config view --minify --flatten -o json` (honours --context; --flatten
#    inlines CA files resolved against their own kubeconfig file), and
#  - `get --raw /version -v=9` against a closed port, whose curl line shows
#    the server, the Authorization scheme and the impersonation headers
#    (the flags `config view` ignores: --server, --as, --token, --cluster...).
. "$(dirname "$0")/lib.sh"

RESOLVE=$EIDF_BUILD/tests/kubeconfig-resolve
FX=$EIDF_SRC/tests/fixtures/kubeconfig
CLOSED=https://127.0.0.1:1

if ! command -v kubectl >/dev/null || ! command -v jq >/dev/null || [ ! -x "$RESOLVE" ]; then
	test_skip 'kubeconfig vs kubectl' "needs kubectl, jq and the kubeconfig-resolve target"
	test_done
fi

sha() { sha256sum | cut -d' ' -f1; }
field() { sed -n "s/^$1=//p" lib.out; }

# view_compare [FLAGS...]: compare server, cluster, user, namespace, CA,
# insecure and tls-server-name from `config view` with the library's.
view_compare() {
	"$RESOLVE" "$@" >lib.out
	kubectl config view --minify --flatten -o json "$@" >kc.json
	jq -r '.clusters[0].cluster.server' kc.json >want.server
	field server >got.server
	test_cmp want.server got.server
	test "$(jq -r '.contexts[0].context.cluster' kc.json)" = "$(field cluster)"
	test "$(jq -r '.contexts[0].context.user // ""' kc.json)" = "$(field user)"
	test "$(jq -r '.contexts[0].context.namespace // "default"' kc.json)" = "$(field namespace)"
	test "$(jq -r '.clusters[0].cluster["insecure-skip-tls-verify"] // false | if . then 1 else 0 end' kc.json)" = "$(field insecure)"
	test "$(jq -r '.clusters[0].cluster["tls-server-name"] // ""' kc.json)" = "$(field tls-server-name)"
	if jq -e '.clusters[0].cluster["certificate-authority-data"]' kc.json >/dev/null; then
		want_ca=$(jq -j '.clusters[0].cluster["certificate-authority-data"] | @base64d' kc.json | sha)
	else
		want_ca=none
	fi
	test "$want_ca" = "$(field ca-sha256)"
}

# raw_compare [FLAGS...]: server, bearer token presence and impersonation
# headers of kubectl's request against the library's resolution.
raw_compare() {
	"$RESOLVE" "$@" >lib.out
	kubectl get --raw /version -v=9 --request-timeout=1s "$@" >kc.out 2>&1 || :
	grep -m1 "curl -v -XGET" kc.out >curl.line || { cat kc.out; return 1; }
	test "$(sed -n "s/.*'\(https\{0,1\}:\/\/[^/']*\)\/version.*/\1/p" curl.line)" = "$(field server)"
	if grep -q 'Authorization: Bearer' curl.line; then
		test "$(field token-sha256)" != none || test -n "$(field exec-command)"
	else
		test "$(field token-sha256)" = none && test -z "$(field exec-command)"
	fi
	test "$(sed -n 's/.*-H "Impersonate-User: \([^"]*\)".*/\1/p' curl.line)" = "$(field impersonate-user)"
	test "$(sed -n 's/.*-H "Impersonate-Uid: \([^"]*\)".*/\1/p' curl.line)" = "$(field impersonate-uid)"
	test "$(grep -o 'Impersonate-Group: [^"]*' curl.line | cut -d' ' -f2 | paste -sd, -)" = \
		"$(field impersonate-groups)"
}

test_expect_success 'one file via --kubeconfig' '
	view_compare --kubeconfig "$FX/basic.yaml"
'

test_expect_success 'KUBECONFIG a:b: first definition wins entirely, a current-context' '
	KUBECONFIG=$FX/merge-a.yaml:$FX/merge-b.yaml view_compare
'

test_expect_success 'KUBECONFIG b:a' '
	KUBECONFIG=$FX/merge-b.yaml:$FX/merge-a.yaml view_compare
'

test_expect_success 'KUBECONFIG nocur:b:a: first non-empty current-context' '
	KUBECONFIG=$FX/nocur.yaml:$FX/merge-b.yaml:$FX/merge-a.yaml view_compare
'

test_expect_success 'KUBECONFIG a:b --context from the second file, relative CA' '
	KUBECONFIG=$FX/merge-a.yaml:$FX/merge-b.yaml view_compare --context ctx-b
'

test_expect_success 'KUBECONFIG with missing, empty and duplicate entries' '
	KUBECONFIG=":/nonexistent:$FX/merge-b.yaml::$FX/merge-b.yaml:$FX/merge-a.yaml" view_compare
'

test_expect_success 'relative paths from another working directory' '
	mkdir -p elsewhere && cd elsewhere &&
	view_compare --kubeconfig "$FX/relative/sub/config" &&
	KUBECONFIG=$FX/relative/sub/config:$FX/basic.yaml view_compare --context basic
'

test_expect_success 'relative --kubeconfig path' '
	(cd "$FX" && "$RESOLVE" --kubeconfig relative/sub/config >"$TRASH/a" &&
	 kubectl config view --minify --flatten -o json --kubeconfig relative/sub/config >"$TRASH/b") &&
	test "$(jq -j ".clusters[0].cluster[\"certificate-authority-data\"] | @base64d" b | sha)" = \
		"$(sed -n "s/^ca-sha256=//p" a)"
'

test_expect_success '--context with a tls-server-name and a CA' '
	view_compare --kubeconfig "$FX/selection.yaml" --context k2
'

test_expect_success 'insecure-skip-tls-verify and namespace' '
	view_compare --kubeconfig "$FX/insecure.yaml"
'

test_expect_success 'no namespace in the context: default' '
	view_compare --kubeconfig "$FX/no-namespace.yaml"
'

test_expect_success 'a file and its -data together: refused by both' '
	test_must_fail "$RESOLVE" --kubeconfig "$FX/data-wins.yaml" >lib.out 2>lib.err &&
	test_must_fail kubectl get --raw /version --kubeconfig "$FX/data-wins.yaml" </dev/null 2>kc.err &&
	test_grep "are both specified" lib.err &&
	test_grep "are both specified" kc.err
'

test_expect_success '--server override (token sent)' '
	raw_compare --kubeconfig "$FX/basic.yaml" --server "$CLOSED"
'

test_expect_success '--server with --tls-server-name and --insecure-skip-tls-verify' '
	raw_compare --kubeconfig "$FX/selection.yaml" --context k2 --server "$CLOSED" \
		--insecure-skip-tls-verify --tls-server-name x.internal
'

test_expect_success '--cluster and --user replace the context choices' '
	raw_compare --kubeconfig "$FX/selection.yaml" --cluster c2 --user u2 --server "$CLOSED"
'

test_expect_success 'impersonation from the kubeconfig' '
	raw_compare --kubeconfig "$FX/impersonate.yaml" --server "$CLOSED"
'

test_expect_success 'impersonation flags override the kubeconfig' '
	raw_compare --kubeconfig "$FX/impersonate.yaml" --server "$CLOSED" --as bob --as-group ops --as-group dev
'

test_expect_success 'exec plugin with a relative command runs (bearer token)' '
	mkdir -p elsewhere && cd elsewhere &&
	EXEC_PLUGIN_COUNT=$TRASH/count raw_compare --kubeconfig "$FX/exec.yaml" --server "$CLOSED" &&
	test "$(wc -l <"$TRASH/count")" -ge 1
'

test_expect_success '--token bypasses the exec plugin' '
	rm -f count &&
	EXEC_PLUGIN_COUNT=$TRASH/count raw_compare --kubeconfig "$FX/exec.yaml" --server "$CLOSED" --token SECRET-FLAG &&
	test ! -e count && test -z "$(field exec-command)"
'

test_expect_success 'tokenFile (relative) is sent' '
	raw_compare --kubeconfig "$FX/token-file.yaml" --server "$CLOSED"
'

test_expect_success 'oidc id-token is sent as a bearer token' '
	raw_compare --kubeconfig "$FX/auth-oidc.yaml" --server "$CLOSED"
'

test_expect_success 'no credentials over http://' '
	"$RESOLVE" --kubeconfig "$FX/http.yaml" --server http://127.0.0.1:1 >lib.out &&
	kubectl get --raw /version -v=9 --request-timeout=1s --kubeconfig "$FX/http.yaml" \
		--server http://127.0.0.1:1 >kc.out 2>&1 || :
	grep -m1 "curl -v -XGET" kc.out >curl.line &&
	test_grep -v Authorization curl.line &&
	test "$(field token-sha256)" = none
'

test_expect_success '-n beats the context namespace' '
	"$RESOLVE" --kubeconfig "$FX/basic.yaml" -n other >lib.out &&
	test "$(kubectl --kubeconfig "$FX/basic.yaml" -n other create configmap x --dry-run=client \
		-o jsonpath="{.metadata.namespace}")" = "$(field namespace)"
'

# errors both sides agree on
test_expect_success 'unknown --context' '
	test_must_fail kubectl get --raw /version --kubeconfig "$FX/selection.yaml" --context nope 2>kc.err &&
	test_must_fail "$RESOLVE" --kubeconfig "$FX/selection.yaml" --context nope 2>lib.err &&
	test_grep "context \"nope\" does not exist" kc.err &&
	test_grep "context \"nope\" does not exist" lib.err
'

test_expect_success 'missing --kubeconfig file' '
	test_must_fail kubectl get --raw /version --kubeconfig /nonexistent/config 2>kc.err &&
	test_must_fail "$RESOLVE" --kubeconfig /nonexistent/config 2>lib.err &&
	test_grep "stat /nonexistent/config: no such file or directory" kc.err &&
	test_grep "stat /nonexistent/config: no such file or directory" lib.err
'

test_expect_success 'duplicate name in one file' '
	test_must_fail kubectl config view --kubeconfig "$FX/dup-cluster.yaml" 2>kc.err &&
	test_must_fail "$RESOLVE" --kubeconfig "$FX/dup-cluster.yaml" 2>lib.err &&
	test_grep "twice" kc.err && test_grep "twice" lib.err
'

test_expect_success 'CA together with insecure-skip-tls-verify' '
	test_must_fail kubectl get --raw /version --request-timeout=1s --kubeconfig "$FX/ca-insecure.yaml" 2>kc.err &&
	test_must_fail "$RESOLVE" --kubeconfig "$FX/ca-insecure.yaml" 2>lib.err &&
	test_grep "specifying a root certificates file with the insecure flag is not allowed" kc.err &&
	test_grep "specifying a root certificates file with the insecure flag is not allowed" lib.err
'

test_expect_success '--insecure-skip-tls-verify resets the kubeconfig CA' '
	raw_compare --kubeconfig "$FX/ca-insecure.yaml" --insecure-skip-tls-verify --server "$CLOSED" &&
	test "$(field ca-sha256)" = none
'

test_done
