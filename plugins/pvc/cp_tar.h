#ifndef EIDF_PVC_CP_TAR_H
#define EIDF_PVC_CP_TAR_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "eidf/util.h"

/* One small file of an upload batch: what the walk saw, and what reading it
 * found. */
struct cp_tar_file {
	const char *local;      /* read from here */
	const char *rel;        /* its name in the tar: the path on the claim */
	unsigned mode;
	uint64_t size;          /* as listed */
	struct timespec mtime;  /* as listed */
	/* results */
	char sha256[65];        /* of the bytes put in the tar */
	int changed;            /* written to since it was listed: left out */
	int err;                /* errno when it could not be read: left out */
};

/* A GNU tar (long names as busybox tar reads them) of the files, appended
 * to out: each read once, hashed on the way, owned by 0:0, its mode as
 * given, mtime now.  A file that cannot be read, or whose size or mtime
 * moved since it was listed, is left out with err or changed set.  0, or
 * -1 when libarchive fails (eidf_last_error says why). */
int cp_tar_build(struct cp_tar_file *f, size_t n, struct strbuf *out);

/* Each regular file of the tar in buf (the pod's answer to "gets"), whole,
 * to fn with its name as the tar has it; anything else is passed over.
 * 0, fn's non-zero answer, or -1 when the tar is damaged (eidf_last_error). */
int cp_tar_each(const void *buf, size_t len, int (*fn)(void *ctx, const char *name, const void *data, size_t n),
		void *ctx);

#endif
