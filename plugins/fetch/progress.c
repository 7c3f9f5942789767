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
	enum { K_PROGRESS, K_ERROR, K_DONE, K_FAILED } kind;
	if (kl == 8 && !memcmp(s, "progress", 8))
		kind = K_PROGRESS;
	else if (kl == 5 && !memcmp(s, "error", 5))
		kind = K_ERROR;
	else if (kl == 4 && !memcmp(s, "done", 4))
		kind = K_DONE;
	else if (kl == 6 && !memcmp(s, "failed", 6))
		kind = K_FAILED;
	else
		return 0;
	s += kl;
	const char *efile = NULL, *ereason = NULL;
	size_t efile_len = 0, ereason_len = 0;
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
			if (parse_u64(v, vl, &num) == 0)
				p->bytes = num;
		} else if (klen == 5 && !memcmp(s, "total", 5)) {
			if (parse_u64(v, vl, &num) == 0)
				p->total = num;
		} else if (klen == 4 && !memcmp(s, "rate", 4)) {
			if (parse_u64(v, vl, &num) == 0)
				p->rate = num;
		} else if (klen == 4 && !memcmp(s, "file", 4)) {
			if (kind == K_ERROR) {
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
	case K_ERROR:
		free(p->error);
		if (efile)
			p->error = xasprintf("%.*s: %.*s", (int)efile_len, efile,
					     (int)ereason_len, ereason ? ereason : "");
		else
			p->error = xstrndup(ereason ? ereason : "failed", ereason ? ereason_len : 6);
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

void fetch_progress_add(struct fetch_progress *sum, const struct fetch_progress *pod)
{
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
	memset(p, 0, sizeof(*p));
}
