/* Private: typed access to a kubeconfig YAML document (libyaml document
 * API).  Every getter returns 0 (absent or ok) or -1 with an error naming
 * the file, line and field; scalar values are never quoted in errors. */
#ifndef EIDF_KUBECONFIG_YAML_H
#define EIDF_KUBECONFIG_YAML_H

#include <yaml.h>
#include <cjson/cJSON.h>
#include "eidf/util.h"

struct kyaml {
	yaml_document_t doc;
	const char *file;              /* for messages */
	int loaded;
};

/* A scalar typed as go-yaml v2 resolves it (plain style only; quoted,
 * literal and folded scalars are always strings; an explicit tag such as
 * !!bool or !!str decides, KY_BAD when the text does not fit it). */
enum kyaml_type { KY_STRING, KY_NULL, KY_BOOL, KY_INT, KY_FLOAT, KY_BAD /* tag mismatch */ };
struct kyaml_value {
	enum kyaml_type type;
	int b;                         /* KY_BOOL */
	int neg;                       /* KY_INT: sign and magnitude (int64 or uint64) */
	unsigned long long mag;
	double d;                      /* KY_FLOAT */
};
int kyaml_scalar(const yaml_node_t *n, struct kyaml_value *out);
/* base64.StdEncoding.DecodeString (padding required, CR/LF ignored): 0, or -1 */
int kyaml_go_base64(const char *s, size_t len, struct strbuf *out);

/* A mapping's effective pairs: merge keys applied, the last of a repeated key. */
struct kyaml_pair {
	yaml_node_t *key, *value;
};
struct kyaml_pairs {
	struct kyaml_pair *v;
	size_t n, alloc;
};
int kyaml_pairs(struct kyaml *y, yaml_node_t *n, const char *field, struct kyaml_pairs *out);
void kyaml_pairs_release(struct kyaml_pairs *ps);

int kyaml_load(struct kyaml *y, const char *file, const char *data, size_t len);
void kyaml_release(struct kyaml *y);
yaml_node_t *kyaml_root(struct kyaml *y);      /* NULL: empty document */
yaml_node_t *kyaml_node(struct kyaml *y, int id);
int kyaml_is_null(const yaml_node_t *n);
const char *kyaml_kind(const yaml_node_t *n);   /* "a mapping", "a list", ... */
int kyaml_error(const struct kyaml *y, const yaml_node_t *n, const char *field,
		const char *fmt, ...) EIDF_PRINTF(4, 5);
/* n must be a mapping with scalar keys (merge keys valid). */
int kyaml_check_map(struct kyaml *y, yaml_node_t *n, const char *field);
/* Value for key, NULL when absent or null. */
yaml_node_t *kyaml_get(struct kyaml *y, yaml_node_t *map, const char *key);
int kyaml_str(struct kyaml *y, yaml_node_t *map, const char *key, const char *ctx, char **out);
int kyaml_bool(struct kyaml *y, yaml_node_t *map, const char *key, const char *ctx, int *out);
int kyaml_b64(struct kyaml *y, yaml_node_t *map, const char *key, const char *ctx,
	      struct strbuf *out, int *present);
int kyaml_strlist(struct kyaml *y, yaml_node_t *map, const char *key, const char *ctx,
		  struct strvec *out);
/* JSON for an arbitrary node (cluster extensions); NULL if too deep/large. */
cJSON *kyaml_to_json(struct kyaml *y, yaml_node_t *n);

#endif
