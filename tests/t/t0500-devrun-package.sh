#!/bin/bash
# devrun packaging: the rendered Job's init container (the embedded
# init-code.sh, run by busybox sh with busybox tools and git) reproduces the
# local working tree from a git daemon on 127.0.0.1, byte for byte.
. "$(dirname "$0")/lib.sh"

if ! command -v busybox >/dev/null || ! command -v git >/dev/null || ! command -v node >/dev/null; then
	test_skip 'devrun packaging' 'needs busybox, git and node'
	test_done
fi

export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=T GIT_AUTHOR_EMAIL=t@example.org \
	GIT_COMMITTER_NAME=T GIT_COMMITTER_EMAIL=t@example.org

# An alpine/git-like userland: busybox applets plus git.
mkdir -p bb
for a in sh tar gzip sed tr wc chmod cat cp mkdir rm mktemp printf test ls env grep sleep; do
	ln -s "$(command -v busybox)" "bb/$a"
done
ln -s "$(command -v git)" bb/git

start_git_daemon || exit 1
URL=$GIT_DAEMON_URL

# The pod: run the init container of a rendered List (JSON) with busybox.
cat >pod.mjs <<'EOF'
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
const [file, root, bin] = process.argv.slice(2);
const list = JSON.parse(readFileSync(file, "utf8"));
const job = list.items.find((o) => o.kind === "Job");
const secret = list.items.find((o) => o.kind === "Secret");
const init = job.spec.template.spec.initContainers[0];
const env = { PATH: bin, HOME: `${root}/home`, TMPDIR: `${root}/tmp` };
for (const e of init.env) env[e.name] = e.value;
for (const k of ["EIDF_EXTRA_GIT_CONFIG"]) if (process.env[k]) env[k] = process.env[k];
if (process.env.GIT_CONFIG_COUNT) {
  for (const k of Object.keys(process.env)) if (k.startsWith("GIT_CONFIG_")) env[k] = process.env[k];
}
env.EIDF_CODE_DIR = `${root}/code`;
mkdirSync(`${root}/home`, { recursive: true });
mkdirSync(`${root}/tmp`, { recursive: true });
if (env.EIDF_CHANGES_DIR) {
  env.EIDF_CHANGES_DIR = `${root}/changes`;
  mkdirSync(env.EIDF_CHANGES_DIR, { recursive: true });
  for (const [k, v] of Object.entries(secret.data)) writeFileSync(`${env.EIDF_CHANGES_DIR}/${k}`, Buffer.from(v, "base64"));
}
const r = spawnSync(init.command[0] === "/bin/sh" ? `${bin}/sh` : init.command[0], init.command.slice(1),
                    { env, stdio: "inherit" });
process.exit(r.status ?? 99);
EOF

# tree_listing DIR: "mode type path [sha]" for every file except .git (also
# a submodule's), sorted
tree_listing() {
	(cd "$1" && find . -name .git -prune -o \( -type f -o -type l \) -print | sed 's|^\./||' | LC_ALL=C sort |
	while IFS= read -r f; do
		if [ -L "$f" ]; then
			printf 'link %s -> %s\n' "$f" "$(readlink "$f")"
		else
			x=-; [ -x "$f" ] && x=x
			printf 'file %s %s %s\n' "$x" "$f" "$(sha256sum <"$f" | cut -c1-16)"
		fi
	done)
}

test_expect_success 'setup: pushed repository with history' '
	git clone -q "$URL" w 2>/dev/null &&
	cd w && git checkout -q -b main &&
	printf "one\n" >a.txt && printf "two\n" >b.txt && printf "old\n" >old.txt &&
	mkdir -p src && printf "print(1)\n" >src/main.py && printf "#!/bin/sh\necho hi\n" >run.sh &&
	printf "x\n" >plain.sh && printf "ign/\n*.log\n" >.gitignore &&
	git add -A && git commit -q -m init && git push -q -u origin main
'

test_expect_success 'render: manifests valid, ships only the pushed commit when clean' '
	cd w &&
	kubectl-eidf-devrun render -n eidf001ns --image python:3 -o json -- python src/main.py >../clean.json &&
	node "$EIDF_SRC/tests/validate-manifest.mjs" ../clean.json &&
	node -e "
		const l = JSON.parse(require(\"fs\").readFileSync(\"../clean.json\"));
		if (l.items.length !== 1) throw new Error(\"a clean tree needs no Secret\");
		const s = l.items[0].spec.template.spec;
		if (s.containers[0].workingDir !== \"/code\") throw new Error(\"workingDir\");
		if (!l.items[0].metadata.generateName) throw new Error(\"generateName\");
	"
'

test_expect_success 'clean tree: the pod gets exactly HEAD' '
	node pod.mjs clean.json "$TRASH/pod0" "$TRASH/bb" &&
	test "$(git -C pod0/code rev-parse HEAD)" = "$(git -C w rev-parse HEAD)" &&
	tree_listing w >expect && tree_listing pod0/code >actual && test_cmp expect actual
'

test_expect_success 'local changes of every kind arrive intact' '
	cd w &&
	printf "one changed\n" >a.txt && rm b.txt && git mv old.txt new.txt &&
	printf "staged\n" >staged.txt && git add staged.txt &&
	mkdir -p deep/er && printf "untracked\n" >deep/er/u.txt &&
	printf "B\000\001\002\000\377end" >blob.bin && chmod +x plain.sh && chmod -x run.sh &&
	mkdir -p ign && printf "secret\n" >ign/x && printf "log\n" >debug.log &&
	ln -s a.txt link && printf "data/\n" >.eidfignore && mkdir -p data && printf "big\n" >data/d &&
	printf "print(2)\n" >src/main.py && printf "a \"quoted\" name\n" >"sp ace.txt" &&
	kubectl-eidf-devrun render -n eidf001ns --image python:3 -o json -- python src/main.py >../dirty.json &&
	node "$EIDF_SRC/tests/validate-manifest.mjs" ../dirty.json &&
	cd .. && node pod.mjs dirty.json "$TRASH/pod1" "$TRASH/bb" &&
	(cd w && rm -rf data) &&
	tree_listing w | grep -v -e " ign/x " -e " debug.log " >expect &&
	tree_listing pod1/code >actual &&
	test_cmp expect actual &&
	! test -e pod1/code/ign/x && ! test -e pod1/code/debug.log && ! test -e pod1/code/b.txt &&
	cmp w/blob.bin pod1/code/blob.bin
'

test_expect_success 'pods sharing a /tmp do not meet each other'"'"'s files; nothing is left there' '
	mkdir -p podtmp/tmp && : >podtmp/tmp/devrun-verify-index.lock && : >podtmp/tmp/devrun-verify-index &&
	node pod.mjs dirty.json "$TRASH/podtmp" "$TRASH/bb" &&
	tree_listing pod1/code >tmp-expect && tree_listing podtmp/code >tmp-actual && test_cmp tmp-expect tmp-actual &&
	ls -A podtmp/tmp >tmp-left && printf "devrun-verify-index\ndevrun-verify-index.lock\n" >tmp-want &&
	test_cmp tmp-want tmp-left
'

test_expect_success 'a server that refuses fetching by commit id: branch fallback' '
	(cd w && git stash -q -u && git commit -q --allow-empty -m second && git push -q &&
	 git reset -q --hard HEAD~1 && git stash pop -q) &&
	(cd w && kubectl-eidf-devrun render -n eidf001ns --image python:3 -o json -- true >../fallback.json) &&
	GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=protocol.version GIT_CONFIG_VALUE_0=0 \
		node pod.mjs fallback.json "$TRASH/pod2" "$TRASH/bb" >log 2>&1 &&
	cat log && grep "refused a fetch by commit id" log &&
	tree_listing pod2/code >actual2 && test_cmp expect actual2
'

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
test_expect_success 'an unreachable repository: git'"'"'s cause first, no fetch-by-id fallback, no --git-secret hint' '
	port=$(free_port) &&
	(cd w && kubectl-eidf-devrun render -n eidf001ns --image img --repo "git://127.0.0.1:$port/repo.git" \
		--no-local-changes -o json -- true >../refused.json) &&
	test_must_fail node pod.mjs refused.json "$TRASH/pod5" "$TRASH/bb" >log5 2>&1 &&
	cat log5 &&
	test_grep "^devrun: error: cannot fetch from git://127.0.0.1:$port/repo.git:" log5 &&
	test_grep "errno=Connection refused" log5 &&
	test_grep "cannot reach git://127.0.0.1:$port/repo.git" log5 &&
	test_grep -v "refused a fetch by commit id" log5 && test_grep -v "git-secret" log5
'

# git refusing a login prints one of its fixed messages; a stand-in git
# prints the one for a missing username (with a token in the URL)
mkdir -p bbauth && cp -P bb/* bbauth/ && rm bbauth/git &&
cat >bbauth/git <<'EOF'
#!/bin/sh
case " $* " in
*" fetch "*|*" ls-remote "*)
	echo "fatal: could not read Username for 'https://tok123@example.org': terminal prompts disabled" >&2
	exit 128 ;;
esac
exec git "$@"
EOF
chmod +x bbauth/git && sed -i "s|^exec git |exec $(command -v git) |" bbauth/git
test_expect_success 'a server that wants credentials: git'"'"'s message, the --git-secret hint, no token shown' '
	test_must_fail node pod.mjs refused.json "$TRASH/pod7" "$TRASH/bbauth" >log7 2>&1 &&
	cat log7 &&
	test_grep "^  fatal: could not read Username for '"'"'https://example.org'"'"'" log7 &&
	test_grep "a private repository needs --git-secret" log7 &&
	test_grep -v tok123 log7 && test_grep -v "refused a fetch by commit id" log7
'

test_expect_success 'a repository the server does not serve: its answer first' '
	(cd w && kubectl-eidf-devrun render -n eidf001ns --image img --repo "${URL%/repo.git}/nosuch.git" \
		--no-local-changes -o json -- true >../nosuch.json) &&
	test_must_fail node pod.mjs nosuch.json "$TRASH/pod6" "$TRASH/bb" >log6 2>&1 &&
	cat log6 &&
	test_grep "^devrun: error: cannot fetch from .*/nosuch.git:" log6 &&
	test_grep "not exported" log6 && test_grep -v "refused a fetch by commit id" log6
'

test_expect_success 'a tampered change set is detected by the tree check' '
	node -e "
		const fs = require(\"fs\"); const l = JSON.parse(fs.readFileSync(\"dirty.json\"));
		const s = l.items.find(o => o.kind === \"Secret\"); s.data.deleted = \"\";
		fs.writeFileSync(\"tampered.json\", JSON.stringify(l));
	" &&
	test_must_fail node pod.mjs tampered.json "$TRASH/pod3" "$TRASH/bb" 2>err &&
	grep "does not match the local working tree" err
'

# A second repository on the same git daemon, used as a submodule with a
# relative URL (../sub.git, resolved against the pod's URL).
sub_env() { jq -r '.items[0].spec.template.spec.initContainers[0].env[] | select(.name == "EIDF_SUBMODULES") | .value' "$1"; }
test_expect_success 'submodules: setup (relative URL, pushed)' '
	git init -q --bare -b main srv/sub.git &&
	git clone -q "${URL%/repo.git}/sub.git" subw 2>/dev/null && (cd subw && git checkout -q -b main &&
		printf "lib v1\n" >lib.txt && printf "gone\n" >old.txt && printf "#!/bin/sh\n" >tool.sh &&
		chmod +x tool.sh && git add -A && git commit -q -m v1 && git push -q -u origin main &&
		printf "lib v2\n" >lib.txt && git commit -q -am v2 && git push -q) &&
	git clone -q "$URL" sm 2>/dev/null && cd sm &&
	git submodule add -q ../sub.git vendor/sub 2>/dev/null &&
	git -C vendor/sub checkout -q HEAD~1 && git add vendor/sub &&
	printf "top\n" >top.txt && git add -A && git commit -q -m "with a submodule" && git push -q origin HEAD:sm &&
	git branch -q -u origin/sm
'

test_expect_success 'submodules: checked out in the pod at the recorded commit' '
	(cd sm && kubectl-eidf-devrun render -n eidf001ns --image img -o json -- true >../sm0.json) &&
	sub_env sm0.json >env0 && cat env0 &&
	grep "^$(git -C sm/vendor/sub rev-parse HEAD) $(git -C sm/vendor/sub rev-parse HEAD^{tree}) ${URL%/repo.git}/sub.git vendor/sub$" env0 &&
	node pod.mjs sm0.json "$TRASH/psm0" "$TRASH/bb" &&
	test "$(git -C psm0/code/vendor/sub rev-parse HEAD)" = "$(git -C sm/vendor/sub rev-parse HEAD)" &&
	tree_listing sm >expect && tree_listing psm0/code >actual && test_cmp expect actual &&
	grep "lib v1" psm0/code/vendor/sub/lib.txt
'

test_expect_success 'submodules: edits inside one are shipped and its tree verified' '
	(cd sm/vendor/sub && printf "edited in the submodule\n" >lib.txt && printf "new\n" >new.txt && rm old.txt) &&
	(cd sm && kubectl-eidf-devrun render -n eidf001ns --image img -o json -- true >../sm1.json) &&
	sub_env sm1.json >env1 && cat env1 && ! grep " - " env1 &&
	jq -e ".items[1].data[\"deleted.1\"]" sm1.json &&
	node pod.mjs sm1.json "$TRASH/psm1" "$TRASH/bb" >log 2>&1 && cat log &&
	grep "fetching submodule vendor/sub" log &&
	tree_listing sm >expect && tree_listing psm1/code >actual && test_cmp expect actual &&
	! test -e psm1/code/vendor/sub/old.txt
'

test_expect_success 'submodules: a tampered submodule change fails its tree check' '
	jq "(.items[1].data[\"deleted.1\"]) = \"\"" sm1.json >sm1t.json &&
	test_must_fail node pod.mjs sm1t.json "$TRASH/psm1t" "$TRASH/bb" 2>err &&
	grep "code in .*/vendor/sub does not match the local working tree" err
'

test_expect_success 'submodules: a moved (pushed) submodule HEAD is what the pod checks out' '
	(cd sm/vendor/sub && git checkout -q . && git clean -qfd && git checkout -q origin/main) &&
	(cd sm && kubectl-eidf-devrun render -n eidf001ns --image img -o json -- true >../sm2.json) &&
	jq -r ".items[0].metadata.annotations[\"eidf.ac.uk/changes\"]" sm2.json | grep "1 submodule commit changed" &&
	node pod.mjs sm2.json "$TRASH/psm2" "$TRASH/bb" &&
	grep "lib v2" psm2/code/vendor/sub/lib.txt &&
	tree_listing sm >expect && tree_listing psm2/code >actual && test_cmp expect actual &&
	# --no-local-changes: the commit the superproject records
	(cd sm && kubectl-eidf-devrun render -n eidf001ns --image img --no-local-changes -o json -- true >../sm2n.json) &&
	test "$(sub_env sm2n.json | cut -d" " -f1,2)" = "$(git -C sm rev-parse HEAD:vendor/sub) -"
'

test_expect_success 'submodules: an unpushed submodule commit is refused like an unpushed HEAD' '
	(cd sm/vendor/sub && printf "local only\n" >lib.txt && git commit -q -am local) &&
	(cd sm && test_must_fail kubectl-eidf-devrun render -n eidf001ns --image img -- true 2>../err) &&
	cat err && grep "submodule vendor/sub: HEAD ([0-9a-f]*) is not on any remote-tracking branch" err &&
	grep "git -C vendor/sub push" err
'

test_expect_success 'submodules: --no-submodules leaves them out (an unpushed submodule HEAD too)' '
	(cd sm && printf "top changed\n" >top.txt &&
	 kubectl-eidf-devrun render -n eidf001ns --image img --no-submodules -o json -- true >../sm3.json) &&
	test -z "$(sub_env sm3.json)" &&
	node pod.mjs sm3.json "$TRASH/psm3" "$TRASH/bb" && test -d psm3/code/vendor/sub &&
	test -z "$(ls -A psm3/code/vendor/sub)" && grep "top changed" psm3/code/top.txt &&
	(cd sm/vendor/sub && git reset -q --hard origin/main) && git -C sm checkout -q top.txt
'

test_expect_success 'hostile COMMAND arguments reach the manifest verbatim' '
	cd w &&
	kubectl-eidf-devrun render -n eidf001ns --image python:3 -o json -- \
		python -c "print(\"\$(rm -rf /)\" + '"'"'\`x\`'"'"')" "a b" "$(printf "two\nlines")" "--flag" "\\" ";" >../hostile.json &&
	node -e "
		const l = JSON.parse(require(\"fs\").readFileSync(\"../hostile.json\"));
		const c = l.items[0].spec.template.spec.containers[0];
		const want = [\"-c\", \"print(\\\"\$(rm -rf /)\\\" + '"'"'\`x\`'"'"')\", \"a b\", \"two\\nlines\", \"--flag\", \"\\\\\", \";\"];
		if (JSON.stringify(c.command) !== JSON.stringify([\"python\"])) throw new Error(\"command \" + JSON.stringify(c.command));
		if (JSON.stringify(c.args) !== JSON.stringify(want)) throw new Error(\"args \" + JSON.stringify(c.args));
	" &&
	node "$EIDF_SRC/tests/validate-manifest.mjs" ../hostile.json
'

test_expect_success '--shell, --gpu-product, --pvc, --shm-size, --env, --max-time in the manifest' '
	cd w &&
	kubectl-eidf-devrun render -n eidf001ns --image img --shell --gpu 2 --gpu-product NVIDIA-H100-80GB-HBM3 \
		--pvc data --pvc out:/mnt/out:ro --shm-size 8Gi -e A=1 --max-time 2h --no-local-changes \
		-o json -- "python a.py && echo done" >../opts.json &&
	node "$EIDF_SRC/tests/validate-manifest.mjs" ../opts.json &&
	node -e "
		const l = JSON.parse(require(\"fs\").readFileSync(\"../opts.json\"));
		if (l.items.length !== 1) throw new Error(\"--no-local-changes ships no Secret\");
		const j = l.items[0], s = j.spec.template.spec, c = s.containers[0];
		const eq = (a, b, m) => { if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(m + \": \" + JSON.stringify(a)); };
		eq(c.command, [\"/bin/sh\", \"-c\"], \"command\"); eq(c.args, [\"python a.py && echo done\"], \"args\");
		eq(s.nodeSelector, {\"nvidia.com/gpu.product\": \"NVIDIA-H100-80GB-HBM3\"}, \"nodeSelector\");
		eq(c.resources.limits[\"nvidia.com/gpu\"], \"2\", \"gpu\");
		eq(j.metadata.labels[\"kueue.x-k8s.io/max-exec-time-seconds\"], \"7200\", \"max-time\");
		const m = Object.fromEntries(c.volumeMounts.map(v => [v.mountPath, v]));
		if (!m[\"/mnt/ceph\"] || !m[\"/mnt/out\"] || !m[\"/mnt/out\"].readOnly || !m[\"/dev/shm\"]) throw new Error(\"mounts\");
	"
'

test_expect_success 'unknown GPU product: did you mean' '
	cd w &&
	test_expect_code 2 kubectl-eidf-devrun render -n eidf001ns --image img --gpu-product NVIDIA-H100 -- true 2>err &&
	grep "did you mean NVIDIA-H100-80GB-HBM3" err
'

test_expect_success '.eidf.yaml applies; an unknown key in it is named with the closest one; a malformed one is refused' '
	cd w &&
	printf "devrun:\n  memory: 3Gi\n  imag: x\n" >.eidf.yaml &&
	kubectl-eidf-devrun render -n eidf001ns --image img --no-local-changes -o json -- true >../repo.json 2>../err &&
	test "$(jq -r ".items[0].spec.template.spec.containers[0].resources.requests.memory" ../repo.json)" = 3Gi &&
	test_grep "\.eidf\.yaml: unknown setting \"devrun.imag\" is ignored; did you mean \"devrun.image\"?" ../err &&
	printf "devrun:\n  memory: 3Gi\n  pvc: [\n" >.eidf.yaml &&
	test_expect_code 1 kubectl-eidf-devrun render -n eidf001ns --image img --no-local-changes -- true 2>../err &&
	rm .eidf.yaml &&
	test_grep "\.eidf\.yaml: invalid YAML at line 4.*none of its settings apply (devrun.memory, devrun.pvc)" ../err
'

test_expect_success 'devrun without a command is a usage error; run is the default command' '
	cd w &&
	test_expect_code 2 kubectl-eidf-devrun 2>../err &&
	grep "^error: no command: give it after \"--\"" ../err &&
	test_expect_code 2 kubectl-eidf-devrun --gpu 1 2>../err &&
	grep "^error: no command" ../err &&
	for how in render "run --dry-run=client" "--dry-run=client"; do
		kubectl-eidf-devrun $how -n eidf001ns --image img -o json -- echo hi >../how.json &&
		jq -c ".items[] | select(.kind == \"Job\") | .spec.template.spec.containers[0] |
			[.image, .command, .args]" ../how.json >>../how.out || return 1
	done &&
	test "$(sort -u ../how.out)" = "[\"img\",[\"echo\"],[\"hi\"]]" &&
	test "$(wc -l <../how.out)" = 3 &&
	# --help of the stage is the default command'"'"'s: its exit codes, its flags
	kubectl-eidf-devrun --help >../help &&
	test_grep "126 (evicted, preempted or deleted)" ../help &&
	grep -q -e "--gpu-product" ../help &&
	test_grep "^  list " ../help
'

test_expect_success 'unpushed HEAD is refused; --base ships the difference' '
	cd w && git stash -q -u && printf "local\n" >a.txt && git commit -q -am local &&
	test_must_fail kubectl-eidf-devrun render -n eidf001ns --image img -- true 2>err &&
	grep "not on any remote-tracking branch" err && grep -e "--base" err &&
	kubectl-eidf-devrun render -n eidf001ns --image img --base origin/main -o json -- true >../base.json &&
	cd .. && node pod.mjs base.json "$TRASH/pod4" "$TRASH/bb" &&
	test "$(git -C pod4/code rev-parse HEAD)" = "$(git -C w rev-parse origin/main)" &&
	cmp w/a.txt pod4/code/a.txt
'

test_expect_success 'changes over the Secret budget: --changes-transport secret refuses them with the largest files' '
	cd w && head -c 2000000 /dev/urandom >huge.bin && head -c 1000 /dev/urandom >small.bin &&
	test_must_fail kubectl-eidf-devrun render -n eidf001ns --image img --base origin/main \
		--changes-transport secret -- true 2>err &&
	grep "too large" err && grep "changes-transport exec" err && grep "huge.bin" err
'

test_expect_success 'the largest-files list prints a name with a newline escaped, on one line' '
	cd w && mv huge.bin "huge
x.bin" &&
	test_must_fail kubectl-eidf-devrun render -n eidf001ns --image img --base origin/main \
		--changes-transport secret -- true 2>err &&
	grep "  \"huge\\\\nx.bin\"$" err &&
	mv "huge
x.bin" huge.bin
'

test_expect_success 'changes over the Secret budget: auto sends them with kubectl exec' '
	cd w && test -f huge.bin &&
	kubectl-eidf-devrun render -n eidf001ns --image img --base origin/main -o json -- true >../big.json &&
	node "$EIDF_SRC/tests/validate-manifest.mjs" ../big.json &&
	jq -e "[.items[] | select(.kind == \"Secret\")] | length == 0" ../big.json &&
	jq -e ".items[0].spec.template.spec.volumes[] | select(.name == \"changes\") | .emptyDir" ../big.json &&
	jq -e ".items[0].spec.template.spec.initContainers[0].env | map(.name) | index(\"EIDF_CHANGES_WAIT\")" ../big.json &&
	jq -r ".items[0].metadata.annotations[\"eidf.ac.uk/changes\"]" ../big.json | grep "sent with kubectl exec" &&
	rm huge.bin small.bin
'

test_done
