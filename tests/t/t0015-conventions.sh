#!/bin/bash
# One convention for every stage: durations, sizes, -o, and --help rendering
# come from the shared option table, so every stage behaves the same.
. "$(dirname "$0")/lib.sh"

STAGES="pvc fetch build_context devrun"

# Every subcommand's --help of every stage (the default command's too).
all_help() {
	for st in $STAGES; do
		"$EIDF_BIN/kubectl-eidf-$st" --help
		"$EIDF_BIN/kubectl-eidf-$st" --help |
			sed -n '/^Available Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p' |
			while read -r sub; do
				echo "=== $st $sub"
				"$EIDF_BIN/kubectl-eidf-$st" "$sub" --help
			done
	done
}

test_expect_success 'setup: every --help text' '
	all_help >help.all &&
	test $(grep -c "^=== " help.all) -gt 20
'

test_expect_success 'no duration, timeout or size flag is declared as a plain string or number' '
	# the table kinds OPT_DURATION / OPT_SIZE parse, document and complete them alike
	! grep -n "OPT_STRING([^)]*\"\(duration\|timeout\|seconds\)\"" \
		"$EIDF_SRC"/plugins/*/*.c "$EIDF_SRC"/common/*.c &&
	! grep -n "OPT_INT([^)]*\"\(seconds\|MiB\|bytes\)\"" \
		"$EIDF_SRC"/plugins/*/*.c "$EIDF_SRC"/common/*.c &&
	! grep -n "OPT_STRING(0, \"\(memory\|memory-limit\|shm-size\|size\)\"" \
		"$EIDF_SRC"/plugins/*/*.c
'

test_expect_success '--help shows the defaults the commands use, never a sentinel' '
	# kubectl logs --tail=-1 is kubectl logs spelling of "everything" (fetch logs
	# --index and devrun logs --rank: every pod, every rank)
	! grep -n "=-1:" help.all | grep -v -- "--tail=-1:\|--index=-1:\|--rank=-1:" &&
	! grep -n "repeatable (repeatable)\|repeatable; repeatable" help.all &&
	! grep -n "(default)$" help.all &&
	"$EIDF_BIN/kubectl-eidf-devrun" --help >devrun.help &&
	test_grep "^    --gpu=0:" devrun.help &&
	test_grep "^    --ttl=.24h.:" devrun.help &&
	"$EIDF_BIN/kubectl-eidf-fetch" --help >fetch.help &&
	test_grep "^    --ttl=.30m.:" fetch.help &&
	"$EIDF_BIN/kubectl-eidf-build_context" submit --help >submit.help &&
	test_grep "^    --follow=true:" submit.help &&
	test_grep "^    --max-context=.8Mi.:" submit.help
'

test_expect_success 'every command that stops waiting while the work goes on documents 124 and 130 in --help' '
	for c in "fetch create" "fetch wait" "pvc create" "build_context submit" "build_context status" \
		"devrun run" "devrun attach" "devrun rerun"; do
		set -- $c &&
		"$EIDF_BIN/kubectl-eidf-$1" $2 --help >h &&
		{ grep -q "124" h && grep -q "130" h || { echo "$c --help: no 124 or no 130"; exit 1; }; }
	done
'

# The options listed under heading $2 in the help text $1.
under() { sed -n "/^$2:\$/,/^[A-Z][a-z ]*:\$/p" "$1" | sed -n "s/^    \(-., \)\{0,1\}--\([a-z-]*\)=.*/\2/p"; }

test_expect_success "a subcommand's own options are not listed under 'Job policy'" '
	"$EIDF_BIN/kubectl-eidf-pvc" shell --help >shell.help &&
	under shell.help "Job policy" >policy &&
	printf "%s\n" queue eidf-user >expect &&
	test_cmp expect policy &&
	under shell.help Options >own &&
	for o in mount read-only keep image timeout; do grep -qx "$o" own || exit 1; done &&
	for sub in df du browse; do
		"$EIDF_BIN/kubectl-eidf-pvc" $sub --help >h &&
		under h "Job policy" >p && test_cmp expect p &&
		under h Options | grep -qx no-headers || exit 1
	done
'

test_expect_success 'bad durations are usage errors with an example, in every stage' '
	for cmd in "pvc df data --timeout" "fetch wait x --timeout" "fetch https://h/f --pvc d --ttl" \
		"devrun --ttl" "devrun attach x --timeout" "build_context status x --timeout" \
		"build_context submit --image a/b:1 --upload-timeout"; do
		set -- $cmd &&
		st=$1 && shift &&
		test_expect_code 2 "$EIDF_BIN/kubectl-eidf-$st" "$@" 5x -- true 2>err &&
		test_grep "invalid argument \"5x\" for \"--[a-z-]*\" flag: use a duration such as 90s, 5m or 24h" err ||
		exit 1
	done &&
	test_expect_code 2 "$EIDF_BIN/kubectl-eidf-pvc" create c --size 1Gi --wait=soon 2>err &&
	test_grep "use a duration" err &&
	test_expect_code 2 "$EIDF_BIN/kubectl-eidf-pvc" list --request-timeout=1y 2>err &&
	test_grep "use a duration" err
'

test_expect_success 'sizes need a unit: --max-context=8 is refused with a hint' '
	test_expect_code 2 "$EIDF_BIN/kubectl-eidf-build_context" submit --image a/b:1 --max-context=8 2>err &&
	test_grep "a size needs a unit: 8Mi or 8Gi" err &&
	test_expect_code 2 "$EIDF_BIN/kubectl-eidf-devrun" --image alpine --shm-size 64 -- true 2>err &&
	test_grep "invalid argument \"64\" for \"--shm-size\" flag: a size needs a unit" err &&
	test_expect_code 2 "$EIDF_BIN/kubectl-eidf-pvc" create c --size 100 2>err &&
	test_grep "for \"--size\" flag: a size needs a unit" err &&
	test_expect_code 2 "$EIDF_BIN/kubectl-eidf-fetch" https://h/f --pvc d --memory lots 2>err &&
	test_grep "not a size" err
'

test_expect_success 'build-context: -O writes the archive, the old -o FILE names -O' '
	mkdir ctx && echo "FROM scratch" >ctx/Dockerfile &&
	"$EIDF_BIN/kubectl-eidf-build_context" ctx -O ctx.tgz >out &&
	test_grep "^wrote ctx.tgz" out &&
	gzip -t ctx.tgz &&
	test_expect_code 2 "$EIDF_BIN/kubectl-eidf-build_context" ctx -o ctx2.tgz 2>err &&
	test_grep "use -O/--output-file\|with -O/--output-file ctx2.tgz" err &&
	! test -e ctx2.tgz
'

test_expect_success 'every setting key the code reads is documented in docs/configuration.md (the registry)' '
	grep -rhoE "\"(pvc|fetch|devrun|build-context)\.[a-z][a-z-]*\"|setting(_list)?\(\"[^\"]+\"" \
		"$EIDF_SRC"/common "$EIDF_SRC"/plugins | sed "s/.*(\"//; s/\"//g" | sort -u >code.keys &&
	test $(wc -l <code.keys) -gt 30 &&
	grep -oE "^\| \`[a-z0-9][a-z0-9.-]*\` \|" "$EIDF_SRC/docs/configuration.md" |
		sed "s/^| \`//; s/\` |$//" | sort -u >doc.keys &&
	comm -23 code.keys doc.keys >undocumented &&
	test_cmp /dev/null undocumented
'

test_expect_success 'unknown setting keys are reported with the closest known key' '
	mkdir -p "$XDG_CONFIG_HOME/kubectl-eidf" &&
	printf "devrun:\n  gpuu: 1\n  image: alpine\nfetch.memry: 2Gi\nqueue: q\nwhatever-this-is: 1\n" \
		>"$XDG_CONFIG_HOME/kubectl-eidf/config.yaml" &&
	"$EIDF_BIN/kubectl-eidf-fetch" https://h/f --pvc d --dry-run=client -o name -s https://127.0.0.1:1 -n x >out 2>err &&
	test_grep "unknown setting \"devrun.gpuu\" is ignored; did you mean \"devrun.gpu\"?" err &&
	test_grep "unknown setting \"fetch.memry\" is ignored; did you mean \"fetch.memory\"?" err &&
	test_grep "unknown setting \"whatever-this-is\" is ignored" err &&
	! grep -q "\"queue\"\|devrun.image" err &&
	# every command of every stage reports them, not only those that read a setting
	for st in pvc fetch build_context devrun; do
		test_expect_code 1 "$EIDF_BIN/kubectl-eidf-$st" list -s https://127.0.0.1:1 -n x 2>err &&
		test_grep "unknown setting \"devrun.gpuu\" is ignored; did you mean \"devrun.gpu\"?" err || return 1
	done
'

test_expect_success 'a malformed config names the line and the settings it ignores' '
	printf "devrun:\n  image: alpine\n  pvc:\n    - data\nfetch:\n  memory: 2Gi\n bad: [\n" \
		>"$XDG_CONFIG_HOME/kubectl-eidf/config.yaml" &&
	"$EIDF_BIN/kubectl-eidf-fetch" https://h/f --pvc d --dry-run=client -o name -s https://127.0.0.1:1 -n x >out 2>err &&
	test_grep "ignoring user config: .*config.yaml: invalid YAML at line 7" err &&
	test_grep "none of its settings apply (devrun.image, devrun.pvc, fetch.memory" err &&
	test_expect_code 1 "$EIDF_BIN/kubectl-eidf-pvc" list -s https://127.0.0.1:1 -n x 2>err &&
	test_grep "ignoring user config: .*config.yaml: invalid YAML at line 7" err &&
	rm "$XDG_CONFIG_HOME/kubectl-eidf/config.yaml"
'

test_expect_success 'a server that accepts and never answers: the error names the real limit' '
	python3 -c "
import socket, sys
s = socket.socket(); s.bind((\"127.0.0.1\", 0)); s.listen(8)
open(\"silent.port\", \"w\").write(str(s.getsockname()[1]))
held = []
while True:
    held.append(s.accept()[0])
" &
	echo $! >silent.pid &&
	wait_for 10 test -s silent.port &&
	test_expect_code 1 "$EIDF_BIN/kubectl-eidf-pvc" list -s "https://127.0.0.1:$(cat silent.port)" \
		--insecure-skip-tls-verify --token t -n x --request-timeout=1s 2>err &&
	kill $(cat silent.pid) &&
	test_grep "accepted the connection but did not answer the TLS handshake within 1s" err &&
	! grep -q " 0 ms" err
'

start_cluster --tenant eidf015ns || exit 1

test_expect_success 'fetch --ttl takes 5m like devrun --ttl 24h (and a bare number is seconds)' '
	kubectl eidf fetch https://example.org/f.bin --pvc data --ttl 5m --dry-run=client -o json >job.json &&
	python3 -c "import json,sys; j=json.load(open(\"job.json\")); sys.exit(j[\"spec\"][\"ttlSecondsAfterFinished\"] != 300)" &&
	kubectl eidf fetch https://example.org/f.bin --pvc data --ttl 90 --dry-run=client -o json >job.json &&
	python3 -c "import json,sys; j=json.load(open(\"job.json\")); sys.exit(j[\"spec\"][\"ttlSecondsAfterFinished\"] != 90)"
'

test_expect_success '--dry-run=client -o name of a generateName object prints what kubectl prints' '
	kubectl eidf fetch https://example.org/f.bin --pvc data --dry-run=client -o name >out &&
	kubectl create --dry-run=client -o name -f job.json >expect &&
	test_cmp expect out &&
	echo "job.batch/<unknown>" >expect &&
	test_cmp expect out
'

test_done
