/* cobra's __complete protocol, computed from the option tables.
 *
 * Output: one candidate per line ("value" or "value\tdescription"), then
 * ":<directive>".  Always exit 0: kubectl drops everything on failure. */
#include "eidf/cmd.h"
#include "eidf/settings.h"
#include "internal.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
	DIR_DEFAULT = 0,
	DIR_ERROR = 1,
	DIR_NOSPACE = 2,
	DIR_NOFILE = 4,
	DIR_FILTER_EXT = 8,
	DIR_FILTER_DIRS = 16,
	DIR_KEEP_ORDER = 32,
};

int complete_no_desc;

struct completion {
	struct strvec out;
	int directive;
	const char *prefix;
};

static void add(struct completion *c, const char *value, const char *desc)
{
	if (!starts_with(value, c->prefix))
		return;
	if (desc && *desc && !complete_no_desc) {
		/* descriptions are one line */
		char *d = xstrdup(desc);
		for (char *p = d; *p; p++)
			if (*p == '\n' || *p == '\t')
				*p = ' ';
		strvec_pushf(&c->out, "%s\t%s", value, d);
		free(d);
	} else {
		strvec_push(&c->out, value);
	}
}

/* Names from an API list, prefix-filtered. */
/* Is VALUE already a candidate (with or without a description)? */
static int has_value(const struct completion *c, const char *value)
{
	size_t vl = strlen(value);
	for (size_t i = 0; i < c->out.n; i++)
		if (!strncmp(c->out.v[i], value, vl) && (!c->out.v[i][vl] || c->out.v[i][vl] == '\t'))
			return 1;
	return 0;
}

static void add_api_names(struct completion *c, struct eidf_cmd *cmd, const struct kres *r)
{
	struct kclient *kc = cmd_client(cmd);
	const char *ns = NULL;
	cJSON *list = NULL;
	const cJSON *items, *it;

	c->directive = DIR_NOFILE;
	if (!kc)
		return;
	if (r->namespaced) {
		ns = cmd_namespace(cmd);
		if (!ns)
			return;
	}
	if (kclient_list(kc, r, ns, NULL, &list) < 0)
		return;
	items = cJSON_GetObjectItemCaseSensitive(list, "items");
	cJSON_ArrayForEach(it, items) {
		const cJSON *md = cJSON_GetObjectItemCaseSensitive(it, "metadata");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(md, "name");
		if (cJSON_IsString(name) && !has_value(c, name->valuestring))
			add(c, name->valuestring, NULL);
	}
	cJSON_Delete(list);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Directories whose path starts with PREFIX, as "dir/" (descend with
 * another TAB); hidden ones only when PREFIX's last part starts with '.'. */
static void add_dirs(struct completion *c, const char *prefix)
{
	const char *slash = strrchr(prefix, '/');
	char *dir = slash ? xstrndup(prefix, (size_t)(slash - prefix) + 1) : xstrdup("");
	const char *base = slash ? slash + 1 : prefix;
	DIR *d = opendir(*dir ? dir : ".");
	struct dirent *de;
	struct strvec found = STRVEC_INIT;

	while (d && (de = readdir(d))) {
		struct stat st;
		char *path;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (de->d_name[0] == '.' && base[0] != '.')
			continue;
		if (strncmp(de->d_name, base, strlen(base)))
			continue;
		path = xasprintf("%s%s", dir, de->d_name);
		if (stat(*path ? path : ".", &st) == 0 && S_ISDIR(st.st_mode))
			strvec_pushf(&found, "%s/", path);
		free(path);
	}
	if (d)
		closedir(d);
	qsort(found.v, found.n, sizeof(*found.v), cmp_str);
	for (size_t i = 0; i < found.n; i++)
		add(c, found.v[i], NULL);
	strvec_clear(&found);
	free(dir);
}

static void add_strvec(struct completion *c, struct strvec *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		add(c, sv->v[i], NULL);
	strvec_clear(sv);
}

static void complete_kind(struct completion *c, struct eidf_cmd *cmd, enum complete_kind kind,
			  const char *const *enum_values, complete_fn custom)
{
	struct strvec sv = STRVEC_INIT;

	switch (kind) {
	case COMPLETE_NONE:
		c->directive = DIR_NOFILE;
		break;
	case COMPLETE_FILE:
		c->directive = DIR_DEFAULT;
		break;
	case COMPLETE_DIR:
		c->directive = DIR_FILTER_DIRS;
		break;
	case COMPLETE_ENUM:
		c->directive = DIR_NOFILE;
		for (size_t i = 0; enum_values && enum_values[i]; i++)
			add(c, enum_values[i], NULL);
		break;
	case COMPLETE_NAMESPACE: {
		/* the context's namespace always: a project user may not list
		 * namespaces (403), and it is the one they mean most often */
		const struct kube_config *cfg = cmd_config(cmd);
		if (cfg && cfg->namespace && *cfg->namespace)
			add(c, cfg->namespace, "the context's namespace");
		add_api_names(c, cmd, &KRES_NAMESPACES);
		c->directive = DIR_NOFILE;
		break;
	}
	case COMPLETE_PVC:
		add_api_names(c, cmd, &KRES_PVCS);
		break;
	case COMPLETE_STORAGECLASS:
		add_api_names(c, cmd, &KRES_STORAGECLASSES);
		break;
	case COMPLETE_CONTEXT:
	case COMPLETE_CLUSTER:
	case COMPLETE_USER:
		c->directive = DIR_NOFILE;
		kube_config_names(&kube_flags,
				  kind == COMPLETE_CONTEXT ? "contexts" :
				  kind == COMPLETE_CLUSTER ? "clusters" : "users", &sv);
		add_strvec(c, &sv);
		break;
	case COMPLETE_GPU_PRODUCT:
		c->directive = DIR_NOFILE;
		gpu_products(&sv);
		add_strvec(c, &sv);
		break;
	case COMPLETE_IMAGE:
		c->directive = DIR_NOFILE;
		setting_list("images", &sv);
		add_strvec(c, &sv);
		break;
	case COMPLETE_CUSTOM:
		c->directive = DIR_NOFILE;
		if (custom) {
			custom(c->prefix, &sv, cmd);
			/* custom functions may already filter; filtering again is harmless */
			for (size_t i = 0; i < sv.n; i++) {
				char *tab = strchr(sv.v[i], '\t');
				if (tab)
					*tab = '\0';
				add(c, sv.v[i], tab ? tab + 1 : NULL);
				/* "claim:" or "dir/" goes on: no space after it */
				size_t n = strlen(sv.v[i]);
				if (n && (sv.v[i][n - 1] == '/' || sv.v[i][n - 1] == ':'))
					c->directive |= DIR_NOSPACE;
			}
			strvec_clear(&sv);
		}
		break;
	}
}

/* ---- flags ---------------------------------------------------------------------- */

struct flag_ctx {
	struct completion *c;
	const struct strvec *used;
	int want_short;
};

static void flag_cb(const struct option *o, void *vctx)
{
	struct flag_ctx *f = vctx;
	char *name;

	if (o->type == OPT_TYPE_GROUP || (o->flags & OPT_HIDDEN))
		return;
	/* flags already given are not offered again, except repeatable ones */
	if (o->type != OPT_TYPE_LIST && o->type != OPT_TYPE_COUNT && o->long_name &&
	    strvec_contains(f->used, o->long_name))
		return;
	if (o->long_name) {
		name = xasprintf("--%s", o->long_name);
		if (!strvec_contains(&f->c->out, name))
			add(f->c, name, o->help);
		free(name);
	}
	if (f->want_short && o->short_name) {
		name = xasprintf("-%c", o->short_name);
		add(f->c, name, o->help);
		free(name);
	}
}

/* ---- driver ------------------------------------------------------------------------ */


/* Record a flag's value like parse_options would, so that dynamic
 * completion sees --kubeconfig, --context, -n and friends. */
static void remember(const struct option *o, const char *val)
{
	if (!o->value)
		return;
	switch (o->type) {
	case OPT_TYPE_STRING:
	case OPT_TYPE_DURATION:
	case OPT_TYPE_SIZE:
		*(const char **)o->value = val ? val : (o->optarg_default ? o->optarg_default : "");
		break;
	case OPT_TYPE_LIST:
		if (val)
			strvec_push(o->value, val);
		break;
	case OPT_TYPE_BOOL:
		*(int *)o->value = 1;
		break;
	case OPT_TYPE_INT:
		if (val)
			*(long *)o->value = strtol(val, NULL, 10);
		break;
	default:
		break;
	}
}

int complete_main(const struct stage *st, int argc, const char **argv)
{
	struct completion c = { STRVEC_INIT, DIR_NOFILE, "" };
	struct eidf_cmd cmd = { .stage = st, .completing = 1 };
	struct strvec used = STRVEC_INIT;
	const char *cur = argc > 0 ? argv[argc - 1] : "";
	int single;
	const struct subcommand *def = stage_default_sub(st, &single);
	const struct subcommand *sub = single ? def : NULL;
	const struct option stage_opts[] = {
		OPT_INCLUDE(st->options),
		OPT_INCLUDE(kube_options),
		OPT_END(),
	};
	const struct option *opts = sub ? sub->options : def ? def->options : stage_opts;
	const struct option *pending = NULL; /* flag waiting for its value */
	int npos = 0, dashdash = 0; /* npos: positionals after the subcommand */

	for (int i = 0; i < argc - 1; i++) {
		const char *a = argv[i];

		if (pending) {
			remember(pending, a);
			pending = NULL;
			continue;
		}
		if (dashdash || a[0] != '-' || !a[1]) {
			if (!sub) {
				sub = dashdash ? NULL : stage_find_sub(st, a);
				if (!sub && def) {
					sub = def; /* a positional of the default command */
					npos++;
					continue;
				}
				if (!sub)
					goto print; /* unknown subcommand: nothing to offer */
				opts = sub->options;
			} else {
				npos++;
			}
			continue;
		}
		if (!strcmp(a, "--")) {
			dashdash = 1;
			continue;
		}
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			char *name = eq ? xstrndup(a + 2, (size_t)(eq - a - 2)) : xstrdup(a + 2);
			const struct option *o = options_find_long(opts, name);
			strvec_push(&used, name);
			free(name);
			if (!o)
				continue;
			if (eq)
				remember(o, eq + 1);
			else if (option_takes_value(o))
				pending = o;
			else
				remember(o, NULL);
			continue;
		}
		for (const char *p = a + 1; *p; p++) {
			const struct option *o = options_find_short(opts, (unsigned char)*p);
			if (!o)
				break;
			if (o->long_name)
				strvec_push(&used, o->long_name);
			if (o->type == OPT_TYPE_BOOL || o->type == OPT_TYPE_COUNT) {
				remember(o, NULL);
				continue;
			}
			if (p[1] == '=')
				remember(o, p + 2);
			else if (p[1])
				remember(o, p + 1);
			else if (option_takes_value(o))
				pending = o;
			break;
		}
	}

	if (pending) {
		c.prefix = cur;
		complete_kind(&c, &cmd, pending->complete, pending->enum_values,
			      pending->complete_custom);
		goto print;
	}
	if (!dashdash && cur[0] == '-') {
		const char *eq = strchr(cur, '=');
		if (cur[1] == '-' && eq) {
			char *name = xstrndup(cur + 2, (size_t)(eq - cur - 2));
			const struct option *o = options_find_long(opts, name);
			free(name);
			c.prefix = eq + 1;
			if (o && o->type != OPT_TYPE_BOOL && o->type != OPT_TYPE_COUNT)
				complete_kind(&c, &cmd, o->complete, o->enum_values, o->complete_custom);
			else if (o && o->type == OPT_TYPE_BOOL) {
				add(&c, "true", NULL);
				add(&c, "false", NULL);
			}
			goto print;
		}
		if (cur[1] != '-' && cur[1] && !eq) {
			/* "-nVAL" style: complete the value of the last short flag */
			const struct option *o = options_find_short(opts, (unsigned char)cur[1]);
			if (o && option_takes_value(o) && cur[2]) {
				c.prefix = cur + 2;
				complete_kind(&c, &cmd, o->complete, o->enum_values, o->complete_custom);
				/* candidates must carry the "-n" prefix to replace the word */
				for (size_t i = 0; i < c.out.n; i++) {
					char *v = xasprintf("-%c%s", cur[1], c.out.v[i]);
					free(c.out.v[i]);
					c.out.v[i] = v;
				}
				goto print;
			}
		}
		{
			struct flag_ctx f = { &c, &used, cur[1] != '-' };
			c.prefix = cur;
			options_walk(opts, flag_cb, &f);
			c.directive = DIR_NOFILE;
		}
		goto print;
	}
	c.prefix = cur;
	if (dashdash) {
		/* after "--": the command and its arguments (files), never our
		 * subcommands or flags */
		c.directive = DIR_DEFAULT;
		goto print;
	}
	if (!sub) {
		for (const struct subcommand *s = st->subcommands; s && s->run; s++)
			if (s->name || s->alias)
				add(&c, s->name ? s->name : s->alias, s->summary);
		add(&c, "help", "Help about any command");
		c.directive = DIR_NOFILE;
		if (!def || dashdash)
			goto print;
		sub = def; /* also what the default command's first argument takes */
		if (sub->args_complete == COMPLETE_DIR) {
			/* subcommand names and directories together: no shell
			 * directive offers both, so list the directories here */
			add_dirs(&c, cur);
			c.directive = DIR_NOSPACE | DIR_NOFILE;
			goto print;
		}
		if (sub->args_complete == COMPLETE_FILE) {
			/* subcommand names; the shell offers paths when none matches */
			c.directive = DIR_DEFAULT;
			goto print;
		}
	}
	complete_kind(&c, &cmd, sub->args_complete, NULL, sub->args_complete_custom);

print:
	for (size_t i = 0; i < c.out.n; i++)
		printf("%s\n", c.out.v[i]);
	printf(":%d\n", c.directive);
	fflush(stdout);
	strvec_clear(&c.out);
	strvec_clear(&used);
	if (cmd.client)
		kclient_free(cmd.client);
	if (cmd.config_loaded > 0)
		kube_config_release(&cmd.config);
	return 0;
}
