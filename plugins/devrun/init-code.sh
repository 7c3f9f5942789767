# devrun init container: put the exact code of a devrun into $EIDF_CODE_DIR.
# POSIX sh for a busybox/alpine image with git.  Every input comes from the
# environment or from mounted files; nothing is spliced into this text.
# It runs after git-credentials.sh (git_credentials), in one `sh -c`.
#
#   EIDF_REPO_URL       clone URL (required)
#   EIDF_COMMIT         40-hex commit to check out (required)
#   EIDF_REF            branch holding the commit, for servers that refuse
#                       fetching a commit by id (optional)
#   EIDF_CHANGES_DIR    directory with changes.tar.gz (files of the
#                       superproject and, under their paths, of submodules),
#                       deleted and deleted.N (NUL-separated paths to delete in
#                       the superproject / in submodule N) (optional)
#   EIDF_CHANGES_WAIT   seconds to wait for the changes to be uploaded into
#                       EIDF_CHANGES_DIR by `kubectl exec` (exec transport:
#                       they are complete once .complete exists) (optional)
#   EIDF_TREE           tree id the result must have (optional)
#   EIDF_SUBMODULES     one line per submodule: "COMMIT TREE URL PATH" (TREE
#                       "-": check only the commit); checked out after the
#                       superproject with the same credentials (optional)
#   EIDF_GIT_SECRET_DIR token/username or ssh-privatekey/known_hosts (optional)
#   EIDF_CODE_DIR       where the code goes (default /code)
#
# Files get the modes git records (0644, 0755 when executable) and
# directories 0755 (umask 022; tar keeps the archive's modes): readable by a
# main container running as any uid, writable by none but this one's.
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

redact() { printf '%s' "$1" | sed 's#://[^/@]*@#://#g'; }
shown_url=$(redact "$url")

export GIT_TERMINAL_PROMPT=0
# git in the repository $gdir (the superproject or a submodule)
gdir=$code
g() { git -C "$gdir" -c safe.directory='*' -c advice.detachedHead=false -c init.defaultBranch=devrun \
	-c advice.addEmbeddedRepo=false "$@"; }

# cannot_reach URL ERRFILE: git could not talk to the server at all (its exit
# status says so).  Why (connection refused, unknown host, TLS, credentials)
# git tells only in words: they are shown first, as git printed them, without
# credentials.  The hint is chosen by git's fixed messages for a refused login
# ("Authentication failed for", "could not read Username/Password for",
# ssh's "Permission denied (publickey").
cannot_reach() {
	printf 'devrun: error: cannot fetch from %s:\n' "$1" >&2
	sed -e 's#://[^/@]*@#://#g' -e '/^$/d' -e 's/^/  /' "$2" >&2
	if grep -q -e '^fatal: Authentication failed for ' -e '^fatal: could not read Username for ' \
		-e '^fatal: could not read Password for ' -e 'Permission denied (publickey' "$2"; then
		if [ -n "$secret" ]; then
			die "the server refused the credentials of --git-secret"
		fi
		die "the server wants credentials: a private repository needs --git-secret"
	fi
	die "the pod cannot reach $1 (see git's message above)"
}

# fetch_commit DIR URL COMMIT [BRANCH]: check COMMIT of URL out in DIR.
fetch_commit() {
	gdir=$1
	f_url=$2 f_sha=$3 f_ref=${4:-}
	f_shown=$(redact "$f_url")
	mkdir -p "$gdir"
	g init -q
	g remote add origin "$f_url"
	if ! g fetch -q --no-tags --depth 1 origin "$f_sha" 2>"$tmp/fetch.err"; then
		# A server that cannot be reached fails ls-remote as well; one that
		# only refuses a commit id (uploadpack.allowReachableSHA1InWant off)
		# still lists its refs.  Decided by exit status, not by git's words.
		g ls-remote origin HEAD >/dev/null 2>"$tmp/probe.err" || cannot_reach "$f_shown" "$tmp/probe.err"
		say "the server refused a fetch by commit id; fetching ${f_ref:-all branches} instead"
		if [ -n "$f_ref" ]; then
			g fetch -q --no-tags origin "+refs/heads/$f_ref:refs/remotes/origin/$f_ref" 2>"$tmp/fetch.err" || :
		fi
		if ! g cat-file -e "$f_sha^{commit}" 2>/dev/null; then
			g fetch -q --no-tags origin '+refs/heads/*:refs/remotes/origin/*' 2>"$tmp/fetch.err" ||
				cannot_reach "$f_shown" "$tmp/fetch.err"
		fi
		g cat-file -e "$f_sha^{commit}" 2>/dev/null ||
			die "commit $f_sha is not on $f_shown: push it"
	fi
	g checkout -q --detach "$f_sha"
	f_head=$(g rev-parse HEAD)
	[ "$f_head" = "$f_sha" ] || die "checked out $f_head instead of $f_sha in $gdir"
}

# verify_tree DIR TREE: `git add -A` of DIR in a temporary index gives TREE.
verify_tree() {
	gdir=$1
	idx="$tmp/devrun-verify-index"
	rm -f "$idx"
	GIT_INDEX_FILE=$idx g read-tree HEAD
	GIT_INDEX_FILE=$idx g -c core.autocrlf=false -c core.safecrlf=false add -A
	v_tree=$(GIT_INDEX_FILE=$idx g write-tree)
	if [ "$v_tree" != "$2" ]; then
		GIT_INDEX_FILE=$idx g diff --cached --name-status HEAD >&2 || true
		die "the code in $1 does not match the local working tree (tree $v_tree, expected $2)"
	fi
	rm -f "$idx"
}

git_credentials "$secret" "$tmp"

say "fetching $sha from $shown_url"
fetch_commit "$code" "$url" "$sha" "$ref"

# Submodules at the commits the local working tree has, same credentials.
if [ -n "${EIDF_SUBMODULES:-}" ]; then
	printf '%s\n' "$EIDF_SUBMODULES" | sed '/^$/d' >"$tmp/submodules"
	while read -r s_sha s_tree s_url s_path; do
		[ -n "$s_path" ] || die "EIDF_SUBMODULES: a line without a path"
		case $s_path in /*|../*|*/../*|..) die "submodule path '$s_path' leaves the repository" ;; esac
		say "fetching submodule $s_path: $s_sha from $(redact "$s_url")"
		fetch_commit "$code/$s_path" "$s_url" "$s_sha" </dev/null
	done <"$tmp/submodules"
fi
gdir=$code

if [ -n "$changes" ] && [ -n "${EIDF_CHANGES_WAIT:-}" ]; then
	say "waiting up to ${EIDF_CHANGES_WAIT}s for the local changes (kubectl exec from devrun)"
	n=0
	while [ ! -f "$changes/.complete" ]; do
		[ "$n" -lt "$EIDF_CHANGES_WAIT" ] ||
			die "the local changes were not uploaded within ${EIDF_CHANGES_WAIT}s (the exec transport needs devrun to run until the pod starts)"
		sleep 1
		n=$((n + 1))
	done
fi

# delete_paths DIR LIST: git rm the NUL-separated paths of LIST in DIR
delete_paths() {
	[ -s "$2" ] || return 0
	gdir=$1
	d_n=$(tr -cd '\000' <"$2" | wc -c)
	say "deleting $((d_n)) path(s)${3:+ in $3}"
	GIT_LITERAL_PATHSPECS=1 g rm -q -r -f --ignore-unmatch \
		--pathspec-from-file="$2" --pathspec-file-nul ||
		die "cannot delete the paths deleted locally${3:+ in $3}"
	gdir=$code
}

if [ -n "$changes" ]; then
	delete_paths "$code" "$changes/deleted"
	if [ -s "$tmp/submodules" ] 2>/dev/null; then
		i=0
		while read -r s_sha s_tree s_url s_path; do
			i=$((i + 1))
			delete_paths "$code/$s_path" "$changes/deleted.$i" "$s_path" </dev/null
		done <"$tmp/submodules"
	fi
	if [ -s "$changes/changes.tar.gz" ]; then
		say "applying local changes"
		tar -xzf "$changes/changes.tar.gz" -C "$code" ||
			die "cannot extract the local changes"
	fi
fi

# Submodules first: the superproject's `git add -A` reads their HEADs.
if [ -s "$tmp/submodules" ] 2>/dev/null; then
	while read -r s_sha s_tree s_url s_path; do
		gdir=$code/$s_path
		s_head=$(g rev-parse HEAD)
		[ "$s_head" = "$s_sha" ] || die "submodule $s_path is at $s_head instead of $s_sha"
		[ "$s_tree" = - ] || verify_tree "$code/$s_path" "$s_tree" </dev/null
	done <"$tmp/submodules"
fi
if [ -n "${EIDF_TREE:-}" ]; then
	verify_tree "$code" "$EIDF_TREE"
fi

rm -rf "$tmp"
say "code ready at $code: commit $sha${changes:+ with local changes}${EIDF_SUBMODULES:+ and submodules}"
