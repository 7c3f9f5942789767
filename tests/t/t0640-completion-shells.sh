#!/bin/bash
# Completion as a user gets it: the installed layout (cmake --install), the
# real kubectl 1.32 completion scripts, and bash (with Debian's
# bash-completion), zsh and fish in a terminal (tmux).
. "$(dirname "$0")/lib.sh"

if ! tmux_setup || ! command -v zsh >/dev/null || ! command -v fish >/dev/null ||
	! test -f /usr/share/bash-completion/bash_completion; then
	test_skip "completion in real shells" "needs tmux, zsh, fish and bash-completion"
	test_done
fi
start_cluster --tenant eidf064ns || exit 1

SYS_PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$EIDF_BIN" | paste -sd:)
INST_PATH="$TRASH/inst/bin:$SYS_PATH"
touch train.py

test_expect_success 'setup: the installed layout, completion links made by completion install' '
	cmake --install "$EIDF_BUILD" --prefix "$TRASH/inst" >/dev/null &&
	test -x inst/bin/kubectl-eidf &&
	test -x inst/libexec/kubectl-eidf/kubectl-eidf-devrun &&
	PATH=$INST_PATH kubectl eidf completion install >/dev/null &&
	test -L inst/bin/kubectl_complete-eidf &&
	! ls inst/bin | grep -q "^kubectl-eidf-" &&
	PATH=$INST_PATH kubectl eidf pvc list >out 2>&1 &&
	test_grep "No resources found in eidf064ns namespace" out
'

test_expect_success 'kubectl __complete eidf "": every stage once, with its own description' '
	PATH=$INST_PATH kubectl __complete eidf "" >out 2>/dev/null &&
	for s in pvc fetch build-context devrun; do
		test "$(grep -c "^$s	" out)" = 1 || exit 1
	done &&
	! grep -q "is a plugin installed by the user" out
'

# screen: what the terminal shows, blank lines dropped
screen() { tmux -L "$EIDF_TMUX_SOCK" capture-pane -t t -p | grep -v "^$"; }

# in_shell NAME START LIST DESC: what a user of each shell gets, the same
# checks in every shell.  NAME> is the prompt, START the shell's command line,
# LIST the keys that list candidates (bash needs Tab twice), DESC how the shell
# shows devrun's description after its name.
in_shell() {
	local name=$1 start=$2 list=$3 desc=$4
	# a fresh line on an empty screen, so that each check sees only its own candidates
	fresh() { tmux_keys C-c && tmux_keys "clear" Enter && tmux_wait "^$name> *\$"; }
	{ tmux_stop 2>/dev/null; true; } &&
	tmux_start "$start" &&
	tmux_wait "^$name>" &&
	# kubectl eidf <TAB>: every stage once, with our description
	tmux_keys "kubectl eidf " $list &&
	tmux_wait "^version " &&
	screen >$name.screen &&
	test "$(grep -c "^build-context " $name.screen)" = 1 &&
	test_grep "^devrun *$desc" $name.screen &&
	! grep -q "plugin installed by the user" $name.screen &&
	# after --: files (the command and its arguments), never devrun'"'"'s subcommands
	fresh && tmux_keys "kubectl eidf devrun --image alpine -- " $list &&
	tmux_wait "train.py" &&
	screen >$name.files &&
	! grep -q "rerun\|attach" $name.files &&
	fresh && tmux_keys "kubectl eidf devrun --image alpine -- python tra" Tab &&
	tmux_wait "python train.py" &&
	# -n: the context'"'"'s namespace (a tenant may not list namespaces)
	fresh && tmux_keys "kubectl eidf pvc list -n " Tab &&
	tmux_wait "list -n eidf064ns" &&
	tmux_stop
}

test_expect_success 'bash + bash-completion: stages once with descriptions, files after --, -n' '
	cat >rc.bash <<-EOF &&
	export PATH="$INST_PATH" KUBECONFIG="$KUBECONFIG" PS1="bash> "
	. /usr/share/bash-completion/bash_completion
	source <(kubectl completion bash)
	EOF
	in_shell bash "bash --noprofile --rcfile rc.bash -i" "Tab Tab" "(Run your local code"
'

test_expect_success 'zsh: stages once with descriptions, files after --, -n' '
	cat >.zshrc <<-EOF &&
	export PATH="$INST_PATH" KUBECONFIG="$KUBECONFIG" PS1="zsh> "
	autoload -U compinit && compinit -u
	source <(kubectl completion zsh)
	EOF
	in_shell zsh "ZDOTDIR=$TRASH zsh -i" Tab "-- Run your local code"
'

test_expect_success 'fish: our descriptions (not the generic plugin one), files after --, -n' '
	cat >rc.fish <<-EOF &&
	set -gx PATH $(printf "%s" "$INST_PATH" | tr ":" " ")
	set -gx KUBECONFIG $KUBECONFIG
	function fish_prompt; echo "fish> "; end
	function fish_greeting; end
	kubectl completion fish | source
	EOF
	in_shell fish "fish --no-config -C \"source rc.fish\"" Tab "(Run your local code"
'

test_done
