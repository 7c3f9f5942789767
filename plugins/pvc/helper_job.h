/* Short-lived, policy-compliant helper Jobs that mount a PVC: the way `pvc
 * df|du|ls|shell` look inside a volume without node or cluster-wide rights. */
#ifndef EIDF_PVC_HELPER_JOB_H
#define EIDF_PVC_HELPER_JOB_H

#include "eidf/cmd.h"
#include "eidf/util.h"

#define HELPER_MOUNT "/mnt/pvc"

struct helper_opts {
	const char *pvc;
	const char *image;      /* busybox-like image */
	const char *mount;      /* mount point inside the helper */
	int read_only;
	long timeout_ms;        /* waiting for the pod; 0: none */
	int dry_run;            /* print the Job (-o) instead of creating it */
	const char *output;     /* -o for dry-run */
	const char *pod_label;  /* pvc cp: eidf.ac.uk/pvc-cp=VALUE on the pod, to find a kept helper */
};

/* The helper Job for `argv` (NULL-terminated): the arguments of the
 * measuring script (pvc-helper.sh) when `measure` is set, else the
 * container's own command. */
cJSON *helper_job_manifest(struct eidf_cmd *cmd, const char *ns, const struct helper_opts *o,
			   int measure, const char *const *argv);

/* Create the Job, wait until its pod finished (printing why it waits),
 * collect the pod's log and delete the Job.  -1 with error. */
int helper_job_run(struct eidf_cmd *cmd, const char *ns, const struct helper_opts *o,
		   const char *const *argv, struct strbuf *log);

/* Create the Job, wait until its pod is Running; *job and *pod are set
 * (caller frees) so the caller can exec into it and delete it. */
int helper_job_start(struct eidf_cmd *cmd, const char *ns, const struct helper_opts *o,
		     const char *const *argv, char **job, char **pod);

/* Delete a helper Job and its pods (Background propagation). */
int helper_job_delete(struct eidf_cmd *cmd, const char *ns, const char *job);

#endif
