# The claim's side of `kubectl eidf pvc cp` (busybox sh, run with
# `kubectl exec -i` in the helper Job).  $1 = where the claim is mounted.
# It reads commands from stdin and answers on stdout, one command at a time,
# in order; paths come on their own line, relative to the claim's root ("."
# is the root), and never reach any shell text.  Uploads are written to
# NAME.eidf-part at a verified offset, with one line per verified chunk in
# NAME.eidf-part.sha256 ("c START LEN MD5"), and renamed into place only
# once those lines cover the whole file and the whole file's sha256 equals
# the sender's.  Every byte is hashed once per algorithm as it passes (tee):
# MD5 per chunk (cheap; it finds a corrupted chunk and the verified prefix
# after a drop) and SHA-256 of the whole file (the end-to-end proof).
# Answers:
#   df                      -> D AVAIL_KIB
#   info\nPATH              -> I TYPE SIZE MODE, P SIZE|P -, C START LEN MD5..., .
#   list\nPATH              -> e HEXMODE SIZE ABSPATH..., L ABSPATH + T TARGET, W (name with a newline), .
#   sum N\nPATH...          -> H SHA256|H - per path, .
#   range START LEN\nPATH   -> H MD5 of those bytes
#   chunks LEN\nPATH        -> m START LEN MD5 for each LEN bytes of the file, . | E MESSAGE
#   mkdir\nPATH             -> O | E MESSAGE
#   chmod MODE\nPATH        -> O | E MESSAGE
#   link\nPATH\nTARGET      -> O | E MESSAGE
#   put MODE SIZE OFF [TSTART TMD5]\nPATH, then chunks "c LEN MD5\n"+LEN bytes, then "e SHA256"
#                           -> R | E, per chunk K END (written and verified) or X START
#                              (mismatch: the part is cut back to START and the rest is
#                              discarded), at "e": F | M SHA256 (the whole file differs;
#                              the part is removed) | E MESSAGE
#   quit                    -> (the script ends: the v4 exec protocol cannot close stdin)
#   get OFF [LEN]\nPATH     -> G SIZE, the bytes from OFF (to the end, or LEN of them), then
#                              h SHA256 of the whole file (or, with LEN, m MD5 of those bytes) | E MESSAGE
set -u
root=$1
nl='
'
cd / || exit 1
hf=${TMPDIR:-/tmp}/eidf-pvc-cp.$$
trap 'rm -f "$hf" "$hf.fifo" "$hf.whole"' EXIT
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
# sha256 of stdin: openssl where the image has it (several times faster
# than a sha256sum without the CPU's SHA instructions, as busybox < 1.36 and
# coreutils are), else sha256sum
if command -v openssl >/dev/null 2>&1 && [ "$(printf '' | openssl dgst -sha256 -r 2>/dev/null)" = \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 *stdin" ]; then
	sha256() { openssl dgst -sha256 -r; }
else
	sha256() { sha256sum; }
fi

# MD5 of LEN bytes at START of FILE
range_sum() {
	h=$(dd if="$3" bs=1048576 skip="$1" count="$2" iflag=skip_bytes,count_bytes status=none | md5sum)
	echo "${h%% *}"
}

# The sha256 of a whole upload as it streams: a hasher reading a FIFO that
# every chunk is also written to (fd 3).  Only for a file sent from byte 0
# with no chunk sent again; otherwise the part is read once at the end.
whole_start() {
	whole= wpid=
	rm -f "$hf.fifo" "$hf.whole"
	mkfifo "$hf.fifo" 2>/dev/null || return 0
	sha256 <"$hf.fifo" >"$hf.whole" &
	wpid=$!
	exec 3>"$hf.fifo"
	whole=/dev/fd/3
}
whole_stop() { # -> $wsum: the streamed sha256, or empty
	wsum=
	[ -n "$wpid" ] || return 0
	exec 3>&-
	wait "$wpid"
	[ -n "$whole" ] && read -r wsum _ <"$hf.whole" 2>/dev/null
	whole= wpid=
	rm -f "$hf.fifo" "$hf.whole"
}

do_put() { # MODE SIZE OFF [TSTART TMD5]; path on the next line
	mode=$1 size=$2 off=$3 tstart=${4:-} tsum=${5:-}
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
				[ -n "$tstart" ] && say "c $tstart $((off - tstart)) $tsum" >>"$sums"
			else
				ok=0 why="cannot resume \"$rel.eidf-part\""
			fi
		fi
	fi
	if [ $ok = 1 ]; then say R; else fail "$why"; fi
	failed=$((1 - ok)) whole= wpid=
	[ $ok = 1 ] && [ "$off" = 0 ] && whole_start
	while IFS=' ' read -r t len sum; do
		case "$t" in
		c)
			if [ $failed != 0 ]; then
				dd bs=65536 count="$len" iflag=fullblock,count_bytes of=/dev/null status=none
				continue
			fi
			# written (appended) as it comes, hashed on the way: no second read
			dd bs=65536 count="$len" iflag=fullblock,count_bytes status=none |
				tee -a "$part" $whole | md5sum >"$hf"
			h=
			read -r h _ <"$hf" 2>/dev/null
			if [ "$h" = "$sum" ]; then
				say "c $off $len $sum" >>"$sums"
				off=$((off + len))
				say "K $off"
			elif [ "$(stat -c %s "$part")" -lt $((off + len)) ]; then
				exit 0 # stdin ended inside the chunk: the stream is gone
			else
				truncate -s "$off" "$part"
				say "X $off"
				failed=2 whole=
			fi
			;;
		e) # "e SHA256": the sender's sha256 of the whole file
			esum=$len
			whole_stop
			if [ $failed = 1 ]; then return; fi
			if [ $failed = 2 ]; then fail "a chunk of \"$rel\" failed verification"; return; fi
			# the verified chunks must cover the file, in order, with nothing left over
			cover=$(awk 'BEGIN { n = 0; ok = 1 } $1 == "c" { if ($2 != n) ok = 0; n += $3 }
				END { print ok ? n : -1 }' "$sums")
			if [ "$cover" != "$size" ] || [ "$(stat -c %s "$part")" != "$size" ]; then
				fail "\"$rel\" is incomplete on the claim ($cover of $size bytes verified)"
				return
			fi
			if [ -z "$wsum" ]; then
				wsum=$(sha256 <"$part") && wsum=${wsum%% *}
			fi
			if [ "$wsum" != "$esum" ]; then
				rm -f "$part" "$sums"
				say "M $wsum"
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

do_get() { # OFF [LEN]; path on the next line
	off=$1 want=${2:-}
	IFS= read -r rel || exit 0
	if bad "$rel"; then fail "path \"$rel\" leaves the claim"; return; fi
	abs "$rel"
	if [ -L "$p" ] || [ ! -f "$p" ]; then fail "\"$rel\" is not a regular file on the claim"; return; fi
	size=$(stat -c %s "$p")
	[ "$off" -gt "$size" ] && off=$size
	if [ -n "$want" ]; then
		[ $((off + want)) -gt "$size" ] && want=$((size - off))
		say "G $size"
		dd if="$p" bs=1048576 skip="$off" count="$want" iflag=skip_bytes,count_bytes status=none
		say "m $(range_sum "$off" "$want" "$p")"
		return
	fi
	say "G $size"
	# the whole file's sha256 while the bytes go out, in one stream
	sha256 <"$p" >"$hf" &
	hpid=$!
	n=$((size - off))
	dd if="$p" bs=1048576 skip="$off" count="$n" iflag=skip_bytes,count_bytes status=none
	# a file that shrank meanwhile: keep the framing; the sha256 tells
	now=$(stat -c %s "$p" 2>/dev/null || echo 0)
	[ "$now" -lt "$size" ] && dd if=/dev/zero bs=1048576 count=$((size - (now > off ? now : off))) \
		iflag=count_bytes status=none
	wait "$hpid"
	h=
	read -r h _ <"$hf"
	say "h $h"
}

# MD5 of every LEN bytes of a file: which chunks of a download differ
do_chunks() {
	IFS= read -r rel || exit 0
	abs "$rel"
	if bad "$rel" || [ -L "$p" ] || [ ! -f "$p" ]; then fail "\"$rel\" is not a regular file on the claim"; return; fi
	size=$(stat -c %s "$p") o=0
	while [ "$o" -lt "$size" ]; do
		l=$(($1 < size - o ? $1 : size - o))
		say "m $o $l $(range_sum "$o" "$l" "$p")"
		o=$((o + l))
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
			h=$(sha256 <"$p") && say "H ${h%% *}" || say "H -"
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
	get) do_get "$a1" "$a2" ;;
	chunks) do_chunks "$a1" ;;
	quit) exit 0 ;;
	'') ;;
	*) fail "unknown command $cmd"; exit 2 ;;
	esac
done
