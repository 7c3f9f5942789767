#!/usr/bin/env bash
# Benchmark: kubectl-eidf-build_context vs `tar --sort=name -cf - DIR | gzip -6`
# on a generated tree with a realistic .dockerignore (time and peak RSS).
#   bench/build-context.sh [--quick] [--keep]
# Full: about 1 GiB in 20k files; --quick: 20 MiB in 2k files (CI smoke).
# Set EIDF_BIN to the directory holding the executables (default build/release/bin).
set -eu
quick=0 keep=0
for a in "$@"; do
	case $a in --quick) quick=1 ;; --keep) keep=1 ;; *) echo "usage: $0 [--quick] [--keep]" >&2; exit 2 ;; esac
done
src=$(cd "$(dirname "$0")/.." && pwd)
bin=${EIDF_BIN:-$src/build/release/bin}
[ -x "$bin/kubectl-eidf-build_context" ] || bin=$src/build/default/bin
BC=$bin/kubectl-eidf-build_context
[ -x "$BC" ] || { echo "build first: $BC not found" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (GNU time)" >&2; exit 1; }

if [ $quick = 1 ]; then files=2000 size_kib=10; else files=20000 size_kib=52; fi
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-bc.XXXXXX")
[ $keep = 1 ] || trap 'rm -rf "$work"' EXIT
tree=$work/tree
mkdir -p "$tree"
echo "generating $files files of ~${size_kib} KiB in $tree"
python3 - "$tree" "$files" "$size_kib" <<'PY'
import os, sys, random
root, n, kib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(42)
dirs = ["src", "src/pkg", "data/raw", "data/processed", "node_modules/lib", "tests/unit", "docs", "build/out", ".git/objects"]
chunk = bytes(rnd.getrandbits(8) for _ in range(64 * 1024))
for i in range(n):
    d = os.path.join(root, dirs[i % len(dirs)], "d%03d" % (i % 97))
    os.makedirs(d, exist_ok=True)
    ext = [".py", ".txt", ".bin", ".log", ".md"][i % 5]
    with open(os.path.join(d, "f%06d%s" % (i, ext)), "wb") as f:
        size = kib * 1024 + (i % 7) * 100
        # half random (incompressible), half text-like
        f.write(chunk[: size // 2] + (b"line %d\n" % i) * (size // 2 // 10))
open(os.path.join(root, "Dockerfile"), "w").write("FROM python:3.12\nCOPY src /src\n")
open(os.path.join(root, ".dockerignore"), "w").write(
    ".git\nnode_modules\n**/*.log\nbuild\ndata/raw\n**/__pycache__\n!data/raw/d001\ndocs/**/*.md\n")
PY
du -sh "$tree" | sed 's/^/tree: /'

measure() { # label, command...
	local label=$1; shift
	/usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
	read -r secs rss <"$work/time"
	printf '%-28s %8.2f s %8d KiB peak RSS\n' "$label" "$secs" "$rss"
}
sync
measure "tar --sort=name | gzip -6" sh -c "tar --sort=name -cf - -C '$tree' . | gzip -6 >'$work/ref.tgz'"
measure "build-context (gzip -6)" "$BC" "$tree" -o "$work/bc.tgz"
measure "build-context (no gzip)" "$BC" "$tree" -o "$work/bc.tar" --compression none
measure "build-context --list" "$BC" "$tree" --list
ls -l "$work/ref.tgz" "$work/bc.tgz" | awk '{print $5, $NF}'
