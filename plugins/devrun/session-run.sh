#!/bin/sh
# devrun session: one run, started by devrun with `kubectl exec -i` in the
# main container of the session pod.  POSIX sh; needs sh, cat, head, mkdir,
# mkfifo, tee, date and sleep (setsid if present) in the image.
#
#   session-run RUN COMMIT BASE TREE FULL REF SIZE SHA256 SHELL [NAME=VALUE...] -- COMMAND [ARGS...]
#
# It takes the session's lock (one run at a time), reads SIZE bytes of local
# changes from stdin, has the code agent (session-agent.sh, in the sync
# container) make /code the laptop's tree, then runs COMMAND with its argv
# exactly as given (SHELL=1: `/bin/sh -c "COMMAND ARGS..."`) in /code, with
# the NAME=VALUE pairs (devrun --env) in its environment, in a
# session of its own so that `session-cancel` can signal its whole process
# group, and exits with its exit code.  How the run ended is also written to
# runs/RUN/rc, which devrun reads when the exit code alone is ambiguous:
#   exit N             the command ran and exited with N
#   prepare N          the code agent refused (4 tree mismatch, 5 unknown base)
#   busy RUN SINCE     another run holds the session
#   cancelled          stopped before the command started
S=${EIDF_SESSION_DIR:-/eidf/session}
run=$1 commit=$2 base=$3 tree=$4 full=$5 ref=$6 size=$7 sha=$8 shell=$9
shift 9
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	export "$1"
	shift
done
[ "${1:-}" = -- ] && shift
case $run in ''|*[!a-z0-9]*) echo "devrun: error: bad run id '$run'" >&2; exit 125 ;; esac
d=$S/runs/$run
mkdir -p "$d" || { echo "devrun: error: cannot create $d" >&2; exit 125; }
result() { printf '%s\n' "$1" >"$d/rc.tmp" && mv -f "$d/rc.tmp" "$d/rc"; }

# the lock: a directory, created atomically; a holder whose wrapper is gone is stale
if ! mkdir "$S/lock" 2>/dev/null; then
	holder=$(cat "$S/lock/run" 2>/dev/null) || holder=
	hpid=$(cat "$S/lock/pid" 2>/dev/null) || hpid=
	if [ -n "$hpid" ] && [ ! -d "/proc/$hpid" ] && rm -rf "$S/lock" && mkdir "$S/lock" 2>/dev/null; then
		:
	else
		since=$(cat "$S/lock/since" 2>/dev/null) || since=0
		result "busy ${holder:-unknown} ${since:-0}"
		exit 125
	fi
fi
printf '%s\n' "$run" >"$S/lock/run"
printf '%s\n' "$$" >"$S/lock/pid"
now=$(date +%s)
printf '%s\n' "$now" >"$S/lock/since"
printf '%s\n' "$now" >"$S/last"
release() { date +%s >"$S/last"; rm -rf "$S/lock"; }

# keep only this run's directory (and the previous one, for `session attach`)
read -r prev 2>/dev/null <"$S/previous" || prev=
for o in "$S"/runs/*; do
	[ -d "$o" ] || continue
	case $o in "$d"|"$S/runs/$prev") continue ;; esac
	rm -rf "$o"
done
printf '%s\n' "$run" >"$S/previous"

if [ "$size" -gt 0 ] 2>/dev/null; then
	head -c "$size" >"$d/payload"
fi
printf '%s\n' "$commit" "$base" "$tree" "$full" "$ref" "$size" "$sha" >"$d/req"

# the code agent creates its FIFO when the sync container starts
i=0
while [ ! -p "$S/ctl" ]; do
	if [ "$i" -ge 100 ]; then
		echo "devrun: error: the session's code agent (container sync) is not running" >&2
		result "prepare 1"
		release
		exit 125
	fi
	sleep 0.1
	i=$((i + 1))
done
mkfifo "$d/done" || { result "prepare 1"; release; exit 125; }
exec 4<>"$d/done"
printf '%s\n' "$run" 1<>"$S/ctl"
read -r res <&4
exec 4<&-
[ -s "$d/log" ] && cat "$d/log" >&2
if [ "$res" != 0 ]; then
	result "prepare $res"
	release
	exit 125
fi
if [ -f "$d/cancel" ]; then
	result cancelled
	release
	exit 130
fi

cd "${EIDF_CODE_DIR:-/code}" || { result "prepare 1"; release; exit 125; }
export EIDF_RUN="$run" EIDF_COMMIT="$commit"
if [ "$shell" = 1 ]; then
	set -- /bin/sh -c "$*"
fi
# In the foreground (an asynchronous command would start with SIGINT
# ignored); the first process records its pid, which setsid makes the id of
# its own process group.
# Its output also goes to runs/RUN/out and err, for `devrun session attach`.
starter='printf "%s\n" "$$" >"$0"; exec "$@"'
mkfifo "$d/out.pipe" "$d/err.pipe" || { result "prepare 1"; release; exit 125; }
tee "$d/out" <"$d/out.pipe" &
t1=$!
tee "$d/err" <"$d/err.pipe" >&2 &
t2=$!
if command -v setsid >/dev/null 2>&1; then
	setsid sh -c "$starter" "$S/lock/cmd" "$@" </dev/null >"$d/out.pipe" 2>"$d/err.pipe"
else
	sh -c "$starter" "$S/lock/cmd" "$@" </dev/null >"$d/out.pipe" 2>"$d/err.pipe"
fi
rc=$?
wait "$t1" "$t2"
result "exit $rc"
release
exit "$rc"
