#!/bin/bash
# fetch --extract's extractor (plugins/fetch/fetch-extract.sh running
# fetch-extract.py, as the Job's extract container does) against a hostile
# corpus written at test time by tests/fixtures/hostile-archives.py: links out
# of DEST (hard, symbolic, chains, through earlier links, through links
# already on the volume, targets containing " -> "), "..", absolute and
# backslash names, devices, FIFOs, sockets, duplicates, bombs, corrupt files,
# in zip and every tar compression.  For each refusal: the exit status, the
# exact message, and a listing (with contents) of DEST's parent that must be
# the same before and after: nothing new outside DEST, DEST unchanged, the
# archive kept.  Normal archives still extract, with modes masked like umask
# 022 (0755 kept), setuid dropped and ownership not restored; odd names that
# stay inside extract as they are.  Also: bombs against a small tmpfs (bytes
# and inodes), a read-only directory found before anything moves, the lock
# on DEST (a re-run, a nested DEST), DEST as a symlink.
. "$(dirname "$0")/lib.sh"

BUSYBOX=$(command -v busybox || true)
PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || true)
if [ -z "$BUSYBOX" ] || [ -z "$PYTHON" ] || ! command -v zstd >/dev/null; then
	test_skip "extractor tests" "needs busybox, python3 and zstd"
	test_done
fi
SH=$EIDF_SRC/plugins/fetch/fetch-extract.sh
PY=$EIDF_SRC/plugins/fetch/fetch-extract.py

# The container's PATH: busybox applets, python3 (and zstd for .tar.zst
# where Python has no compression.zstd, i.e. before 3.14).
BB=$TRASH/bb
mkdir -p "$BB"
"$BUSYBOX" --install -s "$BB"
ln -sf "$BUSYBOX" "$BB/busybox"
ln -s "$PYTHON" "$BB/python3"
ln -s "$(command -v zstd)" "$BB/zstd"

ABS=$TRASH/abs   # where the corpus's absolute names and targets point
python3 "$EIDF_SRC/tests/fixtures/hostile-archives.py" "$TRASH/corpus" "$ABS" || exit 1

# setup CASE ARCHIVE: CASE/dest holds the downloaded ARCHIVE (with the
# download marker fetch-job.sh writes) and what a user had there before.
setup() {
	local w=$TRASH/w/$1
	rm -rf "$w" && mkdir -p "$w/dest/existing-dir" "$w/outside" "$w/dest/.eidf-fetch" &&
	echo victim >"$w/victim" && echo keep >"$w/dest/keep.txt" &&
	ln -s ../outside "$w/dest/existing-link" && ln -s existing-dir "$w/dest/inner-link" &&
	cp "$TRASH/corpus/$2" "$w/dest/$2" &&
	printf '{"url":"http://h/%s","size":%s,"sha256":null,"time":"2026-01-01T00:00:00Z"}\n' \
		"$2" "$(wc -c <"$w/dest/$2")" >"$w/dest/.eidf-fetch/$2.json"
}
# run_extract DEST NAME...: the extract container's command line
run_extract() {
	local dest=$1 list= n
	shift
	for n in "$@"; do list="$list$(printf 'http://h/%s\t-\t%s' "$n" "$n")
"; done
	env -i PATH="$BB" HOME=/tmp EIDF_FETCH_LIST="$list" \
		${JOB_COMPLETION_INDEX+JOB_COMPLETION_INDEX="$JOB_COMPLETION_INDEX"} \
		"$BUSYBOX" sh -c "$(cat "$SH")" fetch-extract "$(cat "$PY")" --dest "$dest" ${SHARDS:+--shards "$SHARDS"}
}
# everything under the case directory and $ABS: type, mode, owner, size,
# link target and the content of regular files
listing() {
	(cd "$TRASH/w/$1" && find . "$ABS" -printf '%p %y %m %U %s %l\n' 2>/dev/null | sort &&
		find . -type f -exec sha256sum {} + | sort)
}

# All refusal cases in one run (the extractor handles each archive on its
# own, and one Python start per case would cost seconds): one DEST holding
# every hostile archive.  Each must be refused with its own message, the run
# exits 5, and nothing in DEST or its parent changes.
TAB=$(printf '\t')
grep -v "${TAB}ok\$" corpus/cases >refusals
setup hostile "$(head -n1 refusals | cut -f1)"
while IFS=$TAB read -r name code expected; do
	cp "corpus/$name" "w/hostile/dest/$name"
	printf '{"url":"http://h/%s","size":%s,"sha256":null}\n' "$name" "$(wc -c <"corpus/$name")" \
		>"w/hostile/dest/.eidf-fetch/$name.json"
done <refusals
listing hostile >before
test_expect_success "the $(wc -l <refusals) hostile archives: exit 5, DEST and its parent unchanged" '
	test_expect_code 5 run_extract "$TRASH/w/hostile/dest" $(cut -f1 refusals) >out &&
	listing hostile >after &&
	test_cmp before after &&
	test "$(grep -c "^eidf-fetch error " out)" = "$(wc -l <refusals)" &&
	test "$(grep -c "the archive is kept, nothing was extracted$" out)" = "$(wc -l <refusals)"
'
while IFS=$TAB read -r name code expected; do
	test_expect_success "refused: $name: ${expected#refusing to extract: }" '
		test "'"$code"'" = 5 &&
		grep -F -x -- "eidf-fetch error code=5 file=$name reason=$expected" out ||
		grep -F -- "eidf-fetch error code=5 file=$name reason=$expected" out | grep "(all entries)"
	'
done <refusals

test_expect_success 'a zip declaring 1 PiB: refused before its data is read, with both numbers' '
	setup bomb zip-bomb.zip &&
	test_expect_code 5 run_extract "$TRASH/w/bomb/dest" zip-bomb.zip >out &&
	test_grep "reason=refusing to extract: (all entries): expand to at least [0-9]* bytes ([0-9.]* [KMGTP]iB), more than the [0-9]* bytes ([0-9.]* [KMGTP]*i*B) free in $TRASH/w/bomb/dest$" out
'

# A real bomb on a small volume (a tmpfs in a private mount namespace): 32
# MiB of zeros, 32 KiB compressed, refused against the 8 MiB free.
if unshare -m true 2>/dev/null; then
	test_expect_success 'a 32 MiB tar.gz refused on an 8 MiB volume; an 8 KiB one fits' '
		python3 -c "
import gzip, io, sys, tarfile
for name, size in ((\"zeros.tar.gz\", 32 << 20), (\"small.tar.gz\", 8 << 10)):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=\"w\") as t:
        ti = tarfile.TarInfo(\"zeros.bin\"); ti.size = size
        t.addfile(ti, io.BytesIO(bytes(size)))
    open(sys.argv[1] + \"/\" + name, \"wb\").write(gzip.compress(buf.getvalue()))
" "$TRASH/corpus" &&
		mkdir -p small &&
		cat >small.sh <<-EOF &&
		mount -t tmpfs -o size=8m tmpfs "$TRASH/small" || exit 9
		mkdir -p "$TRASH/small/dest/.eidf-fetch"
		for a in zeros.tar.gz small.tar.gz; do
			cp "$TRASH/corpus/\$a" "$TRASH/small/dest/"
			echo "{}" >"$TRASH/small/dest/.eidf-fetch/\$a.json"
		done
		free=\$(stat -f -c "%a * %S" "$TRASH/small/dest")
		echo "free=\$((\$free))"
		$(declare -f run_extract)
		BB=$BB BUSYBOX=$BUSYBOX SH=$SH PY=$PY
		run_extract "$TRASH/small/dest" zeros.tar.gz; echo "rc=\$?"
		ls -A "$TRASH/small/dest"
		run_extract "$TRASH/small/dest" small.tar.gz; echo "rc=\$?"
		ls -l "$TRASH/small/dest/zeros.bin"
		EOF
		unshare -m sh small.sh >out 2>&1 &&
		free=$(sed -n "s/^free=//p" out) &&
		test_grep "reason=refusing to extract: (all entries): expand to at least 33554432 bytes (32.0 MiB), more than the $free bytes (.*) free in $TRASH/small/dest$" out &&
		test_grep "^rc=5$" out &&
		test "$(sed -n "/^rc=5$/,/^eidf-fetch/p" out | grep -c "^zeros.bin$")" = 0 &&
		test_grep "^rc=0$" out &&
		test_grep " 8192 .*zeros.bin$" out
	'
	test_expect_success 'more entries than the volume has free inodes: refused with both numbers' '
		mkdir -p few &&
		cat >few.sh <<-EOF &&
		mount -t tmpfs -o size=8m,nr_inodes=64 tmpfs "$TRASH/few" || exit 9
		mkdir -p "$TRASH/few/dest/.eidf-fetch"
		cp "$TRASH/corpus/safe-many.tar" "$TRASH/few/dest/" && echo "{}" >"$TRASH/few/dest/.eidf-fetch/safe-many.tar.json"
		$(declare -f run_extract)
		BB=$BB BUSYBOX=$BUSYBOX SH=$SH PY=$PY
		run_extract "$TRASH/few/dest" safe-many.tar; echo "rc=\$?"
		ls -A "$TRASH/few/dest"
		EOF
		unshare -m sh few.sh >out 2>&1 &&
		test_grep "reason=refusing to extract: (all entries): at least [0-9]* entries, more than the [0-9]* free inodes in $TRASH/few/dest$" out &&
		test_grep "^rc=5$" out && test_grep -v "^many$" out
	'
	test_expect_success 'an entry to be moved into a read-only directory: refused before anything moves' '
		setup ro good.tar &&
		cat >ro.sh <<-EOF &&
		d="$TRASH/w/ro/dest"
		mount --bind "\$d/existing-dir" "\$d/existing-dir" && mount -o remount,bind,ro "\$d/existing-dir" || exit 9
		$(declare -f run_extract listing)
		BB=$BB BUSYBOX=$BUSYBOX SH=$SH PY=$PY TRASH=$TRASH ABS=$ABS
		listing ro >"$TRASH/before"
		run_extract "\$d" good.tar; echo "rc=\$?"
		listing ro >"$TRASH/after"
		EOF
		unshare -m sh ro.sh >out 2>&1 &&
		test_grep "^rc=5$" out && test_cmp before after &&
		test_grep "reason=refusing to extract: existing-dir/new.txt: cannot write into $TRASH/w/ro/dest/existing-dir (permission denied or read-only)$" out
	'
else
	test_skip "a real bomb on a small tmpfs" "needs unshare -m (root)"
fi

# The expected tree after a normal archive (DEST's own files included).
cat >expected-tar <<'EOF'
 d 755 0 
.eidf-fetch d 755 0 
bin d 755 0 
bin/run.sh f 755 0 
existing-dir d 755 0 
existing-dir/new.txt f 644 0 
existing-link l 777 0 ../outside
keep.txt f 644 0 
owned.txt f 640 0 
rel-existing l 777 0 existing-dir/../keep.txt
set d 755 0 
set/a d 755 0 
set/a/b d 750 0 
set/a/b/c.txt f 644 0 
set/dangling l 777 0 a/not-yet
set/hard f 644 0 
set/link l 777 0 a/b/c.txt
set/self l 777 0 .
set/up l 777 0 ../bin/run.sh
sgid d 755 0 
sticky d 755 0 
suid.sh f 755 0 
world.txt f 644 0 
EOF
tree() { (cd "$1" && find . -path ./.eidf-fetch/\* -prune -o ! -name "$2" -printf '%P %y %m %U %l\n' | sort); }

# Every tar format in one run: each archive in its own subdirectory of one
# DEST (an archive is extracted into the directory that holds it), with what
# a user had there before.
GOOD="good.tar good.tar.gz good.tgz good.tar.xz good.txz good.tar.bz2 good.tbz2 good.tar.zst good.tzst"
mkdir -p w/good/dest/outside
for a in $GOOD; do
	mkdir -p "w/good/dest/$a.d/existing-dir" "w/good/dest/.eidf-fetch/$a.d" &&
	echo keep >"w/good/dest/$a.d/keep.txt" && ln -s ../outside "w/good/dest/$a.d/existing-link" &&
	cp "corpus/$a" "w/good/dest/$a.d/" && echo "{}" >"w/good/dest/.eidf-fetch/$a.d/$a.json"
done
test_expect_success 'normal archives in every tar format are extracted (exit 0)' '
	run_extract "$TRASH/w/good/dest" $(for a in $GOOD; do echo "$a.d/$a"; done) >good.out &&
	test -z "$(ls -A w/good/dest/outside)" && test ! -e "$ABS" &&
	test -z "$(find w/good -name ".eidf-extract*")"
'
grep -v "^.eidf-fetch " expected-tar >expected-sub
for a in $GOOD; do
	test_expect_success "extracted: $a (modes masked, setuid dropped, owner not restored, links kept)" '
		d=$TRASH/w/good/dest/'$a'.d &&
		tree "$d" '$a' >actual && test_cmp expected-sub actual &&
		test "$(cat "$d/set/link")" = c && test "$(cat "$d/keep.txt")" = replaced &&
		test "$(stat -c %i "$d/set/hard")" = "$(stat -c %i "$d/set/a/b/c.txt")" &&
		test "$(stat -c %U "$d/owned.txt")" = "$(id -un)" &&
		test_grep "^eidf-fetch: '$a'.d/'$a': extracted 20 entries (46 B) into $d; setuid/setgid/sticky bits dropped on 3 entries$" good.out &&
		test -f "$TRASH/w/good/dest/.eidf-fetch/'$a'.d/'$a'.extracted" && test -f "$d/'$a'"
	'
done

cat >expected-zip <<'EOF'
 d 755 0 
.eidf-fetch d 755 0 
bin d 755 0 
bin/run.sh f 755 0 
dos.txt f 644 0 
existing-dir d 755 0 
existing-dir/new.txt f 644 0 
existing-link l 777 0 ../outside
inner-link l 777 0 existing-dir
keep.txt f 644 0 
set d 755 0 
set/a d 755 0 
set/a/b d 755 0 
set/a/b/c.txt f 644 0 
set/link l 777 0 a/b/c.txt
set/up l 777 0 ../bin/run.sh
suid.sh f 755 0 
world.txt f 644 0 
EOF
test_expect_success 'extracted: good.zip (unix modes and symlinks; a DOS entry gets 0644)' '
	setup zip good.zip &&
	run_extract "$TRASH/w/zip/dest" good.zip >out &&
	tree "$TRASH/w/zip/dest" good.zip >actual && test_cmp expected-zip actual &&
	test "$(cat w/zip/dest/set/up)" = "$(printf "#!/bin/sh\necho run")" &&
	test "$(cat w/zip/dest/dos.txt)" = dos
'

test_expect_success 'odd names that stay inside are extracted as they are (tar)' '
	setup odd safe-names.tar && d=$TRASH/w/odd/dest &&
	run_extract "$d" safe-names.tar >out &&
	test "$(cat "$d/a/b")" = ab && test "$(cat "$d/c")" = c && test -d "$d/dir" && test -d "$d/dir2" &&
	test "$(cat "$d/..\\x")" = bs && test "$(cat "$d/$(printf "caf\351")")" = latin1 &&
	test "$(cat "$d/new
line")" = nl &&
	test "$(cat "$d/$(printf "%0255d" 0 | tr 0 l)")" = long &&
	test "$(cat "$d/g/$(printf "%0200d" 0 | tr 0 n)/$(printf "%0200d" 0 | tr 0 m)")" = gnu &&
	test "$(cat "$d/g/ll")" = c &&
	test -f "$d/existing-link" && test ! -L "$d/existing-link" && test "$(cat "$d/existing-link")" = "not through" &&
	test -z "$(ls -A w/odd/outside)" && test "$(cat w/odd/victim)" = victim && test ! -e "$ABS" &&
	test "$(find "$d" -mindepth 1 -maxdepth 1 -printf . | wc -c)" = 15 &&
	test_grep "^eidf-fetch: safe-names.tar: extracted 14 entries" out &&
	test "$(stat -c %a "$d")" = 755
'

test_expect_success 'odd names that stay inside are extracted as they are (zip; C:/d is a directory C:)' '
	setup oddzip safe-names.zip && d=$TRASH/w/oddzip/dest &&
	run_extract "$d" safe-names.zip >out &&
	test "$(cat "$d/a/b")" = ab && test "$(cat "$d/c")" = c && test "$(cat "$d/C:/d")" = d && test -d "$d/dir" &&
	test -f "$d/existing-link" && test ! -L "$d/existing-link" && test "$(stat -c %a "$d")" = 755 &&
	test -z "$(ls -A w/oddzip/outside)" && test "$(cat w/oddzip/victim)" = victim
'

test_expect_success 'a tar.zst followed by 16 GiB of compressed zeros: extracted, the zeros not decompressed' '
	setup trailer safe-trailer.tar.zst &&
	run_extract "$TRASH/w/trailer/dest" safe-trailer.tar.zst >out &&
	test "$(cat w/trailer/dest/t.txt)" = t
'

test_expect_success 'DEST that is a symlink is followed as given (like tar -C); nothing else changes' '
	setup dsym good.tar && mv w/dsym/dest w/dsym/real && ln -s real w/dsym/dest &&
	run_extract "$TRASH/w/dsym/dest" good.tar >out &&
	test -L w/dsym/dest && test "$(cat w/dsym/real/set/link)" = c &&
	test -z "$(ls -A w/dsym/outside)" && test "$(ls w/dsym)" = "$(printf "dest\noutside\nreal\nvictim")"
'

# hold_lock DIR NAME: another extraction holds DIR's lock (flock on DIR, as
# the extractor takes it) until release_lock NAME; returns once it is held.
# release_lock NAME: that holder lets go, and is gone.
hold_lock() {
	mkfifo "$TRASH/$2.go" &&
	{ flock "$1" sh -c 'echo held >"$1.held"; read x <"$1.go"' sh "$TRASH/$2" & echo $! >"$TRASH/$2.pid"; } &&
	test_atexit "kill $(cat "$TRASH/$2.pid") 2>/dev/null" &&
	wait_for 20 test -e "$TRASH/$2.held"
}
release_lock() { echo go >"$TRASH/$1.go" && wait "$(cat "$TRASH/$1.pid")"; }

test_expect_success 'a re-run into the same DEST waits for the extraction in progress, then finds it extracted' '
	setup lock good.tar && d=$TRASH/w/lock/dest &&
	hold_lock "$d" same-dest &&
	{ run_extract "$d" good.tar >run1.out & echo $! >p1; } &&
	{ run_extract "$d" good.tar >run2.out & echo $! >p2; } &&
	wait_for 30 grep -q "^eidf-fetch: good.tar: waiting for another extraction into $d$" run1.out &&
	wait_for 30 grep -q "^eidf-fetch: good.tar: waiting for another extraction into $d$" run2.out &&
	test ! -e "$d/set" &&
	release_lock same-dest &&
	wait "$(cat p1)" && wait "$(cat p2)" &&
	cat run1.out run2.out >both &&
	test "$(grep -c "^eidf-fetch: good.tar: extracted 20 entries" both)" = 1 &&
	test "$(grep -c "^eidf-fetch: good.tar: already extracted$" both)" = 1 &&
	test "$(cat "$d/set/link")" = c && test -z "$(find w/lock -name ".eidf-extract*")"
'

test_expect_success 'an extraction into a directory above DEST (a nested DEST) is waited for too' '
	setup nest good.tar && d=$TRASH/w/nest/dest &&
	hold_lock "$TRASH/w/nest" parent &&
	{ run_extract "$d" good.tar >nest.out & echo $! >p3; } &&
	wait_for 30 grep -q "^eidf-fetch: good.tar: waiting for another extraction into $TRASH/w/nest$" nest.out &&
	test ! -e "$d/set" &&
	release_lock parent && wait "$(cat p3)" &&
	test_grep "^eidf-fetch: good.tar: extracted 20 entries" nest.out
'

test_expect_success 'a second run does not extract again; a new download of it does' '
	d=$TRASH/w/zip/dest &&
	echo mine >"$d/set/a/b/c.txt" &&
	run_extract "$d" good.zip >out &&
	test_grep "^eidf-fetch: good.zip: already extracted$" out &&
	test "$(cat "$d/set/a/b/c.txt")" = mine &&
	sed -i "s/2026-01-01/2026-01-02/" "$d/.eidf-fetch/good.zip.json" &&
	run_extract "$d" good.zip >out &&
	test_grep "good.zip: extracted" out && test "$(cat "$d/set/a/b/c.txt")" = c
'

test_expect_success 'several archives: the refused one fails the pod (5), the others are extracted' '
	setup multi good.tgz && cp corpus/zip-dotdot.zip corpus/good.zip w/multi/dest/ &&
	echo "{}" >w/multi/dest/.eidf-fetch/zip-dotdot.zip.json && echo "{}" >w/multi/dest/.eidf-fetch/good.zip.json &&
	test_expect_code 5 run_extract "$TRASH/w/multi/dest" good.tgz zip-dotdot.zip good.zip >out &&
	test_grep "good.tgz: extracted" out && test_grep "good.zip: extracted" out &&
	test_grep "^eidf-fetch error code=5 file=zip-dotdot.zip reason=refusing to extract: ../../evil: " out &&
	test ! -e w/multi/dest/ok.txt && test ! -e w/multi/dest/.eidf-fetch/zip-dotdot.zip.extracted
'

test_expect_success 'an archive in a subdirectory is extracted there; its staging directory is gone' '
	setup sub good.tar && mkdir -p w/sub/dest/in/here w/sub/dest/.eidf-fetch/in/here &&
	mv w/sub/dest/good.tar w/sub/dest/in/here/ && mv w/sub/dest/.eidf-fetch/good.tar.json w/sub/dest/.eidf-fetch/in/here/ &&
	run_extract "$TRASH/w/sub/dest" in/here/good.tar >out &&
	test -f w/sub/dest/in/here/set/a/b/c.txt && test ! -e w/sub/dest/set &&
	test -z "$(find w/sub -name ".eidf-extract*")" &&
	test -f w/sub/dest/.eidf-fetch/in/here/good.tar.extracted
'

test_expect_success 'a staging directory left by an interrupted pod is replaced' '
	setup stale good.tar && mkdir -p w/stale/dest/.eidf-extract.good.tar/half &&
	run_extract "$TRASH/w/stale/dest" good.tar >out &&
	test ! -e w/stale/dest/.eidf-extract.good.tar && test ! -e w/stale/dest/half
'

test_expect_success 'a staging name that is a symlink is removed, never followed' '
	setup stalelink good.tar && mkdir -p w/stalelink/outside/keep && echo x >w/stalelink/outside/keep/f &&
	ln -s ../outside/keep w/stalelink/dest/.eidf-extract.good.tar &&
	run_extract "$TRASH/w/stalelink/dest" good.tar >out &&
	test ! -e w/stalelink/dest/.eidf-extract.good.tar && test "$(cat w/stalelink/outside/keep/f)" = x
'

test_expect_success 'modification times are kept, and one the system cannot hold is ignored' '
	python3 -c "
import io, tarfile
with tarfile.open(\"corpus/when.tar\", \"w\", format=tarfile.PAX_FORMAT) as t:
    for name, mtime in ((\"old.txt\", 1000000000), (\"far.txt\", 1 << 62)):
        ti = tarfile.TarInfo(name); ti.size = 2; ti.mtime = mtime
        t.addfile(ti, io.BytesIO(b\"t\\n\"))
" &&
	setup when when.tar &&
	run_extract "$TRASH/w/when/dest" when.tar >out &&
	test "$(stat -c %Y w/when/dest/old.txt)" = 1000000000 && test "$(cat w/when/dest/far.txt)" = t
'

test_expect_success 'sharding: pod i extracts only the entries k with k mod N = i' '
	setup shard good.tar && cp corpus/good.zip w/shard/dest/ && echo "{}" >w/shard/dest/.eidf-fetch/good.zip.json &&
	SHARDS=2 JOB_COMPLETION_INDEX=1 run_extract "$TRASH/w/shard/dest" good.tar good.zip >out &&
	test -f w/shard/dest/dos.txt && test ! -e w/shard/dest/owned.txt &&
	test_grep -v good.tar out
'

test_expect_success 'other files are left alone; a missing download marker is a transient failure' '
	setup other good.tar && echo data >w/other/dest/labels.csv &&
	run_extract "$TRASH/w/other/dest" labels.csv >out &&
	test_grep "labels.csv: not an archive, nothing to extract" out &&
	rm w/other/dest/.eidf-fetch/good.tar.json &&
	test_expect_code 1 run_extract "$TRASH/w/other/dest" good.tar >out &&
	test_grep "good.tar: not downloaded" out && test ! -e w/other/dest/set
'

if ! "$PYTHON" -c 'import compression.zstd' 2>/dev/null; then
	test_expect_success 'tar.zst without compression.zstd or the zstd command: exit 6, saying what is missing' '
		setup nozstd good.tar.zst && rm "$BB/zstd" &&
		listing nozstd >before &&
		test_expect_code 6 run_extract "$TRASH/w/nozstd/dest" good.tar.zst >out &&
		ln -s "$(command -v zstd)" "$BB/zstd" &&
		listing nozstd >after && test_cmp before after &&
		test_grep "^eidf-fetch error code=6 file=good.tar.zst reason=cannot extract: this image has neither Python 3.14.s compression.zstd nor the zstd command for .tar.zst$" out
	'
fi

test_expect_success 'an image without Python 3: exit 6 and a line fetch status shows' '
	setup nopy good.tar && rm "$BB/python3" &&
	test_expect_code 6 run_extract "$TRASH/w/nopy/dest" good.tar >out &&
	ln -s "$PYTHON" "$BB/python3" &&
	test_grep "^eidf-fetch error code=6 reason=cannot extract: the extract image has no Python 3.8 or later; use --extract-image with one" out &&
	test ! -e w/nopy/dest/set
'

test_done
