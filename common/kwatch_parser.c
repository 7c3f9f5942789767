/* Incremental parser for watch streams (newline-delimited JSON events). */
#include "eidf/kwatch_parser.h"

#include <string.h>

#define KWATCH_DEFAULT_MAX_LINE ((size_t)64 << 20)

static int is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

static int handle_line(const char *line, size_t len, kwatch_event_fn fn, void *ud)
{
	cJSON *ev;
	const cJSON *type, *obj;
	int rc;

	if (is_blank(line, len))
		return 0;
	ev = cJSON_ParseWithLength(line, len);
	if (!ev) {
		eidf_set_error("malformed watch event from the server (%zu bytes of invalid JSON)", len);
		return -1;
	}
	type = cJSON_GetObjectItemCaseSensitive(ev, "type");
	obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
	if (!cJSON_IsObject(ev) || !cJSON_IsString(type) || !cJSON_IsObject(obj)) {
		cJSON_Delete(ev);
		eidf_set_error("malformed watch event from the server: expected {\"type\":...,\"object\":{...}}");
		return -1;
	}
	rc = fn(ev, ud);
	cJSON_Delete(ev);
	return rc;
}

int kwatch_parser_feed(struct kwatch_parser *p, const char *data, size_t len,
		       kwatch_event_fn fn, void *ud)
{
	size_t max = p->max_line ? p->max_line : KWATCH_DEFAULT_MAX_LINE;

	while (len) {
		/* Only the new bytes are scanned: feeding one byte at a time stays linear. */
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len;
		const char *line;
		size_t line_len;
		int rc;

		if (p->pending.len + take > max) {
			strbuf_release(&p->pending);
			eidf_set_error("watch event larger than %zu bytes", max);
			return -1;
		}
		if (!nl) {
			strbuf_add(&p->pending, data, len);
			return 0;
		}
		if (p->pending.len) {
			strbuf_add(&p->pending, data, take);
			line = p->pending.buf;
			line_len = p->pending.len;
		} else {
			line = data;
			line_len = take;
		}
		data += take + 1;
		len -= take + 1;
		rc = handle_line(line, line_len, fn, ud);
		strbuf_reset(&p->pending);
		if (rc)
			return rc;
	}
	return 0;
}

int kwatch_parser_has_partial(const struct kwatch_parser *p)
{
	return p->pending.len && !is_blank(p->pending.buf, p->pending.len);
}

void kwatch_parser_release(struct kwatch_parser *p)
{
	strbuf_release(&p->pending);
}
