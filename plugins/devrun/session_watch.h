/* `devrun --session NAME --watch`: the work tree watched with Linux inotify
 * (every directory that is not ignored, new ones as they appear), so that a
 * save starts the next run.  Changes to files git ignores (unless tracked),
 * to files .eidfignore excludes and inside .git do not count. */
#ifndef EIDF_DEVRUN_SESSION_WATCH_H
#define EIDF_DEVRUN_SESSION_WATCH_H

struct git_repository;
struct tree_watch;
struct run_ctx;

/* NULL with eidf_last_error() when inotify is not available. */
struct tree_watch *tree_watch_new(struct git_repository *repo, const char *root);
int tree_watch_fd(const struct tree_watch *w);
/* Consume the pending events: 1 when a file that counts changed, else 0. */
int tree_watch_read(struct tree_watch *w);
/* The path of the last change that counted (for the status line). */
const char *tree_watch_last(const struct tree_watch *w);
void tree_watch_free(struct tree_watch *w);

/* The --watch loop of session_run (session_run.c). */
int session_watch(struct run_ctx *x);

#endif
