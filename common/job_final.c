/* The Job once its end is recorded: see eidf/job_final.h. */
#include "eidf/job_final.h"

#include <stdlib.h>
#include <string.h>

#include "eidf/jobstate.h"
#include "eidf/kclient.h"
#include "eidf/util.h"

static int recorded(const cJSON *job)
{
	return jobstate_condition(job, "Complete", NULL, NULL) == 1 ||
	       jobstate_condition(job, "Failed", NULL, NULL) == 1;
}

static int until_recorded(const char *type, const cJSON *job, void *ud)
{
	cJSON **last = ud;
	if (!strcmp(type, "DELETED"))
		return 1;
	cJSON_Delete(*last);
	*last = cJSON_Duplicate(job, 1);
	return recorded(job);
}

cJSON *job_final_object(struct kclient *kc, const char *ns, const char *name, long timeout_ms)
{
	cJSON *job = NULL, *pods = NULL;
	if (kclient_get(kc, &KRES_JOBS, ns, name, &job) < 0)
		return NULL;
	if (recorded(job))
		return job;
	char *sel = xasprintf("job-name=%s", name);
	struct klist_opts lo = { .label_selector = sel };
	struct jobstate_info st;
	int lrc = kclient_list(kc, &KRES_PODS, ns, &lo, &pods);
	free(sel);
	if (lrc < 0) /* the Job alone is still an answer */
		return job;
	jobstate_derive(job, pods, &st);
	cJSON_Delete(pods);
	if (st.state != JOBSTATE_COMPLETING && st.state != JOBSTATE_FAILING)
		return job;
	/* resume from the version read: no change in between is missed */
	char *fsel = xasprintf("metadata.name=%s", name);
	const cJSON *rv = cJSON_GetObjectItem(cJSON_GetObjectItem(job, "metadata"), "resourceVersion");
	struct klist_opts wo = { .field_selector = fsel, .resource_version = cJSON_GetStringValue(rv) };
	cJSON *last = NULL;
	int wrc = kclient_watch(kc, &KRES_JOBS, ns, &wo, timeout_ms, until_recorded, &last);
	free(fsel);
	if (wrc >= 0 && last) { /* recorded, or the newest seen when the time ran out */
		cJSON_Delete(job);
		return last;
	}
	cJSON_Delete(last);
	return job;
}
