# fetch-job: the container side of `kubectl eidf fetch` (POSIX sh, busybox).
#
# Invoked as: sh -c "$script" fetch-job [options]
#   --dest DIR         directory on the PVC that receives the files
#   --list FILE        the list (else $EIDF_FETCH_LIST): one file per line,
#                      URL <TAB> sha256-or-"-" <TAB> name
#   --retries N        curl attempts per file (default 10); partial data is kept
#   --backoff S        first retry delay in seconds, doubled up to 60 (default 2)
#   --interval S       seconds between progress lines (default 5)
#   --shards N         with $JOB_COMPLETION_INDEX = i, take lines k with k % N == i
#   --header-dir DIR   every file KEY in DIR becomes a request header "KEY: <content>"
#                      (a mounted Secret); $EIDF_FETCH_HEADERS adds "Name: value" lines
#   --purge-partial    download nothing: remove DEST/NAME.part of every name in the
#                      list (what `fetch delete --purge-partial` runs)
#   --s3-dir DIR       the --s3-secret keys as files (AWS_ACCESS_KEY_ID,
#                      AWS_SECRET_ACCESS_KEY, optional AWS_SESSION_TOKEN): entries
#                      with auth=s3 are fetched with curl --aws-sigv4
#   --s3-region R      the region those signatures name
#   --hf-token-file F  a Hugging Face token: entries with auth=hf send it as a bearer token
#   --segments N|auto  fetch each file (auto: files of 64 MiB or more) as N byte
#                      ranges over N connections into one .part; with --shards,
#                      segment i of every file is fetched by pod i % shards
#   --segment-chunk B  bytes per range request (default 64 MiB: what a killed pod
#                      can lose of a segment)
#
# List lines from a listed source (s3://, hf://) carry fields after the name,
# each "<TAB>key=value": size=BYTES (checked), etag=ETAG (an S3 ETag: sent as
# If-Match, and checked as the MD5 of the file unless it is multipart: "-N"),
# gitsha1=OID (a Hub file outside LFS: its git blob id is checked), rev=SHA
# (the commit a Hub URL is pinned to: recorded in the marker), auth=s3|hf
# (which credentials the URL gets).
#
# --extract is not done here: the Job then runs this script as an init
# container, and fetch-extract.sh/.py unpack the archives after it.
#
# URLs, names and headers are data: they only ever appear inside double quotes
# or in files, never in text that a shell evaluates.
#
# Exit codes (the Job's podFailurePolicy fails the Job at once on 2-6, so a
# deterministic failure is not downloaded again by every pod retry; see
# FETCH_EXIT_* in fetch_spec.h):
#   0 every file done   1 transient failure (a new pod resumes)   2 usage
#   3 sha256 mismatch   4 permanent HTTP 4xx
# (5 and 6 come from the extract container: fetch-extract.py.)
# When transient and deterministic failures mix, the exit is 1 so that the
# transient files resume, and the deterministic ones are recorded in
# $MARK/NAME.failed for this run ($EIDF_FETCH_RUN) and not fetched again by the
# next pod: it reports them and exits with their code.
set -u
umask 022

DEST=. LIST= RETRIES=10 BACKOFF=2 INTERVAL=5 SHARDS=1 HEADER_DIR= PURGE=0
S3_DIR= S3_REGION=us-east-1 HF_TOKEN_FILE= SEGMENTS= SEG_CHUNK=67108864
while [ $# -gt 0 ]; do
	case $1 in
	--dest) DEST=$2; shift ;;
	--list) LIST=$2; shift ;;
	--retries) RETRIES=$2; shift ;;
	--backoff) BACKOFF=$2; shift ;;
	--interval) INTERVAL=$2; shift ;;
	--shards) SHARDS=$2; shift ;;
	--header-dir) HEADER_DIR=$2; shift ;;
	--purge-partial) PURGE=1 ;;
	--s3-dir) S3_DIR=$2; shift ;;
	--s3-region) S3_REGION=$2; shift ;;
	--hf-token-file) HF_TOKEN_FILE=$2; shift ;;
	--segments) SEGMENTS=$2; shift ;;
	--segment-chunk) SEG_CHUNK=$2; shift ;;
	*) echo "eidf-fetch: error: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
INDEX=${JOB_COMPLETION_INDEX:-0}
RUN=${EIDF_FETCH_RUN:-}
TAB=$(printf '\t')
MARK=$DEST/.eidf-fetch

say() { printf 'eidf-fetch: %s\n' "$*"; }
die() { printf 'eidf-fetch: error: %s\n' "$*" >&2; printf 'eidf-fetch error reason=%s\n' "$*"; exit 1; }
# presigned URLs carry credentials in the query: never log it
redact() { case $1 in *\?*) printf '%s?<redacted>' "${1%%\?*}" ;; *) printf '%s' "$1" ;; esac; }
json_str() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
fsize() { if [ -e "$1" ]; then stat -c %s -- "$1" 2>/dev/null || wc -c <"$1"; else echo 0; fi; }

mkdir -p -- "$DEST" "$MARK" || die "cannot create $DEST (is the PVC mounted read-write?)"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/eidf-fetch.XXXXXX") || die "mktemp failed"
STATE=$WORK/state
REPORTER= HASHER=
cleanup() {
	[ -n "$REPORTER" ] && kill "$REPORTER" 2>/dev/null
	[ -n "$HASHER" ] && echo abort >"$WORK/hstop" && wait "$HASHER"
	rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

if [ -n "$LIST" ]; then
	cp -- "$LIST" "$WORK/list" || die "cannot read list $LIST"
else
	printf '%s\n' "${EIDF_FETCH_LIST:-}" >"$WORK/list"
fi

# The .part files that a failed fetch left (the client checked the names).
if [ "$PURGE" = 1 ]; then
	n=0
	while IFS="$TAB" read -r url sha name fields; do
		[ -z "$name" ] && continue
		part=$DEST/$name.part
		[ -f "$part" ] || continue
		size=$(fsize "$part")
		rm -f -- "$part" || die "cannot remove $part"
		rm -rf -- "$MARK/$name.segs"
		printf 'eidf-fetch purged bytes=%s file=%s\n' "$size" "$name"
		n=$((n + 1))
	done <"$WORK/list"
	say "removed $n .part file(s) from $DEST"
	exit 0
fi

# This pod's share of the list (and, with --segments, the others' files:
# this pod fetches its segments of them).
: >"$WORK/mine"
: >"$WORK/theirs"
k=0
while IFS= read -r line || [ -n "$line" ]; do
	[ -z "$line" ] && continue
	if [ $((k % SHARDS)) -eq "$INDEX" ]; then printf '%s\n' "$line" >>"$WORK/mine"
	else printf '%s\n' "$line" >>"$WORK/theirs"; fi
	k=$((k + 1))
done <"$WORK/list"
FILES_TOTAL=$(grep -c . "$WORK/mine")

: >"$WORK/headers"
# --header values given on the command line (newline-separated "Name: value")
[ -n "${EIDF_FETCH_HEADERS:-}" ] && printf '%s\n' "$EIDF_FETCH_HEADERS" >>"$WORK/headers"
if [ -n "$HEADER_DIR" ]; then
	for h in "$HEADER_DIR"/*; do
		[ -f "$h" ] || continue
		v=$(cat -- "$h")
		printf '%s: %s\n' "${h##*/}" "$v" >>"$WORK/headers"
	done
fi

# The credentials of listed sources, each in a curl config of its own (-K):
# they go only to the URLs of that source, never into argv or the log.
cfg_quote() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
NL='
'
: >"$WORK/none.cfg"
: >"$WORK/s3.cfg"
: >"$WORK/hf.cfg"
if [ -n "$S3_DIR" ]; then
	ak=$(cat -- "$S3_DIR/AWS_ACCESS_KEY_ID" 2>/dev/null)
	sk=$(cat -- "$S3_DIR/AWS_SECRET_ACCESS_KEY" 2>/dev/null)
	tok=
	[ -f "$S3_DIR/AWS_SESSION_TOKEN" ] && tok=$(cat -- "$S3_DIR/AWS_SESSION_TOKEN")
	[ -n "$ak" ] && [ -n "$sk" ] || die "the S3 Secret has no AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY"
	case $ak$sk$tok in *"$NL"*) die "the S3 Secret's keys must be one line each" ;; esac
	{
		printf 'aws-sigv4 = "aws:amz:%s:s3"\n' "$(cfg_quote "$S3_REGION")"
		printf 'user = "%s:%s"\n' "$(cfg_quote "$ak")" "$(cfg_quote "$sk")"
		# S3 wants the payload hash (curl < 8 does not send it): an empty body's
		printf 'header = "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"\n'
		[ -n "$tok" ] && printf 'header = "x-amz-security-token: %s"\n' "$(cfg_quote "$tok")"
	} >"$WORK/s3.cfg"
	ak= sk= tok=
fi
if [ -n "$HF_TOKEN_FILE" ]; then
	tok=$(cat -- "$HF_TOKEN_FILE" 2>/dev/null) || die "cannot read the Hugging Face token"
	case $tok in *"$NL"*) die "the Hugging Face token must be one line" ;; esac
	[ -n "$tok" ] && printf 'header = "Authorization: Bearer %s"\n' "$(cfg_quote "$tok")" >"$WORK/hf.cfg"
	tok=
fi

FILES_DONE=0 BYTES_DONE=0 CUR_NAME= CUR_PART= CUR_TOTAL=0 CUR_OFF=0 CUR_SEGS=
save_state() {
	printf '%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n' "$FILES_DONE" "$FILES_TOTAL" "$BYTES_DONE" \
		"$CUR_TOTAL" "$CUR_OFF" "$CUR_PART" "$CUR_SEGS" "$CUR_NAME" >"$STATE.tmp" && mv -f "$STATE.tmp" "$STATE"
}
# One line: files=D/T bytes=B total=T rate=R fbytes=B ftotal=T file=NAME (file
# last: it may hold spaces).  bytes counts this pod's finished files plus the
# current .part; fbytes/ftotal are the current file's bytes and size (0:
# unknown yet); rate is bytes/s over the last interval.
LAST_BYTES=
progress_line() {
	{ read -r fd; read -r ft; read -r bd; read -r ct; read -r co; read -r cp; read -r cs; read -r cn; } <"$STATE" || return 0
	cur=0
	[ -n "$cp" ] && cur=$(fsize "$cp")
	# segments: the done bytes of this pod's ones, as recorded on the PVC
	if [ -n "$cs" ] && [ -f "$WORK/segs_own" ]; then
		while read -r si sl; do
			sv=0
			[ -f "$cs/$si" ] && read -r sv <"$cs/$si"
			cur=$((cur + ${sv:-0}))
		done <"$WORK/segs_own"
	fi
	# the current file's size, once its response headers are in
	if [ -n "$cp" ] && [ "$ct" = 0 ] && [ -s "$WORK/hdr" ]; then
		case $(header_status "$WORK/hdr") in 200 | 206) ct=$(header_total "$WORK/hdr" "$co") ;; esac
	fi
	b=$((bd + cur))
	rate=0
	[ -n "$LAST_BYTES" ] && [ "$b" -gt "$LAST_BYTES" ] && rate=$(((b - LAST_BYTES) / INTERVAL))
	LAST_BYTES=$b
	printf 'eidf-fetch progress files=%s/%s bytes=%s total=%s rate=%s fbytes=%s ftotal=%s file=%s\n' \
		"$fd" "$ft" "$b" "$((bd + ct))" "$rate" "$cur" "$ct" "$cn"
}
reporter() {
	progress_line
	while sleep "$INTERVAL"; do progress_line; done
}

# Total size from the last response's headers (Content-Range beats Length).
header_total() { # hdrfile offset
	tr -d '\r' <"$1" | awk -v off="$2" '
		tolower($1) ~ /^http\// { st = $2; cr = ""; cl = "" }
		tolower($1) == "content-range:" { cr = $2 " " $3 }
		tolower($1) == "content-length:" { cl = $2 }
		END {
			if (cr != "") { n = split(cr, a, "/"); if (a[n] != "*") { print a[n]; exit } }
			if (cl != "" && st == 200) { print cl; exit }
			if (cl != "" && st == 206) { print cl + off; exit }
			print 0
		}'
}
header_status() { tr -d '\r' <"$1" | awk 'tolower($1) ~ /^http\// { st = $2 } END { print st + 0 }'; }
# The size announced by a 416's "Content-Range: bytes */SIZE".
header_416_size() { tr -d '\r' <"$1" | awk 'tolower($1) == "content-range:" { n = split($0, a, "/"); v = a[n] } END { print v + 0 }'; }

marker_prefix() { # url size sha [more JSON fields: ,"etag":"…"]
	printf '{"url":"%s","size":%s,"sha256":' "$(json_str "$1")" "$2"
	if [ "$3" = - ]; then printf 'null'; else printf '"%s"' "$3"; fi
	printf '%s' "${4:-}"
}

# sha256 in the same pass as the download: a background reader follows the
# .part from byte 0 as it grows (curl only appends, also when resuming with
# -C -) and feeds it to sha256sum in 1 MiB blocks, straight from the page
# cache.  A resumed .part is therefore hashed in full (its old bytes are read
# once, from the start), and nothing is read again after the download but
# the last partial block.  (busybox tee moves 1 KiB per read: too slow.)
hash_follow() { # part stopfile
	while [ ! -e "$1" ]; do
		[ -s "$2" ] || [ ! -d "${2%/*}" ] && return 0
		sleep 0.2
	done
	exec 4<"$1" || return 1
	hdone=0
	while :; do
		stop=$(cat "$2" 2>/dev/null)
		# also when the script is gone (its work directory with it)
		[ "$stop" = abort ] || [ ! -d "${2%/*}" ] && return 0
		n=$((($(fsize "$1") - hdone) / 1048576))
		if [ "$n" -gt 0 ]; then
			dd bs=1048576 count="$n" <&4 2>/dev/null || return 1
			hdone=$((hdone + n * 1048576))
		elif [ "$stop" = end ]; then
			cat <&4
			return
		else
			sleep 0.2
		fi
	done
}
hash_start() { # part
	rm -f -- "$WORK/hstop" "$WORK/sum"
	hash_follow "$1" "$WORK/hstop" | "${ALGO}sum" >"$WORK/sum" &
	HASHER=$!
}
# end: wait for the digest of the whole .part in $WORK/sum; abort: drop it
hash_stop() { # end|abort
	[ -n "$HASHER" ] || return 0
	echo "$1" >"$WORK/hstop"
	wait "$HASHER"
	HASHER=
}

# The digest of a whole file after the download (segments arrive out of
# order): openssl's when the image has it (SHA-NI/AVX: several times busybox
# 1.35's sha256sum), else busybox's.
digest_file() { # file
	if command -v openssl >/dev/null 2>&1; then
		openssl dgst -"$ALGO" -r <"$1" | cut -d' ' -f1
	else
		"${ALGO}sum" <"$1" | cut -d' ' -f1
	fi
}

# A failure that another attempt cannot fix (exit code 3 or 4): reported,
# and remembered for the other pods of this run.
fail_permanent() { # code url sha name reason [key=value]
	printf 'eidf-fetch error code=%s %sfile=%s reason=%s\n' "$1" "${6:+$6 }" "$4" "$5"
	[ -n "$RUN" ] || return 0
	printf '%s\n%s\n%s\n%s\n%s\n' "$RUN" "$1" "$(marker_prefix "$2" 0 "$3" "${mk:-}")" "$5" "${6:-}" >"$MARK/$4.failed.tmp" &&
		mv -f -- "$MARK/$4.failed.tmp" "$MARK/$4.failed"
}

# Download one file: 0 on success, else the exit code of its failure (1
# transient, 3 sha256 mismatch, 4 permanent HTTP 4xx).  Failures are reported, not fatal, so the
# other files still get fetched.
# The fields of a list entry into url sha name fsz etag auth gitsha1 rev,
# with what follows from them: cfg (credentials), ALGO/expect (the check),
# mk (marker fields), fhdr (per-file headers), part/final/marker paths.
parse_fields() { # url sha name [fields]
	url=$1 sha=$2 name=$3
	fsz= etag= auth= gitsha1= rev= rest=${4:-}
	while [ -n "$rest" ]; do
		f=${rest%%"$TAB"*}
		case $rest in *"$TAB"*) rest=${rest#*"$TAB"} ;; *) rest= ;; esac
		case $f in
		size=*) fsz=${f#size=} ;;
		etag=*) etag=${f#etag=} ;;
		auth=*) auth=${f#auth=} ;;
		gitsha1=*) gitsha1=${f#gitsha1=} ;;
		rev=*) rev=${f#rev=} ;;
		esac
	done
	case $auth in s3) cfg=$WORK/s3.cfg ;; hf) cfg=$WORK/hf.cfg ;; *) cfg=$WORK/none.cfg ;; esac
	# what is verified: the sha256 given or listed; else an S3 ETag that is
	# an MD5 (a multipart ETag "-N" is not one: then the size only)
	ALGO= expect=
	if [ "$sha" != - ]; then
		ALGO=sha256 expect=$sha
	else
		case $etag in
		'' | *[!0-9a-f]*) ;;
		*) [ ${#etag} = 32 ] && ALGO=md5 expect=$etag ;;
		esac
	fi
	# the marker also records the ETag and the commit (the client checked both)
	mk=
	[ -n "$etag" ] && mk=",\"etag\":\"$(json_str "$etag")\""
	[ -n "$rev" ] && mk="$mk,\"revision\":\"$(json_str "$rev")\""
	cp -- "$WORK/headers" "$WORK/fhdr"
	# an object replaced since it was listed answers 412, not other bytes
	[ -n "$etag" ] && printf 'If-Match: "%s"\n' "$etag" >>"$WORK/fhdr"
	final=$DEST/$name part=$DEST/$name.part marker=$MARK/$name.json
	case $name in */*) mkdir -p -- "${final%/*}" "${marker%/*}" || return 1 ;; esac
	return 0
}

fetch_one() { # url sha name [fields]
	parse_fields "$@" || return 1
	if [ -f "$final" ] && [ -f "$marker" ]; then
		size=$(fsize "$final")
		m=$(cat -- "$marker")
		case $m in
		"$(marker_prefix "$url" "$size" "$sha" "$mk")"*)
			say "$name: already complete ($size bytes), skipping"
			BYTES_DONE=$((BYTES_DONE + size))
			return 0 ;;
		esac
		say "$name: marker does not match this request, downloading again"
	fi
	rm -f -- "$marker"
	# a deterministic failure of this same run in an earlier pod: not again
	if [ -n "$RUN" ] && [ -f "$MARK/$name.failed" ]; then
		frun= fcode= fkey= freason= fkv=
		{ read -r frun; read -r fcode; read -r fkey; read -r freason; read -r fkv; } <"$MARK/$name.failed"
		if [ "$frun" = "$RUN" ] && [ "$fkey" = "$(marker_prefix "$url" 0 "$sha" "$mk")" ]; then
			say "$name: failed in an earlier pod of this job ($freason), not retried"
			printf 'eidf-fetch error code=%s %sfile=%s reason=%s\n' "$fcode" "${fkv:+$fkv }" "$name" "$freason"
			return "$fcode"
		fi
	fi
	rm -f -- "$MARK/$name.failed"
	if [ -n "$SEGMENTS" ] && seg_plan; then
		seg_fetch
		return $?
	fi
	# a .part left by segments has holes: -C - cannot resume it
	if [ -d "$(seg_dir "$name")" ]; then
		say "$name: the .part was written in segments; downloading on one connection from byte 0"
		rm -rf -- "$(seg_dir "$name")" "$part"
	fi
	CUR_NAME=$name CUR_PART=$part CUR_TOTAL=0 CUR_OFF=0
	attempt=0 delay=$BACKOFF restarted=0
	# a .part longer than the listed size is not a prefix of this object
	if [ -n "$fsz" ] && [ -f "$part" ] && [ "$(fsize "$part")" -gt "$fsz" ]; then
		say "$name: the .part is longer than the listed size ($fsz bytes), restarting from byte 0"
		rm -f -- "$part"
	fi
	[ -n "$ALGO" ] && hash_start "$part"
	while :; do
		attempt=$((attempt + 1))
		off=$(fsize "$part")
		if [ "$off" -gt 0 ]; then
			say "$name: resuming at byte $off from $(redact "$url") (attempt $attempt/$RETRIES)"
		else
			say "$name: downloading $(redact "$url") (attempt $attempt/$RETRIES)"
		fi
		: >"$WORK/hdr"
		CUR_OFF=$off CUR_TOTAL=0
		save_state
		# the reporter reads the size from the header dump while curl runs
		curl -K "$cfg" --fail --location --silent --show-error -C - \
			--connect-timeout 30 --speed-limit 1 --speed-time 120 \
			-H "@$WORK/fhdr" -D "$WORK/hdr" -o "$part" --url "$url" \
			</dev/null 2>"$WORK/err"
		rc=$?
		st=$(header_status "$WORK/hdr")
		CUR_TOTAL=$(header_total "$WORK/hdr" "$off")
		save_state
		if [ $rc -eq 0 ]; then
			break
		fi
		if [ "$st" = 416 ] || [ $rc -eq 33 ]; then
			have=$(fsize "$part")
			want=$(header_416_size "$WORK/hdr")
			if [ "$st" = 416 ] && [ "$have" -gt 0 ] && [ "$have" = "$want" ]; then
				say "$name: server reports the .part is already complete ($have bytes)"
				CUR_TOTAL=$have
				break
			fi
			if [ $restarted -eq 0 ]; then
				# server cannot resume (no Range support) or the file changed
				say "$name: cannot resume (HTTP $st), restarting from byte 0"
				hash_stop abort
				rm -f -- "$part"; restarted=1
				[ -n "$ALGO" ] && hash_start "$part"
				continue
			fi
		fi
		msg=$(tr '\n' ' ' <"$WORK/err")
		case $st in
		4[0-9][0-9])
			case $st in 408 | 429) ;; *)
				why=
				case $st in
				412) why="; the object changed since it was listed: run the fetch again" ;;
				401 | 403) [ -n "$auth" ] && why="; check the credentials of the Secret (and access to the source)" ;;
				esac
				say "$name: failed: HTTP $st from $(redact "$url") (not retried)$why"
				hash_stop abort
				if [ "$st" = 412 ]; then rm -f -- "$part"; fi
				[ -f "$part" ] && [ ! -s "$part" ] && rm -f -- "$part"
				fail_permanent 4 "$url" "$sha" "$name" "HTTP $st" "http=$st"
				return 4 ;;
			esac ;;
		esac
		if [ $attempt -ge "$RETRIES" ]; then
			say "$name: failed after $attempt attempts: curl exit $rc ${msg}"
			h=
			[ "${st:-0}" != 0 ] && h="http=$st "
			printf 'eidf-fetch error code=1 %scurl=%s file=%s reason=curl exit %s%s after %s attempts\n' \
				"$h" "$rc" "$name" "$rc" "${h:+ (HTTP $st)}" "$attempt"
			hash_stop abort
			return 1
		fi
		say "$name: attempt $attempt failed (curl exit $rc${st:+, HTTP $st}: ${msg}); $(fsize "$part") bytes kept, retrying in ${delay}s"
		sleep "$delay"
		delay=$((delay * 2))
		[ $delay -gt 60 ] && delay=60
	done
	finish_one
}

# Verify the complete .part (size, git blob id, sha256 or MD5), rename it
# into place and write the marker: the variables of fetch_one.
finish_one() {
	size=$(fsize "$part")
	if [ -n "$fsz" ] && [ "$size" != "$fsz" ]; then
		hash_stop abort
		rm -f -- "$part"
		say "$name: size mismatch: listed $fsz bytes, got $size; removed the download"
		CUR_PART= ; save_state
		fail_permanent 3 "$url" "$sha" "$name" "size mismatch"
		return 3
	fi
	# a Hub file outside LFS: its git blob id, sha1("blob SIZE\0" + content)
	if [ -z "$ALGO" ] && [ -n "$gitsha1" ]; then
		got=$({ printf 'blob %s\0' "$size"; cat -- "$part"; } | sha1sum | cut -d' ' -f1)
		if [ "$got" != "$gitsha1" ]; then
			rm -f -- "$part"
			say "$name: git blob id mismatch: expected $gitsha1, got $got; removed the download"
			CUR_PART= ; save_state
			fail_permanent 3 "$url" "$sha" "$name" "git blob id mismatch"
			return 3
		fi
	fi
	if [ -n "$ALGO" ]; then
		hash_stop end
		got=$(cut -d' ' -f1 <"$WORK/sum" 2>/dev/null)
		if [ -n "$got" ]; then
			say "$name: $ALGO computed while downloading"
		else
			say "$name: verifying $ALGO of the whole file"
			got=$(digest_file "$part")
		fi
		if [ "$got" != "$expect" ]; then
			rm -f -- "$part"
			what="$ALGO mismatch"
			[ "$ALGO" = md5 ] && what="md5 mismatch (ETag)"
			say "$name: $what: expected $expect, got $got; removed the download"
			CUR_PART= ; save_state
			fail_permanent 3 "$url" "$sha" "$name" "$what"
			return 3
		fi
	fi
	mv -f -- "$part" "$final" || return 1
	CUR_PART= CUR_TOTAL=0
	printf '%s,"time":"%s"}\n' "$(marker_prefix "$url" "$size" "$sha" "$mk")" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
		>"$marker.tmp" && mv -f -- "$marker.tmp" "$marker"
	BYTES_DONE=$((BYTES_DONE + size))
	v=
	[ -n "$fsz" ] && v=", size verified"
	case $ALGO in
	sha256) v="$v, sha256 verified" ;;
	md5) v="$v, md5 verified (the ETag)" ;;
	*)
		if [ -n "$gitsha1" ]; then v="$v, git blob id verified"
		elif [ -n "$etag" ]; then v="$v (multipart ETag: no whole-file MD5 to check)"
		fi ;;
	esac
	v=${v#, }
	[ -n "$v" ] && v=", $v"
	say "$name: complete ($size bytes$v)"
	return 0
}

# ---- one file in byte ranges over several connections (--segments) ----
# The plan ("SIZE NSEG URL") and each segment's done bytes live on the PVC in
# $MARK/NAME.segs/, so a dropped connection, a restarted or rescheduled pod
# resumes every segment where it stopped.  Each range request's body goes
# through dd at its offset into the one NAME.part (never more than the range:
# count_bytes), and only a 206 whose Content-Range starts at the asked offset
# counts.  With --shards P, segment i is fetched by pod i % P; the pod that
# finds every segment done verifies the whole file and renames it (a lock
# directory naming its index, so its replacement can take over).
seg_dir() { printf '%s/%s.segs' "$MARK" "$1"; }
# Decide the plan once (the first pod to write it wins): 0 segmented
# (PSIZE, PN set), 1 one connection.
seg_plan() {
	sd=$(seg_dir "$name")
	if [ -f "$sd/plan" ]; then
		read -r PSIZE PN purl <"$sd/plan"
		# the state only means something with its .part (purged: start again)
		[ "$purl" = "$url" ] && [ -f "$part" ] && return 0
		rm -rf -- "$sd" "$part"   # a plan of another URL: start again
	fi
	# auto and a listed size under the threshold: no probe needed
	[ "$SEGMENTS" = auto ] && [ -n "$fsz" ] && [ "$fsz" -lt $((64 * 1048576)) ] && return 1
	: >"$WORK/probe"
	# one byte asked; a server that ignores Range sends the whole file, so
	# stop reading after the first byte (curl then ends with a write error)
	curl -K "$cfg" --fail --location --silent -r 0-0 -H "@$WORK/fhdr" -D "$WORK/probe" -o - \
		--url "$url" </dev/null 2>/dev/null | dd bs=1 count=1 of=/dev/null 2>/dev/null
	pst=$(header_status "$WORK/probe")
	case $pst in
	206) ;;
	200)
		say "$name: the server does not answer byte ranges (HTTP 200): one connection"
		return 1 ;;
	0)
		# no answer at all: the one connection retries (and says why)
		say "$name: no answer to the byte-range probe: one connection"
		return 1 ;;
	*)
		# an error (404, 503, ...): the one connection reports or retries it
		say "$name: the byte-range probe failed (HTTP $pst): one connection"
		return 1 ;;
	esac
	total=$(header_total "$WORK/probe" 0)
	PSIZE=${fsz:-$total}
	case $SEGMENTS in
	auto) PN=1
		# on for large files: one segment per 16 MiB, at most 8
		[ "$PSIZE" -ge $((64 * 1048576)) ] && PN=$((PSIZE / (16 * 1048576)))
		[ "$PN" -gt 8 ] && PN=8 ;;
	*) PN=$SEGMENTS ;;
	esac
	# segments of at least 1 MiB
	[ "$PN" -gt $((PSIZE / 1048576)) ] && PN=$((PSIZE / 1048576))
	[ "$PN" -le 1 ] && return 1
	# equal lengths (the last one shorter): no segment is empty
	sl=$(((PSIZE + PN - 1) / PN))
	PN=$(((PSIZE + sl - 1) / sl))
	mkdir -p -- "$sd" || return 1
	# the .part before the plan: a plan without its .part is stale (above)
	: >>"$part" || return 1
	printf '%s %s %s\n' "$PSIZE" "$PN" "$url" >"$sd/plan.$INDEX"
	ln -- "$sd/plan.$INDEX" "$sd/plan" 2>/dev/null
	rm -f -- "$sd/plan.$INDEX"
	read -r PSIZE PN purl <"$sd/plan"
	return 0
}
# Segment i's bounds.
seg_bounds() { # i -> SA SB (inclusive)
	sl=$(((PSIZE + PN - 1) / PN))
	SA=$(($1 * sl))
	SB=$((SA + sl - 1))
	[ "$SB" -ge "$PSIZE" ] && SB=$((PSIZE - 1))
	return 0
}
seg_done() { # i -> bytes done
	v=0
	[ -f "$sd/$1" ] && read -r v <"$sd/$1"
	echo "${v:-0}"
}
# One segment to its end, in requests of at most SEG_CHUNK bytes (what a
# killed pod can lose); 0 done, 1 transient, 4 permanent HTTP 4xx.
seg_worker() { # i
	i=$1
	seg_bounds "$i"
	d=$(seg_done "$i")
	tries=0 wait_s=$BACKOFF
	while [ $((SA + d)) -le "$SB" ]; do
		a=$((SA + d))
		b=$((a + SEG_CHUNK - 1))
		[ "$b" -gt "$SB" ] && b=$SB
		n=$((b - a + 1))
		: >"$WORK/seg$i.hdr"
		{
			curl -K "$cfg" --fail --location --silent --show-error -r "$a-$b" -H "@$WORK/fhdr" \
				-D "$WORK/seg$i.hdr" -w '%{stderr}eidf-size=%{size_download}\n' -o - --url "$url" \
				</dev/null 2>"$WORK/seg$i.err"
			echo $? >"$WORK/seg$i.rc"
		} | dd of="$part" oflag=seek_bytes seek="$a" conv=notrunc bs=1048576 iflag=count_bytes,fullblock \
			count="$n" 2>/dev/null
		ddrc=$?
		rc=$(cat "$WORK/seg$i.rc")
		st=$(header_status "$WORK/seg$i.hdr")
		cr=$(tr -d '\r' <"$WORK/seg$i.hdr" | awk 'tolower($1) == "content-range:" { split($3, r, "-"); v = r[1] } END { print v }')
		got=$(sed -n 's/^eidf-size=//p' "$WORK/seg$i.err" | tail -n 1)
		got=${got:-0}
		[ "$got" -gt "$n" ] && got=$n
		if [ "$ddrc" = 0 ] && [ "$st" = 206 ] && [ "$cr" = "$a" ] && [ "$got" -gt 0 ]; then
			d=$((d + got))
			printf '%s\n' "$d" >"$sd/$i.tmp" && mv -f -- "$sd/$i.tmp" "$sd/$i"
		fi
		[ "$rc" = 0 ] && [ "$st" = 206 ] && [ "$got" = "$n" ] && { tries=0; wait_s=$BACKOFF; continue; }
		case $st in 4[0-9][0-9])
			case $st in 408 | 429 | 416) ;; *)
				say "$name: segment $i: HTTP $st (not retried)"
				return 4 ;;
			esac ;;
		esac
		tries=$((tries + 1))
		if [ "$tries" -ge "$RETRIES" ]; then
			say "$name: segment $i failed after $tries attempts (curl exit $rc, HTTP ${st:-none})"
			return 1
		fi
		say "$name: segment $i: attempt $tries failed (curl exit $rc, HTTP ${st:-none}) at byte $((SA + d)); resuming in ${wait_s}s"
		sleep "$wait_s"
		wait_s=$((wait_s * 2))
		[ "$wait_s" -gt 60 ] && wait_s=60
	done
	return 0
}
# This pod's segments of the planned file, in parallel; then, if every
# segment of every pod is done, verify and rename.  0/1/3/4 as fetch_one.
seg_fetch() {
	: >"$WORK/segs_own"
	i=0
	while [ "$i" -lt "$PN" ]; do
		if [ $((i % SHARDS)) -eq "$INDEX" ]; then
			seg_bounds "$i"
			printf '%s %s\n' "$i" $((SB - SA + 1)) >>"$WORK/segs_own"
		fi
		i=$((i + 1))
	done
	mine=$(wc -l <"$WORK/segs_own")
	say "$name: $PSIZE bytes in $PN segments, $mine of them by this pod (one connection each)"
	CUR_NAME=$name CUR_PART= CUR_SEGS=$sd CUR_TOTAL=0 CUR_OFF=0
	while read -r i len; do CUR_TOTAL=$((CUR_TOTAL + len)); done <"$WORK/segs_own"
	save_state
	pids=
	while read -r i len; do
		( seg_worker "$i"; echo $? >"$WORK/seg$i.result" ) &
		pids="$pids $!"
	done <"$WORK/segs_own"
	for p in $pids; do wait "$p"; done
	segworst=0
	while read -r i len; do
		r=$(cat "$WORK/seg$i.result" 2>/dev/null || echo 1)
		case $r in 0) ;; 4) segworst=4 ;; *) [ "$segworst" = 0 ] && segworst=1 ;; esac
	done <"$WORK/segs_own"
	BYTES_DONE=$((BYTES_DONE + CUR_TOTAL))
	CUR_SEGS= CUR_TOTAL=0
	save_state
	if [ "$segworst" = 4 ]; then
		fail_permanent 4 "$url" "$sha" "$name" "HTTP 4xx" "http=4xx"
		return 4
	fi
	[ "$segworst" = 0 ] || return 1
	# every segment of every pod?
	i=0
	while [ "$i" -lt "$PN" ]; do
		seg_bounds "$i"
		[ "$(seg_done "$i")" -ge $((SB - SA + 1)) ] || {
			say "$name: this pod's segments are done; the pod that finishes the last one verifies the file"
			return 0
		}
		i=$((i + 1))
	done
	if ! mkdir -- "$sd/final" 2>/dev/null; then
		owner=$(cat -- "$sd/final/owner" 2>/dev/null)
		if [ "$owner" != "$INDEX" ]; then
			say "$name: every segment is done; pod $owner verifies the file"
			return 0
		fi
	fi
	echo "$INDEX" >"$sd/final/owner"
	: >"$WORK/sum"   # no digest from a follower: finish_one hashes the file
	BYTES_DONE=$((BYTES_DONE - PSIZE))   # finish_one adds the whole file
	[ -z "$fsz" ] && fsz=$PSIZE
	finish_one
	r=$?
	[ $r = 0 ] || [ $r = 3 ] && rm -rf -- "$sd"
	return $r
}
# Another pod's file (--shards): only this pod's segments of it, if it is
# split; done files and unsplit ones are the other pod's.
seg_foreign() { # url sha name fields
	parse_fields "$@"
	[ -f "$final" ] && [ -f "$marker" ] && return 0
	seg_plan || return 0
	seg_fetch
}

save_state
say "index $INDEX of $SHARDS: $FILES_TOTAL file(s) into $DEST"
reporter &
REPORTER=$!
failed=0 transient=0 worst=0
while IFS="$TAB" read -r url sha name fields <&3; do
	[ -z "$url" ] && continue
	fetch_one "$url" "$sha" "$name" "$fields"
	r=$?
	if [ $r = 0 ]; then
		FILES_DONE=$((FILES_DONE + 1))
	else
		failed=$((failed + 1))
		# the first deterministic failure's code; anything else is transient
		case $r in
		[2-6]) [ $worst = 0 ] && worst=$r ;;
		*) transient=$((transient + 1)) ;;
		esac
	fi
	CUR_NAME= CUR_PART= CUR_TOTAL=0
	save_state
done 3<"$WORK/mine"
if [ -n "$SEGMENTS" ] && [ "$SHARDS" -gt 1 ]; then
	while IFS="$TAB" read -r url sha name fields <&3; do
		[ -z "$url" ] && continue
		seg_foreign "$url" "$sha" "$name" "$fields"
		r=$?
		case $r in 0) ;; [2-6]) failed=$((failed + 1)); [ $worst = 0 ] && worst=$r ;; *) failed=$((failed + 1)); transient=$((transient + 1)) ;; esac
		CUR_NAME= CUR_PART= CUR_TOTAL=0
		save_state
	done 3<"$WORK/theirs"
fi
kill "$REPORTER" 2>/dev/null
wait "$REPORTER" 2>/dev/null
REPORTER=
progress_line 0
if [ $failed -gt 0 ]; then
	# what stays on the volume: resumed by a retry, else removed by
	# `fetch delete --purge-partial`
	while IFS="$TAB" read -r url sha name fields; do
		[ -n "$name" ] && [ -f "$DEST/$name.part" ] &&
			printf 'eidf-fetch partial bytes=%s file=%s\n' "$(fsize "$DEST/$name.part")" "$name"
	done <"$WORK/mine"
	say "error: $failed of $FILES_TOTAL file(s) failed"
	printf 'eidf-fetch failed files=%s/%s failed=%s\n' "$FILES_DONE" "$FILES_TOTAL" "$failed"
	# transient failures first: the next pod resumes them
	[ $transient -gt 0 ] && exit 1
	exit $worst
fi
printf 'eidf-fetch done files=%s/%s bytes=%s\n' "$FILES_TOTAL" "$FILES_TOTAL" "$BYTES_DONE"
exit 0
