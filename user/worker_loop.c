// SPDX-License-Identifier: MIT
/*
 * worker_loop.c - one event-loop thread (see worker_loop.h): its epoll waits on its listening
 * sockets (their transport takes newcomers in), on each connection's two sockets (the
 * handshake, then the engine) and on its timers (deadlines, engines' polls, the accept pause);
 * between batches it frees what ended and adopts a new configuration.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "config_gen.h"
#include "conn.h"
#include "daemon.h"
#include "engine.h"
#include "handshake.h"
#include "hello.h"
#include "log.h"
#include "transport.h"
#include "worker.h"
#include "worker_listen.h"
#include "worker_loop.h"

#define MAX_EVENTS 256

static void conn_event(struct worker *w, struct conn *c, int side, uint32_t events)
{
	if (c->dead)
		return;
	if (c->state != CONN_HANDED_OFF)
		c->early_events[side] |= events;
	switch (c->state) {
	case CONN_HELLO:
		/* EPOLLOUT alone: asked for the engine (engine_ops.watch), nothing to read */
		if (side == 0 && (events & ~EPOLLOUT))
			hello_event(w, c, events);
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
		if (hello_moved_on(w, c))
			continue;
		if (end == END_CONNECT_TIMEOUT)
			handshake_connect_expired(w, c);	/* the next server, or the end */
		else
			worker_conn_end(w, c, end);
	}
}

static void run_timers(struct worker *w, uint64_t now)
{
	struct list_head *pos, *tmp;

	worker_listen_resume(w, now);
	hello_probes(w, now);
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
	if (!list_empty(&w->probing) &&
	    list_first_entry(&w->probing, struct conn, probe_link)->probe_ns < next)
		next = list_first_entry(&w->probing, struct conn, probe_link)->probe_ns;
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
	worker_free_graveyard(w);
	log_batch_flush(&w->log);
}

/* Adopts the daemon's newest configuration generation if it changed. */
static void adopt_config(struct worker *w)
{
	struct daemon *d = w->d;
	struct config_gen *g;

	if (atomic_load(&d->live_gen) == w->gen->gen)
		return;
	g = daemon_config(d);
	if (stats_worker_fit(&w->stats, &d->names) || worker_listen_update(w, &g->cfg, false)) {
		/* out of memory: keep the old one; the next wake-up tries again */
		pr_warn("worker %u: cannot apply configuration %u: out of memory", w->id, g->gen);
		config_gen_put(g);
		return;
	}
	config_gen_put(w->gen);
	w->gen = g;
	/* addresses added since: a reload is when an operator expects them taken in */
	if (config_transparent_servers(&g->cfg) && local_addrs_load(&w->local))
		pr_warn("worker %u: cannot read the host's addresses", w->id);
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
				((struct listen_sock *)p)->transport->ready(w, p);
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
		worker_free_graveyard(w);
		log_batch_flush(&w->log);
		/* between batches: no pending event names a listening socket it may close */
		adopt_config(w);
	}
	end_all(w);
	return NULL;
}

int worker_init(struct worker *w, struct daemon *d, unsigned int id)
{
	const struct config *cfg = &d->live->cfg;
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
	list_init(&w->probing);
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
	ev.data.u64 = worker_ev_pack(NULL, EV_WAKE);
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &ev) < 0)
		goto out_errno;
	pipe_pool_init(&w->pipes, d->ops->pipes_per_worker);
	w->scratch = malloc(WORKER_SCRATCH);
	w->regex_md = pcre2_match_data_create(1, NULL);
	if (!w->scratch || !w->regex_md) {
		err = -ENOMEM;
		goto out_fini;
	}
	err = stats_worker_init(&w->stats, &d->names, d->ops->live_bytes ? w->max_conns : 0);
	if (err)
		goto out_fini;
	if (d->ops->worker_init) {
		err = d->ops->worker_init(w);
		if (err)
			goto out_fini;
		w->engine_ready = true;
	}
	err = worker_listen_update(w, cfg, true);
	if (!err && config_transparent_servers(cfg))
		err = local_addrs_load(&w->local);
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
	pipe_pool_fini(&w->pipes);
	free(w->scratch);
	w->scratch = NULL;
	pcre2_match_data_free(w->regex_md);
	w->regex_md = NULL;
	stats_worker_fini(&w->stats);
	local_addrs_free(&w->local);
	config_gen_put(w->gen);
	w->gen = NULL;
	if (w->wakefd >= 0)
		close(w->wakefd);
	if (w->epfd >= 0)
		close(w->epfd);
	w->wakefd = w->epfd = -1;
}
