/* kubectl eidf fetch: sources that are listed by the client before the Job
 * is made (s3://BUCKET/PREFIX, hf://REPO), expanded into list entries with
 * the size and checksum the listing gives.  The client talks to the object
 * store or the Hub through eidf/httpc.h; the Job downloads each entry by
 * its plain https URL with the credentials of a Secret. */
#ifndef EIDF_FETCH_SOURCE_H
#define EIDF_FETCH_SOURCE_H

#include "fetch_spec.h"

/* Which sources an argument names: 1 s3://, 2 hf://, 0 anything else. */
enum fetch_source_kind { FETCH_SRC_URL = 0, FETCH_SRC_S3 = 1, FETCH_SRC_HF = 2 };
enum fetch_source_kind fetch_source_kind(const char *arg);

/* --include/--exclude: `name` (the path below the source: relative to the
 * prefix's directory for S3, in the repo for HF) is kept when it matches an
 * include glob (or there are none) and no exclude glob.  fnmatch(3) without
 * FNM_PATHNAME: '*' also matches '/', as in `aws s3 --exclude` and
 * huggingface_hub's allow_patterns. */
int fetch_glob_keep(const char *name, const struct strvec *include, const struct strvec *exclude);

/* ---- S3 ------------------------------------------------------------------ */

struct s3_credentials {
	char *access_key, *secret_key, *session_token;   /* NULL: anonymous */
	char *origin;                                    /* where they came from, for messages */
};
void s3_credentials_release(struct s3_credentials *c);
/* The standard places, in the AWS CLI's order: AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, then the profile (`profile`,
 * else AWS_PROFILE, else "default") of AWS_SHARED_CREDENTIALS_FILE or
 * ~/.aws/credentials.  0 found, 1 none there, -1 error (a named profile that
 * does not exist). */
int s3_credentials_from_env(const char *profile, struct s3_credentials *c);

struct s3_source_opts {
	const char *endpoint;        /* "https://host[:port]" (no path), NULL: AWS for region */
	const char *region;          /* never NULL */
	const char *addressing;      /* "path", "virtual" or "auto" */
	const struct s3_credentials *cred;
	const struct strvec *include, *exclude;
	int job_signs;               /* the Job has --s3-secret: entries are signed (auth=s3) */
};

/* Parse s3://BUCKET[/PREFIX]: *bucket and *prefix caller-owned.  -1 with an
 * error naming the argument. */
int s3_parse(const char *src, char **bucket, char **prefix);
/* The URL of one object (key URI-encoded as SigV4 signs it), or with
 * key == NULL the bucket's URL for listing.  Caller frees. */
char *s3_object_url(const struct s3_source_opts *o, const char *bucket, const char *key);
/* "aws:amz:REGION:s3" for libcurl/curl --aws-sigv4.  Caller frees. */
char *s3_sigv4_param(const char *region);

/* One ListObjectsV2 page (the XML body): appends "key\tsize\tetag" to
 * `out`, sets *next (NULL when not truncated).  -1 on a malformed page. */
struct s3_object { char *key; long long size; char *etag; };
struct s3_page {
	struct s3_object *obj;
	size_t n, alloc;
	char *next_token;
};
int s3_parse_list_page(const char *xml, size_t len, struct s3_page *page);
void s3_page_release(struct s3_page *page);
/* The Code and Message of an S3 error body, for one-line errors. */
void s3_parse_error(const char *xml, size_t len, char **code, char **message);

/* List s3://BUCKET/PREFIX (paginated ListObjectsV2) and append an entry per
 * object kept by the globs.  *dest_hint gets the bucket name.  -1 with an
 * error naming the source and the fix; -2 when a key is refused as a name
 * (.., absolute, control characters: a usage error like such a URL). */
int s3_expand(const char *src, const struct s3_source_opts *o, struct fetch_list *l, char **dest_hint);

#endif

/* ---- Hugging Face Hub ------------------------------------------------------ */

struct hf_ref {
	char *type;          /* "models", "datasets" or "spaces" */
	char *repo;          /* ORG/NAME */
	char *revision;      /* "main" unless @REV */
	char *path;          /* "" or a path in the repo */
};
void hf_ref_release(struct hf_ref *r);
/* hf://[datasets/|spaces/|models/]ORG/NAME[@REV][/PATH]; a revision with a
 * slash is written as refs/pr/N (refs/X/Y) or percent-encoded.  -1 with an
 * error naming the argument. */
int hf_parse(const char *src, struct hf_ref *r);

struct hf_source_opts {
	const char *endpoint;            /* https://huggingface.co or a mirror */
	const char *token;               /* bearer token for the listing, or NULL */
	const struct strvec *include, *exclude;
	int job_token;                   /* the Job has --hf-token-secret: entries get auth=hf */
};

/* Resolve the revision to a commit sha (pinned: the Job downloads
 * .../resolve/<sha>/<path>), list the tree recursively (all pages), and append
 * an entry per file kept by the globs, with its size and, for LFS files, its
 * sha256 (verified by the Job); other files carry their git blob id.
 * *dest_hint gets NAME, *commit the sha.  -1 with an error naming the repo
 * and the fix (exit 1), -2 for a usage error (a refused path). */
int hf_expand(const char *src, const struct hf_source_opts *o, struct fetch_list *l, char **dest_hint,
	      char **commit);
