#!/usr/bin/env bash
# completions/ holds the scripts `kubectl eidf completion bash|zsh|fish`
# prints (cmake/completions.cmake generates them at build time into
# build/<preset>/completions/ and installs them).  The committed copies must
# never go stale, and the bash one must really complete in bash.
. "$(dirname "$0")/lib.sh"

COMP="$EIDF_SRC/completions"
# The script lists the known stages plus any kubectl-eidf-* found next to the
# dispatcher or on PATH: keep PATH out of it, as the build does.
print_script() { env PATH=/nonexistent "$EIDF_BIN/kubectl-eidf" completion "$1"; }
stale_hint="completions/ is stale: run 'cmake --build --preset default --target completions-update'"

test_expect_success 'committed completions/ equal what the dispatcher prints now' '
	print_script bash >bash.out && print_script zsh >zsh.out && print_script fish >fish.out &&
	{ test_cmp bash.out "$COMP/kubectl-eidf" &&
	  test_cmp zsh.out "$COMP/_kubectl-eidf" &&
	  test_cmp fish.out "$COMP/kubectl-eidf.fish" || { echo "$stale_hint" >&2; false; }; }
'

test_expect_success 'completions/ holds exactly the three scripts' '
	(cd "$COMP" && ls -A) >got &&
	printf "%s\n" _kubectl-eidf kubectl-eidf kubectl-eidf.fish >expect &&
	test_cmp expect got
'

test_expect_success 'the build generated the same files into build/<preset>/completions' '
	if [ -d "$EIDF_BUILD/completions" ]; then
		for f in kubectl-eidf _kubectl-eidf kubectl-eidf.fish; do
			test_cmp "$COMP/$f" "$EIDF_BUILD/completions/$f" || return 1
		done
	else
		echo "no $EIDF_BUILD/completions (target completions not built): skipped"
	fi
'

test_expect_success 'the scripts name every stage executable and parse' '
	test_grep "^complete -F _kubectl_eidf kubectl-eidf kubectl-eidf-pvc kubectl-eidf-fetch kubectl-eidf-build_context kubectl-eidf-devrun$" "$COMP/kubectl-eidf" &&
	test_grep "^#compdef kubectl-eidf kubectl-eidf-pvc .*kubectl-eidf-devrun$" "$COMP/_kubectl-eidf" &&
	test_grep "^complete -c kubectl-eidf-pvc -f -a " "$COMP/kubectl-eidf.fish" &&
	bash -n "$COMP/kubectl-eidf" &&
	if command -v zsh >/dev/null; then zsh -n "$COMP/_kubectl-eidf"; fi &&
	if command -v fish >/dev/null; then fish -n "$COMP/kubectl-eidf.fish"; fi
'

# drive.sh WORDS...: complete the last word of the command line in a real,
# non-interactive bash with the committed script loaded, print COMPREPLY.
cat >drive.sh <<'EOF'
set -u
. "$COMP/kubectl-eidf"
complete -p "$1" >/dev/null || { echo "no completion registered for $1" >&2; exit 1; }
fn=$(complete -p "$1" | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
COMPREPLY=()
"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}" 2>/dev/null
printf "%s\n" "${COMPREPLY[@]}"
EOF
export COMP

test_expect_success 'bash: kubectl-eidf-pvc cr<TAB> -> create' '
	bash drive.sh kubectl-eidf-pvc cr >out &&
	echo create >expect &&
	test_cmp expect out
'

test_expect_success 'bash: stages of the dispatcher, flag values of a stage' '
	bash drive.sh kubectl-eidf "" >out &&
	test_grep "^pvc$" out && test_grep "^fetch$" out && test_grep "^devrun$" out &&
	test_grep "^build-context$" out && test_grep "^completion$" out &&
	bash drive.sh kubectl-eidf-pvc create data --access-mode ReadWriteO >out &&
	printf "%s\n" ReadWriteOnce ReadWriteOncePod >expect &&
	test_cmp expect out &&
	bash drive.sh kubectl-eidf-fetch create --extract-i >out &&
	echo --extract-image >expect &&
	test_cmp expect out
'

test_expect_success 'bash: compgen matches what the completion function offers' '
	cat >drive-compgen.sh <<-\EOF &&
	. "$COMP/kubectl-eidf"
	COMP_WORDS=(kubectl-eidf-devrun l); COMP_CWORD=1
	_kubectl_eidf
	printf "%s\n" "${COMPREPLY[@]}" | sort >got
	compgen -W "$(kubectl-eidf-devrun __completeNoDesc l | sed "\$d")" -- l | sort >want
	cmp got want && cat got
	EOF
	bash drive-compgen.sh >out &&
	test_grep "^list$" out && test_grep "^logs$" out
'

test_expect_success 'cmake --install: scripts, per-stage links and kubectl_complete-* links' '
	if [ ! -f "$EIDF_BUILD/cmake_install.cmake" ]; then
		echo "no cmake_install.cmake in $EIDF_BUILD: skipped"; exit 0
	fi &&
	cmake --install "$EIDF_BUILD" --prefix "$TRASH/inst" >install.out 2>&1 || { cat install.out; false; } &&
	cd "$TRASH/inst" &&
	test_cmp "$COMP/kubectl-eidf" share/bash-completion/completions/kubectl-eidf &&
	test_cmp "$COMP/_kubectl-eidf" share/zsh/site-functions/_kubectl-eidf &&
	test_cmp "$COMP/kubectl-eidf.fish" share/fish/vendor_completions.d/kubectl-eidf.fish &&
	test "$(readlink bin/kubectl_complete-eidf)" = kubectl-eidf &&
	for e in pvc fetch build_context devrun; do
		test "$(readlink bin/kubectl_complete-eidf-$e)" = ../libexec/kubectl-eidf/kubectl-eidf-$e &&
		test -x bin/kubectl_complete-eidf-$e &&
		test "$(readlink share/bash-completion/completions/kubectl-eidf-$e)" = kubectl-eidf &&
		test "$(readlink share/fish/vendor_completions.d/kubectl-eidf-$e.fish)" = kubectl-eidf.fish ||
		return 1
	done &&
	bin/kubectl_complete-eidf-pvc create --access-mode ReadOnly >out &&
	test_grep "^ReadOnlyMany" out && test "$(tail -n1 out)" = ":4" &&
	bin/kubectl_complete-eidf "" >out &&
	test_grep "^pvc	" out
'

test_done
