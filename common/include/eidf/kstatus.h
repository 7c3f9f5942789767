/* Kubernetes Status bodies -> kubectl's error lines. */
#ifndef EIDF_KSTATUS_H
#define EIDF_KSTATUS_H

#include <stddef.h>

/* Format an error for an HTTP response the way kubectl prints it:
 *   Error from server (NotFound): persistentvolumeclaims "x" not found
 *   Error from server (Forbidden): jobs is forbidden: User ...
 * For non-Status bodies (e.g. text/plain "404 page not found") fall back to
 *   the server could not find the requested resource (HTTP 404)
 * `reason_out` (may be NULL) receives Status.reason (caller frees). */
char *kstatus_message(long http_status, const char *body, size_t len, char **reason_out);

#endif
