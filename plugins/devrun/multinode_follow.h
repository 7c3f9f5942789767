/* Following a run on several nodes (devrun --nodes N): one status line per
 * change of the workload or of a rank, the logs of all ranks merged with a
 * "[rank] " prefix, and the outcome: 0 when every rank succeeded, else the
 * exit code of the first rank that failed, named, once the other ranks
 * have ended. */
#ifndef EIDF_DEVRUN_MULTINODE_FOLLOW_H
#define EIDF_DEVRUN_MULTINODE_FOLLOW_H

#include <cjson/cJSON.h>
#include "follow.h"

/* The number of ranks of a devrun Job: its completions when Indexed, else 0
 * (a one-pod run, followed by follow_run()). */
long multinode_job_ranks(const cJSON *job);

/* Follow until every rank has ended; returns the exit code to use. */
int multinode_follow_run(struct eidf_cmd *cmd, const struct follow_opts *o);

/* `devrun logs` of a run on several nodes: every rank's log with a "[rank] "
 * prefix in time order, or only rank `rank` (>= 0) without a prefix.
 * Returns 0, EIDF_EXIT_ERROR, or EIDF_EXIT_USAGE for a rank out of range. */
int multinode_logs(struct eidf_cmd *cmd, const char *ns, const cJSON *job, const char *container,
		   int follow, int timestamps, long rank);

/* Create the run's headless Service, owned by the Job (on failure the Job is
 * deleted, as it could never rendezvous).  -1 with the error printed. */
int multinode_create_service(struct kclient *kc, const char *ns, cJSON *service, const char *job,
			     const char *job_uid, int server_dry, cJSON **out);

#endif
