/* SPDX-License-Identifier: MIT */
/*
 * pipe_pool.h - a worker's pipes, for an engine that moves bytes socket -> pipe -> socket: a
 * direction takes a pipe only while it has bytes in flight and gives it back empty, as
 * HAProxy's get_pipe()/put_pipe() do, so an idle connection holds no pipe.
 *
 * At most `max` pipes are open at once, taken or kept: the descriptor budget counts them
 * (engine_ops.pipes_per_worker), so a pipe never takes a descriptor that accept() needed.
 * When none can be had, the caller carries the bytes another way (splice.c: a copy through
 * the worker's scratch buffer) rather than wait. Up to PIPE_POOL_KEEP empty pipes stay open
 * for the next taker; the rest are closed. One worker's, no lock.
 */
#ifndef SOCKMUX_PIPE_POOL_H
#define SOCKMUX_PIPE_POOL_H

#include <stdbool.h>
#include <stdint.h>

/* Pipes a worker may have open at once (engines declare 2 descriptors for each). */
#define PIPE_POOL_MAX 32
/* Empty pipes kept open for the next taker. */
#define PIPE_POOL_KEEP 8

struct pipe_pool {
	int free[PIPE_POOL_KEEP][2];	/* empty pipes: [0] read end, [1] write end */
	unsigned int n_free;
	unsigned int out;		/* taken and not yet given back */
	unsigned int max;		/* at most this many out */
	uint32_t size;			/* capacity of each pipe (F_GETPIPE_SZ of the first) */
	uint64_t opened;		/* pipe2() calls, for the counters */
	uint64_t refused;		/* takes that found none (max out, or pipe2() failed) */
};

/*
 * A pool that will hand out at most max pipes at once, holding min(max, PIPE_POOL_KEEP) empty
 * ones open from now on (fewer if the limit is reached).
 */
void pipe_pool_init(struct pipe_pool *p, unsigned int max);
/* Closes the kept pipes (those out are their takers' to give back or close). */
void pipe_pool_fini(struct pipe_pool *p);
/*
 * An empty non-blocking pipe into fd[2]: a kept one, or a new one. 0, or -EMFILE when max are
 * out, or the -errno of pipe2().
 */
int pipe_pool_get(struct pipe_pool *p, int fd[2]);
/*
 * Gives back a pipe taken from p: kept for the next taker if empty is true and there is room,
 * else closed (a pipe that may still hold bytes is never handed out again). fd is set to -1.
 */
void pipe_pool_put(struct pipe_pool *p, int fd[2], bool empty);

#endif
