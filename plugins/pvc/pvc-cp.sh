# The claim's side of `kubectl eidf pvc cp` (busybox sh, run with
# `kubectl exec -i` in the helper Job).  $1 = where the claim is mounted.
# It reads commands from stdin and answers on stdout, one command at a time,
# in order; paths come on their own line, relative to the claim's root ("."
# is the root), and never reach any shell text.  Uploads are written to
# NAME.eidf-part at a verified offset, with one line per verified chunk in
# NAME.eidf-part.sha256 ("c START LEN SHA256"), and renamed into place only
# once those lines cover the whole file.  Answers:
#   df                      -> D AVAIL_KIB
#   info\nPATH              -> I TYPE SIZE MODE, P SIZE|P -, C START LEN SHA..., .
#   list\nPATH              -> e HEXMODE SIZE ABSPATH..., L ABSPATH + T TARGET, W (name with a newline), .
#   sum N\nPATH...          -> H SHA256|H - per path, .
#   range START LEN\nPATH   -> H SHA256 of those bytes
#   mkdir\nPATH             -> O | E MESSAGE
#   chmod MODE\nPATH        -> O | E MESSAGE
#   link\nPATH\nTARGET      -> O | E MESSAGE
#   put MODE SIZE OFF [TSTART TSHA]\nPATH, then chunks "c LEN SHA256\n"+LEN bytes, then "e"
#                           -> R | E, per chunk W END (written) then K END (verified) or
#                              X START (mismatch: the part is cut back to START and the
#                              rest is discarded), at "e": F | E MESSAGE
#   get OFF\nPATH           -> G SIZE, chunks "d LEN\n"+LEN bytes+"h SHA256\n", "." | E MESSAGE
set -u
root=$1
chunk=${2:-1048576}
nl='
'
cd / || exit 1
hf=${TMPDIR:-/tmp}/eidf-pvc-cp.$$
trap 'rm -f "$hf"' EXIT
say() { printf '%s\n' "$*"; }
fail() { say "E $*"; }
abs() { if [ "$1" = . ]; then p=$root; else p=$root/$1; fi; }
# a path the client sends is already clean; refuse anything else anyway
bad() {
	case "/$1/" in */../*|*//*|*/./*) [ "$1" = . ] && return 1; return 0 ;; esac
	case "$1" in /*|'') return 0 ;; esac
	return 1
}
# no directory on the way to $1 may be a symlink: writes never leave the claim
no_links() {
	r=$1 d=$root
	while :; do
		case "$r" in */*) c=${r%%/*} r=${r#*/} ;; *) return 0 ;; esac
		d=$d/$c
		[ -L "$d" ] && return 1
	done
}
type_of() {
	if [ -L "$1" ]; then echo l; elif [ -d "$1" ]; then echo d; elif [ -f "$1" ]; then echo f
	elif [ -e "$1" ]; then echo o; else echo -; fi
}
# sha256 of LEN bytes at START of FILE
range_sum() {
	h=$(dd if="$3" bs=1048576 skip="$1" count="$2" iflag=skip_bytes,count_bytes status=none | sha256sum)
	echo "${h%% *}"
}

# The background hash of the last chunk written: recorded and acknowledged
# (K), or the part is cut back to that chunk's start (X) and what follows is
# dropped; a chunk cut short means stdin ended (the stream is gone): exit and
# leave the tail for the next session to check.
check_pending() {
	[ -n "$pend" ] || return 0
	wait "$hpid"
	set -- $pend
	pend=
	h=
	read -r h _ <"$hf" 2>/dev/null
	if [ "$h" = "$3" ]; then
		say "c $1 $2 $3" >>"$sums"
		say "K $(($1 + $2))"
	elif [ "$(stat -c %s "$part")" -lt $(($1 + $2)) ]; then
		exit 0
	else
		truncate -s "$1" "$part"
		say "X $1"
		failed=2 off=$1
	fi
}

do_put() { # MODE SIZE OFF [TSTART TSHA]; path on the next line
	mode=$1 size=$2 off=$3 tstart=${4:-} tsha=${5:-}
	IFS= read -r rel || exit 0
	ok=1 why=
	if bad "$rel" || [ "$rel" = . ]; then ok=0 why="path \"$rel\" leaves the claim"
	elif ! no_links "$rel"; then ok=0 why="a directory on the way to \"$rel\" is a symlink; not followed"
	else
		abs "$rel"; final=$p part=$p.eidf-part sums=$p.eidf-part.sha256
		if [ -d "$final" ] && [ ! -L "$final" ]; then ok=0 why="\"$rel\" is a directory on the claim"
		elif ! mkdir -p "${final%/*}" 2>/dev/null; then ok=0 why="cannot create the directory of \"$rel\""
		elif [ "$off" = 0 ]; then
			{ : >"$part" && : >"$sums"; } 2>/dev/null || { ok=0 why="cannot write \"$rel.eidf-part\""; }
		else
			if truncate -s "$off" "$part" 2>/dev/null && [ -f "$sums" ]; then
				awk -v o="$off" '$1 == "c" && $2 + $3 <= o' "$sums" >"$sums.new" && mv -f "$sums.new" "$sums"
				[ -n "$tstart" ] && say "c $tstart $((off - tstart)) $tsha" >>"$sums"
			else
				ok=0 why="cannot resume \"$rel.eidf-part\""
			fi
		fi
	fi
	if [ $ok = 1 ]; then say R; else fail "$why"; fi
	failed=$((1 - ok)) pend=
	while IFS=' ' read -r t len sha; do
		case "$t" in
		c)
			if [ $failed != 0 ]; then
				dd bs="$len" count=1 iflag=fullblock of=/dev/null status=none
				continue
			fi
			dd bs="$len" count=1 iflag=fullblock of="$part" seek="$off" oflag=seek_bytes conv=notrunc status=none
			say "W $((off + len))"
			# the previous chunk was hashed while this one came in
			check_pending
			[ $failed = 0 ] || continue
			dd if="$part" bs=1048576 skip="$off" count="$len" iflag=skip_bytes,count_bytes status=none |
				sha256sum >"$hf" &
			hpid=$! pend="$off $len $sha"
			off=$((off + len))
			;;
		e)
			if [ $failed = 1 ]; then return; fi
			check_pending
			if [ $failed = 2 ]; then fail "a chunk of \"$rel\" failed verification"; return; fi
			# the verified chunks must cover the file, in order, with nothing left over
			cover=$(awk 'BEGIN { n = 0; ok = 1 } $1 == "c" { if ($2 != n) ok = 0; n += $3 }
				END { print ok ? n : -1 }' "$sums")
			if [ "$cover" != "$size" ] || [ "$(stat -c %s "$part")" != "$size" ]; then
				fail "\"$rel\" is incomplete on the claim ($cover of $size bytes verified)"
			elif [ ! -L "$final" ] && [ -e "$final" ] && [ ! -f "$final" ]; then
				fail "\"$rel\" exists on the claim and is not a regular file"
			elif chmod "$mode" "$part" && mv -f "$part" "$final"; then
				rm -f "$sums"
				say F
			else
				fail "cannot rename \"$rel.eidf-part\" into place"
			fi
			return
			;;
		*) exit 2 ;;
		esac
	done
	exit 0
}

do_get() { # OFF; path on the next line
	off=$1
	IFS= read -r rel || exit 0
	if bad "$rel"; then fail "path \"$rel\" leaves the claim"; return; fi
	abs "$rel"
	if [ -L "$p" ] || [ ! -f "$p" ]; then fail "\"$rel\" is not a regular file on the claim"; return; fi
	size=$(stat -c %s "$p")
	say "G $size"
	while [ "$off" -lt "$size" ]; do
		len=$((size - off))
		[ "$len" -gt "$chunk" ] && len=$chunk
		# hashed while it is sent; the sha256 follows the bytes
		dd if="$p" bs=1048576 skip="$off" count="$len" iflag=skip_bytes,count_bytes status=none |
			sha256sum >"$hf" &
		hpid=$!
		say "d $len"
		dd if="$p" bs="$len" skip="$off" count=1 iflag=skip_bytes,fullblock status=none
		wait "$hpid"
		h=
		read -r h _ <"$hf"
		say "h $h"
		off=$((off + len))
	done
	say .
}

while IFS=' ' read -r cmd a1 a2 a3 a4 a5; do
	case "$cmd" in
	df) df -Pk "$root" | awk 'NR == 2 { print "D", $4 }' ;;
	info)
		IFS= read -r rel || exit 0
		if bad "$rel"; then fail "path \"$rel\" leaves the claim"; continue; fi
		abs "$rel"
		t=$(type_of "$p")
		if [ "$t" = - ]; then say "I - 0 0"; else say "I $t $(stat -c '%s %a' "$p")"; fi
		if [ -f "$p.eidf-part" ] && [ ! -L "$p.eidf-part" ]; then
			say "P $(stat -c %s "$p.eidf-part")"
			[ -f "$p.eidf-part.sha256" ] && grep '^c ' "$p.eidf-part.sha256"
		else
			say "P -"
		fi
		say .
		;;
	list)
		IFS= read -r rel || exit 0
		if bad "$rel"; then fail "path \"$rel\" leaves the claim"; continue; fi
		abs "$rel"
		if [ -e "$p" ] || [ -L "$p" ]; then
			find "$p" -name "*$nl*" -prune -exec echo W \; -o -exec stat -c 'e %f %s %n' {} +
			find "$p" -name "*$nl*" -prune -o -type l -exec sh -c '
				for f; do t=$(readlink "$f"); case "$t" in *"
"*|"") echo W; continue ;; esac; printf "L %s\nT %s\n" "$f" "$t"; done' sh {} +
		fi
		say .
		;;
	sum)
		i=0
		while [ "$i" -lt "$a1" ]; do
			IFS= read -r rel || exit 0
			i=$((i + 1))
			abs "$rel"
			if bad "$rel" || [ -L "$p" ] || [ ! -f "$p" ]; then say "H -"; continue; fi
			h=$(sha256sum <"$p") && say "H ${h%% *}" || say "H -"
		done
		say .
		;;
	range)
		IFS= read -r rel || exit 0
		abs "$rel"
		if bad "$rel" || [ -L "$p" ] || [ ! -f "$p" ]; then say "H -"; continue; fi
		say "H $(range_sum "$a1" "$a2" "$p")"
		;;
	mkdir)
		IFS= read -r rel || exit 0
		abs "$rel"
		if bad "$rel" || ! no_links "$rel"; then fail "path \"$rel\" leaves the claim"
		elif [ -L "$p" ] || { [ -e "$p" ] && [ ! -d "$p" ]; }; then fail "\"$rel\" exists on the claim and is not a directory"
		elif mkdir -p "$p" 2>/dev/null; then say O
		else fail "cannot create directory \"$rel\" on the claim"; fi
		;;
	chmod)
		IFS= read -r rel || exit 0
		abs "$rel"
		if bad "$rel" || ! no_links "$rel" || [ -L "$p" ]; then fail "path \"$rel\" leaves the claim"
		elif chmod "$a1" "$p" 2>/dev/null; then say O
		else fail "cannot change the mode of \"$rel\" on the claim"; fi
		;;
	link)
		IFS= read -r rel || exit 0
		IFS= read -r target || exit 0
		abs "$rel"
		if bad "$rel" || [ "$rel" = . ] || ! no_links "$rel"; then fail "path \"$rel\" leaves the claim"
		elif [ -d "$p" ] && [ ! -L "$p" ]; then fail "\"$rel\" is a directory on the claim"
		elif mkdir -p "${p%/*}" 2>/dev/null && rm -f "$p" && ln -s "$target" "$p"; then say O
		else fail "cannot create symlink \"$rel\" on the claim"; fi
		;;
	put) do_put "$a1" "$a2" "$a3" "$a4" "$a5" ;;
	get) do_get "$a1" ;;
	'') ;;
	*) fail "unknown command $cmd"; exit 2 ;;
	esac
done
