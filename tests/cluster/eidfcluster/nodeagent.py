"""The node agent: a kubelet stand-in that runs pod containers as local processes.

It is an API client like the real kubelet: it registers its nodes, list+watches
the pods bound to them, writes `pods/status` and events through the API, reads
the ConfigMaps, Secrets, claims and volumes a pod uses through the API, deletes
a terminating pod with grace 0 once its containers are gone, and serves
`/containerLogs` and `/exec` on its own TLS port, where the API server proxies
`pods/log` and `pods/exec`.  It never sees the API server's store, so the same
agent serves the bundled test server or a real kube-apiserver (docs/testing.md).

Run alone: python3 -m eidfcluster.nodeagent --kubeconfig KC --state-dir DIR ...
(from tests/cluster; `--help` lists the options).
"""
import base64
import hashlib
import itertools
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

from . import execspdy, execws
from .execsession import STDERR, STDIN, STDOUT, ERROR, RESIZE, exit_status
from .apiclient import APIStatus, Client, EventRecorder, Unreachable
from .poddns import PodDNS, pod_address
from .tlsserver import ThreadingTLSServer, TLSHandler
from .util import deep, now_micro, now_nano, now_ts, parse_ts, set_condition

RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runner.py")
# The runner needs the standard library only: -I -S skip site-packages (their
# .pth files cost pyenv's Python some 35 ms at every container start and
# exec, which a real runtime's runc does not) and ignore PYTHON* variables.
RUNNER_PY = [sys.executable, "-I", "-S", RUNNER]
# Notified whenever a container log grows or a container ends: a followed log
# (`kubectl logs -f`) wakes at once, as the kubelet's fsnotify-driven reader
# does, instead of finding new lines up to a polling interval late.
LOG_WRITTEN = threading.Condition()
LOG_GEN = [0]    # bumped with every notification: a follower that read the file after it never waits


def log_written():
    with LOG_WRITTEN:
        LOG_GEN[0] += 1
        LOG_WRITTEN.notify_all()
HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def expand_vars(s, env):
    """$(VAR) in command and args, as the kubelet expands them: a defined variable is
    replaced, an undefined one stays as written, and $$ is a literal $."""
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)",
                  lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), s)


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


def ready_conditions(p):
    """The Ready and ContainersReady conditions from the container statuses."""
    st = p["status"]
    cs = st.get("containerStatuses") or []
    ready = bool(cs) and all(c.get("ready") for c in cs) and len(cs) == len(p["spec"]["containers"])
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


class Container:
    def __init__(self):
        self.proc = None
        self.killed_by = None


class PodWorker(threading.Thread):
    def __init__(self, kubelet, pod):
        super().__init__(daemon=True, name="pod-" + pod["metadata"]["name"])
        self.k = kubelet
        self.api = kubelet.api
        self.ns = pod["metadata"]["namespace"]
        self.name = pod["metadata"]["name"]
        self.uid = pod["metadata"]["uid"]
        self.pod = pod
        self.dir = os.path.join(kubelet.root, self.uid)
        self.hosts_file = os.path.join(self.dir, "etc-hosts")
        self.procs = {}          # container name -> Popen
        self.running = set()     # container names currently running
        self.specs = {}          # container name -> runner spec of its current run (reused by exec)
        self.exec_procs = {}     # container name -> set of Popen of `kubectl exec` processes
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.mutate_lock = threading.Lock()   # one read-modify-write of the pod's status at a time
        self.terminating = False
        self.kill_started = 0.0

    # -- status helpers --------------------------------------------------
    def mutate(self, fn):
        """Change the pod's status through pods/status (None once the pod is gone)."""
        return self.k.update_pod(self, fn)

    def set_cstatus(self, kind, cname, phase=None, **kw):
        def fn(p):
            st = p.setdefault("status", {})
            if phase:
                st["phase"] = phase
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
        self.k.event(self.k.current(self) or self.pod, etype, reason, msg, field)

    # -- volumes ---------------------------------------------------------
    def prepare_volumes(self):
        vols = {}
        os.makedirs(os.path.join(self.dir, "volumes"), exist_ok=True)
        for v in self.pod["spec"].get("volumes") or []:
            vname = v["name"]
            vdir = os.path.join(self.dir, "volumes", vname)
            if "persistentVolumeClaim" in v:
                cn = v["persistentVolumeClaim"]["claimName"]
                pvc = self.k.get_obj("persistentvolumeclaims", self.ns, cn)
                if not pvc or (pvc.get("status") or {}).get("phase") != "Bound":
                    raise MountError('persistentvolumeclaim "%s" not found' % cn if not pvc else
                                     'persistentvolumeclaim "%s" is not bound' % cn, vname)
                vols[vname] = self.k.volume_dir(pvc)
            elif "emptyDir" in v:
                os.makedirs(vdir, exist_ok=True)
                vols[vname] = vdir
            elif "hostPath" in v:
                vols[vname] = v["hostPath"]["path"]
            elif "configMap" in v or "secret" in v:
                is_cm = "configMap" in v
                src = v["configMap"] if is_cm else v["secret"]
                oname = src.get("name") if is_cm else src.get("secretName")
                obj = self.k.get_obj("configmaps" if is_cm else "secrets", self.ns, oname)
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
        pod = self.k.current(self) or self.pod
        path = HOST_PATH
        if is_busybox_image(c.get("image", "")):
            path = self.k.busybox_dir + ":" + path
        env = {"PATH": path, "HOME": "/root", "HOSTNAME": self.pod["spec"].get("hostname") or self.name,
               "KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(self.api.port),
               "TERM": "xterm"}
        for ef in c.get("envFrom") or []:
            src = ef.get("configMapRef") or ef.get("secretRef") or {}
            obj = self.k.get_obj("configmaps" if "configMapRef" in ef else "secrets", self.ns, src.get("name"))
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
                    obj = self.k.get_obj("configmaps" if "configMapKeyRef" in vf else "secrets", self.ns,
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
        if self.k.missing_image.search(c["image"]):
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
        if os.path.exists(self.hosts_file):
            mounts.append({"source": self.hosts_file, "target": "/etc/hosts", "readOnly": False})
        cdir = os.path.join(self.dir, "run")
        os.makedirs(cdir, exist_ok=True)
        os.makedirs(os.path.join(self.dir, "logs"), exist_ok=True)
        startfail = os.path.join(cdir, "%s.%d.startfail" % (cname, restart))
        spec = {"mounts": mounts, "env": env, "argv": [expand_vars(a, env) for a in
                                                      (c.get("command") or []) + (c.get("args") or [])],
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
        # the pod is Running once a container of it runs, in the same update (the kubelet's
        # getPhase: containers still waiting to start keep it Pending), so that a client that
        # sees Running can exec into it at once
        self.set_cstatus(kind, cname, phase="Running" if kind == "containerStatuses" else None,
                         state={"running": {"startedAt": started}}, lastState={},
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
        log_written()
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
        if self.k.sandbox == "bwrap":
            return ["bwrap", "--dev-bind", "/", "/", "--unshare-uts", "--"] + RUNNER_PY + [specfile]
        return ["unshare", "-m", "-u", "--propagation", "private"] + RUNNER_PY + [specfile]

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
                log_written()
            if len(buf) > 16384:
                with wlock:
                    lf.write(b"%s %s P %s\n" % (now_nano().encode(), tag, buf))
                    lf.flush()
                log_written()
                buf = b""
        if buf:
            with wlock:
                lf.write(b"%s %s P %s\n" % (now_nano().encode(), tag, buf))
                lf.flush()
            log_written()
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
            if self.stop.wait(self.k.pull_backoff):
                return
            self.event("Normal", "BackOff", 'Back-off pulling image "%s"' % c["image"], field)
            self.event("Warning", "Failed", "Error: ImagePullBackOff", field)
            self.set_cstatus(kind, cname, state={"waiting": {"reason": "ImagePullBackOff", "message":
                                                             'Back-off pulling image "%s"' % c["image"]}})
            n += 1
            if self.stop.wait(self.k.pull_backoff * min(2 ** n, 8)):
                return

    # -- pod lifecycle -----------------------------------------------------
    def update_ready(self):
        self.mutate(ready_conditions)

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
        spec = self.pod["spec"]
        inits = spec.get("initContainers") or []
        ctrs = spec.get("containers") or []
        n = self.k.pod_ip_counter()

        def init_status(p):
            st = p["status"]
            st["hostIP"] = "10.0.0.%d" % (self.k.node_index(spec.get("nodeName")) + 10)
            st["hostIPs"] = [{"ip": st["hostIP"]}]
            st["podIP"] = pod_address(n)   # its own loopback address (poddns.py)
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
        # /etc/hosts of its containers: its own name and the cluster DNS records
        self.k.dns.attach(self.uid, self.hosts_file)
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
        """The containers are done: the agent writes the final state and, for a
        terminating pod, deletes it (NodeAgent.worker_done)."""
        return None

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
                time.sleep(min(grace, self.k.max_grace))
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


class KubeletError(Exception):
    """An answer of the kubelet port: plain text (as the kubelet's errors are) or a v1 Status."""

    def __init__(self, code, message, reason=None, headers=()):
        super().__init__(message)
        self.code, self.message, self.reason, self.headers = code, message, reason, list(headers)


def bad_request(msg):
    return KubeletError(400, msg)


# The nodes a default agent serves: EIDF's GPU node types (name, GPU product, GPU count).
NODES = [
    ("gpu-a100-80-node-1", "NVIDIA-A100-SXM4-80GB", 4),
    ("gpu-h100-node-1", "NVIDIA-H100-80GB-HBM3", 8),
    ("gpu-a100-mig-node-1", "NVIDIA-A100-SXM4-40GB-MIG-1g.5gb", 7),
]
KUBELET_VERSION = "v1.32.4"


def node_object(name, product, gpus):
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
    if gpus:
        labels.update({"nvidia.com/gpu.product": product, "nvidia.com/gpu.count": str(gpus),
                       "nvidia.com/gpu.present": "true"})
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}, "spec": {}}


def rv_newer(a, b):
    """Is resourceVersion a newer than b? (opaque strings; numeric on every real server)"""
    try:
        return int(a) > int(b)
    except (TypeError, ValueError):
        return a != b


class NodeAgent:
    """Serves nodes of a cluster through its API (see the module docstring)."""

    def __init__(self, api, root, nodes=None, serving_cert=None, serving_key=None, client_ca=None,
                 address="127.0.0.1", port=0, busybox_dir="", sandbox="unshare",
                 missing_image=r"does-not-exist", pull_backoff=1.0, max_grace=3, register=True,
                 volume_root=None, lease_duration=40, status_report=300.0, exec_ws_v4=False):
        self.api = api
        self.root = root
        os.makedirs(root, exist_ok=True)
        self.nodes = list(nodes or NODES)
        self.node_names = {n[0] for n in self.nodes}
        self.address = address
        self.busybox_dir = busybox_dir
        self.sandbox = sandbox
        # the exec subprotocols of the kubelet port's WebSockets (--exec-websocket-v4: v4 only)
        self.ws_protocols = execws.PROTOCOLS_V4 if exec_ws_v4 else execws.PROTOCOLS
        self.missing_image = re.compile(missing_image)
        self.pull_backoff = pull_backoff
        self.max_grace = max_grace
        self.register_nodes = register
        self.lease_duration = int(lease_duration)   # the kubelet's nodeLeaseDurationSeconds
        self.status_report = float(status_report)   # the kubelet's nodeStatusReportFrequency
        self.leases = {}     # node name -> its Lease as last stored
        self.node_uids = {}  # node name -> uid (the Lease's owner)
        self.volume_root = volume_root or os.path.join(root, "volumes")
        self.workers = {}    # pod uid -> PodWorker
        self.pods = {}       # (namespace, name) -> the latest pod object seen (watch or own writes)
        self.lock = threading.Lock()
        self.procs = set()
        self.exec_seq = itertools.count(1)
        self.ip_seq = itertools.count(1)
        self.dns = PodDNS()  # the pods' hosts files (poddns.py)
        self.recorder = EventRecorder(api, "kubelet")
        self.finalizing = set()
        self.stopping = False
        self.synced = threading.Event()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(serving_cert, serving_key)
        ctx.load_verify_locations(client_ca)
        ctx.verify_mode = ssl.CERT_REQUIRED      # only the API server (its kubelet client certificate)
        ctx.set_alpn_protocols(["http/1.1"])
        self.ssl_ctx = ctx
        self.server = KubeletServer((address, port), self)
        self.port = self.server.server_address[1]

    # -- start / stop ----------------------------------------------------------
    def start(self):
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True,
                         name="kubelet-port").start()
        # the nodes register at once, each on its own connection (start-up time)
        regs = [threading.Thread(target=self.register_node, args=n, daemon=True) for n in self.nodes]
        for t in regs:
            t.start()
        for t in regs:
            t.join()
        self.api.informer("/api/v1/services", self.dns.service_event, name="services")
        self.api.informer("/api/v1/pods", self.on_pod, {"fieldSelector": "spec.nodeName!="}, name="pods")
        threading.Thread(target=self.housekeeping, daemon=True, name="housekeeping").start()
        threading.Thread(target=self.heartbeat, daemon=True, name="heartbeat").start()

    def housekeeping(self):
        """Like the kubelet's periodic pod sync: every second, make sure no container runs for a
        pod that is gone or terminating (should an event have been missed), and that a pod
        still running a second past its grace period is killed."""
        while not self.api.stopping.wait(1.0):
            with self.lock:
                ws = [w for w in self.workers.values() if w.is_alive()]
            for w in ws:
                p = self.current(w)
                if p is None and self.synced.is_set():
                    w.kill(0)
                    continue
                md = (p or {}).get("metadata") or {}
                if not md.get("deletionTimestamp"):
                    continue
                grace = md.get("deletionGracePeriodSeconds")
                grace = 30 if grace is None else int(grace)
                if not w.terminating:
                    sys.stderr.write("node agent: pod %s/%s is terminating: stopping it\n" % (w.ns, w.name))
                    w.terminating = True
                    w.kill_started = time.time()
                    w.kill(grace)
                elif time.time() - w.kill_started > min(grace, self.max_grace) + 1:
                    w.kill(0)

    def wait_synced(self, timeout):
        return self.synced.wait(timeout)

    def register_node(self, name, product, gpus):
        """Like the kubelet: create the Node when missing, post its status, and take its Lease."""
        path = "/api/v1/nodes/" + name
        if self.register_nodes and self.api.get(path) is None:
            try:
                self.api.create("/api/v1/nodes", node_object(name, product, gpus))
            except APIStatus as e:
                if e.code != 409:
                    raise
        self.post_status(name, product, gpus)
        self.renew_lease(name)

    def heartbeat(self):
        """Like the kubelet's node lease controller and status loop: renew every node's Lease each
        quarter of its duration (the node lifecycle controller's sign of life), and post the Node
        status (lastHeartbeatTime) every status report period.  A failure is retried at the next
        tick; the server being away for a while must not end the loop."""
        renew = self.lease_duration / 4.0
        next_status = time.time() + self.status_report
        while not self.api.stopping.wait(renew):
            report = time.time() >= next_status
            for n in self.nodes:
                try:
                    self.renew_lease(n[0])
                    if report:
                        self.post_status(*n)
                except (APIStatus, Unreachable) as e:
                    sys.stderr.write("node agent: heartbeat of node %s: %s\n" % (n[0], e))
            if report:
                next_status = time.time() + self.status_report

    def renew_lease(self, name):
        """Create or renew the node's coordination.k8s.io/v1 Lease in kube-node-lease: holder the
        node, renewTime now (a MicroTime), owned by the Node so that it goes with it."""
        path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/" + name
        now = now_micro()

        def fn(o):
            o["spec"] = dict(o.get("spec") or {}, holderIdentity=name, leaseDurationSeconds=self.lease_duration,
                             renewTime=now)
        cur = self.leases.get(name)
        if cur is not None:
            got = self.api.update(path, fn, cur=cur)
            if got is not None:
                self.leases[name] = got
                return
        md = {"name": name, "namespace": "kube-node-lease"}
        if self.node_uids.get(name):
            md["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": name,
                                      "uid": self.node_uids[name]}]
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": md, "spec": {}}
        fn(lease)
        try:
            self.leases[name] = self.api.create("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
                                                lease)
        except APIStatus as e:
            if e.code != 409:
                raise
            self.leases[name] = self.api.update(path, fn)   # there from an earlier run: take it over

    def post_status(self, name, product, gpus):
        """The Node status: addresses, the kubelet port the API server proxies logs and exec to,
        capacity, Ready with a fresh lastHeartbeatTime."""
        path = "/api/v1/nodes/" + name
        cap = {"cpu": "192", "memory": "1056Gi", "pods": "110", "ephemeral-storage": "1Ti"}
        if gpus:
            cap["nvidia.com/gpu"] = str(gpus)
        now = now_ts()

        def fn(n):
            was = next((c for c in (n.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), {})
            n["status"] = {
                "capacity": cap, "allocatable": dict(cap),
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                "message": "kubelet is posting ready status", "lastHeartbeatTime": now,
                                "lastTransitionTime": was.get("lastTransitionTime", now)
                                if was.get("status") == "True" else now}],
                "addresses": [{"type": "InternalIP", "address": self.address}, {"type": "Hostname",
                                                                                  "address": name}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": self.port}},
                "nodeInfo": {"kubeletVersion": KUBELET_VERSION, "operatingSystem": "linux",
                             "architecture": "amd64", "containerRuntimeVersion": "eidf-node-agent://1"}}
        n = self.api.update(path, fn, status=True)
        if n is not None:
            self.node_uids[name] = n["metadata"].get("uid")

    def shutdown(self):
        self.stopping = True
        self.api.stop()
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
        try:
            self.server.shutdown()
            self.server.server_close()
        except Exception:
            pass

    # -- process bookkeeping -------------------------------------------------------
    def register(self, p):
        with self.lock:
            self.procs.add(p)

    def unregister(self, p):
        with self.lock:
            self.procs.discard(p)

    def pod_ip_counter(self):
        return next(self.ip_seq)

    def node_index(self, name):
        for i, n in enumerate(self.nodes):
            if n[0] == name:
                return i
        return 0

    # -- the pods of our nodes -------------------------------------------------------
    def cache_put(self, p):
        key = (p["metadata"]["namespace"], p["metadata"]["name"])
        with self.lock:
            old = self.pods.get(key)
            newer = old is None or old["metadata"]["uid"] != p["metadata"]["uid"] or \
                rv_newer(p["metadata"].get("resourceVersion"), old["metadata"].get("resourceVersion"))
            if newer:
                self.pods[key] = p
        if newer:
            self.dns.pod_seen(p)

    def current(self, w):
        """The latest copy of a worker's pod, None once it is gone."""
        with self.lock:
            p = self.pods.get((w.ns, w.name))
        return deep(p) if p is not None and p["metadata"]["uid"] == w.uid else None

    def on_pod(self, etype, p):
        if etype == "SYNC":
            # a full list: pods deleted while we were not watching are gone
            live = {o["metadata"]["uid"] for o in p}
            with self.lock:
                gone = [w for uid, w in self.workers.items() if uid not in live]
                for key in [k for k, o in self.pods.items() if o["metadata"]["uid"] not in live]:
                    self.dns.pod_gone(self.pods[key]["metadata"]["uid"])
                    del self.pods[key]
            for w in gone:
                w.kill(0)
            self.synced.set()
            return
        md = p["metadata"]
        uid = md["uid"]
        if etype == "DELETED":
            with self.lock:
                key = (md["namespace"], md["name"])
                if key in self.pods and self.pods[key]["metadata"]["uid"] == uid:
                    del self.pods[key]
                w = self.workers.get(uid)
            self.dns.pod_gone(uid)
            if w is not None:
                w.kill(0)     # deleted with grace 0 (or by us): nothing may keep running
            return
        if p["spec"].get("nodeName") not in self.node_names:
            return
        self.cache_put(p)
        with self.lock:
            w = self.workers.get(uid)
            if md.get("deletionTimestamp"):
                if w is not None and w.is_alive():
                    if not w.terminating:
                        w.terminating = True
                        w.kill_started = time.time()
                        grace = md.get("deletionGracePeriodSeconds")
                        threading.Thread(target=w.kill, args=(30 if grace is None else int(grace),),
                                         daemon=True).start()
                    return
            elif w is not None or (p.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                return
            else:
                w = PodWorker(self, p)
                self.workers[uid] = w
                w.start()
                return
        # terminating, and no container runs for it (any more)
        self.finalize_async(p)

    def worker_done(self, w):
        self.dns.detach(w.uid)
        p = self.current(w)
        if p is not None and p["metadata"].get("deletionTimestamp"):
            self.finalize_async(p)

    def finalize_async(self, p):
        uid = p["metadata"]["uid"]
        with self.lock:
            if uid in self.finalizing:
                return
            self.finalizing.add(uid)
        threading.Thread(target=self.finalize, args=(p,), daemon=True).start()

    def finalize(self, p):
        """A terminating pod whose containers are gone: final container states, then the
        kubelet's DELETE with grace 0 (preconditioned on the uid) that removes it."""
        md = p["metadata"]
        ns, name, uid = md["namespace"], md["name"], md["uid"]
        path = "/api/v1/namespaces/%s/pods/%s" % (ns, name)

        def fn(o):
            if o["metadata"]["uid"] != uid:
                return False
            st = o.setdefault("status", {})
            if st.get("phase") not in ("Succeeded", "Failed"):
                st["phase"] = "Failed" if any(
                    (cs.get("state") or {}).get("terminated", {}).get("exitCode", 0) != 0
                    for cs in st.get("containerStatuses") or []) else st.get("phase")
            for cs in st.get("containerStatuses") or []:
                if "running" in (cs.get("state") or {}) or "waiting" in (cs.get("state") or {}):
                    cs["state"] = {"terminated": {"exitCode": 137, "reason": "Error", "startedAt": now_ts(),
                                                  "finishedAt": now_ts()}}
                    cs["ready"] = False
            ready_conditions(o)
        try:
            with self.lock:
                w = self.workers.get(uid)
            if w is not None and w.is_alive():
                w.kill(0)
                w.join(10)
            if w is not None:
                self.api.update(path, fn, cur=self.current(w), status=True)
            self.api.delete(path, {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
                                   "preconditions": {"uid": uid}})
        except Exception:
            import traceback
            traceback.print_exc()

    def update_pod(self, w, fn):
        """pods/status read-modify-write from our latest copy (a 409 re-reads)."""
        path = "/api/v1/namespaces/%s/pods/%s" % (w.ns, w.name)

        def guarded(o):
            if o["metadata"]["uid"] != w.uid:
                return False
            o.setdefault("status", {})
            return fn(o)
        with w.mutate_lock:
            try:
                o = self.api.update(path, guarded, cur=self.current(w), status=True)
            except APIStatus as e:
                sys.stderr.write("node agent: status of pod %s/%s: %s\n" % (w.ns, w.name, e))
                return None
            if o is not None and o["metadata"]["uid"] == w.uid:
                self.cache_put(o)
                return o
            return None

    # -- objects a pod uses -------------------------------------------------------------
    def get_obj(self, resource, ns, name):
        if not name:
            return None
        return self.api.get("/api/v1/namespaces/%s/%s/%s" % (ns, resource, name))

    def volume_dir(self, pvc):
        """The host directory of a bound claim: its PersistentVolume's hostPath/local path (the
        bundled cluster's provisioner makes hostPath volumes), else one under the volume root."""
        vname = pvc["spec"].get("volumeName") or "pvc-" + pvc["metadata"]["uid"]
        pv = self.api.get("/api/v1/persistentvolumes/" + vname) or {}
        src = (pv.get("spec") or {}).get("hostPath") or (pv.get("spec") or {}).get("local") or {}
        d = src.get("path") or os.path.join(self.volume_root, vname)
        os.makedirs(d, exist_ok=True)
        return d

    def event(self, obj, etype, reason, message, field_path=None):
        self.recorder.event(obj, etype, reason, message, field_path,
                            host=(obj.get("spec") or {}).get("nodeName", ""))

    def worker_for(self, ns, name):
        with self.lock:
            p = self.pods.get((ns, name))
            if p is None:
                return None, None
            return deep(p), self.workers.get(p["metadata"]["uid"])

    # -- /containerLogs/{ns}/{pod}/{container} ----------------------------------------------
    def serve_log(self, h, ns, name, cname):
        pod, w = self.worker_for(ns, name)
        if pod is None:
            raise KubeletError(404, 'pod "%s" not found' % name)
        q = h.query
        names = [x["name"] for x in pod["spec"].get("containers") or []]
        kind = "containerStatuses" if cname in names else "initContainerStatuses"
        cs = next((x for x in (pod.get("status") or {}).get(kind) or [] if x["name"] == cname), None)
        state = (cs or {}).get("state") or {"waiting": {"reason": "ContainerCreating"}}
        restart = (cs or {}).get("restartCount", 0)
        previous = q.get("previous") in ("true", "1")
        if previous:
            if not (cs or {}).get("lastState", {}).get("terminated"):
                raise bad_request('previous terminated container "%s" in pod "%s" not found' % (cname, name))
            restart -= 1
        path = w.log_path(cname, restart) if w else None
        if "waiting" in state and not (path and os.path.exists(path)):
            reason = state["waiting"].get("reason", "ContainerCreating")
            if reason in ("ErrImagePull",):
                msg = "trying and failing to pull image"
            elif reason == "ImagePullBackOff":
                msg = "image can't be pulled"
            else:
                msg = reason
            raise bad_request('container "%s" in pod "%s" is waiting to start: %s' % (cname, name, msg))
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
        seen = -1
        while limit is None or sent[0] < limit:
            with LOG_WRITTEN:
                if LOG_GEN[0] == seen:
                    # a bound, for what comes without a notification (a restart's new file)
                    LOG_WRITTEN.wait(0.5)
                seen = LOG_GEN[0]
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
            if self.stopping:
                break
        h.end_stream()


    # -- /exec/{ns}/{pod}/{container} ----------------------------------------------------------
    def serve_exec(self, h, ns, name, cname):
        """The kubelet's exec: a WebSocket or SPDY/3.1 session on the upgraded connection (the API
        server proxies kubectl's upgrade through, or, from 1.30, translates WebSockets to SPDY)."""
        pod, w = self.worker_for(ns, name)
        if pod is None:
            raise KubeletError(404, 'pod "%s" not found' % name)
        q = h.query
        argv = [v for k, v in urllib.parse.parse_qsl(h.rawquery, keep_blank_values=True) if k == "command"]
        if not argv:
            raise KubeletError(400, "you must specify at least 1 command", "BadRequest")

        def flag(*keys):   # the API server sends input/output/error; stdin/stdout/stderr also work
            return any(q.get(k) in ("true", "1") for k in keys)
        flags = {"stdin": flag("input", "stdin"), "stdout": flag("output", "stdout"),
                 "stderr": flag("error", "stderr"), "tty": flag("tty")}
        if flags["tty"]:
            flags["stderr"] = False      # a TTY merges stderr into stdout
        with (w.lock if w else threading.Lock()):
            cspec = dict(w.specs[cname]) if w and cname in w.running and cname in w.specs else None
        if cspec is None:
            raise KubeletError(404, 'container not found ("%s")' % cname)
        spdy = execspdy.is_upgrade(h)
        if spdy:
            try:
                proto = execspdy.negotiate(h)
            except ValueError as e:
                code, msg = e.args
                # httpstream.Handshake names what it accepts
                raise KubeletError(code, msg, headers=[("X-Accepted-Stream-Protocol-Versions", v)
                                                       for v in execspdy.PROTOCOLS] if code == 403 else ())
        else:
            try:
                neg = execws.negotiate(h, self.ws_protocols)
            except ValueError as e:
                raise KubeletError(400, str(e), "BadRequest")
            if neg is None:
                raise KubeletError(400, "Upgrade request required (WebSockets: %s; or SPDY/3.1)"
                                   % ", ".join(self.ws_protocols), "BadRequest")
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
                out[tty_fd] = STDOUT
            else:
                pin = pout = perr = subprocess.DEVNULL
                if flags["stdin"]:
                    rd, stdin_fd = os.pipe()
                    child.append(rd)
                    pin = rd
                if flags["stdout"]:
                    rd, pout = os.pipe()
                    child.append(pout)
                    out[rd] = STDOUT
                if flags["stderr"]:
                    rd, perr = os.pipe()
                    child.append(perr)
                    out[rd] = STDERR
            p = subprocess.Popen(cmd, stdin=pin, stdout=pout, stderr=perr, start_new_session=True,
                                 close_fds=True)
        except OSError as e:
            for fd in child + list(out) + ([stdin_fd] if stdin_fd is not None and stdin_fd != tty_fd else []):
                os.close(fd)
            raise KubeletError(500, "Internal error occurred: error executing command in container: %s" % e,
                               "InternalError")
        for fd in child:
            os.close(fd)
        self.register(p)
        with w.lock:
            w.exec_procs.setdefault(cname, set()).add(p)
        # 101 Switching Protocols
        h.send_response_only(101)
        if spdy:
            h.send_header("X-Stream-Protocol-Version", proto)
            h.send_header("Connection", "Upgrade")
            h.send_header("Upgrade", "SPDY/3.1")
        else:
            h.send_header("Upgrade", "websocket")
            h.send_header("Connection", "Upgrade")
            h.send_header("Sec-WebSocket-Accept", accept)
            h.send_header("Sec-WebSocket-Protocol", proto)
        h.end_headers()
        h.status = 101
        h.close_connection = True
        # which protocol reached the kubelet (t0152: with --exec-translate, always SPDY)
        sys.stderr.write("node agent: exec in %s/%s/%s over %s (%s)\n" % (ns, name, cname,
                         "SPDY/3.1" if spdy else "WebSocket", proto))
        startfail = cspec["startfail"]

        def finish(rc):
            if os.path.exists(startfail):
                msg = open(startfail).read().strip()
                return {"metadata": {}, "status": "Failure", "message": "Internal error occurred: error executing "
                        "command in container: failed to exec in container: failed to start exec \"%s\": %s"
                        % (hashlib.sha256(specfile.encode()).hexdigest(), msg),
                        "reason": "InternalError", "details": {"causes": [{"message": msg}]}, "code": 500}
            return exit_status(rc if rc >= 0 else 128 - rc, argv)
        if spdy:
            # the streams the kubelet waits for: error, each one asked for, resize with a TTY
            expected = {ERROR} | {ch for ch, on in ((STDIN, flags["stdin"]), (STDOUT, flags["stdout"]),
                                                    (STDERR, flags["stderr"]), (RESIZE, flags["tty"])) if on}
            sess = execspdy.SpdySession(h.connection, p, stdin_fd, out, tty_fd, finish, expected)
        else:
            sess = execws.WSSession(h.connection, proto, p, stdin_fd, out, tty_fd, finish)
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



    # -- test-bed extension: kill a container as the OOM killer would (cluster_kill) ----------------
    def serve_kill(self, h, ns, name):
        pod, w = self.worker_for(ns, name)
        sig = getattr(signal, "SIG" + (h.query.get("signal") or "KILL").upper().replace("SIG", ""), None)
        if sig is None:
            raise bad_request("unknown signal %s" % h.query.get("signal"))
        if w is None or not w.kill_container(h.query.get("container"), sig):
            raise bad_request("no running container in pod %s" % name)
        h.send_body(200, json.dumps({"killed": name, "signal": int(sig)}), "application/json")


def subject_of(cert):
    cn, groups = None, []
    for rdn in (cert or {}).get("subject") or ():
        for k, v in rdn:
            if k == "commonName":
                cn = v
            elif k == "organizationName":
                groups.append(v)
    return cn, groups


class KubeletServer(ThreadingTLSServer):
    def __init__(self, addr, agent):
        self.agent = agent
        super().__init__(addr, KubeletHandler)


class KubeletHandler(TLSHandler):
    """The kubelet port: /containerLogs, /exec, /healthz (and /_eidf/kill for the test bed), for
    clients whose certificate the client CA signed and that are the API server's (system:masters,
    kubeadm's kube-apiserver-kubelet-client) -- the kubelet's x509 authentication."""
    server_version = "eidf-node-agent"

    def setup(self):
        self.agent = self.server.agent
        self.accept_tcp()
        self.start_tls(self.agent.ssl_ctx, 3600)
        super().setup()

    def send_body(self, code, body, ctype="text/plain; charset=utf-8", headers=()):
        if isinstance(body, str):
            body = body.encode()
        self.send_response_only(code)
        self.send_header("Date", self.date_time_string())
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def start_stream(self, ctype):
        self.send_response_only(200)
        self.send_header("Date", self.date_time_string())
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def write_chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        self.rawpath, self.rawquery = u.path, u.query
        self.query = {k: v[-1] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
        segs = [urllib.parse.unquote(s) for s in u.path.split("/") if s]
        try:
            cn, groups = subject_of(self.connection.getpeercert())
            if not ({"system:masters", "kubeadm:cluster-admins"} & set(groups) or
                    cn == "kube-apiserver-kubelet-client"):
                raise KubeletError(403, "Forbidden (user=%s, verb=%s, resource=nodes, subresource=proxy)"
                                   % (cn, self.command.lower()))
            if segs == ["healthz"]:
                return self.send_body(200, "ok")
            if len(segs) == 4 and segs[0] == "containerLogs" and self.command == "GET":
                return self.agent.serve_log(self, segs[1], segs[2], segs[3])
            if len(segs) == 4 and segs[0] == "exec" and self.command in ("GET", "POST"):
                return self.agent.serve_exec(self, segs[1], segs[2], segs[3])
            if len(segs) == 4 and segs[:2] == ["_eidf", "kill"] and self.command == "POST":
                return self.agent.serve_kill(self, segs[2], segs[3])
            raise KubeletError(404, "404 page not found")
        except KubeletError as e:
            self.close_connection = True
            if e.reason:    # a v1 Status, as the kubelet's remotecommand server answers
                st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": e.message, "reason": e.reason, "code": e.code}
                self.send_body(e.code, json.dumps(st) + "\n", "application/json", e.headers)
            else:
                self.send_body(e.code, e.message, headers=e.headers)
        except (ConnectionError, ssl.SSLError, BrokenPipeError, socket.timeout):
            self.close_connection = True

    do_POST = do_GET


# ---------------------------------------------------------------- run alone
def main(argv=None):
    import argparse
    p = argparse.ArgumentParser(prog="eidf-node-agent", description="kubelet stand-in that serves nodes of a "
                                "Kubernetes cluster through its API (see docs/testing.md)")
    p.add_argument("--kubeconfig", required=True, help="credentials of the agent (a node or admin identity)")
    p.add_argument("--context")
    p.add_argument("--state-dir", required=True, help="pod directories (logs, volumes) go under DIR/pods")
    p.add_argument("--tls-cert-file", required=True, help="serving certificate of the kubelet port")
    p.add_argument("--tls-private-key-file", required=True)
    p.add_argument("--client-ca-file", required=True, help="CA of the API server's kubelet client certificate")
    p.add_argument("--address", default="127.0.0.1", help="address the port listens on and Node status shows")
    p.add_argument("--port", type=int, default=10250, help="kubelet port (0: any free port)")
    p.add_argument("--node", action="append", metavar="NAME[:GPU_PRODUCT:GPUS]",
                   help="a node to serve (repeatable; default: the three EIDF GPU nodes)")
    p.add_argument("--no-register", action="store_true", help="the Nodes exist already: only post their status")
    p.add_argument("--node-lease-duration-seconds", type=int, default=40,
                   help="each node's Lease in kube-node-lease lasts this long and is renewed every quarter of it")
    p.add_argument("--node-status-report-frequency", type=float, default=300.0, metavar="SECONDS",
                   help="post each Node's status (lastHeartbeatTime) this often")
    p.add_argument("--sandbox", choices=["unshare", "bwrap"], default="unshare")
    p.add_argument("--missing-image-regex", default=r"does-not-exist|doesnotexist|nonexistent|missing-image|"
                   r"/missing|^missing")
    p.add_argument("--busybox-dir", default="", help="busybox applets first in PATH for alpine/busybox images")
    p.add_argument("--exec-websocket-v4", action="store_true",
                   help="exec over WebSockets speaks v4.channel.k8s.io only, as a kubelet before the WebSocket v5 "
                   "support (Kubernetes < 1.29): v5 is not chosen even when offered, stdin cannot be half-closed")
    a = p.parse_args(argv)
    nodes = None
    if a.node:
        nodes = []
        for spec in a.node:
            parts = spec.split(":")
            nodes.append((parts[0], parts[1] if len(parts) > 1 else "", int(parts[2]) if len(parts) > 2 else 0))
    api = Client.from_kubeconfig(a.kubeconfig, a.context, user_agent="eidf-node-agent/" + KUBELET_VERSION)
    agent = NodeAgent(api, os.path.join(os.path.abspath(a.state_dir), "pods"), nodes, a.tls_cert_file,
                      a.tls_private_key_file, a.client_ca_file, a.address, a.port, a.busybox_dir, a.sandbox,
                      a.missing_image_regex, register=not a.no_register,
                      lease_duration=a.node_lease_duration_seconds, status_report=a.node_status_report_frequency,
                      exec_ws_v4=a.exec_websocket_v4)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    agent.start()
    print("node agent: kubelet port %s:%d, nodes %s, API %s" % (a.address, agent.port, " ".join(
        sorted(agent.node_names)), api.server), flush=True)
    done.wait()
    agent.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
