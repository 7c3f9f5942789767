#!/usr/bin/env bash
# Benchmark (issue 7): `kubectl-eidf-build_context DIR -O FILE` against
# `tar | gzip -6` archiving the SAME files, on generated trees with a
# realistic 50-line .dockerignore; and .dockerignore matching speed.
#
#   bench/build-context.sh [--quick] [--keep] [--runs N] [--bin DIR]
#
# Full: trees of 100 MiB / 2,000 files and 1 GiB / 20,000 files (peak RSS
# must not grow with the tree), 100,000 paths for the matcher.  --quick
# (CI smoke, bench/run.sh --quick): one 16 MiB / 1,000-file tree, 1 run,
# 10,000 paths.
#
# For each tree:
#   - `kubectl-eidf-build_context --list` gives the included paths; the tar
#     side gets exactly that list (`-T LIST --no-recursion`, already in
#     bytewise depth-first order), so both archive identical content; the
#     entry lists of the two archives are compared.
#   - the page cache is warmed by reading the tree once;
#   - each pair runs alternately (A B, B A, ...), measured with
#     /usr/bin/time -f '%e %M' (wall seconds, peak RSS: for a pipeline,
#     the largest process of it); medians are reported.
# Executables: --bin DIR, $EIDF_BIN, else build/release/bin.  The matcher
# program (bench/dockerignore_match.c) is built into the same build
# directory with -DEIDF_BENCH=ON when it is missing.
set -eu
quick=0 keep=0 runs=3 bin=${EIDF_BIN:-}
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 runs=1 ;;
	--keep) keep=1 ;;
	--runs) runs=$2; shift ;;
	--bin) bin=$2; shift ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: $0 [--quick] [--keep] [--runs N] [--bin DIR]" >&2; exit 2 ;;
	esac
	shift
done
src=$(cd "$(dirname "$0")/.." && pwd)
[ -n "$bin" ] || bin=$src/build/release/bin
[ -x "$bin/kubectl-eidf-build_context" ] || bin=$src/build/default/bin
bin=$(cd "$bin" && pwd)
BC=$bin/kubectl-eidf-build_context
[ -x "$BC" ] || { echo "build first: $BC not found" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (GNU time; tests/install-deps.sh installs it)" >&2; exit 1; }
MATCH=$bin/dockerignore_match
if [ ! -x "$MATCH" ] && [ -f "$bin/../CMakeCache.txt" ]; then
	echo "building $MATCH (-DEIDF_BENCH=ON)"
	cmake -B "$bin/.." -DEIDF_BENCH=ON >/dev/null && cmake --build "$bin/.." --target dockerignore_match >/dev/null ||
		echo "  (failed; the matching benchmark is skipped)"
fi

if [ $quick = 1 ]; then
	trees="16:1000"
	npaths=10000
else
	trees="100:2000 1024:20000"
	npaths=100000
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-bc.XXXXXX")
[ $keep = 1 ] || trap 'rm -rf "$work"' EXIT

echo "machine: $(nproc) CPU(s), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg), $(uname -sr)"
echo "tools: $(tar --version | head -1), $(gzip --version | head -1); $BC"

# gen.py tree ROOT NFILES MIB | paths OUT NFILES | ignore OUT
cat >"$work/gen.py" <<'PY'
import os, random, sys

# a 50-pattern .dockerignore as a Python/ML project would have it
IGNORE = """\
# version control, editors, OS files
.git/
.gitignore
.hg/
.svn/
.idea/
.vscode/
*.swp
*~
*.bak
.DS_Store
**/.DS_Store
[Tt]humbs.db
# dependencies and environments
node_modules/
**/node_modules
.venv/
venv/
env/
.tox/
*.egg-info/
# Python caches
**/__pycache__
*.pyc
**/*.pyc
**/*.py[cod]
.mypy_cache/
.pytest_cache/
**/.cache
**/.ipynb_checkpoints
.coverage
htmlcov/
# build output
build/
dist/
**/*.o
**/*.so.debug
target/
# data and experiment tracking: keep one sample
data/**
!data/keep.csv
datasets/
wandb/
mlruns/
checkpoints/
*.ckpt
**/*.tmp
# logs
*.log
**/*.log
logs/
# docs build
docs/_build/
site/
# secrets, but the test certificate is needed
.env
**/*.pem
!tests/fixtures/server.pem
"""

# class: share of the files, share of the bytes, content, path
CLASSES = [
    (0.400, 0.08, "text", lambda i: "node_modules/pkg%03d/lib/m%d.js" % (i % 400, i)),
    (0.100, 0.12, "rand", lambda i: ".git/objects/%02x/%038x" % (i % 256, i * 2654435761)),
    (0.140, 0.03, "text", lambda i: "src/app/mod%02d/file%d.py" % (i % 40, i)),
    (0.080, 0.02, "rand", lambda i: "src/app/mod%02d/__pycache__/file%d.cpython-312.pyc" % (i % 40, i)),
    (0.050, 0.01, "text", lambda i: "tests/unit/test_%d.py" % i),
    (0.030, 0.01, "text", lambda i: "docs/section%d/page%d.md" % (i % 10, i)),
    (0.020, 0.03, "text", lambda i: ("logs/run%d.log" if i % 2 else "src/app/debug%d.log") % i),
    (0.040, 0.05, "rand", lambda i: "build/lib/obj%02d/o%d.o" % (i % 20, i)),
    (0.050, 0.30, "data", lambda i: "data/raw/shard%02d/part%d.%s" % (i % 50, i, "csv" if i % 3 else "npy")),
    (0.005, 0.20, "rand", lambda i: "models/ckpt%03d.safetensors" % i),
    (0.085, 0.15, "rand", lambda i: "assets/img%02d/i%d.png" % (i % 30, i)),
]
FIXED = {
    "Dockerfile": b"FROM python:3.12-slim\nCOPY . /app\nRUN pip install -r /app/requirements.txt\n",
    "requirements.txt": b"numpy\ntorch\nsafetensors\n",
    "README.md": b"# bench project\n",
    "data/keep.csv": b"a,b,c\n" + b"1,2,3\n" * 1000,
    "tests/fixtures/server.pem": b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
}

def layout(nfiles, total):
    rnd = random.Random(7)
    out = []
    for fshare, bshare, kind, name in CLASSES:
        k = max(1, round(nfiles * fshare))
        avg = total * bshare / k
        for i in range(k):
            out.append((name(i), kind, int(avg * rnd.uniform(0.5, 1.5))))
    return out

def words_pool(rnd, size):
    syll = ["ka", "lo", "mi", "re", "tu", "sa", "ne", "po", "di", "an", "el", "or", "ix", "um", "qu", "st"]
    vocab = ["".join(rnd.choice(syll) for _ in range(rnd.randint(1, 4))) for _ in range(3000)]
    vocab += ["def", "return", "self", "import", "for", "in", "if", "else", "(", ")", "=", ":", "0", "1"] * 30
    lines, n = [], 0
    while n < size:
        line = " " * (4 * rnd.randint(0, 3)) + " ".join(rnd.choice(vocab) for _ in range(rnd.randint(3, 12))) + "\n"
        lines.append(line)
        n += len(line)
    return "".join(lines).encode()

def cmd_tree(root, nfiles, mib):
    rnd = random.Random(42)
    text = words_pool(rnd, 4 << 20)
    rand = rnd.randbytes(32 << 20)
    def piece(pool, size):
        out = b""
        while len(out) < size:
            off = rnd.randrange(len(pool))
            out += pool[off:off + size - len(out)]
        return out
    for path, kind, size in layout(nfiles, mib << 20):
        if kind == "data":
            kind = "text" if path.endswith(".csv") else "rand"
        data = piece(text if kind == "text" else rand, size)
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)
    for path, data in FIXED.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)
    with open(os.path.join(root, ".dockerignore"), "w") as f:
        f.write(IGNORE)

def cmd_paths(out, nfiles):
    # walk order (depth first, siblings bytewise) with the directories, as
    # `build-context --list` prints it
    paths = set()
    for path, _, _ in layout(nfiles, 0):
        paths.add(path)
        parts = path.split("/")
        for d in range(1, len(parts)):
            paths.add("/".join(parts[:d]) + "/")
    paths.update(FIXED)
    key = lambda p: [c.encode() for c in p.rstrip("/").split("/")]
    with open(out, "w") as f:
        for p in sorted(paths, key=key):
            f.write(p + "\n")

def cmd_ignore(out):
    with open(out, "w") as f:
        f.write(IGNORE)
    n = sum(1 for l in IGNORE.splitlines() if l.strip() and not l.startswith("#"))
    print(n)

if sys.argv[1] == "tree":
    cmd_tree(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
elif sys.argv[1] == "paths":
    cmd_paths(sys.argv[2], int(sys.argv[3]))
else:
    cmd_ignore(sys.argv[2])
PY

# measure FILE LABEL CMD...: one run, appends "LABEL SECONDS RSS_KIB" to FILE
measure() {
	local file=$1 label=$2
	shift 2
	/usr/bin/time -f "%e %M" -o "$work/time.out" "$@" >/dev/null 2>"$work/err" ||
		{ echo "failed: $*" >&2; cat "$work/err" >&2; exit 1; }
	echo "$label $(tail -1 "$work/time.out")" >>"$file"
}

# report FILE LABEL_A LABEL_B: medians and the ratio A/B
report() {
	python3 - "$@" <<-'PY'
	import statistics, sys
	rows = [l.split() for l in open(sys.argv[1])]
	res = {}
	for lab in sys.argv[2:4]:
	    t = [float(r[1]) for r in rows if r[0] == lab]
	    m = [int(r[2]) for r in rows if r[0] == lab]
	    res[lab] = (statistics.median(t), statistics.median(m) / 1024)
	    print("  %-30s median %7.2f s  (min %6.2f, %d runs)  peak RSS %6.1f MiB"
	          % (lab, res[lab][0], min(t), len(t), res[lab][1]))
	a, b = (res[l] for l in sys.argv[2:4])
	print("  %-30s time %.2f  (goal <= 1.0)" % ("ratio " + sys.argv[2] + "/" + sys.argv[3], a[0] / b[0] if b[0] else float("nan")))
	PY
}

for spec in $trees; do
	mib=${spec%%:*} nfiles=${spec##*:}
	tree=$work/tree-$mib
	mkdir -p "$tree"
	python3 "$work/gen.py" tree "$tree" "$nfiles" "$mib"
	echo
	echo "== tree: $(du -sh --apparent-size "$tree" | cut -f1) in $(find "$tree" -type f | wc -l) files"
	# warm the page cache
	find "$tree" -type f -print0 | xargs -0 cat >/dev/null
	"$BC" "$tree" --list >"$work/list" 2>"$work/list.err"
	sed 's/^/  build-context: /' "$work/list.err" | grep -E 'size|files|ignore'
	echo "  included: $(grep -vc '/$' "$work/list") files, $(grep -c '/$' "$work/list") directories"
	res=$work/res-$mib
	: >"$res"
	tarcmd="tar -C '$tree' --sort=name --no-recursion --verbatim-files-from -T '$work/list' -cf -"
	for r in $(seq "$runs"); do
		pairs="bc ref"
		[ $((r % 2)) = 0 ] && pairs="ref bc"
		for side in $pairs; do
			if [ "$side" = bc ]; then
				measure "$res" build-context-gzip "$BC" "$tree" -O "$work/bc.tgz"
				measure "$res" build-context-none "$BC" "$tree" -O "$work/bc.tar" --compression none
			else
				measure "$res" tar-gzip-6 sh -c "$tarcmd | gzip -6 >'$work/ref.tgz'"
				measure "$res" tar sh -c "$tarcmd >'$work/ref.tar'"
			fi
		done
	done
	measure "$res" build-context--list "$BC" "$tree" --list
	# same entries on both sides
	tar -tf "$work/bc.tar" >"$work/bc.names"
	tar -tf "$work/ref.tar" >"$work/ref.names"
	if ! cmp -s "$work/bc.names" "$work/ref.names"; then
		echo "  entry lists differ:" >&2
		diff "$work/bc.names" "$work/ref.names" | head >&2
		exit 1
	fi
	echo "  archives: same $(wc -l <"$work/bc.names") entries; tar $(stat -c %s "$work/bc.tar") vs" \
		"$(stat -c %s "$work/ref.tar") bytes, gzip $(stat -c %s "$work/bc.tgz") vs $(stat -c %s "$work/ref.tgz") bytes"
	report "$res" build-context-gzip tar-gzip-6
	report "$res" build-context-none tar
	awk '$1 == "build-context--list" { printf "  %-30s %7.2f s  peak RSS %6.1f MiB\n", "build-context --list", $2, $3 / 1024 }' "$res"
	rm -rf "$tree" "$work"/bc.* "$work"/ref.*
done

echo
if [ -x "$MATCH" ]; then
	npat=$(python3 "$work/gen.py" ignore "$work/ignore")
	python3 "$work/gen.py" paths "$work/paths" "$npaths"
	echo "== .dockerignore matching: $(wc -l <"$work/paths") paths x $npat patterns ($MATCH)"
	secs=1
	[ $quick = 1 ] && secs=0.2
	"$MATCH" "$work/ignore" "$work/paths" $secs | awk '{
		what = $1 == "walk" ? "walk (parent results reused)" : "each path alone (all parents)"
		printf "  %-30s %8.1f ms per pass  %12.0f paths/s  (%d excluded)\n", what, $4 * 1000, $5, $6
	}'
else
	echo "== .dockerignore matching: skipped ($MATCH not built; configure with -DEIDF_BENCH=ON)"
fi
