/* devrun sessions: one held pod (a policy-compliant Job whose main container
 * waits for runs) in which each `devrun --session NAME -- COMMAND` ships only
 * what changed since the previous run, has the pod verify the tree, and runs
 * COMMAND through the exec API.  See docs/devrun.md, "Sessions". */
#ifndef EIDF_DEVRUN_SESSION_H
#define EIDF_DEVRUN_SESSION_H

#include "devrun_job.h"

struct eidf_cmd;

#define LABEL_SESSION "eidf.ac.uk/session"
#define ANNOT_SESSION_IDLE "eidf.ac.uk/session-idle-timeout"
/* on the session's pod, after each run: for `session list` IDLE and RUNS */
#define ANNOT_SESSION_RUNS "eidf.ac.uk/session-runs"
#define ANNOT_SESSION_LAST_RUN "eidf.ac.uk/session-last-run"
#define SESSION_SYNC_CONTAINER "sync"
#define SESSION_DIR "/eidf/session"
#define SESSION_DEFAULT_IDLE "30m"

/* The options of a run or a new session: the flags over `prev` (the
 * session's own, NULL for a new one), as devrun's build_opts. */
typedef int (*session_build_fn)(struct devrun_opts *o, const struct devrun_opts *prev, void *ud);

struct session_opts {
	const char *name;
	const char *idle_timeout;  /* --idle-timeout; NULL: setting devrun.idle-timeout, else 30m */
	const char *timeout;       /* --timeout: how long to wait for the session's pod */
	const char *repo_url;      /* --repo */
	int no_local;              /* --no-local-changes */
	int watch;                 /* --watch */
	session_build_fn build;
	void *build_ud;
};

/* devrun --session NAME [--watch] -- COMMAND...: exit code as devrun. */
int session_run(struct eidf_cmd *cmd, const char *ns, const struct session_opts *so);
/* devrun session start|list|stop|attach ... */
int session_start(struct eidf_cmd *cmd, const char *ns, const struct session_opts *so);
int session_list(struct eidf_cmd *cmd, const char *ns, const char *output, int no_headers);
int session_stop(struct eidf_cmd *cmd, const char *ns, int argc, const char **argv);
int session_attach(struct eidf_cmd *cmd, const char *ns, const char *name);

#endif
