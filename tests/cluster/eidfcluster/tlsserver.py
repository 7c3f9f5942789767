"""The HTTPS servers of the local cluster (the API server, the node agent's kubelet port): threaded,
each connection's TLS handshake done in its own handler thread, so that a client that never finishes
it holds up no one else."""
import http.server
import socket
import socketserver
import ssl


class ThreadingTLSServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class TLSHandler(http.server.BaseHTTPRequestHandler):
    """setup() of a subclass calls accept_tcp(), then start_tls(ctx, ...), then super().setup();
    nothing is served on a connection whose handshake failed."""
    protocol_version = "HTTP/1.1"
    sys_version = ""
    tls_ok = False

    def accept_tcp(self):
        # As Go's net/http does: without it separate header and body writes
        # meet Nagle and the client's delayed ACK, a ~40 ms stall per reply.
        try:
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.request.settimeout(10)  # for the handshake

    def start_tls(self, ctx, idle_timeout):
        """The server side of the handshake; None, or the error that ended it."""
        try:
            self.request = ctx.wrap_socket(self.request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            return e
        self.tls_ok = True
        self.request.settimeout(idle_timeout)
        return None

    def handle(self):
        if not self.tls_ok:
            return
        try:
            super().handle()
        except (ConnectionError, ssl.SSLError, socket.timeout, OSError):
            pass

    def log_message(self, fmt, *args):
        pass
