#!/bin/bash
# tests/servers/fault_proxy.py: a TCP proxy on 127.0.0.1 that works in front of
# any API server (a real kube-apiserver too; TLS and credentials pass through)
# and makes it look away - open streams cut, connections reset, refused.  The
# waiting commands ride it out as they ride out the local cluster's own
# outage switches (t0704).
. "$(dirname "$0")/lib.sh"

. "$EIDF_SRC/tests/t/lib-outage.sh"
outage_setup busybox curl
outage_pvc

start_proxy() {
	python3 "$EIDF_SRC/tests/servers/fault_proxy.py" --upstream "127.0.0.1:$EIDF_CLUSTER_PORT" \
		--port-file "$TRASH/proxy.port" --log "$TRASH/proxy.log" 2>"$TRASH/proxy.err" &
	test_atexit "kill $!"
	wait_for 10 test -s "$TRASH/proxy.port" &&
	read -r PROXY_PORT PROXY_CTL <"$TRASH/proxy.port" &&
	sed "s|https://127.0.0.1:$EIDF_CLUSTER_PORT|https://127.0.0.1:$PROXY_PORT|" "$KUBECONFIG" >"$TRASH/proxy.kubeconfig" &&
	grep -q "127.0.0.1:$PROXY_PORT" "$TRASH/proxy.kubeconfig"
}
pfault() { curl -fsS "http://127.0.0.1:$PROXY_CTL/fault?mode=$1&seconds=${2:-1}" >/dev/null; }
pconns() { curl -fsS "http://127.0.0.1:$PROXY_CTL/state" | jq .connections; }
start_proxy || { echo "Bail out! the fault proxy did not start"; exit 1; }

test_expect_success 'through the fault proxy: streams cut, then reset, then refused; fetch wait and logs -f ride it out' '
	job=$(held_fetch o9) && test -n "$job" &&
	bg w9 $FETCH --kubeconfig "$TRASH/proxy.kubeconfig" wait "$job" &&
	bg l9 $FETCH --kubeconfig "$TRASH/proxy.kubeconfig" logs -f "$job" &&
	wait_for 30 grep -q "^$job: " w9.err &&
	wait_for 30 grep -q progress l9.out &&
	pfault cut &&
	pfault reset 2 &&
	wait_for 20 grep -q "^lost the API server" w9.err &&
	pfault refuse 2 &&
	ctl "path=/slow.bin&hold_at=0" &&
	wait_for 90 test -s w9.rc && wait_for 30 test -s l9.rc &&
	cat w9.err l9.err &&
	test "$(cat w9.rc)" = 0 && test "$(cat l9.rc)" = 0 &&
	test_grep "^job.batch/$job complete" w9.out &&
	kubectl logs -n $NS "job/$job" >expect9 && test_cmp expect9 l9.out &&
	back_once l9.err &&
	test "$(pconns)" -ge 4
'

test_done
