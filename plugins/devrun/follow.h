/* Following a devrun: Job and pod watches turned into status lines, the
 * init and main container logs streamed with reconnects (sinceTime plus
 * de-duplication), and the outcome read from the pod status, never from the
 * log stream ending. */
#ifndef EIDF_DEVRUN_FOLLOW_H
#define EIDF_DEVRUN_FOLLOW_H

#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>
#include "eidf/util.h"
#include "eidf/waiting.h"
#include "eidf/log_dedup.h"

struct eidf_cmd;
struct kclient;

/* Exit codes reserved for suite-side outcomes (the command's own otherwise). */
#define DEVRUN_EXIT_TIMEOUT EIDF_EXIT_STOPPED_WAITING  /* --timeout reached, the run goes on */
#define DEVRUN_EXIT_ERROR 125     /* devrun itself failed (or the code could not be fetched) */
#define DEVRUN_EXIT_GONE 126      /* pod evicted, preempted or deleted */
#define DEVRUN_EXIT_PULL 127      /* image cannot be pulled */
#define DEVRUN_EXIT_DETACHED EIDF_EXIT_DETACHED /* Ctrl-C: detached, the run goes on */

struct follow_opts {
	const char *ns;
	const char *job;
	const char *run_id;
	const char *queue;     /* NULL: <ns>-user-queue */
	int rm;                /* delete the run's objects at the end / on Ctrl-C */
	int keep_failed;       /* keep a run that can never start (default: delete it) */
	const char *timeout;   /* duration or NULL */
	int attach;            /* following an existing run */
	/* Called once when the init container runs, before its log is followed
	 * (the exec transport uploads the local changes then); nonzero ends the
	 * follow with DEVRUN_EXIT_ERROR (the callback said why). */
	int (*init_running)(const char *pod, void *ud);
	void *init_running_ud;
	int detach_after_init; /* return 0 once init_running succeeded */
	FILE *log_out;         /* the command's output (NULL: stdout) */
	/* Out (NULL: not wanted): the Job as following leaves it, for -o (once
	 * the job controller has recorded an end its pod shows: job_final_object);
	 * read before --rm deletes it; NULL if unreadable. */
	cJSON **final_job;
};

/* What a follower (follow.c for one pod, multinode_follow.c for N ranks)
 * gives the frame they share, follow_drive(). */
struct follower {
	/* follows the run: the exit code to use, or FOLLOW_STOPPED when Ctrl-C
	 * or --timeout stopped it (eidf/waiting.h) */
	int (*follow)(void *ud);
	/* prints one "devrun: " status line as the follower does */
	void (*status)(void *ud, const char *line);
	void *ud;
	char *const *outcome_msg; /* the outcome line follow() left (NULL: none) */
	const int *stuck;         /* follow() found that the run can never start */
};
#define FOLLOW_STOPPED (-100)

/* Follow with Ctrl-C and --timeout installed: a stop leaves the run going
 * (130 or 124 with the commands to attach, read its logs or cancel it), or
 * with --rm deletes it; then follow_finish().  Returns the exit code. */
int follow_drive(struct eidf_cmd *cmd, struct kclient *kc, const struct follow_opts *o,
		 const struct follower *fr);

/* The end of following, whatever ended it: the outcome line, the Job for -o
 * (as the job controller records the end), and the run deleted with --rm,
 * or when it can never start (it would hold its quota for ever) unless
 * --keep-failed.  Returns code. */
int follow_finish(struct kclient *kc, const struct follow_opts *o, const struct follower *fr, int code);

/* Follow until the main container ends; returns the exit code to use. */
int follow_run(struct eidf_cmd *cmd, const struct follow_opts *o);

/* `devrun logs`: print a container's log (follow: until it ends, with
 * reconnects).  Returns 0 or EIDF_EXIT_ERROR. */
int follow_logs(struct eidf_cmd *cmd, const char *ns, const char *run_id,
		const char *container, int follow, int timestamps);

/* Delete Jobs, Secrets and Pods labelled with exactly this run id. */
int follow_delete_by_label(struct kclient *kc, const char *ns, const char *run_id, int quiet);

/* One word for `devrun list` from the Job and its pods (a List or array, may
 * be NULL) via jobstate_derive(): Queued, Pending, Unschedulable, Starting,
 * Fetching, Running, Retrying, Succeeded, Failed, Evicted, CodeFailed (caller
 * frees).  A run whose pod succeeded is Succeeded before the Job says
 * Complete; one that can never start (image pull, missing config) is Failed.
 * exit_code (may be NULL): the main container's exit code, devrun's own code
 * for a run that cannot start, else -1. */
char *follow_state_word(const cJSON *job, const cJSON *pods, long *exit_code);
/* metadata.labels[key] / metadata.annotations[key] (label keys contain dots,
 * which json_str() paths would split). */
const char *meta_label(const cJSON *obj, const char *key);
const char *meta_annotation(const cJSON *obj, const char *key);

/* The pod was evicted, preempted or failed before its command ended
 * (*why: the reason to show). */
int follow_pod_disrupted(const cJSON *pod, const char **why);

/* One of devrun's status lines ("devrun: LINE") on stderr, after what the
 * command printed so far on stdout. */
void follow_say_line(const char *line);

/* The status of the main (devrun's command) and init (code fetch)
 * containers in a pod, or NULL. */
const cJSON *follow_main_status(const cJSON *pod);
const cJSON *follow_init_status(const cJSON *pod);

/* A line on a pod that has not started its containers: "pod P pending:
 * REASON: MESSAGE" while unscheduled, "pod P on NODE: WAITING-REASON", or
 * "pod P scheduled on NODE"; NULL when there is nothing to say (caller
 * frees). */
char *follow_pod_line(const cJSON *pod);

/* Exit code of the main container, -1 while unknown. */
long follow_main_exit_code(const cJSON *pod);

#endif
