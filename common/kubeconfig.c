/* kubeconfig loading with client-go's semantics (tools/clientcmd):
 * loader.go (file list, merge, relative paths) and client_config.go
 * (context selection, flag overrides, validation), plus in-cluster config.
 *
 * What client-go does and this file copies (checked against the real kubectl
 * by what it sends, tests/t/t0022 live and the tests/t/t0023 matrix): YAML
 * 1.1 typing through kubeconfig_yaml.c (booleans, numbers in string fields
 * and string lists are errors, explicit tags decide, merge keys, the last of
 * a repeated key), apiVersion v1/kind Config, the file + -data conflicts,
 * basic auth + token, as-user-extra without as, oidc checks, gcp/azure
 * removed; a tokenFile wins over token/--token while it is readable; a
 * server without a scheme is plain http (clientcmd decides "TLS?" before
 * adding the CA) and over plain http no credential is sent, impersonation
 * headers are; KUBERNETES_MASTER when a cluster has no server; $HOME unset
 * means ./.kube/config; in a pod with no cluster and no --server: in-cluster
 * whatever the user (even with KUBERNETES_MASTER), an empty token an error,
 * a kubeconfig context's namespace winning over the pod's.
 *
 * Deliberate differences from client-go (also in docs/configuration.md),
 * each one to fail clearly instead of doing something surprising:
 *  - nothing configured: an error, not http://localhost:8080;
 *  - a context naming a missing user, or a missing cluster outside a pod
 *    without KUBERNETES_MASTER: an error (client-go goes anonymous);
 *  - no credential on an https server (no user, a user without one, a
 *    client key without its certificate): kube_config_check_credentials()
 *    errors where kubectl would prompt for basic auth (after an anonymous
 *    /version request), which is not supported (username/password, and a
 *    user:password@ in the server URL, which kubectl would send as basic
 *    auth, are errors);
 *  - impersonation in a pod with no cluster: the "no server" error where
 *    kubectl goes to http://localhost:8080;
 *  - oidc id-tokens are used as they are, never refreshed: an expired or
 *    non-JWT one is an error asking to log in again;
 *  - a control character in a static token or impersonation value is
 *    refused when loading, not at the first request (same message); a NUL
 *    in any kubeconfig string is refused (a C string would be cut short).
 */
#include "eidf/kubeconfig.h"
#include "eidf/http_header.h"
#include "eidf/options.h"
#include "kubeconfig_yaml.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define SA_DIR_DEFAULT "/var/run/secrets/kubernetes.io/serviceaccount"
#define EXEC_EXTENSION "client.authentication.k8s.io/exec"

struct kc_file {
	char *path;                    /* as given, for messages */
	char *dir;                     /* absolute directory, for relative paths */
};

struct kc_cluster {
	char *name;
	const struct kc_file *file;
	char *server, *tls_server_name, *ca_file, *proxy_url;
	struct strbuf ca_data;
	int has_ca_data, insecure, disable_compression;
	char *exec_ext_json;
};

struct kc_user {
	char *name;
	const struct kc_file *file;
	char *cert_file, *key_file, *token, *token_file;
	struct strbuf cert_data, key_data;
	int has_cert_data, has_key_data;
	char *as, *as_uid;
	struct strvec as_groups;
	int basic_auth;
	struct strvec extra_keys, extra_values;     /* as-user-extra, flattened */
	char *auth_provider, *oidc_id_token, *oidc_issuer, *oidc_client_id, *oidc_refresh;
	struct exec_config *exec;
};

struct kc_context {
	char *name;
	const struct kc_file *file;
	char *cluster, *user, *namespace;
};

struct ptrvec {
	void **v;
	size_t n, alloc;
};

static void ptrvec_push(struct ptrvec *pv, void *p)
{
	if (pv->n == pv->alloc) {
		pv->alloc = pv->alloc ? pv->alloc * 2 : 8;
		pv->v = xrealloc(pv->v, pv->alloc * sizeof(*pv->v));
	}
	pv->v[pv->n++] = p;
}

/* The merged view of all files. */
struct kc_merged {
	struct ptrvec files, clusters, users, contexts;
	char *current_context;
	const struct kc_file *current_context_file;
	int env_list;                  /* files came from KUBECONFIG */
	size_t candidates;             /* files named (existing or not) */
};

/* ---- freeing ------------------------------------------------------------------ */

static void exec_config_free(struct exec_config *e)
{
	if (!e)
		return;
	free(e->api_version);
	free(e->command);
	strvec_clear(&e->args);
	strvec_clear(&e->env);
	free(e->install_hint);
	free(e->interactive_mode);
	free(e->cluster_config_json);
	free(e);
}

static struct exec_config *exec_config_dup(const struct exec_config *e)
{
	struct exec_config *d;
	if (!e)
		return NULL;
	d = xcalloc(1, sizeof(*d));
	d->api_version = xstrdup(e->api_version);
	d->command = xstrdup(e->command);
	for (size_t i = 0; i < e->args.n; i++)
		strvec_push(&d->args, e->args.v[i]);
	for (size_t i = 0; i < e->env.n; i++)
		strvec_push(&d->env, e->env.v[i]);
	d->install_hint = xstrdup(e->install_hint);
	d->provide_cluster_info = e->provide_cluster_info;
	d->interactive_mode = xstrdup(e->interactive_mode);
	d->cluster_config_json = xstrdup(e->cluster_config_json);
	return d;
}

static void cluster_free(struct kc_cluster *c)
{
	free(c->name);
	free(c->server);
	free(c->tls_server_name);
	free(c->ca_file);
	free(c->proxy_url);
	strbuf_release(&c->ca_data);
	free(c->exec_ext_json);
	free(c);
}

static void user_free(struct kc_user *u)
{
	free(u->name);
	free(u->cert_file);
	free(u->key_file);
	free(u->token);
	free(u->token_file);
	strbuf_release(&u->cert_data);
	strbuf_release(&u->key_data);
	free(u->as);
	free(u->as_uid);
	strvec_clear(&u->as_groups);
	free(u->auth_provider);
	free(u->oidc_id_token);
	free(u->oidc_issuer);
	free(u->oidc_client_id);
	free(u->oidc_refresh);
	strvec_clear(&u->extra_keys);
	strvec_clear(&u->extra_values);
	exec_config_free(u->exec);
	free(u);
}

static void context_free(struct kc_context *c)
{
	free(c->name);
	free(c->cluster);
	free(c->user);
	free(c->namespace);
	free(c);
}

static void merged_release(struct kc_merged *m)
{
	for (size_t i = 0; i < m->clusters.n; i++)
		cluster_free(m->clusters.v[i]);
	for (size_t i = 0; i < m->users.n; i++)
		user_free(m->users.v[i]);
	for (size_t i = 0; i < m->contexts.n; i++)
		context_free(m->contexts.v[i]);
	for (size_t i = 0; i < m->files.n; i++) {
		struct kc_file *f = m->files.v[i];
		free(f->path);
		free(f->dir);
		free(f);
	}
	free(m->clusters.v);
	free(m->users.v);
	free(m->contexts.v);
	free(m->files.v);
	free(m->current_context);
	memset(m, 0, sizeof(*m));
}

/* ---- small helpers ------------------------------------------------------------ */

static char *abs_path(const char *p)
{
	char *cwd;
	char *r;
	if (p[0] == '/')
		return xstrdup(p);
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return xstrdup(p);
	r = xasprintf("%s/%s", cwd, p);
	free(cwd);
	return r;
}

static char *dir_of(const char *abs)
{
	const char *slash = strrchr(abs, '/');
	if (!slash || slash == abs)
		return xstrdup("/");
	return xstrndup(abs, (size_t)(slash - abs));
}

/* client-go resolves these against the defining file's directory. */
static void resolve_rel(char **p, const struct kc_file *f)
{
	if (!*p || !**p || (*p)[0] == '/')
		return;
	char *r = xasprintf("%s/%s", f->dir, *p);
	free(*p);
	*p = r;
}

/* Read a referenced file; on failure the caller formats the message from errno. */
static int slurp(const char *path, struct strbuf *out, int *err)
{
	strbuf_reset(out);
	if (read_file(path, out) < 0) {
		*err = errno;
		return -1;
	}
	return 0;
}

static char *trimmed(const char *s, size_t len)
{
	while (len && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	return xstrndup(s, len);
}

/* ---- parsing one file ------------------------------------------------------------ */

static char *entry_ctx(const char *kind, const char *name, const char *list, size_t i)
{
	if (name)
		return xasprintf("%s \"%s\"", kind, name);
	return xasprintf("%s[%zu]", list, i);
}

static int parse_exec(struct kyaml *y, yaml_node_t *n, const char *ctx, const struct kc_file *f,
		      struct exec_config **out)
{
	struct exec_config *e = xcalloc(1, sizeof(*e));
	char *ectx = xasprintf("%s: exec", ctx);
	yaml_node_t *env;
	int ret = -1;

	if (kyaml_check_map(y, n, ectx) < 0 ||
	    kyaml_str(y, n, "apiVersion", ectx, &e->api_version) < 0 ||
	    kyaml_str(y, n, "command", ectx, &e->command) < 0 ||
	    kyaml_strlist(y, n, "args", ectx, &e->args) < 0 ||
	    kyaml_str(y, n, "installHint", ectx, &e->install_hint) < 0 ||
	    kyaml_bool(y, n, "provideClusterInfo", ectx, &e->provide_cluster_info) < 0 ||
	    kyaml_str(y, n, "interactiveMode", ectx, &e->interactive_mode) < 0)
		goto out;
	env = kyaml_get(y, n, "env");
	if (env) {
		char *fctx = xasprintf("%s: env", ectx);
		if (env->type != YAML_SEQUENCE_NODE) {
			kyaml_error(y, env, fctx, "expected a list of {name, value}, found %s", kyaml_kind(env));
			free(fctx);
			goto out;
		}
		for (yaml_node_item_t *it = env->data.sequence.items.start; it < env->data.sequence.items.top; it++) {
			yaml_node_t *item = kyaml_node(y, *it);
			char *name = NULL, *value = NULL;
			if (kyaml_check_map(y, item, fctx) < 0 ||
			    kyaml_str(y, item, "name", fctx, &name) < 0 ||
			    kyaml_str(y, item, "value", fctx, &value) < 0) {
				free(name);
				free(value);
				free(fctx);
				goto out;
			}
			if (!name || !*name || strchr(name, '=')) {
				kyaml_error(y, item, fctx, "every entry needs a name (without '=')");
				free(name);
				free(value);
				free(fctx);
				goto out;
			}
			strvec_pushf(&e->env, "%s=%s", name, value ? value : "");
			free(name);
			free(value);
		}
		free(fctx);
	}
	if (!e->command || !*e->command) {
		kyaml_error(y, n, ectx, "command must be specified to use an exec credential plugin");
		goto out;
	}
	if (!e->api_version || !*e->api_version) {
		kyaml_error(y, n, ectx, "apiVersion must be specified (client.authentication.k8s.io/v1)");
		goto out;
	}
	if (strcmp(e->api_version, "client.authentication.k8s.io/v1") &&
	    strcmp(e->api_version, "client.authentication.k8s.io/v1beta1")) {
		kyaml_error(y, n, ectx, "apiVersion \"%s\" is not supported; use "
			    "client.authentication.k8s.io/v1 or v1beta1", e->api_version);
		goto out;
	}
	if (!e->interactive_mode || !*e->interactive_mode) {
		if (!strcmp(e->api_version, "client.authentication.k8s.io/v1")) {
			kyaml_error(y, n, ectx, "interactiveMode must be specified for "
				    "client.authentication.k8s.io/v1 (Never, IfAvailable or Always)");
			goto out;
		}
		free(e->interactive_mode);
		e->interactive_mode = xstrdup("IfAvailable");
	} else if (strcmp(e->interactive_mode, "Never") && strcmp(e->interactive_mode, "IfAvailable") &&
		   strcmp(e->interactive_mode, "Always")) {
		kyaml_error(y, n, ectx, "invalid interactiveMode \"%s\"; use Never, IfAvailable or Always",
			    e->interactive_mode);
		goto out;
	}
	if (strchr(e->command, '/'))
		resolve_rel(&e->command, f);
	*out = e;
	e = NULL;
	ret = 0;
out:
	exec_config_free(e);
	free(ectx);
	return ret;
}

static int parse_cluster(struct kyaml *y, yaml_node_t *n, const char *ctx, struct kc_cluster *c)
{
	yaml_node_t *ext;

	if (kyaml_check_map(y, n, ctx) < 0 ||
	    kyaml_str(y, n, "server", ctx, &c->server) < 0 ||
	    kyaml_str(y, n, "tls-server-name", ctx, &c->tls_server_name) < 0 ||
	    kyaml_bool(y, n, "insecure-skip-tls-verify", ctx, &c->insecure) < 0 ||
	    kyaml_str(y, n, "certificate-authority", ctx, &c->ca_file) < 0 ||
	    kyaml_b64(y, n, "certificate-authority-data", ctx, &c->ca_data, &c->has_ca_data) < 0 ||
	    kyaml_str(y, n, "proxy-url", ctx, &c->proxy_url) < 0 ||
	    kyaml_bool(y, n, "disable-compression", ctx, &c->disable_compression) < 0)
		return -1;
	ext = kyaml_get(y, n, "extensions");
	if (ext) {
		char *fctx = xasprintf("%s: extensions", ctx);
		int bad = ext->type != YAML_SEQUENCE_NODE;
		if (bad)
			kyaml_error(y, ext, fctx, "expected a list of {name, extension}, found %s",
				    kyaml_kind(ext));
		for (yaml_node_item_t *it = bad ? NULL : ext->data.sequence.items.start;
		     it && it < ext->data.sequence.items.top && !bad; it++) {
			yaml_node_t *item = kyaml_node(y, *it);
			char *name = NULL;
			if (kyaml_check_map(y, item, fctx) < 0 || kyaml_str(y, item, "name", fctx, &name) < 0) {
				bad = 1;
			} else if (name && !strcmp(name, EXEC_EXTENSION) && !c->exec_ext_json) {
				yaml_node_t *v = kyaml_get(y, item, "extension");
				cJSON *j = v ? kyaml_to_json(y, v) : cJSON_CreateNull();
				if (!j) {
					kyaml_error(y, v, fctx, "extension \"%s\" is too large or deeply nested",
						    EXEC_EXTENSION);
					bad = 1;
				} else {
					c->exec_ext_json = cJSON_PrintUnformatted(j);
					cJSON_Delete(j);
				}
			}
			free(name);
		}
		free(fctx);
		if (bad)
			return -1;
	}
	return 0;
}

/* as-user-extra: map[string][]string */
static int parse_user_extra(struct kyaml *y, yaml_node_t *n, const char *ctx, struct kc_user *u)
{
	yaml_node_t *ex = kyaml_get(y, n, "as-user-extra");
	struct kyaml_pairs ps = { 0 };
	char *ectx;
	int bad;

	if (!ex)
		return 0;
	ectx = xasprintf("%s: as-user-extra", ctx);
	bad = kyaml_pairs(y, ex, ectx, &ps) < 0;
	for (size_t i = 0; !bad && i < ps.n; i++) {
		struct strvec vals = STRVEC_INIT;
		char *key = xstrndup((const char *)ps.v[i].key->data.scalar.value,
				     ps.v[i].key->data.scalar.length);
		bad = kyaml_strlist(y, ex, key, ectx, &vals) < 0;
		for (size_t j = 0; !bad && j < vals.n; j++) {
			strvec_push(&u->extra_keys, key);
			strvec_push(&u->extra_values, vals.v[j]);
		}
		strvec_clear(&vals);
		free(key);
	}
	kyaml_pairs_release(&ps);
	free(ectx);
	return bad ? -1 : 0;
}

static int parse_user(struct kyaml *y, yaml_node_t *n, const char *ctx, const struct kc_file *f,
		      struct kc_user *u)
{
	yaml_node_t *ap, *ex;
	char *username = NULL, *password = NULL;

	if (kyaml_check_map(y, n, ctx) < 0 ||
	    kyaml_str(y, n, "client-certificate", ctx, &u->cert_file) < 0 ||
	    kyaml_b64(y, n, "client-certificate-data", ctx, &u->cert_data, &u->has_cert_data) < 0 ||
	    kyaml_str(y, n, "client-key", ctx, &u->key_file) < 0 ||
	    kyaml_b64(y, n, "client-key-data", ctx, &u->key_data, &u->has_key_data) < 0 ||
	    kyaml_str(y, n, "token", ctx, &u->token) < 0 ||
	    kyaml_str(y, n, "tokenFile", ctx, &u->token_file) < 0 ||
	    kyaml_str(y, n, "as", ctx, &u->as) < 0 ||
	    kyaml_str(y, n, "as-uid", ctx, &u->as_uid) < 0 ||
	    kyaml_strlist(y, n, "as-groups", ctx, &u->as_groups) < 0 ||
	    kyaml_str(y, n, "username", ctx, &username) < 0 ||
	    kyaml_str(y, n, "password", ctx, &password) < 0) {
		free(username);
		free(password);
		return -1;
	}
	u->basic_auth = (username && *username) || (password && *password);
	free(username);
	free(password);
	if (parse_user_extra(y, n, ctx, u) < 0)
		return -1;
	ap = kyaml_get(y, n, "auth-provider");
	if (ap) {
		char *actx = xasprintf("%s: auth-provider", ctx);
		yaml_node_t *conf;
		int bad = kyaml_check_map(y, ap, actx) < 0 ||
			  kyaml_str(y, ap, "name", actx, &u->auth_provider) < 0;
		if (!bad && (conf = kyaml_get(y, ap, "config"))) {
			/* map[string]string: every value must be a string */
			char *cctx = xasprintf("%s: auth-provider: config", ctx);
			struct kyaml_pairs ps = { 0 };
			bad = kyaml_pairs(y, conf, cctx, &ps) < 0;
			for (size_t i = 0; !bad && i < ps.n; i++) {
				char *key = xstrndup((const char *)ps.v[i].key->data.scalar.value,
						     ps.v[i].key->data.scalar.length), *val = NULL;
				bad = kyaml_str(y, conf, key, cctx, &val) < 0;
				if (!bad && !strcmp(key, "id-token"))
					u->oidc_id_token = val, val = NULL;
				else if (!bad && !strcmp(key, "idp-issuer-url"))
					u->oidc_issuer = val, val = NULL;
				else if (!bad && !strcmp(key, "client-id"))
					u->oidc_client_id = val, val = NULL;
				else if (!bad && !strcmp(key, "refresh-token"))
					u->oidc_refresh = val, val = NULL;
				free(val);
				free(key);
			}
			kyaml_pairs_release(&ps);
			free(cctx);
		}
		if (!bad && (!u->auth_provider || !*u->auth_provider)) {
			kyaml_error(y, ap, actx, "name must be specified");
			bad = 1;
		}
		free(actx);
		if (bad)
			return -1;
	}
	ex = kyaml_get(y, n, "exec");
	if (ex && parse_exec(y, ex, ctx, f, &u->exec) < 0)
		return -1;
	resolve_rel(&u->cert_file, f);
	resolve_rel(&u->key_file, f);
	resolve_rel(&u->token_file, f);
	return 0;
}

static int parse_context(struct kyaml *y, yaml_node_t *n, const char *ctx, struct kc_context *c)
{
	return kyaml_check_map(y, n, ctx) < 0 ||
	       kyaml_str(y, n, "cluster", ctx, &c->cluster) < 0 ||
	       kyaml_str(y, n, "user", ctx, &c->user) < 0 ||
	       kyaml_str(y, n, "namespace", ctx, &c->namespace) < 0 ? -1 : 0;
}

enum kind { K_CLUSTER, K_USER, K_CONTEXT };
static const struct {
	const char *list, *item, *kind;
} kinds[] = {
	{ "clusters", "cluster", "cluster" },
	{ "users", "user", "user" },
	{ "contexts", "context", "context" },
};

static const char *entry_name(enum kind k, void *e)
{
	switch (k) {
	case K_CLUSTER: return ((struct kc_cluster *)e)->name;
	case K_USER: return ((struct kc_user *)e)->name;
	default: return ((struct kc_context *)e)->name;
	}
}

static void entry_free(enum kind k, void *e)
{
	switch (k) {
	case K_CLUSTER: cluster_free(e); break;
	case K_USER: user_free(e); break;
	default: context_free(e); break;
	}
}

static struct ptrvec *merged_list(struct kc_merged *m, enum kind k)
{
	return k == K_CLUSTER ? &m->clusters : k == K_USER ? &m->users : &m->contexts;
}

static void *find_entry(const struct ptrvec *pv, enum kind k, const char *name)
{
	for (size_t i = 0; i < pv->n; i++)
		if (!strcmp(entry_name(k, pv->v[i]), name))
			return pv->v[i];
	return NULL;
}

static int parse_list(struct kyaml *y, yaml_node_t *root, enum kind k, const struct kc_file *f,
		      struct ptrvec *out)
{
	yaml_node_t *list = kyaml_get(y, root, kinds[k].list);
	if (!list)
		return 0;
	if (list->type != YAML_SEQUENCE_NODE)
		return kyaml_error(y, list, kinds[k].list, "expected a list of {name, %s}, found %s",
				   kinds[k].item, kyaml_kind(list));
	size_t i = 0;
	for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top; it++, i++) {
		yaml_node_t *item = kyaml_node(y, *it);
		char *ctx = entry_ctx(kinds[k].kind, NULL, kinds[k].list, i);
		char *name = NULL;
		void *e = NULL;
		int bad;

		bad = kyaml_check_map(y, item, ctx) < 0 || kyaml_str(y, item, "name", ctx, &name) < 0;
		if (!bad && (!name || !*name)) {
			kyaml_error(y, item, ctx, "missing name; every %s needs a unique name", kinds[k].kind);
			bad = 1;
		}
		if (!bad && find_entry(out, k, name)) {
			kyaml_error(y, item, ctx, "%s \"%s\" is defined more than once in this file; "
				    "remove or rename one", kinds[k].kind, name);
			bad = 1;
		}
		if (!bad) {
			yaml_node_t *body = kyaml_get(y, item, kinds[k].item);
			free(ctx);
			ctx = entry_ctx(kinds[k].kind, name, kinds[k].list, i);
			switch (k) {
			case K_CLUSTER: {
				struct kc_cluster *c = xcalloc(1, sizeof(*c));
				c->name = name, c->file = f, e = c;
				bad = body && parse_cluster(y, body, ctx, c) < 0;
				resolve_rel(&c->ca_file, f);
				break;
			}
			case K_USER: {
				struct kc_user *u = xcalloc(1, sizeof(*u));
				u->name = name, u->file = f, e = u;
				bad = body && parse_user(y, body, ctx, f, u) < 0;
				break;
			}
			case K_CONTEXT: {
				struct kc_context *c = xcalloc(1, sizeof(*c));
				c->name = name, c->file = f, e = c;
				bad = body && parse_context(y, body, ctx, c) < 0;
				break;
			}
			}
			name = NULL;
		}
		free(name);
		free(ctx);
		if (e)
			ptrvec_push(out, e);
		if (bad)
			return -1;
	}
	return 0;
}

/* clientcmd decodes with the v1 Config scheme: empty fields default to it,
 * anything else is not a kubeconfig. */
static int check_version(struct kyaml *y, yaml_node_t *root)
{
	char *av = NULL, *kind = NULL;
	int ret = 0;

	if (kyaml_str(y, root, "apiVersion", "top level", &av) < 0 ||
	    kyaml_str(y, root, "kind", "top level", &kind) < 0) {
		ret = -1;
	} else if (av && *av && strcmp(av, "v1")) {
		ret = kyaml_error(y, kyaml_get(y, root, "apiVersion"), "apiVersion",
				  "no kind \"Config\" is registered for version \"%.60s\"; a kubeconfig "
				  "has apiVersion: v1", av);
	} else if (kind && *kind && strcmp(kind, "Config")) {
		ret = kyaml_error(y, kyaml_get(y, root, "kind"), "kind",
				  "no kind \"%.60s\" is registered for version \"v1\"; a kubeconfig has "
				  "kind: Config", kind);
	}
	free(av);
	free(kind);
	return ret;
}

/* Parse one file and merge it: names already defined by an earlier file win entirely. */
static int load_file(struct kc_merged *m, const char *path, const char *data, size_t len)
{
	struct kc_file *f = xcalloc(1, sizeof(*f));
	char *abs = abs_path(path);
	struct kyaml y;
	struct ptrvec lists[3] = { { 0 }, { 0 }, { 0 } };
	yaml_node_t *root;
	char *cur = NULL;
	int ret = -1;

	f->path = xstrdup(path);
	f->dir = dir_of(abs);
	free(abs);
	ptrvec_push(&m->files, f);

	if (kyaml_load(&y, path, data, len) < 0)
		return -1;
	root = kyaml_root(&y);
	if (!root || kyaml_is_null(root)) {
		ret = 0;
		goto out;
	}
	if (root->type != YAML_MAPPING_NODE) {
		kyaml_error(&y, root, "top level", "expected a mapping (apiVersion, kind, clusters, "
			    "users, contexts), found %s", kyaml_kind(root));
		goto out;
	}
	if (kyaml_check_map(&y, root, "top level") < 0 ||
	    kyaml_str(&y, root, "current-context", "top level", &cur) < 0 ||
	    check_version(&y, root) < 0)
		goto out;
	for (int k = 0; k < 3; k++)
		if (parse_list(&y, root, (enum kind)k, f, &lists[k]) < 0)
			goto out;
	if (cur && *cur && !m->current_context) {
		m->current_context = cur;
		m->current_context_file = f;
		cur = NULL;
	}
	for (int k = 0; k < 3; k++) {
		struct ptrvec *dst = merged_list(m, (enum kind)k);
		for (size_t i = 0; i < lists[k].n; i++) {
			if (find_entry(dst, (enum kind)k, entry_name((enum kind)k, lists[k].v[i])))
				entry_free((enum kind)k, lists[k].v[i]);
			else
				ptrvec_push(dst, lists[k].v[i]);
			lists[k].v[i] = NULL;
		}
	}
	ret = 0;
out:
	for (int k = 0; k < 3; k++) {
		for (size_t i = 0; i < lists[k].n; i++)
			if (lists[k].v[i])
				entry_free((enum kind)k, lists[k].v[i]);
		free(lists[k].v);
	}
	free(cur);
	kyaml_release(&y);
	return ret;
}

/* client-go's homedir.HomeDir() on Linux is $HOME, nothing else: without it
 * the default file is .kube/config relative to the working directory. */
static char *default_kubeconfig(void)
{
	const char *h = getenv("HOME");
	return h && *h ? xasprintf("%s/.kube/config", h) : xstrdup(".kube/config");
}

static int load_path(struct kc_merged *m, const char *path, int must_exist)
{
	struct strbuf data = STRBUF_INIT;
	struct stat st;
	int err = 0, ret;

	m->candidates++;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT && !must_exist)
			return 0;
		if (errno == ENOENT)
			eidf_set_error("stat %s: no such file or directory (check the --kubeconfig path)", path);
		else
			eidf_set_error("stat %s: %s", path, strerror(errno));
		return -1;
	}
	if (slurp(path, &data, &err) < 0) {
		eidf_set_error("error loading kubeconfig \"%s\": %s", path, strerror(err));
		strbuf_release(&data);
		return -1;
	}
	ret = load_file(m, path, strbuf_str(&data), data.len);
	strbuf_release(&data);
	return ret;
}

/* loader.go: --kubeconfig, else KUBECONFIG, else ~/.kube/config. */
static int load_all(const struct kube_flags *fl, struct kc_merged *m)
{
	const char *env = getenv("KUBECONFIG");

	if (fl && fl->kubeconfig && *fl->kubeconfig)
		return load_path(m, fl->kubeconfig, 1);
	if (env && *env) {
		struct strvec seen = STRVEC_INIT;
		char *copy = xstrdup(env), *save = NULL;
		int ret = 0;
		m->env_list = 1;
		for (char *p = copy;; p = NULL) {
			/* strsep-like split keeping empty entries out */
			char *tok = strtok_r(p, ":", &save);
			if (!tok)
				break;
			if (strvec_contains(&seen, tok))
				continue;
			strvec_push(&seen, tok);
			if (load_path(m, tok, 0) < 0) {
				ret = -1;
				break;
			}
		}
		free(copy);
		strvec_clear(&seen);
		return ret;
	}
	char *path = default_kubeconfig();
	int ret = load_path(m, path, 0);
	free(path);
	return ret;
}

/* ---- resolution --------------------------------------------------------------------- */

void kube_config_release(struct kube_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->context_name);
	free(cfg->cluster_name);
	free(cfg->user_name);
	free(cfg->server);
	free(cfg->tls_server_name);
	free(cfg->proxy_url);
	free(cfg->ca_pem);
	free(cfg->cert_pem);
	free(cfg->key_pem);
	if (cfg->token) {
		memset(cfg->token, 0, strlen(cfg->token));
		free(cfg->token);
	}
	free(cfg->token_file);
	free(cfg->token_source);
	exec_config_free(cfg->exec);
	free(cfg->impersonate_user);
	strvec_clear(&cfg->impersonate_groups);
	free(cfg->impersonate_uid);
	strvec_clear(&cfg->impersonate_extra_keys);
	strvec_clear(&cfg->impersonate_extra_values);
	free(cfg->impersonate_source);
	free(cfg->server_verbatim);
	free(cfg->namespace);
	memset(cfg, 0, sizeof(*cfg));
}

static void take_buf(struct strbuf *sb, char **p, size_t *len)
{
	free(*p);
	*len = sb->len;
	*p = strbuf_detach(sb);
}

/* A referenced file: where-text like `cluster "x" in FILE` names the owner. */
static int read_ref(const char *path, const char *field, const char *owner, struct strbuf *out)
{
	int err = 0;
	if (slurp(path, out, &err) < 0) {
		if (!strcmp(field, "tokenFile"))
			eidf_set_error("%s: cannot read tokenFile %s: %s; fix the path", owner, path,
				       strerror(err));
		else if (owner[0] == '-')
			eidf_set_error("%s: cannot read %s %s: %s; fix the path", owner, field, path,
				       strerror(err));
		else
			eidf_set_error("%s: cannot read %s %s: %s; fix the path or embed the file "
				       "as %s-data", owner, field, path, strerror(err), field);
		return -1;
	}
	return 0;
}

static char *owner_of(const char *kind, const char *name, const struct kc_file *f)
{
	return xasprintf("%s \"%s\" in %s", kind, name, f->path);
}

static const char *files_desc(const struct kc_merged *m, struct strbuf *sb)
{
	strbuf_reset(sb);
	for (size_t i = 0; i < m->files.n; i++) {
		if (i)
			strbuf_addstr(sb, ", ");
		strbuf_addstr(sb, ((struct kc_file *)m->files.v[i])->path);
	}
	if (!m->files.n)
		strbuf_addstr(sb, "(no file)");
	return sb->buf;
}

static int apply_timeout(const struct kube_flags *fl, struct kube_config *out)
{
	out->verbosity = fl ? fl->verbosity : 0;
	if (fl && fl->request_timeout && *fl->request_timeout) {
		long ms = parse_duration_ms(fl->request_timeout);
		if (ms < 0) {
			eidf_set_error("invalid --request-timeout \"%s\": use a whole number of seconds "
				       "or a duration such as 30s, 1m or 1h (0 means no timeout)",
				       fl->request_timeout);
			return -1;
		}
		out->request_timeout_ms = ms;
	}
	return 0;
}

static int sa_possible(const char *dir)
{
	const char *h = getenv("KUBERNETES_SERVICE_HOST"), *p = getenv("KUBERNETES_SERVICE_PORT");
	struct stat st;
	char *tok;
	int ok;

	if (!h || !*h || !p || !*p)
		return 0;
	tok = xasprintf("%s/token", dir);
	ok = stat(tok, &st) == 0 && !S_ISDIR(st.st_mode);
	free(tok);
	return ok;
}

static int impersonation_flags(const struct kube_flags *fl)
{
	return fl && ((fl->as && *fl->as) || fl->as_groups.n || (fl->as_uid && *fl->as_uid));
}

static const char *sa_dir(void)
{
	const char *d = getenv("EIDF_SERVICEACCOUNT_DIR");
	return d && *d ? d : SA_DIR_DEFAULT;
}

/* rest.InClusterConfig plus the overrides client-go applies to it. */
static int load_in_cluster(const struct kube_flags *fl, const char *ctx_ns, struct kube_config *out)
{
	const char *dir = sa_dir();
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
	const char *pod_ns = getenv("POD_NAMESPACE");
	struct strbuf sb = STRBUF_INIT;
	char *path;
	int err = 0;

	out->in_cluster = 1;
	out->context_name = xstrdup("");
	out->cluster_name = xstrdup("in-cluster");
	out->user_name = xstrdup("service-account");
	if (fl && fl->server && *fl->server)
		out->server = xstrdup(fl->server);
	else if (strchr(host, ':'))
		out->server = xasprintf("https://[%s]:%s", host, port);
	else
		out->server = xasprintf("https://%s:%s", host, port);
	if (fl && fl->token && *fl->token) {
		out->token = xstrdup(fl->token);
		out->token_source = xstrdup("the token from --token");
	} else {
		path = xasprintf("%s/token", dir);
		if (slurp(path, &sb, &err) < 0) {
			eidf_set_error("in-cluster configuration: cannot read service account token %s: %s",
				       path, strerror(err));
			free(path);
			strbuf_release(&sb);
			return -1;
		}
		out->token_source = xasprintf("the service account token %s", path);
		if (http_header_check_bytes("Authorization", strbuf_str(&sb), sb.len,
					    out->token_source) < 0) {
			free(path);
			strbuf_release(&sb);
			return -1;
		}
		out->token = trimmed(sb.buf, sb.len);
		if (!*out->token) {
			/* rest.InClusterConfig: an empty token is an error, never anonymous */
			eidf_set_error("in-cluster configuration: the service account token %s is empty; "
				       "mount a service account token or pass --token", path);
			free(path);
			strbuf_release(&sb);
			return -1;
		}
		out->token_file = path;
	}
	if (fl && fl->certificate_authority && *fl->certificate_authority) {
		if (read_ref(fl->certificate_authority, "certificate-authority", "--certificate-authority", &sb) < 0) {
			strbuf_release(&sb);
			return -1;
		}
		take_buf(&sb, &out->ca_pem, &out->ca_len);
	} else {
		path = xasprintf("%s/ca.crt", dir);
		/* client-go only logs a missing ca.crt and uses the system roots */
		if (slurp(path, &sb, &err) == 0)
			take_buf(&sb, &out->ca_pem, &out->ca_len);
		free(path);
	}
	if (fl && fl->namespace && *fl->namespace) {
		out->namespace = xstrdup(fl->namespace);
		out->namespace_explicit = 1;
	} else if (ctx_ns && *ctx_ns) {
		/* DeferredLoadingClientConfig.Namespace: the kubeconfig context's wins */
		out->namespace = xstrdup(ctx_ns);
		out->namespace_explicit = 1;
	} else if (pod_ns && *pod_ns) {
		out->namespace = xstrdup(pod_ns);
		out->namespace_explicit = 1;
	} else {
		path = xasprintf("%s/namespace", dir);
		if (slurp(path, &sb, &err) == 0) {
			char *ns = trimmed(sb.buf, sb.len);
			if (*ns) {
				out->namespace = ns;
				out->namespace_explicit = 1;
			} else {
				free(ns);
			}
		}
		free(path);
	}
	if (!out->namespace)
		out->namespace = xstrdup("default");
	strbuf_release(&sb);
	return 0;
}

static int resolve_cluster(const struct kube_flags *fl, const struct kc_cluster *c,
			   struct kube_config *out)
{
	struct strbuf sb = STRBUF_INIT;
	char *owner = c ? owner_of("cluster", c->name, c->file) : xstrdup("the command line");
	const char *ca_file = NULL;
	const struct strbuf *ca_data = NULL;
	const char *ca_owner = owner, *ca_field = "certificate-authority";
	int ret = -1;

	if (c) {
		out->server = xstrdup(c->server);
		out->tls_server_name = xstrdup(c->tls_server_name);
		out->insecure = c->insecure;
		out->proxy_url = xstrdup(c->proxy_url);
		out->disable_compression = c->disable_compression;
		/* (an insecure or CA flag replaces both before client-go validates) */
		if (c->has_ca_data && c->ca_file && *c->ca_file &&
		    !(fl && (fl->insecure_skip_tls_verify == 1 ||
			     (fl->certificate_authority && *fl->certificate_authority)))) {
			eidf_set_error("%s: certificate-authority-data and certificate-authority are both "
				       "specified; remove one", owner);
			goto out;
		}
		if (c->has_ca_data)
			ca_data = &c->ca_data;
		else if (c->ca_file && *c->ca_file)
			ca_file = c->ca_file;
	}
	if (fl && fl->disable_compression == 1)
		out->disable_compression = 1;
	/* clientcmd.ClusterDefaults: KUBERNETES_MASTER when the cluster has no server */
	if (!out->server || !*out->server) {
		const char *master = getenv("KUBERNETES_MASTER");
		free(out->server);
		out->server = master && *master ? xstrdup(master) : NULL;
	}
	if (fl && fl->server && *fl->server) {
		free(out->server);
		out->server = xstrdup(fl->server);
	}
	/* client-go: an insecure or CA override resets CA and insecure together */
	if (fl && (fl->insecure_skip_tls_verify == 1 ||
		   (fl->certificate_authority && *fl->certificate_authority))) {
		out->insecure = fl->insecure_skip_tls_verify == 1;
		ca_data = NULL;
		ca_file = fl->certificate_authority && *fl->certificate_authority ?
			  fl->certificate_authority : NULL;
		ca_owner = "--certificate-authority";
	}
	/* --server clears the kubeconfig's tls-server-name */
	if (fl && ((fl->tls_server_name && *fl->tls_server_name) || (fl->server && *fl->server))) {
		free(out->tls_server_name);
		out->tls_server_name = fl->tls_server_name && *fl->tls_server_name ?
				       xstrdup(fl->tls_server_name) : NULL;
	}
	if (out->tls_server_name && !*out->tls_server_name) {
		free(out->tls_server_name);
		out->tls_server_name = NULL;
	}
	if (!out->server || !*out->server) {
		eidf_set_error("%s has no server defined; add clusters[].cluster.server "
			       "(https://HOST:PORT) or pass --server", owner);
		goto out;
	}
	if (out->insecure && (ca_file || ca_data)) {
		eidf_set_error("%s: specifying a root certificates file with the insecure flag is not "
			       "allowed; remove insecure-skip-tls-verify or the certificate authority",
			       owner);
		goto out;
	}
	if (ca_data) {
		out->ca_len = ca_data->len;
		out->ca_pem = xmalloc(ca_data->len + 1);
		memcpy(out->ca_pem, strbuf_str(ca_data), ca_data->len);
		out->ca_pem[ca_data->len] = '\0';
	} else if (ca_file) {
		if (read_ref(ca_file, ca_field, ca_owner, &sb) < 0)
			goto out;
		take_buf(&sb, &out->ca_pem, &out->ca_len);
	}
	if (out->proxy_url && *out->proxy_url) {
		if (!starts_with(out->proxy_url, "http://") && !starts_with(out->proxy_url, "https://") &&
		    !starts_with(out->proxy_url, "socks5://")) {
			eidf_set_error("%s: proxy-url must be an http://, https:// or socks5:// URL", owner);
			goto out;
		}
	} else {
		free(out->proxy_url);
		out->proxy_url = NULL;
	}
	ret = 0;
out:
	strbuf_release(&sb);
	free(owner);
	return ret;
}

static int read_pem(const char *file, const struct strbuf *data, const char *field,
		    const char *owner, char **pem, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;
	if (data) {
		strbuf_add(&sb, strbuf_str(data), data->len);
	} else if (read_ref(file, field, owner, &sb) < 0) {
		strbuf_release(&sb);
		return -1;
	}
	take_buf(&sb, pem, len);
	return 0;
}

/* oidc's idTokenExpired(): a JWT whose payload has an "exp" more than 10 s ahead. */
static int oidc_token_valid(const char *tok)
{
	const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	struct strbuf b64 = STRBUF_INIT, json = STRBUF_INIT;
	cJSON *j = NULL, *exp;
	int ok = 0;

	if (!d1 || !d2 || strchr(d2 + 1, '.'))
		return 0;
	/* base64url without padding -> standard base64 */
	for (const char *p = d1 + 1; p < d2; p++)
		strbuf_addch(&b64, *p == '-' ? '+' : *p == '_' ? '/' : *p);
	while (b64.len % 4)
		strbuf_addch(&b64, '=');
	if (base64_decode(b64.buf ? b64.buf : "", b64.len, &json) == 0 &&
	    (j = cJSON_ParseWithLength(json.buf ? json.buf : "", json.len)) &&
	    cJSON_IsNumber(exp = cJSON_GetObjectItemCaseSensitive(j, "exp")))
		ok = (double)time(NULL) + 10 < exp->valuedouble;
	cJSON_Delete(j);
	strbuf_release(&b64);
	strbuf_release(&json);
	return ok;
}

/* The auth-provider checks client-go makes before any request. */
static int check_auth_provider(const struct kc_user *u, const char *owner)
{
	if (!strcmp(u->auth_provider, "oidc")) {
		if (u->exec) {
			eidf_set_error("%s: authProvider cannot be provided in combination with an exec "
				       "plugin; remove auth-provider or exec", owner);
			return -1;
		}
		if (!u->oidc_issuer || !*u->oidc_issuer) {
			eidf_set_error("%s: the oidc auth-provider must provide idp-issuer-url", owner);
			return -1;
		}
		if (!u->oidc_client_id || !*u->oidc_client_id) {
			eidf_set_error("%s: the oidc auth-provider must provide client-id", owner);
			return -1;
		}
		if (!u->oidc_id_token || !*u->oidc_id_token || !oidc_token_valid(u->oidc_id_token)) {
			eidf_set_error("%s: the oidc id-token is missing, expired or not a JWT, and "
				       "kubectl-eidf does not refresh it; log in again (e.g. kubectl "
				       "oidc-login) or switch to an exec plugin", owner);
			return -1;
		}
		return 0;
	}
	if (!strcmp(u->auth_provider, "gcp"))
		eidf_set_error("%s: the gcp auth plugin has been removed; use the "
			       "\"gke-gcloud-auth-plugin\" client-go credential plugin instead "
			       "(see https://cloud.google.com/blog/products/containers-kubernetes/kubectl-auth-changes-in-gke)",
			       owner);
	else if (!strcmp(u->auth_provider, "azure"))
		eidf_set_error("%s: the azure auth plugin has been removed; use the \"kubelogin\" "
			       "client-go credential plugin instead (see https://go.microsoft.com/fwlink/?linkid=2248057)",
			       owner);
	else
		eidf_set_error("%s: no Auth Provider found for name \"%s\"; use an exec "
			       "credential plugin instead", owner, u->auth_provider);
	return -1;
}

static int resolve_user(const struct kube_flags *fl, const struct kc_user *u,
			const struct kc_cluster *c, struct kube_config *out)
{
	struct strbuf sb = STRBUF_INIT;
	char *owner = u ? owner_of("user", u->name, u->file) : xstrdup("the command line");
	const char *cert_file = NULL, *key_file = NULL;
	const struct strbuf *cert_data = NULL, *key_data = NULL;
	const char *cert_owner = owner, *key_owner = owner;
	const char *flag_token = fl && fl->token && *fl->token ? fl->token : NULL;
	const char *flag_cert = fl && fl->client_certificate && *fl->client_certificate ?
				fl->client_certificate : NULL;
	const char *flag_key = fl && fl->client_key && *fl->client_key ? fl->client_key : NULL;
	int ret = -1;

	if ((fl && fl->username && *fl->username) || (fl && fl->password && *fl->password) ||
	    (u && u->basic_auth)) {
		eidf_set_error("%s: basic authentication (username/password) is not supported by "
			       "kubectl-eidf (Kubernetes removed it); use a token, a client certificate "
			       "or an exec plugin", u && u->basic_auth ? owner : "--username/--password");
		goto out;
	}
	if (u) {
		cert_file = u->cert_file && *u->cert_file ? u->cert_file : NULL;
		key_file = u->key_file && *u->key_file ? u->key_file : NULL;
		cert_data = u->has_cert_data ? &u->cert_data : NULL;
		key_data = u->has_key_data ? &u->key_data : NULL;
	}
	/* a flag replaces the kubeconfig's file, never its -data: both set is refused */
	if (flag_cert)
		cert_file = flag_cert, cert_owner = "--client-certificate";
	if (flag_key)
		key_file = flag_key, key_owner = "--client-key";
	if (cert_file && cert_data) {
		eidf_set_error("%s: client-certificate-data and %s are both specified; remove one",
			       owner, flag_cert ? "--client-certificate" : "client-certificate");
		goto out;
	}
	if (key_file && key_data) {
		eidf_set_error("%s: client-key-data and %s are both specified; remove one",
			       owner, flag_key ? "--client-key" : "client-key");
		goto out;
	}
	if ((cert_file || cert_data) && !(key_file || key_data)) {
		eidf_set_error("%s has a client certificate but no key; add client-key or "
			       "client-key-data (or pass --client-key)", owner);
		goto out;
	}
	if ((key_file || key_data) && !(cert_file || cert_data)) {
		eidf_set_error("%s has a client key but no certificate; add client-certificate or "
			       "client-certificate-data (or pass --client-certificate)", owner);
		goto out;
	}
	if (u && u->auth_provider && check_auth_provider(u, owner) < 0)
		goto out;
	if (cert_file || cert_data) {
		if (read_pem(cert_file, cert_data, "client-certificate", cert_owner, &out->cert_pem, &out->cert_len) < 0 ||
		    read_pem(key_file, key_data, "client-key", key_owner, &out->key_pem, &out->key_len) < 0)
			goto out;
	}

	/* client-go: a token (inline or --token) is sent unless a tokenFile can be
	 * read at request time; a tokenFile alone must be readable now */
	if (flag_token || (u && u->token && *u->token)) {
		out->token = xstrdup(flag_token ? flag_token : u->token);
		out->token_source = flag_token ? xstrdup("the token from --token") :
				    xasprintf("the token of %s", owner);
		if (u && u->token_file && *u->token_file)
			out->token_file = xstrdup(u->token_file);
	} else if (u && u->token_file && *u->token_file) {
		if (read_ref(u->token_file, "tokenFile", owner, &sb) < 0)
			goto out;
		out->token_source = xasprintf("the token in %s", u->token_file);
		if (http_header_check_bytes("Authorization", strbuf_str(&sb), sb.len,
					    out->token_source) < 0)
			goto out;
		out->token = trimmed(sb.buf, sb.len);
		if (!*out->token) {
			eidf_set_error("%s: tokenFile %s is empty; put the bearer token in it", owner,
				       u->token_file);
			goto out;
		}
		out->token_file = xstrdup(u->token_file);
	} else if (u && u->auth_provider) {
		/* oidc, checked above */
		out->token = xstrdup(u->oidc_id_token);
		out->token_source = xasprintf("the oidc id-token of %s", owner);
	}
	/* exec.go: a token or a client certificate takes precedence over the plugin */
	if (u && u->exec && !out->token && !out->cert_pem) {
		out->exec = exec_config_dup(u->exec);
		if (c && c->exec_ext_json)
			out->exec->cluster_config_json = xstrdup(c->exec_ext_json);
	}

	/* impersonation */
	const int as_flag = fl && fl->as && *fl->as;
	const char *as = as_flag ? fl->as : u ? u->as : NULL;
	const char *as_uid = fl && fl->as_uid && *fl->as_uid ? fl->as_uid : u ? u->as_uid : NULL;
	const struct strvec *groups = fl && fl->as_groups.n ? &fl->as_groups : u ? &u->as_groups : NULL;
	if (u && u->extra_keys.n && !(as && *as)) {
		eidf_set_error("%s: requesting user-extra (as-user-extra) without impersonating a "
			       "user; set `as` or pass --as", owner);
		goto out;
	}
	if (as && *as) {
		out->impersonate_user = xstrdup(as);
		out->impersonate_source = as_flag ? xstrdup("the value of --as/--as-group/--as-uid") :
					  xasprintf("the impersonation settings of %s", owner);
		if (as_uid && *as_uid)
			out->impersonate_uid = xstrdup(as_uid);
		for (size_t i = 0; groups && i < groups->n; i++)
			strvec_push(&out->impersonate_groups, groups->v[i]);
		for (size_t i = 0; u && i < u->extra_keys.n; i++) {
			strvec_push(&out->impersonate_extra_keys, u->extra_keys.v[i]);
			strvec_push(&out->impersonate_extra_values, u->extra_values.v[i]);
		}
	} else if ((as_uid && *as_uid) || (groups && groups->n)) {
		eidf_set_error("%s: impersonating a uid or groups requires a user to impersonate; "
			       "pass --as (or set `as` in the kubeconfig user)", owner);
		goto out;
	}
	ret = 0;
out:
	strbuf_release(&sb);
	free(owner);
	return ret;
}

/* rest.DefaultServerURL and url.Parse as kubectl reaches them: no scheme
 * means plain http (whatever the TLS settings), the scheme is
 * case-insensitive, a query or fragment is dropped. */
static int normalize_server(struct kube_config *out, const char *owner)
{
	struct strbuf sb = STRBUF_INIT;
	const char *s = out->server, *sep = strstr(s, "://"), *host;
	size_t l;

	{
		/* url.Parse's userinfo: the authority, up to the path, query or fragment */
		const char *auth = sep ? sep + 3 : s;
		size_t alen = strcspn(auth, "/?#");
		if (memchr(auth, '@', alen)) {
			/* (never printed: it may hold a password) */
			eidf_set_error("%s: the server URL holds a user name or password (USER@HOST), "
				       "which kubectl would send as basic authentication; kubectl-eidf "
				       "does not support basic authentication: remove the USER@ part and "
				       "use a token, a client certificate or an exec plugin", owner);
			return -1;
		}
	}
	out->server_verbatim = xstrdup(s);
	if (!sep) {
		/* clientcmd decides "TLS?" before it adds the CA or insecure flag
		 * (IsConfigTransportTLS), so rest.DefaultServerURL always picks http */
		strbuf_addf(&sb, "http://%s", s);
	} else if ((sep - s == 5 && !strncasecmp(s, "https", 5)) ||
		   (sep - s == 4 && !strncasecmp(s, "http", 4))) {
		strbuf_addstr(&sb, sep - s == 5 ? "https" : "http");
		strbuf_addstr(&sb, sep);
	} else {
		eidf_set_error("%s: server \"%s\" must start with https:// (or http://)", owner, s);
		return -1;
	}
	sb.len = strcspn(sb.buf, "?#");
	sb.buf[sb.len] = '\0';
	host = strstr(sb.buf, "://") + 3;
	if (!*host || *host == '/' || strpbrk(host, " \t") || !http_header_value_valid(host)) {
		eidf_set_error("%s: server \"%s\" is not a valid URL; use https://HOST:PORT", owner, s);
		strbuf_release(&sb);
		return -1;
	}
	while ((l = sb.len) && sb.buf[l - 1] == '/' && sb.buf + l - 1 > host)
		sb.buf[--sb.len] = '\0';
	free(out->server);
	out->server = strbuf_detach(&sb);
	return 0;
}

/* Values that become request headers, checked as early as possible with the
 * rule the client applies to every header (eidf/http_header.h).  A tokenFile
 * replaces the inline token at request time, so that one is checked there. */
static int check_header_values(const struct kube_config *out)
{
	const char *as = out->impersonate_source;

	if (out->token && !out->token_file &&
	    http_header_check("Authorization", out->token, out->token_source ? out->token_source :
			      "the bearer token") < 0)
		return -1;
	if (out->impersonate_user &&
	    http_header_check("Impersonate-User", out->impersonate_user, as) < 0)
		return -1;
	if (out->impersonate_uid &&
	    http_header_check("Impersonate-Uid", out->impersonate_uid, as) < 0)
		return -1;
	for (size_t i = 0; i < out->impersonate_groups.n; i++)
		if (http_header_check("Impersonate-Group", out->impersonate_groups.v[i], as) < 0)
			return -1;
	for (size_t i = 0; i < out->impersonate_extra_values.n; i++)
		if (http_header_check("Impersonate-Extra-", out->impersonate_extra_values.v[i], as) < 0)
			return -1;
	return 0;
}

/* client-go sends no credentials over plain http (the impersonation
 * headers, which are no credential, it still sends). */
static void drop_credentials(struct kube_config *out)
{
	if (out->token) {
		memset(out->token, 0, strlen(out->token));
		free(out->token);
		out->token = NULL;
	}
	free(out->token_file);
	free(out->cert_pem);
	free(out->key_pem);
	out->token_file = out->cert_pem = out->key_pem = NULL;
	out->cert_len = out->key_len = 0;
	exec_config_free(out->exec);
	out->exec = NULL;
	free(out->token_source);
	out->token_source = NULL;
}

int kube_config_load(const struct kube_flags *fl, struct kube_config *out)
{
	struct kc_merged m = { 0 };
	struct strbuf files = STRBUF_INIT;
	const struct kc_context *ctx = NULL;
	const struct kc_cluster *cl = NULL;
	const struct kc_user *us = NULL;
	const char *ctx_name, *cluster_name, *user_name;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (apply_timeout(fl, out) < 0)
		goto out;
	if (load_all(fl, &m) < 0)
		goto out;

	ctx_name = fl && fl->context && *fl->context ? fl->context : m.current_context;
	if (ctx_name) {
		ctx = find_entry(&m.contexts, K_CONTEXT, ctx_name);
		if (!ctx && fl && fl->context && *fl->context) {
			eidf_set_error("context \"%s\" does not exist in %s; run `kubectl config "
				       "get-contexts` to list the contexts", ctx_name, files_desc(&m, &files));
			goto out;
		}
		if (!ctx) {
			eidf_set_error("current-context \"%s\" (from %s) does not exist; run `kubectl config "
				       "use-context NAME` or pass --context", ctx_name,
				       m.current_context_file->path);
			goto out;
		}
	}
	cluster_name = fl && fl->cluster && *fl->cluster ? fl->cluster : ctx ? ctx->cluster : NULL;
	user_name = fl && fl->user && *fl->user ? fl->user : ctx ? ctx->user : NULL;
	if (cluster_name && !*cluster_name)
		cluster_name = NULL;
	if (user_name && !*user_name)
		user_name = NULL;

	if (cluster_name) {
		cl = find_entry(&m.clusters, K_CLUSTER, cluster_name);
		if (!cl && fl && fl->cluster && *fl->cluster) {
			eidf_set_error("cluster \"%s\" does not exist in %s; run `kubectl config "
				       "get-clusters` to list the clusters", cluster_name, files_desc(&m, &files));
			goto out;
		}
	}
	if (user_name) {
		us = find_entry(&m.users, K_USER, user_name);
		if (!us && fl && fl->user && *fl->user) {
			eidf_set_error("user \"%s\" does not exist in %s; run `kubectl config get-users` "
				       "to list the users", user_name, files_desc(&m, &files));
			goto out;
		}
	}

	/* No cluster and no --server: the in-cluster configuration when in a
	 * pod, whatever the context's user and even with KUBERNETES_MASTER set
	 * (kubectl, checked by what it sends in t0023: the service account's
	 * token, the kubeconfig context's namespace, --token and
	 * --certificate-authority applied).  Impersonation (flags or the user's
	 * as...) is the exception: kubectl then leaves in-cluster for
	 * http://localhost:8080, here that is the "no server" error below. */
	if (!cl && !(fl && fl->server && *fl->server)) {
		const char *master = getenv("KUBERNETES_MASTER");
		if (sa_possible(sa_dir()) && !impersonation_flags(fl) &&
		    !(us && ((us->as && *us->as) || us->as_groups.n || (us->as_uid && *us->as_uid) ||
			     us->extra_keys.n))) {
			ret = load_in_cluster(fl, ctx ? ctx->namespace : NULL, out);
			if (ret == 0)
				ret = check_header_values(out);
			goto out;
		}
		if (!(master && *master)) {
			if (cluster_name)
				eidf_set_error("context \"%s\" (in %s) refers to cluster \"%s\", which is not "
					       "defined in %s; add the cluster or fix the context", ctx->name,
					       ctx->file->path, cluster_name, files_desc(&m, &files));
			else if (!m.files.n && m.env_list)
				eidf_set_error("no configuration found: none of the files in KUBECONFIG exist; "
					       "set KUBECONFIG, pass --kubeconfig, or create ~/.kube/config");
			else if (!m.files.n)
				eidf_set_error("no configuration found: set KUBECONFIG, pass --kubeconfig, "
					       "or create ~/.kube/config");
			else if (ctx)
				eidf_set_error("context \"%s\" in %s names no cluster; set its cluster or pass "
					       "--cluster/--server", ctx->name, ctx->file->path);
			else
				eidf_set_error("no context selected: %s has no current-context; run `kubectl "
					       "config use-context NAME` or pass --context", files_desc(&m, &files));
			goto out;
		}
	}
	if (user_name && !us) {
		eidf_set_error("context \"%s\" (in %s) refers to user \"%s\", which is not defined "
			       "in %s; add the user or fix the context", ctx->name, ctx->file->path,
			       user_name, files_desc(&m, &files));
		goto out;
	}
	out->context_name = xstrdup(ctx ? ctx->name : "");
	out->cluster_name = xstrdup(cluster_name ? cluster_name : "");
	out->user_name = xstrdup(user_name ? user_name : "");

	if (resolve_cluster(fl, cl, out) < 0 || resolve_user(fl, us, cl, out) < 0)
		goto out;
	{
		char *owner = cl ? owner_of("cluster", cl->name, cl->file) :
			      xstrdup(fl && fl->server && *fl->server ? "--server" : "KUBERNETES_MASTER");
		int bad = normalize_server(out, owner) < 0;
		free(owner);
		if (bad)
			goto out;
	}
	if (starts_with(out->server, "http://"))
		drop_credentials(out);
	if (check_header_values(out) < 0)
		goto out;

	if (fl && fl->namespace && *fl->namespace) {
		out->namespace = xstrdup(fl->namespace);
		out->namespace_explicit = 1;
	} else if (ctx && ctx->namespace && *ctx->namespace) {
		out->namespace = xstrdup(ctx->namespace);
		out->namespace_explicit = 1;
	} else {
		out->namespace = xstrdup("default");
	}
	ret = 0;
out:
	if (ret < 0) {
		long v = out->verbosity;
		kube_config_release(out);
		out->verbosity = v;
	}
	strbuf_release(&files);
	merged_release(&m);
	return ret;
}

int kube_config_check_credentials(const struct kube_config *cfg)
{
	if (cfg->in_cluster || !starts_with(cfg->server, "https://") || cfg->token ||
	    (cfg->token_file && *cfg->token_file) || cfg->cert_pem || cfg->exec)
		return 0;
	/* kubectl would prompt for a username and password here */
	if (cfg->user_name && *cfg->user_name)
		eidf_set_error("user \"%s\" has no credentials (token, tokenFile, client certificate "
			       "or exec plugin); kubectl would ask for a username and password, which "
			       "kubectl-eidf does not support: add a credential or pass --token",
			       cfg->user_name);
	else
		eidf_set_error("%s%s%s has no user, so there is no credential to send (kubectl would "
			       "ask for a username and password, which kubectl-eidf does not support); "
			       "set the context's user or pass --user or --token",
			       cfg->context_name && *cfg->context_name ? "context \"" : "the configuration",
			       cfg->context_name && *cfg->context_name ? cfg->context_name : "",
			       cfg->context_name && *cfg->context_name ? "\"" : "");
	return -1;
}

void kube_config_names(const struct kube_flags *flags, const char *which, struct strvec *out)
{
	struct kc_merged m = { 0 };
	enum kind k;

	if (!strcmp(which, "contexts"))
		k = K_CONTEXT;
	else if (!strcmp(which, "clusters"))
		k = K_CLUSTER;
	else if (!strcmp(which, "users"))
		k = K_USER;
	else
		return;
	/* a broken later file still leaves the earlier files' names */
	(void)load_all(flags, &m);
	const struct ptrvec *pv = merged_list(&m, k);
	for (size_t i = 0; i < pv->n; i++)
		strvec_push(out, entry_name(k, pv->v[i]));
	merged_release(&m);
}
