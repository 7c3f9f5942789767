/* The tar of a pvc cp batch (plugins/pvc/cp_tar.c): what it holds comes
 * back out byte for byte, names of any length and shape; a file changed
 * since it was listed, or unreadable, is left out and said so. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cp_tar.h"
#include "eidf/util.h"

static char dir[] = "/tmp/eidf-cp-tar.XXXXXX";

static char *make(const char *name, const char *data, size_t len, struct cp_tar_file *f)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *fh = fopen(p, "wb");
	assert_non_null(fh);
	assert_int_equal(fwrite(data, 1, len, fh), len);
	fclose(fh);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	*f = (struct cp_tar_file){ .local = p, .mode = 0640, .size = (uint64_t)st.st_size, .mtime = st.st_mtim };
	return p;
}

struct seen { int n; char names[4][300]; char data[4][64]; size_t len[4]; };

static int collect(void *ctx, const char *name, const void *data, size_t n)
{
	struct seen *s = ctx;
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
	memcpy(s->data[s->n], data, n < 64 ? n : 64);
	s->len[s->n++] = n;
	return 0;
}

static void test_round_trip(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	struct cp_tar_file f[4];
	char *p[4];
	p[0] = make("a", "hello", 5, &f[0]);
	p[1] = make("empty", "", 0, &f[1]);
	p[2] = make("b", "x\ny", 3, &f[2]);
	p[3] = make("c", "gone", 4, &f[3]);
	char longname[260];
	memset(longname, 'n', 250);
	snprintf(longname + 250, 10, "/f");
	f[0].rel = "dir/a";
	f[1].rel = "-n $(x) *";
	f[2].rel = longname; /* over 100 bytes: a GNU long name */
	f[3].rel = "c";
	unlink(p[3]); /* listed, then gone */
	struct strbuf tar = STRBUF_INIT;
	assert_int_equal(cp_tar_build(f, 4, &tar), 0);
	assert_int_equal(f[3].err, ENOENT);
	assert_false(f[0].changed || f[1].changed || f[2].changed);
	assert_string_equal(f[0].sha256, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
	struct seen s = { 0 };
	assert_int_equal(cp_tar_each(tar.buf, tar.len, collect, &s), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.names[0], "dir/a");
	assert_memory_equal(s.data[0], "hello", 5);
	assert_string_equal(s.names[1], "-n $(x) *");
	assert_int_equal(s.len[1], 0);
	assert_string_equal(s.names[2], longname);
	assert_memory_equal(s.data[2], "x\ny", 3);
	/* damaged: cut in the middle of the first file's data */
	assert_int_equal(cp_tar_each(tar.buf, 600, collect, &s), -1);
	strbuf_release(&tar);
	for (int i = 0; i < 4; i++) {
		unlink(p[i]);
		free(p[i]);
	}
}

static void test_changed(void **state)
{
	(void)state;
	struct cp_tar_file f[2];
	char *p0 = make("grew", "abc", 3, &f[0]);
	char *p1 = make("same", "abc", 3, &f[1]);
	f[0].rel = "grew";
	f[1].rel = "same";
	FILE *fh = fopen(p0, "ab");
	fputs("d", fh);
	fclose(fh);
	f[1].mtime.tv_nsec ^= 1; /* rewritten in place since it was listed */
	struct strbuf tar = STRBUF_INIT;
	assert_int_equal(cp_tar_build(f, 2, &tar), 0);
	assert_true(f[0].changed);
	assert_true(f[1].changed);
	struct seen s = { 0 };
	assert_int_equal(cp_tar_each(tar.buf, tar.len, collect, &s), 0);
	assert_int_equal(s.n, 0);
	strbuf_release(&tar);
	unlink(p0);
	unlink(p1);
	free(p0);
	free(p1);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_changed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
