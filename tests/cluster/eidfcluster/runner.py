"""Container entry: runs inside `unshare -m -u` (private mount + UTS namespace).

Bind-mounts the pod's volumes at their mountPaths, sets the hostname, changes to
workingDir and execs the command. Usage: runner.py SPEC.json

`kubectl exec` runs the same spec with another argv and "exec": true (errors are
worded like `runc exec`'s); "tty": true makes stdin (a pty slave) the
controlling terminal.
"""
import ctypes
import json
import os
import shutil
import sys

MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18


def fail(spec, code, msg):
    try:
        with open(spec["startfail"], "w") as f:
            f.write(msg)
    except OSError:
        pass
    if not spec.get("exec"):
        sys.stderr.write(msg + "\n")
    os._exit(code)


def exec_fail(spec, msg):
    """Like containerd's answer to a failed exec: the apiserver turns it into an InternalError."""
    fail(spec, 126, "OCI runtime exec failed: exec failed: unable to start container process: " + msg + ": unknown")


def main():
    spec = json.load(open(sys.argv[1]))
    if spec.get("tty"):
        import fcntl
        import termios
        try:
            os.setsid()
        except OSError:
            pass        # already a session leader (start_new_session)
        try:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        except OSError:
            pass
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
    # make sure nothing we mount propagates back to the host
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        fail(spec, 128, "runner: cannot make / private: errno %d" % ctypes.get_errno())
    host = spec.get("hostname", "").encode()
    if host:
        libc.sethostname(host, len(host))
    for m in spec["mounts"]:
        src, tgt = m["source"], m["target"]
        try:
            if os.path.isdir(src):
                if not os.path.isdir(tgt):
                    os.makedirs(tgt, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(tgt), exist_ok=True)
                if not os.path.exists(tgt):
                    open(tgt, "a").close()
        except OSError as e:
            fail(spec, 128, "failed to create containerd task: failed to create shim task: OCI runtime create "
                 "failed: runc create failed: unable to start container process: error during container init: "
                 "error mounting %r to rootfs at %r: %s: unknown" % (src, tgt, e))
        if libc.mount(src.encode(), tgt.encode(), None, MS_BIND | MS_REC, None) != 0:
            fail(spec, 128, "error mounting %r to rootfs at %r: errno %d" % (src, tgt, ctypes.get_errno()))
        if m.get("readOnly"):
            libc.mount(None, tgt.encode(), None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, None)
    env = spec["env"]
    wd = spec.get("workingDir") or "/"
    try:
        os.makedirs(wd, exist_ok=True)
        os.chdir(wd)
    except OSError as e:
        fail(spec, 128, "failed to create containerd task: failed to create shim task: OCI runtime create failed: "
             "runc create failed: unable to start container process: error during container init: chdir to cwd "
             "(%r) set in config.json failed: %s: unknown" % (wd, e.strerror))
    argv = spec["argv"]
    exe = spec.get("exec")
    if not argv:
        fail(spec, 128, "failed to create containerd task: failed to create shim task: OCI runtime create failed: "
             "runc create failed: unable to start container process: error during container init: exec: no "
             "command specified (this test cluster runs no image entrypoints: set command): unknown")
    prog = argv[0]
    path = prog if "/" in prog else shutil.which(prog, path=env.get("PATH", ""))
    if not path or not os.access(path, os.X_OK):
        if exe:
            exec_fail(spec, "exec: %s: %s" % (json.dumps(prog), "stat %s: no such file or directory" % prog
                                              if "/" in prog else "executable file not found in $PATH"))
        fail(spec, 128, "failed to create containerd task: failed to create shim task: OCI runtime create failed: "
             "runc create failed: unable to start container process: error during container init: exec: %s: "
             "executable file not found in $PATH: unknown" % json.dumps(prog))
    try:
        os.execve(path, argv, env)
    except OSError as e:
        if exe:
            exec_fail(spec, "exec: %s: %s" % (json.dumps(prog), e.strerror.lower()))
        raise


if __name__ == "__main__":
    main()
