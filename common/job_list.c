/* The shared part of `fetch list`, `devrun list` and `build-context list`. */
#include "eidf/job_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eidf/cmd.h"
#include "eidf/kclient.h"
#include "eidf/manifest.h"
#include "eidf/util.h"

static int newest_first(const void *a, const void *b)
{
	const char *x = json_str(*(const cJSON *const *)a, "metadata.creationTimestamp");
	const char *y = json_str(*(const cJSON *const *)b, "metadata.creationTimestamp");
	int c = strcmp(y ? y : "", x ? x : ""); /* RFC 3339 UTC sorts as text */
	if (c)
		return c;
	/* the same second: by name, so that the order does not change between calls */
	x = json_str(*(const cJSON *const *)a, "metadata.name");
	y = json_str(*(const cJSON *const *)b, "metadata.name");
	return strcmp(x ? x : "", y ? y : "");
}

static int load(struct eidf_cmd *cmd, const char *output, const char *selector, const char *what,
		struct job_list *l)
{
	if (output_format_parse(output, &l->fmt) < 0) {
		eidf_error("%s", eidf_last_error());
		return EIDF_EXIT_USAGE;
	}
	l->ns = cmd_namespace(cmd);
	struct kclient *kc = l->ns ? cmd_client(cmd) : NULL;
	if (!kc)
		return EIDF_EXIT_ERROR;
	struct klist_opts lo = { .label_selector = selector };
	if (kclient_list(kc, &KRES_JOBS, l->ns, &lo, &l->jobs) < 0) {
		eidf_error("%s", eidf_last_error());
		return EIDF_EXIT_ERROR;
	}
	if (l->fmt != OUT_DEFAULT && l->fmt != OUT_WIDE)
		return output_object(stdout, l->jobs, l->fmt) < 0 ? EIDF_EXIT_ERROR : EIDF_EXIT_OK;
	const cJSON *items = cJSON_GetObjectItem(l->jobs, "items");
	size_t n = (size_t)cJSON_GetArraySize(items);
	if (!n) {
		fprintf(stderr, "No %s found in %s namespace.\n", what, l->ns);
		return EIDF_EXIT_OK;
	}
	/* states come from the pods and the Job's conditions together (jobstate) */
	if (kclient_list(kc, &KRES_PODS, l->ns, &lo, &l->pods) < 0) {
		eidf_error("%s", eidf_last_error());
		return EIDF_EXIT_ERROR;
	}
	l->items = xcalloc(n, sizeof(*l->items));
	const cJSON *it;
	cJSON_ArrayForEach(it, items)
		l->items[l->n++] = it;
	qsort(l->items, l->n, sizeof(*l->items), newest_first);
	return EIDF_EXIT_OK;
}

int job_list_load(struct eidf_cmd *cmd, const char *output, const char *selector, const char *what,
		  struct job_list *l)
{
	memset(l, 0, sizeof(*l));
	int rc = load(cmd, output, selector, what, l);
	if (rc || !l->n)
		job_list_release(l);
	return rc;
}

void job_list_release(struct job_list *l)
{
	free(l->items);
	cJSON_Delete(l->jobs);
	cJSON_Delete(l->pods);
	memset(l, 0, sizeof(*l));
}
