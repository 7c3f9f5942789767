/* http_header.c: the one check every request header value goes through
 * (Go's net/http rule), and the Impersonate-Extra-<key> escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "eidf/http_header.h"
#include "eidf/util.h"

static void test_values(void **state)
{
	static const char *const ok[] = { "", "Bearer abc.def-ghi_~+/=", "a\tb", "caf\xc3\xa9", "x y" };
	static const char *const bad[] = { "abc\r\nX-Injected: yes", "abc\nX-Injected: yes", "abc\r",
					   "a\x01" "b", "a\x7f", "\x1b[31m", "a\x0b" };
	(void)state;
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(ok); i++)
		assert_true(http_header_value_valid(ok[i]));
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(bad); i++)
		assert_false(http_header_value_valid(bad[i]));
}

static void test_check_names_the_source_never_the_value(void **state)
{
	(void)state;
	assert_int_equal(http_header_check("Authorization", "Bearer SECRET\r\nX-Injected: yes",
					   "the token from --token"), -1);
	assert_string_equal(eidf_last_error(), "invalid header field value for \"Authorization\": "
			    "the token from --token contains a control character (CR, LF, NUL...); "
			    "remove it");
	assert_null(strstr(eidf_last_error(), "SECRET"));
	assert_int_equal(http_header_check("Bad Name", "v", "x"), -1);
	assert_int_equal(http_header_check("Impersonate-User", "bob", "--as"), 0);
}

static void test_append(void **state)
{
	struct curl_slist *l = NULL;
	(void)state;
	assert_int_equal(http_header_append(&l, "Impersonate-User", "bob", "--as"), 0);
	assert_int_equal(http_header_append(&l, "Impersonate-Group", "", "--as-group"), 0);
	assert_int_equal(http_header_append(&l, "Impersonate-Uid", "1\n2", "--as-uid"), -1);
	assert_string_equal(l->data, "Impersonate-User: bob");
	assert_string_equal(l->next->data, "Impersonate-Group;");
	assert_null(l->next->next);
	curl_slist_free_all(l);
	/* Go's textproto.TrimString: no leading or trailing blanks on the wire */
	l = NULL;
	assert_int_equal(http_header_append(&l, "Authorization", "Bearer SECRET-T \t ", "t"), 0);
	assert_int_equal(http_header_append(&l, "Impersonate-User", " \tbob", "--as"), 0);
	assert_int_equal(http_header_append(&l, "Impersonate-Group", "  ", "--as-group"), 0);
	assert_string_equal(l->data, "Authorization: Bearer SECRET-T");
	assert_string_equal(l->next->data, "Impersonate-User: bob");
	assert_string_equal(l->next->next->data, "Impersonate-Group;");
	curl_slist_free_all(l);
}

/* a token file's bytes: a NUL inside would end the C string before the check */
static void test_check_bytes(void **state)
{
	(void)state;
	assert_int_equal(http_header_check_bytes("Authorization", "SECRET\n", 7, "the token in F"), 0);
	assert_int_equal(http_header_check_bytes("Authorization", "SECRET\0X", 8, "the token in F"), -1);
	assert_non_null(strstr(eidf_last_error(), "the token in F contains a control character"));
	assert_null(strstr(eidf_last_error(), "SECRET"));
}

static void test_extra_key_escaping(void **state)
{
	static const struct {
		const char *key, *want;
	} cases[] = {
		{ "scopes", "Impersonate-Extra-Scopes" },
		{ "example.org/team", "Impersonate-Extra-Example.org%2fteam" },
		{ "100%", "Impersonate-Extra-100%25" },
		{ "a b\r\nX-Injected", "Impersonate-Extra-A%20b%0d%0ax-Injected" },
	};
	(void)state;
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(cases); i++) {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addstr(&sb, "Impersonate-Extra-");
		http_header_escape_key(&sb, cases[i].key);
		http_header_canonical(sb.buf);
		assert_string_equal(sb.buf, cases[i].want);
		assert_true(http_header_name_valid(sb.buf, sb.len));
		strbuf_release(&sb);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_check_names_the_source_never_the_value),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_check_bytes),
		cmocka_unit_test(test_extra_key_escaping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
