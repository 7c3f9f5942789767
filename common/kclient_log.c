/* -v logging of API requests, modelled on client-go's round_trippers:
 *   6  GET https://host/api/v1/... 200 OK in 3 milliseconds
 *   7  + request line and request headers (Authorization masked)
 *   8  + response headers, request/response bodies cut to 1024 characters
 *   9  + a curl command line; bodies up to 10240 characters
 *  10  full bodies
 * Secret values (data, stringData, binaryData, last-applied annotation) are
 * masked in every logged body; tokens and client keys are never logged. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cjson/cJSON.h>

#include "kclient_internal.h"

#define MASK "<masked>"
#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

void klog_printf(const struct kclient *kc, long level, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	if (kc->verbosity < level)
		return;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	strbuf_addch(&sb, '\n');
	fflush(stdout);
	fwrite(sb.buf, 1, sb.len, stderr);
	strbuf_release(&sb);
}

const char *http_status_text(long code)
{
	static const struct { long code; const char *text; } t[] = {
		{100, "Continue"}, {101, "Switching Protocols"},
		{200, "OK"}, {201, "Created"}, {202, "Accepted"}, {204, "No Content"},
		{206, "Partial Content"},
		{301, "Moved Permanently"}, {302, "Found"}, {304, "Not Modified"},
		{307, "Temporary Redirect"}, {308, "Permanent Redirect"},
		{400, "Bad Request"}, {401, "Unauthorized"}, {403, "Forbidden"},
		{404, "Not Found"}, {405, "Method Not Allowed"}, {406, "Not Acceptable"},
		{408, "Request Timeout"}, {409, "Conflict"}, {410, "Gone"},
		{413, "Request Entity Too Large"}, {415, "Unsupported Media Type"},
		{422, "Unprocessable Entity"}, {429, "Too Many Requests"},
		{500, "Internal Server Error"}, {501, "Not Implemented"},
		{502, "Bad Gateway"}, {503, "Service Unavailable"}, {504, "Gateway Timeout"},
	};
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(t); i++)
		if (t[i].code == code)
			return t[i].text;
	return "";
}

/* ---- masking -------------------------------------------------------------- */

static int is_secret_path(const char *path)
{
	/* any path segment "secrets" (the secrets resource, any namespace) */
	const char *p = path;
	size_t n = strcspn(path, "?");
	while (p && p < path + n) {
		const char *seg = p + (*p == '/');
		size_t l = strcspn(seg, "/?");
		if (l == 7 && !strncmp(seg, "secrets", 7))
			return 1;
		p = seg[l] == '/' ? seg + l : NULL;
	}
	return 0;
}

static void replace_with_mask(cJSON *parent, cJSON *item)
{
	cJSON *m = cJSON_CreateString(MASK);
	if (item->string)
		m->string = xstrdup(item->string);   /* the replacement needs the key */
	cJSON_ReplaceItemViaPointer(parent, item, m);
}

static void mask_values(cJSON *node)
{
	cJSON *c, *next;

	for (c = node->child; c; c = next) {
		next = c->next;   /* c may be freed by the replacement */
		if (cJSON_IsObject(c) || cJSON_IsArray(c))
			mask_values(c);
		else if (!cJSON_IsNull(c))
			replace_with_mask(node, c);
	}
}

static void mask_secret(cJSON *obj)
{
	static const char *const keys[] = { "data", "stringData", "binaryData" };
	cJSON *md, *ann, *la;

	for (size_t i = 0; i < EIDF_ARRAY_SIZE(keys); i++) {
		cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, keys[i]);
		if (!v)
			continue;
		if (cJSON_IsObject(v) || cJSON_IsArray(v))
			mask_values(v);
		else if (!cJSON_IsNull(v))
			replace_with_mask(obj, v);
	}
	md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	ann = md ? cJSON_GetObjectItemCaseSensitive(md, "annotations") : NULL;
	la = ann ? cJSON_GetObjectItemCaseSensitive(ann, LAST_APPLIED) : NULL;
	if (la)
		replace_with_mask(ann, la);
}

static void mask_walk(cJSON *node, int secret)
{
	cJSON *c;

	if (cJSON_IsObject(node)) {
		const cJSON *kind = cJSON_GetObjectItemCaseSensitive(node, "kind");
		int list = 0;
		if (cJSON_IsString(kind)) {
			if (!strcmp(kind->valuestring, "Secret"))
				secret = 1;
			else if (!strcmp(kind->valuestring, "SecretList"))
				list = 1;
		}
		if (secret)
			mask_secret(node);
		cJSON_ArrayForEach(c, node) {
			int child_secret = secret || (list && c->string && !strcmp(c->string, "items"));
			mask_walk(c, child_secret);
		}
	} else if (cJSON_IsArray(node)) {
		cJSON_ArrayForEach(c, node)
			mask_walk(c, secret);
	}
}

char *klog_safe_body(const char *path, const char *body, size_t len)
{
	int secret_path = path && is_secret_path(path);
	cJSON *doc;
	char *out;

	if (!body || !len)
		return xstrdup("");
	doc = cJSON_ParseWithLength(body, len);
	if (!doc) {
		if (secret_path)
			return xasprintf("[%zu bytes not shown: may hold Secret data]", len);
		return xstrndup(body, len);
	}
	mask_walk(doc, secret_path);
	out = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	if (!out)
		return xstrdup("");
	/* hand back memory from xmalloc, whatever cJSON's allocator is */
	{
		char *copy = xstrdup(out);
		cJSON_free(out);
		return copy;
	}
}

/* ---- request / response lines ------------------------------------------------ */

static size_t body_limit(const struct kclient *kc)
{
	if (kc->verbosity >= 10)
		return (size_t)-1;
	return kc->verbosity >= 9 ? 10240 : 1024;
}

static void log_body(const struct kclient *kc, const char *what, const char *path,
		     const char *body, size_t len)
{
	char *safe = klog_safe_body(path, body, len);
	size_t n = strlen(safe), max = body_limit(kc);

	if (n > max)
		klog_printf(kc, 8, "%s: %.*s [truncated %zu chars]", what, (int)max, safe, n - max);
	else
		klog_printf(kc, 8, "%s: %s", what, safe);
	free(safe);
}

/* "Authorization: Bearer abc" -> "Authorization: Bearer <masked>" */
static void add_masked_header(struct strbuf *sb, const char *h)
{
	if (!strncasecmp(h, "Authorization:", 14)) {
		const char *v = h + 14;
		while (*v == ' ')
			v++;
		if (!strncasecmp(v, "Bearer ", 7))
			strbuf_addstr(sb, "Authorization: Bearer " MASK);
		else
			strbuf_addstr(sb, "Authorization: " MASK);
		return;
	}
	strbuf_addstr(sb, h);
}

void klog_request(const struct kclient *kc, const char *method, const char *url,
		  const struct curl_slist *headers, const char *body, size_t body_len,
		  const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	const struct curl_slist *h;

	if (kc->verbosity < 7)
		return;
	if (kc->verbosity >= 9) {
		strbuf_addf(&sb, "curl -v -X%s ", method);
		for (h = headers; h; h = h->next) {
			const char *colon = strchr(h->data, ':');
			if (!colon || !colon[1])
				continue;   /* "Expect:" style removals */
			strbuf_addstr(&sb, " -H \"");
			add_masked_header(&sb, h->data);
			strbuf_addch(&sb, '"');
		}
		strbuf_addf(&sb, " '%s'", url);
		klog_printf(kc, 9, "%s", sb.buf);
		strbuf_reset(&sb);
	}
	klog_printf(kc, 7, "%s %s", method, url);
	klog_printf(kc, 7, "Request Headers:");
	for (h = headers; h; h = h->next) {
		const char *colon = strchr(h->data, ':');
		if (!colon || !colon[1])
			continue;
		strbuf_reset(&sb);
		add_masked_header(&sb, h->data);
		klog_printf(kc, 7, "    %s", sb.buf);
	}
	strbuf_release(&sb);
	if (body && body_len)
		log_body(kc, "Request Body", path, body, body_len);
}

void klog_response(const struct kclient *kc, const char *method, const char *url,
		   long status, long ms, const struct strbuf *resp_headers)
{
	if (kc->verbosity < 6)
		return;
	if (status)
		klog_printf(kc, 6, "%s %s %ld %s in %ld milliseconds", method, url, status,
			    http_status_text(status), ms);
	else
		klog_printf(kc, 6, "%s %s  in %ld milliseconds", method, url, ms);
	if (kc->verbosity >= 8 && resp_headers && resp_headers->len) {
		const char *p = resp_headers->buf;
		klog_printf(kc, 8, "Response Headers:");
		while (*p) {
			size_t l = strcspn(p, "\n");
			klog_printf(kc, 8, "    %.*s", (int)l, p);
			p += l + (p[l] == '\n');
		}
	}
}

void klog_response_body(const struct kclient *kc, const char *path,
			const char *body, size_t len)
{
	if (kc->verbosity < 8 || !len)
		return;
	log_body(kc, "Response Body", path, body, len);
}
