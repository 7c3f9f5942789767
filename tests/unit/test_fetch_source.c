/* fetch's listed sources without a network: the S3 ListObjectsV2 and error
 * XML, object URLs in both addressing styles, hf:// references, RFC 8288
 * next links, globs, and the list fields the Job reads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "eidf/httpc.h"
#include "source.h"

static void test_s3_page(void **state)
{
	(void)state;
	const char *xml =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>"
		"<Prefix>d%2F</Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys><EncodingType>url</EncodingType>"
		"<IsTruncated>true</IsTruncated>"
		"<Contents><Key>d/a+b+%C3%BC%2B.txt</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>"
		"<ETag>&quot;0123456789abcdef0123456789abcdef&quot;</ETag><Size>19</Size></Contents>"
		"<Contents><Key>d/big.bin</Key><ETag>\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-12\"</ETag>"
		"<Size>5000000000000</Size></Contents>"
		"<Contents><Key>d/x&amp;y</Key><Size>0</Size></Contents>"
		"<NextContinuationToken>tok/+=</NextContinuationToken></ListBucketResult>";
	struct s3_page p = { 0 };
	assert_int_equal(s3_parse_list_page(xml, strlen(xml), &p), 0);
	assert_int_equal(p.n, 3);
	assert_string_equal(p.obj[0].key, "d/a b \xc3\xbc+.txt");
	assert_string_equal(p.obj[0].etag, "0123456789abcdef0123456789abcdef");
	assert_int_equal(p.obj[0].size, 19);
	assert_true(p.obj[1].size == 5000000000000LL);
	assert_string_equal(p.obj[1].etag, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-12");
	assert_string_equal(p.obj[2].key, "d/x&y");
	assert_null(p.obj[2].etag);
	assert_string_equal(p.next_token, "tok/+=");
	s3_page_release(&p);

	const char *bad[] = {
		"<Error><Code>NoSuchBucket</Code></Error>",
		"<ListBucketResult><Contents><Key>a</Key></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a</Key><Size>1",
	};
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(bad); i++) {
		struct s3_page q = { 0 };
		assert_int_equal(s3_parse_list_page(bad[i], strlen(bad[i]), &q), -1);
		s3_page_release(&q);
	}
	char *code, *msg;
	const char *err = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code>"
			  "<Message>a &lt;b&gt; &#233;</Message></Error>";
	s3_parse_error(err, strlen(err), &code, &msg);
	assert_string_equal(code, "SignatureDoesNotMatch");
	assert_string_equal(msg, "a <b> \xc3\xa9");
	free(code);
	free(msg);
}

static void test_s3_urls(void **state)
{
	(void)state;
	char *b, *p;
	assert_int_equal(s3_parse("s3://my-bucket/data/x y", &b, &p), 0);
	assert_string_equal(b, "my-bucket");
	assert_string_equal(p, "data/x y");
	struct s3_credentials none = { 0 };
	struct s3_source_opts o = { .region = "eu-west-2", .addressing = "auto", .cred = &none };
	char *u = s3_object_url(&o, b, "a b/\xc3\xbc+~.bin");
	assert_string_equal(u, "https://my-bucket.s3.eu-west-2.amazonaws.com/a%20b/%C3%BC%2B~.bin");
	free(u);
	o.endpoint = "https://s3.eidf.ac.uk/";
	u = s3_object_url(&o, b, "k");
	assert_string_equal(u, "https://s3.eidf.ac.uk/my-bucket/k");
	free(u);
	u = s3_object_url(&o, b, NULL);
	assert_string_equal(u, "https://s3.eidf.ac.uk/my-bucket");
	free(u);
	o.addressing = "virtual";
	u = s3_object_url(&o, b, "k");
	assert_string_equal(u, "https://my-bucket.s3.eidf.ac.uk/k");
	free(u);
	free(b);
	free(p);
	assert_int_equal(s3_parse("s3://", &b, &p), -1);
	assert_int_equal(s3_parse("s3://a b/x", &b, &p), -1);
	assert_int_equal(s3_parse("s3://b/x\ny", &b, &p), -1);
	u = s3_sigv4_param("eu-west-2");
	assert_string_equal(u, "aws:amz:eu-west-2:s3");
	free(u);
}

static void test_hf_parse(void **state)
{
	(void)state;
	struct { const char *src, *type, *repo, *rev, *path; } ok[] = {
		{ "hf://org/name", "models", "org/name", "main", "" },
		{ "hf://datasets/org/name@v1.0/data/train", "datasets", "org/name", "v1.0", "data/train" },
		{ "hf://spaces/o/n/app.py", "spaces", "o/n", "main", "app.py" },
		{ "hf://models/o/n@refs/pr/3/x.bin", "models", "o/n", "refs/pr/3", "x.bin" },
		{ "hf://o/n@refs%2Fpr%2F3", "models", "o/n", "refs/pr/3", "" },
		{ "hf://o/n//a/./b", "models", "o/n", "main", "a/b" },
	};
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(ok); i++) {
		struct hf_ref r;
		assert_int_equal(hf_parse(ok[i].src, &r), 0);
		assert_string_equal(r.type, ok[i].type);
		assert_string_equal(r.repo, ok[i].repo);
		assert_string_equal(r.revision, ok[i].rev);
		assert_string_equal(r.path, ok[i].path);
		hf_ref_release(&r);
	}
	const char *bad[] = { "hf://", "hf://org", "hf://org/", "hf://../x", "hf://o/n@", "hf://o/n/../x",
			      "hf://o/n@a b", "hf://o/n?x" };
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(bad); i++) {
		struct hf_ref r;
		assert_int_equal(hf_parse(bad[i], &r), -1);
	}
}

static void test_link_next(void **state)
{
	(void)state;
	char *n = httpc_link_next("<https://h/api/x?cursor=a,b>; rel=\"next\"");
	assert_string_equal(n, "https://h/api/x?cursor=a,b");
	free(n);
	n = httpc_link_next("<https://h/1>; rel=\"prev\", <https://h/3>; rel=\"next last\"");
	assert_string_equal(n, "https://h/3");
	free(n);
	assert_null(httpc_link_next("<https://h/1>; rel=\"prev\""));
	assert_null(httpc_link_next("garbage"));
	struct strbuf sb = STRBUF_INIT;
	strbuf_add_uri_encoded(&sb, "a b/c~d\xff", 0);
	assert_string_equal(sb.buf, "a%20b%2Fc~d%FF");
	strbuf_release(&sb);
}

static void test_globs_and_fields(void **state)
{
	(void)state;
	struct strvec inc = STRVEC_INIT, exc = STRVEC_INIT;
	assert_true(fetch_glob_keep("a/b.bin", &inc, &exc));
	strvec_push(&inc, "*.bin");
	strvec_push(&exc, "*tmp*");
	assert_true(fetch_glob_keep("a/b.bin", &inc, &exc));
	assert_false(fetch_glob_keep("a/b.txt", &inc, &exc));
	assert_false(fetch_glob_keep("tmp/b.bin", &inc, &exc));
	strvec_clear(&inc);
	strvec_clear(&exc);

	struct fetch_list l = FETCH_LIST_INIT;
	assert_int_equal(fetch_list_add_listed(&l, "https://h/b/k", NULL, "k", 12, "0123456789abcdef0123456789abcdef",
					       FETCH_AUTH_S3, NULL), 0);
	assert_int_equal(fetch_list_add_listed(&l, "https://h/x", NULL, "sub/x", -1, NULL, FETCH_AUTH_NONE, NULL), 0);
	/* an ETag reaches a header: no quotes or control characters */
	assert_int_equal(fetch_list_add_listed(&l, "https://h/y", NULL, "y", 1, "a\"b", FETCH_AUTH_S3, NULL), -1);
	assert_int_equal(fetch_list_add_listed(&l, "https://h/z", NULL, "../z", 1, NULL, FETCH_AUTH_S3, NULL), -1);
	char *tsv = fetch_list_tsv(&l);
	assert_string_equal(tsv, "https://h/b/k\t-\tk\tsize=12\tetag=0123456789abcdef0123456789abcdef\tauth=s3\n"
				 "https://h/x\t-\tsub/x\n");
	struct strvec names = STRVEC_INIT;
	assert_int_equal(fetch_list_names(tsv, &names), 0);
	assert_int_equal(names.n, 2);
	assert_string_equal(names.v[0], "k");
	assert_string_equal(names.v[1], "sub/x");
	strvec_clear(&names);
	free(tsv);
	fetch_list_release(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_s3_page),
		cmocka_unit_test(test_s3_urls),
		cmocka_unit_test(test_hf_parse),
		cmocka_unit_test(test_link_next),
		cmocka_unit_test(test_globs_and_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
