"""Small helpers shared by the fake API server, controllers and kubelet."""
import copy
import datetime
import json
import random
import re
import select
import ssl
import string
import time
import uuid

ALNUM = "bcdfghjklmnpqrstvwxz2456789"  # k8s utilrand alphabet


def now_ts():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_micro():
    """A metav1.MicroTime: RFC 3339 with microseconds (a Lease's renewTime)."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_nano():
    t = time.time()
    dt = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%09dZ" % int((t % 1) * 1e9)


def parse_ts(s):
    """RFC 3339 timestamp -> epoch seconds (float)."""
    if not s:
        return None
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", s)
    if not m:
        raise ValueError("bad time %r" % s)
    dt = datetime.datetime(*[int(x) for x in m.groups()[:6]], tzinfo=datetime.timezone.utc)
    frac = float(m.group(7) or 0)
    off = 0
    if m.group(8) != "Z":
        sign = 1 if m.group(8)[0] == "+" else -1
        off = sign * (int(m.group(8)[1:3]) * 3600 + int(m.group(8)[4:6]) * 60)
    return dt.timestamp() + frac - off


def rand_suffix(n=5):
    return "".join(random.choice(ALNUM) for _ in range(n))


def new_uid():
    return str(uuid.uuid4())


def deep(o):
    return copy.deepcopy(o)


def dumps(o, pretty=False):
    if pretty:
        return json.dumps(o, indent=2, ensure_ascii=False)
    return json.dumps(o, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------- quantities
QUANTITY_RE = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_SUFFIX = {
    "": 1, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
    "P": 1e15, "E": 1e18, "Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3, "Ti": 1024 ** 4,
    "Pi": 1024 ** 5, "Ei": 1024 ** 6,
}


def parse_quantity(q):
    """Return the numeric value of a Kubernetes quantity or raise ValueError."""
    if isinstance(q, (int, float)) and not isinstance(q, bool):
        return float(q)
    if not isinstance(q, str):
        raise ValueError("quantity")
    m = QUANTITY_RE.match(q)
    if not m:
        raise ValueError("quantity")
    num, suf = m.groups()
    try:
        val = float(num)
    except ValueError:
        raise ValueError("quantity")
    if suf in _SUFFIX:
        return val * _SUFFIX[suf]
    m2 = re.match(r"^[eE]([-+]?[0-9]+)$", suf)
    if m2:
        return val * 10 ** int(m2.group(1))
    raise ValueError("quantity")


QUANTITY_ERR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"

# ---------------------------------------------------------------- validation
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                 "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
                 "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
             "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
             "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")


# ---------------------------------------------------------------- selectors
class SelectorError(ValueError):
    pass


def _split_top(s):
    """Split a selector on commas that are not inside parentheses."""
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return [x.strip() for x in out if x.strip()]


def parse_label_selector(s):
    """Return a list of (key, op, values) requirements."""
    reqs = []
    if not s:
        return reqs
    for part in _split_top(s):
        m = re.match(r"^([A-Za-z0-9./_-]+)\s+(in|notin)\s+\((.*)\)$", part)
        if m:
            vals = [v.strip() for v in m.group(3).split(",") if v.strip() != "" or True]
            reqs.append((m.group(1), m.group(2), set(v for v in vals)))
            continue
        m = re.match(r"^([A-Za-z0-9./_-]+)\s*(==|!=|=)\s*([A-Za-z0-9._-]*)$", part)
        if m:
            op = {"=": "=", "==": "=", "!=": "!="}[m.group(2)]
            reqs.append((m.group(1), op, {m.group(3)}))
            continue
        m = re.match(r"^!\s*([A-Za-z0-9./_-]+)$", part)
        if m:
            reqs.append((m.group(1), "!exists", set()))
            continue
        m = re.match(r"^([A-Za-z0-9./_-]+)$", part)
        if m:
            reqs.append((m.group(1), "exists", set()))
            continue
        raise SelectorError("unable to parse requirement: %s" % part)
    return reqs


def match_labels(reqs, labels):
    labels = labels or {}
    for key, op, vals in reqs:
        has = key in labels
        v = labels.get(key)
        if op == "=" and not (has and v in vals):
            return False
        if op == "!=" and has and v in vals:
            return False
        if op == "in" and not (has and v in vals):
            return False
        if op == "notin" and has and v in vals:
            return False
        if op == "exists" and not has:
            return False
        if op == "!exists" and has:
            return False
    return True


def parse_field_selector(s):
    reqs = []
    if not s:
        return reqs
    for part in _split_top(s):
        m = re.match(r"^([A-Za-z0-9._]+)\s*(==|!=|=)\s*(.*)$", part)
        if not m:
            raise SelectorError("invalid selector: '%s'; can't understand '%s'" % (s, part))
        reqs.append((m.group(1), "!=" if m.group(2) == "!=" else "=", m.group(3)))
    return reqs


def field_value(obj, path):
    cur = obj
    for p in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(p)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def match_match_labels(sel, labels):
    """A LabelSelector object (matchLabels/matchExpressions) against labels."""
    if sel is None:
        return False
    labels = labels or {}
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        k, op, vals = e.get("key"), e.get("operator"), set(e.get("values") or [])
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and k in labels and labels[k] in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


# ---------------------------------------------------------------- patches
def json_merge_patch(target, patch):
    if not isinstance(patch, dict):
        return deep(patch)
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = json_merge_patch(out.get(k), v)
    return out


# merge keys of the list fields kubectl (and our clients) patch strategically
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "volumes": "name",
    "volumeMounts": "mountPath", "env": "name", "ports": "containerPort", "conditions": "type",
    "ownerReferences": "uid", "imagePullSecrets": "name", "tolerations": "key", "envFrom": None,
    "finalizers": None,
}


def strategic_merge_patch(target, patch, field=None):
    if not isinstance(patch, dict):
        return deep(patch)
    if not isinstance(target, dict):
        target = {}
    if patch.get("$patch") == "replace":
        p = {k: v for k, v in patch.items() if k != "$patch"}
        return deep(p)
    if patch.get("$patch") == "delete":
        return None
    out = dict(target)
    for k, v in patch.items():
        if k.startswith("$setElementOrder/") or k == "$retainKeys" or k == "$patch":
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            fk = k.split("/", 1)[1]
            out[fk] = [x for x in (out.get(fk) or []) if x not in v]
            continue
        if v is None:
            out.pop(k, None)
        elif isinstance(v, list) and k in MERGE_KEYS and isinstance(out.get(k), list):
            mk = MERGE_KEYS[k]
            cur = deep(out[k])
            if mk is None:
                # primitive list with merge strategy: union
                for item in v:
                    if item not in cur:
                        cur.append(deep(item))
                out[k] = cur
                continue
            for item in v:
                if not isinstance(item, dict):
                    continue
                key = item.get(mk)
                idx = next((i for i, c in enumerate(cur) if isinstance(c, dict) and c.get(mk) == key), None)
                if item.get("$patch") == "delete":
                    if idx is not None:
                        cur.pop(idx)
                    continue
                if idx is None:
                    cur.append({a: b for a, b in item.items() if a != "$patch"})
                else:
                    cur[idx] = strategic_merge_patch(cur[idx], item, k)
            out[k] = cur
        elif isinstance(v, dict):
            r = strategic_merge_patch(out.get(k), v, k)
            if r is None:
                out.pop(k, None)
            else:
                out[k] = r
        else:
            out[k] = deep(v)
    return out


def json_patch(target, ops):
    """RFC 6902 JSON patch (add/remove/replace/test/copy/move)."""
    doc = deep(target)

    def resolve(path):
        parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
        parent = doc
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent[p]
        return parent, parts[-1] if parts else None

    for op in ops:
        kind, path = op.get("op"), op.get("path", "")
        parent, last = resolve(path)
        if kind in ("add", "replace"):
            val = deep(op.get("value"))
            if isinstance(parent, list):
                if last == "-":
                    parent.append(val)
                elif kind == "add":
                    parent.insert(int(last), val)
                else:
                    parent[int(last)] = val
            else:
                if kind == "replace" and last not in parent:
                    raise KeyError(path)
                parent[last] = val
        elif kind == "remove":
            if isinstance(parent, list):
                parent.pop(int(last))
            else:
                del parent[last]
        elif kind == "test":
            cur = parent[int(last)] if isinstance(parent, list) else parent.get(last)
            if cur != op.get("value"):
                raise ValueError("testing value %s failed" % path)
        elif kind in ("copy", "move"):
            fparent, flast = resolve(op.get("from"))
            val = fparent[int(flast)] if isinstance(fparent, list) else fparent[flast]
            if kind == "move":
                if isinstance(fparent, list):
                    fparent.pop(int(flast))
                else:
                    del fparent[flast]
            parent, last = resolve(path)
            if isinstance(parent, list):
                parent.insert(len(parent) if last == "-" else int(last), deep(val))
            else:
                parent[last] = deep(val)
    return doc


def http_date():
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())


def gen_name(prefix):
    return prefix[:58] + rand_suffix(5)


def is_true_cond(obj, ctype):
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype and c.get("status") == "True":
            return True
    return False


def set_condition(status, ctype, cstatus, reason="", message="", probe=False):
    conds = status.setdefault("conditions", [])
    ts = now_ts()
    for c in conds:
        if c.get("type") == ctype:
            if c.get("status") != cstatus:
                c["lastTransitionTime"] = ts
            c["status"] = cstatus
            if reason:
                c["reason"] = reason
            if message or "message" in c:
                c["message"] = message
            if probe:
                c["lastProbeTime"] = ts
            return c
    c = {"type": ctype, "status": cstatus}
    if probe:
        c["lastProbeTime"] = ts
    c["lastTransitionTime"] = ts
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    conds.append(c)
    return c


ascii_lower = string.ascii_lowercase


# -- non-blocking (TLS) sockets of the exec relays ------------------------------------------
def recv_some(s, n=65536):
    """What a non-blocking (TLS) socket holds now: bytes; b"" when nothing yet; None once the
    peer closed or the connection failed."""
    try:
        data = s.recv(n)
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
        return b""
    except (OSError, ssl.SSLError):
        return None
    return data or None


def send_some(s, buf):
    """Send what a non-blocking (TLS) socket takes now of bytearray buf, removing what went;
    False once the connection failed."""
    while buf:
        try:
            n = s.send(buf[:65536])
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
            return True
        except (OSError, ssl.SSLError):
            return False
        del buf[:n]
    return True


def readable(poller, socks, timeout_ms=1000):
    """The sockets of socks with something to read (or gone): those whose TLS layer already
    holds bytes, which poll cannot see, and those poll reports within timeout_ms (at once
    when some were ready already)."""
    ready = {s for s in socks if s.pending()}
    fds = {s.fileno(): s for s in socks}
    for fd, ev in poller.poll(0 if ready else timeout_ms):
        if ev & (select.POLLIN | select.POLLHUP | select.POLLERR):
            ready.add(fds[fd])
    return ready
