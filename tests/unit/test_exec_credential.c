/* exec_credential.c: ExecCredential parsing, running the fake plugin
 * (tests/fixtures/exec-plugin.sh), KUBERNETES_EXEC_INFO, the in-memory cache
 * and the error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eidf/exec_credential.h"
#include "eidf/kubeconfig.h"
#include "eidf/util.h"

#define V1 "client.authentication.k8s.io/v1"

static char *fixtures;   /* .../tests/fixtures */
static char *tmpdir;

static char *tmp(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static long count_runs(const char *file)
{
	struct strbuf sb = STRBUF_INIT;
	long n = 0;
	if (read_file(file, &sb) == 0)
		for (size_t i = 0; i < sb.len; i++)
			n += sb.buf[i] == '\n';
	strbuf_release(&sb);
	return n;
}

static int setup(void **state)
{
	(void)state;
	static const char *const vars[] = {
		"EXEC_PLUGIN_MODE", "EXEC_PLUGIN_TOKEN", "EXEC_PLUGIN_EXPIRY", "EXEC_PLUGIN_COUNT",
		"EXEC_PLUGIN_INFO_OUT", "EXEC_PLUGIN_ARGS_OUT", "EXEC_PLUGIN_STDIN_OUT",
		"EXEC_PLUGIN_STDERR", "EXEC_PLUGIN_EXIT", "KUBECONFIG",
	};
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(vars); i++)
		unsetenv(vars[i]);
	exec_credential_cache_clear();
	char *count = tmp("count");
	unlink(count);
	free(count);
	return 0;
}

static void load_exec(struct kube_config *cfg, const char *context)
{
	struct kube_flags fl = { .insecure_skip_tls_verify = -1 };
	char *path = xasprintf("%s/kubeconfig/exec.yaml", fixtures);
	fl.kubeconfig = path;
	fl.context = context;
	assert_int_equal(kube_config_load(&fl, cfg), 0);
	assert_non_null(cfg->exec);
	free(path);
}

/* ---- parsing ---------------------------------------------------------------------------- */

static void test_parse_token(void **state)
{
	struct exec_credential c;
	const char *j = "{\"kind\":\"ExecCredential\",\"apiVersion\":\"" V1 "\",\"status\":"
			"{\"token\":\"tok\",\"expirationTimestamp\":\"2030-01-02T03:04:05Z\"}}";
	(void)state;
	assert_int_equal(exec_credential_parse(j, strlen(j), V1, &c), 0);
	assert_string_equal(c.token, "tok");
	assert_null(c.cert_pem);
	assert_int_equal(c.expires, 1893553445);
	exec_credential_release(&c);
}

/* an escaped backslash before "u0000" is no NUL; a tab is a valid header character */
static void test_parse_token_edge_characters(void **state)
{
	static const char *const ok[] = {
		"{\"apiVersion\":\"" V1 "\",\"status\":{\"token\":\"a\\\\u0000b\"}}",
		"{\"apiVersion\":\"" V1 "\",\"status\":{\"token\":\"a\\tb\"}}",
	};
	(void)state;
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(ok); i++) {
		struct exec_credential c;
		if (exec_credential_parse(ok[i], strlen(ok[i]), V1, &c) != 0)
			fail_msg("case %zu: %s", i, eidf_last_error());
		exec_credential_release(&c);
	}
}

static void test_parse_cert(void **state)
{
	struct exec_credential c;
	const char *j = "{\"apiVersion\":\"" V1 "\",\"status\":{\"clientCertificateData\":"
			"\"-----BEGIN CERTIFICATE-----\\nAA==\\n-----END CERTIFICATE-----\\n\","
			"\"clientKeyData\":\"-----BEGIN PRIVATE KEY-----\\nAA==\\n-----END PRIVATE KEY-----\\n\"}}";
	(void)state;
	assert_int_equal(exec_credential_parse(j, strlen(j), V1, &c), 0);
	assert_null(c.token);
	assert_true(starts_with(c.cert_pem, "-----BEGIN CERTIFICATE-----\n"));
	assert_int_equal(c.cert_len, strlen(c.cert_pem));
	assert_true(starts_with(c.key_pem, "-----BEGIN PRIVATE KEY-----\n"));
	assert_int_equal(c.expires, 0);
	exec_credential_release(&c);
}

static void test_parse_errors(void **state)
{
	static const struct {
		const char *json, *needle;
	} cases[] = {
		{ "not json SECRET", "did not print an ExecCredential JSON object" },
		{ "[1,2]", "did not print an ExecCredential JSON object" },
		{ "{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"status\":{\"token\":\"SECRET\"}}",
		  "exec plugin is configured to use API version " V1 ", plugin returned version "
		  "client.authentication.k8s.io/v1beta1" },
		{ "{\"status\":{\"token\":\"SECRET\"}}", "has no apiVersion" },
		{ "{\"apiVersion\":\"" V1 "\",\"kind\":\"Pod\",\"status\":{\"token\":\"SECRET\"}}", "kind \"Pod\"" },
		{ "{\"apiVersion\":\"" V1 "\"}", "didn't return a status field" },
		{ "{\"apiVersion\":\"" V1 "\",\"status\":\"SECRET\"}", "status must be an object" },
		{ "{\"apiVersion\":\"" V1 "\",\"status\":{}}", "didn't return a token or cert/key pair" },
		{ "{\"apiVersion\":\"" V1 "\",\"status\":{\"token\":42}}", "token must be a string" },
		{ "{\"apiVersion\":\"" V1 "\",\"status\":{\"clientCertificateData\":\"-----BEGIN X\"}}",
		  "only certificate or key" },
		{ "{\"apiVersion\":\"" V1 "\",\"status\":{\"clientCertificateData\":\"U0VDUkVU\","
		  "\"clientKeyData\":\"U0VDUkVU\"}}", "must be PEM text" },
		{ "{\"apiVersion\":\"" V1 "\",\"status\":{\"token\":\"SECRET\",\"expirationTimestamp\":\"tomorrow\"}}",
		  "expirationTimestamp is not an RFC 3339 time" },
		/* a token that would become more than one header, or be cut short at a NUL */
		{ "{\"apiVersion\":\"" V1 "\",\"status\":{\"token\":\"SECRET\\r\\nX-Injected: yes\"}}",
		  "invalid header field value for \"Authorization\"" },
		{ "{\"apiVersion\":\"" V1 "\",\"status\":{\"token\":\"SECRET\\u000aX\"}}",
		  "invalid header field value for \"Authorization\"" },
		{ "{\"apiVersion\":\"" V1 "\",\"status\":{\"token\":\"SECRET\\u0000X\"}}",
		  "NUL character" },
		{ "{\"apiVersion\":\"" V1 "\",\"status\":{\"token\":\"SECRET\\u007fX\"}}",
		  "invalid header field value for \"Authorization\"" },
	};
	(void)state;
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(cases); i++) {
		struct exec_credential c;
		assert_int_equal(exec_credential_parse(cases[i].json, strlen(cases[i].json), V1, &c), -1);
		if (!strstr(eidf_last_error(), cases[i].needle) || strstr(eidf_last_error(), "SECRET"))
			fail_msg("case %zu: \"%s\", want \"%s\"", i, eidf_last_error(), cases[i].needle);
		assert_null(c.token);
	}
}

/* ---- running the plugin ------------------------------------------------------------------- */

static void test_run_token_and_cache(void **state)
{
	struct kube_config cfg;
	const struct exec_credential *c1, *c2;
	char *count = tmp("count");
	(void)state;
	setenv("EXEC_PLUGIN_COUNT", count, 1);     /* inherited environment reaches the plugin */
	load_exec(&cfg, NULL);
	assert_int_equal(exec_credential_get(&cfg, 0, &c1), 0);
	assert_string_equal(c1->token, "SECRET-EXEC-TOKEN"); /* from the kubeconfig's exec.env */
	assert_int_equal(c1->expires, 0);
	assert_int_equal(exec_credential_get(&cfg, 0, &c2), 0);
	assert_ptr_equal(c1, c2);
	assert_int_equal(count_runs(count), 1);    /* cached: no expiry */
	assert_int_equal(exec_credential_get(&cfg, 1, &c2), 0);
	assert_int_equal(count_runs(count), 2);    /* force_refresh (after a 401) */
	assert_string_equal(c2->token, "SECRET-EXEC-TOKEN");
	exec_credential_cache_clear();
	assert_int_equal(exec_credential_get(&cfg, 0, &c2), 0);
	assert_int_equal(count_runs(count), 3);
	kube_config_release(&cfg);
	free(count);
}

static void test_expiry(void **state)
{
	struct kube_config cfg;
	const struct exec_credential *c;
	char *count = tmp("count");
	(void)state;
	setenv("EXEC_PLUGIN_COUNT", count, 1);
	setenv("EXEC_PLUGIN_EXPIRY", "-30", 1);    /* already expired: re-run every time */
	load_exec(&cfg, NULL);
	assert_int_equal(exec_credential_get(&cfg, 0, &c), 0);
	assert_true(c->expires > 0 && c->expires < time(NULL));
	assert_int_equal(exec_credential_get(&cfg, 0, &c), 0);
	assert_int_equal(count_runs(count), 2);

	exec_credential_cache_clear();
	setenv("EXEC_PLUGIN_EXPIRY", "3600", 1);   /* valid for an hour: cached */
	assert_int_equal(exec_credential_get(&cfg, 0, &c), 0);
	assert_true(c->expires > time(NULL) + 3500);
	assert_int_equal(exec_credential_get(&cfg, 0, &c), 0);
	assert_int_equal(count_runs(count), 3);
	kube_config_release(&cfg);
	free(count);
}

static void test_exec_info_args_stdin(void **state)
{
	struct kube_config cfg;
	const struct exec_credential *c;
	char *info = tmp("info"), *args = tmp("args"), *in = tmp("stdin");
	struct strbuf sb = STRBUF_INIT;
	(void)state;
	setenv("EXEC_PLUGIN_INFO_OUT", info, 1);
	setenv("EXEC_PLUGIN_ARGS_OUT", args, 1);
	setenv("EXEC_PLUGIN_STDIN_OUT", in, 1);
	setenv("KUBERNETES_EXEC_INFO", "stale value from the parent", 1);
	load_exec(&cfg, NULL);
	assert_int_equal(exec_credential_get(&cfg, 0, &c), 0);
	unsetenv("KUBERNETES_EXEC_INFO");

	assert_int_equal(read_file(info, &sb), 0);
	cJSON *j = cJSON_Parse(sb.buf);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "kind")->valuestring, "ExecCredential");
	assert_string_equal(cJSON_GetObjectItem(j, "apiVersion")->valuestring, V1);
	cJSON *spec = cJSON_GetObjectItem(j, "spec");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(spec, "interactive")));
	cJSON *cl = cJSON_GetObjectItem(spec, "cluster");
	assert_non_null(cl);
	assert_string_equal(cJSON_GetObjectItem(cl, "server")->valuestring, "https://exec.example:6443");
	char *b64 = base64_encode(cfg.ca_pem, cfg.ca_len);
	assert_string_equal(cJSON_GetObjectItem(cl, "certificate-authority-data")->valuestring, b64);
	free(b64);
	cJSON *conf = cJSON_GetObjectItem(cl, "config");
	assert_string_equal(cJSON_GetObjectItem(conf, "audience")->valuestring, "eidf");
	assert_int_equal(cJSON_GetObjectItem(conf, "retries")->valueint, 3);
	assert_null(cJSON_GetObjectItem(cl, "insecure-skip-tls-verify"));
	cJSON_Delete(j);
	/* the extension exactly as client-go's YAML->JSON makes it */
	assert_non_null(strstr(sb.buf, "\"config\":{\"audience\":\"eidf\",\"big\":1000,"
			       "\"huge\":9007199254740993,\"mode\":493,\"retries\":3,\"zflag\":true}"));

	strbuf_reset(&sb);
	assert_int_equal(read_file(args, &sb), 0);
	assert_string_equal(sb.buf, "--mode\ntoken\n");
	strbuf_reset(&sb);
	assert_int_equal(read_file(in, &sb), 0);
	assert_int_equal(sb.len, 0);               /* stdin is /dev/null */
	kube_config_release(&cfg);

	/* without provideClusterInfo there is no spec.cluster */
	exec_credential_cache_clear();
	load_exec(&cfg, NULL);
	cfg.exec->provide_cluster_info = 0;
	assert_int_equal(exec_credential_get(&cfg, 0, &c), 0);
	strbuf_reset(&sb);
	assert_int_equal(read_file(info, &sb), 0);
	assert_string_equal(sb.buf, "{\"kind\":\"ExecCredential\",\"apiVersion\":\"" V1
			    "\",\"spec\":{\"interactive\":false}}");
	kube_config_release(&cfg);
	strbuf_release(&sb);
	unlink(info);
	unlink(args);
	unlink(in);
	free(info);
	free(args);
	free(in);
}

static void test_cert_reply(void **state)
{
	struct kube_config cfg;
	const struct exec_credential *c;
	(void)state;
	setenv("EXEC_PLUGIN_MODE", "cert", 1);
	load_exec(&cfg, NULL);
	assert_int_equal(exec_credential_get(&cfg, 0, &c), 0);
	assert_null(c->token);
	assert_true(starts_with(c->cert_pem, "-----BEGIN CERTIFICATE-----\n"));
	assert_true(starts_with(c->key_pem, "-----BEGIN PRIVATE KEY-----\n"));
	kube_config_release(&cfg);
}

static void expect_get_error(struct kube_config *cfg, const char *needle)
{
	const struct exec_credential *c = (void *)1;
	assert_int_equal(exec_credential_get(cfg, 0, &c), -1);
	assert_null(c);
	if (!strstr(eidf_last_error(), needle) || strstr(eidf_last_error(), "SECRET") ||
	    strchr(eidf_last_error(), '\n'))
		fail_msg("\"%s\", want \"%s\"", eidf_last_error(), needle);
}

static void test_errors(void **state)
{
	struct kube_config cfg;
	(void)state;
	load_exec(&cfg, NULL);

	setenv("EXEC_PLUGIN_MODE", "fail", 1);
	setenv("EXEC_PLUGIN_STDERR", "  error: refresh token expired\nrun eidf-login\n\n", 1);
	setenv("EXEC_PLUGIN_EXIT", "3", 1);
	/* the plugin's stderr went to ours (the user's terminal), as with kubectl */
	expect_get_error(&cfg, "failed with exit code 3 (its messages, if any, are above)");
	expect_get_error(&cfg, "for user \"exec\"");

	setenv("EXEC_PLUGIN_MODE", "badjson", 1);
	expect_get_error(&cfg, "did not print an ExecCredential JSON object");
	setenv("EXEC_PLUGIN_MODE", "wrongversion", 1);
	expect_get_error(&cfg, "plugin returned version client.authentication.k8s.io/v1alpha1");
	setenv("EXEC_PLUGIN_MODE", "nostatus", 1);
	expect_get_error(&cfg, "didn't return a status field");
	setenv("EXEC_PLUGIN_MODE", "empty", 1);
	expect_get_error(&cfg, "didn't return a token or cert/key pair");
	unsetenv("EXEC_PLUGIN_MODE");

	free(cfg.exec->command);
	cfg.exec->command = xstrdup("eidf-no-such-login-plugin");
	expect_get_error(&cfg, "executable eidf-no-such-login-plugin not found; install it with "
			 "`pip install eidf-login`");
	free(cfg.exec->install_hint);
	cfg.exec->install_hint = NULL;
	expect_get_error(&cfg, "not found; install it or fix users[].user.exec.command");

	free(cfg.exec->command);
	cfg.exec->command = xasprintf("%s/kubeconfig/certs/ca.crt", fixtures); /* not executable */
	expect_get_error(&cfg, "Permission denied");

	free(cfg.exec->interactive_mode);
	cfg.exec->interactive_mode = xstrdup("Always");
	expect_get_error(&cfg, "never runs plugins interactively");
	kube_config_release(&cfg);

	memset(&cfg, 0, sizeof(cfg));
	expect_get_error(&cfg, "no exec credential plugin");
}

int main(void)
{
	const char *f = getenv("EIDF_FIXTURES");
	char tmpl[] = "/tmp/eidf-test-exec.XXXXXX";
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_parse_token, setup),
		cmocka_unit_test_setup(test_parse_cert, setup),
		cmocka_unit_test_setup(test_parse_token_edge_characters, setup),
		cmocka_unit_test_setup(test_parse_errors, setup),
		cmocka_unit_test_setup(test_run_token_and_cache, setup),
		cmocka_unit_test_setup(test_expiry, setup),
		cmocka_unit_test_setup(test_exec_info_args_stdin, setup),
		cmocka_unit_test_setup(test_cert_reply, setup),
		cmocka_unit_test_setup(test_errors, setup),
	};
	int ret;

	if (f && f[0] == '/') {
		fixtures = xstrdup(f);
	} else {
		char *cwd = getcwd(NULL, 0);
		fixtures = xasprintf("%s/%s", cwd, f ? f : "../fixtures");
		free(cwd);
	}
	tmpdir = xstrdup(mkdtemp(tmpl));
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	exec_credential_cache_clear();
	char *count = tmp("count");
	unlink(count);
	free(count);
	rmdir(tmpdir);
	free(tmpdir);
	free(fixtures);
	return ret;
}
