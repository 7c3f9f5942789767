/* build-context's .dockerignore reader and matcher.  The input is a
 * .dockerignore file, optionally followed by a NUL and newline-separated
 * paths to match (else the patterns themselves are used as paths).
 * Invariants: no crash/leak/UB (the matcher must stay linear: libFuzzer's
 * timeout catches blow-ups); a path inside a directory that is excluded and
 * skippable (fsutil's shortcut) is excluded too; dockerignore_keep only ever
 * appends "!path" patterns. */
#include "fuzz.h"

#include <string.h>

#include "dockerignore.h"
#include "eidf/util.h"

#define MAX_PATHS 32

static void check_path(struct dockerignore *di, const char *raw, const struct strvec *all)
{
	char *clean = dockerignore_clean(raw);
	const char *p = clean;
	size_t n = dockerignore_count(di);
	unsigned char *parent = NULL, *info = xcalloc(n ? n : 1, 1);
	int m;

	while (*p == '/')
		p++;
	if (!*p || !strcmp(p, ".") || starts_with(p, "../") || !strcmp(p, "..")) {
		free(info);
		free(clean);
		return;
	}
	m = dockerignore_matches(di, p);
	FUZZ_CHECK(m == 0 || m == 1, "matches returned %d", m);

	/* walk the components as the context walker does, reusing parent results */
	{
		char *walk = xstrdup(p);
		for (char *s = walk;; ) {
			char *slash = strchr(s, '/');
			if (slash)
				*slash = '\0';
			(void)dockerignore_matches_parent(di, walk, parent, info);
			if (!parent)
				parent = xcalloc(n ? n : 1, 1);
			memcpy(parent, info, n);
			if (!slash)
				break;
			*slash = '/';
			s = slash + 1;
		}
		free(walk);
	}

	if (m && dockerignore_dir_skippable(di, p)) {
		for (size_t i = 0; i < all->n; i++) {
			char *c2 = dockerignore_clean(all->v[i]);
			const char *q = c2;
			while (*q == '/')
				q++;
			if (starts_with(q, p) && q[strlen(p)] == '/')
				FUZZ_CHECK(dockerignore_matches(di, q),
					   "\"%s\" is excluded and skippable but \"%s\" inside it is not", p, q);
			free(c2);
		}
	}
	free(parent);
	free(info);
	free(clean);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strvec patterns = STRVEC_INIT, paths = STRVEC_INIT;
	const uint8_t *nul;
	size_t plen;
	struct dockerignore *di;

	if (size > 16 * 1024)
		return 0;
	nul = memchr(data, 0, size);
	plen = nul ? (size_t)(nul - data) : size;
	if (dockerignore_read((const char *)data, plen, &patterns) < 0) {
		FUZZ_CHECK(*eidf_last_error(), "failure without a message");
		strvec_clear(&patterns);
		return 0;
	}
	if (nul) {
		const char *s = (const char *)nul + 1, *end = (const char *)data + size;
		while (s < end && paths.n < MAX_PATHS) {
			const char *nl = memchr(s, '\n', (size_t)(end - s));
			size_t l = nl ? (size_t)(nl - s) : (size_t)(end - s);
			if (!memchr(s, 0, l))
				strvec_push_owned(&paths, xstrndup(s, l));
			s += l + 1;
		}
	} else {
		for (size_t i = 0; i < patterns.n && paths.n < MAX_PATHS; i++)
			strvec_push(&paths, patterns.v[i][0] == '!' ? patterns.v[i] + 1 : patterns.v[i]);
	}

	di = dockerignore_new((const char *const *)patterns.v, patterns.n);
	if (!di) {
		const char *e = eidf_last_error();
		FUZZ_CHECK(e && *e && !strchr(e, '\n'), "bad error for a malformed pattern");
	} else {
		FUZZ_CHECK(dockerignore_count(di) <= patterns.n, "count %zu for %zu patterns",
			   dockerignore_count(di), patterns.n);
		(void)dockerignore_has_exclusions(di);
		for (size_t i = 0; i < paths.n; i++)
			check_path(di, paths.v[i], &paths);
		dockerignore_free(di);

		/* TrimBuildFilesFromExcludes only appends "!<path>" */
		{
			size_t before = patterns.n;
			dockerignore_keep(&patterns, "Dockerfile");
			if (paths.n)
				dockerignore_keep(&patterns, paths.v[0]);
			FUZZ_CHECK(patterns.n <= before + 2, "keep added too much");
			for (size_t i = before; i < patterns.n; i++)
				FUZZ_CHECK(patterns.v[i][0] == '!', "keep added a non-exception");
		}
	}
	strvec_clear(&patterns);
	strvec_clear(&paths);
	return 0;
}
