/* kubectl eidf fetch: what to download and where (URL checks, file name and
 * destination normalisation, --from-file / --checksums parsing, sharding for
 * Indexed Jobs) and the Job manifest that does it.  No network access. */
#ifndef EIDF_FETCH_SPEC_H
#define EIDF_FETCH_SPEC_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "eidf/util.h"

/* Annotation keys recording what a fetch Job does (read back by status). */
#define FETCH_ANN_URLS "eidf.ac.uk/fetch-urls"       /* one URL per line, query redacted */
#define FETCH_ANN_PVC "eidf.ac.uk/fetch-pvc"
#define FETCH_ANN_DEST "eidf.ac.uk/fetch-dest"
#define FETCH_ANN_FILES "eidf.ac.uk/fetch-files"     /* number of files */
#define FETCH_ANN_OPTIONS "eidf.ac.uk/fetch-options"
#define FETCH_ANN_SOURCES "eidf.ac.uk/fetch-sources"   /* hf:// sources and the commit pinned */
#define FETCH_CONTAINER "fetch"
/* With --extract, FETCH_CONTAINER becomes an init container and this one
 * unpacks the archives after it (fetch-extract.sh running fetch-extract.py). */
#define FETCH_EXTRACT_CONTAINER "extract"
/* Python's tarfile/zipfile give the extractor each entry's structure; 3.14
 * adds compression.zstd for .tar.zst.  A small public image that has both. */
#define FETCH_DEFAULT_EXTRACT_IMAGE "python:3.14-alpine"
#define FETCH_DEFAULT_MOUNT "/mnt/ceph"
#define FETCH_DEFAULT_IMAGE "alpine/curl:latest"
/* Lists larger than this go into a ConfigMap instead of an env var (one
 * execve string may not exceed 128 KiB). */
#define FETCH_ENV_LIST_MAX (96 * 1024)
/* A list holding a URL with a query string (presigned URLs carry their
 * credentials there) goes into a Secret of this name prefix instead, owned by
 * the Job; the annotation and the log only ever show the redacted form. */
#define FETCH_LIST_OBJECT_PREFIX "fetch-list-"
#define FETCH_LIST_KEY "list"
#define FETCH_LIST_DIR "/etc/eidf-fetch/list"
#define FETCH_S3_DIR "/etc/eidf-fetch/s3"        /* --s3-secret, mounted read-only */
#define FETCH_HF_DIR "/etc/eidf-fetch/hf"        /* --hf-token-secret, mounted read-only */

/* Exit codes of the Job's container (fetch-job.sh).  The Job's
 * podFailurePolicy fails the Job at once on FETCH_EXIT_FIRST_FATAL ..
 * FETCH_EXIT_LAST_FATAL from any container: another pod would fail the same
 * way.  Only FETCH_EXIT_TRANSIENT (and signals, evictions) are retried, each
 * new pod resuming the .part files. */
#define FETCH_EXIT_OK 0
#define FETCH_EXIT_TRANSIENT 1    /* network, 5xx, 408/429 after the retries */
#define FETCH_EXIT_USAGE 2        /* bad options: a bug in the Job spec */
#define FETCH_EXIT_SHA256 3       /* a file does not match its sha256 */
#define FETCH_EXIT_HTTP_4XX 4     /* permanent HTTP 4xx (not 408/429) */
#define FETCH_EXIT_ARCHIVE 5      /* --extract refused an unsafe/unreadable archive */
#define FETCH_EXIT_NO_TOOL 6      /* the image cannot extract this format */
#define FETCH_EXIT_FIRST_FATAL FETCH_EXIT_USAGE
#define FETCH_EXIT_LAST_FATAL FETCH_EXIT_NO_TOOL
/* What an exit code means, for status lines ("sha256 mismatch"); NULL for
 * codes the script does not use. */
const char *fetch_exit_meaning(long code);

/* How the pod authenticates one entry's download: a listed source's
 * credentials go only to that source's URLs. */
enum fetch_auth {
	FETCH_AUTH_NONE = 0,
	FETCH_AUTH_S3,       /* curl --aws-sigv4 with the --s3-secret keys */
	FETCH_AUTH_HF,       /* Authorization: Bearer from --hf-token-secret */
};

struct fetch_item {
	char *url;
	char *sha256;        /* 64 lowercase hex chars, or NULL */
	char *name;          /* normalised path relative to the destination */
	long long size;      /* from a listing; -1 unknown */
	char *etag;          /* S3 ETag without quotes (an MD5 unless multipart), or NULL */
	char *gitsha1;       /* Hub: git blob id of a file not in LFS (checked by the Job), or NULL */
	char *revision;      /* Hub: the commit the URL is pinned to (recorded in the marker), or NULL */
	enum fetch_auth auth;
};

struct fetch_list {
	struct fetch_item *items;
	size_t n, alloc;
};
#define FETCH_LIST_INIT { NULL, 0, 0 }

/* 0 if `url` may be fetched (http, https, ftp; no whitespace, control or
 * non-ASCII bytes, no user:password@), else -1 with an error naming it. */
int fetch_url_check(const char *url);
/* Scheme://host/...?<redacted> when a query is present (presigned URLs carry
 * credentials there); caller frees. */
char *fetch_url_redact(const char *url);
/* File name from the URL's last path segment, percent-decoded and checked
 * as a single path component; NULL + error when there is none. */
char *fetch_name_from_url(const char *url);

/* Normalise a relative path: collapse "//" and ".", refuse "..", control
 * characters, over-long components and the marker directory.  For a
 * destination (is_dest) a leading "/" means the PVC root and "" or "/"
 * yields "" (the root itself); for a file name, absolute or empty paths are
 * refused.  *out is caller-owned.  -1 with an error. */
int fetch_path_normalize(const char *in, int is_dest, char **out);

/* Validate a sha256 hex digest (any case) into lowercase; -1 with error. */
int fetch_sha256_check(const char *hex, char **out);

/* Append one entry: checks the URL, derives the name when `name` is NULL,
 * normalises it, checks the digest (NULL or "-" for none).  `where` prefixes
 * error messages (e.g. "list.txt:3") and may be NULL. */
int fetch_list_add(struct fetch_list *l, const char *url, const char *sha256,
		   const char *name, const char *where);
/* An entry from a listed source (s3://, hf://): like fetch_list_add with a
 * size (-1 unknown), an ETag and the credentials it needs. */
int fetch_list_add_listed(struct fetch_list *l, const char *url, const char *sha256, const char *name,
			  long long size, const char *etag, enum fetch_auth auth, const char *where);
/* --from-file: one URL per line, optional sha256 (64 hex or "-") and target
 * name columns separated by whitespace (the name is the rest of the line);
 * blank lines and lines starting with '#' are ignored. */
int fetch_list_parse(struct fetch_list *l, const char *text, size_t len, const char *origin);
/* --checksums: sha256sum output ("HEX  NAME" or "HEX *NAME"); fills in the
 * digests of entries whose name (or basename) matches.  Every entry must get
 * one; a conflicting digest is an error. */
int fetch_checksums_apply(struct fetch_list *l, const char *text, size_t len, const char *origin);
/* Final checks: at least one entry, no two entries with the same name. */
int fetch_list_finish(struct fetch_list *l);
void fetch_list_release(struct fetch_list *l);
/* The list as the job script reads it: URL \t sha256|- \t name \n per entry;
 * entries from a listing add fields after the name, each "\tkey=value":
 * size=BYTES, etag=ETAG, gitsha1=OID, rev=SHA, auth=s3|hf (names never hold a tab). */
char *fetch_list_tsv(const struct fetch_list *l);

/* Sharding for Indexed Jobs: entry k goes to pod k % shards. */
size_t fetch_shard_of(size_t k, size_t shards);
size_t fetch_shard_size(size_t n, size_t shards, size_t index);

struct fetch_job_opts {
	const char *namespace;
	const char *pvc;
	const char *dest;            /* normalised, "" = PVC root */
	const char *mount_path;      /* FETCH_DEFAULT_MOUNT */
	const char *image;
	const char *cpu, *memory;
	const char *queue;           /* NULL: policy default */
	const char *eidf_user;       /* NULL: no label */
	const char *run_id;
	const char *header_secret;   /* Secret mounted as headers, or NULL */
	const char *s3_secret;       /* Secret with the S3 keys (entries with auth=s3), or NULL */
	const char *s3_region;       /* with s3_secret: the region signatures name */
	const char *hf_token_secret; /* Secret with HF_TOKEN (entries with auth=hf), or NULL */
	const char *segments;        /* --segments N|auto, or NULL */
	long segment_chunk;          /* bytes per range request, 0: the script's default */
	const struct strvec *sources;/* "SOURCE commit=SHA" lines for FETCH_ANN_SOURCES, or NULL */
	const struct strvec *headers;/* "Name: value" (visible in the Job spec) */
	long ttl;                    /* ttlSecondsAfterFinished */
	long retries;                /* curl attempts per file */
	long backoff_limit;          /* pod retries (each one resumes) */
	long parallel;               /* >1: Indexed Job */
	long interval;               /* progress line period, seconds */
	int extract;
	int purge;                   /* remove the .part files of the list instead (--purge-partial) */
	const char *extract_image;   /* with extract: the extract container's image */
	const char *extract_script;  /* fetch-extract.sh (the container's sh -c text) */
	const char *extract_program; /* fetch-extract.py, passed to it as $1 */
};

/* Parse a list as fetch_list_tsv() writes it (URL \t sha256|- \t name per
 * line) keeping only the names, each checked again with
 * fetch_path_normalize(): for --purge-partial, which must never touch a
 * path outside the destination.  -1 with an error. */
int fetch_list_names(const char *tsv, struct strvec *names);

/* 1 if some URL of the list carries a query string: the list is a secret. */
int fetch_list_has_secret(const struct fetch_list *l);

/* Build the Job and, when the list does not go into an env var, the object
 * holding it, "fetch-list-<run_id>" (*list_obj_out, else NULL): a Secret when
 * a URL carries a query string (fetch_list_has_secret), else a ConfigMap for
 * a list over FETCH_ENV_LIST_MAX.  The caller makes it owned by the Job once
 * that exists, so it is garbage-collected with it.  `script` is the job
 * script text.  The list is never placed into shell text: it travels in an
 * env var or a mounted file, and the script only reads it as data. */
cJSON *fetch_job_manifest(const struct fetch_job_opts *o, const struct fetch_list *l,
			  const char *script, cJSON **list_obj_out);

#endif
