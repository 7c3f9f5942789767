#!/usr/bin/env python3
"""A TCP fault proxy on 127.0.0.1 in front of an API server (the local test
cluster or a real kube-apiserver): TLS passes through untouched (client
certificates and tokens still reach the server), and a control port makes
the server look away.  Python standard library only.

    fault_proxy.py --upstream HOST:PORT --port-file FILE [--log FILE]

FILE receives "PORT CONTROL_PORT".  Control (plain HTTP on 127.0.0.1):

    GET /fault?mode=refuse&seconds=S   connections refused (the listening
                                       socket is closed) for S seconds
    GET /fault?mode=reset&seconds=S    connections accepted, then reset (RST)
    GET /fault?mode=blackhole&seconds=S  accepted, never answered
    GET /fault?mode=cut                open connections reset now, once
    GET /state                         {"mode": ..., "connections": N, "faults": N}

Starting any fault resets every open connection (watches and log streams
break as they do when an API server goes away).  After S seconds the proxy
passes connections through again, on the same port.  --log FILE gets one
JSON line per connection event.
"""
import argparse
import json
import os
import socket
import struct
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


class Proxy:
    def __init__(self, upstream, log):
        self.upstream = upstream
        self.log_path = log
        self.mode = "pass"
        self.until = 0.0
        self.conns = set()
        self.count = 0
        self.faults = 0
        self.gen = 0        # faults started so far: a connection accepted
                            # before the latest one must not outlive it
        self.lsock = None
        self.port = 0

    def log(self, **rec):
        if self.log_path:
            rec["t"] = time.time()
            with LOCK, open(self.log_path, "a") as f:
                f.write(json.dumps(rec) + "\n")

    def current(self):
        with LOCK:
            if self.mode != "pass" and time.time() >= self.until:
                self.mode = "pass"
            return self.mode

    def listen(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        s.settimeout(0.1)
        self.port = s.getsockname()[1]
        self.lsock = s

    @staticmethod
    def rst(sock, close=True):
        """Reset a connection.  A socket another thread is blocked in recv()
        on is not closed here (close() would neither wake that thread nor
        send anything): SO_LINGER 0 and shutdown() wake it, and its owner's
        close() then sends the RST."""
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            if close:
                sock.close()
            else:
                sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass

    def reset_all(self):
        with LOCK:
            conns = list(self.conns)
            self.conns.clear()
        for pair in conns:
            for s in pair:
                self.rst(s, close=False)

    def fault(self, mode, seconds):
        # the mode first, then the resets: a client that reconnects at once
        # must meet the fault, not slip in between (t0706 once saw a log
        # stream survive a reset that way)
        with LOCK:
            self.faults += 1
            self.gen += 1
            if mode != "cut":
                self.mode = mode
                self.until = time.time() + seconds
        self.reset_all()
        self.log(event="fault", mode=mode, seconds=seconds)

    def serve(self):
        while True:
            mode = self.current()
            if mode == "refuse":
                if self.lsock:
                    self.lsock.close()
                    self.lsock = None
                time.sleep(0.05)
                continue
            if not self.lsock:
                self.listen()
            try:
                c, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                continue
            mode = self.current()
            with LOCK:
                gen = self.gen
            self.count += 1
            self.log(event="open", mode=mode, conn=self.count)
            if mode in ("reset", "refuse"):   # refuse: accepted just before the close
                self.rst(c)
                continue
            if mode == "blackhole":
                threading.Thread(target=self.hold, args=(c,), daemon=True).start()
                continue
            threading.Thread(target=self.relay, args=(c, gen), daemon=True).start()

    def hold(self, c):
        with LOCK:
            self.conns.add((c,))
        while self.current() == "blackhole":
            time.sleep(0.1)
        with LOCK:
            self.conns.discard((c,))
        self.rst(c)

    def relay(self, c, gen):
        try:
            u = socket.create_connection(self.upstream, timeout=10)
        except OSError:
            self.rst(c)
            return
        u.settimeout(None)
        pair = (c, u)
        with LOCK:
            stale = gen != self.gen
            if not stale:
                self.conns.add(pair)
        if stale:   # a fault began while this one was being set up
            self.rst(u)
            self.rst(c)
            return

        def pump(a, b):
            try:
                while True:
                    data = a.recv(65536)
                    if not data:
                        break
                    b.sendall(data)
            except OSError:
                pass
            try:
                b.shutdown(socket.SHUT_RDWR)   # wakes the other direction too
            except OSError:
                pass

        t = threading.Thread(target=pump, args=(u, c), daemon=True)
        t.start()
        pump(c, u)
        t.join()
        with LOCK:
            self.conns.discard(pair)
        for s in pair:
            try:
                s.close()
            except OSError:
                pass


def control(proxy):
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            u = urllib.parse.urlparse(self.path)
            q = dict(urllib.parse.parse_qsl(u.query))
            if u.path == "/fault" and q.get("mode") in ("refuse", "reset", "blackhole", "cut"):
                proxy.fault(q["mode"], float(q.get("seconds", "1")))
                body = {"mode": q["mode"]}
            elif u.path == "/state":
                body = {"mode": proxy.current(), "connections": proxy.count, "faults": proxy.faults}
            else:
                self.send_response(404)
                self.end_headers()
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True, help="HOST:PORT of the API server")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    a = ap.parse_args()
    host, _, port = a.upstream.rpartition(":")
    p = Proxy((host, int(port)), a.log)
    p.listen()
    cport = control(p)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (p.port, cport))
    os.rename(tmp, a.port_file)
    p.serve()


if __name__ == "__main__":
    main()
