"""pods/exec over WebSockets: the RFC 6455 server side and the Kubernetes channel protocol.

kubectl (client-go tools/remotecommand/websocket.go) upgrades `GET .../pods/NAME/exec?command=...` with
`Sec-WebSocket-Protocol: v5.channel.k8s.io, v4.channel.k8s.io, ...`. Every binary message starts with
a stream id: 0 stdin, 1 stdout, 2 stderr, 3 error (one v1 Status JSON), 4 resize (TTY size JSON);
v5 adds 255 "close": [255, ID] half-closes stream ID (the client closes stdin this way).

One thread owns the TLS socket and the process's file descriptors (poll loop, non-blocking), so
the SSL object is never used from two threads at once.
"""
import base64
import errno
import fcntl
import hashlib
import json
import os
import select
import signal
import ssl
import struct
import termios
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
HIGH_WATER = 1 << 20     # stop reading the process output while this much is queued for the client


class WSError(Exception):
    pass


def accept_key(key):
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def negotiate(h):
    """Checks the upgrade headers; returns (accept, protocol) or None when this is no WebSocket upgrade.
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
    proto = next((p for p in offered if p in PROTOCOLS), None)
    if proto is None:
        raise ValueError("this test cluster speaks only the %s exec subprotocols (offered: %s)"
                         % (" and ".join(PROTOCOLS), ", ".join(offered) or "none"))
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


def exit_status(rc, argv):
    if rc == 0:
        return {"metadata": {}, "status": "Success"}
    return {"metadata": {}, "status": "Failure",
            "message": "command terminated with non-zero exit code: error executing command [%s], exit code %d"
            % (" ".join(argv), rc),
            "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": str(rc)}]}}


class Session:
    """Runs one exec session on an upgraded connection until the process ends or the client leaves.

    proc: Popen (own process group); fds: {"stdin": fd or None, "out": {fd: channel}} where the fds
    are the parent's ends (a pty master appears as both stdin and output 1). finish() -> Status dict
    is called once the process has exited and its output is drained."""

    def __init__(self, sock, proto, proc, stdin_fd, out_fds, tty_fd, finish):
        self.sock = sock
        self.v5 = proto.startswith("v5")
        self.proc = proc
        self.stdin_fd = stdin_fd
        self.out_fds = dict(out_fds)     # fd -> channel
        self.tty_fd = tty_fd
        self.finish = finish
        self.tx = bytearray()            # to the client
        self.stdin_buf = bytearray()
        self.stdin_eof = False
        self.parser = FrameParser()
        self.client_closed = False       # close frame or EOF from the client
        self.exit_time = None
        self.exit_code = None
        self.close_sent = False

    # -- client side -------------------------------------------------------
    def send(self, channel, data):
        self.tx += frame(2, bytes([channel]) + data)

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
                self.stdin_eof = True
            return
        if ch == STDIN and self.stdin_fd is not None and not self.stdin_eof:
            self.stdin_buf += data
        elif ch == RESIZE and self.tty_fd is not None:
            try:
                size = json.loads(data)
                fcntl.ioctl(self.tty_fd, termios.TIOCSWINSZ,
                            struct.pack("HHHH", int(size.get("Height", 0)), int(size.get("Width", 0)), 0, 0))
            except (ValueError, OSError, AttributeError):
                pass

    def read_socket(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except (ssl.SSLWantReadError, BlockingIOError):
                return
            except ssl.SSLWantWriteError:
                return
            except (OSError, ssl.SSLError):
                self.client_closed = True
                return
            if not data:
                self.client_closed = True
                return
            try:
                for op, payload in self.parser.feed(data):
                    self.on_message(op, payload)
            except WSError:
                self.client_closed = True
                return

    def write_socket(self):
        while self.tx:
            try:
                n = self.sock.send(self.tx[:65536])
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                return
            except (OSError, ssl.SSLError):
                self.client_closed = True
                self.tx.clear()
                return
            del self.tx[:n]

    # -- process side ------------------------------------------------------
    def close_stdin(self):
        fd = self.stdin_fd
        self.stdin_fd = None
        if fd is None:
            return
        if fd == self.tty_fd:
            try:
                os.write(fd, b"\x04")     # EOF for the line discipline; the pty stays open for output
            except OSError:
                pass
        else:
            try:
                os.close(fd)
            except OSError:
                pass

    def write_stdin(self):
        while self.stdin_buf and self.stdin_fd is not None:
            try:
                n = os.write(self.stdin_fd, self.stdin_buf[:65536])
            except BlockingIOError:
                return
            except OSError:      # the process closed its stdin: drop the rest
                self.stdin_buf.clear()
                self.close_stdin()
                return
            del self.stdin_buf[:n]

    def read_output(self, fd):
        ch = self.out_fds[fd]
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError as e:     # EIO: the pty's last slave closed
            if e.errno not in (errno.EIO, errno.EBADF):
                raise
            data = b""
        if data:
            self.send(ch, data)
            return
        del self.out_fds[fd]
        if fd != self.tty_fd:
            os.close(fd)

    def kill(self):
        for sig in (signal.SIGHUP, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
            except OSError:
                pass

    # -- loop --------------------------------------------------------------
    def run(self):
        self.sock.setblocking(False)
        for fd in list(self.out_fds) + ([self.stdin_fd] if self.stdin_fd is not None else []):
            os.set_blocking(fd, False)
        try:
            self._loop()
        finally:
            if self.proc.poll() is None:
                self.kill()
                try:
                    self.proc.wait(2)
                except Exception:
                    pass
            # each fd once: with a TTY the pty is stdin, output and tty_fd at
            # once, and a second close can hit an fd the server just accepted
            for fd in set(self.out_fds) | {self.stdin_fd, self.tty_fd}:
                if fd is not None:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            self.out_fds = {}
            self.stdin_fd = self.tty_fd = None
        return self.exit_code

    def _loop(self):
        sock = self.sock
        sfd = sock.fileno()
        while True:
            if self.client_closed:
                # the client went away: no one to talk to any more
                if self.proc.poll() is None:
                    self.kill()
                self.tx = bytearray(frame(8, struct.pack("!H", 1000)))
                self.close_sent = True
                self.write_socket()
                return
            if self.stdin_eof and not self.stdin_buf and self.stdin_fd is not None:
                self.close_stdin()
            if self.exit_time is None and self.proc.poll() is not None:
                self.exit_time = time.time()
            # the process is gone and its output drained (or held open by a background child for 2 s)
            if self.exit_time is not None and (not self.out_fds or time.time() - self.exit_time > 2):
                for fd in list(self.out_fds):
                    for _ in range(64):
                        if fd not in self.out_fds:
                            break
                        self.read_output(fd)
                status = self.finish(self.proc.returncode)
                self.exit_code = self.proc.returncode
                self.send(ERROR, json.dumps(status, separators=(",", ":")).encode())
                self.tx += frame(8, struct.pack("!H", 1000))
                self.close_sent = True
                self.drain_and_close()
                return
            p = select.poll()
            p.register(sfd, select.POLLIN | (select.POLLOUT if self.tx else 0))
            if len(self.tx) < HIGH_WATER:
                for fd in self.out_fds:
                    p.register(fd, select.POLLIN)
            if self.stdin_buf and self.stdin_fd is not None:
                p.register(self.stdin_fd, select.POLLOUT)
            timeout = 50 if self.exit_time is not None or not self.out_fds else 500
            if sock.pending():
                timeout = 0
            events = p.poll(timeout)
            if sock.pending():
                self.read_socket()
            for fd, ev in events:
                if fd == sfd:
                    if ev & (select.POLLIN | select.POLLHUP | select.POLLERR):
                        self.read_socket()
                    if ev & select.POLLOUT:
                        self.write_socket()
                elif fd in self.out_fds:
                    self.read_output(fd)
                elif fd == self.stdin_fd:
                    self.write_stdin()
            if self.tx:
                self.write_socket()
            if self.stdin_buf:
                self.write_stdin()

    def drain_and_close(self):
        """Flush everything (status + close frame), then wait briefly for the client's close frame."""
        deadline = time.time() + 5
        sfd = self.sock.fileno()
        while self.tx and time.time() < deadline and not self.client_closed:
            self.write_socket()
            if self.tx:
                select.select([sfd], [sfd], [], 0.1)
                self.read_socket()
        deadline = time.time() + 1
        while not self.client_closed and time.time() < deadline:
            select.select([sfd], [], [], 0.05)
            self.read_socket()
            self.write_socket()     # pongs
