/* Reproducible build context archives; see context_tar.h.
 *
 * Pipeline: walk (directory or git tree) -> libarchive pax-restricted tar,
 * no filter -> our write callback, which hashes the tar bytes (the content
 * digest) and then either passes them on or deflates them with zlib.  zlib is
 * used directly instead of libarchive's gzip filter so that the gzip header
 * is pinned (no name, mtime 0, OS 3) whatever the libarchive version, and so
 * that the digest sees the tar bytes before compression. */
#include "context_tar.h"
#include "dockerignore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <git2.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "eidf/util.h"

#define BLOCK (64 * 1024)

/* ---- output: hash, then compress ------------------------------------------ */

struct sink {
	const struct bctx_opts *o;
	EVP_MD_CTX *md;
	z_stream z;
	int z_active;
	unsigned char *zbuf;
	uint64_t tar_bytes, out_bytes;
	int failed;               /* error already recorded */
	int discard;              /* after an error: swallow the trailer */
};

static int sink_emit(struct sink *s, const void *data, size_t len)
{
	if (!len)
		return 0;
	s->out_bytes += len;
	if (s->o->write && s->o->write(data, len, s->o->write_ud) < 0)
		return -1;
	return 0;
}

static int sink_deflate(struct sink *s, const void *data, size_t len, int flush)
{
	s->z.next_in = (Bytef *)(uintptr_t)data;
	s->z.avail_in = (uInt)len;
	do {
		s->z.next_out = s->zbuf;
		s->z.avail_out = BLOCK;
		int rc = deflate(&s->z, flush);
		if (rc == Z_STREAM_ERROR) {
			eidf_set_error("gzip compression failed");
			return -1;
		}
		if (sink_emit(s, s->zbuf, BLOCK - s->z.avail_out) < 0)
			return -1;
	} while (s->z.avail_out == 0 || (flush == Z_FINISH && s->z.avail_in));
	return 0;
}

static la_ssize_t sink_write_cb(struct archive *a, void *ud, const void *buf, size_t len)
{
	(void)a;
	struct sink *s = ud;
	if (s->discard)
		return (la_ssize_t)len;
	EVP_DigestUpdate(s->md, buf, len);
	s->tar_bytes += len;
	int rc = s->z_active ? sink_deflate(s, buf, len, Z_NO_FLUSH) : sink_emit(s, buf, len);
	if (rc < 0) {
		s->failed = 1;
		return -1;
	}
	return (la_ssize_t)len;
}

/* ---- sources: a directory, or a git tree ---------------------------------- */

struct child {
	char *name;
	int kind;                 /* 'f' file, 'd' dir, 'l' symlink, 's' special, 'm' submodule */
	unsigned mode;            /* normalised */
	uint64_t size;
	git_oid oid;              /* git */
	dev_t dev;
	ino_t ino;
	int special_type;         /* S_IFMT for the warning */
};

struct children {
	struct child *v;
	size_t n, alloc;
};

static void children_release(struct children *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].name);
	free(c->v);
	c->v = NULL;
	c->n = c->alloc = 0;
}

static struct child *children_add(struct children *c, const char *name)
{
	if (c->n == c->alloc) {
		c->alloc = c->alloc ? 2 * c->alloc : 16;
		c->v = xrealloc(c->v, c->alloc * sizeof(*c->v));
	}
	struct child *ch = &c->v[c->n++];
	memset(ch, 0, sizeof(*ch));
	ch->name = xstrdup(name);
	return ch;
}

static int child_cmp(const void *a, const void *b)
{
	return strcmp(((const struct child *)a)->name, ((const struct child *)b)->name);
}

struct walk {
	const struct bctx_opts *o;
	struct bctx_result *res;
	struct dockerignore *di;
	size_t npat;
	struct archive *a;
	struct sink *sink;
	int64_t mtime;
	/* directory source */
	char *root;               /* context dir, no trailing '/' */
	/* git source */
	git_repository *repo;
	/* directories entered but not yet archived (BuildKit archives an
	 * excluded directory when something inside it is re-included) */
	struct pending { char *path; int emitted; } *stack;
	size_t depth, stack_alloc;
	unsigned char *buf;       /* file copy buffer */
};

static char *join(const char *a, const char *b)
{
	if (!a || !*a)
		return xstrdup(b);
	return xasprintf("%s/%s", a, b);
}

static unsigned norm_file_mode(unsigned m)
{
	return (m & 0100) ? 0755 : 0644;
}

static int list_fs(struct walk *w, const char *rel, struct children *out, int *eacces)
{
	char *full = join(w->root, rel);
	DIR *d = opendir(full);
	if (!d) {
		*eacces = errno == EACCES || errno == EPERM;
		eidf_set_error("cannot read directory %s: %s", full, strerror(errno));
		free(full);
		return -1;
	}
	int dfd = dirfd(d);
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue; /* removed meanwhile */
			eidf_set_error("cannot stat %s/%s: %s", full, de->d_name, strerror(errno));
			closedir(d);
			free(full);
			return -1;
		}
		struct child *ch = children_add(out, de->d_name);
		ch->dev = st.st_dev;
		ch->ino = st.st_ino;
		if (S_ISREG(st.st_mode)) {
			ch->kind = 'f';
			ch->mode = norm_file_mode(st.st_mode);
			ch->size = (uint64_t)st.st_size;
		} else if (S_ISDIR(st.st_mode)) {
			ch->kind = 'd';
			ch->mode = 0755;
		} else if (S_ISLNK(st.st_mode)) {
			ch->kind = 'l';
			ch->mode = 0777;
		} else {
			ch->kind = 's';
			ch->special_type = (int)(st.st_mode & S_IFMT);
		}
		errno = 0;
	}
	int err = errno;
	closedir(d);
	if (err) {
		eidf_set_error("cannot read directory %s: %s", full, strerror(err));
		free(full);
		return -1;
	}
	free(full);
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), child_cmp);
	return 0;
}

static void set_git_error(const char *what)
{
	const git_error *e = git_error_last();
	eidf_set_error("%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

static int list_git(struct walk *w, const git_oid *tree_oid, struct children *out)
{
	git_tree *tree;
	if (git_tree_lookup(&tree, w->repo, tree_oid) < 0) {
		set_git_error("cannot read tree");
		return -1;
	}
	git_odb *odb = NULL;
	if (git_repository_odb(&odb, w->repo) < 0) {
		git_tree_free(tree);
		set_git_error("cannot open object database");
		return -1;
	}
	size_t n = git_tree_entrycount(tree);
	int ret = 0;
	for (size_t i = 0; i < n; i++) {
		const git_tree_entry *te = git_tree_entry_byindex(tree, i);
		struct child *ch = children_add(out, git_tree_entry_name(te));
		git_oid_cpy(&ch->oid, git_tree_entry_id(te));
		switch (git_tree_entry_filemode(te)) {
		case GIT_FILEMODE_TREE:
			ch->kind = 'd';
			ch->mode = 0755;
			break;
		case GIT_FILEMODE_COMMIT:
			ch->kind = 'm';  /* a submodule: an empty directory, as in a checkout */
			ch->mode = 0755;
			break;
		case GIT_FILEMODE_LINK:
			ch->kind = 'l';
			ch->mode = 0777;
			break;
		default: {
			size_t sz;
			git_object_t type;
			if (git_odb_read_header(&sz, &type, odb, &ch->oid) < 0) {
				set_git_error("cannot read blob header");
				ret = -1;
				goto out;
			}
			ch->kind = 'f';
			ch->size = sz;
			ch->mode = git_tree_entry_filemode(te) == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644;
			break;
		}
		}
	}
	/* git's order sorts trees as "name/"; re-sort bytewise by name */
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), child_cmp);
out:
	git_odb_free(odb);
	git_tree_free(tree);
	return ret;
}

/* ---- archive entries -------------------------------------------------------- */

static int archive_fail(struct walk *w, const char *path)
{
	if (!w->sink->failed)
		eidf_set_error("cannot write %s to the archive: %s", path, archive_error_string(w->a));
	return -1;
}

/* By name only: files people commonly keep next to code that hold keys,
 * tokens or passwords.  Examples and templates of them are not secrets. */
static int looks_like_secret(const char *path)
{
	static const char *const globs[] = {
		".env", ".env.*", "*.pem", "*.key", "*.p12", "*.pfx", "id_rsa", "id_dsa", "id_ecdsa",
		"id_ed25519", ".netrc", "_netrc", ".git-credentials", ".pypirc", ".npmrc", ".dockercfg",
		"credentials", "credentials.*", "credentials-*", "credentials_*", "*.kubeconfig",
		"service-account*.json", NULL,
	};
	static const char *const harmless[] = { "*.example", "*.sample", "*.template", "*.dist", NULL };
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (size_t i = 0; harmless[i]; i++)
		if (!fnmatch(harmless[i], base, 0))
			return 0;
	for (size_t i = 0; globs[i]; i++)
		if (!fnmatch(globs[i], base, 0))
			return 1;
	return 0;
}

static int write_header(struct walk *w, const char *path, enum bctx_type type,
			unsigned mode, uint64_t size, const char *target)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	switch (type) {
	case BCTX_DIR:
		archive_entry_set_filetype(e, AE_IFDIR);
		break;
	case BCTX_SYMLINK:
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_symlink(e, target);
		break;
	case BCTX_FILE:
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_size(e, (la_int64_t)size);
		break;
	}
	archive_entry_set_perm(e, mode);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_mtime(e, (time_t)w->mtime, 0);
	int rc = archive_write_header(w->a, e);
	archive_entry_free(e);
	/* ARCHIVE_WARN: a name that is not UTF-8, stored as raw bytes
	 * (hdrcharset=BINARY); the entry is complete */
	if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
		return archive_fail(w, path);
	if (w->o->entry) {
		struct bctx_entry be = { path, type, mode, type == BCTX_FILE ? size : 0, target };
		if (w->o->entry(&be, w->o->entry_ud))
			return -1;
	}
	switch (type) {
	case BCTX_DIR: w->res->dirs++; break;
	case BCTX_SYMLINK: w->res->symlinks++; break;
	case BCTX_FILE: w->res->files++; w->res->content_bytes += size; break;
	}
	if (type != BCTX_DIR && looks_like_secret(path))
		strvec_push(&w->res->secrets, path);
	return 0;
}

void bctx_warn_secrets(const struct bctx_result *res)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	if (!res->secrets.n)
		return;
	for (i = 0; i < res->secrets.n && i < 10; i++) {
		if (i)
			strbuf_addstr(&sb, ", ");
		strbuf_add_quoted_path(&sb, res->secrets.v[i]);
	}
	if (res->secrets.n > i)
		strbuf_addf(&sb, " and %zu more", res->secrets.n - i);
	eidf_warning("the context holds files that look like secrets: %s; every build uploads them "
		     "and COPY . puts them in the image: add them to %s", strbuf_str(&sb),
		     res->ignore_file ? res->ignore_file : ".dockerignore");
	strbuf_release(&sb);
}

/* Archive the directories on the stack that are not archived yet. */
static int emit_pending(struct walk *w)
{
	for (size_t i = 0; i < w->depth; i++) {
		if (w->stack[i].emitted)
			continue;
		if (write_header(w, w->stack[i].path, BCTX_DIR, 0755, 0, NULL) < 0)
			return -1;
		w->stack[i].emitted = 1;
	}
	return 0;
}

static int copy_fd(struct walk *w, int fd, const char *full, uint64_t size)
{
	uint64_t left = size;
	while (left) {
		size_t want = left < BLOCK ? (size_t)left : BLOCK;
		ssize_t n = read(fd, w->buf, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			eidf_set_error("cannot read %s: %s", full, strerror(errno));
			return -1;
		}
		if (n == 0) {
			eidf_set_error("%s shrank while it was being archived; retry when it is not being written", full);
			return -1;
		}
		if (archive_write_data(w->a, w->buf, (size_t)n) != n)
			return archive_fail(w, full);
		left -= (uint64_t)n;
	}
	ssize_t extra;
	while ((extra = read(fd, w->buf, 1)) < 0 && errno == EINTR)
		;
	if (extra > 0) {
		eidf_set_error("%s grew while it was being archived; retry when it is not being written", full);
		return -1;
	}
	return 0;
}

static int emit_fs_child(struct walk *w, const char *path, const struct child *ch)
{
	char *full = join(w->root, path);
	int ret = -1;
	if (ch->kind == 'l') {
		struct strbuf t = STRBUF_INIT;
		ssize_t n;
		for (size_t cap = 256;; cap *= 2) {
			strbuf_grow(&t, cap);
			n = readlink(full, t.buf, t.alloc - 1);
			if (n < 0 || (size_t)n < t.alloc - 1)
				break;
		}
		if (n < 0) {
			eidf_set_error("cannot read symlink %s: %s", full, strerror(errno));
		} else {
			t.buf[n] = '\0';
			t.len = (size_t)n;
			if (emit_pending(w) == 0)
				ret = write_header(w, path, BCTX_SYMLINK, 0777, 0, t.buf);
		}
		strbuf_release(&t);
		free(full);
		return ret;
	}
	/* a regular file: open before anything is written, so an unreadable
	 * file fails cleanly with its name */
	int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		eidf_set_error("cannot read %s: %s (exclude it in .dockerignore or fix its permissions)",
			       full, strerror(errno));
		free(full);
		return -1;
	}
	if (emit_pending(w) == 0 && write_header(w, path, BCTX_FILE, ch->mode, ch->size, NULL) == 0)
		ret = copy_fd(w, fd, full, ch->size);
	close(fd);
	free(full);
	return ret;
}

static int emit_git_child(struct walk *w, const char *path, const struct child *ch)
{
	git_blob *blob;
	if (git_blob_lookup(&blob, w->repo, &ch->oid) < 0) {
		set_git_error(path);
		return -1;
	}
	int ret = -1;
	const char *data = git_blob_rawcontent(blob);
	size_t len = (size_t)git_blob_rawsize(blob);
	if (emit_pending(w) < 0)
		goto out;
	if (ch->kind == 'l') {
		char *target = xstrndup(data, len);
		ret = write_header(w, path, BCTX_SYMLINK, 0777, 0, target);
		free(target);
		goto out;
	}
	if (write_header(w, path, BCTX_FILE, ch->mode, len, NULL) < 0)
		goto out;
	for (size_t off = 0; off < len; off += BLOCK) {
		size_t n = len - off < BLOCK ? len - off : BLOCK;
		if (archive_write_data(w->a, data + off, n) != (la_ssize_t)n) {
			archive_fail(w, path);
			goto out;
		}
	}
	ret = 0;
out:
	git_blob_free(blob);
	return ret;
}

static const char *special_name(int t)
{
	switch (t) {
	case S_IFIFO: return "named pipe";
	case S_IFSOCK: return "socket";
	case S_IFCHR: return "character device";
	case S_IFBLK: return "block device";
	default: return "special file";
	}
}

static void push_dir(struct walk *w, const char *path, int emitted)
{
	if (w->depth == w->stack_alloc) {
		w->stack_alloc = w->stack_alloc ? 2 * w->stack_alloc : 16;
		w->stack = xrealloc(w->stack, w->stack_alloc * sizeof(*w->stack));
	}
	w->stack[w->depth].path = xstrdup(path);
	w->stack[w->depth].emitted = emitted;
	w->depth++;
}

static void pop_dir(struct walk *w)
{
	free(w->stack[--w->depth].path);
}

static int walk_dir(struct walk *w, const char *rel, const git_oid *tree,
		    const unsigned char *parent_info, int dir_excluded)
{
	struct children kids = { NULL, 0, 0 };
	int eacces = 0;
	int rc = w->repo ? list_git(w, tree, &kids) : list_fs(w, rel, &kids, &eacces);
	if (rc < 0) {
		children_release(&kids);
		/* like fsutil: an unreadable directory that is excluded is fine */
		return dir_excluded && eacces ? 0 : -1;
	}
	unsigned char *info = w->npat ? xmalloc(w->npat) : NULL;
	int ret = 0;
	for (size_t i = 0; i < kids.n && !ret; i++) {
		const struct child *ch = &kids.v[i];
		char *path = join(rel, ch->name);
		int excluded = w->di ? dockerignore_matches_parent(w->di, path, parent_info, info) : 0;
		if (ch->kind == 'd' || ch->kind == 'm') {
			if (excluded && dockerignore_dir_skippable(w->di, path)) {
				free(path);
				continue;
			}
			push_dir(w, path, 0);
			if (!excluded)
				ret = emit_pending(w);
			if (!ret && ch->kind == 'd')
				ret = walk_dir(w, path, &ch->oid, info, excluded);
			pop_dir(w);
		} else if (!excluded) {
			if (w->o->skip_set && !w->repo && ch->dev == w->o->skip_dev && ch->ino == w->o->skip_ino) {
				/* the archive being written into the context */
			} else if (ch->kind == 's') {
				eidf_warning("skipping %s %s/%s: only files, directories and symlinks go into a build context",
					     special_name(ch->special_type), w->root, path);
				w->res->skipped++;
			} else {
				ret = w->repo ? emit_git_child(w, path, ch) : emit_fs_child(w, path, ch);
			}
		}
		free(path);
	}
	free(info);
	children_release(&kids);
	return ret;
}

/* ---- set-up ----------------------------------------------------------------- */

static int parse_epoch(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || errno || v < 0) {
		eidf_set_error("SOURCE_DATE_EPOCH=%s is not a number of seconds since 1970", s);
		return -1;
	}
	*out = v;
	return 0;
}

/* Path of `p` relative to directory `base` (both absolute, canonical);
 * NULL when p is outside base. */
static char *relative_to(const char *base, const char *p)
{
	size_t bl = strlen(base);
	if (!strcmp(base, "/"))
		bl = 0;
	if (strncmp(p, base, bl) || (p[bl] && p[bl] != '/'))
		return NULL;
	return xstrdup(p[bl] ? p + bl + 1 : "");
}

/* Resolve -f to a path inside the context.  The Dockerfile itself need not
 * exist on disk in --git mode, so only its directory is canonicalised. */
static char *dockerfile_rel(const char *ctx_abs, const char *dockerfile)
{
	if (!dockerfile)
		return xstrdup("Dockerfile");
	char *copy = xstrdup(dockerfile);
	char *slash = strrchr(copy, '/');
	const char *base = slash ? slash + 1 : copy;
	const char *dir = slash ? (slash == copy ? "/" : copy) : ".";
	if (slash)
		*slash = '\0';
	char *dabs = realpath(dir, NULL);
	char *ret = NULL;
	if (!dabs) {
		eidf_set_error("cannot find the Dockerfile directory %s: %s", dir, strerror(errno));
	} else {
		char *rel = relative_to(ctx_abs, dabs);
		if (!rel)
			eidf_set_error("the Dockerfile %s is outside the build context %s; move it into the context",
				       dockerfile, ctx_abs);
		else
			ret = join(rel, base);
		free(rel);
		free(dabs);
	}
	free(copy);
	return ret;
}

/* Read a small file of the context (Dockerfile, ignore file): 1 found,
 * 0 missing, -1 error. */
static int read_ctx_file(struct walk *w, const git_oid *tree, const char *rel, struct strbuf *out)
{
	if (w->repo) {
		git_tree *t;
		git_tree_entry *te;
		if (git_tree_lookup(&t, w->repo, tree) < 0) {
			set_git_error("cannot read tree");
			return -1;
		}
		int rc = git_tree_entry_bypath(&te, t, rel);
		git_tree_free(t);
		if (rc < 0)
			return 0;
		int ret = 0;
		if (git_tree_entry_type(te) == GIT_OBJECT_BLOB) {
			git_blob *b;
			if (git_blob_lookup(&b, w->repo, git_tree_entry_id(te)) == 0) {
				if (out)
					strbuf_add(out, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
				git_blob_free(b);
				ret = 1;
			} else {
				set_git_error(rel);
				ret = -1;
			}
		}
		git_tree_entry_free(te);
		return ret;
	}
	char *full = join(w->root, rel);
	struct stat st;
	int ret = 0;
	if (lstat(full, &st) == 0 && S_ISREG(st.st_mode)) {
		ret = 1;
		if (out && read_file(full, out) < 0)
			ret = -1;
	}
	free(full);
	return ret;
}

static int open_git(struct walk *w, const char *ctx_abs, git_oid *tree_out, int64_t *commit_time)
{
	git_libgit2_init();
	if (git_repository_open_ext(&w->repo, ctx_abs, 0, NULL) < 0) {
		set_git_error("--git needs a git repository");
		return -1;
	}
	const char *wd = git_repository_workdir(w->repo);
	char *sub = NULL;
	if (wd) {
		char *wabs = realpath(wd, NULL);
		if (wabs)
			sub = relative_to(wabs, ctx_abs);
		free(wabs);
	}
	if (!sub)
		sub = xstrdup("");
	git_object *obj = NULL, *commit = NULL;
	int ret = -1;
	if (git_revparse_single(&obj, w->repo, w->o->git_rev) < 0) {
		eidf_set_error("unknown revision %s: %s", w->o->git_rev,
			       git_error_last() ? git_error_last()->message : "not found");
		goto out;
	}
	if (git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) < 0) {
		eidf_set_error("%s is not a commit", w->o->git_rev);
		goto out;
	}
	*commit_time = (int64_t)git_commit_time((git_commit *)commit);
	git_oid_cpy(tree_out, git_commit_tree_id((git_commit *)commit));
	if (*sub) {
		git_tree *root;
		git_tree_entry *te;
		if (git_tree_lookup(&root, w->repo, tree_out) < 0) {
			set_git_error("cannot read tree");
			goto out;
		}
		int rc = git_tree_entry_bypath(&te, root, sub);
		git_tree_free(root);
		if (rc < 0 || git_tree_entry_type(te) != GIT_OBJECT_TREE) {
			if (rc == 0)
				git_tree_entry_free(te);
			eidf_set_error("%s is not a directory in commit %s", sub, w->o->git_rev);
			goto out;
		}
		git_oid_cpy(tree_out, git_tree_entry_id(te));
		git_tree_entry_free(te);
	}
	ret = 0;
out:
	git_object_free(commit);
	git_object_free(obj);
	free(sub);
	return ret;
}

int bctx_build(const struct bctx_opts *o, struct bctx_result *res)
{
	memset(res, 0, sizeof(*res));
	struct walk w;
	memset(&w, 0, sizeof(w));
	w.o = o;
	w.res = res;
	struct sink s;
	memset(&s, 0, sizeof(s));
	s.o = o;
	w.sink = &s;
	struct strvec pats = STRVEC_INIT;
	struct strbuf ign = STRBUF_INIT;
	git_oid tree;
	memset(&tree, 0, sizeof(tree));
	int ret = -1, git_inited = 0;
	locale_t utf8 = (locale_t)0, old_locale = (locale_t)0;
	int64_t commit_time = 0;

	w.root = realpath(o->dir, NULL);
	if (!w.root) {
		eidf_set_error("cannot use %s as the build context: %s", o->dir, strerror(errno));
		goto out;
	}
	struct stat st;
	if (stat(w.root, &st) < 0 || !S_ISDIR(st.st_mode)) {
		eidf_set_error("the build context %s is not a directory", o->dir);
		goto out;
	}
	if (o->git_rev) {
		git_inited = 1;
		if (open_git(&w, w.root, &tree, &commit_time) < 0)
			goto out;
	}
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	if (o->mtime_set)
		w.mtime = o->mtime;
	else if (sde && *sde) {
		if (parse_epoch(sde, &w.mtime) < 0)
			goto out;
	} else
		w.mtime = o->git_rev ? commit_time : 0;
	res->mtime = w.mtime;

	res->dockerfile = dockerfile_rel(w.root, o->dockerfile);
	if (!res->dockerfile)
		goto out;
	int found = read_ctx_file(&w, &tree, res->dockerfile, NULL);
	if (found < 0)
		goto out;
	res->dockerfile_found = found;

	if (o->use_ignore) {
		/* BuildKit: <Dockerfile>.dockerignore next to the Dockerfile wins */
		char *specific = xasprintf("%s.dockerignore", res->dockerfile);
		int rc = read_ctx_file(&w, &tree, specific, &ign);
		if (rc > 0) {
			res->ignore_file = specific;
			specific = NULL;
		} else if (rc == 0) {
			rc = read_ctx_file(&w, &tree, ".dockerignore", &ign);
			if (rc > 0)
				res->ignore_file = xstrdup(".dockerignore");
		}
		free(specific);
		if (rc < 0)
			goto out;
		if (res->ignore_file) {
			if (dockerignore_read(ign.buf ? ign.buf : "", ign.len, &pats) < 0) {
				eidf_set_error("%s: %s", res->ignore_file, eidf_last_error());
				goto out;
			}
			/* the builder needs these two whatever the patterns say */
			dockerignore_keep(&pats, ".dockerignore");
			dockerignore_keep(&pats, res->dockerfile);
			if (strcmp(res->ignore_file, ".dockerignore"))
				dockerignore_keep(&pats, res->ignore_file);
			w.di = dockerignore_new((const char *const *)pats.v, pats.n);
			if (!w.di) {
				eidf_set_error("%s: %s", res->ignore_file, eidf_last_error());
				goto out;
			}
			w.npat = dockerignore_count(w.di);
			res->patterns = w.npat;
		}
	}

	s.md = EVP_MD_CTX_new();
	if (!s.md || EVP_DigestInit_ex(s.md, EVP_sha256(), NULL) != 1) {
		eidf_set_error("sha256 is not available from libcrypto");
		goto out;
	}
	/* nothing to write (--list, digest only): compressing would be wasted
	 * work, and the digest is taken before compression anyway */
	if (o->compression == BCTX_GZIP && o->write) {
		int level = o->level ? o->level : 6;
		if (deflateInit2(&s.z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
			eidf_set_error("cannot initialise gzip (level %d)", level);
			goto out;
		}
		s.z_active = 1;
		gz_header h;
		memset(&h, 0, sizeof(h));
		h.os = 3; /* Unix, on every platform: same bytes everywhere */
		deflateSetHeader(&s.z, &h);
		s.zbuf = xmalloc(BLOCK);
	}
	w.buf = xmalloc(BLOCK);
	/* libarchive converts names through the locale: pin it to UTF-8 so
	 * the headers do not depend on the user's LANG */
	utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (utf8)
		old_locale = uselocale(utf8);
	w.a = archive_write_new();
	archive_write_set_format_pax_restricted(w.a);
	archive_write_add_filter_none(w.a);
	archive_write_set_bytes_per_block(w.a, 10240);
	archive_write_set_bytes_in_last_block(w.a, 10240);
	if (archive_write_open(w.a, &s, NULL, sink_write_cb, NULL) != ARCHIVE_OK) {
		archive_fail(&w, "the archive");
		goto out;
	}
	if (walk_dir(&w, "", &tree, NULL, 0) < 0)
		goto out;
	if (archive_write_close(w.a) != ARCHIVE_OK) {
		archive_fail(&w, "the end of archive");
		goto out;
	}
	if (s.z_active && sink_deflate(&s, NULL, 0, Z_FINISH) < 0)
		goto out;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_DigestFinal_ex(s.md, md, &mdlen);
	for (unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(res->digest + 2 * i, 3, "%02x", md[i]);
	res->tar_bytes = s.tar_bytes;
	res->out_bytes = s.out_bytes;
	ret = 0;
out:
	if (w.a) {
		s.discard = ret < 0; /* no end-of-archive after an error */
		archive_write_free(w.a);
	}
	if (old_locale)
		uselocale(old_locale);
	if (utf8)
		freelocale(utf8);
	if (s.z_active)
		deflateEnd(&s.z);
	free(s.zbuf);
	EVP_MD_CTX_free(s.md);
	while (w.depth)
		pop_dir(&w);
	free(w.stack);
	free(w.buf);
	dockerignore_free(w.di);
	strvec_clear(&pats);
	strbuf_release(&ign);
	if (w.repo)
		git_repository_free(w.repo);
	if (git_inited)
		git_libgit2_shutdown();
	free(w.root);
	if (ret < 0)
		bctx_result_release(res);
	return ret;
}

void bctx_result_release(struct bctx_result *res)
{
	free(res->dockerfile);
	free(res->ignore_file);
	res->dockerfile = res->ignore_file = NULL;
	strvec_clear(&res->secrets);
}
