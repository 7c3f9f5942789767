#!/bin/sh
# devrun init container: put the exact code of a devrun into $EIDF_CODE_DIR.
# POSIX sh for a busybox/alpine image with git.  Every input comes from the
# environment or from mounted files; nothing is spliced into this text.
#
#   EIDF_REPO_URL       clone URL (required)
#   EIDF_COMMIT         40-hex commit to check out (required)
#   EIDF_REF            branch holding the commit, for servers that refuse
#                       fetching a commit by id (optional)
#   EIDF_CHANGES_DIR    directory with changes.tar.gz and deleted (NUL-separated
#                       paths) to apply on top of the commit (optional)
#   EIDF_TREE           tree id the result must have (optional)
#   EIDF_GIT_SECRET_DIR token/username or ssh-privatekey/known_hosts (optional)
#   EIDF_CODE_DIR       where the code goes (default /code)
#   EIDF_SHARE_CODE     1 (default): make the tree writable for any uid
set -eu
umask 022

say() { printf 'devrun: %s\n' "$*"; }
die() { printf 'devrun: error: %s\n' "$*" >&2; exit 1; }

code=${EIDF_CODE_DIR:-/code}
url=${EIDF_REPO_URL:-}
sha=${EIDF_COMMIT:-}
ref=${EIDF_REF:-}
changes=${EIDF_CHANGES_DIR:-}
secret=${EIDF_GIT_SECRET_DIR:-}
# A private directory: pods sharing a node's /tmp (or a test kubelet's)
# must not meet each other's index or credentials.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/devrun.XXXXXX") || die "cannot create a temporary directory"
trap 'rm -rf "$tmp"' EXIT

[ -n "$url" ] || die "EIDF_REPO_URL is not set"
case $sha in
''|*[!0-9a-f]*) die "EIDF_COMMIT is not a commit id: '$sha'" ;;
esac
[ "${#sha}" -eq 40 ] || [ "${#sha}" -eq 64 ] || die "EIDF_COMMIT is not a full commit id: '$sha'"

shown_url=$(printf '%s' "$url" | sed 's#://[^/@]*@#://#')

export GIT_TERMINAL_PROMPT=0
g() { git -C "$code" -c safe.directory='*' -c advice.detachedHead=false -c init.defaultBranch=devrun "$@"; }

if [ -n "$secret" ]; then
	key=
	for f in ssh-privatekey identity id_ed25519 id_rsa; do
		if [ -f "$secret/$f" ]; then key=$secret/$f; break; fi
	done
	if [ -n "$key" ]; then
		cp "$key" "$tmp/devrun-ssh-key"
		chmod 600 "$tmp/devrun-ssh-key"
		if [ -f "$secret/known_hosts" ]; then
			cp "$secret/known_hosts" "$tmp/devrun-known-hosts"
			check=yes
		else
			: >"$tmp/devrun-known-hosts"
			check=accept-new
		fi
		export GIT_SSH_COMMAND="ssh -i $tmp/devrun-ssh-key -o IdentitiesOnly=yes -o UserKnownHostsFile=$tmp/devrun-known-hosts -o StrictHostKeyChecking=$check"
	fi
	if [ -f "$secret/token" ] || [ -f "$secret/password" ]; then
		cat >"$tmp/devrun-askpass" <<'EOF'
#!/bin/sh
d=$EIDF_GIT_SECRET_DIR
case $1 in
Username*|username*)
	if [ -f "$d/username" ]; then cat "$d/username"; else echo x-access-token; fi ;;
*)
	if [ -f "$d/token" ]; then cat "$d/token"; else cat "$d/password"; fi ;;
esac
EOF
		chmod 700 "$tmp/devrun-askpass"
		export GIT_ASKPASS="$tmp/devrun-askpass"
	fi
fi

mkdir -p "$code"
say "fetching $sha from $shown_url"
g init -q
g remote add origin "$url"
if g fetch -q --no-tags --depth 1 origin "$sha"; then
	:
else
	say "the server refused a fetch by commit id; fetching ${ref:-all branches} instead"
	if [ -n "$ref" ]; then
		g fetch -q --no-tags origin "+refs/heads/$ref:refs/remotes/origin/$ref" || true
	fi
	if ! g cat-file -e "$sha^{commit}" 2>/dev/null; then
		g fetch -q --no-tags origin '+refs/heads/*:refs/remotes/origin/*' ||
			die "cannot fetch from $shown_url (a private repository needs --git-secret)"
	fi
	g cat-file -e "$sha^{commit}" 2>/dev/null ||
		die "commit $sha is not on $shown_url: push it"
fi
g checkout -q --detach "$sha"
head=$(g rev-parse HEAD)
[ "$head" = "$sha" ] || die "checked out $head instead of $sha"

if [ -n "$changes" ]; then
	if [ -s "$changes/deleted" ]; then
		n=$(tr -cd '\000' <"$changes/deleted" | wc -c)
		say "deleting $((n)) path(s)"
		GIT_LITERAL_PATHSPECS=1 g rm -q -r -f --ignore-unmatch \
			--pathspec-from-file="$changes/deleted" --pathspec-file-nul ||
			die "cannot delete the paths deleted locally"
	fi
	if [ -s "$changes/changes.tar.gz" ]; then
		say "applying local changes"
		tar -xzf "$changes/changes.tar.gz" -C "$code" ||
			die "cannot extract the local changes"
	fi
fi

if [ -n "${EIDF_TREE:-}" ]; then
	idx="$tmp/devrun-verify-index"
	rm -f "$idx"
	GIT_INDEX_FILE=$idx g read-tree HEAD
	GIT_INDEX_FILE=$idx g -c core.autocrlf=false -c core.safecrlf=false add -A
	tree=$(GIT_INDEX_FILE=$idx g write-tree)
	if [ "$tree" != "$EIDF_TREE" ]; then
		GIT_INDEX_FILE=$idx g diff --cached --name-status HEAD >&2 || true
		die "the code does not match the local working tree (tree $tree, expected $EIDF_TREE)"
	fi
	rm -f "$idx"
fi

if [ "${EIDF_SHARE_CODE:-1}" = 1 ]; then
	chmod -R a+rwX "$code"
fi
rm -rf "$tmp"
say "code ready at $code: commit $sha${changes:+ with local changes}"
