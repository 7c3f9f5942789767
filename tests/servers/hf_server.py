#!/usr/bin/env python3
"""A loopback Hugging Face Hub for the fetch tests (Python 3 stdlib only).

Answers the endpoints `kubectl eidf fetch hf://…` uses, in the Hub's shapes
(examples in tests/fixtures/hf/, where README.md says where they come from):

  GET /api/{models|datasets|spaces}/ORG/NAME/revision/REV   {"id", "sha", "siblings", ...}
  GET /api/{…}/ORG/NAME/tree/REV[/PATH]?recursive=True&expand=False
        a JSON array of files ({"type":"file","oid","size","path"[,"lfs":{"oid","size","pointerSize"}]})
        and folders, --page-size entries per page, the next page in a
        `Link: <…&cursor=N>; rel="next"` header
  GET /[datasets/|spaces/]ORG/NAME/resolve/REV/PATH
        small files: 200 with the bytes; LFS files (over --lfs-threshold): 302 to
        /_cdn/SHA256 on http://cdn.localhost:PORT (another host, as the Hub's CDN),
        which serves the bytes with Range support

Repos live under --root as TYPE/ORG/NAME/commits/SHA/<files> with
TYPE/ORG/NAME/refs.json mapping branch and tag names to commit shas.  REV may
be a name (resolved through refs.json) or a commit sha.

  --token T        the valid bearer token
  --gated REPO     (TYPE/ORG/NAME) needs the token: none -> 401, another -> 403,
                   both with X-Error-Code: GatedRepo and a JSON {"error": …} body
  GET /_control?repo=TYPE/ORG/NAME&ref=main&sha=SHA   move a branch
  GET /_control?wrong_sha=PATH                         list a wrong LFS sha256 for PATH
  GET /_stats                                          JSON: per request path counts, bytes per file

Errors carry X-Error-Code (RepoNotFound, RevisionNotFound, EntryNotFound,
GatedRepo) like the Hub.  Listens on 127.0.0.1; the port goes to --port-file.
"""
import argparse
import hashlib
import json
import os
import threading
import urllib.parse

from handler import TestHandler
from serve import serve

ARGS = None
LOCK = threading.Lock()
STATS = {"requests": {}, "bytes": {}, "statuses": {}}
WRONG_SHA = set()
TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_blob_sha1(path):
    with open(path, "rb") as f:
        data = f.read()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class HubError(Exception):
    def __init__(self, status, code, message, extra=None):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra or {}


class Handler(TestHandler):
    log_name = "hf"

    def count(self, key, status):
        with LOCK:
            STATS["requests"][key] = STATS["requests"].get(key, 0) + 1
            STATS["statuses"].setdefault(key, []).append(status)

    def add_bytes(self, key, n):
        with LOCK:
            STATS["bytes"][key] = STATS["bytes"].get(key, 0) + n

    def hub_error(self, e):
        headers = {"X-Error-Code": e.code, "X-Error-Message": e.message}
        headers.update(e.extra)
        self.send_json(e.status, {"error": e.message}, headers)

    # ---- repos -----------------------------------------------------------
    def repo_dir(self, rtype, org, name):
        d = os.path.join(ARGS.root, rtype, org, name)
        if not os.path.isdir(d):
            raise HubError(404 if self.authorized() else 401, "RepoNotFound",
                           "Repository Not Found for url: %s." % self.path)
        key = "%s/%s/%s" % (rtype, org, name)
        if key in (ARGS.gated or []):
            auth = self.headers.get("Authorization")
            if auth is None:
                raise HubError(401, "GatedRepo",
                               "Access to %s %s/%s is restricted. You must have access to it and be "
                               "authenticated to access it. Please log in." % (TYPES[rtype], org, name))
            if auth != "Bearer %s" % ARGS.token:
                raise HubError(403, "GatedRepo",
                               "Access to %s %s/%s is restricted and you are not in the authorized list. "
                               "Visit https://huggingface.co/%s/%s to ask for access."
                               % (TYPES[rtype], org, name, org, name))
        return d

    def authorized(self):
        return self.headers.get("Authorization") == "Bearer %s" % ARGS.token

    def resolve_rev(self, d, rev):
        with open(os.path.join(d, "refs.json")) as f:
            refs = json.load(f)
        sha = refs.get(rev, rev)
        if not os.path.isdir(os.path.join(d, "commits", sha)):
            raise HubError(404, "RevisionNotFound", "Invalid rev id: %s" % rev)
        return sha

    def files_of(self, top):
        out = []
        for base, dirs, files in os.walk(top):
            dirs.sort()
            rel = os.path.relpath(base, top)
            if rel != ".":
                out.append(("directory", rel))
            for f in sorted(files):
                out.append(("file", os.path.normpath(os.path.join(rel, f))))
        return out

    def entry(self, top, kind, path):
        full = os.path.join(top, path)
        if kind == "directory":
            return {"type": "directory", "oid": hashlib.sha1(path.encode()).hexdigest(), "size": 0, "path": path}
        size = os.path.getsize(full)
        e = {"type": "file", "oid": git_blob_sha1(full), "size": size, "path": path}
        if size > ARGS.lfs_threshold:
            sha = sha256_of(full)
            if path in WRONG_SHA:
                sha = hashlib.sha256(b"not this file").hexdigest()
            e["lfs"] = {"oid": sha, "size": size, "pointerSize": 134}
        return e

    # ---- requests ----------------------------------------------------------
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        parts = [urllib.parse.unquote(p) for p in url.path.split("/")[1:]]
        q = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        try:
            if parts[0] == "_stats":
                with LOCK:
                    return self.send_json(200, STATS)
            if parts[0] == "_control":
                return self.control(q)
            if parts[0] == "_cdn":
                return self.cdn(parts[1])
            if parts[0] == "api" and len(parts) >= 6 and parts[1] in TYPES:
                return self.api(parts[1], parts[2], parts[3], parts[4], parts[5:], q)
            rtype = "models"
            if parts and parts[0] in ("datasets", "spaces"):
                rtype = parts.pop(0)
            if len(parts) >= 5 and parts[2] == "resolve":
                return self.resolve(rtype, parts[0], parts[1], parts[3], "/".join(parts[4:]))
            raise HubError(404, "EntryNotFound", "no such endpoint")
        except HubError as e:
            self.count(url.path, e.status)
            self.hub_error(e)

    def control(self, q):
        if "wrong_sha" in q:
            WRONG_SHA.add(q["wrong_sha"])
        if "repo" in q:
            d = os.path.join(ARGS.root, q["repo"])
            with open(os.path.join(d, "refs.json")) as f:
                refs = json.load(f)
            refs[q["ref"]] = q["sha"]
            with open(os.path.join(d, "refs.json"), "w") as f:
                json.dump(refs, f)
        self.send_json(200, {"ok": True})

    def api(self, rtype, org, name, what, rest, q):
        d = self.repo_dir(rtype, org, name)
        if what == "revision":
            rev = "/".join(rest)
            sha = self.resolve_rev(d, rev)
            top = os.path.join(d, "commits", sha)
            siblings = [{"rfilename": p} for k, p in self.files_of(top) if k == "file"]
            self.count(self.path.split("?")[0], 200)
            return self.send_json(200, {"_id": hashlib.md5(name.encode()).hexdigest()[:24],
                                        "id": "%s/%s" % (org, name), "author": org, "sha": sha,
                                        "private": False, "gated": "auto" if ("%s/%s/%s" % (rtype, org, name)) in (ARGS.gated or []) else False,
                                        "disabled": False, "tags": [], "siblings": siblings,
                                        "lastModified": "2024-02-19T10:57:45.000Z"})
        if what != "tree" or not rest:
            raise HubError(404, "EntryNotFound", "no such endpoint")
        rev, path = rest[0], "/".join(rest[1:])
        sha = self.resolve_rev(d, rev)
        top = os.path.join(d, "commits", sha)
        base = os.path.join(top, path) if path else top
        if not os.path.isdir(base):
            raise HubError(404, "EntryNotFound", "%s does not exist on \"%s\"" % (path, rev))
        recursive = q.get("recursive", "False").lower() == "true"
        entries = []
        for kind, p in self.files_of(base):
            if not recursive and "/" in p:
                continue
            full = os.path.normpath(os.path.join(path, p)) if path else p
            entries.append(self.entry(top, kind, full))
        start = int(q.get("cursor", "0") or 0)
        page = entries[start:start + ARGS.page_size]
        headers = {}
        if start + ARGS.page_size < len(entries):
            nq = dict(q)
            nq["cursor"] = str(start + ARGS.page_size)
            nxt = "http://%s%s?%s" % (self.headers.get("Host"), urllib.parse.urlsplit(self.path).path,
                                      urllib.parse.urlencode(nq))
            headers["Link"] = '<%s>; rel="next"' % nxt
        self.count(urllib.parse.urlsplit(self.path).path, 200)
        self.send_json(200, page, headers)

    def resolve(self, rtype, org, name, rev, path):
        d = self.repo_dir(rtype, org, name)
        sha = self.resolve_rev(d, rev)
        full = os.path.join(d, "commits", sha, path)
        key = "resolve:%s/%s/%s" % (org, name, path)
        if not os.path.isfile(full):
            raise HubError(404, "EntryNotFound", "%s does not exist on \"%s\"" % (path, rev))
        size = os.path.getsize(full)
        if size > ARGS.lfs_threshold:
            digest = sha256_of(full)
            cdn = os.path.join(ARGS.root, "_cdn")
            os.makedirs(cdn, exist_ok=True)
            blob = os.path.join(cdn, digest)
            if not os.path.exists(blob):
                with open(full, "rb") as src, open(blob + ".tmp", "wb") as dst:
                    dst.write(src.read())
                os.replace(blob + ".tmp", blob)
            self.count(key, 302)
            self.send_response(302)
            port = self.server.server_address[1]
            self.send_header("Location", "http://cdn.localhost:%d/_cdn/%s?X-Amz-Expires=3600" % (port, digest))
            self.send_header("X-Repo-Commit", sha)
            self.send_header("X-Linked-Size", str(size))
            self.send_header("X-Linked-Etag", '"%s"' % digest)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.count(key, 200)
        self.send_counted_file(full, "file:%s/%s/%s" % (org, name, path), {"X-Repo-Commit": sha})

    def cdn(self, digest):
        blob = os.path.join(ARGS.root, "_cdn", os.path.basename(digest))
        if self.headers.get("Authorization"):
            # the Hub's token must never reach the CDN host
            STATS.setdefault("cdn_authorization", 0)
            STATS["cdn_authorization"] += 1
        if not os.path.isfile(blob):
            raise HubError(404, "EntryNotFound", "no such blob")
        self.count("cdn:" + digest, 200)
        self.send_counted_file(blob, "cdn:" + digest, {})

    def send_counted_file(self, full, key, extra):
        self.send_file(full, os.path.getsize(full), extra, on_bytes=lambda n: self.add_bytes(key, n))


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--token", default="hf_eidftesttoken")
    ap.add_argument("--gated", action="append")
    ap.add_argument("--page-size", type=int, default=1000)
    ap.add_argument("--lfs-threshold", type=int, default=1000)
    ap.add_argument("--verbose", action="store_true")
    ARGS = ap.parse_args()
    Handler.verbose = ARGS.verbose
    serve(Handler, ARGS.port, ARGS.port_file)


if __name__ == "__main__":
    main()
