#include "helper_job.h"

#include <string.h>

#include "eidf/manifest.h"
#include "eidf/waiting.h"
#include "eidf/output.h"
#include "eidf/settings.h"
#include "eidf/stage_options.h"
#include "script_pvc_helper.h"

cJSON *helper_job_manifest(struct eidf_cmd *cmd, const char *ns, const struct helper_opts *o,
			   int measure, const char *const *argv)
{
	(void)cmd;
	struct job_policy pol = {
		.namespace = ns,
		.queue = policy_queue(),
		.eidf_user = policy_eidf_user(),
		.stage = "pvc",
		.ttl_seconds = 600,
		.backoff_limit = 0,
	};
	struct container_resources res = {
		.cpu_request = setting("pvc.helper-cpu", "100m"),
		.memory_request = setting("pvc.helper-memory", "128Mi"),
	};
	cJSON *job = manifest_job(&pol, "pvc-helper-");
	manifest_set_annotation(job, "eidf.ac.uk/pvc", o->pvc);
	cJSON *c = manifest_container("helper", o->image, &res);
	cJSON *cmdv = cJSON_AddArrayToObject(c, "command");
	if (measure) {
		cJSON_AddItemToArray(cmdv, cJSON_CreateString("sh"));
		cJSON_AddItemToArray(cmdv, cJSON_CreateString("-c"));
		cJSON_AddItemToArray(cmdv, cJSON_CreateString(script_pvc_helper));
		cJSON_AddItemToArray(cmdv, cJSON_CreateString("pvc-helper"));
	}
	for (size_t i = 0; argv[i]; i++)
		cJSON_AddItemToArray(cmdv, cJSON_CreateString(argv[i]));
	manifest_add_mount(c, "volume", o->mount, o->read_only);
	manifest_add_container(job, c, 0);
	if (o->pod_label)
		manifest_set_label(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(job, "spec"),
								    "template"), "eidf.ac.uk/pvc-cp", o->pod_label);
	manifest_add_volume(job, manifest_volume_pvc("volume", o->pvc, o->read_only));
	return job;
}

/* What the pod watch has seen so far. */
struct pod_wait {
	int want_running;      /* stop at Running instead of a finished pod */
	char *pod;
	char *last_note;       /* last reason printed, to print each change once */
	int done;              /* 1 reached, -1 failed for good */
	char *failure;
};

static void note(struct pod_wait *w, const char *msg)
{
	if (w->last_note && !strcmp(w->last_note, msg))
		return;
	free(w->last_note);
	w->last_note = xstrdup(msg);
	fprintf(stderr, "%s\n", msg);
}

/* Why a pod is not running yet, from its conditions and container states. */
static char *pending_reason(const cJSON *pod)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, json_get(pod, "status.conditions")) {
		const char *type = json_str(c, "type"), *st = json_str(c, "status");
		if (type && st && !strcmp(type, "PodScheduled") && !strcmp(st, "False"))
			return xasprintf("%s: %s", json_str(c, "reason") ? json_str(c, "reason") : "Unschedulable",
					 json_str(c, "message") ? json_str(c, "message") : "");
	}
	const char *lists[] = { "status.initContainerStatuses", "status.containerStatuses" };
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(lists); i++) {
		cJSON_ArrayForEach(c, json_get(pod, lists[i])) {
			const char *r = json_str(c, "state.waiting.reason");
			if (r && strcmp(r, "PodInitializing") && strcmp(r, "ContainerCreating"))
				return xasprintf("%s: %s", r, json_str(c, "state.waiting.message") ?
						 json_str(c, "state.waiting.message") : json_str(c, "image"));
		}
	}
	return NULL;
}

static int on_pod(const char *type, const cJSON *pod, void *ud)
{
	struct pod_wait *w = ud;
	const char *name = json_str(pod, "metadata.name");
	if (!name)
		return 0;
	if (!strcmp(type, "DELETED")) {
		if (w->pod && !strcmp(w->pod, name)) {
			w->failure = xasprintf("helper pod %s was deleted before it finished", name);
			w->done = -1;
			return 1;
		}
		return 0;
	}
	if (!w->pod)
		w->pod = xstrdup(name);
	else if (strcmp(w->pod, name)) {
		free(w->pod);
		w->pod = xstrdup(name);
	}
	const char *phase = json_str(pod, "status.phase");
	phase = phase ? phase : "Pending";
	if (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")) {
		w->done = 1;
		return 1;
	}
	if (!strcmp(phase, "Running")) {
		if (w->want_running) {
			w->done = 1;
			return 1;
		}
		return 0;
	}
	char *why = pending_reason(pod);
	if (why) {
		char *msg = xasprintf("helper pod %s is Pending: %s", name, why);
		note(w, msg);
		free(msg);
		if (strstr(why, "ErrImagePull") || strstr(why, "ImagePullBackOff") ||
		    strstr(why, "InvalidImageName")) {
			w->failure = xasprintf("helper pod %s cannot pull its image (%s); choose another with --image",
					       name, why);
			w->done = -1;
			free(why);
			return 1;
		}
		free(why);
	}
	return 0;
}

static int create_job(struct eidf_cmd *cmd, const char *ns, const struct helper_opts *o,
		      int measure, const char *const *argv, char **job_name)
{
	struct kclient *kc = cmd_client(cmd);
	if (!kc)
		return -1;
	cJSON *job = helper_job_manifest(cmd, ns, o, measure, argv);
	cJSON *created = NULL;
	int rc = kclient_create(kc, &KRES_JOBS, ns, job, 0, &created);
	cJSON_Delete(job);
	if (rc)
		return -1;
	*job_name = xstrdup(json_str(created, "metadata.name"));
	cJSON_Delete(created);
	if (!*job_name) {
		eidf_set_error("the API server returned a Job without a name");
		return -1;
	}
	return 0;
}

static int wait_pod(struct eidf_cmd *cmd, const char *ns, const char *job,
		    const struct helper_opts *o, int want_running, char **pod)
{
	struct kclient *kc = cmd_client(cmd);
	struct pod_wait w = { .want_running = want_running };
	char *sel = xasprintf("job-name=%s", job);
	struct klist_opts lo = { .label_selector = sel };
	char *queue = policy_queue_name(ns, policy_queue());
	fprintf(stderr, "waiting for helper Job %s (queue %s)...\n", job, queue);
	free(queue);
	/* an API outage is ridden out; Ctrl-C ends the wait and the caller
	 * deletes the helper (nothing of the user's goes on) */
	char *subject = xasprintf("helper job.batch/%s", job);
	struct wait_hints h = { .subject = subject };
	int rc = wait_begin(cmd, &h, 0);
	if (rc == 0)
		rc = kclient_watch(kc, &KRES_PODS, ns, &lo, o->timeout_ms, on_pod, &w);
	wait_end_quiet(0);
	free(subject);
	free(sel);
	free(w.last_note);
	if (rc < 0) {
		free(w.pod);
		free(w.failure);
		return -1;
	}
	if (w.done != 1) {
		if (w.failure)
			eidf_set_error("%s", w.failure);
		else
			eidf_set_error("timed out waiting for helper Job %s to %s; see: kubectl -n %s describe job %s",
				       job, want_running ? "start" : "finish", ns, job);
		free(w.failure);
		free(w.pod);
		return -1;
	}
	free(w.failure);
	*pod = w.pod;
	return 0;
}

static int collect_log(struct kclient *kc, const char *ns, const char *pod, struct strbuf *log);

int helper_job_run(struct eidf_cmd *cmd, const char *ns, const struct helper_opts *o,
		   const char *const *argv, struct strbuf *log)
{
	char *job = NULL, *pod = NULL;
	if (create_job(cmd, ns, o, 1, argv, &job))
		return -1;
	int rc = wait_pod(cmd, ns, job, o, 0, &pod);
	if (!rc)
		rc = collect_log(cmd_client(cmd), ns, pod, log);
	/* Keep the error of the run, not of the clean-up. */
	char *err = rc ? xstrdup(eidf_last_error()) : NULL;
	if (helper_job_delete(cmd, ns, job))
		eidf_warning("could not delete helper Job %s: %s", job, eidf_last_error());
	if (err) {
		eidf_set_error("%s", err);
		free(err);
	}
	free(job);
	free(pod);
	return rc;
}

static int append_log(const char *data, size_t len, void *ud)
{
	strbuf_add(ud, data, len);
	return 0;
}

static int collect_log(struct kclient *kc, const char *ns, const char *pod, struct strbuf *log)
{
	struct klog_opts lo = { .tail_lines = -1 };
	return kclient_logs(kc, ns, pod, &lo, append_log, log);
}

int helper_job_start(struct eidf_cmd *cmd, const char *ns, const struct helper_opts *o,
		     const char *const *argv, char **job, char **pod)
{
	if (create_job(cmd, ns, o, 0, argv, job))
		return -1;
	if (wait_pod(cmd, ns, *job, o, 1, pod)) {
		char *err = xstrdup(eidf_last_error());
		helper_job_delete(cmd, ns, *job);
		eidf_set_error("%s", err);
		free(err);
		return -1;
	}
	return 0;
}

int helper_job_delete(struct eidf_cmd *cmd, const char *ns, const char *job)
{
	struct kclient *kc = cmd_client(cmd);
	if (!kc)
		return -1;
	return kclient_delete(kc, &KRES_JOBS, ns, job, "Background", 0);
}
