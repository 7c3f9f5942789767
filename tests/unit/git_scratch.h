/* Shared fixture of the unit tests that run against real git repositories
 * built with the git CLI: a scratch directory with its own HOME and git
 * identity (libgit2 pointed at it too), shell commands run in it, and a
 * pushed clone with a few files.  Include once per test program, after
 * <cmocka.h>; call git_scratch_setup()/git_scratch_teardown() from the
 * group's setup and teardown. */
#ifndef EIDF_TEST_GIT_SCRATCH_H
#define EIDF_TEST_GIT_SCRATCH_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <git2.h>

#include "eidf/util.h"

static char *scratch;      /* the scratch directory */
static char *scratch_cwd;  /* where sh() and sh_out() run; NULL: scratch */

static inline void git_scratch_setup(const char *prefix)
{
	char *tmpl = xasprintf("/tmp/%s.XXXXXX", prefix);
	assert_non_null(mkdtemp(tmpl));
	scratch = tmpl;
	char *home = xasprintf("%s/home", scratch);
	mkdir(home, 0700);
	setenv("HOME", home, 1);
	setenv("XDG_CONFIG_HOME", home, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "T", 1);
	setenv("GIT_AUTHOR_EMAIL", "t@example.org", 1);
	setenv("GIT_COMMITTER_NAME", "T", 1);
	setenv("GIT_COMMITTER_EMAIL", "t@example.org", 1);
	free(home);
	/* libgit2 reads the global config from $HOME, never the machine's */
	git_libgit2_init();
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, getenv("HOME"));
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_XDG, getenv("HOME"));
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_SYSTEM, "/nonexistent");
}

static inline void git_scratch_teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", scratch);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", scratch);
	free(cmd);
	free(scratch);
	scratch = NULL;
	free(scratch_cwd);
	scratch_cwd = NULL;
	git_libgit2_shutdown();
}

/* Run a shell command in scratch_cwd (else scratch); the test fails if it does. */
static inline void EIDF_PRINTF(1, 2) sh(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *cmd = xvasprintf(fmt, ap);
	va_end(ap);
	char *full = xasprintf("cd '%s' && (%s) >/dev/null 2>&1", scratch_cwd ? scratch_cwd : scratch, cmd);
	int rc = system(full);
	if (rc != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
	free(full);
	free(cmd);
}

/* Its stdout, without trailing newlines (caller frees). */
static inline char *EIDF_PRINTF(1, 2) sh_out(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *cmd = xvasprintf(fmt, ap);
	va_end(ap);
	char *full = xasprintf("cd '%s' && (%s) 2>/dev/null", scratch_cwd ? scratch_cwd : scratch, cmd);
	FILE *p = popen(full, "r");
	struct strbuf sb = STRBUF_INIT;
	char buf[256];
	size_t n;
	while (p && (n = fread(buf, 1, sizeof(buf), p)) > 0)
		strbuf_add(&sb, buf, n);
	if (p)
		pclose(p);
	while (sb.len && sb.buf[sb.len - 1] == '\n')
		sb.buf[--sb.len] = '\0';
	free(full);
	free(cmd);
	return strbuf_detach(&sb);
}

/* A fresh bare "server" and a pushed clone of it on branch main, in
 * scratch/NAME/{srv.git,w}: a.txt, b.txt, dir/c.txt, old.txt, run.sh and a
 * .gitignore (ign/, *.log).  Returns the clone's path (caller frees). */
static inline char *git_scratch_repo(const char *name)
{
	char *saved = scratch_cwd;
	scratch_cwd = NULL;
	sh("rm -rf %s && mkdir %s && git init -q --bare -b main %s/srv.git && "
	   "git clone -q %s/srv.git %s/w 2>/dev/null; cd %s/w && git checkout -q -b main && "
	   "printf 'one\\n' >a.txt && printf 'two\\n' >b.txt && mkdir -p dir && "
	   "printf 'x\\n' >dir/c.txt && printf 'old\\n' >old.txt && printf '#!/bin/sh\\n' >run.sh && "
	   "printf 'ign/\\n*.log\\n' >.gitignore && git add -A && git commit -q -m init && "
	   "git push -q -u origin main",
	   name, name, name, name, name, name);
	scratch_cwd = saved;
	return xasprintf("%s/%s/w", scratch, name);
}

#endif
