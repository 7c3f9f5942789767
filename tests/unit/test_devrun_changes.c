/* devrun: repository state and local-change packing against real git
 * repositories built with the git CLI in a scratch directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <git2.h>

#include "changes.h"
#include "git_scratch.h"
#include "ignore.h"
#include "repo_state.h"
#include "submodules.h"

static void write_bytes(const char *rel, const void *data, size_t len)
{
	char *p = xasprintf("%s/%s", scratch, rel);
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	fwrite(data, 1, len, f);
	fclose(f);
	free(p);
}

static int setup(void **state)
{
	(void)state;
	git_scratch_setup("eidf-devrun-unit");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	git_scratch_teardown();
	return 0;
}

static int load(const char *root, const char *base, struct repo_state *rs)
{
	struct repo_opts o = { .path = root, .base = base };
	repo_state_init(rs);
	return repo_state_load(rs, &o);
}

/* name -> content of every regular file / symlink in a .tar.gz */
struct entry { char *path; struct strbuf data; unsigned perm; int symlink; };
static size_t read_tar(const struct strbuf *tgz, struct entry *out, size_t max)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	assert_int_equal(archive_read_open_memory(a, tgz->buf, tgz->len), ARCHIVE_OK);
	struct archive_entry *e;
	size_t n = 0;
	while (archive_read_next_header(a, &e) == ARCHIVE_OK && n < max) {
		struct entry *x = &out[n++];
		memset(x, 0, sizeof(*x));
		x->path = xstrdup(archive_entry_pathname(e));
		x->perm = archive_entry_perm(e);
		x->symlink = archive_entry_filetype(e) == AE_IFLNK;
		if (x->symlink) {
			strbuf_addstr(&x->data, archive_entry_symlink(e));
			continue;
		}
		char buf[4096];
		la_ssize_t r;
		while ((r = archive_read_data(a, buf, sizeof(buf))) > 0)
			strbuf_add(&x->data, buf, (size_t)r);
	}
	archive_read_free(a);
	return n;
}

static void free_entries(struct entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].path);
		strbuf_release(&v[i].data);
	}
}

static const struct entry *find_entry(const struct entry *v, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].path, path))
			return &v[i];
	return NULL;
}

static char find_status(const struct changes *c, const char *path, char skip)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->files[i].path, path) && c->files[i].status != skip)
			return c->files[i].status;
	return 0;
}

/* Load the repository ROOT into RS and collect its changes into C (fresh). */
static int load_and_collect(const char *root, struct repo_state *rs, struct changes *c,
			    struct changes_opts *o)
{
	assert_int_equal(load(root, NULL, rs), 0);
	changes_init(c);
	o->base_sha = rs->commit_sha;
	return changes_collect(rs->repo, rs->root, o, c);
}

/* c->tree must be the tree `git add -A` writes for the working tree DIR */
static void assert_git_tree(const struct changes *c, const char *dir)
{
	char *tree = sh_out("cd %s && export GIT_INDEX_FILE=$PWD/../check-idx && rm -f ../check-idx && "
			    "git read-tree HEAD && git add -A && git write-tree", dir);
	assert_string_equal(c->tree, tree);
	free(tree);
}

static void test_clean_tree(void **state)
{
	(void)state;
	char *root = git_scratch_repo("clean");
	struct repo_state rs;
	assert_int_equal(load(root, NULL, &rs), 0);
	assert_string_equal(rs.root, root);
	assert_string_equal(rs.remote_name, "origin");
	assert_string_equal(rs.remote_branch, "main");
	assert_string_equal(rs.commit_sha, rs.head_sha);
	assert_non_null(strstr(rs.url, "clean/srv.git"));
	struct changes c;
	changes_init(&c);
	struct changes_opts o = { .base_sha = rs.commit_sha };
	assert_int_equal(changes_collect(rs.repo, rs.root, &o, &c), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(c.tar_gz.len, 0);
	char *tree = sh_out("cd clean/w && git rev-parse HEAD^{tree}");
	assert_string_equal(c.tree, tree);
	free(tree);
	changes_release(&c);
	repo_state_release(&rs);
	free(root);
}

static void test_all_kinds(void **state)
{
	(void)state;
	char *root = git_scratch_repo("kinds");
	static const char bin[] = { 'B', 0, 1, 2, 0, (char)0xff, '\n', 0 };
	sh("cd kinds/w && printf 'one changed\\n' >a.txt && rm b.txt && git mv old.txt new.txt && "
	   "printf 'staged\\n' >staged.txt && git add staged.txt && mkdir -p sub/deep && "
	   "printf 'untracked\\n' >sub/deep/u.txt && chmod +x run.sh && mkdir -p ign && "
	   "printf 'secret\\n' >ign/x && printf 'log\\n' >debug.log && ln -s a.txt link && "
	   "printf 'data/\\n*.ckpt\\n' >.eidfignore && mkdir -p data && printf 'big\\n' >data/d && "
	   "printf 'w\\n' >m.ckpt && printf 'changed too\\n' >dir/c.txt");
	write_bytes("kinds/w/blob.bin", bin, sizeof(bin));

	struct repo_state rs;
	assert_int_equal(load(root, NULL, &rs), 0);
	struct changes c;
	changes_init(&c);
	struct changes_opts o = { .base_sha = rs.commit_sha };
	assert_int_equal(changes_collect(rs.repo, rs.root, &o, &c), 0);

	assert_int_equal(find_status(&c, "a.txt", 0), 'M');
	assert_int_equal(find_status(&c, "b.txt", 0), 'D');
	assert_int_equal(find_status(&c, "old.txt", 0), 'D');
	assert_true(find_status(&c, "new.txt", 0) != 0);
	assert_true(find_status(&c, "staged.txt", 0) != 0);
	assert_int_equal(find_status(&c, "sub/deep/u.txt", 0), '?');
	assert_int_equal(find_status(&c, "run.sh", 0), 'M');
	assert_int_equal(find_status(&c, "blob.bin", 0), '?');
	assert_int_equal(find_status(&c, "link", 0), '?');
	assert_int_equal(find_status(&c, ".eidfignore", 0), '?');
	assert_int_equal(find_status(&c, "ign/x", 0), 0);
	assert_int_equal(find_status(&c, "debug.log", 0), 0);
	assert_int_equal(find_status(&c, "data/d", 0), 0);
	assert_int_equal(find_status(&c, "m.ckpt", 0), 0);
	for (size_t i = 1; i < c.n; i++) /* deterministic order */
		assert_true(strcmp(c.files[i - 1].path, c.files[i].path) <= 0);

	/* deletion list: NUL-separated, sorted */
	assert_int_equal(c.n_deleted, 2);
	assert_int_equal(c.deleted.len, strlen("b.txt") + 1 + strlen("old.txt") + 1);
	assert_memory_equal(c.deleted.buf, "b.txt\0old.txt\0", c.deleted.len);

	struct entry ents[32];
	size_t ne = read_tar(&c.tar_gz, ents, 32);
	assert_int_equal(ne, c.n_written);
	const struct entry *e = find_entry(ents, ne, "blob.bin");
	assert_non_null(e);
	assert_int_equal(e->data.len, sizeof(bin));
	assert_memory_equal(e->data.buf, bin, sizeof(bin));
	e = find_entry(ents, ne, "run.sh");
	assert_non_null(e);
	assert_int_equal(e->perm, 0755);
	e = find_entry(ents, ne, "a.txt");
	assert_int_equal(e->perm, 0644);
	assert_string_equal(e->data.buf, "one changed\n");
	e = find_entry(ents, ne, "link");
	assert_true(e->symlink);
	assert_string_equal(e->data.buf, "a.txt");
	assert_null(find_entry(ents, ne, "ign/x"));
	free_entries(ents, ne);

	/* The expected tree is what `git add -A` gives, minus the .eidfignore'd files. */
	sh("cd kinds/w && rm -rf data m.ckpt");
	assert_git_tree(&c, "kinds/w");

	/* deterministic: packing again gives the same bytes */
	struct changes c2;
	changes_init(&c2);
	sh("cd kinds/w && mkdir -p data && printf 'big\\n' >data/d && printf 'w\\n' >m.ckpt");
	assert_int_equal(changes_collect(rs.repo, rs.root, &o, &c2), 0);
	assert_int_equal(c2.tar_gz.len, c.tar_gz.len);
	assert_memory_equal(c2.tar_gz.buf, c.tar_gz.buf, c.tar_gz.len);
	char *sum = changes_summary(&c, 0);
	assert_non_null(strstr(sum, "deleted"));
	free(sum);
	changes_release(&c2);
	changes_release(&c);
	repo_state_release(&rs);
	free(root);
}

static void test_size_limit(void **state)
{
	(void)state;
	char *root = git_scratch_repo("big");
	sh("cd big/w && head -c 1500000 /dev/urandom >huge.bin && head -c 300000 /dev/urandom >mid.bin && "
	   "printf 'small\\n' >small.txt");
	struct repo_state rs;
	assert_int_equal(load(root, NULL, &rs), 0);
	struct changes c;
	changes_init(&c);
	struct changes_opts o = { .base_sha = rs.commit_sha };
	assert_int_equal(changes_collect(rs.repo, rs.root, &o, &c), -2);
	assert_non_null(strstr(eidf_last_error(), "too large"));
	assert_non_null(strstr(eidf_last_error(), "--no-local-changes"));
	struct strbuf sb = STRBUF_INIT;
	changes_largest(&c, 2, &sb);
	char *first = strstr(sb.buf, "huge.bin");
	char *second = strstr(sb.buf, "mid.bin");
	assert_non_null(first);
	assert_non_null(second);
	assert_true(first < second);
	assert_null(strstr(sb.buf, "small.txt"));
	strbuf_release(&sb);
	changes_release(&c);

	/* a smaller limit refuses what the default accepts */
	sh("cd big/w && rm huge.bin mid.bin");
	changes_init(&c);
	o.max_encoded = 8;
	assert_int_equal(changes_collect(rs.repo, rs.root, &o, &c), -2);
	changes_release(&c);
	repo_state_release(&rs);
	free(root);
}

/* The expected tree when paths change kind: file -> directory, directory ->
 * file, file -> symlink, a directory emptied, deep new directories. */
static void test_tree_kind_changes(void **state)
{
	(void)state;
	char *root = git_scratch_repo("kinds2");
	sh("cd kinds2/w && rm a.txt && mkdir a.txt && printf 'in\\n' >a.txt/inner && "
	   "rm -r dir && printf 'now a file\\n' >dir && rm b.txt && ln -s run.sh b.txt && "
	   "rm old.txt && mkdir -p n1/n2/n3 && printf 'deep\\n' >n1/n2/n3/f");
	struct repo_state rs;
	struct changes c;
	struct changes_opts o = { 0 };
	assert_int_equal(load_and_collect(root, &rs, &c, &o), 0);
	assert_git_tree(&c, "kinds2/w");
	changes_release(&c);

	/* only in-place changes: the per-path update, same answer as git */
	sh("cd kinds2/w && git checkout -q -f HEAD && git clean -q -fd && "
	   "printf 'edit\\n' >>dir/c.txt && chmod +x a.txt && rm old.txt && "
	   "mkdir -p dir/sub && printf 'n\\n' >dir/sub/new");
	changes_init(&c);
	assert_int_equal(changes_collect(rs.repo, rs.root, &o, &c), 0);
	assert_git_tree(&c, "kinds2/w");
	changes_release(&c);

	/* a directory whose only file is deleted disappears from the tree */
	sh("cd kinds2/w && git checkout -q -f HEAD && git clean -q -fd && rm dir/c.txt");
	changes_init(&c);
	assert_int_equal(changes_collect(rs.repo, rs.root, &o, &c), 0);
	assert_git_tree(&c, "kinds2/w");
	changes_release(&c);
	repo_state_release(&rs);
	free(root);
}

/* Packed fast first; a change set that only fits at the best compression
 * level is packed again at that level, not refused. */
static void test_recompress_to_fit(void **state)
{
	(void)state;
	char *root = git_scratch_repo("squeeze");
	sh("cd squeeze/w && for i in $(seq 400); do echo \"loss epoch $i batch $((i * 7 %% 13)) grad\"; done >log.txt");
	struct repo_state rs;
	struct changes c;
	struct changes_opts o = { 0 };
	assert_int_equal(load_and_collect(root, &rs, &c, &o), 0);
	size_t fast = c.encoded_size;
	changes_release(&c);

	changes_init(&c);
	o.max_encoded = fast - 1;
	assert_int_equal(changes_collect(rs.repo, rs.root, &o, &c), 0);
	assert_true(c.encoded_size < fast);
	struct entry v[4];
	size_t n = read_tar(&c.tar_gz, v, 4);
	const struct entry *e = find_entry(v, n, "log.txt");
	assert_non_null(e);
	char *want = sh_out("cat squeeze/w/log.txt");
	assert_int_equal(e->data.len, strlen(want) + 1); /* sh_out drops the final newline */
	assert_memory_equal(e->data.buf, want, strlen(want));
	free(want);
	free_entries(v, n);
	changes_release(&c);
	repo_state_release(&rs);
	free(root);
}

static void test_unpushed_and_base(void **state)
{
	(void)state;
	char *root = git_scratch_repo("unpushed");
	sh("cd unpushed/w && printf 'local\\n' >a.txt && git commit -q -am local");
	struct repo_state rs;
	assert_int_equal(load(root, NULL, &rs), -1);
	assert_non_null(strstr(eidf_last_error(), "not on any remote-tracking branch"));
	assert_non_null(strstr(eidf_last_error(), "--base"));
	repo_state_release(&rs);

	assert_int_equal(load(root, "origin/main", &rs), 0);
	char *pushed = sh_out("cd unpushed/w && git rev-parse origin/main");
	assert_string_equal(rs.commit_sha, pushed);
	assert_string_not_equal(rs.head_sha, pushed);
	free(pushed);
	/* the difference from the pushed commit includes the local commit */
	struct changes c;
	changes_init(&c);
	struct changes_opts o = { .base_sha = rs.commit_sha };
	assert_int_equal(changes_collect(rs.repo, rs.root, &o, &c), 0);
	assert_int_equal(find_status(&c, "a.txt", 0), 'M');
	char *tree = sh_out("cd unpushed/w && git rev-parse HEAD^{tree}");
	assert_string_equal(c.tree, tree);
	free(tree);
	changes_release(&c);
	repo_state_release(&rs);

	/* an unpushed --base is refused too */
	assert_int_equal(load(root, "HEAD", &rs), -1);
	assert_non_null(strstr(eidf_last_error(), "--base HEAD"));
	repo_state_release(&rs);

	/* a pushed HEAD on a branch behind the remote is fine */
	sh("cd unpushed/w && git push -q origin HEAD:main");
	assert_int_equal(load(root, NULL, &rs), 0);
	repo_state_release(&rs);
	free(root);
}

static void test_not_a_repo(void **state)
{
	(void)state;
	char *dir = xasprintf("%s/plain", scratch);
	mkdir(dir, 0755);
	struct repo_state rs;
	assert_int_equal(load(dir, NULL, &rs), -1);
	assert_non_null(strstr(eidf_last_error(), "not a git repository"));
	repo_state_release(&rs);
	free(dir);
}

static void test_urls(void **state)
{
	(void)state;
	assert_true(git_url_is_ssh("git@github.com:org/repo.git"));
	assert_true(git_url_is_ssh("ssh://git@github.com/org/repo.git"));
	assert_false(git_url_is_ssh("https://github.com/org/repo.git"));
	assert_false(git_url_is_ssh("/srv/repo.git"));
	assert_false(git_url_is_ssh("git://127.0.0.1:9418/r"));
	char *h = git_url_ssh_to_https("git@github.com:org/repo.git");
	assert_string_equal(h, "https://github.com/org/repo.git");
	free(h);
	h = git_url_ssh_to_https("ssh://git@gitlab.eidf.ac.uk:2222/g/r.git");
	assert_string_equal(h, "https://gitlab.eidf.ac.uk/g/r.git");
	free(h);
	h = git_url_redact("https://user:tok@host/x.git");
	assert_string_equal(h, "https://host/x.git");
	free(h);
	/* submodule URLs, resolved as git resolves them */
	static const char *const cases[][3] = {
		{ "https://github.com/org/repo.git", "../lib.git", "https://github.com/org/lib.git" },
		{ "https://github.com/org/repo.git/", "../../other/lib", "https://github.com/other/lib" },
		{ "git://127.0.0.1:9418/repo.git", "./sub", "git://127.0.0.1:9418/repo.git/sub" },
		{ "git@github.com:org/repo.git", "../lib.git", "git@github.com:org/lib.git" },
		{ "git@host:repo.git", "../lib.git", "git@host:lib.git" },
		{ "https://x/org/repo.git", "https://y/abs.git", "https://y/abs.git" },
	};
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(cases); i++) {
		h = git_url_resolve(cases[i][0], cases[i][1]);
		assert_non_null(h);
		assert_string_equal(h, cases[i][2]);
		free(h);
	}
	assert_null(git_url_resolve("https://host/repo.git", "../../x.git"));
}

/* A submodule: its HEAD (moved, pushed) and its edits give the trees git
 * writes, in the superproject (gitlink) and in the submodule. */
static void test_submodule(void **state)
{
	(void)state;
	char *root = git_scratch_repo("sm");
	sh("git init -q --bare -b main sm/sub.git && git clone -q sm/sub.git sm/subw 2>/dev/null && "
	   "cd sm/subw && git checkout -q -b main && echo v1 >f.txt && echo d >del.txt && git add -A && "
	   "git commit -q -m v1 && git push -q -u origin main && echo v2 >f.txt && git commit -q -am v2 && "
	   "git push -q && cd ../w && git -c protocol.file.allow=always submodule add -q ../sub.git lib && "
	   "git -C lib checkout -q HEAD~1 && git add lib && git commit -q -m sub && git push -q && "
	   "git -C lib checkout -q main && echo edited >lib/f.txt && rm lib/del.txt && echo n >lib/new.txt");
	struct repo_state rs;
	assert_int_equal(load(root, NULL, &rs), 0);
	struct submodules subs;
	struct submodules_opts so = { .base_sha = rs.commit_sha, .pod_url = "git://h/r/w.git",
				      .working_state = 1 };
	assert_int_equal(submodules_load(rs.repo, rs.root, &so, &subs), 0);
	assert_int_equal(subs.n, 1);
	assert_string_equal(subs.v[0].path, "lib");
	assert_string_equal(subs.v[0].url, "git://h/r/sub.git");
	char *head = sh_out("cd sm/w/lib && git rev-parse HEAD");
	assert_string_equal(subs.v[0].commit, head);
	assert_string_not_equal(subs.v[0].commit, subs.v[0].recorded);
	struct changes c;
	changes_init(&c);
	struct changes_opts o = { .base_sha = rs.commit_sha, .subs = &subs };
	assert_int_equal(changes_collect(rs.repo, rs.root, &o, &c), 0);
	assert_int_equal(c.n_gitlinks, 1);
	assert_int_equal(c.n_written, 2);
	assert_int_equal(c.n_deleted, 1);
	assert_int_equal(c.deleted.len, 0);
	assert_memory_equal(c.subs[0].deleted.buf, "del.txt", 8);
	char *dir = xasprintf("%s/sm/w", scratch);
	assert_git_tree(&c, dir);
	char *sub_tree = sh_out("cd sm/w/lib && export GIT_INDEX_FILE=$PWD/../../sub-idx && rm -f ../../sub-idx && "
				"git read-tree HEAD && git add -A && git write-tree");
	assert_string_equal(c.subs[0].tree, sub_tree);
	const char *trees[] = { c.subs[0].tree };
	char *env = submodules_env(&subs, trees);
	char *want = xasprintf("%s %s git://h/r/sub.git lib\n", head, sub_tree);
	assert_string_equal(env, want);
	free(want);
	free(env);
	/* the superproject's .eidfignore covers files inside the submodule */
	changes_release(&c);
	sh("cd sm/w && printf 'lib/new.txt\\n' >.eidfignore");
	changes_init(&c);
	assert_int_equal(changes_collect(rs.repo, rs.root, &o, &c), 0);
	for (size_t i = 0; i < c.n; i++)
		assert_string_not_equal(c.files[i].path, "lib/new.txt");
	assert_int_equal(c.n_written, 2); /* lib/f.txt and .eidfignore */
	sh("rm sm/w/.eidfignore");
	free(sub_tree);
	free(dir);
	free(head);
	changes_release(&c);
	/* the same, not pushed: refused */
	submodules_release(&subs);
	sh("cd sm/w/lib && git commit -q -am local");
	assert_int_equal(submodules_load(rs.repo, rs.root, &so, &subs), -1);
	assert_non_null(strstr(eidf_last_error(), "submodule lib: HEAD"));
	repo_state_release(&rs);
	free(root);
}

static void test_ignore_rules(void **state)
{
	(void)state;
	struct ignore_rules r = IGNORE_RULES_INIT;
	const char *text = "# comment\n\n*.ckpt\n/top.txt\ndata/\n!keep.ckpt\nlogs/**/*.log\na/**/b\n"
			   "\\#hash\n[ab]?.tmp\n";
	ignore_rules_parse(&r, text, strlen(text));
	assert_true(ignore_rules_match(&r, "x.ckpt", 0));
	assert_true(ignore_rules_match(&r, "deep/dir/x.ckpt", 0));
	assert_false(ignore_rules_match(&r, "keep.ckpt", 0));
	assert_true(ignore_rules_match(&r, "top.txt", 0));
	assert_false(ignore_rules_match(&r, "sub/top.txt", 0));
	assert_true(ignore_rules_match(&r, "data/x", 0));
	assert_true(ignore_rules_match(&r, "sub/data/x", 0));
	assert_false(ignore_rules_match(&r, "data", 0));     /* a file named data */
	assert_true(ignore_rules_match(&r, "logs/a/b/c.log", 0));
	assert_true(ignore_rules_match(&r, "logs/c.log", 0));
	assert_true(ignore_rules_match(&r, "a/b", 0));
	assert_true(ignore_rules_match(&r, "a/x/y/b", 0));
	assert_true(ignore_rules_match(&r, "#hash", 0));
	assert_true(ignore_rules_match(&r, "a1.tmp", 0));
	assert_false(ignore_rules_match(&r, "c1.tmp", 0));
	assert_false(ignore_rules_match(&r, "src/main.c", 0));
	ignore_rules_release(&r);
	assert_true(ignore_wildmatch("*.c", "x.c"));
	assert_false(ignore_wildmatch("*.c", "d/x.c"));
	assert_true(ignore_wildmatch("**/x.c", "x.c"));
	assert_true(ignore_wildmatch("**/x.c", "d/e/x.c"));
	assert_true(ignore_wildmatch("d/**", "d/e/x.c"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ignore_rules),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_submodule),
		cmocka_unit_test(test_not_a_repo),
		cmocka_unit_test(test_clean_tree),
		cmocka_unit_test(test_all_kinds),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_recompress_to_fit),
		cmocka_unit_test(test_tree_kind_changes),
		cmocka_unit_test(test_unpushed_and_base),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
