/* pods/exec over one WebSocket, as kubectl 1.30+ does (client-go
 * tools/remotecommand/websocket.go): `GET .../pods/NAME/exec?command=...`
 * upgraded with the subprotocol v5.channel.k8s.io (v4 also offered); each
 * binary message starts with a stream id (0 stdin, 1 stdout, 2 stderr, 3 the
 * final v1 Status, 255 v5's half-close: [255, 0] ends stdin).
 *
 * Why not kubectl: `kubectl exec` starts a Go program (two on a machine with
 * the google-cloud-sdk dispatcher, which first sends its own GET /version),
 * reads the pod before upgrading, and reports the command's exit code only
 * as "exit code 1 or N"; a devrun session run pays that on every iteration.
 * Why by hand: Debian 12's libcurl (7.88) is built without WebSockets
 * (curl_ws_* answer CURLE_NOT_BUILT_IN).  So libcurl makes the connection
 * with the options of every request (TLS, CA, client certificate, proxy
 * tunnel, tls-server-name), CURLOPT_CONNECT_ONLY, and this file writes the
 * upgrade and the frames (RFC 6455) with curl_easy_send/curl_easy_recv. */
#include "eidf/kclient_exec.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "eidf/kstatus.h"
#include "kclient_internal.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define CH_STDIN 0
#define CH_STDOUT 1
#define CH_STDERR 2
#define CH_ERROR 3
#define CH_CLOSE 255
#define TX_HIGH (256 * 1024)          /* stop reading stdin while this much waits to be sent */
#define MAX_HEAD (64 * 1024)          /* the server's answer to the upgrade, headers */
#define MAX_MESSAGE (16 * 1024 * 1024) /* one message (the server sends <= 32 KiB) */
#define STDIN_MESSAGE (64 * 1024)      /* stdin goes in messages of at most this */
#define RX_HIGH (4 * 1024 * 1024)      /* stop reading while this much output waits to be taken */

struct kexec_stream {
	struct kclient *kc;
	CURL *c;
	curl_socket_t sock;
	int v5;
	char *pod;                   /* for messages */
	long deadline;               /* kexec_opts.deadline_ms */
	struct strbuf tx;            /* frames to send, from tx_off */
	size_t tx_off;
	struct strbuf rx;            /* received, unparsed, from rx_off */
	size_t rx_off;
	struct strbuf msg;           /* a fragmented message */
	int msg_op;                  /* opcode of the message in msg, 0: none */
	struct strbuf out[3];        /* [1] stdout, [2] stderr: received, not taken, from out_off */
	size_t out_off[3];
	int stdin_open;
	int closed;                  /* the server sent a close frame or hung up */
	int have_status;
	struct strbuf status;        /* channel 3 */
	char *failure;               /* why the stream broke (a transport error, an abort) */
	char *send_failure;          /* sending failed: what comes is still read (the command's
				      * last words and its status, when it ended first) */
};

/* One frame into tx, masked with a fresh key; the payload is head (hn
 * bytes, the channel id) followed by data. */
static void add_frame2(struct strbuf *sb, int opcode, const void *head, size_t hn, const void *data, size_t dn)
{
	unsigned char h[14], mask[4];
	size_t hl = 0, n = hn + dn;
	h[hl++] = (unsigned char)(0x80 | opcode);
	if (n < 126) {
		h[hl++] = (unsigned char)(0x80 | n);
	} else if (n < 65536) {
		h[hl++] = 0x80 | 126;
		h[hl++] = (unsigned char)(n >> 8);
		h[hl++] = (unsigned char)n;
	} else {
		h[hl++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			h[hl++] = (unsigned char)((uint64_t)n >> (8 * i));
	}
	/* a client masks every frame with a fresh unpredictable key (RFC 6455 5.3) */
	if (RAND_bytes(mask, 4) != 1)
		for (int i = 0; i < 4; i++)
			mask[i] = (unsigned char)random();
	memcpy(h + hl, mask, 4);
	hl += 4;
	strbuf_add(sb, h, hl);
	size_t at = sb->len;
	strbuf_add(sb, head, hn);
	strbuf_add(sb, data, dn);
	/* XOR eight bytes at a time: every byte sent passes here */
	unsigned char *p = (unsigned char *)sb->buf + at;
	unsigned char m8[8];
	uint64_t w, k;
	for (int i = 0; i < 8; i++)
		m8[i] = mask[i & 3];
	memcpy(&k, m8, 8);
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		w ^= k;
		memcpy(p + i, &w, 8);
	}
	for (; i < n; i++)
		p[i] ^= mask[i & 3];
}

static void add_frame(struct strbuf *sb, int opcode, const void *data, size_t n)
{
	add_frame2(sb, opcode, NULL, 0, data, n);
}

static void add_message(struct kexec_stream *w, int channel, const void *data, size_t n)
{
	unsigned char ch = (unsigned char)channel;
	add_frame2(&w->tx, 2, &ch, 1, data, n);
}

/* The stream is broken: keep the first reason (the error set now). */
static int fail(struct kexec_stream *w)
{
	if (!w->failure)
		w->failure = xstrdup(eidf_last_error());
	return -1;
}

/* poll() for at most min(wait_ms, 1 s), so that an abort (Ctrl-C,
 * --timeout) is seen even while nothing moves, and not past the deadline;
 * -1 on a poll error, an abort or the deadline. */
static int poll_or_abort(struct kexec_stream *w, struct pollfd *p, nfds_t n, int wait_ms)
{
	if (wait_ms < 0 || wait_ms > 1000)
		wait_ms = 1000;
	if (w->deadline) {
		long left = w->deadline - monotonic_ms();
		if (left < wait_ms)
			wait_ms = left > 0 ? (int)left : 0;
	}
	if (poll(p, n, wait_ms) < 0 && errno != EINTR) {
		eidf_set_error("poll: %s", strerror(errno));
		return -1;
	}
	if (kclient_aborted(w->kc)) {
		eidf_set_error("interrupted");
		return -1;
	}
	if (w->deadline && monotonic_ms() >= w->deadline) {
		eidf_set_error("timed out");
		return -1;
	}
	return 0;
}

static int wait_sock(struct kexec_stream *w, short events)
{
	struct pollfd p = { w->sock, events, 0 };
	return poll_or_abort(w, &p, 1, 1000);
}

static size_t unsent(const struct kexec_stream *w)
{
	return w->tx.len - w->tx_off;
}

/* Send what is queued; block only when `all`.  1 something sent, 0
 * nothing, -1 error. */
static int flush_tx(struct kexec_stream *w, int all)
{
	int moved = 0;
	while (unsent(w)) {
		size_t n = 0;
		CURLcode cc = curl_easy_send(w->c, w->tx.buf + w->tx_off, unsent(w), &n);
		if (cc == CURLE_AGAIN) {
			if (!all)
				break;
			if (wait_sock(w, POLLOUT) < 0)
				return -1;
			continue;
		}
		if (cc != CURLE_OK) {
			eidf_set_error("exec stream to the API server: %s", curl_easy_strerror(cc));
			return -1;
		}
		w->tx_off += n;
		moved = 1;
	}
	if (w->tx_off == w->tx.len) {
		strbuf_reset(&w->tx);
		w->tx_off = 0;
	} else if (w->tx_off > (1 << 20) && w->tx_off * 2 > w->tx.len) {
		memmove(w->tx.buf, w->tx.buf + w->tx_off, unsent(w));
		w->tx.len -= w->tx_off;
		w->tx_off = 0;
	}
	return moved;
}

/* Read what the socket has into rx: 1 something read, 0 nothing now,
 * -1 error; w->closed on end of stream. */
static int fill_rx(struct kexec_stream *w)
{
	if (w->rx_off == w->rx.len) {
		strbuf_reset(&w->rx);
		w->rx_off = 0;
	}
	strbuf_grow(&w->rx, 65536);
	size_t n = 0;
	CURLcode cc = curl_easy_recv(w->c, w->rx.buf + w->rx.len, w->rx.alloc - w->rx.len - 1, &n);
	if (cc == CURLE_AGAIN)
		return 0;
	if (cc != CURLE_OK) {
		eidf_set_error("exec stream from the API server: %s", curl_easy_strerror(cc));
		return -1;
	}
	if (!n) {
		w->closed = 1;
		return 0;
	}
	w->rx.len += n;
	w->rx.buf[w->rx.len] = '\0';
	return 1;
}

static void take_output(struct kexec_stream *w, int ch, const char *d, size_t len)
{
	struct strbuf *o = &w->out[ch];
	size_t *off = &w->out_off[ch];
	if (*off == o->len) {
		strbuf_reset(o);
		*off = 0;
	} else if (*off > (1 << 20) && *off * 2 > o->len) {
		memmove(o->buf, o->buf + *off, o->len - *off);
		o->len -= *off;
		o->buf[o->len] = '\0';
		*off = 0;
	}
	strbuf_add(o, d, len);
}

static void on_message(struct kexec_stream *w, const unsigned char *p, size_t n)
{
	if (!n)
		return;
	const char *d = (const char *)p + 1;
	size_t len = n - 1;
	switch (p[0]) {
	case CH_STDOUT:
	case CH_STDERR:
		take_output(w, p[0], d, len);
		break;
	case CH_ERROR:
		strbuf_add(&w->status, d, len);
		w->have_status = 1;
		break;
	default:
		break;
	}
}

/* Parse the frames in rx (server frames are not masked). */
static int parse_rx(struct kexec_stream *w)
{
	int rc = 0;
	while (!w->closed) {
		const unsigned char *b = (const unsigned char *)w->rx.buf + w->rx_off;
		size_t have = w->rx.len - w->rx_off, pos = 2;
		if (have < 2)
			break;
		int fin = b[0] & 0x80, op = b[0] & 0x0f;
		uint64_t n = b[1] & 0x7f;
		if ((b[0] & 0x70) || (b[1] & 0x80)) {
			eidf_set_error("exec stream: the API server sent a malformed WebSocket frame");
			rc = -1;
			break;
		}
		if (n == 126) {
			if (have < 4)
				break;
			n = ((uint64_t)b[2] << 8) | b[3];
			pos = 4;
		} else if (n == 127) {
			if (have < 10)
				break;
			n = 0;
			for (int i = 0; i < 8; i++)
				n = (n << 8) | b[2 + i];
			pos = 10;
		}
		if (n > MAX_MESSAGE) {
			eidf_set_error("exec stream: a WebSocket frame of %llu bytes is too large",
				       (unsigned long long)n);
			rc = -1;
			break;
		}
		if (have < pos + n)
			break;
		const unsigned char *payload = b + pos;
		if (op == 8) {
			w->closed = 1;
		} else if (op == 9) {
			add_frame(&w->tx, 10, payload, (size_t)n);
		} else if ((op == 1 || op == 2) && fin) {
			/* a whole message in one frame (the usual case): no copy */
			strbuf_reset(&w->msg);
			w->msg_op = 0;
			on_message(w, payload, (size_t)n);
		} else if (op == 1 || op == 2 || op == 0) {
			if (op != 0) {
				w->msg_op = op;
				strbuf_reset(&w->msg);
			}
			strbuf_add(&w->msg, payload, (size_t)n);
			if (w->msg.len > MAX_MESSAGE) {
				eidf_set_error("exec stream: a WebSocket message is too large");
				rc = -1;
				break;
			}
			if (fin && w->msg_op) {
				on_message(w, (const unsigned char *)w->msg.buf, w->msg.len);
				strbuf_reset(&w->msg);
				w->msg_op = 0;
			}
		}
		w->rx_off += pos + (size_t)n;
	}
	/* keep only the unparsed tail (at most one frame) */
	if (w->rx_off && w->rx_off < w->rx.len) {
		memmove(w->rx.buf, w->rx.buf + w->rx_off, w->rx.len - w->rx_off);
		w->rx.len -= w->rx_off;
		w->rx_off = 0;
	} else if (w->rx_off == w->rx.len) {
		strbuf_reset(&w->rx);
		w->rx_off = 0;
	}
	return rc;
}

/* Output read and not yet taken by the caller. */
static size_t untaken(const struct kexec_stream *w)
{
	return w->out[CH_STDOUT].len - w->out_off[CH_STDOUT] + w->out[CH_STDERR].len - w->out_off[CH_STDERR];
}

/* Read and parse what the connection has now (TLS may hold more than poll
 * shows), up to RX_HIGH of output not yet taken: a caller slower than the
 * network (a download written to a slow disk) holds a few MiB, not the
 * whole stream, and its Ctrl-C is seen before the end.  1 something came,
 * 0 nothing, -1 error. */
static int drain_rx(struct kexec_stream *w)
{
	int moved = 0;
	while (!w->closed && untaken(w) < RX_HIGH) {
		int k = fill_rx(w);
		if (k < 0)
			return -1;
		if (k == 0)
			break;
		moved = 1;
		if (parse_rx(w) < 0)
			return -1;
	}
	return moved;
}

static void add_escaped(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-_.~", c))
			strbuf_addch(sb, c);
		else
			strbuf_addf(sb, "%%%02X", c);
	}
}

/* The path part of the server URL (kc->base without scheme and host). */
static const char *base_path(const struct kclient *kc)
{
	const char *p = strstr(kc->base, "://");
	p = p ? strchr(p + 3, '/') : NULL;
	return p ? p : "";
}

static char *header_value(const char *head, const char *name)
{
	size_t nl = strlen(name);
	for (const char *l = strstr(head, "\r\n"); l; l = strstr(l, "\r\n")) {
		l += 2;
		if (!strncasecmp(l, name, nl) && l[nl] == ':') {
			const char *v = l + nl + 1, *e = strstr(v, "\r\n");
			while (*v == ' ' || *v == '\t')
				v++;
			if (!e)
				e = v + strlen(v);
			while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			return xstrndup(v, (size_t)(e - v));
		}
	}
	return NULL;
}

/* The exit code from the final Status: 0 Success, N for NonZeroExitCode;
 * -1 with the message set for any other failure. */
static int status_exit_code(struct kexec_stream *w, int *code)
{
	cJSON *j = cJSON_ParseWithLength(w->status.buf ? w->status.buf : "", w->status.len);
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
	int rc = -1;
	if (cJSON_IsString(st) && !strcmp(st->valuestring, "Success")) {
		*code = 0;
		rc = 0;
	} else {
		const cJSON *reason = cJSON_GetObjectItemCaseSensitive(j, "reason");
		const cJSON *causes = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(j, "details"), "causes");
		const cJSON *c;
		if (cJSON_IsString(reason) && !strcmp(reason->valuestring, "NonZeroExitCode"))
			cJSON_ArrayForEach(c, causes) {
				const cJSON *r = cJSON_GetObjectItemCaseSensitive(c, "reason");
				const cJSON *m = cJSON_GetObjectItemCaseSensitive(c, "message");
				if (cJSON_IsString(r) && !strcmp(r->valuestring, "ExitCode") && cJSON_IsString(m)) {
					char *end;
					long v = strtol(m->valuestring, &end, 10);
					if (end != m->valuestring && !*end && v >= 0 && v < 256) {
						*code = (int)v;
						rc = 0;
					}
				}
			}
		if (rc < 0) {
			const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
			eidf_set_error("%s", cJSON_IsString(m) ? m->valuestring :
				       "the exec stream ended with an unreadable status");
		}
	}
	cJSON_Delete(j);
	return rc;
}

/* The last line of a script sent on stdin: the bootstrap runs the script
 * only when it came, so a stream that ended early runs none of it. */
#define SCRIPT_END_MARK "#eidf-script-end"

void kexec_script_command(const char *script, int reads_stdin, const char *const *args, size_t nargs,
			  struct strvec *argv, struct strbuf *prefix)
{
	size_t n = strlen(script);
	strbuf_add(prefix, script, n);
	if (n && script[n - 1] != '\n')
		strbuf_addch(prefix, '\n');
	strbuf_addstr(prefix, SCRIPT_END_MARK "\n");
	/* dd reads exactly the prefix and no byte of what follows (a shell's
	 * `head -c` may read ahead: busybox's does, through stdio); $(...)
	 * drops the trailing newline, so the mark ends the text; eval runs
	 * the script in this shell, $0 and the arguments as they are, and
	 * frees the copy first (a script may use $s itself) */
	size_t len = prefix->len;
	strvec_push(argv, "sh");
	strvec_push(argv, "-c");
	strvec_pushf(argv,
		     "s=$(dd bs=%zu count=1 iflag=fullblock status=none 2>/dev/null||dd bs=1 count=%zu 2>/dev/null);"
		     "case $s in *'" SCRIPT_END_MARK "')%seval \"unset s;$s\";;"
		     "*)echo \"$0: its script did not come whole on stdin (is dd in the image?)\" >&2;exit 127;;esac",
		     len, len, reads_stdin ? "" : "exec </dev/null;");
	for (size_t i = 0; i < nargs; i++)
		strvec_push(argv, args[i]);
}

/* Connect and upgrade; 0 upgraded, -1 error (kc->last_status set from the
 * answer when there was one). */
static int upgrade(struct kexec_stream *w, const struct kexec_opts *o, const struct strvec *command)
{
	struct kclient *kc = w->kc;
	const char *token = NULL, *source = NULL;
	struct curl_slist *hdrs = NULL;
	struct strbuf path = STRBUF_INIT, req = STRBUF_INIT;
	char *url = NULL, *accept = NULL, *proto = NULL, *key = NULL;
	unsigned char nonce[16];
	int rc = -1;

	kc->last_status = 0;
	if (kc_setup_handle(kc) < 0 || kc_auth_prepare(kc, 0, &token, &source) < 0)
		goto out;
	strbuf_addstr(&path, "/api/v1/namespaces/");
	add_escaped(&path, o->ns);
	strbuf_addstr(&path, "/pods/");
	add_escaped(&path, o->pod);
	strbuf_addstr(&path, "/exec?");
	for (size_t i = 0; i < command->n; i++) {
		strbuf_addstr(&path, "command=");
		add_escaped(&path, command->v[i]);
		strbuf_addstr(&path, "&");
	}
	strbuf_addstr(&path, "container=");
	add_escaped(&path, o->container);
	if (o->stdin_fd >= 0 || o->script)
		strbuf_addstr(&path, "&stdin=true");
	if (o->stdout_fd >= 0)
		strbuf_addstr(&path, "&stdout=true");
	if (o->stderr_fd >= 0)
		strbuf_addstr(&path, "&stderr=true");
	url = xasprintf("%s%s", kc->base, path.buf);

	/* a handle of its own: the same options, none of the pooled connections
	 * (CONNECT_ONLY hands the raw connection over; it is never reused) */
	w->c = curl_easy_duphandle(kc->curl);
	if (!w->c) {
		eidf_set_error("cannot initialise libcurl");
		goto out;
	}
	curl_easy_setopt(w->c, CURLOPT_URL, url);
	curl_easy_setopt(w->c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1); /* ALPN http/1.1 */
	curl_easy_setopt(w->c, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(w->c, CURLOPT_HTTPPROXYTUNNEL, 1L);
	long connect_ms = 30000;
	if (w->deadline && w->deadline - monotonic_ms() < connect_ms)
		connect_ms = w->deadline - monotonic_ms() > 1 ? w->deadline - monotonic_ms() : 1;
	curl_easy_setopt(w->c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	curl_easy_setopt(w->c, CURLOPT_ERRORBUFFER, kc->errbuf);
	kc->errbuf[0] = '\0';
	CURLcode cc = curl_easy_perform(w->c);
	kc->requests++;
	kc->connects++;
	if (cc != CURLE_OK) {
		eidf_set_error("Unable to connect to the server: %s",
			       kc->errbuf[0] ? kc->errbuf : curl_easy_strerror(cc));
		goto out;
	}
	if (curl_easy_getinfo(w->c, CURLINFO_ACTIVESOCKET, &w->sock) != CURLE_OK ||
	    w->sock == CURL_SOCKET_BAD) {
		eidf_set_error("cannot use the connection to the API server");
		goto out;
	}

	if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
		eidf_set_error("cannot make a WebSocket key");
		goto out;
	}
	key = base64_encode(nonce, sizeof(nonce));
	if (kc_request_headers(kc, NULL, token, source, &hdrs) < 0)
		goto out;
	strbuf_addf(&req, "GET %s%s HTTP/1.1\r\n", base_path(kc), path.buf);
	int have_host = 0;
	for (struct curl_slist *h = hdrs; h; h = h->next) {
		if (!strcmp(h->data, "Expect:"))
			continue;
		if (!strncasecmp(h->data, "Host:", 5))
			have_host = 1;
		strbuf_addf(&req, "%s\r\n", h->data);
	}
	if (!have_host) {
		const char *scheme_default = kc->plain_http ? "80" : "443";
		if (strcmp(kc->port, scheme_default))
			strbuf_addf(&req, "Host: %s:%s\r\n", kc->host, kc->port);
		else
			strbuf_addf(&req, "Host: %s\r\n", kc->host);
	}
	strbuf_addf(&req, "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
			  "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Protocol: v5.channel.k8s.io, "
			  "v4.channel.k8s.io\r\n\r\n", key);
	klog_request(kc, "GET", url, hdrs, NULL, 0, path.buf);
	long t0 = monotonic_ms();
	strbuf_add(&w->tx, req.buf, req.len);
	memset(req.buf, 0, req.alloc); /* it held the token */
	if (flush_tx(w, 1) < 0)
		goto out;

	/* the answer's head */
	char *end;
	while (!(end = memmem(w->rx.buf ? w->rx.buf : "", w->rx.len, "\r\n\r\n", 4))) {
		if (w->rx.len > MAX_HEAD) {
			eidf_set_error("the API server's answer to the exec upgrade has no end of headers");
			goto out;
		}
		int r = fill_rx(w);
		if (r < 0)
			goto out;
		if (w->closed) {
			eidf_set_error("the API server closed the connection before answering the exec upgrade");
			goto out;
		}
		if (!r && wait_sock(w, POLLIN) < 0)
			goto out;
	}
	size_t head_len = (size_t)(end - w->rx.buf) + 4;
	char *head = xstrndup(w->rx.buf, head_len);
	memmove(w->rx.buf, w->rx.buf + head_len, w->rx.len - head_len);
	w->rx.len -= head_len;
	long status = 0;
	if (sscanf(head, "HTTP/1.%*d %ld", &status) != 1)
		status = 0;
	kc->last_status = status;
	klog_printf(kc, 6, "GET %s %ld in %ld milliseconds", url, status, monotonic_ms() - t0);
	if (status != 101) {
		/* the body: a Status (Content-Length, else until the server closes) */
		char *cl = header_value(head, "Content-Length");
		long want = cl ? atol(cl) : -1;
		free(cl);
		while ((want < 0 || (long)w->rx.len < want) && !w->closed && w->rx.len < MAX_HEAD) {
			int r = fill_rx(w);
			if (r < 0)
				break;
			if (!r && !w->closed && wait_sock(w, POLLIN) < 0)
				break;
		}
		size_t blen = want >= 0 && (size_t)want < w->rx.len ? (size_t)want : w->rx.len;
		char *reason = NULL;
		char *msg = kstatus_message(status, w->rx.buf ? w->rx.buf : "", blen, &reason);
		free(kc->last_reason);
		kc->last_reason = reason;
		eidf_set_error("%s", msg);
		free(msg);
		free(head);
		goto out;
	}
	accept = header_value(head, "Sec-WebSocket-Accept");
	proto = header_value(head, "Sec-WebSocket-Protocol");
	free(head);
	{
		struct strbuf k = STRBUF_INIT;
		unsigned char sha[SHA_DIGEST_LENGTH];
		strbuf_addf(&k, "%s%s", key, WS_GUID);
		SHA1((const unsigned char *)k.buf, k.len, sha);
		strbuf_release(&k);
		char *want = base64_encode(sha, sizeof(sha));
		int ok = accept && !strcmp(accept, want);
		free(want);
		if (!ok) {
			eidf_set_error("the API server's exec upgrade has a wrong Sec-WebSocket-Accept");
			goto out;
		}
	}
	if (!proto || (strcmp(proto, "v5.channel.k8s.io") && strcmp(proto, "v4.channel.k8s.io"))) {
		eidf_set_error("the API server chose the exec subprotocol \"%s\" (kubectl-eidf speaks "
			       "v5.channel.k8s.io and v4.channel.k8s.io)", proto ? proto : "");
		goto out;
	}
	w->v5 = !strcmp(proto, "v5.channel.k8s.io");
	rc = 0;
out:
	curl_slist_free_all(hdrs);
	strbuf_release(&path);
	strbuf_release(&req);
	free(url);
	free(accept);
	free(proto);
	free(key);
	return rc;
}

struct kexec_stream *kexec_stream_open(struct kclient *kc, const struct kexec_opts *o)
{
	struct kexec_stream *w = xcalloc(1, sizeof(*w));
	w->kc = kc;
	w->sock = CURL_SOCKET_BAD;
	w->pod = xstrdup(o->pod);
	w->deadline = o->deadline_ms;
	w->stdin_open = o->stdin_fd >= 0 || o->script;
	struct strvec command = STRVEC_INIT;
	struct strbuf prefix = STRBUF_INIT;
	if (o->script) {
		kexec_script_command(o->script, o->stdin_fd >= 0, o->argv, o->argc, &command, &prefix);
	} else {
		for (size_t i = 0; i < o->argc; i++)
			strvec_push(&command, o->argv[i]);
	}
	int rc = upgrade(w, o, &command);
	strvec_clear(&command);
	if (rc < 0 || parse_rx(w) < 0) { /* data may come with the 101 */
		strbuf_release(&prefix);
		kexec_stream_free(w);
		return NULL;
	}
	/* the script first, ahead of whatever the caller sends (no round trip:
	 * it goes out with the first bytes of stdin) */
	if (o->script) {
		kexec_stream_send(w, prefix.buf, prefix.len);
		if (o->stdin_fd < 0)
			kexec_stream_close_stdin(w); /* v4 cannot: the bootstrap reads /dev/null */
	}
	strbuf_release(&prefix);
	return w;
}

int kexec_stream_fd(const struct kexec_stream *w)
{
	return (int)w->sock;
}

short kexec_stream_events(const struct kexec_stream *w)
{
	return (short)((untaken(w) < RX_HIGH ? POLLIN : 0) | (unsent(w) && !w->send_failure ? POLLOUT : 0));
}

void kexec_stream_send(struct kexec_stream *w, const void *data, size_t n)
{
	const char *d = data;
	if (!w->stdin_open || w->send_failure)
		return;
	while (n) {
		size_t k = n < STDIN_MESSAGE ? n : STDIN_MESSAGE;
		add_message(w, CH_STDIN, d, k);
		d += k;
		n -= k;
	}
}

size_t kexec_stream_unsent(const struct kexec_stream *w)
{
	return unsent(w);
}

int kexec_stream_close_stdin(struct kexec_stream *w)
{
	if (!w->stdin_open)
		return 0;
	w->stdin_open = 0;
	if (!w->v5)
		return -1;
	unsigned char c = CH_STDIN;
	add_message(w, CH_CLOSE, &c, 1);
	return 0;
}

/* Receive, then send: 1 something moved, 0 nothing, -1 the stream broke.
 * A failed send (the server closed its side: the command ended, or the
 * connection is going) drops what was queued and stops sending, but what
 * the server sent before is still read. */
static int move_bytes(struct kexec_stream *w)
{
	int moved = drain_rx(w);
	if (moved < 0)
		return -1;
	if (!w->send_failure) {
		int k = flush_tx(w, 0);
		if (k < 0) {
			w->send_failure = xstrdup(eidf_last_error());
			strbuf_reset(&w->tx);
			w->tx_off = 0;
			w->stdin_open = 0;
			k = drain_rx(w);
			if (k < 0)
				return -1;
		}
		moved |= k;
	}
	return moved;
}

int kexec_stream_pump(struct kexec_stream *w, int wait_ms)
{
	if (w->failure || w->closed)
		return -1;
	int moved = move_bytes(w);
	if (moved < 0)
		return fail(w);
	if (!moved && wait_ms > 0 && !w->closed) {
		struct pollfd p = { w->sock, kexec_stream_events(w), 0 };
		if (poll_or_abort(w, &p, 1, wait_ms) < 0)
			return fail(w);
		if ((moved = move_bytes(w)) < 0)
			return fail(w);
	} else if (kclient_aborted(w->kc)) {
		eidf_set_error("interrupted");
		return fail(w);
	}
	if (moved)
		return 1;
	return w->closed ? -1 : 0;
}

int kexec_stream_over(const struct kexec_stream *w)
{
	return w->closed || w->failure;
}

size_t kexec_stream_peek(const struct kexec_stream *w, int stream, const char **data)
{
	if (stream != KEXEC_STDOUT && stream != KEXEC_STDERR) {
		*data = "";
		return 0;
	}
	*data = w->out[stream].buf ? w->out[stream].buf + w->out_off[stream] : "";
	return w->out[stream].len - w->out_off[stream];
}

void kexec_stream_consume(struct kexec_stream *w, int stream, size_t n)
{
	if (stream != KEXEC_STDOUT && stream != KEXEC_STDERR)
		return;
	size_t have = w->out[stream].len - w->out_off[stream];
	w->out_off[stream] += n < have ? n : have;
}

void kexec_stream_keep_tail(struct kexec_stream *w, int stream, struct strbuf *tail, size_t keep)
{
	const char *d;
	size_t n = kexec_stream_peek(w, stream, &d);
	if (!n)
		return;
	strbuf_add(tail, d, n);
	kexec_stream_consume(w, stream, n);
	if (tail->len > 2 * keep) {
		memmove(tail->buf, tail->buf + tail->len - keep, keep);
		tail->len = keep;
		tail->buf[keep] = '\0';
	}
}

char *kexec_tail_last_line(const struct strbuf *tail)
{
	size_t e = tail->len;
	while (e && (tail->buf[e - 1] == '\n' || tail->buf[e - 1] == '\r' || tail->buf[e - 1] == ' '))
		e--;
	size_t b = e;
	while (b && tail->buf[b - 1] != '\n')
		b--;
	return e > b ? xstrndup(tail->buf + b, e - b) : NULL;
}

void kexec_stream_free(struct kexec_stream *w)
{
	if (!w)
		return;
	if (w->c)
		curl_easy_cleanup(w->c);
	strbuf_release(&w->tx);
	strbuf_release(&w->rx);
	strbuf_release(&w->msg);
	for (int i = 0; i < 3; i++)
		strbuf_release(&w->out[i]);
	strbuf_release(&w->status);
	free(w->failure);
	free(w->send_failure);
	free(w->pod);
	free(w);
}

int kexec_stream_finish(struct kexec_stream *w, long wait_ms, int *exit_code)
{
	int rc = -1;
	*exit_code = -1;
	if (!w->failure && !w->closed) {
		kexec_stream_close_stdin(w);
		int64_t end = monotonic_ms() + wait_ms;
		/* what still comes is not wanted: dropped as it comes */
		while (!w->have_status && !w->failure && !w->closed) {
			/* first, so that a full buffer (RX_HIGH) does not stop reading */
			kexec_stream_consume(w, KEXEC_STDOUT, (size_t)-1);
			kexec_stream_consume(w, KEXEC_STDERR, (size_t)-1);
			int64_t left = end - monotonic_ms();
			if (left <= 0 || kexec_stream_pump(w, (int)left) < 0)
				break;
		}
	}
	if (w->have_status) {
		rc = status_exit_code(w, exit_code);
	} else if (w->failure) {
		eidf_set_error("%s", w->failure);
	} else if (w->closed) {
		eidf_set_error("the exec stream in pod %s ended without the command's exit status", w->pod);
	} else if (w->send_failure) {
		eidf_set_error("%s", w->send_failure);
	} else {
		eidf_set_error("the command in pod %s did not end within %.1f s", w->pod, wait_ms / 1000.0);
	}
	char *msg = rc < 0 ? xstrdup(eidf_last_error()) : NULL;
	/* answer or send the close, best effort (never blocks; its own failure
	 * is not the stream's) */
	if (!w->failure && !w->send_failure) {
		unsigned char code[2] = { 0x03, 0xe8 };
		add_frame(&w->tx, 8, code, 2);
		flush_tx(w, 0);
	}
	kexec_stream_free(w);
	if (msg) {
		eidf_set_error("%s", msg);
		free(msg);
	}
	return rc;
}

static int write_all(int fd, const char *d, size_t n)
{
	while (n) {
		ssize_t k = write(fd, d, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		d += k;
		n -= (size_t)k;
	}
	return 0;
}

/* What came on stdout and stderr goes to the caller's descriptors (or
 * nowhere: a stream not asked for has no data). */
/* 1 once something was passed on */
static int pass_output(struct kexec_stream *w, const struct kexec_opts *o)
{
	static const int streams[] = { KEXEC_STDOUT, KEXEC_STDERR };
	int any = 0;
	for (int i = 0; i < 2; i++) {
		const char *d;
		size_t n = kexec_stream_peek(w, streams[i], &d);
		int fd = streams[i] == KEXEC_STDOUT ? o->stdout_fd : o->stderr_fd;
		if (n && fd >= 0) {
			write_all(fd, d, n);
			any = 1;
		}
		kexec_stream_consume(w, streams[i], n);
	}
	return any;
}

int kclient_exec(struct kclient *kc, const struct kexec_opts *o, int *exit_code)
{
	*exit_code = -1;
	struct kexec_stream *w = kexec_stream_open(kc, o);
	if (!w)
		return -1;
	if (o->on_open)
		o->on_open(o->ud);
	char buf[65536];
	int output = pass_output(w, o);
	if (output && o->on_output)
		o->on_output(o->ud);
	while (!kexec_stream_over(w)) {
		struct pollfd p[2] = { { w->sock, kexec_stream_events(w), 0 }, { -1, POLLIN, 0 } };
		if (w->stdin_open && unsent(w) < TX_HIGH)
			p[1].fd = o->stdin_fd;
		if (poll_or_abort(w, p, 2, 1000) < 0) {
			fail(w);
			break;
		}
		if (p[1].fd >= 0 && p[1].revents) {
			ssize_t n = read(o->stdin_fd, buf, sizeof(buf));
			if (n > 0)
				kexec_stream_send(w, buf, (size_t)n);
			else if (n == 0 || (errno != EINTR && errno != EAGAIN))
				kexec_stream_close_stdin(w); /* v4: the command ends by itself */
		}
		kexec_stream_pump(w, 0);
		if (pass_output(w, o) && !output) {
			output = 1;
			if (o->on_output)
				o->on_output(o->ud);
		}
	}
	return kexec_stream_finish(w, 0, exit_code);
}
