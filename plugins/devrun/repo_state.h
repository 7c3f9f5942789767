/* Where the code of a devrun comes from: the local git working tree (found
 * with libgit2, never by running git), the remote the pod clones from, and
 * the pushed commit the pod checks out. */
#ifndef EIDF_DEVRUN_REPO_STATE_H
#define EIDF_DEVRUN_REPO_STATE_H

#include "eidf/util.h"

struct git_repository;

struct repo_state {
	struct git_repository *repo;
	char *root;            /* working tree root, no trailing slash */
	char *head_sha;        /* HEAD commit (40 hex) */
	char *head_branch;     /* short name of the checked-out branch, or NULL (detached) */
	char *commit_sha;      /* the commit the pod checks out: HEAD, or --base */
	char *remote_name;     /* remote whose tracking ref contains commit_sha (NULL with --repo only) */
	char *remote_branch;   /* branch on that remote containing it, e.g. "main" (fallback fetch) */
	char *url;             /* clone URL given to the pod */
	char *configured_url;  /* URL as configured (before ssh -> https), for messages */
	int url_is_ssh;
	int url_rewritten;     /* ssh URL replaced by its https form */
};

struct repo_opts {
	const char *path;       /* where to start looking; NULL: "." */
	const char *repo_url;   /* --repo override */
	const char *base;       /* --base REF */
	int have_git_secret;    /* --git-secret given: keep ssh URLs */
};

void repo_state_init(struct repo_state *rs);
/* Fill rs; -1 with eidf_last_error() naming the problem and its fix
 * (not a git repository, no commits, no remote, HEAD not pushed, ...). */
int repo_state_load(struct repo_state *rs, const struct repo_opts *o);
void repo_state_release(struct repo_state *rs);

/* "git@host:org/r.git" / "ssh://git@host/org/r.git" -> 1. */
int git_url_is_ssh(const char *url);
/* https form of an ssh URL ("https://host/org/r.git"), NULL if unknown. */
char *git_url_ssh_to_https(const char *url);
/* Strip credentials ("https://user:tok@host/x" -> "https://host/x"), caller frees. */
char *git_url_redact(const char *url);

/* A submodule URL as git resolves it: "./x" and "../x" relative to the
 * superproject's URL `base` (each "../" drops one path component, also of
 * scp-like "host:path" URLs), anything else as is.  NULL when "../" climbs
 * above the host. */
char *git_url_resolve(const char *base, const char *url);

/* Is the commit (hex) on a remote-tracking branch (refs/remotes/<remote>/<b>)
 * of repo, i.e. can a clone of that remote fetch it?  1 yes, 0 no. */
int repo_commit_pushed(struct git_repository *repo, const char *sha);

/* Message for the last libgit2 error ("" when none). */
const char *git2_errmsg(void);

#endif
