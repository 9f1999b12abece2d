// SPDX-License-Identifier: MIT
/*
 * sockmap.c - the sockmap engine: its engine_ops and a connection's steps. It puts each routed
 * connection's two sockets into the maps of bpf/sockmap.bpf.c (loaded by sockmap_maps.c) so
 * that the kernel moves every further byte, has sockmap_carry.c carry the bytes the program
 * passes to user space, and passes FINs and resets on, since the kernel does not.
 *
 * Hand-off order matters (see docs/ARCHITECTURE.md): both sockets enter redir_map (the
 * redirect targets) before either enters verdict_map (where the program runs), backend
 * first; then SO_RCVLOWAT kicks the receive path so bytes queued before the hand-off (the
 * peeked ClientHello among them) are processed, in order, by the program.
 *
 * A FIN reaches the program after every byte before it, and the program marks it. On
 * EPOLLRDHUP from socket S, the engine waits until that mark is set, every byte S passed to
 * user space is written, and every byte has entered the peer D's send queue (bytes_acked +
 * SIOCOUTQ of D, from the base the program took); only then does it shutdown(D, SHUT_WR), so
 * no byte is cut off. It polls for that with a short back-off, since nothing wakes it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <bpf/bpf.h>

#include "conn.h"
#include "daemon.h"
#include "engine.h"
#include "engine/sockmap.h"
#include "engine/sockmap_state.h"
#include "engine/splice.h"
#include "pipe_pool.h"
#include "tcpstat.h"
#include "worker.h"

/* A worker's share of the slots (of the counters map): [base, base + n). */
struct sockmap_worker {
	uint32_t base;
	uint32_t *free;
	uint32_t n_free;
};

static struct sockmap_worker *slots(struct worker *w)
{
	return w->engine_data;
}

#define SOCKMAP_POLL_MIN_MS 1
#define SOCKMAP_POLL_MAX_MS 50

int sockmap_watch(struct worker *w, struct conn *c, int side)
{
	uint32_t ev = EPOLLIN | EPOLLRDHUP | EPOLLET;

	if (state(c)->want_out[side])
		ev |= EPOLLOUT;
	return worker_watch(w, c, side, ev, EPOLL_CTL_MOD);
}

/*
 * Takes the client back out of verdict_map after the backend could not enter it, and tells
 * whether the program moved none of the client's bytes meanwhile (so the fallback engine can
 * carry the connection from the start). TCP_INFO takes the socket lock, so a program run
 * that began before the delete has ended when it returns.
 */
static bool unverdict_client(struct sockmap_engine *e, struct conn *c)
{
	struct sockmap_state *s = state(c);
	struct sm_dir_state *ds = &e->counters[s->slot].dir[SM_DIR_UP];
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (bpf_map_delete_elem(e->verdict_fd, &s->cookie[0]) < 0)
		return false;
	if (getsockopt(c->fd[0], IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return false;
	return !__atomic_load_n(&ds->redirected, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&ds->passed, __ATOMIC_ACQUIRE);
}

/*
 * The kernel takes only ESTABLISHED sockets into a sockmap: a peer that sent its FIN before
 * the hand-off (a request and its FIN at once; a backend that answers and closes as soon as it
 * accepts) is refused with EOPNOTSUPP, and the fallback engine carries that connection. The
 * sockets enter redir_map first: a refusal there leaves nothing to undo but the entries. Into
 * verdict_map goes the client first, the backend last: the client's queued bytes wait for the
 * SO_RCVLOWAT kick, so the program can only have run on new client bytes if the backend's
 * FIN and such bytes both came in the few microseconds between the two inserts.
 */
static int sockmap_adopt(struct worker *w, struct conn *c)
{
	struct sockmap_engine *e = engine(w);
	struct sockmap_state *s = state(c);
	int one = 1, err, i;

	memset(s, 0, sizeof(*s));
	s->slot = UINT32_MAX;
	/* this worker holds more than its share (SO_REUSEPORT is uneven): splice carries it */
	if (!slots(w)->n_free)
		return -EOPNOTSUPP;
	s->slot = slots(w)->free[--slots(w)->n_free];
	memset(&e->counters[s->slot], 0, sizeof(e->counters[s->slot]));
	for (i = 0; i < 2; i++) {
		err = sockmap_sock_cookie(c->fd[i], &s->cookie[i]);
		if (err)
			goto out_slot;
	}
	err = sockmap_put_peers(e, s);
	if (err)
		goto out_unmap;
	/* Targets first, backend before client; then the sockets the program runs on. */
	err = sockmap_map_put_sock(e->redir_fd, s->cookie[1], c->fd[1]);
	if (err)
		goto out_unmap;
	err = sockmap_map_put_sock(e->redir_fd, s->cookie[0], c->fd[0]);
	if (err)
		goto out_redir;
	err = sockmap_map_put_sock(e->verdict_fd, s->cookie[0], c->fd[0]);
	if (err)
		goto out_redir;
	err = sockmap_map_put_sock(e->verdict_fd, s->cookie[1], c->fd[1]);
	if (err == -EOPNOTSUPP && !unverdict_client(e, c)) {
		c->detail = "the backend closed during the hand-off while the client sent";
		err = -EPROTO;
	}
	if (err)
		goto out_redir;
	/* Bytes queued before the hand-off wait for the next data_ready: kick it. */
	for (i = 0; i < 2; i++) {
		if (setsockopt(c->fd[i], SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one)) < 0) {
			err = -errno;
			goto out_redir;
		}
	}
	/*
	 * Edge-triggered input: the psock wakes readers only for bytes the program passed to
	 * user space (a spill), never for redirected ones; level-triggered, it would spin. Both
	 * sockets were watched as splice watches them (engine_ops.watch), output included, which
	 * would wake the worker for every ACK. A FIN whose edge went by before is not lost: the
	 * SO_RCVLOWAT kick above runs the queue (FIN included) through the program, whose
	 * data-ready wakes epoll again.
	 */
	for (i = 0; i < 2; i++) {
		err = sockmap_watch(w, c, i);
		if (err)
			goto out_redir;
	}
	stats_slot_own(&w->stats, s->slot - slots(w)->base, c);
	return 0;

out_redir:
	/* out of both sockhashes: a refused socket falls back with a clean slate */
	for (i = 0; i < 2; i++) {
		bpf_map_delete_elem(e->verdict_fd, &s->cookie[i]);
		bpf_map_delete_elem(e->redir_fd, &s->cookie[i]);
	}
out_unmap:
	sockmap_unmap_conn(e, s);
out_slot:
	slots(w)->free[slots(w)->n_free++] = s->slot;
	s->slot = UINT32_MAX;
	return err;
}

/* Splice carries c first, and its first pump sends them; from the hand-off, the kernel. */
static bool sockmap_sends_first_bytes(const struct conn *c)
{
	return c->gen->cfg.sockmap_after != 0;
}

/*
 * The hand-off of a routed connection: splice carries it (small reads copied, engine/splice.h)
 * until it has carried sockmap_after_bytes, and the sockmap engine adopts it then, between two
 * reads, with nothing in flight (worker_conn_upgrade()). A short connection (a request and its
 * answer) or an idle one that moved little never costs two psocks and their teardown through
 * the kernel's work queue; one that carries more moves in the kernel from then on. With
 * sockmap_after_bytes = 0, the sockets enter the maps at once.
 */
static int sockmap_start(struct worker *w, struct conn *c)
{
	unsigned int after = c->gen->cfg.sockmap_after;

	if (!after)
		return sockmap_adopt(w, c);
	c->upgrade = c->engine;
	c->upgrade_at = after;
	c->engine = &splice_engine_ops;
	return splice_engine_ops.start(w, c);
}

/*
 * True once direction dir's source sent FIN and every byte before it reached the destination's
 * send queue: the FIN went through the program after every byte (d->fin), every passed byte
 * was written, every redirected one has left the psock.
 */
static bool drained(struct worker *w, struct conn *c, int dir)
{
	struct sm_dir_state *ds = dir_state(w, c, dir);
	struct sockmap_spill *sp = &state(c)->spill[dir];

	if (!__atomic_load_n(&ds->fin, __ATOMIC_ACQUIRE))
		return false;
	if (ds->written != ds->passed || sp->rest)
		return false;
	return sockmap_redirected_flushed(w, c, dir);
}

static void poll_backoff(struct worker *w, struct conn *c, uint64_t now, uint64_t limit_ns)
{
	struct sockmap_state *s = state(c);
	uint64_t when;

	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : SOCKMAP_POLL_MIN_MS;
	if (s->backoff_ms > SOCKMAP_POLL_MAX_MS)
		s->backoff_ms = SOCKMAP_POLL_MAX_MS;
	when = now + s->backoff_ms * 1000000ull;
	worker_poll_at(w, c, limit_ns && when > limit_ns ? limit_ns : when);
}

/*
 * Bytes of direction dir sockmux still holds: passed to user space and not written (in the
 * source's psock or read and kept), and redirected or written but not yet in the
 * destination's send queue (in its psock).
 */
static uint64_t undelivered(struct worker *w, struct conn *c, int dir)
{
	struct sm_dir_state *ds = dir_state(w, c, dir);
	struct sockmap_spill *sp = &state(c)->spill[dir];
	uint64_t base = __atomic_load_n(&ds->peer_base, __ATOMIC_ACQUIRE), queued, held;

	held = state(c)->src_gone ? 0 : ds->passed - ds->written;
	if (sp->rest)
		held += sp->rest_len - sp->rest_off;
	if ((base & SM_BASE_SET) && !tcpstat_queued(c->fd[!dir], &queued) &&
	    ds->redirected + ds->written > queued - (base & ~SM_BASE_SET))
		held += ds->redirected + ds->written - (queued - (base & ~SM_BASE_SET));
	return held;
}

/*
 * After a socket failed (c->fail): the bytes it sent before its reset still go on. Those the
 * program redirected wait in the peer's psock until they entered its send queue; those it
 * passed to user space are carried, unless the reset took them: the kernel unhashes a reset
 * socket, which drops it from the sockhashes, and its psock, holding them, goes too (counted
 * as lost_on_reset in the log line). Nothing goes towards the failed socket. Then the reset
 * is passed on (worker_conn_fail_flushed()).
 */
static void step_failed(struct worker *w, struct conn *c, uint64_t now)
{
	struct sockmap_state *s = state(c);
	int dir = c->fail.side, side, err;
	struct sm_dir_state *ds = dir_state(w, c, dir);
	struct sockmap_spill *sp = &s->spill[dir];

	err = sockmap_carry(w, c, dir, &side);
	if (err < 0 && side != dir) {
		worker_conn_reset(w, c, dir, c->fail.err);	/* the other socket failed too */
		return;
	}
	if (err < 0 && !s->src_gone) {
		s->src_gone = true;
		s->lost_on_reset = ds->passed - ds->written -
				   (sp->rest ? sp->rest_len - sp->rest_off : 0);
	}
	if (!sp->rest && (s->src_gone || ds->written == ds->passed) &&
	    sockmap_redirected_flushed(w, c, dir)) {
		/* the program saw the failed socket's FIN before its reset: it goes on first */
		if (__atomic_load_n(&ds->fin, __ATOMIC_ACQUIRE))
			c->fail.fin_first = true;
		s->backoff_ms = 0;
		worker_conn_fail_flushed(w, c, now);
		return;
	}
	if (worker_conn_fail_due(w, c, now)) {
		worker_conn_fail_give_up(w, c, undelivered(w, c, dir));
		return;
	}
	poll_backoff(w, c, now, c->fail.deadline_ns);
}

/* Carries, passes FINs on, ends the connection when both directions are done. */
static void sockmap_step(struct worker *w, struct conn *c, uint64_t now)
{
	struct sockmap_state *s = state(c);
	bool again = false;
	int dir, err, side;

	if (c->fail.side >= 0) {
		step_failed(w, c, now);
		return;
	}
	for (dir = 0; dir < 2; dir++) {
		if (s->shut[dir])
			continue;
		err = sockmap_carry(w, c, dir, &side);
		if (err == -EPROTO) {
			worker_conn_reset(w, c, dir, err);	/* the sequence check failed */
			return;
		}
		if (err < 0) {
			worker_conn_fail(w, c, side, err);
			step_failed(w, c, now);
			return;
		}
		if (err > 0)
			again = true;
		if (!s->eof[dir])
			continue;
		if (!drained(w, c, dir)) {
			again = true;
			continue;
		}
		shutdown(c->fd[!dir], SHUT_WR);
		s->shut[dir] = true;
		s->backoff_ms = 0;
	}
	if (s->shut[0] && s->shut[1]) {
		worker_conn_end(w, c, END_CLOSED);
		return;
	}
	if (!again) {
		s->backoff_ms = 0;
		worker_poll_at(w, c, 0);
		return;
	}
	poll_backoff(w, c, now, 0);
}

static void sockmap_poll(struct worker *w, struct conn *c, uint64_t now)
{
	sockmap_step(w, c, now);
}

/* A reset is recorded, not acted on: the bytes that arrived before it go on first. */
static void sockmap_event(struct worker *w, struct conn *c, int side, uint32_t events)
{
	struct sockmap_state *s = state(c);

	if ((events & EPOLLERR) && c->fail.side < 0)
		worker_conn_fail(w, c, side, 0);
	if (events & (EPOLLRDHUP | EPOLLHUP))
		s->eof[side] = true;
	if (events & (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLHUP))
		s->backoff_ms = 0;
	sockmap_step(w, c, now_ns());
}

static void sockmap_release(struct worker *w, struct conn *c)
{
	struct sockmap_engine *e = engine(w);
	struct sockmap_state *s = state(c);

	if (s->slot == UINT32_MAX)
		return;
	sockmap_unmap_conn(e, s);
	/* the slot's bytes leave the live figures and enter the totals at once */
	stats_slot_lock(&w->stats);
	for (int dir = 0; dir < 2; dir++) {
		struct sm_dir_state *ds = &e->counters[s->slot].dir[dir];

		c->bytes[dir] += ds->redirected + ds->written;
		s->kernel_bytes += ds->redirected;
		s->spills += ds->spills;
		s->repeated_skbs += ds->repeated_skbs;
		free(s->spill[dir].rest);
		s->spill[dir].rest = NULL;
	}
	stats_conn_bytes(&w->stats, c);
	stats_slot_free(&w->stats, s->slot - slots(w)->base);
	stats_slot_unlock(&w->stats);
	slots(w)->free[slots(w)->n_free++] = s->slot;
	s->slot = UINT32_MAX;
}

static int open_engine(struct daemon *d, unsigned int max_conns, bool backpressure,
		       const char **why)
{
	struct sockmap_engine *e;
	int err;

	err = sockmap_open(&e, max_conns, backpressure, why);
	if (err)
		return err;
	sockmap_log_ids(e);
	d->engine_data = e;
	return 0;
}

static int sockmap_engine_open(struct daemon *d, unsigned int max_conns, const char **why)
{
	return open_engine(d, max_conns, true, why);
}

/* --engine sockmap-unbounded: the program without its congestion check (measurement only) */
static int sockmap_unbounded_open(struct daemon *d, unsigned int max_conns, const char **why)
{
	return open_engine(d, max_conns, false, why);
}

static void sockmap_engine_close(struct daemon *d)
{
	sockmap_close(d->engine_data);
	d->engine_data = NULL;
}

/* The worker's slots of the counters map: [id * max_conns, (id + 1) * max_conns). */
static int sockmap_worker_init(struct worker *w)
{
	struct sockmap_worker *sw = calloc(1, sizeof(*sw));

	if (!sw)
		return -ENOMEM;
	sw->free = calloc(w->max_conns, sizeof(*sw->free));
	if (!sw->free) {
		free(sw);
		return -ENOMEM;
	}
	sw->base = w->id * w->max_conns;
	for (uint32_t i = 0; i < w->max_conns; i++)
		sw->free[i] = sw->base + w->max_conns - 1 - i;
	sw->n_free = w->max_conns;
	w->engine_data = sw;
	return 0;
}

static void sockmap_worker_fini(struct worker *w)
{
	struct sockmap_worker *sw = w->engine_data;

	if (sw)
		free(sw->free);
	free(sw);
	w->engine_data = NULL;
}

/* Bytes of a live connection, still only in the counters map (stats.c, under its lock). */
static void sockmap_live_bytes(struct worker *w, uint32_t slot, uint64_t bytes[2])
{
	const struct sm_counters *k = &engine(w)->counters[slots(w)->base + slot];

	for (int dir = 0; dir < 2; dir++)
		bytes[dir] = __atomic_load_n(&k->dir[dir].redirected, __ATOMIC_RELAXED) +
			     __atomic_load_n(&k->dir[dir].written, __ATOMIC_RELAXED);
}

/* kernel= share moved in the kernel, spills=; repeated_skbs= and lost_on_reset= when seen. */
static void sockmap_log_fields(const struct conn *c, char *buf, size_t size)
{
	const struct sockmap_state *s = (const struct sockmap_state *)c->eng.bytes;
	uint64_t total = c->bytes[0] + c->bytes[1];
	int n;

	n = snprintf(buf, size, " kernel=%u%% spills=%u",
		     total ? (unsigned int)(s->kernel_bytes * 100 / total) : 100, s->spills);
	/* retransmissions overlapping bytes already carried: shown only when seen */
	if (s->repeated_skbs && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - n, " repeated_skbs=%u", s->repeated_skbs);
	/* a reset took bytes the psock held for user space (see step_failed()) */
	if (s->lost_on_reset && n >= 0 && (size_t)n < size)
		snprintf(buf + n, size - n, " lost_on_reset=%" PRIu64, s->lost_on_reset);
}

const struct engine_ops sockmap_engine_ops = {
	.name = "sockmap",
	.watch = SPLICE_WATCH,	/* splice carries it first */
	.pipes_per_worker = PIPE_POOL_MAX,	/* for the connections splice carries */
	.open = sockmap_engine_open,
	.close = sockmap_engine_close,
	.worker_init = sockmap_worker_init,
	.worker_fini = sockmap_worker_fini,
	.sends_first_bytes = sockmap_sends_first_bytes,
	.start = sockmap_start,
	.adopt = sockmap_adopt,
	.event = sockmap_event,
	.poll = sockmap_poll,
	.release = sockmap_release,
	.live_bytes = sockmap_live_bytes,
	.log_fields = sockmap_log_fields,
	.fallback = &splice_engine_ops,
};

const struct engine_ops sockmap_unbounded_engine_ops = {
	.name = "sockmap",
	.watch = SPLICE_WATCH,	/* splice carries it first */
	.pipes_per_worker = PIPE_POOL_MAX,	/* for the connections splice carries */
	.open = sockmap_unbounded_open,
	.close = sockmap_engine_close,
	.worker_init = sockmap_worker_init,
	.worker_fini = sockmap_worker_fini,
	.sends_first_bytes = sockmap_sends_first_bytes,
	.start = sockmap_start,
	.adopt = sockmap_adopt,
	.event = sockmap_event,
	.poll = sockmap_poll,
	.release = sockmap_release,
	.live_bytes = sockmap_live_bytes,
	.log_fields = sockmap_log_fields,
	.fallback = &splice_engine_ops,
};
