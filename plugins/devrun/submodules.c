#include "submodules.h"

#include <string.h>
#include <git2.h>

#include "repo_state.h"

/* .gitmodules: submodule.<name>.path and .url, read by hand (libgit2's
 * regex-based config matching leaks with pcre2). */
struct gitmodules {
	struct strvec names, paths;   /* parallel */
	struct strvec url_names, urls;
};

static int gitmodules_cb(const git_config_entry *e, void *ud)
{
	struct gitmodules *g = ud;
	const char *k = e->name;
	size_t n = strlen(k);
	if (!starts_with(k, "submodule.") || !e->value)
		return 0;
	if (n > 15 && !strcmp(k + n - 5, ".path")) {
		strvec_push_owned(&g->names, xstrndup(k + 10, n - 15));
		strvec_push(&g->paths, e->value);
	} else if (n > 14 && !strcmp(k + n - 4, ".url")) {
		strvec_push_owned(&g->url_names, xstrndup(k + 10, n - 14));
		strvec_push(&g->urls, e->value);
	}
	return 0;
}

static void gitmodules_load(const char *root, struct gitmodules *g)
{
	memset(g, 0, sizeof(*g));
	char *p = xasprintf("%s/.gitmodules", root);
	git_config *cfg = NULL;
	if (git_config_open_ondisk(&cfg, p) == 0)
		git_config_foreach(cfg, gitmodules_cb, g);
	git_error_clear();
	git_config_free(cfg);
	free(p);
}

static const char *gitmodules_url(const struct gitmodules *g, const char *path)
{
	for (size_t i = 0; i < g->paths.n; i++) {
		if (strcmp(g->paths.v[i], path))
			continue;
		const char *url = NULL; /* the last one wins, as in git */
		for (size_t j = 0; j < g->url_names.n; j++)
			if (!strcmp(g->url_names.v[j], g->names.v[i]))
				url = g->urls.v[j];
		return url;
	}
	return NULL;
}

static void gitmodules_release(struct gitmodules *g)
{
	strvec_clear(&g->names);
	strvec_clear(&g->paths);
	strvec_clear(&g->url_names);
	strvec_clear(&g->urls);
}

static struct submodule *add(struct submodules *s, const char *path, const git_oid *id)
{
	s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	struct submodule *m = &s->v[s->n++];
	memset(m, 0, sizeof(*m));
	m->path = xstrdup(path);
	git_oid_tostr(m->commit, sizeof(m->commit), id);
	return m;
}

static int tree_gitlinks_cb(const char *root, const git_tree_entry *e, void *ud)
{
	if (git_tree_entry_filemode(e) == GIT_FILEMODE_COMMIT) {
		char *path = xasprintf("%s%s", root, git_tree_entry_name(e));
		add(ud, path, git_tree_entry_id(e));
		free(path);
	}
	return 0;
}

/* Does the repository's index hold a gitlink (a submodule of its own)? */
static int has_gitlinks(git_repository *r)
{
	git_index *idx = NULL;
	if (git_repository_index(&idx, r) < 0) {
		git_error_clear();
		return 0;
	}
	int found = 0;
	size_t n = git_index_entrycount(idx);
	for (size_t i = 0; i < n && !found; i++) {
		const git_index_entry *e = git_index_get_byindex(idx, i);
		found = e && e->mode == GIT_FILEMODE_COMMIT;
	}
	git_index_free(idx);
	return found;
}

/* A path the init container's "COMMIT TREE URL PATH" line carries as is. */
static int path_ok(const char *p)
{
	size_t n = strlen(p);
	return n && !strpbrk(p, "\n\r\t") && p[0] != ' ' && p[n - 1] != ' ' && p[0] != '/' &&
	       strcmp(p, "..") && !starts_with(p, "../") && !strstr(p, "/../");
}

int submodules_load(git_repository *repo, const char *root, const struct submodules_opts *o,
		    struct submodules *out)
{
	memset(out, 0, sizeof(*out));
	git_object *obj = NULL;
	git_tree *tree = NULL;
	git_index *index = NULL;
	struct gitmodules gm;
	int ret = -1;
	gitmodules_load(root, &gm);
	if (git_revparse_single(&obj, repo, o->base_sha) < 0 ||
	    git_object_peel((git_object **)&tree, obj, GIT_OBJECT_TREE) < 0) {
		eidf_set_error("cannot read commit %s: %s", o->base_sha, git2_errmsg());
		goto out;
	}
	if (o->working_state) {
		if (git_repository_index(&index, repo) < 0) {
			eidf_set_error("cannot read the index of %s: %s", root, git2_errmsg());
			goto out;
		}
		size_t n = git_index_entrycount(index);
		for (size_t i = 0; i < n; i++) {
			const git_index_entry *e = git_index_get_byindex(index, i);
			if (e && e->mode == GIT_FILEMODE_COMMIT && !git_index_entry_stage(e))
				add(out, e->path, &e->id);
		}
	} else {
		git_tree_walk(tree, GIT_TREEWALK_PRE, tree_gitlinks_cb, out);
	}
	git_error_clear();

	for (size_t i = 0; i < out->n; i++) {
		struct submodule *m = &out->v[i];
		git_tree_entry *te = NULL;
		if (git_tree_entry_bypath(&te, tree, m->path) == 0 &&
		    git_tree_entry_filemode(te) == GIT_FILEMODE_COMMIT)
			git_oid_tostr(m->recorded, sizeof(m->recorded), git_tree_entry_id(te));
		git_tree_entry_free(te);
		git_error_clear();
		if (!path_ok(m->path)) {
			eidf_set_error("submodule path \"%s\" cannot be shipped (a newline, tab or edge space); "
				       "rename it, or use --no-submodules", m->path);
			goto out;
		}
		const char *raw = gitmodules_url(&gm, m->path);
		if (!raw || !*raw) {
			eidf_set_error("submodule %s has no URL in .gitmodules, so the pod cannot fetch it: "
				       "add it (git submodule add URL %s), or use --no-submodules", m->path, m->path);
			goto out;
		}
		char *url = git_url_resolve(o->pod_url, raw);
		if (!url) {
			eidf_set_error("submodule %s: URL %s climbs above the host of %s; use an absolute URL "
				       "in .gitmodules, or --no-submodules", m->path, raw, o->pod_url);
			goto out;
		}
		if (git_url_is_ssh(url) && !o->have_git_secret) {
			char *https = git_url_ssh_to_https(url);
			if (https) {
				free(url);
				url = https;
			}
		}
		if (strpbrk(url, " \t\r\n")) {
			eidf_set_error("submodule %s: URL \"%s\" contains white space", m->path, url);
			free(url);
			goto out;
		}
		m->url = url;
		if (!o->working_state)
			continue;
		/* its working tree here: the commit is its HEAD, and its edits ship */
		char *full = xasprintf("%s/%s", root, m->path);
		git_repository *sr = NULL;
		git_oid head;
		if (git_repository_open_ext(&sr, full, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) == 0 &&
		    git_repository_workdir(sr) && git_reference_name_to_id(&head, sr, "HEAD") == 0) {
			m->repo = sr;
			git_oid_tostr(m->commit, sizeof(m->commit), &head);
		} else {
			git_repository_free(sr);
			strvec_pushf(&out->notes, "submodule %s is not checked out here; the pod checks out "
				     "the commit the superproject records (%.12s)", m->path, m->commit);
		}
		git_error_clear();
		free(full);
		if (m->repo && has_gitlinks(m->repo))
			strvec_pushf(&out->notes, "submodule %s has submodules of its own; they are empty "
				     "directories in the pod", m->path);
		if (m->repo && !repo_commit_pushed(m->repo, m->commit)) {
			eidf_set_error("submodule %s: HEAD (%.12s) is not on any remote-tracking branch, so the "
				       "pod cannot fetch it: push it (git -C %s push), or use --no-submodules",
				       m->path, m->commit, m->path);
			goto out;
		}
	}
	ret = 0;
out:
	if (ret < 0)
		submodules_release(out);
	gitmodules_release(&gm);
	git_index_free(index);
	git_tree_free(tree);
	git_object_free(obj);
	return ret;
}

void submodules_release(struct submodules *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].path);
		free(s->v[i].url);
		git_repository_free(s->v[i].repo);
	}
	free(s->v);
	strvec_clear(&s->notes);
	memset(s, 0, sizeof(*s));
}

char *submodules_env(const struct submodules *s, const char *const *trees)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < s->n; i++)
		strbuf_addf(&sb, "%s %s %s %s\n", s->v[i].commit,
			    trees && trees[i] && *trees[i] ? trees[i] : "-", s->v[i].url, s->v[i].path);
	return strbuf_detach(&sb);
}
