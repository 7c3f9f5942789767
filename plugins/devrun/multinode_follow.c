/* Following a run on several nodes (see multinode_follow.h).
 *
 * The single-pod follower (follow.c) streams one log on the client's one
 * connection; N ranks cannot share it that way, so this one polls: every
 * poll interval the Job is read (queued/admitted), the run's pods are
 * listed (one per rank: the newest pod of each completion index), and each
 * started container's new log lines are read with timestamps and merged in
 * time order with a "[rank] " prefix (eidf/log_merge.h, the same code as
 * `fetch logs -f`).  The outcome comes from the pods' container states, never
 * from the logs ending. */
#include "multinode_follow.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devrun_job.h"
#include "multinode.h"
#include "eidf/cmd.h"
#include "eidf/jobstate.h"
#include "eidf/kueue_workload.h"
#include "eidf/kclient.h"
#include "eidf/log_merge.h"
#include "eidf/manifest.h"
#include "eidf/output.h"
#include "eidf/waiting.h"

static long poll_ms(void)
{
	const char *e = getenv("EIDF_DEVRUN_POLL_MS");
	long v = e ? strtol(e, NULL, 10) : 0;
	return v > 0 ? v : 1000;
}

long multinode_job_ranks(const cJSON *job)
{
	const char *mode = json_str(job, "spec.completionMode");
	if (!mode || strcmp(mode, "Indexed"))
		return 0;
	long n = json_long(job, "spec.completions", 0);
	return n >= 1 && n <= DEVRUN_MAX_NODES ? n : 0;
}

static long pod_rank(const cJSON *pod)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(json_get(pod, "metadata.annotations"),
							  ANNOT_COMPLETION_INDEX);
	if (!cJSON_IsString(v) || !*v->valuestring)
		return -1;
	char *end;
	long r = strtol(v->valuestring, &end, 10);
	return *end ? -1 : r;
}

static int started(const cJSON *cs)
{
	return json_get(cs, "state.running") || json_get(cs, "state.terminated");
}

static int pod_terminal(const cJSON *pod)
{
	const char *phase = json_str(pod, "status.phase");
	return phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
}

/* The newest pod of each rank (a requeued workload gets new pods). */
static void newest_per_rank(const cJSON *items, const cJSON **best, long n)
{
	const cJSON *p;
	for (long i = 0; i < n; i++)
		best[i] = NULL;
	cJSON_ArrayForEach(p, items) {
		long r = pod_rank(p);
		if (r < 0 || r >= n)
			continue;
		const char *t = json_str(p, "metadata.creationTimestamp");
		const char *bt = best[r] ? json_str(best[r], "metadata.creationTimestamp") : NULL;
		if (!best[r] || (t && bt && strcmp(t, bt) > 0))
			best[r] = p;
	}
}

/* ---- following -------------------------------------------------------------------- */

struct rank {
	char *pod;            /* the pod followed for this rank */
	char *line;           /* its last status line */
	int uploaded;         /* exec transport: the changes are in */
	int fetching_said, running_said;
	int ended;            /* its command (or code fetch) ended, or the pod is gone */
	long code;            /* exit code once ended with a failure, else -1 */
	int init_failed;
	char *finished_at;
	int deleted;          /* the pod was being deleted when it ended */
	long seen;            /* order in which its failure was seen */
};

struct mstate {
	struct kclient *kc;
	const struct follow_opts *o;
	long n;
	struct rank *r;
	char *queue;
	char *last_status;
	char *job_uid;
	int was_suspended, admitted_said, queued_detail_done;
	int64_t queued_at;
	long seen_seq;
	struct log_merge init_logs, main_logs;
	int outcome;          /* -1: none yet */
	char *outcome_msg;
	int stuck;
};

static void say(struct mstate *m, const char *fmt, ...) EIDF_PRINTF(2, 3);
static void say(struct mstate *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	if (m->last_status && !strcmp(m->last_status, s)) {
		free(s);
		return;
	}
	follow_say_line(s);
	free(m->last_status);
	m->last_status = s;
}

/* A rank's state line, printed when it changes. */
static void rank_say(struct mstate *m, long r, const char *fmt, ...) EIDF_PRINTF(3, 4);
static void rank_say(struct mstate *m, long r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	if (!m->r[r].line || strcmp(m->r[r].line, s))
		say(m, "rank %ld: %s", r, s);
	free(m->r[r].line);
	m->r[r].line = s;
}

static void set_outcome(struct mstate *m, int code, const char *fmt, ...) EIDF_PRINTF(3, 4);
static void set_outcome(struct mstate *m, int code, const char *fmt, ...)
{
	if (m->outcome >= 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	m->outcome_msg = xvasprintf(fmt, ap);
	va_end(ap);
	m->outcome = code;
}

/* Why a queued workload waits, from its Kueue Workload (one request). */
static void queued_detail(struct mstate *m)
{
	m->queued_detail_done = 1;
	char *msg = kueue_pending_message(m->kc, m->o->ns, m->job_uid);
	if (msg)
		say(m, "queued in %s: %s", m->queue, msg);
	free(msg);
}

/* The Job: queued or admitted.  0 on, 1 the Job is gone, -1 API error. */
static int look_at_job(struct mstate *m, int *finished)
{
	cJSON *job = NULL;
	*finished = 0;
	if (kclient_get(m->kc, &KRES_JOBS, m->o->ns, m->o->job, &job) < 0)
		return kclient_last_http_status(m->kc) == 404 ? 1 : -1;
	if (!m->job_uid && json_str(job, "metadata.uid"))
		m->job_uid = xstrdup(json_str(job, "metadata.uid"));
	*finished = jobstate_condition(job, "Complete", NULL, NULL) == 1 ||
		    jobstate_condition(job, "Failed", NULL, NULL) == 1;
	if (cJSON_IsTrue(json_get(job, "spec.suspend")) && !*finished) {
		if (!m->was_suspended) {
			m->was_suspended = 1;
			m->queued_at = monotonic_ms();
			say(m, "queued in %s: waiting for Kueue to admit the workload (%ld pods)", m->queue, m->n);
		} else if (!m->queued_detail_done && monotonic_ms() - m->queued_at >= 1500) {
			queued_detail(m);
		}
		m->admitted_said = 0;
	} else if (!m->admitted_said && !*finished) {
		/* also when Kueue admitted it before the first look */
		m->admitted_said = 1;
		say(m, "admitted by Kueue (queue %s): %ld pods", m->queue, m->n);
	}
	cJSON_Delete(job);
	return 0;
}

static void note_failure(struct mstate *m, struct rank *r, const cJSON *pod, const cJSON *term, int init)
{
	if (r->ended)
		return;
	r->ended = 1;
	r->code = json_long(term, "exitCode", 1);
	r->init_failed = init;
	r->deleted = json_str(pod, "metadata.deletionTimestamp") != NULL;
	r->finished_at = xstrdup(json_str(term, "finishedAt") ? json_str(term, "finishedAt") : "");
	r->seen = m->seen_seq++;
}

/* The rank whose failure came first: by finish time, then one that failed
 * by itself before one stopped by the deletion of its pod (the job
 * controller stops the other ranks once one failed), then as seen. */
static long first_failure(const struct mstate *m)
{
	long best = -1;
	for (long i = 0; i < m->n; i++) {
		const struct rank *r = &m->r[i];
		if (!r->ended || r->code <= 0)
			continue;
		if (best < 0) {
			best = i;
			continue;
		}
		const struct rank *b = &m->r[best];
		int c = strcmp(r->finished_at, b->finished_at);
		if (c < 0 || (c == 0 && (r->deleted < b->deleted ||
					 (r->deleted == b->deleted && r->seen < b->seen))))
			best = i;
	}
	return best;
}

/* One pod of the run: status lines, the exec upload, failures.  0 on, 1 its
 * outcome is decided (stuck, disrupted), -1 devrun's own error. */
static int look_at_pod(struct mstate *m, long i, const cJSON *pod)
{
	struct rank *r = &m->r[i];
	const char *name = json_str(pod, "metadata.name");
	if (!name)
		return 0;
	if (!r->pod || strcmp(r->pod, name)) {
		free(r->pod);
		r->pod = xstrdup(name);
	}
	const char *sr = NULL, *sm = NULL, *sc = NULL, *why = NULL;
	if (jobstate_pod_stuck(pod, &sr, &sm, &sc, NULL)) {
		m->stuck = 1;
		if (jobstate_reason_is_pull(sr))
			set_outcome(m, DEVRUN_EXIT_PULL, "rank %ld (pod %s) cannot pull its image: %s", i, name,
				    sm ? sm : sr);
		else
			set_outcome(m, DEVRUN_EXIT_ERROR, "rank %ld (pod %s) cannot start container %s: %s%s%s",
				    i, name, sc ? sc : "?", sr, sm ? ": " : "", sm ? sm : "");
		return 1;
	}
	const cJSON *is = follow_init_status(pod), *ms = follow_main_status(pod);
	const cJSON *mterm = json_get(ms, "state.terminated"), *iterm = json_get(is, "state.terminated");
	if (mterm) {
		if (json_long(mterm, "exitCode", 1) != 0)
			note_failure(m, r, pod, mterm, 0);
		else if (!r->ended) {
			r->ended = 1;
			r->code = 0;
		}
		return 0;
	}
	if (iterm && json_long(iterm, "exitCode", 0) != 0) {
		note_failure(m, r, pod, iterm, 1);
		return 0;
	}
	if (follow_pod_disrupted(pod, &why)) {
		set_outcome(m, DEVRUN_EXIT_GONE, "rank %ld (pod %s) was stopped: %s", i, name, why);
		return 1;
	}
	if (json_get(ms, "state.running")) {
		if (!r->running_said) {
			r->running_said = 1;
			rank_say(m, i, "running in pod %s", name);
		}
		return 0;
	}
	if (json_get(is, "state.running")) {
		if (m->o->init_running && !r->uploaded) {
			if (m->o->init_running(name, m->o->init_running_ud))
				return -1;
			r->uploaded = 1;
		}
		if (!r->fetching_said) {
			r->fetching_said = 1;
			rank_say(m, i, "fetching the code in pod %s (init container)", name);
		}
		return 0;
	}
	char *line = follow_pod_line(pod);
	if (line)
		rank_say(m, i, "%s", line);
	free(line);
	return 0;
}

/* New log lines of every started init (main: 0) or main (1) container;
 * final reads after they end.  The init containers' go to stderr before
 * the status lines of the ranks, the commands' after them. */
static void read_logs(struct mstate *m, const cJSON **best, int main)
{
	struct log_merge *lm = main ? &m->main_logs : &m->init_logs;
	const char *container = main ? DEVRUN_MAIN_CONTAINER : DEVRUN_INIT_CONTAINER;
	for (long i = 0; i < m->n; i++) {
		const cJSON *pod = best[i];
		const char *name = json_str(pod, "metadata.name");
		if (!pod || !name)
			continue;
		const cJSON *cs = main ? follow_main_status(pod) : follow_init_status(pod);
		if (started(cs)) {
			struct log_merge_src *s = log_merge_source(lm, name, container, i);
			log_merge_poll(lm, m->kc, m->o->ns, s, -1, json_get(cs, "state.terminated") != NULL);
		}
	}
	log_merge_print(lm, !main ? stderr : m->o->log_out ? m->o->log_out : stdout);
}

/* "rank 0 exit code 143, rank 2 succeeded": how the other ranks ended. */
static char *others(const struct mstate *m, long failed)
{
	struct strbuf sb = STRBUF_INIT;
	for (long i = 0; i < m->n; i++) {
		const struct rank *r = &m->r[i];
		if (i == failed)
			continue;
		strbuf_addf(&sb, "%s%ld ", sb.len ? ", " : "", i);
		if (r->ended && r->code < 0)
			strbuf_addstr(&sb, "stopped (its pod was deleted)");
		else if (r->ended && r->code == 0)
			strbuf_addstr(&sb, "succeeded");
		else if (r->ended && r->init_failed)
			strbuf_addf(&sb, "could not fetch the code (exit code %ld)", r->code);
		else if (r->ended && r->deleted)
			strbuf_addf(&sb, "stopped (exit code %ld)", r->code);
		else if (r->ended)
			strbuf_addf(&sb, "failed with exit code %ld", r->code);
		else if (r->pod)
			strbuf_addstr(&sb, "stopped");
		else
			strbuf_addstr(&sb, "never started");
	}
	return strbuf_detach(&sb);
}

static int follow_inner(struct mstate *m)
{
	const struct follow_opts *o = m->o;
	char *sel = xasprintf("%s=%s", LABEL_RUN, o->run_id);
	const cJSON **best = xcalloc((size_t)m->n, sizeof(*best));
	int rc = -1, job_gone_seen = 0;
	for (;;) {
		int finished = 0;
		int jrc = look_at_job(m, &finished);
		if (wait_stopped()) {
			rc = FOLLOW_STOPPED;
			break;
		}
		if (jrc < 0) {
			eidf_error("%s", eidf_last_error());
			rc = DEVRUN_EXIT_ERROR;
			break;
		}
		cJSON *pods = NULL;
		struct klist_opts lo = { .label_selector = sel };
		if (kclient_list(m->kc, &KRES_PODS, o->ns, &lo, &pods) < 0) {
			if (wait_stopped()) {
				rc = FOLLOW_STOPPED;
				break;
			}
			eidf_error("%s", eidf_last_error());
			rc = DEVRUN_EXIT_ERROR;
			break;
		}
		newest_per_rank(cJSON_GetObjectItem(pods, "items"), best, m->n);
		read_logs(m, best, 0);
		int decided = 0, all_ok = 1, live = 0;
		for (long i = 0; i < m->n && !decided; i++) {
			if (!best[i]) {
				all_ok = 0;
				if (m->r[i].pod && !m->r[i].ended) {
					m->r[i].ended = 1;   /* its pod is gone before it ended */
					m->r[i].code = -1;
				}
				continue;
			}
			int prc = look_at_pod(m, i, best[i]);
			if (prc < 0) {
				rc = DEVRUN_EXIT_ERROR;
				decided = 1;
				break;
			}
			if (prc > 0)
				decided = 1;
			if (!(m->r[i].ended && m->r[i].code == 0))
				all_ok = 0;
			if (!pod_terminal(best[i]))
				live++;
		}
		read_logs(m, best, 1);
		cJSON_Delete(pods);
		memset(best, 0, (size_t)m->n * sizeof(*best));
		if (rc == DEVRUN_EXIT_ERROR)
			break;
		if (decided)
			break;
		if (o->detach_after_init && o->init_running) {
			int all = 1;
			for (long i = 0; i < m->n; i++)
				all &= m->r[i].uploaded;
			if (all) {
				rc = 0;
				break;
			}
		}
		if (all_ok) {
			set_outcome(m, 0, "all %ld ranks succeeded (exit code 0)", m->n);
			break;
		}
		long f = first_failure(m);
		if (f >= 0 && (finished || jrc == 1) && !live) {
			/* every other rank has ended too: nothing holds GPUs any more */
			struct rank *r = &m->r[f];
			char *rest = others(m, f);
			if (r->init_failed)
				set_outcome(m, DEVRUN_EXIT_ERROR, "rank %ld (pod %s) could not fetch the code (init "
					    "container exit code %ld); other ranks: %s", f, r->pod, r->code, rest);
			else
				set_outcome(m, (int)(r->code > 255 ? 255 : r->code), "rank %ld failed with exit code "
					    "%ld (pod %s); other ranks: %s", f, r->code, r->pod, rest);
			free(rest);
			break;
		}
		if (jrc == 1) {
			/* read once more: a Job deleted right after its pods ended */
			if (job_gone_seen++) {
				set_outcome(m, DEVRUN_EXIT_GONE, "job.batch/%s was deleted before every rank ended",
					    o->job);
				break;
			}
		} else if (finished && f < 0 && !live) {
			set_outcome(m, DEVRUN_EXIT_GONE, "job.batch/%s ended before every rank's command did",
				    o->job);
			break;
		}
		wait_sleep_ms(poll_ms());
		if (wait_stopped()) {
			rc = FOLLOW_STOPPED;
			break;
		}
	}
	free(best);
	free(sel);
	if (rc == FOLLOW_STOPPED || rc == DEVRUN_EXIT_ERROR || (rc == 0 && m->outcome < 0))
		return rc;
	return m->outcome >= 0 ? m->outcome : DEVRUN_EXIT_ERROR;
}


static int follow_cb(void *ud)
{
	return follow_inner(ud);
}

static void say_cb(void *ud, const char *line)
{
	say(ud, "%s", line);
}

int multinode_follow_run(struct eidf_cmd *cmd, const struct follow_opts *o)
{
	struct mstate m;
	memset(&m, 0, sizeof(m));
	m.o = o;
	m.outcome = -1;
	m.kc = cmd_client(cmd);
	if (!m.kc)
		return DEVRUN_EXIT_ERROR;
	cJSON *job = NULL;
	if (kclient_get(m.kc, &KRES_JOBS, o->ns, o->job, &job) < 0) {
		eidf_error("%s", eidf_last_error());
		return DEVRUN_EXIT_ERROR;
	}
	m.n = multinode_job_ranks(job);
	if (m.n < 1)
		m.n = 1;
	cJSON_Delete(job);
	m.r = xcalloc((size_t)m.n, sizeof(*m.r));
	for (long i = 0; i < m.n; i++)
		m.r[i].code = -1;
	log_merge_init(&m.init_logs);
	log_merge_init(&m.main_logs);
	m.queue = policy_queue_name(o->ns, o->queue);
	struct follower fr = { .follow = follow_cb, .status = say_cb, .ud = &m,
			       .outcome_msg = &m.outcome_msg, .stuck = &m.stuck };
	int code = follow_drive(cmd, m.kc, o, &fr);
	for (long i = 0; i < m.n; i++) {
		free(m.r[i].pod);
		free(m.r[i].line);
		free(m.r[i].finished_at);
	}
	free(m.r);
	free(m.queue);
	free(m.last_status);
	free(m.job_uid);
	free(m.outcome_msg);
	log_merge_release(&m.init_logs);
	log_merge_release(&m.main_logs);
	return code;
}

/* ---- devrun logs ------------------------------------------------------------------------ */

int multinode_logs(struct eidf_cmd *cmd, const char *ns, const cJSON *job, const char *container,
		   int follow, int timestamps, long rank)
{
	struct kclient *kc = cmd_client(cmd);
	long n = multinode_job_ranks(job);
	const char *run_id = json_str(job, "metadata.name");
	if (!kc || !n)
		return EIDF_EXIT_ERROR;
	if (rank >= n) {
		eidf_error("--rank %ld: job.batch/%s has ranks 0 to %ld", rank, run_id, n - 1);
		return EIDF_EXIT_USAGE;
	}
	const cJSON *labels = json_get(job, "metadata.labels");
	const cJSON *rid = cJSON_GetObjectItemCaseSensitive(labels, LABEL_RUN);
	if (!cJSON_IsString(rid)) {
		eidf_error("job.batch/%s has no %s label", run_id, LABEL_RUN);
		return EIDF_EXIT_ERROR;
	}
	char *sel = xasprintf("%s=%s", LABEL_RUN, rid->valuestring);
	const cJSON **best = xcalloc((size_t)n, sizeof(*best));
	struct log_merge lm;
	log_merge_init(&lm);
	lm.keep_timestamps = timestamps;
	int rc = 0, waited = 0, began = 0;
	char *subject = NULL;
	if (follow) {
		subject = xasprintf("job.batch/%s", run_id);
		struct wait_hints hints = { .subject = subject };
		if (wait_begin(cmd, &hints, 0) < 0) {
			rc = EIDF_EXIT_ERROR;
			goto out;
		}
		began = 1;
	}
	for (;;) {
		cJSON *pods = NULL;
		struct klist_opts lo = { .label_selector = sel };
		if (kclient_list(kc, &KRES_PODS, ns, &lo, &pods) < 0) {
			if (!wait_stopped()) {
				eidf_error("%s", eidf_last_error());
				rc = EIDF_EXIT_ERROR;
			}
			break;
		}
		newest_per_rank(cJSON_GetObjectItem(pods, "items"), best, n);
		int open = 0, any = 0;
		for (long i = 0; i < n; i++) {
			if (rank >= 0 && i != rank)
				continue;
			const cJSON *pod = best[i];
			const cJSON *cs = !strcmp(container, DEVRUN_INIT_CONTAINER) ? follow_init_status(pod)
										   : follow_main_status(pod);
			if (!pod || !started(cs)) {
				open += follow && !(pod && pod_terminal(pod));
				continue;
			}
			any = 1;
			int final = !follow || json_get(cs, "state.terminated") || pod_terminal(pod);
			struct log_merge_src *s = log_merge_source(&lm, json_str(pod, "metadata.name"), container, i);
			if (log_merge_poll(&lm, kc, ns, s, -1, final) < 0 && !wait_stopped()) {
				eidf_error("%s", eidf_last_error());
				rc = EIDF_EXIT_ERROR;
			}
			open += !s->done;
		}
		cJSON_Delete(pods);
		if (rank >= 0) {
			/* one rank: its lines as they are, like kubectl logs */
			for (size_t k = 0; k < lm.nl; k++) {
				fputs(lm.lines[k].text, stdout);
				free(lm.lines[k].text);
			}
			lm.nl = 0;
			fflush(stdout);
		} else {
			log_merge_print(&lm, stdout);
		}
		if (!any && !follow) {
			eidf_error("run %s has no started pod yet (queued or pending: kubectl eidf devrun attach "
				   "shows why)", rid->valuestring);
			rc = EIDF_EXIT_ERROR;
		}
		if (!follow || !open || rc)
			break;
		if (!any && !waited++)
			fprintf(stderr, "waiting for the pods of %s to start...\n", run_id);
		wait_sleep_ms(poll_ms());
		if (wait_stopped())
			break;
	}
out:
	if (began)
		rc = wait_end(rc);
	free(subject);
	log_merge_release(&lm);
	free(best);
	free(sel);
	return rc;
}

int multinode_create_service(struct kclient *kc, const char *ns, cJSON *service, const char *job,
			     const char *job_uid, int server_dry, cJSON **out)
{
	/* owned by the Job: the garbage collector deletes it with the Job */
	if (job_uid && !server_dry)
		devrun_own_by_job(service, job, job_uid);
	if (kclient_create(kc, &KRES_SERVICES, ns, service, server_dry, out) == 0)
		return 0;
	eidf_error("cannot create the run's headless Service %s: %s", json_str(service, "metadata.name"),
		   eidf_last_error());
	if (!server_dry && kclient_delete(kc, &KRES_JOBS, ns, job, "Background", 0) < 0)
		eidf_warning("job.batch/%s was created without its Service; delete it: %s", job,
			     eidf_last_error());
	return -1;
}
