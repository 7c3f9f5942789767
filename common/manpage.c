/* man(7) page of a stage, generated from the tables that drive --help. */
#include "eidf/manpage.h"
#include "eidf/cmd.h"
#include "internal.h"

#include <string.h>

/* Write text as troff input.  The caller is at the start of an output line;
 * blank lines become paragraph breaks, control characters at the start of
 * a line are neutralised, '\' and '-' are escaped (so "--flag" renders as
 * two ASCII hyphens and can be copied). */
static void roff_text(FILE *out, const char *s)
{
	int bol = 1;

	for (const char *p = s ? s : ""; *p; p++) {
		if (*p == '\n') {
			if (p[1] == '\n') {
				fputs("\n.PP\n", out);
				while (p[1] == '\n')
					p++;
			} else {
				fputc('\n', out);
			}
			bol = 1;
			continue;
		}
		if (bol && (*p == '.' || *p == '\''))
			fputs("\\&", out);
		bol = 0;
		if (*p == '\\')
			fputs("\\e", out);
		else if (*p == '-')
			fputs("\\-", out);
		else
			fputc(*p, out);
	}
	if (!bol)
		fputc('\n', out);
}

/* Inline (no line structure): for macro arguments and tags. */
static void roff_inline(FILE *out, const char *s)
{
	for (const char *p = s ? s : ""; *p; p++) {
		if (*p == '\\')
			fputs("\\e", out);
		else if (*p == '-')
			fputs("\\-", out);
		else if (*p == '"')
			fputs("\\(dq", out);
		else if (*p == '\n')
			fputc(' ', out);
		else
			fputc(*p, out);
	}
}

static void upper_inline(FILE *out, const char *s)
{
	for (const char *p = s; *p; p++) {
		if (*p == '-')
			fputs("\\-", out);
		else
			fputc(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p, out);
	}
}

/* "kubectl-eidf-build_context": the executable (and page) name. */
static char *page_name(const struct stage *st)
{
	char *name = xasprintf("kubectl-eidf-%s", st->name ? st->name : "");
	for (char *p = name + strlen("kubectl-eidf-"); *p; p++)
		if (*p == '-')
			*p = '_';
	return name;
}

/* ---- options -------------------------------------------------------------------- */

struct opt_ctx {
	FILE *out;       /* NULL: only count */
	int skip_kube;   /* leave out the generic table (it has its own section) */
	int count;       /* options written */
	int ended;       /* the text so far ends a sentence */
};

/* Start another sentence of an option's description. */
static void sentence(struct opt_ctx *c, const char *text)
{
	fputs(c->ended ? " " : ". ", c->out);
	fputs(text, c->out);
	c->ended = 1;
}

static int in_kube_options(const struct option *o)
{
	const struct option *k = kube_options;
	while (k->type != OPT_TYPE_END)
		k++;
	return o >= kube_options && o < k;
}

static void print_default(struct opt_ctx *c, const struct option *o)
{
	FILE *out = c->out;

	if (o->defval) {
		if (*o->defval && strcmp(o->defval, "false")) {
			sentence(c, "Default: \\fB");
			roff_inline(out, o->defval);
			fputs("\\fR.", out);
		}
		goto optarg;
	}
	switch (o->type) {
	case OPT_TYPE_BOOL:
		if (o->value && *(const int *)o->value > 0)
			sentence(c, "Default: true.");
		break;
	case OPT_TYPE_INT:
		if (o->value && *(const long *)o->value)
			{
			sentence(c, "");
			fprintf(out, "Default: %ld.", *(const long *)o->value);
		}
		break;
	case OPT_TYPE_STRING:
	case OPT_TYPE_DURATION:
	case OPT_TYPE_SIZE: {
		const char *v = o->value ? *(const char *const *)o->value : NULL;
		if (v && *v) {
			sentence(c, "Default: \\fB");
			roff_inline(out, v);
			fputs("\\fR.", out);
		}
		break;
	}
	default:
		break;
	}
optarg:
	if ((o->flags & OPT_OPTARG) && o->optarg_default) {
		sentence(c, "Without a value: \\fB");
		roff_inline(out, o->optarg_default);
		fputs("\\fR.", out);
	}
}

static void print_option(const struct option *o, void *vctx)
{
	struct opt_ctx *c = vctx;
	FILE *out = c->out;
	const char *help = o->help ? o->help : "";
	size_t hl = strlen(help);

	if (o->type == OPT_TYPE_GROUP || (o->flags & OPT_HIDDEN))
		return;
	if (c->skip_kube && in_kube_options(o))
		return;
	c->count++;
	if (!out)
		return;
	fputs(".TP\n", out);
	if (o->short_name) {
		fprintf(out, "\\fB\\-%c\\fR", o->short_name);
		if (o->long_name)
			fputs(", ", out);
	}
	if (o->long_name) {
		fputs("\\fB\\-\\-", out);
		roff_inline(out, o->long_name);
		fputs("\\fR", out);
		if ((o->flags & OPT_NEGATABLE) && o->type == OPT_TYPE_BOOL) {
			fputs(", \\fB\\-\\-no\\-", out);
			roff_inline(out, o->long_name);
			fputs("\\fR", out);
		}
	}
	if (option_takes_value(o) || (o->flags & OPT_OPTARG)) {
		const char *argh = o->argh ? o->argh : "value";
		fputs((o->flags & OPT_OPTARG) ? "[=\\fI" : (o->long_name ? "=\\fI" : " \\fI"), out);
		roff_inline(out, argh);
		fputs((o->flags & OPT_OPTARG) ? "\\fR]" : "\\fR", out);
	}
	fputc('\n', out);

	if (hl) {
		fputs("\\&", out); /* help may start with '.' or a quote */
		roff_inline(out, help);
	}
	c->ended = !hl || help[hl - 1] == '.';
	if (o->enum_values && !strstr(help, "One of")) {
		sentence(c, "One of: ");
		for (size_t i = 0; o->enum_values[i]; i++) {
			fputs(i ? ", \\fB" : "\\fB", out);
			roff_inline(out, o->enum_values[i]);
			fputs("\\fR", out);
		}
		fputc('.', out);
	}
	if (o->type == OPT_TYPE_INT && (o->min || o->max)) {
		sentence(c, "");
		fprintf(out, "Range: %ld to %ld.", o->min, o->max);
	}
	if (o->type == OPT_TYPE_LIST && !strstr(help, "repeatable"))
		sentence(c, "May be repeated.");
	if (o->flags & OPT_REQUIRED)
		sentence(c, "Required.");
	print_default(c, o);
	fputc('\n', out);
}

static int print_options(FILE *out, const struct option *opts, int skip_kube)
{
	struct opt_ctx c = { .out = out, .skip_kube = skip_kube };
	if (opts)
		options_walk(opts, print_option, &c);
	return c.count;
}

static int count_options(const struct option *opts)
{
	return print_options(NULL, opts, 1);
}

/* ---- sections ------------------------------------------------------------------------ */

static void synopsis_line(FILE *out, const struct stage *st, const struct subcommand *s)
{
	fputs("\\fBkubectl eidf ", out);
	roff_inline(out, st->name);
	if (s && s->name) {
		fputc(' ', out);
		roff_inline(out, s->name);
	}
	fputs("\\fR ", out);
	roff_inline(out, s && s->usage ? s->usage : s ? "[flags]" : "COMMAND [flags]");
	fputc('\n', out);
}

static void subcommand_section(FILE *out, const struct stage *st, const struct subcommand *s)
{
	const char *text = s->description ? s->description : s->summary;

	fputs(".SS \"", out);
	roff_inline(out, "kubectl eidf ");
	roff_inline(out, st->name);
	if (s->name) {
		fputc(' ', out);
		roff_inline(out, s->name);
	} else {
		fputs(" (default command)", out);
	}
	fputs("\"\n", out);
	if (s->summary && s->description) {
		roff_text(out, s->summary);
		fputs(".PP\n", out);
	}
	if (!s->name && !text)
		text = st->summary;
	roff_text(out, text);
	if (s->alias) {
		fputs(".PP\nAlias: \\fB", out);
		roff_inline(out, s->alias);
		fputs("\\fR.\n", out);
	}
	fputs(".PP\nUsage: ", out);
	synopsis_line(out, st, s);
	fputs(".PP\nOptions:\n.RS\n", out);
	if (!print_options(out, s->options, 1))
		fputs(".PP\nNone besides the Kubernetes options.\n", out);
	fputs(".RE\n", out);
}

void manpage_print(FILE *out, const struct stage *st)
{
	char *page = page_name(st);
	int only, named = 0;
	const struct subcommand *def = stage_default_sub(st, &only);

	for (const struct subcommand *s = st->subcommands; s && s->run; s++)
		named += s->name != NULL;

	fputs(".\\\" Generated by `", out);
	roff_inline(out, page);
	fputs(" __man` from the option tables; do not edit.\n", out);
	fputs(".TH \"", out);
	upper_inline(out, page);
	fputs("\" 1 \"\" \"kubectl\\-eidf " EIDF_VERSION "\" \"kubectl-eidf Manual\"\n", out);

	fputs(".SH NAME\n", out);
	roff_inline(out, page);
	fputs(" \\- ", out);
	roff_inline(out, st->summary ? st->summary : "");
	fputc('\n', out);

	fputs(".SH SYNOPSIS\n", out);
	if (def)
		synopsis_line(out, st, def);
	for (const struct subcommand *s = st->subcommands; s && s->run; s++) {
		if (!s->name)
			continue;
		if (def || s != st->subcommands)
			fputs(".br\n", out);
		synopsis_line(out, st, s);
	}
	if (!st->subcommands || !st->subcommands->run)
		synopsis_line(out, st, NULL);

	fputs(".SH DESCRIPTION\n", out);
	roff_text(out, st->description ? st->description : st->summary);
	fputs(".PP\nRun as \\fBkubectl eidf ", out);
	roff_inline(out, st->name);
	fputs("\\fR (kubectl finds \\fB", out);
	roff_inline(out, page);
	fputs("\\fR through the \\fBkubectl\\-eidf\\fR dispatcher) or directly as \\fB", out);
	roff_inline(out, page);
	fputs("\\fR.\nFlags may be given before or after arguments; "
	      "\\fB\\-\\-flag=value\\fR and \\fB\\-\\-flag value\\fR are equivalent, "
	      "and \\fB\\-\\-\\fR ends the flags.\n", out);

	if (count_options(st->options)) {
		fputs(".SH OPTIONS\n", out);
		print_options(out, st->options, 1);
	}

	if (named || def) {
		fputs(named ? ".SH COMMANDS\n" : ".SH USAGE\n", out);
		if (def)
			subcommand_section(out, st, def);
		for (const struct subcommand *s = st->subcommands; s && s->run; s++)
			if (s->name)
				subcommand_section(out, st, s);
	}

	fputs(".SH KUBERNETES OPTIONS\n"
	      "Every command accepts the generic kubectl flags; they select the kubeconfig,\n"
	      "context, namespace and credentials exactly as kubectl does.\n", out);
	print_options(out, kube_options, 0);

	fputs(".SH ENVIRONMENT\n"
	      ".TP\n.B KUBECONFIG\n"
	      "Colon-separated list of kubeconfig files, merged as kubectl merges them\n"
	      "(default \\fI~/.kube/config\\fR).\n"
	      ".TP\n.B NO_COLOR\n"
	      "When set, output is not coloured.\n", out);

	fputs(".SH EXIT STATUS\n"
	      ".TP\n.B 0\nSuccess.\n"
	      ".TP\n.B 1\nAn error: the message on standard error names the object and the fix.\n"
	      ".TP\n.B 2\nA usage error (unknown flag or command, bad or missing argument).\n"
	      ".PP\nCommands documented above as returning another code (for example the exit\n"
	      "code of a workload they ran) say so in their description.\n", out);

	fputs(".SH SEE ALSO\n"
	      ".BR kubectl\\-eidf (1),\n"
	      ".BR kubectl (1)\n", out);
	free(page);
}
