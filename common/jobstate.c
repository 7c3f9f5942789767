/* The state of a Job-backed run from Job conditions, pod phases, pod
 * conditions and container states together (see eidf/jobstate.h for why
 * status.active is never used). */
#include "eidf/jobstate.h"

#include <stdlib.h>
#include <string.h>

#include "eidf/manifest.h"

int jobstate_condition(const cJSON *obj, const char *type, const char **reason,
		       const char **message)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, json_get(obj, "status.conditions")) {
		const char *t = json_str(c, "type");
		if (!t || strcmp(t, type))
			continue;
		if (reason)
			*reason = json_str(c, "reason");
		if (message)
			*message = json_str(c, "message");
		const char *s = json_str(c, "status");
		return s && !strcmp(s, "True");
	}
	return -1;
}

int jobstate_reason_is_pull(const char *reason)
{
	return reason && (!strcmp(reason, "ErrImagePull") || !strcmp(reason, "ImagePullBackOff") ||
			  !strcmp(reason, "InvalidImageName") || !strcmp(reason, "ErrImageNeverPull"));
}

/* Waiting reasons the kubelet keeps retrying for ever without a change by the
 * user (a new image name, a created Secret/ConfigMap key): the run cannot
 * progress.  ContainerCreating, PodInitializing and CrashLoopBackOff are not
 * here: they end by themselves. */
static int reason_is_stuck(const char *reason)
{
	return jobstate_reason_is_pull(reason) ||
	       (reason && !strcmp(reason, "CreateContainerConfigError"));
}

static int pod_is_terminal(const cJSON *pod)
{
	const char *phase = json_str(pod, "status.phase");
	return phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
}

int jobstate_pod_stuck(const cJSON *pod, const char **reason, const char **message,
		       const char **container, int *init)
{
	static const char *const lists[] = { "status.initContainerStatuses", "status.containerStatuses" };
	if (!pod || pod_is_terminal(pod))
		return 0;
	for (size_t l = 0; l < 2; l++) {
		const cJSON *cs;
		cJSON_ArrayForEach(cs, json_get(pod, lists[l])) {
			const char *r = json_str(cs, "state.waiting.reason");
			if (!reason_is_stuck(r))
				continue;
			if (reason)
				*reason = r;
			if (message)
				*message = json_str(cs, "state.waiting.message");
			if (container)
				*container = json_str(cs, "name");
			if (init)
				*init = l == 0;
			return 1;
		}
	}
	return 0;
}

/* ---- podFailurePolicy ------------------------------------------------------------- */

static int value_in(const cJSON *values, long code)
{
	const cJSON *v;
	cJSON_ArrayForEach(v, values)
		if (cJSON_IsNumber(v) && (long)v->valuedouble == code)
			return 1;
	return 0;
}

/* onExitCodes: a container (init or app; containerName restricts it) that
 * terminated with a non-zero code In / NotIn the values, as the job
 * controller matches it. */
static int rule_exit_codes_match(const cJSON *rule, const cJSON *pod)
{
	const cJSON *oe = json_get(rule, "onExitCodes");
	const char *only = json_str(oe, "containerName");
	const char *op = json_str(oe, "operator");
	const cJSON *values = json_get(oe, "values");
	static const char *const lists[] = { "status.initContainerStatuses", "status.containerStatuses" };
	for (size_t l = 0; l < 2; l++) {
		const cJSON *cs;
		cJSON_ArrayForEach(cs, json_get(pod, lists[l])) {
			const char *name = json_str(cs, "name");
			if (only && (!name || strcmp(only, name)))
				continue;
			const cJSON *t = json_get(cs, "state.terminated");
			if (!t)
				continue;
			long code = json_long(t, "exitCode", 0);
			if (code == 0)
				continue;
			int in = value_in(values, code);
			if (op && !strcmp(op, "NotIn") ? !in : in)
				return 1;
		}
	}
	return 0;
}

static int rule_conditions_match(const cJSON *rule, const cJSON *pod)
{
	const cJSON *pat;
	cJSON_ArrayForEach(pat, json_get(rule, "onPodConditions")) {
		const char *type = json_str(pat, "type");
		const char *want = json_str(pat, "status");
		if (!type)
			continue;
		const cJSON *c;
		cJSON_ArrayForEach(c, json_get(pod, "status.conditions")) {
			const char *t = json_str(c, "type"), *s = json_str(c, "status");
			if (t && s && !strcmp(t, type) && !strcmp(s, want ? want : "True"))
				return 1;
		}
	}
	return 0;
}

const char *jobstate_pod_failure_action(const cJSON *job, const cJSON *pod)
{
	const cJSON *rule;
	cJSON_ArrayForEach(rule, json_get(job, "spec.podFailurePolicy.rules")) {
		int match = json_get(rule, "onExitCodes") ? rule_exit_codes_match(rule, pod)
							  : rule_conditions_match(rule, pod);
		if (match)
			return json_str(rule, "action");
	}
	return NULL;
}

/* ---- the derivation ---------------------------------------------------------------- */

static const char *label(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(json_get(obj, "metadata.labels"), key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *annotation(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(json_get(obj, "metadata.annotations"), key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The pod is the Job's: its controller ownerReference or controller-uid
 * label names the Job's uid; without a uid (a dry run), its job-name label. */
static int pod_of_job(const cJSON *pod, const cJSON *job)
{
	const char *uid = json_str(job, "metadata.uid");
	if (uid) {
		const cJSON *o;
		cJSON_ArrayForEach(o, json_get(pod, "metadata.ownerReferences")) {
			const char *ou = json_str(o, "uid");
			if (ou && !strcmp(ou, uid))
				return 1;
		}
		const char *l = label(pod, "batch.kubernetes.io/controller-uid");
		if (!l)
			l = label(pod, "controller-uid");
		return l && !strcmp(l, uid);
	}
	const char *name = json_str(job, "metadata.name");
	const char *l = label(pod, "batch.kubernetes.io/job-name");
	if (!l)
		l = label(pod, "job-name");
	return name && l && !strcmp(name, l);
}

/* Why a pod failed: its first non-zero terminated container, else the pod's
 * own reason (Evicted, DeadlineExceeded, ...). */
static void failed_pod_reason(const cJSON *pod, struct jobstate_info *out)
{
	static const char *const lists[] = { "status.initContainerStatuses", "status.containerStatuses" };
	out->pod = pod;
	out->reason = json_str(pod, "status.reason");
	out->message = json_str(pod, "status.message");
	for (size_t l = 0; l < 2; l++) {
		const cJSON *cs;
		cJSON_ArrayForEach(cs, json_get(pod, lists[l])) {
			const cJSON *t = json_get(cs, "state.terminated");
			if (t && json_long(t, "exitCode", 0) != 0) {
				out->container = json_str(cs, "name");
				out->init = l == 0;
				if (!out->reason)
					out->reason = json_str(t, "reason");
				if (!out->message)
					out->message = json_str(t, "message");
				return;
			}
		}
	}
	const char *r = NULL, *m = NULL;
	if (jobstate_condition(pod, "DisruptionTarget", &r, &m) == 1) {
		if (!out->reason)
			out->reason = r;
		if (!out->message)
			out->message = m;
	}
}

static int index_seen(const char **seen, int n, const char *idx)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(seen[i], idx))
			return 1;
	return 0;
}

static void set(struct jobstate_info *out, enum jobstate s, const cJSON *pod, const char *reason,
		const char *message)
{
	out->state = s;
	out->pod = pod;
	out->reason = reason;
	out->message = message;
}

void jobstate_derive(const cJSON *job, const cJSON *pod_list, struct jobstate_info *out)
{
	memset(out, 0, sizeof(*out));
	const cJSON *pods = pod_list && cJSON_IsObject(pod_list) ? cJSON_GetObjectItem(pod_list, "items")
								 : pod_list;

	/* Count the Job's pods; remember the ones that decide. */
	const cJSON *pod, *stuck = NULL, *running = NULL, *starting = NULL, *unsched = NULL,
		*last_failed = NULL, *fail_job = NULL, *any_succeeded = NULL;
	int counted_failures = 0, n_pods = 0, n_succeeded_idx = 0;
	const char **seen_idx = calloc((size_t)cJSON_GetArraySize(pods) + 1, sizeof(*seen_idx));
	const char *last_failed_time = "";
	cJSON_ArrayForEach(pod, pods) {
		if (!pod_of_job(pod, job))
			continue;
		n_pods++;
		const char *phase = json_str(pod, "status.phase");
		if (!phase)
			phase = "Pending";
		int deleting = json_get(pod, "metadata.deletionTimestamp") != NULL;
		if (!strcmp(phase, "Succeeded")) {
			out->succeeded++;
			any_succeeded = pod;
			const char *idx = annotation(pod, "batch.kubernetes.io/job-completion-index");
			if (!idx || !index_seen(seen_idx, n_succeeded_idx, idx))
				seen_idx[n_succeeded_idx++] = idx ? idx : "";
			continue;
		}
		if (!strcmp(phase, "Failed")) {
			out->failed++;
			const char *action = jobstate_pod_failure_action(job, pod);
			if (action && !strcmp(action, "FailJob") && !fail_job)
				fail_job = pod;
			if (!action || strcmp(action, "Ignore"))
				counted_failures++;
			/* the latest failure explains a retry best */
			const char *t = json_str(pod, "metadata.creationTimestamp");
			if (!last_failed || (t && strcmp(t, last_failed_time) >= 0)) {
				last_failed = pod;
				last_failed_time = t ? t : "";
			}
			continue;
		}
		if (deleting)
			continue; /* going away: neither pending nor running work */
		if (!strcmp(phase, "Running")) {
			out->running++;
		} else {
			out->pending++;
		}
		if (!stuck && jobstate_pod_stuck(pod, NULL, NULL, NULL, NULL))
			stuck = pod;
		else if (!strcmp(phase, "Running"))
			running = running ? running : pod;
		else if (json_str(pod, "spec.nodeName"))
			starting = starting ? starting : pod;
		else if (jobstate_condition(pod, "PodScheduled", NULL, NULL) == 0)
			unsched = unsched ? unsched : pod;
	}
	free(seen_idx);
	(void)n_pods;

	/* 1. What the Job says. */
	const char *r = NULL, *m = NULL;
	if (jobstate_condition(job, "Complete", &r, &m) == 1) {
		set(out, JOBSTATE_SUCCEEDED, any_succeeded, r, m);
		return;
	}
	if (jobstate_condition(job, "Failed", &r, &m) == 1) {
		if (fail_job || last_failed)
			failed_pod_reason(fail_job ? fail_job : last_failed, out);
		out->state = JOBSTATE_FAILED;
		if (r) { /* the Job's reason decides: BackoffLimitExceeded, DeadlineExceeded, ... */
			out->reason = r;
			out->message = m;
		}
		return;
	}
	if (jobstate_condition(job, "FailureTarget", &r, &m) == 1) {
		if (fail_job || last_failed)
			failed_pod_reason(fail_job ? fail_job : last_failed, out);
		out->state = JOBSTATE_FAILING;
		if (r) {
			out->reason = r;
			out->message = m;
		}
		return;
	}
	if (jobstate_condition(job, "SuccessCriteriaMet", &r, &m) == 1) {
		set(out, JOBSTATE_COMPLETING, any_succeeded, r, m);
		return;
	}
	if (cJSON_IsTrue(json_get(job, "spec.suspend"))) {
		const char *sr = NULL, *sm = NULL;
		jobstate_condition(job, "Suspended", &sr, &sm);
		set(out, JOBSTATE_QUEUED, NULL, sr, sm);
		return;
	}

	/* 2. What the pods say before the job controller has recorded it. */
	long completions = json_long(job, "spec.completions", 1);
	if (completions < 1)
		completions = 1;
	long succeeded = n_succeeded_idx;
	long st_succeeded = json_long(job, "status.succeeded", 0);
	if (st_succeeded > succeeded)
		succeeded = st_succeeded;
	const char *mode = json_str(job, "spec.completionMode");
	int indexed = mode && !strcmp(mode, "Indexed");
	/* NonIndexed without completions: one success ends the Job */
	if (!json_get(job, "spec.completions") && !indexed && succeeded > 0)
		succeeded = completions;
	if (succeeded >= completions) {
		set(out, JOBSTATE_COMPLETING, any_succeeded, NULL, NULL);
		return;
	}
	if (fail_job) {
		failed_pod_reason(fail_job, out);
		out->state = JOBSTATE_FAILING;
		out->reason = "PodFailurePolicy";
		return;
	}
	long limit = json_long(job, "spec.backoffLimit", 6);
	long st_failed = json_long(job, "status.failed", 0);
	if (st_failed > counted_failures)
		counted_failures = (int)st_failed;
	if (counted_failures > limit) {
		failed_pod_reason(last_failed, out);
		out->state = JOBSTATE_FAILING;
		out->reason = "BackoffLimitExceeded";
		return;
	}
	const char *cont = NULL;
	int init = 0;
	if (stuck) {
		set(out, JOBSTATE_STUCK, stuck, NULL, NULL);
		jobstate_pod_stuck(stuck, &out->reason, &out->message, &cont, &init);
		out->container = cont;
		out->init = init;
		return;
	}
	if (running) {
		set(out, JOBSTATE_RUNNING, running, NULL, NULL);
		return;
	}
	if (starting) {
		set(out, JOBSTATE_STARTING, starting, NULL, NULL);
		/* the container in the way: an init container first */
		static const char *const lists[] = { "status.initContainerStatuses", "status.containerStatuses" };
		for (size_t l = 0; l < 2 && !out->container; l++) {
			const cJSON *cs;
			cJSON_ArrayForEach(cs, json_get(starting, lists[l])) {
				if (json_get(cs, "state.terminated") &&
				    json_long(cs, "state.terminated.exitCode", 0) == 0)
					continue;
				out->container = json_str(cs, "name");
				out->init = l == 0;
				out->reason = json_str(cs, "state.waiting.reason");
				out->message = json_str(cs, "state.waiting.message");
				if (json_get(cs, "state.running"))
					out->reason = "Running";
				break;
			}
		}
		return;
	}
	if (unsched) {
		set(out, JOBSTATE_UNSCHEDULABLE, unsched, NULL, NULL);
		jobstate_condition(unsched, "PodScheduled", &out->reason, &out->message);
		return;
	}
	if (counted_failures > 0 && last_failed) {
		failed_pod_reason(last_failed, out);
		out->state = JOBSTATE_RETRYING;
		return;
	}
	set(out, JOBSTATE_PENDING, NULL, NULL, NULL);
	cJSON_ArrayForEach(pod, pods) {
		if (pod_of_job(pod, job) && !pod_is_terminal(pod) &&
		    !json_get(pod, "metadata.deletionTimestamp")) {
			out->pod = pod;
			break;
		}
	}
}

const char *jobstate_word(enum jobstate s)
{
	switch (s) {
	case JOBSTATE_QUEUED: return "Queued";
	case JOBSTATE_PENDING: return "Pending";
	case JOBSTATE_UNSCHEDULABLE: return "Unschedulable";
	case JOBSTATE_STARTING: return "Starting";
	case JOBSTATE_RUNNING: return "Running";
	case JOBSTATE_RETRYING: return "Retrying";
	case JOBSTATE_COMPLETING: return "Completing";
	case JOBSTATE_FAILING: return "Failing";
	case JOBSTATE_STUCK: return "Stuck";
	case JOBSTATE_SUCCEEDED: return "Succeeded";
	case JOBSTATE_FAILED: return "Failed";
	}
	return "Unknown";
}

int jobstate_finished(enum jobstate s)
{
	return s == JOBSTATE_SUCCEEDED || s == JOBSTATE_FAILED || s == JOBSTATE_COMPLETING ||
	       s == JOBSTATE_FAILING;
}

int jobstate_done(enum jobstate s)
{
	return jobstate_finished(s) || s == JOBSTATE_STUCK;
}

int jobstate_failed(enum jobstate s)
{
	return s == JOBSTATE_FAILED || s == JOBSTATE_FAILING || s == JOBSTATE_STUCK;
}
