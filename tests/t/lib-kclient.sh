# Helpers for the API client tests (t003x), sourced after lib.sh.
#
#   start_stub [https_stub.py options]   starts tests/servers/https_stub.py in
#       the background; sets STUB_URL, STUB_PORT, CERTS (ca.crt, client.crt...),
#       REQLOG (one JSON line per request) and SCRIPT (rules file, empty list)
#   stop_stub
#   probe ARGS...     kclient-probe against the stub, trusting its CA
#   set_script JSON   replace the stub's scripted responses
#   req_count / conn_count   requests / TLS connections the stub has seen
PROBE=$EIDF_BUILD/tests/kclient-probe
STUB_PY=$EIDF_SRC/tests/servers/https_stub.py
CERTS=$TRASH/certs
REQLOG=$TRASH/requests.log
SCRIPT=$TRASH/script.json
STUB_PID=

if [ ! -x "$PROBE" ]; then
	echo "1..0 # SKIP kclient-probe not built ($PROBE)"
	exit 0
fi
python3 "$STUB_PY" --make-certs "$CERTS" || { echo "Bail out! cannot make certificates"; exit 1; }

start_stub() {
	local portfile=$TRASH/stub.port i
	rm -f "$portfile"
	: >"$REQLOG"
	[ -f "$SCRIPT" ] || echo '[]' >"$SCRIPT"
	python3 "$STUB_PY" --dir "$CERTS" --log "$REQLOG" --script "$SCRIPT" \
		--port-file "$portfile" "$@" 2>"$TRASH/stub.err" &
	STUB_PID=$!
	test_atexit "kill $STUB_PID"
	for i in $(seq 1 100); do
		[ -s "$portfile" ] && break
		sleep 0.05
	done
	if [ ! -s "$portfile" ]; then
		echo "Bail out! stub server did not start"; cat "$TRASH/stub.err"; exit 1
	fi
	STUB_PORT=$(cat "$portfile")
	case " $* " in
	*" --plain "*) STUB_URL=http://127.0.0.1:$STUB_PORT ;;
	*) STUB_URL=https://127.0.0.1:$STUB_PORT ;;
	esac
}

stop_stub() {
	[ -n "$STUB_PID" ] && kill "$STUB_PID" 2>/dev/null && wait "$STUB_PID" 2>/dev/null
	STUB_PID=
	return 0
}

probe() {
	"$PROBE" --server "$STUB_URL" --ca "$CERTS/ca.crt" "$@"
}

set_script() {
	# a new mtime even within the same second: write elsewhere, then rename
	printf '%s\n' "$1" >"$SCRIPT.tmp" && mv "$SCRIPT.tmp" "$SCRIPT"
	touch -d "+$((RANDOM % 1000 + 1)) seconds" "$SCRIPT"
}

req_count() { grep -c '"method"' "$REQLOG"; }
conn_count() { jq -r 'select(.conn) | .conn' "$REQLOG" | sort -u | wc -l; }
# headers NAME: values of request header NAME in the last request
last_header() { tail -n 1 "$REQLOG" | jq -r --arg n "$1" '.headers[] | select(.[0] | ascii_downcase == ($n | ascii_downcase)) | .[1]'; }
