# The claim's side of `kubectl eidf pvc cp` (busybox sh, run with
# `kubectl exec -i` in the helper Job).  $1 = where the claim is mounted.
# It reads commands from stdin and answers on stdout, one command at a time,
# in order; paths come on their own line, relative to the claim's root ("."
# is the root), and never reach any shell text.  An upload's bytes go, as
# one stream per file, into NAME.eidf-part (resumed at an offset the sender
# has proved with the part's sha256 or its chunks' MD5), and the part is
# renamed into place only once the whole file's sha256 equals the sender's.
# No process is started per chunk: one dd writes the stream; builtin loops
# acknowledge what the part holds (the sender keeps at most 1 MiB
# unacknowledged, what a drop may lose) and feed the part, as it grows, to
# one hasher.  A part whose sha256 differs stays for a repair: the sender
# compares the chunks' MD5 (chunks), rewrites those that differ (patch) and
# asks again (fin).
# Answers:
#   df                      -> D AVAIL_KIB
#   info\nPATH              -> I TYPE SIZE MODE, P SIZE|P -, .
#   list\nPATH              -> e HEXMODE SIZE ABSPATH..., L ABSPATH + T TARGET, W (name with a newline), .
#   sum N\nPATH...          -> H SHA256|H - per path, .
#   infos N\nPATH...        -> what info answers, per path (one stat for them all)
#   batch K BYTES\n(MODE SIZE SHA256\nPATH)..., then a tar of BYTES -> F|M SHA256|E MESSAGE per file, .
#   gets K\nPATH...         -> G SIZE, a tar of SIZE bytes, h SHA256|h - per path, . | E MESSAGE
#   range START LEN\nPATH   -> H MD5 of those bytes
#   chunks LEN\nPATH        -> m START LEN MD5 for each LEN bytes of the file, . | E MESSAGE
#   mkdir\nPATH             -> O | E MESSAGE
#   chmod MODE\nPATH        -> O | E MESSAGE
#   link\nPATH\nTARGET      -> O | E MESSAGE
#   put MODE SIZE OFF\nPATH -> R, then SIZE-OFF bytes come, then "e SHA256" | E MESSAGE (no bytes);
#                              while the bytes come (over 1 MiB of them), K N: the part holds N bytes;
#                              at "e": F (renamed into place) | M SHA256 (the part's sha256
#                              differs; the part stays); a write that fails, at any time: S GOT
#                              FREE_KIB (no space: GOT bytes were written, FREE_KIB are free there)
#                              | E MESSAGE, the part removed and the session ended
#   patch START LEN\nPATH, then LEN bytes -> K START+LEN: written into PATH.eidf-part | E MESSAGE
#   fin MODE SIZE SHA256\nPATH -> F | M SHA256 | E MESSAGE: "e" again, for the part as it is now
#   drop\nPATH              -> O: PATH.eidf-part removed
#   quit                    -> (the script ends: the v4 exec protocol cannot close stdin)
#   get OFF [LEN]\nPATH     -> G SIZE, the bytes from OFF (to the end, or LEN of them), then
#                              h SHA256 of the whole file (or, with LEN, m MD5 of those bytes) | E MESSAGE
set -u
root=$1
nl='
'
cd / || exit 1
hf=${TMPDIR:-/tmp}/eidf-pvc-cp.$$ puts=0
# a batch's staging directory on the claim: this session's own (sessions of
# other helper pods may copy at the same time, and their PIDs repeat)
id=$$
read -r id </proc/sys/kernel/random/uuid 2>/dev/null
stage=$root/.eidf-batch.$id.eidf-part
trap 'rm -rf "$hf.c" "$stage"; rm -f "$hf" "$hf".*' EXIT
trap 'exit 129' HUP
trap 'exit 143' TERM
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
# The part beside the file at $1 -> $part, $prel (relative to the root):
# NAME.eidf-part, or, when that would pass 255 bytes (NAME_MAX), the
# sha256 of NAME after ".eidf-part." (common/temp_name.c: the client's
# rule).  Over 61 characters a name may pass 245 bytes: wc counts them.
part_of() {
	part=$1.eidf-part leaf=${1##*/}
	if [ ${#leaf} -gt 61 ] && [ $(($(printf %s "$leaf" | wc -c))) -gt 245 ]; then
		h=$(printf %s "$leaf" | sha256)
		part=${1%/*}/.eidf-part.${h%% *}
	fi
	prel=${part#"$root/"}
}
# the type of $1 -> $t (no subshell: builtins only)
type_of() {
	if [ -L "$1" ]; then t=l; elif [ -d "$1" ]; then t=d; elif [ -f "$1" ]; then t=f
	elif [ -e "$1" ]; then t=o; else t=-; fi
}
# sha256 of stdin: openssl where the image has it (several times faster
# than a sha256sum without the CPU's SHA instructions, as busybox < 1.36 and
# coreutils are), else sha256sum
if command -v openssl >/dev/null 2>&1 && [ "$(printf '' | openssl dgst -sha256 -r 2>/dev/null)" = \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 *stdin" ]; then
	sha256() { openssl dgst -sha256 -r; }
	sha256_cmd=openssl
else
	sha256() { sha256sum; }
	sha256_cmd=sha256sum
fi

# MD5 of LEN bytes at START of FILE
range_sum() {
	h=$(dd if="$3" bs=1048576 skip="$1" count="$2" iflag=skip_bytes,count_bytes status=none | md5sum)
	echo "${h%% *}"
}

# The sha256 of several files with one hasher process: $@, each an existing
# regular file (absolute paths).  -> $hf.sums: a digest a line, in order;
# 1 when the hasher did not give one line a file (one vanished meanwhile).
sha256_many() {
	sha256_raw "$@"
	c=0
	while read -r h _; do
		c=$((c + 1))
		printf '%s\n' "${h#\\}"
	done <"$hf.sums.raw" >"$hf.sums"
	[ "$c" = $# ]
}
# the hasher's own lines for $@ -> $hf.sums.raw: "DIGEST NAME", where
# coreutils escapes a name with a backslash as "\DIGEST  NAME"
sha256_raw() {
	: >"$hf.sums.raw"
	[ $# -gt 0 ] || return 0
	if [ "$sha256_cmd" = openssl ]; then
		openssl dgst -sha256 -r "$@" >"$hf.sums.raw" 2>/dev/null
	else
		sha256sum "$@" >"$hf.sums.raw" 2>/dev/null
	fi
}

# An upload's helpers: a FIFO nobody writes to, which the loops below sleep
# on (`read -t`, a builtin: no process), and the length of the part being
# written, read from the kernel's position of fd 4 (opened for appending,
# so after each write the end of the file; before the first one 0, hence
# $1 as the least).  -> $n
mkfifo "$hf.tick" 2>/dev/null && exec 6<>"$hf.tick"
# a pause: `read -t` on that FIFO in busybox sh (and bash); a shell without
# it (dash) runs sleep, a process, so less often
read -t 0.001 _ <&6 2>/dev/null
case $? in
1 | 1[3-9][0-9]) nap() { read -t "$1" _ <&6; } ;;
*) nap() { sleep 0.02; } ;;
esac
part_len() {
	n=
	if [ "$fdpos" = 1 ]; then
		read -r _ n _ </proc/self/fdinfo/4 2>/dev/null
	else # no /proc/self/fdinfo (a sandbox without it): stat, a process, so less often
		n=$(stat -c %s "$part" 2>/dev/null)
	fi
	[ "${n:-0}" -gt "$1" ] || n=$1
}
# While a put's bytes come: "K N" whenever the part has grown, polling every
# 2 ms, so that the sender, which keeps at most 1 MiB unacknowledged, never
# waits long.  Ends when the put is done (or the session's shell is gone).
acks() { # OFF
	a=$1
	while [ ! -e "$over" ] && [ -d "/proc/$$" ]; do
		if [ "$fdpos" = 1 ]; then nap 0.002; else nap 0.01; fi
		part_len "$1"
		[ "$n" -gt "$a" ] && a=$n && say "K $a"
	done
}
# The whole file's bytes, for its sha256, while the part is written: the
# part read again (from the page cache) each time it has grown by 32 MiB,
# and at the end, so one hasher sees the file from byte 0 in one pass.
feed() { # OFF
	h=0
	while [ -d "/proc/$$" ]; do
		[ -e "$over" ] && d=1 || d=0
		part_len "$1"
		if [ $((n - h)) -ge 33554432 ] || { [ $d = 1 ] && [ "$n" -gt $h ]; }; then
			dd if="$part" bs=1048576 skip=$h count=$((n - h)) iflag=skip_bytes,count_bytes status=none ||
				return
			h=$n
		elif [ $d = 1 ]; then
			return
		else
			nap 0.05
		fi
	done
}
# The part and the sender agree: rename it into place.  Else M and the part
# stays for a repair.  Uses mode, part, final, rel; $1 the sender's sha256,
# $2 the part's.
finish() {
	if [ "$1" != "$2" ]; then
		say "M $2"
	elif [ ! -L "$final" ] && [ -e "$final" ] && [ ! -f "$final" ]; then
		fail "\"$rel\" exists on the claim and is not a regular file"
	elif chmod "$mode" "$part" && mv -f "$part" "$final"; then
		[ -e "$part.sha256" ] && rm -f "$part.sha256" # an older client's list of chunks
		say F
	else
		fail "cannot rename \"$prel\" into place"
	fi
}
# The part of the upload to $rel: final, part; 1 (and $why) when it may not
# be written.
target() {
	why=
	if bad "$rel" || [ "$rel" = . ]; then why="path \"$rel\" leaves the claim"; return 1; fi
	if ! no_links "$rel"; then why="a directory on the way to \"$rel\" is a symlink; not followed"; return 1; fi
	abs "$rel"
	final=$p
	part_of "$p"
	if [ -d "$final" ] && [ ! -L "$final" ]; then why="\"$rel\" is a directory on the claim"; return 1; fi
	return 0
}

# Why a redirection failed, from what the shell said in $hf ("sh: 1: cannot
# create P: Read-only file system"): its last part -> $why
cause() {
	why=
	IFS= read -r why <"$hf"
	why=${why##*: }
	[ -n "$why" ] || why="the shell did not say why"
}

do_put() { # MODE SIZE OFF; path on the next line
	mode=$1 size=$2 off=$3
	IFS= read -r rel || exit 0
	if ! target; then fail "$why"; return; fi
	if [ ! -p "$hf.tick" ]; then fail "cannot create a FIFO in ${TMPDIR:-/tmp} in the helper pod"; return; fi
	if [ ! -d "${final%/*}" ] && ! mkdir -p "${final%/*}" 2>/dev/null; then fail "cannot create the directory of \"$rel\""; return; fi
	if [ "$off" = 0 ]; then
		[ -L "$part" ] && rm -f "$part"
		[ -e "$part.sha256" ] && rm -f "$part.sha256"
		{ command exec 4>"$part"; } 2>"$hf" || { cause; fail "cannot write \"$prel\": $why"; return; }
	elif [ -L "$part" ] || [ ! -f "$part" ] || ! truncate -s "$off" "$part" 2>/dev/null; then
		fail "cannot resume \"$prel\""
		return
	fi
	{ command exec 4>>"$part"; } 2>"$hf" || { cause; fail "cannot write \"$prel\": $why"; return; }
	fdpos=0
	read -r n _ </proc/self/fdinfo/4 2>/dev/null && [ "$n" = pos: ] && fdpos=1
	say R
	puts=$((puts + 1)) over=$hf.done.$puts # the loops end once it exists (a new name each time: no rm)
	many=$((size - off > 1048576)) apid= hpid=
	if [ $many = 1 ]; then
		acks "$off" &
		apid=$!
		feed "$off" | sha256 >"$hf.whole" &
		hpid=$!
	fi
	drc=0
	[ "$size" -gt "$off" ] && {
		dd bs=65536 count=$((size - off)) iflag=fullblock,count_bytes status=none >&4 2>"$hf" || drc=$?
	}
	part_len "$off"
	got=$n
	: >"$over"
	[ -n "$apid" ] && wait "$apid"
	if [ $drc != 0 ]; then # the claim refused the bytes; the rest of them cannot be told from commands
		why=
		read -r why <"$hf"
		# full (the df before the copy saw the root, not a smaller file
		# system or a quota below it, nor other writers) when less is free
		# where the part is than the rest of the file needs
		free=$(df -Pk "${part%/*}" 2>/dev/null | awk 'NR == 2 { print $4 }')
		exec 4>&-
		# the part goes: a full claim breaks the jobs that write to it
		rm -f "$part"
		if [ -n "$free" ] && [ $((free * 1024)) -lt $((size - got)) ]; then
			say "S $got $free"
		else
			fail "cannot write \"$prel\" on the claim ($why); it was removed"
		fi
		exit 1
	fi
	[ "$got" = "$size" ] || exit 0 # stdin ended inside the bytes: the stream is gone; resumed from the part
	wsum=
	if [ -n "$hpid" ]; then
		wait "$hpid"
		read -r wsum _ <"$hf.whole"
	else
		wsum=$(sha256 <"$part") && wsum=${wsum%% *}
	fi
	exec 4>&-
	IFS=' ' read -r t esum || exit 0
	[ "$t" = e ] || exit 2
	finish "$esum" "$wsum"
}

# Rewrite LEN bytes of an upload's part at START (a chunk that differed).
do_patch() { # START LEN; path on the next line, then the bytes
	IFS= read -r rel || exit 0
	if ! target || [ -L "$part" ] || [ ! -f "$part" ]; then
		dd bs=65536 count="$2" iflag=fullblock,count_bytes status=none of=/dev/null
		fail "cannot repair \"$prel\": ${why:-it is not there}"
		return
	fi
	if ! dd of="$part" bs=131072 seek="$1" count="$2" oflag=seek_bytes iflag=fullblock,count_bytes conv=notrunc \
		status=none 2>"$hf"; then
		read -r why <"$hf"
		fail "cannot write \"$prel\" on the claim: $why"
		exit 1
	fi
	say "K $(($1 + $2))"
}

do_fin() { # MODE SIZE SHA256; path on the next line
	mode=$1
	IFS= read -r rel || exit 0
	if ! target || [ -L "$part" ] || [ ! -f "$part" ]; then fail "cannot finish \"$prel\": ${why:-it is not there}"; return; fi
	wsum=-
	truncate -s "$2" "$part" && wsum=$(sha256 <"$part") && wsum=${wsum%% *}
	finish "$3" "$wsum"
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

# MD5 of every LEN bytes of a file: which chunks of a copy differ.  Not two
# processes per chunk (about 7 ms each: 15 s per GiB of 512 KiB chunks): 32
# chunks at a time are cut into files in a scratch directory by one split and
# hashed by one md5sum; without split or a writable scratch directory, one
# chunk at a time.
do_chunks() {
	IFS= read -r rel || exit 0
	abs "$rel"
	if bad "$rel" || [ -L "$p" ] || [ ! -f "$p" ]; then fail "\"$rel\" is not a regular file on the claim"; return; fi
	len=$1
	case "$len" in ''|*[!0-9]*|0) fail "chunks: bad length \"$len\""; return ;; esac
	size=$(stat -c %s "$p") o=0 batch=$((len * 32))
	if command -v split >/dev/null 2>&1 && rm -rf "$hf.c" && mkdir "$hf.c" 2>/dev/null; then
		while [ "$o" -lt "$size" ]; do
			rm -f "$hf.c"/c.*
			dd if="$p" bs=1048576 skip="$o" count="$batch" iflag=skip_bytes,count_bytes status=none |
				(cd "$hf.c" && split -b "$len" -a 3 - c.)
			# (a file that shrank meanwhile has fewer chunks: the client sees it)
			md5sum "$hf.c"/c.* 2>/dev/null | awk -v o="$o" -v len="$len" -v size="$size" \
				'{ s = o + (NR - 1) * len; print "m", s, (size - s < len ? size - s : len), $1 }'
			o=$((o + batch))
		done
		rm -rf "$hf.c"
	else
		while [ "$o" -lt "$size" ]; do
			l=$((len < size - o ? len : size - o))
			say "m $o $l $(range_sum "$o" "$l" "$p")"
			o=$((o + l))
		done
	fi
	say .
}

# "TAG SHA256" a file of $ok, a string of + (the next digest of $hf.sums)
# and - ("TAG -": not a regular file)
say_sums() { # TAG
	exec 7<"$hf.sums"
	while [ -n "$ok" ]; do
		c=${ok%"${ok#?}"} ok=${ok#?}
		if [ "$c" = + ] && IFS= read -r h <&7; then say "$1 $h"; else say "$1 -"; fi
	done
	exec 7<&-
}

# sum N: the sha256 of N files, one hasher for them all (one at a time if
# that fails: a file vanished meanwhile)
do_sum() { # N; the paths follow
	n=$1 i=0 ok=
	set --
	while [ "$i" -lt "$n" ]; do
		IFS= read -r rel || exit 0
		i=$((i + 1))
		abs "$rel"
		if bad "$rel" || [ -L "$p" ] || [ ! -f "$p" ]; then ok="$ok-"; else ok="$ok+"; set -- "$@" "$p"; fi
	done
	if sha256_many "$@"; then
		say_sums H
	else
		while [ -n "$ok" ]; do
			c=${ok%"${ok#?}"} ok=${ok#?}
			if [ "$c" = + ]; then
				h=$(sha256 <"$1") && say "H ${h%% *}" || say "H -"
				shift
			else
				say "H -"
			fi
		done
	fi
	say .
}

# infos N: what "info" says, for N paths, with one stat for them all
do_infos() { # N; the paths follow
	n=$1 i=0 kinds=
	set --
	while [ "$i" -lt "$n" ]; do
		IFS= read -r rel || exit 0
		i=$((i + 1))
		if bad "$rel"; then kinds="${kinds}x0"; continue; fi
		abs "$rel"
		type_of "$p"
		part_of "$p"
		pk=0
		[ -f "$part" ] && [ ! -L "$part" ] && pk=1
		kinds="$kinds$t$pk"
		[ "$t" != - ] && set -- "$@" "$p"
		[ $pk = 1 ] && set -- "$@" "$part"
	done
	: >"$hf.st"
	[ $# -gt 0 ] && stat -c '%s %a' -- "$@" >"$hf.st" 2>/dev/null
	c=0
	while IFS= read -r _; do c=$((c + 1)); done <"$hf.st"
	if [ "$c" != $# ]; then # one vanished meanwhile: one at a time
		for f; do stat -c '%s %a' -- "$f" 2>/dev/null || echo "0 0"; done >"$hf.st"
	fi
	exec 7<"$hf.st"
	while [ -n "$kinds" ]; do
		t=${kinds%"${kinds#?}"} kinds=${kinds#?}
		pk=${kinds%"${kinds#?}"} kinds=${kinds#?}
		if [ "$t" = x ]; then fail "a path leaves the claim"; continue; fi
		if [ "$t" = - ]; then say "I - 0 0"; else IFS= read -r st <&7; say "I $t $st"; fi
		if [ "$pk" = 1 ]; then IFS=' ' read -r ps _ <&7; say "P $ps"; else say "P -"; fi
		say .
	done
	exec 7<&-
}

# batch K BYTES: K small files in one tar, instead of K puts.  K lines
# "MODE SIZE SHA256", each followed by its path, then BYTES bytes: a tar of
# those files (named by their paths; regular files only; their modes are
# the tar's).  It is unpacked with one tar into this session's staging
# directory at the claim's root, the files are hashed by one hasher, and
# those whose sha256 is the sender's are linked into place, one ln per
# directory (batch_flush).  An answer a file, in order: F | M SHA256
# (differs, or could not be linked: nothing put in place; the sender puts
# it alone) | E MESSAGE; then ".".  Without tar in the image every file is M.
do_batch() { # K BYTES
	k=$1 bytes=$2 i=0 sane=1
	# (busybox sh reads a byte a system call: each line is read once here,
	# once below, and the hasher's arguments are gathered on the way)
	set --
	while [ "$i" -lt "$k" ]; do
		IFS=' ' read -r _ _ h || exit 0
		IFS= read -r rel || exit 0
		bad "$rel" && sane=0 # the client's paths are clean: never unpacked if not
		printf '%s\n%s\n' "$h" "$rel"
		set -- "$@" "$stage/$rel"
		i=$((i + 1))
	done >"$hf.b"
	# (made once a session, removed when it ends: two processes less a batch)
	if [ $sane = 1 ] && command -v tar >/dev/null 2>&1 && { [ -d "$stage" ] || mkdir "$stage" 2>/dev/null; }; then
		dd bs=65536 count="$bytes" iflag=fullblock,count_bytes status=none |
			(umask 0 && cd "$stage" && tar -xf - 2>"$hf")
	else
		dd bs=65536 count="$bytes" iflag=fullblock,count_bytes status=none >/dev/null
	fi
	# a digest a line, in order (one that is missing, or out of step after
	# a missing one, differs: that file goes alone)
	: >"$hf.sums.raw"
	[ -d "$stage" ] && sha256_raw "$@"
	# the files that may go into place, a run of them in one directory at a time
	exec 7<"$hf.sums.raw"
	set --
	gdir=
	while IFS= read -r h && IFS= read -r rel; do
		IFS=' ' read -r got _ <&7 || got=-
		got=${got#\\}
		why=
		if ! target; then
			:
		elif [ "$got" != "$h" ]; then
			why=M
		elif [ ! -L "$final" ] && [ -e "$final" ] && [ ! -f "$final" ]; then
			why="\"$rel\" exists on the claim and is not a regular file"
		elif [ ! -d "${final%/*}" ] && ! mkdir -p "${final%/*}" 2>/dev/null; then
			why="cannot create the directory of \"$rel\""
		fi
		if [ -z "$why" ] && [ "${final%/*}" = "$gdir" ]; then
			set -- "$@" "$stage/$rel"
			continue
		fi
		batch_flush "$@"
		set --
		gdir=
		if [ -z "$why" ]; then
			gdir=${final%/*}
			set -- "$stage/$rel"
		elif [ "$why" = M ]; then
			say "M $got"
		else
			fail "$why"
		fi
	done <"$hf.b"
	batch_flush "$@"
	exec 7<&-
	say .
}
# the staged files $@ put into $gdir under their names: F each.  They are
# hard-linked, not moved: mv copies when the directory is on another file
# system than the stage (one mounted below the claim's root, or a CephFS
# quota realm, which keeps the device number), and a copy that fills it
# leaves a truncated file under the final name; a link is all or nothing and
# fails with EXDEV there.  (An existing file is replaced by unlink and link:
# for an instant it is not there, never there in part.)  A file that could
# not be linked is "M -": it goes alone, through a part beside it.  The
# stage's names are removed at once (a session killed later must not leave
# a second name holding files the user may delete).
batch_flush() {
	[ $# -gt 0 ] || return 0
	if ln -f "$@" "$gdir/" 2>/dev/null; then
		for f; do say F; done
	else
		for f; do if [ "$f" -ef "$gdir/${f##*/}" ]; then say F; else say "M -"; fi; done
	fi
	rm -f "$@"
}

# gets K: K small files in one tar instead of K gets.  G SIZE, then SIZE
# bytes: a tar of the files that are regular files (named ./PATH, in
# order), then a line a file: h SHA256 | h - (left out), then "." | E
# MESSAGE (no tar here: the sender gets them one at a time)
do_gets() { # K; the paths follow
	n=$1 i=0 ok=
	set --
	while [ "$i" -lt "$n" ]; do
		IFS= read -r rel || exit 0
		i=$((i + 1))
		abs "$rel"
		if bad "$rel" || [ "$rel" = . ] || [ -L "$p" ] || [ ! -f "$p" ]; then ok="$ok-"; else ok="$ok+"; set -- "$@" "./$rel"; fi
	done
	rm -f "$hf.t"
	if [ $# -gt 0 ]; then
		if ! command -v tar >/dev/null 2>&1 || ! (cd "$root" && sha256_many "$@" && tar -cf "$hf.t" "$@") 2>/dev/null; then
			fail "cannot pack the files in the helper pod"
			return
		fi
		say "G $(stat -c %s "$hf.t")"
		cat "$hf.t"
	else
		say "G 0"
	fi
	say_sums h
	say .
}

while IFS=' ' read -r cmd a1 a2 a3 a4 a5; do
	case "$cmd" in
	df) df -Pk "$root" | awk 'NR == 2 { print "D", $4 }' ;;
	info)
		IFS= read -r rel || exit 0
		if bad "$rel"; then fail "path \"$rel\" leaves the claim"; continue; fi
		abs "$rel"
		type_of "$p"
		if [ "$t" = - ]; then say "I - 0 0"; else say "I $t $(stat -c '%s %a' "$p")"; fi
		part_of "$p"
		if [ -f "$part" ] && [ ! -L "$part" ]; then
			say "P $(stat -c %s "$part")"
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
			# (not into an upload's staging directory: its files are not there yet)
			find "$p" -name '.eidf-batch.*.eidf-part' -prune -o -name "*$nl*" -prune -exec echo W \; -o \
				-exec stat -c 'e %f %s %n' {} +
			find "$p" -name '.eidf-batch.*.eidf-part' -prune -o -name "*$nl*" -prune -o -type l -exec sh -c '
				for f; do t=$(readlink "$f"); case "$t" in *"
"*|"") echo W; continue ;; esac; printf "L %s\nT %s\n" "$f" "$t"; done' sh {} +
		fi
		say .
		;;
	sum) do_sum "$a1" ;;
	infos) do_infos "$a1" ;;
	batch) do_batch "$a1" "$a2" ;;
	gets) do_gets "$a1" ;;
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
		# (a directory that may not be changed, read-only, but has that mode)
		elif [ "$(stat -c %a "$p" 2>/dev/null)" = "$a1" ]; then say O
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
	put) do_put "$a1" "$a2" "$a3" ;;
	patch) do_patch "$a1" "$a2" ;;
	fin) do_fin "$a1" "$a2" "$a3" ;;
	drop)
		IFS= read -r rel || exit 0
		target && [ ! -L "$part" ] && rm -f "$part"
		say O
		;;
	get) do_get "$a1" "$a2" ;;
	chunks) do_chunks "$a1" ;;
	quit) exit 0 ;;
	'') ;;
	*) fail "unknown command $cmd"; exit 2 ;;
	esac
done
