/* gitignore-syntax rule sets (for .eidfignore): comments, blank lines,
 * "!" negation, trailing "/" for directories, anchoring by a leading or
 * inner "/", "*", "?", "[...]" and "**".  An excluded directory excludes
 * everything below it (a negation cannot re-include a file in it), as in git. */
#ifndef EIDF_DEVRUN_IGNORE_H
#define EIDF_DEVRUN_IGNORE_H

#include <stddef.h>

struct ignore_rule {
	char *pattern;
	int negate;
	int dir_only;
	int anchored;   /* matched against the whole path, else against each name */
};

struct ignore_rules {
	struct ignore_rule *v;
	size_t n, alloc;
};
#define IGNORE_RULES_INIT { NULL, 0, 0 }

/* Add the rules of a gitignore-syntax text. */
void ignore_rules_parse(struct ignore_rules *r, const char *text, size_t len);
/* Is the repo-relative path excluded?  is_dir: the path itself is a directory. */
int ignore_rules_match(const struct ignore_rules *r, const char *path, int is_dir);
void ignore_rules_release(struct ignore_rules *r);

/* Glob match with gitignore's wildmatch semantics ('*' and '?' do not match
 * '/', "**" matches across directories).  Exposed for the unit tests. */
int ignore_wildmatch(const char *pat, const char *text);

#endif
