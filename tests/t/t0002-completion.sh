#!/bin/bash
# Completion: cobra's __complete protocol through the real kubectl, the
# kubectl_complete-* programs, and the shell scripts.
. "$(dirname "$0")/lib.sh"

mkdir links
kubectl-eidf completion install --dir "$TRASH/links" >/dev/null
export PATH="$TRASH/links:$PATH"

cat >kubeconfig <<'EOF'
apiVersion: v1
kind: Config
current-context: alpha
clusters:
- name: c1
  cluster:
    server: https://127.0.0.1:1
users:
- name: u1
  user:
    token: not-a-real-token
contexts:
- name: alpha
  context: {cluster: c1, user: u1, namespace: eidf042ns}
- name: beta
  context: {cluster: c1, user: u1}
EOF
printf 'clusters: [\n' >broken

# last line is the directive, everything before are candidates
directive() { tail -n1 "$1"; }
candidates() { sed '$d' "$1" | cut -f1; }

test_expect_success 'completion install links each stage program to the stage beside the dispatcher' '
	bin=$(cd "$EIDF_BIN" && pwd -P) &&
	test "$(readlink links/kubectl_complete-eidf)" = "$bin/kubectl-eidf" &&
	test "$(readlink links/kubectl_complete-eidf-pvc)" = "$bin/kubectl-eidf-pvc" &&
	test "$(readlink links/kubectl_complete-eidf-build_context)" = "$bin/kubectl-eidf-build_context"
'

test_expect_success 'krew layout (dispatcher alone on PATH): stage programs forward through it' '
	mkdir krewbin krewlinks &&
	ln -s "$EIDF_BIN/kubectl-eidf" krewbin/kubectl-eidf &&
	krewbin/kubectl-eidf completion install --dir "$TRASH/krewlinks" >/dev/null &&
	kb=$(cd krewbin && pwd -P) &&
	test "$(readlink krewlinks/kubectl_complete-eidf)" = "$kb/kubectl-eidf" &&
	test "$(readlink krewlinks/kubectl_complete-eidf-pvc)" = "$kb/kubectl-eidf" &&
	krewlinks/kubectl_complete-eidf-pvc create --access-mode ReadWriteM >out &&
	test "$(sed "\$d" out | cut -f1)" = ReadWriteMany
'

test_expect_success 'dispatcher: stages, then completion subcommands' '
	kubectl __complete eidf "" >out 2>/dev/null &&
	test_grep "^pvc	" out &&
	test_grep "^completion	" out &&
	test "$(directive out)" = ":4" &&
	kubectl __complete eidf completion "" >out 2>/dev/null &&
	candidates out >got &&
	printf "install\nbash\nzsh\nfish\n" >expect &&
	test_cmp expect got &&
	kubectl __complete eidf completion install --dir "" >out 2>/dev/null &&
	test "$(directive out)" = ":16"
'

test_expect_success 'stage: subcommands and flags from the option tables' '
	kubectl __complete eidf pvc "" >out 2>/dev/null &&
	test_grep "^create	" out &&
	test_grep "^list	" out &&
	kubectl __complete eidf pvc create --name >out 2>/dev/null &&
	test_grep "^--namespace	" out &&
	test_grep -v "^--kubeconfig" out &&
	test "$(directive out)" = ":4"
'

test_expect_success 'enum values, both --flag value and --flag=value forms' '
	kubectl __complete eidf pvc create --access-mode "" >out 2>/dev/null &&
	test_grep "^ReadWriteMany$" out &&
	test_grep "^ReadWriteOnce$" out &&
	test "$(directive out)" = ":4" &&
	kubectl __complete eidf pvc create --access-mode=ReadWriteO >out 2>/dev/null &&
	candidates out >got &&
	printf "ReadWriteOnce\nReadWriteOncePod\n" >expect0 &&
	printf "ReadWriteOnce\n" >expect1 &&
	{ test_cmp expect0 got || test_cmp expect1 got; } &&
	kubectl-eidf-pvc __complete list -o "" >out &&
	test_grep "^json$" out &&
	test_grep "^yaml$" out
'

test_expect_success 'file and directory flags use the shell fallback' '
	kubectl __complete eidf pvc list --kubeconfig "" >out 2>/dev/null &&
	test "$(cat out)" = ":0" &&
	kubectl __complete eidf pvc list --certificate-authority= >out 2>/dev/null &&
	test "$(cat out)" = ":0"
'

test_expect_success 'contexts, clusters and users come from kubeconfig without an API call' '
	KUBECONFIG=$TRASH/kubeconfig kubectl __complete eidf pvc list --context "" >out 2>/dev/null &&
	candidates out >got &&
	printf "alpha\nbeta\n" >expect &&
	test_cmp expect got &&
	kubectl __complete eidf pvc list --kubeconfig "$TRASH/kubeconfig" --user "" >out 2>/dev/null &&
	test "$(candidates out)" = "u1" &&
	kubectl __complete eidf pvc list --kubeconfig="$TRASH/kubeconfig" --cluster=c >out 2>/dev/null &&
	test "$(candidates out)" = "c1"
'

test_expect_success 'broken kubeconfig: no candidates, exit 0, no noise on stdout' '
	for args in "-n \"\"" "--context \"\"" "--namespace=e" "get \"\""; do
		eval "KUBECONFIG=\$TRASH/broken kubectl __complete eidf pvc list $args" >out 2>/dev/null ||
			{ echo "non-zero exit for $args"; exit 1; }
		test "$(cat out)" = ":4" || { echo "for $args:"; cat out; exit 1; }
	done &&
	KUBECONFIG=$TRASH/broken kubectl-eidf-pvc __complete get "" >out 2>err &&
	test "$(cat out)" = ":4"
'

test_expect_success 'unreachable API server: no candidates within the short timeout' '
	start=$(date +%s) &&
	KUBECONFIG=$TRASH/kubeconfig kubectl-eidf-pvc __complete get "" >out 2>/dev/null &&
	end=$(date +%s) &&
	test "$(cat out)" = ":4" &&
	test $((end - start)) -le 5
'

test_expect_success '__completeNoDesc drops descriptions' '
	kubectl-eidf __completeNoDesc "" >out &&
	test_grep -v "	" out &&
	test_grep "^version$" out &&
	kubectl-eidf-pvc __completeNoDesc "" >out &&
	test_grep "^create$" out
'

test_expect_success 'kubectl_complete-eidf-STAGE names reach the stage' '
	kubectl_complete-eidf-pvc create --access-mode ReadWriteM >out &&
	test "$(candidates out)" = "ReadWriteMany"
'

test_expect_success 'bash script completes the executables called directly' '
	kubectl-eidf completion bash >eidf.bash &&
	bash -n eidf.bash &&
	cat >drive.sh <<-\EOF &&
	. ./eidf.bash
	compopt() { :; }
	COMP_WORDS=(kubectl-eidf completion "")
	COMP_CWORD=2
	_kubectl_eidf
	printf "%s\n" "${COMPREPLY[@]}"
	COMP_WORDS=(kubectl-eidf-pvc create --access-mode ReadWriteM)
	COMP_CWORD=3
	_kubectl_eidf
	printf "%s\n" "${COMPREPLY[@]}"
	EOF
	bash drive.sh >out &&
	printf "install\nbash\nzsh\nfish\nReadWriteMany\n" >expect &&
	test_cmp expect out
'

test_expect_success 'kubectl completion bash drives kubectl_complete-eidf* in a real bash' '
	cat >drive-kubectl.sh <<-\EOF &&
	[ -f /usr/share/bash-completion/bash_completion ] && . /usr/share/bash-completion/bash_completion
	source <(kubectl completion bash)
	# minimal stand-in when the bash-completion package is not installed
	declare -F _get_comp_words_by_ref >/dev/null || _get_comp_words_by_ref() {
		cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
		words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
	}
	compopt() { :; }
	drive() {
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		__start_kubectl kubectl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"
	}
	drive kubectl eidf pvc create --access-mode ReadWriteM
	echo --
	drive kubectl eidf co
	EOF
	bash drive-kubectl.sh >out 2>err &&
	printf "ReadWriteMany\n--\ncompletion\n" >expect &&
	test_cmp expect out
'

test_expect_success 'zsh and fish scripts are printed; unknown shell is a usage error' '
	kubectl-eidf completion zsh >eidf.zsh &&
	test_grep "^#compdef kubectl-eidf" eidf.zsh &&
	test_grep "compdef _kubectl_eidf kubectl-eidf" eidf.zsh &&
	kubectl-eidf completion fish >eidf.fish &&
	test_grep "^complete -c kubectl-eidf-pvc " eidf.fish &&
	if command -v zsh >/dev/null; then zsh -n eidf.zsh; fi &&
	if command -v fish >/dev/null; then fish -n eidf.fish; fi &&
	test_expect_code 2 kubectl-eidf completion tcsh 2>err &&
	test_grep "bash, zsh or fish" err
'

test_expect_success 'build-context <TAB>: its subcommands and the directories, not file names' '
	mkdir -p bcdir/ctx-a bcdir/ctx-b/sub && touch bcdir/file.txt && mkdir bcdir/.hidden &&
	(cd bcdir && "$EIDF_BIN/kubectl-eidf-build_context" __complete "") >out &&
	test_grep "^submit	" out && test_grep "^ctx-a/$" out && test_grep "^ctx-b/$" out &&
	! grep -q "file.txt\|hidden" out &&
	(cd bcdir && "$EIDF_BIN/kubectl-eidf-build_context" __complete "ctx-b/") >out &&
	printf "ctx-b/sub/\n:6\n" >expect &&
	test_cmp expect out
'

test_done
