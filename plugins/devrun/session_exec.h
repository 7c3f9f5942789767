/* `kubectl exec` into a devrun session pod, as a child process devrun keeps
 * control of: in its own process group (a Ctrl-C on the terminal reaches
 * devrun only, which then stops the command in the pod itself, instead of
 * kubectl dropping the stream while the command goes on there), stdin from a
 * file, stdout/stderr passed through live or captured. */
#ifndef EIDF_DEVRUN_SESSION_EXEC_H
#define EIDF_DEVRUN_SESSION_EXEC_H

#include <signal.h>
#include <sys/types.h>
#include "eidf/util.h"

struct kexec_spec {
	const char *ns, *pod, *container;
	const struct strvec *argv;   /* the command in the container */
	int stdin_fd;                /* -1: no stdin (no -i) */
	int stdout_fd, stderr_fd;    /* -1: inherit */
};

/* Start it; the pid, or -1 with eidf_last_error(). */
pid_t kexec_start(const struct kexec_spec *s);

/* Wait for pid; returns its exit code (128+N for signal N).  While waiting,
 * *interrupt (may be NULL) changing makes it return -2 early, leaving the
 * child running. */
int kexec_wait(pid_t pid, volatile sig_atomic_t *interrupt);

/* Its exit code when it has ended, else -1 (does not block). */
int kexec_poll(pid_t pid);

/* Run to the end with stdout captured (stderr too, when err is non-NULL);
 * the exit code, or -1 when kubectl could not be started. */
int kexec_capture(const struct kexec_spec *s, struct strbuf *out, struct strbuf *err);

/* SIGINT counter for commands that follow a run (installed without
 * SA_RESTART so that waits return). */
extern volatile sig_atomic_t session_sigint;
void session_sigint_install(void);

#endif
