/* pods/exec through the API client itself: one WebSocket (v5.channel.k8s.io,
 * as kubectl 1.30+; v4 accepted) on one new TLS connection, with the
 * kubeconfig's credentials, proxy and TLS settings of every other request. */
#ifndef EIDF_KCLIENT_EXEC_H
#define EIDF_KCLIENT_EXEC_H

#include <stddef.h>

#include "eidf/kclient.h"
#include "eidf/util.h"

struct kexec_opts {
	const char *ns, *pod, *container;
	const char *const *argv;     /* the command in the container, exactly */
	size_t argc;
	/* A shell script to run (NULL: argv is the command): it goes on stdin
	 * ahead of anything else, behind a short bootstrap in the URL
	 * (kexec_script_command), and argv is then its $0 and arguments.  A
	 * request line of tens of KiB works with kube-apiserver but not
	 * through the proxies often in front of one (HAProxy's 16 KiB buffer,
	 * nginx's 8 KiB per header line: 414 or 400).  Stdin is asked for even
	 * when stdin_fd is -1; the script then reads /dev/null. */
	const char *script;
	int stdin_fd;                /* read until EOF and sent; -1: no stdin */
	int stdout_fd, stderr_fd;    /* what the command writes; -1: not asked for */
	/* kclient_exec: called once the server has accepted the upgrade (the
	 * command is starting), and once the command's first output has been
	 * passed on, e.g. to send other requests meanwhile; NULL: none */
	void (*on_open)(void *ud);
	void (*on_output)(void *ud);
	void *ud;
	/* monotonic_ms() by which it must be over, the upgrade included (a
	 * server that never answers it); then it fails with "timed out".
	 * 0: none (the abort switch alone ends it) */
	long deadline_ms;
};

/* The command that runs `script` (kexec_opts.script) with args as its $0
 * and arguments: into argv `sh -c BOOTSTRAP ARGS...` (a few hundred bytes
 * whatever the script's size), into prefix what goes on stdin first (the
 * script and an end mark).  The bootstrap reads exactly those bytes with dd
 * (iflag=fullblock; one byte at a time where dd lacks it, as an old
 * busybox does), so the stream after them is the script's own stdin; it
 * runs nothing unless the end mark came, and otherwise says why and exits
 * 127.  reads_stdin 0: the script's stdin is /dev/null after that. */
void kexec_script_command(const char *script, int reads_stdin, const char *const *args, size_t nargs,
			  struct strvec *argv, struct strbuf *prefix);

/* Run it to the end: 0 with *exit_code the command's exit code (from the
 * final Status), or -1 with a kubectl-like error (the upgrade's HTTP status
 * in kclient_last_http_status(): 404 no such pod, 400 container not running;
 * 0 when no answer came; a failure to start the command in the container is
 * -1 too, with the runtime's message).  The abort switch ends it. */
int kclient_exec(struct kclient *kc, const struct kexec_opts *o, int *exit_code);

/* The same exec as a stream the caller drives, for a protocol spoken with
 * a program in the container (pvc cp): it sends stdin and reads stdout and
 * stderr as it goes, polling the connection with its own descriptors.
 * kexec_opts' descriptors only say which streams are asked for (>= 0);
 * the bytes go through the calls below. */
struct kexec_stream;

#define KEXEC_STDOUT 1
#define KEXEC_STDERR 2

/* Connect and upgrade; NULL with a kubectl-like error as kclient_exec's. */
struct kexec_stream *kexec_stream_open(struct kclient *kc, const struct kexec_opts *o);
/* The connection to poll, and for what (POLLIN, and POLLOUT while bytes
 * wait to be sent); after poll, kexec_stream_pump(s, 0). */
int kexec_stream_fd(const struct kexec_stream *s);
short kexec_stream_events(const struct kexec_stream *s);
/* Queue bytes for the command's stdin (nothing is sent before a pump). */
void kexec_stream_send(struct kexec_stream *s, const void *data, size_t n);
size_t kexec_stream_unsent(const struct kexec_stream *s);
/* End the command's stdin (it reads EOF): 0, or -1 under the v4 protocol,
 * which cannot (the command must end by itself). */
int kexec_stream_close_stdin(struct kexec_stream *s);
/* Send and receive what can move now, waiting at most wait_ms (at most a
 * second at a time, checking the abort switch) when nothing could: 1
 * something moved, 0 nothing, -1 the stream is over (the server ended it,
 * it dropped, or the abort switch; what came before stays readable). */
int kexec_stream_pump(struct kexec_stream *s, int wait_ms);
int kexec_stream_over(const struct kexec_stream *s);
/* What came on KEXEC_STDOUT or KEXEC_STDERR and was not consumed yet:
 * *data (valid until the next pump or consume) and its length. */
size_t kexec_stream_peek(const struct kexec_stream *s, int stream, const char **data);
void kexec_stream_consume(struct kexec_stream *s, int stream, size_t n);
/* Consume what came on STREAM into tail, of which only the last KEEP to
 * 2 * KEEP bytes are kept: what a command said last, for the message when
 * it ends.  kexec_tail_last_line: that tail's last non-blank line, or NULL
 * (the caller frees it). */
void kexec_stream_keep_tail(struct kexec_stream *s, int stream, struct strbuf *tail, size_t keep);
char *kexec_tail_last_line(const struct strbuf *tail);
/* End it: stdin is closed, the command's exit status is awaited for at
 * most wait_ms (output still coming is dropped), the connection closed and
 * s freed.  0 with *exit_code, or -1 with a kubectl-like error (why the
 * stream broke, the Status's message, or no status). */
int kexec_stream_finish(struct kexec_stream *s, long wait_ms, int *exit_code);
/* Free without waiting (after a failed open there is nothing to free). */
void kexec_stream_free(struct kexec_stream *s);

#endif
