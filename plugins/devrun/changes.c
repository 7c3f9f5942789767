#include "changes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <git2.h>
#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>

#include "eidf/humanize.h"
#include "ignore.h"
#include "repo_state.h"
#include "submodules.h"

/* Files bigger than this in total are refused before compressing: even
 * very compressible data would not fit a Secret. */
#define CHANGES_MAX_RAW (64u * 1024u * 1024u)

void changes_init(struct changes *c)
{
	memset(c, 0, sizeof(*c));
}

void changes_release(struct changes *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->files[i].path);
	free(c->files);
	strbuf_release(&c->tar_gz);
	strbuf_release(&c->deleted);
	strvec_clear(&c->skipped);
	strvec_clear(&c->converted);
	for (size_t i = 0; i < c->n_subs; i++)
		strbuf_release(&c->subs[i].deleted);
	free(c->subs);
	changes_init(c);
}

static struct change_file *add_file(struct changes *c, const char *prefix, const char *path, char status,
				     size_t repo)
{
	if (c->n == c->alloc) {
		c->alloc = c->alloc ? 2 * c->alloc : 16;
		c->files = xrealloc(c->files, c->alloc * sizeof(*c->files));
	}
	struct change_file *f = &c->files[c->n++];
	memset(f, 0, sizeof(*f));
	f->path = xasprintf("%s%s", prefix, path);
	f->status = status;
	f->repo = repo;
	return f;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(((const struct change_file *)a)->path, ((const struct change_file *)b)->path);
}

static char *join_root(const char *root, const char *path)
{
	return xasprintf("%s/%s", root, path);
}

/* The working-tree bytes of a file (target for symlinks). */
static int read_worktree(const char *root, const struct change_file *f, struct strbuf *out)
{
	char *full = join_root(root, f->path);
	int ret = 0;
	if (f->mode == GIT_FILEMODE_LINK) {
		struct stat st;
		if (lstat(full, &st) < 0) {
			eidf_set_error("%s: %s", full, strerror(errno));
			ret = -1;
		} else {
			size_t cap = (size_t)st.st_size + 1;
			for (;;) {
				strbuf_grow(out, cap);
				ssize_t n = readlink(full, out->buf, cap);
				if (n < 0) {
					eidf_set_error("%s: %s", full, strerror(errno));
					ret = -1;
					break;
				}
				if ((size_t)n < cap) {
					out->len = (size_t)n;
					out->buf[n] = '\0';
					break;
				}
				cap *= 2;
			}
		}
	} else {
		ret = read_file(full, out);
	}
	free(full);
	return ret;
}

static struct ignore_rules load_extra_ignore(const char *root, const char *name)
{
	struct ignore_rules r = IGNORE_RULES_INIT;
	char *path = join_root(root, name);
	struct strbuf sb = STRBUF_INIT;
	if (access(path, F_OK) == 0 && read_file(path, &sb) == 0)
		ignore_rules_parse(&r, sb.buf, sb.len);
	strbuf_release(&sb);
	free(path);
	return r;
}

/* The changes of one repository (root: its working tree) into c, paths
 * prefixed with `prefix` (a submodule's path and '/'), marked as `repo`. */
static int collect(git_repository *repo, const char *root, const struct changes_opts *o,
		   struct changes *c, size_t repo_idx, const char *prefix)
{
	git_object *obj = NULL;
	git_tree *tree = NULL;
	git_diff *diff = NULL;
	git_index *index = NULL;
	int ret = -1;
	const char *ignore_name = o->extra_ignore ? o->extra_ignore : ".eidfignore";
	struct ignore_rules extra = load_extra_ignore(root, ignore_name);

	if (git_revparse_single(&obj, repo, o->base_sha) < 0 ||
	    git_object_peel((git_object **)&tree, obj, GIT_OBJECT_TREE) < 0) {
		eidf_set_error("cannot read commit %s: %s", o->base_sha, git2_errmsg());
		goto out;
	}
	/* The same rules also prune untracked directories while walking. */
	struct strbuf rules = STRBUF_INIT;
	for (size_t i = 0; i < extra.n; i++)
		strbuf_addf(&rules, "%s%s%s%s\n", extra.v[i].negate ? "!" : "",
			    extra.v[i].anchored ? "/" : "", extra.v[i].pattern,
			    extra.v[i].dir_only ? "/" : "");
	if (rules.len && git_ignore_add_rule(repo, rules.buf) < 0)
		git_error_clear();
	strbuf_release(&rules);

	if (git_repository_index(&index, repo) < 0) {
		eidf_set_error("cannot read the index of %s: %s", root, git2_errmsg());
		goto out;
	}
	git_diff_options dopts;
	git_diff_options_init(&dopts, GIT_DIFF_OPTIONS_VERSION);
	dopts.flags = GIT_DIFF_INCLUDE_UNTRACKED | GIT_DIFF_RECURSE_UNTRACKED_DIRS |
		      GIT_DIFF_INCLUDE_TYPECHANGE | GIT_DIFF_IGNORE_SUBMODULES |
		      GIT_DIFF_SKIP_BINARY_CHECK;
	if (git_diff_tree_to_workdir_with_index(&diff, repo, tree, &dopts) < 0) {
		eidf_set_error("cannot compare %s with the working tree: %s", o->base_sha, git2_errmsg());
		goto out;
	}
	size_t nd = git_diff_num_deltas(diff);
	for (size_t i = 0; i < nd; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		const char *path = d->new_file.path ? d->new_file.path : d->old_file.path;
		char status;
		switch (d->status) {
		case GIT_DELTA_MODIFIED: status = 'M'; break;
		case GIT_DELTA_ADDED: status = 'A'; break;
		case GIT_DELTA_UNTRACKED: status = '?'; break;
		case GIT_DELTA_TYPECHANGE: status = 'T'; break;
		case GIT_DELTA_DELETED: status = 'D'; break;
		default: continue;
		}
		if (ends_with(path, "/")) { /* an untracked nested repository */
			strvec_pushf(&c->skipped, "%s%s (a nested git repository) is not shipped", prefix, path);
			continue;
		}
		if (ignore_rules_match(&extra, path, 0))
			continue;
		if (status == 'D') {
			add_file(c, prefix, path, 'D', repo_idx);
			continue;
		}
		unsigned mode = d->new_file.mode;
		if (mode == GIT_FILEMODE_COMMIT || mode == GIT_FILEMODE_TREE)
			continue;
		if (mode == 0) {
			/* mode unknown to the diff: take it from the file */
			char *full = join_root(root, path);
			struct stat st;
			int ok = lstat(full, &st) == 0;
			free(full);
			if (!ok)
				continue;
			mode = S_ISLNK(st.st_mode) ? GIT_FILEMODE_LINK :
			       (st.st_mode & S_IXUSR) ? GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB;
		}
		if (status == 'T' && d->old_file.mode != GIT_FILEMODE_COMMIT) {
			/* delete the old object before writing the new one */
			add_file(c, prefix, path, 'D', repo_idx);
		}
		struct change_file *f = add_file(c, prefix, path, status, repo_idx);
		f->mode = mode;
	}
	ret = 0;
out:
	ignore_rules_release(&extra);
	git_diff_free(diff);
	git_index_free(index);
	git_tree_free(tree);
	git_object_free(obj);
	return ret;
}

/* ---- tar.gz ------------------------------------------------------------ */

static la_ssize_t tar_write(struct archive *a, void *ud, const void *buf, size_t len)
{
	(void)a;
	strbuf_add(ud, buf, len);
	return (la_ssize_t)len;
}

static int pack(struct changes *c, struct strbuf *contents, int level, const struct changes_opts *o)
{
	struct archive *a = archive_write_new();
	char *opts = xasprintf("gzip:!timestamp,gzip:compression-level=%d", level); /* reproducible */
	int ret = -1;
	strbuf_reset(&c->tar_gz);
	archive_write_set_format_gnutar(a);
	archive_write_add_filter_gzip(a);
	if (archive_write_set_options(a, opts) != ARCHIVE_OK) {
		eidf_set_error("cannot set up the changes archive: %s", archive_error_string(a));
		free(opts);
		goto out;
	}
	free(opts);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open2(a, &c->tar_gz, NULL, tar_write, NULL, NULL) != ARCHIVE_OK) {
		eidf_set_error("cannot create the changes archive: %s", archive_error_string(a));
		goto out;
	}
	size_t k = 0;
	c->n_packed = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct change_file *f = &c->files[i];
		if (f->status == 'D')
			continue;
		struct strbuf *data = &contents[k++];
		if (o->pack_filter && !o->pack_filter(f, o->pack_filter_ud))
			continue;
		c->n_packed++;
		struct archive_entry *e = archive_entry_new();
		archive_entry_copy_pathname(e, f->path);
		archive_entry_set_mtime(e, (time_t)f->mtime, 0);
		archive_entry_set_uid(e, 0);
		archive_entry_set_gid(e, 0);
		if (f->mode == GIT_FILEMODE_LINK) {
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_perm(e, 0777);
			archive_entry_copy_symlink(e, strbuf_str(data));
			archive_entry_set_size(e, 0);
		} else {
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, f->mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644);
			archive_entry_set_size(e, (la_int64_t)data->len);
		}
		int r = archive_write_header(a, e);
		archive_entry_free(e);
		if (r != ARCHIVE_OK) {
			eidf_set_error("cannot add %s to the changes archive: %s", f->path,
				       archive_error_string(a));
			goto out;
		}
		if (f->mode != GIT_FILEMODE_LINK && data->len &&
		    archive_write_data(a, data->buf, data->len) != (la_ssize_t)data->len) {
			eidf_set_error("cannot add %s to the changes archive: %s", f->path,
				       archive_error_string(a));
			goto out;
		}
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		eidf_set_error("cannot finish the changes archive: %s", archive_error_string(a));
		goto out;
	}
	ret = 0;
out:
	archive_write_free(a);
	return ret;
}

/* ---- expected tree -------------------------------------------------------- */

/* One entry the pod's `git add -A` changes: a removal, or a blob / symlink /
 * gitlink at a path (relative to the repository). */
struct tree_edit {
	const char *path;
	int remove;
	unsigned mode;
	git_oid id;
};

static int cmp_edit(const void *a, const void *b)
{
	const struct tree_edit *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	return c ? c : y->remove - x->remove; /* a removal before the entry replacing it */
}

/* Rewrites only the trees on the changed paths: cost grows with the change,
 * not with the repository.  A type change is one upsert (the entry is
 * replaced); libgit2 refuses a file <-> directory change, and the caller
 * then takes the whole-index path. */
static int updated_tree(git_repository *r2, git_tree *base, const struct tree_edit *e, size_t n,
			git_oid *out)
{
	git_tree_update *u = xcalloc(n ? n : 1, sizeof(*u));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (e[i].remove && i + 1 < n && !strcmp(e[i + 1].path, e[i].path))
			continue; /* replaced by the next entry */
		u[k].action = e[i].remove ? GIT_TREE_UPDATE_REMOVE : GIT_TREE_UPDATE_UPSERT;
		u[k].filemode = (git_filemode_t)e[i].mode;
		git_oid_cpy(&u[k].id, &e[i].id);
		u[k++].path = e[i].path;
	}
	int rc = git_tree_create_updated(out, r2, base, k, u);
	free(u);
	return rc;
}

/* The same through a full index of the base tree (any change git allows). */
static int index_tree(git_repository *r2, git_tree *base, const struct tree_edit *e, size_t n,
		      git_oid *out)
{
	git_index *idx = NULL;
	int rc = git_index_new(&idx);
	if (!rc)
		rc = git_index_read_tree(idx, base);
	for (size_t i = 0; i < n && !rc; i++)
		if (e[i].remove) {
			git_index_remove_directory(idx, e[i].path, 0);
			git_index_remove(idx, e[i].path, 0);
		}
	git_error_clear();
	for (size_t i = 0; i < n && !rc; i++) {
		if (e[i].remove)
			continue;
		git_index_entry ie;
		memset(&ie, 0, sizeof(ie));
		ie.path = e[i].path;
		ie.mode = e[i].mode;
		git_oid_cpy(&ie.id, &e[i].id);
		rc = git_index_add(idx, &ie);
	}
	if (!rc)
		rc = git_index_write_tree_to(out, idx, r2);
	git_index_free(idx);
	return rc;
}

/* The tree `git add -A` produces in the pod: base tree + edits.  Trees go
 * to an in-memory backend of a private repository handle, so nothing is
 * written to the user's repository; blob ids are hashed, never stored. */
static int expected_tree(git_repository *repo, const char *base_sha, struct tree_edit *e, size_t n,
			 char out[41])
{
	git_repository *r2 = NULL;
	git_odb *odb = NULL;
	git_odb_backend *mem = NULL;
	git_object *obj = NULL;
	git_tree *tree = NULL;
	git_oid oid;
	int ret = -1;

	if (n)
		qsort(e, n, sizeof(*e), cmp_edit);
	if (git_repository_open(&r2, git_repository_path(repo)) < 0 ||
	    git_repository_odb(&odb, r2) < 0 || git_mempack_new(&mem) < 0)
		goto fail;
	if (git_odb_add_backend(odb, mem, 999) < 0) {
		mem->free(mem);
		goto fail;
	}
	if (git_revparse_single(&obj, r2, base_sha) < 0 ||
	    git_object_peel((git_object **)&tree, obj, GIT_OBJECT_TREE) < 0)
		goto fail;
	/* strict creation would look up every blob, which is not stored */
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 0);
	int rc = updated_tree(r2, tree, e, n, &oid);
	if (rc < 0) {
		git_error_clear();
		rc = index_tree(r2, tree, e, n, &oid);
	}
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 1);
	if (rc < 0)
		goto fail;
	git_oid_tostr(out, 41, &oid);
	ret = 0;
	goto out;
fail:
	eidf_set_error("cannot compute the tree of the working state: %s", git2_errmsg());
out:
	git_tree_free(tree);
	git_object_free(obj);
	git_odb_free(odb);
	git_repository_free(r2);
	return ret;
}

/* ---- .gitattributes conversions ------------------------------------------------ */

/* Would `git add` in the pod store something else than these bytes?  The
 * pod's git reads the same in-tree .gitattributes (the shipped ones too);
 * libgit2 also sees $GIT_DIR/info/attributes and core.attributesFile, which
 * only makes this more cautious.  NULL: no conversion, else the attribute. */
static char *conversion(git_repository *repo, const char *path, const struct strbuf *data)
{
	static const char *names[] = { "text", "eol", "crlf", "ident", "filter", "working-tree-encoding" };
	const char *v[EIDF_ARRAY_SIZE(names)];
	if (git_attr_get_many(v, repo, GIT_ATTR_CHECK_FILE_THEN_INDEX | GIT_ATTR_CHECK_NO_SYSTEM, path,
			      EIDF_ARRAY_SIZE(names), names) < 0) {
		git_error_clear();
		return NULL;
	}
	int has_cr = data->len && memchr(data->buf, '\r', data->len) != NULL;
	if (GIT_ATTR_HAS_VALUE(v[5]))
		return xasprintf("working-tree-encoding=%s", v[5]);
	if (GIT_ATTR_HAS_VALUE(v[4]))
		return xasprintf("filter=%s", v[4]);
	if (GIT_ATTR_IS_TRUE(v[3]) && data->len && memmem(data->buf, data->len, "$Id", 3))
		return xstrdup("ident");
	if (!has_cr || GIT_ATTR_IS_FALSE(v[0]))
		return NULL;
	if (GIT_ATTR_HAS_VALUE(v[1]))
		return xasprintf("eol=%s", v[1]);
	if (GIT_ATTR_IS_TRUE(v[0]))
		return xstrdup("text");
	if (GIT_ATTR_HAS_VALUE(v[0]))
		return xasprintf("text=%s", v[0]);
	if (GIT_ATTR_IS_TRUE(v[2]) || GIT_ATTR_HAS_VALUE(v[2]))
		return xstrdup("crlf");
	return NULL;
}

static int is_attributes_file(const char *path)
{
	return !strcmp(path, ".gitattributes") || ends_with(path, "/.gitattributes");
}

/* The pod only has the repository's own .gitattributes (tracked or shipped);
 * without any, nothing converts and the per-file lookups (each costs libgit2
 * a realpath and a few stats) are skipped. */
static int has_intree_attributes(git_repository *repo, const struct changes *c)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->files[i].status != 'D' && is_attributes_file(c->files[i].path))
			return 1;
	git_index *idx = NULL;
	if (git_repository_index(&idx, repo) < 0) {
		git_error_clear();
		return 1; /* cannot tell: look */
	}
	int found = 0;
	size_t n = git_index_entrycount(idx);
	for (size_t i = 0; i < n && !found; i++) {
		const git_index_entry *e = git_index_get_byindex(idx, i);
		found = e && is_attributes_file(e->path);
	}
	git_index_free(idx);
	return found;
}

/* ---- sizes ------------------------------------------------------------------ */

static size_t b64len(size_t n)
{
	return 4 * ((n + 2) / 3);
}

static int cmp_size_desc(const void *a, const void *b)
{
	const struct change_file *x = *(const struct change_file *const *)a;
	const struct change_file *y = *(const struct change_file *const *)b;
	if (x->size != y->size)
		return x->size < y->size ? 1 : -1;
	return strcmp(x->path, y->path);
}

void changes_largest(const struct changes *c, size_t k, struct strbuf *out)
{
	const struct change_file **v = xcalloc(c->n ? c->n : 1, sizeof(*v));
	size_t m = 0;
	for (size_t i = 0; i < c->n; i++)
		if (c->files[i].status != 'D')
			v[m++] = &c->files[i];
	qsort(v, m, sizeof(*v), cmp_size_desc);
	for (size_t i = 0; i < m && i < k; i++) {
		char *h = human_bytes(v[i]->size);
		strbuf_addf(out, "  %9s  ", h);
		strbuf_add_quoted_path(out, v[i]->path);
		strbuf_addch(out, '\n');
		free(h);
	}
	free(v);
}

char *changes_summary(const struct changes *c, int exec)
{
	char *packed = human_bytes(exec ? c->tar_gz.len : c->encoded_size);
	char *raw = human_bytes(c->raw_bytes);
	char *subs = c->n_gitlinks ? xasprintf(", %zu submodule commit%s changed", c->n_gitlinks,
					       c->n_gitlinks == 1 ? "" : "s") : xstrdup("");
	char *s = xasprintf("%zu file%s changed, %zu deleted%s (%s, %s %s)",
			    c->n_written, c->n_written == 1 ? "" : "s", c->n_deleted, subs, raw, packed,
			    exec ? "gzip, sent with kubectl exec" : "encoded");
	free(subs);
	free(packed);
	free(raw);
	return s;
}

int changes_dirty(const struct changes *c)
{
	return c->n > 0 || c->n_gitlinks > 0;
}

/* The repository a file belongs to, and its path there. */
static git_repository *file_repo(git_repository *super, const struct changes_opts *o,
				 const struct change_file *f, const char **path)
{
	*path = f->path;
	if (!f->repo)
		return super;
	const struct submodule *m = &o->subs->v[f->repo - 1];
	*path = f->path + strlen(m->path) + 1;
	return m->repo;
}

/* Expected trees: the superproject's (its files, and the submodules'
 * commits as gitlinks) and each checked-out submodule's (its files). */
static int compute_trees(git_repository *repo, const struct changes_opts *o, struct changes *c,
			 const struct strbuf *contents, const int *unverifiable)
{
	struct tree_edit *e = xcalloc(c->n + c->n_subs + 1, sizeof(*e));
	int ret = 0;
	for (size_t r = 0; r <= c->n_subs && !ret; r++) {
		git_repository *rr = r ? o->subs->v[r - 1].repo : repo;
		if (!rr || unverifiable[r])
			continue;
		size_t n = 0, k = 0;
		for (size_t i = 0; i < c->n; i++) {
			const struct change_file *f = &c->files[i];
			const struct strbuf *data = f->status == 'D' ? NULL : &contents[k++];
			if (f->repo != r)
				continue;
			file_repo(repo, o, f, &e[n].path);
			e[n].remove = f->status == 'D';
			e[n].mode = f->mode;
			if (data && git_oid_fromstr(&e[n].id, f->oid) < 0) {
				eidf_set_error("cannot hash %s: %s", f->path, git2_errmsg());
				ret = -1;
				break;
			}
			n++;
		}
		for (size_t i = 0; r == 0 && i < c->n_subs; i++) {
			const struct submodule *m = &o->subs->v[i];
			if (!strcmp(m->commit, m->recorded))
				continue;
			e[n].path = m->path;
			e[n].remove = 0;
			e[n].mode = GIT_FILEMODE_COMMIT;
			git_oid_fromstr(&e[n].id, m->commit);
			n++;
		}
		if (!ret)
			ret = expected_tree(rr, r ? o->subs->v[r - 1].commit : o->base_sha, e, n,
					    r ? c->subs[r - 1].tree : c->tree);
	}
	free(e);
	return ret;
}

int changes_collect(git_repository *repo, const char *root, const struct changes_opts *o,
		    struct changes *c)
{
	size_t max = o->max_encoded ? o->max_encoded : CHANGES_MAX_ENCODED_DEFAULT;
	if (collect(repo, root, o, c, 0, "") < 0)
		return -1;
	c->n_subs = o->subs ? o->subs->n : 0;
	c->subs = xcalloc(c->n_subs ? c->n_subs : 1, sizeof(*c->subs));
	/* the superproject's .eidfignore covers the files of its submodules too */
	struct ignore_rules top = IGNORE_RULES_INIT;
	if (c->n_subs)
		top = load_extra_ignore(root, o->extra_ignore ? o->extra_ignore : ".eidfignore");
	for (size_t i = 0; i < c->n_subs; i++) {
		const struct submodule *m = &o->subs->v[i];
		if (strcmp(m->commit, m->recorded))
			c->n_gitlinks++;
		if (!m->repo)
			continue;
		char *sroot = join_root(root, m->path);
		char *prefix = xasprintf("%s/", m->path);
		struct changes_opts so = *o;
		so.base_sha = m->commit;
		so.extra_ignore = NULL;
		size_t first = c->n;
		int rc = collect(m->repo, sroot, &so, c, i + 1, prefix);
		free(sroot);
		free(prefix);
		if (rc < 0) {
			ignore_rules_release(&top);
			return -1;
		}
		size_t kept = first;
		for (size_t j = first; j < c->n; j++) {
			if (ignore_rules_match(&top, c->files[j].path, 0))
				free(c->files[j].path);
			else
				c->files[kept++] = c->files[j];
		}
		c->n = kept;
	}
	ignore_rules_release(&top);
	if (c->n)
		qsort(c->files, c->n, sizeof(*c->files), cmp_path);
	/* A type change lists the path twice: deletion first. */
	for (size_t i = 0; i + 1 < c->n; i++)
		if (!strcmp(c->files[i].path, c->files[i + 1].path) && c->files[i].status != 'D' &&
		    c->files[i + 1].status == 'D') {
			struct change_file t = c->files[i];
			c->files[i] = c->files[i + 1];
			c->files[i + 1] = t;
		}

	/* Sizes first, so a huge file is refused without reading it. */
	for (size_t i = 0; i < c->n; i++) {
		struct change_file *f = &c->files[i];
		if (f->status == 'D') {
			const char *rel;
			file_repo(repo, o, f, &rel);
			c->n_deleted++;
			struct strbuf *dl = f->repo ? &c->subs[f->repo - 1].deleted : &c->deleted;
			strbuf_add(dl, rel, strlen(rel) + 1);
			continue;
		}
		c->n_written++;
		char *full = join_root(root, f->path);
		struct stat st;
		if (lstat(full, &st) < 0) {
			eidf_set_error("%s: %s", full, strerror(errno));
			free(full);
			return -1;
		}
		free(full);
		f->size = (uint64_t)st.st_size;
		f->mtime = (int64_t)st.st_mtime;
		c->raw_bytes += f->size;
	}
	int budget = max != SIZE_MAX;
	if (budget && !o->allow_over_budget && c->raw_bytes > CHANGES_MAX_RAW) {
		char *h = human_bytes(c->raw_bytes);
		char *m = human_bytes(max);
		eidf_set_error("local changes are too large to ship in a Secret: %s of changed files (limit "
			       "about %s packed); use --changes-transport exec (or auto), exclude files with "
			       ".eidfignore, commit and push them, or use --no-local-changes", h, m);
		free(h);
		free(m);
		c->encoded_size = b64len(c->raw_bytes);
		return -2;
	}

	struct strbuf *contents = xcalloc(c->n_written ? c->n_written : 1, sizeof(*contents));
	int *unverifiable = xcalloc(c->n_subs + 1, sizeof(*unverifiable));
	int ret = -1;
	size_t k = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct change_file *f = &c->files[i];
		if (f->status == 'D')
			continue;
		struct strbuf *sb = &contents[k++];
		if (read_worktree(root, f, sb) < 0)
			goto out;
		git_oid id;
		if (git_odb_hash(&id, sb->buf ? sb->buf : "", sb->len, GIT_OBJECT_BLOB) < 0) {
			eidf_set_error("cannot hash %s: %s", f->path, git2_errmsg());
			goto out;
		}
		git_oid_tostr(f->oid, sizeof(f->oid), &id);
		/* the file may have changed since stat */
		c->raw_bytes -= f->size;
		f->size = sb->len;
		c->raw_bytes += f->size;
	}
	/* Fast compression first (level 6 spends most of a large run in deflate
	 * for ~30% less); the best level only when that does not fit. */
	if (c->n_written && pack(c, contents, 1, o) < 0)
		goto out;
	c->encoded_size = b64len(c->tar_gz.len) + b64len(c->deleted.len);
	for (size_t i = 0; i < c->n_subs; i++)
		c->encoded_size += b64len(c->subs[i].deleted.len);
	/* With another way to ship (allow_over_budget), try the best level only
	 * when it could plausibly fit: it saves far less than half. */
	if (budget && c->encoded_size > max && c->n_written &&
	    (!o->allow_over_budget || c->encoded_size / 2 <= max)) {
		size_t fast = b64len(c->tar_gz.len);
		if (pack(c, contents, 9, o) < 0)
			goto out;
		c->encoded_size = c->encoded_size - fast + b64len(c->tar_gz.len);
	}
	if (budget && c->encoded_size > max) {
		if (o->allow_over_budget) {
			c->over_budget = 1;
		} else {
			char *h = human_bytes(c->encoded_size);
			char *m = human_bytes(max);
			eidf_set_error("local changes are too large to ship in a Secret: %s encoded, the limit "
				       "is %s (a Secret holds at most 1MiB); use --changes-transport exec (or "
				       "auto), exclude files with .eidfignore, commit and push them, or use "
				       "--no-local-changes", h, m);
			free(h);
			free(m);
			ret = -2;
			goto out;
		}
	}
	int *attrs = xcalloc(c->n_subs + 1, sizeof(*attrs)); /* 0 unknown, 1 none, 2 some */
	k = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct change_file *f = &c->files[i];
		if (f->status == 'D')
			continue;
		struct strbuf *data = &contents[k++];
		const char *rel;
		git_repository *rr = file_repo(repo, o, f, &rel);
		if (!attrs[f->repo])
			attrs[f->repo] = has_intree_attributes(rr, c) ? 2 : 1;
		char *why = attrs[f->repo] == 2 && f->mode != GIT_FILEMODE_LINK ? conversion(rr, rel, data) : NULL;
		if (why) {
			strvec_push_owned(&c->converted, xasprintf("%s (%s)", f->path, why));
			unverifiable[f->repo] = 1;
		}
		free(why);
	}
	free(attrs);
	if (compute_trees(repo, o, c, contents, unverifiable) < 0)
		goto out;
	ret = 0;
out:
	for (size_t i = 0; i < c->n_written; i++)
		strbuf_release(&contents[i]);
	free(contents);
	free(unverifiable);
	return ret;
}
