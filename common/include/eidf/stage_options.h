/* Option declarations that several stages share, so that --dry-run and -o
 * read, complete and document the same way everywhere. */
#ifndef EIDF_STAGE_OPTIONS_H
#define EIDF_STAGE_OPTIONS_H

#include "eidf/options.h"
#include "eidf/output.h"

/* Options most stages share, bound to the caller's variable. */
extern const char *const dry_run_values[];  /* none, client, server */
#define OPT_DRY_RUN(var) { .type = OPT_TYPE_STRING, .long_name = "dry-run", .value = (var), \
	.argh = "strategy", .help = "only show what would be sent: client or server", \
	.flags = OPT_OPTARG, .optarg_default = "client", .enum_values = dry_run_values, \
	.complete = COMPLETE_ENUM }
#define OPT_OUTPUT(var) OPT_ENUM('o', "output", (var), "format", \
	"output format: json, yaml, name or wide", output_formats), OPT_SHOW_MANAGED_FIELDS()
/* kubectl's flag: -o json|yaml keep metadata.managedFields (dropped otherwise). */
#define OPT_SHOW_MANAGED_FIELDS() OPT_BOOL(0, "show-managed-fields", &output_show_managed_fields, \
	"with -o json|yaml, keep metadata.managedFields")
/* 0: no dry run, 1: client, 2: server (dryRun=All). */
int dry_run_mode(const char *value);

/* Job policy flags for every command that creates a Job:
 *   --queue NAME        Kueue LocalQueue label (default <namespace>-user-queue,
 *                       or the setting "queue")
 *   --eidf-user[=NAME]  add the eidf/user label; NAME defaults to $USER (the
 *                       setting "eidf-user" adds it without the flag)
 * Stages with their own --queue include only eidf_user_options. */
extern const struct option policy_options[];
extern const struct option eidf_user_options[];
/* The queue override (flag, then setting), or NULL for the default. */
const char *policy_queue(void);
/* The eidf/user label value (flag, then setting), or NULL for none. */
const char *policy_eidf_user(void);

#endif
