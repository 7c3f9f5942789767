/* One run in a devrun session, and `devrun session start`: find (or create)
 * the session's pod, ship what changed since the previous run, run the
 * command through the exec API (session_exec.c), stop it on Ctrl-C, and
 * turn how it ended into devrun's exit code. */
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>

#include "changes.h"
#include "eidf/cmd.h"
#include "eidf/humanize.h"
#include "eidf/jobstate.h"
#include "eidf/manifest.h"
#include "follow.h"
#include "repo_state.h"
#include "script_session_cancel.h"
#include "script_session_run.h"
#include "session_delta.h"
#include "session_exec.h"
#include "session_internal.h"
#include "session_watch.h"
#include "submodules.h"

/* A run is recorded on the pod once its command printed something, or
 * after this long without output. */
#define SESSION_RECORD_AFTER_MS 1000

/* How long the command gets after SIGINT before SIGTERM (then SIGKILL). */
#define SESSION_CANCEL_GRACE_S 10

struct run_ctx {
	struct eidf_cmd *cmd;
	struct kclient *kc;
	const char *ns;
	const struct session_opts *so;
	struct devrun_opts o;
	int have_o;
	struct devrun_opts prev;
	cJSON *saved;            /* owns prev's strings */
	cJSON *pod;              /* the ready pod */
	struct repo_state rs;
	long idle_s;
	int cached;              /* x->pod is the pod as the last run left it (not looked up) */
};

static void ctx_release(struct run_ctx *x)
{
	if (x->have_o)
		devrun_opts_release(&x->o);
	devrun_opts_release(&x->prev);
	cJSON_Delete(x->saved);
	cJSON_Delete(x->pod);
	repo_state_release(&x->rs);
}

/* ---- options of the session vs this run ------------------------------------------- */

static int load_saved(struct run_ctx *x, const cJSON *obj)
{
	const char *a = obj ? meta_annotation(obj, ANNOT_DEVRUN_OPTIONS) : NULL;
	memset(&x->prev, 0, sizeof(x->prev));
	x->prev.ttl_s = -1;
	if (!a)
		return 0;
	x->saved = cJSON_Parse(a);
	if (!x->saved || devrun_opts_from_json(x->saved, &x->prev) < 0) {
		eidf_set_error("%s has no readable %s annotation", json_str(obj, "metadata.name"),
			       ANNOT_DEVRUN_OPTIONS);
		return -1;
	}
	return 1;
}

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static int same_list(const struct strvec *a, const struct strvec *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]))
			return 0;
	return 1;
}

static void diff_str(struct strbuf *sb, const char *flag, const char *run, const char *sess)
{
	if (!same_str(run, sess))
		strbuf_addf(sb, "%s--%s %s (the session has %s)", sb->len ? ", " : "", flag,
			    run ? run : "(none)", sess ? sess : "(none)");
}

static void diff_list(struct strbuf *sb, const char *flag, const struct strvec *run, const struct strvec *sess)
{
	if (same_list(run, sess))
		return;
	char *r = shell_join((const char *const *)run->v, run->n);
	char *s = shell_join((const char *const *)sess->v, sess->n);
	strbuf_addf(sb, "%s--%s %s (the session has %s)", sb->len ? ", " : "", flag, *r ? r : "(none)",
		    *s ? s : "(none)");
	free(r);
	free(s);
}

/* What the pod was made with and this run asks for differently. */
static char *opts_difference(const struct devrun_opts *o, const struct devrun_opts *p)
{
	struct strbuf sb = STRBUF_INIT;
	diff_str(&sb, "image", o->image, p->image);
	if (o->gpu != p->gpu)
		strbuf_addf(&sb, "%s--gpu %ld (the session has %ld)", sb.len ? ", " : "", o->gpu, p->gpu);
	diff_str(&sb, "gpu-product", o->gpu_product, p->gpu_product);
	diff_str(&sb, "cpu", o->cpu, p->cpu);
	diff_str(&sb, "cpu-limit", o->cpu_limit, p->cpu_limit);
	diff_str(&sb, "memory", o->memory, p->memory);
	diff_str(&sb, "memory-limit", o->memory_limit, p->memory_limit);
	diff_str(&sb, "shm-size", o->shm_size, p->shm_size);
	diff_str(&sb, "queue", o->queue, p->queue);
	diff_str(&sb, "git-image", o->git_image, p->git_image);
	diff_str(&sb, "git-secret", o->git_secret, p->git_secret);
	diff_list(&sb, "pvc", &o->pvcs, &p->pvcs);
	diff_list(&sb, "env-from-secret", &o->env_from_secrets, &p->env_from_secrets);
	diff_list(&sb, "image-pull-secret", &o->image_pull_secrets, &p->image_pull_secrets);
	if (!sb.len) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb);
}

static int env_name_posix(const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv || (*kv >= '0' && *kv <= '9'))
		return 0;
	for (const char *p = kv; p < eq; p++)
		if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			return 0;
	return 1;
}

/* The idle timeout of an existing session: its own, from its annotation. */
static void session_idle_from(struct run_ctx *x, const cJSON *obj)
{
	const char *a = meta_annotation(obj, ANNOT_SESSION_IDLE);
	if (a && atol(a) > 0)
		x->idle_s = atol(a);
}

static int build(struct run_ctx *x, int have_session)
{
	if (x->so->build(&x->o, have_session || x->saved ? &x->prev : NULL, x->so->build_ud) < 0) {
		x->have_o = 1;
		eidf_error("%s", eidf_last_error());
		return EIDF_EXIT_USAGE;
	}
	x->have_o = 1;
	if (x->o.nodes > 1 || x->o.torchrun) {
		eidf_error("a devrun session holds one pod: --nodes and --torchrun (or their settings) do not "
			   "go with --session");
		return EIDF_EXIT_USAGE;
	}
	for (size_t i = 0; i < x->o.envs.n; i++)
		if (!env_name_posix(x->o.envs.v[i])) {
			eidf_error("--env %s: in a session, variable names are letters, digits and '_' (the run "
				   "exports them with sh)", x->o.envs.v[i]);
			return EIDF_EXIT_USAGE;
		}
	if (!have_session)
		return 0;
	char *d = opts_difference(&x->o, &x->prev);
	if (d) {
		eidf_error("session %s was started with other options: %s; run without these flags, stop it "
			   "(kubectl eidf devrun session stop %s) or use another session name", x->so->name, d,
			   x->so->name);
		free(d);
		return EIDF_EXIT_USAGE;
	}
	return 0;
}

/* ---- the session's pod ------------------------------------------------------------- */

static int create_session(struct run_ctx *x)
{
	char *run_id = devrun_new_run_id();
	cJSON *job = session_job_manifest(&x->o, x->so->name, x->idle_s, x->rs.url, x->rs.commit_sha,
					  x->rs.remote_branch, run_id);
	cJSON *created = NULL;
	int code = DEVRUN_EXIT_ERROR;
	if (manifest_check_job_policy(job) < 0 || kclient_create(x->kc, &KRES_JOBS, x->ns, job, 0, &created) < 0) {
		eidf_error("%s", eidf_last_error());
		goto out;
	}
	const char *jname = json_str(created, "metadata.name");
	char *idle = human_duration(x->idle_s);
	session_note("session %s: job.batch/%s created (%ld GPU%s; it ends after %s without a run)", x->so->name,
		     jname, x->o.gpu, x->o.gpu == 1 ? "" : "s", idle);
	free(idle);
	x->pod = session_wait_pod(x->cmd, x->ns, x->so->name, run_id, jname, x->so->timeout, &code);
	if (!x->pod && (code == DEVRUN_EXIT_PULL || code == DEVRUN_EXIT_ERROR)) {
		session_note("session %s can never start; deleting job.batch/%s so that it holds no quota",
			     x->so->name, jname);
		follow_delete_by_label(x->kc, x->ns, run_id, 1);
	}
	if (x->pod)
		code = 0;
out:
	cJSON_Delete(job);
	cJSON_Delete(created);
	free(run_id);
	return code;
}

/* Back to knowing nothing of the pod (the cached one is gone). */
static void forget_pod(struct run_ctx *x)
{
	if (x->have_o)
		devrun_opts_release(&x->o);
	x->have_o = 0;
	devrun_opts_release(&x->prev);
	memset(&x->prev, 0, sizeof(x->prev));
	x->prev.ttl_s = -1;
	cJSON_Delete(x->saved);
	x->saved = NULL;
	cJSON_Delete(x->pod);
	x->pod = NULL;
	x->cached = 0;
}

/* Straight to the pod the previous run of this clone used (its metadata,
 * kept with the session's state: the name, and the options, which never
 * change for a pod): no request before the run.  1 when there is none;
 * the exec then finds out whether it is still there (see run_once). */
static int cached_session(struct run_ctx *x)
{
	struct session_state st;
	char *file = session_state_path(x->rs.repo, x->ns, x->so->name);
	session_state_load(file, &st);
	free(file);
	int rc = 1;
	if (st.pod && meta_annotation(st.pod, ANNOT_DEVRUN_OPTIONS)) {
		x->pod = st.pod;
		st.pod = NULL;
		x->cached = 1;
		session_idle_from(x, x->pod);
		rc = load_saved(x, x->pod) < 0 ? 1 : build(x, 1);
		if (rc == 1)
			forget_pod(x);
	}
	session_state_release(&st);
	return rc;
}

/* A ready pod for the session in x->pod (creating the session when
 * create_ok); 0 or devrun's exit code. */
static int ensure_session(struct run_ctx *x, int create_ok, int *created)
{
	struct session_found f;
	*created = 0;
	if (session_find(x->kc, x->ns, x->so->name, 0, &f) < 0) {
		eidf_error("%s", eidf_last_error());
		return DEVRUN_EXIT_ERROR;
	}
	if (f.pod) {
		x->pod = cJSON_Duplicate(f.pod, 1);
		session_found_release(&f);
		session_idle_from(x, x->pod);
		if (load_saved(x, x->pod) < 0) {
			eidf_error("%s", eidf_last_error());
			return DEVRUN_EXIT_ERROR;
		}
		return build(x, 1);
	}
	session_found_release(&f);
	if (session_find(x->kc, x->ns, x->so->name, 1, &f) < 0) {
		eidf_error("%s", eidf_last_error());
		return DEVRUN_EXIT_ERROR;
	}
	int rc;
	if (f.job) {
		session_idle_from(x, f.job);
		if (load_saved(x, f.job) < 0) {
			eidf_error("%s", eidf_last_error());
			rc = DEVRUN_EXIT_ERROR;
		} else if (!(rc = build(x, 1))) {
			x->pod = session_wait_pod(x->cmd, x->ns, x->so->name, meta_label(f.job, LABEL_RUN),
						  json_str(f.job, "metadata.name"), x->so->timeout, &rc);
		}
		session_found_release(&f);
		return rc;
	}
	if (!create_ok) {
		session_found_release(&f);
		eidf_error("no devrun session \"%s\" in namespace %s (start it with kubectl eidf devrun session "
			   "start %s, or run with --session %s)", x->so->name, x->ns, x->so->name, x->so->name);
		return DEVRUN_EXIT_ERROR;
	}
	if (f.ended) {
		/* same options as before unless flags say otherwise */
		session_note("session %s had ended (%s); starting it again", x->so->name,
			     json_str(f.ended, "metadata.name"));
		if (load_saved(x, f.ended) < 0)
			eidf_warning("%s", eidf_last_error());
	}
	session_found_release(&f);
	if ((rc = build(x, 0)))
		return rc;
	*created = 1;
	return create_session(x);
}

/* ---- one run ----------------------------------------------------------------------- */

struct run_result {
	int code;                /* devrun's exit code */
	int missing;             /* the exec found no such pod or container (404/400): look it up */
	int prepared;            /* the pod's /code is the expected tree */
	int unknown_base;        /* the pod does not know the previous tree: ship everything */
};

static const char *pod_name(const struct run_ctx *x)
{
	return json_str(x->pod, "metadata.name");
}

/* What the wrapper recorded in runs/RUN/rc; -1 when it cannot be read. */
static int read_outcome(struct run_ctx *x, const char *run, struct strbuf *out)
{
	struct strvec argv = STRVEC_INIT;
	strvec_push(&argv, "cat");
	strvec_pushf(&argv, "%s/runs/%s/rc", SESSION_DIR, run);
	struct kexec_spec s = { .kc = x->kc, .status_fd = -1, .ns = x->ns, .pod = pod_name(x), .container = DEVRUN_MAIN_CONTAINER,
				.argv = &argv, .stdin_fd = -1, .writer_fd = -1, .stdout_fd = -1, .stderr_fd = -1 };
	int rc = kexec_capture(&s, out, NULL);
	strvec_clear(&argv);
	return rc == 0 ? 0 : -1;
}

/* The session's pod is gone or going (evicted, preempted, deleted)? */
static int pod_gone(struct run_ctx *x, char **why)
{
	cJSON *p = NULL;
	*why = NULL;
	if (kclient_get(x->kc, &KRES_PODS, x->ns, pod_name(x), &p) < 0) {
		if (kclient_last_http_status(x->kc) == 404) {
			*why = xstrdup("was deleted (evicted or preempted)");
			return 1;
		}
		return 0;
	}
	int gone = 0;
	const char *reason = NULL;
	if (jobstate_condition(p, "DisruptionTarget", &reason, NULL) == 1) {
		*why = xasprintf("was evicted (%s)", reason ? reason : "DisruptionTarget");
		gone = 1;
	} else if (json_get(p, "metadata.deletionTimestamp")) {
		*why = xstrdup("is being deleted");
		gone = 1;
	} else if (!session_pod_ready(p)) {
		*why = xasprintf("is no longer running (%s)", json_str(p, "status.phase") ?
				 json_str(p, "status.phase") : "unknown phase");
		gone = 1;
	}
	cJSON_Delete(p);
	return gone;
}

static int outcome_code(struct run_ctx *x, const char *run, const char *line, struct run_result *r)
{
	long n;
	char holder[64];
	long since;
	if (sscanf(line, "exit %ld", &n) == 1) {
		r->prepared = 1;
		return (int)n;
	}
	if (!strncmp(line, "cancelled", 9)) {
		r->prepared = 1;
		return DEVRUN_EXIT_DETACHED;
	}
	if (sscanf(line, "prepare %ld", &n) == 1) {
		if (n == 5) {
			r->unknown_base = 1;
			return DEVRUN_EXIT_ERROR;
		}
		if (n == 4)
			eidf_error("session %s: the tree in pod %s differs from the local working tree (see above); "
				   "run %s did not start", x->so->name, pod_name(x), run);
		else
			eidf_error("session %s: pod %s could not prepare the code (see above); run %s did not "
				   "start", x->so->name, pod_name(x), run);
		return DEVRUN_EXIT_ERROR;
	}
	if (sscanf(line, "busy %63s %ld", holder, &since) == 2) {
		char when[32] = "";
		time_t t = (time_t)since;
		struct tm tm;
		if (since > 0 && gmtime_r(&t, &tm))
			strftime(when, sizeof(when), " since %H:%M:%S UTC", &tm);
		eidf_error("session %s is busy: run %s holds it%s (one run at a time); wait for it, or stop it "
			   "with Ctrl-C where it runs", x->so->name, holder, when);
		return DEVRUN_EXIT_ERROR;
	}
	eidf_error("session %s: run %s ended in an unknown way (\"%s\")", x->so->name, run, line);
	return DEVRUN_EXIT_ERROR;
}

static pid_t start_cancel(struct run_ctx *x, const char *run)
{
	struct strvec argv = STRVEC_INIT;
	strvec_push(&argv, "session-cancel");
	strvec_push(&argv, run);
	strvec_pushf(&argv, "%d", SESSION_CANCEL_GRACE_S);
	struct kexec_spec s = { .kc = x->kc, .status_fd = -1, .ns = x->ns, .pod = pod_name(x), .container = DEVRUN_MAIN_CONTAINER,
				.argv = &argv, .script = script_session_cancel, .stdin_fd = -1, .writer_fd = -1, .stdout_fd = -1, .stderr_fd = -1 };
	pid_t pid = kexec_start(&s);
	strvec_clear(&argv);
	return pid;
}

/* The arguments of session-run.sh for this run (the script itself, and
 * what the run needs from the work tree, come on stdin: see write_request). */
static void run_argv(struct run_ctx *x, struct strvec *v, const char *run)
{
	strvec_push(v, "session-run");
	strvec_push(v, run);
	strvec_push(v, x->o.shell ? "1" : "0");
	strvec_pushf(v, "%lld", (long long)time(NULL));
	for (size_t i = 0; i < x->o.envs.n; i++)
		strvec_push(v, x->o.envs.v[i]);
	strvec_push(v, "--");
	for (size_t i = 0; i < x->o.argv.n; i++)
		strvec_push(v, x->o.argv.v[i]);
}

/* Write all of n bytes to the run's stdin pipe; -1 when the exec child
 * stopped reading (the pod refused the run before its request: busy). */
static int write_pipe(int fd, const char *d, size_t n)
{
	/* EPIPE, not SIGPIPE, when the child is gone: SIGPIPE is blocked while
	 * writing and a pending one taken back */
	sigset_t pipe_set, old;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_set, &old);
	int rc = 0;
	while (n) {
		ssize_t k = write(fd, d, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = -1;
			break;
		}
		d += k;
		n -= (size_t)k;
	}
	if (rc < 0 && errno == EPIPE) {
		struct timespec zero = { 0, 0 };
		sigtimedwait(&pipe_set, NULL, &zero);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* The run's request (session-run.sh reads it line by line), then the payload. */
static void write_request(struct run_ctx *x, int fd, const char *base, const char *tree, int full,
			  const struct session_delta *d, const char *sha)
{
	struct strbuf r = STRBUF_INIT;
	strbuf_addf(&r, "eidf-session-run 1\n%s\n%s\n%s\n%d\n%s\n%zu\n%s\n%s\n", x->rs.commit_sha,
		    base && *base ? base : "-", tree && *tree ? tree : "-", full ? 1 : 0,
		    x->rs.remote_branch ? x->rs.remote_branch : "", d->payload.len, sha,
		    d->payload_tgz ? "tgz" : "tar");
	if (write_pipe(fd, r.buf, r.len) == 0 && d->payload.len)
		write_pipe(fd, d->payload.buf, d->payload.len);
	strbuf_release(&r);
}

/* Collect the changes (the tar holds only what the pod lacks, given prev;
 * every local file of a submodule, which each run puts back to its commit). */
static int collect(struct run_ctx *x, const struct session_state *prev, struct submodules *subs,
		   struct changes *c)
{
	changes_init(c);
	if (x->so->no_local) {
		/* the commit as it is: its tree, nothing shipped */
		git_object *obj = NULL;
		int ok = git_revparse_single(&obj, x->rs.repo, x->rs.commit_sha) == 0;
		const git_oid *t = ok ? git_commit_tree_id((git_commit *)obj) : NULL;
		if (t)
			git_oid_tostr(c->tree, sizeof(c->tree), t);
		git_object_free(obj);
		if (!t) {
			eidf_error("cannot read commit %s: %s", x->rs.commit_sha, git2_errmsg());
			return -1;
		}
		return 0;
	}
	/* the submodules as plain devrun ships them: each at the commit its
	 * working tree has checked out here (pushed), with its local changes */
	struct submodules_opts smo = { .base_sha = x->rs.commit_sha, .pod_url = x->rs.url,
				       .have_git_secret = x->o.git_secret != NULL, .working_state = 1 };
	if (!x->o.no_submodules && submodules_load(x->rs.repo, x->rs.root, &smo, subs) < 0) {
		eidf_error("%s", eidf_last_error());
		return -1;
	}
	for (size_t i = 0; i < subs->notes.n; i++)
		eidf_warning("%s", subs->notes.v[i]);
	struct changes_opts co = { .base_sha = x->rs.commit_sha, .max_encoded = SIZE_MAX,
				   .subs = subs->n ? subs : NULL,
				   .pack_filter = prev ? session_pack_filter : NULL,
				   .pack_filter_ud = (void *)prev };
	if (changes_collect(x->rs.repo, x->rs.root, &co, c) < 0) {
		eidf_error("%s", eidf_last_error());
		return -1;
	}
	for (size_t i = 0; i < c->skipped.n; i++)
		eidf_warning("%s", c->skipped.v[i]);
	if (c->converted.n)
		eidf_warning(".gitattributes converts %s when git adds it, so the pod cannot verify the tree: "
			     "skipping the tree check (the files are still shipped byte for byte)", c->converted.v[0]);
	return 0;
}

static void reminder(struct run_ctx *x)
{
	time_t end = time(NULL) + x->idle_s;
	struct tm tm;
	char when[32] = "";
	if (gmtime_r(&end, &tm))
		strftime(when, sizeof(when), "%H:%M UTC", &tm);
	char *idle = human_duration(x->idle_s);
	if (x->o.gpu)
		session_note("session %s holds %ld GPU%s (pod %s) until %s without a run (about %s); kubectl "
			     "eidf devrun session stop %s frees %s now", x->so->name, x->o.gpu,
			     x->o.gpu == 1 ? "" : "s", pod_name(x), idle, when, x->so->name,
			     x->o.gpu == 1 ? "it" : "them");
	else
		session_note("session %s (pod %s) ends after %s without a run (about %s); kubectl eidf devrun "
			     "session stop %s ends it now", x->so->name, pod_name(x), idle, when, x->so->name);
	free(idle);
}

/* The run in flight (for --watch, which may stop it). */
struct inflight {
	pid_t pid;
	int status_fd;           /* what the exec child says (kexec_spec.status_fd) */
	struct strbuf status;    /* what it said so far */
	char *run;
	int full;
	int cached;              /* the exec went to the pod the previous run knew (not looked up) */
	struct changes c;
	struct submodules subs;
	struct session_state prev;
	char *state_file;
	char tree[65];
};

static void inflight_release(struct inflight *f)
{
	if (f->status_fd >= 0)
		close(f->status_fd);
	strbuf_release(&f->status);
	free(f->run);
	changes_release(&f->c);
	submodules_release(&f->subs);
	session_state_release(&f->prev);
	free(f->state_file);
	memset(f, 0, sizeof(*f));
	f->pid = -1;
	f->status_fd = -1;
}

/* Read what the exec child says on its status pipe (kexec_spec.status_fd):
 * until it said WORD ("open\n", "output\n"), ended, Ctrl-C came or
 * wait_ms passed (-1: no limit; 1 when it said WORD); word NULL: all of it
 * (it has exited). */
static int status_read(struct inflight *f, const char *word, long wait_ms)
{
	long until = wait_ms >= 0 ? monotonic_ms() + wait_ms : -1;
	while (f->status_fd >= 0) {
		if (word && (session_sigint || (f->status.len && strstr(f->status.buf, word))))
			break;
		if (word) {
			long left = until < 0 ? 100 : until - monotonic_ms();
			if (left <= 0)
				break;
			struct pollfd p = { f->status_fd, POLLIN, 0 };
			if (poll(&p, 1, left < 100 ? (int)left : 100) <= 0)
				continue;
		}
		char buf[128];
		ssize_t n = read(f->status_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(f->status_fd);
			f->status_fd = -1;
			break;
		}
		strbuf_add(&f->status, buf, (size_t)n);
	}
	return word && f->status.len && strstr(f->status.buf, word) != NULL;
}

/* The run count and when the last run started, on the pod (`session list`
 * reads them; a pod that cannot be patched just shows none).  Sent while
 * the run goes on (on the client's own connection: the exec's is the
 * WebSocket's, and libcurl never hands an open connection over to a
 * CONNECT_ONLY transfer), so that it costs the run no time.  The count
 * comes from the pod as this run knew it: with the pod's resourceVersion as
 * the precondition when that was the cached copy, and read again if another
 * run (another clone) counted meanwhile (409). */
static void record_run(struct run_ctx *x)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		const char *n = meta_annotation(x->pod, ANNOT_SESSION_RUNS);
		long runs = (n ? atol(n) : 0) + 1;
		char now[32], count[24];
		format_rfc3339(time(NULL), now);
		snprintf(count, sizeof(count), "%ld", runs);
		cJSON *patch = cJSON_CreateObject();
		cJSON *md = cJSON_AddObjectToObject(patch, "metadata");
		const char *rv = json_str(x->pod, "metadata.resourceVersion");
		if (x->cached && rv)
			cJSON_AddStringToObject(md, "resourceVersion", rv);
		cJSON *ann = cJSON_AddObjectToObject(md, "annotations");
		cJSON_AddStringToObject(ann, ANNOT_SESSION_RUNS, count);
		cJSON_AddStringToObject(ann, ANNOT_SESSION_LAST_RUN, now);
		cJSON_AddStringToObject(ann, ANNOT_COMMIT, x->rs.commit_sha);
		cJSON *updated = NULL;
		int ok = kclient_patch_merge(x->kc, &KRES_PODS, x->ns, pod_name(x), patch, &updated) == 0 && updated;
		cJSON_Delete(patch);
		if (ok) {
			cJSON_Delete(x->pod);
			x->pod = updated;
			x->cached = 0;
			return;
		}
		cJSON_Delete(updated);
		cJSON *fresh = NULL;
		if (!x->cached || kclient_last_http_status(x->kc) != 409 ||
		    kclient_get(x->kc, &KRES_PODS, x->ns, pod_name(x), &fresh) < 0) {
			cJSON_Delete(fresh);
			return;
		}
		cJSON_Delete(x->pod);
		x->pod = fresh;
		x->cached = 0;
	}
}

/* What the run ships: collect the changes, compute the delta relative to
 * the previous run, say it, and write the request and payload into the
 * run's stdin (fd); 0, or devrun's exit code (then nothing was written). */
static int ship(struct run_ctx *x, struct inflight *f, int force_full, int fd)
{
	const char *uid = json_str(x->pod, "metadata.uid");
	f->state_file = session_state_path(x->rs.repo, x->ns, x->so->name);
	session_state_load(f->state_file, &f->prev);
	int valid = !force_full && f->prev.pod_uid && uid && !strcmp(f->prev.pod_uid, uid) &&
		    f->prev.commit && !strcmp(f->prev.commit, x->rs.commit_sha) && f->prev.tree && *f->prev.tree;
	f->full = !valid;
	if (collect(x, valid ? &f->prev : NULL, &f->subs, &f->c) < 0)
		return DEVRUN_EXIT_ERROR;
	snprintf(f->tree, sizeof(f->tree), "%s", f->c.tree);
	char *subs_text = NULL;
	if (f->subs.n) {
		const char **trees = xcalloc(f->subs.n + 1, sizeof(*trees));
		for (size_t i = 0; i < f->subs.n && i < f->c.n_subs; i++)
			trees[i] = f->c.subs[i].tree;
		subs_text = submodules_env(&f->subs, trees);
		free(trees);
	}
	struct session_delta d;
	int drc = session_delta_compute(x->rs.repo, x->rs.commit_sha, &f->c, valid ? &f->prev : NULL, subs_text,
					&d);
	free(subs_text);
	if (drc < 0) {
		eidf_error("%s", eidf_last_error());
		return DEVRUN_EXIT_ERROR;
	}
	char sha[65];
	sha256_hex(d.payload.buf ? d.payload.buf : "", d.payload.len, sha);
	char *size = human_bytes(d.payload.len);
	char shortsha[13];
	snprintf(shortsha, sizeof(shortsha), "%.12s", x->rs.commit_sha);
	session_note("session %s: run %s in pod %s: %s @ %s; shipping %zu file%s, %zu deleted, %zu restored "
		     "(%s%s)", x->so->name, f->run, pod_name(x), x->rs.url, shortsha, d.n_files,
		     d.n_files == 1 ? "" : "s", d.n_deleted, d.n_restored, size,
		     f->full ? ", all local changes" : ", changed since the previous run");
	free(size);
	write_request(x, fd, valid ? f->prev.tree : NULL, f->tree, f->full, &d, sha);
	session_delta_release(&d);
	return 0;
}

/* Start one run: the exec first (its connection, upgrade and the pod's own
 * preparations take longer than the diff here, so they overlap), then what
 * it ships on its stdin, then the run recorded on the pod while it goes on;
 * 0 with f->pid set, else devrun's exit code. */
static int start_run(struct run_ctx *x, struct inflight *f, int force_full)
{
	memset(f, 0, sizeof(*f));
	f->pid = -1;
	f->status_fd = -1;
	f->run = devrun_new_run_id();
	f->cached = x->cached;
	struct strvec argv = STRVEC_INIT;
	run_argv(x, &argv, f->run);
	int sp[2] = { -1, -1 }, ip[2] = { -1, -1 };
	if (pipe2(sp, O_CLOEXEC) < 0 || pipe2(ip, O_CLOEXEC) < 0) {
		eidf_error("pipe: %s", strerror(errno));
		for (int i = 0; i < 2; i++) {
			if (sp[i] >= 0)
				close(sp[i]);
		}
		strvec_clear(&argv);
		return DEVRUN_EXIT_ERROR;
	}
	struct kexec_spec s = { .kc = x->kc, .status_fd = sp[1], .quiet_missing = x->cached, .ns = x->ns,
				.pod = pod_name(x), .container = DEVRUN_MAIN_CONTAINER, .argv = &argv,
				.script = script_session_run,
				.stdin_fd = ip[0], .writer_fd = ip[1], .stdout_fd = -1, .stderr_fd = -1 };
	f->pid = kexec_start(&s);
	close(sp[1]);
	close(ip[0]);
	f->status_fd = sp[0];
	strvec_clear(&argv);
	if (f->pid < 0) {
		close(ip[1]);
		eidf_error("%s", eidf_last_error());
		return DEVRUN_EXIT_ERROR;
	}
	int rc = ship(x, f, force_full, ip[1]);
	if (rc) {
		/* the pod ends the run unstarted (v4 cannot close stdin: say so) */
		write_pipe(ip[1], "abort\n", 6);
		close(ip[1]);
		kexec_wait(f->pid, NULL);
		f->pid = -1;
		return rc;
	}
	close(ip[1]);
	/* once the exec is upgraded (a pod that is gone gets no PATCH) and the
	 * command has printed something or had a second: not while the exec is
	 * still being set up, which needs the CPU (the local API server and
	 * node agent are one Python process) */
	if (status_read(f, "open\n", -1)) {
		status_read(f, "output\n", SESSION_RECORD_AFTER_MS);
		record_run(x);
	}
	return 0;
}

/* kubectl's exit code -> devrun's, from the pod when it is ambiguous. */
static void finish_run(struct run_ctx *x, struct inflight *f, int krc, struct run_result *r)
{
	memset(r, 0, sizeof(*r));
	char line[64] = "";
	long http = -1;
	status_read(f, NULL, -1);
	/* its last line: how the exec ended */
	for (char *l = f->status.buf, *e; l && *l; l = e + 1) {
		e = strchr(l, '\n');
		if (!e)
			e = l + strlen(l) - 1;
		if (strncmp(l, "open\n", 5) && strncmp(l, "output\n", 7))
			snprintf(line, sizeof(line), "%.*s", (int)(e - l + 1), l);
	}
	if (f->cached && sscanf(line, "error %ld", &http) == 1 && (http == 404 || http == 400)) {
		/* the pod of the previous run is gone (or going): nothing ran */
		r->missing = 1;
		r->code = DEVRUN_EXIT_ERROR;
		return;
	}
	if (krc == 0) {
		r->code = 0;
		r->prepared = 1;
	} else {
		struct strbuf out = STRBUF_INIT;
		char *why = NULL;
		if (read_outcome(x, f->run, &out) == 0 && out.len) {
			while (out.len && out.buf[out.len - 1] == '\n')
				out.buf[--out.len] = '\0';
			r->code = outcome_code(x, f->run, out.buf, r);
		} else if (pod_gone(x, &why)) {
			eidf_error("session %s is gone: its pod %s %s during run %s; run again with --session %s to "
				   "wait for it to start again, or end it with kubectl eidf devrun session stop %s",
				   x->so->name, pod_name(x), why, f->run, x->so->name, x->so->name);
			r->code = DEVRUN_EXIT_GONE;
		} else {
			eidf_error("session %s: the exec into pod %s failed (exit code %d) and the run's outcome "
				   "cannot be read; see kubectl eidf devrun session list", x->so->name, pod_name(x), krc);
			r->code = DEVRUN_EXIT_ERROR;
		}
		free(why);
		strbuf_release(&out);
	}
	if (r->prepared && f->tree[0]) {
		if (session_state_save(f->state_file, x->pod, x->rs.commit_sha, f->tree,
				       &f->c) < 0)
			eidf_warning("%s", eidf_last_error());
	} else if (!r->prepared) {
		unlink(f->state_file); /* the pod's state is unknown: everything next time */
	}
}

/* Wait for the run; Ctrl-C stops the command in the pod, a second one
 * detaches.  Returns kubectl's exit code, or -2 when detached. */
static int wait_run(struct run_ctx *x, struct inflight *f)
{
	pid_t cancel = -1;
	int krc;
	for (;;) {
		/* a Ctrl-C may have come while the run was being shipped */
		if (session_sigint == 1 && cancel < 0) {
			session_note("stopping run %s in pod %s (SIGINT, SIGTERM after %ds; Ctrl-C again to detach)",
				     f->run, pod_name(x), SESSION_CANCEL_GRACE_S);
			cancel = start_cancel(x, f->run);
		} else if (session_sigint >= 2) {
			kill(-f->pid, SIGTERM);
			kexec_wait(f->pid, NULL);
			session_note("detached from run %s; it may still be stopping in pod %s", f->run, pod_name(x));
			krc = -2;
			break;
		}
		krc = kexec_wait(f->pid, &session_sigint);
		if (krc != -2)
			break;
	}
	if (cancel > 0) {
		if (krc == -2)
			kill(-cancel, SIGTERM);
		kexec_wait(cancel, NULL);
	}
	return krc;
}

static int run_once(struct run_ctx *x)
{
	struct inflight f;
	struct run_result r = { 0 };
	int force_full = 0;
	for (int attempt = 0; attempt < 3; attempt++) {
		int rc = start_run(x, &f, force_full);
		if (rc) {
			inflight_release(&f);
			return rc;
		}
		int krc = wait_run(x, &f);
		if (krc == -2) {
			inflight_release(&f);
			return DEVRUN_EXIT_DETACHED;
		}
		finish_run(x, &f, krc, &r);
		inflight_release(&f);
		if (r.missing) {
			/* look the session up, as a run without the cache does */
			int created;
			forget_pod(x);
			if ((rc = ensure_session(x, 1, &created)))
				return rc;
			continue;
		}
		if (!r.unknown_base)
			break;
		force_full = 1;
		session_note("session %s: pod %s does not have the previous run's tree; shipping all local changes",
			     x->so->name, pod_name(x));
	}
	if (r.code != DEVRUN_EXIT_GONE)
		reminder(x);
	return r.code;
}

/* ---- --watch ----------------------------------------------------------------------- */

/* Wait until no event that counts arrives for a moment: an editor saves in
 * several steps (write a temporary file, rename it, chmod). */
static void debounce(struct tree_watch *w)
{
	for (;;) {
		struct pollfd p = { tree_watch_fd(w), POLLIN, 0 };
		if (poll(&p, 1, 150) <= 0 || session_sigint)
			return;
		tree_watch_read(w);
	}
}

int session_watch(struct run_ctx *x)
{
	struct tree_watch *w = tree_watch_new(x->rs.repo, x->rs.root);
	if (!w) {
		eidf_error("%s", eidf_last_error());
		return DEVRUN_EXIT_ERROR;
	}
	struct inflight f;
	memset(&f, 0, sizeof(f));
	f.pid = -1;
	f.status_fd = -1;
	int running = 0, want_run = 1, force_full = 0, last = 0, stopping = 0;
	pid_t cancel = -1;
	for (;;) {
		if (want_run && !running && !stopping) {
			want_run = 0;
			int rc = start_run(x, &f, force_full);
			force_full = 0;
			if (rc) {
				inflight_release(&f);
				last = rc;
				session_note("watching %s for changes (Ctrl-C to stop)", x->rs.root);
			} else {
				running = 1;
			}
		}
		if (session_sigint && !stopping) {
			stopping = 1;
			if (!running)
				break;
			session_note("stopping run %s in pod %s and the watch (Ctrl-C again to detach)", f.run,
				     pod_name(x));
			if (cancel < 0)
				cancel = start_cancel(x, f.run);
		}
		if (stopping && session_sigint >= 2 && running) {
			kill(-f.pid, SIGTERM);
			kexec_wait(f.pid, NULL);
			inflight_release(&f);
			session_note("detached; the run may still be stopping in pod %s", pod_name(x));
			last = DEVRUN_EXIT_DETACHED;
			break;
		}
		struct pollfd p = { tree_watch_fd(w), POLLIN, 0 };
		int pr = poll(&p, 1, 100);
		if (pr > 0 && tree_watch_read(w) && !stopping) {
			debounce(w);
			session_note("%s changed: %s", tree_watch_last(w),
				     running ? "stopping the run to start it again" : "running again");
			want_run = 1;
			if (running && cancel < 0)
				cancel = start_cancel(x, f.run);
		}
		if (running) {
			int krc = kexec_poll(f.pid);
			if (krc < 0)
				continue;
			struct run_result r;
			finish_run(x, &f, krc, &r);
			inflight_release(&f);
			running = 0;
			if (cancel > 0) {
				kexec_wait(cancel, NULL);
				cancel = -1;
			}
			last = r.code;
			if (r.unknown_base) {
				want_run = 1;
				force_full = 1;
				continue;
			}
			if (r.code == DEVRUN_EXIT_GONE)
				break;
			if (stopping)
				break;
			reminder(x);
			if (!want_run)
				session_note("run ended with exit code %d; watching %s for changes (Ctrl-C to stop)",
					     r.code, x->rs.root);
		}
	}
	tree_watch_free(w);
	return stopping && last != DEVRUN_EXIT_DETACHED ? DEVRUN_EXIT_DETACHED : last;
}

/* ---- entry points ------------------------------------------------------------------- */

static int prepare_ctx(struct run_ctx *x, struct eidf_cmd *cmd, const char *ns, const struct session_opts *so)
{
	memset(x, 0, sizeof(*x));
	x->cmd = cmd;
	x->ns = ns;
	x->so = so;
	x->prev.ttl_s = -1;
	repo_state_init(&x->rs);
	if (session_check_name(so->name) < 0) {
		eidf_error("%s", eidf_last_error());
		return EIDF_EXIT_USAGE;
	}
	if ((x->idle_s = session_idle_seconds(so->idle_timeout)) < 0) {
		eidf_error("%s", eidf_last_error());
		return EIDF_EXIT_USAGE;
	}
	struct repo_opts ro = { .path = ".", .repo_url = so->repo_url };
	if (repo_state_load(&x->rs, &ro) < 0) {
		eidf_error("%s", eidf_last_error());
		return DEVRUN_EXIT_ERROR;
	}
	x->kc = cmd_client(cmd);
	return x->kc ? 0 : DEVRUN_EXIT_ERROR;
}

int session_run(struct eidf_cmd *cmd, const char *ns, const struct session_opts *so)
{
	struct run_ctx x;
	int rc = prepare_ctx(&x, cmd, ns, so);
	int created;
	session_sigint = 0;
	session_sigint_install();
	/* --watch looks the pod up: it keeps running, the cache saves nothing */
	if (!rc && (so->watch || (rc = cached_session(&x)) == 1))
		rc = ensure_session(&x, 1, &created);
	if (!rc)
		rc = so->watch ? session_watch(&x) : run_once(&x);
	ctx_release(&x);
	return rc;
}

int session_start(struct eidf_cmd *cmd, const char *ns, const struct session_opts *so)
{
	struct run_ctx x;
	int rc = prepare_ctx(&x, cmd, ns, so);
	int created = 0;
	session_sigint = 0;
	session_sigint_install();
	if (!rc)
		rc = ensure_session(&x, 1, &created);
	if (!rc) {
		if (!created)
			session_note("session %s is running already (pod %s)", so->name, pod_name(&x));
		else
			session_note("session %s is ready (pod %s)", so->name, pod_name(&x));
		printf("%s\n", pod_name(&x));
	}
	ctx_release(&x);
	return rc;
}
