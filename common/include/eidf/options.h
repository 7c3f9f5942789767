/* Option tables declared once per command, used for parsing, --help, man
 * pages and shell completion (git's parse-options is the model).
 *
 *   static const char *size;
 *   static int wait;
 *   static const struct option create_opts[] = {
 *       OPT_STRING(0, "size", &size, "quantity", "requested capacity", COMPLETE_NONE),
 *       OPT_BOOL('w', "wait", &wait, "wait until Bound"),
 *       OPT_INCLUDE(kube_options),        // the generic kubectl flags
 *       OPT_END(),
 *   };
 *
 * Both --flag=value and --flag value are accepted, short flags may be
 * bundled (-abc), "-f value" and "-fvalue" both work, "--" ends options,
 * and options may be interleaved with positional arguments (like cobra).
 */
#ifndef EIDF_OPTIONS_H
#define EIDF_OPTIONS_H

#include "eidf/util.h"

enum opt_type {
	OPT_TYPE_END = 0,
	OPT_TYPE_BOOL,     /* int*: set to 1 (--no-X sets 0 when OPT_NEGATABLE) */
	OPT_TYPE_STRING,   /* const char**: points into argv */
	OPT_TYPE_INT,      /* long*: decimal, range-checked against min/max */
	OPT_TYPE_LIST,     /* struct strvec*: repeatable, each value appended */
	OPT_TYPE_COUNT,    /* int*: incremented each time (e.g. -v without a value is not kubectl's; unused there) */
	OPT_TYPE_INCLUDE,  /* another option table spliced in here */
	OPT_TYPE_GROUP,    /* heading in --help, no option */
	OPT_TYPE_DURATION, /* const char**: checked to be a duration (90s, 5m, 24h, 1h30m;
			    * a bare number is seconds, as for kubectl --request-timeout) */
	OPT_TYPE_SIZE,     /* const char**: checked to be a quantity WITH a unit (512Mi, 8Gi,
			    * 2G): a bare "8" is refused with a hint */
};

/* What completion offers for an option's value or for positional args. */
enum complete_kind {
	COMPLETE_NONE = 0,     /* free text: no candidates, no file fallback */
	COMPLETE_FILE,         /* file names (shell default) */
	COMPLETE_DIR,          /* directories only */
	COMPLETE_ENUM,         /* the option's enum_values */
	COMPLETE_NAMESPACE,    /* from the API */
	COMPLETE_CONTEXT,      /* from kubeconfig, no API call */
	COMPLETE_CLUSTER,      /* from kubeconfig */
	COMPLETE_USER,         /* from kubeconfig */
	COMPLETE_PVC,          /* from the API */
	COMPLETE_STORAGECLASS, /* from the API */
	COMPLETE_GPU_PRODUCT,  /* known GPU product list (config overridable) */
	COMPLETE_IMAGE,        /* images from the user/repo config */
	COMPLETE_CUSTOM,       /* the table's complete_fn */
};

/* Option flags. */
#define OPT_OPTARG    (1 << 0) /* value optional: only --flag=value takes one */
#define OPT_HIDDEN    (1 << 1) /* not in --help or completion */
#define OPT_NEGATABLE (1 << 2) /* BOOL: --no-flag accepted */
#define OPT_REQUIRED  (1 << 3) /* parse fails with a usage error when absent */

struct option;
struct strvec;
/* Dynamic completion for COMPLETE_CUSTOM: append candidates ("value" or
 * "value\tdescription") to out; `prefix` is the partial word; ctx is the
 * completing `struct eidf_cmd *` (cmd_client() uses a short timeout). */
typedef void (*complete_fn)(const char *prefix, struct strvec *out, void *ctx);

struct option {
	enum opt_type type;
	int short_name;               /* 0 for none */
	const char *long_name;        /* without dashes */
	void *value;
	const char *argh;             /* value placeholder in --help, e.g. "quantity" */
	const char *help;             /* one line */
	int flags;
	const char *const *enum_values; /* NULL-terminated; when set, values are validated */
	enum complete_kind complete;
	complete_fn complete_custom;
	const char *optarg_default;   /* value stored for OPT_OPTARG given without '=' */
	const char *defval;           /* the default as --help and the man page show it
				       * ("24h", "0"), when the variable's initial value is
				       * a sentinel meaning "not given" (NULL, -1) */
	long min, max;                /* OPT_TYPE_INT range (min == max == 0: unbounded) */
	const struct option *include; /* OPT_TYPE_INCLUDE */
};

#define OPT_END() { .type = OPT_TYPE_END }
#define OPT_GROUP(h) { .type = OPT_TYPE_GROUP, .help = (h) }
#define OPT_INCLUDE(tbl) { .type = OPT_TYPE_INCLUDE, .include = (tbl) }
#define OPT_BOOL(s, l, v, h) \
	{ .type = OPT_TYPE_BOOL, .short_name = (s), .long_name = (l), .value = (v), .help = (h) }
#define OPT_STRING(s, l, v, a, h, c) \
	{ .type = OPT_TYPE_STRING, .short_name = (s), .long_name = (l), .value = (v), \
	  .argh = (a), .help = (h), .complete = (c) }
#define OPT_ENUM(s, l, v, a, h, vals) \
	{ .type = OPT_TYPE_STRING, .short_name = (s), .long_name = (l), .value = (v), \
	  .argh = (a), .help = (h), .enum_values = (vals), .complete = COMPLETE_ENUM }
#define OPT_INT(s, l, v, a, h, lo, hi) \
	{ .type = OPT_TYPE_INT, .short_name = (s), .long_name = (l), .value = (v), \
	  .argh = (a), .help = (h), .min = (lo), .max = (hi) }
#define OPT_DURATION(s, l, v, h, d) \
	{ .type = OPT_TYPE_DURATION, .short_name = (s), .long_name = (l), .value = (v), \
	  .argh = "duration", .help = (h), .defval = (d) }
#define OPT_SIZE(s, l, v, h, d) \
	{ .type = OPT_TYPE_SIZE, .short_name = (s), .long_name = (l), .value = (v), \
	  .argh = "size", .help = (h), .defval = (d) }
#define OPT_LIST(s, l, v, a, h, c) \
	{ .type = OPT_TYPE_LIST, .short_name = (s), .long_name = (l), .value = (v), \
	  .argh = (a), .help = (h), .complete = (c) }

/* A subcommand of a stage ("pvc create", "fetch status", ...). */
struct eidf_cmd;
struct subcommand {
	const char *name;
	const char *alias;            /* e.g. "ls" for "list"; may be NULL */
	const char *summary;          /* one line for the stage's --help */
	const char *usage;            /* e.g. "NAME --size QUANTITY [flags]" */
	const char *description;      /* paragraph(s) for --help and the man page; may be NULL */
	const struct option *options;
	enum complete_kind args_complete; /* what positional args complete to */
	complete_fn args_complete_custom;
	int (*run)(struct eidf_cmd *cmd, int argc, const char **argv);
};

/* A whole executable: its name ("pvc"), summary, and subcommands.  A stage
 * without subcommands has one entry with name == NULL.  A name == NULL entry
 * next to named ones is the default command: it runs unless the first
 * positional word names a subcommand (`devrun CMD...` vs `devrun list`). */
struct stage {
	const char *name;             /* "pvc", "build-context" */
	const char *summary;
	const char *description;
	const struct subcommand *subcommands; /* terminated by { .run = NULL } */
	const struct option *options; /* stage-level options when no subcommand is used */
};

/* Parse argv[0..argc) (argv[0] is the first argument, not the program).
 * Positional arguments are compacted to the front of argv and their count
 * returned.  On a usage error prints "error: ..." plus a hint to --help and
 * returns -2; on -h/--help prints help to stdout and returns -1 (callers
 * exit 0).  Stops at the first positional when stop_at_positional is set. */
int parse_options(int argc, const char **argv, const struct option *opts,
		  const char *prog, const char *usage, int stop_at_positional);

/* Write --help for a subcommand (or the stage when sub is NULL). */
void usage_print(FILE *out, const struct stage *st, const struct subcommand *sub);

/* Walk a table (following includes) in declaration order. */
typedef void (*option_visit_fn)(const struct option *opt, void *ctx);
void options_walk(const struct option *opts, option_visit_fn fn, void *ctx);
const struct option *options_find_long(const struct option *opts, const char *name);
const struct option *options_find_short(const struct option *opts, int c);

/* Parse a Kubernetes/Go duration ("30s", "1m30s", "2h") or a bare integer of
 * seconds into milliseconds; -1 on error. */
long parse_duration_ms(const char *s);
/* Parse a size with a unit ("8Mi", "2G") into bytes; -1 with eidf_last_error()
 * naming what is wrong (no unit, not a quantity, too large). */
long long parse_size_bytes(const char *s);

#endif
