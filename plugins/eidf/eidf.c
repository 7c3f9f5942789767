/* kubectl-eidf: the dispatcher.
 *
 *   kubectl eidf STAGE ARGS...  exec kubectl-eidf-STAGE (dashes -> underscores)
 *                               found in ../libexec/kubectl-eidf/ (the install
 *                               layout), next to our resolved path, else on PATH
 *   kubectl eidf [--help]       overview of the stages
 *   kubectl eidf version        suite and library versions
 *   kubectl eidf completion ... shell scripts / kubectl_complete-* links
 *
 * Multi-call: as kubectl_complete-eidf it is the completion program kubectl
 * runs for `kubectl eidf <TAB>`; as kubectl_complete-eidf-STAGE it forwards
 * to the stage's own `__complete`. */
#include "eidf/util.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static const struct {
	const char *name;
	const char *summary;
} known_stages[] = {
	{ "pvc", "Create, list, inspect, browse and size persistent volume claims" },
	{ "fetch", "Download data sets into a PVC with a resumable background Job" },
	{ "build-context", "Make reproducible Docker build contexts and build images in the cluster" },
	{ "devrun", "Run your local code (commit + uncommitted changes) as a Job" },
};

static const char *const shell_names[] = { "bash", "zsh", "fish", NULL };

static int complete_no_desc;

/* ---- locating stages --------------------------------------------------------- */

static char *self_dir(void)
{
	char *exe = realpath("/proc/self/exe", NULL);
	char *dir;
	if (!exe)
		return NULL;
	dir = xstrdup(dirname(exe));
	free(exe);
	return dir;
}

static int is_exec_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static int valid_stage_name(const char *s)
{
	if (!*s || *s == '-')
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return 0;
	return 1;
}

static char *stage_exe_name(const char *stage)
{
	char *name = xasprintf("kubectl-eidf-%s", stage);
	for (char *p = name + strlen("kubectl-eidf-"); *p; p++)
		if (*p == '-')
			*p = '_';
	return name;
}

/* Where `cmake --install` puts the stages: off PATH, like git's exec-path.
 * A kubectl-eidf-STAGE on PATH would make kubectl register a nested plugin
 * "eidf STAGE" and complete every stage twice (once with its generic "is a
 * plugin installed by the user"). */
static char *libexec_dir(void)
{
	char *dir = self_dir();
	char *le = dir ? xasprintf("%s/../libexec/kubectl-eidf", dir) : NULL;
	free(dir);
	return le;
}

/* The stage installed with the dispatcher in BINDIR (BINDIR/../libexec,
 * else beside it), or NULL.  BINDIR NULL: where this executable really is. */
static char *installed_stage_in(const char *bindir, const char *stage)
{
	char *name = stage_exe_name(stage), *path = NULL;
	char *dirs[2] = { bindir ? xasprintf("%s/../libexec/kubectl-eidf", bindir) : libexec_dir(),
			  bindir ? xstrdup(bindir) : self_dir() };
	for (size_t i = 0; i < 2; i++) {
		if (!path && dirs[i]) {
			path = xasprintf("%s/%s", dirs[i], name);
			if (!is_exec_file(path)) {
				free(path);
				path = NULL;
			}
		}
		free(dirs[i]);
	}
	free(name);
	return path;
}

/* Path of the stage executable, or NULL. */
static char *find_stage(const char *stage)
{
	char *name, *path;
	const char *envpath;

	if (!valid_stage_name(stage))
		return NULL;
	path = installed_stage_in(NULL, stage);
	if (path)
		return path;
	name = stage_exe_name(stage);
	envpath = getenv("PATH");
	for (const char *p = envpath ? envpath : ""; *p;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		char *d = len ? xstrndup(p, len) : xstrdup(".");
		path = xasprintf("%s/%s", d, name);
		free(d);
		if (is_exec_file(path)) {
			free(name);
			return path;
		}
		free(path);
		if (!colon)
			break;
		p = colon + 1;
	}
	free(name);
	return NULL;
}

static void scan_dir(const char *dir, struct strvec *out)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d))) {
		char *path, *stage;
		if (!starts_with(de->d_name, "kubectl-eidf-") || !de->d_name[13])
			continue;
		stage = xstrdup(de->d_name + 13);
		for (char *p = stage; *p; p++)
			if (*p == '_')
				*p = '-';
		path = xasprintf("%s/%s", dir, de->d_name);
		if (valid_stage_name(stage) && !strvec_contains(out, stage) && is_exec_file(path))
			strvec_push(out, stage);
		free(path);
		free(stage);
	}
	closedir(d);
}

/* Known stages first (in their order, when installed), then any others
 * found next to us or on PATH. */
static void list_stages(struct strvec *out, int only_installed)
{
	struct strvec found = STRVEC_INIT;
	char *dir = libexec_dir();
	const char *envpath = getenv("PATH");

	if (dir)
		scan_dir(dir, &found);
	free(dir);
	dir = self_dir();
	if (dir)
		scan_dir(dir, &found);
	free(dir);
	for (const char *p = envpath ? envpath : ""; *p;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		if (len) {
			char *d = xstrndup(p, len);
			scan_dir(d, &found);
			free(d);
		}
		if (!colon)
			break;
		p = colon + 1;
	}
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(known_stages); i++)
		if (!only_installed || strvec_contains(&found, known_stages[i].name))
			strvec_push(out, known_stages[i].name);
	for (size_t i = 0; i < found.n; i++)
		if (!strvec_contains(out, found.v[i]))
			strvec_push(out, found.v[i]);
	strvec_clear(&found);
}

static const char *stage_summary(const char *stage)
{
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(known_stages); i++)
		if (!strcmp(known_stages[i].name, stage))
			return known_stages[i].summary;
	return NULL;
}

/* exec the stage; returns only on failure (exit code). */
static int exec_stage(const char *stage, const char *first_arg, int argc, char **argv, int quiet)
{
	char *path = find_stage(stage);
	const char **nargv;
	int n = 0;

	if (!path) {
		if (quiet)
			return 0;
		if (valid_stage_name(stage) && stage_summary(stage)) {
			char *name = stage_exe_name(stage);
			char *dir = self_dir();
			eidf_error("%s not found next to %s or on PATH; reinstall kubectl-eidf",
				   name, dir ? dir : "kubectl-eidf");
			free(name);
			free(dir);
			return EIDF_EXIT_ERROR;
		}
		struct strvec sv = STRVEC_INIT;
		struct strbuf sb = STRBUF_INIT;
		list_stages(&sv, 0);
		for (size_t i = 0; i < sv.n; i++)
			strbuf_addf(&sb, "%s%s", i ? ", " : "", sv.v[i]);
		eidf_error("unknown stage \"%s\" for \"kubectl eidf\"; available stages: %s",
			   stage, strbuf_str(&sb));
		fprintf(stderr, "See 'kubectl eidf --help' for usage.\n");
		strbuf_release(&sb);
		strvec_clear(&sv);
		return EIDF_EXIT_USAGE;
	}
	nargv = xcalloc((size_t)argc + 3, sizeof(*nargv));
	nargv[n++] = path;
	if (first_arg)
		nargv[n++] = first_arg;
	for (int i = 0; i < argc; i++)
		nargv[n++] = argv[i];
	nargv[n] = NULL;
	fflush(stdout);
	execve(path, (char *const *)nargv, environ);
	if (!quiet)
		eidf_error("cannot run %s: %s", path, strerror(errno));
	free(nargv);
	free(path);
	return quiet ? 0 : 126;
}

/* ---- help and version ------------------------------------------------------------ */

static void overview(FILE *out)
{
	struct strvec sv = STRVEC_INIT;
	size_t width = strlen("completion");

	list_stages(&sv, 0);
	for (size_t i = 0; i < sv.n; i++)
		if (strlen(sv.v[i]) > width)
			width = strlen(sv.v[i]);
	fprintf(out, "kubectl eidf: the EIDF GPU service workflow from your terminal.\n\n");
	fprintf(out, "Stages:\n");
	for (size_t i = 0; i < sv.n; i++) {
		const char *s = stage_summary(sv.v[i]);
		fprintf(out, "  %-*s   %s\n", (int)width, sv.v[i], s ? s : "(plugin found on PATH)");
	}
	fprintf(out, "\nOther commands:\n");
	fprintf(out, "  %-*s   %s\n", (int)width, "completion",
		"Shell completion scripts and kubectl_complete-eidf links");
	fprintf(out, "  %-*s   %s\n", (int)width, "version", "Print the suite version and the library versions it was built with");
	fprintf(out, "\nUsage:\n  kubectl eidf STAGE [command] [flags]\n\n");
	fprintf(out, "Use \"kubectl eidf STAGE --help\" for more information about a stage.\n");
	strvec_clear(&sv);
}

/* The library versions the suite was built against (from pkg-config): the
 * dispatcher links none of them, so `kubectl eidf STAGE` and completion pay
 * nothing for them before exec'ing the stage. */
static int cmd_version(void)
{
	printf("kubectl-eidf %s\n", EIDF_VERSION);
	printf("libcurl %s\n", EIDF_CURL_VERSION);
	printf("libgit2 %s\n", EIDF_GIT2_VERSION);
	printf("libarchive %s\n", EIDF_ARCHIVE_VERSION);
	printf("libyaml %s\n", EIDF_YAML_VERSION);
	printf("cJSON %s\n", EIDF_CJSON_VERSION);
	printf("OpenSSL %s\n", EIDF_CRYPTO_VERSION);
	return 0;
}

/* ---- completion scripts ---------------------------------------------------------------- */

static void names_line(struct strbuf *sb)
{
	struct strvec sv = STRVEC_INIT;
	list_stages(&sv, 0);
	strbuf_addstr(sb, "kubectl-eidf");
	for (size_t i = 0; i < sv.n; i++) {
		char *n = stage_exe_name(sv.v[i]);
		strbuf_addf(sb, " %s", n);
		free(n);
	}
	strvec_clear(&sv);
}

static const char bash_script[] =
	"# bash completion for kubectl-eidf and its stage executables.\n"
	"# (For `kubectl eidf ...` use `kubectl completion bash` and\n"
	"#  `kubectl eidf completion install`.)\n"
	"_kubectl_eidf() {\n"
	"    local cur words cword out directive\n"
	"    if declare -F _get_comp_words_by_ref >/dev/null; then\n"
	"        _get_comp_words_by_ref -n =: cur words cword\n"
	"    else\n"
	"        cur=${COMP_WORDS[COMP_CWORD]}; words=(\"${COMP_WORDS[@]}\"); cword=$COMP_CWORD\n"
	"    fi\n"
	"    out=$(\"${words[0]}\" __completeNoDesc \"${words[@]:1:cword-1}\" \"$cur\" 2>/dev/null) || return\n"
	"    directive=${out##*:}\n"
	"    out=${out%%:*}\n"
	"    [[ $directive =~ ^[0-9]+$ ]] || directive=0\n"
	"    [[ $cur == -*=* ]] && cur=${cur#*=}\n"
	"    COMPREPLY=()\n"
	"    if (( directive & 1 )); then return; fi\n"
	"    if (( directive & 16 )); then\n"
	"        compopt -o filenames 2>/dev/null\n"
	"        local IFS=$'\\n'; COMPREPLY=($(compgen -d -- \"$cur\")); return\n"
	"    fi\n"
	"    local IFS=$'\\n'\n"
	"    COMPREPLY=($(compgen -W \"$out\" -- \"$cur\"))\n"
	"    if (( ${#COMPREPLY[@]} == 0 && (directive & 4) == 0 )); then\n"
	"        compopt -o filenames 2>/dev/null\n"
	"        COMPREPLY=($(compgen -f -- \"$cur\")); return\n"
	"    fi\n"
	"    if declare -F __ltrim_colon_completions >/dev/null; then __ltrim_colon_completions \"$cur\"; fi\n"
	"    if (( directive & 2 )); then compopt -o nospace 2>/dev/null; fi\n"
	"}\n"
	"complete -F _kubectl_eidf %s\n";

static const char zsh_script[] =
	"#compdef %s\n"
	"# zsh completion for kubectl-eidf and its stage executables.\n"
	"_kubectl_eidf() {\n"
	"    local out directive line\n"
	"    local -a lines cands opts\n"
	"    out=$(\"${words[1]}\" __complete \"${(@)words[2,CURRENT]}\" 2>/dev/null) || return 1\n"
	"    lines=(\"${(@f)out}\")\n"
	"    directive=${lines[-1]#:}\n"
	"    [[ $directive == <-> ]] || directive=0\n"
	"    lines=(\"${(@)lines[1,-2]}\")\n"
	"    (( directive & 1 )) && return 1\n"
	"    [[ ${words[CURRENT]} == -*=* ]] && compset -P '*='\n"
	"    if (( directive & 16 )); then _path_files -/; return; fi\n"
	"    for line in $lines; do\n"
	"        [[ -z $line ]] && continue\n"
	"        if [[ $line == *$'\\t'* ]]; then\n"
	"            cands+=(\"${${line%%%%$'\\t'*}//:/\\\\:}:${line#*$'\\t'}\")\n"
	"        else\n"
	"            cands+=(\"${line//:/\\\\:}\")\n"
	"        fi\n"
	"    done\n"
	"    (( directive & 2 )) && opts=(-S '')\n"
	"    if (( $#cands )); then\n"
	"        _describe -t values 'completions' cands \"${opts[@]}\"\n"
	"    elif (( ! (directive & 4) )); then\n"
	"        _files\n"
	"    fi\n"
	"}\n"
	"if [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n"
	"    _kubectl_eidf \"$@\"\n"
	"else\n"
	"    compdef _kubectl_eidf %s\n"
	"fi\n";

static const char fish_script[] =
	"# fish completion for kubectl-eidf and its stage executables.\n"
	"function __kubectl_eidf_complete\n"
	"    set -l tokens (commandline -opc)\n"
	"    set -l cur (commandline -ct)\n"
	"    set -l out ($tokens[1] __complete $tokens[2..-1] \"$cur\" 2>/dev/null)\n"
	"    or return\n"
	"    set -l directive (string replace -r '^:' '' -- $out[-1])\n"
	"    string match -qr '^[0-9]+$' -- $directive; or set directive 0\n"
	"    set -e out[-1]\n"
	"    if test (math \"floor($directive / 1) % 2\") -eq 1\n"
	"        return\n"
	"    end\n"
	"    set -l prefix ''\n"
	"    if string match -q -- '-*=*' $cur\n"
	"        set prefix (string replace -r '=.*' '=' -- $cur)\n"
	"        set cur (string replace -r '^[^=]*=' '' -- $cur)\n"
	"    end\n"
	"    if test (math \"floor($directive / 16) % 2\") -eq 1\n"
	"        for d in (__fish_complete_directories $cur)\n"
	"            echo $prefix$d\n"
	"        end\n"
	"        return\n"
	"    end\n"
	"    if test (count $out) -eq 0; and test (math \"floor($directive / 4) % 2\") -eq 0\n"
	"        __fish_complete_path $cur\n"
	"        return\n"
	"    end\n"
	"    for line in $out\n"
	"        echo $prefix$line\n"
	"    end\n"
	"end\n";

static int print_script(const char *shell)
{
	struct strbuf names = STRBUF_INIT;
	names_line(&names);
	if (!strcmp(shell, "bash")) {
		printf(bash_script, names.buf);
	} else if (!strcmp(shell, "zsh")) {
		printf(zsh_script, names.buf, names.buf);
	} else {
		struct strvec sv = STRVEC_INIT;
		fputs(fish_script, stdout);
		for (char *tok = strtok(names.buf, " "); tok; tok = strtok(NULL, " "))
			strvec_push(&sv, tok);
		for (size_t i = 0; i < sv.n; i++)
			printf("complete -c %s -f -a '(__kubectl_eidf_complete)'\n", sv.v[i]);
		strvec_clear(&sv);
	}
	strbuf_release(&names);
	return 0;
}

/* Absolute path of the dispatcher as invoked (symlinks kept, so links
 * survive krew upgrades which re-point ~/.krew/bin/kubectl-eidf). */
static char *invoked_path(const char *argv0)
{
	if (argv0 && strchr(argv0, '/')) {
		char *copy = xstrdup(argv0), *copy2 = xstrdup(argv0);
		char *d = realpath(dirname(copy), NULL);
		char *res = d ? xasprintf("%s/%s", d, basename(copy2)) : NULL;
		free(d);
		free(copy);
		free(copy2);
		if (res && is_exec_file(res))
			return res;
		free(res);
	}
	return realpath("/proc/self/exe", NULL);
}

static int make_link(const char *dir, const char *name, const char *target)
{
	char *path = xasprintf("%s/%s", dir, name);
	struct stat st;

	if (lstat(path, &st) == 0) {
		if (!S_ISLNK(st.st_mode)) {
			eidf_warning("%s exists and is not a symlink; left alone", path);
			free(path);
			return 0;
		}
		if (unlink(path) < 0) {
			eidf_error("cannot replace %s: %s", path, strerror(errno));
			free(path);
			return -1;
		}
	}
	if (symlink(target, path) < 0) {
		eidf_error("cannot create %s: %s (use --dir DIR for a writable directory on PATH)",
			   path, strerror(errno));
		free(path);
		return -1;
	}
	printf("created %s -> %s\n", path, target);
	free(path);
	return 0;
}

static int completion_install(const char *argv0, const char *dir_opt)
{
	char *self = invoked_path(argv0);
	char *dir, *copy;
	struct strvec sv = STRVEC_INIT;
	int rc = 0;

	if (!self) {
		eidf_error("cannot locate the kubectl-eidf executable");
		return EIDF_EXIT_ERROR;
	}
	copy = xstrdup(self);
	dir = xstrdup(dir_opt ? dir_opt : dirname(copy));
	free(copy);
	if (make_link(dir, "kubectl_complete-eidf", self) < 0)
		rc = EIDF_EXIT_ERROR;
	/* A stage installed with us (libexec, as `cmake --install` lays them
	 * out, or beside us) gets a link to itself, which answers __complete
	 * without the dispatcher's exec; otherwise the link forwards.  Looked up
	 * from the path we were invoked by, not the resolved one: krew's bin
	 * holds a link into a versioned store that an upgrade removes. */
	copy = xstrdup(self);
	char *self_dir_path = xstrdup(dirname(copy));
	free(copy);
	list_stages(&sv, 1);
	for (size_t i = 0; !rc && i < sv.n; i++) {
		char *exe = stage_exe_name(sv.v[i]);
		char *name = xasprintf("kubectl_complete-%s", exe + strlen("kubectl-"));
		char *installed = installed_stage_in(self_dir_path, sv.v[i]);
		if (make_link(dir, name, installed ? installed : self) < 0)
			rc = EIDF_EXIT_ERROR;
		free(installed);
		free(name);
		free(exe);
	}
	free(self_dir_path);
	strvec_clear(&sv);
	free(dir);
	free(self);
	return rc;
}

static void completion_help(FILE *out)
{
	fprintf(out,
		"Shell completion for kubectl eidf.\n\n"
		"With kubectl >= 1.26, `kubectl completion bash|zsh|fish` completes plugins through\n"
		"kubectl_complete-* programs; `install` creates them next to kubectl-eidf.\n"
		"The scripts below complete the executables when called directly.\n\n"
		"Available Commands:\n"
		"  install   Create kubectl_complete-eidf* links (--dir DIR to choose where)\n"
		"  bash      Print the bash completion script\n"
		"  zsh       Print the zsh completion script\n"
		"  fish      Print the fish completion script\n\n"
		"Usage:\n  kubectl eidf completion (install [--dir DIR] | bash | zsh | fish)\n");
}

static int cmd_completion(const char *argv0, int argc, char **argv)
{
	const char *dir = NULL;
	const char *what = NULL;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			completion_help(stdout);
			return 0;
		}
		if (!strcmp(a, "--dir")) {
			if (i + 1 >= argc) {
				eidf_error("flag needs an argument: --dir");
				return EIDF_EXIT_USAGE;
			}
			dir = argv[++i];
		} else if (starts_with(a, "--dir=")) {
			dir = a + 6;
		} else if (a[0] == '-') {
			eidf_error("unknown flag: %s", a);
			fprintf(stderr, "See 'kubectl eidf completion --help' for usage.\n");
			return EIDF_EXIT_USAGE;
		} else if (!what) {
			what = a;
		} else {
			eidf_error("unexpected argument \"%s\"", a);
			return EIDF_EXIT_USAGE;
		}
	}
	if (!what) {
		eidf_error("specify one of: install, bash, zsh, fish");
		fprintf(stderr, "See 'kubectl eidf completion --help' for usage.\n");
		return EIDF_EXIT_USAGE;
	}
	if (!strcmp(what, "install"))
		return completion_install(argv0, dir);
	for (int i = 0; shell_names[i]; i++)
		if (!strcmp(what, shell_names[i])) {
			if (dir) {
				eidf_error("--dir only applies to `completion install`");
				return EIDF_EXIT_USAGE;
			}
			return print_script(what);
		}
	eidf_error("unsupported shell \"%s\": use bash, zsh or fish", what);
	return EIDF_EXIT_USAGE;
}

/* ---- __complete for the dispatcher ----------------------------------------------------- */

static void cand(const char *cur, const char *value, const char *desc)
{
	if (!starts_with(value, cur))
		return;
	if (desc && !complete_no_desc)
		printf("%s\t%s\n", value, desc);
	else
		printf("%s\n", value);
}

static int dispatcher_complete(int argc, char **argv)
{
	const char *cur = argc > 0 ? argv[argc - 1] : "";
	int directive = 4;

	if (argc <= 1) {
		if (cur[0] == '-') {
			cand(cur, "--help", "Show the stages");
			cand(cur, "--version", "Print the suite version and the library versions it was built with");
		} else {
			struct strvec sv = STRVEC_INIT;
			list_stages(&sv, 1);
			for (size_t i = 0; i < sv.n; i++)
				cand(cur, sv.v[i], stage_summary(sv.v[i]));
			strvec_clear(&sv);
			cand(cur, "completion", "Shell completion scripts and kubectl_complete-eidf links");
			cand(cur, "version", "Print the suite version and the library versions it was built with");
		}
	} else if (!strcmp(argv[0], "completion")) {
		const char *prev = argv[argc - 2];
		int have_what = 0;
		for (int i = 1; i < argc - 1; i++)
			if (argv[i][0] != '-' && strcmp(argv[i - 1], "--dir"))
				have_what = 1;
		if (!strcmp(prev, "--dir")) {
			directive = 16;
		} else if (starts_with(cur, "--dir=")) {
			directive = 16;
		} else if (cur[0] == '-') {
			cand(cur, "--dir", "Directory for the kubectl_complete-eidf* links");
		} else if (!have_what) {
			cand(cur, "install", "Create kubectl_complete-eidf* links next to kubectl-eidf");
			for (int i = 0; shell_names[i]; i++)
				cand(cur, shell_names[i], "Print the completion script for this shell");
		}
	} else if (!strcmp(argv[0], "version") || argv[0][0] == '-') {
		/* nothing to complete */
	} else {
		fflush(stdout);
		exec_stage(argv[0], complete_no_desc ? "__completeNoDesc" : "__complete",
			   argc - 1, argv + 1, 1);
		/* stage missing or exec failed: no candidates */
	}
	printf(":%d\n", directive);
	return 0;
}

int main(int argc, char **argv)
{
	const char *base = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;
	const char *cmd;

	base = base ? base + 1 : (argc > 0 && argv[0] ? argv[0] : "kubectl-eidf");
	if (!strcmp(base, "kubectl_complete-eidf"))
		return dispatcher_complete(argc - 1, argv + 1);
	if (starts_with(base, "kubectl_complete-eidf-")) {
		/* kubectl calls this only when kubectl-eidf-STAGE exists */
		char *stage = xstrdup(base + strlen("kubectl_complete-eidf-"));
		for (char *p = stage; *p; p++)
			if (*p == '_')
				*p = '-';
		exec_stage(stage, "__complete", argc - 1, argv + 1, 1);
		free(stage);
		printf(":4\n");
		return 0;
	}
	if (argc < 2) {
		overview(stdout);
		return 0;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "__complete") || !strcmp(cmd, "__completeNoDesc")) {
		complete_no_desc = !strcmp(cmd, "__completeNoDesc");
		return dispatcher_complete(argc - 2, argv + 2);
	}
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		if (argc > 2 && strcmp(cmd, "help") == 0)
			return exec_stage(argv[2], "--help", 0, NULL, 0);
		overview(stdout);
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version"))
		return cmd_version();
	if (!strcmp(cmd, "completion"))
		return cmd_completion(argv[0], argc - 2, argv + 2);
	if (cmd[0] == '-') {
		eidf_error("unknown flag: %s (flags go after the stage: kubectl eidf STAGE [flags])", cmd);
		fprintf(stderr, "See 'kubectl eidf --help' for usage.\n");
		return EIDF_EXIT_USAGE;
	}
	return exec_stage(cmd, NULL, argc - 2, argv + 2, 0);
}
