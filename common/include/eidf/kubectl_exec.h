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

#endif
