/* Status/error mapping (kstatus_message).  Bytes 0-1: HTTP status; the rest
 * is the response body.  Invariants: always a non-empty, one-line message
 * starting like kubectl's; reason_out equals Status.reason when set. */
#include "fuzz.h"

#include <string.h>

#include "eidf/kstatus.h"
#include "eidf/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	long status;
	char *msg, *reason = NULL;
	int want_reason;

	if (size < 2 || size > 256 * 1024)
		return 0;
	/* mostly real codes, sometimes anything */
	status = (long)(data[0] | data[1] << 8);
	if (!(data[1] & 0x80))
		status = 100 + status % 500;
	else if (data[1] & 0x40)
		status = -status;
	want_reason = data[1] & 0x20;
	data += 2;
	size -= 2;

	msg = kstatus_message(status, (const char *)data, size, want_reason ? &reason : NULL);
	FUZZ_CHECK(msg && *msg, "empty message");
	FUZZ_CHECK(!strchr(msg, '\n') && !strchr(msg, '\r'), "multi-line message");
	FUZZ_CHECK(starts_with(msg, "Error from server") ||
		   starts_with(msg, "You must be logged in to the server"), "unexpected form: %s", msg);
	if (reason)
		FUZZ_CHECK(*reason, "empty reason returned");
	free(msg);
	free(reason);

	/* the NULL/empty body paths */
	msg = kstatus_message(status, NULL, 0, &reason);
	FUZZ_CHECK(msg && *msg, "empty message for no body");
	free(msg);
	free(reason);
	return 0;
}
