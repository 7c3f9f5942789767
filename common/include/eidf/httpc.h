/* A small libcurl client for servers that are not the Kubernetes API server:
 * object stores (S3 listings, signed with AWS Signature V4 by libcurl) and
 * REST APIs such as the Hugging Face Hub.  One easy handle per client, so
 * the pages of a listing share one keep-alive connection.  Knows no stage.
 *
 * Secrets (the SigV4 secret key, bearer tokens) are never logged. */
#ifndef EIDF_HTTPC_H
#define EIDF_HTTPC_H

#include "eidf/util.h"

struct httpc;

struct httpc_request {
	const char *url;
	const struct strvec *headers;   /* "Name: value", or NULL */
	/* AWS Signature V4 ("aws:amz:REGION:SERVICE"); `userpwd` is then
	 * "ACCESS_KEY:SECRET_KEY".  NULL: no signature. */
	const char *aws_sigv4;
	const char *userpwd;
	int follow;                     /* follow redirects (same-host credentials only) */
};

struct httpc_response {
	long status;
	struct strbuf body;
	struct strbuf headers;          /* the last response's header block */
	char *effective_url;            /* after redirects */
};
#define HTTPC_RESPONSE_INIT { 0, STRBUF_INIT, STRBUF_INIT, NULL }

/* EIDF_HTTPC_VERBOSE=1 (or `verbose`) logs method, URL and status on stderr
 * (never headers or bodies). */
struct httpc *httpc_new(int verbose);
void httpc_free(struct httpc *h);
/* GET; 0 when a response came (any status, see out->status), -1 with an
 * error naming the URL on a transport failure.  `out` is reset first. */
int httpc_get(struct httpc *h, const struct httpc_request *r, struct httpc_response *out);
void httpc_response_release(struct httpc_response *r);
/* Value of the response header `name` (case-insensitive, last occurrence),
 * trimmed; NULL when absent.  Caller frees. */
char *httpc_response_header(const struct httpc_response *r, const char *name);
/* The "next" target of an RFC 8288 Link header (<url>; rel="next"), NULL when
 * there is none.  Caller frees. */
char *httpc_link_next(const char *link);
/* Percent-encode every byte except RFC 3986 unreserved characters
 * (A-Z a-z 0-9 - _ . ~) and, when keep_slash, '/': the canonical form AWS
 * Signature V4 signs, also fine for any URL path or query value. */
void strbuf_add_uri_encoded(struct strbuf *sb, const char *s, int keep_slash);

#endif
