/* devrun sessions: what a run ships relative to the previous run of the
 * session (session_delta.c), against real repositories built with the git
 * CLI in a scratch directory. */
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

#include <git2.h>

#include "changes.h"
#include "git_scratch.h"
#include "repo_state.h"
#include "eidf/manifest.h"
#include "session_delta.h"

static char *root;

static int setup(void **state)
{
	(void)state;
	git_scratch_setup("eidf-session-unit");
	root = git_scratch_repo("r");
	scratch_cwd = xstrdup(root);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(root);
	root = NULL;
	git_scratch_teardown();
	return 0;
}

/* One run: the changes (tar filtered by prev) and the delta. */
struct run {
	struct repo_state rs;
	struct changes c;
	struct session_delta d;
};

static void collect(struct run *r, const struct session_state *prev)
{
	struct repo_opts ro = { .path = root };
	repo_state_init(&r->rs);
	assert_int_equal(repo_state_load(&r->rs, &ro), 0);
	changes_init(&r->c);
	struct changes_opts co = { .base_sha = r->rs.commit_sha, .max_encoded = SIZE_MAX,
				   .pack_filter = prev ? session_pack_filter : NULL, .pack_filter_ud = (void *)prev };
	assert_int_equal(changes_collect(r->rs.repo, r->rs.root, &co, &r->c), 0);
	assert_int_equal(session_delta_compute(r->rs.repo, r->rs.commit_sha, &r->c, prev, NULL, &r->d), 0);
}

static void run_release(struct run *r)
{
	session_delta_release(&r->d);
	changes_release(&r->c);
	repo_state_release(&r->rs);
}

/* Save the state after run r and load it back, as the next run does. */
static void save_load(struct run *r, const char *file, struct session_state *st)
{
	session_state_release(st);
	cJSON *pod = cJSON_Parse("{\"metadata\":{\"name\":\"pod-1\",\"uid\":\"uid-1\",\"managedFields\":[],"
				 "\"annotations\":{\"a\":\"b\"}},\"status\":{}}");
	assert_int_equal(session_state_save(file, pod, r->rs.commit_sha, r->c.tree, &r->c), 0);
	cJSON_Delete(pod);
	assert_int_equal(session_state_load(file, st), 0);
	assert_string_equal(st->pod_uid, "uid-1");
	/* the pod's name and annotations are kept for the next run, nothing else */
	assert_non_null(st->pod);
	assert_string_equal(json_str(st->pod, "metadata.name"), "pod-1");
	assert_string_equal(json_str(st->pod, "metadata.annotations.a"), "b");
	assert_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(st->pod, "metadata"),
						     "managedFields"));
	assert_null(cJSON_GetObjectItemCaseSensitive(st->pod, "status"));
	assert_string_equal(st->tree, r->c.tree);
}

static void list_is(const struct strbuf *sb, const char *want)
{
	struct strbuf got = STRBUF_INIT;
	for (size_t i = 0; i < sb->len; i++)
		strbuf_addch(&got, sb->buf[i] ? sb->buf[i] : ',');
	assert_string_equal(strbuf_str(&got), want);
	strbuf_release(&got);
}

static void test_delta_since_previous_run(void **state)
{
	(void)state;
	char *file = xasprintf("%s/state/ns/s.json", scratch);
	struct session_state st = { 0 };
	struct run r;

	/* first run: everything relative to the commit */
	sh("printf 'local\\n' >a.txt && printf 'new\\n' >n.txt");
	collect(&r, NULL);
	assert_true(r.d.full);
	assert_int_equal(r.d.n_files, 2);
	assert_int_equal(r.d.n_deleted + r.d.n_restored, 0);
	assert_true(r.d.payload.len > 0);
	save_load(&r, file, &st);
	assert_int_equal(st.n, 2);
	run_release(&r);

	/* nothing changed since: nothing to send */
	collect(&r, &st);
	assert_int_equal(r.d.n_files, 0);
	assert_int_equal(r.d.payload.len, 0);
	run_release(&r);

	/* one more file edited: only it */
	sh("printf 'edited\\n' >b.txt");
	collect(&r, &st);
	assert_false(r.d.full);
	assert_int_equal(r.d.n_files, 1);
	assert_int_equal(r.c.n_written, 3);
	save_load(&r, file, &st);
	run_release(&r);

	/* a.txt back to the commit, n.txt gone, dir/c.txt deleted */
	sh("git checkout -q a.txt && rm n.txt dir/c.txt");
	collect(&r, &st);
	assert_int_equal(r.d.n_files, 0);
	list_is(&r.d.deleted, "dir/c.txt,n.txt,");
	list_is(&r.d.restore, "a.txt,");
	save_load(&r, file, &st);
	run_release(&r);

	/* a mode change alone; dir/c.txt back (restored, not shipped) */
	sh("chmod +x b.txt && git checkout -q dir/c.txt");
	collect(&r, &st);
	assert_int_equal(r.d.n_files, 1);
	assert_int_equal(r.d.n_deleted, 0);
	list_is(&r.d.restore, "dir/c.txt,");
	save_load(&r, file, &st);
	run_release(&r);

	/* a file replaced by a symlink: the file goes before the link lands */
	sh("rm a.txt && ln -s b.txt a.txt");
	collect(&r, &st);
	assert_int_equal(r.d.n_files, 1);
	list_is(&r.d.deleted, "a.txt,");
	run_release(&r);

	session_state_release(&st);
	free(file);
}

static void test_state_file_missing_or_damaged(void **state)
{
	(void)state;
	struct session_state st;
	char *file = xasprintf("%s/nothing.json", scratch);
	assert_int_equal(session_state_load(file, &st), 0);
	assert_null(st.pod_uid);
	assert_int_equal(st.n, 0);
	sh("printf '{\"pod\": 1' >'%s'", file);
	assert_int_equal(session_state_load(file, &st), 0);
	assert_null(st.pod_uid);
	session_state_release(&st);
	free(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delta_since_previous_run),
		cmocka_unit_test(test_state_file_missing_or_damaged),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
