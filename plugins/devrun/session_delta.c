#include "session_delta.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <git2.h>

#include "changes.h"
#include "eidf/manifest.h"
#include "repo_state.h"

void session_state_release(struct session_state *st)
{
	for (size_t i = 0; i < st->n; i++)
		free(st->e[i].path);
	free(st->e);
	free(st->pod_uid);
	free(st->commit);
	free(st->tree);
	cJSON_Delete(st->pod);
	memset(st, 0, sizeof(*st));
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct session_entry *)a)->path, ((const struct session_entry *)b)->path);
}

static const struct session_entry *find_entry(const struct session_state *st, const char *path)
{
	if (!st || !st->n)
		return NULL;
	struct session_entry key = { .path = (char *)path };
	return bsearch(&key, st->e, st->n, sizeof(*st->e), cmp_entry);
}

int session_state_load(const char *file, struct session_state *st)
{
	memset(st, 0, sizeof(*st));
	struct strbuf sb = STRBUF_INIT;
	if (read_file(file, &sb) < 0) {
		strbuf_release(&sb);
		return 0;
	}
	cJSON *j = cJSON_Parse(strbuf_str(&sb));
	strbuf_release(&sb);
	const char *uid = json_str(j, "pod"), *commit = json_str(j, "commit"), *tree = json_str(j, "tree");
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(j, "files"), *f;
	if (!uid || !commit || !tree || !cJSON_IsArray(files)) {
		cJSON_Delete(j);
		return 0; /* not ours, or damaged: ship everything */
	}
	st->pod_uid = xstrdup(uid);
	st->commit = xstrdup(commit);
	st->tree = xstrdup(tree);
	const cJSON *pod = cJSON_GetObjectItemCaseSensitive(j, "podObject");
	if (cJSON_IsObject(pod) && json_str(pod, "metadata.name") && json_str(pod, "metadata.uid") &&
	    !strcmp(json_str(pod, "metadata.uid"), uid))
		st->pod = cJSON_Duplicate(pod, 1);
	st->e = xcalloc((size_t)cJSON_GetArraySize(files) + 1, sizeof(*st->e));
	cJSON_ArrayForEach(f, files) {
		const char *p = json_str(f, "path"), *oid = json_str(f, "oid");
		long mode = json_long(f, "mode", 0);
		if (!p || (oid && strlen(oid) >= sizeof(st->e[0].oid)))
			continue;
		struct session_entry *e = &st->e[st->n++];
		e->path = xstrdup(p);
		snprintf(e->oid, sizeof(e->oid), "%s", oid ? oid : "");
		e->mode = (unsigned)mode;
	}
	qsort(st->e, st->n, sizeof(*st->e), cmp_entry);
	cJSON_Delete(j);
	return 0;
}

/* The state a path has after the changes: its written entry, else its
 * deletion (a type change lists both; the written one wins). */
static const struct change_file *final_entry(const struct changes *c, size_t i)
{
	const struct change_file *f = &c->files[i];
	if (f->status == 'D' && i + 1 < c->n && !strcmp(c->files[i + 1].path, f->path))
		return NULL; /* the next entry replaces it */
	return f;
}

int session_state_save(const char *file, const cJSON *pod, const char *commit, const char *tree,
		       const struct changes *c)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "pod", json_str(pod, "metadata.uid") ? json_str(pod, "metadata.uid") : "");
	/* the pod's metadata, for the next run to go straight to it */
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
	if (cJSON_IsObject(md)) {
		cJSON *m = cJSON_CreateObject();
		static const char *const keep[] = { "name", "namespace", "uid", "resourceVersion", "labels",
						    "annotations" };
		for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(md, keep[i]);
			if (v)
				cJSON_AddItemToObject(m, keep[i], cJSON_Duplicate(v, 1));
		}
		cJSON_AddItemToObject(cJSON_AddObjectToObject(j, "podObject"), "metadata", m);
	}
	cJSON_AddStringToObject(j, "commit", commit);
	cJSON_AddStringToObject(j, "tree", tree);
	cJSON *files = cJSON_AddArrayToObject(j, "files");
	for (size_t i = 0; i < c->n; i++) {
		const struct change_file *f = final_entry(c, i);
		if (!f || f->repo)
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "path", f->path);
		if (f->status != 'D') {
			cJSON_AddStringToObject(o, "oid", f->oid);
			cJSON_AddNumberToObject(o, "mode", f->mode);
		}
		cJSON_AddItemToArray(files, o);
	}
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	/* the directory may not exist yet */
	char *dir = xstrdup(file);
	for (char *p = dir + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
				eidf_set_error("cannot create %s: %s", dir, strerror(errno));
				free(dir);
				cJSON_free(s);
				return -1;
			}
			*p = '/';
		}
	free(dir);
	int rc = write_file_atomic(file, s, strlen(s), 0600);
	cJSON_free(s);
	return rc;
}

char *session_state_path(struct git_repository *repo, const char *ns, const char *name)
{
	const char *gd = git_repository_path(repo); /* ends with '/' */
	return xasprintf("%seidf/sessions/%s/%s.json", gd, ns, name);
}

int session_pack_filter(const struct change_file *f, void *ud)
{
	const struct session_state *prev = ud;
	if (f->repo)
		return 1;
	const struct session_entry *e = find_entry(prev, f->path);
	return !e || !e->oid[0] || strcmp(e->oid, f->oid) || e->mode != f->mode;
}

static la_ssize_t stream_write(struct archive *a, void *ud, const void *buf, size_t len)
{
	(void)a;
	strbuf_add(ud, buf, len);
	return (la_ssize_t)len;
}

static int add_member(struct archive *a, const char *name, const void *data, size_t len)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_copy_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	int ok = archive_write_header(a, e) == ARCHIVE_OK &&
		 (!len || archive_write_data(a, data, len) == (la_ssize_t)len);
	archive_entry_free(e);
	if (!ok)
		eidf_set_error("cannot pack the local changes for the session: %s", archive_error_string(a));
	return ok ? 0 : -1;
}

static int build_payload(const struct changes *c, const char *subs, struct session_delta *d)
{
	strbuf_reset(&d->payload);
	d->payload_tgz = 0;
	if (!d->n_files && !d->deleted.len && !d->restore.len && !(subs && *subs))
		return 0;
	int sub_deletions = 0;
	for (size_t i = 0; i < c->n_subs; i++)
		sub_deletions |= c->subs[i].deleted.len > 0;
	if (!d->deleted.len && !d->restore.len && !(subs && *subs) && !sub_deletions) {
		/* files only (the usual edit): the pod extracts them in one step */
		strbuf_add(&d->payload, c->tar_gz.buf, c->tar_gz.len);
		d->payload_tgz = 1;
		return 0;
	}
	struct archive *a = archive_write_new();
	int ret = -1;
	archive_write_set_format_ustar(a);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open2(a, &d->payload, NULL, stream_write, NULL, NULL) != ARCHIVE_OK) {
		eidf_set_error("cannot pack the local changes for the session: %s", archive_error_string(a));
		goto out;
	}
	if ((d->n_files && add_member(a, "files.tar.gz", c->tar_gz.buf, c->tar_gz.len) < 0) ||
	    (d->deleted.len && add_member(a, "deleted", d->deleted.buf, d->deleted.len) < 0) ||
	    (d->restore.len && add_member(a, "restore", d->restore.buf, d->restore.len) < 0) ||
	    (subs && *subs && add_member(a, "submodules", subs, strlen(subs)) < 0))
		goto out;
	/* each submodule is put back to its commit by every run: all its deletions go */
	for (size_t i = 0; i < c->n_subs; i++) {
		if (!c->subs[i].deleted.len)
			continue;
		char name[32];
		snprintf(name, sizeof(name), CHANGES_DELETED_KEY ".%zu", i + 1);
		if (add_member(a, name, c->subs[i].deleted.buf, c->subs[i].deleted.len) < 0)
			goto out;
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		eidf_set_error("cannot pack the local changes for the session: %s", archive_error_string(a));
		goto out;
	}
	ret = 0;
out:
	archive_write_free(a);
	return ret;
}

static void add_path(struct strbuf *sb, size_t *n, const char *path)
{
	strbuf_add(sb, path, strlen(path) + 1);
	(*n)++;
}

int session_delta_compute(struct git_repository *repo, const char *commit, const struct changes *c,
			  const struct session_state *prev, const char *subs, struct session_delta *d)
{
	memset(d, 0, sizeof(*d));
	d->full = !prev;
	d->n_files = c->n_packed;
	/* deletions the pod has not done yet */
	for (size_t i = 0; i < c->n; i++) {
		const struct change_file *f = final_entry(c, i);
		if (!f || f->repo)
			continue;
		const struct session_entry *e = find_entry(prev, f->path);
		if (f->status == 'D' && (!e || e->oid[0]))
			add_path(&d->deleted, &d->n_deleted, f->path);
		else if (f->status != 'D' && i > 0 && c->files[i - 1].status == 'D' &&
			 !strcmp(c->files[i - 1].path, f->path) && session_pack_filter(f, (void *)prev))
			/* a type change: the old file (or link) goes before the new one lands */
			add_path(&d->deleted, &d->n_deleted, f->path);
	}
	if (!prev)
		return build_payload(c, subs, d);
	/* paths that differed before and are now as in the commit */
	git_object *obj = NULL;
	git_tree *tree = NULL;
	if (git_revparse_single(&obj, repo, commit) < 0 ||
	    git_object_peel((git_object **)&tree, obj, GIT_OBJECT_TREE) < 0) {
		eidf_set_error("cannot read commit %s: %s", commit, git2_errmsg());
		git_object_free(obj);
		return -1;
	}
	size_t j = 0;
	for (size_t i = 0; i < prev->n; i++) {
		const char *p = prev->e[i].path;
		/* c->files is sorted by path too: walk both */
		while (j < c->n && strcmp(c->files[j].path, p) < 0)
			j++;
		if (j < c->n && !strcmp(c->files[j].path, p))
			continue; /* still changed: handled above */
		git_tree_entry *te = NULL;
		if (git_tree_entry_bypath(&te, tree, p) == 0 && git_tree_entry_type(te) == GIT_OBJECT_BLOB) {
			add_path(&d->restore, &d->n_restored, p);
		} else if (prev->e[i].oid[0]) {
			add_path(&d->deleted, &d->n_deleted, p); /* added before, gone now */
		}
		git_error_clear();
		git_tree_entry_free(te);
	}
	git_tree_free(tree);
	git_object_free(obj);
	return build_payload(c, subs, d);
}

void session_delta_release(struct session_delta *d)
{
	strbuf_release(&d->deleted);
	strbuf_release(&d->restore);
	strbuf_release(&d->payload);
	memset(d, 0, sizeof(*d));
}
