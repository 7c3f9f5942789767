#include "session_watch.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "eidf/util.h"
#include "ignore.h"

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_ATTRIB)

struct watched_dir {
	int wd;
	char *rel;              /* "" for the root, else "a/b" */
};

struct tree_watch {
	int fd;
	struct git_repository *repo;
	git_index *index;
	char *root;
	struct ignore_rules extra;
	struct watched_dir *dirs;
	size_t n, alloc;
	char *last;
};

static char *join(const char *a, const char *b)
{
	return *a ? xasprintf("%s/%s", a, b) : xstrdup(b);
}

/* Does a change at rel (a directory when is_dir) count? */
static int counts(struct tree_watch *w, const char *rel, int is_dir)
{
	if (!strcmp(rel, ".git") || starts_with(rel, ".git/"))
		return 0;
	if (ignore_rules_match(&w->extra, rel, is_dir))
		return 0;
	int ignored = 0;
	char *p = is_dir ? xasprintf("%s/", rel) : xstrdup(rel);
	if (git_ignore_path_is_ignored(&ignored, w->repo, p) < 0) {
		git_error_clear();
		ignored = 0;
	}
	free(p);
	if (ignored && !is_dir && w->index) {
		git_index_read(w->index, 0);
		ignored = git_index_get_bypath(w->index, rel, 0) == NULL; /* tracked files count */
	}
	return !ignored;
}

static void add_dir(struct tree_watch *w, const char *rel)
{
	char *full = *rel ? xasprintf("%s/%s", w->root, rel) : xstrdup(w->root);
	int wd = inotify_add_watch(w->fd, full, WATCH_MASK | IN_ONLYDIR);
	if (wd >= 0) {
		if (w->n == w->alloc) {
			w->alloc = w->alloc ? 2 * w->alloc : 32;
			w->dirs = xrealloc(w->dirs, w->alloc * sizeof(*w->dirs));
		}
		w->dirs[w->n].wd = wd;
		w->dirs[w->n++].rel = xstrdup(rel);
		DIR *d = opendir(full);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			char *child = join(rel, de->d_name);
			char *cfull = xasprintf("%s/%s", full, de->d_name);
			struct stat st;
			if (lstat(cfull, &st) == 0 && S_ISDIR(st.st_mode) && counts(w, child, 1))
				add_dir(w, child);
			free(cfull);
			free(child);
		}
		if (d)
			closedir(d);
	}
	free(full);
}

struct tree_watch *tree_watch_new(struct git_repository *repo, const char *root)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0) {
		eidf_set_error("--watch needs Linux inotify: %s", strerror(errno));
		return NULL;
	}
	struct tree_watch *w = xcalloc(1, sizeof(*w));
	w->fd = fd;
	w->repo = repo;
	w->root = xstrdup(root);
	if (git_repository_index(&w->index, repo) < 0) {
		git_error_clear();
		w->index = NULL;
	}
	char *p = xasprintf("%s/.eidfignore", root);
	struct strbuf sb = STRBUF_INIT;
	if (access(p, F_OK) == 0 && read_file(p, &sb) == 0)
		ignore_rules_parse(&w->extra, sb.buf, sb.len);
	strbuf_release(&sb);
	free(p);
	add_dir(w, "");
	return w;
}

int tree_watch_fd(const struct tree_watch *w)
{
	return w->fd;
}

const char *tree_watch_last(const struct tree_watch *w)
{
	return w->last ? w->last : "";
}

int tree_watch_read(struct tree_watch *w)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	int hit = 0;
	for (;;) {
		ssize_t n = read(w->fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			const char *dir = NULL;
			for (size_t i = 0; i < w->n; i++)
				if (w->dirs[i].wd == ev->wd)
					dir = w->dirs[i].rel;
			if (!dir || !ev->len)
				continue;
			char *rel = join(dir, ev->name);
			int is_dir = (ev->mask & IN_ISDIR) != 0;
			if (counts(w, rel, is_dir)) {
				if (is_dir && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
					add_dir(w, rel);
				/* a new empty directory changes no tree */
				if (!(is_dir && (ev->mask & IN_CREATE))) {
					hit = 1;
					free(w->last);
					w->last = rel;
					rel = NULL;
				}
			}
			free(rel);
		}
	}
	return hit;
}

void tree_watch_free(struct tree_watch *w)
{
	if (!w)
		return;
	close(w->fd);
	for (size_t i = 0; i < w->n; i++)
		free(w->dirs[i].rel);
	free(w->dirs);
	git_index_free(w->index);
	ignore_rules_release(&w->extra);
	free(w->root);
	free(w->last);
	free(w);
}
