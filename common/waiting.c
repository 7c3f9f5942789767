/* The shared behaviour of waiting on work that goes on in the cluster: the
 * exit codes, the follow/cancel hints, Ctrl-C and timeouts, and the
 * client's long-running mode (see eidf/waiting.h). */
#include "eidf/waiting.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "eidf/cmd.h"
#include "eidf/kclient.h"
#include "eidf/settings.h"

static const char *reconnect_flag;

const struct option wait_options[] = {
	OPT_DURATION(0, "reconnect-timeout", &reconnect_flag,
		     "while waiting, ride out an API server outage this long before giving up "
		     "(exit 124; setting reconnect-timeout)", WAIT_RECONNECT_DEFAULT),
	OPT_END(),
};

long wait_reconnect_timeout_ms(void)
{
	const char *v = reconnect_flag;
	const char *what = "--reconnect-timeout";
	long ms;

	if (!v) {
		v = setting("reconnect-timeout", WAIT_RECONNECT_DEFAULT);
		what = "the setting reconnect-timeout";
	}
	ms = parse_duration_ms(v);
	if (ms < 0) {
		eidf_set_error("invalid value \"%s\" for %s: use a duration such as 5m or 30s", v, what);
		return -1;
	}
	return ms;
}

int wait_options_check(void)
{
	return reconnect_flag ? (wait_reconnect_timeout_ms() < 0 ? -1 : 0) : 0;
}

/* ---- state of the current wait ------------------------------------------------- */

static volatile sig_atomic_t stop_flag, got_signal;
static struct {
	int active;
	struct eidf_cmd *cmd;
	struct kclient *kc;
	char *stage;
	char *subject, *timeout, *follow, *logs, *cancel;
	struct sigaction old_int, old_alrm;
} w;

static void on_signal(int sig)
{
	got_signal = sig;
	stop_flag = 1;
}

int wait_begin(struct eidf_cmd *cmd, const struct wait_hints *h, long timeout_ms)
{
	struct sigaction sa;
	long reconnect_ms = wait_reconnect_timeout_ms();

	if (reconnect_ms < 0) {
		eidf_error("%s", eidf_last_error());
		return -1;
	}
	/* what was said before the wait ("job.batch/x created") reaches a pipe
	 * now, not when the wait ends */
	fflush(stdout);
	if (w.active)
		wait_end_quiet(0);
	memset(&w, 0, sizeof(w));
	w.active = 1;
	w.cmd = cmd;
	w.stage = xstrdup(cmd && cmd->stage ? cmd->stage->name : "kubectl-eidf");
	w.subject = xstrdup(h ? h->subject : NULL);
	w.timeout = xstrdup(h ? h->timeout : NULL);
	w.follow = xstrdup(h ? h->follow : NULL);
	w.logs = xstrdup(h ? h->logs : NULL);
	w.cancel = xstrdup(h ? h->cancel : NULL);

	stop_flag = got_signal = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;   /* no SA_RESTART: sleeps and polls wake up */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &w.old_int);
	sigaction(SIGALRM, &sa, &w.old_alrm);
	if (timeout_ms > 0)
		alarm((unsigned)((timeout_ms + 999) / 1000));

	w.kc = cmd ? cmd_client(cmd) : NULL;
	if (w.kc) {
		kclient_set_abort(w.kc, &stop_flag);
		kclient_set_long_running(w.kc, reconnect_ms, w.subject);
	}
	return 0;
}

int wait_stopped(void)
{
	return stop_flag != 0;
}

volatile sig_atomic_t *wait_stop_flag(void)
{
	return &stop_flag;
}

enum wait_why wait_reason(void)
{
	if (got_signal == SIGINT)
		return WAIT_INTERRUPTED;
	if (got_signal == SIGALRM)
		return WAIT_TIMEOUT;
	if (w.kc && kclient_gave_up(w.kc))
		return WAIT_NO_API;
	return WAIT_NOT_STOPPED;
}

void wait_sleep_ms(long ms)
{
	while (ms > 0 && !stop_flag) {
		long step = ms > 50 ? 50 : ms;
		usleep((useconds_t)step * 1000);
		ms -= step;
	}
}

static void hint(const char *label, const char *command)
{
	if (command && *command)
		fprintf(stderr, "  %-11s %s\n", label, command);
}

void wait_print_hints(const struct wait_hints *h)
{
	if (!h)
		return;
	hint("follow it:", h->follow);
	hint("its logs:", h->logs);
	hint("cancel it:", h->cancel);
}

static void release(void)
{
	free(w.stage);
	free(w.subject);
	free(w.timeout);
	free(w.follow);
	free(w.logs);
	free(w.cancel);
	memset(&w, 0, sizeof(w));
}

static void restore(void)
{
	if (!w.active)
		return;
	alarm(0);
	sigaction(SIGINT, &w.old_int, NULL);
	sigaction(SIGALRM, &w.old_alrm, NULL);
	if (w.kc) {
		/* the client goes on working for what comes after (e.g. --rm) */
		kclient_set_abort(w.kc, NULL);
		kclient_set_long_running(w.kc, 0, NULL);
	}
	w.active = 0;
}

int wait_end_quiet(int code)
{
	if (w.active) {
		restore();
		release();
	}
	return code;
}

int wait_end(int code)
{
	enum wait_why why;
	const char *subject;
	struct wait_hints h;

	if (!w.active)
		return code;
	why = wait_reason();
	if (why == WAIT_NOT_STOPPED && code == EIDF_EXIT_STOPPED_WAITING)
		why = WAIT_TIMEOUT;
	subject = w.subject ? w.subject : "the work";
	h = (struct wait_hints){ .subject = w.subject, .timeout = w.timeout, .follow = w.follow,
				 .logs = w.logs, .cancel = w.cancel };
	restore();
	fflush(stdout);
	switch (why) {
	case WAIT_NOT_STOPPED:
		release();
		return code;
	case WAIT_INTERRUPTED:
		fprintf(stderr, "\n%s: detached; %s keeps running.\n", w.stage, subject);
		code = EIDF_EXIT_DETACHED;
		break;
	case WAIT_TIMEOUT:
		if (h.timeout)
			fprintf(stderr, "%s: %s reached; %s goes on.\n", w.stage, h.timeout, subject);
		else
			fprintf(stderr, "%s: stopped waiting; %s goes on.\n", w.stage, subject);
		code = EIDF_EXIT_STOPPED_WAITING;
		break;
	case WAIT_NO_API:
		fprintf(stderr, "%s: stopped waiting without the API server (--reconnect-timeout); "
			"%s goes on.\n", w.stage, subject);
		code = EIDF_EXIT_STOPPED_WAITING;
		break;
	}
	wait_print_hints(&h);
	release();
	return code;
}
