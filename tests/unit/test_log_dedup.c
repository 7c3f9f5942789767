/* A followed log cut and resumed with sinceTime: each line once, none lost,
 * decided by the kubelet's timestamps (never by the text, which may repeat). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "eidf/log_dedup.h"

static int collect(const char *data, size_t len, void *ud)
{
	strbuf_add(ud, data, len);
	return 0;
}

static void feed(struct log_dedup *d, const char *s)
{
	/* in two pieces, so that lines are split across reads */
	size_t n = strlen(s), half = n / 2;
	log_dedup_feed(d, s, half);
	log_dedup_feed(d, s + half, n - half);
}

static void test_resume_skips_what_was_shown(void **state)
{
	struct strbuf out = STRBUF_INIT;
	struct log_dedup d;
	char *since;
	(void)state;
	log_dedup_init_emit(&d, collect, &out, 0);
	/* first connection: three lines (two with the same timestamp, same text), cut mid-line */
	feed(&d, "2026-01-02T03:04:05.100000000Z same\n"
		 "2026-01-02T03:04:05.100000000Z same\n"
		 "2026-01-02T03:04:06.000000001Z third\n"
		 "2026-01-02T03:04:06.5");
	since = log_dedup_since(&d);
	assert_string_equal(since, "2026-01-02T03:04:06Z");
	free(since);
	log_dedup_reconnect(&d);
	/* second connection from sinceTime 03:04:06: the server sends again
	 * what it has from that second on, then new lines */
	feed(&d, "2026-01-02T03:04:06.000000001Z third\n"
		 "2026-01-02T03:04:06.500000000Z fourth\n"
		 "2026-01-02T03:04:06.500000000Z fourth\n"
		 "2026-01-02T03:04:07.000000000Z last without newline");
	log_dedup_flush(&d);
	assert_string_equal(out.buf, "same\nsame\nthird\nfourth\nfourth\nlast without newline");
	log_dedup_release(&d);
	strbuf_release(&out);
}

static void test_resume_within_one_timestamp(void **state)
{
	struct strbuf out = STRBUF_INIT;
	struct log_dedup d;
	(void)state;
	log_dedup_init_emit(&d, collect, &out, 1);
	feed(&d, "2026-01-02T03:04:05Z a\n2026-01-02T03:04:05Z b\n");
	log_dedup_reconnect(&d);
	/* the resumed stream repeats both lines of that timestamp, then a third */
	feed(&d, "2026-01-02T03:04:05Z a\n2026-01-02T03:04:05Z b\n2026-01-02T03:04:05Z c\n");
	log_dedup_reconnect(&d);
	feed(&d, "2026-01-02T03:04:05Z a\n2026-01-02T03:04:05Z b\n2026-01-02T03:04:05Z c\n"
		 "2026-01-02T03:04:08Z d\n");
	/* timestamps kept when asked for */
	assert_string_equal(out.buf, "2026-01-02T03:04:05Z a\n2026-01-02T03:04:05Z b\n"
			    "2026-01-02T03:04:05Z c\n2026-01-02T03:04:08Z d\n");
	log_dedup_release(&d);
	strbuf_release(&out);
}

static int stop_after_one(const char *data, size_t len, void *ud)
{
	strbuf_add(ud, data, len);
	return 1;
}

static void test_emit_can_stop(void **state)
{
	struct strbuf out = STRBUF_INIT;
	struct log_dedup d;
	(void)state;
	log_dedup_init_emit(&d, stop_after_one, &out, 0);
	feed(&d, "2026-01-02T03:04:05Z a\n2026-01-02T03:04:06Z b\n");
	assert_true(d.stopped);
	assert_string_equal(out.buf, "a\n");
	log_dedup_release(&d);
	strbuf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resume_skips_what_was_shown),
		cmocka_unit_test(test_resume_within_one_timestamp),
		cmocka_unit_test(test_emit_can_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
