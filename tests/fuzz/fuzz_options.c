/* parse_options on a table with every option kind (bool, negatable bool,
 * count, string, optional-value string and int, enum, bounded and unbounded
 * int, list, enum list, hidden, short-only, required, a group, and the
 * included kubectl flags).  Byte 0: bit 0 stop_at_positional, bit 1 use the
 * table with a required flag; the rest is argv, split on NUL.
 * Invariants: the result is -2, -1 or a count of positionals that are the
 * input's own words, in order; --request-timeout values go through
 * parse_duration_ms without crashing. */
#include "fuzz.h"

#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include "eidf/cmd.h"
#include "eidf/options.h"
#include "eidf/util.h"

#define MAX_ARGS 64

static int o_bool, o_neg, o_count, o_short;
static const char *o_str, *o_optarg, *o_enum, *o_req, *o_hidden;
static long o_int, o_big, o_optint;
static struct strvec o_list, o_colors;
static const char *const colors[] = { "red", "green", "blue", NULL };

static const struct option opts[] = {
	OPT_GROUP("Fuzz options"),
	OPT_BOOL('b', "bool", &o_bool, "a bool"),
	{ .type = OPT_TYPE_BOOL, .short_name = 'N', .long_name = "neg", .value = &o_neg,
	  .help = "negatable", .flags = OPT_NEGATABLE },
	{ .type = OPT_TYPE_COUNT, .short_name = 'c', .long_name = "count", .value = &o_count,
	  .help = "count" },
	OPT_STRING('S', "string", &o_str, "text", "a string", COMPLETE_NONE),
	{ .type = OPT_TYPE_STRING, .short_name = 'O', .long_name = "optarg", .value = &o_optarg,
	  .argh = "v", .help = "optional value", .flags = OPT_OPTARG, .optarg_default = "dflt" },
	OPT_ENUM('e', "enum", &o_enum, "color", "an enum", colors),
	OPT_INT('i', "int", &o_int, "n", "bounded int", -5, 1000),
	OPT_INT(0, "big", &o_big, "n", "unbounded int", 0, 0),
	{ .type = OPT_TYPE_INT, .short_name = 'x', .long_name = "optint", .value = &o_optint,
	  .argh = "n", .help = "optional int", .flags = OPT_OPTARG, .optarg_default = "3" },
	OPT_LIST('l', "list", &o_list, "item", "a list", COMPLETE_NONE),
	{ .type = OPT_TYPE_LIST, .long_name = "colors", .value = &o_colors, .argh = "c",
	  .help = "enum list", .enum_values = colors, .complete = COMPLETE_ENUM },
	{ .type = OPT_TYPE_STRING, .long_name = "hidden", .value = &o_hidden, .argh = "h",
	  .help = "hidden", .flags = OPT_HIDDEN },
	{ .type = OPT_TYPE_BOOL, .short_name = 'z', .value = &o_short, .help = "short only" },
	OPT_INCLUDE(kube_options),
	OPT_END(),
};

static const struct option req_opts[] = {
	{ .type = OPT_TYPE_STRING, .long_name = "req", .value = &o_req, .argh = "r",
	  .help = "required", .flags = OPT_REQUIRED },
	OPT_INCLUDE(opts),
	OPT_END(),
};

static void reset(void)
{
	o_bool = o_neg = o_count = o_short = 0;
	o_str = o_optarg = o_enum = o_req = o_hidden = NULL;
	o_int = o_big = o_optint = 0;
	strvec_clear(&o_list);
	strvec_clear(&o_colors);
	strvec_clear(&kube_flags.as_groups);
	memset(&kube_flags, 0, sizeof(kube_flags));
	kube_flags.insecure_skip_tls_verify = -1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* --help output is not interesting; errors still go to stderr */
	int fd = open("/dev/null", O_WRONLY);
	(void)argc;
	(void)argv;
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		close(fd);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *argv[MAX_ARGS + 1], *orig[MAX_ARGS + 1];
	char *buf;
	int argc = 0, rc, stop, use_req;
	size_t i, start;

	if (size < 1 || size > 4096)
		return 0;
	stop = data[0] & 1;
	use_req = data[0] & 2;
	buf = xmalloc(size); /* the words, plus a NUL ending the last one */
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	for (i = 0, start = 0; i < size - 1 && argc < MAX_ARGS; i++) {
		if (!data[1 + i]) {
			argv[argc++] = buf + start;
			start = i + 1;
		}
	}
	if (argc < MAX_ARGS && start < size - 1)
		argv[argc++] = buf + start;
	argv[argc] = NULL;
	memcpy(orig, argv, sizeof(argv));

	reset();
	rc = parse_options(argc, argv, use_req ? req_opts : opts, "kubectl eidf fuzz", "[flags]", stop);
	FUZZ_CHECK(rc == -2 || rc == -1 || (rc >= 0 && rc <= argc), "rc %d for argc %d", rc, argc);
	if (rc >= 0) {
		/* positionals are a subsequence of the input words */
		int j = 0;
		for (int k = 0; k < rc; k++) {
			FUZZ_CHECK(argv[k], "NULL positional %d", k);
			while (j < argc && orig[j] != argv[k])
				j++;
			FUZZ_CHECK(j < argc, "positional %d is not an input word in order", k);
			j++;
		}
		if (use_req)
			FUZZ_CHECK(o_req, "required flag missing but parse succeeded");
		if (o_int)
			FUZZ_CHECK(o_int >= -5 && o_int <= 1000, "--int out of range: %ld", o_int);
		if (o_enum)
			FUZZ_CHECK(!strcmp(o_enum, "red") || !strcmp(o_enum, "green") ||
				   !strcmp(o_enum, "blue"), "--enum not validated");
		for (size_t k = 0; k < o_colors.n; k++)
			FUZZ_CHECK(!strcmp(o_colors.v[k], "red") || !strcmp(o_colors.v[k], "green") ||
				   !strcmp(o_colors.v[k], "blue"), "--colors not validated");
		if (kube_flags.request_timeout)
			(void)parse_duration_ms(kube_flags.request_timeout);
	}
	for (int k = 0; k < argc; k++) {
		long ms = parse_duration_ms(orig[k]);
		FUZZ_CHECK(ms >= -1, "negative duration %ld for \"%s\"", ms, orig[k]);
		(void)options_find_long(opts, orig[k]);
		if (orig[k][0])
			(void)options_find_short(opts, (unsigned char)orig[k][0]);
	}
	reset();
	free(buf);
	return 0;
}
