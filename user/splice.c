// SPDX-License-Identifier: MIT
/*
 * splice.c - the splice(2) engine: each direction moves bytes socket -> pipe -> socket
 * without copying them through user space. Used where BPF cannot load, or when chosen.
 *
 * Both sockets are watched edge-triggered for input, output and hang-up; on any event both
 * directions are pumped until neither can progress. A source's EOF becomes shutdown(SHUT_WR)
 * on the destination once its pipe is empty (half-close); an error or reset on either side
 * becomes a reset of the other.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "engine.h"
#include "worker.h"

#define SPLICE_FLAGS (SPLICE_F_MOVE | SPLICE_F_NONBLOCK)

static void close_pipes(struct splice_state *s)
{
	for (int dir = 0; dir < 2; dir++) {
		for (int i = 0; i < 2; i++) {
			if (s->pipe[dir][i] >= 0)
				close(s->pipe[dir][i]);
			s->pipe[dir][i] = -1;
		}
	}
}

/* Moves what it can in one direction; 0, or -errno on a socket error. */
static int pump_dir(struct conn *c, int dir)
{
	struct splice_state *s = &c->eng.splice;
	int src = c->fd[dir], dst = c->fd[!dir];
	ssize_t n;
	bool progress;

	do {
		progress = false;
		if (s->in_pipe[dir]) {
			n = splice(s->pipe[dir][0], NULL, dst, NULL, s->in_pipe[dir], SPLICE_FLAGS);
			if (n > 0) {
				s->in_pipe[dir] -= n;
				c->bytes[dir] += n;
				progress = true;
			} else if (n < 0 && errno != EAGAIN) {
				return -errno;
			}
		}
		if (!s->eof[dir] && s->in_pipe[dir] < s->pipe_size) {
			n = splice(src, NULL, s->pipe[dir][1], NULL, s->pipe_size - s->in_pipe[dir],
				   SPLICE_FLAGS);
			if (n > 0) {
				s->in_pipe[dir] += n;
				progress = true;
			} else if (n == 0) {
				s->eof[dir] = true;
				progress = true;
			} else if (errno != EAGAIN) {
				return -errno;
			}
		}
	} while (progress);

	if (s->eof[dir] && !s->in_pipe[dir] && !s->shut[dir]) {
		shutdown(dst, SHUT_WR);
		s->shut[dir] = true;
	}
	return 0;
}

static void pump(struct worker *w, struct conn *c)
{
	struct splice_state *s = &c->eng.splice;

	for (int dir = 0; dir < 2; dir++) {
		int err = pump_dir(c, dir);

		if (err < 0) {
			worker_conn_reset(w, c, dir, err);
			return;
		}
	}
	stats_conn_bytes(w, c);
	if (s->shut[0] && s->shut[1])
		worker_conn_end(w, c, END_CLOSED);
}

static int splice_start(struct worker *w, struct conn *c)
{
	struct splice_state *s = &c->eng.splice;
	int dir, err, sz;

	for (dir = 0; dir < 2; dir++)
		s->pipe[dir][0] = s->pipe[dir][1] = -1;
	for (dir = 0; dir < 2; dir++) {
		if (pipe2(s->pipe[dir], O_NONBLOCK | O_CLOEXEC) < 0) {
			err = -errno;
			goto out_pipes;
		}
	}
	sz = fcntl(s->pipe[0][0], F_GETPIPE_SZ);
	s->pipe_size = sz > 0 ? (uint32_t)sz : 65536;
	for (int side = 0; side < 2; side++) {
		err = worker_watch(w, c, side, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
				   EPOLL_CTL_MOD);
		if (err)
			goto out_pipes;
	}
	pump(w, c);
	return 0;

out_pipes:
	close_pipes(s);
	return err;
}

static void splice_event(struct worker *w, struct conn *c, int side, uint32_t events)
{
	if (events & EPOLLERR) {
		worker_conn_reset(w, c, side, 0);
		return;
	}
	pump(w, c);
}

static void splice_poll(struct worker *w, struct conn *c, uint64_t now)
{
	pump(w, c);
}

static void splice_release(struct worker *w, struct conn *c)
{
	close_pipes(&c->eng.splice);
}

const struct engine_ops splice_engine_ops = {
	.name = "splice",
	.start = splice_start,
	.event = splice_event,
	.poll = splice_poll,
	.release = splice_release,
};
