/* --help text in kubectl's layout, generated from the option tables. */
#include "eidf/options.h"
#include "internal.h"

#include <string.h>

/* kubectl's "--flag=DEFAULT:" with the default the command really uses:
 * the option's defval when its variable starts as a "not given" sentinel. */
static void print_default(FILE *out, const struct option *o)
{
	switch (o->type) {
	case OPT_TYPE_BOOL: {
		int v = o->value ? *(const int *)o->value : 0;
		fputs(o->defval ? o->defval : v > 0 ? "true" : "false", out);
		break;
	}
	case OPT_TYPE_COUNT:
		fprintf(out, "%d", o->value ? *(const int *)o->value : 0);
		break;
	case OPT_TYPE_INT:
		if (o->defval)
			fputs(o->defval, out);
		else
			fprintf(out, "%ld", o->value ? *(const long *)o->value : 0L);
		break;
	case OPT_TYPE_STRING:
	case OPT_TYPE_DURATION:
	case OPT_TYPE_SIZE: {
		const char *v = o->value ? *(const char *const *)o->value : NULL;
		fprintf(out, "'%s'", o->defval ? o->defval : v ? v : "");
		break;
	}
	case OPT_TYPE_LIST:
		fputs("[]", out);
		break;
	default:
		break;
	}
}

struct print_ctx {
	FILE *out;
	int printed_heading;
};

static void print_option(const struct option *o, void *vctx)
{
	struct print_ctx *pc = vctx;
	FILE *out = pc->out;

	if (o->type == OPT_TYPE_GROUP) {
		fprintf(out, "%s:\n", o->help ? o->help : "");
		pc->printed_heading = 1;
		return;
	}
	if (o->flags & OPT_HIDDEN)
		return;
	if (!pc->printed_heading) {
		fputs("Options:\n", out);
		pc->printed_heading = 1;
	}
	fputs("    ", out);
	if (o->short_name)
		fprintf(out, "-%c, ", o->short_name);
	if (o->long_name)
		fprintf(out, "--%s", o->long_name);
	fputc('=', out);
	print_default(out, o);
	fputs(":\n\t", out);
	fputs(o->help ? o->help : "", out);
	if (o->enum_values && (!o->help || !strstr(o->help, "One of"))) {
		size_t hl = o->help ? strlen(o->help) : 0;
		if (hl)
			fputs(o->help[hl - 1] == '.' ? " One of: " : ". One of: ", out);
		else
			fputs("One of: ", out);
		for (size_t i = 0; o->enum_values[i]; i++)
			fprintf(out, "%s%s", i ? "|" : "", o->enum_values[i]);
		fputc('.', out);
	}
	if (o->type == OPT_TYPE_LIST && (!o->help || !strstr(o->help, "repeatable")))
		fputs(" (repeatable)", out);
	fputs("\n\n", out);
}

void usage_print_options(FILE *out, const struct option *opts)
{
	struct print_ctx pc = { .out = out };
	if (!opts)
		return;
	options_walk(opts, print_option, &pc);
}

static const char *stage_name(const struct stage *st)
{
	return st && st->name ? st->name : "";
}

static void print_commands(FILE *out, const struct stage *st)
{
	size_t width = 0;
	int any = 0;

	/* A default command is listed under its alias, if it has one. */
	for (const struct subcommand *s = st->subcommands; s && s->run; s++)
		if (s->name || s->alias) {
			const char *n = s->name ? s->name : s->alias;
			any = 1;
			if (strlen(n) > width)
				width = strlen(n);
		}
	if (!any)
		return;
	fputs("Available Commands:\n", out);
	for (const struct subcommand *s = st->subcommands; s->run; s++) {
		if (!s->name && !s->alias)
			continue;
		fprintf(out, "  %-*s   %s", (int)width, s->name ? s->name : s->alias,
			s->summary ? s->summary : "");
		if (s->alias && s->name)
			fprintf(out, " (alias: %s)", s->alias);
		fputc('\n', out);
	}
	fputc('\n', out);
}

static void print_text(FILE *out, const char *text)
{
	if (!text || !*text)
		return;
	fputs(text, out);
	if (text[strlen(text) - 1] != '\n')
		fputc('\n', out);
	fputc('\n', out);
}

void usage_print(FILE *out, const struct stage *st, const struct subcommand *sub)
{
	int only;
	const struct subcommand *def = stage_default_sub(st, &only);

	if (!sub && def)
		sub = def;
	if (sub) {
		/* kubectl prints the one-line summary, then the long text. */
		const char *summary = sub->name && sub->summary ? sub->summary : st->summary;
		print_text(out, summary);
		/* the default command's help is the stage's: its text, then the command's */
		if (!sub->name && st->description)
			print_text(out, st->description);
		if (sub->description)
			print_text(out, sub->description);
		if (sub->alias && sub->name)
			fprintf(out, "Aliases:\n  %s, %s\n\n", sub->name, sub->alias);
		if (!sub->name)
			print_commands(out, st);
		usage_print_options(out, sub->options);
		fprintf(out, "Usage:\n  kubectl eidf %s%s%s %s\n", stage_name(st),
			sub->name ? " " : "", sub->name ? sub->name : "",
			sub->usage ? sub->usage : "[flags]");
		if (!sub->name && !only) {
			fprintf(out, "  kubectl eidf %s [command] [flags]\n\n", stage_name(st));
			fprintf(out, "Use \"kubectl eidf %s <command> --help\" for more information about a given command.\n",
				stage_name(st));
		}
		return;
	}
	print_text(out, st->summary);
	if (st->description)
		print_text(out, st->description);
	print_commands(out, st);
	usage_print_options(out, st->options);
	fprintf(out, "Usage:\n  kubectl eidf %s [command] [flags]\n\n", stage_name(st));
	fprintf(out, "Use \"kubectl eidf %s <command> --help\" for more information about a given command.\n",
		stage_name(st));
}
