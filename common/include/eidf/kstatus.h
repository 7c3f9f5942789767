/* Kubernetes Status bodies -> kubectl's error lines. */
#ifndef EIDF_KSTATUS_H
#define EIDF_KSTATUS_H

#include <stddef.h>

/* Format an error for an HTTP response the way kubectl prints it:
 *   Error from server (NotFound): persistentvolumeclaims "x" not found
 *   Error from server (Forbidden): jobs is forbidden: User ...
 *   You must be logged in to the server (Unauthorized)      (reason Unauthorized)
 * For non-Status bodies (e.g. text/plain "404 page not found") the generic
 * client-go message for the code, e.g.
 *   Error from server (NotFound): the server could not find the requested resource
 * `reason_out` (may be NULL) receives Status.reason, or client-go's reason for
 * the code, or NULL when there is none (caller frees). */
char *kstatus_message(long http_status, const char *body, size_t len, char **reason_out);

#endif
