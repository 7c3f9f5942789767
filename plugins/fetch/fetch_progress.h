/* The fetch Job's machine-readable log lines, as printed by fetch-job.sh:
 *   eidf-fetch progress files=D/T bytes=B total=T rate=R fbytes=B ftotal=T file=NAME
 *   eidf-fetch error code=C file=NAME reason=TEXT
 *   eidf-fetch done files=D/T bytes=B
 *   eidf-fetch failed files=D/T failed=F
 *   eidf-fetch partial bytes=B file=NAME   (a .part left on the volume)
 *   eidf-fetch purged bytes=B file=NAME    (a .part removed by --purge-partial)
 * parsed into the numbers `fetch status` shows.  Unknown keys are skipped
 * (older and newer scripts both parse); file= and reason= end the line. */
#ifndef EIDF_FETCH_PROGRESS_H
#define EIDF_FETCH_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

/* One failed file, from an error line.  code is the script's exit code
 * class for it (FETCH_EXIT_*), http the last HTTP status, curl curl's exit
 * code; each -1 when the line had none. */
struct fetch_error {
	char *file;
	char *reason;             /* "HTTP 404", "sha256 mismatch", ... */
	long code, http, curl;
};
/* What went wrong with one file, decided from its fields, not its reason
 * text: "HTTP 500", "sha256 mismatch", "connection refused"... */
char *fetch_error_cause(const struct fetch_error *e);
/* The causes of a set of failed files, most frequent first:
 * "HTTP 500 (3 files), sha256 mismatch (1 file)"; NULL when n == 0. */
char *fetch_errors_summary(const struct fetch_error *e, size_t n);

/* A .part file left (or removed) on the volume. */
struct fetch_part {
	char *file;
	uint64_t bytes;
};

struct fetch_progress {
	int seen;                 /* at least one progress/done line */
	long files_done, files_total;
	uint64_t bytes, total, rate;
	uint64_t fbytes, ftotal;  /* the current file: bytes so far, size (0 unknown) */
	double partial;           /* sum of the current files' fractions (0..1 each) */
	char *file;               /* file in progress, or NULL */
	int done, failed;         /* final lines seen */
	char *error;              /* "NAME: reason" of the last error line, or NULL */
	struct fetch_error *errors; /* every failed file, in log order (one per file) */
	size_t nerrors;
	struct fetch_part *parts;  /* partial (or purged) lines */
	size_t nparts;
	uint64_t parts_bytes;
};

/* Feed one line (without the newline); returns 1 if it was one of ours. */
int fetch_progress_line(struct fetch_progress *p, const char *line, size_t len);
/* Feed a chunk of log text; the latest lines win. */
void fetch_progress_scan(struct fetch_progress *p, const char *text, size_t len);
/* Add one pod's figures to a sum over pods (files/bytes/rate add up). */
void fetch_progress_add(struct fetch_progress *sum, const struct fetch_progress *pod);
/* Fraction done, 0..1, for a progress bar: finished files plus the part of
 * the current ones, over files_total (the Job's file count when known). */
double fetch_progress_fraction(const struct fetch_progress *p, long files_total);
/* Seconds to go at the current rate, or -1 when unknown. */
long fetch_progress_eta(const struct fetch_progress *p);
void fetch_progress_release(struct fetch_progress *p);

#endif
