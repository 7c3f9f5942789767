/* fetch: URL checks, hostile names, path normalisation, list parsing,
 * sharding, progress lines and the Job manifest. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "eidf/manifest.h"
#include "fetch_progress.h"
#include "fetch_spec.h"
#include "job_view.h"

static const char SHA[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

static void test_url_ok(void **state)
{
	(void)state;
	const char *ok[] = {
		"http://example.org/a.bin",
		"HTTPS://example.org/data/x.tar.gz",
		"ftp://ftp.example.org/pub/file.zip",
		"https://bucket.s3.amazonaws.com/k?X-Amz-Signature=abc&X-Amz-Expires=3600",
		"http://127.0.0.1:8080/a.bin?x=$(touch${IFS}pwned)",
		"http://[::1]:80/x",
	};
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(ok); i++) {
		int rc = fetch_url_check(ok[i]);
		if (rc)
			fail_msg("%s: %s", ok[i], eidf_last_error());
	}
}

static void test_url_refused(void **state)
{
	(void)state;
	struct { const char *url, *want; } bad[] = {
		{ "file:///etc/passwd", "unsupported URL scheme \"file\"" },
		{ "gopher://x/y", "only http, https and ftp" },
		{ "s3://bucket/key", "unsupported URL scheme" },
		{ "/etc/passwd", "is not a URL" },
		{ "example.org/a", "is not a URL" },
		{ "http://example.org/a b", "space" },
		{ "http://example.org/a\nb", "control" },
		{ "http://example.org/\xc3\xa9", "non-ASCII" },
		{ "http:example.org", "malformed" },
		{ "http:///path", "no host" },
		{ "https://user:pw@example.org/x", "credentials" },
		{ "", "empty URL" },
	};
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(bad); i++) {
		assert_int_equal(fetch_url_check(bad[i].url), -1);
		if (!strstr(eidf_last_error(), bad[i].want))
			fail_msg("%s: got \"%s\", want \"%s\"", bad[i].url, eidf_last_error(), bad[i].want);
	}
}

static void test_url_redact(void **state)
{
	(void)state;
	char *r = fetch_url_redact("https://b.s3/k?X-Amz-Signature=secret");
	assert_string_equal(r, "https://b.s3/k?<redacted>");
	free(r);
	r = fetch_url_redact("https://b/k");
	assert_string_equal(r, "https://b/k");
	free(r);
}

static void test_name_from_url(void **state)
{
	(void)state;
	struct { const char *url, *name; } t[] = {
		{ "http://h/a/b/c.tar.gz", "c.tar.gz" },
		{ "http://h/a/b/c.zip?sig=1#frag", "c.zip" },
		{ "http://h/my%20file.bin", "my file.bin" },
		{ "http://h/%24(touch%20x)", "$(touch x)" },
		{ "http://h/a%zz", "a%zz" },
		{ "http://h/a%2", "a%2" },
	};
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(t); i++) {
		char *n = fetch_name_from_url(t[i].url);
		if (!n)
			fail_msg("%s: %s", t[i].url, eidf_last_error());
		assert_string_equal(n, t[i].name);
		free(n);
	}
	const char *bad[] = { "http://h/", "http://h", "http://h/dir/..", "http://h/a%2Fb",
			      "http://h/a%0Ab", "http://h/x%00y", "http://h/%2e%2e" };
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(bad); i++) {
		char *n = fetch_name_from_url(bad[i]);
		if (n)
			fail_msg("%s: accepted as \"%s\"", bad[i], n);
	}
}

static void test_path_normalize(void **state)
{
	(void)state;
	struct { const char *in; int dest; const char *out; } ok[] = {
		{ "a.bin", 0, "a.bin" },
		{ "./a//b/./c.bin", 0, "a/b/c.bin" },
		{ "dir/", 0, "dir" },
		{ "it's \"quoted\" $(x) `y`.bin", 0, "it's \"quoted\" $(x) `y`.bin" },
		{ "-rf", 0, "-rf" },
		{ "...", 0, "..." },
		{ "..a", 0, "..a" },
		{ "", 1, "" },
		{ "/", 1, "" },
		{ "/data//sets/", 1, "data/sets" },
		{ "data", 1, "data" },
	};
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(ok); i++) {
		char *o = NULL;
		if (fetch_path_normalize(ok[i].in, ok[i].dest, &o))
			fail_msg("%s: %s", ok[i].in, eidf_last_error());
		assert_string_equal(o, ok[i].out);
		free(o);
	}
	struct { const char *in; int dest; const char *want; } bad[] = {
		{ "../x", 0, ".." },
		{ "a/../../x", 0, ".." },
		{ "a/..", 0, ".." },
		{ "..", 1, ".." },
		{ "/data/../..", 1, ".." },
		{ "/etc/passwd", 0, "absolute" },
		{ "", 0, "empty" },
		{ ".", 0, "empty" },
		{ "a\nb", 0, "control" },
		{ "a\tb", 0, "control" },
		{ ".eidf-fetch/x", 0, "reserved" },
		{ ".eidf-fetch", 1, "reserved" },
		{ "x.part", 0, ".part" },
	};
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(bad); i++) {
		char *o = NULL;
		assert_int_equal(fetch_path_normalize(bad[i].in, bad[i].dest, &o), -1);
		assert_null(o);
		if (!strstr(eidf_last_error(), bad[i].want))
			fail_msg("%s: got \"%s\"", bad[i].in, eidf_last_error());
	}
	/* a name that leaves no room for NAME.part and .eidf-extract.NAME beside it */
	char n241[242], n242[243];
	memset(n241, 'a', 241);
	n241[241] = 0;
	memset(n242, 'a', 242);
	n242[242] = 0;
	char *d241 = xasprintf("dir/%s", n241), *got = NULL;
	assert_int_equal(fetch_path_normalize(d241, 0, &got), 0);
	assert_string_equal(got, d241);
	free(got);
	free(d241);
	assert_int_equal(fetch_path_normalize(n242, 0, &got), -1);
	if (!strstr(eidf_last_error(), "is 242 bytes") || !strstr(eidf_last_error(), "shorter name"))
		fail_msg("got \"%s\"", eidf_last_error());
	assert_int_equal(fetch_path_normalize(n242, 1, &got), 0); /* a directory takes no .part */
	free(got);
	/* over-long component */
	char *longname = xmalloc(300);
	memset(longname, 'a', 299);
	longname[299] = 0;
	char *o = NULL;
	assert_int_equal(fetch_path_normalize(longname, 0, &o), -1);
	free(longname);
}

static void test_sha(void **state)
{
	(void)state;
	char *o;
	assert_int_equal(fetch_sha256_check("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", &o), 0);
	assert_string_equal(o, SHA);
	free(o);
	assert_int_equal(fetch_sha256_check("abc", &o), -1);
	assert_non_null(strstr(eidf_last_error(), "64"));
	assert_int_equal(fetch_sha256_check("g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", &o), -1);
}

static void test_list_parse(void **state)
{
	(void)state;
	const char text[] =
		"# data set\n"
		"\n"
		"http://h/a.bin\n"
		"  http://h/b.bin   -   \r\n"
		"http://h/c.bin " "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855" " sub/c renamed.bin\n"
		"http://h/d.bin\tmy name with spaces.bin\n"
		"\t# indented comment\n"
		"http://h/e.bin";
	struct fetch_list l = FETCH_LIST_INIT;
	if (fetch_list_parse(&l, text, sizeof(text) - 1, "list.txt"))
		fail_msg("%s", eidf_last_error());
	assert_int_equal(l.n, 5);
	assert_string_equal(l.items[0].name, "a.bin");
	assert_null(l.items[0].sha256);
	assert_string_equal(l.items[1].name, "b.bin");
	assert_null(l.items[1].sha256);
	assert_string_equal(l.items[2].name, "sub/c renamed.bin");
	assert_string_equal(l.items[2].sha256, SHA);
	assert_string_equal(l.items[3].name, "my name with spaces.bin");
	assert_string_equal(l.items[4].url, "http://h/e.bin");
	assert_int_equal(fetch_list_finish(&l), 0);
	char *tsv = fetch_list_tsv(&l);
	assert_non_null(strstr(tsv, "http://h/c.bin\te3b0"));
	assert_non_null(strstr(tsv, "\tsub/c renamed.bin\n"));
	assert_non_null(strstr(tsv, "http://h/a.bin\t-\ta.bin\n"));
	free(tsv);
	fetch_list_release(&l);
}

static void test_list_errors(void **state)
{
	(void)state;
	struct { const char *text, *want; } bad[] = {
		{ "http://h/a\nfile:///etc/shadow\n", "list.txt:2: unsupported URL scheme" },
		{ "http://h/a ../../etc/x\n", "list.txt:1: path \"../../etc/x\" contains \"..\"" },
		{ "http://h/a /abs\n", "list.txt:1: file name \"/abs\" is absolute" },
		{ "http://h/\n", "list.txt:1: cannot derive a file name" },
		{ "http://h/a 1234 name\n", NULL },   /* "1234 name" is the name */
	};
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(bad); i++) {
		struct fetch_list l = FETCH_LIST_INIT;
		int rc = fetch_list_parse(&l, bad[i].text, strlen(bad[i].text), "list.txt");
		if (bad[i].want) {
			assert_int_equal(rc, -1);
			if (!strstr(eidf_last_error(), bad[i].want))
				fail_msg("got \"%s\", want \"%s\"", eidf_last_error(), bad[i].want);
		} else {
			assert_int_equal(rc, 0);
			assert_string_equal(l.items[0].name, "1234 name");
		}
		fetch_list_release(&l);
	}
	/* NUL bytes */
	struct fetch_list l = FETCH_LIST_INIT;
	assert_int_equal(fetch_list_parse(&l, "http://h/a\0b\n", 13, "x"), -1);
	fetch_list_release(&l);
	/* duplicates and file/dir clashes */
	const char dup[] = "http://h/a.bin\nhttp://other/x/a.bin\n";
	assert_int_equal(fetch_list_parse(&l, dup, sizeof(dup) - 1, "x"), 0);
	assert_int_equal(fetch_list_finish(&l), -1);
	assert_non_null(strstr(eidf_last_error(), "\"a.bin\""));
	fetch_list_release(&l);
	const char clash[] = "http://h/a d\nhttp://h/b d/x\n";
	assert_int_equal(fetch_list_parse(&l, clash, sizeof(clash) - 1, "x"), 0);
	assert_int_equal(fetch_list_finish(&l), -1);
	fetch_list_release(&l);
	assert_int_equal(fetch_list_finish(&l), -1);
	assert_non_null(strstr(eidf_last_error(), "nothing to fetch"));
}

static void test_checksums(void **state)
{
	(void)state;
	struct fetch_list l = FETCH_LIST_INIT;
	assert_int_equal(fetch_list_add(&l, "http://h/a.bin", NULL, NULL, NULL), 0);
	assert_int_equal(fetch_list_add(&l, "http://h/b.bin", NULL, "sub/b.bin", NULL), 0);
	char text[512];
	snprintf(text, sizeof(text), "# sums\n%s  a.bin\n%s *b.bin\n", SHA, SHA);
	text[7] = 'E'; /* upper case accepted */
	if (fetch_checksums_apply(&l, text, strlen(text), "SHA256SUMS"))
		fail_msg("%s", eidf_last_error());
	assert_string_equal(l.items[0].sha256, SHA);
	assert_string_equal(l.items[1].sha256, SHA);
	fetch_list_release(&l);

	assert_int_equal(fetch_list_add(&l, "http://h/a.bin", NULL, NULL, NULL), 0);
	assert_int_equal(fetch_list_add(&l, "http://h/c.bin", NULL, NULL, NULL), 0);
	snprintf(text, sizeof(text), "%s  a.bin\n", SHA);
	assert_int_equal(fetch_checksums_apply(&l, text, strlen(text), "SUMS"), -1);
	assert_non_null(strstr(eidf_last_error(), "SUMS has no sha256 for c.bin"));
	assert_null(l.items[0].sha256);
	fetch_list_release(&l);

	assert_int_equal(fetch_list_add(&l, "http://h/a.bin", NULL, NULL, NULL), 0);
	assert_int_equal(fetch_checksums_apply(&l, "nothex  a.bin\n", 14, "SUMS"), -1);
	fetch_list_release(&l);
}

static void test_shards(void **state)
{
	(void)state;
	size_t n = 9, shards = 3, seen[3] = { 0 };
	for (size_t k = 0; k < n; k++)
		seen[fetch_shard_of(k, shards)]++;
	for (size_t i = 0; i < shards; i++) {
		assert_int_equal(seen[i], 3);
		assert_int_equal(fetch_shard_size(n, shards, i), 3);
	}
	assert_int_equal(fetch_shard_size(10, 3, 0), 4);
	assert_int_equal(fetch_shard_size(10, 3, 1), 3);
	assert_int_equal(fetch_shard_size(10, 3, 2), 3);
	assert_int_equal(fetch_shard_size(2, 3, 2), 0);
	assert_int_equal(fetch_shard_size(2, 3, 5), 0);
	size_t total = 0;
	for (size_t i = 0; i < 7; i++)
		total += fetch_shard_size(100, 7, i);
	assert_int_equal(total, 100);
}

static void test_progress(void **state)
{
	(void)state;
	const char log[] =
		"eidf-fetch: index 0 of 1: 2 file(s) into /mnt/ceph\n"
		"eidf-fetch progress files=0/2 bytes=0 total=0 rate=0 file=\n"
		"eidf-fetch progress files=0/2 bytes=1048576 total=4194304 rate=524288 file=my file.bin\r\n"
		"eidf-fetch progress files=x/2 bytes=nan total=99999999999999999999999 rate=-1 file=z\n"
		"garbage eidf-fetch bogus=1\n"
		"eidf-fetch error file=b c.bin reason=sha256 mismatch\n"
		"eidf-fetch progress files=1/2";  /* cut mid-line */
	struct fetch_progress p = { 0 };
	fetch_progress_scan(&p, log, sizeof(log) - 1);
	assert_true(p.seen);
	assert_int_equal(p.files_done, 1);
	assert_int_equal(p.files_total, 2);
	assert_int_equal(p.bytes, 1048576);
	assert_int_equal(p.total, 4194304);
	assert_int_equal(p.rate, 524288);
	assert_string_equal(p.file, "z");
	assert_string_equal(p.error, "b c.bin: sha256 mismatch");
	assert_int_equal(fetch_progress_eta(&p), 6);
	assert_false(p.done);

	struct fetch_progress sum = { 0 };
	fetch_progress_add(&sum, &p);
	fetch_progress_add(&sum, &p);
	assert_int_equal(sum.files_total, 4);
	assert_int_equal(sum.bytes, 2097152);
	assert_int_equal(sum.rate, 1048576);
	fetch_progress_release(&sum);

	fetch_progress_scan(&p, "eidf-fetch done files=2/2 bytes=5000000\n", 40);
	assert_true(p.done);
	assert_null(p.file);
	assert_int_equal(p.bytes, 5000000);
	assert_int_equal(p.total, 5000000);
	assert_int_equal(fetch_progress_eta(&p), -1);
	fetch_progress_release(&p);

	fetch_progress_scan(&p, "eidf-fetch failed files=0/1\n", 28);
	assert_true(p.failed);
	fetch_progress_release(&p);

	/* every failed file with its cause, decided from the fields */
	const char errs[] =
		"eidf-fetch progress files=1/6 bytes=10 total=40 rate=1 fbytes=5 ftotal=20 file=x y.bin\n"
		"eidf-fetch error code=1 http=500 curl=22 file=a b.bin reason=curl exit 22 (HTTP 500) after 3 attempts\n"
		"eidf-fetch error code=3 file=c.bin reason=sha256 mismatch\n"
		"eidf-fetch error code=4 http=404 file=d.bin reason=HTTP 404\n"
		"eidf-fetch error code=1 curl=7 file=e.bin reason=curl exit 7 after 3 attempts\n"
		"eidf-fetch error code=1 http=500 curl=22 file=f.bin reason=curl exit 22 (HTTP 500) after 3 attempts\n"
		"eidf-fetch error file=old.bin reason=something\n";
	fetch_progress_scan(&p, errs, sizeof(errs) - 1);
	assert_int_equal(p.nerrors, 6);
	assert_string_equal(p.errors[0].file, "a b.bin");
	assert_int_equal(p.errors[0].http, 500);
	assert_int_equal(p.errors[0].curl, 22);
	char *c = fetch_error_cause(&p.errors[0]);
	assert_string_equal(c, "HTTP 500");
	free(c);
	c = fetch_error_cause(&p.errors[3]);
	assert_string_equal(c, "connection refused");
	free(c);
	c = fetch_errors_summary(p.errors, p.nerrors);
	assert_string_equal(c, "HTTP 500 (2 files), sha256 mismatch (1 file), HTTP 404 (1 file), "
			       "connection refused (1 file), something (1 file)");
	free(c);
	assert_null(fetch_errors_summary(p.errors, 0));
	/* the bar: 1 of 6 files plus a quarter of the current one */
	fetch_progress_release(&p);
	fetch_progress_scan(&p, errs, 90);
	assert_int_equal(p.ftotal, 20);
	assert_true(fetch_progress_fraction(&p, 6) > 0.2083 && fetch_progress_fraction(&p, 6) < 0.2084);
	struct fetch_progress two = { 0 };
	fetch_progress_add(&two, &p);
	fetch_progress_add(&two, &p);
	assert_true(fetch_progress_fraction(&two, 12) > 0.2083 && fetch_progress_fraction(&two, 12) < 0.2084);
	fetch_progress_release(&two);
	fetch_progress_release(&p);
}

/* --purge-partial takes only names from a list, each checked again. */
static void test_list_names(void **state)
{
	(void)state;
	struct strvec n = STRVEC_INIT;
	assert_int_equal(fetch_list_names("http://h/a?sig=x\t-\ta b.bin\n-\t-\tsub/c.bin\n", &n), 0);
	assert_int_equal(n.n, 2);
	assert_string_equal(n.v[0], "a b.bin");
	assert_string_equal(n.v[1], "sub/c.bin");
	strvec_clear(&n);
	assert_int_equal(fetch_list_names("-\t-\t../etc/passwd\n", &n), -1);
	assert_int_equal(fetch_list_names("-\t-\t/abs\n", &n), -1);
	assert_int_equal(fetch_list_names("-\t-\ta//b\n", &n), -1);
	assert_int_equal(fetch_list_names("no tabs here\n", &n), -1);
	strvec_clear(&n);
}

/* States from the Job and its pods together (the shared derivation). */
static cJSON *parse(const char *s)
{
	cJSON *j = cJSON_Parse(s);
	assert_non_null(j);
	return j;
}

static enum fetch_state state_of(const char *job, const char *pods, long *exit_code)
{
	cJSON *j = parse(job), *p = parse(pods);
	struct fetch_pods fp;
	fetch_pods_derive(j, p, &fp);
	enum fetch_state s = fp.state;
	if (exit_code)
		*exit_code = fp.exit_code;
	fetch_pods_release(&fp);
	cJSON_Delete(j);
	cJSON_Delete(p);
	return s;
}

#define JOB(status) "{\"metadata\":{\"name\":\"fetch-x\",\"uid\":\"u1\"},\"spec\":{\"backoffLimit\":3," \
	"\"podFailurePolicy\":{\"rules\":[{\"action\":\"FailJob\",\"onExitCodes\":{\"operator\":\"In\"," \
	"\"values\":[2,3,4,5,6]}}]}},\"status\":" status "}"
#define POD(name, ts, status) "{\"metadata\":{\"name\":\"" name "\",\"creationTimestamp\":\"" ts "\"," \
	"\"labels\":{\"job-name\":\"fetch-x\",\"controller-uid\":\"u1\"}},\"status\":" status "}"
#define TERM(code) "{\"phase\":\"Failed\",\"containerStatuses\":[{\"name\":\"fetch\",\"state\":" \
	"{\"terminated\":{\"exitCode\":" #code ",\"reason\":\"Error\"}}}]}"

static void test_states(void **state)
{
	(void)state;
	long code;
	/* status.active counts a Pending pod: the pods say Unschedulable */
	assert_int_equal(state_of(JOB("{\"active\":1}"),
				  "[" POD("p1", "2024-01-01T00:00:00Z", "{\"phase\":\"Pending\",\"conditions\":[{"
					  "\"type\":\"PodScheduled\",\"status\":\"False\",\"reason\":\"Unschedulable\"}]}") "]",
				  NULL), FS_UNSCHEDULABLE);
	/* the pod succeeded, the Job has no condition yet: Completing, not Pending */
	assert_int_equal(state_of(JOB("{}"), "[" POD("p1", "2024-01-01T00:00:00Z", "{\"phase\":\"Succeeded\"}") "]",
				  NULL), FS_COMPLETING);
	/* a FailJob exit code: Failing at once, with the exit code */
	assert_int_equal(state_of(JOB("{}"), "[" POD("p1", "2024-01-01T00:00:00Z", TERM(3)) "]", &code), FS_FAILING);
	assert_int_equal(code, 3);
	/* a transient failure and a new pod running: Retrying, the failed pod explains it */
	assert_int_equal(state_of(JOB("{}"), "[" POD("p1", "2024-01-01T00:00:00Z", TERM(1)) ","
				  POD("p2", "2024-01-01T00:00:05Z", "{\"phase\":\"Running\"}") "]", &code), FS_RETRYING);
	assert_int_equal(code, 1);
	assert_int_equal(state_of(JOB("{\"conditions\":[{\"type\":\"Failed\",\"status\":\"True\","
				      "\"reason\":\"PodFailurePolicy\"}]}"),
				  "[" POD("p1", "2024-01-01T00:00:00Z", TERM(4)) "]", &code), FS_FAILED);
	assert_int_equal(code, 4);
	/* --extract: Pending while the fetch init container downloads is Running */
	const char *init_running = "{\"phase\":\"Pending\",\"conditions\":[{\"type\":\"PodScheduled\","
		"\"status\":\"True\"}],\"initContainerStatuses\":[{\"name\":\"fetch\",\"state\":{\"running\":{}}}],"
		"\"containerStatuses\":[{\"name\":\"extract\",\"state\":{\"waiting\":{\"reason\":\"PodInitializing\"}}}]}";
	char *pods = xasprintf("[{\"metadata\":{\"name\":\"p1\",\"creationTimestamp\":\"2024-01-01T00:00:00Z\","
			       "\"labels\":{\"job-name\":\"fetch-x\",\"controller-uid\":\"u1\"}},"
			       "\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"extract\"}]},\"status\":%s}]",
			       init_running);
	assert_int_equal(state_of(JOB("{\"active\":1}"), pods, NULL), FS_RUNNING);
	cJSON *pl = parse(pods);
	const cJSON *pod = cJSON_GetArrayItem(pl, 0);
	assert_true(fetch_pod_started(pod) && fetch_pod_has_extract(pod));
	assert_false(fetch_pod_extract_started(pod));
	cJSON_Delete(pl);
	free(pods);
	/* the extract container refused an archive: its exit code decides */
	assert_int_equal(state_of(JOB("{}"), "[" POD("p1", "2024-01-01T00:00:00Z", "{\"phase\":\"Failed\","
				  "\"initContainerStatuses\":[{\"name\":\"fetch\",\"state\":{\"terminated\":{\"exitCode\":0}}}],"
				  "\"containerStatuses\":[{\"name\":\"extract\",\"state\":{\"terminated\":"
				  "{\"exitCode\":5,\"reason\":\"Error\"}}}]}") "]", &code), FS_FAILING);
	assert_int_equal(code, 5);
	struct fetch_error fe = { .file = "d.tar", .reason = "refusing to extract: h: hard link to ../v: x",
				  .code = 5, .http = -1, .curl = -1 };
	char *cause = fetch_errors_summary(&fe, 1);
	assert_string_equal(cause, "d.tar: refusing to extract: h: hard link to ../v: x (1 file)");
	free(cause);
	assert_string_equal(fetch_state_word(FS_COMPLETE), "Complete");
	assert_true(fetch_state_finished(FS_COMPLETING) && fetch_state_ok(FS_COMPLETING));
	assert_false(fetch_state_ok(FS_FAILING));
	assert_string_equal(fetch_exit_meaning(FETCH_EXIT_SHA256), "sha256 mismatch");
}

static const cJSON *find_env(const cJSON *c, const char *name)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(c, "env"))
		if (!strcmp(json_str(e, "name"), name))
			return e;
	return NULL;
}

/* labels and annotations have dots in their keys */
static const char *key_of(const cJSON *obj, const char *map, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(json_get(obj, map), key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_manifest(void **state)
{
	(void)state;
	struct fetch_list l = FETCH_LIST_INIT;
	for (int i = 0; i < 9; i++) {
		char *u = xasprintf("http://h/f%d.bin?sig=secret%d", i, i);
		assert_int_equal(fetch_list_add(&l, u, i == 0 ? SHA : NULL, i == 1 ? "$(reboot) `x`.bin" : NULL, NULL), 0);
		free(u);
	}
	struct strvec headers = STRVEC_INIT;
	strvec_push(&headers, "X-Test: 1");
	struct fetch_job_opts o = {
		.namespace = "eidf989ns", .pvc = "data", .dest = "sets/x", .mount_path = "/mnt/ceph",
		.image = "alpine/curl:latest", .cpu = "1", .memory = "1Gi", .run_id = "abc123",
		.headers = &headers, .header_secret = "hf-token", .ttl = 1800, .retries = 10,
		.backoff_limit = 6, .parallel = 3, .interval = 5, .extract = 1,
		.extract_image = "python:3.14-alpine", .extract_script = "echo wrapper",
		.extract_program = "print('x')",
	};
	cJSON *cm = NULL;
	cJSON *job = fetch_job_manifest(&o, &l, "echo script", &cm);
	assert_non_null(job);
	/* presigned URLs: the list goes into a Secret, nowhere in the Job */
	assert_non_null(cm);
	assert_string_equal(json_str(cm, "kind"), "Secret");
	assert_string_equal(json_str(cm, "metadata.name"), "fetch-list-abc123");
	char *whole = cJSON_PrintUnformatted(job);
	assert_null(strstr(whole, "sig=secret"));
	free(whole);
	struct strbuf dec = STRBUF_INIT;
	const char *b64 = json_str(cm, "data.list");
	assert_int_equal(base64_decode(b64, strlen(b64), &dec), 0);
	assert_non_null(strstr(strbuf_str(&dec), "http://h/f3.bin?sig=secret3\t-\tf3.bin\n"));
	assert_non_null(strstr(strbuf_str(&dec), "\t$(reboot) `x`.bin\n"));
	strbuf_release(&dec);
	assert_string_equal(json_str(cJSON_GetArrayItem(json_get(job, "spec.template.spec.volumes"), 0), "secret.secretName"),
			    "fetch-list-abc123");
	cJSON_Delete(cm);
	cm = NULL;
	/* deterministic exit codes fail the Job at once, disruptions are ignored */
	const cJSON *rules = json_get(job, "spec.podFailurePolicy.rules");
	assert_int_equal(cJSON_GetArraySize(rules), 2);
	const cJSON *r0 = cJSON_GetArrayItem(rules, 0);
	assert_string_equal(json_str(r0, "action"), "FailJob");
	assert_null(json_get(r0, "onExitCodes.containerName"));
	assert_string_equal(json_str(r0, "onExitCodes.operator"), "In");
	char *vals = cJSON_PrintUnformatted(json_get(r0, "onExitCodes.values"));
	assert_string_equal(vals, "[2,3,4,5,6]");
	free(vals);
	const cJSON *r1 = cJSON_GetArrayItem(rules, 1);
	assert_string_equal(json_str(r1, "action"), "Ignore");
	assert_string_equal(json_str(cJSON_GetArrayItem(json_get(r1, "onPodConditions"), 0), "type"), "DisruptionTarget");
	assert_string_equal(json_str(job, "metadata.generateName"), "fetch-");
	assert_null(json_get(job, "metadata.name"));
	assert_string_equal(key_of(job, "metadata.labels", LABEL_QUEUE), "eidf989ns-user-queue");
	assert_string_equal(key_of(job, "metadata.labels", LABEL_STAGE), "fetch");
	assert_string_equal(json_str(job, "spec.completionMode"), "Indexed");
	assert_int_equal(json_long(job, "spec.completions", 0), 3);
	assert_int_equal(json_long(job, "spec.parallelism", 0), 3);
	assert_int_equal(json_long(job, "spec.ttlSecondsAfterFinished", 0), 1800);
	const char *urls = key_of(job, "metadata.annotations", FETCH_ANN_URLS);
	assert_non_null(urls);
	assert_null(strstr(urls, "secret"));
	assert_string_equal(key_of(job, "metadata.annotations", FETCH_ANN_PVC), "data");
	/* --extract: the download is an init container, the extractor runs after it */
	const cJSON *c = cJSON_GetArrayItem(json_get(job, "spec.template.spec.initContainers"), 0);
	assert_string_equal(json_str(c, "name"), FETCH_CONTAINER);
	const cJSON *x = cJSON_GetArrayItem(json_get(job, "spec.template.spec.containers"), 0);
	assert_int_equal(cJSON_GetArraySize(json_get(job, "spec.template.spec.containers")), 1);
	assert_string_equal(json_str(x, "name"), FETCH_EXTRACT_CONTAINER);
	assert_string_equal(json_str(x, "image"), "python:3.14-alpine");
	assert_string_equal(json_str(x, "resources.limits.cpu"), "1");
	const cJSON *xcmd = cJSON_GetObjectItem(x, "command");
	assert_int_equal(cJSON_GetArraySize(xcmd), 5);
	assert_string_equal(cJSON_GetArrayItem(xcmd, 2)->valuestring, "echo wrapper");
	assert_string_equal(cJSON_GetArrayItem(xcmd, 4)->valuestring, "print('x')");
	char *xargs = cJSON_PrintUnformatted(cJSON_GetObjectItem(x, "args"));
	assert_string_equal(xargs, "[\"--dest\",\"/mnt/ceph/sets/x\",\"--shards\",\"3\",\"--list\",\"" FETCH_LIST_DIR "/" FETCH_LIST_KEY "\"]");
	free(xargs);
	/* the extractor gets the list, never the headers or the header Secret */
	assert_null(find_env(x, "EIDF_FETCH_HEADERS"));
	char *xs = cJSON_PrintUnformatted(x);
	assert_null(strstr(xs, "hf-token"));
	assert_non_null(strstr(xs, "\"mountPath\":\"/mnt/ceph\""));
	free(xs);
	assert_string_equal(json_str(c, "resources.requests.cpu"), "1");
	assert_string_equal(json_str(c, "resources.limits.memory"), "1Gi");
	/* the script text is constant: no URL or name in it */
	const cJSON *cmdv = cJSON_GetObjectItem(c, "command");
	assert_int_equal(cJSON_GetArraySize(cmdv), 4);
	assert_string_equal(cJSON_GetArrayItem(cmdv, 2)->valuestring, "echo script");
	assert_null(find_env(c, "EIDF_FETCH_LIST"));
	assert_string_equal(json_str(find_env(c, "EIDF_FETCH_RUN"), "value"), "abc123");
	assert_non_null(find_env(c, "EIDF_FETCH_HEADERS"));
	char *args = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "args"));
	assert_non_null(strstr(args, "\"--dest\",\"/mnt/ceph/sets/x\""));
	assert_non_null(strstr(args, "\"--shards\",\"3\""));
	assert_null(strstr(args, "\"--extract\""));
	assert_non_null(strstr(args, "\"--header-dir\""));
	free(args);
	assert_int_equal(manifest_check_job_policy(job), 0);
	cJSON_Delete(job);

	/* without query strings a small list is an env var */
	fetch_list_release(&l);
	assert_int_equal(fetch_list_add(&l, "http://h/a.bin", SHA, "$(reboot) `x`.bin", NULL), 0);
	job = fetch_job_manifest(&o, &l, "echo script", &cm);
	assert_null(cm);
	c = cJSON_GetArrayItem(json_get(job, "spec.template.spec.initContainers"), 0);
	const cJSON *env = find_env(c, "EIDF_FETCH_LIST");
	assert_non_null(env);
	assert_non_null(strstr(json_str(env, "value"), "\t$(reboot) `x`.bin\n"));
	x = cJSON_GetArrayItem(json_get(job, "spec.template.spec.containers"), 0);
	assert_string_equal(json_str(find_env(x, "EIDF_FETCH_LIST"), "value"), json_str(env, "value"));
	cJSON_Delete(job);

	/* a large list moves into a ConfigMap */
	for (int i = 0; i < 3000; i++) {
		char *u = xasprintf("http://h/some/long/path/for/padding/file-%05d.bin", i);
		assert_int_equal(fetch_list_add(&l, u, SHA, NULL, NULL), 0);
		free(u);
	}
	o.parallel = 1;
	o.header_secret = NULL;
	job = fetch_job_manifest(&o, &l, "echo script", &cm);
	assert_non_null(cm);
	assert_string_equal(json_str(cm, "kind"), "ConfigMap");
	assert_string_equal(json_str(cm, "metadata.name"), "fetch-list-abc123");
	assert_null(json_get(job, "spec.completionMode"));
	c = cJSON_GetArrayItem(json_get(job, "spec.template.spec.containers"), 0);
	assert_null(find_env(c, "EIDF_FETCH_LIST"));
	args = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "args"));
	assert_non_null(strstr(args, "\"--list\""));
	free(args);
	cJSON_Delete(job);
	cJSON_Delete(cm);
	strvec_clear(&headers);
	fetch_list_release(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_ok),
		cmocka_unit_test(test_url_refused),
		cmocka_unit_test(test_url_redact),
		cmocka_unit_test(test_name_from_url),
		cmocka_unit_test(test_path_normalize),
		cmocka_unit_test(test_sha),
		cmocka_unit_test(test_list_parse),
		cmocka_unit_test(test_list_errors),
		cmocka_unit_test(test_checksums),
		cmocka_unit_test(test_shards),
		cmocka_unit_test(test_progress),
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_list_names),
		cmocka_unit_test(test_manifest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
