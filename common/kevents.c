/* The newest Warning event of an object (see eidf/kevents.h). */
#include "eidf/kevents.h"

#include <string.h>
#include <stdlib.h>

#include "eidf/kclient.h"
#include "eidf/manifest.h"
#include "eidf/util.h"

/* When the event last happened: series, lastTimestamp, eventTime, creation. */
static const char *event_time(const cJSON *e)
{
	static const char *const paths[] = { "series.lastObservedTime", "lastTimestamp", "eventTime",
					     "metadata.creationTimestamp" };
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(paths); i++) {
		const char *t = json_str(e, paths[i]);
		if (t && *t)
			return t;
	}
	return "";
}

int kevents_latest_warning(struct kclient *kc, const char *ns, const char *kind, const char *name,
			   const char *skip, struct kevent_warning *out)
{
	memset(out, 0, sizeof(*out));
	char *fs = xasprintf("involvedObject.kind=%s,involvedObject.name=%s,type=Warning", kind, name);
	struct klist_opts lo = { .field_selector = fs };
	cJSON *list = NULL;
	int rc = kclient_list(kc, &KRES_EVENTS, ns, &lo, &list);
	free(fs);
	if (rc < 0)
		return kclient_last_http_status(kc) == 403 ? 0 : -1;
	const cJSON *e, *best = NULL;
	const char *best_t = "";
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(list, "items")) {
		const char *type = json_str(e, "type");
		if (!type || strcmp(type, "Warning"))
			continue; /* whatever the server did with the selector */
		const char *reason = json_str(e, "reason");
		if (skip && reason && !strcmp(reason, skip))
			continue;
		/* RFC 3339 UTC times compare as strings; the later one wins */
		const char *t = event_time(e);
		if (!best || strcmp(t, best_t) >= 0) {
			best = e;
			best_t = t;
		}
	}
	if (best) {
		out->reason = xstrdup(json_str(best, "reason") ? json_str(best, "reason") : "Warning");
		out->message = xstrdup(json_str(best, "message") ? json_str(best, "message") : "");
	}
	cJSON_Delete(list);
	return best != NULL;
}

void kevent_warning_release(struct kevent_warning *w)
{
	free(w->reason);
	free(w->message);
	memset(w, 0, sizeof(*w));
}
