// SPDX-License-Identifier: MIT
/*
 * test_pipe_pool.c - a worker's pipe pool: the kept pipes are opened at start, takers get them
 * first, no more than max are ever open (taken or kept), an empty pipe given back is kept for
 * the next taker and one that may hold bytes is closed, and nothing outlives the pool.
 */
#include <dirent.h>
#include <errno.h>
#include <unistd.h>

#include "pipe_pool.h"
#include "tap.h"

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* opendir's own */
}

static void test_bounds(void)
{
	int fd[PIPE_POOL_MAX + 1][2], base = open_fds(), i;
	struct pipe_pool p;

	pipe_pool_init(&p, PIPE_POOL_MAX);
	ASSERT_EQ(p.n_free, PIPE_POOL_KEEP, "init keeps PIPE_POOL_KEEP pipes open");
	ASSERT_EQ(open_fds() - base, 2 * PIPE_POOL_KEEP, "two descriptors each");
	ASSERT_EQ(p.size >= 4096, true, "pipe size known");
	for (i = 0; i < PIPE_POOL_MAX; i++)
		if (pipe_pool_get(&p, fd[i]))
			break;
	ASSERT_EQ(i, PIPE_POOL_MAX, "max pipes can be taken");
	ASSERT_EQ(p.opened, PIPE_POOL_MAX, "the kept ones first, then new ones");
	ASSERT_EQ(pipe_pool_get(&p, fd[PIPE_POOL_MAX]), -EMFILE, "one more is refused");
	ASSERT_EQ(p.refused, 1, "the refusal is counted");
	ASSERT_EQ(open_fds() - base, 2 * PIPE_POOL_MAX, "never more than max open");
	/* a pipe holding bytes is never handed out again */
	ASSERT_EQ(write(fd[0][1], "x", 1), 1, "write into a taken pipe");
	pipe_pool_put(&p, fd[0], false);
	ASSERT_EQ(fd[0][0], -1, "put clears the taker's descriptors");
	ASSERT_EQ(p.n_free, 0, "a pipe that holds bytes is closed, not kept");
	for (i = 1; i < PIPE_POOL_MAX; i++)
		pipe_pool_put(&p, fd[i], true);
	ASSERT_EQ(p.n_free, PIPE_POOL_KEEP, "empty ones kept up to PIPE_POOL_KEEP");
	ASSERT_EQ(p.out, 0, "none out");
	ASSERT_EQ(open_fds() - base, 2 * PIPE_POOL_KEEP, "the excess is closed");
	ASSERT_EQ(pipe_pool_get(&p, fd[0]), 0, "take again");
	ASSERT_EQ(p.opened, PIPE_POOL_MAX, "a kept pipe, not a new one");
	pipe_pool_put(&p, fd[0], true);
	pipe_pool_fini(&p);
	ASSERT_EQ(open_fds(), base, "fini closes every kept pipe");
}

static void test_none(void)
{
	int fd[2], base = open_fds();
	struct pipe_pool p;

	pipe_pool_init(&p, 0);
	ASSERT_EQ(open_fds(), base, "max 0: nothing opened");
	ASSERT_EQ(pipe_pool_get(&p, fd), -EMFILE, "max 0: every take refused");
	pipe_pool_fini(&p);
}

int main(void)
{
	tap_plan_start();
	test_bounds();
	test_none();
	return tap_done();
}
