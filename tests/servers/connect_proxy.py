#!/usr/bin/env python3
"""A minimal HTTP CONNECT proxy on 127.0.0.1 for the API client tests (t0035).
Python standard library only.

    connect_proxy.py --port-file FILE [--count FILE] [--log FILE] [--dump FILE]
                     [--map NAME=ADDR  CONNECT NAME:port reaches ADDR:port (a name only the proxy
              "resolves", so a client must use the proxy to reach the server)
--lifetime S] [--map NAME=ADDR ...]

Only `CONNECT host:port` to a loopback address is accepted (anything else:
405, or 403 for other hosts); bytes are then relayed both ways unchanged.

--count FILE  the number of tunnels opened so far (rewritten on each one)
--log FILE    one JSON line per CONNECT: {"tunnel": N, "request": "CONNECT ...",
              "headers": [[k, v]...], "status": 200}
--dump FILE   every byte the proxy saw from the client, raw (the CONNECT
              request and the tunnelled TLS records), to show what a proxy
              can read

Bounded: request heads up to 16 KiB, 32 tunnels at a time, a tunnel idle
for 60 s is closed, the process exits after --lifetime seconds (300).
"""
import argparse
import json
import os
import select
import socket
import sys
import threading

MAX_HEAD = 16384
MAX_TUNNELS = 32
IDLE_S = 60
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


class Proxy:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.tunnels = 0
        self.slots = threading.BoundedSemaphore(MAX_TUNNELS)

    def append(self, path, data, mode="ab"):
        if path:
            with self.lock, open(path, mode) as f:
                f.write(data)

    def log(self, rec):
        self.append(self.args.log, (json.dumps(rec) + "\n").encode())

    def serve(self, c):
        try:
            self.tunnel(c)
        except OSError:
            pass
        finally:
            c.close()
            self.slots.release()

    def tunnel(self, c):
        c.settimeout(10)
        head = b""
        while b"\r\n\r\n" not in head:
            data = c.recv(4096)
            if not data:
                return
            head += data
            if len(head) > MAX_HEAD:
                c.sendall(b"HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n")
                return
        head, rest = head.split(b"\r\n\r\n", 1)
        self.append(self.args.dump, head + b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split()
        headers = [[k.strip(), v.strip()] for k, _, v in
                   (ln.partition(":") for ln in lines[1:] if ln)]
        rec = {"request": lines[0], "headers": headers}
        if len(parts) != 3 or parts[0] != "CONNECT":
            rec["status"] = 405
            self.log(rec)
            c.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host, _, port = parts[1].rpartition(":")
        host = self.args.names.get(host, host)
        if host not in LOOPBACK or not port.isdigit():
            rec["status"] = 403
            self.log(rec)
            c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        try:
            u = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        except OSError:
            rec["status"] = 502
            self.log(rec)
            c.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        with self.lock:
            self.tunnels += 1
            n = self.tunnels
        if self.args.count:
            tmp = self.args.count + ".tmp"
            with self.lock:
                with open(tmp, "w") as f:
                    f.write("%d\n" % n)
                os.rename(tmp, self.args.count)
        rec.update({"tunnel": n, "status": 200})
        self.log(rec)
        c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        try:
            if rest:
                self.append(self.args.dump, rest)
                u.sendall(rest)
            self.relay(c, u)
        finally:
            u.close()

    def relay(self, c, u):
        c.setblocking(True)
        u.setblocking(True)
        peer = {c: u, u: c}
        while True:
            r, _, _ = select.select([c, u], [], [], IDLE_S)
            if not r:
                return
            for s in r:
                data = s.recv(65536)
                if not data:
                    return
                if s is c:
                    self.append(self.args.dump, data)
                peer[s].sendall(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--count")
    ap.add_argument("--log")
    ap.add_argument("--dump")
    ap.add_argument("--lifetime", type=float, default=300)
    ap.add_argument("--map", action="append", default=[])
    args = ap.parse_args()
    args.names = dict(m.split("=", 1) for m in args.map)
    p = Proxy(args)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(args.port_file + ".tmp", args.port_file)
    threading.Timer(args.lifetime, lambda: os._exit(0)).start()
    while True:
        c, _ = ls.accept()
        if not p.slots.acquire(blocking=False):
            c.close()
            continue
        threading.Thread(target=p.serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
