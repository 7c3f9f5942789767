#!/usr/bin/env python3
"""HTTP data server for the fetch tests (Python 3 stdlib only).

Serves the files under --root with single-range support (206, 416) and
test switches, set per path through a control endpoint:

  GET /_control?path=/a.bin&drop_after=N&drop_times=K   drop the connection
        after N body bytes, for the next K requests of that path (drop_rst=1:
        with a TCP reset instead of a clean close)
  GET /_control?path=/a.bin&corrupt=1                   flip bytes in the body
  GET /_control?path=/a.bin&status=503&status_times=K   fail K requests
        (&status_skip=S: after serving the next S requests as usual)
  GET /_control?path=/a.bin&rate=BYTES_PER_SECOND       throttle the body
  GET /_control?path=/a.bin&no_range=1                  ignore Range (200)
  GET /_control?path=/a.bin&hold_at=N                   from file offset N on,
        trickle 1 KiB every 0.1 s (every request) until the switch is set back
        to 0: a test can act while a download is certainly in flight (and still
        moving), however loaded the machine
  GET /_control?reset=1                                 clear switches + counters
  /private/...   with --auth VALUE, files under /private/ need the request
        header "Authorization: VALUE" (else 401, counted in "unauthorized")

Bytes "sent" are counted as they are written to the socket.  A request
that will be dropped is served with a small SO_SNDBUF, in <= 64 KiB writes,
and before the connection is closed or reset the server waits (up to 2 s)
until the client has acknowledged every byte (SIOCOUTQ = 0) and then 0.2 s
more for it to read them: so bytes sent = bytes delivered to the client even
with a TCP reset, and (bytes sent - file size) measures what the client
really downloaded twice, not what the network lost in flight.
  GET /_stats                                           JSON per path: bytes sent,
        requests, statuses, ranges (the Range header of every request that
        had one, served or failed) (also written to --stats-file if given)

Listens on 127.0.0.1 only.  --port 0 picks a free port; the port is written
to --port-file (and printed as "PORT n").  --cert/--key serve HTTPS.
"""
import argparse
import fcntl
import json
import os
import socket
import ssl
import struct
import termios
import threading
import time
import urllib.parse

from handler import TestHandler, byte_range
from serve import serve

LOCK = threading.Lock()
SWITCHES = {}   # path -> dict
STATS = {}      # path -> {"bytes": n, "requests": n, "statuses": [], "ranges": []}
ARGS = None


def stat_for(path):
    return STATS.setdefault(path, {"bytes": 0, "requests": 0, "statuses": [], "ranges": [],
                                   "unauthorized": 0})


def held_at(path):
    """The offset where the body of path is held (0: not held)."""
    with LOCK:
        return SWITCHES.get(path, {}).get("hold_at", 0)


def wait_delivered(sock, limit=2.0):
    """Wait until the peer has acknowledged everything written (bounded)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            left = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
        except OSError:
            return
        if left == 0:
            break
        time.sleep(0.005)
    # the peer's kernel has it; give the client a moment to read it
    time.sleep(0.2)


def save_stats():
    if ARGS.stats_file:
        tmp = ARGS.stats_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(STATS, f)
        os.replace(tmp, ARGS.stats_file)


class Handler(TestHandler):
    server_version = "eidf-test-data/1"
    log_name = "data-server"

    def do_GET(self):
        head = self.command == "HEAD"
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        path = urllib.parse.unquote(u.path)
        if path == "/_stats":
            with LOCK:
                return self.send_json(200, STATS)
        if path == "/_control":
            with LOCK:
                if "reset" in q:
                    SWITCHES.clear()
                    STATS.clear()
                    save_stats()
                else:
                    p = q.get("path", ["/"])[0]
                    sw = SWITCHES.setdefault(p, {})
                    for k, v in q.items():
                        if k != "path":
                            sw[k] = int(v[0])
                return self.send_json(200, {"ok": True, "switches": SWITCHES})
        if path == "/_headers":
            # echo request headers (for --header tests)
            return self.send_json(200, dict(self.headers.items()))
        fs = os.path.realpath(os.path.join(ARGS.root, path.lstrip("/")))
        root = os.path.realpath(ARGS.root)
        if not fs.startswith(root + os.sep) or not os.path.isfile(fs):
            with LOCK:
                stat_for(path)["requests"] += 1
            return self.fail(path, 404)
        if ARGS.auth and path.startswith("/private/") and self.headers.get("Authorization") != ARGS.auth:
            with LOCK:
                s = stat_for(path)
                s["requests"] += 1
                s["unauthorized"] += 1
            return self.fail(path, 401)
        with LOCK:
            sw = dict(SWITCHES.get(path, {}))
            st = stat_for(path)
            st["requests"] += 1
            rng = self.headers.get("Range")
            if rng:
                st["ranges"].append(rng)
            status = 0
            if sw.get("status_skip", 0) > 0:
                SWITCHES[path]["status_skip"] -= 1
            elif sw.get("status_times", 0) > 0:
                SWITCHES[path]["status_times"] -= 1
                status = sw.get("status", 503)
            drop = None
            if sw.get("drop_times", 0) > 0:
                SWITCHES[path]["drop_times"] -= 1
                drop = sw.get("drop_after", 0)
        if status:
            return self.fail(path, status)
        size = os.path.getsize(fs)
        start, end = 0, size - 1
        code = 200
        want = None if sw.get("no_range") else byte_range(rng, size)
        if want is False:
            with LOCK:
                st["statuses"].append(416)
                save_stats()
            return self.send_unsatisfiable(size)
        if want:
            start, end = want
            code = 206
        length = end - start + 1
        with LOCK:
            st["statuses"].append(code)
        self.send_response(code)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        if code == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.end_headers()
        if head:
            with LOCK:
                save_stats()
            return
        rate = sw.get("rate", 0)
        if drop is not None:
            # little in the kernel's send queue: written ~ delivered
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
            except OSError:
                pass
        sent = sent0 = 0
        t0 = time.monotonic()
        try:
            with open(fs, "rb") as f:
                f.seek(start)
                left = length
                while left > 0:
                    n = min(left, 65536)
                    if rate:
                        n = min(n, max(1024, rate // 10))
                    if drop is not None:
                        n = min(n, drop - sent)
                        if n <= 0:
                            break
                    hold = held_at(path)
                    if hold:
                        if start + sent >= hold:
                            time.sleep(0.1)
                            n = min(n, 1024)
                            t0, sent0 = time.monotonic(), sent  # pacing restarts after it
                        else:
                            n = min(n, hold - start - sent)
                    chunk = f.read(n)
                    if not chunk:
                        break
                    if sw.get("corrupt"):
                        chunk = bytes(c ^ 0x5A for c in chunk)
                    self.wfile.write(chunk)
                    sent += len(chunk)
                    left -= len(chunk)
                    with LOCK:
                        st["bytes"] += len(chunk)
                    if rate:
                        ahead = (sent - sent0) / rate - (time.monotonic() - t0)
                        if ahead > 0:
                            time.sleep(ahead)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with LOCK:
                save_stats()
        if drop is not None and sent < length:
            # cut the connection mid-body: a clean close by default, or a
            # reset with drop_rst=1; either way only after the bytes counted
            # as sent have reached the client (see the top of the file)
            wait_delivered(self.connection)
            if sw.get("drop_rst"):
                try:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               b"\x01\x00\x00\x00\x00\x00\x00\x00")
                except OSError:
                    pass
            self.close_connection = True

    def fail(self, path, status):
        with LOCK:
            stat_for(path)["statuses"].append(status)
            save_stats()
        body = ("error %d\n" % status).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--stats-file")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--auth", help="Authorization header value required under /private/")
    ap.add_argument("--verbose", action="store_true")
    ARGS = ap.parse_args()
    Handler.verbose = ARGS.verbose
    ctx = None
    if ARGS.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.cert, ARGS.key)
    serve(Handler, ARGS.port, ARGS.port_file, ctx)


if __name__ == "__main__":
    main()
