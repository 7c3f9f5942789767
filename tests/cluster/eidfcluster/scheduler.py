"""The scheduler stand-in: places pods on nodes as an API client, as kube-scheduler does.

It list+watches pods, nodes and PersistentVolumeClaims and acts through the
API only: a pod without a node that fits one (nodeSelector, required node
affinity, cpu/memory/nvidia.com/gpu left on the node, its claims present,
bound and not being deleted) is bound with a POST of a v1 Binding to
`pods/NAME/binding` (the API server sets `spec.nodeName` and PodScheduled);
one that fits none gets `PodScheduled=False, Unschedulable` through
`pods/status` and a `FailedScheduling` event worded like the real
scheduler's, and is tried again whenever the cluster changes.  Nodes are
schedulable once their agent has posted their status (allocatable).
Run alone: python3 -m eidfcluster.scheduler --kubeconfig KC.
"""
import sys

from .apiclient import APIStatus, EventRecorder, Reconciler, path_of
from .objects import pod_finished, pod_gpus, pod_request
from .util import match_match_labels, now_ts, parse_quantity

AFFINITY = "node(s) didn't match Pod's node affinity/selector"


class Scheduler(Reconciler):
    name = "scheduler"

    def __init__(self, api):
        super().__init__(api, {k: "/api/v1/" + k for k in ("pods", "nodes", "persistentvolumeclaims")})
        self.events = EventRecorder(api, "default-scheduler")

    def reconcile(self):
        self.schedule_pending()

    # -- one pass over the pods without a node ---------------------------------------
    def schedule_pending(self):
        with self.lock:
            pods = self.c["pods"].list()
            nodes = [n for n in self.c["nodes"].list() if (n.get("status") or {}).get("allocatable")]
        used = {n["metadata"]["name"]: {"gpu": 0, "cpu": 0.0, "memory": 0.0} for n in nodes}
        for p in pods:
            nn = p["spec"].get("nodeName")
            if nn in used and not pod_finished(p):
                self.account(used[nn], p)
        for p in sorted(pods, key=lambda p: p["metadata"]["creationTimestamp"]):
            if p["spec"].get("nodeName") or p["metadata"].get("deletionTimestamp") or pod_finished(p):
                continue
            node, msg = self.pick_node(p, nodes, used)
            if node is None:
                self.unschedulable(p, msg)
            elif self.bind(p, node):
                self.account(used[node], p)

    @staticmethod
    def account(use, p):
        use["gpu"] += pod_gpus(p["spec"])
        use["cpu"] += pod_request(p["spec"], "cpu")
        use["memory"] += pod_request(p["spec"], "memory")

    def volume_problem(self, p, total):
        """The scheduler's message for a claim the pod cannot use yet, else None."""
        ns = p["metadata"]["namespace"]
        for v in p["spec"].get("volumes") or []:
            cn = (v.get("persistentVolumeClaim") or {}).get("claimName")
            if not cn:
                continue
            with self.lock:
                pvc = self.c["persistentvolumeclaims"].get(ns, cn)
            if pvc is None or pvc["metadata"].get("deletionTimestamp"):
                return '0/%d nodes are available: persistentvolumeclaim "%s" %s. preemption: 0/%d ' \
                       'nodes are available: %d Preemption is not helpful for scheduling.' % (
                           total, cn, "not found" if pvc is None else "is being deleted", total, total)
            if (pvc.get("status") or {}).get("phase") != "Bound":
                return "0/%d nodes are available: pod has unbound immediate PersistentVolumeClaims. " \
                       "preemption: 0/%d nodes are available: %d Preemption is not helpful for " \
                       "scheduling." % (total, total, total)
        return None

    def pick_node(self, p, nodes, used):
        """(node name, None), or (None, the FailedScheduling message)."""
        total = len(nodes)
        msg = self.volume_problem(p, total)
        if msg:
            return None, msg
        reasons = {}
        gpus = pod_gpus(p["spec"])
        cpu = pod_request(p["spec"], "cpu")
        mem = pod_request(p["spec"], "memory")
        chosen = None
        for n in nodes:
            nname = n["metadata"]["name"]
            labels = n["metadata"].get("labels") or {}
            sel = p["spec"].get("nodeSelector") or {}
            aff_ok = all(labels.get(k) == v for k, v in sel.items())
            na = ((p["spec"].get("affinity") or {}).get("nodeAffinity") or {}).get(
                "requiredDuringSchedulingIgnoredDuringExecution")
            if na and aff_ok:
                aff_ok = any(match_match_labels({"matchExpressions": t.get("matchExpressions") or []}, labels)
                             for t in na.get("nodeSelectorTerms") or [])
            if not aff_ok:
                reasons[AFFINITY] = reasons.get(AFFINITY, 0) + 1
                continue
            alloc = n["status"]["allocatable"]
            bad = []
            if cpu and used[nname]["cpu"] + cpu > parse_quantity(alloc["cpu"]):
                bad.append("Insufficient cpu")
            if mem and used[nname]["memory"] + mem > parse_quantity(alloc["memory"]):
                bad.append("Insufficient memory")
            if gpus and used[nname]["gpu"] + gpus > int(alloc.get("nvidia.com/gpu", "0")):
                bad.append("Insufficient nvidia.com/gpu")
            if bad:
                for b in bad:
                    reasons[b] = reasons.get(b, 0) + 1
                continue
            if chosen is None:
                chosen = nname
                if gpus == 0:
                    break
        if chosen is not None:
            return chosen, None
        parts = ", ".join("%d %s" % (c, r) for r, c in sorted(reasons.items()))
        nph = reasons.get(AFFINITY, 0)
        pre = []
        if total - nph:
            pre.append("%d No preemption victims found for incoming pod" % (total - nph))
        if nph:
            pre.append("%d Preemption is not helpful for scheduling" % nph)
        return None, "0/%d nodes are available: %s. preemption: 0/%d nodes are available: %s." % (
            total, parts, total, ", ".join(pre))

    # -- writes ---------------------------------------------------------------------------
    def bind(self, p, node):
        """POST pods/NAME/binding, as kube-scheduler's DefaultBinder does; True once bound."""
        md = p["metadata"]
        body = {"apiVersion": "v1", "kind": "Binding",
                "metadata": {"name": md["name"], "namespace": md["namespace"], "uid": md["uid"]},
                "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        try:
            self.api.create(path_of(p, "pods", "/api/v1") + "/binding", body)
        except APIStatus as e:
            if e.code in (404, 409):   # gone, being deleted or bound meanwhile: the watch tells the rest
                return False
            raise
        # until the watch brings the bound pod, count it on its node
        with self.lock:
            cur = self.c["pods"].get(md["namespace"], md["name"])
            if cur is not None and cur["metadata"]["uid"] == md["uid"]:
                cur = dict(cur, spec=dict(cur["spec"], nodeName=node))
                self.c["pods"].objs[(md["namespace"], md["name"])] = cur
        self.events.event(p, "Normal", "Scheduled", "Successfully assigned %s/%s to %s" % (
            md["namespace"], md["name"], node))
        return True

    def unschedulable(self, p, msg):
        """PodScheduled=False through pods/status (once per message) and a FailedScheduling event."""
        def fn(o):
            st = o.setdefault("status", {})
            conds = st.setdefault("conditions", [])
            c = next((c for c in conds if c.get("type") == "PodScheduled"), None)
            if c is not None and c.get("status") == "False" and c.get("reason") == "Unschedulable" and \
                    c.get("message") == msg:
                return False
            new = {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                   "lastTransitionTime": c["lastTransitionTime"] if c is not None and
                   c.get("status") == "False" and c.get("lastTransitionTime") else now_ts(),
                   "reason": "Unschedulable", "message": msg}
            if c is None:
                conds.append(new)
            else:
                conds[conds.index(c)] = new
        try:
            after = self.api.update(path_of(p, "pods", "/api/v1"), fn, cur=p, status=True)
        except APIStatus as e:
            if e.code in (404, 409):
                return
            raise
        if after is None or after["metadata"]["resourceVersion"] == p["metadata"]["resourceVersion"]:
            return
        with self.lock:
            self.c["pods"].put(after)
        self.events.event(after, "Warning", "FailedScheduling", msg)


def main(argv=None):
    return Scheduler.main(argv, "eidf-scheduler", "scheduler stand-in: binds pods to nodes through the API "
                          "(see docs/testing.md)", "eidf-scheduler/v1.32.4")


if __name__ == "__main__":
    sys.exit(main())
