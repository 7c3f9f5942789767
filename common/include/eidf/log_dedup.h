/* Log lines with "TIMESTAMP " prefixes (a log read with timestamps=true) ->
 * output with or without them, skipping what an earlier connection already
 * delivered: a followed log that is cut and resumed with sinceTime shows
 * each line once and loses none.  Used by the client's long-running mode
 * (kclient_logs) and by devrun, which follows several containers. */
#ifndef EIDF_LOG_DEDUP_H
#define EIDF_LOG_DEDUP_H

#include <stdint.h>
#include <stdio.h>
#include "eidf/util.h"

/* Receives output bytes; non-zero stops (log_dedup_stopped() turns true). */
typedef int (*log_emit_fn)(const char *data, size_t len, void *ud);

struct log_dedup {
	struct strbuf partial;   /* incomplete last line */
	int64_t last_sec;        /* timestamp of the last delivered line */
	long last_nsec;
	long n_at_last;          /* lines delivered with exactly that timestamp */
	long seen_at_last;       /* this connection: lines seen with that timestamp */
	int keep_timestamps;
	FILE *out;               /* output: this file, or emit */
	log_emit_fn emit;
	void *emit_ud;
	int stopped;             /* emit asked to stop */
	char *last_ts;           /* text of the last timestamp */
	struct strbuf line;      /* scratch for emit */
};
void log_dedup_init(struct log_dedup *d, FILE *out, int keep_timestamps);
/* The same, delivering to a callback instead of a file. */
void log_dedup_init_emit(struct log_dedup *d, log_emit_fn emit, void *ud, int keep_timestamps);
/* A new connection starts (after a drop): lines at or before the last
 * delivered one are skipped. */
void log_dedup_reconnect(struct log_dedup *d);
void log_dedup_feed(struct log_dedup *d, const char *data, size_t len);
/* End of the log for good: deliver an unterminated last line. */
void log_dedup_flush(struct log_dedup *d);
/* sinceTime for the next connection (whole seconds, RFC 3339), or NULL. */
char *log_dedup_since(const struct log_dedup *d);
void log_dedup_release(struct log_dedup *d);

#endif
