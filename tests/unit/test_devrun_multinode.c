/* devrun --nodes: the Indexed Job and headless Service (multinode.c), and
 * the sortable timestamps that merge the ranks' logs (log_merge.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "devrun_job.h"
#include "multinode.h"
#include "eidf/log_merge.h"
#include "eidf/manifest.h"

static void opts(struct devrun_opts *o, long nodes, int torchrun)
{
	memset(o, 0, sizeof(*o));
	o->image = "img";
	o->namespace = "eidf1ns";
	o->cpu = "1";
	o->memory = "1Gi";
	o->ttl_s = -1;
	o->nodes = nodes;
	o->torchrun = torchrun;
	strvec_push(&o->argv, "train.py");
	strvec_push(&o->argv, "$(NOT_MINE) a b");
}

static const cJSON *env_of(const cJSON *job, const char *name)
{
	const cJSON *c, *e;
	cJSON_ArrayForEach(c, json_get(job, "spec.template.spec.containers"))
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(c, "env"))
			if (!strcmp(json_str(e, "name"), name))
				return e;
	return NULL;
}

static void test_indexed_job_env_and_torchrun(void **state)
{
	(void)state;
	struct devrun_opts o;
	opts(&o, 4, 1);
	o.gpu = 8;
	o.master_port = 1234;
	strvec_push(&o.envs, "NNODES=7");   /* the user's value wins */
	struct devrun_code code = { .url = "https://example.org/r.git", .commit = "0123" };
	assert_int_equal(devrun_opts_check(&o, 1), 0);
	cJSON *job = devrun_job_manifest(&o, &code, "abc123", "exit 0");
	assert_string_equal(json_str(job, "spec.completionMode"), "Indexed");
	assert_int_equal(json_long(job, "spec.completions", 0), 4);
	assert_int_equal(json_long(job, "spec.parallelism", 0), 4);
	assert_int_equal(json_long(job, "spec.backoffLimit", -1), 0);
	assert_string_equal(json_str(job, "spec.template.spec.subdomain"), "devrun-abc123");
	assert_string_equal(json_str(env_of(job, "MASTER_ADDR"), "value"), "$(" DEVRUN_ENV_JOB ")-0.devrun-abc123");
	assert_string_equal(json_str(env_of(job, "MASTER_PORT"), "value"), "1234");
	assert_string_equal(json_str(env_of(job, "WORLD_SIZE"), "value"), "4");
	assert_string_equal(json_str(env_of(job, "NNODES"), "value"), "7");
	assert_string_equal(json_str(env_of(job, "NPROC_PER_NODE"), "value"), "8");
	assert_non_null(json_get(env_of(job, "NODE_RANK"), "valueFrom.fieldRef"));
	const cJSON *main = cJSON_GetArrayItem(json_get(job, "spec.template.spec.containers"), 0);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(main, "command"), 0)->valuestring, "torchrun");
	const cJSON *args = cJSON_GetObjectItem(main, "args");
	int n = cJSON_GetArraySize(args);
	assert_int_equal(n, 12);
	assert_string_equal(cJSON_GetArrayItem(args, 0)->valuestring, "--nnodes");
	assert_string_equal(cJSON_GetArrayItem(args, 10)->valuestring, "train.py");
	assert_string_equal(cJSON_GetArrayItem(args, 11)->valuestring, "$(NOT_MINE) a b");
	cJSON_Delete(job);

	cJSON *svc = devrun_multinode_service(&o, "abc123");
	assert_string_equal(json_str(svc, "metadata.name"), "devrun-abc123");
	assert_string_equal(json_str(svc, "spec.clusterIP"), "None");
	assert_true(cJSON_IsTrue(json_get(svc, "spec.publishNotReadyAddresses")));
	devrun_own_by_job(svc, "devrun-x1", "uid-1");
	assert_string_equal(json_str(cJSON_GetArrayItem(json_get(svc, "metadata.ownerReferences"), 0), "uid"),
			    "uid-1");
	cJSON_Delete(svc);
	devrun_opts_release(&o);
}

static void test_checks_and_names(void **state)
{
	(void)state;
	struct devrun_opts o;
	opts(&o, 1, 0);
	assert_false(devrun_is_multinode(&o));
	o.nodes = DEVRUN_MAX_NODES + 1;
	assert_int_equal(devrun_opts_check(&o, 1), -1);
	o.nodes = 2;
	o.torchrun = 1;
	o.shell = 1;
	assert_int_equal(devrun_opts_check(&o, 1), -1);
	assert_non_null(strstr(eidf_last_error(), "--shell"));
	o.shell = 0;
	/* a Service name starts with a letter, a --name need not */
	o.name = "7b";
	char *s = devrun_service_name(&o, "r1");
	assert_string_equal(s, "devrun-7b-r1");
	free(s);
	devrun_opts_release(&o);
}

static void test_ts_key_sorts_any_precision(void **state)
{
	(void)state;
	char a[32], b[32], c[32];
	assert_int_equal(log_merge_ts_key("2026-01-02T03:04:05Z", 20, a), 0);
	assert_int_equal(log_merge_ts_key("2026-01-02T03:04:05.5Z", 22, b), 0);
	assert_int_equal(log_merge_ts_key("2026-01-02T03:04:05.123456789Z", 30, c), 0);
	assert_string_equal(a, "2026-01-02T03:04:05.000000000");
	assert_string_equal(b, "2026-01-02T03:04:05.500000000");
	assert_true(strcmp(a, c) < 0 && strcmp(c, b) < 0);
	assert_int_equal(log_merge_ts_key("not a time", 10, a), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_indexed_job_env_and_torchrun),
		cmocka_unit_test(test_checks_and_names),
		cmocka_unit_test(test_ts_key_sorts_any_precision),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
