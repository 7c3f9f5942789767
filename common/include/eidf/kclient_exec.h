/* pods/exec through the API client itself: one WebSocket (v5.channel.k8s.io,
 * as kubectl 1.30+; v4 accepted) on one new TLS connection, with the
 * kubeconfig's credentials, proxy and TLS settings of every other request. */
#ifndef EIDF_KCLIENT_EXEC_H
#define EIDF_KCLIENT_EXEC_H

#include <stddef.h>

#include "eidf/kclient.h"

struct kexec_opts {
	const char *ns, *pod, *container;
	const char *const *argv;     /* the command in the container, exactly */
	size_t argc;
	int stdin_fd;                /* read until EOF and sent; -1: no stdin */
	int stdout_fd, stderr_fd;    /* what the command writes; -1: not asked for */
};

/* Run it to the end: 0 with *exit_code the command's exit code (from the
 * final Status), or -1 with a kubectl-like error (the upgrade's HTTP status
 * in kclient_last_http_status(): 404 no such pod, 400 container not running;
 * 0 when no answer came; a failure to start the command in the container is
 * -1 too, with the runtime's message).  The abort switch ends it. */
int kclient_exec(struct kclient *kc, const struct kexec_opts *o, int *exit_code);

#endif
