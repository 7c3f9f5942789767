/* HTTP request headers built from configuration (tokens, impersonation,
 * user-supplied `Name: value` pairs).  Every value is checked here before it
 * reaches the wire, with Go's net/http rule (httpguts.ValidHeaderFieldValue):
 * no control character other than horizontal tab (so no CR, LF or NUL),
 * because a CR/LF in a value would let it add headers of its own. */
#ifndef EIDF_HTTP_HEADER_H
#define EIDF_HTTP_HEADER_H

#include <stddef.h>
#include <curl/curl.h>
#include "eidf/util.h"

/* A header name is an RFC 7230 token (letters, digits, !#$%&'*+-.^_`|~). */
int http_header_name_valid(const char *name, size_t len);
/* 1 when value may be sent (no CTL except tab). */
int http_header_value_valid(const char *value);

/* 0, or -1 with the error
 *   invalid header field value for "NAME": SOURCE contains a control
 *   character (CR, LF, NUL...); remove it
 * SOURCE names where the value came from ("the token from --token"), never
 * the value itself (it may be a secret). */
int http_header_check(const char *name, const char *value, const char *source);

/* For a value read as LEN bytes (a token file) before it is trimmed: a NUL
 * byte anywhere in it, which would end the C string early and so hide from
 * http_header_check(), is refused with the same error.  The trimmed value
 * still goes through http_header_check() when it is sent. */
int http_header_check_bytes(const char *name, const char *value, size_t len, const char *source);

/* Check, then append "NAME: VALUE" to *list (curl_slist_append), without
 * the value's leading and trailing blanks (Go's textproto.TrimString).  On a bad
 * value nothing is appended and -1 is returned with the error above. */
int http_header_append(struct curl_slist **list, const char *name, const char *value,
		       const char *source);

/* client-go's headerKeyEscape for Impersonate-Extra-<key>: every byte that is
 * not a token character, and '%', becomes %XX (upper-case hex). */
void http_header_escape_key(struct strbuf *sb, const char *key);

/* Go's textproto.CanonicalMIMEHeaderKey: "impersonate-extra-foo" ->
 * "Impersonate-Extra-Foo"; returned unchanged when it holds a non-token byte. */
void http_header_canonical(char *name);

#endif
