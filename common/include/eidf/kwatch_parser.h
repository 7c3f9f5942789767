/* Incremental parser for watch streams: newline-delimited JSON events that
 * arrive in arbitrary chunks.  Separate from the HTTP client so that it can
 * be unit-tested and fuzzed on its own. */
#ifndef EIDF_KWATCH_PARSER_H
#define EIDF_KWATCH_PARSER_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "eidf/util.h"

struct kwatch_parser {
	struct strbuf pending;         /* bytes of an incomplete line */
	size_t max_line;               /* 0: default (64 MiB) */
};
#define KWATCH_PARSER_INIT { STRBUF_INIT, 0 }

/* Called per complete event; event is {"type":..,"object":..} and owned by
 * the parser (valid during the call).  Return 0 to continue, non-zero to stop
 * (kwatch_parser_feed then returns that value). */
typedef int (*kwatch_event_fn)(const cJSON *event, void *ud);

/* Feed bytes; returns 0, the callback's non-zero value, or -1 on a malformed
 * event or an over-long line (eidf_last_error set). */
int kwatch_parser_feed(struct kwatch_parser *p, const char *data, size_t len,
		       kwatch_event_fn fn, void *ud);
/* True if a partial event is buffered (the stream was cut mid-event). */
int kwatch_parser_has_partial(const struct kwatch_parser *p);
void kwatch_parser_release(struct kwatch_parser *p);

#endif
