"""A small Kubernetes API client for the node agent, the Kueue stand-in and the scheduler.

They talk to an API server only through this, as the real kubelet and Kueue
do: HTTPS with the credentials of a kubeconfig, JSON bodies, list+watch.  It
is the Python standard library plus PyYAML (python3-yaml) for kubeconfigs
written as YAML, so the same components can serve a real kube-apiserver.
"""
import base64
import http.client
import json
import os
import random
import shutil
import ssl
import tempfile
import threading
import time
import urllib.parse

try:
    import yaml
except ImportError:  # the bundled cluster writes JSON kubeconfigs
    yaml = None


class APIStatus(Exception):
    """A non-2xx answer: code and the server's Status (or text)."""

    def __init__(self, code, body):
        self.code = code
        self.body = body
        msg = body.get("message") if isinstance(body, dict) else body
        super().__init__("%d %s" % (code, msg))


class Unreachable(Exception):
    pass


def load_kubeconfig(path, context=None):
    """(server, ssl context, bearer token or None) from a kubeconfig's current (or named) context."""
    with open(path) as f:
        text = f.read()
    try:
        cfg = json.loads(text)
    except ValueError:
        if yaml is None:
            raise
        cfg = yaml.safe_load(text)
    base = os.path.dirname(os.path.abspath(path))
    ctxname = context or cfg.get("current-context")
    ctx = next((c["context"] for c in cfg.get("contexts") or [] if c["name"] == ctxname), None)
    if ctx is None:
        raise ValueError("%s: no context %r" % (path, ctxname))
    cluster = next(c["cluster"] for c in cfg.get("clusters") or [] if c["name"] == ctx["cluster"])
    user = next((u["user"] for u in cfg.get("users") or [] if u["name"] == ctx.get("user")), {}) or {}
    tmp = tempfile.mkdtemp(prefix="eidf-apiclient-")

    def material(entry, key):
        """A file path for a kubeconfig's `key` or `key-data` (ssl wants files)."""
        if entry.get(key + "-data"):
            p = os.path.join(tmp, key)
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(base64.b64decode(entry[key + "-data"]))
            return p
        if entry.get(key):
            return os.path.join(base, entry[key])
        return None

    try:
        sctx = ssl.create_default_context(cafile=material(cluster, "certificate-authority"))
        if cluster.get("insecure-skip-tls-verify"):
            sctx.check_hostname = False
            sctx.verify_mode = ssl.CERT_NONE
        crt, key = material(user, "client-certificate"), material(user, "client-key")
        if crt and key:
            sctx.load_cert_chain(crt, key)
    finally:
        # the context holds the material now: leave no key files in $TMPDIR
        shutil.rmtree(tmp, ignore_errors=True)
    token = user.get("token")
    if not token and user.get("tokenFile"):
        with open(os.path.join(base, user["tokenFile"])) as f:
            token = f.read().strip()
    return cluster["server"].rstrip("/"), sctx, token


class Client:
    """Keep-alive HTTPS connections (one per thread), retries while the server is unreachable."""

    def __init__(self, server, ssl_ctx, token=None, user_agent="eidf-node-agent", give_up=120.0):
        u = urllib.parse.urlsplit(server)
        self.server = server
        self.host = u.hostname
        self.port = u.port or 443
        self.prefix = u.path.rstrip("/")
        self.ssl_ctx = ssl_ctx
        self.token = token
        self.user_agent = user_agent
        self.give_up = give_up
        self.local = threading.local()
        self.stopping = threading.Event()

    @classmethod
    def from_kubeconfig(cls, path, context=None, **kw):
        server, sctx, token = load_kubeconfig(path, context)
        return cls(server, sctx, token, **kw)

    def _conn(self, timeout):
        c = getattr(self.local, "conn", None)
        if c is None:
            c = http.client.HTTPSConnection(self.host, self.port, context=self.ssl_ctx, timeout=timeout)
            self.local.conn = c
        return c

    def _drop(self):
        c = getattr(self.local, "conn", None)
        if c is not None:
            c.close()
        self.local.conn = None

    def headers(self, ctype=None):
        h = {"User-Agent": self.user_agent, "Accept": "application/json"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        if ctype:
            h["Content-Type"] = ctype
        return h

    def request(self, method, path, body=None, ctype="application/json", query=None, timeout=30):
        """(code, decoded body) for a 2xx answer; APIStatus for 4xx/5xx the caller should see.
        Connection failures, 429 and 5xx are retried with capped backoff (an outage of the server
        must not lose a status update) until give_up seconds have passed."""
        url = self.prefix + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        deadline = time.time() + self.give_up
        delay = 0.1
        while True:
            try:
                c = self._conn(timeout)
                c.request(method, url, body=data, headers=self.headers(ctype if data is not None else None))
                resp = c.getresponse()
                raw = resp.read()
                code = resp.status
                if resp.getheader("Connection", "").lower() == "close":
                    self._drop()
            except (OSError, http.client.HTTPException) as e:
                self._drop()
                err = Unreachable("%s %s: %s" % (method, path, e))
                code, raw = None, b""
            if code is not None and code != 429 and code < 500:
                try:
                    obj = json.loads(raw) if raw else None
                except ValueError:
                    obj = raw.decode("utf-8", "replace")
                if code >= 300:
                    raise APIStatus(code, obj)
                return code, obj
            if code is not None:
                err = APIStatus(code, raw.decode("utf-8", "replace"))
            if time.time() >= deadline or self.stopping.is_set():
                raise err
            self.stopping.wait(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)

    # -- verbs -------------------------------------------------------------
    def get(self, path, query=None):
        """The object, or None when it does not exist."""
        try:
            return self.request("GET", path, query=query)[1]
        except APIStatus as e:
            if e.code == 404:
                return None
            raise

    def create(self, path, obj):
        return self.request("POST", path, obj)[1]

    def put(self, path, obj):
        return self.request("PUT", path, obj)[1]

    def merge_patch(self, path, patch):
        return self.request("PATCH", path, patch, "application/merge-patch+json")[1]

    def delete(self, path, options=None):
        try:
            return self.request("DELETE", path, options or {})[1]
        except APIStatus as e:
            if e.code in (404, 409):   # gone already / precondition (another incarnation)
                return None
            raise

    def update(self, path, fn, cur=None, status=False):
        """Read-modify-write with optimistic concurrency: fn(obj) changes obj in place
        (returns False for no change). Returns the stored object, None when it is gone."""
        for _ in range(50):
            if cur is None:
                cur = self.get(path)
                if cur is None:
                    return None
            new = json.loads(json.dumps(cur))
            if fn(new) is False or new == cur:
                return cur
            try:
                return self.put(path + ("/status" if status else ""), new)
            except APIStatus as e:
                if e.code == 404:
                    return None
                if e.code != 409:
                    raise
            cur = None
        raise APIStatus(409, "too many conflicts on %s" % path)

    # -- list + watch --------------------------------------------------------
    def informer(self, path, on_event, query=None, name="informer"):
        """A thread that lists path and then watches it, calling on_event(type, obj) for each
        object (type ADDED/MODIFIED/DELETED; "SYNC" once after every full list). Re-lists after a
        410 or a lost connection, as client-go's reflector does."""
        t = threading.Thread(target=self._reflect, args=(path, on_event, dict(query or {})), daemon=True,
                             name=name)
        t.start()
        return t

    def _reflect(self, path, on_event, query):
        delay = 0.1
        while not self.stopping.is_set():
            try:
                _, lst = self.request("GET", path, query=query)
                rv = lst["metadata"]["resourceVersion"]
                for o in lst.get("items") or []:
                    # items of a built-in list carry no kind/apiVersion on the wire
                    o.setdefault("kind", lst.get("kind", "")[:-len("List")])
                    o.setdefault("apiVersion", lst.get("apiVersion"))
                    on_event("ADDED", o)
                on_event("SYNC", lst.get("items") or [])
                while not self.stopping.is_set():
                    rv = self._watch(path, query, rv, on_event)
                    if rv is None:
                        break    # 410: list again
                delay = 0.1
            except (APIStatus, Unreachable, OSError, http.client.HTTPException, ValueError):
                if self.stopping.wait(delay * (0.5 + random.random())):
                    return
                delay = min(delay * 2, 2.0)

    def _watch(self, path, query, rv, on_event):
        """One watch request; returns the resourceVersion to resume from, None after 410."""
        q = dict(query, watch="1", resourceVersion=rv, allowWatchBookmarks="true", timeoutSeconds="300")
        c = http.client.HTTPSConnection(self.host, self.port, context=self.ssl_ctx, timeout=330)
        try:
            c.request("GET", self.prefix + path + "?" + urllib.parse.urlencode(q), headers=self.headers())
            resp = c.getresponse()
            if resp.status != 200:
                raw = resp.read()
                if resp.status == 410:
                    return None
                raise APIStatus(resp.status, raw.decode("utf-8", "replace"))
            while not self.stopping.is_set():
                line = resp.readline()
                if not line:
                    return rv
                ev = json.loads(line)
                obj = ev.get("object") or {}
                if ev.get("type") == "ERROR":
                    if obj.get("code") == 410:
                        return None
                    raise APIStatus(obj.get("code", 500), obj)
                rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                if ev.get("type") != "BOOKMARK":
                    on_event(ev["type"], obj)
            return rv
        finally:
            c.close()

    def stop(self):
        self.stopping.set()


def path_of(o, plural, prefix="/apis/batch/v1"):
    """The API path of an object (prefix: its group version, e.g. /api/v1)."""
    md = o["metadata"]
    if md.get("namespace"):
        return "%s/namespaces/%s/%s/%s" % (prefix, md["namespace"], plural, md["name"])
    return "%s/%s/%s" % (prefix, plural, md["name"])


class Cache:
    """Objects of one resource as an informer (and the component's own writes) last showed them."""

    def __init__(self):
        self.objs = {}
        self.synced = threading.Event()

    def put(self, o):
        md = o["metadata"]
        key = (md.get("namespace", ""), md["name"])
        old = self.objs.get(key)
        try:
            newer = old is None or old["metadata"]["uid"] != md["uid"] or \
                int(md["resourceVersion"]) >= int(old["metadata"]["resourceVersion"])
        except (KeyError, ValueError):
            newer = True
        if newer:
            self.objs[key] = o

    def on_event(self, etype, o):
        if etype == "SYNC":
            live = {(x["metadata"].get("namespace", ""), x["metadata"]["name"]) for x in o}
            for k in [k for k in self.objs if k not in live]:
                del self.objs[k]
            self.synced.set()
        elif etype == "DELETED":
            self.objs.pop((o["metadata"].get("namespace", ""), o["metadata"]["name"]), None)
        else:
            self.put(o)

    def get(self, ns, name):
        return self.objs.get((ns or "", name))

    def list(self, ns=None):
        return [o for (ons, _), o in list(self.objs.items()) if ns is None or ons == ns]


class Reconciler:
    """The skeleton of a component built like a client-go controller: an informer and a
    Cache per resource ({name: list path}), and one loop that calls reconcile() once every
    cache has listed, whenever an event came (at least once a second)."""

    name = "component"

    def __init__(self, api, resources):
        self.api = api
        self.paths = dict(resources)
        self.lock = threading.RLock()
        self.wake = threading.Event()
        self.c = {k: Cache() for k in self.paths}

    def reconcile(self):
        raise NotImplementedError

    def start(self):
        for res, path in self.paths.items():
            self.api.informer(path, self._handler(res), name="%s-%s" % (self.name, res))
        threading.Thread(target=self.loop, daemon=True, name=self.name).start()

    def _handler(self, res):
        def on_event(etype, o):
            with self.lock:
                self.c[res].on_event(etype, o)
            self.wake.set()
        return on_event

    def stop(self):
        self.api.stop()
        self.wake.set()

    def loop(self):
        while not self.api.stopping.is_set():
            self.wake.wait(1.0)
            self.wake.clear()
            if self.api.stopping.is_set():
                return
            if not all(c.synced.is_set() for c in self.c.values()):
                continue
            try:
                self.reconcile()
            except Exception:
                import traceback
                traceback.print_exc()

    @classmethod
    def main(cls, argv, prog, description, user_agent, options=()):
        """The component as a process of its own: --kubeconfig, --context and the options
        ((args, kwargs) of add_argument, passed to the constructor by name); runs until
        SIGTERM/SIGINT."""
        import argparse
        import signal
        p = argparse.ArgumentParser(prog=prog, description=description)
        p.add_argument("--kubeconfig", required=True)
        p.add_argument("--context")
        for args, kw in options:
            p.add_argument(*args, **kw)
        a = vars(p.parse_args(argv))
        api = Client.from_kubeconfig(a.pop("kubeconfig"), a.pop("context"), user_agent=user_agent)
        component = cls(api, **a)
        done = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: done.set())
        signal.signal(signal.SIGINT, lambda *_: done.set())
        component.start()
        print("%s stand-in: API %s" % (component.name, api.server), flush=True)
        done.wait()
        component.stop()
        return 0


class EventRecorder:
    """Events of one component, created through the API; a repeat of the same event
    (object, reason, message, field) bumps the count of the first, as client-go's does."""

    def __init__(self, api, component):
        self.api = api
        self.component = component
        self.lock = threading.Lock()
        self.known = {}      # (uid, reason, message, fieldPath) -> (namespace, event name)
        self.seq = 0

    def event(self, obj, etype, reason, message, field_path=None, host=""):
        md = obj["metadata"]
        ns = md.get("namespace") or "default"
        key = (md.get("uid"), reason, message, field_path)
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        try:
            with self.lock:
                known = self.known.get(key)
                self.seq += 1
                seq = self.seq
            if known:
                ev = self.api.get("/api/v1/namespaces/%s/events/%s" % known)
                if ev is not None:
                    self.api.merge_patch("/api/v1/namespaces/%s/events/%s" % known,
                                         {"count": ev.get("count", 1) + 1, "lastTimestamp": ts})
                    return
            name = "%s.%016x" % (md["name"], int(time.time() * 1e9) + seq)
            with self.lock:
                self.known[key] = (ns, name)
            inv = {"kind": obj.get("kind"), "namespace": md.get("namespace"), "name": md["name"],
                   "uid": md.get("uid"), "apiVersion": obj.get("apiVersion"),
                   "resourceVersion": md.get("resourceVersion")}
            if not md.get("namespace"):
                inv.pop("namespace")
            if field_path:
                inv["fieldPath"] = field_path
            source = {"component": self.component}
            if host:
                source["host"] = host
            self.api.create("/api/v1/namespaces/%s/events" % ns, {
                "apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": ns},
                "involvedObject": inv, "reason": reason, "message": message, "source": source,
                "firstTimestamp": ts, "lastTimestamp": ts, "count": 1, "type": etype, "eventTime": None,
                "reportingComponent": self.component, "reportingInstance": host})
        except Exception as e:  # an event is not worth the work it reports on
            import sys
            sys.stderr.write("%s: event %s: %s\n" % (self.component, reason, e))
