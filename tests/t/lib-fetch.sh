# Shared by the fetch tests: the HTTP data server they download from.
#
# start_data_server [SERVER ARGS...]: tests/servers/http_data_server.py on a
# free loopback port, serving $TRASH/root (extra args, e.g. --auth VALUE, go
# to the server); sets BASE and SERVER_PID, stopped when the test ends.
# ctl SWITCHES          set the server's switches ("path=/a.bin&rate=N")
# srv_stat PATH FIELD   one counter of the server's /_stats (lists: their length)
# total_bytes           bytes the server sent over all paths
# sha FILE              sha256 of a file
# job_of OUT            the Job name from a "job.batch/NAME created" line
#
# The outage tests (t0704, t0706, t0707) also use:
# start_slow_data_server  start_data_server, with a 3 MiB root/slow.bin to hold
# held_fetch DEST       a fetch Job ($FETCH, PVC data) of root/slow.bin whose download
#                       the data server holds at 1 MiB (trickling) until
#                       `ctl path=/slow.bin&hold_at=0`; prints the Job name
# bg NAME CMD...        run CMD in the background; NAME.out, NAME.err, NAME.rc
# lost_once ERR CAUSE   ERR says once that the API server was lost (CAUSE: a regex)
# back_once ERR         ERR says once that it is back
start_data_server() {
	mkdir -p "$TRASH/root"
	python3 "$EIDF_SRC/tests/servers/http_data_server.py" --root "$TRASH/root" "$@" \
		--port-file "$TRASH/port" >"$TRASH/server.log" 2>&1 &
	SERVER_PID=$!
	test_atexit "kill $SERVER_PID"
	wait_for 5 test -s "$TRASH/port" || return 1
	BASE=http://127.0.0.1:$(cat "$TRASH/port")
}
ctl() { curl -fsS "$BASE/_control?$1" >/dev/null; }
srv_stat() {
	curl -fsS "$BASE/_stats" | python3 -c 'import json,sys; s=json.load(sys.stdin).get(sys.argv[1], {}); v=s.get(sys.argv[2], 0); print(len(v) if isinstance(v, list) else v)' "$1" "$2"
}
total_bytes() {
	curl -fsS "$BASE/_stats" | python3 -c 'import json,sys; print(sum(v["bytes"] for v in json.load(sys.stdin).values()))'
}
sha() { sha256sum <"$1" | cut -d' ' -f1; }
job_of() { sed -n 's|^job.batch/\([^ ]*\) created$|\1|p' "$1"; }
start_slow_data_server() {
	start_data_server "$@" && head -c 3145728 /dev/urandom >"$TRASH/root/slow.bin"
}
held_fetch() {
	ctl reset=1 && ctl "path=/slow.bin&hold_at=1048576" &&
	$FETCH "$BASE/slow.bin" --sha256 "$(sha root/slow.bin)" --pvc data --dest "$1" \
		--progress-interval 1 >"$1.out" 2>"$1.err" &&
	job_of "$1.out"
}
bg() {
	local n=$1
	shift
	("$@" >"$TRASH/$n.out" 2>"$TRASH/$n.err"; echo $? >"$TRASH/$n.rc") &
}
lost_once() { test "$(grep -c "^lost the API server ($2); retrying" "$1")" = 1; }
back_once() { test "$(grep -c "^reconnected to the API server" "$1")" = 1; }
