/* Kubernetes resource.Quantity: parse and print as the API server does
 * ("100Gi", "1500m", "1e3", "0.5"), compare, and convert to bytes. */
#ifndef EIDF_QUANTITY_H
#define EIDF_QUANTITY_H

#include <stdint.h>

struct quantity {
	/* Exact value = mantissa * 10^exp10 (decimal suffixes, exponents) or
	 * mantissa * 2^(10*exp1024) (binary suffixes); format says which. */
	int64_t mantissa;
	int exp10;
	int exp1024;
	enum { QFMT_DECIMAL_SI, QFMT_BINARY_SI, QFMT_DECIMAL_EXPONENT } format;
};

/* -1 with eidf_last_error() on bad syntax, e.g.
 *   quantity "10GB" is invalid: must match the regular expression ... */
int quantity_parse(const char *s, struct quantity *q);
/* Canonical form as the API server prints it (caller frees). */
char *quantity_format(const struct quantity *q);
/* Value rounded up to whole units (bytes for storage, cores for cpu); -1 if
 * it does not fit in int64. */
int64_t quantity_value(const struct quantity *q);
/* Value in milli-units (for cpu), saturating at INT64_MAX. */
int64_t quantity_milli_value(const struct quantity *q);
int quantity_cmp(const struct quantity *a, const struct quantity *b);
/* Convenience: is `s` a valid quantity? */
int quantity_valid(const char *s);

#endif
