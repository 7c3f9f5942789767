/* Pre-checks of the objects a Job's pods reference (see eidf/prereq.h). */
#include "eidf/prereq.h"

#include <stdlib.h>
#include <string.h>

#include "eidf/kclient.h"
#include "eidf/manifest.h"
#include "eidf/util.h"

void prereq_add(struct prereq_list *l, enum prereq_kind kind, const char *name, const char *use)
{
	if (!name || !*name)
		return;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].kind == kind && !strcmp(l->v[i].name, name))
			return;
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 4;
		l->v = xrealloc(l->v, l->alloc * sizeof(*l->v));
	}
	l->v[l->n].kind = kind;
	l->v[l->n].name = xstrdup(name);
	l->v[l->n].use = xstrdup(use ? use : "");
	l->n++;
}

void prereq_release(struct prereq_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].use);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static const struct kres *kres_of(enum prereq_kind k)
{
	switch (k) {
	case PREREQ_PVC: return &KRES_PVCS;
	case PREREQ_SECRET: return &KRES_SECRETS;
	case PREREQ_CONFIGMAP: return &KRES_CONFIGMAPS;
	case PREREQ_STORAGECLASS: return &KRES_STORAGECLASSES;
	}
	return &KRES_SECRETS;
}

static const char *kind_word(enum prereq_kind k)
{
	switch (k) {
	case PREREQ_PVC: return "persistentvolumeclaim";
	case PREREQ_SECRET: return "secret";
	case PREREQ_CONFIGMAP: return "configmap";
	case PREREQ_STORAGECLASS: return "storageclass";
	}
	return "object";
}

/* The storage classes that exist, for the message ("" when unreadable). */
static char *storage_classes(struct kclient *kc)
{
	cJSON *list = NULL, *it;
	struct strbuf sb = STRBUF_INIT;
	if (kclient_list(kc, &KRES_STORAGECLASSES, NULL, NULL, &list) == 0) {
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(list, "items")) {
			const char *n = json_str(it, "metadata.name");
			if (n)
				strbuf_addf(&sb, "%s%s", sb.len ? ", " : "", n);
		}
	}
	cJSON_Delete(list);
	return strbuf_detach(&sb);
}

static char *fix_for(struct kclient *kc, const char *ns, const struct prereq *p)
{
	switch (p->kind) {
	case PREREQ_PVC:
		return xasprintf("create it with kubectl eidf pvc create %s --size SIZE -n %s, or name an "
				 "existing claim (kubectl eidf pvc list -n %s)", p->name, ns, ns);
	case PREREQ_SECRET:
		return xasprintf("create it (kubectl create secret generic %s -n %s --from-literal=KEY=VALUE) "
				 "or name an existing Secret (kubectl get secrets -n %s)", p->name, ns, ns);
	case PREREQ_CONFIGMAP:
		return xasprintf("create it with kubectl create configmap %s -n %s", p->name, ns);
	case PREREQ_STORAGECLASS: {
		char *have = storage_classes(kc);
		char *s = *have ? xasprintf("the cluster has: %s", have)
				: xstrdup("kubectl get storageclasses lists them");
		free(have);
		return s;
	}
	}
	return xstrdup("");
}

char *prereq_check_one(struct kclient *kc, const char *ns, const struct prereq *p, int *api_error)
{
	cJSON *obj = NULL;
	*api_error = 0;
	const struct kres *r = kres_of(p->kind);
	const char *where_ns = r->namespaced ? ns : NULL;
	const char *use = *p->use ? p->use : "the Job";
	if (kclient_get(kc, r, where_ns, p->name, &obj) < 0) {
		long st = kclient_last_http_status(kc);
		if (st == 403)
			return NULL; /* not ours to read: the server decides */
		if (st != 404) {
			*api_error = 1;
			return NULL;
		}
		char *fix = fix_for(kc, ns, p);
		char *msg = r->namespaced
			? xasprintf("%s \"%s\" not found in namespace %s (needed by %s): %s",
				    kind_word(p->kind), p->name, ns, use, fix)
			: xasprintf("%s \"%s\" not found (needed by %s): %s", kind_word(p->kind), p->name,
				    use, fix);
		free(fix);
		return msg;
	}
	char *msg = NULL;
	/* a claim being deleted never gets a new user: its pod would stay Pending */
	if (p->kind == PREREQ_PVC && json_get(obj, "metadata.deletionTimestamp"))
		msg = xasprintf("persistentvolumeclaim \"%s\" is being deleted (Terminating; needed by %s): "
				"a new pod cannot use it; see kubectl eidf pvc describe %s -n %s",
				p->name, use, p->name, ns);
	cJSON_Delete(obj);
	return msg;
}

int prereq_check(struct kclient *kc, const char *ns, const struct prereq_list *l)
{
	int missing = 0;
	for (size_t i = 0; i < l->n; i++) {
		int api_error;
		char *msg = prereq_check_one(kc, ns, &l->v[i], &api_error);
		if (api_error)
			return -1;
		if (msg) {
			eidf_error("%s", msg);
			free(msg);
			missing = 1;
		}
	}
	return missing;
}
