/* devrun session list | stop | attach. */
#include "session.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eidf/cmd.h"
#include "eidf/humanize.h"
#include "eidf/jobstate.h"
#include "eidf/manifest.h"
#include "eidf/output.h"
#include "follow.h"
#include "script_session_attach.h"
#include "session_exec.h"
#include "session_internal.h"

/* One word for a session from its Job and pods. */
static const char *session_state_word(const cJSON *job, const cJSON *pods, const cJSON **pod)
{
	struct jobstate_info st;
	jobstate_derive(job, pods, &st);
	*pod = st.pod;
	const char *run = meta_label(job, LABEL_RUN);
	const cJSON *p;
	cJSON_ArrayForEach(p, cJSON_GetObjectItem(pods, "items")) {
		const char *r = meta_label(p, LABEL_RUN);
		if (r && run && !strcmp(r, run) && session_pod_ready(p)) {
			*pod = p;
			return "Ready";
		}
	}
	if (st.state == JOBSTATE_SUCCEEDED || st.state == JOBSTATE_COMPLETING)
		return "Ended";
	return jobstate_word(st.state);
}

int session_list(struct eidf_cmd *cmd, const char *ns, const char *output, int no_headers)
{
	enum output_format fmt = OUT_DEFAULT;
	if (output_format_parse(output, &fmt) < 0) {
		eidf_error("%s", eidf_last_error());
		return EIDF_EXIT_USAGE;
	}
	struct kclient *kc = cmd_client(cmd);
	if (!kc)
		return EIDF_EXIT_ERROR;
	char *sel = xasprintf("%s=devrun,%s", LABEL_STAGE, LABEL_SESSION);
	struct klist_opts lo = { .label_selector = sel };
	cJSON *jobs = NULL, *pods = NULL;
	int rc = kclient_list(kc, &KRES_JOBS, ns, &lo, &jobs);
	if (!rc && fmt != OUT_JSON && fmt != OUT_YAML && fmt != OUT_NAME)
		rc = kclient_list(kc, &KRES_PODS, ns, &lo, &pods);
	free(sel);
	if (rc < 0) {
		eidf_error("%s", eidf_last_error());
		cJSON_Delete(jobs);
		return EIDF_EXIT_ERROR;
	}
	if (fmt == OUT_JSON || fmt == OUT_YAML || fmt == OUT_NAME) {
		int orc = output_object(stdout, jobs, fmt);
		cJSON_Delete(jobs);
		return orc < 0 ? EIDF_EXIT_ERROR : 0;
	}
	static const char *const hdr[] = { "NAME", "POD", "GPU", "STATE", "IDLE", "RUNS", "COMMIT", "AGE", NULL };
	static const char *const hdr_wide[] = { "NAME", "POD", "GPU", "STATE", "IDLE", "RUNS", "COMMIT", "AGE",
						"JOB", "IMAGE", "IDLE-TIMEOUT", NULL };
	struct table *t = table_new(fmt == OUT_WIDE ? hdr_wide : hdr);
	time_t now = time(NULL);
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(jobs, "items")) {
		const cJSON *pod = NULL;
		const char *state = session_state_word(it, pods, &pod);
		cJSON *saved = cJSON_Parse(meta_annotation(it, ANNOT_DEVRUN_OPTIONS) ?
					   meta_annotation(it, ANNOT_DEVRUN_OPTIONS) : "");
		char gpu[24], idle_to[32] = "";
		snprintf(gpu, sizeof(gpu), "%ld", json_long(saved, "gpu", 0));
		const char *idle_s = meta_annotation(it, ANNOT_SESSION_IDLE);
		if (idle_s) {
			char *h = human_duration(atol(idle_s));
			snprintf(idle_to, sizeof(idle_to), "%s", h);
			free(h);
		}
		time_t created = 0;
		const char *ct = json_str(it, "metadata.creationTimestamp");
		char *age = ct && parse_rfc3339(ct, &created) == 0 ? human_age(now, created) : xstrdup("<unknown>");
		/* the pod's: where the last run left it (a new commit is fetched there) */
		const char *sha = pod && meta_annotation(pod, ANNOT_COMMIT) ? meta_annotation(pod, ANNOT_COMMIT) :
				  meta_annotation(it, ANNOT_COMMIT);
		char shortsha[13];
		snprintf(shortsha, sizeof(shortsha), "%.12s", sha ? sha : "");
		/* each run records itself on the pod */
		char *idle = xstrdup("-");
		const char *runs = pod && meta_annotation(pod, ANNOT_SESSION_RUNS) ?
				   meta_annotation(pod, ANNOT_SESSION_RUNS) : "0";
		const char *last = pod ? meta_annotation(pod, ANNOT_SESSION_LAST_RUN) : NULL;
		if (!last && pod)
			last = json_str(pod, "status.startTime");
		time_t lt;
		if (last && !strcmp(state, "Ready") && parse_rfc3339(last, &lt) == 0) {
			free(idle);
			idle = human_age(now, lt);
		}
		if (!pod)
			runs = "-";
		if (fmt == OUT_WIDE)
			table_add_rowv(t, meta_label(it, LABEL_SESSION), pod ? json_str(pod, "metadata.name") : "-",
				       gpu, state, idle, runs, shortsha, age, json_str(it, "metadata.name"),
				       json_str(saved, "image") ? json_str(saved, "image") : "", idle_to, NULL);
		else
			table_add_rowv(t, meta_label(it, LABEL_SESSION), pod ? json_str(pod, "metadata.name") : "-",
				       gpu, state, idle, runs, shortsha, age, NULL);
		free(age);
		free(idle);
		cJSON_Delete(saved);
	}
	if (!table_rows(t))
		fprintf(stderr, "No devrun sessions found in %s namespace.\n", ns);
	else
		table_print(t, stdout, no_headers);
	table_free(t);
	cJSON_Delete(jobs);
	cJSON_Delete(pods);
	return 0;
}

int session_stop(struct eidf_cmd *cmd, const char *ns, int argc, const char **argv)
{
	if (!argc) {
		eidf_error("session stop needs the NAME of at least one session");
		return EIDF_EXIT_USAGE;
	}
	struct kclient *kc = cmd_client(cmd);
	if (!kc)
		return EIDF_EXIT_ERROR;
	int rc = 0;
	for (int i = 0; i < argc; i++) {
		if (session_check_name(argv[i]) < 0) {
			eidf_error("%s", eidf_last_error());
			rc = EIDF_EXIT_USAGE;
			continue;
		}
		char *sel = xasprintf("%s=devrun,%s=%s", LABEL_STAGE, LABEL_SESSION, argv[i]);
		struct klist_opts lo = { .label_selector = sel };
		cJSON *jobs = NULL;
		int lrc = kclient_list(kc, &KRES_JOBS, ns, &lo, &jobs);
		free(sel);
		if (lrc < 0) {
			eidf_error("%s", eidf_last_error());
			rc = EIDF_EXIT_ERROR;
			continue;
		}
		int n = 0;
		const cJSON *it;
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(jobs, "items")) {
			const char *jname = json_str(it, "metadata.name");
			n++;
			if (kclient_delete(kc, &KRES_JOBS, ns, jname, "Background", 0) < 0 &&
			    kclient_last_http_status(kc) != 404) {
				eidf_error("%s", eidf_last_error());
				rc = EIDF_EXIT_ERROR;
				continue;
			}
			const char *run = meta_label(it, LABEL_RUN);
			if (run && follow_delete_by_label(kc, ns, run, 1) < 0)
				rc = EIDF_EXIT_ERROR;
			printf("session \"%s\" stopped (job.batch \"%s\" deleted)\n", argv[i], jname);
		}
		if (!n) {
			eidf_error("no devrun session \"%s\" in namespace %s (see kubectl eidf devrun session list)",
				   argv[i], ns);
			rc = EIDF_EXIT_ERROR;
		}
		cJSON_Delete(jobs);
	}
	return rc;
}

int session_attach(struct eidf_cmd *cmd, const char *ns, const char *name)
{
	if (session_check_name(name) < 0) {
		eidf_error("%s", eidf_last_error());
		return EIDF_EXIT_USAGE;
	}
	struct kclient *kc = cmd_client(cmd);
	if (!kc)
		return EIDF_EXIT_ERROR;
	struct session_found f;
	if (session_find(kc, ns, name, 0, &f) < 0) {
		eidf_error("%s", eidf_last_error());
		return DEVRUN_EXIT_ERROR;
	}
	if (!f.pod) {
		session_found_release(&f);
		eidf_error("session %s has no running pod in namespace %s (see kubectl eidf devrun session list)",
			   name, ns);
		return DEVRUN_EXIT_ERROR;
	}
	struct strvec argv = STRVEC_INIT;
	strvec_push(&argv, "session-attach");
	struct kexec_spec s = { .kc = kc, .status_fd = -1, .ns = ns, .pod = json_str(f.pod, "metadata.name"),
				.container = DEVRUN_MAIN_CONTAINER, .argv = &argv, .script = script_session_attach,
				.stdin_fd = -1, .writer_fd = -1,
				.stdout_fd = -1, .stderr_fd = -1 };
	/* Ctrl-C ends following here, never the run */
	signal(SIGINT, SIG_IGN);
	pid_t pid = kexec_start(&s);
	strvec_clear(&argv);
	int rc = pid < 0 ? DEVRUN_EXIT_ERROR : kexec_wait(pid, NULL);
	session_found_release(&f);
	return rc;
}
