/* Waiting on work that goes on in the cluster (a Job, a claim being bound):
 * one behaviour for every command that waits, follows or watches.
 *
 *   - Ctrl-C stops waiting, not the work: the command says so, prints how
 *     to follow or cancel it, and exits EIDF_EXIT_DETACHED (130).
 *   - A timeout (--timeout) does the same and exits EIDF_EXIT_STOPPED_WAITING.
 *   - The API server going away (refused, reset, timed out, 5xx, 429) is
 *     ridden out: the client reconnects with backoff for up to
 *     --reconnect-timeout (default 5m, setting "reconnect-timeout"), then the
 *     command stops waiting like a timeout (124, same hints).
 *
 *   struct wait_hints h = { .subject = "job.batch/fetch-x",
 *                           .follow = "kubectl eidf fetch wait x -n ns", ... };
 *   if (wait_begin(cmd, &h) < 0) return EIDF_EXIT_ERROR;
 *   ... loop on kclient_* until done, or until wait_stopped() ...
 *   return wait_end(code);          // 124/130 with the hints when stopped
 */
#ifndef EIDF_WAITING_H
#define EIDF_WAITING_H

#include <signal.h>
#include "eidf/options.h"

struct eidf_cmd;
struct kclient;

/* The documented exit codes of waiting. */
#define EIDF_EXIT_STOPPED_WAITING 124 /* --timeout or --reconnect-timeout: the work goes on */
#define EIDF_EXIT_DETACHED 130        /* Ctrl-C: the work goes on */

#define WAIT_RECONNECT_DEFAULT "5m"

/* --reconnect-timeout, for the option table of every command that waits. */
extern const struct option wait_options[];
/* The reconnect timeout in ms (flag, then setting, then 5m); -1 with an
 * error set when the value is not a duration. */
long wait_reconnect_timeout_ms(void);
/* Usage check at parse time: -1 with an error set when --reconnect-timeout
 * was given and is not a duration. */
int wait_options_check(void);

/* What to tell the user when waiting stops early.  Any field may be NULL. */
struct wait_hints {
	const char *subject;   /* "job.batch/fetch-x", "persistentvolumeclaim/data" */
	const char *timeout;   /* the limit as given, for the message: "--timeout 30m" */
	const char *follow;    /* command that follows it again */
	const char *logs;      /* command that shows its log */
	const char *cancel;    /* command that cancels it */
};

/* Enter the waiting phase: SIGINT (and SIGALRM after timeout_ms > 0) stop
 * every request at once (kclient_set_abort), and the client rides out API
 * outages (kclient_set_long_running).  The hints are copied. -1 with an
 * error printed when --reconnect-timeout is invalid. */
int wait_begin(struct eidf_cmd *cmd, const struct wait_hints *h, long timeout_ms);

enum wait_why {
	WAIT_NOT_STOPPED = 0,
	WAIT_INTERRUPTED,      /* Ctrl-C */
	WAIT_TIMEOUT,          /* the timeout_ms of wait_begin, or the caller's own */
	WAIT_NO_API,           /* the API server stayed away for --reconnect-timeout */
};
/* Non-zero once waiting was stopped by Ctrl-C or the timeout (requests
 * then fail at once with "interrupted"). */
int wait_stopped(void);
/* Why waiting ended early, as far as is known now. */
enum wait_why wait_reason(void);
/* The flag the signal handler raises (for loops that poll it). */
volatile sig_atomic_t *wait_stop_flag(void);
/* Sleep that Ctrl-C and the timeout cut short. */
void wait_sleep_ms(long ms);

/* Leave the waiting phase (signals restored, client back to fail-fast).
 * `code` is the exit code the command arrived at; when waiting stopped
 * early (Ctrl-C, timeout, code == EIDF_EXIT_STOPPED_WAITING, or the API
 * server gone for --reconnect-timeout) the message and the hints are
 * printed on stderr and 130 or 124 returned instead. */
int wait_end(int code);
/* The same as wait_end() without printing: signals restored, the code. */
int wait_end_quiet(int code);

/* "  follow it:  ...\n  its logs:  ...\n  cancel it:  ...\n" on stderr. */
void wait_print_hints(const struct wait_hints *h);

#endif
