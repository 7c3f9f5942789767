/* Private to kclient.c, kclient_auth.c and kclient_log.c. */
#ifndef EIDF_KCLIENT_INTERNAL_H
#define EIDF_KCLIENT_INTERNAL_H

#include <time.h>
#include <curl/curl.h>

#include "eidf/backoff.h"
#include "eidf/kclient.h"
#include "eidf/exec_credential.h"
#include "eidf/util.h"

struct kclient {
	const struct kube_config *cfg;
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
	long timeout_ms;
	long verbosity;

	char *base;                 /* URL prefix requests are made to (no trailing '/') */
	char *display_host;         /* host:port of the server, for messages */
	char *host, *port;           /* the server's real host (as in the URL) and port */
	char *env_proxy;            /* proxy picked from the environment, or NULL */
	char *token_source;         /* kc_auth_prepare's last source text */
	char *host_header;          /* "Host: ..." when tls-server-name rewrote the URL */
	struct curl_slist *connect_to;
	int plain_http;             /* http:// server: no credentials are sent */
	int handle_ready;
	int plain_warned;
	volatile sig_atomic_t *abort_flag; /* kclient_set_abort() */

	/* credentials */
	char *file_token;           /* tokenFile content */
	time_t file_token_mtime;
	long file_token_mtime_ns;
	off_t file_token_size;
	int refreshed;              /* exec plugin re-run for the current request */

	/* long-running mode (kclient_set_long_running) */
	long lr_ms;                 /* reconnect timeout; 0: fail fast */
	char *lr_subject;           /* what keeps running, for the message */
	long outage_t0;             /* monotonic ms the current outage began; 0: none */
	struct backoff outage_bo;
	int gave_up;                /* the last request failed for lr_ms */

	struct strvec warnings_seen; /* Warning: headers already printed */

	/* results */
	long last_status;
	char *last_reason;
	long requests;
	long connects;
	int watch_relisted;
};

/* kclient.c: the options every request shares (TLS, CA, proxy, CONNECT_TO),
 * set once on kc->curl; and every header of a request (Accept, User-Agent,
 * the bearer token, impersonation, Host), each value checked. */
int kc_setup_handle(struct kclient *kc);   /* -1: a proxy URL that is no URL (error set) */
int kc_request_headers(struct kclient *kc, const char *content_type, const char *token,
		       const char *token_source, struct curl_slist **hdrs);

/* kclient_auth.c: set the TLS client certificate on the handle and put the
 * bearer token (or nothing) in *token.  force_refresh re-runs an exec plugin. */
/* The proxy Go's http.ProxyFromEnvironment picks for a server (its real
 * host, never tls-server-name, and port): malloc'd URL, or NULL for direct. */
/* The proxy kubectl would use for the server (NULL in *out: none); -1 with
 * the error set where kubectl refuses (HTTP_PROXY under CGI).  own_transport:
 * client-go builds a transport of its own (any TLS setting or an exec
 * plugin), which adds its NO_PROXY CIDR check. */
int kc_proxy_from_environment(int https, const char *host, const char *port, int own_transport, char **out);
/* CURLOPT_PROXY for proxy (NULL or "": none), its user:password (decoded,
 * as Go's url.Parse does) given to libcurl apart: libcurl ignores a proxy
 * URL whose decoded credentials hold a control character and connects
 * directly.  -1 (error naming WHAT, never the URL) when it is no URL. */
int kc_proxy_apply(CURL *c, const char *proxy, const char *what);

/* token: the bearer token to send (NULL: none); source: where it came from,
 * for messages (never the token itself). */
int kc_auth_prepare(struct kclient *kc, int force_refresh, const char **token,
		    const char **source);
/* True when a 401 may be cured by re-running the exec plugin. */
int kc_auth_can_refresh(const struct kclient *kc);
void kc_auth_release(struct kclient *kc);

/* kclient_log.c: -v logging like kubectl's round_trippers (to stderr). */
void klog_printf(const struct kclient *kc, long level, const char *fmt, ...) EIDF_PRINTF(3, 4);
void klog_request(const struct kclient *kc, const char *method, const char *url,
		  const struct curl_slist *headers, const char *body, size_t body_len,
		  const char *path);
void klog_response(const struct kclient *kc, const char *method, const char *url,
		   long status, long ms, const struct strbuf *resp_headers);
void klog_response_body(const struct kclient *kc, const char *path,
			const char *body, size_t len);
/* A copy of a JSON body fit for logs: Secret values masked (caller frees). */
char *klog_safe_body(const char *path, const char *body, size_t len);
const char *http_status_text(long code);

/* kwarning.c: Warning: response headers.  parse: the code-299 texts appended
 * to texts, their number returned (-1 when malformed; texts before the bad
 * part are kept).  print: each text once per client, "Warning: TEXT". */
int kwarning_parse(const char *value, struct strvec *texts);
void kwarning_print(struct kclient *kc, const char *value);

#endif
