/* Reproducible Docker build contexts: a pax-restricted tar (libarchive) of a
 * directory or of a commit's tree (libgit2), filtered by .dockerignore with
 * BuildKit's walk rules, optionally gzipped (zlib), streamed in constant
 * memory, with the sha256 of the uncompressed tar computed on the way.
 *
 * Determinism: depth-first, siblings sorted bytewise by name (like
 * `tar --sort=name`), mtime fixed, uid/gid 0 without names, modes 0644/0755
 * (owner x bit), directories 0755, symlinks 0777, no atime/ctime, hard links
 * stored as regular files, gzip header with no name, mtime 0 and OS 3. */
#ifndef EIDF_BC_CONTEXT_TAR_H
#define EIDF_BC_CONTEXT_TAR_H

#include <stddef.h>
#include <stdint.h>

#include "eidf/util.h"
#include <sys/types.h>

enum bctx_compression { BCTX_GZIP = 0, BCTX_NONE };

enum bctx_type { BCTX_FILE = 'f', BCTX_DIR = 'd', BCTX_SYMLINK = 'l' };

struct bctx_entry {
	const char *path;        /* relative, '/'-separated, no trailing '/' */
	enum bctx_type type;
	unsigned mode;           /* normalised permission bits */
	uint64_t size;           /* file content size (0 for dirs and links) */
	const char *link_target; /* symlinks */
};

/* Called for every archived entry in archive order; non-zero stops the
 * build (return -1 after eidf_set_error()). */
typedef int (*bctx_entry_fn)(const struct bctx_entry *e, void *ud);
/* Receives the (possibly compressed) archive bytes; -1 with error on failure. */
typedef int (*bctx_write_fn)(const void *data, size_t len, void *ud);

struct bctx_opts {
	const char *dir;          /* the context directory */
	const char *dockerfile;   /* -f as given (relative to the cwd), NULL: DIR/Dockerfile */
	const char *git_rev;      /* NULL: the directory on disk; else a commit-ish */
	enum bctx_compression compression;
	int level;                /* gzip level 1..9; 0: 6 */
	int mtime_set;            /* else $SOURCE_DATE_EPOCH, else commit time (--git), else 0 */
	int64_t mtime;
	int use_ignore;           /* normally 1; 0 archives everything */
	bctx_write_fn write;      /* NULL: the archive is only hashed */
	void *write_ud;
	bctx_entry_fn entry;      /* NULL: none */
	void *entry_ud;
	int skip_set;             /* a file never to archive (the -o output) */
	dev_t skip_dev;
	ino_t skip_ino;
};

struct bctx_result {
	char digest[65];          /* sha256 of the uncompressed tar, hex */
	uint64_t tar_bytes;       /* uncompressed size */
	uint64_t out_bytes;       /* bytes given to write() */
	uint64_t files, dirs, symlinks, skipped;
	uint64_t content_bytes;   /* sum of file sizes */
	int64_t mtime;            /* the mtime used */
	char *dockerfile;         /* Dockerfile path inside the context */
	int dockerfile_found;
	char *ignore_file;        /* ignore file used (inside the context), or NULL */
	size_t patterns;          /* number of ignore patterns in effect */
	struct strvec secrets;    /* archived files whose names look like secrets
				   * (.env, *.pem, id_rsa, .netrc, credentials*) */
};
/* Warn (stderr) about res->secrets, if any: a build uploads them and a
 * `COPY .` bakes them into an image that may be pushed publicly. */
void bctx_warn_secrets(const struct bctx_result *res);

/* 0 on success; -1 with eidf_last_error() naming the path or pattern. */
int bctx_build(const struct bctx_opts *o, struct bctx_result *res);
void bctx_result_release(struct bctx_result *res);

#endif
