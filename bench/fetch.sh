#!/bin/bash
# Benchmark: fetch-job.sh (busybox sh + curl) against a bare `curl -o` on
# loopback, from tests/servers/http_data_server.py.  Reports the throughput
# ratio (goal >= 0.95) and the bytes re-sent after connection drops.
#   bench/fetch.sh [--quick] [--size MiB] [--runs N]
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
SIZE_MIB=1024 RUNS=3
while [ $# -gt 0 ]; do
	case $1 in
	--quick) SIZE_MIB=128 RUNS=2 ;;
	--size) SIZE_MIB=$2; shift ;;
	--runs) RUNS=$2; shift ;;
	*) echo "usage: $0 [--quick] [--size MiB] [--runs N]" >&2; exit 2 ;;
	esac
	shift
done
BUSYBOX=$(command -v busybox) || { echo "needs busybox" >&2; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/eidf-bench-fetch.XXXXXX")
trap 'kill $SRV 2>/dev/null; rm -rf "$W"' EXIT
mkdir -p "$W/root" "$W/bb" "$W/out"
"$BUSYBOX" --install -s "$W/bb"
rm -f "$W/bb/wget" "$W/bb/curl"
ln -s "$(command -v curl)" "$W/bb/curl"
head -c $((SIZE_MIB * 1048576)) /dev/urandom >"$W/root/data.bin"
SHA=$(sha256sum <"$W/root/data.bin" | cut -d' ' -f1)
python3 "$SRC/tests/servers/http_data_server.py" --root "$W/root" --port-file "$W/port" >/dev/null 2>&1 &
SRV=$!
for _ in $(seq 50); do [ -s "$W/port" ] && break; sleep 0.1; done
BASE=http://127.0.0.1:$(cat "$W/port")
now() { date +%s.%N; }
mbps() { python3 -c "import sys; print('%.0f' % ($SIZE_MIB / (float(sys.argv[2]) - float(sys.argv[1]))))" "$1" "$2"; }
run_script() { # extra args...
	env -i PATH="$W/bb" EIDF_FETCH_LIST="$(printf '%s\t%s\t%s' "$BASE/data.bin" "$1" data.bin)" \
		"$BUSYBOX" sh -c "$(cat "$SRC/plugins/fetch/fetch-job.sh")" fetch-job \
		--dest "$W/out/s" --backoff 0 >"$W/log" 2>&1
}
best_curl=0 best_script=0 best_verify=0
for r in $(seq "$RUNS"); do
	rm -f "$W/out/c.bin"; t0=$(now)
	curl -fsS -o "$W/out/c.bin" "$BASE/data.bin"; t1=$(now)
	v=$(mbps "$t0" "$t1"); [ "$v" -gt "$best_curl" ] && best_curl=$v
	rm -rf "$W/out/s"; t0=$(now); run_script -; t1=$(now)
	v=$(mbps "$t0" "$t1"); [ "$v" -gt "$best_script" ] && best_script=$v
	rm -rf "$W/out/s"; t0=$(now); run_script "$SHA"; t1=$(now)
	v=$(mbps "$t0" "$t1"); [ "$v" -gt "$best_verify" ] && best_verify=$v
done
ratio=$(python3 -c "print('%.3f' % ($best_script / $best_curl))")
rm -rf "$W/out/s"
curl -fsS "$BASE/_control?reset=1" >/dev/null
drops=4
curl -fsS "$BASE/_control?path=/data.bin&drop_after=$((SIZE_MIB * 1048576 / (drops + 2)))&drop_times=$drops&drop_rst=1" >/dev/null
run_script "$SHA"
sent=$(curl -fsS "$BASE/_stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["/data.bin"]["bytes"])')
extra=$((sent - SIZE_MIB * 1048576))
printf 'fetch benchmark: %d MiB on loopback, best of %d\n' "$SIZE_MIB" "$RUNS"
printf '  bare curl -o             %6d MiB/s\n' "$best_curl"
printf '  fetch-job.sh             %6d MiB/s  (ratio %s, goal >= 0.95)\n' "$best_script" "$ratio"
printf '  fetch-job.sh + sha256    %6d MiB/s\n' "$best_verify"
printf '  %d connection resets: %d bytes re-sent (%d per drop)\n' "$drops" "$extra" $((extra / drops))
