/* An exec into a devrun session pod (kclient_exec: one WebSocket through the
 * API client, no kubectl), in a child process devrun keeps control of: in
 * its own process group (a Ctrl-C on the terminal reaches devrun only, which
 * then stops the command in the pod itself, instead of the stream dropping
 * while the command goes on there), stdin from a file or a pipe, stdout/stderr passed
 * through live or captured.  Its exit code is the command's; 1 when the exec
 * itself failed (the message on its stderr, "error: ..."). */
#ifndef EIDF_DEVRUN_SESSION_EXEC_H
#define EIDF_DEVRUN_SESSION_EXEC_H

#include <signal.h>
#include <sys/types.h>
#include "eidf/util.h"

struct kclient;

struct kexec_spec {
	struct kclient *kc;          /* the child opens a connection of its own with it */
	const char *ns, *pod, *container;
	const struct strvec *argv;   /* the command in the container; with script, its $0 and arguments */
	const char *script;          /* NULL, or a shell script sent on stdin (kexec_opts.script) */
	int stdin_fd;                /* -1: no stdin (no -i); a file (read from its start) or a pipe */
	int writer_fd;               /* -1, or the parent's end of a stdin pipe: closed in the child
				      * (else its stdin never ends) */
	int stdout_fd, stderr_fd;    /* -1: inherit */
	int status_fd;               /* -1, or gets "open" once the exec is upgraded (the command is
				      * starting), "output" once its first output was passed on,
				      * then one line: "exit N" (the command's code) or
				      * "error HTTP" (the exec failed; HTTP: the upgrade's status, 0 none) */
	int quiet_missing;           /* no message when the pod or container is not there (404/400) */
};

/* Start it; the pid, or -1 with eidf_last_error().  The spec's strings are
 * copied by the fork. */
pid_t kexec_start(const struct kexec_spec *s);

/* Wait for pid; returns its exit code (128+N for signal N).  While waiting,
 * *interrupt (may be NULL) changing makes it return -2 early, leaving the
 * child running. */
int kexec_wait(pid_t pid, volatile sig_atomic_t *interrupt);

/* Its exit code when it has ended, else -1 (does not block). */
int kexec_poll(pid_t pid);

/* Run to the end with stdout captured (stderr too, when err is non-NULL);
 * the exit code, or -1 when the child could not be started. */
int kexec_capture(const struct kexec_spec *s, struct strbuf *out, struct strbuf *err);

/* SIGINT counter for commands that follow a run (installed without
 * SA_RESTART so that waits return). */
extern volatile sig_atomic_t session_sigint;
void session_sigint_install(void);

#endif
