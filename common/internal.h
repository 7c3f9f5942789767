/* Private glue between options.c, usage.c, cmd.c and complete.c (not part
 * of the public headers in include/eidf/). */
#ifndef EIDF_INTERNAL_H
#define EIDF_INTERNAL_H

#include "eidf/options.h"

/* Help printer used by parse_options on -h/--help; NULL restores the
 * default (usage line + option table). */
typedef void (*options_help_fn)(FILE *out, void *ctx);
void options_set_help(options_help_fn fn, void *ctx);

/* Does this option consume a value ("--flag value")? */
int option_takes_value(const struct option *o);

/* The option list part of --help (kubectl's layout). */
void usage_print_options(FILE *out, const struct option *opts);

/* The stage's default command (the entry with name == NULL), or NULL;
 * *only is set when it is the stage's only entry. */
const struct subcommand *stage_find_sub(const struct stage *st, const char *word);
const struct subcommand *stage_default_sub(const struct stage *st, int *only);
/* Index of the first positional argument of argv (option values skipped
 * using opts), or -1; *after_dashdash is set when it follows "--". */
int first_positional(int argc, const char **argv, const struct option *opts, int *after_dashdash);

/* complete_main strips descriptions when set (__completeNoDesc). */
extern int complete_no_desc;

#endif
