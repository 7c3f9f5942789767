/* Colour: only on a terminal, never when NO_COLOR is set (https://no-color.org
 * asks for a non-empty value; we honour any value, as documented). */
#include "eidf/output.h"
#include "eidf/util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int color_enabled(FILE *stream)
{
	const char *term;
	int fd;

	if (!stream || getenv("NO_COLOR"))
		return 0;
	term = getenv("TERM");
	if (term && !strcmp(term, "dumb"))
		return 0;
	fd = fileno(stream);
	return fd >= 0 && isatty(fd);
}

/* Escape sequences handed out so far: callers get a string that lives for
 * the whole process, without having to free it. */
struct sgr_entry {
	struct sgr_entry *next;
	char *sgr;
	char *seq;
};
static struct sgr_entry *sgr_cache;

static void sgr_cache_free(void)
{
	while (sgr_cache) {
		struct sgr_entry *e = sgr_cache;
		sgr_cache = e->next;
		free(e->sgr);
		free(e->seq);
		free(e);
	}
}

const char *color(FILE *stream, const char *sgr)
{
	static const struct { const char *sgr, *seq; } known[] = {
		{ COLOR_RESET, "\033[0m" }, { COLOR_RED, "\033[31m" },
		{ COLOR_GREEN, "\033[32m" }, { COLOR_YELLOW, "\033[33m" },
		{ COLOR_BOLD, "\033[1m" },
	};

	if (!sgr || !color_enabled(stream))
		return "";
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(known); i++)
		if (!strcmp(known[i].sgr, sgr))
			return known[i].seq;
	for (struct sgr_entry *e = sgr_cache; e; e = e->next)
		if (!strcmp(e->sgr, sgr))
			return e->seq;
	/* only digits and ';' make a valid SGR parameter list */
	if (!*sgr || strspn(sgr, "0123456789;") != strlen(sgr))
		return "";
	static int registered;
	struct sgr_entry *e = xcalloc(1, sizeof(*e));
	if (!registered) {
		registered = 1;
		atexit(sgr_cache_free);
	}
	e->sgr = xstrdup(sgr);
	e->seq = xasprintf("\033[%sm", sgr);
	e->next = sgr_cache;
	sgr_cache = e;
	return e->seq;
}
