/* What `fetch status`, `list` and `wait` show about a fetch Job: its state,
 * derived from the Job's conditions and its pods' phases together (never from
 * status.active, which counts Pending pods, nor from the counters, which the
 * job controller updates a while after the pods end), its numbers from the
 * machine lines of the pods' logs, and why it failed: the exit codes of the
 * pods (FETCH_EXIT_*) and the error lines of each failed file. */
#ifndef EIDF_FETCH_JOB_VIEW_H
#define EIDF_FETCH_JOB_VIEW_H

#include <cjson/cJSON.h>

#include "eidf/kclient.h"
#include "fetch_progress.h"

/* The shared derivation (eidf/jobstate.h) in fetch's words. */
enum fetch_state {
	FS_QUEUED,        /* suspended: Kueue has not admitted it */
	FS_PENDING,       /* no pod yet */
	FS_UNSCHEDULABLE, /* the pod waits for a node (PodScheduled=False) */
	FS_STARTING,      /* the pod is on a node: volumes, image */
	FS_RUNNING,       /* a pod's container runs */
	FS_RETRYING,      /* a pod failed and the Job will start another */
	FS_COMPLETING,    /* the pods succeeded; the Job has not said Complete yet */
	FS_FAILING,       /* the Job will fail: FailureTarget, a FailJob exit code, backoff limit */
	FS_STUCK,         /* the pod can never start as specified (image pull) */
	FS_COMPLETE,      /* condition Complete */
	FS_FAILED,        /* condition Failed */
};

/* One word for tables: Queued, Pending, Unschedulable, Starting, Running,
 * Retrying, Completing, Failing, Stuck, Complete, Failed. */
const char *fetch_state_word(enum fetch_state s);
/* The outcome is known (the Job has or is about to record it). */
int fetch_state_finished(enum fetch_state s);
int fetch_state_ok(enum fetch_state s);

/* The state of one Job and what explains it, from the Job and pod objects. */
struct fetch_pods {
	enum fetch_state state;
	char *waiting;        /* why a pod is not running (Unschedulable, ContainerCreating, ImagePullBackOff), or NULL */
	long failed_pods;     /* pods of the Job that ended Failed (still present) */
	const cJSON *failed_pod; /* the failed pod that explains the state, or NULL */
	long exit_code;       /* its fetch container's exit code, -1 none */
	char *exit_reason;    /* the reason: OOMKilled, Evicted, DeadlineExceeded, BackoffLimitExceeded... or NULL */
};

/* Derive the state of JOB from its pods (an array of pod objects or a List;
 * other Jobs' pods are skipped) with jobstate_derive(). */
void fetch_pods_derive(const cJSON *job, const cJSON *pods, struct fetch_pods *out);
void fetch_pods_release(struct fetch_pods *p);

struct fetch_view {
	cJSON *job;                 /* owned */
	const char *name;
	enum fetch_state state;
	char *state_text;           /* "Running", "Failed: HTTP 500 (11 files)", "Pending (Unschedulable)" */
	struct fetch_progress prog; /* the newest pod of each index, summed; prog.errors: every failed file */
	long files_total;
	double fraction;            /* 0..1 for the progress bar */
	int sizes_known;            /* prog.total covers every file (bytes column, ETA) */
	char *pods_rv;              /* resourceVersion of the pod list: watch from here */
};

/* Load the view of JOB (taken over by the view, also on error). */
int fetch_view_load(struct kclient *kc, const char *ns, cJSON *job, struct fetch_view *v);
void fetch_view_release(struct fetch_view *v);

/* Feed a pod's log to the progress parser as it streams.  tail: -1 the
 * whole log (a finished pod: every error and partial line), else the last
 * lines (a running pod: the latest numbers).  An unreadable log only loses
 * its numbers. */
void fetch_scan_log(struct kclient *kc, const char *ns, const cJSON *pod, long tail, struct fetch_progress *p);

/* Helpers shared with `fetch logs`. */
const char *fetch_annotation(const cJSON *obj, const char *key);
long fetch_pod_index(const cJSON *pod);
int fetch_list_job_pods(struct kclient *kc, const char *ns, const char *job, cJSON **pods);
/* The newest pod per completion index: the one whose log tells the story. */
void fetch_newest_pods(const cJSON *items, const cJSON **best, long nidx);
/* spec.completions clamped to 1..1000 */
long fetch_job_indexes(const cJSON *job);
/* Terminal conditions only: 1 and *ok when Complete/SuccessCriteriaMet
 * (ok=1) or Failed/FailureTarget (ok=0). */
int fetch_job_finished(const cJSON *job, int *ok);

/* With --extract the download is the `fetch` init container and the
 * `extract` container runs after it.  A pod's download has started (it has
 * a log): the pod runs or ended, or is Pending while `fetch` runs. */
int fetch_pod_started(const cJSON *pod);
/* The `extract` container has started (its log exists). */
int fetch_pod_extract_started(const cJSON *pod);
/* The pod has an `extract` container (a --extract Job). */
int fetch_pod_has_extract(const cJSON *pod);

#endif
