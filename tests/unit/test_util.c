/* util.c: allocation helpers, strbuf, strvec, errors, files, base64, sha256. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eidf/util.h"

static void test_xstr(void **state)
{
	(void)state;
	char *s = xstrdup("abc");
	assert_string_equal(s, "abc");
	free(s);
	assert_null(xstrdup(NULL));
	s = xstrndup("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);
	s = xstrndup("ab", 10);
	assert_string_equal(s, "ab");
	free(s);
	s = xasprintf("%s-%d", "x", 42);
	assert_string_equal(s, "x-42");
	free(s);
}

static void test_strbuf(void **state)
{
	(void)state;
	struct strbuf sb = STRBUF_INIT;
	assert_string_equal(strbuf_str(&sb), "");
	strbuf_addstr(&sb, "hello");
	strbuf_addch(&sb, ' ');
	strbuf_addf(&sb, "%s %d", "world", 7);
	assert_string_equal(sb.buf, "hello world 7");
	assert_int_equal(sb.len, 13);
	strbuf_add(&sb, "\0x", 2);
	assert_int_equal(sb.len, 15);
	assert_int_equal(sb.buf[13], '\0');
	strbuf_reset(&sb);
	assert_string_equal(strbuf_str(&sb), "");
	/* long formatted string crosses the initial allocation */
	char big[1000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	strbuf_addf(&sb, "<%s>", big);
	assert_int_equal(sb.len, 1001);
	assert_int_equal(sb.buf[0], '<');
	assert_int_equal(sb.buf[1000], '>');
	char *d = strbuf_detach(&sb);
	assert_null(sb.buf);
	assert_int_equal(strlen(d), 1001);
	free(d);
	d = strbuf_detach(&sb);
	assert_string_equal(d, "");
	free(d);
	strbuf_release(&sb);
}

static void test_strvec(void **state)
{
	(void)state;
	struct strvec sv = STRVEC_INIT;
	for (int i = 0; i < 20; i++)
		strvec_pushf(&sv, "item%d", i);
	strvec_push(&sv, "x");
	strvec_push_owned(&sv, xstrdup("y"));
	assert_int_equal(sv.n, 22);
	assert_null(sv.v[sv.n]);
	assert_string_equal(sv.v[5], "item5");
	assert_true(strvec_contains(&sv, "y"));
	assert_false(strvec_contains(&sv, "z"));
	strvec_clear(&sv);
	assert_int_equal(sv.n, 0);
	assert_null(sv.v);
}

static void test_errors(void **state)
{
	(void)state;
	eidf_set_error("bad %s", "thing");
	assert_string_equal(eidf_last_error(), "bad thing");
	eidf_set_error("two\nlines");
	assert_string_equal(eidf_last_error(), "two lines");
}

static void test_files(void **state)
{
	(void)state;
	char dir[] = "/tmp/eidf-util-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *path = xasprintf("%s/f", dir);
	struct strbuf sb = STRBUF_INIT;

	assert_int_equal(write_file_atomic(path, "a\0b", 3, 0600), 0);
	assert_int_equal(read_file(path, &sb), 0);
	assert_int_equal(sb.len, 3);
	assert_memory_equal(sb.buf, "a\0b", 3);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	strbuf_release(&sb);

	unlink(path);
	assert_int_equal(read_file(path, &sb), -1);
	assert_non_null(strstr(eidf_last_error(), path));
	strbuf_release(&sb);

	char *bad = xasprintf("%s/nodir/f", dir);
	assert_int_equal(write_file_atomic(bad, "x", 1, 0644), -1);
	assert_non_null(strstr(eidf_last_error(), bad));
	free(bad);
	rmdir(dir);
	free(path);
}

static void test_predicates(void **state)
{
	(void)state;
	assert_true(starts_with("foobar", "foo"));
	assert_true(starts_with("foo", ""));
	assert_false(starts_with("fo", "foo"));
	assert_true(ends_with("foobar", "bar"));
	assert_false(ends_with("ar", "bar"));
	assert_true(is_dns1123_label("data-1"));
	assert_true(is_dns1123_label("a"));
	assert_false(is_dns1123_label(""));
	assert_false(is_dns1123_label("-a"));
	assert_false(is_dns1123_label("a-"));
	assert_false(is_dns1123_label("Data"));
	assert_false(is_dns1123_label("a.b"));
	char l63[64], l64[65];
	memset(l63, 'a', 63);
	l63[63] = 0;
	memset(l64, 'a', 64);
	l64[64] = 0;
	assert_true(is_dns1123_label(l63));
	assert_false(is_dns1123_label(l64));
	assert_true(is_dns1123_subdomain("a.b-c.d"));
	assert_false(is_dns1123_subdomain("a..b"));
	assert_false(is_dns1123_subdomain("a.b."));
	assert_false(is_dns1123_subdomain("A.b"));
	assert_false(is_dns1123_subdomain(NULL));
}

static void test_base64(void **state)
{
	(void)state;
	static const struct {
		const char *plain, *enc;
	} cases[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(cases); i++) {
		char *e = base64_encode(cases[i].plain, strlen(cases[i].plain));
		assert_string_equal(e, cases[i].enc);
		free(e);
		struct strbuf sb = STRBUF_INIT;
		assert_int_equal(base64_decode(cases[i].enc, strlen(cases[i].enc), &sb), 0);
		assert_string_equal(strbuf_str(&sb), cases[i].plain);
		strbuf_release(&sb);
	}
	struct strbuf sb = STRBUF_INIT;
	/* line breaks (PEM style) and missing padding are accepted */
	assert_int_equal(base64_decode("Zm9v\nYmE", 8, &sb), 0);
	assert_string_equal(sb.buf, "fooba");
	strbuf_reset(&sb);
	assert_int_equal(base64_decode("Zm9v!", 5, &sb), -1);
	strbuf_reset(&sb);
	assert_int_equal(base64_decode("Zm=9", 4, &sb), -1);
	strbuf_reset(&sb);
	assert_int_equal(base64_decode("Z", 1, &sb), -1);
	strbuf_reset(&sb);
	assert_int_equal(base64_decode("Zg===", 5, &sb), -1);
	strbuf_release(&sb);
	/* binary round trip */
	unsigned char bin[256];
	for (int i = 0; i < 256; i++)
		bin[i] = (unsigned char)i;
	char *e = base64_encode(bin, sizeof(bin));
	assert_int_equal(base64_decode(e, strlen(e), &sb), 0);
	assert_int_equal(sb.len, 256);
	assert_memory_equal(sb.buf, bin, 256);
	free(e);
	strbuf_release(&sb);
}

static void test_sha256(void **state)
{
	(void)state;
	char out[65];
	sha256_hex("", 0, out);
	assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256_hex("abc", 3, out);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* Quoted words read back by a shell are the words: checked with sh itself. */
static void test_quoted_path(void **state)
{
	(void)state;
	struct strbuf sb = STRBUF_INIT;
	const struct { const char *in, *out; } t[] = {
		{ "plain/file.txt", "plain/file.txt" },
		{ "with space", "with space" },
		{ "caf\xc3\xa9.txt", "caf\xc3\xa9.txt" },          /* UTF-8 stays readable */
		{ "new\nline.txt", "\"new\\nline.txt\"" },       /* git: "new\nline.txt" */
		{ "tab\there", "\"tab\\there\"" },
		{ "q\"uote", "\"q\\\"uote\"" },
		{ "back\\slash", "\"back\\\\slash\"" },
		{ "esc\x1b[31m", "\"esc\\033[31m\"" },
		{ "del\x7f", "\"del\\177\"" },
	};
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(t); i++) {
		strbuf_reset(&sb);
		strbuf_add_quoted_path(&sb, t[i].in);
		assert_string_equal(strbuf_str(&sb), t[i].out);
	}
	strbuf_release(&sb);
}

static void test_shell_quote(void **state)
{
	(void)state;
	const char *w[] = { "python", "a b", "", "it's", "$HOME", "two\nlines", "tab\there", "x=1,y:2/z.%@+-_" };
	char *j = shell_join(w, EIDF_ARRAY_SIZE(w));
	assert_string_equal(j, "python 'a b' '' 'it'\\''s' '$HOME' $'two\\nlines' $'tab\\there' x=1,y:2/z.%@+-_");
	free(j);
	const char *odd[] = { "q'\\\x01\x7f" };
	j = shell_join(odd, 1);
	assert_string_equal(j, "$'q\\'\\\\\\x01\\x7f'");
	free(j);
	/* bash reads every form back to the same bytes */
	if (system("command -v bash >/dev/null 2>&1") == 0) {
		char *all = shell_join(w, EIDF_ARRAY_SIZE(w));
		struct strbuf script = STRBUF_INIT;
		strbuf_addf(&script, "set -- %s; printf '[%%s]' \"$@\"", all);
		char *path = xasprintf("/tmp/eidf-quote-%d.sh", (int)getpid());
		assert_int_equal(write_file_atomic(path, script.buf, script.len, 0600), 0);
		char *run = xasprintf("bash %s", path);
		FILE *p = popen(run, "r");
		char buf[512] = "";
		size_t n = fread(buf, 1, sizeof(buf) - 1, p);
		buf[n] = '\0';
		pclose(p);
		assert_string_equal(buf, "[python][a b][][it's][$HOME][two\nlines][tab\there][x=1,y:2/z.%@+-_]");
		unlink(path);
		free(run);
		free(path);
		strbuf_release(&script);
		free(all);
	}
}

/* sleep_ms sleeps at least that long on the clock monotonic_ms reads */
static void test_time(void **state)
{
	(void)state;
	long t0 = monotonic_ms();
	assert_true(t0 >= 0);
	sleep_ms(30);
	long t1 = monotonic_ms();
	assert_true(t1 - t0 >= 30);
	assert_true(t1 - t0 < 10000);
	sleep_ms(0);
	assert_true(monotonic_ms() >= t1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xstr),     cmocka_unit_test(test_strbuf),
		cmocka_unit_test(test_strvec),   cmocka_unit_test(test_errors),
		cmocka_unit_test(test_files),    cmocka_unit_test(test_predicates),
		cmocka_unit_test(test_time),     cmocka_unit_test(test_shell_quote), cmocka_unit_test(test_quoted_path),
		cmocka_unit_test(test_base64),   cmocka_unit_test(test_sha256),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
