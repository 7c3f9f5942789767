/* Matching-speed benchmark for the .dockerignore matcher (issue 7:
 * "matching time for 100k paths x 50 patterns").  Built only with
 * -DEIDF_BENCH=ON; bench/build-context.sh runs it.
 *
 *   dockerignore_match IGNOREFILE PATHLIST [MIN_SECONDS]
 *
 * PATHLIST holds one relative path a line in walk order (depth first,
 * directories end in '/', as `build-context --list` prints them).  Two
 * passes are timed, each repeated until MIN_SECONDS (default 1) elapse:
 *   walk  dockerignore_matches_parent() with the parent directory's
 *         per-pattern results, as the archive walk calls it (every path,
 *         even those under an excluded directory the walk would skip)
 *   full  dockerignore_matches() on each path alone (MatchesOrParentMatches:
 *         every parent prefix re-matched), the cost without the walk's reuse
 * and printed as "walk|full PATHS PATTERNS SECONDS PATHS_PER_SECOND EXCLUDED". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dockerignore.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct path {
	char *s;
	size_t depth;  /* number of '/' separators in s (without the trailing one) */
	int dir;
};

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s IGNOREFILE PATHLIST [MIN_SECONDS]\n", argv[0]);
		return 2;
	}
	double min_secs = argc > 3 ? atof(argv[3]) : 1.0;
	struct strbuf ign = STRBUF_INIT;
	if (read_file(argv[1], &ign) < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], eidf_last_error());
		return 1;
	}
	struct strvec pats = STRVEC_INIT;
	if (dockerignore_read(ign.buf ? ign.buf : "", ign.len, &pats) < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], eidf_last_error());
		return 1;
	}
	struct dockerignore *di = dockerignore_new((const char *const *)pats.v, pats.n);
	if (!di) {
		fprintf(stderr, "%s: %s\n", argv[1], eidf_last_error());
		return 1;
	}
	size_t npat = dockerignore_count(di);

	FILE *f = fopen(argv[2], "r");
	if (!f) {
		perror(argv[2]);
		return 1;
	}
	struct path *v = NULL;
	size_t n = 0, alloc = 0, maxdepth = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (!len)
			continue;
		if (n == alloc) {
			alloc = alloc ? 2 * alloc : 1024;
			v = xrealloc(v, alloc * sizeof(*v));
		}
		struct path *p = &v[n++];
		p->dir = line[len - 1] == '/';
		if (p->dir)
			line[--len] = '\0';
		p->s = xstrdup(line);
		p->depth = 0;
		for (char *c = p->s; *c; c++)
			p->depth += *c == '/';
		if (p->depth > maxdepth)
			maxdepth = p->depth;
	}
	free(line);
	fclose(f);

	/* info[d]: per-pattern results of the directory open at depth d */
	unsigned char *info = xcalloc((maxdepth + 2) * (npat ? npat : 1), 1);
	unsigned char *scratch = xcalloc(npat ? npat : 1, 1);
	size_t excluded = 0, iters = 0;
	double t0 = now(), t;
	do {
		excluded = 0;
		for (size_t i = 0; i < n; i++) {
			const struct path *p = &v[i];
			const unsigned char *parent = p->depth ? info + (p->depth - 1) * npat : NULL;
			unsigned char *out = p->dir ? info + p->depth * npat : scratch;
			excluded += (size_t)dockerignore_matches_parent(di, p->s, parent, out);
		}
		iters++;
	} while ((t = now() - t0) < min_secs);
	printf("walk %zu %zu %.4f %.0f %zu\n", n, npat, t / (double)iters, (double)n * (double)iters / t,
	       excluded);

	size_t excluded_full = 0;
	iters = 0;
	t0 = now();
	do {
		excluded_full = 0;
		for (size_t i = 0; i < n; i++)
			excluded_full += (size_t)dockerignore_matches(di, v[i].s);
		iters++;
	} while ((t = now() - t0) < min_secs);
	printf("full %zu %zu %.4f %.0f %zu\n", n, npat, t / (double)iters, (double)n * (double)iters / t,
	       excluded_full);

	for (size_t i = 0; i < n; i++)
		free(v[i].s);
	free(v);
	free(info);
	free(scratch);
	dockerignore_free(di);
	strvec_clear(&pats);
	strbuf_release(&ign);
	/* the counts may differ: the walk's reuse of parent results is
	 * BuildKit's, with its quirks (docs/build-context.md) */
	return 0;
}
