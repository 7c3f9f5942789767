/* Credentials for the API client: client certificates as in-memory blobs,
 * bearer tokens (tokenFile re-read when it changes), exec plugins.
 * Nothing here ever writes key material to disk or to a log. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kclient_internal.h"
#include "eidf/http_header.h"

static int set_client_cert(struct kclient *kc, const char *cert, size_t cert_len,
			   const char *key, size_t key_len)
{
	struct curl_blob cb, kb;

	/* Set on every request: libcurl compares blobs by content when it looks
	 * for a connection to reuse, so an unchanged certificate keeps the
	 * connection and a refreshed one (exec plugin) gets a new handshake. */
	if (cert && cert_len && key && key_len) {
		cb.data = (void *)cert;
		cb.len = cert_len;
		cb.flags = CURL_BLOB_COPY;
		kb.data = (void *)key;
		kb.len = key_len;
		kb.flags = CURL_BLOB_COPY;
		if (curl_easy_setopt(kc->curl, CURLOPT_SSLCERTTYPE, "PEM") != CURLE_OK ||
		    curl_easy_setopt(kc->curl, CURLOPT_SSLCERT_BLOB, &cb) != CURLE_OK ||
		    curl_easy_setopt(kc->curl, CURLOPT_SSLKEYTYPE, "PEM") != CURLE_OK ||
		    curl_easy_setopt(kc->curl, CURLOPT_SSLKEY_BLOB, &kb) != CURLE_OK) {
			eidf_set_error("libcurl does not accept in-memory client certificates "
				       "(needs libcurl >= 7.71 built with OpenSSL)");
			return -1;
		}
	} else {
		curl_easy_setopt(kc->curl, CURLOPT_SSLCERT_BLOB, NULL);
		curl_easy_setopt(kc->curl, CURLOPT_SSLKEY_BLOB, NULL);
	}
	return 0;
}

static void trim_in_place(struct strbuf *sb)
{
	size_t start = 0;
	while (sb->len && strchr(" \t\r\n", sb->buf[sb->len - 1]))
		sb->buf[--sb->len] = '\0';
	while (start < sb->len && strchr(" \t\r\n", sb->buf[start]))
		start++;
	if (start) {
		memmove(sb->buf, sb->buf + start, sb->len - start + 1);
		sb->len -= start;
	}
}

/* client-go re-reads tokenFile periodically; we re-read whenever it changed.
 * -1 (with the error) when its content cannot be a header value: a NUL
 * would cut the C string short, so it is refused here, while the bytes are
 * still counted. */
static int file_token(struct kclient *kc, const char **out)
{
	const char *path = kc->cfg->token_file;
	struct stat st;
	struct strbuf sb = STRBUF_INIT;

	if (stat(path, &st) == 0 && kc->file_token &&
	    st.st_mtim.tv_sec == kc->file_token_mtime &&
	    st.st_mtim.tv_nsec == kc->file_token_mtime_ns &&
	    st.st_size == kc->file_token_size) {
		*out = kc->file_token;
		return 0;
	}
	if (read_file(path, &sb) < 0) {
		strbuf_release(&sb);
		/* keep using the last good token rather than failing mid-run */
		*out = kc->file_token;
		return 0;
	}
	if (memchr(strbuf_str(&sb), '\0', sb.len)) {
		char *src = xasprintf("the token in %s", path);
		http_header_check_bytes("Authorization", strbuf_str(&sb), sb.len, src);
		free(src);
		memset(sb.buf, 0, sb.len);
		strbuf_release(&sb);
		return -1;
	}
	trim_in_place(&sb);
	free(kc->file_token);
	kc->file_token = strbuf_detach(&sb);
	if (stat(path, &st) == 0) {
		kc->file_token_mtime = st.st_mtim.tv_sec;
		kc->file_token_mtime_ns = st.st_mtim.tv_nsec;
		kc->file_token_size = st.st_size;
	}
	*out = kc->file_token;
	return 0;
}

/* client-go's bearer round tripper: the tokenFile's content when it can be
 * read and is not empty, else the token given inline (or by --token). */
static int static_token(struct kclient *kc, const char **token, const char **source)
{
	const struct kube_config *cfg = kc->cfg;
	const char *t = NULL;

	*token = NULL;
	if (cfg->token_file && *cfg->token_file) {
		if (file_token(kc, &t) < 0)
			return -1;
		if (t && *t) {
			free(kc->token_source);
			kc->token_source = xasprintf("the token in %s", cfg->token_file);
			*source = kc->token_source;
			*token = t;
			return 0;
		}
	}
	if (cfg->token && *cfg->token) {
		*source = cfg->token_source ? cfg->token_source : "the bearer token";
		*token = cfg->token;
	}
	return 0;
}

int kc_auth_can_refresh(const struct kclient *kc)
{
	const struct kube_config *cfg = kc->cfg;
	return !kc->plain_http && cfg->exec && !(cfg->token && *cfg->token) &&
	       !(cfg->token_file && *cfg->token_file);
}

int kc_auth_prepare(struct kclient *kc, int force_refresh, const char **token,
		    const char **source)
{
	const struct kube_config *cfg = kc->cfg;
	const char *cert = cfg->cert_pem, *key = cfg->key_pem;
	size_t cert_len = cfg->cert_len, key_len = cfg->key_len;

	*token = NULL;
	*source = NULL;
	if (kc->plain_http)
		/* like client-go: no credential ever goes over plain http:// */
		return set_client_cert(kc, NULL, 0, NULL, 0);

	if (static_token(kc, token, source) < 0)
		return -1;
	if (!*token && cfg->exec) {
		const struct exec_credential *cred = NULL;
		if (exec_credential_get(cfg, force_refresh, &cred) < 0)
			return -1;
		if (cred && cred->token && *cred->token) {
			*token = cred->token;
			free(kc->token_source);
			kc->token_source = xasprintf("the token from exec plugin \"%s\"", cfg->exec->command);
			*source = kc->token_source;
		} else if (cred && cred->cert_pem && cred->key_pem) {
			cert = cred->cert_pem;
			cert_len = cred->cert_len;
			key = cred->key_pem;
			key_len = cred->key_len;
		}
	}
	if (!cert_len && cert)
		cert_len = strlen(cert);
	if (!key_len && key)
		key_len = strlen(key);
	return set_client_cert(kc, cert, cert_len, key, key_len);
}

void kc_auth_release(struct kclient *kc)
{
	free(kc->file_token);
	kc->file_token = NULL;
	free(kc->token_source);
	kc->token_source = NULL;
}
