/* build-context submit and status; see submit.h and docs/build-context.md. */
#include "submit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "context_tar.h"
#include "eidf/waiting.h"
#include "eidf/stage_options.h"
#include "eidf/cmd.h"
#include "eidf/humanize.h"
#include "eidf/jobstate.h"
#include "eidf/job_final.h"
#include "eidf/job_list.h"
#include "eidf/image_ref.h"
#include "eidf/kevents.h"
#include "eidf/kexec_upload.h"
#include "eidf/manifest.h"
#include "eidf/output.h"
#include "eidf/prereq.h"
#include "eidf/settings.h"

static const char *const transports[] = { "auto", "secret", "exec", NULL };
static const char *opt_image, *opt_file, *opt_secret, *opt_builder, *opt_helper, *opt_cpu,
	*opt_memory, *opt_dry_run, *opt_output, *opt_timeout, *opt_transport, *opt_upload_timeout,
	*opt_executor_command, *opt_max_context;
static int opt_follow, opt_detach, opt_cache;

const struct option submit_opts[] = {
	{ .type = OPT_TYPE_STRING, .long_name = "image", .value = &opt_image, .argh = "reg/name:tag",
	  .help = "image to build and push", .flags = OPT_REQUIRED, .complete = COMPLETE_IMAGE },
	OPT_STRING('f', "file", &opt_file, "Dockerfile", "Dockerfile (default DIR/Dockerfile)", COMPLETE_FILE),
	OPT_STRING(0, "registry-secret", &opt_secret, "name",
		   "dockerconfigjson Secret used to push (see `secret create`)", COMPLETE_NONE),
	OPT_STRING(0, "builder-image", &opt_builder, "image",
		   "Kaniko executor image (default " SUBMIT_DEFAULT_BUILDER ")", COMPLETE_IMAGE),
	OPT_STRING(0, "executor-command", &opt_executor_command, "cmd",
		   "command run in the builder image instead of its entrypoint, split at spaces "
		   "(custom builders and tests; setting build-context.executor-command)", COMPLETE_NONE),
	OPT_STRING(0, "helper-image", &opt_helper, "image",
		   "image of the init container that receives the context (default " SUBMIT_DEFAULT_HELPER ")",
		   COMPLETE_IMAGE),
	{ .type = OPT_TYPE_STRING, .long_name = "cpu", .value = &opt_cpu, .argh = "quantity",
	  .help = "builder cpu request and limit", .defval = "2" },
	OPT_SIZE(0, "memory", &opt_memory, "builder memory request and limit", "4Gi"),
	OPT_BOOL(0, "cache", &opt_cache, "use Kaniko's layer cache (--cache=true)"),
	{ .type = OPT_TYPE_BOOL, .long_name = "follow", .value = &opt_follow,
	  .help = "stream the build log and exit with its result (--detach turns it off)", .defval = "true" },
	OPT_BOOL(0, "detach", &opt_detach, "return once the Job is created (and the context uploaded)"),
	OPT_ENUM(0, "transport", &opt_transport, "how",
		 "how the context reaches the cluster: auto (default: Secrets up to --max-context, "
		 "else exec), secret or exec", transports),
	OPT_SIZE(0, "max-context", &opt_max_context,
		 "largest gzipped context sent through Secrets (at most 64Mi)", "8Mi"),
	OPT_DURATION(0, "upload-timeout", &opt_upload_timeout,
		     "exec transport: limit for the pod to start and the upload to finish", "10m"),
	OPT_DURATION(0, "timeout", &opt_timeout, "stop following after this long (exit 124; the build goes on)", "1h"),
	OPT_DRY_RUN(&opt_dry_run),
	OPT_ENUM('o', "output", &opt_output, "format", "print the objects (with --dry-run), else the Job alone on "
		 "stdout: as created with --detach, as the build left it when followed (the build log then goes "
		 "to stderr): json, yaml or name", output_formats),
	OPT_SHOW_MANAGED_FIELDS(),
	OPT_INCLUDE(wait_options),
	OPT_GROUP("Job policy"), OPT_INCLUDE(policy_options),
	OPT_INCLUDE(kube_options),
	OPT_END(),
};

static const char *opt_list_output;
static int opt_no_headers;
const struct option list_opts[] = {
	OPT_OUTPUT(&opt_list_output),
	OPT_BOOL(0, "no-headers", &opt_no_headers, "do not print the table header"),
	OPT_INCLUDE(kube_options),
	OPT_END(),
};

const struct option status_opts[] = {
	OPT_BOOL(0, "follow", &opt_follow, "stream the build log and exit with its result"),
	OPT_DURATION(0, "timeout", &opt_timeout, "stop following after this long (exit 124; the build goes on)", "1h"),
	OPT_INCLUDE(wait_options), OPT_INCLUDE(kube_options),
	OPT_END(),
};

/* ---- the objects ------------------------------------------------------------ */

#define CONTEXT_FILE "/workspace/context.tar.gz"
#define UPLOADED_MARK "/workspace/.context-uploaded"

/* Shared tail of both init container scripts: the digest check. */
#define CHECK_SCRIPT \
	"got=$(gzip -dc \"$out\" | sha256sum | cut -d' ' -f1)\n" \
	"if [ \"$got\" != \"$DIGEST\" ]; then\n" \
	"  echo \"error: context digest mismatch: received sha256:$got, sent sha256:$DIGEST\" >&2\n" \
	"  exit 4\n" \
	"fi\n"

/* The init container's scripts (busybox sh; no bash needed). */
static const char receive_secret_script[] =
	"set -eu\n"
	"out=" CONTEXT_FILE "\n"
	": > \"$out\"\n"
	"i=0\n"
	"while [ \"$i\" -lt \"$CHUNKS\" ]; do\n"
	"  f=/eidf/context/$i/chunk\n"
	"  [ -f \"$f\" ] || { echo \"error: context chunk $i of $CHUNKS is missing ($f)\" >&2; exit 3; }\n"
	"  cat \"$f\" >> \"$out\"\n"
	"  i=$((i+1))\n"
	"done\n"
	CHECK_SCRIPT
	"echo \"context sha256:$got received in $CHUNKS chunk(s)\"\n";

static const char receive_exec_script[] =
	"set -eu\n"
	"out=" CONTEXT_FILE "\n"
	"echo \"waiting up to ${UPLOAD_TIMEOUT}s for the build context (kubectl exec -i)\"\n"
	"n=0\n"
	"while [ ! -f " UPLOADED_MARK " ]; do\n"
	"  if [ \"$n\" -ge \"$UPLOAD_TIMEOUT\" ]; then\n"
	"    echo \"error: no build context was uploaded within ${UPLOAD_TIMEOUT}s\" >&2\n"
	"    exit 5\n"
	"  fi\n"
	"  sleep 1\n"
	"  n=$((n+1))\n"
	"done\n"
	CHECK_SCRIPT
	"echo \"context sha256:$got received through kubectl exec\"\n";

char *submit_exec_receive_command(unsigned long long size)
{
	/* The mark is written only for a complete upload, so an interrupted
	 * stream never reaches the digest check as a truncated file.  head -c:
	 * the stream's stdin cannot be closed under the v4 exec protocol, so
	 * the command stops at the size, not at EOF. */
	return xasprintf("set -e; p=" CONTEXT_FILE ".part; head -c %llu > \"$p\"; n=$(wc -c < \"$p\"); "
			 "if [ \"$n\" -ne %llu ]; then echo \"error: received $n of %llu bytes\" >&2; exit 3; fi; "
			 "mv \"$p\" " CONTEXT_FILE "; : > " UPLOADED_MARK "; echo \"received $n bytes\"",
			 size, size, size);
}

static void label_common(cJSON *obj, const struct submit_spec *s)
{
	manifest_set_label(obj, LABEL_MANAGED_BY, MANAGED_BY);
	manifest_set_label(obj, LABEL_STAGE, "build-context");
	manifest_set_label(obj, LABEL_RUN, s->run_id);
	if (s->eidf_user)
		manifest_set_label(obj, LABEL_EIDF_USER, s->eidf_user);
}

cJSON *submit_objects(const struct submit_spec *s, const void *gz, size_t len)
{
	cJSON *items;
	cJSON *list = manifest_list(&items);
	size_t nchunks = s->exec_transport ? 0 : len ? (len + SUBMIT_CHUNK - 1) / SUBMIT_CHUNK : 1;

	for (size_t i = 0; i < nchunks; i++) {
		size_t off = i * SUBMIT_CHUNK, n = len - off < SUBMIT_CHUNK ? len - off : SUBMIT_CHUNK;
		if (!len)
			n = 0;
		cJSON *sec = cJSON_CreateObject();
		cJSON_AddStringToObject(sec, "apiVersion", "v1");
		cJSON_AddStringToObject(sec, "kind", "Secret");
		cJSON *md = cJSON_AddObjectToObject(sec, "metadata");
		char *name = xasprintf("build-context-%s-%zu", s->run_id, i);
		cJSON_AddStringToObject(md, "name", name);
		free(name);
		if (s->namespace)
			cJSON_AddStringToObject(md, "namespace", s->namespace);
		label_common(sec, s);
		manifest_set_annotation(sec, "eidf.ac.uk/context-digest", s->digest);
		cJSON_AddStringToObject(sec, "type", "Opaque");
		char *b64 = base64_encode((const char *)gz + (len ? off : 0), n);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(sec, "data"), "chunk", b64);
		free(b64);
		cJSON_AddItemToArray(items, sec);
	}

	struct job_policy pol = {
		.namespace = s->namespace, .queue = s->queue, .stage = "build-context", .eidf_user = s->eidf_user,
		.run_id = s->run_id, .ttl_seconds = s->ttl_seconds, .backoff_limit = 0,
	};
	cJSON *job = manifest_job(&pol, "build-context-");
	manifest_set_annotation(job, "eidf.ac.uk/context-digest", s->digest);
	manifest_set_annotation(job, "eidf.ac.uk/image", s->image);
	manifest_set_annotation(job, "eidf.ac.uk/context-transport", s->exec_transport ? "exec" : "secret");

	struct container_resources small = { "100m", NULL, "256Mi", NULL, 0 };
	cJSON *recv = manifest_container(SUBMIT_RECEIVER, s->helper_image, &small);
	cJSON *cmdv = cJSON_AddArrayToObject(recv, "command");
	cJSON_AddItemToArray(cmdv, cJSON_CreateString("sh"));
	cJSON_AddItemToArray(cmdv, cJSON_CreateString("-c"));
	cJSON_AddItemToArray(cmdv, cJSON_CreateString(s->exec_transport ? receive_exec_script
									: receive_secret_script));
	if (s->exec_transport) {
		char *t = xasprintf("%ld", s->upload_timeout_s);
		manifest_add_env(recv, "UPLOAD_TIMEOUT", t);
		free(t);
	} else {
		char *nc = xasprintf("%zu", nchunks);
		manifest_add_env(recv, "CHUNKS", nc);
		free(nc);
	}
	manifest_add_env(recv, "DIGEST", s->digest);
	manifest_add_mount(recv, "workspace", "/workspace", 0);
	for (size_t i = 0; i < nchunks; i++) {
		char *vol = xasprintf("context-%zu", i), *path = xasprintf("/eidf/context/%zu", i);
		manifest_add_mount(recv, vol, path, 1);
		cJSON *v = cJSON_CreateObject();
		cJSON_AddStringToObject(v, "name", vol);
		char *sn = xasprintf("build-context-%s-%zu", s->run_id, i);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(v, "secret"), "secretName", sn);
		free(sn);
		manifest_add_volume(job, v);
		free(vol);
		free(path);
	}
	manifest_add_container(job, recv, 1);

	struct container_resources big = { s->cpu, NULL, s->memory, NULL, 0 };
	cJSON *build = manifest_container("build", s->builder_image, &big);
	if (s->executor_command && s->executor_command[0]) {
		cJSON *c = cJSON_AddArrayToObject(build, "command");
		for (const char *const *a = s->executor_command; *a; a++)
			cJSON_AddItemToArray(c, cJSON_CreateString(*a));
	}
	cJSON *args = cJSON_AddArrayToObject(build, "args");
	cJSON_AddItemToArray(args, cJSON_CreateString("--context=tar://" CONTEXT_FILE));
	char *a = xasprintf("--dockerfile=%s", s->dockerfile);
	cJSON_AddItemToArray(args, cJSON_CreateString(a));
	free(a);
	a = xasprintf("--destination=%s", s->image);
	cJSON_AddItemToArray(args, cJSON_CreateString(a));
	free(a);
	cJSON_AddItemToArray(args, cJSON_CreateString("--custom-platform=linux/amd64"));
	if (s->cache)
		cJSON_AddItemToArray(args, cJSON_CreateString("--cache=true"));
	manifest_add_mount(build, "workspace", "/workspace", 0);
	if (s->registry_secret) {
		/* Kaniko reads $DOCKER_CONFIG/config.json, DOCKER_CONFIG=/kaniko/.docker */
		manifest_add_mount(build, "docker-config", "/kaniko/.docker", 1);
		cJSON *v = cJSON_CreateObject();
		cJSON_AddStringToObject(v, "name", "docker-config");
		cJSON *sv = cJSON_AddObjectToObject(v, "secret");
		cJSON_AddStringToObject(sv, "secretName", s->registry_secret);
		cJSON *it = cJSON_CreateObject();
		cJSON_AddStringToObject(it, "key", ".dockerconfigjson");
		cJSON_AddStringToObject(it, "path", "config.json");
		cJSON *arr = cJSON_AddArrayToObject(sv, "items");
		cJSON_AddItemToArray(arr, it);
		manifest_add_volume(job, v);
	}
	manifest_add_container(job, build, 0);
	manifest_add_volume(job, manifest_volume_empty_dir("workspace", NULL, "20Gi"));
	cJSON_AddItemToArray(items, job);
	return list;
}

/* ---- the context, in a temporary file ----------------------------------------- */

struct tmpout {
	int fd;
	uint64_t len, max; /* max 0: no limit */
};

static int to_tmp(const void *d, size_t n, void *ud)
{
	struct tmpout *t = ud;
	if (t->max && t->len + n > t->max) {
		eidf_set_error("the gzipped context is over %llu MiB, the most submit sends through Secrets; "
			       "use --transport exec (or auto), trim it with .dockerignore (see "
			       "`kubectl eidf build-context --summary`) or raise --max-context",
			       (unsigned long long)(t->max >> 20));
		return -1;
	}
	const char *p = d;
	while (n) {
		ssize_t w = write(t->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			eidf_set_error("writing the context to a temporary file: %s", strerror(errno));
			return -1;
		}
		p += w;
		n -= (size_t)w;
		t->len += (uint64_t)w;
	}
	return 0;
}

static int tmp_open(void)
{
	const char *dir = getenv("TMPDIR");
	char *path = xasprintf("%s/kubectl-eidf-context-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0)
		eidf_set_error("cannot create a temporary file in %s: %s", dir && *dir ? dir : "/tmp",
			       strerror(errno));
	else
		unlink(path); /* gone when we exit, whatever happens */
	free(path);
	return fd;
}

static int read_all_fd(int fd, struct strbuf *sb)
{
	char buf[65536];
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (!n)
			return 0;
		strbuf_add(sb, buf, (size_t)n);
	}
}

static void random_id(char out[9])
{
	unsigned char b[4] = { 0 };
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b)) {
		unsigned v = (unsigned)time(NULL) ^ (unsigned)getpid();
		memcpy(b, &v, sizeof(b));
	}
	if (fd >= 0)
		close(fd);
	snprintf(out, 9, "%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
}

/* ---- the pod, as far as following a build is concerned ------------------------ */

enum cstate { C_NONE, C_WAITING, C_RUNNING, C_DONE };

struct pod_view {
	char *name;
	char *phase;
	char *unschedulable;  /* PodScheduled=False message */
	enum cstate recv, build;
	long recv_code, build_code;
	char *recv_waiting, *build_waiting; /* waiting reasons, e.g. ErrImagePull */
	char *build_message;
};

static void pod_view_release(struct pod_view *v)
{
	free(v->name);
	free(v->phase);
	free(v->unschedulable);
	free(v->recv_waiting);
	free(v->build_waiting);
	free(v->build_message);
	memset(v, 0, sizeof(*v));
}

static enum cstate container_state(const cJSON *cs, long *code, char **waiting, char **message)
{
	if (json_get(cs, "state.terminated")) {
		*code = json_long(cs, "state.terminated.exitCode", 0);
		if (message && json_str(cs, "state.terminated.message"))
			*message = xstrdup(json_str(cs, "state.terminated.message"));
		return C_DONE;
	}
	if (json_get(cs, "state.running"))
		return C_RUNNING;
	if (waiting && json_str(cs, "state.waiting.reason")) {
		const char *r = json_str(cs, "state.waiting.reason"), *m = json_str(cs, "state.waiting.message");
		*waiting = m ? xasprintf("%s: %s", r, m) : xstrdup(r);
	}
	return cs ? C_WAITING : C_NONE;
}

/* The newest pod of PODS (a pod List) in V: 0 found, 1 none. */
static int pod_view_from(const cJSON *pods, struct pod_view *v)
{
	pod_view_release(v);
	const cJSON *p = NULL, *it;
	cJSON_ArrayForEach(it, json_get(pods, "items")) {
		const char *ts = json_str(it, "metadata.creationTimestamp");
		if (!p || (ts && json_str(p, "metadata.creationTimestamp") &&
			   strcmp(ts, json_str(p, "metadata.creationTimestamp")) > 0))
			p = it;
	}
	if (!p)
		return 1;
	v->name = xstrdup(json_str(p, "metadata.name"));
	v->phase = xstrdup(json_str(p, "status.phase"));
	const cJSON *c;
	cJSON_ArrayForEach(c, json_get(p, "status.conditions")) {
		const char *t = json_str(c, "type"), *st = json_str(c, "status");
		if (t && st && !strcmp(t, "PodScheduled") && !strcmp(st, "False") && json_str(c, "message"))
			v->unschedulable = xstrdup(json_str(c, "message"));
	}
	const cJSON *cs;
	cJSON_ArrayForEach(cs, json_get(p, "status.initContainerStatuses"))
		if (json_str(cs, "name") && !strcmp(json_str(cs, "name"), SUBMIT_RECEIVER))
			v->recv = container_state(cs, &v->recv_code, &v->recv_waiting, NULL);
	cJSON_ArrayForEach(cs, json_get(p, "status.containerStatuses"))
		if (json_str(cs, "name") && !strcmp(json_str(cs, "name"), "build"))
			v->build = container_state(cs, &v->build_code, &v->build_waiting, &v->build_message);
	return 0;
}

/* One read of a build: its Job and its pods, the state derived from both by
 * the shared job-state derivation (eidf/jobstate.h: a pod that ended is the
 * build's end, whenever the job controller gets to record it), and the
 * newest pod's containers for the words. */
struct build_view {
	cJSON *job, *pods;
	struct jobstate_info st;
	int has_pod;
	struct pod_view v;
};

static void build_view_release(struct build_view *b)
{
	cJSON_Delete(b->job);
	cJSON_Delete(b->pods);
	b->job = b->pods = NULL;
	pod_view_release(&b->v);
	b->has_pod = 0;
}

/* 0, or -1 on an API error (the error is set). */
static int build_view_read(struct kclient *kc, const char *ns, const char *job, const char *run_id,
			   struct build_view *b)
{
	build_view_release(b);
	char *sel = xasprintf("%s=%s", LABEL_RUN, run_id);
	struct klist_opts lo = { .label_selector = sel };
	int rc = kclient_get(kc, &KRES_JOBS, ns, job, &b->job) < 0 ||
		 kclient_list(kc, &KRES_PODS, ns, &lo, &b->pods) < 0 ? -1 : 0;
	free(sel);
	if (rc < 0)
		return -1;
	jobstate_derive(b->job, b->pods, &b->st);
	b->has_pod = pod_view_from(b->pods, &b->v) == 0;
	return 0;
}

/* Where a build that has not ended is, in words: never "receiving the
 * context" before the pod is scheduled and its init container runs. */
static char *status_line(const struct build_view *b)
{
	const struct jobstate_info *st = &b->st;
	const struct pod_view *v = b->has_pod ? &b->v : NULL;
	const char *pod = v && v->name ? v->name : "?";
	switch (st->state) {
	case JOBSTATE_QUEUED:
		return xstrdup("queued (waiting for Kueue to admit it)");
	case JOBSTATE_PENDING:
		return xstrdup("pending (no pod is scheduled yet)");
	case JOBSTATE_UNSCHEDULABLE:
		return xasprintf("pending: pod %s is not scheduled: %s", pod, st->message ? st->message : "no node fits");
	case JOBSTATE_STARTING:
	case JOBSTATE_RUNNING:
		if (v && v->recv == C_RUNNING)
			return xasprintf("receiving the context in pod %s", pod);
		if (v && v->recv == C_DONE && v->build == C_RUNNING)
			return xasprintf("building in pod %s", pod);
		if (v && v->recv == C_DONE)
			return xasprintf("starting the builder in pod %s%s%s", pod,
					 v->build_waiting ? ": " : "", v->build_waiting ? v->build_waiting : "");
		return xasprintf("starting pod %s%s%s", pod, v && v->recv_waiting ? ": " : "",
				 v && v->recv_waiting ? v->recv_waiting : "");
	case JOBSTATE_RETRYING:
		return xasprintf("retrying (a pod failed%s%s)", st->reason ? ": " : "", st->reason ? st->reason : "");
	default: /* the ends are reported by the caller */
		return xstrdup(jobstate_word(st->state));
	}
}

static int to_strbuf(const char *data, size_t len, void *ud)
{
	strbuf_add(ud, data, len);
	return 0;
}

/* -o: how long the Job may take to record an end its pod already shows */
#define FINAL_JOB_WAIT_MS 30000

/* where a followed build's log goes: stderr when -o makes stdout the Job's */
static FILE *build_log_out;

static int log_to_stdout(const char *data, size_t len, void *ud)
{
	FILE *out = build_log_out ? build_log_out : stdout;
	(void)ud;
	fwrite(data, 1, len, out);
	fflush(out);
	return 0;
}

/* The last line starting with "error:" in a log (without the prefix),
 * else its last line. */
static char *log_reason(const char *log)
{
	const char *best = NULL, *last = NULL, *p = log;
	size_t best_len = 0, last_len = 0;
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n) {
			last = p;
			last_len = n;
			if (n >= 6 && !strncmp(p, "error:", 6)) {
				best = p + 6;
				best_len = n - 6;
				while (best_len && *best == ' ') {
					best++;
					best_len--;
				}
			}
		}
		p += n + (e ? 1 : 0);
	}
	if (best)
		return xstrndup(best, best_len);
	return last ? xstrndup(last, last_len) : NULL;
}

/* The receive-context failure: its log to stderr, one error line naming
 * the step and the reason. */
static void report_receive_failure(struct kclient *kc, const char *ns, const struct pod_view *v)
{
	struct strbuf log = STRBUF_INIT;
	struct klog_opts o = { .container = SUBMIT_RECEIVER, .tail_lines = 20 };
	if (kclient_logs(kc, ns, v->name, &o, to_strbuf, &log) == 0 && log.len) {
		fputs("--- log of init container " SUBMIT_RECEIVER " ---\n", stderr);
		fwrite(log.buf, 1, log.len, stderr);
		if (log.buf[log.len - 1] != '\n')
			fputc('\n', stderr);
	}
	char *why = log.len ? log_reason(log.buf) : NULL;
	eidf_error("receiving the build context failed in pod %s (init container " SUBMIT_RECEIVER
		   ", exit code %ld): %s", v->name, v->recv_code, why ? why : "no log");
	free(why);
	strbuf_release(&log);
}

/* Polls (one a second) between reads of a waiting pod's events. */
#define POD_EVENTS_EVERY 5

/* Follow (or, follow == 0, describe) a build.  Returns the exit code:
 * 0 succeeded, the executor's exit code when it failed,
 * EIDF_EXIT_STOPPED_WAITING after timeout_ms, 1 otherwise. */
static int follow_build(struct kclient *kc, const char *ns, const char *job, const char *run_id,
			long timeout_ms, int follow)
{
	int64_t start = monotonic_ms();
	int streamed = 0, ret = EIDF_EXIT_ERROR, said_queued = 0, quiet_polls = 0;
	char *said_waiting = NULL, *said_event = NULL;
	struct build_view b = { 0 };
	const struct pod_view *v = &b.v;
	for (;;) {
		if (build_view_read(kc, ns, job, run_id, &b) < 0) {
			if (!wait_stopped())
				eidf_error("%s", eidf_last_error());
			break;
		}
		const struct jobstate_info *st = &b.st;
		if (b.has_pod && v->recv == C_DONE && v->recv_code != 0) {
			report_receive_failure(kc, ns, v);
			break;
		}
		if (b.has_pod && (v->build == C_RUNNING || v->build == C_DONE) && !streamed && follow) {
			struct klog_opts o = { .container = "build", .follow = 1, .tail_lines = -1 };
			streamed = 1;
			if (kclient_logs(kc, ns, v->name, &o, log_to_stdout, NULL) < 0 && !wait_stopped())
				eidf_warning("the build log stream ended early: %s", eidf_last_error());
			if (wait_stopped())
				break;
			continue; /* re-read the state the stream ended in */
		}
		if (st->state == JOBSTATE_SUCCEEDED || st->state == JOBSTATE_COMPLETING) {
			fprintf(follow ? stderr : stdout, "job/%s: build succeeded\n", job);
			ret = EIDF_EXIT_OK;
			break;
		}
		if (st->state == JOBSTATE_FAILED || st->state == JOBSTATE_FAILING) {
			if (b.has_pod && v->build == C_DONE && v->build_code != 0) {
				eidf_error("job/%s: the build failed: container build exited with code %ld%s%s; "
					   "log: kubectl logs job/%s -c build -n %s", job, v->build_code,
					   v->build_message ? ": " : "", v->build_message ? v->build_message : "", job, ns);
				ret = v->build_code > 0 && v->build_code < 256 ? (int)v->build_code : EIDF_EXIT_ERROR;
			} else {
				eidf_error("job/%s failed: %s%s%s", job, st->reason ? st->reason : "no reason given",
					   st->message ? ": " : "", st->message ? st->message : "");
			}
			break;
		}
		if (st->state == JOBSTATE_STUCK) {
			/* the kubelet retries for ever: nothing changes without the user */
			eidf_error("job/%s cannot start: pod %s, %scontainer %s: %s%s%s; fix it, submit again and "
				   "delete this one: kubectl delete job %s -n %s", job, b.has_pod ? v->name : "?",
				   st->init ? "init " : "", st->container ? st->container : "?",
				   st->reason ? st->reason : "", st->message ? ": " : "", st->message ? st->message : "",
				   job, ns);
			break;
		}
		/* still going: say what it waits for, once per reason */
		char *wait_msg = NULL;
		if (st->state == JOBSTATE_QUEUED && !said_queued) {
			fprintf(stderr, "job/%s: queued (waiting for Kueue to admit it)\n", job);
			said_queued = 1;
		} else if (st->state == JOBSTATE_UNSCHEDULABLE) {
			wait_msg = xasprintf("pod %s is not scheduled: %s", b.has_pod ? v->name : "?",
					     st->message ? st->message : "no node fits");
		} else if (st->state == JOBSTATE_RETRYING) {
			wait_msg = xasprintf("retrying: a pod failed%s%s", st->reason ? ": " : "",
					     st->reason ? st->reason : "");
		} else if (b.has_pod && v->recv_waiting) {
			wait_msg = xasprintf("pod %s, init container " SUBMIT_RECEIVER ": %s", v->name,
					     v->recv_waiting);
		} else if (b.has_pod && v->build_waiting && v->recv == C_DONE) {
			wait_msg = xasprintf("pod %s, container build: %s", v->name, v->build_waiting);
		}
		if (wait_msg && (!said_waiting || strcmp(said_waiting, wait_msg))) {
			fprintf(stderr, "job/%s: waiting: %s\n", job, wait_msg);
			free(said_waiting);
			said_waiting = wait_msg;
		} else {
			free(wait_msg);
		}
		/* a pod that does not start says why only in its events
		 * (FailedMount of a missing Secret): read them now and then */
		if (b.has_pod && v->recv != C_RUNNING && v->recv != C_DONE &&
		    (!follow || ++quiet_polls % POD_EVENTS_EVERY == 0)) {
			struct kevent_warning w;
			if (kevents_latest_warning(kc, ns, "Pod", v->name,
						   v->unschedulable ? "FailedScheduling" : NULL, &w) == 1) {
				char *m = xasprintf("pod %s: %s: %s", v->name, w.reason, w.message);
				if (!said_event || strcmp(said_event, m)) {
					fprintf(stderr, "job/%s: waiting: %s\n", job, m);
					free(said_event);
					said_event = m;
				} else {
					free(m);
				}
				kevent_warning_release(&w);
			}
		}
		if (!follow) {
			char *line = status_line(&b);
			printf("job/%s: %s\n", job, line);
			free(line);
			ret = EIDF_EXIT_OK;
			break;
		}
		if (timeout_ms > 0 && monotonic_ms() - start > timeout_ms) {
			ret = EIDF_EXIT_STOPPED_WAITING; /* wait_end() says it goes on, and how to follow it */
			break;
		}
		wait_sleep_ms(1000);
		if (wait_stopped())
			break;
	}
	free(said_waiting);
	free(said_event);
	build_view_release(&b);
	return ret;
}

/* follow_build() inside the shared waiting behaviour (eidf/waiting.h): API
 * outages ridden out, Ctrl-C and --timeout end with how to follow or cancel. */
static int follow_build_waiting(struct eidf_cmd *cmd, const char *ns, const char *job,
				const char *run_id, long timeout_ms)
{
	char *subject = xasprintf("job.batch/%s", job);
	char *follow = xasprintf("kubectl eidf build-context status --follow %s -n %s", job, ns);
	char *logs = xasprintf("kubectl logs -f job/%s -c build -n %s", job, ns);
	char *cancel = xasprintf("kubectl delete job %s -n %s", job, ns);
	char *limit = opt_timeout ? xasprintf("--timeout %s", opt_timeout) : xstrdup("--timeout 1h (default)");
	struct wait_hints h = { .subject = subject, .timeout = limit,
				.follow = follow, .logs = logs, .cancel = cancel };
	int ret = EIDF_EXIT_ERROR;
	/* the limit armed here stops a build log being streamed too (follow_build
	 * itself looks at the clock only between polls) */
	if (wait_begin(cmd, &h, timeout_ms) == 0)
		ret = wait_end(follow_build(cmd_client(cmd), ns, job, run_id, timeout_ms, 1));
	free(limit);
	free(subject);
	free(follow);
	free(logs);
	free(cancel);
	return ret;
}

/* ---- the exec transport ------------------------------------------------------- */

/* Wait until the init container runs: 0 (pod name in *pod), -1 error. */
static int wait_for_receiver(struct kclient *kc, const char *ns, const char *job, const char *run_id,
			     int64_t deadline, char **pod)
{
	struct build_view b = { 0 };
	const struct pod_view *v = &b.v;
	char *said = NULL;
	int ret = -1;
	for (;;) {
		if (build_view_read(kc, ns, job, run_id, &b) < 0)
			break;
		const struct jobstate_info *st = &b.st;
		if (b.has_pod && v->recv == C_RUNNING) {
			*pod = xstrdup(v->name);
			ret = 0;
			break;
		}
		if (b.has_pod && v->recv == C_DONE) {
			eidf_set_error("init container " SUBMIT_RECEIVER " of pod %s ended (exit code %ld) before "
				       "the context was uploaded", v->name, v->recv_code);
			break;
		}
		if (jobstate_done(st->state)) {
			eidf_set_error("job/%s ended before the context was uploaded: %s%s%s%s%s", job,
				       jobstate_word(st->state), st->reason ? ": " : "", st->reason ? st->reason : "",
				       st->message ? ": " : "", st->message ? st->message : "");
			break;
		}
		char *msg = st->state == JOBSTATE_QUEUED ? xasprintf("queued (waiting for Kueue to admit job/%s)", job)
			: !b.has_pod ? xasprintf("waiting for the pod of job/%s", job)
			: v->unschedulable ? xasprintf("pod %s is not scheduled: %s", v->name, v->unschedulable)
			: v->recv_waiting ? xasprintf("pod %s: %s", v->name, v->recv_waiting)
			: xasprintf("waiting for pod %s to start", v->name);
		if (!said || strcmp(said, msg)) {
			fprintf(stderr, "%s\n", msg);
			free(said);
			said = msg;
		} else {
			free(msg);
		}
		if (monotonic_ms() > deadline) {
			eidf_set_error("waiting for the init container " SUBMIT_RECEIVER " of job/%s to start: "
				       "timed out (last state: %s); raise --upload-timeout", job, said);
			break;
		}
		sleep_ms(500);
	}
	free(said);
	build_view_release(&b);
	return ret;
}

/* Stream the file fd (size bytes) into the init container's receiving command. */
static int upload_context(struct kclient *kc, const char *ns, const char *pod, int fd, uint64_t size,
			  int64_t deadline)
{
	char *command = submit_exec_receive_command((unsigned long long)size);
	struct kexec_upload u = {
		.ns = ns, .pod = pod, .container = SUBMIT_RECEIVER, .command = command,
		.fd = fd, .size = size, .deadline_ms = deadline, .what = "build context",
		.label = "context", .timeout_hint = "raise --upload-timeout",
		.refused_hint = "use --transport secret (with --max-context up to 64Mi)",
	};
	int rc = kexec_upload(kc, &u);
	free(command);
	return rc;
}

/* ---- submit ------------------------------------------------------------------- */

static void split_words(const char *s, struct strvec *out)
{
	while (s && *s) {
		while (*s == ' ' || *s == '\t')
			s++;
		size_t n = strcspn(s, " \t");
		if (n)
			strvec_push_owned(out, xstrndup(s, n));
		s += n;
	}
}

static void own_secrets(struct kclient *kc, const char *ns, cJSON *items, int n, const char *jname,
			const char *uid)
{
	/* The Secrets go when the Job goes (garbage collection by ownerReferences). */
	for (int i = 0; i < n; i++) {
		cJSON *patch = cJSON_CreateObject();
		cJSON *ref = cJSON_CreateObject();
		cJSON_AddStringToObject(ref, "apiVersion", "batch/v1");
		cJSON_AddStringToObject(ref, "kind", "Job");
		cJSON_AddStringToObject(ref, "name", jname);
		cJSON_AddStringToObject(ref, "uid", uid);
		cJSON *refs = cJSON_AddArrayToObject(cJSON_AddObjectToObject(patch, "metadata"), "ownerReferences");
		cJSON_AddItemToArray(refs, ref);
		const char *sn = json_str(cJSON_GetArrayItem(items, i), "metadata.name");
		if (kclient_patch_merge(kc, &KRES_SECRETS, ns, sn, patch, NULL) < 0)
			eidf_warning("could not make secret/%s owned by job/%s (delete it yourself when the build "
				     "is done): %s", sn, jname, eidf_last_error());
		cJSON_Delete(patch);
	}
}

int run_submit(struct eidf_cmd *cmd, int argc, const char **argv)
{
	if (argc > 1) {
		eidf_error("submit takes one directory, got %d arguments", argc);
		return EIDF_EXIT_USAGE;
	}
	/* checked like init does, before anything is built or sent */
	if (image_ref_check(opt_image) < 0) {
		eidf_error("--image: %s", eidf_last_error());
		return EIDF_EXIT_USAGE;
	}
	if (strchr(opt_image, '@')) {
		eidf_error("--image: a build pushes a tag, not a digest: use REGISTRY/NAME:TAG");
		return EIDF_EXIT_USAGE;
	}
	{
		const char *imgs[][2] = { { "--builder-image", opt_builder }, { "--helper-image", opt_helper } };
		for (size_t i = 0; i < EIDF_ARRAY_SIZE(imgs); i++)
			if (imgs[i][1] && image_ref_check(imgs[i][1]) < 0) {
				eidf_error("%s: %s", imgs[i][0], eidf_last_error());
				return EIDF_EXIT_USAGE;
			}
	}
	if (opt_follow && opt_detach) {
		eidf_error("--follow and --detach exclude each other");
		return EIDF_EXIT_USAGE;
	}
	enum output_format fmt;
	if (output_format_parse(opt_output, &fmt) < 0) {
		eidf_error("%s", eidf_last_error());
		return EIDF_EXIT_USAGE;
	}
	int dry = dry_run_mode(opt_dry_run);
	/* -o without a dry run: stdout is the Job alone, as created (--detach) or
	 * as the build left it; the messages and the build log go to stderr */
	int print_job = !dry && fmt != OUT_DEFAULT;
	if (print_job && fmt == OUT_WIDE) {
		eidf_error("-o wide is a table format (build-context list -o wide); submit prints its Job "
			   "with -o json, yaml or name");
		return EIDF_EXIT_USAGE;
	}
	long timeout = opt_timeout ? parse_duration_ms(opt_timeout) : 3600L * 1000;
	if (timeout < 0) {
		eidf_error("invalid --timeout \"%s\": use a duration such as 30m", opt_timeout);
		return EIDF_EXIT_USAGE;
	}
	long upload_timeout = opt_upload_timeout ? parse_duration_ms(opt_upload_timeout) : 600L * 1000;
	if (upload_timeout <= 0) {
		eidf_error("invalid --upload-timeout \"%s\": use a duration such as 10m", opt_upload_timeout);
		return EIDF_EXIT_USAGE;
	}
	long long max_context = parse_size_bytes(opt_max_context ? opt_max_context : "8Mi");
	if (max_context < (1LL << 20) || max_context > (64LL << 20)) {
		eidf_error("invalid --max-context \"%s\": use a size from 1Mi to 64Mi", opt_max_context);
		return EIDF_EXIT_USAGE;
	}
	const char *transport = opt_transport ? opt_transport : setting("build-context.transport", "auto");
	if (strcmp(transport, "auto") && strcmp(transport, "secret") && strcmp(transport, "exec")) {
		eidf_error("invalid transport \"%s\" (setting build-context.transport): use auto, secret or exec",
			   transport);
		return EIDF_EXIT_USAGE;
	}
	const char *ns = cmd_project_namespace(cmd);
	if (!ns)
		return EIDF_EXIT_ERROR;

	struct tmpout t = { -1, 0, 0 };
	t.fd = tmp_open();
	if (t.fd < 0) {
		eidf_error("%s", eidf_last_error());
		return EIDF_EXIT_ERROR;
	}
	uint64_t max_secret = (uint64_t)max_context;
	if (!strcmp(transport, "secret"))
		t.max = max_secret;
	struct bctx_opts o = { 0 };
	o.dir = argc ? argv[0] : ".";
	o.dockerfile = opt_file;
	o.use_ignore = 1;
	o.write = to_tmp;
	o.write_ud = &t;
	struct bctx_result r;
	if (bctx_build(&o, &r) < 0) {
		eidf_error("building the context: %s", eidf_last_error());
		close(t.fd);
		return EIDF_EXIT_ERROR;
	}
	bctx_warn_secrets(&r);
	if (!r.dockerfile_found) {
		eidf_error("no %s in the context %s (use -f, or `kubectl eidf build-context init`)", r.dockerfile, o.dir);
		bctx_result_release(&r);
		close(t.fd);
		return EIDF_EXIT_ERROR;
	}
	int use_exec = !strcmp(transport, "exec") || (!strcmp(transport, "auto") && t.len > max_secret);
	struct strbuf gz = STRBUF_INIT;
	if (!use_exec && read_all_fd(t.fd, &gz) < 0) {
		eidf_error("reading back the context: %s", strerror(errno));
		bctx_result_release(&r);
		close(t.fd);
		return EIDF_EXIT_ERROR;
	}
	struct strvec exec_cmd = STRVEC_INIT;
	split_words(opt_executor_command ? opt_executor_command : setting("build-context.executor-command", NULL),
		    &exec_cmd);
	char run_id[9];
	random_id(run_id);
	struct submit_spec s = {
		.namespace = ns, .run_id = run_id, .image = opt_image, .dockerfile = r.dockerfile,
		.digest = r.digest,
		.builder_image = opt_builder ? opt_builder : setting("build-context.builder-image", SUBMIT_DEFAULT_BUILDER),
		.helper_image = opt_helper ? opt_helper : setting("build-context.helper-image", SUBMIT_DEFAULT_HELPER),
		.executor_command = exec_cmd.n ? (const char *const *)exec_cmd.v : NULL,
		.registry_secret = opt_secret, .cpu = opt_cpu ? opt_cpu : "2",
		.memory = opt_memory ? opt_memory : "4Gi", .queue = policy_queue(),
		.eidf_user = policy_eidf_user(), .ttl_seconds = 3600, .cache = opt_cache,
		.exec_transport = use_exec, .upload_timeout_s = (upload_timeout + 999) / 1000,
	};
	cJSON *list = submit_objects(&s, gz.buf, gz.len);
	strbuf_release(&gz);
	strvec_clear(&exec_cmd);
	cJSON *items = cJSON_GetObjectItem(list, "items");
	int n = cJSON_GetArraySize(items);
	cJSON *job = cJSON_GetArrayItem(items, n - 1);
	int ret = EIDF_EXIT_ERROR, created = 0;
	struct kclient *kc = NULL;
	cJSON *made = NULL;
	cJSON **answers = NULL;   /* --dry-run=server: what the server accepted, in order */
	char *jname = NULL, *pod = NULL;
	if (manifest_check_job_policy(job) < 0) {
		eidf_error("%s", eidf_last_error());
		goto out;
	}
	if (dry == 1) {
		output_object(stdout, list, fmt == OUT_DEFAULT ? OUT_YAML : fmt);
		ret = EIDF_EXIT_OK;
		goto out;
	}
	if (!s.registry_secret)
		eidf_warning("no --registry-secret: the push works only to a registry that accepts anonymous pushes");
	kc = cmd_client(cmd);
	if (!kc)
		goto out;
	if (s.registry_secret) {
		/* a missing Secret leaves the builder in Init with FailedMount for
		 * ever: check it before uploading anything (one GET; 403 skips) */
		struct prereq_list pl = PREREQ_LIST_INIT;
		char *use = xasprintf("--registry-secret %s", s.registry_secret);
		prereq_add(&pl, PREREQ_SECRET, s.registry_secret, use);
		free(use);
		int prc = prereq_check(kc, ns, &pl);
		prereq_release(&pl);
		if (prc < 0)
			eidf_error("%s", eidf_last_error());
		if (prc)
			goto out;
	}
	char *hb = human_bytes(t.len);
	if (use_exec)
		fprintf(stderr, "context sha256:%s, %s gzip, sent with kubectl exec\n", r.digest, hb);
	else
		fprintf(stderr, "context sha256:%s, %s gzip in %d Secret(s)\n", r.digest, hb, n - 1);
	free(hb);
	if (dry == 2)
		answers = xcalloc((size_t)n, sizeof(*answers));
	for (int i = 0; i < n - 1; i++) {
		if (kclient_create(kc, &KRES_SECRETS, ns, cJSON_GetArrayItem(items, i), dry == 2,
				   answers ? &answers[i] : NULL) < 0) {
			eidf_error("uploading context chunk %d of %d: %s", i + 1, n - 1, eidf_last_error());
			goto cleanup;
		}
		created++;
	}
	if (kclient_create(kc, &KRES_JOBS, ns, job, dry == 2, &made) < 0) {
		eidf_error("creating the build Job: %s", eidf_last_error());
		goto cleanup;
	}
	jname = xstrdup(json_str(made, "metadata.name"));
	const char *uid = json_str(made, "metadata.uid");
	if (dry == 2) {
		answers[n - 1] = made;
		made = NULL;
		ret = output_server_dry_run(stdout, (const cJSON *const *)answers, (size_t)n, fmt) < 0 ?
		      EIDF_EXIT_ERROR : EIDF_EXIT_OK;
		goto out;
	}
	if (!jname || !uid) {
		eidf_error("creating the build Job: the server's answer has no name or uid");
		goto cleanup;
	}
	own_secrets(kc, ns, items, created, jname, uid);
	fprintf(print_job ? stderr : stdout, "job.batch/%s created (run %s)\n", jname, run_id);
	fflush(stdout);
	if (use_exec) {
		int64_t deadline = monotonic_ms() + upload_timeout;
		if (wait_for_receiver(kc, ns, jname, run_id, deadline, &pod) < 0 ||
		    upload_context(kc, ns, pod, t.fd, t.len, deadline) < 0) {
			eidf_error("%s", eidf_last_error());
			if (kclient_delete(kc, &KRES_JOBS, ns, jname, "Background", 0) == 0)
				fprintf(stderr, "deleted job/%s\n", jname);
			else
				eidf_warning("could not delete job/%s: %s", jname, eidf_last_error());
			goto out;
		}
	}
	if (opt_detach) {
		fprintf(print_job ? stderr : stdout,
			"follow it with: kubectl eidf build-context status --follow %s -n %s\n"
			"build log:      kubectl logs -f job/%s -c build -n %s\n", jname, ns, jname, ns);
		if (print_job)
			output_object(stdout, made, fmt);
		ret = EIDF_EXIT_OK;
	} else {
		build_log_out = print_job ? stderr : NULL;
		ret = follow_build_waiting(cmd, ns, jname, run_id, timeout);
		if (print_job) {
			cJSON *final = job_final_object(kc, ns, jname, FINAL_JOB_WAIT_MS);
			if (final)
				output_object(stdout, final, fmt);
			else
				eidf_warning("cannot read job.batch/%s for -o: %s", jname, eidf_last_error());
			cJSON_Delete(final);
		}
	}
	goto out;
cleanup:
	for (int i = 0; i < created && dry != 2; i++)
		kclient_delete(kc, &KRES_SECRETS, ns, json_str(cJSON_GetArrayItem(items, i), "metadata.name"), NULL, 0);
out:
	for (int i = 0; answers && i < n; i++)
		cJSON_Delete(answers[i]);
	free(answers);
	free(jname);
	free(pod);
	cJSON_Delete(made);
	cJSON_Delete(list);
	bctx_result_release(&r);
	close(t.fd);
	return ret;
}

/* ---- status ------------------------------------------------------------------- */

int run_status(struct eidf_cmd *cmd, int argc, const char **argv)
{
	if (argc != 1) {
		eidf_error("usage: kubectl eidf build-context status JOB [--follow]");
		return EIDF_EXIT_USAGE;
	}
	long timeout = opt_timeout ? parse_duration_ms(opt_timeout) : 3600L * 1000;
	if (timeout < 0) {
		eidf_error("invalid --timeout \"%s\": use a duration such as 30m", opt_timeout);
		return EIDF_EXIT_USAGE;
	}
	const char *name = argv[0];
	if (starts_with(name, "job/"))
		name += 4;
	else if (starts_with(name, "job.batch/"))
		name += 10;
	const char *ns = cmd_namespace(cmd);
	struct kclient *kc = ns ? cmd_client(cmd) : NULL;
	if (!kc)
		return EIDF_EXIT_ERROR;
	cJSON *j = NULL;
	if (kclient_get(kc, &KRES_JOBS, ns, name, &j) < 0) {
		if (kclient_last_http_status(kc) == 404)
			eidf_error("build job \"%s\" not found in namespace \"%s\"; see: kubectl get jobs -l "
				   LABEL_STAGE "=build-context -n %s", name, ns, ns);
		else
			eidf_error("%s", eidf_last_error());
		return EIDF_EXIT_ERROR;
	}
	/* label keys contain dots: no json_str() paths here */
	const cJSON *labels = json_get(j, "metadata.labels");
	const char *run = cJSON_GetStringValue(cJSON_GetObjectItem(labels, LABEL_RUN));
	const char *stage = cJSON_GetStringValue(cJSON_GetObjectItem(labels, LABEL_STAGE));
	int ret = EIDF_EXIT_ERROR;
	if (!run || !stage || strcmp(stage, "build-context")) {
		eidf_error("job/%s was not made by `kubectl eidf build-context submit` (no %s=build-context label)",
			   name, LABEL_STAGE);
	} else {
		char *run_id = xstrdup(run);
		ret = opt_follow ? follow_build_waiting(cmd, ns, name, run_id, timeout)
				 : follow_build(kc, ns, name, run_id, timeout, 0);
		free(run_id);
	}
	cJSON_Delete(j);
	return ret;
}

/* ---- list --------------------------------------------------------------------- */

static const char *annotation(const cJSON *obj, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(json_get(obj, "metadata.annotations"), key));
}

int run_list(struct eidf_cmd *cmd, int argc, const char **argv)
{
	(void)argv;
	if (argc) {
		eidf_error("list takes no arguments; for one build use: kubectl eidf build-context status JOB");
		return EIDF_EXIT_USAGE;
	}
	struct job_list l;
	int lrc = job_list_load(cmd, opt_list_output, LABEL_STAGE "=build-context", "builds", &l);
	if (lrc || !l.n)
		return lrc;
	enum output_format fmt = l.fmt;
	const cJSON *const *arr = l.items;
	size_t n = l.n;
	static const char *const h[] = { "NAME", "IMAGE", "STATE", "CONTEXT", "AGE", NULL };
	static const char *const hw[] = { "NAME", "IMAGE", "STATE", "CONTEXT", "AGE", "TRANSPORT", "REASON", NULL };
	struct table *t = table_new(fmt == OUT_WIDE ? hw : h);
	time_t now = time(NULL);
	for (size_t i = 0; i < n; i++) {
		struct jobstate_info st;
		jobstate_derive(arr[i], l.pods, &st);
		const char *image = annotation(arr[i], "eidf.ac.uk/image");
		const char *digest = annotation(arr[i], "eidf.ac.uk/context-digest");
		const char *transport = annotation(arr[i], "eidf.ac.uk/context-transport");
		char *ctx = digest ? xasprintf("sha256:%.12s", digest) : xstrdup("<none>");
		time_t then = 0;
		const char *ts = json_str(arr[i], "metadata.creationTimestamp");
		char *age = ts && parse_rfc3339(ts, &then) == 0 ? human_age(now, then) : xstrdup("<unknown>");
		table_add_rowv(t, (char *)json_str(arr[i], "metadata.name"), (char *)(image ? image : "<none>"),
			       (char *)jobstate_word(st.state), ctx, age,
			       fmt == OUT_WIDE ? (char *)(transport ? transport : "-") : NULL,
			       (char *)(st.reason ? st.reason : "-"), NULL);
		free(ctx);
		free(age);
	}
	table_print(t, stdout, opt_no_headers);
	table_free(t);
	job_list_release(&l);
	return EIDF_EXIT_OK;
}
