/* SPDX-License-Identifier: MIT */
/*
 * log.h - sockmux's log: one line per call on stderr, with a timestamp and a level.
 *
 * The level is set once by main() before any thread starts. Each line is written with one
 * write(2), or with the other lines of its batch (struct log_batch), so lines from several
 * worker threads never interleave.
 */
#ifndef SOCKMUX_LOG_H
#define SOCKMUX_LOG_H

#include <stddef.h>

enum log_level { LOG_ERR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);

__attribute__((format(printf, 2, 3)))
void log_print(enum log_level level, const char *fmt, ...);

/* The longest line, its newline included; longer ones are cut. */
#define LOG_LINE_MAX 2048

/*
 * Lines one thread gathers and writes together: a worker's connection lines, written once per
 * batch of events (one write(2) for many connections under load), in the order they came.
 */
struct log_batch {
	size_t len;
	char buf[8 * LOG_LINE_MAX];
};

__attribute__((format(printf, 3, 4)))
void log_batch_print(struct log_batch *b, enum log_level level, const char *fmt, ...);
void log_batch_flush(struct log_batch *b);

#define pr_err(...) log_print(LOG_ERR, __VA_ARGS__)
#define pr_warn(...) log_print(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log_print(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_print(LOG_DEBUG, __VA_ARGS__)

#endif
