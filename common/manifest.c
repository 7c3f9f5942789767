/* Builders for the objects the stages create, and the policy set that every
 * Job gets (see eidf/manifest.h and docs: EIDF rejects Jobs without
 * generateName, without a queue label, or with a container lacking cpu or
 * memory requests/limits). */
#include "eidf/manifest.h"
#include "eidf/quantity.h"
#include "eidf/settings.h"
#include "eidf/util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- dotted paths --------------------------------------------------------- */

/* Next segment of a dotted path; "\." is a literal dot and "\\" a backslash,
 * so label keys can be addressed: metadata.labels.kueue\.x-k8s\.io/queue-name */
static const char *next_segment(const char *p, struct strbuf *seg)
{
	strbuf_reset(seg);
	for (; *p && *p != '.'; p++) {
		if (*p == '\\' && (p[1] == '.' || p[1] == '\\'))
			p++;
		strbuf_addch(seg, *p);
	}
	if (!seg->buf)
		strbuf_grow(seg, 0);
	return *p == '.' ? p + 1 : NULL;
}

const cJSON *json_get(const cJSON *obj, const char *dotted_path)
{
	struct strbuf seg = STRBUF_INIT;
	const cJSON *cur = obj;
	const char *p = dotted_path;

	if (!obj || !dotted_path)
		return NULL;
	if (!*dotted_path)
		return obj;
	while (cur && p) {
		p = next_segment(p, &seg);
		if (cJSON_IsObject(cur)) {
			cur = cJSON_GetObjectItemCaseSensitive(cur, seg.buf);
		} else if (cJSON_IsArray(cur) && seg.len && strspn(seg.buf, "0123456789") == seg.len) {
			errno = 0;
			long i = strtol(seg.buf, NULL, 10);
			cur = errno || i > cJSON_GetArraySize(cur) ? NULL : cJSON_GetArrayItem(cur, (int)i);
		} else {
			cur = NULL;
		}
	}
	strbuf_release(&seg);
	return cur;
}

const char *json_str(const cJSON *obj, const char *dotted_path)
{
	const cJSON *v = json_get(obj, dotted_path);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

long json_long(const cJSON *obj, const char *dotted_path, long dflt)
{
	const cJSON *v = json_get(obj, dotted_path);
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (d >= (double)LONG_MIN && d < (double)LONG_MAX)
			return (long)d;
		return dflt;
	}
	if (cJSON_IsString(v) && v->valuestring[0]) {
		/* label values and annotations carry numbers as strings */
		char *end;
		errno = 0;
		long l = strtol(v->valuestring, &end, 10);
		if (!errno && !*end)
			return l;
	}
	return dflt;
}

/* ---- small cJSON helpers -------------------------------------------------- */

static cJSON *obj_child(cJSON *parent, const char *key)
{
	cJSON *c = cJSON_GetObjectItemCaseSensitive(parent, key);
	if (!cJSON_IsObject(c)) {
		if (c)
			cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
		c = cJSON_AddObjectToObject(parent, key);
	}
	return c;
}

static cJSON *arr_child(cJSON *parent, const char *key)
{
	cJSON *c = cJSON_GetObjectItemCaseSensitive(parent, key);
	if (!cJSON_IsArray(c)) {
		if (c)
			cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
		c = cJSON_AddArrayToObject(parent, key);
	}
	return c;
}

/* Set key to a string, replacing any previous value in place (keeps order). */
static void set_str(cJSON *obj, const char *key, const char *value)
{
	cJSON *old = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (old)
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, cJSON_CreateString(value));
	else
		cJSON_AddStringToObject(obj, key, value);
}

static void set_meta(cJSON *obj, const char *section, const char *key, const char *value)
{
	if (!obj || !key)
		return;
	cJSON *md = obj_child(obj, "metadata");
	if (!value) {
		cJSON *s = cJSON_GetObjectItemCaseSensitive(md, section);
		if (s)
			cJSON_DeleteItemFromObjectCaseSensitive(s, key);
		return;
	}
	set_str(obj_child(md, section), key, value);
}

void manifest_set_label(cJSON *obj, const char *key, const char *value)
{
	set_meta(obj, "labels", key, value);
}

void manifest_set_annotation(cJSON *obj, const char *key, const char *value)
{
	set_meta(obj, "annotations", key, value);
}

/* ---- policy ------------------------------------------------------------------ */

char *policy_queue_name(const char *ns, const char *override)
{
	if (override && *override)
		return xstrdup(override);
	const char *s = setting("queue", NULL);
	if (s && *s)
		return xstrdup(s);
	return xasprintf("%s-user-queue", ns && *ns ? ns : "default");
}

int policy_require_project_namespace(const char *ns)
{
	if (!ns || !*ns || !strcmp(ns, "default")) {
		eidf_set_error("refusing to create objects in namespace \"%s\": work belongs in your "
			       "project namespace (on EIDF: eidfNNNns, e.g. eidf042ns); pass -n NAMESPACE "
			       "or set the namespace of your kubeconfig context",
			       ns && *ns ? ns : "default");
		return -1;
	}
	return 0;
}

static void set_policy_labels(cJSON *labels, const struct job_policy *pol)
{
	cJSON_AddStringToObject(labels, LABEL_MANAGED_BY, MANAGED_BY);
	if (pol->stage && *pol->stage)
		cJSON_AddStringToObject(labels, LABEL_STAGE, pol->stage);
	if (pol->run_id && *pol->run_id)
		cJSON_AddStringToObject(labels, LABEL_RUN, pol->run_id);
	if (pol->eidf_user && *pol->eidf_user)
		cJSON_AddStringToObject(labels, LABEL_EIDF_USER, pol->eidf_user);
}

cJSON *manifest_job(const struct job_policy *pol, const char *generate_name)
{
	static const struct job_policy none = { .ttl_seconds = -1, .backoff_limit = -1 };
	cJSON *job = cJSON_CreateObject();
	cJSON *md, *labels, *spec, *tmpl, *tmd, *pspec;
	const char *prefix = generate_name && *generate_name ? generate_name : "job-";
	char *queue;

	if (!pol)
		pol = &none;
	cJSON_AddStringToObject(job, "apiVersion", "batch/v1");
	cJSON_AddStringToObject(job, "kind", "Job");
	md = cJSON_AddObjectToObject(job, "metadata");
	if (ends_with(prefix, "-")) {
		cJSON_AddStringToObject(md, "generateName", prefix);
	} else {
		char *g = xasprintf("%s-", prefix);
		cJSON_AddStringToObject(md, "generateName", g);
		free(g);
	}
	if (pol->namespace && *pol->namespace)
		cJSON_AddStringToObject(md, "namespace", pol->namespace);
	labels = cJSON_AddObjectToObject(md, "labels");
	queue = policy_queue_name(pol->namespace, pol->queue);
	cJSON_AddStringToObject(labels, LABEL_QUEUE, queue);
	free(queue);
	set_policy_labels(labels, pol);
	cJSON_AddObjectToObject(md, "annotations");

	spec = cJSON_AddObjectToObject(job, "spec");
	if (pol->ttl_seconds >= 0)
		cJSON_AddNumberToObject(spec, "ttlSecondsAfterFinished", (double)pol->ttl_seconds);
	if (pol->backoff_limit >= 0)
		cJSON_AddNumberToObject(spec, "backoffLimit", (double)pol->backoff_limit);
	tmpl = cJSON_AddObjectToObject(spec, "template");
	tmd = cJSON_AddObjectToObject(tmpl, "metadata");
	set_policy_labels(cJSON_AddObjectToObject(tmd, "labels"), pol);
	pspec = cJSON_AddObjectToObject(tmpl, "spec");
	cJSON_AddStringToObject(pspec, "restartPolicy", "Never");
	cJSON_AddArrayToObject(pspec, "containers");
	return job;
}

cJSON *manifest_container(const char *name, const char *image,
			  const struct container_resources *res)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "name", name ? name : "main");
	if (image)
		cJSON_AddStringToObject(c, "image", image);
	if (res) {
		cJSON *r = cJSON_AddObjectToObject(c, "resources");
		cJSON *req = cJSON_AddObjectToObject(r, "requests");
		cJSON *lim = cJSON_AddObjectToObject(r, "limits");
		const char *cpu_lim = res->cpu_limit ? res->cpu_limit : res->cpu_request;
		const char *mem_lim = res->memory_limit ? res->memory_limit : res->memory_request;
		if (res->cpu_request)
			cJSON_AddStringToObject(req, "cpu", res->cpu_request);
		if (res->memory_request)
			cJSON_AddStringToObject(req, "memory", res->memory_request);
		if (cpu_lim)
			cJSON_AddStringToObject(lim, "cpu", cpu_lim);
		if (mem_lim)
			cJSON_AddStringToObject(lim, "memory", mem_lim);
		if (res->gpus > 0) {
			char *g = xasprintf("%ld", res->gpus);
			cJSON_AddStringToObject(lim, "nvidia.com/gpu", g);
			free(g);
		}
	}
	return c;
}

cJSON *manifest_pod_spec(cJSON *job)
{
	if (!job)
		return NULL;
	cJSON *spec = obj_child(job, "spec");
	cJSON *tmpl = obj_child(spec, "template");
	return obj_child(tmpl, "spec");
}

void manifest_add_container(cJSON *job, cJSON *container, int init)
{
	cJSON *ps = manifest_pod_spec(job);
	if (!ps || !container) {
		cJSON_Delete(container);
		return;
	}
	cJSON_AddItemToArray(arr_child(ps, init ? "initContainers" : "containers"), container);
}

void manifest_add_volume(cJSON *job, cJSON *volume)
{
	cJSON *ps = manifest_pod_spec(job);
	if (!ps || !volume) {
		cJSON_Delete(volume);
		return;
	}
	cJSON_AddItemToArray(arr_child(ps, "volumes"), volume);
}

cJSON *manifest_volume_pvc(const char *name, const char *claim, int read_only)
{
	cJSON *v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "name", name);
	cJSON *p = cJSON_AddObjectToObject(v, "persistentVolumeClaim");
	cJSON_AddStringToObject(p, "claimName", claim);
	if (read_only)
		cJSON_AddBoolToObject(p, "readOnly", 1);
	return v;
}

cJSON *manifest_volume_empty_dir(const char *name, const char *medium, const char *size_limit)
{
	cJSON *v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "name", name);
	cJSON *e = cJSON_AddObjectToObject(v, "emptyDir");
	if (medium && *medium)
		cJSON_AddStringToObject(e, "medium", medium);
	if (size_limit && *size_limit)
		cJSON_AddStringToObject(e, "sizeLimit", size_limit);
	return v;
}

void manifest_add_mount(cJSON *container, const char *volume, const char *path, int read_only)
{
	if (!container)
		return;
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "name", volume);
	cJSON_AddStringToObject(m, "mountPath", path);
	if (read_only)
		cJSON_AddBoolToObject(m, "readOnly", 1);
	cJSON_AddItemToArray(arr_child(container, "volumeMounts"), m);
}

void manifest_add_env(cJSON *container, const char *name, const char *value)
{
	cJSON *env, *e;

	if (!container || !name)
		return;
	env = arr_child(container, "env");
	cJSON_ArrayForEach(e, env) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "name");
		if (cJSON_IsString(n) && !strcmp(n->valuestring, name)) {
			cJSON_DeleteItemFromObjectCaseSensitive(e, "valueFrom");
			set_str(e, "value", value ? value : "");
			return;
		}
	}
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "name", name);
	cJSON_AddStringToObject(e, "value", value ? value : "");
	cJSON_AddItemToArray(env, e);
}

/* ---- policy check ---------------------------------------------------------------- */

static int check_container(const char *what, const cJSON *c, long idx)
{
	static const char *const res[] = { "cpu", "memory" };
	const char *name = json_str(c, "name");
	char *who = name ? xasprintf("%s \"%s\"", what, name) : xasprintf("%s #%ld", what, idx + 1);
	int ret = -1;

	for (size_t i = 0; i < EIDF_ARRAY_SIZE(res); i++) {
		struct quantity rq, lq;
		char *rp = xasprintf("resources.requests.%s", res[i]);
		char *lp = xasprintf("resources.limits.%s", res[i]);
		const cJSON *rv = json_get(c, rp), *lv = json_get(c, lp);
		char *rs = cJSON_IsNumber(rv) ? xasprintf("%g", rv->valuedouble) : xstrdup(json_str(c, rp));
		char *ls = cJSON_IsNumber(lv) ? xasprintf("%g", lv->valuedouble) : xstrdup(json_str(c, lp));
		int bad = 1;

		if (!rs || !*rs)
			eidf_set_error("%s has no %s: every container (init containers too) needs cpu and "
				       "memory requests and limits", who, rp);
		else if (!ls || !*ls)
			eidf_set_error("%s has no %s: every container (init containers too) needs cpu and "
				       "memory requests and limits", who, lp);
		else if (quantity_parse(rs, &rq) < 0)
			eidf_set_error("%s: %s: %s", who, rp, eidf_last_error());
		else if (quantity_parse(ls, &lq) < 0)
			eidf_set_error("%s: %s: %s", who, lp, eidf_last_error());
		else if (quantity_cmp(&rq, &lq) > 0)
			eidf_set_error("%s: %s (%s) must be less than or equal to %s (%s)",
				       who, rp, rs, lp, ls);
		else
			bad = 0;
		free(rp);
		free(lp);
		free(rs);
		free(ls);
		if (bad)
			goto out;
	}
	ret = 0;
out:
	free(who);
	return ret;
}

int manifest_check_job_policy(const cJSON *job)
{
	const char *kind = json_str(job, "kind");
	const char *name = json_str(job, "metadata.name");
	const char *gen = json_str(job, "metadata.generateName");
	const char *queue = json_str(job, "metadata.labels." "kueue\\.x-k8s\\.io/queue-name");
	const cJSON *user = json_get(job, "metadata.labels.eidf/user");
	const cJSON *containers = json_get(job, "spec.template.spec.containers");
	const cJSON *inits = json_get(job, "spec.template.spec.initContainers");
	const cJSON *c;
	long i;

	if (!job || !kind || strcmp(kind, "Job")) {
		eidf_set_error("not a Job (kind %s%s%s)", kind ? "\"" : "", kind ? kind : "missing",
			       kind ? "\"" : "");
		return -1;
	}
	if (name && *name) {
		eidf_set_error("Job \"%s\" sets metadata.name: Jobs must use metadata.generateName "
			       "so that every submission gets a unique name", name);
		return -1;
	}
	if (!gen || !*gen) {
		eidf_set_error("Job has no metadata.generateName: Jobs must use generateName");
		return -1;
	}
	if (!queue || !*queue) {
		eidf_set_error("Job \"%s\" has no \"%s\" label: Jobs without a queue are rejected "
			       "(the queue is usually <namespace>-user-queue; see --queue)",
			       gen, LABEL_QUEUE);
		return -1;
	}
	if (user && (!cJSON_IsString(user) || !*user->valuestring)) {
		eidf_set_error("Job \"%s\": the metadata label '%s' is missing or has an empty value set",
			       gen, LABEL_EIDF_USER);
		return -1;
	}
	if (!cJSON_IsArray(containers) || cJSON_GetArraySize(containers) == 0) {
		eidf_set_error("Job \"%s\" has no containers (spec.template.spec.containers)", gen);
		return -1;
	}
	i = 0;
	cJSON_ArrayForEach(c, inits) {
		if (check_container("init container", c, i++) < 0)
			return -1;
	}
	i = 0;
	cJSON_ArrayForEach(c, containers) {
		if (check_container("container", c, i++) < 0)
			return -1;
	}
	return 0;
}

cJSON *manifest_list(cJSON **items)
{
	cJSON *list = cJSON_CreateObject();
	cJSON_AddStringToObject(list, "apiVersion", "v1");
	cJSON_AddStringToObject(list, "kind", "List");
	*items = cJSON_AddArrayToObject(list, "items");
	return list;
}
