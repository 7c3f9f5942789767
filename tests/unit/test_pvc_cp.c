/* pvc cp's CLAIM:PATH: what is remote, the clean relative path it names,
 * and the paths that are refused before any request (absolute, "..",
 * a newline); and the walk it shares with `pvc du|ls` (claim_path.c),
 * which says why a path is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "claim_path.h"
#include "cp.h"
#include "eidf/util.h"

static void check(const char *arg, int want, const char *claim, const char *rel)
{
	char *c = NULL, *r = NULL;
	int got = cp_parse_remote(arg, &c, &r);
	if (got != want)
		fail_msg("%s: got %d, want %d (%s)", arg, got, want, got < 0 ? eidf_last_error() : "");
	if (want == 1) {
		if (strcmp(c, claim) || strcmp(r, rel))
			fail_msg("%s: got %s:%s, want %s:%s", arg, c, r, claim, rel);
	}
	free(c);
	free(r);
}

static void test_remote(void **state)
{
	(void)state;
	check("data:", 1, "data", ".");
	check("data:.", 1, "data", ".");
	check("data:./", 1, "data", ".");
	check("data:a/b", 1, "data", "a/b");
	check("data:a//b/./c/", 1, "data", "a/b/c");
	check("my-claim.v2:x y/z", 1, "my-claim.v2", "x y/z");
	check("data:..x/y..", 1, "data", "..x/y..");
}

static void test_local(void **state)
{
	(void)state;
	check("file.txt", 0, NULL, NULL);
	check("./data:x", 0, NULL, NULL);     /* a local path with a ':' */
	check("/abs/data:x", 0, NULL, NULL);
	check("Data:x", 0, NULL, NULL);       /* not a claim name */
	check("-data:x", 0, NULL, NULL);
	check(":x", 0, NULL, NULL);
}

static void test_refused(void **state)
{
	(void)state;
	check("data:/etc", -1, NULL, NULL);
	check("data://etc", -1, NULL, NULL);
	check("data:..", -1, NULL, NULL);
	check("data:../x", -1, NULL, NULL);
	check("data:a/../../x", -1, NULL, NULL);
	check("data:a/..", -1, NULL, NULL);
	check("data:a\nb", -1, NULL, NULL);
}

static void clean(const char *in, enum claim_path_fault want, const char *rel)
{
	char *out = NULL;
	enum claim_path_fault got = claim_path_clean(in, &out);
	if (got != want)
		fail_msg("%s: fault %d, want %d", in, got, want);
	if (want == CLAIM_PATH_OK ? !out || strcmp(out, rel) : out != NULL)
		fail_msg("%s: got \"%s\", want \"%s\"", in, out ? out : "(null)", rel ? rel : "(null)");
	free(out);
}

static void test_claim_path(void **state)
{
	(void)state;
	clean("", CLAIM_PATH_OK, "");
	clean("/", CLAIM_PATH_OK, "");
	clean("/raw/./x//", CLAIM_PATH_OK, "raw/x");
	clean("a/..b/c..", CLAIM_PATH_OK, "a/..b/c..");
	clean("..", CLAIM_PATH_DOTDOT, NULL);
	clean("/a/../b", CLAIM_PATH_DOTDOT, NULL);
	clean("a\nb", CLAIM_PATH_NEWLINE, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remote),
		cmocka_unit_test(test_local),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_claim_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
