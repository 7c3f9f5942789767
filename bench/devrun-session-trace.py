#!/usr/bin/env python3
"""Where a devrun session run's time goes: `bench/devrun-session.sh --trace N` runs N session runs
under `perf record -a` (scheduler, process and a few syscall tracepoints: no sampling, little
overhead) and prints, as medians over the runs, the time of each step from devrun's start --
the client (its fork of the exec child, the connect()s), the test cluster (the API server's
connect() to the kubelet port, the node agent starting the exec's runner), every process of the
pod side in order (session-run.sh, the code agent's tar and git, the command) and the first line
reaching devrun's stdout -- then the CPU time each part spent on a CPU and waiting for one (from
`perf sched timehist`), which shows how much of a step's wall time the machine's load added.

    devrun-session-trace.py RUNS CLUSTER_PID WORKDIR -- DEVRUN_ARGV...

WORKDIR is the work tree; before every run one line is appended to pkg00/mod000.py there."""
import collections
import os
import re
import statistics
import subprocess
import sys
import tempfile

EVENTS = ("sched:sched_switch,sched:sched_wakeup,sched:sched_wakeup_new,sched:sched_process_fork,"
          "sched:sched_process_exec,sched:sched_process_exit,syscalls:sys_enter_connect")
LINE = re.compile(r"\s*(.+?)\s+(\d+)/(\d+)\s+([\d.]+):\s+(\S+):\s*(.*)")
HIST = re.compile(r"\s*([\d.]+)\s+\[\d+\]\s+(.*?)\[(\d+)(?:/(\d+))?\]\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)")


def descendants(root):
    par = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open("/proc/%s/stat" % p) as f:
                    st = f.read()
                par[int(p)] = int(st[st.rindex(")") + 2:].split()[1])
            except (OSError, ValueError):
                pass
    out, todo = {root}, [root]
    while todo:
        q = todo.pop()
        for c, pp in par.items():
            if pp == q and c not in out:
                out.add(c)
                todo.append(c)
    return out


def one_run(i, cluster, workdir, argv, tmp):
    with open(os.path.join(workdir, "pkg00/mod000.py"), "a") as f:
        f.write("trace%d = %d\n" % (i, i))
    data = os.path.join(tmp, "run%d.data" % i)
    inner = "sleep 0.2; %s >/dev/null 2>&1; sleep 0.2" % " ".join("'%s'" % a.replace("'", "'\\''") for a in argv)
    subprocess.run(["perf", "record", "-q", "-a", "-o", data, "-e", EVENTS,
                    "-e", "syscalls:sys_enter_write", "--filter", "fd == 1", "--", "sh", "-c", inner],
                   cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    ev = []
    script = subprocess.run(["perf", "script", "-i", data, "-F", "comm,pid,tid,time,event,trace"],
                            capture_output=True, text=True).stdout
    for l in script.splitlines():
        m = LINE.match(l)
        if m and "sched_switch" not in m.group(5) and "sched_wakeup" not in m.group(5):
            ev.append((m.group(1), int(m.group(2)), int(m.group(3)), float(m.group(4)),
                       m.group(5).split(":")[1], m.group(6)))
    hist = subprocess.run(["perf", "sched", "timehist", "-i", data], capture_output=True, text=True).stdout
    return ev, hist


def analyse(ev, hist, cluster, pods):
    ours, client, t0 = set(pods) | {cluster}, set(), None
    for comm, pid, tid, t, e, tr in ev:
        if e == "sched_process_exec" and tr.split("filename=")[1].split()[0].endswith("/kubectl-eidf-devrun") \
                and t0 is None:
            t0 = t
            ours.add(pid)
            client.add(pid)
        if e == "sched_process_fork":
            c = int(re.search(r"child_pid=(\d+)", tr).group(1))
            if pid in ours:
                ours.add(c)
            if pid in client:
                client.add(c)
    if t0 is None:
        return None, None
    parent = min(client)
    ms, seq, name, phases = {}, collections.Counter(), {}, collections.defaultdict(list)

    def mark(k, t):
        ms.setdefault(k, (t - t0) * 1000)
    connects = 0
    for comm, pid, tid, t, e, tr in ev:
        if t < t0 or pid not in ours:
            continue
        if pid in client:
            if e == "sched_process_fork" and pid == parent:
                mark("client: forks the exec child", t)
            elif e == "sys_enter_connect" and pid != parent:
                mark("client: exec child connect()s to the API server", t)
            elif e == "sys_enter_connect" and pid == parent:
                mark("client: connect() for the PATCH recording the run", t)
            elif e == "sys_enter_write" and pid != parent:
                mark("client: the first line written to devrun's stdout", t)
            elif e == "sched_process_exit" and pid == parent and pid == tid:
                mark("client: devrun exits", t)
            continue
        if pid == cluster and e == "sys_enter_connect":
            connects += 1
            mark("cluster: the API server connect()s to the kubelet port", t)
        if e == "sched_process_exec":
            f = tr.split("filename=")[1].split()[0].rsplit("/", 1)[-1]
            if f == "unshare":
                label, part = "node agent: starts the exec (unshare, then runner.py)", "runner"
            elif phases.get(pid) and phases[pid][-1][1] == "runner" and f != "sh":
                label, part = "pod: the runner's python3", "runner"
            else:
                seq[f] += 1
                label, part = "pod: exec %s #%d" % (f, seq[f]), f
                if f == "sh" and seq[f] == 1:
                    label += " (session-run.sh: the runner is done)"
                    part = "session-run.sh"
            name[pid] = label
            phases[pid].append((t, part))
            mark(label, t)
        elif e == "sched_process_exit" and pid == tid and pid in name and not name[pid].startswith("node agent"):
            mark(name[pid].replace("exec", "exit", 1).split(" (")[0], t)
    # CPU: on a CPU and waiting for one, per part (a pod process by what it ran at the time)
    cpu = collections.defaultdict(lambda: [0.0, 0.0])
    for l in hist.splitlines():
        m = HIST.match(l)
        if not m:
            continue
        t, tid, pid = float(m.group(1)), int(m.group(3)), int(m.group(4) or m.group(3))
        if t < t0 or pid not in ours:
            continue
        if pid in client:
            part = "client (devrun and its exec child)"
        elif pid == cluster:
            part = "cluster process (API server, node agent: Python threads)"
        else:
            part = "pod side: forked, before its exec"
            for pt, what in phases.get(pid, []):
                if pt <= t:
                    part = {"runner": "pod side: the exec's runner (unshare, runner.py)",
                            "session-run.sh": "pod side: session-run.sh (sh)",
                            "python3": "pod side: python3 (the command)"}.get(what, "pod side: " + what)
        cpu[part][0] += float(m.group(7))
        cpu[part][1] += float(m.group(6))
    return ms, cpu


def main():
    runs, cluster, workdir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    argv = sys.argv[sys.argv.index("--") + 1:]
    pods = descendants(cluster)
    steps, cpus = collections.defaultdict(list), collections.defaultdict(lambda: ([], []))
    with tempfile.TemporaryDirectory(prefix="eidf-session-trace.") as tmp:
        for i in range(runs):
            ev, hist = one_run(i, cluster, workdir, argv, tmp)
            ms, cpu = analyse(ev, hist, cluster, pods)
            if ms is None:
                sys.exit("trace: devrun's start was not seen (is perf allowed to trace the system?)")
            for k, v in ms.items():
                steps[k].append(v)
            for k, (on, wait) in cpu.items():
                cpus[k][0].append(on)
                cpus[k][1].append(wait)
    print("  where a session run's time goes (medians of %d traced runs, ms from devrun's start):" % runs)
    for m, k, n in sorted((statistics.median(v), k, len(v)) for k, v in steps.items()):
        print("  %8.1f  %s%s" % (m, k, "" if n == runs else "  (%d of %d runs)" % (n, runs)))
    print("  CPU per run (medians): on a CPU / waiting for a CPU (the machine's load), ms:")
    for k, (on, wait) in sorted(cpus.items(), key=lambda kv: -statistics.median(kv[1][0])):
        on += [0.0] * (runs - len(on))
        wait += [0.0] * (runs - len(wait))
        print("  %8.1f / %6.1f  %s" % (statistics.median(on), statistics.median(wait), k))


if __name__ == "__main__":
    main()
