"""The pods' network identity: an address of their own and the cluster DNS, as hosts files.

Containers here run on the host network, so "each pod its own address" is a loopback
address of its own (127.0.x.y: Linux routes all of 127.0.0.0/8 to lo, so a process can
bind it and every other process can connect to it), set as status.podIP.

Name resolution is what a kubelet plus CoreDNS give a pod, written into one hosts file
per pod that the node agent bind-mounts over /etc/hosts inside the container's private
mount namespace (runner.py; processes started by `kubectl exec` get the same file):

- the kubelet's own lines: localhost, and the pod's address with its hostname (and
  `<hostname>.<subdomain>.<ns>.svc.cluster.local` when it has a subdomain);
- CoreDNS's records of headless Services (`clusterIP: None`): for every pod with a
  hostname and a subdomain naming such a Service in its namespace whose selector matches
  the pod's labels (and that is Ready, or the Service publishes not-ready addresses),
  `<hostname>.<subdomain>.<ns>.svc.cluster.local` and its shorter forms
  (`<hostname>.<subdomain>.<ns>.svc`, `<hostname>.<subdomain>.<ns>`, and
  `<hostname>.<subdomain>` in the same namespace, as the search path resolves it), and the
  Service's own name with the addresses of all its pods.

glibc reads /etc/hosts afresh for every lookup, so a record appears in every pod as soon
as the peer has an address and the Service exists (not earlier: as with CoreDNS, the
name does not resolve before).  The files change in place (a bind mount holds the inode):
a change that only adds lines is appended, so a reader never sees a line disappear; any
other change writes the new text from offset 0 and then truncates, so a reader sees the
old or the new text (perhaps with the old text's tail), never an empty file.  Addresses
are never reused within one agent's life, so a stale line never names another pod.
"""
import os
import threading

HEADER = ("# Kubernetes-managed hosts file (eidf test cluster node agent: the pod's own lines,\n"
          "# then the cluster DNS records of headless Services; see docs/testing.md).\n"
          "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
          "fe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")
DOMAIN = "svc.cluster.local"


def pod_address(n):
    """The n-th pod's address (n >= 1): 127.0.1.2, 127.0.1.3, ... never 127.0.0.1."""
    return "127.%d.%d.%d" % (n // 62500 % 256, 1 + n // 250 % 250, 2 + n % 250)


def _ready(p):
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (p.get("status") or {}).get("conditions") or [])


class PodDNS:
    def __init__(self):
        self.lock = threading.Lock()
        self.pods = {}       # uid -> pod (the latest seen)
        self.services = {}   # (ns, name) -> service
        self.files = {}      # uid -> (path, text written)
        self.order = {}      # record line -> when first seen: new records go at the end (appended)

    # -- what the agent tells us -------------------------------------------------
    def pod_seen(self, p):
        md = p.get("metadata") or {}
        with self.lock:
            old = self.pods.get(md.get("uid"))
            self.pods[md["uid"]] = p
            changed = old is None or self._key(old) != self._key(p)
        if changed:
            self.refresh()

    def pod_gone(self, uid):
        with self.lock:
            had = self.pods.pop(uid, None) is not None
        if had:
            self.refresh()

    def service_event(self, etype, s):
        if etype == "SYNC":
            with self.lock:
                live = {(o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in s}
                for k in [k for k in self.services if k not in live]:
                    del self.services[k]
        else:
            key = (s["metadata"].get("namespace", ""), s["metadata"]["name"])
            with self.lock:
                if etype == "DELETED":
                    self.services.pop(key, None)
                else:
                    self.services[key] = s
        self.refresh()

    def attach(self, uid, path):
        """A pod's hosts file, kept up to date until detach()."""
        with self.lock:
            self.files[uid] = (path, None)
        self.refresh()

    def detach(self, uid):
        with self.lock:
            self.files.pop(uid, None)

    # -- the records -------------------------------------------------------------
    @staticmethod
    def _key(p):
        """What of a pod the records depend on."""
        md, sp, st = p.get("metadata") or {}, p.get("spec") or {}, p.get("status") or {}
        return (md.get("namespace"), md.get("labels"), bool(md.get("deletionTimestamp")), sp.get("hostname"),
                sp.get("subdomain"), st.get("podIP"), _ready(p), st.get("phase"))

    def _records(self):
        """[(ns, ip, hostname, subdomain)] of the pods a headless Service publishes, and
        {(ns, service): [ip...]}."""
        recs, svc_ips = [], {}
        for p in self.pods.values():
            md, sp, st = p["metadata"], p.get("spec") or {}, p.get("status") or {}
            ns, ip, host, sub = md.get("namespace", ""), st.get("podIP"), sp.get("hostname"), sp.get("subdomain")
            if not ip or st.get("phase") in ("Succeeded", "Failed"):
                continue
            labels = md.get("labels") or {}
            for (sns, sname), s in self.services.items():
                ss = s.get("spec") or {}
                sel = ss.get("selector") or {}
                if sns != ns or ss.get("clusterIP") != "None" or not sel or \
                        any(labels.get(k) != v for k, v in sel.items()):
                    continue
                if not ss.get("publishNotReadyAddresses") and not _ready(p):
                    continue
                svc_ips.setdefault((ns, sname), []).append((md.get("creationTimestamp", ""), ip))
                if host and sub == sname:
                    recs.append((ns, ip, host, sub))
        return sorted(recs), {k: [ip for _, ip in sorted(v)] for k, v in svc_ips.items()}

    def _text(self, p, recs, svc_ips):
        md, sp, st = p["metadata"], p.get("spec") or {}, p.get("status") or {}
        ns, ip = md.get("namespace", ""), st.get("podIP")
        host = sp.get("hostname") or md.get("name")
        out = [HEADER]
        if ip:
            if sp.get("subdomain"):
                out.append("%s\t%s.%s.%s.%s\t%s\n" % (ip, host, sp["subdomain"], ns, DOMAIN, host))
            else:
                out.append("%s\t%s\n" % (ip, host))
        out.append("# cluster DNS\n")
        lines = []
        for rns, rip, rhost, rsub in recs:
            names = ["%s.%s.%s.%s" % (rhost, rsub, rns, DOMAIN), "%s.%s.%s.svc" % (rhost, rsub, rns),
                     "%s.%s.%s" % (rhost, rsub, rns)]
            if rns == ns:
                names.append("%s.%s" % (rhost, rsub))
            lines.append("%s\t%s\n" % (rip, " ".join(names)))
        for (sns, sname), ips in sorted(svc_ips.items()):
            names = ["%s.%s.%s" % (sname, sns, DOMAIN), "%s.%s.svc" % (sname, sns), "%s.%s" % (sname, sns)]
            if sns == ns:
                names.append(sname)
            for sip in ips:
                lines.append("%s\t%s\n" % (sip, " ".join(names)))
        for line in lines:
            self.order.setdefault(line, len(self.order))
        out.extend(sorted(lines, key=self.order.get))
        return "".join(out)

    def refresh(self):
        with self.lock:
            recs, svc_ips = self._records()
            for uid, (path, old) in list(self.files.items()):
                p = self.pods.get(uid)
                if p is None:
                    continue
                new = self._text(p, recs, svc_ips)
                if new == old:
                    continue
                try:
                    write_in_place(path, old, new)
                except OSError:
                    continue
                self.files[uid] = (path, new)


def write_in_place(path, old, new):
    """Change the file without ever leaving it shorter than a complete old or new text
    (see the module docstring)."""
    data = new.encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        if old is not None and new.startswith(old):
            os.lseek(fd, len(old.encode()), os.SEEK_SET)
            os.write(fd, data[len(old.encode()):])
        else:
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, data)
            os.ftruncate(fd, len(data))
    finally:
        os.close(fd)
