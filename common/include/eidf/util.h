/* Memory, strings and error reporting shared by every executable.
 *
 * Error convention: library functions return 0 on success and -1 on failure
 * after recording a one-line message with eidf_set_error(); the command that
 * called them prints it with eidf_error("%s", eidf_last_error()) and decides
 * the exit code.  Allocation failure is fatal (xmalloc & co. abort with a
 * message), so callers never check for NULL from x* functions.
 */
#ifndef EIDF_UTIL_H
#define EIDF_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EIDF_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define EIDF_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Exit codes shared by all commands (kubectl's convention). */
enum { EIDF_EXIT_OK = 0, EIDF_EXIT_ERROR = 1, EIDF_EXIT_USAGE = 2 };

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);           /* xstrdup(NULL) == NULL */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) EIDF_PRINTF(1, 2);
char *xvasprintf(const char *fmt, va_list ap) EIDF_PRINTF(1, 0);

/* Growable byte buffer, always NUL-terminated. */
struct strbuf {
	char *buf;
	size_t len;
	size_t alloc;
};
#define STRBUF_INIT { NULL, 0, 0 }
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, int c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) EIDF_PRINTF(2, 3);
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap) EIDF_PRINTF(2, 0);
void strbuf_reset(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);
char *strbuf_detach(struct strbuf *sb); /* caller owns; sb is reset */
const char *strbuf_str(const struct strbuf *sb); /* "" when empty */

/* Growable NULL-terminated vector of owned strings. */
struct strvec {
	char **v;
	size_t n;
	size_t alloc;
};
#define STRVEC_INIT { NULL, 0, 0 }
void strvec_push(struct strvec *sv, const char *s);        /* copies s */
void strvec_pushf(struct strvec *sv, const char *fmt, ...) EIDF_PRINTF(2, 3);
void strvec_push_owned(struct strvec *sv, char *s);        /* takes s */
int strvec_contains(const struct strvec *sv, const char *s);
void strvec_clear(struct strvec *sv);

/* Last error of the library, one line, owned by the library. */
void eidf_set_error(const char *fmt, ...) EIDF_PRINTF(1, 2);
const char *eidf_last_error(void);

/* Messages to stderr, kubectl-style: "error: ...", "warning: ...". */
void eidf_error(const char *fmt, ...) EIDF_PRINTF(1, 2);
void eidf_warning(const char *fmt, ...) EIDF_PRINTF(1, 2);

/* Whole-file helpers; -1 with eidf_set_error naming the path on failure. */
int read_file(const char *path, struct strbuf *out);
int write_file_atomic(const char *path, const void *data, size_t len, int mode);

/* Milliseconds on the monotonic clock, for timeouts, rates and durations. */
long monotonic_ms(void);
/* Sleep MS milliseconds; a signal handler that runs meanwhile does not cut it short. */
void sleep_ms(long ms);

/* Small string predicates. */
int starts_with(const char *s, const char *prefix);
int ends_with(const char *s, const char *suffix);
/* Kubernetes DNS-1123 label (63 chars) / subdomain (253 chars). */
int is_dns1123_label(const char *s);
int is_dns1123_subdomain(const char *s);
/* Base64 (standard alphabet); decode returns -1 on malformed input. */
char *base64_encode(const void *data, size_t len);
int base64_decode(const char *s, size_t slen, struct strbuf *out);
/* Append `s` quoted as a POSIX shell would need it to read back the same
 * word: as is when it is only [A-Za-z0-9_@%+=:,./-] (and not empty), else
 * in '...' ("'" as '\''), and as $'...' with \n, \t, \xHH escapes when it
 * holds control characters (bash/zsh/ksh read it back; `ls -b`-like). */
void strbuf_add_shell_quoted(struct strbuf *sb, const char *s);
/* Append a file name for a human to read, quoted as git quotes paths: as
 * is unless it holds a control character, '"' or '\\'; then in "..." with
 * C escapes (\n, \t, \", \\, \ooo octal), so that one name is one line.
 * Bytes >= 0x80 (UTF-8 names) are kept as they are. */
void strbuf_add_quoted_path(struct strbuf *sb, const char *name);
/* argv joined by spaces, each word shell-quoted (caller frees). */
char *shell_join(const char *const *argv, size_t n);
/* Hex sha256 of a buffer (64 lowercase chars + NUL in out). */
void sha256_hex(const void *data, size_t len, char out[65]);

#endif
