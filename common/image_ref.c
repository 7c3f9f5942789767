/* Image reference grammar of github.com/distribution/reference. */
#include "eidf/image_ref.h"
#include "eidf/util.h"

#include <ctype.h>
#include <string.h>

static int lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)* over s[0..n) */
static int path_component_ok(const char *s, size_t n)
{
	size_t i = 0;
	if (!n || !lower_alnum((unsigned char)s[0]) || !lower_alnum((unsigned char)s[n - 1]))
		return 0;
	while (i < n) {
		if (lower_alnum((unsigned char)s[i])) {
			i++;
			continue;
		}
		if (s[i] == '.' || (s[i] == '_' && s[i + 1] != '_'))
			i++;
		else if (s[i] == '_' && s[i + 1] == '_')
			i += 2;
		else if (s[i] == '-')
			while (i < n && s[i] == '-')
				i++;
		else
			return 0;
		if (i >= n || !lower_alnum((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* domain: host[:port], host made of [A-Za-z0-9-] labels separated by dots */
static int domain_ok(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t hl = colon ? (size_t)(colon - s) : n;
	size_t label = 0;

	if (!hl)
		return 0;
	for (size_t i = 0; i < hl; i++) {
		int c = (unsigned char)s[i];
		if (c == '.') {
			if (!label || s[i - 1] == '-')
				return 0;
			label = 0;
		} else if (isalnum(c) || (c == '-' && label)) {
			label++;
		} else {
			return 0;
		}
	}
	if (!label || s[hl - 1] == '-')
		return 0;
	if (colon) {
		size_t pl = n - hl - 1;
		if (!pl || pl > 5)
			return 0;
		for (size_t i = hl + 1; i < n; i++)
			if (!isdigit((unsigned char)s[i]))
				return 0;
	}
	return 1;
}

int image_ref_check(const char *ref)
{
	const char *at, *name_end, *slash, *colon;
	size_t n;

	if (!ref || !*ref) {
		eidf_set_error("the image reference is empty");
		return -1;
	}
	for (const char *p = ref; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || strchr("!\"#$%&'()*,;<>?[\\]^`{|}", *p)) {
			if (*p == ' ')
				eidf_set_error("\"%s\" is not a valid image reference: it contains a space", ref);
			else if ((unsigned char)*p < ' ' || *p == 0x7f)
				eidf_set_error("\"%s\" is not a valid image reference: it contains a control character",
					       ref);
			else
				eidf_set_error("\"%s\" is not a valid image reference: '%c' is not allowed", ref, *p);
			return -1;
		}
	at = strchr(ref, '@');
	name_end = at ? at : ref + strlen(ref);
	if (at) {
		/* digest: algorithm:hex (at least 32 hex digits) */
		const char *d = at + 1, *c = strchr(d, ':');
		size_t hex = c ? strlen(c + 1) : 0;
		int ok = c && c > d && hex >= 32 && strspn(c + 1, "0123456789abcdef") == hex;
		for (const char *p = d; ok && p < c; p++)
			ok = lower_alnum((unsigned char)*p) || strchr("+._-", *p);
		if (!ok) {
			eidf_set_error("\"%s\" is not a valid image reference: the digest after '@' must be "
				       "like sha256:<64 hex digits>", ref);
			return -1;
		}
	}
	/* a tag is the part after the last ':' that has no '/' after it */
	slash = NULL;
	for (const char *p = ref; p < name_end; p++)
		if (*p == '/')
			slash = p;
	colon = NULL;
	for (const char *p = slash ? slash : ref; p < name_end; p++)
		if (*p == ':')
			colon = p;
	if (colon) {
		const char *t = colon + 1;
		size_t tl = (size_t)(name_end - t);
		int ok = tl && tl <= 128 && (isalnum((unsigned char)*t) || *t == '_');
		for (size_t i = 0; ok && i < tl; i++)
			ok = isalnum((unsigned char)t[i]) || strchr("_.-", t[i]);
		if (!ok) {
			eidf_set_error("\"%s\" is not a valid image reference: the tag \"%.*s\" must be letters, "
				       "digits, '_', '.' or '-' (at most 128, not starting with '.' or '-')",
				       ref, (int)tl, t);
			return -1;
		}
		name_end = colon;
	}
	n = (size_t)(name_end - ref);
	if (n > 255) {
		eidf_set_error("\"%s\" is not a valid image reference: the name is longer than 255 characters",
			       ref);
		return -1;
	}
	/* the first component is a registry when it looks like a host */
	const char *p = ref;
	const char *first_end = memchr(ref, '/', n);
	if (first_end) {
		size_t fl = (size_t)(first_end - ref);
		int is_domain = memchr(ref, '.', fl) || memchr(ref, ':', fl) ||
				(fl == 9 && !strncmp(ref, "localhost", 9));
		for (size_t i = 0; !is_domain && i < fl; i++)
			is_domain = isupper((unsigned char)ref[i]);
		if (is_domain) {
			if (!domain_ok(ref, fl)) {
				eidf_set_error("\"%s\" is not a valid image reference: \"%.*s\" is not a valid "
					       "registry host[:port]", ref, (int)fl, ref);
				return -1;
			}
			p = first_end + 1;
		}
	}
	while (p <= name_end) {
		const char *e = memchr(p, '/', (size_t)(name_end - p));
		size_t cl = e ? (size_t)(e - p) : (size_t)(name_end - p);
		if (!path_component_ok(p, cl)) {
			eidf_set_error("\"%s\" is not a valid image reference: \"%.*s\" must be lower-case "
				       "letters and digits, separated by '.', '_', '__' or '-'", ref, (int)cl, p);
			return -1;
		}
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}
