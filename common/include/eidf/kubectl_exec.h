/* Streaming bytes into a container with `kubectl exec -i`: the same
 * cluster, user and namespace as this command (cmd_kubectl_flags), a
 * progress line, a deadline, and kubectl's last words when it fails.
 * Used to upload data that does not fit a Secret (build contexts, devrun's
 * local changes). */
#ifndef EIDF_KUBECTL_EXEC_H
#define EIDF_KUBECTL_EXEC_H

#include <stdint.h>
#include <sys/types.h>

#include "eidf/util.h"

struct kubectl_upload {
	const char *ns;
	const char *pod;
	const char *container;
	const char *command;      /* run with `sh -c` in the container; reads stdin */
	int fd;                   /* read from offset 0 */
	uint64_t size;            /* bytes to send */
	int64_t deadline_ms;      /* monotonic_ms() limit for the whole upload */
	const char *what;         /* "build context", for messages */
	const char *label;        /* progress line: "uploading <label>"; NULL: what */
	const char *timeout_hint; /* how to raise the deadline, e.g. "raise --upload-timeout" */
};

/* 0 once all bytes were sent and the command exited 0; -1 with an error
 * naming the pod, the step and kubectl's last line.  $EIDF_KUBECTL, if set,
 * replaces `kubectl`. */
int kubectl_exec_upload(const struct kubectl_upload *u);

/* A two-way session: `kubectl exec -i POD -c CONTAINER -- ARGV...` with its
 * stdin, stdout and stderr as separate pipes, for a protocol spoken with a
 * program in the container (pvc cp).  The caller polls `in` (non-blocking,
 * write) and `out` (read); stderr is kept (its tail) for the error message.
 * $EIDF_KUBECTL, if set, replaces `kubectl`. */
struct kubectl_session {
	pid_t pid;
	int in, out, err;          /* -1 once closed */
	struct strbuf err_tail;    /* the last few KiB kubectl or the program wrote to stderr */
};

/* 0, or -1 with an error naming the pod. */
int kubectl_session_start(struct kubectl_session *s, const char *ns, const char *pod,
			  const char *container, const char *const *argv);

/* Read what stderr has (non-blocking) into err_tail; 0 at EOF. */
int kubectl_session_drain_err(struct kubectl_session *s);

/* Close the pipes, wait for kubectl (SIGTERM after grace_ms, then SIGKILL)
 * and return its exit status (128+signal when killed); *why (caller frees,
 * may be NULL) gets the last line of stderr or "no output". */
int kubectl_session_end(struct kubectl_session *s, long grace_ms, char **why);

#endif
