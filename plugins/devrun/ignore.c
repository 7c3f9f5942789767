#include "ignore.h"

#include <stdlib.h>
#include <string.h>

#include "eidf/util.h"

/* [...] class at p (after '['); sets *end past ']'.  -1: malformed. */
static int match_class(const char *p, char c, const char **end)
{
	int negate = 0, matched = 0;
	if (*p == '!' || *p == '^') {
		negate = 1;
		p++;
	}
	const char *start = p;
	while (*p && (*p != ']' || p == start)) {
		char lo = *p;
		if (lo == '\\' && p[1])
			lo = *++p;
		char hi = lo;
		if (p[1] == '-' && p[2] && p[2] != ']') {
			hi = p[2];
			if (hi == '\\' && p[3])
				hi = p[3], p++;
			p += 2;
		}
		if ((unsigned char)c >= (unsigned char)lo && (unsigned char)c <= (unsigned char)hi)
			matched = 1;
		p++;
	}
	if (*p != ']')
		return -1;
	*end = p + 1;
	return matched != negate;
}

int ignore_wildmatch(const char *p, const char *t)
{
	for (; *p; p++, t++) {
		switch (*p) {
		case '*':
			if (p[1] == '*') {
				/* "**": any sequence incl. '/'; "**" + "/" may match no directory */
				const char *rest = p + 2;
				int slash_form = *rest == '/';
				if (slash_form && ignore_wildmatch(rest + 1, t))
					return 1;
				for (const char *s = t;; s++) {
					if (ignore_wildmatch(rest, s))
						return 1;
					if (!*s)
						return 0;
				}
			}
			for (const char *s = t;; s++) {
				if (ignore_wildmatch(p + 1, s))
					return 1;
				if (!*s || *s == '/')
					return 0;
			}
		case '?':
			if (!*t || *t == '/')
				return 0;
			break;
		case '[': {
			if (!*t || *t == '/')
				return 0;
			const char *end;
			int m = match_class(p + 1, *t, &end);
			if (m < 0) { /* literal '[' */
				if (*t != '[')
					return 0;
				break;
			}
			if (!m)
				return 0;
			p = end - 1;
			break;
		}
		case '\\':
			if (p[1])
				p++;
			/* fall through */
		default:
			if (*p != *t)
				return 0;
		}
	}
	return *t == '\0';
}

void ignore_rules_parse(struct ignore_rules *r, const char *text, size_t len)
{
	const char *end = text + len;
	while (text < end) {
		const char *nl = memchr(text, '\n', (size_t)(end - text));
		const char *le = nl ? nl : end;
		char *line = xstrndup(text, (size_t)(le - text));
		text = nl ? nl + 1 : end;
		size_t n = strlen(line);
		if (n && line[n - 1] == '\r')
			line[--n] = '\0';
		/* trailing spaces are dropped unless escaped */
		while (n && line[n - 1] == ' ' && !(n >= 2 && line[n - 2] == '\\'))
			line[--n] = '\0';
		char *p = line;
		if (!*p || *p == '#') {
			free(line);
			continue;
		}
		struct ignore_rule rule = { 0 };
		if (*p == '!') {
			rule.negate = 1;
			p++;
		} else if (*p == '\\' && (p[1] == '!' || p[1] == '#')) {
			p++;
		}
		n = strlen(p);
		if (n && p[n - 1] == '/') {
			rule.dir_only = 1;
			p[--n] = '\0';
		}
		if (!*p) {
			free(line);
			continue;
		}
		if (strchr(p, '/'))
			rule.anchored = 1;
		while (*p == '/')
			p++;
		rule.pattern = xstrdup(p);
		free(line);
		if (r->n == r->alloc) {
			r->alloc = r->alloc ? 2 * r->alloc : 8;
			r->v = xrealloc(r->v, r->alloc * sizeof(*r->v));
		}
		r->v[r->n++] = rule;
	}
}

/* Last rule matching `path` (a file or directory) decides: 1 excluded,
 * 0 re-included, -1 no rule matched. */
static int decide(const struct ignore_rules *r, const char *path, int is_dir)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (size_t i = r->n; i-- > 0;) {
		const struct ignore_rule *rule = &r->v[i];
		if (rule->dir_only && !is_dir)
			continue;
		if (ignore_wildmatch(rule->pattern, rule->anchored ? path : base))
			return !rule->negate;
	}
	return -1;
}

int ignore_rules_match(const struct ignore_rules *r, const char *path, int is_dir)
{
	if (!r->n)
		return 0;
	char *buf = xstrdup(path);
	int excluded = 0;
	/* each leading directory, then the path itself */
	for (char *s = strchr(buf, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		int d = decide(r, buf, 1);
		*s = '/';
		if (d == 1) {
			excluded = 1;
			goto out;
		}
	}
	excluded = decide(r, buf, is_dir) == 1;
out:
	free(buf);
	return excluded;
}

void ignore_rules_release(struct ignore_rules *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].pattern);
	free(r->v);
	r->v = NULL;
	r->n = r->alloc = 0;
}
