/* kubectl eidf pvc cp LOCAL... CLAIM:PATH | CLAIM:PATH LOCAL
 *
 * The copy runs in a helper Job that mounts the claim (read-only for
 * downloads) and speaks pvc-cp.sh's line protocol over one exec stream
 * of the API client (cp_session.c).  Every file's sha256 is computed on both sides as its
 * bytes pass and compared; an upload is written to NAME.eidf-part (a
 * download to a local NAME.eidf-part) and renamed into place only when they
 * are equal, so no side ever shows a truncated or wrong file under its
 * final name.  Both ways a file is one stream; an upload keeps at most
 * CP_WINDOW bytes beyond what the pod says its part holds.  When the
 * sha256s differ, the MD5 of every chunk on both sides finds the chunks
 * that differ, and only they are sent again.  A dropped stream is reopened
 * and the file continues after the last byte the receiving side holds and
 * can prove; a re-run sends nothing that is already there (size and sha256
 * equal). */
#include "cp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "claim_path.h"
#include "cp_session.h"
#include "cp_tar.h"
#include "eidf/humanize.h"
#include "eidf/manifest.h"
#include "eidf/waiting.h"
#include "eidf/output.h"
#include "eidf/settings.h"
#include "eidf/stage_options.h"
#include "eidf/temp_name.h"
#include "helper_job.h"

/* Chunk size: the unit in which a file whose sha256 differs is compared
 * (MD5 on both sides) and repaired, and a part from another file is
 * trusted up to its first differing chunk. */
#ifndef CP_CHUNK
#define CP_CHUNK (512 * 1024)
#endif
/* An upload's window: bytes sent beyond what the pod's part holds (its "K
 * N" answers).  A drop loses at most these (what reached the part is kept
 * and proved on resume), so it is what an upload may send again per drop.
 * The pod acknowledges only a stream of more than 1 MiB: the window may
 * not be smaller. */
#ifndef CP_WINDOW
#define CP_WINDOW (1 << 20)
#endif
_Static_assert(CP_WINDOW >= (1 << 20), "pvc-cp.sh acknowledges only streams over 1 MiB");
/* Bytes read and queued at a time by an upload. */
#define CP_SEND (256 * 1024)
/* Reopened sessions before the copy gives up (a drop that comes back). */
#define CP_MAX_RECONNECTS 8
/* Repairs of a file whose sha256 differed (rounds of its differing chunks
 * sent or received again) before it is an error: a chunk that fails every
 * time (the file changes while it is copied) must not loop for ever. */
#define CP_MAX_REPAIRS 3
/* Files up to this size go in batches (one tar, one answer a file) of at
 * most CP_WINDOW bytes (what a drop may cost) and CP_BATCH_FILES files (the
 * pod's argument lists); each alone would cost a put or get, two round
 * trips and a few processes in the pod (~25 ms).  A larger file streams
 * on its own, acknowledged as it goes. */
#define CP_SMALL CP_WINDOW
#define CP_BATCH_FILES 256
/* paths an "infos" asks about at once (one stat in the pod for them all) */
#define CP_INFOS 256
/* what a file is called while it is copied (eidf/temp_name.h) */
#define PART ".eidf-part"

static const char *opt_output, *opt_image, *opt_timeout;
static int opt_keep;

static const char *const cp_outputs[] = { "json", "yaml", NULL };

const struct option cp_opts[] = {
	OPT_ENUM('o', "output", &opt_output, "format",
		 "print the summary as an object (files, bytes, skipped, resumed, resentBytes, ...): json or yaml",
		 cp_outputs),
	OPT_BOOL(0, "keep", &opt_keep, "keep the helper Job for the next copy (it is reused while it runs)"),
	OPT_STRING(0, "image", &opt_image, "image", "helper image (default busybox:latest)", COMPLETE_IMAGE),
	OPT_DURATION(0, "timeout", &opt_timeout, "give up waiting for the helper pod after this long (0 = forever)",
		     "10m"),
	OPT_INCLUDE(wait_options),
	OPT_GROUP("Job policy"), OPT_INCLUDE(policy_options),
	OPT_INCLUDE(kube_options), OPT_END(),
};

struct entry {
	char type;          /* f, d or l */
	char *rel;          /* upload: path on the claim; download: remote path */
	char *local;        /* upload: the source; download: path under the local root */
	char *target;       /* symlink target */
	unsigned mode;
	uint64_t size;
	struct timespec mtime; /* upload: the source's, when it was walked */
	/* the plan */
	int skip;           /* already there, equal */
	int fix_mode;       /* there, equal, another mode */
	int partial;        /* a part exists on the receiving side */
	uint64_t off;       /* resume here */
	EVP_MD_CTX *head;   /* upload: sha256 state of the bytes before off, from the plan */
	uint64_t sent_to;   /* highest offset sent so far (re-sent accounting) */
	int resumed;
	int repairs;        /* rounds of differing chunks sent or received again */
	int batched;        /* placed (or refused) by a batch */
	char fixing[65];    /* upload: the file's sha256 while its part on the claim is repaired */
};

struct cp {
	struct eidf_cmd *cmd;
	const char *ns;
	char *claim, *rel;  /* remote side */
	int rel_slash;      /* written with a trailing '/': into it */
	int upload;
	char *job, *pod;
	int kept_job;       /* reused or --keep: not deleted */
	struct cp_sess s;
	int reconnects;
	char *lost_why;
	struct entry *e;
	size_t n;
	int local_root;     /* download: fd of the local directory */
	/* summary */
	uint64_t files, bytes, skipped, resumed, resent, links, dirs, special, total;
	struct strvec warnings;
	struct progress *pg;
	uint64_t done;
	int errors;
	int64_t start_ms;
	struct entry *cur;  /* the file going by itself now (its part is what Ctrl-C leaves) */
};

/* Ctrl-C while bytes go: the client's requests and the exec stream stop at
 * once (kclient_set_abort), the file being copied stays as its part (as
 * after a dropped stream), the helper Job goes unless it is kept, and the
 * command says how to go on and exits 130. */
static volatile sig_atomic_t cp_interrupted;
static void on_sigint(int sig)
{
	(void)sig;
	cp_interrupted = 1;
}

static void warn(struct cp *c, const char *fmt, ...) EIDF_PRINTF(2, 3);
static void warn(struct cp *c, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	eidf_warning("%s", sb.buf);
	strvec_push_owned(&c->warnings, strbuf_detach(&sb));
}

static struct entry *add_entry(struct cp *c, char type)
{
	c->e = xrealloc(c->e, (c->n + 1) * sizeof(*c->e));
	struct entry *e = &c->e[c->n++];
	memset(e, 0, sizeof(*e));
	e->type = type;
	return e;
}

/* NAME.eidf-part, or an older client's list of chunks beside it */
static int is_part_name(const char *name)
{
	size_t n = strlen(name);
	return is_temp_name(name, PART) || (n > 17 && !strcmp(name + n - 17, ".eidf-part.sha256"));
}

/* ---- CLAIM:PATH ---------------------------------------------------------- */

static int valid_claim_name(const char *s, size_t n)
{
	if (!n || n > 253 || (!(s[0] >= 'a' && s[0] <= 'z') && !(s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.'))
			return 0;
	return s[n - 1] != '-' && s[n - 1] != '.';
}

int cp_parse_remote(const char *arg, char **claim, char **rel)
{
	const char *colon = strchr(arg, ':');
	if (!colon || !valid_claim_name(arg, (size_t)(colon - arg)))
		return 0;
	const char *p = colon + 1;
	if (*p == '/') {
		eidf_set_error("\"%s\": paths on the claim are relative to its root: write %.*s:%s", arg,
			       (int)(colon - arg), arg, p + strspn(p, "/"));
		return -1;
	}
	char *clean;
	switch (claim_path_clean(p, &clean)) {
	case CLAIM_PATH_OK:
		break;
	case CLAIM_PATH_DOTDOT:
		eidf_set_error("\"%s\": \"..\" is refused in a path on the claim: name the place below its root", arg);
		return -1;
	case CLAIM_PATH_NEWLINE:
		eidf_set_error("\"%s\": a path with a newline is refused", arg);
		return -1;
	}
	*claim = xstrndup(arg, (size_t)(colon - arg));
	if (*clean) {
		*rel = clean;
	} else {
		free(clean);
		*rel = xstrdup(".");
	}
	return 1;
}

static char *join(const char *a, const char *b)
{
	if (!strcmp(a, "."))
		return xstrdup(b);
	if (!*b || !strcmp(b, "."))
		return xstrdup(a);
	return xasprintf("%s/%s", a, b);
}

/* The last component of a local path ("" for ".", "/", "dir/."). */
static char *local_base(const char *path)
{
	char *p = xstrdup(path);
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	char *slash = strrchr(p, '/');
	char *b = xstrdup(slash ? slash + 1 : p);
	free(p);
	if (!strcmp(b, ".") || !strcmp(b, "..") || !*b) {
		free(b);
		return xstrdup("");
	}
	return b;
}

/* The remote path as the user writes it: "" for the root ("CLAIM:"). */
static const char *shown_rel(const struct cp *c)
{
	return strcmp(c->rel, ".") ? c->rel : "";
}

/* ---- local hashing ----------------------------------------------------- */

static void hex(const unsigned char *md, unsigned n, char *out)
{
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Feed len bytes at off of fd to ctx; -1 when the file is shorter. */
static int hash_feed(EVP_MD_CTX *ctx, int fd, uint64_t off, uint64_t len)
{
	char *buf = xmalloc(1 << 20);
	int rc = 0;
	while (len) {
		size_t want = len > (1 << 20) ? (1 << 20) : (size_t)len;
		ssize_t r = pread(fd, buf, want, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = -1;
			break;
		}
		EVP_DigestUpdate(ctx, buf, (size_t)r);
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	free(buf);
	return rc;
}

static void hash_final(EVP_MD_CTX *ctx, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	EVP_DigestFinal_ex(ctx, md, &n);
	hex(md, n, out);
}

/* MD5 (a chunk's check) or sha256 (a whole file's) of len bytes at off of
 * fd, in hex; -1 when the file is shorter. */
static int hash_range_md(const EVP_MD *md, int fd, uint64_t off, uint64_t len, char *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, md, NULL);
	int rc = hash_feed(ctx, fd, off, len);
	hash_final(ctx, out);
	EVP_MD_CTX_free(ctx);
	return rc;
}

static int md5_range(int fd, uint64_t off, uint64_t len, char out[33])
{
	return hash_range_md(EVP_md5(), fd, off, len, out);
}

static int sha256_range(int fd, uint64_t off, uint64_t len, char out[65])
{
	return hash_range_md(EVP_sha256(), fd, off, len, out);
}

/* ---- the helper Job and the session ------------------------------------ */

static int64_t now_ms(void) { return monotonic_ms(); }

/* A running helper pod for this claim that an earlier `pvc cp --keep` left
 * (read-write serves both directions). */
static int find_kept(struct cp *c)
{
	struct kclient *kc = cmd_client(c->cmd);
	cJSON *pods = NULL;
	struct klist_opts lo = { .label_selector = c->upload ? "eidf.ac.uk/pvc-cp=rw" : "eidf.ac.uk/pvc-cp" };
	if (!kc || kclient_list(kc, &KRES_PODS, c->ns, &lo, &pods))
		return 0;
	const cJSON *pod;
	int found = 0;
	cJSON_ArrayForEach(pod, cJSON_GetObjectItemCaseSensitive(pods, "items")) {
		const char *phase = json_str(pod, "status.phase");
		if (!phase || strcmp(phase, "Running") || json_get(pod, "metadata.deletionTimestamp"))
			continue;
		const cJSON *vol;
		int mounts = 0;
		cJSON_ArrayForEach(vol, json_get(pod, "spec.volumes")) {
			const char *cl = json_str(vol, "persistentVolumeClaim.claimName");
			if (cl && !strcmp(cl, c->claim))
				mounts = 1;
		}
		const char *job = json_str(pod, "metadata.labels.job-name");
		if (!mounts || !job)
			continue;
		c->pod = xstrdup(json_str(pod, "metadata.name"));
		c->job = xstrdup(job);
		found = 1;
		break;
	}
	cJSON_Delete(pods);
	return found;
}

/* Refuse a single-attach claim that a running pod (not our kept helper)
 * mounts: the helper would wait for ever for the volume to attach. */
static int check_attach(struct cp *c, const cJSON *pvc)
{
	int single = 0;
	const cJSON *m;
	cJSON_ArrayForEach(m, json_get(pvc, "spec.accessModes")) {
		const char *s = cJSON_GetStringValue(m);
		if (s && (!strcmp(s, "ReadWriteOnce") || !strcmp(s, "ReadWriteOncePod")))
			single = 1;
	}
	if (!single)
		return 0;
	struct kclient *kc = cmd_client(c->cmd);
	cJSON *pods = NULL;
	if (kclient_list(kc, &KRES_PODS, c->ns, NULL, &pods))
		return 0; /* cannot tell: let the helper try */
	const cJSON *pod;
	char *who = NULL;
	cJSON_ArrayForEach(pod, cJSON_GetObjectItemCaseSensitive(pods, "items")) {
		const char *phase = json_str(pod, "status.phase");
		if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))
			continue;
		if (c->pod && !strcmp(json_str(pod, "metadata.name") ? json_str(pod, "metadata.name") : "", c->pod))
			continue;
		const cJSON *vol;
		cJSON_ArrayForEach(vol, json_get(pod, "spec.volumes")) {
			const char *cl = json_str(vol, "persistentVolumeClaim.claimName");
			if (cl && !strcmp(cl, c->claim) && !who) {
				const char *job = json_str(pod, "metadata.labels.job-name");
				who = job ? xasprintf("job/%s", job) : xasprintf("pod/%s", json_str(pod, "metadata.name"));
			}
		}
	}
	cJSON_Delete(pods);
	if (!who)
		return 0;
	eidf_set_error("PVC \"%s\" is single-attach (%s) and %s mounts it, so a helper pod cannot; copy once %s "
		       "has finished (or delete it: kubectl -n %s delete %s), or copy from inside it with kubectl cp",
		       c->claim, json_str(pvc, "spec.accessModes.0") ? json_str(pvc, "spec.accessModes.0") : "RWO",
		       who, who, c->ns, who);
	free(who);
	return -1;
}

static int start_helper(struct cp *c)
{
	struct kclient *kc = cmd_client(c->cmd);
	if (!kc)
		return -1;
	cJSON *pvc = NULL;
	if (kclient_get(kc, &KRES_PVCS, c->ns, c->claim, &pvc)) {
		if (kclient_last_http_status(kc) == 404)
			eidf_set_error("PVC \"%s\" not found in namespace \"%s\"; create it with: kubectl eidf pvc "
				       "create %s --size 100Gi (see: kubectl eidf pvc list)", c->claim, c->ns, c->claim);
		return -1;
	}
	if (find_kept(c)) {
		c->kept_job = 1;
		fprintf(stderr, "using the kept helper Job %s (pod %s)\n", c->job, c->pod);
		cJSON_Delete(pvc);
		return 0;
	}
	int rc = check_attach(c, pvc);
	cJSON_Delete(pvc);
	if (rc)
		return -1;
	struct helper_opts o = {
		.pvc = c->claim,
		.image = opt_image ? opt_image : setting("pvc.helper-image", "busybox:latest"),
		.mount = HELPER_MOUNT,
		.read_only = !c->upload && !opt_keep,
		.timeout_ms = opt_timeout ? parse_duration_ms(opt_timeout) : 600000,
		.pod_label = c->upload || opt_keep ? "rw" : "ro",
	};
	if (o.timeout_ms < 0)
		o.timeout_ms = 600000;
	const char *args[] = { "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 5 & wait $!; done", NULL };
	if (helper_job_start(c->cmd, c->ns, &o, args, &c->job, &c->pod))
		return -1;
	c->kept_job = opt_keep;
	return 0;
}

static void stop_helper(struct cp *c)
{
	if (!c->job)
		return;
	if (c->kept_job) {
		fprintf(stderr, "kept helper Job %s for the next copy; delete it with: kubectl -n %s delete job %s\n",
			c->job, c->ns, c->job);
		return;
	}
	if (helper_job_delete(c->cmd, c->ns, c->job))
		eidf_warning("could not delete helper Job %s: %s; delete it with: kubectl -n %s delete job %s",
			     c->job, eidf_last_error(), c->ns, c->job);
}

static int sess(struct cp *c)
{
	if (c->s.open)
		return 0;
	if (cp_interrupted) { /* said by cmd_cp */
		eidf_set_error("interrupted");
		return -1;
	}
	struct kclient *kc = cmd_client(c->cmd);
	if (!kc) {
		eidf_error("%s", eidf_last_error());
		return -1;
	}
	if (!cp_sess_open(&c->s, kc, c->ns, c->pod, "helper", HELPER_MOUNT))
		return 0;
	/* said here: every caller just stops */
	long http = kclient_last_http_status(kc);
	if (http == 403)
		eidf_error("cannot exec into helper pod %s: %s; the copy needs the right to create pods/exec in "
			   "namespace %s (ask the project's admin)", c->pod, eidf_last_error(), c->ns);
	else if (http == 404 || http == 400)
		eidf_error("cannot exec into helper pod %s: %s; it is gone or not running (its Job deleted or "
			   "ended?): run the same command again to start a new one and resume", c->pod,
			   eidf_last_error());
	else
		eidf_error("cannot exec into helper pod %s: %s", c->pod, eidf_last_error());
	return -1;
}

/* The session ended under us: close it, and say whether to try again. */
static int reopen(struct cp *c)
{
	char *why = NULL;
	cp_sess_close(&c->s, &why);
	free(c->lost_why);
	c->lost_why = why;
	if (cp_interrupted) {
		eidf_set_error("interrupted");
		return -1;
	}
	if (++c->reconnects > CP_MAX_RECONNECTS) {
		eidf_set_error("the stream to helper pod %s dropped %d times; last: %s; run the same command again "
			       "to resume", c->pod, CP_MAX_RECONNECTS, c->lost_why);
		return -1;
	}
	fprintf(stderr, "the stream to pod %s dropped (%s); resuming\n", c->pod, c->lost_why);
	sleep_ms(200L * c->reconnects);
	return sess(c);
}

/* Run step until it does not lose the session: step returns 0 done, -1
 * error (set), 1 session lost. */
static int with_retry(struct cp *c, int (*step)(struct cp *, void *), void *arg)
{
	for (;;) {
		if (sess(c))
			return -1;
		int r = step(c, arg);
		if (r != 1)
			return r;
		if (reopen(c))
			return -1;
	}
}

/* ---- the remote side's view of a file: info -------------------------- */

struct remote_info {
	char type;               /* f d l o - */
	uint64_t size;
	unsigned mode;
	int has_part;
	uint64_t part_size;
};

static void info_release(struct remote_info *r)
{
	memset(r, 0, sizeof(*r));
}

static void queue_info(struct cp *c, const char *rel)
{
	cp_sess_queue_line(&c->s, "info");
	cp_sess_queue_line(&c->s, rel);
}

/* 0, 1 session lost, -1 error. */
static int read_info(struct cp *c, struct remote_info *r)
{
	char *line;
	memset(r, 0, sizeof(*r));
	for (;;) {
		if (cp_sess_line(&c->s, &line) < 0)
			return 1;
		if (line[0] == 'E') {
			eidf_set_error("PVC \"%s\": %s", c->claim, line + 2);
			return -1;
		}
		if (!strcmp(line, "."))
			return 0;
		unsigned long long a = 0;
		char t;
		if (sscanf(line, "I %c %llu %o", &t, &a, &r->mode) == 3) {
			r->type = t;
			r->size = a;
		} else if (!strcmp(line, "P -")) {
			r->has_part = 0;
		} else if (sscanf(line, "P %llu", &a) == 1) {
			r->has_part = 1;
			r->part_size = a;
		}
	}
}

/* ---- upload --------------------------------------------------------------- */

static void walk_local(struct cp *c, const char *path, const char *rel, int top)
{
	struct stat st;
	if ((top ? stat(path, &st) : lstat(path, &st)) < 0) {
		eidf_error("cannot read %s: %s", path, strerror(errno));
		c->errors++;
		return;
	}
	const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
	if (!top && is_part_name(base)) {
		warn(c, "skipping %s: an unfinished download (kubectl eidf pvc cp continues it)", path);
		return;
	}
	if (S_ISLNK(st.st_mode)) {
		struct strbuf t = STRBUF_INIT;
		strbuf_grow(&t, (size_t)st.st_size + 1);
		ssize_t n = readlink(path, t.buf, (size_t)st.st_size + 1);
		if (n < 0 || (size_t)n > (size_t)st.st_size || memchr(t.buf, '\n', (size_t)n)) {
			warn(c, "skipping symlink %s: its target cannot be read or holds a newline", path);
			strbuf_release(&t);
			return;
		}
		t.len = (size_t)n;
		t.buf[n] = '\0';
		struct entry *e = add_entry(c, 'l');
		e->rel = xstrdup(rel);
		e->local = xstrdup(path);
		e->target = strbuf_detach(&t);
	} else if (S_ISREG(st.st_mode)) {
		struct entry *e = add_entry(c, 'f');
		e->rel = xstrdup(rel);
		e->local = xstrdup(path);
		e->size = (uint64_t)st.st_size;
		e->mode = st.st_mode & 0777;
		e->mtime = st.st_mtim;
	} else if (S_ISDIR(st.st_mode)) {
		if (strcmp(rel, ".")) {
			struct entry *e = add_entry(c, 'd');
			e->rel = xstrdup(rel);
			e->local = xstrdup(path);
			e->mode = st.st_mode & 01777;
		}
		struct dirent **names = NULL;
		int n = scandir(path, &names, NULL, alphasort);
		if (n < 0) {
			eidf_error("cannot read directory %s: %s", path, strerror(errno));
			c->errors++;
			return;
		}
		for (int i = 0; i < n; i++) {
			const char *nm = names[i]->d_name;
			if (strcmp(nm, ".") && strcmp(nm, "..")) {
				char *p = !strcmp(path, "/") ? xasprintf("/%s", nm) : xasprintf("%s/%s", path, nm);
				if (strchr(nm, '\n')) {
					warn(c, "skipping %s: a name with a newline", p);
				} else {
					char *r = join(rel, nm);
					walk_local(c, p, r, 0);
					free(r);
				}
				free(p);
			}
			free(names[i]);
		}
		free(names);
	} else {
		c->special++;
		warn(c, "skipping special file %s (a device, FIFO or socket)", path);
	}
}

struct stat_arg { const char *rel; struct remote_info ri; };

static int step_stat(struct cp *c, void *arg)
{
	struct stat_arg *a = arg;
	queue_info(c, a->rel);
	info_release(&a->ri);
	return read_info(c, &a->ri);
}

/* The chunks of a claim's file (path) that differ from fd's bytes, by
 * the MD5 of every CP_CHUNK bytes on both sides, clipped to size (a
 * missing tail is one more range); *prefix: the bytes from 0 that match.
 * 0, 1 session lost, -1 error (set). */
struct range { uint64_t start, len; };
static int differing_chunks(struct cp *c, const char *path, int fd, uint64_t size, struct range **bad,
			    size_t *nbad, uint64_t *prefix)
{
	struct cp_sess *s = &c->s;
	cp_sess_queuef(s, "chunks %d\n", CP_CHUNK);
	cp_sess_queue_line(s, path);
	*bad = NULL;
	*nbad = 0;
	*prefix = 0;
	uint64_t covered = 0;
	int all = 1;
	for (;;) {
		char *line;
		if (cp_sess_line(s, &line) < 0)
			return 1;
		if (!strcmp(line, "."))
			break;
		if (line[0] == 'E') {
			eidf_set_error("PVC \"%s\": %s", c->claim, line + 2);
			return -1;
		}
		unsigned long long start, len;
		char sum[33], h[33];
		if (sscanf(line, "m %llu %llu %32s", &start, &len, sum) != 3 || start != covered)
			continue;
		covered = start + len;
		if (start >= size)
			continue; /* past the end: cut off */
		if (start + len <= size && !md5_range(fd, start, len, h) && !strcmp(h, sum)) {
			if (all)
				*prefix = start + len;
			continue;
		}
		all = 0;
		*bad = xrealloc(*bad, (*nbad + 1) * sizeof(**bad));
		(*bad)[*nbad].start = start;
		(*bad)[(*nbad)++].len = start + len > size ? size - start : len;
	}
	if (covered < size) {
		*bad = xrealloc(*bad, (*nbad + 1) * sizeof(**bad));
		(*bad)[*nbad].start = covered;
		(*bad)[(*nbad)++].len = size - covered;
	}
	return 0;
}

/* How much of the claim's part of e (psize bytes) the local file proves:
 * all of it when their sha256s agree (the usual case: a dropped stream left
 * a prefix of the file), else the chunks from byte 0 whose MD5s match (a
 * part of another file, or damaged).  Sets e->off and e->head, the sha256
 * state of the bytes before it.  0, 1 session lost. */
static int prove_part(struct cp *c, struct entry *e, int fd, uint64_t psize)
{
	struct cp_sess *s = &c->s;
	char *part = temp_name_beside(e->rel, PART);
	cp_sess_queue_line(s, "sum 1");
	cp_sess_queue_line(s, part);
	EVP_MD_CTX *head = EVP_MD_CTX_new();
	EVP_DigestInit_ex(head, EVP_sha256(), NULL);
	char h[65] = "";
	if (!hash_feed(head, fd, 0, psize)) {
		EVP_MD_CTX *t = EVP_MD_CTX_new();
		EVP_MD_CTX_copy_ex(t, head);
		hash_final(t, h);
		EVP_MD_CTX_free(t);
	}
	char *line, theirs[65] = "";
	int rc = 0;
	if (cp_sess_line(s, &line) < 0) {
		rc = 1;
	} else {
		if (!strncmp(line, "H ", 2))
			snprintf(theirs, sizeof(theirs), "%s", line + 2);
		if (cp_sess_line(s, &line) < 0) /* "." */
			rc = 1;
	}
	e->off = 0;
	if (!rc && h[0] && !strcmp(theirs, h)) {
		e->off = psize;
	} else if (!rc) {
		struct range *bad;
		size_t nbad;
		uint64_t prefix;
		rc = differing_chunks(c, part, fd, psize, &bad, &nbad, &prefix);
		free(bad);
		if (rc < 0)
			rc = 0; /* the part cannot be read: start again */
		else if (!rc)
			e->off = prefix;
		EVP_DigestInit_ex(head, EVP_sha256(), NULL);
		if (hash_feed(head, fd, 0, e->off))
			e->off = 0;
	}
	if (e->off) {
		e->head = head;
	} else {
		EVP_MD_CTX_free(head);
	}
	free(part);
	return rc;
}

/* "sum" for many paths, CP_INFOS at a time (the pod's one hasher takes
 * them as arguments) */
static void queue_sums(struct cp *c, const struct strvec *paths)
{
	for (size_t i = 0; i < paths->n; i += CP_INFOS) {
		size_t k = paths->n - i < CP_INFOS ? paths->n - i : CP_INFOS;
		cp_sess_queuef(&c->s, "sum %zu\n", k);
		for (size_t j = i; j < i + k; j++)
			cp_sess_queue_line(&c->s, paths->v[j]);
	}
}

/* The answer to path k of n that queue_sums asked for ("H SHA256" or
 * "H -"), into out; the "." that ends each "sum" is read on the way.
 * 0, or -1 when the session is lost. */
static int sum_line(struct cp *c, size_t k, size_t n, char out[80])
{
	char *line;
	if (cp_sess_line(&c->s, &line) < 0)
		return -1;
	snprintf(out, 80, "%s", line);
	if ((k + 1) % CP_INFOS == 0 || k + 1 == n)
		if (cp_sess_line(&c->s, &line) < 0)
			return -1;
	return 0;
}

/* What to do with each file: ask for all of them at once, then for the
 * sha256 of those whose size already matches, then for partial tails. */
static int step_plan(struct cp *c, void *arg)
{
	size_t *only = arg; /* NULL: every file */
	size_t from = only ? *only : 0, to = only ? *only + 1 : c->n;
	for (size_t i = from; i < to;) {
		size_t k = 0, j = i;
		for (; j < to && k < CP_INFOS; j++)
			k += c->e[j].type == 'f';
		if (k) {
			cp_sess_queuef(&c->s, "infos %zu\n", k);
			for (; i < j; i++)
				if (c->e[i].type == 'f')
					cp_sess_queue_line(&c->s, c->e[i].rel);
		}
		i = j;
	}
	struct strvec need_sum = STRVEC_INIT;
	size_t *sum_idx = xcalloc(to - from + 1, sizeof(*sum_idx));
	int rc = 0;
	for (size_t i = from; i < to && !rc; i++) {
		struct entry *e = &c->e[i];
		if (e->type != 'f')
			continue;
		struct remote_info ri;
		rc = read_info(c, &ri);
		if (rc) {
			info_release(&ri);
			break;
		}
		e->skip = e->fix_mode = e->partial = 0;
		e->off = 0;
		EVP_MD_CTX_free(e->head);
		e->head = NULL;
		if (ri.type == 'd') {
			eidf_error("\"%s:%s\" is a directory on the claim; it cannot be replaced by %s", c->claim,
				   e->rel, e->local);
			c->errors++;
			e->skip = 1;
			info_release(&ri);
			continue;
		}
		if (ri.type == 'f' && ri.size == e->size) {
			sum_idx[need_sum.n] = i;
			strvec_push(&need_sum, e->rel);
			e->fix_mode = ri.mode != e->mode;
		}
		if (ri.has_part && ri.part_size && ri.part_size <= e->size) {
			int fd = open(e->local, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				rc = prove_part(c, e, fd, ri.part_size);
				close(fd);
			}
			e->partial = e->off > 0;
		}
		info_release(&ri);
	}
	if (!rc && need_sum.n) {
		queue_sums(c, &need_sum);
		for (size_t k = 0; k < need_sum.n && !rc; k++) {
			char line[80];
			if (sum_line(c, k, need_sum.n, line) < 0) {
				rc = 1;
				break;
			}
			struct entry *e = &c->e[sum_idx[k]];
			char h[65];
			int fd = open(e->local, O_RDONLY | O_CLOEXEC);
			if (fd >= 0 && !sha256_range(fd, 0, e->size, h) && !strncmp(line, "H ", 2) && !strcmp(h, line + 2)) {
				e->skip = 1;
				e->off = 0;
			} else {
				e->fix_mode = 0;
			}
			if (fd >= 0)
				close(fd);
		}
	}
	strvec_clear(&need_sum);
	free(sum_idx);
	return rc;
}

static void progress_note(struct cp *c, uint64_t add, const char *name)
{
	c->done += add;
	if (c->pg)
		progress_update(c->pg, c->done, name);
}

/* The pod's part of e holds the file's size but its sha256 (theirs)
 * differs from the file's (want): find the chunks that differ, write them
 * again (patch) and ask again (fin).  0 renamed into place, 1 session
 * lost, -1 error (a part in which no chunk differs is removed). */
static int repair_up(struct cp *c, struct entry *e, int fd, const char *want, const char *theirs)
{
	struct cp_sess *s = &c->s;
	char *part = temp_name_beside(e->rel, PART);
	char *buf = xmalloc(CP_CHUNK);
	char got[65];
	snprintf(got, sizeof(got), "%s", theirs);
	int rc = 0;
	while (!rc) {
		struct range *bad;
		size_t nbad;
		uint64_t prefix;
		rc = differing_chunks(c, part, fd, e->size, &bad, &nbad, &prefix);
		if (rc < 0) {
			eidf_error("%s", eidf_last_error());
		} else if (!rc && !nbad) {
			eidf_error("%s: its sha256 on PVC \"%s\" (%s:%s, %.16s...) differs from the local file's "
				   "(%.16s...) although every chunk matched; did it change while it was being copied? "
				   "The copy on the claim was discarded: copy it again", e->local, c->claim, c->claim,
				   e->rel, got, want);
			cp_sess_queue_line(s, "drop");
			cp_sess_queue_line(s, e->rel);
			char *line;
			rc = cp_sess_line(s, &line) < 0 ? 1 : -1;
		} else if (!rc && ++e->repairs > CP_MAX_REPAIRS) {
			eidf_error("%s: chunks kept failing verification on PVC \"%s\" (%d rounds); did it change while "
				   "it was being copied? Its part stays as %s:%s: run the copy again", e->local,
				   c->claim, CP_MAX_REPAIRS, c->claim, part);
			rc = -1;
		}
		/* one chunk at a time (a missing tail in chunks too), each acknowledged */
		for (size_t i = 0; !rc && i < nbad; i++) {
			uint64_t start = bad[i].start, end = bad[i].start + bad[i].len;
			for (; !rc && start < end; start += CP_CHUNK) {
				size_t len = end - start < CP_CHUNK ? (size_t)(end - start) : CP_CHUNK;
				eidf_warning("a chunk of %s (bytes %llu-%llu) failed verification on the claim (the file's "
					     "sha256 differed, then this chunk's MD5); sending it again", e->local,
					     (unsigned long long)start, (unsigned long long)(start + len));
				if (pread(fd, buf, len, (off_t)start) != (ssize_t)len) {
					eidf_error("%s changed (shrank) while it was being copied; copy it again", e->local);
					rc = -1;
					break;
				}
				cp_sess_queuef(s, "patch %llu %zu\n", (unsigned long long)start, len);
				cp_sess_queue_line(s, e->rel);
				cp_sess_queue(s, buf, len);
				c->resent += len;
				char *line;
				if (cp_sess_line(s, &line) < 0) {
					rc = 1;
				} else if (line[0] == 'E') {
					eidf_error("PVC \"%s\": %s", c->claim, line + 2);
					rc = -1;
				}
			}
		}
		free(bad);
		if (rc)
			break;
		cp_sess_queuef(s, "fin %o %llu %s\n", e->mode, (unsigned long long)e->size, want);
		cp_sess_queue_line(s, e->rel);
		char *line;
		if (cp_sess_line(s, &line) < 0) {
			rc = 1;
		} else if (!strcmp(line, "F")) {
			break;
		} else if (!strncmp(line, "M ", 2)) {
			snprintf(got, sizeof(got), "%s", line + 2);
		} else {
			eidf_error("PVC \"%s\": %s", c->claim, line[0] == 'E' ? line + 2 : "unexpected answer to fin");
			rc = -1;
		}
	}
	if (rc != 1)
		e->fixing[0] = '\0';
	free(buf);
	free(part);
	return rc;
}

/* The session was lost while the chunks of e were sent again: if the part
 * on the claim is still there with the file's size, ask the pod to compare
 * it again (a chunk that was under way may have reached it whole) and go on
 * with the repair, sending only the chunks that still differ, not the file
 * from the first of them to its end.  0 renamed into place, 1 session lost,
 * -1 error, 2 the part is not there as the repair left it (renamed, or
 * gone): plan the file again. */
static int resume_repair(struct cp *c, struct entry *e)
{
	struct cp_sess *s = &c->s;
	struct stat_arg st = { .rel = e->rel };
	int r = step_stat(c, &st);
	int as_left = st.ri.has_part && st.ri.part_size == e->size;
	info_release(&st.ri);
	if (r)
		return r;
	if (!as_left) {
		e->fixing[0] = '\0';
		return 2;
	}
	cp_sess_queuef(s, "fin %o %llu %s\n", e->mode, (unsigned long long)e->size, e->fixing);
	cp_sess_queue_line(s, e->rel);
	char *line;
	if (cp_sess_line(s, &line) < 0)
		return 1;
	if (!strcmp(line, "F")) {
		e->fixing[0] = '\0';
		return 0;
	}
	if (strncmp(line, "M ", 2)) {
		eidf_error("PVC \"%s\": %s", c->claim, line[0] == 'E' ? line + 2 : "unexpected answer to fin");
		return -1;
	}
	char theirs[65];
	snprintf(theirs, sizeof(theirs), "%s", line + 2);
	int fd = open(e->local, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		eidf_error("cannot read %s: %s", e->local, strerror(errno));
		return -1;
	}
	r = repair_up(c, e, fd, e->fixing, theirs);
	close(fd);
	return r;
}

/* Send one file from e->off, as one stream: 0 renamed into place, 1
 * session lost, -1 error.  The bytes go out while at most CP_WINDOW of them
 * are beyond what the pod's part holds ("K N"); the sha256 of the whole
 * file follows them and the pod renames the part only if its own is equal
 * (else repair_up). */
static int put_file(struct cp *c, struct entry *e)
{
	struct cp_sess *s = &c->s;
	int fd = open(e->local, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		eidf_error("cannot read %s: %s", e->local, strerror(errno));
		return -1;
	}
	/* the whole file's sha256: the bytes the claim's part holds already
	 * (hashed when the plan proved them), then each block as it goes out */
	EVP_MD_CTX *whole = e->head;
	e->head = NULL;
	if (!whole) {
		whole = EVP_MD_CTX_new();
		EVP_DigestInit_ex(whole, EVP_sha256(), NULL);
		if (hash_feed(whole, fd, 0, e->off)) {
			eidf_error("%s changed (shrank) while it was being copied; copy it again", e->local);
			EVP_MD_CTX_free(whole);
			close(fd);
			return -1;
		}
	}
	c->cur = e;
	cp_sess_queuef(s, "put %o %llu %llu\n", e->mode, (unsigned long long)e->size, (unsigned long long)e->off);
	cp_sess_queue_line(s, e->rel);
	if (e->sent_to > e->off)
		c->resent += e->sent_to - e->off;
	if (e->off && !e->resumed) {
		e->resumed = 1;
		c->resumed++;
	}
	uint64_t sent = e->off, held = e->off;
	int end_sent = 0, changed = 0, rc = 1;
	char fin[65] = "-";
	char *buf = xmalloc(CP_SEND);
	char *line;
	if (cp_sess_line(s, &line) < 0)
		goto out;
	if (strcmp(line, "R")) {
		eidf_error("PVC \"%s\": %s", c->claim, line[0] == 'E' ? line + 2 : "unexpected answer to put");
		rc = -1;
		goto out;
	}
	for (;;) {
		while (sent < e->size && sent - held < CP_WINDOW) {
			uint64_t room = CP_WINDOW - (sent - held), left = e->size - sent;
			size_t len = (size_t)(left < room ? left : room);
			if (len > CP_SEND)
				len = CP_SEND;
			size_t got = 0;
			while (got < len) {
				ssize_t r = pread(fd, buf + got, len - got, (off_t)(sent + got));
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0)
					break;
				got += (size_t)r;
			}
			if (got < len) {
				eidf_error("%s changed (shrank) while it was being copied; copy it again", e->local);
				cp_sess_close(s, NULL); /* the pod waits for bytes that will not come */
				rc = -1;
				goto out;
			}
			EVP_DigestUpdate(whole, buf, len);
			cp_sess_queue(s, buf, len);
			sent += len;
			if (sent > e->sent_to)
				e->sent_to = sent;
		}
		if (sent == e->size && !end_sent) {
			/* a file written to while it was read (it grew, or changed in
			 * place) was sent as no version of it ever was: "e -" never
			 * matches, so the pod keeps the part (M) without renaming it,
			 * and the next run proves what of it still holds */
			struct stat st;
			changed = fstat(fd, &st) < 0 || (uint64_t)st.st_size != e->size ||
				  st.st_mtim.tv_sec != e->mtime.tv_sec || st.st_mtim.tv_nsec != e->mtime.tv_nsec;
			hash_final(whole, fin);
			cp_sess_queuef(s, "e %s\n", changed ? "-" : fin);
			end_sent = 1;
		}
		int r;
		uint64_t was = held;
		while ((r = cp_sess_try_line(s, &line)) == 1) {
			unsigned long long v;
			if (sscanf(line, "K %llu", &v) == 1) {
				if (v > held && v <= e->size) {
					progress_note(c, v - held, e->rel);
					c->bytes += v - held;
					held = v;
				}
			} else if (!strcmp(line, "F") || !strncmp(line, "M ", 2)) {
				progress_note(c, e->size - held, e->rel);
				c->bytes += e->size - held;
				held = e->size;
				if (changed && line[0] == 'M') {
					eidf_error("%s changed while it was being copied (written to since it was listed); "
						   "its part stays on PVC \"%s\" and what still matches is kept: copy it "
						   "again", e->local, c->claim);
					rc = -1;
				} else {
					if (line[0] == 'M')
						snprintf(e->fixing, sizeof(e->fixing), "%s", fin);
					rc = line[0] == 'F' ? 0 : repair_up(c, e, fd, fin, line + 2);
				}
				goto out;
			} else if (line[0] == 'S' || line[0] == 'E') {
				/* a write failed: the pod removed the part (a full claim breaks
				 * the jobs that write to it), could not take the rest of the
				 * bytes and ended */
				unsigned long long wrote, free_kib;
				if (sscanf(line, "S %llu %llu", &wrote, &free_kib) == 2) {
					char *w = human_bytes(wrote), *sz = human_bytes(e->size);
					char *fr = human_bytes(free_kib * 1024);
					eidf_error("no space left on PVC \"%s\" for %s (%s:%s): %s of %s written, %s free "
						   "there; make room (see: kubectl eidf pvc du %s) or use a bigger claim, "
						   "then copy again (the unfinished part was removed)", c->claim,
						   e->local, c->claim, e->rel, w, sz, fr, c->claim);
					free(w);
					free(sz);
					free(fr);
				} else {
					eidf_error("PVC \"%s\": %s", c->claim, line[0] == 'E' ? line + 2 : line);
				}
				cp_sess_close(s, NULL);
				rc = -1;
				goto out;
			}
		}
		if (r < 0)
			goto out; /* lost: rc 1 */
		if (held == was) /* else the window has room again: fill it first */
			cp_sess_pump(s, 1000);
	}
out:
	if (rc == 1 && e->sent_to > e->off) {
		/* what is still in our buffer never went out */
		uint64_t unsent = cp_sess_queued(s);
		e->sent_to -= unsent < e->sent_to - e->off ? unsent : e->sent_to - e->off;
	}
	if (rc != 1)
		c->cur = NULL;
	EVP_MD_CTX_free(whole);
	free(buf);
	close(fd);
	return rc;
}

static int batchable(const struct entry *e)
{
	return e->type == 'f' && !e->skip && !e->off && e->size <= CP_SMALL;
}

/* Send the files idx[0..n) in one batch (a tar; pvc-cp.sh "batch").  Each
 * that goes into place is done; a file the pod's copy of which differs is
 * marked in alone[] (sent again by itself, with its own repair); one that
 * cannot be read, or changed since it was listed, or that the claim refuses
 * is an error.  0 all answered, 1 session lost, -1 error. */
static int put_batch(struct cp *c, const size_t *idx, size_t n, int *alone)
{
	struct cp_sess *s = &c->s;
	struct cp_tar_file *tf = xcalloc(n, sizeof(*tf));
	struct strbuf tar = STRBUF_INIT;
	int rc = 0;
	for (size_t k = 0; k < n; k++) {
		const struct entry *e = &c->e[idx[k]];
		tf[k] = (struct cp_tar_file){ .local = e->local, .rel = e->rel, .mode = e->mode, .size = e->size,
					      .mtime = e->mtime };
	}
	if (cp_tar_build(tf, n, &tar) < 0) {
		eidf_error("%s", eidf_last_error());
		rc = -1;
		goto out;
	}
	size_t m = 0;
	for (size_t k = 0; k < n; k++) {
		struct entry *e = &c->e[idx[k]];
		if (tf[k].err || tf[k].changed) {
			if (tf[k].err)
				eidf_error("cannot read %s: %s", e->local, strerror(tf[k].err));
			else
				eidf_error("%s changed while it was being copied (written to since it was listed): copy "
					   "it again", e->local);
			c->errors++;
			continue;
		}
		m++;
	}
	if (!m)
		goto out;
	cp_sess_queuef(s, "batch %zu %zu\n", m, tar.len);
	for (size_t k = 0; k < n; k++) {
		struct entry *e = &c->e[idx[k]];
		if (tf[k].err || tf[k].changed)
			continue;
		cp_sess_queuef(s, "%o %llu %s\n", e->mode, (unsigned long long)e->size, tf[k].sha256);
		cp_sess_queue_line(s, e->rel);
		if (e->sent_to)
			c->resent += e->size; /* sent before a drop: again now */
		e->sent_to = e->size;
	}
	cp_sess_queue(s, tar.buf, tar.len);
	char *line;
	for (size_t k = 0; k < n && !rc; k++) {
		struct entry *e = &c->e[idx[k]];
		if (tf[k].err || tf[k].changed)
			continue;
		if (cp_sess_line(s, &line) < 0) {
			rc = 1;
			break;
		}
		if (!strcmp(line, "F")) {
			c->files++;
			c->bytes += e->size;
			progress_note(c, e->size, e->rel);
			e->skip = 1; /* done: a retry of the batch leaves it out */
		} else if (!strncmp(line, "M ", 2)) {
			if (strcmp(line, "M -"))
				eidf_warning("%s failed verification on the claim (its sha256 differed); sending it again "
					     "by itself", e->local);
			alone[k] = 1;
		} else {
			eidf_error("PVC \"%s\": %s", c->claim, line[0] == 'E' ? line + 2 : "unexpected answer to batch");
			c->errors++;
			e->skip = 1;
		}
	}
	if (!rc && cp_sess_line(s, &line) < 0) /* "." */
		rc = 1;
out:
	for (size_t k = 0; k < n; k++)
		if (tf[k].err || tf[k].changed)
			c->e[idx[k]].skip = 1;
	strbuf_release(&tar);
	free(tf);
	return rc;
}

/* Commands answered by one line "O" or "E MESSAGE" each, sent together. */
static int step_simple(struct cp *c, void *arg)
{
	char which = *(char *)arg;
	size_t cnt = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct entry *e = &c->e[i];
		if (which == 'd' && e->type == 'd') {
			cp_sess_queue_line(&c->s, "mkdir");
			cp_sess_queue_line(&c->s, e->rel);
		} else if (which == 'l' && e->type == 'l') {
			cp_sess_queue_line(&c->s, "link");
			cp_sess_queue_line(&c->s, e->rel);
			cp_sess_queue_line(&c->s, e->target);
		} else if (which == 'm' && (e->type == 'd' || (e->type == 'f' && e->fix_mode))) {
			cp_sess_queuef(&c->s, "chmod %o\n", e->mode);
			cp_sess_queue_line(&c->s, e->rel);
		} else {
			continue;
		}
		cnt++;
	}
	/* answers come in the order sent */
	for (size_t i = 0, k = 0; k < cnt; i++) {
		struct entry *e = &c->e[i];
		if (!((which == 'd' && e->type == 'd') || (which == 'l' && e->type == 'l') ||
		      (which == 'm' && (e->type == 'd' || (e->type == 'f' && e->fix_mode)))))
			continue;
		k++;
		char *line;
		if (cp_sess_line(&c->s, &line) < 0)
			return 1;
		if (line[0] == 'E') {
			eidf_error("PVC \"%s\": %s", c->claim, line + 2);
			c->errors++;
		} else if (which == 'd') {
			c->dirs++;
		} else if (which == 'l') {
			c->links++;
		}
	}
	return 0;
}

static int step_df(struct cp *c, void *arg)
{
	uint64_t *avail = arg;
	cp_sess_queue_line(&c->s, "df");
	char *line;
	if (cp_sess_line(&c->s, &line) < 0)
		return 1;
	unsigned long long kib;
	if (sscanf(line, "D %llu", &kib) != 1) {
		*avail = UINT64_MAX; /* cannot tell: let the copy find out */
		return 0;
	}
	*avail = (uint64_t)kib * 1024;
	return 0;
}

/* One batch's exchange (put_batch, get_batch): 0 answered, 1 session
 * lost, -1 error. */
typedef int batch_fn(struct cp *c, const size_t *idx, size_t n, int *alone);

/* The small files, in batches of at most CP_WINDOW bytes through fn.  After
 * a drop the batch goes again, without what the lost session placed (an
 * upload plans those files again: one now on the claim and equal is done;
 * a download's batch placed nothing, all of it counts as received again).
 * Those a batch could not place are left for the one-file path.  0, or -1
 * when the copy stops. */
static int run_batches(struct cp *c, batch_fn *fn, int replan)
{
	size_t *idx = xcalloc(CP_BATCH_FILES, sizeof(*idx));
	int *alone = xcalloc(CP_BATCH_FILES, sizeof(*alone));
	int rc = 0;
	for (size_t i = 0; i < c->n && !rc;) {
		size_t n = 0;
		uint64_t bytes = 0;
		for (; i < c->n && n < CP_BATCH_FILES; i++) {
			struct entry *e = &c->e[i];
			if (!batchable(e))
				continue;
			if (n && bytes + e->size > CP_WINDOW)
				break;
			idx[n++] = i;
			bytes += e->size;
		}
		if (!n)
			break;
		for (;;) {
			memset(alone, 0, n * sizeof(*alone));
			if (sess(c)) {
				rc = -1;
				break;
			}
			int r = fn(c, idx, n, alone);
			if (r <= 0) {
				rc = r;
				break;
			}
			if (!replan)
				c->resent += bytes;
			if (reopen(c)) {
				rc = -1;
				break;
			}
			size_t left = 0;
			for (size_t k = 0; k < n && replan; k++) {
				struct entry *e = &c->e[idx[k]];
				if (e->skip)
					continue;
				size_t one = idx[k];
				if (with_retry(c, step_plan, &one)) {
					rc = -1;
					break;
				}
				if (e->skip) {
					c->files++;
					continue;
				}
				idx[left++] = idx[k];
			}
			if (rc || (replan && !(n = left)))
				break;
		}
		for (size_t k = 0; k < n && !rc; k++)
			if (!alone[k])
				c->e[idx[k]].batched = 1;
	}
	free(idx);
	free(alone);
	return rc;
}

static int upload(struct cp *c, int nsrc, const char **srcs)
{
	/* where things go: into CLAIM:PATH when it is a directory (or the
	 * root, or written with a trailing '/', or several sources), else as it */
	struct stat_arg st = { .rel = c->rel };
	if (with_retry(c, step_stat, &st))
		return -1;
	char dtype = st.ri.type;
	info_release(&st.ri);
	struct stat sst;
	int src_is_dir = !stat(srcs[0], &sst) && S_ISDIR(sst.st_mode);
	int into = nsrc > 1 || !strcmp(c->rel, ".") || c->rel_slash || (dtype == 'd' && !src_is_dir);
	if (dtype == 'l' || (!into && dtype == 'o')) {
		eidf_error("\"%s:%s\" exists on the claim and is %s; name another place", c->claim, c->rel,
			   dtype == 'l' ? "a symlink (not followed)" : "not a file or directory");
		return -1;
	}
	if (nsrc > 1 && dtype != 'd' && dtype != '-' && strcmp(c->rel, ".")) {
		eidf_error("\"%s:%s\" is not a directory: several sources need one", c->claim, c->rel);
		return -1;
	}
	if (into && strcmp(c->rel, ".") && dtype == '-') {
		struct entry *e = add_entry(c, 'd');
		e->rel = xstrdup(c->rel);
		e->local = xstrdup(srcs[0]);
		e->mode = 0755;
	}
	for (int i = 0; i < nsrc; i++) {
		char *base = local_base(srcs[i]);
		char *rel = into && *base ? join(c->rel, base) : xstrdup(c->rel);
		walk_local(c, srcs[i], rel, 1);
		free(rel);
		free(base);
	}
	if (c->errors)
		return -1;
	/* under a path that does not exist nothing can be there, parts neither:
	 * no questions to ask (a tree of many files copied anew) */
	int fresh = dtype == '-' && strcmp(c->rel, ".");
	size_t rl = strlen(c->rel);
	for (size_t i = 0; fresh && i < c->n; i++)
		if (c->e[i].type == 'f' && (strncmp(c->e[i].rel, c->rel, rl) || c->e[i].rel[rl] != '/'))
			fresh = 0;
	if (!fresh && with_retry(c, step_plan, NULL))
		return -1;
	uint64_t need = 0, avail = 0, nsend = 0;
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].type == 'f' && !c->e[i].skip) {
			need += c->e[i].size - c->e[i].off;
			nsend++;
		}
	if (need && with_retry(c, step_df, &avail))
		return -1;
	if (need > avail) {
		char *n = human_bytes(need), *a = human_bytes(avail);
		eidf_error("not enough space on PVC \"%s\": the copy needs %s, %s are free; make room (see: "
			   "kubectl eidf pvc du %s) or copy less", c->claim, n, a, c->claim);
		free(n);
		free(a);
		return -1;
	}
	c->total = need;
	if (isatty(STDERR_FILENO) && need) {
		char *label = xasprintf("uploading to %s:%s", c->claim, shown_rel(c));
		c->pg = progress_new(stderr, label, need);
		free(label);
	}
	char which = 'd';
	if (with_retry(c, step_simple, &which))
		return -1;
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].type == 'f' && c->e[i].skip)
			c->skipped++;
	if (run_batches(c, put_batch, 1) < 0)
		return -1;
	for (size_t i = 0; i < c->n; i++) {
		struct entry *e = &c->e[i];
		if (e->type != 'f' || e->skip || e->batched)
			continue;
		for (;;) {
			if (sess(c))
				return -1;
			int r = e->fixing[0] ? resume_repair(c, e) : put_file(c, e);
			if (r == 0) {
				c->files++;
				break;
			}
			if (r < 0) {
				c->errors++;
				break;
			}
			if (r == 1 && reopen(c))
				return -1;
			if (e->fixing[0])
				continue; /* lost while its chunks were sent again: go on with that */
			size_t idx = i;
			if (with_retry(c, step_plan, &idx))
				return -1;
			if (e->skip) {
				c->files++;
				break;
			}
		}
	}
	which = 'l';
	if (with_retry(c, step_simple, &which))
		return -1;
	/* modes last: a read-only directory would refuse what goes into it */
	which = 'm';
	if (with_retry(c, step_simple, &which))
		return -1;
	(void)nsend;
	return c->errors ? -1 : 0;
}

/* ---- download ------------------------------------------------------------- */

/* The directory that holds rel (under the local root), created when
 * missing; no component may be a symlink (O_NOFOLLOW): what the claim holds
 * never makes us write outside the local tree.  *leaf points into rel. */
static int local_parent(struct cp *c, const char *rel, const char **leaf)
{
	int fd = dup(c->local_root);
	const char *p = rel;
	for (;;) {
		const char *slash = strchr(p, '/');
		if (!slash)
			break;
		char *comp = xstrndup(p, (size_t)(slash - p));
		int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && !mkdirat(fd, comp, 0755))
			nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		free(comp);
		close(fd);
		if (nfd < 0) {
			errno = e == ELOOP ? ENOTDIR : e;
			return -1;
		}
		fd = nfd;
		p = slash + 1;
	}
	*leaf = p;
	return fd;
}

struct list_arg { const char *rel; char top_type; char *prefix; const char *local_top; };

static struct entry *find_remote(struct cp *c, const char *rel)
{
	for (size_t i = c->n; i-- > 0;)
		if (!strcmp(c->e[i].rel, rel))
			return &c->e[i];
	return NULL;
}

/* List the remote tree: entries with rel = remote path, local = path under
 * the local root. */
static int step_list(struct cp *c, void *arg)
{
	struct list_arg *a = arg;
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].rel);
		free(c->e[i].local);
		free(c->e[i].target);
	}
	c->n = 0;
	a->top_type = '-';
	cp_sess_queue_line(&c->s, "list");
	cp_sess_queue_line(&c->s, a->rel);
	char *top = !strcmp(a->rel, ".") ? xstrdup(HELPER_MOUNT) : xasprintf("%s/%s", HELPER_MOUNT, a->rel);
	size_t toplen = strlen(top);
	char *link = NULL;
	size_t odd = 0;
	int rc = 0;
	for (;;) {
		char *line;
		if (cp_sess_line(&c->s, &line) < 0) {
			rc = 1;
			break;
		}
		if (!strcmp(line, "."))
			break;
		if (line[0] == 'E') {
			eidf_error("PVC \"%s\": %s", c->claim, line + 2);
			rc = -1;
			break;
		}
		if (!strcmp(line, "W")) {
			odd++;
			continue;
		}
		if (!strncmp(line, "L ", 2)) {
			free(link);
			link = xstrdup(line + 2);
			continue;
		}
		const char *path = NULL;
		unsigned hexmode = 0;
		unsigned long long size = 0;
		int off = 0;
		if (!strncmp(line, "T ", 2) && link) {
			const char *lp = link;
			if (strncmp(lp, top, toplen) || (lp[toplen] && lp[toplen] != '/'))
				continue;
			const char *sub = lp[toplen] ? lp + toplen + 1 : "";
			char *rel = join(a->rel, sub);
			struct entry *e = find_remote(c, rel);
			free(rel);
			if (e && e->type == 'l' && !e->target)
				e->target = xstrdup(line + 2);
			free(link);
			link = NULL;
			continue;
		}
		if (sscanf(line, "e %x %llu %n", &hexmode, &size, &off) != 2 || !off)
			continue;
		path = line + off;
		if (strncmp(path, top, toplen) || (path[toplen] && path[toplen] != '/'))
			continue;
		const char *sub = path[toplen] ? path + toplen + 1 : "";
		char type = S_ISDIR(hexmode) ? 'd' : S_ISREG(hexmode) ? 'f' : S_ISLNK(hexmode) ? 'l' : 'o';
		if (!*sub)
			a->top_type = type;
		const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
		if (is_part_name(base)) {
			warn(c, "skipping %s:%s: an unfinished upload", c->claim, path + strlen(HELPER_MOUNT) + 1);
			continue;
		}
		if (type == 'o') {
			c->special++;
			warn(c, "skipping special file %s:%s (a device, FIFO or socket)", c->claim,
			     path + strlen(HELPER_MOUNT) + 1);
			continue;
		}
		struct entry *e = add_entry(c, type);
		e->rel = join(a->rel, sub);
		e->local = xstrdup(sub);
		e->size = type == 'f' ? size : 0;
		e->mode = hexmode & (type == 'd' ? 01777 : 0777);
	}
	if (odd)
		warn(c, "skipping %zu names on the claim that hold a newline", odd);
	free(link);
	free(top);
	return rc;
}

/* Which files are there already (same size and sha256), which continue
 * from a local NAME.eidf-part whose bytes the claim's file still begins
 * with. */
static int step_plan_down(struct cp *c, void *arg)
{
	(void)arg;
	struct strvec need = STRVEC_INIT;
	size_t *idx = xcalloc(c->n + 1, sizeof(*idx));
	struct strvec parts = STRVEC_INIT;
	size_t *pidx = xcalloc(c->n + 1, sizeof(*pidx));
	for (size_t i = 0; i < c->n; i++) {
		struct entry *e = &c->e[i];
		if (e->type != 'f' || e->skip)
			continue;
		e->off = 0;
		const char *leaf;
		int dfd = local_parent(c, e->local, &leaf);
		if (dfd < 0)
			continue; /* reported when the file is written */
		struct stat st;
		if (!fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) && S_ISREG(st.st_mode) &&
		    (uint64_t)st.st_size == e->size) {
			idx[need.n] = i;
			strvec_push(&need, e->rel);
		}
		char *part = temp_name_beside(leaf, PART);
		if (!fstatat(dfd, part, &st, AT_SYMLINK_NOFOLLOW) && S_ISREG(st.st_mode) && st.st_size > 0 &&
		    (uint64_t)st.st_size <= e->size) {
			pidx[parts.n] = i;
			strvec_pushf(&parts, "%llu", (unsigned long long)st.st_size);
		}
		free(part);
		close(dfd);
	}
	int rc = 0;
	queue_sums(c, &need);
	for (size_t k = 0; k < parts.n; k++) {
		cp_sess_queuef(&c->s, "range 0 %s\n", parts.v[k]);
		cp_sess_queue_line(&c->s, c->e[pidx[k]].rel);
	}
	for (size_t k = 0; k < need.n && !rc; k++) {
		char line[80];
		if (sum_line(c, k, need.n, line) < 0) {
			rc = 1;
			break;
		}
		struct entry *e = &c->e[idx[k]];
		const char *leaf;
		int dfd = local_parent(c, e->local, &leaf);
		int fd = dfd >= 0 ? openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
		char h[65];
		if (fd >= 0 && !sha256_range(fd, 0, e->size, h) && !strncmp(line, "H ", 2) && !strcmp(line + 2, h)) {
			e->skip = 1;
			struct stat st;
			e->fix_mode = !fstat(fd, &st) && (st.st_mode & 0777) != e->mode;
		}
		if (fd >= 0)
			close(fd);
		if (dfd >= 0)
			close(dfd);
	}
	char *line;
	for (size_t k = 0; k < parts.n && !rc; k++) {
		if (cp_sess_line(&c->s, &line) < 0) {
			rc = 1;
			break;
		}
		struct entry *e = &c->e[pidx[k]];
		uint64_t psize = strtoull(parts.v[k], NULL, 10);
		const char *leaf;
		int dfd = local_parent(c, e->local, &leaf);
		char *part = temp_name_beside(leaf, PART);
		int fd = dfd >= 0 ? openat(dfd, part, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
		char h[65];
		if (!e->skip && fd >= 0 && !md5_range(fd, 0, psize, h) && !strncmp(line, "H ", 2) &&
		    !strcmp(line + 2, h)) {
			e->off = psize;
			e->partial = 1;
		}
		free(part);
		if (fd >= 0)
			close(fd);
		if (dfd >= 0)
			close(dfd);
	}
	strvec_clear(&need);
	strvec_clear(&parts);
	free(idx);
	free(pidx);
	return rc;
}

/* "cannot write LOCAL-PART: why", naming the part as the user sees it */
static void local_part_error(const struct entry *e, const char *verb, const char *after, int err)
{
	char *lp = temp_name_beside(e->local, PART);
	eidf_error("cannot %s %s%s: %s", verb, lp, after, strerror(err));
	free(lp);
}

/* The local part's whole sha256 differs from the claim's file's: find the
 * chunks that differ (MD5 of every chunk on both sides), receive them again,
 * then compare again; at most CP_MAX_REPAIRS rounds, as an upload's
 * repair.  0 equal now, 1 session lost, -1 error (the part stays). */
static int repair_down(struct cp *c, struct entry *e, int fd, const char *want)
{
	struct cp_sess *s = &c->s;
	struct range { uint64_t start, len; } *bad = NULL;
	char *line;
	int rc = 0;
	for (;;) {
		cp_sess_queuef(s, "chunks %d\n", CP_CHUNK);
		cp_sess_queue_line(s, e->rel);
		size_t nbad = 0;
		uint64_t covered = 0;
		for (;;) {
			if (cp_sess_line(s, &line) < 0) {
				rc = 1;
				break;
			}
			if (!strcmp(line, "."))
				break;
			if (line[0] == 'E') {
				eidf_error("PVC \"%s\": %s", c->claim, line + 2);
				rc = -1;
				break;
			}
			unsigned long long start, len;
			char sum[33], h[33];
			if (sscanf(line, "m %llu %llu %32s", &start, &len, sum) != 3)
				continue;
			covered = start + len;
			if (start + len > e->size || md5_range(fd, start, len, h) || strcmp(h, sum)) {
				bad = xrealloc(bad, (nbad + 1) * sizeof(*bad));
				bad[nbad].start = start;
				bad[nbad++].len = len;
			}
		}
		if (rc)
			break;
		if (covered != e->size) {
			eidf_error("%s:%s changed size while it was being copied (now %llu bytes, was %llu); copy it "
				   "again", c->claim, e->rel, (unsigned long long)covered, (unsigned long long)e->size);
			rc = -1;
			break;
		}
		if (!nbad) {
			char h[65] = "";
			sha256_range(fd, 0, e->size, h);
			eidf_error("%s:%s: the sha256 of the copy (%.16s...) differs from the claim's (%.16s...) and no "
				   "chunk could be found that differs; did it change while it was being copied? Copy it "
				   "again", c->claim, e->rel, h, want);
			rc = -1;
			break;
		}
		if (++e->repairs > CP_MAX_REPAIRS) {
			char *lp = temp_name_beside(e->local, PART);
			eidf_error("chunks of %s:%s kept failing verification (%d rounds); did it change while it was "
				   "being copied? Its part stays as %s: run the copy again", c->claim, e->rel,
				   CP_MAX_REPAIRS, lp);
			free(lp);
			rc = -1;
			break;
		}
		for (size_t i = 0; !rc && i < nbad; i++) {
			uint64_t start = bad[i].start, len = bad[i].len;
			eidf_warning("a chunk of %s:%s (bytes %llu-%llu) failed verification (the file's sha256 "
				     "differed, then this chunk's MD5); receiving it again", c->claim, e->rel,
				     (unsigned long long)start, (unsigned long long)(start + len));
			cp_sess_queuef(s, "get %llu %llu\n", (unsigned long long)start, (unsigned long long)len);
			cp_sess_queue_line(s, e->rel);
			if (cp_sess_line(s, &line) < 0) {
				rc = 1;
				break;
			}
			if (strncmp(line, "G ", 2)) {
				eidf_error("PVC \"%s\": %s", c->claim,
					   line[0] == 'E' ? line + 2 : "unexpected answer to get");
				rc = -1;
				break;
			}
			const char *data;
			if (cp_sess_bytes(s, (size_t)len, &data) < 0) {
				rc = 1;
				break;
			}
			for (size_t w = 0; w < len;) {
				ssize_t r = pwrite(fd, data + w, (size_t)len - w, (off_t)(start + w));
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0) {
					local_part_error(e, "write", "", errno);
					rc = -1;
					break;
				}
				w += (size_t)r;
			}
			c->resent += len;
			/* "m MD5" of what the pod sent; a mismatch shows in the next round */
			if (!rc && cp_sess_line(s, &line) < 0)
				rc = 1;
		}
		if (rc)
			break;
		char h[65];
		if (!sha256_range(fd, 0, e->size, h) && !strcmp(h, want))
			break;
	}
	free(bad);
	return rc;
}

/* A download's bytes go to disk while it runs, so that the fsync before the
 * rename waits only for the tail, not for the whole file's writeback (0.6 to
 * 1.3 s per GiB measured here, with the transfer over and the cores idle;
 * with this, 10 to 25 ms).  Starting
 * writeback (sync_file_range) costs the caller the file system's work
 * (allocation, submission), so it is done when the stream has nothing
 * waiting: the client is faster than the pod's side and the API server and
 * waits for them anyway.  Past WB_MAX not yet started it is done at once. */
#define WB_STEP (8u << 20)
#define WB_MAX (64u << 20)
struct writeback { int fd; uint64_t started; };

static void writeback_note(struct writeback *wb, uint64_t written_to, int idle)
{
#ifdef SYNC_FILE_RANGE_WRITE
	uint64_t n = written_to - wb->started;
	if (n < WB_STEP || (!idle && n < WB_MAX))
		return;
	sync_file_range(wb->fd, (off64_t)wb->started, (off64_t)n, SYNC_FILE_RANGE_WRITE);
	wb->started = written_to;
#else
	(void)wb;
	(void)written_to;
	(void)idle;
#endif
}

struct gets_ctx {
	struct cp *c;
	const size_t *idx;
	size_t n, next;
	char (*want)[65];
	int *ok;
};

/* A file of the batch's tar: kept only if its sha256 is the pod's; written
 * to its part, which is renamed once all are on disk */
static int gets_file(void *ctx, const char *name, const void *data, size_t len)
{
	struct gets_ctx *g = ctx;
	struct cp *c = g->c;
	if (!strncmp(name, "./", 2))
		name += 2;
	size_t k = g->next;
	while (k < g->n && strcmp(c->e[g->idx[k]].rel, name))
		k++;
	if (k == g->n)
		return 0; /* not asked for (or out of order): those are got alone */
	g->next = k + 1;
	struct entry *e = &c->e[g->idx[k]];
	char h[65];
	sha256_hex(data, len, h);
	if (len != e->size || strcmp(h, g->want[k])) {
		if (strcmp(g->want[k], "-")) {
			eidf_warning("%s:%s failed verification (its sha256 differed); receiving it again by itself",
				     c->claim, e->rel);
			c->resent += len;
		}
		return 0;
	}
	const char *leaf;
	int dfd = local_parent(c, e->local, &leaf);
	if (dfd < 0)
		return 0;
	struct stat st;
	char *part = temp_name_beside(leaf, PART);
	int fd = -1;
	if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		fd = openat(dfd, part, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		size_t w = 0;
		while (w < len) {
			ssize_t r = write(fd, (const char *)data + w, len - w);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			w += (size_t)r;
		}
		if (w == len && !fchmod(fd, e->mode))
			g->ok[k] = 1;
		else
			unlinkat(dfd, part, 0);
		close(fd);
	}
	free(part);
	close(dfd);
	return 0;
}

/* Receive the files idx[0..n) in one tar (pvc-cp.sh "gets"): those whose
 * sha256 is the pod's go into place (one syncfs for them all before the
 * renames); the others are marked in alone[] and received by themselves.
 * 0, 1 session lost, -1 error. */
static int get_batch(struct cp *c, const size_t *idx, size_t n, int *alone)
{
	struct cp_sess *s = &c->s;
	cp_sess_queuef(s, "gets %zu\n", n);
	for (size_t k = 0; k < n; k++)
		cp_sess_queue_line(s, c->e[idx[k]].rel);
	char *line;
	if (cp_sess_line(s, &line) < 0)
		return 1;
	unsigned long long size;
	if (line[0] == 'E' || sscanf(line, "G %llu", &size) != 1) {
		for (size_t k = 0; k < n; k++)
			alone[k] = 1;
		return line[0] == 'E' ? 0 : -1;
	}
	struct strbuf tar = STRBUF_INIT;
	const char *data;
	if (size > 4 * (uint64_t)CP_WINDOW || cp_sess_bytes(s, (size_t)size, &data) < 0) {
		strbuf_release(&tar);
		return 1;
	}
	strbuf_add(&tar, data, (size_t)size);
	char(*want)[65] = xcalloc(n, sizeof(*want));
	int *ok = xcalloc(n, sizeof(*ok));
	int rc = 0;
	for (size_t k = 0; k < n && !rc; k++) {
		if (cp_sess_line(s, &line) < 0)
			rc = 1;
		else if (!strncmp(line, "h ", 2))
			snprintf(want[k], sizeof(want[k]), "%s", line + 2);
	}
	if (!rc && cp_sess_line(s, &line) < 0) /* "." */
		rc = 1;
	if (!rc && size) {
		struct gets_ctx g = { .c = c, .idx = idx, .n = n, .want = want, .ok = ok };
		if (cp_tar_each(tar.buf, tar.len, gets_file, &g) < 0)
			eidf_warning("%s; receiving those files one at a time", eidf_last_error());
	}
	if (!rc) {
		syncfs(c->local_root);
		for (size_t k = 0; k < n; k++) {
			struct entry *e = &c->e[idx[k]];
			const char *leaf;
			int dfd = ok[k] ? local_parent(c, e->local, &leaf) : -1;
			char *part = dfd >= 0 ? temp_name_beside(leaf, PART) : NULL;
			if (dfd >= 0 && !renameat(dfd, part, dfd, leaf)) {
				c->files++;
				c->bytes += e->size;
				progress_note(c, e->size, e->rel);
				e->skip = 1;
			} else {
				alone[k] = 1;
			}
			free(part);
			if (dfd >= 0)
				close(dfd);
		}
	}
	free(want);
	free(ok);
	strbuf_release(&tar);
	return rc;
}

/* Receive one file into NAME.eidf-part from e->off, as one stream: every
 * byte that arrives is kept (a drop loses nothing received) and hashed
 * into the whole file's sha256 (with the part that was here), which must
 * equal the pod's, sent after the bytes; if not, repair_down.  0 renamed
 * into place, 1 session lost (e->off: what arrived), -1 error. */
static int get_file(struct cp *c, struct entry *e)
{
	struct cp_sess *s = &c->s;
	const char *leaf;
	int dfd = local_parent(c, e->local, &leaf);
	if (dfd < 0) {
		eidf_error("cannot create the directory of %s: %s", e->local, strerror(errno));
		return -1;
	}
	char *part = temp_name_beside(leaf, PART);
	int fd = openat(dfd, part, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	int rc = -1;
	EVP_MD_CTX *whole = EVP_MD_CTX_new();
	EVP_DigestInit_ex(whole, EVP_sha256(), NULL);
	if (fd < 0 || ftruncate(fd, (off_t)e->off) < 0 || hash_feed(whole, fd, 0, e->off)) {
		local_part_error(e, "write", "", errno);
		goto out;
	}
	if (e->off && !e->resumed) {
		e->resumed = 1;
		c->resumed++;
	}
	c->cur = e;
	cp_sess_queuef(s, "get %llu\n", (unsigned long long)e->off);
	cp_sess_queue_line(s, e->rel);
	char *line;
	if (cp_sess_line(s, &line) < 0) {
		rc = 1;
		goto out;
	}
	unsigned long long size;
	if (line[0] == 'E' || sscanf(line, "G %llu", &size) != 1) {
		eidf_error("PVC \"%s\": %s", c->claim, line[0] == 'E' ? line + 2 : "unexpected answer to get");
		goto out;
	}
	if (size != e->size) {
		eidf_error("%s:%s changed size while it was being copied (%llu bytes, was %llu); copy it again",
			   c->claim, e->rel, size, (unsigned long long)e->size);
		goto out;
	}
	uint64_t off = e->off;
	struct writeback wb = { fd, off };
	while (off < e->size) {
		const char *data;
		size_t n;
		if (cp_sess_some(s, e->size - off, &data, &n) < 0) {
			e->off = off; /* all of it is kept */
			rc = 1;
			goto out;
		}
		for (size_t w = 0; w < n;) {
			ssize_t r = pwrite(fd, data + w, n - w, (off_t)(off + w));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				local_part_error(e, "write", "", errno);
				goto out;
			}
			w += (size_t)r;
		}
		EVP_DigestUpdate(whole, data, n);
		off += n;
		c->bytes += n;
		progress_note(c, n, e->rel);
		if (!cp_sess_pending(s))
			cp_sess_pump(s, 0); /* what the connection has already */
		writeback_note(&wb, off, !cp_sess_pending(s));
	}
	e->off = off;
	if (cp_sess_line(s, &line) < 0) {
		rc = 1;
		goto out;
	}
	if (strncmp(line, "h ", 2) || strlen(line + 2) != 64) {
		eidf_error("%s:%s: the stream from the claim is out of step (\"%.40s\"); did the file change "
			   "while it was being copied?", c->claim, e->rel, line);
		goto out;
	}
	char want[65], h[65];
	memcpy(want, line + 2, 65);
	hash_final(whole, h);
	if (strcmp(h, want)) {
		rc = repair_down(c, e, fd, want);
		if (rc)
			goto out;
		rc = -1;
	}
	struct stat st;
	if (!fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) && S_ISDIR(st.st_mode)) {
		eidf_error("%s is a directory; it cannot be replaced by %s:%s", e->local, c->claim, e->rel);
		goto out;
	}
	if (fchmod(fd, e->mode) < 0 || fsync(fd) < 0 || renameat(dfd, part, dfd, leaf) < 0) {
		local_part_error(e, "rename", " into place", errno);
		goto out;
	}
	rc = 0;
out:
	if (rc != 1)
		c->cur = NULL;
	EVP_MD_CTX_free(whole);
	if (fd >= 0)
		close(fd);
	free(part);
	close(dfd);
	return rc;
}

static int download(struct cp *c, const char *local)
{
	/* what the source is decides where it goes: see the rules in cmd_cp */
	struct list_arg la = { .rel = c->rel, .local_top = "" };
	int rc = with_retry(c, step_list, &la);
	if (rc)
		return -1;
	if (la.top_type == '-') {
		eidf_error("\"%s:%s\" does not exist on the claim; see what is there with: kubectl eidf pvc ls %s",
			   c->claim, c->rel, c->claim);
		return -1;
	}
	struct stat lst;
	size_t ll = strlen(local);
	int local_is_dir = !stat(local, &lst) && S_ISDIR(lst.st_mode);
	char *lbase = local_base(local);
	int into = (local_is_dir && (la.top_type != 'd' || local[ll - 1] == '/' || !*lbase));
	free(lbase);
	char *root, *top;
	const char *rbase = strrchr(c->rel, '/') ? strrchr(c->rel, '/') + 1 : c->rel;
	if (into) {
		root = xstrdup(local);
		top = !strcmp(c->rel, ".") ? xstrdup("") : xstrdup(rbase);
	} else {
		char *tmp = xstrdup(local);
		size_t n = strlen(tmp);
		while (n > 1 && tmp[n - 1] == '/')
			tmp[--n] = '\0';
		char *slash = strrchr(tmp, '/');
		if (slash) {
			top = xstrdup(slash + 1);
			*(slash == tmp ? slash + 1 : slash) = '\0';
			root = tmp;
		} else {
			top = tmp;
			root = xstrdup(".");
		}
		if (!*top || !strcmp(top, ".") || !strcmp(top, "..")) {
			eidf_error("%s: name the local file or directory to copy to", local);
			free(root);
			free(top);
			return -1;
		}
	}
	c->local_root = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->local_root < 0) {
		eidf_error("cannot open local directory %s: %s", root, strerror(errno));
		free(root);
		free(top);
		return -1;
	}
	/* entries were listed relative to the source: place them under top */
	for (size_t i = 0; i < c->n; i++) {
		struct entry *e = &c->e[i];
		char *l = *top ? (*e->local ? xasprintf("%s/%s", top, e->local) : xstrdup(top)) : xstrdup(e->local);
		free(e->local);
		e->local = l;
	}
	for (size_t i = 0; i < c->n; i++)
		if (!*c->e[i].local) /* the local root itself */
			c->e[i].type = 'x';
	rc = with_retry(c, step_plan_down, NULL);
	if (rc) {
		free(root);
		free(top);
		return -1;
	}
	uint64_t need = 0;
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].type == 'f' && !c->e[i].skip)
			need += c->e[i].size - c->e[i].off;
	c->total = need;
	if (isatty(STDERR_FILENO) && need) {
		char *label = xasprintf("downloading %s:%s", c->claim, shown_rel(c));
		c->pg = progress_new(stderr, label, need);
		free(label);
	}
	/* directories first (private until their contents are in), then files,
	 * then symlinks, then the directories' modes */
	for (size_t i = 0; i < c->n; i++) {
		struct entry *e = &c->e[i];
		if (e->type != 'd')
			continue;
		char *probe = xasprintf("%s/x", e->local);
		const char *leaf;
		int dfd = local_parent(c, probe, &leaf);
		free(probe);
		if (dfd < 0) {
			eidf_error("cannot create directory %s/%s: %s", root, e->local,
				   errno == ENOTDIR ? "a file or symlink is in the way" : strerror(errno));
			c->errors++;
		} else {
			c->dirs++;
			close(dfd);
		}
	}
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].type == 'f' && c->e[i].skip)
			c->skipped++;
	if (!rc && run_batches(c, get_batch, 0) < 0)
		rc = -1;
	for (size_t i = 0; i < c->n && !rc; i++) {
		struct entry *e = &c->e[i];
		if (e->type != 'f' || e->batched)
			continue;
		if (e->skip) {
			if (e->fix_mode) {
				const char *leaf;
				int dfd = local_parent(c, e->local, &leaf);
				if (dfd >= 0) {
					fchmodat(dfd, leaf, e->mode, 0);
					close(dfd);
				}
			}
			continue;
		}
		for (;;) {
			if (sess(c)) {
				rc = -1;
				break;
			}
			int r = get_file(c, e);
			if (r == 0) {
				c->files++;
				break;
			}
			if (r < 0) {
				c->errors++;
				break;
			}
			if (r == 2) {
				/* the rest of that stream is not wanted: a new one from the verified offset */
				char *why = NULL;
				cp_sess_close(&c->s, &why);
				free(why);
				continue;
			}
			if (reopen(c)) {
				rc = -1;
				break;
			}
		}
		if (rc)
			break;
	}
	for (size_t i = 0; !rc && i < c->n; i++) {
		struct entry *e = &c->e[i];
		if (e->type != 'l')
			continue;
		if (!e->target) {
			warn(c, "skipping symlink %s:%s: its target could not be read", c->claim, e->rel);
			continue;
		}
		const char *leaf;
		int dfd = local_parent(c, e->local, &leaf);
		struct stat st;
		if (dfd < 0) {
			eidf_error("cannot create the directory of %s: %s", e->local, strerror(errno));
			c->errors++;
			continue;
		}
		if (!fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW)) {
			if (S_ISDIR(st.st_mode)) {
				eidf_error("%s is a directory; it cannot be replaced by the symlink %s:%s", e->local,
					   c->claim, e->rel);
				c->errors++;
				close(dfd);
				continue;
			}
			unlinkat(dfd, leaf, 0);
		}
		if (symlinkat(e->target, dfd, leaf) < 0) {
			eidf_error("cannot create symlink %s: %s", e->local, strerror(errno));
			c->errors++;
		} else {
			c->links++;
		}
		close(dfd);
	}
	for (size_t i = c->n; !rc && i-- > 0;) {
		struct entry *e = &c->e[i];
		if (e->type != 'd')
			continue;
		char *probe = xasprintf("%s/x", e->local);
		const char *leaf;
		int dfd = local_parent(c, probe, &leaf);
		free(probe);
		if (dfd >= 0) {
			fchmod(dfd, e->mode);
			close(dfd);
		}
	}
	free(root);
	free(top);
	return rc || c->errors ? -1 : 0;
}

/* ---- the command ---------------------------------------------------------- */

/* After Ctrl-C: what stays and how to go on, in one line. */
static void say_interrupted(const struct cp *c)
{
	const struct entry *e = c->cur;
	if (!e) {
		fprintf(stderr, "pvc cp: interrupted; the files copied so far stay: run the same command again to "
			"copy the rest\n");
	} else if (c->upload) {
		char *rp = temp_name_beside(e->rel, PART);
		fprintf(stderr, "pvc cp: interrupted; %s stays as its part %s:%s: run the same command again to "
			"resume\n", e->local, c->claim, rp);
		free(rp);
	} else {
		char *lp = temp_name_beside(e->local, PART);
		fprintf(stderr, "pvc cp: interrupted; %s:%s stays as its part %s: run the same command again to "
			"resume\n", c->claim, e->rel, lp);
		free(lp);
	}
}

static void summary(struct cp *c, enum output_format fmt, int ok)
{
	double secs = (double)(now_ms() - c->start_ms) / 1000.0;
	if (fmt == OUT_JSON || fmt == OUT_YAML) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "direction", c->upload ? "upload" : "download");
		cJSON_AddStringToObject(o, "claim", c->claim);
		cJSON_AddStringToObject(o, "path", c->rel);
		cJSON_AddBoolToObject(o, "complete", ok);
		cJSON_AddNumberToObject(o, "files", (double)c->files);
		cJSON_AddNumberToObject(o, "bytes", (double)c->bytes);
		cJSON_AddNumberToObject(o, "skipped", (double)c->skipped);
		cJSON_AddNumberToObject(o, "resumed", (double)c->resumed);
		cJSON_AddNumberToObject(o, "resentBytes", (double)c->resent);
		cJSON_AddNumberToObject(o, "reconnects", (double)c->reconnects);
		cJSON_AddNumberToObject(o, "directories", (double)c->dirs);
		cJSON_AddNumberToObject(o, "symlinks", (double)c->links);
		cJSON_AddNumberToObject(o, "specialSkipped", (double)c->special);
		cJSON_AddNumberToObject(o, "seconds", secs);
		cJSON *w = cJSON_AddArrayToObject(o, "warnings");
		for (size_t i = 0; i < c->warnings.n; i++)
			cJSON_AddItemToArray(w, cJSON_CreateString(c->warnings.v[i]));
		output_object(stdout, o, fmt);
		cJSON_Delete(o);
		return;
	}
	if (!ok)
		return;
	char *b = human_bytes(c->bytes);
	char *rate = human_bytes(secs > 0.05 ? (uint64_t)((double)c->bytes / secs) : c->bytes);
	printf("%s %llu file%s (%s) %s %s:%s in %.1fs (%s/s)", c->upload ? "uploaded" : "downloaded",
	       (unsigned long long)c->files, c->files == 1 ? "" : "s", b, c->upload ? "to" : "from", c->claim, shown_rel(c),
	       secs, rate);
	if (c->skipped)
		printf(", %llu already there", (unsigned long long)c->skipped);
	if (c->resumed)
		printf(", %llu resumed", (unsigned long long)c->resumed);
	if (c->links)
		printf(", %llu symlink%s", (unsigned long long)c->links, c->links == 1 ? "" : "s");
	if (c->warnings.n)
		printf(", %zu skipped with a warning", c->warnings.n);
	printf("\n");
	free(b);
	free(rate);
}

int cmd_cp(struct eidf_cmd *cmd, int argc, const char **argv)
{
	if (argc < 2) {
		eidf_error("usage: kubectl eidf pvc cp LOCAL... CLAIM:PATH  or  kubectl eidf pvc cp CLAIM:PATH LOCAL");
		return EIDF_EXIT_USAGE;
	}
	enum output_format fmt;
	if (output_format_parse(opt_output, &fmt) || (fmt != OUT_DEFAULT && fmt != OUT_JSON && fmt != OUT_YAML)) {
		eidf_error("pvc cp: -o takes json or yaml");
		return EIDF_EXIT_USAGE;
	}
	struct cp c = { .cmd = cmd, .local_root = -1, .start_ms = now_ms() };
	char *claim = NULL, *rel = NULL;
	int last = cp_parse_remote(argv[argc - 1], &claim, &rel);
	if (last < 0) {
		eidf_error("%s", eidf_last_error());
		return EIDF_EXIT_USAGE;
	}
	if (last == 1) {
		c.upload = 1;
		for (int i = 0; i < argc - 1; i++) {
			char *c2 = NULL, *r2 = NULL;
			int r = cp_parse_remote(argv[i], &c2, &r2);
			free(c2);
			free(r2);
			if (r != 0) {
				eidf_error("copy between a claim and local files: \"%s\" and \"%s\" are both on claims "
					   "(write ./%s for a local path with a ':')", argv[i], argv[argc - 1], argv[i]);
				free(claim);
				free(rel);
				return EIDF_EXIT_USAGE;
			}
		}
	} else {
		int first = cp_parse_remote(argv[0], &claim, &rel);
		if (first < 0) {
			eidf_error("%s", eidf_last_error());
			return EIDF_EXIT_USAGE;
		}
		if (first == 0 || argc != 2) {
			eidf_error(first == 0 ? "name the claim: kubectl eidf pvc cp LOCAL... CLAIM:PATH or kubectl eidf "
				   "pvc cp CLAIM:PATH LOCAL" : "a download takes one CLAIM:PATH and one LOCAL path");
			free(claim);
			free(rel);
			return EIDF_EXIT_USAGE;
		}
	}
	c.claim = claim;
	c.rel = rel;
	c.rel_slash = c.upload && argv[argc - 1][strlen(argv[argc - 1]) - 1] == '/';
	c.ns = cmd_project_namespace(cmd);
	int rc = EIDF_EXIT_ERROR;
	if (!c.ns || start_helper(&c)) {
		if (c.ns)
			eidf_error("%s", eidf_last_error());
		goto out;
	}
	struct sigaction sa = { .sa_handler = on_sigint }, old_int; /* no SA_RESTART: polls wake up */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	kclient_set_abort(cmd_client(cmd), &cp_interrupted);
	if (!sess(&c)) {
		int r = c.upload ? upload(&c, argc - 1, argv) : download(&c, argv[1]);
		if (r && eidf_last_error()[0] && c.reconnects > CP_MAX_RECONNECTS && !cp_interrupted)
			eidf_error("%s", eidf_last_error());
		rc = r ? EIDF_EXIT_ERROR : 0;
	}
	if (rc && cp_interrupted)
		rc = EIDF_EXIT_DETACHED;
	/* the Job is deleted (or said to be kept) after Ctrl-C too */
	kclient_set_abort(cmd_client(cmd), NULL);
	char *why = NULL;
	cp_sess_close(&c.s, &why);
	free(why);
	if (c.pg)
		progress_done(c.pg, rc == EIDF_EXIT_DETACHED ? "interrupted" : rc ? "failed" : NULL);
	if (rc == EIDF_EXIT_DETACHED)
		say_interrupted(&c);
	summary(&c, fmt, rc == 0);
	stop_helper(&c);
	sigaction(SIGINT, &old_int, NULL);
out:
	for (size_t i = 0; i < c.n; i++) {
		free(c.e[i].rel);
		free(c.e[i].local);
		free(c.e[i].target);
		EVP_MD_CTX_free(c.e[i].head);
	}
	free(c.e);
	if (c.local_root >= 0)
		close(c.local_root);
	strvec_clear(&c.warnings);
	free(c.lost_why);
	free(c.job);
	free(c.pod);
	free(claim);
	free(rel);
	return rc;
}

/* A running pod that shows the claim's directory rel, for Tab to read it
 * through: a helper kept with --keep first, else any pod of the namespace
 * whose container mounts the claim (a workload, a `pvc shell`; a subPath
 * mount shows only what is under it).  Only a listing runs there, and no
 * Job is started for a Tab.  *root is where rel is in that container. */
struct view { char *pod, *container, *root; };

static int find_view(struct kclient *kc, const char *ns, const char *claim, const char *rel, struct view *v)
{
	cJSON *pods = NULL;
	if (kclient_list(kc, &KRES_PODS, ns, NULL, &pods))
		return 0;
	int found = 0;
	for (int pass = 0; pass < 2 && !found; pass++) {
		const cJSON *pod;
		cJSON_ArrayForEach(pod, cJSON_GetObjectItemCaseSensitive(pods, "items")) {
			int helper = cJSON_GetObjectItemCaseSensitive(json_get(pod, "metadata.labels"),
								      "eidf.ac.uk/pvc-cp") != NULL;
			const char *phase = json_str(pod, "status.phase");
			if (helper != (pass == 0) || !phase || strcmp(phase, "Running") ||
			    json_get(pod, "metadata.deletionTimestamp"))
				continue;
			const cJSON *vol;
			cJSON_ArrayForEach(vol, json_get(pod, "spec.volumes")) {
				const char *cl = json_str(vol, "persistentVolumeClaim.claimName");
				const char *vname = json_str(vol, "name");
				if (!cl || !vname || strcmp(cl, claim))
					continue;
				const cJSON *ctr;
				cJSON_ArrayForEach(ctr, json_get(pod, "spec.containers")) {
					const cJSON *m;
					cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(ctr, "volumeMounts")) {
						const char *mn = json_str(m, "name"), *mp = json_str(m, "mountPath");
						const char *sub = json_str(m, "subPath");
						if (!mn || !mp || strcmp(mn, vname) || json_get(m, "subPathExpr"))
							continue;
						/* rel as a path under this mount */
						const char *under = rel;
						if (sub && *sub) {
							size_t sl = strlen(sub);
							if (strncmp(rel, sub, sl) || (rel[sl] && rel[sl] != '/'))
								continue;
							under = rel[sl] ? rel + sl + 1 : ".";
						}
						v->pod = xstrdup(json_str(pod, "metadata.name"));
						v->container = xstrdup(json_str(ctr, "name"));
						v->root = strcmp(under, ".") ? xasprintf("%s/%s", mp, under) : xstrdup(mp);
						found = 1;
						goto out;
					}
				}
			}
		}
	}
out:
	cJSON_Delete(pods);
	return found;
}

/* CLAIM: for a word without ':' (with the local files the shell offers as
 * well), and for CLAIM:PATH the names in PATH's directory, read through a
 * running pod that mounts the claim (find_view); with none, no names: a
 * Tab never starts a Job. */
void cp_complete(const char *prefix, struct strvec *out, void *ctx)
{
	struct eidf_cmd *cmd = ctx;
	struct kclient *kc = cmd_client(cmd);
	const char *ns = kc ? cmd_project_namespace(cmd) : NULL;
	const char *colon = strchr(prefix, ':');
	if (!colon) {
		cJSON *list = NULL;
		if (ns && !kclient_list(kc, &KRES_PVCS, ns, NULL, &list)) {
			const cJSON *it;
			cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(list, "items")) {
				const char *name = json_str(it, "metadata.name");
				if (name && !strncmp(name, prefix, strlen(prefix)))
					strvec_pushf(out, "%s:\tclaim", name);
			}
		}
		cJSON_Delete(list);
		/* local files too: the directive of custom completion is "no files" */
		char *dir = strrchr(prefix, '/') ? xstrndup(prefix, (size_t)(strrchr(prefix, '/') - prefix) + 1)
						 : xstrdup("");
		DIR *d = opendir(*dir ? dir : ".");
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (de->d_name[0] == '.' && !(strrchr(prefix, '/') ? strrchr(prefix, '/')[1] == '.' :
						       prefix[0] == '.'))
				continue;
			char *cand = xasprintf("%s%s", dir, de->d_name);
			struct stat st;
			if (!strncmp(cand, prefix, strlen(prefix)) && strcmp(de->d_name, ".") &&
			    strcmp(de->d_name, "..")) {
				if (!stat(cand, &st) && S_ISDIR(st.st_mode))
					strvec_pushf(out, "%s/", cand);
				else
					strvec_push(out, cand);
			}
			free(cand);
		}
		if (d)
			closedir(d);
		free(dir);
		return;
	}
	char *claim = NULL, *rel = NULL;
	/* the directory part of the path after ':' */
	const char *p = colon + 1;
	const char *slash = strrchr(p, '/');
	char *dirpart = slash ? xstrndup(p, (size_t)(slash - p) + 1) : xstrdup("");
	char *arg = xasprintf("%.*s:%s", (int)(colon - prefix), prefix, dirpart);
	struct view v = { 0 };
	if (!ns || cp_parse_remote(arg, &claim, &rel) != 1 || !find_view(kc, ns, claim, rel, &v)) {
		free(arg);
		free(dirpart);
		free(claim);
		free(rel);
		return;
	}
	struct cp_sess s;
	/* the script's root is the directory itself: list "." */
	if (!cp_sess_open(&s, kc, ns, v.pod, v.container, v.root)) {
		cp_sess_queue_line(&s, "list");
		cp_sess_queue_line(&s, ".");
		/* a Tab waits a few seconds at most */
		int64_t end = monotonic_ms() + 8000;
		char *line;
		int r;
		while (monotonic_ms() < end) {
			r = cp_sess_try_line(&s, &line);
			if (r < 0 || (r == 1 && !strcmp(line, ".")))
				break;
			if (r == 0) {
				cp_sess_pump(&s, 200);
				continue;
			}
			unsigned mode;
			unsigned long long size;
			int off = 0;
			if (sscanf(line, "e %x %llu %n", &mode, &size, &off) != 2 || !off)
				continue;
			const char *path = line + off;
			size_t tl = strlen(v.root);
			if (strncmp(path, v.root, tl) || path[tl] != '/' || strchr(path + tl + 1, '/'))
				continue;
			const char *name = path + tl + 1;
			if (is_part_name(name))
				continue;
			char *cand = xasprintf("%.*s:%s%s%s", (int)(colon - prefix), prefix, dirpart, name,
					       S_ISDIR(mode) ? "/" : "");
			if (!strncmp(cand, prefix, strlen(prefix)))
				strvec_push(out, cand);
			free(cand);
		}
		char *why = NULL;
		cp_sess_close(&s, &why);
		free(why);
	}
	free(v.pod);
	free(v.container);
	free(v.root);
	free(arg);
	free(dirpart);
	free(claim);
	free(rel);
}
