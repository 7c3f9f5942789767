"""The Kueue stand-in: queues Jobs and admits their Workloads, as an API client.

Like Kueue's controllers it list+watches Jobs, Workloads, Pods, LocalQueues
and ClusterQueues and acts through the API only: it creates a Workload for
each Job with a `kueue.x-k8s.io/queue-name` label, admits it when the
LocalQueue exists and the ClusterQueue's `nvidia.com/gpu` nominal quota has
room (QuotaReserved, Admitted, then the Job is unsuspended), or writes
Kueue's Pending message; marks Workloads Finished, deletes those of deleted
Jobs, and keeps LocalQueue status.  Suspending a queued Job at creation is
Kueue's webhook, which stays in the API server's admission.

Preemption (the test bed's `cluster_evict`): the API server's admin endpoint
annotates the Workload with `eidf.test/preempt`; the stand-in then evicts
it as Kueue does (Evicted/Preempted/Requeued, pods get DisruptionTarget, the
Job is suspended) and re-admits it after the requeue delay once its pods are
gone.  Run alone: python3 -m eidfcluster.kueue --kubeconfig KC.
"""
import hashlib
import json
import sys
import threading
import time
import uuid

from .apiclient import APIStatus, EventRecorder, Reconciler, path_of
from .objects import owner_uid, pod_finished, pod_gpus
from .util import is_true_cond, parse_quantity, parse_ts, set_condition

PREEMPT = "eidf.test/preempt"
KQ = "/apis/kueue.x-k8s.io/v1beta1"


class Kueue(Reconciler):
    name = "kueue"

    def __init__(self, api, requeue_delay=1.0):
        super().__init__(api, {"jobs": "/apis/batch/v1/jobs", "workloads": KQ + "/workloads",
                               "pods": "/api/v1/pods", "localqueues": KQ + "/localqueues",
                               "clusterqueues": KQ + "/clusterqueues"})
        self.requeue_delay = requeue_delay
        self.job_events = EventRecorder(api, "batch/job-kueue-controller")
        self.wl_events = EventRecorder(api, "kueue-job-controller")
        self.admission_events = EventRecorder(api, "kueue-admission")

    # -- writes that keep our cache current (the watch event may come later) ---------
    def remember(self, res, o):
        if o is not None:
            with self.lock:
                self.c[res].put(o)
        return o

    def update_status(self, res, o, fn):
        plural = {"workloads": "workloads", "localqueues": "localqueues"}[res]
        return self.remember(res, self.api.update(path_of(o, plural, KQ), fn, cur=o, status=True))

    def workload_for(self, job):
        for wl in self.c["workloads"].list(job["metadata"]["namespace"]):
            if owner_uid(wl) == job["metadata"]["uid"]:
                return wl
        return None

    def quota(self, lq):
        """The nvidia.com/gpu nominal quota of the LocalQueue's ClusterQueue."""
        cq = next((q for q in self.c["clusterqueues"].list() if q["metadata"]["name"] ==
                   lq["spec"].get("clusterQueue")), None)
        for rg in ((cq or {}).get("spec") or {}).get("resourceGroups") or []:
            for fl in rg.get("flavors") or []:
                for r in fl.get("resources") or []:
                    if r.get("name") == "nvidia.com/gpu":
                        return int(parse_quantity(r.get("nominalQuota", "0")))
        return 0

    # -- the reconcile pass ------------------------------------------------------------
    def reconcile(self):
        with self.lock:
            jobs = [j for j in self.c["jobs"].list()
                    if (j["metadata"].get("labels") or {}).get("kueue.x-k8s.io/queue-name")]
            workloads = self.c["workloads"].list()
            pods = self.c["pods"].list()
            lqs = self.c["localqueues"].list()
        juids = {j["metadata"]["uid"]: j for j in jobs}
        # workloads of deleted jobs go away with them
        for wl in workloads:
            if owner_uid(wl) not in juids:
                self.api.delete(path_of(wl, "workloads", KQ))
        for wl in workloads:
            if (wl["metadata"].get("annotations") or {}).get(PREEMPT) and owner_uid(wl) in juids:
                self.preempt(wl, juids[owner_uid(wl)], pods)
        # pods still running for a Job: Kueue re-admits an evicted workload only once its
        # Job is inactive, so the evicted pods never run on into the next admission
        live = {}
        for p in pods:
            if not pod_finished(p) and owner_uid(p):
                live[owner_uid(p)] = live.get(owner_uid(p), 0) + 1
        used = {}
        pending = []
        next_due = None
        for j in sorted(jobs, key=lambda j: j["metadata"]["creationTimestamp"] + j["metadata"]["name"]):
            ns = j["metadata"]["namespace"]
            wl = self.workload_for(j)
            tmpl = j["spec"]["template"]
            need = pod_gpus(tmpl["spec"]) * (j["spec"].get("parallelism") or 1)
            if wl is None:
                wl = self.create_workload(j, tmpl)
                if wl is None:
                    continue
            st = wl.get("status") or {}
            if is_true_cond(j, "Complete") or is_true_cond(j, "Failed"):
                if not is_true_cond(wl, "Finished"):
                    ok = is_true_cond(j, "Complete")

                    def fin(o, ok=ok):
                        set_condition(o.setdefault("status", {}), "Finished", "True",
                                      "Succeeded" if ok else "Failed",
                                      "Job finished successfully" if ok else "Job failed")
                    self.update_status("workloads", wl, fin)
                continue
            if is_true_cond(wl, "QuotaReserved"):
                used[ns] = used.get(ns, 0) + need
                continue
            if st.get("requeueAt") and time.time() < parse_ts(st["requeueAt"]):
                due = parse_ts(st["requeueAt"])
                next_due = due if next_due is None else min(next_due, due)
                continue
            if is_true_cond(wl, "Evicted") and live.get(j["metadata"]["uid"]):
                continue  # the pods' deletion wakes us
            pending.append((j, wl, need))
        for j, wl, need in pending:
            self.try_admit(j, wl, need, used, lqs)
        self.queue_status(lqs)
        if next_due is not None:
            threading.Timer(max(0.05, next_due - time.time()), self.wake.set).start()

    def create_workload(self, j, tmpl):
        md = j["metadata"]
        ns = md["namespace"]
        h = hashlib.sha1(md["uid"].encode()).hexdigest()[:5]
        body = {"apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "Workload", "metadata": {
            "name": ("job-%s" % md["name"])[:57] + "-" + h, "namespace": ns,
            "labels": {"kueue.x-k8s.io/job-uid": md["uid"]},
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": md["name"], "uid": md["uid"],
                                 "controller": True, "blockOwnerDeletion": True}]},
            "spec": {"active": True, "queueName": md["labels"]["kueue.x-k8s.io/queue-name"], "priority": 0,
                     "podSets": [{"name": "main", "count": j["spec"].get("parallelism") or 1,
                                  "template": json.loads(json.dumps(tmpl))}]}}
        try:
            wl = self.remember("workloads", self.api.create("%s/namespaces/%s/workloads" % (KQ, ns), body))
        except APIStatus as e:
            if e.code == 409:   # made by an earlier pass whose watch event is not here yet
                return self.remember("workloads", self.api.get("%s/namespaces/%s/workloads/%s" % (
                    KQ, ns, body["metadata"]["name"])))
            if e.code == 404:   # the Job's namespace is going away
                return None
            raise
        msg = "Created Workload: %s/%s" % (ns, wl["metadata"]["name"])
        self.wl_events.event(wl, "Normal", "CreatedWorkload", msg)
        self.job_events.event(j, "Normal", "CreatedWorkload", msg)
        return wl

    def pending_condition(self, wl, reason, msg):
        def fn(o):
            set_condition(o.setdefault("status", {}), "QuotaReserved", "False", reason, msg)
        after = self.update_status("workloads", wl, fn)
        if after and after["metadata"]["resourceVersion"] != wl["metadata"]["resourceVersion"]:
            self.admission_events.event(after, "Normal", "Pending", msg)

    def try_admit(self, j, wl, need, used, lqs):
        ns = j["metadata"]["namespace"]
        qname = wl["spec"]["queueName"]
        lq = next((q for q in lqs if q["metadata"]["namespace"] == ns and q["metadata"]["name"] == qname), None)
        if lq is None:
            return self.pending_condition(wl, "Inadmissible", "LocalQueue %s doesn't exist" % qname)
        quota = self.quota(lq)
        if used.get(ns, 0) + need > quota:
            msg = ("couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in "
                   "flavor default-flavor, %d more needed" % (used.get(ns, 0) + need - quota))
            if need > quota:
                msg = ("couldn't assign flavors to pod set main: insufficient quota for nvidia.com/gpu in "
                       "flavor default-flavor, request > maximum capacity (%d > %d)" % (need, quota))
            return self.pending_condition(wl, "Pending", msg)
        used[ns] = used.get(ns, 0) + need
        cq = lq["spec"].get("clusterQueue", "%s-project-gpu-cq" % ns)

        def admit(o):
            st = o.setdefault("status", {})
            st.pop("requeueAt", None)
            st["admission"] = {"clusterQueue": cq, "podSetAssignments": [{
                "name": "main", "count": j["spec"].get("parallelism") or 1,
                "flavors": {"cpu": "default-flavor", "memory": "default-flavor",
                            "nvidia.com/gpu": "default-flavor"},
                "resourceUsage": {"nvidia.com/gpu": str(need)}}]}
            set_condition(st, "QuotaReserved", "True", "QuotaReserved", "Quota reserved in ClusterQueue %s" % cq)
            set_condition(st, "Admitted", "True", "Admitted", "The workload is admitted")
            for c in st["conditions"]:
                if c["type"] in ("Evicted", "Requeued") and c["status"] == "True":
                    c["status"] = "False"
        wl = self.update_status("workloads", wl, admit)
        if wl is None:
            return
        self.admission_events.event(wl, "Normal", "QuotaReserved", "Quota reserved in ClusterQueue %s, wait time "
                                    "since queued was 0s" % cq)
        self.admission_events.event(wl, "Normal", "Admitted", "Admitted by ClusterQueue %s, wait time since "
                                    "reservation was 0s" % cq)
        self.remember("jobs", self.api.merge_patch(path_of(j, "jobs"), {"spec": {"suspend": False}}))
        self.job_events.event(j, "Normal", "Started", "Admitted by clusterQueue %s" % cq)

    def queue_status(self, lqs):
        with self.lock:
            wls = self.c["workloads"].list()
        for lq in lqs:
            ns = lq["metadata"]["namespace"]
            mine = [w for w in wls if w["metadata"]["namespace"] == ns and w["spec"].get("queueName") ==
                    lq["metadata"]["name"] and not is_true_cond(w, "Finished")]
            adm = sum(1 for w in mine if is_true_cond(w, "Admitted"))
            want = {"pendingWorkloads": len(mine) - adm, "reservingWorkloads": adm, "admittedWorkloads": adm,
                    "conditions": [{"type": "Active", "status": "True", "reason": "Ready",
                                    "message": "Can submit new workloads to localQueue",
                                    "lastTransitionTime": lq["metadata"]["creationTimestamp"]}]}
            if lq.get("status") != want:
                def fn(o, want=want):
                    o["status"] = want
                try:
                    self.update_status("localqueues", lq, fn)
                except APIStatus:
                    pass

    # -- preemption ---------------------------------------------------------------------
    def preempt(self, wl, job, pods):
        """Evict a Workload as Kueue's preemption does (requested through its annotation)."""
        juid = job["metadata"]["uid"]
        msg = "Preempted to accommodate a workload (UID: %s) due to prioritization in the ClusterQueue" % \
            uuid.uuid4()
        requeue = time.time() + self.requeue_delay
        wl = self.remember("workloads", self.api.merge_patch(path_of(wl, "workloads", KQ),
                                                          {"metadata": {"annotations": {PREEMPT: None}}}))
        if wl is None:
            return

        def evict(o):
            st = o.setdefault("status", {})
            set_condition(st, "Evicted", "True", "Preempted", msg)
            set_condition(st, "Preempted", "True", "InClusterQueue", msg)
            set_condition(st, "QuotaReserved", "False", "Preempted", msg)
            set_condition(st, "Admitted", "False", "NoReservation", "The workload has no reservation")
            set_condition(st, "Requeued", "True", "Preempted", msg)
            st.pop("admission", None)
            st["requeueAt"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(requeue))
            st["requeueState"] = {"count": (st.get("requeueState") or {}).get("count", 0) + 1}
        wl = self.update_status("workloads", wl, evict)
        self.admission_events.event(wl, "Normal", "Preempted", msg)
        self.admission_events.event(wl, "Normal", "EvictedDueToPreempted", msg)
        for p in pods:
            if owner_uid(p) == juid and not pod_finished(p):
                def dt(o):
                    set_condition(o.setdefault("status", {}), "DisruptionTarget", "True", "PreemptionByKueue",
                                  "Preempted to accommodate a higher priority Workload")
                try:
                    self.remember("pods", self.api.update(path_of(p, "pods", "/api/v1"), dt, status=True))
                except APIStatus:
                    pass
        self.remember("jobs", self.api.merge_patch(path_of(job, "jobs"), {"spec": {"suspend": True}}))
        self.job_events.event(job, "Normal", "Stopped", msg)


def main(argv=None):
    return Kueue.main(argv, "eidf-kueue", "Kueue stand-in: queues and admits Jobs through the API "
                      "(see docs/testing.md)", "eidf-kueue/v0.9",
                      [(("--requeue-delay",), {"type": float, "default": 1.0})])


if __name__ == "__main__":
    sys.exit(main())
