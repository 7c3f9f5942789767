#include "fetch_progress.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "eidf/util.h"

static const char MARK[] = "eidf-fetch ";

static int parse_u64(const char *s, size_t n, uint64_t *out)
{
	if (!n || n > 20)
		return -1;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* "D/T" */
static void parse_files(const char *s, size_t n, struct fetch_progress *p)
{
	const char *slash = memchr(s, '/', n);
	uint64_t a, b;
	if (!slash || parse_u64(s, (size_t)(slash - s), &a) < 0 ||
	    parse_u64(slash + 1, (size_t)(s + n - slash - 1), &b) < 0 || a > LONG_MAX || b > LONG_MAX)
		return;
	p->files_done = (long)a;
	p->files_total = (long)b;
}

int fetch_progress_line(struct fetch_progress *p, const char *line, size_t len)
{
	const char *end = line + len;
	const char *m = NULL;
	for (const char *s = line; s + sizeof(MARK) - 1 <= end; s++) {
		if (!memcmp(s, MARK, sizeof(MARK) - 1)) {
			m = s;
			break;
		}
	}
	if (!m)
		return 0;
	const char *s = m + sizeof(MARK) - 1;
	size_t kl = strcspn(s, " ");
	if (s + kl > end)
		kl = (size_t)(end - s);
	enum { K_PROGRESS, K_ERROR, K_DONE, K_FAILED, K_PART } kind;
	if (kl == 8 && !memcmp(s, "progress", 8))
		kind = K_PROGRESS;
	else if (kl == 5 && !memcmp(s, "error", 5))
		kind = K_ERROR;
	else if (kl == 4 && !memcmp(s, "done", 4))
		kind = K_DONE;
	else if (kl == 6 && !memcmp(s, "failed", 6))
		kind = K_FAILED;
	else if ((kl == 7 && !memcmp(s, "partial", 7)) || (kl == 6 && !memcmp(s, "purged", 6)))
		kind = K_PART;
	else
		return 0;
	s += kl;
	const char *efile = NULL, *ereason = NULL;
	size_t efile_len = 0, ereason_len = 0;
	long ecode = -1, ehttp = -1, ecurl = -1;
	uint64_t pbytes = 0;
	int have_cur = 0;
	while (s < end) {
		while (s < end && *s == ' ')
			s++;
		if (s >= end)
			break;
		const char *eq = memchr(s, '=', (size_t)(end - s));
		if (!eq)
			break;
		size_t klen = (size_t)(eq - s);
		const char *v = eq + 1;
		/* file= and reason= run to the end of the line (names may hold spaces);
		 * in error lines reason follows file. */
		int rest = (klen == 6 && !memcmp(s, "reason", 6)) ||
			   (klen == 4 && !memcmp(s, "file", 4) && kind != K_ERROR);
		const char *ve;
		if (rest) {
			ve = end;
		} else if (klen == 4 && !memcmp(s, "file", 4)) {
			/* error line: file=NAME reason=... */
			const char *r = NULL;
			for (const char *t = v; t + 8 <= end; t++)
				if (!memcmp(t, " reason=", 8))
					r = t;
			ve = r ? r : end;
		} else {
			ve = memchr(v, ' ', (size_t)(end - v));
			if (!ve)
				ve = end;
		}
		size_t vl = (size_t)(ve - v);
		uint64_t num;
		if (klen == 5 && !memcmp(s, "files", 5)) {
			parse_files(v, vl, p);
		} else if (klen == 5 && !memcmp(s, "bytes", 5)) {
			if (parse_u64(v, vl, &num) == 0) {
				if (kind == K_PART)
					pbytes = num;
				else
					p->bytes = num;
			}
		} else if (klen == 5 && !memcmp(s, "total", 5)) {
			if (parse_u64(v, vl, &num) == 0)
				p->total = num;
		} else if (klen == 4 && !memcmp(s, "rate", 4)) {
			if (parse_u64(v, vl, &num) == 0)
				p->rate = num;
		} else if (klen == 6 && !memcmp(s, "fbytes", 6)) {
			if (parse_u64(v, vl, &num) == 0) {
				p->fbytes = num;
				have_cur = 1;
			}
		} else if (klen == 6 && !memcmp(s, "ftotal", 6)) {
			if (parse_u64(v, vl, &num) == 0)
				p->ftotal = num;
		} else if (klen == 4 && !memcmp(s, "code", 4)) {
			if (parse_u64(v, vl, &num) == 0 && num < 256)
				ecode = (long)num;
		} else if (klen == 4 && !memcmp(s, "http", 4)) {
			if (parse_u64(v, vl, &num) == 0 && num < 1000)
				ehttp = (long)num;
		} else if (klen == 4 && !memcmp(s, "curl", 4)) {
			if (parse_u64(v, vl, &num) == 0 && num < 1000)
				ecurl = (long)num;
		} else if (klen == 4 && !memcmp(s, "file", 4)) {
			if (kind == K_ERROR || kind == K_PART) {
				efile = v;
				efile_len = vl;
			} else {
				free(p->file);
				p->file = vl ? xstrndup(v, vl) : NULL;
			}
		} else if (klen == 6 && !memcmp(s, "reason", 6)) {
			ereason = v;
			ereason_len = vl;
		}
		s = ve;
	}
	switch (kind) {
	case K_PROGRESS:
		p->seen = 1;
		if (!have_cur)
			p->fbytes = p->ftotal = 0;
		break;
	case K_DONE:
		p->seen = 1;
		p->done = 1;
		p->rate = 0;
		free(p->file);
		p->file = NULL;
		if (p->total < p->bytes)
			p->total = p->bytes;
		break;
	case K_FAILED:
		p->failed = 1;
		p->rate = 0;
		break;
	case K_PART:
		if (efile && efile_len) {
			p->parts = xrealloc(p->parts, (p->nparts + 1) * sizeof(*p->parts));
			p->parts[p->nparts].file = xstrndup(efile, efile_len);
			p->parts[p->nparts++].bytes = pbytes;
			p->parts_bytes += pbytes;
		}
		break;
	case K_ERROR:
		free(p->error);
		if (efile)
			p->error = xasprintf("%.*s: %.*s", (int)efile_len, efile,
					     (int)ereason_len, ereason ? ereason : "");
		else
			p->error = xstrndup(ereason ? ereason : "failed", ereason ? ereason_len : 6);
		if (efile) {
			/* one line per failed file and pod: a repeated name replaces */
			struct fetch_error *e = NULL;
			for (size_t i = 0; i < p->nerrors && !e; i++)
				if (strlen(p->errors[i].file) == efile_len &&
				    !memcmp(p->errors[i].file, efile, efile_len))
					e = &p->errors[i];
			if (!e) {
				p->errors = xrealloc(p->errors, (p->nerrors + 1) * sizeof(*p->errors));
				e = &p->errors[p->nerrors++];
				e->file = xstrndup(efile, efile_len);
			} else {
				free(e->reason);
			}
			e->reason = ereason ? xstrndup(ereason, ereason_len) : xstrdup("failed");
			e->code = ecode;
			e->http = ehttp;
			e->curl = ecurl;
		}
		break;
	}
	return 1;
}

void fetch_progress_scan(struct fetch_progress *p, const char *text, size_t len)
{
	const char *s = text, *end = text + len;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;
		size_t l = (size_t)(le - s);
		if (l && s[l - 1] == '\r')
			l--;
		fetch_progress_line(p, s, l);
		s = nl ? nl + 1 : end;
	}
}

/* The current file's share of one pod's progress (0 when none or unknown). */
static double current_fraction(const struct fetch_progress *p)
{
	if (p->done || p->failed || !p->ftotal)
		return 0;
	double f = (double)p->fbytes / (double)p->ftotal;
	return f > 1 ? 1 : f;
}

double fetch_progress_fraction(const struct fetch_progress *p, long files_total)
{
	long n = files_total > 0 ? files_total : p->files_total;
	double f;
	if (n <= 0)
		return 0;
	f = ((double)p->files_done + p->partial + current_fraction(p)) / (double)n;
	return f < 0 ? 0 : f > 1 ? 1 : f;
}

void fetch_progress_add(struct fetch_progress *sum, const struct fetch_progress *pod)
{
	sum->partial += pod->partial + current_fraction(pod);
	for (size_t i = 0; i < pod->nerrors; i++) {
		sum->errors = xrealloc(sum->errors, (sum->nerrors + 1) * sizeof(*sum->errors));
		struct fetch_error *e = &sum->errors[sum->nerrors++];
		e->file = xstrdup(pod->errors[i].file);
		e->reason = xstrdup(pod->errors[i].reason);
		e->code = pod->errors[i].code;
		e->http = pod->errors[i].http;
		e->curl = pod->errors[i].curl;
	}
	for (size_t i = 0; i < pod->nparts; i++) {
		sum->parts = xrealloc(sum->parts, (sum->nparts + 1) * sizeof(*sum->parts));
		sum->parts[sum->nparts].file = xstrdup(pod->parts[i].file);
		sum->parts[sum->nparts++].bytes = pod->parts[i].bytes;
	}
	sum->parts_bytes += pod->parts_bytes;
	sum->seen |= pod->seen;
	sum->files_done += pod->files_done;
	sum->files_total += pod->files_total;
	sum->bytes += pod->bytes;
	sum->total += pod->total;
	sum->rate += pod->rate;
	if (pod->error && !sum->error)
		sum->error = xstrdup(pod->error);
	if (pod->file && !sum->file)
		sum->file = xstrdup(pod->file);
}

long fetch_progress_eta(const struct fetch_progress *p)
{
	if (!p->rate || p->total <= p->bytes)
		return -1;
	uint64_t s = (p->total - p->bytes + p->rate - 1) / p->rate;
	return s > LONG_MAX ? -1 : (long)s;
}

void fetch_progress_release(struct fetch_progress *p)
{
	free(p->file);
	free(p->error);
	for (size_t i = 0; i < p->nerrors; i++) {
		free(p->errors[i].file);
		free(p->errors[i].reason);
	}
	free(p->errors);
	for (size_t i = 0; i < p->nparts; i++)
		free(p->parts[i].file);
	free(p->parts);
	memset(p, 0, sizeof(*p));
}

/* curl's exit codes that a user meets on a download, in words. */
static const char *curl_words(long code)
{
	switch (code) {
	case 5: return "cannot resolve proxy";
	case 6: return "cannot resolve host";
	case 7: return "connection refused";
	case 18: return "transfer cut short";
	case 28: return "timed out";
	case 35: return "TLS handshake failed";
	case 47: return "too many redirects";
	case 52: return "empty reply from server";
	case 55: case 56: return "connection reset";
	case 60: return "TLS certificate not trusted";
	default: return NULL;
	}
}

char *fetch_error_cause(const struct fetch_error *e)
{
	switch (e->code) {
	case 3:
		return xstrdup("sha256 mismatch");
	case 4:
		return e->http > 0 ? xasprintf("HTTP %ld", e->http) : xstrdup("HTTP 4xx");
	case 1:
		if (e->http > 0)
			return xasprintf("HTTP %ld", e->http);
		if (e->curl >= 0)
			return curl_words(e->curl) ? xstrdup(curl_words(e->curl)) : xasprintf("curl exit %ld", e->curl);
		break;
	case 5:
	case 6:
		/* an archive refused or not extractable: which one, and the
		 * extractor's "refusing to extract: ENTRY: REASON" */
		if (e->file && e->reason && *e->reason)
			return xasprintf("%s: %s", e->file, e->reason);
		break;
	default:
		break;
	}
	/* older scripts: the script's own reason field */
	return xstrdup(e->reason && *e->reason ? e->reason : "failed");
}

struct cause_count {
	char *cause;
	size_t n, first;
};

static int cmp_cause(const void *a, const void *b)
{
	const struct cause_count *x = a, *y = b;
	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

char *fetch_errors_summary(const struct fetch_error *e, size_t n)
{
	if (!n)
		return NULL;
	struct cause_count *c = xcalloc(n, sizeof(*c));
	size_t nc = 0;
	for (size_t i = 0; i < n; i++) {
		char *cause = fetch_error_cause(&e[i]);
		size_t k;
		for (k = 0; k < nc && strcmp(c[k].cause, cause); k++)
			;
		if (k == nc) {
			c[nc].cause = cause;
			c[nc].first = i;
			nc++;
		} else {
			free(cause);
		}
		c[k].n++;
	}
	qsort(c, nc, sizeof(*c), cmp_cause);
	struct strbuf sb = STRBUF_INIT;
	for (size_t k = 0; k < nc; k++) {
		strbuf_addf(&sb, "%s%s (%zu file%s)", k ? ", " : "", c[k].cause, c[k].n, c[k].n == 1 ? "" : "s");
		free(c[k].cause);
	}
	free(c);
	return strbuf_detach(&sb);
}
