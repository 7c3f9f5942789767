/* s3://BUCKET/PREFIX: the client lists the objects (ListObjectsV2,
 * paginated, signed with AWS Signature V4 by libcurl) and the Job fetches
 * each by its https URL with `curl --aws-sigv4` and the keys of a Secret. */
#include "source.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "eidf/httpc.h"

enum fetch_source_kind fetch_source_kind(const char *arg)
{
	if (!strncmp(arg, "s3://", 5))
		return FETCH_SRC_S3;
	if (!strncmp(arg, "hf://", 5))
		return FETCH_SRC_HF;
	return FETCH_SRC_URL;
}

int fetch_glob_keep(const char *name, const struct strvec *include, const struct strvec *exclude)
{
	int keep = !include || !include->n;
	for (size_t i = 0; !keep && i < include->n; i++)
		if (fnmatch(include->v[i], name, 0) == 0)
			keep = 1;
	for (size_t i = 0; keep && exclude && i < exclude->n; i++)
		if (fnmatch(exclude->v[i], name, 0) == 0)
			keep = 0;
	return keep;
}

/* ---- credentials ----------------------------------------------------------- */

void s3_credentials_release(struct s3_credentials *c)
{
	/* secrets: wipe before freeing */
	if (c->secret_key)
		memset(c->secret_key, 0, strlen(c->secret_key));
	if (c->session_token)
		memset(c->session_token, 0, strlen(c->session_token));
	free(c->access_key);
	free(c->secret_key);
	free(c->session_token);
	free(c->origin);
	memset(c, 0, sizeof(*c));
}

static char *trim_dup(const char *s, size_t len)
{
	while (len && isspace((unsigned char)*s))
		s++, len--;
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	return xstrndup(s, len);
}

/* One profile of an AWS shared credentials file (INI). */
static int profile_from_file(const char *path, const char *profile, struct s3_credentials *c)
{
	struct strbuf sb = STRBUF_INIT;
	if (read_file(path, &sb) < 0) {
		strbuf_release(&sb);
		return 1;
	}
	int in = 0, found = 0;
	const char *p = strbuf_str(&sb);
	while (*p) {
		size_t len = strcspn(p, "\n");
		char *line = trim_dup(p, len);
		if (line[0] == '[') {
			char *end = strchr(line, ']');
			char *name = end ? trim_dup(line + 1, (size_t)(end - line - 1)) : xstrdup("");
			in = !strcmp(name, profile);
			found |= in;
			free(name);
		} else if (in && line[0] != '#' && line[0] != ';') {
			char *eq = strchr(line, '=');
			if (eq) {
				char *k = trim_dup(line, (size_t)(eq - line));
				char *v = trim_dup(eq + 1, strlen(eq + 1));
				char **slot = !strcmp(k, "aws_access_key_id") ? &c->access_key :
					!strcmp(k, "aws_secret_access_key") ? &c->secret_key :
					!strcmp(k, "aws_session_token") ? &c->session_token : NULL;
				if (slot) {
					free(*slot);
					*slot = v;
					v = NULL;
				}
				free(k);
				free(v);
			}
		}
		free(line);
		p += len;
		if (*p)
			p++;
	}
	memset(sb.buf ? sb.buf : "", 0, sb.buf ? sb.len : 0);
	strbuf_release(&sb);
	if (!found)
		return 1;
	if (!c->access_key || !c->secret_key) {
		eidf_set_error("profile [%s] of %s has no aws_access_key_id and aws_secret_access_key", profile, path);
		s3_credentials_release(c);
		return -1;
	}
	c->origin = xasprintf("profile %s of %s", profile, path);
	return 0;
}

int s3_credentials_from_env(const char *profile, struct s3_credentials *c)
{
	memset(c, 0, sizeof(*c));
	const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
	if (!profile && ak && *ak && sk && *sk) {
		const char *tok = getenv("AWS_SESSION_TOKEN");
		c->access_key = xstrdup(ak);
		c->secret_key = xstrdup(sk);
		c->session_token = tok && *tok ? xstrdup(tok) : NULL;
		c->origin = xstrdup("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY");
		return 0;
	}
	const char *named = profile ? profile : getenv("AWS_PROFILE");
	const char *want = named && *named ? named : "default";
	const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE");
	char *path = file && *file ? xstrdup(file) : NULL;
	if (!path) {
		const char *home = getenv("HOME");
		if (home && *home)
			path = xasprintf("%s/.aws/credentials", home);
	}
	int rc = path ? profile_from_file(path, want, c) : 1;
	if (rc == 1 && named && *named) {
		eidf_set_error("AWS profile \"%s\" not found in %s", want, path ? path : "~/.aws/credentials");
		rc = -1;
	}
	free(path);
	return rc;
}

/* ---- addressing -------------------------------------------------------------- */

int s3_parse(const char *src, char **bucket, char **prefix)
{
	*bucket = *prefix = NULL;
	if (strncmp(src, "s3://", 5)) {
		eidf_set_error("\"%s\" is not an s3:// source", src);
		return -1;
	}
	const char *b = src + 5;
	size_t bl = strcspn(b, "/");
	if (bl < 1 || bl > 255) {
		eidf_set_error("\"%s\": no bucket; use s3://BUCKET/PREFIX", src);
		return -1;
	}
	for (size_t i = 0; i < bl; i++) {
		unsigned char ch = (unsigned char)b[i];
		if (!isalnum(ch) && ch != '.' && ch != '-' && ch != '_') {
			eidf_set_error("\"%s\": invalid bucket name \"%.*s\" (letters, digits, '.', '-', '_')",
				       src, (int)bl, b);
			return -1;
		}
	}
	const char *pfx = b[bl] ? b + bl + 1 : "";
	for (const unsigned char *p = (const unsigned char *)pfx; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			eidf_set_error("\"%s\": the prefix contains a control character", src);
			return -1;
		}
	}
	*bucket = xstrndup(b, bl);
	*prefix = xstrdup(pfx);
	return 0;
}

char *s3_sigv4_param(const char *region)
{
	return xasprintf("aws:amz:%s:s3", region);
}

/* Virtual-hosted style needs a bucket that is one DNS label. */
static int virtual_hosted(const struct s3_source_opts *o, const char *bucket)
{
	int dns_ok = 1;
	for (const char *p = bucket; *p; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-'))
			dns_ok = 0;
	if (o->addressing && !strcmp(o->addressing, "virtual"))
		return 1;
	if (o->addressing && !strcmp(o->addressing, "path"))
		return 0;
	/* auto: AWS's own endpoint prefers virtual hosts; other S3 services
	 * (Ceph RGW, MinIO, EIDF's) commonly serve path style */
	return !o->endpoint && dns_ok;
}

char *s3_object_url(const struct s3_source_opts *o, const char *bucket, const char *key)
{
	char *ep = o->endpoint ? xstrdup(o->endpoint) :
		xasprintf("https://s3.%s.amazonaws.com", o->region);
	size_t n = strlen(ep);
	while (n && ep[n - 1] == '/')
		ep[--n] = '\0';
	struct strbuf sb = STRBUF_INIT;
	if (virtual_hosted(o, bucket)) {
		const char *host = strstr(ep, "://");
		host = host ? host + 3 : ep;
		strbuf_add(&sb, ep, (size_t)(host - ep));
		strbuf_addf(&sb, "%s.%s/", bucket, host);
	} else {
		strbuf_addf(&sb, "%s/", ep);
		strbuf_add_uri_encoded(&sb, bucket, 0);
		if (key)
			strbuf_addch(&sb, '/');
	}
	if (key)
		strbuf_add_uri_encoded(&sb, key, 1);
	free(ep);
	return strbuf_detach(&sb);
}

/* ---- the XML of ListObjectsV2 and of errors ---------------------------------
 * S3's answers are flat documents of known elements without attributes
 * (the root's xmlns aside); only the elements below are read, by structure. */

/* The content of the next <tag>...</tag> in [p, end), or NULL. */
static const char *xml_elem(const char *p, const char *end, const char *tag, const char **cend)
{
	size_t tl = strlen(tag);
	while (p < end) {
		const char *lt = memchr(p, '<', (size_t)(end - p));
		if (!lt || (size_t)(end - lt) < tl + 2)
			return NULL;
		if (!strncmp(lt + 1, tag, tl) && (lt[tl + 1] == '>' || lt[tl + 1] == ' ')) {
			const char *gt = memchr(lt, '>', (size_t)(end - lt));
			if (!gt)
				return NULL;
			if (gt[-1] == '/') {   /* <tag/> */
				*cend = gt + 1;
				return gt + 1;
			}
			const char *c = gt + 1;
			for (const char *q = c; q < end; q++) {
				if (*q == '<' && q[1] == '/' && (size_t)(end - q) >= tl + 3 &&
				    !strncmp(q + 2, tag, tl) && q[tl + 2] == '>') {
					*cend = q;
					return c;
				}
			}
			return NULL;
		}
		p = lt + 1;
	}
	return NULL;
}

/* XML character data to text: the five entities and &#N; / &#xN; (UTF-8). */
static char *xml_text(const char *s, const char *e)
{
	struct strbuf sb = STRBUF_INIT;
	static const struct { const char *ent; char ch; } ents[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' }, { "&apos;", '\'' },
	};
	while (s < e) {
		if (*s != '&') {
			strbuf_addch(&sb, *s++);
			continue;
		}
		int done = 0;
		for (size_t i = 0; i < EIDF_ARRAY_SIZE(ents); i++) {
			size_t l = strlen(ents[i].ent);
			if ((size_t)(e - s) >= l && !strncmp(s, ents[i].ent, l)) {
				strbuf_addch(&sb, ents[i].ch);
				s += l;
				done = 1;
				break;
			}
		}
		if (!done && s + 2 < e && s[1] == '#') {
			char *endp = NULL;
			unsigned long cp = s[2] == 'x' ? strtoul(s + 3, &endp, 16) : strtoul(s + 2, &endp, 10);
			if (endp && endp < e && *endp == ';' && cp > 0 && cp < 0x110000) {
				if (cp < 0x80) {
					strbuf_addch(&sb, (int)cp);
				} else if (cp < 0x800) {
					strbuf_addch(&sb, (int)(0xc0 | (cp >> 6)));
					strbuf_addch(&sb, (int)(0x80 | (cp & 0x3f)));
				} else if (cp < 0x10000) {
					strbuf_addch(&sb, (int)(0xe0 | (cp >> 12)));
					strbuf_addch(&sb, (int)(0x80 | ((cp >> 6) & 0x3f)));
					strbuf_addch(&sb, (int)(0x80 | (cp & 0x3f)));
				} else {
					strbuf_addch(&sb, (int)(0xf0 | (cp >> 18)));
					strbuf_addch(&sb, (int)(0x80 | ((cp >> 12) & 0x3f)));
					strbuf_addch(&sb, (int)(0x80 | ((cp >> 6) & 0x3f)));
					strbuf_addch(&sb, (int)(0x80 | (cp & 0x3f)));
				}
				s = endp + 1;
				done = 1;
			}
		}
		if (!done)
			strbuf_addch(&sb, *s++);
	}
	return strbuf_detach(&sb);
}

static int hexv(int c)
{
	return isdigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 :
		(c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
}

/* encoding-type=url: keys come form-encoded ('+' is a space). */
static char *url_decode_plus(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	for (; *s; s++) {
		if (*s == '+') {
			strbuf_addch(&sb, ' ');
		} else if (*s == '%' && hexv((unsigned char)s[1]) >= 0 && hexv((unsigned char)s[2]) >= 0) {
			strbuf_addch(&sb, hexv((unsigned char)s[1]) * 16 + hexv((unsigned char)s[2]));
			s += 2;
		} else {
			strbuf_addch(&sb, *s);
		}
	}
	return strbuf_detach(&sb);
}

static char *elem_text(const char *p, const char *end, const char *tag)
{
	const char *ce = NULL;
	const char *c = xml_elem(p, end, tag, &ce);
	return c ? xml_text(c, ce) : NULL;
}

int s3_parse_list_page(const char *xml, size_t len, struct s3_page *page)
{
	const char *end = xml + len, *ce = NULL;
	const char *root = xml_elem(xml, end, "ListBucketResult", &ce);
	if (!root) {
		eidf_set_error("the answer is not a ListBucketResult");
		return -1;
	}
	const char *rend = ce;
	char *enc = elem_text(root, rend, "EncodingType");
	int url_enc = enc && !strcmp(enc, "url");
	free(enc);
	const char *p = root;
	for (;;) {
		const char *c = xml_elem(p, rend, "Contents", &ce);
		if (!c)
			break;
		char *key = elem_text(c, ce, "Key");
		char *size = elem_text(c, ce, "Size");
		char *etag = elem_text(c, ce, "ETag");
		char *endp = NULL;
		long long sz = size ? strtoll(size, &endp, 10) : -1;
		if (!key || !size || !endp || *endp || sz < 0) {
			eidf_set_error("a <Contents> entry without a valid <Key> and <Size>");
			free(key);
			free(size);
			free(etag);
			return -1;
		}
		if (url_enc) {
			char *d = url_decode_plus(key);
			free(key);
			key = d;
		}
		if (etag) {
			/* "\"hex\"" -> hex */
			size_t el = strlen(etag);
			if (el >= 2 && etag[0] == '"' && etag[el - 1] == '"') {
				memmove(etag, etag + 1, el - 2);
				etag[el - 2] = '\0';
			}
		}
		if (page->n == page->alloc) {
			page->alloc = page->alloc ? 2 * page->alloc : 64;
			page->obj = xrealloc(page->obj, page->alloc * sizeof(*page->obj));
		}
		page->obj[page->n++] = (struct s3_object){ key, sz, etag };
		free(size);
		p = ce;
	}
	char *trunc = elem_text(root, rend, "IsTruncated");
	free(page->next_token);
	page->next_token = NULL;
	if (trunc && !strcmp(trunc, "true")) {
		page->next_token = elem_text(root, rend, "NextContinuationToken");
		if (!page->next_token || !*page->next_token) {
			free(trunc);
			eidf_set_error("a truncated listing without a NextContinuationToken");
			return -1;
		}
	}
	free(trunc);
	return 0;
}

void s3_page_release(struct s3_page *page)
{
	for (size_t i = 0; i < page->n; i++) {
		free(page->obj[i].key);
		free(page->obj[i].etag);
	}
	free(page->obj);
	free(page->next_token);
	memset(page, 0, sizeof(*page));
}

void s3_parse_error(const char *xml, size_t len, char **code, char **message)
{
	const char *end = xml + len, *ce = NULL;
	const char *e = xml_elem(xml, end, "Error", &ce);
	*code = e ? elem_text(e, ce, "Code") : NULL;
	*message = e ? elem_text(e, ce, "Message") : NULL;
}

/* ---- listing ------------------------------------------------------------------ */

/* One line for a refused listing: S3's code and message, and what to do. */
static void list_error(const char *src, const char *bucket, const struct s3_source_opts *o,
		       const struct httpc_response *r)
{
	char *code = NULL, *msg = NULL;
	s3_parse_error(strbuf_str(&r->body), r->body.len, &code, &msg);
	const char *fix;
	if (code && !strcmp(code, "NoSuchBucket"))
		fix = "check the bucket name and --s3-endpoint";
	else if (code && (!strcmp(code, "SignatureDoesNotMatch") || !strcmp(code, "InvalidAccessKeyId") ||
			  !strcmp(code, "InvalidToken") || !strcmp(code, "ExpiredToken")))
		fix = "check the access key and secret key";
	else if (code && !strcmp(code, "AuthorizationHeaderMalformed"))
		fix = "check --s3-region";
	else if (code && !strcmp(code, "RequestTimeTooSkewed"))
		fix = "check this machine's clock";
	else if (r->status == 403 && !o->cred->access_key)
		fix = "the bucket is not public: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, --s3-profile or --s3-secret";
	else if (r->status == 403)
		fix = "these credentials may not list this bucket";
	else if (r->status == 301 || r->status == 307)
		fix = "the bucket is in another region or needs another endpoint: check --s3-region/--s3-endpoint";
	else
		fix = "check --s3-endpoint";
	char *cred = o->cred->access_key ? xasprintf(" with access key %s (%s)", o->cred->access_key,
						      o->cred->origin ? o->cred->origin : "") : xstrdup(" without credentials");
	eidf_set_error("%s: listing bucket %s%s refused: HTTP %ld%s%s%s%s%s; %s", src, bucket, cred, r->status,
		       code ? " " : "", code ? code : "", msg ? " (" : "", msg ? msg : "", msg ? ")" : "", fix);
	free(cred);
	free(code);
	free(msg);
}

int s3_expand(const char *src, const struct s3_source_opts *o, struct fetch_list *l, char **dest_hint)
{
	char *bucket = NULL, *prefix = NULL;
	if (s3_parse(src, &bucket, &prefix) < 0)
		return -2;
	/* names are relative to the prefix's "directory": s3://b/data/ and
	 * s3://b/data/x give data/x as x */
	const char *slash = strrchr(prefix, '/');
	size_t strip = slash ? (size_t)(slash - prefix) + 1 : 0;
	struct httpc *h = httpc_new(0);
	if (!h) {
		free(bucket);
		free(prefix);
		return -1;
	}
	char *base = s3_object_url(o, bucket, NULL);
	char *sigv4 = o->cred->access_key ? s3_sigv4_param(o->region) : NULL;
	char *userpwd = o->cred->access_key ? xasprintf("%s:%s", o->cred->access_key, o->cred->secret_key) : NULL;
	struct strvec hdr = STRVEC_INIT;
	/* S3 requires the payload hash; libcurl before 8.x does not add it */
	strvec_push(&hdr, "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	if (o->cred->session_token)
		strvec_pushf(&hdr, "x-amz-security-token: %s", o->cred->session_token);
	struct httpc_response r = HTTPC_RESPONSE_INIT;
	char *token = NULL;
	size_t before = l->n, listed = 0, pages = 0;
	int rc = -1;
	for (;;) {
		/* the query in SigV4's canonical order (sorted, RFC 3986 encoded):
		 * libcurl 7.x signs it as written */
		struct strbuf url = STRBUF_INIT;
		strbuf_addf(&url, "%s?", base);
		if (token) {
			strbuf_addstr(&url, "continuation-token=");
			strbuf_add_uri_encoded(&url, token, 0);
			strbuf_addch(&url, '&');
		}
		strbuf_addstr(&url, "encoding-type=url&list-type=2&prefix=");
		strbuf_add_uri_encoded(&url, prefix, 0);
		struct httpc_request req = { .url = url.buf, .headers = &hdr, .aws_sigv4 = sigv4, .userpwd = userpwd };
		int got = httpc_get(h, &req, &r);
		strbuf_release(&url);
		if (got < 0) {
			char *e = xstrdup(eidf_last_error());
			eidf_set_error("%s: cannot list bucket %s: %s; check --s3-endpoint", src, bucket, e);
			free(e);
			goto out;
		}
		if (r.status != 200) {
			list_error(src, bucket, o, &r);
			goto out;
		}
		struct s3_page page = { 0 };
		if (s3_parse_list_page(strbuf_str(&r.body), r.body.len, &page) < 0) {
			char *e = xstrdup(eidf_last_error());
			eidf_set_error("%s: unexpected listing from %s: %s", src, base, e);
			free(e);
			s3_page_release(&page);
			goto out;
		}
		pages++;
		for (size_t i = 0; i < page.n; i++) {
			const struct s3_object *ob = &page.obj[i];
			listed++;
			/* "directory" placeholder objects of consoles */
			if (ends_with(ob->key, "/") && ob->size == 0)
				continue;
			const char *name = ob->key + (strlen(ob->key) >= strip ? strip : 0);
			if (!fetch_glob_keep(name, o->include, o->exclude))
				continue;
			char *url_k = s3_object_url(o, bucket, ob->key);
			/* quoted as git quotes paths: a hostile key cannot forge a line */
			struct strbuf w = STRBUF_INIT;
			strbuf_addf(&w, "%s: key ", src);
			strbuf_add_quoted_path(&w, ob->key);
			if (w.buf[w.len - 1] != '"') {
				/* a plain key: quote it all the same */
				strbuf_reset(&w);
				strbuf_addf(&w, "%s: key \"%s\"", src, ob->key);
			}
			char *where = strbuf_detach(&w);
			int bad = fetch_list_add_listed(l, url_k, NULL, name, ob->size, ob->etag,
							o->job_signs ? FETCH_AUTH_S3 : FETCH_AUTH_NONE, where);
			free(url_k);
			free(where);
			if (bad < 0) {
				s3_page_release(&page);
				rc = -2;   /* a refused name, as for a URL */
				goto out;
			}
		}
		free(token);
		token = page.next_token ? xstrdup(page.next_token) : NULL;
		s3_page_release(&page);
		if (!token)
			break;
	}
	if (l->n == before) {
		if (listed)
			eidf_set_error("%s: none of the %zu object(s) is kept by --include/--exclude", src, listed);
		else
			eidf_set_error("%s: no objects under this prefix in bucket %s", src, bucket);
		goto out;
	}
	if (dest_hint)
		*dest_hint = xstrdup(bucket);
	rc = 0;
out:
	(void)pages;
	httpc_response_release(&r);
	if (userpwd) {
		memset(userpwd, 0, strlen(userpwd));
		free(userpwd);
	}
	for (size_t i = 0; i < hdr.n; i++)
		memset(hdr.v[i], 0, strlen(hdr.v[i]));
	strvec_clear(&hdr);
	free(sigv4);
	free(token);
	free(base);
	free(bucket);
	free(prefix);
	httpc_free(h);
	return rc;
}
