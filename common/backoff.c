/* Capped exponential backoff with jitter, and Retry-After parsing.  Kept
 * apart from the client so the arithmetic can be unit-tested. */
#include "eidf/backoff.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "eidf/util.h"

void backoff_init(struct backoff *b, long first_ms, long max_ms, unsigned int seed)
{
	b->first_ms = first_ms > 0 ? first_ms : 1;
	b->max_ms = max_ms >= b->first_ms ? max_ms : b->first_ms;
	b->step_ms = 0;
	b->seed = seed ? seed : (unsigned int)monotonic_ms() ^ ((unsigned int)getpid() << 16);
}

long backoff_next(struct backoff *b)
{
	long step = b->step_ms ? b->step_ms : b->first_ms;
	long half = step / 2;
	long wait = half + (half > 0 ? (long)(rand_r(&b->seed) % (half + 1)) : 0);

	if (step < b->max_ms)
		b->step_ms = step > b->max_ms / 2 ? b->max_ms : step * 2;
	else
		b->step_ms = b->max_ms;
	return wait > 0 ? wait : step;
}

void backoff_reset(struct backoff *b)
{
	b->step_ms = 0;
}

long retry_after_seconds(const char *value, time_t now)
{
	const char *v = value;
	char *end;
	long s;
	time_t t;

	if (!v)
		return -1;
	while (*v == ' ' || *v == '\t')
		v++;
	if (isdigit((unsigned char)*v)) {
		s = strtol(v, &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
			end++;
		return *end || s < 0 ? -1 : s;
	}
	t = curl_getdate(v, NULL);
	if (t <= 0)
		return -1;
	return t > now ? (long)(t - now) : 0;
}
