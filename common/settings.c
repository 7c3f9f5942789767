/* User defaults (config.yaml) and the per-repo overlay (.eidf.yaml), read
 * with libyaml and flattened to dotted keys. */
#include "eidf/settings.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ctype.h>
#include <errno.h>
#include <yaml.h>

struct entry {
	char *key;
	char *value;        /* scalar, or NULL for a list */
	struct strvec list; /* sequence items */
	int is_list;
};

struct layer {
	struct entry *e;
	size_t n, alloc;
};

static struct layer user_layer, repo_layer;
static int user_loaded;
static const char *const *known_keys; /* NULL: no check (unit tests, tools) */

void settings_set_known(const char *const *keys)
{
	known_keys = keys;
}

/* Levenshtein distance, for "did you mean"; keys are short. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *row = xcalloc(lb + 1, sizeof(*row));
	size_t d;

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	d = row[lb];
	free(row);
	return d;
}

const char *settings_closest_key(const char *key)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;

	for (size_t i = 0; known_keys && known_keys[i]; i++) {
		size_t d = edit_distance(key, known_keys[i]);
		if (d < best_d) {
			best_d = d;
			best = known_keys[i];
		}
	}
	/* a typo, not a different word: at most a third of the key changed */
	return best && best_d <= 1 + strlen(key) / 3 ? best : NULL;
}

static int is_known(const char *key)
{
	for (size_t i = 0; known_keys[i]; i++)
		if (!strcmp(known_keys[i], key))
			return 1;
	return 0;
}

/* Nothing reads an unknown key, so a typo would silently fall back to the
 * default: say so, with the key it most likely meant. */
static void warn_unknown(const char *path, const struct layer *l)
{
	if (!known_keys)
		return;
	for (size_t i = 0; i < l->n; i++) {
		const char *key = l->e[i].key, *near;
		if (is_known(key))
			continue;
		near = settings_closest_key(key);
		if (near)
			eidf_warning("%s: unknown setting \"%s\" is ignored; did you mean \"%s\"?", path, key, near);
		else
			eidf_warning("%s: unknown setting \"%s\" is ignored (see docs/configuration.md)", path, key);
	}
}

/* The keys a file that does not parse would have set, for the message that
 * says what is being ignored: "key: value" lines and their indentation,
 * flattened like flatten() does.  Best effort; the file is broken. */
static void guess_keys(const char *text, struct strvec *out)
{
	struct { size_t indent; char *key; } stack[32];
	size_t depth = 0;
	const char *line = text;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		size_t indent = strspn(line, " ");
		const char *k = line + indent, *p = k;

		while (p < line + len && (isalnum((unsigned char)*p) || strchr("_.-", *p)))
			p++;
		if (p > k && p < line + len && *p == ':' && (p + 1 == line + len || p[1] == ' ' || p[1] == '\r')) {
			const char *v = p + 1;
			while (v < line + len && (*v == ' ' || *v == '\r'))
				v++;
			while (depth && stack[depth - 1].indent >= indent)
				free(stack[--depth].key);
			struct strbuf full = STRBUF_INIT; /* stack entries hold full keys */
			if (depth)
				strbuf_addf(&full, "%s.", stack[depth - 1].key);
			strbuf_add(&full, k, (size_t)(p - k));
			if (v < line + len && *v != '#') {
				if (!strvec_contains(out, full.buf))
					strvec_push(out, full.buf);
				strbuf_release(&full);
			} else if (depth < EIDF_ARRAY_SIZE(stack)) {
				stack[depth].indent = indent;
				stack[depth++].key = strbuf_detach(&full);
			} else {
				strbuf_release(&full);
			}
		} else if (*k == '-' && depth && !strvec_contains(out, stack[depth - 1].key)) {
			/* "key:" followed by "- item": a list setting */
			strvec_push(out, stack[depth - 1].key);
		}
		line = end ? end + 1 : NULL;
	}
	while (depth)
		free(stack[--depth].key);
}

static void layer_clear(struct layer *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->e[i].key);
		free(l->e[i].value);
		strvec_clear(&l->e[i].list);
	}
	free(l->e);
	memset(l, 0, sizeof(*l));
}

static struct entry *layer_find(struct layer *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->e[i].key, key))
			return &l->e[i];
	return NULL;
}

static struct entry *layer_put(struct layer *l, const char *key)
{
	struct entry *e = layer_find(l, key);
	if (e) {
		free(e->value);
		e->value = NULL;
		strvec_clear(&e->list);
		e->is_list = 0;
		return e;
	}
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 16;
		l->e = xrealloc(l->e, l->alloc * sizeof(*l->e));
	}
	e = &l->e[l->n++];
	memset(e, 0, sizeof(*e));
	e->key = xstrdup(key);
	return e;
}

static void flatten(yaml_document_t *doc, yaml_node_t *node, const char *prefix,
		    struct layer *l, int depth)
{
	if (!node || depth > 32)
		return;
	if (node->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
		     p < node->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);
			yaml_node_t *v = yaml_document_get_node(doc, p->value);
			char *key;
			if (!k || k->type != YAML_SCALAR_NODE)
				continue;
			key = *prefix ? xasprintf("%s.%s", prefix, (char *)k->data.scalar.value)
				      : xstrdup((char *)k->data.scalar.value);
			flatten(doc, v, key, l, depth + 1);
			free(key);
		}
	} else if (node->type == YAML_SEQUENCE_NODE) {
		struct entry *e;
		if (!*prefix)
			return;
		e = layer_put(l, prefix);
		e->is_list = 1;
		for (yaml_node_item_t *it = node->data.sequence.items.start;
		     it < node->data.sequence.items.top; it++) {
			yaml_node_t *v = yaml_document_get_node(doc, *it);
			if (v && v->type == YAML_SCALAR_NODE)
				strvec_push(&e->list, (char *)v->data.scalar.value);
		}
	} else if (node->type == YAML_SCALAR_NODE) {
		struct entry *e;
		const char *val = (const char *)node->data.scalar.value;
		if (!*prefix)
			return;
		/* "key:" with nothing (or ~/null) means unset */
		if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    (!*val || !strcmp(val, "~") || !strcmp(val, "null") || !strcmp(val, "Null") ||
		     !strcmp(val, "NULL")))
			return;
		e = layer_put(l, prefix);
		e->value = xstrdup(val);
	}
}

/* Parse YAML text into a layer; -1 with error naming the path. */
static int load_yaml(const char *path, const struct strbuf *text, struct layer *l)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	int rc = 0;

	if (!yaml_parser_initialize(&parser)) {
		eidf_set_error("%s: cannot initialise the YAML parser", path);
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)strbuf_str(text), text->len);
	if (!yaml_parser_load(&parser, &doc)) {
		struct strvec keys = STRVEC_INIT;
		struct strbuf which = STRBUF_INIT;
		guess_keys(strbuf_str(text), &keys);
		for (size_t i = 0; i < keys.n && i < 8; i++)
			strbuf_addf(&which, "%s%s", i ? ", " : "", keys.v[i]);
		if (keys.n > 8)
			strbuf_addf(&which, " and %zu more", keys.n - 8);
		eidf_set_error("%s: invalid YAML at line %lu%s%s: %s; none of its settings apply%s%s%s", path,
			       (unsigned long)parser.problem_mark.line + 1,
			       parser.context ? " " : "", parser.context ? parser.context : "",
			       parser.problem ? parser.problem : "syntax error",
			       keys.n ? " (" : "", strbuf_str(&which), keys.n ? ")" : "");
		strbuf_release(&which);
		strvec_clear(&keys);
		yaml_parser_delete(&parser);
		return -1;
	}
	root = yaml_document_get_root_node(&doc);
	if (root && root->type == YAML_MAPPING_NODE) {
		flatten(&doc, root, "", l, 0);
		warn_unknown(path, l);
	} else if (root && !(root->type == YAML_SCALAR_NODE && !root->data.scalar.length)) {
		eidf_set_error("%s: expected a mapping of settings at the top level", path);
		rc = -1;
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

char *settings_user_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home;

	if (xdg && *xdg)
		return xasprintf("%s/kubectl-eidf/config.yaml", xdg);
	home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw && pw->pw_dir ? pw->pw_dir : "/";
	}
	return xasprintf("%s/.config/kubectl-eidf/config.yaml", home);
}

static void cleanup(void)
{
	layer_clear(&user_layer);
	layer_clear(&repo_layer);
}

void settings_load_user(void)
{
	static int registered;
	struct strbuf sb = STRBUF_INIT;
	char *path;

	if (user_loaded)
		return;
	user_loaded = 1;
	if (!registered) {
		registered = 1;
		atexit(cleanup);
	}
	path = settings_user_path();
	if (access(path, F_OK) == 0) {
		if (read_file(path, &sb) < 0 || load_yaml(path, &sb, &user_layer) < 0) {
			eidf_warning("ignoring user config: %s", eidf_last_error());
			layer_clear(&user_layer);
		}
	}
	strbuf_release(&sb);
	free(path);
}

int settings_load_repo(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	struct layer l = { 0 };

	settings_load_user(); /* also registers cleanup */
	if (access(path, F_OK) != 0)
		return 0;
	if (read_file(path, &sb) < 0) {
		strbuf_release(&sb);
		return -1;
	}
	if (load_yaml(path, &sb, &l) < 0) {
		strbuf_release(&sb);
		layer_clear(&l);
		return -1;
	}
	strbuf_release(&sb);
	/* later overlays win: copy over the repo layer */
	for (size_t i = 0; i < l.n; i++) {
		struct entry *e = layer_put(&repo_layer, l.e[i].key);
		e->is_list = l.e[i].is_list;
		e->value = l.e[i].value;
		l.e[i].value = NULL;
		e->list = l.e[i].list;
		memset(&l.e[i].list, 0, sizeof(l.e[i].list));
	}
	layer_clear(&l);
	return 0;
}

static struct entry *lookup(const char *key)
{
	struct entry *e;
	settings_load_user();
	e = layer_find(&repo_layer, key);
	if (!e)
		e = layer_find(&user_layer, key);
	return e;
}

const char *setting(const char *key, const char *dflt)
{
	struct entry *e = lookup(key);
	if (!e)
		return dflt;
	if (e->is_list)
		return e->list.n ? e->list.v[0] : dflt;
	return e->value;
}

void setting_list(const char *key, struct strvec *out)
{
	struct entry *e = lookup(key);
	const char *p;

	if (!e)
		return;
	if (e->is_list) {
		for (size_t i = 0; i < e->list.n; i++)
			strvec_push(out, e->list.v[i]);
		return;
	}
	p = e->value;
	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		const char *s = p, *t = p + len;
		while (s < t && (*s == ' ' || *s == '\t'))
			s++;
		while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
			t--;
		if (t > s)
			strvec_push_owned(out, xstrndup(s, (size_t)(t - s)));
		p = comma ? comma + 1 : NULL;
	}
}

void settings_reset(void)
{
	layer_clear(&user_layer);
	layer_clear(&repo_layer);
	user_loaded = 0;
}

static const char *const eidf_gpu_products[] = {
	"NVIDIA-A100-SXM4-80GB",
	"NVIDIA-A100-SXM4-40GB",
	"NVIDIA-A100-SXM4-40GB-MIG-3g.20gb",
	"NVIDIA-A100-SXM4-40GB-MIG-1g.5gb",
	"NVIDIA-H100-80GB-HBM3",
	"NVIDIA-H200",
};

void gpu_products(struct strvec *out)
{
	size_t before = out->n;
	setting_list("gpu-products", out);
	if (out->n > before)
		return;
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(eidf_gpu_products); i++)
		strvec_push(out, eidf_gpu_products[i]);
}
