/* kexec_script_command: the bootstrap that pvc cp and devrun sessions put
 * in the exec URL instead of their scripts, run for real by the shells and
 * dd programs of the images it meets (busybox sh and dd; dash and bash with
 * coreutils dd; a dd without iflag=fullblock), with the script and the
 * stream after it written in small pieces as an exec's stdin arrives: the
 * script runs with its $0 and arguments, reads its stdin from the first
 * byte after the script, and keeps its exit code; a script that did not
 * come whole (a short stream, no dd) runs none of its lines and exits 127
 * with the reason. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "eidf/kclient_exec.h"
#include "eidf/util.h"

/* The script: its arguments, a function, a here-document, then its stdin
 * line by line (read) and the rest (cat); long enough (a padding comment
 * of ~20 KB) that dd's first read of a pipe gets only part of it. */
static char *test_script(int exit_code)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, "#!/bin/sh\necho \"ran $0 [$1] [$2] $#\"\n");
	for (int i = 0; i < 300; i++)
		strbuf_addstr(&sb, "# padding padding padding padding padding padding padding padding\n");
	strbuf_addstr(&sb, "f() { cat <<EOF\nheredoc $1\nEOF\n}\nf x\n"
			   "IFS= read -r line; echo \"first: $line\"\necho \"rest: $(cat)\"\n");
	strbuf_addf(&sb, "exit %d", exit_code); /* no newline at the end: one is added */
	return strbuf_detach(&sb);
}

static char *which(const char *name)
{
	const char *path = getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin";
	char *copy = xstrdup(path), *save = NULL;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", d, name);
		if (access(p, X_OK) == 0) {
			free(copy);
			return p;
		}
		free(p);
	}
	free(copy);
	return NULL;
}

struct run {
	int code;            /* exit code, 128+N for a signal */
	struct strbuf out, err;
};

static void slurp(int fd, struct strbuf *sb)
{
	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			strbuf_add(sb, buf, (size_t)n);
	close(fd);
}

/* Run shell ({program, its argv[0]}: {"/bin/busybox", "sh"}) with
 * the bootstrap and PATH=path; write `input` (n bytes) in pieces of 1000
 * with a pause between them, then close. */
static void run_boot(const char *const *shell, const char *path, const char *script, int reads_stdin,
		     const char *input, size_t n, struct run *r)
{
	static const char *const args[] = { "the-name", "one", "two words" };
	struct strvec argv = STRVEC_INIT, cmd = STRVEC_INIT;
	struct strbuf prefix = STRBUF_INIT;
	kexec_script_command(script, reads_stdin, args, 3, &cmd, &prefix);
	assert_string_equal(cmd.v[0], "sh");
	assert_string_equal(cmd.v[1], "-c");
	assert_true(strlen(cmd.v[2]) < 400); /* whatever the script's size */
	strvec_push(&argv, shell[1]); /* its argv[0]: busybox runs the applet so named */
	for (size_t i = 1; i < cmd.n; i++)
		strvec_push(&argv, cmd.v[i]);
	/* input NULL: the prefix, then two lines for the script */
	struct strbuf whole = STRBUF_INIT;
	if (!input) {
		strbuf_add(&whole, prefix.buf, prefix.len);
		strbuf_addstr(&whole, "line one\nline two\nline three\n");
		input = whole.buf;
		n = whole.len;
	}
	int in[2], out[2], err[2];
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(err), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		for (int i = 0; i < 2; i++) {
			close(in[i]);
			close(out[i]);
			close(err[i]);
		}
		setenv("PATH", path, 1);
		execv(shell[0], argv.v);
		_exit(126);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	for (size_t off = 0; off < n;) {
		size_t k = n - off < 1000 ? n - off : 1000;
		ssize_t w = write(in[1], input + off, k);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break; /* EPIPE: it stopped reading */
		off += (size_t)w;
		struct timespec ts = { 0, 300000 };
		nanosleep(&ts, NULL);
	}
	close(in[1]);
	memset(r, 0, sizeof(*r));
	slurp(out[0], &r->out);
	slurp(err[0], &r->err);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	r->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	strvec_clear(&argv);
	strvec_clear(&cmd);
	strbuf_release(&prefix);
	strbuf_release(&whole);
}

static void run_release(struct run *r)
{
	strbuf_release(&r->out);
	strbuf_release(&r->err);
}

static const char *expect_out = "ran the-name [one] [two words] 2\nheredoc x\nfirst: line one\n"
				"rest: line two\nline three\n";

/* A directory with `dd` for PATH: a link to target, or a script. */
static char *dd_dir(const char *target, const char *script)
{
	char tmpl[] = "/tmp/eidf-kexec-script.XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	char *dd = xasprintf("%s/dd", d);
	if (target) {
		assert_int_equal(symlink(target, dd), 0);
	} else if (script) {
		FILE *f = fopen(dd, "w");
		assert_non_null(f);
		fputs(script, f);
		fclose(f);
		assert_int_equal(chmod(dd, 0755), 0);
	}
	free(dd);
	return xstrdup(d);
}

static void rm_dir(char *d)
{
	char *dd = xasprintf("%s/dd", d);
	unlink(dd);
	free(dd);
	rmdir(d);
	free(d);
}

/* The script runs whole, with its stdin after it, under each shell/dd. */
static void check_runs(const char *const *shell, const char *path)
{
	char *script = test_script(7);
	struct run r;
	run_boot(shell, path, script, 1, NULL, 0, &r);
	assert_string_equal(r.err.buf ? r.err.buf : "", "");
	assert_string_equal(r.out.buf ? r.out.buf : "", expect_out);
	assert_int_equal(r.code, 7);
	run_release(&r);
	free(script);
}

static void test_busybox(void **state)
{
	(void)state;
	char *bb = which("busybox");
	if (!bb) {
		skip();
		return;
	}
	char *d = dd_dir(bb, NULL);
	char *path = xasprintf("%s:/usr/bin:/bin", d);
	const char *shell[] = { bb, "sh", NULL };
	check_runs(shell, path);                 /* busybox sh, busybox dd */
	char *dash = which("dash");
	if (dash) {
		const char *sh2[] = { dash, "sh", NULL };
		check_runs(sh2, path);           /* dash, busybox dd */
	}
	free(dash);
	free(path);
	rm_dir(d);
	free(bb);
}

static void test_dash_bash_coreutils(void **state)
{
	(void)state;
	static const char *const names[] = { "dash", "bash" };
	int ran = 0;
	for (size_t i = 0; i < 2; i++) {
		char *sh = which(names[i]);
		if (!sh)
			continue;
		const char *shell[] = { sh, "sh", NULL };
		check_runs(shell, "/usr/bin:/bin");
		free(sh);
		ran++;
	}
	if (!ran)
		skip();
}

/* A dd without iflag=fullblock (an old busybox): one byte at a time. */
static void test_dd_without_fullblock(void **state)
{
	(void)state;
	char *dd = which("dd"), *sh = which("dash");
	if (!sh)
		sh = which("sh");
	assert_non_null(dd);
	assert_non_null(sh);
	char *wrapper = xasprintf("#!/bin/sh\ncase \"$*\" in *iflag=*) echo \"dd: unknown operand\" >&2; exit 1;; "
				  "esac\nexec %s \"$@\"\n", dd);
	char *d = dd_dir(NULL, wrapper);
	char *path = xasprintf("%s:/usr/bin:/bin", d);
	const char *shell[] = { sh, "sh", NULL };
	check_runs(shell, path);
	free(path);
	rm_dir(d);
	free(wrapper);
	free(dd);
	free(sh);
}

/* Cut short (the stream ended) or no dd: no line of the script runs. */
static void test_incomplete(void **state)
{
	(void)state;
	char *sh = which("dash");
	if (!sh)
		sh = which("sh");
	const char *shell[] = { sh, "sh", NULL };
	char *script = test_script(0);
	struct strvec cmd = STRVEC_INIT;
	struct strbuf prefix = STRBUF_INIT;
	static const char *const args[] = { "the-name" };
	kexec_script_command(script, 1, args, 1, &cmd, &prefix);
	size_t cuts[] = { 0, 100, prefix.len / 2, prefix.len - 2 };
	for (size_t i = 0; i < sizeof(cuts) / sizeof(*cuts); i++) {
		struct run r;
		run_boot(shell, "/usr/bin:/bin", script, 1, prefix.buf, cuts[i], &r);
		assert_int_equal(r.code, 127);
		assert_string_equal(r.out.buf ? r.out.buf : "", "");
		assert_string_equal(r.err.buf, "the-name: its script did not come whole on stdin (is dd in the "
				    "image?)\n");
		run_release(&r);
	}
	char *d = dd_dir(NULL, NULL); /* an empty directory: no dd */
	struct run r;
	run_boot(shell, d, script, 1, NULL, 0, &r);
	assert_int_equal(r.code, 127);
	assert_string_equal(r.out.buf ? r.out.buf : "", "");
	assert_non_null(strstr(r.err.buf, "the-name: its script did not come whole on stdin (is dd in the image?)"));
	run_release(&r);
	rm_dir(d);
	strvec_clear(&cmd);
	strbuf_release(&prefix);
	free(script);
	free(sh);
}

/* reads_stdin 0: what follows the script never reaches it (the stream
 * stays open under the v4 protocol, which cannot close it). */
static void test_no_stdin(void **state)
{
	(void)state;
	char *sh = which("dash");
	if (!sh)
		sh = which("sh");
	const char *shell[] = { sh, "sh", NULL };
	char *script = test_script(0);
	struct run r;
	run_boot(shell, "/usr/bin:/bin", script, 0, NULL, 0, &r);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out.buf, "ran the-name [one] [two words] 2\nheredoc x\nfirst: \nrest: \n");
	run_release(&r);
	free(script);
	free(sh);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_busybox),
		cmocka_unit_test(test_dash_bash_coreutils),
		cmocka_unit_test(test_dd_without_fullblock),
		cmocka_unit_test(test_incomplete),
		cmocka_unit_test(test_no_stdin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
