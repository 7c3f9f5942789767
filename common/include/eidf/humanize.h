/* Human-readable times and sizes, as kubectl prints them. */
#ifndef EIDF_HUMANIZE_H
#define EIDF_HUMANIZE_H

#include <stdint.h>
#include <time.h>

/* kubectl's duration.HumanDuration: "45s", "5m", "3h", "2d", "3h10m", "2y"... */
char *human_age(time_t now, time_t then);
char *human_duration(int64_t seconds);
/* Binary-unit sizes: "0B", "1023B", "1.5KiB", "12GiB". */
char *human_bytes(uint64_t bytes);
/* RFC 3339 ("2024-01-02T03:04:05Z", fractional seconds allowed) to UTC time;
 * -1 on error. */
int parse_rfc3339(const char *s, time_t *out);
/* Format UTC time as RFC 3339 with seconds ("...Z"); buf >= 21 bytes. */
void format_rfc3339(time_t t, char buf[32]);

#endif
