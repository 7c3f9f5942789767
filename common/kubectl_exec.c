/* `kubectl exec -i` as an upload channel; see eidf/kubectl_exec.h.  kubectl
 * (not our API client) speaks the exec protocols, so the stream goes
 * through it, with the generic flags this command was given. */
#include "eidf/kubectl_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eidf/cmd.h"
#include "eidf/humanize.h"
#include "eidf/output.h"
#include "eidf/util.h"

/* Keep the tail of kubectl's output for the error message. */
static void keep_tail(struct strbuf *sb, const char *d, size_t n)
{
	strbuf_add(sb, d, n);
	if (sb->len > 8192) {
		size_t cut = sb->len - 4096;
		memmove(sb->buf, sb->buf + cut, sb->len - cut);
		sb->len -= cut;
		sb->buf[sb->len] = '\0';
	}
}

static char *last_line(const struct strbuf *sb)
{
	size_t e = sb->len;
	while (e && (sb->buf[e - 1] == '\n' || sb->buf[e - 1] == '\r' || sb->buf[e - 1] == ' '))
		e--;
	size_t b = e;
	while (b && sb->buf[b - 1] != '\n')
		b--;
	return e > b ? xstrndup(sb->buf + b, e - b) : xstrdup("no output");
}

int kubectl_exec_upload(const struct kubectl_upload *u)
{
	const char *pod = u->pod;
	int fd = u->fd;
	uint64_t size = u->size;
	int64_t deadline = u->deadline_ms;
	const char *kubectl = getenv("EIDF_KUBECTL") && *getenv("EIDF_KUBECTL") ? getenv("EIDF_KUBECTL") : "kubectl";
	struct strvec v = STRVEC_INIT;
	strvec_push(&v, kubectl);
	cmd_kubectl_flags(&v, u->ns);
	strvec_push(&v, "exec");
	strvec_push(&v, "-i");
	strvec_push(&v, pod);
	strvec_push(&v, "-c");
	strvec_push(&v, u->container);
	strvec_push(&v, "--");
	strvec_push(&v, "sh");
	strvec_push(&v, "-c");
	strvec_push(&v, u->command);

	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		eidf_set_error("uploading %s to pod %s: pipe: %s", u->what, pod, strerror(errno));
		strvec_clear(&v);
		return -1;
	}
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
	sigaction(SIGPIPE, &ign, &old_pipe);
	pid_t pid = fork();
	if (pid == 0) {
		sigaction(SIGPIPE, &old_pipe, NULL);
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		execvp(kubectl, v.v);
		fprintf(stderr, "cannot run %s: %s\n", kubectl, strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	strvec_clear(&v);
	if (pid < 0) {
		eidf_set_error("uploading %s to pod %s: fork: %s", u->what, pod, strerror(errno));
		close(in[1]);
		close(out[0]);
		sigaction(SIGPIPE, &old_pipe, NULL);
		return -1;
	}
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	lseek(fd, 0, SEEK_SET);

	char *label = xasprintf("uploading %s", u->label ? u->label : u->what);
	struct progress *pg = progress_new(stderr, label, size);
	struct strbuf tail = STRBUF_INIT;
	char buf[65536];
	size_t have = 0, off = 0;
	uint64_t sent = 0;
	int eof = 0, wfd = in[1], rfd = out[0], timed_out = 0, write_err = 0;
	while (rfd >= 0) {
		if (!eof && have == off) {
			ssize_t n = read(fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				eof = 1;
				close(wfd);
				wfd = -1;
			} else {
				have = (size_t)n;
				off = 0;
			}
		}
		struct pollfd p[2] = { { rfd, POLLIN, 0 }, { wfd, POLLOUT, 0 } };
		int np = wfd >= 0 ? 2 : 1;
		if (monotonic_ms() > deadline) {
			timed_out = 1;
			break;
		}
		if (poll(p, (nfds_t)np, 200) < 0 && errno != EINTR)
			break;
		if (p[0].revents) {
			char ob[4096];
			ssize_t n = read(rfd, ob, sizeof(ob));
			if (n > 0) {
				keep_tail(&tail, ob, (size_t)n);
			} else if (n == 0 || errno != EINTR) {
				close(rfd);
				rfd = -1;
			}
		}
		if (np == 2 && p[1].revents) {
			ssize_t w = write(wfd, buf + off, have - off);
			if (w > 0) {
				off += (size_t)w;
				sent += (uint64_t)w;
				progress_update(pg, sent, NULL);
			} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				write_err = 1; /* kubectl went away; its output says why */
				close(wfd);
				wfd = -1;
				eof = 1;
			}
		}
	}
	if (wfd >= 0)
		close(wfd);
	if (rfd >= 0)
		close(rfd);
	int status = 0;
	if (timed_out) {
		kill(pid, SIGTERM);
		for (int i = 0; i < 20 && waitpid(pid, &status, WNOHANG) == 0; i++)
			sleep_ms(100);
		if (waitpid(pid, &status, WNOHANG) == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
	} else {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	sigaction(SIGPIPE, &old_pipe, NULL);
	int ok = !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0 && sent == size;
	char *done = human_bytes(sent);
	progress_done(pg, ok ? NULL : "failed"); /* plain output says ", done" itself */
	int ret = 0;
	if (timed_out) {
		char *total = human_bytes(size);
		eidf_set_error("uploading %s to pod %s (container %s): timed out after sending %s of %s; %s",
			       u->what, pod, u->container, done, total, u->timeout_hint);
		free(total);
		ret = -1;
	} else if (!ok) {
		char *why = last_line(&tail);
		if (WIFEXITED(status))
			eidf_set_error("uploading %s to pod %s (container %s): kubectl exec failed (exit "
				       "code %d%s): %s", u->what, pod, u->container, WEXITSTATUS(status),
				       write_err ? ", stdin closed early" : "", why);
		else
			eidf_set_error("uploading %s to pod %s (container %s): kubectl exec killed by signal "
				       "%d: %s", u->what, pod, u->container, WTERMSIG(status), why);
		free(why);
		ret = -1;
	}
	free(done);
	free(label);
	strbuf_release(&tail);
	return ret;
}
