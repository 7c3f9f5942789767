#!/bin/bash
# The dispatcher kubectl-eidf, driven by the real kubectl.
. "$(dirname "$0")/lib.sh"

# PATH without the build directory: kubectl must reach the stages through
# the dispatcher (as under krew, where only kubectl-eidf is linked).
SYS_PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$EIDF_BIN" | paste -sd:)

# krew-like layout: only a symlink to the dispatcher on PATH.
mkdir -p krew/bin
ln -s "$EIDF_BIN/kubectl-eidf" krew/bin/kubectl-eidf
KREW_PATH="$TRASH/krew/bin:$SYS_PATH"

# A copied install with a fake stage next to the dispatcher.
mkdir -p real links other
cp "$EIDF_BIN/kubectl-eidf" real/kubectl-eidf
cat >real/kubectl-eidf-exit_code <<'EOF'
#!/bin/sh
printf 'argv0=%s\n' "$(basename "$0")"
for a in "$@"; do printf 'arg=[%s]\n' "$a"; done
printf 'env=%s\n' "${EIDF_TEST_ENV-unset}"
printf 'stdin=%s\n' "$(cat)"
exit "${EIDF_TEST_RC:-42}"
EOF
chmod +x real/kubectl-eidf-exit_code
ln -s ../real/kubectl-eidf links/kubectl-eidf
cat >other/kubectl-eidf-on_path <<'EOF'
#!/bin/sh
echo "on-path stage: $*"
exit 3
EOF
chmod +x other/kubectl-eidf-on_path
COPY_PATH="$TRASH/links:$SYS_PATH"

test_expect_success 'kubectl eidf version prints suite and library versions' '
	kubectl eidf version >out &&
	test_grep "^kubectl-eidf [0-9][0-9.]*$" out &&
	for lib in libcurl libgit2 libarchive libyaml cJSON OpenSSL; do
		test_grep "^$lib [0-9]" out || exit 1
	done &&
	kubectl eidf --version >out2 &&
	test_cmp out out2
'

test_expect_success 'kubectl eidf without arguments shows the stages' '
	kubectl eidf >out &&
	for s in pvc fetch build-context devrun completion version; do
		test_grep "^  $s " out || exit 1
	done &&
	kubectl eidf --help >out2 &&
	test_cmp out out2
'

test_expect_success 'kubectl eidf build-context --help reaches kubectl-eidf-build_context' '
	rc=0 &&
	"$EIDF_BIN/kubectl-eidf-build_context" --help >expect.out 2>expect.err || rc=$? &&
	got=0 &&
	PATH=$KREW_PATH kubectl eidf build-context --help >out 2>err || got=$? &&
	test "$rc" = "$got" &&
	test_cmp expect.out out &&
	test_cmp expect.err err &&
	got=0 &&
	PATH=$KREW_PATH kubectl eidf build_context --help >out 2>err || got=$? &&
	test "$rc" = "$got" &&
	test_cmp expect.out out
'

test_expect_success 'argv, env, stdin and exit code pass through the dispatcher' '
	got=0 &&
	echo "from stdin" | PATH=$COPY_PATH EIDF_TEST_ENV=yes \
		kubectl eidf exit-code --flag "two words" "" >out 2>err || got=$? &&
	test "$got" = 42 &&
	cat >expect <<-EOF &&
	argv0=kubectl-eidf-exit_code
	arg=[--flag]
	arg=[two words]
	arg=[]
	env=yes
	stdin=from stdin
	EOF
	test_cmp expect out &&
	got=0 &&
	PATH=$COPY_PATH EIDF_TEST_RC=0 kubectl eidf exit-code </dev/null >out || got=$? &&
	test "$got" = 0
'

test_expect_success 'a stage on PATH is found when none is next to the dispatcher' '
	got=0 &&
	PATH="$TRASH/links:$TRASH/other:$SYS_PATH" kubectl-eidf on-path x y >out || got=$? &&
	test "$got" = 3 &&
	test_grep "on-path stage: x y" out
'

test_expect_success 'unknown stage: error listing the stages, exit 2' '
	test_expect_code 2 env PATH=$KREW_PATH kubectl eidf nope >out 2>err &&
	test_grep "unknown stage \"nope\"" err &&
	test_grep "pvc, fetch, build-context, devrun" err &&
	test_must_fail test -s out
'

test_expect_success 'hostile stage names are refused, not executed' '
	test_expect_code 2 env PATH=$COPY_PATH kubectl-eidf ../real/kubectl-eidf-exit_code 2>err &&
	test_grep "unknown stage" err
'

test_expect_success 'flags before the stage are a usage error' '
	test_expect_code 2 env PATH=$KREW_PATH kubectl eidf -n x fetch 2>err &&
	test_grep "kubectl eidf STAGE" err
'

test_expect_success 'kubectl __complete eidf lists the stages (kubectl_complete-eidf)' '
	PATH=$KREW_PATH kubectl eidf completion install >out &&
	test_grep "kubectl_complete-eidf -> " out &&
	test -L krew/bin/kubectl_complete-eidf &&
	PATH=$KREW_PATH kubectl __complete eidf "" >out 2>/dev/null &&
	test_grep "^build-context" out &&
	test_grep "^completion" out &&
	test_grep "^version" out &&
	test "$(tail -n1 out)" = ":4" &&
	PATH=$KREW_PATH kubectl __complete eidf "bu" >out 2>/dev/null &&
	test_grep -v "^version" out &&
	test_grep "^build-context" out
'

test_expect_success 'completion install is idempotent and honours --dir' '
	PATH=$KREW_PATH kubectl eidf completion install >/dev/null &&
	mkdir elsewhere &&
	PATH=$KREW_PATH kubectl eidf completion install --dir "$TRASH/elsewhere" >out &&
	test -L elsewhere/kubectl_complete-eidf &&
	test_expect_code 2 env PATH=$KREW_PATH kubectl eidf completion install --dir 2>err
'

test_done
