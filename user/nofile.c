// SPDX-License-Identifier: MIT
/*
 * nofile.c - the open-files arithmetic of `sockmux run` (see nofile.h).
 */
#include "nofile.h"

rlim_t nofile_need(unsigned int max_conns, unsigned int per_conn, rlim_t extra)
{
	return (rlim_t)max_conns * per_conn + extra;
}

struct rlimit nofile_ask(rlim_t need, rlim_t nr_open, const struct rlimit *cur)
{
	rlim_t want = need < nr_open ? need : nr_open;
	struct rlimit up = *cur;

	if (up.rlim_cur < want)
		up.rlim_cur = want;
	if (up.rlim_max < up.rlim_cur)
		up.rlim_max = up.rlim_cur;
	return up;
}

unsigned int nofile_fit(rlim_t limit, unsigned int per_conn, rlim_t extra)
{
	rlim_t fit = limit > extra && per_conn ? (limit - extra) / per_conn : 1;

	if (fit > 0xffffffffu)
		fit = 0xffffffffu;
	return fit ? (unsigned int)fit : 1;
}
