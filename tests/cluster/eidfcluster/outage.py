"""API server outages: refuse or reset connections for a while, or restart.

A real kube-apiserver goes away in two ways clients must survive:
- it is down (restarting, node reboot): connect() is refused, and every open
  connection, watches included, ends without a proper close;
- something in between (a load balancer, a proxy) resets connections: the TCP
  handshake succeeds but the connection is reset at once.
Either way the cluster's state survives (it lives in etcd), so after the outage
the same objects and resourceVersions are there and watches may resume.

Outages are driven through the admin API (`POST /_eidf/outage`,
`POST /_eidf/restart`); the admin request itself is answered first.  SIGUSR2
ends the current outage at once (`ctl end-outage`).
"""
import ctypes
import ctypes.util
import os
import socket
import struct
import threading
import time

_libc = None


def _reset_fd(fd):
    """Abort the TCP connection behind fd with a RST, waking a thread blocked on it.

    connect(AF_UNSPEC) on a connected TCP socket makes Linux call tcp_disconnect(),
    which sends a RST and wakes readers; closing the fd from another thread would
    neither wake them nor send anything while they hold the socket."""
    global _libc
    try:
        s = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        if _libc is None:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        unspec = struct.pack("H14x", socket.AF_UNSPEC)
        buf = ctypes.create_string_buffer(unspec, len(unspec))
        if _libc.connect(s.fileno(), buf, len(unspec)) != 0:
            s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        s.close()


def _close_fd(fd):
    """End the connection behind fd as a dying process does: FIN, no TLS close_notify."""
    try:
        s = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        s.close()


class Outages:
    """Tracks open connections and the listener's state for one cluster."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.lock = threading.Lock()
        self.conns = {}          # conn id -> raw fd of an open connection
        self.mode = None         # None, "refuse" or "reset" while an outage lasts
        self.until = 0.0
        self.epoch = 0           # bumped whenever every connection is dropped
        self.count = 0           # outages and restarts so far (stats)
        self.busy = threading.Lock()
        self.ended = threading.Event()   # end_now(): the outage is over before its time

    # -- connection tracking (Handler.setup/finish) ----------------------
    def opened(self, cid, fd):
        """Register a new connection; False if it must be reset now (reset outage)."""
        with self.lock:
            if self.mode == "reset" and time.time() < self.until:
                return False
            self.conns[cid] = fd
            return True

    def closed(self, cid):
        with self.lock:
            self.conns.pop(cid, None)

    def reset_now(self, fd):
        _reset_fd(fd)

    def drop_all(self, how, keep=None):
        """End every open connection (except keep) with a RST or a FIN."""
        with self.lock:
            self.epoch += 1
            for cid, fd in list(self.conns.items()):
                if cid == keep:
                    continue
                (_reset_fd if how == "reset" else _close_fd)(fd)
        self.cluster.store_wake()

    # -- the switches ------------------------------------------------------
    def start(self, seconds, mode, keep=None):
        """Begin an outage of `seconds` in a thread; returns once it is in effect."""
        if mode not in ("refuse", "reset", "restart"):
            raise ValueError("outage mode must be refuse, reset or restart")
        begun = threading.Event()
        t = threading.Thread(target=self._run, args=(float(seconds), mode, keep, begun), daemon=True)
        t.start()
        begun.wait(30)

    def _run(self, seconds, mode, keep, begun):
        with self.busy:
            self.ended.clear()
            self.count += 1
            self.cluster.log_conn(0, "outage", "%s %.1fs" % (mode, seconds))
            if mode == "reset":
                with self.lock:
                    self.mode, self.until = "reset", time.time() + seconds
                self.drop_all("reset", keep)
                begun.set()
                self.ended.wait(seconds)
                with self.lock:
                    self.mode = None
            else:
                # refuse / restart: the listener goes away (connect() is refused) and
                # open connections end as when the process dies
                with self.lock:
                    self.mode, self.until = "refuse", time.time() + seconds
                self.cluster.stop_listening()
                self.drop_all("close", keep)
                begun.set()
                self.ended.wait(seconds)
                self.cluster.start_listening()
                with self.lock:
                    self.mode = None
            self.cluster.log_conn(0, "outage-end", mode)

    def end_now(self):
        """The server comes back now (SIGUSR2, `ctl end-outage`): a test gives an outage
        as an upper bound and ends it once the client has shown what it does meanwhile.
        (Not through the admin API: while connections are refused, it cannot be reached.)"""
        self.ended.set()

    def stats(self):
        with self.lock:
            return {"outage": self.mode, "outages": self.count, "epoch": self.epoch,
                    "openConnections": len(self.conns)}
