#!/bin/sh
# devrun session: stop a run (Ctrl-C in devrun), started with an exec
# in the main container:  session-cancel RUN GRACE
# SIGINT to the command's process group, then SIGTERM after GRACE seconds,
# then SIGKILL after 2 more; returns once the process group is gone.  A run
# still preparing its code is marked so that its command never starts.
S=${EIDF_SESSION_DIR:-/eidf/session}
run=$1 grace=${2:-10}
case $run in ''|*[!a-z0-9]*) exit 2 ;; esac
case $grace in ''|*[!0-9]*) grace=10 ;; esac
[ -d "$S/runs/$run" ] && : >"$S/runs/$run/cancel"
[ "$(cat "$S/lock/run" 2>/dev/null)" = "$run" ] || exit 0
pg=$(cat "$S/lock/cmd" 2>/dev/null) || exit 0
case $pg in ''|*[!0-9]*) exit 0 ;; esac
alive() { kill -0 -- "-$pg" 2>/dev/null || kill -0 "$pg" 2>/dev/null; }
signal() { kill -s "$1" -- "-$pg" 2>/dev/null || kill -s "$1" "$pg" 2>/dev/null; }
# wait_gone TENTHS: up to TENTHS/10 s for the group to go
wait_gone() {
	i=0
	while alive; do
		[ "$i" -lt "$1" ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 0
}
signal INT
wait_gone $((grace * 10)) && exit 0
echo "devrun: the command did not stop within ${grace}s of SIGINT: SIGTERM" >&2
signal TERM
wait_gone 20 && exit 0
echo "devrun: SIGKILL" >&2
signal KILL
wait_gone 50
