#!/usr/bin/env bash
# The newcomer demo (tests/demo/seed-workflow.sh, README command 1) against
# the local test cluster, with the executables already built ($EIDF_BIN).
. "$(dirname "$0")/lib.sh"

DEMO="$EIDF_SRC/tests/demo/seed-workflow.sh"

if ! command -v git >/dev/null || ! command -v kubectl >/dev/null || ! command -v busybox >/dev/null; then
	test_skip "newcomer demo" "needs git, kubectl and busybox"
	test_done
fi

test_expect_success 'usage errors exit 2' '
	test_expect_code 2 bash "$DEMO" --no-such-option 2>err &&
	test_grep "unknown option" err &&
	test_expect_code 2 bash "$DEMO" --no-build --data-url http://example.org/x.zip 2>err &&
	test_grep "needs --sha256" err
'

test_expect_success 'a configured cluster without reachable data and code: says what is needed, exit 2' '
	mkdir -p "$HOME/.kube" && : >"$HOME/.kube/config" &&
	test_expect_code 2 bash "$DEMO" --no-build 2>err &&
	test_grep "data-url URL --sha256 HEX" err &&
	test_grep "repo-dir DIR" err &&
	test_grep "seed-workflow.sh --local" err &&
	rm -f "$HOME/.kube/config"
'

test_expect_success 'the seed workflow runs end to end on the local cluster' '
	mkdir -p "$TRASH/tmp" &&
	TMPDIR="$TRASH/tmp" EIDF_BIN="$EIDF_BIN" NO_COLOR=1 bash "$DEMO" --no-build --local >out 2>&1 ||
		{ cat out; false; } &&
	cat out &&
	for s in 1 2 3 4 5 6; do test_grep "^==> \[$s/6\]" out || return 1; done &&
	test_grep "persistentvolumeclaim/template-workflow-pvc bound" out &&
	test_grep "job.batch/fetch-[a-z0-9]* complete" out &&
	test_grep "iris.csv" out &&
	test_grep "^RUN pip install --no-cache-dir" out &&
	test_grep "me/template-docker-image:\${{ github.sha }}\|demo/template-docker-image:\${{ github.sha }}" out &&
	test_grep "^digest: sha256:[0-9a-f]\{64\}$" out &&
	test_grep "^largest files:" out &&
	test_grep "^job.batch/build-[a-z0-9-]*$\|^job.batch/[a-z0-9-]*$" out &&
	digest=$(sed -n "s/^digest: sha256://p" out | head -1) &&
	test_grep "^context sha256: $digest$" out &&
	test_grep "build succeeded" out &&
	test_grep "^Iris (uncommitted edit): mean petal length by species$" out &&
	test_grep "Iris-setosa .*n=50 .*mean petal length 1.41 cm" out &&
	test_grep "Iris-versicolor .*n=50 .*mean petal length 4.33 cm" out &&
	test_grep "Iris-virginica .*n=50 .*mean petal length 5.70 cm" out &&
	test_grep "^rows read: 150$" out &&
	test_grep "^fetch-[a-z0-9]* .*template-workflow-pvc .*1/1 .*Complete" out &&
	test_grep "^devrun-[a-z0-9]* .*Succeeded" out &&
	test_grep "^template-workflow-pvc .*%" out &&
	test_grep "persistentvolumeclaim \"template-workflow-pvc\" deleted" out &&
	test_grep "The seed workflow ran end to end." out
'

test_expect_success 'the demo left no processes or temporary files behind' '
	test -z "$(ls -A "$TRASH/tmp")" &&
	sleep 0.5 &&
	! pgrep -af "$TRASH/tmp/eidf-demo"
'

test_done
