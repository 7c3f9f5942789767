# devrun session: the code agent, the command of the session pod's "sync"
# container (the git image, next to the main container, sharing /code).  It
# waits for requests on the FIFO $EIDF_SESSION_DIR/ctl: each line is a run id
# whose directory runs/<id> holds the request (req) and the payload the
# client shipped.  For each it makes /code the exact tree of the laptop:
#
#   1. a new pushed commit is fetched and checked out;
#   2. /code goes back to the tree the previous run verified (BASE), so that
#      files a run wrote there (outputs, ignored files too) never leak into
#      the next one -- done right after that run ended ("clean RUN", below),
#      so that this step costs nothing when the next run comes;
#   3. the payload is applied: deleted paths, paths restored from the commit,
#      files.tar.gz (changed files with their modes);
#   4. `git add -A` must give TREE, the tree id computed on the laptop.
#
# It answers with a line "RUN STATUS" in the FIFO reply: 0 ready, 4 tree
# mismatch, 5 BASE unknown here (the client then ships everything again),
# 1 any other failure; its messages go to runs/<id>/log.  A line "clean RUN"
# (the run's wrapper, once the command ended) puts /code back to the tree
# verified last; a line "exit" ends the agent (the holder's idle timeout).
# Every input comes from files and arguments; nothing is spliced into this
# text.
umask 022
S=${EIDF_SESSION_DIR:-/eidf/session}
code=${EIDF_CODE_DIR:-/code}
# the main container may run as another user: it creates run directories
chmod 1777 "$S"
mkdir -p "$S/runs" && chmod 1777 "$S/runs"
rm -f "$S/ctl" "$S/reply" "$S/clean" "$S/ctl.new" "$S/reply.new"
mkfifo -m 0622 "$S/ctl.new" && mkfifo -m 0644 "$S/reply.new" ||
	{ echo "devrun session: cannot create $S/ctl and $S/reply" >&2; exit 1; }
chmod 0622 "$S/ctl.new"
chmod 0644 "$S/reply.new"
# read-write: the FIFOs never report end-of-file between writers or readers,
# and an answer waits in "reply" for its run's wrapper
exec 3<>"$S/ctl.new" 4<>"$S/reply.new"
# their names only now that the agent holds them open (a run waits for
# "reply"): a request written into a FIFO that no one else holds open is
# gone once its writer closes it
mv -f "$S/ctl.new" "$S/ctl" && mv -f "$S/reply.new" "$S/reply" ||
	{ echo "devrun session: cannot create $S/ctl and $S/reply" >&2; exit 1; }
export GIT_TERMINAL_PROMPT=0
# --git-secret: fetches of new commits use the Secret (git-credentials.sh,
# which this text follows); the key or askpass script in a private directory
gtmp=$(mktemp -d "${TMPDIR:-/tmp}/devrun-session.XXXXXX") || { echo "devrun session: cannot create a temporary directory" >&2; exit 1; }
git_credentials "${EIDF_GIT_SECRET_DIR:-}" "$gtmp"
g() { git -C "$code" -c safe.directory='*' -c advice.detachedHead=false -c core.autocrlf=false \
	-c core.safecrlf=false "$@"; }
say() { printf 'devrun: %s\n' "$*"; }

is_hex() { case $1 in ''|*[!0-9a-f]*) return 1 ;; esac; [ "${#1}" -eq 40 ] || [ "${#1}" -eq 64 ]; }

# prepare DIR: the steps above; exit status as documented.  No `set -e`:
# it is ignored in a function called from an and-or list.
die() { say "error: $2"; exit "$1"; }
# /code's tree id after `git add -A`
tree_now() { g add -A || die 1 "git add -A failed in $code"; t=$(g write-tree) || die 1 "git write-tree failed in $code"; }
# apply DIR: the payload's deletions, restorations and files
apply() {
	if [ -s "$1/deleted" ]; then
		GIT_LITERAL_PATHSPECS=1 g rm -q -r -f --ignore-unmatch \
			--pathspec-from-file="$1/deleted" --pathspec-file-nul ||
			die 1 "cannot delete the paths deleted locally"
	fi
	if [ -s "$1/restore" ]; then
		GIT_LITERAL_PATHSPECS=1 g checkout -q "$commit" \
			--pathspec-from-file="$1/restore" --pathspec-file-nul ||
			die 1 "cannot restore the files reverted locally"
	fi
	if [ -s "$files" ]; then
		tar -xzf "$files" -C "$code" || die 1 "cannot extract the local changes$(damaged "$1")"
	fi
}
# damaged DIR: why the payload may be wrong (checked only once something failed)
damaged() {
	[ "$size" -gt 0 ] || return 0
	n=$(wc -c <"$1/payload"); n=$((n))
	if [ "$n" -ne "$size" ]; then
		printf ' (received %s of %s bytes)' "$n" "$size"
		return 0
	fi
	s=$(sha256sum "$1/payload"); s=${s%% *}
	[ "$s" = "$sha" ] || printf ' (the local changes arrived damaged: sha256 %s, expected %s)' "$s" "$sha"
}
# submodule DIR COMMIT URL PATH DELETED: the submodule at PATH checked out
# at COMMIT (fetched from URL when new here), put back to it (files a run or
# the previous changes left removed), then the paths of DELETED (this run's
# local deletions in it) removed; its files come with files.tar.gz
submodule() {
	sd=$1
	sg() { git -C "$sd" -c safe.directory='*' -c advice.detachedHead=false -c core.autocrlf=false \
		-c core.safecrlf=false "$@"; }
	if [ ! -e "$sd/.git" ]; then
		mkdir -p "$sd" && sg init -q && sg remote add origin "$3" || die 1 "cannot create submodule $4"
	fi
	if ! sg cat-file -e "$2^{commit}" 2>/dev/null; then
		say "fetching submodule $4: $2"
		sg remote set-url origin "$3" || die 1 "cannot set the URL of submodule $4"
		if ! sg fetch -q --no-tags --depth 1 origin "$2" 2>"$d/fetch.err"; then
			sg fetch -q --no-tags origin '+refs/heads/*:refs/remotes/origin/*' 2>>"$d/fetch.err"
		fi
		if ! sg cat-file -e "$2^{commit}" 2>/dev/null; then
			sed -e 's#://[^/@]*@#://#g' -e 's/^/  /' "$d/fetch.err"
			die 1 "cannot fetch commit $2 of submodule $4: push it"
		fi
	fi
	sg read-tree --reset -u "$2" && sg update-ref --no-deref HEAD "$2" && sg clean -q -ffdx ||
		die 1 "cannot check out commit $2 in submodule $4"
	if [ -s "$5" ]; then
		GIT_LITERAL_PATHSPECS=1 sg rm -q -r -f --ignore-unmatch --pathspec-from-file="$5" --pathspec-file-nul ||
			die 1 "cannot delete the paths deleted locally in submodule $4"
	fi
}
# submodules DIR VERIFY: every submodule of the payload (VERIFY 1: check each
# one's tree after the changes instead)
submodules() {
	[ -s "$1/submodules" ] || return 0
	si=0
	while read -r s_sha s_tree s_url s_path; do
		si=$((si + 1))
		case $s_path in ''|/*|../*|*/../*|..) die 1 "submodule path '$s_path' leaves the repository" ;; esac
		is_hex "$s_sha" || die 1 "submodule $s_path: not a commit id: '$s_sha'"
		if [ "$2" = 1 ]; then
			[ "$s_tree" = - ] && continue
			sg() { git -C "$code/$s_path" -c safe.directory='*' -c core.autocrlf=false -c core.safecrlf=false "$@"; }
			sg add -A || die 1 "git add -A failed in submodule $s_path"
			st=$(sg write-tree) || die 1 "git write-tree failed in submodule $s_path"
			if [ "$st" != "$s_tree" ]; then
				sg diff-tree -r --name-status "$s_tree" "$st" | sed 's/^/  /'
				die 4 "submodule $s_path in $code does not match the local working tree (tree $st, expected $s_tree)"
			fi
		else
			submodule "$code/$s_path" "$s_sha" "$s_url" "$s_path" "$1/deleted.$si"
		fi
	done <"$1/submodules"
}
prepare() (
	d=$1
	{ read -r commit; read -r base; read -r tree; read -r full; read -r ref; read -r size; read -r sha
	  read -r kind; } <"$d/req"
	is_hex "$commit" || die 1 "not a commit id: '$commit'"
	case $size in ''|*[!0-9]*) die 1 "bad payload size '$size'" ;; esac
	# the payload: files.tar.gz alone (kind tgz), or a tar of files.tar.gz,
	# deleted, restore, submodules, deleted.N, unpacked into the run's directory
	files=$d/files.tar.gz
	if [ "$size" -gt 0 ] && [ "$kind" = tgz ]; then
		files=$d/payload
	elif [ "$size" -gt 0 ]; then
		tar -xf "$d/payload" -C "$d" || die 1 "cannot unpack the local changes$(damaged "$d")"
	fi
	# /code as the previous run left it once the agent put it back (see
	# "clean" below): then nothing needs checking before the changes apply
	clean=
	read -r clean 2>/dev/null <"$S/clean"
	: >"$S/clean"
	# detached HEAD: .git/HEAD holds the commit id (one git process less)
	read -r head 2>/dev/null <"$code/.git/HEAD" || head=
	fast=0
	if [ "$head" != "$commit" ]; then
		if ! g cat-file -e "$commit^{commit}" 2>/dev/null; then
			say "fetching the new commit $commit"
			if ! g fetch -q --no-tags --depth 1 origin "$commit" 2>"$d/fetch.err"; then
				if [ -n "$ref" ]; then
					g fetch -q --no-tags origin "+refs/heads/$ref:refs/remotes/origin/$ref" 2>>"$d/fetch.err"
				fi
				if ! g cat-file -e "$commit^{commit}" 2>/dev/null; then
					sed -e 's#://[^/@]*@#://#g' -e 's/^/  /' "$d/fetch.err"
					die 1 "cannot fetch commit $commit into the session: push it, or start the session again"
				fi
			fi
		fi
		[ "$full" = 1 ] || exit 5
		g add -A || die 1 "git add -A failed in $code"
		g read-tree --reset -u "$commit" || die 1 "cannot check out $commit"
		g update-ref --no-deref HEAD "$commit" || die 1 "cannot move HEAD to $commit"
	elif [ "$full" = 1 ]; then
		g add -A || die 1 "git add -A failed in $code"
		g read-tree --reset -u "$commit" || die 1 "cannot check out $commit"
	elif [ -n "$clean" ] && [ "$clean" = "$base" ]; then
		fast=1
	else
		is_hex "$base" || exit 5
		g cat-file -e "$base^{tree}" 2>/dev/null || exit 5
		g read-tree --reset -u "$base" || die 1 "cannot restore the tree $base"
	fi
	# untracked and ignored files: written by a run, not part of the tree
	[ "$fast" = 1 ] || g clean -q -ffdx || die 1 "git clean failed in $code"
	submodules "$d" 0 </dev/null
	apply "$d"
	submodules "$d" 1 </dev/null
	if [ "$fast" = 0 ] && [ "$full" != 1 ] && [ "$size" -eq 0 ] && [ "$base" = "$tree" ]; then
		t=$base # just put back to the tree verified before, nothing applied
	else
		tree_now
	fi
	if is_hex "$tree" && [ "$t" != "$tree" ] && [ "$fast" = 1 ]; then
		# /code changed since it was put back (an exec by hand): from the
		# previous tree again, the slow way
		g read-tree --reset -u "$base" || die 1 "cannot restore the tree $base"
		g clean -q -ffdx || die 1 "git clean failed in $code"
		apply "$d"
		tree_now
	fi
	if is_hex "$tree" && [ "$t" != "$tree" ]; then
		g diff-tree -r --name-status "$tree" "$t" | sed 's/^/  /'
		die 4 "the code in $code does not match the local working tree (tree $t, expected $tree)$(damaged "$d")"
	fi
	printf '%s\n' "$t" >"$S/tree"
	exit 0
)

# clean: after a run, /code back to the tree it verified (files the command
# changed restored, files it wrote removed), so that the next run's prepare
# starts from a known tree without checking it
clean() (
	read -r t 2>/dev/null <"$S/tree" || exit 1
	is_hex "$t" || exit 1
	g read-tree --reset -u "$t" && g clean -q -ffdx || exit 1
	printf '%s\n' "$t" >"$S/clean"
)

echo "devrun session: code agent ready"
while read -r req arg <&3; do
	case $req in
	exit) exit 0 ;;
	clean)
		clean >/dev/null 2>&1
		continue ;;
	''|*[!a-z0-9]*) continue ;;
	esac
	d=$S/runs/$req
	[ -d "$d" ] || continue
	rc=0
	prepare "$d" >"$d/log" 2>&1 || rc=$?
	printf '%s %s\n' "$req" "$rc" >&4
done
