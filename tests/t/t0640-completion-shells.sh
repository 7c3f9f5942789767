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

test_expect_success 'bash + bash-completion: kubectl eidf <TAB><TAB> lists each stage once' '
	cat >rc.bash <<-EOF &&
	export PATH="$INST_PATH" KUBECONFIG="$KUBECONFIG" PS1="bash> "
	. /usr/share/bash-completion/bash_completion
	source <(kubectl completion bash)
	EOF
	{ tmux_stop 2>/dev/null; true; } &&
	tmux_start "bash --noprofile --rcfile rc.bash -i" &&
	tmux_wait "^bash>" &&
	tmux_keys "kubectl eidf " Tab Tab &&
	tmux_wait "^version " &&
	screen >bash.screen &&
	test "$(grep -c "^build-context " bash.screen)" = 1 &&
	test_grep "^devrun *(Run your local code" bash.screen &&
	! grep -q "plugin installed by the user" bash.screen &&
	tmux_keys C-u "kubectl eidf devrun --image alpine -- tra" Tab &&
	tmux_wait "-- train.py" &&
	tmux_keys C-u "kubectl eidf pvc list -n " Tab &&
	tmux_wait "list -n eidf064ns" &&
	tmux_stop
'

test_expect_success 'zsh: stages with their descriptions, files after --' '
	cat >.zshrc <<-EOF &&
	export PATH="$INST_PATH" KUBECONFIG="$KUBECONFIG" PS1="zsh> "
	autoload -U compinit && compinit -u
	source <(kubectl completion zsh)
	EOF
	{ tmux_stop 2>/dev/null; true; } &&
	tmux_start "ZDOTDIR=$TRASH zsh -i" &&
	tmux_wait "^zsh>" &&
	tmux_keys "kubectl eidf " Tab &&
	tmux_wait "^version " &&
	screen >zsh.screen &&
	test "$(grep -c "^build-context " zsh.screen)" = 1 &&
	test_grep "^devrun *-- Run your local code" zsh.screen &&
	tmux_keys C-c &&
	tmux_wait "^zsh> *$" &&
	tmux_keys "kubectl eidf devrun --image alpine -- tra" Tab &&
	tmux_wait "-- train.py" &&
	tmux_stop
'

test_expect_success 'fish: our descriptions, not the generic plugin one' '
	cat >rc.fish <<-EOF &&
	set -gx PATH $(printf "%s" "$INST_PATH" | tr ":" " ")
	set -gx KUBECONFIG $KUBECONFIG
	function fish_prompt; echo "fish> "; end
	function fish_greeting; end
	kubectl completion fish | source
	EOF
	{ tmux_stop 2>/dev/null; true; } &&
	tmux_start "fish --no-config -C \"source rc.fish\"" &&
	tmux_wait "^fish>" &&
	tmux_keys "kubectl eidf " Tab &&
	tmux_wait "^version " &&
	screen >fish.screen &&
	test "$(grep -c "^build-context " fish.screen)" = 1 &&
	test_grep "^devrun *(Run your local code" fish.screen &&
	! grep -q "plugin installed by the user" fish.screen &&
	tmux_keys C-u "kubectl eidf devrun --image alpine -- tra" Tab &&
	tmux_wait "-- train.py" &&
	tmux_keys C-u "kubectl eidf pvc list -n " Tab &&
	tmux_wait "list -n eidf064ns" &&
	tmux_stop
'

test_done
