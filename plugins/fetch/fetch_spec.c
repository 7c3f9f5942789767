#include "fetch_spec.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "eidf/manifest.h"

#define NAME_COMPONENT_MAX 255
/* A file's own name must leave room for what the Job writes beside it:
 * NAME.part, the marker's NAME.failed.tmp, an archive's .eidf-extract.NAME
 * (the longest, 14 bytes); past that the Job would fail after the download. */
#define FILE_LEAF_MAX (NAME_COMPONENT_MAX - 14)
#define MARKER_DIR ".eidf-fetch"

static const char *const schemes[] = { "http", "https", "ftp" };

/* Length of "scheme" in "scheme://", or 0 when there is none. */
static size_t scheme_len(const char *url)
{
	size_t i = 0;
	if (!isalpha((unsigned char)url[0]))
		return 0;
	while (isalnum((unsigned char)url[i]) || url[i] == '+' || url[i] == '-' || url[i] == '.')
		i++;
	return url[i] == ':' ? i : 0;
}

int fetch_url_check(const char *url)
{
	if (!url || !*url) {
		eidf_set_error("empty URL");
		return -1;
	}
	for (const unsigned char *p = (const unsigned char *)url; *p; p++) {
		if (*p <= 0x20 || *p >= 0x7f) {
			eidf_set_error("URL contains a space, control or non-ASCII character at offset %zu: "
				       "percent-encode it (e.g. %%20 for a space)",
				       (size_t)(p - (const unsigned char *)url));
			return -1;
		}
	}
	size_t sl = scheme_len(url);
	if (!sl) {
		eidf_set_error("\"%s\" is not a URL: it must start with http://, https:// or ftp://", url);
		return -1;
	}
	int ok = 0;
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(schemes); i++)
		if (strlen(schemes[i]) == sl && !strncasecmp(url, schemes[i], sl))
			ok = 1;
	if (!ok) {
		eidf_set_error("unsupported URL scheme \"%.*s\" in \"%s\": only http, https and ftp URLs "
			       "(including presigned https URLs) can be fetched", (int)sl, url, url);
		return -1;
	}
	if (strncmp(url + sl, "://", 3)) {
		eidf_set_error("malformed URL \"%s\": expected %.*s://HOST/PATH", url, (int)sl, url);
		return -1;
	}
	const char *auth = url + sl + 3;
	size_t alen = strcspn(auth, "/?#");
	if (alen == 0) {
		eidf_set_error("URL \"%s\" has no host", url);
		return -1;
	}
	if (memchr(auth, '@', alen)) {
		eidf_set_error("URL \"%.*s...\" contains credentials (user@ or user:password@): they would be "
			       "stored in the Job; put them in a Secret and use --header-secret", (int)sl + 3, url);
		return -1;
	}
	return 0;
}

char *fetch_url_redact(const char *url)
{
	const char *q = strchr(url, '?');
	if (!q)
		return xstrdup(url);
	return xasprintf("%.*s?<redacted>", (int)(q - url), url);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Check one path component (already split). */
static int component_check(const char *c, size_t len, const char *whole)
{
	if (len > NAME_COMPONENT_MAX) {
		eidf_set_error("path \"%s\": component longer than %d bytes", whole, NAME_COMPONENT_MAX);
		return -1;
	}
	if (len == 2 && !memcmp(c, "..", 2)) {
		eidf_set_error("path \"%s\" contains \"..\": files must stay inside the PVC", whole);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)c[i];
		if (ch < 0x20 || ch == 0x7f) {
			eidf_set_error("path contains a control character (newline or tab?) at offset %zu",
				       (size_t)(c + i - whole));
			return -1;
		}
	}
	return 0;
}

int fetch_path_normalize(const char *in, int is_dest, char **out)
{
	*out = NULL;
	if (!in) {
		eidf_set_error("missing path");
		return -1;
	}
	if (!is_dest && in[0] == '/') {
		eidf_set_error("file name \"%s\" is absolute: names are relative to --dest", in);
		return -1;
	}
	struct strbuf sb = STRBUF_INIT;
	const char *p = in;
	int first = 1;
	while (*p) {
		size_t len = strcspn(p, "/");
		if (component_check(p, len, in) < 0) {
			strbuf_release(&sb);
			return -1;
		}
		if (len && !(len == 1 && p[0] == '.')) {
			if (first && len == strlen(MARKER_DIR) && !memcmp(p, MARKER_DIR, len)) {
				eidf_set_error("path \"%s\": %s is reserved for completion markers", in, MARKER_DIR);
				strbuf_release(&sb);
				return -1;
			}
			if (!first)
				strbuf_addch(&sb, '/');
			strbuf_add(&sb, p, len);
			first = 0;
		}
		p += len;
		while (*p == '/')
			p++;
	}
	if (!is_dest && !sb.len) {
		eidf_set_error("empty file name \"%s\"", in);
		strbuf_release(&sb);
		return -1;
	}
	const char *leaf = strrchr(sb.buf ? sb.buf : "", '/');
	leaf = leaf ? leaf + 1 : sb.buf;
	if (!is_dest && leaf && strlen(leaf) > FILE_LEAF_MAX) {
		eidf_set_error("file name \"%s\" is %zu bytes; fetch keeps NAME.part and .eidf-extract.NAME beside "
			       "a file, so at most %d fit in a name of 255: give it a shorter name",
			       leaf, strlen(leaf), FILE_LEAF_MAX);
		strbuf_release(&sb);
		return -1;
	}
	if (!is_dest && ends_with(sb.buf, ".part")) {
		eidf_set_error("file name \"%s\" ends in .part, which is used for partial downloads", in);
		strbuf_release(&sb);
		return -1;
	}
	*out = sb.len ? strbuf_detach(&sb) : xstrdup("");
	strbuf_release(&sb);
	return 0;
}

char *fetch_name_from_url(const char *url)
{
	size_t sl = scheme_len(url);
	const char *path = url + (sl ? sl + 3 : 0);
	path += strcspn(path, "/?#");
	size_t plen = strcspn(path, "?#");
	const char *seg = path + plen;
	while (seg > path && seg[-1] != '/')
		seg--;
	size_t slen = (size_t)(path + plen - seg);
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < slen; i++) {
		if (seg[i] == '%' && i + 2 < slen && hexval((unsigned char)seg[i + 1]) >= 0 &&
		    hexval((unsigned char)seg[i + 2]) >= 0) {
			strbuf_addch(&sb, hexval((unsigned char)seg[i + 1]) * 16 + hexval((unsigned char)seg[i + 2]));
			i += 2;
		} else {
			strbuf_addch(&sb, seg[i]);
		}
	}
	if (!sb.len || !strcmp(sb.buf, ".") || !strcmp(sb.buf, "..")) {
		eidf_set_error("cannot derive a file name from \"%s\": give one (a name column in "
			       "--from-file, or --name for a single URL)", url);
		strbuf_release(&sb);
		return NULL;
	}
	if (memchr(sb.buf, '/', sb.len) || strlen(sb.buf) != sb.len) {
		eidf_set_error("the file name in \"%s\" decodes to a '/' or NUL: give a name explicitly", url);
		strbuf_release(&sb);
		return NULL;
	}
	if (component_check(sb.buf, sb.len, sb.buf) < 0) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb);
}

int fetch_sha256_check(const char *hex, char **out)
{
	*out = NULL;
	size_t n = strlen(hex);
	if (n != 64) {
		eidf_set_error("sha256 \"%.80s\" must be 64 hexadecimal characters (got %zu)", hex, n);
		return -1;
	}
	char *s = xstrdup(hex);
	for (size_t i = 0; i < n; i++) {
		if (hexval((unsigned char)s[i]) < 0) {
			eidf_set_error("sha256 \"%s\" is not hexadecimal", hex);
			free(s);
			return -1;
		}
		s[i] = (char)tolower((unsigned char)s[i]);
	}
	*out = s;
	return 0;
}

static int failed_at(const char *where)
{
	if (where) {
		char *msg = xstrdup(eidf_last_error());
		eidf_set_error("%s: %s", where, msg);
		free(msg);
	}
	return -1;
}

int fetch_list_add(struct fetch_list *l, const char *url, const char *sha256,
		   const char *name, const char *where)
{
	return fetch_list_add_listed(l, url, sha256, name, -1, NULL, FETCH_AUTH_NONE, where);
}

int fetch_list_add_listed(struct fetch_list *l, const char *url, const char *sha256, const char *name,
			  long long size, const char *etag, enum fetch_auth auth, const char *where)
{
	struct fetch_item it = { .size = size, .auth = auth };
	if (etag) {
		/* it reaches the script as a list field and a header value */
		for (const unsigned char *p = (const unsigned char *)etag; *p; p++) {
			if (*p <= 0x20 || *p >= 0x7f || *p == '"') {
				eidf_set_error("unexpected ETag for \"%s\"", name ? name : url);
				return failed_at(where);
			}
		}
	}
	if (fetch_url_check(url) < 0)
		return failed_at(where);
	if (sha256 && strcmp(sha256, "-") && fetch_sha256_check(sha256, &it.sha256) < 0)
		return failed_at(where);
	char *derived = NULL;
	if (!name) {
		derived = fetch_name_from_url(url);
		if (!derived) {
			free(it.sha256);
			return failed_at(where);
		}
		name = derived;
	}
	int rc = fetch_path_normalize(name, 0, &it.name);
	free(derived);
	if (rc < 0) {
		free(it.sha256);
		return failed_at(where);
	}
	it.url = xstrdup(url);
	it.etag = etag && *etag ? xstrdup(etag) : NULL;
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 8;
		l->items = xrealloc(l->items, l->alloc * sizeof(*l->items));
	}
	l->items[l->n++] = it;
	return 0;
}

static int is_space(char c) { return c == ' ' || c == '\t'; }

static int is_sha_or_dash(const char *s, size_t len)
{
	if (len == 1 && s[0] == '-')
		return 1;
	if (len != 64)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (hexval((unsigned char)s[i]) < 0)
			return 0;
	return 1;
}

int fetch_list_parse(struct fetch_list *l, const char *text, size_t len, const char *origin)
{
	size_t lineno = 0;
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		lineno++;
		if (memchr(p, '\0', (size_t)(le - p))) {
			eidf_set_error("%s:%zu: NUL byte in list", origin, lineno);
			return -1;
		}
		const char *b = p, *e = le;
		if (e > b && e[-1] == '\r')
			e--;
		while (b < e && is_space(*b))
			b++;
		while (e > b && is_space(e[-1]))
			e--;
		p = nl ? nl + 1 : end;
		if (b == e || *b == '#')
			continue;
		char *where = xasprintf("%s:%zu", origin, lineno);
		const char *u = b;
		while (b < e && !is_space(*b))
			b++;
		char *url = xstrndup(u, (size_t)(b - u));
		while (b < e && is_space(*b))
			b++;
		char *sha = NULL, *name = NULL;
		if (b < e) {
			const char *s = b;
			while (b < e && !is_space(*b))
				b++;
			if (is_sha_or_dash(s, (size_t)(b - s))) {
				sha = xstrndup(s, (size_t)(b - s));
				while (b < e && is_space(*b))
					b++;
			} else {
				b = s;  /* no digest column: the rest is the name */
			}
			if (b < e)
				name = xstrndup(b, (size_t)(e - b));
		}
		int rc = fetch_list_add(l, url, sha, name, where);
		free(where);
		free(url);
		free(sha);
		free(name);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int fetch_checksums_apply(struct fetch_list *l, const char *text, size_t len, const char *origin)
{
	size_t lineno = 0;
	const char *p = text, *end = text + len;
	char **got = xcalloc(l->n ? l->n : 1, sizeof(*got));
	int rc = 0;
	while (p < end && rc == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		lineno++;
		const char *b = p, *e = le;
		p = nl ? nl + 1 : end;
		if (e > b && e[-1] == '\r')
			e--;
		while (b < e && is_space(*b))
			b++;
		if (b == e || *b == '#')
			continue;
		const char *h = b;
		while (b < e && !is_space(*b))
			b++;
		char *hex = xstrndup(h, (size_t)(b - h));
		char *sha = NULL;
		if (*hex == '\\')  /* sha256sum escapes odd names */
			memmove(hex, hex + 1, strlen(hex));
		if (fetch_sha256_check(hex, &sha) < 0) {
			free(hex);
			rc = failed_at(origin);
			eidf_set_error("%s:%zu: expected \"SHA256  NAME\" (sha256sum output)", origin, lineno);
			break;
		}
		free(hex);
		if (b < e && is_space(*b))
			b++;
		if (b < e && (*b == '*' || *b == ' '))
			b++;
		char *name = xstrndup(b, (size_t)(e - b));
		for (size_t i = 0; i < l->n; i++) {
			const char *n = l->items[i].name;
			const char *base = strrchr(n, '/');
			base = base ? base + 1 : n;
			const char *nb = strrchr(name, '/');
			nb = nb ? nb + 1 : name;
			if (strcmp(n, name) && strcmp(base, name) && strcmp(n, nb))
				continue;
			const char *have = l->items[i].sha256 ? l->items[i].sha256 : got[i];
			if (have && strcmp(have, sha)) {
				eidf_set_error("%s:%zu: sha256 for %s conflicts with the one already given",
					       origin, lineno, n);
				rc = -1;
				break;
			}
			if (!l->items[i].sha256 && !got[i])
				got[i] = xstrdup(sha);
		}
		free(name);
		free(sha);
	}
	for (size_t i = 0; i < l->n && rc == 0; i++) {
		if (!l->items[i].sha256 && !got[i]) {
			eidf_set_error("%s has no sha256 for %s", origin, l->items[i].name);
			rc = -1;
		}
	}
	for (size_t i = 0; i < l->n; i++) {
		if (rc == 0 && got[i]) {
			l->items[i].sha256 = got[i];
			got[i] = NULL;
		}
		free(got[i]);
	}
	free(got);
	return rc;
}

static int cmp_index_by_name(const void *a, const void *b, void *ctx)
{
	const struct fetch_list *l = ctx;
	return strcmp(l->items[*(const size_t *)a].name, l->items[*(const size_t *)b].name);
}

int fetch_list_finish(struct fetch_list *l)
{
	if (!l->n) {
		eidf_set_error("nothing to fetch: give URLs as arguments or --from-file LIST");
		return -1;
	}
	size_t *idx = xmalloc(l->n * sizeof(*idx));
	for (size_t i = 0; i < l->n; i++)
		idx[i] = i;
	qsort_r(idx, l->n, sizeof(*idx), cmp_index_by_name, l);
	int rc = 0;
	for (size_t i = 1; i < l->n; i++) {
		const char *a = l->items[idx[i - 1]].name, *b = l->items[idx[i]].name;
		size_t al = strlen(a);
		if (!strcmp(a, b)) {
			eidf_set_error("two URLs would be saved as \"%s\" (%s and %s): give distinct names",
				       a, l->items[idx[i - 1]].url, l->items[idx[i]].url);
			rc = -1;
			break;
		}
		if (!strncmp(a, b, al) && b[al] == '/') {
			eidf_set_error("\"%s\" is both a file and the directory of \"%s\"", a, b);
			rc = -1;
			break;
		}
	}
	free(idx);
	return rc;
}

void fetch_list_release(struct fetch_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].url);
		free(l->items[i].sha256);
		free(l->items[i].name);
		free(l->items[i].etag);
		free(l->items[i].gitsha1);
		free(l->items[i].revision);
	}
	free(l->items);
	l->items = NULL;
	l->n = l->alloc = 0;
}

char *fetch_list_tsv(const struct fetch_list *l)
{
	struct strbuf sb = STRBUF_INIT;
	static const char *const auth_names[] = { [FETCH_AUTH_S3] = "s3", [FETCH_AUTH_HF] = "hf" };
	for (size_t i = 0; i < l->n; i++) {
		const struct fetch_item *it = &l->items[i];
		strbuf_addf(&sb, "%s\t%s\t%s", it->url, it->sha256 ? it->sha256 : "-", it->name);
		if (it->size >= 0)
			strbuf_addf(&sb, "\tsize=%lld", it->size);
		if (it->etag)
			strbuf_addf(&sb, "\tetag=%s", it->etag);
		if (it->gitsha1)
			strbuf_addf(&sb, "\tgitsha1=%s", it->gitsha1);
		if (it->revision)
			strbuf_addf(&sb, "\trev=%s", it->revision);
		if (it->auth != FETCH_AUTH_NONE)
			strbuf_addf(&sb, "\tauth=%s", auth_names[it->auth]);
		strbuf_addch(&sb, '\n');
	}
	return strbuf_detach(&sb);
}

size_t fetch_shard_of(size_t k, size_t shards)
{
	return shards ? k % shards : 0;
}

size_t fetch_shard_size(size_t n, size_t shards, size_t index)
{
	if (!shards || index >= shards)
		return 0;
	return n / shards + (index < n % shards ? 1 : 0);
}

/* ---- manifest ------------------------------------------------------------ */

static void add_str(cJSON *arr, const char *s)
{
	cJSON_AddItemToArray(arr, cJSON_CreateString(s));
}

const char *fetch_exit_meaning(long code)
{
	switch (code) {
	case FETCH_EXIT_OK: return "done";
	case FETCH_EXIT_TRANSIENT: return "download failed";
	case FETCH_EXIT_USAGE: return "invalid Job spec";
	case FETCH_EXIT_SHA256: return "sha256 mismatch";
	case FETCH_EXIT_HTTP_4XX: return "HTTP 4xx";
	case FETCH_EXIT_ARCHIVE: return "archive refused";
	case FETCH_EXIT_NO_TOOL: return "cannot extract this format";
	default: return NULL;
	}
}

int fetch_list_names(const char *tsv, struct strvec *names)
{
	const char *p = tsv;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = xstrndup(p, len);
		char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		char *t3 = t2 ? strchr(t2 + 1, '\t') : NULL;
		if (t3)
			*t3 = '\0';   /* the fields of a listed entry follow the name */
		if (len && !t2) {
			eidf_set_error("malformed list line \"%s\"", line);
			free(line);
			return -1;
		}
		if (t2) {
			char *norm = NULL;
			if (fetch_path_normalize(t2 + 1, 0, &norm) < 0 || strcmp(norm, t2 + 1)) {
				if (!norm)
					eidf_set_error("refusing the name \"%s\" in the list", t2 + 1);
				else
					eidf_set_error("the name \"%s\" in the list is not normalised", t2 + 1);
				free(norm);
				free(line);
				return -1;
			}
			strvec_push(names, norm);
			free(norm);
		}
		free(line);
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}

int fetch_list_has_secret(const struct fetch_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (strchr(l->items[i].url, '?'))
			return 1;
	return 0;
}

/* FailJob on the deterministic exit codes of any container (no
 * containerName: a future init container is covered too), Ignore on
 * disruptions (preemption, eviction, node drain), which do not count against
 * backoffLimit; everything else (exit 1, signals) counts and retries. */
static void add_pod_failure_policy(cJSON *spec)
{
	cJSON *pfp = cJSON_AddObjectToObject(spec, "podFailurePolicy");
	cJSON *rules = cJSON_AddArrayToObject(pfp, "rules");
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "action", "FailJob");
	cJSON *ex = cJSON_AddObjectToObject(r, "onExitCodes");
	cJSON_AddStringToObject(ex, "operator", "In");
	cJSON *vals = cJSON_AddArrayToObject(ex, "values");
	for (int c = FETCH_EXIT_FIRST_FATAL; c <= FETCH_EXIT_LAST_FATAL; c++)
		cJSON_AddItemToArray(vals, cJSON_CreateNumber(c));
	cJSON_AddItemToArray(rules, r);
	r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "action", "Ignore");
	cJSON *conds = cJSON_AddArrayToObject(r, "onPodConditions");
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "type", "DisruptionTarget");
	cJSON_AddStringToObject(c, "status", "True");
	cJSON_AddItemToArray(conds, c);
	cJSON_AddItemToArray(rules, r);
}

cJSON *fetch_job_manifest(const struct fetch_job_opts *o, const struct fetch_list *l,
			  const char *script, cJSON **list_obj_out)
{
	*list_obj_out = NULL;
	struct job_policy pol = {
		.namespace = o->namespace,
		.queue = o->queue,
		.eidf_user = o->eidf_user,
		.stage = "fetch",
		.run_id = o->run_id,
		.ttl_seconds = o->ttl,
		.backoff_limit = o->backoff_limit,
	};
	cJSON *job = manifest_job(&pol, o->purge ? "fetch-purge-" : "fetch-");
	long shards = o->parallel > 1 ? o->parallel : 1;

	/* What the Job does, for status/list and for people reading the YAML. */
	struct strbuf urls = STRBUF_INIT;
	size_t shown = 0;
	for (; shown < l->n; shown++) {
		char *r = fetch_url_redact(l->items[shown].url);
		if (urls.len + strlen(r) > 32 * 1024) {
			free(r);
			break;
		}
		strbuf_addf(&urls, "%s%s", urls.len ? "\n" : "", r);
		free(r);
	}
	if (shown < l->n)
		strbuf_addf(&urls, "\n... and %zu more", l->n - shown);
	manifest_set_annotation(job, FETCH_ANN_URLS, strbuf_str(&urls));
	strbuf_release(&urls);
	manifest_set_annotation(job, FETCH_ANN_PVC, o->pvc);
	char *dest_ann = xasprintf("/%s", o->dest);
	manifest_set_annotation(job, FETCH_ANN_DEST, dest_ann);
	free(dest_ann);
	char *nfiles = xasprintf("%zu", l->n);
	manifest_set_annotation(job, FETCH_ANN_FILES, nfiles);
	free(nfiles);
	char *opts = o->purge ? xstrdup("purge-partial=true") :
		xasprintf("parallel=%ld retries=%ld extract=%s checksums=%s headers=%s",
			       shards, o->retries, o->extract ? "true" : "false",
			       "per-file", o->header_secret ? "secret" :
			       (o->headers && o->headers->n) ? "inline" : "none");
	if (o->segments && !o->purge) {
		char *t = xasprintf("%s segments=%s", opts, o->segments);
		free(opts);
		opts = t;
	}
	if (o->s3_secret && !o->purge) {
		char *t = xasprintf("%s s3-secret=%s s3-region=%s", opts, o->s3_secret,
				    o->s3_region ? o->s3_region : "us-east-1");
		free(opts);
		opts = t;
	}
	manifest_set_annotation(job, FETCH_ANN_OPTIONS, opts);
	free(opts);
	if (o->sources && o->sources->n) {
		struct strbuf src = STRBUF_INIT;
		for (size_t i = 0; i < o->sources->n; i++)
			strbuf_addf(&src, "%s%s", i ? "\n" : "", o->sources->v[i]);
		manifest_set_annotation(job, FETCH_ANN_SOURCES, src.buf);
		strbuf_release(&src);
	}

	cJSON *spec = cJSON_GetObjectItem(job, "spec");
	add_pod_failure_policy(spec);
	if (shards > 1) {
		cJSON_AddStringToObject(spec, "completionMode", "Indexed");
		cJSON_AddNumberToObject(spec, "completions", (double)shards);
		cJSON_AddNumberToObject(spec, "parallelism", (double)shards);
	}

	struct container_resources res = {
		.cpu_request = o->cpu, .memory_request = o->memory,
	};
	cJSON *c = manifest_container(FETCH_CONTAINER, o->image, &res);
	cJSON *cmdv = cJSON_AddArrayToObject(c, "command");
	add_str(cmdv, "sh");
	add_str(cmdv, "-c");
	add_str(cmdv, script);
	add_str(cmdv, "fetch-job");
	cJSON *args = cJSON_AddArrayToObject(c, "args");
	char *dest = o->dest[0] ? xasprintf("%s/%s", o->mount_path, o->dest) : xstrdup(o->mount_path);
	add_str(args, "--dest");
	add_str(args, dest);
	free(dest);
	char *num = xasprintf("%ld", o->retries);
	add_str(args, "--retries");
	add_str(args, num);
	free(num);
	num = xasprintf("%ld", o->interval);
	add_str(args, "--interval");
	add_str(args, num);
	free(num);
	if (shards > 1) {
		num = xasprintf("%ld", shards);
		add_str(args, "--shards");
		add_str(args, num);
		free(num);
	}
	if (o->purge)
		add_str(args, "--purge-partial");
	if (o->segments && !o->purge) {
		add_str(args, "--segments");
		add_str(args, o->segments);
		if (o->segment_chunk > 0) {
			num = xasprintf("%ld", o->segment_chunk);
			add_str(args, "--segment-chunk");
			add_str(args, num);
			free(num);
		}
	}

	/* the run id lets the pods of one Job share what failed for good */
	if (o->run_id)
		manifest_add_env(c, "EIDF_FETCH_RUN", o->run_id);

	/* --extract: the download runs as an init container, then this one
	 * unpacks the same list share (same --dest, --shards, list) */
	cJSON *x = NULL, *xargs = NULL;
	if (o->extract && !o->purge) {
		x = manifest_container(FETCH_EXTRACT_CONTAINER, o->extract_image, &res);
		cJSON *xcmd = cJSON_AddArrayToObject(x, "command");
		add_str(xcmd, "sh");
		add_str(xcmd, "-c");
		add_str(xcmd, o->extract_script);
		add_str(xcmd, "fetch-extract");
		add_str(xcmd, o->extract_program);
		xargs = cJSON_AddArrayToObject(x, "args");
		cJSON *a;
		cJSON_ArrayForEach(a, args) {
			const char *v = a->valuestring;
			if (!strcmp(v, "--dest") || !strcmp(v, "--shards")) {
				add_str(xargs, v);
				add_str(xargs, a->next->valuestring);
			}
		}
	}

	char *tsv = fetch_list_tsv(l);
	int secret = fetch_list_has_secret(l);
	if (!secret && strlen(tsv) <= FETCH_ENV_LIST_MAX) {
		manifest_add_env(c, "EIDF_FETCH_LIST", tsv);
		if (x)
			manifest_add_env(x, "EIDF_FETCH_LIST", tsv);
	} else {
		char *obj_name = xasprintf(FETCH_LIST_OBJECT_PREFIX "%s", o->run_id ? o->run_id : "x");
		cJSON *obj = cJSON_CreateObject();
		cJSON_AddStringToObject(obj, "apiVersion", "v1");
		cJSON_AddStringToObject(obj, "kind", secret ? "Secret" : "ConfigMap");
		cJSON *md = cJSON_AddObjectToObject(obj, "metadata");
		cJSON_AddStringToObject(md, "name", obj_name);
		cJSON_AddStringToObject(md, "namespace", o->namespace);
		cJSON *labels = cJSON_AddObjectToObject(md, "labels");
		cJSON_AddStringToObject(labels, LABEL_MANAGED_BY, MANAGED_BY);
		cJSON_AddStringToObject(labels, LABEL_STAGE, "fetch");
		if (o->run_id)
			cJSON_AddStringToObject(labels, LABEL_RUN, o->run_id);
		cJSON *data = cJSON_AddObjectToObject(obj, "data");
		cJSON *vol = cJSON_CreateObject();
		cJSON_AddStringToObject(vol, "name", "fetch-list");
		if (secret) {
			cJSON_AddStringToObject(obj, "type", "Opaque");
			char *b64 = base64_encode(tsv, strlen(tsv));
			cJSON_AddStringToObject(data, FETCH_LIST_KEY, b64);
			free(b64);
			cJSON *sv = cJSON_AddObjectToObject(vol, "secret");
			cJSON_AddStringToObject(sv, "secretName", obj_name);
		} else {
			cJSON_AddStringToObject(data, FETCH_LIST_KEY, tsv);
			cJSON *cmv = cJSON_AddObjectToObject(vol, "configMap");
			cJSON_AddStringToObject(cmv, "name", obj_name);
		}
		*list_obj_out = obj;
		manifest_add_volume(job, vol);
		manifest_add_mount(c, "fetch-list", FETCH_LIST_DIR, 1);
		add_str(args, "--list");
		add_str(args, FETCH_LIST_DIR "/" FETCH_LIST_KEY);
		if (x) {
			manifest_add_mount(x, "fetch-list", FETCH_LIST_DIR, 1);
			add_str(xargs, "--list");
			add_str(xargs, FETCH_LIST_DIR "/" FETCH_LIST_KEY);
		}
		free(obj_name);
	}
	free(tsv);
	if (o->headers && o->headers->n) {
		struct strbuf h = STRBUF_INIT;
		for (size_t i = 0; i < o->headers->n; i++)
			strbuf_addf(&h, "%s%s", i ? "\n" : "", o->headers->v[i]);
		manifest_add_env(c, "EIDF_FETCH_HEADERS", h.buf);
		strbuf_release(&h);
	}
	if (o->header_secret) {
		cJSON *vol = cJSON_CreateObject();
		cJSON_AddStringToObject(vol, "name", "fetch-headers");
		cJSON *sv = cJSON_AddObjectToObject(vol, "secret");
		cJSON_AddStringToObject(sv, "secretName", o->header_secret);
		manifest_add_volume(job, vol);
		manifest_add_mount(c, "fetch-headers", "/etc/eidf-fetch/headers", 1);
		add_str(args, "--header-dir");
		add_str(args, "/etc/eidf-fetch/headers");
	}
	if (o->s3_secret) {
		/* keys as files, read by the script into a curl config in its
		 * private work directory: never in the spec, argv or the log */
		cJSON *vol = cJSON_CreateObject();
		cJSON_AddStringToObject(vol, "name", "fetch-s3");
		cJSON *sv = cJSON_AddObjectToObject(vol, "secret");
		cJSON_AddStringToObject(sv, "secretName", o->s3_secret);
		manifest_add_volume(job, vol);
		manifest_add_mount(c, "fetch-s3", FETCH_S3_DIR, 1);
		add_str(args, "--s3-dir");
		add_str(args, FETCH_S3_DIR);
		add_str(args, "--s3-region");
		add_str(args, o->s3_region ? o->s3_region : "us-east-1");
	}
	if (o->hf_token_secret) {
		cJSON *vol = cJSON_CreateObject();
		cJSON_AddStringToObject(vol, "name", "fetch-hf");
		cJSON *sv = cJSON_AddObjectToObject(vol, "secret");
		cJSON_AddStringToObject(sv, "secretName", o->hf_token_secret);
		manifest_add_volume(job, vol);
		manifest_add_mount(c, "fetch-hf", FETCH_HF_DIR, 1);
		add_str(args, "--hf-token-file");
		add_str(args, FETCH_HF_DIR "/HF_TOKEN");
	}
	manifest_add_mount(c, "data", o->mount_path, 0);
	manifest_add_container(job, c, x != NULL);
	if (x) {
		manifest_add_mount(x, "data", o->mount_path, 0);
		manifest_add_container(job, x, 0);
	}
	manifest_add_volume(job, manifest_volume_pvc("data", o->pvc, 0));
	return job;
}
