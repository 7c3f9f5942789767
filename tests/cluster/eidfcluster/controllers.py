"""Controllers: PVC binder, Job controller, garbage collector (Kueue: kueue.py, scheduler: scheduler.py)."""
import os
import shutil
import time

from . import jobpolicy
from . import resources as RS
from . import warnheaders
from .objects import owner_uid, pod_finished
from .util import deep, is_true_cond, now_ts, parse_ts, rand_suffix, set_condition

JOB_TRACKING = "batch.kubernetes.io/job-tracking"


def compress_indexes(idx):
    idx = sorted(set(idx))
    out, i = [], 0
    while i < len(idx):
        j = i
        while j + 1 < len(idx) and idx[j + 1] == idx[j] + 1:
            j += 1
        out.append(str(idx[i]) if i == j else "%d-%d" % (idx[i], idx[j]))
        i = j + 1
    return ",".join(out)


class ControllersMixin:
    def seed(self):
        """Objects a fresh cluster has."""
        mk = self.create_object
        R = RS.BY_NAME
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] + ([self.tenant] if self.tenant else []):
            if not self.store.get("namespaces", "", ns):
                mk(R["namespaces"], {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
                   controller=True)
        for name, prov, default in (("csi-cephfs-sc", "cephfs.csi.ceph.com", True),
                                    ("csi-rbd-sc", "rbd.csi.ceph.com", False)):
            md = {"name": name}
            if default:
                md["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
            mk(R["storageclasses"], {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": md,
                                     "provisioner": prov, "reclaimPolicy": "Delete",
                                     "volumeBindingMode": "Immediate", "allowVolumeExpansion": True,
                                     "parameters": {"clusterID": "eidf-test"}}, controller=True)
        # Nodes register themselves: the node agent creates them and posts their status
        for ns in ["default"] + ([self.tenant] if self.tenant else []):
            self.ensure_queue(ns)

    def ensure_queue(self, ns):
        cq = "%s-project-gpu-cq" % ns
        if not self.store.get("clusterqueues", "", cq):
            self.create_object(RS.BY_NAME["clusterqueues"], {
                "apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "ClusterQueue", "metadata": {"name": cq},
                "spec": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
                         "resourceGroups": [{"coveredResources": ["cpu", "memory", "nvidia.com/gpu"], "flavors": [
                             {"name": "default-flavor", "resources": [
                                 {"name": "cpu", "nominalQuota": "100"}, {"name": "memory", "nominalQuota": "1Ti"},
                                 {"name": "nvidia.com/gpu", "nominalQuota": str(self.gpu_quota)}]}]}]},
                "status": {}}, controller=True)
        lq = "%s-user-queue" % ns
        if not self.store.get("localqueues", ns, lq):
            self.create_object(RS.BY_NAME["localqueues"], {
                "apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "LocalQueue",
                "metadata": {"name": lq, "namespace": ns}, "spec": {"clusterQueue": cq}, "status": {}},
                controller=True)

    # -- events ----------------------------------------------------------
    def event(self, obj, etype, reason, message, component, field_path=None):
        md = obj["metadata"]
        ns = md.get("namespace") or "default"
        key = (md.get("uid"), reason, message, field_path)
        ts = now_ts()
        with self.store.lock:
            name = self.event_keys.get(key)
            if name and self.store.get("events", ns, name):
                def fn(e):
                    e["count"] = e.get("count", 1) + 1
                    e["lastTimestamp"] = ts
                self.store.mutate("events", ns, name, fn)
                return
            name = "%s.%s" % (md["name"], "%016x" % (int(time.time() * 1e9) + len(self.event_keys)))
            self.event_keys[key] = name
            inv = {"kind": obj.get("kind"), "namespace": md.get("namespace"), "name": md["name"],
                   "uid": md.get("uid"), "apiVersion": obj.get("apiVersion"),
                   "resourceVersion": md.get("resourceVersion")}
            if not md.get("namespace"):
                inv.pop("namespace")
            if field_path:
                inv["fieldPath"] = field_path
            ev = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": ns},
                  "involvedObject": inv, "reason": reason, "message": message,
                  "source": {"component": component}, "firstTimestamp": ts, "lastTimestamp": ts, "count": 1,
                  "type": etype, "eventTime": None, "reportingComponent": component, "reportingInstance": ""}
            if component == "kubelet":
                ev["source"]["host"] = obj.get("spec", {}).get("nodeName", "")
                ev["reportingInstance"] = ev["source"]["host"]
            try:
                self.store.create("events", ev)
            except KeyError:
                pass

    # -- main loop ---------------------------------------------------------
    def controller_loop(self):
        while not self.stopping:
            # at the latest at the earliest deadline a step asked for (wake_at), else on a change
            # or the 0.2 s tick; never at once for a deadline still ahead (a finished Job waiting
            # for its ttlSecondsAfterFinished made the loop spin, one CPU and the GIL, until then)
            due, self.wake_due = self.wake_due, None
            self.wakeup.wait(0.2 if due is None else min(0.2, max(0.0, due - time.time())))
            if self.stopping:
                break
            for step in (self.ns_controller, self.pvc_controller, self.job_controller,
                         self.gc_controller):
                try:
                    step()
                except Exception:
                    import traceback
                    traceback.print_exc()

    def wake(self):
        self.wakeup.set()

    def wake_at(self, t):
        """Run the controllers again at time t (seconds since the epoch) at the latest."""
        if self.wake_due is None or t < self.wake_due:
            self.wake_due = t

    # -- namespaces ----------------------------------------------------------
    def ns_controller(self):
        for ns in self.store.list("namespaces")[0]:
            if not ns["metadata"].get("deletionTimestamp"):
                continue
            n = ns["metadata"]["name"]
            left = 0
            for r in RS.RESOURCES:
                if not r.namespaced:
                    continue
                for o in self.store.list(r.name, n)[0]:
                    left += 1
                    if not o["metadata"].get("deletionTimestamp"):
                        self.delete_object(r, o, {"propagationPolicy": "Background", "gracePeriodSeconds": 1})
            if left == 0:
                self.store.delete("namespaces", "", n)

    # -- PVCs ------------------------------------------------------------------
    def volume_dir(self, pvc):
        return os.path.join(self.state_dir, "volumes", pvc["spec"].get("volumeName") or
                            "pvc-" + pvc["metadata"]["uid"])

    def pvc_controller(self):
        now = time.time()
        pods = self.store.list("pods")[0]
        for pvc in self.store.list("persistentvolumeclaims")[0]:
            md, spec = pvc["metadata"], pvc["spec"]
            ns, name = md["namespace"], md["name"]
            if md.get("deletionTimestamp"):
                # kubernetes.io/pvc-protection (1.26 pvc_protection_controller podUsesPVC):
                # any pod object that was scheduled and mounts the claim keeps it,
                # whatever its phase (a finished Job's pods until the Job is deleted);
                # an unscheduled pod does not
                users = [p["metadata"]["name"] for p in pods if p["metadata"]["namespace"] == ns and
                         p["spec"].get("nodeName") and any(
                             (v.get("persistentVolumeClaim") or {}).get("claimName") == name
                             for v in p["spec"].get("volumes") or [])]
                if not users and now - parse_ts(md["deletionTimestamp"]) >= self.pvc_protection_lag:
                    self.store.delete("persistentvolumeclaims", ns, name)
                    if spec.get("volumeName"):
                        self.store.delete("persistentvolumes", "", spec["volumeName"])
                        shutil.rmtree(self.volume_dir(pvc), ignore_errors=True)
                continue
            if "kubernetes.io/pvc-protection" not in (md.get("finalizers") or []):
                def addfin(o):
                    o["metadata"].setdefault("finalizers", []).append("kubernetes.io/pvc-protection")
                self.store.mutate("persistentvolumeclaims", ns, name, addfin)
            if (pvc.get("status") or {}).get("phase") != "Pending":
                continue
            sc = spec.get("storageClassName")
            if sc is None or not self.store.get("storageclasses", "", sc):
                msg = ('storageclass.storage.k8s.io "%s" not found' % sc) if sc else \
                    "no persistent volumes available for this claim and no storage class is set"
                self.event(pvc, "Warning", "ProvisioningFailed" if sc else "FailedBinding", msg,
                           "persistentvolume-controller")
                continue
            if now - parse_ts(md["creationTimestamp"]) < self.bind_delay:
                self.wake_at(parse_ts(md["creationTimestamp"]) + self.bind_delay)
                continue
            pvname = "pvc-" + md["uid"]
            hostdir = os.path.join(self.state_dir, "volumes", pvname)
            os.makedirs(hostdir, exist_ok=True)
            os.chmod(hostdir, 0o777)
            size = spec["resources"]["requests"]["storage"]
            self.event(pvc, "Normal", "Provisioning", 'External provisioner is provisioning volume for claim '
                       '"%s/%s"' % (ns, name), "%s_csi-provisioner" % self.store.get("storageclasses", "", sc)
                       ["provisioner"])
            try:
                self.create_object(RS.BY_NAME["persistentvolumes"], {
                    "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {
                        "name": pvname, "annotations": {"pv.kubernetes.io/provisioned-by":
                                                        self.store.get("storageclasses", "", sc)["provisioner"]},
                        "finalizers": ["kubernetes.io/pv-protection"]},
                    "spec": {"accessModes": spec["accessModes"], "capacity": {"storage": size},
                             "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": name,
                                          "namespace": ns, "uid": md["uid"],
                                          "resourceVersion": md["resourceVersion"]},
                             "persistentVolumeReclaimPolicy": "Delete", "storageClassName": sc,
                             "volumeMode": spec.get("volumeMode", "Filesystem"),
                             "hostPath": {"path": hostdir}},
                    "status": {"phase": "Bound"}}, controller=True)
            except Exception:
                pass

            def bind(o):
                o["metadata"].setdefault("annotations", {}).update({
                    "pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes",
                    "volume.beta.kubernetes.io/storage-provisioner": "cephfs.csi.ceph.com",
                    "volume.kubernetes.io/storage-provisioner": "cephfs.csi.ceph.com"})
                o["spec"]["volumeName"] = pvname
                o["status"] = {"phase": "Bound", "accessModes": o["spec"]["accessModes"],
                               "capacity": {"storage": size}}
            pvc = self.store.mutate("persistentvolumeclaims", ns, name, bind)
            self.event(pvc, "Normal", "ProvisioningSucceeded", "Successfully provisioned volume %s" % pvname,
                       "cephfs.csi.ceph.com_csi-provisioner")

    # -- Kueue -------------------------------------------------------------------
    def workload_for(self, job):
        for wl in self.store.list("workloads", job["metadata"]["namespace"])[0]:
            if owner_uid(wl) == job["metadata"]["uid"]:
                return wl
        return None

    def preempt(self, pod):
        """Kueue-style preemption of the workload owning pod (or eviction of a bare/non-queued pod)."""
        juid = owner_uid(pod)
        ns = pod["metadata"]["namespace"]
        job = next((j for j in self.store.list("jobs", ns)[0] if j["metadata"]["uid"] == juid), None) if juid else None
        wl = self.workload_for(job) if job else None
        if wl is None:
            def fn(p):
                set_condition(p["status"], "DisruptionTarget", "True", "EvictionByEvictionAPI",
                              "Eviction API: evicting")
            self.store.mutate("pods", ns, pod["metadata"]["name"], fn)
            self.event(pod, "Normal", "Killing", "Stopping container %s" % pod["spec"]["containers"][0]["name"],
                       "kubelet")
            self.delete_object(RS.BY_NAME["pods"], self.store.get("pods", ns, pod["metadata"]["name"]),
                               {"gracePeriodSeconds": 1})
            return {"evicted": pod["metadata"]["name"], "kueue": False}
        # Kueue decides preemptions: ask the Kueue stand-in through the Workload (it evicts the
        # Workload, marks the pods and suspends the Job through the API), and answer once it has
        ns, name = wl["metadata"]["namespace"], wl["metadata"]["name"]
        stamp = now_ts() + " " + pod["metadata"]["name"]

        def ask(o):
            o["metadata"].setdefault("annotations", {})["eidf.test/preempt"] = stamp
        self.store.mutate("workloads", ns, name, ask)
        deadline = time.time() + 20  # within the admin client's 30 s
        while True:
            cur = self.store.get("workloads", ns, name)
            if cur is None or ("eidf.test/preempt" not in (cur["metadata"].get("annotations") or {}) and
                               (self.store.get("jobs", ns, job["metadata"]["name"]) or {}).get(
                                   "spec", {}).get("suspend")):
                break
            if time.time() >= deadline:
                # a test that goes on would see the pod run on and blame the client
                raise RS.APIError(504, "Timeout", "the Kueue stand-in did not preempt workload %s/%s within 20 s"
                                  % (ns, name))
            self.store.wait(0.1)
        return {"evicted": pod["metadata"]["name"], "kueue": True, "workload": name}

    # -- Jobs ----------------------------------------------------------------------
    def job_controller(self):
        pods = self.store.list("pods")[0]
        by_job = {}
        for p in pods:
            u = owner_uid(p)
            if u:
                by_job.setdefault(u, []).append(p)
        for j in self.store.list("jobs")[0]:
            try:
                self.sync_job(j, by_job.get(j["metadata"]["uid"], []))
            except Exception:
                import traceback
                traceback.print_exc()

    def note_deleted_pod(self, res, etype, obj):
        """Store listener: keep the last state of deleted Job pods for the job controller."""
        if res == "pods" and etype == "DELETED" and owner_uid(obj):
            self.job_pods_gone[obj["metadata"]["uid"]] = obj
            if len(self.job_pods_gone) > 10000:
                self.job_pods_gone.pop(next(iter(self.job_pods_gone)))

    def _delete_pods(self, job, pods, reason_event=True):
        for p in pods:
            if p["metadata"].get("deletionTimestamp"):
                continue
            self.delete_object(RS.BY_NAME["pods"], p, {"gracePeriodSeconds": 1})
            if reason_event:
                self.event(job, "Normal", "SuccessfulDelete", "Deleted pod: %s" % p["metadata"]["name"],
                           "job-controller")

    def sync_job(self, j, pods):
        md, spec = j["metadata"], j["spec"]
        ns, name, uid = md["namespace"], md["name"], md["uid"]
        track = self.job_track.setdefault(uid, {"succeeded": set(), "failed": set(), "ignored": set(), "seen": {},
                                                "succeeded_idx": set(), "last_fail": 0, "terminal_at": {},
                                                "uncounted": {}, "target": None})
        now = time.time()
        lag = self.job_lag
        if md.get("deletionTimestamp"):
            if "foregroundDeletion" in (md.get("finalizers") or []):
                self._delete_pods(j, pods, reason_event=False)
                if not pods:
                    def fn(o):
                        o["metadata"]["finalizers"] = [f for f in o["metadata"].get("finalizers", [])
                                                       if f != "foregroundDeletion"]
                        if not o["metadata"]["finalizers"]:
                            del o["metadata"]["finalizers"]
                    o = self.store.mutate("jobs", ns, name, fn)
                    if o and not o["metadata"].get("finalizers"):
                        self.store.delete("jobs", ns, name)
            return
        finished = is_true_cond(j, "Complete") or is_true_cond(j, "Failed")
        st = j.get("status") or {}
        # Like the real controller, this one sees a pod finish only `lag` seconds
        # after it did (--job-controller-lag): first the Job still counts it
        # active, then lists it in uncountedTerminatedPods, and one sync later
        # counts it as succeeded/failed and decides the Job's conditions.
        cur = {p["metadata"]["uid"]: p for p in pods}
        counted = track["succeeded"] | track["failed"] | track["ignored"]
        for puid, info in list(track["seen"].items()):
            if puid not in cur and puid not in counted:
                if info.get("suspended"):
                    del track["seen"][puid]  # Kueue stopped the Job: not a failure
                    track["terminal_at"].pop(puid, None)
                    track["uncounted"].pop(puid, None)
                    continue
                info["gone"] = True
                # its last state, as the DELETED event carried it (the real controller
                # sees every state: its job-tracking finalizer keeps the pod until then)
                info["pod"] = self.job_pods_gone.pop(puid, None) or info.get("pod")
                track["terminal_at"].setdefault(puid, now)
        for p in pods:
            puid = p["metadata"]["uid"]
            info = track["seen"].setdefault(puid, {})
            info["suspended"] = bool(spec.get("suspend"))
            info["pod"] = p
            if pod_finished(p):
                track["terminal_at"].setdefault(puid, now)
            else:
                info["ready"] = is_true_cond(p, "Ready")  # a finished pod not yet seen stays as it was
        pfp_fail = None
        for puid, t in sorted(track["terminal_at"].items(), key=lambda kv: kv[1]):
            if puid in counted:
                continue
            info = track["seen"][puid]
            p = info["pod"]
            ok = (p.get("status") or {}).get("phase") == "Succeeded" and not info.get("gone")
            if puid not in track["uncounted"]:
                delay = lag
                if not ok:
                    # a failure is seen after the retry backoff of the failures before it
                    # (the real controller: 0 s, 10 s, 20 s, ...; here --job-backoff x 2^(n-1))
                    n = len(track["failed"]) + sum(1 for u, v in track["uncounted"].items() if not v["ok"])
                    delay += min(self.job_backoff * 2 ** (n - 1), 10.0) if n else 0.0
                if now - t < delay:
                    continue
                if not ok and p["metadata"].get("deletionTimestamp") and (
                        spec.get("suspend") or finished or track["target"] is not None):
                    track["ignored"].add(puid)  # stopped by the suspension or the end of the Job
                    continue
                rule = None if ok else jobpolicy.match(j, p)
                if rule and rule[0] == "Ignore":
                    track["ignored"].add(puid)  # never counted, replaced at once
                    continue
                track["uncounted"][puid] = {"at": now, "ok": ok, "rule": rule}
                if delay > 0:
                    continue  # uncountedTerminatedPods first, counted one sync later
            elif track["uncounted"][puid]["at"] >= now:
                continue
            rule = track["uncounted"].pop(puid)["rule"]
            if ok:
                track["succeeded"].add(puid)
                idx = (p["metadata"].get("annotations") or {}).get("batch.kubernetes.io/job-completion-index")
                if idx is not None:
                    track["succeeded_idx"].add(int(idx))
                continue
            track["failed"].add(puid)
            if rule and rule[0] == "FailJob" and pfp_fail is None:
                pfp_fail = ("PodFailurePolicy", rule[1])
        for puid in [u for u in track["seen"] if u not in cur and u in track["succeeded"] | track["failed"] |
                     track["ignored"]]:
            del track["seen"][puid]
            track["terminal_at"].pop(puid, None)
        counted = track["succeeded"] | track["failed"] | track["ignored"]
        # active: every pod not terminating that the controller has not yet seen finish
        # (Pending pods included, as in Kubernetes)
        active = [p for p in pods if p["metadata"]["uid"] not in counted and p["metadata"]["uid"] not in
                  track["uncounted"] and not p["metadata"].get("deletionTimestamp")]
        running = [p for p in active if not pod_finished(p)]
        indexed = spec.get("completionMode") == "Indexed"
        completions = spec.get("completions")
        parallelism = spec.get("parallelism", 1)
        succeeded = len(track["succeeded_idx"]) if indexed else len(track["succeeded"])
        failed = len(track["failed"])
        # restarts of OnFailure pods count as failures too
        restarts = sum(cs.get("restartCount", 0) for p in pods for cs in (p.get("status") or {}).get(
            "containerStatuses") or [])
        newst = deep(st)
        unc = {}
        for puid, v in track["uncounted"].items():
            unc.setdefault("succeeded" if v["ok"] else "failed", []).append(puid)
        newst["uncountedTerminatedPods"] = unc
        conds_events = []
        target = track["target"]
        if not finished and target is None:
            if spec.get("suspend"):
                if running:
                    self._delete_pods(j, running)
                    active = [p for p in active if pod_finished(p)]
                if not is_true_cond(j, "Suspended"):
                    set_condition(newst, "Suspended", "True", "JobSuspended", "Job suspended", probe=True)
                    conds_events.append(("Normal", "Suspended", "Job suspended"))
                newst.pop("startTime", None)
            else:
                if is_true_cond(j, "Suspended"):
                    set_condition(newst, "Suspended", "False", "JobResumed", "Job resumed", probe=True)
                    conds_events.append(("Normal", "Resumed", "Job resumed"))
                    newst["startTime"] = now_ts()
                newst.setdefault("startTime", now_ts())
                fail_reason = pfp_fail
                if fail_reason is None and failed + restarts > spec.get("backoffLimit", 6):
                    fail_reason = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
                ads = spec.get("activeDeadlineSeconds")
                if ads is not None and now - parse_ts(newst["startTime"]) >= ads:
                    fail_reason = ("DeadlineExceeded", "Job was active longer than specified deadline")
                done = completions is not None and succeeded >= completions
                if completions is None and succeeded > 0 and not active:
                    done = True
                if fail_reason or done:
                    self._delete_pods(j, running)
                    active = []
                    if fail_reason:
                        target = {"type": "Failed", "interim": "FailureTarget", "reason": fail_reason[0],
                                  "message": fail_reason[1], "at": now}
                    else:
                        target = {"type": "Complete", "interim": "SuccessCriteriaMet",
                                  "reason": "CompletionsReached",
                                  "message": "Reached expected number of succeeded pods", "at": now}
                    # Kubernetes >= 1.30 (--job-interim-conditions) first says what the
                    # outcome will be and only adds Complete/Failed once every pod has
                    # terminated; 1.26 does so only for a podFailurePolicy FailJob.
                    if self.job_interim_conditions or fail_reason is pfp_fail and pfp_fail:
                        set_condition(newst, target["interim"], "True", target["reason"], target["message"],
                                      probe=True)
                        track["target"] = target
                    else:
                        target["at"] = None
                elif failed + restarts + sum(1 for v in track["uncounted"].values() if not v["ok"]) <= \
                        spec.get("backoffLimit", 6) and not any(
                            (v["rule"] or ("",))[0] == "FailJob" for v in track["uncounted"].values()) and \
                        now - track.get("create_refused", 0) >= 1.0:
                    # create missing pods, counting the finished pods not yet counted
                    done_idx = set(track["succeeded_idx"])
                    for u, v in track["uncounted"].items():
                        if v["ok"]:
                            ix = (track["seen"][u]["pod"]["metadata"].get("annotations") or {}).get(
                                "batch.kubernetes.io/job-completion-index")
                            if ix is not None:
                                done_idx.add(int(ix))
                    if indexed:
                        busy = set(int((p["metadata"].get("annotations") or {}).get(
                            "batch.kubernetes.io/job-completion-index", -1)) for p in active)
                        todo = [i for i in range(completions) if i not in done_idx and i not in busy]
                        want = max(0, min(parallelism - len(active), len(todo)))
                        for i in todo[:want]:
                            p = self.create_job_pod(j, i)
                            if p is None:
                                break
                            active.append(p)
                    else:
                        ok_seen = succeeded + sum(1 for v in track["uncounted"].values() if v["ok"])
                        remaining = (completions - ok_seen) if completions is not None else parallelism
                        want = max(0, min(parallelism, remaining) - len(active))
                        if completions is None and ok_seen:
                            want = 0  # a work queue Job: after a success no new pods
                        for _ in range(want):
                            p = self.create_job_pod(j, None)
                            if p is None:
                                break
                            active.append(p)
        if not finished and target is not None:
            left = [p for p in pods if not pod_finished(p)]
            if target["at"] is None or (not left and not track["uncounted"] and now - target["at"] >= lag):
                if target["type"] == "Complete" and not self.job_interim_conditions:
                    set_condition(newst, "Complete", "True", probe=True)  # 1.26: no reason, no message
                else:
                    set_condition(newst, target["type"], "True", target["reason"], target["message"], probe=True)
                if target["type"] == "Complete":
                    newst["completionTime"] = now_ts()
                    conds_events.append(("Normal", "Completed", "Job completed"))
                else:
                    conds_events.append(("Warning", target["reason"], target["message"]))
                track["target"] = None
                finished = True
            active = []
        if finished and newst.get("conditions") and not newst.get("completionTime") and \
                is_true_cond({"status": newst}, "Complete"):
            newst["completionTime"] = now_ts()
        newst["active"] = len(active)
        if newst["active"] == 0:
            newst.pop("active")
        newst["ready"] = sum(1 for p in active if track["seen"].get(p["metadata"]["uid"], {}).get("ready"))
        newst["terminating"] = sum(1 for p in pods if p["metadata"].get("deletionTimestamp"))
        if succeeded:
            newst["succeeded"] = succeeded
        if failed:
            newst["failed"] = failed
        if indexed and track["succeeded_idx"]:
            newst["completedIndexes"] = compress_indexes(track["succeeded_idx"])
        if newst != st:
            def fn(o):
                o["status"] = newst
            self.store.mutate("jobs", ns, name, fn)
        for etype, reason, msg in conds_events:
            self.event(j, etype, reason, msg, "job-controller")
        # ttlSecondsAfterFinished
        if finished and spec.get("ttlSecondsAfterFinished") is not None:
            fin_ts = None
            for c in newst.get("conditions") or []:
                if c["type"] in ("Complete", "Failed") and c["status"] == "True":
                    fin_ts = parse_ts(c["lastTransitionTime"])
            if fin_ts is not None:
                if now >= fin_ts + spec["ttlSecondsAfterFinished"]:
                    self.delete_object(RS.BY_NAME["jobs"], self.store.get("jobs", ns, name),
                                       {"propagationPolicy": "Background"})
                else:
                    self.wake_at(fin_ts + spec["ttlSecondsAfterFinished"])

    def create_job_pod(self, j, index):
        md, spec = j["metadata"], j["spec"]
        tmpl = deep(spec["template"])
        pmd = tmpl.get("metadata") or {}
        pmd.pop("creationTimestamp", None)
        pmd["generateName"] = md["name"] + ("-%d-" % index if index is not None else "-")
        pmd["namespace"] = md["namespace"]
        pmd["ownerReferences"] = [{"apiVersion": "batch/v1", "kind": "Job", "name": md["name"], "uid": md["uid"],
                                   "controller": True, "blockOwnerDeletion": True}]
        pspec = tmpl["spec"]
        if index is not None:
            pmd.setdefault("labels", {})["batch.kubernetes.io/job-completion-index"] = str(index)
            pmd.setdefault("annotations", {})["batch.kubernetes.io/job-completion-index"] = str(index)
            pspec.setdefault("hostname", "%s-%d" % (md["name"], index))
            for c in (pspec.get("initContainers") or []) + (pspec.get("containers") or []):
                env = c.setdefault("env", [])
                if not any(e.get("name") == "JOB_COMPLETION_INDEX" for e in env):
                    env.append({"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
                        "apiVersion": "v1",
                        "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}})
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": pmd, "spec": pspec}
        try:
            # PodSecurity enforce refuses the pods of a Job it let through (with a warning)
            warnheaders.pod_security_check(self, RS.BY_NAME["pods"], deep(pod))
        except RS.APIError as e:
            self.event(j, "Warning", "FailedCreate", "Error creating: %s" % e.message, "job-controller")
            self.job_track[md["uid"]]["create_refused"] = time.time()  # try again in a second, not at once
            return None
        p = self.create_object(RS.BY_NAME["pods"], pod, controller=True)
        self.event(j, "Normal", "SuccessfulCreate", "Created pod: %s" % p["metadata"]["name"], "job-controller")
        return p

    # -- garbage collector --------------------------------------------------------------
    def gc_controller(self):
        live = {j["metadata"]["uid"] for j in self.store.list("jobs")[0]}
        for p in self.store.list("pods")[0]:
            u = owner_uid(p)
            if u and u not in live and not p["metadata"].get("deletionTimestamp"):
                self.delete_object(RS.BY_NAME["pods"], p, {"gracePeriodSeconds": 1})
        # Like the real garbage collector: a dependent goes once none of its
        # owners exist any more, whether or not the reference is a controller.
        # The owners are looked up again after listing the dependents, as the
        # real collector verifies before deleting: a Job created meanwhile
        # (its Secret made right after it) must not lose that Secret.
        orphans = []
        for kind in ("configmaps", "secrets", "services"):
            for o in self.store.list(kind)[0]:
                refs = o["metadata"].get("ownerReferences") or []
                jobs = [r for r in refs if r.get("kind") == "Job"]
                if jobs and len(jobs) == len(refs) and not any(r.get("uid") in live for r in jobs) \
                        and not o["metadata"].get("deletionTimestamp"):
                    orphans.append((kind, o, jobs))
        if orphans:
            live = {j["metadata"]["uid"] for j in self.store.list("jobs")[0]}
            for kind, o, jobs in orphans:
                if not any(r.get("uid") in live for r in jobs):
                    self.delete_object(RS.BY_NAME[kind], o, {})
        for uid in list(self.job_track):
            if uid not in live:
                del self.job_track[uid]


__all__ = ["ControllersMixin", "rand_suffix"]
