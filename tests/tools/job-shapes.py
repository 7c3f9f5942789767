#!/usr/bin/env python3
"""job-shapes.py JOBS.jsonl [PODS.jsonl]: the distinct states a Job's watch stream went through.

One line per change of what a client may derive from a Job (status.active,
uncountedTerminatedPods, succeeded, failed, the True conditions with their
reasons), so the local cluster's streams compare with a real kube-apiserver's
(apiserver-samples/job-lifecycle-*). With PODS.jsonl, a line `pod PHASE` is
placed where a pod reached a terminal phase, ordered by resourceVersion.
"""
import json
import sys


def job_shape(st):
    unc = st.get("uncountedTerminatedPods") or {}
    conds = ["%s(%s)" % (c["type"], c.get("reason", "")) for c in st.get("conditions") or []
             if c.get("status") == "True"]
    return "active=%s uncounted=%s succeeded=%s failed=%s conditions=%s" % (
        st.get("active", "-"), ",".join("%s:%d" % (k, len(v)) for k, v in sorted(unc.items()) if v) or "-",
        st.get("succeeded", "-"), st.get("failed", "-"), ",".join(conds) or "-")


def main():
    rows = []
    for line in open(sys.argv[1]):
        e = json.loads(line)
        if e["type"] in ("ADDED", "MODIFIED"):
            rows.append((int(e["object"]["metadata"]["resourceVersion"]), "job " + job_shape(
                e["object"].get("status") or {})))
    if len(sys.argv) > 2:
        seen = set()
        for line in open(sys.argv[2]):
            e = json.loads(line)
            o = e["object"]
            ph = (o.get("status") or {}).get("phase")
            if ph in ("Succeeded", "Failed") and o["metadata"]["uid"] not in seen:
                seen.add(o["metadata"]["uid"])
                rows.append((int(o["metadata"]["resourceVersion"]), "pod " + ph))
    last = None
    for _, s in sorted(rows):
        if s != last:
            print(s)
        last = s


main()
