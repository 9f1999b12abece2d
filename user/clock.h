/* SPDX-License-Identifier: MIT */
/* clock.h - the monotonic clock every deadline, duration and rate is measured on. */
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

#endif
