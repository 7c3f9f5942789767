/* The transport of `pvc cp`: one exec session with pvc-cp.sh in the helper
 * pod, through the API client's own WebSocket (kexec_stream: no kubectl
 * process, no second TLS connection per copy).  Commands are queued and
 * sent while the answers are read, so neither side ever blocks the other
 * (the pod answers while it still receives data).  A session that ends (a
 * dropped stream, an abort) makes every call return -1; the caller opens a
 * new one and resumes. */
#ifndef EIDF_PVC_CP_SESSION_H
#define EIDF_PVC_CP_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "eidf/kclient.h"
#include "eidf/kclient_exec.h"
#include "eidf/util.h"

struct cp_sess {
	struct kexec_stream *ks;
	struct kclient *kc;       /* whose abort flag (Ctrl-C) ends the session */
	struct strbuf line;       /* the last line taken */
	struct strbuf err_tail;   /* the last few KiB the pod wrote to stderr */
	int eof;                  /* the stream is over (what came is still read) */
	int open;
	int64_t last_io_ms;       /* for the idle limit */
};

/* Start pvc-cp.sh in the pod's container (root = where it mounts the
 * claim); -1 with a kubectl-like error (404 no such pod, 403 not allowed). */
int cp_sess_open(struct cp_sess *s, struct kclient *kc, const char *ns, const char *pod, const char *container,
		 const char *root);
/* Close (the pod's stdin first, so the script ends); the script's exit
 * code, or -1; *why (caller frees) says how the session ended. */
int cp_sess_close(struct cp_sess *s, char **why);

void cp_sess_queue(struct cp_sess *s, const void *data, size_t len);
void cp_sess_queuef(struct cp_sess *s, const char *fmt, ...) EIDF_PRINTF(2, 3);
/* A path line: the caller has checked it holds no newline. */
void cp_sess_queue_line(struct cp_sess *s, const char *text);
/* Bytes queued and not yet sent. */
size_t cp_sess_queued(const struct cp_sess *s);

/* Write and read what can be, waiting at most wait_ms; -1 when the
 * session is gone (nothing more will come) or idle too long. */
int cp_sess_pump(struct cp_sess *s, int wait_ms);
/* 1 and *line (valid until the next call) when a whole line has come,
 * 0 when not yet, -1 when the session is gone. */
int cp_sess_try_line(struct cp_sess *s, char **line);
/* Block (pumping) until a line came; -1 when the session is gone. */
int cp_sess_line(struct cp_sess *s, char **line);
/* Block until n bytes came; *data valid until the next call. */
int cp_sess_bytes(struct cp_sess *s, size_t n, const char **data);
/* Block until at least one byte came; *data and *n (<= max) the bytes,
 * valid until the next call; -1 when the session is gone and none came. */
int cp_sess_some(struct cp_sess *s, size_t max, const char **data, size_t *n);
/* Bytes received and not consumed (a partly received chunk). */
size_t cp_sess_pending(const struct cp_sess *s);

#endif
