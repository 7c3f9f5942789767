/* Progress display: on a terminal a single line redrawn in place (\r, at
 * most ~10 times a second); otherwise (logs, CI) a plain line every few
 * seconds so that long transfers still show signs of life. */
#include "eidf/output.h"
#include "eidf/humanize.h"
#include "eidf/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define TTY_REDRAW_MS 100
#define PLAIN_INTERVAL_MS 5000
#define BAR_WIDTH 20
/* half a second: a transfer of a few seconds shows its rate and ETA for most of them */
#define RATE_AFTER_MS 500

struct progress {
	FILE *out;
	char *label;
	uint64_t total, done;
	int tty;
	long interval_ms;
	int64_t start_ms, last_ms;
	int drawn;             /* a TTY line is on screen */
	unsigned spin;
};

void usage_bar(char *buf, int width, double fraction)
{
	double f = fraction;
	int filled, pct;

	if (width < 0)
		width = 0;
	if (!(f >= 0)) /* also NaN */
		f = 0;
	/* floor: 99.9% full is not "100%" */
	pct = f > 9.99 ? 999 : (int)(f * 100 + 1e-9);
	if (f > 1)
		f = 1;
	filled = (int)(f * width + 0.5);
	/* never show a full bar for less than 100% nor an empty one above 0 */
	if (filled == width && f < 1 && width > 0)
		filled = width - 1;
	if (filled == 0 && f > 0 && width > 0)
		filled = 1;
	buf[0] = '[';
	for (int i = 0; i < width; i++)
		buf[1 + i] = i < filled ? '#' : '-';
	snprintf(buf + 1 + width, 7, "] %d%%", pct);
}

struct progress *progress_new(FILE *out, const char *label, uint64_t total)
{
	struct progress *p = xcalloc(1, sizeof(*p));
	const char *env = getenv("EIDF_PROGRESS_INTERVAL_MS");

	p->out = out ? out : stderr;
	p->label = xstrdup(label ? label : "");
	p->total = total;
	p->tty = isatty(fileno(p->out));
	p->interval_ms = PLAIN_INTERVAL_MS;
	if (env && *env) {
		char *end;
		long v = strtol(env, &end, 10);
		if (!*end && v >= 0)
			p->interval_ms = v;
	}
	p->start_ms = p->last_ms = monotonic_ms();
	return p;
}

static int term_columns(FILE *out)
{
	struct winsize ws;
	if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/* "52% (12MiB of 23MiB, 3.1MiB/s, ETA 4s)", or "12MiB (3.1MiB/s)" without a
 * total; next to a bar (which shows the percentage) "12MiB of 23MiB,
 * 3.1MiB/s, ETA 4s".  The rate (and with it the ETA, at the average rate so
 * far) once RATE_AFTER_MS have passed: before, it says little. */
static void describe(struct progress *p, struct strbuf *sb, int64_t now, int bar)
{
	char *done = human_bytes(p->done);
	int64_t ms = now - p->start_ms;
	char *rate = NULL;

	if (ms >= RATE_AFTER_MS)
		rate = human_bytes((uint64_t)((double)p->done * 1000.0 / (double)ms));
	if (p->total) {
		char *total = human_bytes(p->total);
		double f = (double)p->done / (double)p->total;
		if (!bar)
			strbuf_addf(sb, "%d%% (", (int)(f >= 1 ? 100 : f * 100));
		strbuf_addf(sb, "%s of %s", done, total);
		if (rate)
			strbuf_addf(sb, ", %s/s", rate);
		if (rate && p->done && p->done < p->total) {
			double left_s = (double)(p->total - p->done) * (double)ms / 1000.0 / (double)p->done;
			char *eta = human_duration((int64_t)left_s + 1);
			strbuf_addf(sb, ", ETA %s", eta);
			free(eta);
		}
		if (!bar)
			strbuf_addch(sb, ')');
		free(total);
	} else {
		strbuf_addstr(sb, done);
		if (rate)
			strbuf_addf(sb, " (%s/s)", rate);
	}
	free(rate);
	free(done);
}

static void draw_tty(struct progress *p, const char *note, int64_t now)
{
	struct strbuf line = STRBUF_INIT;
	static const char spinner[] = "|/-\\";
	int cols = term_columns(p->out);

	strbuf_addstr(&line, p->label);
	strbuf_addch(&line, ' ');
	if (p->total) {
		char bar[BAR_WIDTH + 8];
		usage_bar(bar, BAR_WIDTH, (double)p->done / (double)p->total);
		strbuf_addstr(&line, bar);
	} else {
		strbuf_addch(&line, spinner[p->spin++ % 4]);
	}
	strbuf_addstr(&line, "  ");
	describe(p, &line, now, 1);
	if (note && *note) {
		strbuf_addstr(&line, "  ");
		strbuf_addstr(&line, note);
	}
	/* a wrapped line cannot be redrawn with \r: cut it to the terminal */
	if (cols > 1 && line.len > (size_t)(cols - 1)) {
		line.len = (size_t)(cols - 1);
		line.buf[line.len] = '\0';
	}
	fprintf(p->out, "\r%s\033[K", line.buf);
	fflush(p->out);
	p->drawn = 1;
	strbuf_release(&line);
}

static void print_plain(struct progress *p, const char *note, int64_t now, int final)
{
	struct strbuf line = STRBUF_INIT;

	strbuf_addf(&line, "%s: ", p->label);
	describe(p, &line, now, 0);
	if (final)
		strbuf_addstr(&line, ", done");
	if (note && *note)
		strbuf_addf(&line, " %s", note);
	strbuf_addch(&line, '\n');
	fputs(line.buf, p->out);
	fflush(p->out);
	strbuf_release(&line);
}

void progress_update(struct progress *p, uint64_t done, const char *note)
{
	int64_t now;

	if (!p)
		return;
	p->done = done;
	now = monotonic_ms();
	if (p->tty) {
		if (p->drawn && now - p->last_ms < TTY_REDRAW_MS && !(p->total && done >= p->total))
			return;
		draw_tty(p, note, now);
		p->last_ms = now;
	} else if (now - p->last_ms >= p->interval_ms) {
		print_plain(p, note, now, 0);
		p->last_ms = now;
	}
}

void progress_done(struct progress *p, const char *final_note)
{
	if (!p)
		return;
	int64_t now = monotonic_ms();
	if (p->tty) {
		draw_tty(p, final_note, now);
		fputc('\n', p->out);
		fflush(p->out);
	} else {
		print_plain(p, final_note, now, 1);
	}
	free(p->label);
	free(p);
}
