// SPDX-License-Identifier: MIT
/*
 * splice.c - the splice(2) engine: each direction moves bytes socket -> pipe -> socket
 * without copying them through user space. Used where BPF cannot load, or when chosen.
 *
 * A direction takes a pipe from the worker's pool (pipe_pool.h) when it has bytes to move and
 * gives it back once empty, so an idle connection holds its two sockets only; a pipe that
 * still holds bytes (a slow destination) stays with its direction. When the pool has none to
 * give, the bytes are copied through the worker's scratch buffer instead, peeked and taken
 * off the source only once the destination took them: nothing is held in user space, nothing
 * waits for a pipe, and accept() never loses a descriptor to a pipe.
 *
 * A direction's first bytes are copied while they come in small reads (a ClientHello, an
 * answer, a keystroke): recv() then send() through the worker's scratch buffer, two calls where
 * splice takes three, and a read that came back short means the source had nothing more, so
 * the next read waits for its next input edge (no read that ends in EAGAIN). What the
 * destination does not take goes into the direction's pipe, as if spliced. A read that comes
 * back full makes the direction bulk: pipes from then on.
 *
 * Both sockets are watched edge-triggered for input, output and hang-up; an event pumps the
 * directions it concerns until they cannot progress. A source's EOF becomes shutdown(SHUT_WR)
 * on the destination once its pipe is empty (half-close). A reset or error on either side
 * becomes a reset of the other, but only after every byte that came before it was moved and
 * has left the other socket (worker_conn_fail()).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "daemon.h"
#include "engine.h"
#include "engine/splice.h"
#include "handshake.h"
#include "pipe_pool.h"
#include "worker.h"

#define SPLICE_FLAGS (SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
/* pump(): which directions to move */
#define PUMP_UP 1u	/* client -> backend */
#define PUMP_DOWN 2u	/* backend -> client */
#define PUMP_BOTH (PUMP_UP | PUMP_DOWN)
/* splice_state.moved_by: how a direction last moved bytes */
#define MOVED_BY_PIPE 1
#define MOVED_BY_COPY 2
/* Most bytes one copy step (no pipe to be had) peeks at once: a pipe's worth. */
#define COPY_CHUNK 65536
/* A small read: one that comes back full makes its direction bulk (pipes from then on). */
#define SMALL_READ 16384

/*
 * Engine state for splice(2): per direction, a pipe from the worker's pool while bytes are in
 * flight (-1 when none: an idle connection holds only its two sockets).
 */
struct splice_state {
	int pipe[2][2];		/* [dir][0 read end, 1 write end], -1: none taken */
	uint32_t in_pipe[2];	/* bytes waiting in each pipe */
	bool eof[2];		/* source of this direction sent FIN */
	bool shut[2];		/* FIN passed on to the destination */
	bool bulk[2];		/* a small read came back full: splice from now on */
	bool drained[2];	/* the last small read came back short (or EAGAIN), and no input
				 * edge came since: the source holds nothing to read */
	bool hup[2];		/* a hang-up or an error was seen on the source: read it to the end
				 * (its EOF came with no edge of its own after a short read) */
	uint64_t copied;	/* bytes copied through user space: no pipe could be had */
	uint8_t moved_by[2];	/* MOVED_BY_*: how each direction last moved bytes, 0: never */
	uint32_t switches;	/* times a direction moved bytes otherwise than the last time */
};

_Static_assert(sizeof(struct splice_state) <= ENGINE_STATE_SIZE, "splice_state fits conn->eng");
_Static_assert(COPY_CHUNK <= WORKER_SCRATCH, "a copy step fits the worker's scratch buffer");
_Static_assert(SMALL_READ <= WORKER_SCRATCH, "a small read fits the worker's scratch buffer");

static struct splice_state *state(struct conn *c)
{
	return (struct splice_state *)c->eng.bytes;
}

/* Gives direction dir's pipe back to the pool: kept for others only if it is empty. */
static void put_pipe(struct worker *w, struct splice_state *s, int dir)
{
	pipe_pool_put(&w->pipes, s->pipe[dir], s->in_pipe[dir] == 0);
	s->in_pipe[dir] = 0;
}

/*
 * Moves what it can through direction dir's pipe: 0, or -errno with *side the socket that
 * failed (the source on a read, the destination on a write).
 */
static int pump_pipe(struct worker *w, struct conn *c, int dir, int *side)
{
	struct splice_state *s = state(c);
	int src = c->fd[dir], dst = c->fd[!dir];
	uint32_t size = w->pipes.size;
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
		if (!s->eof[dir] && s->in_pipe[dir] < size) {
			n = splice(src, NULL, s->pipe[dir][1], NULL, size - s->in_pipe[dir],
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
	return 0;
}

/*
 * No pipe to be had: copies through the worker's scratch buffer without holding a byte in
 * user space. The source's bytes are peeked, the destination takes what it can, and only that
 * much is then taken off the source (MSG_TRUNC discards without copying); what it did not take
 * stays in the source's receive queue, in order, for the next event. 0, or -errno with *side.
 */
static int pump_copy(struct worker *w, struct conn *c, int dir, int *side)
{
	struct splice_state *s = state(c);
	int src = c->fd[dir], dst = c->fd[!dir];
	ssize_t n, m, r;

	do {
		n = recv(src, w->scratch, COPY_CHUNK, MSG_PEEK | MSG_DONTWAIT);
		if (n == 0) {
			s->eof[dir] = true;
			return 0;
		}
		if (n < 0) {
			if (errno == EAGAIN)
				return 0;
			*side = dir;
			return -errno;
		}
		m = send(dst, w->scratch, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (m < 0) {
			if (errno == EAGAIN)
				return 0;	/* its EPOLLOUT pumps again */
			*side = !dir;
			return -errno;
		}
		r = recv(src, NULL, m, MSG_TRUNC | MSG_DONTWAIT);
		if (r != m) {
			/* the peeked bytes cannot have gone elsewhere: never seen */
			*side = dir;
			return r < 0 ? -errno : -EIO;
		}
		c->bytes[dir] += m;
		s->copied += m;
	} while (m == n);
	return 0;
}

/*
 * A small read of direction dir, which holds an empty pipe: recv() into the worker's scratch
 * buffer, send() on; what the destination did not take goes into the pipe (it fits: a pipe
 * holds more than a small read), where the pipe path carries it on. A read that came back
 * short (a TCP recv() returns less than asked only when the receive queue was empty, and
 * what its backlog held wakes epoll again as it is queued) leaves the direction drained until
 * the source's next input edge. 1 when the source is worth reading again (the read was full,
 * or the source hung up: its EOF is read next), 0 when not, or -errno with *side.
 */
static int pump_small(struct worker *w, struct conn *c, int dir, int *side)
{
	struct splice_state *s = state(c);
	int src = c->fd[dir], dst = c->fd[!dir], err = 0, rerr = 0;
	bool eof = false;
	ssize_t n, m;

	n = recv(src, w->scratch, SMALL_READ, MSG_DONTWAIT);
	if (n == 0) {
		s->eof[dir] = true;
		return 0;
	}
	if (n < 0) {
		if (errno == EAGAIN) {
			s->drained[dir] = true;
			return 0;
		}
		*side = dir;
		return -errno;
	}
	s->drained[dir] = n < SMALL_READ;
	s->bulk[dir] = !s->drained[dir];
	if (s->drained[dir] && s->hup[dir] && c->fail.side < 0) {
		/*
		 * The source hung up and this read emptied it: its end is read now, before the
		 * bytes go on, so that a FIN can leave with them (MSG_MORE holds them for the
		 * shutdown() or close() pump_dir() issues right after), one segment where two
		 * would go, as HAProxy merges them.
		 */
		ssize_t k = recv(src, w->scratch + n, SMALL_READ - n, MSG_DONTWAIT);

		if (k == 0)
			eof = true;
		else if (k > 0)
			n += k;		/* cannot be after a short read and a FIN: sent on */
		else if (errno != EAGAIN && errno != EINTR)
			rerr = -errno;	/* a reset behind the bytes: they go on first */
	}
	m = send(dst, w->scratch, n, MSG_DONTWAIT | MSG_NOSIGNAL | (eof ? MSG_MORE : 0));
	if (m < 0) {
		if (errno != EAGAIN)
			err = -errno;
		m = 0;
	}
	c->bytes[dir] += m;
	if (m < n) {
		/* the destination is full (its EPOLLOUT pumps the pipe) or failed */
		ssize_t k = write(s->pipe[dir][1], w->scratch + m, n - m);

		if (k != n - m) {
			*side = dir;
			return k < 0 ? -errno : -EIO;	/* an empty pipe takes a small read */
		}
		s->in_pipe[dir] = n - m;
	}
	if (err) {
		*side = !dir;
		return err;
	}
	if (rerr) {
		*side = dir;
		return rerr;
	}
	if (eof) {
		s->eof[dir] = true;
		return 0;
	}
	return !s->in_pipe[dir] && (!s->drained[dir] || s->hup[dir]);
}

/*
 * Moves what it can in one direction: 0, or -errno with *side the socket that failed. A pipe
 * is taken from the worker's pool for the move and given back once empty; a pipe that still
 * holds bytes stays with the direction until they have left. A source's EOF becomes a FIN on
 * the destination once nothing of it is held; a failed source's end does not (it becomes a
 * reset).
 */
static int pump_dir(struct worker *w, struct conn *c, int dir, int *side)
{
	struct splice_state *s = state(c);
	uint64_t before = c->bytes[dir];
	uint8_t by = MOVED_BY_PIPE;
	int err = 0;

	/* nothing held, nothing to read until the source's next edge: no call at all */
	if (s->pipe[dir][0] < 0 && s->drained[dir] && !s->hup[dir] && !s->eof[dir])
		return 0;
	if (s->pipe[dir][0] < 0 && !s->eof[dir]) {
		if (pipe_pool_get(&w->pipes, s->pipe[dir])) {
			stats_pipe_add(&w->stats, STATS_PIPE_REFUSED, 1);
			by = MOVED_BY_COPY;
			err = pump_copy(w, c, dir, side);
		} else {
			stats_pipe_add(&w->stats, STATS_PIPE_TAKEN, 1);
		}
	}
	if (s->pipe[dir][0] >= 0) {
		if (!s->bulk[dir] && !s->in_pipe[dir] && !s->eof[dir]) {
			do
				err = pump_small(w, c, dir, side);
			while (err > 0 && !s->bulk[dir] && !s->eof[dir]);
			if (err > 0)
				err = 0;
		}
		/* bulk, or bytes in the pipe: the pipe path (a drained source is not read) */
		if (!err && (s->in_pipe[dir] || (!s->drained[dir] && !s->eof[dir])))
			err = pump_pipe(w, c, dir, side);
	}
	if (s->pipe[dir][0] >= 0 && !s->in_pipe[dir])
		put_pipe(w, s, dir);
	if (c->bytes[dir] != before) {
		if (dir == 0)
			handshake_first_bytes_sent(c);
		if (by == MOVED_BY_COPY)
			stats_pipe_add(&w->stats, STATS_PIPE_COPIED, c->bytes[dir] - before);
		if (s->moved_by[dir] && s->moved_by[dir] != by) {
			s->switches++;
			stats_pipe_add(&w->stats, STATS_PIPE_SWITCHES, 1);
		}
		s->moved_by[dir] = by;
	}
	if (err)
		return err;
	if (s->eof[dir] && !s->in_pipe[dir] && !s->shut[dir] && c->fail.side < 0) {
		/* the last FIN is the close's own: the other way is done, so the destination's
		 * receive queue was read to its EOF, and close() sends a FIN, not a reset */
		if (!s->shut[!dir])
			shutdown(c->fd[!dir], SHUT_WR);
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

/*
 * Nothing in flight and no end seen: no pipe in use (so none holds a byte), no FIN or hang-up
 * on either socket. Another engine may take the connection over now (engine_ops.adopt).
 */
static bool at_rest(const struct splice_state *s)
{
	for (int dir = 0; dir < 2; dir++)
		if (s->pipe[dir][0] >= 0 || s->eof[dir] || s->hup[dir])
			return false;
	return true;
}

/*
 * Moves the directions in dirs (PUMP_*), each until it cannot progress; after a failure, both
 * that may move. A direction left out stays as its last pump left it: it waits for an edge on
 * its source (input) or destination (room), and that edge pumps it.
 */
static void pump(struct worker *w, struct conn *c, uint64_t now, unsigned int dirs)
{
	struct splice_state *s = state(c);
	int dir, side, err;

	for (dir = 0; dir < 2; dir++) {
		if (c->fail.side == !dir)
			continue;	/* towards the failed socket: nothing can arrive */
		if (!(dirs & (1u << dir)) && c->fail.side < 0)
			continue;	/* nothing new for it in this event */
		err = pump_dir(w, c, dir, &side);
		if (!err)
			continue;
		if (c->fail.side < 0) {
			/* first failure: from now on only the failed side's bytes move, to its end */
			worker_conn_fail(w, c, side, err);
			s->hup[side] = true;
			dirs = PUMP_BOTH;
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
	else if (c->upgrade && c->bytes[0] + c->bytes[1] >= c->upgrade_at && at_rest(s))
		worker_conn_upgrade(w, c);
}

static int splice_start(struct worker *w, struct conn *c)
{
	struct splice_state *s = state(c);
	int err;

	/* the state may follow an engine that could not take c (engine.h, fallback) */
	memset(s, 0, sizeof(*s));
	for (int dir = 0; dir < 2; dir++) {
		s->pipe[dir][0] = s->pipe[dir][1] = -1;
		/* a FIN seen before (its edge was the handshake's) is read after a short read */
		s->hup[dir] = c->early_events[dir] & (EPOLLRDHUP | EPOLLHUP | EPOLLERR);
	}
	/* registered with SPLICE_WATCH already, unless another engine's (a fallback) */
	for (int side = 0; side < 2 && w->d->ops->watch != SPLICE_WATCH; side++) {
		err = worker_watch(w, c, side, SPLICE_WATCH, EPOLL_CTL_MOD);
		if (err)
			return err;
	}
	pump(w, c, now_ns(), PUMP_BOTH);
	return 0;
}

/*
 * Input on a socket moves the direction it is the source of, room the one it is the
 * destination of; a hang-up or an error both. A reset is recorded, not acted on: the bytes
 * that arrived before it are moved first.
 */
static void splice_event(struct worker *w, struct conn *c, int side, uint32_t events)
{
	struct splice_state *s = state(c);
	unsigned int dirs = 0;

	if ((events & EPOLLERR) && c->fail.side < 0)
		worker_conn_fail(w, c, side, 0);
	if (events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
		dirs = PUMP_BOTH;
		s->hup[side] = true;	/* side is the source of direction side */
	}
	if (events & EPOLLIN) {
		dirs |= side ? PUMP_DOWN : PUMP_UP;
		s->drained[side] = false;
	}
	if (events & EPOLLOUT)
		dirs |= side ? PUMP_UP : PUMP_DOWN;
	pump(w, c, now_ns(), dirs);
}

static void splice_poll(struct worker *w, struct conn *c, uint64_t now)
{
	pump(w, c, now, PUMP_BOTH);
}

/* A pipe still holding bytes (the connection ended before they left) is closed, not kept. */
static void splice_release(struct worker *w, struct conn *c)
{
	struct splice_state *s = state(c);

	for (int dir = 0; dir < 2; dir++)
		put_pipe(w, s, dir);
}

/*
 * copied= when bytes went through user space for want of a pipe (never, unless loaded), and
 * switches=, the times a direction moved bytes by copy after pipe or by pipe after copy.
 */
static void splice_log_fields(const struct conn *c, char *buf, size_t size)
{
	const struct splice_state *s = (const struct splice_state *)c->eng.bytes;

	if (s->copied)
		snprintf(buf, size, " copied=%" PRIu64 " switches=%" PRIu32, s->copied,
			 s->switches);
}

/* Its first pump reads the client's queued bytes and sends them on (pump_small()). */
static bool splice_sends_first_bytes(const struct conn *c)
{
	(void)c;
	return true;
}

/* A connection holds its two sockets, and a pipe per direction only while bytes move. */
const struct engine_ops splice_engine_ops = {
	.name = "splice",
	.pipes_per_worker = PIPE_POOL_MAX,
	.watch = SPLICE_WATCH,
	.sends_first_bytes = splice_sends_first_bytes,
	.start = splice_start,
	.event = splice_event,
	.poll = splice_poll,
	.release = splice_release,
	.log_fields = splice_log_fields,
};

/* No pipe at all: every byte copied as when the pool is out (tests and measurements). */
const struct engine_ops splice_copy_engine_ops = {
	.name = "splice",
	.watch = SPLICE_WATCH,
	.sends_first_bytes = splice_sends_first_bytes,
	.start = splice_start,
	.event = splice_event,
	.poll = splice_poll,
	.release = splice_release,
	.log_fields = splice_log_fields,
};
