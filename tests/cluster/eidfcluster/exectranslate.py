"""The API server's WebSocket-to-SPDY exec translation, as kube-apiserver >= 1.30 does it.

From 1.30 (TranslateStreamCloseWebsocketRequests), kube-apiserver answers kubectl's WebSocket exec
upgrade itself and talks SPDY/3.1 to the kubelet: the kubelet only ever sees SPDY.  With
`--exec-translate` the local API server does the same, so every exec of the suite (kubectl,
devrun's exec transport and sessions, pvc cp) goes through the node agent's SPDY side.

One thread, two TLS sockets: the client's WebSocket (v4/v5 channel protocol: stream id byte, v5's
[255, 0] closing stdin) and an SPDY client session with the kubelet port (one stream per channel:
error, stdin, stdout, stderr, resize, opened before any data flows, each waited for its SYN_REPLY
as client-go does).  Stdin and resize go to the kubelet's streams, stdout, stderr and the error
stream's Status come back as WebSocket messages; the session ends with a close frame once the
kubelet has ended the error, stdout and stderr streams (or the session), or when either side goes.
"""
import select
import socket
import struct
import time

from . import execcorrupt
from . import execspdy as S
from . import execws as W
from .execsession import ERROR, RESIZE, STDERR, STDIN, STDOUT
from .util import readable, recv_some, send_some

HIGH_WATER = 1 << 20           # stop reading a side while this much waits for the other
TYPES = {ERROR: "error", STDIN: "stdin", STDOUT: "stdout", STDERR: "stderr", RESIZE: "resize"}


def upgrade_headers():
    """The SPDY upgrade the API server sends the kubelet (client-go's SPDY executor offers these)."""
    return ["Connection: Upgrade", "Upgrade: SPDY/3.1"] + [
        "X-Stream-Protocol-Version: " + p for p in S.PROTOCOLS]


class Bridge:
    def __init__(self, client, kubelet, ws_proto, channels, limit=None, corrupt=None):
        self.client, self.kubelet = client, kubelet
        self.v5 = ws_proto.startswith("v5")
        self.ws = W.FrameParser()
        self.spdy = S.FrameReader()
        self.codec = S.HeaderCodec()
        self.to_client = bytearray()
        self.to_kubelet = bytearray()
        self.held = bytearray()         # stdin/resize held until every stream is replied to
        self.ids = {}                   # channel -> stream id
        self.channel = {}               # stream id -> channel
        self.replied = set()
        self.open = set()               # kubelet-side streams not yet ended (error, stdout, stderr)
        self.status = bytearray()
        self.done = False               # the kubelet side is over
        self.client_gone = False
        self.limit, self.passed = limit, 0
        self.rw = execcorrupt.Rewriter(corrupt) if corrupt else None
        sid = 1
        for ch in [ERROR] + [c for c in (STDIN, STDOUT, STDERR, RESIZE) if c in channels]:
            self.ids[ch], self.channel[sid] = sid, ch
            hdr = self.codec.encode({"streamtype": TYPES[ch]})
            self.to_kubelet += S.control(S.SYN_STREAM, 0, struct.pack("!IIBB", sid, 0, 0, 0) + hdr)
            if ch in (ERROR, STDOUT, STDERR):
                self.open.add(ch)
            sid += 2

    def ready(self):
        return self.replied >= set(self.channel)

    # -- the client's WebSocket messages ---------------------------------------
    def from_client(self, data):
        for op, payload in self.ws.feed(data):
            if op == 8:
                self.client_gone = True
                self.to_client += W.frame(8, payload[:2])    # answer the close, as RFC 6455 asks
            elif op == 9:
                self.to_client += W.frame(10, payload)
            elif op == 2 and payload:
                ch, body = payload[0], payload[1:]
                # (spdystream drops data on a stream it has not replied to yet)
                out = self.to_kubelet if self.ready() else self.held
                if ch == W.CLOSE and self.v5:
                    if body[:1] == bytes([STDIN]) and STDIN in self.ids:
                        out += S.data_frame(self.ids[STDIN], S.FLAG_FIN, b"")
                elif ch in (STDIN, RESIZE) and ch in self.ids:
                    if ch == STDIN and self.rw and self.rw.channel == STDIN:
                        body = self.rw.feed(body)   # a `corrupt` fault (execcorrupt.py)
                    if body:
                        out += S.data_frame(self.ids[ch], 0, body)

    # -- the kubelet's SPDY frames -----------------------------------------------
    def from_kubelet(self, data):
        for kind, a, flags, payload in self.spdy.feed(data):
            if kind == "data":
                ch = self.channel.get(a)
                if ch == STDOUT and payload and self.rw and self.rw.channel == STDOUT:
                    payload = self.rw.feed(payload)  # a `corrupt` fault (execcorrupt.py)
                if ch in (STDOUT, STDERR) and payload:
                    self.to_client += W.frame(2, bytes([ch]) + payload)
                elif ch == ERROR:
                    self.status += payload
                if flags & S.FLAG_FIN:
                    self.ended(ch)
            elif a == S.SYN_REPLY:
                self.replied.add(struct.unpack_from("!I", payload)[0] & 0x7FFFFFFF)
                self.codec.decode(payload[4:])
                if self.ready() and self.held:
                    self.to_kubelet += self.held
                    self.held.clear()
            elif a == S.HEADERS:
                self.codec.decode(payload[4:])
            elif a == S.RST_STREAM:
                self.ended(self.channel.get(struct.unpack_from("!I", payload)[0] & 0x7FFFFFFF))
            elif a == S.PING:
                self.to_kubelet += S.control(S.PING, 0, payload) if struct.unpack("!I", payload)[0] % 2 == 0 else b""
            elif a == S.GOAWAY:
                self.done = True

    def ended(self, ch):
        self.open.discard(ch)
        if not self.open:
            self.done = True

    # -- loop ------------------------------------------------------------------
    def run(self):
        for s in (self.client, self.kubelet):
            s.setblocking(False)
        while not self.client_gone and not self.done:
            if self.limit is not None and self.passed >= self.limit:
                break                   # a `cut` fault: both connections go, no close frame
            p = select.poll()
            for s, out, inbound in ((self.client, self.to_client, self.to_kubelet),
                                    (self.kubelet, self.to_kubelet, self.to_client)):
                ev = select.POLLOUT if out else 0
                if len(inbound) < HIGH_WATER:
                    ev |= select.POLLIN
                p.register(s, ev)
            for s in readable(p, (self.client, self.kubelet)):
                if not self.read(s):
                    if s is self.client:
                        self.client_gone = True
                    else:
                        self.done = True
            self.flush(self.kubelet, self.to_kubelet)
            self.flush(self.client, self.to_client)
        if self.limit is not None and self.passed >= self.limit:
            return self.shut()
        if self.done and not self.client_gone:
            if self.status:
                self.to_client += W.frame(2, bytes([ERROR]) + bytes(self.status))
            self.to_client += W.frame(8, struct.pack("!H", 1000))
        self.to_kubelet = bytearray(S.control(S.GOAWAY, 0, struct.pack("!II", 0, 0)))
        deadline = time.time() + 5
        while (self.to_client or self.to_kubelet) and time.time() < deadline:
            self.flush(self.client, self.to_client)
            self.flush(self.kubelet, self.to_kubelet)
            if self.to_client or self.to_kubelet:
                select.select([], [s for s in (self.client, self.kubelet)], [], 0.1)
        # wait briefly for the client's answer to our close: closing with its bytes unread
        # would reset the connection, and a reset can cost the client what it has not read yet
        deadline = time.time() + 1
        while not self.client_gone and time.time() < deadline:
            select.select([self.client], [], [], 0.05)
            if not self.read(self.client):
                break

    def read(self, s):
        """Read what is there; False once the peer closed."""
        while True:
            data = recv_some(s)
            if data is None:
                return False
            if not data:
                return True
            if self.limit is not None:
                data = data[:max(self.limit - self.passed, 0)]
                self.passed += len(data)
            try:
                (self.from_client if s is self.client else self.from_kubelet)(data)
            except (W.WSError, S.ProtocolError, struct.error):
                return False
            if self.limit is not None and self.passed >= self.limit:
                return True

    def flush(self, s, buf):
        if not send_some(s, buf):
            buf.clear()

    def shut(self):
        for s in (self.client, self.kubelet):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
