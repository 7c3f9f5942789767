"""In-memory object store with a global resourceVersion, event history and watches."""
import threading
import time

from .util import deep, new_uid, now_ts

HISTORY = 20000


class Gone(Exception):
    pass


class Store:
    def __init__(self):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.rv = 100
        self.objs = {}          # resource -> {(ns, name): obj}
        self.history = []       # (rv, resource, type, obj)
        self.oldest = 100       # watches from rv < oldest get 410
        self.listeners = []     # callables(resource, type, obj) for controllers

    # -- basic access (callers get copies) -------------------------------
    def get(self, res, ns, name):
        with self.lock:
            o = self.objs.get(res, {}).get((ns or "", name))
            return deep(o) if o is not None else None

    def list(self, res, ns=None):
        with self.lock:
            out = [deep(o) for (ons, _), o in self.objs.get(res, {}).items() if ns in (None, "") or ons == ns]
            return out, str(self.rv)

    def raw_items(self, res):
        return self.objs.get(res, {})

    def _emit(self, res, etype, obj):
        self.history.append((self.rv, res, etype, deep(obj)))
        if len(self.history) > HISTORY:
            drop = len(self.history) - HISTORY
            self.oldest = self.history[drop - 1][0]
            del self.history[:drop]
        self.cond.notify_all()
        for l in list(self.listeners):
            try:
                l(res, etype, obj)
            except Exception:
                pass

    def next_rv(self):
        self.rv += 1
        return str(self.rv)

    def create(self, res, obj):
        """Insert obj (metadata already validated). Returns the stored copy."""
        with self.lock:
            md = obj.setdefault("metadata", {})
            key = (md.get("namespace", ""), md["name"])
            if key in self.objs.setdefault(res, {}):
                raise KeyError("exists")
            md.setdefault("uid", new_uid())
            md.setdefault("creationTimestamp", now_ts())
            md["resourceVersion"] = self.next_rv()
            self.objs[res][key] = deep(obj)
            self._emit(res, "ADDED", obj)
            return deep(obj)

    def replace(self, res, obj):
        with self.lock:
            md = obj["metadata"]
            key = (md.get("namespace", ""), md["name"])
            if key not in self.objs.get(res, {}):
                raise KeyError("notfound")
            md["resourceVersion"] = self.next_rv()
            self.objs[res][key] = deep(obj)
            self._emit(res, "MODIFIED", obj)
            return deep(obj)

    def mutate(self, res, ns, name, fn):
        """Apply fn(obj) -> bool(changed) under the lock; emits MODIFIED if changed."""
        with self.lock:
            o = self.objs.get(res, {}).get((ns or "", name))
            if o is None:
                return None
            new = deep(o)
            if fn(new) is False or new == o:
                return deep(o)
            new["metadata"]["resourceVersion"] = self.next_rv()
            self.objs[res][(ns or "", name)] = new
            self._emit(res, "MODIFIED", new)
            return deep(new)

    def delete(self, res, ns, name):
        with self.lock:
            o = self.objs.get(res, {}).pop((ns or "", name), None)
            if o is None:
                return None
            o["metadata"]["resourceVersion"] = self.next_rv()
            self._emit(res, "DELETED", o)
            return deep(o)

    def compact(self):
        """Forget all history: every watch from an older resourceVersion gets 410."""
        with self.lock:
            self.history = []
            self.oldest = self.rv

    # -- watch -----------------------------------------------------------
    def events_since(self, res, rv):
        """Events of res with resourceVersion > rv. Raises Gone if rv too old."""
        with self.lock:
            if rv < self.oldest:
                raise Gone("too old resource version: %d (%d)" % (rv, self.oldest))
            out = []
            # history is ordered by rv: binary search would do, small enough anyway
            for erv, eres, etype, eobj in reversed(self.history):
                if erv <= rv:
                    break
                if eres == res:
                    out.append((erv, etype, eobj))
            out.reverse()
            return out

    def wait(self, timeout):
        with self.cond:
            self.cond.wait(timeout)


class Wakeup:
    """A resettable event used to kick the controller loop."""

    def __init__(self):
        self.ev = threading.Event()

    def set(self, *a):
        self.ev.set()

    def wait(self, t):
        self.ev.wait(t)
        self.ev.clear()


def sleep(t):
    time.sleep(t)
