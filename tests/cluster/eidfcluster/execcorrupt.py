"""A `corrupt` fault on an exec session: the bytes of one stream changed on their way, as a broken
proxy, NIC or disk would, while the session's framing stays intact.

The rule says which stream (`stdin`: what the client sends; `stdout`: what the command writes) and
what changes: `at` flips every bit of that stream's byte number AT (counted from 0 over the
stream's data), or `pattern` (a bytes regex) has its first match replaced by `replace` (a
re template: \\1 refers to a group; with `every`, each match for the rest of the session, as a
chunk that is corrupted each time it is sent again).  A match may span messages: the tail of
what came that could still be the start of one (`hold`, a regex ending in \\Z, e.g.
`[eh](?: [0-9a-f]{0,64})?\\Z`) is held back until more comes or the direction carries anything
else.  Tests use it to prove that a corrupted chunk is found and repaired (and that one
corrupted every time ends in an error), and that a whole-file checksum mismatch is an error.

`Relay` carries a WebSocket exec (v4/v5 channel protocol) between the client and the kubelet when
the API server passes the upgrade through; exectranslate.Bridge applies the same `Rewriter` to the
messages it translates.
"""
import re
import select
import socket
import ssl
import struct

from .util import readable, recv_some, send_some

STREAMS = {"stdin": 0, "stdout": 1}


class Rewriter:
    """Rewrites the data of one channel; feed() returns what may go on now, flush() what was held."""

    def __init__(self, rule):
        self.channel = STREAMS[rule.get("stream", "stdout")]
        self.at = rule.get("at")
        pat = rule.get("pattern")
        self.pattern = re.compile(pat.encode("latin-1"), re.S) if pat else None
        self.replace = (rule.get("replace") or "").encode("latin-1")
        hold = rule.get("hold")
        self.hold = re.compile(hold.encode("latin-1"), re.S) if hold else None
        self.every = bool(rule.get("every")) and self.pattern is not None
        self.seen = 0
        self.done = False
        self.held = b""

    def feed(self, data):
        if self.done:
            return data
        if self.at is not None:
            data = bytearray(data)
            if self.seen <= self.at < self.seen + len(data):
                data[self.at - self.seen] ^= 0xFF
                self.done = True
            self.seen += len(data)
            return bytes(data)
        buf = self.held + data
        self.held = b""
        if self.every:
            buf = self.pattern.sub(lambda m: m.expand(self.replace), buf)
            m = None
        else:
            m = self.pattern.search(buf)
        if m:
            self.done = True
            return buf[:m.start()] + m.expand(self.replace) + buf[m.end():]
        if self.hold:
            tail = buf[-256:]
            h = self.hold.search(tail)
            if h:
                keep = len(tail) - h.start()
                self.held = buf[len(buf) - keep:]
                buf = buf[:len(buf) - keep]
        return buf

    def flush(self):
        out, self.held = self.held, b""
        return out


def ws_frame(opcode, payload, masked):
    """One frame; toward the kubelet masked (a server must refuse unmasked client frames), with a
    zero key so that the payload is as it is."""
    n = len(payload)
    b0, mbit = 0x80 | opcode, 0x80 if masked else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    return head + (b"\0\0\0\0" if masked else b"") + payload


class Parser:
    """Frames of either side (masked or not), as (fin, opcode, payload), unmasked."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data):
        self.buf += data
        out = []
        while len(self.buf) >= 2:
            b = self.buf
            fin, op, masked, n, pos = b[0] & 0x80, b[0] & 0x0F, b[1] & 0x80, b[1] & 0x7F, 2
            if n == 126:
                if len(b) < 4:
                    break
                n, pos = struct.unpack_from("!H", b, 2)[0], 4
            elif n == 127:
                if len(b) < 10:
                    break
                n, pos = struct.unpack_from("!Q", b, 2)[0], 10
            mlen = 4 if masked else 0
            if len(b) < pos + mlen + n:
                break
            payload = bytes(b[pos + mlen:pos + mlen + n])
            if masked and n:
                mask = bytes(b[pos:pos + 4])
                m = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
                payload = (int.from_bytes(payload, "big") ^ m).to_bytes(n, "big")
            del self.buf[:pos + mlen + n]
            out.append((fin, op, payload))
        return out


class Relay:
    """Both ways between the client's and the kubelet's TLS sockets (one thread), rewriting one
    channel's data of whole messages; every other frame goes on as it came.  With a limit (a
    `cut` fault on the same exec), both are shut once that many bytes have come, both ways
    together, as kubeletproxy.splice does: a drop while the corrupted bytes are repaired."""

    def __init__(self, client, kubelet, rule, limit=None):
        self.client, self.kubelet = client, kubelet
        self.limit, self.passed = limit, 0
        self.rw = Rewriter(rule)
        # (parser, destination socket, frames toward it are masked, the channel rewritten, fragments)
        self.sides = {client: [Parser(), kubelet, True, 0], kubelet: [Parser(), client, False, 1]}
        self.frag = {client: None, kubelet: None}
        self.out = {client: bytearray(), kubelet: bytearray()}

    def on_frames(self, src, frames):
        _, dst, masked, ch = self.sides[src]
        for fin, op, payload in frames:
            if op == 0 or (op in (1, 2) and not fin):
                # a fragmented message: gathered, then handled whole
                cur = self.frag[src] or (op, bytearray())
                cur[1].extend(payload)
                self.frag[src] = None if fin else cur
                if not fin:
                    continue
                op, payload = cur[0], bytes(cur[1])
            if op == 2 and payload[:1] == bytes([ch]) and self.rw.channel == ch:
                data = self.rw.feed(payload[1:])
                if data:
                    self.out[dst] += ws_frame(2, bytes([ch]) + data, masked)
                continue
            held = self.rw.flush() if self.rw.channel == ch else b""
            if held:
                self.out[dst] += ws_frame(2, bytes([ch]) + held, masked)
            self.out[dst] += ws_frame(op, payload, masked)

    def run(self, rest=b""):
        if rest:
            self.on_frames(self.kubelet, self.sides[self.kubelet][0].feed(rest))
        for s in (self.client, self.kubelet):
            s.setblocking(False)
        while True:
            p = select.poll()
            for s in (self.client, self.kubelet):
                p.register(s, select.POLLIN | (select.POLLOUT if self.out[s] else 0))
            for s in readable(p, (self.client, self.kubelet)):
                if not self.read(s):
                    return self.finish()
            for s in (self.client, self.kubelet):
                if not self.flush(s):
                    return self.finish()

    def read(self, s):
        while True:
            data = recv_some(s)
            if data is None:
                return False
            if not data:
                return True
            if self.limit is not None:
                data = data[:max(self.limit - self.passed, 0)]
                self.passed += len(data)
            self.on_frames(s, self.sides[s][0].feed(data))
            if self.limit is not None and self.passed >= self.limit:
                return False

    def flush(self, s):
        return send_some(s, self.out[s])

    def finish(self):
        """One side went: what is queued for the other goes (briefly), then both are shut."""
        for s in (self.client, self.kubelet):
            s.setblocking(True)
            s.settimeout(2)
            try:
                if self.out[s]:
                    s.sendall(self.out[s])
            except (OSError, ssl.SSLError):
                pass
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
