/* kubectl eidf build-context: reproducible Docker build contexts with exact
 * .dockerignore semantics, a Dockerfile/GitHub Action generator, and an
 * in-cluster Kaniko build (see docs/build-context.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>

#include "context_tar.h"
#include "eidf/stage_options.h"
#include "eidf/cmd.h"
#include "eidf/humanize.h"
#include "eidf/manifest.h"
#include "eidf/image_ref.h"
#include "eidf/output.h"
#include "eidf/settings.h"

static const char *const compressions[] = { "gzip", "none", NULL };
static const char *const registries[] = { "docker.io", "registry.eidf.ac.uk", NULL };

static const char *opt_file, *opt_output, *opt_old_output, *opt_git, *opt_compression;
static int opt_list, opt_summary, opt_no_ignore;
static long opt_level = 6;

#define DEFAULT_BASE "nvcr.io/nvidia/rapidsai/base:23.12-cuda12.0-py3.10"
#define SUMMARY_WARN_BYTES (100ull << 20)

static const struct option build_opts[] = {
	OPT_STRING('f', "file", &opt_file, "Dockerfile",
		   "Dockerfile (default DIR/Dockerfile); <Dockerfile>.dockerignore beside it wins", COMPLETE_FILE),
	OPT_STRING('O', "output-file", &opt_output, "file",
		   "write the archive to FILE, or '-' for stdout", COMPLETE_FILE),
	/* -o is an output format in every kubectl command; the archive path
	 * moved to -O, and the old spelling says so instead of guessing */
	{ .type = OPT_TYPE_STRING, .short_name = 'o', .long_name = "output", .value = &opt_old_output,
	  .argh = "format", .flags = OPT_HIDDEN },
	OPT_STRING(0, "git", &opt_git, "rev",
		   "archive a commit's tree instead of the directory (no checkout; untracked files never included)",
		   COMPLETE_NONE),
	OPT_BOOL(0, "list", &opt_list, "print the archived paths (directories end in '/')"),
	OPT_BOOL(0, "summary", &opt_summary, "show the largest directories and files"),
	{ .type = OPT_TYPE_STRING, .long_name = "compression", .value = &opt_compression, .argh = "kind",
	  .help = "compression of the archive", .enum_values = compressions, .complete = COMPLETE_ENUM,
	  .defval = "gzip" },
	OPT_INT(0, "level", &opt_level, "N", "gzip level", 1, 9),
	{ .type = OPT_TYPE_BOOL, .long_name = "no-ignore", .value = &opt_no_ignore,
	  .help = "archive everything, ignoring .dockerignore", .flags = OPT_HIDDEN },
	OPT_END(),
};

/* ---- the context build ------------------------------------------------------ */

struct top {
	char *path;
	uint64_t size;
};

#define TOP_N 10

static void top_add(struct top *t, const char *path, uint64_t size)
{
	int i = TOP_N - 1;
	if (t[i].path && t[i].size >= size)
		return;
	free(t[i].path);
	while (i > 0 && (!t[i - 1].path || t[i - 1].size < size)) {
		t[i] = t[i - 1];
		i--;
	}
	t[i].path = xstrdup(path);
	t[i].size = size;
}

static void top_release(struct top *t)
{
	for (int i = 0; i < TOP_N; i++)
		free(t[i].path);
}

struct collector {
	int list;
	FILE *list_out;
	int summary;
	struct top files[TOP_N], dirs[TOP_N];
	struct { char *path; uint64_t size; } *stack; /* open directories, DFS */
	size_t depth, alloc;
	struct strvec heavy;   /* well-known bulky names seen */
};

static const char *const bulky[] = { ".git", "node_modules", "__pycache__", ".venv", "venv",
				     ".ipynb_checkpoints", ".mypy_cache", ".pytest_cache", ".tox",
				     "wandb", "mlruns", "checkpoints", "data", "datasets", NULL };

static void close_dirs_until(struct collector *c, const char *path)
{
	while (c->depth) {
		const char *d = c->stack[c->depth - 1].path;
		size_t dl = strlen(d);
		if (!strncmp(path, d, dl) && path[dl] == '/')
			break;
		c->depth--;
		top_add(c->dirs, d, c->stack[c->depth].size);
		free(c->stack[c->depth].path);
	}
}

static int on_entry(const struct bctx_entry *e, void *ud)
{
	struct collector *c = ud;
	if (c->list) {
		/* one entry per line, even for a name with a newline in it */
		struct strbuf q = STRBUF_INIT;
		strbuf_add_quoted_path(&q, e->path);
		fprintf(c->list_out, "%s%s\n", strbuf_str(&q), e->type == BCTX_DIR ? "/" : "");
		strbuf_release(&q);
	}
	if (!c->summary)
		return 0;
	close_dirs_until(c, e->path);
	for (size_t i = 0; i < c->depth; i++)
		c->stack[i].size += e->size;
	const char *base = strrchr(e->path, '/');
	base = base ? base + 1 : e->path;
	for (size_t i = 0; bulky[i]; i++)
		if (!strcmp(base, bulky[i]) && c->heavy.n < 20)
			strvec_pushf(&c->heavy, "%s%s", e->path, e->type == BCTX_DIR ? "/" : "");
	if (e->type == BCTX_DIR) {
		if (c->depth == c->alloc) {
			c->alloc = c->alloc ? 2 * c->alloc : 16;
			c->stack = xrealloc(c->stack, c->alloc * sizeof(*c->stack));
		}
		c->stack[c->depth].path = xstrdup(e->path);
		c->stack[c->depth].size = 0;
		c->depth++;
	} else if (e->type == BCTX_FILE) {
		top_add(c->files, e->path, e->size);
	}
	return 0;
}

/* "  SIZE  PATH" with the path quoted like git does (control characters) */
static void print_path_line(FILE *out, const char *size, const char *path, const char *suffix)
{
	struct strbuf q = STRBUF_INIT;
	strbuf_add_quoted_path(&q, path);
	if (size)
		fprintf(out, "  %10s  %s%s\n", size, strbuf_str(&q), suffix);
	else
		fprintf(out, "    %s%s\n", strbuf_str(&q), suffix);
	strbuf_release(&q);
}

static void print_top(FILE *out, const char *title, const struct top *t)
{
	if (!t[0].path)
		return;
	fprintf(out, "%s:\n", title);
	for (int i = 0; i < TOP_N && t[i].path; i++) {
		char *h = human_bytes(t[i].size);
		print_path_line(out, h, t[i].path, "");
		free(h);
	}
}

static void print_summary(FILE *out, struct collector *c, const struct bctx_result *r)
{
	close_dirs_until(c, "");
	print_top(out, "largest directories", c->dirs);
	print_top(out, "largest files", c->files);
	if (r->content_bytes > SUMMARY_WARN_BYTES) {
		char *h = human_bytes(r->content_bytes);
		fprintf(out, "%swarning:%s the context holds %s of files; every build uploads all of it.\n",
			color(out, COLOR_YELLOW), color(out, COLOR_RESET), h);
		free(h);
		if (c->heavy.n || c->dirs[0].path) {
			fprintf(out, "  candidates for %s:\n", r->ignore_file ? r->ignore_file : ".dockerignore");
			for (size_t i = 0; i < c->heavy.n; i++)
				print_path_line(out, NULL, c->heavy.v[i], "");
			for (int i = 0; i < 3 && c->dirs[i].path; i++)
				if (!strvec_contains(&c->heavy, c->dirs[i].path))
					print_path_line(out, NULL, c->dirs[i].path, "/");
		}
	} else if (c->heavy.n) {
		fprintf(out, "note: these are rarely needed in an image; consider adding them to %s:\n",
			r->ignore_file ? r->ignore_file : ".dockerignore");
		for (size_t i = 0; i < c->heavy.n; i++)
			print_path_line(out, NULL, c->heavy.v[i], "");
	}
}

struct fd_sink {
	int fd;
	const char *name;
};

static int write_fd(const void *data, size_t len, void *ud)
{
	struct fd_sink *s = ud;
	const char *p = data;
	while (len) {
		ssize_t n = write(s->fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			eidf_set_error("cannot write %s: %s", s->name, strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int run_build(struct eidf_cmd *cmd, int argc, const char **argv)
{
	(void)cmd;
	if (argc > 1) {
		eidf_error("build-context takes one directory, got %d arguments", argc);
		return EIDF_EXIT_USAGE;
	}
	if (opt_old_output) {
		eidf_error("-o/--output chooses an output format in kubectl; write the archive with "
			   "-O/--output-file %s", opt_old_output);
		return EIDF_EXIT_USAGE;
	}
	const char *dir = argc ? argv[0] : ".";
	struct bctx_opts o = { 0 };
	o.dir = dir;
	o.dockerfile = opt_file;
	o.git_rev = opt_git;
	o.compression = opt_compression && !strcmp(opt_compression, "none") ? BCTX_NONE : BCTX_GZIP;
	o.level = (int)opt_level;
	o.use_ignore = !opt_no_ignore;

	int to_stdout = opt_output && !strcmp(opt_output, "-");
	if (to_stdout && isatty(STDOUT_FILENO)) {
		eidf_error("refusing to write a tar archive to a terminal; redirect it or use -O FILE");
		return EIDF_EXIT_USAGE;
	}
	if (to_stdout && opt_list) {
		eidf_error("--list and -O - both use stdout; write the archive to a file");
		return EIDF_EXIT_USAGE;
	}
	struct fd_sink sink = { -1, opt_output };
	if (to_stdout) {
		sink.fd = STDOUT_FILENO;
		sink.name = "stdout";
	} else if (opt_output) {
		sink.fd = open(opt_output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (sink.fd < 0) {
			eidf_error("cannot create %s: %s", opt_output, strerror(errno));
			return EIDF_EXIT_ERROR;
		}
		struct stat st;
		if (fstat(sink.fd, &st) == 0) {
			/* never archive the archive */
			o.skip_set = 1;
			o.skip_dev = st.st_dev;
			o.skip_ino = st.st_ino;
		}
	}
	if (sink.fd >= 0) {
		o.write = write_fd;
		o.write_ud = &sink;
	}
	/* reports go to stderr whenever stdout carries data */
	FILE *info = to_stdout || opt_list ? stderr : stdout;
	struct collector c;
	memset(&c, 0, sizeof(c));
	c.list = opt_list;
	c.list_out = stdout;
	c.summary = opt_summary;
	if (opt_list || opt_summary) {
		o.entry = on_entry;
		o.entry_ud = &c;
	}
	struct bctx_result r;
	int rc = bctx_build(&o, &r);
	if (sink.fd >= 0 && !to_stdout) {
		if (close(sink.fd) < 0 && rc == 0) {
			eidf_set_error("cannot write %s: %s", opt_output, strerror(errno));
			rc = -1;
			bctx_result_release(&r);
		}
		if (rc < 0)
			unlink(opt_output);
	}
	if (rc < 0) {
		eidf_error("%s", eidf_last_error());
		goto out;
	}
	if (!r.dockerfile_found)
		eidf_warning("no %s in the context: a build will fail (use -f, or `kubectl eidf build-context init`)",
			     r.dockerfile);
	bctx_warn_secrets(&r);
	if (opt_summary)
		print_summary(info, &c, &r);
	char *h = human_bytes(r.tar_bytes);
	fprintf(info, "digest: sha256:%s\n", r.digest);
	fprintf(info, "size: %llu bytes uncompressed (%s)", (unsigned long long)r.tar_bytes, h);
	free(h);
	if (o.write && o.compression == BCTX_GZIP) {
		h = human_bytes(r.out_bytes);
		fprintf(info, ", %llu bytes gzip (%s)", (unsigned long long)r.out_bytes, h);
		free(h);
	}
	fprintf(info, "\nfiles: %llu (%llu directories, %llu symlinks",
		(unsigned long long)r.files, (unsigned long long)r.dirs, (unsigned long long)r.symlinks);
	if (r.skipped)
		fprintf(info, ", %llu special files skipped", (unsigned long long)r.skipped);
	fprintf(info, ")\n");
	if (r.ignore_file)
		fprintf(info, "ignore file: %s (%zu patterns)\n", r.ignore_file, r.patterns);
	if (opt_output && !to_stdout)
		fprintf(info, "wrote %s\n", opt_output);
	bctx_result_release(&r);
out:
	top_release(c.files);
	top_release(c.dirs);
	for (size_t i = 0; i < c.depth; i++)
		free(c.stack[i].path);
	free(c.stack);
	strvec_clear(&c.heavy);
	return rc < 0 ? EIDF_EXIT_ERROR : EIDF_EXIT_OK;
}

/* ---- init ---------------------------------------------------------------- */

static const char *opt_base, *opt_image, *opt_registry;
static struct strvec opt_pip = STRVEC_INIT;
static int opt_action, opt_force;

static const struct option init_opts[] = {
	OPT_STRING(0, "base", &opt_base, "image", "base image (default " DEFAULT_BASE ")", COMPLETE_IMAGE),
	OPT_LIST(0, "pip", &opt_pip, "pkg,...", "Python packages to pip install (repeatable, comma-separated)",
		 COMPLETE_NONE),
	OPT_BOOL(0, "github-action", &opt_action, "also write .github/workflows/docker-build.yml"),
	OPT_STRING(0, "image", &opt_image, "user/name[:tag]", "image the workflow pushes", COMPLETE_IMAGE),
	OPT_ENUM(0, "registry", &opt_registry, "registry", "docker.io (default) or registry.eidf.ac.uk",
		 registries),
	OPT_BOOL(0, "force", &opt_force, "overwrite existing files"),
	OPT_END(),
};

/* A pip requirement put inside single quotes on a RUN line. */
static int valid_pip(const char *s)
{
	if (!*s || s[0] == '-')
		return 0;
	for (const char *p = s; *p; p++)
		if (*p == '\'' || *p == '\\' || (unsigned char)*p <= ' ' || *p == 0x7f)
			return 0;
	return 1;
}

static int is_amd64(void)
{
	const char *fake = getenv("EIDF_TEST_MACHINE"); /* tests */
	struct utsname u;
	const char *m = fake ? fake : (uname(&u) == 0 ? u.machine : "x86_64");
	return !strcmp(m, "x86_64") || !strcmp(m, "amd64");
}

/* Single-quoted YAML scalar. */
static void yaml_quote(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			strbuf_addch(sb, '\'');
		strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '\'');
}

static char *workflow_yaml(const char *subpath, const char *image, const char *registry)
{
	int eidf = registry && !strcmp(registry, "registry.eidf.ac.uk");
	struct strbuf sb = STRBUF_INIT;
	char *tag = NULL;
	if (eidf && !starts_with(image, "registry.eidf.ac.uk/"))
		tag = xasprintf("registry.eidf.ac.uk/%s", image);
	else
		tag = xstrdup(image);
	if (!strchr(strrchr(tag, '/') ? strrchr(tag, '/') : tag, ':')) {
		char *t = xasprintf("%s:latest", tag);
		free(tag);
		tag = t;
	}
	strbuf_addstr(&sb, "# Written by `kubectl eidf build-context init --github-action`.\n"
		      "# Builds and pushes the image when files under the context change\n"
		      "# (the EIDF template workflow's action).  Needs the repository secrets\n");
	strbuf_addf(&sb, "# %s and %s.\n", eidf ? "REGISTRY_USERNAME" : "DOCKERHUB_USERNAME",
		    eidf ? "REGISTRY_TOKEN" : "DOCKERHUB_TOKEN");
	strbuf_addstr(&sb, "# Note: with the Git context, older BuildKit versions do not apply\n"
		      "# .dockerignore; `kubectl eidf build-context --git HEAD` shows what a\n"
		      "# .dockerignore-aware build would send.\n"
		      "# Each image is tagged with the commit SHA as well, so that a run can pin\n"
		      "# the exact image: kubectl eidf devrun --image NAME:<sha>.\n"
		      "name: docker-build\n"
		      "on:\n"
		      "  workflow_dispatch:\n"
		      "  push:\n"
		      "    paths:\n"
		      "      - ");
	struct strbuf p = STRBUF_INIT;
	if (*subpath)
		strbuf_addf(&p, "%s/**", subpath);
	else
		strbuf_addstr(&p, "**");
	yaml_quote(&sb, p.buf);
	strbuf_release(&p);
	strbuf_addstr(&sb, "\n"
		      "\n"
		      "jobs:\n"
		      "  docker:\n"
		      "    runs-on: ubuntu-latest\n"
		      "    steps:\n"
		      "      - name: Set up QEMU\n"
		      "        uses: docker/setup-qemu-action@v3\n"
		      "      - name: Set up Docker Buildx\n"
		      "        uses: docker/setup-buildx-action@v3\n");
	strbuf_addf(&sb, "      - name: Login to %s\n", eidf ? "the EIDF registry" : "Docker Hub");
	strbuf_addstr(&sb, "        uses: docker/login-action@v3\n"
		      "        with:\n");
	if (eidf)
		strbuf_addstr(&sb, "          registry: registry.eidf.ac.uk\n"
			      "          username: ${{ secrets.REGISTRY_USERNAME }}\n"
			      "          password: ${{ secrets.REGISTRY_TOKEN }}\n");
	else
		strbuf_addstr(&sb, "          username: ${{ secrets.DOCKERHUB_USERNAME }}\n"
			      "          password: ${{ secrets.DOCKERHUB_TOKEN }}\n");
	strbuf_addstr(&sb, "      - name: Build and push\n"
		      "        uses: docker/build-push-action@v5\n"
		      "        with:\n"
		      "          context: ");
	char *ctx = *subpath ? xasprintf("{{defaultContext}}:%s", subpath) : xstrdup("{{defaultContext}}");
	yaml_quote(&sb, ctx);
	free(ctx);
	strbuf_addstr(&sb, "\n          platforms: linux/amd64\n"
		      "          push: true\n"
		      "          tags: |\n");
	/* the image names are checked (image_ref_check): plain lines are safe */
	const char *last_slash = strrchr(tag, '/');
	const char *colon = strrchr(last_slash ? last_slash : tag, ':');
	strbuf_addf(&sb, "            %s\n", tag);
	strbuf_addf(&sb, "            %.*s:${{ github.sha }}\n", (int)(colon - tag), tag);
	free(tag);
	return strbuf_detach(&sb);
}

/* The git work tree holding dir, and dir's path inside it ("" at the top);
 * NULL when dir is not in a work tree. */
static char *repo_root(const char *dir_abs, char **subpath)
{
	git_libgit2_init();
	git_repository *repo = NULL;
	char *root = NULL;
	*subpath = NULL;
	if (git_repository_open_ext(&repo, dir_abs, 0, NULL) == 0 && git_repository_workdir(repo)) {
		root = realpath(git_repository_workdir(repo), NULL);
		size_t rl = root ? strlen(root) : 0;
		if (root && !strncmp(dir_abs, root, rl) && (dir_abs[rl] == '/' || !dir_abs[rl])) {
			*subpath = xstrdup(dir_abs[rl] ? dir_abs + rl + 1 : "");
		} else {
			free(root);
			root = NULL;
		}
	}
	git_repository_free(repo);
	git_libgit2_shutdown();
	return root;
}

static int run_init(struct eidf_cmd *cmd, int argc, const char **argv)
{
	(void)cmd;
	int ret = EIDF_EXIT_ERROR;
	if (argc > 1) {
		eidf_error("init takes one directory, got %d arguments", argc);
		return EIDF_EXIT_USAGE;
	}
	const char *dir = argc ? argv[0] : ".";
	const char *base = opt_base ? opt_base : setting("build-context.base", DEFAULT_BASE);
	if (image_ref_check(base) < 0) {
		eidf_error("--base: %s", eidf_last_error());
		return EIDF_EXIT_USAGE;
	}
	if (opt_action && !opt_image) {
		eidf_error("--github-action needs --image USER/NAME[:TAG], the image the workflow pushes");
		return EIDF_EXIT_USAGE;
	}
	if (opt_image && (image_ref_check(opt_image) < 0 || strchr(opt_image, '@'))) {
		if (strchr(opt_image, '@'))
			eidf_error("--image: the workflow pushes a tag, not a digest: use USER/NAME[:TAG]");
		else
			eidf_error("--image: %s", eidf_last_error());
		return EIDF_EXIT_USAGE;
	}
	struct strvec pkgs = STRVEC_INIT;
	for (size_t i = 0; i < opt_pip.n; i++) {
		char *copy = xstrdup(opt_pip.v[i]), *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			if (!valid_pip(t)) {
				eidf_error("invalid --pip package \"%s\": no spaces, quotes or backslashes", t);
				free(copy);
				strvec_clear(&pkgs);
				return EIDF_EXIT_USAGE;
			}
			strvec_push(&pkgs, t);
		}
		free(copy);
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		eidf_error("cannot create %s: %s", dir, strerror(errno));
		strvec_clear(&pkgs);
		return EIDF_EXIT_ERROR;
	}
	char *dir_abs = realpath(dir, NULL);
	char *subpath = NULL, *root = NULL;
	struct strvec paths = STRVEC_INIT, bodies = STRVEC_INIT;
	if (!dir_abs) {
		eidf_error("cannot use %s: %s", dir, strerror(errno));
		goto out;
	}

	struct strbuf df = STRBUF_INIT;
	strbuf_addstr(&df, "# Written by `kubectl eidf build-context init`: the base image plus your\n"
		      "# packages (EIDF template workflow, \"Preparing a custom Docker image\").\n"
		      "# The EIDF GPU Service runs linux/amd64 images.\n");
	strbuf_addf(&df, "FROM %s\n", base);
	/* one layer, and no pip cache baked into the image */
	if (pkgs.n) {
		strbuf_addstr(&df, "RUN pip install --no-cache-dir");
		for (size_t i = 0; i < pkgs.n; i++)
			strbuf_addf(&df, " \\\n    '%s'", pkgs.v[i]);
		strbuf_addch(&df, '\n');
	} else {
		strbuf_addstr(&df, "# RUN pip install --no-cache-dir \\\n#     pandas \\\n#     plotly\n");
	}
	strvec_pushf(&paths, "%s/Dockerfile", dir);
	strvec_push_owned(&bodies, strbuf_detach(&df));

	if (opt_action) {
		root = repo_root(dir_abs, &subpath);
		if (!root) {
			eidf_warning("%s is not inside a git work tree; writing the workflow to %s/.github/workflows",
				     dir, dir);
			root = xstrdup(dir_abs);
			subpath = xstrdup("");
		}
		strvec_pushf(&paths, "%s/.github/workflows/docker-build.yml", root);
		strvec_push_owned(&bodies, workflow_yaml(subpath, opt_image, opt_registry));
	}

	/* all or nothing: refuse before writing anything */
	int clash = 0;
	for (size_t i = 0; i < paths.n; i++) {
		if (access(paths.v[i], F_OK) == 0 && !opt_force) {
			eidf_error("%s already exists; use --force to overwrite it", paths.v[i]);
			clash = 1;
		}
	}
	if (clash)
		goto out;
	for (size_t i = 0; i < paths.n; i++) {
		char *slash = strrchr(paths.v[i], '/');
		/* create .github/workflows */
		for (char *p = paths.v[i] + 1; p && p <= slash; p = strchr(p + 1, '/')) {
			if (*p != '/')
				continue;
			*p = '\0';
			if (mkdir(paths.v[i], 0755) < 0 && errno != EEXIST) {
				eidf_error("cannot create %s: %s", paths.v[i], strerror(errno));
				*p = '/';
				goto out;
			}
			*p = '/';
		}
		if (write_file_atomic(paths.v[i], bodies.v[i], strlen(bodies.v[i]), 0644) < 0) {
			eidf_error("%s", eidf_last_error());
			goto out;
		}
		printf("wrote %s\n", paths.v[i]);
	}
	/* a starter .dockerignore, only where there is none */
	char *ign = xasprintf("%s/.dockerignore", dir);
	if (access(ign, F_OK) != 0) {
		static const char starter[] =
			"# Not sent to the builder (Docker's .dockerignore syntax).\n"
			".git\n**/__pycache__\n**/*.pyc\n**/.ipynb_checkpoints\n.venv\nvenv\n";
		if (write_file_atomic(ign, starter, sizeof(starter) - 1, 0644) == 0)
			printf("wrote %s\n", ign);
	}
	free(ign);
	if (!is_amd64())
		printf("note: this machine is not amd64, but the EIDF GPU Service runs linux/amd64 images:\n"
		       "  build with `docker build --platform linux/amd64 ...` (or let the GitHub Action or\n"
		       "  `kubectl eidf build-context submit` build it).\n");
	printf("next: docker build --platform linux/amd64 -t %s %s\n", opt_image ? opt_image : "USER/NAME:TAG", dir);
	ret = EIDF_EXIT_OK;
out:
	free(dir_abs);
	free(root);
	free(subpath);
	strvec_clear(&paths);
	strvec_clear(&bodies);
	strvec_clear(&pkgs);
	return ret;
}

/* ---- secret create --------------------------------------------------------- */

static const char *opt_from_docker_config, *opt_username, *opt_dry_run, *opt_out_fmt;
static int opt_password_stdin;

static const struct option secret_opts[] = {
	OPT_STRING(0, "from-docker-config", &opt_from_docker_config, "path",
		   "use an existing docker config.json (e.g. ~/.docker/config.json)", COMPLETE_FILE),
	OPT_STRING(0, "username", &opt_username, "user", "registry user name", COMPLETE_NONE),
	OPT_BOOL(0, "password-stdin", &opt_password_stdin, "read the password or token from stdin"),
	OPT_STRING(0, "registry", &opt_registry, "host", "registry host (default docker.io)", COMPLETE_NONE),
	OPT_DRY_RUN(&opt_dry_run),
	OPT_ENUM('o', "output", &opt_out_fmt, "format", "output format: json, yaml or name", output_formats),
	OPT_SHOW_MANAGED_FIELDS(),
	OPT_INCLUDE(kube_options),
	OPT_END(),
};

/* The docker config with the values of auth, password, identitytoken and
 * registrytoken in every auths entry replaced by "REDACTED" (caller frees). */
static char *redacted_docker_config(const char *buf, size_t len)
{
	static const char *const keys[] = { "auth", "password", "identitytoken", "registrytoken" };
	cJSON *j = cJSON_ParseWithLength(buf, len);
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "auths")) {
		for (size_t i = 0; i < EIDF_ARRAY_SIZE(keys); i++)
			if (cJSON_GetObjectItem(e, keys[i]))
				cJSON_ReplaceItemInObject((cJSON *)e, keys[i], cJSON_CreateString("REDACTED"));
	}
	char *out = j ? cJSON_PrintUnformatted(j) : xstrdup("{}");
	cJSON_Delete(j);
	return out;
}

static int run_secret(struct eidf_cmd *cmd, int argc, const char **argv)
{
	if (argc != 2 || strcmp(argv[0], "create")) {
		eidf_error("usage: kubectl eidf build-context secret create NAME "
			   "[--from-docker-config PATH | --username U --password-stdin] [--registry R]");
		return EIDF_EXIT_USAGE;
	}
	const char *name = argv[1];
	if (!is_dns1123_subdomain(name)) {
		eidf_error("invalid Secret name \"%s\": use lower case letters, digits, '-' and '.'", name);
		return EIDF_EXIT_USAGE;
	}
	if (!!opt_from_docker_config == !!opt_username) {
		eidf_error("give either --from-docker-config PATH or --username USER --password-stdin");
		return EIDF_EXIT_USAGE;
	}
	enum output_format fmt;
	if (output_format_parse(opt_out_fmt, &fmt) < 0) {
		eidf_error("%s", eidf_last_error());
		return EIDF_EXIT_USAGE;
	}
	struct strbuf cfg = STRBUF_INIT;
	if (opt_from_docker_config) {
		if (read_file(opt_from_docker_config, &cfg) < 0) {
			eidf_error("%s", eidf_last_error());
			return EIDF_EXIT_ERROR;
		}
		cJSON *j = cJSON_ParseWithLength(cfg.buf, cfg.len);
		int ok = j && cJSON_IsObject(cJSON_GetObjectItem(j, "auths"));
		cJSON_Delete(j);
		if (!ok) {
			eidf_error("%s is not a docker config.json with an \"auths\" section "
				   "(credential helpers keep secrets elsewhere: use --username and --password-stdin)",
				   opt_from_docker_config);
			strbuf_release(&cfg);
			return EIDF_EXIT_ERROR;
		}
	} else {
		if (!opt_password_stdin) {
			eidf_error("--username needs --password-stdin (passwords never go on the command line)");
			return EIDF_EXIT_USAGE;
		}
		struct strbuf pw = STRBUF_INIT;
		char buf[4096];
		size_t n;
		while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
			strbuf_add(&pw, buf, n);
		while (pw.len && (pw.buf[pw.len - 1] == '\n' || pw.buf[pw.len - 1] == '\r'))
			pw.buf[--pw.len] = '\0';
		if (!pw.len) {
			eidf_error("no password on stdin");
			strbuf_release(&pw);
			return EIDF_EXIT_USAGE;
		}
		const char *reg = opt_registry ? opt_registry : "docker.io";
		/* docker's key for Docker Hub */
		const char *key = !strcmp(reg, "docker.io") ? "https://index.docker.io/v1/" : reg;
		char *up = xasprintf("%s:%s", opt_username, pw.buf);
		char *auth = base64_encode(up, strlen(up));
		cJSON *root = cJSON_CreateObject();
		cJSON *entry = cJSON_AddObjectToObject(cJSON_AddObjectToObject(root, "auths"), key);
		cJSON_AddStringToObject(entry, "username", opt_username);
		cJSON_AddStringToObject(entry, "password", pw.buf);
		cJSON_AddStringToObject(entry, "auth", auth);
		char *s = cJSON_PrintUnformatted(root);
		strbuf_addstr(&cfg, s);
		free(s);
		cJSON_Delete(root);
		memset(up, 0, strlen(up));
		free(up);
		free(auth);
		memset(pw.buf, 0, pw.len);
		strbuf_release(&pw);
	}
	const char *ns = cmd_project_namespace(cmd);
	if (!ns) {
		strbuf_release(&cfg);
		return EIDF_EXIT_ERROR;
	}
	cJSON *sec = cJSON_CreateObject();
	cJSON_AddStringToObject(sec, "apiVersion", "v1");
	cJSON_AddStringToObject(sec, "kind", "Secret");
	cJSON *md = cJSON_AddObjectToObject(sec, "metadata");
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "namespace", ns);
	manifest_set_label(sec, LABEL_MANAGED_BY, MANAGED_BY);
	manifest_set_label(sec, LABEL_STAGE, "build-context");
	cJSON_AddStringToObject(sec, "type", "kubernetes.io/dockerconfigjson");
	int ret = EIDF_EXIT_ERROR, dry = dry_run_mode(opt_dry_run);
	/* A client dry run shows the config with every credential replaced, so
	 * that the output is still a valid Secret and never a secret. */
	char *shown = dry ? redacted_docker_config(cfg.buf, cfg.len) : NULL;
	char *b64 = dry == 1 ? base64_encode(shown, strlen(shown)) : base64_encode(cfg.buf, cfg.len);
	/* a server dry run's answer is shown redacted too */
	char *shown_b64 = dry == 2 ? base64_encode(shown, strlen(shown)) : NULL;
	cJSON *answer = NULL;
	cJSON_AddStringToObject(cJSON_AddObjectToObject(sec, "data"), ".dockerconfigjson", b64);
	free(b64);
	free(shown);
	memset(cfg.buf, 0, cfg.len);
	strbuf_release(&cfg);

	if (dry == 1) {
		output_object(stdout, sec, fmt == OUT_DEFAULT ? OUT_YAML : fmt);
		ret = EIDF_EXIT_OK;
		goto out;
	}
	struct kclient *kc = cmd_client(cmd);
	if (!kc)
		goto out;
	if (kclient_create(kc, &KRES_SECRETS, ns, sec, dry == 2, dry == 2 ? &answer : NULL) < 0) {
		eidf_error("%s", eidf_last_error());
		goto out;
	}
	if (dry == 2) {
		cJSON *data = cJSON_GetObjectItem(answer, "data");
		if (data)
			cJSON_ReplaceItemInObject(data, ".dockerconfigjson", cJSON_CreateString(shown_b64));
		const cJSON *sent[] = { answer };
		ret = output_server_dry_run(stdout, sent, 1, fmt) < 0 ? EIDF_EXIT_ERROR : EIDF_EXIT_OK;
		goto out;
	}
	printf("secret/%s created\nuse it with: kubectl eidf build-context submit --registry-secret %s --image ...\n",
	       name, name);
	ret = EIDF_EXIT_OK;
out:
	cJSON_Delete(answer);
	free(shown_b64);
	cJSON_Delete(sec);
	return ret;
}

/* ---- the command ---------------------------------------------------------- */

#include "submit.h"
#include "settings_keys.h"

static const struct subcommand subcommands[] = {
	{ .name = NULL, .summary = "build the context archive and print its digest",
	  .usage = "[DIR] [-f Dockerfile] [-O FILE|-] [--git REV] [--list] [--summary] "
		   "[--compression gzip|none] [--level N]",
	  .description = "Archives DIR (default .) as Docker would send it to a builder: "
			 ".dockerignore applied with Docker's exact rules (or <Dockerfile>.dockerignore "
			 "next to a custom Dockerfile), the Dockerfile and .dockerignore always kept. "
			 "The archive is reproducible: entries sorted by name, mtime $SOURCE_DATE_EPOCH "
			 "(else the commit time with --git, else 0), owner 0:0, modes 0644/0755, gzip "
			 "header without name or time. Prints the sha256 of the uncompressed tar (the "
			 "content digest), its size and the file count.",
	  .options = build_opts, .args_complete = COMPLETE_DIR, .run = run_build },
	{ .name = "init", .summary = "write a Dockerfile (and a GitHub Action) for a custom image",
	  .usage = "[DIR] [--base IMAGE] [--pip PKG,...] [--github-action --image USER/NAME[:TAG]] "
		   "[--registry docker.io|registry.eidf.ac.uk] [--force]",
	  .description = "Writes DIR/Dockerfile from the base image (default " DEFAULT_BASE
			 ") with one `RUN pip install --no-cache-dir` for the packages, a starter .dockerignore when "
			 "there is none, and with --github-action the workflow of the EIDF template "
			 "(QEMU, buildx, registry login from repository secrets, build and push for "
			 "linux/amd64 when the directory changes or on demand, tagged latest (or TAG) and the commit SHA). Existing files are never "
			 "overwritten without --force.",
	  .options = init_opts, .args_complete = COMPLETE_DIR, .run = run_init },
	{ .name = "submit", .summary = "build and push the image in the cluster (Kaniko)",
	  .usage = "--image REG/NAME:TAG [DIR] [-f Dockerfile] [--registry-secret NAME] [--builder-image IMAGE] "
		   "[--cpu N --memory Q] [--transport auto|secret|exec] [--follow|--detach] [--dry-run -o yaml]",
	  .description = SUBMIT_DESCRIPTION,
	  .options = submit_opts, .args_complete = COMPLETE_DIR, .run = run_submit },
	{ .name = "status", .summary = "where a submitted build is, why it failed; --follow streams it",
	  .usage = "JOB [--follow] [--timeout DURATION]", .description = STATUS_DESCRIPTION,
	  .options = status_opts, .args_complete = COMPLETE_NONE, .run = run_status },
	{ .name = "list", .alias = "ls", .summary = "recent builds: image, state, context digest, age",
	  .usage = "[-o wide|json|yaml|name] [--no-headers]",
	  .description = "Lists the Jobs of `build-context submit` in the namespace, newest first, "
			 "with the image they push, their state (from the Job's conditions and its "
			 "pod, as `status` reads it) and the context digest. A directory named "
			 "`list` is built with `build-context ./list`.",
	  .options = list_opts, .args_complete = COMPLETE_NONE, .run = run_list },
	{ .name = "secret", .summary = "create the registry credentials Secret for submit",
	  .usage = "create NAME [--from-docker-config PATH | --username U --password-stdin] [--registry R]",
	  .description = "Creates a kubernetes.io/dockerconfigjson Secret that `submit "
			 "--registry-secret NAME` mounts as the builder's docker config. The "
			 "password is read from stdin only and never printed.",
	  .options = secret_opts, .args_complete = COMPLETE_NONE, .run = run_secret },
	{ .run = NULL },
};

static const struct stage build_context_stage = {
	.name = "build-context",
	.summary = "reproducible Docker build contexts, Dockerfile scaffolding, in-cluster builds",
	.description = "Kubernetes cannot build images: build locally, with a GitHub Action, or "
		       "with `submit` in the cluster. The context is what every builder receives; "
		       "this command makes it exact (Docker's .dockerignore rules) and reproducible "
		       "(a digest that is the same on every machine).",
	.subcommands = subcommands,
};

int main(int argc, char **argv)
{
	settings_set_known(eidf_settings_keys); /* docs/configuration.md */
	int rc = stage_main(&build_context_stage, argc, argv);
	strvec_clear(&opt_pip);
	return rc;
}
