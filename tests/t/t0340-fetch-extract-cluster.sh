#!/bin/bash
# fetch --extract end to end in the local test cluster: the download runs as
# the `fetch` init container, the extractor (python:3.14-alpine by default;
# the host's python3 here) as the `extract` container.  A few of t0335's
# hostile archives: the Job fails at once, `fetch status` says
# "Failed: NAME: refusing to extract: ENTRY: REASON", the archive stays
# verified on the PVC, and nothing else on the PVC changes.  Normal archives
# are unpacked with their modes and links.
. "$(dirname "$0")/lib.sh"

if ! command -v busybox >/dev/null || ! command -v curl >/dev/null || ! command -v zstd >/dev/null; then
	test_skip "fetch --extract cluster tests" "needs busybox, curl and zstd"
	test_done
fi
NS=eidf989ns
start_cluster --tenant $NS --eidf-policy --job-backoff 1 || exit 1
FETCH="$EIDF_BIN/kubectl-eidf-fetch -n $NS"
export EIDF_FETCH_POLL_MS=300

mkdir -p root
python3 "$EIDF_SRC/tests/fixtures/hostile-archives.py" "$TRASH/root" "$TRASH/abs" || exit 1
. "$EIDF_SRC/tests/t/lib-fetch.sh"
start_data_server || { echo "Bail out! the data server did not start"; exit 1; }

test_expect_success 'setup: a bound PVC with a victim beside the destination' '
	cluster_bound_pvc data -n $NS &&
	cluster_volume_dir data -n $NS >voldir &&
	echo victim >"$(cat voldir)/victim" && mkdir -p "$(cat voldir)/sub/existing-dir" &&
	ln -s existing-dir "$(cat voldir)/sub/inner-link"
'
VOL() { cat "$TRASH/voldir"; }
# the whole PVC (type, mode, size, link target, content), but DEST's download
# markers and the downloaded archives, which a refused fetch adds
pvc_listing() {
	(cd "$(VOL)" && find . -path ./sub/.eidf-fetch -prune -o ! -name "$1" -printf '%p %y %m %U %s %l\n' | sort &&
		find . -path ./sub/.eidf-fetch -prune -o -type f ! -name "$1" -exec sha256sum {} + | sort)
}

test_expect_success 'normal archives: extracted in the extract container, modes and links kept' '
	$FETCH "$BASE/good.tar.zst" "$BASE/good.zip" --pvc data --dest sets --extract \
		--wait --timeout 120s >out 2>err &&
	cat out err &&
	job=$(job_of out) && test_grep "^job.batch/$job complete" out &&
	test -x "$(VOL)/sets/bin/run.sh" && test "$(stat -c %a "$(VOL)/sets/bin/run.sh")" = 755 &&
	test "$(stat -c %a "$(VOL)/sets/suid.sh")" = 755 &&
	test "$(readlink "$(VOL)/sets/set/link")" = a/b/c.txt &&
	test "$(cat "$(VOL)/sets/set/link")" = c &&
	test -f "$(VOL)/sets/.eidf-fetch/good.tar.zst.extracted" &&
	test -f "$(VOL)/sets/.eidf-fetch/good.zip.extracted" &&
	$FETCH logs "$job" >log &&
	test_grep "eidf-fetch: good.tar.zst: complete" log &&
	test_grep "eidf-fetch: good.tar.zst: extracted 20 entries" log &&
	test_grep "eidf-fetch: good.zip: extracted" log &&
	$FETCH logs -f "$job" >flog && test_cmp log flog
'

# symlink-replaced-existing-link.tar: x -> inner-link/.. (inner-link -> existing-dir
# on the PVC), then inner-link -> . (x would be the PVC root); zip-lying-size-deep.zip:
# refused while written, 1500 directories deep in the staging directory
for a in hardlink-out.tar symlink-arrow.tar chardev.tar zip-symlink-abs.zip zip-bomb.zip \
	symlink-replaced-existing-link.tar zip-lying-size-deep.zip; do
	expected=$(grep "^$a	" root/cases | cut -f3)
	test_expect_success "hostile $a: the Job fails, status names the entry, the PVC is unchanged" '
		pvc_listing '"$a"' >before &&
		test_expect_code 1 $FETCH "$BASE/'"$a"'" --sha256 "$(sha root/'"$a"')" --pvc data --dest sub \
			--extract --backoff-limit 0 --wait --timeout 120s >out 2>err &&
		cat out err && job=$(job_of out) && test -n "$job" &&
		test_grep "^error: fetch job $job Failed: '"$a"': refusing to extract: " err &&
		pvc_listing '"$a"' >after && test_cmp before after &&
		cmp root/'"$a"' "$(VOL)/sub/'"$a"'" &&
		test ! -e "$(VOL)/sub/.eidf-fetch/'"$a"'.extracted" && test ! -e "$TRASH/abs" &&
		$FETCH status "$job" >st &&
		cat st && grep -F "Failed: '"$a"': '"$expected"'" st &&
		$FETCH logs "$job" >log && test_grep "^eidf-fetch: '"$a"': complete" log &&
		grep -F "eidf-fetch error code=5 file='"$a"' reason='"$expected"'" log
	'
done

test_done
