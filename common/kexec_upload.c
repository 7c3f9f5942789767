/* A file streamed into a command in a container; see eidf/kexec_upload.h.
 * It replaces `kubectl exec -i`: no second program with its own discovery
 * and its own reading of the kubeconfig, and the exit code and the pod's
 * words come back apart (stdout, stderr, the final Status). */
#include "eidf/kexec_upload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eidf/humanize.h"
#include "eidf/kclient.h"
#include "eidf/kclient_exec.h"
#include "eidf/output.h"
#include "eidf/util.h"

#define TX_HIGH (256 * 1024) /* read no more of the file while this much waits to be sent */
#define TAIL 4096            /* what is kept of the command's output, for the message */

/* The exec was not accepted: why, and what to do about it. */
static void say_refused(struct kclient *kc, const struct kexec_upload *u, const char *where, const char *why)
{
	long http = kclient_last_http_status(kc);
	if (http == 403)
		eidf_set_error("%s: %s; the upload needs the right to create pods/exec in namespace %s (ask the "
			       "project's admin)%s%s", where, why, u->ns, u->refused_hint ? ", or " : "",
			       u->refused_hint ? u->refused_hint : "");
	else if (http == 404 || http == 400)
		eidf_set_error("%s: %s; the pod is gone or its container is not running (its Job deleted or "
			       "ended?): run the same command again", where, why);
	else
		eidf_set_error("%s: %s", where, why);
}

int kexec_upload(struct kclient *kc, const struct kexec_upload *u)
{
	const char *argv[] = { "sh", "-c", u->command };
	struct kexec_opts o = { .ns = u->ns, .pod = u->pod, .container = u->container, .argv = argv, .argc = 3,
				.stdin_fd = 0, .stdout_fd = 1, .stderr_fd = 2, .deadline_ms = u->deadline_ms };
	char *where = xasprintf("uploading %s to pod %s (container %s)", u->what, u->pod, u->container);
	char *label = xasprintf("uploading %s", u->label ? u->label : u->what);
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	uint64_t queued = 0, sent = 0;
	int rc = -1, code = -1, read_errno = 0, short_file = 0;
	char buf[65536];

	if (lseek(u->fd, 0, SEEK_SET) < 0) {
		eidf_set_error("%s: cannot read the local file: %s", where, strerror(errno));
		goto out;
	}
	struct kexec_stream *s = kexec_stream_open(kc, &o);
	if (!s) {
		char *why = xstrdup(eidf_last_error());
		if (monotonic_ms() >= u->deadline_ms) {
			char *total = human_bytes(u->size);
			eidf_set_error("%s: timed out after sending 0B of %s (the exec did not start); %s", where,
				       total, u->timeout_hint);
			free(total);
		} else {
			say_refused(kc, u, where, why);
		}
		free(why);
		goto out;
	}
	struct progress *pg = progress_new(stderr, label, u->size);
	while (!kexec_stream_over(s)) {
		/* the file, as far as the connection takes it */
		while (queued < u->size && kexec_stream_unsent(s) < TX_HIGH) {
			size_t want = u->size - queued < sizeof(buf) ? (size_t)(u->size - queued) : sizeof(buf);
			ssize_t n = read(u->fd, buf, want);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				read_errno = n < 0 ? errno : 0;
				short_file = n == 0;
				break;
			}
			kexec_stream_send(s, buf, (size_t)n);
			queued += (uint64_t)n;
			if (queued == u->size)
				kexec_stream_close_stdin(s); /* v5; under v4 the command ends by itself */
		}
		if (read_errno || short_file)
			break;
		int r = kexec_stream_pump(s, 200);
		kexec_stream_keep_tail(s, KEXEC_STDOUT, &out, TAIL);
		kexec_stream_keep_tail(s, KEXEC_STDERR, &err, TAIL);
		size_t unsent = kexec_stream_unsent(s);
		uint64_t now = queued > unsent ? queued - unsent : 0;
		if (now > sent) {
			sent = now;
			progress_update(pg, sent, NULL);
		}
		if (r < 0 || monotonic_ms() >= u->deadline_ms)
			break;
	}
	int frc = kexec_stream_finish(s, 0, &code);
	char *stream_err = frc < 0 ? xstrdup(eidf_last_error()) : NULL;
	int ok = frc == 0 && code == 0 && queued == u->size;
	progress_done(pg, ok ? NULL : "failed"); /* plain output says ", done" itself */
	char *said = kexec_tail_last_line(&err);
	if (!said)
		said = kexec_tail_last_line(&out);
	char *done = human_bytes(sent), *total = human_bytes(u->size);
	if (ok)
		rc = 0;
	else if (read_errno || short_file)
		eidf_set_error("%s: cannot read the local file: %s", where,
			       read_errno ? strerror(read_errno) : "it is shorter than when it was made");
	else if (frc == 0 && code != 0)
		eidf_set_error("%s: the receiving command failed (exit code %d): %s", where, code,
			       said ? said : "no output");
	else if (frc == 0)
		eidf_set_error("%s: the receiving command ended after %s of %s%s%s", where, done, total,
			       said ? ": " : "", said ? said : "");
	else if (kclient_aborted(kc))
		eidf_set_error("%s: interrupted after sending %s of %s", where, done, total);
	else if (monotonic_ms() >= u->deadline_ms)
		eidf_set_error("%s: timed out after sending %s of %s; %s", where, done, total, u->timeout_hint);
	else
		eidf_set_error("%s: %s after sending %s of %s%s%s", where, stream_err, done, total,
			       said ? "; the pod said: " : "", said ? said : "");
	free(done);
	free(total);
	free(said);
	free(stream_err);
out:
	strbuf_release(&out);
	strbuf_release(&err);
	free(label);
	free(where);
	return rc;
}
