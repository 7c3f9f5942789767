/* Polling several pods' logs into one stream (see eidf/log_merge.h). */
#include "eidf/log_merge.h"

#include <stdlib.h>
#include <string.h>

#include "eidf/kclient.h"
#include "eidf/util.h"

void log_merge_init(struct log_merge *m)
{
	memset(m, 0, sizeof(*m));
}

void log_merge_release(struct log_merge *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->src[i].pod);
		free(m->src[i].container);
	}
	free(m->src);
	for (size_t i = 0; i < m->nl; i++)
		free(m->lines[i].text);
	free(m->lines);
	memset(m, 0, sizeof(*m));
}

struct log_merge_src *log_merge_source(struct log_merge *m, const char *pod, const char *container,
				       long index)
{
	for (size_t k = 0; k < m->n; k++)
		if (!strcmp(m->src[k].pod, pod) && !strcmp(m->src[k].container, container))
			return &m->src[k];
	m->src = xrealloc(m->src, (m->n + 1) * sizeof(*m->src));
	struct log_merge_src *s = &m->src[m->n++];
	memset(s, 0, sizeof(*s));
	s->pod = xstrdup(pod);
	s->container = xstrdup(container);
	s->index = index;
	return s;
}

int log_merge_ts_key(const char *ts, size_t len, char key[32])
{
	if (len < 19 || ts[4] != '-' || ts[10] != 'T')
		return -1;
	memcpy(key, ts, 19);
	size_t k = 19, i = 19;
	key[k++] = '.';
	if (ts[i] == '.') {
		for (i++; i < len && ts[i] >= '0' && ts[i] <= '9'; i++)
			if (k < 29)
				key[k++] = ts[i];
	}
	while (k < 29)
		key[k++] = '0';
	key[k] = '\0';
	return 0;
}

/* bytes per log request: a large log is read in several */
#define LOG_MERGE_READ_MAX (4L << 20)

static int collect(const char *data, size_t len, void *ud)
{
	strbuf_add(ud, data, len);
	return 0;
}

int log_merge_poll(struct log_merge *m, struct kclient *kc, const char *ns, struct log_merge_src *s,
		   long tail_lines, int final)
{
	if (s->done)
		return 0;
	char since[32] = "";
	if (s->last[0]) {
		memcpy(since, s->last, 19);
		strcpy(since + 19, "Z");
	}
	struct strbuf sb = STRBUF_INIT;
	struct klog_opts ko = { .container = s->container, .timestamps = 1,
				.since_time = since[0] ? since : NULL,
				.tail_lines = s->last[0] ? -1 : tail_lines, .limit_bytes = LOG_MERGE_READ_MAX };
	if (kclient_logs(kc, ns, s->pod, &ko, collect, &sb) < 0) {
		strbuf_release(&sb);
		return -1;
	}
	/* a read cut at the limit: its incomplete last line comes again in
	 * full with the next read, which starts from the last complete one */
	int more = sb.len >= LOG_MERGE_READ_MAX;
	if (more) {
		char *nl = memrchr(sb.buf, '\n', sb.len);
		sb.len = nl ? (size_t)(nl - sb.buf) + 1 : 0;
		if (!sb.len)
			more = 0;   /* one line longer than the limit: take it as it is */
		else
			sb.buf[sb.len] = '\0';
	}
	const char *p = strbuf_str(&sb), *end = p + sb.len;
	/* lines in the log are in time order: skip those up to the last printed */
	char last0[32];
	long skip_eq = s->at_last;
	memcpy(last0, s->last, sizeof(last0));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		const char *sp = memchr(p, ' ', len);
		char key[32];
		if (!sp || log_merge_ts_key(p, (size_t)(sp - p), key) < 0) {
			p += len;
			continue;
		}
		int c = last0[0] ? strcmp(key, last0) : 1;
		if (c < 0 || (c == 0 && skip_eq-- > 0)) {
			p += len;
			continue;   /* printed in an earlier poll */
		}
		if (!strcmp(key, s->last)) {
			s->at_last++;
		} else {
			memcpy(s->last, key, sizeof(key));
			s->at_last = 1;
		}
		if (m->nl == m->al) {
			m->al = m->al ? 2 * m->al : 64;
			m->lines = xrealloc(m->lines, m->al * sizeof(*m->lines));
		}
		struct log_merge_line *l = &m->lines[m->nl++];
		memcpy(l->key, key, sizeof(key));
		l->index = s->index;
		l->seq = m->seq++;
		const char *text = m->keep_timestamps ? p : sp + 1;
		size_t tl = len - (size_t)(text - p);
		l->text = xstrndup(text, tl);
		if (!tl || l->text[tl - 1] != '\n') {
			char *t = xasprintf("%s\n", l->text);
			free(l->text);
			l->text = t;
		}
		p += len;
	}
	strbuf_release(&sb);
	if (more)
		return log_merge_poll(m, kc, ns, s, -1, final);
	if (final)
		s->done = 1;
	return 0;
}

static int cmp_line(const void *a, const void *b)
{
	const struct log_merge_line *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void log_merge_print(struct log_merge *m, FILE *out)
{
	if (m->nl)
		qsort(m->lines, m->nl, sizeof(*m->lines), cmp_line);
	for (size_t k = 0; k < m->nl; k++) {
		fprintf(out, "[%ld] %s", m->lines[k].index, m->lines[k].text);
		free(m->lines[k].text);
	}
	m->nl = 0;
	fflush(out);
}
