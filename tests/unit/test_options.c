/* options.c: parse_options semantics (pflag/cobra-like) and durations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "eidf/options.h"

static const char *o_size, *o_mode, *o_wait;
static int o_bool, o_neg, o_count;
static long o_int, o_free;
static struct strvec o_list = STRVEC_INIT;
static const char *o_inc;

static const char *const modes[] = { "ReadWriteMany", "ReadWriteOnce", NULL };

static const struct option included[] = {
	OPT_GROUP("Included"),
	OPT_STRING('n', "namespace", &o_inc, "ns", "namespace", COMPLETE_NAMESPACE),
	OPT_END(),
};

static const struct option opts[] = {
	OPT_STRING('s', "size", &o_size, "quantity", "requested capacity", COMPLETE_NONE),
	OPT_ENUM(0, "access-mode", &o_mode, "mode", "access mode", modes),
	OPT_BOOL('b', "bool", &o_bool, "a bool"),
	{ .type = OPT_TYPE_BOOL, .short_name = 'x', .long_name = "neg", .value = &o_neg,
	  .help = "negatable", .flags = OPT_NEGATABLE },
	{ .type = OPT_TYPE_COUNT, .short_name = 'c', .long_name = "count", .value = &o_count },
	OPT_INT('i', "int", &o_int, "n", "bounded", 1, 10),
	OPT_INT(0, "free", &o_free, "n", "unbounded", 0, 0),
	OPT_LIST('l', "list", &o_list, "item", "repeatable", COMPLETE_NONE),
	{ .type = OPT_TYPE_STRING, .short_name = 'w', .long_name = "wait", .value = &o_wait,
	  .argh = "timeout", .help = "wait", .flags = OPT_OPTARG, .optarg_default = "5m" },
	OPT_INCLUDE(included),
	OPT_END(),
};

static const struct option req_opts[] = {
	{ .type = OPT_TYPE_STRING, .long_name = "size", .value = &o_size, .flags = OPT_REQUIRED },
	OPT_END(),
};

static int reset(void **state)
{
	(void)state;
	o_size = o_mode = o_wait = o_inc = NULL;
	o_bool = o_neg = o_count = 0;
	o_int = o_free = 0;
	strvec_clear(&o_list);
	return 0;
}

#define PARSE(...)                                                                      \
	({                                                                              \
		static const char *a_[] = { __VA_ARGS__, NULL };                       \
		const char *c_[EIDF_ARRAY_SIZE(a_)];                                    \
		memcpy(c_, a_, sizeof(a_));                                             \
		int n_ = (int)EIDF_ARRAY_SIZE(a_) - 1;                                  \
		int r_ = parse_options(n_, c_, opts, "test", "[flags]", 0);             \
		memcpy(last_pos, c_, sizeof(c_));                                       \
		r_;                                                                     \
	})

static const char *last_pos[32];

static void test_long_forms(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--size=10Gi"), 0);
	assert_string_equal(o_size, "10Gi");
	assert_int_equal(PARSE("--size", "20Gi"), 0);
	assert_string_equal(o_size, "20Gi");
	/* a value may start with a dash in the separate form */
	assert_int_equal(PARSE("--size", "-1"), 0);
	assert_string_equal(o_size, "-1");
	assert_int_equal(PARSE("--size="), 0);
	assert_string_equal(o_size, "");
	assert_int_equal(PARSE("--size"), -2);
	assert_int_equal(PARSE("--nope"), -2);
}

static void test_short_forms(void **state)
{
	(void)state;
	assert_int_equal(PARSE("-s", "1Gi"), 0);
	assert_string_equal(o_size, "1Gi");
	assert_int_equal(PARSE("-s2Gi"), 0);
	assert_string_equal(o_size, "2Gi");
	assert_int_equal(PARSE("-s=3Gi"), 0);
	assert_string_equal(o_size, "3Gi");
	/* bundling: bools then a value-taking flag eating the rest */
	assert_int_equal(PARSE("-bxccs4Gi"), 0);
	assert_int_equal(o_bool, 1);
	assert_int_equal(o_neg, 1);
	assert_int_equal(o_count, 2);
	assert_string_equal(o_size, "4Gi");
	reset(NULL);
	assert_int_equal(PARSE("-bs", "5Gi"), 0);
	assert_int_equal(o_bool, 1);
	assert_string_equal(o_size, "5Gi");
	assert_int_equal(PARSE("-q"), -2);
	assert_int_equal(PARSE("-bq"), -2);
	assert_int_equal(PARSE("-s"), -2);
	/* included table */
	assert_int_equal(PARSE("-n", "eidf042ns"), 0);
	assert_string_equal(o_inc, "eidf042ns");
	assert_int_equal(PARSE("--namespace=x"), 0);
	assert_string_equal(o_inc, "x");
}

static void test_positionals(void **state)
{
	(void)state;
	/* interleaving: positionals compacted to the front, in order */
	assert_int_equal(PARSE("a", "--size", "1", "b", "-b", "c"), 3);
	assert_string_equal(last_pos[0], "a");
	assert_string_equal(last_pos[1], "b");
	assert_string_equal(last_pos[2], "c");
	assert_null(last_pos[3]);
	reset(NULL);
	/* "--" ends options; "-" is a positional */
	assert_int_equal(PARSE("-", "--", "--size", "-b"), 3);
	assert_string_equal(last_pos[0], "-");
	assert_string_equal(last_pos[1], "--size");
	assert_string_equal(last_pos[2], "-b");
	assert_int_equal(o_bool, 0);
	assert_null(o_size);

	reset(NULL);
	/* stop_at_positional keeps everything after the first positional */
	const char *argv[] = { "-b", "create", "--size", "1", NULL };
	assert_int_equal(parse_options(4, argv, opts, "t", NULL, 1), 3);
	assert_string_equal(argv[0], "create");
	assert_string_equal(argv[1], "--size");
	assert_string_equal(argv[2], "1");
	assert_int_equal(o_bool, 1);
	assert_null(o_size);
}

static void test_bools(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--bool"), 0);
	assert_int_equal(o_bool, 1);
	assert_int_equal(PARSE("--bool=false"), 0);
	assert_int_equal(o_bool, 0);
	assert_int_equal(PARSE("--bool=true"), 0);
	assert_int_equal(o_bool, 1);
	assert_int_equal(PARSE("--bool=maybe"), -2);
	/* a bool does not take the next word */
	assert_int_equal(PARSE("--bool", "false"), 1);
	assert_string_equal(last_pos[0], "false");
	o_neg = 1;
	assert_int_equal(PARSE("--no-neg"), 0);
	assert_int_equal(o_neg, 0);
	assert_int_equal(PARSE("--no-bool"), -2); /* not negatable */
	assert_int_equal(PARSE("-b=false"), 0);
	assert_int_equal(o_bool, 0);
}

static void test_enum(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--access-mode", "ReadWriteOnce"), 0);
	assert_string_equal(o_mode, "ReadWriteOnce");
	assert_int_equal(PARSE("--access-mode=rwx"), -2);
}

static void test_optarg(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--wait", "pos"), 1);
	assert_string_equal(o_wait, "5m");
	assert_string_equal(last_pos[0], "pos");
	assert_int_equal(PARSE("--wait=10s"), 0);
	assert_string_equal(o_wait, "10s");
	reset(NULL);
	assert_int_equal(PARSE("-wb"), 0);
	assert_string_equal(o_wait, "5m");
	assert_int_equal(o_bool, 1);
	assert_int_equal(PARSE("-w=1m"), 0);
	assert_string_equal(o_wait, "1m");
}

static void test_int(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--int=5"), 0);
	assert_int_equal(o_int, 5);
	assert_int_equal(PARSE("-i", "10"), 0);
	assert_int_equal(o_int, 10);
	assert_int_equal(PARSE("-i1"), 0);
	assert_int_equal(o_int, 1);
	assert_int_equal(PARSE("--int=0"), -2);
	assert_int_equal(PARSE("--int=11"), -2);
	assert_int_equal(PARSE("--int=abc"), -2);
	assert_int_equal(PARSE("--int=5x"), -2);
	assert_int_equal(PARSE("--int="), -2);
	assert_int_equal(PARSE("--int=99999999999999999999999"), -2);
	assert_int_equal(PARSE("--free=-42"), 0);
	assert_int_equal(o_free, -42);
}

static void test_list(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--list", "a", "-lb", "--list=c,d"), 0);
	assert_int_equal(o_list.n, 3);
	assert_string_equal(o_list.v[0], "a");
	assert_string_equal(o_list.v[1], "b");
	assert_string_equal(o_list.v[2], "c,d");
}

static void test_required(void **state)
{
	(void)state;
	const char *a1[] = { "x", NULL };
	assert_int_equal(parse_options(1, a1, req_opts, "t", NULL, 0), -2);
	const char *a2[] = { "--size=1", "x", NULL };
	assert_int_equal(parse_options(2, a2, req_opts, "t", NULL, 0), 1);
	assert_string_equal(o_size, "1");
}

static void test_help(void **state)
{
	(void)state;
	FILE *saved = stdout;
	stdout = fopen("/dev/null", "w");
	int r1 = PARSE("--size=1", "--help");
	int r2 = PARSE("-h");
	int r3 = PARSE("--", "-h");
	fclose(stdout);
	stdout = saved;
	assert_int_equal(r1, -1);
	assert_int_equal(r2, -1);
	assert_int_equal(r3, 1);
}

static void test_find_walk(void **state)
{
	(void)state;
	const struct option *o = options_find_long(opts, "namespace");
	assert_non_null(o);
	assert_int_equal(o->short_name, 'n');
	assert_ptr_equal(options_find_short(opts, 'n'), o);
	assert_null(options_find_long(opts, "Included"));
	assert_null(options_find_short(opts, 'z'));
}

static void count_cb(const struct option *o, void *ctx)
{
	(void)o;
	(*(int *)ctx)++;
}

static void test_walk(void **state)
{
	(void)state;
	int n = 0;
	options_walk(opts, count_cb, &n);
	assert_int_equal(n, 11); /* 9 own + group + namespace */
}

static void test_duration(void **state)
{
	(void)state;
	assert_int_equal(parse_duration_ms("0"), 0);
	assert_int_equal(parse_duration_ms("5"), 5000);
	assert_int_equal(parse_duration_ms("30s"), 30000);
	assert_int_equal(parse_duration_ms("1m"), 60000);
	assert_int_equal(parse_duration_ms("1m30s"), 90000);
	assert_int_equal(parse_duration_ms("2h"), 7200000);
	assert_int_equal(parse_duration_ms("1h2m3s"), 3723000);
	assert_int_equal(parse_duration_ms("500ms"), 500);
	assert_int_equal(parse_duration_ms("1.5s"), 1500);
	assert_int_equal(parse_duration_ms("1.5h"), 5400000);
	assert_int_equal(parse_duration_ms("2000us"), 2);
	assert_int_equal(parse_duration_ms("0s"), 0);
	assert_int_equal(parse_duration_ms(""), -1);
	assert_int_equal(parse_duration_ms(NULL), -1);
	assert_int_equal(parse_duration_ms("abc"), -1);
	assert_int_equal(parse_duration_ms("10x"), -1);
	assert_int_equal(parse_duration_ms("1.5"), -1);
	assert_int_equal(parse_duration_ms("-5s"), -1);
	assert_int_equal(parse_duration_ms("s"), -1);
	assert_int_equal(parse_duration_ms("5 s"), -1);
	assert_int_equal(parse_duration_ms("1m 30s"), -1);
	assert_int_equal(parse_duration_ms("99999999999999999999"), -1);
	assert_int_equal(parse_duration_ms("9999999999999999h"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_long_forms, reset),
		cmocka_unit_test_setup(test_short_forms, reset),
		cmocka_unit_test_setup(test_positionals, reset),
		cmocka_unit_test_setup(test_bools, reset),
		cmocka_unit_test_setup(test_enum, reset),
		cmocka_unit_test_setup(test_optarg, reset),
		cmocka_unit_test_setup(test_int, reset),
		cmocka_unit_test_setup(test_list, reset),
		cmocka_unit_test_setup(test_required, reset),
		cmocka_unit_test_setup(test_help, reset),
		cmocka_unit_test_setup(test_find_walk, reset),
		cmocka_unit_test_setup(test_walk, reset),
		cmocka_unit_test_setup(test_duration, reset),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	strvec_clear(&o_list);
	return rc;
}
