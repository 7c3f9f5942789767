"""A kubelet stand-in: runs pod containers as local processes in private mount namespaces."""
import base64
import hashlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

from . import resources as RS
from .resources import APIError
from .util import now_nano, now_ts, parse_ts

RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runner.py")
HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def image_ref(image):
    name = image.split("@")[0]
    repo, tag = (name.rsplit(":", 1) if ":" in name.rsplit("/", 1)[-1] else (name, "latest"))
    if "/" not in repo:
        full = "docker.io/library/" + repo
    elif "." not in repo.split("/")[0] and ":" not in repo.split("/")[0]:
        full = "docker.io/" + repo
    else:
        full = repo
    return full, tag


def is_busybox_image(image):
    repo = image_ref(image)[0]
    return any(p.startswith(("alpine", "busybox")) for p in repo.split("/")[1:])


class Container:
    def __init__(self):
        self.proc = None
        self.killed_by = None


class PodWorker(threading.Thread):
    def __init__(self, kubelet, pod):
        super().__init__(daemon=True, name="pod-" + pod["metadata"]["name"])
        self.k = kubelet
        self.c = kubelet.cluster
        self.ns = pod["metadata"]["namespace"]
        self.name = pod["metadata"]["name"]
        self.uid = pod["metadata"]["uid"]
        self.pod = pod
        self.dir = os.path.join(kubelet.root, self.uid)
        self.procs = {}          # container name -> Popen
        self.running = set()     # container names currently running
        self.specs = {}          # container name -> runner spec of its current run (reused by exec)
        self.exec_procs = {}     # container name -> set of Popen of `kubectl exec` processes
        self.stop = threading.Event()
        self.lock = threading.Lock()

    # -- status helpers --------------------------------------------------
    def mutate(self, fn):
        return self.c.store.mutate("pods", self.ns, self.name, fn)

    def set_cstatus(self, kind, cname, **kw):
        def fn(p):
            st = p.setdefault("status", {})
            lst = st.setdefault(kind, [])
            for cs in lst:
                if cs["name"] == cname:
                    cs.update(kw)
                    break
            else:
                lst.append(dict(name=cname, **kw))
        self.mutate(fn)

    def log_path(self, cname, restart=0):
        return os.path.join(self.dir, "logs", "%s.%d.log" % (cname, restart))

    def event(self, etype, reason, msg, field=None):
        self.c.event(self.c.store.get("pods", self.ns, self.name) or self.pod, etype, reason, msg, "kubelet",
                     field_path=field)

    # -- volumes ---------------------------------------------------------
    def prepare_volumes(self):
        vols = {}
        os.makedirs(os.path.join(self.dir, "volumes"), exist_ok=True)
        for v in self.pod["spec"].get("volumes") or []:
            vname = v["name"]
            vdir = os.path.join(self.dir, "volumes", vname)
            if "persistentVolumeClaim" in v:
                cn = v["persistentVolumeClaim"]["claimName"]
                pvc = self.c.store.get("persistentvolumeclaims", self.ns, cn)
                if not pvc or (pvc.get("status") or {}).get("phase") != "Bound":
                    raise MountError('persistentvolumeclaim "%s" not found' % cn if not pvc else
                                     'persistentvolumeclaim "%s" is not bound' % cn, vname)
                vols[vname] = self.c.volume_dir(pvc)
            elif "emptyDir" in v:
                os.makedirs(vdir, exist_ok=True)
                vols[vname] = vdir
            elif "hostPath" in v:
                vols[vname] = v["hostPath"]["path"]
            elif "configMap" in v or "secret" in v:
                is_cm = "configMap" in v
                src = v["configMap"] if is_cm else v["secret"]
                oname = src.get("name") if is_cm else src.get("secretName")
                obj = self.c.store.get("configmaps" if is_cm else "secrets", self.ns, oname)
                if obj is None:
                    if src.get("optional"):
                        files = {}
                    else:
                        raise MountError('%s "%s" not found' % ("configmap" if is_cm else "secret", oname), vname)
                else:
                    files = {}
                    if is_cm:
                        for key, val in (obj.get("data") or {}).items():
                            files[key] = val.encode()
                        for key, val in (obj.get("binaryData") or {}).items():
                            files[key] = base64.b64decode(val)
                    else:
                        for key, val in (obj.get("data") or {}).items():
                            files[key] = base64.b64decode(val)
                os.makedirs(vdir, exist_ok=True)
                items = src.get("items")
                mode = src.get("defaultMode", 420)
                sel = [(it["key"], it["path"], it.get("mode", mode)) for it in items] if items else \
                    [(key, key, mode) for key in files]
                for key, path, m in sel:
                    if key not in files:
                        raise MountError('configmap references non-existent config key: %s' % key, vname)
                    fp = os.path.join(vdir, path)
                    os.makedirs(os.path.dirname(fp), exist_ok=True)
                    with open(fp, "wb") as f:
                        f.write(files[key])
                    os.chmod(fp, m)
                vols[vname] = vdir
            else:
                os.makedirs(vdir, exist_ok=True)
                vols[vname] = vdir
        return vols

    # -- env -------------------------------------------------------------
    def container_env(self, c):
        pod = self.c.store.get("pods", self.ns, self.name) or self.pod
        path = HOST_PATH
        if is_busybox_image(c.get("image", "")):
            path = self.c.busybox_dir + ":" + path
        env = {"PATH": path, "HOME": "/root", "HOSTNAME": self.pod["spec"].get("hostname") or self.name,
               "KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(self.c.port),
               "TERM": "xterm"}
        for ef in c.get("envFrom") or []:
            src = ef.get("configMapRef") or ef.get("secretRef") or {}
            obj = self.c.store.get("configmaps" if "configMapRef" in ef else "secrets", self.ns, src.get("name"))
            for key, val in ((obj or {}).get("data") or {}).items():
                env[ef.get("prefix", "") + key] = val if "configMapRef" in ef else \
                    base64.b64decode(val).decode("utf-8", "replace")
        for e in c.get("env") or []:
            val = e.get("value", "")
            vf = e.get("valueFrom")
            if vf:
                if "fieldRef" in vf:
                    fp = vf["fieldRef"].get("fieldPath", "")
                    m = re.match(r"metadata\.(labels|annotations)\['(.*)'\]$", fp)
                    if m:
                        val = (pod["metadata"].get(m.group(1)) or {}).get(m.group(2), "")
                    else:
                        val = {"metadata.name": self.name, "metadata.namespace": self.ns,
                               "metadata.uid": self.uid, "spec.nodeName": pod["spec"].get("nodeName", ""),
                               "status.podIP": (pod.get("status") or {}).get("podIP", ""),
                               "spec.serviceAccountName": pod["spec"].get("serviceAccountName", "")}.get(fp, "")
                elif "configMapKeyRef" in vf or "secretKeyRef" in vf:
                    ref = vf.get("configMapKeyRef") or vf.get("secretKeyRef")
                    obj = self.c.store.get("configmaps" if "configMapKeyRef" in vf else "secrets", self.ns,
                                           ref.get("name"))
                    raw = ((obj or {}).get("data") or {}).get(ref.get("key"))
                    if raw is None:
                        if ref.get("optional"):
                            continue
                        raise ConfigError("couldn't find key %s in %s %s/%s" % (
                            ref.get("key"), "ConfigMap" if "configMapKeyRef" in vf else "Secret", self.ns,
                            ref.get("name")))
                    val = raw if "configMapKeyRef" in vf else base64.b64decode(raw).decode("utf-8", "replace")
                elif "resourceFieldRef" in vf:
                    val = "0"
            val = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), val)
            env[e["name"]] = val
        return env

    # -- one container run -------------------------------------------------
    def run_container(self, c, kind, vols, restart):
        cname = c["name"]
        cid = "containerd://" + hashlib.sha256(("%s/%s/%d/%f" % (self.uid, cname, restart, time.time()))
                                               .encode()).hexdigest()
        full, tag = image_ref(c["image"])
        image = "%s:%s" % (full, tag)
        image_id = "%s@sha256:%s" % (full, hashlib.sha256(image.encode()).hexdigest())
        if self.c.missing_image.search(c["image"]):
            self.pull_fail(c, kind)
            return None
        try:
            env = self.container_env(c)
        except ConfigError as e:
            self.set_cstatus(kind, cname, state={"waiting": {"reason": "CreateContainerConfigError",
                                                             "message": str(e)}},
                             ready=False, restartCount=restart, image=c["image"], imageID="", started=False)
            self.event("Warning", "Failed", "Error: %s" % e, "spec.%s{%s}" % (kind[:-8], cname))
            while not self.stop.wait(1):
                try:
                    env = self.container_env(c)
                    break
                except ConfigError:
                    pass
            else:
                return None
        mounts = []
        for m in c.get("volumeMounts") or []:
            src = vols.get(m["name"])
            if src is None:
                continue
            if m.get("subPath"):
                src = os.path.join(src, m["subPath"])
                if not os.path.exists(src):
                    os.makedirs(src, exist_ok=True)
            mounts.append({"source": src, "target": m["mountPath"], "readOnly": bool(m.get("readOnly"))})
        cdir = os.path.join(self.dir, "run")
        os.makedirs(cdir, exist_ok=True)
        os.makedirs(os.path.join(self.dir, "logs"), exist_ok=True)
        startfail = os.path.join(cdir, "%s.%d.startfail" % (cname, restart))
        spec = {"mounts": mounts, "env": env, "argv": (c.get("command") or []) + (c.get("args") or []),
                "workingDir": c.get("workingDir") or "/", "hostname": self.pod["spec"].get("hostname") or self.name,
                "startfail": startfail}
        if not c.get("command") and c.get("args"):
            spec["argv"] = []   # images have no entrypoint here
        specfile = os.path.join(cdir, "%s.%d.json" % (cname, restart))
        with open(specfile, "w") as f:
            json.dump(spec, f)
        logf = self.log_path(cname, restart)
        cmd = self.sandbox_cmd(specfile)
        if self.stop.is_set():
            return None
        self.event("Normal", "Pulled", 'Container image "%s" already present on machine' % c["image"],
                   "spec.%s{%s}" % (kind[:-8], cname))
        self.event("Normal", "Created", "Created container %s" % cname, "spec.%s{%s}" % (kind[:-8], cname))
        started = now_ts()
        with self.lock:
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 start_new_session=True, close_fds=True)
            self.procs[cname] = p
            self.running.add(cname)
            self.specs[cname] = spec
        self.k.register(p)
        self.event("Normal", "Started", "Started container %s" % cname, "spec.%s{%s}" % (kind[:-8], cname))
        self.set_cstatus(kind, cname, state={"running": {"startedAt": started}}, lastState={},
                         ready=kind == "containerStatuses", restartCount=restart, image=image, imageID=image_id,
                         containerID=cid, started=True)
        if kind == "containerStatuses":
            self.update_ready()
        wlock = threading.Lock()
        with open(logf, "ab") as lf:
            ts = [threading.Thread(target=self.pump, args=(p.stdout, lf, b"stdout", wlock), daemon=True),
                  threading.Thread(target=self.pump, args=(p.stderr, lf, b"stderr", wlock), daemon=True)]
            for t in ts:
                t.start()
            rc = p.wait()
            for t in ts:
                t.join(5)
        self.k.unregister(p)
        with self.lock:
            self.running.discard(cname)
            execs = list(self.exec_procs.get(cname, ()))
        # exec'd processes live in the container: they end with it
        for ep in execs:
            try:
                os.killpg(ep.pid, signal.SIGKILL)
            except OSError:
                pass
        finished = now_ts()
        term = {"exitCode": rc if rc >= 0 else 128 - rc, "startedAt": started, "finishedAt": finished,
                "containerID": cid}
        if os.path.exists(startfail):
            term["exitCode"] = 128
            term["reason"] = "StartError"
            term["message"] = open(startfail).read()
            term["startedAt"] = "1970-01-01T00:00:00Z"
        elif term["exitCode"] == 0:
            term["reason"] = "Completed"
        else:
            term["reason"] = "Error"
            if rc < 0:
                term["signal"] = -rc
        self.set_cstatus(kind, cname, state={"terminated": term}, ready=False, started=False)
        if term.get("reason") == "StartError":
            self.event("Warning", "Failed", "Error: " + term["message"], "spec.%s{%s}" % (kind[:-8], cname))
        return term

    def sandbox_cmd(self, specfile):
        if self.c.sandbox == "bwrap":
            return ["bwrap", "--dev-bind", "/", "/", "--unshare-uts", "--", sys.executable, RUNNER, specfile]
        return ["unshare", "-m", "-u", "--propagation", "private", sys.executable, RUNNER, specfile]

    def pump(self, stream, lf, tag, wlock):
        buf = b""
        while True:
            data = os.read(stream.fileno(), 65536)
            if not data:
                break
            buf += data
            lines = buf.split(b"\n")
            buf = lines.pop()
            if lines:
                ts = now_nano().encode()
                with wlock:
                    for ln in lines:
                        lf.write(b"%s %s F %s\n" % (ts, tag, ln))
                    lf.flush()
            if len(buf) > 16384:
                with wlock:
                    lf.write(b"%s %s P %s\n" % (now_nano().encode(), tag, buf))
                    lf.flush()
                buf = b""
        if buf:
            with wlock:
                lf.write(b"%s %s P %s\n" % (now_nano().encode(), tag, buf))
                lf.flush()
        stream.close()

    def pull_fail(self, c, kind):
        cname = c["name"]
        full, tag = image_ref(c["image"])
        n = 0
        field = "spec.%s{%s}" % (kind[:-8], cname)
        while not self.stop.is_set():
            msg = ('failed to pull and unpack image "%s:%s": failed to resolve reference "%s:%s": %s:%s: not found'
                   % (full, tag, full, tag, full, tag))
            self.event("Normal", "Pulling", 'Pulling image "%s"' % c["image"], field)
            self.event("Warning", "Failed", 'Failed to pull image "%s": %s' % (c["image"], msg), field)
            self.event("Warning", "Failed", "Error: ErrImagePull", field)
            self.set_cstatus(kind, cname, state={"waiting": {"reason": "ErrImagePull", "message": msg}},
                             lastState={}, ready=False, restartCount=0, image=c["image"], imageID="", started=False)
            if self.stop.wait(self.c.pull_backoff):
                return
            self.event("Normal", "BackOff", 'Back-off pulling image "%s"' % c["image"], field)
            self.event("Warning", "Failed", "Error: ImagePullBackOff", field)
            self.set_cstatus(kind, cname, state={"waiting": {"reason": "ImagePullBackOff", "message":
                                                             'Back-off pulling image "%s"' % c["image"]}})
            n += 1
            if self.stop.wait(self.c.pull_backoff * min(2 ** n, 8)):
                return

    # -- pod lifecycle -----------------------------------------------------
    def update_ready(self):
        def fn(p):
            st = p["status"]
            cs = st.get("containerStatuses") or []
            ready = bool(cs) and all(c.get("ready") for c in cs) and len(cs) == len(p["spec"]["containers"])
            from .util import set_condition
            set_condition(st, "ContainersReady", "True" if ready else "False",
                          "" if ready else ("PodCompleted" if st.get("phase") in ("Succeeded", "Failed")
                                            else "ContainersNotReady"),
                          "" if ready or st.get("phase") in ("Succeeded", "Failed") else
                          "containers with unready status: [%s]" % " ".join(
                              c["name"] for c in cs if not c.get("ready")), probe=True)
            set_condition(st, "Ready", "True" if ready else "False",
                          "" if ready else ("PodCompleted" if st.get("phase") in ("Succeeded", "Failed")
                                            else "ContainersNotReady"),
                          "" if ready or st.get("phase") in ("Succeeded", "Failed") else
                          "containers with unready status: [%s]" % " ".join(
                              c["name"] for c in cs if not c.get("ready")), probe=True)
            # keep the order of conditions stable and close to the kubelet's
            order = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled",
                     "DisruptionTarget"]
            st["conditions"].sort(key=lambda c: order.index(c["type"]) if c["type"] in order else 99)
        self.mutate(fn)

    def set_phase(self, phase):
        def fn(p):
            p["status"]["phase"] = phase
        self.mutate(fn)
        self.update_ready()

    def run(self):
        try:
            self._run()
        except Exception:
            import traceback
            traceback.print_exc()
        finally:
            self.k.worker_done(self)

    def _run(self):
        from .util import set_condition
        spec = self.pod["spec"]
        inits = spec.get("initContainers") or []
        ctrs = spec.get("containers") or []
        n = self.c.pod_ip_counter()

        def init_status(p):
            st = p["status"]
            st["hostIP"] = "10.0.0.%d" % (self.c.node_index(spec.get("nodeName")) + 10)
            st["hostIPs"] = [{"ip": st["hostIP"]}]
            st["podIP"] = "10.244.%d.%d" % (n // 250, n % 250 + 2)
            st["podIPs"] = [{"ip": st["podIP"]}]
            st["startTime"] = now_ts()
            set_condition(st, "PodReadyToStartContainers", "True", probe=True)
            if inits:
                set_condition(st, "Initialized", "False", "ContainersNotInitialized",
                              "containers with incomplete status: [%s]" % " ".join(c["name"] for c in inits),
                              probe=True)
                st["initContainerStatuses"] = [
                    {"name": c["name"], "state": {"waiting": {"reason": "PodInitializing"}}, "lastState": {},
                     "ready": False, "restartCount": 0, "image": c["image"], "imageID": "", "started": False}
                    for c in inits]
            else:
                set_condition(st, "Initialized", "True", probe=True)
            st["containerStatuses"] = [
                {"name": c["name"], "state": {"waiting": {"reason": "PodInitializing" if inits else
                                                          "ContainerCreating"}},
                 "lastState": {}, "ready": False, "restartCount": 0, "image": c["image"], "imageID": "",
                 "started": False} for c in ctrs]
        self.mutate(init_status)
        self.update_ready()
        while True:
            try:
                vols = self.prepare_volumes()
                break
            except MountError as e:
                self.event("Warning", "FailedMount", 'MountVolume.SetUp failed for volume "%s" : %s' % (e.vol, e))
                if self.stop.wait(2):
                    return self.finish_deleted()
        restart_policy = spec.get("restartPolicy", "Always")
        for c in inits:
            restarts = 0
            while True:
                term = self.run_container(c, "initContainerStatuses", vols, restarts)
                if term is None or self.stop.is_set():
                    return self.finish_deleted()
                if term["exitCode"] == 0:
                    break
                if restart_policy == "Never":
                    self.set_phase("Failed")
                    return self.finish_deleted()
                restarts += 1
                if self.stop.wait(min(0.5 * restarts, 5)):
                    return self.finish_deleted()

        def inited(p):
            set_condition(p["status"], "Initialized", "True", probe=True)
        if inits:
            self.mutate(inited)
        self.set_phase("Running")
        results = {}

        def main_loop(c):
            restarts = 0
            while True:
                term = self.run_container(c, "containerStatuses", vols, restarts)
                if term is None:
                    results[c["name"]] = None
                    return
                results[c["name"]] = term
                if self.stop.is_set():
                    return
                if restart_policy == "Never" or (restart_policy == "OnFailure" and term["exitCode"] == 0):
                    return
                restarts += 1
                self.set_cstatus("containerStatuses", c["name"], lastState={"terminated": term},
                                 state={"waiting": {"reason": "CrashLoopBackOff", "message":
                                                    "back-off %ds restarting failed container=%s pod=%s_%s(%s)"
                                                    % (10 * restarts, c["name"], self.name, self.ns, self.uid)}})
                self.event("Warning", "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)"
                           % (c["name"], self.name, self.ns, self.uid))
                if self.stop.wait(min(0.5 * restarts, 5)):
                    return
        threads = [threading.Thread(target=main_loop, args=(c,), daemon=True) for c in ctrs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if any(v is None for v in results.values()) and not self.stop.is_set():
            # image pull loop ended without the pod being deleted: nothing to do
            return self.finish_deleted()
        ok = all(v is not None and v["exitCode"] == 0 for v in results.values())
        self.set_phase("Succeeded" if ok else "Failed")
        return self.finish_deleted()

    def finish_deleted(self):
        cur = self.c.store.get("pods", self.ns, self.name)
        if cur is None:
            return
        if self.stop.is_set() and cur["metadata"].get("deletionTimestamp"):
            def fn(p):
                st = p["status"]
                if st.get("phase") not in ("Succeeded", "Failed"):
                    st["phase"] = "Failed" if any(
                        (cs.get("state") or {}).get("terminated", {}).get("exitCode", 0) != 0
                        for cs in st.get("containerStatuses") or []) else st.get("phase")
                for cs in st.get("containerStatuses") or []:
                    if "running" in (cs.get("state") or {}) or "waiting" in (cs.get("state") or {}):
                        cs["state"] = {"terminated": {"exitCode": 137, "reason": "Error", "startedAt": now_ts(),
                                                      "finishedAt": now_ts()}}
                        cs["ready"] = False
            self.mutate(fn)
            self.update_ready()
            self.c.store.delete("pods", self.ns, self.name)
            self.c.wake()

    def kill(self, grace, sig=signal.SIGTERM):
        self.stop.set()
        with self.lock:
            procs = list(self.procs.values()) + [p for s in self.exec_procs.values() for p in s]
        for p in procs:
            try:
                os.killpg(p.pid, sig)
            except OSError:
                pass
        if grace > 0:
            def later():
                time.sleep(min(grace, self.c.max_grace))
                for p in procs:
                    try:
                        os.killpg(p.pid, signal.SIGKILL)
                    except OSError:
                        pass
            threading.Thread(target=later, daemon=True).start()
        else:
            for p in procs:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except OSError:
                    pass

    def kill_container(self, cname, sig=signal.SIGKILL):
        with self.lock:
            p = self.procs.get(cname) if cname else next(iter(
                [self.procs[n] for n in self.running]), None)
        if p is None:
            return False
        try:
            os.killpg(p.pid, sig)
        except OSError:
            return False
        return True


class MountError(Exception):
    def __init__(self, msg, vol):
        super().__init__(msg)
        self.vol = vol


class ConfigError(Exception):
    pass


class Kubelet:
    def __init__(self, cluster, root):
        self.cluster = cluster
        self.root = root
        os.makedirs(root, exist_ok=True)
        self.workers = {}    # pod uid -> PodWorker
        self.lock = threading.Lock()
        self.procs = set()
        self.exec_seq = itertools.count(1)

    def register(self, p):
        with self.lock:
            self.procs.add(p)

    def unregister(self, p):
        with self.lock:
            self.procs.discard(p)

    def worker_done(self, w):
        pass

    def sync(self, pods):
        for p in pods:
            uid = p["metadata"]["uid"]
            if not p["spec"].get("nodeName") or p["metadata"].get("deletionTimestamp"):
                continue
            with self.lock:
                if uid in self.workers:
                    continue
                if (p.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                    continue
                w = PodWorker(self, p)
                self.workers[uid] = w
            w.start()

    def worker(self, pod):
        return self.workers.get(pod["metadata"]["uid"])

    def has_processes(self, pod):
        w = self.worker(pod)
        return w is not None and w.is_alive()

    def kill_pod(self, pod, grace):
        w = self.worker(pod)
        if w is not None:
            w.kill(grace)

    def shutdown(self):
        with self.lock:
            ws = list(self.workers.values())
            procs = list(self.procs)
        for w in ws:
            w.stop.set()
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
        for p in procs:
            try:
                p.wait(2)
            except Exception:
                pass

    # -- pod subresources ---------------------------------------------------
    def _pod_container(self, h, ns, name):
        """The pod and the container a logs/exec request names, checked as the
        apiserver does; returns (pod, container, container names)."""
        pod = self.cluster.store.get("pods", ns, name)
        if pod is None:
            raise RS.not_found(RS.BY_NAME["pods"], name)
        spec = pod["spec"]
        names = [x["name"] for x in spec.get("containers") or []]
        inames = [x["name"] for x in spec.get("initContainers") or []]
        cname = h.query.get("container")
        if not cname:
            if len(names) == 1:
                cname = names[0]
            else:
                raise RS.bad_request("a container name must be specified for pod %s, choose one of: [%s]%s" % (
                    name, " ".join(names), " or one of the init containers: [%s]" % " ".join(inames)
                    if inames else ""))
        if cname not in names and cname not in inames:
            raise RS.bad_request("container %s is not valid for pod %s" % (cname, name))
        return pod, cname, names

    # -- logs --------------------------------------------------------------
    def serve_log(self, h, ns, name):
        c = self.cluster
        pod, cname, names = self._pod_container(h, ns, name)
        q = h.query
        kind = "containerStatuses" if cname in names else "initContainerStatuses"
        cs = next((x for x in (pod.get("status") or {}).get(kind) or [] if x["name"] == cname), None)
        state = (cs or {}).get("state") or {"waiting": {"reason": "ContainerCreating"}}
        restart = (cs or {}).get("restartCount", 0)
        previous = q.get("previous") in ("true", "1")
        if previous:
            if not (cs or {}).get("lastState", {}).get("terminated"):
                raise RS.bad_request('previous terminated container "%s" in pod "%s" not found' % (cname, name))
            restart -= 1
        w = self.workers.get(pod["metadata"]["uid"])
        path = w.log_path(cname, restart) if w else None
        if "waiting" in state and not (path and os.path.exists(path)):
            reason = state["waiting"].get("reason", "ContainerCreating")
            if reason in ("ErrImagePull",):
                msg = "trying and failing to pull image"
            elif reason == "ImagePullBackOff":
                msg = "image can't be pulled"
            else:
                msg = reason
            raise RS.bad_request('container "%s" in pod "%s" is waiting to start: %s' % (cname, name, msg))
        follow = q.get("follow") in ("true", "1") and not previous
        timestamps = q.get("timestamps") in ("true", "1")
        tail = int(q["tailLines"]) if q.get("tailLines") not in (None, "") else None
        limit = int(q["limitBytes"]) if q.get("limitBytes") not in (None, "") else None
        since = None
        if q.get("sinceTime"):
            since = parse_ts(q["sinceTime"])
        elif q.get("sinceSeconds"):
            since = time.time() - int(q["sinceSeconds"])

        def parse(raw):
            out = []
            for ln in raw.split(b"\n"):
                if not ln:
                    continue
                parts = ln.split(b" ", 3)
                if len(parts) < 4:
                    parts += [b""] * (4 - len(parts))
                ts, _, tag, text = parts
                out.append((ts.decode(), text + (b"\n" if tag == b"F" else b"")))
            return out

        def fmt(entries):
            out = b""
            for ts, text in entries:
                if since is not None and parse_ts(ts) < since:
                    continue
                out += (ts.encode() + b" " + text) if timestamps else text
            return out

        sent = [0]

        def emit(data, stream):
            if limit is not None:
                data = data[:max(0, limit - sent[0])]
            if not data:
                return
            sent[0] += len(data)
            if stream:
                h.write_chunk(data)
            else:
                h.send_body(200, data, "text/plain")

        raw = b""
        if path and os.path.exists(path):
            with open(path, "rb") as f:
                raw = f.read()
        # only complete records
        cut = raw.rfind(b"\n") + 1
        pos = cut
        entries = parse(raw[:cut])
        if tail is not None:
            entries = entries[-tail:] if tail > 0 else []
        if not follow:
            data = fmt(entries)
            if limit is not None:
                data = data[:limit]
            return h.send_body(200, data, "text/plain")
        h.start_stream("text/plain")
        emit(fmt(entries), True)
        while limit is None or sent[0] < limit:
            time.sleep(0.05)
            running = w is not None and cname in w.running
            if not os.path.exists(path):
                if not running:
                    break
                continue
            with open(path, "rb") as f:
                f.seek(pos)
                more = f.read()
            cut = more.rfind(b"\n") + 1
            if cut:
                pos += cut
                emit(fmt(parse(more[:cut])), True)
            if not running and not cut:
                # a restart writes a new file: stop like the kubelet does when the container exits
                time.sleep(0.05)
                if w is None or cname not in w.running:
                    with open(path, "rb") as f:
                        f.seek(pos)
                        more = f.read()
                    if not more:
                        break
            if c.stopping:
                break
        h.end_stream()


    # -- exec ------------------------------------------------------------------
    def serve_exec(self, h, ns, name):
        """pods/exec: validate like the apiserver and the kubelet, then upgrade to a WebSocket session."""
        from . import execws
        c = self.cluster
        pod, cname, names = self._pod_container(h, ns, name)
        q = h.query
        argv = [v for k, v in urllib.parse.parse_qsl(h.rawquery, keep_blank_values=True) if k == "command"]
        if not argv:
            raise RS.bad_request("you must specify at least 1 command")
        flags = {k: q.get(k) in ("true", "1") for k in ("stdin", "stdout", "stderr", "tty")}
        if flags["tty"]:
            flags["stderr"] = False      # a TTY merges stderr into stdout
        if not (flags["stdin"] or flags["stdout"] or flags["stderr"]):
            raise RS.bad_request("you must specify at least 1 of stdin, stdout, stderr")
        if not pod["spec"].get("nodeName"):
            raise RS.bad_request("pod %s does not have a host assigned" % name)
        w = self.workers.get(pod["metadata"]["uid"])
        with (w.lock if w else threading.Lock()):
            cspec = dict(w.specs[cname]) if w and cname in w.running and cname in w.specs else None
        if cspec is None:
            # the kubelet's answer, passed through by the apiserver as text
            raise APIError(404, "", 'container not found ("%s")' % cname, plain=True)
        try:
            neg = execws.negotiate(h)
        except ValueError as e:
            raise RS.bad_request(str(e))
        if neg is None:
            raise RS.bad_request("Upgrade request required (this test cluster implements exec over WebSockets "
                                 "only: %s; not SPDY/3.1)" % ", ".join(execws.PROTOCOLS))
        accept, proto = neg
        # the process: the container's runner spec with the exec'd argv
        n = next(self.exec_seq)
        edir = os.path.join(w.dir, "run")
        cspec.update(argv=argv, exec=True, tty=flags["tty"],
                     startfail=os.path.join(edir, "%s.exec%d.startfail" % (cname, n)))
        specfile = os.path.join(edir, "%s.exec%d.json" % (cname, n))
        with open(specfile, "w") as f:
            json.dump(cspec, f)
        cmd = w.sandbox_cmd(specfile)
        tty_fd = stdin_fd = None
        out = {}
        child = []
        try:
            if flags["tty"]:
                import pty
                tty_fd, slave = pty.openpty()
                child = [slave]
                pin = pout = perr = slave
                stdin_fd = tty_fd if flags["stdin"] else None
                if not flags["stdin"]:
                    pin = subprocess.DEVNULL
                out[tty_fd] = execws.STDOUT
            else:
                pin = pout = perr = subprocess.DEVNULL
                if flags["stdin"]:
                    rd, stdin_fd = os.pipe()
                    child.append(rd)
                    pin = rd
                if flags["stdout"]:
                    rd, pout = os.pipe()
                    child.append(pout)
                    out[rd] = execws.STDOUT
                if flags["stderr"]:
                    rd, perr = os.pipe()
                    child.append(perr)
                    out[rd] = execws.STDERR
            p = subprocess.Popen(cmd, stdin=pin, stdout=pout, stderr=perr, start_new_session=True,
                                 close_fds=True)
        except OSError as e:
            for fd in child + list(out) + ([stdin_fd] if stdin_fd is not None and stdin_fd != tty_fd else []):
                os.close(fd)
            raise APIError(500, "InternalError", "Internal error occurred: error executing command in "
                           "container: %s" % e)
        for fd in child:
            os.close(fd)
        self.register(p)
        with w.lock:
            w.exec_procs.setdefault(cname, set()).add(p)
        # 101 Switching Protocols
        h.send_response_only(101)
        h.send_header("Upgrade", "websocket")
        h.send_header("Connection", "Upgrade")
        h.send_header("Sec-WebSocket-Accept", accept)
        h.send_header("Sec-WebSocket-Protocol", proto)
        h.end_headers()
        h.status = 101
        c.log_request(h, streaming=True)
        h.logged = True
        h.close_connection = True
        startfail = cspec["startfail"]

        def finish(rc):
            if os.path.exists(startfail):
                msg = open(startfail).read().strip()
                return {"metadata": {}, "status": "Failure", "message": "Internal error occurred: error executing "
                        "command in container: failed to exec in container: failed to start exec \"%s\": %s"
                        % (hashlib.sha256(specfile.encode()).hexdigest(), msg),
                        "reason": "InternalError", "details": {"causes": [{"message": msg}]}, "code": 500}
            return execws.exit_status(rc if rc >= 0 else 128 - rc, argv)
        sess = execws.Session(h.connection, proto, p, stdin_fd, out, tty_fd, finish)
        try:
            sess.run()
        finally:
            self.unregister(p)
            with w.lock:
                w.exec_procs.get(cname, set()).discard(p)
            for fn in (specfile, startfail):
                try:
                    os.unlink(fn)
                except OSError:
                    pass


__all__ = ["Kubelet", "APIError", "shutil"]
