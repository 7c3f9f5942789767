"""pods/exec over WebSockets: the RFC 6455 server side and the Kubernetes channel protocol.

kubectl (client-go tools/remotecommand/websocket.go) upgrades `GET .../pods/NAME/exec?command=...` with
`Sec-WebSocket-Protocol: v5.channel.k8s.io, v4.channel.k8s.io, ...`. Every binary message starts with
a stream id: 0 stdin, 1 stdout, 2 stderr, 3 error (one v1 Status JSON), 4 resize (TTY size JSON);
v5 adds 255 "close": [255, ID] half-closes stream ID (the client closes stdin this way).

The process side and the loop are execsession.Session's; this is the WebSocket framing only.
"""
import base64
import hashlib
import json
import struct

from .execsession import ERROR, RESIZE, STDIN, Session

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
# a kubelet (or translating API server) from before the WebSocket v5 support (Kubernetes < 1.29):
# v5 is never chosen, even when offered first, so stdin cannot be half-closed
PROTOCOLS_V4 = ("v4.channel.k8s.io",)
CLOSE = 255


class WSError(Exception):
    pass


def accept_key(key):
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def negotiate(h, protocols=PROTOCOLS):
    """Checks the upgrade headers; returns (accept, protocol) or None when this is no WebSocket upgrade.
    protocols: what this server speaks.
    Raises ValueError for a broken or unsupported WebSocket request."""
    if "websocket" not in (h.headers.get("Upgrade") or "").lower():
        return None
    if "upgrade" not in (h.headers.get("Connection") or "").lower():
        raise ValueError("websocket: the client is not using the websocket protocol: 'upgrade' token not "
                         "found in 'Connection' header")
    if (h.headers.get("Sec-WebSocket-Version") or "") != "13":
        raise ValueError("websocket: unsupported version: 13 not found in 'Sec-Websocket-Version' header")
    key = (h.headers.get("Sec-WebSocket-Key") or "").strip()
    if not key:
        raise ValueError("websocket: not a websocket handshake: 'Sec-WebSocket-Key' header is missing or blank")
    offered = []
    for v in h.headers.get_all("Sec-WebSocket-Protocol") or []:
        offered += [p.strip() for p in v.split(",") if p.strip()]
    proto = next((p for p in offered if p in protocols), None)   # the first offered (wsstream)
    if proto is None:
        raise ValueError("this test cluster speaks only the %s exec subprotocols (offered: %s)"
                         % (" and ".join(protocols), ", ".join(offered) or "none"))
    return accept_key(key), proto


def frame(opcode, payload):
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


class FrameParser:
    """Client frames: masked, possibly fragmented, control frames interleaved."""

    def __init__(self):
        self.buf = bytearray()
        self.frag_op = None
        self.frag = bytearray()

    def feed(self, data):
        self.buf += data
        out = []
        while True:
            b = self.buf
            if len(b) < 2:
                break
            fin, op = b[0] & 0x80, b[0] & 0x0F
            masked, n = b[1] & 0x80, b[1] & 0x7F
            pos = 2
            if n == 126:
                if len(b) < 4:
                    break
                n = struct.unpack_from("!H", b, 2)[0]
                pos = 4
            elif n == 127:
                if len(b) < 10:
                    break
                n = struct.unpack_from("!Q", b, 2)[0]
                pos = 10
            if b[0] & 0x70:
                raise WSError("reserved bits set")
            if not masked:
                raise WSError("client frame not masked")
            if len(b) < pos + 4 + n:
                break
            mask = bytes(b[pos:pos + 4])
            payload = bytes(b[pos + 4:pos + 4 + n])
            del self.buf[:pos + 4 + n]
            if n:
                # unmask 4 bytes at a time via int xor (fast enough for MiBs)
                m = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
                payload = (int.from_bytes(payload, "big") ^ m).to_bytes(n, "big")
            if op >= 8:
                if not fin or n > 125:
                    raise WSError("bad control frame")
                out.append((op, payload))
            elif op == 0:
                if self.frag_op is None:
                    raise WSError("continuation without a start frame")
                self.frag += payload
                if fin:
                    out.append((self.frag_op, bytes(self.frag)))
                    self.frag_op, self.frag = None, bytearray()
            else:
                if self.frag_op is not None:
                    raise WSError("new message inside a fragmented one")
                if fin:
                    out.append((op, payload))
                else:
                    self.frag_op, self.frag = op, bytearray(payload)
        return out


class WSSession(Session):
    """An exec session over RFC 6455 with the v4/v5 channel protocol."""

    def __init__(self, sock, proto, proc, stdin_fd, out_fds, tty_fd, finish):
        super().__init__(sock, proc, stdin_fd, out_fds, tty_fd, finish)
        self.v5 = proto.startswith("v5")
        self.parser = FrameParser()
        self.close_sent = False

    def send(self, channel, data):
        self.tx += frame(2, bytes([channel]) + data)

    def end(self, status):
        self.send(ERROR, json.dumps(status, separators=(",", ":")).encode())
        self.tx += frame(8, struct.pack("!H", 1000))
        self.close_sent = True

    def goodbye(self):
        self.tx += frame(8, struct.pack("!H", 1000))
        self.close_sent = True

    def on_bytes(self, data):
        try:
            for op, payload in self.parser.feed(data):
                self.on_message(op, payload)
        except WSError:
            self.client_closed = True

    def on_message(self, op, payload):
        if op == 8:
            self.client_closed = True
            return
        if op == 9:
            if not self.close_sent:
                self.tx += frame(10, payload)
            return
        if op == 10 or not payload:
            return
        ch, data = payload[0], payload[1:]
        if ch == CLOSE and self.v5:
            if data[:1] == bytes([STDIN]):
                self.stdin_closed()
            return
        if ch == STDIN:
            self.stdin_data(data)
        elif ch == RESIZE:
            try:
                self.resize(json.loads(data))
            except ValueError:
                pass
