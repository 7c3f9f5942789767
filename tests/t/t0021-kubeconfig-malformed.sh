#!/bin/bash
# Malformed kubeconfig files (tests/fixtures/kubeconfig/malformed/*.yaml, each
# with "# expect: <part of the message>" and optional "# args: <flags>"):
# a clear one-line error, exit 1, no crash, no secret in the message.
. "$(dirname "$0")/lib.sh"

RESOLVE=$EIDF_BUILD/tests/kubeconfig-resolve
MALFORMED=$EIDF_SRC/tests/fixtures/kubeconfig/malformed

if [ ! -x "$RESOLVE" ]; then
	test_skip 'malformed kubeconfig files' "build the kubeconfig-resolve target first"
	test_done
fi

# check_one FILE: run the resolver on FILE and check the error.
check_one() {
	local f=$1 expect args rc=0
	expect=$(sed -n 's/^# expect: //p' "$f")
	args=$(sed -n 's/^# args: //p' "$f")
	# shellcheck disable=SC2086 # args is a word list on purpose
	"$RESOLVE" --kubeconfig "$f" $args >out 2>err || rc=$?
	if [ "$rc" != 1 ]; then echo "exit code $rc, want 1"; cat err; return 1; fi
	test_must_be_empty out
	if [ "$(wc -l <err)" != 1 ]; then echo "not one line:"; cat err; return 1; fi
	test_grep "^error: " err
	grep -qF -- "$expect" err || { echo "want: $expect"; cat err; return 1; }
	test_grep -v SECRET err
	test_grep -v "BEGIN" err
}
# malformed NAME: the variant's file, whatever its number.
malformed() { local f; for f in "$MALFORMED"/*-"$1".yaml; do printf '%s' "$f"; done; }
test_must_be_empty() { if [ -s "$1" ]; then echo "$1 is not empty:"; cat "$1"; return 1; fi; }

count=0
for f in "$MALFORMED"/*.yaml; do
	count=$((count+1))
	test_expect_success "malformed: $(basename "$f" .yaml)" "check_one '$f'"
done

test_expect_success 'at least 30 malformed variants' '
	test "$count" -ge 30
'

test_expect_success 'the same errors through KUBECONFIG (files are relative to their own directory)' '
	f=$(malformed missing-cert-file) &&
	(cd / && KUBECONFIG=$f "$RESOLVE" >"$TRASH/out" 2>"$TRASH/err") && exit 1
	test_grep "cannot read client-certificate $MALFORMED/does-not-exist/client.crt" err &&
	test_grep -v SECRET err
'

test_expect_success 'a broken later file in KUBECONFIG is still an error' '
	f=$(malformed clusters-map) &&
	KUBECONFIG=$EIDF_SRC/tests/fixtures/kubeconfig/basic.yaml:$f \
		test_expect_code 1 "$RESOLVE" >out 2>err &&
	test_grep "clusters-map.yaml\": line 4: clusters: expected a list" err
'

test_expect_success 'a directory as --kubeconfig' '
	test_expect_code 1 "$RESOLVE" --kubeconfig "$MALFORMED" 2>err &&
	test_grep "Is a directory" err
'

test_expect_success 'a missing --kubeconfig' '
	test_expect_code 1 "$RESOLVE" --kubeconfig /nonexistent/config 2>err &&
	test_grep "^error: stat /nonexistent/config: no such file or directory" err
'

test_expect_success 'no configuration at all' '
	test_expect_code 1 "$RESOLVE" 2>err &&
	test_grep "no configuration found: set KUBECONFIG, pass --kubeconfig, or create ~/.kube/config" err
'

test_expect_success 'a failing exec plugin: its stderr reaches ours (as with kubectl), never the token' '
	EXEC_PLUGIN_MODE=fail EXEC_PLUGIN_STDERR="token expired: run eidf-login" \
		test_expect_code 1 "$RESOLVE" --kubeconfig "$EIDF_SRC/tests/fixtures/kubeconfig/exec.yaml" \
		--exec >out 2>err &&
	test_grep "^token expired: run eidf-login$" err &&
	test_grep "failed with exit code 1 (its messages, if any, are above)" err &&
	test_grep -v SECRET err
'

test_expect_success 'an exec plugin that prints garbage' '
	EXEC_PLUGIN_MODE=badjson test_expect_code 1 "$RESOLVE" \
		--kubeconfig "$EIDF_SRC/tests/fixtures/kubeconfig/exec.yaml" --exec >out 2>err &&
	test_grep "did not print an ExecCredential JSON object" err &&
	test_grep -v SECRET err
'

test_done
