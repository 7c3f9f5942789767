/* devrun sessions: finding, creating and waiting for the held pod, and one
 * run in it (see session.h, docs/devrun.md "Sessions"). */
#include "session.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>

#include "changes.h"
#include "eidf/cmd.h"
#include "eidf/humanize.h"
#include "eidf/jobstate.h"
#include "eidf/manifest.h"
#include "eidf/output.h"
#include "eidf/settings.h"
#include "follow.h"
#include "repo_state.h"
#include "script_init_code.h"
#include "script_session_agent.h"
#include "script_session_cancel.h"
#include "script_session_holder.h"
#include "script_session_run.h"
#include "session_delta.h"
#include "session_exec.h"
#include "session_internal.h"
#include "submodules.h"

void session_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%sdevrun:%s ", color(stderr, COLOR_BOLD), color(stderr, COLOR_RESET));
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int session_check_name(const char *name)
{
	if (!name || !is_dns1123_label(name) || strlen(name) > 30) {
		eidf_set_error("session name \"%s\": use lowercase letters, digits and '-' (at most 30 "
			       "characters)", name ? name : "");
		return -1;
	}
	return 0;
}

long session_idle_seconds(const char *flag)
{
	const char *v = flag ? flag : setting("devrun.idle-timeout", SESSION_DEFAULT_IDLE);
	long ms = parse_duration_ms(v);
	if (ms < 1000) {
		eidf_set_error("invalid value \"%s\" for --idle-timeout (setting devrun.idle-timeout): use "
			       "a duration of at least 1s, such as 30m or 2h", v);
		return -1;
	}
	return ms / 1000;
}

/* ---- the Job ------------------------------------------------------------------ */

static cJSON *find_container(cJSON *job, const char *name)
{
	cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(manifest_pod_spec(job), "containers")) {
		const char *n = json_str(c, "name");
		if (n && !strcmp(n, name))
			return c;
	}
	return NULL;
}

/* The session's options as stored: those of devrun without a command. */
static char *session_opts_json(const struct devrun_opts *o)
{
	struct devrun_opts oc = *o;
	memset(&oc.argv, 0, sizeof(oc.argv));
	oc.shell = oc.keep_entrypoint = 0;
	return devrun_opts_to_json(&oc);
}

cJSON *session_job_manifest(const struct devrun_opts *o, const char *name, long idle_s,
			    const char *url, const char *commit, const char *ref, const char *run_id)
{
	/* devrun's Job with the holder as the command, so the policy set, the
	 * resources and the code init container are the same as for a run */
	struct devrun_opts oh = *o;
	memset(&oh.argv, 0, sizeof(oh.argv));
	strvec_push(&oh.argv, "/bin/sh");
	strvec_push(&oh.argv, "-c");
	strvec_push(&oh.argv, script_session_holder);
	strvec_push(&oh.argv, "devrun-session");
	oh.shell = oh.keep_entrypoint = 0;
	char *prefix = xasprintf("%s-%s", o->name ? o->name : "devrun", name);
	oh.name = prefix;
	struct devrun_code code = { .url = url, .commit = commit, .ref = ref };
	cJSON *job = devrun_job_manifest(&oh, &code, run_id, script_init_code);
	strvec_clear(&oh.argv);
	free(prefix);

	char *opts = session_opts_json(o);
	char *idle = xasprintf("%ld", idle_s);
	cJSON *tmpl = cJSON_GetObjectItem(cJSON_GetObjectItem(job, "spec"), "template");
	cJSON *objs[] = { job, tmpl };
	for (size_t i = 0; i < 2; i++) {
		manifest_set_label(objs[i], LABEL_SESSION, name);
		manifest_set_annotation(objs[i], ANNOT_DEVRUN_OPTIONS, opts);
		manifest_set_annotation(objs[i], ANNOT_SESSION_IDLE, idle);
	}
	cJSON *main_c = find_container(job, DEVRUN_MAIN_CONTAINER);
	manifest_add_env(main_c, "EIDF_SESSION_DIR", SESSION_DIR);
	manifest_add_env(main_c, "EIDF_SESSION_IDLE", idle);
	manifest_add_mount(main_c, "session", SESSION_DIR, 0);

	/* the code agent: git next to the command, sharing /code */
	struct container_resources ires = {
		.cpu_request = o->init_cpu ? o->init_cpu : "1",
		.memory_request = o->init_memory ? o->init_memory : "1Gi",
	};
	cJSON *sync = manifest_container(SESSION_SYNC_CONTAINER,
					 o->git_image ? o->git_image : DEVRUN_DEFAULT_GIT_IMAGE, &ires);
	cJSON *cmd = cJSON_AddArrayToObject(sync, "command");
	cJSON_AddItemToArray(cmd, cJSON_CreateString("/bin/sh"));
	cJSON_AddItemToArray(cmd, cJSON_CreateString("-c"));
	char *agent = devrun_git_script(script_session_agent);
	cJSON_AddItemToArray(cmd, cJSON_CreateString(agent));
	free(agent);
	cJSON_AddItemToArray(cmd, cJSON_CreateString("session-agent"));
	manifest_add_env(sync, "EIDF_SESSION_DIR", SESSION_DIR);
	manifest_add_env(sync, "EIDF_CODE_DIR", DEVRUN_CODE_DIR);
	manifest_add_mount(sync, "code", DEVRUN_CODE_DIR, 0);
	manifest_add_mount(sync, "session", SESSION_DIR, 0);
	/* a new pushed commit is fetched with the init container's credentials */
	devrun_git_secret_mount(o, sync);
	manifest_add_container(job, sync, 0);
	manifest_add_volume(job, manifest_volume_empty_dir("session", NULL, NULL));
	free(opts);
	free(idle);
	return job;
}

/* ---- finding the session ---------------------------------------------------------- */

static int container_running(const cJSON *pod, const char *name)
{
	const cJSON *cs;
	cJSON_ArrayForEach(cs, json_get(pod, "status.containerStatuses")) {
		const char *n = json_str(cs, "name");
		if (n && !strcmp(n, name))
			return json_get(cs, "state.running") != NULL;
	}
	return 0;
}

int session_pod_ready(const cJSON *pod)
{
	const char *phase = json_str(pod, "status.phase");
	return pod && !json_get(pod, "metadata.deletionTimestamp") && phase && !strcmp(phase, "Running") &&
	       container_running(pod, DEVRUN_MAIN_CONTAINER) && container_running(pod, SESSION_SYNC_CONTAINER);
}

void session_found_release(struct session_found *f)
{
	cJSON_Delete(f->pods);
	cJSON_Delete(f->jobs);
	memset(f, 0, sizeof(*f));
}

static const char *newer(const cJSON *a, const cJSON *b)
{
	const char *ta = json_str(a, "metadata.creationTimestamp"), *tb = json_str(b, "metadata.creationTimestamp");
	return ta && tb && strcmp(ta, tb) > 0 ? "a" : "b";
}

int session_find(struct kclient *kc, const char *ns, const char *name, int with_jobs, struct session_found *f)
{
	memset(f, 0, sizeof(*f));
	char *sel = xasprintf("%s=devrun,%s=%s", LABEL_STAGE, LABEL_SESSION, name);
	struct klist_opts lo = { .label_selector = sel };
	int rc = kclient_list(kc, &KRES_PODS, ns, &lo, &f->pods);
	if (rc == 0 && with_jobs)
		rc = kclient_list(kc, &KRES_JOBS, ns, &lo, &f->jobs);
	free(sel);
	if (rc < 0)
		return -1;
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(f->pods, "items"))
		if (session_pod_ready(it) && (!f->pod || *newer(it, f->pod) == 'a'))
			f->pod = it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(f->jobs, "items")) {
		struct jobstate_info st;
		jobstate_derive(it, f->pods, &st);
		if (json_get(it, "metadata.deletionTimestamp"))
			continue;
		if (jobstate_finished(st.state) || jobstate_done(st.state)) {
			if (!f->ended || *newer(it, f->ended) == 'a')
				f->ended = it;
			continue;
		}
		if (!f->job || *newer(it, f->job) == 'a')
			f->job = it;
	}
	return 0;
}

/* ---- waiting for the pod --------------------------------------------------------------- */

struct wait_ctx {
	const char *name;
	cJSON *pod;             /* the ready pod (copy) */
	char *last;             /* last status line */
	int code;               /* exit code when it can never become ready, else 0 */
	char *why;
};

static void say_once(struct wait_ctx *w, char *line)
{
	if (!w->last || strcmp(w->last, line)) {
		session_note("session %s: %s", w->name, line);
		free(w->last);
		w->last = line;
	} else {
		free(line);
	}
}

static int on_pod(const char *type, const cJSON *pod, void *ud)
{
	struct wait_ctx *w = ud;
	if (!strcmp(type, "DELETED"))
		return 0;
	const char *pname = json_str(pod, "metadata.name");
	if (session_pod_ready(pod)) {
		w->pod = cJSON_Duplicate(pod, 1);
		return 1;
	}
	const char *reason, *message, *container;
	int init;
	if (jobstate_pod_stuck(pod, &reason, &message, &container, &init)) {
		w->code = jobstate_reason_is_pull(reason) ? DEVRUN_EXIT_PULL : DEVRUN_EXIT_ERROR;
		w->why = xasprintf("pod %s can never start: %s: %s", pname, reason, message ? message : "");
		return 1;
	}
	const char *phase = json_str(pod, "status.phase");
	if (phase && (!strcmp(phase, "Failed") || !strcmp(phase, "Succeeded"))) {
		if (json_get(pod, "metadata.deletionTimestamp"))
			return 0; /* evicted: Kueue admits the Job again */
		w->code = DEVRUN_EXIT_ERROR;
		w->why = xasprintf("pod %s ended (%s) before the session was ready; see kubectl eidf devrun logs "
				   "%s --init", pname, phase, json_str(pod, "metadata.labels.job-name") ?
				   json_str(pod, "metadata.labels.job-name") : pname);
		return 1;
	}
	const char *sched_reason = NULL, *sched_msg = NULL;
	if (jobstate_condition(pod, "PodScheduled", &sched_reason, &sched_msg) == 0 && sched_reason) {
		say_once(w, xasprintf("pod %s: %s: %s", pname, sched_reason, sched_msg ? sched_msg : ""));
		return 0;
	}
	const cJSON *ic;
	cJSON_ArrayForEach(ic, json_get(pod, "status.initContainerStatuses"))
		if (json_get(ic, "state.running")) {
			say_once(w, xasprintf("pod %s: fetching the code", pname));
			return 0;
		}
	say_once(w, xasprintf("pod %s: %s", pname, phase ? phase : "Pending"));
	return 0;
}

/* Wait until a pod of the session's Job (run id) is ready; the pod (caller
 * deletes) or NULL with *code set and the reason printed. */
cJSON *session_wait_pod(struct eidf_cmd *cmd, const char *ns, const char *name, const char *job_run,
			const char *job_name, const char *timeout, int *code)
{
	struct kclient *kc = cmd_client(cmd);
	long limit_ms = timeout ? parse_duration_ms(timeout) : 0;
	long deadline = limit_ms > 0 ? monotonic_ms() + limit_ms : 0;
	char *sel = xasprintf("%s=%s", LABEL_RUN, job_run);
	struct wait_ctx w = { .name = name };
	*code = 0;
	cJSON *list = NULL;
	struct klist_opts lo = { .label_selector = sel };
	session_sigint = 0;
	kclient_set_abort(kc, &session_sigint);
	if (kclient_list(kc, &KRES_PODS, ns, &lo, &list) < 0)
		goto fail;
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(list, "items"))
		if (on_pod("ADDED", it, &w))
			break;
	if (!w.pod && !w.code && !cJSON_GetArraySize(cJSON_GetObjectItem(list, "items")))
		say_once(&w, xasprintf("job.batch/%s: waiting for its pod (queued in the namespace's queue, "
				       "or being scheduled)", job_name));
	lo.resource_version = json_str(list, "metadata.resourceVersion");
	while (!w.pod && !w.code) {
		long left = deadline ? deadline - monotonic_ms() : 60000;
		if (left <= 0) {
			session_note("session %s is not ready after %s; it keeps starting (see kubectl eidf devrun "
				     "session list)", name, timeout);
			*code = DEVRUN_EXIT_TIMEOUT;
			goto out;
		}
		int r = kclient_watch(kc, &KRES_PODS, ns, &lo, left < 60000 ? left : 60000, on_pod, &w);
		if (r < 0)
			goto fail;
	}
	if (w.code) {
		eidf_error("session %s: %s", name, w.why);
		*code = w.code;
	}
	goto out;
fail:
	if (session_sigint) {
		session_note("interrupted; session %s keeps starting (kubectl eidf devrun session stop %s ends it)",
			     name, name);
		*code = DEVRUN_EXIT_DETACHED;
	} else {
		eidf_error("%s", eidf_last_error());
		*code = DEVRUN_EXIT_ERROR;
	}
out:
	kclient_set_abort(kc, NULL);
	cJSON_Delete(list);
	free(sel);
	free(w.last);
	free(w.why);
	return w.pod;
}
