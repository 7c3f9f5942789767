/* API client pieces that need no server: paths, resource table, log masking. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "eidf/kclient.h"
#include "eidf/util.h"

/* from common/kclient_internal.h (not a public header) */
char *klog_safe_body(const char *path, const char *body, size_t len);
const char *http_status_text(long code);

static void expect_path(const struct kres *r, const char *ns, const char *name, const char *want)
{
	char *p = kres_path(r, ns, name);
	assert_string_equal(p, want);
	free(p);
}

static void test_kres_path(void **state)
{
	(void)state;
	expect_path(&KRES_PVCS, "eidf042ns", "data",
		    "/api/v1/namespaces/eidf042ns/persistentvolumeclaims/data");
	expect_path(&KRES_PODS, "ns", NULL, "/api/v1/namespaces/ns/pods");
	expect_path(&KRES_PODS, NULL, NULL, "/api/v1/pods");
	expect_path(&KRES_JOBS, "ns", "j", "/apis/batch/v1/namespaces/ns/jobs/j");
	expect_path(&KRES_NAMESPACES, "ignored", "eidf042ns", "/api/v1/namespaces/eidf042ns");
	expect_path(&KRES_STORAGECLASSES, "ns", NULL, "/apis/storage.k8s.io/v1/storageclasses");
	expect_path(&KRES_LOCALQUEUES, "ns", NULL,
		    "/apis/kueue.x-k8s.io/v1beta1/namespaces/ns/localqueues");
	expect_path(&KRES_WORKLOADS, "ns", "w",
		    "/apis/kueue.x-k8s.io/v1beta1/namespaces/ns/workloads/w");
	/* hostile names stay one path segment */
	expect_path(&KRES_PODS, "a/b", "x?y=1&z",
		    "/api/v1/namespaces/a%2Fb/pods/x%3Fy%3D1%26z");
}

static void test_resource_table(void **state)
{
	(void)state;
	assert_string_equal(KRES_SECRETS.kind, "Secret");
	assert_true(KRES_SECRETS.namespaced);
	assert_false(KRES_NAMESPACES.namespaced);
	assert_false(KRES_STORAGECLASSES.namespaced);
	assert_string_equal(KRES_EVENTS.plural, "events");
	assert_string_equal(KRES_CONFIGMAPS.kind, "ConfigMap");
}

static void safe_has_not(const char *path, const char *body, const char *secret)
{
	char *s = klog_safe_body(path, body, strlen(body));
	if (strstr(s, secret))
		fail_msg("secret %s leaked: %s", secret, s);
	free(s);
}

static void test_secret_masking(void **state)
{
	const char *secret = "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\","
		"\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":"
		"\"{\\\"data\\\":{\\\"p\\\":\\\"TOPSECRET1\\\"}}\"}},"
		"\"data\":{\"password\":\"VE9QU0VDUkVUMg==\"},\"stringData\":{\"k\":\"TOPSECRET3\"},"
		"\"binaryData\":{\"b\":\"TOPSECRET4\"},\"type\":\"Opaque\"}";
	const char *list = "{\"kind\":\"SecretList\",\"items\":[{\"metadata\":{\"name\":\"a\"},"
		"\"data\":{\"x\":\"TOPSECRET5\"}}]}";
	const char *event = "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Secret\","
		"\"data\":{\"x\":\"TOPSECRET6\"}}}";
	const char *configmap = "{\"kind\":\"ConfigMap\",\"data\":{\"x\":\"visible\"}}";
	char *s;
	(void)state;

	safe_has_not("/api/v1/namespaces/n/secrets/s", secret, "TOPSECRET");
	safe_has_not("/api/v1/namespaces/n/secrets/s", secret, "VE9QU0VDUkVUMg");
	safe_has_not("/anything", secret, "TOPSECRET");
	safe_has_not("/api/v1/namespaces/n/secrets", list, "TOPSECRET");
	safe_has_not("/api/v1/secrets?watch=1", event, "TOPSECRET");
	safe_has_not("/api/v1/namespaces/n/configmaps", event, "TOPSECRET");
	/* items of a list under a secrets path have no kind: the path decides */
	safe_has_not("/api/v1/namespaces/n/secrets",
		     "{\"kind\":\"List\",\"items\":[{\"data\":{\"x\":\"TOPSECRET7\"}}]}", "TOPSECRET");
	/* unparseable bodies on a secrets path are not shown at all */
	safe_has_not("/api/v1/namespaces/n/secrets", "{\"data\":{\"x\":\"TOPSECRET8\"", "TOPSECRET");

	s = klog_safe_body("/api/v1/namespaces/n/secrets/s", secret, strlen(secret));
	assert_non_null(strstr(s, "\"password\":\"<masked>\""));
	assert_non_null(strstr(s, "\"name\":\"s\""));
	free(s);
	s = klog_safe_body("/api/v1/namespaces/n/configmaps/c", configmap, strlen(configmap));
	assert_non_null(strstr(s, "visible"));
	free(s);
	/* a path merely containing "secrets" in a name is not a secrets path */
	s = klog_safe_body("/api/v1/namespaces/n/configmaps/my-secrets", configmap,
			   strlen(configmap));
	assert_non_null(strstr(s, "visible"));
	free(s);
}

static void test_status_text(void **state)
{
	(void)state;
	assert_string_equal(http_status_text(200), "OK");
	assert_string_equal(http_status_text(404), "Not Found");
	assert_string_equal(http_status_text(429), "Too Many Requests");
	assert_string_equal(http_status_text(599), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kres_path),
		cmocka_unit_test(test_resource_table),
		cmocka_unit_test(test_secret_masking),
		cmocka_unit_test(test_status_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
