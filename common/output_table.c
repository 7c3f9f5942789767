/* kubectl-style tables: what printers.GetNewTabWriter produces
 * (text/tabwriter, minwidth 6, padding 3, padchar ' '): every column but
 * the last is padded to max(6, widest cell + 3); the last column is not
 * padded, and trailing blanks are trimmed. */
#include "eidf/output.h"
#include "eidf/util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define TAB_MINWIDTH 6
#define TAB_PADDING 3

struct table {
	size_t ncols;
	char **headers;
	char ***rows;
	size_t nrows, alloc;
};

/* Tabs and newlines would break the layout: show them as spaces, and
 * other control characters (terminal escapes from untrusted data) as '?'. */
static char *clean_cell(const char *s)
{
	char *c = xstrdup(s ? s : "");
	for (unsigned char *p = (unsigned char *)c; *p; p++) {
		if (*p == '\t' || *p == '\n' || *p == '\r')
			*p = ' ';
		else if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	return c;
}

/* Display width as tabwriter counts it: UTF-8 runes. */
static size_t cell_width(const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p & 0xc0) != 0x80)
			n++;
	return n;
}

struct table *table_new(const char *const *headers)
{
	struct table *t = xcalloc(1, sizeof(*t));
	size_t n = 0;

	while (headers && headers[n])
		n++;
	t->ncols = n;
	t->headers = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		char *h = clean_cell(headers[i]);
		/* kubectl upper-cases column names */
		for (char *p = h; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		t->headers[i] = h;
	}
	return t;
}

static void add_row_owned(struct table *t, char **row)
{
	if (t->nrows == t->alloc) {
		t->alloc = t->alloc ? t->alloc * 2 : 16;
		t->rows = xrealloc(t->rows, t->alloc * sizeof(*t->rows));
	}
	t->rows[t->nrows++] = row;
}

void table_add_row(struct table *t, const char *const *cells)
{
	char **row = xcalloc(t->ncols + 1, sizeof(char *));
	for (size_t i = 0; i < t->ncols; i++)
		row[i] = clean_cell(cells ? cells[i] : NULL);
	add_row_owned(t, row);
}

void table_add_rowv(struct table *t, ...)
{
	char **row = xcalloc(t->ncols + 1, sizeof(char *));
	va_list ap;
	size_t i = 0;
	const char *c;

	va_start(ap, t);
	/* a short row is padded with empty cells; extra cells are ignored */
	while (i < t->ncols && (c = va_arg(ap, const char *)) != NULL)
		row[i++] = clean_cell(c);
	va_end(ap);
	for (; i < t->ncols; i++)
		row[i] = xstrdup("");
	add_row_owned(t, row);
}

size_t table_rows(const struct table *t)
{
	return t ? t->nrows : 0;
}

static void print_line(struct strbuf *sb, char *const *cells, size_t ncols, const size_t *widths)
{
	size_t start = sb->len;

	for (size_t i = 0; i < ncols; i++) {
		strbuf_addstr(sb, cells[i]);
		if (i + 1 < ncols)
			for (size_t w = cell_width(cells[i]); w < widths[i]; w++)
				strbuf_addch(sb, ' ');
	}
	while (sb->len > start && sb->buf[sb->len - 1] == ' ')
		sb->len--;
	sb->buf[sb->len] = '\0';
	strbuf_addch(sb, '\n');
}

void table_print(const struct table *t, FILE *out, int no_headers)
{
	struct strbuf sb = STRBUF_INIT;
	size_t *widths;

	if (!t || !t->ncols)
		return;
	widths = xcalloc(t->ncols, sizeof(*widths));
	for (size_t c = 0; c < t->ncols; c++) {
		size_t w = TAB_MINWIDTH;
		if (!no_headers && cell_width(t->headers[c]) + TAB_PADDING > w)
			w = cell_width(t->headers[c]) + TAB_PADDING;
		for (size_t r = 0; r < t->nrows; r++)
			if (cell_width(t->rows[r][c]) + TAB_PADDING > w)
				w = cell_width(t->rows[r][c]) + TAB_PADDING;
		widths[c] = w;
	}
	if (!no_headers)
		print_line(&sb, t->headers, t->ncols, widths);
	for (size_t r = 0; r < t->nrows; r++)
		print_line(&sb, t->rows[r], t->ncols, widths);
	fwrite(strbuf_str(&sb), 1, sb.len, out);
	strbuf_release(&sb);
	free(widths);
}

static void free_cells(char **cells, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(cells[i]);
	free(cells);
}

void table_free(struct table *t)
{
	if (!t)
		return;
	free_cells(t->headers, t->ncols);
	for (size_t r = 0; r < t->nrows; r++)
		free_cells(t->rows[r], t->ncols);
	free(t->rows);
	free(t);
}
