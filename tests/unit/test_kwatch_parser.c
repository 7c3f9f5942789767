/* Watch-stream parser: real apiserver streams fed in every possible split. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "eidf/kwatch_parser.h"

static char *fixture_path(const char *name)
{
	const char *dir = getenv("EIDF_FIXTURES");
	return xasprintf("%s/apiserver-samples/%s", dir ? dir : "../fixtures", name);
}

static void load(const char *name, struct strbuf *sb)
{
	char *p = fixture_path(name);
	assert_int_equal(read_file(p, sb), 0);
	free(p);
}

/* Events seen, as "TYPE kind/name@rv\n" lines. */
static int record(const cJSON *ev, void *ud)
{
	struct strbuf *sb = ud;
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(md, "name");
	const cJSON *rv = cJSON_GetObjectItemCaseSensitive(md, "resourceVersion");
	strbuf_addf(sb, "%s %s/%s@%s\n",
		    cJSON_GetObjectItemCaseSensitive(ev, "type")->valuestring,
		    cJSON_IsString(kind) ? kind->valuestring : "?",
		    cJSON_IsString(name) ? name->valuestring : "?",
		    cJSON_IsString(rv) ? rv->valuestring : "?");
	return 0;
}

/* Reference: one event per line, parsed independently of the parser. */
static void expected_events(const struct strbuf *in, struct strbuf *out)
{
	const char *p = in->buf, *end = in->buf + in->len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		cJSON *ev = cJSON_ParseWithLength(p, n);
		if (n) {
			assert_non_null(ev);
			record(ev, out);
		}
		cJSON_Delete(ev);
		p += n + 1;
	}
}

static void check_every_split(const char *name)
{
	struct strbuf in = STRBUF_INIT, want = STRBUF_INIT;

	load(name, &in);
	expected_events(&in, &want);
	assert_true(want.len > 0);
	for (size_t i = 0; i <= in.len; i++) {
		struct kwatch_parser p = KWATCH_PARSER_INIT;
		struct strbuf got = STRBUF_INIT;
		assert_int_equal(kwatch_parser_feed(&p, in.buf, i, record, &got), 0);
		assert_int_equal(kwatch_parser_feed(&p, in.buf + i, in.len - i, record, &got), 0);
		assert_false(kwatch_parser_has_partial(&p));
		assert_string_equal(strbuf_str(&got), want.buf);
		strbuf_release(&got);
		kwatch_parser_release(&p);
	}
	strbuf_release(&in);
	strbuf_release(&want);
}

static void test_every_split_pods(void **state)
{
	(void)state;
	check_every_split("watch-pods.jsonl");
}

static void test_every_split_configmaps(void **state)
{
	(void)state;
	check_every_split("watch-configmaps.jsonl");
}

static void check_byte_by_byte(const char *name)
{
	struct strbuf in = STRBUF_INIT, want = STRBUF_INIT, got = STRBUF_INIT;
	struct kwatch_parser p = KWATCH_PARSER_INIT;

	load(name, &in);
	expected_events(&in, &want);
	for (size_t i = 0; i < in.len; i++) {
		assert_int_equal(kwatch_parser_feed(&p, in.buf + i, 1, record, &got), 0);
		/* mid-event the parser holds a partial line; between events it doesn't */
		if (in.buf[i] != '\n')
			assert_true(kwatch_parser_has_partial(&p));
	}
	assert_false(kwatch_parser_has_partial(&p));
	assert_string_equal(strbuf_str(&got), want.buf);
	kwatch_parser_release(&p);
	strbuf_release(&in);
	strbuf_release(&want);
	strbuf_release(&got);
}

static void test_byte_by_byte(void **state)
{
	(void)state;
	check_byte_by_byte("watch-pods.jsonl");
	check_byte_by_byte("watch-configmaps.jsonl");
}

/* Both files as one stream, cut in every pair of split points of a prefix
 * and random chunk sizes for the rest. */
static void test_random_chunks(void **state)
{
	struct strbuf a = STRBUF_INIT, want = STRBUF_INIT;
	unsigned seed = 12345;
	(void)state;

	load("watch-configmaps.jsonl", &a);
	load("watch-pods.jsonl", &a);
	expected_events(&a, &want);
	for (int round = 0; round < 300; round++) {
		struct kwatch_parser p = KWATCH_PARSER_INIT;
		struct strbuf got = STRBUF_INIT;
		size_t off = 0;
		while (off < a.len) {
			size_t n;
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 8) % (round < 150 ? 17 : 4096);
			if (n > a.len - off)
				n = a.len - off;
			assert_int_equal(kwatch_parser_feed(&p, a.buf + off, n, record, &got), 0);
			off += n;
		}
		assert_string_equal(strbuf_str(&got), want.buf);
		kwatch_parser_release(&p);
		strbuf_release(&got);
	}
	strbuf_release(&a);
	strbuf_release(&want);
}

static void test_crlf_and_blank_lines(void **state)
{
	struct kwatch_parser p = KWATCH_PARSER_INIT;
	struct strbuf got = STRBUF_INIT;
	const char *s = "\n\r\n{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":"
			"{\"name\":\"a\",\"resourceVersion\":\"1\"}}}\r\n  \n"
			"{\"type\":\"DELETED\",\"object\":{\"kind\":\"Pod\",\"metadata\":"
			"{\"name\":\"a\",\"resourceVersion\":\"2\"}}}\n";
	(void)state;
	assert_int_equal(kwatch_parser_feed(&p, s, strlen(s), record, &got), 0);
	assert_string_equal(got.buf, "ADDED Pod/a@1\nDELETED Pod/a@2\n");
	kwatch_parser_release(&p);
	strbuf_release(&got);
}

static void test_partial_is_reported(void **state)
{
	struct kwatch_parser p = KWATCH_PARSER_INIT;
	struct strbuf in = STRBUF_INIT, got = STRBUF_INIT;
	(void)state;

	load("watch-configmaps.jsonl", &in);
	/* cut in the middle of the second event, as a dropped stream would */
	const char *second = memchr(in.buf, '\n', in.len) + 1;
	size_t cut = (size_t)(second - in.buf) + 100;
	assert_int_equal(kwatch_parser_feed(&p, in.buf, cut, record, &got), 0);
	assert_true(kwatch_parser_has_partial(&p));
	assert_int_equal(strchr(got.buf, '\n') - got.buf + 1, (long)got.len); /* one event */
	kwatch_parser_release(&p);
	assert_false(kwatch_parser_has_partial(&p));
	strbuf_release(&in);
	strbuf_release(&got);
}

static int stop_at_second(const cJSON *ev, void *ud)
{
	int *n = ud;
	(void)ev;
	return ++*n == 2 ? 7 : 0;
}

static void test_callback_stops(void **state)
{
	struct kwatch_parser p = KWATCH_PARSER_INIT;
	struct strbuf in = STRBUF_INIT;
	int n = 0;
	(void)state;

	load("watch-configmaps.jsonl", &in);
	assert_int_equal(kwatch_parser_feed(&p, in.buf, in.len, stop_at_second, &n), 7);
	assert_int_equal(n, 2);
	kwatch_parser_release(&p);
	strbuf_release(&in);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"{\"type\":\"ADDED\",\"object\":{}\n",       /* truncated JSON */
		"not json\n",
		"[1,2]\n",
		"{\"type\":1,\"object\":{}}\n",
		"{\"type\":\"ADDED\"}\n",
		"{\"type\":\"ADDED\",\"object\":\"x\"}\n",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct kwatch_parser p = KWATCH_PARSER_INIT;
		struct strbuf got = STRBUF_INIT;
		assert_int_equal(kwatch_parser_feed(&p, bad[i], strlen(bad[i]), record, &got), -1);
		assert_non_null(strstr(eidf_last_error(), "watch event"));
		assert_int_equal(got.len, 0);
		kwatch_parser_release(&p);
		strbuf_release(&got);
	}
}

static void test_overlong_line(void **state)
{
	struct kwatch_parser p = KWATCH_PARSER_INIT;
	struct strbuf got = STRBUF_INIT;
	char chunk[64];
	int rc = 0;
	(void)state;

	p.max_line = 1000;
	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 100 && rc == 0; i++)
		rc = kwatch_parser_feed(&p, chunk, sizeof(chunk), record, &got);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(eidf_last_error(), "larger than 1000 bytes"));
	assert_true(p.pending.len <= 1000);
	kwatch_parser_release(&p);
	strbuf_release(&got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_split_pods),
		cmocka_unit_test(test_every_split_configmaps),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_random_chunks),
		cmocka_unit_test(test_crlf_and_blank_lines),
		cmocka_unit_test(test_partial_is_reported),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_overlong_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
