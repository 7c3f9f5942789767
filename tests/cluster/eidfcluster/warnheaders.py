"""Warning response headers, and the PodSecurity admission that causes most of them.

The real API server sends each warning as its own `Warning: 299 - "<text>"`
header (text quoted, `"` and `\\` escaped), on success and error answers alike
once admission has run (a dry-run create of an existing name gets 409 plus the
warning), but not on answers admission itself refused (a PodSecurity 403).
Samples: tests/fixtures/apiserver-samples/warning-*.
"""
from .resources import APIError

PSA_LABEL = "pod-security.kubernetes.io/"
LEVELS = ("privileged", "baseline", "restricted")
# the volume types the restricted profile allows
RESTRICTED_VOLUMES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                      "projected", "secret")
# deprecated API versions this server still serves: (group, version, resource) -> warning text
DEPRECATED = {
    ("flowcontrol.apiserver.k8s.io", "v1beta2", "flowschemas"):
        "flowcontrol.apiserver.k8s.io/v1beta2 FlowSchema is deprecated in v1.26+, unavailable in v1.29+; "
        "use flowcontrol.apiserver.k8s.io/v1beta3 FlowSchema",
}
DELETE_JOB_NO_POLICY = ("child pods are preserved by default when jobs are deleted; set "
                        "propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress "
                        "this warning")


def header_value(text):
    """The value of one Warning header, as net/http's warning writer formats it."""
    return '299 - "%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def _names(kind, names):
    """container "a" / containers "a", "b" (pod-security-admission's wording)."""
    q = ", ".join('"%s"' % n for n in names)
    return ("%s %s" % (kind, q)) if len(names) == 1 else ("%ss %s" % (kind, q))


def restricted_violations(spec):
    """[(check, detail)] of the restricted:latest profile for a pod spec, in the order the
    admission plugin reports them (by check id)."""
    psc = spec.get("securityContext") or {}
    ctrs = (spec.get("initContainers") or []) + (spec.get("containers") or [])
    out = []

    def sc(c):
        return c.get("securityContext") or {}
    bad = [c["name"] for c in ctrs if sc(c).get("allowPrivilegeEscalation") is not False]
    if bad:
        out.append(("allowPrivilegeEscalation != false", "%s must set securityContext.allowPrivilegeEscalation=false"
                    % _names("container", bad)))
    nodrop = [c["name"] for c in ctrs if "ALL" not in ((sc(c).get("capabilities") or {}).get("drop") or [])]
    adds = {}
    for c in ctrs:
        for cap in (sc(c).get("capabilities") or {}).get("add") or []:
            if cap != "NET_BIND_SERVICE":
                adds.setdefault(c["name"], []).append(cap)
    if nodrop or adds:
        parts = []
        if nodrop:
            parts.append('%s must set securityContext.capabilities.drop=["ALL"]' % _names("container", nodrop))
        if adds:
            caps = sorted({x for v in adds.values() for x in v})
            parts.append("%s must not include %s in securityContext.capabilities.add" % (
                _names("container", sorted(adds)), ", ".join('"%s"' % x for x in caps)))
        out.append(("unrestricted capabilities", "; ".join(parts)))
    priv = [c["name"] for c in ctrs if sc(c).get("privileged") is True]
    if priv:
        out.append(("privileged", "%s must not set securityContext.privileged=true" % _names("container", priv)))
    vols = [(v["name"], t) for v in spec.get("volumes") or [] for t in v if t != "name" and
            t not in RESTRICTED_VOLUMES]
    if vols:
        types = sorted({t for _, t in vols})
        out.append(("restricted volume types", "%s %s restricted volume type%s %s" % (
            _names("volume", [n for n, _ in vols]), "uses" if len(vols) == 1 else "use",
            "" if len(types) == 1 else "s", ", ".join('"%s"' % t for t in types))))
    explicit_false = [c["name"] for c in ctrs if sc(c).get("runAsNonRoot") is False]
    unset = [c["name"] for c in ctrs if sc(c).get("runAsNonRoot") is None]
    if psc.get("runAsNonRoot") is False or explicit_false or (psc.get("runAsNonRoot") is not True and unset):
        parts = []
        if psc.get("runAsNonRoot") is False:
            parts.append("pod must not set securityContext.runAsNonRoot=false")
        if explicit_false:
            parts.append("%s must not set securityContext.runAsNonRoot=false" % _names("container", explicit_false))
        if psc.get("runAsNonRoot") is not True and unset:
            parts.append("pod or %s must set securityContext.runAsNonRoot=true" % _names("container", unset))
        out.append(("runAsNonRoot != true", "; ".join(parts)))
    root = [c["name"] for c in ctrs if sc(c).get("runAsUser") == 0]
    if psc.get("runAsUser") == 0 or root:
        parts = ["pod must not set runAsUser=0"] if psc.get("runAsUser") == 0 else []
        if root:
            parts.append("%s must not set runAsUser=0" % _names("container", root))
        out.append(("runAsUser=0", "; ".join(parts)))
    ok_types = ("RuntimeDefault", "Localhost")
    pod_ok = (psc.get("seccompProfile") or {}).get("type") in ok_types
    nosec = [c["name"] for c in ctrs if (sc(c).get("seccompProfile") or {}).get("type") not in ok_types and
             not (pod_ok and not sc(c).get("seccompProfile"))]
    if nosec:
        who = ("pod or %s" % _names("container", nosec)) if not pod_ok else _names("container", nosec)
        out.append(("seccompProfile", '%s must set securityContext.seccompProfile.type to "RuntimeDefault" or '
                    '"Localhost"' % who))
    return out


def baseline_violations(spec):
    return [v for v in restricted_violations(spec) if v[0] in ("privileged",)] + [
        ("hostPath volumes", "%s %s hostPath" % (_names("volume", names), "uses" if len(names) == 1 else "use"))
        for names in [[v["name"] for v in spec.get("volumes") or [] if "hostPath" in v]] if names]


def violations(level, spec):
    if level == "restricted":
        return restricted_violations(spec)
    if level == "baseline":
        return baseline_violations(spec)
    return []


def message(v):
    return ", ".join("%s (%s)" % (check, detail) for check, detail in v)


def pod_security(cluster, h, r, obj):
    """PodSecurity admission of a pod or pod template being created in its namespace:
    a pod violating the namespace's enforce level is refused (403, no warning); a
    violation of the warn level, and for Jobs of the enforce level too, is a warning."""
    h.warnings.extend(pod_security_check(cluster, r, obj))


def pod_security_check(cluster, r, obj):
    """The warnings for obj; raises the 403 of an enforced level."""
    out = []
    if r.name == "pods":
        spec = obj.get("spec") or {}
    elif r.name == "jobs":
        spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    else:
        return out
    ns = cluster.store.get("namespaces", "", (obj.get("metadata") or {}).get("namespace", ""))
    labels = ((ns or {}).get("metadata") or {}).get("labels") or {}
    enforce = labels.get(PSA_LABEL + "enforce")
    warn = labels.get(PSA_LABEL + "warn")
    name = (obj.get("metadata") or {}).get("name") or (obj.get("metadata") or {}).get("generateName", "")
    if enforce in LEVELS and r.name == "pods":
        v = violations(enforce, spec)
        if v:
            raise APIError(403, "Forbidden", 'pods "%s" is forbidden: violates PodSecurity "%s:latest": %s' % (
                name, enforce, message(v)), {"name": name, "kind": "pods"})
    seen = set()
    for level in ([enforce] if r.name == "jobs" else []) + [warn]:
        if level in LEVELS and level not in seen:
            seen.add(level)
            v = violations(level, spec)
            if v:
                out.append('would violate PodSecurity "%s:latest": %s' % (level, message(v)))
    return out


def deprecated(h, r):
    text = DEPRECATED.get((r.group, r.version, r.name))
    if text:
        h.warnings.append(text)


__all__ = ["pod_security", "pod_security_check", "deprecated", "header_value", "DELETE_JOB_NO_POLICY"]
