/* Kubernetes API client on libcurl.
 *
 * One easy handle per client, reused for every request, so a process makes
 * one TCP+TLS connection (HTTP/2 when the server offers it).  Responses that
 * may be long (watch, logs) are handed to callbacks as bytes arrive.
 *
 * Retries: 429 and 500/502/503/504 on idempotent requests (GET, list, watch,
 * logs, DELETE) up to KC_MAX_TRIES, waiting Retry-After (capped) or a doubling
 * backoff, but never past --request-timeout (the server's answer is then the
 * result, as when client-go's request context ends).  POST and PATCH are never retried after the server answered: a
 * create may have happened.  A 401 with an exec plugin re-runs the plugin
 * once and repeats the request (the server authenticates before doing
 * anything, so this is safe for every verb).
 *
 * tls-server-name: libcurl 7.88 cannot set SNI separately from the URL host,
 * so the URL is built with the tls-server-name as host and CURLOPT_CONNECT_TO
 * maps it to the real host:port; the Host header keeps the real server name
 * (as Go does).  SNI and certificate verification then use tls-server-name.
 *
 * Plain http:// servers: like client-go, requests are sent without any
 * credential (no token, no client certificate, no exec plugin run). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "eidf/http_header.h"
#include "eidf/kstatus.h"
#include "eidf/log_dedup.h"
#include "eidf/kwatch_parser.h"
#include "kclient_internal.h"
#include "eidf/humanize.h"

#ifndef EIDF_VERSION
#define EIDF_VERSION "0.0.0"
#endif

#define KC_MAX_TRIES 5
#define KC_BACKOFF_FIRST_MS 200
#define KC_BACKOFF_MAX_MS 3000
#define KC_RETRY_AFTER_MAX_S 30
#define KC_CONNECT_TIMEOUT_MS 30000
/* long-running mode: the backoff between reconnection attempts, and the
 * timeout of one ordinary request while the server may be away (a server
 * that accepts and never answers is an outage too) */
#define KC_OUTAGE_FIRST_MS 500
#define KC_OUTAGE_MAX_MS 5000
#define KC_LR_REQUEST_TIMEOUT_MS 60000
#define KC_ERROR_BODY_MAX ((size_t)1 << 20)
#define KC_FIELD_MANAGER "kubectl-eidf"

const struct kres KRES_NAMESPACES = { "v1", "namespaces", "Namespace", 0 };
const struct kres KRES_PODS = { "v1", "pods", "Pod", 1 };
const struct kres KRES_PVCS = { "v1", "persistentvolumeclaims", "PersistentVolumeClaim", 1 };
const struct kres KRES_JOBS = { "batch/v1", "jobs", "Job", 1 };
const struct kres KRES_CONFIGMAPS = { "v1", "configmaps", "ConfigMap", 1 };
const struct kres KRES_SECRETS = { "v1", "secrets", "Secret", 1 };
const struct kres KRES_EVENTS = { "v1", "events", "Event", 1 };
const struct kres KRES_STORAGECLASSES = { "storage.k8s.io/v1", "storageclasses", "StorageClass", 0 };
const struct kres KRES_LOCALQUEUES = { "kueue.x-k8s.io/v1beta1", "localqueues", "LocalQueue", 1 };
const struct kres KRES_WORKLOADS = { "kueue.x-k8s.io/v1beta1", "workloads", "Workload", 1 };
const struct kres KRES_SERVICES = { "v1", "services", "Service", 1 };

/* ---- small helpers ------------------------------------------------------------ */

static void add_escaped(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			strbuf_addch(sb, c);
		} else {
			strbuf_addch(sb, '%');
			strbuf_addch(sb, hex[c >> 4]);
			strbuf_addch(sb, hex[c & 15]);
		}
	}
}

static void add_query(struct strbuf *sb, const char *key, const char *value)
{
	if (!value)
		return;
	strbuf_addch(sb, strchr(sb->buf ? sb->buf : "", '?') ? '&' : '?');
	strbuf_addstr(sb, key);
	strbuf_addch(sb, '=');
	add_escaped(sb, value);
}

static void add_query_long(struct strbuf *sb, const char *key, long v)
{
	char num[32];
	snprintf(num, sizeof(num), "%ld", v);
	add_query(sb, key, num);
}

char *kres_path(const struct kres *r, const char *ns, const char *name)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, strchr(r->api_version, '/') ? "/apis/" : "/api/");
	strbuf_addstr(&sb, r->api_version);
	if (r->namespaced && ns && *ns) {
		strbuf_addstr(&sb, "/namespaces/");
		add_escaped(&sb, ns);
	}
	strbuf_addch(&sb, '/');
	strbuf_addstr(&sb, r->plural);
	if (name) {
		strbuf_addch(&sb, '/');
		add_escaped(&sb, name);
	}
	return strbuf_detach(&sb);
}

static int is_aborted(const struct kclient *kc)
{
	return kc->abort_flag && *kc->abort_flag;
}

static void set_interrupted(struct kclient *kc)
{
	kc->last_status = 0;
	free(kc->last_reason);
	kc->last_reason = NULL;
	eidf_set_error("interrupted");
}

/* sleep_ms that ends early when the abort flag is raised (a signal also cuts
 * nanosleep short, but may arrive just before it starts). */
static void kc_sleep_ms(const struct kclient *kc, long ms)
{
	while (ms > 0 && !is_aborted(kc)) {
		long step = ms > 50 ? 50 : ms;
		sleep_ms(step);
		ms -= step;
	}
}

/* libcurl calls this at least once a second, even on a quiet stream. */
static int xferinfo_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return is_aborted(ud) ? 1 : 0;
}

/* ---- client ------------------------------------------------------------------- */

/* The Host header Go writes for a server URL: its authority as written,
 * without userinfo, an IPv6 zone or an empty port (net/http's
 * removeEmptyPort and removeZone).  NULL when there is none. */
static char *go_host_header(const char *server)
{
	const char *a = strstr(server, "://");
	if (!a)
		return NULL;
	a += 3;
	size_t n = strcspn(a, "/?#");
	char *h = xstrndup(a, n), *at = strrchr(h, '@');
	if (at)
		memmove(h, at + 1, strlen(at + 1) + 1);
	char *zone = h[0] == '[' ? strstr(h, "%25") : NULL, *rb = strchr(h, ']');
	if (zone && rb && zone < rb)
		memmove(zone, rb, strlen(rb) + 1);
	size_t l = strlen(h);
	if (l && h[l - 1] == ':')
		h[--l] = '\0';
	if (!l) {
		free(h);
		return NULL;
	}
	return h;
}

/* Split the server URL; with tls-server-name, build the URL on that name and
 * map it to the real address with CONNECT_TO (see the top of the file). */
static int parse_server(struct kclient *kc)
{
	const struct kube_config *cfg = kc->cfg;
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *given_port = NULL, *path = NULL;
	int rc = -1;
	struct strbuf sb = STRBUF_INIT;
	const char *server = cfg->server && *cfg->server ? cfg->server : "http://localhost:8080";

	if (!u || curl_url_set(u, CURLUPART_URL, server, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		eidf_set_error("invalid configuration: server URL \"%s\" is not valid", server);
		goto out;
	}
	curl_url_get(u, CURLUPART_PATH, &path, 0);
	curl_url_get(u, CURLUPART_PORT, &given_port, 0);
	if (strcasecmp(scheme, "https") && strcasecmp(scheme, "http")) {
		eidf_set_error("invalid configuration: server URL \"%s\" must use https:// or http://",
			       server);
		goto out;
	}
	kc->plain_http = !strcasecmp(scheme, "http");
	kc->display_host = xasprintf("%s:%s", host, port);
	kc->host = xstrdup(host);
	kc->port = xstrdup(port);
	/* Go's Host header is the server URL's host as written (no :443 unless
	 * given, an IPv6 address as spelt); libcurl writes its normalised form
	 * without the default port.  Set by hand only where they differ (so that
	 * -v shows no Host header, as kubectl's; the tls-server-name URL below
	 * needs it too). */
	const char *dflt = kc->plain_http ? "80" : "443";
	char *curls = strcmp(port, dflt) ? xasprintf("%s:%s", host, port) : xstrdup(host);
	char *lit = go_host_header(server);
	if (lit && strcmp(lit, curls))
		kc->host_header = lit;
	else
		free(lit);
	free(curls);
	if (!kc->host_header && given_port && !strcmp(given_port, dflt))
		kc->host_header = xasprintf("%s:%s", host, given_port);

	strbuf_addf(&sb, "%s://", kc->plain_http ? "http" : "https");
	if (!kc->plain_http && cfg->tls_server_name && *cfg->tls_server_name &&
	    strcmp(cfg->tls_server_name, host)) {
		char *map = xasprintf("%s:%s:%s:%s", cfg->tls_server_name, port, host, port);
		kc->connect_to = curl_slist_append(NULL, map);
		free(map);
		if (!kc->host_header)
			kc->host_header = given_port ? xasprintf("%s:%s", host, given_port) : xstrdup(host);
		strbuf_addf(&sb, "%s:%s", cfg->tls_server_name, port);
	} else {
		strbuf_addf(&sb, "%s:%s", host, port);
	}
	if (path && strcmp(path, "/"))
		strbuf_addstr(&sb, path);
	while (sb.len && sb.buf[sb.len - 1] == '/')
		sb.buf[--sb.len] = '\0';
	kc->base = strbuf_detach(&sb);
	rc = 0;
out:
	strbuf_release(&sb);
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(given_port);
	curl_free(path);
	curl_url_cleanup(u);
	return rc;
}

struct kclient *kclient_new(const struct kube_config *cfg)
{
	struct kclient *kc;

	/* OpenSSL's atexit clean-up only frees memory the exit frees anyway */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		eidf_set_error("cannot initialise libcurl");
		return NULL;
	}
	kc = xcalloc(1, sizeof(*kc));
	kc->cfg = cfg;
	kc->timeout_ms = cfg->request_timeout_ms;
	kc->verbosity = cfg->verbosity;
	if (parse_server(kc) < 0)
		goto fail;
	kc->curl = curl_easy_init();
	if (!kc->curl) {
		eidf_set_error("cannot initialise libcurl");
		goto fail;
	}
	return kc;
fail:
	kclient_free(kc);
	return NULL;
}

void kclient_free(struct kclient *kc)
{
	if (!kc)
		return;
	if (kc->curl)
		curl_easy_cleanup(kc->curl);
	curl_slist_free_all(kc->connect_to);
	kc_auth_release(kc);
	free(kc->base);
	free(kc->display_host);
	free(kc->host);
	free(kc->port);
	free(kc->env_proxy);
	free(kc->host_header);
	free(kc->last_reason);
	free(kc->lr_subject);
	strvec_clear(&kc->warnings_seen);
	free(kc);
	curl_global_cleanup();
}

void kclient_set_timeout_ms(struct kclient *kc, long ms)
{
	kc->timeout_ms = ms < 0 ? 0 : ms;
}

void kclient_set_abort(struct kclient *kc, volatile sig_atomic_t *flag)
{
	kc->abort_flag = flag;
}

int kclient_aborted(const struct kclient *kc)
{
	return is_aborted(kc);
}

void kclient_set_long_running(struct kclient *kc, long reconnect_ms, const char *subject)
{
	kc->lr_ms = reconnect_ms < 0 ? 0 : reconnect_ms;
	free(kc->lr_subject);
	kc->lr_subject = xstrdup(subject);
	kc->outage_t0 = 0;
	kc->gave_up = 0;
	backoff_init(&kc->outage_bo, KC_OUTAGE_FIRST_MS, KC_OUTAGE_MAX_MS, 0);
}

int kclient_gave_up(const struct kclient *kc)
{
	return kc->gave_up;
}

/* ---- outages (long-running mode) ---------------------------------------------------- */

/* A failure the server may recover from: nothing was wrong with the request. */
static int outage_transport(CURLcode cc)
{
	return cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
	       cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_SSL_CONNECT_ERROR ||
	       cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING ||
	       cc == CURLE_PARTIAL_FILE || cc == CURLE_HTTP2 || cc == CURLE_HTTP2_STREAM;
}

static int outage_status(long s)
{
	return s == 429 || (s >= 500 && s <= 599 && s != 501 && s != 505);
}

/* Short reason for the "lost the API server (...)" line (caller frees). */
static char *outage_reason(struct kclient *kc, CURLcode cc, long status)
{
	long oserr = 0;

	if (status)
		return xasprintf("%ld %s", status, http_status_text(status));
	curl_easy_getinfo(kc->curl, CURLINFO_OS_ERRNO, &oserr);
	if (oserr == ECONNREFUSED)
		return xstrdup("connection refused");
	if (oserr == ECONNRESET)
		return xstrdup("connection reset by peer");
	if (cc == CURLE_OPERATION_TIMEDOUT)
		return xstrdup("timed out");
	if (cc == CURLE_GOT_NOTHING)
		return xstrdup("empty reply from server");
	if (cc == CURLE_PARTIAL_FILE)
		return xstrdup("connection closed mid-response");
	return xstrdup(kc->errbuf[0] ? kc->errbuf : curl_easy_strerror(cc));
}

/* The server answered again: say so once, start the next outage afresh. */
static void outage_over(struct kclient *kc)
{
	if (!kc->outage_t0)
		return;
	fprintf(stderr, "reconnected to the API server %s after %lds\n", kc->display_host,
		(monotonic_ms() - kc->outage_t0 + 500) / 1000);
	kc->outage_t0 = 0;
	backoff_reset(&kc->outage_bo);
}

/* In an outage: say so the first time, then wait before the next attempt
 * (Retry-After when the server gave one).  -1 with the error set once the
 * outage has lasted the reconnect timeout (or on abort). */
static int outage_wait(struct kclient *kc, char *reason, long retry_after_s)
{
	long now = monotonic_ms(), left, wait;

	if (!kc->outage_t0) {
		kc->outage_t0 = now;
		fprintf(stderr, "lost the API server (%s); retrying \u2014 %s keeps running\n", reason,
			kc->lr_subject && *kc->lr_subject ? kc->lr_subject : "the Job");
	}
	left = kc->outage_t0 + kc->lr_ms - now;
	if (left <= 0) {
		kc->gave_up = 1;
		kc->last_status = 0;
		free(kc->last_reason);
		kc->last_reason = NULL;
		eidf_set_error("the API server %s has been unreachable for %lds (%s); gave up "
			       "(--reconnect-timeout)", kc->display_host, (now - kc->outage_t0) / 1000,
			       reason);
		free(reason);
		return -1;
	}
	free(reason);
	/* Retry-After is the earliest the server wants us back; the backoff
	 * keeps pacing a server that says 0 */
	wait = backoff_next(&kc->outage_bo);
	if (retry_after_s >= 0 && retry_after_s * 1000 > wait)
		wait = retry_after_s * 1000;
	kc_sleep_ms(kc, wait < left ? wait : left);
	if (is_aborted(kc)) {
		set_interrupted(kc);
		return -1;
	}
	return 0;
}

long kclient_last_http_status(const struct kclient *kc) { return kc->last_status; }
const char *kclient_last_reason(const struct kclient *kc) { return kc->last_reason; }
long kclient_request_count(const struct kclient *kc) { return kc->requests; }
long kclient_connect_count(const struct kclient *kc) { return kc->connects; }
int kclient_watch_relisted(const struct kclient *kc) { return kc->watch_relisted; }

long kclient_last_http_version(const struct kclient *kc)
{
	long v = 0;

	if (!kc->curl || curl_easy_getinfo(kc->curl, CURLINFO_HTTP_VERSION, &v) != CURLE_OK)
		return 0;
	switch (v) {
	case CURL_HTTP_VERSION_1_0: return 10;
	case CURL_HTTP_VERSION_1_1: return 11;
	case CURL_HTTP_VERSION_2_0: return 20;
	case CURL_HTTP_VERSION_3: return 30;
	default: return 0;
	}
}

/* ---- one request ---------------------------------------------------------------- */

struct kreq {
	const char *method;
	const char *path;           /* with query */
	const char *content_type;
	const char *body;
	size_t body_len;
	int idempotent;
	int stream;                 /* 2xx body goes to cb */
	kdata_cb cb;
	void *ud;
	long timeout_ms;            /* whole transfer; 0 none */
};

struct kresp {
	long status;
	struct strbuf body;         /* whole body, or the error body of a stream */
	struct strbuf headers;      /* "Name: value\n" of the final response */
	long retry_after_s;         /* -1 none */
	int headers_done;
	int cb_stopped;
	size_t delivered;
	CURLcode cc;
	/* for logging the status line when headers arrive */
	struct kclient *kc;
	const char *method;
	const char *url;
	long t0;
};

static void kresp_release(struct kresp *rs)
{
	strbuf_release(&rs->body);
	strbuf_release(&rs->headers);
}

static size_t header_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	struct kresp *rs = ud;
	size_t n = size * nmemb, l = n;

	while (l && (data[l - 1] == '\n' || data[l - 1] == '\r'))
		l--;
	if (l >= 5 && !strncmp(data, "HTTP/", 5)) {
		/* a new response (after 1xx): start over */
		strbuf_reset(&rs->headers);
		rs->retry_after_s = -1;
		rs->status = 0;
		const char *sp = memchr(data, ' ', l);
		if (sp)
			rs->status = strtol(sp + 1, NULL, 10);
		return n;
	}
	if (l == 0) {
		if (rs->status >= 200 && !rs->headers_done) {
			rs->headers_done = 1;
			if (!outage_status(rs->status))
				outage_over(rs->kc);
			klog_response(rs->kc, rs->method, rs->url, rs->status, monotonic_ms() - rs->t0,
				      &rs->headers);
		}
		return n;
	}
	if (l > 12 && !strncasecmp(data, "Retry-After:", 12)) {
		char *v = xstrndup(data + 12, l - 12);
		long s = retry_after_seconds(v, time(NULL));
		if (s >= 0)
			rs->retry_after_s = s;
		free(v);
	}
	if (l > 8 && !strncasecmp(data, "Warning:", 8)) {
		char *v = xstrndup(data + 8, l - 8);
		kwarning_print(rs->kc, v);
		free(v);
	}
	strbuf_add(&rs->headers, data, l);
	strbuf_addch(&rs->headers, '\n');
	return n;
}

struct xfer {
	const struct kreq *rq;
	struct kresp *rs;
};

static size_t write_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	long status = x->rs->status;

	if (!status)
		curl_easy_getinfo(x->rs->kc->curl, CURLINFO_RESPONSE_CODE, &status);
	if (x->rq->stream && status >= 200 && status < 300) {
		x->rs->delivered += n;
		if (x->rq->cb(data, n, x->rq->ud)) {
			x->rs->cb_stopped = 1;
			return 0;   /* aborts the transfer */
		}
		return n;
	}
	if (x->rq->stream && x->rs->body.len + n > KC_ERROR_BODY_MAX)
		return n;   /* keep the start of an error body only */
	strbuf_add(&x->rs->body, data, n);
	return n;
}

static int retryable_status(long s)
{
	return s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

static int retryable_transport(CURLcode cc)
{
	return cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING ||
	       cc == CURLE_PARTIAL_FILE || cc == CURLE_HTTP2 || cc == CURLE_HTTP2_STREAM;
}

/* "400ms", "30s", "1m" (a limit as the user wrote it, more or less) */
static char *limit_text(long ms)
{
	if (ms % 1000 && ms < 10000)
		return xasprintf("%ldms", ms);
	return human_duration((ms + 999) / 1000);
}

static void set_transport_error(struct kclient *kc, const struct kreq *rq, CURLcode cc,
				long timeout_ms)
{
	const char *detail = kc->errbuf[0] ? kc->errbuf : curl_easy_strerror(cc);
	const char *proxy;
	long oserr = 0;

	curl_easy_getinfo(kc->curl, CURLINFO_OS_ERRNO, &oserr);
	kc->last_status = 0;
	free(kc->last_reason);
	kc->last_reason = NULL;
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
		if (oserr == ECONNREFUSED && (proxy = kc->cfg->proxy_url && *kc->cfg->proxy_url ?
					      kc->cfg->proxy_url : kc->env_proxy)) {
			const char *where = proxy == kc->env_proxy ?
					    "HTTPS_PROXY/HTTP_PROXY and NO_PROXY" : "proxy-url in the kubeconfig";
			/* libcurl only ever connected to the proxy; name it, without
			 * any user:password it may carry */
			CURLU *u = curl_url();
			char *host = NULL, *port = NULL;
			if (u && curl_url_set(u, CURLUPART_URL, proxy,
					      CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
			    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
				curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
				eidf_set_error("Unable to connect to the server: the proxy %s%s%s refused "
					       "the connection (check %s)", host,
					       port ? ":" : "", port ? port : "", where);
			} else {
				eidf_set_error("Unable to connect to the server: the proxy refused the "
					       "connection (check %s)", where);
			}
			curl_free(host);
			curl_free(port);
			curl_url_cleanup(u);
			return;
		}
		if (oserr == ECONNREFUSED) {
			eidf_set_error("The connection to the server %s was refused - did you "
				       "specify the right host or port?", kc->display_host);
			return;
		}
		break;
	case CURLE_OPERATION_TIMEDOUT: {
		/* Say which limit expired, with its real value: the connect (and
		 * TLS handshake) limit when the request was never sent, else the
		 * request's own (--request-timeout, or the client's limit). */
		curl_off_t pre = 0;
		long conn = 0; /* the local port is only known once TCP connected */
		curl_easy_getinfo(kc->curl, CURLINFO_PRETRANSFER_TIME_T, &pre);
		curl_easy_getinfo(kc->curl, CURLINFO_LOCAL_PORT, &conn);
		long connect_ms = timeout_ms && timeout_ms < KC_CONNECT_TIMEOUT_MS ? timeout_ms
										: KC_CONNECT_TIMEOUT_MS;
		char *limit;
		if (!pre) {
			limit = limit_text(connect_ms);
			if (conn)
				eidf_set_error("Unable to connect to the server: %s %s: the server accepted the "
					       "connection but did not answer the TLS handshake within %s "
					       "(is it a Kubernetes API server?)", rq->method, kc->display_host, limit);
			else
				eidf_set_error("Unable to connect to the server: %s %s: no connection within %s",
					       rq->method, kc->display_host, limit);
		} else {
			limit = limit_text(timeout_ms);
			eidf_set_error("Unable to connect to the server: %s %s: no answer within %s (%s)",
				       rq->method, kc->display_host, limit,
				       timeout_ms == rq->timeout_ms ? "--request-timeout" : "the client's limit per request");
		}
		free(limit);
		return;
	}
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		eidf_set_error("Unable to connect to the server: %s (check certificate-authority "
			       "and tls-server-name in the kubeconfig)", detail);
		return;
	default:
		break;
	}
	eidf_set_error("Unable to connect to the server: %s", detail);
}

int kc_setup_handle(struct kclient *kc)
{
	const struct kube_config *cfg = kc->cfg;
	CURL *c = kc->curl;

	if (kc->handle_ready)
		return 0;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, kc->errbuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "kubectl-eidf/" EIDF_VERSION);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, kc);
	if (!cfg->disable_compression)
		curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
	if (kc->connect_to)
		curl_easy_setopt(c, CURLOPT_CONNECT_TO, kc->connect_to);
	if (cfg->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	} else {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
		if (cfg->ca_pem && cfg->ca_len) {
			struct curl_blob b = { cfg->ca_pem, cfg->ca_len, CURL_BLOB_COPY };
			/* only the configured CA, like client-go: drop the system bundle */
			curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
			curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
			curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &b);
		}
	}
	/* Go's rules, not libcurl's (which reads ALL_PROXY and matches
	 * NO_PROXY differently): CURLOPT_NOPROXY "" switches libcurl's own
	 * lookup off; client-go uses proxy-url for every request (NO_PROXY
	 * does not apply to it) */
	curl_easy_setopt(c, CURLOPT_NOPROXY, "");
	if (cfg->proxy_url && *cfg->proxy_url) {
		if (kc_proxy_apply(c, cfg->proxy_url, "proxy-url in the kubeconfig") < 0)
			return -1;
	} else {
		/* client-go's transport.New: its own transport (and NO_PROXY CIDR
		 * check) for any TLS setting or an exec plugin, else Go's default */
		int own = (cfg->ca_pem && cfg->ca_len) || (cfg->cert_pem && cfg->key_pem) || cfg->insecure ||
			  (cfg->tls_server_name && *cfg->tls_server_name) || cfg->exec;
		free(kc->env_proxy);
		if (kc_proxy_from_environment(!kc->plain_http, kc->host, kc->port, own, &kc->env_proxy) < 0 ||
		    kc_proxy_apply(c, kc->env_proxy, "the proxy in HTTPS_PROXY/HTTP_PROXY") < 0)
			return -1;
	}
	kc->handle_ready = 1;
	return 0;
}

static void set_method(CURL *c, const struct kreq *rq)
{
	if (rq->body) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
				 strcmp(rq->method, "POST") ? rq->method : NULL);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c, CURLOPT_NOBODY, !strcmp(rq->method, "HEAD") ? 1L : 0L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
				 strcmp(rq->method, "GET") && strcmp(rq->method, "HEAD") ?
				 rq->method : NULL);
	}
}

/* Every header of a request, each value checked by http_header_append()
 * (eidf/http_header.h): a CR/LF in a token or an impersonation value fails
 * the request before anything is sent, as Go's net/http does. */
int kc_request_headers(struct kclient *kc, const char *content_type, const char *token,
		       const char *token_source, struct curl_slist **hdrs)
{
	const struct kube_config *cfg = kc->cfg;
	const char *as_src = cfg->impersonate_source ? cfg->impersonate_source : "--as";
	struct strbuf v = STRBUF_INIT;
	int rc = -1;

	if (http_header_append(hdrs, "Accept", "application/json, */*", "the Accept header") < 0 ||
	    (content_type &&
	     http_header_append(hdrs, "Content-Type", content_type, "the content type") < 0) ||
	    http_header_append(hdrs, "User-Agent", "kubectl-eidf/" EIDF_VERSION, "the user agent") < 0)
		goto out;
	if (token) {
		strbuf_addf(&v, "Bearer %s", token);
		if (http_header_append(hdrs, "Authorization", v.buf,
				       token_source ? token_source : "the bearer token") < 0)
			goto out;
	}
	if (cfg->impersonate_user && *cfg->impersonate_user) {
		if (http_header_append(hdrs, "Impersonate-User", cfg->impersonate_user, as_src) < 0)
			goto out;
		for (size_t i = 0; i < cfg->impersonate_groups.n; i++)
			if (http_header_append(hdrs, "Impersonate-Group", cfg->impersonate_groups.v[i],
					       as_src) < 0)
				goto out;
		if (cfg->impersonate_uid && *cfg->impersonate_uid &&
		    http_header_append(hdrs, "Impersonate-Uid", cfg->impersonate_uid, as_src) < 0)
			goto out;
		for (size_t i = 0; i < cfg->impersonate_extra_keys.n; i++) {
			strbuf_reset(&v);
			strbuf_addstr(&v, "Impersonate-Extra-");
			http_header_escape_key(&v, cfg->impersonate_extra_keys.v[i]);
			http_header_canonical(v.buf);
			if (http_header_append(hdrs, v.buf, cfg->impersonate_extra_values.v[i], as_src) < 0)
				goto out;
		}
	}
	if (kc->host_header &&
	    http_header_append(hdrs, "Host", kc->host_header, "the server URL") < 0)
		goto out;
	*hdrs = curl_slist_append(*hdrs, "Expect:");
	rc = 0;
out:
	/* wipe the token from the scratch buffer */
	if (v.buf)
		memset(v.buf, 0, v.alloc);
	strbuf_release(&v);
	return rc;
}

/* 0: a response arrived (any status; or the callback stopped the stream).
 * -1: transport failure or credential failure (error set, rs->cc). */
static int kc_perform(struct kclient *kc, const struct kreq *rq, struct kresp *rs)
{
	char *url = xasprintf("%s%s", kc->base, rq->path);
	int refreshed = 0, force_refresh = 0, rc = -1;
	long backoff = KC_BACKOFF_FIRST_MS;
	/* --request-timeout bounds the whole request, retries and their waits
	 * included, as the deadline of client-go's request context does */
	long budget_end = rq->timeout_ms && !rq->stream ? monotonic_ms() + rq->timeout_ms : 0;

	memset(rs, 0, sizeof(*rs));
	rs->kc = kc;
	rs->method = rq->method;
	rs->url = url;
	if (kc_setup_handle(kc) < 0) {
		/* never a direct connection instead of the proxy asked for */
		rs->cc = CURLE_BAD_FUNCTION_ARGUMENT;
		rs->url = NULL;
		kc->last_status = 0;
		free(url);
		return -1;
	}

	for (int attempt = 1;; attempt++) {
		struct curl_slist *hdrs = NULL;
		const char *token = NULL, *token_source = NULL;
		struct xfer x = { rq, rs };
		long conns = 0, wait_ms = 0, timeout_ms;

		if (is_aborted(kc)) {
			rs->cc = CURLE_ABORTED_BY_CALLBACK;
			set_interrupted(kc);
			goto out;
		}
		if (kc_auth_prepare(kc, force_refresh, &token, &token_source) < 0) {
			rs->cc = CURLE_LOGIN_DENIED;
			kc->last_status = 0;
			goto out;
		}
		force_refresh = 0;
		if (kc->plain_http && !kc->plain_warned &&
		    (kc->cfg->token || kc->cfg->token_file || kc->cfg->exec || kc->cfg->cert_pem)) {
			kc->plain_warned = 1;
			klog_printf(kc, 1, "not sending credentials to %s over plain http://",
				    kc->display_host);
		}

		if (kc_request_headers(kc, rq->content_type, token, token_source, &hdrs) < 0) {
			/* nothing was sent: a value would have smuggled in headers */
			curl_slist_free_all(hdrs);
			rs->cc = CURLE_BAD_FUNCTION_ARGUMENT;
			kc->last_status = 0;
			goto out;
		}

		curl_easy_setopt(kc->curl, CURLOPT_URL, url);
		curl_easy_setopt(kc->curl, CURLOPT_HTTPHEADER, hdrs);
		set_method(kc->curl, rq);
		curl_easy_setopt(kc->curl, CURLOPT_HEADERDATA, rs);
		curl_easy_setopt(kc->curl, CURLOPT_WRITEDATA, &x);
		timeout_ms = rq->timeout_ms;
		if (kc->lr_ms && !rq->stream && (!timeout_ms || timeout_ms > KC_LR_REQUEST_TIMEOUT_MS))
			timeout_ms = KC_LR_REQUEST_TIMEOUT_MS;
		curl_easy_setopt(kc->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
		curl_easy_setopt(kc->curl, CURLOPT_NOPROGRESS, kc->abort_flag ? 0L : 1L);
		curl_easy_setopt(kc->curl, CURLOPT_CONNECTTIMEOUT_MS,
				 timeout_ms && timeout_ms < KC_CONNECT_TIMEOUT_MS ?
				 timeout_ms : (long)KC_CONNECT_TIMEOUT_MS);

		strbuf_reset(&rs->body);
		strbuf_reset(&rs->headers);
		rs->status = 0;
		rs->retry_after_s = -1;
		rs->headers_done = 0;
		rs->cb_stopped = 0;
		kc->errbuf[0] = '\0';
		klog_request(kc, rq->method, url, hdrs, rq->body, rq->body_len, rq->path);
		rs->t0 = monotonic_ms();
		rs->cc = curl_easy_perform(kc->curl);
		kc->requests++;
		if (curl_easy_getinfo(kc->curl, CURLINFO_NUM_CONNECTS, &conns) == CURLE_OK)
			kc->connects += conns;
		curl_easy_setopt(kc->curl, CURLOPT_HTTPHEADER, NULL);
		curl_slist_free_all(hdrs);
		if (!rs->headers_done)
			klog_response(kc, rq->method, url, rs->status, monotonic_ms() - rs->t0, NULL);

		if (rs->cb_stopped) {
			rc = 0;
			goto out;
		}
		if (rs->cc == CURLE_ABORTED_BY_CALLBACK) {
			set_interrupted(kc);
			goto out;
		}
		if (rs->cc != CURLE_OK && kc->lr_ms && !rs->delivered && outage_transport(rs->cc) &&
		    (rq->idempotent || rs->cc == CURLE_COULDNT_CONNECT) &&
		    !(rq->stream && rs->cc == CURLE_OPERATION_TIMEDOUT && rq->timeout_ms)) {
			/* nothing reached the server (or it is safe to repeat): wait
			 * for it to come back (a stream's own timeout is its end) */
			if (outage_wait(kc, outage_reason(kc, rs->cc, 0), -1) < 0)
				goto out;
			continue;
		}
		if (rs->cc != CURLE_OK) {
			/* one more try only: libcurl already retries a stale reused
			 * connection itself, so repeated failures are real ones */
			if (rq->idempotent && !rs->delivered && retryable_transport(rs->cc) &&
			    attempt < 2) {
				klog_printf(kc, 6, "retrying %s %s after: %s", rq->method, url,
					    kc->errbuf[0] ? kc->errbuf : curl_easy_strerror(rs->cc));
				kc_sleep_ms(kc, backoff);
				backoff = backoff * 2 > KC_BACKOFF_MAX_MS ? KC_BACKOFF_MAX_MS : backoff * 2;
				continue;
			}
			set_transport_error(kc, rq, rs->cc, timeout_ms);
			goto out;
		}
		if (rs->status == 401 && !refreshed && kc_auth_can_refresh(kc)) {
			/* the exec credential expired or was revoked: re-run the plugin once */
			klog_printf(kc, 6, "401 from %s: re-running the exec credential plugin", url);
			refreshed = force_refresh = 1;
			continue;
		}
		if (kc->lr_ms && outage_status(rs->status) && !rs->delivered &&
		    (rq->idempotent || rs->status == 429)) {
			/* 429 means the request was not processed, whatever the verb */
			klog_response_body(kc, rq->path, rs->body.buf, rs->body.len);
			if (outage_wait(kc, outage_reason(kc, rs->cc, rs->status), rs->retry_after_s) < 0) {
				rs->cc = CURLE_OK;
				goto out;
			}
			continue;
		}
		if (rq->idempotent && retryable_status(rs->status) && attempt < KC_MAX_TRIES &&
		    !rs->delivered) {
			if (rs->retry_after_s >= 0) {
				long s = rs->retry_after_s > KC_RETRY_AFTER_MAX_S ?
					 KC_RETRY_AFTER_MAX_S : rs->retry_after_s;
				wait_ms = s * 1000;
				klog_printf(kc, 6, "Got a Retry-After %lds response for attempt %d to %s",
					    s, attempt, url);
			} else {
				wait_ms = backoff;
				backoff = backoff * 2 > KC_BACKOFF_MAX_MS ? KC_BACKOFF_MAX_MS : backoff * 2;
				klog_printf(kc, 6, "retrying %s %s (%ld) in %ld ms, attempt %d",
					    rq->method, url, rs->status, wait_ms, attempt);
			}
			klog_response_body(kc, rq->path, rs->body.buf, rs->body.len);
			if (budget_end && monotonic_ms() + wait_ms > budget_end) {
				/* the retry would come after --request-timeout: the
				 * server's answer is the result, now rather than then */
				klog_printf(kc, 6, "not retrying %s: the wait would pass the request timeout", url);
				rc = 0;
				goto out;
			}
			kc_sleep_ms(kc, wait_ms);
			continue;
		}
		if (!rq->stream || rs->status < 200 || rs->status >= 300)
			klog_response_body(kc, rq->path, rs->body.buf, rs->body.len);
		rc = 0;
		goto out;
	}
out:
	rs->url = NULL;
	free(url);
	return rc;
}

/* Non-2xx -> kubectl-like message; updates the last status/reason. */
static int check_status(struct kclient *kc, const struct kresp *rs)
{
	char *reason = NULL, *msg;

	kc->last_status = rs->status;
	free(kc->last_reason);
	kc->last_reason = NULL;
	if (rs->status >= 200 && rs->status < 300)
		return 0;
	msg = kstatus_message(rs->status, rs->body.buf, rs->body.len, &reason);
	kc->last_reason = reason;
	eidf_set_error("%s", msg);
	free(msg);
	return -1;
}

static int parse_json_body(struct kclient *kc, const char *method, const char *path,
			   const struct kresp *rs, cJSON **out)
{
	cJSON *j = cJSON_ParseWithLength(rs->body.buf ? rs->body.buf : "", rs->body.len);
	if (!j) {
		eidf_set_error("invalid JSON in the server's answer to %s %s%s", method, kc->base, path);
		return -1;
	}
	*out = j;
	return 0;
}

static int simple_request(struct kclient *kc, const char *method, const char *path,
			  const char *content_type, const char *body, size_t body_len,
			  int idempotent, cJSON **out)
{
	struct kreq rq = {
		.method = method, .path = path, .content_type = content_type,
		.body = body, .body_len = body_len, .idempotent = idempotent,
		.timeout_ms = kc->timeout_ms,
	};
	struct kresp rs;
	int rc = -1;

	if (out)
		*out = NULL;
	if (kc_perform(kc, &rq, &rs) < 0 || check_status(kc, &rs) < 0)
		goto out;
	if (out && parse_json_body(kc, method, path, &rs, out) < 0)
		goto out;
	rc = 0;
out:
	kresp_release(&rs);
	return rc;
}

/* ---- typed verbs ------------------------------------------------------------------ */

int kclient_get(struct kclient *kc, const struct kres *r, const char *ns,
		const char *name, cJSON **out)
{
	char *path = kres_path(r, ns, name);
	int rc = simple_request(kc, "GET", path, NULL, NULL, 0, 1, out);
	free(path);
	return rc;
}

static void add_selectors(struct strbuf *sb, const struct klist_opts *o)
{
	if (!o)
		return;
	if (o->label_selector && *o->label_selector)
		add_query(sb, "labelSelector", o->label_selector);
	if (o->field_selector && *o->field_selector)
		add_query(sb, "fieldSelector", o->field_selector);
}

/* List items come without apiVersion/kind; fill them in, first, like kubectl shows. */
static void fill_type_meta(cJSON *item, const struct kres *r)
{
	if (!cJSON_IsObject(item))
		return;
	if (!cJSON_GetObjectItemCaseSensitive(item, "kind")) {
		cJSON *k = cJSON_CreateString(r->kind);
		k->string = xstrdup("kind");
		cJSON_InsertItemInArray(item, 0, k);
	}
	if (!cJSON_GetObjectItemCaseSensitive(item, "apiVersion")) {
		cJSON *v = cJSON_CreateString(r->api_version);
		v->string = xstrdup("apiVersion");
		cJSON_InsertItemInArray(item, 0, v);
	}
}

int kclient_list(struct kclient *kc, const struct kres *r, const char *ns,
		 const struct klist_opts *o, cJSON **out)
{
	char *base = kres_path(r, ns, NULL), *cont = NULL;
	cJSON *result = NULL;
	int rc = -1;

	*out = NULL;
	do {
		struct strbuf path = STRBUF_INIT;
		cJSON *page = NULL, *items, *md, *c;

		strbuf_addstr(&path, base);
		add_selectors(&path, o);
		if (o && o->limit > 0)
			add_query_long(&path, "limit", o->limit);
		if (cont)
			add_query(&path, "continue", cont);
		rc = simple_request(kc, "GET", path.buf, NULL, NULL, 0, 1, &page);
		strbuf_release(&path);
		free(cont);
		cont = NULL;
		if (rc < 0)
			goto out;
		rc = -1;
		items = cJSON_GetObjectItemCaseSensitive(page, "items");
		if (!cJSON_IsObject(page) || (items && !cJSON_IsArray(items) && !cJSON_IsNull(items))) {
			cJSON_Delete(page);
			eidf_set_error("the server's answer to GET %s%s is not a list", kc->base, base);
			goto out;
		}
		if (!cJSON_IsArray(items)) {
			cJSON *arr = cJSON_CreateArray();
			if (items)
				cJSON_ReplaceItemInObjectCaseSensitive(page, "items", arr);
			else
				cJSON_AddItemToObject(page, "items", arr);
			items = arr;
		}
		cJSON_ArrayForEach(c, items)
			fill_type_meta(c, r);
		md = cJSON_GetObjectItemCaseSensitive(page, "metadata");
		if (cJSON_IsObject(md)) {
			const cJSON *ct = cJSON_GetObjectItemCaseSensitive(md, "continue");
			if (cJSON_IsString(ct) && *ct->valuestring)
				cont = xstrdup(ct->valuestring);
		}
		if (!result) {
			result = page;
		} else {
			cJSON *dst = cJSON_GetObjectItemCaseSensitive(result, "items");
			while (items->child) {
				cJSON *it = cJSON_DetachItemViaPointer(items, items->child);
				cJSON_AddItemToArray(dst, it);
			}
			if (cJSON_IsObject(md)) {
				cJSON_ReplaceItemInObjectCaseSensitive(result, "metadata",
					cJSON_DetachItemViaPointer(page, md));
			}
			cJSON_Delete(page);
		}
	} while (cont);
	{
		cJSON *md = cJSON_GetObjectItemCaseSensitive(result, "metadata");
		if (md) {
			cJSON_DeleteItemFromObjectCaseSensitive(md, "continue");
			cJSON_DeleteItemFromObjectCaseSensitive(md, "remainingItemCount");
		}
	}
	*out = result;
	result = NULL;
	rc = 0;
out:
	free(cont);
	free(base);
	cJSON_Delete(result);
	return rc;
}

static char *print_json(const cJSON *obj)
{
	char *s = cJSON_PrintUnformatted(obj), *copy;
	if (!s)
		return NULL;
	copy = xstrdup(s);
	cJSON_free(s);
	return copy;
}

int kclient_create(struct kclient *kc, const struct kres *r, const char *ns,
		   const cJSON *obj, int dry_run, cJSON **out)
{
	struct strbuf path = STRBUF_INIT;
	char *base = kres_path(r, ns, NULL), *body = print_json(obj);
	int rc = -1;

	if (out)
		*out = NULL;
	if (!body) {
		eidf_set_error("cannot serialise the %s to create", r->kind);
		goto out;
	}
	strbuf_addstr(&path, base);
	if (dry_run)
		add_query(&path, "dryRun", "All");
	add_query(&path, "fieldManager", KC_FIELD_MANAGER);
	rc = simple_request(kc, "POST", path.buf, "application/json", body, strlen(body), 0, out);
out:
	strbuf_release(&path);
	free(base);
	free(body);
	return rc;
}

int kclient_delete(struct kclient *kc, const struct kres *r, const char *ns,
		   const char *name, const char *propagation, int dry_run)
{
	char *path = kres_path(r, ns, name), *body;
	cJSON *opts = cJSON_CreateObject();
	int rc;

	cJSON_AddStringToObject(opts, "kind", "DeleteOptions");
	cJSON_AddStringToObject(opts, "apiVersion", "v1");
	if (propagation && *propagation)
		cJSON_AddStringToObject(opts, "propagationPolicy", propagation);
	if (dry_run) {
		cJSON *dr = cJSON_AddArrayToObject(opts, "dryRun");
		cJSON_AddItemToArray(dr, cJSON_CreateString("All"));
	}
	body = print_json(opts);
	cJSON_Delete(opts);
	rc = simple_request(kc, "DELETE", path, "application/json", body, body ? strlen(body) : 0,
			    1, NULL);
	free(body);
	free(path);
	return rc;
}

int kclient_patch_merge(struct kclient *kc, const struct kres *r, const char *ns,
			const char *name, const cJSON *patch, cJSON **out)
{
	struct strbuf path = STRBUF_INIT;
	char *base = kres_path(r, ns, name), *body = print_json(patch);
	int rc = -1;

	if (out)
		*out = NULL;
	if (!body) {
		eidf_set_error("cannot serialise the patch for %s \"%s\"", r->plural, name);
		goto out;
	}
	strbuf_addstr(&path, base);
	add_query(&path, "fieldManager", KC_FIELD_MANAGER);
	rc = simple_request(kc, "PATCH", path.buf, "application/merge-patch+json", body,
			    strlen(body), 0, out);
out:
	strbuf_release(&path);
	free(base);
	free(body);
	return rc;
}

int kclient_request(struct kclient *kc, const char *method, const char *path,
		    const char *content_type, const char *body, size_t body_len,
		    long *out_status, char **out_body)
{
	struct kreq rq = {
		.method = method, .path = path, .content_type = content_type,
		.body = body, .body_len = body_len,
		.idempotent = !strcmp(method, "GET") || !strcmp(method, "HEAD") ||
			      !strcmp(method, "DELETE") || !strcmp(method, "OPTIONS"),
		.timeout_ms = kc->timeout_ms,
	};
	struct kresp rs;
	int rc;

	if (out_status)
		*out_status = 0;
	if (out_body)
		*out_body = NULL;
	if (!path || path[0] != '/') {
		eidf_set_error("request path must start with '/': %s", path ? path : "(null)");
		return -1;
	}
	if (body && !content_type)
		rq.content_type = "application/json";
	rc = kc_perform(kc, &rq, &rs);
	if (rc == 0) {
		if (out_status)
			*out_status = rs.status;
		if (out_body)
			*out_body = strbuf_detach(&rs.body);
		rc = check_status(kc, &rs);
	}
	kresp_release(&rs);
	return rc;
}

/* ---- logs ------------------------------------------------------------------------- */

/* One log request.  *cut is set when the stream broke after data arrived
 * (a transport error, not the server ending it). */
static int logs_once(struct kclient *kc, const char *ns, const char *pod,
		     const struct klog_opts *o, kdata_cb cb, void *ud, int *cut)
{
	struct strbuf path = STRBUF_INIT;
	char *base = kres_path(&KRES_PODS, ns, pod);
	struct kreq rq = {
		.method = "GET", .idempotent = 1, .stream = 1, .cb = cb, .ud = ud,
		.timeout_ms = o && o->follow ? 0 : kc->timeout_ms,
	};
	struct kresp rs;
	int rc = -1;

	*cut = 0;
	strbuf_addf(&path, "%s/log", base);
	if (o) {
		if (o->container && *o->container)
			add_query(&path, "container", o->container);
		if (o->follow)
			add_query(&path, "follow", "true");
		if (o->timestamps)
			add_query(&path, "timestamps", "true");
		if (o->since_time && *o->since_time)
			add_query(&path, "sinceTime", o->since_time);
		if (o->tail_lines >= 0)
			add_query_long(&path, "tailLines", o->tail_lines);
		if (o->limit_bytes > 0)
			add_query_long(&path, "limitBytes", o->limit_bytes);
	}
	rq.path = path.buf;
	if (kc_perform(kc, &rq, &rs) < 0) {
		if (rs.delivered && rs.cc != CURLE_ABORTED_BY_CALLBACK) {
			char *msg = xstrdup(eidf_last_error());
			eidf_set_error("log stream of pod \"%s\" interrupted: %s", pod, msg);
			free(msg);
			*cut = outage_transport(rs.cc);
		}
		goto out;
	}
	if (rs.cb_stopped) {
		rc = 0;
		goto out;
	}
	rc = check_status(kc, &rs);
out:
	kresp_release(&rs);
	strbuf_release(&path);
	free(base);
	return rc;
}

static int dedup_feed_cb(const char *data, size_t len, void *ud)
{
	struct log_dedup *d = ud;
	log_dedup_feed(d, data, len);
	return d->stopped;
}

/* Long-running mode: a followed log that is cut resumes from its last line.
 * The stream is read with timestamps; the reconnection asks for sinceTime
 * and the lines already delivered are skipped (see eidf/log_dedup.h), so
 * the caller sees each line once, with timestamps only if it asked. */
static int logs_resuming(struct kclient *kc, const char *ns, const char *pod,
			 const struct klog_opts *o, kdata_cb cb, void *ud)
{
	struct log_dedup d;
	struct klog_opts lo = *o;
	char *since = NULL;
	int rc, cut;

	log_dedup_init_emit(&d, cb, ud, o->timestamps);
	lo.timestamps = 1;
	for (;;) {
		rc = logs_once(kc, ns, pod, &lo, dedup_feed_cb, &d, &cut);
		if (d.stopped) {
			rc = 0;
			break;
		}
		if (rc == 0) {
			log_dedup_flush(&d);
			break;
		}
		if (!cut || is_aborted(kc) || kc->gave_up)
			break;
		log_dedup_reconnect(&d);
		free(since);
		since = log_dedup_since(&d);
		if (since) {
			/* from the last line on: the tail was already shown */
			lo.since_time = since;
			lo.tail_lines = -1;
			lo.limit_bytes = 0;
		}
		klog_printf(kc, 6, "log stream of pod %s cut; resuming from %s", pod,
			    since ? since : "the start");
	}
	free(since);
	log_dedup_release(&d);
	return rc;
}

int kclient_logs(struct kclient *kc, const char *ns, const char *pod,
		 const struct klog_opts *o, kdata_cb cb, void *ud)
{
	int cut;

	if (kc->lr_ms && o && o->follow)
		return logs_resuming(kc, ns, pod, o, cb, ud);
	return logs_once(kc, ns, pod, o, cb, ud, &cut);
}

/* ---- watch ------------------------------------------------------------------------- */

struct wctx {
	struct kclient *kc;
	const struct kres *r;
	kwatch_cb cb;
	void *ud;
	struct kwatch_parser parser;
	char *rv;
	int user_rc;                /* 1 stop, -1 error from cb */
	int gone;
	int error;                  /* ERROR event or malformed stream */
	long events;
};

static void set_rv(struct wctx *w, const cJSON *obj)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *rv = md ? cJSON_GetObjectItemCaseSensitive(md, "resourceVersion") : NULL;
	if (cJSON_IsString(rv) && *rv->valuestring) {
		free(w->rv);
		w->rv = xstrdup(rv->valuestring);
	}
}

static int watch_event(const cJSON *ev, void *ud)
{
	struct wctx *w = ud;
	const char *type = cJSON_GetObjectItemCaseSensitive(ev, "type")->valuestring;
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
	int rc;

	if (!strcmp(type, "BOOKMARK")) {
		set_rv(w, obj);
		return 0;
	}
	if (!strcmp(type, "ERROR")) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(obj, "code");
		long c = cJSON_IsNumber(code) ? (long)code->valuedouble : 500;
		if (c == 410) {
			w->gone = 1;
		} else {
			char *body = print_json(obj), *reason = NULL;
			char *msg = kstatus_message(c, body, body ? strlen(body) : 0, &reason);
			w->kc->last_status = c;
			free(w->kc->last_reason);
			w->kc->last_reason = reason;
			eidf_set_error("%s", msg);
			free(msg);
			free(body);
			w->error = 1;
		}
		return 2;
	}
	set_rv(w, obj);
	w->events++;
	rc = w->cb(type, obj, w->ud);
	if (rc) {
		w->user_rc = rc > 0 ? 1 : -1;
		return 2;
	}
	return 0;
}

static int watch_data(const char *data, size_t len, void *ud)
{
	struct wctx *w = ud;
	int rc = kwatch_parser_feed(&w->parser, data, len, watch_event, w);
	if (rc == -1)
		w->error = 1;
	return rc;
}

/* The last event may come without its newline when the server ends cleanly. */
static int watch_flush_partial(struct wctx *w)
{
	int rc = 0;
	if (kwatch_parser_has_partial(&w->parser)) {
		cJSON *j = cJSON_ParseWithLength(w->parser.pending.buf, w->parser.pending.len);
		if (j) {
			cJSON_Delete(j);
			rc = kwatch_parser_feed(&w->parser, "\n", 1, watch_event, w);
		}
	}
	strbuf_reset(&w->parser.pending);
	return rc;
}

static int relist(struct wctx *w, const struct klist_opts *o, const char *ns)
{
	struct klist_opts lo = { 0 };
	cJSON *list = NULL, *it;
	const cJSON *md;
	int rc = 0;

	if (o) {
		lo.label_selector = o->label_selector;
		lo.field_selector = o->field_selector;
		lo.limit = o->limit;
	}
	if (kclient_list(w->kc, w->r, ns, &lo, &list) < 0)
		return -1;
	md = cJSON_GetObjectItemCaseSensitive(list, "metadata");
	w->kc->watch_relisted = 1;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(list, "items")) {
		rc = w->cb("ADDED", it, w->ud);
		if (rc) {
			w->user_rc = rc > 0 ? 1 : -1;
			break;
		}
	}
	w->kc->watch_relisted = 0;
	free(w->rv);
	w->rv = NULL;
	if (md)
		set_rv(w, list);
	cJSON_Delete(list);
	return 0;
}

int kclient_watch(struct kclient *kc, const struct kres *r, const char *ns,
		  const struct klist_opts *o, long timeout_ms, kwatch_cb cb, void *ud)
{
	struct wctx w = { .kc = kc, .r = r, .cb = cb, .ud = ud, .parser = KWATCH_PARSER_INIT };
	char *base = kres_path(r, ns, NULL);
	long deadline = timeout_ms > 0 ? monotonic_ms() + timeout_ms : 0;
	int failures = 0, rc = -1;
	long backoff = KC_BACKOFF_FIRST_MS;

	w.rv = o && o->resource_version && *o->resource_version ? xstrdup(o->resource_version) : NULL;
	for (;;) {
		struct strbuf path = STRBUF_INIT;
		struct kreq rq = { .method = "GET", .idempotent = 1, .stream = 1,
				   .cb = watch_data, .ud = &w };
		struct kresp rs;
		long events_before = w.events, remaining = 0;
		int prc;

		if (is_aborted(kc)) {
			set_interrupted(kc);
			break;
		}
		if (deadline) {
			remaining = deadline - monotonic_ms();
			if (remaining <= 0) {
				rc = 1;
				break;
			}
		}
		strbuf_addstr(&path, base);
		add_query(&path, "watch", "1");
		add_selectors(&path, o);
		if (w.rv)
			add_query(&path, "resourceVersion", w.rv);
		if (o && o->allow_bookmarks)
			add_query(&path, "allowWatchBookmarks", "true");
		if (o && o->timeout_seconds > 0)
			add_query_long(&path, "timeoutSeconds", o->timeout_seconds);
		rq.path = path.buf;
		rq.timeout_ms = remaining;
		w.gone = w.error = 0;
		prc = kc_perform(kc, &rq, &rs);
		strbuf_release(&path);

		if (w.user_rc || w.error) {
			rc = w.user_rc > 0 ? 0 : -1;
			kresp_release(&rs);
			break;
		}
		if (prc < 0) {
			/* with a deadline the transfer's timeout is the time left: its
			 * end, not an outage (curl's clock may be a moment ahead) */
			if (rs.cc == CURLE_OPERATION_TIMEDOUT && deadline) {
				rc = 1;
				kresp_release(&rs);
				break;
			}
			if (kc->lr_ms && outage_transport(rs.cc) && !kc->gave_up && !is_aborted(kc)) {
				/* the stream broke (kc_perform rides out the rest): a
				 * stream that broke before any event counts as outage */
				if (w.events == events_before &&
				    outage_wait(kc, outage_reason(kc, rs.cc, 0), -1) < 0) {
					kresp_release(&rs);
					break;
				}
			} else if (rs.cc == CURLE_LOGIN_DENIED || !retryable_transport(rs.cc) ||
			    (w.events == events_before && ++failures >= KC_MAX_TRIES)) {
				kresp_release(&rs);
				break;
			}
		} else if (rs.status == 410) {
			w.gone = 1;
		} else if (!w.gone && check_status(kc, &rs) < 0) {
			kresp_release(&rs);
			break;
		}
		kresp_release(&rs);

		if (w.gone) {
			/* the resourceVersion is too old: list afresh, then watch from there */
			strbuf_reset(&w.parser.pending);
			klog_printf(kc, 6, "watch of %s: resourceVersion %s expired, relisting",
				    r->plural, w.rv ? w.rv : "");
			if (relist(&w, o, ns) < 0)
				break;
			if (w.user_rc) {
				rc = w.user_rc > 0 ? 0 : -1;
				break;
			}
			failures = 0;
			continue;
		}
		/* stream ended (server timeout, or dropped): resume from the last resourceVersion */
		if (watch_flush_partial(&w) != 0 && (w.user_rc || w.error)) {
			rc = w.user_rc > 0 ? 0 : -1;
			break;
		}
		if (w.events > events_before) {
			failures = 0;
			backoff = KC_BACKOFF_FIRST_MS;
		} else {
			kc_sleep_ms(kc, backoff);
			backoff = backoff * 2 > KC_BACKOFF_MAX_MS ? KC_BACKOFF_MAX_MS : backoff * 2;
		}
		klog_printf(kc, 6, "watch of %s ended, resuming from resourceVersion %s",
			    r->plural, w.rv ? w.rv : "(none)");
	}
	kwatch_parser_release(&w.parser);
	free(w.rv);
	free(base);
	return rc;
}
