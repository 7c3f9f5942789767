"""pods/exec over SPDY/3.1: the kubelet's side of k8s.io/apimachinery's httpstream/spdy.

A real kube-apiserver talks SPDY to the kubelet: it passes kubectl's SPDY upgrade through
(`KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false`, or any kubectl before 1.29), and from 1.30 it
translates kubectl's WebSocket exec into SPDY towards the kubelet.  The upgrade is
`POST /exec/NS/POD/C?command=...&input=1&output=1&error=1&tty=1` with `Connection: Upgrade`,
`Upgrade: SPDY/3.1` and one `X-Stream-Protocol-Version` per protocol the client speaks; the answer
is `101` naming the chosen protocol.  Then the client opens one SPDY stream per channel (a
SYN_STREAM whose `streamtype` header is error, stdin, stdout, stderr or resize), each answered with
a SYN_REPLY before the process's streams flow (the kubelet waits up to 30 s for all it expects).
Stdin arrives as DATA frames and ends with FIN (or RST_STREAM); resize carries TerminalSize JSON
objects one after another; stdout/stderr go back as DATA frames on the client's stream ids; at the
end the error stream carries the v1 Status (v4 and v5 are the same over SPDY: the exit code is the
`ExitCode` cause), every stream gets FIN and the session a GOAWAY.

Framing (SPDY/3 draft, section 2): control frames `1 | version 3 (15 bits) | type (16) | flags (8)
| length (24) | payload`, data frames `0 | stream id (31) | flags (8) | length (24) | data`.  Header
blocks are `count (32) {name-length (32) name value-length (32) value}`, zlib-compressed with the
SPDY/3 dictionary through one compression context per direction for the whole connection (each
block ends with a sync flush).  Flow control windows are not enforced, as spdystream (the client
kubectl and kube-apiserver use) neither sends WINDOW_UPDATE nor honours it.
"""
import json
import struct
import time
import zlib

from .execsession import ERROR, RESIZE, STDERR, STDIN, STDOUT, Session

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
PROTOCOL_ERROR = 1           # RST_STREAM / GOAWAY status
CHANNELS = {"stdin": STDIN, "stdout": STDOUT, "stderr": STDERR, "error": ERROR, "resize": RESIZE}
MAX_HEADER_BLOCK = 1 << 20   # a decompressed header block larger than this is refused
STREAM_CREATION_TIMEOUT = 30.0   # the kubelet's streamCreationTimeout

# The SPDY/3 header compression dictionary (draft 3, 2.6.10.1): the common header names and
# values, each behind a 32-bit length as in a header block, then a run of status codes, reason
# phrases, dates and media types (1423 bytes).  A zlib stream names its dictionary by Adler-32, so
# a wrong byte here makes the client's first header block fail to inflate.
_DICT_WORDS = (
    "options head post put delete trace accept accept-charset accept-encoding accept-language accept-ranges "
    "age allow authorization cache-control connection content-base content-encoding content-language "
    "content-length content-location content-md5 content-range content-type date etag expect expires from "
    "host if-match if-modified-since if-none-match if-range if-unmodified-since last-modified location "
    "max-forwards pragma proxy-authenticate proxy-authorization range referer retry-after server te trailer "
    "transfer-encoding upgrade user-agent vary via warning www-authenticate method get status").split() + [
    "200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin"]
_DICT_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.")
DICTIONARY = b"".join(struct.pack("!I", len(w)) + w.encode() for w in _DICT_WORDS) + _DICT_TAIL.encode()


class ProtocolError(Exception):
    pass


def is_upgrade(h):
    return "spdy/3.1" in (h.headers.get("Upgrade") or "").lower()


def negotiate(h):
    """The protocol to answer an SPDY upgrade with; raises ValueError(code, message) as the kubelet's
    httpstream.Handshake and the SPDY response upgrader refuse."""
    offered = []
    for v in h.headers.get_all("X-Stream-Protocol-Version") or []:
        offered += [p.strip() for p in v.split(",") if p.strip()]
    if not offered:
        raise ValueError(400, "unable to upgrade: X-Stream-Protocol-Version is required")
    proto = next((p for p in offered if p in PROTOCOLS), None)
    if proto is None:
        raise ValueError(403, "unable to upgrade: unable to negotiate protocol: client supports [%s], server "
                         "accepts [%s] (this test cluster speaks only the v4/v5 channel protocols)"
                         % (" ".join(offered), " ".join(PROTOCOLS)))
    if "upgrade" not in (h.headers.get("Connection") or "").lower():
        raise ValueError(400, "unable to upgrade: missing upgrade headers in request")
    return proto


def control(ftype, flags, payload):
    return struct.pack("!HHI", 0x8000 | VERSION, ftype, (flags << 24) | len(payload)) + payload


def data_frame(sid, flags, payload):
    return struct.pack("!II", sid & 0x7FFFFFFF, (flags << 24) | len(payload)) + payload


class FrameReader:
    """Splits the client's bytes into frames: ("control", type, flags, payload) or
    ("data", stream id, flags, payload)."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data):
        self.buf += data
        out = []
        while len(self.buf) >= 8:
            w1, w2 = struct.unpack_from("!II", self.buf)
            n = w2 & 0xFFFFFF
            if len(self.buf) < 8 + n:
                break
            payload = bytes(self.buf[8:8 + n])
            del self.buf[:8 + n]
            flags = w2 >> 24
            if w1 & 0x80000000:
                version, ftype = (w1 >> 16) & 0x7FFF, w1 & 0xFFFF
                if version != VERSION:
                    raise ProtocolError("SPDY version %d, not 3" % version)
                out.append(("control", ftype, flags, payload))
            else:
                out.append(("data", w1 & 0x7FFFFFFF, flags, payload))
        return out


class HeaderCodec:
    """The connection's two zlib contexts for header blocks (one per direction)."""

    def __init__(self):
        self.inflate = zlib.decompressobj(zdict=DICTIONARY)
        self.deflate = zlib.compressobj(9, zlib.DEFLATED, 15, zdict=DICTIONARY)

    def decode(self, block):
        try:
            raw = self.inflate.decompress(block, MAX_HEADER_BLOCK)
        except zlib.error as e:
            raise ProtocolError("header block: %s" % e)
        if self.inflate.unconsumed_tail:
            raise ProtocolError("header block larger than %d bytes" % MAX_HEADER_BLOCK)
        headers = {}
        try:
            (count,), pos = struct.unpack_from("!I", raw), 4
            for _ in range(count):
                (n,) = struct.unpack_from("!I", raw, pos)
                name = raw[pos + 4:pos + 4 + n].decode("latin-1")
                pos += 4 + n
                (n,) = struct.unpack_from("!I", raw, pos)
                value = raw[pos + 4:pos + 4 + n].decode("latin-1")
                pos += 4 + n
                if pos > len(raw):
                    raise struct.error("truncated")
                headers[name] = value.split("\0")
        except struct.error:
            raise ProtocolError("malformed header block")
        return headers

    def encode(self, headers):
        raw = struct.pack("!I", len(headers))
        for name, value in headers.items():
            raw += struct.pack("!I", len(name)) + name.encode() + struct.pack("!I", len(value)) + value.encode()
        return self.deflate.compress(raw) + self.deflate.flush(zlib.Z_SYNC_FLUSH)


class SpdySession(Session):
    """An exec session over SPDY/3.1 with the v4/v5 channel protocol.

    expected: the stream types the client must open (error always; stdin, stdout, stderr as asked;
    resize with a TTY), as the kubelet counts them."""

    def __init__(self, sock, proc, stdin_fd, out_fds, tty_fd, finish, expected):
        super().__init__(sock, proc, stdin_fd, out_fds, tty_fd, finish)
        self.expected = set(expected)
        self.deadline = time.time() + STREAM_CREATION_TIMEOUT
        self.reader = FrameReader()
        self.codec = HeaderCodec()
        self.streams = {}         # client stream id -> channel
        self.ids = {}             # channel -> client stream id
        self.last_id = 0          # the highest stream id the client opened
        self.resize_buf = ""
        self.ended = False

    def ready(self):
        return self.expected <= set(self.ids)

    def expired(self):
        return not self.ready() and time.time() > self.deadline

    # -- to the client -----------------------------------------------------------
    def send(self, channel, data):
        sid = self.ids.get(channel)
        if sid is not None and not self.ended:
            self.tx += data_frame(sid, 0, data)

    def end(self, status):
        self.send(ERROR, json.dumps(status, separators=(",", ":")).encode())
        for sid in sorted(self.streams):
            self.tx += data_frame(sid, FLAG_FIN, b"")
        self.ended = True
        self.goodbye()

    def goodbye(self):
        self.tx += control(GOAWAY, 0, struct.pack("!II", self.last_id, 0))

    # -- from the client -----------------------------------------------------------
    def on_bytes(self, data):
        try:
            for kind, a, flags, payload in self.reader.feed(data):
                if kind == "data":
                    self.on_data(a, flags, payload)
                else:
                    self.on_control(a, flags, payload)
        except ProtocolError:
            self.client_closed = True

    def on_control(self, ftype, flags, payload):
        if ftype == SYN_STREAM:
            if len(payload) < 10:
                raise ProtocolError("short SYN_STREAM")
            sid = struct.unpack_from("!I", payload)[0] & 0x7FFFFFFF
            headers = self.codec.decode(payload[10:])
            if sid % 2 == 0 or sid <= self.last_id:
                # not a new client stream: refuse it alone
                self.tx += control(RST_STREAM, 0, struct.pack("!II", sid, PROTOCOL_ERROR))
                return
            self.last_id = sid
            ch = CHANNELS.get((headers.get("streamtype") or [""])[0])
            self.tx += control(SYN_REPLY, 0, struct.pack("!I", sid) + self.codec.encode({}))
            if ch is None or ch in self.ids:
                return           # replied, like the kubelet, but not one it uses
            self.streams[sid] = ch
            self.ids[ch] = sid
            if flags & FLAG_FIN:
                self.stream_closed(ch)
        elif ftype == HEADERS:
            self.codec.decode(payload[4:])     # keeps the zlib context in step; nothing to do
        elif ftype == RST_STREAM:
            if len(payload) >= 4:
                self.stream_closed(self.streams.get(struct.unpack_from("!I", payload)[0] & 0x7FFFFFFF))
        elif ftype == PING:
            if len(payload) == 4 and struct.unpack("!I", payload)[0] % 2 == 1 and not self.ended:
                self.tx += control(PING, 0, payload)     # the client's ping: echo it
        elif ftype == GOAWAY:
            self.client_closed = True
        # SETTINGS, WINDOW_UPDATE and unknown control frames: nothing to do

    def on_data(self, sid, flags, payload):
        ch = self.streams.get(sid)
        if ch == STDIN:
            self.stdin_data(payload)
        elif ch == RESIZE:
            self.resize_buf += payload.decode("utf-8", "replace")
            dec = json.JSONDecoder()
            while True:
                s = self.resize_buf.lstrip()
                if not s:
                    self.resize_buf = ""
                    break
                try:
                    size, end = dec.raw_decode(s)
                except ValueError:
                    # incomplete: wait for the rest (a TerminalSize is a few dozen bytes)
                    self.resize_buf = s if len(s) < 4096 else ""
                    break
                self.resize_buf = s[end:]
                if isinstance(size, dict):
                    self.resize(size)
        if flags & FLAG_FIN:
            self.stream_closed(ch)

    def stream_closed(self, ch):
        if ch == STDIN:
            self.stdin_closed()
