/* Reproducible build contexts: determinism, content sensitivity, symlinks,
 * special and unreadable files, the gzip header, the tar headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "context_tar.h"
#include "eidf/util.h"

static char *mkroot(void)
{
	char tmpl[] = "/tmp/eidf-ctx.XXXXXX";
	char *r = mkdtemp(tmpl);
	assert_non_null(r);
	return xstrdup(r);
}

static void rmtree(const char *root)
{
	char *cmd = xasprintf("chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", root, root);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void put(const char *root, const char *rel, const char *content, mode_t mode)
{
	char *p = xasprintf("%s/%s", root, rel);
	for (char *s = p + strlen(root) + 1; *s; s++) {
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0700);
			*s = '/';
		}
	}
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	assert_int_equal(chmod(p, mode), 0);
	free(p);
}

static void set_mtime(const char *root, const char *rel, time_t t)
{
	char *p = xasprintf("%s/%s", root, rel);
	struct timeval tv[2] = { { t, 0 }, { t, 0 } };
	assert_int_equal(lutimes(p, tv), 0);
	free(p);
}

static int to_buf(const void *d, size_t n, void *ud)
{
	strbuf_add(ud, d, n);
	return 0;
}

/* Build with gzip into out (may be NULL); returns the digest (caller frees). */
static char *digest_of(const char *root, struct strbuf *out, struct bctx_result *keep)
{
	struct bctx_opts o = { 0 };
	o.dir = root;
	o.use_ignore = 1;
	o.write = out ? to_buf : NULL;
	o.write_ud = out;
	struct bctx_result res;
	if (bctx_build(&o, &res) < 0) {
		print_error("build failed: %s\n", eidf_last_error());
		fail();
	}
	char *d = xstrdup(res.digest);
	if (keep)
		*keep = res;
	else
		bctx_result_release(&res);
	return d;
}

static void test_deterministic(void **state)
{
	(void)state;
	unsetenv("SOURCE_DATE_EPOCH");
	char *a = mkroot(), *b = mkroot();
	/* same content, different order, modes (umask), mtimes */
	put(a, "Dockerfile", "FROM scratch\n", 0644);
	put(a, "src/main.py", "print(1)\n", 0644);
	put(a, "src/run.sh", "#!/bin/sh\n", 0755);
	put(a, "z/deep/file", "z", 0644);
	put(a, ".dockerignore", "*.tmp\n", 0644);
	put(a, "junk.tmp", "junk", 0644);

	put(b, "z/deep/file", "z", 0600);
	put(b, ".dockerignore", "*.tmp\n", 0600);
	put(b, "src/run.sh", "#!/bin/sh\n", 0700);
	put(b, "other.tmp", "ignored anyway", 0644);
	put(b, "src/main.py", "print(1)\n", 0640);
	put(b, "Dockerfile", "FROM scratch\n", 0600);
	set_mtime(b, "src/main.py", 12345);
	set_mtime(b, "Dockerfile", 999999999);
	set_mtime(b, "z", 1);

	struct strbuf ga = STRBUF_INIT, gb = STRBUF_INIT;
	struct bctx_result ra;
	char *da = digest_of(a, &ga, &ra), *db = digest_of(b, &gb, NULL);
	assert_string_equal(da, db);
	assert_int_equal(ga.len, gb.len);
	assert_memory_equal(ga.buf, gb.buf, ga.len);
	assert_int_equal(ra.files, 5);
	assert_int_equal(ra.dirs, 3);
	assert_int_equal(ra.tar_bytes % 10240, 0);
	bctx_result_release(&ra);

	/* gzip header: magic, deflate, no flags, mtime 0, OS 3 */
	assert_true(ga.len > 10);
	const unsigned char *h = (const unsigned char *)ga.buf;
	assert_int_equal(h[0], 0x1f);
	assert_int_equal(h[1], 0x8b);
	assert_int_equal(h[2], 8);
	assert_int_equal(h[3], 0);
	assert_int_equal(h[4] | h[5] | h[6] | h[7], 0);
	assert_int_equal(h[9], 3);

	/* one byte changed -> different digest */
	put(b, "src/main.py", "print(2)\n", 0644);
	char *dc = digest_of(b, NULL, NULL);
	assert_string_not_equal(da, dc);
	/* the x bit is content too */
	put(b, "src/main.py", "print(1)\n", 0755);
	char *dd = digest_of(b, NULL, NULL);
	assert_string_not_equal(da, dd);
	put(b, "src/main.py", "print(1)\n", 0644);
	char *de = digest_of(b, NULL, NULL);
	assert_string_equal(da, de);

	/* SOURCE_DATE_EPOCH changes the mtimes, hence the digest */
	setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
	char *df = digest_of(b, NULL, NULL);
	assert_string_not_equal(da, df);
	setenv("SOURCE_DATE_EPOCH", "soon", 1);
	struct bctx_opts o = { 0 };
	o.dir = b;
	struct bctx_result r;
	assert_int_equal(bctx_build(&o, &r), -1);
	assert_non_null(strstr(eidf_last_error(), "SOURCE_DATE_EPOCH"));
	unsetenv("SOURCE_DATE_EPOCH");

	free(da); free(db); free(dc); free(dd); free(de); free(df);
	strbuf_release(&ga);
	strbuf_release(&gb);
	rmtree(a); rmtree(b);
	free(a); free(b);
}

struct seen {
	struct strvec paths;
	int link_ok;
};

static int on_entry(const struct bctx_entry *e, void *ud)
{
	struct seen *s = ud;
	strvec_pushf(&s->paths, "%c %s", (char)e->type, e->path);
	if (e->type == BCTX_SYMLINK && !strcmp(e->path, "escape") && !strcmp(e->link_target, "../../../../etc/passwd"))
		s->link_ok = 1;
	return 0;
}

static void test_symlinks_and_special(void **state)
{
	(void)state;
	char *a = mkroot();
	put(a, "Dockerfile", "FROM scratch\n", 0644);
	char *l = xasprintf("%s/escape", a);
	assert_int_equal(symlink("../../../../etc/passwd", l), 0);
	char *ld = xasprintf("%s/dirlink", a);
	assert_int_equal(symlink("/", ld), 0);
	char *ff = xasprintf("%s/fifo", a);
	assert_int_equal(mkfifo(ff, 0644), 0);

	struct seen s = { STRVEC_INIT, 0 };
	struct bctx_opts o = { 0 };
	o.dir = a;
	o.use_ignore = 1;
	o.entry = on_entry;
	o.entry_ud = &s;
	o.compression = BCTX_NONE;
	struct strbuf tar = STRBUF_INIT;
	o.write = to_buf;
	o.write_ud = &tar;
	struct bctx_result r;
	assert_int_equal(bctx_build(&o, &r), 0);
	assert_int_equal(r.skipped, 1);      /* the fifo, with a warning */
	assert_int_equal(r.symlinks, 2);
	assert_int_equal(r.files, 1);        /* never followed */
	assert_int_equal(r.dirs, 0);
	assert_true(s.link_ok);
	assert_int_equal(s.paths.n, 3);
	assert_string_equal(s.paths.v[0], "f Dockerfile");
	assert_string_equal(s.paths.v[1], "l dirlink");
	assert_string_equal(s.paths.v[2], "l escape");

	/* read it back: uid/gid 0, no names, mtime 0, normalised modes */
	struct archive *ar = archive_read_new();
	archive_read_support_format_tar(ar);
	assert_int_equal(archive_read_open_memory(ar, tar.buf, tar.len), ARCHIVE_OK);
	struct archive_entry *e;
	int n = 0;
	while (archive_read_next_header(ar, &e) == ARCHIVE_OK) {
		n++;
		assert_int_equal(archive_entry_uid(e), 0);
		assert_int_equal(archive_entry_gid(e), 0);
		assert_true(!archive_entry_uname(e) || !*archive_entry_uname(e));
		assert_true(!archive_entry_gname(e) || !*archive_entry_gname(e));
		assert_int_equal(archive_entry_mtime(e), 0);
		assert_false(archive_entry_atime_is_set(e));
		assert_false(archive_entry_ctime_is_set(e));
		if (archive_entry_filetype(e) == AE_IFREG)
			assert_int_equal(archive_entry_perm(e), 0644);
	}
	assert_int_equal(n, 3);
	archive_read_free(ar);

	bctx_result_release(&r);
	strbuf_release(&tar);
	strvec_clear(&s.paths);
	rmtree(a);
	free(a); free(l); free(ld); free(ff);
}

/* The checks, run as a user that permissions apply to. */
static int unreadable_checks(const char *a)
{
	struct bctx_opts o = { 0 };
	o.dir = a;
	o.use_ignore = 1;
	struct bctx_result r;
	char *ig = xasprintf("%s/.dockerignore", a);
	char *d = xasprintf("%s/locked", a);
	int bad = 0;
	/* the first unreadable entry in archive order is named */
	if (bctx_build(&o, &r) != -1 || !strstr(eidf_last_error(), "locked"))
		bad |= 1;
	write_file_atomic(ig, "locked\n", 7, 0644);
	if (bctx_build(&o, &r) != -1 || !strstr(eidf_last_error(), "secret.key"))
		bad |= 16;
	/* excluded: fine */
	write_file_atomic(ig, "secret.key\nlocked\n", 18, 0644);
	if (bctx_build(&o, &r) == 0)
		bctx_result_release(&r);
	else
		bad |= 2;
	/* an unreadable excluded directory that must be searched (a glob
	 * exception) is fine too; an included one is an error */
	const char *glob = "secret.key\nlocked\n!*/never/*.y\n";
	write_file_atomic(ig, glob, strlen(glob), 0644);
	if (bctx_build(&o, &r) == 0)
		bctx_result_release(&r);
	else
		bad |= 4;
	write_file_atomic(ig, "secret.key\n", 11, 0644);
	if (bctx_build(&o, &r) != -1 || !strstr(eidf_last_error(), "locked"))
		bad |= 8;
	free(ig);
	free(d);
	return bad;
}

static void test_unreadable(void **state)
{
	(void)state;
	char *a = mkroot();
	assert_int_equal(chmod(a, 0777), 0);
	put(a, "Dockerfile", "FROM scratch\n", 0644);
	put(a, "secret.key", "k", 0000);
	put(a, "locked/x", "x", 0644);
	char *d = xasprintf("%s/locked", a);
	assert_int_equal(chmod(d, 0000), 0);
	int bad;
	if (geteuid() == 0) {
		/* root reads everything: check as nobody */
		char *own = xasprintf("chown -R 65534:65534 '%s'", a);
		assert_int_equal(system(own), 0);
		free(own);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			if (setgid(65534) || setuid(65534))
				_exit(100);
			_exit(unreadable_checks(a));
		}
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		bad = WEXITSTATUS(st);
	} else {
		bad = unreadable_checks(a);
	}
	assert_int_equal(bad, 0);
	free(d);
	rmtree(a);
	free(a);
}

static void test_dockerfile_specific_ignore(void **state)
{
	(void)state;
	char *a = mkroot();
	put(a, "docker/app.Dockerfile", "FROM scratch\n", 0644);
	put(a, "docker/app.Dockerfile.dockerignore", "*\n!src\n", 0644);
	put(a, ".dockerignore", "src\n", 0644);
	put(a, "src/a", "a", 0644);
	put(a, "other", "o", 0644);
	struct seen s = { STRVEC_INIT, 0 };
	struct bctx_opts o = { 0 };
	o.dir = a;
	char *df = xasprintf("%s/docker/app.Dockerfile", a);
	o.dockerfile = df;
	o.use_ignore = 1;
	o.entry = on_entry;
	o.entry_ud = &s;
	struct bctx_result r;
	assert_int_equal(bctx_build(&o, &r), 0);
	assert_string_equal(r.ignore_file, "docker/app.Dockerfile.dockerignore");
	assert_string_equal(r.dockerfile, "docker/app.Dockerfile");
	assert_true(r.dockerfile_found);
	/* kept: .dockerignore, the Dockerfile and its ignore file; src re-included */
	const char *want[] = { "f .dockerignore", "d docker", "f docker/app.Dockerfile",
			       "f docker/app.Dockerfile.dockerignore", "d src", "f src/a" };
	assert_int_equal(s.paths.n, EIDF_ARRAY_SIZE(want));
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(want); i++)
		assert_string_equal(s.paths.v[i], want[i]);
	bctx_result_release(&r);

	/* a Dockerfile outside the context is refused with a hint */
	o.dockerfile = "/etc/hostname";
	assert_int_equal(bctx_build(&o, &r), -1);
	assert_non_null(strstr(eidf_last_error(), "outside the build context"));
	strvec_clear(&s.paths);
	free(df);
	rmtree(a);
	free(a);
}

static void test_skip_output_and_large(void **state)
{
	(void)state;
	char *a = mkroot();
	put(a, "Dockerfile", "FROM scratch\n", 0644);
	put(a, "out.tar", "", 0644);
	/* a sparse 64 MiB file is streamed block by block */
	char *big = xasprintf("%s/big.bin", a);
	int fd = open(big, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 64 << 20), 0);
	close(fd);
	char *out = xasprintf("%s/out.tar", a);
	struct stat st;
	assert_int_equal(stat(out, &st), 0);
	struct bctx_opts o = { 0 };
	o.dir = a;
	o.skip_set = 1;
	o.skip_dev = st.st_dev;
	o.skip_ino = st.st_ino;
	o.compression = BCTX_GZIP;
	o.level = 1;
	struct strbuf gz = STRBUF_INIT;
	o.write = to_buf;
	o.write_ud = &gz;
	struct bctx_result r;
	assert_int_equal(bctx_build(&o, &r), 0);
	assert_int_equal(r.files, 2);                 /* out.tar skipped */
	assert_int_equal(r.content_bytes, (64 << 20) + 13);
	assert_true(r.tar_bytes > (uint64_t)(64 << 20));
	assert_true(gz.len < (1 << 20));              /* zeros compress */
	assert_int_equal(r.out_bytes, gz.len);
	bctx_result_release(&r);
	strbuf_release(&gz);
	free(big); free(out);
	rmtree(a);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_symlinks_and_special),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_dockerfile_specific_ignore),
		cmocka_unit_test(test_skip_output_and_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
