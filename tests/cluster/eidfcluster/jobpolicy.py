"""A Job's podFailurePolicy, evaluated as the real job controller does.

Kubernetes pkg/controller/job/pod_failure_policy.go (1.26+): the rules are tried
in order against a Failed pod (the Job's restartPolicy must be Never); the first
rule that matches decides:
- FailJob: the whole Job fails at once (reason PodFailurePolicy), however many
  retries backoffLimit would still allow;
- Ignore: the failure is not counted against backoffLimit (the pod is replaced);
- Count: counted as usual (as when no rule matches).
onExitCodes looks at terminated containers (containerStatuses first, then
initContainerStatuses), optionally only the one named containerName; exit code
0 never matches, whatever the operator. onPodConditions matches a pod condition
of that type and status (status defaults to True).
"""


def _exit_code_matches(code, req):
    values = req.get("values") or []
    op = req.get("operator")
    if op == "In":
        return code in values
    if op == "NotIn":
        return code not in values
    return False


def _matching_container(status, req):
    for key in ("containerStatuses", "initContainerStatuses"):
        for cs in status.get(key) or []:
            term = (cs.get("state") or {}).get("terminated")
            if term is None:
                continue  # still terminating: no exit code to match
            if req.get("containerName") not in (None, cs.get("name")):
                continue
            code = term.get("exitCode", 0)
            if code != 0 and _exit_code_matches(code, req):
                return cs["name"], code
    return None


def _matching_condition(status, patterns):
    for pat in patterns or []:
        for c in status.get("conditions") or []:
            if c.get("type") == pat.get("type") and c.get("status") == pat.get("status", "True"):
                return pat["type"]
    return None


def match(job, pod):
    """(action, message) of the first podFailurePolicy rule matching the failed pod, or None."""
    policy = (job.get("spec") or {}).get("podFailurePolicy")
    if not policy:
        return None
    status = pod.get("status") or {}
    ref = "%s/%s" % (pod["metadata"].get("namespace", ""), pod["metadata"]["name"])
    for i, rule in enumerate(policy.get("rules") or []):
        action = rule.get("action")
        if rule.get("onExitCodes") is not None:
            hit = _matching_container(status, rule["onExitCodes"])
            if hit:
                return action, "Container %s for pod %s failed with exit code %d matching %s rule at index %d" % (
                    hit[0], ref, hit[1], action, i)
        elif rule.get("onPodConditions") is not None:
            hit = _matching_condition(status, rule["onPodConditions"])
            if hit:
                return action, "Pod %s has condition %s matching %s rule at index %d" % (ref, hit, action, i)
    return None
