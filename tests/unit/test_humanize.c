/* Ages as kubectl prints them (duration.HumanDuration), sizes, RFC 3339. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "eidf/humanize.h"

static void check_dur(int64_t secs, const char *want)
{
	char *got = human_duration(secs);
	if (strcmp(got, want))
		fail_msg("%lld s: got %s, want %s", (long long)secs, got, want);
	free(got);
}

#define MIN 60LL
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define YEAR (365 * DAY)

/* Every boundary of HumanDuration, on both sides. */
static void test_human_duration(void **state)
{
	(void)state;
	check_dur(-2, "<invalid>");
	check_dur(-1, "0s");
	check_dur(0, "0s");
	check_dur(1, "1s");
	check_dur(59, "59s");
	check_dur(60, "60s");
	check_dur(119, "119s");
	check_dur(2 * MIN, "2m");
	check_dur(2 * MIN + 1, "2m1s");
	check_dur(9 * MIN + 59, "9m59s");
	check_dur(10 * MIN, "10m");
	check_dur(10 * MIN + 59, "10m");
	check_dur(179 * MIN + 59, "179m");
	check_dur(3 * HOUR, "3h");
	check_dur(3 * HOUR + 59, "3h");
	check_dur(3 * HOUR + MIN, "3h1m");
	check_dur(7 * HOUR + 59 * MIN + 59, "7h59m");
	check_dur(8 * HOUR, "8h");
	check_dur(8 * HOUR + 59 * MIN, "8h");
	check_dur(47 * HOUR + 59 * MIN, "47h");
	check_dur(48 * HOUR, "2d");
	check_dur(48 * HOUR + HOUR, "2d1h");
	check_dur(7 * DAY + 23 * HOUR + 59 * MIN, "7d23h");
	check_dur(8 * DAY, "8d");
	check_dur(8 * DAY + 23 * HOUR, "8d");
	check_dur(2 * YEAR - 1, "729d");
	check_dur(2 * YEAR, "2y");
	check_dur(2 * YEAR + DAY, "2y1d");
	check_dur(8 * YEAR - 1, "7y364d");
	check_dur(8 * YEAR, "8y");
	check_dur(8 * YEAR + 100 * DAY, "8y");
	check_dur(100 * YEAR, "100y");
}

static void test_human_age(void **state)
{
	(void)state;
	char *s = human_age(1000, 1000 - 5 * 60);
	assert_string_equal(s, "5m");
	free(s);
	s = human_age(1000, 1002); /* clock skew of 2 s */
	assert_string_equal(s, "<invalid>");
	free(s);
	s = human_age(1000, 1001);
	assert_string_equal(s, "0s");
	free(s);
	s = human_age(1000, 0); /* no timestamp */
	assert_string_equal(s, "<unknown>");
	free(s);
}

static void check_bytes(uint64_t b, const char *want)
{
	char *got = human_bytes(b);
	if (strcmp(got, want))
		fail_msg("%llu: got %s, want %s", (unsigned long long)b, got, want);
	free(got);
}

static void test_human_bytes(void **state)
{
	(void)state;
	check_bytes(0, "0B");
	check_bytes(1, "1B");
	check_bytes(1023, "1023B");
	check_bytes(1024, "1KiB");
	check_bytes(1536, "1.5KiB");
	check_bytes(10 * 1024 - 1, "10KiB");
	check_bytes(1024 * 1024 - 1, "1MiB");
	check_bytes(12ULL << 30, "12GiB");
	check_bytes(100ULL << 40, "100TiB");
	check_bytes(UINT64_MAX, "16EiB");
}

static void test_rfc3339(void **state)
{
	time_t t;
	char buf[32];
	(void)state;

	assert_int_equal(parse_rfc3339("2024-01-02T03:04:05Z", &t), 0);
	assert_int_equal(t, 1704164645);
	format_rfc3339(t, buf);
	assert_string_equal(buf, "2024-01-02T03:04:05Z");
	assert_int_equal(parse_rfc3339("2024-01-02T03:04:05.123456789Z", &t), 0);
	assert_int_equal(t, 1704164645);
	assert_int_equal(parse_rfc3339("2024-01-02T04:04:05+01:00", &t), 0);
	assert_int_equal(t, 1704164645);
	assert_int_equal(parse_rfc3339("2024-01-01T22:04:05.5-05:00", &t), 0);
	assert_int_equal(t, 1704164645);
	assert_int_equal(parse_rfc3339("2024-01-02t03:04:05z", &t), 0);
	assert_int_equal(parse_rfc3339("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(parse_rfc3339("2024-02-29T00:00:00Z", &t), 0);
	assert_int_equal(parse_rfc3339("2026-11-24T18:54:04Z", &t), 0);
	format_rfc3339(t, buf);
	assert_string_equal(buf, "2026-11-24T18:54:04Z");

	static const char *const bad[] = {
		"", "2024-01-02", "2024-01-02T03:04:05", "2024-01-02T03:04Z", "2024-13-02T03:04:05Z",
		"2023-02-29T00:00:00Z", "2024-01-02T24:00:00Z", "2024-01-02T03:04:05.Z",
		"2024-01-02T03:04:05+0100", "2024-01-02T03:04:05Zjunk", "24-01-02T03:04:05Z",
		"2024-01-02T03:04:60Z", "2024-1-2T03:04:05Z", "2024-01-02T03:04:05+25:00",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_rfc3339(bad[i], &t) == 0)
			fail_msg("%s parsed unexpectedly", bad[i]);
	assert_int_equal(parse_rfc3339(NULL, &t), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_human_duration),
		cmocka_unit_test(test_human_age),
		cmocka_unit_test(test_human_bytes),
		cmocka_unit_test(test_rfc3339),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
