/* kubeconfig loading with client-go's semantics (tools/clientcmd):
 * --kubeconfig (one file, must exist) | KUBECONFIG list | ~/.kube/config,
 * first definition of a name wins, flag overrides, in-cluster fallback.
 * YAML is parsed with libyaml.  See docs/architecture.md. */
#ifndef EIDF_KUBECONFIG_H
#define EIDF_KUBECONFIG_H

#include <stddef.h>
#include "eidf/util.h"

/* The generic kubectl flags (cli-runtime ConfigFlags), as given. */
struct kube_flags {
	const char *kubeconfig;
	const char *context;
	const char *cluster;
	const char *user;
	const char *namespace;
	const char *server;
	const char *token;
	const char *certificate_authority;
	const char *client_certificate;
	const char *client_key;
	const char *tls_server_name;
	int insecure_skip_tls_verify;  /* -1 unset, 0/1 given */
	const char *as;
	struct strvec as_groups;
	const char *as_uid;
	const char *username;          /* accepted like kubectl's, refused: no basic auth */
	const char *password;
	int disable_compression;       /* 1: --disable-compression (false changes nothing) */
	const char *request_timeout;   /* "30s", "1m", "5" (seconds), "0" */
	long verbosity;                /* -v N */
	int all_namespaces;            /* -A, only where a command supports it */
};

/* An exec credential plugin (client.authentication.k8s.io/v1 or v1beta1). */
struct exec_config {
	char *api_version;
	char *command;                 /* resolved against the kubeconfig dir if it has a '/' */
	struct strvec args;
	struct strvec env;             /* "NAME=value" */
	char *install_hint;
	int provide_cluster_info;
	char *interactive_mode;        /* Never | IfAvailable | Always */
	char *cluster_config_json;     /* cluster extension "client.authentication.k8s.io/exec", or NULL */
};

/* The flattened result: everything the API client needs, nothing else. */
struct kube_config {
	char *context_name;
	char *cluster_name;
	char *user_name;
	char *server;                  /* https://host:port[/path]; never NULL after load */
	char *server_verbatim;         /* as configured (KUBERNETES_EXEC_INFO's server) */
	char *tls_server_name;
	int insecure;
	char *proxy_url;
	int disable_compression;
	char *ca_pem;  size_t ca_len;          /* CA bundle bytes, NULL: system CAs */
	char *cert_pem; size_t cert_len;       /* client certificate (PEM) */
	char *key_pem;  size_t key_len;        /* client key (PEM) */
	char *token;                   /* bearer token (tokenFile content wins) */
	char *token_source;            /* where token came from, for messages */
	char *token_file;              /* re-read when it changes */
	struct exec_config *exec;      /* NULL when none */
	char *impersonate_user;
	struct strvec impersonate_groups;
	char *impersonate_uid;
	struct strvec impersonate_extra_keys;   /* as-user-extra, one entry per value */
	struct strvec impersonate_extra_values;
	char *impersonate_source;      /* "--as" or `user "u" in FILE`, for messages */
	char *namespace;               /* -n, then context, then "default" */
	int namespace_explicit;        /* came from -n or the context (not the fallback) */
	long request_timeout_ms;       /* 0: none */
	long verbosity;
	int in_cluster;
};

/* Load, merge and apply flags.  0 on success, -1 with eidf_last_error()
 * (e.g. `context "nope" does not exist`, `invalid configuration: ...`). */
int kube_config_load(const struct kube_flags *flags, struct kube_config *out);
void kube_config_release(struct kube_config *cfg);

/* Before the first request: an https server and nothing to authenticate with
 * is where kubectl prompts for basic auth; here it is this error instead of
 * an anonymous request.  0 when there is a credential (or plain http). */
int kube_config_check_credentials(const struct kube_config *cfg);

/* Names defined across the effective kubeconfig files, for completion.
 * which: "contexts" | "clusters" | "users". No API call, never fails loudly. */
void kube_config_names(const struct kube_flags *flags, const char *which, struct strvec *out);

#endif
