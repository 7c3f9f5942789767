"""One exec session: the exec'd process on one side, an upgraded client connection on the other.

The kubelet's remote command protocol has the same five streams whatever carries them: stdin,
stdout, stderr, error (one v1 Status at the end, with the exit code) and resize (TTY sizes as JSON).
This module is the process side and the loop; a transport subclass (execws.WSSession for
WebSockets, execspdy.SpdySession for SPDY/3.1) turns client bytes into calls of stdin_data(),
stdin_closed() and resize(), and queues its frames for send(), end() and goodbye().

One thread owns the TLS socket and the process's file descriptors (poll loop, non-blocking), so
the SSL object is never used from two threads at once.
"""
import errno
import fcntl
import os
import select
import signal
import subprocess
import ssl
import struct
import termios
import time

STDIN, STDOUT, STDERR, ERROR, RESIZE = 0, 1, 2, 3, 4
HIGH_WATER = 1 << 20     # stop reading the process output while this much is queued for the client


def exit_status(rc, argv):
    """The v4/v5 error stream's Status for an exit code, as the kubelet writes it."""
    if rc == 0:
        return {"metadata": {}, "status": "Success"}
    return {"metadata": {}, "status": "Failure",
            "message": "command terminated with non-zero exit code: error executing command [%s], exit code %d"
            % (" ".join(argv), rc),
            "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": str(rc)}]}}


class Session:
    """Runs one exec session on an upgraded connection until the process ends or the client leaves.

    proc: Popen (own process group); stdin_fd: the parent's end of the process's stdin or None;
    out_fds: {fd: STDOUT|STDERR} (a pty master appears as stdin, output and tty_fd at once).
    finish(rc) -> Status dict is called once the process has exited and its output is drained."""

    def __init__(self, sock, proc, stdin_fd, out_fds, tty_fd, finish):
        self.sock = sock
        self.proc = proc
        self.stdin_fd = stdin_fd
        self.out_fds = dict(out_fds)     # fd -> channel
        self.tty_fd = tty_fd
        self.finish = finish
        self.tx = bytearray()            # to the client
        self.stdin_buf = bytearray()
        self.stdin_eof = False
        self.client_closed = False       # the client left (close frame, GOAWAY, EOF, broken framing)
        self.exit_time = None
        self.exit_code = None

    # -- what a transport implements ---------------------------------------
    def on_bytes(self, data):
        """Client bytes: parse them into stdin_data/stdin_closed/resize calls."""
        raise NotImplementedError

    def send(self, channel, data):
        """Queue process output (STDOUT/STDERR) for the client."""
        raise NotImplementedError

    def end(self, status):
        """Queue the final Status on the error stream and the end of every stream."""
        raise NotImplementedError

    def goodbye(self):
        """The client left: queue whatever closes the connection politely."""

    def ready(self):
        """May the process's output flow? (SPDY: once the client has opened the streams it asked for.)"""
        return True

    def expired(self):
        """Has the client failed to set the session up in time? Then the session ends."""
        return False

    # -- what a transport calls ---------------------------------------------
    def stdin_data(self, data):
        if self.stdin_fd is not None and not self.stdin_eof:
            self.stdin_buf += data

    def stdin_closed(self):
        self.stdin_eof = True

    def resize(self, size):
        """size: the client's TerminalSize JSON object ({"Width": W, "Height": H})."""
        if self.tty_fd is None:
            return
        try:
            fcntl.ioctl(self.tty_fd, termios.TIOCSWINSZ,
                        struct.pack("HHHH", int(size.get("Height", 0)), int(size.get("Width", 0)), 0, 0))
        except (ValueError, OSError, AttributeError, TypeError):
            pass

    # -- socket ----------------------------------------------------------------
    def read_socket(self):
        while not self.client_closed:
            try:
                data = self.sock.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                return
            except (OSError, ssl.SSLError):
                self.client_closed = True
                return
            if not data:
                self.client_closed = True
                return
            self.on_bytes(data)

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
        # SIGHUP first, as a hang-up is, and a moment to act on it (a kubelet
        # never kills an exec whose client left: the command reads the end of
        # its stdin and ends by itself, its traps run; pvc cp's removes its
        # staging directory), then SIGKILL for what did not end
        try:
            os.killpg(self.proc.pid, signal.SIGHUP)
            self.proc.wait(1.0)
        except subprocess.TimeoutExpired:
            pass
        except OSError:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass

    # -- loop --------------------------------------------------------------
    def run(self):
        # the process's end wakes the loop at once, as the runtime's exit event does the kubelet's
        # (without it the loop saw an exit only at its next 50 ms tick)
        try:
            self.pidfd = os.pidfd_open(self.proc.pid)
        except (AttributeError, OSError):
            self.pidfd = None
        try:
            return self._run()
        finally:
            if self.pidfd is not None:
                os.close(self.pidfd)

    def _run(self):
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
            # each fd once: with a TTY the pty is stdin, an output and tty_fd at
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
            if self.client_closed or self.expired():
                # the client went away (or never set the session up): no one to talk to any more
                if self.proc.poll() is None:
                    self.kill()
                self.tx = bytearray()
                self.goodbye()
                self.write_socket()
                return
            ready = self.ready()
            if ready and self.stdin_eof and not self.stdin_buf and self.stdin_fd is not None:
                self.close_stdin()
            if self.exit_time is None and self.proc.poll() is not None:
                self.exit_time = time.time()
            # the process is gone and its output drained (or held open by a background child for 2 s)
            if ready and self.exit_time is not None and (not self.out_fds or time.time() - self.exit_time > 2):
                for fd in list(self.out_fds):
                    for _ in range(64):
                        if fd not in self.out_fds:
                            break
                        self.read_output(fd)
                status = self.finish(self.proc.returncode)
                self.exit_code = self.proc.returncode
                self.end(status)
                self.drain_and_close()
                return
            p = select.poll()
            p.register(sfd, select.POLLIN | (select.POLLOUT if self.tx else 0))
            if ready and len(self.tx) < HIGH_WATER:
                for fd in self.out_fds:
                    p.register(fd, select.POLLIN)
            if self.stdin_buf and self.stdin_fd is not None:
                p.register(self.stdin_fd, select.POLLOUT)
            if self.pidfd is not None and self.exit_time is None:
                p.register(self.pidfd, select.POLLIN)
            timeout = 50 if self.exit_time is not None or not self.out_fds or not ready else 500
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
        """Flush everything (status and the ends of the streams), then wait briefly for the client
        to close its side (its close frame, GOAWAY or EOF)."""
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
            self.write_socket()     # answers to pings
