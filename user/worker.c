// SPDX-License-Identifier: MIT
/*
 * worker.c - a worker's connections (see worker.h): their epoll registration, the deadline
 * and poll lists, and every way a connection ends: its log line, the engine's release, the
 * close of both sockets, a reset passed on only after the bytes that came before it.
 * The loop that drives them is worker_loop.c.
 *
 * Deadlines: connections in HELLO and in CONNECTING sit in one list each, in deadline order;
 * every one in a list has the same timeout (until a reload changes it), so a connection is
 * added at the tail and the head expires first.
 * A connection ended during an epoll batch is closed at once but freed only after the batch,
 * since later events of the same batch may still name it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <sys/socket.h>
#include <unistd.h>

#include "balance.h"
#include "config_gen.h"
#include "conn.h"
#include "daemon.h"
#include "engine.h"
#include "log.h"
#include "source_limit.h"
#include "tcpstat.h"
#include "worker.h"

int worker_watch(struct worker *w, struct conn *c, int side, uint32_t events, int op)
{
	struct epoll_event ev = {
		.events = events,
		.data.u64 = worker_ev_pack(c, side ? EV_BACKEND : EV_CLIENT),
	};

	if (epoll_ctl(w->epfd, op, c->fd[side], &ev) < 0)
		return -errno;
	return 0;
}

void worker_add_deadline(struct list_head *list, struct conn *c)
{
	struct list_head *pos = list->prev;

	/* from the tail: O(1) unless a reload shortened the timeout */
	while (pos != list && list_entry(pos, struct conn, link)->deadline_ns > c->deadline_ns)
		pos = pos->prev;
	list_add_tail(&c->link, pos->next);
}

void worker_poll_at(struct worker *w, struct conn *c, uint64_t when_ns)
{
	list_del(&c->link);
	c->next_poll_ns = when_ns;
	if (when_ns)
		list_add_tail(&c->link, &w->polled);
}

void worker_conn_end(struct worker *w, struct conn *c, enum conn_end end)
{
	if (c->dead)
		return;
	c->dead = true;
	c->end = end;
	if (c->state == CONN_HELLO && !list_empty(&c->link))	/* in the hello list */
		w->n_hello--;
	if (c->source_counted)
		source_limit_put(&w->d->sources, (const struct sockaddr *)&c->client.ss);
	list_del(&c->link);
	list_del(&c->all);
	list_del(&c->probe_link);
	if (c->server_counted)
		balance_put(&c->gen->balance[c->backend], c->server);
	c->server_counted = false;
	if (c->engine)
		c->engine->release(w, c);
	stats_conn_ended(&w->stats, c);
	conn_log(c, &w->log);
	for (int i = 0; i < 2; i++) {
		if (c->fd[i] >= 0)
			close(c->fd[i]);
		c->fd[i] = -1;
	}
	w->n_conns--;
	atomic_fetch_sub_explicit(&w->d->n_conns, 1, memory_order_relaxed);
	list_add_tail(&c->link, &w->graveyard);
	/* accepting paused for room or descriptors: this end may have made some */
	if (w->accept_resume_ns)
		w->accept_resume_ns = 1;
}

void worker_conn_abort(struct worker *w, struct conn *c, enum conn_end end)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	for (int i = 0; i < 2; i++) {
		if (c->fd[i] >= 0)
			setsockopt(c->fd[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	worker_conn_end(w, c, end);
}

void worker_conn_upgrade(struct worker *w, struct conn *c)
{
	const struct engine_ops *from = c->engine, *to = c->upgrade;
	uint8_t kept[ENGINE_STATE_SIZE];
	int err;

	c->upgrade = NULL;
	memcpy(kept, c->eng.bytes, sizeof(kept));
	c->engine = to;
	err = to->adopt(w, c);
	if (err == -EOPNOTSUPP) {
		c->engine = from;
		memcpy(c->eng.bytes, kept, sizeof(kept));
		return;
	}
	if (err && !c->dead) {
		c->err = -err;
		if (!c->detail)
			c->detail = "engine hand-off failed";
		worker_conn_abort(w, c, END_INTERNAL);
	}
}

void worker_conn_reset(struct worker *w, struct conn *c, int side, int err)
{
	socklen_t len = sizeof(err);

	if (!err && getsockopt(c->fd[side], SOL_SOCKET, SO_ERROR, &err, &len) == 0)
		err = -err;
	c->err = -err;
	if (!c->detail)
		c->detail = side ? "backend reset" : "client reset";
	worker_conn_abort(w, c, END_RESET);
}

void worker_conn_fail(struct worker *w, struct conn *c, int side, int err)
{
	struct conn_fail *f = &c->fail;
	socklen_t len = sizeof(err);

	if (f->side >= 0)
		return;
	if (!err && getsockopt(c->fd[side], SOL_SOCKET, SO_ERROR, &err, &len) == 0)
		err = -err;
	f->side = side;
	f->err = err ? err : -ECONNRESET;
	/* the kernel reports a reset that came after the peer's FIN as EPIPE (tcp_reset()) */
	f->fin_first = f->err == -EPIPE;
	f->fin_sent = false;
	f->acked = 0;
	worker_conn_fail_restart(c, now_ns());
}

void worker_conn_fail_restart(struct conn *c, uint64_t now)
{
	c->fail.deadline_ns = now + CONN_FAIL_FLUSH_MS * 1000000ull;
	c->fail.backoff_ms = 0;
}

bool worker_conn_fail_due(struct worker *w, struct conn *c, uint64_t now)
{
	struct conn_fail *f = &c->fail;
	uint64_t acked;

	/* progress: the other socket's peer acknowledged more since the last look */
	if (!tcpstat_acked(c->fd[!f->side], &acked) && acked > f->acked) {
		f->acked = acked;
		worker_conn_fail_restart(c, now);
		return false;
	}
	return now >= f->deadline_ns;
}

void worker_conn_fail_give_up(struct worker *w, struct conn *c, uint64_t held)
{
	int outq = 0;

	if (ioctl(c->fd[!c->fail.side], SIOCOUTQ, &outq) < 0 || outq < 0)
		outq = 0;
	c->unsent_on_reset = held + (uint64_t)outq;
	c->detail = c->fail.side ? "backend reset; the client took nothing more for 2 s" :
				   "client reset; the backend took nothing more for 2 s";
	worker_conn_reset(w, c, c->fail.side, c->fail.err);
}

bool worker_conn_fail_flushed(struct worker *w, struct conn *c, uint64_t now)
{
	struct conn_fail *f = &c->fail;
	int dst = c->fd[!f->side], outq = 0;

	/* a FIN that came before the reset goes on first, as it would directly */
	if (f->fin_first && !f->fin_sent) {
		shutdown(dst, SHUT_WR);
		f->fin_sent = true;
	}
	/* the other socket failed too, or everything it was given left it: pass the reset */
	if (ioctl(dst, SIOCOUTQ, &outq) < 0 || outq <= 0) {
		worker_conn_reset(w, c, f->side, f->err);
		return true;
	}
	if (worker_conn_fail_due(w, c, now)) {
		worker_conn_fail_give_up(w, c, 0);
		return true;
	}
	f->backoff_ms = f->backoff_ms ? f->backoff_ms * 2 : 1;
	if (f->backoff_ms > 50)
		f->backoff_ms = 50;
	worker_poll_at(w, c, now + f->backoff_ms * 1000000ull);
	return false;
}

bool worker_count_source(struct worker *w, struct conn *c)
{
	if (source_limit_take(&w->d->sources, (const struct sockaddr *)&c->client.ss)) {
		c->source_counted = w->d->sources.limit != 0;
		return true;
	}
	c->detail = "max_connections_per_source reached for this address";
	worker_conn_end(w, c, END_SOURCE_LIMIT);
	return false;
}

void worker_leave_hello(struct worker *w, struct conn *c)
{
	list_del(&c->link);
	w->n_hello--;
}

void worker_free_graveyard(struct worker *w)
{
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, &w->graveyard) {
		struct conn *c = list_entry(pos, struct conn, link);

		list_del(&c->link);
		conn_free(c);
	}
}
