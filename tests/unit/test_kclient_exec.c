/* kexec_stream against a scripted WebSocket server on loopback (plain
 * http): the upgrade refused (403, 404) as kubectl words it, a fragmented
 * stdout message, a ping answered, stderr apart, stdin sent masked and
 * half-closed (v5), the exit code from the final Status, a stream that
 * drops before its Status, and a script sent on stdin behind a short URL.
 * Then kexec_upload (eidf/kexec_upload.h) on top:
 * a file sent whole under v4 (no half-close) and v5 (half-closed after the
 * last byte), a failing command's exit code and last stderr line, a refused
 * upgrade with its fix, and an upgrade never answered ended by the
 * deadline.  The server is a child process that checks what the client
 * sends and exits non-zero on anything unexpected. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/sha.h>

#include "eidf/kclient.h"
#include "eidf/kclient_exec.h"
#include "eidf/kexec_upload.h"
#include "eidf/kubeconfig.h"
#include "eidf/util.h"

enum scenario { REFUSE_403, REFUSE_404, RUN, DROP, SCRIPT, UP_V4, UP_V5_FAIL, UP_403, UP_404, UP_HANG }; /* UP_*: serve_upload */

#define UP_SIZE 200000 /* bytes uploaded: several stdin messages */
#define UP_COMMAND "head -c 200000 >f"
static unsigned char up_byte(size_t i)
{
	return (unsigned char)(i * 7 % 251);
}

/* ---- the server side (child) ------------------------------------------ */

static int read_full(int fd, void *buf, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static void write_full(int fd, const void *buf, size_t n)
{
	if (write(fd, buf, n) != (ssize_t)n)
		_exit(10);
}

static void send_frame(int fd, int fin, int op, const void *payload, size_t n)
{
	unsigned char h[4] = { (unsigned char)((fin ? 0x80 : 0) | op) };
	size_t hl = 2;
	if (n < 126) {
		h[1] = (unsigned char)n;
	} else {
		h[1] = 126;
		h[2] = (unsigned char)(n >> 8);
		h[3] = (unsigned char)n;
		hl = 4;
	}
	write_full(fd, h, hl);
	write_full(fd, payload, n);
}

static void send_message(int fd, int channel, const char *text)
{
	char buf[512];
	buf[0] = (char)channel;
	size_t n = strlen(text);
	memcpy(buf + 1, text, n);
	send_frame(fd, 1, 2, buf, n + 1);
}

/* One client frame of up to MAX bytes, unmasked into *payload (malloc'd):
 * every client frame must be masked (RFC 6455 5.1); WHOLE: and unfragmented
 * (stdin comes in messages of up to 64 KiB). */
static int read_frame(int fd, int *op, unsigned char **payload, size_t *n, uint64_t max, int whole)
{
	unsigned char h[2], ext[8], mask[4];
	if (read_full(fd, h, 2) < 0)
		return -1;
	if (!(h[1] & 0x80) || (whole && !(h[0] & 0x80)))
		_exit(11);
	uint64_t len = h[1] & 0x7f;
	if (len == 126) {
		if (read_full(fd, ext, 2) < 0)
			return -1;
		len = ((uint64_t)ext[0] << 8) | ext[1];
	} else if (len == 127) {
		if (read_full(fd, ext, 8) < 0)
			return -1;
		len = 0;
		for (int i = 0; i < 8; i++)
			len = (len << 8) | ext[i];
	}
	if (len > max || read_full(fd, mask, 4) < 0)
		return -1;
	*payload = malloc(len + 1);
	if (!*payload || read_full(fd, *payload, (size_t)len) < 0)
		return -1;
	for (size_t i = 0; i < len; i++)
		(*payload)[i] ^= mask[i & 3];
	*op = h[0] & 0x0f;
	*n = (size_t)len;
	return 0;
}

/* A small client frame into payload (4 KiB at most). */
static int read_client_frame(int fd, int *op, unsigned char *payload, size_t *n)
{
	unsigned char *p = NULL;
	int rc = read_frame(fd, op, &p, n, 4096, 0);
	if (!rc)
		memcpy(payload, p, *n);
	free(p);
	return rc;
}

/* The first connection on lfd and its request's head, into req (CAP
 * bytes); the test's server exits with CODE (accept) or CODE + 1 (read). */
static int accept_request(int lfd, char *req, size_t cap, int code)
{
	int fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		_exit(code);
	size_t got = 0;
	while (!memmem(req, got, "\r\n\r\n", 4)) {
		ssize_t r = read(fd, req + got, cap - 1 - got);
		if (r <= 0)
			_exit(code + 1);
		got += (size_t)r;
	}
	req[got] = '\0';
	return fd;
}

/* The 101 answer to the upgrade in req, with the key's accept value (RFC
 * 6455 4.2.2) and protocol PROTO (v4, v5); exits CODE without a key. */
static void switch_protocols(int fd, const char *req, const char *proto, int code)
{
	const char *k = strcasestr(req, "\r\nSec-WebSocket-Key: ");
	if (!k)
		_exit(code);
	k += 21;
	char key[128];
	size_t kl = strcspn(k, "\r");
	if (kl >= sizeof(key) - 40)
		_exit(code);
	memcpy(key, k, kl);
	strcpy(key + kl, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
	unsigned char sha[SHA_DIGEST_LENGTH];
	SHA1((unsigned char *)key, strlen(key), sha);
	char *accept_key = base64_encode(sha, sizeof(sha));
	char head[512];
	int hn = snprintf(head, sizeof(head), "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
			  "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: "
			  "%s.channel.k8s.io\r\n\r\n", accept_key, proto);
	free(accept_key);
	write_full(fd, head, (size_t)hn);
}

static void serve(int lfd, enum scenario sc)
{
	char req[65536];
	int fd = accept_request(lfd, req, sizeof(req), 12);
	/* a script (kexec_opts.script): the bootstrap and the arguments in the
	 * URL, stdin asked for without a stdin_fd */
	static const char script_url[] = "GET /api/v1/namespaces/ns/pods/p1/exec?command=sh&command=-c&command=s%3D%24%28dd%20bs%3D25%20";
	static const char script_args[] = "&command=the-name&command=arg%201&container=c&stdin=true&stdout=true HTTP/1.1\r\n";
	const char *eol = strstr(req, "\r\n");
	if (sc == SCRIPT) {
		if (strncmp(req, script_url, strlen(script_url)) || (size_t)(eol + 2 - req) > 1024 ||
		    !memmem(req, (size_t)(eol + 2 - req), script_args, strlen(script_args)))
			_exit(21);
	} else if (strncmp(req, "GET /api/v1/namespaces/ns/pods/p1/exec?command=sh&command=-c&command=echo%20hi&container=c"
		    "&stdin=true&stdout=true&stderr=true HTTP/1.1\r\n", 122))
		_exit(14);
	if (sc == REFUSE_403 || sc == REFUSE_404) {
		const char *body = sc == REFUSE_403 ?
			"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"pods \\\"p1\\\" is "
			"forbidden: User \\\"u\\\" cannot create resource \\\"pods/exec\\\"\",\"reason\":\"Forbidden\","
			"\"code\":403}" :
			"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"pods \\\"p1\\\" "
			"not found\",\"reason\":\"NotFound\",\"code\":404}";
		char head[256];
		int hn = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
				  "Content-Length: %zu\r\n\r\n", sc == REFUSE_403 ? "403 Forbidden" : "404 Not Found",
				  strlen(body));
		write_full(fd, head, (size_t)hn);
		write_full(fd, body, strlen(body));
		close(fd);
		_exit(0);
	}
	if (!strstr(req, "Sec-WebSocket-Protocol: v5.channel.k8s.io, v4.channel.k8s.io\r\n"))
		_exit(15);
	switch_protocols(fd, req, "v5", 16);
	if (sc == SCRIPT) {
		/* the script and its end mark first on stdin, then v5's close
		 * (there is no other stdin) */
		int op;
		unsigned char p[4096];
		size_t n;
		char in[64] = "";
		for (;;) {
			if (read_client_frame(fd, &op, p, &n) < 0)
				_exit(22);
			if (op == 2 && n >= 1 && p[0] == 0 && strlen(in) + n - 1 < sizeof(in))
				strncat(in, (char *)p + 1, n - 1);
			else if (op == 2 && n == 2 && p[0] == 255 && p[1] == 0)
				break;
			else
				_exit(23);
		}
		if (strcmp(in, "echo hi\n#eidf-script-end\n"))
			_exit(24);
		send_message(fd, 1, "hi\n");
		send_message(fd, 3, "{\"metadata\":{},\"status\":\"Success\"}");
		send_frame(fd, 1, 8, "\x03\xe8", 2);
		if (read_client_frame(fd, &op, p, &n) < 0 || op != 8)
			_exit(25);
		close(fd);
		_exit(0);
	}
	/* stdout "hello" in two fragments with a ping between them, then stderr */
	unsigned char f1[3] = { 1, 'h', 'e' };
	send_frame(fd, 0, 2, f1, 3);
	send_frame(fd, 1, 9, "pi", 2);
	send_frame(fd, 1, 0, "llo", 3);
	send_message(fd, 2, "warn");
	if (sc == DROP) {
		shutdown(fd, SHUT_RDWR);
		close(fd);
		_exit(0);
	}
	/* the client: a pong, stdin "data" (any split), then v5's [255, 0] */
	int op, pong = 0, closed = 0;
	unsigned char p[4096];
	size_t n;
	char in[64] = "";
	while (!closed) {
		if (read_client_frame(fd, &op, p, &n) < 0)
			_exit(17);
		if (op == 10 && n == 2 && !memcmp(p, "pi", 2))
			pong = 1;
		else if (op == 2 && n >= 1 && p[0] == 0 && strlen(in) + n - 1 < sizeof(in))
			strncat(in, (char *)p + 1, n - 1);
		else if (op == 2 && n == 2 && p[0] == 255 && p[1] == 0)
			closed = 1;
		else
			_exit(18);
	}
	if (!pong || strcmp(in, "data"))
		_exit(19);
	send_message(fd, 1, in);
	send_message(fd, 3, "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with non-zero "
			    "exit code: error executing command [sh -c echo hi], exit code 3\",\"reason\":"
			    "\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"3\"}]}}");
	send_frame(fd, 1, 8, "\x03\xe8", 2);
	/* the client answers the close */
	if (read_client_frame(fd, &op, p, &n) < 0 || op != 8)
		_exit(20);
	close(fd);
	_exit(0);
}


/* The pod side of kexec_upload: UP_SIZE bytes on stdin, then (v5) the
 * half-close, then the command's answer. */
static void serve_upload(int lfd, enum scenario sc)
{
	char req[65536];
	int fd = accept_request(lfd, req, sizeof(req), 32);
	if (!strstr(req, "GET /api/v1/namespaces/ns/pods/p1/exec?command=sh&command=-c&command=head%20-c%20200000"
		     "%20%3Ef&container=c&stdin=true&stdout=true&stderr=true HTTP/1.1\r\n"))
		_exit(34);
	if (sc == UP_403 || sc == UP_404) {
		const char *body = sc == UP_403 ?
			"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":"
			"\"nope\",\"reason\":\"Forbidden\",\"code\":403}" :
			"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":"
			"\"pods \\\"p1\\\" not found\",\"reason\":\"NotFound\",\"code\":404}";
		char head[256];
		int hn = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
				  "Content-Length: %zu\r\n\r\n", sc == UP_403 ? "403 Forbidden" : "404 Not Found",
				  strlen(body));
		write_full(fd, head, (size_t)hn);
		write_full(fd, body, strlen(body));
		close(fd);
		_exit(0);
	}
	if (sc == UP_HANG) {
		/* never answered: the client gives up and closes */
		char b[4096];
		while (read(fd, b, sizeof(b)) > 0)
			;
		close(fd);
		_exit(0);
	}
	switch_protocols(fd, req, sc == UP_V4 ? "v4" : "v5", 35);
	/* the file, exactly; under v5 the half-close after it */
	size_t have = 0;
	int closed = 0;
	while (have < UP_SIZE || (sc != UP_V4 && !closed)) {
		int op;
		unsigned char *p = NULL;
		size_t n;
		if (read_frame(fd, &op, &p, &n, 1 << 20, 1) < 0)
			_exit(37);
		if (op == 2 && n >= 1 && p[0] == 0 && !closed) {
			for (size_t i = 1; i < n; i++, have++)
				if (have >= UP_SIZE || p[i] != up_byte(have))
					_exit(38);
		} else if (op == 2 && n == 2 && p[0] == 255 && p[1] == 0 && sc != UP_V4 && have == UP_SIZE) {
			closed = 1;
		} else {
			_exit(39); /* v4 has no half-close; nothing else is expected */
		}
		free(p);
	}
	if (sc == UP_V4) {
		send_message(fd, 1, "received 200000 bytes\n");
		send_message(fd, 3, "{\"metadata\":{},\"status\":\"Success\"}");
	} else {
		send_message(fd, 2, "error: received 5 of 10 bytes\n\n");
		send_message(fd, 3, "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with "
				    "non-zero exit code\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":"
				    "[{\"reason\":\"ExitCode\",\"message\":\"3\"}]}}");
	}
	send_frame(fd, 1, 8, "\x03\xe8", 2);
	close(fd);
	_exit(0);
}

/* ---- the client side -------------------------------------------------- */

struct fixture {
	pid_t server;
	struct kube_config cfg;
	struct kclient *kc;
};

static void start(struct fixture *f, enum scenario sc)
{
	memset(f, 0, sizeof(*f));
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
	f->server = fork();
	assert_true(f->server >= 0);
	if (!f->server && sc >= UP_V4)
		serve_upload(lfd, sc);
	if (!f->server)
		serve(lfd, sc);
	close(lfd);
	f->cfg.server = xasprintf("http://127.0.0.1:%d", ntohs(a.sin_port));
	f->cfg.namespace = xstrdup("ns");
	f->kc = kclient_new(&f->cfg);
	assert_non_null(f->kc);
}

static void finish(struct fixture *f)
{
	int st = -1;
	assert_int_equal(waitpid(f->server, &st, 0), f->server);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0); /* the server saw what it expected */
	kclient_free(f->kc);
	free(f->cfg.server);
	free(f->cfg.namespace);
}

static struct kexec_stream *open_stream(struct fixture *f)
{
	static const char *const argv[] = { "sh", "-c", "echo hi" };
	struct kexec_opts o = { .ns = "ns", .pod = "p1", .container = "c", .argv = argv, .argc = 3,
				.stdin_fd = 0, .stdout_fd = 1, .stderr_fd = 2 };
	return kexec_stream_open(f->kc, &o);
}

/* Pump until stream has at least n bytes (bounded: the server is local). */
static size_t wait_for(struct kexec_stream *s, int stream, size_t n, const char **data)
{
	for (int i = 0; i < 100 && kexec_stream_peek(s, stream, data) < n; i++)
		if (kexec_stream_pump(s, 100) < 0)
			break;
	return kexec_stream_peek(s, stream, data);
}

static void test_refused(void **state)
{
	(void)state;
	struct fixture f;
	start(&f, REFUSE_403);
	assert_null(open_stream(&f));
	assert_int_equal(kclient_last_http_status(f.kc), 403);
	assert_string_equal(eidf_last_error(), "Error from server (Forbidden): pods \"p1\" is forbidden: User \"u\" "
			    "cannot create resource \"pods/exec\"");
	finish(&f);
	start(&f, REFUSE_404);
	assert_null(open_stream(&f));
	assert_int_equal(kclient_last_http_status(f.kc), 404);
	assert_string_equal(eidf_last_error(), "Error from server (NotFound): pods \"p1\" not found");
	finish(&f);
}

static void test_run(void **state)
{
	(void)state;
	struct fixture f;
	start(&f, RUN);
	struct kexec_stream *s = open_stream(&f);
	assert_non_null(s);
	const char *d;
	assert_int_equal(wait_for(s, KEXEC_STDOUT, 5, &d), 5);
	assert_memory_equal(d, "hello", 5);
	assert_int_equal(wait_for(s, KEXEC_STDERR, 4, &d), 4);
	assert_memory_equal(d, "warn", 4);
	kexec_stream_consume(s, KEXEC_STDOUT, 2);
	assert_int_equal(kexec_stream_peek(s, KEXEC_STDOUT, &d), 3);
	assert_memory_equal(d, "llo", 3);
	kexec_stream_consume(s, KEXEC_STDOUT, 3);
	kexec_stream_send(s, "da", 2);
	kexec_stream_send(s, "ta", 2);
	assert_int_equal(kexec_stream_close_stdin(s), 0); /* v5: [255, 0] */
	assert_int_equal(wait_for(s, KEXEC_STDOUT, 4, &d), 4);
	assert_memory_equal(d, "data", 4);
	int code = -1;
	assert_int_equal(kexec_stream_finish(s, 5000, &code), 0);
	assert_int_equal(code, 3);
	finish(&f);
}

/* A script goes on stdin behind the bootstrap (kexec_script_command; the
 * bootstrap itself is run for real in test_kexec_script.c). */
static void test_script(void **state)
{
	(void)state;
	struct fixture f;
	start(&f, SCRIPT);
	static const char *const argv[] = { "the-name", "arg 1" };
	struct kexec_opts o = { .ns = "ns", .pod = "p1", .container = "c", .argv = argv, .argc = 2,
				.script = "echo hi", .stdin_fd = -1, .stdout_fd = 1, .stderr_fd = -1 };
	struct kexec_stream *s = kexec_stream_open(f.kc, &o);
	assert_non_null(s);
	const char *d;
	assert_int_equal(wait_for(s, KEXEC_STDOUT, 3, &d), 3);
	assert_memory_equal(d, "hi\n", 3);
	int code = -1;
	assert_int_equal(kexec_stream_finish(s, 5000, &code), 0);
	assert_int_equal(code, 0);
	finish(&f);
}

static void test_drop(void **state)
{
	(void)state;
	struct fixture f;
	start(&f, DROP);
	struct kexec_stream *s = open_stream(&f);
	assert_non_null(s);
	const char *d;
	assert_int_equal(wait_for(s, KEXEC_STDOUT, 5, &d), 5);
	for (int i = 0; i < 100 && kexec_stream_pump(s, 100) >= 0; i++)
		;
	assert_true(kexec_stream_over(s));
	/* what came before the drop stays readable */
	assert_int_equal(kexec_stream_peek(s, KEXEC_STDOUT, &d), 5);
	assert_memory_equal(d, "hello", 5);
	int code = 0;
	assert_int_equal(kexec_stream_finish(s, 1000, &code), -1);
	assert_int_equal(code, -1);
	assert_string_equal(eidf_last_error(), "the exec stream in pod p1 ended without the command's exit status");
	finish(&f);
}

/* A file of UP_SIZE bytes, and kexec_upload of it with a deadline ms away. */
static int upload(struct fixture *f, long deadline_ms)
{
	FILE *t = tmpfile();
	assert_non_null(t);
	for (size_t i = 0; i < UP_SIZE; i++)
		fputc(up_byte(i), t);
	assert_int_equal(fflush(t), 0); /* kexec_upload reads it from offset 0 */
	struct kexec_upload u = { .ns = "ns", .pod = "p1", .container = "c", .command = UP_COMMAND,
				  .fd = fileno(t), .size = UP_SIZE, .deadline_ms = monotonic_ms() + deadline_ms,
				  .what = "test data", .timeout_hint = "raise it", .refused_hint = "use the other way" };
	int rc = kexec_upload(f->kc, &u);
	fclose(t);
	return rc;
}

static void test_upload(void **state)
{
	(void)state;
	struct fixture f;
	start(&f, UP_V4);
	assert_int_equal(upload(&f, 10000), 0);
	finish(&f);
	start(&f, UP_V5_FAIL);
	assert_int_equal(upload(&f, 10000), -1);
	assert_string_equal(eidf_last_error(), "uploading test data to pod p1 (container c): the receiving command "
			    "failed (exit code 3): error: received 5 of 10 bytes");
	finish(&f);
}

static void test_upload_refused(void **state)
{
	(void)state;
	struct fixture f;
	start(&f, UP_403);
	assert_int_equal(upload(&f, 10000), -1);
	assert_string_equal(eidf_last_error(), "uploading test data to pod p1 (container c): Error from server "
			    "(Forbidden): nope; the upload needs the right to create pods/exec in namespace ns (ask "
			    "the project's admin), or use the other way");
	finish(&f);
	start(&f, UP_404);
	assert_int_equal(upload(&f, 10000), -1);
	assert_string_equal(eidf_last_error(), "uploading test data to pod p1 (container c): Error from server "
			    "(NotFound): pods \"p1\" not found; the pod is gone or its container is not running (its "
			    "Job deleted or ended?): run the same command again");
	finish(&f);
	start(&f, UP_HANG);
	long t0 = monotonic_ms();
	assert_int_equal(upload(&f, 300), -1);
	assert_true(monotonic_ms() - t0 < 2000);
	assert_string_equal(eidf_last_error(), "uploading test data to pod p1 (container c): timed out after "
			    "sending 0B of 195KiB (the exec did not start); raise it");
	finish(&f);
}

/* The message a caller gives when a command ends: its output's last line. */
static void test_tail_last_line(void **state)
{
	(void)state;
	struct strbuf t = STRBUF_INIT;
	assert_null(kexec_tail_last_line(&t));
	strbuf_addstr(&t, "first\nsh: 1: cannot create /x: Read-only file system \r\n\n");
	char *l = kexec_tail_last_line(&t);
	assert_string_equal(l, "sh: 1: cannot create /x: Read-only file system");
	free(l);
	strbuf_reset(&t);
	strbuf_addstr(&t, "\n \n");
	assert_null(kexec_tail_last_line(&t));
	strbuf_reset(&t);
	strbuf_addstr(&t, "only");
	l = kexec_tail_last_line(&t);
	assert_string_equal(l, "only");
	free(l);
	strbuf_release(&t);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	unsetenv("HTTP_PROXY");
	unsetenv("http_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("https_proxy");
	unsetenv("ALL_PROXY");
	unsetenv("all_proxy");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tail_last_line),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_run),
		cmocka_unit_test(test_drop),
		cmocka_unit_test(test_upload),
		cmocka_unit_test(test_upload_refused),
		cmocka_unit_test(test_script),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
