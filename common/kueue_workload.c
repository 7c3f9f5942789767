/* Why a queued Job waits, in Kueue's own words: one LIST of Workloads by the
 * label Kueue puts on the Workload of a Job (kueue.x-k8s.io/job-uid). */
#include "eidf/kueue_workload.h"

#include <string.h>

#include "eidf/kclient.h"
#include "eidf/manifest.h"
#include "eidf/util.h"

char *kueue_pending_message(struct kclient *kc, const char *ns, const char *job_uid)
{
	if (!job_uid || !*job_uid)
		return NULL;
	char *sel = xasprintf("kueue.x-k8s.io/job-uid=%s", job_uid);
	struct klist_opts lo = { .label_selector = sel };
	cJSON *list = NULL, *it, *c;
	char *msg = NULL;
	if (kclient_list(kc, &KRES_WORKLOADS, ns, &lo, &list) == 0) {
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(list, "items")) {
			cJSON_ArrayForEach(c, json_get(it, "status.conditions")) {
				const char *t = json_str(c, "type"), *s = json_str(c, "status");
				const char *m = json_str(c, "message");
				if (!msg && t && s && m && !strcmp(t, "QuotaReserved") && strcmp(s, "True"))
					msg = xstrdup(m);
			}
		}
	}
	cJSON_Delete(list);
	free(sel);
	return msg;
}
