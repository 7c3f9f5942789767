/* kubeconfig.c: one test per client-go rule, each on its own fixture in
 * tests/fixtures/kubeconfig/ (EIDF_FIXTURES is set by ctest). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eidf/kubeconfig.h"
#include "eidf/util.h"

static char *fixtures;   /* .../tests/fixtures/kubeconfig */
static char *tmp_home;   /* empty HOME for each test */
static char *start_cwd;

static char *fx(const char *name)
{
	return xasprintf("%s/%s", fixtures, name);
}

static char *fx_data(const char *name)
{
	char *p = fx(name);
	struct strbuf sb = STRBUF_INIT;
	assert_int_equal(read_file(p, &sb), 0);
	free(p);
	return strbuf_detach(&sb);
}

static int reset_env(void **state)
{
	(void)state;
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv("POD_NAMESPACE");
	unsetenv("EIDF_SERVICEACCOUNT_DIR");
	unsetenv("KUBERNETES_MASTER");
	setenv("HOME", tmp_home, 1);
	return chdir(start_cwd);
}

#define FLAGS_INIT { .insecure_skip_tls_verify = -1 }

/* Load with --kubeconfig FIXTURE (NULL: from the environment). */
static int load_fx(const char *name, struct kube_flags *fl, struct kube_config *cfg)
{
	char *p = name ? fx(name) : NULL;
	if (p)
		fl->kubeconfig = p;
	int r = kube_config_load(fl, cfg);
	if (p)
		fl->kubeconfig = NULL;
	free(p);
	return r;
}

static void set_kubeconfig_env(const char *a, const char *b, const char *c)
{
	struct strbuf sb = STRBUF_INIT;
	const char *names[] = { a, b, c };
	for (int i = 0; i < 3; i++) {
		if (!names[i])
			continue;
		if (sb.len)
			strbuf_addch(&sb, ':');
		strbuf_addf(&sb, "%s/%s", fixtures, names[i]);
	}
	setenv("KUBECONFIG", sb.buf, 1);
	strbuf_release(&sb);
}

static void expect_error(const char *name, struct kube_flags *fl, const char *needle)
{
	struct kube_config cfg;
	assert_int_equal(load_fx(name, fl, &cfg), -1);
	const char *err = eidf_last_error();
	if (!strstr(err, needle))
		fail_msg("error \"%s\" does not contain \"%s\"", err, needle);
	assert_null(strchr(err, '\n'));
	assert_null(strstr(err, "SECRET"));
	assert_null(cfg.server);
	assert_null(cfg.token);
}

static void expect_ca(const struct kube_config *cfg, const char *fixture_file)
{
	char *want = fx_data(fixture_file);
	assert_non_null(cfg->ca_pem);
	assert_int_equal(cfg->ca_len, strlen(want));
	assert_memory_equal(cfg->ca_pem, want, cfg->ca_len);
	free(want);
}

/* ---- loading -------------------------------------------------------------------- */

static void test_single_file(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	assert_int_equal(load_fx("basic.yaml", &fl, &cfg), 0);
	assert_string_equal(cfg.context_name, "basic");
	assert_string_equal(cfg.cluster_name, "basic");
	assert_string_equal(cfg.user_name, "basic-user");
	assert_string_equal(cfg.server, "https://basic.example:6443");
	assert_string_equal(cfg.namespace, "eidf001ns");
	assert_int_equal(cfg.namespace_explicit, 1);
	assert_string_equal(cfg.token, "SECRET-BASIC-TOKEN");
	assert_null(cfg.exec);
	assert_int_equal(cfg.in_cluster, 0);
	expect_ca(&cfg, "certs/ca.crt");
	kube_config_release(&cfg);
}

static void test_kubeconfig_flag_missing(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	fl.kubeconfig = "/nonexistent/kubeconfig";
	assert_int_equal(kube_config_load(&fl, &cfg), -1);
	assert_true(starts_with(eidf_last_error(),
				"stat /nonexistent/kubeconfig: no such file or directory"));
}

static void test_kubeconfig_flag_is_one_path(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	char *both = xasprintf("%s/basic.yaml:%s/basic.yaml", fixtures, fixtures);
	(void)state;
	fl.kubeconfig = both;
	assert_int_equal(kube_config_load(&fl, &cfg), -1);
	char *want = xasprintf("stat %s: no such file", both);
	assert_true(starts_with(eidf_last_error(), want));
	free(want);
	free(both);
}

static void test_kubeconfig_flag_beats_env(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	set_kubeconfig_env("merge-a.yaml", NULL, NULL);
	assert_int_equal(load_fx("no-namespace.yaml", &fl, &cfg), 0);
	assert_string_equal(cfg.server, "https://nons.example:6443");
	kube_config_release(&cfg);
}

static void test_env_first_definition_wins(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	set_kubeconfig_env("merge-a.yaml", "merge-b.yaml", NULL);
	assert_int_equal(kube_config_load(&fl, &cfg), 0);
	assert_string_equal(cfg.context_name, "ctx-a");   /* a's current-context */
	assert_string_equal(cfg.cluster_name, "shared");  /* a's ctx-a, not b's */
	assert_string_equal(cfg.server, "https://from-a.example:6443");
	assert_null(cfg.tls_server_name);                 /* b's field dropped entirely */
	assert_int_equal(cfg.insecure, 1);
	assert_string_equal(cfg.token, "SECRET-A-TOKEN");
	assert_string_equal(cfg.namespace, "ns-a");
	kube_config_release(&cfg);
}

static void test_env_context_from_second_file(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	set_kubeconfig_env("merge-a.yaml", "merge-b.yaml", NULL);
	fl.context = "ctx-b";
	assert_int_equal(kube_config_load(&fl, &cfg), 0);
	assert_string_equal(cfg.server, "https://only-b.example:6443");
	assert_string_equal(cfg.token, "SECRET-B2-TOKEN");
	assert_string_equal(cfg.namespace, "ns-b");
	expect_ca(&cfg, "certs/ca2.crt");
	kube_config_release(&cfg);
}

static void test_env_first_nonempty_current_context(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	set_kubeconfig_env("nocur.yaml", "merge-b.yaml", "merge-a.yaml");
	assert_int_equal(kube_config_load(&fl, &cfg), 0);
	assert_string_equal(cfg.context_name, "ctx-b");
	kube_config_release(&cfg);
}

static void test_env_missing_empty_duplicate_entries(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	char *env = xasprintf("::/nonexistent/a:%s/merge-a.yaml::%s/merge-a.yaml:/nonexistent/b:",
			      fixtures, fixtures);
	(void)state;
	setenv("KUBECONFIG", env, 1);
	free(env);
	/* merge-a twice would be a duplicate-name error if it were read twice */
	assert_int_equal(kube_config_load(&fl, &cfg), 0);
	assert_string_equal(cfg.context_name, "ctx-a");
	kube_config_release(&cfg);
}

static void write_home_config(const char *content)
{
	char *dir = xasprintf("%s/.kube", tmp_home);
	char *path = xasprintf("%s/config", dir);
	mkdir(dir, 0700);
	assert_int_equal(write_file_atomic(path, content, strlen(content), 0600), 0);
	free(path);
	free(dir);
}

static void remove_home_config(void)
{
	char *path = xasprintf("%s/.kube/config", tmp_home);
	unlink(path);
	free(path);
}

static void test_home_fallback(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	char *data = fx_data("no-namespace.yaml");
	(void)state;
	write_home_config(data);
	free(data);
	assert_int_equal(kube_config_load(&fl, &cfg), 0);
	assert_string_equal(cfg.server, "https://nons.example:6443");
	kube_config_release(&cfg);

	/* KUBECONFIG set (even to missing files only) means ~/.kube/config is not read */
	setenv("KUBECONFIG", "/nonexistent/one:/nonexistent/two", 1);
	assert_int_equal(kube_config_load(&fl, &cfg), -1);
	assert_true(starts_with(eidf_last_error(), "no configuration found"));
	remove_home_config();
}

static void test_no_configuration(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	assert_int_equal(kube_config_load(&fl, &cfg), -1);
	assert_string_equal(eidf_last_error(), "no configuration found: set KUBECONFIG, pass "
			    "--kubeconfig, or create ~/.kube/config");
}

static void test_no_current_context(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	(void)state;
	expect_error("empty.yaml", &fl, "has no current-context");
	expect_error("nocur.yaml", &fl, "pass --context");
}

static void test_duplicate_name_in_one_file(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	(void)state;
	expect_error("dup-cluster.yaml", &fl, "cluster \"twice\" is defined more than once");
	expect_error("dup-cluster.yaml", &fl, "dup-cluster.yaml");
}

/* ---- relative paths and *-data ------------------------------------------------------ */

static void test_relative_paths(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	assert_int_equal(load_fx("relative/sub/config", &fl, &cfg), 0);
	expect_ca(&cfg, "relative/ca.crt");
	assert_string_equal(cfg.token, "SECRET-REL-TOKEN");
	char *tf = xasprintf("%s/relative/sub/../token", fixtures);
	assert_string_equal(cfg.token_file, tf);
	free(tf);
	kube_config_release(&cfg);

	fl.user = "rel-cert";
	assert_int_equal(load_fx("relative/sub/config", &fl, &cfg), 0);
	char *cert = fx_data("certs/client.crt"), *key = fx_data("certs/client.key");
	assert_string_equal(cfg.cert_pem, cert);
	assert_string_equal(cfg.key_pem, key);
	free(cert);
	free(key);
	kube_config_release(&cfg);

	fl.user = "rel-exec";     /* command with a '/': resolved */
	assert_int_equal(load_fx("relative/sub/config", &fl, &cfg), 0);
	char *cmd = xasprintf("%s/relative/sub/../bin/plugin", fixtures);
	assert_non_null(cfg.exec);
	assert_string_equal(cfg.exec->command, cmd);
	assert_string_equal(cfg.exec->interactive_mode, "Never");
	free(cmd);
	kube_config_release(&cfg);

	fl.user = "path-exec";    /* bare command name: looked up on PATH */
	assert_int_equal(load_fx("relative/sub/config", &fl, &cfg), 0);
	assert_string_equal(cfg.exec->command, "exec-plugin.sh");
	assert_string_equal(cfg.exec->interactive_mode, "IfAvailable"); /* v1beta1 default */
	kube_config_release(&cfg);
}

static void test_relative_kubeconfig_path_other_cwd(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	char *dir = fx("relative");
	(void)state;
	assert_int_equal(chdir(dir), 0);
	free(dir);
	fl.kubeconfig = "sub/config";
	assert_int_equal(kube_config_load(&fl, &cfg), 0);
	expect_ca(&cfg, "relative/ca.crt");
	kube_config_release(&cfg);
	/* the same file through KUBECONFIG */
	setenv("KUBECONFIG", "sub/config", 1);
	fl.kubeconfig = NULL;
	assert_int_equal(kube_config_load(&fl, &cfg), 0);
	expect_ca(&cfg, "relative/ca.crt");
	kube_config_release(&cfg);
}

/* clientcmd's validation refuses a file and its -data together (kubectl
 * does, even though `config view` shows the file) */
static void test_data_and_file_conflict(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	(void)state;
	expect_error("data-wins.yaml", &fl,
		     "certificate-authority-data and certificate-authority are both specified");
	fl.insecure_skip_tls_verify = 1;
	fl.client_certificate = "/nonexistent/client.crt";
	/* --insecure-skip-tls-verify resets the CA; the client certificate still conflicts */
	expect_error("data-wins.yaml", &fl,
		     "client-certificate-data and --client-certificate are both specified");
}

static void test_cert_files(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	assert_int_equal(load_fx("cert.yaml", &fl, &cfg), 0);
	char *cert = fx_data("certs/client.crt");
	assert_string_equal(cfg.cert_pem, cert);
	free(cert);
	assert_null(cfg.token);
	kube_config_release(&cfg);
}

/* ---- selection ---------------------------------------------------------------------- */

static void test_context_cluster_user_flags(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	fl.context = "k2";
	assert_int_equal(load_fx("selection.yaml", &fl, &cfg), 0);
	assert_string_equal(cfg.server, "https://c2.example:6443");
	assert_string_equal(cfg.tls_server_name, "c2.internal");
	assert_string_equal(cfg.token, "SECRET-U2");
	assert_string_equal(cfg.namespace, "default");
	assert_int_equal(cfg.namespace_explicit, 0);
	kube_config_release(&cfg);

	fl.context = NULL;
	fl.cluster = "c2";
	fl.user = "u2";
	assert_int_equal(load_fx("selection.yaml", &fl, &cfg), 0);
	assert_string_equal(cfg.context_name, "k1");
	assert_string_equal(cfg.cluster_name, "c2");
	assert_string_equal(cfg.user_name, "u2");
	assert_string_equal(cfg.server, "https://c2.example:6443");
	assert_string_equal(cfg.token, "SECRET-U2");
	assert_string_equal(cfg.namespace, "ns1");        /* still k1's namespace */
	kube_config_release(&cfg);
}

static void test_selection_errors(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	(void)state;
	fl.context = "nope";
	expect_error("selection.yaml", &fl, "context \"nope\" does not exist");
	fl.context = NULL;
	fl.cluster = "nope";
	expect_error("selection.yaml", &fl, "cluster \"nope\" does not exist");
	fl.cluster = NULL;
	fl.user = "nope";
	expect_error("selection.yaml", &fl, "user \"nope\" does not exist");
}

static void test_anonymous_user_ok(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	fl.context = "anon";
	assert_int_equal(load_fx("selection.yaml", &fl, &cfg), 0);
	assert_null(cfg.token);
	assert_null(cfg.cert_pem);
	assert_null(cfg.exec);
	kube_config_release(&cfg);
	fl.context = "nouser";
	assert_int_equal(load_fx("selection.yaml", &fl, &cfg), 0);
	assert_string_equal(cfg.user_name, "");
	kube_config_release(&cfg);
}

static void test_missing_references(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	(void)state;
	expect_error("missing-user.yaml", &fl, "refers to user \"ghost\", which is not defined");
	expect_error("missing-cluster.yaml", &fl, "refers to cluster \"ghost\", which is not defined");
	expect_error("bad-current.yaml", &fl, "current-context \"gone\"");
}

/* ---- cluster overrides ------------------------------------------------------------------ */

static void test_server_flag_clears_tls_server_name(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	fl.context = "k2";
	fl.server = "https://override.example:443";
	assert_int_equal(load_fx("selection.yaml", &fl, &cfg), 0);
	assert_string_equal(cfg.server, "https://override.example:443");
	assert_null(cfg.tls_server_name);
	expect_ca(&cfg, "certs/ca2.crt");                 /* CA kept */
	kube_config_release(&cfg);

	fl.tls_server_name = "flag.internal";
	assert_int_equal(load_fx("selection.yaml", &fl, &cfg), 0);
	assert_string_equal(cfg.tls_server_name, "flag.internal");
	kube_config_release(&cfg);

	fl.server = NULL;
	fl.tls_server_name = "only-name.internal";
	assert_int_equal(load_fx("selection.yaml", &fl, &cfg), 0);
	assert_string_equal(cfg.server, "https://c2.example:6443");
	assert_string_equal(cfg.tls_server_name, "only-name.internal");
	kube_config_release(&cfg);
}

static void test_ca_and_insecure(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	char *ca2 = fx("certs/ca2.crt");
	(void)state;
	expect_error("ca-insecure.yaml", &fl,
		     "specifying a root certificates file with the insecure flag is not allowed");

	/* --insecure-skip-tls-verify resets the CA */
	fl.insecure_skip_tls_verify = 1;
	assert_int_equal(load_fx("ca-insecure.yaml", &fl, &cfg), 0);
	assert_int_equal(cfg.insecure, 1);
	assert_null(cfg.ca_pem);
	kube_config_release(&cfg);

	/* --certificate-authority resets insecure */
	fl.insecure_skip_tls_verify = -1;
	fl.certificate_authority = ca2;
	assert_int_equal(load_fx("insecure.yaml", &fl, &cfg), 0);
	assert_int_equal(cfg.insecure, 0);
	expect_ca(&cfg, "certs/ca2.crt");
	assert_string_equal(cfg.tls_server_name, "ins.internal");
	kube_config_release(&cfg);

	/* and replaces the kubeconfig's CA */
	assert_int_equal(load_fx("basic.yaml", &fl, &cfg), 0);
	expect_ca(&cfg, "certs/ca2.crt");
	kube_config_release(&cfg);

	/* both flags together */
	fl.insecure_skip_tls_verify = 1;
	expect_error("basic.yaml", &fl, "insecure flag is not allowed");

	/* --insecure-skip-tls-verify=false changes nothing (client-go's merge) */
	fl.certificate_authority = NULL;
	fl.insecure_skip_tls_verify = 0;
	assert_int_equal(load_fx("insecure.yaml", &fl, &cfg), 0);
	assert_int_equal(cfg.insecure, 1);
	kube_config_release(&cfg);

	fl.insecure_skip_tls_verify = -1;
	fl.certificate_authority = "/nonexistent/ca.crt";
	expect_error("basic.yaml", &fl, "cannot read certificate-authority /nonexistent/ca.crt");
	free(ca2);
}

static void test_server_scheme_default(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	fl.server = "api.example:6443";   /* even with a CA: http, like kubectl */
	assert_int_equal(load_fx("basic.yaml", &fl, &cfg), 0);
	assert_string_equal(cfg.server, "http://api.example:6443");
	assert_null(cfg.token);
	kube_config_release(&cfg);
	fl.server = "https://api.example:6443/";
	assert_int_equal(load_fx("basic.yaml", &fl, &cfg), 0);
	assert_string_equal(cfg.server, "https://api.example:6443");
	kube_config_release(&cfg);
	fl.server = "ftp://api.example";
	expect_error("basic.yaml", &fl, "must start with https://");
}

static void test_proxy_and_compression(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	assert_int_equal(load_fx("proxy.yaml", &fl, &cfg), 0);
	assert_string_equal(cfg.proxy_url, "socks5://127.0.0.1:1080");
	assert_int_equal(cfg.disable_compression, 1);
	kube_config_release(&cfg);
	assert_int_equal(load_fx("basic.yaml", &fl, &cfg), 0);
	assert_null(cfg.proxy_url);
	assert_int_equal(cfg.disable_compression, 0);
	kube_config_release(&cfg);
}

/* ---- credentials ---------------------------------------------------------------------------- */

static void test_token_file_wins(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	/* token and tokenFile: both kept; the client sends the file's token
	 * while it can be read, else the inline one (client-go's round tripper) */
	assert_int_equal(load_fx("token-file.yaml", &fl, &cfg), 0);
	assert_string_equal(cfg.token, "SECRET-INLINE-TOKEN");
	char *tf = fx("certs/token");
	assert_string_equal(cfg.token_file, tf);
	free(tf);
	kube_config_release(&cfg);
}

static void test_token_flag_wins(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	fl.token = "SECRET-FLAG-TOKEN";
	/* --token replaces the inline token only: the tokenFile still wins */
	assert_int_equal(load_fx("token-file.yaml", &fl, &cfg), 0);
	assert_string_equal(cfg.token, "SECRET-FLAG-TOKEN");
	assert_non_null(cfg.token_file);
	kube_config_release(&cfg);
	assert_int_equal(load_fx("exec.yaml", &fl, &cfg), 0);
	assert_string_equal(cfg.token, "SECRET-FLAG-TOKEN");
	assert_null(cfg.exec);
	kube_config_release(&cfg);
}

static void test_exec_config(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	assert_int_equal(load_fx("exec.yaml", &fl, &cfg), 0);
	assert_null(cfg.token);
	assert_non_null(cfg.exec);
	char *cmd = xasprintf("%s/../exec-plugin.sh", fixtures);
	assert_string_equal(cfg.exec->command, cmd);
	free(cmd);
	assert_string_equal(cfg.exec->api_version, "client.authentication.k8s.io/v1");
	assert_int_equal(cfg.exec->args.n, 2);
	assert_string_equal(cfg.exec->args.v[1], "token");
	assert_int_equal(cfg.exec->env.n, 1);
	assert_string_equal(cfg.exec->env.v[0], "EXEC_PLUGIN_TOKEN=SECRET-EXEC-TOKEN");
	assert_string_equal(cfg.exec->install_hint, "install it with `pip install eidf-login`");
	assert_int_equal(cfg.exec->provide_cluster_info, 1);
	assert_string_equal(cfg.exec->cluster_config_json, "{\"audience\":\"eidf\",\"big\":1000,\"huge\":9007199254740993,\"mode\":493,\"retries\":3,\"zflag\":true}");
	kube_config_release(&cfg);

	/* a token in the user beats its exec plugin (exec.go) */
	fl.context = "exec-and-token";
	assert_int_equal(load_fx("exec.yaml", &fl, &cfg), 0);
	assert_string_equal(cfg.token, "SECRET-STATIC-TOKEN");
	assert_null(cfg.exec);
	kube_config_release(&cfg);
}

static void test_client_cert_flags(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	char *cert = fx("certs/client.crt"), *key = fx("certs/client.key");
	(void)state;
	fl.client_certificate = cert;
	fl.client_key = key;
	assert_int_equal(load_fx("basic.yaml", &fl, &cfg), 0);
	assert_non_null(cfg.cert_pem);
	assert_non_null(cfg.key_pem);
	assert_string_equal(cfg.token, "SECRET-BASIC-TOKEN");
	kube_config_release(&cfg);
	fl.client_key = NULL;
	expect_error("basic.yaml", &fl, "has a client certificate but no key");
	fl.client_key = "/nonexistent/key.pem";
	expect_error("basic.yaml", &fl, "cannot read client-key /nonexistent/key.pem");
	free(cert);
	free(key);
}

static void test_impersonation(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	assert_int_equal(load_fx("impersonate.yaml", &fl, &cfg), 0);
	assert_string_equal(cfg.impersonate_user, "alice");
	assert_string_equal(cfg.impersonate_uid, "1234");
	assert_int_equal(cfg.impersonate_groups.n, 2);
	assert_string_equal(cfg.impersonate_groups.v[0], "devs");
	assert_string_equal(cfg.impersonate_groups.v[1], "eidf");
	kube_config_release(&cfg);

	fl.as = "bob";
	fl.as_uid = "42";
	strvec_push(&fl.as_groups, "ops");
	assert_int_equal(load_fx("impersonate.yaml", &fl, &cfg), 0);
	assert_string_equal(cfg.impersonate_user, "bob");
	assert_string_equal(cfg.impersonate_uid, "42");
	assert_int_equal(cfg.impersonate_groups.n, 1);
	assert_string_equal(cfg.impersonate_groups.v[0], "ops");
	kube_config_release(&cfg);

	assert_int_equal(load_fx("basic.yaml", &fl, &cfg), 0);
	assert_string_equal(cfg.impersonate_user, "bob");
	kube_config_release(&cfg);

	fl.as = NULL;
	fl.as_uid = NULL;
	expect_error("basic.yaml", &fl, "requires a user to impersonate");
	strvec_clear(&fl.as_groups);
	fl.context = "groups-only";
	expect_error("impersonate.yaml", &fl, "requires a user to impersonate");
}

static void test_auth_providers(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	assert_int_equal(load_fx("auth-oidc.yaml", &fl, &cfg), 0);
	assert_string_equal(cfg.token, "eyJhbGciOiJub25lIn0.eyJleHAiOjQxMDI0NDQ4MDAsInN1YiI6IlNFQ1JFVCJ9.c2ln");
	kube_config_release(&cfg);
	expect_error("auth-gcp.yaml", &fl, "gke-gcloud-auth-plugin");
	expect_error("auth-azure.yaml", &fl, "kubelogin");
}

static void test_http_sends_no_credentials(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	assert_int_equal(load_fx("http.yaml", &fl, &cfg), 0);
	assert_string_equal(cfg.server, "http://127.0.0.1:8080");
	assert_null(cfg.token);
	kube_config_release(&cfg);
}

/* ---- namespace, timeout, verbosity -------------------------------------------------------------- */

static void test_namespace_precedence(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	fl.namespace = "flagns";
	assert_int_equal(load_fx("basic.yaml", &fl, &cfg), 0);
	assert_string_equal(cfg.namespace, "flagns");
	assert_int_equal(cfg.namespace_explicit, 1);
	kube_config_release(&cfg);
	fl.namespace = NULL;
	assert_int_equal(load_fx("no-namespace.yaml", &fl, &cfg), 0);
	assert_string_equal(cfg.namespace, "default");
	assert_int_equal(cfg.namespace_explicit, 0);
	kube_config_release(&cfg);
}

static void test_request_timeout_and_verbosity(void **state)
{
	static const struct {
		const char *in;
		long ms;
	} cases[] = { { "30s", 30000 }, { "5", 5000 }, { "0", 0 }, { "1m", 60000 }, { NULL, 0 } };
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(cases); i++) {
		fl.request_timeout = cases[i].in;
		fl.verbosity = (long)i;
		assert_int_equal(load_fx("basic.yaml", &fl, &cfg), 0);
		assert_int_equal(cfg.request_timeout_ms, cases[i].ms);
		assert_int_equal(cfg.verbosity, (long)i);
		kube_config_release(&cfg);
	}
	fl.request_timeout = "soon";
	expect_error("basic.yaml", &fl, "invalid --request-timeout \"soon\"");
}

/* ---- in-cluster ---------------------------------------------------------------------------------- */

static void test_in_cluster(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	char *sa = fx("serviceaccount");
	(void)state;
	setenv("EIDF_SERVICEACCOUNT_DIR", sa, 1);
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(kube_config_load(&fl, &cfg), 0);
	assert_int_equal(cfg.in_cluster, 1);
	assert_string_equal(cfg.server, "https://10.96.0.1:443");
	assert_string_equal(cfg.token, "SECRET-SA-TOKEN");
	assert_non_null(cfg.token_file);
	assert_string_equal(cfg.namespace, "sa-namespace");
	expect_ca(&cfg, "serviceaccount/ca.crt");
	kube_config_release(&cfg);

	setenv("POD_NAMESPACE", "pod-ns", 1);
	assert_int_equal(kube_config_load(&fl, &cfg), 0);
	assert_string_equal(cfg.namespace, "pod-ns");
	kube_config_release(&cfg);

	fl.namespace = "flag-ns";
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	assert_int_equal(kube_config_load(&fl, &cfg), 0);
	assert_string_equal(cfg.namespace, "flag-ns");
	assert_string_equal(cfg.server, "https://[fd00::1]:443");
	kube_config_release(&cfg);

	/* a usable kubeconfig wins over in-cluster */
	assert_int_equal(load_fx("basic.yaml", &fl, &cfg), 0);
	assert_int_equal(cfg.in_cluster, 0);
	kube_config_release(&cfg);

	/* no token file: not possible */
	setenv("EIDF_SERVICEACCOUNT_DIR", "/nonexistent", 1);
	assert_int_equal(kube_config_load(&fl, &cfg), -1);
	assert_true(starts_with(eidf_last_error(), "no configuration found"));
	free(sa);
}


/* ---- issue 14: typed YAML, merge keys, semantics ------------------------------------------------ */

static int load_yaml(const char *yaml, struct kube_flags *fl, struct kube_config *cfg)
{
	char *path = xasprintf("%s/inline.yaml", tmp_home);
	assert_int_equal(write_file_atomic(path, yaml, strlen(yaml), 0600), 0);
	fl->kubeconfig = path;
	int r = kube_config_load(fl, cfg);
	fl->kubeconfig = NULL;
	free(path);
	return r;
}

#define KC_HEAD "apiVersion: v1\nkind: Config\ncurrent-context: c\n" \
	"contexts:\n- name: c\n  context: {cluster: k, user: u}\n" \
	"users:\n- name: u\n  user: {token: SECRET-T}\n"

static void test_yaml11_booleans(void **state)
{
	static const struct {
		const char *v;
		int insecure;
	} ok[] = { { "yes", 1 }, { "Yes", 1 }, { "ON", 1 }, { "y", 1 }, { "true", 1 }, { "True", 1 },
		   { "no", 0 }, { "off", 0 }, { "N", 0 }, { "FALSE", 0 } };
	static const char *const bad[] = { "tRuE", "\"true\"", "'yes'", "1", "0", "yES", "[true]" };
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(ok); i++) {
		char *y = xasprintf(KC_HEAD "clusters:\n- name: k\n  cluster:\n    server: https://k.example\n"
				    "    insecure-skip-tls-verify: %s\n", ok[i].v);
		assert_int_equal(load_yaml(y, &fl, &cfg), 0);
		assert_int_equal(cfg.insecure, ok[i].insecure);
		kube_config_release(&cfg);
		free(y);
	}
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(bad); i++) {
		char *y = xasprintf(KC_HEAD "clusters:\n- name: k\n  cluster:\n    server: https://k.example\n"
				    "    insecure-skip-tls-verify: %s\n", bad[i]);
		/* never TLS verification off by accident */
		if (load_yaml(y, &fl, &cfg) != -1)
			fail_msg("insecure-skip-tls-verify: %s was accepted", bad[i]);
		assert_non_null(strstr(eidf_last_error(), "insecure-skip-tls-verify: expected true or false"));
		free(y);
	}
}

static void test_yaml_merge_and_repeated_keys(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	assert_int_equal(load_yaml("apiVersion: v1\nkind: Config\ncurrent-context: c\n"
				   "base: &base {server: https://base.example:6443, insecure-skip-tls-verify: true}\n"
				   "clusters:\n- name: k\n  cluster:\n    <<: *base\n    server: https://own.example\n"
				   "users:\n- name: u\n  user: {token: SECRET-A, token: SECRET-B}\n"
				   "contexts:\n- name: c\n  context: {cluster: k, user: u, namespace: a, namespace: b}\n",
				   &fl, &cfg), 0);
	assert_string_equal(cfg.server, "https://own.example");
	assert_int_equal(cfg.insecure, 1);
	assert_string_equal(cfg.token, "SECRET-B");
	assert_string_equal(cfg.namespace, "b");
	kube_config_release(&cfg);
	/* a list of merged mappings: the first one wins */
	assert_int_equal(load_yaml("current-context: c\n"
				   "a: &a {namespace: first}\nb: &b {namespace: second, cluster: k}\n"
				   "clusters:\n- name: k\n  cluster: {server: https://k.example, insecure-skip-tls-verify: on}\n"
				   "users:\n- name: u\n  user: {token: SECRET-T}\n"
				   "contexts:\n- name: c\n  context:\n    <<: [*a, *b]\n    user: u\n", &fl, &cfg), 0);
	assert_string_equal(cfg.namespace, "first");
	assert_string_equal(cfg.cluster_name, "k");
	kube_config_release(&cfg);
}

static void test_conflicts_and_extra(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	assert_int_equal(load_yaml("current-context: c\n"
				   "clusters:\n- name: k\n  cluster: {server: https://k.example, insecure-skip-tls-verify: true}\n"
				   "users:\n- name: u\n  user: {token: SECRET-T, username: a, password: SECRET-P}\n"
				   "contexts:\n- name: c\n  context: {cluster: k, user: u}\n", &fl, &cfg), -1);
	assert_non_null(strstr(eidf_last_error(), "basic authentication"));
	assert_null(strstr(eidf_last_error(), "SECRET"));
	assert_int_equal(load_yaml("current-context: c\n"
				   "clusters:\n- name: k\n  cluster: {server: https://k.example, insecure-skip-tls-verify: true}\n"
				   "users:\n- name: u\n  user:\n    token: SECRET-T\n    as-user-extra: {scopes: [a, b]}\n"
				   "contexts:\n- name: c\n  context: {cluster: k, user: u}\n", &fl, &cfg), -1);
	assert_non_null(strstr(eidf_last_error(), "without impersonating a user"));
	assert_int_equal(load_yaml("current-context: c\n"
				   "clusters:\n- name: k\n  cluster: {server: https://k.example, insecure-skip-tls-verify: true}\n"
				   "users:\n- name: u\n  user:\n    token: SECRET-T\n    as: bob\n"
				   "    as-user-extra: {scopes: [a, b], 'x/y': [c]}\n"
				   "contexts:\n- name: c\n  context: {cluster: k, user: u}\n", &fl, &cfg), 0);
	assert_int_equal(cfg.impersonate_extra_keys.n, 3);
	assert_string_equal(cfg.impersonate_extra_values.v[1], "b");
	kube_config_release(&cfg);
	fl.username = "alice";
	assert_int_equal(load_fx("basic.yaml", &fl, &cfg), -1);
	assert_non_null(strstr(eidf_last_error(), "--username/--password"));
}

static void test_server_forms(void **state)
{
	static const struct {
		const char *server, *extra, *want;
	} cases[] = {
		/* no scheme: http, even with TLS settings (as kubectl really does) */
		{ "127.0.0.1:6443", "", "http://127.0.0.1:6443" },
		{ "127.0.0.1:6443", "insecure-skip-tls-verify: true", "http://127.0.0.1:6443" },
		{ "HTTPS://K.example:6443/", "", "https://K.example:6443" },
		{ "https://k.example:6443/base/?a=b#frag", "", "https://k.example:6443/base" },
	};
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(cases); i++) {
		char *y = xasprintf(KC_HEAD "clusters:\n- name: k\n  cluster:\n    server: \"%s\"\n    %s\n",
				    cases[i].server, cases[i].extra);
		assert_int_equal(load_yaml(y, &fl, &cfg), 0);
		assert_string_equal(cfg.server, cases[i].want);
		assert_string_equal(cfg.server_verbatim, cases[i].server);
		kube_config_release(&cfg);
		free(y);
	}
	/* KUBERNETES_MASTER: the server of a cluster without one */
	setenv("KUBERNETES_MASTER", "https://master.example:6443", 1);
	assert_int_equal(load_yaml(KC_HEAD "clusters:\n- name: k\n  cluster: {insecure-skip-tls-verify: true}\n",
				   &fl, &cfg), 0);
	assert_string_equal(cfg.server, "https://master.example:6443");
	kube_config_release(&cfg);
	unsetenv("KUBERNETES_MASTER");
}

static void test_no_user_is_an_error(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	assert_int_equal(load_fx("no-namespace.yaml", &fl, &cfg), 0);
	assert_int_equal(kube_config_check_credentials(&cfg), -1);
	assert_non_null(strstr(eidf_last_error(), "context \"nons\" has no user"));
	kube_config_release(&cfg);
	fl.token = "SECRET-FLAG";
	assert_int_equal(load_fx("no-namespace.yaml", &fl, &cfg), 0);
	assert_int_equal(kube_config_check_credentials(&cfg), 0);
	kube_config_release(&cfg);
}

static void test_home_unset(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	char *data = fx_data("no-namespace.yaml");
	char *dir = xasprintf("%s/.kube", tmp_home);
	(void)state;
	write_home_config(data);
	free(data);
	/* client-go: no $HOME means .kube/config in the working directory */
	unsetenv("HOME");
	assert_int_equal(chdir(tmp_home), 0);
	assert_int_equal(kube_config_load(&fl, &cfg), 0);
	assert_string_equal(cfg.server, "https://nons.example:6443");
	kube_config_release(&cfg);
	remove_home_config();
	free(dir);
}

static void test_in_cluster_rules(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	char *sa = fx("serviceaccount");
	char *empty = xasprintf("%s/sa-empty", tmp_home), *tok = xasprintf("%s/token", empty);
	(void)state;
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	/* an empty or blank token file is an error, never an anonymous request */
	mkdir(empty, 0700);
	assert_int_equal(write_file_atomic(tok, " \n", 2, 0600), 0);
	setenv("EIDF_SERVICEACCOUNT_DIR", empty, 1);
	assert_int_equal(kube_config_load(&fl, &cfg), -1);
	assert_non_null(strstr(eidf_last_error(), "is empty"));
	unlink(tok);
	rmdir(empty);

	/* a kubeconfig whose context sets only a namespace: in-cluster, that namespace */
	setenv("EIDF_SERVICEACCOUNT_DIR", sa, 1);
	assert_int_equal(load_yaml("current-context: c\ncontexts:\n- name: c\n  context: {namespace: ctx-ns}\n",
				   &fl, &cfg), 0);
	assert_int_equal(cfg.in_cluster, 1);
	assert_string_equal(cfg.namespace, "ctx-ns");
	kube_config_release(&cfg);
	/* a context naming a missing cluster falls back to in-cluster */
	assert_int_equal(load_yaml("current-context: c\ncontexts:\n- name: c\n  context: {cluster: gone}\n",
				   &fl, &cfg), 0);
	assert_int_equal(cfg.in_cluster, 1);
	assert_string_equal(cfg.namespace, "sa-namespace");
	kube_config_release(&cfg);
	free(sa);
	free(empty);
	free(tok);
}

/* in a pod, a missing cluster means in-cluster whatever the user, but not
 * with impersonation (kubectl then goes to localhost:8080) */
static void test_in_cluster_missing_cluster(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	char *sa = fx("serviceaccount");
	(void)state;
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	setenv("EIDF_SERVICEACCOUNT_DIR", sa, 1);
	setenv("KUBERNETES_MASTER", "https://master.example", 1);
	if (load_yaml("current-context: c\nusers: [{name: u, user: {token: SECRET-U}}]\n"
				   "contexts: [{name: c, context: {cluster: gone, user: u, namespace: ns-x}}]\n",
				   &fl, &cfg) != 0)
		fail_msg("%s", eidf_last_error());
	assert_int_equal(cfg.in_cluster, 1);
	assert_string_equal(cfg.namespace, "ns-x");
	assert_string_equal(cfg.server, "https://10.96.0.1:443");
	kube_config_release(&cfg);
	unsetenv("KUBERNETES_MASTER");
	assert_int_equal(load_yaml("current-context: c\nusers: [{name: u, user: {token: SECRET-U, as: bob}}]\n"
				   "contexts: [{name: c, context: {cluster: gone, user: u}}]\n", &fl, &cfg), -1);
	assert_non_null(strstr(eidf_last_error(), "cluster \"gone\""));
	fl.as = "bob";
	assert_int_equal(load_yaml("current-context: c\ncontexts: [{name: c, context: {namespace: ns-x}}]\n",
				   &fl, &cfg), -1);
	free(sa);
}

/* explicit tags decide the type; typed string lists; NUL; userinfo; http */
static void test_tags_lists_nul_userinfo(void **state)
{
	static const struct {
		const char *user, *needle;   /* needle NULL: loads */
	} cases[] = {
		{ "token: !!str 12345", NULL },
		{ "token: !!int 12345", "token: expected a string, found a number" },
		{ "token: ! yes", NULL },
		{ "token: \"SECRET-T\\0X\"", "contains a NUL character" },
		{ "token: SECRET-T\n    as: bob\n    as-groups: [1]", "as-groups: expected a list of strings" },
		{ "token: SECRET-T\n    as: bob\n    as-groups: [yes]", "as-groups: expected a list of strings" },
		{ "token: SECRET-T\n    as: bob\n    as-user-extra: {k: [1.5]}", "expected a list of strings" },
		{ "token: SECRET-T\n    as: bob\n    as-groups: [~, !!str 1]", NULL },
	};
	static const struct {
		const char *v;
		int ok, insecure;
	} flags[] = { { "!!bool \"true\"", 1, 1 }, { "!!bool yes", 1, 1 }, { "!!str true", 0, 0 },
		      { "!!bool maybe", 0, 0 }, { "!!bool \"tRuE\"", 0, 0 }, { "! true", 0, 0 } };
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	(void)state;
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(cases); i++) {
		char *y = xasprintf("apiVersion: v1\ncurrent-context: c\n"
				    "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
				    "clusters: [{name: k, cluster: {server: 'https://k.example'}}]\n"
				    "users:\n- name: u\n  user:\n    %s\n", cases[i].user);
		int r = load_yaml(y, &fl, &cfg);
		if (cases[i].needle ? r != -1 || !strstr(eidf_last_error(), cases[i].needle) ||
				      strstr(eidf_last_error(), "SECRET") : r != 0)
			fail_msg("case %zu: %d \"%s\"", i, r, r ? eidf_last_error() : "");
		if (!r)
			kube_config_release(&cfg);
		free(y);
	}
	assert_int_equal(load_yaml("current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
				   "clusters: [{name: k, cluster: {server: 'https://k.example'}}]\n"
				   "users: [{name: u, user: {token: SECRET-T, as: bob, as-groups: [~, !!str 1]}}]\n",
				   &fl, &cfg), 0);
	assert_int_equal(cfg.impersonate_groups.n, 2);
	assert_string_equal(cfg.impersonate_groups.v[0], "");
	assert_string_equal(cfg.impersonate_groups.v[1], "1");
	kube_config_release(&cfg);
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(flags); i++) {
		char *y = xasprintf(KC_HEAD "clusters:\n- name: k\n  cluster:\n    server: https://k.example\n"
				    "    insecure-skip-tls-verify: %s\n", flags[i].v);
		int r = load_yaml(y, &fl, &cfg);
		if (r != (flags[i].ok ? 0 : -1) || (!r && cfg.insecure != flags[i].insecure))
			fail_msg("insecure-skip-tls-verify: %s: %d", flags[i].v, r);
		if (!r)
			kube_config_release(&cfg);
		free(y);
	}
	/* a user:password in the server is basic authentication: refused, never printed */
	assert_int_equal(load_yaml(KC_HEAD "clusters: [{name: k, cluster: {server: "
				   "'https://admin:SECRET-P@k.example/x@y'}}]\n", &fl, &cfg), -1);
	assert_non_null(strstr(eidf_last_error(), "basic authentication"));
	assert_null(strstr(eidf_last_error(), "SECRET"));
	/* an @ in the path is no userinfo */
	assert_int_equal(load_yaml(KC_HEAD "clusters: [{name: k, cluster: {server: 'https://k.example/a@b'}}]\n",
				   &fl, &cfg), 0);
	kube_config_release(&cfg);
	/* plain http: no credential, but the impersonation headers (kubectl sends them) */
	assert_int_equal(load_yaml("current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
				   "clusters: [{name: k, cluster: {server: 'http://k.example'}}]\n"
				   "users: [{name: u, user: {token: SECRET-T, as: bob}}]\n", &fl, &cfg), 0);
	assert_null(cfg.token);
	assert_string_equal(cfg.impersonate_user, "bob");
	kube_config_release(&cfg);
}

/* a token file holding a NUL is refused, not cut short at it */
static void test_token_file_nul(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct kube_config cfg;
	char *tok = xasprintf("%s/nul-token", tmp_home);
	char *y = xasprintf(KC_HEAD "clusters: [{name: k, cluster: {server: 'https://k.example'}}]\n"
			    "users: [{name: u, user: {tokenFile: '%s'}}]\n", tok);
	(void)state;
	/* (KC_HEAD's users are replaced by the later key: the last one wins) */
	assert_int_equal(write_file_atomic(tok, "SECRET\0X\n", 9, 0600), 0);
	assert_int_equal(load_yaml(y, &fl, &cfg), -1);
	assert_non_null(strstr(eidf_last_error(), "invalid header field value for \"Authorization\""));
	assert_null(strstr(eidf_last_error(), "SECRET"));
	unlink(tok);
	free(tok);
	free(y);
}

/* ---- malformed files ------------------------------------------------------------------------------- */

static void test_malformed_inline(void **state)
{
	static const struct {
		const char *yaml, *needle;
	} cases[] = {
		{ "clusters: {a: b}\n", "clusters: expected a list" },
		{ "clusters:\n- name: x\n  cluster: [1]\n", "cluster \"x\": expected a mapping, found a list" },
		{ "clusters:\n- name: x\n  cluster:\n    server: [a]\n", "server: expected a string" },
		{ "clusters:\n- name: x\n  cluster:\n    insecure-skip-tls-verify: maybe\n", "expected true or false" },
		{ "clusters:\n- name: x\n  cluster:\n    certificate-authority-data: '%%%'\n", "illegal base64" },
		{ "users:\n- name: u\n  user:\n    token: SECRET-T\n    as-groups: admin\n", "as-groups: expected a list" },
		{ "users:\n- user: {}\n", "missing name" },
		{ "clusters:\n- name: x\n  cluster:\n    insecure-skip-tls-verify: tRuE\n", "expected true or false" },
		{ "clusters:\n- name: x\n  cluster:\n    insecure-skip-tls-verify: \"true\"\n", "expected true or false" },
		{ "users:\n- name: u\n  user:\n    token: 12345\n", "token: expected a string, found a number" },
		{ "contexts:\n- name: c\n  context: {namespace: no}\n", "namespace: expected a string, found a boolean" },
		{ "current-context: 123\n", "current-context: expected a string, found a number" },
		{ "apiVersion: v2\n", "no kind \"Config\" is registered for version \"v2\"" },
		{ "apiVersion: v1\nkind: Pod\n", "no kind \"Pod\" is registered" },
		{ "clusters:\n- name: x\n  cluster:\n    <<: [1]\n", "map merge requires map" },
		{ "clusters: [\n", "fix the YAML syntax" },
		{ "- a\n- b\n", "expected a mapping" },
		{ "current-context: [x]\n", "current-context: expected a string" },
		{ "users:\n- name: u\n  user:\n    exec: {command: x}\n", "apiVersion must be specified" },
		{ "users:\n- name: u\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1, command: x}\n",
		  "interactiveMode must be specified" },
	};
	char *path = xasprintf("%s/bad.yaml", tmp_home);
	(void)state;
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(cases); i++) {
		struct kube_flags fl = FLAGS_INIT;
		struct kube_config cfg;
		assert_int_equal(write_file_atomic(path, cases[i].yaml, strlen(cases[i].yaml), 0600), 0);
		fl.kubeconfig = path;
		assert_int_equal(kube_config_load(&fl, &cfg), -1);
		if (!strstr(eidf_last_error(), cases[i].needle) || !strstr(eidf_last_error(), path) ||
		    strstr(eidf_last_error(), "SECRET"))
			fail_msg("case %zu: error \"%s\", want \"%s\"", i, eidf_last_error(), cases[i].needle);
	}
	unlink(path);
	free(path);
}

/* ---- names for completion ------------------------------------------------------------------------ */

static void test_names(void **state)
{
	struct kube_flags fl = FLAGS_INIT;
	struct strvec sv = STRVEC_INIT;
	(void)state;
	set_kubeconfig_env("merge-a.yaml", "merge-b.yaml", NULL);
	kube_config_names(&fl, "contexts", &sv);
	assert_int_equal(sv.n, 2);
	assert_string_equal(sv.v[0], "ctx-a");
	assert_string_equal(sv.v[1], "ctx-b");
	strvec_clear(&sv);
	kube_config_names(&fl, "clusters", &sv);
	assert_int_equal(sv.n, 3);
	strvec_clear(&sv);
	kube_config_names(&fl, "users", &sv);
	assert_int_equal(sv.n, 2);
	strvec_clear(&sv);
	kube_config_names(&fl, "bogus", &sv);
	assert_int_equal(sv.n, 0);
	/* a broken later file keeps the earlier names */
	set_kubeconfig_env("merge-a.yaml", "dup-cluster.yaml", NULL);
	kube_config_names(&fl, "contexts", &sv);
	assert_int_equal(sv.n, 1);
	strvec_clear(&sv);
}

int main(void)
{
	const char *f = getenv("EIDF_FIXTURES");
	char tmpl[] = "/tmp/eidf-test-kubeconfig.XXXXXX";
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_single_file, reset_env),
		cmocka_unit_test_setup(test_kubeconfig_flag_missing, reset_env),
		cmocka_unit_test_setup(test_kubeconfig_flag_is_one_path, reset_env),
		cmocka_unit_test_setup(test_kubeconfig_flag_beats_env, reset_env),
		cmocka_unit_test_setup(test_env_first_definition_wins, reset_env),
		cmocka_unit_test_setup(test_env_context_from_second_file, reset_env),
		cmocka_unit_test_setup(test_env_first_nonempty_current_context, reset_env),
		cmocka_unit_test_setup(test_env_missing_empty_duplicate_entries, reset_env),
		cmocka_unit_test_setup(test_home_fallback, reset_env),
		cmocka_unit_test_setup(test_no_configuration, reset_env),
		cmocka_unit_test_setup(test_no_current_context, reset_env),
		cmocka_unit_test_setup(test_duplicate_name_in_one_file, reset_env),
		cmocka_unit_test_setup(test_relative_paths, reset_env),
		cmocka_unit_test_setup(test_relative_kubeconfig_path_other_cwd, reset_env),
		cmocka_unit_test_setup(test_data_and_file_conflict, reset_env),
		cmocka_unit_test_setup(test_cert_files, reset_env),
		cmocka_unit_test_setup(test_context_cluster_user_flags, reset_env),
		cmocka_unit_test_setup(test_selection_errors, reset_env),
		cmocka_unit_test_setup(test_anonymous_user_ok, reset_env),
		cmocka_unit_test_setup(test_missing_references, reset_env),
		cmocka_unit_test_setup(test_server_flag_clears_tls_server_name, reset_env),
		cmocka_unit_test_setup(test_ca_and_insecure, reset_env),
		cmocka_unit_test_setup(test_server_scheme_default, reset_env),
		cmocka_unit_test_setup(test_proxy_and_compression, reset_env),
		cmocka_unit_test_setup(test_token_file_wins, reset_env),
		cmocka_unit_test_setup(test_token_flag_wins, reset_env),
		cmocka_unit_test_setup(test_exec_config, reset_env),
		cmocka_unit_test_setup(test_client_cert_flags, reset_env),
		cmocka_unit_test_setup(test_impersonation, reset_env),
		cmocka_unit_test_setup(test_auth_providers, reset_env),
		cmocka_unit_test_setup(test_http_sends_no_credentials, reset_env),
		cmocka_unit_test_setup(test_namespace_precedence, reset_env),
		cmocka_unit_test_setup(test_in_cluster_missing_cluster, reset_env),
		cmocka_unit_test_setup(test_tags_lists_nul_userinfo, reset_env),
		cmocka_unit_test_setup(test_token_file_nul, reset_env),
		cmocka_unit_test_setup(test_request_timeout_and_verbosity, reset_env),
		cmocka_unit_test_setup(test_in_cluster, reset_env),
		cmocka_unit_test_setup(test_malformed_inline, reset_env),
		cmocka_unit_test_setup(test_yaml11_booleans, reset_env),
		cmocka_unit_test_setup(test_yaml_merge_and_repeated_keys, reset_env),
		cmocka_unit_test_setup(test_conflicts_and_extra, reset_env),
		cmocka_unit_test_setup(test_server_forms, reset_env),
		cmocka_unit_test_setup(test_no_user_is_an_error, reset_env),
		cmocka_unit_test_setup(test_home_unset, reset_env),
		cmocka_unit_test_setup(test_in_cluster_rules, reset_env),
		cmocka_unit_test_setup(test_names, reset_env),
	};
	int ret;

	fixtures = f ? xasprintf("%s/kubeconfig", f) : xstrdup("../fixtures/kubeconfig");
	if (fixtures[0] != '/') {
		char *cwd = getcwd(NULL, 0), *abs = xasprintf("%s/%s", cwd, fixtures);
		free(cwd);
		free(fixtures);
		fixtures = abs;
	}
	start_cwd = getcwd(NULL, 0);
	tmp_home = xstrdup(mkdtemp(tmpl));
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	char *kube = xasprintf("%s/.kube", tmp_home);
	rmdir(kube);
	rmdir(tmp_home);
	free(kube);
	free(tmp_home);
	free(fixtures);
	free(start_cwd);
	return ret;
}
