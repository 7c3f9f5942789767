/* libcurl client for servers other than the API server (see eidf/httpc.h). */
#include "eidf/httpc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#ifndef EIDF_VERSION
#define EIDF_VERSION "0.0.0"
#endif

struct httpc {
	CURL *curl;
	int verbose;
};

struct httpc *httpc_new(int verbose)
{
	struct httpc *h = xcalloc(1, sizeof(*h));
	h->curl = curl_easy_init();
	if (!h->curl) {
		free(h);
		eidf_set_error("cannot initialise libcurl");
		return NULL;
	}
	const char *e = getenv("EIDF_HTTPC_VERBOSE");
	h->verbose = verbose || (e && *e && strcmp(e, "0"));
	return h;
}

void httpc_free(struct httpc *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	free(h);
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct httpc_response *r = ud;
	/* a listing page or an API answer: cap what is held in memory */
	if (r->body.len + sz * n > (64u << 20))
		return 0;
	strbuf_add(&r->body, p, sz * n);
	return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
	struct httpc_response *r = ud;
	/* a new status line (redirect, 100 Continue): keep only the last block */
	if (sz * n >= 5 && !strncasecmp(p, "HTTP/", 5))
		strbuf_reset(&r->headers);
	if (r->headers.len < (1u << 20))
		strbuf_add(&r->headers, p, sz * n);
	return sz * n;
}

void httpc_response_release(struct httpc_response *r)
{
	strbuf_release(&r->body);
	strbuf_release(&r->headers);
	free(r->effective_url);
	r->effective_url = NULL;
	r->status = 0;
}

/* The URL without its query, for messages (presigned URLs carry secrets). */
static char *url_for_log(const char *url)
{
	size_t n = strcspn(url, "?");
	return url[n] ? xasprintf("%.*s?<redacted>", (int)n, url) : xstrdup(url);
}

int httpc_get(struct httpc *h, const struct httpc_request *r, struct httpc_response *out)
{
	httpc_response_release(out);
	CURL *c = h->curl;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, r->url);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "kubectl-eidf/" EIDF_VERSION);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	/* a redirect to another host never carries our Authorization (libcurl's
	 * default without CURLOPT_UNRESTRICTED_AUTH) */
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, r->follow ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	struct curl_slist *hl = NULL;
	for (size_t i = 0; r->headers && i < r->headers->n; i++)
		hl = curl_slist_append(hl, r->headers->v[i]);
	if (hl)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	if (r->aws_sigv4) {
		curl_easy_setopt(c, CURLOPT_AWS_SIGV4, r->aws_sigv4);
		curl_easy_setopt(c, CURLOPT_USERPWD, r->userpwd ? r->userpwd : "");
	}
	char err[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(hl);
	char *shown = url_for_log(r->url);
	if (rc != CURLE_OK) {
		eidf_set_error("GET %s: %s", shown, err[0] ? err : curl_easy_strerror(rc));
		if (h->verbose)
			fprintf(stderr, "httpc: GET %s: %s\n", shown, err[0] ? err : curl_easy_strerror(rc));
		free(shown);
		/* the credentials must not linger in the handle */
		curl_easy_reset(c);
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	char *eff = NULL;
	curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff);
	out->effective_url = xstrdup(eff ? eff : r->url);
	if (h->verbose)
		fprintf(stderr, "httpc: GET %s %ld\n", shown, out->status);
	free(shown);
	curl_easy_reset(c);
	return 0;
}

char *httpc_response_header(const struct httpc_response *r, const char *name)
{
	size_t nl = strlen(name);
	const char *p = strbuf_str(&r->headers);
	char *found = NULL;
	while (*p) {
		size_t len = strcspn(p, "\r\n");
		if (len > nl && !strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1, *e = p + len;
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			free(found);
			found = xstrndup(v, (size_t)(e - v));
		}
		p += len;
		while (*p == '\r' || *p == '\n')
			p++;
	}
	return found;
}

char *httpc_link_next(const char *link)
{
	const char *p = link;
	while (p && *p) {
		const char *lt = strchr(p, '<');
		if (!lt)
			return NULL;
		const char *gt = strchr(lt, '>');
		if (!gt)
			return NULL;
		const char *end = strchr(gt, ',');
		/* a URL may itself hold commas; the parameters follow the '>' */
		size_t plen = end ? (size_t)(end - gt) : strlen(gt);
		char *params = xstrndup(gt + 1, plen ? plen - 1 : 0);
		int next = 0;
		for (char *q = params; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		char *rel = strstr(params, "rel=");
		if (rel) {
			rel += 4;
			if (*rel == '"')
				rel++;
			/* rel may list several space-separated types */
			for (char *t = rel; *t && *t != '"' && *t != ';';) {
				size_t tl = strcspn(t, " \";");
				if (tl == 4 && !strncmp(t, "next", 4))
					next = 1;
				t += tl;
				while (*t == ' ')
					t++;
			}
		}
		free(params);
		if (next)
			return xstrndup(lt + 1, (size_t)(gt - lt - 1));
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

void strbuf_add_uri_encoded(struct strbuf *sb, const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~' || (keep_slash && *p == '/')) {
			strbuf_addch(sb, *p);
		} else {
			strbuf_addch(sb, '%');
			strbuf_addch(sb, hex[*p >> 4]);
			strbuf_addch(sb, hex[*p & 15]);
		}
	}
}
