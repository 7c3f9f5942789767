/* resource.Quantity: parsing, canonical form, values and comparison, with
 * cases taken from the API server's behaviour. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "eidf/quantity.h"
#include "eidf/util.h"

static char *canon(const char *in)
{
	struct quantity q;
	if (quantity_parse(in, &q) < 0)
		return NULL;
	return quantity_format(&q);
}

static void check_canon(const char *in, const char *want)
{
	char *got = canon(in);
	if (!got)
		fail_msg("%s: unexpected error: %s", in, eidf_last_error());
	if (strcmp(got, want))
		fail_msg("%s: canonical form %s, want %s", in, got, want);
	free(got);
}

static void test_canonical(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		/* the examples everybody meets */
		{ "100Gi", "100Gi" }, { "1000Mi", "1000Mi" }, { "1024Mi", "1Gi" },
		{ "0.5", "500m" }, { "1e3", "1e3" }, { "1E3", "1e3" }, { "1000", "1k" },
		{ "1500m", "1500m" }, { "1.5", "1500m" }, { "100m", "100m" },
		{ "1000m", "1" }, { "2", "2" }, { "64Mi", "64Mi" }, { "1.5Gi", "1536Mi" },
		{ "0", "0" }, { "0Gi", "0" }, { "0.0", "0" }, { "-0", "0" }, { "00", "0" },
		{ "1Ki", "1Ki" }, { "1Mi", "1Mi" }, { "1Gi", "1Gi" }, { "1000M", "1G" },
		{ "300Mi", "300Mi" }, { "307200Ki", "300Mi" }, { "1025024Mi", "1001Gi" },
		{ "1024Gi", "1Ti" }, { "6Ki", "6Ki" }, { "1025", "1025" }, { "2000", "2k" },
		{ "5000m", "5" }, { "1000u", "1m" }, { "1.08", "1080m" }, { "1080000000n", "1080m" },
		{ "0.001T", "1G" }, { ".001e12", "1e9" }, { "0.001e0", "1e-3" }, { "1000e-12", "1e-9" },
		{ "80e-3", "80e-3" }, { "300e6", "300e6" }, { "3e3", "3e3" }, { "1000E", "1e21" },
		{ "5000E", "5e21" }, { "1E", "1E" }, { "12E", "12E" }, { "50k", "50k" },
		{ "100.035k", "100035" }, { "10.035M", "10035k" }, { "8.1k", "8100" },
		{ "1.3E+6", "1300e3" }, { "1.2e3", "1200" }, { "0.5e-1", "50e-3" },
		/* rounding up to 1n, binary below 1024 shown as decimal */
		{ "3.001n", "4n" }, { "0.0000000001", "1n" }, { "0.00000012345", "124n" },
		{ "1.1E-9", "2e-9" }, { ".001Ki", "1024m" }, { ".000001Ki", "1024u" },
		{ ".000000001Ki", "1024n" }, { ".000000000001Ki", "2n" }, { "0.5Ki", "512" },
		{ "100.035Ki", "102435840m" }, { "0.5Mi", "512Ki" }, { "0.05Gi", "53687091200m" },
		/* binary values are capped at 2^63-1 */
		{ "9Ei", "9223372036854775807" }, { "9223372036854775807Ki", "9223372036854775807" },
		{ "7Ei", "7Ei" }, { "100Ti", "100Ti" }, { "1024", "1024" }, { "1023Ki", "1023Ki" },
		/* signs and odd-but-valid spellings */
		{ "-1", "-1" }, { "+1", "1" }, { "-1.5Gi", "-1536Mi" }, { "-100m", "-100m" },
		{ "1.", "1" }, { "1.G", "1G" }, { ".5", "500m" }, { ".", "0" }, { "-.", "0" },
		{ "007", "7" }, { "1e+3", "1e3" },
		{ "123456789012345678", "123456789012345678" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_canon(cases[i][0], cases[i][1]);
}

static void test_invalid(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "10GB", "1.1.M", "1+1.0M", "0.1mi", "0.1am", "aoeu", ".5i", "1i", "-3.01i",
		"-3.01e-", " 1", "1 ", "1e", "1k1", "1KB", "1Kib", "1K", "1gi", "Gi", "e3",
		"1e4294967297", "1E2147483648", "--1", "1_000", "+", "-", "-Gi", "0x10", "1,5", "12345678901234567890123",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct quantity q;
		if (quantity_parse(bad[i], &q) == 0)
			fail_msg("%s parsed unexpectedly", bad[i]);
		assert_false(quantity_valid(bad[i]));
	}
}

static void test_error_message(void **state)
{
	struct quantity q;
	(void)state;
	assert_int_equal(quantity_parse("10GB", &q), -1);
	assert_string_equal(eidf_last_error(),
			    "invalid quantity \"10GB\": quantities must match the regular expression "
			    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
	assert_int_equal(quantity_parse("1K", &q), -1);
	assert_string_equal(eidf_last_error(),
			    "invalid quantity \"1K\": unable to parse quantity's suffix");
	assert_int_equal(quantity_parse(NULL, &q), -1);
}

static int64_t value_of(const char *s)
{
	struct quantity q;
	assert_int_equal(quantity_parse(s, &q), 0);
	return quantity_value(&q);
}

static int64_t milli_of(const char *s)
{
	struct quantity q;
	assert_int_equal(quantity_parse(s, &q), 0);
	return quantity_milli_value(&q);
}

static void test_values(void **state)
{
	(void)state;
	assert_int_equal(value_of("100Gi"), 107374182400LL);
	assert_int_equal(value_of("1G"), 1000000000LL);
	assert_int_equal(value_of("1.5Gi"), 1610612736LL);
	assert_int_equal(value_of("100m"), 1);       /* rounded up */
	assert_int_equal(value_of("1001m"), 2);
	assert_int_equal(value_of("1000m"), 1);
	assert_int_equal(value_of("9.01"), 10);
	assert_int_equal(value_of("-9.01"), -9);     /* ceiling, like AsScale */
	assert_int_equal(value_of("0"), 0);
	assert_int_equal(value_of("1n"), 1);
	assert_int_equal(value_of("7Ei"), 8070450532247928832LL);
	assert_int_equal(value_of("9Ei"), INT64_MAX);
	assert_int_equal(value_of("1e3"), 1000);
	assert_int_equal(value_of("1e19"), -1);      /* does not fit */
	assert_int_equal(value_of("1e100"), -1);

	assert_int_equal(milli_of("100m"), 100);
	assert_int_equal(milli_of("1.5"), 1500);
	assert_int_equal(milli_of("2"), 2000);
	assert_int_equal(milli_of("1n"), 1);          /* rounded up */
	assert_int_equal(milli_of("0.0005"), 1);
	assert_int_equal(milli_of("0.0015"), 2);
	assert_int_equal(milli_of("1e3"), 1000000);
	assert_int_equal(milli_of("1e100"), INT64_MAX); /* saturates */
	assert_int_equal(milli_of("-1e100"), INT64_MIN);
}

static int cmp_of(const char *a, const char *b)
{
	struct quantity qa, qb;
	assert_int_equal(quantity_parse(a, &qa), 0);
	assert_int_equal(quantity_parse(b, &qb), 0);
	return quantity_cmp(&qa, &qb);
}

static void test_cmp(void **state)
{
	(void)state;
	assert_int_equal(cmp_of("0", "0"), 0);
	assert_int_equal(cmp_of("100m", "50m"), 1);
	assert_int_equal(cmp_of("50m", "100m"), -1);
	assert_int_equal(cmp_of("10000T", "100Gi"), 1);
	assert_int_equal(cmp_of("1Gi", "1024Mi"), 0);
	assert_int_equal(cmp_of("1G", "1Gi"), -1);
	assert_int_equal(cmp_of("1e3", "1k"), 0);
	assert_int_equal(cmp_of("0.5", "500m"), 0);
	assert_int_equal(cmp_of("-1", "0"), -1);
	assert_int_equal(cmp_of("-1", "-2"), 1);
	assert_int_equal(cmp_of("1e100", "9Ei"), 1);
	assert_int_equal(cmp_of("1n", "0"), 1);
	assert_int_equal(cmp_of("900m", "1"), -1);
	assert_int_equal(cmp_of("1001m", "1"), 1);
	assert_int_equal(cmp_of("4Gi", "8Gi"), -1);
	assert_int_equal(cmp_of("0Gi", "0m"), 0);

	/* hand-built values, exp1024 included */
	struct quantity a = { .mantissa = 1, .exp1024 = 3, .format = QFMT_BINARY_SI };
	struct quantity b = { .mantissa = 1024, .exp1024 = 2, .format = QFMT_BINARY_SI };
	struct quantity c = { .mantissa = 901, .exp10 = -2, .format = QFMT_DECIMAL_SI };
	struct quantity d = { .mantissa = 90, .exp10 = -1, .format = QFMT_DECIMAL_SI };
	struct quantity e = { .mantissa = INT64_MAX, .exp10 = -16, .format = QFMT_DECIMAL_SI };
	struct quantity f = { .mantissa = 1, .exp10 = 3, .format = QFMT_DECIMAL_SI };
	assert_int_equal(quantity_cmp(&a, &b), 0);
	assert_int_equal(quantity_cmp(&d, &c), -1);
	assert_int_equal(quantity_cmp(&e, &f), -1);
	char *s = quantity_format(&a);
	assert_string_equal(s, "1Gi");
	free(s);
	struct quantity g = { .mantissa = 1, .exp10 = -12, .format = QFMT_DECIMAL_SI };
	s = quantity_format(&g);
	assert_string_equal(s, "1e-12");
	free(s);
}

static void test_struct_fields(void **state)
{
	struct quantity q;
	(void)state;
	assert_int_equal(quantity_parse("100Gi", &q), 0);
	assert_int_equal(q.format, QFMT_BINARY_SI);
	assert_int_equal(quantity_parse("0.000000000001Ki", &q), 0);
	assert_int_equal(q.format, QFMT_DECIMAL_SI); /* rounds up, changes format */
	assert_int_equal(q.mantissa, 2);
	assert_int_equal(q.exp10, -9);
	assert_int_equal(quantity_parse("1e3", &q), 0);
	assert_int_equal(q.format, QFMT_DECIMAL_EXPONENT);
	assert_int_equal(quantity_parse("50k", &q), 0);
	assert_int_equal(q.mantissa, 5);
	assert_int_equal(q.exp10, 4);
	assert_true(quantity_valid("1Gi"));
	assert_true(quantity_valid("1e2147483647"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_error_message),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_cmp),
		cmocka_unit_test(test_struct_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
