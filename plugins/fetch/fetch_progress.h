/* The fetch Job's machine-readable log lines, as printed by fetch-job.sh:
 *   eidf-fetch progress files=D/T bytes=B total=T rate=R file=NAME
 *   eidf-fetch error file=NAME reason=TEXT
 *   eidf-fetch done files=D/T bytes=B
 *   eidf-fetch failed files=D/T
 * parsed into the numbers `fetch status` shows. */
#ifndef EIDF_FETCH_PROGRESS_H
#define EIDF_FETCH_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

struct fetch_progress {
	int seen;                 /* at least one progress/done line */
	long files_done, files_total;
	uint64_t bytes, total, rate;
	char *file;               /* file in progress, or NULL */
	int done, failed;         /* final lines seen */
	char *error;              /* "NAME: reason" of the last error line, or NULL */
};

/* Feed one line (without the newline); returns 1 if it was one of ours. */
int fetch_progress_line(struct fetch_progress *p, const char *line, size_t len);
/* Feed a chunk of log text; the latest lines win. */
void fetch_progress_scan(struct fetch_progress *p, const char *text, size_t len);
/* Add one pod's figures to a sum over pods (files/bytes/rate add up). */
void fetch_progress_add(struct fetch_progress *sum, const struct fetch_progress *pod);
/* Seconds to go at the current rate, or -1 when unknown. */
long fetch_progress_eta(const struct fetch_progress *p);
void fetch_progress_release(struct fetch_progress *p);

#endif
