/* The uncommitted state of a working tree relative to a commit, packed for
 * the pod: a deterministic gzip'd tar of every changed or new file
 * (working-tree bytes and mode, binary-safe) plus a NUL-separated list of
 * deleted paths, and the git tree id the pod must end up with.  Submodules
 * checked out here contribute their own changes (under their path in the
 * tar, their own deleted list) and trees; the superproject's tree records
 * their HEADs as gitlinks. */
#ifndef EIDF_DEVRUN_CHANGES_H
#define EIDF_DEVRUN_CHANGES_H

#include <stdint.h>
#include "eidf/util.h"

struct git_repository;
struct submodules;

/* Secret data keys (and file names under the mount). */
#define CHANGES_TAR_KEY "changes.tar.gz"
#define CHANGES_DELETED_KEY "deleted"       /* submodule i (from 1): "deleted.<i>" */
/* Secrets hold at most 1 MiB; keep the base64 of the data well below. */
#define CHANGES_MAX_ENCODED_DEFAULT (960u * 1024u)

struct change_file {
	char *path;           /* repo-relative, '/'-separated */
	char status;          /* 'M' modified, 'A' added, '?' untracked, 'T' type change, 'D' deleted */
	unsigned mode;        /* git mode of the new file: 0100644, 0100755, 0120000 */
	uint64_t size;        /* bytes shipped (0 for deletions) */
	int64_t mtime;        /* working-tree mtime (seconds), for the tar entry */
	size_t repo;          /* 0: the superproject; i + 1: submodule i (path under its path) */
	char oid[65];         /* blob id (hex) of the shipped bytes; "" for deletions */
};

/* What a submodule checked out here ships. */
struct change_sub {
	char tree[41];        /* expected tree of its working state; "" when unverifiable */
	struct strbuf deleted; /* its "path\0..." (relative to the submodule) */
};

struct changes {
	struct change_file *files;   /* sorted by path (bytewise) */
	size_t n, alloc;
	size_t n_written, n_deleted;
	size_t n_packed;             /* files in tar_gz (n_written without a pack_filter) */
	uint64_t raw_bytes;          /* sum of shipped file sizes */
	struct strbuf tar_gz;        /* the archive (empty when nothing written) */
	struct strbuf deleted;       /* "path\0path\0..." */
	size_t encoded_size;         /* base64 size of tar_gz + deleted */
	char tree[41];               /* expected tree id after applying; "" when unverifiable */
	struct strvec skipped;       /* warnings: nested repositories, unreadable files */
	/* Shipped files that `git add` in the pod would convert (.gitattributes
	 * text/eol/crlf with CR bytes, ident with $Id, filter, working-tree-
	 * encoding), as "path (attribute)": the pod's tree cannot be predicted,
	 * so no tree is computed and the check is skipped. */
	struct strvec converted;
	struct change_sub *subs;     /* one per submodule of changes_opts.subs */
	size_t n_subs;
	size_t n_gitlinks;           /* submodules whose commit differs from the recorded one */
	int over_budget;             /* encoded_size > max_encoded (only with allow_over_budget) */
};

struct changes_opts {
	const char *base_sha;        /* commit the pod checks out (HEAD or --base) */
	size_t max_encoded;          /* 0: CHANGES_MAX_ENCODED_DEFAULT */
	const char *extra_ignore;    /* file name of extra ignore rules at the root; NULL: ".eidfignore" */
	const struct submodules *subs; /* NULL: none */
	int allow_over_budget;       /* over max_encoded: set over_budget instead of failing (the
				      * caller ships another way); SIZE_MAX max_encoded: no budget */
	/* Which written files go into tar_gz (NULL: all).  Every file still
	 * counts for the tree; a devrun session ships only what the pod does
	 * not have yet (called with the file's oid set). */
	int (*pack_filter)(const struct change_file *f, void *ud);
	void *pack_filter_ud;
};

/* Anything for the pod to apply or verify (files, deletions, moved submodules). */
int changes_dirty(const struct changes *c);

void changes_init(struct changes *c);
void changes_release(struct changes *c);

/* Collect, pack and size-check.  Returns 0, -1 on error (eidf_last_error),
 * or -2 when the packed changes exceed the limit (eidf_last_error says by
 * how much; changes_largest() lists the files to blame). */
int changes_collect(struct git_repository *repo, const char *root,
		    const struct changes_opts *o, struct changes *c);

/* Append "  SIZE  PATH\n" lines for the k largest shipped files. */
void changes_largest(const struct changes *c, size_t k, struct strbuf *out);

/* One-line summary: "3 files changed, 1 deleted (40KiB, 12.3KiB encoded)"
 * (exec: the gzip size, "sent with kubectl exec"). */
char *changes_summary(const struct changes *c, int exec);

#endif
