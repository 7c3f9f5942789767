/* The state, numbers and failure causes of a fetch Job (see job_view.h). */
#include "job_view.h"

#include <stdlib.h>
#include <string.h>

#include "eidf/jobstate.h"
#include "eidf/manifest.h"
#include "eidf/util.h"
#include "fetch_spec.h"

const char *fetch_annotation(const cJSON *obj, const char *key)
{
	const cJSON *a = json_get(obj, "metadata.annotations");
	const cJSON *v = a ? cJSON_GetObjectItem(a, key) : NULL;
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *label_of(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(json_get(obj, "metadata.labels"), key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

long fetch_pod_index(const cJSON *pod)
{
	const char *s = fetch_annotation(pod, "batch.kubernetes.io/job-completion-index");
	return s ? strtol(s, NULL, 10) : 0;
}

long fetch_job_indexes(const cJSON *job)
{
	long n = json_long(job, "spec.completions", 1);
	return n < 1 || n > 1000 ? 1 : n;
}

int fetch_list_job_pods(struct kclient *kc, const char *ns, const char *job, cJSON **pods)
{
	char *sel = xasprintf("job-name=%s", job);
	struct klist_opts lo = { .label_selector = sel };
	int rc = kclient_list(kc, &KRES_PODS, ns, &lo, pods);
	free(sel);
	return rc;
}

static int newer(const cJSON *a, const cJSON *b)
{
	const char *x = json_str(a, "metadata.creationTimestamp");
	const char *y = json_str(b, "metadata.creationTimestamp");
	return x && y && strcmp(x, y) > 0;
}

void fetch_newest_pods(const cJSON *items, const cJSON **best, long nidx)
{
	const cJSON *pod;
	for (long i = 0; i < nidx; i++)
		best[i] = NULL;
	cJSON_ArrayForEach(pod, items) {
		long i = fetch_pod_index(pod);
		if (i < 0 || i >= nidx)
			continue;
		if (!best[i] || newer(pod, best[i]))
			best[i] = pod;
	}
}

int fetch_job_finished(const cJSON *job, int *ok)
{
	if (jobstate_condition(job, "Complete", NULL, NULL) == 1) {
		*ok = 1;
		return 1;
	}
	if (jobstate_condition(job, "Failed", NULL, NULL) == 1) {
		*ok = 0;
		return 1;
	}
	return 0;
}

const char *fetch_state_word(enum fetch_state s)
{
	static const char *const words[] = {
		[FS_QUEUED] = "Queued", [FS_PENDING] = "Pending", [FS_UNSCHEDULABLE] = "Unschedulable",
		[FS_STARTING] = "Starting", [FS_RUNNING] = "Running", [FS_RETRYING] = "Retrying",
		[FS_COMPLETING] = "Completing", [FS_FAILING] = "Failing", [FS_STUCK] = "Stuck",
		[FS_COMPLETE] = "Complete", [FS_FAILED] = "Failed",
	};
	return (unsigned)s < sizeof(words) / sizeof(words[0]) && words[s] ? words[s] : "Unknown";
}

int fetch_state_finished(enum fetch_state s)
{
	return s == FS_COMPLETING || s == FS_FAILING || s == FS_COMPLETE || s == FS_FAILED;
}

int fetch_state_ok(enum fetch_state s)
{
	return s == FS_COMPLETING || s == FS_COMPLETE;
}

static const char *phase_of(const cJSON *pod)
{
	const char *p = json_str(pod, "status.phase");
	return p ? p : "Pending";
}

/* The terminated state of the pod's container that failed: `fetch`, or with
 * --extract the `fetch` init container or the `extract` container after
 * it; else fetch's own terminated state, or NULL. */
static const cJSON *fetch_terminated(const cJSON *pod)
{
	static const char *const lists[] = { "status.initContainerStatuses", "status.containerStatuses" };
	const cJSON *cs, *found = NULL;
	for (size_t l = 0; l < 2; l++) {
		cJSON_ArrayForEach(cs, json_get(pod, lists[l])) {
			const char *n = json_str(cs, "name");
			const cJSON *t = json_get(cs, "state.terminated");
			if (!n || !t || (strcmp(n, FETCH_CONTAINER) && strcmp(n, FETCH_EXTRACT_CONTAINER)))
				continue;
			if (json_long(t, "exitCode", 0) != 0)
				return t;
			if (!strcmp(n, FETCH_CONTAINER))
				found = t;
		}
	}
	return found;
}

/* Has container `name` of the pod started (so it has a log)?  `list` is
 * "status.containerStatuses" or "status.initContainerStatuses". */
static int container_started(const cJSON *pod, const char *list, const char *name)
{
	const cJSON *cs;
	cJSON_ArrayForEach(cs, json_get(pod, list)) {
		const char *n = json_str(cs, "name");
		if (n && !strcmp(n, name))
			return json_get(cs, "state.running") || json_get(cs, "state.terminated");
	}
	return 0;
}

int fetch_pod_started(const cJSON *pod)
{
	if (strcmp(phase_of(pod), "Pending"))
		return 1;
	return container_started(pod, "status.initContainerStatuses", FETCH_CONTAINER);
}

int fetch_pod_extract_started(const cJSON *pod)
{
	return container_started(pod, "status.containerStatuses", FETCH_EXTRACT_CONTAINER);
}

int fetch_pod_has_extract(const cJSON *pod)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, json_get(pod, "spec.containers")) {
		const char *n = json_str(c, "name");
		if (n && !strcmp(n, FETCH_EXTRACT_CONTAINER))
			return 1;
	}
	return 0;
}

void fetch_pods_derive(const cJSON *job, const cJSON *pods, struct fetch_pods *out)
{
	static const enum fetch_state map[] = {
		[JOBSTATE_QUEUED] = FS_QUEUED, [JOBSTATE_PENDING] = FS_PENDING,
		[JOBSTATE_UNSCHEDULABLE] = FS_UNSCHEDULABLE, [JOBSTATE_STARTING] = FS_STARTING,
		[JOBSTATE_RUNNING] = FS_RUNNING, [JOBSTATE_RETRYING] = FS_RETRYING,
		[JOBSTATE_COMPLETING] = FS_COMPLETING, [JOBSTATE_FAILING] = FS_FAILING,
		[JOBSTATE_STUCK] = FS_STUCK, [JOBSTATE_SUCCEEDED] = FS_COMPLETE, [JOBSTATE_FAILED] = FS_FAILED,
	};
	struct jobstate_info info;
	memset(out, 0, sizeof(*out));
	out->exit_code = -1;
	jobstate_derive(job, pods, &info);
	out->state = map[info.state];
	/* --extract: a pod Pending while its `fetch` init container runs is
	 * downloading */
	if (info.state == JOBSTATE_STARTING && info.init && info.container && info.reason &&
	    !strcmp(info.container, FETCH_CONTAINER) && !strcmp(info.reason, "Running"))
		out->state = FS_RUNNING;
	out->failed_pods = info.failed;
	/* a pod that failed before the current one runs: still a retry */
	if (out->state == FS_RUNNING && info.failed)
		out->state = FS_RETRYING;
	switch (info.state) {
	case JOBSTATE_UNSCHEDULABLE:
	case JOBSTATE_STARTING:
	case JOBSTATE_STUCK:
		if (info.reason && strcmp(info.reason, "Running"))
			out->waiting = xstrdup(info.reason);
		break;
	case JOBSTATE_RETRYING:
	case JOBSTATE_FAILING:
	case JOBSTATE_FAILED:
		if (info.pod && !strcmp(phase_of(info.pod), "Failed"))
			out->failed_pod = info.pod;
		if (info.reason)
			out->exit_reason = xstrdup(info.reason);
		break;
	default:
		break;
	}
	/* the latest failed pod, when the derivation did not name one (a retry running) */
	if (!out->failed_pod && info.failed) {
		const cJSON *pod, *arr = pods && cJSON_IsObject(pods) ? cJSON_GetObjectItem(pods, "items") : pods;
		cJSON_ArrayForEach(pod, arr) {
			const char *jn = cJSON_IsString(cJSON_GetObjectItem(json_get(pod, "metadata.labels"), "job-name"))
				? cJSON_GetObjectItem(json_get(pod, "metadata.labels"), "job-name")->valuestring : NULL;
			if (!jn || !json_str(job, "metadata.name") || strcmp(jn, json_str(job, "metadata.name")))
				continue;
			if (!strcmp(phase_of(pod), "Failed") && (!out->failed_pod || newer(pod, out->failed_pod)))
				out->failed_pod = pod;
		}
	}
	const cJSON *t = out->failed_pod ? fetch_terminated(out->failed_pod) : NULL;
	if (t)
		out->exit_code = json_long(t, "exitCode", -1);
}

void fetch_pods_release(struct fetch_pods *p)
{
	free(p->waiting);
	free(p->exit_reason);
	memset(p, 0, sizeof(*p));
}

/* ---- logs ---------------------------------------------------------------- */

/* Feeds a log to the progress parser line by line as it streams, so a long
 * log is read to its end without being held in memory. */
struct log_scan {
	struct strbuf rest;
	struct fetch_progress *p;
};

static int scan_cb(const char *data, size_t len, void *ud)
{
	struct log_scan *s = ud;
	const char *end = data + len;
	while (data < end) {
		const char *nl = memchr(data, '\n', (size_t)(end - data));
		if (!nl) {
			if (s->rest.len < (64u << 10))   /* a line is never this long */
				strbuf_add(&s->rest, data, (size_t)(end - data));
			break;
		}
		if (s->rest.len) {
			strbuf_add(&s->rest, data, (size_t)(nl - data));
			fetch_progress_scan(s->p, s->rest.buf, s->rest.len);
			strbuf_reset(&s->rest);
		} else {
			fetch_progress_scan(s->p, data, (size_t)(nl - data));
		}
		data = nl + 1;
	}
	return 0;
}

void fetch_scan_log(struct kclient *kc, const char *ns, const cJSON *pod, long tail, struct fetch_progress *p)
{
	struct log_scan s = { STRBUF_INIT, p };
	struct klog_opts lo = { .container = FETCH_CONTAINER, .tail_lines = tail };
	/* a pod whose log cannot be read only loses its numbers */
	kclient_logs(kc, ns, json_str(pod, "metadata.name"), &lo, scan_cb, &s);
	if (s.rest.len)
		fetch_progress_scan(p, s.rest.buf, s.rest.len);
	strbuf_reset(&s.rest);
	/* --extract: the extractor's lines (a refused archive) after the download's */
	if (fetch_pod_extract_started(pod)) {
		lo.container = FETCH_EXTRACT_CONTAINER;
		kclient_logs(kc, ns, json_str(pod, "metadata.name"), &lo, scan_cb, &s);
		if (s.rest.len)
			fetch_progress_scan(p, s.rest.buf, s.rest.len);
	}
	strbuf_release(&s.rest);
}

/* ---- the view ------------------------------------------------------------- */

/* Why Kueue has not admitted a suspended Job: the queue and the
 * QuotaReserved=False reason/message of the Workload that the Job owns, e.g.
 * "Queued in ns-user-queue (Pending: couldn't assign flavors ...)". */
static char *queued_text(struct kclient *kc, const char *ns, const cJSON *job)
{
	const char *lab = label_of(job, "kueue.x-k8s.io/queue-name");
	const char *uid = json_str(job, "metadata.uid");
	char *queue = xstrdup(lab);
	char *why = NULL;
	cJSON *wls = NULL;
	/* a failure to read Workloads (e.g. RBAC) only loses the detail */
	if (uid && kclient_list(kc, &KRES_WORKLOADS, ns, NULL, &wls) == 0) {
		const cJSON *wl, *ref, *c;
		cJSON_ArrayForEach(wl, cJSON_GetObjectItem(wls, "items")) {
			int mine = 0;
			cJSON_ArrayForEach(ref, json_get(wl, "metadata.ownerReferences")) {
				const char *u = json_str(ref, "uid");
				if (u && !strcmp(u, uid))
					mine = 1;
			}
			if (!mine)
				continue;
			if (json_str(wl, "spec.queueName")) {
				free(queue);
				queue = xstrdup(json_str(wl, "spec.queueName"));
			}
			cJSON_ArrayForEach(c, json_get(wl, "status.conditions")) {
				const char *t = json_str(c, "type"), *st = json_str(c, "status");
				if (!t || !st || strcmp(t, "QuotaReserved") || strcmp(st, "False"))
					continue;
				const char *r = json_str(c, "reason"), *m = json_str(c, "message");
				free(why);
				why = (r && m) ? xasprintf("%s: %s", r, m) : xstrdup(m ? m : r);
			}
			break;
		}
	}
	cJSON_Delete(wls);
	/* one line in a table cell */
	for (char *p = why; p && *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	char *out;
	if (queue && why)
		out = xasprintf("Queued in %s (%s)", queue, why);
	else if (queue)
		out = xasprintf("Queued in %s", queue);
	else if (why)
		out = xasprintf("Queued (%s)", why);
	else
		out = xstrdup("Queued");
	free(queue);
	free(why);
	return out;
}

/* Why the pods failed, decided from the error lines' fields and the exit
 * code, never from text meant for people. */
static char *cause_text(const struct fetch_progress *errs, const struct fetch_pods *fp)
{
	char *s = fetch_errors_summary(errs->errors, errs->nerrors);
	if (s)
		return s;
	const char *r = fp->exit_reason;
	/* reasons that say no more than "it failed" */
	int generic = !r || !strcmp(r, "Error") || !strcmp(r, "Completed") ||
		      !strcmp(r, "PodFailurePolicy") || !strcmp(r, "BackoffLimitExceeded");
	if (fp->exit_code > 0) {
		const char *m = fetch_exit_meaning(fp->exit_code);
		if (!generic)
			return xasprintf("%s, exit code %ld", r, fp->exit_code);   /* OOMKilled */
		return m ? xstrdup(m) : xasprintf("exit code %ld", fp->exit_code);
	}
	return r ? xstrdup(r) : NULL;     /* Evicted, DeadlineExceeded, BackoffLimitExceeded */
}

static char *with_cause(const char *word, const char *cause)
{
	return cause ? xasprintf("%s: %s", word, cause) : xstrdup(word);
}

int fetch_view_load(struct kclient *kc, const char *ns, cJSON *job, struct fetch_view *v)
{
	memset(v, 0, sizeof(*v));
	v->job = job;
	v->name = json_str(job, "metadata.name");
	const char *files = fetch_annotation(job, FETCH_ANN_FILES);
	v->files_total = files ? strtol(files, NULL, 10) : 0;
	long nidx = fetch_job_indexes(job);

	cJSON *pods = NULL;
	if (fetch_list_job_pods(kc, ns, v->name, &pods) < 0)
		return -1;
	const cJSON *items = cJSON_GetObjectItem(pods, "items");
	if (json_str(pods, "metadata.resourceVersion"))
		v->pods_rv = xstrdup(json_str(pods, "metadata.resourceVersion"));
	struct fetch_pods fp;
	fetch_pods_derive(job, items, &fp);
	v->state = fp.state;

	const cJSON **best = xcalloc((size_t)nidx, sizeof(*best));
	fetch_newest_pods(items, best, nidx);
	for (long i = 0; i < nidx; i++) {
		if (!best[i] || !fetch_pod_started(best[i]))
			continue;
		struct fetch_progress p = { 0 };
		/* a failed pod's whole log: every failed file has its line */
		fetch_scan_log(kc, ns, best[i], strcmp(phase_of(best[i]), "Failed") ? 40 : -1, &p);
		fetch_progress_add(&v->prog, &p);
		fetch_progress_release(&p);
	}
	free(best);

	/* a retry in progress: the cause is in the last failed pod's log */
	struct fetch_progress earlier = { 0 };
	const struct fetch_progress *errs = &v->prog;
	if (!v->prog.nerrors && fp.failed_pod && !fetch_state_ok(v->state)) {
		fetch_scan_log(kc, ns, fp.failed_pod, -1, &earlier);
		errs = &earlier;
	}
	char *cause = NULL;
	switch (v->state) {
	case FS_QUEUED:
		v->state_text = queued_text(kc, ns, job);
		break;
	case FS_PENDING:
	case FS_UNSCHEDULABLE:
	case FS_STARTING:
		v->state_text = fp.waiting ? xasprintf("Pending (%s)", fp.waiting) : xstrdup("Pending");
		break;
	case FS_STUCK:
		v->state_text = xasprintf("Stuck (%s)", fp.waiting ? fp.waiting : "the pod cannot start");
		break;
	case FS_RUNNING:
		v->state_text = xstrdup("Running");
		break;
	case FS_RETRYING:
		cause = cause_text(errs, &fp);
		v->state_text = xasprintf("Retrying (%ld failed pod%s%s%s)", fp.failed_pods,
					  fp.failed_pods == 1 ? "" : "s", cause ? ": " : "", cause ? cause : "");
		break;
	case FS_COMPLETING:
		v->state_text = xstrdup("Completing");
		break;
	case FS_COMPLETE:
		v->state_text = xstrdup("Complete");
		break;
	case FS_FAILING:
		cause = cause_text(errs, &fp);
		v->state_text = with_cause("Failing", cause);
		break;
	case FS_FAILED:
		cause = cause_text(errs, &fp);
		v->state_text = with_cause("Failed", cause ? cause : "unknown");
		break;
	}
	free(cause);
	fetch_progress_release(&earlier);
	fetch_pods_release(&fp);
	cJSON_Delete(pods);

	if (fetch_state_finished(v->state))
		v->prog.rate = 0;
	if (fetch_state_ok(v->state)) {
		if (v->files_total)
			v->prog.files_done = v->files_total;
		v->fraction = 1;
		v->sizes_known = 1;
	} else {
		v->fraction = fetch_progress_fraction(&v->prog, v->files_total);
		/* the sizes of files not started yet are unknown */
		v->sizes_known = v->files_total <= 1 && v->prog.total;
	}
	return 0;
}

void fetch_view_release(struct fetch_view *v)
{
	cJSON_Delete(v->job);
	free(v->state_text);
	free(v->pods_rv);
	fetch_progress_release(&v->prog);
	memset(v, 0, sizeof(*v));
}
