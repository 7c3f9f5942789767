/* .dockerignore: a port of moby/patternmatcher and BuildKit's ReadAll.
 *
 * patternmatcher turns each pattern into a Go regexp string (unless it is an
 * exact, prefix or suffix match) and matches with Go's regexp package.  We
 * build the same string byte for byte, then parse it with Go's RE2 syntax
 * rules (the subset such strings can contain) into a small NFA run as a Pike
 * VM: linear time, no backtracking blow-up, runes decoded like Go does
 * (invalid bytes are U+FFFD).  Reading the Go sources is the spec; quirks
 * such as "[a*]" becoming the regexp "[a[^/]*]" are kept on purpose. */
#include "dockerignore.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 as Go decodes it ------------------------------------------------ */

#define RUNE_ERROR 0xFFFDu

/* Decode one rune; invalid input gives RUNE_ERROR with width 1. */
static size_t decode_rune(const unsigned char *s, size_t n, uint32_t *r)
{
	unsigned char c = s[0];
	if (c < 0x80) {
		*r = c;
		return 1;
	}
	size_t need;
	uint32_t v, min;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 2; v = c & 0x1F; min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 3; v = c & 0x0F; min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 4; v = c & 0x07; min = 0x10000;
	} else {
		*r = RUNE_ERROR;
		return 1;
	}
	if (n < need) {
		*r = RUNE_ERROR;
		return 1;
	}
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*r = RUNE_ERROR;
			return 1;
		}
		v = (v << 6) | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
		*r = RUNE_ERROR;
		return 1;
	}
	*r = v;
	return need;
}

static void add_rune(struct strbuf *sb, uint32_t r)
{
	char b[4];
	if (r < 0x80) {
		strbuf_addch(sb, (int)r);
		return;
	}
	if (r < 0x800) {
		b[0] = (char)(0xC0 | (r >> 6));
		b[1] = (char)(0x80 | (r & 0x3F));
		strbuf_add(sb, b, 2);
	} else if (r < 0x10000) {
		b[0] = (char)(0xE0 | (r >> 12));
		b[1] = (char)(0x80 | ((r >> 6) & 0x3F));
		b[2] = (char)(0x80 | (r & 0x3F));
		strbuf_add(sb, b, 3);
	} else {
		b[0] = (char)(0xF0 | (r >> 18));
		b[1] = (char)(0x80 | ((r >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((r >> 6) & 0x3F));
		b[3] = (char)(0x80 | (r & 0x3F));
		strbuf_add(sb, b, 4);
	}
}

/* unicode.IsSpace, as used by strings.TrimSpace. */
static int go_is_space(uint32_t r)
{
	switch (r) {
	case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
	case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
	case 0x202F: case 0x205F: case 0x3000:
		return 1;
	default:
		return r >= 0x2000 && r <= 0x200A;
	}
}

/* strings.TrimSpace on [*s, *s + *n). */
static void go_trim_space(const char **s, size_t *n)
{
	const unsigned char *p = (const unsigned char *)*s;
	size_t len = *n;
	while (len) {
		uint32_t r;
		size_t w = decode_rune(p, len, &r);
		if (!go_is_space(r))
			break;
		p += w;
		len -= w;
	}
	while (len) {
		/* find the start of the last rune */
		size_t k = len - 1;
		while (k > 0 && len - k < 4 && (p[k] & 0xC0) == 0x80)
			k--;
		uint32_t r;
		size_t w = decode_rune(p + k, len - k, &r);
		if (k + w != len) { /* not a well-formed final rune: last byte alone */
			k = len - 1;
			r = RUNE_ERROR;
		}
		if (!go_is_space(r))
			break;
		len = k;
	}
	*s = (const char *)p;
	*n = len;
}

/* ---- filepath.Clean --------------------------------------------------------- */

char *dockerignore_clean(const char *path)
{
	size_t n = strlen(path);
	if (n == 0)
		return xstrdup(".");
	int rooted = path[0] == '/';
	char *out = xmalloc(n + 2);
	size_t w = 0, r = 0, dotdot = 0;
	if (rooted) {
		out[w++] = '/';
		r = 1;
		dotdot = 1;
	}
	while (r < n) {
		if (path[r] == '/') {
			r++;
		} else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
			r++;
		} else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			while (r < n && path[r] != '/')
				out[w++] = path[r++];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	return out;
}

/* ---- ReadAll ----------------------------------------------------------------- */

/* bufio.Scanner's default limit: a line must fit in 64 KiB. */
#define SCAN_MAX 65536

int dockerignore_read(const char *data, size_t len, struct strvec *out)
{
	size_t pos = 0;
	int first = 1;
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - data) : len;
		const char *line = data + pos;
		size_t ln = end - pos;
		if (ln >= SCAN_MAX) {
			eidf_set_error(".dockerignore: line too long (over %d bytes)", SCAN_MAX - 1);
			return -1;
		}
		pos = nl ? end + 1 : len;
		if (ln && line[ln - 1] == '\r') /* ScanLines drops a trailing CR */
			ln--;
		if (first && ln >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
			line += 3;
			ln -= 3;
		}
		first = 0;
		if (ln && line[0] == '#')
			continue;
		go_trim_space(&line, &ln);
		if (!ln)
			continue;
		int invert = line[0] == '!';
		if (invert) {
			line++;
			ln--;
			go_trim_space(&line, &ln);
		}
		struct strbuf sb = STRBUF_INIT;
		if (invert)
			strbuf_addch(&sb, '!');
		if (ln) {
			char *raw = xstrndup(line, ln);
			char *clean = dockerignore_clean(raw);
			const char *p = clean;
			if (strlen(p) > 1 && p[0] == '/')
				p++;
			strbuf_addstr(&sb, p);
			free(clean);
			free(raw);
		}
		strvec_push_owned(out, strbuf_detach(&sb));
	}
	return 0;
}

/* ---- filepath.Match syntax check --------------------------------------------- */

/* getEsc from path/filepath/match.go: 0 ok, -1 bad pattern. */
static int glob_get_esc(const unsigned char **c, size_t *n)
{
	if (*n == 0 || **c == '-' || **c == ']')
		return -1;
	if (**c == '\\') {
		(*c)++;
		(*n)--;
		if (*n == 0)
			return -1;
	}
	uint32_t r;
	size_t w = decode_rune(*c, *n, &r);
	if (r == RUNE_ERROR && w == 1)
		return -1;
	*c += w;
	*n -= w;
	return *n == 0 ? -1 : 0;
}

/* matchChunk in its "failed" state: checks the chunk's syntax only. */
static int glob_check_chunk(const unsigned char *c, size_t n)
{
	while (n > 0) {
		switch (*c) {
		case '[': {
			c++, n--;
			if (n > 0 && *c == '^')
				c++, n--;
			int nrange = 0;
			for (;;) {
				if (n > 0 && *c == ']' && nrange > 0) {
					c++, n--;
					break;
				}
				if (glob_get_esc(&c, &n) < 0)
					return -1;
				if (*c == '-') {
					c++, n--;
					if (glob_get_esc(&c, &n) < 0)
						return -1;
				}
				nrange++;
			}
			break;
		}
		case '\\':
			c++, n--;
			if (n == 0)
				return -1;
			c++, n--;
			break;
		default:
			c++, n--;
			break;
		}
	}
	return 0;
}

/* What filepath.Match(p, ".") reports: ErrBadPattern or not. */
static int glob_check(const char *pattern)
{
	const unsigned char *p = (const unsigned char *)pattern;
	size_t n = strlen(pattern);
	while (n > 0) {
		while (n > 0 && *p == '*')
			p++, n--;
		int inrange = 0;
		size_t i;
		for (i = 0; i < n; i++) {
			if (p[i] == '\\') {
				if (i + 1 < n)
					i++;
			} else if (p[i] == '[') {
				inrange = 1;
			} else if (p[i] == ']') {
				inrange = 0;
			} else if (p[i] == '*' && !inrange) {
				break;
			}
		}
		if (glob_check_chunk(p, i) < 0)
			return -1;
		p += i;
		n -= i;
	}
	return 0;
}

/* ---- the Go regexp subset -------------------------------------------------- */

struct rclass {
	int negated;
	size_t n, alloc;
	uint32_t (*r)[2]; /* lo, hi */
};

enum rnode_type { RN_LIT, RN_CLASS, RN_DOT, RN_BOT, RN_EOT, RN_CAT, RN_STAR, RN_PLUS, RN_QUEST };

struct rnode {
	enum rnode_type type;
	uint32_t rune;          /* RN_LIT */
	size_t cls;             /* RN_CLASS: index */
	struct rnode **kids;    /* RN_CAT; RN_STAR/PLUS/QUEST have kids[0] */
	size_t nkids, akids;
};

enum { OP_RUNE, OP_CLASS, OP_DOT, OP_SPLIT, OP_JMP, OP_BOT, OP_EOT, OP_MATCH };

struct rinst {
	int op;
	uint32_t rune;
	size_t x, y;            /* SPLIT/JMP targets; CLASS index in x */
};

struct regex {
	struct rinst *prog;
	size_t n, alloc;
	struct rclass *classes;
	size_t nclasses;
	/* Literal bytes every match must start / end with, found in the
	 * program: a cheap test that rejects most paths before the VM runs
	 * (for "*.pyc" anywhere below the root, the suffix ".pyc"). */
	char *prefix, *suffix;
	size_t prefix_len, suffix_len;
	size_t *scratch;          /* the VM's thread lists, allocated once */
};

struct rparser {
	const unsigned char *s;
	size_t n, pos;
	struct regex *re;
	const char *err;         /* static message */
};

static struct rnode *rnode_new(enum rnode_type t)
{
	struct rnode *nd = xcalloc(1, sizeof(*nd));
	nd->type = t;
	return nd;
}

static void rnode_add(struct rnode *p, struct rnode *k)
{
	if (p->nkids == p->akids) {
		p->akids = p->akids ? 2 * p->akids : 4;
		p->kids = xrealloc(p->kids, p->akids * sizeof(*p->kids));
	}
	p->kids[p->nkids++] = k;
}

static void rnode_free(struct rnode *nd)
{
	if (!nd)
		return;
	for (size_t i = 0; i < nd->nkids; i++)
		rnode_free(nd->kids[i]);
	free(nd->kids);
	free(nd);
}

static void class_add(struct rclass *c, uint32_t lo, uint32_t hi)
{
	if (c->n == c->alloc) {
		c->alloc = c->alloc ? 2 * c->alloc : 4;
		c->r = xrealloc(c->r, c->alloc * sizeof(*c->r));
	}
	c->r[c->n][0] = lo;
	c->r[c->n][1] = hi;
	c->n++;
}

/* Add the complement of the ranges in tmp (sorted or not) to c. */
static void class_add_negated(struct rclass *c, const uint32_t (*rg)[2], size_t n)
{
	/* ranges here are tiny and fixed: do it by brute scanning boundaries */
	uint32_t next = 0;
	for (;;) {
		/* smallest range start >= next that covers or follows next */
		int covered = 0;
		uint32_t cover_hi = 0, min_lo = 0x110000;
		for (size_t i = 0; i < n; i++) {
			if (rg[i][0] <= next && next <= rg[i][1]) {
				covered = 1;
				if (rg[i][1] > cover_hi)
					cover_hi = rg[i][1];
			} else if (rg[i][0] > next && rg[i][0] < min_lo) {
				min_lo = rg[i][0];
			}
		}
		if (covered) {
			if (cover_hi >= 0x10FFFF)
				return;
			next = cover_hi + 1;
			continue;
		}
		class_add(c, next, min_lo - 1);
		if (min_lo > 0x10FFFF)
			return;
		next = min_lo;
	}
}

static const struct { char name; uint32_t r[3][2]; size_t n; } perl_groups[] = {
	{ 'd', { { '0', '9' } }, 1 },
	{ 's', { { '\t', '\n' }, { '\f', '\r' }, { ' ', ' ' } }, 3 },
	{ 'w', { { '0', '9' }, { 'A', 'Z' }, { '_', '_' } }, 3 },
};

/* \w also has a-z; kept apart to fit the table above */
static void class_add_perl(struct rclass *c, char name)
{
	char lower = (char)(name | 0x20);
	int neg = name != lower;
	uint32_t rg[4][2];
	size_t n = 0;
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(perl_groups); i++) {
		if (perl_groups[i].name != lower)
			continue;
		for (size_t k = 0; k < perl_groups[i].n; k++) {
			rg[n][0] = perl_groups[i].r[k][0];
			rg[n][1] = perl_groups[i].r[k][1];
			n++;
		}
	}
	if (lower == 'w') {
		rg[n][0] = 'a';
		rg[n][1] = 'z';
		n++;
	}
	if (neg) {
		class_add_negated(c, (const uint32_t (*)[2])rg, n);
	} else {
		for (size_t k = 0; k < n; k++)
			class_add(c, rg[k][0], rg[k][1]);
	}
}

static const struct { const char *name; uint32_t r[4][2]; size_t n; } posix_groups[] = {
	{ "alnum", { { '0', '9' }, { 'A', 'Z' }, { 'a', 'z' } }, 3 },
	{ "alpha", { { 'A', 'Z' }, { 'a', 'z' } }, 2 },
	{ "ascii", { { 0, 0x7F } }, 1 },
	{ "blank", { { '\t', '\t' }, { ' ', ' ' } }, 2 },
	{ "cntrl", { { 0, 0x1F }, { 0x7F, 0x7F } }, 2 },
	{ "digit", { { '0', '9' } }, 1 },
	{ "graph", { { '!', '~' } }, 1 },
	{ "lower", { { 'a', 'z' } }, 1 },
	{ "print", { { ' ', '~' } }, 1 },
	{ "punct", { { '!', '/' }, { ':', '@' }, { '[', '`' }, { '{', '~' } }, 4 },
	{ "space", { { '\t', '\r' }, { ' ', ' ' } }, 2 },
	{ "upper", { { 'A', 'Z' } }, 1 },
	{ "word", { { '0', '9' }, { 'A', 'Z' }, { 'a', 'z' }, { '_', '_' } }, 4 },
	{ "xdigit", { { '0', '9' }, { 'A', 'F' }, { 'a', 'f' } }, 3 },
};

static int rp_more(struct rparser *p) { return p->pos < p->n; }
static unsigned char rp_peek(struct rparser *p) { return p->s[p->pos]; }

/* Go's parseEscape (after the '\'): the escapes that yield one rune.
 * 0 ok, -1 with p->err. */
static int rp_escape_rune(struct rparser *p, uint32_t *out)
{
	if (!rp_more(p)) {
		p->err = "trailing backslash at end of expression";
		return -1;
	}
	uint32_t c;
	size_t w = decode_rune(p->s + p->pos, p->n - p->pos, &c);
	p->pos += w;
	if (c < 0x80 && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
		*out = c;
		return 0;
	}
	switch (c) {
	case '1': case '2': case '3': case '4': case '5': case '6': case '7':
		if (!rp_more(p) || rp_peek(p) < '0' || rp_peek(p) > '7')
			break; /* a backreference: not supported by RE2 either */
		/* fallthrough */
	case '0': {
		uint32_t r = c - '0';
		for (int i = 1; i < 3; i++) {
			if (!rp_more(p) || rp_peek(p) < '0' || rp_peek(p) > '7')
				break;
			r = r * 8 + (uint32_t)(rp_peek(p) - '0');
			p->pos++;
		}
		*out = r;
		return 0;
	}
	case 'x': {
		if (!rp_more(p))
			break;
		uint32_t r = 0;
		if (rp_peek(p) == '{') {
			p->pos++;
			int nd = 0;
			while (rp_more(p) && rp_peek(p) != '}') {
				unsigned char h = rp_peek(p);
				int v = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 :
					h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
				if (v < 0)
					goto bad;
				r = r * 16 + (uint32_t)v;
				if (r > 0x10FFFF)
					goto bad;
				nd++;
				p->pos++;
			}
			if (!rp_more(p) || nd == 0)
				goto bad;
			p->pos++;
			*out = r;
			return 0;
		}
		for (int i = 0; i < 2; i++) {
			if (!rp_more(p))
				goto bad;
			unsigned char h = rp_peek(p);
			int v = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 :
				h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
			if (v < 0)
				goto bad;
			r = r * 16 + (uint32_t)v;
			p->pos++;
		}
		*out = r;
		return 0;
	}
	case 'a': *out = 7; return 0;
	case 'f': *out = '\f'; return 0;
	case 'n': *out = '\n'; return 0;
	case 'r': *out = '\r'; return 0;
	case 't': *out = '\t'; return 0;
	case 'v': *out = '\v'; return 0;
	default:
		break;
	}
bad:
	p->err = "invalid escape sequence";
	return -1;
}

static int is_perl_class(unsigned char c)
{
	return c == 'd' || c == 'D' || c == 's' || c == 'S' || c == 'w' || c == 'W';
}

static int rp_class_char(struct rparser *p, uint32_t *out)
{
	if (!rp_more(p)) {
		p->err = "missing closing ]";
		return -1;
	}
	if (rp_peek(p) == '\\') {
		p->pos++;
		return rp_escape_rune(p, out);
	}
	p->pos += decode_rune(p->s + p->pos, p->n - p->pos, out);
	return 0;
}

/* Go's parseClass, after the '['. */
static struct rnode *rp_class(struct rparser *p)
{
	struct regex *re = p->re;
	re->classes = xrealloc(re->classes, (re->nclasses + 1) * sizeof(*re->classes));
	size_t idx = re->nclasses++;
	struct rclass *c = &re->classes[idx];
	memset(c, 0, sizeof(*c));
	if (rp_more(p) && rp_peek(p) == '^') {
		c->negated = 1;
		p->pos++;
	}
	int first = 1;
	while (!rp_more(p) || rp_peek(p) != ']' || first) {
		first = 0;
		if (!rp_more(p)) {
			p->err = "missing closing ]";
			return NULL;
		}
		c = &re->classes[idx];
		/* [:alpha:] */
		if (p->n - p->pos > 2 && p->s[p->pos] == '[' && p->s[p->pos + 1] == ':') {
			const char *rest = (const char *)p->s + p->pos + 2;
			const char *end = memmem(rest, p->n - p->pos - 2, ":]", 2);
			if (end) {
				const char *name = rest;
				size_t nl = (size_t)(end - rest);
				int neg = 0;
				if (nl && name[0] == '^') {
					neg = 1;
					name++;
					nl--;
				}
				size_t g;
				for (g = 0; g < EIDF_ARRAY_SIZE(posix_groups); g++)
					if (strlen(posix_groups[g].name) == nl && !memcmp(posix_groups[g].name, name, nl))
						break;
				if (g == EIDF_ARRAY_SIZE(posix_groups)) {
					p->err = "invalid character class range";
					return NULL;
				}
				if (neg) {
					class_add_negated(c, (const uint32_t (*)[2])posix_groups[g].r, posix_groups[g].n);
				} else {
					for (size_t k = 0; k < posix_groups[g].n; k++)
						class_add(c, posix_groups[g].r[k][0], posix_groups[g].r[k][1]);
				}
				p->pos = (size_t)(end + 2 - (const char *)p->s);
				continue;
			}
		}
		if (p->n - p->pos >= 2 && p->s[p->pos] == '\\') {
			unsigned char e = p->s[p->pos + 1];
			if (e == 'p' || e == 'P') {
				p->err = "Unicode classes (\\p) are not supported";
				return NULL;
			}
			if (is_perl_class(e)) {
				class_add_perl(c, (char)e);
				p->pos += 2;
				continue;
			}
		}
		uint32_t lo, hi;
		if (rp_class_char(p, &lo) < 0)
			return NULL;
		hi = lo;
		if (p->n - p->pos >= 2 && p->s[p->pos] == '-' && p->s[p->pos + 1] != ']') {
			p->pos++;
			if (rp_class_char(p, &hi) < 0)
				return NULL;
			if (hi < lo) {
				p->err = "invalid character class range";
				return NULL;
			}
		}
		class_add(&re->classes[idx], lo, hi);
	}
	p->pos++; /* ']' */
	struct rnode *nd = rnode_new(RN_CLASS);
	nd->cls = idx;
	return nd;
}

static struct rnode *rp_concat(struct rparser *p, int in_group);

static struct rnode *rp_atom(struct rparser *p)
{
	unsigned char c = rp_peek(p);
	struct rnode *nd;
	switch (c) {
	case '(':
		p->pos++;
		if (rp_more(p) && rp_peek(p) == '?') {
			p->err = "group flags are not supported";
			return NULL;
		}
		nd = rp_concat(p, 1);
		if (!nd)
			return NULL;
		if (!rp_more(p) || rp_peek(p) != ')') {
			rnode_free(nd);
			p->err = "missing closing )";
			return NULL;
		}
		p->pos++;
		return nd;
	case '[':
		p->pos++;
		return rp_class(p);
	case '.':
		p->pos++;
		return rnode_new(RN_DOT);
	case '^':
		p->pos++;
		return rnode_new(RN_BOT);
	case '$':
		p->pos++;
		return rnode_new(RN_EOT);
	case '|':
		p->err = "alternation is not supported";
		return NULL;
	case '\\': {
		p->pos++;
		if (!rp_more(p)) {
			p->err = "trailing backslash at end of expression";
			return NULL;
		}
		unsigned char e = rp_peek(p);
		if (e == 'A' || e == 'z') {
			p->pos++;
			return rnode_new(e == 'A' ? RN_BOT : RN_EOT);
		}
		if (e == 'b' || e == 'B' || e == 'Q' || e == 'p' || e == 'P' || e == 'C') {
			p->err = "escape sequence not supported";
			return NULL;
		}
		if (is_perl_class(e)) {
			struct regex *re = p->re;
			re->classes = xrealloc(re->classes, (re->nclasses + 1) * sizeof(*re->classes));
			memset(&re->classes[re->nclasses], 0, sizeof(*re->classes));
			class_add_perl(&re->classes[re->nclasses], (char)e);
			nd = rnode_new(RN_CLASS);
			nd->cls = re->nclasses++;
			p->pos++;
			return nd;
		}
		uint32_t r;
		if (rp_escape_rune(p, &r) < 0)
			return NULL;
		nd = rnode_new(RN_LIT);
		nd->rune = r;
		return nd;
	}
	default: {
		uint32_t r;
		p->pos += decode_rune(p->s + p->pos, p->n - p->pos, &r);
		nd = rnode_new(RN_LIT);
		nd->rune = r;
		return nd;
	}
	}
}

static int is_repeat(unsigned char c)
{
	return c == '*' || c == '+' || c == '?';
}

static struct rnode *rp_concat(struct rparser *p, int in_group)
{
	struct rnode *cat = rnode_new(RN_CAT);
	while (rp_more(p)) {
		unsigned char c = rp_peek(p);
		if (c == ')') {
			if (in_group)
				break;
			p->err = "unexpected )";
			goto fail;
		}
		if (is_repeat(c)) {
			p->err = "missing argument to repetition operator";
			goto fail;
		}
		struct rnode *a = rp_atom(p);
		if (!a)
			goto fail;
		if (rp_more(p) && is_repeat(rp_peek(p))) {
			unsigned char q = rp_peek(p);
			p->pos++;
			if (rp_more(p) && rp_peek(p) == '?') /* non-greedy: same language */
				p->pos++;
			if (rp_more(p) && is_repeat(rp_peek(p))) {
				rnode_free(a);
				p->err = "invalid nested repetition operator";
				goto fail;
			}
			struct rnode *r = rnode_new(q == '*' ? RN_STAR : q == '+' ? RN_PLUS : RN_QUEST);
			rnode_add(r, a);
			a = r;
		}
		rnode_add(cat, a);
	}
	return cat;
fail:
	rnode_free(cat);
	return NULL;
}

static size_t emit(struct regex *re, int op)
{
	if (re->n == re->alloc) {
		re->alloc = re->alloc ? 2 * re->alloc : 16;
		re->prog = xrealloc(re->prog, re->alloc * sizeof(*re->prog));
	}
	memset(&re->prog[re->n], 0, sizeof(*re->prog));
	re->prog[re->n].op = op;
	return re->n++;
}

static void codegen(struct regex *re, const struct rnode *nd)
{
	size_t l1, l2;
	switch (nd->type) {
	case RN_LIT: /* emit() may move re->prog: index after the call */
		l1 = emit(re, OP_RUNE);
		re->prog[l1].rune = nd->rune;
		break;
	case RN_CLASS:
		l1 = emit(re, OP_CLASS);
		re->prog[l1].x = nd->cls;
		break;
	case RN_DOT:
		emit(re, OP_DOT);
		break;
	case RN_BOT:
		emit(re, OP_BOT);
		break;
	case RN_EOT:
		emit(re, OP_EOT);
		break;
	case RN_CAT:
		for (size_t i = 0; i < nd->nkids; i++)
			codegen(re, nd->kids[i]);
		break;
	case RN_STAR:
		l1 = emit(re, OP_SPLIT);
		re->prog[l1].x = l1 + 1;
		codegen(re, nd->kids[0]);
		l2 = emit(re, OP_JMP);
		re->prog[l2].x = l1;
		re->prog[l1].y = re->n;
		break;
	case RN_PLUS:
		l1 = re->n;
		codegen(re, nd->kids[0]);
		l2 = emit(re, OP_SPLIT);
		re->prog[l2].x = l1;
		re->prog[l2].y = l2 + 1;
		break;
	case RN_QUEST:
		l1 = emit(re, OP_SPLIT);
		re->prog[l1].x = l1 + 1;
		codegen(re, nd->kids[0]);
		re->prog[l1].y = re->n;
		break;
	}
}

static void regex_free(struct regex *re)
{
	if (!re)
		return;
	for (size_t i = 0; i < re->nclasses; i++)
		free(re->classes[i].r);
	free(re->classes);
	free(re->prog);
	free(re->prefix);
	free(re->suffix);
	free(re->scratch);
	free(re);
}

/* UTF-8 of the literal runes prog[from..to), or NULL when one of them is
 * U+FFFD (which also matches invalid bytes, so has no single spelling). */
static char *literal_bytes(const struct regex *re, size_t from, size_t to, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = from; i < to; i++) {
		if (re->prog[i].rune == RUNE_ERROR) {
			strbuf_release(&sb);
			*len = 0;
			return NULL;
		}
		add_rune(&sb, re->prog[i].rune);
	}
	*len = sb.len;
	return sb.len ? strbuf_detach(&sb) : (strbuf_release(&sb), NULL);
}

/* Required literal prefix and suffix of a compiled pattern.  Prefix: the
 * run of OP_RUNE right after the leading OP_BOT, which every thread
 * executes in order before anything else.  Suffix: the run of OP_RUNE
 * just before the final OP_EOT, OP_MATCH, cut after the last jump target
 * inside it (a thread may enter there: the optional group that "**" becomes
 * ends in a slash that a thread can jump past).
 * Comparing bytes is exact: decoded runes equal a valid rune's canonical
 * UTF-8 exactly when the bytes are equal, and a suffix starts on a lead
 * byte, so no earlier sequence can absorb it. */
static void find_literals(struct regex *re)
{
	size_t n = re->n;
	if (n >= 2 && re->prog[0].op == OP_BOT) {
		size_t k = 1;
		while (k < n && re->prog[k].op == OP_RUNE)
			k++;
		re->prefix = literal_bytes(re, 1, k, &re->prefix_len);
	}
	if (n >= 3 && re->prog[n - 1].op == OP_MATCH && re->prog[n - 2].op == OP_EOT) {
		size_t j = n - 2;
		while (j > 0 && re->prog[j - 1].op == OP_RUNE)
			j--;
		for (size_t i = 0; i < n; i++) {
			const struct rinst *in = &re->prog[i];
			if (in->op != OP_SPLIT && in->op != OP_JMP)
				continue;
			if (in->x > j && in->x < n)
				j = in->x;
			if (in->op == OP_SPLIT && in->y > j && in->y < n)
				j = in->y;
		}
		if (j < n - 2)
			re->suffix = literal_bytes(re, j, n - 2, &re->suffix_len);
	}
}

static struct regex *regex_compile(const char *s, size_t n, const char **err)
{
	struct regex *re = xcalloc(1, sizeof(*re));
	struct rparser p = { (const unsigned char *)s, n, 0, re, NULL };
	struct rnode *root = rp_concat(&p, 0);
	if (!root) {
		*err = p.err;
		regex_free(re);
		return NULL;
	}
	codegen(re, root);
	emit(re, OP_MATCH);
	rnode_free(root);
	find_literals(re);
	re->scratch = xmalloc(sizeof(size_t) * (re->n * 5 + 2));
	return re;
}

static int class_match(const struct rclass *c, uint32_t r)
{
	int in = 0;
	for (size_t i = 0; i < c->n && !in; i++)
		in = c->r[i][0] <= r && r <= c->r[i][1];
	return in != c->negated;
}

struct threadlist {
	size_t *pc;
	size_t n;
};

/* Follow empty transitions from pc at position pos, adding to list. */
static void addthread(const struct regex *re, struct threadlist *l, size_t *mark, size_t gen,
		      size_t pc, size_t pos, size_t len, size_t *stack)
{
	size_t sp = 0;
	stack[sp++] = pc;
	while (sp) {
		pc = stack[--sp];
		if (mark[pc] == gen)
			continue;
		mark[pc] = gen;
		const struct rinst *in = &re->prog[pc];
		switch (in->op) {
		case OP_JMP:
			stack[sp++] = in->x;
			break;
		case OP_SPLIT:
			stack[sp++] = in->y;
			stack[sp++] = in->x;
			break;
		case OP_BOT:
			if (pos == 0)
				stack[sp++] = pc + 1;
			break;
		case OP_EOT:
			if (pos == len)
				stack[sp++] = pc + 1;
			break;
		default:
			l->pc[l->n++] = pc;
			break;
		}
	}
}

/* Anchored at the start; success when MATCH is reached at the end of input
 * (the compiled strings always end in '$'). */
static int regex_match(const struct regex *re, const char *str, size_t len)
{
	if (re->prefix_len && (len < re->prefix_len || memcmp(str, re->prefix, re->prefix_len)))
		return 0;
	if (re->suffix_len &&
	    (len < re->suffix_len || memcmp(str + len - re->suffix_len, re->suffix, re->suffix_len)))
		return 0;
	const unsigned char *s = (const unsigned char *)str;
	size_t m = re->n;
	size_t *buf = re->scratch;
	struct threadlist cur = { buf, 0 }, nxt = { buf + m, 0 };
	size_t *mark = buf + 2 * m, *stack = buf + 3 * m;
	for (size_t i = 0; i < m; i++)
		mark[i] = (size_t)-1;
	size_t gen = 0, pos = 0;
	int matched = 0;
	addthread(re, &cur, mark, gen++, 0, 0, len, stack);
	for (;;) {
		for (size_t i = 0; i < cur.n; i++)
			if (re->prog[cur.pc[i]].op == OP_MATCH && pos == len)
				matched = 1;
		if (matched || pos >= len || cur.n == 0)
			break;
		uint32_t r;
		size_t w = decode_rune(s + pos, len - pos, &r);
		nxt.n = 0;
		for (size_t i = 0; i < cur.n; i++) {
			const struct rinst *in = &re->prog[cur.pc[i]];
			int ok = 0;
			switch (in->op) {
			case OP_RUNE: ok = in->rune == r; break;
			case OP_CLASS: ok = class_match(&re->classes[in->x], r); break;
			case OP_DOT: ok = r != '\n'; break;
			default: break;
			}
			if (ok)
				addthread(re, &nxt, mark, gen, cur.pc[i] + 1, pos + w, len, stack);
		}
		gen++;
		pos += w;
		struct threadlist t = cur;
		cur = nxt;
		nxt = t;
	}
	return matched;
}

/* ---- patterns ------------------------------------------------------------ */

enum match_type { MATCH_EXACT, MATCH_PREFIX, MATCH_SUFFIX, MATCH_REGEXP };

struct di_pattern {
	char *cleaned;           /* without the '!' */
	size_t clen;
	int exclusion;
	size_t ndirs;            /* components of cleaned */
	enum match_type type;
	struct regex *re;
	int trailing_glob_prefix; /* fsutil: patternWithoutTrailingGlob has glob chars */
	char *prefix_slash;      /* patternWithoutTrailingGlob + "/" */
};

struct dockerignore {
	struct di_pattern *pats;
	size_t n;
	int exclusions;
	int only_prefix_exceptions;
};

static int should_escape(uint32_t c)
{
	return c != 0 && c < 0x80 && strchr(".+()|{}$", (int)c);
}

/* Pattern.compile: the Go regexp string and the match type. */
static int pattern_compile(struct di_pattern *p)
{
	struct strbuf reg = STRBUF_INIT;
	enum match_type type = MATCH_EXACT;
	const unsigned char *s = (const unsigned char *)p->cleaned;
	size_t n = p->clen, pos = 0;
	strbuf_addch(&reg, '^');
	for (int i = 0; pos < n; i++) {
		uint32_t ch;
		pos += decode_rune(s + pos, n - pos, &ch);
		if (ch == '*') {
			if (pos < n && s[pos] == '*') {
				pos++;
				if (pos < n && s[pos] == '/')
					pos++;
				if (pos == n) {
					if (type == MATCH_EXACT) {
						type = MATCH_PREFIX;
					} else {
						strbuf_addstr(&reg, ".*");
						type = MATCH_REGEXP;
					}
				} else {
					strbuf_addstr(&reg, "(.*/)?");
					type = MATCH_REGEXP;
				}
				if (i == 0)
					type = MATCH_SUFFIX;
			} else {
				strbuf_addstr(&reg, "[^/]*");
				type = MATCH_REGEXP;
			}
		} else if (ch == '?') {
			strbuf_addstr(&reg, "[^/]");
			type = MATCH_REGEXP;
		} else if (should_escape(ch)) {
			strbuf_addch(&reg, '\\');
			strbuf_addch(&reg, (int)ch);
		} else if (ch == '\\') {
			if (pos < n) {
				uint32_t nx;
				pos += decode_rune(s + pos, n - pos, &nx);
				strbuf_addch(&reg, '\\');
				add_rune(&reg, nx);
				type = MATCH_REGEXP;
			} else {
				strbuf_addch(&reg, '\\');
			}
		} else if (ch == '[' || ch == ']') {
			strbuf_addch(&reg, (int)ch);
			type = MATCH_REGEXP;
		} else {
			add_rune(&reg, ch);
		}
	}
	int ret = 0;
	if (type == MATCH_REGEXP) {
		strbuf_addch(&reg, '$');
		const char *err = NULL;
		p->re = regex_compile(reg.buf, reg.len, &err);
		if (!p->re) {
			eidf_set_error("invalid .dockerignore pattern %s%s: %s (as the regexp `%s`)",
				       p->exclusion ? "!" : "", p->cleaned, err, reg.buf);
			ret = -1;
		}
	}
	p->type = type;
	strbuf_release(&reg);
	return ret;
}

static int pattern_match(const struct di_pattern *p, const char *path, size_t len)
{
	switch (p->type) {
	case MATCH_EXACT:
		return len == p->clen && !memcmp(path, p->cleaned, len);
	case MATCH_PREFIX:
		return len >= p->clen - 2 && !memcmp(path, p->cleaned, p->clen - 2);
	case MATCH_SUFFIX: {
		const char *suf = p->cleaned + 2;
		size_t sl = p->clen - 2;
		if (len >= sl && !memcmp(path + len - sl, suf, sl))
			return 1;
		return sl > 0 && suf[0] == '/' && len == sl - 1 && !memcmp(path, suf + 1, sl - 1);
	}
	case MATCH_REGEXP:
		return regex_match(p->re, path, len);
	}
	return 0;
}

void dockerignore_free(struct dockerignore *di)
{
	if (!di)
		return;
	for (size_t i = 0; i < di->n; i++) {
		free(di->pats[i].cleaned);
		free(di->pats[i].prefix_slash);
		regex_free(di->pats[i].re);
	}
	free(di->pats);
	free(di);
}

struct dockerignore *dockerignore_new(const char *const *patterns, size_t n)
{
	struct dockerignore *di = xcalloc(1, sizeof(*di));
	di->pats = xcalloc(n ? n : 1, sizeof(*di->pats));
	di->only_prefix_exceptions = 1;
	for (size_t i = 0; i < n; i++) {
		const char *s = patterns[i];
		size_t len = strlen(s);
		go_trim_space(&s, &len);
		if (!len)
			continue;
		char *raw = xstrndup(s, len);
		char *clean = dockerignore_clean(raw);
		free(raw);
		struct di_pattern *p = &di->pats[di->n];
		const char *body = clean;
		if (clean[0] == '!') {
			if (clean[1] == '\0') {
				eidf_set_error("invalid .dockerignore: illegal exclusion pattern: \"!\"");
				free(clean);
				dockerignore_free(di);
				return NULL;
			}
			p->exclusion = 1;
			di->exclusions = 1;
			body++;
		}
		if (glob_check(body) < 0) {
			eidf_set_error("invalid .dockerignore pattern %s: syntax error in pattern "
				       "(check '[' ']' pairs and a trailing '\\')", clean);
			free(clean);
			dockerignore_free(di);
			return NULL;
		}
		p->cleaned = xstrdup(body);
		p->clen = strlen(body);
		free(clean);
		di->n++;
		p->ndirs = 1;
		for (const char *c = p->cleaned; *c; c++)
			p->ndirs += *c == '/';
		if (pattern_compile(p) < 0) {
			dockerignore_free(di);
			return NULL;
		}
		/* fsutil's patternWithoutTrailingGlob */
		size_t pl = p->clen;
		if (pl >= 3 && !memcmp(p->cleaned + pl - 3, "/**", 3))
			pl -= 3;
		else if (pl >= 2 && !memcmp(p->cleaned + pl - 2, "/*", 2))
			pl -= 2;
		struct strbuf sb = STRBUF_INIT;
		strbuf_add(&sb, p->cleaned, pl);
		if (p->exclusion && strpbrk(sb.buf, "*[]?^\\"))
			di->only_prefix_exceptions = 0;
		strbuf_addch(&sb, '/');
		p->prefix_slash = strbuf_detach(&sb);
	}
	return di;
}

size_t dockerignore_count(const struct dockerignore *di)
{
	return di->n;
}

int dockerignore_has_exclusions(const struct dockerignore *di)
{
	return di->exclusions;
}

/* Does pattern p match a parent directory of path (whose parent part is
 * path[0..plen))? */
static int parent_matches(const struct di_pattern *p, const char *path, size_t plen)
{
	for (size_t i = 0; i <= plen; i++)
		if ((i == plen || path[i] == '/') && pattern_match(p, path, i))
			return 1;
	return 0;
}

static size_t parent_len(const char *path, size_t len)
{
	const char *slash = NULL;
	for (size_t i = 0; i < len; i++)
		if (path[i] == '/')
			slash = path + i;
	return slash ? (size_t)(slash - path) : 0;
}

int dockerignore_matches(const struct dockerignore *di, const char *path)
{
	size_t len = strlen(path);
	size_t plen = parent_len(path, len);
	int matched = 0;
	for (size_t i = 0; i < di->n; i++) {
		const struct di_pattern *p = &di->pats[i];
		if (p->exclusion != matched)
			continue;
		int m = pattern_match(p, path, len);
		if (!m && plen)
			m = parent_matches(p, path, plen);
		if (m)
			matched = !p->exclusion;
	}
	return matched;
}

int dockerignore_matches_parent(const struct dockerignore *di, const char *path,
				const unsigned char *parent, unsigned char *info)
{
	size_t len = strlen(path);
	int matched = 0;
	for (size_t i = 0; i < di->n; i++) {
		const struct di_pattern *p = &di->pats[i];
		int m = parent ? parent[i] : 0;
		if (!m) {
			if (p->exclusion != matched) {
				info[i] = 0;
				continue;
			}
			m = pattern_match(p, path, len);
			if (!m && !parent) {
				size_t plen = parent_len(path, len);
				if (plen)
					m = parent_matches(p, path, plen);
			}
		}
		info[i] = (unsigned char)m;
		if (m)
			matched = !p->exclusion;
	}
	return matched;
}

int dockerignore_dir_skippable(const struct dockerignore *di, const char *dir)
{
	if (!di->only_prefix_exceptions)
		return 0;
	if (!di->exclusions)
		return 1;
	size_t dl = strlen(dir);
	for (size_t i = 0; i < di->n; i++) {
		const struct di_pattern *p = &di->pats[i];
		if (!p->exclusion)
			continue;
		/* HasPrefix(pattern + "/", dir + "/") */
		if (strlen(p->prefix_slash) >= dl + 1 && !memcmp(p->prefix_slash, dir, dl) &&
		    p->prefix_slash[dl] == '/')
			return 0;
	}
	return 1;
}

/* The deprecated PatternMatcher.Matches: checks one parent prefix only. */
static int matches_deprecated(const struct dockerignore *di, const char *path)
{
	size_t len = strlen(path);
	size_t plen = parent_len(path, len);
	size_t nparent = 1;
	for (size_t i = 0; i < plen; i++)
		nparent += path[i] == '/';
	int matched = 0;
	for (size_t i = 0; i < di->n; i++) {
		const struct di_pattern *p = &di->pats[i];
		if (p->exclusion != matched)
			continue;
		int m = pattern_match(p, path, len);
		if (!m && plen && p->ndirs <= nparent) {
			/* join of the first ndirs parent components */
			size_t k = 0, seen = 0;
			while (k < plen) {
				if (path[k] == '/' && ++seen == p->ndirs)
					break;
				k++;
			}
			m = pattern_match(p, path, k);
		}
		if (m)
			matched = !p->exclusion;
	}
	return matched;
}

void dockerignore_keep(struct strvec *patterns, const char *path)
{
	struct dockerignore *di = dockerignore_new((const char *const *)patterns->v, patterns->n);
	if (!di)
		return; /* the docker CLI ignores the error here; the walk reports it */
	char *clean = dockerignore_clean(path);
	if (strcmp(clean, ".") && matches_deprecated(di, clean))
		strvec_pushf(patterns, "!%s", clean);
	free(clean);
	dockerignore_free(di);
}
