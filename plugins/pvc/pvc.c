/* kubectl eidf pvc: request, list, inspect, browse and size persistent volumes.
 *
 * Everything runs with namespace rights only: usage is measured by a short
 * helper Job that mounts the volume (see helper_job.c), never through nodes. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eidf/waiting.h"
#include "eidf/cmd.h"
#include "eidf/humanize.h"
#include "eidf/manifest.h"
#include "eidf/output.h"
#include "eidf/prereq.h"
#include "eidf/quantity.h"
#include "eidf/settings.h"
#include "eidf/stage_options.h"
#include "claim_path.h"
#include "cp.h"
#include "helper_job.h"
#include "settings_keys.h"

static const char *const access_modes[] = { "ReadWriteMany", "ReadWriteOnce", "ReadOnlyMany",
					    "ReadWriteOncePod", NULL };

/* Option values, shared by the subcommands that declare them. */
static const char *opt_size, *opt_class, *opt_mode, *opt_wait, *opt_dry_run, *opt_output;
static const char *opt_selector, *opt_image, *opt_mount, *opt_timeout;
static int opt_no_headers, opt_yes, opt_force, opt_read_only, opt_keep, opt_with_finished_jobs;
static long opt_top = 20, opt_depth = 1;

#define OPT_TIMEOUT() OPT_DURATION(0, "timeout", &opt_timeout, \
				   "give up waiting after this long (0 = forever)", "10m")
#define OPT_HELPER() \
	OPT_STRING(0, "image", &opt_image, "image", "helper image (default busybox:latest)", COMPLETE_IMAGE), \
	OPT_DRY_RUN(&opt_dry_run), OPT_OUTPUT(&opt_output), OPT_TIMEOUT(), OPT_INCLUDE(wait_options)
/* last, so that the subcommand's own options stay under "Options" */
#define OPT_JOB_POLICY() OPT_GROUP("Job policy"), OPT_INCLUDE(policy_options)

static const struct option create_opts[] = {
	{ .type = OPT_TYPE_SIZE, .long_name = "size", .value = &opt_size, .argh = "size",
	  .help = "capacity to request, e.g. 100Gi", .flags = OPT_REQUIRED },
	OPT_STRING(0, "storage-class", &opt_class, "class",
		   "storage class (default csi-cephfs-sc; setting storage-class)", COMPLETE_STORAGECLASS),
	OPT_ENUM(0, "access-mode", &opt_mode, "mode",
		 "ReadWriteMany (default), ReadWriteOnce, ReadOnlyMany or ReadWriteOncePod", access_modes),
	{ .type = OPT_TYPE_DURATION, .long_name = "wait", .value = &opt_wait, .argh = "timeout",
	  .help = "wait until the claim is Bound (optionally at most this long; exit 124 after that, the claim stays)",
	  .flags = OPT_OPTARG, .optarg_default = "5m" },
	OPT_DRY_RUN(&opt_dry_run), OPT_OUTPUT(&opt_output),
	OPT_INCLUDE(wait_options), OPT_INCLUDE(kube_options), OPT_END(),
};
static const struct option list_opts[] = {
	OPT_OUTPUT(&opt_output),
	OPT_BOOL(0, "no-headers", &opt_no_headers, "do not print the table header"),
	OPT_STRING('l', "selector", &opt_selector, "selector", "label selector", COMPLETE_NONE),
	OPT_BOOL('A', "all-namespaces", &kube_flags.all_namespaces, "list in every namespace you may read"),
	OPT_INCLUDE(kube_options), OPT_END(),
};
static const struct option get_opts[] = {
	OPT_OUTPUT(&opt_output),
	OPT_BOOL(0, "no-headers", &opt_no_headers, "do not print the table header"),
	OPT_INCLUDE(kube_options), OPT_END(),
};
static const struct option describe_opts[] = { OPT_INCLUDE(kube_options), OPT_END() };
static const struct option delete_opts[] = {
	OPT_BOOL('y', "yes", &opt_yes, "do not ask for confirmation"),
	OPT_BOOL(0, "force", &opt_force,
		 "delete even while running pods mount the claim (it stays Terminating until their pods are gone)"),
	OPT_BOOL(0, "with-finished-jobs", &opt_with_finished_jobs,
		 "also delete the finished Jobs (and pods) whose pods keep the claim Terminating "
		 "(asked on a terminal)"),
	{ .type = OPT_TYPE_DURATION, .long_name = "wait", .value = &opt_wait, .argh = "timeout",
	  .help = "wait until the claim is gone (optionally at most this long; exit 124 after that)",
	  .flags = OPT_OPTARG, .optarg_default = "5m" },
	OPT_DRY_RUN(&opt_dry_run),
	OPT_INCLUDE(wait_options), OPT_INCLUDE(kube_options), OPT_END(),
};
static const struct option df_opts[] = {
	OPT_HELPER(),
	OPT_BOOL(0, "no-headers", &opt_no_headers, "do not print the table header"),
	OPT_JOB_POLICY(),
	OPT_INCLUDE(kube_options), OPT_END(),
};
static const struct option du_opts[] = {
	OPT_INT(0, "top", &opt_top, "N", "show the N largest directories", 1, 100000),
	OPT_INT(0, "depth", &opt_depth, "D", "directory depth to report", 0, 64),
	OPT_HELPER(),
	OPT_BOOL(0, "no-headers", &opt_no_headers, "do not print the table header"),
	OPT_JOB_POLICY(),
	OPT_INCLUDE(kube_options), OPT_END(),
};
static const struct option ls_opts[] = {
	OPT_HELPER(),
	OPT_BOOL(0, "no-headers", &opt_no_headers, "do not print the table header"),
	OPT_JOB_POLICY(),
	OPT_INCLUDE(kube_options), OPT_END(),
};
static const struct option shell_opts[] = {
	OPT_HELPER(),
	OPT_STRING(0, "mount", &opt_mount, "path", "where the claim is mounted (default /mnt/ceph)", COMPLETE_NONE),
	OPT_BOOL(0, "read-only", &opt_read_only, "mount the claim read-only"),
	OPT_BOOL(0, "keep", &opt_keep, "leave the shell Job running when the shell exits"),
	OPT_JOB_POLICY(),
	OPT_INCLUDE(kube_options), OPT_END(),
};

/* ---- shared helpers ---------------------------------------------------- */

static int parse_output(enum output_format *fmt)
{
	if (output_format_parse(opt_output, fmt)) {
		eidf_error("%s", eidf_last_error());
		return -1;
	}
	return 0;
}

static long timeout_ms(const char *s, long dflt)
{
	if (!s)
		return dflt;
	long ms = parse_duration_ms(s);
	return ms < 0 ? dflt : ms;
}

static void not_found_error(const char *name, const char *ns)
{
	eidf_error("PVC \"%s\" not found in namespace \"%s\"; create it with: kubectl eidf pvc create %s --size 100Gi",
		   name, ns, name);
}

/* Fetch one PVC, turning NotFound into the error that says how to create it. */
static cJSON *get_pvc(struct kclient *kc, const char *ns, const char *name)
{
	cJSON *pvc = NULL;
	if (kclient_get(kc, &KRES_PVCS, ns, name, &pvc)) {
		if (kclient_last_http_status(kc) == 404)
			not_found_error(name, ns);
		else
			eidf_error("%s", eidf_last_error());
		return NULL;
	}
	return pvc;
}

/* Who mounts a claim: "job/NAME" for Job pods, "pod/NAME" otherwise.
 *
 * Kubernetes' PVC protection keeps a deleted claim Terminating while any pod
 * object that references it has been scheduled (spec.nodeName), whatever its
 * phase: a finished Job keeps its Succeeded pod, and so the claim, until the
 * Job is deleted (by hand or its TTL).  So a user is "active" (its pod has
 * not ended: delete refuses) or a "finished holder" (its pod ended, was
 * scheduled, and still exists: delete offers to remove it). */
struct user {
	char *ns, *claim, *who, *status;
	char *owner_kind, *owner;  /* "job" + Job name, or "pod" + pod name */
	int finished;              /* Succeeded or Failed */
	int scheduled;             /* has a node: holds the claim */
};
struct users {
	struct user *v;
	size_t n;
};

enum users_which { USERS_ACTIVE, USERS_FINISHED_HOLDERS, USERS_ALL };

static void users_release(struct users *u)
{
	for (size_t i = 0; i < u->n; i++) {
		free(u->v[i].ns);
		free(u->v[i].claim);
		free(u->v[i].who);
		free(u->v[i].status);
		free(u->v[i].owner_kind);
		free(u->v[i].owner);
	}
	free(u->v);
	memset(u, 0, sizeof(*u));
}

/* The pod's state as kubectl's STATUS column words it: Completed for a
 * Succeeded pod, the failed container's reason (Error, OOMKilled, ...) or the
 * pod's reason for a Failed one, else the phase. */
static char *pod_status_word(const cJSON *pod)
{
	const char *phase = json_str(pod, "status.phase");
	if (phase && !strcmp(phase, "Succeeded"))
		return xstrdup("Completed");
	if (phase && !strcmp(phase, "Failed")) {
		const cJSON *cs;
		cJSON_ArrayForEach(cs, json_get(pod, "status.containerStatuses")) {
			const cJSON *t = json_get(cs, "state.terminated");
			if (t && json_long(t, "exitCode", 0) != 0 && json_str(t, "reason"))
				return xstrdup(json_str(t, "reason"));
		}
		return xstrdup(json_str(pod, "status.reason") ? json_str(pod, "status.reason") : "Error");
	}
	return xstrdup(phase ? phase : "Pending");
}

/* One pod list for all claims: users of every PVC in ns (NULL: all). */
static int load_users(struct kclient *kc, const char *ns, struct users *out)
{
	cJSON *pods = NULL;
	if (kclient_list(kc, &KRES_PODS, ns, NULL, &pods))
		return -1;
	const cJSON *pod;
	cJSON_ArrayForEach(pod, cJSON_GetObjectItemCaseSensitive(pods, "items")) {
		const char *phase = json_str(pod, "status.phase");
		const char *who = NULL, *kind = "pod";
		const cJSON *ref;
		cJSON_ArrayForEach(ref, json_get(pod, "metadata.ownerReferences")) {
			if (json_str(ref, "kind") && !strcmp(json_str(ref, "kind"), "Job")) {
				who = json_str(ref, "name");
				kind = "job";
			}
		}
		if (!who)
			who = json_str(pod, "metadata.name");
		const cJSON *vol;
		cJSON_ArrayForEach(vol, json_get(pod, "spec.volumes")) {
			const char *claim = json_str(vol, "persistentVolumeClaim.claimName");
			if (!claim || !who)
				continue;
			out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
			struct user *u = &out->v[out->n++];
			u->ns = xstrdup(json_str(pod, "metadata.namespace"));
			u->claim = xstrdup(claim);
			u->who = xasprintf("%s/%s", kind, who);
			u->owner_kind = xstrdup(kind);
			u->owner = xstrdup(who);
			u->status = pod_status_word(pod);
			u->finished = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
			u->scheduled = json_str(pod, "spec.nodeName") != NULL;
		}
	}
	cJSON_Delete(pods);
	return 0;
}

static int user_matches(const struct user *u, const char *ns, const char *claim, enum users_which which)
{
	if (strcmp(u->claim, claim) || (ns && u->ns && strcmp(u->ns, ns)))
		return 0;
	switch (which) {
	case USERS_ACTIVE: return !u->finished;
	case USERS_FINISHED_HOLDERS: return u->finished && u->scheduled;
	case USERS_ALL: return 1;
	}
	return 0;
}

/* Distinct users of a claim, joined by sep ("<none>" when there are none);
 * finished ones with their state: "job/devrun-s692d (Completed)" (spaced)
 * or "job/devrun-s692d(Completed)" (a table cell). */
static char *users_of_sep(const struct users *u, const char *ns, const char *claim,
			  enum users_which which, const char *sep, int spaced)
{
	struct strvec seen = STRVEC_INIT;
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < u->n; i++) {
		if (!user_matches(&u->v[i], ns, claim, which) || strvec_contains(&seen, u->v[i].who))
			continue;
		strvec_push(&seen, u->v[i].who);
		if (sb.len)
			strbuf_addstr(&sb, sep);
		strbuf_addstr(&sb, u->v[i].who);
		if (which != USERS_ACTIVE && u->v[i].finished)
			strbuf_addf(&sb, "%s(%s)", spaced ? " " : "", u->v[i].status);
	}
	strvec_clear(&seen);
	return sb.len ? strbuf_detach(&sb) : xstrdup("<none>");
}

static char *users_of(const struct users *u, const char *ns, const char *claim, enum users_which which)
{
	/* a table cell: no blanks */
	return users_of_sep(u, ns, claim, which, ",", 0);
}

/* "Terminating" when the claim is being deleted (kubectl shows that, not
 * the phase, which stays Bound). */
static const char *pvc_status(const cJSON *pvc)
{
	if (json_get(pvc, "metadata.deletionTimestamp"))
		return "Terminating";
	const char *status = json_str(pvc, "status.phase");
	return status ? status : "Pending";
}

static char *access_modes_short(const cJSON *pvc, const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	const cJSON *m;
	cJSON_ArrayForEach(m, json_get(pvc, path)) {
		const char *s = cJSON_GetStringValue(m);
		const char *abbr = !s ? "?" : !strcmp(s, "ReadWriteMany") ? "RWX" :
			!strcmp(s, "ReadWriteOnce") ? "RWO" : !strcmp(s, "ReadOnlyMany") ? "ROX" :
			!strcmp(s, "ReadWriteOncePod") ? "RWOP" : s;
		if (sb.len)
			strbuf_addch(&sb, ',');
		strbuf_addstr(&sb, abbr);
	}
	return strbuf_detach(&sb);
}

static char *age_of(const cJSON *obj)
{
	time_t t;
	const char *ts = json_str(obj, "metadata.creationTimestamp");
	if (!ts || parse_rfc3339(ts, &t))
		return xstrdup("<unknown>");
	return human_age(time(NULL), t);
}

static int is_single_attach(const cJSON *pvc)
{
	const char *cls = json_str(pvc, "spec.storageClassName");
	if (cls && !strcmp(cls, "csi-rbd-sc"))
		return 1;
	const cJSON *m;
	cJSON_ArrayForEach(m, json_get(pvc, "spec.accessModes")) {
		const char *s = cJSON_GetStringValue(m);
		if (s && (!strcmp(s, "ReadWriteOnce") || !strcmp(s, "ReadWriteOncePod")))
			return 1;
	}
	return 0;
}

/* The row of `pvc list` / `pvc get` for one claim. */
static void add_pvc_row(struct table *t, const cJSON *pvc, const struct users *u, int wide, int all_ns)
{
	const char *ns = json_str(pvc, "metadata.namespace");
	const char *name = json_str(pvc, "metadata.name");
	const char *status = pvc_status(pvc);
	const char *cap = json_str(pvc, "status.capacity.storage");
	const char *cls = json_str(pvc, "spec.storageClassName");
	char *modes = access_modes_short(pvc, json_get(pvc, "status.accessModes") ?
					 "status.accessModes" : "spec.accessModes");
	/* as pvc delete counts them: the pods that have not ended */
	char *who = users_of(u, ns, name ? name : "", USERS_ACTIVE);
	char *held = wide ? users_of(u, ns, name ? name : "", USERS_FINISHED_HOLDERS) : NULL;
	char *age = age_of(pvc);
	const char *cells[10];
	size_t i = 0;
	if (all_ns)
		cells[i++] = ns ? ns : "";
	cells[i++] = name ? name : "";
	cells[i++] = status;
	cells[i++] = cap ? cap : "";
	cells[i++] = modes;
	cells[i++] = cls ? cls : "";
	cells[i++] = who;
	cells[i++] = age;
	if (wide) {
		const char *vol = json_str(pvc, "spec.volumeName");
		cells[i++] = json_str(pvc, "spec.resources.requests.storage") ?
			json_str(pvc, "spec.resources.requests.storage") : "";
		cells[i++] = vol ? vol : "";
		cells[i++] = held;
	}
	(void)i;
	table_add_row(t, cells);
	free(modes);
	free(held);
	free(who);
	free(age);
}

static struct table *pvc_table(int wide, int all_ns)
{
	const char *base[] = { "NAMESPACE", "NAME", "STATUS", "CAPACITY", "ACCESS MODES", "STORAGECLASS",
			       "USED BY", "AGE", "REQUEST", "VOLUME", "FINISHED HOLDERS", NULL };
	const char **h = all_ns ? base : base + 1;
	if (!wide) {
		static const char *narrow[11];
		size_t n = 0;
		for (const char **p = h; *p && strcmp(*p, "REQUEST"); p++)
			narrow[n++] = *p;
		narrow[n] = NULL;
		return table_new(narrow);
	}
	return table_new(h);
}

/* Warn about single-attach claims held by a running pod: EIDF's RBD lesson. */
static void warn_single_attach(const cJSON *items, const struct users *u)
{
	const cJSON *pvc;
	cJSON_ArrayForEach(pvc, items) {
		if (!is_single_attach(pvc))
			continue;
		const char *name = json_str(pvc, "metadata.name");
		char *active = users_of(u, json_str(pvc, "metadata.namespace"), name ? name : "", USERS_ACTIVE);
		if (strcmp(active, "<none>"))
			eidf_warning("PVC \"%s\" (%s) can be mounted by one pod at a time and is in use by %s; "
				     "a second pod will stay Pending. Migrate to a ReadWriteMany claim: "
				     "kubectl eidf pvc create NEW --size SIZE --storage-class csi-cephfs-sc",
				     name, json_str(pvc, "spec.storageClassName") ?
				     json_str(pvc, "spec.storageClassName") : "ReadWriteOnce", active);
		free(active);
	}
}

/* ---- create ------------------------------------------------------------ */

static cJSON *pvc_manifest(const char *ns, const char *name, const struct quantity *q)
{
	cJSON *pvc = cJSON_CreateObject();
	cJSON_AddStringToObject(pvc, "apiVersion", "v1");
	cJSON_AddStringToObject(pvc, "kind", "PersistentVolumeClaim");
	cJSON *md = cJSON_AddObjectToObject(pvc, "metadata");
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "namespace", ns);
	cJSON *labels = cJSON_AddObjectToObject(md, "labels");
	cJSON_AddStringToObject(labels, LABEL_MANAGED_BY, MANAGED_BY);
	cJSON *spec = cJSON_AddObjectToObject(pvc, "spec");
	cJSON *modes = cJSON_AddArrayToObject(spec, "accessModes");
	cJSON_AddItemToArray(modes, cJSON_CreateString(opt_mode ? opt_mode :
						       setting("pvc.access-mode", "ReadWriteMany")));
	char *size = quantity_format(q);
	cJSON *req = cJSON_AddObjectToObject(cJSON_AddObjectToObject(spec, "resources"), "requests");
	cJSON_AddStringToObject(req, "storage", size);
	free(size);
	cJSON_AddStringToObject(spec, "storageClassName",
				opt_class ? opt_class : setting("storage-class", "csi-cephfs-sc"));
	return pvc;
}

struct bind_wait {
	const char *name;
	char *last_event;
	int bound;
	cJSON *last;      /* the claim as last seen (printed with -o once Bound) */
};

static int on_pvc_event(const char *type, const cJSON *obj, void *ud)
{
	struct bind_wait *w = ud;
	const char *kind = json_str(obj, "kind");
	if (kind && !strcmp(kind, "Event")) {
		const char *reason = json_str(obj, "reason"), *msg = json_str(obj, "message");
		const char *etype = json_str(obj, "type");
		if (etype && !strcmp(etype, "Warning") && msg && (!w->last_event || strcmp(w->last_event, msg))) {
			free(w->last_event);
			w->last_event = xasprintf("%s: %s", reason ? reason : "Warning", msg);
			fprintf(stderr, "persistentvolumeclaim/%s: %s\n", w->name, w->last_event);
		}
		return 0;
	}
	if (!strcmp(type, "DELETED")) {
		eidf_set_error("PVC \"%s\" was deleted while waiting for it to be bound", w->name);
		return -1;
	}
	cJSON_Delete(w->last);
	w->last = cJSON_Duplicate(obj, 1);
	const char *phase = json_str(obj, "status.phase");
	if (phase && !strcmp(phase, "Bound")) {
		w->bound = 1;
		return 1;
	}
	return 0;
}

/* Events say why provisioning fails (unknown class, quota...). */
static void report_events(struct kclient *kc, const char *ns, const char *kind, const char *name,
			  struct bind_wait *w)
{
	char *fs = xasprintf("involvedObject.kind=%s,involvedObject.name=%s", kind, name);
	struct klist_opts lo = { .field_selector = fs };
	cJSON *events = NULL;
	if (!kclient_list(kc, &KRES_EVENTS, ns, &lo, &events)) {
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(events, "items")) {
			cJSON *copy = cJSON_Duplicate(e, 1);
			cJSON_AddStringToObject(copy, "kind", "Event");
			on_pvc_event("ADDED", copy, w);
			cJSON_Delete(copy);
		}
	}
	cJSON_Delete(events);
	free(fs);
}

/* Wait for Bound, inside the shared waiting behaviour (eidf/waiting.h): API
 * outages ridden out; the timeout and Ctrl-C leave the claim being
 * provisioned and say how to look at it or delete it.  With an output
 * format the Bound claim goes to stdout (once) and the progress message to
 * stderr, so stdout stays parseable.  Returns the exit code: 0 bound, 124
 * timed out, 130 Ctrl-C, 1 error. */
static int wait_bound(struct eidf_cmd *cmd, const char *ns, const char *name, long ms,
		      enum output_format fmt)
{
	struct bind_wait w = { .name = name };
	char *fs = xasprintf("metadata.name=%s", name);
	struct klist_opts lo = { .field_selector = fs };
	char *subject = xasprintf("persistentvolumeclaim/%s", name);
	char *follow = xasprintf("kubectl eidf pvc describe %s -n %s", name, ns);
	char *cancel = xasprintf("kubectl eidf pvc delete %s -n %s", name, ns);
	char *limit = xasprintf("--wait=%s", *opt_wait ? opt_wait : "5m");
	struct wait_hints h = { .subject = subject, .timeout = limit, .follow = follow, .cancel = cancel };
	int rc = EIDF_EXIT_ERROR;
	if (wait_begin(cmd, &h, 0) < 0)
		goto out;
	int wrc = kclient_watch(cmd_client(cmd), &KRES_PVCS, ns, &lo, ms, on_pvc_event, &w);
	if (wrc >= 0 && !w.bound && !wait_stopped())
		report_events(cmd_client(cmd), ns, "PersistentVolumeClaim", name, &w);
	if (wrc < 0) {
		if (!wait_stopped())
			eidf_error("%s", eidf_last_error());
	} else if (!w.bound) {
		fprintf(stderr, "persistentvolumeclaim/%s is not Bound after %lds%s%s\n", name, ms / 1000,
			w.last_event ? ": " : "", w.last_event ? w.last_event : "");
		rc = EIDF_EXIT_STOPPED_WAITING;
	} else if (fmt == OUT_DEFAULT) {
		printf("persistentvolumeclaim/%s bound\n", name);
		rc = 0;
	} else {
		fprintf(stderr, "persistentvolumeclaim/%s bound\n", name);
		output_object(stdout, w.last, fmt);
		rc = 0;
	}
	rc = wait_end(rc);
out:
	free(fs);
	free(limit);
	free(subject);
	free(follow);
	free(cancel);
	free(w.last_event);
	cJSON_Delete(w.last);
	return rc;
}

/* The class exists, when storage classes are readable (403 skips the check). */
static int check_storage_class(struct kclient *kc, const char *ns, const char *cls)
{
	struct prereq_list pl = PREREQ_LIST_INIT;
	char *use = opt_class ? xasprintf("--storage-class %s", opt_class)
			      : xasprintf("the setting storage-class (%s)", cls);
	prereq_add(&pl, PREREQ_STORAGECLASS, cls, use);
	free(use);
	int rc = prereq_check(kc, ns, &pl);
	if (rc < 0)
		eidf_error("%s", eidf_last_error());
	prereq_release(&pl);
	return rc;
}

static int cmd_create(struct eidf_cmd *cmd, int argc, const char **argv)
{
	enum output_format fmt;
	struct quantity q;
	if (argc != 1) {
		eidf_error("pvc create takes exactly one NAME; see: kubectl eidf pvc create --help");
		return EIDF_EXIT_USAGE;
	}
	const char *name = argv[0];
	if (!is_dns1123_subdomain(name)) {
		eidf_error("invalid PVC name \"%s\": use lower case letters, digits, '-' and '.', "
			   "starting and ending with a letter or digit (at most 253 characters)", name);
		return EIDF_EXIT_USAGE;
	}
	if (quantity_parse(opt_size, &q)) {
		eidf_error("invalid --size \"%s\": %s (e.g. 100Gi)", opt_size, eidf_last_error());
		return EIDF_EXIT_USAGE;
	}
	if (quantity_value(&q) <= 0) {
		eidf_error("invalid --size \"%s\": must be greater than zero", opt_size);
		return EIDF_EXIT_USAGE;
	}
	if (parse_output(&fmt))
		return EIDF_EXIT_USAGE;
	const char *ns = cmd_project_namespace(cmd);
	if (!ns)
		return EIDF_EXIT_ERROR;
	cJSON *pvc = pvc_manifest(ns, name, &q);
	int dry = dry_run_mode(opt_dry_run);
	if (dry == 1) {
		output_object(stdout, pvc, fmt == OUT_DEFAULT ? OUT_NAME : fmt);
		cJSON_Delete(pvc);
		return 0;
	}
	struct kclient *kc = cmd_client(cmd);
	cJSON *created = NULL;
	if (kc && check_storage_class(kc, ns, json_str(pvc, "spec.storageClassName")) != 0) {
		/* an unknown class leaves the claim Pending for ever */
		cJSON_Delete(pvc);
		return EIDF_EXIT_ERROR;
	}
	int rc = kc ? kclient_create(kc, &KRES_PVCS, ns, pvc, dry == 2, &created) : -1;
	cJSON_Delete(pvc);
	if (rc) {
		if (kc && kclient_last_http_status(kc) == 409)
			eidf_error("PVC \"%s\" already exists in namespace \"%s\"; see it with: kubectl eidf pvc get %s",
				   name, ns, name);
		else if (kc)
			eidf_error("%s", eidf_last_error());
		return EIDF_EXIT_ERROR;
	}
	int waiting = opt_wait && !dry;
	if (fmt == OUT_DEFAULT)
		printf("persistentvolumeclaim/%s created%s\n", name, dry ? " (server dry run)" : "");
	else if (waiting)
		fprintf(stderr, "persistentvolumeclaim/%s created\n", name);
	else
		output_object(stdout, created, fmt);
	cJSON_Delete(created);
	if (waiting)
		return wait_bound(cmd, ns, name, timeout_ms(opt_wait, 300000), fmt);
	return 0;
}

/* ---- list / get / describe ----------------------------------------------- */

static int print_pvcs(struct eidf_cmd *cmd, const cJSON *list, const char *ns, int all_ns)
{
	enum output_format fmt;
	if (parse_output(&fmt))
		return EIDF_EXIT_USAGE;
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(list, "items");
	if (fmt == OUT_JSON || fmt == OUT_YAML || fmt == OUT_NAME) {
		output_object(stdout, list, fmt);
		return 0;
	}
	if (cJSON_GetArraySize(items) == 0) {
		if (all_ns)
			fprintf(stderr, "No resources found\n");
		else
			fprintf(stderr, "No resources found in %s namespace.\n", ns);
		return 0;
	}
	struct users u = { 0 };
	if (load_users(cmd_client(cmd), all_ns ? NULL : ns, &u))
		eidf_warning("cannot list pods to show who uses each claim: %s", eidf_last_error());
	struct table *t = pvc_table(fmt == OUT_WIDE, all_ns);
	const cJSON *pvc;
	cJSON_ArrayForEach(pvc, items)
		add_pvc_row(t, pvc, &u, fmt == OUT_WIDE, all_ns);
	table_print(t, stdout, opt_no_headers);
	table_free(t);
	warn_single_attach(items, &u);
	users_release(&u);
	return 0;
}

static int cmd_list(struct eidf_cmd *cmd, int argc, const char **argv)
{
	(void)argv;
	if (argc) {
		eidf_error("pvc list takes no arguments; to look inside a claim use: kubectl eidf pvc ls NAME [PATH]");
		return EIDF_EXIT_USAGE;
	}
	int all_ns = kube_flags.all_namespaces;
	const char *ns = all_ns ? NULL : cmd_namespace(cmd);
	struct kclient *kc = cmd_client(cmd);
	if ((!all_ns && !ns) || !kc)
		return EIDF_EXIT_ERROR;
	struct klist_opts lo = { .label_selector = opt_selector, .limit = 500 };
	cJSON *list = NULL;
	if (kclient_list(kc, &KRES_PVCS, ns, &lo, &list)) {
		eidf_error("%s", eidf_last_error());
		if (all_ns && kclient_last_http_status(kc) == 403)
			fprintf(stderr, "hint: project users may only list their own namespace; drop -A\n");
		return EIDF_EXIT_ERROR;
	}
	int rc = print_pvcs(cmd, list, ns, all_ns);
	cJSON_Delete(list);
	return rc;
}

static int cmd_get(struct eidf_cmd *cmd, int argc, const char **argv)
{
	if (argc < 1) {
		eidf_error("pvc get needs at least one NAME; to list all claims use: kubectl eidf pvc list");
		return EIDF_EXIT_USAGE;
	}
	const char *ns = cmd_namespace(cmd);
	struct kclient *kc = cmd_client(cmd);
	if (!ns || !kc)
		return EIDF_EXIT_ERROR;
	cJSON *items;
	cJSON *list = manifest_list(&items);
	int rc = 0;
	for (int i = 0; i < argc; i++) {
		cJSON *pvc = get_pvc(kc, ns, argv[i]);
		if (!pvc) {
			rc = EIDF_EXIT_ERROR;
			continue;
		}
		cJSON_AddItemToArray(items, pvc);
	}
	if (cJSON_GetArraySize(items) == 1 && opt_output &&
	    (!strcmp(opt_output, "json") || !strcmp(opt_output, "yaml"))) {
		cJSON *one = cJSON_DetachItemFromArray(items, 0);
		enum output_format fmt;
		output_format_parse(opt_output, &fmt);
		output_object(stdout, one, fmt);
		cJSON_Delete(one);
	} else if (cJSON_GetArraySize(items) > 0) {
		int prc = print_pvcs(cmd, list, ns, 0);
		if (prc)
			rc = prc;
	}
	cJSON_Delete(list);
	return rc;
}

static void describe_line(const char *key, const char *value)
{
	printf("%-15s %s\n", key, value && *value ? value : "<none>");
}

static int cmd_describe(struct eidf_cmd *cmd, int argc, const char **argv)
{
	if (argc != 1) {
		eidf_error("pvc describe takes exactly one NAME");
		return EIDF_EXIT_USAGE;
	}
	const char *ns = cmd_namespace(cmd);
	struct kclient *kc = cmd_client(cmd);
	if (!ns || !kc)
		return EIDF_EXIT_ERROR;
	cJSON *pvc = get_pvc(kc, ns, argv[0]);
	if (!pvc)
		return EIDF_EXIT_ERROR;
	struct users u = { 0 };
	if (load_users(kc, ns, &u))
		eidf_warning("cannot list pods: %s", eidf_last_error());
	char *modes = access_modes_short(pvc, "spec.accessModes");
	char *who = users_of_sep(&u, ns, argv[0], USERS_ACTIVE, ", ", 1);
	char *held = users_of_sep(&u, ns, argv[0], USERS_FINISHED_HOLDERS, ", ", 1);
	char *age = age_of(pvc);
	/* kubectl: "Terminating (lasts 3m)" while a finalizer keeps the claim */
	char *status = xstrdup(pvc_status(pvc));
	time_t since;
	const char *dts = json_str(pvc, "metadata.deletionTimestamp");
	if (dts && !parse_rfc3339(dts, &since)) {
		char *lasts = human_age(time(NULL), since);
		free(status);
		status = xasprintf("Terminating (lasts %s)", lasts);
		free(lasts);
	}
	struct strbuf fin = STRBUF_INIT;
	const cJSON *f;
	cJSON_ArrayForEach(f, json_get(pvc, "metadata.finalizers"))
		if (cJSON_IsString(f))
			strbuf_addf(&fin, "%s%s", fin.len ? " " : "", f->valuestring);
	char *fins = fin.len ? xasprintf("[%s]", fin.buf) : xstrdup("[]");
	strbuf_release(&fin);
	describe_line("Name:", json_str(pvc, "metadata.name"));
	describe_line("Namespace:", json_str(pvc, "metadata.namespace"));
	describe_line("StorageClass:", json_str(pvc, "spec.storageClassName"));
	describe_line("Status:", status);
	describe_line("Finalizers:", fins);
	free(status);
	free(fins);
	describe_line("Volume:", json_str(pvc, "spec.volumeName"));
	describe_line("Requested:", json_str(pvc, "spec.resources.requests.storage"));
	describe_line("Capacity:", json_str(pvc, "status.capacity.storage"));
	describe_line("Access Modes:", modes);
	describe_line("Used By:", who);
	/* finished pods that still exist keep the claim (PVC protection) */
	describe_line("Held By:", held);
	describe_line("Age:", age);
	free(modes);
	free(held);
	free(who);
	free(age);

	char *fs = xasprintf("involvedObject.kind=PersistentVolumeClaim,involvedObject.name=%s", argv[0]);
	struct klist_opts lo = { .field_selector = fs };
	cJSON *events = NULL;
	printf("Events:");
	if (kclient_list(kc, &KRES_EVENTS, ns, &lo, &events)) {
		printf(" <unavailable: %s>\n", eidf_last_error());
	} else if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(events, "items")) == 0) {
		printf(" <none>\n");
	} else {
		printf("\n");
		const char *h[] = { "TYPE", "REASON", "AGE", "MESSAGE", NULL };
		struct table *t = table_new(h);
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(events, "items")) {
			time_t when;
			const char *ts = json_str(e, "lastTimestamp");
			if (!ts)
				ts = json_str(e, "eventTime");
			char *eage = ts && !parse_rfc3339(ts, &when) ? human_age(time(NULL), when) : xstrdup("");
			const char *cells[] = { json_str(e, "type") ? json_str(e, "type") : "",
						json_str(e, "reason") ? json_str(e, "reason") : "", eage,
						json_str(e, "message") ? json_str(e, "message") : "" };
			table_add_row(t, cells);
			free(eage);
		}
		table_print(t, stdout, 0);
		table_free(t);
	}
	cJSON_Delete(events);
	free(fs);
	users_release(&u);
	cJSON_Delete(pvc);
	return 0;
}

/* ---- delete -------------------------------------------------------------- */

static int confirm(const char *question)
{
	FILE *tty = fopen("/dev/tty", "r+");
	if (!tty || !isatty(STDIN_FILENO)) {
		if (tty)
			fclose(tty);
		return -1;
	}
	fprintf(tty, "%s [y/N] ", question);
	fflush(tty);
	char *line = NULL;
	size_t cap = 0;
	int yes = getline(&line, &cap, tty) > 0 && (line[0] == 'y' || line[0] == 'Y');
	free(line);
	fclose(tty);
	return yes;
}

/* Delete the owners of the finished pods that hold the claim: their Jobs
 * (Background: the garbage collector removes the pods), or bare pods. */
static int delete_finished_holders(struct kclient *kc, const char *ns, const struct users *u,
				   const char *claim, struct strvec *deleted)
{
	int rc = 0;
	for (size_t i = 0; i < u->n; i++) {
		const struct user *h = &u->v[i];
		if (!user_matches(h, ns, claim, USERS_FINISHED_HOLDERS) || strvec_contains(deleted, h->who))
			continue;
		int job = !strcmp(h->owner_kind, "job");
		if (kclient_delete(kc, job ? &KRES_JOBS : &KRES_PODS, ns, h->owner, "Background", 0) &&
		    kclient_last_http_status(kc) != 404) {
			eidf_error("%s", eidf_last_error());
			rc = -1;
			continue;
		}
		strvec_push(deleted, h->who);
		printf("%s \"%s\" deleted\n", job ? "job.batch" : "pod", h->owner);
	}
	return rc;
}

struct gone_wait {
	const char *name;
	int gone;
};

static int on_pvc_gone(const char *type, const cJSON *obj, void *ud)
{
	struct gone_wait *g = ud;
	const char *n = json_str(obj, "metadata.name");
	if (!strcmp(type, "DELETED") && n && !strcmp(n, g->name)) {
		g->gone = 1;
		return 1;
	}
	return 0;
}

/* Inside wait_begin/wait_end: watch until the claim is gone from the API.
 * 1 gone, 0 stopped waiting, -1 error. */
static int watch_pvc_gone(struct kclient *kc, const char *ns, const char *name)
{
	struct gone_wait g = { .name = name };
	char *fs = xasprintf("metadata.name=%s", name);
	int rc = 0;
	for (;;) {
		/* a GET first: the watch would miss a claim already gone */
		cJSON *pvc = NULL;
		if (kclient_get(kc, &KRES_PVCS, ns, name, &pvc)) {
			if (kclient_last_http_status(kc) == 404)
				g.gone = 1;
			else if (!wait_stopped())
				rc = -1;
			break;
		}
		struct klist_opts lo = { .field_selector = fs,
					 .resource_version = json_str(pvc, "metadata.resourceVersion") };
		int wrc = kclient_watch(kc, &KRES_PVCS, ns, &lo, 0, on_pvc_gone, &g);
		cJSON_Delete(pvc);
		if (g.gone || wait_stopped())
			break;
		if (wrc < 0) {
			rc = -1;
			break;
		}
	}
	free(fs);
	return g.gone ? 1 : rc;
}

/* --wait: until the claim is gone from the API (its finalizer removed). */
static int wait_pvc_gone(struct eidf_cmd *cmd, struct kclient *kc, const char *ns, const char *name)
{
	char *subject = xasprintf("persistentvolumeclaim/%s", name);
	char *follow = xasprintf("kubectl eidf pvc describe %s -n %s", name, ns);
	struct wait_hints h = { .subject = subject, .timeout = opt_wait, .follow = follow };
	long ms = timeout_ms(opt_wait, 300000);
	if (wait_begin(cmd, &h, ms) < 0) {
		free(subject);
		free(follow);
		return EIDF_EXIT_ERROR;
	}
	int rc = watch_pvc_gone(kc, ns, name);
	int code = 0;
	if (rc > 0) {
		printf("persistentvolumeclaim \"%s\" deleted\n", name);
	} else if (rc < 0 && !wait_stopped()) {
		eidf_error("%s", eidf_last_error());
		code = EIDF_EXIT_ERROR;
	} else {
		code = EIDF_EXIT_STOPPED_WAITING;
	}
	code = wait_end(code);
	free(subject);
	free(follow);
	return code;
}

/* Nothing holds the claim, yet it is still there: PVC protection always
 * answers a DELETE with a Terminating claim, and its controller removes the
 * finalizer once it has seen that no pod uses it (on a real cluster a moment
 * after the DELETE).  Watch for that a few seconds, quietly, rather than
 * report a normal deletion as stuck.  (A claim a running pod uses, deleted
 * with --force, is not let go: no wait for it.) */
#define PVC_RELEASE_WAIT_MS 10000
static int pvc_released_soon(struct eidf_cmd *cmd, struct kclient *kc, const char *ns, const char *name)
{
	char *subject = xasprintf("persistentvolumeclaim/%s", name);
	struct wait_hints h = { .subject = subject };
	int gone = 0;
	if (wait_begin(cmd, &h, PVC_RELEASE_WAIT_MS) == 0) {
		gone = watch_pvc_gone(kc, ns, name) > 0;
		wait_end_quiet(0);
	}
	free(subject);
	return gone;
}

static int cmd_delete(struct eidf_cmd *cmd, int argc, const char **argv)
{
	if (argc < 1) {
		eidf_error("pvc delete needs at least one NAME");
		return EIDF_EXIT_USAGE;
	}
	if (opt_wait && parse_duration_ms(opt_wait) < 0) {
		eidf_error("invalid value \"%s\" for --wait: use a duration such as 90s or 5m", opt_wait);
		return EIDF_EXIT_USAGE;
	}
	const char *ns = cmd_namespace(cmd);
	struct kclient *kc = cmd_client(cmd);
	if (!ns || !kc)
		return EIDF_EXIT_ERROR;
	int dry = dry_run_mode(opt_dry_run);
	struct users u = { 0 };
	if (load_users(kc, ns, &u)) {
		eidf_error("cannot check which pods mount the claims: %s", eidf_last_error());
		return EIDF_EXIT_ERROR;
	}
	int rc = 0;
	struct strvec deleted = STRVEC_INIT;  /* holders removed by us */
	for (int i = 0; i < argc; i++) {
		cJSON *pvc = get_pvc(kc, ns, argv[i]);
		if (!pvc) {
			rc = EIDF_EXIT_ERROR;
			continue;
		}
		int terminating = json_get(pvc, "metadata.deletionTimestamp") != NULL;
		cJSON_Delete(pvc);
		char *active = users_of(&u, ns, argv[i], USERS_ACTIVE);
		int in_use = strcmp(active, "<none>") != 0;
		if (in_use && !opt_force) {
			eidf_error("PVC \"%s\" is mounted by %s; delete those first, or pass --force", argv[i], active);
			free(active);
			rc = EIDF_EXIT_ERROR;
			continue;
		}
		/* finished pods keep the claim Terminating until they are deleted */
		char *held = users_of_sep(&u, ns, argv[i], USERS_FINISHED_HOLDERS, ", ", 1);
		int has_holders = strcmp(held, "<none>") != 0;
		int with_jobs = opt_with_finished_jobs;
		if (has_holders)
			fprintf(stderr, "PVC \"%s\" is held by finished %s: Kubernetes keeps it Terminating until "
				"they are deleted\n", argv[i], held);
		if (has_holders && !with_jobs && !dry && !opt_yes) {
			char *q = xasprintf("Delete the finished %s too?", held);
			with_jobs = confirm(q) > 0;
			free(q);
		}
		if (!opt_yes && !dry && !terminating) {
			char *q = xasprintf("Delete PVC \"%s\" in namespace \"%s\" and all data on it?", argv[i], ns);
			int ok = confirm(q);
			free(q);
			if (ok < 0) {
				eidf_error("refusing to delete PVC \"%s\" without confirmation; pass --yes", argv[i]);
				rc = EIDF_EXIT_ERROR;
				free(held);
				free(active);
				continue;
			}
			if (!ok) {
				printf("persistentvolumeclaim/%s kept\n", argv[i]);
				free(held);
				free(active);
				continue;
			}
		}
		if (dry) {
			if (has_holders && with_jobs)
				printf("%s deleted (%s)\n", held, dry == 1 ? "dry run" : "server dry run");
			if (dry == 2 && kclient_delete(kc, &KRES_PVCS, ns, argv[i], NULL, 1)) {
				eidf_error("%s", eidf_last_error());
				rc = EIDF_EXIT_ERROR;
			} else {
				printf("persistentvolumeclaim \"%s\" deleted (%s)\n", argv[i],
				       dry == 1 ? "dry run" : "server dry run");
			}
			free(held);
			free(active);
			continue;
		}
		if (has_holders && with_jobs && delete_finished_holders(kc, ns, &u, argv[i], &deleted) < 0)
			rc = EIDF_EXIT_ERROR;
		if (!terminating && kclient_delete(kc, &KRES_PVCS, ns, argv[i], NULL, 0)) {
			if (kclient_last_http_status(kc) != 404) {
				eidf_error("%s", eidf_last_error());
				rc = EIDF_EXIT_ERROR;
				free(held);
				free(active);
				continue;
			}
		}
		/* is it gone, or kept by its finalizer? */
		cJSON *after = NULL;
		int still = kclient_get(kc, &KRES_PVCS, ns, argv[i], &after) == 0 &&
			    json_get(after, "metadata.deletionTimestamp");
		cJSON_Delete(after);
		if (still && !opt_wait && !in_use && !has_holders && !with_jobs)
			still = !pvc_released_soon(cmd, kc, ns, argv[i]);
		if (!still) {
			printf("persistentvolumeclaim \"%s\" deleted\n", argv[i]);
		} else if (opt_wait) {
			if (has_holders && with_jobs)
				fprintf(stderr, "PVC \"%s\" is Terminating until the pods of the deleted Jobs are "
					"gone; waiting\n", argv[i]);
			int wrc = wait_pvc_gone(cmd, kc, ns, argv[i]);
			if (wrc) {
				free(held);
				free(active);
				rc = wrc;
				break; /* stopped waiting: the rest is not done */
			}
		} else {
			printf("persistentvolumeclaim \"%s\" marked for deletion (Terminating)\n", argv[i]);
			if (has_holders && with_jobs)
				fprintf(stderr, "PVC \"%s\" stays Terminating until the pods of the deleted Jobs are "
					"gone (seconds); --wait waits for it\n", argv[i]);
			else if (in_use)
				fprintf(stderr, "PVC \"%s\" stays Terminating while it is mounted by %s "
					"(kubernetes.io/pvc-protection): no new pod can mount it, and it is deleted once "
					"those pods are gone; --wait waits for it\n", argv[i], active);
			else if (has_holders)
				fprintf(stderr, "PVC \"%s\" stays Terminating while finished %s still exist "
					"(kubernetes.io/pvc-protection); delete them with: kubectl eidf pvc delete %s "
					"-n %s --with-finished-jobs\n", argv[i], held, argv[i], ns);
			else
				fprintf(stderr, "PVC \"%s\" stays Terminating until its finalizers are removed "
					"(see kubectl eidf pvc describe %s -n %s); --wait waits for it\n",
					argv[i], argv[i], ns);
		}
		free(held);
		free(active);
	}
	strvec_clear(&deleted);
	users_release(&u);
	return rc;
}

/* ---- df / du / ls through the helper Job ------------------------------------ */

static void helper_defaults(struct helper_opts *o, const char *pvc, const char *mount, int ro)
{
	o->pvc = pvc;
	o->image = opt_image ? opt_image : setting("pvc.helper-image", "busybox:latest");
	o->mount = mount;
	o->read_only = ro;
	o->timeout_ms = timeout_ms(opt_timeout, 600000);
	o->dry_run = dry_run_mode(opt_dry_run);
	o->output = opt_output;
}

/* Print the helper Job instead of running it: --dry-run=client prints the
 * manifest, --dry-run=server sends it with dryRun=All and prints the answer
 * the way every stage does (output_server_dry_run). */
static int helper_dry_run(struct eidf_cmd *cmd, const char *ns, const char *pvc, const char *mount,
			  int read_only, int measure, const char *const *args)
{
	enum output_format fmt;
	if (parse_output(&fmt))
		return EIDF_EXIT_USAGE;
	struct helper_opts o = { 0 };
	helper_defaults(&o, pvc, mount, read_only);
	cJSON *job = helper_job_manifest(cmd, ns, &o, measure, args);
	int rc = 0;
	if (dry_run_mode(opt_dry_run) == 2) {
		struct kclient *kc = cmd_client(cmd);
		cJSON *answer = NULL;
		if (!kc || kclient_create(kc, &KRES_JOBS, ns, job, 1, &answer) < 0) {
			if (kc)
				eidf_error("%s", eidf_last_error());
			rc = EIDF_EXIT_ERROR;
		} else {
			const cJSON *sent[] = { answer };
			rc = output_server_dry_run(stdout, sent, 1, fmt) < 0 ? EIDF_EXIT_ERROR : 0;
		}
		cJSON_Delete(answer);
	} else {
		output_object(stdout, job, fmt == OUT_DEFAULT ? OUT_YAML : fmt);
	}
	cJSON_Delete(job);
	return rc;
}

/* Run the helper for one claim; lines starting "eidf-pvc " land in out. */
static int run_helper(struct eidf_cmd *cmd, const char *ns, const char *pvc,
		      const char *const *args, struct strvec *out)
{
	struct helper_opts o = { 0 };
	helper_defaults(&o, pvc, HELPER_MOUNT, 1);
	struct kclient *kc = cmd_client(cmd);
	if (!kc)
		return -1;
	cJSON *obj = get_pvc(kc, ns, pvc);
	if (!obj)
		return -1;
	cJSON_Delete(obj);
	struct strbuf log = STRBUF_INIT;
	if (helper_job_run(cmd, ns, &o, args, &log)) {
		eidf_error("%s", eidf_last_error());
		strbuf_release(&log);
		return -1;
	}
	int ok = 0;
	char *save = NULL;
	for (char *line = strtok_r(log.buf ? log.buf : (char *)"", "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (starts_with(line, "eidf-pvc error ")) {
			eidf_error("PVC \"%s\": %s", pvc, line + strlen("eidf-pvc error "));
			strbuf_release(&log);
			return -1;
		}
		if (!strcmp(line, "eidf-pvc done"))
			ok = 1;
		else if (starts_with(line, "eidf-pvc "))
			strvec_push(out, line + strlen("eidf-pvc "));
	}
	strbuf_release(&log);
	if (!ok) {
		eidf_error("the helper Job for PVC \"%s\" ended without a result; is its image a busybox-like image?",
			   pvc);
		return -1;
	}
	return 0;
}

static int cmd_df(struct eidf_cmd *cmd, int argc, const char **argv)
{
	if (argc < 1) {
		eidf_error("pvc df needs at least one NAME");
		return EIDF_EXIT_USAGE;
	}
	const char *ns = cmd_project_namespace(cmd);
	if (!ns)
		return EIDF_EXIT_ERROR;
	const char *args[] = { "df", HELPER_MOUNT, "", "0", NULL };
	if (dry_run_mode(opt_dry_run))
		return helper_dry_run(cmd, ns, argv[0], HELPER_MOUNT, 1, 1, args);
	enum output_format fmt;
	if (parse_output(&fmt))
		return EIDF_EXIT_USAGE;
	const char *h[] = { "NAME", "SIZE", "USED", "AVAIL", "USE%", NULL };
	struct table *t = table_new(h);
	cJSON *raw = cJSON_CreateArray();
	int rc = 0;
	for (int i = 0; i < argc; i++) {
		struct strvec lines = STRVEC_INIT;
		unsigned long long size = 0, used = 0, avail = 0;
		if (run_helper(cmd, ns, argv[i], args, &lines) || lines.n < 1 ||
		    sscanf(lines.v[0], "df %llu %llu %llu", &size, &used, &avail) != 3) {
			if (lines.n >= 1)
				eidf_error("unexpected df output from the helper: %s", lines.v[0]);
			strvec_clear(&lines);
			rc = EIDF_EXIT_ERROR;
			continue;
		}
		strvec_clear(&lines);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", argv[i]);
		cJSON_AddNumberToObject(o, "sizeBytes", (double)size * 1024);
		cJSON_AddNumberToObject(o, "usedBytes", (double)used * 1024);
		cJSON_AddNumberToObject(o, "availableBytes", (double)avail * 1024);
		cJSON_AddItemToArray(raw, o);
		double frac = used + avail ? (double)used / (double)(used + avail) : 0;
		char *s = human_bytes(size * 1024), *u = human_bytes(used * 1024), *a = human_bytes(avail * 1024);
		char bar[48];
		usage_bar(bar, 20, frac);
		const char *cells[] = { argv[i], s, u, a, bar };
		table_add_row(t, cells);
		free(s);
		free(u);
		free(a);
	}
	if (fmt == OUT_JSON || fmt == OUT_YAML)
		output_object(stdout, raw, fmt);
	else if (table_rows(t))
		table_print(t, stdout, opt_no_headers);
	cJSON_Delete(raw);
	table_free(t);
	return rc;
}

/* A path on the volume as du prints it ("/", "/raw/a") or relative to its
 * root ("raw/a", "./raw/"): the same place, sent to the helper relative to
 * the mount.  NULL (usage error printed) for a path that leaves the volume. */
/* PATH of `pvc du|ls`, relative to the volume's root ("" for it). */
static char *volume_path(const char *in)
{
	char *rel;
	switch (claim_path_clean(in, &rel)) {
	case CLAIM_PATH_OK:
		return rel;
	case CLAIM_PATH_DOTDOT:
		eidf_error("path \"%s\" leaves the volume: give a path below its root, e.g. / or /raw", in);
		break;
	case CLAIM_PATH_NEWLINE:
		eidf_error("path \"%s\": a name with a newline is refused", in);
		break;
	}
	return NULL;
}

static int cmd_du(struct eidf_cmd *cmd, int argc, const char **argv)
{
	if (argc < 1 || argc > 2) {
		eidf_error("usage: kubectl eidf pvc du NAME [PATH]");
		return EIDF_EXIT_USAGE;
	}
	const char *ns = cmd_project_namespace(cmd);
	if (!ns)
		return EIDF_EXIT_ERROR;
	char *rel = volume_path(argc > 1 ? argv[1] : "");
	if (!rel)
		return EIDF_EXIT_USAGE;
	char *depth = xasprintf("%ld", opt_depth);
	const char *args[] = { "du", HELPER_MOUNT, rel, depth, NULL };
	int rc = 0;
	if (dry_run_mode(opt_dry_run)) {
		rc = helper_dry_run(cmd, ns, argv[0], HELPER_MOUNT, 1, 1, args);
		free(depth);
		free(rel);
		return rc;
	}
	enum output_format fmt;
	if (parse_output(&fmt)) {
		free(depth);
		free(rel);
		return EIDF_EXIT_USAGE;
	}
	struct strvec lines = STRVEC_INIT;
	if (run_helper(cmd, ns, argv[0], args, &lines)) {
		free(depth);
		free(rel);
		strvec_clear(&lines);
		return EIDF_EXIT_ERROR;
	}
	free(depth);
	/* Sort by size, largest first: the question is "what takes the space". */
	struct row { unsigned long long kib; const char *path; } *rows = xcalloc(lines.n + 1, sizeof(*rows));
	size_t n = 0;
	unsigned long long total = 0;
	for (size_t i = 0; i < lines.n; i++) {
		char *end;
		if (!starts_with(lines.v[i], "du "))
			continue;
		rows[n].kib = strtoull(lines.v[i] + 3, &end, 10);
		if (*end != ' ')
			continue;
		rows[n].path = end + 1;
		/* the total is the line of the path asked for: "/" or "/REL" */
		if (!strcmp(rows[n].path, "/") ? !*rel : !strcmp(rows[n].path + 1, rel))
			total = rows[n].kib > total ? rows[n].kib : total;
		n++;
	}
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && rows[j].kib > rows[j - 1].kib; j--) {
			struct row tmp = rows[j];
			rows[j] = rows[j - 1];
			rows[j - 1] = tmp;
		}
	if (!total && n)
		total = rows[0].kib;
	const char *h[] = { "SIZE", "SHARE", "PATH", NULL };
	struct table *t = table_new(h);
	cJSON *raw = cJSON_CreateArray();
	for (size_t i = 0; i < n && i < (size_t)opt_top; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "path", rows[i].path);
		cJSON_AddNumberToObject(o, "bytes", (double)rows[i].kib * 1024);
		cJSON_AddItemToArray(raw, o);
		double frac = total ? (double)rows[i].kib / (double)total : 0;
		char *sz = human_bytes(rows[i].kib * 1024);
		char bar[48];
		usage_bar(bar, 20, frac);
		const char *cells[] = { sz, bar, rows[i].path };
		table_add_row(t, cells);
		free(sz);
	}
	if (fmt == OUT_JSON || fmt == OUT_YAML)
		output_object(stdout, raw, fmt);
	else
		table_print(t, stdout, opt_no_headers);
	cJSON_Delete(raw);
	table_free(t);
	free(rows);
	free(rel);
	strvec_clear(&lines);
	return 0;
}

static int cmd_ls(struct eidf_cmd *cmd, int argc, const char **argv)
{
	if (argc < 1 || argc > 2) {
		eidf_error("usage: kubectl eidf pvc ls NAME [PATH]");
		return EIDF_EXIT_USAGE;
	}
	const char *ns = cmd_project_namespace(cmd);
	if (!ns)
		return EIDF_EXIT_ERROR;
	char *rel = volume_path(argc > 1 ? argv[1] : "");
	if (!rel)
		return EIDF_EXIT_USAGE;
	const char *args[] = { "ls", HELPER_MOUNT, rel, "1", NULL };
	if (dry_run_mode(opt_dry_run)) {
		int drc = helper_dry_run(cmd, ns, argv[0], HELPER_MOUNT, 1, 1, args);
		free(rel);
		return drc;
	}
	struct strvec lines = STRVEC_INIT;
	int hrc = run_helper(cmd, ns, argv[0], args, &lines);
	free(rel);
	if (hrc) {
		strvec_clear(&lines);
		return EIDF_EXIT_ERROR;
	}
	const char *h[] = { "TYPE", "SIZE", "MODIFIED", "NAME", NULL };
	struct table *t = table_new(h);
	for (size_t i = 0; i < lines.n; i++) {
		char type;
		unsigned long long size;
		long long mtime;
		int off = 0;
		if (sscanf(lines.v[i], "ls %c %llu %lld %n", &type, &size, &mtime, &off) != 3 || !off)
			continue;
		char *sz = type == 'd' ? xstrdup("-") : human_bytes(size);
		char *age = human_age(time(NULL), (time_t)mtime);
		char *when = xasprintf("%s ago", age);
		const char *kind = type == 'd' ? "dir" : type == 'l' ? "link" : type == 'f' ? "file" : "other";
		char *name = type == 'd' ? xasprintf("%s/", lines.v[i] + off) : xstrdup(lines.v[i] + off);
		const char *cells[] = { kind, sz, when, name };
		table_add_row(t, cells);
		free(sz);
		free(age);
		free(when);
		free(name);
	}
	if (table_rows(t))
		table_print(t, stdout, opt_no_headers);
	else
		fprintf(stderr, "(empty)\n");
	table_free(t);
	strvec_clear(&lines);
	return 0;
}

/* ---- shell: kubectl exec into a helper Job ---------------------------------- */

static int run_kubectl_exec(const char *ns, const char *pod, const char *mount)
{
	struct strvec v = STRVEC_INIT;
	const char *kubectl = getenv("EIDF_KUBECTL") ? getenv("EIDF_KUBECTL") : "kubectl";
	strvec_push(&v, kubectl);
	cmd_kubectl_flags(&v, ns);
	strvec_push(&v, "exec");
	strvec_push(&v, isatty(STDIN_FILENO) ? "-it" : "-i");
	strvec_push(&v, pod);
	strvec_push(&v, "-c");
	strvec_push(&v, "helper");
	strvec_push(&v, "--");
	strvec_push(&v, "sh");
	strvec_push(&v, "-c");
	strvec_pushf(&v, "cd '%s' 2>/dev/null; exec sh", mount);
	/* The terminal's Ctrl-C belongs to the shell; we only clean up after. */
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	pid_t pid = fork();
	if (pid == 0) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		execvp(kubectl, v.v);
		fprintf(stderr, "error: cannot run %s: %s\n", kubectl, strerror(errno));
		_exit(127);
	}
	int status = 0, rc = 1;
	if (pid > 0 && waitpid(pid, &status, 0) == pid)
		rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	strvec_clear(&v);
	return rc;
}

static int cmd_shell(struct eidf_cmd *cmd, int argc, const char **argv)
{
	if (argc != 1) {
		eidf_error("usage: kubectl eidf pvc shell NAME");
		return EIDF_EXIT_USAGE;
	}
	const char *ns = cmd_project_namespace(cmd);
	if (!ns)
		return EIDF_EXIT_ERROR;
	const char *mount = opt_mount ? opt_mount : setting("pvc.mount", "/mnt/ceph");
	if (mount[0] != '/' || strstr(mount, "'")) {
		eidf_error("--mount must be an absolute path without quotes, got \"%s\"", mount);
		return EIDF_EXIT_USAGE;
	}
	struct helper_opts o = { 0 };
	helper_defaults(&o, argv[0], mount, opt_read_only);
	/* sleep in the background: sh runs the TERM trap at once while it waits */
	const char *args[] = { "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 5 & wait $!; done", NULL };
	if (o.dry_run)
		return helper_dry_run(cmd, ns, argv[0], mount, opt_read_only, 0, args);
	struct kclient *kc = cmd_client(cmd);
	cJSON *obj = kc ? get_pvc(kc, ns, argv[0]) : NULL;
	if (!obj)
		return EIDF_EXIT_ERROR;
	cJSON_Delete(obj);
	char *job = NULL, *pod = NULL;
	if (helper_job_start(cmd, ns, &o, args, &job, &pod)) {
		eidf_error("%s", eidf_last_error());
		return EIDF_EXIT_ERROR;
	}
	fprintf(stderr, "PVC \"%s\" is mounted at %s in pod %s; exit the shell to finish\n", argv[0], mount, pod);
	int rc = run_kubectl_exec(ns, pod, mount);
	if (opt_keep) {
		/* The same cluster/user flags we used, so the hint works as printed. */
		struct strvec flags = STRVEC_INIT;
		struct strbuf sb = STRBUF_INIT;
		cmd_kubectl_flags(&flags, ns);
		for (size_t i = 0; i < flags.n; i++)
			if (!starts_with(flags.v[i], "--token="))
				strbuf_addf(&sb, " %s", flags.v[i]);
		fprintf(stderr, "kept Job %s; re-attach with:\n"
			"  kubectl%s exec -it %s -c helper -- sh -c 'cd %s; exec sh'\n"
			"delete it with:\n  kubectl%s delete job %s\n",
			job, sb.buf, pod, mount, sb.buf, job);
		strbuf_release(&sb);
		strvec_clear(&flags);
	} else if (helper_job_delete(cmd, ns, job)) {
		eidf_warning("could not delete Job %s: %s; delete it with: kubectl -n %s delete job %s",
			     job, eidf_last_error(), ns, job);
	} else {
		fprintf(stderr, "deleted Job %s\n", job);
	}
	free(job);
	free(pod);
	return rc;
}

static const struct subcommand subcommands[] = {
	{ .name = "create", .summary = "request a new persistent volume claim",
	  .usage = "NAME --size QUANTITY [--storage-class CLASS] [--access-mode MODE] [--wait[=TIMEOUT]]",
	  .description = "Creates a PersistentVolumeClaim. The defaults (storage class csi-cephfs-sc, "
			 "ReadWriteMany) are EIDF's and can be changed with the settings storage-class "
			 "and pvc.access-mode. The name and the size are checked before any request. "
			 "--wait exits 124 when its limit passed or the API server stayed away for "
			 "--reconnect-timeout, 130 on Ctrl-C (the claim stays; how to follow or delete it "
			 "is printed).",
	  .options = create_opts, .run = cmd_create },
	{ .name = "list", .alias = "ls", .summary = "list claims with their users and age",
	  .usage = "[-o wide|json|yaml|name] [-A]", .options = list_opts, .run = cmd_list },
	{ .name = "get", .summary = "show one or more claims", .usage = "NAME... [-o json|yaml|name|wide]",
	  .options = get_opts, .args_complete = COMPLETE_PVC, .run = cmd_get },
	{ .name = "describe", .summary = "details of a claim, who uses it and its recent events",
	  .usage = "NAME", .options = describe_opts, .args_complete = COMPLETE_PVC, .run = cmd_describe },
	{ .name = "delete", .summary = "delete claims that no running pod mounts",
	  .usage = "NAME... [--yes] [--force] [--with-finished-jobs] [--wait[=TIMEOUT]]",
	  .description = "A claim stays Terminating while any scheduled pod that references it exists, finished "
			 "pods included (PVC protection): delete names those Jobs, offers to delete them "
			 "(--with-finished-jobs), and says whether the claim is gone; --wait waits until it "
			 "is (exit 124 when the timeout passes first).",
	  .options = delete_opts, .args_complete = COMPLETE_PVC,
	  .run = cmd_delete },
	{ .name = "df", .summary = "capacity, used and available space (measured by a helper Job)",
	  .usage = "NAME...", .options = df_opts, .args_complete = COMPLETE_PVC, .run = cmd_df },
	{ .name = "du", .summary = "the largest directories on a claim (measured by a helper Job)",
	  .usage = "NAME [PATH] [--top N] [--depth D]", .options = du_opts, .args_complete = COMPLETE_PVC,
	  .run = cmd_du },
	{ .name = "browse", .summary = "list a directory on a claim (also: pvc ls NAME [PATH])",
	  .usage = "NAME [PATH]", .options = ls_opts, .args_complete = COMPLETE_PVC, .run = cmd_ls },
	{ .name = "cp", .summary = "copy files and directories to or from a claim, resumable and verified",
	  .usage = "LOCAL... CLAIM:PATH | CLAIM:PATH LOCAL [--keep] [-o json]",
	  .description = "Copies through a helper Job that mounts the claim (read-only for downloads), over "
			 "one exec stream of its own. Every file's sha256 is computed on both sides; a file is "
			 "written to NAME.eidf-part (.eidf-part.SHA256 for a name too long for that) and renamed "
			 "into place only once they are equal. Files up to 1 MiB travel in batches (a tar of "
			 "at most 1 MiB). A dropped stream is reopened and the copy continues after the last "
			 "verified byte (at most 1 MiB is sent again); a re-run sends only what is missing (files "
			 "with equal size and sha256 are skipped). A local file written to while it is uploaded "
			 "is not renamed into place. "
			 "Directories are copied recursively, symlinks as symlinks (never followed), modes "
			 "without setuid/setgid; special files are skipped with a warning. CLAIM: alone is the "
			 "claim's root; paths on the claim are relative to it and may not hold \"..\".",
	  .options = cp_opts, .args_complete = COMPLETE_CUSTOM, .args_complete_custom = cp_complete,
	  .run = cmd_cp },
	{ .name = "shell", .summary = "open a shell in a lightweight Job that mounts the claim",
	  .usage = "NAME [--image IMAGE] [--mount PATH] [--read-only] [--keep]", .options = shell_opts,
	  .args_complete = COMPLETE_PVC, .run = cmd_shell },
	{ .run = NULL },
};

static const struct stage pvc_stage = {
	.name = "pvc",
	.summary = "request, inspect, browse and size persistent volumes",
	.description = "Namespace rights are enough for everything: usage is measured by a short "
		       "helper Job (busybox, small cpu/memory, queue label, TTL) that mounts the "
		       "claim read-only and is deleted afterwards.",
	.subcommands = subcommands,
};

/* Does argv[from..] hold a positional argument, given the options' arity? */
static int has_positional(int argc, char **argv, int from, const struct option *opts)
{
	for (int i = from; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--"))
			return i + 1 < argc;
		if (a[0] != '-' || !a[1])
			return 1;
		const struct option *o = a[1] == '-' ? options_find_long(opts, a + 2) :
			!a[2] ? options_find_short(opts, a[1]) : NULL;
		if (o && o->type != OPT_TYPE_BOOL && !(o->flags & OPT_OPTARG))
			i++; /* its value is the next word */
	}
	return 0;
}

/* `pvc ls` is `list` without arguments and `browse` with a claim name. */
int main(int argc, char **argv)
{
	settings_set_known(eidf_settings_keys); /* docs/configuration.md */
	if (argc >= 2 && !strcmp(argv[1], "ls") && has_positional(argc, argv, 2, ls_opts))
		argv[1] = (char *)"browse";
	return stage_main(&pvc_stage, argc, argv);
}
