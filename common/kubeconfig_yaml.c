/* kubeconfig YAML access on top of libyaml's document API: typed getters
 * that report the file, line and field on a wrong type, so that
 * kubeconfig.c never looks at raw YAML events. */
#include "kubeconfig_yaml.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static EIDF_PRINTF(4, 0) void set_yerr(const struct kyaml *y, const yaml_node_t *n, const char *field,
					 const char *fmt, va_list ap)
{
	char *msg = xvasprintf(fmt, ap);
	if (n)
		eidf_set_error("error loading kubeconfig \"%s\": line %lu: %s: %s", y->file,
			       (unsigned long)n->start_mark.line + 1, field, msg);
	else
		eidf_set_error("error loading kubeconfig \"%s\": %s: %s", y->file, field, msg);
	free(msg);
}

int kyaml_error(const struct kyaml *y, const yaml_node_t *n, const char *field,
		const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_yerr(y, n, field, fmt, ap);
	va_end(ap);
	return -1;
}

int kyaml_load(struct kyaml *y, const char *file, const char *data, size_t len)
{
	yaml_parser_t parser;

	memset(y, 0, sizeof(*y));
	y->file = file;
	if (!yaml_parser_initialize(&parser)) {
		eidf_set_error("error loading kubeconfig \"%s\": cannot initialise the YAML parser", file);
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	if (!yaml_parser_load(&parser, &y->doc)) {
		const char *problem = parser.problem ? parser.problem : "malformed YAML";
		/* libyaml's messages quote syntax, never the scalar values */
		if (parser.context)
			eidf_set_error("error loading kubeconfig \"%s\": line %lu column %lu: %s %s; "
				       "fix the YAML syntax", file,
				       (unsigned long)parser.problem_mark.line + 1,
				       (unsigned long)parser.problem_mark.column + 1,
				       parser.context, problem);
		else
			eidf_set_error("error loading kubeconfig \"%s\": line %lu column %lu: %s; "
				       "fix the YAML syntax", file,
				       (unsigned long)parser.problem_mark.line + 1,
				       (unsigned long)parser.problem_mark.column + 1, problem);
		yaml_parser_delete(&parser);
		return -1;
	}
	yaml_parser_delete(&parser);
	y->loaded = 1;
	return 0;
}

void kyaml_release(struct kyaml *y)
{
	if (y->loaded)
		yaml_document_delete(&y->doc);
	y->loaded = 0;
}

yaml_node_t *kyaml_root(struct kyaml *y)
{
	return y->loaded ? yaml_document_get_root_node(&y->doc) : NULL;
}

yaml_node_t *kyaml_node(struct kyaml *y, int id)
{
	return yaml_document_get_node(&y->doc, id);
}

int kyaml_is_null(const yaml_node_t *n)
{
	const char *v;
	size_t l;

	if (!n)
		return 1;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = (const char *)n->data.scalar.value;
	l = n->data.scalar.length;
	return l == 0 || (l == 1 && v[0] == '~') ||
	       (l == 4 && (!memcmp(v, "null", 4) || !memcmp(v, "Null", 4) || !memcmp(v, "NULL", 4)));
}

const char *kyaml_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE: return "a mapping";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_SCALAR_NODE: return "a scalar";
	default: return "nothing";
	}
}

static int key_is(const yaml_node_t *k, const char *key)
{
	size_t l = strlen(key);
	return k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == l &&
	       !memcmp(k->data.scalar.value, key, l);
}

int kyaml_check_map(struct kyaml *y, yaml_node_t *n, const char *field)
{
	if (n->type != YAML_MAPPING_NODE)
		return kyaml_error(y, n, field, "expected a mapping, found %s", kyaml_kind(n));
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = kyaml_node(y, p->key);
		if (!k || k->type != YAML_SCALAR_NODE)
			return kyaml_error(y, k ? k : n, field, "mapping keys must be strings");
		for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *k2 = kyaml_node(y, q->key);
			if (k2->data.scalar.length == k->data.scalar.length &&
			    !memcmp(k2->data.scalar.value, k->data.scalar.value, k->data.scalar.length))
				return kyaml_error(y, k, field, "duplicate key \"%.*s\"",
						   (int)(k->data.scalar.length > 100 ? 100 : k->data.scalar.length),
						   (const char *)k->data.scalar.value);
		}
	}
	return 0;
}

yaml_node_t *kyaml_get(struct kyaml *y, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++)
		if (key_is(kyaml_node(y, p->key), key)) {
			yaml_node_t *v = kyaml_node(y, p->value);
			return kyaml_is_null(v) ? NULL : v;
		}
	return NULL;
}

int kyaml_str(struct kyaml *y, yaml_node_t *map, const char *key, const char *ctx, char **out)
{
	yaml_node_t *v = kyaml_get(y, map, key);
	if (!v)
		return 0;
	if (v->type != YAML_SCALAR_NODE) {
		char *f = xasprintf("%s: %s", ctx, key);
		kyaml_error(y, v, f, "expected a string, found %s", kyaml_kind(v));
		free(f);
		return -1;
	}
	free(*out);
	*out = xstrndup((const char *)v->data.scalar.value, v->data.scalar.length);
	return 0;
}

static int scalar_bool(const yaml_node_t *v, int *out)
{
	static const char *const yes[] = { "true", "yes", "on", "y" };
	static const char *const no[] = { "false", "no", "off", "n" };
	const char *s = (const char *)v->data.scalar.value;

	if (v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return -1;
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = 1;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

int kyaml_bool(struct kyaml *y, yaml_node_t *map, const char *key, const char *ctx, int *out)
{
	yaml_node_t *v = kyaml_get(y, map, key);
	if (!v)
		return 0;
	if (v->type != YAML_SCALAR_NODE || scalar_bool(v, out) < 0) {
		char *f = xasprintf("%s: %s", ctx, key);
		if (v->type != YAML_SCALAR_NODE)
			kyaml_error(y, v, f, "expected true or false, found %s", kyaml_kind(v));
		else
			kyaml_error(y, v, f, "expected true or false (unquoted)");
		free(f);
		return -1;
	}
	return 0;
}

int kyaml_b64(struct kyaml *y, yaml_node_t *map, const char *key, const char *ctx,
	      struct strbuf *out, int *present)
{
	char *s = NULL;
	yaml_node_t *v = kyaml_get(y, map, key);

	if (kyaml_str(y, map, key, ctx, &s) < 0)
		return -1;
	if (!s || !*s) {
		free(s);
		return 0;
	}
	strbuf_reset(out);
	if (base64_decode(s, strlen(s), out) < 0) {
		char *f = xasprintf("%s: %s", ctx, key);
		kyaml_error(y, v, f, "illegal base64 data; it must be the base64 encoding "
			    "of the PEM file (e.g. `base64 -w0 FILE`)");
		free(f);
		free(s);
		return -1;
	}
	free(s);
	*present = 1;
	return 0;
}

int kyaml_strlist(struct kyaml *y, yaml_node_t *map, const char *key, const char *ctx,
		  struct strvec *out)
{
	yaml_node_t *v = kyaml_get(y, map, key);
	char *f;

	if (!v)
		return 0;
	f = xasprintf("%s: %s", ctx, key);
	if (v->type != YAML_SEQUENCE_NODE) {
		kyaml_error(y, v, f, "expected a list of strings, found %s", kyaml_kind(v));
		free(f);
		return -1;
	}
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *e = kyaml_node(y, *it);
		if (!e || e->type != YAML_SCALAR_NODE) {
			kyaml_error(y, e ? e : v, f, "expected a list of strings, found %s in it",
				    e ? kyaml_kind(e) : "nothing");
			free(f);
			return -1;
		}
		strvec_push_owned(out, xstrndup((const char *)e->data.scalar.value, e->data.scalar.length));
	}
	free(f);
	return 0;
}

/* Bounded: aliases share nodes, so a hostile file could fan out exponentially. */
static cJSON *to_json(struct kyaml *y, yaml_node_t *n, int depth, long *budget)
{
	cJSON *j;

	if (!n || depth > 64 || --*budget < 0)
		return NULL;
	switch (n->type) {
	case YAML_SCALAR_NODE: {
		const char *s = (const char *)n->data.scalar.value;
		size_t l = n->data.scalar.length;
		int b;
		if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
			if (kyaml_is_null(n))
				return cJSON_CreateNull();
			if (!strcmp(s, "true") || !strcmp(s, "false"))
				return scalar_bool(n, &b) < 0 ? NULL : cJSON_CreateBool(b);
			if (l && strlen(s) == l && (s[0] == '-' || s[0] == '+' || s[0] == '.' ||
						    (s[0] >= '0' && s[0] <= '9'))) {
				char *end;
				errno = 0;
				double d = strtod(s, &end);
				if (!*end && !errno && isfinite(d))
					return cJSON_CreateNumber(d);
			}
		}
		char *str = xstrndup(s, l);
		j = cJSON_CreateString(str);
		free(str);
		return j;
	}
	case YAML_SEQUENCE_NODE:
		j = cJSON_CreateArray();
		for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
			cJSON *e = to_json(y, kyaml_node(y, *it), depth + 1, budget);
			if (!e) {
				cJSON_Delete(j);
				return NULL;
			}
			cJSON_AddItemToArray(j, e);
		}
		return j;
	case YAML_MAPPING_NODE:
		j = cJSON_CreateObject();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = kyaml_node(y, p->key);
			cJSON *e;
			if (!k || k->type != YAML_SCALAR_NODE ||
			    !(e = to_json(y, kyaml_node(y, p->value), depth + 1, budget))) {
				cJSON_Delete(j);
				return NULL;
			}
			char *key = xstrndup((const char *)k->data.scalar.value, k->data.scalar.length);
			cJSON_AddItemToObject(j, key, e);
			free(key);
		}
		return j;
	default:
		return NULL;
	}
}

cJSON *kyaml_to_json(struct kyaml *y, yaml_node_t *n)
{
	long budget = 100000;
	return to_json(y, n, 0, &budget);
}
