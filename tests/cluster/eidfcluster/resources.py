"""Resource registry: discovery data, defaulting, validation, admission, tables."""
import base64
import re
import time

from .util import (DNS1123_LABEL, DNS1123_SUBDOMAIN, LABEL_MSG, QUANTITY_ERR, SUBDOMAIN_MSG, parse_quantity,
                   parse_ts)

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


class R:
    def __init__(self, group, version, name, kind, namespaced=True, short=(), singular=None,
                 verbs=ALL_VERBS, categories=(), subresources=()):
        self.group, self.version, self.name, self.kind = group, version, name, kind
        self.namespaced, self.short = namespaced, list(short)
        self.singular = singular or kind.lower()
        self.verbs, self.categories, self.subresources = list(verbs), list(categories), list(subresources)

    @property
    def api_version(self):
        return "%s/%s" % (self.group, self.version) if self.group else self.version

    @property
    def qualified(self):
        """Name used in messages: jobs.batch, pods."""
        return "%s.%s" % (self.name, self.group) if self.group else self.name

    @property
    def kind_qualified(self):
        return "%s.%s" % (self.kind, self.group) if self.group else self.kind


RESOURCES = [
    R("", "v1", "namespaces", "Namespace", False, ["ns"], subresources=["status"],
      verbs=["create", "delete", "get", "list", "patch", "update", "watch"]),
    R("", "v1", "pods", "Pod", True, ["po"], categories=["all"],
      subresources=["binding", "exec", "log", "status"]),
    R("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ["pvc"], subresources=["status"]),
    R("", "v1", "persistentvolumes", "PersistentVolume", False, ["pv"], subresources=["status"]),
    R("", "v1", "configmaps", "ConfigMap", True, ["cm"]),
    R("", "v1", "secrets", "Secret", True),
    R("", "v1", "events", "Event", True, ["ev"]),
    R("", "v1", "nodes", "Node", False, ["no"], subresources=["status"]),
    R("", "v1", "serviceaccounts", "ServiceAccount", True, ["sa"]),
    R("", "v1", "services", "Service", True, ["svc"], categories=["all"], subresources=["status"]),
    R("batch", "v1", "jobs", "Job", True, [], categories=["all"], subresources=["status"]),
    R("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, ["sc"]),
    # node heartbeats: each node agent renews its Node's Lease in kube-node-lease, as a kubelet does
    R("coordination.k8s.io", "v1", "leases", "Lease", True, []),
    R("kueue.x-k8s.io", "v1beta1", "localqueues", "LocalQueue", True, ["queue", "queues", "lq"],
      subresources=["status"]),
    R("kueue.x-k8s.io", "v1beta1", "workloads", "Workload", True, ["wl"], subresources=["status"]),
    R("kueue.x-k8s.io", "v1beta1", "clusterqueues", "ClusterQueue", False, ["cq"], subresources=["status"]),
    # served only to answer like a 1.26 server for a deprecated API (warnheaders.DEPRECATED)
    R("flowcontrol.apiserver.k8s.io", "v1beta2", "flowschemas", "FlowSchema", False, [], subresources=["status"]),
]
BY_GV = {}
for _r in RESOURCES:
    BY_GV.setdefault((_r.group, _r.version), {})[_r.name] = _r
BY_NAME = {r.name: r for r in RESOURCES}

GROUP_VERSIONS = [("batch", "v1"), ("storage.k8s.io", "v1"), ("coordination.k8s.io", "v1"),
                  ("kueue.x-k8s.io", "v1beta1"), ("flowcontrol.apiserver.k8s.io", "v1beta2")]


def discovery_resource_list(group, version):
    items = []
    for r in BY_GV.get((group, version), {}).values():
        d = {"name": r.name, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
             "verbs": r.verbs}
        if r.short:
            d["shortNames"] = r.short
        if r.categories:
            d["categories"] = r.categories
        items.append(d)
        for sub in r.subresources:
            verbs = {"log": ["get"], "exec": ["create", "get"], "binding": ["create"]}.get(
                sub, ["get", "patch", "update"])
            kind = {"log": "Pod", "exec": "PodExecOptions", "binding": "Binding"}.get(sub, r.kind)
            items.append({"name": "%s/%s" % (r.name, sub), "singularName": "", "namespaced": r.namespaced,
                          "kind": kind, "verbs": verbs})
    gv = "%s/%s" % (group, version) if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": items}


def api_group_list():
    groups = []
    for g, v in GROUP_VERSIONS:
        gv = {"groupVersion": "%s/%s" % (g, v), "version": v}
        groups.append({"name": g, "versions": [gv], "preferredVersion": gv})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


# ---------------------------------------------------------------- openapi v3
def openapi_root(port_hash="eidf"):
    paths = {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=%s" % port_hash}}
    for g, v in GROUP_VERSIONS:
        paths["apis/%s/%s" % (g, v)] = {"serverRelativeURL": "/openapi/v3/apis/%s/%s?hash=%s" % (g, v, port_hash)}
    return {"paths": paths}


def openapi_gv(group, version):
    """Just enough OpenAPI v3 for kubectl's fieldValidation support check."""
    paths = {}
    params = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
              for n in ("dryRun", "fieldManager", "fieldValidation", "pretty")]
    for r in BY_GV.get((group, version), {}).values():
        base = ("/api/%s" % version) if not group else "/apis/%s/%s" % (group, version)
        p = base + ("/namespaces/{namespace}/" if r.namespaced else "/") + r.name + "/{name}"
        gvk = {"group": group, "version": version, "kind": r.kind}
        op = {"operationId": "patch" + r.kind, "parameters": params, "x-kubernetes-action": "patch",
              "x-kubernetes-group-version-kind": gvk, "responses": {"200": {"description": "OK"}}}
        paths[p] = {"patch": op, "put": dict(op, operationId="replace" + r.kind, **{"x-kubernetes-action": "put"})}
        paths[p.rsplit("/", 1)[0]] = {"post": dict(op, operationId="create" + r.kind,
                                                   **{"x-kubernetes-action": "post"})}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.4"}, "paths": paths,
            "components": {"schemas": {}}}


# ---------------------------------------------------------------- errors
class APIError(Exception):
    def __init__(self, code, reason, message, details=None, plain=False):
        super().__init__(message)
        self.code, self.reason, self.message, self.details, self.plain = code, reason, message, details, plain

    def status(self):
        s = {"kind": "Status", "apiVersion": "v1", "metadata": getattr(self, "meta", None) or {}, "status": "Failure",
             "message": self.message}
        if self.reason:
            s["reason"] = self.reason
        if self.details is not None:
            s["details"] = self.details
        s["code"] = self.code
        return s


def _details(r, name=None, causes=None, kind=None):
    d = {}
    if name is not None:
        d["name"] = name
    if r.group:
        d["group"] = r.group
    d["kind"] = kind or r.name
    if causes:
        d["causes"] = causes
    return d


def not_found(r, name):
    return APIError(404, "NotFound", '%s "%s" not found' % (r.qualified, name), _details(r, name))


def already_exists(r, name):
    return APIError(409, "AlreadyExists", '%s "%s" already exists' % (r.qualified, name), _details(r, name))


def conflict(r, name):
    return APIError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                    'please apply your changes to the latest version and try again' % (r.qualified, name),
                    _details(r, name))


def forbidden(r, user, verb, ns, name=None, sub=None):
    res = r.name + ("/" + sub if sub else "")
    what = '%s "%s"' % (r.qualified, name) if name else r.qualified
    where = 'in the namespace "%s"' % ns if ns else "at the cluster scope"
    msg = '%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s" %s' % (
        what, user, verb, res, r.group, where)
    return APIError(403, "Forbidden", msg, _details(r, name))


def invalid(r, name, errs):
    """errs: list of (field, reason, message_fragment)."""
    causes = []
    parts = []
    for field, reason, msg in errs:
        causes.append({"reason": reason, "message": msg, "field": field})
        parts.append("%s: %s" % (field, msg))
    text = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    return APIError(422, "Invalid", '%s "%s" is invalid: %s' % (r.kind_qualified, name, text),
                    _details(r, name, causes, kind=r.kind))


def bad_request(msg):
    return APIError(400, "BadRequest", msg)


# ---------------------------------------------------------------- validation
def _req(errs, field):
    errs.append((field, "FieldValueRequired", "Required value"))


def _inv(errs, field, value, msg):
    errs.append((field, "FieldValueInvalid", 'Invalid value: "%s": %s' % (value, msg)))


def check_quantities(obj):
    """Quantities are checked while decoding: the real server answers 400, not 422."""
    def walk(o, in_res=False):
        if isinstance(o, dict):
            for k, v in o.items():
                if in_res and k in ("requests", "limits", "capacity", "storage") and isinstance(v, dict):
                    for q in v.values():
                        try:
                            parse_quantity(q)
                        except ValueError:
                            raise bad_request('%s in version "%s" cannot be handled as a %s: %s' % (
                                obj.get("kind"), (obj.get("apiVersion") or "").split("/")[-1], obj.get("kind"),
                                QUANTITY_ERR))
                walk(v, in_res or k in ("resources", "capacity"))
        elif isinstance(o, list):
            for v in o:
                walk(v, in_res)
    walk(obj)


def validate_meta(r, obj, errs):
    md = obj.get("metadata") or {}
    name = md.get("name", "")
    if not name:
        if md.get("generateName"):
            pass
        else:
            errs.append(("metadata.name", "FieldValueRequired",
                         "Required value: name or generateName is required"))
            return
    check = DNS1123_LABEL if r.name in ("namespaces",) else DNS1123_SUBDOMAIN
    msg = LABEL_MSG if check is DNS1123_LABEL else SUBDOMAIN_MSG
    if r.name == "services":
        check, msg = DNS1035_LABEL, DNS1035_MSG
        if name and check.match(name) and len(name) > 63:
            _inv(errs, "metadata.name", name, "must be no more than 63 characters")
    if name and (not check.match(name) or len(name) > 253):
        _inv(errs, "metadata.name", name, msg)
    if r.name == "jobs" and name and len(name) > 63 and check.match(name):
        _inv(errs, "metadata.name", name, "must be no more than 63 characters")
    for k, v in (md.get("labels") or {}).items():
        if not isinstance(v, str) or len(v) > 63:
            _inv(errs, "metadata.labels", v, "must be no more than 63 characters")


def check_types(obj):
    """Decode-time type errors (400 like the real server) for fields we execute."""
    spec = obj.get("spec") or {}
    if obj.get("kind") == "Job":
        spec = (spec.get("template") or {}).get("spec") or {}
        gpath = "spec.template.spec"
    else:
        gpath = "spec"
    for kind in ("initContainers", "containers"):
        for c in spec.get(kind) or []:
            for f in ("command", "args"):
                for v in c.get(f) or []:
                    if not isinstance(v, str):
                        t = {bool: "bool", int: "number", float: "number"}.get(type(v), "object")
                        raise bad_request('%s in version "%s" cannot be handled as a %s: json: cannot unmarshal %s '
                                          'into Go struct field Container.%s.%s.%s of type string' % (
                                              obj.get("kind"), (obj.get("apiVersion") or "").split("/")[-1],
                                              obj.get("kind"), t, gpath, kind, f))


def validate_pod_spec(spec, path, errs, restart_policies=None):
    if not isinstance(spec, dict):
        _req(errs, path)
        return
    ctrs = spec.get("containers")
    if not ctrs:
        _req(errs, path + ".containers")
    vols = set()
    for i, v in enumerate(spec.get("volumes") or []):
        if not v.get("name"):
            _req(errs, "%s.volumes[%d].name" % (path, i))
        vols.add(v.get("name"))
    names = set()
    for kind in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(kind) or []):
            p = "%s.%s[%d]" % (path, kind, i)
            n = c.get("name")
            if not n:
                _req(errs, p + ".name")
            elif not DNS1123_LABEL.match(n):
                _inv(errs, p + ".name", n, LABEL_MSG)
            elif n in names:
                errs.append((p + ".name", "FieldValueDuplicate", 'Duplicate value: "%s"' % n))
            names.add(n)
            if not c.get("image"):
                _req(errs, p + ".image")
            for j, m in enumerate(c.get("volumeMounts") or []):
                if m.get("name") not in vols:
                    errs.append(("%s.volumeMounts[%d].name" % (p, j), "FieldValueNotFound",
                                 'Not found: "%s"' % m.get("name")))
                if not m.get("mountPath"):
                    _req(errs, "%s.volumeMounts[%d].mountPath" % (p, j))
            res = c.get("resources") or {}
            for q, lim in (res.get("limits") or {}).items():
                req = (res.get("requests") or {}).get(q)
                if req is not None and parse_quantity(req) > parse_quantity(lim):
                    _inv(errs, "%s.resources.requests" % p, req, "must be less than or equal to %s limit of %s"
                         % (q, lim))
    rp = spec.get("restartPolicy")
    if restart_policies and rp not in restart_policies:
        if rp is None:
            errs.append((path + ".restartPolicy", "FieldValueRequired",
                         'Required value: valid values: "OnFailure", "Never"'))
        else:
            errs.append((path + ".restartPolicy", "FieldValueNotSupported",
                         'Unsupported value: "%s": supported values: "OnFailure", "Never"' % rp))


def validate(r, obj, old=None):
    errs = []
    validate_meta(r, obj, errs)
    spec = obj.get("spec")
    if r.name == "pods":
        validate_pod_spec(spec, "spec", errs)
    elif r.name == "jobs":
        spec = spec or {}
        tmpl = spec.get("template") or {}
        validate_pod_spec(tmpl.get("spec"), "spec.template.spec", errs, ("OnFailure", "Never"))
        for f in ("parallelism", "completions", "backoffLimit", "activeDeadlineSeconds",
                  "ttlSecondsAfterFinished"):
            v = spec.get(f)
            if v is not None and (not isinstance(v, int) or v < 0 or (f == "activeDeadlineSeconds" and v == 0)):
                _inv(errs, "spec." + f, v, "must be greater than or equal to 0")
        if spec.get("completionMode") not in (None, "NonIndexed", "Indexed"):
            errs.append(("spec.completionMode", "FieldValueNotSupported",
                         'Unsupported value: "%s": supported values: "NonIndexed", "Indexed"'
                         % spec.get("completionMode")))
        if spec.get("completionMode") == "Indexed" and spec.get("completions") is None:
            _req(errs, "spec.completions")
        if old is not None:
            if (old.get("spec") or {}).get("template") != spec.get("template"):
                errs.append(("spec.template", "FieldValueInvalid", "Invalid value: ...: field is immutable"))
    elif r.name == "services":
        validate_service(spec or {}, old, errs)
    elif r.name == "persistentvolumeclaims":
        spec = spec or {}
        if old is None:
            if not spec.get("accessModes"):
                errs.append(("spec.accessModes", "FieldValueRequired", "Required value: at least 1 access mode is required"))
            for i, m in enumerate(spec.get("accessModes") or []):
                if m not in ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"):
                    errs.append(("spec.accessModes[%d]" % i, "FieldValueNotSupported",
                                 'Unsupported value: "%s": supported values: "ReadOnlyMany", "ReadWriteMany", '
                                 '"ReadWriteOnce", "ReadWriteOncePod"' % m))
            if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
                _req(errs, 'spec.resources[storage]')
    elif r.name == "secrets":
        for k, v in (obj.get("data") or {}).items():
            try:
                base64.b64decode(v, validate=True)
            except Exception:
                return bad_request("illegal base64 data in data[%s]" % k)
    if errs:
        return invalid(r, (obj.get("metadata") or {}).get("name") or (obj.get("metadata") or {}).get(
            "generateName", ""), errs)
    return None


DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
               "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
               "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")


def validate_service(spec, old, errs):
    """The checks of the real server that a headless or ClusterIP Service meets."""
    ip = spec.get("clusterIP")
    headless = ip == "None"
    if ip not in (None, "", "None") and not re.match(r"^\d{1,3}(\.\d{1,3}){3}$", ip):
        _inv(errs, "spec.clusterIP", ip, "must be empty, 'None', or a valid IP address")
    if old is not None and ip is not None and ip != ((old.get("spec") or {}).get("clusterIP")):
        errs.append(("spec.clusterIP", "FieldValueInvalid", 'Invalid value: "%s": field is immutable' % ip))
    if spec.get("type", "ClusterIP") not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
        errs.append(("spec.type", "FieldValueNotSupported", 'Unsupported value: "%s": supported values: '
                     '"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"' % spec.get("type")))
    ports = spec.get("ports") or []
    if not ports and not headless and spec.get("type") != "ExternalName":
        _req(errs, "spec.ports")
    names = set()
    for i, p in enumerate(ports):
        path = "spec.ports[%d]" % i
        port = p.get("port")
        if not isinstance(port, int) or not 1 <= port <= 65535:
            errs.append((path + ".port", "FieldValueInvalid",
                         "Invalid value: %s: must be between 1 and 65535, inclusive" % port))
        if p.get("protocol", "TCP") not in ("TCP", "UDP", "SCTP"):
            errs.append((path + ".protocol", "FieldValueNotSupported", 'Unsupported value: "%s": supported '
                         'values: "SCTP", "TCP", "UDP"' % p.get("protocol")))
        name = p.get("name", "")
        if len(ports) > 1 and not name:
            _req(errs, path + ".name")
        elif name and name in names:
            errs.append((path + ".name", "FieldValueDuplicate", 'Duplicate value: "%s"' % name))
        names.add(name)
    sel = spec.get("selector")
    if sel is not None and not isinstance(sel, dict):
        _inv(errs, "spec.selector", sel, "must be a map of labels")


_svc_ip_seq = iter(range(10, 1 << 20))


# ---------------------------------------------------------------- defaults
def default_container(c):
    c.setdefault("imagePullPolicy", "Always" if c.get("image", "").endswith(":latest") or ":" not in
                 c.get("image", "").rsplit("/", 1)[-1] else "IfNotPresent")
    c.setdefault("resources", {})
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")


def default_pod_spec(spec, pod=False):
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        default_container(c)
        if pod:
            # limits without requests: requests default to limits
            res = c["resources"]
            for k, v in (res.get("limits") or {}).items():
                res.setdefault("requests", {}).setdefault(k, v)
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for v in spec.get("volumes") or []:
        for src in ("configMap", "secret"):
            if src in v:
                v[src].setdefault("defaultMode", 420)
    if pod:
        spec.setdefault("serviceAccountName", "default")
        spec.setdefault("serviceAccount", spec["serviceAccountName"])
        spec.setdefault("tolerations", [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300}])
        spec.setdefault("priority", 0)
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")


def qos_class(spec):
    req_any = False
    guaranteed = True
    for c in spec.get("containers") or []:
        res = c.get("resources") or {}
        if res.get("requests") or res.get("limits"):
            req_any = True
        lim = res.get("limits") or {}
        reqs = res.get("requests") or {}
        for k in ("cpu", "memory"):
            if k not in lim or reqs.get(k, lim[k]) != lim[k]:
                guaranteed = False
    if not req_any:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def apply_defaults(r, obj, default_sc=None):
    md = obj["metadata"]
    if r.name == "jobs":
        md.setdefault("annotations", {})["batch.kubernetes.io/job-tracking"] = ""
        md["generation"] = 1
        spec = obj.setdefault("spec", {})
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("completions", 1) if "parallelism" not in spec or True else None
        spec.setdefault("parallelism", 1)
        if spec["completionMode"] == "Indexed":
            spec.setdefault("backoffLimitPerIndex", None) if False else None
        spec.setdefault("suspend", False)
        if "podReplacementPolicy" not in spec:
            spec["podReplacementPolicy"] = "TerminatingOrFailed"
        uid = md["uid"]
        if not spec.get("manualSelector"):
            spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        tmpl = spec.setdefault("template", {})
        tm = tmpl.setdefault("metadata", {})
        tm.setdefault("creationTimestamp", None)
        labels = tm.setdefault("labels", {})
        labels.update({"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": md["name"],
                       "controller-uid": uid, "job-name": md["name"]})
        default_pod_spec(tmpl.setdefault("spec", {}))
        obj.setdefault("status", {})
    elif r.name == "pods":
        spec = obj.setdefault("spec", {})
        default_pod_spec(spec, pod=True)
        obj.setdefault("status", {})["phase"] = "Pending"
        obj["status"]["qosClass"] = qos_class(spec)
    elif r.name == "persistentvolumeclaims":
        spec = obj.setdefault("spec", {})
        if "storageClassName" not in spec and default_sc:
            spec["storageClassName"] = default_sc
        spec.setdefault("volumeMode", "Filesystem")
        obj["status"] = {"phase": "Pending"}
    elif r.name == "services":
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if spec.get("clusterIP") in (None, ""):
            n = next(_svc_ip_seq)   # from the service CIDR 10.96.0.0/12, as kube-apiserver allocates
            spec["clusterIP"] = "10.96.%d.%d" % (n // 250, n % 250 + 1)
        spec["clusterIPs"] = [spec["clusterIP"]]
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        for p in spec.get("ports") or []:
            p.setdefault("protocol", "TCP")
            p.setdefault("targetPort", p.get("port"))
        obj["status"] = {"loadBalancer": {}}
    elif r.name == "namespaces":
        md.setdefault("labels", {})["kubernetes.io/metadata.name"] = md["name"]
        obj["spec"] = {"finalizers": ["kubernetes"]}
        obj["status"] = {"phase": "Active"}
    elif r.name == "secrets":
        obj.setdefault("type", "Opaque")
        sd = obj.pop("stringData", None)
        if sd:
            obj.setdefault("data", {})
            for k, v in sd.items():
                obj["data"][k] = base64.b64encode(v.encode()).decode()


# ---------------------------------------------------------------- EIDF policy
WEBHOOK = "validate.kyverno.svc-fail"


def eidf_admission(r, obj, created_by_controller=False):
    """Mimic the EIDF validating policies (Kyverno style). Returns APIError or None."""
    if r.name not in ("jobs", "pods") or created_by_controller:
        return None
    md = obj.get("metadata") or {}
    ns = md.get("namespace", "")
    fails = []
    if r.name == "jobs":
        if not (md.get("labels") or {}).get("kueue.x-k8s.io/queue-name"):
            fails.append(("eidf-require-queue-name", "check-queue-label",
                          "The metadata label 'kueue.x-k8s.io/queue-name' is missing or has an empty value set. "
                          "Workloads without this queue name tag will be rejected."))
        if md.get("name") and not md.get("generateName"):
            fails.append(("eidf-require-generate-name", "check-generate-name",
                          "Jobs must use metadata.generateName, not metadata.name (see the EIDF GPU Service "
                          "policy 'Kubernetes Job Names')."))
        spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    else:
        spec = obj.get("spec") or {}
    missing = []
    for kind in ("initContainers", "containers"):
        for c in spec.get(kind) or []:
            res = c.get("resources") or {}
            for part in ("requests", "limits"):
                for q in ("cpu", "memory"):
                    if q not in (res.get(part) or {}):
                        missing.append("%s %s.%s" % (c.get("name"), part, q))
    if missing:
        fails.append(("eidf-require-resources", "check-cpu-memory",
                      "All pods must have requests and limits for CPU and memory defined in order to be "
                      "accepted; missing: " + ", ".join(missing) + "."))
    if not fails:
        return None
    name = md.get("name") or md.get("generateName", "")
    lines = ["", "", "resource %s/%s/%s was blocked due to the following policies " % (r.kind, ns, name), ""]
    for pol, rule, msg in fails:
        lines.append("%s:" % pol)
        lines.append("  %s: '%s'" % (rule, msg.replace("'", "''")))
    return APIError(400, "", 'admission webhook "%s" denied the request: %s' % (WEBHOOK, "\n".join(lines)))


# ---------------------------------------------------------------- tables
def _age(ts):
    if not ts:
        return "<unknown>"
    try:
        d = int(time.time() - parse_ts(ts))
    except ValueError:
        return "<unknown>"
    if d < 0:
        d = 0
    if d < 120:
        return "%ds" % d
    if d < 600:
        return "%dm%ds" % (d // 60, d % 60) if d % 60 else "%dm" % (d // 60)
    if d < 3 * 3600:
        return "%dm" % (d // 60)
    if d < 48 * 3600:
        return "%dh" % (d // 3600)
    return "%dd" % (d // 86400)


def _col(name, typ="string", fmt="", desc="", prio=0):
    return {"name": name, "type": typ, "format": fmt, "description": desc, "priority": prio}


def pod_status_reason(p):
    st = p.get("status") or {}
    reason = st.get("reason") or st.get("phase", "Pending")
    for cs in reversed(st.get("initContainerStatuses") or []):
        s = cs.get("state") or {}
        if "terminated" in s and s["terminated"].get("exitCode", 0) != 0:
            return "Init:" + (s["terminated"].get("reason") or "Error")
        if "waiting" in s and s["waiting"].get("reason") not in (None, "PodInitializing"):
            return "Init:" + s["waiting"]["reason"]
        if "running" in s or ("waiting" in s):
            n = len(p["spec"].get("initContainers") or [])
            done = sum(1 for x in st.get("initContainerStatuses") or []
                       if "terminated" in (x.get("state") or {}))
            if done < n:
                return "Init:%d/%d" % (done, n)
    for cs in st.get("containerStatuses") or []:
        s = cs.get("state") or {}
        if "waiting" in s and s["waiting"].get("reason"):
            reason = s["waiting"]["reason"]
        elif "terminated" in s:
            reason = s["terminated"].get("reason") or ("Signal:%d" % s["terminated"].get("signal", 0))
    if (p.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def table_row(r, o):
    md = o.get("metadata") or {}
    st = o.get("status") or {}
    sp = o.get("spec") or {}
    age = _age(md.get("creationTimestamp"))
    if r.name == "pods":
        cs = st.get("containerStatuses") or []
        ready = sum(1 for c in cs if c.get("ready"))
        restarts = sum(c.get("restartCount", 0) for c in cs)
        return [md["name"], "%d/%d" % (ready, len(sp.get("containers") or [])), pod_status_reason(o),
                restarts, age, st.get("podIP", "<none>"), sp.get("nodeName", "<none>"), "<none>", "<none>"]
    if r.name == "jobs":
        status = "Running"
        for c in st.get("conditions") or []:
            if c.get("status") == "True" and c.get("type") in ("Complete", "Failed", "Suspended"):
                status = c["type"]
        if status == "Running" and sp.get("suspend"):
            status = "Suspended"
        dur = ""
        if st.get("startTime"):
            end = parse_ts(st["completionTime"]) if st.get("completionTime") else time.time()
            d = int(end - parse_ts(st["startTime"]))
            dur = "%ds" % d if d < 120 else "%dm" % (d // 60)
        return [md["name"], status, "%d/%d" % (st.get("succeeded", 0), sp.get("completions") or 1), dur, age]
    # kubectl's printers say Terminating for a claim or volume with a deletionTimestamp
    # (pvc-protection and pv-protection hold them), whatever status.phase says
    terminating = "Terminating" if md.get("deletionTimestamp") else None
    if r.name == "persistentvolumeclaims":
        return [md["name"], terminating or st.get("phase", ""), sp.get("volumeName", ""),
                (st.get("capacity") or {}).get("storage", ""), ",".join(
                    {"ReadWriteOnce": "RWO", "ReadWriteMany": "RWX", "ReadOnlyMany": "ROX",
                     "ReadWriteOncePod": "RWOP"}.get(m, m) for m in st.get("accessModes") or []),
                sp.get("storageClassName", "<unset>"), "<unset>", age, sp.get("volumeMode", "Filesystem")]
    if r.name == "namespaces":
        return [md["name"], st.get("phase", "Active"), age]
    if r.name == "persistentvolumes":
        cr = sp.get("claimRef") or {}
        return [md["name"], (sp.get("capacity") or {}).get("storage", ""), ",".join(
            {"ReadWriteOnce": "RWO", "ReadWriteMany": "RWX", "ReadOnlyMany": "ROX"}.get(m, m)
            for m in sp.get("accessModes") or []), sp.get("persistentVolumeReclaimPolicy", "Delete"),
            terminating or st.get("phase", ""), "%s/%s" % (cr.get("namespace"), cr.get("name")) if cr else "",
            sp.get("storageClassName", ""), "<unset>", "", age]
    if r.name == "nodes":
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or [])
        return [md["name"], "Ready" if ready else "NotReady", "<none>", age,
                (st.get("nodeInfo") or {}).get("kubeletVersion", "")]
    if r.name == "leases":
        return [md["name"], sp.get("holderIdentity", ""), age]
    if r.name == "events":
        return [_age(o.get("lastTimestamp") or md.get("creationTimestamp")), o.get("type", ""),
                o.get("reason", ""), "%s/%s" % ((o.get("involvedObject") or {}).get("kind", "").lower(),
                                                (o.get("involvedObject") or {}).get("name", "")),
                o.get("message", "")]
    if r.name == "storageclasses":
        name = md["name"]
        if (md.get("annotations") or {}).get("storageclass.kubernetes.io/is-default-class") == "true":
            name += " (default)"
        return [name, o.get("provisioner", ""), o.get("reclaimPolicy", "Delete"),
                o.get("volumeBindingMode", "Immediate"), bool(o.get("allowVolumeExpansion")), age]
    if r.name == "localqueues":
        return [md["name"], sp.get("clusterQueue", ""), st.get("pendingWorkloads", 0),
                st.get("admittedWorkloads", 0), age]
    if r.name == "workloads":
        own = (md.get("ownerReferences") or [{}])[0]
        adm = (st.get("admission") or {}).get("clusterQueue", "")
        return [md["name"], sp.get("queueName", ""), adm, _wl_admitted(st), _wl_finished(st), age]
    if r.name == "services":
        ports = ",".join("%s/%s" % (p.get("port"), p.get("protocol", "TCP")) for p in sp.get("ports") or [])
        sel = ",".join("%s=%s" % kv for kv in sorted((sp.get("selector") or {}).items()))
        return [md["name"], sp.get("type", "ClusterIP"), sp.get("clusterIP", ""), "<none>", ports or "<none>",
                age, sel or "<none>"]
    if r.name == "configmaps":
        return [md["name"], len(o.get("data") or {}) + len(o.get("binaryData") or {}), age]
    if r.name == "secrets":
        return [md["name"], o.get("type", "Opaque"), len(o.get("data") or {}), age]
    return [md["name"], age]


def _wl_admitted(st):
    return "True" if any(c.get("type") == "Admitted" and c.get("status") == "True"
                         for c in st.get("conditions") or []) else ""


def _wl_finished(st):
    return "True" if any(c.get("type") == "Finished" and c.get("status") == "True"
                         for c in st.get("conditions") or []) else ""


def table_columns(r):
    n = _col("Name", fmt="name", desc="Name must be unique within a namespace.")
    if r.name == "pods":
        return [n, _col("Ready"), _col("Status"), _col("Restarts", "string"), _col("Age"),
                _col("IP", prio=1), _col("Node", prio=1), _col("Nominated Node", prio=1),
                _col("Readiness Gates", prio=1)]
    if r.name == "jobs":
        return [n, _col("Status"), _col("Completions"), _col("Duration"), _col("Age")]
    if r.name == "persistentvolumeclaims":
        return [n, _col("Status"), _col("Volume"), _col("Capacity"), _col("Access Modes"),
                _col("StorageClass"), _col("VolumeAttributesClass"), _col("Age"), _col("VolumeMode", prio=1)]
    if r.name == "namespaces":
        return [n, _col("Status"), _col("Age")]
    if r.name == "persistentvolumes":
        return [n, _col("Capacity"), _col("Access Modes"), _col("Reclaim Policy"), _col("Status"), _col("Claim"),
                _col("StorageClass"), _col("VolumeAttributesClass"), _col("Reason"), _col("Age")]
    if r.name == "nodes":
        return [n, _col("Status"), _col("Roles"), _col("Age"), _col("Version")]
    if r.name == "leases":
        return [n, _col("Holder"), _col("Age")]
    if r.name == "events":
        return [_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Message")]
    if r.name == "storageclasses":
        return [n, _col("Provisioner"), _col("ReclaimPolicy"), _col("VolumeBindingMode"),
                _col("AllowVolumeExpansion", "boolean"), _col("Age")]
    if r.name == "localqueues":
        return [n, _col("ClusterQueue"), _col("Pending Workloads", "integer"),
                _col("Admitted Workloads", "integer"), _col("Age")]
    if r.name == "workloads":
        return [n, _col("Queue"), _col("Reserved in"), _col("Admitted"), _col("Finished"), _col("Age")]
    if r.name == "services":
        return [n, _col("Type"), _col("Cluster-IP"), _col("External-IP"), _col("Port(s)"), _col("Age"),
                _col("Selector", prio=1)]
    if r.name == "configmaps":
        return [n, _col("Data", "integer"), _col("Age")]
    if r.name == "secrets":
        return [n, _col("Type"), _col("Data", "integer"), _col("Age")]
    return [n, _col("Age")]


def to_table(r, objs, list_meta=None, include_object="Metadata", with_columns=True):
    rows = []
    for o in objs:
        if include_object == "None":
            ob = None
        elif include_object == "Object":
            ob = o
        else:
            ob = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o.get("metadata")}
        row = {"cells": table_row(r, o), "object": ob}
        rows.append(row)
    t = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta or {}}
    if with_columns:
        t["columnDefinitions"] = table_columns(r)
    t["rows"] = rows
    return t
