#!/usr/bin/env bash
# kubectl eidf build-context: the archive, --list/--summary, -o, --git,
# init, and the dry runs of secret create and submit (no cluster needed).
. "$(dirname "$0")/lib.sh"

BC=kubectl-eidf-build_context

mk_tree() {
	mkdir -p "$1/src/test" "$1/docs" "$1/node_modules/x" &&
	printf 'FROM scratch\nCOPY src /src\n' >"$1/Dockerfile" &&
	printf '# ignore tests and deps\n**/test\nnode_modules\n*.md\n!README.md\n' >"$1/.dockerignore" &&
	echo 'print(1)' >"$1/src/main.py" &&
	echo 't' >"$1/src/test/t.py" &&
	echo r >"$1/README.md" && echo n >"$1/docs/notes.md" && echo d >"$1/docs/a.txt" &&
	echo y >"$1/node_modules/x/y" &&
	printf '#!/bin/sh\n' >"$1/src/run.sh" && chmod 755 "$1/src/run.sh"
}

test_expect_success 'prints the digest, size and file count' '
	mk_tree ctx &&
	$BC ctx >out &&
	test_grep "^digest: sha256:[0-9a-f]\{64\}$" out &&
	test_grep "^size: [0-9]* bytes uncompressed" out &&
	test_grep "^files: 7 (2 directories, 0 symlinks)$" out &&
	test_grep "^ignore file: .dockerignore (4 patterns)$" out
'

test_expect_success '--list prints exactly what is archived, in order' '
	$BC ctx --list >list 2>err &&
	# "*.md" does not cross "/": docs/notes.md stays (Docker does the same)
	printf "%s\n" .dockerignore Dockerfile README.md docs/ docs/a.txt docs/notes.md src/ src/main.py src/run.sh >want &&
	test_cmp want list &&
	test_grep "^digest: " err
'

test_expect_success 'the kubectl plugin path reaches it' '
	kubectl eidf build-context ctx >via-kubectl &&
	test_cmp out via-kubectl
'

test_expect_success '-O - streams a gzip tar whose uncompressed sha256 is the digest' '
	$BC ctx -O - >ctx.tgz 2>err &&
	gzip -t ctx.tgz &&
	test "$(od -An -tx1 -j4 -N6 ctx.tgz | tr -d " ")" = "000000000003" &&
	tar tzf ctx.tgz | sort >tarlist && sort list >want && test_cmp want tarlist &&
	d=$(sed -n "s/^digest: sha256://p" err) &&
	test "$(gzip -dc ctx.tgz | sha256sum | cut -d" " -f1)" = "$d" &&
	tar tvzf ctx.tgz >long &&
	test_grep "^-rwxr-xr-x 0/0 .* 1970-01-01 00:00 src/run.sh$" long &&
	test_grep "^-rw-r--r-- 0/0 .* src/main.py$" long
'

test_expect_success 'the same tree elsewhere, touched and re-created, has the same digest' '
	mk_tree other && touch -d "2001-02-03" other/src/main.py other/Dockerfile &&
	chmod 600 other/README.md && chmod 700 other/src/run.sh &&
	$BC other >out2 &&
	test "$(grep digest out)" = "$(grep digest out2)" &&
	echo "print(2)" >other/src/main.py &&
	$BC other >out3 &&
	test "$(grep digest out)" != "$(grep digest out3)"
'

test_expect_success 'SOURCE_DATE_EPOCH sets the mtimes; an invalid one is an error' '
	SOURCE_DATE_EPOCH=1700000000 $BC ctx -O e.tar --compression none >out4 &&
	tar tvf e.tar | grep -q "2023-11-14" &&
	test "$(sha256sum e.tar | cut -d" " -f1)" = "$(sed -n "s/^digest: sha256://p" out4)" &&
	test_expect_code 1 env SOURCE_DATE_EPOCH=yesterday $BC ctx 2>err &&
	test_grep "SOURCE_DATE_EPOCH" err
'

test_expect_success '-O inside the context is never archived, and levels do not change the digest' '
	$BC ctx -O ctx/out.tgz --level 1 >o1 &&
	$BC ctx -O ctx/out.tgz --level 9 >o9 &&
	test "$(grep digest o1)" = "$(grep digest out)" &&
	test "$(grep digest o9)" = "$(grep digest out)" &&
	! tar tzf ctx/out.tgz | grep -q out.tgz &&
	rm ctx/out.tgz
'

test_expect_success '--summary names the big directories and files' '
	mkdir -p big/data big/node_modules && echo FROM x >big/Dockerfile &&
	head -c 3000000 /dev/zero >big/data/blob.bin && echo x >big/node_modules/m &&
	$BC big --summary >sum &&
	test_grep "largest directories" sum &&
	test_grep "data$" sum &&
	test_grep "data/blob.bin" sum &&
	test_grep "node_modules/" sum
'

test_expect_success '--list and --summary print control characters escaped, as git quotes paths' '
	mkdir -p cc && echo FROM x >cc/Dockerfile &&
	printf x >"cc/new
line.txt" && head -c 5000 /dev/zero >"cc/esc$(printf "\033")[31m.bin" &&
	$BC cc --list >list 2>/dev/null &&
	test_grep "^\"new\\\\nline.txt\"$" list &&
	test_grep "^\"esc\\\\033\[31m.bin\"$" list &&
	test "$(wc -l <list)" = 3 &&
	$BC cc --summary >sum &&
	test_grep "  \"esc\\\\033\[31m.bin\"$" sum &&
	! grep -q "$(printf "\033")" sum list
'

test_expect_success 'symlinks stay symlinks; special files are skipped with a warning' '
	mkdir -p sl && echo FROM x >sl/Dockerfile && ln -s ../../../etc/passwd sl/escape &&
	mkfifo sl/pipe &&
	$BC sl -O sl.tar --compression none 2>err >/dev/null &&
	test_grep "warning: skipping named pipe" err &&
	tar tvf sl.tar >sll &&
	test_grep "^lrwxrwxrwx 0/0 .* escape -> ../../../etc/passwd$" sll &&
	! grep -q pipe sll
'

test_expect_success 'a malformed .dockerignore pattern is an error naming it' '
	mkdir -p bad && echo FROM x >bad/Dockerfile && printf "ok\nsrc/[a-\n" >bad/.dockerignore &&
	test_expect_code 1 $BC bad 2>err &&
	test_grep "src/\[a-" err
'

test_expect_success 'a missing Dockerfile is a warning; -f outside the context is an error' '
	mkdir -p nodf && echo x >nodf/a &&
	$BC nodf >/dev/null 2>err && test_grep "no Dockerfile" err &&
	test_expect_code 1 $BC nodf -f ctx/Dockerfile 2>err &&
	test_grep "outside the build context" err &&
	test_expect_code 2 $BC nodf --compression zstd 2>err
'

test_expect_success '--git REV equals the directory build of a clean checkout of REV' '
	git init -q repo && mk_tree repo/code/docker &&
	ln -s main.py repo/code/docker/src/link.py &&
	(cd repo && git add -A && git -c user.name=t -c user.email=t@e commit -qm one) &&
	echo untracked >repo/code/docker/src/new.py &&
	echo changed >>repo/code/docker/src/main.py &&
	$BC repo/code/docker --git HEAD --list >g 2>gerr &&
	! grep -q new.py g && test_grep "src/link.py" g &&
	git clone -q repo clone &&
	ct=$(git -C repo log -1 --format=%ct) &&
	SOURCE_DATE_EPOCH=$ct $BC clone/code/docker >c &&
	test "$(grep digest gerr)" = "$(grep digest c)" &&
	$BC repo/code/docker --git HEAD -O g.tgz >/dev/null 2>&1 &&
	tar tvzf g.tgz | grep -q "$(date -u -d @$ct +%Y-%m-%d)"
'

test_expect_success '--git with a bad revision says so' '
	test_expect_code 1 $BC repo/code/docker --git nope 2>err &&
	test_grep "unknown revision nope" err
'

test_expect_success 'a context with likely secrets gets a warning naming them; ignored ones are not named' '
	mkdir -p sec/certs && echo "FROM x" >sec/Dockerfile &&
	touch sec/.env sec/.env.example sec/certs/server.pem sec/id_rsa sec/id_rsa.pub sec/.netrc \
		sec/credentials.json sec/main.py &&
	$BC sec >/dev/null 2>err &&
	test_grep "warning: the context holds files that look like secrets: .env, .netrc, certs/server.pem, credentials.json, id_rsa;" err &&
	! grep -q "example\|id_rsa.pub\|main.py" err &&
	printf ".env\n**/*.pem\nid_rsa\n.netrc\ncredentials*\n" >sec/.dockerignore &&
	$BC sec >/dev/null 2>err &&
	test_cmp /dev/null err
'

test_expect_success 'submit checks --image like init, before anything is read or sent' '
	for bad in "bad image!" "Reg/Na me" "me/app:-1" "me//app" "me/APP:1"; do
		test_expect_code 2 $BC submit ctx --image "$bad" -s https://127.0.0.1:1 2>err &&
		test_grep "^error: --image: .* is not a valid image reference" err || exit 1
	done &&
	test_expect_code 2 $BC submit ctx --image me/app:1 --builder-image "x y" -s https://127.0.0.1:1 2>err &&
	test_grep "^error: --builder-image: \"x y\" is not a valid image reference: it contains a space" err &&
	test_expect_code 2 $BC init newimg --github-action --image "bad image!" 2>err &&
	test_grep "^error: --image: \"bad image!\" is not a valid image reference" err
'

# ---- init ------------------------------------------------------------------

test_expect_success 'init writes a Dockerfile from the seed base image and pip lines' '
	$BC init img --pip pandas,plotly --pip "torch>=2" >out &&
	test_grep "wrote img/Dockerfile" out &&
	test_grep "^FROM nvcr.io/nvidia/rapidsai/base:23.12-cuda12.0-py3.10$" img/Dockerfile &&
	# one layer without a pip cache: a single RUN for every package
	test "$(grep -c "^RUN " img/Dockerfile)" = 1 &&
	test_grep "^RUN pip install --no-cache-dir \\\\$" img/Dockerfile &&
	test_grep "^    .pandas. \\\\$" img/Dockerfile &&
	test_grep "^    .plotly. \\\\$" img/Dockerfile &&
	test_grep "^    .torch>=2.$" img/Dockerfile &&
	test -f img/.dockerignore &&
	$BC img >/dev/null
'

test_expect_success 'init never overwrites without --force' '
	cp img/Dockerfile before &&
	test_expect_code 1 $BC init img --base python:3.12 2>err &&
	test_grep "already exists; use --force" err &&
	test_cmp before img/Dockerfile &&
	$BC init img --base python:3.12 --force >/dev/null &&
	test_grep "^FROM python:3.12$" img/Dockerfile &&
	test_expect_code 2 $BC init img --pip "x y" --force 2>err
'

test_expect_success 'init --github-action writes the seed workflow for the sub-path' '
	git init -q gh && mkdir -p gh/code/docker &&
	$BC init gh/code/docker --github-action --image me/template-docker-image >out &&
	wf=gh/.github/workflows/docker-build.yml &&
	test -f $wf &&
	python3 - "$wf" <<-\EOF
	import sys, yaml
	d = yaml.safe_load(open(sys.argv[1]))
	on = d.get("on", d.get(True))
	assert on["push"]["paths"] == ["code/docker/**"], on
	assert "workflow_dispatch" in on, on
	steps = d["jobs"]["docker"]["steps"]
	uses = [s["uses"] for s in steps]
	assert uses == ["docker/setup-qemu-action@v3", "docker/setup-buildx-action@v3",
	                "docker/login-action@v3", "docker/build-push-action@v5"], uses
	assert steps[2]["with"]["username"] == "${{ secrets.DOCKERHUB_USERNAME }}"
	assert steps[2]["with"]["password"] == "${{ secrets.DOCKERHUB_TOKEN }}"
	w = steps[3]["with"]
	assert w["context"] == "{{defaultContext}}:code/docker", w
	assert w["platforms"] == "linux/amd64" and w["push"] is True
	assert w["tags"].splitlines() == ["me/template-docker-image:latest",
	                             "me/template-docker-image:${{ github.sha }}"], w
	EOF
	test_expect_code 1 $BC init gh/code/docker --github-action --image me/x 2>err &&
	test_grep "docker-build.yml already exists" err
'

test_expect_success 'init --registry registry.eidf.ac.uk logs in there' '
	git init -q gh2 &&
	$BC init gh2 --github-action --image proj/img:1 --registry registry.eidf.ac.uk >/dev/null &&
	python3 - gh2/.github/workflows/docker-build.yml <<-\EOF
	import sys, yaml
	d = yaml.safe_load(open(sys.argv[1]))
	on = d.get("on", d.get(True))
	assert on["push"]["paths"] == ["**"]
	steps = d["jobs"]["docker"]["steps"]
	assert steps[2]["with"]["registry"] == "registry.eidf.ac.uk"
	assert steps[3]["with"]["context"] == "{{defaultContext}}"
	assert steps[3]["with"]["tags"].splitlines() == ["registry.eidf.ac.uk/proj/img:1",
	                                            "registry.eidf.ac.uk/proj/img:${{ github.sha }}"]
	EOF
'

test_expect_success 'init --github-action needs --image; arm64 hosts get the platform advice' '
	test_expect_code 2 $BC init x --github-action 2>err &&
	test_grep "needs --image" err &&
	EIDF_TEST_MACHINE=aarch64 $BC init arm >out &&
	test_grep "platform linux/amd64" out &&
	$BC init amd >out && ! grep -q "not amd64" out
'

# ---- dry runs (no cluster) ------------------------------------------------------

cat >kubeconfig <<EOF
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:9"}
users:
- name: u
  user: {token: "t"}
contexts:
- name: x
  context: {cluster: c, user: u, namespace: eidf042ns}
current-context: x
EOF
export KUBECONFIG=$PWD/kubeconfig

test_expect_success 'secret create --dry-run renders a dockerconfigjson Secret without the password' '
	echo s3cr3t-token | $BC secret create regcred --username me --password-stdin --dry-run -o json >sec.json &&
	! grep -q s3cr3t sec.json &&
	test_grep "kubernetes.io/dockerconfigjson" sec.json &&
	test_grep "\"namespace\": *\"eidf042ns\"" sec.json &&
	test_expect_code 2 $BC secret create regcred --username me 2>err &&
	test_grep "password-stdin" err
'

test_expect_success 'submit --dry-run emits chunk Secrets and a policy-compliant Job' '
	$BC submit ctx --image registry.example/me/app:1 --registry-secret regcred --dry-run -o json >sub.json &&
	python3 - sub.json "$(sed -n "s/^digest: sha256://p" out)" <<-\EOF
	import sys, json, base64, gzip, hashlib
	d = json.load(open(sys.argv[1]))
	items = d["items"]
	secrets = [i for i in items if i["kind"] == "Secret"]
	job = items[-1]
	assert job["kind"] == "Job"
	blob = b"".join(base64.b64decode(s["data"]["chunk"]) for s in secrets)
	digest = hashlib.sha256(gzip.decompress(blob)).hexdigest()
	assert digest == sys.argv[2], (digest, sys.argv[2])
	spec = job["spec"]["template"]["spec"]
	assert spec["initContainers"][0]["name"] == "receive-context"
	args = spec["containers"][0]["args"]
	assert "--context=tar:///workspace/context.tar.gz" in args
	assert "--destination=registry.example/me/app:1" in args
	assert "--custom-platform=linux/amd64" in args
	assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "eidf042ns-user-queue"
	vols = {v["name"]: v for v in spec["volumes"]}
	assert vols["docker-config"]["secret"]["items"][0]["path"] == "config.json"
	EOF
	if command -v node >/dev/null && test -d "$EIDF_SRC/tests/node_modules/kubernetes-models"; then
		node "$EIDF_SRC/tests/validate-manifest.mjs" sub.json
	fi
'

test_done
