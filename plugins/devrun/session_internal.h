/* Shared between the files of the devrun session machinery. */
#ifndef EIDF_DEVRUN_SESSION_INTERNAL_H
#define EIDF_DEVRUN_SESSION_INTERNAL_H

#include <cjson/cJSON.h>
#include "eidf/util.h"
#include "devrun_job.h"

struct kclient;
struct eidf_cmd;

void session_note(const char *fmt, ...) EIDF_PRINTF(1, 2);
int session_check_name(const char *name);
/* --idle-timeout / devrun.idle-timeout in seconds, -1 with an error. */
long session_idle_seconds(const char *flag);

cJSON *session_job_manifest(const struct devrun_opts *o, const char *name, long idle_s,
			    const char *url, const char *commit, const char *ref, const char *run_id);

/* Both containers run and the pod is not being deleted. */
int session_pod_ready(const cJSON *pod);

struct session_found {
	cJSON *pods, *jobs;      /* the session's pods and (with_jobs) Jobs */
	const cJSON *pod;        /* its newest ready pod */
	const cJSON *job;        /* its newest Job that has not ended */
	const cJSON *ended;      /* its newest Job that ended (idle timeout, failure) */
};
int session_find(struct kclient *kc, const char *ns, const char *name, int with_jobs,
		 struct session_found *f);
void session_found_release(struct session_found *f);

cJSON *session_wait_pod(struct eidf_cmd *cmd, const char *ns, const char *name, const char *job_run,
			const char *job_name, const char *timeout, int *code);

#endif
