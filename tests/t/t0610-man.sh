#!/bin/bash
# Man pages: one per executable, generated from the option tables that drive
# --help (`EXE __man`, common/manpage.c), rendering cleanly, and naming every
# long option that --help shows.
. "$(dirname "$0")/lib.sh"

MAN_DIR=$EIDF_BUILD/man
EXES=() STAGES=()
for f in "$EIDF_BIN"/kubectl-eidf "$EIDF_BIN"/kubectl-eidf-*; do
	[ -f "$f" ] && [ -x "$f" ] && head -c 4 "$f" | grep -q ELF || continue
	EXES+=("$(basename "$f")")
	[ "$(basename "$f")" = kubectl-eidf ] || STAGES+=("$(basename "$f")")
done

# troff source -> plain text: escapes removed, so "\-\-size" reads "--size"
plain() { sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\&//g' -e 's/\\(dq/"/g' "$1"; }

test_expect_success 'the build has a man page for every executable' '
	test ${#STAGES[@]} -ge 4 &&
	for e in "${EXES[@]}"; do
		test -s "$MAN_DIR/$e.1" || { echo "missing $MAN_DIR/$e.1" >&2; exit 1; }
		test_grep "^\.TH \"$(printf %s "$e" | tr a-z A-Z | sed "s/-/\\\\\\\\-/g")\" 1 " "$MAN_DIR/$e.1" || exit 1
	done
'

test_expect_success 'every stage prints its page with __man, and the build installed that page' '
	for e in "${STAGES[@]}"; do
		env -i PATH=/usr/bin:/bin HOME="$TRASH" KUBECONFIG=/nonexistent \
			ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" \
			"$EIDF_BIN/$e" __man >"$e.1" 2>"$e.err" ||
			{ echo "$e __man failed:"; cat "$e.err"; exit 1; }
		test_grep "^\.SH NAME" "$e.1" &&
		test_grep "^\.SH SYNOPSIS" "$e.1" &&
		test_grep "^\.SH KUBERNETES OPTIONS" "$e.1" &&
		test_grep "^\.SH EXIT STATUS" "$e.1" &&
		test_grep "^\.SH SEE ALSO" "$e.1" &&
		test_cmp "$e.1" "$MAN_DIR/$e.1" || exit 1
	done
'

test_expect_success 'the pages render without warnings (groff -ww, man -l)' '
	for e in "${EXES[@]}"; do
		p=$MAN_DIR/$e.1
		groff -man -Tutf8 -ww -z "$p" 2>err || { cat err; exit 1; }
		test ! -s err || { echo "$e:"; cat err; exit 1; }
		LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$p" >out 2>err || { cat err; exit 1; }
		test ! -s err || { echo "$e:"; cat err; exit 1; }
		test_grep "^NAME" out || exit 1
		if command -v mandoc >/dev/null; then
			mandoc -Tlint -Wwarning "$p" >lint 2>&1 || { cat lint; exit 1; }
		fi
	done
'

# The long options of `EXE --help` and of `EXE SUB --help` for every command
# listed under "Available Commands:".
long_options() {
	local e=$1 sub
	{
		"$EIDF_BIN/$e" --help 2>/dev/null
		for sub in $("$EIDF_BIN/$e" --help 2>/dev/null |
			     sed -n "/^Available Commands:/,/^\$/{/^  [a-z]/s/^  \([^ ]*\).*/\1/p}"); do
			"$EIDF_BIN/$e" "$sub" --help 2>/dev/null
		done
	} | sed -n "s/^ \{2,\}\(-[a-zA-Z0-9], \)\{0,1\}--\([a-z0-9][a-z0-9-]*\).*/\2/p" | sort -u
}

test_expect_success 'every long option in --help appears in the man page' '
	for e in "${STAGES[@]}"; do
		plain "$MAN_DIR/$e.1" >plain.txt
		LC_ALL=C MANWIDTH=1000 man -l "$MAN_DIR/$e.1" 2>/dev/null >rendered.txt
		long_options "$e" >opts.txt
		test -s opts.txt || { echo "$e --help lists no long options"; exit 1; }
		while read -r o; do
			grep -qE -e "--$o([^a-z0-9-]|\$)" plain.txt || { echo "$e: --$o is in --help but not in the man page" >&2; exit 1; }
			grep -qE -e "--$o([^a-z0-9-]|\$)" rendered.txt || { echo "$e: --$o missing from the rendered page" >&2; exit 1; }
		done <opts.txt
	done
'

test_expect_success 'kubectl-eidf(1) names every stage and command of the dispatcher' '
	plain "$MAN_DIR/kubectl-eidf.1" >plain.txt &&
	"$EIDF_BIN/kubectl-eidf" --help >help.txt &&
	for w in $(sed -n "s/^  \([a-z][a-z_-]*\)  .*/\1/p" help.txt); do
		test_grep "^\.B $w\$\|\\b$w\\b" plain.txt || exit 1
	done &&
	for e in "${STAGES[@]}"; do test_grep "$e (1)" plain.txt || exit 1; done &&
	grep -q -e "--dir" plain.txt
'

test_expect_success 'cmake --install puts the pages in share/man/man1' '
	cmake --install "$EIDF_BUILD" --prefix "$TRASH/prefix" >install.log 2>&1 ||
		{ cat install.log; exit 1; }
	for e in "${EXES[@]}"; do test -f "$TRASH/prefix/share/man/man1/$e.1" || exit 1; done
'

test_done
