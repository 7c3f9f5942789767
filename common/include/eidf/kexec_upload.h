/* Streaming a file into a command in a container through the API client's
 * own exec (eidf/kclient_exec.h): no kubectl process, the same connection
 * settings and credentials as every other request, a progress line, a
 * deadline, and the command's exit code and last stderr line for the
 * message.  Used for data that does not fit a Secret (build contexts,
 * devrun's local changes).
 *
 * The command must read exactly `size` bytes of stdin and then end by
 * itself (e.g. `head -c SIZE`): under the v4 channel protocol (Kubernetes
 * < 1.29) stdin cannot be closed, so the command never reads EOF; under v5
 * it is closed once everything is sent. */
#ifndef EIDF_KEXEC_UPLOAD_H
#define EIDF_KEXEC_UPLOAD_H

#include <stdint.h>

struct kclient;

struct kexec_upload {
	const char *ns, *pod, *container;
	const char *command;      /* run with `sh -c` in the container; reads `size` bytes of stdin */
	int fd;                   /* read from offset 0 */
	uint64_t size;            /* bytes to send */
	long deadline_ms;         /* monotonic_ms() limit for the whole upload, the upgrade included */
	const char *what;         /* "build context", for messages */
	const char *label;        /* progress line: "uploading <label>"; NULL: what */
	const char *timeout_hint; /* how to raise the deadline, e.g. "raise --upload-timeout" */
	const char *refused_hint; /* another way when exec is forbidden (403); NULL: none */
};

/* 0 once all bytes were sent and the command exited 0; -1 with a one-line
 * error naming the pod and container, why (the exec refused, the command's
 * exit code and its last line on stderr, the stream dropped, the deadline,
 * "interrupted" by the client's abort switch) and, where there is one, the
 * fix.  kclient_last_http_status() keeps the refused upgrade's status. */
int kexec_upload(struct kclient *kc, const struct kexec_upload *u);

#endif
