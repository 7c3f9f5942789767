/* kubectl eidf fetch: resumable, verified, parallel downloads into a PVC by
 * a Job that keeps running when the user disconnects.
 *
 *   fetch URL... --pvc NAME [flags]    create the Job, return at once
 *   fetch status|list|logs|wait|delete
 *
 * The Job runs fetch-job.sh (embedded) with the URL list delivered as data
 * (env var, ConfigMap, or a Secret when a URL carries a query string), never
 * as shell text; see docs/fetch.md. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "eidf/log_merge.h"
#include "eidf/http_header.h"
#include "eidf/waiting.h"
#include "eidf/stage_options.h"
#include "eidf/cmd.h"
#include "eidf/humanize.h"
#include "eidf/job_list.h"
#include "eidf/kclient.h"
#include "eidf/manifest.h"
#include "eidf/options.h"
#include "eidf/output.h"
#include "eidf/quantity.h"
#include "eidf/settings.h"
#include "eidf/util.h"
#include "fetch_progress.h"
#include "fetch_spec.h"
#include "job_view.h"
#include "source.h"
#include "python_fetch_extract.h"
#include "script_fetch_extract.h"
#include "script_fetch_job.h"
#include "settings_keys.h"

static const char *opt_pvc, *opt_dest, *opt_sha256, *opt_checksums, *opt_from_file;
static const char *opt_image, *opt_extract_image, *opt_cpu, *opt_memory, *opt_header_secret, *opt_name;
static const char *opt_mount, *opt_dry_run, *opt_output, *opt_timeout, *opt_ttl;
static struct strvec opt_headers = STRVEC_INIT;
static long opt_parallel = 1, opt_retries = 10, opt_backoff_limit = 3;
static long opt_interval = 5, opt_tail = -1, opt_index = -1;
static int opt_extract, opt_wait, opt_watch, opt_follow, opt_completed, opt_no_headers;
static int opt_all_finished, opt_purge_partial;
static const char *opt_s3_endpoint, *opt_s3_region, *opt_s3_secret, *opt_s3_profile, *opt_s3_addressing;
static struct strvec opt_include = STRVEC_INIT, opt_exclude = STRVEC_INIT;
static const char *opt_hf_endpoint, *opt_hf_token_secret, *opt_segments;
static long opt_segment_chunk;
/* what the listed sources resolved to, for the Job's annotation */
static struct strvec sources_ann = STRVEC_INIT;
static const char *const s3_addressing_values[] = { "auto", "path", "virtual", NULL };

static void complete_jobs(const char *prefix, struct strvec *out, void *ctx);

#define OPT_TIMEOUT() OPT_DURATION(0, "timeout", &opt_timeout, \
				   "stop waiting after this long, exit 124; the job goes on (0 = forever)", "0")

static const struct option create_opts[] = {
	{ .type = OPT_TYPE_STRING, .long_name = "pvc", .value = &opt_pvc, .argh = "name",
	  .help = "PVC that receives the files", .flags = OPT_REQUIRED, .complete = COMPLETE_PVC },
	OPT_STRING(0, "dest", &opt_dest, "dir", "directory inside the PVC (default: its root)", COMPLETE_NONE),
	OPT_STRING(0, "from-file", &opt_from_file, "list",
		   "read URLs from a file: URL [SHA256|-] [NAME] per line, # comments ('-': stdin)", COMPLETE_FILE),
	OPT_STRING(0, "sha256", &opt_sha256, "hex", "expected sha256 of the single URL", COMPLETE_NONE),
	OPT_STRING(0, "checksums", &opt_checksums, "file",
		   "sha256sum-style file with the digests of every file", COMPLETE_FILE),
	OPT_STRING(0, "name", &opt_name, "name", "file name for the single URL (default: from the URL)", COMPLETE_NONE),
	OPT_BOOL(0, "extract", &opt_extract,
		 "unpack zip/tar/tar.gz/tar.xz/tar.bz2/tar.zst archives after verification, refusing unsafe ones"),
	OPT_INT(0, "parallel", &opt_parallel, "N", "pods downloading in parallel (Indexed Job)", 1, 100),
	OPT_STRING(0, "segments", &opt_segments, "N|auto",
		   "split each file into N byte ranges over N connections (auto: files >= 64MiB when the "
		   "server answers ranges, one per 16MiB, at most 8); "
		   "with --parallel, spread over the pods", COMPLETE_NONE),
	{ .type = OPT_TYPE_INT, .long_name = "segment-chunk", .value = &opt_segment_chunk, .argh = "bytes",
	  .help = "bytes per range request of a segment (what a killed pod can lose)", .flags = OPT_HIDDEN,
	  .min = 65536, .max = 1L << 40 },
	OPT_LIST(0, "header", &opt_headers, "'Name: value'",
		 "request header (stored in the Job: use --header-secret for tokens)", COMPLETE_NONE),
	OPT_STRING(0, "header-secret", &opt_header_secret, "secret",
		   "Secret whose keys are header names and values header values", COMPLETE_NONE),
	OPT_GROUP("Listed sources (s3://BUCKET/PREFIX, hf://[datasets/|spaces/]ORG/NAME[@REV][/PATH])"),
	OPT_LIST(0, "include", &opt_include, "glob", "only the listed files whose path matches (repeatable)",
		 COMPLETE_NONE),
	OPT_LIST(0, "exclude", &opt_exclude, "glob", "skip the listed files whose path matches (repeatable)",
		 COMPLETE_NONE),
	OPT_STRING(0, "s3-endpoint", &opt_s3_endpoint, "url",
		   "S3 service URL (setting fetch.s3-endpoint; default AWS for --s3-region)", COMPLETE_NONE),
	OPT_STRING(0, "s3-region", &opt_s3_region, "region",
		   "region that signatures name (setting fetch.s3-region, AWS_REGION; default us-east-1)",
		   COMPLETE_NONE),
	OPT_STRING(0, "s3-secret", &opt_s3_secret, "secret",
		   "Secret with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY [, AWS_SESSION_TOKEN] for the Job",
		   COMPLETE_NONE),
	OPT_STRING(0, "s3-profile", &opt_s3_profile, "name",
		   "~/.aws/credentials profile for the listing (default: env, then AWS_PROFILE or default)",
		   COMPLETE_NONE),
	OPT_ENUM(0, "s3-addressing", &opt_s3_addressing, "style",
		 "bucket in the path or in the host name (setting fetch.s3-addressing; default auto)",
		 s3_addressing_values),
	OPT_STRING(0, "hf-token-secret", &opt_hf_token_secret, "secret",
		   "Secret with HF_TOKEN: the Job's Hugging Face token (gated/private repos)", COMPLETE_NONE),
	OPT_STRING(0, "hf-endpoint", &opt_hf_endpoint, "url",
		   "Hub or mirror URL (setting fetch.hf-endpoint, HF_ENDPOINT; default https://huggingface.co)",
		   COMPLETE_NONE),
	OPT_GROUP("Job"),
	OPT_STRING(0, "image", &opt_image, "image", "image with sh and curl (default alpine/curl:latest)", COMPLETE_IMAGE),
	{ .type = OPT_TYPE_STRING, .long_name = "extract-image", .value = &opt_extract_image, .argh = "image",
	  .help = "image with sh and Python 3 that runs --extract (setting fetch.extract-image)",
	  .defval = FETCH_DEFAULT_EXTRACT_IMAGE, .complete = COMPLETE_IMAGE },
	{ .type = OPT_TYPE_STRING, .long_name = "cpu", .value = &opt_cpu, .argh = "quantity",
	  .help = "cpu request = limit (setting fetch.cpu)", .defval = "1" },
	{ .type = OPT_TYPE_SIZE, .long_name = "memory", .value = &opt_memory, .argh = "size",
	  .help = "memory request = limit (setting fetch.memory)", .defval = "1Gi" },
	OPT_DURATION(0, "ttl", &opt_ttl, "delete the Job this long after it finishes (setting fetch.ttl)", "30m"),
	OPT_INT(0, "retries", &opt_retries, "N", "download attempts per file within a pod", 1, 10000),
	OPT_INT(0, "backoff-limit", &opt_backoff_limit, "N", "pod restarts, each resuming", 0, 1000),
	OPT_STRING(0, "mount", &opt_mount, "path", "where the PVC is mounted in the pod (default /mnt/ceph)", COMPLETE_NONE),
	{ .type = OPT_TYPE_INT, .long_name = "progress-interval", .value = &opt_interval, .argh = "seconds",
	  .help = "seconds between progress lines in the log", .flags = OPT_HIDDEN, .min = 1, .max = 3600 },
	OPT_GROUP("Output"),
	OPT_BOOL(0, "wait", &opt_wait, "block until the download finishes, showing progress"),
	OPT_BOOL(0, "watch", &opt_watch, "show live progress bars until the download finishes"),
	OPT_TIMEOUT(),
	OPT_DRY_RUN(&opt_dry_run), OPT_OUTPUT(&opt_output),
	OPT_INCLUDE(wait_options),
	OPT_GROUP("Job policy"), OPT_INCLUDE(policy_options),
	OPT_INCLUDE(kube_options), OPT_END(),
};
static const char *const status_formats[] = { "wide", NULL };
static const struct option status_opts[] = {
	OPT_BOOL('w', "watch", &opt_watch, "redraw until every job has finished"),
	OPT_BOOL(0, "no-headers", &opt_no_headers, "do not print the table header"),
	OPT_ENUM('o', "output", &opt_output, "format", "wide: list every failed file", status_formats),
	OPT_INCLUDE(wait_options), OPT_INCLUDE(kube_options), OPT_END(),
};
static const struct option list_opts[] = {
	OPT_BOOL(0, "no-headers", &opt_no_headers, "do not print the table header"),
	OPT_OUTPUT(&opt_output),
	OPT_INCLUDE(kube_options), OPT_END(),
};
static const struct option logs_opts[] = {
	OPT_BOOL('f', "follow", &opt_follow, "stream the log until the pod ends"),
	OPT_INT(0, "tail", &opt_tail, "lines", "only the last N lines", -1, 100000000),
	{ .type = OPT_TYPE_INT, .long_name = "index", .value = &opt_index, .argh = "i",
	  .help = "pod of this completion index (parallel fetches; default: every pod)", .min = -1, .max = 999,
	  .defval = "-1" },
	OPT_INCLUDE(wait_options), OPT_INCLUDE(kube_options), OPT_END(),
};
static const struct option wait_opts[] = {
	OPT_TIMEOUT(),
	OPT_INCLUDE(wait_options), OPT_INCLUDE(kube_options), OPT_END(),
};
static const struct option delete_opts[] = {
	OPT_BOOL(0, "completed", &opt_completed, "delete every fetch Job that completed successfully"),
	OPT_BOOL(0, "finished", &opt_all_finished, "delete every fetch Job that has finished (complete or failed)"),
	OPT_BOOL(0, "purge-partial", &opt_purge_partial,
		 "first remove the .part files the job left on the PVC (runs a small Job)"),
	OPT_DRY_RUN(&opt_dry_run),
	OPT_INCLUDE(kube_options), OPT_END(),
};

/* ---- helpers ------------------------------------------------------------- */

static long poll_ms(void)
{
	const char *e = getenv("EIDF_FETCH_POLL_MS");
	long v = e ? strtol(e, NULL, 10) : 0;
	return v > 0 ? v : 2000;
}

static char *random_id(void)
{
	unsigned char b[5];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		unsigned long x = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16);
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (unsigned char)(x >> (8 * i));
	}
	return xasprintf("%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4]);
}

static int is_fetch_job(const cJSON *job)
{
	/* label keys hold dots: look them up directly, not by dotted path */
	const cJSON *v = cJSON_GetObjectItem(json_get(job, "metadata.labels"), LABEL_STAGE);
	return cJSON_IsString(v) && !strcmp(v->valuestring, "fetch");
}

/* "Name: value": a token name and a value without control characters, by the
 * same rule as every header the API client sends (eidf/http_header.h). */
static int header_check(const char *h)
{
	const char *colon = strchr(h, ':');
	if (!colon || colon == h) {
		eidf_set_error("header \"%s\" must look like 'Name: value'", h);
		return -1;
	}
	if (!http_header_name_valid(h, (size_t)(colon - h))) {
		eidf_set_error("header name \"%.*s\" contains an invalid character", (int)(colon - h), h);
		return -1;
	}
	if (!http_header_value_valid(colon + 1)) {
		eidf_set_error("header \"%.*s\" contains a newline or control character",
			       (int)(colon - h), h);
		return -1;
	}
	return 0;
}

/* ---- job views ---------------------------------------------------------- */

/* BYTES: done/total when every file's size is known, else done/? */
static char *bytes_cell(const struct fetch_view *v)
{
	char *d = human_bytes(v->prog.bytes);
	if (!v->sizes_known || !v->prog.total) {
		char *r = xasprintf("%s/?", d);
		free(d);
		return r;
	}
	char *t = human_bytes(v->prog.total);
	char *r = xasprintf("%s/%s", d, t);
	free(d);
	free(t);
	return r;
}

static char *rate_cell(const struct fetch_progress *p)
{
	if (!p->rate)
		return xstrdup("-");
	char *r = human_bytes(p->rate);
	char *s = xasprintf("%s/s", r);
	free(r);
	return s;
}

static char *eta_cell(const struct fetch_view *v)
{
	long eta = v->sizes_known ? fetch_progress_eta(&v->prog) : -1;
	return eta < 0 ? xstrdup("-") : human_duration(eta);
}

static char *files_cell(const struct fetch_view *v)
{
	return xasprintf("%ld/%ld", v->prog.files_done, v->files_total ? v->files_total : v->prog.files_total);
}

static void add_view_row(struct table *t, const struct fetch_view *v, int bars)
{
	const char *pvc = fetch_annotation(v->job, FETCH_ANN_PVC);
	char *files = files_cell(v), *bytes = bytes_cell(v), *rate = rate_cell(&v->prog), *eta = eta_cell(v);
	if (bars) {
		char bar[64];
		usage_bar(bar, 20, v->fraction);
		table_add_rowv(t, (char *)v->name, (char *)(pvc ? pvc : "?"), files, bytes, rate, eta,
			       bar, v->state_text, NULL);
	} else {
		table_add_rowv(t, (char *)v->name, (char *)(pvc ? pvc : "?"), files, bytes, rate, eta,
			       v->state_text, NULL);
	}
	free(files);
	free(bytes);
	free(rate);
	free(eta);
}

/* Every failed file of a job (wide), or the first few and a count. */
#define FAILED_FILES_SHOWN 5
static void print_failed_files(FILE *out, const struct fetch_view *v, int all)
{
	size_t n = v->prog.nerrors;
	if (!n)
		return;
	fprintf(out, "\n%s: %zu file%s failed:\n", v->name, n, n == 1 ? "" : "s");
	size_t shown = all || n <= FAILED_FILES_SHOWN + 1 ? n : FAILED_FILES_SHOWN;
	for (size_t i = 0; i < shown; i++) {
		/* names are checked by the client: no control characters */
		char *cause = fetch_error_cause(&v->prog.errors[i]);
		fprintf(out, "  %s: %s\n", v->prog.errors[i].file, cause);
		free(cause);
	}
	if (shown < n)
		fprintf(out, "  ... and %zu more (all of them: kubectl eidf fetch status %s -o wide)\n",
			n - shown, v->name);
	if (v->prog.nparts && fetch_state_finished(v->state)) {
		char *sz = human_bytes(v->prog.parts_bytes);
		fprintf(out, "  %zu .part file%s (%s) left on the PVC; remove them with: "
			"kubectl eidf fetch delete %s --purge-partial\n", v->prog.nparts,
			v->prog.nparts == 1 ? "" : "s", sz, v->name);
		free(sz);
	}
}

static int get_fetch_job(struct kclient *kc, const char *ns, const char *name, cJSON **out)
{
	if (kclient_get(kc, &KRES_JOBS, ns, name, out) < 0) {
		if (kclient_last_http_status(kc) == 404)
			eidf_error("fetch job \"%s\" not found in namespace \"%s\"; see: kubectl eidf fetch list",
				   name, ns);
		else
			eidf_error("%s", eidf_last_error());
		return -1;
	}
	if (!is_fetch_job(*out)) {
		eidf_error("job \"%s\" was not created by kubectl eidf fetch", name);
		cJSON_Delete(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* every Job this suite's fetch made */
#define FETCH_JOBS_SELECTOR LABEL_STAGE "=fetch," LABEL_MANAGED_BY "=" MANAGED_BY

static int list_fetch_jobs(struct kclient *kc, const char *ns, cJSON **out)
{
	struct klist_opts lo = { .label_selector = FETCH_JOBS_SELECTOR };
	if (kclient_list(kc, &KRES_JOBS, ns, &lo, out) < 0) {
		eidf_error("%s", eidf_last_error());
		return -1;
	}
	return 0;
}

/* ---- wait ----------------------------------------------------------------- */

static int any_event(const char *type, const cJSON *obj, void *ud)
{
	(void)type;
	(void)obj;
	(void)ud;
	return 1;   /* something changed: load the view again */
}

/* Block until the pods of the Job change (or, once they have all ended, the
 * Job itself), or `ms` passes; progress comes from the logs, so the view is
 * reloaded at least every poll interval.  -1 on an API error. */
static int wait_change(struct kclient *kc, const char *ns, const struct fetch_view *v, long ms)
{
	int rc;
	if (v->state == FS_COMPLETING || v->state == FS_FAILING) {
		/* the pods have ended: the job controller records it a moment later */
		char *fsel = xasprintf("metadata.name=%s", v->name);
		struct klist_opts lo = { .field_selector = fsel,
					 .resource_version = json_str(v->job, "metadata.resourceVersion") };
		rc = kclient_watch(kc, &KRES_JOBS, ns, &lo, ms, any_event, NULL);
		free(fsel);
	} else {
		char *sel = xasprintf("job-name=%s", v->name);
		struct klist_opts lo = { .label_selector = sel, .resource_version = v->pods_rv };
		rc = kclient_watch(kc, &KRES_PODS, ns, &lo, ms, any_event, NULL);
		free(sel);
	}
	return rc < 0 ? -1 : 0;
}

/* Follow the Job until it has finished (its Complete/Failed condition);
 * progress on stderr (a redrawn bar on a TTY, a line whenever the state or
 * numbers change otherwise).  Pod and Job changes arrive by watches, so the
 * end is seen at once; the numbers are read again every poll interval.
 * 0 complete, 1 failed, EIDF_EXIT_STOPPED_WAITING timed out, -1 error (or
 * Ctrl-C: wait_stopped()). */
static int wait_for(struct kclient *kc, const char *ns, const char *name, long timeout_ms, int bars)
{
	long start = monotonic_ms();
	int tty = isatty(fileno(stderr));
	char *last = NULL;
	int rc;
	for (;;) {
		cJSON *job = NULL;
		if (get_fetch_job(kc, ns, name, &job) < 0) {
			rc = -1;
			break;
		}
		struct fetch_view v;
		if (fetch_view_load(kc, ns, job, &v) < 0) {
			eidf_error("%s", eidf_last_error());
			fetch_view_release(&v);
			rc = -1;
			break;
		}
		char *files = files_cell(&v), *bytes = bytes_cell(&v), *rate = rate_cell(&v.prog), *eta = eta_cell(&v);
		char *line = xasprintf("%s: %s files, %s, %s, ETA %s, %s", name, files, bytes, rate, eta, v.state_text);
		if (tty && bars) {
			char bar[64];
			usage_bar(bar, 24, v.fraction);
			fprintf(stderr, "\r\033[K%s %s", bar, line);
			fflush(stderr);
		} else if (tty) {
			fprintf(stderr, "\r\033[K%s", line);
			fflush(stderr);
		} else if (!last || strcmp(last, line)) {
			fprintf(stderr, "%s\n", line);
		}
		free(last);
		last = line;
		free(files);
		free(bytes);
		free(rate);
		free(eta);
		if (v.state == FS_COMPLETE || v.state == FS_FAILED) {
			if (tty)
				fputc('\n', stderr);
			if (v.state == FS_COMPLETE) {
				/* with -o, stdout carries only the object */
				fprintf(opt_output ? stderr : stdout, "job.batch/%s complete\n", name);
				rc = 0;
			} else {
				print_failed_files(stderr, &v, 0);
				eidf_error("fetch job %s %s; see: kubectl eidf fetch logs %s", name, v.state_text, name);
				rc = 1;
			}
			fetch_view_release(&v);
			break;
		}
		if (v.state == FS_STUCK) {
			/* nothing will change without the user: do not wait for ever */
			if (tty)
				fputc('\n', stderr);
			eidf_error("fetch job %s cannot start: %s; fix it and fetch again, and delete it: "
				   "kubectl eidf fetch delete %s", name, v.state_text, name);
			fetch_view_release(&v);
			rc = 1;
			break;
		}
		long left = timeout_ms > 0 ? timeout_ms - (monotonic_ms() - start) : poll_ms();
		if (left <= 0) {
			if (tty)
				fputc('\n', stderr);
			fetch_view_release(&v);
			rc = EIDF_EXIT_STOPPED_WAITING; /* wait_end() says it goes on, and how to follow it */
			break;
		}
		int wrc = wait_change(kc, ns, &v, left < poll_ms() ? left : poll_ms());
		fetch_view_release(&v);
		/* a watch that failed only costs the early wake-up: the next
		 * reload reads the same state (and reports a real API error) */
		if (wrc < 0 && !wait_stopped())
			wait_sleep_ms(left < poll_ms() ? left : poll_ms());
		if (wait_stopped()) {
			if (tty)
				fputc('\n', stderr);
			rc = -1;
			break;
		}
	}
	free(last);
	return rc;
}

/* wait_for() inside the shared waiting behaviour (eidf/waiting.h): API
 * outages ridden out, Ctrl-C and the timeout end with the hints. */
static int wait_job(struct eidf_cmd *cmd, const char *ns, const char *name, long timeout_ms, int bars)
{
	char *subject = xasprintf("job.batch/%s", name);
	char *follow = xasprintf("kubectl eidf fetch wait %s -n %s", name, ns);
	char *logs = xasprintf("kubectl eidf fetch logs %s -n %s -f", name, ns);
	char *cancel = xasprintf("kubectl eidf fetch delete %s -n %s", name, ns);
	char *limit = opt_timeout ? xasprintf("--timeout %s", opt_timeout) : NULL;
	struct wait_hints h = { .subject = subject, .timeout = limit, .follow = follow,
				.logs = logs, .cancel = cancel };
	int rc = 1;

	if (wait_begin(cmd, &h, 0) == 0) {
		rc = wait_for(cmd_client(cmd), ns, name, timeout_ms, bars);
		rc = wait_end(rc < 0 ? 1 : rc);
	}
	free(limit);
	free(subject);
	free(follow);
	free(logs);
	free(cancel);
	return rc;
}

static long timeout_opt(void)
{
	if (!opt_timeout)
		return 0;
	long ms = parse_duration_ms(opt_timeout);
	if (ms < 0) {
		eidf_error("invalid --timeout \"%s\": use a duration such as 30m or 2h", opt_timeout);
		return -1;
	}
	return ms;
}

/* ---- create ------------------------------------------------------------- */

static int read_input(const char *path, struct strbuf *sb)
{
	if (strcmp(path, "-"))
		return read_file(path, sb);
	char buf[8192];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
		strbuf_add(sb, buf, n);
	return ferror(stdin) ? (eidf_set_error("reading stdin failed"), -1) : 0;
}

/* One key of a Secret's data, decoded; NULL when absent.  Caller wipes and frees. */
static char *secret_value(const cJSON *sec, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(sec, "data"), key);
	if (!cJSON_IsString(v))
		return NULL;
	struct strbuf sb = STRBUF_INIT;
	if (base64_decode(v->valuestring, strlen(v->valuestring), &sb) < 0) {
		strbuf_release(&sb);
		return NULL;
	}
	/* a trailing newline from --from-file=key=file is not part of a key */
	while (sb.len && (sb.buf[sb.len - 1] == '\n' || sb.buf[sb.len - 1] == '\r'))
		sb.buf[--sb.len] = '\0';
	return strbuf_detach(&sb);
}

static void wipe_free(char *s)
{
	if (s)
		memset(s, 0, strlen(s));
	free(s);
}

/* GET a Secret the Job will mount; -1 with the command that creates it. */
static int get_job_secret(struct eidf_cmd *cmd, const char *name, const char *what, const char *example,
			  cJSON **out)
{
	const char *ns = cmd_namespace(cmd);
	struct kclient *kc = ns ? cmd_client(cmd) : NULL;
	if (!kc)
		return -1;
	if (kclient_get(kc, &KRES_SECRETS, ns, name, out) < 0) {
		if (kclient_last_http_status(kc) == 404)
			eidf_set_error("Secret \"%s\" (%s) not found in namespace \"%s\"; create it with: "
				       "kubectl -n %s create secret generic %s %s", name, what, ns, ns, name, example);
		return -1;
	}
	return 0;
}

#define S3_SECRET_EXAMPLE "--from-literal=AWS_ACCESS_KEY_ID=... --from-literal=AWS_SECRET_ACCESS_KEY=..."

/* Credentials for the client's S3 listing: --s3-profile, the environment,
 * ~/.aws/credentials, else the keys of --s3-secret; none: anonymous. */
static int s3_listing_credentials(struct eidf_cmd *cmd, struct s3_credentials *c)
{
	int rc = s3_credentials_from_env(opt_s3_profile, c);
	if (rc <= 0)
		return rc;
	if (!opt_s3_secret)
		return 0;   /* anonymous: a public bucket */
	cJSON *sec = NULL;
	if (get_job_secret(cmd, opt_s3_secret, "--s3-secret", S3_SECRET_EXAMPLE, &sec) < 0)
		return -1;
	c->access_key = secret_value(sec, "AWS_ACCESS_KEY_ID");
	c->secret_key = secret_value(sec, "AWS_SECRET_ACCESS_KEY");
	c->session_token = secret_value(sec, "AWS_SESSION_TOKEN");
	cJSON_Delete(sec);
	if (!c->access_key || !c->secret_key) {
		s3_credentials_release(c);
		eidf_set_error("Secret \"%s\" (--s3-secret) needs the keys AWS_ACCESS_KEY_ID and "
			       "AWS_SECRET_ACCESS_KEY", opt_s3_secret);
		return -1;
	}
	c->origin = xasprintf("Secret %s", opt_s3_secret);
	return 0;
}

static const char *s3_region(void)
{
	if (opt_s3_region)
		return opt_s3_region;
	const char *r = setting("fetch.s3-region", NULL);
	if (!r || !*r)
		r = getenv("AWS_REGION");
	if (!r || !*r)
		r = getenv("AWS_DEFAULT_REGION");
	return r && *r ? r : "us-east-1";
}

static const char *s3_endpoint(void)
{
	if (opt_s3_endpoint)
		return opt_s3_endpoint;
	const char *e = setting("fetch.s3-endpoint", NULL);
	if (!e || !*e)
		e = getenv("AWS_ENDPOINT_URL_S3");
	if (!e || !*e)
		e = getenv("AWS_ENDPOINT_URL");
	return e && *e ? e : NULL;
}

/* Listed sources: 0, -1 with an error (exit 1: the service refused or
 * failed), -2 with an error (exit 2: a usage error). */
static int expand_s3(struct eidf_cmd *cmd, const char *src, struct fetch_list *l, char **dest_hint)
{
	const char *endpoint = s3_endpoint();
	const char *region = s3_region();
	if (endpoint && (fetch_url_check(endpoint) < 0 ||
			 (strncmp(endpoint, "http://", 7) && strncmp(endpoint, "https://", 8)) ||
			 strchr(endpoint, '?'))) {
		eidf_set_error("--s3-endpoint \"%s\" must be an http:// or https:// URL such as "
			       "https://s3.example.org", endpoint);
		return -2;
	}
	for (const char *p = region; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') {
			eidf_set_error("--s3-region \"%s\": letters, digits and '-' only", region);
			return -2;
		}
	}
	struct s3_credentials cred;
	if (s3_listing_credentials(cmd, &cred) < 0)
		return -1;
	if (cred.access_key && !opt_s3_secret) {
		eidf_set_error("%s: the Job needs the S3 keys in a Secret, never in its spec: kubectl create "
			       "secret generic s3-keys " S3_SECRET_EXAMPLE ", then --s3-secret s3-keys", src);
		s3_credentials_release(&cred);
		return -2;
	}
	const char *addressing = opt_s3_addressing ? opt_s3_addressing : setting("fetch.s3-addressing", "auto");
	if (strcmp(addressing, "auto") && strcmp(addressing, "path") && strcmp(addressing, "virtual")) {
		eidf_set_error("invalid setting fetch.s3-addressing \"%s\": use auto, path or virtual", addressing);
		s3_credentials_release(&cred);
		return -2;
	}
	struct s3_source_opts so = {
		.endpoint = endpoint, .region = region, .addressing = addressing, .cred = &cred,
		.include = &opt_include, .exclude = &opt_exclude, .job_signs = opt_s3_secret != NULL,
	};
	int rc = s3_expand(src, &so, l, dest_hint);
	s3_credentials_release(&cred);
	return rc;
}

#define HF_SECRET_EXAMPLE "--from-literal=HF_TOKEN=hf_..."

/* The listing's token: HF_TOKEN, the token file huggingface_hub writes
 * (HF_TOKEN_PATH, $HF_HOME/token, ~/.cache/huggingface/token), else the
 * Job's Secret (--hf-token-secret, or --header-secret's Authorization). */
static char *hf_listing_token(struct eidf_cmd *cmd, int *err)
{
	*err = 0;
	const char *t = getenv("HF_TOKEN");
	if (t && *t)
		return xstrdup(t);
	char *path = NULL;
	const char *e = getenv("HF_TOKEN_PATH"), *home = getenv("HF_HOME"), *h = getenv("HOME");
	if (e && *e)
		path = xstrdup(e);
	else if (home && *home)
		path = xasprintf("%s/token", home);
	else if (h && *h)
		path = xasprintf("%s/.cache/huggingface/token", h);
	struct strbuf sb = STRBUF_INIT;
	if (path && read_file(path, &sb) == 0) {
		while (sb.len && (sb.buf[sb.len - 1] == '\n' || sb.buf[sb.len - 1] == '\r' || sb.buf[sb.len - 1] == ' '))
			sb.buf[--sb.len] = '\0';
		free(path);
		if (sb.len)
			return strbuf_detach(&sb);
		strbuf_release(&sb);
		return NULL;
	}
	strbuf_release(&sb);
	free(path);
	const char *name = opt_hf_token_secret ? opt_hf_token_secret : opt_header_secret;
	if (!name)
		return NULL;
	cJSON *sec = NULL;
	if (get_job_secret(cmd, name, opt_hf_token_secret ? "--hf-token-secret" : "--header-secret",
			   opt_hf_token_secret ? HF_SECRET_EXAMPLE : "--from-literal=Authorization='Bearer hf_...'",
			   &sec) < 0) {
		*err = 1;
		return NULL;
	}
	char *v = secret_value(sec, opt_hf_token_secret ? "HF_TOKEN" : "Authorization");
	cJSON_Delete(sec);
	if (v && !opt_hf_token_secret && !strncmp(v, "Bearer ", 7)) {
		char *b = xstrdup(v + 7);
		wipe_free(v);
		v = b;
	} else if (v && !opt_hf_token_secret) {
		wipe_free(v);
		v = NULL;
	}
	return v;
}

static int expand_hf(struct eidf_cmd *cmd, const char *src, struct fetch_list *l, char **dest_hint)
{
	const char *ep = opt_hf_endpoint;
	if (!ep) {
		ep = setting("fetch.hf-endpoint", NULL);
		if (!ep || !*ep)
			ep = getenv("HF_ENDPOINT");
		if (!ep || !*ep)
			ep = "https://huggingface.co";
	}
	if (fetch_url_check(ep) < 0 || (strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8)) || strchr(ep, '?')) {
		eidf_set_error("--hf-endpoint \"%s\" must be an http:// or https:// URL such as https://huggingface.co", ep);
		return -2;
	}
	char *endpoint = xstrdup(ep);
	for (size_t n = strlen(endpoint); n && endpoint[n - 1] == '/';)
		endpoint[--n] = '\0';
	int err;
	char *token = hf_listing_token(cmd, &err);
	if (err) {
		free(endpoint);
		return -1;
	}
	struct hf_source_opts ho = {
		.endpoint = endpoint, .token = token, .include = &opt_include, .exclude = &opt_exclude,
		.job_token = opt_hf_token_secret != NULL,
	};
	char *commit = NULL;
	int rc = hf_expand(src, &ho, l, dest_hint, &commit);
	if (rc == 0) {
		strvec_pushf(&sources_ann, "%s commit=%s", src, commit);
		if (token && !opt_hf_token_secret && !opt_header_secret)
			eidf_warning("%s was listed with a token; if the repo is gated or private the Job needs it too: "
				     "--hf-token-secret", src);
	}
	free(commit);
	wipe_free(token);
	free(endpoint);
	return rc;
}

static int build_list(struct eidf_cmd *cmd, int argc, const char **argv, struct fetch_list *l,
		      char **dest_hint, int *usage)
{
	*usage = 1;
	if ((opt_sha256 || opt_name) && (argc != 1 || opt_from_file)) {
		eidf_set_error("--sha256 and --name apply to a single URL; use --from-file with columns "
			       "or --checksums for several");
		return -1;
	}
	int listed = 0, plain = 0;
	for (int i = 0; i < argc; i++) {
		if (fetch_source_kind(argv[i]) == FETCH_SRC_URL)
			plain++;
		else
			listed++;
	}
	if ((opt_sha256 || opt_name) && listed) {
		eidf_set_error("--sha256 and --name apply to a single URL, not to a listed source "
			       "(their files are verified from the listing)");
		return -1;
	}
	if ((opt_include.n || opt_exclude.n) && !listed) {
		eidf_set_error("--include/--exclude select files of a listed source (s3://, hf://)");
		return -1;
	}
	for (int i = 0; i < argc; i++) {
		char *hint = NULL;
		enum fetch_source_kind kind = fetch_source_kind(argv[i]);
		if (kind != FETCH_SRC_URL) {
			int r = kind == FETCH_SRC_S3 ? expand_s3(cmd, argv[i], l, &hint) : expand_hf(cmd, argv[i], l, &hint);
			if (r < 0) {
				*usage = r == -2;
				return -1;
			}
			if (listed == 1 && !plain && !opt_from_file)
				*dest_hint = hint;
			else
				free(hint);
			continue;
		}
		char *where = xasprintf("argument %d", i + 1);
		int rc = fetch_list_add(l, argv[i], opt_sha256, opt_name, where);
		free(where);
		if (rc < 0)
			return -1;
	}
	if (opt_from_file) {
		struct strbuf sb = STRBUF_INIT;
		if (read_input(opt_from_file, &sb) < 0 ||
		    fetch_list_parse(l, sb.buf ? sb.buf : "", sb.len, opt_from_file) < 0) {
			strbuf_release(&sb);
			return -1;
		}
		strbuf_release(&sb);
	}
	if (opt_checksums) {
		struct strbuf sb = STRBUF_INIT;
		if (read_file(opt_checksums, &sb) < 0 ||
		    fetch_checksums_apply(l, sb.buf ? sb.buf : "", sb.len, opt_checksums) < 0) {
			strbuf_release(&sb);
			return -1;
		}
		strbuf_release(&sb);
	}
	return fetch_list_finish(l);
}

static void print_followups(const char *name, const struct fetch_list *l, const char *pvc,
			    const char *dest, long shards)
{
	printf("job.batch/%s created\n", name);
	fflush(stdout); /* before the hints on stderr, also when stdout is a pipe */
	fprintf(stderr, "Fetching %zu file%s into pvc/%s:/%s%s. The Job keeps going if you disconnect.\n",
		l->n, l->n == 1 ? "" : "s", pvc, dest, shards > 1 ? " with an Indexed Job" : "");
	fprintf(stderr, "Follow it with:\n"
		"  kubectl eidf fetch status %s\n"
		"  kubectl eidf fetch logs %s -f\n"
		"  kubectl eidf fetch wait %s\n"
		"Cancel with:\n"
		"  kubectl eidf fetch delete %s\n", name, name, name, name);
}

/* Create the list's ConfigMap/Secret (if any), then the Job, then make the
 * list owned by the Job so that it is garbage-collected with it. */
static int submit_job(struct kclient *kc, const char *ns, const cJSON *job, const cJSON *cm,
		      int server_dry, cJSON **created, cJSON **cm_made)
{
	const char *cm_kind = cm ? json_str(cm, "kind") : NULL;
	const struct kres *cm_res = cm_kind && !strcmp(cm_kind, "Secret") ? &KRES_SECRETS : &KRES_CONFIGMAPS;
	if (cm && kclient_create(kc, cm_res, ns, cm, server_dry, cm_made) < 0) {
		eidf_error("%s", eidf_last_error());
		return -1;
	}
	if (kclient_create(kc, &KRES_JOBS, ns, job, server_dry, created) < 0) {
		eidf_error("%s", eidf_last_error());
		if (cm && !server_dry)
			kclient_delete(kc, cm_res, ns, json_str(cm, "metadata.name"), NULL, 0);
		return -1;
	}
	const char *name = json_str(*created, "metadata.name");
	if (cm && !server_dry) {
		cJSON *patch = cJSON_CreateObject();
		cJSON *md = cJSON_AddObjectToObject(patch, "metadata");
		cJSON *refs = cJSON_AddArrayToObject(md, "ownerReferences");
		cJSON *ref = cJSON_CreateObject();
		cJSON_AddStringToObject(ref, "apiVersion", "batch/v1");
		cJSON_AddStringToObject(ref, "kind", "Job");
		cJSON_AddStringToObject(ref, "name", name ? name : "");
		cJSON_AddStringToObject(ref, "uid", json_str(*created, "metadata.uid") ? json_str(*created, "metadata.uid") : "");
		cJSON_AddItemToArray(refs, ref);
		if (kclient_patch_merge(kc, cm_res, ns, json_str(cm, "metadata.name"), patch, NULL) < 0)
			eidf_warning("could not make %s %s owned by job %s (%s); delete it yourself later",
				     cm_kind, json_str(cm, "metadata.name"), name, eidf_last_error());
		cJSON_Delete(patch);
	}
	return 0;
}

static int run_create(struct eidf_cmd *cmd, int argc, const char **argv)
{
	struct fetch_list l = FETCH_LIST_INIT;
	char *dest = NULL, *run_id = NULL, *queue = NULL;
	cJSON *job = NULL, *cm = NULL, *created = NULL, *cm_made = NULL;   /* cm: the list's ConfigMap or Secret */
	int rc = 1;
	enum output_format fmt;

	if (output_format_parse(opt_output, &fmt) < 0) {
		eidf_error("%s", eidf_last_error());
		return 2;
	}
	if (opt_wait && opt_watch) {
		eidf_error("--wait and --watch are alternatives: pick one");
		return 2;
	}
	if (!is_dns1123_subdomain(opt_pvc)) {
		eidf_error("invalid PVC name \"%s\": must be a lowercase RFC 1123 subdomain", opt_pvc);
		return 2;
	}
	if (opt_header_secret && !is_dns1123_subdomain(opt_header_secret)) {
		eidf_error("invalid Secret name \"%s\" for --header-secret", opt_header_secret);
		return 2;
	}
	for (size_t i = 0; i < opt_headers.n; i++) {
		if (header_check(opt_headers.v[i]) < 0) {
			eidf_error("%s", eidf_last_error());
			return 2;
		}
	}
	if (opt_extract_image && !opt_extract) {
		eidf_error("--extract-image is only used with --extract");
		return 2;
	}
	long timeout = timeout_opt();
	if (timeout < 0)
		return 2;
	int usage = 1;
	char *dest_hint = NULL;
	if (opt_s3_secret && !is_dns1123_subdomain(opt_s3_secret)) {
		eidf_error("invalid Secret name \"%s\" for --s3-secret", opt_s3_secret);
		return 2;
	}
	if (opt_hf_token_secret && !is_dns1123_subdomain(opt_hf_token_secret)) {
		eidf_error("invalid Secret name \"%s\" for --hf-token-secret", opt_hf_token_secret);
		return 2;
	}
	if (build_list(cmd, argc, argv, &l, &dest_hint, &usage) < 0) {
		eidf_error("%s", eidf_last_error());
		rc = usage ? 2 : 1;
		goto out;
	}
	/* one listed source alone: its files go under its name (bucket, repo) */
	int rc_dest = fetch_path_normalize(opt_dest ? opt_dest : dest_hint ? dest_hint : "", 1, &dest);
	free(dest_hint);
	if (rc_dest < 0) {
		eidf_error("--dest: %s", eidf_last_error());
		rc = 2;
		goto out;
	}
	const char *mount = opt_mount ? opt_mount : setting("fetch.mount", FETCH_DEFAULT_MOUNT);
	if (mount[0] != '/' || strstr(mount, "/../") || ends_with(mount, "/..") || strchr(mount, '\n')) {
		eidf_error("--mount \"%s\" must be an absolute path without \"..\"", mount);
		rc = 2;
		goto out;
	}
	long nseg = 0;
	if (opt_segments && strcmp(opt_segments, "auto")) {
		char *end = NULL;
		nseg = strtol(opt_segments, &end, 10);
		if (!end || *end || nseg < 1 || nseg > 64) {
			eidf_error("--segments \"%s\": a number from 1 to 64, or auto", opt_segments);
			rc = 2;
			goto out;
		}
	}
	long shards = opt_parallel;
	/* with --segments the pods share the segments of every file: more pods
	 * than files is the point */
	if ((size_t)shards > l.n && !opt_segments) {
		eidf_warning("--parallel %ld is more than the %zu file(s); using %zu pod(s)", shards, l.n, l.n);
		shards = (long)l.n;
	}
	if (opt_headers.n)
		eidf_warning("--header values are stored in the Job spec in clear text; "
			     "use --header-secret for tokens");

	const char *ttl_text = opt_ttl ? opt_ttl : setting("fetch.ttl", "30m");
	long ttl_ms = parse_duration_ms(ttl_text);
	if (ttl_ms < 0) {
		eidf_error("invalid setting fetch.ttl \"%s\": use a duration such as 90s, 30m or 24h", ttl_text);
		rc = 2;
		goto out;
	}
	long ttl_s = ttl_ms / 1000;

	const char *ns = cmd_project_namespace(cmd);
	if (!ns)
		goto out;
	run_id = random_id();
	struct fetch_job_opts o = {
		.namespace = ns,
		.pvc = opt_pvc,
		.dest = dest,
		.mount_path = mount,
		.image = opt_image ? opt_image : setting("fetch.image", FETCH_DEFAULT_IMAGE),
		.cpu = opt_cpu ? opt_cpu : setting("fetch.cpu", "1"),
		.memory = opt_memory ? opt_memory : setting("fetch.memory", "1Gi"),
		.queue = policy_queue(),
		.eidf_user = policy_eidf_user(),
		.run_id = run_id,
		.header_secret = opt_header_secret,
		.headers = &opt_headers,
		.s3_secret = opt_s3_secret,
		.hf_token_secret = opt_hf_token_secret,
		.segments = opt_segments && nseg != 1 ? opt_segments : NULL,
		.segment_chunk = opt_segment_chunk,
		.sources = &sources_ann,
		.s3_region = opt_s3_secret ? s3_region() : NULL,
		.ttl = ttl_s,
		.retries = opt_retries,
		.backoff_limit = opt_backoff_limit * (shards > 1 ? shards : 1),
		.parallel = shards,
		.interval = opt_interval,
		.extract = opt_extract,
		.extract_image = opt_extract_image ? opt_extract_image :
			setting("fetch.extract-image", FETCH_DEFAULT_EXTRACT_IMAGE),
		.extract_script = script_fetch_extract,
		.extract_program = python_fetch_extract,
	};
	if (!quantity_valid(o.cpu) || !quantity_valid(o.memory)) {
		eidf_error("invalid --cpu \"%s\" or --memory \"%s\": use quantities such as 1, 500m, 1Gi",
			   o.cpu, o.memory);
		rc = 2;
		goto out;
	}
	job = fetch_job_manifest(&o, &l, script_fetch_job, &cm);
	if (manifest_check_job_policy(job) < 0) {
		eidf_error("%s", eidf_last_error());
		goto out;
	}

	if (dry_run_mode(opt_dry_run) == 1) {
		enum output_format f = fmt == OUT_DEFAULT ? OUT_YAML : fmt;
		if (cm) {
			cJSON *items;
			cJSON *list = manifest_list(&items);
			cJSON_AddItemToArray(items, cm);
			cJSON_AddItemToArray(items, job);
			cm = job = NULL;
			rc = output_object(stdout, list, f) < 0 ? 1 : 0;
			cJSON_Delete(list);
		} else {
			rc = output_object(stdout, job, f) < 0 ? 1 : 0;
		}
		goto out;
	}

	struct kclient *kc = cmd_client(cmd);
	if (!kc)
		goto out;
	int server_dry = dry_run_mode(opt_dry_run) == 2;
	cJSON *pvc = NULL;
	if (kclient_get(kc, &KRES_PVCS, ns, opt_pvc, &pvc) < 0) {
		if (kclient_last_http_status(kc) == 404)
			eidf_error("PVC \"%s\" not found in namespace \"%s\"; create it first: "
				   "kubectl eidf pvc create %s --size 100Gi", opt_pvc, ns, opt_pvc);
		else
			eidf_error("%s", eidf_last_error());
		goto out;
	}
	cJSON_Delete(pvc);
	if (opt_header_secret) {
		/* existence only; the data is dropped unread */
		cJSON *sec = NULL;
		if (kclient_get(kc, &KRES_SECRETS, ns, opt_header_secret, &sec) < 0 &&
		    kclient_last_http_status(kc) == 404) {
			eidf_error("Secret \"%s\" not found in namespace \"%s\"; create it with: kubectl -n %s "
				   "create secret generic %s --from-literal=Authorization='Bearer ...'",
				   opt_header_secret, ns, ns, opt_header_secret);
			goto out;
		}
		cJSON_Delete(sec);
	}
	if (opt_s3_secret) {
		/* the Job signs with these keys: they must be there */
		cJSON *sec = NULL;
		if (get_job_secret(cmd, opt_s3_secret, "--s3-secret", S3_SECRET_EXAMPLE, &sec) < 0) {
			eidf_error("%s", eidf_last_error());
			goto out;
		}
		char *ak = secret_value(sec, "AWS_ACCESS_KEY_ID"), *sk = secret_value(sec, "AWS_SECRET_ACCESS_KEY");
		int ok = ak && sk && *ak && *sk;
		wipe_free(ak);
		wipe_free(sk);
		cJSON_Delete(sec);
		if (!ok) {
			eidf_error("Secret \"%s\" (--s3-secret) needs the keys AWS_ACCESS_KEY_ID and "
				   "AWS_SECRET_ACCESS_KEY", opt_s3_secret);
			goto out;
		}
	}
	if (opt_hf_token_secret) {
		cJSON *sec = NULL;
		if (get_job_secret(cmd, opt_hf_token_secret, "--hf-token-secret", HF_SECRET_EXAMPLE, &sec) < 0) {
			eidf_error("%s", eidf_last_error());
			goto out;
		}
		char *tok = secret_value(sec, "HF_TOKEN");
		int ok = tok && *tok;
		wipe_free(tok);
		cJSON_Delete(sec);
		if (!ok) {
			eidf_error("Secret \"%s\" (--hf-token-secret) needs the key HF_TOKEN: kubectl create secret "
				   "generic %s " HF_SECRET_EXAMPLE, opt_hf_token_secret, opt_hf_token_secret);
			goto out;
		}
	}
	if (submit_job(kc, ns, job, cm, server_dry, &created, server_dry ? &cm_made : NULL) < 0)
		goto out;
	const char *name = json_str(created, "metadata.name");
	if (server_dry) {
		/* every object sent, the list before the Job, as --dry-run=client shows them */
		const cJSON *sent[] = { cm_made, created };
		rc = output_server_dry_run(stdout, cm_made ? sent : sent + 1, cm_made ? 2 : 1, fmt) < 0;
		goto out;
	} else if (fmt != OUT_DEFAULT) {
		/* with --wait, the object once, as it is at the end */
		if (!opt_wait && !opt_watch)
			output_object(stdout, created, fmt);
		else
			fprintf(stderr, "job.batch/%s created\n", name);
		rc = 0;
	} else {
		print_followups(name, &l, opt_pvc, dest, shards);
	}
	rc = 0;
	if (opt_wait || opt_watch) {
		rc = wait_job(cmd, ns, name, timeout, opt_watch);
		cJSON *final = NULL;
		if (fmt != OUT_DEFAULT && kclient_get(cmd_client(cmd), &KRES_JOBS, ns, name, &final) == 0)
			output_object(stdout, final, fmt);
		cJSON_Delete(final);
	}
out:
	cJSON_Delete(cm_made);
	cJSON_Delete(created);
	cJSON_Delete(job);
	cJSON_Delete(cm);
	fetch_list_release(&l);
	free(dest);
	free(run_id);
	free(queue);
	return rc;
}

/* ---- status / list ------------------------------------------------------- */

static int load_views(struct kclient *kc, const char *ns, int argc, const char **argv,
		      struct fetch_view **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (argc) {
		*out = xcalloc((size_t)argc, sizeof(**out));
		for (int i = 0; i < argc; i++) {
			cJSON *job = NULL;
			if (get_fetch_job(kc, ns, argv[i], &job) < 0)
				return -1;
			if (fetch_view_load(kc, ns, job, &(*out)[*n]) < 0) {
				eidf_error("%s", eidf_last_error());
				fetch_view_release(&(*out)[*n]);
				return -1;
			}
			(*n)++;
		}
		return 0;
	}
	cJSON *list = NULL;
	if (list_fetch_jobs(kc, ns, &list) < 0)
		return -1;
	cJSON *items = cJSON_GetObjectItem(list, "items");
	int count = cJSON_GetArraySize(items);
	*out = xcalloc(count ? (size_t)count : 1, sizeof(**out));
	while (cJSON_GetArraySize(items) > 0) {
		cJSON *job = cJSON_DetachItemFromArray(items, 0);
		if (fetch_view_load(kc, ns, job, &(*out)[*n]) < 0) {
			eidf_error("%s", eidf_last_error());
			fetch_view_release(&(*out)[*n]);
			cJSON_Delete(list);
			return -1;
		}
		(*n)++;
	}
	cJSON_Delete(list);
	return 0;
}

static void views_release(struct fetch_view *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fetch_view_release(&v[i]);
	free(v);
}

static int run_status(struct eidf_cmd *cmd, int argc, const char **argv)
{
	const char *ns = cmd_namespace(cmd);
	struct kclient *kc = ns ? cmd_client(cmd) : NULL;
	if (!kc)
		return 1;
	int tty = isatty(fileno(stdout)), wide = opt_output && !strcmp(opt_output, "wide");
	if (opt_watch) {
		char *subject = argc == 1 ? xasprintf("job.batch/%s", argv[0]) : xstrdup("every fetch Job");
		struct wait_hints h = { .subject = subject };
		int brc = wait_begin(cmd, &h, 0);
		free(subject);
		if (brc < 0)
			return 1;
	}
	for (;;) {
		struct fetch_view *v;
		size_t n;
		if (load_views(kc, ns, argc, argv, &v, &n) < 0) {
			views_release(v, n);
			return wait_end(1);
		}
		if (!n && !argc) {
			views_release(v, n);
			fprintf(stderr, "No fetch jobs found in %s namespace.\n", ns);
			return wait_end(0);
		}
		int bars = opt_watch;
		static const char *const h[] = { "JOB", "PVC", "FILES", "BYTES", "RATE", "ETA", "STATE", NULL };
		static const char *const hb[] = { "JOB", "PVC", "FILES", "BYTES", "RATE", "ETA", "PROGRESS", "STATE", NULL };
		struct table *t = table_new(bars ? hb : h);
		int active = 0;
		for (size_t i = 0; i < n; i++) {
			add_view_row(t, &v[i], bars);
			if (v[i].state != FS_COMPLETE && v[i].state != FS_FAILED)
				active = 1;
		}
		if (opt_watch && tty)
			fputs("\033[H\033[2J", stdout);
		table_print(t, stdout, opt_no_headers);
		for (size_t i = 0; i < n; i++)
			print_failed_files(stdout, &v[i], wide);
		fflush(stdout);
		table_free(t);
		views_release(v, n);
		if (!opt_watch || !active)
			return wait_end(0);
		if (!tty)
			putchar('\n');
		wait_sleep_ms(poll_ms());
		if (wait_stopped())
			return wait_end(0);
	}
}

/* The pods of every fetch Job in the namespace (one request), for states
 * derived from pods and conditions together.  NULL when they cannot be read:
 * states then come from the Job alone. */
static cJSON *list_fetch_pods(struct kclient *kc, const char *ns)
{
	struct klist_opts lo = { .label_selector = FETCH_JOBS_SELECTOR };
	cJSON *pods = NULL;
	if (kclient_list(kc, &KRES_PODS, ns, &lo, &pods) < 0)
		return NULL;
	return pods;
}

static enum fetch_state job_state(const cJSON *job, const cJSON *pods)
{
	struct fetch_pods fp;
	fetch_pods_derive(job, cJSON_GetObjectItem(pods, "items"), &fp);
	enum fetch_state s = fp.state;
	fetch_pods_release(&fp);
	return s;
}

/* PARTIAL (list -o wide): the .part files a failed job left, from the
 * partial lines at the end of its failed pods' logs: "2 (1.5GiB)" or "-". */
static char *partial_cell(struct kclient *kc, const char *ns, const cJSON *job, const cJSON *pods)
{
	enum fetch_state st = job_state(job, pods);
	if (st != FS_FAILED && st != FS_FAILING && st != FS_RETRYING)
		return xstrdup("-");
	struct fetch_view v;
	char *out;
	if (fetch_view_load(kc, ns, cJSON_Duplicate(job, 1), &v) < 0 || !v.prog.nparts) {
		out = xstrdup("-");
	} else {
		char *sz = human_bytes(v.prog.parts_bytes);
		out = xasprintf("%zu (%s)", v.prog.nparts, sz);
		free(sz);
	}
	fetch_view_release(&v);
	return out;
}

static int run_list(struct eidf_cmd *cmd, int argc, const char **argv)
{
	(void)argv;
	if (argc) {
		eidf_error("list takes no arguments; for one job use: kubectl eidf fetch status JOB");
		return 2;
	}
	struct job_list l;
	int lrc = job_list_load(cmd, opt_output, FETCH_JOBS_SELECTOR, "fetch jobs", &l);
	if (lrc || !l.n)
		return lrc;
	struct kclient *kc = cmd_client(cmd);
	const char *ns = l.ns;
	enum output_format fmt = l.fmt;
	const cJSON *const *arr = l.items;
	const cJSON *pods = l.pods;
	size_t n = l.n;
	static const char *const h[] = { "NAME", "PVC", "FILES", "PODS", "STATE", "AGE", NULL };
	static const char *const hw[] = { "NAME", "PVC", "FILES", "PODS", "STATE", "AGE", "DEST", "PARTIAL", "URLS", NULL };
	struct table *t = table_new(fmt == OUT_WIDE ? hw : h);
	time_t now = time(NULL);
	for (size_t i = 0; i < n; i++) {
		const char *pvc = fetch_annotation(arr[i], FETCH_ANN_PVC);
		const char *files = fetch_annotation(arr[i], FETCH_ANN_FILES);
		char *npods = xasprintf("%ld", json_long(arr[i], "spec.completions", 1));
		time_t then = 0;
		const char *ts = json_str(arr[i], "metadata.creationTimestamp");
		char *age = (ts && parse_rfc3339(ts, &then) == 0) ? human_age(now, then) : xstrdup("<unknown>");
		if (fmt == OUT_WIDE) {
			char *partial = partial_cell(kc, ns, arr[i], pods);
			const char *urls = fetch_annotation(arr[i], FETCH_ANN_URLS);
			char *first = xstrndup(urls ? urls : "", urls ? strcspn(urls, "\n") : 0);
			char *u = (urls && strchr(urls, '\n')) ? xasprintf("%s,...", first) : xstrdup(first);
			table_add_rowv(t, (char *)json_str(arr[i], "metadata.name"), (char *)(pvc ? pvc : "?"),
				       (char *)(files ? files : "?"), npods, (char *)fetch_state_word(job_state(arr[i], pods)), age,
				       (char *)(fetch_annotation(arr[i], FETCH_ANN_DEST) ? fetch_annotation(arr[i], FETCH_ANN_DEST) : "/"),
				       partial, u, NULL);
			free(partial);
			free(first);
			free(u);
		} else {
			table_add_rowv(t, (char *)json_str(arr[i], "metadata.name"), (char *)(pvc ? pvc : "?"),
				       (char *)(files ? files : "?"), npods, (char *)fetch_state_word(job_state(arr[i], pods)), age, NULL);
		}
		free(npods);
		free(age);
	}
	table_print(t, stdout, opt_no_headers);
	table_free(t);
	job_list_release(&l);
	return 0;
}

/* ---- logs ---------------------------------------------------------------- */

struct log_out {
	const char *prefix;
	int at_line_start;
};

static int log_print(const char *data, size_t len, void *ud)
{
	struct log_out *o = ud;
	if (!o->prefix) {
		fwrite(data, 1, len, stdout);
	} else {
		for (size_t i = 0; i < len; i++) {
			if (o->at_line_start)
				fputs(o->prefix, stdout);
			putchar(data[i]);
			o->at_line_start = data[i] == '\n';
		}
	}
	fflush(stdout);
	return 0;
}

/* `logs -f` for several pods at once: polled and merged in time order with
 * a "[index] " prefix (eidf/log_merge.h explains why polling). */

static int pod_terminal(const cJSON *pod)
{
	const char *phase = json_str(pod, "status.phase");
	return phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
}

static int follow_all(struct kclient *kc, const char *ns, const char *job, long nidx)
{
	struct log_merge lm;
	struct strvec skip = STRVEC_INIT;   /* older pods, finished before we started */
	int rc = 0, first_round = 1, waited = 0;
	log_merge_init(&lm);
	for (;;) {
		cJSON *pods = NULL, *j2 = NULL;
		int ok, finished = 0;
		/* the Job first: once it has finished, the pod list below is final */
		if (kclient_get(kc, &KRES_JOBS, ns, job, &j2) == 0)
			finished = fetch_job_finished(j2, &ok);
		else if (kclient_last_http_status(kc) == 404)
			finished = 1;   /* deleted: print what is left */
		cJSON_Delete(j2);
		if (fetch_list_job_pods(kc, ns, job, &pods) < 0) {
			eidf_error("%s", eidf_last_error());
			rc = 1;
			break;
		}
		const cJSON *items = cJSON_GetObjectItem(pods, "items"), *pod;
		if (first_round) {
			const cJSON **best = xcalloc((size_t)nidx, sizeof(*best));
			fetch_newest_pods(items, best, nidx);
			cJSON_ArrayForEach(pod, items) {
				long i = fetch_pod_index(pod);
				if (i >= 0 && i < nidx && best[i] != pod && pod_terminal(pod))
					strvec_push(&skip, json_str(pod, "metadata.name"));
			}
			free(best);
		}
		int any = 0;
		cJSON_ArrayForEach(pod, items) {
			const char *name = json_str(pod, "metadata.name");
			if (!name || !fetch_pod_started(pod) || strvec_contains(&skip, name))
				continue;
			any = 1;
			/* the download's log, then (--extract) the extractor's once it started */
			for (int x = 0; x < 2; x++) {
				const char *container = x ? FETCH_EXTRACT_CONTAINER : FETCH_CONTAINER;
				if (x && !fetch_pod_extract_started(pod))
					break;
				struct log_merge_src *src = log_merge_source(&lm, name, container,
									     fetch_pod_index(pod));
				/* terminal before this read: the read gets everything */
				log_merge_poll(&lm, kc, ns, src, first_round ? opt_tail : -1, pod_terminal(pod));
			}
		}
		cJSON_Delete(pods);
		log_merge_print(&lm, stdout);
		if (!any && !finished && !waited++)
			fprintf(stderr, "waiting for a pod of %s to start...\n", job);
		int all_done = 1;
		for (size_t k = 0; k < lm.n; k++)
			if (!lm.src[k].done)
				all_done = 0;
		if (finished && all_done)
			break;
		first_round = 0;
		wait_sleep_ms(poll_ms());
		if (wait_stopped())
			break;
	}
	log_merge_release(&lm);
	strvec_clear(&skip);
	return rc;
}

/* With --extract: the extract container's log after the download's.  With
 * -f, wait for it to start (or for the pod to end without it: the download
 * failed) and follow it. */
static int print_extract_log(struct kclient *kc, const char *ns, const cJSON *pod, const char *prefix)
{
	const char *name = json_str(pod, "metadata.name");
	int started = fetch_pod_extract_started(pod), rc = 0;
	while (opt_follow && !started && name) {
		cJSON *cur = NULL;
		if (kclient_get(kc, &KRES_PODS, ns, name, &cur) < 0)
			break;   /* gone: nothing more to print */
		started = fetch_pod_extract_started(cur);
		int over = pod_terminal(cur);
		cJSON_Delete(cur);
		if (started || over)
			break;
		wait_sleep_ms(poll_ms());
		if (wait_stopped())
			break;
	}
	if (!started || !name)
		return 0;
	struct log_out lo = { prefix, 1 };
	struct klog_opts ko = { .container = FETCH_EXTRACT_CONTAINER, .follow = opt_follow,
				.tail_lines = opt_tail };
	if (kclient_logs(kc, ns, name, &ko, log_print, &lo) < 0) {
		eidf_error("%s", eidf_last_error());
		rc = -1;
	}
	if (!lo.at_line_start)
		putchar('\n');
	return rc;
}

static int logs_inner(struct eidf_cmd *cmd, int argc, const char **argv);

/* logs -f waits on the pods: the shared waiting behaviour (outages ridden
 * out, Ctrl-C says the download goes on). */
static int run_logs(struct eidf_cmd *cmd, int argc, const char **argv)
{
	const char *ns;
	if (!opt_follow || argc != 1 || !(ns = cmd_namespace(cmd)))
		return logs_inner(cmd, argc, argv);
	char *subject = xasprintf("job.batch/%s", argv[0]);
	char *follow = xasprintf("kubectl eidf fetch wait %s -n %s", argv[0], ns);
	char *cancel = xasprintf("kubectl eidf fetch delete %s -n %s", argv[0], ns);
	struct wait_hints h = { .subject = subject, .follow = follow, .cancel = cancel };
	int rc = 1;
	if (wait_begin(cmd, &h, 0) == 0)
		rc = wait_end(logs_inner(cmd, argc, argv));
	free(subject);
	free(follow);
	free(cancel);
	return rc;
}

static int logs_inner(struct eidf_cmd *cmd, int argc, const char **argv)
{
	if (argc != 1) {
		eidf_error("logs needs exactly one fetch job name");
		return 2;
	}
	const char *ns = cmd_namespace(cmd);
	struct kclient *kc = ns ? cmd_client(cmd) : NULL;
	if (!kc)
		return 1;
	cJSON *job = NULL;
	if (get_fetch_job(kc, ns, argv[0], &job) < 0)
		return 1;
	long nidx = json_long(job, "spec.completions", 1);
	if (nidx < 1 || nidx > 1000)
		nidx = 1;
	if (opt_index >= nidx) {
		eidf_error("--index %ld: job %s has indexes 0..%ld", opt_index, argv[0], nidx - 1);
		cJSON_Delete(job);
		return 2;
	}
	if (opt_follow && nidx > 1 && opt_index < 0) {
		int r = follow_all(kc, ns, argv[0], nidx);
		cJSON_Delete(job);
		return r;
	}
	int rc = 0;
	long waited = 0;
	for (;;) {
		cJSON *pods = NULL;
		if (fetch_list_job_pods(kc, ns, argv[0], &pods) < 0) {
			eidf_error("%s", eidf_last_error());
			rc = 1;
			break;
		}
		const cJSON **best = xcalloc((size_t)nidx, sizeof(*best));
		fetch_newest_pods(cJSON_GetObjectItem(pods, "items"), best, nidx);
		int any = 0;
		for (long i = 0; i < nidx; i++) {
			if (!best[i] || (opt_index >= 0 && i != opt_index))
				continue;
			if (!fetch_pod_started(best[i]))
				continue;
			any = 1;
		}
		if (!any && opt_follow) {
			/* nothing started yet: wait for the first pod */
			free(best);
			cJSON_Delete(pods);
			int ok;
			cJSON *j2 = NULL;
			if (kclient_get(kc, &KRES_JOBS, ns, argv[0], &j2) == 0 && fetch_job_finished(j2, &ok)) {
				cJSON_Delete(j2);
				break;
			}
			cJSON_Delete(j2);
			if (!waited++)
				fprintf(stderr, "waiting for a pod of %s to start...\n", argv[0]);
			wait_sleep_ms(poll_ms());
			if (wait_stopped())
				break;
			continue;
		}
		if (!any)
			fprintf(stderr, "no pod of %s has started yet\n", argv[0]);
		for (long i = 0; i < nidx; i++) {
			if (!best[i] || (opt_index >= 0 && i != opt_index))
				continue;
			if (!fetch_pod_started(best[i]))
				continue;
			char *prefix = (nidx > 1 && opt_index < 0) ? xasprintf("[%ld] ", i) : NULL;
			struct log_out lo = { prefix, 1 };
			struct klog_opts ko = { .container = FETCH_CONTAINER, .follow = opt_follow,
						.tail_lines = opt_tail };
			if (kclient_logs(kc, ns, json_str(best[i], "metadata.name"), &ko, log_print, &lo) < 0) {
				eidf_error("%s", eidf_last_error());
				rc = 1;
			}
			if (!lo.at_line_start)
				putchar('\n');
			if (fetch_pod_has_extract(best[i]) && print_extract_log(kc, ns, best[i], prefix) < 0)
				rc = 1;
			free(prefix);
		}
		free(best);
		cJSON_Delete(pods);
		break;
	}
	cJSON_Delete(job);
	return rc;
}

/* ---- wait / delete ----------------------------------------------------------- */

static int run_wait(struct eidf_cmd *cmd, int argc, const char **argv)
{
	if (argc < 1) {
		eidf_error("wait needs a fetch job name");
		return 2;
	}
	long timeout = timeout_opt();
	if (timeout < 0)
		return 2;
	const char *ns = cmd_namespace(cmd);
	struct kclient *kc = ns ? cmd_client(cmd) : NULL;
	if (!kc)
		return 1;
	int rc = 0;
	for (int i = 0; i < argc; i++) {
		int r = wait_job(cmd, ns, argv[i], timeout, 0);
		if (r == EIDF_EXIT_STOPPED_WAITING || r == EIDF_EXIT_DETACHED)
			return r;   /* stopped waiting: the rest are not waited for either */
		if (r != 0)
			rc = 1;
	}
	return rc;
}

/* ---- --purge-partial ------------------------------------------------------- */

/* The download container: an init container before --extract's. */
static const cJSON *fetch_container(const cJSON *job)
{
	static const char *const lists[] = { "spec.template.spec.containers", "spec.template.spec.initContainers" };
	const cJSON *c;
	for (size_t l = 0; l < 2; l++)
		cJSON_ArrayForEach(c, json_get(job, lists[l]))
			if (json_str(c, "name") && !strcmp(json_str(c, "name"), FETCH_CONTAINER))
				return c;
	return NULL;
}

/* The names of a Job's list: from its env var, else from the ConfigMap or
 * Secret that holds it (still there while the Job is). */
static int job_names(struct kclient *kc, const char *ns, const cJSON *job, struct strvec *names)
{
	const cJSON *c = fetch_container(job), *e, *vol;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(c, "env"))
		if (json_str(e, "name") && !strcmp(json_str(e, "name"), "EIDF_FETCH_LIST"))
			return fetch_list_names(json_str(e, "value") ? json_str(e, "value") : "", names);
	cJSON_ArrayForEach(vol, json_get(job, "spec.template.spec.volumes")) {
		if (!json_str(vol, "name") || strcmp(json_str(vol, "name"), "fetch-list"))
			continue;
		const char *sec = json_str(vol, "secret.secretName"), *cmn = json_str(vol, "configMap.name");
		cJSON *obj = NULL;
		int rc = -1;
		if (kclient_get(kc, sec ? &KRES_SECRETS : &KRES_CONFIGMAPS, ns, sec ? sec : cmn, &obj) < 0)
			return -1;
		const char *data = json_str(obj, "data." FETCH_LIST_KEY);
		if (sec && data) {
			struct strbuf dec = STRBUF_INIT;
			if (base64_decode(data, strlen(data), &dec) == 0)
				rc = fetch_list_names(strbuf_str(&dec), names);
			else
				eidf_set_error("Secret %s: the list is not base64", sec);
			strbuf_release(&dec);
		} else if (data) {
			rc = fetch_list_names(data, names);
		} else {
			eidf_set_error("%s %s has no list", sec ? "Secret" : "ConfigMap", sec ? sec : cmn);
		}
		cJSON_Delete(obj);
		return rc;
	}
	eidf_set_error("job %s has no list of files", json_str(job, "metadata.name"));
	return -1;
}

/* Another fetch Job that has not finished writes into the same directory:
 * its .part files are live. */
static const char *busy_with(const cJSON *jobs, const cJSON *pods, const cJSON *job)
{
	const char *pvc = fetch_annotation(job, FETCH_ANN_PVC), *dest = fetch_annotation(job, FETCH_ANN_DEST);
	const cJSON *it;
	cJSON_ArrayForEach(it, jobs) {
		const char *n = json_str(it, "metadata.name"), *p = fetch_annotation(it, FETCH_ANN_PVC);
		const char *d = fetch_annotation(it, FETCH_ANN_DEST);
		if (!n || !strcmp(n, json_str(job, "metadata.name")) || !p || !pvc || strcmp(p, pvc) ||
		    strcmp(d ? d : "/", dest ? dest : "/"))
			continue;
		if (!fetch_state_finished(job_state(it, pods)))
			return n;
	}
	return NULL;
}

/* Remove the .part files of a finished fetch Job: a small Job on the same
 * claim, image and mount runs fetch-job.sh --purge-partial over the names
 * of its list (names only: no URL reaches it), and its log says what went. */
static int purge_partial(struct kclient *kc, const char *ns, const cJSON *job, const cJSON *jobs,
			 const cJSON *pods)
{
	const char *name = json_str(job, "metadata.name");
	enum fetch_state st = job_state(job, pods);
	if (!fetch_state_finished(st) && st != FS_STUCK) {
		eidf_error("fetch job %s is %s: its .part files are still in use; wait for it (kubectl eidf "
			   "fetch wait %s) and delete it with --purge-partial then", name,
			   fetch_state_word(st), name);
		return -1;
	}
	const char *other = busy_with(jobs, pods, job);
	if (other) {
		eidf_error("fetch job %s is still downloading into the same directory; its .part files are "
			   "live: purge after it has finished", other);
		return -1;
	}
	struct strvec names = STRVEC_INIT;
	if (job_names(kc, ns, job, &names) < 0) {
		eidf_error("fetch job %s: %s", name, eidf_last_error());
		return -1;
	}
	const cJSON *c = fetch_container(job), *m;
	const char *mount = NULL;
	cJSON_ArrayForEach(m, cJSON_GetObjectItem(c, "volumeMounts"))
		if (json_str(m, "name") && !strcmp(json_str(m, "name"), "data"))
			mount = json_str(m, "mountPath");
	const char *pvc = fetch_annotation(job, FETCH_ANN_PVC), *dest = fetch_annotation(job, FETCH_ANN_DEST);
	char *ndest = NULL;
	if (!mount || !pvc || !json_str(c, "image") ||
	    fetch_path_normalize(dest ? dest : "/", 1, &ndest) < 0) {
		eidf_error("fetch job %s does not say where its files are (PVC, mount, destination)", name);
		strvec_clear(&names);
		free(ndest);
		return -1;
	}
	struct fetch_list l = FETCH_LIST_INIT;
	l.items = xcalloc(names.n ? names.n : 1, sizeof(*l.items));
	for (size_t i = 0; i < names.n; i++) {
		l.items[i].url = xstrdup("-");
		l.items[i].name = xstrdup(names.v[i]);
	}
	l.n = l.alloc = names.n;
	strvec_clear(&names);
	char *run_id = random_id();
	struct fetch_job_opts o = {
		.namespace = ns, .pvc = pvc, .dest = ndest, .mount_path = mount,
		.image = json_str(c, "image"),
		.cpu = json_str(c, "resources.requests.cpu") ? json_str(c, "resources.requests.cpu") : "1",
		.memory = json_str(c, "resources.requests.memory") ? json_str(c, "resources.requests.memory") : "1Gi",
		.queue = policy_queue(), .eidf_user = policy_eidf_user(), .run_id = run_id,
		.ttl = 600, .retries = 1, .backoff_limit = 0, .parallel = 1, .interval = 5, .purge = 1,
	};
	cJSON *cm = NULL, *created = NULL;
	cJSON *pj = fetch_job_manifest(&o, &l, script_fetch_job, &cm);
	int rc = -1;
	if (submit_job(kc, ns, pj, cm, 0, &created, NULL) == 0) {
		const char *pname = json_str(created, "metadata.name");
		fprintf(stderr, "removing the .part files of %s with job.batch/%s...\n", name, pname);
		/* a small Job: follow it by watches like wait, at most 5 minutes */
		long start = monotonic_ms();
		for (;;) {
			cJSON *j = NULL;
			struct fetch_view v = { 0 };
			if (kclient_get(kc, &KRES_JOBS, ns, pname, &j) < 0 || fetch_view_load(kc, ns, j, &v) < 0) {
				eidf_error("%s", eidf_last_error());
				if (!v.job)
					cJSON_Delete(j);
				fetch_view_release(&v);
				break;
			}
			if (v.state == FS_COMPLETE || v.state == FS_FAILED || v.state == FS_STUCK ||
			    monotonic_ms() - start > 300000) {
				if (v.state != FS_COMPLETE) {
					eidf_error("job.batch/%s did not remove the .part files (%s); see: kubectl eidf "
						   "fetch logs %s", pname, v.state_text, pname);
				} else {
					cJSON *pp = NULL;
					struct fetch_progress p = { 0 };
					if (fetch_list_job_pods(kc, ns, pname, &pp) == 0 &&
					    cJSON_GetArraySize(cJSON_GetObjectItem(pp, "items")) > 0)
						fetch_scan_log(kc, ns, cJSON_GetArrayItem(cJSON_GetObjectItem(pp, "items"), 0),
							       -1, &p);
					char *sz = human_bytes(p.parts_bytes);
					printf("removed %zu .part file%s (%s) of %s from pvc/%s:/%s\n", p.nparts,
					       p.nparts == 1 ? "" : "s", sz, name, pvc, ndest);
					free(sz);
					fetch_progress_release(&p);
					cJSON_Delete(pp);
					rc = 0;
				}
				fetch_view_release(&v);
				break;
			}
			int wrc = wait_change(kc, ns, &v, poll_ms());
			fetch_view_release(&v);
			if (wrc < 0)
				sleep_ms(poll_ms());   /* only the early wake-up is lost */
		}
		if (rc == 0)
			kclient_delete(kc, &KRES_JOBS, ns, pname, "Background", 0);
	}
	cJSON_Delete(created);
	cJSON_Delete(pj);
	cJSON_Delete(cm);
	fetch_list_release(&l);
	free(run_id);
	free(ndest);
	return rc;
}

static int run_delete(struct eidf_cmd *cmd, int argc, const char **argv)
{
	if (!argc && !opt_completed && !opt_all_finished) {
		eidf_error("name the fetch jobs to delete, or use --completed / --finished");
		return 2;
	}
	if (argc && (opt_completed || opt_all_finished)) {
		eidf_error("give job names or --completed/--finished, not both");
		return 2;
	}
	const char *ns = cmd_namespace(cmd);
	struct kclient *kc = ns ? cmd_client(cmd) : NULL;
	if (!kc)
		return 1;
	int dry = dry_run_mode(opt_dry_run) != 0;
	const char *suffix = dry ? (dry_run_mode(opt_dry_run) == 2 ? " (server dry run)" : " (dry run)") : "";
	struct strvec names = STRVEC_INIT;
	int rc = 0;
	if (argc) {
		for (int i = 0; i < argc; i++) {
			cJSON *job = NULL;
			if (get_fetch_job(kc, ns, argv[i], &job) < 0) {
				rc = 1;
				continue;
			}
			strvec_push(&names, argv[i]);
			cJSON_Delete(job);
		}
	} else {
		cJSON *list = NULL;
		if (list_fetch_jobs(kc, ns, &list) < 0)
			return 1;
		cJSON *it, *pods = list_fetch_pods(kc, ns);
		if (!pods) {
			eidf_error("%s", eidf_last_error());
			cJSON_Delete(list);
			return 1;
		}
		/* as the pods say: a Job the controller has not marked yet counts */
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(list, "items")) {
			enum fetch_state st = job_state(it, pods);
			if (opt_all_finished ? fetch_state_finished(st) : fetch_state_ok(st))
				strvec_push(&names, json_str(it, "metadata.name"));
		}
		cJSON_Delete(pods);
		cJSON_Delete(list);
		if (!names.n)
			fprintf(stderr, "No %s fetch jobs in %s namespace.\n",
				opt_all_finished ? "finished" : "completed", ns);
	}
	if (opt_purge_partial && names.n && !dry) {
		/* the .part files first: the Job (and its list) must still be there */
		cJSON *jobs = NULL, *pods = NULL;
		if (list_fetch_jobs(kc, ns, &jobs) < 0 || !(pods = list_fetch_pods(kc, ns))) {
			if (pods == NULL && jobs)
				eidf_error("%s", eidf_last_error());
			cJSON_Delete(jobs);
			strvec_clear(&names);
			return 1;
		}
		struct strvec keep = STRVEC_INIT;
		const cJSON *items = cJSON_GetObjectItem(jobs, "items");
		for (size_t i = 0; i < names.n; i++) {
			const cJSON *it, *job = NULL;
			cJSON_ArrayForEach(it, items)
				if (json_str(it, "metadata.name") && !strcmp(json_str(it, "metadata.name"), names.v[i]))
					job = it;
			if (job && purge_partial(kc, ns, job, items, pods) == 0)
				strvec_push(&keep, names.v[i]);
			else
				rc = 1;   /* the Job stays: purge again later */
		}
		cJSON_Delete(pods);
		cJSON_Delete(jobs);
		strvec_clear(&names);
		names = keep;
	}
	for (size_t i = 0; i < names.n; i++) {
		if (dry_run_mode(opt_dry_run) == 1) {
			printf("job.batch \"%s\" deleted%s\n", names.v[i], suffix);
			continue;
		}
		if (kclient_delete(kc, &KRES_JOBS, ns, names.v[i], "Background", dry_run_mode(opt_dry_run) == 2) < 0) {
			eidf_error("%s", eidf_last_error());
			rc = 1;
			continue;
		}
		printf("job.batch \"%s\" deleted%s\n", names.v[i], suffix);
	}
	strvec_clear(&names);
	return rc;
}

/* ---- completion and main --------------------------------------------------- */

static void complete_jobs(const char *prefix, struct strvec *out, void *ctx)
{
	struct eidf_cmd *cmd = ctx;
	const char *ns = cmd ? cmd_namespace(cmd) : NULL;
	struct kclient *kc = ns ? cmd_client(cmd) : NULL;
	if (!kc)
		return;
	struct klist_opts lo = { .label_selector = FETCH_JOBS_SELECTOR };
	cJSON *list = NULL;
	if (kclient_list(kc, &KRES_JOBS, ns, &lo, &list) < 0)
		return;
	cJSON *it, *pods = list_fetch_pods(kc, ns);
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(list, "items")) {
		const char *name = json_str(it, "metadata.name");
		if (!name || !starts_with(name, prefix ? prefix : ""))
			continue;
		const char *pvc = fetch_annotation(it, FETCH_ANN_PVC);
		strvec_pushf(out, "%s\t%s into %s", name, fetch_state_word(job_state(it, pods)), pvc ? pvc : "?");
	}
	cJSON_Delete(pods);
	cJSON_Delete(list);
}

static const struct subcommand subcommands[] = {
	{ .name = NULL, .alias = "create", .summary = "start downloading URLs into a PVC (the default: fetch URL... --pvc NAME)",
	  .usage = "URL|s3://BUCKET/PREFIX|hf://[datasets/|spaces/]ORG/NAME[@REV][/PATH]... --pvc NAME [--dest DIR] "
		   "[--sha256 HEX | --checksums FILE] [--from-file LIST] [--include GLOB] [--exclude GLOB] "
		   "[--parallel N] [--extract] [--wait | --watch]",
	  .description =
		"Creates one Job that downloads every URL into the PVC and returns at once; the "
		"Job keeps going when you disconnect. Each file is downloaded to NAME.part with "
		"curl in a bounded retry loop that keeps partial data, verified against its "
		"sha256 when given, renamed into place and recorded in DEST/.eidf-fetch/, so "
		"pod restarts resume and re-runs skip finished files. http, https and ftp "
		"URLs are accepted, and two listed sources: s3://BUCKET/PREFIX (listed with "
		"ListObjectsV2 signed with AWS SigV4; the Job signs with the keys of --s3-secret; "
		"size and ETag checked) and hf://REPO (the revision pinned to its commit; LFS "
		"sha256 and git blob ids checked; token from --hf-token-secret). With --parallel N "
		"the list is shared among N pods of an Indexed Job. --wait exits 0 when the Job "
		"completed, 1 when it failed, 124 when --timeout passed or the API server stayed away "
		"for --reconnect-timeout, 130 on Ctrl-C (the Job goes on; how to follow or cancel it "
		"is printed).",
	  .options = create_opts, .args_complete = COMPLETE_NONE, .run = run_create },
	{ .name = "status", .summary = "progress of fetch jobs: files, bytes, rate, ETA, state",
	  .usage = "[JOB...] [--watch] [-o wide]",
	  .description = "Reads the Job and pod state and the progress lines of each pod's log. A failed "
			 "job shows why (HTTP status, sha256 mismatch, ...) and its failed files below the "
			 "table: the first few, or every one with -o wide.",
	  .options = status_opts, .args_complete = COMPLETE_CUSTOM, .args_complete_custom = complete_jobs,
	  .run = run_status },
	{ .name = "list", .alias = "ls", .summary = "recent fetch jobs with state and age",
	  .usage = "[-o wide|json|yaml|name]", .options = list_opts, .run = run_list },
	{ .name = "logs", .summary = "the log of a fetch job's pod(s)",
	  .usage = "JOB [-f] [--index I] [--tail N]", .options = logs_opts,
	  .args_complete = COMPLETE_CUSTOM, .args_complete_custom = complete_jobs, .run = run_logs },
	{ .name = "wait", .summary = "block until a fetch job finishes; exit 0 only on success",
	  .usage = "JOB... [--timeout DURATION]",
	  .description = "Exits 0 when every job completed, 1 when one failed, 124 when --timeout passed or the "
			 "API server stayed away for --reconnect-timeout (the job goes on), 130 on Ctrl-C.",
	  .options = wait_opts, .args_complete = COMPLETE_CUSTOM, .args_complete_custom = complete_jobs,
	  .run = run_wait },
	{ .name = "delete", .summary = "delete fetch jobs (downloaded files stay on the PVC)",
	  .usage = "JOB... | --completed | --finished [--purge-partial]",
	  .description = "Deletes the Jobs; the files they downloaded stay. A failed fetch also leaves "
			 "NAME.part files (kept so that a retry resumes; fetch list -o wide shows them): "
			 "--purge-partial removes those first, with a small Job on the same PVC, once the "
			 "fetch job has finished and no other fetch job writes into the same directory.",
	  .options = delete_opts,
	  .args_complete = COMPLETE_CUSTOM, .args_complete_custom = complete_jobs, .run = run_delete },
	{ .run = NULL },
};

static const struct stage fetch_stage = {
	.name = "fetch",
	.summary = "resumable, verified, parallel downloads into a PVC",
	.description = "kubectl eidf fetch URL... --pvc NAME starts a download Job and returns; "
		       "status, logs, wait and delete follow it.",
	.subcommands = subcommands,
	.options = NULL,
};

/* `fetch URL...` and `fetch create URL...` are the same default command. */
int main(int argc, char **argv)
{
	settings_set_known(eidf_settings_keys); /* docs/configuration.md */
	int rc = stage_main(&fetch_stage, argc, argv);
	strvec_clear(&opt_headers);
	return rc;
}
