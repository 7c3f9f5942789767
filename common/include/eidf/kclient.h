/* Kubernetes API client on libcurl: one easy handle (one TLS connection)
 * per process, typed helpers for the verbs the stages use, watches and log
 * streams delivered incrementally, kubectl-like errors and -v logging.
 *
 * Every function returns 0 on success and -1 on failure with a kubectl-like
 * message in eidf_last_error(), e.g.
 *   Error from server (NotFound): persistentvolumeclaims "data" not found
 * and the HTTP status / Status.reason available from kclient_last_*(). */
#ifndef EIDF_KCLIENT_H
#define EIDF_KCLIENT_H

#include <signal.h>
#include <stddef.h>
#include <cjson/cJSON.h>
#include "eidf/kubeconfig.h"

struct kclient;

/* A resource type: group/version, plural, namespaced. */
struct kres {
	const char *api_version;       /* "v1", "batch/v1", "kueue.x-k8s.io/v1beta1" */
	const char *plural;            /* "persistentvolumeclaims" */
	const char *kind;              /* "PersistentVolumeClaim" */
	int namespaced;
};
extern const struct kres KRES_NAMESPACES, KRES_PODS, KRES_PVCS, KRES_JOBS,
	KRES_CONFIGMAPS, KRES_SECRETS, KRES_EVENTS, KRES_STORAGECLASSES,
	KRES_LOCALQUEUES, KRES_WORKLOADS, KRES_SERVICES;

struct klist_opts {
	const char *label_selector;
	const char *field_selector;
	long limit;                    /* page size; kclient_list follows continue */
	const char *resource_version;  /* for watch resume */
	long timeout_seconds;          /* watch only */
	int allow_bookmarks;
};

/* Create a client for a loaded config (the config must outlive it).
 * No network traffic happens until the first request. */
struct kclient *kclient_new(const struct kube_config *cfg);
void kclient_free(struct kclient *kc);

/* Override the request timeout (ms, 0 = none), e.g. for completion. */
void kclient_set_timeout_ms(struct kclient *kc, long ms);

/* Abort switch, e.g. set by a signal handler: while *flag is non-zero every
 * request (including a quiet watch or log stream, checked at least once a
 * second, and retry waits) ends promptly with -1 and eidf_last_error()
 * "interrupted" (HTTP status 0); nothing is retried.  NULL turns it off.
 * The client stays usable: clear the flag and make more requests. */
void kclient_set_abort(struct kclient *kc, volatile sig_atomic_t *flag);
int kclient_aborted(const struct kclient *kc);

/* Long-running mode, for commands that wait, follow or watch (see
 * eidf/waiting.h, which turns it on): a request that meets an outage —
 * connection refused, reset or timed out, 5xx, 429 — is repeated with
 * capped exponential backoff and jitter (Retry-After honoured) instead of
 * failing, for up to reconnect_ms; a watch resumes from its last
 * resourceVersion and a followed log from its last line, nothing lost or
 * repeated.  stderr gets one line when the server is lost ("lost the API
 * server (connection refused); retrying — SUBJECT keeps running") and one
 * when it is back.  Requests that may have changed something (POST, PATCH
 * answered with 5xx) are never repeated.  After reconnect_ms the request
 * fails and kclient_gave_up() is true.  reconnect_ms 0: fail fast (default). */
void kclient_set_long_running(struct kclient *kc, long reconnect_ms, const char *subject);
int kclient_gave_up(const struct kclient *kc);

int kclient_get(struct kclient *kc, const struct kres *r, const char *ns,
		const char *name, cJSON **out);
/* Lists all pages into one List object ({"items":[...], "metadata":{...}}). */
int kclient_list(struct kclient *kc, const struct kres *r, const char *ns,
		 const struct klist_opts *o, cJSON **out);
/* dry_run: 0, or 1 for server-side dryRun=All. out may be NULL. */
int kclient_create(struct kclient *kc, const struct kres *r, const char *ns,
		   const cJSON *obj, int dry_run, cJSON **out);
/* propagation: "Background" | "Foreground" | "Orphan" | NULL. */
int kclient_delete(struct kclient *kc, const struct kres *r, const char *ns,
		   const char *name, const char *propagation, int dry_run);
int kclient_patch_merge(struct kclient *kc, const struct kres *r, const char *ns,
			const char *name, const cJSON *patch, cJSON **out);

/* Watch: cb gets each event (ADDED/MODIFIED/DELETED; BOOKMARKs are consumed
 * internally to advance the resourceVersion).  The object is owned by the
 * caller of cb only for the duration of the call.  Return from cb: 0 keep
 * going, 1 stop (kclient_watch returns 0), -1 error (returns -1).  A dropped
 * stream is resumed from the last resourceVersion; 410 Gone triggers a fresh
 * list (delivered as ADDED events with `relisted` set) and watch again.  The
 * watch ends when timeout_ms elapses (returns 1) or cb says stop. */
typedef int (*kwatch_cb)(const char *type, const cJSON *object, void *ud);
int kclient_watch(struct kclient *kc, const struct kres *r, const char *ns,
		  const struct klist_opts *o, long timeout_ms, kwatch_cb cb, void *ud);
/* True while cb is being called with the ADDED events of a relist (after
 * 410 Gone): objects deleted meanwhile get no DELETED event, so a caller
 * keeping state reconciles against the relisted set. */
int kclient_watch_relisted(const struct kclient *kc);

/* Pod logs, streamed: cb receives raw bytes as they arrive (return non-zero
 * to stop).  Returns 0 when the server ended the stream normally. */
struct klog_opts {
	const char *container;
	int follow;
	int timestamps;
	const char *since_time;        /* RFC 3339 */
	long tail_lines;               /* -1: all */
	long limit_bytes;              /* 0: none */
};
typedef int (*kdata_cb)(const char *data, size_t len, void *ud);
int kclient_logs(struct kclient *kc, const char *ns, const char *pod,
		 const struct klog_opts *o, kdata_cb cb, void *ud);

/* Raw request for anything else (path starts with "/"); body may be NULL.
 * The response body is returned in *out_body (caller frees) when non-NULL.
 * Returns -1 on a transport error or a non-2xx status (kubectl-like message
 * set; *out_status and *out_body are still filled for HTTP errors).  GET,
 * HEAD, DELETE and OPTIONS are retried like the typed verbs. */
int kclient_request(struct kclient *kc, const char *method, const char *path,
		    const char *content_type, const char *body, size_t body_len,
		    long *out_status, char **out_body);

/* Details of the last failed request. */
long kclient_last_http_status(const struct kclient *kc);
const char *kclient_last_reason(const struct kclient *kc);   /* Status.reason, e.g. "NotFound" */

/* Counters for tests and benchmarks. */
long kclient_request_count(const struct kclient *kc);
long kclient_connect_count(const struct kclient *kc);      /* new TCP/TLS connections */
/* HTTP version of the last response: 10, 11, 20 (HTTP/2), 30; 0 when none. */
long kclient_last_http_version(const struct kclient *kc);

/* Build "/api/v1/namespaces/ns/pods/name" style paths (caller frees). */
char *kres_path(const struct kres *r, const char *ns, const char *name);

#endif
