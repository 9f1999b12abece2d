// SPDX-License-Identifier: MIT
/*
 * pipe_pool.c - a worker's pipes (see pipe_pool.h): taken while bytes are in flight, given
 * back empty, at most `max` out at once, a few kept open for the next taker.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "pipe_pool.h"

#define PIPE_DEFAULT_SIZE 65536

/* Opens one more empty pipe into the kept ones; 0 or -errno. */
static int open_one(struct pipe_pool *p, int fd[2])
{
	int sz;

	if (pipe2(fd, O_NONBLOCK | O_CLOEXEC) < 0) {
		fd[0] = fd[1] = -1;
		return -errno;
	}
	p->opened++;
	if (!p->size) {
		sz = fcntl(fd[0], F_GETPIPE_SZ);
		p->size = sz > 0 ? (uint32_t)sz : PIPE_DEFAULT_SIZE;
	}
	return 0;
}

void pipe_pool_init(struct pipe_pool *p, unsigned int max)
{
	p->n_free = 0;
	p->out = 0;
	p->max = max;
	p->opened = 0;
	p->refused = 0;
	/* the kept pipes are opened now, so that what the daemon holds idle is its steady state
	 * (a pipe it cannot open now is opened when needed) */
	p->size = 0;
	while (p->n_free < PIPE_POOL_KEEP && p->n_free < max && !open_one(p, p->free[p->n_free]))
		p->n_free++;
	if (!p->size)
		p->size = PIPE_DEFAULT_SIZE;
}

void pipe_pool_fini(struct pipe_pool *p)
{
	while (p->n_free) {
		p->n_free--;
		close(p->free[p->n_free][0]);
		close(p->free[p->n_free][1]);
	}
}

int pipe_pool_get(struct pipe_pool *p, int fd[2])
{
	int err;

	if (p->out >= p->max) {
		p->refused++;
		return -EMFILE;
	}
	if (p->n_free) {
		p->n_free--;
		fd[0] = p->free[p->n_free][0];
		fd[1] = p->free[p->n_free][1];
		p->out++;
		return 0;
	}
	err = open_one(p, fd);
	if (err) {
		p->refused++;
		return err;
	}
	p->out++;
	return 0;
}

void pipe_pool_put(struct pipe_pool *p, int fd[2], bool empty)
{
	if (fd[0] < 0)
		return;
	p->out--;
	if (empty && p->n_free < PIPE_POOL_KEEP) {
		p->free[p->n_free][0] = fd[0];
		p->free[p->n_free][1] = fd[1];
		p->n_free++;
	} else {
		close(fd[0]);
		close(fd[1]);
	}
	fd[0] = fd[1] = -1;
}
