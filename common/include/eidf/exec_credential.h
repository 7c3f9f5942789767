/* exec credential plugins: run the configured command, parse its
 * ExecCredential reply, cache it in memory until expirationTimestamp. */
#ifndef EIDF_EXEC_CREDENTIAL_H
#define EIDF_EXEC_CREDENTIAL_H

#include <stddef.h>
#include <time.h>
#include "eidf/kubeconfig.h"

struct exec_credential {
	char *token;                   /* bearer token, or NULL */
	char *cert_pem; size_t cert_len; /* clientCertificateData (PEM) */
	char *key_pem;  size_t key_len;  /* clientKeyData (PEM) */
	time_t expires;                /* 0: no expiry */
};

/* Parse an ExecCredential JSON reply (status.token or PEM cert+key).  The
 * apiVersion must match `api_version`.  -1 with eidf_last_error(). */
int exec_credential_parse(const char *json, size_t len, const char *api_version,
			  struct exec_credential *out);

/* Return the cached credential, running the plugin when there is none, it
 * has expired, or force_refresh is set (after a 401).  The cache lives in
 * `cfg` (process memory only).  Errors name the plugin and show its stderr
 * or installHint. */
int exec_credential_get(const struct kube_config *cfg, int force_refresh,
			const struct exec_credential **out);

void exec_credential_release(struct exec_credential *cred);
/* Drop every cached credential (end of process / tests). */
void exec_credential_cache_clear(void);

#endif
