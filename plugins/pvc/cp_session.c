#include "cp_session.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "script_pvc_cp.h"

/* A session with no byte either way for this long is taken as dropped (a
 * connection that died without a reset); the pod's longest silence is
 * hashing one file for `sum`, ~10 s per GiB with busybox. */
#define IDLE_LIMIT_MS (15 * 60 * 1000)

int cp_sess_open(struct cp_sess *s, const char *ns, const char *pod, const char *container, const char *root)
{
	memset(s, 0, sizeof(*s));
	const char *argv[] = { "sh", "-c", script_pvc_cp, "pvc-cp", root, NULL };
	int rc = kubectl_session_start(&s->ks, ns, pod, container, argv);
	if (rc)
		return -1;
	s->open = 1;
	s->last_io_ms = monotonic_ms();
	return 0;
}

int cp_sess_close(struct cp_sess *s, char **why)
{
	int rc = 0;
	if (s->open)
		rc = kubectl_session_end(&s->ks, 3000, why);
	else if (why)
		*why = xstrdup("no session");
	s->open = 0;
	strbuf_release(&s->out);
	strbuf_release(&s->in);
	s->out_off = s->in_off = 0;
	return rc;
}

void cp_sess_queue(struct cp_sess *s, const void *data, size_t len)
{
	if (s->out_off && s->out_off == s->out.len) {
		strbuf_reset(&s->out);
		s->out_off = 0;
	}
	strbuf_add(&s->out, data, len);
}

void cp_sess_queuef(struct cp_sess *s, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	cp_sess_queue(s, sb.buf, sb.len);
	strbuf_release(&sb);
}

void cp_sess_queue_line(struct cp_sess *s, const char *text)
{
	cp_sess_queue(s, text, strlen(text));
	cp_sess_queue(s, "\n", 1);
}

size_t cp_sess_queued(const struct cp_sess *s)
{
	return s->out.len - s->out_off;
}

size_t cp_sess_pending(const struct cp_sess *s)
{
	return s->in.len - s->in_off;
}

int cp_sess_pump(struct cp_sess *s, int wait_ms)
{
	if (!s->open || s->eof)
		return -1;
	struct pollfd p[3] = {
		{ s->ks.out, POLLIN, 0 },
		{ s->ks.err, POLLIN, 0 },
		{ cp_sess_queued(s) ? s->ks.in : -1, POLLOUT, 0 },
	};
	int n = poll(p, 3, wait_ms);
	if (n < 0 && errno != EINTR) {
		s->eof = 1;
		return -1;
	}
	int moved = 0;
	if (p[1].revents)
		kubectl_session_drain_err(&s->ks);
	if (p[2].revents & (POLLOUT | POLLERR | POLLHUP)) {
		ssize_t w = write(s->ks.in, s->out.buf + s->out_off, cp_sess_queued(s));
		if (w > 0) {
			s->out_off += (size_t)w;
			moved = 1;
			if (s->out_off == s->out.len) {
				strbuf_reset(&s->out);
				s->out_off = 0;
			}
		} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
			s->eof = 1; /* kubectl went away; what it said is still read */
			return -1;
		}
	}
	if (p[0].revents) {
		if (s->in_off > (1 << 20) && s->in_off * 2 > s->in.len) {
			memmove(s->in.buf, s->in.buf + s->in_off, s->in.len - s->in_off);
			s->in.len -= s->in_off;
			s->in.buf[s->in.len] = '\0';
			s->in_off = 0;
		}
		strbuf_grow(&s->in, 1 << 18);
		ssize_t r = read(s->ks.out, s->in.buf + s->in.len, 1 << 18);
		if (r > 0) {
			s->in.len += (size_t)r;
			s->in.buf[s->in.len] = '\0';
			moved = 1;
		} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
			s->eof = 1;
		}
	}
	int64_t now = monotonic_ms();
	if (moved)
		s->last_io_ms = now;
	else if (now - s->last_io_ms > IDLE_LIMIT_MS) {
		s->eof = 1;
		return -1;
	}
	return 0;
}

int cp_sess_try_line(struct cp_sess *s, char **line)
{
	char *start = s->in.buf ? s->in.buf + s->in_off : NULL;
	char *nl = start ? memchr(start, '\n', s->in.len - s->in_off) : NULL;
	if (nl) {
		*nl = '\0';
		*line = start;
		s->in_off = (size_t)(nl + 1 - s->in.buf);
		return 1;
	}
	if (!s->open || s->eof)
		return -1;
	return 0;
}

int cp_sess_line(struct cp_sess *s, char **line)
{
	for (;;) {
		int r = cp_sess_try_line(s, line);
		if (r)
			return r;
		if (cp_sess_pump(s, 1000) < 0 && cp_sess_try_line(s, line) <= 0)
			return -1;
	}
}

int cp_sess_bytes(struct cp_sess *s, size_t n, const char **data)
{
	while (cp_sess_pending(s) < n) {
		if (cp_sess_pump(s, 1000) < 0 && cp_sess_pending(s) < n)
			return -1;
	}
	*data = s->in.buf + s->in_off;
	s->in_off += n;
	return 0;
}

int cp_sess_some(struct cp_sess *s, size_t max, const char **data, size_t *n)
{
	while (!cp_sess_pending(s)) {
		if (cp_sess_pump(s, 1000) < 0 && !cp_sess_pending(s))
			return -1;
	}
	size_t have = cp_sess_pending(s);
	*n = have < max ? have : max;
	*data = s->in.buf + s->in_off;
	s->in_off += *n;
	return 0;
}
