/* Tables, -o json|yaml|name, colour and progress output. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pty.h>
#include <cmocka.h>
#include <yaml.h>

#include "eidf/output.h"
#include "eidf/util.h"

/* ---- helpers ----------------------------------------------------------------- */

/* Run fn(out) and return what it printed. */
static char *capture_table(const struct table *t, int no_headers)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	table_print(t, f, no_headers);
	fclose(f);
	return buf;
}

static char *capture_object(const cJSON *obj, enum output_format fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(output_object(f, obj, fmt), 0);
	fclose(f);
	return buf;
}

/* A file under tests/fixtures (ctest sets EIDF_FIXTURES; the tests also run
 * from tests/unit). */
static char *fixture(const char *name)
{
	const char *dir = getenv("EIDF_FIXTURES");
	return xasprintf("%s/%s", dir && *dir ? dir : "../fixtures", name);
}

static cJSON *parse(const char *json)
{
	cJSON *o = cJSON_Parse(json);
	if (!o)
		fail_msg("bad test JSON: %s", json);
	return o;
}

/* ---- tables ------------------------------------------------------------------- */

static void test_table_alignment(void **state)
{
	(void)state;
	const char *h[] = { "NAME", "STATUS", "CAPACITY", NULL };
	struct table *t = table_new(h);
	table_add_rowv(t, "data", "Bound", "100Gi", NULL);
	table_add_rowv(t, "x", "Pending", "", NULL);
	assert_int_equal(table_rows(t), 2);
	char *s = capture_table(t, 0);
	assert_string_equal(s,
		"NAME   STATUS    CAPACITY\n"
		"data   Bound     100Gi\n"
		"x      Pending\n");
	free(s);
	s = capture_table(t, 1);
	assert_string_equal(s,
		"data   Bound     100Gi\n"
		"x      Pending\n");
	free(s);
	table_free(t);
}

static void test_table_minwidth_and_utf8(void **state)
{
	(void)state;
	const char *h[] = { "a", "ok", "age", NULL }; /* upper-cased like kubectl */
	struct table *t = table_new(h);
	const char *row1[] = { "1", "y", "5m" };
	const char *row2[] = { "\xc3\xa9t\xc3\xa9", NULL, "tab\there" };
	table_add_row(t, row1);
	table_add_row(t, row2);
	table_add_rowv(t, "short", NULL); /* padded with empty cells */
	char *s = capture_table(t, 0);
	assert_string_equal(s,
		"A       OK    AGE\n"
		"1       y     5m\n"
		"\xc3\xa9t\xc3\xa9           tab here\n"
		"short\n");
	free(s);
	table_free(t);

	/* no rows: just the header */
	const char *h2[] = { "NAME", "AGE", NULL };
	t = table_new(h2);
	s = capture_table(t, 0);
	assert_string_equal(s, "NAME   AGE\n");
	free(s);
	s = capture_table(t, 1);
	assert_string_equal(s, "");
	free(s);
	table_free(t);
	table_free(NULL);
}

/* ---- -o ------------------------------------------------------------------------- */

static void test_format_parse(void **state)
{
	enum output_format f;
	(void)state;
	assert_int_equal(output_format_parse(NULL, &f), 0);
	assert_int_equal(f, OUT_DEFAULT);
	assert_int_equal(output_format_parse("", &f), 0);
	assert_int_equal(f, OUT_DEFAULT);
	assert_int_equal(output_format_parse("json", &f), 0);
	assert_int_equal(f, OUT_JSON);
	assert_int_equal(output_format_parse("yaml", &f), 0);
	assert_int_equal(f, OUT_YAML);
	assert_int_equal(output_format_parse("name", &f), 0);
	assert_int_equal(f, OUT_NAME);
	assert_int_equal(output_format_parse("wide", &f), 0);
	assert_int_equal(f, OUT_WIDE);
	assert_int_equal(output_format_parse("xml", &f), -1);
	assert_string_equal(eidf_last_error(),
			    "unable to match a printer suitable for the output format \"xml\", "
			    "allowed formats are: json,name,wide,yaml");
	size_t n = 0;
	while (output_formats[n])
		n++;
	assert_int_equal(n, 4);
}

/* kubectl's JSON printer is Go's MarshalIndent with 4 spaces: the API
 * server sample (as kubectl printed it) must come out byte for byte. */
static void test_json_matches_kubectl(void **state)
{
	(void)state;
	struct strbuf sb = STRBUF_INIT;
	char *path = fixture("apiserver-samples/job-created.json");
	assert_int_equal(read_file(path, &sb), 0);
	free(path);
	cJSON *o = parse(sb.buf);
	char *s = capture_object(o, OUT_JSON);
	assert_string_equal(s, sb.buf);
	free(s);
	cJSON_Delete(o);
	strbuf_release(&sb);
}

static void test_json_escaping(void **state)
{
	(void)state;
	cJSON *o = parse("{\"s\":\"<a&b>\\n\\t\\\"\\\\ \\u0001 \\u2028 caf\\u00e9\",\"e\":{},\"a\":[],"
			 "\"n\":[1,-2,1.5,0.000001,1e-7,1e21,123456789012],\"b\":true,\"f\":false,\"z\":null}");
	char *s = capture_object(o, OUT_JSON);
	assert_string_equal(s,
		"{\n"
		"    \"s\": \"\\u003ca\\u0026b\\u003e\\n\\t\\\"\\\\ \\u0001 \\u2028 caf\xc3\xa9\",\n"
		"    \"e\": {},\n"
		"    \"a\": [],\n"
		"    \"n\": [\n"
		"        1,\n"
		"        -2,\n"
		"        1.5,\n"
		"        0.000001,\n"
		"        1e-7,\n"
		"        1e+21,\n"
		"        123456789012\n"
		"    ],\n"
		"    \"b\": true,\n"
		"    \"f\": false,\n"
		"    \"z\": null\n"
		"}\n");
	free(s);
	cJSON_Delete(o);
}

static void test_name_output(void **state)
{
	(void)state;
	cJSON *job = parse("{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"demo-job-w487g\"}}");
	char *s = capture_object(job, OUT_NAME);
	assert_string_equal(s, "job.batch/demo-job-w487g\n");
	free(s);
	cJSON_Delete(job);

	cJSON *list = parse("{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaimList\",\"metadata\":{},"
			    "\"items\":[{\"metadata\":{\"name\":\"a\"}},{\"metadata\":{\"name\":\"b\"}}]}");
	s = capture_object(list, OUT_NAME);
	assert_string_equal(s, "persistentvolumeclaim/a\npersistentvolumeclaim/b\n");
	free(s);
	cJSON_Delete(list);

	cJSON *mixed = parse("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":["
			     "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":\"x\"}},"
			     "{\"apiVersion\":\"kueue.x-k8s.io/v1beta1\",\"kind\":\"LocalQueue\",\"metadata\":{\"name\":\"q\"}}]}");
	s = capture_object(mixed, OUT_NAME);
	assert_string_equal(s, "persistentvolumeclaim/x\nlocalqueue.kueue.x-k8s.io/q\n");
	free(s);
	cJSON_Delete(mixed);

	cJSON *empty = parse("{\"apiVersion\":\"v1\",\"kind\":\"PodList\",\"items\":[]}");
	s = capture_object(empty, OUT_NAME);
	assert_string_equal(s, "");
	free(s);
	cJSON_Delete(empty);

	assert_int_equal(output_object(stdout, empty ? NULL : NULL, OUT_JSON), -1);
}

/* ---- YAML ----------------------------------------------------------------------- */

/* Minimal YAML 1.1 reader over libyaml's parser: plain scalars are
 * resolved (null, bool, int, float), quoted/block scalars are strings.
 * Also counts plain scalars that a reader would mis-type. */
static cJSON *resolve_plain(const char *s)
{
	static const char *const nulls[] = { "~", "null", "Null", "NULL", "", NULL };
	static const char *const trues[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y", NULL };
	static const char *const falses[] = { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N", NULL };
	for (int i = 0; nulls[i]; i++)
		if (!strcmp(s, nulls[i]))
			return cJSON_CreateNull();
	for (int i = 0; trues[i]; i++)
		if (!strcmp(s, trues[i]))
			return cJSON_CreateTrue();
	for (int i = 0; falses[i]; i++)
		if (!strcmp(s, falses[i]))
			return cJSON_CreateFalse();
	char *end;
	if (*s && strchr("+-.0123456789", *s)) {
		double d = strtod(s, &end);
		if (!*end)
			return cJSON_CreateNumber(d);
	}
	return cJSON_CreateString(s);
}

static cJSON *yaml_read_node(yaml_parser_t *p, yaml_event_t *ev);

static cJSON *yaml_read_next(yaml_parser_t *p)
{
	yaml_event_t ev;
	if (!yaml_parser_parse(p, &ev))
		fail_msg("YAML parse error: %s (line %zu)", p->problem, p->problem_mark.line + 1);
	return yaml_read_node(p, &ev);
}

/* Returns NULL at the end of a collection. */
static cJSON *yaml_read_node(yaml_parser_t *p, yaml_event_t *ev)
{
	cJSON *r = NULL;
	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		const char *v = (const char *)ev->data.scalar.value;
		r = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? resolve_plain(v) : cJSON_CreateString(v);
		break;
	}
	case YAML_SEQUENCE_START_EVENT: {
		r = cJSON_CreateArray();
		cJSON *c;
		while ((c = yaml_read_next(p)) != NULL)
			cJSON_AddItemToArray(r, c);
		break;
	}
	case YAML_MAPPING_START_EVENT: {
		r = cJSON_CreateObject();
		cJSON *k;
		while ((k = yaml_read_next(p)) != NULL) {
			assert_true(cJSON_IsString(k));
			cJSON *v = yaml_read_next(p);
			cJSON_AddItemToObject(r, k->valuestring, v);
			cJSON_Delete(k);
		}
		break;
	}
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		break;
	default:
		fail_msg("unexpected YAML event %d", ev->type);
	}
	yaml_event_delete(ev);
	return r;
}

static cJSON *yaml_load(const char *text)
{
	yaml_parser_t p;
	yaml_event_t ev;
	cJSON *doc = NULL;

	assert_true(yaml_parser_initialize(&p));
	yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
	for (;;) {
		if (!yaml_parser_parse(&p, &ev))
			fail_msg("YAML parse error: %s", p.problem);
		yaml_event_type_t t = ev.type;
		if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_START_EVENT ||
		    t == YAML_DOCUMENT_END_EVENT) {
			yaml_event_delete(&ev);
			continue;
		}
		if (t == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		assert_null(doc);
		doc = yaml_read_node(&p, &ev);
	}
	yaml_parser_delete(&p);
	return doc;
}

static const char *const tricky[] = {
	"true", "false", "True", "yes", "no", "Yes", "NO", "on", "off", "y", "n", "Y", "N",
	"null", "Null", "~", "", "1", "-1", "+1", "0", "007", "1.5", "1e3", "1E3", "1e-3",
	"0x1f", "0o17", "0b101", "1_000", ".5", "1.", ".inf", "-.inf", ".nan", "1:30",
	"190:20:30", ":x", "a: b", "a:", "- x", "-", "? x", "# c", "a #b", "&a", "*a", "!t",
	"%x", "@x", "`x", "|", ">", "'q'", "\"dq\"", "{x}", "[x]", ",", " lead", "trail ",
	" both ", "2024-01-02T03:04:05Z", "2024-01-02", "2001-12-14 21:59:43.10 -5",
	"<<", "=", "line1\nline2", "line1\nline2\n", "  indented\nblock", "trailing \nspace",
	"tab\there", "ctl\x01x", "caf\xc3\xa9", "busybox:1.36", "kueue.x-k8s.io/queue-name",
	"https://example.com/a?b=c#d", "1.2.3", "v1", "100Gi", "500m", "NaN", "Infinity",
	"0.5e", "--", "...", "---", "a\\b", "\t", NULL,
};

static void test_yaml_quoting_roundtrip(void **state)
{
	(void)state;
	cJSON *o = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(o, "list");
	for (int i = 0; tricky[i]; i++) {
		char *k = xasprintf("k%02d", i);
		cJSON_AddStringToObject(o, k, tricky[i]);
		cJSON_AddItemToArray(arr, cJSON_CreateString(tricky[i]));
		free(k);
		/* the strings as keys too */
		if (!cJSON_GetObjectItemCaseSensitive(o, tricky[i]))
			cJSON_AddNumberToObject(o, tricky[i], i);
	}
	cJSON_AddNumberToObject(o, "int", 42);
	cJSON_AddNumberToObject(o, "float", 1.5);
	cJSON_AddBoolToObject(o, "bool", 1);
	cJSON_AddNullToObject(o, "nil");
	cJSON_AddItemToObject(o, "emptymap", cJSON_CreateObject());
	cJSON_AddItemToObject(o, "emptylist", cJSON_CreateArray());

	char *y = yaml_from_json(o);
	assert_non_null(y);
	cJSON *back = yaml_load(y);
	if (!cJSON_Compare(o, back, 1)) {
		char *a = cJSON_Print(o), *b = cJSON_Print(back);
		fail_msg("YAML round trip differs:\n%s\n--- yaml:\n%s\n--- back:\n%s", a, y, b);
	}
	/* key order preserved */
	const cJSON *c1 = o->child, *c2 = back->child;
	for (; c1 && c2; c1 = c1->next, c2 = c2->next)
		assert_string_equal(c1->string, c2->string);

	/* PyYAML (a YAML 1.1 reader) must agree too, when available */
	if (system("python3 -c 'import yaml' >/dev/null 2>&1") == 0) {
		char yp[] = "/tmp/eidf-test-yaml-XXXXXX", jp[] = "/tmp/eidf-test-json-XXXXXX";
		int fy = mkstemp(yp), fj = mkstemp(jp);
		char *js = cJSON_PrintUnformatted(o);
		assert_true(fy >= 0 && fj >= 0);
		assert_int_equal(write(fy, y, strlen(y)), (ssize_t)strlen(y));
		assert_int_equal(write(fj, js, strlen(js)), (ssize_t)strlen(js));
		close(fy);
		close(fj);
		char *cmd = xasprintf("python3 -c 'import yaml,json,sys; a=yaml.safe_load(open(sys.argv[1])); "
				      "b=json.load(open(sys.argv[2])); sys.exit(0 if a==b else 1)' %s %s", yp, jp);
		int rc = system(cmd);
		unlink(yp);
		unlink(jp);
		free(cmd);
		free(js);
		if (rc != 0)
			fail_msg("PyYAML reads the YAML differently:\n%s", y);
	}
	cJSON_Delete(back);
	cJSON_Delete(o);
	free(y);
}

static void test_yaml_layout(void **state)
{
	(void)state;
	cJSON *o = parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
			 "\"metadata\":{\"name\":\"x\",\"labels\":{\"a\":\"true\"},"
			 "\"creationTimestamp\":\"2024-01-02T03:04:05Z\"},"
			 "\"data\":{\"k\":\"line1\\nline2\\n\",\"empty\":\"\",\"num\":\"1\","
			 "\"img\":\"busybox:1.36\",\"sp\":\" lead\"},"
			 "\"list\":[1,\"a\",{\"b\":[],\"c\":2}],\"o\":{},\"f\":1.5,\"nil\":null,\"n\":\"n\"}");
	char *s = capture_object(o, OUT_YAML);
	assert_string_equal(s,
		"apiVersion: v1\n"
		"kind: ConfigMap\n"
		"metadata:\n"
		"  name: x\n"
		"  labels:\n"
		"    a: \"true\"\n"
		"  creationTimestamp: \"2024-01-02T03:04:05Z\"\n"
		"data:\n"
		"  k: |\n"
		"    line1\n"
		"    line2\n"
		"  empty: \"\"\n"
		"  num: \"1\"\n"
		"  img: busybox:1.36\n"
		"  sp: ' lead'\n"
		"list:\n"
		"- 1\n"
		"- a\n"
		"- b: []\n"
		"  c: 2\n"
		"o: {}\n"
		"f: 1.5\n"
		"nil: null\n"
		"\"n\": \"n\"\n");
	free(s);

	/* yaml_emit_json writes the same document */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(yaml_emit_json(f, o), 0);
	fclose(f);
	char *y = yaml_from_json(o);
	assert_string_equal(buf, y);
	free(buf);
	free(y);
	cJSON_Delete(o);

	/* invalid UTF-8 does not break the emitter */
	cJSON *bad = cJSON_CreateObject();
	cJSON_AddStringToObject(bad, "k", "a\xff" "b");
	y = yaml_from_json(bad);
	assert_non_null(y);
	assert_string_equal(y, "k: a\xef\xbf\xbd" "b\n");
	free(y);
	cJSON_Delete(bad);
}

static void test_yaml_job_sample(void **state)
{
	(void)state;
	struct strbuf sb = STRBUF_INIT;
	char *path = fixture("apiserver-samples/job-created.json");
	assert_int_equal(read_file(path, &sb), 0);
	free(path);
	cJSON *o = parse(sb.buf);
	char *y = yaml_from_json(o);
	cJSON *back = yaml_load(y);
	assert_true(cJSON_Compare(o, back, 1));
	/* kubectl's look: indentless sequences, quoted timestamps and empty strings */
	assert_non_null(strstr(y, "      - command:\n        - sh\n        - -c\n        - echo hello\n"));
	assert_non_null(strstr(y, "  creationTimestamp: \"2026-11-24T18:54:04Z\"\n"));
	assert_non_null(strstr(y, "    batch.kubernetes.io/job-tracking: \"\"\n"));
	assert_non_null(strstr(y, "      creationTimestamp: null\n"));
	assert_non_null(strstr(y, "  resourceVersion: \"210\"\n"));
	assert_non_null(strstr(y, "  backoffLimit: 0\n"));
	assert_null(strstr(y, "---"));
	cJSON_Delete(back);
	cJSON_Delete(o);
	free(y);
	strbuf_release(&sb);
}

/* ---- colour and progress ------------------------------------------------------------ */

static void test_color(void **state)
{
	(void)state;
	int master, slave;
	unsetenv("NO_COLOR");
	setenv("TERM", "xterm", 1);
	FILE *f = tmpfile();
	assert_false(color_enabled(f));
	assert_string_equal(color(f, COLOR_RED), "");
	fclose(f);

	if (openpty(&master, &slave, NULL, NULL, NULL) < 0) {
		skip();
		return;
	}
	FILE *tty = fdopen(slave, "w");
	assert_true(color_enabled(tty));
	assert_string_equal(color(tty, COLOR_RED), "\033[31m");
	assert_string_equal(color(tty, COLOR_RESET), "\033[0m");
	assert_string_equal(color(tty, "1;33"), "\033[1;33m");
	assert_string_equal(color(tty, "1;33"), "\033[1;33m");
	assert_string_equal(color(tty, "x\033"), "");
	setenv("NO_COLOR", "", 1); /* any value, even empty */
	assert_false(color_enabled(tty));
	assert_string_equal(color(tty, COLOR_GREEN), "");
	unsetenv("NO_COLOR");
	setenv("TERM", "dumb", 1);
	assert_false(color_enabled(tty));
	unsetenv("TERM");
	fclose(tty);
	close(master);
}

static void test_usage_bar(void **state)
{
	(void)state;
	char buf[64];
	usage_bar(buf, 10, 0.52);
	assert_string_equal(buf, "[#####-----] 52%");
	usage_bar(buf, 10, 0);
	assert_string_equal(buf, "[----------] 0%");
	usage_bar(buf, 10, 1);
	assert_string_equal(buf, "[##########] 100%");
	usage_bar(buf, 10, 0.999);
	assert_string_equal(buf, "[#########-] 99%");
	usage_bar(buf, 10, 0.001);
	assert_string_equal(buf, "[#---------] 0%");
	usage_bar(buf, 10, 1.5);
	assert_string_equal(buf, "[##########] 150%");
	usage_bar(buf, 10, 100);
	assert_string_equal(buf, "[##########] 999%");
	usage_bar(buf, 10, -1);
	assert_string_equal(buf, "[----------] 0%");
	usage_bar(buf, 4, 0.0 / 0.0);
	assert_string_equal(buf, "[----] 0%");
	/* buf of exactly width + 8 bytes is enough for the widest case */
	char small[4 + 8];
	usage_bar(small, 4, 5.0);
	assert_string_equal(small, "[####] 500%");
}

static void test_progress_plain(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	setenv("EIDF_PROGRESS_INTERVAL_MS", "0", 1);
	struct progress *p = progress_new(f, "download", 2048);
	progress_update(p, 1024, "file.bin");
	progress_done(p, "ok");
	fclose(f);
	assert_string_equal(buf,
		"download: 50% (1KiB of 2KiB) file.bin\n"
		"download: 50% (1KiB of 2KiB), done ok\n");
	free(buf);

	/* with the default interval nothing is printed before the end */
	unsetenv("EIDF_PROGRESS_INTERVAL_MS");
	buf = NULL;
	f = open_memstream(&buf, &len);
	p = progress_new(f, "copy", 0);
	for (int i = 0; i < 100; i++)
		progress_update(p, (uint64_t)i * 100, NULL);
	progress_done(p, NULL);
	fclose(f);
	assert_string_equal(buf, "copy: 9.7KiB, done\n");
	free(buf);
	progress_update(NULL, 1, NULL);
	progress_done(NULL, NULL);
}

static void test_progress_tty(void **state)
{
	(void)state;
	int master, slave;
	if (openpty(&master, &slave, NULL, NULL, NULL) < 0) {
		skip();
		return;
	}
	FILE *tty = fdopen(slave, "w");
	struct progress *p = progress_new(tty, "fetch", 100);
	progress_update(p, 10, NULL);
	progress_update(p, 20, NULL); /* throttled */
	progress_update(p, 100, "all");
	progress_done(p, "done");
	fclose(tty);
	char out[4096];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(out) - 1 && (r = read(master, out + n, sizeof(out) - 1 - n)) > 0)
		n += (size_t)r;
	close(master);
	out[n] = '\0';
	assert_non_null(strstr(out, "\rfetch [##"));
	assert_non_null(strstr(out, "] 10%  10B of 100B"));
	assert_null(strstr(out, "20%"));
	if (!strstr(out, "[####################] 100%  100B of 100B  all"))
		fail_msg("unexpected TTY output: %s", out);
	assert_non_null(strstr(out, "\033[K"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_alignment),
		cmocka_unit_test(test_table_minwidth_and_utf8),
		cmocka_unit_test(test_format_parse),
		cmocka_unit_test(test_json_matches_kubectl),
		cmocka_unit_test(test_json_escaping),
		cmocka_unit_test(test_name_output),
		cmocka_unit_test(test_yaml_quoting_roundtrip),
		cmocka_unit_test(test_yaml_layout),
		cmocka_unit_test(test_yaml_job_sample),
		cmocka_unit_test(test_color),
		cmocka_unit_test(test_usage_bar),
		cmocka_unit_test(test_progress_plain),
		cmocka_unit_test(test_progress_tty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
