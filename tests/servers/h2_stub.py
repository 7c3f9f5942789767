#!/usr/bin/env python3
"""A small Kubernetes-like API server speaking HTTP/2 over TLS, for the API
client tests (t0034).  Uses python3-h2 (Debian package) for the protocol and
the certificates https_stub.py --make-certs creates.

    h2_stub.py --dir CERTDIR --log FILE --port-file FILE [--lifetime S]

ALPN offers only "h2": a client that cannot speak HTTP/2 fails the handshake
instead of silently falling back.  127.0.0.1 only, one thread per connection.

--log FILE: one JSON line per request:
    {"conn": N, "stream": S, "method": ..., "path": ..., "query": ...,
     "headers": [[k, v]...], "body_len": N, "alpn": "h2"}
`conn` numbers TLS connections; `stream` is the HTTP/2 stream id.

Answers (namespace and name are free):
    GET  .../configmaps/NAME        a ConfigMap NAME; "nope": 404 Status;
                                    "big": a ConfigMap of about 300 KB (more
                                    than the default 64 KiB flow-control window)
    GET  .../configmaps             a List of two ConfigMaps
    POST .../configmaps             201, the posted object (resourceVersion "8")
    GET  .../configmaps?watch=1     ADDED events cm-1..cm-3 (resourceVersion
                                    counting up from the request's + 1), 0.1 s
                                    apart, then the stream ends after
                                    timeoutSeconds (default: stays open)
    anything else                   404 text/plain, like the apiserver
"""
import argparse
import json
import os
import select
import socket
import ssl
import sys
import threading
import time
import urllib.parse

import h2.config
import h2.connection
import h2.events
import h2.exceptions


class Conn:
    def __init__(self, sock, num, args, log):
        self.sock = sock
        self.num = num
        self.args = args
        self.log = log
        self.h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        self.reqs = {}          # stream id -> (headers, body bytes)
        self.reset = set()      # streams the client reset
        self.closed = False

    def flush(self):
        data = self.h2.data_to_send()
        if data:
            self.sock.sendall(data)

    def pump(self, timeout):
        """Read and process what arrives within timeout seconds."""
        # TLS may hold decrypted bytes that select() cannot see
        r = self.sock.pending() or select.select([self.sock], [], [], timeout)[0]
        if not r:
            return []
        try:
            data = self.sock.recv(65536)
        except (ssl.SSLError, OSError):
            data = b""
        if not data:
            self.closed = True
            return []
        events = self.h2.receive_data(data)
        self.flush()
        ready = []
        for ev in events:
            if isinstance(ev, h2.events.RequestReceived):
                self.reqs[ev.stream_id] = (ev.headers, b"")
            elif isinstance(ev, h2.events.DataReceived):
                h, b = self.reqs.get(ev.stream_id, ([], b""))
                self.reqs[ev.stream_id] = (h, b + ev.data)
                self.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                if ev.stream_id in self.reqs:
                    ready.append(ev.stream_id)
            elif isinstance(ev, h2.events.StreamReset):
                self.reset.add(ev.stream_id)
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self.closed = True
        self.flush()
        return ready

    def alive(self, sid):
        return not self.closed and sid not in self.reset

    def send_headers(self, sid, status, ctype, end=False):
        self.h2.send_headers(sid, [(":status", str(status)), ("content-type", ctype)],
                             end_stream=end)
        self.flush()

    def send_data(self, sid, data, end=True):
        """Send respecting flow control: wait for WINDOW_UPDATEs as needed."""
        while self.alive(sid):
            n = min(len(data), self.h2.local_flow_control_window(sid),
                    self.h2.max_outbound_frame_size)
            if n > 0 or not data:
                self.h2.send_data(sid, data[:n], end_stream=end and n == len(data))
                self.flush()
                data = data[n:]
                if not data:
                    return True
            else:
                self.pump(1.0)
        return False

    def respond(self, sid, status, body, ctype="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        self.send_headers(sid, status, ctype)
        self.send_data(sid, body.encode())

    def handle(self, sid):
        headers, body = self.reqs.pop(sid)
        h = dict(headers)
        u = urllib.parse.urlsplit(h.get(":path", "/"))
        q = dict(urllib.parse.parse_qsl(u.query))
        self.log({"conn": self.num, "stream": sid, "method": h.get(":method"),
                  "path": u.path, "query": u.query, "headers": headers,
                  "body_len": len(body),
                  "alpn": self.sock.selected_alpn_protocol()})
        parts = u.path.strip("/").split("/")
        is_cms = len(parts) >= 5 and parts[:2] == ["api", "v1"] and \
            parts[2] == "namespaces" and parts[4] == "configmaps"
        if is_cms and len(parts) == 5 and h.get(":method") == "POST":
            try:
                obj = json.loads(body)
            except ValueError:
                return self.respond(sid, 400, {"kind": "Status", "code": 400,
                                               "reason": "BadRequest", "message": "bad JSON"})
            obj.setdefault("metadata", {})["resourceVersion"] = "8"
            return self.respond(sid, 201, obj)
        if is_cms and h.get(":method") == "GET":
            ns = parts[3]
            name = parts[5] if len(parts) > 5 else None

            def cm(n, rv="7", data=None):
                return {"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": n, "namespace": ns, "resourceVersion": rv},
                        "data": data or {"k": "v"}}
            if name == "nope":
                return self.respond(sid, 404, {
                    "kind": "Status", "apiVersion": "v1", "metadata": {},
                    "status": "Failure", "reason": "NotFound", "code": 404,
                    "message": 'configmaps "nope" not found',
                    "details": {"name": "nope", "kind": "configmaps"}})
            if name == "big":
                return self.respond(sid, 200, cm(name, data={"k": "x" * 300000}))
            if name:
                return self.respond(sid, 200, cm(name))
            if q.get("watch") in ("1", "true"):
                return self.watch(sid, ns, q, cm)
            return self.respond(sid, 200, {"kind": "ConfigMapList", "apiVersion": "v1",
                                           "metadata": {"resourceVersion": "7"},
                                           "items": [cm("a"), cm("b")]})
        self.respond(sid, 404, "404 page not found\n", "text/plain; charset=utf-8")

    def watch(self, sid, ns, q, cm):
        rv = int(q.get("resourceVersion") or 0)
        timeout = float(q.get("timeoutSeconds") or 0)
        end = time.monotonic() + timeout if timeout else None
        self.send_headers(sid, 200, "application/json")
        for i in range(1, 4):
            ev = {"type": "ADDED", "object": cm("cm-%d" % i, str(rv + i))}
            if not self.send_data(sid, (json.dumps(ev) + "\n").encode(), end=False):
                return
            self.wait(sid, 0.1)
        while self.alive(sid) and (end is None or time.monotonic() < end):
            self.wait(sid, min(0.2, end - time.monotonic()) if end else 0.2)
        if self.alive(sid):
            self.send_data(sid, b"", end=True)

    def wait(self, sid, seconds):
        """Sleep, but keep reading: the client may reset the stream or ping."""
        end = time.monotonic() + max(seconds, 0)
        while self.alive(sid) and time.monotonic() < end:
            self.pending.extend(self.pump(max(end - time.monotonic(), 0)))

    def run(self):
        self.pending = []
        self.h2.initiate_connection()
        self.flush()
        while not self.closed:
            ready = self.pending or self.pump(5.0)
            self.pending = []
            for sid in ready:
                try:
                    self.handle(sid)
                except h2.exceptions.StreamClosedError:
                    pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--log")
    ap.add_argument("--port-file")
    ap.add_argument("--lifetime", type=float, default=300,
                    help="exit after this many seconds, whatever happens")
    args = ap.parse_args()

    lock = threading.Lock()

    def log(rec):
        if args.log:
            with lock, open(args.log, "a") as f:
                f.write(json.dumps(rec) + "\n")

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(args.dir, "server.crt"),
                        os.path.join(args.dir, "server.key"))
    ctx.set_alpn_protocols(["h2"])
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % ls.getsockname()[1])
        os.rename(args.port_file + ".tmp", args.port_file)
    threading.Timer(args.lifetime, lambda: os._exit(0)).start()
    conns = 0
    while True:
        s, _ = ls.accept()
        conns += 1

        def serve(s=s, num=conns):
            try:
                s.settimeout(10)
                t = ctx.wrap_socket(s, server_side=True)
                t.settimeout(None)
            except (ssl.SSLError, OSError) as e:
                log({"tls_error": str(e)})
                s.close()
                return
            try:
                Conn(t, num, args, log).run()
            except (OSError, h2.exceptions.ProtocolError) as e:
                log({"conn": num, "error": repr(e)})
            finally:
                t.close()
        threading.Thread(target=serve, daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
