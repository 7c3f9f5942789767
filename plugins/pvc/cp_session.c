#include "cp_session.h"

#include <stdarg.h>
#include <string.h>

#include "script_pvc_cp.h"

/* A session with no byte either way for this long is taken as dropped (a
 * connection that died without a reset); the pod's longest silence is
 * hashing one file for `sum`, ~10 s per GiB with busybox. */
#define IDLE_LIMIT_MS (15 * 60 * 1000)
/* What is kept of the pod's stderr for the message when it ends. */
#define ERR_TAIL 4096

int cp_sess_open(struct cp_sess *s, struct kclient *kc, const char *ns, const char *pod, const char *container,
		 const char *root)
{
	memset(s, 0, sizeof(*s));
	/* the script goes on stdin ahead of the session's commands */
	const char *argv[] = { "pvc-cp", root };
	struct kexec_opts o = { .ns = ns, .pod = pod, .container = container, .argv = argv,
				.argc = sizeof(argv) / sizeof(*argv), .script = script_pvc_cp,
				.stdin_fd = 0, .stdout_fd = 1, .stderr_fd = 2 };
	s->ks = kexec_stream_open(kc, &o);
	if (!s->ks)
		return -1;
	s->kc = kc;
	s->open = 1;
	s->last_io_ms = monotonic_ms();
	return 0;
}

int cp_sess_close(struct cp_sess *s, char **why)
{
	int code = -1;
	if (s->open) {
		/* the script ends at `quit` (or at EOF on its stdin, which the v4
		 * protocol cannot send); a stream already over ends at once */
		if (!s->eof)
			cp_sess_queue(s, "quit\n", 5);
		int rc = kexec_stream_finish(s->ks, 3000, &code);
		char *last = kexec_tail_last_line(&s->err_tail);
		if (why) {
			if (rc < 0)
				*why = last ? xasprintf("%s; the pod said: %s", eidf_last_error(), last)
					    : xstrdup(eidf_last_error());
			else
				*why = last ? xasprintf("exit code %d: %s", code, last) : xasprintf("exit code %d", code);
		}
		free(last);
		if (rc < 0)
			code = -1;
	} else if (why) {
		*why = xstrdup("no session");
	}
	s->ks = NULL;
	s->open = 0;
	s->eof = 0;
	strbuf_release(&s->line);
	strbuf_release(&s->err_tail);
	return code;
}

void cp_sess_queue(struct cp_sess *s, const void *data, size_t len)
{
	if (s->open)
		kexec_stream_send(s->ks, data, len);
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
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, text);
	strbuf_addch(&sb, '\n');
	cp_sess_queue(s, sb.buf, sb.len);
	strbuf_release(&sb);
}

size_t cp_sess_queued(const struct cp_sess *s)
{
	return s->open ? kexec_stream_unsent(s->ks) : 0;
}

size_t cp_sess_pending(const struct cp_sess *s)
{
	const char *d;
	return s->open ? kexec_stream_peek(s->ks, KEXEC_STDOUT, &d) : 0;
}

int cp_sess_pump(struct cp_sess *s, int wait_ms)
{
	if (!s->open || s->eof)
		return -1;
	/* the stream's pump sees an abort (Ctrl-C) only when it has to wait,
	 * and a download's bytes may never make it wait */
	if (kclient_aborted(s->kc)) {
		s->eof = 1;
		return -1;
	}
	int r = kexec_stream_pump(s->ks, wait_ms);
	/* stderr: only its tail is kept, for the message when the session ends */
	kexec_stream_keep_tail(s->ks, KEXEC_STDERR, &s->err_tail, ERR_TAIL);
	if (r < 0) {
		s->eof = 1;
		return -1;
	}
	int64_t now = monotonic_ms();
	if (r > 0)
		s->last_io_ms = now;
	else if (now - s->last_io_ms > IDLE_LIMIT_MS) {
		s->eof = 1;
		return -1;
	}
	return 0;
}

int cp_sess_try_line(struct cp_sess *s, char **line)
{
	if (!s->open)
		return -1;
	const char *d;
	size_t n = kexec_stream_peek(s->ks, KEXEC_STDOUT, &d);
	const char *nl = n ? memchr(d, '\n', n) : NULL;
	if (nl) {
		strbuf_reset(&s->line);
		strbuf_add(&s->line, d, (size_t)(nl - d));
		kexec_stream_consume(s->ks, KEXEC_STDOUT, (size_t)(nl + 1 - d));
		*line = s->line.buf;
		return 1;
	}
	return s->eof ? -1 : 0;
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
	kexec_stream_peek(s->ks, KEXEC_STDOUT, data);
	kexec_stream_consume(s->ks, KEXEC_STDOUT, n);
	return 0;
}

int cp_sess_some(struct cp_sess *s, size_t max, const char **data, size_t *n)
{
	while (!cp_sess_pending(s)) {
		if (cp_sess_pump(s, 1000) < 0 && !cp_sess_pending(s))
			return -1;
	}
	size_t have = kexec_stream_peek(s->ks, KEXEC_STDOUT, data);
	*n = have < max ? have : max;
	kexec_stream_consume(s->ks, KEXEC_STDOUT, *n);
	return 0;
}
