/* Print what the library resolves from kubeconfig + the generic flags, one
 * key=value per line, for the shell tests (t0020, t0021).  Secrets are shown
 * only as sha256 digests.  --exec also runs the exec plugin (twice with
 * --exec-twice, to show the in-memory cache). */
#include "eidf/exec_credential.h"
#include "eidf/kubeconfig.h"
#include "eidf/util.h"

#include <stdlib.h>
#include <string.h>

static void digest(const char *key, const char *data, size_t len)
{
	char hex[65];
	if (!data) {
		printf("%s=none\n", key);
		return;
	}
	sha256_hex(data, len, hex);
	printf("%s=%s\n", key, hex);
}

static const char *value_of(const char *arg, const char *name, int *i, int argc, char **argv)
{
	size_t l = strlen(name);
	if (strncmp(arg, name, l))
		return NULL;
	if (arg[l] == '=')
		return arg + l + 1;
	if (arg[l] == '\0' && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

int main(int argc, char **argv)
{
	struct kube_flags fl = { .insecure_skip_tls_verify = -1 };
	struct kube_config cfg;
	int run_exec = 0, ret = 0;
	const char *v;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--exec")) run_exec = 1;
		else if (!strcmp(a, "--exec-twice")) run_exec = 2;
		else if (!strcmp(a, "--insecure-skip-tls-verify") || !strcmp(a, "--insecure-skip-tls-verify=true"))
			fl.insecure_skip_tls_verify = 1;
		else if (!strcmp(a, "--insecure-skip-tls-verify=false")) fl.insecure_skip_tls_verify = 0;
		else if ((v = value_of(a, "--kubeconfig", &i, argc, argv))) fl.kubeconfig = v;
		else if ((v = value_of(a, "--context", &i, argc, argv))) fl.context = v;
		else if ((v = value_of(a, "--cluster", &i, argc, argv))) fl.cluster = v;
		else if ((v = value_of(a, "--user", &i, argc, argv))) fl.user = v;
		else if ((v = value_of(a, "--namespace", &i, argc, argv)) || (v = value_of(a, "-n", &i, argc, argv))) fl.namespace = v;
		else if ((v = value_of(a, "--server", &i, argc, argv)) || (v = value_of(a, "-s", &i, argc, argv))) fl.server = v;
		else if ((v = value_of(a, "--token", &i, argc, argv))) fl.token = v;
		else if ((v = value_of(a, "--certificate-authority", &i, argc, argv))) fl.certificate_authority = v;
		else if ((v = value_of(a, "--client-certificate", &i, argc, argv))) fl.client_certificate = v;
		else if ((v = value_of(a, "--client-key", &i, argc, argv))) fl.client_key = v;
		else if ((v = value_of(a, "--tls-server-name", &i, argc, argv))) fl.tls_server_name = v;
		else if ((v = value_of(a, "--as-group", &i, argc, argv))) strvec_push(&fl.as_groups, v);
		else if ((v = value_of(a, "--as-uid", &i, argc, argv))) fl.as_uid = v;
		else if ((v = value_of(a, "--as", &i, argc, argv))) fl.as = v;
		else if ((v = value_of(a, "--request-timeout", &i, argc, argv))) fl.request_timeout = v;
		else if ((v = value_of(a, "-v", &i, argc, argv))) fl.verbosity = strtol(v, NULL, 10);
		else {
			fprintf(stderr, "kubeconfig-resolve: unknown argument %s\n", a);
			strvec_clear(&fl.as_groups);
			return 2;
		}
	}
	if (kube_config_load(&fl, &cfg) < 0) {
		eidf_error("%s", eidf_last_error());
		strvec_clear(&fl.as_groups);
		return 1;
	}
	printf("context=%s\ncluster=%s\nuser=%s\nserver=%s\n", cfg.context_name, cfg.cluster_name,
	       cfg.user_name, cfg.server);
	printf("namespace=%s\nnamespace-explicit=%d\n", cfg.namespace, cfg.namespace_explicit);
	printf("tls-server-name=%s\ninsecure=%d\n", cfg.tls_server_name ? cfg.tls_server_name : "",
	       cfg.insecure);
	digest("ca-sha256", cfg.ca_pem, cfg.ca_len);
	digest("cert-sha256", cfg.cert_pem, cfg.cert_len);
	digest("key-sha256", cfg.key_pem, cfg.key_len);
	digest("token-sha256", cfg.token, cfg.token ? strlen(cfg.token) : 0);
	printf("token-file=%s\n", cfg.token_file ? cfg.token_file : "");
	if (cfg.exec) {
		printf("exec-command=%s\nexec-api-version=%s\nexec-args=", cfg.exec->command,
		       cfg.exec->api_version);
		for (size_t i = 0; i < cfg.exec->args.n; i++)
			printf("%s%s", i ? " " : "", cfg.exec->args.v[i]);
		printf("\nexec-cluster-config=%s\n",
		       cfg.exec->cluster_config_json ? cfg.exec->cluster_config_json : "");
	} else {
		printf("exec-command=\n");
	}
	printf("impersonate-user=%s\nimpersonate-uid=%s\nimpersonate-groups=",
	       cfg.impersonate_user ? cfg.impersonate_user : "",
	       cfg.impersonate_uid ? cfg.impersonate_uid : "");
	for (size_t i = 0; i < cfg.impersonate_groups.n; i++)
		printf("%s%s", i ? "," : "", cfg.impersonate_groups.v[i]);
	printf("\nproxy-url=%s\ndisable-compression=%d\nrequest-timeout-ms=%ld\nverbosity=%ld\nin-cluster=%d\n",
	       cfg.proxy_url ? cfg.proxy_url : "", cfg.disable_compression, cfg.request_timeout_ms,
	       cfg.verbosity, cfg.in_cluster);
	for (int r = 0; r < run_exec && cfg.exec; r++) {
		const struct exec_credential *cred;
		if (exec_credential_get(&cfg, 0, &cred) < 0) {
			eidf_error("%s", eidf_last_error());
			ret = 1;
			break;
		}
		digest("exec-token-sha256", cred->token, cred->token ? strlen(cred->token) : 0);
		digest("exec-cert-sha256", cred->cert_pem, cred->cert_len);
		printf("exec-expires=%ld\n", (long)cred->expires);
	}
	exec_credential_cache_clear();
	kube_config_release(&cfg);
	strvec_clear(&fl.as_groups);
	return ret;
}
