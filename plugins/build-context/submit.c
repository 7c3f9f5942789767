/* build-context submit; see submit.h. */
#include "submit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "context_tar.h"
#include "eidf/cmd.h"
#include "eidf/manifest.h"
#include "eidf/output.h"
#include "eidf/settings.h"

static const char *const dry_run_values[] = { "none", "client", "server", NULL };
static const char *opt_image, *opt_file, *opt_secret, *opt_builder, *opt_helper, *opt_cpu,
	*opt_memory, *opt_dry_run, *opt_output, *opt_timeout;
static int opt_follow, opt_detach, opt_cache;
static long opt_max_mib = 8;

const struct option submit_opts[] = {
	{ .type = OPT_TYPE_STRING, .long_name = "image", .value = &opt_image, .argh = "reg/name:tag",
	  .help = "image to build and push", .flags = OPT_REQUIRED, .complete = COMPLETE_IMAGE },
	OPT_STRING('f', "file", &opt_file, "Dockerfile", "Dockerfile (default DIR/Dockerfile)", COMPLETE_FILE),
	OPT_STRING(0, "registry-secret", &opt_secret, "name",
		   "dockerconfigjson Secret used to push (see `secret create`)", COMPLETE_NONE),
	OPT_STRING(0, "builder-image", &opt_builder, "image",
		   "Kaniko executor image (default " SUBMIT_DEFAULT_BUILDER ")", COMPLETE_IMAGE),
	OPT_STRING(0, "helper-image", &opt_helper, "image",
		   "image of the init container that receives the context (default " SUBMIT_DEFAULT_HELPER ")",
		   COMPLETE_IMAGE),
	OPT_STRING(0, "cpu", &opt_cpu, "quantity", "builder cpu request and limit (default 2)", COMPLETE_NONE),
	OPT_STRING(0, "memory", &opt_memory, "quantity", "builder memory request and limit (default 4Gi)",
		   COMPLETE_NONE),
	OPT_BOOL(0, "cache", &opt_cache, "use Kaniko's layer cache (--cache=true)"),
	OPT_BOOL(0, "follow", &opt_follow, "stream the build log and exit with its result (default)"),
	OPT_BOOL(0, "detach", &opt_detach, "return once the Job is created"),
	OPT_INT(0, "max-context", &opt_max_mib, "MiB", "largest gzipped context to send (default 8)", 1, 64),
	OPT_STRING(0, "timeout", &opt_timeout, "duration", "give up following after this long (default 1h)",
		   COMPLETE_NONE),
	{ .type = OPT_TYPE_STRING, .long_name = "dry-run", .value = &opt_dry_run, .argh = "strategy",
	  .help = "only show what would be sent: client or server", .flags = OPT_OPTARG,
	  .optarg_default = "client", .enum_values = dry_run_values, .complete = COMPLETE_ENUM },
	OPT_ENUM('o', "output", &opt_output, "format", "output format with --dry-run: json, yaml or name",
		 output_formats),
	OPT_INCLUDE(kube_options),
	OPT_END(),
};

/* The init container's script: join, check, report.  No bash needed. */
static const char receive_script[] =
	"set -eu\n"
	"out=/workspace/context.tar.gz\n"
	": > \"$out\"\n"
	"i=0\n"
	"while [ \"$i\" -lt \"$CHUNKS\" ]; do\n"
	"  f=/eidf/context/$i/chunk\n"
	"  [ -f \"$f\" ] || { echo \"error: context chunk $i of $CHUNKS is missing ($f)\" >&2; exit 3; }\n"
	"  cat \"$f\" >> \"$out\"\n"
	"  i=$((i+1))\n"
	"done\n"
	"got=$(gzip -dc \"$out\" | sha256sum | cut -d' ' -f1)\n"
	"if [ \"$got\" != \"$DIGEST\" ]; then\n"
	"  echo \"error: context digest mismatch: received sha256:$got, sent sha256:$DIGEST\" >&2\n"
	"  exit 4\n"
	"fi\n"
	"echo \"context sha256:$got received in $CHUNKS chunk(s)\"\n";

cJSON *submit_objects(const struct submit_spec *s, const void *gz, size_t len)
{
	cJSON *list = cJSON_CreateObject();
	cJSON_AddStringToObject(list, "apiVersion", "v1");
	cJSON_AddStringToObject(list, "kind", "List");
	cJSON *items = cJSON_AddArrayToObject(list, "items");
	size_t nchunks = len ? (len + SUBMIT_CHUNK - 1) / SUBMIT_CHUNK : 1;

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
		manifest_set_label(sec, LABEL_MANAGED_BY, MANAGED_BY);
		manifest_set_label(sec, LABEL_STAGE, "build-context");
		manifest_set_label(sec, LABEL_RUN, s->run_id);
		manifest_set_annotation(sec, "eidf.ac.uk/context-digest", s->digest);
		cJSON_AddStringToObject(sec, "type", "Opaque");
		char *b64 = base64_encode((const char *)gz + (len ? off : 0), n);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(sec, "data"), "chunk", b64);
		free(b64);
		cJSON_AddItemToArray(items, sec);
	}

	struct job_policy pol = {
		.namespace = s->namespace, .queue = s->queue, .stage = "build-context",
		.run_id = s->run_id, .ttl_seconds = s->ttl_seconds, .backoff_limit = 0,
	};
	cJSON *job = manifest_job(&pol, "build-context-");
	manifest_set_annotation(job, "eidf.ac.uk/context-digest", s->digest);
	manifest_set_annotation(job, "eidf.ac.uk/image", s->image);

	struct container_resources small = { "100m", NULL, "256Mi", NULL, 0 };
	cJSON *recv = manifest_container("receive-context", s->helper_image, &small);
	cJSON *cmdv = cJSON_AddArrayToObject(recv, "command");
	cJSON_AddItemToArray(cmdv, cJSON_CreateString("sh"));
	cJSON_AddItemToArray(cmdv, cJSON_CreateString("-c"));
	cJSON_AddItemToArray(cmdv, cJSON_CreateString(receive_script));
	char *nc = xasprintf("%zu", nchunks);
	manifest_add_env(recv, "CHUNKS", nc);
	free(nc);
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
	cJSON *args = cJSON_AddArrayToObject(build, "args");
	cJSON_AddItemToArray(args, cJSON_CreateString("--context=tar:///workspace/context.tar.gz"));
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

/* ---- running it ----------------------------------------------------------- */

struct membuf {
	struct strbuf sb;
	size_t max;
};

static int to_mem(const void *d, size_t n, void *ud)
{
	struct membuf *m = ud;
	if (m->sb.len + n > m->max) {
		eidf_set_error("the gzipped context is over %zu MiB, the most submit sends through Secrets; "
			       "trim it with .dockerignore (see `kubectl eidf build-context --summary`) or "
			       "raise --max-context", m->max >> 20);
		return -1;
	}
	strbuf_add(&m->sb, d, n);
	return 0;
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

static int log_to_stdout(const char *data, size_t len, void *ud)
{
	(void)ud;
	fwrite(data, 1, len, stdout);
	fflush(stdout);
	return 0;
}

/* Wait for the build: 0 succeeded, 1 failed (message printed), -1 error. */
static int follow_build(struct kclient *kc, const char *ns, const char *job, const char *run_id, long timeout_ms)
{
	char *sel = xasprintf("%s=%s", LABEL_RUN, run_id);
	struct klist_opts lo = { .label_selector = sel };
	time_t start = time(NULL);
	int streamed = 0, ret = -1;
	for (;;) {
		if (timeout_ms > 0 && (long)(time(NULL) - start) * 1000 > timeout_ms) {
			eidf_error("timed out following job/%s; it keeps running: kubectl logs -f job/%s -c build -n %s",
				   job, job, ns);
			break;
		}
		cJSON *j = NULL;
		if (kclient_get(kc, &KRES_JOBS, ns, job, &j) < 0) {
			eidf_error("%s", eidf_last_error());
			break;
		}
		const cJSON *conds = json_get(j, "status.conditions");
		const cJSON *c;
		int done = 0;
		cJSON_ArrayForEach(c, conds) {
			const char *t = json_str(c, "type"), *st = json_str(c, "status");
			if (!t || !st || strcmp(st, "True"))
				continue;
			if (!strcmp(t, "Complete"))
				done = 1;
			else if (!strcmp(t, "Failed"))
				done = 2;
		}
		cJSON_Delete(j);
		cJSON *pods = NULL;
		const char *pod = NULL;
		const char *init_fail = NULL, *phase = NULL;
		int build_started = 0;
		if (kclient_list(kc, &KRES_PODS, ns, &lo, &pods) == 0) {
			const cJSON *p = cJSON_GetArrayItem(json_get(pods, "items"), 0);
			pod = json_str(p, "metadata.name");
			phase = json_str(p, "status.phase");
			const cJSON *cs;
			cJSON_ArrayForEach(cs, json_get(p, "status.initContainerStatuses")) {
				long code = json_long(cs, "state.terminated.exitCode", 0);
				if (code)
					init_fail = "receive-context";
			}
			cJSON_ArrayForEach(cs, json_get(p, "status.containerStatuses")) {
				if (json_get(cs, "state.running") || json_get(cs, "state.terminated"))
					build_started = 1;
			}
		}
		if (pod && init_fail && !streamed) {
			struct klog_opts o = { .container = "receive-context", .tail_lines = 20 };
			eidf_error("receiving the context failed in pod %s (init container receive-context):", pod);
			kclient_logs(kc, ns, pod, &o, log_to_stdout, NULL);
			cJSON_Delete(pods);
			ret = 1;
			break;
		}
		if (pod && build_started && !streamed) {
			struct klog_opts o = { .container = "build", .follow = 1, .tail_lines = -1 };
			streamed = 1;
			if (kclient_logs(kc, ns, pod, &o, log_to_stdout, NULL) < 0)
				eidf_warning("log stream ended: %s", eidf_last_error());
		}
		cJSON_Delete(pods);
		if (done) {
			if (done == 1) {
				printf("job/%s: build succeeded\n", job);
				ret = 0;
			} else {
				eidf_error("job/%s: build failed (pod phase %s); see kubectl logs job/%s -c build -n %s",
					   job, phase ? phase : "unknown", job, ns);
				ret = 1;
			}
			break;
		}
		sleep(1);
	}
	free(sel);
	return ret;
}

int run_submit(struct eidf_cmd *cmd, int argc, const char **argv)
{
	if (argc > 1) {
		eidf_error("submit takes one directory, got %d arguments", argc);
		return EIDF_EXIT_USAGE;
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
	int dry = !opt_dry_run || !strcmp(opt_dry_run, "none") ? 0 : !strcmp(opt_dry_run, "server") ? 2 : 1;
	long timeout = opt_timeout ? parse_duration_ms(opt_timeout) : 3600L * 1000;
	if (timeout < 0) {
		eidf_error("invalid --timeout \"%s\": use a duration such as 30m", opt_timeout);
		return EIDF_EXIT_USAGE;
	}
	const char *ns = cmd_project_namespace(cmd);
	if (!ns)
		return EIDF_EXIT_ERROR;

	struct membuf mb = { STRBUF_INIT, (size_t)opt_max_mib << 20 };
	struct bctx_opts o = { 0 };
	o.dir = argc ? argv[0] : ".";
	o.dockerfile = opt_file;
	o.use_ignore = 1;
	o.write = to_mem;
	o.write_ud = &mb;
	struct bctx_result r;
	if (bctx_build(&o, &r) < 0) {
		eidf_error("building the context: %s", eidf_last_error());
		strbuf_release(&mb.sb);
		return EIDF_EXIT_ERROR;
	}
	if (!r.dockerfile_found) {
		eidf_error("no %s in the context %s (use -f, or `kubectl eidf build-context init`)", r.dockerfile, o.dir);
		bctx_result_release(&r);
		strbuf_release(&mb.sb);
		return EIDF_EXIT_ERROR;
	}
	char run_id[9];
	random_id(run_id);
	struct submit_spec s = {
		.namespace = ns, .run_id = run_id, .image = opt_image, .dockerfile = r.dockerfile,
		.digest = r.digest,
		.builder_image = opt_builder ? opt_builder : setting("build-context.builder-image", SUBMIT_DEFAULT_BUILDER),
		.helper_image = opt_helper ? opt_helper : setting("build-context.helper-image", SUBMIT_DEFAULT_HELPER),
		.registry_secret = opt_secret, .cpu = opt_cpu ? opt_cpu : "2",
		.memory = opt_memory ? opt_memory : "4Gi", .queue = setting("queue", NULL),
		.ttl_seconds = 3600, .cache = opt_cache,
	};
	cJSON *list = submit_objects(&s, mb.sb.buf, mb.sb.len);
	strbuf_release(&mb.sb);
	cJSON *items = cJSON_GetObjectItem(list, "items");
	int n = cJSON_GetArraySize(items);
	cJSON *job = cJSON_GetArrayItem(items, n - 1);
	int ret = EIDF_EXIT_ERROR;
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
	struct kclient *kc = cmd_client(cmd);
	if (!kc)
		goto out;
	fprintf(stderr, "context sha256:%s, %llu bytes gzip in %d Secret(s)\n", r.digest,
		(unsigned long long)r.out_bytes, n - 1);
	int created = 0;
	for (int i = 0; i < n - 1; i++) {
		if (kclient_create(kc, &KRES_SECRETS, ns, cJSON_GetArrayItem(items, i), dry == 2, NULL) < 0) {
			eidf_error("uploading context chunk %d of %d: %s", i + 1, n - 1, eidf_last_error());
			goto cleanup;
		}
		created++;
	}
	cJSON *made = NULL;
	if (kclient_create(kc, &KRES_JOBS, ns, job, dry == 2, &made) < 0) {
		eidf_error("creating the build Job: %s", eidf_last_error());
		goto cleanup;
	}
	const char *jname = json_str(made, "metadata.name"), *uid = json_str(made, "metadata.uid");
	if (dry == 2) {
		output_object(stdout, made, fmt == OUT_DEFAULT ? OUT_NAME : fmt);
		cJSON_Delete(made);
		ret = EIDF_EXIT_OK;
		goto out;
	}
	/* the Secrets go when the Job goes */
	for (int i = 0; i < created && jname && uid; i++) {
		cJSON *patch = cJSON_CreateObject();
		cJSON *ref = cJSON_CreateObject();
		cJSON_AddStringToObject(ref, "apiVersion", "batch/v1");
		cJSON_AddStringToObject(ref, "kind", "Job");
		cJSON_AddStringToObject(ref, "name", jname);
		cJSON_AddStringToObject(ref, "uid", uid);
		cJSON *refs = cJSON_AddArrayToObject(cJSON_AddObjectToObject(patch, "metadata"), "ownerReferences");
		cJSON_AddItemToArray(refs, ref);
		if (kclient_patch_merge(kc, &KRES_SECRETS, ns, json_str(cJSON_GetArrayItem(items, i), "metadata.name"),
					patch, NULL) < 0)
			eidf_warning("could not attach context Secret to job/%s: %s", jname, eidf_last_error());
		cJSON_Delete(patch);
	}
	printf("job.batch/%s created (run %s)\n", jname ? jname : "?", run_id);
	if (opt_detach) {
		printf("follow it with: kubectl logs -f job/%s -c build -n %s\n", jname, ns);
		ret = EIDF_EXIT_OK;
	} else {
		int fr = follow_build(kc, ns, jname, run_id, timeout);
		ret = fr == 0 ? EIDF_EXIT_OK : EIDF_EXIT_ERROR;
	}
	cJSON_Delete(made);
	goto out;
cleanup:
	for (int i = 0; i < created; i++)
		kclient_delete(kc, &KRES_SECRETS, ns, json_str(cJSON_GetArrayItem(items, i), "metadata.name"), NULL, 0);
out:
	cJSON_Delete(list);
	bctx_result_release(&r);
	return ret;
}
