// SPDX-License-Identifier: MIT
/*
 * test_nofile.c - the open-files arithmetic of `sockmux run`: what max_connections needs (two
 * descriptors a connection on either engine, the pipe pools, the headroom), the limit asked
 * for (soft and hard raised to it, capped by fs.nr_open, never lowered), and what fits a
 * limit that could not be raised (this machine kind: hard 20 000, no CAP_SYS_RESOURCE).
 */
#include "nofile.h"
#include "tap.h"

int main(void)
{
	/* 2 workers: 64 headroom + 2 x 32 pipes x 2 descriptors */
	rlim_t extra = 64 + 2 * 32 * 2;
	struct rlimit cur = { .rlim_cur = 1024, .rlim_max = 20000 }, up;

	tap_plan_start();
	ASSERT_EQ(nofile_need(16384, 2, extra), (rlim_t)32960, "default max_connections needs 32960");
	ASSERT_EQ(nofile_need(100000, 2, extra), (rlim_t)200192, "100 000 connections: 200 192");

	/* the path that asks: soft and hard raised to what is needed */
	up = nofile_ask(32960, 1048576, &cur);
	ASSERT_EQ(up.rlim_cur, (rlim_t)32960, "soft limit asked: the need");
	ASSERT_EQ(up.rlim_max, (rlim_t)32960, "hard limit asked: raised to the need");
	/* fs.nr_open caps both */
	up = nofile_ask(2000000, 1048576, &cur);
	ASSERT_EQ(up.rlim_cur, (rlim_t)1048576, "soft capped by fs.nr_open");
	ASSERT_EQ(up.rlim_max, (rlim_t)1048576, "hard capped by fs.nr_open");
	/* a hard limit already high enough stays; only the soft one moves */
	cur.rlim_max = 1048576;
	up = nofile_ask(32960, 1048576, &cur);
	ASSERT_EQ(up.rlim_cur, (rlim_t)32960, "soft raised under a high hard limit");
	ASSERT_EQ(up.rlim_max, (rlim_t)1048576, "a high hard limit is kept");
	/* never lowered */
	cur.rlim_cur = 500000;
	up = nofile_ask(32960, 1048576, &cur);
	ASSERT_EQ(up.rlim_cur, (rlim_t)500000, "a higher soft limit is not lowered");

	/* the hard limit of 20 000 stays: what fits */
	ASSERT_EQ(nofile_fit(20000, 2, extra), 9904u, "20 000 descriptors, 2 workers: 9904 connections");
	ASSERT_EQ(nofile_fit(20000, 2, 64 + 64), 9936u, "20 000 descriptors, 1 worker: 9936");
	ASSERT_EQ(nofile_fit(100, 2, extra), 1u, "a limit under the extra still leaves 1");
	ASSERT_EQ(nofile_fit(20000, 6, 64) < 3323u, true, "six descriptors a connection: 3322");
	return tap_done();
}
