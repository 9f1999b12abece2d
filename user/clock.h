/* SPDX-License-Identifier: MIT */
/*
 * clock.h - the monotonic clock every deadline, duration and rate is measured on, and the
 * wall clock for times shown to people.
 */
#ifndef SOCKMUX_CLOCK_H
#define SOCKMUX_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds (vDSO: no system call). */
static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* CLOCK_REALTIME in nanoseconds: wall-clock times shown to people ("down since"). */
static inline uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

#endif
