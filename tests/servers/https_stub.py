#!/usr/bin/env python3
"""Minimal Kubernetes-like HTTPS server on 127.0.0.1 for the API client tests.

Python standard library only; certificates are made with the openssl CLI.

    https_stub.py --dir DIR [--plain] [--client-cert none|optional|required]
                  [--tokens FILE] [--script FILE] [--log FILE] [--port-file FILE]
    https_stub.py --make-certs DIR

DIR receives ca.crt, server.crt/key (SAN 127.0.0.1 and kube.test, not localhost:
the tls-server-name tests rely on that),
client.crt/key (CN=test-user, O=test-group) and other-ca.crt (a CA that did not
sign anything, for verification failures).

Authentication (when --tokens or --client-cert required is given): a verified
client certificate or `Authorization: Bearer T` with T a line of --tokens (the
file is re-read on every request).  Otherwise 401 with a Status body.

--log FILE: one JSON line per request:
    {"conn": N, "method": ..., "path": ..., "query": ..., "headers": [[k, v]...],
     "client_cn": ..., "sni": (TLS server name the client sent), "tls": bool, "body": ...}
--bind ADDR / --port N: listen there (default 127.0.0.1, a free port; ::1 works).
`conn` numbers TLS connections, so distinct values = handshakes.

--script FILE: JSON list of rules, re-read when the file changes.  The first
rule that matches and has uses left answers the request:
    {"method": "GET", "path": "/api/v1/...", "path_re": "...",
     "query": {"watch": "1"},          # each given parameter must equal
     "times": 2,                        # uses (default 1; -1 unlimited)
     "status": 429, "headers": {"Retry-After": "1"},
     "body": "text" | "json": {...},    # plain or JSON body
     "delay": 0.5,                      # seconds before answering
     "chunks": ["...", "..."],          # chunked body, one chunk each
     "chunk_delay": 0.1, "cut": true}   # close the connection without the last chunk
Requests no rule answers go to a small object store (namespaced resources of
the core, batch and kueue groups): create/get/list (limit, continue,
labelSelector k=v)/delete/merge-patch, watch (history since resourceVersion,
410 Gone for versions older than --compacted-rv, then new events until
timeoutSeconds), pods/log.  Unknown paths answer text/plain 404 like the
real apiserver.
"""
import argparse
import base64
import json
import os
import random
import re
import socket
import ssl
import string
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KINDS = {
    "pods": "Pod", "configmaps": "ConfigMap", "secrets": "Secret", "jobs": "Job",
    "persistentvolumeclaims": "PersistentVolumeClaim", "namespaces": "Namespace",
    "events": "Event", "storageclasses": "StorageClass", "localqueues": "LocalQueue",
    "workloads": "Workload",
}


def make_certs(d):
    os.makedirs(d, exist_ok=True)
    if os.path.exists(os.path.join(d, "client.key")):
        return

    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "other-ca"):
        run("req", "-x509", *ec, "-keyout", ca + ".key", "-out", ca + ".crt", "-days", "3",
            "-subj", "/CN=eidf-test-" + ca,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    leaves = {
        "server": ("/CN=kube-apiserver",
                   "subjectAltName=IP:127.0.0.1,DNS:kube.test\n"
                   "extendedKeyUsage=serverAuth\n"),
        "client": ("/O=test-group/CN=test-user", "extendedKeyUsage=clientAuth\n"),
    }
    for name, (subj, ext) in leaves.items():
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write(ext)
        run("req", *ec, "-keyout", name + ".key", "-out", name + ".csr", "-subj", subj)
        run("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-set_serial", str(random.randint(1, 2**62)), "-days", "3",
            "-extfile", name + ".ext", "-out", name + ".crt")


def status_body(code, reason, message, details=None):
    st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
          "message": message, "reason": reason, "code": code}
    if details:
        st["details"] = details
    return st


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        else:
            target[k] = merge_patch(target.get(k), v)
    return target


class Store:
    def __init__(self, compacted_rv):
        self.lock = threading.Condition()
        self.rv = 100
        self.objects = {}     # (ns, plural) -> {name: obj}
        self.history = []     # (rv, ns, plural, type, obj)
        self.compacted_rv = compacted_rv

    def record(self, ns, plural, typ, obj):
        self.history.append((self.rv, ns, plural, typ, json.loads(json.dumps(obj))))
        self.lock.notify_all()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, handler, args):
        super().__init__(addr, handler)
        self.args = args
        self.conn_lock = threading.Lock()
        self.conns = 0
        self.log_lock = threading.Lock()
        self.script = []
        self.script_mtime = None
        self.store = Store(args.compacted_rv)
        self.ssl_ctx = None
        if not args.plain:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(os.path.join(args.dir, "server.crt"),
                                os.path.join(args.dir, "server.key"))
            ctx.load_verify_locations(os.path.join(args.dir, "ca.crt"))
            ctx.verify_mode = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL,
                               "required": ssl.CERT_REQUIRED}[args.client_cert]
            ctx.set_alpn_protocols(["http/1.1"])

            def remember_sni(sock, name, _ctx):
                sock.sni = name            # logged with each request
            ctx.sni_callback = remember_sni
            self.ssl_ctx = ctx

    def finish_request(self, request, client_address):
        if self.ssl_ctx:
            try:
                request.settimeout(10)
                request = self.ssl_ctx.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (ssl.SSLError, OSError) as e:
                self.log({"tls_error": str(e)})
                return
        with self.conn_lock:
            self.conns += 1
            conn = self.conns
        self.RequestHandlerClass(request, client_address, self, conn)

    def log(self, rec):
        if not self.args.log:
            return
        with self.log_lock, open(self.args.log, "a") as f:
            f.write(json.dumps(rec) + "\n")

    def rules(self):
        path = self.args.script
        if not path:
            return []
        try:
            m = os.stat(path).st_mtime_ns
        except OSError:
            return []
        with self.conn_lock:
            if m != self.script_mtime:
                with open(path) as f:
                    self.script = json.load(f)
                self.script_mtime = m
            return self.script

    def tokens(self):
        if not self.args.tokens:
            return None
        try:
            with open(self.args.tokens) as f:
                return {line.strip() for line in f if line.strip()}
        except OSError:
            return set()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def __init__(self, request, client_address, server, conn):
        self.conn = conn
        super().__init__(request, client_address, server)

    def log_message(self, *a):
        pass

    def do_GET(self): self.handle_any()
    def do_POST(self): self.handle_any()
    def do_PUT(self): self.handle_any()
    def do_PATCH(self): self.handle_any()
    def do_DELETE(self): self.handle_any()
    def do_HEAD(self): self.handle_any()

    # ---- responses -------------------------------------------------------------
    def send(self, code, body=b"", ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body, separators=(",", ":")).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def status(self, code, reason, message, details=None):
        self.send(code, status_body(code, reason, message, details))

    def start_chunked(self, code=200, ctype="application/json", headers=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.flush()

    def chunk(self, data):
        if isinstance(data, str):
            data = data.encode()
        if not data:
            return
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_chunked(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def cut(self):
        """Drop the connection mid-body, as a failing apiserver or proxy would."""
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ---- dispatch -----------------------------------------------------------------
    def handle_any(self):
        u = urllib.parse.urlsplit(self.path)
        self.req_path = u.path
        self.q = {k: v[-1] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
        n = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(n) if n else b""
        cn = None
        if self.server.ssl_ctx:
            cert = self.connection.getpeercert()
            if cert:
                for rdn in cert.get("subject", ()):
                    for k, v in rdn:
                        if k == "commonName":
                            cn = v
        self.server.log({"conn": self.conn, "method": self.command, "path": u.path,
                         "query": u.query, "headers": [[k, v] for k, v in self.headers.items()],
                         "client_cn": cn, "sni": getattr(self.connection, "sni", None),
                         "tls": self.server.ssl_ctx is not None,
                         "body": self.body.decode("utf-8", "replace")})
        if not self.authenticated(cn):
            self.status(401, "Unauthorized", "Unauthorized")
            return
        rule = self.match_rule()
        if rule is not None:
            self.scripted(rule)
            return
        self.store_request()

    def authenticated(self, cn):
        tokens = self.server.tokens()
        if tokens is None and self.server.args.client_cert != "required":
            return True
        if cn:
            return True
        auth = self.headers.get("Authorization", "")
        return bool(tokens) and auth.startswith("Bearer ") and auth[7:] in tokens

    def match_rule(self):
        rules = self.server.rules()
        with self.server.conn_lock:
            for r in rules:
                if r.get("times", 1) == 0:
                    continue
                if "method" in r and r["method"] != self.command:
                    continue
                if "path" in r and r["path"] != self.req_path:
                    continue
                if "path_re" in r and not re.search(r["path_re"], self.req_path):
                    continue
                if any(self.q.get(k) != v for k, v in r.get("query", {}).items()):
                    continue
                if r.get("times", 1) > 0:
                    r["times"] = r.get("times", 1) - 1
                return r
        return None

    def scripted(self, r):
        time.sleep(r.get("delay", 0))
        code = r.get("status", 200)
        headers = r.get("headers", {})
        ctype = r.get("content_type", "application/json" if "json" in r or "chunks" in r
                      else "text/plain; charset=utf-8")
        if "chunks" in r:
            self.start_chunked(code, ctype, headers)
            for c in r["chunks"]:
                self.chunk(c)
                time.sleep(r.get("chunk_delay", 0))
            if r.get("cut"):
                self.cut()
            else:
                self.end_chunked()
            return
        body = r["json"] if "json" in r else r.get("body", "")
        self.send(code, body, ctype, headers)

    # ---- object store -------------------------------------------------------------------
    def parse_path(self):
        m = re.match(r"^/api/v1/(?:namespaces/(?P<ns>[^/]+)/)?(?P<res>[^/]+)"
                     r"(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?$", self.req_path)
        api = "v1"
        if not m:
            m = re.match(r"^/apis/(?P<g>[^/]+)/(?P<v>[^/]+)/(?:namespaces/(?P<ns>[^/]+)/)?"
                         r"(?P<res>[^/]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?$",
                         self.req_path)
            if m:
                api = m.group("g") + "/" + m.group("v")
        if not m or m.group("res") not in KINDS:
            return None
        unq = urllib.parse.unquote
        ns = unq(m.group("ns")) if m.group("ns") else ""
        name = unq(m.group("name")) if m.group("name") else None
        return api, ns, m.group("res"), name, m.group("sub")

    def store_request(self):
        p = self.parse_path()
        if p is None:
            self.send(404, "404 page not found\n", "text/plain; charset=utf-8")
            return
        api, ns, res, name, sub = p
        st = self.server.store
        if sub == "log":
            self.pod_log(ns, name)
            return
        if sub:
            self.send(404, "404 page not found\n", "text/plain; charset=utf-8")
            return
        if self.command == "GET" and name is None and self.q.get("watch") in ("1", "true"):
            self.watch(api, ns, res)
            return
        with st.lock:
            coll = st.objects.setdefault((ns, res), {})
            details = {"name": name, "kind": res}
            if self.command == "GET" and name is None:
                self.list(api, ns, res, coll)
            elif self.command == "GET":
                if name not in coll:
                    self.status(404, "NotFound", '%s "%s" not found' % (res, name), details)
                else:
                    self.send(200, coll[name])
            elif self.command == "POST" and name is None:
                self.create(api, ns, res, coll)
            elif self.command == "DELETE" and name is not None:
                if name not in coll:
                    self.status(404, "NotFound", '%s "%s" not found' % (res, name), details)
                    return
                obj = coll[name]
                opts = json.loads(self.body) if self.body else {}
                if self.q.get("dryRun") != "All" and "All" not in (opts.get("dryRun") or []):
                    del coll[name]
                    st.rv += 1
                    obj["metadata"]["resourceVersion"] = str(st.rv)
                    st.record(ns, res, "DELETED", obj)
                self.send(200, obj)
            elif self.command == "PATCH" and name is not None:
                if name not in coll:
                    self.status(404, "NotFound", '%s "%s" not found' % (res, name), details)
                    return
                if "merge-patch" not in self.headers.get("Content-Type", ""):
                    self.status(415, "UnsupportedMediaType", "unsupported patch type")
                    return
                obj = merge_patch(coll[name], json.loads(self.body))
                st.rv += 1
                obj["metadata"]["resourceVersion"] = str(st.rv)
                coll[name] = obj
                st.record(ns, res, "MODIFIED", obj)
                self.send(200, obj)
            else:
                self.status(405, "MethodNotAllowed", "the server does not allow this method "
                            "on the requested resource")

    def create(self, api, ns, res, coll):
        st = self.server.store
        try:
            obj = json.loads(self.body)
        except ValueError:
            self.status(400, "BadRequest", "the object provided is unrecognized")
            return
        md = obj.setdefault("metadata", {})
        name = md.get("name")
        if not name and md.get("generateName"):
            name = md["generateName"] + "".join(random.choice("bcdfghjklmnpqrstvwxz2456789")
                                                for _ in range(5))
        if not name:
            self.status(422, "Invalid", "%s is invalid: metadata.name: Required value" % res)
            return
        if name in coll:
            self.status(409, "AlreadyExists", '%s "%s" already exists' % (res, name),
                        {"name": name, "kind": res})
            return
        md["name"] = name
        if ns:
            md["namespace"] = ns
        md["uid"] = "%08x-0000-4000-8000-%012x" % (random.getrandbits(32), random.getrandbits(48))
        md["creationTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        obj["apiVersion"] = api
        obj["kind"] = KINDS[res]
        if self.q.get("dryRun") != "All":
            st.rv += 1
            md["resourceVersion"] = str(st.rv)
            coll[name] = obj
            st.record(ns, res, "ADDED", obj)
        self.send(201, obj)

    def list(self, api, ns, res, coll):
        st = self.server.store
        items = [coll[k] for k in sorted(coll)]
        sel = self.q.get("labelSelector")
        if sel:
            for term in sel.split(","):
                k, _, v = term.partition("=")
                items = [o for o in items
                         if (o["metadata"].get("labels") or {}).get(k) == v]
        start = 0
        if self.q.get("continue"):
            try:
                start = int(base64.b64decode(self.q["continue"]).decode())
            except ValueError:
                self.status(400, "BadRequest", "invalid continue token")
                return
        limit = int(self.q.get("limit") or 0)
        md = {"resourceVersion": str(st.rv)}
        page = items[start:]
        if limit and len(page) > limit:
            page = page[:limit]
            md["continue"] = base64.b64encode(str(start + limit).encode()).decode()
            md["remainingItemCount"] = len(items) - start - limit
        out = []
        for o in page:
            o = dict(o)
            o.pop("kind", None)
            o.pop("apiVersion", None)
            out.append(o)
        self.send(200, {"kind": KINDS[res] + "List", "apiVersion": api, "metadata": md,
                        "items": out})

    def watch(self, api, ns, res):
        st = self.server.store
        rv = self.q.get("resourceVersion")
        deadline = time.time() + float(self.q.get("timeoutSeconds") or 3)
        with st.lock:
            if rv and int(rv) < st.compacted_rv:
                self.start_chunked()
                ev = {"type": "ERROR", "object": status_body(
                    410, "Expired", "too old resource version: %s (%d)" % (rv, st.compacted_rv))}
                self.chunk(json.dumps(ev) + "\n")
                self.end_chunked()
                return
            if rv:
                pending = [h for h in st.history if h[0] > int(rv) and h[1] == ns and h[2] == res]
                last = st.rv
            else:
                coll = st.objects.get((ns, res), {})
                pending = [(0, ns, res, "ADDED", coll[k]) for k in sorted(coll)]
                last = st.rv
        self.start_chunked()
        try:
            while True:
                for h in pending:
                    self.chunk(json.dumps({"type": h[3], "object": h[4]}) + "\n")
                with st.lock:
                    left = deadline - time.time()
                    if left <= 0:
                        break
                    st.lock.wait(min(left, 0.5))
                    pending = [h for h in st.history if h[0] > last and h[1] == ns and h[2] == res]
                    last = st.rv
                if self.q.get("allowWatchBookmarks") == "true" and not pending:
                    bm = {"type": "BOOKMARK", "object": {"kind": KINDS[res], "apiVersion": api,
                                                         "metadata": {"resourceVersion": str(last)}}}
                    self.chunk(json.dumps(bm) + "\n")
            self.end_chunked()
        except OSError:
            self.close_connection = True

    def pod_log(self, ns, name):
        lines = ["log line %d of %s\n" % (i, name) for i in range(1, 4)]
        if "tailLines" in self.q:
            lines = lines[-int(self.q["tailLines"]):] if int(self.q["tailLines"]) else []
        self.start_chunked(200, "text/plain")
        for ln in lines:
            self.chunk(ln)
            if self.q.get("follow") == "true":
                time.sleep(0.05)
        self.end_chunked()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir")
    ap.add_argument("--make-certs")
    ap.add_argument("--plain", action="store_true")
    ap.add_argument("--client-cert", default="optional", choices=["none", "optional", "required"])
    ap.add_argument("--tokens")
    ap.add_argument("--script")
    ap.add_argument("--log")
    ap.add_argument("--port-file")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--compacted-rv", type=int, default=0)
    args = ap.parse_args()
    if args.make_certs:
        make_certs(args.make_certs)
        return
    if not args.dir:
        ap.error("--dir is required")
    make_certs(args.dir)
    if ":" in args.bind:
        Server.address_family = socket.AF_INET6      # an IPv6 literal (--bind ::1)
    srv = Server((args.bind, args.port), Handler, args)
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    else:
        print(port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
