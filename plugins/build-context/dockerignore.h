/* .dockerignore with Docker's exact semantics: BuildKit's dockerignore.ReadAll
 * for the file, moby/patternmatcher for the patterns (the Go regexp each
 * pattern is turned into is rebuilt byte for byte and run by a small RE2-like
 * matcher), and tonistiigi/fsutil's walk rules for directories (see
 * context_tar.c).  docs/build-context.md lists the few divergences. */
#ifndef EIDF_BC_DOCKERIGNORE_H
#define EIDF_BC_DOCKERIGNORE_H

#include <stddef.h>
#include "eidf/util.h"

/* dockerignore.ReadAll: BOM stripped, lines starting with '#' skipped,
 * whitespace trimmed, filepath.Clean, leading '/' removed, '!' kept.
 * Patterns are appended to out.  -1 (with error) on an over-long line. */
int dockerignore_read(const char *data, size_t len, struct strvec *out);

/* Go's path/filepath.Clean for '/' paths (caller frees). */
char *dockerignore_clean(const char *path);

struct dockerignore;

/* patternmatcher.New: NULL + eidf_set_error() naming the pattern when one is
 * malformed ("[" unterminated, trailing '\', a lone "!", or a pattern whose
 * Go regexp would not compile). */
struct dockerignore *dockerignore_new(const char *const *patterns, size_t n);
void dockerignore_free(struct dockerignore *di);

/* Number of patterns (size of a match-info vector). */
size_t dockerignore_count(const struct dockerignore *di);
/* Some pattern is an exception ("!..."). */
int dockerignore_has_exclusions(const struct dockerignore *di);

/* MatchesOrParentMatches: 1 if `path` (slash-separated, relative, clean) or
 * one of its parent directories is excluded, 0 if not. */
int dockerignore_matches(const struct dockerignore *di, const char *path);

/* MatchesUsingParentResults: like dockerignore_matches, but reusing the
 * per-pattern results of the parent directory (`parent` NULL for a path at
 * the top of the context).  `info` (dockerignore_count() bytes) receives the
 * per-pattern results for this path, to pass to its children. */
int dockerignore_matches_parent(const struct dockerignore *di, const char *path,
				const unsigned char *parent, unsigned char *info);

/* fsutil's shortcut for an excluded directory: 1 if nothing inside `dir`
 * can be re-included by an exception, so the walk may skip it. */
int dockerignore_dir_skippable(const struct dockerignore *di, const char *dir);

/* docker CLI's TrimBuildFilesFromExcludes: append "!<path>" when the
 * deprecated Matches() says `path` is excluded, so the Dockerfile and the
 * ignore file always reach the builder. */
void dockerignore_keep(struct strvec *patterns, const char *path);

#endif
