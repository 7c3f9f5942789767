#!/usr/bin/env bash
# make-dist.sh: the krew release archive and its rendered manifest.
#
#   krew/make-dist.sh --bin BUILD/bin --out DIR [--version X.Y.Z]
#                     [--url https://github.com/EPCCed/kubectl-eidf]
#                     [--src SRCDIR] [--man DIR] [--allow-sanitizer]
#
# Writes DIR/kubectl-eidf-vX.Y.Z-linux-amd64.tar.gz and DIR/eidf.yaml and
# prints their paths.  The archive holds, as regular files only (krew refuses
# symlinks and hard links):
#   kubectl-eidf, kubectl-eidf-STAGE...     the executables, mode 0755,
#                                           RPATH $ORIGIN/lib
#   kubectl_complete-eidf[-STAGE]           copies of the executables (they
#                                           complete when run under that name)
#   lib/                                    the non-glibc shared libraries
#                                           (ldd closure), RPATH $ORIGIN
#   share/man/man1/*.1                      the man pages (`EXE __man`)
#   share/completions/                      completions/ from the source tree
#   LICENSE
# The tar is deterministic: sorted names, fixed mtime (SOURCE_DATE_EPOCH,
# default 0), owner 0, gzip without name or time stamp.
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true

src=$(cd "$(dirname "$0")/.." && pwd)
bin="" out="" version="" url="https://github.com/EPCCed/kubectl-eidf" man="" allow_san=0
while [ $# -gt 0 ]; do
	case $1 in
	--bin) bin=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--version) version=$2; shift 2 ;;
	--url) url=${2%/}; shift 2 ;;
	--src) src=$2; shift 2 ;;
	--man) man=$2; shift 2 ;;
	--allow-sanitizer) allow_san=1; shift ;;
	-h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "make-dist: unknown argument: $1" >&2; exit 2 ;;
	esac
done
die() { echo "make-dist: $*" >&2; exit 1; }
[ -n "$bin" ] && [ -x "$bin/kubectl-eidf" ] || die "--bin DIR must hold the built kubectl-eidf (build first)"
[ -n "$out" ] || die "--out DIR is required"
if [ -z "$version" ]; then
	version=$(sed -n 's/^project(kubectl-eidf VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
fi
[[ $version =~ ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$ ]] ||
	die "version \"$version\" is not semver X.Y.Z"
command -v patchelf >/dev/null || die "patchelf is required (apt-get install patchelf, or tests/install-deps.sh)"
[ -f "$src/LICENSE" ] || die "$src/LICENSE is missing"
[ -f "$src/krew/eidf.yaml.in" ] || die "$src/krew/eidf.yaml.in is missing"

bin=$(cd "$bin" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
stage="$out/stage"
rm -rf "$stage"
mkdir -p "$stage/lib" "$stage/share/man/man1"

# ---- executables -----------------------------------------------------------
exes=()
for f in "$bin"/kubectl-eidf "$bin"/kubectl-eidf-*; do
	[ -f "$f" ] && [ -x "$f" ] || continue
	head -c 4 "$f" | grep -q 'ELF' || continue
	exes+=("$(basename "$f")")
done
for e in "${exes[@]}"; do
	cp -L "$bin/$e" "$stage/$e"
	chmod 0755 "$stage/$e"
done

# ---- shared libraries: everything ldd resolves except glibc ----------------
is_glibc() {
	case $1 in
	linux-vdso.so*|linux-gate.so*|ld-linux*|ld64.so*|libc.so*|libm.so*|libmvec.so*|\
	libpthread.so*|libdl.so*|librt.so*|libresolv.so*|libutil.so*|libanl.so*|libnsl.so*|\
	libnss_*|libBrokenLocale.so*|libthread_db.so*|libc_malloc_debug.so*) return 0 ;;
	esac
	return 1
}
declare -A libs=()
for e in "${exes[@]}"; do
	while read -r soname arrow path _; do
		[ "$arrow" = "=>" ] || continue
		is_glibc "$soname" && continue
		[ "$path" = "not" ] && die "$e: $soname not found by ldd"
		case $soname in
		libasan.so*|libubsan.so*|libtsan.so*|liblsan.so*)
			[ "$allow_san" = 1 ] || die "$e is a sanitizer build ($soname): use a release build (cmake --preset release)" ;;
		esac
		libs[$soname]=$path
	done < <(ldd "$bin/$e")
done
for soname in "${!libs[@]}"; do
	cp -L "${libs[$soname]}" "$stage/lib/$soname"
	chmod 0644 "$stage/lib/$soname"
	# DT_RPATH (not RUNPATH): also used for the library's own dependencies
	# and not overridden by a user's LD_LIBRARY_PATH.
	patchelf --force-rpath --set-rpath '$ORIGIN' "$stage/lib/$soname"
done
for e in "${exes[@]}"; do
	command -v strip >/dev/null && strip --strip-unneeded "$stage/$e"
	patchelf --force-rpath --set-rpath '$ORIGIN/lib' "$stage/$e"
done

# ---- completion programs: regular copies, never links ------------------------
for e in "${exes[@]}"; do
	cp "$stage/$e" "$stage/kubectl_complete-${e#kubectl-}"
	chmod 0755 "$stage/kubectl_complete-${e#kubectl-}"
done

# ---- man pages, completion scripts, licence -------------------------------------
cp "$src/docs/man/kubectl-eidf.1" "$stage/share/man/man1/kubectl-eidf.1"
for e in "${exes[@]}"; do
	[ "$e" = kubectl-eidf ] && continue
	if [ -n "$man" ] && [ -f "$man/$e.1" ]; then
		cp "$man/$e.1" "$stage/share/man/man1/$e.1"
	else
		sh "$src/cmake/gen-man.sh" "$bin/$e" "$stage/share/man/man1/$e.1"
	fi
done
if [ -d "$src/completions" ] && [ -n "$(find "$src/completions" -type f ! -name '.*' -print -quit)" ]; then
	mkdir -p "$stage/share/completions"
	(cd "$src/completions" && find . -type f ! -name '.*' -print0 | while IFS= read -r -d '' f; do
		mkdir -p "$stage/share/completions/$(dirname "$f")"
		cp "$f" "$stage/share/completions/$f"
	done)
fi
cp "$src/LICENSE" "$stage/LICENSE"
find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -type f ! -perm -u+x -exec chmod 0644 {} +

# ---- archive ------------------------------------------------------------------------
archive="$out/kubectl-eidf-v$version-linux-amd64.tar.gz"
(cd "$stage" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort) >"$out/files.txt"
tar --format=gnu --no-recursion --mtime="@${SOURCE_DATE_EPOCH:-0}" \
	--owner=0 --group=0 --numeric-owner -C "$stage" -T "$out/files.txt" -cf - |
	gzip -6n >"$archive.tmp"
mv "$archive.tmp" "$archive"
sha=$(sha256sum "$archive" | cut -d' ' -f1)

# ---- manifest -------------------------------------------------------------------------
m=$(cat "$src/krew/eidf.yaml.in")
m=${m//@PROJECT_VERSION@/$version}
m=${m//@EIDF_RELEASE_URL@/$url}
m=${m//@ARCHIVE_SHA256@/$sha}
printf '%s\n' "$m" >"$out/eidf.yaml"
echo "$archive"
echo "$out/eidf.yaml"
