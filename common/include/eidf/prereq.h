/* Check what a Job (or a claim) needs before creating it: the objects its
 * pods reference by name.  Kubernetes accepts a Job naming a claim or Secret
 * that does not exist; its pod then waits for ever (Unschedulable,
 * FailedMount, CreateContainerConfigError) while the Job holds quota.  One
 * GET per object; a 403 (the user may not read that kind) skips the check
 * quietly, as the API server will still decide. */
#ifndef EIDF_PREREQ_H
#define EIDF_PREREQ_H

#include <stddef.h>

struct kclient;

enum prereq_kind {
	PREREQ_PVC,
	PREREQ_SECRET,
	PREREQ_CONFIGMAP,
	PREREQ_STORAGECLASS,  /* cluster-scoped */
};

struct prereq {
	enum prereq_kind kind;
	char *name;
	char *use;            /* what needs it, for the message: "--pvc data" */
};

struct prereq_list {
	struct prereq *v;
	size_t n, alloc;
};
#define PREREQ_LIST_INIT { NULL, 0, 0 }

/* Adds an object to check (once per kind and name; the first use is kept). */
void prereq_add(struct prereq_list *l, enum prereq_kind kind, const char *name, const char *use);
void prereq_release(struct prereq_list *l);

/* GETs each object in NS.  Returns 0 when everything exists (or could not be
 * read: 403), 1 when something is missing or unusable, with one line per
 * problem printed as an error (the object, what needs it, and the fix:
 * `kubectl eidf pvc create`, `kubectl create secret`, the storage classes
 * that exist), and -1 on any other API error (eidf_last_error()). */
int prereq_check(struct kclient *kc, const char *ns, const struct prereq_list *l);

/* The problem with one object as a line (caller frees), or NULL when it is
 * fine; for callers that report differently.  *api_error is set on an API
 * error other than 403/404. */
char *prereq_check_one(struct kclient *kc, const char *ns, const struct prereq *p, int *api_error);

#endif
