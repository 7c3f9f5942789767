"""The API server's side of pods/log and pods/exec: validate, then proxy to the kubelet port.

As kube-apiserver does, the request is checked here (the pod exists, the
container is one of its containers, an exec has a command and a stream) and
then sent to the node's kubelet endpoint (the Node's InternalIP and
`status.daemonEndpoints.kubeletEndpoint.Port`) over TLS with the API server's
kubelet client certificate.  Log bodies are streamed back (so `cut` faults
still apply); an exec upgrade is passed through byte for byte once the
kubelet has answered 101, and any other kubelet answer is passed back as is.
"""
import http.client
import json
import select
import socket
import ssl
import urllib.parse

from . import execws
from . import resources as RS
from . import execcorrupt
from .exectranslate import Bridge, upgrade_headers
from .resources import APIError

REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 500: "InternalError",
           503: "ServiceUnavailable"}


def pod_container(c, h, ns, name):
    """The pod and the container a logs/exec request names, checked as the apiserver does;
    returns (pod, container name, main container names)."""
    pod = c.store.get("pods", ns, name)
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


def endpoint(c, node):
    """(host, port) of a node's kubelet, from the status its agent posted."""
    n = c.store.get("nodes", "", node) or {}
    st = n.get("status") or {}
    port = ((st.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port")
    host = next((a["address"] for a in st.get("addresses") or [] if a.get("type") == "InternalIP"), None)
    if not port or not host:
        raise APIError(500, "InternalError", 'Internal error occurred: node "%s" has no kubelet endpoint '
                       '(is its node agent running?)' % node)
    return host, int(port)


def unreachable(url, e):
    return APIError(500, "InternalError", 'Get "%s": %s' % (url, e), {"causes": [{"message": str(e)}]})


def kubelet_error(code, body, ctype):
    """The kubelet's error answer as the apiserver returns it: a Status as is, text as its message."""
    text = body.decode("utf-8", "replace")
    if ctype.startswith("application/json"):
        try:
            st = json.loads(text)
            return APIError(st.get("code", code), st.get("reason", ""), st.get("message", ""), st.get("details"))
        except ValueError:
            pass
    return APIError(code, REASONS.get(code, ""), text.strip())


# ---------------------------------------------------------------- pods/log
def proxy_log(c, h, ns, name):
    pod, cname, names = pod_container(c, h, ns, name)
    node = pod["spec"].get("nodeName")
    if not node:
        # no kubelet to ask yet: the apiserver answers 204 No Content, with or without
        # follow (logs-unscheduled-204); the container was checked above (400)
        return h.send_no_content()
    host, port = endpoint(c, node)
    q = [(k, v) for k, v in urllib.parse.parse_qsl(h.rawquery, keep_blank_values=True)
         if k in ("follow", "previous", "timestamps", "tailLines", "limitBytes", "sinceSeconds", "sinceTime")]
    path = "/containerLogs/%s/%s/%s" % (ns, name, cname) + ("?" + urllib.parse.urlencode(q) if q else "")
    url = "https://%s:%d%s" % (host, port, path)
    conn = http.client.HTTPSConnection(host, port, context=c.kubelet_client_ctx, timeout=3600)
    try:
        try:
            conn.request("GET", path, headers={"User-Agent": "kube-apiserver"})
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as e:
            raise unreachable(url, e)
        if resp.status != 200:
            raise kubelet_error(resp.status, resp.read(), resp.getheader("Content-Type", ""))
        if resp.getheader("Transfer-Encoding", "").lower() != "chunked":
            return h.send_body(200, resp.read(), "text/plain")
        h.start_stream("text/plain")
        while True:
            try:
                data = resp.read1(65536)
            except (OSError, http.client.HTTPException):
                break
            if not data:
                break
            h.write_chunk(data)
        h.end_stream()
    finally:
        conn.close()


# ---------------------------------------------------------------- pods/exec
def proxy_exec(c, h, ns, name):
    pod, cname, names = pod_container(c, h, ns, name)
    q = h.query
    argv = [v for k, v in urllib.parse.parse_qsl(h.rawquery, keep_blank_values=True) if k == "command"]
    if not argv:
        raise RS.bad_request("you must specify at least 1 command")
    flags = {k: q.get(k) in ("true", "1") for k in ("stdin", "stdout", "stderr", "tty")}
    if not (flags["stdin"] or flags["stdout"] or flags["stderr"]):
        raise RS.bad_request("you must specify at least 1 of stdin, stdout, stderr")
    if not pod["spec"].get("nodeName"):
        raise RS.bad_request("pod %s does not have a host assigned" % name)
    host, port = endpoint(c, pod["spec"]["nodeName"])
    # the kubelet's parameter names, as the apiserver's ExecLocation writes them
    kq = [("command", a) for a in argv] + [(kk, "1") for k, kk in (("stdin", "input"), ("stdout", "output"),
                                                                   ("stderr", "error"), ("tty", "tty")) if flags[k]]
    path = "/exec/%s/%s/%s?%s" % (ns, name, cname, urllib.parse.urlencode(kq))
    url = "https://%s:%d%s" % (host, port, path)
    # --exec-translate: a WebSocket exec is answered here and the kubelet gets SPDY, as from
    # kube-apiserver 1.30; otherwise the client's upgrade goes through as it is
    ws = None
    if c.exec_translate and "websocket" in (h.headers.get("Upgrade") or "").lower():
        try:
            ws = execws.negotiate(h, execws.PROTOCOLS_V4 if c.exec_ws_v4 else execws.PROTOCOLS)
        except ValueError as e:
            raise RS.bad_request(str(e))
    if ws:
        lines = ["POST %s HTTP/1.1" % path, "Host: %s:%d" % (host, port), "User-Agent: kube-apiserver"]
        lines += upgrade_headers()
    else:
        lines = ["%s %s HTTP/1.1" % (h.command, path), "Host: %s:%d" % (host, port), "User-Agent: kube-apiserver"]
        for k in ("Connection", "Upgrade", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Protocol",
                  "X-Stream-Protocol-Version"):
            for v in h.headers.get_all(k) or []:
                lines.append("%s: %s" % (k, v))
    try:
        raw = socket.create_connection((host, port), timeout=10)
        # as Go's net (kube-apiserver's) does: without it a small stdin message sent while the
        # previous one is unacknowledged waits for the kubelet's delayed ACK (~40 ms)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        up = c.kubelet_client_ctx.wrap_socket(raw, server_hostname=host)
        up.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            data = up.recv(65536)
            if not data:
                raise ConnectionError("the kubelet closed the connection")
            buf += data
            if len(buf) > 1 << 20:
                raise ConnectionError("the kubelet's answer has no end of headers")
    except (OSError, ssl.SSLError) as e:
        raise unreachable(url, e)
    head, rest = buf.split(b"\r\n\r\n", 1)
    status_line, *hdr_lines = head.decode("iso-8859-1").split("\r\n")
    code = int(status_line.split()[1])
    hdrs = {}
    for ln in hdr_lines:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if code != 101:
        # not upgraded: the kubelet's answer goes back as it is
        try:
            n = int(hdrs.get("content-length") or 0)
            while len(rest) < n:
                data = up.recv(65536)
                if not data:
                    break
                rest += data
        finally:
            up.close()
        h.close_connection = True
        return h.send_body(code, rest[:n], hdrs.get("content-type", "text/plain; charset=utf-8"))
    # a `cut` fault whose --path matches the exec request drops the session after
    # --bytes bytes have passed (both directions counted), as a proxy or a node
    # restart would: no close frame, both connections shut
    cut = None if h.component else c.faults.take(("cut",), h.command, h.path)
    limit = int(cut.get("bytes", 0)) if cut is not None else None
    # a `corrupt` fault changes the bytes of one stream (execcorrupt.py); WebSocket execs only
    websocket = ws or "websocket" in (hdrs.get("upgrade") or "").lower()
    corrupt = None if h.component or not websocket else c.faults.take(("corrupt",), h.command, h.path)
    h.status = 101
    h.log_before_answer(streaming=True)
    if ws:
        accept, proto = ws
        h.wfile.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: %s\r\n\r\n" % (accept, proto)).encode())
    else:
        h.wfile.write(head + b"\r\n\r\n")
    h.wfile.flush()
    h.close_connection = True
    try:
        if ws:
            channels = {ch for ch, on in ((0, flags["stdin"]), (1, flags["stdout"]),
                                          (2, flags["stderr"] and not flags["tty"]), (4, flags["tty"])) if on}
            b = Bridge(h.connection, up, proto, channels, limit, corrupt)
            if rest:
                b.from_kubelet(rest)
            b.run()
            return
        if corrupt is not None:
            return execcorrupt.Relay(h.connection, up, corrupt, limit).run(rest)
        if rest:
            h.connection.sendall(rest)
        splice(h.connection, up, limit)
    finally:
        for s in (up,):
            try:
                s.close()
            except OSError:
                pass


def splice(a, b, limit=None):
    """Copy bytes both ways between two TLS sockets until either side closes (one thread: an
    SSL object must not be read and written from two threads at once); with a limit, shut both
    once that many bytes have passed."""
    a.settimeout(None)
    b.settimeout(None)
    peer = {a: b, b: a}
    passed = 0
    while True:
        if limit is not None and passed >= limit:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            return
        ready = [s for s in (a, b) if s.pending()] or select.select([a, b], [], [])[0]
        for s in ready:
            try:
                data = s.recv(65536)
            except ssl.SSLWantReadError:
                continue
            except (OSError, ssl.SSLError):
                data = b""
            if not data:
                try:
                    peer[s].shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if limit is not None and passed + len(data) > limit:
                data = data[:max(limit - passed, 0)]
            passed += len(data)
            try:
                if data:
                    peer[s].sendall(data)
            except (OSError, ssl.SSLError):
                return


# ---------------------------------------------------------------- test bed: cluster_kill
def kill(c, pod, container, sig):
    """Ask the pod's node agent to kill a container (as the OOM killer would)."""
    node = pod["spec"].get("nodeName")
    if not node:
        raise RS.bad_request("no running container in pod %s" % pod["metadata"]["name"])
    host, port = endpoint(c, node)
    q = {"signal": sig}
    if container:
        q["container"] = container
    path = "/_eidf/kill/%s/%s?%s" % (pod["metadata"]["namespace"], pod["metadata"]["name"],
                                     urllib.parse.urlencode(q))
    conn = http.client.HTTPSConnection(host, port, context=c.kubelet_client_ctx, timeout=30)
    try:
        conn.request("POST", path, headers={"Content-Length": "0"})
        resp = conn.getresponse()
        body = resp.read()
    except (OSError, http.client.HTTPException) as e:
        raise unreachable("https://%s:%d%s" % (host, port, path), e)
    finally:
        conn.close()
    if resp.status != 200:
        raise kubelet_error(resp.status, body, resp.getheader("Content-Type", ""))
    return json.loads(body)
