#!/bin/sh
# devrun session: the command of the main (GPU) container.  It holds the pod
# while runs come in through the exec API (session-run.sh) and ends it after
# EIDF_SESSION_IDLE seconds without a run, so the GPUs and the quota go back
# to the queue.  POSIX sh; needs only sh, cat, date and sleep in the image.
#
#   EIDF_SESSION_DIR    the session's shared directory (default /eidf/session)
#   EIDF_SESSION_IDLE   seconds without a run before the pod ends (default 1800)
S=${EIDF_SESSION_DIR:-/eidf/session}
idle=${EIDF_SESSION_IDLE:-1800}
case $idle in ''|*[!0-9]*) idle=1800 ;; esac
tick=5
[ "$idle" -ge 60 ] || tick=1
date +%s >"$S/last"
trap 'exit 0' TERM INT
echo "devrun session: holding the pod; it ends after ${idle}s without a run"
while :; do
	sleep "$tick" &
	wait $!
	if [ -d "$S/lock" ]; then
		# a run holds the session; its wrapper gone (killed) means a stale lock
		pid=$(cat "$S/lock/pid" 2>/dev/null) || pid=
		if [ -n "$pid" ] && [ ! -d "/proc/$pid" ]; then
			rm -rf "$S/lock"
		fi
		continue
	fi
	last=$(cat "$S/last" 2>/dev/null) || last=0
	case $last in ''|*[!0-9]*) last=0 ;; esac
	now=$(date +%s)
	[ $((now - last)) -ge "$idle" ] || continue
	# take the lock for good, so that no run starts while the pod ends
	mkdir "$S/lock" 2>/dev/null || continue
	echo idle >"$S/lock/run"
	echo "devrun session: no run for ${idle}s: ending the pod, which frees its GPUs"
	# the code agent ends with us (a read-write open never blocks)
	[ -p "$S/ctl" ] && printf 'exit\n' 1<>"$S/ctl"
	exit 0
done
