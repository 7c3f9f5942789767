/* kubeconfig YAML access on top of libyaml's document API: typed getters
 * that report the file, line and field on a wrong type, so that
 * kubeconfig.c never looks at raw YAML events. */
#include "kubeconfig_yaml.h"

#include <errno.h>
#include <limits.h>
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

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

/* libyaml's document API gives `!!str 123` (and `! 123`) the same tag as a
 * plain `123`, but go-yaml reads it as the string "123": find the scalars
 * that carried a tag in the event stream and mark the string-tagged ones
 * quoted, so that kyaml_scalar() never resolves them. */
static void mark_explicit_strings(struct kyaml *y, const char *data, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	size_t *at = NULL, n = 0, alloc = 0;

	if (!yaml_parser_initialize(&parser))
		return;
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	for (;;) {
		if (!yaml_parser_parse(&parser, &ev))
			break;
		int done = ev.type == YAML_STREAM_END_EVENT;
		if (ev.type == YAML_SCALAR_EVENT && ev.data.scalar.tag) {
			if (n == alloc) {
				alloc = alloc ? alloc * 2 : 16;
				at = xrealloc(at, alloc * sizeof(*at));
			}
			at[n++] = ev.start_mark.index;
		}
		yaml_event_delete(&ev);
		if (done)
			break;
	}
	yaml_parser_delete(&parser);
	if (n) {
		qsort(at, n, sizeof(*at), cmp_size);
		for (yaml_node_t *nd = y->doc.nodes.start; nd < y->doc.nodes.top; nd++) {
			size_t idx = nd->start_mark.index;
			if (nd->type == YAML_SCALAR_NODE && nd->tag &&
			    !strcmp((const char *)nd->tag, YAML_DEFAULT_SCALAR_TAG) &&
			    nd->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
			    bsearch(&idx, at, n, sizeof(*at), cmp_size))
				nd->data.scalar.style = YAML_SINGLE_QUOTED_SCALAR_STYLE;
		}
	}
	free(at);
}

/* ---- !!binary and !!timestamp, as go-yaml v2 reads them into client-go ------------------
 * sigs.k8s.io/yaml decodes the whole file into interface{} first (go-yaml v2),
 * then through JSON into the typed config, so wherever they are (unused users,
 * keys too):
 *  - `!!binary` is base64 (Go's StdEncoding: padding required, line breaks
 *    ignored, nothing else), decoded to a string; bytes that are not UTF-8
 *    become U+FFFD on the way through JSON; anything else fails the file;
 *  - `!!timestamp` must be one of go-yaml's timestamp forms (time.Parse of
 *    2006-1-2, 2006-1-2T15:4:5.999999999Z07:00 with T or t, 2006-1-2
 *    15:4:5.999999999), else the file fails; it stays the text as written. */
#define KY_BINARY_TAG "tag:yaml.org,2002:binary"

static int b64std(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 :
	       c >= '0' && c <= '9' ? c - '0' + 52 : c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* base64.StdEncoding.DecodeString: -1 on anything it refuses */
int kyaml_go_base64(const char *s, size_t len, struct strbuf *out)
{
	int q[4], n = 0, pad = 0;

	strbuf_reset(out);
	strbuf_grow(out, 0);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r' || c == '\n')
			continue;
		if (pad && c != '=')
			return -1;             /* data after the padding */
		if (c == '=') {
			if (n < 2 || n + ++pad > 4)
				return -1;
			if (n + pad == 4) {
				strbuf_addch(out, (q[0] << 2) | (q[1] >> 4));
				if (n == 3)
					strbuf_addch(out, ((q[1] & 15) << 4) | (q[2] >> 2));
				n = 0;
				pad = -1;      /* done: only line breaks may follow */
			}
			continue;
		}
		if (pad < 0 || (q[n] = b64std(c)) < 0)
			return -1;
		if (++n == 4) {
			strbuf_addch(out, (q[0] << 2) | (q[1] >> 4));
			strbuf_addch(out, ((q[1] & 15) << 4) | (q[2] >> 2));
			strbuf_addch(out, ((q[2] & 3) << 6) | q[3]);
			n = 0;
		}
	}
	return n || pad > 0 ? -1 : 0;
}

/* The length of a valid UTF-8 sequence at s (of at most left bytes), 0 if
 * none (Go's utf8.DecodeRune: no overlong forms, no surrogates, <= U+10FFFF). */
static size_t utf8_valid(const unsigned char *s, size_t left)
{
	if (s[0] < 0x80)
		return 1;
	size_t n = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3 :
		   s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
	if (!n || n > left)
		return 0;
	unsigned char lo = 0x80, hi = 0xbf;
	if (s[0] == 0xe0) lo = 0xa0;
	if (s[0] == 0xed) hi = 0x9f;
	if (s[0] == 0xf0) lo = 0x90;
	if (s[0] == 0xf4) hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

static int digits(const char **p, int min, int max, int *v)
{
	int n = 0;
	*v = 0;
	while (n < max && **p >= '0' && **p <= '9') {
		*v = *v * 10 + (*(*p)++ - '0');
		n++;
	}
	return n >= min;
}

static int days_in(int month, int year)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return month == 2 && leap ? 29 : d[month - 1];
}

/* go-yaml v2's parseTimestamp: time.Parse with each of its layouts */
static int go_timestamp(const char *s)
{
	const char *p = s;
	int year, month, day, v;

	if (!digits(&p, 4, 4, &year) || *p++ != '-' || !digits(&p, 1, 2, &month) || *p++ != '-' ||
	    !digits(&p, 1, 2, &day) || month < 1 || month > 12 || day < 1 || day > days_in(month, year))
		return 0;
	if (!*p)
		return 1;                      /* 2006-1-2 */
	int zone;
	if (*p == 'T' || *p == 't') {
		p++;
		zone = 1;
	} else if (*p == ' ') {
		while (*p == ' ')
			p++;
		zone = 0;
	} else {
		return 0;
	}
	if (!digits(&p, 1, 2, &v) || v >= 24 || *p++ != ':' || !digits(&p, 1, 2, &v) || v >= 60 ||
	    *p++ != ':' || !digits(&p, 1, 2, &v) || v >= 60)
		return 0;
	if ((*p == '.' || *p == ',') && p[1] >= '0' && p[1] <= '9')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (!zone)
		return !*p;
	if (*p == 'Z')
		return !p[1];
	if ((*p != '+' && *p != '-') || strlen(p) != 6 || p[3] != ':')
		return 0;
	p++;
	if (!digits(&p, 2, 2, &v) || v > 24 || *p++ != ':' || !digits(&p, 2, 2, &v) || v > 60)
		return 0;
	return !*p;
}

static int tag_is(const yaml_node_t *n, const char *tag)
{
	return n->tag && !strcmp((const char *)n->tag, tag);
}

static int resolve_go_tags(struct kyaml *y, const char *file)
{
	struct strbuf sb = STRBUF_INIT;

	for (yaml_node_t *nd = y->doc.nodes.start; nd < y->doc.nodes.top; nd++) {
		if (nd->type != YAML_SCALAR_NODE)
			continue;
		const char *what = NULL;
		if (tag_is(nd, KY_BINARY_TAG)) {
			if (kyaml_go_base64((const char *)nd->data.scalar.value, nd->data.scalar.length, &sb) < 0) {
				what = "!!binary value contains invalid base64 data";
			} else {
				/* through JSON: each byte that is not UTF-8 becomes U+FFFD */
				struct strbuf txt = STRBUF_INIT;
				const unsigned char *b = (const unsigned char *)sb.buf;
				strbuf_grow(&txt, sb.len);
				for (size_t i = 0; i < sb.len;) {
					size_t k = utf8_valid(b + i, sb.len - i);
					if (k) {
						strbuf_add(&txt, b + i, k);
						i += k;
					} else {
						strbuf_addstr(&txt, "\xef\xbf\xbd");
						i++;
					}
				}
				free(nd->data.scalar.value);
				nd->data.scalar.length = txt.len;
				nd->data.scalar.value = (yaml_char_t *)strbuf_detach(&txt);
			}
		} else if (tag_is(nd, YAML_TIMESTAMP_TAG)) {
			const char *v = (const char *)nd->data.scalar.value;
			if (strlen(v) != nd->data.scalar.length || !go_timestamp(v))
				what = "!!timestamp value is not a timestamp (YYYY-MM-DD, or with a time: "
				       "YYYY-MM-DDTHH:MM:SSZ)";
		}
		if (what) {
			/* (never the value: it may be a secret) */
			eidf_set_error("error loading kubeconfig \"%s\": line %lu column %lu: %s; fix it", file,
				       (unsigned long)nd->start_mark.line + 1,
				       (unsigned long)nd->start_mark.column + 1, what);
			strbuf_release(&sb);
			return -1;
		}
	}
	strbuf_release(&sb);
	return 0;
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
	mark_explicit_strings(y, data, len);
	if (resolve_go_tags(y, file) < 0) {
		kyaml_release(y);     /* (the caller releases only what loaded) */
		return -1;
	}
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

/* ---- YAML 1.1 scalars as client-go reads them ---------------------------------
 * sigs.k8s.io/yaml turns the YAML into JSON with go-yaml v2's resolution of
 * plain scalars, then decodes the JSON into typed structs: a plain `yes` is
 * the boolean true, `0755` the number 493, `tRuE` the string "tRuE" (so not a
 * boolean), and a number or boolean given to a string field is a load error. */

static int in_list(const char *s, size_t l, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == l && !memcmp(*list, s, l))
			return 1;
	return 0;
}

static const char *const yaml_true[] = { "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
					 "on", "On", "ON", NULL };
static const char *const yaml_false[] = { "n", "N", "no", "No", "NO", "false", "False", "FALSE",
					  "off", "Off", "OFF", NULL };
static const char *const yaml_null[] = { "", "~", "null", "Null", "NULL", NULL };
static const char *const yaml_special_float[] = { ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF",
						  "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf",
						  "-.INF", NULL };

static int is_plain(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* Go's strconv.ParseInt/ParseUint(s, 0, 64) (s without '_'). */
static int parse_go_int(const char *s, int *neg, unsigned long long *mag)
{
	int base = 10;
	unsigned long long v = 0;
	const char *p = s;

	*neg = 0;
	if (*p == '+' || *p == '-')
		*neg = *p++ == '-';
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		base = 16, p += 2;
	else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
		base = 8, p += 2;
	else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B'))
		base = 2, p += 2;
	else if (p[0] == '0' && p[1])
		base = 8, p += 1;
	if (!*p)
		return -1;
	for (; *p; p++) {
		int d;
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			return -1;
		if (d >= base || v > (ULLONG_MAX - (unsigned)d) / (unsigned)base)
			return -1;
		v = v * (unsigned)base + (unsigned)d;
	}
	/* int64 range, or uint64 for a positive value */
	if (*neg && v > (unsigned long long)LLONG_MAX + 1)
		return -1;
	*mag = v;
	return 0;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ (go-yaml's float syntax) */
static int yaml_style_float(const char *s)
{
	const char *p = s;
	int digits = 0;

	if (*p == '+' || *p == '-')
		p++;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++, digits++;
		if (!digits)
			return 0;
	} else {
		while (*p >= '0' && *p <= '9')
			p++, digits++;
		if (!digits)
			return 0;
		if (*p == '.') {
			p++;
			while (*p >= '0' && *p <= '9')
				p++;
		}
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		digits = 0;
		if (*p == '+' || *p == '-')
			p++;
		while (*p >= '0' && *p <= '9')
			p++, digits++;
		if (!digits)
			return 0;
	}
	return !*p;
}

/* A plain scalar's type under go-yaml v2's implicit resolution. */
static int resolve_plain(const char *s, size_t l, struct kyaml_value *out)
{
	memset(out, 0, sizeof(*out));
	out->type = KY_STRING;
	if (strlen(s) != l)
		return out->type;
	if (in_list(s, l, yaml_null))
		return out->type = KY_NULL;
	if (in_list(s, l, yaml_true) || in_list(s, l, yaml_false)) {
		out->b = in_list(s, l, yaml_true);
		return out->type = KY_BOOL;
	}
	if (in_list(s, l, yaml_special_float)) {
		out->d = s[l - 1] == 'n' || s[l - 1] == 'N' ? NAN : s[0] == '-' ? -INFINITY : INFINITY;
		return out->type = KY_FLOAT;
	}
	if (s[0] == '+' || s[0] == '-' || s[0] == '.' || (s[0] >= '0' && s[0] <= '9')) {
		char *plain = xmalloc(l + 1), *q = plain;
		int neg;
		unsigned long long mag;
		for (size_t i = 0; i < l; i++)
			if (s[i] != '_')
				*q++ = s[i];
		*q = '\0';
		/* a timestamp-looking value (2006-01-02...) stays a string, as in go-yaml v2 */
		if (s[0] != '.' && parse_go_int(plain, &neg, &mag) == 0) {
			out->type = KY_INT;
			out->neg = neg;
			out->mag = mag;
		} else if (s[0] != '.' ? yaml_style_float(plain) : yaml_style_float(s)) {
			char *end;
			double d = strtod(s[0] != '.' ? plain : s, &end);
			if (!*end) {
				out->type = KY_FLOAT;
				out->d = d;
			}
		}
		free(plain);
	}
	return out->type;
}

/* An explicit tag (`!!bool "true"`, `!!str 12345`) decides the type, as in
 * go-yaml: the standard scalar tags resolve the text and must agree with it
 * (`!!bool maybe` is an error, KY_BAD); any other tag leaves a string.  An
 * explicit `!!str` or `!` on a plain scalar was turned into a quoted one by
 * kyaml_load(), since libyaml gives it the same tag as an untagged scalar. */
int kyaml_scalar(const yaml_node_t *n, struct kyaml_value *out)
{
	static const struct {
		const char *tag;
		enum kyaml_type type;
	} tags[] = {
		{ YAML_BOOL_TAG, KY_BOOL }, { YAML_INT_TAG, KY_INT },
		{ YAML_FLOAT_TAG, KY_FLOAT }, { YAML_NULL_TAG, KY_NULL },
	};
	const char *tag = (const char *)n->tag;
	const char *s = (const char *)n->data.scalar.value;
	size_t l = n->data.scalar.length;

	if (!tag || !strcmp(tag, YAML_DEFAULT_SCALAR_TAG)) {
		if (is_plain(n))
			return resolve_plain(s, l, out);
		memset(out, 0, sizeof(*out));
		return out->type = KY_STRING;
	}
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		if (strcmp(tag, tags[i].tag))
			continue;
		resolve_plain(s, l, out);
		if (tags[i].type == KY_FLOAT && out->type == KY_INT) {
			out->d = out->neg ? -(double)out->mag : (double)out->mag;
			out->type = KY_FLOAT;
		}
		if (out->type != tags[i].type)
			out->type = KY_BAD;
		return out->type;
	}
	memset(out, 0, sizeof(*out));
	return out->type = KY_STRING;
}

int kyaml_is_null(const yaml_node_t *n)
{
	struct kyaml_value v;
	return !n || (n->type == YAML_SCALAR_NODE && kyaml_scalar(n, &v) == KY_NULL);
}

const char *kyaml_kind(const yaml_node_t *n)
{
	struct kyaml_value v;

	switch (n->type) {
	case YAML_MAPPING_NODE: return "a mapping";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_SCALAR_NODE:
		switch (kyaml_scalar(n, &v)) {
		case KY_BOOL: return "a boolean";
		case KY_INT: case KY_FLOAT: return "a number";
		case KY_NULL: return "null";
		case KY_BAD: return "a value its tag does not allow";
		default: return "a string";
		}
	default: return "nothing";
	}
}

static int key_is(const yaml_node_t *k, const char *key)
{
	size_t l = strlen(key);
	return k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == l &&
	       !memcmp(k->data.scalar.value, key, l);
}

static int is_merge_key(const yaml_node_t *k)
{
	return k && is_plain(k) && key_is(k, "<<");
}

/* ---- mappings: merge keys and repeated keys, as go-yaml v2 -------------------------
 * Pairs are applied in order; `<<: *a` (or a list of mappings, the first one
 * winning) assigns the merged mapping's keys at that point, and a key given
 * again later replaces the earlier value: the last one wins. */

#define KYAML_MERGE_DEPTH 16

static int pairs_set(struct kyaml_pairs *ps, yaml_node_t *k, yaml_node_t *v)
{
	for (size_t i = 0; i < ps->n; i++) {
		yaml_node_t *o = ps->v[i].key;
		if (o->data.scalar.length == k->data.scalar.length &&
		    !memcmp(o->data.scalar.value, k->data.scalar.value, k->data.scalar.length)) {
			ps->v[i].key = k;
			ps->v[i].value = v;
			return 0;
		}
	}
	if (ps->n == ps->alloc) {
		ps->alloc = ps->alloc ? ps->alloc * 2 : 16;
		ps->v = xrealloc(ps->v, ps->alloc * sizeof(*ps->v));
	}
	ps->v[ps->n].key = k;
	ps->v[ps->n].value = v;
	ps->n++;
	return 0;
}

static int collect(struct kyaml *y, yaml_node_t *n, const char *field, int depth,
		   struct kyaml_pairs *ps)
{
	if (depth > KYAML_MERGE_DEPTH)
		return kyaml_error(y, n, field, "merge keys (<<) nested too deeply");
	if (n->type != YAML_MAPPING_NODE)
		return kyaml_error(y, n, field, "expected a mapping, found %s", kyaml_kind(n));
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = kyaml_node(y, p->key), *v = kyaml_node(y, p->value);
		if (!k || k->type != YAML_SCALAR_NODE)
			return kyaml_error(y, k ? k : n, field, "mapping keys must be strings");
		if (!v)
			return kyaml_error(y, k, field, "missing value");
		if (!is_merge_key(k)) {
			pairs_set(ps, k, v);
			continue;
		}
		if (v->type == YAML_MAPPING_NODE) {
			if (collect(y, v, field, depth + 1, ps) < 0)
				return -1;
		} else if (v->type == YAML_SEQUENCE_NODE) {
			/* earlier mappings take precedence: apply them last */
			for (yaml_node_item_t *it = v->data.sequence.items.top; it > v->data.sequence.items.start;) {
				yaml_node_t *m = kyaml_node(y, *--it);
				if (!m || m->type != YAML_MAPPING_NODE)
					return kyaml_error(y, m ? m : v, field, "map merge requires map or "
							   "sequence of maps as the value");
				if (collect(y, m, field, depth + 1, ps) < 0)
					return -1;
			}
		} else {
			return kyaml_error(y, v, field, "map merge requires map or sequence of maps "
					   "as the value");
		}
	}
	return 0;
}

int kyaml_pairs(struct kyaml *y, yaml_node_t *n, const char *field, struct kyaml_pairs *out)
{
	out->n = 0;
	if (collect(y, n, field, 0, out) < 0) {
		out->n = 0;
		return -1;
	}
	return 0;
}

void kyaml_pairs_release(struct kyaml_pairs *ps)
{
	free(ps->v);
	memset(ps, 0, sizeof(*ps));
}

int kyaml_check_map(struct kyaml *y, yaml_node_t *n, const char *field)
{
	struct kyaml_pairs ps = { 0 };
	int r = kyaml_pairs(y, n, field, &ps);
	kyaml_pairs_release(&ps);
	return r;
}

yaml_node_t *kyaml_get(struct kyaml *y, yaml_node_t *map, const char *key)
{
	struct kyaml_pairs ps = { 0 };
	yaml_node_t *v = NULL;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	/* errors here were reported by kyaml_check_map() on the same node */
	if (kyaml_pairs(y, map, "", &ps) == 0)
		for (size_t i = 0; i < ps.n; i++)
			if (key_is(ps.v[i].key, key))
				v = ps.v[i].value;
	kyaml_pairs_release(&ps);
	return kyaml_is_null(v) ? NULL : v;
}

static int type_error(struct kyaml *y, yaml_node_t *v, const char *ctx, const char *key,
		      const char *want)
{
	char *f = xasprintf("%s: %s", ctx, key);
	const char *kind = kyaml_kind(v);
	if (v->type == YAML_SCALAR_NODE && strcmp(kind, "a string"))
		/* never the value: it may be a token */
		kyaml_error(y, v, f, "expected %s, found %s (YAML 1.1 reads this unquoted value "
			    "as %s; quote it if it is text)", want, kind, kind);
	else
		kyaml_error(y, v, f, "expected %s, found %s", want, kind);
	free(f);
	return -1;
}

/* The text of a string scalar.  C strings end at a NUL, so a value with
 * one ("\0" in a quoted scalar) would be cut short (a token sent without
 * its tail): refused instead, as kubectl refuses it in a header. */
static int scalar_text(struct kyaml *y, yaml_node_t *v, const char *ctx, const char *key,
		       char **out)
{
	const char *s = (const char *)v->data.scalar.value;
	size_t l = v->data.scalar.length;

	if (memchr(s, '\0', l)) {
		char *f = xasprintf("%s: %s", ctx, key);
		kyaml_error(y, v, f, "contains a NUL character (\\0); remove it");
		free(f);
		return -1;
	}
	free(*out);
	*out = xstrndup(s, l);
	return 0;
}

int kyaml_str(struct kyaml *y, yaml_node_t *map, const char *key, const char *ctx, char **out)
{
	struct kyaml_value sv;
	yaml_node_t *v = kyaml_get(y, map, key);
	if (!v)
		return 0;
	if (v->type != YAML_SCALAR_NODE || kyaml_scalar(v, &sv) != KY_STRING)
		return type_error(y, v, ctx, key, "a string");
	return scalar_text(y, v, ctx, key, out);
}

int kyaml_bool(struct kyaml *y, yaml_node_t *map, const char *key, const char *ctx, int *out)
{
	struct kyaml_value sv;
	yaml_node_t *v = kyaml_get(y, map, key);
	if (!v)
		return 0;
	if (v->type != YAML_SCALAR_NODE || kyaml_scalar(v, &sv) != KY_BOOL) {
		char *f = xasprintf("%s: %s", ctx, key);
		kyaml_error(y, v, f, "expected true or false (unquoted), found %s", kyaml_kind(v));
		free(f);
		return -1;
	}
	*out = sv.b;
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
	/* []byte through encoding/json: base64.StdEncoding, strictly */
	if (kyaml_go_base64(s, strlen(s), out) < 0) {
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
		struct kyaml_value sv;
		char *text = NULL;
		/* []string from JSON: null is "", a number or boolean an error */
		int t = e && e->type == YAML_SCALAR_NODE ? kyaml_scalar(e, &sv) : -1;
		if (t != KY_STRING && t != KY_NULL) {
			kyaml_error(y, e ? e : v, f, "expected a list of strings, found %s in it%s",
				    e ? kyaml_kind(e) : "nothing",
				    t >= 0 ? " (YAML 1.1 reads this unquoted value so; quote it if "
				    "it is text)" : "");
			free(f);
			return -1;
		}
		if (t == KY_NULL)
			text = xstrdup("");
		else if (scalar_text(y, e, ctx, key, &text) < 0) {
			free(f);
			return -1;
		}
		strvec_push_owned(out, text);
	}
	free(f);
	return 0;
}

/* Go's encoding/json float64 text: the shortest representation that reads
 * back the same, %f style unless the exponent is < -6 or >= 21. */
static char *go_float(double d)
{
	char buf[64], mant[40];
	int prec, exp10;

	if (d == 0)
		return xstrdup(signbit(d) ? "-0" : "0");
	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	/* buf: [-]d[.ddd]e[+-]XX */
	char *e = strchr(buf, 'e');
	exp10 = atoi(e + 1);
	*e = '\0';
	if (exp10 < -6 || exp10 >= 21)
		return xasprintf("%se%c%d", buf, exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
	/* digits without the point, then place it */
	size_t k = 0;
	int neg = buf[0] == '-';
	for (char *p = buf + neg; *p && k < sizeof(mant) - 1; p++)
		if (*p != '.')
			mant[k++] = *p;
	mant[k] = '\0';
	struct strbuf sb = STRBUF_INIT;
	if (neg)
		strbuf_addch(&sb, '-');
	if (exp10 < 0) {
		strbuf_addstr(&sb, "0.");
		for (int i = -1; i > exp10; i--)
			strbuf_addch(&sb, '0');
		strbuf_addstr(&sb, mant);
	} else if ((size_t)exp10 + 1 >= k) {
		strbuf_addstr(&sb, mant);
		for (size_t i = k; i < (size_t)exp10 + 1; i++)
			strbuf_addch(&sb, '0');
	} else {
		strbuf_add(&sb, mant, (size_t)exp10 + 1);
		strbuf_addch(&sb, '.');
		strbuf_addstr(&sb, mant + exp10 + 1);
	}
	return strbuf_detach(&sb);
}

static cJSON *scalar_json(const yaml_node_t *n)
{
	struct kyaml_value v;
	char *txt;
	cJSON *j;

	switch (kyaml_scalar(n, &v)) {
	case KY_NULL:
		return cJSON_CreateNull();
	case KY_BOOL:
		return cJSON_CreateBool(v.b);
	case KY_INT:
		/* exact: a double would round large integers */
		txt = xasprintf("%s%llu", v.neg && v.mag ? "-" : "", v.mag);
		j = cJSON_CreateRaw(txt);
		free(txt);
		return j;
	case KY_FLOAT:
		if (!isfinite(v.d))
			return NULL;       /* JSON has no NaN/Inf: client-go fails too */
		txt = go_float(v.d);
		j = cJSON_CreateRaw(txt);
		free(txt);
		return j;
	case KY_BAD:
		return NULL;
	default: {
		char *str = xstrndup((const char *)n->data.scalar.value, n->data.scalar.length);
		j = cJSON_CreateString(str);
		free(str);
		return j;
	}
	}
}

/* JSON object keys: go-yaml's typed key, printed as sigs.k8s.io/yaml does */
static char *key_text(const yaml_node_t *k)
{
	struct kyaml_value v;
	switch (kyaml_scalar(k, &v)) {
	case KY_BOOL: return xstrdup(v.b ? "true" : "false");
	case KY_INT: return xasprintf("%s%llu", v.neg && v.mag ? "-" : "", v.mag);
	default: return xstrndup((const char *)k->data.scalar.value, k->data.scalar.length);
	}
}

struct sorted_member {
	char *key;
	cJSON *value;
};

static int member_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sorted_member *)a)->key, ((const struct sorted_member *)b)->key);
}

/* Bounded: aliases share nodes, so a hostile file could fan out exponentially. */
static cJSON *to_json(struct kyaml *y, yaml_node_t *n, int depth, long *budget)
{
	cJSON *j;

	if (!n || depth > 64 || --*budget < 0)
		return NULL;
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return scalar_json(n);
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
	case YAML_MAPPING_NODE: {
		/* Go marshals a map with its keys sorted */
		struct kyaml_pairs ps = { 0 };
		struct sorted_member *m;
		size_t k = 0;
		int bad = 0;

		if (kyaml_pairs(y, n, "extension", &ps) < 0)
			return NULL;
		*budget -= (long)ps.n;
		m = xcalloc(ps.n + 1, sizeof(*m));
		for (size_t i = 0; i < ps.n && !bad; i++) {
			m[k].key = key_text(ps.v[i].key);
			m[k].value = to_json(y, ps.v[i].value, depth + 1, budget);
			bad = !m[k].value;
			k++;
		}
		/* typed keys can collide ("1" and 1): the later one wins */
		j = bad ? NULL : cJSON_CreateObject();
		if (j) {
			qsort(m, k, sizeof(*m), member_cmp);
			for (size_t i = 0; i < k; i++) {
				if (i + 1 < k && !strcmp(m[i].key, m[i + 1].key)) {
					cJSON_Delete(m[i].value);
					continue;
				}
				cJSON_AddItemToObject(j, m[i].key, m[i].value);
			}
		} else {
			for (size_t i = 0; i < k; i++)
				cJSON_Delete(m[i].value);
		}
		for (size_t i = 0; i < k; i++)
			free(m[i].key);
		free(m);
		kyaml_pairs_release(&ps);
		return j;
	}
	default:
		return NULL;
	}
}

cJSON *kyaml_to_json(struct kyaml *y, yaml_node_t *n)
{
	long budget = 100000;
	return to_json(y, n, 0, &budget);
}
