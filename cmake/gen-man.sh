#!/bin/sh
# gen-man.sh EXE OUT: write EXE's man page (EXE __man) to OUT.
# The page comes from the executable's own option tables (common/manpage.c).
# An executable that cannot print one yet (a placeholder stage) gets a stub
# page and a warning, so one unfinished stage does not break the build.
set -eu
exe=$1 out=$2
name=$(basename "$exe")
tmp="$out.tmp.$$"
mkdir -p "$(dirname "$out")"
# No kubeconfig, no home: printing the page must never reach a cluster.
if env -i PATH=/usr/bin:/bin HOME=/nonexistent KUBECONFIG=/nonexistent/kubeconfig \
	ASAN_OPTIONS=detect_leaks=1 "$exe" __man >"$tmp" 2>"$tmp.err" &&
	grep -q '^\.TH ' "$tmp" && grep -q '^\.SH NAME' "$tmp"; then
	mv "$tmp" "$out"
	rm -f "$tmp.err"
	exit 0
fi
echo "gen-man: warning: $name __man printed no manual page; writing a stub ($(head -c 200 "$tmp.err" | tr '\n' ' '))" >&2
upper=$(printf '%s' "$name" | tr 'a-z' 'A-Z' | sed 's/-/\\-/g')
ename=$(printf '%s' "$name" | sed 's/-/\\-/g')
cmdname=$(printf '%s' "$name" | sed 's/^kubectl-eidf-//; s/_/-/g')
cat >"$tmp" <<PAGE
.TH "$upper" 1 "" "kubectl\\-eidf" "kubectl-eidf Manual"
.SH NAME
$ename \\- kubectl eidf $(printf '%s' "$cmdname" | sed 's/-/\\-/g')
.SH SYNOPSIS
.B kubectl eidf $(printf '%s' "$cmdname" | sed 's/-/\\-/g')
[flags]
.SH DESCRIPTION
This command does not document itself yet; run
.B kubectl eidf $(printf '%s' "$cmdname" | sed 's/-/\\-/g') \\-\\-help
for its usage.
.SH SEE ALSO
.BR kubectl\\-eidf (1)
PAGE
mv "$tmp" "$out"
rm -f "$tmp.err"
