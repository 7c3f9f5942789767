/* Waiting between attempts to reach a server that is away: capped
 * exponential backoff with jitter, and the server's own Retry-After. */
#ifndef EIDF_BACKOFF_H
#define EIDF_BACKOFF_H

#include <time.h>

struct backoff {
	long first_ms;      /* first step */
	long max_ms;        /* the step never grows past this */
	long step_ms;       /* current step (0: not started) */
	unsigned int seed;  /* jitter state (rand_r) */
};

/* seed 0 picks one from the clock and pid, so that many clients that lost
 * the same server do not come back in step. */
void backoff_init(struct backoff *b, long first_ms, long max_ms, unsigned int seed);
/* The next wait: a random point in the upper half of the current step
 * ("equal jitter": never less than half, so the cap still paces us); the
 * step then doubles up to max_ms. */
long backoff_next(struct backoff *b);
/* A success: the next outage starts again from first_ms. */
void backoff_reset(struct backoff *b);

/* A Retry-After header value, delta-seconds ("120") or HTTP-date
 * ("Wed, 21 Oct 2015 07:28:00 GMT"), as seconds from `now` (0 for a date
 * in the past); -1 when it is neither. */
long retry_after_seconds(const char *value, time_t now);

#endif
