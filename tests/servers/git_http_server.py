#!/usr/bin/env python3
"""A private git server over smart HTTP on loopback: git's own http-backend
(CGI) behind HTTP Basic authentication, as a hosted private repository.

    git_http_server.py ROOT USER TOKEN PORT_FILE [LOG]

Every repository under ROOT is served at /NAME.git; a request without the
right user and token gets 401 with a WWW-Authenticate challenge (git then
asks its GIT_ASKPASS).  LOG gets one line per request: "METHOD PATH STATUS
auth|noauth" (never the credentials).  Python standard library only."""
import base64
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve import serve  # noqa: E402

ROOT, USER, TOKEN, PORT_FILE = sys.argv[1:5]
LOG = sys.argv[5] if len(sys.argv) > 5 else None
log_lock = threading.Lock()
GIT = subprocess.run(["git", "--exec-path"], capture_output=True, text=True, check=True).stdout.strip()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def note(self, status, authed):
        if LOG:
            with log_lock, open(LOG, "a") as f:
                f.write("%s %s %d %s\n" % (self.command, self.path.split("?")[0], status,
                                           "auth" if authed else "noauth"))

    def authed(self):
        h = self.headers.get("Authorization", "")
        if not h.startswith("Basic "):
            return False
        try:
            user, _, tok = base64.b64decode(h[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == USER and tok == TOKEN

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if not self.authed():
            msg = b"authentication required\n"
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="private git"')
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
            self.note(401, False)
            return
        path, _, query = self.path.partition("?")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_PROJECT_ROOT": ROOT,
               "GIT_HTTP_EXPORT_ALL": "1", "REQUEST_METHOD": self.command, "PATH_INFO": path,
               "QUERY_STRING": query, "CONTENT_TYPE": self.headers.get("Content-Type", ""),
               "CONTENT_LENGTH": str(len(body)), "REMOTE_USER": USER, "REMOTE_ADDR": "127.0.0.1",
               "GIT_CONFIG_NOSYSTEM": "1", "HOME": ROOT}
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        p = subprocess.run([os.path.join(GIT, "git-http-backend")], input=body, env=env, capture_output=True)
        head, _, out = p.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, out = p.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            k, _, v = line.partition(":")
            if k.lower() == "status":
                status = int(v.split()[0])
            elif k:
                headers.append((k, v.strip()))
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
        self.note(status, True)

    do_GET = do_POST = handle_any


serve(Handler, port_file=PORT_FILE)
