#!/bin/bash
# Fault suite (issue 9): exec credential plugins.  A cached credential the
# server no longer accepts (401) makes the client re-run the plugin exactly
# once and repeat the request; a plugin whose credential keeps failing is not
# re-run in a loop; expired credentials (expirationTimestamp in the past) are
# refreshed, valid ones are cached for the process.
. "$(dirname "$0")/lib.sh"

PROBE=$EIDF_BUILD/tests/kclient-probe
NS=eidf042ns
if [ ! -x "$PROBE" ]; then
	test_skip 'exec credential faults' "kclient-probe not built ($PROBE)"
	test_done
fi
start_cluster --tenant "$NS" || { echo "Bail out! no cluster"; exit 1; }
GOOD=$(cat "$EIDF_CLUSTER_STATE/token")
CA=$EIDF_CLUSTER_STATE/pki/ca.crt
SERVER=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["server"])' "$EIDF_CLUSTER_STATE/cluster.json")

# plugin.sh MODE: stale-then-good | always-bad | expired-good | future-good
# Each run appends a line to $TRASH/runs.
cat >plugin.sh <<EOF
#!/bin/sh
echo run >>"$TRASH/runs"
n=\$(wc -l <"$TRASH/runs")
future=\$(date -u -d "+1 hour" +%Y-%m-%dT%H:%M:%SZ)
past=\$(date -u -d "-1 hour" +%Y-%m-%dT%H:%M:%SZ)
case \$1 in
stale-then-good) if [ "\$n" = 1 ]; then tok=stale-token-\$n; else tok=$GOOD; fi; exp=\$future ;;
always-bad) tok=bad-token-\$n; exp=\$future ;;
expired-good) tok=$GOOD; exp=\$past ;;
future-good) tok=$GOOD; exp=\$future ;;
esac
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}\n' "\$tok" "\$exp"
EOF
chmod +x plugin.sh

kubeconfig_for() { # MODE -> kubeconfig file name
	cat >"kc-$1.yaml" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: $SERVER
    certificate-authority: $CA
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: $TRASH/plugin.sh
      args: [$1]
      interactiveMode: Never
contexts:
- name: x
  context: {cluster: c, user: u, namespace: $NS}
current-context: x
EOF
	echo "kc-$1.yaml"
}
runs() { if [ -f "$TRASH/runs" ]; then wc -l <"$TRASH/runs"; else echo 0; fi; }
unauthorized() { grep -c '"status":401' "$EIDF_CLUSTER_STATE/requests.jsonl" || true; }

test_expect_success 'stale cached token: 401, plugin re-run once, request repeated' '
	rm -f runs && kc=$(kubeconfig_for stale-then-good) &&
	u0=$(unauthorized) &&
	"$PROBE" --kubeconfig "$kc" --repeat 3 list configmaps $NS >out 2>err &&
	cat err &&
	test "$(runs)" = 2 &&
	test $(( $(unauthorized) - u0 )) = 1 &&
	test_grep "requests=4 " err
'

test_expect_success 'a credential that keeps failing: exactly one re-run, then 401 error' '
	rm -f runs && kc=$(kubeconfig_for always-bad) &&
	u0=$(unauthorized) &&
	test_expect_code 1 "$PROBE" --kubeconfig "$kc" list configmaps $NS >out 2>err &&
	cat err &&
	test "$(runs)" = 2 &&
	test $(( $(unauthorized) - u0 )) = 2 &&
	test_grep "Unauthorized\|must be logged in" err &&
	test_grep -v "bad-token" err
'

test_expect_success 'expired credential: the plugin runs again before the next request' '
	rm -f runs && kc=$(kubeconfig_for expired-good) &&
	"$PROBE" --kubeconfig "$kc" --repeat 3 list configmaps $NS >out 2>err &&
	test "$(runs)" = 3
'

test_expect_success 'valid credential: cached for the whole process' '
	rm -f runs && kc=$(kubeconfig_for future-good) &&
	"$PROBE" --kubeconfig "$kc" --repeat 3 list configmaps $NS >out 2>err &&
	test "$(runs)" = 1
'

if command -v kubectl-eidf-pvc >/dev/null; then
	test_expect_success 'stage command: pvc list recovers from a stale exec credential' '
		rm -f runs && kc=$(kubeconfig_for stale-then-good) &&
		kubectl-eidf pvc list --kubeconfig "$kc" >out 2>err &&
		cat out err &&
		test "$(runs)" = 2
	'
	test_expect_success 'stage command: a failing credential gives one clear error' '
		rm -f runs && kc=$(kubeconfig_for always-bad) &&
		test_expect_code 1 kubectl-eidf pvc list --kubeconfig "$kc" >out 2>err &&
		cat err &&
		test "$(runs)" = 2 &&
		test "$(wc -l <err)" = 1 &&
		test_grep -v "bad-token" err
	'
else
	test_skip 'stage command with exec credentials' 'kubectl-eidf-pvc not built'
fi

test_done
