// SPDX-License-Identifier: MIT
/* log.c - timestamped, leveled log lines on stderr (see log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Written once by main() before threads start; read-only afterwards. */
static enum log_level log_level = LOG_INFO;

static const char *const level_names[] = {
	[LOG_ERR] = "error",
	[LOG_WARN] = "warning",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

/* One line with its timestamp, level and newline into line (size >= 64): its length. */
static size_t format_line(char *line, size_t size, enum log_level level, const char *fmt,
			  va_list ap)
{
	struct timespec ts;
	struct tm tm;
	int n, m;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s: ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     ts.tv_nsec / 1000000, level_names[level]);
	m = vsnprintf(line + n, size - n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)size - 2)
		n = size - 2;
	line[n++] = '\n';
	return n;
}

void log_print(enum log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;
	size_t n;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	n = format_line(line, sizeof(line), level, fmt, ap);
	va_end(ap);
	/* One write per line: lines from worker threads never interleave. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

void log_batch_print(struct log_batch *b, enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	if (sizeof(b->buf) - b->len < LOG_LINE_MAX)
		log_batch_flush(b);
	va_start(ap, fmt);
	b->len += format_line(b->buf + b->len, LOG_LINE_MAX, level, fmt, ap);
	va_end(ap);
}

/* Whole lines only, in one write: another thread's lines fall before or after them. */
void log_batch_flush(struct log_batch *b)
{
	if (b->len && write(STDERR_FILENO, b->buf, b->len) < 0) {
		/* stderr is gone: the lines are lost, as log_print()'s would be */
	}
	b->len = 0;
}
