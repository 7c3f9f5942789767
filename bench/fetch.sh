#!/bin/bash
# Benchmark: fetch-job.sh (busybox sh + curl) against a bare `curl -o` on
# loopback, from tests/servers/http_data_server.py.  Every variant runs once
# per round, in a rotating order (so no variant always follows the same one),
# after one warm-up round; the figures are medians over the rounds.  Reports
# the throughput ratio script/curl (goal >= 0.95), the same with sha256, and
# the bytes re-sent after clean closes and after TCP resets.
#   bench/fetch.sh [--quick] [--size MiB] [--runs N] [--profile]
#   bench/fetch.sh --p8 [--quick] [--size MiB] [--runs N] [--rate MiB/s]
# --profile adds variants that isolate the script's costs: curl with the
# script's options, curl then sha256sum, curl | tee | sha256sum.
# --p8 (benchmark P8): one file served with a per-connection throttle (--rate,
# default 16 MiB/s per connection, as servers that cap each connection), side
# by side: the script on one connection, the script with --segments 8, and
# aria2c -x8 -s8 (Debian's aria2); all three verify the sha256.  Goal: the
# segments at >= 1.0x aria2's throughput.  Also the bytes re-sent after drops
# in several segments.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
SIZE_MIB=1024 RUNS=5 PROFILE=0 P8=0 RATE_MIB=16
while [ $# -gt 0 ]; do
	case $1 in
	--quick) SIZE_MIB=128 RUNS=3 ;;
	--size) SIZE_MIB=$2; shift ;;
	--runs) RUNS=$2; shift ;;
	--profile) PROFILE=1 ;;
	--p8) P8=1 ;;
	--rate) RATE_MIB=$2; shift ;;
	*) echo "usage: $0 [--p8] [--quick] [--size MiB] [--runs N] [--profile] [--rate MiB/s]" >&2; exit 2 ;;
	esac
	shift
done
# P8 is long (a throttled GiB on one connection): fewer rounds by default
[ $P8 = 1 ] && [ "$RUNS" = 5 ] && RUNS=1
BUSYBOX=$(command -v busybox) || { echo "needs busybox" >&2; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/eidf-bench-fetch.XXXXXX")
SRV=
trap '[ -n "$SRV" ] && kill $SRV 2>/dev/null; rm -rf "$W"' EXIT
mkdir -p "$W/root" "$W/bb" "$W/out"
"$BUSYBOX" --install -s "$W/bb"
rm -f "$W/bb/wget" "$W/bb/curl"
ln -s "$(command -v curl)" "$W/bb/curl"
# P8: an image with openssl (the script hashes a segmented file with it after
# the download); without, busybox 1.35's sha256sum (no SHA-NI) bounds it
if [ $P8 = 1 ] && [ "${P8_NO_OPENSSL:-0}" != 1 ] && command -v openssl >/dev/null; then
	ln -s "$(command -v openssl)" "$W/bb/openssl"
fi
head -c $((SIZE_MIB * 1048576)) /dev/urandom >"$W/root/data.bin"
SHA=$(sha256sum <"$W/root/data.bin" | cut -d' ' -f1)
python3 "$SRC/tests/servers/http_data_server.py" --root "$W/root" --port-file "$W/port" >/dev/null 2>&1 &
SRV=$!
for _ in $(seq 50); do [ -s "$W/port" ] && break; sleep 0.1; done
BASE=http://127.0.0.1:$(cat "$W/port")
: >"$W/hdrs"

# The variants: each writes $W/out/<variant> and must exit 0.  PATH has the
# busybox applets first, as in alpine/curl (sha256sum and tee are busybox's).
v_curl() { curl -fsS -o "$W/out/f" "$BASE/data.bin"; }
v_curl_opts() {
	curl --fail --location --silent --show-error -C - --connect-timeout 30 --speed-limit 1 \
		--speed-time 120 -H "@$W/hdrs" -D "$W/hdr" -o "$W/out/f" --url "$BASE/data.bin"
}
v_curl_then_sha() { v_curl && PATH=$W/bb sha256sum <"$W/out/f" >/dev/null; }
v_curl_tee_sha() {
	set -o pipefail
	curl -fsS "$BASE/data.bin" | PATH=$W/bb tee "$W/out/f" | PATH=$W/bb sha256sum >/dev/null
}
run_script() { # sha
	env -i PATH="$W/bb" EIDF_FETCH_LIST="$(printf '%s\t%s\t%s' "$BASE/data.bin" "$1" data.bin)" \
		"$BUSYBOX" sh -c "$(cat "$SRC/plugins/fetch/fetch-job.sh")" fetch-job \
		--dest "$W/out/s" --backoff 0 >"$W/log" 2>&1
}
v_script() { run_script -; }
v_script_sha() { run_script "$SHA"; }
# P8: the throttle is set per path and applies to every connection
run_segments() { # sha
	env -i PATH="$W/bb" EIDF_FETCH_LIST="$(printf '%s\t%s\t%s' "$BASE/data.bin" "$1" data.bin)" \
		"$BUSYBOX" sh -c "$(cat "$SRC/plugins/fetch/fetch-job.sh")" fetch-job \
		--dest "$W/out/s" --backoff 0 --segments 8 >"$W/log" 2>&1
}
v_single_sha() { run_script "$SHA"; }
v_segments8_sha() { run_segments "$SHA"; }
v_aria2_x8_sha() {
	aria2c -q -x8 -s8 -k1M --file-allocation=none --allow-overwrite=true --auto-file-renaming=false \
		--checksum=sha-256="$SHA" -d "$W/out" -o f "$BASE/data.bin" >"$W/log" 2>&1
}

VARIANTS="curl script curl_then_sha script_sha"
[ $PROFILE = 1 ] && VARIANTS="$VARIANTS curl_opts curl_tee_sha"
if [ $P8 = 1 ]; then
	command -v aria2c >/dev/null || { echo "--p8 needs aria2c (Debian's aria2)" >&2; exit 1; }
	curl -fsS "$BASE/_control?path=/data.bin&rate=$((RATE_MIB * 1048576))" >/dev/null
	VARIANTS="single_sha segments8_sha aria2_x8_sha"
fi
now() { date +%s.%N; }
: >"$W/times"
read -r -a VA <<<"$VARIANTS"
nv=${#VA[@]}
for r in $(seq 0 "$RUNS"); do
	# rotate the order each round
	order=("${VA[@]:$((r % nv))}" "${VA[@]:0:$((r % nv))}")
	for v in "${order[@]}"; do
		rm -rf "$W/out/f" "$W/out/s"
		sync
		t0=$(now)
		"v_$v" || { echo "bench: variant $v failed" >&2; cat "$W/log" >&2; exit 1; }
		t1=$(now)
		# round 0 is the warm-up
		[ "$r" -gt 0 ] && echo "$v $t0 $t1" >>"$W/times"
	done
done
rm -rf "$W/out/f" "$W/out/s"

# Re-sent bytes after drops: served - size, clean closes and resets.
drops=4
resent() { # extra control args
	rm -rf "$W/out/s"
	curl -fsS "$BASE/_control?reset=1" >/dev/null
	if [ $P8 = 1 ]; then
		# a drop in 4 of the 8 segments (each request is dropped once past
		# 1/3 of a segment), unthrottled
		curl -fsS "$BASE/_control?path=/data.bin&drop_after=$((SIZE_MIB * 1048576 / 24))&drop_times=$drops$1" >/dev/null
		run_segments "$SHA"
	else
		curl -fsS "$BASE/_control?path=/data.bin&drop_after=$((SIZE_MIB * 1048576 / (drops + 2)))&drop_times=$drops$1" >/dev/null
		run_script "$SHA"
	fi
	sent=$(curl -fsS "$BASE/_stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["/data.bin"]["bytes"])')
	echo $((sent - SIZE_MIB * 1048576))
}
fin=$(resent "")
rst=$(resent "&drop_rst=1")

python3 - "$W/times" "$SIZE_MIB" "$RUNS" "$drops" "$fin" "$rst" "$P8" "$RATE_MIB" <<'PY'
import statistics, sys
path, size, runs, drops, fin, rst = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
p8, rate = sys.argv[7] == "1", int(sys.argv[8])
t = {}
for line in open(path):
    v, a, b = line.split()
    t.setdefault(v, []).append(float(b) - float(a))
med = {v: statistics.median(x) for v, x in t.items()}
print("fetch benchmark: %d MiB on loopback, median of %d rotating rounds (nproc %s, load %s)" % (
    size, runs, __import__("os").cpu_count(), open("/proc/loadavg").read().split()[0]))
for v, x in t.items():
    print("  %-16s median %7.0f MiB/s  (min %5.2fs, max %5.2fs)" % (v, size / med[v], min(x), max(x)))
if p8:
    print("  P8: %d MiB/s per connection, every variant verifies the sha256" % rate)
    print("  ratio segments8/aria2_x8          %.3f  (goal >= 1.0)" % (med["aria2_x8_sha"] / med["segments8_sha"]))
    print("  ratio segments8/single            %.3f" % (med["single_sha"] / med["segments8_sha"]))
    print("  %d drops in the segments: %d bytes re-sent; %d TCP resets: %d bytes" % (drops, fin, drops, rst))
    sys.exit(0)
print("  ratio script/curl                 %.3f  (goal >= 0.95)" % (med["curl"] / med["script"]))
print("  ratio script_sha/curl_then_sha    %.3f" % (med["curl_then_sha"] / med["script_sha"]))
print("  %d clean closes: %d bytes re-sent (%d per drop)" % (drops, fin, fin // drops))
print("  %d TCP resets:   %d bytes re-sent (%d per drop)" % (drops, rst, rst // drops))
PY
