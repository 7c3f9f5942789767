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
