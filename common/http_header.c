/* The one place where a value becomes a request header (see
 * eidf/http_header.h): kclient's request headers, user agents, exec plugin
 * tokens, impersonation and user-given `--header` pairs all go through
 * http_header_check(), so no configuration can smuggle a CR/LF into a
 * request. */
#include "eidf/http_header.h"

#include <string.h>

static int is_token_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

int http_header_name_valid(const char *name, size_t len)
{
	if (!len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!is_token_char((unsigned char)name[i]))
			return 0;
	return 1;
}

int http_header_value_valid(const char *value)
{
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return 0;
	return 1;
}

int http_header_check(const char *name, const char *value, const char *source)
{
	if (!http_header_name_valid(name, strlen(name))) {
		eidf_set_error("invalid header field name \"%s\"; use letters, digits and -", name);
		return -1;
	}
	if (!value || !http_header_value_valid(value)) {
		eidf_set_error("invalid header field value for \"%s\": %s contains a control "
			       "character (CR, LF, NUL...); remove it", name, source);
		return -1;
	}
	return 0;
}

int http_header_check_bytes(const char *name, const char *value, size_t len, const char *source)
{
	if (memchr(value, '\0', len)) {
		eidf_set_error("invalid header field value for \"%s\": %s contains a control "
			       "character (CR, LF, NUL...); remove it", name, source);
		return -1;
	}
	return 0;
}

int http_header_append(struct curl_slist **list, const char *name, const char *value,
		       const char *source)
{
	struct strbuf sb = STRBUF_INIT;
	struct curl_slist *n;

	if (http_header_check(name, value, source) < 0)
		return -1;
	/* Go's net/http writes every value through textproto.TrimString:
	 * leading and trailing blanks are not part of it */
	size_t len = strlen(value);
	while (len && (value[len - 1] == ' ' || value[len - 1] == '\t'))
		len--;
	while (len && (*value == ' ' || *value == '\t'))
		value++, len--;
	/* "Name:" alone would make libcurl drop the header: send "Name;" for empty values */
	if (len)
		strbuf_addf(&sb, "%s: %.*s", name, (int)len, value);
	else
		strbuf_addf(&sb, "%s;", name);
	n = curl_slist_append(*list, sb.buf);
	/* the line may hold a token: wipe the scratch copy */
	memset(sb.buf, 0, sb.alloc);
	strbuf_release(&sb);
	if (!n) {
		eidf_set_error("out of memory building the \"%s\" header", name);
		return -1;
	}
	*list = n;
	return 0;
}

void http_header_escape_key(struct strbuf *sb, const char *key)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		if (is_token_char(*p) && *p != '%') {
			strbuf_addch(sb, (char)*p);
		} else {
			strbuf_addch(sb, '%');
			strbuf_addch(sb, hex[*p >> 4]);
			strbuf_addch(sb, hex[*p & 15]);
		}
	}
}

void http_header_canonical(char *name)
{
	int upper = 1;
	if (!http_header_name_valid(name, strlen(name)))
		return;
	for (char *p = name; *p; p++) {
		if (upper && *p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
		else if (!upper && *p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
		upper = *p == '-';
	}
}
