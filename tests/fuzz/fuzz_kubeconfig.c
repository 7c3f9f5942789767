/* kubeconfig loading: the input is written to a file and loaded with
 * --kubeconfig pointing at it (the whole path: libyaml, merging, base64,
 * flag overrides), and separately walked through the private libyaml tree
 * layer (common/kubeconfig_yaml.h).  Invariants: no crash/leak/UB, and a
 * failure leaves a one-line error message. */
#include "fuzz.h"

#include <string.h>
#include <unistd.h>

#include "eidf/http_header.h"
#include "eidf/kubeconfig.h"
#include "eidf/util.h"
#include "kubeconfig_yaml.h"

static char *tmp_path;

static void remove_tmp(void)
{
	if (tmp_path)
		unlink(tmp_path);
	free(tmp_path);
	tmp_path = NULL;
}

static const char *input_file(const uint8_t *data, size_t size)
{
	FILE *f;

	if (!tmp_path) {
		const char *dir = getenv("TMPDIR");
		int fd;
		tmp_path = xasprintf("%s/eidf-fuzz-kubeconfig.XXXXXX", dir && *dir ? dir : "/tmp");
		fd = mkstemp(tmp_path);
		if (fd < 0) {
			perror("mkstemp");
			abort();
		}
		close(fd);
		atexit(remove_tmp);
	}
	f = fopen(tmp_path, "wb");
	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f)) {
		perror(tmp_path);
		abort();
	}
	return tmp_path;
}

/* Build a header the way kclient does: when it is accepted, the line that
 * would go on the wire holds no control character (not even a tab at its
 * ends, which Go trims) and the name is a token. */
static void check_line(const char *name, const char *value)
{
	struct curl_slist *l = NULL;

	if (http_header_append(&l, name, value, "fuzz") == 0) {
		FUZZ_CHECK(l && l->data, "accepted header not appended");
		for (const unsigned char *p = (const unsigned char *)l->data; *p; p++)
			FUZZ_CHECK((*p >= 0x20 && *p != 0x7f) || *p == '\t', "control character in %s", name);
		size_t n = strlen(l->data);
		FUZZ_CHECK(n && l->data[n - 1] != ' ' && l->data[n - 1] != '\t', "blank at the end of %s", name);
	}
	curl_slist_free_all(l);
}

/* Everything that becomes a request header is free of control characters
 * (header injection), and TLS verification is only off when asked for. */
static void check_headers(const struct kube_config *cfg, const uint8_t *data, size_t size)
{
	FUZZ_CHECK(cfg->server && http_header_value_valid(cfg->server), "server with a control character");
	if (cfg->token) {
		char *v = xasprintf("Bearer %s", cfg->token);
		check_line("Authorization", v);
		free(v);
	}
	if (cfg->impersonate_user)
		check_line("Impersonate-User", cfg->impersonate_user);
	if (cfg->impersonate_uid)
		check_line("Impersonate-Uid", cfg->impersonate_uid);
	for (size_t i = 0; i < cfg->impersonate_groups.n; i++)
		check_line("Impersonate-Group", cfg->impersonate_groups.v[i]);
	for (size_t i = 0; i < cfg->impersonate_extra_keys.n; i++) {
		struct strbuf k = STRBUF_INIT;
		strbuf_addstr(&k, "Impersonate-Extra-");
		http_header_escape_key(&k, cfg->impersonate_extra_keys.v[i]);
		FUZZ_CHECK(http_header_name_valid(k.buf, k.len), "user-extra key is no header name");
		check_line(k.buf, cfg->impersonate_extra_values.v[i]);
		strbuf_release(&k);
	}
	FUZZ_CHECK(!cfg->token || cfg->token_file || http_header_value_valid(cfg->token),
		   "token with a control character");
	FUZZ_CHECK(!cfg->impersonate_user || http_header_value_valid(cfg->impersonate_user),
		   "impersonated user with a control character");
	FUZZ_CHECK(!cfg->impersonate_uid || http_header_value_valid(cfg->impersonate_uid),
		   "impersonated uid with a control character");
	for (size_t i = 0; i < cfg->impersonate_groups.n; i++)
		FUZZ_CHECK(http_header_value_valid(cfg->impersonate_groups.v[i]), "group with a control character");
	for (size_t i = 0; i < cfg->impersonate_extra_values.n; i++)
		FUZZ_CHECK(http_header_value_valid(cfg->impersonate_extra_values.v[i]),
			   "user-extra with a control character");
	/* TLS downgrade: only a YAML 1.1 true (never tRuE, "true", 1) turns verification off */
	if (cfg->insecure && !cfg->in_cluster) {
		static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On",
						   "ON", "y", "Y" };
		int found = 0;
		for (size_t i = 0; i < EIDF_ARRAY_SIZE(yes) && !found; i++)
			found = memmem(data, size, yes[i], strlen(yes[i])) != NULL;
		FUZZ_CHECK(found, "insecure without a YAML 1.1 true in the input");
	}
}

static void check_error_line(void)
{
	const char *e = eidf_last_error();
	FUZZ_CHECK(e && *e, "failure without a message");
	FUZZ_CHECK(!strchr(e, '\n'), "multi-line error: %s", e);
}

/* The tree layer the loader is built on, driven the way kubeconfig.c uses it. */
static void walk_tree(const uint8_t *data, size_t size)
{
	static const char *const lists[] = { "clusters", "users", "contexts" };
	static const char *const inner[] = { "cluster", "user", "context" };
	struct kyaml y;
	yaml_node_t *root;

	if (kyaml_load(&y, "fuzz.yaml", (const char *)data, size) < 0) {
		check_error_line();
		return;
	}
	root = kyaml_root(&y);
	if (root) {
		char *s = NULL;
		cJSON *j = kyaml_to_json(&y, root);
		cJSON_Delete(j);
		(void)kyaml_kind(root);
		if (kyaml_check_map(&y, root, "") == 0) {
			kyaml_str(&y, root, "current-context", "config", &s);
			free(s);
			s = NULL;
			for (size_t l = 0; l < EIDF_ARRAY_SIZE(lists); l++) {
				yaml_node_t *seq = kyaml_get(&y, root, lists[l]);
				if (!seq || seq->type != YAML_SEQUENCE_NODE)
					continue;
				for (yaml_node_item_t *it = seq->data.sequence.items.start;
				     it < seq->data.sequence.items.top; it++) {
					yaml_node_t *e = kyaml_node(&y, *it), *m, *ex;
					struct strbuf b = STRBUF_INIT;
					struct strvec v = STRVEC_INIT;
					int present = 0, bval = 0;
					if (!e || kyaml_check_map(&y, e, lists[l]) < 0)
						continue;
					kyaml_str(&y, e, "name", lists[l], &s);
					free(s);
					s = NULL;
					m = kyaml_get(&y, e, inner[l]);
					if (!m || kyaml_check_map(&y, m, inner[l]) < 0)
						continue;
					kyaml_str(&y, m, "server", inner[l], &s);
					free(s);
					s = NULL;
					kyaml_b64(&y, m, "certificate-authority-data", inner[l], &b, &present);
					kyaml_b64(&y, m, "client-key-data", inner[l], &b, &present);
					kyaml_bool(&y, m, "insecure-skip-tls-verify", inner[l], &bval);
					kyaml_strlist(&y, m, "as-groups", inner[l], &v);
					ex = kyaml_get(&y, m, "exec");
					if (ex && kyaml_check_map(&y, ex, "exec") == 0) {
						kyaml_strlist(&y, ex, "args", "exec", &v);
						kyaml_str(&y, ex, "command", "exec", &s);
						free(s);
						s = NULL;
					}
					(void)kyaml_is_null(m);
					strbuf_release(&b);
					strvec_clear(&v);
				}
			}
		}
	}
	kyaml_release(&y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kube_flags flags;
	struct kube_config cfg;
	struct strvec names = STRVEC_INIT;

	if (size > 64 * 1024)
		return 0;
	walk_tree(data, size);

	memset(&flags, 0, sizeof(flags));
	flags.insecure_skip_tls_verify = -1;
	flags.kubeconfig = input_file(data, size);
	memset(&cfg, 0, sizeof(cfg));
	if (kube_config_load(&flags, &cfg) == 0) {
		FUZZ_CHECK(cfg.server && *cfg.server, "loaded without a server");
		FUZZ_CHECK(cfg.namespace && *cfg.namespace, "loaded without a namespace");
		check_headers(&cfg, data, size);
		kube_config_release(&cfg);
	} else {
		check_error_line();
		kube_config_release(&cfg);
	}

	/* the same file with overrides, as `--context x -n y --server z` would */
	flags.context = "fuzz";
	flags.namespace = "eidf001ns";
	flags.server = "https://127.0.0.1:1";
	memset(&cfg, 0, sizeof(cfg));
	if (kube_config_load(&flags, &cfg) < 0)
		check_error_line();
	else
		check_headers(&cfg, data, size);
	kube_config_release(&cfg);

	kube_config_names(&flags, "contexts", &names);
	kube_config_names(&flags, "users", &names);
	strvec_clear(&names);
	return 0;
}
