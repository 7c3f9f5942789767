/* -o json|yaml|name, printed the way kubectl prints them.
 *
 * JSON: encoding/json.MarshalIndent with 4 spaces (Go's escaping of <, >, &,
 * U+2028/U+2029 and invalid UTF-8 included).  YAML: libyaml's emitter in
 * block style; strings that a YAML 1.1 reader (kubectl's go-yaml, PyYAML)
 * would take for another type are quoted, multi-line strings become literal
 * blocks, key order is kept. */
#include "eidf/output.h"
#include "eidf/util.h"

#include <ctype.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

const char *const output_formats[] = { "json", "name", "wide", "yaml", NULL };

int output_format_parse(const char *s, enum output_format *out)
{
	static const struct { const char *name; enum output_format fmt; } map[] = {
		{ "json", OUT_JSON }, { "name", OUT_NAME }, { "wide", OUT_WIDE }, { "yaml", OUT_YAML },
	};

	if (!s || !*s) {
		*out = OUT_DEFAULT;
		return 0;
	}
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(map); i++) {
		if (!strcmp(s, map[i].name)) {
			*out = map[i].fmt;
			return 0;
		}
	}
	eidf_set_error("unable to match a printer suitable for the output format \"%s\", "
		       "allowed formats are: json,name,wide,yaml", s);
	return -1;
}

/* ---- UTF-8 ------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at p (0 if invalid), code point in *cp. */
static size_t utf8_seq(const unsigned char *p, size_t left, unsigned *cp)
{
	unsigned c = p[0], v;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		v = c & 0x07;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

/* Copy with invalid sequences replaced by U+FFFD (as Go does). */
static char *utf8_sanitize(const char *s, size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	unsigned cp;

	strbuf_grow(&sb, len);
	while (i < len) {
		size_t n = utf8_seq(p + i, len - i, &cp);
		if (n == 0) {
			strbuf_addstr(&sb, "\xef\xbf\xbd");
			i++;
			continue;
		}
		strbuf_add(&sb, p + i, n);
		i += n;
	}
	return strbuf_detach(&sb);
}

/* ---- numbers as Go formats float64 ------------------------------------------ */

/* Shortest digits that read back as v: digits (no dot, no trailing zeros)
 * and decimal exponent so that v = 0.d1d2d3... * 10^dp. */
static void shortest_digits(double v, char *digits, size_t dsize, int *dp)
{
	char buf[64];
	for (int prec = 0; prec < 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*e", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	/* buf: [-]d[.ddd]e[+-]XX */
	char *p = buf, *e = strchr(buf, 'e');
	size_t n = 0;
	if (*p == '-')
		p++;
	for (; p < e && n + 1 < dsize; p++)
		if (*p != '.')
			digits[n++] = *p;
	while (n > 1 && digits[n - 1] == '0')
		n--;
	digits[n] = '\0';
	*dp = atoi(e + 1) + 1;
}

static void add_fixed(struct strbuf *sb, const char *d, int dp)
{
	int nd = (int)strlen(d);
	if (dp <= 0) {
		strbuf_addstr(sb, "0.");
		for (int i = 0; i < -dp; i++)
			strbuf_addch(sb, '0');
		strbuf_addstr(sb, d);
		return;
	}
	for (int i = 0; i < dp; i++)
		strbuf_addch(sb, i < nd ? d[i] : '0');
	if (nd > dp) {
		strbuf_addch(sb, '.');
		strbuf_addstr(sb, d + dp);
	}
}

static void add_exp(struct strbuf *sb, const char *d, int dp, int min_exp_digits)
{
	int x = dp - 1;
	strbuf_addch(sb, d[0]);
	if (d[1]) {
		strbuf_addch(sb, '.');
		strbuf_addstr(sb, d + 1);
	}
	strbuf_addf(sb, "e%c%0*d", x < 0 ? '-' : '+', min_exp_digits, x < 0 ? -x : x);
}

/* style 'j': encoding/json; style 'g': strconv 'g' (go-yaml). Integral
 * values print as integers (unstructured objects hold them as int64). */
static void add_number(struct strbuf *sb, double v, int style)
{
	char d[40];
	int dp;

	/* no libm: NaN is the value unequal to itself */
	if (v != v || v > DBL_MAX || v < -DBL_MAX) {
		strbuf_addstr(sb, style == 'g' ? (v != v ? ".nan" : v < 0 ? "-.inf" : ".inf") : "null");
		return;
	}
	if (v > -9.2e18 && v < 9.2e18 && v == (double)(long long)v) {
		strbuf_addf(sb, "%lld", (long long)v);
		return;
	}
	if (v < 0) {
		strbuf_addch(sb, '-');
		v = -v;
	}
	shortest_digits(v, d, sizeof(d), &dp);
	if (style == 'j') {
		if (v < 1e-6 || v >= 1e21)
			add_exp(sb, d, dp, 1);
		else
			add_fixed(sb, d, dp);
	} else {
		int x = dp - 1;
		if (x < -4 || x >= 21)
			add_exp(sb, d, dp, 2);
		else
			add_fixed(sb, d, dp);
	}
}

/* ---- JSON ------------------------------------------------------------------- */

static void json_add_string(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0;
	unsigned cp;

	strbuf_addch(sb, '"');
	while (i < len) {
		unsigned char c = p[i];
		if (c < 0x80) {
			switch (c) {
			case '"': strbuf_addstr(sb, "\\\""); break;
			case '\\': strbuf_addstr(sb, "\\\\"); break;
			case '\n': strbuf_addstr(sb, "\\n"); break;
			case '\r': strbuf_addstr(sb, "\\r"); break;
			case '\t': strbuf_addstr(sb, "\\t"); break;
			case '\b': strbuf_addstr(sb, "\\b"); break;
			case '\f': strbuf_addstr(sb, "\\f"); break;
			case '<': case '>': case '&':
				strbuf_addstr(sb, "\\u00");
				strbuf_addch(sb, hex[c >> 4]);
				strbuf_addch(sb, hex[c & 15]);
				break;
			default:
				if (c < 0x20) {
					strbuf_addstr(sb, "\\u00");
					strbuf_addch(sb, hex[c >> 4]);
					strbuf_addch(sb, hex[c & 15]);
				} else {
					strbuf_addch(sb, (char)c);
				}
			}
			i++;
			continue;
		}
		size_t n = utf8_seq(p + i, len - i, &cp);
		if (n == 0) {
			strbuf_addstr(sb, "\\ufffd");
			i++;
		} else if (cp == 0x2028 || cp == 0x2029) {
			strbuf_addf(sb, "\\u%04x", cp);
			i += n;
		} else {
			strbuf_add(sb, p + i, n);
			i += n;
		}
	}
	strbuf_addch(sb, '"');
}

static void indent(struct strbuf *sb, int depth)
{
	strbuf_addch(sb, '\n');
	for (int i = 0; i < depth; i++)
		strbuf_addstr(sb, "    ");
}

static void json_add(struct strbuf *sb, const cJSON *v, int depth)
{
	if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
		int obj = cJSON_IsObject(v);
		const cJSON *c = v->child;
		if (!c) {
			strbuf_addstr(sb, obj ? "{}" : "[]");
			return;
		}
		strbuf_addch(sb, obj ? '{' : '[');
		for (; c; c = c->next) {
			indent(sb, depth + 1);
			if (obj) {
				json_add_string(sb, c->string ? c->string : "");
				strbuf_addstr(sb, ": ");
			}
			json_add(sb, c, depth + 1);
			if (c->next)
				strbuf_addch(sb, ',');
		}
		indent(sb, depth);
		strbuf_addch(sb, obj ? '}' : ']');
	} else if (cJSON_IsString(v)) {
		json_add_string(sb, v->valuestring ? v->valuestring : "");
	} else if (cJSON_IsNumber(v)) {
		add_number(sb, v->valuedouble, 'j');
	} else if (cJSON_IsTrue(v)) {
		strbuf_addstr(sb, "true");
	} else if (cJSON_IsFalse(v)) {
		strbuf_addstr(sb, "false");
	} else if (cJSON_IsRaw(v) && v->valuestring) {
		strbuf_addstr(sb, v->valuestring);
	} else {
		strbuf_addstr(sb, "null");
	}
}

/* ---- YAML ------------------------------------------------------------------- */

static int word_in(const char *s, const char *const *words)
{
	for (size_t i = 0; words[i]; i++)
		if (!strcmp(s, words[i]))
			return 1;
	return 0;
}

static int all_of(const char *s, const char *set)
{
	return *s && strspn(s, set) == strlen(s);
}

/* Would a YAML 1.1 reader (go-yaml v2 as in kubectl, PyYAML) or a YAML 1.2
 * one resolve this plain scalar to something other than a string? */
static int yaml_ambiguous(const char *s)
{
	static const char *const words[] = {
		"~", "null", "Null", "NULL",
		"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
		"true", "True", "TRUE", "false", "False", "FALSE",
		"on", "On", "ON", "off", "Off", "OFF",
		".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
		".nan", ".NaN", ".NAN", "<<", "=", NULL,
	};
	const char *p = s;

	if (!*s || word_in(s, words))
		return 1;
	if (s[0] == ':')
		return 1;
	if (*p == '+' || *p == '-')
		p++;
	if (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1]))) {
		struct strbuf t = STRBUF_INIT;
		int num = 0;
		/* underscores are digit separators in YAML 1.1 and Go */
		for (const char *q = p; *q; q++)
			if (*q != '_')
				strbuf_addch(&t, *q);
		const char *u = strbuf_str(&t);
		char *end;
		if (all_of(u, "0123456789"))
			num = 1;
		else if ((u[0] == '0' && (u[1] == 'x' || u[1] == 'X')) && all_of(u + 2, "0123456789abcdefABCDEF"))
			num = 1;
		else if ((u[0] == '0' && (u[1] == 'o' || u[1] == 'O')) && all_of(u + 2, "01234567"))
			num = 1;
		else if ((u[0] == '0' && (u[1] == 'b' || u[1] == 'B')) && all_of(u + 2, "01"))
			num = 1;
		else if (u[0] && (strtod(u, &end), *end == '\0'))
			num = 1;
		else if (all_of(u, "0123456789:.") && strchr(u, ':') && u[strlen(u) - 1] != ':')
			num = 1; /* sexagesimal 1:30 (YAML 1.1 int/float) */
		strbuf_release(&t);
		if (num)
			return 1;
	}
	/* timestamps: 2001-12-14, 2001-12-14t21:59:43.10-05:00, ... */
	if (strlen(s) >= 8 && isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
	    isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3]) && s[4] == '-') {
		const char *q = s + 5;
		int ok = isdigit((unsigned char)*q) != 0;
		if (ok) {
			q += isdigit((unsigned char)q[1]) ? 2 : 1;
			ok = *q == '-' && isdigit((unsigned char)q[1]);
		}
		if (ok) {
			q += isdigit((unsigned char)q[2]) ? 3 : 2;
			ok = !*q || *q == 'T' || *q == 't' || *q == ' ' || *q == '\t';
		}
		if (ok)
			return 1;
	}
	return 0;
}

struct yemit {
	yaml_emitter_t e;
	struct strbuf out;
	int failed;
};

static int yaml_write(void *data, unsigned char *buf, size_t size)
{
	struct yemit *y = data;
	strbuf_add(&y->out, buf, size);
	return 1;
}

static void yemit(struct yemit *y, yaml_event_t *ev)
{
	if (y->failed) {
		yaml_event_delete(ev);
		return;
	}
	if (!yaml_emitter_emit(&y->e, ev)) /* frees the event either way */
		y->failed = 1;
}

static void yaml_string(struct yemit *y, const char *str)
{
	yaml_event_t ev;
	yaml_scalar_style_t style = YAML_PLAIN_SCALAR_STYLE;
	int plain_implicit = 1;
	char *s = utf8_sanitize(str, strlen(str));

	if (strchr(s, '\n')) {
		style = YAML_LITERAL_SCALAR_STYLE;
		plain_implicit = 0;
	} else if (yaml_ambiguous(s)) {
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
		plain_implicit = 0;
	}
	/* libyaml itself falls back to quoting when plain is impossible
	 * (leading/trailing blanks, ": ", " #", indicators, control chars) */
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s),
					  plain_implicit, 1, style))
		y->failed = 1;
	else
		yemit(y, &ev);
	free(s);
}

static void yaml_plain(struct yemit *y, const char *s)
{
	yaml_event_t ev;
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
					  YAML_PLAIN_SCALAR_STYLE))
		y->failed = 1;
	else
		yemit(y, &ev);
}

static void yaml_node(struct yemit *y, const cJSON *v)
{
	yaml_event_t ev;

	if (y->failed)
		return;
	if (cJSON_IsObject(v)) {
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE)) {
			y->failed = 1;
			return;
		}
		yemit(y, &ev);
		for (const cJSON *c = v->child; c; c = c->next) {
			yaml_string(y, c->string ? c->string : "");
			yaml_node(y, c);
		}
		yaml_mapping_end_event_initialize(&ev);
		yemit(y, &ev);
	} else if (cJSON_IsArray(v)) {
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE)) {
			y->failed = 1;
			return;
		}
		yemit(y, &ev);
		for (const cJSON *c = v->child; c; c = c->next)
			yaml_node(y, c);
		yaml_sequence_end_event_initialize(&ev);
		yemit(y, &ev);
	} else if (cJSON_IsString(v) || cJSON_IsRaw(v)) {
		yaml_string(y, v->valuestring ? v->valuestring : "");
	} else if (cJSON_IsNumber(v)) {
		struct strbuf sb = STRBUF_INIT;
		add_number(&sb, v->valuedouble, 'g');
		yaml_plain(y, sb.buf);
		strbuf_release(&sb);
	} else if (cJSON_IsTrue(v)) {
		yaml_plain(y, "true");
	} else if (cJSON_IsFalse(v)) {
		yaml_plain(y, "false");
	} else {
		yaml_plain(y, "null");
	}
}

char *yaml_from_json(const cJSON *obj)
{
	struct yemit y;
	yaml_event_t ev;

	memset(&y, 0, sizeof(y));
	if (!yaml_emitter_initialize(&y.e)) {
		eidf_set_error("cannot initialise the YAML emitter");
		return NULL;
	}
	yaml_emitter_set_output(&y.e, yaml_write, &y);
	yaml_emitter_set_unicode(&y.e, 1);
	yaml_emitter_set_width(&y.e, -1); /* never fold long strings */
	yaml_emitter_set_indent(&y.e, 2);

	if (yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING))
		yemit(&y, &ev);
	else
		y.failed = 1;
	if (!y.failed && yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1))
		yemit(&y, &ev);
	yaml_node(&y, obj);
	if (!y.failed && yaml_document_end_event_initialize(&ev, 1))
		yemit(&y, &ev);
	if (!y.failed && yaml_stream_end_event_initialize(&ev))
		yemit(&y, &ev);
	if (!y.failed && !yaml_emitter_flush(&y.e))
		y.failed = 1;
	if (y.failed) {
		eidf_set_error("cannot write YAML: %s", y.e.problem ? y.e.problem : "emitter error");
		yaml_emitter_delete(&y.e);
		strbuf_release(&y.out);
		return NULL;
	}
	yaml_emitter_delete(&y.e);
	return strbuf_detach(&y.out);
}

int yaml_emit_json(FILE *out, const cJSON *obj)
{
	char *s = yaml_from_json(obj);
	if (!s)
		return -1;
	fputs(s, out);
	free(s);
	return 0;
}

/* ---- -o name ------------------------------------------------------------------ */

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* kind.group/name, kind lower-cased ("job.batch/x", "persistentvolumeclaim/x") */
static void add_name(struct strbuf *sb, const cJSON *obj, const char *dflt_kind,
		     const char *dflt_api_version)
{
	const char *kind = str_of(obj, "kind");
	const char *apiv = str_of(obj, "apiVersion");
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const char *name = md ? str_of(md, "name") : NULL;
	const char *slash;
	size_t klen;

	if (!kind || !*kind) {
		kind = dflt_kind ? dflt_kind : "";
		apiv = dflt_api_version;
	}
	klen = strlen(kind);
	if (kind == dflt_kind && klen > 4 && ends_with(kind, "List"))
		klen -= 4;
	for (size_t i = 0; i < klen; i++)
		strbuf_addch(sb, tolower((unsigned char)kind[i]));
	if (apiv && (slash = strchr(apiv, '/')) != NULL) {
		strbuf_addch(sb, '.');
		strbuf_add(sb, apiv, (size_t)(slash - apiv));
	}
	strbuf_addch(sb, '/');
	/* a generateName object before the server named it: kubectl prints <unknown> */
	strbuf_addstr(sb, name && *name ? name : "<unknown>");
	strbuf_addch(sb, '\n');
}

static int is_list(const cJSON *obj)
{
	const char *kind = str_of(obj, "kind");
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(obj, "items");
	return cJSON_IsArray(items) && (!kind || ends_with(kind, "List"));
}

char *output_name(const cJSON *obj)
{
	struct strbuf sb = STRBUF_INIT;
	add_name(&sb, obj, NULL, NULL);
	if (sb.len && sb.buf[sb.len - 1] == '\n')
		sb.buf[--sb.len] = '\0';
	return strbuf_detach(&sb);
}

int output_show_managed_fields;

static int has_managed_fields(const cJSON *obj)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	return cJSON_GetObjectItemCaseSensitive(md, "managedFields") != NULL;
}

static void drop_managed_fields(cJSON *obj)
{
	cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	if (cJSON_IsObject(md))
		cJSON_DeleteItemFromObjectCaseSensitive(md, "managedFields");
}

/* A copy without managedFields when there are any to drop, else NULL. */
static cJSON *without_managed_fields(const cJSON *obj)
{
	const cJSON *it;
	int any = has_managed_fields(obj);
	cJSON *copy, *c;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(obj, "items"))
		any |= has_managed_fields(it);
	if (!any)
		return NULL;
	copy = cJSON_Duplicate(obj, 1);
	drop_managed_fields(copy);
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(copy, "items"))
		drop_managed_fields(c);
	return copy;
}

int output_object(FILE *out, const cJSON *obj, enum output_format fmt)
{
	struct strbuf sb = STRBUF_INIT;
	cJSON *stripped = NULL;

	if (!obj) {
		eidf_set_error("nothing to print");
		return -1;
	}
	if ((fmt == OUT_JSON || fmt == OUT_YAML) && !output_show_managed_fields &&
	    (stripped = without_managed_fields(obj)))
		obj = stripped;
	switch (fmt) {
	case OUT_JSON:
		json_add(&sb, obj, 0);
		strbuf_addch(&sb, '\n');
		break;
	case OUT_YAML: {
		char *y = yaml_from_json(obj);
		if (!y) {
			cJSON_Delete(stripped);
			return -1;
		}
		strbuf_addstr(&sb, y);
		free(y);
		break;
	}
	case OUT_NAME:
		if (is_list(obj)) {
			const char *kind = str_of(obj, "kind");
			const char *apiv = str_of(obj, "apiVersion");
			const cJSON *it;
			cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(obj, "items"))
				add_name(&sb, it, kind && strcmp(kind, "List") ? kind : NULL, apiv);
		} else {
			add_name(&sb, obj, NULL, NULL);
		}
		break;
	default:
		eidf_set_error("output_object: tables are printed by the command, not here");
		cJSON_Delete(stripped);
		return -1;
	}
	cJSON_Delete(stripped);
	fwrite(strbuf_str(&sb), 1, sb.len, out);
	strbuf_release(&sb);
	return 0;
}
