# Shared by the outage tests (t0704, t0706, t0707): a cluster with tenant
# namespace $NS under the EIDF policy, the slow data server of lib-fetch.sh,
# and $FETCH/$BC bound to $NS.  The bound PVC "data" they all fetch into is
# a test case of its own: outage_pvc.
#
# outage_setup [--devrun] NEEDED...
#                         skip unless the NEEDED commands exist, then start it
#                         all; --devrun: lib-devrun.sh too (sourced before
#                         lib-fetch.sh, whose job_of the outage tests use)
# outage_pvc              the case that makes the bound PVC "data"
outage_setup() {
	local c devrun=
	test "$1" = --devrun && { devrun=1; shift; }
	for c in "$@"; do
		command -v "$c" >/dev/null || { test_skip "outage tests" "needs $*"; test_done; }
	done
	NS=eidf042ns
	start_cluster --tenant $NS --eidf-policy || exit 1
	test -z "$devrun" || . "$EIDF_SRC/tests/t/lib-devrun.sh"
	FETCH="$EIDF_BIN/kubectl-eidf-fetch -n $NS"
	BC="$EIDF_BIN/kubectl-eidf-build_context -n $NS"
	export EIDF_FETCH_POLL_MS=300
	. "$EIDF_SRC/tests/t/lib-fetch.sh"
	start_slow_data_server || { echo "Bail out! the data server did not start"; exit 1; }
}
outage_pvc() {
	test_expect_success 'setup: a bound PVC' '
		cluster_bound_pvc data -n $NS
	'
}
