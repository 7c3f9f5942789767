/* resource.Quantity: parse, and the round trip of the canonical form:
 * format(parse(x)) parses again to an equal quantity.  The canonical form is
 * not always a fixed point after one step, as in Kubernetes ("62.5Ki" prints
 * as "64000", which prints as "64k"), but it is after two. */
#include "fuzz.h"

#include <string.h>

#include "eidf/quantity.h"
#include "eidf/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct quantity q, q2;
	char *s, *text, *s2;

	if (size > 512)
		return 0;
	text = xstrndup((const char *)data, size);
	if (quantity_parse(text, &q) < 0) {
		const char *e = eidf_last_error();
		FUZZ_CHECK(e && *e, "failure without a message");
		FUZZ_CHECK(!quantity_valid(text), "parse failed but quantity_valid() says yes");
		free(text);
		return 0;
	}
	FUZZ_CHECK(quantity_valid(text), "parsed but quantity_valid() says no");
	(void)quantity_value(&q);
	(void)quantity_milli_value(&q);
	FUZZ_CHECK(quantity_cmp(&q, &q) == 0, "not equal to itself");

	s = quantity_format(&q);
	FUZZ_CHECK(s && *s, "empty canonical form for \"%s\"", text);
	FUZZ_CHECK(quantity_parse(s, &q2) == 0, "\"%s\" -> \"%s\" does not parse: %s",
		   text, s, eidf_last_error());
	FUZZ_CHECK(quantity_cmp(&q, &q2) == 0, "\"%s\" -> \"%s\" changes the value", text, s);
	FUZZ_CHECK(quantity_cmp(&q2, &q) == 0, "quantity_cmp not symmetric for \"%s\"", text);
	s2 = quantity_format(&q2);
	{
		struct quantity q3;
		char *s3;
		FUZZ_CHECK(quantity_parse(s2, &q3) == 0, "\"%s\" does not parse", s2);
		FUZZ_CHECK(quantity_cmp(&q, &q3) == 0, "\"%s\" -> \"%s\" changes the value", s, s2);
		s3 = quantity_format(&q3);
		FUZZ_CHECK(!strcmp(s2, s3), "\"%s\" -> \"%s\" -> \"%s\" -> \"%s\": canonical form not stable",
			   text, s, s2, s3);
		free(s3);
	}
	FUZZ_CHECK(quantity_value(&q) == quantity_value(&q2), "value differs for \"%s\"", text);
	FUZZ_CHECK(quantity_milli_value(&q) == quantity_milli_value(&q2),
		   "milli value differs for \"%s\"", text);
	free(s2);
	free(s);
	free(text);
	return 0;
}
