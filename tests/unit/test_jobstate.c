/* Run states from Job conditions and pods together: replayed watch streams of
 * a real job controller (apiserver-samples/job-lifecycle-*), where a pod ends
 * about a second before the Job says so, and made-up objects for what the
 * samples do not show (Unschedulable, image pulls, 1.30 conditions,
 * podFailurePolicy, Indexed Jobs). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "eidf/jobstate.h"
#include "eidf/manifest.h"
#include "eidf/util.h"

static char *fixture(const char *name)
{
	const char *dir = getenv("EIDF_FIXTURES");
	return xasprintf("%s/apiserver-samples/%s", dir ? dir : "../fixtures", name);
}

/* The events of one stream, by line number (1-based). */
static cJSON **read_stream(const char *name, int *n)
{
	char *path = fixture(name);
	struct strbuf sb = STRBUF_INIT;
	assert_int_equal(read_file(path, &sb), 0);
	cJSON **ev = NULL;
	*n = 0;
	char *save = NULL;
	for (char *line = strtok_r(sb.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		ev = realloc(ev, sizeof(*ev) * (size_t)(*n + 1));
		ev[*n] = cJSON_Parse(line);
		assert_non_null(ev[*n]);
		(*n)++;
	}
	strbuf_release(&sb);
	free(path);
	return ev;
}

static void apply_pod(cJSON *pods, const cJSON *ev)
{
	const char *type = json_str(ev, "type");
	const cJSON *obj = json_get(ev, "object");
	const char *uid = json_str(obj, "metadata.uid");
	int i = 0;
	cJSON *p;
	cJSON_ArrayForEach(p, pods) {
		const char *u = json_str(p, "metadata.uid");
		if (u && !strcmp(u, uid))
			break;
		i++;
	}
	if (p)
		cJSON_DeleteItemFromArray(pods, i);
	if (strcmp(type, "DELETED"))
		cJSON_AddItemToArray(pods, cJSON_Duplicate(obj, 1));
}

struct step {
	const char *phase_seen; /* the latest pod phase at this point */
	enum jobstate state;
};

/* Replays <prefix>-timeline.tsv, calling check() after every event. */
static void replay(const char *prefix, void (*check)(const cJSON *job, const cJSON *pods,
						     const char *stream, int line, void *ud), void *ud)
{
	char *jn = xasprintf("%s-jobs.jsonl", prefix), *pn = xasprintf("%s-pods.jsonl", prefix);
	char *tn = xasprintf("%s-timeline.tsv", prefix);
	int nj, np;
	cJSON **jev = read_stream(jn, &nj), **pev = read_stream(pn, &np);
	char *path = fixture(tn);
	struct strbuf sb = STRBUF_INIT;
	assert_int_equal(read_file(path, &sb), 0);
	cJSON *job = NULL, *pods = cJSON_CreateArray();
	char *save = NULL;
	for (char *row = strtok_r(sb.buf, "\n", &save); row; row = strtok_r(NULL, "\n", &save)) {
		char stream[16];
		int line;
		if (sscanf(row, "%*s\t%15s\t%d", stream, &line) != 2)
			continue; /* header, client rows */
		if (!strcmp(stream, "jobs")) {
			assert_true(line >= 1 && line <= nj);
			cJSON_Delete(job);
			job = cJSON_Duplicate(json_get(jev[line - 1], "object"), 1);
		} else {
			assert_true(line >= 1 && line <= np);
			apply_pod(pods, pev[line - 1]);
		}
		if (job)
			check(job, pods, stream, line, ud);
	}
	cJSON_Delete(job);
	cJSON_Delete(pods);
	for (int i = 0; i < nj; i++)
		cJSON_Delete(jev[i]);
	for (int i = 0; i < np; i++)
		cJSON_Delete(pev[i]);
	free(jev);
	free(pev);
	strbuf_release(&sb);
	free(path);
	free(jn);
	free(pn);
	free(tn);
}

static int any_pod_in(const cJSON *pods, const char *phase)
{
	const cJSON *p;
	cJSON_ArrayForEach(p, pods) {
		const char *ph = json_str(p, "status.phase");
		if (ph && !strcmp(ph, phase))
			return 1;
	}
	return 0;
}

struct seen {
	enum jobstate last;
	int completing, failing, retrying, pending_after_start;
};

static void check_succeed(const cJSON *job, const cJSON *pods, const char *stream, int line, void *ud)
{
	struct seen *s = ud;
	struct jobstate_info st;
	(void)stream;
	(void)line;
	jobstate_derive(job, pods, &st);
	if (any_pod_in(pods, "Succeeded")) {
		/* the pod ended well: finished, whether or not the Job says so yet */
		assert_true(st.state == JOBSTATE_COMPLETING || st.state == JOBSTATE_SUCCEEDED);
		assert_true(jobstate_finished(st.state));
		s->completing += st.state == JOBSTATE_COMPLETING;
	} else {
		assert_false(jobstate_finished(st.state));
		assert_int_equal(st.succeeded, 0);
	}
	if (any_pod_in(pods, "Running"))
		assert_int_equal(st.state, JOBSTATE_RUNNING);
	s->last = st.state;
}

static void test_succeed_under_lag(void **state)
{
	(void)state;
	struct seen s = { 0 };
	replay("job-lifecycle-succeed", check_succeed, &s);
	assert_int_equal(s.last, JOBSTATE_SUCCEEDED);
	/* the real controller lagged: there were events between the two */
	assert_true(s.completing >= 2);
}

static void check_fail(const cJSON *job, const cJSON *pods, const char *stream, int line, void *ud)
{
	struct seen *s = ud;
	struct jobstate_info st;
	(void)stream;
	(void)line;
	jobstate_derive(job, pods, &st);
	if (any_pod_in(pods, "Failed")) {
		/* backoffLimit 0: one failure fails the Job */
		assert_true(st.state == JOBSTATE_FAILING || st.state == JOBSTATE_FAILED);
		assert_true(jobstate_failed(st.state));
		assert_non_null(st.pod);
		assert_string_equal(st.container, "main");
		s->failing += st.state == JOBSTATE_FAILING;
	} else {
		assert_false(jobstate_finished(st.state));
	}
	s->last = st.state;
	if (st.state == JOBSTATE_FAILED)
		assert_string_equal(st.reason, "BackoffLimitExceeded");
}

static void test_fail_under_lag(void **state)
{
	(void)state;
	struct seen s = { 0 };
	replay("job-lifecycle-fail", check_fail, &s);
	assert_int_equal(s.last, JOBSTATE_FAILED);
	assert_true(s.failing >= 2);
}

static void check_retry(const cJSON *job, const cJSON *pods, const char *stream, int line, void *ud)
{
	struct seen *s = ud;
	struct jobstate_info st;
	jobstate_derive(job, pods, &st);
	int failed = 0;
	const cJSON *p;
	cJSON_ArrayForEach(p, pods) {
		const char *ph = json_str(p, "status.phase");
		failed += ph && !strcmp(ph, "Failed");
	}
	assert_int_equal(st.failed, failed);
	/* backoffLimit 2: the third failure ends it */
	if (failed >= 3) {
		assert_true(st.state == JOBSTATE_FAILING || st.state == JOBSTATE_FAILED);
	} else {
		assert_false(jobstate_finished(st.state));
		if (failed > 0 && !any_pod_in(pods, "Running") && !strcmp(stream, "pods"))
			/* between attempts: a retry, or its new pod on the way */
			assert_true(st.state == JOBSTATE_RETRYING || st.state == JOBSTATE_STARTING);
	}
	s->retrying += st.state == JOBSTATE_RETRYING;
	s->last = st.state;
	(void)line;
}

static void test_retry_under_lag(void **state)
{
	(void)state;
	struct seen s = { 0 };
	replay("job-lifecycle-retry", check_retry, &s);
	assert_int_equal(s.last, JOBSTATE_FAILED);
	assert_true(s.retrying >= 2);
}

/* ---- made-up objects -------------------------------------------------------------- */

static cJSON *parse(const char *text)
{
	cJSON *j = cJSON_Parse(text);
	assert_non_null(j);
	return j;
}

#define JOB(extra_spec, status) \
	"{\"metadata\":{\"name\":\"run-x\",\"uid\":\"J1\"},\"spec\":{\"parallelism\":1" extra_spec "}," \
	"\"status\":" status "}"
#define POD(name, status) \
	"{\"metadata\":{\"name\":\"" name "\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"," \
	"\"labels\":{\"controller-uid\":\"J1\"}},\"spec\":{}," "\"status\":" status "}"

static enum jobstate derive(const char *job_text, const char *pods_text, struct jobstate_info *st,
			    cJSON **keep_job, cJSON **keep_pods)
{
	*keep_job = parse(job_text);
	*keep_pods = parse(pods_text);
	jobstate_derive(*keep_job, *keep_pods, st);
	return st->state;
}

static void test_unschedulable_is_not_running(void **state)
{
	(void)state;
	cJSON *j, *p;
	struct jobstate_info st;
	/* status.active counts this Pending pod: the run is not running */
	derive(JOB("", "{\"active\":1,\"ready\":0}"),
	       "[" POD("run-x-a", "{\"phase\":\"Pending\",\"conditions\":[{\"type\":\"PodScheduled\","
	       "\"status\":\"False\",\"reason\":\"Unschedulable\",\"message\":\"0/3 nodes are available\"}]}") "]",
	       &st, &j, &p);
	assert_int_equal(st.state, JOBSTATE_UNSCHEDULABLE);
	assert_string_equal(st.reason, "Unschedulable");
	assert_string_equal(st.message, "0/3 nodes are available");
	assert_int_equal(st.pending, 1);
	assert_int_equal(st.running, 0);
	assert_false(jobstate_done(st.state));
	cJSON_Delete(j);
	cJSON_Delete(p);
}

static void test_image_pull_is_stuck(void **state)
{
	(void)state;
	cJSON *j, *p;
	struct jobstate_info st;
	derive(JOB("", "{\"active\":1}"),
	       "[" POD("run-x-a", "{\"phase\":\"Pending\",\"containerStatuses\":[{\"name\":\"main\","
	       "\"image\":\"nosuch/img\",\"state\":{\"waiting\":{\"reason\":\"ImagePullBackOff\","
	       "\"message\":\"Back-off pulling image\"}}}]}") "]", &st, &j, &p);
	assert_int_equal(st.state, JOBSTATE_STUCK);
	assert_string_equal(st.reason, "ImagePullBackOff");
	assert_string_equal(st.container, "main");
	assert_true(jobstate_done(st.state));
	assert_true(jobstate_failed(st.state));
	assert_false(jobstate_finished(st.state));
	cJSON_Delete(j);
	cJSON_Delete(p);
	/* an init container's missing Secret key */
	derive(JOB("", "{}"),
	       "[" POD("run-x-a", "{\"phase\":\"Pending\",\"initContainerStatuses\":[{\"name\":\"code\","
	       "\"state\":{\"waiting\":{\"reason\":\"CreateContainerConfigError\","
	       "\"message\":\"secret \\\"git\\\" not found\"}}}]}") "]", &st, &j, &p);
	assert_int_equal(st.state, JOBSTATE_STUCK);
	assert_string_equal(st.container, "code");
	assert_true(st.init);
	cJSON_Delete(j);
	cJSON_Delete(p);
}

static void test_init_and_creating_are_starting(void **state)
{
	(void)state;
	cJSON *j, *p;
	struct jobstate_info st;
	derive(JOB("", "{\"active\":1}"),
	       "[" "{\"metadata\":{\"name\":\"run-x-a\",\"ownerReferences\":[{\"uid\":\"J1\"}]},"
	       "\"spec\":{\"nodeName\":\"n1\"},\"status\":{\"phase\":\"Pending\","
	       "\"initContainerStatuses\":[{\"name\":\"code\",\"state\":{\"running\":{}}}],"
	       "\"containerStatuses\":[{\"name\":\"main\",\"state\":{\"waiting\":{\"reason\":\"PodInitializing\"}}}]}}" "]",
	       &st, &j, &p);
	assert_int_equal(st.state, JOBSTATE_STARTING);
	assert_string_equal(st.container, "code");
	assert_true(st.init);
	assert_string_equal(st.reason, "Running");
	cJSON_Delete(j);
	cJSON_Delete(p);
}

static void test_newer_conditions(void **state)
{
	(void)state;
	cJSON *j, *p;
	struct jobstate_info st;
	/* Kubernetes >= 1.30: SuccessCriteriaMet / FailureTarget come first */
	derive(JOB("", "{\"conditions\":[{\"type\":\"SuccessCriteriaMet\",\"status\":\"True\"}]}"), "[]",
	       &st, &j, &p);
	assert_int_equal(st.state, JOBSTATE_COMPLETING);
	cJSON_Delete(j);
	cJSON_Delete(p);
	derive(JOB("", "{\"conditions\":[{\"type\":\"FailureTarget\",\"status\":\"True\","
		   "\"reason\":\"DeadlineExceeded\"}]}"), "[]", &st, &j, &p);
	assert_int_equal(st.state, JOBSTATE_FAILING);
	assert_string_equal(st.reason, "DeadlineExceeded");
	cJSON_Delete(j);
	cJSON_Delete(p);
	/* a False condition decides nothing */
	derive(JOB("", "{\"conditions\":[{\"type\":\"Failed\",\"status\":\"False\"}]}"), "[]", &st, &j, &p);
	assert_int_equal(st.state, JOBSTATE_PENDING);
	cJSON_Delete(j);
	cJSON_Delete(p);
	derive(JOB(",\"suspend\":true", "{}"), "[]", &st, &j, &p);
	assert_int_equal(st.state, JOBSTATE_QUEUED);
	cJSON_Delete(j);
	cJSON_Delete(p);
}

#define FAILED_POD(name, code) POD(name, "{\"phase\":\"Failed\",\"containerStatuses\":[{\"name\":\"main\"," \
	"\"state\":{\"terminated\":{\"exitCode\":" #code ",\"reason\":\"Error\"}}}]}")

static void test_pod_failure_policy(void **state)
{
	(void)state;
	cJSON *j, *p;
	struct jobstate_info st;
#define PFP ",\"backoffLimit\":4,\"podFailurePolicy\":{\"rules\":[" \
	"{\"action\":\"FailJob\",\"onExitCodes\":{\"operator\":\"In\",\"values\":[2,3,4,5,6]}}," \
	"{\"action\":\"Ignore\",\"onPodConditions\":[{\"type\":\"DisruptionTarget\"}]}]}"
	derive(JOB(PFP, "{}"), "[" FAILED_POD("run-x-a", 3) "]", &st, &j, &p);
	assert_int_equal(st.state, JOBSTATE_FAILING);
	assert_string_equal(st.reason, "PodFailurePolicy");
	assert_string_equal(jobstate_pod_failure_action(j, cJSON_GetArrayItem(p, 0)), "FailJob");
	cJSON_Delete(j);
	cJSON_Delete(p);
	/* exit 1 is transient: counted, retried */
	derive(JOB(PFP, "{}"), "[" FAILED_POD("run-x-a", 1) "]", &st, &j, &p);
	assert_int_equal(st.state, JOBSTATE_RETRYING);
	assert_null(jobstate_pod_failure_action(j, cJSON_GetArrayItem(p, 0)));
	cJSON_Delete(j);
	cJSON_Delete(p);
	/* NotIn, and a container filter */
	derive(JOB(",\"podFailurePolicy\":{\"rules\":[{\"action\":\"Count\",\"onExitCodes\":"
		   "{\"containerName\":\"other\",\"operator\":\"In\",\"values\":[1]}},{\"action\":\"FailJob\","
		   "\"onExitCodes\":{\"operator\":\"NotIn\",\"values\":[1]}}]}", "{}"),
	       "[" FAILED_POD("run-x-a", 1) "]", &st, &j, &p);
	assert_null(jobstate_pod_failure_action(j, cJSON_GetArrayItem(p, 0)));
	cJSON_Delete(j);
	cJSON_Delete(p);
#undef PFP
}

static void test_indexed_completions(void **state)
{
	(void)state;
	cJSON *j, *p;
	struct jobstate_info st;
#define IDX_POD(name, idx, phase) \
	"{\"metadata\":{\"name\":\"" name "\",\"labels\":{\"controller-uid\":\"J1\"},\"annotations\":" \
	"{\"batch.kubernetes.io/job-completion-index\":\"" idx "\"}},\"spec\":{\"nodeName\":\"n\"}," \
	"\"status\":{\"phase\":\"" phase "\"}}"
	derive(JOB(",\"completions\":2,\"completionMode\":\"Indexed\"", "{}"),
	       "[" IDX_POD("a", "0", "Succeeded") "," IDX_POD("b", "0", "Succeeded") "," IDX_POD("c", "1", "Running") "]",
	       &st, &j, &p);
	assert_int_equal(st.state, JOBSTATE_RUNNING); /* index 0 twice is one completion */
	assert_int_equal(st.succeeded, 2);
	cJSON_Delete(j);
	cJSON_Delete(p);
	derive(JOB(",\"completions\":2,\"completionMode\":\"Indexed\"", "{}"),
	       "[" IDX_POD("a", "0", "Succeeded") "," IDX_POD("c", "1", "Succeeded") "]", &st, &j, &p);
	assert_int_equal(st.state, JOBSTATE_COMPLETING);
	cJSON_Delete(j);
	cJSON_Delete(p);
#undef IDX_POD
}

static void test_foreign_and_deleted_pods(void **state)
{
	(void)state;
	cJSON *j, *p;
	struct jobstate_info st;
	/* another Job's pod, and ours being deleted (suspended by Kueue): nothing runs */
	derive(JOB("", "{\"active\":1}"),
	       "[{\"metadata\":{\"name\":\"o\",\"labels\":{\"controller-uid\":\"J2\"}},\"status\":{\"phase\":\"Succeeded\"}},"
	       "{\"metadata\":{\"name\":\"d\",\"deletionTimestamp\":\"2026-01-01T00:00:00Z\",\"labels\":"
	       "{\"controller-uid\":\"J1\"}},\"spec\":{\"nodeName\":\"n\"},\"status\":{\"phase\":\"Running\"}}]",
	       &st, &j, &p);
	assert_int_equal(st.state, JOBSTATE_PENDING);
	assert_int_equal(st.succeeded, 0);
	assert_int_equal(st.running, 0);
	cJSON_Delete(j);
	cJSON_Delete(p);
	/* a List object works as well as an array */
	derive(JOB("", "{}"), "{\"items\":[" POD("run-x-a", "{\"phase\":\"Succeeded\"}") "]}", &st, &j, &p);
	assert_int_equal(st.state, JOBSTATE_COMPLETING);
	cJSON_Delete(j);
	cJSON_Delete(p);
	assert_string_equal(jobstate_word(JOBSTATE_COMPLETING), "Completing");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_succeed_under_lag),
		cmocka_unit_test(test_fail_under_lag),
		cmocka_unit_test(test_retry_under_lag),
		cmocka_unit_test(test_unschedulable_is_not_running),
		cmocka_unit_test(test_image_pull_is_stuck),
		cmocka_unit_test(test_init_and_creating_are_starting),
		cmocka_unit_test(test_newer_conditions),
		cmocka_unit_test(test_pod_failure_policy),
		cmocka_unit_test(test_indexed_completions),
		cmocka_unit_test(test_foreign_and_deleted_pods),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
