"""eidf-test-cluster ctl and stop: talk to a running test cluster.

Kept apart from the server (main.py) and importing only the standard library:
a test calls ctl many times (faults, outages, stats), and importing the whole
server for each call cost more than the call itself.
"""
import argparse
import json
import os
import signal
import ssl
import sys
import time
import urllib.error
import urllib.request


def admin_call(state_dir, method, path, body=None):
    info = json.load(open(os.path.join(state_dir, "cluster.json")))
    ctx = ssl.create_default_context(cafile=os.path.join(info["pki"], "ca.crt"))
    ctx.load_cert_chain(os.path.join(info["pki"], "admin.crt"), os.path.join(info["pki"], "admin.key"))
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(info["server"] + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def ctl(argv):
    p = argparse.ArgumentParser(prog="eidf-test-cluster ctl", description="talk to a running test cluster")
    p.add_argument("--state-dir", default=os.environ.get("EIDF_CLUSTER_STATE"), required=False)
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fault", help="add a fault rule")
    f.add_argument("type", choices=["fail", "cut", "delay", "drop", "compact", "corrupt"])
    f.add_argument("--count", type=int, default=1, help="how many requests it applies to")
    f.add_argument("--status", type=int, default=500, help="fail: HTTP status (429, 500, 503...)")
    f.add_argument("--retry-after", type=int, default=1, help="fail 429: Retry-After seconds")
    f.add_argument("--bytes", type=int, default=0, help="cut: stream body bytes before the cut (an exec session: bytes both ways)")
    f.add_argument("--seconds", type=float, default=1.0, help="delay: seconds")
    f.add_argument("--stream", choices=["stdin", "stdout"], default="stdout",
                   help="corrupt: the exec stream whose bytes change (WebSocket execs)")
    f.add_argument("--at", type=int, help="corrupt: flip the stream's byte number AT (from 0)")
    f.add_argument("--pattern", help="corrupt: replace the first match of this bytes regex...")
    f.add_argument("--replace", default="", help="corrupt: ...by this template (\\1: a group)")
    f.add_argument("--every", action="store_true",
                   help="corrupt: every match of --pattern for the rest of the session, not the first")
    f.add_argument("--hold", help="corrupt: a regex ending in \\Z: a tail that may start a match "
                   "is held back until more comes")
    f.add_argument("--path", default=".*", help="regex on the request path+query")
    f.add_argument("--method", default="", help="only this HTTP method")
    sub.add_parser("clear-faults")
    sub.add_parser("faults")
    sub.add_parser("stats")
    sub.add_parser("compact", help="drop watch history: old resourceVersions get 410 Gone")
    e = sub.add_parser("evict", help="Kueue-style preemption of a pod's workload")
    e.add_argument("pod")
    e.add_argument("-n", "--namespace")
    k = sub.add_parser("kill", help="kill a running container of a pod")
    k.add_argument("pod")
    k.add_argument("-n", "--namespace")
    k.add_argument("-c", "--container")
    k.add_argument("--signal", default="KILL")
    q = sub.add_parser("quota", help="set a namespace's GPU quota")
    q.add_argument("gpu", type=int)
    q.add_argument("-n", "--namespace")
    o = sub.add_parser("outage", help="the API server refuses (or resets) connections for SECONDS, then "
                       "comes back with its state; open connections are dropped")
    o.add_argument("seconds", type=float)
    o.add_argument("mode", nargs="?", choices=["refuse", "reset"], default="refuse")
    r = sub.add_parser("restart", help="restart the API server: every connection and watch is dropped, "
                       "connections are refused for SECONDS (default 1), state is kept")
    r.add_argument("seconds", nargs="?", type=float, default=1.0)
    e = sub.add_parser("end-outage", help="end the outage now (SIGUSR2 to the cluster) and wait until the "
                       "API server answers (at most SECONDS)")
    e.add_argument("seconds", nargs="?", type=float, default=60.0)
    w = sub.add_parser("wait-up", help="wait until the API server answers again (at most SECONDS)")
    w.add_argument("seconds", nargs="?", type=float, default=60.0)
    sub.add_parser("stop")
    a = p.parse_args(argv)
    if not a.state_dir:
        p.error("--state-dir or EIDF_CLUSTER_STATE is required")
    if a.cmd == "fault":
        body = {"type": a.type, "count": a.count, "path": a.path}
        if a.method:
            body["method"] = a.method
        if a.type == "fail":
            body.update(status=a.status, retry_after=a.retry_after)
        elif a.type == "cut":
            body["bytes"] = a.bytes
        elif a.type == "corrupt":
            body.update(stream=a.stream, at=a.at, pattern=a.pattern, replace=a.replace, hold=a.hold,
                        every=a.every)
        elif a.type == "delay":
            body["seconds"] = a.seconds
        code, out = admin_call(a.state_dir, "POST", "/_eidf/faults", body)
    elif a.cmd == "clear-faults":
        code, out = admin_call(a.state_dir, "DELETE", "/_eidf/faults")
    elif a.cmd == "faults":
        code, out = admin_call(a.state_dir, "GET", "/_eidf/faults")
    elif a.cmd == "stats":
        code, out = admin_call(a.state_dir, "GET", "/_eidf/stats")
    elif a.cmd == "compact":
        code, out = admin_call(a.state_dir, "POST", "/_eidf/compact", {})
    elif a.cmd in ("evict", "kill"):
        body = {"pod": a.pod}
        if a.namespace:
            body["namespace"] = a.namespace
        if a.cmd == "kill":
            body["signal"] = a.signal
            if a.container:
                body["container"] = a.container
        code, out = admin_call(a.state_dir, "POST", "/_eidf/" + a.cmd, body)
    elif a.cmd == "quota":
        body = {"gpu": a.gpu}
        if a.namespace:
            body["namespace"] = a.namespace
        code, out = admin_call(a.state_dir, "POST", "/_eidf/quota", body)
    elif a.cmd == "outage":
        code, out = admin_call(a.state_dir, "POST", "/_eidf/outage", {"seconds": a.seconds, "mode": a.mode})
    elif a.cmd == "restart":
        code, out = admin_call(a.state_dir, "POST", "/_eidf/restart", {"seconds": a.seconds})
    elif a.cmd == "wait-up":
        return wait_up(a.state_dir, a.seconds)
    elif a.cmd == "end-outage":
        os.kill(json.load(open(os.path.join(a.state_dir, "cluster.json")))["pid"], signal.SIGUSR2)
        return wait_up(a.state_dir, a.seconds)
    elif a.cmd == "stop":
        return stop_cluster(a.state_dir)
    print(json.dumps(out))
    return 0 if code < 300 else 1


def wait_up(state_dir, seconds):
    """0 once the API server answers and no outage is in progress, 1 after seconds."""
    end = time.time() + seconds
    while True:
        try:
            code, out = admin_call(state_dir, "GET", "/_eidf/stats")
            if code == 200 and not out.get("outage"):
                return 0
        except (OSError, ValueError):
            pass
        if time.time() >= end:
            sys.stderr.write("eidf-test-cluster: the API server is still down after %gs\n" % seconds)
            return 1
        time.sleep(0.1)


def stop_cluster(state_dir):
    pidfile = os.path.join(state_dir, "cluster.pid")
    try:
        pid = int(open(pidfile).read())
    except (OSError, ValueError):
        return 0
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return 0
    for _ in range(100):
        if not os.path.exists("/proc/%d" % pid):
            return 0
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().split(") ")[1].startswith("Z"):
                    return 0
        except OSError:
            return 0
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return 0

def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "ctl":
        return ctl(argv[1:])
    return stop_cluster(argv[1] if len(argv) > 1 else os.environ.get("EIDF_CLUSTER_STATE", "."))
