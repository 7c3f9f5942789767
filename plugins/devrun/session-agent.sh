#!/bin/sh
# devrun session: the code agent, the command of the session pod's "sync"
# container (the git image, next to the main container, sharing /code).  It
# waits for requests on the FIFO $EIDF_SESSION_DIR/ctl: each line is a run id
# whose directory runs/<id> holds the request (req) and the payload the
# client shipped.  For each it makes /code the exact tree of the laptop:
#
#   1. a new pushed commit is fetched and checked out;
#   2. /code goes back to the tree the previous run verified (BASE), so that
#      files a run wrote there (outputs, ignored files too) never leak into
#      the next one;
#   3. the payload is applied: deleted paths, paths restored from the commit,
#      files.tar.gz (changed files with their modes);
#   4. `git add -A` must give TREE, the tree id computed on the laptop.
#
# It answers with an exit status written into the run's FIFO "done":
# 0 ready, 4 tree mismatch, 5 BASE unknown here (the client then ships
# everything again), 1 any other failure; its messages go to runs/<id>/log.
# A line "exit" ends the agent (the holder's idle timeout).  Every input
# comes from files and arguments; nothing is spliced into this text.
umask 022
S=${EIDF_SESSION_DIR:-/eidf/session}
code=${EIDF_CODE_DIR:-/code}
# the main container may run as another user: it creates run directories
chmod 1777 "$S"
mkdir -p "$S/runs" && chmod 1777 "$S/runs"
rm -f "$S/ctl"
mkfifo -m 0622 "$S/ctl" || { echo "devrun session: cannot create $S/ctl" >&2; exit 1; }
chmod 0622 "$S/ctl"
# read-write: the FIFO never reports end-of-file between writers
exec 3<>"$S/ctl"
export GIT_TERMINAL_PROMPT=0
g() { git -C "$code" -c safe.directory='*' -c advice.detachedHead=false -c core.autocrlf=false \
	-c core.safecrlf=false "$@"; }
say() { printf 'devrun: %s\n' "$*"; }

is_hex() { case $1 in ''|*[!0-9a-f]*) return 1 ;; esac; [ "${#1}" -eq 40 ] || [ "${#1}" -eq 64 ]; }

# prepare DIR: the steps above; exit status as documented.  No `set -e`:
# it is ignored in a function called from an and-or list.
die() { say "error: $2"; exit "$1"; }
prepare() (
	d=$1
	{ read -r commit; read -r base; read -r tree; read -r full; read -r ref; read -r size; read -r sha; } <"$d/req"
	is_hex "$commit" || die 1 "not a commit id: '$commit'"
	case $size in ''|*[!0-9]*) die 1 "bad payload size '$size'" ;; esac
	mkdir -p "$d/p" || die 1 "cannot create $d/p"
	if [ "$size" -gt 0 ]; then
		n=$(wc -c <"$d/payload"); n=$((n))
		[ "$n" -eq "$size" ] || die 1 "received $n of $size bytes of local changes"
		s=$(sha256sum "$d/payload"); s=${s%% *}
		[ "$s" = "$sha" ] || die 1 "the local changes arrived damaged (sha256 $s, expected $sha)"
		tar -xf "$d/payload" -C "$d/p" || die 1 "cannot unpack the local changes"
	fi
	# detached HEAD: .git/HEAD holds the commit id (one git process less)
	read -r head 2>/dev/null <"$code/.git/HEAD" || head=
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
	else
		is_hex "$base" || exit 5
		g add -A || die 1 "git add -A failed in $code"
		cur=$(g write-tree) || die 1 "git write-tree failed in $code"
		if [ "$cur" != "$base" ]; then
			g cat-file -e "$base^{tree}" 2>/dev/null || exit 5
			say "restoring $code to the tree of the previous run (a run changed files there)"
			g read-tree --reset -u "$base" || die 1 "cannot restore the tree $base"
		fi
	fi
	# untracked and ignored files: written by a run, not part of the tree
	g clean -q -ffdx || die 1 "git clean failed in $code"
	if [ -s "$d/p/deleted" ]; then
		GIT_LITERAL_PATHSPECS=1 g rm -q -r -f --ignore-unmatch \
			--pathspec-from-file="$d/p/deleted" --pathspec-file-nul ||
			die 1 "cannot delete the paths deleted locally"
	fi
	if [ -s "$d/p/restore" ]; then
		GIT_LITERAL_PATHSPECS=1 g checkout -q "$commit" \
			--pathspec-from-file="$d/p/restore" --pathspec-file-nul ||
			die 1 "cannot restore the files reverted locally"
	fi
	if [ -s "$d/p/files.tar.gz" ]; then
		tar -xzf "$d/p/files.tar.gz" -C "$code" || die 1 "cannot extract the local changes"
	fi
	if [ "$full" != 1 ] && [ "$size" -eq 0 ] && [ "$base" = "$tree" ]; then
		t=$base # nothing applied: the tree checked above is the one expected
	else
		g add -A || die 1 "git add -A failed in $code"
		t=$(g write-tree) || die 1 "git write-tree failed in $code"
	fi
	if is_hex "$tree" && [ "$t" != "$tree" ]; then
		g diff-tree -r --name-status "$tree" "$t" | sed 's/^/  /'
		die 4 "the code in $code does not match the local working tree (tree $t, expected $tree)"
	fi
	printf '%s\n' "$t" >"$S/tree"
	exit 0
)

echo "devrun session: code agent ready"
while read -r req <&3; do
	case $req in
	exit) exit 0 ;;
	''|*[!a-z0-9]*) continue ;;
	esac
	d=$S/runs/$req
	[ -d "$d" ] || continue
	rc=0
	prepare "$d" >"$d/log" 2>&1 || rc=$?
	# read-write open: never blocks, even when the run's wrapper is gone
	[ -p "$d/done" ] && printf '%s\n' "$rc" 1<>"$d/done"
done
