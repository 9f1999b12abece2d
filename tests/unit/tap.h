/* SPDX-License-Identifier: MIT */
/*
 * tap.h - a minimal TAP 13 producer for sockmux's C unit tests, read by prove(1).
 *
 * The ASSERT_* macros print "ok N - name" or "not ok N - name" with a diagnostic and
 * evaluate to a bool, in the style of the kernel's BPF selftests:
 *
 *	if (!ASSERT_EQ(st, TLS_HELLO_OK, "parse curl hello"))
 *		goto out;
 *
 * They never return or jump on their own. A test program ends with tap_done(), whose
 * value is main()'s exit status (0 when every assertion passed).
 */
#ifndef SOCKMUX_TAP_H
#define SOCKMUX_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int tap_n;
static int tap_failed;

static inline void tap_plan_start(void)
{
	printf("TAP version 13\n");
}

__attribute__((format(printf, 2, 3)))
static inline bool tap_result(bool ok, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	if (!ok)
		tap_failed++;
	printf("%sok %d - ", ok ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return ok;
}

__attribute__((format(printf, 1, 2)))
static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static inline void tap_skip(const char *name, const char *why)
{
	tap_n++;
	printf("ok %d - %s # SKIP %s\n", tap_n, name, why);
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#define ASSERT_TRUE(cond, name) tap_result(!!(cond), "%s", name)
#define ASSERT_FALSE(cond, name) tap_result(!(cond), "%s", name)

#define ASSERT_EQ(a, b, name)                                                                      \
	({                                                                                         \
		long long __a = (long long)(a), __b = (long long)(b);                              \
		bool __ok = tap_result(__a == __b, "%s", name);                                    \
		if (!__ok)                                                                         \
			tap_diag("  %s: got %lld, expected %lld", name, __a, __b);                 \
		__ok;                                                                              \
	})

#define ASSERT_STREQ(a, b, name)                                                                   \
	({                                                                                         \
		const char *__a = (a), *__b = (b);                                                 \
		bool __ok = tap_result(__a && __b && strcmp(__a, __b) == 0, "%s", name);           \
		if (!__ok)                                                                         \
			tap_diag("  %s: got \"%s\", expected \"%s\"", name, __a ? __a : "(null)",  \
				 __b ? __b : "(null)");                                            \
		__ok;                                                                              \
	})

#define ASSERT_OK(err, name) ASSERT_EQ(err, 0, name)

#endif
