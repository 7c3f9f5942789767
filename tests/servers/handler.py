"""The request-handling head the loopback data, S3 and Hub test servers
share: HTTP/1.1 keep-alive, log lines only with --verbose, HEAD answered as
GET without the body, whole bodies (JSON, XML) with their length, and files
with one byte range as S3, the Hub's CDN and common HTTP servers answer them.
Python standard library only."""
import json
import sys
from http.server import BaseHTTPRequestHandler


def byte_range(header, size):
    """What one Range header asks of a file of size bytes: None for the
    whole file (no header, another unit, several ranges or a malformed one:
    ignored, as RFC 9110 lets a server do), (start, end) inclusive for a
    206, or False when it starts at or past the end (416)."""
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    a, _, b = spec.strip().partition("-")
    try:
        if a == "":
            start, end = max(0, size - int(b)), size - 1
        else:
            start = int(a)
            end = min(int(b), size - 1) if b else size - 1
    except ValueError:
        return None
    if start >= size:
        return False
    if end < start:
        return None
    return start, end


class TestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    log_name = "server"   # the prefix of --verbose log lines
    verbose = False       # set from --verbose

    def log_message(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("%s: %s\n" % (self.log_name, fmt % args))

    def do_HEAD(self):
        self.do_GET()

    def send_body(self, status, content_type, data, headers=None):
        """A whole body with its length (sent for GET only)."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_json(self, status, obj, headers=None):
        self.send_body(status, "application/json; charset=utf-8", json.dumps(obj).encode(), headers)

    def send_unsatisfiable(self, size):
        """416 to a range that starts at or past the end of size bytes."""
        self.send_response(416)
        self.send_header("Content-Range", "bytes */%d" % size)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def send_file(self, full, size, headers=None, on_status=None, on_bytes=None):
        """The file at full (size bytes): 200, or 206 for one byte range, or
        416 for a range past its end.  on_status(status) is called once the
        status is known, on_bytes(n) after each piece of the body written."""
        rng = byte_range(self.headers.get("Range"), size)
        if rng is False:
            if on_status:
                on_status(416)
            return self.send_unsatisfiable(size)
        start, end = rng or (0, size - 1)
        status = 206 if rng else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if rng:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if on_status:
            on_status(status)
        if self.command == "HEAD":
            return
        with open(full, "rb") as f:
            f.seek(start)
            left = end - start + 1
            while left > 0:
                chunk = f.read(min(left, 1 << 16))
                if not chunk:
                    break
                self.wfile.write(chunk)
                left -= len(chunk)
                if on_bytes:
                    on_bytes(len(chunk))
