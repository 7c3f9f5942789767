/* kubectl eidf devrun: run the current code of a git working tree (local
 * edits included) in a policy-compliant Job, follow it, and exit with the
 * command's own exit code.  See docs/devrun.md. */
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>

#include "changes.h"
#include "devrun_job.h"
#include "eidf/waiting.h"
#include "eidf/stage_options.h"
#include "eidf/cmd.h"
#include "eidf/humanize.h"
#include "eidf/jobstate.h"
#include "eidf/job_list.h"
#include "eidf/manifest.h"
#include "eidf/output.h"
#include "eidf/prereq.h"
#include "eidf/settings.h"
#include "eidf/kexec_upload.h"
#include "follow.h"
#include "multinode.h"
#include "multinode_follow.h"
#include "repo_state.h"
#include "session.h"
#include "submodules.h"
#include "script_init_code.h"
#include "settings_keys.h"


/* run / render / rerun */
static const char *o_image, *o_git_image, *o_gpu_product, *o_cpu, *o_cpu_limit, *o_memory,
	*o_memory_limit, *o_shm, *o_max_time, *o_name, *o_queue, *o_ttl, *o_git_secret, *o_repo,
	*o_base, *o_output, *o_dry_run, *o_timeout, *o_changes_transport;
static long o_gpu = -1, o_nodes = -1, o_master_port = -1;
static int o_shell, o_keep_entrypoint, o_no_local, o_no_submodules, o_detach, o_follow, o_rm, o_keep_failed,
	o_allow_unknown_gpu, o_torchrun;
static const char *const changes_transports[] = { "auto", "secret", "exec", NULL };
static struct strvec o_pvcs, o_envs, o_env_from, o_pull_secrets;
/* other subcommands */
static int o_init, o_finished, o_no_headers, o_timestamps;
static long o_rank = -1;
/* sessions (session.h) */
static const char *o_session, *o_idle_timeout;
static int o_watch;

#define SESSION_OPTIONS \
	OPT_GROUP("Session"), \
	OPT_STRING(0, "session", &o_session, "name", "run in the held pod of session NAME (created on first use): " \
		   "only what changed since its previous run is shipped", COMPLETE_NONE), \
	OPT_DURATION(0, "idle-timeout", &o_idle_timeout, "a session's pod ends after this long without a run " \
		     "(setting devrun.idle-timeout)", SESSION_DEFAULT_IDLE), \
	OPT_BOOL(0, "watch", &o_watch, "with --session: run again on every save in the work tree, stopping " \
		 "a run still going (until Ctrl-C)")

#define RUN_OPTIONS \
	OPT_GROUP("Code"), \
	OPT_STRING(0, "repo", &o_repo, "url", "clone URL for the pod (default: upstream remote, else origin)", COMPLETE_NONE), \
	OPT_STRING(0, "base", &o_base, "ref", "check out this pushed commit and ship the difference to the working tree", COMPLETE_NONE), \
	OPT_BOOL(0, "no-local-changes", &o_no_local, "ship only the commit, not uncommitted changes"), \
	OPT_BOOL(0, "no-submodules", &o_no_submodules, "leave submodules out (empty directories in the pod)"), \
	OPT_ENUM(0, "changes-transport", &o_changes_transport, "how", "how local changes reach the pod: " \
		 "in a Secret (at most 960KiB), or with exec: streamed over pods/exec into the init " \
		 "container once the pod starts, no size limit (default auto: a Secret when they fit)", \
		 changes_transports), \
	OPT_STRING(0, "git-secret", &o_git_secret, "secret", "Secret with a token or ssh key for private repositories (init container only)", COMPLETE_NONE), \
	OPT_STRING(0, "git-image", &o_git_image, "image", "image of the init container (default alpine/git:latest)", COMPLETE_IMAGE), \
	OPT_GROUP("Container"), \
	OPT_STRING(0, "image", &o_image, "image", "image that runs COMMAND (setting devrun.image)", COMPLETE_IMAGE), \
	OPT_BOOL(0, "shell", &o_shell, "run COMMAND ARGS joined by spaces with /bin/sh -c"), \
	OPT_BOOL(0, "keep-entrypoint", &o_keep_entrypoint, "pass COMMAND ARGS as args to the image's entrypoint"), \
	{ .type = OPT_TYPE_INT, .long_name = "gpu", .value = &o_gpu, .argh = "N", \
	  .help = "number of GPUs (nvidia.com/gpu limit; setting devrun.gpu)", .min = 0, .max = 8, .defval = "0" }, \
	{ .type = OPT_TYPE_STRING, .long_name = "gpu-product", .value = &o_gpu_product, .argh = "product", \
	  .help = "GPU model (nodeSelector nvidia.com/gpu.product)", .complete = COMPLETE_GPU_PRODUCT }, \
	OPT_BOOL(0, "allow-unknown-gpu-product", &o_allow_unknown_gpu, "do not check --gpu-product against the known list"), \
	{ .type = OPT_TYPE_STRING, .long_name = "cpu", .value = &o_cpu, .argh = "quantity", \
	  .help = "cpu request (and limit unless --cpu-limit)", .defval = "1" }, \
	OPT_STRING(0, "cpu-limit", &o_cpu_limit, "quantity", "cpu limit", COMPLETE_NONE), \
	OPT_SIZE(0, "memory", &o_memory, "memory request (and limit unless --memory-limit)", "4Gi"), \
	OPT_SIZE(0, "memory-limit", &o_memory_limit, "memory limit", NULL), \
	OPT_LIST(0, "pvc", &o_pvcs, "name[:mount[:ro]]", "mount a PVC (default mount /mnt/ceph)", COMPLETE_PVC), \
	OPT_LIST('e', "env", &o_envs, "name=value", "environment variable", COMPLETE_NONE), \
	OPT_LIST(0, "env-from-secret", &o_env_from, "secret", "all keys of a Secret as environment", COMPLETE_NONE), \
	OPT_SIZE(0, "shm-size", &o_shm, "memory-backed /dev/shm of this size", NULL), \
	OPT_LIST(0, "image-pull-secret", &o_pull_secrets, "secret", "Secret for pulling a private image", COMPLETE_NONE), \
	OPT_GROUP("Several nodes"), \
	{ .type = OPT_TYPE_INT, .long_name = "nodes", .value = &o_nodes, .argh = "N", \
	  .help = "run on N pods at once: an Indexed Job and a headless Service, admitted by Kueue as " \
		  "one workload; each pod gets MASTER_ADDR, MASTER_PORT, WORLD_SIZE, NNODES, NODE_RANK, " \
		  "NPROC_PER_NODE", .min = 1, .max = DEVRUN_MAX_NODES, .defval = "1" }, \
	OPT_BOOL(0, "torchrun", &o_torchrun, "run COMMAND under torchrun with the ranks' settings " \
		 "(--nnodes, --nproc_per_node, --node_rank, --master_addr, --master_port)"), \
	{ .type = OPT_TYPE_INT, .long_name = "master-port", .value = &o_master_port, .argh = "port", \
	  .help = "MASTER_PORT, the rendezvous port of rank 0", .min = 1, .max = 65535, .defval = "29500" }, \
	OPT_GROUP("Job"), \
	OPT_STRING(0, "name", &o_name, "name", "name prefix of the Job (default devrun)", COMPLETE_NONE), \
	OPT_STRING(0, "queue", &o_queue, "queue", "Kueue LocalQueue (default <namespace>-user-queue)", COMPLETE_NONE), \
	OPT_DURATION(0, "max-time", &o_max_time, "maximum run time (label kueue.x-k8s.io/max-exec-time-seconds)", NULL), \
	OPT_DURATION(0, "ttl", &o_ttl, "delete the Job this long after it finished", "24h"), \
	OPT_DRY_RUN(&o_dry_run), \
	OPT_ENUM('o', "output", &o_output, "format", "print the objects (with --dry-run), else the Job alone on stdout: as created with --detach, as it finished when followed (the command's output then goes to stderr): json, yaml or name", output_formats), \
	OPT_SHOW_MANAGED_FIELDS()

#define FOLLOW_OPTIONS \
	OPT_GROUP("Following"), \
	OPT_BOOL('d', "detach", &o_detach, "return once the Job is created"), \
	OPT_BOOL('f', "follow", &o_follow, "follow the run even when stdout is not a terminal"), \
	OPT_BOOL(0, "rm", &o_rm, "delete the run's objects when it ends or on Ctrl-C"), \
	OPT_BOOL(0, "keep-failed", &o_keep_failed, "keep a run that can never start (image pull failure, missing config); by default it is deleted so that it holds no quota"), \
	OPT_DURATION(0, "timeout", &o_timeout, "stop following after this long (exit 124; 0 = never)", "0")

static const struct option run_opts[] = {
	RUN_OPTIONS, OPT_INCLUDE(eidf_user_options), FOLLOW_OPTIONS, SESSION_OPTIONS, OPT_INCLUDE(wait_options), OPT_INCLUDE(kube_options), OPT_END(),
};
static const struct option render_opts[] = {
	RUN_OPTIONS, OPT_INCLUDE(eidf_user_options), OPT_INCLUDE(kube_options), OPT_END(),
};
static const struct option attach_opts[] = {
	OPT_BOOL(0, "rm", &o_rm, "delete the run's objects when it ends or on Ctrl-C"),
	OPT_BOOL(0, "keep-failed", &o_keep_failed, "keep a run that can never start (by default it is deleted so that it holds no quota)"),
	OPT_DURATION(0, "timeout", &o_timeout, "stop following after this long (exit 124; 0 = never)", "0"),
	OPT_INCLUDE(wait_options), OPT_INCLUDE(kube_options), OPT_END(),
};
static const struct option logs_opts[] = {
	OPT_BOOL('f', "follow", &o_follow, "stream until the container ends"),
	OPT_BOOL(0, "init", &o_init, "show the init container (code fetch) instead"),
	OPT_BOOL(0, "timestamps", &o_timestamps, "prefix each line with its time"),
	{ .type = OPT_TYPE_INT, .long_name = "rank", .value = &o_rank, .argh = "R",
	  .help = "a run on several nodes: only rank R's log (default: every rank's, each line "
		  "prefixed with \"[rank] \")", .min = 0, .max = DEVRUN_MAX_NODES - 1, .defval = "all" },
	OPT_INCLUDE(wait_options), OPT_INCLUDE(kube_options), OPT_END(),
};
static const struct option delete_opts[] = {
	OPT_BOOL(0, "finished", &o_finished, "delete every finished run"),
	OPT_INCLUDE(kube_options), OPT_END(),
};
static const struct option session_opts[] = {
	RUN_OPTIONS, SESSION_OPTIONS,
	OPT_BOOL(0, "no-headers", &o_no_headers, "session list: do not print the table header"),
	OPT_DURATION(0, "timeout", &o_timeout, "session start: stop waiting for the pod after this long (exit 124; 0 = never)", "0"),
	OPT_INCLUDE(eidf_user_options), OPT_INCLUDE(kube_options), OPT_END(),
};
static const struct option list_opts[] = {
	OPT_ENUM('o', "output", &o_output, "format", "output format: json, yaml, name or wide", output_formats),
	OPT_SHOW_MANAGED_FIELDS(),
	OPT_BOOL(0, "no-headers", &o_no_headers, "do not print the table header"),
	OPT_INCLUDE(kube_options), OPT_END(),
};

/* ---- helpers ---------------------------------------------------------------------- */

static void note(const char *fmt, ...) EIDF_PRINTF(1, 2);
static void note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%sdevrun:%s ", color(stderr, COLOR_BOLD), color(stderr, COLOR_RESET));
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static const char *first_nonnull(const char *a, const char *b, const char *c)
{
	return a ? a : b ? b : c;
}

static long duration_s(const char *flag, const char *v, long dflt)
{
	if (!v)
		return dflt;
	long ms = parse_duration_ms(v);
	if (ms < 0) {
		eidf_set_error("invalid value \"%s\" for --%s: use a duration such as 90m, 24h or seconds",
			       v, flag);
		return -2;
	}
	return (ms + 999) / 1000;
}

static void copy_list(struct strvec *dst, const struct strvec *flag, const struct strvec *fallback,
		      const char *setting_key)
{
	const struct strvec *src = flag->n ? flag : fallback && fallback->n ? fallback : NULL;
	if (src) {
		for (size_t i = 0; i < src->n; i++)
			strvec_push(dst, src->v[i]);
	} else if (setting_key) {
		setting_list(setting_key, dst);
	}
}

/* Namespace for rendering: -n wins without needing a kubeconfig. */
static const char *render_namespace(struct eidf_cmd *cmd)
{
	if (kube_flags.namespace && *kube_flags.namespace)
		return kube_flags.namespace;
	return cmd_namespace(cmd);
}

/* flags > previous run (rerun) > .eidf.yaml > user config > built-in */
static int build_opts(struct devrun_opts *o, const struct devrun_opts *prev, int argc,
		      const char **argv, const char *ns)
{
	static const struct devrun_opts none = { .ttl_s = -1 };
	if (!prev)
		prev = &none;
	memset(o, 0, sizeof(*o));
	o->namespace = ns;
	o->image = first_nonnull(o_image, prev->image, setting("devrun.image", NULL));
	o->git_image = first_nonnull(o_git_image, prev->git_image,
				     setting("devrun.git-image", DEVRUN_DEFAULT_GIT_IMAGE));
	if (argc > 0)
		for (int i = 0; i < argc; i++)
			strvec_push(&o->argv, argv[i]);
	else
		for (size_t i = 0; i < prev->argv.n; i++)
			strvec_push(&o->argv, prev->argv.v[i]);
	o->shell = o_shell || (argc == 0 && prev->shell);
	o->keep_entrypoint = o_keep_entrypoint || (argc == 0 && prev->keep_entrypoint);
	const char *gpu_s = setting("devrun.gpu", NULL);
	o->gpu = o_gpu >= 0 ? o_gpu : prev->gpu ? prev->gpu : gpu_s ? atol(gpu_s) : 0;
	o->gpu_product = first_nonnull(o_gpu_product, prev->gpu_product, setting("devrun.gpu-product", NULL));
	if (o->gpu_product && !o->gpu)
		o->gpu = 1; /* a product without a GPU would select a node for nothing */
	o->cpu = first_nonnull(o_cpu, prev->cpu, setting("devrun.cpu", "1"));
	o->cpu_limit = first_nonnull(o_cpu_limit, prev->cpu_limit, setting("devrun.cpu-limit", NULL));
	o->memory = first_nonnull(o_memory, prev->memory, setting("devrun.memory", "4Gi"));
	o->memory_limit = first_nonnull(o_memory_limit, prev->memory_limit, setting("devrun.memory-limit", NULL));
	copy_list(&o->pvcs, &o_pvcs, &prev->pvcs, "devrun.pvc");
	copy_list(&o->envs, &o_envs, &prev->envs, "devrun.env");
	copy_list(&o->env_from_secrets, &o_env_from, &prev->env_from_secrets, "devrun.env-from-secret");
	copy_list(&o->image_pull_secrets, &o_pull_secrets, &prev->image_pull_secrets, "devrun.image-pull-secret");
	o->shm_size = first_nonnull(o_shm, prev->shm_size, setting("devrun.shm-size", NULL));
	long mt = duration_s("max-time", first_nonnull(o_max_time, NULL, setting("devrun.max-time", NULL)),
			     prev->max_time_s);
	if (mt == -2)
		return -1;
	o->max_time_s = mt;
	o->name = first_nonnull(o_name, prev->name, setting("devrun.name", NULL));
	o->queue = first_nonnull(o_queue, prev->queue, setting("queue", NULL));
	long ttl = duration_s("ttl", first_nonnull(o_ttl, NULL, setting("devrun.ttl", NULL)),
			      prev->ttl_s >= 0 ? prev->ttl_s : 86400);
	if (ttl == -2)
		return -1;
	o->ttl_s = ttl;
	o->git_secret = first_nonnull(o_git_secret, prev->git_secret, setting("devrun.git-secret", NULL));
	o->eidf_user = policy_eidf_user();
	o->init_cpu = setting("devrun.init-cpu", NULL);
	o->init_memory = setting("devrun.init-memory", NULL);
	o->changes_transport = first_nonnull(o_changes_transport, prev->changes_transport,
					     setting("devrun.changes-transport", NULL));
	o->no_submodules = o_no_submodules || prev->no_submodules;
	o->nodes = o_nodes >= 0 ? o_nodes : prev->nodes;
	o->torchrun = o_torchrun || prev->torchrun;
	o->master_port = o_master_port >= 0 ? o_master_port : prev->master_port;
	return devrun_opts_check(o, o_allow_unknown_gpu);
}

/* ---- code: repository state + local changes ------------------------------------ */

struct code_state {
	struct repo_state rs;
	struct submodules subs;
	struct changes ch;
	int have_changes;            /* anything for the pod to apply or verify */
	int ship;                    /* a payload (files or deletions) to send */
	int use_exec;                /* sent with kubectl exec (else a Secret) */
	char *summary;
	char *subs_env;
};

static int gather_code(struct code_state *cs, const struct devrun_opts *o, int quiet)
{
	struct repo_opts ro = { .path = ".", .repo_url = o_repo, .base = o_base,
				.have_git_secret = o->git_secret != NULL };
	repo_state_init(&cs->rs);
	changes_init(&cs->ch);
	if (repo_state_load(&cs->rs, &ro) < 0) {
		eidf_error("%s", eidf_last_error());
		return -1;
	}
	if (cs->rs.url_rewritten && !quiet)
		note("remote %s is an ssh URL; the pod clones %s instead (private repository: pass "
		     "--git-secret NAME with an ssh key, or --repo URL)", cs->rs.remote_name, cs->rs.url);
	else if (cs->rs.url_is_ssh && !o->git_secret && !quiet)
		note("hint: %s is an ssh URL: the pod needs --git-secret NAME with an ssh key", cs->rs.url);

	struct submodules_opts so = { .base_sha = cs->rs.commit_sha, .pod_url = cs->rs.url,
				      .have_git_secret = o->git_secret != NULL, .working_state = !o_no_local };
	if (o->no_submodules) {
		/* only named, so neither their URLs nor their HEADs matter */
		so.working_state = 0;
		struct submodules skip = { 0 };
		if (!quiet && submodules_load(cs->rs.repo, cs->rs.root, &so, &skip) == 0)
			for (size_t i = 0; i < skip.n; i++)
				eidf_warning("submodule %s is not shipped (--no-submodules): it is an empty "
					     "directory in the pod", skip.v[i].path);
		submodules_release(&skip);
	} else if (submodules_load(cs->rs.repo, cs->rs.root, &so, &cs->subs) < 0) {
		eidf_error("%s", eidf_last_error());
		return -1;
	}
	for (size_t i = 0; i < cs->subs.notes.n && !quiet; i++)
		eidf_warning("%s", cs->subs.notes.v[i]);
	if (o_no_local) {
		cs->subs_env = submodules_env(&cs->subs, NULL);
		return 0;
	}
	const char *tr = o->changes_transport ? o->changes_transport : "auto";
	struct changes_opts co = { .base_sha = cs->rs.commit_sha, .subs = &cs->subs };
	if (!strcmp(tr, "exec"))
		co.max_encoded = SIZE_MAX;
	else if (!strcmp(tr, "auto"))
		co.allow_over_budget = 1;
	int rc = changes_collect(cs->rs.repo, cs->rs.root, &co, &cs->ch);
	if (rc == -2) {
		struct strbuf sb = STRBUF_INIT;
		changes_largest(&cs->ch, 10, &sb);
		eidf_error("%s", eidf_last_error());
		fprintf(stderr, "largest changed files:\n%s", strbuf_str(&sb));
		strbuf_release(&sb);
		return -1;
	}
	if (rc < 0) {
		eidf_error("%s", eidf_last_error());
		return -1;
	}
	for (size_t i = 0; i < cs->ch.skipped.n && !quiet; i++)
		eidf_warning("%s", cs->ch.skipped.v[i]);
	if (cs->ch.converted.n && !quiet) {
		size_t more = cs->ch.converted.n - 1;
		eidf_warning(".gitattributes converts %s%s when git adds it, so the pod cannot verify "
			     "that its tree matches yours: skipping the tree check (the files are still "
			     "shipped byte for byte)", cs->ch.converted.v[0],
			     more ? " and the files below" : "");
		if (more) {
			for (size_t i = 1; i < cs->ch.converted.n && i < 10; i++)
				fprintf(stderr, "  also %s\n", cs->ch.converted.v[i]);
			if (cs->ch.converted.n > 10)
				fprintf(stderr, "  ... %zu more\n", cs->ch.converted.n - 10);
		}
	}
	cs->have_changes = changes_dirty(&cs->ch);
	cs->ship = cs->ch.n > 0;
	cs->use_exec = cs->ship && (!strcmp(tr, "exec") || cs->ch.over_budget);
	if (cs->have_changes)
		cs->summary = changes_summary(&cs->ch, cs->use_exec);
	if (cs->use_exec && !quiet && cs->ch.over_budget) {
		/* a big change: say what makes it big */
		struct strbuf sb = STRBUF_INIT;
		changes_largest(&cs->ch, 10, &sb);
		note("the local changes go with kubectl exec once the pod starts (too large for a Secret); "
		     "largest files:\n%s", strbuf_str(&sb));
		strbuf_release(&sb);
	} else if (cs->use_exec && !quiet) {
		note("the local changes go with kubectl exec once the pod starts (--changes-transport exec)");
	}
	const char **trees = xcalloc(cs->subs.n + 1, sizeof(*trees));
	for (size_t i = 0; i < cs->subs.n && i < cs->ch.n_subs; i++)
		trees[i] = cs->ch.subs[i].tree;
	cs->subs_env = submodules_env(&cs->subs, trees);
	free(trees);
	return 0;
}

static void code_release(struct code_state *cs)
{
	changes_release(&cs->ch);
	submodules_release(&cs->subs); /* before libgit2 goes */
	repo_state_release(&cs->rs);
	free(cs->summary);
	free(cs->subs_env);
}

/* The exec transport: once the init container runs, stream the changes in. */
struct exec_upload {
	struct kclient *kc;
	const char *ns;
	const struct changes *ch;
	int done, failed;
};

static int upload_changes(const char *pod, void *ud)
{
	struct exec_upload *x = ud;
	struct strbuf stream = STRBUF_INIT;
	int rc = -1;
	FILE *tmp = NULL;
	char *command = NULL;
	if (devrun_changes_stream(x->ch, &stream) < 0)
		goto out;
	char digest[65];
	sha256_hex(stream.buf ? stream.buf : "", stream.len, digest);
	tmp = tmpfile();
	if (!tmp || fwrite(stream.buf, 1, stream.len, tmp) != stream.len || fflush(tmp) != 0) {
		eidf_set_error("cannot stage the local changes for the upload: %s", strerror(errno));
		goto out;
	}
	command = devrun_changes_receive_command(stream.len, digest);
	struct kexec_upload u = {
		.ns = x->ns, .pod = pod, .container = DEVRUN_INIT_CONTAINER, .command = command,
		.fd = fileno(tmp), .size = stream.len,
		.deadline_ms = monotonic_ms() + (long)DEVRUN_CHANGES_WAIT_S * 1000,
		.what = "local changes", .timeout_hint = "check the connection to the cluster",
		.refused_hint = "commit and push the large files so that the rest fits a Secret",
	};
	if (kexec_upload(x->kc, &u) < 0)
		goto out;
	char *h = human_bytes(stream.len);
	note("local changes uploaded to pod %s (%s, sha256 %.12s)", pod, h, digest);
	free(h);
	x->done = 1;
	rc = 0;
out:
	if (rc < 0) {
		/* Ctrl-C or --timeout: following says that it stopped, and how to go on */
		if (!wait_stopped())
			eidf_error("%s", eidf_last_error());
		x->failed = 1;
	}
	if (tmp)
		fclose(tmp);
	free(command);
	strbuf_release(&stream);
	return rc;
}

/* ---- run ------------------------------------------------------------------------ */

static char *secret_name(const struct devrun_opts *o, const char *run_id)
{
	return xasprintf("%s-%s-code", o->name ? o->name : "devrun", run_id);
}

/* The claims and Secrets the flags name exist (one GET each; a 403 skips the
 * check): a Job naming a missing one is accepted, and its pod would wait for
 * ever while the Job holds its quota.  0 fine, else the errors are printed. */
static int check_prereqs(struct kclient *kc, const char *ns, const struct devrun_opts *o)
{
	struct prereq_list l = PREREQ_LIST_INIT;
	for (size_t i = 0; i < o->pvcs.n; i++) {
		const char *spec = o->pvcs.v[i], *colon = strchr(spec, ':');
		char *name = colon ? xstrndup(spec, (size_t)(colon - spec)) : xstrdup(spec);
		char *use = xasprintf("--pvc %s", spec);
		prereq_add(&l, PREREQ_PVC, name, use);
		free(use);
		free(name);
	}
	if (o->git_secret) {
		char *use = xasprintf("--git-secret %s", o->git_secret);
		prereq_add(&l, PREREQ_SECRET, o->git_secret, use);
		free(use);
	}
	for (size_t i = 0; i < o->env_from_secrets.n; i++) {
		char *use = xasprintf("--env-from-secret %s", o->env_from_secrets.v[i]);
		prereq_add(&l, PREREQ_SECRET, o->env_from_secrets.v[i], use);
		free(use);
	}
	for (size_t i = 0; i < o->image_pull_secrets.n; i++) {
		char *use = xasprintf("--image-pull-secret %s", o->image_pull_secrets.v[i]);
		prereq_add(&l, PREREQ_SECRET, o->image_pull_secrets.v[i], use);
		free(use);
	}
	int rc = prereq_check(kc, ns, &l);
	if (rc < 0)
		eidf_error("%s", eidf_last_error());
	prereq_release(&l);
	return rc;
}

/* A run left to go on (--detach): its name for scripts, or the Job with -o. */
static void print_run(const cJSON *job, const char *name, enum output_format fmt)
{
	if (fmt == OUT_DEFAULT)
		printf("%s\n", name);
	else
		output_object(stdout, job, fmt);
}

static int submit_and_follow(struct eidf_cmd *cmd, struct devrun_opts *o, int render_only)
{
	struct code_state cs;
	memset(&cs, 0, sizeof(cs));
	int is_dry = render_only || dry_run_mode(o_dry_run);
	int server_dry = dry_run_mode(o_dry_run) == 2 && !render_only;
	int err_rc = render_only || (is_dry && !server_dry) ? EIDF_EXIT_ERROR : DEVRUN_EXIT_ERROR;
	int rc = err_rc;
	char *run_id = devrun_new_run_id();
	char *sname = NULL;
	cJSON *job = NULL, *secret = NULL, *created = NULL, *secret_made = NULL, *final = NULL;
	cJSON *service = NULL, *service_made = NULL;
	/* -o without a dry run: stdout is the Job alone, as created (--detach) or
	 * as it finished; the command's output then goes to stderr */
	enum output_format out_fmt = OUT_DEFAULT;
	if (!is_dry && o_output && output_format_parse(o_output, &out_fmt) == 0 && out_fmt == OUT_WIDE) {
		eidf_error("-o wide is a table format (devrun list -o wide); a run prints its Job with -o json, yaml or name");
		rc = EIDF_EXIT_USAGE;
		goto out;
	}

	if (gather_code(&cs, o, is_dry && !server_dry) < 0)
		goto out;
	char shortsha[13];
	snprintf(shortsha, sizeof(shortsha), "%.12s", cs.rs.commit_sha);
	struct devrun_code code = {
		.url = cs.rs.url,
		.commit = cs.rs.commit_sha,
		.ref = cs.rs.remote_branch,
		.dirty = cs.have_changes,
		.changes_summary = cs.summary,
	};
	code.submodules = cs.subs_env;
	if (cs.have_changes)
		code.tree = cs.ch.tree[0] ? cs.ch.tree : NULL;
	code.changes_exec = cs.use_exec;
	if (cs.ship && !cs.use_exec) {
		sname = secret_name(o, run_id);
		code.changes_secret = sname;
		secret = devrun_changes_secret(o, &cs.ch, run_id);
		cJSON *md = cJSON_GetObjectItem(secret, "metadata");
		cJSON_DeleteItemFromObject(md, "generateName");
		cJSON_AddStringToObject(md, "name", sname);
	}
	job = devrun_job_manifest(o, &code, run_id, script_init_code);
	if (devrun_is_multinode(o))
		service = devrun_multinode_service(o, run_id);
	if (manifest_check_job_policy(job) < 0) {
		eidf_error("%s", eidf_last_error());
		goto out;
	}

	if (is_dry && !server_dry) {
		enum output_format fmt = OUT_YAML;
		if (o_output && output_format_parse(o_output, &fmt) < 0) {
			eidf_error("%s", eidf_last_error());
			rc = EIDF_EXIT_USAGE;
			goto out;
		}
		if (fmt == OUT_DEFAULT || fmt == OUT_WIDE)
			fmt = OUT_YAML;
		cJSON *items;
		cJSON *list = manifest_list(&items);
		cJSON_AddItemReferenceToArray(items, job);
		if (service)
			cJSON_AddItemReferenceToArray(items, service);
		if (secret)
			cJSON_AddItemReferenceToArray(items, secret);
		int orc = output_object(stdout, list, fmt);
		cJSON_Delete(list);
		if (orc < 0) {
			eidf_error("%s", eidf_last_error());
			goto out;
		}
		if (!render_only || isatty(STDERR_FILENO))
			note("%s @ %s%s%s", code.url, shortsha, cs.summary ? " + " : "",
			     cs.summary ? cs.summary : "");
		rc = 0;
		goto out;
	}

	struct kclient *kc = cmd_client(cmd);
	if (!kc)
		goto out;
	const char *ns = o->namespace;
	if (check_prereqs(kc, ns, o) != 0)
		goto out;
	if (kclient_create(kc, &KRES_JOBS, ns, job, server_dry, &created) < 0) {
		eidf_error("%s", eidf_last_error());
		goto out;
	}
	const char *jname = json_str(created, "metadata.name");
	const char *juid = json_str(created, "metadata.uid");
	if (!jname)
		jname = "(generated)";
	if (service && multinode_create_service(kc, ns, service, jname, juid, server_dry,
						server_dry ? &service_made : NULL) < 0)
		goto out;
	if (secret) {
		/* owned by the Job, so it goes when the Job goes */
		if (juid && !server_dry) {
			cJSON *refs = cJSON_AddArrayToObject(cJSON_GetObjectItem(secret, "metadata"), "ownerReferences");
			cJSON *r = cJSON_CreateObject();
			cJSON_AddStringToObject(r, "apiVersion", "batch/v1");
			cJSON_AddStringToObject(r, "kind", "Job");
			cJSON_AddStringToObject(r, "name", jname);
			cJSON_AddStringToObject(r, "uid", juid);
			cJSON_AddItemToArray(refs, r);
		}
		if (kclient_create(kc, &KRES_SECRETS, ns, secret, server_dry,
				   server_dry ? &secret_made : NULL) < 0) {
			eidf_error("cannot store the local changes: %s", eidf_last_error());
			if (!server_dry && kclient_delete(kc, &KRES_JOBS, ns, jname, "Background", 0) < 0)
				eidf_warning("job.batch/%s was created without its code; delete it: %s", jname,
					     eidf_last_error());
			goto out;
		}
	}
	if (server_dry) {
		/* every object sent (the Job, then its Secret), like --dry-run=client */
		enum output_format fmt = OUT_DEFAULT;
		if (o_output)
			output_format_parse(o_output, &fmt);
		const cJSON *sent[3] = { created };
		size_t nsent = 1;
		if (service_made)
			sent[nsent++] = service_made;
		if (secret_made)
			sent[nsent++] = secret_made;
		rc = output_server_dry_run(stdout, sent, nsent, fmt) < 0 ? EIDF_EXIT_ERROR : 0;
		cJSON_Delete(secret_made);
		cJSON_Delete(service_made);
		goto out;
	}
	note("job.batch/%s created (run %s): %s @ %s%s%s", jname, run_id, code.url, shortsha,
	     cs.summary ? " + " : "", cs.summary ? cs.summary : "");

	int follow = !o_detach && (o_follow || isatty(STDOUT_FILENO));
	struct exec_upload up = { .kc = kc, .ns = ns, .ch = &cs.ch };
	if (!follow && !cs.use_exec) {
		print_run(created, jname, out_fmt);
		fprintf(stderr, "follow it with: kubectl eidf devrun attach %s -n %s\n", jname, ns);
		rc = 0;
		goto out;
	}
	struct follow_opts fo = {
		.ns = ns, .job = jname, .run_id = run_id,
		.queue = o->queue, .rm = o_rm && follow, .keep_failed = o_keep_failed, .timeout = o_timeout,
		/* the exec transport needs devrun until the pod has the changes */
		.init_running = cs.use_exec ? upload_changes : NULL, .init_running_ud = &up,
		.detach_after_init = !follow,
		.log_out = out_fmt != OUT_DEFAULT ? stderr : NULL,
		.final_job = out_fmt != OUT_DEFAULT && follow ? &final : NULL,
	};
	if (!follow)
		note("waiting for the pod to start, to upload the local changes; then detaching");
	rc = devrun_is_multinode(o) ? multinode_follow_run(cmd, &fo) : follow_run(cmd, &fo);
	if (cs.use_exec && !up.done && !fo.rm &&
	    (up.failed || rc == DEVRUN_EXIT_DETACHED || rc == DEVRUN_EXIT_TIMEOUT)) {
		/* its init container would only wait for the changes, then fail */
		note("job.batch/%s never got the local changes (exec transport): deleting it", jname);
		follow_delete_by_label(kc, ns, run_id, 0);
	}
	if (final)
		output_object(stdout, final, out_fmt);
	if (!follow && rc == 0 && up.done) {
		print_run(created, jname, out_fmt);
		fprintf(stderr, "follow it with: kubectl eidf devrun attach %s -n %s\n", jname, ns);
	}
out:
	cJSON_Delete(final);
	cJSON_Delete(created);
	cJSON_Delete(job);
	cJSON_Delete(secret);
	cJSON_Delete(service);
	free(sname);
	free(run_id);
	code_release(&cs);
	return rc;
}

/* Repo defaults: .eidf.yaml at the root of the working tree (run and rerun;
 * an unknown key in it is reported like one in the user file).  libgit2
 * stays initialised for the whole command: each first init parses the
 * system CA bundle (its TLS backend), a few ms every time.  -1 after printing
 * the error: a malformed file would run with the wrong image or resources. */
static int load_repo_settings(void)
{
	git_buf root = GIT_BUF_INIT;
	int rc = 0;

	git_libgit2_init();
	if (git_repository_discover(&root, ".", 0, NULL) == 0) {
		git_repository *r = NULL;
		if (git_repository_open(&r, root.ptr) == 0 && git_repository_workdir(r)) {
			char *p = xasprintf("%s.eidf.yaml", git_repository_workdir(r));
			if (settings_load_repo(p) < 0) {
				eidf_error("%s", eidf_last_error());
				rc = -1;
			}
			free(p);
		}
		git_repository_free(r);
	}
	git_error_clear();
	git_buf_dispose(&root);
	if (rc < 0)
		git_libgit2_shutdown();
	return rc;
}

/* ---- sessions (session.c): devrun's option building for them ------------------ */

struct session_build {
	int argc;
	const char **argv;
	const char *ns;
};

static int session_build_cb(struct devrun_opts *o, const struct devrun_opts *prev, void *ud)
{
	const struct session_build *b = ud;
	return build_opts(o, prev, b->argc, b->argv, b->ns);
}

static int run_session(struct eidf_cmd *cmd, const char *ns, int argc, const char **argv, int render)
{
	if (!o_session) {
		eidf_error("--watch needs --session NAME: it re-runs in a held pod");
		return EIDF_EXIT_USAGE;
	}
	const char *bad = render ? "render" : o_dry_run ? "--dry-run" : o_detach ? "--detach" :
			  o_base ? "--base" : o_output ? "--output" : o_keep_entrypoint ? "--keep-entrypoint" : o_rm ? "--rm" :
			  o_nodes > 1 ? "--nodes" : o_torchrun ? "--torchrun" : NULL;
	if (bad) {
		eidf_error("%s does not go with --session (a session runs the command in a held pod)", bad);
		return EIDF_EXIT_USAGE;
	}
	struct session_build b = { .argc = argc, .argv = argv, .ns = ns };
	struct session_opts so = {
		.name = o_session, .idle_timeout = o_idle_timeout, .timeout = o_timeout, .repo_url = o_repo,
		.no_local = o_no_local, .watch = o_watch, .build = session_build_cb, .build_ud = &b,
	};
	return session_run(cmd, ns, &so);
}

static int cmd_run(struct eidf_cmd *cmd, int argc, const char **argv)
{
	struct devrun_opts o;
	int render = cmd->sub && cmd->sub->name && !strcmp(cmd->sub->name, "render");
	int client_only = render || dry_run_mode(o_dry_run) == 1;
	if (argc == 0) { /* before any kubeconfig or repository work */
		eidf_error("no command: give it after \"--\", e.g. kubectl eidf devrun --image IMAGE -- python train.py");
		fprintf(stderr, "See 'kubectl eidf devrun --help' for usage.\n");
		return EIDF_EXIT_USAGE;
	}
	const char *ns = client_only ? render_namespace(cmd) : cmd_project_namespace(cmd);
	if (!ns)
		return render ? EIDF_EXIT_ERROR : DEVRUN_EXIT_ERROR;
	if (load_repo_settings() < 0)
		return render ? EIDF_EXIT_ERROR : DEVRUN_EXIT_ERROR;

	int rc;
	if (o_session || o_watch) {
		rc = run_session(cmd, ns, argc, argv, render);
		git_libgit2_shutdown();
		return rc;
	}
	if (build_opts(&o, NULL, argc, argv, ns) < 0) {
		eidf_error("%s", eidf_last_error());
		rc = EIDF_EXIT_USAGE;
	} else {
		rc = submit_and_follow(cmd, &o, render);
	}
	devrun_opts_release(&o);
	git_libgit2_shutdown();
	return rc;
}

/* ---- finding runs --------------------------------------------------------------- */

/* RUN is a Job name or a run id. */
static cJSON *find_run(struct kclient *kc, const char *ns, const char *run)
{
	cJSON *job = NULL;
	if (kclient_get(kc, &KRES_JOBS, ns, run, &job) == 0) {
		const char *stage = meta_label(job, LABEL_STAGE);
		if (stage && !strcmp(stage, "devrun"))
			return job;
		eidf_set_error("job.batch/%s is not a devrun run", run);
		cJSON_Delete(job);
		return NULL;
	}
	if (kclient_last_http_status(kc) != 404)
		return NULL;
	char *sel = xasprintf("%s=%s", LABEL_RUN, run);
	struct klist_opts lo = { .label_selector = sel };
	cJSON *list = NULL;
	int lrc = kclient_list(kc, &KRES_JOBS, ns, &lo, &list);
	free(sel);
	if (lrc < 0)
		return NULL;
	const cJSON *items = cJSON_GetObjectItem(list, "items");
	if (cJSON_GetArraySize(items) > 0)
		job = cJSON_DetachItemFromArray((cJSON *)items, 0);
	cJSON_Delete(list);
	if (!job)
		eidf_set_error("no devrun run \"%s\" in namespace %s (see kubectl eidf devrun list)", run, ns);
	return job;
}

static cJSON *latest_run(struct kclient *kc, const char *ns)
{
	struct klist_opts lo = { .label_selector = LABEL_STAGE "=devrun" };
	cJSON *list = NULL;
	if (kclient_list(kc, &KRES_JOBS, ns, &lo, &list) < 0)
		return NULL;
	cJSON *items = cJSON_GetObjectItem(list, "items"), *it, *best = NULL;
	const char *bt = "";
	long long bms = -1;
	int idx = 0, bi = -1;
	cJSON_ArrayForEach(it, items) {
		const char *t = json_str(it, "metadata.creationTimestamp");
		/* within one second (two runs started together), devrun's own
		 * milliseconds decide; the list's order (by name) would not */
		const char *m = meta_annotation(it, ANNOT_CREATED_MS);
		long long ms = m ? strtoll(m, NULL, 10) : 0;
		int c = t ? strcmp(t, bt) : -1;
		if (t && (c > 0 || (c == 0 && ms >= bms))) {
			bt = t;
			bms = ms;
			best = it;
			bi = idx;
		}
		idx++;
	}
	cJSON *job = best ? cJSON_DetachItemFromArray(items, bi) : NULL;
	cJSON_Delete(list);
	if (!job)
		eidf_set_error("no devrun runs in namespace %s", ns);
	return job;
}

/* ---- attach / logs / delete / rerun / list -------------------------------------- */

static int cmd_attach(struct eidf_cmd *cmd, int argc, const char **argv)
{
	if (argc != 1) {
		eidf_error("attach needs exactly one RUN (a Job name or run id)");
		return EIDF_EXIT_USAGE;
	}
	const char *ns = cmd_namespace(cmd);
	struct kclient *kc = ns ? cmd_client(cmd) : NULL;
	if (!kc)
		return DEVRUN_EXIT_ERROR;
	cJSON *job = find_run(kc, ns, argv[0]);
	if (!job) {
		eidf_error("%s", eidf_last_error());
		return DEVRUN_EXIT_ERROR;
	}
	struct follow_opts fo = {
		.ns = ns, .job = json_str(job, "metadata.name"),
		.run_id = meta_label(job, LABEL_RUN),
		.queue = meta_label(job, LABEL_QUEUE),
		.rm = o_rm, .keep_failed = o_keep_failed, .timeout = o_timeout, .attach = 1,
	};
	int rc = !fo.run_id ? DEVRUN_EXIT_ERROR
		 : multinode_job_ranks(job) ? multinode_follow_run(cmd, &fo) : follow_run(cmd, &fo);
	if (!fo.run_id)
		eidf_error("job.batch/%s has no %s label", fo.job, LABEL_RUN);
	cJSON_Delete(job);
	return rc;
}

static int cmd_logs(struct eidf_cmd *cmd, int argc, const char **argv)
{
	if (argc != 1) {
		eidf_error("logs needs exactly one RUN (a Job name or run id)");
		return EIDF_EXIT_USAGE;
	}
	const char *ns = cmd_namespace(cmd);
	struct kclient *kc = ns ? cmd_client(cmd) : NULL;
	if (!kc)
		return EIDF_EXIT_ERROR;
	cJSON *job = find_run(kc, ns, argv[0]);
	if (!job) {
		eidf_error("%s", eidf_last_error());
		return EIDF_EXIT_ERROR;
	}
	const char *container = o_init ? DEVRUN_INIT_CONTAINER : DEVRUN_MAIN_CONTAINER;
	int rc;
	if (multinode_job_ranks(job))
		rc = multinode_logs(cmd, ns, job, container, o_follow, o_timestamps, o_rank);
	else if (o_rank > 0) {
		eidf_error("--rank %ld: job.batch/%s runs on one node (rank 0)", o_rank,
			   json_str(job, "metadata.name"));
		rc = EIDF_EXIT_USAGE;
	} else
		rc = follow_logs(cmd, ns, meta_label(job, LABEL_RUN), container, o_follow, o_timestamps);
	cJSON_Delete(job);
	return rc;
}

static int delete_run(struct kclient *kc, const char *ns, const char *job, const char *run_id)
{
	int rc = 0;
	if (kclient_delete(kc, &KRES_JOBS, ns, job, "Background", 0) < 0 &&
	    kclient_last_http_status(kc) != 404) {
		eidf_error("%s", eidf_last_error());
		rc = -1;
	} else {
		printf("job.batch \"%s\" deleted\n", job);
	}
	if (run_id && follow_delete_by_label(kc, ns, run_id, 0) < 0)
		rc = -1;
	return rc;
}

static int cmd_delete(struct eidf_cmd *cmd, int argc, const char **argv)
{
	if (!argc && !o_finished) {
		eidf_error("give RUN... to delete, or --finished");
		return EIDF_EXIT_USAGE;
	}
	const char *ns = cmd_namespace(cmd);
	struct kclient *kc = ns ? cmd_client(cmd) : NULL;
	if (!kc)
		return EIDF_EXIT_ERROR;
	int rc = 0;
	for (int i = 0; i < argc; i++) {
		cJSON *job = find_run(kc, ns, argv[i]);
		if (!job) {
			eidf_error("%s", eidf_last_error());
			rc = EIDF_EXIT_ERROR;
			continue;
		}
		if (delete_run(kc, ns, json_str(job, "metadata.name"),
			       meta_label(job, LABEL_RUN)) < 0)
			rc = EIDF_EXIT_ERROR;
		cJSON_Delete(job);
	}
	if (o_finished) {
		/* finished from the pods as well as the Job's conditions (the job
		 * controller records an end a while after the pod), and runs that
		 * can never start (an image that cannot be pulled) */
		struct klist_opts lo = { .label_selector = LABEL_STAGE "=devrun" };
		cJSON *list = NULL, *pods = NULL, *it;
		if (kclient_list(kc, &KRES_JOBS, ns, &lo, &list) < 0 ||
		    kclient_list(kc, &KRES_PODS, ns, &lo, &pods) < 0) {
			eidf_error("%s", eidf_last_error());
			cJSON_Delete(list);
			return EIDF_EXIT_ERROR;
		}
		int n = 0;
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(list, "items")) {
			struct jobstate_info st;
			jobstate_derive(it, pods, &st);
			if (!jobstate_done(st.state))
				continue;
			n++;
			if (delete_run(kc, ns, json_str(it, "metadata.name"),
				       meta_label(it, LABEL_RUN)) < 0)
				rc = EIDF_EXIT_ERROR;
		}
		if (!n)
			fprintf(stderr, "No finished runs in namespace %s.\n", ns);
		cJSON_Delete(list);
		cJSON_Delete(pods);
	}
	return rc;
}

/* The command line as given, for telling `rerun RUN` from `rerun -- CMD`
 * (the option parser drops the "--"). */
static int raw_argc;
static char **raw_argv;

/* Words after the first "--" of the command line, -1 without one. */
static int words_after_dashdash(void)
{
	for (int i = 1; i < raw_argc; i++)
		if (!strcmp(raw_argv[i], "--"))
			return raw_argc - i - 1;
	return -1;
}

static int cmd_rerun(struct eidf_cmd *cmd, int argc, const char **argv)
{
	/* rerun [RUN] [-- COMMAND...]: words before "--" name the run */
	int ncmd = words_after_dashdash();
	int nrun = ncmd >= 0 ? argc - ncmd : argc > 0;
	if (nrun > 1 || nrun < 0) {
		eidf_error("rerun takes at most one RUN; give the command after \"--\"");
		return EIDF_EXIT_USAGE;
	}
	const char *ns = cmd_project_namespace(cmd);
	struct kclient *kc = ns ? cmd_client(cmd) : NULL;
	if (!kc)
		return DEVRUN_EXIT_ERROR;
	cJSON *job = NULL;
	if (nrun == 1) {
		job = find_run(kc, ns, argv[0]);
		argc--;
		argv++;
	} else {
		job = latest_run(kc, ns);
	}
	if (!job) {
		eidf_error("%s", eidf_last_error());
		return DEVRUN_EXIT_ERROR;
	}
	cJSON *saved = cJSON_Parse(first_nonnull(meta_annotation(job, ANNOT_DEVRUN_OPTIONS), "", ""));
	struct devrun_opts prev, o;
	memset(&prev, 0, sizeof(prev));
	prev.ttl_s = -1;
	int rc = DEVRUN_EXIT_ERROR, git_inited = 0;
	if (!saved || devrun_opts_from_json(saved, &prev) < 0) {
		eidf_error("job.batch/%s has no readable %s annotation: it was not created by devrun",
			   json_str(job, "metadata.name"), ANNOT_DEVRUN_OPTIONS);
		goto out;
	}
	if (load_repo_settings() < 0)
		goto out;
	git_inited = 1;
	if (build_opts(&o, &prev, argc, argv, ns) < 0) {
		eidf_error("%s", eidf_last_error());
		devrun_opts_release(&o);
		rc = EIDF_EXIT_USAGE;
		goto out;
	}
	note("rerunning %s with the current code", json_str(job, "metadata.name"));
	rc = submit_and_follow(cmd, &o, 0);
	devrun_opts_release(&o);
out:
	if (git_inited)
		git_libgit2_shutdown();
	devrun_opts_release(&prev);
	cJSON_Delete(saved);
	cJSON_Delete(job);
	return rc;
}

/* devrun session start NAME [flags] | list | stop NAME... | attach NAME */
static int cmd_session(struct eidf_cmd *cmd, int argc, const char **argv)
{
	const char *what = argc ? argv[0] : NULL;
	if (!what || (strcmp(what, "start") && strcmp(what, "list") && strcmp(what, "ls") &&
		      strcmp(what, "stop") && strcmp(what, "attach"))) {
		eidf_error("session needs one of start NAME, list, stop NAME..., attach NAME");
		fprintf(stderr, "See 'kubectl eidf devrun session --help' for usage.\n");
		return EIDF_EXIT_USAGE;
	}
	argc--;
	argv++;
	if (!strcmp(what, "list") || !strcmp(what, "ls")) {
		const char *ns = argc ? NULL : cmd_namespace(cmd);
		if (argc) {
			eidf_error("session list takes no arguments");
			return EIDF_EXIT_USAGE;
		}
		return ns ? session_list(cmd, ns, o_output, o_no_headers) : EIDF_EXIT_ERROR;
	}
	if (!strcmp(what, "stop")) {
		const char *ns = cmd_namespace(cmd);
		return ns ? session_stop(cmd, ns, argc, argv) : EIDF_EXIT_ERROR;
	}
	if (argc != 1) {
		eidf_error("session %s needs exactly one NAME", what);
		return EIDF_EXIT_USAGE;
	}
	if (!strcmp(what, "attach")) {
		const char *ns = cmd_namespace(cmd);
		return ns ? session_attach(cmd, ns, argv[0]) : EIDF_EXIT_ERROR;
	}
	/* start: the options of a run, without a command */
	const char *ns = cmd_project_namespace(cmd);
	if (!ns || load_repo_settings() < 0)
		return DEVRUN_EXIT_ERROR;
	static const char *placeholder[] = { "true" };
	struct session_build b = { .argc = 1, .argv = placeholder, .ns = ns };
	struct session_opts so = {
		.name = argv[0], .idle_timeout = o_idle_timeout, .timeout = o_timeout, .repo_url = o_repo,
		.build = session_build_cb, .build_ud = &b,
	};
	int rc = session_start(cmd, ns, &so);
	git_libgit2_shutdown();
	return rc;
}

static int cmd_list(struct eidf_cmd *cmd, int argc, const char **argv)
{
	(void)argv;
	if (argc) {
		eidf_error("list takes no arguments");
		return EIDF_EXIT_USAGE;
	}
	struct job_list l;
	int lrc = job_list_load(cmd, o_output, LABEL_STAGE "=devrun", "devrun runs", &l);
	if (lrc || !l.n)
		return lrc;
	enum output_format fmt = l.fmt;
	cJSON *pods = l.pods;
	static const char *const hdr[] = { "NAME", "STATE", "COMMIT", "DIRTY", "AGE", "EXIT", "COMMAND", NULL };
	static const char *const hdr_wide[] = { "NAME", "STATE", "COMMIT", "DIRTY", "AGE", "EXIT", "COMMAND",
						"IMAGE", "GPU", "RUN", NULL };
	struct table *t = table_new(fmt == OUT_WIDE ? hdr_wide : hdr);
	time_t now = time(NULL);
	for (size_t i = 0; i < l.n; i++) {
		const cJSON *it = l.items[i];
		const char *run = meta_label(it, LABEL_RUN);
		long code;
		char *state = follow_state_word(it, pods, &code);
		char exitbuf[32] = "";
		if (code >= 0)
			snprintf(exitbuf, sizeof(exitbuf), "%ld", code);
		const char *sha = meta_annotation(it, ANNOT_COMMIT);
		char shortsha[13];
		snprintf(shortsha, sizeof(shortsha), "%.12s", sha ? sha : "");
		const char *dirty = meta_annotation(it, ANNOT_DIRTY);
		time_t created = 0;
		const char *ct = json_str(it, "metadata.creationTimestamp");
		char *age = ct && parse_rfc3339(ct, &created) == 0 ? human_age(now, created) : xstrdup("<unknown>");
		cJSON *saved = cJSON_Parse(first_nonnull(meta_annotation(it, ANNOT_DEVRUN_OPTIONS), "", ""));
		/* quoted as a shell would read it back: "a b" is one word */
		struct strvec words = STRVEC_INIT;
		const cJSON *a;
		cJSON_ArrayForEach(a, cJSON_GetObjectItem(saved, "command"))
			if (cJSON_IsString(a))
				strvec_push(&words, a->valuestring);
		char *joined = shell_join((const char *const *)words.v, words.n);
		strvec_clear(&words);
		struct strbuf cmdline = STRBUF_INIT;
		strbuf_addstr(&cmdline, joined);
		free(joined);
		if (cmdline.len > 60) {
			cmdline.len = 57;
			strbuf_addstr(&cmdline, "...");
		}
		char gpu[24];
		snprintf(gpu, sizeof(gpu), "%ld", json_long(saved, "gpu", 0));
		const char *dirty_s = dirty && !strcmp(dirty, "true") ? "yes" : "no";
		if (fmt == OUT_WIDE)
			table_add_rowv(t, json_str(it, "metadata.name"), state, shortsha, dirty_s, age, exitbuf,
				       strbuf_str(&cmdline), first_nonnull(json_str(saved, "image"), "", ""), gpu,
				       run ? run : "", NULL);
		else
			table_add_rowv(t, json_str(it, "metadata.name"), state, shortsha, dirty_s, age, exitbuf,
				       strbuf_str(&cmdline), NULL);
		strbuf_release(&cmdline);
		cJSON_Delete(saved);
		free(age);
		free(state);
	}
	table_print(t, stdout, o_no_headers);
	table_free(t);
	job_list_release(&l);
	return 0;
}

/* ---- the stage ------------------------------------------------------------------- */

/* Completion of RUN arguments: this namespace's devrun Jobs with their state. */
static void complete_runs(const char *prefix, struct strvec *out, void *ctx)
{
	struct eidf_cmd *cmd = ctx;
	const char *ns = cmd_namespace(cmd);
	struct kclient *kc = ns ? cmd_client(cmd) : NULL;
	struct klist_opts lo = { .label_selector = LABEL_STAGE "=devrun" };
	cJSON *list = NULL, *it;
	if (!kc || kclient_list(kc, &KRES_JOBS, ns, &lo, &list) < 0)
		return;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(list, "items")) {
		const char *n = json_str(it, "metadata.name");
		if (!n || !starts_with(n, prefix ? prefix : ""))
			continue;
		char *st = follow_state_word(it, NULL, NULL);
		strvec_pushf(out, "%s\t%s", n, st);
		free(st);
	}
	cJSON_Delete(list);
}

/* run, rerun and attach follow a run and exit alike (docs/devrun.md) */
#define EXIT_CODES_HELP \
	"The exit code is the command's own, or 124 (--timeout, or the API server stayed away " \
	"for --reconnect-timeout), 125 (devrun error), 126 (evicted, preempted or deleted), " \
	"127 (image cannot be pulled), 130 (the first Ctrl-C detaches; the run goes on)."

static const struct subcommand subcommands[] = {
	{ .name = NULL, .alias = "run", .summary = "run COMMAND on the current code in a Job (the default)",
	  .usage = "[flags] -- COMMAND [ARGS...]",
	  .description =
		"Ships the current code of the git working tree: the pod clones the pushed commit "
		"(HEAD, or --base) and its submodules, and applies your uncommitted changes, "
		"binary-safe (in a Secret, or with kubectl exec when they are larger). COMMAND runs "
		"in the repository root (/code) with ARGS passed verbatim (no shell unless --shell). "
		"The run is followed on a terminal (--detach/--follow). " EXIT_CODES_HELP,
	  .options = run_opts, .args_complete = COMPLETE_NONE, .run = cmd_run },
	{ .name = "list", .alias = "ls", .summary = "runs with state, commit, dirty flag, age and exit code",
	  .usage = "[-o wide|json|yaml|name]", .options = list_opts, .run = cmd_list },
	{ .name = "attach", .summary = "follow a run: status, logs, exit code",
	  .usage = "RUN [--rm] [--timeout DURATION]", .options = attach_opts,
	  .description = EXIT_CODES_HELP,
	  .args_complete = COMPLETE_CUSTOM, .args_complete_custom = complete_runs, .run = cmd_attach },
	{ .name = "logs", .summary = "print the logs of a run", .usage = "RUN [-f] [--init]",
	  .options = logs_opts, .args_complete = COMPLETE_CUSTOM, .args_complete_custom = complete_runs,
	  .run = cmd_logs },
	{ .name = "delete", .summary = "delete runs and their objects", .usage = "RUN... | --finished",
	  .options = delete_opts, .args_complete = COMPLETE_CUSTOM, .args_complete_custom = complete_runs,
	  .run = cmd_delete },
	{ .name = "rerun", .summary = "run again with the same options and the current code",
	  .usage = "[RUN] [flags] [-- COMMAND [ARGS...]]", .options = run_opts, .description = EXIT_CODES_HELP,
	  .args_complete = COMPLETE_CUSTOM, .args_complete_custom = complete_runs, .run = cmd_rerun },
	{ .name = "session", .summary = "held pods for fast re-runs: session start|list|stop|attach",
	  .usage = "start NAME [flags] | list [-o wide] | stop NAME... | attach NAME",
	  .description =
		"A session is one Job whose pod stays up (as long as runs come within --idle-timeout, "
		"default 30m) so that `kubectl eidf devrun --session NAME -- COMMAND` runs COMMAND in it "
		"at once: only what changed since the session's previous run is shipped, the pod checks "
		"the tree id, and COMMAND runs with kubectl exec in the main container, with the exit "
		"code passed through. `start` creates it without running anything (the flags of a run "
		"set its pod), `list` shows the sessions, `stop` deletes them (freeing their GPUs), "
		"`attach` shows the output of the current or last run.",
	  .options = session_opts, .run = cmd_session },
	{ .name = "render", .summary = "print the objects a run would create (--dry-run=client -o yaml)",
	  .usage = "[flags] -- COMMAND [ARGS...]", .options = render_opts, .run = cmd_run },
	{ .run = NULL },
};

static const struct stage devrun_stage = {
	.name = "devrun",
	.summary = "run the repo's current code (uncommitted edits too) in a GPU Job",
	.description = "kubectl eidf devrun [flags] -- COMMAND [ARGS...] is `devrun run`.",
	.subcommands = subcommands,
};

int main(int argc, char **argv)
{
	settings_set_known(eidf_settings_keys); /* docs/configuration.md */
	raw_argc = argc;
	raw_argv = argv;
	return stage_main(&devrun_stage, argc, argv);
}
