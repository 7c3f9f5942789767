/* complete.c + cmd.c: cobra __complete output from option tables, and
 * stage_main's dispatch/completion modes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eidf/cmd.h"
#include "eidf/settings.h"

static const char *o_size, *o_mode, *o_gpu, *o_dir, *o_file, *o_pvc;
static int o_wait, ran;
static const char *const modes[] = { "ReadWriteMany", "ReadWriteOnce", "ReadOnlyMany", NULL };

static void custom_runs(const char *prefix, struct strvec *out, void *ctx)
{
	(void)prefix;
	assert_non_null(ctx);
	strvec_push(out, "run-a\tfirst run");
	strvec_push(out, "run-b");
}

static const struct option create_opts[] = {
	OPT_STRING(0, "size", &o_size, "quantity", "requested capacity", COMPLETE_NONE),
	OPT_ENUM(0, "access-mode", &o_mode, "mode", "access mode", modes),
	OPT_STRING(0, "gpu-product", &o_gpu, "product", "GPU product", COMPLETE_GPU_PRODUCT),
	OPT_STRING(0, "dir", &o_dir, "dir", "a directory", COMPLETE_DIR),
	OPT_STRING('f', "file", &o_file, "file", "a file", COMPLETE_FILE),
	OPT_STRING(0, "pvc", &o_pvc, "name", "a pvc", COMPLETE_PVC),
	OPT_BOOL('w', "wait", &o_wait, "wait"),
	OPT_INCLUDE(kube_options),
	OPT_END(),
};

static int run_create(struct eidf_cmd *cmd, int argc, const char **argv)
{
	(void)cmd;
	ran = argc;
	if (argc > 0 && !strcmp(argv[0], "fail"))
		return 7;
	return 0;
}

static const struct subcommand subs[] = {
	{ .name = "create", .summary = "Create a thing", .usage = "NAME [flags]",
	  .options = create_opts, .args_complete = COMPLETE_NONE, .run = run_create },
	{ .name = "list", .alias = "ls", .summary = "List things", .options = create_opts,
	  .args_complete = COMPLETE_CUSTOM, .args_complete_custom = custom_runs, .run = run_create },
	{ .run = NULL },
};

static const struct stage st = {
	.name = "test", .summary = "A test stage", .subcommands = subs,
};

/* A stage with a default command (`devrun CMD...`) next to subcommands. */
static const char *last_sub;
static int run_default(struct eidf_cmd *cmd, int argc, const char **argv)
{
	(void)cmd;
	last_sub = argc > 0 ? argv[0] : "(default)";
	ran = argc;
	return 0;
}
static int run_list2(struct eidf_cmd *cmd, int argc, const char **argv)
{
	(void)cmd;
	(void)argv;
	last_sub = "list";
	ran = argc;
	return 0;
}
static const struct subcommand subs2[] = {
	{ .name = "list", .summary = "List runs", .options = create_opts, .run = run_list2 },
	{ .name = NULL, .summary = "Run code", .usage = "[flags] -- COMMAND", .options = create_opts,
	  .args_complete = COMPLETE_CUSTOM, .args_complete_custom = custom_runs, .run = run_default },
	{ .run = NULL },
};
static const struct stage st2 = { .name = "two", .summary = "Stage with a default", .subcommands = subs2 };

static char tmpdir[] = "/tmp/eidf-complete-XXXXXX";

/* Run complete_main (or stage_main) with stdout captured. */
static char *capture(int (*fn)(void *), void *arg, int *rc)
{
	char *path = xasprintf("%s/out", tmpdir);
	int saved = dup(1);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	struct strbuf sb = STRBUF_INIT;

	fflush(stdout);
	dup2(fd, 1);
	close(fd);
	*rc = fn(arg);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	assert_int_equal(read_file(path, &sb), 0);
	free(path);
	return strbuf_detach(&sb);
}

struct args {
	const char **argv;
	int argc;
};

static int do_complete(void *a)
{
	struct args *x = a;
	return complete_main(&st, x->argc, x->argv);
}

static int do_stage(void *a)
{
	struct args *x = a;
	return stage_main(&st, x->argc, (char **)x->argv);
}

static int do_stage2(void *a)
{
	struct args *x = a;
	return stage_main(&st2, x->argc, (char **)x->argv);
}

#define COMPLETE(...)                                                            \
	({                                                                       \
		static const char *v_[] = { __VA_ARGS__ };                      \
		struct args a_ = { v_, (int)EIDF_ARRAY_SIZE(v_) };              \
		int rc_;                                                         \
		char *o_ = capture(do_complete, &a_, &rc_);                      \
		assert_int_equal(rc_, 0);                                        \
		o_;                                                              \
	})

static void reset_flags(void)
{
	strvec_clear(&kube_flags.as_groups);
	memset(&kube_flags, 0, sizeof(kube_flags));
	kube_flags.insecure_skip_tls_verify = -1;
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	setenv("XDG_CONFIG_HOME", tmpdir, 1);
	char *kc = xasprintf("%s/kubeconfig", tmpdir);
	const char *text =
		"apiVersion: v1\nkind: Config\ncurrent-context: alpha\n"
		"clusters:\n- name: c1\n  cluster:\n    server: https://127.0.0.1:1\n"
		"users:\n- name: u1\n  user:\n    token: secret\n"
		"contexts:\n- name: alpha\n  context: {cluster: c1, user: u1, namespace: eidf042ns}\n"
		"- name: beta\n  context: {cluster: c1, user: u1}\n";
	write_file_atomic(kc, text, strlen(text), 0600);
	free(kc);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	int rc = system(cmd);
	free(cmd);
	reset_flags();
	settings_reset();
	return rc ? -1 : 0;
}

static int each(void **state)
{
	(void)state;
	reset_flags();
	o_size = o_mode = o_gpu = o_dir = o_file = o_pvc = NULL;
	o_wait = ran = 0;
	unsetenv("KUBECONFIG");
	return 0;
}

static void test_subcommands(void **state)
{
	(void)state;
	char *out = COMPLETE("");
	assert_non_null(strstr(out, "create\tCreate a thing\n"));
	assert_non_null(strstr(out, "list\tList things\n"));
	assert_non_null(strstr(out, "\n:4\n"));
	free(out);
	out = COMPLETE("cr");
	assert_string_equal(out, "create\tCreate a thing\n:4\n");
	free(out);
}

static void test_flags(void **state)
{
	(void)state;
	char *out = COMPLETE("create", "--s");
	assert_string_equal(out, "--size\trequested capacity\n"
				 "--server\tThe address and port of the Kubernetes API server\n:4\n");
	free(out);
	/* flags already given are not offered again; repeatable ones are */
	out = COMPLETE("create", "--size", "1", "--as-group", "g", "--");
	assert_null(strstr(out, "--size\t"));
	assert_non_null(strstr(out, "--as-group\t"));
	assert_non_null(strstr(out, "--kubeconfig\t"));
	free(out);
	out = COMPLETE("create", "-");
	assert_non_null(strstr(out, "-n\t"));
	assert_non_null(strstr(out, "--namespace\t"));
	free(out);
}

static void test_enum_values(void **state)
{
	(void)state;
	char *out = COMPLETE("create", "--access-mode", "");
	assert_string_equal(out, "ReadWriteMany\nReadWriteOnce\nReadOnlyMany\n:4\n");
	free(out);
	out = COMPLETE("create", "--access-mode=ReadW");
	assert_string_equal(out, "ReadWriteMany\nReadWriteOnce\n:4\n");
	free(out);
	out = COMPLETE("create", "NAME", "-w", "--access-mode", "ReadO");
	assert_string_equal(out, "ReadOnlyMany\n:4\n");
	free(out);
}

static void test_kinds(void **state)
{
	(void)state;
	char *out = COMPLETE("create", "--gpu-product", "NVIDIA-H");
	assert_string_equal(out, "NVIDIA-H100-80GB-HBM3\nNVIDIA-H200\n:4\n");
	free(out);
	out = COMPLETE("create", "--file", "");
	assert_string_equal(out, ":0\n");
	free(out);
	out = COMPLETE("create", "-f", "");
	assert_string_equal(out, ":0\n");
	free(out);
	out = COMPLETE("create", "--dir", "");
	assert_string_equal(out, ":16\n");
	free(out);
	out = COMPLETE("create", "--size", "");
	assert_string_equal(out, ":4\n");
	free(out);
	out = COMPLETE("list", "");
	assert_string_equal(out, "run-a\tfirst run\nrun-b\n:4\n");
	free(out);
	out = COMPLETE("ls", "run-a");
	assert_string_equal(out, "run-a\tfirst run\n:4\n");
	free(out);
	out = COMPLETE("nosuch", "");
	assert_string_equal(out, ":4\n");
	free(out);
}

static void test_contexts(void **state)
{
	(void)state;
	char *kc = xasprintf("%s/kubeconfig", tmpdir);
	setenv("KUBECONFIG", kc, 1);
	char *out = COMPLETE("create", "--context", "");
	assert_string_equal(out, "alpha\nbeta\n:4\n");
	free(out);
	out = COMPLETE("create", "--cluster=");
	assert_string_equal(out, "c1\n:4\n");
	free(out);
	unsetenv("KUBECONFIG");
	/* --kubeconfig given on the command line is honoured */
	const char *v[] = { "create", "--kubeconfig", kc, "--user", "" };
	struct args a = { v, 5 };
	int rc;
	out = capture(do_complete, &a, &rc);
	assert_string_equal(out, "u1\n:4\n");
	free(out);
	free(kc);
}

static void test_broken_kubeconfig(void **state)
{
	(void)state;
	char *bad = xasprintf("%s/bad", tmpdir);
	write_file_atomic(bad, "clusters: [", 11, 0600);
	setenv("KUBECONFIG", bad, 1);
	char *out = COMPLETE("create", "-n", "");
	assert_string_equal(out, ":4\n");
	free(out);
	out = COMPLETE("create", "--pvc", "");
	assert_string_equal(out, ":4\n");
	free(out);
	out = COMPLETE("create", "--context", "");
	assert_string_equal(out, ":4\n");
	free(out);
	free(bad);
}

static void test_stage_main(void **state)
{
	(void)state;
	int rc;
	char *out;
	{
		const char *v[] = { "kubectl-eidf-test", "create", "x", "--size", "1", "y", NULL };
		struct args a = { v, 6 };
		out = capture(do_stage, &a, &rc);
		assert_int_equal(rc, 0);
		assert_int_equal(ran, 2);
		assert_string_equal(o_size, "1");
		free(out);
	}
	{
		const char *v[] = { "kubectl-eidf-test", "-n", "ns", "create", "fail", NULL };
		struct args a = { v, 5 };
		out = capture(do_stage, &a, &rc);
		assert_int_equal(rc, 7);
		assert_string_equal(kube_flags.namespace, "ns");
		free(out);
	}
	{
		const char *v[] = { "kubectl-eidf-test", "create", "--bogus", NULL };
		struct args a = { v, 3 };
		out = capture(do_stage, &a, &rc);
		assert_int_equal(rc, 2);
		free(out);
	}
	{
		const char *v[] = { "kubectl-eidf-test", "nope", NULL };
		struct args a = { v, 2 };
		out = capture(do_stage, &a, &rc);
		assert_int_equal(rc, 2);
		free(out);
	}
	{
		const char *v[] = { "kubectl-eidf-test", "create", "--request-timeout", "soon", NULL };
		struct args a = { v, 4 };
		out = capture(do_stage, &a, &rc);
		assert_int_equal(rc, 2);
		free(out);
	}
	{
		const char *v[] = { "kubectl-eidf-test", "create", "--help", NULL };
		struct args a = { v, 3 };
		each(NULL);
		out = capture(do_stage, &a, &rc);
		assert_int_equal(rc, 0);
		assert_int_equal(ran, 0);
		assert_non_null(strstr(out, "Usage:\n  kubectl eidf test create NAME [flags]"));
		assert_non_null(strstr(out, "    --access-mode='':"));
		assert_non_null(strstr(out, "    -n, --namespace='':"));
		free(out);
	}
	{
		const char *v[] = { "kubectl-eidf-test", NULL };
		struct args a = { v, 1 };
		out = capture(do_stage, &a, &rc);
		assert_int_equal(rc, 0);
		assert_non_null(strstr(out, "Available Commands:"));
		assert_non_null(strstr(out, "list     List things (alias: ls)"));
		free(out);
	}
	{
		const char *v[] = { "/x/kubectl_complete-eidf-test", "cr", NULL };
		struct args a = { v, 2 };
		out = capture(do_stage, &a, &rc);
		assert_int_equal(rc, 0);
		assert_string_equal(out, "create\tCreate a thing\n:4\n");
		free(out);
	}
	{
		const char *v[] = { "kubectl-eidf-test", "__completeNoDesc", "cr", NULL };
		struct args a = { v, 3 };
		out = capture(do_stage, &a, &rc);
		assert_int_equal(rc, 0);
		assert_string_equal(out, "create\n:4\n");
		free(out);
	}
}

static void test_default_command(void **state)
{
	(void)state;
	int rc;
	char *out;
	static const struct {
		const char *argv[6];
		int argc;
		const char *want;
		int want_ran;
	} cases[] = {
		{ { "kubectl-eidf-two" }, 1, "(default)", 0 },
		{ { "kubectl-eidf-two", "list" }, 2, "list", 0 },
		{ { "kubectl-eidf-two", "-w", "list", "x" }, 4, "list", 1 },
		{ { "kubectl-eidf-two", "python", "list" }, 3, "python", 2 },
		{ { "kubectl-eidf-two", "--size", "list", "run" }, 4, "run", 1 },
		{ { "kubectl-eidf-two", "--", "list" }, 3, "list", 1 },
		{ { "kubectl-eidf-two", "-w" }, 2, "(default)", 0 },
	};
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(cases); i++) {
		struct args a = { (const char **)cases[i].argv, cases[i].argc };
		each(NULL);
		last_sub = NULL;
		out = capture(do_stage2, &a, &rc);
		assert_int_equal(rc, 0);
		assert_non_null(last_sub);
		assert_string_equal(last_sub, cases[i].want);
		assert_int_equal(ran, cases[i].want_ran);
		free(out);
	}
	{
		const char *v[] = { "kubectl-eidf-two", "--help", NULL };
		struct args a = { v, 2 };
		each(NULL);
		out = capture(do_stage2, &a, &rc);
		assert_int_equal(rc, 0);
		assert_non_null(strstr(out, "Available Commands:\n  list   List runs\n"));
		assert_non_null(strstr(out, "kubectl eidf two [flags] -- COMMAND\n"));
		free(out);
	}
	{
		const char *v[] = { "kubectl-eidf-two", "__complete", "", NULL };
		struct args a = { v, 3 };
		out = capture(do_stage2, &a, &rc);
		assert_string_equal(out, "list\tList runs\nhelp\tHelp about any command\n"
					 "run-a\tfirst run\nrun-b\n:4\n");
		free(out);
	}
	{
		const char *v[] = { "kubectl-eidf-two", "__complete", "--access-mode", "x", "--gpu-product", "NVIDIA-H2", NULL };
		struct args a = { v, 6 };
		out = capture(do_stage2, &a, &rc);
		assert_string_equal(out, "NVIDIA-H200\n:4\n");
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_subcommands, each),
		cmocka_unit_test_setup(test_flags, each),
		cmocka_unit_test_setup(test_enum_values, each),
		cmocka_unit_test_setup(test_kinds, each),
		cmocka_unit_test_setup(test_contexts, each),
		cmocka_unit_test_setup(test_broken_kubeconfig, each),
		cmocka_unit_test_setup(test_stage_main, each),
		cmocka_unit_test_setup(test_default_command, each),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
