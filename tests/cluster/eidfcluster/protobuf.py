"""Minimal decoder of Kubernetes protobuf request bodies.

kubectl 1.32's typed clients (`kubectl create configmap|secret|namespace`) send
`application/vnd.kubernetes.protobuf`. This decodes those few kinds into the JSON
form; other kinds get 415 so the gap is visible.
"""
import base64


class ProtoError(ValueError):
    pass


def _varint(b, i):
    shift = val = 0
    while True:
        if i >= len(b):
            raise ProtoError("truncated varint")
        c = b[i]
        i += 1
        val |= (c & 0x7F) << shift
        if not c & 0x80:
            return val, i
        shift += 7


def fields(b):
    """Yield (field number, wire type, value) of a message."""
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            v = b[i:i + n]
            i += n
        elif wt == 1:
            v = b[i:i + 8]
            i += 8
        elif wt == 5:
            v = b[i:i + 4]
            i += 4
        else:
            raise ProtoError("wire type %d" % wt)
        yield num, wt, v


def _s(v):
    return v.decode("utf-8")


def _map(v, valfn=_s):
    k = val = None
    for n, _, x in fields(v):
        if n == 1:
            k = _s(x)
        elif n == 2:
            val = valfn(x)
    return k or "", val if val is not None else valfn(b"")


def _time(v):
    import datetime
    secs = 0
    for n, _, x in fields(v):
        if n == 1:
            secs = x
    return datetime.datetime.fromtimestamp(secs, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def object_meta(b):
    md = {}
    for n, _, v in fields(b):
        if n in (1, 2, 3, 5, 6):
            if v:  # gogo protobuf writes empty strings too
                md[{1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}[n]] = _s(v)
        elif n == 11:
            k, val = _map(v)
            md.setdefault("labels", {})[k] = val
        elif n == 12:
            k, val = _map(v)
            md.setdefault("annotations", {})[k] = val
        elif n == 14:
            md.setdefault("finalizers", []).append(_s(v))
        elif n == 13:
            ref = {}
            for rn, _, rv in fields(v):
                key = {1: "kind", 3: "name", 4: "uid", 5: "apiVersion"}.get(rn)
                if key:
                    ref[key] = _s(rv)
                elif rn in (6, 7):
                    ref["controller" if rn == 6 else "blockOwnerDeletion"] = bool(rv)
            md.setdefault("ownerReferences", []).append(ref)
    return md


def decode(body):
    """Return (apiVersion, kind, JSON object) for a protobuf body."""
    if not body.startswith(b"k8s\x00"):
        raise ProtoError("missing protobuf magic")
    api_version = kind = ""
    raw = b""
    for n, _, v in fields(body[4:]):
        if n == 1:
            for tn, _, tv in fields(v):
                if tn == 1:
                    api_version = _s(tv)
                elif tn == 2:
                    kind = _s(tv)
        elif n == 2:
            raw = v
    obj = {"apiVersion": api_version, "kind": kind}
    b64 = lambda x: base64.b64encode(x).decode()  # noqa: E731
    if (api_version, kind) == ("v1", "ConfigMap"):
        for n, wt, v in fields(raw):
            if n == 1:
                obj["metadata"] = object_meta(v)
            elif n == 2:
                k, val = _map(v)
                obj.setdefault("data", {})[k] = val
            elif n == 3:
                k, val = _map(v, b64)
                obj.setdefault("binaryData", {})[k] = val
            elif n == 4:
                obj["immutable"] = bool(v)
    elif (api_version, kind) == ("v1", "Secret"):
        for n, wt, v in fields(raw):
            if n == 1:
                obj["metadata"] = object_meta(v)
            elif n == 2:
                k, val = _map(v, b64)
                obj.setdefault("data", {})[k] = val
            elif n == 3 and v:
                obj["type"] = _s(v)
            elif n == 4:
                k, val = _map(v)
                obj.setdefault("stringData", {})[k] = val
            elif n == 5:
                obj["immutable"] = bool(v)
    elif (api_version, kind) == ("v1", "Namespace"):
        for n, wt, v in fields(raw):
            if n == 1:
                obj["metadata"] = object_meta(v)
    else:
        raise ProtoError("protobuf bodies of %s/%s are not supported by the test cluster" % (api_version, kind))
    obj.setdefault("metadata", {})
    return obj
