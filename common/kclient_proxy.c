/* Proxy selection without a kubeconfig proxy-url, exactly as kubectl does
 * it: Go's http.ProxyFromEnvironment (golang.org/x/net/http/httpproxy, Go
 * 1.23), behind client-go's NO_PROXY CIDR check when client-go builds a
 * transport of its own (k8s.io/apimachinery/pkg/util/net
 * NewProxierWithNoProxyCIDR):
 *  - client-go's check first, only when it builds its own transport (any TLS
 *    setting: a CA, a client certificate, insecure-skip-tls-verify,
 *    tls-server-name; or an exec plugin; else it uses Go's DefaultTransport
 *    without it): a NO_PROXY entry, as it is (not trimmed), that parses as a
 *    CIDR the old, sloppy way (IPv4 parts with leading zeros) and holds the
 *    server's IP means no proxy;
 *  - https servers use HTTPS_PROXY (else https_proxy), http servers
 *    HTTP_PROXY (else http_proxy); ALL_PROXY is never read (libcurl would: it
 *    is switched off).  HTTP_PROXY with a non-empty REQUEST_METHOD (CGI) is
 *    an error, whatever NO_PROXY says;
 *  - "localhost" (as written: LOCALHOST is not it) and loopback addresses
 *    never go through a proxy;
 *  - NO_PROXY (else no_proxy): comma-separated, each entry trimmed of blanks
 *    as strings.TrimSpace does (Unicode ones too) and lower-cased; "*"
 *    matches everything; an IP or CIDR matches IP hosts only (an IPv4-mapped
 *    IPv6 address is its IPv4 address; a CIDR is net.IPNet's Contains); a
 *    name matches itself and its subdomains ("*.x" and ".x": subdomains only)
 *    and never an IP host; an optional :port must equal the server's port (an
 *    empty one matches any);
 *  - the host is the server URL's, never tls-server-name;
 *  - a proxy value without scheme://host is read as http://VALUE.
 * Not done as Go: non-ASCII (IDN) names in NO_PROXY are compared as given,
 * not in their punycode form (docs/configuration.md). */
#include "kclient_internal.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *env_any(const char *a, const char *b)
{
	const char *v = getenv(a);
	if (v && *v)
		return v;
	v = getenv(b);
	return v && *v ? v : NULL;
}

/* An address as Go's net.IP compares it: 4 bytes for IPv4 and IPv4-mapped
 * IPv6 (To4), else 16. */
struct ip {
	int len;                       /* 4, 16, 0: not an IP */
	unsigned char b[16];
};

static void ip_from16(struct ip *ip, const unsigned char b16[16])
{
	static const unsigned char v4in6[12] = { [10] = 0xff, [11] = 0xff };
	memset(ip, 0, sizeof(*ip));
	if (!memcmp(b16, v4in6, 12)) {
		ip->len = 4;
		memcpy(ip->b, b16 + 12, 4);
	} else {
		ip->len = 16;
		memcpy(ip->b, b16, 16);
	}
}

/* Go 1.16's parseIPv4, which k8s.io/utils/net's ParseIPSloppy keeps: each
 * part decimal (leading zeros allowed), at most 255. */
static int parse_v4_sloppy(const char *s, unsigned char out[4])
{
	for (int i = 0; i < 4; i++) {
		if (i > 0 && *s++ != '.')
			return 0;
		if (*s < '0' || *s > '9')
			return 0;
		long n = 0;
		while (*s >= '0' && *s <= '9') {
			n = n * 10 + (*s++ - '0');
			if (n > 255)
				return 0;
		}
		out[i] = (unsigned char)n;
	}
	return *s == '\0';
}

/* s as an IP: strict (net.ParseIP / netip.ParseAddr: no leading zeros, no
 * zone) or sloppy.  *v4 tells whether it was written as IPv4 (CIDR masks are
 * 32 bits then, else 128).  0 when it is not one. */
static int parse_ip(const char *s, int sloppy, struct ip *ip, int *v4)
{
	unsigned char b[16] = { [10] = 0xff, [11] = 0xff };
	int ok4 = sloppy ? parse_v4_sloppy(s, b + 12) : inet_pton(AF_INET, s, b + 12) == 1;
	if (v4)
		*v4 = ok4;
	if (!ok4 && inet_pton(AF_INET6, s, b) != 1) {
		/* sloppy: an embedded IPv4 part with leading zeros */
		const char *dot = sloppy ? strchr(s, '.') : NULL, *colon = strrchr(s, ':');
		unsigned char q[4];
		if (!dot || !colon || colon > dot || !parse_v4_sloppy(colon + 1, q))
			goto no;
		char *canon = xasprintf("%.*s%u.%u.%u.%u", (int)(colon + 1 - s), s, q[0], q[1], q[2], q[3]);
		int r = inet_pton(AF_INET6, canon, b);
		free(canon);
		if (r != 1)
			goto no;
	}
	ip_from16(ip, b);
	return 1;
no:
	memset(ip, 0, sizeof(*ip));
	return 0;
}

static int is_loopback(const struct ip *ip)
{
	static const unsigned char v6[16] = { [15] = 1 };
	return (ip->len == 4 && ip->b[0] == 127) || (ip->len == 16 && !memcmp(ip->b, v6, 16));
}

/* A CIDR entry as net.ParseCIDR makes it (an IPNet), and IPNet.Contains. */
struct cidr {
	struct ip net;                 /* masked; IPv4(-mapped): 4 bytes */
	unsigned char mask[16];        /* as long as net */
};

static int parse_cidr(const char *p, int sloppy, struct cidr *c)
{
	const char *slash = strchr(p, '/');
	struct ip a;
	int v4, bits = 0;

	if (!slash || !slash[1])
		return 0;
	char *addr = xstrndup(p, (size_t)(slash - p));
	int ok = parse_ip(addr, sloppy, &a, &v4);
	free(addr);
	if (!ok)
		return 0;
	for (const char *d = slash + 1; *d; d++) {   /* dtoi: digits only */
		if (*d < '0' || *d > '9')
			return 0;
		bits = bits * 10 + (*d - '0');
		if (bits > 128)
			return 0;
	}
	int n = v4 ? 32 : 128;
	if (bits > n)
		return 0;
	/* the mask is 4 bytes for an IPv4 entry, 16 otherwise; the network is
	 * the masked address, 4 bytes when that is IPv4-mapped (To4), and then
	 * the mask's last 4 bytes apply */
	unsigned char m[16] = { 0 }, b16[16];
	for (int i = 0; i < bits; i++)
		m[i / 8] |= (unsigned char)(0x80 >> (i % 8));
	if (v4) {
		memmove(m + 12, m, 4);
		memset(m, 0xff, 12);
	}
	memset(b16, 0, sizeof(b16));
	if (a.len == 4) {
		b16[10] = b16[11] = 0xff;
		memcpy(b16 + 12, a.b, 4);
	} else {
		memcpy(b16, a.b, 16);
	}
	for (int i = 0; i < 16; i++)
		b16[i] &= m[i];
	ip_from16(&c->net, b16);
	memcpy(c->mask, c->net.len == 4 ? m + 12 : m, (size_t)c->net.len);
	return 1;
}

static int cidr_contains(const struct cidr *c, const struct ip *ip)
{
	if (!ip->len || ip->len != c->net.len)
		return 0;
	for (int i = 0; i < ip->len; i++)
		if ((ip->b[i] & c->mask[i]) != c->net.b[i])
			return 0;
	return 1;
}

/* strings.TrimSpace: ASCII blanks and, in UTF-8, Unicode's White_Space
 * (U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F,
 * U+3000).  The length of the blank at s, 0 if none. */
static size_t blank_at(const unsigned char *s)
{
	if (*s == ' ' || (*s >= '\t' && *s <= '\r'))
		return 1;
	if (s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
		return 2;
	if ((s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80) ||
	    (s[0] == 0xe2 && s[1] == 0x80 && (s[2] <= 0x8a || s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf) &&
	     s[2] >= 0x80) ||
	    (s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f) || (s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80))
		return 3;
	return 0;
}

static char *go_trim_lower(const char *in)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n;
	while ((n = blank_at(s)))
		s += n;
	char *out = xstrdup((const char *)s);
	/* trailing blanks: the last blank run that reaches the end */
	size_t len = strlen(out), cut = len;
	for (size_t i = 0; i < len;) {
		n = blank_at((unsigned char *)out + i);
		if (!n) {
			cut = len;
			i++;
			continue;
		}
		if (cut == len)
			cut = i;
		i += n;
	}
	out[cut] = '\0';
	for (char *c = out; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return out;
}

/* One NO_PROXY entry (trimmed, lower-cased) against host (lower-case, no
 * brackets), port and the host's IP form. */
static int entry_matches(char *p, const char *host, const char *port, const struct ip *hip)
{
	char *pport = NULL, *phost = p;
	struct cidr c;
	struct ip pip;

	if (parse_cidr(p, 0, &c))
		return cidr_contains(&c, hip);
	/* host:port or [host]:port (net.SplitHostPort: brackets removed) */
	if (p[0] == '[') {
		char *rb = strchr(p, ']');
		if (rb && rb[1] == ':' && !strchr(rb + 2, ':') && !strchr(p + 1, '[') && !strchr(rb + 1, ']')) {
			*rb = '\0';
			phost = p + 1;
			pport = rb + 2;
		}
	} else {
		char *colon = strchr(p, ':');
		if (colon && !strchr(colon + 1, ':') && !strpbrk(p, "[]")) {
			*colon = '\0';
			pport = colon + 1;
		}
	}
	if (pport && !*phost)
		return 0;              /* ":80": malformed, ignored */
	if (pport && !*pport)
		pport = NULL;          /* "host:": any port */
	if (parse_ip(phost, 0, &pip, NULL))
		return hip->len && pip.len == hip->len && !memcmp(pip.b, hip->b, (size_t)pip.len) &&
		       (!pport || !strcmp(pport, port));
	if (!*phost || hip->len)
		return 0;              /* names never match IP hosts */
	if (!strncmp(phost, "*.", 2))
		phost++;
	int match_host = phost[0] != '.';
	size_t hl = strlen(host), pl = strlen(phost);
	int hit;
	if (match_host)
		hit = !strcmp(host, phost) || (hl > pl && host[hl - pl - 1] == '.' &&
					       !strcmp(host + hl - pl, phost));
	else
		hit = hl >= pl && !strcmp(host + hl - pl, phost);
	return hit && (!pport || !strcmp(pport, port));
}

static const char *no_proxy_env(void)
{
	const char *no = env_any("NO_PROXY", "no_proxy");
	return no ? no : "";
}

/* client-go's own check: NO_PROXY entries, untrimmed, that parse (sloppily)
 * as CIDRs, against the server's IP parsed sloppily. */
static int client_go_cidr_exempt(const char *host)
{
	char *list = xstrdup(no_proxy_env()), *save = NULL;
	struct ip hip;
	struct cidr c;
	int hit = 0;

	if (parse_ip(host, 1, &hip, NULL))
		for (char *tok = strtok_r(list, ",", &save); tok && !hit; tok = strtok_r(NULL, ",", &save))
			hit = parse_cidr(tok, 1, &c) && cidr_contains(&c, &hip);
	free(list);
	return hit;
}

static int use_proxy(const char *host_in, const char *port)
{
	char *host = xstrdup(host_in), *list, *save = NULL;
	struct ip hip;
	int use = 1;

	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	/* (compared as written, before lower-casing, as Go does) */
	if (!strcmp(host, "localhost") || (parse_ip(host, 0, &hip, NULL) && is_loopback(&hip))) {
		free(host);
		return 0;
	}
	for (char *c = host; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	list = xstrdup(no_proxy_env());
	/* (strtok_r would merge empty entries: harmless, they are skipped) */
	for (char *tok = strtok_r(list, ",", &save); tok && use; tok = strtok_r(NULL, ",", &save)) {
		char *e = go_trim_lower(tok);
		if (*e && (!strcmp(e, "*") || entry_matches(e, host, port, &hip)))
			use = 0;
		free(e);
	}
	free(list);
	free(host);
	return use;
}

int kc_proxy_from_environment(int https, const char *host, const char *port, int own_transport, char **out)
{
	const char *p;

	*out = NULL;
	if (own_transport) {
		char *h = xstrdup(host);
		if (h[0] == '[') {
			memmove(h, h + 1, strlen(h));
			h[strcspn(h, "]")] = '\0';
		}
		int exempt = client_go_cidr_exempt(h);
		free(h);
		if (exempt)
			return 0;
	}
	if (https) {
		p = env_any("HTTPS_PROXY", "https_proxy");
	} else {
		p = env_any("HTTP_PROXY", "http_proxy");
		const char *cgi = getenv("REQUEST_METHOD");
		if (p && cgi && *cgi) {
			/* Go's words; kubectl fails the same way */
			eidf_set_error("refusing to use HTTP_PROXY value in CGI environment (REQUEST_METHOD is set); "
				       "see golang.org/s/cgihttpproxy");
			return -1;
		}
	}
	if (!p || !use_proxy(host, port))
		return 0;
	/* url.Parse(p) needs a scheme and a host, else "http://" + p */
	const char *sep = strstr(p, "://");
	if (!sep || sep == p || !sep[3] || sep[3] == '/')
		*out = xasprintf("http://%s", p);
	else
		*out = xstrdup(p);
	return 0;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* url.PathUnescape for userinfo: %XX decoded, a bad escape an error */
static char *unescape(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	for (; *s; s++) {
		if (*s != '%') {
			strbuf_addch(&sb, *s);
			continue;
		}
		int h = hexval(s[1]), l = h < 0 ? -1 : hexval(s[2]);
		if (h < 0 || l < 0 || (h == 0 && l == 0)) {
			/* (a NUL would end the C string: no proxy password holds one) */
			strbuf_release(&sb);
			return NULL;
		}
		strbuf_addch(&sb, (char)(h * 16 + l));
		s += 2;
	}
	return strbuf_detach(&sb);
}

int kc_proxy_apply(CURL *c, const char *proxy, const char *what)
{
	CURLU *u;
	char *user = NULL, *pass = NULL, *duser = NULL, *dpass = NULL, *bare = NULL;
	int ret = -1;

	curl_easy_setopt(c, CURLOPT_PROXYUSERNAME, NULL);
	curl_easy_setopt(c, CURLOPT_PROXYPASSWORD, NULL);
	if (!proxy || !*proxy) {
		curl_easy_setopt(c, CURLOPT_PROXY, "");
		return 0;
	}
	u = curl_url();
	if (!u || curl_url_set(u, CURLUPART_URL, proxy, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
		eidf_set_error("%s is not a valid URL; use http://HOST:PORT", what);
		goto out;
	}
	curl_url_get(u, CURLUPART_USER, &user, 0);
	curl_url_get(u, CURLUPART_PASSWORD, &pass, 0);
	if ((user && !(duser = unescape(user))) || (pass && !(dpass = unescape(pass)))) {
		eidf_set_error("%s has a user name or password with an invalid %%-escape; fix it", what);
		goto out;
	}
	curl_url_set(u, CURLUPART_USER, NULL, 0);
	curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
	if (curl_url_get(u, CURLUPART_URL, &bare, 0) != CURLUE_OK) {
		eidf_set_error("%s is not a valid URL; use http://HOST:PORT", what);
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_PROXY, bare);
	if (duser) {
		curl_easy_setopt(c, CURLOPT_PROXYUSERNAME, duser);
		curl_easy_setopt(c, CURLOPT_PROXYPASSWORD, dpass ? dpass : "");
	}
	ret = 0;
out:
	if (dpass)
		memset(dpass, 0, strlen(dpass));
	if (pass)
		memset(pass, 0, strlen(pass));
	free(duser);
	free(dpass);
	curl_free(user);
	curl_free(pass);
	curl_free(bare);
	curl_url_cleanup(u);
	return ret;
}
