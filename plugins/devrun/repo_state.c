#include "repo_state.h"

#include <string.h>
#include <git2.h>

const char *git2_errmsg(void)
{
	const git_error *e = git_error_last();
	return e && e->message ? e->message : "";
}

void repo_state_init(struct repo_state *rs)
{
	memset(rs, 0, sizeof(*rs));
}

void repo_state_release(struct repo_state *rs)
{
	if (rs->repo) {
		git_repository_free(rs->repo);
		git_libgit2_shutdown();
	}
	free(rs->root);
	free(rs->head_sha);
	free(rs->head_branch);
	free(rs->commit_sha);
	free(rs->remote_name);
	free(rs->remote_branch);
	free(rs->url);
	free(rs->configured_url);
	repo_state_init(rs);
}

int git_url_is_ssh(const char *url)
{
	if (!url)
		return 0;
	if (starts_with(url, "ssh://") || starts_with(url, "git+ssh://") || starts_with(url, "ssh+git://"))
		return 1;
	if (strstr(url, "://"))
		return 0;
	/* scp-like "[user@]host:path": a ':' before any '/' */
	const char *colon = strchr(url, ':');
	const char *slash = strchr(url, '/');
	return colon && colon != url && (!slash || colon < slash);
}

char *git_url_ssh_to_https(const char *url)
{
	if (!git_url_is_ssh(url))
		return NULL;
	const char *host, *path;
	size_t hostlen;
	if (strstr(url, "://")) {
		const char *p = strstr(url, "://") + 3;
		const char *at = strchr(p, '@');
		const char *slash = strchr(p, '/');
		if (!slash)
			return NULL;
		if (at && at < slash)
			p = at + 1;
		host = p;
		hostlen = (size_t)(slash - p);
		const char *colon = memchr(host, ':', hostlen);
		if (colon) /* drop an ssh port: the https port is unknown */
			hostlen = (size_t)(colon - host);
		path = slash + 1;
	} else {
		const char *colon = strchr(url, ':');
		const char *at = memchr(url, '@', (size_t)(colon - url));
		host = at ? at + 1 : url;
		hostlen = (size_t)(colon - host);
		path = colon + 1;
		while (*path == '/')
			path++;
	}
	if (!hostlen || !*path)
		return NULL;
	return xasprintf("https://%.*s/%s", (int)hostlen, host, path);
}

char *git_url_redact(const char *url)
{
	const char *p = url ? strstr(url, "://") : NULL;
	if (!p)
		return xstrdup(url);
	p += 3;
	const char *at = strchr(p, '@');
	const char *slash = strchr(p, '/');
	if (!at || (slash && slash < at))
		return xstrdup(url);
	return xasprintf("%.*s%s", (int)(p - url), url, at + 1);
}

char *git_url_resolve(const char *base, const char *url)
{
	if (!starts_with(url, "./") && !starts_with(url, "../"))
		return xstrdup(url);
	char *b = xstrdup(base);
	size_t n = strlen(b);
	while (n > 1 && b[n - 1] == '/')
		b[--n] = '\0';
	const char *scheme = strstr(b, "://");
	size_t host_end = scheme ? (size_t)(scheme - b) + 3 : 0; /* never cut into "scheme://" */
	char sep = '/';
	for (;;) {
		if (starts_with(url, "./")) {
			url += 2;
		} else if (starts_with(url, "../")) {
			url += 3;
			char *slash = strrchr(b, '/'), *colon = scheme ? NULL : strrchr(b, ':');
			char *cut = slash && (!colon || slash > colon) ? slash : colon;
			if (!cut || (size_t)(cut - b) < host_end) {
				free(b);
				return NULL;
			}
			sep = *cut;
			*cut = '\0';
		} else {
			break;
		}
	}
	char *out = xasprintf("%s%c%s", b, sep, url);
	free(b);
	return out;
}

/* A remote-tracking ref that contains the commit. */
struct reach {
	git_repository *repo;
	git_oid target;
	const char *prefer_remote;
	char *ref;          /* refs/remotes/<remote>/<branch> */
	int preferred;      /* ref belongs to prefer_remote */
	int exact;          /* the ref points at the commit */
	int error;
};

static int reach_cb(const char *name, void *payload)
{
	struct reach *r = payload;
	git_reference *ref = NULL;
	if (git_reference_lookup(&ref, r->repo, name) < 0)
		return 0;
	if (git_reference_type(ref) == GIT_REFERENCE_SYMBOLIC) /* origin/HEAD */
		goto out;
	git_object *obj = NULL;
	if (git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) < 0) {
		git_error_clear();
		goto out;
	}
	const git_oid *id = git_object_id(obj);
	int exact = git_oid_equal(id, &r->target);
	int contains = exact || git_graph_descendant_of(r->repo, id, &r->target) == 1;
	git_object_free(obj);
	if (!contains)
		goto out;
	int preferred = 0;
	if (r->prefer_remote) {
		size_t n = strlen(r->prefer_remote);
		const char *rest = name + strlen("refs/remotes/");
		preferred = !strncmp(rest, r->prefer_remote, n) && rest[n] == '/';
	}
	/* Best: the preferred remote, then a ref at exactly the commit. */
	if (!r->ref || preferred > r->preferred || (preferred == r->preferred && exact > r->exact)) {
		free(r->ref);
		r->ref = xstrdup(name);
		r->preferred = preferred;
		r->exact = exact;
	}
out:
	git_reference_free(ref);
	return 0;
}

int repo_commit_pushed(git_repository *repo, const char *sha)
{
	struct reach r = { .repo = repo };
	if (git_oid_fromstr(&r.target, sha) < 0) {
		git_error_clear();
		return 0;
	}
	git_reference_foreach_glob(repo, "refs/remotes/*", reach_cb, &r);
	git_error_clear();
	int pushed = r.ref != NULL;
	free(r.ref);
	return pushed;
}

/* Remote configuration, read from the config directly: libgit2 1.5's
 * remote lookup leaks regex match data (pcre2) on every call. */
struct remotes {
	struct strvec names;     /* from remote.<name>.url */
	struct strvec rewrites;  /* pairs: base, insteadOf prefix */
};

static int remotes_cb(const git_config_entry *e, void *ud)
{
	struct remotes *r = ud;
	const char *k = e->name;
	size_t n = strlen(k);
	if (starts_with(k, "remote.") && n > 11 && !strcmp(k + n - 4, ".url")) {
		char *name = xstrndup(k + 7, n - 11);
		if (!strvec_contains(&r->names, name))
			strvec_push(&r->names, name);
		free(name);
	} else if (starts_with(k, "url.") && n > 14 && !strcmp(k + n - 10, ".insteadof")) {
		strvec_push_owned(&r->rewrites, xstrndup(k + 4, n - 14));
		strvec_push(&r->rewrites, e->value ? e->value : "");
	}
	return 0;
}

static void remotes_load(git_config *cfg, struct remotes *r)
{
	memset(r, 0, sizeof(*r));
	git_config_foreach(cfg, remotes_cb, r);
	git_error_clear();
}

static void remotes_release(struct remotes *r)
{
	strvec_clear(&r->names);
	strvec_clear(&r->rewrites);
}

static char *config_string(git_config *cfg, const char *key)
{
	const char *v = NULL;
	if (git_config_get_string(&v, cfg, key) < 0) {
		git_error_clear();
		return NULL;
	}
	return xstrdup(v);
}

/* url.<base>.insteadOf: the longest matching prefix wins, as in git. */
static char *rewrite_url(const struct remotes *r, const char *url)
{
	const char *best_base = NULL;
	size_t best = 0;
	for (size_t i = 0; i + 1 < r->rewrites.n; i += 2) {
		const char *prefix = r->rewrites.v[i + 1];
		size_t n = strlen(prefix);
		if (n > best && !strncmp(url, prefix, n)) {
			best = n;
			best_base = r->rewrites.v[i];
		}
	}
	if (!best_base)
		return xstrdup(url);
	return xasprintf("%s%s", best_base, url + best);
}

/* Split "refs/remotes/<remote>/<branch>" by the configured remote names
 * (which may contain '/'); the longest matching name wins. */
static int split_tracking_ref(const struct remotes *r, const char *ref, char **remote, char **branch)
{
	const char *rest = ref + strlen("refs/remotes/");
	size_t best = 0;
	for (size_t i = 0; i < r->names.n; i++) {
		size_t n = strlen(r->names.v[i]);
		if (n > best && !strncmp(rest, r->names.v[i], n) && rest[n] == '/')
			best = n;
	}
	if (!best) {
		const char *slash = strchr(rest, '/');
		if (!slash)
			return -1;
		best = (size_t)(slash - rest);
	}
	*remote = xstrndup(rest, best);
	*branch = xstrdup(rest + best + 1);
	return 0;
}

/* The remote to clone from by default: upstream of the current branch, else
 * origin, else the only remote. */
static char *default_remote(git_config *cfg, const struct remotes *r, git_reference *head)
{
	if (git_reference_is_branch(head)) {
		char *key = xasprintf("branch.%s.remote", git_reference_shorthand(head));
		char *name = config_string(cfg, key);
		free(key);
		if (name && strvec_contains(&r->names, name))
			return name;
		free(name);
	}
	if (strvec_contains(&r->names, "origin"))
		return xstrdup("origin");
	if (r->names.n == 1)
		return xstrdup(r->names.v[0]);
	return NULL;
}

static char *remote_url(git_config *cfg, const struct remotes *r, const char *name)
{
	char *key = xasprintf("remote.%s.url", name);
	char *url = config_string(cfg, key);
	free(key);
	if (!url)
		return NULL;
	char *out = rewrite_url(r, url);
	free(url);
	return out;
}

static void short_sha(const char *sha, char out[13])
{
	snprintf(out, 13, "%.12s", sha ? sha : "");
}

int repo_state_load(struct repo_state *rs, const struct repo_opts *o)
{
	git_libgit2_init();
	git_reference *head = NULL;
	git_object *base = NULL;
	git_config *cfg = NULL;
	struct remotes remotes;
	memset(&remotes, 0, sizeof(remotes));
	int ret = -1;
	const char *start = o->path ? o->path : ".";

	if (git_repository_open_ext(&rs->repo, start, 0, NULL) < 0) {
		eidf_set_error("not a git repository (or any parent up to /): %s; "
			       "devrun ships the code of the current git working tree", start);
		git_error_clear();
		rs->repo = NULL;
		git_libgit2_shutdown();
		return -1;
	}
	const char *wd = git_repository_workdir(rs->repo);
	if (!wd) {
		eidf_set_error("%s is a bare repository: run devrun inside a working tree",
			       git_repository_path(rs->repo));
		return -1;
	}
	rs->root = xstrdup(wd);
	size_t n = strlen(rs->root);
	while (n > 1 && rs->root[n - 1] == '/')
		rs->root[--n] = '\0';

	int err = git_repository_head(&head, rs->repo);
	if (err == GIT_EUNBORNBRANCH || err == GIT_ENOTFOUND) {
		eidf_set_error("repository %s has no commits yet: commit and push first", rs->root);
		goto out;
	} else if (err < 0) {
		eidf_set_error("cannot read HEAD of %s: %s", rs->root, git2_errmsg());
		goto out;
	}
	git_object *hc = NULL;
	if (git_reference_peel(&hc, head, GIT_OBJECT_COMMIT) < 0) {
		eidf_set_error("HEAD of %s is not a commit: %s", rs->root, git2_errmsg());
		goto out;
	}
	char hex[GIT_OID_HEXSZ + 1];
	git_oid_tostr(hex, sizeof(hex), git_object_id(hc));
	git_object_free(hc);
	rs->head_sha = xstrdup(hex);
	if (git_reference_is_branch(head))
		rs->head_branch = xstrdup(git_reference_shorthand(head));

	git_oid target;
	if (o->base) {
		if (git_revparse_single(&base, rs->repo, o->base) < 0) {
			eidf_set_error("--base %s: unknown revision in %s (%s)", o->base, rs->root, git2_errmsg());
			goto out;
		}
		git_object *bc = NULL;
		if (git_object_peel(&bc, base, GIT_OBJECT_COMMIT) < 0) {
			eidf_set_error("--base %s does not name a commit", o->base);
			goto out;
		}
		git_oid_cpy(&target, git_object_id(bc));
		git_object_free(bc);
	} else {
		git_oid_fromstr(&target, rs->head_sha);
	}
	git_oid_tostr(hex, sizeof(hex), &target);
	rs->commit_sha = xstrdup(hex);

	if (git_repository_config_snapshot(&cfg, rs->repo) < 0) {
		eidf_set_error("cannot read the git configuration of %s: %s", rs->root, git2_errmsg());
		goto out;
	}
	remotes_load(cfg, &remotes);
	char *preferred = default_remote(cfg, &remotes, head);
	struct reach r = { .repo = rs->repo, .target = target, .prefer_remote = preferred };
	git_reference_foreach_glob(rs->repo, "refs/remotes/*", reach_cb, &r);
	git_error_clear();
	if (!r.ref && !preferred) {
		eidf_set_error("repository %s has no remote to clone from: add one and push "
			       "(git remote add origin URL && git push -u origin HEAD)", rs->root);
		goto out;
	}
	if (!r.ref) {
		char s[13];
		short_sha(rs->commit_sha, s);
		if (o->base)
			eidf_set_error("--base %s (%s) is not on any remote-tracking branch: "
				       "push it, or name a pushed commit (e.g. --base origin/main)", o->base, s);
		else
			eidf_set_error("HEAD (%s%s%s) is not on any remote-tracking branch, so the "
				       "pod cannot fetch it: push it (git push), or pass --base REF "
				       "to ship the difference from a pushed commit (e.g. --base origin/main)",
				       s, rs->head_branch ? " on " : "", rs->head_branch ? rs->head_branch : "");
		free(preferred);
		goto out;
	}
	if (split_tracking_ref(&remotes, r.ref, &rs->remote_name, &rs->remote_branch) < 0) {
		eidf_set_error("cannot parse remote-tracking ref %s", r.ref);
		free(r.ref);
		free(preferred);
		goto out;
	}
	free(r.ref);
	free(preferred);

	if (o->repo_url && *o->repo_url) {
		rs->configured_url = xstrdup(o->repo_url);
	} else {
		rs->configured_url = remote_url(cfg, &remotes, rs->remote_name);
		if (!rs->configured_url || !*rs->configured_url) {
			eidf_set_error("remote %s has no URL: pass --repo URL", rs->remote_name);
			goto out;
		}
	}
	rs->url_is_ssh = git_url_is_ssh(rs->configured_url);
	if (rs->url_is_ssh && !o->have_git_secret && !(o->repo_url && *o->repo_url)) {
		char *https = git_url_ssh_to_https(rs->configured_url);
		if (https) {
			rs->url = https;
			rs->url_rewritten = 1;
		}
	}
	if (!rs->url)
		rs->url = xstrdup(rs->configured_url);
	ret = 0;
out:
	remotes_release(&remotes);
	git_config_free(cfg);
	git_object_free(base);
	git_reference_free(head);
	return ret;
}
