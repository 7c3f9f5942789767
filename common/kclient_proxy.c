/* Proxy selection without a kubeconfig proxy-url, exactly as Go's
 * http.ProxyFromEnvironment (golang.org/x/net/http/httpproxy), which is what
 * kubectl uses:
 *  - https servers use HTTPS_PROXY (else https_proxy), http servers
 *    HTTP_PROXY (else http_proxy; neither when REQUEST_METHOD is set, CGI);
 *    ALL_PROXY is never read (libcurl would: it is switched off);
 *  - "localhost" and loopback addresses never go through a proxy;
 *  - NO_PROXY (else no_proxy): comma-separated; "*" matches everything; an
 *    IP or CIDR matches IP hosts only; a name matches itself and its
 *    subdomains ("*.x" and ".x": subdomains only); an optional :port must
 *    equal the server's port;
 *  - the host is the server URL's, never tls-server-name;
 *  - a proxy value without scheme://host is read as http://VALUE. */
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

struct ip {
	int family;                    /* AF_INET, AF_INET6, 0: not an IP */
	unsigned char b[16];
};

static void parse_ip(const char *s, struct ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, ip->b) == 1)
		ip->family = AF_INET;
	else if (inet_pton(AF_INET6, s, ip->b) == 1)
		ip->family = AF_INET6;
	/* Go compares an IPv4-mapped IPv6 address equal to its IPv4 form */
	if (ip->family == AF_INET6 && !memcmp(ip->b, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
		memmove(ip->b, ip->b + 12, 4);
		ip->family = AF_INET;
	}
}

static int is_loopback(const struct ip *ip)
{
	static const unsigned char v6[16] = { [15] = 1 };
	return (ip->family == AF_INET && ip->b[0] == 127) ||
	       (ip->family == AF_INET6 && !memcmp(ip->b, v6, 16));
}

static int prefix_match(const struct ip *net, int bits, const struct ip *ip)
{
	int n = net->family == AF_INET ? 32 : 128;
	if (net->family != ip->family || bits < 0 || bits > n)
		return 0;
	for (int i = 0; i < bits; i++) {
		int m = 0x80 >> (i % 8);
		if ((net->b[i / 8] & m) != (ip->b[i / 8] & m))
			return 0;
	}
	return 1;
}

/* One NO_PROXY entry (lower-cased, trimmed) against host (lower-case, no
 * brackets), port and the host's IP form. */
static int entry_matches(char *p, const char *host, const char *port, const struct ip *hip)
{
	char *slash = strchr(p, '/'), *pport = NULL, *phost = p;
	struct ip pip;

	if (slash) {
		/* CIDR: only when it parses as one */
		char *end;
		long bits = strtol(slash + 1, &end, 10);
		*slash = '\0';
		parse_ip(p, &pip);
		if (pip.family && !*end && slash[1])
			return hip->family && prefix_match(&pip, (int)bits, hip);
		*slash = '/';
	}
	/* host:port or [v6]:port (net.SplitHostPort) */
	if (p[0] == '[') {
		char *rb = strchr(p, ']');
		if (rb && rb[1] == ':') {
			*rb = '\0';
			phost = p + 1;
			pport = rb + 2;
		}
	} else {
		char *c = strchr(p, ':');
		if (c && !strchr(c + 1, ':')) {
			*c = '\0';
			pport = c + 1;
		}
	}
	if (pport && !*phost)
		return 0;              /* ":80": malformed, ignored */
	parse_ip(phost, &pip);
	if (pip.family)
		return hip->family && pip.family == hip->family && !memcmp(pip.b, hip->b, 16) &&
		       (!pport || !strcmp(pport, port));
	if (!*phost || hip->family)
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

static int use_proxy(const char *host_in, const char *port)
{
	const char *no = env_any("NO_PROXY", "no_proxy");
	char *host = xstrdup(host_in), *list, *save = NULL;
	struct ip hip;
	int use = 1;

	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	for (char *c = host; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	parse_ip(host, &hip);
	if (!strcmp(host, "localhost") || is_loopback(&hip)) {
		free(host);
		return 0;
	}
	list = xstrdup(no ? no : "");
	for (char *tok = strtok_r(list, ",", &save); tok && use; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		size_t l = strlen(tok);
		while (l && (tok[l - 1] == ' ' || tok[l - 1] == '\t'))
			tok[--l] = '\0';
		for (char *c = tok; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		if (!*tok)
			continue;
		if (!strcmp(tok, "*") || entry_matches(tok, host, port, &hip))
			use = 0;
	}
	free(list);
	free(host);
	return use;
}

char *kc_proxy_from_environment(int https, const char *host, const char *port)
{
	const char *p;

	if (https)
		p = env_any("HTTPS_PROXY", "https_proxy");
	else if (getenv("REQUEST_METHOD"))
		p = NULL;
	else
		p = env_any("HTTP_PROXY", "http_proxy");
	if (!p || !use_proxy(host, port))
		return NULL;
	/* url.Parse(p) needs a scheme and a host, else "http://" + p */
	const char *sep = strstr(p, "://");
	if (!sep || sep == p || !sep[3] || sep[3] == '/')
		return xasprintf("http://%s", p);
	return xstrdup(p);
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
