/* What a devrun session run ships: only what changed since the previous run
 * of this session.  The client keeps, per session, the state it left the
 * pod's /code in (session_state: the pod's uid, the commit, the verified
 * tree id and every path that differed from the commit, with its blob id and
 * mode); the next run's local changes are compared with it.  The pod checks
 * the result by tree id, and goes back to the previous tree itself first, so
 * the record only has to be right, never complete: without it (another
 * machine, a new pod, a new commit) everything is shipped again. */
#ifndef EIDF_DEVRUN_SESSION_DELTA_H
#define EIDF_DEVRUN_SESSION_DELTA_H

#include <cjson/cJSON.h>

#include "eidf/util.h"

struct git_repository;
struct changes;
struct change_file;

struct session_entry {
	char *path;
	char oid[65];        /* "" for a deleted path */
	unsigned mode;       /* git mode; 0 for a deleted path */
};

struct session_state {
	char *pod_uid;
	cJSON *pod;                  /* the pod's metadata as the last run left it (NULL: unknown) */
	char *commit;
	char *tree;                  /* verified tree id after the run */
	struct session_entry *e;     /* sorted by path */
	size_t n;
};

void session_state_release(struct session_state *st);
/* Read FILE (JSON).  A missing or unreadable file is an empty state (0). */
int session_state_load(const char *file, struct session_state *st);
/* The state after a run: the pod (its uid, and its metadata, which names it
 * and holds the session's options, for the next run to exec into it without
 * looking it up first), commit, tree and the changes. */
int session_state_save(const char *file, const cJSON *pod, const char *commit, const char *tree,
		       const struct changes *c);
/* Where the state of session NAME in namespace NS is kept: in the
 * repository's git directory (per worktree), never in the working tree. */
char *session_state_path(struct git_repository *repo, const char *ns, const char *name);

/* A pack_filter for changes_collect (ud: the previous state, may be NULL
 * for "ship everything"): 1 when the pod does not have this file yet. */
int session_pack_filter(const struct change_file *f, void *ud);

struct session_delta {
	int full;                /* relative to the commit, not to the previous run */
	size_t n_files;          /* files in the tar */
	struct strbuf deleted;   /* "path\0..." to delete in the pod */
	struct strbuf restore;   /* "path\0..." to restore from the commit */
	size_t n_deleted, n_restored;
	struct strbuf payload;   /* ustar: files.tar.gz, deleted, restore, submodules, deleted.N
				  * (empty: nothing to send); or, when payload_tgz, files.tar.gz
				  * itself (nothing but files to write) */
	int payload_tgz;
};

/* Compare the changes (collected with session_pack_filter and `prev`) with
 * prev: deletions not yet done in the pod, and paths that changed before and
 * are back to the commit's version (restored there from the commit, or
 * deleted when the commit does not have them).  prev NULL: full.
 * subs: the submodules' "COMMIT TREE URL PATH" lines (submodules_env) or
 * NULL; with them the payload always goes, with each submodule's deletions
 * (the pod puts every submodule back to its commit at each run, and the
 * changes hold all of a submodule's local files). */
int session_delta_compute(struct git_repository *repo, const char *commit, const struct changes *c,
			  const struct session_state *prev, const char *subs, struct session_delta *d);
void session_delta_release(struct session_delta *d);

#endif
