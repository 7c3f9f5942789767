#!/bin/sh
# devrun session attach: the output of the session's current run (followed
# until it ends) or else of its last one, from runs/RUN/out and err, which
# session-run.sh writes; exits with the run's exit code.  Run by devrun with
# an exec in the main container (this script on its stdin, nothing after).
S=${EIDF_SESSION_DIR:-/eidf/session}
r=$(cat "$S/lock/run" 2>/dev/null) || r=
case $r in ''|idle) r=$(cat "$S/previous" 2>/dev/null) || r= ;; esac
[ -n "$r" ] && [ -d "$S/runs/$r" ] || { echo "devrun: no run in this session yet" >&2; exit 3; }
d=$S/runs/$r
if [ -f "$d/rc" ]; then
	echo "devrun: run $r (ended)" >&2
else
	echo "devrun: run $r (running; Ctrl-C stops following, not the run)" >&2
fi
# copy_new FILE OFFSET: print what FILE has beyond OFFSET bytes; echo the new size
size() { n=$(wc -c <"$1" 2>/dev/null) || n=0; echo $((n)); }
o1=0 o2=0
while :; do
	ended=0
	[ -f "$d/rc" ] && ended=1
	n1=$(size "$d/out")
	n2=$(size "$d/err")
	[ "$n1" -gt "$o1" ] && tail -c +$((o1 + 1)) "$d/out" | head -c $((n1 - o1))
	[ "$n2" -gt "$o2" ] && tail -c +$((o2 + 1)) "$d/err" | head -c $((n2 - o2)) >&2
	o1=$n1 o2=$n2
	[ "$ended" = 1 ] && break
	sleep 0.2
done
read -r kind code rest <"$d/rc"
case $kind in
exit) exit "$code" ;;
cancelled) exit 130 ;;
*) echo "devrun: run $r did not run its command ($kind $code)" >&2; exit 125 ;;
esac
