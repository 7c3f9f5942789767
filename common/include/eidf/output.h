/* Output helpers: kubectl-style tables, -o json|yaml|name|wide, colour and
 * progress display. YAML is emitted with libyaml. */
#ifndef EIDF_OUTPUT_H
#define EIDF_OUTPUT_H

#include <stdio.h>
#include <stdint.h>
#include <cjson/cJSON.h>

/* Aligned columns separated by 3 spaces, upper-case headers (kubectl's
 * printers.TabWriter). Cells are copied. */
struct table;
struct table *table_new(const char *const *headers); /* NULL-terminated */
void table_add_row(struct table *t, const char *const *cells); /* same count */
void table_add_rowv(struct table *t, ...);  /* char* cells, NULL-terminated */
size_t table_rows(const struct table *t);
void table_print(const struct table *t, FILE *out, int no_headers);
void table_free(struct table *t);

/* -o handling. */
enum output_format { OUT_DEFAULT = 0, OUT_WIDE, OUT_JSON, OUT_YAML, OUT_NAME };
/* Parse "-o" (NULL or "" -> OUT_DEFAULT); -1 with eidf_last_error() listing
 * the allowed formats. */
int output_format_parse(const char *s, enum output_format *out);
extern const char *const output_formats[]; /* for OPT_ENUM / completion */
/* Print an object or a list in json/yaml/name form ("persistentvolumeclaim/x").
 * Like kubectl, json and yaml leave out metadata.managedFields (of the object
 * and of each list item) unless output_show_managed_fields is set
 * (--show-managed-fields, part of OPT_OUTPUT). */
extern int output_show_managed_fields;
int output_object(FILE *out, const cJSON *obj, enum output_format fmt);
/* "job.batch/name" (kubectl's -o name form) of one object (caller frees). */
char *output_name(const cJSON *obj);
/* --dry-run=server, the same in every stage: without -o (or -o wide) one
 * "KIND/NAME created (server dry run)" line per object the server accepted;
 * with -o the server's answer - the object when there is one, else a v1 List
 * of all of them in the order sent, the shape --dry-run=client prints.
 * NULL entries are skipped. */
int output_server_dry_run(FILE *out, const cJSON *const *objs, size_t n, enum output_format fmt);
/* YAML document (no leading ---) with kubectl's key order preserved. */
int yaml_emit_json(FILE *out, const cJSON *obj);
char *yaml_from_json(const cJSON *obj); /* caller frees */

/* Colour: only on a TTY, never when NO_COLOR is set (any value). */
int color_enabled(FILE *stream);
const char *color(FILE *stream, const char *sgr);   /* "" when disabled */
#define COLOR_RESET "0"
#define COLOR_RED "31"
#define COLOR_GREEN "32"
#define COLOR_YELLOW "33"
#define COLOR_BOLD "1"

/* Progress: a redrawn bar on a TTY, a plain line every `interval_ms` else. */
struct progress;
struct progress *progress_new(FILE *out, const char *label, uint64_t total);
void progress_update(struct progress *p, uint64_t done, const char *note);
void progress_done(struct progress *p, const char *final_note);
/* A usage bar "[#####-----] 52%" of the given width into buf (>= width+8). */
void usage_bar(char *buf, int width, double fraction);

#endif
