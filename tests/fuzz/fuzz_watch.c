/* The watch-stream parser fed in arbitrary chunks.  Header byte 0: bits 0-2
 * pick max_line (default or small), bits 3-6 stop after that many events
 * (0: never).  Bytes 1-4 seed the chunk sizes.  The rest is the stream.
 * Invariant: feeding the stream whole and feeding it in chunks deliver the
 * same events and end in the same state (ok / stop / error, partial or not). */
#include "fuzz.h"

#include <string.h>

#include "eidf/kwatch_parser.h"
#include "eidf/util.h"

struct sink {
	struct strbuf events;
	int count;
	int stop_after;
};

static int on_event(const cJSON *event, void *ud)
{
	struct sink *s = ud;
	char *text = cJSON_PrintUnformatted(event);

	FUZZ_CHECK(cJSON_IsObject(event), "event is not an object");
	FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(event, "type")), "no type");
	FUZZ_CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(event, "object")), "no object");
	if (text) {
		strbuf_addstr(&s->events, text);
		strbuf_addch(&s->events, '\n');
		cJSON_free(text);
	}
	s->count++;
	return s->stop_after && s->count >= s->stop_after ? 7 : 0;
}

struct outcome {
	int rc;
	int partial;
};

static struct outcome run(const char *data, size_t len, size_t max_line, uint32_t seed,
			  int chunked, struct sink *s)
{
	struct kwatch_parser p = KWATCH_PARSER_INIT;
	struct outcome o = { 0, 0 };

	p.max_line = max_line;
	if (!chunked) {
		o.rc = kwatch_parser_feed(&p, data, len, on_event, s);
	} else {
		size_t off = 0;
		while (off < len && o.rc == 0) {
			size_t n;
			seed = seed * 1103515245u + 12345u;
			/* mostly tiny chunks, sometimes empty, sometimes large */
			switch ((seed >> 16) & 7) {
			case 0: n = 0; break;
			case 1: case 2: case 3: n = 1 + ((seed >> 20) & 3); break;
			case 4: case 5: n = 1 + ((seed >> 20) & 63); break;
			default: n = 1 + ((seed >> 20) & 1023); break;
			}
			if (n > len - off)
				n = len - off;
			o.rc = kwatch_parser_feed(&p, data + off, n, on_event, s);
			off += n;
		}
	}
	if (o.rc == 0)
		o.partial = kwatch_parser_has_partial(&p);
	kwatch_parser_release(&p);
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t max_lines[] = { 0, 16, 64, 100, 256, 1000, 4096, 1 };
	struct sink whole = { STRBUF_INIT, 0, 0 }, chunks = { STRBUF_INIT, 0, 0 };
	struct outcome a, b;
	size_t max_line;
	uint32_t seed;

	if (size < 5 || size > 1024 * 1024)
		return 0;
	max_line = max_lines[data[0] & 7];
	whole.stop_after = chunks.stop_after = (data[0] >> 3) & 15;
	seed = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
	       (uint32_t)data[4] << 24;
	data += 5;
	size -= 5;

	a = run((const char *)data, size, max_line, seed, 0, &whole);
	b = run((const char *)data, size, max_line, seed, 1, &chunks);
	FUZZ_CHECK(a.rc == b.rc, "whole rc %d, chunked rc %d", a.rc, b.rc);
	FUZZ_CHECK(a.partial == b.partial, "partial %d vs %d", a.partial, b.partial);
	FUZZ_CHECK(whole.count == chunks.count, "%d events whole, %d chunked",
		   whole.count, chunks.count);
	FUZZ_CHECK(whole.events.len == chunks.events.len &&
		   (!whole.events.len || !memcmp(whole.events.buf, chunks.events.buf, whole.events.len)),
		   "different events");
	strbuf_release(&whole.events);
	strbuf_release(&chunks.events);
	return 0;
}
