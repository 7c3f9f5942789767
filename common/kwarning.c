/* Warning: response headers (RFC 7234 section 5.5), as the API server sends
 * them for deprecated APIs, PodSecurity "warn" labels and the like:
 *   Warning: 299 - "would violate PodSecurity \"restricted:latest\": ..."
 * Several may share one header, separated by commas.  Like client-go, only
 * code 299 (miscellaneous persistent warning) is shown, text unquoted. */
#include <ctype.h>
#include <string.h>

#include "kclient_internal.h"

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

int kwarning_parse(const char *value, struct strvec *texts)
{
	const char *p = value;
	int n = 0;

	for (;;) {
		long code;
		struct strbuf text = STRBUF_INIT;

		p = skip_ws(p);
		if (!*p)
			break;
		if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) ||
		    !isdigit((unsigned char)p[2]) || p[3] != ' ')
			return -1;
		code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
		p = skip_ws(p + 4);
		while (*p && *p != ' ' && *p != '\t')   /* warn-agent */
			p++;
		p = skip_ws(p);
		if (*p != '"')
			return -1;
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			strbuf_addch(&text, *p);
		}
		if (*p != '"') {
			strbuf_release(&text);
			return -1;
		}
		p = skip_ws(p + 1);
		if (*p == '"') {                        /* optional warn-date */
			const char *end = strchr(p + 1, '"');
			if (!end) {
				strbuf_release(&text);
				return -1;
			}
			p = skip_ws(end + 1);
		}
		if (code == 299 && text.len) {
			strvec_push_owned(texts, strbuf_detach(&text));
			n++;
		}
		strbuf_release(&text);
		if (*p == ',')
			p++;
		else if (*p)
			return -1;
	}
	return n;
}

/* Print each warning once per process, like kubectl's default handler;
 * control characters in the text are shown escaped, never sent to the
 * terminal as they are. */
void kwarning_print(struct kclient *kc, const char *value)
{
	struct strvec texts = STRVEC_INIT;

	if (kwarning_parse(value, &texts) < 0) {
		klog_printf(kc, 6, "ignoring a malformed Warning header");
	}
	for (size_t i = 0; i < texts.n; i++) {
		struct strbuf line = STRBUF_INIT;
		if (strvec_contains(&kc->warnings_seen, texts.v[i]))
			continue;
		strvec_push(&kc->warnings_seen, texts.v[i]);
		for (const char *c = texts.v[i]; *c; c++) {
			unsigned char ch = (unsigned char)*c;
			if (ch < 0x20 || ch == 0x7f)
				strbuf_addf(&line, "\\x%02x", ch);
			else
				strbuf_addch(&line, (char)ch);
		}
		fprintf(stderr, "Warning: %s\n", line.buf);
		strbuf_release(&line);
	}
	strvec_clear(&texts);
}
