"""eidf-test-cluster: start the local test cluster, or talk to a running one (ctl)."""
import argparse
import base64
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time

from . import kubeletproxy
from . import resources as RS
from .apiclient import Client
from .apiserver import APIMixin, Faults, TLSServer, make_ssl_ctx
from .controllers import ControllersMixin
from .ctl import ctl, stop_cluster
from .kueue import Kueue
from .nodeagent import NodeAgent
from .scheduler import Scheduler
from .outage import Outages
from .resources import APIError
from .store import Store, Wakeup
from .util import dumps

DEFAULT_MISSING = r"does-not-exist|doesnotexist|nonexistent|missing-image|/missing|^missing"
ADMIN_CN = "eidf-admin"
# The node agent's identity, as a kubelet's: user system:node:NAME in group system:nodes
NODE_AGENT_CN = "system:node:eidf-node-agent"
# The Kueue stand-in's identity: Kueue's service account
KUEUE_CN = "system:serviceaccount:kueue-system:kueue-controller-manager"
# The scheduler stand-in's identity: kube-scheduler's
SCHEDULER_CN = "system:kube-scheduler"
COMPONENT_CNS = (KUEUE_CN, SCHEDULER_CN)
# The last certificate make_pki makes: a PKI directory that has it is complete
PKI_LAST = "scheduler.key"


# ---------------------------------------------------------------- PKI
def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def cached_pki(cache, user, groups):
    """A PKI directory per user/groups under cache, created atomically (parallel tests share it)."""
    key = re.sub(r"[^A-Za-z0-9_.-]", "_", "v4-%s@%s" % (user, ",".join(groups)))
    final = os.path.join(cache, key)
    if os.path.exists(os.path.join(final, PKI_LAST)):
        return final
    os.makedirs(cache, exist_ok=True)
    tmp = os.path.join(cache, ".tmp-%d-%s" % (os.getpid(), secrets.token_hex(4)))
    make_pki(tmp, user, groups)
    try:
        os.rename(tmp, final)
    except OSError:  # somebody else won the race
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def make_pki(d, user, groups):
    """CA, serving cert and client certs, made with the openssl CLI (EC P-256: fast)."""
    os.makedirs(d, exist_ok=True)
    ca, cakey = os.path.join(d, "ca.crt"), os.path.join(d, "ca.key")
    if not os.path.exists(ca):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", cakey, "-out", ca, "-days", "3650", "-subj", "/CN=eidf-test-cluster-ca")

    def leaf(name, subj, ext):
        crt, key = os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")
        stamp = os.path.join(d, name + ".subj")
        if os.path.exists(crt) and os.path.exists(stamp) and open(stamp).read() == subj:
            return
        csr = os.path.join(d, name + ".csr")
        extf = os.path.join(d, name + ".ext")
        with open(extf, "w") as f:
            f.write(ext)
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                "-out", csr, "-subj", subj)
        openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cakey, "-CAcreateserial", "-out", crt, "-days",
                "3650", "-extfile", extf)
        os.unlink(csr)
        with open(stamp, "w") as f:
            f.write(subj)

    leaf("server", "/CN=kube-apiserver", "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,"
         "DNS:kubernetes.default\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
    subj = "/CN=%s" % user + "".join("/O=%s" % g for g in groups)
    leaf("client", subj, "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
    leaf("admin", "/CN=%s/O=system:masters" % ADMIN_CN,
         "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
    # the kubelet port: its serving certificate, and the API server's client certificate for it
    # (kubeadm's apiserver-kubelet-client)
    leaf("kubelet", "/CN=eidf-node-agent", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
         "extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
    leaf("apiserver-kubelet-client", "/CN=kube-apiserver-kubelet-client/O=system:masters",
         "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
    # the API client identities of the node agent, the Kueue stand-in and the scheduler (made last:
    # see PKI_LAST)
    leaf("node-agent", "/CN=%s/O=system:nodes" % NODE_AGENT_CN,
         "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
    leaf("kueue", "/CN=%s/O=system:serviceaccounts" % KUEUE_CN,
         "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
    leaf("scheduler", "/CN=%s" % SCHEDULER_CN,
         "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n")


def b64file(p):
    with open(p, "rb") as f:
        return base64.b64encode(f.read()).decode()


def write_kubeconfig(path, server, pki, user_entry, namespace, name="eidf-test"):
    ctx = {"cluster": name, "user": name}
    if namespace:
        ctx["namespace"] = namespace
    cfg = {"apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": name,
           "clusters": [{"name": name, "cluster": {"server": server,
                                                   "certificate-authority-data": b64file(os.path.join(pki, "ca.crt"))}}],
           "contexts": [{"name": name, "context": ctx}],
           "users": [{"name": name, "user": user_entry}]}
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(cfg, f, indent=2)  # JSON is YAML
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


# ---------------------------------------------------------------- cluster
class Cluster(APIMixin, ControllersMixin):
    def __init__(self, a):
        self.state_dir = os.path.abspath(a.state_dir)
        os.makedirs(self.state_dir, exist_ok=True)
        self.tenant = a.tenant
        self.eidf_policy = a.eidf_policy
        self.gpu_quota = a.gpu_quota
        self.user = a.user or (("u-" + a.tenant) if a.tenant else "eidf-test-user")
        self.missing_image = re.compile(a.missing_image_regex)
        self.bind_delay = a.bind_delay
        self.pvc_protection_lag = a.pvc_protection_lag
        self.requeue_delay = a.requeue_delay
        self.pull_backoff = 1.0
        self.job_backoff = a.job_backoff
        self.job_lag = a.job_controller_lag
        self.exec_translate = getattr(a, "exec_translate", False)
        self.exec_ws_v4 = getattr(a, "exec_websocket_v4", False)
        self.max_request_line = getattr(a, "max_request_line", 0)
        self.job_interim_conditions = a.job_interim_conditions
        self.max_grace = 3
        self.bookmark_interval = a.bookmark_interval
        self.default_sc = "csi-cephfs-sc"
        self.openapi_hash = "eidf1"
        self.sandbox = a.sandbox
        self.stopping = False
        self.store = Store()
        self.wakeup = Wakeup()
        self.wake_due = None     # the controllers run again by then at the latest (wake_at)
        self.store.listeners.append(self.wakeup.set)
        self.faults = Faults()
        self.outages = Outages(self)
        self.conn_ids = itertools.count(1)  # next() is atomic under the GIL
        self.event_keys = {}
        self.job_track = {}
        self.job_pods_gone = {}
        self.store.listeners.append(self.note_deleted_pod)
        self._ip = 0
        self.log_lock = threading.Lock()
        self.reqlog = open(os.path.join(self.state_dir, "requests.jsonl"), "a")
        self.connlog = open(os.path.join(self.state_dir, "connections.jsonl"), "a")
        self.adminlog = open(os.path.join(self.state_dir, "admin.jsonl"), "a")
        self.complog = open(os.path.join(self.state_dir, "components.jsonl"), "a")
        self.counts = {"connections": 0, "requests": 0}
        groups = ["eidf:tenants"] if self.tenant else ["system:masters"] if a.admin_user else []
        if a.pki_cache:
            src = cached_pki(a.pki_cache, self.user, groups)
            pki = os.path.join(self.state_dir, "pki")
            if not os.path.exists(os.path.join(pki, PKI_LAST)):
                shutil.copytree(src, pki, dirs_exist_ok=True)
        else:
            pki = a.pki_dir or os.path.join(self.state_dir, "pki")
            make_pki(pki, self.user, groups)
        self.pki = pki
        self.ssl_ctx = make_ssl_ctx(pki)
        # the API server as a client of the kubelet port (logs, exec)
        self.kubelet_client_ctx = ssl.create_default_context(cafile=os.path.join(pki, "ca.crt"))
        self.kubelet_client_ctx.load_cert_chain(os.path.join(pki, "apiserver-kubelet-client.crt"),
                                                os.path.join(pki, "apiserver-kubelet-client.key"))
        self.run_node_agent = not a.no_node_agent
        self.node_agent = None
        self.run_kueue = not a.no_kueue
        self.kueue = None
        self.run_scheduler = not a.no_scheduler
        self.scheduler = None
        self.a = a
        tokfile = os.path.join(self.state_dir, "token")
        if not os.path.exists(tokfile):
            with open(tokfile, "w") as f:
                f.write(secrets.token_hex(24))
        self.token = open(tokfile).read().strip()
        self.tokens = {self.token: {"name": self.user, "groups": []}}
        self.bb_dir()
        self.seed()

    def bb_dir(self):
        d = os.path.join(self.state_dir, "busybox-bin")
        if not os.path.isdir(d) or not os.path.exists(os.path.join(d, "sh")):
            os.makedirs(d, exist_ok=True)
            bb = shutil.which("busybox")
            if bb:
                subprocess.run([bb, "--install", "-s", d], check=False)
        self.busybox_dir = d

    # -- components (node agent, Kueue) ---------------------------------------------
    @staticmethod
    def is_component_user(user):
        return "system:nodes" in (user or {}).get("groups", []) or (user or {}).get("name") in COMPONENT_CNS

    def is_component(self, cert):
        """A connection of the node agent or Kueue (by client certificate)."""
        subj = [(k, v) for rdn in (cert or {}).get("subject") or () for k, v in rdn]
        return self.is_component_user({"groups": [v for k, v in subj if k == "organizationName"],
                                       "name": next((v for k, v in subj if k == "commonName"), "")})

    def start_kueue(self):
        """The Kueue stand-in in this process, an API client with its own kubeconfig."""
        api = Client.from_kubeconfig(os.path.join(self.state_dir, "kubeconfig-kueue"), user_agent="eidf-kueue/v0.9")
        self.kueue = Kueue(api, self.requeue_delay)
        self.kueue.start()          # Jobs created before it has listed everything wait for it

    def start_scheduler(self):
        """The scheduler stand-in in this process, an API client that binds pods through pods/binding."""
        api = Client.from_kubeconfig(os.path.join(self.state_dir, "kubeconfig-scheduler"),
                                     user_agent="eidf-scheduler/v1.32.4")
        self.scheduler = Scheduler(api)
        self.scheduler.start()

    def start_node_agent(self):
        """The node agent in this process, but an API client like any other: HTTPS with its own
        kubeconfig, the pods/log and pods/exec of its nodes proxied to its kubelet port."""
        api = Client.from_kubeconfig(os.path.join(self.state_dir, "kubeconfig-node-agent"),
                                     user_agent="eidf-node-agent/v1.32.4")
        a = self.a
        self.node_agent = NodeAgent(api, os.path.join(self.state_dir, "pods"), None,
                                    os.path.join(self.pki, "kubelet.crt"), os.path.join(self.pki, "kubelet.key"),
                                    os.path.join(self.pki, "ca.crt"), "127.0.0.1", 0, self.busybox_dir,
                                    a.sandbox, a.missing_image_regex, pull_backoff=self.pull_backoff,
                                    max_grace=self.max_grace, exec_ws_v4=self.exec_ws_v4)
        self.node_agent.start()     # returns once the nodes are registered: pods can be scheduled

    # -- logs ------------------------------------------------------------------
    def log_request(self, h, streaming=False):
        rec = {"ts": time.time(), "conn": getattr(h, "conn_id", 0), "method": h.command, "path": h.rawpath,
               "query": h.rawquery, "status": h.status, "duration_ms": round((time.time() - h.t0) * 1000, 1),
               "user_agent": h.headers.get("User-Agent", ""), "user": (h.user or {}).get("name", "")}
        if streaming:
            rec["stream"] = True
        if getattr(h, "component", False):
            # the node agent's and Kueue's requests are not the client's: a log of their own
            with self.log_lock:
                self.complog.write(dumps(rec) + "\n")
                self.complog.flush()
            return
        with self.log_lock:
            self.counts["requests"] += 1
            self.reqlog.write(dumps(rec) + "\n")
            self.reqlog.flush()

    def log_conn(self, cid, event, detail="", component=False):
        if component:
            return
        with self.log_lock:
            if event == "open":
                self.counts["connections"] += 1
            rec = {"ts": time.time(), "conn": cid, "event": event}
            if detail:
                rec["detail"] = detail
            self.connlog.write(dumps(rec) + "\n")
            self.connlog.flush()

    # -- admin API ---------------------------------------------------------------
    def admin(self, h):
        user = self.authenticate(h)
        h.user = user
        if not user or user["name"] != ADMIN_CN:
            raise APIError(403, "Forbidden", "the /_eidf admin API needs the admin client certificate")
        p = h.rawpath
        body = json.loads(h.body or b"{}") if h.body else {}
        with self.log_lock:
            self.adminlog.write(dumps({"ts": time.time(), "method": h.command, "path": p, "body": body}) + "\n")
            self.adminlog.flush()
        if p == "/_eidf/faults":
            if h.command == "GET":
                return h.send_body(200, {"faults": self.faults.list()})
            if h.command == "DELETE":
                self.faults.clear()
                return h.send_body(200, {"faults": []})
            if body.get("type") not in ("fail", "cut", "delay", "drop", "compact", "corrupt"):
                raise RS.bad_request("fault type must be fail, cut, delay, drop, compact or corrupt")
            if body.get("type") == "corrupt" and (body.get("stream") not in ("stdin", "stdout") or
                                                  (body.get("at") is None) == (not body.get("pattern"))):
                raise RS.bad_request("corrupt: --stream stdin|stdout and one of --at N or --pattern REGEX")
            return h.send_body(201, self.faults.add(body))
        if p == "/_eidf/stats":
            return h.send_body(200, dict(self.counts, resourceVersion=self.store.rv, port=self.port,
                                         **self.outages.stats()))
        if p in ("/_eidf/outage", "/_eidf/restart"):
            mode = "restart" if p == "/_eidf/restart" else body.get("mode", "refuse")
            secs = float(body.get("seconds", 1.0 if mode == "restart" else 5.0))
            if mode not in ("refuse", "reset", "restart") or not 0 <= secs <= 600:
                raise RS.bad_request("outage: mode must be refuse or reset, seconds 0..600")
            # answered once the outage is in effect, on a connection it leaves alone
            h.close_connection = True
            self.outages.start(secs, mode, keep=h.conn_id)
            return h.send_body(202, {"mode": mode, "seconds": secs})
        if p == "/_eidf/compact":
            self.store.compact()
            return h.send_body(200, {"oldest": self.store.oldest})
        if p == "/_eidf/quota":
            # the nominal GPU quota of the namespace's ClusterQueue (Kueue reads it from there)
            ns = body.get("namespace") or self.tenant or "default"
            try:
                self.ensure_queue(ns)
            except APIError:
                pass    # no such namespace (yet)
            gpu = int(body["gpu"])

            def setq(cq):
                for rg in cq["spec"].get("resourceGroups") or []:
                    for fl in rg.get("flavors") or []:
                        for r in fl.get("resources") or []:
                            if r.get("name") == "nvidia.com/gpu":
                                r["nominalQuota"] = str(gpu)
            self.store.mutate("clusterqueues", "", "%s-project-gpu-cq" % ns, setq)
            return h.send_body(200, {"namespace": ns, "gpu": gpu})
        if p in ("/_eidf/evict", "/_eidf/kill"):
            ns = body.get("namespace") or self.tenant or "default"
            pod = self.store.get("pods", ns, body.get("pod", ""))
            if pod is None:
                raise RS.not_found(RS.BY_NAME["pods"], body.get("pod", ""))
            if p == "/_eidf/evict":
                return h.send_body(200, self.preempt(pod))
            return h.send_body(200, kubeletproxy.kill(self, pod, body.get("container"), body.get("signal", "KILL")))
        if p == "/_eidf/dump":
            res = h.query.get("resource", "pods")
            return h.send_body(200, self.store.list(res)[0])
        raise APIError(404, "NotFound", "unknown admin endpoint %s" % p)

    # -- run ---------------------------------------------------------------------
    def start(self, port):
        self.server = None
        self.listen_lock = threading.Lock()
        self.port = port
        self.start_listening()
        self.ctl_thread = threading.Thread(target=self.controller_loop, daemon=True)
        self.ctl_thread.start()

    def start_listening(self):
        """Listen on self.port (0: a free port, kept across outages and restarts)."""
        with self.listen_lock:
            if self.server is not None:
                return
            self.server = TLSServer(("127.0.0.1", self.port), self)
            self.port = self.server.server_address[1]
            self.server_thread = threading.Thread(target=self.server.serve_forever,
                                                  kwargs={"poll_interval": 0.2}, daemon=True)
            self.server_thread.start()

    def stop_listening(self):
        """Close the listening socket: new connections are refused."""
        with self.listen_lock:
            srv, self.server = self.server, None
            if srv is None:
                return
            srv.shutdown()
            srv.server_close()

    def store_wake(self):
        """Wake every thread waiting for store changes (watches re-check their connection)."""
        with self.store.cond:
            self.store.cond.notify_all()

    def stop(self):
        self.stopping = True
        self.wakeup.set()
        if self.kueue is not None:
            self.kueue.stop()
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.node_agent is not None:
            self.node_agent.shutdown()
        try:
            self.stop_listening()
        except Exception:
            pass


def write_configs(c, a):
    server = "https://127.0.0.1:%d" % c.port
    sd = c.state_dir
    cert_user = {"client-certificate-data": b64file(os.path.join(c.pki, "client.crt")),
                 "client-key-data": b64file(os.path.join(c.pki, "client.key"))}
    write_kubeconfig(os.path.join(sd, "kubeconfig"), server, c.pki, cert_user, c.tenant)
    write_kubeconfig(os.path.join(sd, "kubeconfig-token"), server, c.pki, {"token": c.token}, c.tenant)
    write_kubeconfig(os.path.join(sd, "kubeconfig-admin"), server, c.pki, {
        "client-certificate-data": b64file(os.path.join(c.pki, "admin.crt")),
        "client-key-data": b64file(os.path.join(c.pki, "admin.key"))}, c.tenant)
    write_kubeconfig(os.path.join(sd, "kubeconfig-node-agent"), server, c.pki, {
        "client-certificate-data": b64file(os.path.join(c.pki, "node-agent.crt")),
        "client-key-data": b64file(os.path.join(c.pki, "node-agent.key"))}, None)
    for comp in ("kueue", "scheduler"):
        write_kubeconfig(os.path.join(sd, "kubeconfig-" + comp), server, c.pki, {
            "client-certificate-data": b64file(os.path.join(c.pki, comp + ".crt")),
            "client-key-data": b64file(os.path.join(c.pki, comp + ".key"))}, None)
    # exec credential plugin: prints the token, counts its runs in exec-plugin.count
    plug = os.path.join(sd, "exec-credential.sh")
    with open(plug, "w") as f:
        f.write("#!/bin/sh\n# exec credential plugin of the eidf test cluster\necho run >> '%s/exec-plugin.count'\n"
                "printf '%%s\\n' '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
                "\"status\":{\"token\":\"%s\"}}'\n" % (sd, c.token))
    os.chmod(plug, 0o755)
    write_kubeconfig(os.path.join(sd, "kubeconfig-exec"), server, c.pki, {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": plug, "interactiveMode": "Never",
        "provideClusterInfo": False}}, c.tenant)
    if a.kubeconfig_out:
        src = os.path.join(sd, {"cert": "kubeconfig", "token": "kubeconfig-token", "exec": "kubeconfig-exec"}[
            a.auth])
        if os.path.abspath(a.kubeconfig_out) != src:
            shutil.copyfile(src, a.kubeconfig_out)
        os.chmod(a.kubeconfig_out, 0o600)
    with open(os.path.join(sd, "cluster.json"), "w") as f:
        json.dump({"server": server, "port": c.port, "pid": os.getpid(), "user": c.user, "tenant": c.tenant,
                   "state_dir": sd, "pki": c.pki,
                   # the interpreter itself: tests/t/lib.sh runs ctl with it, not through a
                   # version manager's shim that costs more than the call
                   "python": sys.executable}, f, indent=2)


def serve(a):
    import faulthandler   # SIGUSR1 prints every thread's stack to cluster.log: for a cluster that hangs
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    ready_w = None
    if a.background:
        r, w = os.pipe()
        pid = os.fork()
        if pid:
            os.close(w)
            msg = os.read(r, 4096).decode()
            if not msg.startswith("ok"):
                sys.stderr.write("eidf-test-cluster: start-up failed: %s\n" % (msg or "daemon died"))
                sys.exit(1)
            print(msg[3:].strip())
            sys.exit(0)
        os.close(r)
        os.setsid()
        ready_w = w
        logf = open(os.path.join(a.state_dir, "cluster.log"), "a")
        os.dup2(logf.fileno(), 1)
        os.dup2(logf.fileno(), 2)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
    try:
        c = Cluster(a)
        c.start(a.port)
        write_configs(c, a)
        if c.run_node_agent:
            c.start_node_agent()
        if c.run_kueue:
            c.start_kueue()
    except Exception as e:
        if ready_w is not None:
            os.write(ready_w, ("error %s" % e).encode())
        raise
    pidfile = os.path.join(c.state_dir, "cluster.pid")
    with open(pidfile, "w") as f:
        f.write("%d\n" % os.getpid())
    done = threading.Event()

    def on_sig(signum, frame):
        done.set()
    signal.signal(signal.SIGTERM, on_sig)
    signal.signal(signal.SIGINT, on_sig)
    signal.signal(signal.SIGUSR2, lambda signum, frame: c.outages.end_now())
    line = "ok server=https://127.0.0.1:%d kubeconfig=%s pid=%d" % (
        c.port, a.kubeconfig_out or os.path.join(c.state_dir, "kubeconfig"), os.getpid())
    if ready_w is not None:
        os.write(ready_w, line.encode())
        os.close(ready_w)
    else:
        print(line[3:], flush=True)
    # once the client has been told: its first lists then do not hold up the start
    # (a pod created meanwhile is scheduled once they are done)
    if c.run_scheduler:
        c.start_scheduler()
    while not done.wait(1):
        if a.parent_pid and not os.path.exists("/proc/%d" % a.parent_pid):
            break
    c.stop()
    try:
        os.unlink(pidfile)
    except OSError:
        pass
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "ctl":
        return ctl(argv[1:])
    if argv and argv[0] == "stop":
        return stop_cluster(argv[1] if len(argv) > 1 else os.environ.get("EIDF_CLUSTER_STATE", "."))
    p = argparse.ArgumentParser(prog="eidf-test-cluster", description="local Kubernetes API + controllers + "
                                "kubelet for tests (see docs/testing.md)")
    p.add_argument("--kubeconfig-out", help="write the kubeconfig here too")
    p.add_argument("--auth", choices=["cert", "token", "exec"], default="cert",
                   help="user type of the --kubeconfig-out file")
    p.add_argument("--state-dir", required=True)
    p.add_argument("--pki-dir", help="certificates directory (default STATE/pki; made when missing)")
    p.add_argument("--pki-cache", help="share generated certificates between clusters through this directory "
                   "(copied into STATE/pki)")
    p.add_argument("--eidf-policy", action="store_true", help="EIDF admission policy (queue label, "
                   "generateName, cpu+memory requests and limits)")
    p.add_argument("--tenant", help="namespace the user is confined to (403 elsewhere)")
    p.add_argument("--user", help="user name of the client certificate and token")
    p.add_argument("--admin-user", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--gpu-quota", type=int, default=12, help="GPU quota of each namespace's ClusterQueue")
    p.add_argument("--missing-image-regex", default=DEFAULT_MISSING)
    p.add_argument("--bind-delay", type=float, default=0.3, help="seconds before a PVC is bound")
    p.add_argument("--pvc-protection-lag", type=float, default=0.0,
                   help="seconds between a claim's DELETE and its pvc-protection finalizer's removal when no pod "
                   "uses it (a real controller takes a moment: a client that reads the claim back sees it "
                   "Terminating)")
    p.add_argument("--requeue-delay", type=float, default=1.0, help="seconds a preempted workload waits")
    p.add_argument("--job-backoff", type=float, default=0.5, help="seconds between a pod failure and its retry")
    p.add_argument("--job-controller-lag", type=float, default=0.5,
                   help="seconds between a pod finishing and its Job counting it (Complete/Failed)")
    p.add_argument("--exec-translate", action="store_true",
                   help="answer a WebSocket exec here and talk SPDY/3.1 to the kubelet port, as kube-apiserver "
                   ">= 1.30 does (default: pass the client's upgrade through, as 1.26)")
    p.add_argument("--exec-websocket-v4", action="store_true",
                   help="exec over WebSockets speaks v4.channel.k8s.io only (the kubelet port, and the API server "
                   "with --exec-translate), as before the WebSocket v5 support (Kubernetes < 1.29): v5 is not "
                   "chosen even when offered, so a client cannot half-close stdin")
    p.add_argument("--max-request-line", type=int, default=0, metavar="BYTES",
                   help="answer a request whose request line is longer with 414, as a proxy in front of the API "
                   "server does (nginx: 8 KiB, HAProxy: 16 KiB); default: no limit but http.server's 64 KiB")
    p.add_argument("--job-interim-conditions", action="store_true",
                   help="Kubernetes >= 1.30 Job conditions: SuccessCriteriaMet/FailureTarget first, "
                   "Complete/Failed once every pod has terminated")
    p.add_argument("--bookmark-interval", type=float, default=5.0)
    p.add_argument("--sandbox", choices=["unshare", "bwrap"], default="unshare")
    p.add_argument("--no-kueue", action="store_true", help="run no Kueue stand-in in this process (start one "
                   "with `python3 -m eidfcluster.kueue`)")
    p.add_argument("--no-scheduler", action="store_true", help="run no scheduler stand-in in this process "
                   "(start one with `python3 -m eidfcluster.scheduler`)")
    p.add_argument("--no-node-agent", action="store_true", help="run no node agent in this process (start "
                   "one with `python3 -m eidfcluster.nodeagent`, see docs/testing.md)")
    p.add_argument("--background", action="store_true", help="daemonize once ready; pid in STATE/cluster.pid")
    p.add_argument("--parent-pid", type=int, default=0, help="exit when this process is gone")
    p.add_argument("--port", type=int, default=0)
    a = p.parse_args(argv)
    os.makedirs(a.state_dir, exist_ok=True)
    a.state_dir = os.path.abspath(a.state_dir)
    return serve(a)


if __name__ == "__main__":
    sys.exit(main())
