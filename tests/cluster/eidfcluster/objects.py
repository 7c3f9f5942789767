"""What Kubernetes objects say, read the same way by the API server's own
controllers and by the components that are API clients (Kueue, the
scheduler): owners, pod phases, resource requests.  Pure functions on the
objects as JSON; nothing here knows the server or the API client."""
from .util import parse_quantity


def owner_uid(o, kind="Job"):
    """The uid of the object's controller of that kind (None without one)."""
    for ref in o["metadata"].get("ownerReferences") or []:
        if ref.get("kind") == kind and ref.get("controller"):
            return ref.get("uid")
    return None


def pod_finished(p):
    return (p.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def pod_gpus(spec):
    """nvidia.com/gpu the pod's containers ask for (limits first, as the device plugin counts them)."""
    n = 0
    for c in spec.get("containers") or []:
        res = c.get("resources") or {}
        v = (res.get("limits") or {}).get("nvidia.com/gpu") or (res.get("requests") or {}).get("nvidia.com/gpu")
        if v is not None:
            n += int(parse_quantity(v))
    return n


def pod_request(spec, key):
    """The pod's request of a resource (cpu, memory), a limit standing in for a missing request."""
    tot = 0.0
    for c in spec.get("containers") or []:
        res = c.get("resources") or {}
        v = (res.get("requests") or {}).get(key) or (res.get("limits") or {}).get(key)
        if v is not None:
            tot += parse_quantity(v)
    return tot
