/* settings.c: user config, repo overlay, lists, malformed YAML, GPU list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eidf/settings.h"

static char tmpdir[] = "/tmp/eidf-settings-XXXXXX";

static void write_text(const char *path, const char *text)
{
	assert_int_equal(write_file_atomic(path, text, strlen(text), 0644), 0);
}

static char *user_file(void)
{
	return xasprintf("%s/kubectl-eidf/config.yaml", tmpdir);
}

static int setup(void **state)
{
	(void)state;
	char *d;
	if (!mkdtemp(tmpdir))
		return -1;
	d = xasprintf("%s/kubectl-eidf", tmpdir);
	mkdir(d, 0755);
	free(d);
	setenv("XDG_CONFIG_HOME", tmpdir, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	int rc = system(cmd);
	free(cmd);
	settings_reset();
	return rc == 0 ? 0 : -1;
}

static int each(void **state)
{
	(void)state;
	char *u = user_file();
	unlink(u);
	free(u);
	settings_reset();
	return 0;
}

static void test_user_path(void **state)
{
	(void)state;
	char *p = settings_user_path(), *want = user_file();
	assert_string_equal(p, want);
	free(p);
	free(want);
	setenv("XDG_CONFIG_HOME", "", 1);
	setenv("HOME", "/home/someone", 1);
	p = settings_user_path();
	assert_string_equal(p, "/home/someone/.config/kubectl-eidf/config.yaml");
	free(p);
	setenv("XDG_CONFIG_HOME", tmpdir, 1);
}

static void test_no_file(void **state)
{
	(void)state;
	assert_string_equal(setting("queue", "dflt"), "dflt");
	assert_null(setting("queue", NULL));
	struct strvec sv = STRVEC_INIT;
	setting_list("images", &sv);
	assert_int_equal(sv.n, 0);
}

static void test_user_file(void **state)
{
	(void)state;
	char *u = user_file();
	write_text(u, "queue: eidf042ns-user-queue\n"
		      "storage-class: csi-cephfs-sc\n"
		      "devrun:\n"
		      "  image: python:3.12\n"
		      "  gpu:\n"
		      "    product: NVIDIA-H100-80GB-HBM3\n"
		      "images:\n"
		      "  - python:3.12\n"
		      "  - pytorch/pytorch:latest\n"
		      "empty:\n"
		      "quoted: \"\"\n"
		      "tags: a, b ,c\n");
	free(u);
	assert_string_equal(setting("queue", NULL), "eidf042ns-user-queue");
	assert_string_equal(setting("devrun.image", NULL), "python:3.12");
	assert_string_equal(setting("devrun.gpu.product", NULL), "NVIDIA-H100-80GB-HBM3");
	assert_null(setting("devrun", NULL));
	assert_string_equal(setting("empty", "d"), "d");
	assert_string_equal(setting("quoted", "d"), "");
	struct strvec sv = STRVEC_INIT;
	setting_list("images", &sv);
	assert_int_equal(sv.n, 2);
	assert_string_equal(sv.v[1], "pytorch/pytorch:latest");
	strvec_clear(&sv);
	setting_list("tags", &sv);
	assert_int_equal(sv.n, 3);
	assert_string_equal(sv.v[0], "a");
	assert_string_equal(sv.v[1], "b");
	assert_string_equal(sv.v[2], "c");
	strvec_clear(&sv);
	setting_list("queue", &sv);
	assert_int_equal(sv.n, 1);
	strvec_clear(&sv);
}

static void test_repo_overlay(void **state)
{
	(void)state;
	char *u = user_file();
	char *r = xasprintf("%s/repo.yaml", tmpdir);
	write_text(u, "queue: user-q\npvc: user-pvc\nimages: [a, b]\n");
	write_text(r, "queue: repo-q\nimages:\n  - c\ndevrun:\n  image: repo-img\n");
	assert_string_equal(setting("queue", NULL), "user-q");
	assert_int_equal(settings_load_repo(r), 0);
	assert_string_equal(setting("queue", NULL), "repo-q");
	assert_string_equal(setting("pvc", NULL), "user-pvc");
	assert_string_equal(setting("devrun.image", NULL), "repo-img");
	struct strvec sv = STRVEC_INIT;
	setting_list("images", &sv);
	assert_int_equal(sv.n, 1);
	assert_string_equal(sv.v[0], "c");
	strvec_clear(&sv);
	/* a missing repo file is fine */
	char *missing = xasprintf("%s/nope.yaml", tmpdir);
	assert_int_equal(settings_load_repo(missing), 0);
	free(missing);
	free(u);
	free(r);
}

static void test_malformed(void **state)
{
	(void)state;
	char *u = user_file();
	char *r = xasprintf("%s/bad.yaml", tmpdir);
	write_text(r, "queue: [unclosed\n");
	assert_int_equal(settings_load_repo(r), -1);
	assert_non_null(strstr(eidf_last_error(), r));
	write_text(r, "- a\n- b\n");
	assert_int_equal(settings_load_repo(r), -1);
	assert_non_null(strstr(eidf_last_error(), "mapping"));
	/* a broken user file is ignored with a warning */
	settings_reset();
	write_text(u, "queue: 'x\n");
	assert_string_equal(setting("queue", "d"), "d");
	settings_reset();
	write_text(u, "");
	assert_string_equal(setting("queue", "d"), "d");
	free(u);
	free(r);
}

static void test_gpu_products(void **state)
{
	(void)state;
	struct strvec sv = STRVEC_INIT;
	gpu_products(&sv);
	assert_int_equal(sv.n, 6);
	assert_string_equal(sv.v[0], "NVIDIA-A100-SXM4-80GB");
	assert_true(strvec_contains(&sv, "NVIDIA-A100-SXM4-40GB-MIG-3g.20gb"));
	assert_true(strvec_contains(&sv, "NVIDIA-H200"));
	strvec_clear(&sv);
	char *u = user_file();
	write_text(u, "gpu-products: [X1, X2]\n");
	free(u);
	settings_reset();
	gpu_products(&sv);
	assert_int_equal(sv.n, 2);
	assert_string_equal(sv.v[0], "X1");
	strvec_clear(&sv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_user_path, each),
		cmocka_unit_test_setup(test_no_file, each),
		cmocka_unit_test_setup(test_user_file, each),
		cmocka_unit_test_setup(test_repo_overlay, each),
		cmocka_unit_test_setup(test_malformed, each),
		cmocka_unit_test_setup(test_gpu_products, each),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
