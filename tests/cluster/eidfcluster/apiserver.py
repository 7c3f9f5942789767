"""HTTPS Kubernetes API server (HTTP/1.1, real TLS, client-cert and bearer-token auth)."""
import base64
import json
import os
import re
import socket
import ssl
import threading
import time
import urllib.parse
import uuid

from . import kubeletproxy
from . import quantity
from . import warnheaders
from . import resources as RS
from .resources import APIError
from .store import Gone
from .tlsserver import ThreadingTLSServer, TLSHandler
from .util import (SelectorError, deep, dumps, field_value, gen_name, json_merge_patch, json_patch, match_labels,
                   now_nano, now_ts, parse_field_selector, parse_label_selector, parse_ts, strategic_merge_patch)

PUBLIC_PATHS = ("/version", "/healthz", "/livez", "/readyz")
FLOWSCHEMA = "86bcd22f-997f-49dd-95e3-8103a92757c5"
PRIOLEVEL = "8e4b731b-be8f-4dbc-8f03-090d7a1ec976"
# built-in list items carry no kind/apiVersion on the wire, CRD (kueue) items do
CRD_GROUPS = ("kueue.x-k8s.io",)


class StreamCut(Exception):
    pass


# ---------------------------------------------------------------- faults
class Faults:
    """Runtime fault injection rules, managed through /_eidf/faults."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []

    def add(self, rule):
        rule = dict(rule)
        rule.setdefault("count", 1)
        rule["_re"] = re.compile(rule.get("path", ".*"))
        with self.lock:
            self.rules.append(rule)
        return {k: v for k, v in rule.items() if not k.startswith("_")}

    def clear(self):
        with self.lock:
            self.rules = []

    def list(self):
        with self.lock:
            return [{k: v for k, v in r.items() if not k.startswith("_")} for r in self.rules]

    def take(self, kinds, method, path_q):
        """Consume and return the first matching rule of one of kinds."""
        with self.lock:
            for r in self.rules:
                if r["type"] not in kinds:
                    continue
                if r.get("method") and r["method"].upper() != method:
                    continue
                if not r["_re"].search(path_q):
                    continue
                if r.get("count", 1) <= 0:
                    continue
                r["count"] = r.get("count", 1) - 1
                out = dict(r)
                if r["count"] <= 0:
                    self.rules.remove(r)
                return out
        return None


# ---------------------------------------------------------------- server
class TLSServer(ThreadingTLSServer):
    def __init__(self, addr, cluster):
        self.cluster = cluster
        super().__init__(addr, Handler)


class Handler(TLSHandler):
    server_version = "eidf-test-cluster"

    def setup(self):
        self.component = False
        srv = self.server
        self.cluster = srv.cluster
        # ids count on across outages and restarts (the server object is replaced)
        self.conn_id = next(self.cluster.conn_ids)
        self.accept_tcp()
        self.fd = self.request.fileno()
        self.epoch = self.cluster.outages.epoch
        if not self.cluster.outages.opened(self.conn_id, self.fd):
            # a "reset" outage: the TCP handshake completed, the client's first
            # bytes (TLS ClientHello) are answered with a reset
            try:
                self.request.settimeout(2)
                self.request.recv(1)
            except OSError:
                pass
            self.cluster.outages.reset_now(self.fd)
            self.cluster.log_conn(self.conn_id, "reset")
            super().setup()
            return
        e = self.start_tls(self.cluster.ssl_ctx, 600)
        if e:
            self.cluster.log_conn(self.conn_id, "tls-error", str(e))
        # the node agent's and Kueue's own connections: not in the logs tests read, no faults
        self.component = self.tls_ok and self.cluster.is_component(self.request.getpeercert())
        super().setup()
        if self.tls_ok:
            self.cluster.log_conn(self.conn_id, "open", component=self.component)

    def parse_request(self):
        """--max-request-line: a longer request line gets the 414 of a proxy in front of the API
        server (nginx's large_client_header_buffers, 8 KiB; HAProxy's 16 KiB buffer), which never
        reaches the API server; logged (status 414) so that a test sees it."""
        if not super().parse_request():
            return False
        limit = self.cluster.max_request_line
        if not limit or len(self.raw_requestline.rstrip(b"\r\n")) <= limit:
            return True
        self.t0 = time.time()
        self.user = None
        u = urllib.parse.urlsplit(self.path)
        self.rawpath, self.rawquery = u.path, u.query
        self.status = 414
        self.cluster.log_request(self)
        body = (b"<html>\r\n<head><title>414 Request-URI Too Large</title></head>\r\n<body>\r\n"
                b"<center><h1>414 Request-URI Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n"
                b"</body>\r\n</html>\r\n")
        self.send_response_only(414)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True
        return False

    def finish(self):
        self.cluster.outages.closed(self.conn_id)
        try:
            super().finish()
        except Exception:
            pass
        if self.tls_ok:
            self.cluster.log_conn(self.conn_id, "close", component=self.component)

    # -- helpers ---------------------------------------------------------
    def _common_headers(self, ctype, length=None, extra=None):
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", ctype)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if not self.path.startswith("/_eidf"):
            self.send_header("X-Kubernetes-Pf-Flowschema-Uid", FLOWSCHEMA)
            self.send_header("X-Kubernetes-Pf-Prioritylevel-Uid", PRIOLEVEL)
        if length is not None:
            self.send_header("Content-Length", str(length))

    def pretty(self):
        ua = self.headers.get("User-Agent", "")
        return ua.startswith("curl") or ua.startswith("Wget") or self.query.get("pretty") in ("true", "1")

    def send_body(self, code, body, ctype="application/json", extra=None):
        if isinstance(body, (dict, list)):
            body = dumps(body, self.pretty())
            if not self.pretty():
                body += "\n"
        if isinstance(body, str):
            body = body.encode()
        self.status = code
        self.log_before_answer()
        self.send_response_only(code)
        self.send_header("Date", self.date_time_string())
        self._common_headers(ctype, len(body), extra)
        self._warning_headers()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error_obj(self, e):
        if e.plain:
            self.send_body(e.code, e.message, "text/plain; charset=utf-8", {"X-Content-Type-Options": "nosniff"})
            return
        extra = {}
        if e.code == 403:
            extra["X-Content-Type-Options"] = "nosniff"
        if e.code == 429 or (e.details or {}).get("retryAfterSeconds"):
            extra["Retry-After"] = str((e.details or {}).get("retryAfterSeconds", 1))
        self.send_body(e.code, e.status(), extra=extra)

    def send_no_content(self):
        """204: no body, no Content-Type, no Content-Length (as the samples show)."""
        self.status = 204
        self.log_before_answer()
        self.send_response_only(204)
        self.send_header("Date", self.date_time_string())
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self._warning_headers()
        self.end_headers()

    def log_before_answer(self, streaming=False):
        """The request log's record goes before the answer does: a client that has its answer
        (a command that has exited) finds its request in the log, which tests read at once."""
        if not self.logged and not self.rawpath.startswith("/_eidf/"):
            self.cluster.log_request(self, streaming=streaming)
            self.logged = True

    def _warning_headers(self):
        for w in getattr(self, "warnings", None) or []:
            self.send_header("Warning", warnheaders.header_value(w))

    def start_stream(self, ctype):
        self.status = 200
        self.log_before_answer(streaming=True)
        self.send_response_only(200)
        self.send_header("Date", self.date_time_string())
        self._common_headers(ctype)
        self._warning_headers()
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.streamed = 0
        self.cut = None if self.component else self.cluster.faults.take(("cut",), self.command, self.path)

    def write_chunk(self, data):
        if isinstance(data, str):
            data = data.encode()
        if not data:
            return
        if self.cut is not None:
            left = self.cut.get("bytes", 0) - self.streamed
            if len(data) >= left:
                part = data[:max(left, 0)]
                if part:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                # drop the connection without the terminating chunk
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                raise StreamCut()
        self.streamed += len(data)
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            out = b""
            while True:
                line = self.rfile.readline().strip()
                n = int(line.split(b";")[0], 16)
                if n == 0:
                    self.rfile.readline()
                    break
                out += self.rfile.read(n)
                self.rfile.readline()
            return out
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    # -- dispatch --------------------------------------------------------
    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def dispatch(self):
        self.t0 = time.time()
        self.status = 0
        self.logged = False
        self.user = None
        self.warnings = []  # Warning headers of the answer (warnheaders.py)
        u = urllib.parse.urlsplit(self.path)
        self.rawpath = u.path
        self.rawquery = u.query
        self.query = {k: v[-1] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
        try:
            try:
                self.body = self.read_body()
                if self.rawpath.startswith("/_eidf/"):
                    self.cluster.admin(self)
                    return
                self.cluster.handle(self)
            except APIError as e:
                self.send_error_obj(e)
            except StreamCut:
                pass
            except (ConnectionError, ssl.SSLError, BrokenPipeError, socket.timeout):
                self.close_connection = True
            except Exception as e:  # a bug: answer like the apiserver does and keep the trace
                import traceback
                traceback.print_exc()
                try:
                    self.send_error_obj(APIError(500, "InternalError", "Internal error occurred: %s" % e,
                                                 {"causes": [{"message": str(e)}]}))
                except Exception:
                    self.close_connection = True
        finally:
            if not self.logged and not self.rawpath.startswith("/_eidf/"):
                self.cluster.log_request(self)


def make_ssl_ctx(pki):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(pki, "server.crt"), os.path.join(pki, "server.key"))
    ctx.load_verify_locations(os.path.join(pki, "ca.crt"))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


# ---------------------------------------------------------------- API logic mixin
class APIMixin:
    """Request handling for the Cluster class (kept separate from controllers)."""

    def authenticate(self, h):
        cert = h.connection.getpeercert() if h.tls_ok else None
        if cert and cert.get("subject"):
            cn, groups = None, []
            for rdn in cert["subject"]:
                for k, v in rdn:
                    if k == "commonName":
                        cn = v
                    elif k == "organizationName":
                        groups.append(v)
            if cn:
                return {"name": cn, "groups": groups, "via": "cert"}
        auth = h.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            tok = auth[7:].strip()
            u = self.tokens.get(tok)
            if u:
                return {"name": u["name"], "groups": u.get("groups", []), "via": "token"}
            raise APIError(401, "Unauthorized", "Unauthorized")
        return None

    def authorize(self, user, verb, r, ns, name=None, sub=None):
        if "system:masters" in user["groups"] or user["name"] in ("system:admin", "eidf-admin") or \
                self.is_component_user(user):
            return
        tenant = self.tenant
        if not tenant:
            return
        ok = False
        if r.namespaced and ns == tenant and r.name not in ("nodes",):
            ok = (r.name, sub) != ("pods", "binding")  # the scheduler's right, not in a tenant's roles
        elif not r.namespaced:
            if r.name == "storageclasses" and verb in ("get", "list", "watch"):
                ok = True
            elif r.name == "namespaces" and name == tenant and verb == "get":
                ok = True
            elif r.name == "clusterqueues" and verb in ("get", "list", "watch"):
                ok = True
        if not ok:
            raise RS.forbidden(r, user["name"], verb, ns, name, sub)

    def handle(self, h):
        path = h.rawpath
        # fault injection: delays, then errors
        f = None if h.component else self.faults.take(("delay",), h.command, h.path)
        if f:
            time.sleep(float(f.get("seconds", 1)))
        # compaction at the moment a given request arrives: a test can make
        # exactly that request meet 410 Gone without guessing when it comes
        if self.faults.take(("compact",), h.command, h.path):
            self.store.compact()
        user = self.authenticate(h)
        h.user = user
        if user is None and path.rstrip("/") not in PUBLIC_PATHS:
            raise APIError(401, "Unauthorized", "Unauthorized")
        f = None if h.component else self.faults.take(("fail",), h.command, h.path)
        if f:
            code = int(f.get("status", 500))
            if code == 429:
                ra = int(f.get("retry_after", 1))
                raise APIError(429, "TooManyRequests", "Too many requests, please try again later.",
                               {"causes": [{"reason": "TooManyRequests", "message": "injected fault"}],
                                "retryAfterSeconds": ra})
            if code == 503:
                raise APIError(503, "ServiceUnavailable", "the server is currently unable to handle the request",
                               {"causes": [{"message": "injected fault"}]})
            if code in (403, 404):
                raise APIError(code, "Forbidden" if code == 403 else "NotFound", "injected fault (%d)" % code)
            raise APIError(code, "InternalError", "Internal error occurred: injected fault",
                           {"causes": [{"message": "injected fault"}]})
        if f is None and not h.component:
            f = self.faults.take(("drop",), h.command, h.path)
            if f:
                h.close_connection = True
                h.connection.shutdown(socket.SHUT_RDWR)
                h.status = -1
                return
        if h.command not in ("GET", "HEAD") and path in ("/version", "/api", "/apis"):
            raise APIError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        p = path.rstrip("/") or "/"
        if p == "/version":
            return h.send_body(200, {"major": "1", "minor": "32", "gitVersion": "v1.32.4", "gitCommit":
                                     "59526cd4867447956156ae3a602fcbac10a2c335", "gitTreeState": "clean",
                                     "buildDate": "2025-04-22T16:02:27Z", "goVersion": "go1.23.6",
                                     "compiler": "gc", "platform": "linux/amd64"})
        if p in ("/healthz", "/livez", "/readyz"):
            return h.send_body(200, "ok", "text/plain; charset=utf-8")
        if p == "/api":
            return h.send_body(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:%d" % self.port}]})
        if p == "/apis":
            return h.send_body(200, RS.api_group_list())
        if p == "/openapi/v3":
            return h.send_body(200, RS.openapi_root(self.openapi_hash))
        if p.startswith("/openapi/v3/"):
            rest = p[len("/openapi/v3/"):].split("/")
            if rest[0] == "api" and len(rest) == 2:
                return h.send_body(200, RS.openapi_gv("", rest[1]))
            if rest[0] == "apis" and len(rest) == 3 and (rest[1], rest[2]) in RS.BY_GV:
                return h.send_body(200, RS.openapi_gv(rest[1], rest[2]))
        segs = [s for s in p.split("/") if s]
        if len(segs) >= 2 and segs[0] == "api" and segs[1] == "v1":
            group, version, rest = "", "v1", segs[2:]
        elif len(segs) >= 3 and segs[0] == "apis" and (segs[1], segs[2]) in RS.BY_GV:
            group, version, rest = segs[1], segs[2], segs[3:]
        elif len(segs) == 2 and segs[0] == "apis" and any(g == segs[1] for g, _ in RS.GROUP_VERSIONS):
            g = next((g, v) for g, v in RS.GROUP_VERSIONS if g == segs[1])
            gv = {"groupVersion": "%s/%s" % g, "version": g[1]}
            return h.send_body(200, {"kind": "APIGroup", "apiVersion": "v1", "name": g[0], "versions": [gv],
                                     "preferredVersion": gv})
        elif len(segs) >= 3 and segs[0] == "apis" and any(g == segs[1] for g, _ in RS.GROUP_VERSIONS):
            # a version of a served group that is not (or no longer, like batch/v1beta1) served:
            # a Status, not the text/plain 404 of unknown paths
            if user is None:
                raise APIError(401, "Unauthorized", "Unauthorized")
            raise APIError(404, "NotFound", "the server could not find the requested resource", {})
        else:
            raise APIError(404, "", "404 page not found\n", plain=True)
        if not rest:
            return h.send_body(200, RS.discovery_resource_list(group, version))
        if user is None:
            raise APIError(401, "Unauthorized", "Unauthorized")
        res_map = RS.BY_GV[(group, version)]
        ns = name = sub = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            ns, resname, tail = rest[1], rest[2], rest[3:]
        else:
            resname, tail = rest[0], rest[1:]
        r = res_map.get(resname)
        if r is None or len(tail) > 2:
            raise APIError(404, "", "404 page not found\n", plain=True)
        if ns is not None and not r.namespaced:
            raise APIError(404, "", "404 page not found\n", plain=True)
        name = tail[0] if tail else None
        sub = tail[1] if len(tail) > 1 else None
        if sub and sub not in r.subresources:
            raise APIError(404, "", "404 page not found\n", plain=True)
        return self.serve_resource(h, user, r, ns or "", name, sub)

    # -- resource verbs ------------------------------------------------
    def serve_resource(self, h, user, r, ns, name, sub):
        m = h.command
        q = h.query
        watch = q.get("watch") in ("1", "true")
        if m in ("GET", "HEAD"):
            if name is None:
                verb = "watch" if watch else "list"
            else:
                verb = "get"
        else:
            verb = {"POST": "create", "PUT": "update", "PATCH": "patch",
                    "DELETE": "delete" if name else "deletecollection"}[m]
        if r.namespaced and not ns and verb not in ("list", "watch"):
            raise APIError(404, "", "404 page not found\n", plain=True)
        if sub == "exec":
            # GET (WebSocket) or POST (SPDY): both need "create" on pods/exec, as with RBAC
            if name is None or m not in ("GET", "POST"):
                raise APIError(405, "MethodNotAllowed", "the server does not allow this method on the requested "
                               "resource")
            self.authorize(user, "create", r, ns, name, sub)
            return kubeletproxy.proxy_exec(self, h, ns, name)
        if sub == "binding":
            if name is None or m != "POST":
                raise APIError(405, "MethodNotAllowed", "the server does not allow this method on the requested "
                               "resource")
            self.authorize(user, "create", r, ns, name, sub)
            return self.do_binding(h, r, ns, name)
        if m == "POST" and name is not None:
            raise APIError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        self.authorize(user, verb, r, ns, name, sub)
        warnheaders.deprecated(h, r)
        if verb == "watch":
            return self.do_watch(h, r, ns)
        if verb == "list":
            return self.do_list(h, r, ns)
        if verb == "get":
            if sub == "log":
                return kubeletproxy.proxy_log(self, h, ns, name)
            o = self.store.get(r.name, ns, name)
            if o is None:
                raise RS.not_found(r, name)
            return self.send_obj(h, 200, r, o)
        if verb == "create":
            return self.do_create(h, user, r, ns)
        if verb == "update":
            return self.do_update(h, r, ns, name, sub)
        if verb == "patch":
            return self.do_patch(h, r, ns, name, sub)
        if verb == "delete":
            return self.do_delete(h, r, ns, name)
        if verb == "deletecollection":
            objs = self.select(h, r, ns)
            for o in objs:
                self.delete_object(r, o, self.delete_options(h, r))
            return self.send_list(h, r, objs, str(self.store.rv))

    def want_table(self, h):
        acc = h.headers.get("Accept", "")
        first = acc.split(",")[0]
        return "as=Table" in first

    def send_obj(self, h, code, r, o):
        if self.want_table(h):
            return h.send_body(code, RS.to_table(r, [o], {"resourceVersion": o["metadata"].get("resourceVersion")},
                                                 h.query.get("includeObject", "Metadata")))
        return h.send_body(code, o)

    def parse_body(self, h, r):
        ctype = h.headers.get("Content-Type", "application/json").split(";")[0].strip()
        if ctype == "application/vnd.kubernetes.protobuf":
            from .protobuf import ProtoError, decode
            try:
                return decode(h.body)
            except ProtoError as e:
                raise APIError(415, "UnsupportedMediaType", str(e))
        if ctype not in ("application/json", "") and not ctype.endswith("+json"):
            if "yaml" in ctype:
                raise APIError(415, "UnsupportedMediaType", 'the body of the request was in an unknown format - '
                               'accepted media types include: application/json, application/yaml, '
                               'application/vnd.kubernetes.protobuf (this test cluster only speaks JSON)')
            raise APIError(415, "UnsupportedMediaType", 'the body of the request was in an unknown format - '
                           'accepted media types include: application/json')
        try:
            obj = json.loads(h.body or b"null")
        except ValueError as e:
            snippet = h.body[:30].decode("utf-8", "replace")
            raise RS.bad_request('the object provided is unrecognized (must be of type %s): couldn\'t get '
                                 'version/kind; json parse error: %s (%s ...)' % (r.kind, e, snippet))
        return obj

    def check_kind(self, r, obj):
        if not isinstance(obj, dict):
            raise RS.bad_request("the object provided is unrecognized (must be of type %s)" % r.kind)
        kind, av = obj.get("kind"), obj.get("apiVersion")
        if not kind or not av:
            raise RS.bad_request("Object 'Kind' is missing in '%s'" % dumps(obj)[:200])
        if kind != r.kind or av != r.api_version:
            raise RS.bad_request('the API version in the data (%s) does not match the expected API version (%s)'
                                 % (av, r.api_version) if kind == r.kind else
                                 "%s in version \"%s\" cannot be handled as a %s: no kind \"%s\" is registered "
                                 "for version \"%s\" in scheme" % (r.kind, r.version, r.kind, kind, av))

    def do_create(self, h, user, r, ns):
        obj = self.parse_body(h, r)
        self.check_kind(r, obj)
        md = obj.setdefault("metadata", {})
        if r.namespaced:
            if md.get("namespace") and md["namespace"] != ns:
                raise RS.bad_request("the namespace of the provided object does not match the namespace sent on "
                                     "the request")
            md["namespace"] = ns
            if self.store.get("namespaces", "", ns) is None:
                raise RS.not_found(RS.BY_NAME["namespaces"], ns)
        dry = h.query.get("dryRun") == "All"
        warnheaders.pod_security(self, h, r, obj)
        try:
            o = self.create_object(r, obj, user=user, dry_run=dry,
                                   field_manager=h.query.get("fieldManager") or
                                   h.headers.get("User-Agent", "").split("/")[0])
        except APIError as e:
            if e.code in (400, 422):
                h.warnings = []  # refused before admission: no admission warnings
            raise
        self.send_obj(h, 201, r, o)

    def create_object(self, r, obj, user=None, dry_run=False, field_manager=None, controller=False):
        """Validate, admit, default and store obj. Used by the API and the controllers."""
        RS.check_quantities(obj)
        quantity.canonicalize(obj)
        RS.check_types(obj)
        md = obj.setdefault("metadata", {})
        for k in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "selfLink"):
            md.pop(k, None)
        err = RS.validate(r, obj)
        if err:
            raise err
        if self.eidf_policy and not controller:
            err = RS.eidf_admission(r, obj)
            if err:
                raise err
        if not md.get("name"):
            for _ in range(20):
                md["name"] = gen_name(md["generateName"])
                if self.store.get(r.name, md.get("namespace", ""), md["name"]) is None:
                    break
        if self.store.get(r.name, md.get("namespace", ""), md["name"]) is not None:
            raise RS.already_exists(r, md["name"])
        from .util import new_uid
        md["uid"] = new_uid()
        md["creationTimestamp"] = now_ts()
        if field_manager and not controller:
            md["managedFields"] = [{"manager": field_manager, "operation": "Update", "apiVersion": r.api_version,
                                    "time": md["creationTimestamp"], "fieldsType": "FieldsV1", "fieldsV1": {}}]
        RS.apply_defaults(r, obj, self.default_sc)
        self.mutating_admission(r, obj)
        if r.namespaced and self.store.get("namespaces", "", md.get("namespace", "")) is None:
            raise RS.not_found(RS.BY_NAME["namespaces"], md.get("namespace", ""))
        if dry_run:
            md.pop("resourceVersion", None)  # a dry-run answer has none (dryrun-job.json)
            return obj
        # order of keys like the real server: apiVersion, kind, metadata, spec, status
        ordered = {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind")}
        ordered.update(obj)
        try:
            return self.store.create(r.name, ordered)
        except KeyError:
            raise RS.already_exists(r, md["name"])

    def mutating_admission(self, r, obj):
        """Kueue's webhook: jobs with a queue label start suspended. The StorageObjectInUseProtection
        admission plugin: a claim carries kubernetes.io/pvc-protection from its creation."""
        if r.name == "jobs" and (obj["metadata"].get("labels") or {}).get("kueue.x-k8s.io/queue-name"):
            obj["spec"]["suspend"] = True
        if r.name == "persistentvolumeclaims":
            f = obj["metadata"].setdefault("finalizers", [])
            if "kubernetes.io/pvc-protection" not in f:
                f.append("kubernetes.io/pvc-protection")

    def do_binding(self, h, r, ns, name):
        """POST pods/NAME/binding (a v1 Binding), as kube-scheduler binds: the pod gets the target
        node and PodScheduled=True, answered 201 with a Status; a pod already on a node or being
        deleted is a 409 Conflict on pods/binding (Kubernetes' BindingREST.Create)."""
        b = self.parse_body(h, r)
        if not isinstance(b, dict) or b.get("kind", "Binding") != "Binding" or b.get("apiVersion", "v1") != "v1":
            raise RS.bad_request("the object provided is unrecognized (must be of type Binding)")
        bmd = b.get("metadata") or {}
        if bmd.get("name") != name:
            raise RS.bad_request("name in URL does not match name in Binding object")
        target = b.get("target") or {}
        errs = []
        if target.get("kind") not in (None, "", "Node"):
            errs.append('target.kind: Unsupported value: "%s": supported values: "Node", "<empty>"'
                        % target["kind"])
        if not target.get("name"):
            errs.append("target.name: Required value")
        if errs:
            # an aggregate of field errors, not a Status error: the real server answers 500 Unknown
            raise APIError(500, "Unknown", errs[0] if len(errs) == 1 else "[%s]" % ", ".join(errs))
        node = target["name"]

        def conflict(why):
            return APIError(409, "Conflict", 'Operation cannot be fulfilled on pods/binding "%s": %s' % (name, why),
                            {"name": name, "kind": "pods/binding"})

        def assign(o):
            md = o["metadata"]
            if bmd.get("uid") and bmd["uid"] != md["uid"]:
                raise conflict("Precondition failed: UID in precondition: %s, UID in object meta: %s"
                               % (bmd["uid"], md["uid"]))
            if md.get("deletionTimestamp"):
                raise conflict("pod %s is being deleted, cannot be assigned to a host" % name)
            if o["spec"].get("nodeName"):
                raise conflict('pod %s is already assigned to node "%s"' % (name, o["spec"]["nodeName"]))
            o["spec"]["nodeName"] = node
            if bmd.get("annotations"):
                md.setdefault("annotations", {}).update(bmd["annotations"])
            conds = o.setdefault("status", {}).setdefault("conditions", [])
            old = next((c for c in conds if c.get("type") == "PodScheduled"), None)
            c = {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                 "lastTransitionTime": old["lastTransitionTime"] if old and old.get("status") == "True" else now_ts()}
            if old is None:
                conds.append(c)
            else:
                conds[conds.index(old)] = c

        if h.query.get("dryRun") == "All":
            cur = self.store.get("pods", ns, name)
            if cur is not None:
                assign(deep(cur))
        else:
            cur = self.store.mutate("pods", ns, name, assign)
        if cur is None:
            raise RS.not_found(r, name)
        return h.send_body(201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                 "code": 201})

    def do_update(self, h, r, ns, name, sub):
        obj = self.parse_body(h, r)
        self.check_kind(r, obj)
        old = self.store.get(r.name, ns, name)
        if old is None:
            raise RS.not_found(r, name)
        md = obj.setdefault("metadata", {})
        if md.get("name") and md["name"] != name:
            raise RS.bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                 % (md["name"], name))
        rv = md.get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise RS.conflict(r, name)
        o = self.update_object(r, old, obj, sub, dry=h.query.get("dryRun") == "All", expect_rv=rv)
        self.send_obj(h, 200, r, o)

    def update_object(self, r, old, new, sub=None, dry=False, expect_rv=None):
        new = deep(new)
        md = new.setdefault("metadata", {})
        for k in ("uid", "creationTimestamp", "name", "namespace", "generateName", "deletionTimestamp",
                  "ownerReferences" if False else "_"):
            if k in old["metadata"]:
                md[k] = old["metadata"][k]
        if sub == "status":
            keep = deep(old)
            keep["status"] = new.get("status")
            new = keep
        elif "status" in r.subresources and r.name != "namespaces":
            new["status"] = old.get("status")
        if r.name in ("jobs", "pods") and sub != "status":
            err = RS.validate(r, new, old)
            if err:
                raise err
            RS.check_quantities(new)
        if r.name in ("jobs", "pods", "persistentvolumeclaims", "persistentvolumes"):
            quantity.canonicalize(new)
        if r.name == "jobs" and new.get("spec") != old.get("spec"):
            md["generation"] = old["metadata"].get("generation", 1) + 1
        if dry:
            return new

        def fn(cur):
            # checked under the store's lock: a writer that read an older version must re-read
            if expect_rv and cur["metadata"]["resourceVersion"] != expect_rv:
                raise RS.conflict(r, md["name"])
            cur.clear()
            cur.update(new)
        o = self.store.mutate(r.name, md.get("namespace", ""), md["name"], fn)
        if o is None:
            raise RS.not_found(r, md["name"])
        self.maybe_finalize(r, o)
        return o

    def do_patch(self, h, r, ns, name, sub):
        ctype = h.headers.get("Content-Type", "").split(";")[0].strip()
        old = self.store.get(r.name, ns, name)
        if old is None:
            raise RS.not_found(r, name)
        try:
            patch = json.loads(h.body or b"null")
        except ValueError as e:
            raise RS.bad_request("error decoding patch: %s" % e)
        try:
            if ctype == "application/merge-patch+json":
                new = json_merge_patch(old, patch)
            elif ctype == "application/strategic-merge-patch+json":
                if r.group in CRD_GROUPS:
                    raise APIError(415, "UnsupportedMediaType", "the body of the request was in an unknown format "
                                   "- accepted media types include: application/json-patch+json, "
                                   "application/merge-patch+json, application/apply-patch+yaml")
                new = strategic_merge_patch(old, patch)
            elif ctype == "application/json-patch+json":
                new = json_patch(old, patch)
            else:
                raise APIError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                               "accepted media types include: application/json-patch+json, "
                               "application/merge-patch+json, application/strategic-merge-patch+json")
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise APIError(422, "Invalid", "the server rejected our request due to an error in our request: %s" % e)
        rv = (new.get("metadata") or {}).get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise RS.conflict(r, name)
        o = self.update_object(r, old, new, sub, dry=h.query.get("dryRun") == "All")
        self.send_obj(h, 200, r, o)

    def delete_options(self, h, r):
        """DeleteOptions from the body when there is one (the query is then ignored, as in
        handlers/delete.go: `?dryRun=All` plus a body really deletes), else from the query."""
        opts = {}
        if h.body and h.body.strip():
            try:
                opts = json.loads(h.body) or {}
            except ValueError:
                raise RS.bad_request("error decoding DeleteOptions")
            return opts
        for k in ("propagationPolicy", "gracePeriodSeconds", "orphanDependents"):
            if k in h.query:
                opts[k] = h.query[k]
        if h.query.get("dryRun") == "All":
            opts["dryRun"] = ["All"]
        return opts

    def do_delete(self, h, r, ns, name):
        o = self.store.get(r.name, ns, name)
        if o is None:
            raise RS.not_found(r, name)
        opts = self.delete_options(h, r)
        pre = (opts.get("preconditions") or {})
        if pre.get("uid") and pre["uid"] != o["metadata"]["uid"]:
            raise APIError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": Precondition failed: UID in '
                           'precondition: %s, UID in object meta: %s' % (r.qualified, name, pre["uid"],
                                                                       o["metadata"]["uid"]),
                           {"name": name, "kind": r.name})
        if r.name == "jobs" and opts.get("propagationPolicy") is None and opts.get("orphanDependents") is None:
            h.warnings.append(warnheaders.DELETE_JOB_NO_POLICY)
        res = self.delete_object(r, o, opts)
        if res is None:
            d = {"name": name}
            if r.group:
                d["group"] = r.group
            d["kind"] = r.name
            d["uid"] = o["metadata"]["uid"]
            return h.send_body(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                     "details": d})
        return self.send_obj(h, 200, r, res)

    def delete_object(self, r, o, opts):
        """Returns the object when it lingers (graceful/foreground), None when it is gone."""
        ns, name = o["metadata"].get("namespace", ""), o["metadata"]["name"]
        policy = opts.get("propagationPolicy")
        if policy is None and opts.get("orphanDependents") in (True, "true"):
            policy = "Orphan"
        if policy is None:
            policy = "Orphan" if r.name == "jobs" else "Background"
        gc_finalizer = {"Foreground": "foregroundDeletion", "Orphan": "orphan"}.get(policy) \
            if r.name not in ("pods", "namespaces") else None

        def mark(cur):
            """What a lingering deletion looks like (delete-job-foreground/orphan.json)."""
            cur["metadata"]["deletionTimestamp"] = now_ts()
            cur["metadata"]["deletionGracePeriodSeconds"] = 0
            if "generation" in cur["metadata"]:
                cur["metadata"]["generation"] += 1
            if gc_finalizer:
                f = cur["metadata"].setdefault("finalizers", [])
                if gc_finalizer not in f:
                    f.append(gc_finalizer)
        if opts.get("dryRun"):
            # the would-be object, same resourceVersion; nothing changes
            if r.name == "pods" or o["metadata"].get("deletionTimestamp") or not (gc_finalizer or o["metadata"].get("finalizers")):
                return o if r.name == "pods" else None
            would = deep(o)
            mark(would)
            return would
        if r.name == "pods":
            # Graceful deletion: a pod on a node stays (deletionTimestamp set) until its node
            # agent has stopped the containers and deletes it with grace 0; a pod on no node,
            # a finished one and a grace-0 delete go at once (the agent then kills what is left).
            grace = opts.get("gracePeriodSeconds")
            grace = int(grace) if grace is not None else (o["spec"].get("terminationGracePeriodSeconds") or 30)
            if grace > 0 and o["spec"].get("nodeName") and \
                    (o.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                if o["metadata"].get("deletionTimestamp"):
                    return o

                def fn(cur):
                    cur["metadata"]["deletionTimestamp"] = now_ts()
                    cur["metadata"]["deletionGracePeriodSeconds"] = grace
                cur = self.store.mutate("pods", ns, name, fn)
                self.wake()
                return cur
            d = self.store.delete("pods", ns, name)
            self.wake()
            return d
        if o["metadata"].get("deletionTimestamp"):
            return o
        if r.name == "namespaces":
            def fn(cur):
                cur["metadata"]["deletionTimestamp"] = now_ts()
                cur["status"]["phase"] = "Terminating"
            cur = self.store.mutate("namespaces", "", name, fn)
            self.wake()
            return cur
        if policy == "Foreground":
            cur = self.store.mutate(r.name, ns, name, mark)
            self.wake()
            return cur
        if policy == "Orphan":
            # the garbage collector orphans the dependents, drops its finalizer, and the
            # object goes; the answer is the object as it was marked
            cur = self.store.mutate(r.name, ns, name, mark)
            self.orphan_dependents(o)

            def unorphan(c):
                c["metadata"]["finalizers"] = [f for f in c["metadata"].get("finalizers", []) if f != "orphan"]
                if not c["metadata"]["finalizers"]:
                    del c["metadata"]["finalizers"]
            if [f for f in (cur or {}).get("metadata", {}).get("finalizers", []) if f != "orphan"]:
                self.store.mutate(r.name, ns, name, unorphan)  # other finalizers keep it
            else:
                self.store.delete(r.name, ns, name)
            self.wake()
            return cur
        if o["metadata"].get("finalizers"):
            def fn(cur):
                cur["metadata"]["deletionTimestamp"] = now_ts()
                cur["metadata"]["deletionGracePeriodSeconds"] = 0
            return self.store.mutate(r.name, ns, name, fn)
        self.store.delete(r.name, ns, name)
        self.wake()
        return None

    def maybe_finalize(self, r, o):
        md = o["metadata"]
        if md.get("deletionTimestamp") and not md.get("finalizers") and r.name != "pods":
            self.store.delete(r.name, md.get("namespace", ""), md["name"])

    def orphan_dependents(self, owner):
        uid = owner["metadata"]["uid"]
        for p in self.store.list("pods", owner["metadata"].get("namespace"))[0]:
            if any(ref.get("uid") == uid for ref in p["metadata"].get("ownerReferences") or []):
                def fn(cur):
                    cur["metadata"]["ownerReferences"] = [x for x in cur["metadata"].get("ownerReferences", [])
                                                          if x.get("uid") != uid]
                    if not cur["metadata"]["ownerReferences"]:
                        del cur["metadata"]["ownerReferences"]
                self.store.mutate("pods", p["metadata"]["namespace"], p["metadata"]["name"], fn)

    # -- list/watch ------------------------------------------------------
    def selectors(self, h, r):
        try:
            ls = parse_label_selector(h.query.get("labelSelector", ""))
            fs = parse_field_selector(h.query.get("fieldSelector", ""))
        except SelectorError as e:
            raise RS.bad_request(str(e))
        allowed = {"metadata.name", "metadata.namespace"}
        allowed |= {"pods": {"status.phase", "spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                             "spec.serviceAccountName", "status.podIP", "status.nominatedNodeName"},
                    "events": {"involvedObject.name", "involvedObject.kind", "involvedObject.namespace",
                               "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
                               "involvedObject.fieldPath", "reason", "source", "type", "reportingComponent"},
                    "secrets": {"type"}, "namespaces": {"status.phase"},
                    "jobs": {"status.successful"}, "persistentvolumeclaims": set()}.get(r.name, set())
        for f, _, _ in fs:
            if f not in allowed:
                raise RS.bad_request('"%s" is not a known field selector: only "%s"' % (
                    f, '", "'.join(sorted(allowed))))
        return ls, fs

    @staticmethod
    def obj_matches(o, ls, fs):
        if not match_labels(ls, o["metadata"].get("labels")):
            return False
        for f, op, v in fs:
            cur = field_value(o, f)
            if f == "source":
                cur = (o.get("source") or {}).get("component", "")
            if (cur == v) != (op == "="):
                return False
        return True

    def select(self, h, r, ns):
        ls, fs = self.selectors(h, r)
        objs, _ = self.store.list(r.name, ns)
        return [o for o in objs if self.obj_matches(o, ls, fs)]

    def send_list(self, h, r, items, rv, cont=None, remaining=None):
        meta = {"resourceVersion": rv}
        if cont:
            meta["continue"] = cont
        if remaining:
            meta["remainingItemCount"] = remaining
        if self.want_table(h):
            return h.send_body(200, RS.to_table(r, items, meta, h.query.get("includeObject", "Metadata")))
        if r.group not in CRD_GROUPS:
            items = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in items]
        return h.send_body(200, {"kind": r.kind + "List", "apiVersion": r.api_version, "metadata": meta,
                                 "items": items})

    def check_list_rv(self, h):
        """resourceVersion / resourceVersionMatch of a list, answered like the watch cache does
        (watch-expired-list-*, list-rv-too-large-504): Exact of a compacted version is 410; a
        version from the future is waited for (3 s), then 504 with Retry-After. Lists are always
        served from the current state otherwise."""
        rvq = h.query.get("resourceVersion", "")
        match = h.query.get("resourceVersionMatch", "")
        if rvq in ("", "0"):
            return
        try:
            want = int(rvq)
        except ValueError:
            raise RS.bad_request('invalid resource version "%s"' % rvq)
        exact = match == "Exact" or (not match and h.query.get("limit") and not h.query.get("continue"))
        if exact and want < self.store.oldest:
            raise APIError(410, "Expired", "The resourceVersion for the provided list is too old.")
        deadline = time.time() + 3
        with self.store.cond:
            while int(self.store.rv) < want and time.time() < deadline:
                self.store.cond.wait(max(0.01, deadline - time.time()))
        if int(self.store.rv) < want:
            raise APIError(504, "Timeout", "Timeout: Too large resource version: %d, current: %s" % (
                want, self.store.rv), {"causes": [{"reason": "ResourceVersionTooLarge",
                                                   "message": "Too large resource version"}],
                                       "retryAfterSeconds": 1})

    def do_list(self, h, r, ns):
        self.check_list_rv(h)
        ls, fs = self.selectors(h, r)
        with self.store.lock:
            objs, rv = self.store.list(r.name, ns)
        objs = [o for o in objs if self.obj_matches(o, ls, fs)]
        objs.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        start = None
        if h.query.get("continue"):
            try:
                tok = json.loads(base64.b64decode(h.query["continue"] + "=="))
                start = tok["start"]
                trv = int(tok["rv"])
            except Exception:
                raise RS.bad_request("continue key is not valid: illegal base64 data at input byte 0")
            if trv != -1 and trv < self.store.oldest:
                # with a token to continue inconsistently (rv -1), as watch-expired-continue-410.json
                tok["rv"] = -1
                e = APIError(410, "Expired", "The provided continue parameter is too old to display a consistent "
                               "list result. You can start a new list without the continue parameter, or use the "
                               "continue token in this response to retrieve the remainder of the results. "
                               "Continuing with the provided token results in an inconsistent list - objects that "
                               "were created, modified, or deleted between the time the first chunk was returned "
                               "and now may show up in the list.")
                e.meta = {"continue": base64.b64encode(dumps(tok).encode()).decode().rstrip("=")}
                raise e
            if trv != -1:
                rv = str(trv)
            objs = [o for o in objs if "%s/%s\0" % (o["metadata"].get("namespace", ""),
                                                    o["metadata"]["name"]) > start]
        limit = int(h.query.get("limit") or 0)
        cont = None
        remaining = None
        if limit and len(objs) > limit:
            last = objs[limit - 1]
            remaining = len(objs) - limit
            objs = objs[:limit]
            tok = {"v": "meta.k8s.io/v1", "rv": int(rv),
                   "start": "%s/%s\0" % (last["metadata"].get("namespace", ""), last["metadata"]["name"])}
            cont = base64.b64encode(dumps(tok).encode()).decode().rstrip("=")
        self.send_list(h, r, objs, rv, cont, remaining)

    def do_watch(self, h, r, ns):
        ls, fs = self.selectors(h, r)
        rvq = h.query.get("resourceVersion", "")
        timeout = float(h.query.get("timeoutSeconds") or 1800)
        bookmarks = h.query.get("allowWatchBookmarks") in ("true", "1")
        table = self.want_table(h)
        deadline = time.time() + timeout
        initial = []
        with self.store.lock:
            if rvq in ("", "0"):
                objs, rv = self.store.list(r.name, ns)
                last = int(rv)
                initial = [("ADDED", o) for o in objs if self.obj_matches(o, ls, fs)]
            else:
                try:
                    last = int(rvq)
                except ValueError:
                    raise RS.bad_request('invalid resource version "%s"' % rvq)
                try:
                    self.store.events_since(r.name, last)
                except Gone:
                    last = None
            present = set()
            for o in self.store.list(r.name, ns)[0]:
                if self.obj_matches(o, ls, fs):
                    present.add((o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        h.start_stream("application/json")
        first = [True]

        def send(etype, o):
            if table and etype != "ERROR" and etype != "BOOKMARK":
                o = RS.to_table(r, [o], {"resourceVersion": o["metadata"].get("resourceVersion")},
                                h.query.get("includeObject", "Metadata"), with_columns=first[0])
                first[0] = False
            h.write_chunk(dumps({"type": etype, "object": o}) + "\n")

        if last is None:
            send("ERROR", {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                           "message": "too old resource version: %s (%d)" % (rvq, self.store.oldest),
                           "reason": "Expired", "code": 410})
            h.end_stream()
            return
        for etype, o in initial:
            send(etype, o)
        last_bm = time.time()
        while time.time() < deadline and not self.stopping and h.epoch == self.outages.epoch:
            grv = self.store.rv
            try:
                evs = self.store.events_since(r.name, last)
            except Gone:
                send("ERROR", {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                               "message": "too old resource version: %d (%d)" % (last, self.store.oldest),
                               "reason": "Expired", "code": 410})
                break
            for erv, etype, o in evs:
                last = erv
                if ns and o["metadata"].get("namespace", "") != ns:
                    continue
                key = (o["metadata"].get("namespace", ""), o["metadata"]["name"])
                m = self.obj_matches(o, ls, fs)
                if etype == "DELETED":
                    if key in present or m:
                        present.discard(key)
                        send("DELETED", o)
                    continue
                if m:
                    send("ADDED" if key not in present else etype, o)
                    present.add(key)
                elif key in present:
                    present.discard(key)
                    send("DELETED", o)
            if bookmarks and time.time() - last_bm > self.bookmark_interval:
                # the bookmark names grv, read before events_since: every event up to it has
                # been sent.  The store's current rv could be newer than events this loop
                # has read, and a bookmark there skipped them (a watcher lost those events)
                last_bm = time.time()
                last = max(last, int(grv))
                send("BOOKMARK", {"kind": r.kind, "apiVersion": r.api_version,
                                  "metadata": {"resourceVersion": str(last), "creationTimestamp": None}})
            with self.store.cond:
                if self.store.rv == grv:
                    self.store.cond.wait(min(0.5, max(0.01, deadline - time.time())))
        if h.epoch != self.outages.epoch:
            # dropped by an outage or restart: the connection ends without the final chunk
            # (drop_all may not have reached this connection's socket yet)
            h.close_connection = True
            return
        h.end_stream()


__all__ = ["APIMixin", "TLSServer", "Faults", "make_ssl_ctx", "now_nano", "parse_ts"]
