/* .dockerignore semantics: each case is an ignore file, a tree, and the exact
 * set of paths that reach the build context, as Docker (BuildKit: ReadAll +
 * moby/patternmatcher + fsutil's walk, plus the docker CLI keeping the
 * Dockerfile and .dockerignore) would send them.  Directories end in '/'. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "context_tar.h"
#include "dockerignore.h"
#include "eidf/util.h"

struct di_case {
	const char *name;
	const char *ignore;   /* .dockerignore content */
	const char *tree;     /* '|'-separated; trailing '/' is an empty dir */
	const char *expect;   /* '|'-separated included paths, or NULL: error */
};

static const struct di_case cases[] = {
	/* ** and parent-directory matching */
	{ "double-star-test", "**/test\n", "test/a|a/test/b|a/b/test|atest|a/testx",
	  ".dockerignore|a/|a/b/|a/testx|atest" },
	{ "double-star-go", "**/*.go\n", "a.go|x/b.go|x/y/c.go|x/d.txt",
	  ".dockerignore|x/|x/d.txt|x/y/" },
	{ "trailing-double-star", "foo/**\n", "foo/a|foo/b/c|foobar",
	  ".dockerignore|foo/|foobar" },
	{ "double-star-both-sides", "**/foo/**\n", "foo/x|a/foo/y|a/b",
	  ".dockerignore|a/|a/b|a/foo/|foo/" },
	{ "double-star-suffix-no-slash", "**foo\n", "xfoo|a/barfoo|foo|foox",
	  ".dockerignore|a/|foox" },
	{ "double-star-suffix-quirk", "**.txt\n", "a.txt|d/b.txt|c.md",
	  ".dockerignore|c.md|d/" },
	{ "double-star-alone", "**\n", "Dockerfile|a|b/c", ".dockerignore|Dockerfile" },
	{ "long-pattern", "docs/**/a-rather-long-file-name-*.md\n",
	  "docs/x/a-rather-long-file-name-1.md|docs/a-rather-long-file-name-2.md|docs/other.md",
	  ".dockerignore|docs/|docs/other.md|docs/x/" },
	/* * and ? never cross '/' */
	{ "star-md", "*.md\n!README*.md\nREADME-secret.md\n", "README.md|README-secret.md|X.md|doc/Y.md",
	  ".dockerignore|README.md|doc/|doc/Y.md" },
	{ "star-prefix-dir", "a*\n", "abc|a/b|x/abc", ".dockerignore|x/|x/abc" },
	{ "star-slash-temp", "*/temp*\n", "temp|somedir/temporary.txt|somedir/sub/temp.x|other/tempdir/f",
	  ".dockerignore|other/|somedir/|somedir/sub/|somedir/sub/temp.x|temp" },
	{ "star-star-temp", "*/*/temp*\n", "a/b/temp1|a/temp2|temp3",
	  ".dockerignore|a/|a/b/|a/temp2|temp3" },
	{ "star-alone", "*\n", "Dockerfile|a|b/c", ".dockerignore|Dockerfile" },
	{ "question", "temp?\n", "temp|temp1|tempab|d/temp2", ".dockerignore|d/|d/temp2|temp|tempab" },
	{ "question-utf8", "caf?\n", "caf\xC3\xA9|cafe|caf", ".dockerignore|caf" },
	/* classes */
	{ "range", "[a-c].txt\n", "a.txt|b.txt|d.txt", ".dockerignore|d.txt" },
	{ "negated-class", "[^a].txt\n", "a.txt|b.txt", ".dockerignore|a.txt" },
	{ "bang-in-class-is-literal", "[!a].txt\n", "a.txt|b.txt|!.txt", ".dockerignore|b.txt" },
	{ "posix-class", "[[:digit:]]*\n", "1a|a1", ".dockerignore|a1" },
	{ "star-in-class-quirk", "[a*]\n", "a|]|a]|*", "*|.dockerignore|a" },
	/* escapes */
	{ "escaped-star", "\\*.txt\n", "*.txt|a.txt", ".dockerignore|a.txt" },
	{ "escaped-question", "foo\\?\n", "foo?|fooa", ".dockerignore|fooa" },
	{ "escape-is-go-regexp", "file\\d\n", "file1|filed", ".dockerignore|filed" },
	/* the file format */
	{ "comments", "# comment\n#*.txt\nx\n", "# comment|x|a.txt", "# comment|.dockerignore|a.txt" },
	{ "indented-hash-is-a-pattern", " # not comment\n", "# not comment|y", ".dockerignore|y" },
	{ "blank-and-whitespace", "\n  \n\t foo  \n", "foo|bar", ".dockerignore|bar" },
	{ "crlf", "foo\r\nbar\r\n", "foo|bar|baz", ".dockerignore|baz" },
	{ "bom", "\xEF\xBB\xBF" "foo\n", "foo|bar", ".dockerignore|bar" },
	{ "inner-space-kept", "my file\n", "my file|my", ".dockerignore|my" },
	{ "no-final-newline", "foo", "foo|bar", ".dockerignore|bar" },
	/* cleaning */
	{ "leading-slash", "/foo\n", "foo|a/foo", ".dockerignore|a/|a/foo" },
	{ "dot-slash", "./foo\n", "foo|bar", ".dockerignore|bar" },
	{ "dotdot", "foo/../bar\n", "foo/x|bar", ".dockerignore|foo/|foo/x" },
	{ "trailing-slash", "foo/\n", "foo/x|foox", ".dockerignore|foox" },
	{ "double-slash", "a//b\n", "a/b|a/c", ".dockerignore|a/|a/c" },
	{ "dot-matches-nothing", ".\n", "a", ".dockerignore|a" },
	{ "outside-matches-nothing", "../a\n..\n", "a", ".dockerignore|a" },
	/* exceptions and last match wins */
	{ "last-match-wins", "!README.md\n*.md\n", "README.md|a.txt", ".dockerignore|a.txt" },
	{ "exception-first-is-noop", "!a\na\n", "a|b", ".dockerignore|b" },
	{ "bang-space", "*.txt\n! keep.txt\n", "a.txt|keep.txt", ".dockerignore|keep.txt" },
	{ "dir-with-exception", "dir\n!dir/keep\n", "dir/keep|dir/drop|dir/sub/x",
	  ".dockerignore|dir/|dir/keep" },
	{ "dir-with-glob-exception", "dir\n!dir/*.go\n", "dir/a.go|dir/b.txt|dir/sub/c.go",
	  ".dockerignore|dir/|dir/a.go" },
	{ "exception-dir-subtree", "vendor\n!vendor/keep\n", "vendor/keep/x|vendor/keep/y|vendor/drop/z",
	  ".dockerignore|vendor/|vendor/keep/|vendor/keep/x|vendor/keep/y" },
	{ "exception-then-reexclude", "docs\n!docs/README.md\ndocs/*.md\n", "docs/README.md|docs/a.txt",
	  ".dockerignore" },
	{ "exception-double-star", "**/*.log\n!important/**/*.log\n",
	  "a.log|important/x.log|important/sub/y.log|other/z.log",
	  ".dockerignore|important/|important/sub/|important/sub/y.log|important/x.log|other/" },
	{ "dir-star-exception", "dir/*\n!dir/keep\n", "dir/keep|dir/x", ".dockerignore|dir/|dir/keep" },
	/* BuildKit reuses parent results: "!a/b" is not re-tested on a/b's parents */
	{ "parent-results", "a/b/c\n!a/b\n", "a/b/c|a/b/d", ".dockerignore|a/|a/b/|a/b/d" },
	/* always kept */
	{ "dockerfile-kept", "Dockerfile\n*.txt\n", "Dockerfile|a.txt|b", ".dockerignore|Dockerfile|b" },
	{ "dockerignore-kept", ".dockerignore\n", "a", ".dockerignore|a" },
	{ "empty-dir-kept", "x\n", "e/|x", ".dockerignore|e/" },
	/* malformed patterns are errors */
	{ "unterminated-class", "[\n", "a", NULL },
	{ "unterminated-class-mid", "a[b\n", "a", NULL },
	{ "empty-class", "[]a]\n", "a", NULL },
	{ "trailing-backslash", "foo\\\n", "a", NULL },
	{ "lone-bang", "!\n", "a", NULL },
	{ "reversed-range", "[z-a]\n", "a", NULL },
	{ "unknown-posix-class", "[[:foo:]]\n", "a", NULL },
};

static char *mktree(const char *tree, const char *ignore)
{
	char tmpl[] = "/tmp/eidf-di.XXXXXX";
	char *root = xstrdup(mkdtemp(tmpl));
	assert_non_null(root);
	char *spec = xstrdup(tree);
	char *save = NULL;
	for (char *p = strtok_r(spec, "|", &save); p; p = strtok_r(NULL, "|", &save)) {
		char *full = xasprintf("%s/%s", root, p);
		for (char *s = full + strlen(root) + 1; *s; s++) {
			if (*s == '/') {
				*s = '\0';
				mkdir(full, 0755);
				*s = '/';
			}
		}
		if (full[strlen(full) - 1] != '/') {
			FILE *f = fopen(full, "w");
			assert_non_null(f);
			fputs("x", f);
			fclose(f);
		}
		free(full);
	}
	free(spec);
	char *ig = xasprintf("%s/.dockerignore", root);
	assert_int_equal(write_file_atomic(ig, ignore, strlen(ignore), 0644), 0);
	free(ig);
	return root;
}

static void rmtree(const char *root)
{
	char *cmd = xasprintf("rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static int collect(const struct bctx_entry *e, void *ud)
{
	strvec_pushf(ud, "%s%s", e->path, e->type == BCTX_DIR ? "/" : "");
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *joined_sorted(struct strvec *sv)
{
	if (sv->n)
		qsort(sv->v, sv->n, sizeof(*sv->v), cmp_str);
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < sv->n; i++) {
		if (i)
			strbuf_addch(&sb, '|');
		strbuf_addstr(&sb, sv->v[i]);
	}
	return strbuf_detach(&sb);
}

static void test_cases(void **state)
{
	(void)state;
	int failures = 0;
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(cases); i++) {
		const struct di_case *c = &cases[i];
		char *root = mktree(c->tree, c->ignore);
		struct strvec got = STRVEC_INIT;
		struct bctx_opts o = { 0 };
		o.dir = root;
		o.use_ignore = 1;
		o.entry = collect;
		o.entry_ud = &got;
		struct bctx_result res;
		int rc = bctx_build(&o, &res);
		if (!c->expect) {
			if (rc == 0) {
				print_error("case %s: expected an error, got success\n", c->name);
				failures++;
			}
		} else if (rc < 0) {
			print_error("case %s: unexpected error: %s\n", c->name, eidf_last_error());
			failures++;
		} else {
			struct strvec want = STRVEC_INIT;
			char *spec = xstrdup(c->expect);
			char *save = NULL;
			for (char *p = strtok_r(spec, "|", &save); p; p = strtok_r(NULL, "|", &save))
				strvec_push(&want, p);
			free(spec);
			char *g = joined_sorted(&got), *w = joined_sorted(&want);
			if (strcmp(g, w)) {
				print_error("case %s:\n  want %s\n  got  %s\n", c->name, w, g);
				failures++;
			}
			free(g);
			free(w);
			strvec_clear(&want);
		}
		if (rc == 0)
			bctx_result_release(&res);
		strvec_clear(&got);
		rmtree(root);
		free(root);
	}
	assert_true(EIDF_ARRAY_SIZE(cases) >= 40);
	assert_int_equal(failures, 0);
}

static void test_clean(void **state)
{
	(void)state;
	static const char *const t[][2] = {
		{ "", "." }, { ".", "." }, { "a/./b", "a/b" }, { "a//b/", "a/b" }, { "a/../b", "b" },
		{ "../a", "../a" }, { "/../a", "/a" }, { "a/b/../../..", ".." }, { "/", "/" },
		{ "!a/../b", "b" }, { "abc/def/../../..", ".." }, { "./../x/.", "../x" },
	};
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(t); i++) {
		char *c = dockerignore_clean(t[i][0]);
		assert_string_equal(c, t[i][1]);
		free(c);
	}
}

static void test_read(void **state)
{
	(void)state;
	struct strvec sv = STRVEC_INIT;
	const char *in = "\xEF\xBB\xBF/abs\n#c\n  spaced  \n!  /x/../y\n\r\n!\nend";
	assert_int_equal(dockerignore_read(in, strlen(in), &sv), 0);
	assert_int_equal(sv.n, 5);
	assert_string_equal(sv.v[0], "abs");
	assert_string_equal(sv.v[1], "spaced");
	assert_string_equal(sv.v[2], "!y");
	assert_string_equal(sv.v[3], "!");
	assert_string_equal(sv.v[4], "end");
	strvec_clear(&sv);

	/* a line over bufio.Scanner's limit is an error, as in Go */
	size_t n = 70000;
	char *big = xmalloc(n);
	memset(big, 'a', n);
	assert_int_equal(dockerignore_read(big, n, &sv), -1);
	free(big);
	strvec_clear(&sv);
}

static void test_matcher(void **state)
{
	(void)state;
	const char *pats[] = { "**/test", "!keep/test", "a/*.c" };
	struct dockerignore *di = dockerignore_new(pats, 3);
	assert_non_null(di);
	assert_true(dockerignore_has_exclusions(di));
	assert_int_equal(dockerignore_matches(di, "test"), 1);
	assert_int_equal(dockerignore_matches(di, "x/y/test/z"), 1);
	assert_int_equal(dockerignore_matches(di, "keep/test"), 0);
	assert_int_equal(dockerignore_matches(di, "a/b.c"), 1);
	assert_int_equal(dockerignore_matches(di, "a/b/c.c"), 0);
	assert_int_equal(dockerignore_matches(di, "attest"), 0);
	dockerignore_free(di);

	const char *bad[] = { "ok", "x[" };
	assert_null(dockerignore_new(bad, 2));
	assert_non_null(strstr(eidf_last_error(), "x["));
}

static void test_keep(void **state)
{
	(void)state;
	struct strvec sv = STRVEC_INIT;
	strvec_push(&sv, "*");
	dockerignore_keep(&sv, ".dockerignore");
	dockerignore_keep(&sv, "sub/Dockerfile");
	assert_int_equal(sv.n, 3);
	assert_string_equal(sv.v[1], "!.dockerignore");
	assert_string_equal(sv.v[2], "!sub/Dockerfile");
	strvec_clear(&sv);

	strvec_push(&sv, "*.txt");
	dockerignore_keep(&sv, "Dockerfile");
	assert_int_equal(sv.n, 1);
	strvec_clear(&sv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_matcher),
		cmocka_unit_test(test_keep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
