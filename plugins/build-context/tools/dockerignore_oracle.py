#!/usr/bin/env python3
"""Check the .dockerignore table in tests/unit/test_dockerignore.c against the
real docker CLI (no daemon needed).

The legacy builder (DOCKER_BUILDKIT=0) filters the context on the client and
POSTs it to /build; a fake daemon on a unix socket captures that tar.  The
legacy builder does not archive excluded parent directories of re-included
files (BuildKit does), so only non-directory entries are compared.

    python3 plugins/build-context/tools/dockerignore_oracle.py [tests/unit/test_dockerignore.c]
"""
import ast, http.server, os, re, shutil, socketserver, subprocess, sys, tarfile, tempfile, threading

src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../../tests/unit/test_dockerignore.c")
text = open(src).read()
table = text[text.index("cases[] = {"):text.index("};", text.index("cases[] = {"))]
cases = []
for m in re.finditer(r'\{\s*("(?:[^"\\]|\\.)*")\s*,\s*((?:"(?:[^"\\]|\\.)*"\s*)+),\s*((?:"(?:[^"\\]|\\.)*"\s*)+),\s*((?:"(?:[^"\\]|\\.)*"\s*)+|NULL)\s*\}', table):
    def lit(x):
        if x.strip() == "NULL":
            return None
        return ast.literal_eval("b" + re.sub(r'"\s+"', "", x.strip()))
    cases.append((lit(m.group(1)).decode(), lit(m.group(2)), lit(m.group(3)), lit(m.group(4))))

work = tempfile.mkdtemp(prefix="di-oracle.")
sock = os.path.join(work, "d.sock")
captured = {}

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def _ping(self):
        self.send_response(200); self.send_header("Api-Version", "1.45")
        self.send_header("Content-Length", "2"); self.end_headers()
        if self.command != "HEAD": self.wfile.write(b"OK")
    do_HEAD = do_GET = _ping
    def do_POST(self):
        data = b""
        if self.headers.get("Transfer-Encoding") == "chunked":
            while True:
                n = int(self.rfile.readline().strip(), 16)
                if n == 0:
                    self.rfile.readline(); break
                data += self.rfile.read(n); self.rfile.readline()
        else:
            data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        captured["tar"] = data
        body = b'{"stream":"ok\\n"}\n'
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)

class S(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    def get_request(self):
        r, _ = super().get_request(); return r, ("local", 0)

srv = S(sock, H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
env = dict(os.environ, DOCKER_BUILDKIT="0", DOCKER_HOST="unix://" + sock)
bad = 0
for name, ignore, tree, expect in cases:
    root = os.path.join(work, name)
    os.makedirs(root)
    paths = tree.split(b"|")
    for p in paths:
        full = os.path.join(root.encode(), p)
        if p.endswith(b"/"):
            os.makedirs(full, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(full), exist_ok=True)
            open(full, "wb").write(b"x")
    had_df = b"Dockerfile" in paths
    if not had_df:
        open(os.path.join(root, "Dockerfile"), "w").write("FROM scratch\n")
    open(os.path.join(root, ".dockerignore"), "wb").write(ignore)
    captured.clear()
    r = subprocess.run(["docker", "build", "-q", root], env=env, capture_output=True, timeout=60)
    if expect is None:
        ok = "tar" not in captured
        got = "error" if ok else "success"
        want = "error"
    else:
        if "tar" not in captured:
            print(f"FAIL {name}: docker failed: {r.stderr.decode(errors='replace').strip()}")
            bad += 1
            continue
        tf = tarfile.open(fileobj=__import__("io").BytesIO(captured["tar"]))
        names = sorted(m.name.encode("utf-8", "surrogateescape") for m in tf.getmembers() if not m.isdir())
        if not had_df:
            names = [n for n in names if n != b"Dockerfile"]
        want_l = sorted(x for x in expect.split(b"|") if not x.endswith(b"/"))
        ok = names == want_l
        got, want = b"|".join(names), b"|".join(want_l)
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": want {want} got {got}"))
    bad += not ok
srv.shutdown()
shutil.rmtree(work)
print(f"{len(cases)} cases, {bad} differ from the docker CLI")
sys.exit(1 if bad else 0)
