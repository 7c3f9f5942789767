/* Manifest builders, the Job policy set and its checker, dotted paths, and
 * schema validation of the emitted Job (npm kubernetes-models). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "eidf/manifest.h"
#include "eidf/settings.h"
#include "eidf/util.h"

static char tmpdir[] = "/tmp/eidf-test-manifest-XXXXXX";

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	/* an empty user config: no "queue" default */
	setenv("XDG_CONFIG_HOME", tmpdir, 1);
	settings_reset();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	int rc = system(cmd);
	free(cmd);
	settings_reset();
	return rc == 0 ? 0 : -1;
}

static const struct container_resources small = {
	.cpu_request = "1", .memory_request = "1Gi", .memory_limit = "4Gi",
};

static cJSON *build_job(void)
{
	struct job_policy pol = {
		.namespace = "eidf042ns", .stage = "fetch", .run_id = "r123",
		.eidf_user = "alice", .ttl_seconds = 1800, .backoff_limit = 1,
	};
	cJSON *job = manifest_job(&pol, "fetch");
	cJSON *c = manifest_container("main", "alpine/curl:latest", &small);
	cJSON_AddItemToObject(c, "command", cJSON_CreateStringArray((const char *[]){ "sh", "-c", "true" }, 3));
	manifest_add_mount(c, "data", "/mnt/ceph", 0);
	manifest_add_mount(c, "shm", "/dev/shm", 1);
	manifest_add_env(c, "OMP_NUM_THREADS", "1");
	manifest_add_env(c, "A", "x");
	manifest_add_env(c, "OMP_NUM_THREADS", "4"); /* replaces */
	manifest_add_container(job, c, 0);
	cJSON *init = manifest_container("git", "cicirello/alpine-plus-plus",
					  &(struct container_resources){ .cpu_request = "500m",
									 .memory_request = "512Mi",
									 .gpus = 0 });
	manifest_add_container(job, init, 1);
	manifest_add_volume(job, manifest_volume_pvc("data", "template-workflow-pvc", 0));
	manifest_add_volume(job, manifest_volume_pvc("ro", "shared", 1));
	manifest_add_volume(job, manifest_volume_empty_dir("shm", "Memory", "1Gi"));
	manifest_add_volume(job, manifest_volume_empty_dir("scratch", NULL, NULL));
	return job;
}

static void test_job_skeleton(void **state)
{
	(void)state;
	cJSON *job = build_job();

	assert_string_equal(json_str(job, "apiVersion"), "batch/v1");
	assert_string_equal(json_str(job, "kind"), "Job");
	assert_string_equal(json_str(job, "metadata.generateName"), "fetch-");
	assert_null(json_get(job, "metadata.name"));
	assert_string_equal(json_str(job, "metadata.namespace"), "eidf042ns");
	assert_string_equal(json_str(job, "metadata.labels.kueue\\.x-k8s\\.io/queue-name"),
			    "eidf042ns-user-queue");
	assert_string_equal(json_str(job, "metadata.labels.app\\.kubernetes\\.io/managed-by"), "kubectl-eidf");
	assert_string_equal(json_str(job, "metadata.labels.eidf\\.ac\\.uk/stage"), "fetch");
	assert_string_equal(json_str(job, "metadata.labels.eidf\\.ac\\.uk/run"), "r123");
	assert_string_equal(json_str(job, "metadata.labels.eidf/user"), "alice");
	assert_true(cJSON_IsObject(json_get(job, "metadata.annotations")));
	assert_int_equal(json_long(job, "spec.ttlSecondsAfterFinished", -1), 1800);
	assert_int_equal(json_long(job, "spec.backoffLimit", -1), 1);
	assert_string_equal(json_str(job, "spec.template.metadata.labels.eidf\\.ac\\.uk/stage"), "fetch");
	assert_string_equal(json_str(job, "spec.template.metadata.labels.eidf\\.ac\\.uk/run"), "r123");
	assert_string_equal(json_str(job, "spec.template.metadata.labels.app\\.kubernetes\\.io/managed-by"),
			    "kubectl-eidf");
	assert_null(json_get(job, "spec.template.metadata.labels.kueue\\.x-k8s\\.io/queue-name"));
	assert_string_equal(json_str(job, "spec.template.spec.restartPolicy"), "Never");

	/* containers, limits defaulting to requests */
	assert_string_equal(json_str(job, "spec.template.spec.containers.0.name"), "main");
	assert_string_equal(json_str(job, "spec.template.spec.containers.0.resources.requests.cpu"), "1");
	assert_string_equal(json_str(job, "spec.template.spec.containers.0.resources.limits.cpu"), "1");
	assert_string_equal(json_str(job, "spec.template.spec.containers.0.resources.limits.memory"), "4Gi");
	assert_null(json_get(job, "spec.template.spec.containers.0.resources.limits.nvidia\\.com/gpu"));
	assert_string_equal(json_str(job, "spec.template.spec.initContainers.0.resources.limits.memory"), "512Mi");
	assert_string_equal(json_str(job, "spec.template.spec.containers.0.volumeMounts.1.mountPath"), "/dev/shm");
	assert_true(cJSON_IsTrue(json_get(job, "spec.template.spec.containers.0.volumeMounts.1.readOnly")));
	assert_null(json_get(job, "spec.template.spec.containers.0.volumeMounts.0.readOnly"));
	assert_int_equal(cJSON_GetArraySize(json_get(job, "spec.template.spec.containers.0.env")), 2);
	assert_string_equal(json_str(job, "spec.template.spec.containers.0.env.0.value"), "4");
	assert_string_equal(json_str(job, "spec.template.spec.volumes.0.persistentVolumeClaim.claimName"),
			    "template-workflow-pvc");
	assert_true(cJSON_IsTrue(json_get(job, "spec.template.spec.volumes.1.persistentVolumeClaim.readOnly")));
	assert_string_equal(json_str(job, "spec.template.spec.volumes.2.emptyDir.medium"), "Memory");
	assert_string_equal(json_str(job, "spec.template.spec.volumes.2.emptyDir.sizeLimit"), "1Gi");
	assert_true(cJSON_IsObject(json_get(job, "spec.template.spec.volumes.3.emptyDir")));
	assert_null(json_get(job, "spec.template.spec.volumes.4"));

	assert_int_equal(manifest_check_job_policy(job), 0);
	cJSON_Delete(job);
}

static void test_job_options(void **state)
{
	(void)state;
	/* minimal policy: no ttl/backoff/run/user labels */
	struct job_policy pol = { .namespace = "ns1", .stage = "pvc", .ttl_seconds = -1,
				  .backoff_limit = -1, .queue = "special" };
	cJSON *job = manifest_job(&pol, "browse-");
	assert_string_equal(json_str(job, "metadata.generateName"), "browse-");
	assert_string_equal(json_str(job, "metadata.labels.kueue\\.x-k8s\\.io/queue-name"), "special");
	assert_null(json_get(job, "spec.ttlSecondsAfterFinished"));
	assert_null(json_get(job, "spec.backoffLimit"));
	assert_null(json_get(job, "metadata.labels.eidf/user"));
	assert_null(json_get(job, "metadata.labels.eidf\\.ac\\.uk/run"));

	/* labels and annotations set, replaced, removed */
	manifest_set_label(job, LABEL_MAX_EXEC_TIME, "3600");
	assert_int_equal(json_long(job, "metadata.labels.kueue\\.x-k8s\\.io/max-exec-time-seconds", 0), 3600);
	manifest_set_label(job, LABEL_QUEUE, "other");
	assert_string_equal(json_str(job, "metadata.labels.kueue\\.x-k8s\\.io/queue-name"), "other");
	manifest_set_label(job, LABEL_QUEUE, NULL);
	assert_null(json_get(job, "metadata.labels.kueue\\.x-k8s\\.io/queue-name"));
	manifest_set_annotation(job, "eidf.ac.uk/source", "https://example.com/x");
	assert_string_equal(json_str(job, "metadata.annotations.eidf\\.ac\\.uk/source"), "https://example.com/x");

	/* GPUs */
	struct container_resources res = { .cpu_request = "10", .cpu_limit = "12",
					   .memory_request = "40Gi", .memory_limit = "80Gi", .gpus = 2 };
	cJSON *c = manifest_container("main", "pytorch/pytorch", &res);
	assert_string_equal(json_str(c, "resources.limits.nvidia\\.com/gpu"), "2");
	assert_string_equal(json_str(c, "resources.limits.cpu"), "12");
	assert_null(json_get(c, "resources.requests.nvidia\\.com/gpu"));
	cJSON_Delete(c);
	cJSON_Delete(job);

	/* a NULL policy still gives a well-formed skeleton */
	job = manifest_job(NULL, NULL);
	assert_string_equal(json_str(job, "metadata.generateName"), "job-");
	assert_true(cJSON_IsArray(json_get(manifest_pod_spec(job), "containers")));
	cJSON_Delete(job);
}

static void test_queue_name(void **state)
{
	(void)state;
	char *q = policy_queue_name("eidf042ns", NULL);
	assert_string_equal(q, "eidf042ns-user-queue");
	free(q);
	q = policy_queue_name("eidf042ns", "mine");
	assert_string_equal(q, "mine");
	free(q);
	q = policy_queue_name("eidf042ns", "");
	assert_string_equal(q, "eidf042ns-user-queue");
	free(q);

	/* setting "queue" in the user config */
	char *dir = xasprintf("%s/kubectl-eidf", tmpdir);
	char *path = xasprintf("%s/config.yaml", dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	const char *yaml = "queue: team-queue\n";
	assert_int_equal(write_file_atomic(path, yaml, strlen(yaml), 0600), 0);
	settings_reset();
	q = policy_queue_name("eidf042ns", NULL);
	assert_string_equal(q, "team-queue");
	free(q);
	q = policy_queue_name("eidf042ns", "flag-wins");
	assert_string_equal(q, "flag-wins");
	free(q);
	struct job_policy pol = { .namespace = "eidf042ns", .ttl_seconds = -1, .backoff_limit = -1 };
	cJSON *job = manifest_job(&pol, "x-");
	assert_string_equal(json_str(job, "metadata.labels.kueue\\.x-k8s\\.io/queue-name"), "team-queue");
	cJSON_Delete(job);
	unlink(path);
	rmdir(dir);
	free(path);
	free(dir);
	settings_reset();
}

static void test_project_namespace(void **state)
{
	(void)state;
	assert_int_equal(policy_require_project_namespace("eidf042ns"), 0);
	assert_int_equal(policy_require_project_namespace("default"), -1);
	const char *e = eidf_last_error();
	assert_non_null(strstr(e, "refusing to create objects in namespace \"default\""));
	assert_non_null(strstr(e, "project namespace"));
	assert_non_null(strstr(e, "eidfNNNns"));
	assert_non_null(strstr(e, "-n "));
	assert_null(strchr(e, '\n'));
	assert_int_equal(policy_require_project_namespace(NULL), -1);
	assert_int_equal(policy_require_project_namespace(""), -1);
}

/* Each policy rule, broken on its own, is caught with a message naming the
 * container and the field. */
static void expect_violation(cJSON *job, const char *want)
{
	assert_int_equal(manifest_check_job_policy(job), -1);
	if (!strstr(eidf_last_error(), want))
		fail_msg("error \"%s\" does not mention \"%s\"", eidf_last_error(), want);
	cJSON_Delete(job);
}

static cJSON *container_at(cJSON *job, const char *list, int i)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItem(manifest_pod_spec(job), list), i);
}

static void test_check_policy(void **state)
{
	(void)state;
	cJSON *job;

	job = build_job();
	cJSON_AddStringToObject(cJSON_GetObjectItem(job, "metadata"), "name", "fixed");
	expect_violation(job, "sets metadata.name");

	job = build_job();
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(job, "metadata"), "generateName");
	expect_violation(job, "generateName");

	job = build_job();
	manifest_set_label(job, LABEL_QUEUE, NULL);
	expect_violation(job, "kueue.x-k8s.io/queue-name");

	job = build_job();
	manifest_set_label(job, LABEL_QUEUE, "");
	expect_violation(job, "kueue.x-k8s.io/queue-name");

	job = build_job();
	manifest_set_label(job, LABEL_EIDF_USER, "");
	expect_violation(job, "'eidf/user' is missing or has an empty value");

	static const char *const fields[][2] = {
		{ "requests", "cpu" }, { "requests", "memory" }, { "limits", "cpu" }, { "limits", "memory" },
	};
	for (size_t i = 0; i < 4; i++) {
		char *want;
		job = build_job();
		cJSON *r = cJSON_GetObjectItem(cJSON_GetObjectItem(container_at(job, "containers", 0), "resources"),
					       fields[i][0]);
		cJSON_DeleteItemFromObject(r, fields[i][1]);
		want = xasprintf("container \"main\" has no resources.%s.%s", fields[i][0], fields[i][1]);
		expect_violation(job, want);
		free(want);

		job = build_job();
		r = cJSON_GetObjectItem(cJSON_GetObjectItem(container_at(job, "initContainers", 0), "resources"),
					fields[i][0]);
		cJSON_DeleteItemFromObject(r, fields[i][1]);
		want = xasprintf("init container \"git\" has no resources.%s.%s", fields[i][0], fields[i][1]);
		expect_violation(job, want);
		free(want);
	}

	job = build_job();
	cJSON_DeleteItemFromObject(container_at(job, "containers", 0), "resources");
	expect_violation(job, "container \"main\" has no resources.requests.cpu");

	job = build_job();
	cJSON *c = manifest_container(NULL, "x", NULL);
	cJSON_DeleteItemFromObject(c, "name");
	manifest_add_container(job, c, 0);
	expect_violation(job, "container #2 has no resources.requests.cpu");

	job = build_job();
	cJSON *lim = cJSON_GetObjectItem(cJSON_GetObjectItem(container_at(job, "containers", 0), "resources"), "limits");
	cJSON_ReplaceItemInObject(lim, "memory", cJSON_CreateString("4GB"));
	expect_violation(job, "container \"main\": resources.limits.memory: invalid quantity \"4GB\"");

	job = build_job();
	lim = cJSON_GetObjectItem(cJSON_GetObjectItem(container_at(job, "containers", 0), "resources"), "limits");
	cJSON_ReplaceItemInObject(lim, "cpu", cJSON_CreateString("500m"));
	expect_violation(job, "resources.requests.cpu (1) must be less than or equal to resources.limits.cpu (500m)");

	job = build_job();
	cJSON_DeleteItemFromObject(manifest_pod_spec(job), "containers");
	expect_violation(job, "has no containers");

	job = build_job();
	cJSON_ReplaceItemInObject(job, "kind", cJSON_CreateString("Pod"));
	expect_violation(job, "not a Job");

	/* numbers are quantities too */
	job = build_job();
	lim = cJSON_GetObjectItem(cJSON_GetObjectItem(container_at(job, "containers", 0), "resources"), "limits");
	cJSON_ReplaceItemInObject(lim, "cpu", cJSON_CreateNumber(2));
	assert_int_equal(manifest_check_job_policy(job), 0);
	cJSON_Delete(job);

	assert_int_equal(manifest_check_job_policy(NULL), -1);
}

static void test_json_paths(void **state)
{
	(void)state;
	cJSON *o = cJSON_Parse("{\"a\":{\"b.c\":{\"d\":\"x\"},\"n\":7,\"s\":\"12\",\"bad\":\"1x\","
			       "\"arr\":[{\"k\":\"v0\"},{\"k\":\"v1\"}],\"back\\\\slash\":\"bs\"}}");
	assert_non_null(o);
	assert_string_equal(json_str(o, "a.b\\.c.d"), "x");
	assert_null(json_str(o, "a.b.c.d"));
	assert_null(json_str(o, "a.n"));           /* not a string */
	assert_int_equal(json_long(o, "a.n", -1), 7);
	assert_int_equal(json_long(o, "a.s", -1), 12);
	assert_int_equal(json_long(o, "a.bad", -1), -1);
	assert_int_equal(json_long(o, "a.missing", -5), -5);
	assert_string_equal(json_str(o, "a.arr.1.k"), "v1");
	assert_null(json_get(o, "a.arr.2.k"));
	assert_null(json_get(o, "a.arr.x"));
	assert_null(json_get(o, "a.arr.99999999999999999999"));
	assert_string_equal(json_str(o, "a.back\\\\slash"), "bs");
	assert_ptr_equal(json_get(o, ""), o);
	assert_null(json_get(NULL, "a"));
	assert_null(json_get(o, NULL));
	assert_null(json_get(o, "a..n"));
	cJSON_Delete(o);
}

/* The Job the builders emit is valid for the Kubernetes OpenAPI schema. */
static void test_schema_valid(void **state)
{
	(void)state;
	const char *src = getenv("EIDF_SRC");
	char *root = xstrdup(src && *src ? src : "../..");
	char *validator = xasprintf("%s/tests/validate-manifest.mjs", root);
	char *models = xasprintf("%s/tests/node_modules/kubernetes-models", root);
	if (access(validator, R_OK) || access(models, R_OK) ||
	    system("node --version >/dev/null 2>&1") != 0) {
		free(root);
		free(validator);
		free(models);
		skip();
		return;
	}
	cJSON *job = build_job();
	char *json = cJSON_PrintUnformatted(job);
	char path[] = "/tmp/eidf-test-job-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
	close(fd);
	char *cmd = xasprintf("node '%s' '%s' >/dev/null", validator, path);
	int rc = system(cmd);
	free(cmd);

	/* and the validator really rejects a broken one */
	cJSON_ReplaceItemInObject(manifest_pod_spec(job), "restartPolicy", cJSON_CreateNumber(3));
	char *bad = cJSON_PrintUnformatted(job);
	FILE *f = fopen(path, "w");
	fputs(bad, f);
	fclose(f);
	cmd = xasprintf("node '%s' '%s' >/dev/null 2>&1", validator, path);
	int rc_bad = system(cmd);
	free(cmd);

	unlink(path);
	free(bad);
	free(json);
	cJSON_Delete(job);
	free(root);
	free(validator);
	free(models);
	assert_int_equal(rc, 0);
	assert_int_not_equal(rc_bad, 0);
}

static void test_list(void **state)
{
	(void)state;
	cJSON *items = NULL;
	cJSON *list = manifest_list(&items);
	assert_non_null(items);
	cJSON_AddItemToArray(items, cJSON_CreateString("x"));
	char *s = cJSON_PrintUnformatted(list);
	assert_string_equal(s, "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[\"x\"]}");
	free(s);
	cJSON_Delete(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_job_skeleton),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_job_options),
		cmocka_unit_test(test_queue_name),
		cmocka_unit_test(test_project_namespace),
		cmocka_unit_test(test_check_policy),
		cmocka_unit_test(test_json_paths),
		cmocka_unit_test(test_schema_valid),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
