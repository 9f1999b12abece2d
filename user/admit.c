// SPDX-License-Identifier: MIT
/*
 * admit.c - a new connection's admission (see admit.h): room made for it first, then counted,
 * checked against its listener's trusted prefixes and its source's limit, and given its
 * handshake deadline.
 */
#include <stdlib.h>

#include "admit.h"
#include "clock.h"
#include "config.h"
#include "config_gen.h"
#include "conn.h"
#include "daemon.h"
#include "hello.h"
#include "worker.h"

/* a newcomer may take the place of a connection this long without a hello (at most
 * handshake_ms / 2) */
#define EVICT_MIN_AGE_MS 250
/* all connections past their hello and no room: look again this often */
#define ACCEPT_FULL_RETRY_MS 10

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

bool admit_room(struct worker *w, uint64_t *retry_ns)
{
	uint64_t now = now_ns();

	/* checked before the accept, counted after it: the workers together may go past
	 * max_connections by one each at most, which the descriptors' headroom covers */
	while (atomic_load_explicit(&w->d->n_conns, memory_order_relaxed) >= w->d->max_connections ||
	       w->n_hello >= w->max_hello) {
		struct conn *old;

		if (list_empty(&w->hello)) {
			*retry_ns = now + ACCEPT_FULL_RETRY_MS * 1000000ull;
			return false;
		}
		old = list_first_entry(&w->hello, struct conn, link);
		if (hello_moved_on(w, old))
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

bool admit_conn(struct worker *w, struct conn *c)
{
	const struct config *cfg = &w->gen->cfg;

	list_add_tail(&c->all, &w->all);
	w->n_conns++;
	atomic_fetch_add_explicit(&w->d->n_conns, 1, memory_order_relaxed);
	stats_conn_accepted(&w->stats, c);
	if (!config_listener_trusts(&cfg->listeners[c->listener],
				    (const struct sockaddr *)&c->client.ss)) {
		c->detail = "peer not in the listener's trusted prefixes";
		worker_conn_end(w, c, END_UNTRUSTED);
		return false;
	}
	/* on an accept_proxy listener the client is known from its PROXY header only */
	if (!cfg->listeners[c->listener].accept_proxy && !worker_count_source(w, c))
		return false;
	c->state = CONN_HELLO;
	c->deadline_ns = c->accept_ns + cfg->handshake_ms * 1000000ull;
	worker_add_deadline(&w->hello, c);
	/* a client silent for probe_ms is protocol "timeout", which routes may take (a route
	 * for its listener, a default one); a list of its own keeps the hello list in accept
	 * order, the oldest first for evictions */
	if (cfg->probe_ms < cfg->handshake_ms) {
		c->probing = true;
		c->probe_ns = c->accept_ns + cfg->probe_ms * 1000000ull;
		list_add_tail(&c->probe_link, &w->probing);
	}
	w->n_hello++;
	return true;
}
