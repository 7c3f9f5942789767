/* Builders for the objects the stages create, with the policy set applied
 * to every Job (EIDF's rules by default, each one configurable):
 * generateName, queue label, optional eidf/user label, cpu+memory requests
 * and limits on every container, ttlSecondsAfterFinished, managed-by and
 * stage labels. */
#ifndef EIDF_MANIFEST_H
#define EIDF_MANIFEST_H

#include <cjson/cJSON.h>

#define LABEL_QUEUE "kueue.x-k8s.io/queue-name"
#define LABEL_MAX_EXEC_TIME "kueue.x-k8s.io/max-exec-time-seconds"
#define LABEL_MANAGED_BY "app.kubernetes.io/managed-by"
#define LABEL_STAGE "eidf.ac.uk/stage"
#define LABEL_RUN "eidf.ac.uk/run"
#define LABEL_EIDF_USER "eidf/user"
#define MANAGED_BY "kubectl-eidf"

struct job_policy {
	const char *namespace;
	const char *queue;           /* NULL: "<namespace>-user-queue" (setting "queue") */
	const char *eidf_user;       /* NULL: no eidf/user label */
	const char *stage;           /* "fetch", "devrun", "pvc" */
	const char *run_id;          /* unique per run: LABEL_RUN, or NULL */
	long ttl_seconds;            /* ttlSecondsAfterFinished; <0: omit */
	long backoff_limit;          /* <0: omit */
};

struct container_resources {
	const char *cpu_request, *cpu_limit;       /* limit NULL: = request */
	const char *memory_request, *memory_limit; /* limit NULL: = request */
	long gpus;                                 /* nvidia.com/gpu limit; 0: none */
};

/* queue name for a namespace: "<ns>-user-queue" unless overridden (caller frees). */
char *policy_queue_name(const char *ns, const char *override);
/* Refuse the "default" namespace with the EIDF explanation (-1 + error). */
int policy_require_project_namespace(const char *ns);

/* Job skeleton: apiVersion/kind, metadata (generateName = prefix, labels,
 * annotations {}), spec (ttl, backoffLimit, template with the same
 * managed-by/stage/run labels, restartPolicy Never, containers []). */
cJSON *manifest_job(const struct job_policy *pol, const char *generate_name);
/* Container with name, image, resources; command/args left to the caller. */
cJSON *manifest_container(const char *name, const char *image,
			  const struct container_resources *res);
/* Append to spec.template.spec.{containers,initContainers,volumes}. */
cJSON *manifest_pod_spec(cJSON *job);
void manifest_add_container(cJSON *job, cJSON *container, int init);
void manifest_add_volume(cJSON *job, cJSON *volume);
cJSON *manifest_volume_pvc(const char *name, const char *claim, int read_only);
cJSON *manifest_volume_empty_dir(const char *name, const char *medium, const char *size_limit);
void manifest_add_mount(cJSON *container, const char *volume, const char *path, int read_only);
void manifest_add_env(cJSON *container, const char *name, const char *value);
void manifest_set_label(cJSON *obj, const char *key, const char *value);
void manifest_set_annotation(cJSON *obj, const char *key, const char *value);
/* An empty v1 List, the document kubectl prints for several objects;
 * *items is its array. */
cJSON *manifest_list(cJSON **items);
/* Check a Job against the policy set before submitting (-1 + error naming
 * the container and the missing field). */
int manifest_check_job_policy(const cJSON *job);

/* String helpers for cJSON objects: path like "metadata.name" (caller must
 * not free; NULL when missing or not a string). */
const char *json_str(const cJSON *obj, const char *dotted_path);
long json_long(const cJSON *obj, const char *dotted_path, long dflt);
const cJSON *json_get(const cJSON *obj, const char *dotted_path);

#endif
