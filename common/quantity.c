/* Kubernetes resource.Quantity (k8s.io/apimachinery/pkg/api/resource):
 * parsing with the same grammar, rounding (up to 1n) and BinarySI cap, and
 * the API server's canonical form.
 *
 * Parsing works on the decimal digit string so that any input the API
 * server accepts is handled exactly; the result is stored reduced as
 * mantissa * 10^exp10 (exp10 >= -9), binary suffixes expanded (exp1024 = 0). */
#include "eidf/quantity.h"
#include "eidf/util.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define QUANTITY_REGEXP "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"

typedef __int128 i128;
typedef unsigned __int128 u128;

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* ---- the grammar (parseQuantityString) ------------------------------------- */

struct qparts {
	int negative;
	const char *num; size_t num_len;
	const char *denom; size_t denom_len;
	const char *suffix; size_t suffix_len;
};

static int split_quantity(const char *s, struct qparts *p)
{
	size_t pos = 0, end = strlen(s);

	memset(p, 0, sizeof(*p));
	if (end == 0)
		return -1;
	size_t start;
	if (s[0] == '-' || s[0] == '+') {
		p->negative = s[0] == '-';
		pos++;
	}
	start = pos;
	while (pos < end && s[pos] == '0')
		pos++;
	p->num = s + pos;
	while (pos < end && is_digit(s[pos]))
		pos++;
	p->num_len = (size_t)(s + pos - p->num);
	if (pos < end && s[pos] == '.') {
		pos++;
		p->denom = s + pos;
		while (pos < end && is_digit(s[pos]))
			pos++;
		p->denom_len = (size_t)(s + pos - p->denom);
	}
	/* The API server reads "Gi" or "-" as 0; the regular expression it
	 * quotes (and we) wants at least one of [0-9.] */
	if (pos == start)
		return -1;
	p->suffix = s + pos;
	while (pos < end && strchr("eEinumkKMGTP", s[pos]))
		pos++;
	if (pos < end && (s[pos] == '-' || s[pos] == '+'))
		pos++;
	while (pos < end && is_digit(s[pos]))
		pos++;
	if (pos != end)
		return -1;
	p->suffix_len = (size_t)(s + end - p->suffix);
	return 0;
}

/* suffix -> (base, exponent, format); 0 when unknown. */
static int interpret_suffix(const char *suf, size_t len, int *base, long *exp, int *fmt)
{
	static const struct { const char *s; int base, exp; } table[] = {
		{ "n", 10, -9 }, { "u", 10, -6 }, { "m", 10, -3 }, { "", 10, 0 },
		{ "k", 10, 3 }, { "M", 10, 6 }, { "G", 10, 9 }, { "T", 10, 12 },
		{ "P", 10, 15 }, { "E", 10, 18 },
		{ "Ki", 2, 10 }, { "Mi", 2, 20 }, { "Gi", 2, 30 }, { "Ti", 2, 40 },
		{ "Pi", 2, 50 }, { "Ei", 2, 60 },
	};
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(table); i++) {
		if (strlen(table[i].s) == len && !memcmp(table[i].s, suf, len)) {
			*base = table[i].base;
			*exp = table[i].exp;
			*fmt = table[i].base == 2 ? QFMT_BINARY_SI : QFMT_DECIMAL_SI;
			return 1;
		}
	}
	if (len > 1 && (suf[0] == 'e' || suf[0] == 'E')) {
		/* strconv.ParseInt: optional sign, then at least one digit */
		size_t i = 1;
		long v = 0;
		int neg = 0;
		if (suf[i] == '+' || suf[i] == '-')
			neg = suf[i++] == '-';
		if (i == len)
			return 0;
		for (; i < len; i++) {
			if (!is_digit(suf[i]))
				return 0;
			v = v * 10 + (suf[i] - '0');
			if (v > INT_MAX) /* the API server keeps the scale in an int32 */
				return 0;
		}
		*base = 10;
		*exp = neg ? -v : v;
		*fmt = QFMT_DECIMAL_EXPONENT;
		return 1;
	}
	return 0;
}

/* ---- decimal digit strings (most significant first, no leading zeros) ------ */

static void digits_mul_small(struct strbuf *d, unsigned m)
{
	unsigned carry = 0;
	for (size_t i = d->len; i-- > 0;) {
		unsigned v = (unsigned)(d->buf[i] - '0') * m + carry;
		d->buf[i] = (char)('0' + v % 10);
		carry = v / 10;
	}
	while (carry) {
		char c = (char)('0' + carry % 10);
		carry /= 10;
		strbuf_addch(d, 0);
		memmove(d->buf + 1, d->buf, d->len - 1);
		d->buf[0] = c;
	}
}

static void digits_increment(struct strbuf *d)
{
	size_t i = d->len;
	while (i-- > 0) {
		if (d->buf[i] != '9') {
			d->buf[i]++;
			return;
		}
		d->buf[i] = '0';
	}
	strbuf_addch(d, 0);
	memmove(d->buf + 1, d->buf, d->len - 1);
	d->buf[0] = '1';
}

/* Compare the digits d (an integer) with the decimal string lim. */
static int digits_cmp(const char *d, size_t len, const char *lim)
{
	size_t ll = strlen(lim);
	if (len != ll)
		return len < ll ? -1 : 1;
	int c = memcmp(d, lim, len);
	return c < 0 ? -1 : c > 0;
}

#define INT64_MAX_DIGITS "9223372036854775807"

int quantity_parse(const char *s, struct quantity *q)
{
	struct qparts p;
	struct strbuf d = STRBUF_INIT;
	int base = 10, fmt = QFMT_DECIMAL_SI;
	long exp = 0, scale;
	int ret = -1;

	memset(q, 0, sizeof(*q));
	if (!s || split_quantity(s, &p) < 0) {
		eidf_set_error("invalid quantity \"%s\": quantities must match the regular expression "
			       QUANTITY_REGEXP, s ? s : "");
		return -1;
	}
	if (!interpret_suffix(p.suffix, p.suffix_len, &base, &exp, &fmt)) {
		eidf_set_error("invalid quantity \"%s\": unable to parse quantity's suffix", s);
		return -1;
	}

	strbuf_add(&d, p.num, p.num_len);
	strbuf_add(&d, p.denom, p.denom_len);
	scale = -(long)p.denom_len + (base == 10 ? exp : 0);
	{
		size_t lead = 0;
		while (lead < d.len && d.buf[lead] == '0')
			lead++;
		memmove(d.buf, d.buf + lead, d.len - lead + 1);
		d.len -= lead;
	}
	q->format = fmt;
	if (d.len == 0) {
		/* zero: the format does not matter, it prints as "0" */
		ret = 0;
		goto out;
	}
	if (base == 2)
		for (long i = 0; i < exp; i += 10)
			digits_mul_small(&d, 1024);

	/* Round non-zero values up (away from zero) to 1n, like the API server. */
	if (scale < -9) {
		long k = -9 - scale;
		if ((size_t)k >= d.len) {
			strbuf_reset(&d);
			strbuf_addch(&d, '1');
		} else {
			size_t keep = d.len - (size_t)k;
			int tail = 0;
			for (size_t i = keep; i < d.len; i++)
				tail |= d.buf[i] != '0';
			d.len = keep;
			d.buf[keep] = '\0';
			if (tail)
				digits_increment(&d);
		}
		scale = -9;
	}
	while (d.len > 1 && d.buf[d.len - 1] == '0') {
		d.buf[--d.len] = '\0';
		scale++;
	}

	if (fmt == QFMT_BINARY_SI) {
		long intlen = (long)d.len + scale; /* digits before the point */
		int over = 0;
		if (intlen > 19) {
			over = 1;
		} else if (intlen == 19) {
			struct strbuf ip = STRBUF_INIT;
			size_t n = d.len < 19 ? d.len : 19;
			strbuf_add(&ip, d.buf, n);
			while (ip.len < 19)
				strbuf_addch(&ip, '0');
			int c = digits_cmp(ip.buf, ip.len, INT64_MAX_DIGITS);
			over = c > 0 || (c == 0 && d.len > 19);
			strbuf_release(&ip);
		}
		if (over) {
			/* the API server caps binary quantities at 2^63-1 */
			strbuf_reset(&d);
			strbuf_addstr(&d, INT64_MAX_DIGITS);
			scale = 0;
		} else if (intlen <= 0) {
			/* below 1: shown as a decimal, as the API server does */
			q->format = QFMT_DECIMAL_SI;
		}
	}
	if (digits_cmp(d.buf, d.len, INT64_MAX_DIGITS) > 0) {
		eidf_set_error("invalid quantity \"%s\": too many significant digits", s);
		goto out;
	}
	if (scale > INT_MAX || scale < INT_MIN + 64) {
		eidf_set_error("invalid quantity \"%s\": exponent too large", s);
		goto out;
	}
	q->mantissa = strtoll(d.buf, NULL, 10);
	if (p.negative)
		q->mantissa = -q->mantissa;
	q->exp10 = (int)scale;
	ret = 0;
out:
	strbuf_release(&d);
	if (ret < 0)
		memset(q, 0, sizeof(*q));
	return ret;
}

int quantity_valid(const char *s)
{
	struct quantity q;
	return quantity_parse(s, &q) == 0;
}

/* ---- exact arithmetic on mantissa * 10^e --------------------------------- */

#define I128_SAFE ((i128)1 << 120)

/* Exact value as m * 10^e with m's trailing zeros removed.  exp1024 of
 * hand-built quantities is folded in (saturating). */
static void normalize(const struct quantity *q, i128 *m, int *e)
{
	i128 v = q->mantissa;
	int x = q->exp10;

	for (int i = 0; i < q->exp1024 && v; i++) {
		if (v > I128_SAFE / 1024 || v < -I128_SAFE / 1024)
			break; /* saturate: far beyond any int64 result */
		v *= 1024;
	}
	for (int i = 0; i > q->exp1024 && v; i--) {
		/* 1/1024 = 9765625 / 10^10: keep it exact while it fits */
		if (v > I128_SAFE / 9765625 || v < -I128_SAFE / 9765625) {
			v /= 1024;
			continue;
		}
		v *= 9765625;
		x -= 10;
	}
	if (v == 0) {
		*m = 0;
		*e = 0;
		return;
	}
	while (v % 10 == 0) {
		v /= 10;
		x++;
	}
	*m = v;
	*e = x;
}

static int ndigits(u128 v)
{
	int n = 1;
	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

static u128 uabs128(i128 v)
{
	return v < 0 ? (u128)0 - (u128)v : (u128)v;
}

static void append_i128(struct strbuf *sb, i128 v)
{
	char tmp[48];
	int i = (int)sizeof(tmp);
	u128 u = uabs128(v);

	tmp[--i] = '\0';
	do {
		tmp[--i] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[--i] = '-';
	strbuf_addstr(sb, tmp + i);
}

int quantity_cmp(const struct quantity *a, const struct quantity *b)
{
	i128 ma, mb;
	int ea, eb;
	int sa, sb;

	normalize(a, &ma, &ea);
	normalize(b, &mb, &eb);
	sa = (ma > 0) - (ma < 0);
	sb = (mb > 0) - (mb < 0);
	if (sa != sb)
		return sa < sb ? -1 : 1;
	if (sa == 0)
		return 0;

	u128 ua = uabs128(ma), ub = uabs128(mb);
	long oa = (long)ndigits(ua) + ea, ob = (long)ndigits(ub) + eb;
	int mag;
	if (oa != ob) {
		mag = oa < ob ? -1 : 1;
	} else {
		/* same order of magnitude: align exponents (fits: <= 39 digits) */
		while (ea > eb) {
			ua *= 10;
			ea--;
		}
		while (eb > ea) {
			ub *= 10;
			eb--;
		}
		mag = ua < ub ? -1 : ua > ub;
	}
	return sa > 0 ? mag : -mag;
}

/* ceil(m * 10^e) as int64; -1 (and *ok = 0) when it does not fit. */
static int64_t scaled_ceil(const struct quantity *q, int extra_exp, int *ok)
{
	i128 m;
	int e;

	*ok = 1;
	normalize(q, &m, &e);
	if (m == 0)
		return 0;
	long x = (long)e + extra_exp;
	if (x >= 0) {
		for (long i = 0; i < x; i++) {
			if (m > INT64_MAX || m < INT64_MIN) {
				*ok = 0;
				return -1;
			}
			m *= 10;
		}
	} else {
		i128 div = 1;
		int tiny = 0;
		for (long i = 0; i < -x; i++) {
			if (div > I128_SAFE / 10) {
				tiny = 1;
				break;
			}
			div *= 10;
		}
		if (tiny) {
			m = m > 0 ? 1 : 0; /* |value| < 1: ceil is 1 or 0 */
		} else {
			i128 r = m % div;
			m /= div;
			if (r > 0)
				m++;
		}
	}
	if (m > INT64_MAX || m < INT64_MIN) {
		*ok = 0;
		return -1;
	}
	return (int64_t)m;
}

int64_t quantity_value(const struct quantity *q)
{
	int ok;
	return scaled_ceil(q, 0, &ok);
}

int64_t quantity_milli_value(const struct quantity *q)
{
	int ok;
	int64_t v = scaled_ceil(q, 3, &ok);
	if (!ok)
		return q->mantissa < 0 ? INT64_MIN : INT64_MAX;
	return v;
}

/* ---- canonical form (Quantity.String) --------------------------------------- */

static const char *dec_suffix(int e)
{
	switch (e) {
	case -9: return "n";
	case -6: return "u";
	case -3: return "m";
	case 0: return "";
	case 3: return "k";
	case 6: return "M";
	case 9: return "G";
	case 12: return "T";
	case 15: return "P";
	case 18: return "E";
	}
	return NULL;
}

char *quantity_format(const struct quantity *q)
{
	struct strbuf sb = STRBUF_INIT;
	i128 m;
	int e, fmt = q->format;

	normalize(q, &m, &e);
	if (m == 0)
		return xstrdup("0");

	if (fmt == QFMT_BINARY_SI) {
		u128 mag = uabs128(m);
		/* |value| < 1024, or not an integer: shown as a decimal */
		if ((long)ndigits(mag) + e > 38) {
			fmt = QFMT_DECIMAL_SI; /* hand-built, beyond int64 */
		} else if (e < 0 || (long)ndigits(mag) + e <= 4) {
			i128 v = m;
			for (int i = 0; i < e; i++)
				v *= 10;
			if (e < 0 || uabs128(v) < 1024)
				fmt = QFMT_DECIMAL_SI;
		}
		if (fmt == QFMT_BINARY_SI) {
			i128 v = m;
			int k = 0;
			static const char *const bin[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
			for (int i = 0; i < e; i++)
				v *= 10; /* fits: binary values are capped at 2^63-1 */
			while (k < 6 && v % 1024 == 0) {
				v /= 1024;
				k++;
			}
			append_i128(&sb, v);
			strbuf_addstr(&sb, bin[k]);
			return strbuf_detach(&sb);
		}
	}

	/* make the exponent a multiple of 3 */
	switch (((e % 3) + 3) % 3) {
	case 1:
		m *= 10;
		e -= 1;
		break;
	case 2:
		m *= 100;
		e -= 2;
		break;
	}
	append_i128(&sb, m);
	const char *suf = fmt == QFMT_DECIMAL_SI ? dec_suffix(e) : NULL;
	if (suf)
		strbuf_addstr(&sb, suf);
	else if (e != 0)
		strbuf_addf(&sb, "e%d", e);
	return strbuf_detach(&sb);
}
