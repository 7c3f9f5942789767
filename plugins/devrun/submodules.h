/* The submodules of a devrun's code: which commit of which URL the pod
 * checks out at each gitlink path, and the local repository whose
 * uncommitted changes are shipped with the superproject's. */
#ifndef EIDF_DEVRUN_SUBMODULES_H
#define EIDF_DEVRUN_SUBMODULES_H

#include "eidf/util.h"

struct git_repository;

struct submodule {
	char *path;                   /* in the superproject, '/'-separated */
	char *url;                    /* what the pod clones (relative URLs resolved) */
	char commit[41];              /* what the pod checks out */
	char recorded[41];            /* gitlink of the superproject's commit; "" when new */
	struct git_repository *repo;  /* its working tree here (changes shipped), or NULL */
};

struct submodules {
	struct submodule *v;
	size_t n;
	struct strvec notes;          /* things worth a warning (not checked out here, ...) */
};

struct submodules_opts {
	const char *base_sha;         /* the superproject commit the pod checks out */
	const char *pod_url;          /* the URL the pod clones the superproject from */
	int have_git_secret;          /* keep ssh URLs (else their https form) */
	int working_state;            /* the working tree's gitlinks and submodule HEADs
				       * (0: the commit's gitlinks, --no-local-changes) */
};

/* Every gitlink of the superproject (index, or the commit's tree) with its
 * URL from .gitmodules.  -1 with eidf_last_error() naming the submodule and
 * the fix: no URL, a HEAD that is not pushed, a path the pod cannot take. */
int submodules_load(struct git_repository *repo, const char *root, const struct submodules_opts *o,
		    struct submodules *out);
void submodules_release(struct submodules *s);

/* The init container's EIDF_SUBMODULES: "COMMIT TREE URL PATH" lines; trees[i]
 * is the expected tree of submodule i ("" or NULL: "-", commit only). */
char *submodules_env(const struct submodules *s, const char *const *trees);

#endif
