/* Kubernetes Status bodies -> kubectl's error lines.
 *
 * Mirrors client-go: a Status body is printed as "Error from server (Reason):
 * message" (kubectl's StandardErrorMessage); anything else gets the generic
 * message of apimachinery's NewGenericServerResponse for the HTTP code. */
#include "eidf/kstatus.h"

#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "eidf/util.h"

/* client-go caps the text of a non-Status body it quotes. */
#define MAX_UNSTRUCTURED_TEXT 2048

static void add_go_quoted(struct strbuf *sb, const char *s, size_t n)
{
	strbuf_addch(sb, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"': strbuf_addstr(sb, "\\\""); break;
		case '\\': strbuf_addstr(sb, "\\\\"); break;
		case '\n': strbuf_addstr(sb, "\\n"); break;
		case '\r': strbuf_addstr(sb, "\\r"); break;
		case '\t': strbuf_addstr(sb, "\\t"); break;
		default:
			if (c < 0x20 || c == 0x7f)
				strbuf_addf(sb, "\\x%02x", c);
			else
				strbuf_addch(sb, c);
		}
	}
	strbuf_addch(sb, '"');
}

static int looks_textual(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0')
			return 0;
	return 1;
}

/* Trimmed text of a non-Status body, or "unknown" like client-go. */
static char *server_text(const char *body, size_t len)
{
	if (!body || !len || !looks_textual(body, len))
		return xstrdup("unknown");
	if (len > MAX_UNSTRUCTURED_TEXT)
		len = MAX_UNSTRUCTURED_TEXT;
	while (len && strchr(" \t\r\n", body[0])) {
		body++;
		len--;
	}
	while (len && strchr(" \t\r\n", body[len - 1]))
		len--;
	return len ? xstrndup(body, len) : xstrdup("unknown");
}

/* apimachinery errors.NewGenericServerResponse, without the verb/resource suffix. */
static void generic_response(long code, const char *body, size_t len,
			     const char **reason, struct strbuf *msg)
{
	char *text = server_text(body, len);

	*reason = "";
	switch (code) {
	case 409:
		*reason = "Conflict";
		strbuf_addstr(msg, "the server reported a conflict");
		break;
	case 404:
		*reason = "NotFound";
		strbuf_addstr(msg, "the server could not find the requested resource");
		break;
	case 400:
		*reason = "BadRequest";
		strbuf_addstr(msg, "the server rejected our request for an unknown reason");
		break;
	case 401:
		*reason = "Unauthorized";
		strbuf_addstr(msg, "the server has asked for the client to provide credentials");
		break;
	case 403:
		*reason = "Forbidden";
		strbuf_addstr(msg, text);
		break;
	case 405:
		*reason = "MethodNotAllowed";
		strbuf_addstr(msg, "the server does not allow this method on the requested resource");
		break;
	case 406:
		*reason = "NotAcceptable";
		if (!strcmp(text, "unknown"))
			strbuf_addstr(msg, "the server was unable to respond with a content type that the client supports");
		else
			strbuf_addstr(msg, text);
		break;
	case 415:
		*reason = "UnsupportedMediaType";
		strbuf_addstr(msg, text);
		break;
	case 422:
		*reason = "Invalid";
		strbuf_addstr(msg, "the server rejected our request due to an error in our request");
		break;
	case 429:
		*reason = "TooManyRequests";
		strbuf_addstr(msg, "the server has received too many requests and has asked us to try again later");
		break;
	case 503:
		*reason = "ServiceUnavailable";
		strbuf_addstr(msg, "the server is currently unable to handle the request");
		break;
	case 504:
		*reason = "Timeout";
		strbuf_addstr(msg, "the server was unable to return a response in the time allotted, "
			      "but may still be processing the request");
		break;
	default:
		if (code >= 500) {
			*reason = "InternalError";
			strbuf_addstr(msg, "an error on the server (");
			add_go_quoted(msg, text, strlen(text));
			strbuf_addstr(msg, ") has prevented the request from succeeding");
		} else {
			strbuf_addf(msg, "the server responded with the status code %ld but did not "
				    "return more information", code);
		}
	}
	free(text);
}

char *kstatus_message(long http_status, const char *body, size_t len, char **reason_out)
{
	struct strbuf out = STRBUF_INIT, generic = STRBUF_INIT;
	cJSON *st = NULL;
	const char *reason = "", *message = NULL;

	if (reason_out)
		*reason_out = NULL;
	if (body && len)
		st = cJSON_ParseWithLength(body, len);
	if (st && cJSON_IsObject(st)) {
		const cJSON *kind = cJSON_GetObjectItemCaseSensitive(st, "kind");
		if (cJSON_IsString(kind) && !strcmp(kind->valuestring, "Status")) {
			const cJSON *r = cJSON_GetObjectItemCaseSensitive(st, "reason");
			const cJSON *m = cJSON_GetObjectItemCaseSensitive(st, "message");
			const char *dummy;
			reason = cJSON_IsString(r) ? r->valuestring : "";
			if (cJSON_IsString(m) && *m->valuestring) {
				message = m->valuestring;
			} else {
				generic_response(http_status, NULL, 0, &dummy, &generic);
				message = generic.buf;
			}
		}
	}
	if (!message) {
		generic_response(http_status, body, len, &reason, &generic);
		message = generic.buf;
	}

	if (!strcmp(reason, "Unauthorized"))
		strbuf_addf(&out, "You must be logged in to the server (%s)", message);
	else if (*reason)
		strbuf_addf(&out, "Error from server (%s): %s", reason, message);
	else
		strbuf_addf(&out, "Error from server: %s", message);
	/* one line, like every error of the library */
	for (size_t i = 0; i < out.len; i++)
		if (out.buf[i] == '\n' || out.buf[i] == '\r')
			out.buf[i] = ' ';

	if (reason_out && *reason)
		*reason_out = xstrdup(reason);
	cJSON_Delete(st);
	strbuf_release(&generic);
	return strbuf_detach(&out);
}
