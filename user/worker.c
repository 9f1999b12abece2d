// SPDX-License-Identifier: MIT
/*
 * worker.c - one event-loop thread (see worker.h): accepts on its own SO_REUSEPORT sockets,
 * drives each connection through handshake.c and then its engine, enforces the handshake
 * and connect deadlines, and writes each connection's log line when it ends.
 *
 * Deadlines: connections in HELLO and in CONNECTING sit in one list each, in deadline order;
 * every one in a list has the same timeout (until a reload changes it), so a connection is
 * added at the tail and the head expires first.
 * A connection ended during an epoll batch is closed at once but freed only after the batch,
 * since later events of the same batch may still name it.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "config_gen.h"
#include "conn.h"
#include "daemon.h"
#include "engine.h"
#include "handshake.h"
#include "listener.h"
#include "log.h"
#include "source_limit.h"
#include "tcpstat.h"
#include "worker.h"

#define EV_TAG_MASK 3ull
#define MAX_EVENTS 256
#define ACCEPT_BATCH 64
/* a newcomer may take the place of a connection this long without a hello (at most
 * handshake_ms / 2) */
#define EVICT_MIN_AGE_MS 250
/* all connections past their hello and no room: look again this often */
#define ACCEPT_FULL_RETRY_MS 10

static uint64_t ev_pack(void *p, enum ev_tag tag)
{
	return (uint64_t)(uintptr_t)p | tag;
}

int worker_watch(struct worker *w, struct conn *c, int side, uint32_t events, int op)
{
	struct epoll_event ev = {
		.events = events,
		.data.u64 = ev_pack(c, side ? EV_BACKEND : EV_CLIENT),
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
	if (c->engine)
		c->engine->release(w, c);
	stats_conn_ended(w, c);
	conn_log(c);
	for (int i = 0; i < 2; i++) {
		if (c->fd[i] >= 0)
			close(c->fd[i]);
		c->fd[i] = -1;
	}
	w->n_conns--;
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

static void free_graveyard(struct worker *w)
{
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, &w->graveyard) {
		struct conn *c = list_entry(pos, struct conn, link);

		list_del(&c->link);
		free(c->sni);
		free(c->alpn);
		free(c->pp_alpn);
		config_gen_put(c->gen);
		free(c);
	}
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

/*
 * A connection whose deadline (or eviction) comes may have had its awaited event queued
 * behind others in a busy epoll batch, or in the next one: look once more before ending it.
 * True when it moved on, to its next state or to its end.
 */
static bool moved_on(struct worker *w, struct conn *c)
{
	enum conn_state st = c->state;
	struct pollfd p = { .fd = c->fd[1], .events = POLLOUT };

	if (st == CONN_HELLO)
		handshake_hello_event(w, c, 0);
	else if (st == CONN_CONNECTING && poll(&p, 1, 0) == 1)
		handshake_connect_event(w, c, EPOLLOUT | (p.revents & POLLERR ? EPOLLERR : 0));
	return c->dead || c->state != st;
}

/*
 * How long a connection may wait for its first bytes before a newcomer may take its place: a
 * good client sends its hello within a round trip, but a busy client or host can take a while
 * (a burst of thousands); a slowloris waits far longer.
 */
static uint64_t evict_age_ns(const struct worker *w)
{
	uint64_t ms = w->gen->cfg.handshake_ms / 2;

	return (ms < EVICT_MIN_AGE_MS ? ms : EVICT_MIN_AGE_MS) * 1000000ull;
}

/*
 * Makes room for one more connection (max_connections, max_handshakes) before it is accepted,
 * by ending the oldest ones still before their routing decision, so that a slowloris holds its
 * place only until someone needs it. Each is looked at once more first: one whose hello is
 * there is routed instead. One younger than evict_age_ns() is not ended: the newcomers then
 * wait in the listen backlog until *retry_ns (or a connection ends). False when no room.
 */
static bool make_room(struct worker *w, uint64_t *retry_ns)
{
	uint64_t now = now_ns();

	while (w->n_conns >= w->max_conns || w->n_hello >= w->max_hello) {
		struct conn *old;

		if (list_empty(&w->hello)) {
			*retry_ns = now + ACCEPT_FULL_RETRY_MS * 1000000ull;
			return false;
		}
		old = list_first_entry(&w->hello, struct conn, link);
		if (moved_on(w, old))
			continue;
		if (now - old->accept_ns < evict_age_ns(w)) {
			*retry_ns = old->accept_ns + evict_age_ns(w);
			return false;
		}
		old->detail = "ended to make room for a newer connection";
		worker_conn_end(w, old, END_EVICTED);
	}
	return true;
}

static void accept_one(struct worker *w, struct listen_sock *ls, int fd,
		       const struct sockaddr_storage *ss, socklen_t len)
{
	const struct sm_config *cfg = &w->gen->cfg;
	struct conn *c;
	int one = 1, err;

	c = calloc(1, sizeof(*c));
	if (!c) {
		pr_warn("out of memory: closing a new connection");
		close(fd);
		return;
	}
	list_init(&c->link);
	c->gen = config_gen_get(w->gen);
	c->id = atomic_fetch_add(&w->d->next_conn_id, 1) + 1;
	c->fd[0] = fd;
	c->fd[1] = -1;
	c->route = -1;
	c->backend = -1;
	c->fail.side = -1;
	c->listener = ls->index;
	c->accept_ns = now_ns();
	addr_from_sockaddr((const struct sockaddr *)ss, len, &c->client);
	list_add_tail(&c->all, &w->all);
	w->n_conns++;
	stats_conn_accepted(w, c);
	if (!config_listener_trusts(&cfg->listeners[ls->index], (const struct sockaddr *)ss)) {
		c->detail = "peer not in the listener's trusted prefixes";
		worker_conn_end(w, c, END_UNTRUSTED);
		return;
	}
	/* on an accept_proxy listener the client is known from its PROXY header only */
	if (!cfg->listeners[ls->index].accept_proxy && !worker_count_source(w, c))
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->state = CONN_HELLO;
	c->deadline_ns = c->accept_ns + cfg->handshake_ms * 1000000ull;
	worker_add_deadline(&w->hello, c);
	w->n_hello++;
	/* Registering reports input already queued: the hello is read from that event. The
	 * sockmap engine keeps this mask after the hand-off and does not re-arm the client. */
	err = worker_watch(w, c, 0, EPOLLIN | EPOLLRDHUP | EPOLLET, EPOLL_CTL_ADD);
	if (err) {
		c->err = -err;
		c->detail = strerror(-err);
		worker_conn_end(w, c, END_INTERNAL);
	}
}

/* Ignores the listening sockets until `until` (the kernel keeps newcomers in the backlog). */
static void accept_pause(struct worker *w, uint64_t until)
{
	if (!w->accept_resume_ns)
		worker_listen_watch(w, 0);
	w->accept_resume_ns = until;
}

/*
 * accept() failed for want of a resource (EMFILE, ENFILE, ENOBUFS, ENOMEM): the listening
 * sockets, level-triggered, would wake the loop again at once, so they are ignored for a
 * while (10 ms, doubling to 1 s while it goes on, or until a connection ends); everyone
 * already connected is served. One log line per pause.
 */
static void accept_failed(struct worker *w, const struct listen_sock *ls, int err)
{
	w->accept_errors++;
	w->accept_backoff_ms = w->accept_backoff_ms ? w->accept_backoff_ms * 2 : 10;
	if (w->accept_backoff_ms > 1000)
		w->accept_backoff_ms = 1000;
	accept_pause(w, now_ns() + w->accept_backoff_ms * 1000000ull);
	pr_warn("worker %u: accept on %s: %s; not accepting for %u ms (%" PRIu64 " such "
		"failures so far, %u connections open)", w->id,
		w->gen->cfg.listeners[ls->index].text, strerror(err), w->accept_backoff_ms,
		w->accept_errors, w->n_conns);
}

static void accept_resume(struct worker *w, uint64_t now)
{
	if (!w->accept_resume_ns || now < w->accept_resume_ns)
		return;
	w->accept_resume_ns = 0;
	worker_listen_watch(w, EPOLLIN);
}

static void accept_batch(struct worker *w, struct listen_sock *ls)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		uint64_t retry_ns;
		int fd;

		if (!make_room(w, &retry_ns)) {
			accept_pause(w, retry_ns);
			return;
		}
		fd = accept4(ls->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			if (errno == ECONNABORTED || errno == EPROTO)
				continue;
			accept_failed(w, ls, errno);
			return;
		}
		w->accept_backoff_ms = 0;
		accept_one(w, ls, fd, &ss, len);
	}
}

static void conn_event(struct worker *w, struct conn *c, int side, uint32_t events)
{
	if (c->dead)
		return;
	switch (c->state) {
	case CONN_HELLO:
		if (side == 0)
			handshake_hello_event(w, c, events);
		return;
	case CONN_CONNECTING:
		if (side == 1)
			handshake_connect_event(w, c, events);
		else if (events & EPOLLERR)
			worker_conn_fail(w, c, 0, 0);	/* its bytes still go on, then the reset */
		return;
	case CONN_HANDED_OFF:
		c->engine->event(w, c, side, events);
		return;
	}
}

static void expire(struct worker *w, struct list_head *list, uint64_t now, enum conn_end end)
{
	while (!list_empty(list)) {
		struct conn *c = list_first_entry(list, struct conn, link);

		if (c->deadline_ns > now)
			return;
		if (!moved_on(w, c))
			worker_conn_end(w, c, end);
	}
}

static void run_timers(struct worker *w, uint64_t now)
{
	struct list_head *pos, *tmp;

	accept_resume(w, now);
	expire(w, &w->hello, now, END_HANDSHAKE_TIMEOUT);
	expire(w, &w->connecting, now, END_CONNECT_TIMEOUT);
	list_for_each_safe(pos, tmp, &w->polled) {
		struct conn *c = list_entry(pos, struct conn, link);

		if (c->next_poll_ns <= now && !c->dead)
			c->engine->poll(w, c, now);
	}
}

/* Milliseconds until the next timer, rounded up; -1 when none is pending. */
static int next_timeout_ms(struct worker *w, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	struct list_head *pos, *tmp;

	if (w->accept_resume_ns)
		next = w->accept_resume_ns;
	if (!list_empty(&w->hello) &&
	    list_first_entry(&w->hello, struct conn, link)->deadline_ns < next)
		next = list_first_entry(&w->hello, struct conn, link)->deadline_ns;
	if (!list_empty(&w->connecting)) {
		uint64_t d = list_first_entry(&w->connecting, struct conn, link)->deadline_ns;

		if (d < next)
			next = d;
	}
	list_for_each_safe(pos, tmp, &w->polled) {
		struct conn *c = list_entry(pos, struct conn, link);

		if (c->next_poll_ns < next)
			next = c->next_poll_ns;
	}
	if (next == UINT64_MAX)
		return -1;
	if (next <= now)
		return 0;
	return (int)((next - now + 999999) / 1000000);
}

static void end_all(struct worker *w)
{
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, &w->all) {
		struct conn *c = list_entry(pos, struct conn, all);

		worker_conn_end(w, c, END_SHUTDOWN);
	}
	free_graveyard(w);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[MAX_EVENTS];

	while (!atomic_load(&w->d->stopping)) {
		int n, i;

		n = epoll_wait(w->epfd, evs, MAX_EVENTS, next_timeout_ms(w, now_ns()));
		if (n < 0 && errno != EINTR) {
			pr_err("worker %u: epoll_wait: %s", w->id, strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64 & EV_TAG_MASK;
			void *p = (void *)(uintptr_t)(evs[i].data.u64 & ~EV_TAG_MASK);
			uint64_t v;

			switch (tag) {
			case EV_LISTENER:
				accept_batch(w, p);
				break;
			case EV_CLIENT:
			case EV_BACKEND:
				conn_event(w, p, tag == EV_BACKEND, evs[i].events);
				break;
			case EV_WAKE:
				if (read(w->wakefd, &v, sizeof(v)) < 0)
					break;
				break;
			}
		}
		run_timers(w, now_ns());
		free_graveyard(w);
		/* between batches: no pending event names a listening socket it may close */
		worker_adopt_config(w);
	}
	end_all(w);
	return NULL;
}

int worker_init(struct worker *w, struct daemon *d, unsigned int id)
{
	const struct sm_config *cfg = &d->live->cfg;
	struct epoll_event ev;
	int err;

	memset(w, 0, sizeof(*w));
	w->d = d;
	w->gen = config_gen_get(d->live);
	w->id = id;
	w->wakefd = -1;
	list_init(&w->hello);
	list_init(&w->connecting);
	list_init(&w->polled);
	list_init(&w->all);
	list_init(&w->graveyard);
	w->max_conns = d->max_connections / d->n_workers;
	if (!w->max_conns)
		w->max_conns = 1;
	w->max_hello = config_max_handshakes(cfg, d->max_connections) / d->n_workers;
	if (!w->max_hello)
		w->max_hello = 1;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0)
		return -errno;
	w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->wakefd < 0)
		goto out_errno;
	ev.events = EPOLLIN;
	ev.data.u64 = ev_pack(NULL, EV_WAKE);
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &ev) < 0)
		goto out_errno;
	w->scratch = malloc(WORKER_SCRATCH);
	if (!w->scratch)
		goto out_errno;
	err = stats_worker_init(w);
	if (err)
		goto out_fini;
	if (d->ops->worker_init) {
		err = d->ops->worker_init(w);
		if (err)
			goto out_fini;
		w->engine_ready = true;
	}
	err = worker_listen_update(w, cfg, true);
	if (err)
		goto out_fini;
	return 0;

out_errno:
	err = -errno;
out_fini:
	worker_fini(w);
	return err;
}

int worker_start(struct worker *w)
{
	return -pthread_create(&w->thread, NULL, worker_main, w);
}

void worker_stop(struct worker *w)
{
	worker_wake(w);
}

void worker_wake(struct worker *w)
{
	uint64_t one = 1;

	if (write(w->wakefd, &one, sizeof(one)) < 0)
		pr_warn("worker %u: cannot wake: %s", w->id, strerror(errno));
}

void worker_join(struct worker *w)
{
	pthread_join(w->thread, NULL);
}

void worker_fini(struct worker *w)
{
	for (unsigned int i = 0; i < w->n_ls; i++)
		close(w->ls[i].fd);
	free(w->ls);
	w->ls = NULL;
	w->n_ls = 0;
	if (w->engine_ready && w->d->ops->worker_fini)
		w->d->ops->worker_fini(w);
	w->engine_ready = false;
	free(w->scratch);
	w->scratch = NULL;
	stats_worker_fini(w);
	config_gen_put(w->gen);
	w->gen = NULL;
	if (w->wakefd >= 0)
		close(w->wakefd);
	if (w->epfd >= 0)
		close(w->epfd);
	w->wakefd = w->epfd = -1;
}
