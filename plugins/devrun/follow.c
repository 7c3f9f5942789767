#include "follow.h"

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devrun_job.h"
#include "eidf/cmd.h"
#include "eidf/humanize.h"
#include "eidf/jobstate.h"
#include "eidf/job_final.h"
#include "eidf/kevents.h"
#include "eidf/kueue_workload.h"
#include "eidf/kclient.h"
#include "eidf/manifest.h"
#include "eidf/options.h"
#include "eidf/output.h"
#include "eidf/waiting.h"

/* ---- pod and job state ---------------------------------------------------------------- */

static const cJSON *container_status(const cJSON *pod, const char *list, const char *name)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, json_get(pod, list)) {
		const char *n = json_str(c, "name");
		if (n && !strcmp(n, name))
			return c;
	}
	return NULL;
}

static const cJSON *main_status(const cJSON *pod)
{
	return container_status(pod, "status.containerStatuses", DEVRUN_MAIN_CONTAINER);
}

static const cJSON *init_status(const cJSON *pod)
{
	return container_status(pod, "status.initContainerStatuses", DEVRUN_INIT_CONTAINER);
}

long follow_main_exit_code(const cJSON *pod)
{
	const cJSON *t = json_get(main_status(pod), "state.terminated");
	return t ? json_long(t, "exitCode", -1) : -1;
}

static int pod_condition(const cJSON *pod, const char *type, const char **reason, const char **msg)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, json_get(pod, "status.conditions")) {
		const char *t = json_str(c, "type");
		if (t && !strcmp(t, type)) {
			if (reason)
				*reason = json_str(c, "reason");
			if (msg)
				*msg = json_str(c, "message");
			const char *s = json_str(c, "status");
			return s && !strcmp(s, "True") ? 1 : 0;
		}
	}
	return -1;
}

static int pod_disrupted(const cJSON *pod, const char **why)
{
	const char *reason = json_str(pod, "status.reason");
	const char *phase = json_str(pod, "status.phase");
	const char *r = NULL, *m = NULL;
	if (pod_condition(pod, "DisruptionTarget", &r, &m) == 1) {
		*why = m ? m : r ? r : "disrupted";
		return 1;
	}
	if (reason && (!strcmp(reason, "Evicted") || !strcmp(reason, "Preempted") ||
		       !strcmp(reason, "DeadlineExceeded") || !strcmp(reason, "NodeLost") ||
		       !strcmp(reason, "Shutdown") || !strcmp(reason, "UnexpectedAdmissionError"))) {
		const char *msg = json_str(pod, "status.message");
		*why = msg ? msg : reason;
		return 1;
	}
	/* failed without the main container having run to its end */
	if (phase && !strcmp(phase, "Failed") && follow_main_exit_code(pod) < 0) {
		const cJSON *is = json_get(init_status(pod), "state.terminated");
		if (!is || json_long(is, "exitCode", 0) == 0) {
			*why = reason ? reason : "the pod failed before the command ended";
			return 1;
		}
	}
	return 0;
}

int follow_pod_disrupted(const cJSON *pod, const char **why)
{
	return pod_disrupted(pod, why);
}

const cJSON *follow_main_status(const cJSON *pod)
{
	return main_status(pod);
}

const cJSON *follow_init_status(const cJSON *pod)
{
	return init_status(pod);
}

char *follow_pod_line(const cJSON *pod)
{
	const char *name = json_str(pod, "metadata.name");
	const char *reason = NULL, *msg = NULL;
	if (!name)
		return NULL;
	if (pod_condition(pod, "PodScheduled", &reason, &msg) == 0)
		return xasprintf("pod %s pending: %s%s%s", name, reason ? reason : "not scheduled",
				 msg ? ": " : "", msg ? msg : "");
	const char *node = json_str(pod, "spec.nodeName");
	const char *w = json_str(init_status(pod), "state.waiting.reason");
	if (!w)
		w = json_str(main_status(pod), "state.waiting.reason");
	if (w)
		return xasprintf("pod %s%s%s: %s", name, node ? " on " : "", node ? node : "", w);
	if (node)
		return xasprintf("pod %s scheduled on %s", name, node);
	return NULL;
}

/* The image of a container (init or app) from its status. */
static const char *status_image(const cJSON *pod, const char *container)
{
	const cJSON *cs = container_status(pod, "status.initContainerStatuses", container);
	if (!cs)
		cs = container_status(pod, "status.containerStatuses", container);
	return json_str(cs, "image");
}

char *follow_state_word(const cJSON *job, const cJSON *pods, long *exit_code)
{
	struct jobstate_info st;
	const char *why;
	jobstate_derive(job, pods, &st);
	const cJSON *pod = st.pod;
	if (exit_code)
		*exit_code = follow_main_exit_code(pod);
	switch (st.state) {
	case JOBSTATE_QUEUED:
	case JOBSTATE_PENDING:
	case JOBSTATE_UNSCHEDULABLE:
	case JOBSTATE_RETRYING:
		return xstrdup(jobstate_word(st.state));
	case JOBSTATE_STARTING:
		return xstrdup(json_get(init_status(pod), "state.running") ? "Fetching" : "Starting");
	case JOBSTATE_RUNNING:
		return xstrdup("Running");
	case JOBSTATE_COMPLETING: /* the pod succeeded: so did the run, whatever the Job says yet */
	case JOBSTATE_SUCCEEDED:
		return xstrdup("Succeeded");
	case JOBSTATE_FAILING:
	case JOBSTATE_FAILED:
		if (pod && pod_disrupted(pod, &why))
			return xstrdup("Evicted");
		if (pod && follow_main_exit_code(pod) < 0 &&
		    json_long(init_status(pod), "state.terminated.exitCode", 0))
			return xstrdup("CodeFailed");
		return xstrdup("Failed");
	case JOBSTATE_STUCK:
		/* it can never start: a failure, with devrun's exit code for it */
		if (exit_code)
			*exit_code = jobstate_reason_is_pull(st.reason) ? DEVRUN_EXIT_PULL : DEVRUN_EXIT_ERROR;
		return xstrdup("Failed");
	}
	return xstrdup("Unknown");
}

const char *meta_label(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(json_get(obj, "metadata.labels"), key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *meta_annotation(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(json_get(obj, "metadata.annotations"), key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- deletion ---------------------------------------------------------------------------- */

int follow_delete_by_label(struct kclient *kc, const char *ns, const char *run_id, int quiet)
{
	/* Services: the headless Service of a run on several nodes */
	static const struct kres *const kinds[] = { &KRES_JOBS, &KRES_SERVICES, &KRES_SECRETS, &KRES_PODS };
	static const char *const names[] = { "job.batch", "service", "secret", "pod" };
	char *sel = xasprintf("%s=%s", LABEL_RUN, run_id);
	struct klist_opts lo = { .label_selector = sel };
	int rc = 0;
	for (size_t k = 0; k < EIDF_ARRAY_SIZE(kinds); k++) {
		cJSON *list = NULL, *it;
		if (kclient_list(kc, kinds[k], ns, &lo, &list) < 0) {
			eidf_error("%s", eidf_last_error());
			rc = -1;
			continue;
		}
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(list, "items")) {
			const char *n = json_str(it, "metadata.name");
			const char *l = meta_label(it, LABEL_RUN);
			if (!n || !l || strcmp(l, run_id)) /* only this run's objects, whatever the server did */
				continue;
			if (kclient_delete(kc, kinds[k], ns, n, "Background", 0) < 0) {
				if (kclient_last_http_status(kc) == 404)
					continue;
				eidf_error("%s", eidf_last_error());
				rc = -1;
			} else if (!quiet && kinds[k] != &KRES_PODS) {
				fprintf(stderr, "%s \"%s\" deleted\n", names[k], n);
			}
		}
		cJSON_Delete(list);
	}
	free(sel);
	return rc;
}

/* ---- following ---------------------------------------------------------------------------- */

void follow_say_line(const char *line)
{
	fflush(stdout); /* the command's output so far comes first */
	fprintf(stderr, "%sdevrun:%s %s\n", color(stderr, COLOR_BOLD), color(stderr, COLOR_RESET), line);
	fflush(stderr);
}

struct fstate {
	struct eidf_cmd *cmd;
	struct kclient *kc;
	const struct follow_opts *o;
	char *queue;
	char *last_status;
	int was_suspended;
	int queued_detail_done;
	char *job_uid;
	char *job_rv;
	cJSON *pod;
	char *pod_name;
	char *pod_rv;         /* of the last pod event (to resume the watch) */
	char *last_pod_line;
	int want_main;        /* the init logs are done */
	int outcome;          /* -1: none yet */
	int stuck;            /* the pod can never start as specified */
	char *outcome_msg;
};

static void status(struct fstate *f, const char *fmt, ...) EIDF_PRINTF(2, 3);
static void status(struct fstate *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	if (f->last_status && !strcmp(f->last_status, s)) {
		free(s);
		return;
	}
	follow_say_line(s);
	free(f->last_status);
	f->last_status = s;
}

/* A line about the pod's state: printed when that state changes, even if
 * other lines (its events) came in between. */
static void pod_status(struct fstate *f, const char *fmt, ...) EIDF_PRINTF(2, 3);
static void pod_status(struct fstate *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	if (!f->last_pod_line || strcmp(f->last_pod_line, s))
		status(f, "%s", s);
	free(f->last_pod_line);
	f->last_pod_line = s;
}

static void set_outcome(struct fstate *f, int code, const char *fmt, ...) EIDF_PRINTF(3, 4);
static void set_outcome(struct fstate *f, int code, const char *fmt, ...)
{
	if (f->outcome >= 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	f->outcome_msg = xvasprintf(fmt, ap);
	va_end(ap);
	f->outcome = code;
}

#define QUEUED_DETAIL_AFTER_MS 1500

static int job_cb(const char *type, const cJSON *job, void *ud)
{
	struct fstate *f = ud;
	if (!strcmp(type, "DELETED")) {
		set_outcome(f, DEVRUN_EXIT_GONE, "job.batch/%s was deleted", f->o->job);
		return 1;
	}
	if (!f->job_uid && json_str(job, "metadata.uid"))
		f->job_uid = xstrdup(json_str(job, "metadata.uid"));
	const cJSON *c;
	cJSON_ArrayForEach(c, json_get(job, "status.conditions")) {
		const char *t = json_str(c, "type"), *s = json_str(c, "status");
		if (t && s && !strcmp(s, "True") && (!strcmp(t, "Complete") || !strcmp(t, "Failed")))
			return 1; /* the pod tells the rest */
	}
	if (cJSON_IsTrue(json_get(job, "spec.suspend"))) {
		/* remembered so that a watch that times out resumes from here */
		free(f->job_rv);
		f->job_rv = xstrdup(json_str(job, "metadata.resourceVersion"));
		if (!f->was_suspended) {
			f->was_suspended = 1;
			status(f, "queued in %s: waiting for Kueue to admit the workload", f->queue);
		}
		return 0;
	}
	if (f->was_suspended)
		status(f, "admitted by Kueue (queue %s)", f->queue);
	return 1;
}

/* Why a queued workload waits, from its Kueue Workload (best effort). */
static void queued_detail(struct fstate *f)
{
	f->queued_detail_done = 1;
	char *msg = kueue_pending_message(f->kc, f->o->ns, f->job_uid);
	if (msg)
		status(f, "queued in %s: %s", f->queue, msg);
	free(msg);
}

static int pod_cb(const char *type, const cJSON *pod, void *ud)
{
	struct fstate *f = ud;
	const char *name = json_str(pod, "metadata.name");
	const char *rv = json_str(pod, "metadata.resourceVersion");
	if (rv) {
		free(f->pod_rv);
		f->pod_rv = xstrdup(rv);
	}
	if (!name)
		return 0;
	if (f->pod_name && strcmp(f->pod_name, name)) {
		/* a newer pod (after a requeue): follow it if ours is gone */
		if (!strcmp(type, "DELETED") || f->pod)
			return 0;
	}
	if (!strcmp(type, "DELETED")) {
		if (f->pod_name && !strcmp(f->pod_name, name)) {
			if (follow_main_exit_code(pod) >= 0) {
				cJSON_Delete(f->pod);
				f->pod = cJSON_Duplicate(pod, 1);
				return 1;
			}
			const char *why = "deleted (preempted by Kueue, evicted or deleted by hand)", *w2;
			if (pod_disrupted(pod, &w2))
				why = w2;
			set_outcome(f, DEVRUN_EXIT_GONE, "pod %s was stopped: %s", name, why);
			return 1;
		}
		return 0;
	}
	if (!f->pod_name)
		f->pod_name = xstrdup(name);
	cJSON_Delete(f->pod);
	f->pod = cJSON_Duplicate(pod, 1);

	const char *why = NULL, *sr = NULL, *sm = NULL, *sc = NULL;
	if (jobstate_pod_stuck(pod, &sr, &sm, &sc, NULL)) {
		/* the kubelet retries for ever: the run can never progress */
		const char *img = status_image(pod, sc ? sc : "");
		f->stuck = 1;
		if (jobstate_reason_is_pull(sr))
			set_outcome(f, DEVRUN_EXIT_PULL, "cannot pull image %s: %s", img ? img : "?",
				     sm ? sm : sr);
		else
			set_outcome(f, DEVRUN_EXIT_ERROR, "pod %s cannot start container %s: %s%s%s", name,
				    sc ? sc : "?", sr, sm ? ": " : "", sm ? sm : "");
		return 1;
	}
	if (json_get(main_status(pod), "state.terminated"))
		return 1;
	if (pod_disrupted(pod, &why)) {
		set_outcome(f, DEVRUN_EXIT_GONE, "pod %s was stopped: %s", name, why);
		return 1;
	}
	const cJSON *is = init_status(pod);
	if (!f->want_main && (json_get(is, "state.running") || json_get(is, "state.terminated")))
		return 1;
	if (f->want_main && json_get(is, "state.terminated") &&
	    json_long(is, "state.terminated.exitCode", 0) != 0)
		return 1;
	if (json_get(main_status(pod), "state.running"))
		return 1;

	char *line = follow_pod_line(pod);
	if (line)
		pod_status(f, "%s", line);
	free(line);
	return 0;
}

/* After this long without a change to a pod that has not started, its
 * Warning events are read (one request) for the reason: FailedMount,
 * FailedCreatePodSandBox, ... */
#define POD_EVENTS_AFTER_MS 10000

static void pod_events(struct fstate *f)
{
	if (!f->pod_name)
		return;
	struct kevent_warning w;
	/* the scheduler's reason is already shown from the PodScheduled condition */
	int unscheduled = f->pod && pod_condition(f->pod, "PodScheduled", NULL, NULL) == 0;
	int rc = kevents_latest_warning(f->kc, f->o->ns, "Pod", f->pod_name,
					unscheduled ? "FailedScheduling" : NULL, &w);
	if (rc < 0 && !wait_stopped())
		eidf_warning("cannot read the events of pod %s: %s", f->pod_name, eidf_last_error());
	if (rc == 1)
		status(f, "pod %s: %s: %s", f->pod_name, w.reason, w.message);
	if (rc == 1)
		kevent_warning_release(&w);
}

/* Ctrl-C and --timeout: the shared waiting helper (eidf/waiting.h) raises
 * its flag and the client's abort switch ends whatever request is blocking;
 * the code below then returns normally. */

/* ---- log streaming ------------------------------------------------------------------------ */

static int log_cb(const char *data, size_t len, void *ud)
{
	log_dedup_feed(ud, data, len);
	return 0;
}

/* Stream one container until it has terminated, reconnecting as needed.
 * 0: terminated (*pod refreshed), -1: the pod is gone, -2: API error,
 * -3: stopped by a signal. */
static int stream_container(struct kclient *kc, const char *ns, const char *pod_name,
			    const char *container, int init, FILE *out, int keep_ts, cJSON **pod)
{
	struct log_dedup d;
	log_dedup_init(&d, out, keep_ts);
	int rc = -2, fails = 0;
	for (;;) {
		char *since = log_dedup_since(&d);
		struct klog_opts lo = { .container = container, .follow = 1, .timestamps = 1,
					.since_time = since, .tail_lines = -1 };
		int lrc = kclient_logs(kc, ns, pod_name, &lo, log_cb, &d);
		free(since);
		cJSON *p = NULL;
		if (wait_stopped()) {
			log_dedup_flush(&d);
			rc = -3;
			break;
		}
		if (kclient_get(kc, &KRES_PODS, ns, pod_name, &p) < 0) {
			if (wait_stopped()) {
				log_dedup_flush(&d);
				rc = -3;
				break;
			}
			rc = kclient_last_http_status(kc) == 404 ? -1 : -2;
			if (rc == -2)
				eidf_error("%s", eidf_last_error());
			break;
		}
		cJSON_Delete(*pod);
		*pod = p;
		const cJSON *cs = init ? init_status(p) : main_status(p);
		if (json_get(cs, "state.terminated")) {
			/* the rest of the log, in case the stream was cut near the end */
			log_dedup_reconnect(&d);
			since = log_dedup_since(&d);
			struct klog_opts last = { .container = container, .timestamps = 1,
						  .since_time = since, .tail_lines = -1 };
			kclient_logs(kc, ns, pod_name, &last, log_cb, &d);
			free(since);
			log_dedup_flush(&d);
			rc = 0;
			break;
		}
		const char *why;
		if (pod_disrupted(p, &why) || json_str(p, "metadata.deletionTimestamp")) {
			rc = -1;
			break;
		}
		log_dedup_reconnect(&d);
		if (lrc < 0 && ++fails > 30) {
			eidf_error("%s", eidf_last_error());
			break;
		}
		wait_sleep_ms(lrc < 0 ? 1000 : 200);
	}
	log_dedup_release(&d);
	return rc;
}

static void fstate_release(struct fstate *f)
{
	free(f->queue);
	free(f->last_status);
	free(f->job_uid);
	free(f->job_rv);
	cJSON_Delete(f->pod);
	free(f->pod_name);
	free(f->pod_rv);
	free(f->last_pod_line);
	free(f->outcome_msg);
}

static int follow_inner(struct fstate *f)
{
	const struct follow_opts *o = f->o;
	/* 1. the Job: queued in Kueue until admitted */
	char *fsel = xasprintf("metadata.name=%s", o->job);
	for (;;) {
		struct klist_opts lo = { .field_selector = fsel, .resource_version = f->job_rv };
		/* Kueue usually admits at once; only a Job still queued after a
		 * moment gets its Workload read for the reason (one request). */
		long wait_ms = f->queued_detail_done ? 0 : QUEUED_DETAIL_AFTER_MS;
		int wrc = kclient_watch(f->kc, &KRES_JOBS, o->ns, &lo, wait_ms, job_cb, f);
		if (wait_stopped()) {
			free(fsel);
			return FOLLOW_STOPPED;
		}
		if (wrc < 0) {
			eidf_error("%s", eidf_last_error());
			free(fsel);
			return DEVRUN_EXIT_ERROR;
		}
		if (wrc == 1 && f->outcome < 0) { /* timed out: still waiting */
			if (f->was_suspended)
				queued_detail(f);
			f->queued_detail_done = 1;
			continue;
		}
		break;
	}
	free(fsel);
	if (f->outcome >= 0)
		return f->outcome;

	/* 2. the pod: scheduling, init (code fetch), main */
	char *sel = xasprintf("%s=%s", LABEL_RUN, o->run_id);
	int rc = -1;
	int resume = 0;
	while (f->outcome < 0) {
		/* after a quiet spell, resume where the watch was: the pod is not
		 * announced (and its status line printed) again */
		struct klist_opts lo = { .label_selector = sel,
					 .resource_version = resume ? f->pod_rv : NULL };
		resume = 0;
		/* a pod that does not start says why only in its events: look
		 * when it has been quiet for a while (never on a normal start) */
		long quiet_ms = f->want_main ? 0 : POD_EVENTS_AFTER_MS;
		int wrc = kclient_watch(f->kc, &KRES_PODS, o->ns, &lo, quiet_ms, pod_cb, f);
		if (wait_stopped()) {
			rc = FOLLOW_STOPPED;
			break;
		}
		if (wrc < 0) {
			eidf_error("%s", eidf_last_error());
			rc = DEVRUN_EXIT_ERROR;
			break;
		}
		if (wrc == 1 && f->outcome < 0) {
			pod_events(f);
			resume = f->pod_rv != NULL;
			continue;
		}
		if (f->outcome >= 0 || !f->pod)
			break;
		const cJSON *is = init_status(f->pod);
		if (!f->want_main) {
			f->want_main = 1;
			if (o->init_running && json_get(is, "state.running")) {
				int urc = o->init_running(f->pod_name, o->init_running_ud);
				if (wait_stopped()) {
					rc = FOLLOW_STOPPED;
					break;
				}
				if (urc || o->detach_after_init) {
					rc = urc ? DEVRUN_EXIT_ERROR : 0;
					break;
				}
			}
			if (!o->attach || json_get(is, "state.running")) {
				status(f, "fetching the code (init container)");
				int src = stream_container(f->kc, o->ns, f->pod_name, DEVRUN_INIT_CONTAINER, 1,
							   stderr, 0, &f->pod);
				if (src == -3) {
					rc = FOLLOW_STOPPED;
					break;
				}
				if (src == -1) {
					set_outcome(f, DEVRUN_EXIT_GONE, "pod %s was deleted while fetching the code",
						    f->pod_name);
					break;
				}
				if (src == -2) {
					rc = DEVRUN_EXIT_ERROR;
					break;
				}
				is = init_status(f->pod);
			}
		}
		const cJSON *it = json_get(is, "state.terminated");
		if (it && json_long(it, "exitCode", 0) != 0) {
			set_outcome(f, DEVRUN_EXIT_ERROR, "fetching the code failed (init container exit code %ld%s%s)",
				    json_long(it, "exitCode", 0), json_str(it, "reason") ? ": " : "",
				    json_str(it, "reason") ? json_str(it, "reason") : "");
			break;
		}
		const cJSON *ms = main_status(f->pod);
		if (!json_get(ms, "state.running") && !json_get(ms, "state.terminated"))
			continue; /* watch on until the command starts */
		if (json_get(ms, "state.running"))
			status(f, "running in pod %s", f->pod_name);
		int src = stream_container(f->kc, o->ns, f->pod_name, DEVRUN_MAIN_CONTAINER, 0,
					   o->log_out ? o->log_out : stdout, 0, &f->pod);
		if (src == -3) {
			rc = FOLLOW_STOPPED;
			break;
		}
		if (src == -2) {
			rc = DEVRUN_EXIT_ERROR;
			break;
		}
		long code = follow_main_exit_code(f->pod);
		const char *why = "deleted";
		/* A disruption (Kueue preemption, eviction) stops the command: it then
		 * exits with the signal's code (143) while the pod carries
		 * DisruptionTarget, as a real kubelet reports it before the pod goes. */
		int disrupted = f->pod && code != 0 && pod_disrupted(f->pod, &why);
		if (src == -1 || code < 0 || disrupted) {
			set_outcome(f, DEVRUN_EXIT_GONE, "pod %s was stopped before the command ended: %s",
				    f->pod_name, why);
			break;
		}
		const char *reason = json_str(main_status(f->pod), "state.terminated.reason");
		if (code == 0)
			set_outcome(f, 0, "succeeded (exit code 0)");
		else
			set_outcome(f, (int)(code > 255 ? 255 : code), "failed: exit code %ld%s%s%s", code,
				    reason ? " (" : "", reason ? reason : "", reason ? ")" : "");
	}
	free(sel);
	if (rc == FOLLOW_STOPPED || (rc >= 0 && f->outcome < 0))
		return rc;
	return f->outcome >= 0 ? f->outcome : DEVRUN_EXIT_ERROR;
}

static int follow_cb(void *ud)
{
	return follow_inner(ud);
}

static void status_cb(void *ud, const char *line)
{
	status(ud, "%s", line);
}

int follow_run(struct eidf_cmd *cmd, const struct follow_opts *o)
{
	struct fstate f;
	memset(&f, 0, sizeof(f));
	f.cmd = cmd;
	f.o = o;
	f.outcome = -1;
	f.kc = cmd_client(cmd);
	if (!f.kc)
		return DEVRUN_EXIT_ERROR;
	f.queue = policy_queue_name(o->ns, o->queue);
	struct follower fr = { .follow = follow_cb, .status = status_cb, .ud = &f,
			       .outcome_msg = &f.outcome_msg, .stuck = &f.stuck };
	int code = follow_drive(cmd, f.kc, o, &fr);
	fstate_release(&f);
	return code;
}

/* ---- the frame both followers share ------------------------------------------------------ */

static void say(const struct follower *fr, const char *fmt, ...) EIDF_PRINTF(2, 3);
static void say(const struct follower *fr, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	fr->status(fr->ud, s);
	free(s);
}

/* -o: how long the Job may take to record an end its pods already show */
#define FINAL_JOB_WAIT_MS 30000

int follow_finish(struct kclient *kc, const struct follow_opts *o, const struct follower *fr, int code)
{
	wait_end_quiet(code); /* the client goes on working for --rm */
	if (*fr->outcome_msg)
		say(fr, "%s", *fr->outcome_msg);
	if (o->final_job) {
		*o->final_job = job_final_object(kc, o->ns, o->job, FINAL_JOB_WAIT_MS);
		if (!*o->final_job)
			eidf_warning("cannot read job.batch/%s for -o: %s", o->job, eidf_last_error());
	}
	if (o->rm) {
		follow_delete_by_label(kc, o->ns, o->run_id, 0);
	} else if (*fr->stuck && !o->keep_failed) {
		/* Kueue admitted the Job and keeps its quota (GPUs) while a pod
		 * waits for ever: nothing is gained by keeping it */
		say(fr, "the run can never start; deleting its objects so that they hold no quota "
		    "(--keep-failed keeps them)");
		follow_delete_by_label(kc, o->ns, o->run_id, 0);
	} else if (*fr->stuck) {
		say(fr, "kept job.batch/%s (--keep-failed); it holds its quota until deleted: "
		    "kubectl eidf devrun delete %s -n %s", o->job, o->job, o->ns);
	}
	return code;
}

int follow_drive(struct eidf_cmd *cmd, struct kclient *kc, const struct follow_opts *o,
		 const struct follower *fr)
{
	long timeout_ms = 0;
	if (o->timeout) {
		timeout_ms = parse_duration_ms(o->timeout);
		if (timeout_ms < 0) {
			eidf_error("invalid value \"%s\" for --timeout: use a duration such as 30m", o->timeout);
			return EIDF_EXIT_USAGE;
		}
	}
	char *subject = xasprintf("job.batch/%s", o->job);
	char *h_follow = xasprintf("kubectl eidf devrun attach %s -n %s", o->job, o->ns);
	char *h_logs = xasprintf("kubectl eidf devrun logs %s -n %s -f", o->job, o->ns);
	char *h_cancel = xasprintf("kubectl eidf devrun delete %s -n %s", o->job, o->ns);
	char *h_timeout = o->timeout ? xasprintf("--timeout %s", o->timeout) : NULL;
	struct wait_hints hints = { .subject = subject, .timeout = h_timeout, .follow = h_follow,
				    .logs = h_logs, .cancel = h_cancel };
	int code;
	if (wait_begin(cmd, &hints, timeout_ms) < 0) {
		code = DEVRUN_EXIT_ERROR;
	} else {
		code = fr->follow(fr->ud);
		enum wait_why why = wait_reason();
		if (code == FOLLOW_STOPPED || why == WAIT_NO_API) {
			fflush(stdout);
			if (o->rm && why != WAIT_NO_API) {
				wait_end_quiet(0);
				if (why == WAIT_TIMEOUT) {
					code = DEVRUN_EXIT_TIMEOUT;
					fprintf(stderr, "\ndevrun: --timeout %s reached; deleting job.batch/%s (--rm)\n",
						o->timeout, o->job);
				} else {
					code = DEVRUN_EXIT_DETACHED;
					fprintf(stderr, "\ndevrun: interrupted; deleting job.batch/%s (--rm)\n", o->job);
				}
			} else {
				/* the run goes on: what happened, and how to follow or cancel it */
				code = wait_end(code == FOLLOW_STOPPED ? DEVRUN_EXIT_TIMEOUT : code);
			}
		}
	}
	code = follow_finish(kc, o, fr, code);
	free(subject);
	free(h_follow);
	free(h_logs);
	free(h_cancel);
	free(h_timeout);
	return code;
}

/* ---- devrun logs ---------------------------------------------------------------------------- */

int follow_logs(struct eidf_cmd *cmd, const char *ns, const char *run_id,
		const char *container, int follow, int timestamps)
{
	struct kclient *kc = cmd_client(cmd);
	if (!kc || !run_id)
		return EIDF_EXIT_ERROR;
	char *sel = xasprintf("%s=%s", LABEL_RUN, run_id);
	struct klist_opts lo = { .label_selector = sel };
	cJSON *list = NULL, *it;
	int rc = EIDF_EXIT_ERROR;
	if (kclient_list(kc, &KRES_PODS, ns, &lo, &list) < 0) {
		eidf_error("%s", eidf_last_error());
		goto out;
	}
	const char *best = NULL, *bt = "";
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(list, "items")) {
		const char *t = json_str(it, "metadata.creationTimestamp");
		if (t && strcmp(t, bt) >= 0) {
			bt = t;
			best = json_str(it, "metadata.name");
		}
	}
	if (!best) {
		eidf_error("run %s has no pod yet (queued or pending: kubectl eidf devrun attach shows why)", run_id);
		goto out;
	}
	if (!follow) {
		struct log_dedup d;
		log_dedup_init(&d, stdout, timestamps);
		struct klog_opts ko = { .container = container, .timestamps = 1, .tail_lines = -1 };
		int lrc = kclient_logs(kc, ns, best, &ko, log_cb, &d);
		log_dedup_flush(&d);
		log_dedup_release(&d);
		if (lrc < 0) {
			eidf_error("%s", eidf_last_error());
			goto out;
		}
		rc = 0;
		goto out;
	}
	cJSON *pod = NULL;
	char *subject = xasprintf("pod/%s", best);
	struct wait_hints hints = { .subject = subject };
	if (wait_begin(cmd, &hints, 0) < 0) {
		free(subject);
		goto out;
	}
	int src = stream_container(kc, ns, best, container, !strcmp(container, DEVRUN_INIT_CONTAINER),
				   stdout, timestamps, &pod);
	cJSON_Delete(pod);
	rc = wait_end(src == 0 ? 0 : EIDF_EXIT_ERROR);
	free(subject);
out:
	cJSON_Delete(list);
	free(sel);
	return rc;
}
