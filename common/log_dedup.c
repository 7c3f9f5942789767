/* Resuming a log stream without losing or repeating a line: the stream is
 * read with timestamps=true, a new connection asks for sinceTime (whole
 * seconds, as the API takes it) and the lines it sends again - those at or
 * before the last one delivered, counted per timestamp - are skipped.  The
 * position is the kubelet's own timestamp of each line, never the text. */
#include "eidf/log_dedup.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eidf/humanize.h"

void log_dedup_init(struct log_dedup *d, FILE *out, int keep_timestamps)
{
	memset(d, 0, sizeof(*d));
	d->last_sec = INT64_MIN;
	d->out = out;
	d->keep_timestamps = keep_timestamps;
}

void log_dedup_init_emit(struct log_dedup *d, log_emit_fn emit, void *ud, int keep_timestamps)
{
	log_dedup_init(d, NULL, keep_timestamps);
	d->emit = emit;
	d->emit_ud = ud;
}

void log_dedup_release(struct log_dedup *d)
{
	strbuf_release(&d->partial);
	strbuf_release(&d->line);
	free(d->last_ts);
	d->last_ts = NULL;
}

void log_dedup_reconnect(struct log_dedup *d)
{
	strbuf_reset(&d->partial); /* it is sent again, whole */
	d->seen_at_last = 0;
}

/* "2024-01-02T03:04:05.123456789Z" -> seconds + nanoseconds. */
static int parse_ts(const char *s, size_t n, int64_t *sec, long *nsec)
{
	char *tmp = xstrndup(s, n);
	char *dot = strchr(tmp, '.');
	long ns = 0;
	if (dot) {
		char *p = dot + 1;
		long scale = 100000000;
		while (*p >= '0' && *p <= '9') {
			if (scale) {
				ns += (*p - '0') * scale;
				scale /= 10;
			}
			p++;
		}
		memmove(dot, p, strlen(p) + 1); /* drop the fraction for parse_rfc3339 */
	}
	time_t t;
	int rc = parse_rfc3339(tmp, &t);
	free(tmp);
	if (rc < 0)
		return -1;
	*sec = (int64_t)t;
	*nsec = ns;
	return 0;
}

static void put(struct log_dedup *d, const char *text, size_t len, int complete)
{
	if (d->stopped)
		return;
	if (d->emit) {
		strbuf_reset(&d->line);
		strbuf_add(&d->line, text, len);
		if (complete)
			strbuf_addch(&d->line, '\n');
		if (d->emit(d->line.buf, d->line.len, d->emit_ud))
			d->stopped = 1;
		return;
	}
	fwrite(text, 1, len, d->out);
	if (complete)
		fputc('\n', d->out);
}

static void emit_line(struct log_dedup *d, const char *line, size_t len, int complete)
{
	const char *sp = memchr(line, ' ', len);
	int64_t sec;
	long nsec;
	if (!sp || parse_ts(line, (size_t)(sp - line), &sec, &nsec) < 0) {
		put(d, line, len, complete); /* not a timestamped line: pass it on */
		return;
	}
	if (sec < d->last_sec || (sec == d->last_sec && nsec < d->last_nsec))
		return;
	if (sec == d->last_sec && nsec == d->last_nsec) {
		if (++d->seen_at_last <= d->n_at_last)
			return;
		d->n_at_last++;
	} else {
		d->last_sec = sec;
		d->last_nsec = nsec;
		d->n_at_last = d->seen_at_last = 1;
		free(d->last_ts);
		d->last_ts = xstrndup(line, (size_t)(sp - line));
	}
	const char *text = d->keep_timestamps ? line : sp + 1;
	put(d, text, len - (size_t)(text - line), complete);
}

void log_dedup_feed(struct log_dedup *d, const char *data, size_t len)
{
	strbuf_add(&d->partial, data, len);
	size_t start = 0;
	for (;;) {
		char *nl = memchr(d->partial.buf + start, '\n', d->partial.len - start);
		if (!nl)
			break;
		size_t n = (size_t)(nl - (d->partial.buf + start));
		emit_line(d, d->partial.buf + start, n, 1);
		start += n + 1;
	}
	if (start) {
		memmove(d->partial.buf, d->partial.buf + start, d->partial.len - start);
		d->partial.len -= start;
		d->partial.buf[d->partial.len] = '\0';
	}
	if (d->out)
		fflush(d->out);
}

void log_dedup_flush(struct log_dedup *d)
{
	if (d->partial.len)
		emit_line(d, d->partial.buf, d->partial.len, 0);
	strbuf_reset(&d->partial);
	if (d->out)
		fflush(d->out);
}

char *log_dedup_since(const struct log_dedup *d)
{
	if (d->last_sec == INT64_MIN)
		return NULL;
	char buf[32];
	format_rfc3339((time_t)d->last_sec, buf);
	return xstrdup(buf);
}

