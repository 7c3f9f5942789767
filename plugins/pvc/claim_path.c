#include "claim_path.h"

#include <string.h>

#include "eidf/util.h"

enum claim_path_fault claim_path_clean(const char *in, char **out)
{
	*out = NULL;
	if (strchr(in, '\n'))
		return CLAIM_PATH_NEWLINE;
	struct strbuf sb = STRBUF_INIT;
	const char *p = in;
	while (*p) {
		while (*p == '/')
			p++;
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);
		if (n == 2 && !strncmp(p, "..", 2)) {
			strbuf_release(&sb);
			return CLAIM_PATH_DOTDOT;
		}
		if (n && !(n == 1 && *p == '.')) {
			if (sb.len)
				strbuf_addch(&sb, '/');
			strbuf_add(&sb, p, n);
		}
		p = end;
	}
	*out = strbuf_detach(&sb);
	return CLAIM_PATH_OK;
}
