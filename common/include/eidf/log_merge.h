/* Several pods' logs as one stream in time order, each line prefixed with
 * its pod's index ("[2] "): how `fetch logs -f` shows the pods of an Indexed
 * Job and devrun --nodes shows its ranks.
 *
 * The API client keeps one connection per process, and an HTTP/1.1
 * connection carries one follow stream at a time, so instead of N streams
 * on N connections the logs are polled: each poll reads a source's log
 * with timestamps=true&sinceTime=<its last line's second>, skips the lines
 * already printed by their timestamp (counting lines that share one), and
 * the new lines of all sources are printed in timestamp order.  No line is
 * lost or printed twice; the cost is up to one poll interval of latency and
 * one request per source per poll. */
#ifndef EIDF_LOG_MERGE_H
#define EIDF_LOG_MERGE_H

#include <stddef.h>
#include <stdio.h>

struct kclient;

struct log_merge_src {
	char *pod;
	char *container;
	long index;           /* printed as "[index] " */
	char last[32];        /* sortable key of the last printed line, "" = none */
	long at_last;         /* lines printed with exactly that timestamp */
	int done;             /* read after its container ended: nothing more comes */
};

struct log_merge_line {
	char key[32];
	long index;
	size_t seq;
	char *text;           /* with its newline; without the timestamp unless keep_timestamps */
};

struct log_merge {
	struct log_merge_src *src;
	size_t n;
	struct log_merge_line *lines;   /* read, not yet printed */
	size_t nl, al;
	size_t seq;
	int keep_timestamps;  /* lines keep the kubelet's "TIMESTAMP " (logs --timestamps) */
};

void log_merge_init(struct log_merge *m);
void log_merge_release(struct log_merge *m);
/* The source for a pod's container, added on first use. */
struct log_merge_src *log_merge_source(struct log_merge *m, const char *pod, const char *container,
				       long index);
/* Read the source's new lines (tail_lines on its first read, -1: all).
 * final: the container has ended, so this read is its last (src->done).
 * -1 with eidf_last_error() when the request failed. */
int log_merge_poll(struct log_merge *m, struct kclient *kc, const char *ns, struct log_merge_src *s,
		   long tail_lines, int final);
/* Print the lines read so far in time order, "[index] text", and forget them. */
void log_merge_print(struct log_merge *m, FILE *out);
/* "2024-05-01T10:00:00.12Z" -> "2024-05-01T10:00:00.120000000" (sortable). */
int log_merge_ts_key(const char *ts, size_t len, char key[32]);

#endif
