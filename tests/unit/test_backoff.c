/* Reconnecting to an API server that went away: the backoff stays within
 * its bounds and grows to its cap, Retry-After is read in both forms, and
 * Warning: headers are parsed the way kubectl shows them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "eidf/backoff.h"
#include "eidf/util.h"

/* from common/kclient_internal.h (not a public header) */
int kwarning_parse(const char *value, struct strvec *texts);

static void test_backoff_bounds_and_cap(void **state)
{
	struct backoff b;
	long step = 500;
	(void)state;
	backoff_init(&b, 500, 10000, 42);
	for (int i = 0; i < 20; i++) {
		long w = backoff_next(&b);
		/* equal jitter: between half the step and the step */
		assert_true(w >= step / 2);
		assert_true(w <= step);
		step = step * 2 > 10000 ? 10000 : step * 2;
	}
	/* capped: never more than max */
	for (int i = 0; i < 100; i++)
		assert_true(backoff_next(&b) <= 10000);
	backoff_reset(&b);
	assert_true(backoff_next(&b) <= 500);
}

static void test_backoff_jitter_differs(void **state)
{
	struct backoff a, b;
	int differ = 0;
	(void)state;
	backoff_init(&a, 1000, 60000, 1);
	backoff_init(&b, 1000, 60000, 2);
	for (int i = 0; i < 8; i++)
		differ += backoff_next(&a) != backoff_next(&b);
	assert_true(differ > 0);
}

static void test_retry_after(void **state)
{
	(void)state;
	assert_int_equal(retry_after_seconds("120", 0), 120);
	assert_int_equal(retry_after_seconds(" 7 ", 0), 7);
	assert_int_equal(retry_after_seconds("0", 0), 0);
	/* Wed, 21 Oct 2015 07:28:00 GMT = 1445412480 */
	assert_int_equal(retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 - 30), 30);
	assert_int_equal(retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 + 30), 0);
	assert_int_equal(retry_after_seconds("soon", 0), -1);
	assert_int_equal(retry_after_seconds("12abc", 0), -1);
	assert_int_equal(retry_after_seconds("-5", 0), -1);
	assert_int_equal(retry_after_seconds(NULL, 0), -1);
}

static void test_warning_parse(void **state)
{
	struct strvec t = STRVEC_INIT;
	(void)state;
	assert_int_equal(kwarning_parse(" 299 - \"would violate PodSecurity \\\"restricted:latest\\\": "
					"allowPrivilegeEscalation != false\"", &t), 1);
	assert_string_equal(t.v[0], "would violate PodSecurity \"restricted:latest\": "
			    "allowPrivilegeEscalation != false");
	strvec_clear(&t);
	/* two in one header, one with a date; code 199 is not shown */
	assert_int_equal(kwarning_parse("299 - \"a\", 199 agent \"b\", 299 k8s \"c\" "
					"\"Wed, 21 Oct 2015 07:28:00 GMT\"", &t), 2);
	assert_string_equal(t.v[0], "a");
	assert_string_equal(t.v[1], "c");
	strvec_clear(&t);
	assert_int_equal(kwarning_parse("nonsense", &t), -1);
	assert_int_equal(kwarning_parse("299 - \"unterminated", &t), -1);
	assert_int_equal((int)t.n, 0);
	strvec_clear(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_bounds_and_cap),
		cmocka_unit_test(test_backoff_jitter_differs),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_warning_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
