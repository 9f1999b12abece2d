// SPDX-License-Identifier: MIT
/*
 * splice.c - the splice(2) engine: each direction moves bytes socket -> pipe -> socket
 * without copying them through user space. Used where BPF cannot load, or when chosen.
 *
 * Both sockets are watched edge-triggered for input, output and hang-up; on any event both
 * directions are pumped until neither can progress. A source's EOF becomes shutdown(SHUT_WR)
 * on the destination once its pipe is empty (half-close). A reset or error on either side
 * becomes a reset of the other, but only after every byte that came before it was moved and
 * has left the other socket (worker_conn_fail()).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "engine.h"
#include "worker.h"

#define SPLICE_FLAGS (SPLICE_F_MOVE | SPLICE_F_NONBLOCK)

/* Engine state for splice(2): one pipe per direction. */
struct splice_state {
	int pipe[2][2];		/* [dir][0 read end, 1 write end] */
	uint32_t in_pipe[2];	/* bytes waiting in each pipe */
	uint32_t pipe_size;
	bool eof[2];		/* source of this direction sent FIN */
	bool shut[2];		/* FIN passed on to the destination */
};


_Static_assert(sizeof(struct splice_state) <= ENGINE_STATE_SIZE, "splice_state fits conn->eng");

static struct splice_state *state(struct conn *c)
{
	return (struct splice_state *)c->eng.bytes;
}

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

/*
 * Moves what it can in one direction: 0, or -errno with *side the socket that failed (the
 * source on a read, the destination on a write). A source's EOF becomes a FIN on the
 * destination once the pipe is empty; a failed source's end does not (it becomes a reset).
 */
static int pump_dir(struct conn *c, int dir, int *side)
{
	struct splice_state *s = state(c);
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
				*side = !dir;
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
				*side = dir;
				return -errno;
			}
		}
	} while (progress);

	if (s->eof[dir] && !s->in_pipe[dir] && !s->shut[dir] && c->fail.side < 0) {
		shutdown(dst, SHUT_WR);
		s->shut[dir] = true;
	}
	return 0;
}

/*
 * After a socket failed: its last bytes are still moved (a reset arrives behind the bytes sent
 * before it, and splice(2) reads those first, then the error), nothing goes towards it, and
 * once the pipe is empty the reset is passed on when the other socket has sent everything.
 */
static void pump_failed(struct worker *w, struct conn *c, uint64_t now)
{
	struct splice_state *s = state(c);
	int dir = c->fail.side;

	if (s->eof[dir] && !s->in_pipe[dir]) {
		worker_conn_fail_flushed(w, c, now);
		return;
	}
	if (worker_conn_fail_due(w, c, now)) {
		int inq = 0;

		/* what the pipe and the failed socket's queue still hold is dropped */
		if (ioctl(c->fd[dir], SIOCINQ, &inq) < 0 || inq < 0)
			inq = 0;
		worker_conn_fail_give_up(w, c, s->in_pipe[dir] + (uint64_t)inq);
		return;
	}
	/* the destination is full: its EPOLLOUT pumps again, the deadline bounds the wait */
	worker_poll_at(w, c, c->fail.deadline_ns);
}

static void pump(struct worker *w, struct conn *c, uint64_t now)
{
	struct splice_state *s = state(c);
	int dir, side, err;

	for (dir = 0; dir < 2; dir++) {
		if (c->fail.side == !dir)
			continue;	/* towards the failed socket: nothing can arrive */
		err = pump_dir(c, dir, &side);
		if (!err)
			continue;
		if (c->fail.side < 0) {
			/* first failure: from now on only the failed side's bytes move */
			worker_conn_fail(w, c, side, err);
			dir = -1;
			continue;
		}
		if (side != c->fail.side) {
			/* the other socket failed too: nothing more can be delivered */
			worker_conn_reset(w, c, c->fail.side, c->fail.err);
			return;
		}
		s->eof[dir] = true;	/* the failed source gave its last byte */
		dir = -1;		/* and whatever its pipe still holds goes on */
	}
	stats_conn_bytes(&w->stats, c);
	if (c->fail.side >= 0)
		pump_failed(w, c, now);
	else if (s->shut[0] && s->shut[1])
		worker_conn_end(w, c, END_CLOSED);
}

static int splice_start(struct worker *w, struct conn *c)
{
	struct splice_state *s = state(c);
	int dir, err, sz;

	/* the state may follow an engine that could not take c (engine.h, fallback) */
	memset(s, 0, sizeof(*s));
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
	pump(w, c, now_ns());
	return 0;

out_pipes:
	close_pipes(s);
	return err;
}

/* A reset is recorded, not acted on: the bytes that arrived before it are moved first. */
static void splice_event(struct worker *w, struct conn *c, int side, uint32_t events)
{
	if ((events & EPOLLERR) && c->fail.side < 0)
		worker_conn_fail(w, c, side, 0);
	pump(w, c, now_ns());
}

static void splice_poll(struct worker *w, struct conn *c, uint64_t now)
{
	pump(w, c, now);
}

static void splice_release(struct worker *w, struct conn *c)
{
	close_pipes(state(c));
}

const struct engine_ops splice_engine_ops = {
	.name = "splice",
	.fds_per_conn = 4,
	.start = splice_start,
	.event = splice_event,
	.poll = splice_poll,
	.release = splice_release,
};
