/* The state of a Job-backed run, derived from the Job's conditions and its
 * pods' phases, conditions and container states together.
 *
 * Why not status.active: it counts Pending pods (an Unschedulable pod is
 * "active"), and the job controller records a pod's end a while after the pod
 * reached Succeeded/Failed (uncountedTerminatedPods, then the counters, then
 * the Complete/Failed condition; Kubernetes >= 1.30 adds SuccessCriteriaMet /
 * FailureTarget first).  So a run is "completing" as soon as its pods say so,
 * and "stuck" when a pod can never start without the user changing something.
 * Every stage reads run states through this one function. */
#ifndef EIDF_JOBSTATE_H
#define EIDF_JOBSTATE_H

#include <cjson/cJSON.h>

enum jobstate {
	JOBSTATE_QUEUED,        /* suspended: waiting for admission (Kueue) */
	JOBSTATE_PENDING,       /* no pod yet, or a pod waits for the scheduler */
	JOBSTATE_UNSCHEDULABLE, /* PodScheduled=False/Unschedulable: no node fits (yet) */
	JOBSTATE_STARTING,      /* a pod is on a node: volumes, image pulls, init containers */
	JOBSTATE_RUNNING,       /* a pod's containers run */
	JOBSTATE_RETRYING,      /* a pod failed and the Job will start another */
	JOBSTATE_COMPLETING,    /* the pods succeeded; the Job has not said Complete yet */
	JOBSTATE_FAILING,       /* the Job will fail (FailureTarget, backoff limit, FailJob rule) */
	JOBSTATE_STUCK,         /* a pod can never start as specified (image pull, missing config) */
	JOBSTATE_SUCCEEDED,     /* condition Complete */
	JOBSTATE_FAILED,        /* condition Failed */
};

struct jobstate_info {
	enum jobstate state;
	/* A machine-readable word from the objects (BackoffLimitExceeded,
	 * ImagePullBackOff, Unschedulable, PodFailurePolicy, ...) and the
	 * server's human text, both pointing into the objects passed in. */
	const char *reason;
	const char *message;
	const cJSON *pod;       /* the pod that decided the state, if one did */
	const char *container;  /* the container the reason is about, if any */
	int init;               /* that container is an init container */
	/* This Job's pods by phase, counted from the pods themselves (a pod
	 * being deleted is not counted unless it already ended). */
	int pending, running, succeeded, failed;
};

/* Derive the state of JOB from POD_LIST (a cJSON array of pods or a List
 * object with "items"; may be NULL).  Pods that do not belong to the Job (by
 * controller uid, else job-name label) are ignored. */
void jobstate_derive(const cJSON *job, const cJSON *pod_list, struct jobstate_info *out);

/* One capitalised word for tables: Queued, Pending, Unschedulable, Starting,
 * Running, Retrying, Completing, Failing, Stuck, Succeeded, Failed. */
const char *jobstate_word(enum jobstate s);

/* The outcome is known (Succeeded/Failed, or about to be recorded). */
int jobstate_finished(enum jobstate s);
/* The run ended or can never progress: nothing is gained by keeping it
 * (what `delete --finished` removes). */
int jobstate_done(enum jobstate s);
/* It ended or will end as a failure (Failing, Failed, Stuck). */
int jobstate_failed(enum jobstate s);

/* A pod that can never start as specified: an init or app container waits
 * with ErrImagePull, ImagePullBackOff, InvalidImageName, ErrImageNeverPull or
 * CreateContainerConfigError.  Returns 1 and the reason, message and
 * container (pointing into POD), else 0. */
int jobstate_pod_stuck(const cJSON *pod, const char **reason, const char **message,
		       const char **container, int *init);
/* The waiting reason is an image pull failure (exit 127 in devrun). */
int jobstate_reason_is_pull(const char *reason);

/* Does the Job's podFailurePolicy decide about this Failed pod?  Returns the
 * action of the first matching rule ("FailJob", "Ignore", "Count",
 * "FailIndex") or NULL when no rule matches (the failure counts). */
const char *jobstate_pod_failure_action(const cJSON *job, const cJSON *pod);

/* A condition of an object (Job or pod): 1 True, 0 False/Unknown, -1 absent.
 * reason/message (may be NULL) point into the object. */
int jobstate_condition(const cJSON *obj, const char *type, const char **reason,
		       const char **message);

#endif
