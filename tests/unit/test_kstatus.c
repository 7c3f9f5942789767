/* Status bodies captured from a real kube-apiserver -> kubectl's messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "eidf/kstatus.h"
#include "eidf/util.h"

struct sample {
	const char *file;
	long code;
	const char *message;
	const char *reason;     /* NULL: none */
};

static const struct sample samples[] = {
	{ "status-400-badrequest.json", 400,
	  "Error from server (BadRequest): the object provided is unrecognized (must be of type "
	  "ConfigMap): couldn't get version/kind; json parse error: unexpected end of JSON input "
	  "({\"apiVersion\":\"v1\",\"kind\":\"Con ...)", "BadRequest" },
	{ "status-401-unauthorized.json", 401,
	  "You must be logged in to the server (Unauthorized)", "Unauthorized" },
	{ "status-403-forbidden.json", 403,
	  "Error from server (Forbidden): jobs.batch is forbidden: User \"limited-user\" cannot "
	  "list resource \"jobs\" in API group \"batch\" in the namespace \"default\"", "Forbidden" },
	{ "status-404-job-notfound.json", 404,
	  "Error from server (NotFound): jobs.batch \"does-not-exist\" not found", "NotFound" },
	{ "status-404-namespace-notfound.json", 404,
	  "Error from server (NotFound): namespaces \"nope\" not found", "NotFound" },
	{ "status-404-notfound.json", 404,
	  "Error from server (NotFound): pods \"does-not-exist\" not found", "NotFound" },
	{ "status-404-notfound.curl-ua-pretty.json", 404,
	  "Error from server (NotFound): pods \"does-not-exist\" not found", "NotFound" },
	/* text/plain "404 page not found": not a Status */
	{ "status-404-unknown-resource.json", 404,
	  "Error from server (NotFound): the server could not find the requested resource",
	  "NotFound" },
	{ "status-409-alreadyexists.json", 409,
	  "Error from server (AlreadyExists): persistentvolumeclaims \"demo-pvc\" already exists",
	  "AlreadyExists" },
	{ "status-409-conflict.json", 409,
	  "Error from server (Conflict): Operation cannot be fulfilled on persistentvolumeclaims "
	  "\"demo-pvc\": the object has been modified; please apply your changes to the latest "
	  "version and try again", "Conflict" },
	{ "status-422-invalid-job.json", 422,
	  "Error from server (Invalid): Job.batch \"bad-job-nsl4s\" is invalid: "
	  "spec.template.spec.containers: Required value", "Invalid" },
};

static void check(long code, const char *body, size_t len, const char *want, const char *want_reason)
{
	char *reason = (char *)"unset";
	char *msg = kstatus_message(code, body, len, &reason);
	assert_string_equal(msg, want);
	if (want_reason) {
		assert_non_null(reason);
		assert_string_equal(reason, want_reason);
	} else {
		assert_null(reason);
	}
	assert_null(strchr(msg, '\n'));
	free(msg);
	free(reason);
}

static void test_real_samples(void **state)
{
	const char *dir = getenv("EIDF_FIXTURES");
	(void)state;
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		char *path = xasprintf("%s/apiserver-samples/%s", dir ? dir : "../fixtures",
				       samples[i].file);
		struct strbuf sb = STRBUF_INIT;
		assert_int_equal(read_file(path, &sb), 0);
		check(samples[i].code, sb.buf, sb.len, samples[i].message, samples[i].reason);
		strbuf_release(&sb);
		free(path);
	}
}

static void test_every_sample_covered(void **state)
{
	/* a new status-*.json in the fixtures must get an expectation above */
	const char *dir = getenv("EIDF_FIXTURES");
	char *cmd = xasprintf("ls %s/apiserver-samples/status-*.json | wc -l",
			      dir ? dir : "../fixtures");
	FILE *f = popen(cmd, "r");
	int n = 0;
	(void)state;
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &n), 1);
	pclose(f);
	free(cmd);
	assert_int_equal(n, (int)(sizeof(samples) / sizeof(samples[0])));
}

static void test_text_plain_404(void **state)
{
	const char *b = "404 page not found\n";
	(void)state;
	check(404, b, strlen(b),
	      "Error from server (NotFound): the server could not find the requested resource",
	      "NotFound");
	check(404, NULL, 0,
	      "Error from server (NotFound): the server could not find the requested resource",
	      "NotFound");
}

static void test_generic_codes(void **state)
{
	(void)state;
	check(500, "boom\n", 5,
	      "Error from server (InternalError): an error on the server (\"boom\") has prevented "
	      "the request from succeeding", "InternalError");
	check(502, "", 0,
	      "Error from server (InternalError): an error on the server (\"unknown\") has "
	      "prevented the request from succeeding", "InternalError");
	check(503, "x", 1,
	      "Error from server (ServiceUnavailable): the server is currently unable to handle "
	      "the request", "ServiceUnavailable");
	check(429, "", 0,
	      "Error from server (TooManyRequests): the server has received too many requests "
	      "and has asked us to try again later", "TooManyRequests");
	check(401, "Unauthorized", 12,
	      "You must be logged in to the server (the server has asked for the client to "
	      "provide credentials)", "Unauthorized");
	check(403, "forbidden: nope\n", 16, "Error from server (Forbidden): forbidden: nope",
	      "Forbidden");
	check(418, "teapot", 6,
	      "Error from server: the server responded with the status code 418 but did not "
	      "return more information", NULL);
	/* quoting of control characters and binary bodies */
	check(500, "a\"b\nc", 5,
	      "Error from server (InternalError): an error on the server (\"a\\\"b\\nc\") has "
	      "prevented the request from succeeding", "InternalError");
	check(500, "a\0b", 3,
	      "Error from server (InternalError): an error on the server (\"unknown\") has "
	      "prevented the request from succeeding", "InternalError");
}

static void test_status_edge_cases(void **state)
{
	const char *no_reason = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
				"\"message\":\"something odd\",\"code\":500}";
	const char *no_message = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
				 "\"reason\":\"NotFound\",\"code\":404}";
	const char *not_status = "{\"kind\":\"Pod\",\"message\":\"x\"}";
	char *msg;
	(void)state;
	check(500, no_reason, strlen(no_reason), "Error from server: something odd", NULL);
	check(404, no_message, strlen(no_message),
	      "Error from server (NotFound): the server could not find the requested resource",
	      "NotFound");
	check(409, not_status, strlen(not_status),
	      "Error from server (Conflict): the server reported a conflict", "Conflict");
	/* reason_out may be NULL */
	msg = kstatus_message(404, NULL, 0, NULL);
	assert_non_null(strstr(msg, "could not find"));
	free(msg);
	/* long text bodies are capped like client-go (2048 chars) */
	{
		struct strbuf big = STRBUF_INIT;
		for (int i = 0; i < 5000; i++)
			strbuf_addch(&big, 'a' + i % 26);
		msg = kstatus_message(500, big.buf, big.len, NULL);
		assert_true(strlen(msg) < 2048 + 200);
		free(msg);
		strbuf_release(&big);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_samples),
		cmocka_unit_test(test_every_sample_covered),
		cmocka_unit_test(test_text_plain_404),
		cmocka_unit_test(test_generic_codes),
		cmocka_unit_test(test_status_edge_cases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
