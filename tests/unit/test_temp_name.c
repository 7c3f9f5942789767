/* The temporary name a copy writes beside a file (common/temp_name.c): NAME
 * + suffix while that fits in 255 bytes, else the suffix and the sha256 of
 * NAME; pvc-cp.sh's part_of must name the same file (t0221 checks both
 * sides on a cluster).  The expected digests come from Python's hashlib. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "eidf/temp_name.h"
#include "eidf/util.h"

static char *repeat(const char *s, int n)
{
	struct strbuf b = STRBUF_INIT;
	for (int i = 0; i < n; i++)
		strbuf_addstr(&b, s);
	return strbuf_detach(&b);
}

static void check(const char *path, const char *want)
{
	char *got = temp_name_beside(path, ".eidf-part");
	if (strcmp(got, want))
		fail_msg("%s: got %s, want %s", path, got, want);
	free(got);
}

static void test_short_names(void **state)
{
	(void)state;
	check("data.bin", "data.bin.eidf-part");
	check("a/b/data.bin", "a/b/data.bin.eidf-part");
	check("/abs/x", "/abs/x.eidf-part");
	char *n245 = repeat("a", 245), *want = xasprintf("d/%s.eidf-part", n245), *p = xasprintf("d/%s", n245);
	check(p, want); /* 255 bytes with the suffix: still fits */
	free(n245);
	free(want);
	free(p);
}

static void test_long_names(void **state)
{
	(void)state;
	char *n246 = repeat("a", 246), *p = xasprintf("dir/sub/%s", n246);
	check(n246, ".eidf-part.934f3812ac2986862ed564d7de5d2a1a3d74c76f9ad0b32eb32514f1579c338a");
	check(p, "dir/sub/.eidf-part.934f3812ac2986862ed564d7de5d2a1a3d74c76f9ad0b32eb32514f1579c338a");
	/* bytes count, not characters: 123 two-byte characters are 246 bytes */
	char *e123 = repeat("\xc3\xa9", 123);
	check(e123, ".eidf-part.46f2e9217df874fcfd199717d2f9520f000f9a123b90038b01db8c93b71cd35d");
	free(n246);
	free(p);
	free(e123);
}

static void test_is_temp_name(void **state)
{
	(void)state;
	assert_true(is_temp_name("x.eidf-part", ".eidf-part"));
	assert_true(is_temp_name(".eidf-part.934f3812ac2986862ed564d7de5d2a1a3d74c76f9ad0b32eb32514f1579c338a",
				 ".eidf-part"));
	assert_false(is_temp_name(".eidf-part", ".eidf-part")); /* nothing before the suffix */
	assert_false(is_temp_name("x.eidf-part.bak", ".eidf-part"));
	assert_false(is_temp_name(".eidf-part.934F3812ac2986862ed564d7de5d2a1a3d74c76f9ad0b32eb32514f1579c338a",
				  ".eidf-part")); /* not our hex */
	assert_false(is_temp_name(".eidf-part.934f", ".eidf-part"));
	assert_false(is_temp_name("data.bin", ".eidf-part"));
	assert_true(is_temp_name("name.part", ".part"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_names),
		cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_is_temp_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
