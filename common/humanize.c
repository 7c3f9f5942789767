/* Human-readable times and sizes, as kubectl prints them. */
#include "eidf/humanize.h"
#include "eidf/util.h"

#include <stdlib.h>
#include <string.h>

/* k8s.io/apimachinery/pkg/util/duration.HumanDuration, rule for rule:
 * about 2-3 significant figures, "<invalid>" for clocks more than 1 s
 * behind. */
char *human_duration(int64_t seconds)
{
	int64_t s = seconds;

	if (s < -1)
		return xstrdup("<invalid>");
	if (s < 0)
		return xstrdup("0s");
	if (s < 60 * 2)
		return xasprintf("%llds", (long long)s);

	int64_t minutes = s / 60;
	if (minutes < 10) {
		int64_t rs = s % 60;
		if (rs == 0)
			return xasprintf("%lldm", (long long)minutes);
		return xasprintf("%lldm%llds", (long long)minutes, (long long)rs);
	}
	if (minutes < 60 * 3)
		return xasprintf("%lldm", (long long)minutes);

	int64_t hours = s / 3600;
	if (hours < 8) {
		int64_t m = minutes % 60;
		if (m == 0)
			return xasprintf("%lldh", (long long)hours);
		return xasprintf("%lldh%lldm", (long long)hours, (long long)m);
	}
	if (hours < 48)
		return xasprintf("%lldh", (long long)hours);
	if (hours < 24 * 8) {
		int64_t h = hours % 24;
		if (h == 0)
			return xasprintf("%lldd", (long long)(hours / 24));
		return xasprintf("%lldd%lldh", (long long)(hours / 24), (long long)h);
	}
	if (hours < 24 * 365 * 2)
		return xasprintf("%lldd", (long long)(hours / 24));
	if (hours < 24 * 365 * 8) {
		int64_t dy = (hours / 24) % 365;
		if (dy == 0)
			return xasprintf("%lldy", (long long)(hours / 24 / 365));
		return xasprintf("%lldy%lldd", (long long)(hours / 24 / 365), (long long)dy);
	}
	return xasprintf("%lldy", (long long)(hours / 24 / 365));
}

char *human_age(time_t now, time_t then)
{
	/* kubectl's translateTimestampSince: a missing (zero) timestamp */
	if (then == 0)
		return xstrdup("<unknown>");
	return human_duration((int64_t)now - (int64_t)then);
}

char *human_bytes(uint64_t bytes)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };

	if (bytes < 1024)
		return xasprintf("%lluB", (unsigned long long)bytes);

	size_t u = 0;
	double v = (double)bytes / 1024.0;
	while (u + 1 < EIDF_ARRAY_SIZE(units) && v >= 1024.0) {
		v /= 1024.0;
		u++;
	}
	/* one decimal below 10 (without ".0"), whole numbers above; never
	 * print "1024KiB" because of rounding */
	if (v < 9.95) {
		char *s = xasprintf("%.1f", v);
		size_t n = strlen(s);
		if (n > 2 && !strcmp(s + n - 2, ".0"))
			s[n - 2] = '\0';
		char *r = xasprintf("%s%s", s, units[u]);
		free(s);
		return r;
	}
	if (v >= 1023.5 && u + 1 < EIDF_ARRAY_SIZE(units))
		return xasprintf("1%s", units[u + 1]);
	return xasprintf("%.0f%s", v, units[u]);
}

static int take_digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int days_in_month(int year, int month)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
		return 29;
	return d[month - 1];
}

int parse_rfc3339(const char *s, time_t *out)
{
	const char *p = s;
	int Y, M, D, h, m, sec, oh = 0, om = 0, sign = 0;
	struct tm tm;

	if (!s)
		return -1;
	if (take_digits(&p, 4, &Y) || *p++ != '-' || take_digits(&p, 2, &M) || *p++ != '-' ||
	    take_digits(&p, 2, &D))
		return -1;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (take_digits(&p, 2, &h) || *p++ != ':' || take_digits(&p, 2, &m) || *p++ != ':' ||
	    take_digits(&p, 2, &sec))
		return -1;
	if (*p == '.' || *p == ',') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++; /* fractional seconds are dropped (kubectl shows whole seconds) */
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (take_digits(&p, 2, &oh) || *p++ != ':' || take_digits(&p, 2, &om))
			return -1;
		if (oh > 23 || om > 59)
			return -1;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	if (M < 1 || M > 12 || D < 1 || D > days_in_month(Y, M) || h > 23 || m > 59 || sec > 59)
		return -1;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	time_t t = timegm(&tm);
	if (t == (time_t)-1 && !(Y == 1969 && M == 12 && D == 31))
		return -1;
	t -= (time_t)sign * (oh * 3600 + om * 60);
	*out = t;
	return 0;
}

void format_rfc3339(time_t t, char buf[32])
{
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		strcpy(buf, "1970-01-01T00:00:00Z");
}
