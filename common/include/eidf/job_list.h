/* A stage's `list`: its Jobs (chosen by a label selector) and their pods, in
 * two requests, newest first, with -o json|yaml|name and the empty case
 * handled the same way in every stage.  The stage only turns each Job (with
 * the pods, through jobstate) into its table row. */
#ifndef EIDF_JOB_LIST_H
#define EIDF_JOB_LIST_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "eidf/output.h"

struct eidf_cmd;

struct job_list {
	const char *ns;           /* the command's namespace */
	enum output_format fmt;   /* OUT_DEFAULT or OUT_WIDE: the table to print */
	cJSON *jobs;              /* the Job List as the server sent it */
	cJSON *pods;              /* the pods with the same labels (a List) */
	const cJSON **items;      /* the Jobs, newest first */
	size_t n;
};

/* Read the Jobs matching SELECTOR in the command's namespace.  -o json, yaml
 * or name (OUTPUT) prints the Job List itself; no Job prints "No WHAT found in
 * NS namespace." on stderr, as kubectl does.  Returns 0 with l->n > 0 when the
 * caller prints its table (and releases l); 0 with l->n == 0 when nothing is
 * left to do; else the exit code, after printing the error (l is released in
 * both cases). */
int job_list_load(struct eidf_cmd *cmd, const char *output, const char *selector, const char *what,
		  struct job_list *l);
void job_list_release(struct job_list *l);

#endif
