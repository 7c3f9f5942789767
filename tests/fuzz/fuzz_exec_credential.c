/* ExecCredential replies (exec_credential_parse).  Byte 0 picks the apiVersion
 * the kubeconfig asked for; the rest is the plugin's stdout.  Invariants: on
 * success there is a token or a PEM cert+key pair; on failure the result is
 * empty and the error is one line that never quotes the reply (it may hold a
 * token). */
#include "fuzz.h"

#include <string.h>

#include "eidf/exec_credential.h"
#include "eidf/http_header.h"
#include "eidf/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const versions[] = {
		"client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1",
	};
	struct exec_credential cred;
	const char *av;

	if (size < 1 || size > 256 * 1024)
		return 0;
	av = versions[data[0] & 1];
	data++;
	size--;
	if (exec_credential_parse((const char *)data, size, av, &cred) == 0) {
		FUZZ_CHECK(cred.token || (cred.cert_pem && cred.key_pem), "no credential");
		FUZZ_CHECK(!cred.cert_pem == !cred.key_pem, "cert without key");
		/* it becomes a header: never a control character (header injection) */
		FUZZ_CHECK(!cred.token || http_header_value_valid(cred.token), "token with a control character");
		if (cred.token) {
			/* the line kclient would send: no control character at all */
			struct curl_slist *l = NULL;
			char *v = xasprintf("Bearer %s", cred.token);
			FUZZ_CHECK(http_header_append(&l, "Authorization", v, "fuzz") == 0 && l,
				   "valid token refused");
			for (const unsigned char *p = (const unsigned char *)l->data; *p; p++)
				FUZZ_CHECK(*p >= 0x20 ? *p != 0x7f : *p == '\t', "control character on the wire");
			curl_slist_free_all(l);
			free(v);
			/* a \u0000 in the reply would have cut the token short: refused */
			FUZZ_CHECK(!memmem(data, size, "\\u0000", 6) || memmem(data, size, "\\\\u0000", 7),
				   "reply with \\u0000 accepted");
		}
		if (cred.cert_pem)
			FUZZ_CHECK(strlen(cred.cert_pem) == cred.cert_len, "cert length");
		exec_credential_release(&cred);
	} else {
		const char *e = eidf_last_error();
		FUZZ_CHECK(!cred.token && !cred.cert_pem && !cred.key_pem, "partial result on failure");
		FUZZ_CHECK(e && *e && !strchr(e, '\n'), "bad error message: %s", e ? e : "(null)");
		exec_credential_release(&cred);
	}
	return 0;
}
