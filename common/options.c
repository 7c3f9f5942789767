/* Option tables: parsing (pflag/cobra semantics), lookup and durations. */
#include "eidf/options.h"
#include "internal.h"
#include "eidf/quantity.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static options_help_fn help_fn;
static void *help_ctx;

void options_set_help(options_help_fn fn, void *ctx)
{
	help_fn = fn;
	help_ctx = ctx;
}

int option_takes_value(const struct option *o)
{
	switch (o->type) {
	case OPT_TYPE_STRING:
	case OPT_TYPE_INT:
	case OPT_TYPE_LIST:
	case OPT_TYPE_DURATION:
	case OPT_TYPE_SIZE:
		return !(o->flags & OPT_OPTARG);
	default:
		return 0;
	}
}

/* ---- walking ----------------------------------------------------------------- */

static void walk(const struct option *opts, option_visit_fn fn, void *ctx, int depth)
{
	if (!opts || depth > 16)
		return;
	for (const struct option *o = opts; o->type != OPT_TYPE_END; o++) {
		if (o->type == OPT_TYPE_INCLUDE)
			walk(o->include, fn, ctx, depth + 1);
		else
			fn(o, ctx);
	}
}

void options_walk(const struct option *opts, option_visit_fn fn, void *ctx)
{
	walk(opts, fn, ctx, 0);
}

struct find_ctx {
	const char *name;
	int c;
	const struct option *found;
};

static void find_long_cb(const struct option *o, void *vctx)
{
	struct find_ctx *f = vctx;
	if (!f->found && o->long_name && o->type != OPT_TYPE_GROUP &&
	    !strcmp(o->long_name, f->name))
		f->found = o;
}

static void find_short_cb(const struct option *o, void *vctx)
{
	struct find_ctx *f = vctx;
	if (!f->found && o->short_name && o->type != OPT_TYPE_GROUP && o->short_name == f->c)
		f->found = o;
}

const struct option *options_find_long(const struct option *opts, const char *name)
{
	struct find_ctx f = { .name = name };
	options_walk(opts, find_long_cb, &f);
	return f.found;
}

const struct option *options_find_short(const struct option *opts, int c)
{
	struct find_ctx f = { .c = c };
	options_walk(opts, find_short_cb, &f);
	return f.found;
}

/* The subcommand a word names: its name or alias.  The default command
 * (name NULL) may carry an alias too, so that `fetch create URL` and
 * `fetch URL` are the same. */
const struct subcommand *stage_find_sub(const struct stage *st, const char *word)
{
	for (const struct subcommand *s = st->subcommands; s && s->run; s++) {
		if (s->name && !strcmp(s->name, word))
			return s;
		if (s->alias && !strcmp(s->alias, word))
			return s;
	}
	return NULL;
}

const struct subcommand *stage_default_sub(const struct stage *st, int *only)
{
	const struct subcommand *def = NULL;
	int n = 0;
	for (const struct subcommand *s = st->subcommands; s && s->run; s++, n++)
		if (!s->name && !def)
			def = s;
	if (only)
		*only = def && n == 1;
	return def;
}

int first_positional(int argc, const char **argv, const struct option *opts, int *after_dashdash)
{
	*after_dashdash = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			*after_dashdash = 1;
			return i + 1 < argc ? i + 1 : -1;
		}
		if (a[0] != '-' || !a[1])
			return i;
		if (a[1] == '-') {
			const struct option *o;
			if (strchr(a, '='))
				continue;
			o = options_find_long(opts, a + 2);
			if (o && option_takes_value(o))
				i++;
			continue;
		}
		/* short cluster: a value-taking flag eats the rest or the next word */
		for (const char *p = a + 1; *p; p++) {
			const struct option *o = options_find_short(opts, (unsigned char)*p);
			if (!o)
				break;
			if (o->type == OPT_TYPE_BOOL || o->type == OPT_TYPE_COUNT)
				continue;
			if (!p[1] && option_takes_value(o))
				i++;
			break;
		}
	}
	return -1;
}

/* ---- parsing -------------------------------------------------------------------- */

struct parse_state {
	const char *prog;
	const char *usage;
	const struct option **seen;
	size_t nseen, allocseen;
};

static void mark_seen(struct parse_state *ps, const struct option *o)
{
	if (ps->nseen == ps->allocseen) {
		ps->allocseen = ps->allocseen ? ps->allocseen * 2 : 16;
		ps->seen = xrealloc(ps->seen, ps->allocseen * sizeof(*ps->seen));
	}
	ps->seen[ps->nseen++] = o;
}

static int was_seen(const struct parse_state *ps, const struct option *o)
{
	for (size_t i = 0; i < ps->nseen; i++)
		if (ps->seen[i] == o)
			return 1;
	return 0;
}

static void usage_error(const struct parse_state *ps, const char *fmt, ...) EIDF_PRINTF(2, 3);
static void usage_error(const struct parse_state *ps, const char *fmt, ...)
{
	va_list ap;
	struct strbuf sb = STRBUF_INIT;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	eidf_error("%s", sb.buf);
	fprintf(stderr, "See '%s --help' for usage.\n", ps->prog ? ps->prog : "kubectl eidf");
	strbuf_release(&sb);
}

/* "-n, --namespace" style name for messages. */
static char *flag_display(const struct option *o)
{
	if (o->long_name)
		return xasprintf("--%s", o->long_name);
	return xasprintf("-%c", o->short_name);
}

static int parse_bool_word(const char *s, int *out)
{
	static const char *const t[] = { "1", "t", "T", "true", "TRUE", "True", NULL };
	static const char *const f[] = { "0", "f", "F", "false", "FALSE", "False", NULL };
	for (int i = 0; t[i]; i++)
		if (!strcmp(s, t[i])) {
			*out = 1;
			return 0;
		}
	for (int i = 0; f[i]; i++)
		if (!strcmp(s, f[i])) {
			*out = 0;
			return 0;
		}
	return -1;
}

static int check_enum(const struct parse_state *ps, const struct option *o, const char *val)
{
	struct strbuf sb = STRBUF_INIT;
	char *name;

	if (!o->enum_values)
		return 0;
	for (size_t i = 0; o->enum_values[i]; i++)
		if (!strcmp(o->enum_values[i], val))
			return 0;
	for (size_t i = 0; o->enum_values[i]; i++) {
		if (i)
			strbuf_addstr(&sb, ", ");
		strbuf_addstr(&sb, o->enum_values[i]);
	}
	name = flag_display(o);
	usage_error(ps, "invalid argument \"%s\" for \"%s\" flag: must be one of: %s",
		    val, name, strbuf_str(&sb));
	free(name);
	strbuf_release(&sb);
	return -1;
}

/* Store a value (val may be NULL for BOOL/COUNT or OPTARG without '='). */
static int apply(struct parse_state *ps, const struct option *o, const char *val, int negated)
{
	char *name;

	switch (o->type) {
	case OPT_TYPE_BOOL: {
		int b = !negated;
		if (val && parse_bool_word(val, &b) < 0) {
			name = flag_display(o);
			usage_error(ps, "invalid argument \"%s\" for \"%s\" flag: must be true or false",
				    val, name);
			free(name);
			return -1;
		}
		if (negated && val)
			b = !b;
		if (o->value)
			*(int *)o->value = b;
		break;
	}
	case OPT_TYPE_COUNT:
		if (val) {
			name = flag_display(o);
			usage_error(ps, "flag %s does not take a value", name);
			free(name);
			return -1;
		}
		if (o->value)
			(*(int *)o->value)++;
		break;
	case OPT_TYPE_STRING:
		if (!val)
			val = o->optarg_default ? o->optarg_default : "";
		if (check_enum(ps, o, val) < 0)
			return -1;
		if (o->value)
			*(const char **)o->value = val;
		break;
	case OPT_TYPE_DURATION:
		if (!val)
			val = o->optarg_default ? o->optarg_default : "";
		if (parse_duration_ms(val) < 0) {
			name = flag_display(o);
			usage_error(ps, "invalid argument \"%s\" for \"%s\" flag: use a duration such as 90s, 5m or 24h",
				    val, name);
			free(name);
			return -1;
		}
		if (o->value)
			*(const char **)o->value = val;
		break;
	case OPT_TYPE_SIZE:
		if (!val)
			val = o->optarg_default ? o->optarg_default : "";
		if (parse_size_bytes(val) < 0) {
			name = flag_display(o);
			usage_error(ps, "invalid argument \"%s\" for \"%s\" flag: %s", val, name,
				    eidf_last_error());
			free(name);
			return -1;
		}
		if (o->value)
			*(const char **)o->value = val;
		break;
	case OPT_TYPE_LIST:
		if (!val)
			val = o->optarg_default ? o->optarg_default : "";
		if (check_enum(ps, o, val) < 0)
			return -1;
		if (o->value)
			strvec_push(o->value, val);
		break;
	case OPT_TYPE_INT: {
		char *end;
		long n;
		if (!val)
			val = o->optarg_default ? o->optarg_default : "0";
		errno = 0;
		n = strtol(val, &end, 10);
		if (!*val || *end || errno || isspace((unsigned char)*val)) {
			name = flag_display(o);
			usage_error(ps, "invalid argument \"%s\" for \"%s\" flag: must be an integer",
				    val, name);
			free(name);
			return -1;
		}
		if ((o->min || o->max) && (n < o->min || n > o->max)) {
			name = flag_display(o);
			usage_error(ps, "invalid argument \"%s\" for \"%s\" flag: must be between %ld and %ld",
				    val, name, o->min, o->max);
			free(name);
			return -1;
		}
		if (o->value)
			*(long *)o->value = n;
		break;
	}
	default:
		break;
	}
	mark_seen(ps, o);
	return 0;
}

static void default_help(FILE *out, const struct parse_state *ps, const struct option *opts)
{
	fprintf(out, "Usage:\n  %s %s\n\n", ps->prog ? ps->prog : "", ps->usage ? ps->usage : "[flags]");
	usage_print_options(out, opts);
}

struct req_ctx {
	struct parse_state *ps;
	const struct option *missing;
};

static void req_cb(const struct option *o, void *vctx)
{
	struct req_ctx *r = vctx;
	if (!r->missing && (o->flags & OPT_REQUIRED) && !was_seen(r->ps, o))
		r->missing = o;
}

/* Long option at argv[*i] (without the leading "--"). */
static int parse_long(struct parse_state *ps, const struct option *opts, const char *arg,
		      int argc, const char **argv, int *i)
{
	const char *eq = strchr(arg, '=');
	char *name = eq ? xstrndup(arg, (size_t)(eq - arg)) : xstrdup(arg);
	const char *val = eq ? eq + 1 : NULL;
	const struct option *o = options_find_long(opts, name);
	int negated = 0, rc;

	if (!o && starts_with(name, "no-")) {
		const struct option *n = options_find_long(opts, name + 3);
		if (n && n->type == OPT_TYPE_BOOL && (n->flags & OPT_NEGATABLE)) {
			o = n;
			negated = 1;
		}
	}
	if (!o) {
		usage_error(ps, "unknown flag: --%s", name);
		free(name);
		return -1;
	}
	free(name);
	if (option_takes_value(o) && !val) {
		if (*i + 1 >= argc) {
			char *d = flag_display(o);
			usage_error(ps, "flag needs an argument: %s", d);
			free(d);
			return -1;
		}
		val = argv[++*i];
	}
	rc = apply(ps, o, val, negated);
	return rc;
}

/* Short option cluster at argv[*i] (without the leading "-"). */
static int parse_short(struct parse_state *ps, const struct option *opts, const char *arg,
		       int argc, const char **argv, int *i)
{
	for (const char *p = arg; *p; p++) {
		const struct option *o = options_find_short(opts, (unsigned char)*p);
		const char *rest = p + 1;

		if (!o) {
			usage_error(ps, "unknown shorthand flag: '%c' in -%s", *p, arg);
			return -1;
		}
		if (o->type == OPT_TYPE_BOOL || o->type == OPT_TYPE_COUNT) {
			if (*rest == '=') { /* -f=false */
				if (o->type == OPT_TYPE_COUNT)
					return apply(ps, o, rest + 1, 0);
				return apply(ps, o, rest + 1, 0);
			}
			if (apply(ps, o, NULL, 0) < 0)
				return -1;
			continue;
		}
		/* value-taking option: the rest of the cluster is its value */
		if (*rest == '=')
			return apply(ps, o, rest + 1, 0);
		if (o->flags & OPT_OPTARG) {
			if (apply(ps, o, NULL, 0) < 0)
				return -1;
			continue;
		}
		if (*rest)
			return apply(ps, o, rest, 0);
		if (*i + 1 >= argc) {
			usage_error(ps, "flag needs an argument: '%c' in -%s", *p, arg);
			return -1;
		}
		return apply(ps, o, argv[++*i], 0);
	}
	return 0;
}

static int is_help(const struct option *opts, const char *arg)
{
	if (!strcmp(arg, "--help"))
		return !options_find_long(opts, "help");
	if (!strcmp(arg, "-h"))
		return !options_find_short(opts, 'h');
	return 0;
}

int parse_options(int argc, const char **argv, const struct option *opts,
		  const char *prog, const char *usage, int stop_at_positional)
{
	struct parse_state ps = { .prog = prog, .usage = usage };
	int npos = 0, rc = 0, i;
	static const struct option empty[] = { OPT_END() };

	if (!opts)
		opts = empty;
	for (i = 0; i < argc; i++) {
		const char *arg = argv[i];

		if (!strcmp(arg, "--")) {
			for (i++; i < argc; i++)
				argv[npos++] = argv[i];
			break;
		}
		if (arg[0] != '-' || !arg[1]) {
			if (stop_at_positional) {
				for (; i < argc; i++)
					argv[npos++] = argv[i];
				break;
			}
			argv[npos++] = arg;
			continue;
		}
		if (is_help(opts, arg)) {
			if (help_fn)
				help_fn(stdout, help_ctx);
			else
				default_help(stdout, &ps, opts);
			rc = -1;
			goto out;
		}
		if (arg[1] == '-') {
			if (parse_long(&ps, opts, arg + 2, argc, argv, &i) < 0) {
				rc = -2;
				goto out;
			}
		} else if (parse_short(&ps, opts, arg + 1, argc, argv, &i) < 0) {
			rc = -2;
			goto out;
		}
	}
	{
		struct req_ctx r = { .ps = &ps };
		options_walk(opts, req_cb, &r);
		if (r.missing) {
			usage_error(&ps, "required flag(s) \"%s\" not set",
				    r.missing->long_name ? r.missing->long_name : "?");
			rc = -2;
			goto out;
		}
	}
	rc = npos;
	if (npos < argc)
		argv[npos] = NULL;
out:
	free(ps.seen);
	return rc;
}

/* ---- durations -------------------------------------------------------------------- */

long parse_duration_ms(const char *s)
{
	const char *p = s;
	double total = 0; /* nanoseconds */
	int any = 0;
	char *end;

	if (!s || !*s)
		return -1;
	/* bare integer: seconds (kubectl's --request-timeout) */
	{
		errno = 0;
		long n = strtol(s, &end, 10);
		if (!*end && isdigit((unsigned char)*s)) {
			if (errno || n > LONG_MAX / 1000)
				return -1;
			return n * 1000;
		}
	}
	if (*p == '+')
		p++;
	if (!strcmp(p, "0"))
		return 0;
	while (*p) {
		double v;
		const char *num = p;
		static const struct {
			const char *u;
			double ns;
		} units[] = {
			{ "ns", 1 }, { "us", 1e3 }, { "\xc2\xb5s", 1e3 }, { "\xce\xbcs", 1e3 },
			{ "ms", 1e6 }, { "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 },
		};
		size_t k, best = 0, bestlen = 0;

		if (!isdigit((unsigned char)*p) && *p != '.')
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
		if (*p == '.') {
			p++;
			while (isdigit((unsigned char)*p))
				p++;
		}
		if (p == num || (p == num + 1 && *num == '.'))
			return -1;
		{
			char *tmp = xstrndup(num, (size_t)(p - num));
			v = strtod(tmp, &end);
			int bad = *end != '\0';
			free(tmp);
			if (bad)
				return -1;
		}
		for (k = 0; k < EIDF_ARRAY_SIZE(units); k++) {
			size_t l = strlen(units[k].u);
			if (!strncmp(p, units[k].u, l) && l > bestlen) {
				best = k;
				bestlen = l;
			}
		}
		if (!bestlen)
			return -1; /* missing unit */
		/* "m" must not swallow the start of "ms" */
		p += bestlen;
		total += v * units[best].ns;
		any = 1;
		if (total / 1e6 > (double)LONG_MAX)
			return -1;
	}
	if (!any)
		return -1;
	return (long)(total / 1e6);
}

/* ---- sizes ------------------------------------------------------------------------ */

long long parse_size_bytes(const char *s)
{
	static const char *const units[] = { "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
					     "k", "M", "G", "T", "P", "E", NULL };
	struct quantity q;
	size_t len = s ? strlen(s) : 0;
	int has_unit = 0;
	int64_t v;

	for (size_t i = 0; len && units[i]; i++) {
		size_t ul = strlen(units[i]);
		if (len > ul && !strcmp(s + len - ul, units[i]) && isdigit((unsigned char)s[len - ul - 1]))
			has_unit = 1;
	}
	if (!has_unit) {
		/* a bare number would silently mean bytes: 8 is almost never what was meant */
		if (len && strspn(s, "0123456789.") == len)
			eidf_set_error("a size needs a unit: %sMi or %sGi (binary), or %sM, %sG (decimal)",
				       s, s, s, s);
		else
			eidf_set_error("not a size: use a number with a unit such as 512Mi, 8Gi or 2G");
		return -1;
	}
	if (quantity_parse(s, &q) < 0) {
		eidf_set_error("not a size: use a number with a unit such as 512Mi, 8Gi or 2G");
		return -1;
	}
	v = quantity_value(&q);
	if (v < 0) {
		eidf_set_error("size too large");
		return -1;
	}
	return (long long)v;
}
