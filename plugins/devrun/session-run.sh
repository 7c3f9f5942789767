#!/bin/sh
# devrun session: one run, started by devrun with an exec (stdin: this
# script, read by the bootstrap in the exec's URL, then the run's request,
# then the local changes) in the main container of the session pod.  POSIX
# sh; needs sh, dd, cat, head, mkdir, mkfifo, rm, tee, date and sleep
# (setsid if present) in the image.
#
#   session-run RUN SHELL NOW [NAME=VALUE...] -- COMMAND [ARGS...]
#
# devrun starts the exec before it has looked at the work tree, so that the
# connection, the exec and the steps here up to the request overlap with
# its diff; the request comes first on stdin, one line each:
#   eidf-session-run 1      (anything else, or the end of stdin: devrun
#                            gave up before the run; it ends, nothing run)
#   COMMIT BASE TREE FULL REF SIZE SHA256 KIND
# then SIZE bytes of local changes (read exactly: under the v4 exec protocol
# stdin cannot be closed).
#
# It takes the session's lock (one run at a time), reads the request and
# the changes, has the code agent (session-agent.sh, in the sync container)
# make /code the laptop's tree, then runs COMMAND with its argv
# exactly as given (SHELL=1: `/bin/sh -c "COMMAND ARGS..."`) in /code, with
# the NAME=VALUE pairs (devrun --env) in its environment, in a
# session of its own so that `session-cancel` can signal its whole process
# group, and exits with its exit code.  How the run ended is also written to
# runs/RUN/rc, which devrun reads when the exit code alone is ambiguous:
#   exit N             the command ran and exited with N
#   prepare N          the code agent refused (4 tree mismatch, 5 unknown base)
#   busy RUN SINCE     another run holds the session
#   cancelled          stopped before the command started
# NOW (devrun's clock, seconds) is when the run began, for "busy since";
# KIND says what the payload is: tar (files.tar.gz, deleted, restore, ...)
# or tgz (files.tar.gz alone).
# Every step before the command is a shell builtin or one of a few
# processes (mkdir, head, mkfifo; the agent's tar and git; the FIFOs and
# tees while the agent works); the bookkeeping that can wait (old run
# directories, putting /code back) comes after the command.
S=${EIDF_SESSION_DIR:-/eidf/session}
run=$1 shell=$2 now=$3
shift 3
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	export "$1"
	shift
done
[ "${1:-}" = -- ] && shift
case $run in ''|*[!a-z0-9]*) echo "devrun: error: bad run id '$run'" >&2; exit 125 ;; esac
case $now in ''|*[!0-9]*) now=0 ;; esac
d=$S/runs/$run
result() { printf '%s\n' "$1" >"$d/rc"; }
release() { date +%s >"$S/last"; rm -rf "$S/lock"; }

# the code agent makes runs/ and then its FIFOs when the sync container
# starts: a run that comes as soon as the pod is ready waits for them
i=0
while [ ! -p "$S/reply" ]; do
	if [ "$i" -ge 100 ]; then
		echo "devrun: error: the session's code agent (container sync) is not running" >&2
		exit 125
	fi
	sleep 0.1
	i=$((i + 1))
done

# the lock: a directory, created atomically (with the run's own directory,
# by one mkdir: it fails only for the lock); a holder whose wrapper is gone
# is stale
if ! mkdir "$S/lock" "$d" 2>/dev/null; then
	# no run directory: the lock, when this mkdir made it, is still empty
	[ -d "$d" ] || { rmdir "$S/lock" 2>/dev/null; echo "devrun: error: cannot create $d" >&2; exit 125; }
	holder= hpid= since=
	read -r holder 2>/dev/null <"$S/lock/run"
	read -r hpid 2>/dev/null <"$S/lock/pid"
	if [ -n "$hpid" ] && [ ! -d "/proc/$hpid" ] && rm -rf "$S/lock" && mkdir "$S/lock" 2>/dev/null; then
		:
	else
		read -r since 2>/dev/null <"$S/lock/since"
		result "busy ${holder:-unknown} ${since:-0}"
		exit 125
	fi
fi
printf '%s\n' "$run" >"$S/lock/run"
printf '%s\n' "$$" >"$S/lock/pid"
printf '%s\n' "$now" >"$S/lock/since"

# the request (read builtins: nothing past it is consumed)
hdr= commit= base= tree= full= ref= size= sha= kind=
read -r hdr
if [ "$hdr" != "eidf-session-run 1" ] || ! { read -r commit && read -r base && read -r tree &&
	read -r full && read -r ref && read -r size && read -r sha && read -r kind; }; then
	rm -rf "$d"
	release
	exit 125
fi
prev=
read -r prev 2>/dev/null <"$S/previous"
printf '%s\n' "$run" >"$S/previous"
if [ "$size" -gt 0 ] 2>/dev/null; then
	head -c "$size" >"$d/payload"
fi
printf '%s\n' "$commit" "$base" "$tree" "$full" "$ref" "$size" "$sha" "$kind" >"$d/req"

# one run at a time holds the lock, so one answer is ours; an answer a
# killed run never read is skipped by its run id
exec 4<>"$S/reply"
printf '%s\n' "$run" 1<>"$S/ctl"

# While the agent prepares the code: the command's output also goes to
# runs/RUN/out and err, for `devrun session attach` (FIFOs of the run's own:
# a command a detached run left behind never writes into the next run's).
# The command runs in the foreground (an asynchronous one would start with
# SIGINT ignored); the first process records its pid, which setsid makes the
# id of its own process group.
starter='printf "%s\n" "$$" >"$0"; exec "$@"'
if ! mkfifo "$d/out.pipe" "$d/err.pipe"; then
	result "prepare 1"
	printf 'clean %s\n' "$run" 1<>"$S/ctl"
	release
	exit 125
fi
tee "$d/out" <"$d/out.pipe" &
t1=$!
tee "$d/err" <"$d/err.pipe" >&2 &
t2=$!
# not_run: the tees end (nothing will write) before the wrapper does
not_run() { : >"$d/out.pipe"; : 2>"$d/err.pipe"; wait "$t1" "$t2"; }

res=
while read -r who res <&4; do
	[ "$who" = "$run" ] && break
done
exec 4<&-
[ -s "$d/log" ] && cat "$d/log" >&2
if [ "$res" != 0 ]; then
	not_run
	result "prepare ${res:-1}"
	release
	exit 125
fi
if [ -f "$d/cancel" ]; then
	not_run
	result cancelled
	printf 'clean %s\n' "$run" 1<>"$S/ctl"
	release
	exit 130
fi

cd "${EIDF_CODE_DIR:-/code}" || { not_run; result "prepare 1"; release; exit 125; }
export EIDF_RUN="$run" EIDF_COMMIT="$commit"
if [ "$shell" = 1 ]; then
	set -- /bin/sh -c "$*"
fi
if command -v setsid >/dev/null 2>&1; then
	setsid sh -c "$starter" "$S/lock/cmd" "$@" </dev/null >"$d/out.pipe" 2>"$d/err.pipe"
else
	sh -c "$starter" "$S/lock/cmd" "$@" </dev/null >"$d/out.pipe" 2>"$d/err.pipe"
fi
rc=$?
wait "$t1" "$t2"
result "exit $rc"

# after the command: /code back to the verified tree (by the agent, before
# any next run's request), and only this run's directory and the previous
# one kept (for `devrun session attach`)
printf 'clean %s\n' "$run" 1<>"$S/ctl"
for o in "$S"/runs/*; do
	case $o in "$d"|"$S/runs/$prev") ;; *) [ -d "$o" ] && rm -rf "$o" ;; esac
done
release
exit "$rc"
