#include "session_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eidf/cmd.h"
#include "eidf/kclient_exec.h"

volatile sig_atomic_t session_sigint;

static void on_sigint(int sig)
{
	(void)sig;
	session_sigint++;
}

void session_sigint_install(void)
{
	struct sigaction sa = { .sa_handler = on_sigint };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
}

static void say_open(void *ud)
{
	dprintf(*(const int *)ud, "open\n");
}

static void say_output(void *ud)
{
	dprintf(*(const int *)ud, "output\n");
}

/* The child: the exec itself, through the API client (one WebSocket on a
 * connection of its own; the parent's pooled connection is never touched),
 * its exit code the command's.  What happened goes to status_fd too. */
static void exec_child(const struct kexec_spec *s)
{
	int code = -1;
	struct kexec_opts o = { .ns = s->ns, .pod = s->pod, .container = s->container,
				.argv = (const char *const *)s->argv->v, .argc = s->argv->n, .script = s->script,
				.stdin_fd = s->stdin_fd >= 0 ? 0 : -1, .stdout_fd = 1, .stderr_fd = 2,
				.on_open = s->status_fd >= 0 ? say_open : NULL,
				.on_output = s->status_fd >= 0 ? say_output : NULL, .ud = (void *)&s->status_fd };
	/* a closed stdout ends the stream (write fails) instead of killing us
	 * in the middle of a TLS record */
	signal(SIGPIPE, SIG_IGN);
	if (s->writer_fd >= 0)
		close(s->writer_fd);
	if (s->stdin_fd >= 0 && s->stdin_fd != 0) {
		lseek(s->stdin_fd, 0, SEEK_SET);
		dup2(s->stdin_fd, 0);
	} else if (s->stdin_fd == 0) {
		lseek(0, 0, SEEK_SET); /* a pipe: ESPIPE, nothing to do */
	}
	if (s->stdout_fd >= 0)
		dup2(s->stdout_fd, 1);
	if (s->stderr_fd >= 0)
		dup2(s->stderr_fd, 2);
	int rc = kclient_exec(s->kc, &o, &code);
	long http = kclient_last_http_status(s->kc);
	if (rc < 0) {
		if (s->status_fd >= 0)
			dprintf(s->status_fd, "error %ld\n", http);
		if (!(s->quiet_missing && (http == 404 || http == 400)))
			fprintf(stderr, "error: %s\n", eidf_last_error());
		_exit(1);
	}
	if (s->status_fd >= 0)
		dprintf(s->status_fd, "exit %d\n", code);
	_exit(code);
}

pid_t kexec_start(const struct kexec_spec *s)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		sigaction(SIGINT, &dfl, NULL);
		exec_child(s);
	}
	if (pid < 0)
		eidf_set_error("cannot start the exec into pod %s: %s", s->pod, strerror(errno));
	else
		setpgid(pid, pid); /* also here: no window in which a Ctrl-C reaches it */
	return pid;
}

static int status_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

int kexec_wait(pid_t pid, volatile sig_atomic_t *interrupt)
{
	sig_atomic_t seen = interrupt ? *interrupt : 0;
	for (;;) {
		int st;
		pid_t r = waitpid(pid, &st, 0);
		if (r == pid)
			return status_code(st);
		if (r < 0 && errno != EINTR)
			return 1;
		if (interrupt && *interrupt != seen)
			return -2;
	}
}

int kexec_poll(pid_t pid)
{
	int st;
	pid_t r = waitpid(pid, &st, WNOHANG);
	return r == pid ? status_code(st) : -1;
}

int kexec_capture(const struct kexec_spec *s0, struct strbuf *out, struct strbuf *err)
{
	int po[2], pe[2] = { -1, -1 };
	if (pipe2(po, O_CLOEXEC) < 0 || (err && pipe2(pe, O_CLOEXEC) < 0)) {
		eidf_set_error("pipe: %s", strerror(errno));
		return -1;
	}
	int devnull = err ? -1 : open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct kexec_spec s = *s0;
	s.stdout_fd = po[1];
	s.stderr_fd = err ? pe[1] : devnull;
	pid_t pid = kexec_start(&s);
	close(po[1]);
	if (pe[1] >= 0)
		close(pe[1]);
	if (devnull >= 0)
		close(devnull);
	if (pid < 0) {
		close(po[0]);
		if (pe[0] >= 0)
			close(pe[0]);
		return -1;
	}
	struct pollfd p[2] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 } };
	int open_fds = err ? 2 : 1;
	while (open_fds > 0) {
		if (poll(p, err ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < (err ? 2 : 1); i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			char buf[4096];
			ssize_t n = read(p[i].fd, buf, sizeof(buf));
			if (n > 0) {
				strbuf_add(i ? err : out, buf, (size_t)n);
			} else if (n == 0 || errno != EINTR) {
				close(p[i].fd);
				p[i].fd = -1;
				open_fds--;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	return kexec_wait(pid, NULL);
}
